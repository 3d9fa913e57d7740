"""Cold start: models load in the background; tools answer 'loading' meanwhile."""

import json
import threading

import pytest
from mcp import Client

from line_mcp.backends.registry import register, registrations
from line_mcp.config import BackendConfig
from line_mcp.server import build_server
from line_mcp.service import LineService
from tests.fakes import FakeTarget
from tests.server.conftest import CONFIG


class GatedTarget(FakeTarget):
    """The fake target, built only once ``gate`` is set (a model loading slowly)."""

    gate = threading.Event()

    @classmethod
    def build(cls, argument, options, context):
        if not cls.gate.wait(timeout=30):
            raise RuntimeError("the test never opened the gate")
        return cls()


if not any(r.role == "target" and r.scheme == "gated" for r in registrations()):
    register("target", "gated", "tests.server.test_loading:GatedTarget", "test", "gated")


@pytest.fixture
def gated(fake_backends, tmp_path):
    GatedTarget.gate.clear()
    config = BackendConfig.from_dict({**fake_backends.to_dict(), "target": "gated"})
    service = LineService(config, tmp_path / "ws")
    yield build_server(service, CONFIG, preload=True, loading_wait_s=0.3)
    GatedTarget.gate.set()


async def test_describe_target_answers_while_the_target_loads(gated):
    async with Client(gated) as client:
        result = await client.call_tool("describe_target", {})
        assert not result.is_error, result.content[0].text
        info = result.structured_content
        assert info["target"] == "gated" and info["layer"] == "colours"
        assert info["neurons"] is None and info["layers"] is None
        assert info["vocabulary_ready"] is None
        assert info["loading"]["status"] == "loading"
        assert info["loading"]["loading"][0] == "target (gated)"
        assert info["loading"]["current"] == "target"
        # The control set does not wait for the target: it is built after it, so unknown.
        assert info["control"] is None


async def test_a_tool_needing_a_loading_model_answers_loading_then_works(gated):
    async with Client(gated) as client:
        result = await client.call_tool("score_concept", {"neuron": 0, "concepts": ["red"]})
        assert result.is_error
        assert result.content[0].text.startswith("loading: ")
        assert "target (gated)" in result.content[0].text
        loading = result.structured_content
        assert loading["status"] == "loading" and loading["estimate_s"] is None
        assert "again" in loading["next"]
        # Tools that need no model answer at once.
        jobs = await client.call_tool("job_status", {"job_id": "nope"})
        assert "loading" not in jobs.content[0].text
        GatedTarget.gate.set()
        result = await client.call_tool("score_concept", {"neuron": 0, "concepts": ["red"]})
        assert not result.is_error, result.content[0].text
        info = (await client.call_tool("describe_target", {})).structured_content
        assert info["neurons"] == 4 and info["control"]["labels"] == 40


async def test_a_second_start_estimates_from_the_first(fake_backends, tmp_path):
    first = LineService(fake_backends, tmp_path / "ws")
    first.backends.warm_up().join(timeout=30)
    assert first.backends.loading(("target", "proposer")) is None
    # A restart whose target loads slowly: the estimate comes from the first start.
    GatedTarget.gate.clear()
    config = BackendConfig.from_dict({**fake_backends.to_dict(), "target": "gated"})
    again = LineService(config, tmp_path / "ws")
    times = tmp_path / "ws" / "load-seconds.json"
    measured = json.loads(times.read_text())
    assert set(measured) == {
        f"{r}:fake" for r in ("target", "control", "embedder", "generator", "proposer")
    }
    times.write_text(json.dumps({**measured, "target:gated": 40.0}))
    thread = again.backends.warm_up()
    try:
        status = again.backends.loading(("target",))
        assert status is not None and status.current == "target"
        assert status.estimate_s is not None and 30 < status.estimate_s <= 40
        # Roles after the target are waited for too (one thread, in order); the fake
        # embedder's time was measured by the first start.
        later = again.backends.loading(("embedder",))
        assert later is not None and later.loading == ["embedder (fake)"]
        assert later.estimate_s is not None and later.estimate_s >= status.estimate_s
    finally:
        GatedTarget.gate.set()
        thread.join(timeout=30)
    assert again.backends.loading(("embedder",)) is None
