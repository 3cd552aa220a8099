"""Task tokens are standard HS256 JWTs (services/tokens.py): any JWT library verifies them,
and a changed claim or a wrong key is refused."""

from __future__ import annotations

import jwt
import pytest

from tradewind.errors import AuthenticationFailed
from tradewind.services.tokens import (
    CALLBACK_SCOPE,
    is_callback_token,
    issue_ti_token,
    verify_ti_leg,
)

SECRET = "k" * 32


@pytest.mark.parametrize("scope", ["task", CALLBACK_SCOPE])
def test_a_token_is_the_jwt_pyjwt_would_issue(scope: str) -> None:
    token = issue_ti_token(SECRET, 41, 3, 60.0, scope=scope, seq=2)
    claims = jwt.decode(token, SECRET, algorithms=["HS256"], audience="tradewind:execution")
    assert jwt.encode(claims, SECRET, algorithm="HS256") == token
    assert (claims["sub"], claims["try"], claims["seq"]) == ("41", 3, 2)
    assert claims["exp"] - claims["iat"] == 60
    assert is_callback_token(token) is (scope == CALLBACK_SCOPE)


def test_a_token_verifies_for_its_try_and_leg_only() -> None:
    token = issue_ti_token(SECRET, 41, 3, 60.0, seq=2)
    assert verify_ti_leg(SECRET, token, 41) == (3, 2)
    with pytest.raises(AuthenticationFailed, match="not for task instance 42"):
        verify_ti_leg(SECRET, token, 42)
    with pytest.raises(AuthenticationFailed, match="invalid task token"):
        verify_ti_leg("x" * 32, token, 41)


def test_a_changed_claim_breaks_the_signature() -> None:
    header, body, signature = issue_ti_token(SECRET, 41, 3, 60.0).split(".")
    forged_claims = jwt.decode(f"{header}.{body}.{signature}", options={"verify_signature": False})
    forged_claims["sub"] = "42"
    forged = jwt.encode(forged_claims, "x" * 32, algorithm="HS256").split(".")[1]
    with pytest.raises(AuthenticationFailed, match="invalid task token"):
        verify_ti_leg(SECRET, f"{header}.{forged}.{signature}", 42)
