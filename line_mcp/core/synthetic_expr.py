"""Expressions that define synthetic neurons, parsed and evaluated without models.

A synthetic neuron is a formula over primitive detectors, e.g.
``and(object(car), color(red))``. The grammar::

    expr      := [NUMBER "*"] atom
    atom      := primitive | combinator
    primitive := ("object" | "color" | "colour" | "pattern") "(" WORD ")"
    combinator:= ("and" | "or") "(" expr ("," expr)+ ")"  |  "not" "(" expr ")"

``WORD`` is letters, digits, spaces, hyphens and apostrophes (``object(fire
engine)``). Combinators are fuzzy logic on values in 0..1: ``and`` is the
product (every part must be present, and each part keeps counting: a red car
outranks a grey car even when both are clearly cars, which ``min`` would not
see), ``or`` the maximum, ``not`` ``1 - a``, and ``w*a`` scales by ``w``.

Example:
    >>> expr = parse_expression("or(object(dog), 0.5*and(color(Red), pattern(stripes)))")
    >>> str(expr)
    'or(object(dog), 0.5*and(color(red), pattern(stripes)))'
    >>> [str(p) for p in primitives(expr)]
    ['object(dog)', 'color(red)', 'pattern(stripes)']
    >>> import numpy as np
    >>> values = {p: np.array([0.8]) for p in primitives(expr)}
    >>> round(float(evaluate(expr, values)[0]), 2)
    0.8
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from line_mcp.errors import InputError

if TYPE_CHECKING:
    import numpy as np

PrimitiveKind = Literal["object", "color", "pattern"]
Operator = Literal["and", "or", "not"]

PRIMITIVE_NAMES: dict[str, PrimitiveKind] = {
    "object": "object",
    "color": "color",
    "colour": "color",
    "pattern": "pattern",
}
COMBINATORS: tuple[Operator, ...] = ("and", "or", "not")
_ALLOWED = "object(WORD), color(NAME), pattern(NAME), and(a, b, ...), or(a, b, ...), not(a), 0.5*a"
_WORD = re.compile(r"[A-Za-z0-9' \-]+")
_NAME = re.compile(r"[A-Za-z]+")
_NUMBER = re.compile(r"\d+(\.\d*)?|\.\d+")


class ExpressionError(InputError):
    """An expression that does not parse; ``position`` is the 0-based character offset."""

    def __init__(self, text: str, position: int, message: str) -> None:
        self.text, self.position, self.message = text, position, message
        pointer = " " * position + "^"
        super().__init__(
            f"{message} at character {position + 1}:\n  {text}\n  {pointer}\nallowed: {_ALLOWED}"
        )


@dataclass(frozen=True)
class Primitive:
    """A detector: ``kind`` and its (lower-case) argument."""

    kind: PrimitiveKind
    word: str

    def __str__(self) -> str:
        return f"{self.kind}({self.word})"


@dataclass(frozen=True)
class Combination:
    """``and`` / ``or`` over two or more parts, or ``not`` of one."""

    operator: Operator
    parts: tuple[Expression, ...]

    def __str__(self) -> str:
        return f"{self.operator}({', '.join(map(str, self.parts))})"


@dataclass(frozen=True)
class Weighted:
    """``weight * part``."""

    weight: float
    part: Expression

    def __str__(self) -> str:
        return f"{self.weight:g}*{self.part}"


Expression = Primitive | Combination | Weighted


class _Parser:
    def __init__(self, text: str) -> None:
        self.text = text
        self.at = 0

    def fail(self, message: str, at: int | None = None) -> ExpressionError:
        return ExpressionError(self.text, self.at if at is None else at, message)

    def skip(self) -> None:
        while self.at < len(self.text) and self.text[self.at].isspace():
            self.at += 1

    def expect(self, char: str) -> None:
        self.skip()
        if self.at >= len(self.text):
            raise self.fail(f"expected {char!r} but the expression ended")
        if self.text[self.at] != char:
            raise self.fail(f"expected {char!r}, found {self.text[self.at]!r}")
        self.at += 1

    def expression(self) -> Expression:
        self.skip()
        number = _NUMBER.match(self.text, self.at)
        if number:
            self.at = number.end()
            self.expect("*")
            return Weighted(float(number.group()), self.expression())
        return self.atom()

    def atom(self) -> Expression:
        self.skip()
        start = self.at
        name = _NAME.match(self.text, self.at)
        if not name:
            found = repr(self.text[self.at]) if self.at < len(self.text) else "the end"
            raise self.fail(f"expected a detector, a combinator or a weight, found {found}")
        keyword = name.group().lower()
        self.at = name.end()
        if keyword in PRIMITIVE_NAMES:
            self.expect("(")
            self.skip()
            word = _WORD.match(self.text, self.at)
            if not word or not word.group().strip():
                raise self.fail(f"{keyword}(...) needs a word: letters, digits, spaces, hyphens")
            self.at = word.end()
            self.expect(")")
            kind = PRIMITIVE_NAMES[keyword]
            return Primitive(kind, " ".join(word.group().lower().split()))
        if keyword in COMBINATORS:
            self.expect("(")
            parts = [self.expression()]
            while True:
                self.skip()
                if self.at < len(self.text) and self.text[self.at] == ",":
                    self.at += 1
                    parts.append(self.expression())
                    continue
                self.expect(")")
                break
            if keyword == "not" and len(parts) != 1:
                raise self.fail("not(...) takes exactly one part", start)
            if keyword != "not" and len(parts) < 2:
                raise self.fail(f"{keyword}(...) needs two or more parts", start)
            return Combination(keyword, tuple(parts))  # type: ignore[arg-type]
        raise self.fail(f"unknown name {name.group()!r}", start)


def parse_expression(text: str) -> Expression:
    """Parse a synthetic-neuron expression.

    Raises:
        ExpressionError: with the position and what is allowed.

    Example:
        >>> parse_expression("and(object(car), colour(red))")
        Combination(operator='and', parts=(Primitive(kind='object', word='car'), Primitive(kind='color', word='red')))
        >>> parse_expression("and(object(car))")
        Traceback (most recent call last):
        ...
        line_mcp.core.synthetic_expr.ExpressionError: and(...) needs two or more parts at character 1:
          and(object(car))
          ^
        allowed: object(WORD), color(NAME), pattern(NAME), and(a, b, ...), or(a, b, ...), not(a), 0.5*a
    """  # noqa: E501
    parser = _Parser(text)
    expression = parser.expression()
    parser.skip()
    if parser.at != len(text):
        raise parser.fail(f"unexpected {text[parser.at]!r} after a complete expression")
    return expression


def primitives(expression: Expression) -> list[Primitive]:
    """The distinct detectors an expression reads, in order of first use."""
    found: dict[Primitive, None] = {}

    def walk(node: Expression) -> None:
        if isinstance(node, Primitive):
            found.setdefault(node)
        elif isinstance(node, Weighted):
            walk(node.part)
        else:
            for part in node.parts:
                walk(part)

    walk(expression)
    return list(found)


def evaluate(expression: Expression, values: Mapping[Primitive, np.ndarray]) -> np.ndarray:
    """The expression's value per image, from each primitive's values (arrays of one shape).

    Example:
        >>> import numpy as np
        >>> a, b = Primitive("object", "car"), Primitive("color", "red")
        >>> values = {a: np.array([0.9, 0.9]), b: np.array([0.5, 0.0])}
        >>> evaluate(parse_expression("and(object(car), color(red))"), values).tolist()
        [0.45, 0.0]
        >>> evaluate(parse_expression("not(color(red))"), values).tolist()
        [0.5, 1.0]
    """
    import numpy as np

    if isinstance(expression, Primitive):
        return np.asarray(values[expression], dtype=np.float64)
    if isinstance(expression, Weighted):
        return expression.weight * evaluate(expression.part, values)
    parts = [evaluate(part, values) for part in expression.parts]
    if expression.operator == "not":
        return 1.0 - parts[0]
    if expression.operator == "and":
        return np.prod(np.stack(parts), axis=0)
    return np.max(np.stack(parts), axis=0)
