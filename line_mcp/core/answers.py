"""Parsing and validating the LLM's ``<thinking>/<answer>`` replies."""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable

from pydantic import BaseModel

from line_mcp.core.concepts import (
    clean_concept,
    concept_key,
    concept_text_error,
    find_duplicate,
)

_ANSWER = re.compile(r"<answer>(.*?)(?:</answer>|<|$)", re.S | re.I)
_THINKING = re.compile(r"<thinking>(.*?)(?:</thinking>|<answer>|$)", re.S | re.I)
_PLACEHOLDERS = {"final concept", "summary concept", "concept", "your concept", "answer"}


class ParsedAnswer(BaseModel):
    """What one LLM reply amounts to.

    Attributes:
        concept: The accepted concept, or None when the reply was rejected.
        reasoning: The text of the ``<thinking>`` section (may be empty).
        error: Why the reply was rejected, in words an LLM can act on; None if accepted.
    """

    concept: str | None
    reasoning: str = ""
    error: str | None = None


def extract_answer(text: str) -> tuple[str, str]:
    """Split a reply into (reasoning, answer text), tolerating missing tags.

    The answer is the ``<answer>`` section (closed or not). Without one, the
    text after ``</thinking>`` is taken, or the whole reply if it has no
    ``<thinking>`` section either (a bare concept). A reply whose thinking
    never closes and that has no answer section has no answer: its last line
    is a truncated thought, not a concept.

    Example:
        >>> extract_answer("<thinking>spots</thinking><answer> Polka dots. </answer>")
        ('spots', ' Polka dots. ')
    """
    thinking = _THINKING.search(text)
    reasoning = thinking.group(1).strip() if thinking else ""
    answer = _ANSWER.search(text)
    if answer and answer.group(1).strip():
        return reasoning, answer.group(1)
    closed = re.split(r"</thinking>", text, flags=re.I)
    if len(closed) > 1:
        return reasoning, re.sub(r"</?\w+>", " ", closed[-1])
    if thinking is None and answer is None:
        return "", text
    return reasoning, ""


def parse_answer(
    text: str,
    forbidden: Iterable[str] = (),
    max_words: int = 3,
    similarity: Callable[[str, str], float] | None = None,
) -> ParsedAnswer:
    """Parse one reply and validate its concept.

    Rejected: an empty answer, the template's placeholder, more than
    ``max_words`` words, text without letters, and any concept that duplicates
    one in ``forbidden`` (see :func:`line_mcp.core.concepts.find_duplicate`).

    Args:
        text: The LLM's raw reply.
        forbidden: Concepts that must not be proposed again.
        max_words: Longest accepted concept, in words.
        similarity: Optional semantic similarity used for near-duplicates.

    Returns:
        A :class:`ParsedAnswer`; ``concept`` is set only when accepted.

    Example:
        >>> parse_answer("<answer>Umbrella</answer>", forbidden=["umbrellas"]).error
        "'Umbrella' repeats 'umbrellas', which was already proposed"
    """
    reasoning, raw = extract_answer(text)
    # Only the first line of an answer is the concept; models append commentary.
    first_line = next((line for line in raw.splitlines() if line.strip()), "")
    concept = clean_concept(first_line)
    if not concept:
        return ParsedAnswer(
            concept=None, reasoning=reasoning, error="the reply had no concept in <answer> tags"
        )
    error = concept_error(concept, forbidden, max_words, similarity)
    if error is not None:
        return ParsedAnswer(concept=None, reasoning=reasoning, error=error)
    return ParsedAnswer(concept=concept, reasoning=reasoning)


def concept_error(
    concept: str,
    forbidden: Iterable[str] = (),
    max_words: int = 3,
    similarity: Callable[[str, str], float] | None = None,
) -> str | None:
    """Why ``concept`` may not be a step's concept, or None when it may: the one rule
    for every proposer (the built-in LLM's replies and a client's own concepts).

    Refused: what :func:`line_mcp.core.concepts.concept_text_error` refuses (empty,
    control characters, markup, other scripts than Latin, no letters, more than
    ``max_words`` words), the template's placeholder, and a duplicate of a
    ``forbidden`` concept (normalised, near-identical spelling, or ``similarity``
    at the threshold; see :func:`line_mcp.core.concepts.find_duplicate`). An
    LLM's reply is tidied first (:func:`line_mcp.core.concepts.clean_concept`).

    Example:
        >>> concept_error("Jelly fish", ["jellyfish"])
        "'Jelly fish' repeats 'jellyfish', which was already proposed"
        >>> concept_error("   ").split(";")[0]
        'the concept is empty (or only whitespace)'
    """
    concept = clean_concept(concept)
    error = concept_text_error(concept, max_words)
    if error is not None:
        return error
    if concept_key(concept) in _PLACEHOLDERS:
        return "the answer repeated the placeholder"
    duplicate = find_duplicate(concept, forbidden, similarity)
    if duplicate is not None:
        return f"{concept!r} repeats {duplicate!r}, which was already proposed"
    return None
