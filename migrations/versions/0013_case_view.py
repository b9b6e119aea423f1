"""Keep a decision's reason and a four-eyes approval that waits for a second clerk.

Revision ID: 0013_case_view
Revises: 0012_api
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0013_case_view"
down_revision = "0012_api"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("submissions") as batch_op:
        batch_op.add_column(sa.Column("decision_reason", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("proposed_decision", sa.String(length=24), nullable=True))
        batch_op.add_column(sa.Column("proposed_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("proposed_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("proposal_reason", sa.Text(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_submissions_proposed_by_users"), "users", ["proposed_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch_op:
        batch_op.drop_constraint(batch_op.f("fk_submissions_proposed_by_users"), type_="foreignkey")
        batch_op.drop_column("proposal_reason")
        batch_op.drop_column("proposed_at")
        batch_op.drop_column("proposed_by")
        batch_op.drop_column("proposed_decision")
        batch_op.drop_column("decision_reason")
