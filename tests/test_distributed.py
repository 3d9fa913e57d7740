"""``--engine ray``: two CPU actors on a local Ray cluster label like the local run,
and a worker killed in the middle of a neuron is restarted and its neuron retried."""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path

import pytest

from line_mcp.config import LoopConfig
from line_mcp.distributed import NAMESPACE, label_with_ray
from line_mcp.loop import label_neuron
from line_mcp.service import LineService
from line_mcp.store.workspace import Workspace

ray = pytest.importorskip("ray")
pytestmark = pytest.mark.slow

REPO = Path(__file__).resolve().parents[1]


@pytest.fixture(scope="module")
def local_ray():
    ray.init(
        num_cpus=2,
        include_dashboard=False,
        namespace=NAMESPACE,
        runtime_env={"env_vars": {"PYTHONPATH": str(REPO), "LINE_MCP_PLUGINS": "tests.fakes"}},
    )
    yield
    ray.shutdown()


def _actor_pid(name: str, deadline: float) -> int:
    while time.monotonic() < deadline:
        try:
            actor = ray.get_actor(name, namespace=NAMESPACE)
        except ValueError:
            time.sleep(0.2)
            continue
        return ray.get(actor.pid.remote(), timeout=max(1.0, deadline - time.monotonic()))
    raise AssertionError(f"actor {name} never started")


def test_finished_neurons_are_read_from_the_workspace_not_handed_out(
    fake_backends, local_ray, tmp_path
):
    config = LoopConfig(iterations=1, seed=2, proposal="llm")
    service = LineService(fake_backends, tmp_path)
    done = label_neuron(service, 1, config)  # a driver killed after neuron 1
    results = label_with_ray(fake_backends, service.workspace, config, [1], workers=2)
    assert results[0].record == done  # no actor was started for it
    with pytest.raises(ValueError):
        ray.get_actor("line-worker-0", namespace=NAMESPACE)


def test_two_workers_label_like_the_local_loop_and_a_killed_worker_is_retried(
    fake_backends, local_ray, tmp_path
):
    backends = fake_backends.model_copy(update={"generator": "slow?seconds=0.25"})
    config = LoopConfig(iterations=3, seed=1, proposal="llm")
    neurons = [0, 1, 2, 3]
    workspace = Workspace(tmp_path / "ray")
    outcome: dict[str, object] = {}

    def drive() -> None:
        try:
            outcome["results"] = label_with_ray(
                backends, workspace, config, neurons, workers=2, batch_neurons=1
            )
        except Exception as err:  # reported by the assertion below
            outcome["error"] = err

    driver = threading.Thread(target=drive)
    driver.start()
    deadline = time.monotonic() + 60
    pid = _actor_pid("line-worker-0", deadline)
    other = _actor_pid("line-worker-1", deadline)
    runs = tmp_path / "ray" / "runs"
    while time.monotonic() < deadline and not any(runs.glob("*.json")):
        time.sleep(0.05)
    os.kill(pid, signal.SIGKILL)  # in the middle of a neuron: its record is being written
    driver.join(80)
    assert "error" not in outcome, outcome.get("error")
    results = outcome["results"]
    assert [r.neuron for r in results] == neurons
    assert all(r.error is None and r.record.status == "finished" for r in results)
    # The killed worker was restarted (a third process labeled some neuron: Ray re-ran the
    # killed task on the restarted actor), and every record equals the one-at-a-time
    # loop's with the same seed and backends (a resumed neuron equals an uninterrupted one).
    pids = {int(r.worker.rsplit(":", 1)[1]) for r in results}
    assert pids - {pid, other}, (pids, pid, other)
    local = LineService(backends, tmp_path / "local")
    for result in results:
        expected = label_neuron(local, result.neuron, config)
        got = workspace.load_run(result.record.run_id)
        assert got is not None and got.run_id == expected.run_id
        assert got.label == expected.label
        assert [(s.concept, s.score) for s in got.steps] == [
            (s.concept, s.score) for s in expected.steps
        ]
        assert got.init is not None and expected.init is not None
        assert got.init.entries == expected.init.entries
