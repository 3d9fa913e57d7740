"""Stored formats: a workspace and a run record exactly as format 1 wrote them open and resume."""

from __future__ import annotations

import json
import sqlite3

import pytest

from line_mcp.config import LoopConfig
from line_mcp.loop import label_neuron, run_id_for
from line_mcp.service import LineService
from line_mcp.store import Workspace, versions
from tests import fakes

CONFIG = LoopConfig(iterations=3, init_top=3, init_random=2, images_per_concept=3, seed=7)


def _as_format_one(root, run_id):
    """Rewrite a workspace the way line-mcp wrote it before formats were numbered."""
    path = root / "runs" / f"{run_id}.json"
    data = json.loads(path.read_text())
    del data["format_version"], data["writer"]
    data["created_at"] = data["created_at"].replace("Z", "+00:00")  # datetime.isoformat()
    data["updated_at"] = data["updated_at"].replace("Z", "+0000")  # time.strftime("%z")
    for step in data["steps"]:
        step["finished_at"] = step["finished_at"].replace("Z", "+00:00")
    path.write_text(json.dumps(data, indent=1))
    (root / "workspace.json").unlink()
    with sqlite3.connect(root / "cache.sqlite") as db:
        db.execute("PRAGMA user_version=0")


def test_a_format_one_run_opens_upgraded_and_resumes_to_the_same_record(fake_backends, tmp_path):
    whole = label_neuron(LineService(fake_backends, tmp_path / "a"), 1, CONFIG)
    calls = {"n": 0}

    def crash_on_third(prompt, seed):
        calls["n"] += 1
        if calls["n"] == 3:
            raise RuntimeError("killed")
        return f"<answer>idea {seed % 997}</answer>"

    fakes.FakeProposer.script = crash_on_third
    with pytest.raises(RuntimeError):
        label_neuron(LineService(fake_backends, tmp_path / "b"), 1, CONFIG)
    fakes.FakeProposer.script = None
    run_id = run_id_for(LineService(fake_backends, tmp_path / "b"), 1, CONFIG)
    _as_format_one(tmp_path / "b", run_id)

    old = Workspace(tmp_path / "b").load_run(run_id)
    assert old is not None and old.format_version == versions.RUN_FORMAT
    assert old.updated_at.endswith("Z") and old.created_at.endswith("Z")
    assert json.loads((tmp_path / "b" / "workspace.json").read_text())["format_version"] == 2
    resumed = label_neuron(LineService(fake_backends, tmp_path / "b"), 1, CONFIG)
    assert resumed.run_id == whole.run_id  # the run id of a stored run is unchanged
    assert [(s.concept, s.score) for s in resumed.steps] == [
        (s.concept, s.score) for s in whole.steps
    ]
    saved = json.loads((tmp_path / "b" / "runs" / f"{run_id}.json").read_text())
    assert saved["format_version"] == versions.RUN_FORMAT and saved["writer"].startswith("line-mcp")
    with sqlite3.connect(tmp_path / "b" / "cache.sqlite") as db:
        assert db.execute("PRAGMA user_version").fetchone()[0] == versions.SQLITE_SCHEMA


def test_a_newer_format_is_refused_with_a_message(tmp_path):
    Workspace(tmp_path).close()
    (tmp_path / "workspace.json").write_text(json.dumps({"format_version": 99}))
    with pytest.raises(versions.FormatError, match="newer line-mcp"):
        Workspace(tmp_path)


def test_old_timestamps_become_utc_with_z():
    assert versions.as_utc("2026-01-02T03:04:05+00:00") == "2026-01-02T03:04:05Z"
    assert versions.as_utc("2026-01-02T03:04:05-0130") == "2026-01-02T04:34:05Z"


def test_a_format_one_job_record_loads():
    from line_mcp.server.jobs import Job

    old = {"job_id": "j1", "kind": "label_neuron", "neuron": 3, "run_id": "r", "status": "finished"}
    job = Job.from_dict({**old, "done": 1, "total": 1, "message": "finished", "result": None})
    assert job.status == "finished" and job.to_dict()["format_version"] == versions.JOB_FORMAT
    with pytest.raises(versions.FormatError):
        Job.from_dict({**old, "format_version": 99})
