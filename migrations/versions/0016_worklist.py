"""Clerks' work lists: saved views, and the indexes that keep every page a range scan.

Each list page reads one (department or assignee, status) slice in (sort column, id)
order; admins read by status alone. With these indexes a page costs the same with a
thousand submissions or a million. PostgreSQL also gets joint statistics on assignee
and status, which go together.

Revision ID: 0016_worklist
Revises: 0015_private_services
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0016_worklist"
down_revision = "0015_private_services"
branch_labels = None
depends_on = None

# name → columns, for both sort columns of each slice.
INDEXES = {
    "ix_submissions_department_status_received": ["department_id", "status", "received_at", "id"],
    "ix_submissions_department_status_due": ["department_id", "status", "due_on", "id"],
    "ix_submissions_assignee_status_received": ["assignee_id", "status", "received_at", "id"],
    "ix_submissions_assignee_status_due": ["assignee_id", "status", "due_on", "id"],
    "ix_submissions_status_received": ["status", "received_at", "id"],
    "ix_submissions_status_due": ["status", "due_on", "id"],
}


def upgrade() -> None:
    op.create_table(
        "saved_views",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("user_id", sa.Integer(), nullable=False),
        sa.Column("name", sa.String(length=80), nullable=False),
        sa.Column("query", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["user_id"],
            ["users.id"],
            name=op.f("fk_saved_views_user_id_users"),
            ondelete="CASCADE",
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_saved_views")),
        sa.UniqueConstraint("user_id", "name", name=op.f("uq_saved_views_user_id")),
    )
    for name, columns in INDEXES.items():
        op.create_index(name, "submissions", columns)
    if op.get_bind().dialect.name == "postgresql":
        # Status and assignee go together (a received submission is unassigned); without
        # joint statistics PostgreSQL underestimates a slice and sorts it instead of
        # reading it in index order.
        op.execute(
            "CREATE STATISTICS st_submissions_assignee_status (mcv) "
            "ON assignee_id, status FROM submissions"
        )


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        op.execute("DROP STATISTICS st_submissions_assignee_status")
    for name in reversed(INDEXES):
        op.drop_index(name, table_name="submissions")
    op.drop_table("saved_views")
