"""indexes for the task-instance list by start_date and logical_date; dag.timetable_type

Revision ID: 0007
Revises: 0006
"""

import json

import sqlalchemy as sa
from alembic import op

from tradewind.core.timetable_types import airflow_timetable_type

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None


def _fill_timetable_types() -> None:
    """Name the timetable of every DAG from its latest version (DAGs are re-parsed only when
    their file changes, so existing rows would otherwise stay unnamed)."""
    conn = op.get_bind()
    rows = conn.execute(
        sa.text(
            "SELECT dag.dag_id, serialized_dag.data FROM dag JOIN serialized_dag"
            " ON serialized_dag.dag_id = dag.dag_id"
            " AND serialized_dag.version_hash = dag.latest_version"
        )
    )
    update = sa.text("UPDATE dag SET timetable_type = :t WHERE dag_id = :d")
    for dag_id, data in rows.fetchall():
        if isinstance(data, str | bytes):
            data = json.loads(data)
        if not isinstance(data, dict):
            continue
        name = airflow_timetable_type(data.get("timetable"), data.get("asset_condition"))
        conn.execute(update, {"t": name, "d": dag_id})


def upgrade() -> None:
    op.add_column("dag", sa.Column("timetable_type", sa.String(length=1000), nullable=True))
    _fill_timetable_types()
    op.create_index("ix_ti_start_date_id", "task_instance", ["start_date", "id"])
    op.create_index("ix_dag_run_logical_date_id", "dag_run", ["logical_date", "id"])
    if op.get_bind().dialect.name == "sqlite":
        # The planner needs table sizes to walk runs by date into their task instances.
        op.execute("PRAGMA analysis_limit=1000")
        op.execute("ANALYZE")


def downgrade() -> None:
    op.drop_index("ix_dag_run_logical_date_id", table_name="dag_run")
    op.drop_index("ix_ti_start_date_id", table_name="task_instance")
    with op.batch_alter_table("dag") as batch:
        batch.drop_column("timetable_type")
