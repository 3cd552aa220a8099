"""Secrets masking: known secret values are replaced by ``***`` in every task log line.

Each secret is masked in the forms it commonly takes in output: as is, URL-encoded (as in a
connection URI), JSON-escaped, base64; a connection also as ``base64(login:password)`` (HTTP
basic auth) and its whole URI.
"""

from __future__ import annotations

import base64
import json
import logging
import re
from collections.abc import Iterable
from typing import Any
from urllib.parse import quote, quote_plus

SENSITIVE_WORDS = (
    "password",
    "secret",
    "passwd",
    "authorization",
    "api_key",
    "apikey",
    "access_token",
    "token",
    "private_key",
)
_secrets: set[str] = set()
_pattern: re.Pattern[str] | None = None


def is_sensitive_key(key: str) -> bool:
    """True for names that look secret (``db_password``, ``api_key``, ``token``...)."""
    low = key.lower()
    return any(word in low for word in SENSITIVE_WORDS)


def add_secret(value: object) -> None:
    """Remember a value to mask (strings of 3+ characters; dicts by sensitive keys)."""
    global _pattern
    if isinstance(value, dict):
        for k, v in value.items():
            if is_sensitive_key(str(k)):
                add_secret(v)
        return
    if isinstance(value, list | tuple):
        for item in value:
            add_secret(item)
        return
    if not isinstance(value, str) or len(value) < 3 or value in _secrets:
        return
    new = {form for form in encodings(value) if len(form) >= 3} - _secrets
    _secrets.update(new)
    _pattern = re.compile("|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True)))


def encodings(value: str) -> set[str]:
    """The forms a secret takes once quoted into a URI, a JSON string or base64."""
    raw = value.encode()
    return {
        value,
        quote(value, safe=""),
        quote(value),
        quote_plus(value),
        json.dumps(value)[1:-1],
        json.dumps(value, ensure_ascii=False)[1:-1],
        base64.b64encode(raw).decode(),
        base64.urlsafe_b64encode(raw).decode(),
        base64.b64encode(raw).decode().rstrip("="),
    }


def add_connection(conn: dict[str, Any], uri: str | None = None) -> None:
    """Mask a connection's password (every encoding), its ``login:password`` as HTTP basic
    auth sends it, its sensitive extras, and its whole URI when that carries the password."""
    password = conn.get("password")
    if isinstance(password, str) and password:
        add_secret(password)
        login = conn.get("login") or ""
        add_secret(base64.b64encode(f"{login}:{password}".encode()).decode())
        if uri:
            add_secret(uri)
    extra = conn.get("extra")
    if isinstance(extra, str) and extra.strip().startswith("{"):
        try:
            extra = json.loads(extra)
        except ValueError:
            extra = None
    if isinstance(extra, dict):
        add_secret(extra)


def redact_value(value: Any, key: str | None = None) -> Any:
    """``value`` with secrets masked at every depth (dicts, lists, strings); the value of a
    sensitive key (``password``, ``api_key``...) is masked whole."""
    if key is not None and is_sensitive_key(key) and value not in (None, ""):
        return "***"
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, dict):
        return {k: redact_value(v, str(k)) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v) for v in value]
    return value


def redact(text: str) -> str:
    """Return ``text`` with every known secret replaced by ``***``."""
    if _pattern is None or not text:
        return text
    return _pattern.sub("***", text)


def known_secrets() -> Iterable[str]:
    return tuple(_secrets)


class RedactingFilter(logging.Filter):
    """A logging filter that masks secrets in the formatted message."""

    def filter(self, record: logging.LogRecord) -> bool:
        if _pattern is not None:
            msg = record.getMessage()
            record.msg = redact(msg)
            record.args = None
            if record.exc_info and record.exc_info[1] is not None:
                record.exc_text = redact(logging.Formatter().formatException(record.exc_info))
                record.exc_info = None
        return True
