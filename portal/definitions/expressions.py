"""Parse, type-check and evaluate the condition language of procedure definitions.

Design notes
============

Why lark
--------
Definitions are YAML written by city administrators, so their conditions are untrusted
text. They are parsed with lark's LALR(1) parser: a well-kept, pure-Python library that
turns text into a tree with line/column positions and never executes anything. The
alternative considered was CEL (Common Expression Language); its Python implementations
are less mature and bring their own type rules and null semantics, while this language
needs exactly our types (dates, records of repeatable groups) and three-valued logic for
unanswered questions. The grammar is small enough to own.

Pipeline
--------
1. ``_prescan`` refuses oversized or deeply nested text with a cheap linear scan before
   lark sees it, so no later step can run out of stack.
2. lark parses the text (one parser per process, ``propagate_positions=True``); its
   errors become ``ExpressionError`` with a human message and the position.
3. ``_build`` turns the tree into a small immutable AST, checking names, literals and
   the nesting depth again on the tree. Operator chains (``a or b or c``, ``1 + 2 - 3``)
   are flat n-ary nodes, so a long chain is wide, not deep.
4. ``_Compiler`` infers the type of every node, refuses mismatches, and turns the checked
   AST into nested Python closures. Evaluating is calling the outer closure: no ``eval``,
   no tree walk with type dispatch at run time.

Unanswered and "don't know": three-valued logic
-----------------------------------------------
A value can be ``UNKNOWN``: a field not answered yet, or a "don't know" answer
(``None`` in the values is read the same way). Logic follows Kleene: ``and`` is false
if either side is false, else unknown if either side is unknown, else true; ``or`` is the
dual; ``not UNKNOWN`` is ``UNKNOWN``. Comparisons, arithmetic and functions with an
unknown operand give ``UNKNOWN``, with these exceptions:

* ``answered(x)`` is always true or false;
* ``count(...)`` and ``len(list)`` are definite numbers: unknown items do not matter
  (``count(x in g: p)`` counts items where ``p`` is true) and an unanswered list counts
  as empty;
* ``any`` is true if some item is true, else unknown if some item is unknown, else false;
  ``all`` is the dual; ``sum``/``min``/``max`` are unknown if any item is unknown.

A result that is undefined rather than wrong (division by zero, a date outside the
calendar, ``min`` of an empty group, a non-whole day count, an age before birth) is also
``UNKNOWN``. Callers decide with ``is_true``: only ``True`` shows a field or fails a
check. ``bool(UNKNOWN)`` raises, so ``if result:`` cannot silently treat it as true.

Dates
-----
``age_on(birth, on)`` gives the age at the start of ``on``. Japanese law (年齢計算ニ関スル
法律 with 民法 143) counts from the day of birth and attains the new age at the end of the
day before the anniversary, so the new age counts from the birthday itself. For a person
born on 29 February, the day before the anniversary in a common year is 28 February, so
the new age counts from 1 March. ``add_months``/``add_years`` clamp to the month end
(31 January + 1 month = 28/29 February). ``add_business_days(d, n)`` steps day by day
over the context's business days (``n == 0`` returns ``d``) and gives up with ``UNKNOWN``
beyond ten years. The default calendar is Monday–Friday minus Japanese public holidays;
municipalities whose offices also close 29 December–3 January pass their own calendar.
"""

from __future__ import annotations

import calendar
import difflib
import enum
import functools
import operator
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import (
    ROUND_HALF_EVEN,
    Context,
    Decimal,
    DivisionByZero,
    InvalidOperation,
    Overflow,
)
from types import MappingProxyType
from typing import Any, Protocol, TypeAlias

from lark import Lark, Token, Tree, UnexpectedCharacters, UnexpectedInput, UnexpectedToken

__all__ = [
    "BOOL",
    "DATE",
    "MAX_DEPTH",
    "MAX_LIST_ITEMS",
    "MAX_NUMBER_DIGITS",
    "MAX_SOURCE_LENGTH",
    "MAX_STRING_LENGTH",
    "NUMBER",
    "TEXT",
    "UNKNOWN",
    "CompiledExpression",
    "EvalContext",
    "ExpressionError",
    "ListType",
    "RecordType",
    "ScalarType",
    "Type",
    "compile_expression",
    "default_context",
    "is_true",
    "japanese_business_day",
    "referenced_names",
]

MAX_SOURCE_LENGTH = 2000
MAX_DEPTH = 32
MAX_NUMBER_DIGITS = 18
MAX_STRING_LENGTH = 500
MAX_LIST_ITEMS = 200

# add_business_days gives up after this many calendar days (about ten years).
_MAX_BUSINESS_DAY_SCAN = 3660


# --------------------------------------------------------------------------- errors


class ExpressionError(Exception):
    """An expression that cannot be parsed or type-checked, with its 1-based position."""

    def __init__(self, message: str, line: int = 1, column: int = 1) -> None:
        super().__init__(message, line, column)
        self.message = message
        self.line = line
        self.column = column

    def __str__(self) -> str:
        return f"{self.message} (line {self.line}, column {self.column})"


# --------------------------------------------------------------------------- types


class ScalarType(enum.Enum):
    """The scalar types of the language."""

    BOOL = "bool"
    NUMBER = "number"
    TEXT = "text"
    DATE = "date"

    def __str__(self) -> str:
        return self.value


BOOL = ScalarType.BOOL
NUMBER = ScalarType.NUMBER
TEXT = ScalarType.TEXT
DATE = ScalarType.DATE


@dataclass(frozen=True)
class ListType:
    """A list whose items all have one type: checkbox answers, repeatable groups."""

    item: Type

    def __str__(self) -> str:
        return f"list of {self.item}"


@dataclass(frozen=True)
class RecordType:
    """A record with named, typed fields: one item of a repeatable group."""

    fields: Mapping[str, Type]

    def __post_init__(self) -> None:
        object.__setattr__(self, "fields", MappingProxyType(dict(self.fields)))

    def __hash__(self) -> int:
        return hash(frozenset(self.fields.items()))

    def __str__(self) -> str:
        return "record"


Type: TypeAlias = ScalarType | ListType | RecordType


# --------------------------------------------------------------------------- values


class _Unknown:
    """The type of UNKNOWN: an unanswered field or a "don't know" answer."""

    __slots__ = ()
    _instance: _Unknown | None = None

    def __new__(cls) -> _Unknown:
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        raise TypeError("UNKNOWN has no truth value; use is_true()")

    def __reduce__(self) -> str:
        return "UNKNOWN"


UNKNOWN = _Unknown()


def is_true(value: object) -> bool:
    """Tell whether an evaluated condition holds; UNKNOWN and False both do not."""
    return value is True


_JAPAN_TIME = timezone(timedelta(hours=9), "JST")


@functools.cache
def _japanese_holidays(year: int) -> frozenset[date]:
    # Imported here: the package takes about 0.15 s to import and only calendars need it.
    # One frozen set per year keeps lookups thread-safe (holidays fills years lazily).
    import holidays

    return frozenset(holidays.Japan(years=year))


def is_year_end_closure(day: date) -> bool:
    """Tell whether a day falls in the municipal year-end closure, 29 December to 3 January.

    Japanese local governments close over the New Year by ordinance (地方自治法第4条の2),
    so service levels and deadlines counted in business days skip these days too.
    """
    return (day.month == 12 and day.day >= 29) or (day.month == 1 and day.day <= 3)


def japanese_business_day(day: date) -> bool:
    """Tell whether a city office is open: a weekday, not a public holiday, not the year end."""
    return (
        day.weekday() < 5
        and day not in _japanese_holidays(day.year)
        and not is_year_end_closure(day)
    )


@dataclass(frozen=True)
class EvalContext:
    """What an evaluation may know about the world: today and the business-day calendar."""

    today: date
    is_business_day: Callable[[date], bool] = japanese_business_day


def default_context(today: date | None = None) -> EvalContext:
    """Build the usual context: today's date in Japan and the Japanese calendar."""
    return EvalContext(today=today if today is not None else datetime.now(_JAPAN_TIME).date())


# --------------------------------------------------------------------------- grammar

_GRAMMAR = r"""
?start: expr
?expr: or_test
?or_test: and_test (OR and_test)*
?and_test: not_test (AND not_test)*
?not_test: NOT not_test -> not_
         | comparison
?comparison: sum (comp_op sum)*
comp_op: EQ | NE | LT | LE | GT | GE | IN | NOT IN
?sum: product ((PLUS | MINUS) product)*
?product: unary ((STAR | SLASH) unary)*
?unary: MINUS unary -> neg
      | postfix
?postfix: atom ("." NAME)*
?atom: NUMBER -> number
     | STRING -> string
     | TRUE -> true
     | FALSE -> false
     | "[" (expr ("," expr)*)? "]" -> list
     | NAME "(" (arg ("," arg)*)? ")" -> call
     | NAME -> name
     | "(" expr ")"
?arg: expr
    | expr ":" expr -> binder

OR: "or"
AND: "and"
NOT: "not"
IN: "in"
TRUE: "true"
FALSE: "false"
EQ: "=="
NE: "!="
LE: "<="
GE: ">="
LT: "<"
GT: ">"
PLUS: "+"
MINUS: "-"
STAR: "*"
SLASH: "/"
NAME: /[A-Za-z_][A-Za-z0-9_]*/
NUMBER: /[0-9]+(\.[0-9]+)?/
STRING: /"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*'/
%ignore /[ \t\r\n\u3000]+/
"""


@functools.cache
def _parser() -> Lark:
    return Lark(_GRAMMAR, parser="lalr", lexer="basic", propagate_positions=True)


# A rough tokenizer for the pre-scan only; lark does the real lexing.
_SCAN = re.compile(
    r"""
    (?P<string>"(?:[^"\\\n]|\\.)*"|'(?:[^'\\\n]|\\.)*')
    |(?P<word>[A-Za-z_][A-Za-z0-9_]*)
    |(?P<number>[0-9]+(?:\.[0-9]+)?)
    |(?P<open>[(\[])
    |(?P<close>[)\]])
    |(?P<space>\s+)
    |(?P<other>.)
    """,
    re.VERBOSE | re.DOTALL,
)
_BINARY_WORDS = frozenset({"and", "or", "in", "not"})
_TOO_DEEP = f"expression is nested too deeply (more than {MAX_DEPTH} levels)"
_NAME_RULE = re.compile(r"[a-z][a-z0-9_]*")
_ISO_DATE = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}")
_ESCAPE = re.compile(r"\\(.)")
_ESCAPES = {"\\": "\\", "'": "'", '"': '"', "n": "\n"}
_OPERAND_START_MARK = "NUMBER"  # only expected where an operand may start
_CHARACTER_HINTS = {
    "=": "unexpected '='; compare with '=='",
    "!": "unexpected '!'; use 'not' or '!='",
    "&": "unexpected '&'; use 'and'",
    "|": "unexpected '|'; use 'or'",
}


def _position(source: str, offset: int) -> tuple[int, int]:
    line = source.count("\n", 0, offset) + 1
    column = offset - (source.rfind("\n", 0, offset) + 1) + 1
    return line, column


def _prescan(source: str) -> None:
    """Refuse oversized text and deep nesting cheaply, before lark or any recursion."""
    if len(source) > MAX_SOURCE_LENGTH:
        raise ExpressionError(f"expression is longer than {MAX_SOURCE_LENGTH} characters")
    if not source.strip():
        raise ExpressionError("expression is empty")
    # Depth here is open brackets plus runs of unary operators: both nest the tree.
    outer_bases: list[int] = []
    base = run = 0
    after_operand = False
    for match in _SCAN.finditer(source):
        kind, text = match.lastgroup, match.group()
        if kind == "space":
            continue
        if kind == "open":
            outer_bases.append(base)
            base, run, after_operand = base + run + 1, 0, False
        elif kind == "close":
            base = outer_bases.pop() if outer_bases else 0
            run, after_operand = 0, True
        elif not after_operand and text in ("-", "not"):
            run += 1
        elif kind == "other" or text in _BINARY_WORDS:
            run, after_operand = 0, False
        else:
            run, after_operand = 0, True
        if base + run > MAX_DEPTH:
            raise ExpressionError(_TOO_DEEP, *_position(source, match.start()))


def _describe(token: Token) -> str:
    if token.type == "NAME":
        return f"name {token.value!r}"
    if token.type == "NUMBER":
        return f"number {token.value}"
    if token.type == "STRING":
        return "string"
    return repr(token.value)


def _syntax_error(error: UnexpectedInput, source: str) -> ExpressionError:
    """Turn a lark error into a short English message at the right place."""
    if isinstance(error, UnexpectedCharacters):
        char = source[error.pos_in_stream]
        if char in "\"'":
            message = "unterminated string"
        else:
            message = _CHARACTER_HINTS.get(char, f"unexpected character {char!r}")
        return ExpressionError(message, error.line, error.column)
    if isinstance(error, UnexpectedToken) and error.token.type != "$END":
        token = error.token
        if _OPERAND_START_MARK in error.expected:
            message = f"expected an expression, found {_describe(token)}"
        else:
            message = f"unexpected {_describe(token)}"
        return ExpressionError(message, token.line, token.column)
    expected = getattr(error, "expected", None) or set()
    if _OPERAND_START_MARK in expected:
        message = "expected an expression at the end"
    elif "RPAR" in expected:
        message = "missing ')'"
    elif "RSQB" in expected:
        message = "missing ']'"
    else:
        message = "unexpected end of expression"
    return ExpressionError(message, *_position(source, len(source.rstrip())))


# --------------------------------------------------------------------------- AST


@dataclass(frozen=True, slots=True)
class _Node:
    line: int
    column: int
    depth: int


@dataclass(frozen=True, slots=True)
class _Literal(_Node):
    value: object
    type: Type


@dataclass(frozen=True, slots=True)
class _ListLiteral(_Node):
    items: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Name(_Node):
    name: str


@dataclass(frozen=True, slots=True)
class _Member(_Node):
    target: _Node
    field: str
    field_line: int
    field_column: int


@dataclass(frozen=True, slots=True)
class _Not(_Node):
    operand: _Node


@dataclass(frozen=True, slots=True)
class _Negate(_Node):
    operand: _Node


@dataclass(frozen=True, slots=True)
class _Logic(_Node):
    operator: str  # "and" or "or"
    operands: tuple[_Node, ...]


@dataclass(frozen=True, slots=True)
class _Operator:
    symbol: str
    line: int
    column: int


@dataclass(frozen=True, slots=True)
class _Arithmetic(_Node):
    first: _Node
    rest: tuple[tuple[_Operator, _Node], ...]


@dataclass(frozen=True, slots=True)
class _Compare(_Node):
    operator: _Operator
    left: _Node
    right: _Node


@dataclass(frozen=True, slots=True)
class _Binder:
    variable: str
    line: int
    column: int
    group: _Node
    body: _Node


@dataclass(frozen=True, slots=True)
class _Call(_Node):
    function: str
    args: tuple[_Node, ...]
    binder: _Binder | None


def _nest(line: int, column: int, *children: _Node) -> int:
    depth = 1 + max((child.depth for child in children), default=0)
    if depth > MAX_DEPTH:
        raise ExpressionError(_TOO_DEEP, line, column)
    return depth


def _checked_name(token: Token) -> str:
    name = str(token.value)
    if name.startswith("_"):
        raise ExpressionError(f"name {name!r} may not start with '_'", token.line, token.column)
    if "__" in name:
        raise ExpressionError(f"name {name!r} may not contain '__'", token.line, token.column)
    if not _NAME_RULE.fullmatch(name):
        raise ExpressionError(
            f"name {name!r} must be lower-case (write {name.lower()!r})", token.line, token.column
        )
    return name


def _number(token: Token) -> _Literal:
    text = str(token.value)
    if len(text.replace(".", "")) > MAX_NUMBER_DIGITS:
        raise ExpressionError(
            f"number has more than {MAX_NUMBER_DIGITS} digits", token.line, token.column
        )
    value = Decimal(text) if "." in text else int(text)
    return _Literal(token.line, token.column, 0, value, NUMBER)


def _string(token: Token) -> _Literal:
    body = str(token.value)[1:-1]

    def unescape(match: re.Match[str]) -> str:
        escaped = match.group(1)
        if escaped not in _ESCAPES:
            raise ExpressionError(
                f"unknown escape '\\{escaped}' (use \\\\, \\', \\\" or \\n)",
                token.line,
                token.column + 1 + match.start(),
            )
        return _ESCAPES[escaped]

    value = _ESCAPE.sub(unescape, body)
    if len(value) > MAX_STRING_LENGTH:
        raise ExpressionError(
            f"string is longer than {MAX_STRING_LENGTH} characters", token.line, token.column
        )
    return _Literal(token.line, token.column, 0, value, TEXT)


def _operator(tokens: list[Token]) -> _Operator:
    return _Operator(" ".join(str(t.value) for t in tokens), tokens[0].line, tokens[0].column)


def _build(tree: Tree) -> _Node:
    """Turn a lark tree into the AST; recursion is bounded by the pre-scan."""
    kind = tree.data
    children = tree.children
    line, column = tree.meta.line, tree.meta.column
    if kind == "number":
        return _number(children[0])
    if kind == "string":
        return _string(children[0])
    if kind in ("true", "false"):
        return _Literal(line, column, 0, kind == "true", BOOL)
    if kind == "name":
        return _Name(line, column, 0, _checked_name(children[0]))
    if kind in ("or_test", "and_test"):
        operands = tuple(_build(child) for child in children if isinstance(child, Tree))
        word = "or" if kind == "or_test" else "and"
        return _Logic(line, column, _nest(line, column, *operands), word, operands)
    if kind == "not_":
        operand = _build(children[1])
        return _Not(line, column, _nest(line, column, operand), operand)
    if kind == "neg":
        operand = _build(children[1])
        return _Negate(line, column, _nest(line, column, operand), operand)
    if kind in ("sum", "product"):
        first = _build(children[0])
        rest = tuple(
            (_operator([token]), _build(operand))
            for token, operand in zip(children[1::2], children[2::2], strict=True)
        )
        depth = _nest(line, column, first, *(operand for _, operand in rest))
        return _Arithmetic(line, column, depth, first, rest)
    if kind == "comparison":
        if len(children) > 3:
            second = _operator(children[3].children)
            raise ExpressionError(
                "comparisons cannot be chained; write 'a < b and b < c'",
                second.line,
                second.column,
            )
        left, right = _build(children[0]), _build(children[2])
        op = _operator(children[1].children)
        return _Compare(line, column, _nest(line, column, left, right), op, left, right)
    if kind == "postfix":
        node = _build(children[0])
        for token in children[1:]:
            name = _checked_name(token)
            depth = _nest(token.line, token.column, node)
            node = _Member(line, column, depth, node, name, token.line, token.column)
        return node
    if kind == "list":
        if len(children) > MAX_LIST_ITEMS:
            raise ExpressionError(f"list has more than {MAX_LIST_ITEMS} items", line, column)
        if not children:
            raise ExpressionError("empty list; test emptiness with answered(x)", line, column)
        items = tuple(_build(child) for child in children)
        return _ListLiteral(line, column, _nest(line, column, *items), items)
    if kind == "call":
        return _build_call(children[0], children[1:])
    if kind == "binder":
        raise ExpressionError(
            "'x in group: ...' must be the only argument of count, any, all, sum, min or max",
            line,
            column,
        )
    raise AssertionError(f"grammar rule without a builder: {kind}")  # pragma: no cover


def _build_call(name_token: Token, arguments: list[Tree]) -> _Call:
    line, column = name_token.line, name_token.column
    function = _checked_name(name_token)
    if len(arguments) == 1 and arguments[0].data == "binder":
        head, body_tree = arguments[0].children
        group_test = _build(head)
        if not (
            isinstance(group_test, _Compare)
            and group_test.operator.symbol == "in"
            and isinstance(group_test.left, _Name)
        ):
            raise ExpressionError(
                f"expected '{function}(x in group: ...)'", group_test.line, group_test.column
            )
        variable = group_test.left
        body = _build(body_tree)
        binder = _Binder(variable.name, variable.line, variable.column, group_test.right, body)
        depth = _nest(line, column, group_test.right, body)
        return _Call(line, column, depth, function, (), binder)
    args = tuple(_build(argument) for argument in arguments)
    return _Call(line, column, _nest(line, column, *args), function, args, None)


@functools.lru_cache(maxsize=1024)
def _parse(source: str) -> _Node:
    """Parse source text into the checked AST (cached: loaders parse a source twice)."""
    _prescan(source)
    try:
        tree = _parser().parse(source)
    except UnexpectedInput as error:
        raise _syntax_error(error, source) from None
    return _build(tree)


def _free_names(node: _Node, bound: frozenset[str]) -> Iterator[str]:
    match node:
        case _Name(name=name):
            if name not in bound:
                yield name
        case _Member(target=target) | _Not(operand=target) | _Negate(operand=target):
            yield from _free_names(target, bound)
        case _Logic(operands=children) | _ListLiteral(items=children):
            for child in children:
                yield from _free_names(child, bound)
        case _Arithmetic(first=first, rest=rest):
            yield from _free_names(first, bound)
            for _, operand in rest:
                yield from _free_names(operand, bound)
        case _Compare(left=left, right=right):
            yield from _free_names(left, bound)
            yield from _free_names(right, bound)
        case _Call(args=args, binder=binder):
            for arg in args:
                yield from _free_names(arg, bound)
            if binder is not None:
                yield from _free_names(binder.group, bound)
                yield from _free_names(binder.body, bound | {binder.variable})


def referenced_names(source: str) -> frozenset[str]:
    """List the top-level names an expression uses, without type-checking it."""
    return frozenset(_free_names(_parse(source), frozenset()))


# --------------------------------------------------------------------------- runtime helpers


class _Values(Protocol):
    """What evaluators read from: the caller's mapping, or a quantifier's item frame."""

    def get(self, key: str, default: Any = None, /) -> Any: ...


_Evaluator: TypeAlias = Callable[[_Values, EvalContext], Any]
_Binary: TypeAlias = Callable[[Any, Any], Any]
_NOT_CONSTANT = object()
# Arithmetic uses its own decimal context so a caller's global context cannot change results.
_DECIMAL = Context(
    prec=28, rounding=ROUND_HALF_EVEN, traps=[InvalidOperation, DivisionByZero, Overflow]
)


def _accepts(type_: Type) -> Callable[[Any], bool]:
    """Return a cheap check that a caller-supplied value matches its declared type."""
    if type_ is BOOL:
        return lambda value: value.__class__ is bool
    if type_ is NUMBER:
        return lambda value: (
            (isinstance(value, int) and value.__class__ is not bool)
            or (isinstance(value, Decimal) and value.is_finite())
        )
    if type_ is TEXT:
        return lambda value: isinstance(value, str)
    if type_ is DATE:
        return lambda value: isinstance(value, date) and not isinstance(value, datetime)
    if isinstance(type_, ListType):
        return lambda value: isinstance(value, list | tuple)
    return lambda value: isinstance(value, Mapping)


def _mismatch(what: str, value: Any, type_: Type) -> TypeError:
    # Values that do not match the declared scope are a caller bug, not a definition error.
    return TypeError(f"{what} should be a {type_}, got {type(value).__name__}: {value!r}")


def _lookup(name: str, type_: Type) -> _Evaluator:
    accepts = _accepts(type_)

    def lookup(values: _Values, context: EvalContext) -> Any:
        value = values.get(name, UNKNOWN)
        if value is UNKNOWN or value is None:
            return UNKNOWN
        if not accepts(value):
            raise _mismatch(f"value of {name!r}", value, type_)
        return value

    return lookup


def _bound_lookup(name: str) -> _Evaluator:
    # The item was already checked and normalised when the quantifier bound it.
    return lambda values, context: values.get(name)


class _Frame:
    """The values seen inside a quantifier: the outer values plus the item variable."""

    __slots__ = ("base", "name", "value")

    def __init__(self, base: _Values, name: str) -> None:
        self.base = base
        self.name = name
        self.value: Any = UNKNOWN

    def get(self, key: str, default: Any = None, /) -> Any:
        if key == self.name:
            return self.value
        return self.base.get(key, default)


def _constant(value: Any) -> _Evaluator:
    return lambda values, context: value


def _strict(function: _Binary, left: _Evaluator, right: _Evaluator) -> _Evaluator:
    """Apply a binary function, giving UNKNOWN as soon as an operand is unknown."""

    def strict(values: _Values, context: EvalContext) -> Any:
        a = left(values, context)
        if a is UNKNOWN:
            return UNKNOWN
        b = right(values, context)
        if b is UNKNOWN:
            return UNKNOWN
        return function(a, b)

    return strict


def _strict_constant(function: _Binary, left: _Evaluator, constant: Any) -> _Evaluator:
    """Like _strict, for the common case of a literal on the right."""

    def strict(values: _Values, context: EvalContext) -> Any:
        a = left(values, context)
        if a is UNKNOWN:
            return UNKNOWN
        return function(a, constant)

    return strict


def _add(a: Any, b: Any) -> Any:
    if a.__class__ is int and b.__class__ is int:
        return a + b
    return _DECIMAL.add(a, b)


def _subtract(a: Any, b: Any) -> Any:
    if a.__class__ is int and b.__class__ is int:
        return a - b
    return _DECIMAL.subtract(a, b)


def _multiply(a: Any, b: Any) -> Any:
    if a.__class__ is int and b.__class__ is int:
        return a * b
    return _DECIMAL.multiply(a, b)


def _divide(a: Any, b: Any) -> Any:
    if b == 0:
        return UNKNOWN
    return _DECIMAL.divide(a, b)


def _equal_lists(a: Any, b: Any) -> bool:
    # Callers may pass tuples for lists; compare contents, not container classes.
    return list(a) == list(b)


def _unequal_lists(a: Any, b: Any) -> bool:
    return list(a) != list(b)


def _is_in(item: Any, items: Any) -> Any:
    if item in items:
        return True
    if any(element is UNKNOWN or element is None for element in items):
        return UNKNOWN
    return False


def _is_in_set(item: Any, members: frozenset[Any]) -> bool:
    return item in members


def _negated(run: _Evaluator) -> _Evaluator:
    def negation(values: _Values, context: EvalContext) -> Any:
        value = run(values, context)
        return UNKNOWN if value is UNKNOWN else not value

    return negation


def _whole(number: int | Decimal) -> int | None:
    """Return a day or month count as an int, or None if it has a fractional part."""
    if isinstance(number, int):
        return number
    if number == number.to_integral_value():
        return int(number)
    return None


def _add_days(context: EvalContext, day: date, count: int | Decimal) -> Any:
    days = _whole(count)
    if days is None:
        return UNKNOWN
    try:
        return day + timedelta(days=days)
    except OverflowError:
        return UNKNOWN


def _shift_months(day: date, months: int | None) -> Any:
    if months is None:
        return UNKNOWN
    year, month_index = divmod(day.year * 12 + day.month - 1 + months, 12)
    if not 1 <= year <= 9999:
        return UNKNOWN
    last_day = calendar.monthrange(year, month_index + 1)[1]
    return date(year, month_index + 1, min(day.day, last_day))


def _add_months(context: EvalContext, day: date, count: int | Decimal) -> Any:
    return _shift_months(day, _whole(count))


def _add_years(context: EvalContext, day: date, count: int | Decimal) -> Any:
    years = _whole(count)
    return _shift_months(day, None if years is None else years * 12)


def _days_between(context: EvalContext, start: date, end: date) -> Any:
    return (end - start).days


def _age_on(context: EvalContext, birth: date, on: date) -> Any:
    if on < birth:
        return UNKNOWN
    if birth.month == 2 and birth.day == 29 and not calendar.isleap(on.year):
        new_age_from = date(on.year, 3, 1)
    else:
        new_age_from = birth.replace(year=on.year)
    return on.year - birth.year - (1 if on < new_age_from else 0)


def _add_business_days(context: EvalContext, day: date, count: int | Decimal) -> Any:
    remaining = _whole(count)
    if remaining is None:
        return UNKNOWN
    if remaining == 0:
        return day
    step = timedelta(days=1 if remaining > 0 else -1)
    remaining = abs(remaining)
    current = day
    for _ in range(_MAX_BUSINESS_DAY_SCAN):
        try:
            current += step
        except OverflowError:
            return UNKNOWN
        if context.is_business_day(current):
            remaining -= 1
            if remaining == 0:
                return current
    return UNKNOWN


def _is_business_day(context: EvalContext, day: date) -> Any:
    return bool(context.is_business_day(day))


def _today(context: EvalContext) -> Any:
    return context.today


@dataclass(frozen=True, slots=True)
class _Signature:
    params: tuple[Type, ...]
    result: Type
    implementation: Callable[..., Any]  # called as implementation(context, *arguments)


_PLAIN_FUNCTIONS: dict[str, _Signature] = {
    "today": _Signature((), DATE, _today),
    "age_on": _Signature((DATE, DATE), NUMBER, _age_on),
    "add_days": _Signature((DATE, NUMBER), DATE, _add_days),
    "add_months": _Signature((DATE, NUMBER), DATE, _add_months),
    "add_years": _Signature((DATE, NUMBER), DATE, _add_years),
    "days_between": _Signature((DATE, DATE), NUMBER, _days_between),
    "add_business_days": _Signature((DATE, NUMBER), DATE, _add_business_days),
    "is_business_day": _Signature((DATE,), BOOL, _is_business_day),
}
# What may follow the ':' of each group function.
_GROUP_BODY_TYPES: dict[str, tuple[Type, ...]] = {
    "count": (BOOL,),
    "any": (BOOL,),
    "all": (BOOL,),
    "sum": (NUMBER,),
    "min": (NUMBER, DATE),
    "max": (NUMBER, DATE),
}
_SPECIAL_FUNCTIONS = frozenset({"answered", "len", "contains", "date"})
_ALL_FUNCTIONS = sorted(_PLAIN_FUNCTIONS.keys() | _GROUP_BODY_TYPES.keys() | _SPECIAL_FUNCTIONS)


def _call_plain(signature: _Signature, arguments: list[_Evaluator]) -> _Evaluator:
    implementation = signature.implementation
    if not arguments:
        return lambda values, context: implementation(context)
    if len(arguments) == 1:
        (only,) = arguments

        def call_one(values: _Values, context: EvalContext) -> Any:
            value = only(values, context)
            if value is UNKNOWN:
                return UNKNOWN
            return implementation(context, value)

        return call_one
    first, second = arguments  # no plain function takes more than two arguments

    def call_two(values: _Values, context: EvalContext) -> Any:
        a = first(values, context)
        if a is UNKNOWN:
            return UNKNOWN
        b = second(values, context)
        if b is UNKNOWN:
            return UNKNOWN
        return implementation(context, a, b)

    return call_two


def _length_of_text(run: _Evaluator) -> _Evaluator:
    def length(values: _Values, context: EvalContext) -> Any:
        value = run(values, context)
        return UNKNOWN if value is UNKNOWN else len(value)

    return length


def _length_of_list(run: _Evaluator) -> _Evaluator:
    def length(values: _Values, context: EvalContext) -> Any:
        value = run(values, context)
        return 0 if value is UNKNOWN else len(value)  # an unanswered group has no items yet

    return length


def _item_binder(type_: Type) -> Callable[[Any], Any]:
    accepts = _accepts(type_)

    def bind(item: Any) -> Any:
        if item is None or item is UNKNOWN:
            return UNKNOWN
        if not accepts(item):
            raise _mismatch("group item", item, type_)
        return item

    return bind


_Quantifier: TypeAlias = Callable[[_Evaluator, str, Callable[[Any], Any], _Evaluator], _Evaluator]


def _any_or_all(decisive: bool) -> _Quantifier:
    """Build any() (decided by a True item) or all() (decided by a False item)."""

    def build(
        group: _Evaluator, variable: str, bind: Callable[[Any], Any], body: _Evaluator
    ) -> _Evaluator:
        def quantify(values: _Values, context: EvalContext) -> Any:
            items = group(values, context)
            if items is UNKNOWN:
                return UNKNOWN
            frame = _Frame(values, variable)
            unknown = False
            for item in items:
                frame.value = bind(item)
                result = body(frame, context)
                if result is decisive:
                    return decisive
                if result is UNKNOWN:
                    unknown = True
            return UNKNOWN if unknown else not decisive

        return quantify

    return build


def _count(
    group: _Evaluator, variable: str, bind: Callable[[Any], Any], body: _Evaluator
) -> _Evaluator:
    def count(values: _Values, context: EvalContext) -> Any:
        items = group(values, context)
        if items is UNKNOWN:
            return 0
        frame = _Frame(values, variable)
        total = 0
        for item in items:
            frame.value = bind(item)
            if body(frame, context) is True:
                total += 1
        return total

    return count


def _sum(
    group: _Evaluator, variable: str, bind: Callable[[Any], Any], body: _Evaluator
) -> _Evaluator:
    def total(values: _Values, context: EvalContext) -> Any:
        items = group(values, context)
        if items is UNKNOWN:
            return UNKNOWN
        frame = _Frame(values, variable)
        result: Any = 0
        for item in items:
            frame.value = bind(item)
            value = body(frame, context)
            if value is UNKNOWN:
                return UNKNOWN
            result = _add(result, value)
        return result

    return total


def _extreme(better: _Binary) -> _Quantifier:
    """Build min() or max(): the best value over the items, UNKNOWN for an empty group."""

    def build(
        group: _Evaluator, variable: str, bind: Callable[[Any], Any], body: _Evaluator
    ) -> _Evaluator:
        def extreme(values: _Values, context: EvalContext) -> Any:
            items = group(values, context)
            if items is UNKNOWN:
                return UNKNOWN
            frame = _Frame(values, variable)
            best: Any = UNKNOWN
            for item in items:
                frame.value = bind(item)
                value = body(frame, context)
                if value is UNKNOWN:
                    return UNKNOWN
                if best is UNKNOWN or better(value, best):
                    best = value
            return best

        return extreme

    return build


_QUANTIFIERS: dict[str, _Quantifier] = {
    "count": _count,
    "any": _any_or_all(True),
    "all": _any_or_all(False),
    "sum": _sum,
    "min": _extreme(operator.lt),
    "max": _extreme(operator.gt),
}


# --------------------------------------------------------------------------- compiler


@dataclass(frozen=True, slots=True)
class _Compiled:
    type: Type
    run: _Evaluator
    constant: Any = _NOT_CONSTANT


def _suggestion(word: str, candidates: list[str]) -> str:
    close = difflib.get_close_matches(word, candidates, n=1)
    return f" (did you mean {close[0]!r}?)" if close else ""


_ORDERING: dict[str, _Binary] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
}
_NUMERIC: dict[str, _Binary] = {"+": _add, "-": _subtract, "*": _multiply, "/": _divide}


class _Compiler:
    """Infer and check the type of every node and build its evaluation closure."""

    def __init__(self, scope: Mapping[str, Type]) -> None:
        self.scope = scope
        self.bound: dict[str, Type] = {}
        self.names: set[str] = set()

    def compile(self, node: _Node) -> _Compiled:
        match node:
            case _Literal(value=value, type=type_):
                return _Compiled(type_, _constant(value), value)
            case _Name():
                return self._name(node)
            case _Member():
                return self._member(node)
            case _Not():
                return _Compiled(BOOL, _negated(self._expect(node.operand, BOOL, "'not'").run))
            case _Negate():
                return self._negate(node)
            case _Logic():
                return self._logic(node)
            case _Arithmetic():
                return self._arithmetic(node)
            case _Compare():
                return self._compare(node)
            case _ListLiteral():
                return self._list(node)
            case _Call():
                return self._call(node)
        raise AssertionError(f"node without a compiler: {node!r}")  # pragma: no cover

    def _expect(self, node: _Node, expected: Type, what: str) -> _Compiled:
        compiled = self.compile(node)
        if compiled.type != expected:
            raise ExpressionError(
                f"{what} needs a {expected}, got {compiled.type}", node.line, node.column
            )
        return compiled

    def _name(self, node: _Name) -> _Compiled:
        if node.name in self.bound:
            return _Compiled(self.bound[node.name], _bound_lookup(node.name))
        if node.name not in self.scope:
            hint = _suggestion(node.name, [*self.scope, *self.bound])
            raise ExpressionError(f"unknown name {node.name!r}{hint}", node.line, node.column)
        self.names.add(node.name)
        return _Compiled(self.scope[node.name], _lookup(node.name, self.scope[node.name]))

    def _member(self, node: _Member) -> _Compiled:
        target = self.compile(node.target)
        if not isinstance(target.type, RecordType):
            raise ExpressionError(
                f"'.{node.field}' needs a record, got {target.type}",
                node.field_line,
                node.field_column,
            )
        fields = target.type.fields
        if node.field not in fields:
            hint = _suggestion(node.field, list(fields))
            raise ExpressionError(
                f"record has no field {node.field!r}{hint}", node.field_line, node.field_column
            )
        type_ = fields[node.field]
        get_record, name, accepts = target.run, node.field, _accepts(type_)

        def member(values: _Values, context: EvalContext) -> Any:
            record = get_record(values, context)
            if record is UNKNOWN:
                return UNKNOWN
            value = record.get(name, UNKNOWN)
            if value is UNKNOWN or value is None:
                return UNKNOWN
            if not accepts(value):
                raise _mismatch(f"field {name!r}", value, type_)
            return value

        return _Compiled(type_, member)

    def _negate(self, node: _Negate) -> _Compiled:
        operand = self._expect(node.operand, NUMBER, "'-'")
        if operand.constant is not _NOT_CONSTANT:
            value = -operand.constant
            return _Compiled(NUMBER, _constant(value), value)
        run = operand.run

        def minus(values: _Values, context: EvalContext) -> Any:
            value = run(values, context)
            return UNKNOWN if value is UNKNOWN else -value

        return _Compiled(NUMBER, minus)

    def _logic(self, node: _Logic) -> _Compiled:
        operands = tuple(
            self._expect(operand, BOOL, f"'{node.operator}'").run for operand in node.operands
        )
        # "and" is decided by a False operand, "or" by a True one; otherwise any unknown
        # operand makes the result unknown.
        decisive = node.operator == "or"

        def kleene(values: _Values, context: EvalContext) -> Any:
            unknown = False
            for operand in operands:
                value = operand(values, context)
                if value is decisive:
                    return decisive
                if value is UNKNOWN:
                    unknown = True
            return UNKNOWN if unknown else not decisive

        return _Compiled(BOOL, kleene)

    def _arithmetic(self, node: _Arithmetic) -> _Compiled:
        first = self.compile(node.first)
        type_ = first.type
        steps: list[tuple[_Binary, _Evaluator]] = []
        for op, operand_node in node.rest:
            operand = self.compile(operand_node)
            if op.symbol == "+" and type_ is TEXT and operand.type is TEXT:
                steps.append((operator.add, operand.run))
                continue
            if type_ is not NUMBER or operand.type is not NUMBER:
                needs = "two numbers or two texts" if op.symbol == "+" else "two numbers"
                raise ExpressionError(
                    f"'{op.symbol}' needs {needs}, got {type_} and {operand.type}",
                    op.line,
                    op.column,
                )
            steps.append((_NUMERIC[op.symbol], operand.run))
        if len(steps) == 1:
            return _Compiled(type_, _strict(steps[0][0], first.run, steps[0][1]))
        start = first.run

        def chain(values: _Values, context: EvalContext) -> Any:
            result = start(values, context)
            for function, operand in steps:
                if result is UNKNOWN:
                    return UNKNOWN
                value = operand(values, context)
                if value is UNKNOWN:
                    return UNKNOWN
                result = function(result, value)
            return result

        return _Compiled(type_, chain)

    def _compare(self, node: _Compare) -> _Compiled:
        op = node.operator
        left, right = self.compile(node.left), self.compile(node.right)
        if op.symbol in ("in", "not in"):
            found = self._membership(left, right, op)
            return _Compiled(BOOL, _negated(found) if op.symbol == "not in" else found)
        function: _Binary
        if op.symbol in ("==", "!="):
            if left.type != right.type:
                raise ExpressionError(
                    f"cannot compare {left.type} with {right.type}", op.line, op.column
                )
            if isinstance(left.type, ListType):
                function = _equal_lists if op.symbol == "==" else _unequal_lists
            else:
                function = operator.eq if op.symbol == "==" else operator.ne
        else:
            if left.type != right.type or left.type not in (NUMBER, DATE):
                raise ExpressionError(
                    f"'{op.symbol}' needs two numbers or two dates, "
                    f"got {left.type} and {right.type}",
                    op.line,
                    op.column,
                )
            function = _ORDERING[op.symbol]
        if right.constant is not _NOT_CONSTANT:
            return _Compiled(BOOL, _strict_constant(function, left.run, right.constant))
        return _Compiled(BOOL, _strict(function, left.run, right.run))

    def _membership(self, item: _Compiled, container: _Compiled, op: _Operator) -> _Evaluator:
        if not isinstance(container.type, ListType):
            raise ExpressionError(
                f"'{op.symbol}' needs a list, got {container.type}", op.line, op.column
            )
        if container.type.item != item.type:
            raise ExpressionError(
                f"'{op.symbol}' looks for a {item.type} in a {container.type}", op.line, op.column
            )
        if container.constant is not _NOT_CONSTANT and isinstance(item.type, ScalarType):
            # A literal list of scalars holds no unknowns, so a set answers definitely.
            return _strict_constant(_is_in_set, item.run, frozenset(container.constant))
        return _strict(_is_in, item.run, container.run)

    def _list(self, node: _ListLiteral) -> _Compiled:
        items = [self.compile(item) for item in node.items]
        item_type = items[0].type
        for item_node, item in zip(node.items, items, strict=True):
            if item.type != item_type:
                raise ExpressionError(
                    f"list items must all be {item_type}, this one is {item.type}",
                    item_node.line,
                    item_node.column,
                )
        type_ = ListType(item_type)
        if all(item.constant is not _NOT_CONSTANT for item in items):
            constant = tuple(item.constant for item in items)
            # A fresh list each time, so a caller that mutates a result cannot poison it.
            return _Compiled(type_, lambda values, context: list(constant), constant)
        runs = tuple(item.run for item in items)
        return _Compiled(type_, lambda values, context: [run(values, context) for run in runs])

    def _call(self, node: _Call) -> _Compiled:
        name = node.function
        if name in _GROUP_BODY_TYPES:
            return self._group_call(node)
        if node.binder is not None:
            raise ExpressionError(
                f"{name}() does not take 'x in group: ...'", node.line, node.column
            )
        if name == "date":
            return self._date_literal(node)
        if name == "answered":
            return self._answered(node)
        if name == "len":
            return self._len(node)
        if name == "contains":
            self._arity(node, 2)
            container, item = (self.compile(arg) for arg in node.args)
            op = _Operator("contains", node.line, node.column)
            return _Compiled(BOOL, self._membership(item, container, op))
        signature = _PLAIN_FUNCTIONS.get(name)
        if signature is None:
            hint = _suggestion(name, _ALL_FUNCTIONS)
            raise ExpressionError(f"unknown function {name!r}{hint}", node.line, node.column)
        self._arity(node, len(signature.params))
        arguments = [
            self._expect(arg, param, f"argument {index} of {name}()").run
            for index, (arg, param) in enumerate(zip(node.args, signature.params, strict=True), 1)
        ]
        return _Compiled(signature.result, _call_plain(signature, arguments))

    @staticmethod
    def _arity(node: _Call, count: int) -> None:
        if len(node.args) != count:
            plural = "argument" if count == 1 else "arguments"
            raise ExpressionError(
                f"{node.function}() takes {count} {plural}, got {len(node.args)}",
                node.line,
                node.column,
            )

    def _date_literal(self, node: _Call) -> _Compiled:
        self._arity(node, 1)
        (arg,) = node.args
        if not (isinstance(arg, _Literal) and arg.type is TEXT):
            raise ExpressionError(
                'date() takes a string literal such as date("2026-04-01")', arg.line, arg.column
            )
        text = str(arg.value)
        try:
            if not _ISO_DATE.fullmatch(text):
                raise ValueError(text)
            value = date.fromisoformat(text)
        except ValueError:
            raise ExpressionError(
                f"{text!r} is not a date in the form YYYY-MM-DD", arg.line, arg.column
            ) from None
        return _Compiled(DATE, _constant(value), value)

    def _answered(self, node: _Call) -> _Compiled:
        self._arity(node, 1)
        run = self.compile(node.args[0]).run

        def answered(values: _Values, context: EvalContext) -> Any:
            value = run(values, context)
            if value is UNKNOWN:
                return False
            if isinstance(value, str | list | tuple):
                return len(value) > 0
            return True

        return _Compiled(BOOL, answered)

    def _len(self, node: _Call) -> _Compiled:
        self._arity(node, 1)
        (arg_node,) = node.args
        arg = self.compile(arg_node)
        if arg.type is TEXT:
            return _Compiled(NUMBER, _length_of_text(arg.run))
        if isinstance(arg.type, ListType):
            return _Compiled(NUMBER, _length_of_list(arg.run))
        raise ExpressionError(
            f"len() needs a text or a list, got {arg.type}", arg_node.line, arg_node.column
        )

    def _group_call(self, node: _Call) -> _Compiled:
        name, binder = node.function, node.binder
        if binder is None:
            return self._count_items(node)
        group = self.compile(binder.group)
        if not isinstance(group.type, ListType):
            raise ExpressionError(
                f"'{binder.variable} in ...' needs a list, got {group.type}",
                binder.group.line,
                binder.group.column,
            )
        if binder.variable in self.scope or binder.variable in self.bound:
            raise ExpressionError(
                f"{binder.variable!r} is already a name here; choose another item name",
                binder.line,
                binder.column,
            )
        item_type = group.type.item
        self.bound[binder.variable] = item_type
        try:
            body = self.compile(binder.body)
        finally:
            del self.bound[binder.variable]
        wanted = _GROUP_BODY_TYPES[name]
        if body.type not in wanted:
            allowed = " or ".join(str(type_) for type_ in wanted)
            raise ExpressionError(
                f"{name}() needs a {allowed} after ':', got {body.type}",
                binder.body.line,
                binder.body.column,
            )
        run = _QUANTIFIERS[name](group.run, binder.variable, _item_binder(item_type), body.run)
        result_type: Type = {"count": NUMBER, "sum": NUMBER, "any": BOOL, "all": BOOL}.get(
            name, body.type
        )
        return _Compiled(result_type, run)

    def _count_items(self, node: _Call) -> _Compiled:
        if node.function != "count":
            raise ExpressionError(
                f"{node.function}() needs the form {node.function}(x in group: ...)",
                node.line,
                node.column,
            )
        self._arity(node, 1)
        (arg,) = node.args
        if isinstance(arg, _Compare) and arg.operator.symbol == "in":
            raise ExpressionError(
                "count(x in group) lacks a condition: write count(x in group: condition), "
                "or count(group) for all items",
                arg.line,
                arg.column,
            )
        group = self.compile(arg)
        if not isinstance(group.type, ListType):
            raise ExpressionError(f"count() needs a list, got {group.type}", arg.line, arg.column)
        return _Compiled(NUMBER, _length_of_list(group.run))


# --------------------------------------------------------------------------- public API


@dataclass(frozen=True)
class CompiledExpression:
    """A parsed and type-checked expression, ready to evaluate many times."""

    source: str
    type: Type
    names: frozenset[str]
    _run: _Evaluator = field(repr=False, compare=False)

    def evaluate(self, values: Mapping[str, object], context: EvalContext) -> object:
        """Evaluate against answers; a name missing from `values` counts as UNKNOWN."""
        return self._run(values, context)


def compile_expression(
    source: str, scope: Mapping[str, Type], *, expect: Type | None = None
) -> CompiledExpression:
    """Parse and type-check `source` against the names in `scope`, failing with its position."""
    if not isinstance(source, str):
        raise ExpressionError(f"expression must be text, got {type(source).__name__}")
    root = _parse(source)
    compiler = _Compiler(scope)
    compiled = compiler.compile(root)
    if expect is not None and compiled.type != expect:
        raise ExpressionError(
            f"expected a {expect} expression, got {compiled.type}", root.line, root.column
        )
    return CompiledExpression(source, compiled.type, frozenset(compiler.names), compiled.run)
