"""Resources: stored images, run records and scoreboards, read straight from the workspace.

A URI that names nothing stored (or a malformed id) is the SDK's resource-not-found
error (:class:`ResourceNotFoundError`), not an internal error."""

from __future__ import annotations

import json

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.server.mcpserver.exceptions import ResourceNotFoundError

from line_mcp.core.provenance import describe
from line_mcp.errors import LineError
from line_mcp.server.runs import RunDriver


def register_resources(server: MCPServer, driver: RunDriver) -> None:
    """Add the image, run and scoreboard resources to ``server``."""
    service = driver.service
    workspace = service.workspace

    def _image(image_id: str) -> bytes:
        try:
            path = workspace.image_path(image_id)
        except LineError as err:
            raise ResourceNotFoundError(str(err)) from None
        if not path.exists():
            raise ResourceNotFoundError(f"image {image_id!r} is not stored in this workspace")
        return path.read_bytes()

    @server.resource(
        "line://images/{image_id}",
        name="image",
        description="A drawn, edited or occluded image (full-size PNG), by image id.",
        mime_type="image/png",
    )
    async def image(image_id: str) -> bytes:
        return await anyio.to_thread.run_sync(_image, image_id)

    def _image_info(image_id: str) -> str:
        try:
            info = workspace.image_info(image_id)
        except LineError as err:
            raise ResourceNotFoundError(str(err)) from None
        if info is None:
            raise ResourceNotFoundError(f"image {image_id!r} is not stored in this workspace")
        info = {"image_id": image_id, "uri": f"line://images/{image_id}", **info}
        return json.dumps({**info, "drawn_from": describe(info["source"] or {})}, indent=1)

    @server.resource(
        "line://images/{image_id}/info",
        name="image_info",
        description="How a stored image was made (JSON): generator, concept, prompt, seed, "
        "and what it was drawn from (source image, match, attributes applied).",
        mime_type="application/json",
    )
    async def image_info(image_id: str) -> str:
        return await anyio.to_thread.run_sync(_image_info, image_id)

    def _runs() -> str:
        rows = []
        for run_id in workspace.list_runs():
            record = workspace.load_run(run_id)
            if record is None:
                continue
            rows.append(
                {
                    "run_id": run_id,
                    "uri": f"line://runs/{run_id}",
                    "neuron": record.neuron,
                    "layer": record.layer,
                    "status": record.status,
                    "steps": len(record.steps),
                    "label": record.label.concept if record.label else None,
                }
            )
        return json.dumps(rows, indent=1)

    @server.resource(
        "line://runs",
        name="runs",
        description="Every run stored in the workspace: neuron, layer, status, steps, label.",
        mime_type="application/json",
    )
    async def runs() -> str:
        return await anyio.to_thread.run_sync(_runs)

    def _run(run_id: str) -> str:
        try:
            record = workspace.load_run(run_id)
        except LineError as err:
            raise ResourceNotFoundError(str(err)) from None
        if record is None:
            raise ResourceNotFoundError(
                f"no run {run_id!r} in this workspace; line://runs lists them"
            )
        return record.model_dump_json(indent=1)

    @server.resource(
        "line://runs/{run_id}",
        name="run",
        description="A run's full record: initial board, every step with the LLM's prompt, "
        "replies and reasoning, the images with activations, the board after each step.",
        mime_type="application/json",
    )
    async def run(run_id: str) -> str:
        return await anyio.to_thread.run_sync(_run, run_id)

    def _scoreboard(neuron: str) -> str:
        try:
            index = int(neuron)
        except ValueError:
            raise ResourceNotFoundError(
                f"bad neuron {neuron!r}: give a whole number such as 12"
            ) from None
        try:
            return driver.board(index).model_dump_json(indent=1)
        except LineError as err:
            raise ResourceNotFoundError(f"bad neuron {neuron!r}: {err}") from None

    @server.resource(
        "line://scoreboards/{neuron}",
        name="scoreboard",
        description="A neuron's current scoreboard and status under this server's loop settings.",
        mime_type="application/json",
    )
    async def scoreboard(neuron: str) -> str:
        return await anyio.to_thread.run_sync(_scoreboard, neuron)
