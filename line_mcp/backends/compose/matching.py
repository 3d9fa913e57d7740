"""Matching a concept's object words to labelled source images.

Two signals, the better one counts: the cosine similarity of the text
embeddings of the word and a label, and WordNet. A label whose noun sense is a
sense of the word is a synonym (score 1); a more specific kind below the word
("vehicle" finds "car") scores just under that; a more general kind above it
("puppy" finds "dog") scores less the further up it is, and only for kinds
specific enough to show the word (not "organism"). Less frequent senses of the
word count a little less, so "dog" is a canine before it is a frump.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from line_mcp.core.provenance import MatchKind
from line_mcp.data.banks import BankImage

if TYPE_CHECKING:
    from line_mcp.backends.base import TextEmbedder
    from line_mcp.knowledge.wordnet import Synset, WordNet

SYNONYM_SCORE = 0.97  # the exact label text scores 1
HYPONYM_SCORE = 0.92  # minus HYPONYM_STEP per level below the word
HYPONYM_STEP = 0.02
HYPERNYM_SCORE = 0.85  # minus HYPERNYM_STEP per level above the word
HYPERNYM_STEP = 0.08
HYPERNYM_LEVELS = 2
# A more general kind must be at least this deep in WordNet to stand for the word
# ("dog" is 13 deep, "animal" 6, "organism" 5).
HYPERNYM_MIN_DEPTH = 7
SENSE_PENALTY = 0.08  # per rank of the word's sense
SENSES = 3  # senses of a word or label considered
# Labels whose score is this close to the best are drawn from too (picked per image),
# so "vehicle" shows several vehicles instead of one.
TIE_MARGIN = 0.01


@dataclass(frozen=True)
class LabelMatch:
    """A source label matched to a word.

    Attributes:
        label: The label.
        similarity: The match score (see the module docstring).
        via: How it matched.
        entries: The source images with that label.
    """

    label: str
    similarity: float
    via: MatchKind
    entries: tuple[BankImage, ...]


class ObjectMatcher:
    """Finds the source images whose label names a word.

    Args:
        entries: The labelled source images (any banks).
        embedder: Text embedder for label similarity.
        wordnet: The noun graph; None matches by embeddings alone.
    """

    def __init__(
        self, entries: Sequence[BankImage], embedder: TextEmbedder, wordnet: WordNet | None
    ) -> None:
        by_label: dict[str, list[BankImage]] = {}
        for entry in entries:
            by_label.setdefault(entry.label, []).append(entry)
        self.labels = sorted(by_label)
        self._entries = {label: tuple(items) for label, items in by_label.items()}
        self._index = {label: i for i, label in enumerate(self.labels)}
        self._embedder = embedder
        self._vectors = np.ascontiguousarray(
            embedder.embed(self.labels) if self.labels else np.zeros((0, 1)), np.float32
        )
        self._wordnet = wordnet
        self._similarities: dict[str, np.ndarray] = {}
        # WordNet offset -> (label index, distance below it); built once.
        self._below: dict[int, list[tuple[int, int]]] = {}
        if wordnet is not None:
            for index, label in enumerate(self.labels):
                synsets, extra = self._label_synsets(label)
                for synset in synsets[:SENSES]:
                    for ancestor, distance in wordnet.ancestors(synset).items():
                        self._below.setdefault(ancestor, []).append((index, distance + extra))

    def _label_synsets(self, label: str) -> tuple[list[Synset], int]:
        """Noun senses of a label, and how many levels below them the label sits.

        The whole label's senses (level 0), else those of the last word of a
        two-word label one level up: "red kangaroo" is a kind of kangaroo, and a
        head word never counts as the same thing ("corn dog" is no dog).
        """
        assert self._wordnet is not None
        synsets = self._wordnet.synsets(label)
        words = label.split()
        if not synsets and len(words) == 2:
            return self._wordnet.synsets(words[-1]), 1
        return synsets, 0

    def is_compound(self, phrase: str) -> bool:
        """Whether a multi-word phrase is a WordNet noun ("snow leopard")."""
        return self._wordnet is not None and bool(self._wordnet.synsets(phrase))

    def is_plural(self, phrase: str) -> bool:
        """Whether the phrase is a plural noun form ("cats", "geese")."""
        if self._wordnet is None:
            return phrase.endswith("s") and not phrase.endswith("ss")
        senses = self._wordnet.synsets(phrase)
        if not senses:
            return False
        return phrase.split()[-1] not in {word.split()[-1] for s in senses for word in s.words}

    def _wordnet_scores(self, phrase: str) -> dict[int, tuple[float, MatchKind]]:
        if self._wordnet is None:
            return {}
        wordnet = self._wordnet
        synsets = wordnet.synsets(phrase)[:SENSES]
        best: dict[int, tuple[float, MatchKind]] = {}

        def offer(index: int, score: float, via: MatchKind) -> None:
            if score > best.get(index, (-1.0, via))[0]:
                best[index] = (score, via)

        for rank, synset in enumerate(synsets):
            penalty = SENSE_PENALTY * rank
            for index, distance in self._below.get(synset.offset, []):
                if distance == 0:
                    offer(index, SYNONYM_SCORE - penalty, "synonym")
                else:
                    offer(index, HYPONYM_SCORE - HYPONYM_STEP * distance - penalty, "hyponym")
            for ancestor, distance in wordnet.ancestors(synset).items():
                if not 1 <= distance <= HYPERNYM_LEVELS:
                    continue
                if wordnet.depth(wordnet.synset(ancestor)) < HYPERNYM_MIN_DEPTH:
                    continue
                for index, below in self._below.get(ancestor, []):
                    if below == 0:
                        score = HYPERNYM_SCORE - HYPERNYM_STEP * (distance - 1) - penalty
                        offer(index, score, "hypernym")
        return best

    def prepare(self, phrases: Sequence[str]) -> None:
        """Embed many phrases in one batch ahead of :meth:`match` (a vocabulary at once)."""
        missing = [p for p in dict.fromkeys(phrases) if p not in self._similarities]
        if missing:
            # One matrix product for the batch: many small ones are slow on a busy CPU.
            rows = np.asarray(self._embedder.embed(missing), np.float32) @ self._vectors.T
            self._similarities.update(zip(missing, rows, strict=True))

    def _similarity(self, phrase: str) -> np.ndarray:
        """Cosine similarity of the phrase to every label (cached per phrase)."""
        if phrase not in self._similarities:
            self.prepare([phrase])
        return self._similarities[phrase]

    def match(self, phrase: str, k: int = 5) -> list[LabelMatch]:
        """The ``k`` best labels for a word, best first (ties broken by label order).

        Args:
            phrase: An object phrase such as ``"puppy"`` or ``"fire truck"``.
            k: How many.
        """
        return list(self._match(phrase, k))

    @functools.lru_cache(maxsize=8192)  # noqa: B019 - one matcher per generator, labels fixed
    def _match(self, phrase: str, k: int) -> tuple[LabelMatch, ...]:
        # Asked again for every concept a run has taken, at every step.
        if not self.labels:
            return ()
        similarity = self._similarity(phrase)
        scores = similarity.astype(np.float64).copy()
        kinds: list[MatchKind] = ["embedding"] * len(self.labels)
        for index, (score, via) in self._wordnet_scores(phrase).items():
            if score > scores[index]:
                scores[index], kinds[index] = score, via
        exact = self._index.get(phrase)
        if exact is not None:
            scores[exact], kinds[exact] = 1.0, "label"
        order = np.argsort(-scores, kind="stable")[:k]
        return tuple(
            LabelMatch(self.labels[i], float(scores[i]), kinds[i], self._entries[self.labels[i]])
            for i in order
        )

    def best(self, phrase: str) -> list[LabelMatch]:
        """The best label and those within :data:`TIE_MARGIN` of it (at most 8)."""
        found = self.match(phrase, 8)
        if not found:
            return []
        return [m for m in found if m.similarity >= found[0].similarity - TIE_MARGIN]
