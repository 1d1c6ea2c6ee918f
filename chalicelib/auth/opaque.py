"""Opaque secrets (refresh, reset and verification tokens): 32 random bytes, stored as SHA-256.

A fast hash is right for them: they are random 256-bit values, not guessable passwords, so a
stored hash cannot be reversed by trying candidates (argon2 is for passwords).

A token an email carries is derived, not stored: HMAC-SHA256 under the server's secret of a
32-byte random nonce the outbox event holds. The outbox then keeps nothing that works as a
token without the secret, and the deliverer, which has it, writes the link.
"""

import base64
import hashlib
import hmac
import secrets

TOKEN_BYTES = 32


def new_token() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def new_nonce() -> str:
    return secrets.token_urlsafe(TOKEN_BYTES)


def token_hash(token: str) -> str:
    """The form a token is stored and looked up under."""
    return hashlib.sha256(token.encode()).hexdigest()


def derived_token(secret: str, purpose: str, nonce: str) -> str:
    """The token an email carries for this nonce (the same every time: a retried send says the same)."""
    mac = hmac.new(secret.encode(), f"{purpose}\0{nonce}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac).decode().rstrip("=")


def well_formed(token: str) -> bool:
    """A token this server could have issued: 43 URL-safe base64 characters (32 bytes)."""
    return len(token) == 43 and all(c.isalnum() or c in "-_" for c in token) and token.isascii()
