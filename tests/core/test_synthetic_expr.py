import numpy as np
import pytest

from line_mcp.core.synthetic_expr import (
    Combination,
    ExpressionError,
    Primitive,
    Weighted,
    evaluate,
    parse_expression,
    primitives,
)


@pytest.mark.parametrize(
    ("text", "canonical"),
    [
        ("object(dog)", "object(dog)"),
        ("  Object( Fire   Engine )", "object(fire engine)"),
        ("colour(Crimson)", "color(crimson)"),
        ("and(object(car),color(red))", "and(object(car), color(red))"),
        ("or(object(a), object(b), object(c))", "or(object(a), object(b), object(c))"),
        ("not(pattern(stripes))", "not(pattern(stripes))"),
        ("0.5*object(dog)", "0.5*object(dog)"),
        (
            "or(2 * and(object(x), not(color(red))), .25*object(y))",
            "or(2*and(object(x), not(color(red))), 0.25*object(y))",
        ),
    ],
)
def test_good_expressions_round_trip(text, canonical):
    expression = parse_expression(text)
    assert str(expression) == canonical
    assert parse_expression(str(expression)) == expression


@pytest.mark.parametrize(
    ("text", "position", "fragment"),
    [
        ("", 0, "expected a detector"),
        ("object(dog", 10, "expected ')' but the expression ended"),
        ("and(object(car))", 0, "two or more parts"),
        ("not(object(a), object(b))", 0, "exactly one part"),
        ("objekt(dog)", 0, "unknown name 'objekt'"),
        ("and(object(car), colr(red))", 17, "unknown name 'colr'"),
        ("object(dog) extra", 12, "unexpected 'e'"),
        ("object()", 7, "needs a word"),
        ("0.5 object(dog)", 4, "expected '*'"),
        ("or(object(a),, object(b))", 13, "found ','"),
        ("object(dog!)", 10, "expected ')', found '!'"),
    ],
)
def test_bad_expressions_name_the_position(text, position, fragment):
    with pytest.raises(ExpressionError) as info:
        parse_expression(text)
    assert info.value.position == position
    assert fragment in str(info.value)
    assert "allowed: object(WORD)" in str(info.value)
    assert f"at character {position + 1}" in str(info.value)


def test_primitives_are_distinct_in_order():
    expression = parse_expression("or(and(object(a), color(red)), and(object(a), pattern(dots)))")
    assert primitives(expression) == [
        Primitive("object", "a"),
        Primitive("color", "red"),
        Primitive("pattern", "dots"),
    ]


def test_combinators_are_product_max_complement_and_scale():
    a, b = Primitive("object", "a"), Primitive("object", "b")
    values = {a: np.array([0.2, 0.9, 0.5]), b: np.array([0.5, 0.4, 0.0])}
    assert np.allclose(evaluate(Combination("and", (a, b)), values), [0.1, 0.36, 0.0])
    assert np.allclose(evaluate(Combination("or", (a, b)), values), [0.5, 0.9, 0.5])
    assert np.allclose(evaluate(Combination("not", (a,)), values), [0.8, 0.1, 0.5])
    assert np.allclose(evaluate(Weighted(0.5, b), values), [0.25, 0.2, 0.0])

