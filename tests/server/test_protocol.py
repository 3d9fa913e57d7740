"""Protocol details a client relies on: error codes, titles and hints, descriptions."""

import json
import subprocess
import threading

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import INVALID_PARAMS

from tests.server.test_stdio import serve_command
from tests.server.test_tools import call, warm_init


@pytest.mark.parametrize(
    "uri", ["line://runs/missing-run", "line://images/" + "ab" * 12, "line://scoreboards/x"]
)
async def test_a_resource_that_is_not_there_is_not_found_not_internal(make_server, uri):
    async with Client(make_server()) as client:
        with pytest.raises(MCPError) as caught:
            await client.read_resource(uri)
    # The SDK's resource-not-found code (-32602 in the protocol it implements).
    assert caught.value.code == INVALID_PARAMS


async def test_a_prompt_without_its_argument_is_invalid_params(make_server):
    async with Client(make_server()) as client:
        with pytest.raises(MCPError) as caught:
            await client.get_prompt("label_neuron_workflow", {})
        assert caught.value.code == INVALID_PARAMS and "neuron" in caught.value.message
        with pytest.raises(MCPError) as caught:
            await client.get_prompt("no_such_prompt", {"neuron": "1"})
        assert caught.value.code == INVALID_PARAMS


async def test_prompts_have_one_line_descriptions_and_described_arguments(make_server):
    async with Client(make_server()) as client:
        prompts = (await client.list_prompts()).prompts
    for prompt in prompts:
        assert prompt.title and prompt.description, prompt.name
        assert "\n" not in prompt.description and "  " not in prompt.description, prompt.name
        for argument in prompt.arguments or []:
            assert argument.required and "neuron" in (argument.description or ""), prompt.name


async def test_tools_have_titles_and_truthful_hints(make_server):
    async with Client(make_server()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    for tool in tools.values():
        assert tool.title and tool.annotations.title == tool.title, tool.name
        assert tool.annotations.open_world_hint is False, tool.name
        if tool.annotations.read_only_hint:
            assert tool.annotations.idempotent_hint, tool.name
    read_only = {n for n, t in tools.items() if t.annotations.read_only_hint}
    assert read_only == {
        "describe_target", "get_scoreboard", "get_activations", "score_concept",
        "job_status", "job_result",
    }  # fmt: skip
    idempotent = {n for n, t in tools.items() if t.annotations.idempotent_hint}
    assert idempotent == read_only | {
        "init_scoreboard", "generate_images", "label_neuron", "label_neurons", "cancel_job"
    }  # fmt: skip


async def test_a_proposal_names_the_origin_its_recorded_step_gets(make_server):
    server = make_server()
    async with Client(server) as client:
        await warm_init(client, server, 2)
        proposal, _ = await call(client, "propose_concept", neuron=2)
        update, _ = await call(client, "update_scoreboard", neuron=2, concept=proposal["concept"])
    step = server.driver.service.workspace.load_run(update["run_id"]).steps[-1]
    assert proposal["origin"] == update["origin"] == step.origin == "llm"
    assert proposal["proposal_origin"] == step.proposal_origin


async def test_a_finished_run_points_to_evaluate_label(make_server):
    server = make_server()
    async with Client(server) as client:
        job, _ = await call(client, "label_neuron", neuron=0)
        server.driver.jobs.wait(job["job_id"], timeout=60)
        status, _ = await call(client, "job_status", job_id=job["job_id"])
        board, _ = await call(client, "get_scoreboard", neuron=0)
    assert status["status"] == "finished" and "evaluate_label" in status["next"]
    assert board["status"] == "finished" and "evaluate_label(neuron=0)" in board["next"]


def test_a_malformed_stdio_line_gets_a_json_rpc_error(tmp_path):
    command = serve_command(tmp_path)
    hello = {
        "jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": "2025-06-18", "capabilities": {},
                   "clientInfo": {"name": "test", "version": "1"}},
    }  # fmt: skip
    lines = [json.dumps(hello), "{not json", "[1, 2]"]
    server = subprocess.Popen(
        [command.command, *command.args, "--no-preload"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        text=True,
        cwd=command.cwd,
        env=command.env,
    )
    watchdog = threading.Timer(120, server.kill)  # a hung server fails the test, not CI
    watchdog.start()
    try:
        assert server.stdin is not None and server.stdout is not None
        server.stdin.write("\n".join(lines) + "\n")
        server.stdin.flush()  # stdin stays open until the answers are read
        answers = [json.loads(server.stdout.readline()) for _ in lines]
    finally:
        watchdog.cancel()
        server.kill()
        server.wait()
    errors = [a["error"]["code"] for a in answers if "error" in a]
    assert answers[0]["id"] == 1 and "result" in answers[0], answers
    assert errors == [-32700, -32600], answers
    assert all(a["id"] is None for a in answers if "error" in a)


async def test_published_schemas_carry_no_titles_or_result_defaults(make_server):
    async with Client(make_server()) as client:
        tools = (await client.list_tools()).tools
    text = json.dumps([t.output_schema for t in tools])
    assert '"title"' not in text and '"default"' not in text
    # Input defaults stay: they tell the caller what an omitted argument means.
    score = next(t for t in tools if t.name == "generate_images").input_schema
    assert "title" not in score["properties"]["concept"]
    assert score["properties"]["n_images"]["default"] is None
