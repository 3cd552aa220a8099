"""revocable sessions and login throttling: ab_user.credential_version, login_failure

Revision ID: 0002
Revises: 0001
"""

import sqlalchemy as sa
from alembic import op

import tradewind.metastore.tables

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("ab_user") as batch:
        batch.add_column(
            sa.Column("credential_version", sa.Integer(), server_default="0", nullable=False)
        )
    op.create_table(
        "login_failure",
        sa.Column(
            "id",
            sa.BigInteger().with_variant(sa.Integer(), "sqlite"),
            autoincrement=True,
            nullable=False,
        ),
        sa.Column("username", sa.String(length=512), nullable=False),
        sa.Column("client", sa.String(length=256), nullable=False),
        sa.Column("at", tradewind.metastore.tables.UtcDateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
    )
    op.create_index("idx_login_failure_user_client", "login_failure", ["username", "client"])
    op.create_index("idx_login_failure_client", "login_failure", ["client"])
    op.create_index("idx_login_failure_at", "login_failure", ["at"])


def downgrade() -> None:
    op.drop_table("login_failure")
    with op.batch_alter_table("ab_user") as batch:
        batch.drop_column("credential_version")
