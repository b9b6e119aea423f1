"""Where each definition version came from: the procedure files, or the admin pages.

`flask procedures load` compares a file with the version the files last gave, not with
whatever is newest, so loading the same files again never undoes a version an
administrator published or retired in the portal. Every version stored so far was
loaded from the files.

Revision ID: 0019_authoring
Revises: 0018_assisted_filing
Create Date: 2026-12-02
"""

import sqlalchemy as sa
from alembic import op

revision = "0019_authoring"
down_revision = "0018_assisted_filing"
branch_labels = None
depends_on = None


def upgrade() -> None:
    with op.batch_alter_table("definition_versions") as batch_op:
        batch_op.add_column(
            sa.Column("origin", sa.String(length=20), nullable=False, server_default="files")
        )
        batch_op.create_check_constraint(
            op.f("ck_definition_versions_origin"), "origin IN ('files', 'admin')"
        )


def downgrade() -> None:
    with op.batch_alter_table("definition_versions") as batch_op:
        batch_op.drop_constraint(op.f("ck_definition_versions_origin"), type_="check")
        batch_op.drop_column("origin")
