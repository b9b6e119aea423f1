"""Counter-assisted filing: the clerk's assisted sessions, and who assisted an application.

``counter_sessions`` holds one clerk's session with one walk-in resident: the identity
check as recorded (document type, at most the last four characters of its number, the
name and birth date as seen), the register person it was matched to, and the
applications filed in it. An application filed in one records the clerk
(``assisted_by``), the identity check, and the storage keys of the counter-only
procedures' pre-filled forms (``counter_forms``).

Revision ID: 0018_assisted_filing
Revises: 0017_admin_people
Create Date: 2026-11-28
"""

import sqlalchemy as sa
from alembic import op

revision = "0018_assisted_filing"
down_revision = "0017_admin_people"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "counter_sessions",
        sa.Column("id", sa.String(length=43), nullable=False),
        sa.Column("clerk_id", sa.Integer(), nullable=False),
        sa.Column("person_key", sa.String(length=80), nullable=False),
        sa.Column("resident_name", sa.String(length=200), nullable=False),
        sa.Column("identity_check", sa.JSON(), nullable=False),
        sa.Column("applications", sa.JSON(), nullable=False),
        sa.Column("started_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("confirmed_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["clerk_id"], ["users.id"], name=op.f("fk_counter_sessions_clerk_id_users")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_counter_sessions")),
    )
    op.create_index(op.f("ix_counter_sessions_clerk_id"), "counter_sessions", ["clerk_id"])
    with op.batch_alter_table("applications") as batch_op:
        batch_op.add_column(sa.Column("assisted_by", sa.Integer(), nullable=True))
        batch_op.add_column(sa.Column("identity_check", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("counter_forms", sa.JSON(), nullable=True))
        batch_op.create_foreign_key(
            batch_op.f("fk_applications_assisted_by_users"), "users", ["assisted_by"], ["id"]
        )


def downgrade() -> None:
    with op.batch_alter_table("applications") as batch_op:
        batch_op.drop_constraint(
            batch_op.f("fk_applications_assisted_by_users"), type_="foreignkey"
        )
        batch_op.drop_column("counter_forms")
        batch_op.drop_column("identity_check")
        batch_op.drop_column("assisted_by")
    op.drop_index(op.f("ix_counter_sessions_clerk_id"), table_name="counter_sessions")
    op.drop_table("counter_sessions")
