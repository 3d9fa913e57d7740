"""Progress notifications while a call waits for its job, and cancelling a waiting call."""

import time

import anyio
from mcp import Client

from line_mcp.loop import label_neuron
from line_mcp.service import LineService
from tests import fakes
from tests.server.conftest import CONFIG
from tests.server.test_tools import call, hold_proposals, strip_times, warm_init


async def test_a_waiting_label_neuron_sends_progress_notifications(make_server):
    server = make_server()
    notices = []

    async def on_progress(progress, total, message):
        notices.append((progress, total, message))

    def slow(prompt, seed):  # each proposal takes a while: the wait sees every step
        time.sleep(0.6)
        return f"<answer>idea {seed % 97}</answer>"

    fakes.FakeProposer.script = slow
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        assert "ctx" not in tools["label_neuron"].input_schema["properties"]
        await warm_init(client, server, 1)
        result = await client.call_tool(
            "label_neuron", {"neuron": 1, "wait_s": 30}, progress_callback=on_progress
        )
        job = result.structured_content
    assert job["status"] == "finished", job
    steps = 1 + CONFIG.iterations + 1  # initial board, N iterations, summary
    assert all(total == steps for p, total, _ in notices if p > 0), notices
    progress = [p for p, _, _ in notices]
    assert progress == sorted(set(progress)) and progress[-1] == steps
    assert len([p for p in progress if 0 < p < steps]) >= 2, notices  # steps as they end
    assert any("step" in message for _, _, message in notices)


async def test_init_scoreboard_on_a_cold_layer_waits_with_progress(make_server, fake_backends):
    # Each drawing call takes a second, so the vocabulary job is seen between its batches
    # however fast the machine is.
    server = make_server(fake_backends.model_copy(update={"generator": "slow?seconds=1"}))
    notices = []

    async def on_progress(progress, total, message):
        notices.append((progress, total, message))

    async with Client(server) as client:
        result = await client.call_tool(
            "init_scoreboard", {"neuron": 0, "wait_s": 30}, progress_callback=on_progress
        )
    board = result.structured_content
    assert board["status"] == "running" and board["scoreboard"], board
    assert any("vocabulary" in message for _, _, message in notices), notices


async def test_cancelling_a_waiting_call_stops_the_job_between_steps(
    make_server, fake_backends, tmp_path
):
    # The reference run gets the replies the held proposer gives once released.
    fakes.FakeProposer.script = lambda prompt, seed: f"<answer>idea {seed % 97}</answer>"
    reference = label_neuron(LineService(fake_backends, tmp_path / "loop"), 0, CONFIG)
    server = make_server()
    jobs = server.driver.jobs
    release = hold_proposals()
    async with Client(server) as client:
        await warm_init(client, server, 0)
        async with anyio.create_task_group() as group:
            group.start_soon(client.call_tool, "label_neuron", {"neuron": 0, "wait_s": 40})
            with anyio.fail_after(20):  # the job is at step 1, its proposal held
                while (job := jobs.active_job(reference.run_id)) is None or job.done < 1:
                    await anyio.sleep(0.05)
            await anyio.sleep(0.3)
            saved = len(server.driver.service.workspace.load_run(reference.run_id).steps)
            group.cancel_scope.cancel()  # the client sends notifications/cancelled
        with anyio.fail_after(10):
            while not job.cancel_event.is_set():
                await anyio.sleep(0.05)
        release.set()  # the step in progress ends, then the job stops
        jobs.wait(job.job_id, timeout=30)
        assert job.status == "cancelled"
        board, _ = await call(client, "get_scoreboard", neuron=0)
        # The step in progress (its proposal held) was finished and stored, then it stopped.
        assert board["status"] == "running" and board["steps_done"] == saved + 1
        stored = server.driver.service.workspace.load_run(reference.run_id)
        assert len(stored.steps) == board["steps_done"]  # valid: no half-stored step
        resumed, _ = await call(client, "label_neuron", neuron=0, wait_s=40)
        assert resumed["status"] == "finished"
    stored = server.driver.service.workspace.load_run(reference.run_id)
    assert strip_times(stored) == strip_times(reference)
