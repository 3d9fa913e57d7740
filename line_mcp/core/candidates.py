"""Knowledge-guided concept candidates, and the strategies that pick one.

A 100-300 M parameter LLM cannot do LINE's proposal step by free generation
(measured on SmolLM2 and its peers), so proposals can instead be drawn from knowledge this
machine has offline, around the board's best concepts:

- WordNet relations of each top concept: its hypernyms (generalise), hyponyms
  (specialise) and siblings, and the lowest common hypernym of the top ones;
- the image bank's own labels nearest the top concepts (concepts the bank
  generator can actually draw);
- compositions: a colour, texture or shape attribute with a top object.

Candidates already proposed or on the board are dropped
(:func:`~line_mcp.core.concepts.find_duplicate`), and a ranker orders the
rest: embedding proximity to the top concepts weighted by score, the LLM's
likelihood of each candidate as the answer to the LINE prompt, or both.
Exploration (sampling instead of taking the best) is explicit and seeded.
"""

from __future__ import annotations

import math
import random
from collections.abc import Callable, Sequence
from typing import Any, Literal

import numpy as np
from pydantic import BaseModel, ConfigDict

from line_mcp.core.concepts import (
    concept_key,
    concept_text_error,
    near_keys,
)
from line_mcp.core.scoreboard import ScoreboardEntry

#: Where a proposal came from (recorded as ``StepRecord.proposal_origin``).
ProposalOrigin = Literal[
    "llm",
    "wordnet-hypernym",
    "wordnet-hyponym",
    "wordnet-sibling",
    "wordnet-common-hypernym",
    "bank",
    "composition",
    "pool",
]
Ranker = Literal["embedding", "llm", "both"]

#: Attributes combined with a top object ("striped cat"): colours, textures, shapes.
ATTRIBUTES: tuple[str, ...] = (
    "red",
    "yellow",
    "green",
    "blue",
    "black and white",
    "striped",
    "spotted",
    "furry",
    "metal",
    "wooden",
    "round",
    "small",
)
# Hypernyms this general say nothing about a neuron ("object", "organism").
_MIN_HYPERNYM_DEPTH = 5
_ABSTRACT = {"whole", "object", "artifact", "organism", "being", "instrumentality", "matter"}
# Weight of "a bank image matches this concept" in the embedding ranker.
DRAWABLE_WEIGHT = 0.5


class Candidate(BaseModel):
    """One candidate concept.

    Attributes:
        concept: The concept text.
        origin: Which knowledge produced it.
        basis: The board concepts it was derived from.
    """

    model_config = ConfigDict(frozen=True)

    concept: str
    origin: ProposalOrigin
    basis: tuple[str, ...] = ()


class RankedCandidates(BaseModel):
    """A ranker's verdict: the candidates, their scores and the pick.

    Attributes:
        candidates: Every candidate considered, in generation order.
        scores: The ranker's score per candidate (higher is better).
        chosen: Index of the picked candidate.
        explored: True when the pick was sampled rather than the best.
    """

    candidates: list[Candidate]
    scores: list[float]
    chosen: int
    explored: bool

    @property
    def choice(self) -> Candidate:
        """The picked candidate."""
        return self.candidates[self.chosen]

    def summary(self, top: int = 5) -> str:
        """A one-line account of the pick and the runners-up, for the run record."""
        order = sorted(range(len(self.scores)), key=lambda i: -self.scores[i])[:top]
        listing = ", ".join(
            f"{self.candidates[i].concept} ({self.candidates[i].origin}, {self.scores[i]:.2f})"
            for i in order
        )
        how = "sampled (exploration)" if self.explored else "the best"
        return (
            f"picked {self.choice.concept!r} ({self.choice.origin}), {how} of "
            f"{len(self.candidates)} candidates; top: {listing}"
        )


def _head_phrases(concept: str) -> list[tuple[str, str]]:
    """(phrase, modifier) pairs to look up, longest phrase first: 'red fire truck' ->
    ('red fire truck', ''), ('fire truck', 'red'), ('truck', 'red fire')."""
    words = concept.split()
    return [(" ".join(words[i:]), " ".join(words[:i])) for i in range(len(words))]


class ConceptKnowledge:
    """Generates candidates around a scoreboard from WordNet, bank labels and attributes.

    Args:
        wordnet: A :class:`~line_mcp.knowledge.wordnet.WordNet`, or None to skip its relations.
        bank_matches: ``(concept, k) -> [(bank label, similarity)]`` of the image
            generator, when it draws from a labeled bank; None otherwise.
        visual: WordNet offsets preferred when a word has several senses
            (ImageNet classes and their hypernyms: the senses a vision model knows).
        per_relation: Candidates kept per relation and top concept.

    Example:
        >>> knowledge = ConceptKnowledge(default_wordnet(), None)  # doctest: +SKIP
        >>> [c.concept for c in knowledge.candidates(board)][:3]  # doctest: +SKIP
        ['canine', 'puppy', 'wolf']
    """

    def __init__(
        self,
        wordnet,
        bank_matches: Callable[[str, int], list[tuple[str, float]]] | None,
        visual: frozenset[int] = frozenset(),
        per_relation: int = 4,
    ) -> None:
        self.wordnet = wordnet
        self.bank_matches = bank_matches
        self.visual = visual
        self.per_relation = per_relation

    def sense(self, concept: str):
        """The WordNet noun synset a concept most likely means, or None.

        The longest trailing phrase WordNet knows is looked up ('dog face' ->
        'face'... only if 'dog face' is unknown); among its senses a visual
        one (an ImageNet class or a hypernym of one) wins over sense order.
        """
        if self.wordnet is None:
            return None
        for phrase, _ in _head_phrases(concept_key(concept) or concept.lower()):
            senses = self.wordnet.synsets(phrase)
            if senses:
                visual = [s for s in senses if s.offset in self.visual]
                return (visual or senses)[0]
        return None

    def _lookup(self, concept: str) -> list:
        """The noun senses of the longest trailing phrase of ``concept`` WordNet knows."""
        for phrase, _ in _head_phrases(concept_key(concept) or concept.lower()):
            senses = self.wordnet.synsets(phrase)
            if senses:
                return list(senses)
        return []

    def senses_in_context(self, concepts: Sequence[str]) -> dict[str, Any]:
        """The sense of each concept that the other concepts support, or None.

        A word with several senses takes the one most related to the other
        concepts' senses: the one whose lowest common hypernyms with them are the
        deepest (the most specific), summed over the other concepts ("shrimp" next
        to "crab" and "lobster" is the decapod crustacean, not "small person";
        "sponge" next to "starfish" and "coral" is the animal, not "absorbent
        material"). Ties, and a concept without context, fall back to
        :meth:`sense` (a visual sense, then WordNet's order).
        """
        if self.wordnet is None:
            return dict.fromkeys(concepts)
        options = {c: self._lookup(c) for c in concepts}
        chosen: dict[str, Any] = {}
        for concept, senses in options.items():
            others = [o for c, o in options.items() if c != concept and o]
            if len(senses) < 2 or not others:
                chosen[concept] = self.sense(concept)
                continue

            def support(sense: Any, others: list[list[Any]] = others) -> int:
                total = 0
                for other_senses in others:
                    depths = [
                        self.wordnet.depth(common)
                        for other in other_senses
                        if (common := self.wordnet.lowest_common_hypernym([sense, other]))
                    ]
                    total += max(depths, default=0)
                return total

            ranked = sorted(
                enumerate(senses),
                key=lambda item: (-support(item[1]), item[1].offset not in self.visual, item[0]),
            )
            chosen[concept] = ranked[0][1]
        return chosen

    def _pick(self, synsets) -> list:
        """Up to ``per_relation`` synsets, visual ones first, in WordNet order."""
        ordered = sorted(synsets, key=lambda s: s.offset not in self.visual)
        return ordered[: self.per_relation]

    def _general_enough(self, synset) -> bool:
        return self.wordnet.depth(synset) >= _MIN_HYPERNYM_DEPTH and synset.name not in _ABSTRACT

    def candidates(self, top: Sequence[ScoreboardEntry], summary: bool = False) -> list[Candidate]:
        """Candidates around the given (best) board entries, best entry first.

        Args:
            top: The entries to build on, e.g. the board's top three.
            summary: Only generalisations (common hypernyms, hypernyms, bank
                labels near all of them), for the summary step.

        Returns:
            Candidates in generation order, possibly with repeats (see :func:`filter_new`).
        """
        concepts = [e.concept for e in sorted(top, key=lambda e: e.score, reverse=True)]
        found: list[Candidate] = []
        senses = self.senses_in_context(concepts)
        known = [(c, s) for c, s in senses.items() if s is not None]
        if self.wordnet is not None and len(known) >= 2:
            groups = [known] if summary else []
            groups += [[a, b] for i, a in enumerate(known) for b in known[i + 1 :]]
            for group in groups:
                common = self.wordnet.lowest_common_hypernym([s for _, s in group])
                if common is not None and self._general_enough(common):
                    found.append(
                        Candidate(
                            concept=common.name,
                            origin="wordnet-common-hypernym",
                            basis=tuple(c for c, _ in group),
                        )
                    )
        for concept, synset in known:
            for parent in self.wordnet.hypernyms(synset):
                if self._general_enough(parent):
                    found.append(
                        Candidate(concept=parent.name, origin="wordnet-hypernym", basis=(concept,))
                    )
            if summary:
                continue
            for child in self._pick(self.wordnet.hyponyms(synset)):
                found.append(
                    Candidate(concept=child.name, origin="wordnet-hyponym", basis=(concept,))
                )
            for sibling in self._pick(self.wordnet.siblings(synset)):
                found.append(
                    Candidate(concept=sibling.name, origin="wordnet-sibling", basis=(concept,))
                )
        if self.bank_matches is not None:
            queries = [", ".join(concepts)] if summary else concepts
            for query in queries:
                for label, _ in self.bank_matches(query, self.per_relation + 1):
                    found.append(Candidate(concept=label, origin="bank", basis=(query,)))
        if not summary:
            for concept in concepts[:2]:
                synset = senses.get(concept)
                head = synset.name if synset is not None else concept
                for attribute in ATTRIBUTES:
                    found.append(
                        Candidate(
                            concept=f"{attribute} {head}", origin="composition", basis=(concept,)
                        )
                    )
        return found


def filter_new(
    candidates: Sequence[Candidate],
    taken: Sequence[str],
    max_words: int,
    vectors: dict[str, np.ndarray] | None = None,
    similarity_threshold: float = 0.92,
) -> list[Candidate]:
    """Drop candidates that break the concept text rule (too long, markup...), repeat
    each other, or duplicate a taken concept.

    Duplicates are judged like the LLM's answers (canonical key, near-identical
    spelling, and embedding cosine at ``similarity_threshold`` when ``vectors``
    maps every concept to its unit embedding).

    Args:
        candidates: In priority order; the first of two repeats is kept.
        taken: Concepts already proposed or on the board.
        max_words: Longest accepted concept.
        vectors: Optional concept -> unit embedding.
        similarity_threshold: Cosine at which two concepts count as the same.

    Returns:
        The new, distinct candidates in their original order.

    Example:
        >>> filter_new([Candidate(concept="Dogs", origin="bank")], ["dog"], 3)
        []
    """
    texts = [c.concept for c in candidates]
    if vectors is not None and texts and taken:
        # One matrix product instead of a dot per (candidate, taken) pair.
        cosines = np.stack([vectors[t] for t in texts]) @ np.stack([vectors[t] for t in taken]).T
        similar = (cosines >= similarity_threshold).any(axis=1)
    else:
        similar = np.zeros(len(texts), dtype=bool)
    taken_keys = [concept_key(t) for t in taken]
    kept: list[Candidate] = []
    kept_keys: list[str] = []
    for candidate, near_taken in zip(candidates, similar, strict=True):
        key = concept_key(candidate.concept)
        if not key or key in kept_keys or concept_text_error(candidate.concept, max_words):
            continue
        if near_taken or any(near_keys(key, k) for k in taken_keys):
            continue
        if any(near_keys(key, k) for k in kept_keys):  # e.g. 'grey cat' after 'gray cat'
            continue
        kept_keys.append(key)
        kept.append(candidate)
    return kept


def embedding_scores(
    candidates: np.ndarray,
    board: np.ndarray,
    board_scores: Sequence[float],
    drawable: np.ndarray | None = None,
) -> np.ndarray:
    """Proximity of each candidate to the board, weighted by the board's scores.

    Each board entry weighs its standardised score, so a candidate gains by
    resembling the high scorers and loses by resembling the low ones; a
    candidate the image source can draw well gains ``DRAWABLE_WEIGHT`` times
    its best bank-label cosine.

    Args:
        candidates: ``[n, d]`` unit embeddings of the candidates.
        board: ``[m, d]`` unit embeddings of the board's concepts.
        board_scores: The ``m`` scores.
        drawable: Optional ``[n]`` best cosine of each candidate to a bank label.

    Returns:
        ``[n]`` scores, higher is better.
    """
    scores = np.asarray(board_scores, dtype=np.float64)
    spread = scores.std()
    weights = (scores - scores.mean()) / spread if spread > 0 else np.ones_like(scores)
    affinity = (candidates @ board.T) @ weights / max(np.abs(weights).sum(), 1e-9)
    if drawable is not None:
        affinity = affinity + DRAWABLE_WEIGHT * drawable
    return affinity


def standardise(values: Sequence[float] | np.ndarray) -> np.ndarray:
    """Zero mean, unit spread (all zeros for constant values)."""
    array = np.asarray(values, dtype=np.float64)
    spread = array.std()
    return (array - array.mean()) / spread if spread > 0 else np.zeros_like(array)


def choose(scores: Sequence[float], rng: random.Random, explore: float) -> tuple[int, bool]:
    """Pick an index: the best score, or with probability ``explore`` a sample.

    The sample is drawn with probabilities proportional to ``exp(z)`` of the
    standardised scores, so exploration still favours good candidates.

    Args:
        scores: Candidate scores, higher is better (at least one).
        rng: The step's seeded generator (see :mod:`line_mcp.core.seeds`).
        explore: Probability of sampling instead of exploiting, in [0, 1].

    Returns:
        (index, explored).

    Example:
        >>> choose([0.1, 0.9, 0.3], random.Random(0), explore=0.0)
        (1, False)
    """
    if not scores:
        raise ValueError("no candidates to choose from")
    best = max(range(len(scores)), key=lambda i: (scores[i], -i))
    if explore <= 0 or rng.random() >= explore:
        return best, False
    weights = [math.exp(z) for z in standardise(scores)]
    return rng.choices(range(len(scores)), weights=weights)[0], True
