"""Bearer tokens (JWT, HS256) for people and tools calling the REST API."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

import jwt

from tradewind.errors import AuthenticationFailed

_AUDIENCE = "tradewind:api"


@dataclass(frozen=True)
class TokenClaims:
    """What a valid API token says: who, which roles at issue time, and until when."""

    username: str
    roles: tuple[str, ...]
    expires: int
    version: int = 0


def issue_api_token(
    secret: str,
    username: str,
    roles: list[str],
    now: datetime,
    ttl_seconds: int,
    version: int = 0,
) -> str:
    """Return a signed token for ``username`` valid for ``ttl_seconds`` from ``now``.

    Args:
        secret: ``env.secret_key`` (the ``[api] secret_key`` written at ``db init``).
        username: The user the token stands for (``sub``).
        roles: The user's roles at issue time (informative; routes re-read the user).
        now: Issue time (aware UTC).
        ttl_seconds: ``[api] access_token_expiration_time``.
        version: the user's ``credential_version``: a later logout, password or role change
            makes the token invalid.
    """
    iat = int(now.timestamp())
    claims = {
        "sub": username,
        "roles": list(roles),
        "aud": _AUDIENCE,
        "iat": iat,
        "nbf": iat - 5,
        "exp": iat + int(ttl_seconds),
        "ver": int(version),
    }
    return jwt.encode(claims, secret, algorithm="HS256")


def verify_api_token(secret: str, token: str, now: datetime | None = None) -> TokenClaims:
    """Check a token's signature, audience and expiry; return its claims.

    Raises:
        AuthenticationFailed: the token is malformed, forged, for another audience, or expired.
    """
    options = {"require": ["sub", "exp"]}
    try:
        if now is None:
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                audience=_AUDIENCE,
                options=options,  # type: ignore[arg-type]
            )
        else:
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                audience=_AUDIENCE,
                options={**options, "verify_exp": False, "verify_nbf": False},  # type: ignore[arg-type]
            )
            if int(claims["exp"]) <= int(now.timestamp()):
                raise jwt.ExpiredSignatureError
            if int(claims.get("nbf", 0)) > int(now.timestamp()):
                raise jwt.ImmatureSignatureError("The token is not yet valid (nbf)")
    except jwt.ExpiredSignatureError:
        raise AuthenticationFailed("Token expired; get a new one from POST /auth/token") from None
    except jwt.PyJWTError as exc:
        raise AuthenticationFailed(f"Invalid token: {exc}") from None
    roles = claims.get("roles") or []
    return TokenClaims(
        str(claims["sub"]),
        tuple(str(r) for r in roles),
        int(claims["exp"]),
        int(claims.get("ver") or 0),
    )
