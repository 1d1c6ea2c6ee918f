"""Accounts: register, log in, who am I."""

from chalicelib.schemas.auth import LoginOut, LoginRequest, RegisterRequest, UserEnvelope, UserOut
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
