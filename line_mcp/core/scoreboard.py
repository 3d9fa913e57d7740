"""The LINE scoreboard H and its update rule (paper, section 3.2)."""

from __future__ import annotations

import random
from collections.abc import Sequence
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from line_mcp.errors import InputError

Step = int | Literal["S"]
#: Who proposed a concept: the vocabulary, the built-in LLM ("llm"), offline knowledge
#: with no LLM answer ("guided": WordNet, bank labels, compositions; the step's
#: ``proposal_origin`` names which), the summary step, or an MCP client.
Origin = Literal["vocabulary", "llm", "guided", "summary", "client"]


class ScoreboardEntry(BaseModel):
    """One scored concept on a neuron's scoreboard.

    Attributes:
        concept: The concept text.
        score: The neuron's mean activation over the concept's images.
        step: 0 for the initial vocabulary, 1..N for loop proposals, "S" for the summary.
        novel: True if the concept was generated, False if it came from the vocabulary.
    """

    model_config = ConfigDict(frozen=True)

    concept: str
    score: float
    step: Step
    novel: bool


class ScoreboardUpdate(BaseModel):
    """The outcome of one update: the new board and the entry that left it."""

    entries: list[ScoreboardEntry]
    removed: ScoreboardEntry
    replaced_minimum: bool


def mean_activation(activations: Sequence[float] | np.ndarray) -> float:
    """The LINE score of a concept: the mean activation over its images (paper eq. 2).

    Raises:
        ValueError: for an empty set of activations.
    """
    values = np.asarray(activations, dtype=np.float64)
    if values.size == 0:
        raise ValueError("cannot score a concept with no images")
    return float(values.mean())


def update_scoreboard(
    entries: Sequence[ScoreboardEntry], new: ScoreboardEntry, rng: random.Random
) -> ScoreboardUpdate:
    """Add ``new`` to the board and remove one entry, keeping its size fixed.

    If ``new`` beats the current minimum, the minimum leaves. Otherwise an
    existing entry ``r`` leaves with probability proportional to
    ``max(score) - score_r``: the best entry always survives and weak ones
    leave first, while ``new`` gets to stay and steer the next proposal.

    Args:
        entries: The current board (not modified).
        new: The freshly scored concept.
        rng: Source of randomness for the stochastic removal.

    Returns:
        A :class:`ScoreboardUpdate` with the new entries (best first).

    Example:
        >>> import random
        >>> board = [ScoreboardEntry(concept=c, score=s, step=0, novel=False)
        ...          for c, s in [("dog", 3.0), ("cat", 1.0)]]
        >>> new = ScoreboardEntry(concept="puppy", score=2.0, step=1, novel=True)
        >>> update_scoreboard(board, new, random.Random(0)).removed.concept
        'cat'
    """
    if not entries:
        raise ValueError("the scoreboard is empty; initialise it before updating")
    current = list(entries)
    minimum = min(range(len(current)), key=lambda i: current[i].score)
    replaced_minimum = new.score > current[minimum].score
    if replaced_minimum:
        leaving = minimum
    else:
        best = max(e.score for e in current)
        weights = [best - e.score for e in current]
        if sum(weights) <= 0:  # all scores equal: any entry may leave
            weights = [1.0] * len(current)
        leaving = rng.choices(range(len(current)), weights=weights)[0]
    removed = current.pop(leaving)
    current.append(new)
    current.sort(key=lambda e: e.score, reverse=True)
    return ScoreboardUpdate(entries=current, removed=removed, replaced_minimum=replaced_minimum)


def initial_scoreboard(
    concepts: Sequence[str], scores: Sequence[float], n_top: int, n_random: int, rng: random.Random
) -> list[ScoreboardEntry]:
    """The initial board: the ``n_top`` best vocabulary concepts plus ``n_random`` others.

    Args:
        concepts: The vocabulary.
        scores: One score per vocabulary concept.
        n_top: How many of the best concepts to keep (paper: 5).
        n_random: How many further concepts to sample uniformly (paper: 5).
        rng: Source of randomness for the random picks.

    Returns:
        The entries, best first, all with ``step=0`` and ``novel=False``.
    """
    if len(concepts) != len(scores):
        raise ValueError(f"{len(concepts)} concepts but {len(scores)} scores")
    if len(concepts) < n_top + n_random:
        raise InputError(
            f"the vocabulary has {len(concepts)} concepts; the initial scoreboard needs "
            f"at least {n_top + n_random} (top {n_top} + {n_random} random)"
        )
    # Stable order on ties, so a seed fully determines the board.
    order = sorted(range(len(concepts)), key=lambda i: (-scores[i], i))
    top = order[:n_top]
    rest = sorted(order[n_top:])
    chosen = top + rng.sample(rest, n_random)
    board = [
        ScoreboardEntry(concept=concepts[i], score=float(scores[i]), step=0, novel=False)
        for i in chosen
    ]
    return sorted(board, key=lambda e: e.score, reverse=True)


def best_entry(entries: Sequence[ScoreboardEntry]) -> ScoreboardEntry:
    """The highest-scoring entry: the neuron's label."""
    return max(entries, key=lambda e: e.score)
