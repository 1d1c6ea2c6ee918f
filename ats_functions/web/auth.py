"""Who is calling: the bearer token verified, its account and stored role looked up, the contract's
terms (auth, roles) enforced."""

from chalicelib.auth.tokens import verify_token
from chalicelib.domain.errors import AuthenticationFailed, PermissionDenied
from chalicelib.domain.models import Principal

from ..logs import note_user
from .contract import Contract
from .request import Call


def authenticate(call: Call, contract: Contract) -> Principal | None:
    """The caller the contract lets in (None: anonymous, where it may be), kept as `call.who`."""
    header = call.headers.get("authorization")
    if header is not None and contract.auth != "public":
        scheme, _, token = header.partition(" ")
        if scheme.lower() != "bearer" or not token.strip():
            raise AuthenticationFailed("Use Authorization: Bearer <token>.", code="invalid_token")
        claims = verify_token(
            token.strip(),
            secret=call.settings.jwt_secret,
            issuer=call.settings.jwt_issuer,
            max_lifetime=call.settings.jwt_ttl_seconds,
        )
        note_user(claims.user_id)
        from chalicelib.services import users  # on first use: a public route never needs it

        call.who = users.authenticate(call.context(), claims)  # its account exists; its stored role
    if call.who is None and contract.auth == "required":
        raise AuthenticationFailed("Sign in first: send Authorization: Bearer <token>.", code="not_authenticated")
    if contract.roles and (call.who is None or call.who.role not in contract.roles):
        raise PermissionDenied(f"This needs the role {' or '.join(contract.roles)}.")
    return call.who
