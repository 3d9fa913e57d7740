"""MCP prompts: the labeling workflow, and LINE's proposal and summary prompts filled with
a neuron's scoreboard (the same templates the built-in LLM gets)."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Annotated, Any, TypeVar

import anyio
from mcp.server.mcpserver import MCPServer
from mcp.shared.exceptions import MCPError
from mcp_types.jsonrpc import INVALID_PARAMS
from pydantic import Field

from line_mcp.core import prompts
from line_mcp.errors import LineError
from line_mcp.loop import open_run
from line_mcp.server.runs import RunDriver

F = TypeVar("F", bound=Callable[..., Any])
NeuronArgument = Annotated[
    str, Field(description="the neuron index, a whole number (describe_target gives the count)")
]


def _neuron(text: str) -> int:
    """A prompt argument (always a string in MCP) as a neuron index, or a clear error."""
    try:
        return int(text)
    except ValueError:
        raise MCPError(
            INVALID_PARAMS, f"neuron must be a whole number such as 12, got {text!r}"
        ) from None


def register_prompts(server: MCPServer, driver: RunDriver) -> None:
    """Add the workflow, proposal and summary prompts to ``server``."""
    config = driver.config

    def prompt(title: str) -> Callable[[F], F]:
        """Register with the docstring, dedented onto one line, as the description."""

        def register(function: F) -> F:
            description = inspect.cleandoc(function.__doc__ or "").replace("\n", " ")
            server.prompt(title=title, description=description)(function)
            return function

        return register

    @prompt("Label a neuron with LINE")
    def label_neuron_workflow(neuron: NeuronArgument) -> str:
        """Step-by-step instructions for labeling one neuron with the LINE tools."""
        n = _neuron(neuron)
        return (
            f"Find the concept that makes neuron {n} of the vision model respond most, the "
            "LINE way.\n"
            "1. describe_target: check the layer, the neuron count and vocabulary_ready.\n"
            f"2. init_scoreboard(neuron={n}). If status is 'initialising', poll job_status with "
            "the job_id until finished, then get_scoreboard.\n"
            f"3. Repeat {config.iterations} times: look at the board (scores are the neuron's "
            "mean activation over a concept's images; higher is better) and the concepts "
            "already tried; propose a new concept of 1-3 words that could score higher (or "
            "call propose_concept for the built-in LLM's idea); optionally score_concept to "
            "see it first; then update_scoreboard with it.\n"
            + (
                "4. summarize_scoreboard (or think of a concept generalising the top 3 "
                "yourself), then update_scoreboard with as_summary=true. The run is finished "
                "and the label is the best entry.\n"
                if config.summary
                else "4. After the last step the run is finished; the label is the best entry.\n"
            )
            + "5. Optional: evaluate_label to grade the label on held-out images (CoSy AUC), "
            "and ablate_concept on the label's best image to check causally.\n"
            f"To let the server do all of it instead: label_neuron(neuron={n}) and poll "
            "job_status."
        )

    def _filled(neuron: str, summary: bool) -> str:
        n = _neuron(neuron)
        try:  # the SDK hides other exceptions' messages behind "Error rendering prompt"
            record = open_run(driver.service, n, config)
        except LineError as err:  # NeuronError
            raise MCPError(INVALID_PARAMS, str(err)) from None
        if record.init is None:
            raise MCPError(
                INVALID_PARAMS, f"neuron {n} has no scoreboard yet: call init_scoreboard first"
            )
        filled = prompts.step_prompt(
            record.scoreboard(), record.proposed(), summary, config.summary_top
        )
        return filled.text

    @prompt("LINE proposal prompt")
    async def line_proposal(neuron: NeuronArgument) -> str:
        """LINE's concept proposal prompt filled with the neuron's scoreboard and the concepts
        already tried: answer it, then pass the concept to update_scoreboard."""
        return await anyio.to_thread.run_sync(_filled, neuron, False)

    @prompt("LINE summary prompt")
    async def line_summary(neuron: NeuronArgument) -> str:
        """LINE's summary prompt filled with the neuron's top concepts: answer with one
        concept that generalises them, then update_scoreboard with as_summary=true."""
        return await anyio.to_thread.run_sync(_filled, neuron, True)
