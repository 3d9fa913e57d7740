"""Lockstep batches (line_mcp.layer) give each neuron the record of the one-at-a-time loop."""

import pytest

from line_mcp.config import LoopConfig
from line_mcp.errors import InputError
from line_mcp.layer import label_neurons
from line_mcp.layer import schedule_free as comparable
from line_mcp.loop import LoopError, label_neuron
from line_mcp.service import LineService
from tests import fakes

CONFIG = LoopConfig(iterations=4, seed=3, proposal="llm")
WORDS = ["teal", "crimson", "olive", "navy", "amber", "violet", "maroon", "khaki", "ivory"]
SCHEDULE = {"seconds", "finished_at", "images_drawn", "created_at", "updated_at", "writer"}


def shared_replies(prompt, seed):
    """Few distinct answers, so neurons propose the same concepts and some replies repeat."""
    return f"<thinking>pick</thinking><answer>{WORDS[seed % len(WORDS)]}</answer>"


def one_at_a_time(backends, root, neurons, config):
    service = LineService(backends, root)
    records = []
    for neuron in neurons:
        try:
            records.append(label_neuron(service, neuron, config))
        except LoopError:
            from line_mcp.loop import run_id_for

            records.append(service.workspace.load_run(run_id_for(service, neuron, config)))
    return records


@pytest.mark.parametrize("proposal", ["llm", "guided"])
def test_each_neuron_of_a_batch_gets_the_one_at_a_time_record(fake_backends, tmp_path, proposal):
    fakes.FakeProposer.script = shared_replies
    config = CONFIG.model_copy(update={"proposal": proposal})
    alone = one_at_a_time(fake_backends, tmp_path / "a", [0, 1, 2, 3], config)
    draws_alone = fakes.FakeGenerator.calls
    fakes.FakeGenerator.calls = 0
    results = label_neurons(LineService(fake_backends, tmp_path / "b"), [0, 1, 2, 3], config, 4)
    assert [r.neuron for r in results] == [0, 1, 2, 3]
    assert all(r.finished for r in results)
    for record, result in zip(alone, results, strict=True):
        assert comparable(result.record) == comparable(record)
    # Each distinct concept is drawn once, never more often than one at a time.
    assert 0 < fakes.FakeGenerator.calls <= draws_alone


def test_a_step_draws_each_concept_once_and_says_who_drew_it(fake_backends, tmp_path):
    fakes.FakeProposer.script = lambda prompt, seed: "<answer>deep teal</answer>"
    config = CONFIG.model_copy(update={"iterations": 1, "summary": False})
    service = LineService(fake_backends, tmp_path)
    results = label_neurons(service, [0, 1, 2], config, 3)
    steps = [r.record.steps[0] for r in results]
    assert [s.concept for s in steps] == ["deep teal"] * 3
    assert [s.images_drawn for s in steps] == [5, 0, 0]  # drawn for neuron 0, cache hits after
    assert [s.images[0].image_id for s in steps] == [steps[0].images[0].image_id] * 3


def test_replies_are_batched_and_rejections_re_asked(fake_backends, tmp_path):
    calls: list[list[str]] = []

    class Batching(fakes.FakeProposer):
        def complete_batch(self, prompts, seeds):
            calls.append(list(prompts))
            return [self.complete(p, s) for p, s in zip(prompts, seeds, strict=True)]

    service = LineService(fake_backends, tmp_path, prebuilt={"proposer": Batching()})
    replies = iter(["I am not sure."] * 4)
    fakes.FakeProposer.script = lambda prompt, seed: next(replies, shared_replies(prompt, seed))
    config = CONFIG.model_copy(update={"iterations": 1, "summary": False})
    results = label_neurons(service, [0, 1, 2, 3], config, 4)
    assert [len(c) for c in calls] == [4, 4]  # four rejected first replies, re-asked together
    assert all(len(r.record.steps[0].attempts) == 2 for r in results)


def test_a_batch_killed_part_way_through_a_step_resumes_to_the_same_records(
    fake_backends, tmp_path
):
    fakes.FakeProposer.script = shared_replies
    neurons = [0, 1, 2, 3]
    uninterrupted = label_neurons(LineService(fake_backends, tmp_path / "a"), neurons, CONFIG, 4)
    saves = {"n": 0}

    def kill_mid_step(record):
        saves["n"] += 1
        if saves["n"] == 4 + 4 + 2:  # boards, step 1 of all, step 2 of two neurons
            raise KeyboardInterrupt

    service = LineService(fake_backends, tmp_path / "b")
    with pytest.raises(KeyboardInterrupt):
        label_neurons(service, neurons, CONFIG, 4, on_step=kill_mid_step)
    stored = service.workspace.load_runs(service.workspace.list_runs())
    steps = [len(r.steps) for r in stored]
    assert sorted(steps) == [1, 1, 2, 2]  # a partially advanced batch
    resumed = label_neurons(LineService(fake_backends, tmp_path / "b"), neurons, CONFIG, 4)
    for a, b in zip(uninterrupted, resumed, strict=True):
        assert comparable(a.record) == comparable(b.record)


def test_a_failing_neuron_is_reported_and_the_others_finish(fake_backends, tmp_path):
    fakes.FakeProposer.script = lambda prompt, seed: "I am not sure."
    config = CONFIG.model_copy(update={"max_retries": 0, "max_failed_steps": 2})
    results = label_neurons(LineService(fake_backends, tmp_path), [0, 1], config, 2)
    assert all(r.error and "no valid concept in 2 steps" in r.error for r in results)
    assert all(r.record.status == "failed" and not r.finished for r in results)
    with pytest.raises(InputError, match="batch_neurons must be 1 or more"):
        label_neurons(LineService(fake_backends, tmp_path), [0], config, 0)


def test_share_concepts_takes_pool_concepts_without_drawing(fake_backends, tmp_path):
    fakes.FakeProposer.script = None  # every neuron proposes its own fresh concepts
    config = CONFIG.model_copy(update={"share_concepts": True})
    service = LineService(fake_backends, tmp_path / "shared")
    results = label_neurons(service, [0, 1, 2], config, 3)
    pooled = [s for r in results for s in r.record.steps if s.proposal_origin == "pool"]
    assert pooled, "some neuron took a concept another neuron drew"
    for step in pooled:
        assert step.images_drawn == 0 and step.attempts == [] and len(step.images) == 5
        assert step.removed is not None  # it beat the board minimum and replaced it
    # A neuron labeled later takes the layer's stored runs as its pool, one at a time
    # or in a batch of one alike.
    import shutil

    shutil.copytree(tmp_path / "shared", tmp_path / "copy")
    alone = one_at_a_time(fake_backends, tmp_path / "shared", [3], config)[0]
    batch = label_neurons(LineService(fake_backends, tmp_path / "copy"), [3], config, 1)[0]
    assert alone.init.pool and comparable(batch.record) == comparable(alone)
    assert LoopConfig().share_concepts is False


def test_tiny_real_llm_batch_gives_the_same_records(fake_backends, tmp_path):
    pytest.importorskip("transformers")
    from tests.backends.tiny_models import tiny_chat_llama

    path = tiny_chat_llama(tmp_path / "llama")
    backends = fake_backends.model_copy(
        update={"proposer": f"transformers:{path}?max_new_tokens=12&temperature=1.0"}
    )
    config = CONFIG.model_copy(
        update={"iterations": 2, "summary": False, "max_retries": 1, "max_failed_steps": 5}
    )
    alone = one_at_a_time(backends, tmp_path / "a", [0, 1, 2], config)
    results = label_neurons(LineService(backends, tmp_path / "b"), [0, 1, 2], config, 3)
    for record, result in zip(alone, results, strict=True):
        assert comparable(result.record) == comparable(record)
    replies = {a.output for r in alone for s in r.steps for a in s.attempts}
    assert len(replies) > 3  # sampled replies, not one repeated string


def test_pool_bar_best_takes_only_pool_concepts_that_lead_the_board(fake_backends, tmp_path):
    fakes.FakeProposer.script = None

    def pool_steps(config, name):
        service = LineService(fake_backends, tmp_path / name)
        results = label_neurons(service, [0, 1, 2, 3], config, 4)
        return [s for r in results for s in r.record.steps if s.proposal_origin == "pool"]

    sharing = CONFIG.model_copy(update={"share_concepts": True, "iterations": 8})
    entering = pool_steps(sharing, "minimum")
    leading = pool_steps(sharing.model_copy(update={"pool_bar": "best"}), "best")
    assert 0 < len(leading) < len(entering)
    for step in leading:
        assert step.score == max(e.score for e in step.scoreboard)
        assert "above the board's best" in step.reasoning
    assert any(s.score < max(e.score for e in s.scoreboard) for s in entering)
