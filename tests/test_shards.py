"""label_shard: the one place a process labels a list of neurons (local run and Ray actors)."""

from __future__ import annotations

import os

from line_mcp.config import LoopConfig
from line_mcp.loop import label_neuron
from line_mcp.service import LineService
from line_mcp.shards import label_shard
from tests import fakes

CONFIG = LoopConfig(iterations=2, seed=4, proposal="llm")


def test_a_shard_gives_each_neurons_loop_record_in_order(fake_backends, tmp_path):
    results = label_shard(LineService(fake_backends, tmp_path / "a"), [2, 0], CONFIG)
    alone = LineService(fake_backends, tmp_path / "b")
    assert [r.neuron for r in results] == [2, 0]
    for result in results:
        assert result.error is None and result.worker.endswith(f":{os.getpid()}")
        expected = label_neuron(alone, result.neuron, CONFIG)
        assert result.record.run_id == expected.run_id and result.record.label == expected.label
        steps = [(s.concept, s.score, s.scoreboard) for s in result.record.steps]
        assert steps == [(s.concept, s.score, s.scoreboard) for s in expected.steps]


def test_a_failed_neuron_is_returned_with_its_saved_record(fake_backends, tmp_path):
    fakes.FakeProposer.script = lambda prompt, seed: "no idea"
    config = CONFIG.model_copy(update={"max_retries": 0, "max_failed_steps": 1})
    (result,) = label_shard(LineService(fake_backends, tmp_path), [1], config)
    assert result.record.status == "failed" and "no valid concept" in (result.error or "")
