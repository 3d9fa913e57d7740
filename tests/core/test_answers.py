import pytest

from line_mcp.core.answers import extract_answer, parse_answer
from line_mcp.core.concepts import clean_concept, concept_key, find_duplicate


@pytest.mark.parametrize(
    ("reply", "concept"),
    [
        ("<thinking>spots</thinking>\n<answer>\npolka dots\n</answer>", "polka dots"),
        ("<thinking>x</thinking><answer>Umbrella.", "Umbrella"),  # unclosed answer
        ('<answer>  "red fruit" </answer> some chatter', "red fruit"),
        ("<thinking>x</thinking>\nstriped fur", "striped fur"),  # no answer tags
        ("checkered pattern", "checkered pattern"),  # a bare concept
        ("<answer>**Latte art**!</answer>", "Latte art"),
        ("<answer>\nfire truck\nbecause it is red\n</answer>", "fire truck"),
    ],
)
def test_parse_accepts_tolerated_formats(reply, concept):
    assert parse_answer(reply).concept == concept


@pytest.mark.parametrize(
    ("reply", "error"),
    [
        ("<answer></answer>", "no concept"),
        ("<thinking>The top items are all dogs and a kangaroo cannot", "no concept"),
        ("<answer>FINAL_CONCEPT</answer>", "placeholder"),
        ("<answer>1234</answer>", "no words"),
        ("<answer>a very long concept that rambles</answer>", "at most 3"),
        ("<answer>Umbrellas</answer>", "repeats 'umbrella'"),
    ],
)
def test_parse_rejects_with_a_reason(reply, error):
    parsed = parse_answer(reply, forbidden=["umbrella"])
    assert parsed.concept is None
    assert error in parsed.error


def test_reasoning_is_kept():
    reasoning, answer = extract_answer("<thinking>round and red</thinking><answer>ball</answer>")
    assert (reasoning, answer) == ("round and red", "ball")


def test_semantic_similarity_rejects_near_duplicates():
    similarity = lambda a, b: 0.95 if {a, b} == {"puppy", "dog"} else 0.0  # noqa: E731
    assert parse_answer("<answer>puppy</answer>", ["dog"], similarity=similarity).concept is None
    assert (
        parse_answer("<answer>kitten</answer>", ["dog"], similarity=similarity).concept == "kitten"
    )


@pytest.mark.parametrize(
    ("a", "b"),
    [
        ("The Red-Fruits", "red fruit"),
        ("Boxes", "box"),
        ("berries", "berry"),
        ("T-shirt", "tshirt"),
        ("grey cat", "gray cat"),
    ],
)
def test_duplicates_ignore_case_plural_spacing_and_spelling(a, b):
    assert find_duplicate(a, ["zebra", b]) == b


@pytest.mark.parametrize(("a", "b"), [("glass", "grass"), ("bus", "bush"), ("cat", "car")])
def test_distinct_concepts_are_not_duplicates(a, b):
    assert find_duplicate(a, [b]) is None


def test_key_and_clean():
    assert concept_key("A glass") == "glass"
    assert clean_concept('  "Polka dots." ') == "Polka dots"
