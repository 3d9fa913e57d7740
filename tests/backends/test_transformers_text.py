"""The transformers proposer's answer scoring, on a tiny randomly initialised Llama."""

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

from line_mcp.backends.base import AnswerScorer, ConceptProposer  # noqa: E402
from line_mcp.backends.registry import BuildContext  # noqa: E402
from line_mcp.backends.transformers_text import TransformersProposer  # noqa: E402
from tests.backends.tiny_models import tiny_chat_llama  # noqa: E402


@pytest.fixture(scope="module")
def tiny_model_dir(tmp_path_factory):
    return tiny_chat_llama(tmp_path_factory.mktemp("tiny-llama"))


def test_score_answers_matches_one_unbatched_pass_per_candidate(tiny_model_dir):
    proposer = TransformersProposer.build(
        str(tiny_model_dir),
        TransformersProposer.Options(style="completion", max_new_tokens=8),
        BuildContext(device="cpu"),
    )
    assert isinstance(proposer, ConceptProposer) and isinstance(proposer, AnswerScorer)
    assert 0 < proposer.num_parameters < 1_000_000
    prompt = "Scoreboard:\n- dog: 3.00\n- wolf: 2.00\nForbidden: none"
    candidates = ["fox", "striped red teapot", "cat"]
    scores = proposer.score_answers(prompt, candidates)
    assert len(scores) == 3 and len(set(scores)) == 3
    tokenizer, model = proposer._tokenizer, proposer._model
    prefix = tokenizer(proposer._answer_prefix(prompt), return_tensors="pt")["input_ids"]
    for candidate, batched in zip(candidates, scores, strict=True):
        piece = tokenizer(f"{candidate}\n</answer>", add_special_tokens=False)["input_ids"]
        ids = torch.cat([prefix, torch.tensor([piece])], dim=1)
        with torch.inference_mode():
            log_probs = torch.log_softmax(model(ids).logits[0].float(), dim=-1)
        start = prefix.shape[1] - 1
        expected = sum(float(log_probs[start + i, t]) for i, t in enumerate(piece)) / len(piece)
        assert batched == pytest.approx(expected, abs=1e-4)
    assert proposer.score_answers(prompt, []) == []


@pytest.mark.parametrize("style", ["completion", "chat"])
def test_a_left_padded_batch_gives_each_prompt_its_own_reply(tiny_model_dir, style):
    proposer = TransformersProposer.build(
        str(tiny_model_dir),
        TransformersProposer.Options(style=style, max_new_tokens=24, temperature=1.0),
        BuildContext(device="cpu"),
    )
    from line_mcp.backends.base import BatchProposer

    assert isinstance(proposer, BatchProposer)
    prompts = ["short", "a much longer prompt with many more words in it", "mid length one"]
    seeds = [1, 2, 3]
    batched = proposer.complete_batch(prompts, seeds)
    alone = [proposer.complete(p, s) for p, s in zip(prompts, seeds, strict=True)]
    assert batched == alone
    assert len(set(batched)) == 3  # the rows are sampled apart, not copies of one
    assert proposer.complete("short", 1) == alone[0]  # a seed fixes the reply
    assert proposer.complete("short", 5) != alone[0]
    assert proposer.complete_batch([], []) == []
