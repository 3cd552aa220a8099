"""Short-lived tokens scoped to one task instance try (the execution API's credentials)."""

from __future__ import annotations

import time

import jwt

from tradewind.errors import AuthenticationFailed

_AUDIENCE = "tradewind:execution"


def issue_ti_token(secret: str, ti_id: int, try_number: int, ttl: float = 86400.0) -> str:
    """Return a token that lets its bearer act for task instance ``ti_id``, try ``try_number``."""
    now = int(time.time())
    claims = {
        "sub": str(ti_id),
        "try": try_number,
        "aud": _AUDIENCE,
        "iat": now,
        "exp": now + int(ttl),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_ti_token(secret: str, token: str, ti_id: int) -> int:
    """Check ``token`` is valid for ``ti_id``; return its try number, else AuthenticationFailed."""
    try:
        claims = jwt.decode(token, secret, algorithms=["HS256"], audience=_AUDIENCE)
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("task token expired") from None
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed(f"invalid task token: {exc}") from None
    if claims.get("sub") != str(ti_id):
        raise AuthenticationFailed(f"task token is not for task instance {ti_id}")
    return int(claims["try"])
