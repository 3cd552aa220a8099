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


def dag_warnings(session: Session, dag_id: str | None = None) -> list[DagWarning]:
    """The warnings of the active DAGs (or of ``dag_id``), by DAG id."""
    pools = set(session.scalars(select(Pool.pool)))
    query = (
        select(DagModel, SerializedDagModel.data)
        .join(
            SerializedDagModel,
            (SerializedDagModel.dag_id == DagModel.dag_id)
            & (SerializedDagModel.version_hash == DagModel.latest_version),
        )
        .where(DagModel.is_active.is_(True))
        .order_by(DagModel.dag_id)
    )
    if dag_id is not None:
        query = query.where(DagModel.dag_id == dag_id)
    found = []
    for dag, data in session.execute(query):
        used = {str(t.get("pool") or "default_pool") for t in data.get("tasks", [])}
        missing = sorted(used - pools)
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
