"""deadline alerts: one row per DAG run and alert

Revision ID: 0003
Revises: 0002
"""

from alembic import op
import sqlalchemy as sa
import tradewind.metastore.tables


revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "deadline",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("dag_id", sa.String(length=250), nullable=False),
        sa.Column("run_id", sa.String(length=250), nullable=False),
        sa.Column("alert_index", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=50), nullable=False),
        sa.Column("interval", sa.Float(), nullable=False),
        sa.Column("callback", sa.String(length=1000), nullable=False),
        sa.Column(
            "deadline_time", tradewind.metastore.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.Column("missed", sa.Boolean(), nullable=False),
        sa.Column(
            "missed_at", tradewind.metastore.tables.UtcDateTime(timezone=True), nullable=True
        ),
        sa.Column(
            "created_at", tradewind.metastore.tables.UtcDateTime(timezone=True), nullable=False
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("dag_id", "run_id", "alert_index", name="uq_deadline_run_alert"),
    )
    op.create_index("ix_deadline_pending", "deadline", ["missed", "deadline_time"], unique=False)


def downgrade() -> None:
    op.drop_index("ix_deadline_pending", table_name="deadline")
    op.drop_table("deadline")
