"""Find the audit entries about one record quickly: a case's history reads them.

Revision ID: 0014_audit_subject
Revises: 0013_case_view
Create Date: 2026-11-27
"""

from alembic import op

revision = "0014_audit_subject"
down_revision = "0013_case_view"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_index(
        "ix_audit_entries_subject", "audit_entries", ["subject_type", "subject_id"]
    )


def downgrade() -> None:
    op.drop_index("ix_audit_entries_subject", table_name="audit_entries")
