"""asset aliases: the alias an asset event was added through

Revision ID: 0008
Revises: 0007
"""

import sqlalchemy as sa
from alembic import op

revision = "0008"
down_revision = "0007"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("asset_event") as batch:
        batch.add_column(sa.Column("source_alias_name", sa.String(1500), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("asset_event") as batch:
        batch.drop_column("source_alias_name")
