"""File applications: one per submit, one submission per procedure, yearly references.

Revision ID: 0007_applications
Revises: 0006_jobs
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0007_applications"
down_revision = "0006_jobs"
branch_labels = None
depends_on = None

STATUSES = (
    "status IN ('received', 'in_review', 'awaiting_applicant', 'approved', "
    "'rejected', 'completed', 'withdrawn')"
)


def upgrade() -> None:
    op.create_table(
        "reference_counters",
        sa.Column("year", sa.Integer(), autoincrement=False, nullable=False),
        sa.Column("last_number", sa.Integer(), nullable=False),
        sa.PrimaryKeyConstraint("year", name=op.f("pk_reference_counters")),
    )
    op.create_table(
        "applications",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=20), nullable=False),
        sa.Column("draft_id", sa.String(length=43), nullable=False),
        sa.Column("life_event_id", sa.String(length=80), nullable=False),
        sa.Column("applicant_id", sa.Integer(), nullable=False),
        sa.Column("applicant_name", sa.String(length=200), nullable=False),
        sa.Column("language", sa.String(length=5), nullable=False),
        sa.Column("pins", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("register", sa.JSON(), nullable=False),
        sa.Column("checked_against_register", sa.Boolean(), nullable=False),
        sa.Column("assisted", sa.Boolean(), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("receipt_key", sa.String(length=120), nullable=True),
        sa.ForeignKeyConstraint(
            ["applicant_id"], ["users.id"], name=op.f("fk_applications_applicant_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_applications")),
        sa.UniqueConstraint("draft_id", name=op.f("uq_applications_draft_id")),
        sa.UniqueConstraint("reference", name=op.f("uq_applications_reference")),
    )
    with op.batch_alter_table("applications") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_applications_applicant_id"), ["applicant_id"], unique=False
        )
    op.create_table(
        "submissions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("application_id", sa.Integer(), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("reference", sa.String(length=24), nullable=False),
        sa.Column("procedure_id", sa.String(length=80), nullable=False),
        sa.Column("procedure_version_id", sa.Integer(), nullable=False),
        sa.Column("department_id", sa.String(length=80), nullable=False),
        sa.Column("queue_id", sa.String(length=120), nullable=False),
        sa.Column("status", sa.String(length=24), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("documents", sa.JSON(), nullable=False),
        sa.Column("four_eyes", sa.Boolean(), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("due_on", sa.Date(), nullable=True),
        sa.Column("assignee_id", sa.Integer(), nullable=True),
        sa.CheckConstraint(STATUSES, name=op.f("ck_submissions_status")),
        sa.ForeignKeyConstraint(
            ["application_id"],
            ["applications.id"],
            name=op.f("fk_submissions_application_id_applications"),
        ),
        sa.ForeignKeyConstraint(
            ["assignee_id"], ["users.id"], name=op.f("fk_submissions_assignee_id_users")
        ),
        sa.ForeignKeyConstraint(
            ["procedure_version_id"],
            ["definition_versions.id"],
            name=op.f("fk_submissions_procedure_version_id_definition_versions"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_submissions")),
        sa.UniqueConstraint("application_id", "number", name="uq_submissions_number"),
        sa.UniqueConstraint("reference", name=op.f("uq_submissions_reference")),
    )
    with op.batch_alter_table("submissions") as batch_op:
        batch_op.create_index(
            "ix_submissions_queue_status", ["queue_id", "status", "received_at"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("submissions") as batch_op:
        batch_op.drop_index("ix_submissions_queue_status")
    op.drop_table("submissions")
    with op.batch_alter_table("applications") as batch_op:
        batch_op.drop_index(batch_op.f("ix_applications_applicant_id"))
    op.drop_table("applications")
    op.drop_table("reference_counters")
