"""Add the demo city's registers that forms are pre-filled from.

Revision ID: 0003_registers
Revises: 0002_definition_versions
Create Date: 2026-11-27
"""

import sqlalchemy as sa
from alembic import op

revision = "0003_registers"
down_revision = "0002_definition_versions"
branch_labels = None
depends_on = None

RELATIONSHIPS = (
    "'spouse', 'child', 'parent', 'sibling', 'grandchild', 'grandparent', 'relative', 'other'"
)


def upgrade() -> None:
    op.create_table(
        "register_households",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("household_key", sa.String(length=20), nullable=False),
        sa.Column("postal_code", sa.String(length=7), nullable=False),
        sa.Column("town", sa.String(length=60), nullable=False),
        sa.Column("address_line", sa.String(length=100), nullable=False),
        sa.CheckConstraint(
            "length(postal_code) = 7", name=op.f("ck_register_households_postal_code_length")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_households")),
        sa.UniqueConstraint("household_key", name=op.f("uq_register_households_household_key")),
    )

    op.create_table(
        "register_persons",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_key", sa.String(length=64), nullable=False),
        sa.Column("persona", sa.String(length=60), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("family_name", sa.String(length=50), nullable=False),
        sa.Column("given_name", sa.String(length=50), nullable=True),
        sa.Column("family_name_kana", sa.String(length=100), nullable=False),
        sa.Column("given_name_kana", sa.String(length=100), nullable=True),
        sa.Column("birth_date", sa.Date(), nullable=False),
        sa.Column("sex", sa.String(length=10), nullable=False),
        sa.Column("household_id", sa.Integer(), nullable=True),
        sa.Column("relationship_to_head", sa.String(length=20), nullable=True),
        sa.Column("moved_in_date", sa.Date(), nullable=True),
        sa.Column("moved_out_date", sa.Date(), nullable=True),
        sa.Column("death_date", sa.Date(), nullable=True),
        sa.Column("my_number_on_file", sa.Boolean(), nullable=False),
        sa.CheckConstraint(
            "status IN ('resident', 'moved_out', 'deceased', 'non_resident')",
            name=op.f("ck_register_persons_status"),
        ),
        sa.CheckConstraint("sex IN ('female', 'male')", name=op.f("ck_register_persons_sex")),
        sa.CheckConstraint(
            "relationship_to_head IS NULL OR relationship_to_head IN ('head', "
            + RELATIONSHIPS
            + ")",
            name=op.f("ck_register_persons_relationship_to_head"),
        ),
        sa.CheckConstraint(
            "(status = 'non_resident' AND household_id IS NULL AND relationship_to_head IS NULL"
            " AND moved_in_date IS NULL)"
            " OR (status <> 'non_resident' AND household_id IS NOT NULL"
            " AND relationship_to_head IS NOT NULL AND moved_in_date IS NOT NULL)",
            name=op.f("ck_register_persons_resident_record"),
        ),
        sa.CheckConstraint(
            "(status = 'deceased' AND death_date IS NOT NULL)"
            " OR (status <> 'deceased' AND death_date IS NULL)",
            name=op.f("ck_register_persons_death_date"),
        ),
        sa.CheckConstraint(
            "(status = 'moved_out' AND moved_out_date IS NOT NULL)"
            " OR (status <> 'moved_out' AND moved_out_date IS NULL)",
            name=op.f("ck_register_persons_moved_out_date"),
        ),
        sa.ForeignKeyConstraint(
            ["household_id"],
            ["register_households.id"],
            name=op.f("fk_register_persons_household_id_register_households"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_persons")),
        sa.UniqueConstraint("person_key", name=op.f("uq_register_persons_person_key")),
        sa.UniqueConstraint("persona", name=op.f("uq_register_persons_persona")),
    )

    op.create_table(
        "register_relations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("related_person_id", sa.Integer(), nullable=False),
        sa.Column("relationship", sa.String(length=20), nullable=False),
        sa.Column("power_of_attorney_scope", sa.String(length=200), nullable=True),
        sa.Column("power_of_attorney_until", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "relationship IN (" + RELATIONSHIPS + ")",
            name=op.f("ck_register_relations_relationship"),
        ),
        sa.CheckConstraint(
            "person_id <> related_person_id", name=op.f("ck_register_relations_not_self")
        ),
        sa.CheckConstraint(
            "power_of_attorney_until IS NULL OR power_of_attorney_scope IS NOT NULL",
            name=op.f("ck_register_relations_power_of_attorney"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["register_persons.id"],
            name=op.f("fk_register_relations_person_id_register_persons"),
        ),
        sa.ForeignKeyConstraint(
            ["related_person_id"],
            ["register_persons.id"],
            name=op.f("fk_register_relations_related_person_id_register_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_relations")),
        sa.UniqueConstraint("person_id", "related_person_id", name="uq_register_relations_pair"),
    )

    op.create_table(
        "register_resident_taxes",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("fiscal_year", sa.Integer(), nullable=False),
        sa.Column("income", sa.Integer(), nullable=False),
        sa.Column("income_levy", sa.Integer(), nullable=False),
        sa.Column("per_capita_levy", sa.Integer(), nullable=False),
        sa.Column("tax_amount", sa.Integer(), nullable=False),
        sa.CheckConstraint("income >= 0", name=op.f("ck_register_resident_taxes_income")),
        sa.CheckConstraint(
            "income_levy >= 0 AND per_capita_levy >= 0",
            name=op.f("ck_register_resident_taxes_levies"),
        ),
        sa.CheckConstraint(
            "tax_amount = income_levy + per_capita_levy",
            name=op.f("ck_register_resident_taxes_tax_amount"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["register_persons.id"],
            name=op.f("fk_register_resident_taxes_person_id_register_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_resident_taxes")),
        sa.UniqueConstraint("person_id", "fiscal_year", name="uq_register_resident_taxes_year"),
    )

    op.create_table(
        "register_nhi_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("insured_number", sa.String(length=20), nullable=False),
        sa.Column("nhi_household_number", sa.String(length=20), nullable=False),
        sa.Column("acquired_date", sa.Date(), nullable=False),
        sa.Column("lost_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "lost_date IS NULL OR lost_date >= acquired_date",
            name=op.f("ck_register_nhi_memberships_lost_after_acquired"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["register_persons.id"],
            name=op.f("fk_register_nhi_memberships_person_id_register_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_nhi_memberships")),
        sa.UniqueConstraint(
            "insured_number", name=op.f("uq_register_nhi_memberships_insured_number")
        ),
        sa.UniqueConstraint("person_id", name=op.f("uq_register_nhi_memberships_person_id")),
    )

    op.create_table(
        "register_late_elderly_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("insured_number", sa.String(length=8), nullable=False),
        sa.Column("copayment_percent", sa.Integer(), nullable=False),
        sa.Column("acquired_date", sa.Date(), nullable=False),
        sa.Column("lost_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "length(insured_number) = 8",
            name=op.f("ck_register_late_elderly_memberships_insured_number_length"),
        ),
        sa.CheckConstraint(
            "copayment_percent IN (10, 20, 30)",
            name=op.f("ck_register_late_elderly_memberships_copayment_percent"),
        ),
        sa.CheckConstraint(
            "lost_date IS NULL OR lost_date >= acquired_date",
            name=op.f("ck_register_late_elderly_memberships_lost_after_acquired"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["register_persons.id"],
            name=op.f("fk_register_late_elderly_memberships_person_id_register_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_late_elderly_memberships")),
        sa.UniqueConstraint(
            "insured_number", name=op.f("uq_register_late_elderly_memberships_insured_number")
        ),
        sa.UniqueConstraint(
            "person_id", name=op.f("uq_register_late_elderly_memberships_person_id")
        ),
    )

    op.create_table(
        "register_ltc_memberships",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("insured_number", sa.String(length=10), nullable=False),
        sa.Column("care_level", sa.String(length=20), nullable=True),
        sa.Column("certified_until", sa.Date(), nullable=True),
        sa.Column("acquired_date", sa.Date(), nullable=False),
        sa.Column("lost_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "length(insured_number) = 10",
            name=op.f("ck_register_ltc_memberships_insured_number_length"),
        ),
        sa.CheckConstraint(
            "care_level IS NULL OR care_level IN ('support_1', 'support_2', 'care_1', 'care_2',"
            " 'care_3', 'care_4', 'care_5')",
            name=op.f("ck_register_ltc_memberships_care_level"),
        ),
        sa.CheckConstraint(
            "(care_level IS NULL AND certified_until IS NULL)"
            " OR (care_level IS NOT NULL AND certified_until IS NOT NULL)",
            name=op.f("ck_register_ltc_memberships_certification"),
        ),
        sa.CheckConstraint(
            "lost_date IS NULL OR lost_date >= acquired_date",
            name=op.f("ck_register_ltc_memberships_lost_after_acquired"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["register_persons.id"],
            name=op.f("fk_register_ltc_memberships_person_id_register_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_ltc_memberships")),
        sa.UniqueConstraint(
            "insured_number", name=op.f("uq_register_ltc_memberships_insured_number")
        ),
        sa.UniqueConstraint("person_id", name=op.f("uq_register_ltc_memberships_person_id")),
    )

    op.create_table(
        "register_seal_registrations",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("registration_number", sa.String(length=20), nullable=False),
        sa.Column("registered_date", sa.Date(), nullable=False),
        sa.Column("cancelled_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "cancelled_date IS NULL OR cancelled_date >= registered_date",
            name=op.f("ck_register_seal_registrations_cancelled_after_registered"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["register_persons.id"],
            name=op.f("fk_register_seal_registrations_person_id_register_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_seal_registrations")),
        sa.UniqueConstraint("person_id", name=op.f("uq_register_seal_registrations_person_id")),
        sa.UniqueConstraint(
            "registration_number",
            name=op.f("uq_register_seal_registrations_registration_number"),
        ),
    )

    op.create_table(
        "register_child_allowances",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("recipient_id", sa.Integer(), nullable=False),
        sa.Column("started_date", sa.Date(), nullable=False),
        sa.Column("ended_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "ended_date IS NULL OR ended_date >= started_date",
            name=op.f("ck_register_child_allowances_ended_after_started"),
        ),
        sa.ForeignKeyConstraint(
            ["recipient_id"],
            ["register_persons.id"],
            name=op.f("fk_register_child_allowances_recipient_id_register_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_child_allowances")),
        sa.UniqueConstraint("recipient_id", name=op.f("uq_register_child_allowances_recipient_id")),
    )

    op.create_table(
        "register_child_allowance_children",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("allowance_id", sa.Integer(), nullable=False),
        sa.Column("child_id", sa.Integer(), nullable=False),
        sa.ForeignKeyConstraint(
            ["allowance_id"],
            ["register_child_allowances.id"],
            name=op.f(
                "fk_register_child_allowance_children_allowance_id_register_child_allowances"
            ),
        ),
        sa.ForeignKeyConstraint(
            ["child_id"],
            ["register_persons.id"],
            name=op.f("fk_register_child_allowance_children_child_id_register_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_child_allowance_children")),
        sa.UniqueConstraint(
            "allowance_id", "child_id", name="uq_register_child_allowance_children_pair"
        ),
    )

    op.create_table(
        "register_disability_certificates",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("certificate_number", sa.String(length=20), nullable=False),
        sa.Column("kind", sa.String(length=20), nullable=False),
        sa.Column("grade", sa.String(length=10), nullable=False),
        sa.Column("issued_date", sa.Date(), nullable=False),
        sa.Column("valid_until", sa.Date(), nullable=True),
        sa.Column("returned_date", sa.Date(), nullable=True),
        sa.CheckConstraint(
            "kind IN ('physical', 'intellectual', 'mental')",
            name=op.f("ck_register_disability_certificates_kind"),
        ),
        sa.CheckConstraint(
            "returned_date IS NULL OR returned_date >= issued_date",
            name=op.f("ck_register_disability_certificates_returned_after_issued"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["register_persons.id"],
            name=op.f("fk_register_disability_certificates_person_id_register_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_disability_certificates")),
        sa.UniqueConstraint(
            "certificate_number",
            name=op.f("uq_register_disability_certificates_certificate_number"),
        ),
    )
    with op.batch_alter_table("register_disability_certificates") as batch_op:
        batch_op.create_index(
            batch_op.f("ix_register_disability_certificates_person_id"),
            ["person_id"],
            unique=False,
        )

    op.create_table(
        "register_public_fund_accounts",
        sa.Column("id", sa.Integer(), nullable=False),
        sa.Column("person_id", sa.Integer(), nullable=False),
        sa.Column("bank_code", sa.String(length=4), nullable=False),
        sa.Column("branch_code", sa.String(length=3), nullable=False),
        sa.Column("account_type", sa.String(length=10), nullable=False),
        sa.Column("account_number", sa.String(length=7), nullable=False),
        sa.Column("holder_kana", sa.String(length=50), nullable=False),
        sa.Column("yucho_kigou", sa.String(length=5), nullable=True),
        sa.Column("yucho_bangou", sa.String(length=8), nullable=True),
        sa.Column("registered_date", sa.Date(), nullable=False),
        sa.CheckConstraint(
            "account_type IN ('ordinary', 'current', 'savings')",
            name=op.f("ck_register_public_fund_accounts_account_type"),
        ),
        sa.CheckConstraint(
            "length(bank_code) = 4 AND length(branch_code) = 3 AND length(account_number) = 7",
            name=op.f("ck_register_public_fund_accounts_code_lengths"),
        ),
        sa.CheckConstraint(
            "(yucho_kigou IS NULL AND yucho_bangou IS NULL)"
            " OR (yucho_kigou IS NOT NULL AND yucho_bangou IS NOT NULL AND bank_code = '9900')",
            name=op.f("ck_register_public_fund_accounts_yucho"),
        ),
        sa.ForeignKeyConstraint(
            ["person_id"],
            ["register_persons.id"],
            name=op.f("fk_register_public_fund_accounts_person_id_register_persons"),
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_register_public_fund_accounts")),
        sa.UniqueConstraint("person_id", name=op.f("uq_register_public_fund_accounts_person_id")),
    )


def downgrade() -> None:
    op.drop_table("register_public_fund_accounts")
    with op.batch_alter_table("register_disability_certificates") as batch_op:
        batch_op.drop_index(batch_op.f("ix_register_disability_certificates_person_id"))
    op.drop_table("register_disability_certificates")
    op.drop_table("register_child_allowance_children")
    op.drop_table("register_child_allowances")
    op.drop_table("register_seal_registrations")
    op.drop_table("register_ltc_memberships")
    op.drop_table("register_late_elderly_memberships")
    op.drop_table("register_nhi_memberships")
    op.drop_table("register_resident_taxes")
    op.drop_table("register_relations")
    op.drop_table("register_persons")
    op.drop_table("register_households")
