"""Runs and task instances as the REST API lists them: the rows of one page and, read in the
same transaction, what is shown beside each row (the DAG version it ran and the DAG's display
name), one query each for the whole page."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from sqlalchemy.orm import Session

from tradewind.metastore.tables import DagRun, TaskInstance
from tradewind.services.queries import dag_versions, display_names

T = TypeVar("T")


@dataclass(frozen=True)
class Labels:
    """The stored versions ``(dag_id, version_hash)`` and the display names of some rows."""

    versions: dict[tuple[str, str], Any] = field(default_factory=dict)
    names: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class Listed(Generic[T]):
    """One page of rows, how many match in all, their labels, and the keyset cursors."""

    items: list[T]
    total: int
    labels: Labels
    next_cursor: str | None = None
    previous_cursor: str | None = None


def labels_of(session: Session, rows: Iterable[DagRun | TaskInstance]) -> Labels:
    """The labels of runs or task instances (each names its DAG and DAG version)."""
    rows = list(rows)
    return Labels(
        dag_versions(session, ((r.dag_id, r.dag_version) for r in rows)),
        display_names(session, (r.dag_id for r in rows)),
    )


def ti_labels(session: Session, rows: list[tuple[TaskInstance, DagRun]]) -> Labels:
    """The labels of ``(task instance, run)`` rows."""
    return labels_of(session, (ti for ti, _ in rows))
