import json

import numpy as np
import pytest

from line_mcp.cli import main
from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.evaluation import metrics
from line_mcp.evaluation.cosy import (
    EvaluationConfig,
    evaluate_labels,
    evaluation_requests,
    labels_from_runs,
    resolve_sources,
)
from line_mcp.evaluation.labels import LabelRow
from line_mcp.loop import label_neuron
from line_mcp.service import LineService, NeuronError
from tests import fakes

CONFIG = EvaluationConfig(images_per_concept=6)


def _expected(label: str, neuron: int) -> tuple[np.ndarray, np.ndarray]:
    """The fakes' activations computed from their definition, not through the service."""
    drawn = fakes.FakeGenerator().generate(evaluation_requests(label, CONFIG))
    concept = fakes.FakeTarget().activations([g.image for g in drawn])[:, neuron]
    control_images = [fakes.FakeControl().load(key) for key, _ in fakes.FakeControl().items()]
    return fakes.FakeTarget().activations(control_images)[:, neuron], concept


def test_scores_follow_the_protocol_on_fakes(fake_backends, tmp_path):
    reddest = max(fakes.COLOURS, key=lambda c: fakes.colour_of(c)[0])
    bluest = max(fakes.COLOURS, key=lambda c: fakes.colour_of(c)[2])
    rows = [LabelRow(0, reddest), LabelRow(2, reddest), LabelRow(2, bluest)]
    report = evaluate_labels(fake_backends, tmp_path, rows, CONFIG)
    assert [(s.neuron, s.label) for s in report.scores] == [(0, reddest), (2, reddest), (2, bluest)]
    for score in report.scores:
        control, concept = _expected(score.label, score.neuron)
        assert score.auc == pytest.approx(metrics.auc(control, concept))
        assert score.mad == pytest.approx(metrics.mad(control, concept), rel=1e-5)
        assert score.auprc == pytest.approx(metrics.auprc(control, concept))
        assert score.n_concept == 6 and score.n_control == 80
        assert score.layer == "colours" and len(score.image_ids) == 6
    red, blue_on_red, blue = report.scores
    assert red.auc > 0.9 and blue.auc > 0.9 and red.mann_whitney_p < 0.01
    assert blue_on_red.auc < blue.auc
    # The evaluation prompt and seed, not the loop's.
    assert report.config["prompt"] == "realistic photo of a close up of {concept}"
    assert report.sources.generator == "fake" and not report.sources.held_out_generator
    assert set(report.fingerprints) >= {"target", "generator", "control"}
    assert report.means()["colours"]["n"] == 3


def test_images_and_activations_come_from_the_cache(fake_backends, tmp_path):
    rows = [LabelRow(1, "colour 3")]
    evaluate_labels(fake_backends, tmp_path, rows, CONFIG)
    calls = fakes.FakeGenerator.calls, fakes.FakeTarget.calls
    again = evaluate_labels(fake_backends, tmp_path, [LabelRow(3, "colour 3")], CONFIG)
    assert (fakes.FakeGenerator.calls, fakes.FakeTarget.calls) == calls
    assert again.scores[0].n_concept == 6
    other_seed = EvaluationConfig(images_per_concept=6, seed=9)
    evaluate_labels(fake_backends, tmp_path, rows, other_seed)
    assert fakes.FakeGenerator.calls == calls[0] + 1


def test_neuron_out_of_range(fake_backends, tmp_path):
    with pytest.raises(NeuronError, match="out of range"):
        evaluate_labels(fake_backends, tmp_path, [LabelRow(9, "x")], CONFIG)


def test_held_out_defaults_for_the_image_banks():
    default = resolve_sources(BackendConfig(), EvaluationConfig())
    assert (default.generator, default.control) == ("bank:openmoji", "bank:openclipart?limit=1000")
    assert default.held_out_generator and default.held_out_control
    assert "0.84" in default.note
    swapped = resolve_sources(
        BackendConfig(generator="bank:openmoji", control="bank:tuxpaint"), EvaluationConfig()
    )
    assert (swapped.generator, swapped.control) == ("bank:tuxpaint+openclipart", "bank:openmoji")
    given = resolve_sources(BackendConfig(), EvaluationConfig(generator="bank:tuxpaint"))
    assert given.generator == "bank:tuxpaint" and given.control == "bank:openclipart?limit=1000"
    assert not given.held_out_generator and given.held_out_control  # tuxpaint: loop's bank
    with pytest.raises(ValueError, match="every image bank"):
        resolve_sources(
            BackendConfig(generator="bank:tuxpaint+openclipart+openmoji"), EvaluationConfig()
        )
    t2i = resolve_sources(BackendConfig(generator="diffusers:x", control="folder:/v"), CONFIG)
    assert (t2i.generator, t2i.control) == ("diffusers:x", "folder:/v")
    assert not t2i.held_out_generator


@pytest.mark.parametrize(
    ("prompt", "message"),
    [("a photo", "must contain {concept}"), ("{concept} at {time}", "not time")],
)
def test_bad_prompts(prompt, message):
    with pytest.raises(ValueError, match=message):
        EvaluationConfig(prompt=prompt)


def test_prompt_may_use_angle_and_lighting():
    requests = evaluation_requests(
        "zebra", EvaluationConfig(prompt="{concept}, {angle}", images_per_concept=2)
    )
    assert all(r.prompt == f"zebra, {r.angle}" for r in requests)
    assert requests[0].seed != requests[1].seed
    # Hints missing from the prompt still change the image (its seed, hence its cache id).
    wide = evaluation_requests("zebra", EvaluationConfig(angles=("wide",), images_per_concept=2))
    close = evaluation_requests(
        "zebra", EvaluationConfig(angles=("close-up",), images_per_concept=2)
    )
    assert {r.prompt for r in wide} == {r.prompt for r in close}
    assert not {r.seed for r in wide} & {r.seed for r in close}


def test_cli_evaluates_runs_and_csv(fake_backends, tmp_path, capsys):
    service = LineService(fake_backends, tmp_path)
    for neuron in (0, 2):
        label_neuron(service, neuron, LoopConfig(iterations=1, summary=False))
    backends, rows = labels_from_runs(tmp_path, ["all"])
    assert backends.generator == "fake" and [r.neuron for r in rows] == [0, 2]
    roles = []
    for role in ("target", "generator", "proposer", "embedder", "control"):
        roles += [f"--{role}", "fake"]
    common = ["--workspace", str(tmp_path), "--layer", "colours", "--eval-images", "4", *roles]
    out = tmp_path / "report.json"
    assert main(["evaluate", "--run", "all", "--output", str(out), *common]) == 0
    report = json.loads(out.read_text())
    assert [s["label"] for s in report["scores"]] == [r.label for r in rows]
    assert report["scores"][0]["origin"].startswith("run:")
    assert "AUC" in capsys.readouterr().out
    csv = tmp_path / "descriptions.csv"
    csv.write_text("layer,unit,description,similarity\ncolours,1,colour 5,0.2\n")
    assert main(["evaluate", "--csv", str(csv), *common]) == 0
    assert "colour 5" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--label", "red"], "--label needs --neurons"),
        (["--run", "nope"], "no run 'nope'"),
        (["--label", "red", "--neurons", "0", "--eval-prompt", "x"], "must contain {concept}"),
    ],
)
def test_cli_bad_input(fake_backends, tmp_path, capsys, extra, message):
    roles = []
    for role in ("target", "generator", "proposer", "embedder", "control"):
        roles += [f"--{role}", "fake"]
    args = ["evaluate", "--workspace", str(tmp_path), "--layer", "colours", *roles, *extra]
    assert main(args) == 2
    assert message in capsys.readouterr().err


def test_a_compose_loop_is_evaluated_on_banks_it_did_not_draw_from():
    loop = BackendConfig(generator="compose:tuxpaint+openclipart+art4apps+gcompris")
    sources = resolve_sources(loop, EvaluationConfig())
    assert sources.generator == "bank:openmoji" and sources.held_out_generator
    only_tuxpaint = resolve_sources(BackendConfig(generator="compose:tuxpaint"), EvaluationConfig())
    assert only_tuxpaint.generator == "bank:openmoji+openclipart"
