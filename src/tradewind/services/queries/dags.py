"""DAG list queries: filters of ``GET /dags``, tags, display names, versions."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import String, and_, cast, func, or_, select
from sqlalchemy.orm import Session, defer

from tradewind.metastore.tables import (
    DagFavorite,
    DagModel,
    DagRun,
    SerializedDagModel,
    TaskInstance,
)
from tradewind.services.queries.paging import (
    WILDCARD,
    Page,
    Paging,
    paged,
    pattern_clause,
    prefix_clause,
)

# -- DAGs -------------------------------------------------------------------------------------
DAG_ORDER = {
    "dag_id": DagModel.dag_id,
    "dag_display_name": func.coalesce(DagModel.display_name, DagModel.dag_id),
    "next_dagrun": DagModel.next_dagrun,
    "next_dagrun_logical_date": DagModel.next_dagrun,
    "last_parsed_time": DagModel.last_parsed_time,
    "is_paused": DagModel.is_paused,
    "fileloc": DagModel.fileloc,
}


@dataclass(frozen=True)
class DagFilter:
    """The filters of ``GET/PATCH /dags``."""

    tags: Sequence[str] = ()
    tags_match_mode: str = "any"
    owners: Sequence[str] = ()
    dag_id_pattern: str | None = None
    dag_id_prefix_pattern: str | None = None
    dag_display_name_pattern: str | None = None
    exclude_stale: bool = True
    paused: bool | None = None
    has_import_errors: bool | None = None
    last_dag_run_state: str | None = None
    #: With ``favorite_user``: only (True) or none of (False) that user's favorite DAGs.
    is_favorite: bool | None = None
    favorite_user: str | None = None
    #: More WHERE terms, built by the caller (the API's declared filters).
    extra: Sequence[Any] = ()

    def conditions(self) -> list[Any]:
        """The WHERE terms of this filter."""
        out: list[Any] = [
            pattern_clause(DagModel.dag_id, self.dag_id_pattern),
            prefix_clause(DagModel.dag_id, self.dag_id_prefix_pattern),
            pattern_clause(
                func.coalesce(DagModel.display_name, DagModel.dag_id), self.dag_display_name_pattern
            ),
        ]
        out.extend(self.extra)
        if self.exclude_stale:
            out.append(DagModel.is_active.is_(True))
        if self.is_favorite is not None and self.favorite_user is not None:
            mine = select(DagFavorite.dag_id).where(DagFavorite.username == self.favorite_user)
            out.append(
                DagModel.dag_id.in_(mine) if self.is_favorite else DagModel.dag_id.not_in(mine)
            )
        if self.paused is not None:
            out.append(DagModel.is_paused.is_(self.paused))
        if self.has_import_errors is not None:
            out.append(DagModel.has_import_errors.is_(self.has_import_errors))
        if self.tags:
            # Tags are a JSON list; its text holds each tag as "tag" (json.dumps quoting).
            text = cast(DagModel.tags, String)
            terms = [text.contains(f'"{t}"', autoescape=True) for t in self.tags]
            out.append(and_(*terms) if self.tags_match_mode == "all" else or_(*terms))
        if self.owners:
            out.append(or_(*(DagModel.owners.contains(o, autoescape=True) for o in self.owners)))
        if self.last_dag_run_state:
            latest = (
                select(DagRun.state)
                .where(DagRun.dag_id == DagModel.dag_id)
                .order_by(DagRun.id.desc())
                .limit(1)
                .scalar_subquery()
            )
            out.append(latest == self.last_dag_run_state)
        return out


def list_dags(session: Session, flt: DagFilter, paging: Paging) -> Page[DagModel]:
    """A page of DAGs matching ``flt``."""
    return paged(session, select(DagModel), flt.conditions(), paging, DAG_ORDER, "dag_id")


def dag_tags(
    session: Session, pattern: str | None, paging: Paging, prefix: str | None = None
) -> Page[str]:
    """Distinct tags of active DAGs (the tag column is small: one short list per DAG)."""
    tags: set[str] = set()
    for row in session.scalars(select(DagModel.tags).where(DagModel.is_active.is_(True))):
        tags.update(row or [])
    names = sorted(tags, reverse=bool(paging.order_by and paging.order_by[0] == "-name"))
    if pattern and pattern != WILDCARD:
        parts = [p.lower() for p in pattern.split("|") if p]
        names = [n for n in names if any(p in n.lower() for p in parts)]
    if prefix and prefix != WILDCARD:
        names = [n for n in names if n.startswith(tuple(p for p in prefix.split("|") if p))]
    start = max(paging.offset, 0)
    return Page(names[start : start + max(paging.limit, 0)], len(names))


def display_names(session: Session, dag_ids: Iterable[str]) -> dict[str, str]:
    """``dag_id -> display name`` (the id itself when none is set)."""
    ids = sorted(set(dag_ids))
    out = {d: d for d in ids}
    for i in range(0, len(ids), 500):
        rows = session.execute(
            select(DagModel.dag_id, DagModel.display_name).where(
                DagModel.dag_id.in_(ids[i : i + 500])
            )
        )
        for dag_id, name in rows:
            out[dag_id] = name or dag_id
    return out


def dag_versions(
    session: Session, keys: Iterable[tuple[str, str | None]]
) -> dict[tuple[str, str], SerializedDagModel]:
    """The stored versions ``(dag_id, version_hash)`` of a page of runs or task instances.

    The DAG JSON (``data``) is deferred: a page names its versions, it never needs their
    tasks, and parsing a big DAG's JSON per row costs more than the whole query.
    """
    wanted = {(d, v) for d, v in keys if v}
    out: dict[tuple[str, str], SerializedDagModel] = {}
    hashes = sorted({v for _, v in wanted})
    for i in range(0, len(hashes), 500):
        rows = session.scalars(
            select(SerializedDagModel)
            .options(defer(SerializedDagModel.data))
            .where(SerializedDagModel.version_hash.in_(hashes[i : i + 500]))
        )
        for row in rows:
            if (row.dag_id, row.version_hash) in wanted:
                out[(row.dag_id, row.version_hash)] = row
    return out


def latest_version(session: Session, dag_id: str) -> SerializedDagModel | None:
    """The newest stored version of a DAG."""
    latest = select(DagModel.latest_version).where(DagModel.dag_id == dag_id).scalar_subquery()
    return session.scalar(
        select(SerializedDagModel).where(
            SerializedDagModel.dag_id == dag_id, SerializedDagModel.version_hash == latest
        )
    )


def active_run_count(session: Session, dag_id: str) -> int:
    """Runs of a DAG that are queued or running."""
    query = select(func.count(DagRun.id)).where(
        DagRun.dag_id == dag_id, DagRun.state.in_(["queued", "running"])
    )
    return int(session.scalar(query) or 0)


def running_task_count(session: Session, dag_id: str) -> int:
    """Task instances of a DAG that are queued or running right now."""
    query = select(func.count(TaskInstance.id)).where(
        TaskInstance.dag_id == dag_id, TaskInstance.state.in_(["queued", "running"])
    )
    return int(session.scalar(query) or 0)
