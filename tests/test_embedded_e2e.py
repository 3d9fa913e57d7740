"""End-to-end on the real embedded stack: pretrained EfficientNet-Lite0, MiniLM,
SmolLM2 through transformers, the offline image banks. Minutes, marked slow."""

import json

import numpy as np
import pytest

from line_mcp.cli import main

pytestmark = pytest.mark.slow


def test_pretrained_target_recognises_a_bank_koala():
    from line_mcp.backends.registry import BuildContext, resolve
    from line_mcp.data import banks

    target = resolve("target", "efficientnet-lite:lite0", BuildContext(layer="logits"))
    koala = next(e for e in banks.list_bank("tuxpaint") if e.label == "koala")
    logits = target.activations([banks.render(koala)])[0]
    top5 = [target.neuron_names()[i] for i in np.argsort(-logits)[:5]]
    assert "koala" in top5  # real ImageNet weights, not random ones


def test_the_packaged_llm_declares_the_size_it_has_once_loaded():
    # proposal="auto" picks guided proposals from the declared size, without loading it.
    from line_mcp.backends.registry import BuildContext, implementation, resolve

    cls, argument, options = implementation("proposer", "transformers:smollm2")
    proposer = resolve("proposer", "transformers:smollm2", BuildContext())
    assert cls.declared_parameters(argument, options) == proposer.num_parameters


def test_run_loop_on_the_embedded_default(tmp_path):
    # A 40-label slice of the default control vocabulary keeps the one-off scoring short.
    args = [
        "run-loop",
        "--neurons",
        "105",
        "--layer",
        "logits",
        "--iterations",
        "2",
        "--control",
        "bank:openmoji?limit=40",
        "--workspace",
        str(tmp_path),
    ]
    assert main(args) == 0
    summary = json.loads((tmp_path / "labels-logits.json").read_text())
    row = summary["labels"][0]
    assert row["status"] == "finished" and row["label"]
    record = json.loads((tmp_path / "runs" / f"{row['run_id']}.json").read_text())
    assert record["init"]["scoring"] == "drawn"
    assert [s["step"] for s in record["steps"]] == [1, 2, "S"]
    for step in record["steps"]:
        # Whatever the small LLM said, only valid, non-duplicate concepts were scored.
        if step["concept"] is not None and not step["not_drawable"]:
            assert len(step["concept"].split()) <= 3 and len(step["images"]) == 5
            source = step["images"][0]["source"]  # the compose default's provenance
            assert source["generator"] == "compose" and source["concept"] == step["concept"]
            assert step["proposal_origin"] is not None  # llm, WordNet, bank or composition
    board = [e["concept"].lower() for e in record["steps"][-1]["scoreboard"]]
    assert len(board) == 10 == len(set(board))
    # Rerunning the same command finds the finished run and does not redo it.
    run_file = tmp_path / "runs" / f"{row['run_id']}.json"
    before = run_file.stat().st_mtime_ns
    assert main(args) == 0
    assert run_file.stat().st_mtime_ns == before

    # The run's page shows the real drawn images.
    page = (tmp_path / "reports" / f"{row['run_id']}.html").read_text()
    assert page.count('<img src="data:image/png;base64,') >= 5 * 3

    # Held-out CoSy of the label on the real stack (a small control slice keeps it short).
    report_path = tmp_path / "cosy.json"
    evaluate = ["evaluate", "--run", "all", "--eval-images", "5", "--workspace", str(tmp_path)]
    evaluate += ["--eval-control", "bank:openclipart?limit=40", "--output", str(report_path)]
    assert main(evaluate) == 0
    report = json.loads(report_path.read_text())
    assert report["sources"]["generator"] == "bank:openmoji"
    assert report["sources"]["held_out_generator"] is True
    (score,) = report["scores"]
    assert score["label"] == row["label"] and 0.0 <= score["auc"] <= 1.0
    assert score["n_concept"] == 5 and score["n_control"] >= 40
