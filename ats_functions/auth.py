"""Accounts: register, log in, who am I, and changing one's own profile."""

from chalicelib.schemas.auth import (
    LoginOut,
    LoginRequest,
    ProfileUpdateRequest,
    RegisterRequest,
    UserEnvelope,
    UserOut,
)
from chalicelib.services import users

from .http import Routes, render

routes = Routes(tag="auth")


@routes.post(
    "/auth/register",
    summary="Create a candidate or recruiter account",
    body=RegisterRequest,
    returns=UserEnvelope,
    status=201,
    idempotent=True,
    errors=(403, 409),
)
def register(call, body):
    user = users.register(call.uow(), call.settings, **body.model_dump())
    return {"user": render(UserOut, user)}


@routes.post(
    "/auth/login",
    summary="Exchange email and password for an access token",
    body=LoginRequest,
    returns=LoginOut,
    errors=(401, 429),
)
def login(call, body):
    result = users.login(call.uow(), call.settings, email=body.email, password=body.password, source_ip=call.source_ip)
    return render(LoginOut, result)


@routes.get("/auth/me", summary="The signed-in caller", auth="required", returns=UserEnvelope)
def me(call):
    return {"user": render(UserOut, users.get_me(call.uow(), call.who))}


@routes.patch(
    "/auth/me",
    summary="Change the signed-in caller's name, phone or timezone",
    auth="required",
    body=ProfileUpdateRequest,
    returns=UserEnvelope,
)
def update_me(call, body):
    return {"user": render(UserOut, users.update_me(call.uow(), call.settings, call.who, body.changes()))}
