"""Outcomes of connection tests run for ``/connections/enqueue-test``, kept for a day under
their token (in ``tradewind_meta``)."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import KeyValue

_PREFIX = "connection_test:"
KEEP = timedelta(days=1)


def save_outcome(session: Session, token: str, outcome: dict[str, Any], now: datetime) -> None:
    """Keep ``outcome`` under ``token``; forget the outcomes older than a day."""
    for row in session.scalars(select(KeyValue).where(KeyValue.key.startswith(_PREFIX))):
        created = datetime.fromisoformat(json.loads(row.value)["created_at"])
        if now - created > KEEP:
            session.delete(row)
    session.add(KeyValue(key=_PREFIX + token, value=json.dumps(outcome)))


def load_outcome(session: Session, token: str) -> dict[str, Any] | None:
    """The outcome kept under ``token``, if any."""
    row = session.get(KeyValue, _PREFIX + token)
    return None if row is None else dict(json.loads(row.value))
