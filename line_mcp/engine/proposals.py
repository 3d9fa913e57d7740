"""Proposals: how a step gets its next concept, one strategy class per mode.

- :class:`FreeTextStrategy` ("llm"): the paper's step, the LLM answers the
  prompt in free text and is re-asked, told why, when its answer is rejected.
- :class:`GuidedStrategy` ("guided"): candidates from offline knowledge
  (WordNet, the bank's labels, compositions) ranked by a :class:`CandidateRanker`.
- :class:`HintedStrategy` ("hinted"): free text with the best candidates as hints.

:class:`Proposals` resolves ``LoopConfig.proposal`` (also "auto") and hands
the step to the strategy; every strategy satisfies :class:`ProposalStrategy`.
"""

from __future__ import annotations

import functools
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Protocol

import numpy as np

from line_mcp.backends.base import AnswerScorer, DrawabilityCheck, LabelMatcher, SourceLabels
from line_mcp.config import LoopConfig
from line_mcp.core import prompts
from line_mcp.core.answers import concept_error, parse_answer
from line_mcp.core.candidates import (
    Candidate,
    ConceptKnowledge,
    ProposalOrigin,
    RankedCandidates,
    choose,
    embedding_scores,
    filter_new,
    standardise,
)
from line_mcp.core.concepts import concept_key
from line_mcp.core.records import Attempt
from line_mcp.core.scoreboard import ScoreboardEntry
from line_mcp.core.seeds import derive_seed, derived_rng
from line_mcp.engine.backends import Backends
from line_mcp.engine.stopwatch import Stopwatch, timed

# proposal="auto" guides proposers smaller than this (measured: 100-300 M models
# cannot do LINE's proposal step by free generation).
SMALL_PROPOSER_PARAMETERS = 1_000_000_000
# Candidates listed as hints to the LLM with proposal="hinted".
_HINTS = 10


@dataclass
class Proposal:
    """A proposal: the accepted concept (None if every attempt was rejected).

    ``origin`` says where the concept came from (see
    :data:`line_mcp.core.candidates.ProposalOrigin`); ``ranking`` holds the
    candidates a guided proposal chose among.
    """

    concept: str | None
    reasoning: str
    prompt: str
    attempts: list[Attempt]
    origin: ProposalOrigin | None = None
    ranking: RankedCandidates | None = None


@dataclass(frozen=True)
class ProposalRequest:
    """What a strategy proposes for: one step of one run.

    Attributes:
        board: The scoreboard, best first.
        taken: Concepts that may not be proposed again (board and history).
        prompt: The filled LINE prompt of the step.
        config: The loop's numbers and seed.
        seed_parts: What the step's seeds derive from besides the run seed, e.g. (neuron, step).
        summary: Whether this is the summary step.
    """

    board: Sequence[ScoreboardEntry]
    taken: Sequence[str]
    prompt: str
    config: LoopConfig
    seed_parts: Sequence[object]
    summary: bool = False


class ProposalStrategy(Protocol):
    """One way of proposing a step's concept."""

    @staticmethod
    def needs_llm(config: LoopConfig) -> bool:
        """Whether proposing with ``config`` calls the proposer (else it need not load)."""
        ...

    def propose(self, request: ProposalRequest, clock: Stopwatch | None = None) -> Proposal:
        """The proposal for ``request``; every LLM attempt is in ``Proposal.attempts``."""
        ...


class FreeTextStrategy:
    """The paper's step: ask the LLM, re-asking with the reason for a rejection.

    A reply that does not parse, is too long or duplicates a forbidden or board
    concept is rejected and the LLM re-asked up to ``max_retries`` times.
    """

    def __init__(self, backends: Backends) -> None:
        self.backends = backends

    @staticmethod
    def needs_llm(config: LoopConfig) -> bool:
        return True

    def propose(self, request: ProposalRequest, clock: Stopwatch | None = None) -> Proposal:
        return self.ask(request, request.prompt, request.config.max_retries, clock)

    def ask(
        self,
        request: ProposalRequest,
        prompt: str,
        retries: int,
        clock: Stopwatch | None = None,
    ) -> Proposal:
        """Ask ``prompt`` (the request's or a hinted one) with up to ``retries`` re-asks."""
        config, current = request.config, prompt
        attempts: list[Attempt] = []
        for attempt in range(retries + 1):
            with self.backends.lock, timed(clock, "llm"):
                output = self.backends.proposer.complete(
                    current, derive_seed(config.seed, *request.seed_parts, attempt)
                )
            parsed = parse_answer(output, request.taken, config.max_concept_words, self._similarity)
            attempts.append(Attempt(output=output, concept=parsed.concept, error=parsed.error))
            if parsed.concept is not None:
                return Proposal(parsed.concept, parsed.reasoning, prompt, attempts, "llm")
            current = prompts.retry_prompt(prompt, parsed.error or "invalid answer")
        return Proposal(None, "", prompt, attempts)

    def _similarity(self, a: str, b: str) -> float:
        return embedding_similarity(self.backends, a, b)


def embedding_similarity(backends: Backends, a: str, b: str) -> float:
    """Cosine of two concepts' text embeddings (the near-duplicate check's similarity)."""
    vectors = backends.embedder.embed([a, b])
    return float(vectors[0] @ vectors[1])


class CandidateRanker:
    """Filters knowledge candidates to new ones and ranks them (``LoopConfig.proposal_ranker``).

    The embedding ranker weighs the board by standardised score (equal weights
    for the summary step, which must cover all its entries); the LLM ranker
    needs a proposer that is an :class:`~line_mcp.backends.base.AnswerScorer`
    and falls back to the embedding ranker otherwise.
    """

    def __init__(self, backends: Backends) -> None:
        self.backends = backends

    @staticmethod
    def needs_llm(config: LoopConfig) -> bool:
        """Whether ranking with ``config`` asks the proposer (the "llm" and "both" rankers)."""
        return config.proposal_ranker != "embedding"

    def rank(
        self,
        candidates: Sequence[Candidate],
        board: Sequence[ScoreboardEntry],
        prompt: str,
        config: LoopConfig,
        rng: random.Random,
        summary: bool = False,
        clock: Stopwatch | None = None,
    ) -> RankedCandidates:
        """Score candidates and pick one (see :func:`~line_mcp.core.candidates.choose`)."""
        texts = [c.concept for c in candidates]
        scores = np.zeros(len(texts))
        generator, scorer = self.backends.generator, None
        if self.needs_llm(config):  # only then is the LLM loaded
            proposer = self.backends.proposer
            scorer = proposer if isinstance(proposer, AnswerScorer) else None
        ranker = config.proposal_ranker if scorer is not None else "embedding"
        if ranker in ("embedding", "both"):
            vectors = self.backends.embedder.embed([*texts, *(e.concept for e in board)])
            weights = [1.0] * len(board) if summary else [e.score for e in board]
            drawable = (
                np.array([generator.matches(t, 1)[0][1] for t in texts])
                if isinstance(generator, LabelMatcher)
                else None
            )
            embedding = embedding_scores(
                vectors[: len(texts)], vectors[len(texts) :], weights, drawable
            )
            scores = scores + (standardise(embedding) if ranker == "both" else embedding)
        if scorer is not None and ranker in ("llm", "both"):
            with self.backends.lock, timed(clock, "llm"):
                likelihood = scorer.score_answers(prompt, texts)
            scores = scores + (
                standardise(likelihood) if ranker == "both" else np.asarray(likelihood)
            )
        index, explored = choose(scores.tolist(), rng, config.proposal_explore)
        return RankedCandidates(
            candidates=list(candidates), scores=scores.tolist(), chosen=index, explored=explored
        )

    def new_candidates(
        self, pool: Sequence[Candidate], taken: Sequence[str], config: LoopConfig
    ) -> list[Candidate]:
        """Candidates that are new in text and, for a retrieving generator, in images.

        A generator that retrieves instead of synthesising (the offline bank
        stand-in) draws two concepts whose nearest bank label is the same from
        the same pictures: "green gorilla" after "gorilla" would only re-roll
        the variations of one image and win or lose by chance. Such a candidate
        counts as a duplicate of the concept already drawn from that label.
        """
        texts = list(dict.fromkeys([*(c.concept for c in pool), *taken]))
        vectors: dict[str, np.ndarray] = (
            dict(zip(texts, self.backends.embedder.embed(texts), strict=True)) if texts else {}
        )
        fresh = filter_new(pool, taken, config.max_concept_words, vectors)
        generator = self.backends.generator
        if not isinstance(generator, LabelMatcher):
            return fresh
        if isinstance(generator, DrawabilityCheck):
            # Match every phrase in one embedding batch; one by one costs a forward pass each.
            generator.can_draw([*taken, *(c.concept for c in fresh)])
        drawn = {generator.matches(concept, 1)[0][0] for concept in taken}
        return [c for c in fresh if generator.matches(c.concept, 1)[0][0] not in drawn]


def _knowledge_pool(
    knowledge: ConceptKnowledge, request: ProposalRequest, clock: Stopwatch | None
) -> tuple[list[Candidate], Sequence[ScoreboardEntry], random.Random]:
    """The candidates of a guided or hinted step, the board they are ranked on, and its rng."""
    ranked, config = request.board, request.config
    top = ranked[: config.summary_top] if request.summary else ranked[:3]
    with timed(clock, "candidates"):
        pool = knowledge.candidates(top, summary=request.summary)
    rng = derived_rng(config.seed, "guided", *request.seed_parts)
    return pool, top if request.summary else ranked, rng


class GuidedStrategy:
    """Pick among knowledge candidates (and, with ``proposal_free_text``, the LLM's answer)."""

    def __init__(
        self, knowledge: ConceptKnowledge, ranker: CandidateRanker, free_text: FreeTextStrategy
    ) -> None:
        self.knowledge = knowledge
        self.ranker = ranker
        self.free_text = free_text

    @staticmethod
    def needs_llm(config: LoopConfig) -> bool:
        return config.proposal_free_text or CandidateRanker.needs_llm(config)

    def propose(self, request: ProposalRequest, clock: Stopwatch | None = None) -> Proposal:
        pool, board, rng = _knowledge_pool(self.knowledge, request, clock)
        config, attempts = request.config, list[Attempt]()
        if config.proposal_free_text:
            free = self.free_text.ask(request, request.prompt, retries=0, clock=clock)
            attempts = free.attempts
            if free.concept is not None:
                pool = [Candidate(concept=free.concept, origin="llm"), *pool]
        with timed(clock, "candidates"):
            candidates = self.ranker.new_candidates(pool, request.taken, config)
        if not candidates:
            return Proposal(None, "", request.prompt, attempts)
        with timed(clock, "ranking"):
            ranking = self.ranker.rank(
                candidates, board, request.prompt, config, rng, request.summary, clock
            )
        choice = ranking.choice
        return Proposal(
            choice.concept, ranking.summary(), request.prompt, attempts, choice.origin, ranking
        )


class HintedStrategy:
    """Ask the LLM in free text with the best knowledge candidates listed as hints."""

    def __init__(
        self, knowledge: ConceptKnowledge, ranker: CandidateRanker, free_text: FreeTextStrategy
    ) -> None:
        self.knowledge = knowledge
        self.ranker = ranker
        self.free_text = free_text

    @staticmethod
    def needs_llm(config: LoopConfig) -> bool:
        return True

    def propose(self, request: ProposalRequest, clock: Stopwatch | None = None) -> Proposal:
        pool, board, rng = _knowledge_pool(self.knowledge, request, clock)
        config = request.config
        with timed(clock, "candidates"):
            hints = self.ranker.new_candidates(pool, request.taken, config)
        if hints:
            order = self.ranker.rank(
                hints, board, request.prompt, config, rng, request.summary, clock
            )
            best = sorted(range(len(hints)), key=lambda i: -order.scores[i])[:_HINTS]
            hints = [hints[i] for i in best]
        hinted = prompts.hinted_prompt(request.prompt, [h.concept for h in hints])
        proposal = self.free_text.ask(request, hinted, config.max_retries, clock)
        if proposal.concept is not None:
            key = concept_key(proposal.concept)
            proposal.origin = next(
                (h.origin for h in hints if concept_key(h.concept) == key), "llm"
            )
        return proposal


def default_knowledge(backends: Backends) -> ConceptKnowledge:
    """Candidate generation from WordNet (when installed) and the generator's bank labels."""
    from line_mcp.knowledge.wordnet import (
        WordNetNotInstalledError,
        default_wordnet,
        imagenet_offsets,
    )

    try:
        wordnet = default_wordnet()
        visual = frozenset(wordnet.covers(imagenet_offsets()))
    except WordNetNotInstalledError:
        wordnet, visual = None, frozenset()
    generator = backends.generator
    # A composing generator names its source labels apart from its drawing keys.
    if isinstance(generator, SourceLabels):
        matches: Callable[[str, int], list[tuple[str, float]]] | None = generator.source_labels
    elif isinstance(generator, LabelMatcher):
        matches = generator.matches
    else:
        matches = None
    return ConceptKnowledge(wordnet, matches, visual)


# The strategies that propose from offline knowledge, built on the shared knowledge.
_KNOWLEDGE_STRATEGIES: dict[str, type[GuidedStrategy] | type[HintedStrategy]] = {
    "guided": GuidedStrategy,
    "hinted": HintedStrategy,
}


def _strategy_class(mode: str) -> type[ProposalStrategy]:
    strategies = {"llm": FreeTextStrategy, **_KNOWLEDGE_STRATEGIES}
    if mode not in strategies:
        raise ValueError(f"unknown proposal mode {mode!r}; modes: {', '.join(strategies)}")
    return strategies[mode]


class Proposals:
    """Proposes the next concept of a run, as ``LoopConfig.proposal`` says.

    Args:
        backends: Gives the proposer, the embedder and the generator.
        knowledge: The candidate source of "guided" and "hinted" (default: WordNet
            when installed and the generator's bank labels, built on first use).
    """

    def __init__(self, backends: Backends, knowledge: ConceptKnowledge | None = None) -> None:
        self.backends = backends
        #: The knowledge given at construction (None: the default, built on first use).
        self.given_knowledge = knowledge
        self.free_text = FreeTextStrategy(backends)
        self.ranker = CandidateRanker(backends)

    def concept_error(self, concept: str, taken: Sequence[str], config: LoopConfig) -> str | None:
        """Why a concept from any proposer may not be recorded (None: it may): the rule
        the built-in LLM's replies pass, embedding near-duplicates included."""
        return concept_error(
            concept,
            taken,
            config.max_concept_words,
            functools.partial(embedding_similarity, self.backends),
        )

    @functools.cached_property
    def knowledge(self) -> ConceptKnowledge:
        return self.given_knowledge or default_knowledge(self.backends)

    def resolved_mode(self, config: LoopConfig) -> str:
        """ "llm", "guided" or "hinted" (resolving "auto" from the proposer's size)."""
        if config.proposal != "auto":
            return config.proposal
        parameters = self.backends.proposer_parameters()
        small = parameters is not None and parameters < SMALL_PROPOSER_PARAMETERS
        return "guided" if small else "llm"

    def needs_llm(self, config: LoopConfig) -> bool:
        """Whether runs with ``config`` call the proposer at all (its strategy says: guided
        proposals ranked by embeddings, without the LLM's own answer, never do)."""
        return _strategy_class(self.resolved_mode(config)).needs_llm(config)

    def strategy(self, mode: str) -> ProposalStrategy:
        """The strategy of a resolved mode."""
        if _strategy_class(mode) is FreeTextStrategy:
            return self.free_text
        return _KNOWLEDGE_STRATEGIES[mode](self.knowledge, self.ranker, self.free_text)

    def propose(
        self,
        board: Sequence[ScoreboardEntry],
        forbidden: Sequence[str],
        config: LoopConfig,
        seed_parts: Sequence[object],
        summary: bool = False,
        clock: Stopwatch | None = None,
        not_drawable: Sequence[str] = (),
    ) -> Proposal:
        """Propose a step's concept: the main prompt (whole board and forbidden list) or the
        summary prompt (the top ``summary_top`` entries), answered by the mode's strategy.

        ``not_drawable`` concepts (proposed, but the image source could not show
        them) are named in the prompt."""
        filled = prompts.step_prompt(board, forbidden, summary, config.summary_top, not_drawable)
        mode = self.resolved_mode(config)
        # Knowledge strategies read the board best first; the LLM reads it as the prompt shows it.
        ordered = board if mode == "llm" else sorted(board, key=lambda e: e.score, reverse=True)
        request = ProposalRequest(
            ordered, filled.forbidden, filled.text, config, seed_parts, summary
        )
        return self.strategy(mode).propose(request, clock)
