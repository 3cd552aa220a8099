"""the queueing order index: scheduled candidates by pool, priority, age (#17)

Revision ID: 0009
Revises: 0008
"""

import sqlalchemy as sa
from alembic import op

revision = "0009"
down_revision = "0008"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.drop_index("ix_ti_state_pool_priority", table_name="task_instance")
    op.create_index(
        "ix_ti_queue_order",
        "task_instance",
        ["state", "pool", sa.text("priority_weight DESC"), "scheduled_dttm", "id"],
    )


def downgrade() -> None:
    op.drop_index("ix_ti_queue_order", table_name="task_instance")
    op.create_index(
        "ix_ti_state_pool_priority", "task_instance", ["state", "pool", "priority_weight"]
    )
