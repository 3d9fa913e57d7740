"""Run identity and cache keys: canonical dumps of what changes results."""

from __future__ import annotations

import hashlib
import json

from line_mcp.config import BackendConfig, LoopConfig
from line_mcp.loop import run_id_for
from line_mcp.service import LineService


class Extended(LoopConfig):
    """A later LoopConfig with one more option (as a future release would add)."""

    new_option: int = 3


def _format_one_run_id(backends: BackendConfig, neuron: int, config: LoopConfig) -> str:
    """The run id exactly as line-mcp computed it before identities were declared."""
    # The fields of that format: those of FIRST_IDENTITY (later options were not there).
    spec = {k: v for k, v in backends.to_dict().items() if k in BackendConfig.FIRST_IDENTITY}
    loop = {k: v for k, v in config.to_dict().items() if k in LoopConfig.FIRST_IDENTITY}
    digest = hashlib.sha256(json.dumps([spec, loop, neuron], sort_keys=True).encode()).hexdigest()[
        :10
    ]
    return f"{backends.layer}-n{neuron:05d}-{digest}"


def test_stored_run_ids_are_unchanged(fake_backends, tmp_path):
    service = LineService(fake_backends, tmp_path)
    for config in (LoopConfig(), LoopConfig(iterations=3, seed=7, proposal="guided")):
        assert run_id_for(service, 2, config) == _format_one_run_id(fake_backends, 2, config)
    paper = BackendConfig(target="torchvision:resnet50", generator="diffusers:sdxl")
    on_gpu = LineService(paper.model_copy(update={"device": "cuda"}), tmp_path)
    assert run_id_for(on_gpu, 0, LoopConfig()) == _format_one_run_id(paper, 0, LoopConfig())


def test_a_new_option_at_its_default_keeps_the_run_id(fake_backends, tmp_path):
    service = LineService(fake_backends, tmp_path)
    assert run_id_for(service, 0, Extended()) == run_id_for(service, 0, LoopConfig())
    assert run_id_for(service, 0, Extended(new_option=4)) != run_id_for(service, 0, LoopConfig())


def test_the_vocabulary_key_follows_what_changes_the_images(fake_backends, tmp_path):
    key = LineService(fake_backends, tmp_path).vocabulary.vocabulary_key
    base = key(LoopConfig())
    assert key(LoopConfig(iterations=2, proposal="guided", summary=False)) == base  # run only
    assert key(LoopConfig(images_per_concept=4)) != base
    assert key(LoopConfig(angles=("aerial view",))) != base
    assert key(Extended()) == base
    assert key(Extended(new_option=4)) != base  # a new option never reuses a stale entry


def test_a_format_one_vocabulary_cache_is_found_under_its_new_key(fake_backends, tmp_path):
    config = LoopConfig(init_scoring="drawn", images_per_concept=2)
    first = LineService(fake_backends, tmp_path)
    scores = first.vocabulary.scores(config).scores
    vocabulary = first.vocabulary
    new = f"vocabulary-{vocabulary.vocabulary_key(config)}"
    old = f"vocabulary-{vocabulary.format_one_vocabulary_key(config)}"
    assert old != new
    arrays = first.workspace.load_arrays(new)
    (tmp_path / "arrays" / f"{new}.npz").rename(tmp_path / "arrays" / f"{old}.npz")
    assert arrays is not None
    again = LineService(fake_backends, tmp_path)
    assert again.vocabulary.ready(config)
    from tests import fakes

    calls = fakes.FakeGenerator.calls
    assert (again.vocabulary.scores(config).scores == scores).all()
    assert fakes.FakeGenerator.calls == calls  # read, not drawn again
    assert again.workspace.has_arrays(new)
