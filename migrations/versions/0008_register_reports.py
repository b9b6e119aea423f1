"""Keep residents' reports that a register value is wrong, for the owning department.

Revision ID: 0008_register_reports
Revises: 0007_applications
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0008_register_reports"
down_revision = "0007_applications"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "register_reports",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("person_key", sa.String(length=80), nullable=False),
        sa.Column("draft_id", sa.String(length=43), nullable=True),
        sa.Column("source", sa.String(length=40), nullable=False),
        sa.Column("field_id", sa.String(length=80), nullable=False),
        sa.Column("department_id", sa.String(length=80), nullable=False),
        sa.Column("message", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=10), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "status IN ('open', 'closed')", name=op.f("ck_register_reports_status")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"], ["users.id"], name=op.f("fk_register_reports_user_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_reports")),
    )
    with op.batch_alter_table("register_reports") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_register_reports_user_id"), ["user_id"], unique=False
        )
        batch_op.create_index(
            batch_op.f("ix_register_reports_department_id"), ["department_id"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("register_reports") as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_reports_department_id"))
        batch_op.drop_index(batch_op.f("ix_register_reports_user_id"))
    op.drop_table("register_reports")
