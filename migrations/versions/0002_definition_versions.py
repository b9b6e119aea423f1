"""Store numbered, immutable versions of the procedure definitions.

Revision ID: 0002_definition_versions
Revises: 0001_audit_log
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0002_definition_versions"
down_revision = "0001_audit_log"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "definition_versions",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("definition_id", sa.String(length=80), nullable=False),
        sa.Column("number", sa.Integer(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("content_hash", sa.String(length=64), nullable=False),
        sa.Column("source_name", sa.String(length=255), nullable=False),
        sa.Column("source_text", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=120), nullable=False),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("retired_at", sa.DateTime(timezone=True), nullable=True),
        sa.CheckConstraint(
            "kind IN ('procedure', 'life_event', 'dictionary', 'departments')",
            name=op.f("ck_definition_versions_kind"),
        ),
        sa.CheckConstraint(
            "status IN ('draft', 'published', 'retired')",
            name=op.f("ck_definition_versions_status"),
        ),
        sa.CheckConstraint("number >= 1", name=op.f("ck_definition_versions_number_positive")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_definition_versions")),
        sa.UniqueConstraint(
            "kind", "definition_id", "number", name="uq_definition_versions_number"
        ),
    )
    with op.batch_alter_table("definition_versions") as batch_op:
        batch_op.create_index(
            "ix_definition_versions_lookup", ["kind", "definition_id", "status"], unique=False
        )


def downgrade() -> None:
    with op.batch_alter_table("definition_versions") as batch_op:
        batch_op.drop_index("ix_definition_versions_lookup")
    op.drop_table("definition_versions")
