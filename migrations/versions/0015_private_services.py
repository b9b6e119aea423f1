"""Keep the private services a resident chose to tell, on the draft and on the application.

Revision ID: 0015_private_services
Revises: 0014_audit_subject
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0015_private_services"
down_revision = "0014_audit_subject"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("drafts") as batch_op:
        batch_op.add_column(sa.Column("private_services", sa.JSON(), nullable=True))
    with op.batch_alter_table("applications") as batch_op:
        batch_op.add_column(sa.Column("private_services", sa.JSON(), nullable=True))


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch_op:
        batch_op.drop_column("private_services")
    with op.batch_alter_table("drafts") as batch_op:
        batch_op.drop_column("private_services")
