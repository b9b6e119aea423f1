"""Follow each submission: its status changes, messages and requests, the paused clock,
and the verified address its applicant is told of changes at.

Revision ID: 0011_case_workflow
Revises: 0010_representation
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0011_case_workflow"
down_revision = "0010_representation"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("users") as batch_op:
        batch_op.add_column(sa.Column("email", sa.String(length=254), nullable=True))
    with op.batch_alter_table("submissions") as batch_op:
        batch_op.add_column(sa.Column("paused_since", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decided_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("decision_key", sa.String(length=120), nullable=True))
    op.create_table(
        "status_changes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("from_status", sa.String(length=24), nullable=False),
        sa.Column("to_status", sa.String(length=24), nullable=False),
        sa.Column("actor", sa.String(length=40), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_status_changes_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_status_changes")),
    )
    op.create_index(
        op.f("ix_status_changes_submission_id"), "status_changes", ["submission_id"]
    )
    op.create_table(
        "case_messages",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("submission_id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("author_id", sa.Integer(), nullable=True),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("answered_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('request', 'message', 'reply', 'note')", name=op.f("ck_case_messages_kind")
        ),
        sa.ForeignKeyConstraint(
            ["author_id"], ["users.id"], name=op.f("fk_case_messages_author_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["submission_id"],
            ["submissions.id"],
            name=op.f("fk_case_messages_submission_id_submissions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_case_messages")),
    )
    op.create_index(op.f("ix_case_messages_submission_id"), "case_messages", ["submission_id"])


def downgrade() -> None:
    op.drop_index(op.f("ix_case_messages_submission_id"), table_name="case_messages")
    op.drop_table("case_messages")
    op.drop_index(op.f("ix_status_changes_submission_id"), table_name="status_changes")
    op.drop_table("status_changes")
    with op.batch_alter_table("submissions") as batch_op:
        batch_op.drop_column("decision_key")
        batch_op.drop_column("decided_at")
        batch_op.drop_column("paused_since")
    with op.batch_alter_table("users") as batch_op:
        batch_op.drop_column("email")
