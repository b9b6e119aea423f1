"""Keep the supporting documents of a draft: uploads and the alternatives chosen.

Revision ID: 0009_draft_documents
Revises: 0008_register_reports
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0009_draft_documents"
down_revision = "0008_register_reports"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts") as batch_op:
        batch_op.add_column(sa.Column("documents", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch_op:
        batch_op.drop_column("documents")
