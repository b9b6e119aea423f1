"""Record on an application whom a representative filed for, and in what scope.

Revision ID: 0010_representation
Revises: 0009_draft_documents
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0010_representation"
down_revision = "0009_draft_documents"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("applications") as batch_op:
        batch_op.add_column(sa.Column("representation", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch_op:
        batch_op.drop_column("representation")
