"""Concept strings: the text rule, normalisation and duplicate detection.

Every concept, whoever proposes it (the built-in LLM, a guided candidate, an MCP
client, a ``line-mcp`` command), passes one text rule, :func:`concept_text_error`:
printable English text of letters, digits, spaces and a little punctuation, at
most the loop's word limit, whitespace normalised.

LLMs repeat themselves in small variations ("Red Fruits", "a red fruit",
"red-fruit"). Every proposal is compared with the concepts already tried under
one canonical key, so such repeats are rejected instead of wasting a step.
"""

from __future__ import annotations

import difflib
import functools
import re
import unicodedata
from collections.abc import Callable, Iterable

from line_mcp.errors import InputError

_ARTICLES = {"a", "an", "the"}
_KEEP_S = ("ss", "us", "is", "ous", "ics")
# Edit-distance ratio above which two keys count as the same concept
# ("grey cat" / "gray cat", "tshirt" / "t shirt").
NEAR_DUPLICATE_RATIO = 0.87


#: Longest concept, in characters (a few words; also what an MCP client may send).
MAX_CONCEPT_CHARS = 80
#: The punctuation a concept may contain besides letters, digits and spaces.
CONCEPT_PUNCTUATION = "-'’.,:&/()+!"
_ALLOWED = f"letters, digits, spaces and the punctuation {' '.join(CONCEPT_PUNCTUATION)} ("


def normalise_whitespace(text: str) -> str:
    r"""Spaces, tabs and line breaks collapsed to single spaces, none at the ends.

    Example:
        >>> normalise_whitespace("  striped\t fur\n")
        'striped fur'
    """
    return " ".join(text.split())


def _character_error(char: str) -> str | None:
    """Why ``char`` may not be in a concept, or None."""
    if char == " " or char in CONCEPT_PUNCTUATION:
        return None
    category = unicodedata.category(char)
    if category.startswith("N") and char.isascii():
        return None
    if category.startswith("L"):
        if unicodedata.name(char, "").startswith("LATIN"):
            return None
        return (
            f"is not English: {char!r} is not a Latin letter (the image sources, WordNet "
            "and the vocabulary are English; write the concept in English)"
        )
    if category.startswith("C"):
        return f"contains the control or non-printable character {char!a}"
    if char in "<>{}[]`*_#|\\~^$=@%\"":
        return f"contains markup or template syntax ({char!r})"
    return f"contains {char!r}"


def concept_text_error(text: str, max_words: int | None = 3) -> str | None:
    """Why ``text`` is not a valid concept text, or None when it is: the one rule for
    concepts from every source (checked on the whitespace-normalised text).

    Refused: empty or whitespace-only text, control and other non-printable
    characters (NUL, BEL, ANSI escapes), markup or template syntax (``<b>``,
    ``{{ }}``, ``**``), letters of other scripts than Latin (concepts are English;
    accents as in "café" are fine), text without letters, more than ``max_words``
    words (None: no word limit, the caller applies its own) and more than
    :data:`MAX_CONCEPT_CHARS` characters. Each message ends with what is allowed.

    Example:
        >>> concept_text_error("striped  fur") is None
        True
        >>> concept_text_error("<b>cat</b>")
        "'<b>cat</b>' contains markup or template syntax ('<'); a concept is letters, \
digits, spaces and the punctuation - ' ’ . , : & / ( ) + ! (1 to 3 words, at most 80 characters)"
    """
    concept = normalise_whitespace(text)
    words = "" if max_words is None else f"1 to {max_words} words, "
    allowed = f"{_ALLOWED}{words}at most {MAX_CONCEPT_CHARS} characters)"
    if not concept:
        return f"the concept is empty (or only whitespace); a concept is {allowed}"
    for char in dict.fromkeys(text):  # the raw text: a control character may be whitespace
        if char.isspace() and char not in " \t\n\r":
            control = f"contains the control or non-printable character {char!a}"
            return f"{text.strip()!r} {control}; a concept is {allowed}"
        if char.isspace():
            continue
        reason = _character_error(char)
        if reason is not None:
            return f"{concept!r} {reason}; a concept is {allowed}"
    if not re.search(r"[^\W\d_]", concept):
        return f"{concept!r} contains no words (letters); a concept is {allowed}"
    if len(concept) > MAX_CONCEPT_CHARS:
        return f"the concept has {len(concept)} characters; a concept is {allowed}"
    n_words = len(concept.split())
    if max_words is not None and n_words > max_words:
        return f"{concept!r} has {n_words} words; at most {max_words} are allowed"
    return None


def checked_concept(text: str, max_words: int | None = 3) -> str:
    """``text`` with its whitespace normalised, if it passes :func:`concept_text_error`.

    Raises:
        InputError: The text is not a valid concept; the message says why and
            what is allowed.

    Example:
        >>> checked_concept(" two  red cats ")
        'two red cats'
    """
    error = concept_text_error(text, max_words)
    if error is not None:
        raise InputError(error)
    return normalise_whitespace(text)


def clean_concept(text: str) -> str:
    """Tidy a concept for display: strip quotes, markup, punctuation at the ends
    and extra whitespace, keeping the LLM's own casing and words.

    Args:
        text: Raw concept text, e.g. ``' "Red fruit." '``.

    Returns:
        The tidied concept, e.g. ``'Red fruit'``; may be empty.

    Example:
        >>> clean_concept('**"polka dots".**')
        'polka dots'
    """
    text = re.sub(r"[*_`#]+", " ", text)
    text = text.strip().strip("\"'“”‘’«»").strip()
    text = re.sub(r"\s+", " ", text)
    return text.strip(" .,;:!?-\"'“”‘’()[]{}").strip()


def _singular(word: str) -> str:
    if len(word) <= 3 or word.endswith(_KEEP_S):
        return word
    if word.endswith("ies"):
        return word[:-3] + "y"
    if word.endswith(("ches", "shes", "xes", "zes", "sses")):
        return word[:-2]
    if word.endswith("s"):
        return word[:-1]
    return word


@functools.lru_cache(maxsize=1 << 16)  # pure, and asked for the same concepts every step
def concept_key(text: str) -> str:
    """Canonical key of a concept: lowercase, no articles, singular words,
    hyphens and punctuation as spaces.

    Example:
        >>> concept_key("The Red-Fruits")
        'red fruit'
    """
    words = re.sub(r"[^0-9a-z]+", " ", clean_concept(text).lower()).split()
    return " ".join(_singular(w) for w in words if w not in _ARTICLES)


@functools.lru_cache(maxsize=1 << 18)  # pure; guided steps compare the same pairs every step
def near_keys(a: str, b: str) -> bool:
    """Whether two canonical keys name one concept: equal but for spacing, or a
    near-identical spelling (edit ratio at least ``NEAR_DUPLICATE_RATIO``).

    Example:
        >>> near_keys("grey cat", "gray cat"), near_keys("t shirt", "tshirt")
        (True, True)
        >>> near_keys("cat", "dog")
        False
    """
    if a.replace(" ", "") == b.replace(" ", ""):
        return True
    # Cheap upper bounds of ratio() first (the length bound, then quick_ratio): the
    # answer is the same, and most pairs stop there.
    if 2 * min(len(a), len(b)) < NEAR_DUPLICATE_RATIO * (len(a) + len(b)):
        return False
    matcher = difflib.SequenceMatcher(None, a, b)
    return (
        matcher.quick_ratio() >= NEAR_DUPLICATE_RATIO
        and matcher.ratio() >= NEAR_DUPLICATE_RATIO
    )


def find_duplicate(
    candidate: str,
    existing: Iterable[str],
    similarity: Callable[[str, str], float] | None = None,
    similarity_threshold: float = 0.92,
) -> str | None:
    """Return the concept in ``existing`` that ``candidate`` duplicates, if any.

    Two concepts are duplicates when their canonical keys are equal, when the
    keys differ only by spacing or a near-identical spelling, or (when a
    ``similarity`` function such as a text-embedding cosine is given) when
    their similarity reaches ``similarity_threshold``.

    Args:
        candidate: The new concept.
        existing: Concepts already proposed or on the scoreboard.
        similarity: Optional semantic similarity of two concepts in [-1, 1].
        similarity_threshold: Cut-off for ``similarity``.

    Returns:
        The first matching existing concept, or None.

    Example:
        >>> find_duplicate("Polka-dots", ["polka dot", "stripes"])
        'polka dot'
    """
    key = concept_key(candidate)
    for other in existing:
        if near_keys(key, concept_key(other)):
            return other
        if similarity is not None and similarity(candidate, other) >= similarity_threshold:
            return other
    return None
