"""Accounts: register, log in, who am I."""
from chalice import Blueprint

from chalicelib.schemas import LoginOut, LoginRequest, RegisterRequest, UserOut
from chalicelib.services import users

from .http import endpoint, incoming, ok, render

blueprint = Blueprint(__name__)


@blueprint.route("/auth/register", methods=["POST"])
@endpoint
def register():
    call = incoming(blueprint)
    body = call.body(RegisterRequest)
    user = users.register(call.uow(), call.settings, **body.model_dump())
    return ok({"user": render(UserOut, user)}, status=201)


@blueprint.route("/auth/login", methods=["POST"])
@endpoint
def login():
    call = incoming(blueprint)
    body = call.body(LoginRequest)
    result = users.login(call.uow(), call.settings, email=body.email, password=body.password)
    return ok(render(LoginOut, result))


@blueprint.route("/auth/me")
@endpoint
def me():
    call = incoming(blueprint)
    return ok({"user": render(UserOut, users.get_me(call.uow(), call.principal()))})
