"""Short-lived tokens scoped to one task instance try (the execution API's credentials).

A token is valid only while its try is the task instance's current one and running
(``check_current_try``): once the try finished, failed over to a retry or was cleared, a
replayed token reads and writes nothing. ``finish`` answers with a *callback* token, which
the task's callbacks use to read (variables, connections, XComs) after the outcome.

A try can run in several *legs*: a deferred (or rescheduled, or lost and requeued) task
resumes with the same try number. Each queueing bumps ``task_instance.queue_seq`` and the
token carries it (``seq``), so a token of an earlier leg is refused while a later one runs.
Tokens without ``seq`` (issued before the column existed) count as leg 0.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from typing import Any

import jwt
from sqlalchemy import select

from tradewind.errors import AuthenticationFailed, NotFound, TaskInstanceMoved
from tradewind.metastore.tables import TaskInstance

_AUDIENCE = "tradewind:execution"
CALLBACK_SCOPE = "callback"
CALLBACK_TOKEN_TTL = 600.0
RUNNING_STATES = frozenset({"running", "restarting"})


def issue_ti_token(
    secret: str,
    ti_id: int,
    try_number: int,
    ttl: float = 86400.0,
    *,
    scope: str = "task",
    seq: int = 0,
) -> str:
    """Return a token that lets its bearer act for task instance ``ti_id``, try ``try_number``,
    in the leg the task instance's ``queue_seq`` is ``seq``."""
    now = int(time.time())
    claims: dict[str, Any] = {
        "sub": str(ti_id),
        "try": try_number,
        "seq": seq,
        "aud": _AUDIENCE,
        "iat": now,
        "nbf": now - 5,
        "exp": now + int(ttl),
    }
    if scope != "task":
        claims["scope"] = scope
    return _encode_hs256(claims, secret)


def _b64url(data: bytes) -> bytes:
    return base64.urlsafe_b64encode(data).rstrip(b"=")


_HS256_HEADER = _b64url(b'{"alg":"HS256","typ":"JWT"}')


def _encode_hs256(claims: dict[str, Any], secret: str) -> str:
    """The JWT (RFC 7519, HS256) ``jwt.encode(claims, secret, algorithm="HS256")`` returns,
    byte for byte, at a third of its cost: PyJWT prepares and checks the key on each call
    (~0.1 ms), and two tokens are issued on the path from one task to the next (#17)."""
    body = _b64url(json.dumps(claims, separators=(",", ":")).encode())
    signing_input = _HS256_HEADER + b"." + body
    signature = _b64url(hmac.digest(secret.encode(), signing_input, hashlib.sha256))
    return (signing_input + b"." + signature).decode()


#: Claims of tokens whose signature was verified, by (secret, token): a try's token is checked
#: at its claim and again at its finish, and the HMAC and JSON decoding cost ~0.1 ms each
#: time on the path between two tasks (#17). The same string has the same signature; expiry
#: is checked again on every use.
_verified: dict[tuple[str, str], dict[str, Any]] = {}
_VERIFIED_MAX = 4096


def verify_ti_token(secret: str, token: str, ti_id: int, *, callback_ok: bool = False) -> int:
    """Check ``token`` is valid for ``ti_id``; return its try number, else AuthenticationFailed.

    The signature, audience, ``exp`` and ``nbf`` are checked; a callback token is accepted
    only where ``callback_ok`` (the read-only calls).
    """
    return verify_ti_leg(secret, token, ti_id, callback_ok=callback_ok)[0]


def verify_ti_leg(
    secret: str, token: str, ti_id: int, *, callback_ok: bool = False
) -> tuple[int, int]:
    """As :func:`verify_ti_token`; return the token's (try number, leg ``seq``)."""
    claims = _verified.get((secret, token))
    now = time.time()
    if claims is not None and not claims["nbf_at"] <= now < claims["exp"]:
        claims = None  # expired (or not yet valid): decode again for the precise error
    if claims is None:
        try:
            claims = jwt.decode(
                token,
                secret,
                algorithms=["HS256"],
                audience=_AUDIENCE,
                options={"require": ["sub", "exp", "try"], "verify_exp": True, "verify_nbf": True},
            )
        except jwt.ExpiredSignatureError:
            raise AuthenticationFailed("task token expired") from None
        except jwt.PyJWTError as exc:
            raise AuthenticationFailed(f"invalid task token: {exc}") from None
        if len(_verified) >= _VERIFIED_MAX:
            _verified.clear()
        claims["nbf_at"] = claims.get("nbf", float("-inf"))
        _verified[(secret, token)] = claims
    if claims.get("sub") != str(ti_id):
        raise AuthenticationFailed(f"task token is not for task instance {ti_id}")
    if claims.get("scope", "task") == CALLBACK_SCOPE and not callback_ok:
        raise AuthenticationFailed("a callback token may only read (variables, connections)")
    return int(claims["try"]), int(claims.get("seq", 0))


def is_callback_token(token: str) -> bool:
    """Whether ``token`` (already verified) is a callback token."""
    claims = jwt.decode(token, options={"verify_signature": False})
    return claims.get("scope") == CALLBACK_SCOPE


_CURRENT = select(TaskInstance.state, TaskInstance.try_number, TaskInstance.queue_seq)


def check_current_try(
    session: Any,
    ti_id: int,
    try_number: int,
    *,
    running: bool,
    past: bool = False,
    seq: int | None = None,
) -> None:
    """Refuse (AuthenticationFailed) a token whose try is no longer the task instance's
    current one, or, with ``running``, no longer running (finished, deferred, cleared); with
    ``seq``, a token of an earlier leg of the try (deferred or rescheduled, then resumed).

    ``past`` accepts a try that a later one replaced (the log upload of a lost try, which the
    worker's main process sends once the pool process died: it writes only that try's own
    log file), but not an earlier leg of the current try (TaskInstanceMoved): its log file is
    the current leg's."""
    if ti_id <= 0:  # DAG callbacks carry a token for a negative id: no try to check
        return
    row = session.execute(_CURRENT.where(TaskInstance.id == ti_id)).one_or_none()
    if row is None:
        raise NotFound(f"task instance {ti_id} not found")
    superseded = row.try_number != try_number and not (past and try_number <= row.try_number)
    if superseded or (running and row.state not in RUNNING_STATES):
        raise AuthenticationFailed(
            f"task token of try {try_number} is no longer valid: the task instance is "
            f"{row.state or 'none'} at try {row.try_number}"
        )
    if seq is not None and row.queue_seq != seq:
        if not past:
            raise AuthenticationFailed(stale_leg_message(try_number, seq, row.queue_seq))
        if row.try_number == try_number:  # an earlier leg's log would replace this leg's
            raise TaskInstanceMoved(stale_leg_message(try_number, seq, row.queue_seq))


def stale_leg_message(try_number: int, seq: int, current: int) -> str:
    """Why a token of an earlier leg of its try is refused."""
    return (
        f"task token of try {try_number} is no longer valid: it was issued for queueing "
        f"#{seq} of the task instance, which was queued again since (#{current}: the try was "
        "deferred, rescheduled or requeued, and resumed)"
    )
