import pytest

from line_mcp.config import LoopConfig
from line_mcp.server import build_server
from line_mcp.server.app import shutdown_jobs
from line_mcp.service import LineService

CONFIG = LoopConfig(iterations=3, seed=5)


@pytest.fixture
def make_server(fake_backends, tmp_path):
    """Build a server over the fake backends; call again for a 'restarted' server.

    Jobs outlive a client's connection, so each server's jobs are stopped at the end of
    the test (as ``line-mcp serve`` does when it stops)."""
    servers = []

    def make(backends=None, config=CONFIG, workspace=None):
        service = LineService(backends or fake_backends, workspace or tmp_path / "ws")
        servers.append(build_server(service, config))
        return servers[-1]

    yield make
    for server in servers:
        shutdown_jobs(server)
