"""Liveness, readiness, and the one error shape (which only the OpenAPI document needs as a model:
errors are rendered in ats_functions/web/errors.py)."""

from typing import Literal

from pydantic import BaseModel, ConfigDict

from . import Out


class PingOut(Out):
    status: Literal["ok"]
    message: str


class HealthOut(Out):
    status: Literal["ok", "unavailable"]
    checks: dict[str, str]


class ErrorDetail(BaseModel):
    model_config = ConfigDict(extra="allow", defer_build=True)
    field: str | None = None
    message: str


class ErrorInfo(BaseModel):
    model_config = ConfigDict(defer_build=True)
    code: str
    message: str
    details: list[ErrorDetail]


class ErrorBody(BaseModel):
    model_config = ConfigDict(defer_build=True)
    error: ErrorInfo
