import json

import pytest

from line_mcp.config import LoopConfig
from line_mcp.core.concepts import concept_key
from line_mcp.loop import LoopError, label_neuron, run_id_for
from line_mcp.service import LineService, NeuronError
from tests import fakes

CONFIG = LoopConfig(iterations=4, seed=3)


def test_a_run_follows_the_paper_loop(fake_backends, tmp_path):
    service = LineService(fake_backends, tmp_path)
    record = label_neuron(service, 0, CONFIG)
    assert record.status == "finished"
    assert record.init.scoring == "drawn"  # two control images per label: drawn footing
    assert len(record.init.entries) == 10
    assert [s.step for s in record.steps] == [1, 2, 3, 4, "S"]
    assert record.steps[-1].origin == "summary"
    for step in record.steps:
        assert len(step.images) == 5
        assert step.score == pytest.approx(sum(i.activation for i in step.images) / 5)
        assert len(step.scoreboard) == 10
        keys = [concept_key(e.concept) for e in step.scoreboard]
        assert len(keys) == len(set(keys))
    assert record.label == max(record.scoreboard(), key=lambda e: e.score)
    # The record on disk is the same record.
    assert service.workspace.load_run(record.run_id) == record


def test_rejected_answers_are_recorded_and_never_enter_the_board(fake_backends, tmp_path):
    replies = iter(
        [
            "<answer>colour 1</answer>",
            "no tags and far too many words here",
            "<answer>teal</answer>",
        ]
        * 10
    )
    fakes.FakeProposer.script = lambda prompt, seed: next(replies)
    record = label_neuron(
        LineService(fake_backends, tmp_path), 2, CONFIG.model_copy(update={"iterations": 2})
    )
    first = record.steps[0]
    # colour 1 may be on the board or forbidden; either way the bad replies are recorded.
    assert any(a.error for a in first.attempts)
    assert first.attempts[-1].concept == first.concept
    concepts = [e.concept for s in record.steps for e in s.scoreboard]
    assert "no tags and far too many words here" not in concepts


def test_resume_after_a_crash_equals_an_uninterrupted_run(fake_backends, tmp_path):
    uninterrupted = label_neuron(LineService(fake_backends, tmp_path / "a"), 1, CONFIG)

    calls = {"n": 0}

    def crash_on_third(prompt, seed):
        calls["n"] += 1
        if calls["n"] == 3:
            raise KeyboardInterrupt  # the process is killed mid-step
        return f"<thinking>try another</thinking><answer>idea {seed % 997}</answer>"

    fakes.FakeProposer.script = crash_on_third
    service = LineService(fake_backends, tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        label_neuron(service, 1, CONFIG)
    saved = service.workspace.load_run(run_id_for(service, 1, CONFIG))
    assert saved.status == "running" and len(saved.steps) == 2

    fakes.FakeProposer.script = None
    resumed = label_neuron(LineService(fake_backends, tmp_path / "b"), 1, CONFIG)

    def strip(r):
        return [(s.step, s.concept, s.score, [e.concept for e in s.scoreboard]) for s in r.steps]

    assert strip(resumed) == strip(uninterrupted)
    assert resumed.label == uninterrupted.label


def test_a_proposer_that_never_parses_fails_the_run_cleanly(fake_backends, tmp_path):
    fakes.FakeProposer.script = lambda prompt, seed: "I am not sure what you mean."
    service = LineService(fake_backends, tmp_path)
    config = CONFIG.model_copy(update={"max_retries": 1, "max_failed_steps": 2})
    with pytest.raises(LoopError, match="no valid concept in 2 steps"):
        label_neuron(service, 0, config)
    saved = json.loads((tmp_path / "runs" / f"{run_id_for(service, 0, config)}.json").read_text())
    assert saved["status"] == "failed"
    assert [s["skipped"] is not None for s in saved["steps"]] == [True, True]
    assert len(saved["steps"][0]["attempts"]) == 2


def test_neuron_out_of_range_stores_nothing(fake_backends, tmp_path):
    service = LineService(fake_backends, tmp_path)
    with pytest.raises(NeuronError, match=r"4 neurons \(0..3\)"):
        label_neuron(service, 4, CONFIG)
    assert service.workspace.list_runs() == []


def test_drawn_vocabulary_and_proposals_share_footing_and_caches(fake_backends, tmp_path):
    service = LineService(fake_backends, tmp_path)
    vocabulary = service.vocabulary.scores(CONFIG)
    scored = service.drawing.score_concept(0, "colour 7", CONFIG)
    score, images = scored.score, scored.images
    assert vocabulary.scores[vocabulary.labels.index("colour 7"), 0] == pytest.approx(score)
    calls = fakes.FakeGenerator.calls
    # Another neuron, same concept: no drawing, no forward pass.
    target_calls = fakes.FakeTarget.calls
    service.drawing.score_concept(2, "colour 7", CONFIG)
    assert (fakes.FakeGenerator.calls, fakes.FakeTarget.calls) == (calls, target_calls)
    assert all(service.workspace.has_image(i.image_id) for i in images)


def test_control_scoring_averages_each_labels_images(fake_backends, tmp_path):
    service = LineService(fake_backends, tmp_path)
    vocabulary = service.vocabulary.scores(CONFIG.model_copy(update={"init_scoring": "control"}))
    red = fakes.colour_of("colour 5")[0] / 255
    assert vocabulary.scoring == "control"
    assert vocabulary.scores[vocabulary.labels.index("colour 5"), 0] == pytest.approx(red, abs=1e-5)


def test_step_seconds_include_the_llm_call(fake_backends, tmp_path):
    record = label_neuron(LineService(fake_backends, tmp_path), 1, LoopConfig(iterations=2))
    for step in record.steps:
        assert step.seconds.get("llm", 0) > 0, step.step  # the proposal is part of the step
        assert step.seconds.get("images", 0) > 0 or step.seconds.get("target", 0) > 0


def test_a_concept_the_source_cannot_draw_gets_no_score_and_is_named_in_the_next_prompt(
    fake_backends, tmp_path
):
    prompts: list[str] = []

    def reply(prompt, seed):
        prompts.append(prompt)
        return "<answer>undrawable thing</answer>" if len(prompts) == 1 else "<answer>teal</answer>"

    fakes.FakeProposer.script = reply
    config = CONFIG.model_copy(update={"iterations": 2, "summary": False, "proposal": "llm"})
    record = label_neuron(LineService(fake_backends, tmp_path), 0, config)
    first, second = record.steps
    assert first.concept == "undrawable thing" and first.not_drawable
    assert first.score is None and first.images == []
    assert first.skipped.startswith("not drawable: concept 'undrawable thing' is not drawable")
    assert first.scoreboard == record.init.entries  # the board did not change
    assert all(e.concept != "undrawable thing" for s in record.steps for e in s.scoreboard)
    assert record.not_drawable() == ["undrawable thing"]
    assert "could not draw these concepts" not in prompts[0]
    assert "could not draw these concepts, so they have no score: undrawable thing" in prompts[1]
    assert second.concept == "teal" and second.score is not None
    assert record.status == "finished"


def test_the_vocabulary_pass_announces_itself_with_an_estimate(fake_backends, tmp_path, capsys):
    from line_mcp.progress import StderrProgress

    service = LineService(fake_backends, tmp_path, progress=StderrProgress())
    label_neuron(service, 0, LoopConfig(iterations=1))
    err = capsys.readouterr().err
    first, estimate = [line for line in err.splitlines() if "one-time step" in line]
    assert "scoring the 40 vocabulary labels of layer colours" in first
    assert "cached" in first and "estimating how long" in first
    assert " ms per image" in estimate and "measured on the first 32 labels" in estimate
    label_neuron(service, 1, LoopConfig(iterations=1))  # cached: no second announcement
    assert "one-time step" not in capsys.readouterr().err


def test_guided_runs_never_build_the_llm(fake_backends, tmp_path):
    from line_mcp.layer import label_neurons

    small = fake_backends.model_copy(update={"proposer": "small"})
    fakes.SmallProposer.built = 0
    service = LineService(small, tmp_path)
    assert service.proposals.resolved_mode(CONFIG) == "guided"  # from the declared size
    record = label_neuron(service, 0, CONFIG)
    (result,) = label_neurons(service, [1], CONFIG, 2)
    assert record.status == result.record.status == "finished"
    assert {s.origin for s in record.steps} <= {"guided", "summary"}
    assert fakes.SmallProposer.built == 0 and "proposer" not in record.fingerprints
    # A run that asks the LLM builds it (once).
    label_neuron(service, 2, CONFIG.model_copy(update={"proposal": "llm"}))
    assert fakes.SmallProposer.built == 1
