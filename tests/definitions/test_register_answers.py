"""A questionnaire's `register_answers`: answers register values imply, checked and compiled."""

from __future__ import annotations

from datetime import date

import pytest

from portal.definitions.expressions import default_context
from tests.definitions.support import compile_texts, procedure_yaml

PROCEDURE = procedure_yaml(
    """\
    rules:
      applies_if: "stage == 'after'"
    """,
    mode="automatic",
)


def life_event(rules: str) -> str:
    return f"""\
schema: madoguchi/1
kind: life_event
id: sample_event
title: {{ja: 見本, en: Sample}}
questionnaire:
  uses: [deceased_birth_date]
  fields:
    stage:
      type: choice
      label: {{ja: 段階, en: Stage}}
      options:
        - value: before
          label: {{ja: 前, en: Before}}
        - value: after
          label: {{ja: 後, en: After}}
    covered:
      type: yes_no
      label: {{ja: 加入, en: Covered}}
    note:
      type: text
      label: {{ja: メモ, en: Note}}
  derive:
    elderly: "age_on(deceased_birth_date, today()) >= 75"
  steps:
    - id: questions
      fields: [stage, covered, note, deceased_birth_date]
  register_answers:
{rules}
procedures: [sample]
"""


def messages(rules: str) -> list[str]:
    catalogue, issues = compile_texts(PROCEDURE, life_event(rules))
    assert catalogue is None
    return [issue.message for issue in issues]


def test_register_answers_compile_onto_the_life_event() -> None:
    rules = """\
    - field: stage
      value: after
      when: "elderly"
    - field: covered
      value: true
      when: "answered(deceased_birth_date)"
"""
    catalogue, issues = compile_texts(PROCEDURE, life_event(rules))
    assert issues == []
    assert catalogue is not None
    compiled = catalogue.life_event("sample_event").register_answers
    assert [(rule.answer.field, rule.answer.value) for rule in compiled] == [
        ("stage", "after"),
        ("covered", True),
    ]
    context = default_context(date(2026, 11, 27))
    questionnaire = catalogue.life_event("sample_event").questionnaire
    old = questionnaire.with_derived({"deceased_birth_date": date(1948, 2, 10)}, context)
    young = questionnaire.with_derived({"deceased_birth_date": date(1990, 1, 1)}, context)
    assert compiled[0].when.evaluate(old, context) is True
    assert compiled[0].when.evaluate(young, context) is False


@pytest.mark.parametrize(
    ("rule", "message"),
    [
        (
            "{field: missing, value: true, when: 'elderly'}",
            "questionnaire.register_answers[0].field: unknown questionnaire field 'missing'",
        ),
        (
            "{field: stage, value: during, when: 'elderly'}",
            "questionnaire.register_answers[0].value: 'during' is not an option of this field "
            "(before, after)",
        ),
        (
            "{field: covered, value: after, when: 'elderly'}",
            "questionnaire.register_answers[0].value: a yes_no field takes true or false",
        ),
        (
            "{field: note, value: after, when: 'elderly'}",
            "questionnaire.register_answers[0].value: registers can answer only yes_no fields "
            "and single choices",
        ),
        (
            "{field: stage, value: after, when: 'elderly and covered'}",
            "questionnaire.register_answers[0].when: 'covered' is not filled from a register "
            "(no prefill): a register answer rests on register values only",
        ),
        (
            "{field: stage, value: after, when: 'today() > date(\"2026-01-01\")'}",
            "questionnaire.register_answers[0].when: it uses no register value: a register "
            "answer rests on register values only",
        ),
        (
            "{field: stage, value: after, when: 'deceased_birth_date'}",
            "questionnaire.register_answers[0].when: expected a bool expression, got date",
        ),
    ],
)
def test_a_register_answer_that_cannot_hold_is_refused(rule: str, message: str) -> None:
    assert messages(f"    - {rule}\n") == [message]
