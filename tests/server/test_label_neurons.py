"""The label_neurons tool: several neurons as one lockstep job, through the real MCP client."""

import re

from mcp import Client

from line_mcp.layer import schedule_free
from line_mcp.loop import label_neuron
from line_mcp.service import LineService
from tests.server.conftest import CONFIG
from tests.server.test_tools import call, call_error


async def test_label_neurons_runs_a_range_as_one_job_with_per_neuron_progress(
    make_server, fake_backends, tmp_path
):
    server = make_server()
    seen: list[str] = []
    async with Client(server) as client:
        job, _ = await call(client, "label_neurons", neurons="0-2", batch_neurons=2)
        assert job["kind"] == "label_neurons" and job["neuron"] == 0
        while True:
            status, _ = await call(client, "job_status", job_id=job["job_id"])
            seen.append(status["message"])
            if status["status"] not in ("queued", "running"):
                break
            server.driver.jobs.wait(job["job_id"], timeout=0.05)
        assert status["status"] == "finished" and status["progress"] == 1.0
        per_run = 1 + CONFIG.iterations + int(CONFIG.summary)
        progress = [m for m in seen if "steps per neuron" in m]
        assert progress, seen
        pattern = rf"steps per neuron 0: \d/{per_run}, 1: \d/{per_run}, 2: \d/{per_run}"
        assert re.search(pattern, progress[-1])
        assert status["message"].startswith("finished; labels: 0: ")
        result, _ = await call(client, "job_result", job_id=job["job_id"])
        assert result["neuron"] == 0 and result["label"]["concept"]
        listed, _ = await call(client, "label_neurons", neurons=[2, 1])  # already finished
        server.driver.jobs.wait(listed["job_id"], timeout=60)
        text = await call_error(client, "label_neurons", neurons="3-1")
        assert "bad neuron range" in text
        text = await call_error(client, "label_neurons", neurons=[0, 99])
        assert "99" in text
    service = server.driver.service
    for neuron in (0, 1, 2):
        alone = label_neuron(LineService(fake_backends, tmp_path / "alone"), neuron, CONFIG)
        stored = service.workspace.load_run(server.driver.run_id(neuron))
        assert schedule_free(stored) == schedule_free(alone)
