"""The knowledge-guided proposal modes (LoopConfig.proposal) on the fake backends."""

import re
from typing import get_args

import pytest

from line_mcp.config import LoopConfig
from line_mcp.core.candidates import ConceptKnowledge, ProposalOrigin
from line_mcp.core.concepts import concept_key
from line_mcp.knowledge.wordnet import WordNet
from line_mcp.loop import label_neuron, run_id_for
from line_mcp.service import LineService
from tests import fakes
from tests.knowledge.tiny_wordnet import write_tiny_wordnet

GUIDED = LoopConfig(
    iterations=4, seed=5, proposal="guided", proposal_explore=0.3, proposal_free_text=True
)
ORIGINS = set(get_args(ProposalOrigin))


@pytest.fixture
def service_for(tmp_path):
    write_tiny_wordnet(tmp_path / "wn")
    wordnet = WordNet(tmp_path / "wn")

    def make(backends, name="ws", prebuilt=None):
        # The fake colour board has no WordNet nouns; the tiny graph keeps the test offline.
        knowledge = ConceptKnowledge(wordnet, lambda c, k: [("dog", 0.9)], frozenset())
        return LineService(backends, tmp_path / name, prebuilt=prebuilt, knowledge=knowledge)

    return make


def test_guided_steps_record_origin_and_never_repeat(fake_backends, service_for):
    record = label_neuron(service_for(fake_backends), 0, GUIDED)
    assert record.status == "finished"
    assert [s.step for s in record.steps] == [1, 2, 3, 4, "S"]
    for step in record.steps:
        assert step.concept is not None and step.skipped is None
        assert step.proposal_origin in ORIGINS
        # "llm" only when the chosen concept is the LLM's own (free-text) answer
        llm_answer = step.proposal_origin == "llm"
        assert step.origin == ("summary" if step.step == "S" else "llm" if llm_answer else "guided")
        assert step.reasoning.startswith("picked ")
        assert len(step.attempts) == 1  # the LLM's own answer, asked once, is a candidate
    proposed = [concept_key(c) for c in record.proposed()]
    assert len(proposed) == len(set(proposed))
    initial = {concept_key(e.concept) for e in record.init.entries}
    assert not initial & set(proposed)
    assert fakes.FakeProposer.calls == 5


def test_guided_resume_equals_an_uninterrupted_run(fake_backends, service_for):
    whole = label_neuron(service_for(fake_backends, "a"), 1, GUIDED)
    service = service_for(fake_backends, "b")
    calls = {"n": 0}

    def crash_on_third(prompt, seed):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return f"<answer>idea {seed % 997}</answer>"

    fakes.FakeProposer.script = crash_on_third
    with pytest.raises(RuntimeError):
        label_neuron(service, 1, GUIDED)
    fakes.FakeProposer.script = None
    resumed = label_neuron(service_for(fake_backends, "b"), 1, GUIDED)
    strip = [(s.concept, s.score, s.proposal_origin, s.reasoning) for s in resumed.steps]
    assert strip == [(s.concept, s.score, s.proposal_origin, s.reasoning) for s in whole.steps]
    assert resumed.label == whole.label


def test_guided_without_free_text_never_calls_the_llm(fake_backends, service_for):
    config = GUIDED.model_copy(update={"proposal_free_text": False})
    record = label_neuron(service_for(fake_backends), 2, config)
    assert fakes.FakeProposer.calls == 0
    assert all(s.proposal_origin not in (None, "llm") for s in record.steps)
    # No LLM answered: the record says so.
    assert [s.origin for s in record.steps] == ["guided"] * 4 + ["summary"]


def test_summary_step_offers_the_lowest_common_hypernym(fake_backends, service_for):
    service = service_for(fake_backends)
    board = [
        fakes_entry("dog", 3.0),
        fakes_entry("wolf", 2.9),
        fakes_entry("fox", 2.8),
        fakes_entry("cat", 0.1),
    ]
    config = GUIDED.model_copy(update={"proposal_free_text": False, "proposal_explore": 0.0})
    proposal = service.proposals.propose(board, [], config, (0, "S"), summary=True)
    concepts = {c.concept: c.origin for c in proposal.ranking.candidates}
    assert concepts["canine"] == "wordnet-common-hypernym"
    assert "animal" not in concepts  # cat is not in the top three


def fakes_entry(concept, score):
    from line_mcp.core.scoreboard import ScoreboardEntry

    return ScoreboardEntry(concept=concept, score=score, step=0, novel=False)


def test_llm_ranker_uses_score_answers_and_falls_back_without_it(fake_backends, service_for):
    board = [fakes_entry("dog", 3.0), fakes_entry("wolf", 2.0), fakes_entry("teapot", 0.1)]
    config = GUIDED.model_copy(
        update={"proposal_free_text": False, "proposal_explore": 0.0, "proposal_ranker": "llm"}
    )
    # Without score_answers the embedding ranker decides.
    fallback = service_for(fake_backends).proposals.propose(board, [], config, (0, 1))
    assert fallback.concept is not None
    seen = {}

    class Scoring(fakes.FakeProposer):
        def score_answers(self, prompt, candidates):
            seen["prompt"] = prompt
            return [1.0 if c == "red wolf" else -1.0 for c in candidates]

    service = service_for(fake_backends, prebuilt={"proposer": Scoring()})
    ranked = service.proposals.propose(board, [], config, (0, 1))
    assert ranked.concept == "red wolf" and ranked.origin == "wordnet-hyponym"
    assert "Scoreboard:" in seen["prompt"]


def test_hinted_mode_lists_candidates_and_credits_their_origin(fake_backends, service_for):
    prompts_seen = []

    def pick_first_hint(prompt, seed):
        prompts_seen.append(prompt)
        hints = re.findall(r"^- (.+)$", prompt.split("Hints:")[1], re.M)
        return f"<answer>{hints[0]}</answer>"

    fakes.FakeProposer.script = pick_first_hint
    config = GUIDED.model_copy(update={"proposal": "hinted", "iterations": 2})
    record = label_neuron(service_for(fake_backends), 0, config)
    assert all("Hints:" in p for p in prompts_seen)
    assert all(s.proposal_origin not in (None, "llm") for s in record.steps)
    # The LLM answered (with a hint): its step is the LLM's.
    assert [s.origin for s in record.steps] == ["llm", "llm", "summary"]


def test_auto_is_llm_for_large_or_unknown_proposers_and_guided_for_small(
    fake_backends, service_for
):
    class Sized(fakes.FakeProposer):
        def __init__(self, num_parameters):
            self.num_parameters = num_parameters

    def mode(config, proposer=None):
        prebuilt = {"proposer": proposer} if proposer is not None else None
        return service_for(fake_backends, prebuilt=prebuilt).proposals.resolved_mode(config)

    auto = LoopConfig()
    assert auto.proposal == "auto"
    assert mode(auto) == "llm"  # unknown size: the paper's path
    assert mode(auto, Sized(135_000_000)) == "guided"
    assert mode(auto, Sized(8_000_000_000)) == "llm"
    assert mode(auto.model_copy(update={"proposal": "hinted"})) == "hinted"


def test_the_proposal_mode_enters_the_run_id(fake_backends, service_for):
    service = service_for(fake_backends)
    ids = {
        run_id_for(service, 0, LoopConfig(proposal=mode))
        for mode in ("auto", "llm", "guided", "hinted")
    }
    assert len(ids) == 4


def test_a_candidate_drawn_from_the_same_bank_images_is_a_duplicate(fake_backends, tmp_path):
    from line_mcp.core.candidates import Candidate
    from line_mcp.core.scoreboard import ScoreboardEntry

    class Knowledge:
        def candidates(self, top, summary=False):
            return [
                Candidate(concept="green gorilla", origin="composition"),
                Candidate(concept="banana", origin="bank"),
            ]

    class Retrieving(fakes.FakeGenerator):
        def matches(self, concept, k):
            return [(concept.split()[-1], 1.0)]  # the head noun names the bank image

    board = [ScoreboardEntry(concept="gorilla", score=1.0, step=0, novel=False)]
    config = LoopConfig(proposal="guided", proposal_explore=0.0)
    synthesising = LineService(fake_backends, tmp_path, knowledge=Knowledge())
    # A generator that synthesises: "green gorilla" is new and closest to the board.
    assert synthesising.proposals.propose(board, [], config, (0, 1)).concept == "green gorilla"
    # One that retrieves would redraw the gorilla's pictures: only "banana" is new.
    retrieving = LineService(
        fake_backends, tmp_path, prebuilt={"generator": Retrieving()}, knowledge=Knowledge()
    )
    assert retrieving.proposals.propose(board, [], config, (0, 1)).concept == "banana"


async def test_mcp_propose_concept_and_the_stored_step_agree_on_a_guided_origin(
    fake_backends, service_for
):
    from mcp import Client

    from line_mcp.server import build_server
    from tests.server.test_tools import call, warm_init

    config = GUIDED.model_copy(update={"proposal_free_text": False, "iterations": 2})
    server = build_server(service_for(fake_backends), config)
    async with Client(server) as client:
        await warm_init(client, server, 0)
        proposal, _ = await call(client, "propose_concept", neuron=0)
        assert proposal["origin"] == "guided" and proposal["proposal_origin"] not in (None, "llm")
        update, _ = await call(client, "update_scoreboard", neuron=0, concept=proposal["concept"])
        assert update["origin"] == "guided"
    record = server.driver.service.workspace.load_run(server.driver.run_id(0))
    assert record.steps[0].origin == "guided"
    assert record.steps[0].proposal_origin == proposal["proposal_origin"]
    assert fakes.FakeProposer.calls == 0
