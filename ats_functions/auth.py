"""Accounts and sessions: register, log in and out, refresh, who am I, one's own profile and
password, and the links of the emails (reset, verify)."""

from chalicelib.schemas.auth import (
    AcceptedOut,
    ForgotPasswordRequest,
    LoginOut,
    LoginRequest,
    PasswordChangeRequest,
    ProfileUpdateRequest,
    RefreshRequest,
    RegisterRequest,
    ResetPasswordRequest,
    UserEnvelope,
    UserOut,
    VerifyEmailRequest,
)
from chalicelib.services import passwords, sessions, users

from .http import Routes, render

routes = Routes(tag="auth")


@routes.post("/auth/register", returns=UserEnvelope, status=201, idempotent=True, errors=(403, 409))
def register(call, body: RegisterRequest):
    """Create a candidate or recruiter account"""
    user = users.register(call.context(), **body.model_dump())
    return {"user": render(UserOut, user)}


@routes.post("/auth/login", returns=LoginOut, errors=(401, 429))
def login(call, body: LoginRequest):
    """Exchange email and password for an access token and a refresh token"""
    result = sessions.login(call.context(), email=body.email, password=body.password, source_ip=call.source_ip)
    return render(LoginOut, result)


@routes.post("/auth/refresh", returns=LoginOut, errors=(401,))
def refresh(call, body: RefreshRequest):
    """Trade a refresh token for a new access and refresh pair (the one sent is spent)"""
    return render(LoginOut, sessions.refresh(call.context(), refresh_token=body.refresh_token))


@routes.post("/auth/logout", auth="required", status=204)
def logout(call, body: RefreshRequest):
    """Sign the session of this refresh token out (its refresh and access tokens)"""
    sessions.logout(call.context(), refresh_token=body.refresh_token)


@routes.post("/auth/password/change", auth="required", status=204, errors=(429,))
def change_password(call, body: PasswordChangeRequest):
    """Change one's password; every other session is signed out"""
    passwords.change_password(call.context(), **body.model_dump(), source_ip=call.source_ip)


@routes.post("/auth/password/forgot", returns=AcceptedOut, status=202, errors=(429,))
def forgot_password(call, body: ForgotPasswordRequest):
    """Email a one-time password reset link (the same answer whether or not the account exists)"""
    passwords.forgot_password(call.context(), email=body.email, source_ip=call.source_ip)
    return {"message": "If an account has this email, a reset link is on its way to it."}


@routes.post("/auth/password/reset", status=204)
def reset_password(call, body: ResetPasswordRequest):
    """Set a new password with the token of a reset link; every session is signed out"""
    passwords.reset_password(call.context(), token=body.token, new_password=body.new_password)


@routes.post("/auth/verify-email", status=204)
def verify_email(call, body: VerifyEmailRequest):
    """Confirm one's email with the token of the welcome email's link"""
    passwords.verify_email(call.context(), token=body.token)


@routes.get("/auth/me", auth="required", returns=UserEnvelope)
def me(call):
    """The signed-in caller"""
    return {"user": render(UserOut, users.get_me(call.context()))}


@routes.patch("/auth/me", auth="required", returns=UserEnvelope)
def update_me(call, body: ProfileUpdateRequest):
    """Change the signed-in caller's name, phone or timezone"""
    return {"user": render(UserOut, users.update_me(call.context(), body.changes()))}
