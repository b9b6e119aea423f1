"""Checks across definitions: ids, scopes, types, reachability, modes, life events."""

from __future__ import annotations

import pytest

from portal.definitions.source import LintIssue
from tests.definitions.support import (
    VALID,
    compile_alone,
    compile_texts,
    procedure_yaml,
    valid_catalogue,
)

FIELDS = """\
fields:
  host:
    type: yes_no
    label: {ja: 喪主ですか, en: Are you the host}
  cost:
    type: money_jpy
    label: {ja: 費用, en: Cost}
"""
DELIVERY = """\
delivery:
  service_level_days: 5
"""


def messages(issues: list[LintIssue]) -> list[str]:
    return [f"{issue.line}:{issue.column}: {issue.message}" for issue in issues]


def only_issue(*texts: str) -> str:
    catalogue, issues = compile_texts(*texts)
    assert catalogue is None
    assert len(issues) == 1, messages(issues)
    return messages(issues)[0]


def test_a_valid_procedure_compiles_with_its_expressions() -> None:
    catalogue, issues = compile_texts(
        procedure_yaml(
            FIELDS,
            """\
            steps:
              - id: first
                fields: [host]
              - id: second
                show_if: "host"
                fields: [cost]
            rules:
              derive:
                double: "cost * 2"
            """,
            DELIVERY,
        )
    )
    assert issues == []
    assert catalogue is not None
    procedure = catalogue.procedure("sample")
    assert procedure.steps[1].show_if is not None
    assert procedure.steps[1].show_if.source == "host"
    assert [name for name, _ in procedure.rules.derive] == ["double"]


def test_steps_after_an_unconditional_exit_are_unreachable() -> None:
    text = procedure_yaml(
        FIELDS,
        """\
        steps:
          - id: stop
            exit:
              title: {ja: 終わり, en: The end}
              body: {ja: 終わりです。, en: This is the end.}
          - id: later
            fields: [host]
        """,
        DELIVERY,
    )
    assert only_issue(text) == (
        "20:9: steps[1].id: step 'later' is unreachable: the exit step 'stop' before it "
        "always ends the journey"
    )


def test_a_field_in_two_steps_is_refused_at_the_second() -> None:
    text = procedure_yaml(
        FIELDS,
        """\
        steps:
          - id: one
            fields: [host]
          - id: two
            fields: [cost, host]
        """,
        DELIVERY,
    )
    assert only_issue(text) == (
        "19:20: steps[1].fields[1]: field 'host' is already asked in step 'one'"
    )


def test_a_show_if_needing_a_later_derived_answer_is_unreachable() -> None:
    text = procedure_yaml(
        FIELDS,
        """\
        steps:
          - id: one
            show_if: "big"
            fields: [host]
          - id: two
            fields: [cost]
        rules:
          derive:
            big: "cost > 100"
        """,
        DELIVERY,
    )
    assert only_issue(text) == (
        "17:14: steps[0].show_if: step 'one' can never be shown: its show_if needs 'cost', "
        "which is only asked in step 'two'"
    )


def test_counter_procedure_without_guidance_is_refused_at_its_mode() -> None:
    text = procedure_yaml("", mode="counter")
    assert only_issue(text) == (
        "6:7: mode: mode: counter needs `counter:` guidance (where, bring, deadline_days)"
    )


def test_online_procedure_needs_delivery_and_steps() -> None:
    _catalogue, issues = compile_texts(procedure_yaml(""))
    assert messages(issues) == [
        "6:7: mode: an online procedure needs `delivery:`",
        "6:7: mode: an online procedure needs at least one step",
    ]


def test_automatic_procedure_carries_no_delivery() -> None:
    text = procedure_yaml(DELIVERY, mode="automatic")
    assert only_issue(text) == "8:1: delivery: a automatic procedure has no delivery"


def test_unknown_department_and_unknown_dictionary_field() -> None:
    text = procedure_yaml("uses: [applicant_name, nobody]\n" + DELIVERY, mode="automatic")
    text = text.replace("department: insurance_pension", "department: parks")
    _catalogue, issues = compile_texts(text)
    assert messages(issues) == [
        "7:13: department: unknown department 'parks'",
        "8:24: uses[1]: unknown dictionary field 'nobody'",
        "9:1: delivery: a automatic procedure has no delivery",
    ]


def test_default_route_must_come_last() -> None:
    text = procedure_yaml(
        FIELDS,
        """\
        steps:
          - id: one
            fields: [host]
        delivery:
          service_level_days: 5
          routing:
            - default: insurance_pension
            - when: "host"
              queue: insurance_pension.review
        """,
    )
    assert only_issue(text) == (
        "21:16: delivery.routing[0].default: the default route must be the last one"
    )


def test_a_repeatable_group_is_asked_with_a_loop() -> None:
    text = procedure_yaml(
        """\
        fields:
          children:
            type: group
            repeatable: true
            label: {ja: 子, en: Children}
            fields:
              child_name:
                type: text
                label: {ja: 氏名, en: Name}
        steps:
          - id: kids
            fields: [children]
          - id: loop
            loop: child_name
        """,
        DELIVERY,
    )
    _catalogue, issues = compile_texts(text)
    assert messages(issues) == [
        "19:14: steps[0].fields[0]: 'children' is a repeatable group: ask it with `loop: children`",
        "21:11: steps[1].loop: 'child_name': unknown field",
    ]


def test_a_derived_value_may_not_shadow_a_field() -> None:
    text = procedure_yaml(
        FIELDS,
        """\
        steps:
          - id: one
            fields: [host]
        rules:
          derive:
            cost: "1"
        """,
        DELIVERY,
    )
    assert only_issue(text) == "20:5: rules.derive.cost: 'cost' is already a field"


def test_checks_name_known_fields_and_are_boolean() -> None:
    catalogue, issues = compile_texts(
        procedure_yaml(
            FIELDS,
            """\
            steps:
              - id: one
                fields: [host]
            rules:
              checks:
                - id: cheap
                  must: "cost < 'a lot'"
                  fields: [cost, nothing]
                  message: {ja: 高すぎます。, en: Too much.}
            """,
            DELIVERY,
        )
    )
    assert catalogue is None
    assert messages(issues) == [
        "21:19: rules.checks[0].must: '<' needs two numbers or two dates, got number and text",
        "22:22: rules.checks[0].fields[1]: unknown field 'nothing'",
    ]


def life_event(procedures: str = "[sample]", extra: str = "") -> str:
    return f"""\
schema: madoguchi/1
kind: life_event
id: sample_event
title: {{ja: 見本, en: Sample}}
event_date: happened
questionnaire:
  fields:
    happened:
      type: date_jp
      label: {{ja: 日付, en: Date}}
    covered:
      type: yes_no
      allow_unknown: true
      label: {{ja: 加入, en: Covered}}
  steps:
    - id: when
      fields: [happened, covered]
procedures: {procedures}
{extra}"""


def test_a_life_event_listing_an_unknown_procedure_is_refused() -> None:
    text = procedure_yaml(DELIVERY.replace("delivery", "unused_delivery"), mode="automatic")
    _catalogue, issues = compile_texts(
        text.replace("unused_delivery:\n  service_level_days: 5\n", ""),
        life_event("[sample, missing]"),
    )
    assert messages(issues) == ["18:22: procedures[1]: unknown procedure 'missing'"]


def test_one_field_id_with_two_types_in_a_life_event_is_refused() -> None:
    text = procedure_yaml(
        """\
        fields:
          covered:
            type: text
            label: {ja: 加入, en: Covered}
        """,
        mode="automatic",
    )
    _catalogue, issues = compile_texts(text, life_event())
    assert messages(issues) == [
        "18:14: procedures[0]: field 'covered' is text (text) in procedure 'sample' but "
        "yes_no (bool) in this life event: one id is one fact",
    ]


def test_applies_if_sees_the_questionnaire_of_every_life_event_listing_it() -> None:
    text = procedure_yaml(
        """\
        rules:
          applies_if: "covered and elsewhere"
        """,
        mode="automatic",
    )
    _catalogue, issues = compile_texts(text, life_event())
    assert messages(issues) == [
        "9:28: rules.applies_if: unknown name 'elsewhere' (in life event 'sample_event')"
    ]


def test_applies_if_may_use_prefilled_fields_and_values_derived_from_them() -> None:
    text = procedure_yaml(
        """\
        uses: [deceased_birth_date, applicant_phone]
        rules:
          derive:
            born_early: "deceased_birth_date < date('1950-01-01')"
            phone_known: "answered(applicant_phone)"
          applies_if: "covered and born_early"
        """,
        mode="automatic",
    )
    catalogue, issues = compile_texts(text, life_event())
    assert issues == []
    assert catalogue is not None
    bad = text.replace("covered and born_early", "covered and phone_known")
    _catalogue, issues = compile_texts(bad, life_event())
    assert messages(issues) == [
        "13:28: rules.applies_if: unknown name 'phone_known' (in life event 'sample_event')"
    ]


def test_event_date_must_be_a_questionnaire_date() -> None:
    text = procedure_yaml("", mode="automatic")
    event = life_event().replace("event_date: happened", "event_date: covered")
    assert only_issue(text, event) == (
        "5:13: event_date: 'covered' must be a date_jp field of the questionnaire"
    )


def test_departments_need_main_queues_named_after_them() -> None:
    departments = """\
    schema: madoguchi/1
    kind: departments
    departments:
      - id: parks
        name: {ja: 公園課, en: Parks}
        queues:
          - id: parks_review
            name: {ja: 公園課, en: Parks}
          - id: parks.night
            name: {ja: 公園課（夜間）, en: Parks at night}
          - id: parks.night
            name: {ja: 公園課（夜間）, en: Parks at night}
      - id: triage
        name: {ja: 振り分け, en: Triage}
        queues:
          - id: triage
            name: {ja: 振り分け, en: Triage}
    """
    _catalogue, issues = compile_alone(departments)
    assert messages(issues) == [
        "6:5: departments[0].queues: department 'parks' needs a main queue of the same id",
        "7:13: departments[0].queues[0].id: queue 'parks_review' must be 'parks' or start "
        "with 'parks.'",
        "11:13: departments[0].queues[2].id: queue 'parks.night' is listed twice",
        "13:9: departments[1].id: 'triage' is the built-in queue; choose another id",
        "16:13: departments[1].queues[0].id: queue 'triage' is listed twice",
    ]


def test_the_valid_bundle_compiles_every_expression_once() -> None:
    catalogue = valid_catalogue()
    grant = catalogue.procedure("nhi_funeral_grant")
    assert grant.applies_if is not None
    assert grant.applies_if.names == frozenset({"deceased_had_nhi", "deceased_age", "held_funeral"})
    assert set(grant.rules.required_if) == {"heirs.my_number"}
    assert [route.route.target for route in grant.routes] == [
        "insurance_pension.review",
        "insurance_pension",
    ]


@pytest.mark.parametrize("kind", ["dictionary", "departments"])
def test_a_second_dictionary_or_departments_file_is_refused(kind: str) -> None:
    text = f"schema: madoguchi/1\nkind: {kind}\n" + (
        "fields: {}\n"
        if kind == "dictionary"
        else "departments:\n  - id: parks\n    name: {ja: 公園, en: Parks}\n"
        "    queues:\n      - id: parks\n        name: {ja: 公園, en: Parks}\n"
    )
    _catalogue, issues = compile_texts(text)
    assert len(issues) == 1
    assert issues[0].message.startswith(f"kind: a second {kind}")
    assert (issues[0].line, issues[0].column) == (2, 7)


def test_a_dictionary_condition_is_checked_in_each_procedure_using_it() -> None:
    departments = (VALID / "departments.yaml").read_text(encoding="utf-8")
    dictionary = """\
    schema: madoguchi/1
    kind: dictionary
    fields:
      phone:
        type: phone_jp
        label: {ja: 電話, en: Phone}
        required_if: "wants_call"
    """
    uses_condition = procedure_yaml(
        """\
        uses: [phone]
        fields:
          wants_call: {type: yes_no, label: {ja: 電話希望, en: Call me}}
        steps:
          - {id: one, fields: [wants_call, phone]}
        """,
        DELIVERY,
    )
    misses_condition = procedure_yaml(
        "uses: [phone]\nsteps:\n  - {id: one, fields: [phone]}\n",
        DELIVERY,
        procedure_id="other",
    )
    _catalogue, issues = compile_alone(departments, dictionary, uses_condition, misses_condition)
    assert [issue.format() for issue in issues] == [
        "text1.yaml:7:19: fields.phone.required_if: unknown name 'wants_call' "
        "(as used by text3.yaml)"
    ]
