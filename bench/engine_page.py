"""Time one page of a large form: validate a step, its checks, and find the next step.

Generates a procedure with 100 fields and 50 rules (show_if, checks, derived values)
in memory, loads and compiles it as the application does, then evaluates one page
many times. Target: under 2 ms per page.

    .venv/bin/python bench/engine_page.py [iterations]
"""

from __future__ import annotations

import statistics
import sys
import time
from datetime import date

from portal.definitions.compiler import compile_catalogue
from portal.definitions.expressions import default_context
from portal.definitions.journey import Journey
from portal.definitions.loader import load_text

FIELDS = 100
FIELDS_PER_STEP = 5
SHOW_IFS = 15
CHECKS = 20
DERIVED = 15

DEPARTMENTS = """\
schema: madoguchi/1
kind: departments
departments:
  - id: bench
    name: {ja: 試験課, en: Bench Division}
    queues:
      - id: bench
        name: {ja: 試験課, en: Bench Division}
"""
DICTIONARY = """\
schema: madoguchi/1
kind: dictionary
fields:
  applicant_name:
    type: person_name_ja
    label: {ja: 氏名, en: Name}
"""
KINDS = ("number", "money_jpy", "date_jp", "yes_no", "text")


def field_yaml(index: int) -> str:
    """One field of the generated procedure; the kind cycles through KINDS."""
    kind = KINDS[index % len(KINDS)]
    lines = [
        f"  f{index}:",
        f"    type: {kind}",
        f"    label: {{ja: 項目{index}, en: Item {index}}}",
    ]
    if kind == "number":
        lines.append("    maximum: 1000000")
    return "\n".join(lines)


def raw_value(index: int) -> str:
    """What a resident would type into field `index`."""
    kind = KINDS[index % len(KINDS)]
    return {
        "number": "１２",
        "money_jpy": "1,234円",
        "date_jp": "令和8年4月1日",
        "yes_no": "yes",
        "text": "テキスト",
    }[kind]


def answer(index: int) -> object:
    """The parsed value of field `index`."""
    kind = KINDS[index % len(KINDS)]
    return {
        "number": 12,
        "money_jpy": 1234,
        "date_jp": date(2026, 4, 1),
        "yes_no": True,
        "text": "テキスト",
    }[kind]


def procedure_yaml() -> str:
    """A procedure with FIELDS fields in steps of FIELDS_PER_STEP and 50 rules."""
    fields = "\n".join(field_yaml(index) for index in range(FIELDS))
    steps = []
    for step in range(FIELDS // FIELDS_PER_STEP):
        members = ", ".join(f"f{step * FIELDS_PER_STEP + k}" for k in range(FIELDS_PER_STEP))
        lines = [f"  - id: s{step}", f"    fields: [{members}]"]
        if 0 < step <= SHOW_IFS:
            # A yes/no field of the previous step decides whether this step is shown.
            lines.append(f'    show_if: "f{(step - 1) * FIELDS_PER_STEP + 3} or d{step - 1} > 0"')
        steps.append("\n".join(lines))
    derive = "\n".join(f'    d{k}: "f{k * 5} + f{k * 5 + 1} * 2"' for k in range(DERIVED))
    checks = "\n".join(
        f"""    - id: c{k}
      must: "f{k * 5 + 2} <= add_days(today(), {k}) and d{k % DERIVED} >= f{k * 5}"
      fields: [f{k * 5 + 2}]
      message: {{ja: 確認してください。, en: Check this.}}"""
        for k in range(CHECKS)
    )
    return f"""\
schema: madoguchi/1
kind: procedure
id: bench_procedure
title: {{ja: 試験, en: Bench}}
summary: {{ja: 試験の手続き, en: A procedure for the benchmark}}
department: bench
fields:
{fields}
steps:
{chr(10).join(steps)}
rules:
  derive:
{derive}
  checks:
{checks}
delivery:
  service_level_days: 5
  routing:
    - default: bench
"""


def main(iterations: int) -> None:
    """Load the generated procedure, then time one page `iterations` times."""
    started = time.perf_counter()
    files = [
        load_text(DEPARTMENTS, "departments.yaml"),
        load_text(DICTIONARY, "dictionary.yaml"),
        load_text(procedure_yaml(), "bench.yaml"),
    ]
    catalogue, issues = compile_catalogue(files)
    if catalogue is None:
        raise SystemExit("\n".join(issue.format() for issue in issues))
    load_ms = (time.perf_counter() - started) * 1000
    procedure = catalogue.procedure("bench_procedure")
    rules = (
        len(procedure.rules.derive)
        + len(procedure.rules.checks)
        + sum(1 for step in procedure.steps if step.show_if is not None)
    )
    journey = Journey.for_procedure(procedure)
    context = default_context(date(2026, 11, 27))
    answers = {f"f{index}": answer(index) for index in range(FIELDS)}
    page_step = FIELDS // FIELDS_PER_STEP // 2
    step_key = f"bench_procedure.s{page_step}"
    raw = {
        f"f{index}": raw_value(index)
        for index in range(page_step * FIELDS_PER_STEP, (page_step + 1) * FIELDS_PER_STEP)
    }
    timings: list[float] = []
    for _ in range(iterations):
        start = time.perf_counter_ns()
        result = journey.validate_step(step_key, raw, answers, context)
        merged = {**answers, **result.values}
        journey.next_step(step_key, merged, context)
        timings.append((time.perf_counter_ns() - start) / 1e6)
    if not result.ok:
        raise SystemExit(f"the benchmark page should be valid: {result.errors}")
    timings.sort()
    print(f"definition: {FIELDS} fields, {rules} rules; loaded and compiled in {load_ms:.1f} ms")
    print(f"page (validate_step + checks + next_step), {iterations} iterations:")
    print(f"  mean {statistics.fmean(timings):.3f} ms")
    print(f"  p50  {timings[len(timings) // 2]:.3f} ms")
    print(f"  p99  {timings[int(len(timings) * 0.99) - 1]:.3f} ms")


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 5000)
