import importlib.util
import json
import sys
from pathlib import Path

_PATH = Path(__file__).resolve().parents[2] / "tools" / "benchmark_layer.py"
_SPEC = importlib.util.spec_from_file_location("benchmark_layer", _PATH)
benchmark = importlib.util.module_from_spec(_SPEC)
sys.modules["benchmark_layer"] = benchmark
_SPEC.loader.exec_module(benchmark)


def run_on_fakes(tmp_path: Path, neurons: str, batches: str, *extra: str) -> tuple[dict, str]:
    """The benchmark on the test fakes; its JSON result and its markdown."""
    base = tmp_path / "base"
    base.mkdir()
    fakes = [f"--backend={role}=fake" for role in ("target", "proposer", "embedder", "control")]
    pool_batch = batches.split(",")[-1]
    code = benchmark.main(
        [
            "--base-workspace", str(base), "--scratch", str(tmp_path / "scratch"),
            "--neurons", neurons, "--layer", "colours", "--generator", "fake",
            "--iterations", "2", "--batches", batches, "--pool-batch", pool_batch,
            "--eval-images", "3", "--eval-generator", "fake", "--eval-control", "fake",
            "--plugin", "tests.fakes", "--output", str(tmp_path / "out" / "layer"),
            *fakes, *extra,
        ]
    )  # fmt: skip
    assert code == 0
    out = tmp_path / "out"
    return json.loads((out / "layer.json").read_text()), (out / "layer.md").read_text()


def test_the_benchmark_runs_every_arm_on_fakes(fake_backends, tmp_path):
    result, markdown = run_on_fakes(tmp_path, "0-3", "2,4", "--pool-bars", "minimum,best")
    arms = ["one-at-a-time", "lockstep-2", "lockstep-4", "pool-4", "pool-4-best"]
    assert list(result["arms"]) == arms
    assert result["arms"]["pool-4-best"]["pool_steps"] <= result["arms"]["pool-4"]["pool_steps"]
    assert set(result["pool_vs_plain_auc"]) == {"pool-4", "pool-4-best"}
    assert result["arms"]["lockstep-4"]["records_equal_to_one_at_a_time"] == 4
    assert all(a["finished"] == 4 for a in result["arms"].values())
    assert result["vocabulary_cached_in_base"] is False
    assert "| pool-4 |" in markdown


def test_the_benchmark_reports_arms_whose_runs_end_without_a_label(
    fake_backends, tmp_path, monkeypatch
):
    from tests import fakes

    too_long = "<answer>" + "word " * 12 + "</answer>"  # over the word limit: refused
    monkeypatch.setattr(fakes.FakeProposer, "script", staticmethod(lambda prompt, seed: too_long))
    result, markdown = run_on_fakes(tmp_path, "0-1", "2", "--proposal", "llm")
    assert all(a["mean_auc"] is None for a in result["arms"].values())
    assert result["pool_vs_plain_auc"] == {"pool-2": None}
    assert "no neuron has a label in both arms" in markdown
