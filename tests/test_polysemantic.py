import pytest

from line_mcp import polysemantic
from line_mcp.config import LoopConfig
from line_mcp.core.concepts import find_duplicate
from line_mcp.loop import label_neuron, run_id_for
from line_mcp.polysemantic import label_concepts, near_duplicates
from line_mcp.service import LineService
from tests import fakes

CONFIG = LoopConfig(iterations=3, seed=5)


@pytest.fixture
def strict_similarity(monkeypatch):
    # The fake embedder counts letters ("colour 1" ~ "colour 2"): only exact bags count here.
    monkeypatch.setattr(polysemantic, "NEAR_DUPLICATE_SIMILARITY", 0.999)


def test_later_concepts_forbid_earlier_labels_and_near_duplicates(
    fake_backends, tmp_path, strict_similarity
):
    service = LineService(fake_backends, tmp_path)
    first = label_neuron(service, 0, CONFIG)
    variant = f"The {first.label.concept.title()}s"  # a spelling variant of the first label
    calls = {"n": 0}

    def script(prompt, seed):
        calls["n"] += 1  # every other reply tries the variant; the loop must refuse it
        if calls["n"] % 2:
            return f"<answer>{variant}</answer>"
        return f"<answer>idea {seed % 97}</answer>"

    fakes.FakeProposer.script = script
    runs = label_concepts(service, 0, CONFIG, 3)
    assert runs[0] == first
    assert any(
        a.output == f"<answer>{variant}</answer>" and a.error
        for r in runs[1:]
        for s in r.steps
        for a in s.attempts
    )
    assert [r.concept_index for r in runs] == [1, 2, 3]
    assert all(r.status == "finished" for r in runs)
    # Concept 1 is the plain run, stored under the plain id.
    assert runs[0].run_id == run_id_for(service, 0, CONFIG)
    assert runs[0].excluded == [] and runs[0].first_run is None
    labels = [r.label.concept for r in runs]
    for k, run in enumerate(runs[1:], 1):
        assert run.excluded == labels[:k]
        assert run.first_run == runs[0].run_id
        assert run.run_id.startswith(runs[0].run_id + f"-c{k + 1}-")
        assert find_duplicate(labels[k], labels[:k]) is None
        for entry in run.init.entries:  # off the initial board
            assert find_duplicate(entry.concept, labels[:k]) is None
        for step in run.steps:
            assert all(label in step.prompt for label in labels[:k])  # forbidden in the prompt
            for attempt in step.attempts:
                if attempt.concept is not None:
                    assert find_duplicate(attempt.concept, labels[:k]) is None
    # Stored, and a rerun resumes the finished records instead of redoing them.
    calls = fakes.FakeProposer.calls
    again = label_concepts(LineService(fake_backends, tmp_path), 0, CONFIG, 3)
    assert [r.run_id for r in again] == [r.run_id for r in runs]
    assert fakes.FakeProposer.calls == calls


def test_one_concept_is_the_plain_run(fake_backends, tmp_path):
    service = LineService(fake_backends, tmp_path)
    (only,) = label_concepts(service, 1, CONFIG, 1)
    assert only == label_neuron(service, 1, CONFIG)
    with pytest.raises(ValueError, match="1 or more"):
        label_concepts(service, 1, CONFIG, 0)


def test_near_duplicates_use_the_embedding_and_the_spelling_rule(fake_backends, tmp_path):
    service = LineService(fake_backends, tmp_path)
    found = near_duplicates(service, ["red dog", "dog red", "Red-Dogs", "blue cat"], ["red dog"])
    assert found == ["red dog", "dog red", "Red-Dogs"]
    assert near_duplicates(service, ["x"], []) == []


def test_run_loop_concepts_option_lists_each_concept(
    fake_backends, tmp_path, capsys, strict_similarity
):
    import json

    from line_mcp.cli import main

    args = ["run-loop", "--neurons", "0", "--iterations", "2", "--workspace", str(tmp_path)]
    for role in ("target", "generator", "proposer", "embedder", "control"):
        args += [f"--{role}", "fake"]
    assert main([*args, "--layer", "colours", "--concepts", "2"]) == 0
    out = capsys.readouterr()
    assert "\n0#1 " in out.out and "\n0#2 " in out.out
    summary = json.loads((tmp_path / "labels-colours.json").read_text())
    assert [(r["neuron"], r["concept"]) for r in summary["labels"]] == [(0, 1), (0, 2)]
    second = (tmp_path / "reports" / f"{summary['labels'][1]['run_id']}.html").read_text()
    assert "<b>Concept 2</b>" in second and summary["labels"][0]["label"] in second
    assert main([*args, "--layer", "colours", "--concepts", "0"]) == 2
