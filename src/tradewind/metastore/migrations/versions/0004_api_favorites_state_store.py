"""DAG favorites, the state store (REST API of Airflow 3.3), an index for dagStats

Revision ID: 0004
Revises: 0003
"""

import sqlalchemy as sa
from alembic import op

import tradewind.metastore.tables

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None

_ID = sa.BigInteger().with_variant(sa.Integer(), "sqlite")
_TIME = tradewind.metastore.tables.UtcDateTime(timezone=True)


def upgrade() -> None:
    op.create_table(
        "dag_favorite",
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("username", sa.String(length=512), nullable=False),
        sa.PrimaryKeyConstraint("dag_id", "username"),
    )
    op.create_table(
        "state_store",
        sa.Column("id", _ID, autoincrement=True, nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("asset_id", _ID, nullable=False),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("task_id", sa.String(length=250), nullable=False),
        sa.Column("map_index", sa.Integer(), nullable=False),
        sa.Column("key", sa.String(length=512), nullable=False),
        sa.Column("value", sa.JSON(), nullable=True),
        sa.Column("updated_at", _TIME, nullable=False),
        sa.Column("expires_at", _TIME, nullable=True),
        sa.Column("updated_by", sa.String(length=10), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint(
            "kind", "asset_id", "dag_id", "run_id", "task_id", "map_index", "key",
            name="uq_state_store_owner_key",
        ),
    )  # fmt: skip
    op.create_index("ix_dag_run_dag_state", "dag_run", ["dag_id", "state"])


def downgrade() -> None:
    op.drop_index("ix_dag_run_dag_state", table_name="dag_run")
    op.drop_table("state_store")
    op.drop_table("dag_favorite")
