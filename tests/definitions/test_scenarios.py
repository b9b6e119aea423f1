"""Scenarios written in definitions: every unmet expectation is an issue at its place."""

from __future__ import annotations

import textwrap
from pathlib import Path

from portal.definitions.lint import lint_paths
from tests.definitions.support import BASE_FILES, procedure_yaml

PROCEDURE = """\
fields:
  cost: {type: money_jpy, label: {ja: 費用, en: Cost}}
  host: {type: yes_no, label: {ja: 喪主, en: Host}}
steps:
  - {id: host_step, fields: [host]}
  - id: stop
    show_if: "not host"
    exit:
      title: {ja: 終わり, en: The end}
      body: {ja: 終わりです。, en: This is the end.}
  - {id: cost_step, fields: [cost]}
rules:
  checks:
    - id: positive
      must: "cost > 0"
      fields: [cost]
      message: {ja: 金額を入力してください。, en: Enter an amount.}
delivery:
  service_level_days: 5
  routing:
    - when: "cost > 100"
      queue: insurance_pension.review
    - default: insurance_pension
  documents:
    - {id: receipt, label: {ja: 領収書, en: Receipt}, required_if: "cost > 10"}
"""


def lint(tmp_path: Path, *texts: str) -> list[str]:
    paths = []
    for index, text in enumerate(texts):
        path = tmp_path / f"file{index}.yaml"
        path.write_text(text, encoding="utf-8")
        paths.append(path)
    return [
        f"{Path(issue.path).name}:{issue.line}:{issue.column}: {issue.message}"
        for issue in lint_paths([*BASE_FILES, *paths])
    ]


def with_scenarios(scenarios: str) -> str:
    return procedure_yaml(
        PROCEDURE, "scenarios:\n" + textwrap.indent(textwrap.dedent(scenarios), "  ")
    )


def test_passing_scenarios_give_no_issue(tmp_path: Path) -> None:
    text = with_scenarios(
        """\
        - name: host with a big bill
          answers: {host: true, cost: 500}
          expect:
            applies: true
            route: [host_step, cost_step]
            exit: null
            queue: insurance_pension.review
            documents: [receipt]
            checks: []
        - name: not the host
          answers: {host: false, cost: 0}
          expect: {route: [host_step, stop], exit: stop, documents: [], checks: []}
        """
    )
    assert lint(tmp_path, text) == []


def test_each_unmet_expectation_is_reported_where_it_is_written(tmp_path: Path) -> None:
    text = with_scenarios(
        """\
        - name: wrong on every count
          answers: {host: true, cost: 0}
          expect:
            route: [host_step]
            exit: stop
            queue: insurance_pension.review
            documents: [receipt]
            checks: []
        """
    )
    assert lint(tmp_path, text) == [
        "file0.yaml:37:14: scenario 'wrong on every count': expected route [host_step], "
        "got [host_step, cost_step]",
        "file0.yaml:38:13: scenario 'wrong on every count': expected exit stop, got null",
        "file0.yaml:39:14: scenario 'wrong on every count': expected queue "
        "insurance_pension.review, got insurance_pension",
        "file0.yaml:40:18: scenario 'wrong on every count': expected documents [receipt], got []",
        "file0.yaml:41:15: scenario 'wrong on every count': expected checks [], got [positive]",
    ]


def test_answers_must_be_known_fields_of_the_right_type(tmp_path: Path) -> None:
    text = with_scenarios(
        """\
        - name: bad answers
          answers: {host: maybe, colour: red}
          expect: {queue: insurance_pension}
        """
    )
    assert lint(tmp_path, text) == [
        "file0.yaml:35:21: scenario 'bad answers': host: expected true or false, got 'maybe'",
        "file0.yaml:35:28: scenario 'bad answers': unknown field 'colour'",
    ]


LIFE_EVENT = """\
schema: madoguchi/1
kind: life_event
id: sample_event
title: {ja: 見本, en: Sample}
event_date: happened
questionnaire:
  fields:
    happened: {type: date_jp, label: {ja: 日付, en: Date}}
    covered: {type: yes_no, allow_unknown: true, label: {ja: 加入, en: Covered}}
  steps:
    - {id: when, fields: [happened, covered]}
procedures: [sample]
scenarios:
  - name: covered
    answers: {happened: 2026-11-20, covered: true}
    expect: {route: [when], online: [sample], may_apply: []}
  - name: not sure
    answers: {covered: unknown}
    expect: {online: [sample], may_apply: []}
"""


def test_life_event_scenarios_check_the_lists(tmp_path: Path) -> None:
    procedure = procedure_yaml(
        PROCEDURE.replace("rules:\n", 'rules:\n  applies_if: "covered"\n'),
        "scenarios:\n"
        "  - name: applies from the questionnaire\n"
        "    answers: {covered: true}\n"
        "    expect: {applies: true}\n"
        "  - name: named life event\n"
        "    life_event: elsewhere\n"
        "    answers: {covered: unknown}\n"
        "    expect: {applies: unknown}\n",
    )
    assert lint(tmp_path, procedure, LIFE_EVENT) == [
        "file0.yaml:39:17: scenario 'named life event': life event 'elsewhere' does not list "
        "'sample'",
        "file1.yaml:19:22: scenario 'not sure': expected online [sample], got []",
        "file1.yaml:19:43: scenario 'not sure': expected may_apply [], got [sample]",
    ]
