"""A client's inputs: the built-in LLM's duplicate rule, strict types, plain errors."""

import pytest
from mcp import Client

from line_mcp.core.concepts import find_duplicate
from tests.server.test_tools import call, call_error, warm_init


async def test_a_client_concept_gets_the_near_duplicate_and_embedding_checks(make_server):
    server = make_server()
    async with Client(server) as client:
        await warm_init(client, server, 0)
        await call(client, "update_scoreboard", neuron=0, concept="jellyfish")
        # Spacing: the built-in LLM's normalised check.
        text = await call_error(client, "update_scoreboard", neuron=0, concept="Jelly fish")
        assert "repeats 'jellyfish'" in text
        await call(client, "update_scoreboard", neuron=0, concept="listen")
        # An anagram: the fake embedder's letter counts make it the same concept, and no
        # spelling check would catch it, so only the embedding check refuses it.
        assert find_duplicate("silent", ["listen"]) is None
        text = await call_error(client, "update_scoreboard", neuron=0, concept="silent")
        assert "repeats 'listen'" in text
        record = server.driver.service.workspace.load_run(server.driver.run_id(0))
        assert [s.concept for s in record.steps] == ["jellyfish", "listen"]


@pytest.mark.parametrize("neuron", [True, "1", 1.0])
async def test_a_neuron_is_a_json_integer(make_server, neuron):
    async with Client(make_server()) as client:
        text = await call_error(client, "get_scoreboard", neuron=neuron)
    assert text == "invalid arguments for get_scoreboard: neuron: Input should be a valid integer"


@pytest.mark.parametrize(
    ("concept", "reason"),
    [
        ("   ", "the concept is empty"),
        ("\t", "the concept is empty"),
        ("!!", "'!!' contains no words"),
    ],
)
async def test_a_concept_without_words_is_refused_before_drawing(make_server, concept, reason):
    server = make_server()
    async with Client(server) as client:
        text = await call_error(client, "score_concept", neuron=0, concepts=[concept])
    assert f"concepts.0: {reason}" in text and "a concept is letters, digits" in text
    assert "pydantic" not in text and "http" not in text


async def test_validation_errors_carry_no_documentation_links(make_server):
    async with Client(make_server()) as client:
        text = await call_error(client, "generate_images", concept="red", n_images=99)
        assert text.startswith("invalid arguments for generate_images: n_images: ")
        assert "16" in text and "http" not in text
        text = await call_error(client, "update_scoreboard", neuron=0, concept="red",
                                as_summary="yes")  # fmt: skip
        assert "as_summary: Input should be a valid boolean" in text


async def test_score_concept_says_when_update_scoreboard_would_refuse_a_concept(make_server):
    server = make_server()
    async with Client(server) as client:
        await warm_init(client, server, 0)
        await call(client, "update_scoreboard", neuron=0, concept="jellyfish")
        scores, _ = await call(client, "score_concept", neuron=0, concepts=["Jelly fish", "teal"])
    jelly, teal = scores["scores"]
    assert jelly["score"] is not None  # still scored: score_concept records nothing
    assert "repeats 'jellyfish'" in jelly["refused"]
    assert teal["refused"] is None
