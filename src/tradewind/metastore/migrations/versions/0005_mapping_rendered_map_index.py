"""task_instance.rendered_map_index: the name map_index_template gave a mapped instance

Revision ID: 0005
Revises: 0004
"""

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("task_instance", schema=None) as batch_op:
        batch_op.add_column(sa.Column("rendered_map_index", sa.String(length=250), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("task_instance", schema=None) as batch_op:
        batch_op.drop_column("rendered_map_index")
