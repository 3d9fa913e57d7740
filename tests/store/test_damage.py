"""A damaged workspace is detected, the damaged piece set aside with a message, and the
run goes on from its last good state; a run killed with SIGKILL at any moment resumes
to the record an uninterrupted run writes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from line_mcp.config import LoopConfig
from line_mcp.loop import label_neuron
from line_mcp.server.jobs import JobManager
from line_mcp.service import LineService
from line_mcp.store.workspace import Workspace

ROOT = Path(__file__).resolve().parents[2]
CONFIG = LoopConfig(iterations=3, seed=2)


def outcome(record) -> dict:
    """What a run found: every step's concept, origin and score, the final board and label."""
    return {
        "init": record.init and [(e.concept, round(e.score, 6)) for e in record.init.entries],
        "steps": [
            (s.step, s.concept, s.origin, s.proposal_origin, s.score and round(s.score, 6))
            for s in record.steps
        ],
        "board": [(e.concept, round(e.score, 6)) for e in record.scoreboard()],
        "label": (record.label.concept, round(record.label.score, 6)) if record.label else None,
        "status": record.status,
    }


def test_a_truncated_run_record_is_set_aside_and_the_run_redone(fake_backends, tmp_path, capsys):
    service = LineService(fake_backends, tmp_path)
    done = label_neuron(service, 1, CONFIG)
    expected = outcome(done)
    path = tmp_path / "runs" / f"{done.run_id}.json"
    truncated = path.read_bytes()[: path.stat().st_size // 2]
    path.write_bytes(truncated)  # a disk or editor crash mid-write
    service.workspace.close()

    service = LineService(fake_backends, tmp_path)
    assert service.workspace.load_run(done.run_id) is None
    err = capsys.readouterr().err
    assert f"runs/{done.run_id}.json is not valid JSON" in err and "redone from the start" in err
    (aside,) = (tmp_path / "runs").glob(f"{done.run_id}.json.damaged-*")
    assert aside.read_bytes() == truncated and not path.exists()
    assert outcome(label_neuron(service, 1, CONFIG)) == expected


def test_a_run_record_of_the_wrong_shape_is_set_aside(fake_backends, tmp_path, capsys):
    service = LineService(fake_backends, tmp_path)
    done = label_neuron(service, 0, CONFIG)
    path = tmp_path / "runs" / f"{done.run_id}.json"
    path.write_text(json.dumps({"format_version": 2, "run_id": done.run_id, "steps": "x"}))
    assert service.workspace.load_runs(["all"]) == []  # left out, not a crash
    assert "is not a valid run record" in capsys.readouterr().err
    assert not path.exists()


def test_missing_image_files_are_redrawn(fake_backends, tmp_path, capsys):
    service = LineService(fake_backends, tmp_path)
    done = label_neuron(service, 2, CONFIG)
    image_ids = [i.image_id for i in done.steps[0].images]
    for image_id in image_ids:
        service.workspace.image_path(image_id).unlink()
    service.workspace.close()

    service = LineService(fake_backends, tmp_path)
    err = capsys.readouterr().err
    assert "image file(s) listed in cache.sqlite are missing" in err and "drawn again" in err
    assert not any(service.workspace.has_image(i) for i in image_ids)
    service.drawing.score_concept(2, done.steps[0].concept, CONFIG)  # the step's images again
    assert all(service.workspace.has_image(i) for i in image_ids)


def test_a_damaged_cache_page_is_set_aside(tmp_path, capsys):
    workspace = Workspace(tmp_path)
    for k in range(300):
        workspace.put_image(
            f"{k:024x}", None, generator="g", concept="c" * 200, prompt="p", seed=k, source={}
        )
    workspace.close()
    data = bytearray((tmp_path / "cache.sqlite").read_bytes())
    for wal in tmp_path.glob("cache.sqlite-*"):
        wal.unlink()
    data[4096 : 4096 * 3] = b"\xff" * 8192  # overwrite pages after the header
    (tmp_path / "cache.sqlite").write_bytes(bytes(data))
    workspace = Workspace(tmp_path)
    assert "is not a usable SQLite database" in capsys.readouterr().err
    assert workspace.image_info(f"{1:024x}") is None  # a fresh, working index
    assert list(tmp_path.glob("cache.sqlite.damaged-*"))


def test_an_unparsable_job_record_is_set_aside(tmp_path, capsys):
    folder = tmp_path / "jobs"
    folder.mkdir()
    (folder / "abcdef123456.json").write_text('{"job_id": "abcdef1')
    jobs = JobManager(folder=folder)
    try:
        jobs.get("abcdef123456")
    except KeyError as err:
        assert "unknown job id" in str(err)
    assert "is not a valid job record" in capsys.readouterr().err
    assert list(folder.glob("abcdef123456.json.damaged-*"))


# --- kill -9 -------------------------------------------------------------------------------


def _command(workspace: Path) -> list[str]:
    fake = ["--target", "fake", "--layer", "colours", "--generator", "slow?seconds=0.25"]
    fake += ["--proposer", "fake", "--embedder", "fake", "--control", "fake", "--device", "cpu"]
    loop = ["--neurons", "0-1", "--iterations", "4", "--seed", "3"]
    command = [sys.executable, "-m", "line_mcp", "run-loop", *loop, *fake]
    return [*command, "--workspace", str(workspace)]


def _env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "LINE_MCP_PLUGINS": "tests.fakes",
            "HF_HUB_OFFLINE": "1"}  # fmt: skip


def _records(workspace: Path) -> dict[str, dict]:
    store = Workspace(workspace)
    try:
        return {run_id: outcome(store.load_run(run_id)) for run_id in store.list_runs()}
    finally:
        store.close()


def _steps_saved(workspace: Path) -> int:
    if not (workspace / "runs").is_dir():  # not created yet: do not race the run to it
        return 0
    return sum(len(r["steps"]) for r in _records(workspace).values())


def test_kill_9_at_random_moments_loses_at_most_the_step_in_progress(tmp_path):
    reference = subprocess.run(
        _command(tmp_path / "reference"), env=_env(), cwd=ROOT, capture_output=True,
        text=True, timeout=60,
    )  # fmt: skip
    assert reference.returncode == 0, reference.stderr
    expected = _records(tmp_path / "reference")
    assert len(expected) == 2 and all(r["status"] == "finished" for r in expected.values())

    killed = tmp_path / "killed"
    rng = random.Random(15)
    delays = [rng.uniform(0.0, 0.3) for _ in range(3)]  # within a step (a 0.25 s drawing)
    progress = []  # steps saved when each kill came: the kills must land mid-run
    for delay in delays:
        before = _steps_saved(killed)
        process = subprocess.Popen(
            _command(killed), env=_env(), cwd=ROOT, stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        # Kill after this process saved a step, so each kill lands mid-run on any machine.
        deadline = time.monotonic() + 60
        while _steps_saved(killed) <= before and process.poll() is None:
            assert time.monotonic() < deadline, "the run saved no step in 60 s"
            time.sleep(0.05)
        time.sleep(delay)
        if process.poll() is None:
            os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=30)
        progress.append(_steps_saved(killed))
    finished = sum(len(r["steps"]) for r in expected.values())
    assert progress == sorted(set(progress)) and progress[-1] < finished, progress
    final = subprocess.run(
        _command(killed), env=_env(), cwd=ROOT, capture_output=True, text=True, timeout=60
    )
    assert final.returncode == 0, final.stderr
    assert "Traceback" not in final.stderr
    assert _records(killed) == expected, f"killed {delays} s after a step; steps then {progress}"
