"""Record when retention deleted an application's register extract, files and answers.

Revision ID: 0021_retention
Revises: 0020_kpi
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0021_retention"
down_revision = "0020_kpi"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch_op:
        batch_op.add_column(sa.Column("register_removed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))
    with op.batch_alter_table("submissions") as batch_op:
        batch_op.add_column(sa.Column("attachments_removed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("anonymised_at", sa.DateTime(timezone=True), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch_op:
        batch_op.drop_column("anonymised_at")
        batch_op.drop_column("attachments_removed_at")
    with op.batch_alter_table("applications") as batch_op:
        batch_op.drop_column("anonymised_at")
        batch_op.drop_column("register_removed_at")
