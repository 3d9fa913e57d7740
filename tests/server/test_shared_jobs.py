"""Jobs belong to the workspace: two job managers, or two processes, on one workspace."""

import json
import os
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import anyio
from mcp import Client

from line_mcp.loop import label_neuron
from line_mcp.server.jobs import JobManager
from line_mcp.service import LineService
from line_mcp.store.locks import WorkLock
from tests.server.conftest import CONFIG
from tests.server.test_tools import call, hold_proposals, strip_times, warm_init

ROOT = Path(__file__).resolve().parents[2]


def held_work(release: threading.Event, steps: int = 50):
    def work(job):
        for step in range(steps):
            job.report(f"step {step}", step, steps)
            if release.wait(0.05):
                return "done"
        return "done"

    return work


def test_a_second_manager_sees_the_job_and_does_not_start_it_again(tmp_path):
    first, second = JobManager(folder=tmp_path), JobManager(folder=tmp_path)
    release = threading.Event()
    job = first.submit("label_neuron", 1, "run-1", held_work(release))
    while job.done < 2:  # a job's own reports are stored at once
        time.sleep(0.05)
    seen = second.get(job.job_id)
    assert seen.remote and seen.status == "running" and seen.owner_pid == os.getpid()
    assert seen.done >= 1 and seen.total == 50 and seen.elapsed_s is not None
    again = second.submit("label_neuron", 1, "run-1", lambda job: "twice")
    assert again.job_id == job.job_id and again.remote  # not started a second time
    assert second.active_job("run-1").job_id == job.job_id
    other = second.submit("label_neuron", 2, "run-2", lambda job: "other work")
    assert second.wait(other.job_id, 5).result == "other work"
    release.set()
    first.wait(job.job_id, 5)
    assert second.get(job.job_id).status == "finished"
    assert WorkLock(tmp_path / "locks", "run-1").holder() is None
    assert second.active_job("run-1") is None
    first.shutdown()
    second.shutdown()


def test_cancel_from_another_manager_stops_the_job_at_its_next_checkpoint(tmp_path):
    first, second = JobManager(folder=tmp_path), JobManager(folder=tmp_path)
    job = first.submit("label_neuron", 1, "run-1", held_work(threading.Event(), 400))
    while job.status != "running":
        time.sleep(0.02)
    asked = second.cancel(job.job_id)
    assert asked.remote and "cancel asked" in asked.message
    first.wait(job.job_id, 10)
    assert job.status == "cancelled" and job.done < 399
    assert second.get(job.job_id).status == "cancelled"
    assert not (tmp_path / f"{job.job_id}.cancel").exists()
    first.shutdown()
    second.shutdown()


async def test_a_client_disconnecting_leaves_the_job_running(make_server):
    server = make_server()
    release = hold_proposals()
    async with Client(server) as client:  # a one-shot client: starts the job, goes away
        await warm_init(client, server, 0)
        job, _ = await call(client, "label_neuron", neuron=0)
    async with Client(server) as client:
        status, _ = await call(client, "job_status", job_id=job["job_id"])
        assert status["status"] == "running"
        release.set()
        server.driver.jobs.wait(job["job_id"], timeout=30)
        status, _ = await call(client, "job_status", job_id=job["job_id"])
    assert status["status"] == "finished"


_CHILD = """
import sys, time
from line_mcp.backends.registry import load_plugins
from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.server import build_server
from line_mcp.service import LineService

load_plugins(["tests.fakes"])
from tests import fakes

def held(prompt, seed):  # the first proposal never comes: the job stays at step 1
    time.sleep(3600)

fakes.FakeProposer.script = held
backends = BackendConfig(target="fake", layer="colours", generator="fake", proposer="fake",
                         embedder="fake", control="fake", device="cpu")
server = build_server(LineService(backends, sys.argv[1]), LoopConfig(iterations=3, seed=5))
job = server.driver.start_label_job(0)
print(job.job_id, flush=True)
time.sleep(3600)
"""


async def test_a_job_of_a_killed_process_is_interrupted_and_resumed(
    make_server, fake_backends, tmp_path
):
    reference = label_neuron(LineService(fake_backends, tmp_path / "loop"), 0, CONFIG)
    workspace = tmp_path / "ws"
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(workspace)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        text=True,
        env={**os.environ, "PYTHONPATH": str(ROOT)},
    )
    try:
        job_id = child.stdout.readline().strip()
        record = workspace / "jobs" / f"{job_id}.json"
        with anyio.fail_after(60):  # the child's job: initial board saved, step 1 held
            while not record.exists() or json.loads(record.read_text())["done"] < 1:
                await anyio.sleep(0.1)
        server = make_server(workspace=workspace)
        async with Client(server) as client:
            status, _ = await call(client, "job_status", job_id=job_id)
            assert status["status"] == "running" and status["progress"] > 0
            assert status["owner_pid"] == child.pid and status["elapsed_s"] > 0
            again, _ = await call(client, "label_neuron", neuron=0)
            assert again["job_id"] == job_id  # the work is locked: not started twice
            board, _ = await call(client, "get_scoreboard", neuron=0)
            assert board["job_id"] == job_id and "job_status" in board["next"]

            child.send_signal(signal.SIGKILL)
            child.wait(10)
            status, _ = await call(client, "job_status", job_id=job_id)
            assert status["status"] == "failed" and status["message"] == "interrupted"
            assert f"process {child.pid} stopped" in status["error"]
            assert "label_neuron resumes" in status["next"]

            resumed, _ = await call(client, "label_neuron", neuron=0)
            assert resumed["job_id"] != job_id
            server.driver.jobs.wait(resumed["job_id"], timeout=60)
            board, _ = await call(client, "get_scoreboard", neuron=0)
        assert board["status"] == "finished"
        stored = server.driver.service.workspace.load_run(reference.run_id)
        assert strip_times(stored) == strip_times(reference)  # as if never interrupted
    finally:
        if child.poll() is None:
            child.kill()
            child.wait(10)


async def test_a_layer_vocabulary_is_scored_by_one_server_at_a_time(make_server, monkeypatch):
    from tests import fakes

    generate = fakes.FakeGenerator.generate
    release = threading.Event()

    def slow(self, requests):  # the first server's pass holds until the second one waits
        release.wait(20)
        return generate(self, requests)

    monkeypatch.setattr(fakes.FakeGenerator, "generate", slow)
    first, second = make_server(), make_server()
    async with Client(first) as one, Client(second) as two:
        a, _ = await call(one, "init_scoreboard", neuron=0)
        with anyio.fail_after(20):
            while first.driver.jobs.get(a["job_id"]).status != "running":
                await anyio.sleep(0.05)
        b, _ = await call(two, "init_scoreboard", neuron=1)  # another run, the same layer
        assert b["status"] == "initialising" and b["job_id"] != a["job_id"]
        job_b = second.driver.jobs.get(b["job_id"])
        with anyio.fail_after(20):
            while "waiting for the line-mcp process" not in job_b.message:
                assert first.driver.jobs.get(a["job_id"]).active, job_b.message
                await anyio.sleep(0.02)
        release.set()
        first.driver.jobs.wait(a["job_id"], timeout=30)
        second.driver.jobs.wait(b["job_id"], timeout=30)
        assert job_b.status == "finished", job_b.error
        board, _ = await call(two, "get_scoreboard", neuron=1)
    assert board["status"] == "running" and board["scoreboard"]
