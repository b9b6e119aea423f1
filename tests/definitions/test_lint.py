"""The linter: broken fixtures refused at the exact place, good definitions accepted."""

from __future__ import annotations

from pathlib import Path

import pytest

from portal.definitions.lint import format_issues, lint_paths
from tests.definitions.support import BASE_FILES, BROKEN, VALID

PROCEDURES = Path(__file__).resolve().parents[2] / "procedures"


def lint_broken(name: str) -> list[str]:
    """Lint one broken fixture with the bundle's departments and dictionary."""
    issues = lint_paths([*BASE_FILES, BROKEN / name])
    return [
        f"{Path(issue.path).name}:{issue.line}:{issue.column}: {issue.message}" for issue in issues
    ]


@pytest.mark.parametrize(
    ("fixture", "expected"),
    [
        (
            "bad_unknown_field.yaml",
            "bad_unknown_field.yaml:15:30: steps[0].fields[1]: unknown field 'funeral_dat'",
        ),
        (
            "bad_expression_type.yaml",
            "bad_expression_type.yaml:19:41: rules.checks[0].must: "
            "'+' needs two numbers or two texts, got date and number",
        ),
        (
            "bad_unreachable_step.yaml",
            "bad_unreachable_step.yaml:18:14: steps[0].show_if: step 'host' can never be shown: "
            "its show_if needs 'host_is_applicant', which is only asked in step 'applicant'",
        ),
        (
            "bad_missing_english.yaml",
            "bad_missing_english.yaml:12:5: fields.funeral_date.label: missing required key 'en'",
        ),
        (
            "bad_my_number_purpose.yaml",
            "bad_my_number_purpose.yaml:10:3: fields.deceased_my_number: field "
            "'deceased_my_number' handles a My Number and needs `purpose: {ja, en}`",
        ),
        (
            "bad_unknown_queue.yaml",
            "bad_unknown_queue.yaml:15:14: delivery.routing[0].queue: "
            "unknown queue 'insurance_pension.reveiw'",
        ),
    ],
)
def test_broken_fixture_is_refused_at_the_exact_place(fixture: str, expected: str) -> None:
    assert lint_broken(fixture) == [expected]


def test_a_derive_cycle_is_reported_at_each_value_in_it() -> None:
    assert lint_broken("bad_derive_cycle.yaml") == [
        "bad_derive_cycle.yaml:18:5: rules.derive.days_waited: derived value 'days_waited' "
        "depends on itself: days_waited → late_days → days_waited",
        "bad_derive_cycle.yaml:19:5: rules.derive.late_days: derived value 'late_days' "
        "depends on itself: late_days → days_waited → late_days",
    ]


def test_every_broken_fixture_is_covered() -> None:
    tested = {
        "bad_unknown_field.yaml",
        "bad_expression_type.yaml",
        "bad_unreachable_step.yaml",
        "bad_missing_english.yaml",
        "bad_my_number_purpose.yaml",
        "bad_unknown_queue.yaml",
        "bad_derive_cycle.yaml",
    }
    assert {path.name for path in BROKEN.glob("*.yaml")} == tested


def test_the_valid_bundle_has_no_issues_and_its_scenarios_pass() -> None:
    assert lint_paths([VALID]) == []


def test_a_failing_scenario_is_reported_at_its_expectation(tmp_path: Path) -> None:
    text = (VALID / "procedures" / "nhi-loss.yaml").read_text(encoding="utf-8")
    # The last expectation of the file is the queue of the "card lost" scenario.
    head, _, tail = text.rpartition("queue: insurance_pension.review")
    bundle = tmp_path / "bundle"
    for path in VALID.rglob("*.yaml"):
        target = bundle / path.relative_to(VALID)
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    (bundle / "procedures" / "nhi-loss.yaml").write_text(
        head + "queue: insurance_pension" + tail, encoding="utf-8"
    )
    line = head.count("\n") + 1
    value_column = len(head) - head.rfind("\n") + len("queue: ")
    issues = lint_paths([bundle])
    assert [(Path(issue.path).name, issue.line, issue.column) for issue in issues] == [
        ("nhi-loss.yaml", line, value_column)
    ]
    assert issues[0].message == (
        "scenario 'card lost': expected queue insurance_pension, got insurance_pension.review"
    )


def test_schema_errors_stop_before_cross_file_checks(tmp_path: Path) -> None:
    broken = tmp_path / "broken.yaml"
    broken.write_text("schema: madoguchi/1\nkind: procedure\nid: x\n", encoding="utf-8")
    issues = lint_paths([*BASE_FILES, broken])
    assert [issue.format() for issue in issues] == [
        f"{broken}:1:1: (file): missing required key 'title'",
        f"{broken}:1:1: (file): missing required key 'summary'",
        f"{broken}:1:1: (file): missing required key 'department'",
    ]


def test_format_issues_gives_one_line_each() -> None:
    issues = lint_paths([*BASE_FILES, BROKEN / "bad_unknown_queue.yaml"])
    assert format_issues(issues).count("\n") == len(issues) - 1
    assert format_issues(issues).endswith("unknown queue 'insurance_pension.reveiw'")


def test_the_shipped_procedures_lint_clean() -> None:
    assert PROCEDURES.is_dir(), "procedures/ is missing"
    assert format_issues(lint_paths([PROCEDURES])) == ""
