"""Bad inputs over MCP (the real SDK's in-memory client): every case is an error result
that names what was wrong and what is allowed, within a timeout, with nothing drawn or
stored. The CLI's side is tests/test_bad_inputs.py."""

from __future__ import annotations

import anyio
import pytest
from mcp import Client

from tests import fakes
from tests.server.test_tools import call_error
from tests.test_bad_inputs import BAD_CONCEPTS, TIMEOUT_S


async def _refused(client: Client, tool: str, **arguments: object) -> str:
    with anyio.fail_after(TIMEOUT_S):
        text = await call_error(client, tool, **arguments)
    assert "internal error" not in text.lower() and "Traceback" not in text, text
    return text


@pytest.mark.parametrize(("concept", "reason"), BAD_CONCEPTS)
async def test_every_concept_tool_refuses_a_bad_concept(make_server, concept, reason):
    server = make_server()
    async with Client(server) as client:
        calls = {
            "score_concept": {"neuron": 0, "concepts": [concept]},
            "update_scoreboard": {"neuron": 0, "concept": concept},
            "generate_images": {"concept": concept},
            "ablate_concept": {"neuron": 0, "image_id": "0" * 24, "concept": concept},
            "evaluate_label": {"neuron": 0, "label": concept},
        }
        for tool, arguments in calls.items():
            text = await _refused(client, tool, **arguments)
            assert reason in text, (tool, text)
    assert fakes.FakeGenerator.calls == 0
    assert not list(server.driver.service.workspace.root.glob("runs/*.json"))


async def test_the_word_limit_is_the_servers(make_server):
    from line_mcp.config import LoopConfig

    server = make_server(config=LoopConfig(iterations=2, max_concept_words=2))
    async with Client(server) as client:
        text = await _refused(client, "score_concept", neuron=0, concepts=["big red cat"])
        assert "has 3 words; at most 2 are allowed" in text
        text = await _refused(client, "generate_images", concept="big red cat")
        assert "has 3 words; at most 2 are allowed" in text


@pytest.mark.parametrize(
    ("tool", "arguments", "words"),
    [
        ("get_scoreboard", {"neuron": 99}, ("0..3",)),
        ("get_scoreboard", {"neuron": -1}, ("greater than or equal to 0",)),
        ("generate_images", {"concept": "red", "n_images": 10**9}, ("n_images", "16")),
        ("score_concept", {"neuron": 0, "concepts": ["red"] * 9}, ("concepts", "8")),
        ("get_activations", {"image_ids": ["nope"], "neurons": [0]}, ("not an image id",)),
        ("get_activations", {"paths": ["../../etc/passwd"], "neurons": [0]}, ("workspace",)),
        ("get_activations", {"paths": ["workspace.json"], "neurons": [0]}, ("not an image",)),
        ("job_status", {"job_id": "nope"}, ("unknown job id",)),
        ("ablate_concept", {"neuron": 0, "image_id": "0" * 24, "concept": "red"}, ("image",)),
    ],
)
async def test_tools_refuse_bad_arguments_with_a_message(make_server, tool, arguments, words):
    async with Client(make_server()) as client:
        text = await _refused(client, tool, **arguments)
    for word in words:
        assert word in text, text


@pytest.mark.parametrize(
    "uri",
    [
        "line://images/nope",
        "line://images/" + "0" * 24,
        "line://runs/..%2F..%2Fetc%2Fpasswd",
        "line://runs/nope",
    ],
)
async def test_resources_refuse_what_names_nothing(make_server, uri):
    from mcp.shared.exceptions import MCPError

    async with Client(make_server()) as client:
        with anyio.fail_after(TIMEOUT_S), pytest.raises(MCPError) as caught:
            await client.read_resource(uri)
    message = str(caught.value).lower()
    assert "internal error" not in message
    reasons = ("no run", "not stored", "not an image id", "unknown resource")
    assert any(reason in message for reason in reasons), message


