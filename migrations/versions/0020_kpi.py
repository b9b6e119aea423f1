"""KPI dashboard: counts of abandoned drafts by the page they stopped at.

The draft purge adds to these counts before it deletes expired drafts, so the
dashboard can say where residents give up. Counts only, no personal data.

Revision ID: 0020_kpi
Revises: 0019_authoring
Create Date: 2026-12-10
"""

import sqlalchemy as sa
from alembic import op

revision = "0020_kpi"
down_revision = "0019_authoring"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "abandoned_drafts",
        sa.Column("last_saved_hour", sa.DateTime(timezone=True), nullable=False),
        sa.Column("life_event_id", sa.String(length=80), nullable=False),
        sa.Column("stage", sa.String(length=20), nullable=False),
        sa.Column("step", sa.String(length=200), nullable=False),
        sa.Column("count", sa.Integer(), nullable=False),
        sa.CheckConstraint(
            "stage IN ('questionnaire', 'choosing', 'form', 'review')",
            name=op.f("ck_abandoned_drafts_stage"),
        ),
        sa.CheckConstraint("count > 0", name=op.f("ck_abandoned_drafts_count_positive")),
        sa.PrimaryKeyConstraint(
            "last_saved_hour",
            "life_event_id",
            "stage",
            "step",
            name=op.f("pk_abandoned_drafts"),
        ),
    )


def downgrade() -> None:
    op.drop_table("abandoned_drafts")
