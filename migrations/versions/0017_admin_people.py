"""Accounts an administrator can disable, and staff roles and departments set in the portal.

``users.disabled_at`` marks an account that may not sign in. A row of
``staff_assignments`` means an administrator set the person's role and departments in
the portal, so a sign-in keeps them instead of taking the provider's claims; it also
keeps what the provider last claimed, so handing the person back restores that at once.

Revision ID: 0017_admin_people
Revises: 0016_worklist
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0017_admin_people"
down_revision = "0016_worklist"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("disabled_at", sa.DateTime(timezone=True), nullable=True))
    op.create_table(
        "staff_assignments",
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("departments", sa.JSON(), nullable=False),
        sa.Column("claimed_role", sa.String(length=20), nullable=False),
        sa.Column("claimed_departments", sa.JSON(), nullable=False),
        sa.Column("set_by", sa.String(length=120), nullable=False),
        sa.Column("set_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("role IN ('clerk', 'admin')", name=op.f("ck_staff_assignments_role")),
        sa.CheckConstraint(
            "claimed_role IN ('clerk', 'admin')", name=op.f("ck_staff_assignments_claimed_role")
        ),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_staff_assignments_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("user_id", name=op.f("pk_staff_assignments")),
    )


def downgrade() -> None:
    op.drop_table("staff_assignments")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("disabled_at")
