"""Keep residents' unfinished life-event applications as drafts.

Revision ID: 0004_drafts
Revises: 0003_registers
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0004_drafts"
down_revision = "0003_registers"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "drafts",
        sa.Column("id", sa.String(length=43), nullable=False),
        sa.Column("owner_key", sa.String(length=80), nullable=False),
        sa.Column("life_event_id", sa.String(length=80), nullable=False),
        sa.Column("pins", sa.JSON(), nullable=False),
        sa.Column("answers", sa.JSON(), nullable=False),
        sa.Column("procedure_ids", sa.JSON(), nullable=True),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("register", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint(
            "stage IN ('questionnaire', 'choosing', 'form', 'review')",
            name=op.f("ck_drafts_stage"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_drafts")),
    )
    with op.batch_alter_table("drafts") as batch_op:
        batch_op.create_index(batch_op.f("ix_drafts_owner_key"), ["owner_key"], unique=False)
        batch_op.create_index(batch_op.f("ix_drafts_expires_at"), ["expires_at"], unique=False)


def downgrade() -> None:
    with op.batch_alter_table("drafts") as batch_op:
        batch_op.drop_index(batch_op.f("ix_drafts_expires_at"))
        batch_op.drop_index(batch_op.f("ix_drafts_owner_key"))
    op.drop_table("drafts")
