"""DAG warnings, computed from the stored DAGs: tasks using a pool that does not exist
(Airflow's "non-existent pool" warning, which its DAG processor stores in ``dag_warning``)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from tradewind.metastore.tables import DagModel, Pool, SerializedDagModel

NONEXISTENT_POOL = "non-existent pool"


@dataclass(frozen=True)
class DagWarning:
    """One warning about one DAG."""

    dag_id: str
    dag_display_name: str
    warning_type: str
    message: str
    timestamp: datetime


#: Pools the tasks of a DAG version use, by version hash (a hash is its content: immutable).
_POOLS_USED: dict[str, frozenset[str]] = {}
_CACHE_LIMIT = 50_000


def _pools_used(session: Session, hashes: set[str]) -> dict[str, frozenset[str]]:
    missing = sorted(h for h in hashes if h not in _POOLS_USED)
    if len(_POOLS_USED) + len(missing) > _CACHE_LIMIT:
        _POOLS_USED.clear()
        missing = sorted(hashes)
    for i in range(0, len(missing), 500):
        rows = session.execute(
            select(SerializedDagModel.version_hash, SerializedDagModel.data).where(
                SerializedDagModel.version_hash.in_(missing[i : i + 500])
            )
        )
        for version, data in rows:
            tasks = data.get("tasks", [])
            _POOLS_USED[version] = frozenset(str(t.get("pool") or "default_pool") for t in tasks)
    return {h: _POOLS_USED.get(h, frozenset()) for h in hashes}


def dag_warnings(session: Session, dag_id: str | None = None) -> list[DagWarning]:
    """The warnings of the active DAGs (or of ``dag_id``), by DAG id.

    Each DAG version's pools are read from its JSON once per process, then come from memory.
    """
    pools = set(session.scalars(select(Pool.pool)))
    query = (
        select(DagModel.dag_id, DagModel.display_name, DagModel.latest_version,
               DagModel.last_parsed_time)
        .where(DagModel.is_active.is_(True), DagModel.latest_version.is_not(None))
        .order_by(DagModel.dag_id)
    )  # fmt: skip
    if dag_id is not None:
        query = query.where(DagModel.dag_id == dag_id)
    dags = list(session.execute(query))
    used = _pools_used(session, {str(d.latest_version) for d in dags})
    found = []
    for dag in dags:
        missing = sorted(used[str(dag.latest_version)] - pools)
        if missing:
            found.append(
                DagWarning(
                    dag_id=dag.dag_id,
                    dag_display_name=dag.display_name or dag.dag_id,
                    warning_type=NONEXISTENT_POOL,
                    message=f"Dag '{dag.dag_id}' references non-existent pools: {missing!r}",
                    timestamp=dag.last_parsed_time or datetime.fromtimestamp(0).astimezone(),
                )
            )
    return found
