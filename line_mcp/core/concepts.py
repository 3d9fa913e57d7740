"""Concept strings: normalisation and duplicate detection.

LLMs repeat themselves in small variations ("Red Fruits", "a red fruit",
"red-fruit"). Every proposal is compared with the concepts already tried under
one canonical key, so such repeats are rejected instead of wasting a step.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Callable, Iterable

_ARTICLES = {"a", "an", "the"}
_KEEP_S = ("ss", "us", "is", "ous", "ics")
# Edit-distance ratio above which two keys count as the same concept
# ("grey cat" / "gray cat", "tshirt" / "t shirt").
NEAR_DUPLICATE_RATIO = 0.87


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


def concept_key(text: str) -> str:
    """Canonical key of a concept: lowercase, no articles, singular words,
    hyphens and punctuation as spaces.

    Example:
        >>> concept_key("The Red-Fruits")
        'red fruit'
    """
    words = re.sub(r"[^0-9a-z]+", " ", clean_concept(text).lower()).split()
    return " ".join(_singular(w) for w in words if w not in _ARTICLES)


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
        other_key = concept_key(other)
        if key == other_key or key.replace(" ", "") == other_key.replace(" ", ""):
            return other
        if difflib.SequenceMatcher(None, key, other_key).ratio() >= NEAR_DUPLICATE_RATIO:
            return other
        if similarity is not None and similarity(candidate, other) >= similarity_threshold:
            return other
    return None
