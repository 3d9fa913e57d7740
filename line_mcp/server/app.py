"""The MCP server factory and its transports (stdio, streamable HTTP)."""

from __future__ import annotations

import hmac
import ipaddress
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.shared.exceptions import MCPError
from mcp_types import CallToolResult, GetPromptResult, InputRequiredResult
from mcp_types.jsonrpc import INVALID_PARAMS
from pydantic import ValidationError

from line_mcp.config import LoopConfig
from line_mcp.errors import InputError
from line_mcp.progress import StderrProgress
from line_mcp.server.jobs import JobManager
from line_mcp.server.prompts import register_prompts
from line_mcp.server.resources import register_resources
from line_mcp.server.runs import RunDriver
from line_mcp.server.tools import LOADING_WAIT_S, register_tools
from line_mcp.service import LineService

INSTRUCTIONS = """\
line-mcp labels the neurons of a vision model with LINE: a concept is scored for a neuron by
the neuron's mean activation over images drawn of it; a scoreboard keeps the best concepts;
each step proposes a new concept from the board. Start with describe_target. To label a
neuron yourself: init_scoreboard, then per step propose a concept (or propose_concept),
score_concept to look, update_scoreboard to record; summarize_scoreboard at the end. To let
the server do it: label_neuron (a background job) and poll job_status. evaluate_label grades
a label on held-out images. Runs are stored on disk and survive restarts. The prompt
label_neuron_workflow spells out the steps."""


class LineServer(MCPServer):
    """The SDK's server, with prompt argument errors as JSON-RPC invalid-params errors and
    tool argument errors in plain words."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as err:
            if isinstance(err.__cause__, ValidationError):
                raise ToolError(plain_errors(name, err.__cause__)) from err.__cause__
            raise

    async def get_prompt(
        self,
        name: str,
        arguments: dict[str, Any] | None = None,
        context: Context[Any, Any] | None = None,
    ) -> GetPromptResult | InputRequiredResult:
        # The SDK turns a missing argument into an internal error; it is the caller's.
        prompt = self._prompt_manager.get_prompt(name)
        if prompt is None:
            raise MCPError(INVALID_PARAMS, f"unknown prompt {name!r}; prompts/list names them")
        given = arguments or {}
        missing = [a.name for a in prompt.arguments or [] if a.required and a.name not in given]
        if missing:
            raise MCPError(
                INVALID_PARAMS,
                f"prompt {name!r} needs the argument(s) {', '.join(missing)}",
                data={"missing": missing},
            )
        return await super().get_prompt(name, arguments, context)


def plain_errors(tool: str, error: ValidationError) -> str:
    """A tool's argument errors in plain words: which argument, what is wrong (no
    documentation links, no echo of the value)."""
    problems = []
    for item in error.errors(include_url=False):
        where = ".".join(str(part) for part in item["loc"]) or "arguments"
        message = str(item["msg"]).removeprefix("Value error, ")
        problems.append(f"{where}: {message}")
    return f"invalid arguments for {tool}: " + "; ".join(problems)


def build_server(
    service: LineService,
    config: LoopConfig | None = None,
    *,
    preload: bool = False,
    name: str = "line-mcp",
    loading_wait_s: float = LOADING_WAIT_S,
) -> MCPServer:
    """Build the LINE MCP server over one service (backends + workspace).

    Args:
        service: Backends and workspace; its progress callback is routed to jobs.
        config: The loop's numbers and seed for every run (default: the paper's).
        preload: Load every backend in a background thread from start-up, in the
            order tools need them; meanwhile a tool whose models are not loaded yet
            waits up to ``loading_wait_s`` and then answers ``loading``, and
            ``describe_target`` answers from what is known.
        name: Server name reported to clients.
        loading_wait_s: How long a tool waits for a model still loading.

    Returns:
        An ``MCPServer``; ``server.run()`` serves stdio, or connect an in-memory
        ``Client(server)`` in tests.

    Example:
        >>> server = build_server(LineService(BackendConfig(), "ws"))  # doctest: +SKIP
        >>> server.run()  # stdio  # doctest: +SKIP
    """
    config = config or LoopConfig()
    jobs = JobManager(forward=service.progress, folder=service.workspace.root / "jobs")
    service = service.with_progress(jobs.progress)
    driver = RunDriver(service, config, jobs)

    warmed: list[bool] = []

    @asynccontextmanager
    async def lifespan(_server: MCPServer) -> AsyncIterator[dict[str, Any]]:
        # Entered per connection on stdio and in memory: the warm-up starts once, and a
        # client that disconnects leaves the jobs running (shutdown_jobs ends them).
        if preload and not warmed:
            warmed.append(True)
            service.backends.warm_up()
        yield {}

    server: MCPServer = LineServer(
        name,
        instructions=INSTRUCTIONS,
        version=_version(),
        lifespan=lifespan,
        log_level="WARNING",
    )
    register_tools(server, driver, loading_wait_s)
    register_resources(server, driver)
    register_prompts(server, driver)
    server.driver = driver  # type: ignore[attr-defined]  # for tests and scripts
    return server


def shutdown_jobs(server: MCPServer) -> None:
    """Cancel the server's jobs when it stops serving: each stops after the step in
    progress (its run record stays valid; label_neuron resumes it)."""
    driver: RunDriver = server.driver  # type: ignore[attr-defined]
    driver.jobs.shutdown()


def _version() -> str:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version("line-mcp")
    except PackageNotFoundError:
        return "0"


# --- stdio -------------------------------------------------------------------------------------


def serve_stdio(server: MCPServer) -> None:
    """Serve stdio until stdin closes; a line that is not JSON-RPC gets a JSON-RPC error
    (-32700 not JSON, -32600 not a message) instead of the SDK's silence."""
    import anyio

    try:
        anyio.run(_serve_stdio, server)
    finally:
        shutdown_jobs(server)


async def _serve_stdio(server: MCPServer) -> None:
    import anyio
    from mcp.server.stdio import stdio_server
    from mcp.shared._context_streams import create_context_streams
    from mcp.shared.message import SessionMessage
    from mcp_types import ErrorData, JSONRPCError
    from mcp_types.jsonrpc import INVALID_REQUEST, PARSE_ERROR
    from pydantic import ValidationError

    lowlevel = server._lowlevel_server
    async with stdio_server() as (read_stream, write_stream):
        sender, receiver = create_context_streams[SessionMessage | Exception](0)

        async def answer_bad_lines() -> None:
            async with sender:
                async for item in read_stream:
                    if not isinstance(item, Exception):
                        await sender.send(item)
                        continue
                    not_json = isinstance(item, ValidationError) and any(
                        e["type"] == "json_invalid" for e in item.errors()
                    )
                    code, what = (
                        (PARSE_ERROR, "parse error: the line is not JSON")
                        if not_json
                        else (INVALID_REQUEST, "invalid request: not a JSON-RPC 2.0 message")
                    )
                    error = JSONRPCError(
                        jsonrpc="2.0", id=None, error=ErrorData(code=code, message=what)
                    )
                    await write_stream.send(SessionMessage(error))

        async with anyio.create_task_group() as group:
            group.start_soon(answer_bad_lines)
            await lowlevel.run(receiver, write_stream, lowlevel.create_initialization_options())
            group.cancel_scope.cancel()


# --- streamable HTTP ---------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    """Whether ``host`` only accepts connections from this machine."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class BearerTokenMiddleware:
    """ASGI middleware: every request needs ``Authorization: Bearer <token>`` (else 401)."""

    def __init__(self, app: Any, token: str) -> None:
        self.app = app
        self._expected = f"Bearer {token}".encode()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            given = dict(scope.get("headers") or []).get(b"authorization", b"")
            if not hmac.compare_digest(given, self._expected):
                await send(
                    {
                        "type": "http.response.start",
                        "status": 401,
                        "headers": [
                            (b"content-type", b"text/plain"),
                            (b"www-authenticate", b"Bearer"),
                        ],
                    }
                )
                await send(
                    {"type": "http.response.body", "body": b"missing or wrong bearer token\n"}
                )
                return
        await self.app(scope, receive, send)


def http_app(
    server: MCPServer,
    host: str = "127.0.0.1",
    port: int = 8765,
    token: str | None = None,
    allowed_hosts: list[str] | None = None,
    allowed_origins: list[str] | None = None,
) -> Any:
    """The streamable HTTP ASGI app, with host/origin checks and an optional bearer token.

    On loopback the SDK's DNS-rebinding protection allows only local Host and
    Origin headers. Elsewhere a token is required, and Host/Origin must be in
    ``allowed_hosts`` / ``allowed_origins`` (the bound address is always allowed).

    Raises:
        ValueError: a non-loopback address without a token, or a wildcard address
            without ``allowed_hosts``.
    """
    from mcp.server.transport_security import TransportSecuritySettings

    security = None
    if not is_loopback(host):
        if not token:
            raise InputError(
                f"binding {host} exposes the server beyond this machine: set a bearer token "
                "(--token or the LINE_MCP_TOKEN environment variable)"
            )
        if host in ("0.0.0.0", "::") and not allowed_hosts:
            raise InputError(
                f"binding the wildcard address {host}: name the Host headers clients use "
                "with --allowed-host (e.g. --allowed-host myserver.lan:8765)"
            )
        hosts = [f"{host}:{port}", *(allowed_hosts or [])]
        origins = [f"http://{h}" for h in hosts] + [f"https://{h}" for h in hosts]
        security = TransportSecuritySettings(
            enable_dns_rebinding_protection=True,
            allowed_hosts=hosts,
            allowed_origins=[*origins, *(allowed_origins or [])],
        )
    app = server.streamable_http_app(transport_security=security, host=host)
    return BearerTokenMiddleware(app, token) if token else app


def serve_http(server: MCPServer, host: str, port: int, **options: Any) -> None:
    """Serve streamable HTTP at ``http://host:port/mcp`` until interrupted."""
    import uvicorn

    app = http_app(server, host=host, port=port, **options)
    print(f"[line-mcp] serving MCP at http://{host}:{port}/mcp", file=sys.stderr, flush=True)
    try:
        uvicorn.run(app, host=host, port=port, log_level="warning")
    finally:
        shutdown_jobs(server)


def stderr_progress() -> StderrProgress:
    """Progress lines for the server log (stderr; stdout carries the stdio protocol)."""
    return StderrProgress()
