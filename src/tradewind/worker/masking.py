"""Secrets masking: known secret values are replaced by ``***`` in every task log line."""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable

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
    if not isinstance(value, str) or len(value) < 3 or value in _secrets:
        return
    _secrets.add(value)
    _pattern = re.compile("|".join(re.escape(s) for s in sorted(_secrets, key=len, reverse=True)))


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
