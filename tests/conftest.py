import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@pytest.fixture
def fake_backends():
    from line_mcp.backends.registry import _load_builtin
    from line_mcp.config import BackendConfig
    from tests import fakes

    _load_builtin()
    fakes.FakeProposer.script = None
    fakes.FakeProposer.calls = fakes.FakeGenerator.calls = fakes.FakeTarget.calls = 0
    return BackendConfig(
        target="fake",
        layer="colours",
        generator="fake",
        proposer="fake",
        embedder="fake",
        control="fake",
        device="cpu",
    )
