"""indexes for the task-instance list by end_date and by duration (#14)

Revision ID: 0011
Revises: 0010
"""

from alembic import op

revision = "0011"
down_revision = "0010"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index("ix_ti_end_date_id", "task_instance", ["end_date", "id"])
    op.create_index("ix_ti_duration_id", "task_instance", ["duration", "id"])


def downgrade() -> None:
    op.drop_index("ix_ti_duration_id", table_name="task_instance")
    op.drop_index("ix_ti_end_date_id", table_name="task_instance")
