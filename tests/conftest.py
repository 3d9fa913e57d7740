import os

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_VERBOSITY", "error")


@pytest.fixture
def fake_backends():
    from line_mcp.backends.registry import load_plugins
    from line_mcp.config import BackendConfig

    load_plugins(["tests.fakes"])  # the same public way as `line-mcp serve --plugin tests.fakes`
    from tests import fakes

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
