"""job_status: progress with an estimate of the time left."""

import time

import anyio
from mcp import Client

from line_mcp.server.jobs import Job
from tests.server.test_tools import call, hold_proposals, warm_init


def test_the_estimate_is_the_pace_so_far():
    job = Job("ab" * 6, "label_neuron", 0, "run", status="running", done=2, total=5)
    assert job.eta_s is None  # not started
    job.started_at = time.time() - 10  # wall clock: another process reads it too
    assert job.eta_s is not None and 14.9 < job.eta_s < 15.5
    job.status = "finished"
    assert job.eta_s is None


async def test_job_status_reports_elapsed_and_eta_while_running(make_server):
    server = make_server()
    release = hold_proposals()
    async with Client(server) as client:
        await warm_init(client, server, 0)
        job, _ = await call(client, "label_neuron", neuron=0)
        with anyio.fail_after(20):
            while True:  # the initial board is done; the first proposal is held
                status, _ = await call(client, "job_status", job_id=job["job_id"])
                if status["status"] == "running" and status["progress"] > 0:
                    break
                await anyio.sleep(0.05)
        assert status["elapsed_s"] is not None and status["eta_s"] is not None
        assert status["eta_s"] >= 0
        release.set()
        server.driver.jobs.wait(job["job_id"], timeout=30)
        done, _ = await call(client, "job_status", job_id=job["job_id"])
    assert done["status"] == "finished" and done["eta_s"] is None
