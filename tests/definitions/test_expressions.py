"""Tests for the expression language of procedure definitions: parse, type-check, evaluate."""

from __future__ import annotations

import contextlib
import copy
import itertools
import pickle
from datetime import date, datetime
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from portal.definitions.expressions import (
    BOOL,
    DATE,
    MAX_DEPTH,
    NUMBER,
    TEXT,
    UNKNOWN,
    CompiledExpression,
    EvalContext,
    ExpressionError,
    ListType,
    RecordType,
    Type,
    compile_expression,
    default_context,
    is_true,
    japanese_business_day,
    referenced_names,
)

TODAY = date(2026, 4, 1)
CONTEXT = default_context(TODAY)
CHILD = RecordType({"name": TEXT, "birth_date": DATE, "income": NUMBER, "disabled": BOOL})
SCOPE: dict[str, Type] = {
    "flag": BOOL,
    "other_flag": BOOL,
    "amount": NUMBER,
    "rent": NUMBER,
    "name": TEXT,
    "birth_date": DATE,
    "move_date": DATE,
    "tags": ListType(TEXT),
    "children": ListType(CHILD),
    "applicant": CHILD,
    # Names that start with keywords must stay names.
    "order": NUMBER,
    "notes": TEXT,
    "index": NUMBER,
    "android": BOOL,
    "true_value": BOOL,
}
T, F, U = True, False, UNKNOWN


def evaluate(source: str, values: dict[str, object] | None = None, context: EvalContext = CONTEXT):
    """Compile against SCOPE and evaluate once."""
    return compile_expression(source, SCOPE).evaluate(values or {}, context)


def compile_error(source: object, scope=SCOPE, expect: Type | None = None) -> ExpressionError:
    """Compile and return the ExpressionError it must raise."""
    with pytest.raises(ExpressionError) as caught:
        compile_expression(source, scope, expect=expect)  # type: ignore[arg-type]
    return caught.value


def child(**fields: object) -> dict[str, object]:
    return dict(fields)


def assert_result(result: object, expected: object) -> None:
    """Check a result exactly: UNKNOWN by identity, anything else by value and class."""
    if expected is UNKNOWN:
        assert result is UNKNOWN
    else:
        assert result == expected
        assert type(result) is type(expected)


# --------------------------------------------------------------------------- parser


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("1 + 2 * 3", 7),
        ("(1 + 2) * 3", 9),
        ("10 - 2 - 3", 5),  # left-associative, not 10 - (2 - 3) = 11
        ("8 / 2 / 2", 2),  # left-associative, not 8 / (2 / 2) = 8
        ("-2 * 3 + 1", -5),
        ("10 - -2", 12),
        ("-(1 - 3)", 2),
        ("2 * 3 - 4 / 2", 4),
        ("true or false and false", True),  # and binds tighter than or
        ("not false and false", False),  # not binds tighter than and
        ("not 1 == 2", True),  # comparison binds tighter than not
        ("1 + 1 == 2 and 2 * 2 == 4", True),
        ("not not true", True),
        ("false or not false", True),
        ("1 + 2 in [3, 4]", True),
        ("1 + 2 not in [3, 4]", False),
    ],
)
def test_precedence_and_associativity(source: str, expected: object) -> None:
    assert evaluate(source) == expected


@pytest.mark.parametrize(
    ("source", "expected", "python_type"),
    [
        ("12", 12, int),
        ("007", 7, int),
        ("1.5", Decimal("1.5"), Decimal),
        ("0.10", Decimal("0.10"), Decimal),
        ("999999999999999999", 999999999999999999, int),
        ('"double"', "double", str),
        ("'single'", "single", str),
        ("''", "", str),
        ("true", True, bool),
        ("false", False, bool),
        ('["a", "b"]', ["a", "b"], list),
        ('date("2026-04-01")', date(2026, 4, 1), date),
        ('date("2024-02-29")', date(2024, 2, 29), date),
    ],
)
def test_literals(source: str, expected: object, python_type: type) -> None:
    result = evaluate(source)
    assert result == expected
    assert type(result) is python_type


def test_decimal_literals_are_exact() -> None:
    assert evaluate("0.1 + 0.2 == 0.3") is True
    assert evaluate("7 / 2") == Decimal("3.5")


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (r"'it\'s'", "it's"),
        (r'"say \"hi\""', 'say "hi"'),
        (r'"back\\slash"', "back\\slash"),
        (r'"two\nlines"', "two\nlines"),
        (r"'mixed \" quote'", 'mixed " quote'),
        (r'"東京都 千代田区"', "東京都 千代田区"),
    ],
)
def test_string_escapes(source: str, expected: str) -> None:
    assert evaluate(source) == expected


@given(st.text(max_size=60))
def test_any_text_round_trips_through_a_quoted_literal(text: str) -> None:
    quoted = '"' + text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    assert evaluate(quoted) == text


def test_names_that_start_with_keywords_are_names() -> None:
    values = {"order": 2, "index": 3, "notes": "n", "android": True, "true_value": False}
    assert evaluate("order + index == 5 and notes == 'n' and android and not true_value", values)


def test_full_width_space_counts_as_whitespace() -> None:
    assert evaluate("1\u3000+\u30002") == 3


@pytest.mark.parametrize(
    ("source", "message", "line", "column"),
    [
        ("amount )", "unexpected ')'", 1, 8),
        ("amount +", "expected an expression", 1, 9),
        ("(amount", "missing ')'", 1, 8),
        ("[1, 2", "missing ']'", 1, 6),
        ("amount rent", "unexpected name 'rent'", 1, 8),
        ("1 + * 2", "expected an expression, found '*'", 1, 5),
        ("(and)", "expected an expression, found 'and'", 1, 2),
        ('name == "abc', "unterminated string", 1, 9),
        ("amount = 1", "'=='", 1, 8),
        ("flag && other_flag", "'and'", 1, 6),
        ("amount # 2", "unexpected character '#'", 1, 8),
        ("flag and\n  (other_flag or )", "expected an expression, found ')'", 2, 18),
        ("flag\n\n   @", "unexpected character '@'", 3, 4),
        ("amount\n  < rent\n  < 3", "comparisons cannot be chained", 3, 3),
        ("amount < rent < 3", "comparisons cannot be chained", 1, 15),
        ("1 == 1 == 1", "comparisons cannot be chained", 1, 8),
        ("   ", "expression is empty", 1, 1),
        ("'\\q'", "unknown escape", 1, 2),
        ("'ab\\t'", "unknown escape", 1, 4),
        ("count(c in children: true, 1)", "only argument", 1, 7),
        ("count(c: true)", "count(x in group: ...)", 1, 7),
        ("[]", "empty list", 1, 1),
    ],
)
def test_syntax_errors_have_a_message_and_position(
    source: str, message: str, line: int, column: int
) -> None:
    error = compile_error(source)
    assert message in error.message
    assert (error.line, error.column) == (line, column)
    assert f"line {line}, column {column}" in str(error)


def test_referenced_names_parses_without_type_checking() -> None:
    source = "any(c in children: c.income > limit) and unknown_function(other) or c"
    assert referenced_names(source) == {"children", "limit", "other", "c"}
    with pytest.raises(ExpressionError):
        referenced_names("a and")


def test_nested_quantifiers_bind_their_own_names() -> None:
    source = "any(c in children: all(d in children: d.income <= c.income or flag))"
    assert referenced_names(source) == {"children", "flag"}
    compiled = compile_expression(source, SCOPE, expect=BOOL)
    assert compiled.names == {"children", "flag"}
    values = {"children": [child(income=1), child(income=3)], "flag": False}
    assert compiled.evaluate(values, CONTEXT) is True


# --------------------------------------------------------------------------- type checker


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("amount + 1", NUMBER),
        ("name + '様'", TEXT),
        ("today()", DATE),
        ("tags", ListType(TEXT)),
        ('["a", name]', ListType(TEXT)),
        ("children", ListType(CHILD)),
        ("applicant", CHILD),
        ("applicant.birth_date", DATE),
        ("count(children)", NUMBER),
        ("count(c in children: c.disabled)", NUMBER),
        ("any(c in children: c.disabled)", BOOL),
        ("sum(c in children: c.income)", NUMBER),
        ("max(c in children: c.birth_date)", DATE),
        ("min(c in children: c.income)", NUMBER),
        ("age_on(birth_date, today())", NUMBER),
        ("add_business_days(move_date, 14)", DATE),
        ("is_business_day(move_date)", BOOL),
        ("len(tags) + len(name)", NUMBER),
        ("answered(children)", BOOL),
        ("contains(tags, 'x')", BOOL),
        ("count(t in tags: t == 'x')", NUMBER),
    ],
)
def test_inferred_types(source: str, expected: Type) -> None:
    assert compile_expression(source, SCOPE).type == expected


@pytest.mark.parametrize(
    ("source", "message", "column"),
    [
        ("birth_date > 3", "'>' needs two numbers or two dates, got date and number", 12),
        ('"a" + 1', "'+' needs two numbers or two texts, got text and number", 5),
        ("flag + 1", "'+' needs two numbers or two texts, got bool and number", 6),
        ("name - name", "'-' needs two numbers, got text and text", 6),
        ("not 5", "'not' needs a bool, got number", 5),
        ("flag and 1", "'and' needs a bool, got number", 10),
        ("-name", "'-' needs a number, got text", 2),
        ("birth_date == name", "cannot compare date with text", 12),
        ("amount == '3'", "cannot compare number with text", 8),
        ("name < 'b'", "'<' needs two numbers or two dates, got text and text", 6),
        ("flag < true", "'<' needs two numbers or two dates", 6),
        ("name in name", "'in' needs a list, got text", 6),
        ("amount in tags", "'in' looks for a number in a list of text", 8),
        ("contains(name, 'a')", "'contains' needs a list, got text", 1),
        ("name.upper", "'.upper' needs a record, got text", 6),
        ("tags.first", "'.first' needs a record, got list of text", 6),
        ("applicant.income.value", "'.value' needs a record, got number", 18),
        ("applicant.incom", "record has no field 'incom' (did you mean 'income'?)", 11),
        ("birth_dat", "unknown name 'birth_dat' (did you mean 'birth_date'?)", 1),
        ("today", "unknown name 'today'", 1),
        ("flag and todays()", "unknown function 'todays' (did you mean 'today'?)", 10),
        ("eval('1')", "unknown function 'eval'", 1),
        ("birth_date()", "unknown function 'birth_date'", 1),
        ("age_on(birth_date)", "age_on() takes 2 arguments, got 1", 1),
        ("today(1)", "today() takes 0 arguments, got 1", 1),
        ("len(name, tags)", "len() takes 1 argument, got 2", 1),
        ("age_on(birth_date, 3)", "argument 2 of age_on() needs a date, got number", 20),
        ("add_days(3, birth_date)", "argument 1 of add_days() needs a date, got number", 10),
        ("len(amount)", "len() needs a text or a list, got number", 5),
        ("['a', 1]", "list items must all be text, this one is number", 7),
        ("date(name)", "date() takes a string literal", 6),
        ("date('2026-02-30')", "is not a date", 6),
        ("date('20260401')", "is not a date", 6),
        ("date('2026-W14-3')", "is not a date", 6),
        ("count(amount)", "count() needs a list, got number", 7),
        ("count(c in children)", "lacks a condition", 7),
        ("any(children)", "any() needs the form any(x in group: ...)", 1),
        ("any(c in name: true)", "'c in ...' needs a list, got text", 10),
        ("any(c in children: c.income)", "any() needs a bool after ':', got number", 20),
        ("sum(c in children: c.name)", "sum() needs a number after ':', got text", 20),
        ("min(c in children: c.name)", "min() needs a number or date after ':', got text", 20),
        ("any(flag in children: true)", "'flag' is already a name here", 5),
        ("any(c in children: any(c in children: true))", "'c' is already a name here", 24),
        ("len(c in tags: true)", "len() does not take 'x in group: ...'", 1),
        ("c.income > 1", "unknown name 'c'", 1),
    ],
)
def test_type_errors(source: str, message: str, column: int) -> None:
    error = compile_error(source)
    assert message in error.message
    assert (error.line, error.column) == (1, column)


def test_binder_variable_is_not_visible_outside_its_quantifier() -> None:
    error = compile_error("any(c in children: c.disabled) and c.disabled")
    assert error.message == "unknown name 'c'"
    assert error.column == 36


@pytest.mark.parametrize(
    ("source", "expect", "message"),
    [
        ("amount + 1", BOOL, "expected a bool expression, got number"),
        ("flag", NUMBER, "expected a number expression, got bool"),
        ("tags", ListType(NUMBER), "expected a list of number expression, got list of text"),
    ],
)
def test_expected_type_is_enforced(source: str, expect: Type, message: str) -> None:
    assert compile_error(source, expect=expect).message == message


def test_expected_type_accepts_matching_expression() -> None:
    compiled = compile_expression("amount > 1", SCOPE, expect=BOOL)
    assert isinstance(compiled, CompiledExpression)
    assert compiled.source == "amount > 1"
    assert compiled.names == {"amount"}


def test_non_text_source_is_refused() -> None:
    # YAML turns `show_if: true` into a Python bool, which is not an expression.
    assert compile_error(True).message == "expression must be text, got bool"


def test_record_types_compare_by_fields() -> None:
    assert RecordType({"a": TEXT}) == RecordType({"a": TEXT})
    assert hash(RecordType({"a": TEXT})) == hash(RecordType({"a": TEXT}))
    assert RecordType({"a": TEXT}) != RecordType({"a": NUMBER})
    assert str(ListType(CHILD)) == "list of record"


# --------------------------------------------------------------------------- three-valued logic

AND_TABLE = [
    (T, T, T), (T, F, F), (T, U, U),
    (F, T, F), (F, F, F), (F, U, F),
    (U, T, U), (U, F, F), (U, U, U),
]  # fmt: skip
OR_TABLE = [
    (T, T, T), (T, F, T), (T, U, T),
    (F, T, T), (F, F, F), (F, U, U),
    (U, T, T), (U, F, U), (U, U, U),
]  # fmt: skip


@pytest.mark.parametrize(("a", "b", "expected"), AND_TABLE)
def test_and_truth_table(a: object, b: object, expected: object) -> None:
    assert evaluate("flag and other_flag", {"flag": a, "other_flag": b}) is expected


@pytest.mark.parametrize(("a", "b", "expected"), OR_TABLE)
def test_or_truth_table(a: object, b: object, expected: object) -> None:
    assert evaluate("flag or other_flag", {"flag": a, "other_flag": b}) is expected


@pytest.mark.parametrize(("a", "expected"), [(T, F), (F, T), (U, U)])
def test_not_truth_table(a: object, expected: object) -> None:
    assert evaluate("not flag", {"flag": a}) is expected


@pytest.mark.parametrize(("a", "b"), list(itertools.product([T, F, U], repeat=2)))
def test_de_morgan_laws(a: object, b: object) -> None:
    values = {"flag": a, "other_flag": b}
    assert evaluate("not (flag and other_flag)", values) is evaluate(
        "not flag or not other_flag", values
    )
    assert evaluate("not (flag or other_flag)", values) is evaluate(
        "not flag and not other_flag", values
    )


@pytest.mark.parametrize("a", [T, F, U])
def test_contradiction_is_never_true_and_excluded_middle_never_false(a: object) -> None:
    assert evaluate("flag and not flag", {"flag": a}) is not True
    assert evaluate("flag or not flag", {"flag": a}) is not False


def _rank(value: object) -> int:
    return 1 if value is UNKNOWN else 2 if value is True else 0


_FROM_RANK = {0: False, 1: UNKNOWN, 2: True}


def _formulas() -> st.SearchStrategy[tuple[str, object]]:
    """Random formulas over flag/other_flag/android with a Kleene reference meaning."""
    leaves = st.sampled_from(["flag", "other_flag", "android", "true", "false"])

    def extend(children: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
        return st.one_of(
            st.tuples(children, children).map(lambda pair: f"({pair[0]} and {pair[1]})"),
            st.tuples(children, children).map(lambda pair: f"({pair[0]} or {pair[1]})"),
            children.map(lambda inner: f"(not {inner})"),
        )

    return st.recursive(leaves, extend, max_leaves=12)


def _reference(source: str, assignment: dict[str, object]) -> object:
    """Evaluate a formula of _formulas by ranks (False < UNKNOWN < True): min, max, 2 - x."""
    ranks = {name: _rank(value) for name, value in assignment.items()}
    ranks.update({"true": 2, "false": 0})
    tokens = source.replace("(", " ( ").replace(")", " ) ").split()
    position = 0

    def parse() -> int:
        nonlocal position
        token = tokens[position]
        position += 1
        if token != "(":
            return ranks[token]
        if tokens[position] == "not":
            position += 1
            result = 2 - parse()
        else:
            left = parse()
            word = tokens[position]
            position += 1
            right = parse()
            result = min(left, right) if word == "and" else max(left, right)
        position += 1  # the closing parenthesis
        return result

    return _FROM_RANK[parse()]


@settings(max_examples=150, deadline=None)
@given(_formulas())
def test_random_formulas_follow_kleene_logic(source: str) -> None:
    compiled = compile_expression(source, SCOPE, expect=BOOL)
    for a, b, c in itertools.product([T, F, U], repeat=3):
        assignment = {"flag": a, "other_flag": b, "android": c}
        assert compiled.evaluate(assignment, CONTEXT) is _reference(source, assignment)


@pytest.mark.parametrize(
    "source",
    [
        "amount > 1",
        "amount + 1",
        "-amount",
        "amount / 2",
        "name == 'a'",
        "name + 'x'",
        "len(name)",
        "birth_date < today()",
        "age_on(birth_date, today())",
        "add_days(birth_date, 1)",
        "add_days(move_date, amount)",
        "is_business_day(birth_date)",
        "name in tags",
        "'a' in tags",
        "tags == ['a']",
        "applicant.income",
        "applicant.income > 3",
        "any(c in children: c.disabled)",
        "sum(c in children: c.income)",
        "max(c in children: c.income)",
    ],
)
def test_unknown_operands_give_unknown(source: str) -> None:
    assert evaluate(source, {}) is UNKNOWN


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("answered(name)", False),
        ("answered(amount)", False),
        ("answered(tags)", False),
        ("count(children)", 0),
        ("count(c in children: c.disabled)", 0),
        ("len(tags)", 0),
    ],
)
def test_some_functions_are_definite_on_unanswered_values(source: str, expected: object) -> None:
    assert_result(evaluate(source, {}), expected)


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"name": "太郎"}, True),
        ({"name": ""}, False),
        ({"name": None}, False),
        ({"name": UNKNOWN}, False),
        ({}, False),
    ],
)
def test_answered_text(values: dict[str, object], expected: bool) -> None:
    assert evaluate("answered(name)", values) is expected


def test_answered_counts_false_and_zero_as_answers() -> None:
    assert evaluate("answered(flag) and answered(amount)", {"flag": False, "amount": 0}) is True
    assert evaluate("answered(tags)", {"tags": ["a"]}) is True


def test_none_and_missing_values_are_unanswered() -> None:
    assert evaluate("amount > 1", {"amount": None}) is UNKNOWN
    assert evaluate("applicant.income > 1", {"applicant": {"income": None}}) is UNKNOWN
    assert evaluate("applicant.income > 1", {"applicant": {}}) is UNKNOWN


def test_is_true_only_accepts_true() -> None:
    assert is_true(True)
    assert not is_true(False)
    assert not is_true(UNKNOWN)
    assert not is_true(1)


def test_unknown_refuses_truthiness_and_survives_copying() -> None:
    with pytest.raises(TypeError, match="is_true"):
        bool(UNKNOWN)
    assert copy.copy(UNKNOWN) is UNKNOWN
    assert copy.deepcopy(UNKNOWN) is UNKNOWN
    assert pickle.loads(pickle.dumps(UNKNOWN)) is UNKNOWN  # noqa: S301 - our own object
    assert repr(UNKNOWN) == "UNKNOWN"


# --------------------------------------------------------------------------- evaluation


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ('add_months(date("2026-01-31"), 1)', date(2026, 2, 28)),
        ('add_months(date("2024-01-31"), 1)', date(2024, 2, 29)),
        ('add_months(date("2026-03-31"), -1)', date(2026, 2, 28)),
        ('add_months(date("2026-11-30"), 3)', date(2027, 2, 28)),
        ('add_months(date("2026-05-15"), -17)', date(2024, 12, 15)),
        ('add_years(date("2024-02-29"), 1)', date(2025, 2, 28)),
        ('add_years(date("2024-02-29"), 4)', date(2028, 2, 29)),
        ('add_days(date("2026-12-31"), 1)', date(2027, 1, 1)),
        ('add_days(date("2024-02-28"), 1)', date(2024, 2, 29)),
        ('add_days(date("2026-03-01"), -1)', date(2026, 2, 28)),
        ('add_days(date("2026-01-01"), 2.0)', date(2026, 1, 3)),
        ('days_between(date("2026-01-01"), date("2026-03-01"))', 59),
        ('days_between(date("2024-01-01"), date("2024-03-01"))', 60),
        ('days_between(date("2026-03-01"), date("2026-01-01"))', -59),
        ("today()", TODAY),
    ],
)
def test_date_functions(source: str, expected: object) -> None:
    assert_result(evaluate(source), expected)


@pytest.mark.parametrize(
    ("birth", "on", "age"),
    [
        (date(2000, 4, 2), date(2018, 4, 1), 17),
        (date(2000, 4, 2), date(2018, 4, 2), 18),  # the new age counts from the birthday
        (date(2000, 4, 2), date(2018, 12, 31), 18),
        (date(2000, 12, 31), date(2001, 1, 1), 0),
        (date(2000, 1, 1), date(2000, 1, 1), 0),
        (date(2004, 2, 29), date(2005, 2, 28), 0),  # common year: still 0 on 28 February
        (date(2004, 2, 29), date(2005, 3, 1), 1),  # ...and 1 from 1 March
        (date(2004, 2, 29), date(2008, 2, 28), 3),
        (date(2004, 2, 29), date(2008, 2, 29), 4),  # leap year: from 29 February itself
    ],
)
def test_age_on_uses_japanese_age_counting(birth: date, on: date, age: int) -> None:
    values = {"birth_date": birth, "move_date": on}
    assert evaluate("age_on(birth_date, move_date)", values) == age


@pytest.mark.parametrize(
    "source",
    [
        "amount / 0",
        "add_days(move_date, 1.5)",
        "add_days(move_date, 10000000000)",
        "add_years(move_date, 9000)",
        "add_months(move_date, -30000)",
        "age_on(birth_date, move_date)",  # an age before birth
        "add_business_days(move_date, 100000)",
        "add_business_days(move_date, 0.5)",
        "min(c in children: c.income)",  # empty group
    ],
)
def test_undefined_results_are_unknown(source: str) -> None:
    values = {"amount": 3, "move_date": date(2026, 4, 1), "birth_date": date(2026, 5, 1)}
    assert evaluate(source, values | {"children": []}) is UNKNOWN


def test_japanese_business_days_across_golden_week_2026() -> None:
    # 1 May is a Friday; 2-3 May a weekend; 4, 5 and 6 May (substitute day) are holidays.
    assert japanese_business_day(date(2026, 5, 1))
    for day in range(2, 7):
        assert not japanese_business_day(date(2026, 5, day))
    assert japanese_business_day(date(2026, 5, 7))
    values = {"move_date": date(2026, 5, 1)}
    assert evaluate("add_business_days(move_date, 1)", values) == date(2026, 5, 7)
    assert evaluate("add_business_days(move_date, 5)", values) == date(2026, 5, 13)
    assert evaluate("add_business_days(move_date, 0)", values) == date(2026, 5, 1)
    assert evaluate("add_business_days(date('2026-05-07'), -1)") == date(2026, 5, 1)
    assert evaluate("is_business_day(date('2026-05-06'))") is False
    assert evaluate("is_business_day(date('2026-05-07'))") is True


def test_business_day_calendar_comes_from_the_context() -> None:
    even_days_only = EvalContext(today=TODAY, is_business_day=lambda day: day.day % 2 == 0)
    values = {"move_date": date(2026, 5, 1)}
    assert evaluate("add_business_days(move_date, 2)", values, even_days_only) == date(2026, 5, 4)
    assert evaluate("is_business_day(move_date)", values, even_days_only) is False


def test_today_comes_from_the_context() -> None:
    assert evaluate("today()", context=default_context(date(2030, 1, 2))) == date(2030, 1, 2)
    assert isinstance(default_context().today, date)
    assert not isinstance(default_context().today, datetime)


CHILDREN = [
    child(name="一郎", birth_date=date(2010, 6, 1), income=0, disabled=False),
    child(name="花子", birth_date=date(2015, 1, 10), income=Decimal("1200.50"), disabled=True),
]


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("count(children)", 2),
        ("count(c in children: age_on(c.birth_date, today()) < 15)", 1),
        ("any(c in children: c.disabled)", True),
        ("all(c in children: c.disabled)", False),
        ("all(c in children: c.income >= 0)", True),
        ("sum(c in children: c.income)", Decimal("1200.50")),
        ("min(c in children: c.birth_date)", date(2010, 6, 1)),
        ("max(c in children: c.income)", Decimal("1200.50")),
        ("any(c in children: c.name == '花子' and c.income > amount)", True),
    ],
)
def test_quantifiers_over_groups(source: str, expected: object) -> None:
    assert_result(evaluate(source, {"children": CHILDREN, "amount": 1000}), expected)


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("any(c in children: c.disabled)", UNKNOWN),  # no True item, one unknown
        ("all(c in children: not c.disabled)", UNKNOWN),  # no False item, one unknown
        ("count(c in children: not c.disabled)", 1),  # counts definite True items only
        ("count(children)", 2),
        ("sum(c in children: c.income)", UNKNOWN),
        ("max(c in children: c.income)", UNKNOWN),
    ],
)
def test_quantifiers_with_unknown_items(source: str, expected: object) -> None:
    group = [child(disabled=False, income=1), child(disabled=None)]
    assert_result(evaluate(source, {"children": group}), expected)


def test_quantifiers_decide_despite_unknown_items() -> None:
    group = [child(disabled=None), child(disabled=True), UNKNOWN]
    assert evaluate("any(c in children: c.disabled)", {"children": group}) is True
    group = [child(disabled=None), child(disabled=False)]
    assert evaluate("all(c in children: c.disabled)", {"children": group}) is False


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("any(c in children: c.disabled)", False),
        ("all(c in children: c.disabled)", True),
        ("count(c in children: c.disabled)", 0),
        ("sum(c in children: c.income)", 0),
        ("max(c in children: c.income)", UNKNOWN),
    ],
)
def test_quantifiers_over_an_empty_group(source: str, expected: object) -> None:
    assert_result(evaluate(source, {"children": []}), expected)


def test_quantifier_over_a_list_of_text() -> None:
    values = {"tags": ["pension", "nhi", "nhi"]}
    assert evaluate("count(t in tags: t == 'nhi')", values) == 2


@pytest.mark.parametrize(
    ("source", "tags", "expected"),
    [
        ("'nhi' in tags", ["nhi", "pension"], True),
        ("'care' in tags", ["nhi", "pension"], False),
        ("'care' not in tags", ["nhi", "pension"], True),
        ("'care' in tags", ["nhi", UNKNOWN], UNKNOWN),
        ("'nhi' in tags", ["nhi", UNKNOWN], True),
        ("'care' not in tags", ["nhi", None], UNKNOWN),
        ("contains(tags, 'nhi')", ("nhi",), True),
        ("name in ['a', 'b']", None, UNKNOWN),
        ("tags == ['nhi']", ("nhi",), True),
        ("tags != ['nhi']", ["nhi", "x"], True),
    ],
)
def test_membership(source: str, tags: object, expected: object) -> None:
    assert evaluate(source, {"tags": tags, "name": UNKNOWN}) is expected


def test_literal_list_membership_and_fresh_results() -> None:
    compiled = compile_expression("name in ['a', 'b']", SCOPE)
    assert compiled.evaluate({"name": "b"}, CONTEXT) is True
    assert compiled.evaluate({"name": "c"}, CONTEXT) is False
    listing = compile_expression("['a', 'b']", SCOPE)
    first = listing.evaluate({}, CONTEXT)
    first.append("mutated")
    assert listing.evaluate({}, CONTEXT) == ["a", "b"]


def test_text_concatenation_and_number_mixing() -> None:
    assert evaluate("name + ' 様'", {"name": "山田"}) == "山田 様"
    assert evaluate("amount * 1.1", {"amount": 1000}) == Decimal("1100.0")
    assert evaluate("amount - rent", {"amount": 5, "rent": Decimal("0.5")}) == Decimal("4.5")
    assert type(evaluate("amount + rent", {"amount": 5, "rent": 2})) is int


@pytest.mark.parametrize(
    ("values", "field"),
    [
        ({"amount": "3"}, "amount"),
        ({"amount": True}, "amount"),
        ({"amount": 1.5}, "amount"),
        ({"amount": Decimal("NaN")}, "amount"),
    ],
)
def test_values_that_do_not_match_the_scope_are_a_caller_error(
    values: dict[str, object], field: str
) -> None:
    with pytest.raises(TypeError, match=field):
        evaluate("amount > 1", values)


def test_dates_must_not_be_datetimes() -> None:
    with pytest.raises(TypeError, match="birth_date"):
        evaluate("birth_date < today()", {"birth_date": datetime(2000, 1, 1)})  # noqa: DTZ001


def test_group_items_must_be_records() -> None:
    with pytest.raises(TypeError, match="group item"):
        evaluate("any(c in children: c.disabled)", {"children": ["not a record"]})


def test_ten_node_expression_evaluates_repeatedly() -> None:
    compiled = compile_expression(
        "age_on(birth_date, today()) >= 18 and (amount + 1) * 2 > rent or 'x' in tags",
        SCOPE,
        expect=BOOL,
    )
    adult = {"birth_date": date(1990, 5, 1), "amount": 10, "rent": 5, "tags": []}
    child_values = adult | {"birth_date": date(2015, 5, 1), "tags": ["x"]}
    for _ in range(1000):
        assert compiled.evaluate(adult, CONTEXT) is True
        assert compiled.evaluate(child_values, CONTEXT) is True
        assert compiled.evaluate(adult | {"rent": 100}, CONTEXT) is False


# --------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("(" * 10_000, "longer than 2000 characters"),
        ("(" * 10_000 + "1" + ")" * 10_000, "longer than 2000 characters"),
        ('"' + "x" * 100_000 + '"', "longer than 2000 characters"),
        ("(" * (MAX_DEPTH + 1) + "1" + ")" * (MAX_DEPTH + 1), "nested too deeply"),
        ("[" * (MAX_DEPTH + 1) + "1" + "]" * (MAX_DEPTH + 1), "nested too deeply"),
        ("len(" * (MAX_DEPTH + 1) + "name" + ")" * (MAX_DEPTH + 1), "nested too deeply"),
        ("-" * (MAX_DEPTH + 1) + "1", "nested too deeply"),
        ("not " * (MAX_DEPTH + 1) + "flag", "nested too deeply"),
        ("-(" * 20 + "1" + ")" * 20, "nested too deeply"),
        ("1" * 19, "more than 18 digits"),
        ("1" * 10 + "." + "1" * 9, "more than 18 digits"),
        ("9" * 1000, "more than 18 digits"),
        ('"' + "x" * 501 + '"', "longer than 500 characters"),
        ("[" + ", ".join(["1"] * 201) + "]", "more than 200 items"),
        ('"x".__class__', "may not start with '_'"),
        ("name.__class__.__base__", "may not start with '_'"),
        ("_private", "may not start with '_'"),
        ("a__b", "may not contain '__'"),
        ("__import__('os')", "may not start with '_'"),
        ("applicant" + ".income" * 40, "nested too deeply"),
        ("name.upper", "needs a record"),
        ("'x'.join", "needs a record"),
        ("Flag", "must be lower-case"),
        ("True", "must be lower-case (write 'true')"),
        ("名前", "unexpected character '名'"),
        ("lambda: 1", "unexpected"),
        ("name; 1", "unexpected character ';'"),
        ("\x00", "unexpected character"),
    ],
)
def test_hostile_input_gives_clean_errors(source: str, message: str) -> None:
    error = compile_error(source)
    assert message in error.message


def test_limits_accept_input_just_inside_them() -> None:
    assert evaluate("(" * MAX_DEPTH + "1" + ")" * MAX_DEPTH) == 1
    assert evaluate("-" * MAX_DEPTH + "1") == 1
    assert evaluate("9" * 18) == int("9" * 18)
    assert evaluate('"' + "x" * 500 + '"') == "x" * 500
    assert evaluate("[" + ", ".join(["1"] * 200) + "]") == [1] * 200
    assert evaluate(" + ".join(["1"] * 500)) == 500  # a long chain is wide, not deep


def test_tree_depth_is_checked_after_parsing() -> None:
    # Each level adds one bracket but two tree levels (a sum holding a product), so only
    # the check on the parsed tree can see that 17 levels are too deep.
    source = "1 + 2 * (" * 17 + "1" + ")" * 17
    assert compile_error(source).message.startswith("expression is nested too deeply")
    within = "1 + 2 * (" * 15 + "1" + ")" * 15
    assert isinstance(evaluate(within), int)


def test_referenced_names_has_the_same_limits() -> None:
    with pytest.raises(ExpressionError, match="nested too deeply"):
        referenced_names("(" * 100)
    with pytest.raises(ExpressionError, match="longer than"):
        referenced_names("a" * 3000)


# --------------------------------------------------------------------------- random programs

_NUMBER_LEAVES = st.one_of(
    st.integers(0, 10**9).map(str),
    st.tuples(st.integers(0, 10**6), st.integers(0, 99)).map(lambda p: f"{p[0]}.{p[1]:02d}"),
    st.sampled_from(["amount", "rent"]),
)
_TEXT_LEAVES = st.one_of(
    st.text(max_size=8).map(
        lambda t: '"' + t.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n") + '"'
    ),
    st.just("name"),
)
_DATE_LEAVES = st.one_of(
    st.dates(date(1900, 1, 1), date(2100, 12, 31)).map(lambda d: f'date("{d.isoformat()}")'),
    st.sampled_from(["birth_date", "move_date", "today()"]),
)
_LEAVES: dict[str, st.SearchStrategy[str]] = {
    "bool": st.sampled_from(["true", "false", "flag", "other_flag"]),
    "number": _NUMBER_LEAVES,
    "text": _TEXT_LEAVES,
    "date": _DATE_LEAVES,
    "tags": st.one_of(
        st.just("tags"),
        st.lists(_TEXT_LEAVES, min_size=1, max_size=3)
        .map(", ".join)
        .map(lambda items: f"[{items}]"),
    ),
}
_ITEM_FIELDS = {"bool": "disabled", "number": "income", "text": "name", "date": "birth_date"}
_RESULT_TYPES = {
    "bool": BOOL,
    "number": NUMBER,
    "text": TEXT,
    "date": DATE,
    "tags": ListType(TEXT),
}


@st.composite
def _expression(draw: st.DrawFn, kind: str, depth: int = 3, items: tuple[str, ...] = ()) -> str:
    """Draw the source of a random well-typed expression of the given kind."""
    if depth == 0 or draw(st.integers(0, 3)) == 0:
        if items and kind in _ITEM_FIELDS and draw(st.booleans()):
            return f"{draw(st.sampled_from(items))}.{_ITEM_FIELDS[kind]}"
        return draw(_LEAVES[kind])

    def sub(sub_kind: str, inner: tuple[str, ...] = items) -> str:
        return draw(_expression(sub_kind, depth - 1, inner))

    item = f"item{len(items)}"
    inner = (*items, item)
    if kind == "bool":
        choice = draw(st.integers(0, 11))
        if choice == 0:
            return f"({sub('bool')} {draw(st.sampled_from(['and', 'or']))} {sub('bool')})"
        if choice == 1:
            return f"(not {sub('bool')})"
        if choice == 2:
            op = draw(st.sampled_from(["<", "<=", ">", ">=", "==", "!="]))
            compared = draw(st.sampled_from(["number", "date"]))
            return f"({sub(compared)} {op} {sub(compared)})"
        if choice == 3:
            return f"({sub('text')} {draw(st.sampled_from(['==', '!=']))} {sub('text')})"
        if choice == 4:
            return f"({sub('text')} {draw(st.sampled_from(['in', 'not in']))} {sub('tags')})"
        if choice == 5:
            return f"contains({sub('tags')}, {sub('text')})"
        if choice == 6:
            return f"answered({sub(draw(st.sampled_from(sorted(_LEAVES))))})"
        if choice == 7:
            quantifier = draw(st.sampled_from(["any", "all"]))
            return f"{quantifier}({item} in children: {sub('bool', inner)})"
        if choice == 8:
            return f"is_business_day({sub('date')})"
        if choice == 9:
            return f"({sub('tags')} == {sub('tags')})"
        if choice == 10:
            return f"any({item} in {sub('tags')}: {item} == {sub('text')})"
        return draw(_LEAVES["bool"])
    if kind == "number":
        choice = draw(st.integers(0, 7))
        if choice == 0:
            op = draw(st.sampled_from(["+", "-", "*", "/"]))
            return f"({sub('number')} {op} {sub('number')})"
        if choice == 1:
            return f"(-{sub('number')})"
        if choice == 2:
            return f"len({sub(draw(st.sampled_from(['text', 'tags'])))})"
        if choice == 3:
            return f"count({item} in children: {sub('bool', inner)})"
        if choice == 4:
            return f"sum({item} in children: {sub('number', inner)})"
        if choice == 5:
            extreme = draw(st.sampled_from(["min", "max"]))
            return f"{extreme}({item} in children: {sub('number', inner)})"
        if choice == 6:
            function = draw(st.sampled_from(["days_between", "age_on"]))
            return f"{function}({sub('date')}, {sub('date')})"
        return "count(children)"
    if kind == "text":
        return f"({sub('text')} + {sub('text')})"
    if kind == "date":
        function = draw(
            st.sampled_from(["add_days", "add_months", "add_years", "add_business_days"])
        )
        if function == "add_business_days":
            return f"{function}({sub('date')}, {draw(st.integers(-40, 40))})"
        return f"{function}({sub('date')}, {sub('number')})"
    return draw(_LEAVES["tags"])


def _answer(values: st.SearchStrategy[object]) -> st.SearchStrategy[object]:
    return st.one_of(st.just(UNKNOWN), st.none(), values)


_NUMBER_VALUES = st.one_of(
    st.integers(-(10**6), 10**6),
    st.decimals(-(10**6), 10**6, places=2, allow_nan=False, allow_infinity=False),
)
_DATE_VALUES = st.dates(date(1900, 1, 1), date(2100, 12, 31))
_CHILD_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "name": _answer(st.text(max_size=4)),
        "birth_date": _answer(_DATE_VALUES),
        "income": _answer(_NUMBER_VALUES),
        "disabled": _answer(st.booleans()),
    },
)
_VALUES = st.fixed_dictionaries(
    {},
    optional={
        "flag": _answer(st.booleans()),
        "other_flag": _answer(st.booleans()),
        "amount": _answer(_NUMBER_VALUES),
        "rent": _answer(_NUMBER_VALUES),
        "name": _answer(st.text(max_size=4)),
        "birth_date": _answer(_DATE_VALUES),
        "move_date": _answer(_DATE_VALUES),
        "tags": _answer(st.lists(_answer(st.sampled_from(["a", "b", ""])), max_size=3)),
        "children": _answer(st.lists(_answer(_CHILD_VALUES), max_size=3)),
    },
)


def _conforms(value: object, type_: Type) -> bool:
    if value is UNKNOWN:
        return True
    if type_ is BOOL:
        return isinstance(value, bool)
    if type_ is NUMBER:
        return isinstance(value, int | Decimal) and not isinstance(value, bool)
    if type_ is TEXT:
        return isinstance(value, str)
    if type_ is DATE:
        return isinstance(value, date)
    return isinstance(value, list)


@settings(max_examples=300, deadline=None)
@given(
    st.sampled_from(sorted(_RESULT_TYPES)).flatmap(
        lambda kind: st.tuples(st.just(kind), _expression(kind))
    ),
    _VALUES,
    _DATE_VALUES,
)
def test_random_well_typed_expressions_compile_and_evaluate(
    generated: tuple[str, str], values: dict[str, object], today: date
) -> None:
    kind, source = generated
    compiled = compile_expression(source, SCOPE, expect=_RESULT_TYPES[kind])
    assert compiled.names == referenced_names(source)
    assert compiled.names <= SCOPE.keys()
    result = compiled.evaluate(values, default_context(today))
    assert _conforms(result, compiled.type)


_TOKENS = [
    "(", ")", "[", "]", ",", ":", ".", "+", "-", "*", "/", "==", "!=", "<", "<=", ">", ">=",
    "and", "or", "not", "in", "true", "false", "flag", "amount", "name", "tags", "children",
    "c", "c.income", "c.disabled", "count", "any", "all", "sum", "min", "max", "len",
    "answered", "today", "age_on", "add_days", "date", "contains", "1", "2.5", "0",
    '"x"', "'2026-04-01'", "\n", "__class__", "_x", "'", '"', "\\",
]  # fmt: skip


def _compile_or_refuse(source: str) -> None:
    """Compile and evaluate; the only acceptable failure is an ExpressionError."""
    try:
        compiled = compile_expression(source, SCOPE)
    except ExpressionError as error:
        assert error.message
        assert error.line >= 1
        assert error.column >= 1
        return
    compiled.evaluate({}, CONTEXT)
    compiled.evaluate({"children": [{"income": 1, "disabled": True}], "tags": ["x"]}, CONTEXT)


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=300))
def test_random_text_only_raises_expression_error(source: str) -> None:
    _compile_or_refuse(source)


@settings(max_examples=500, deadline=None)
@given(st.lists(st.sampled_from(_TOKENS), max_size=40).map(" ".join))
def test_random_token_soup_only_raises_expression_error(source: str) -> None:
    _compile_or_refuse(source)
    with contextlib.suppress(ExpressionError):
        referenced_names(source)


@pytest.mark.parametrize(
    ("day", "open_"),
    [
        (date(2026, 12, 28), True),  # Monday before the closure
        (date(2026, 12, 29), False),
        (date(2026, 12, 31), False),
        (date(2027, 1, 1), False),  # also a public holiday
        (date(2027, 1, 4), True),  # Monday after
        (date(2027, 1, 11), False),  # Coming of Age Day
    ],
)
def test_business_days_skip_the_municipal_year_end_closure(day, open_):
    assert japanese_business_day(day) is open_


def test_three_business_days_from_christmas_cross_the_new_year():
    context = default_context(date(2026, 12, 25))
    result = evaluate("add_business_days(date('2026-12-25'), 3)", context=context)
    assert result == date(2027, 1, 5)
