"""LINE prompt templates: loading them from the package and filling them in.

The templates are plain text files under ``prompts/`` at the repository root,
shipped inside the wheel as ``line_mcp/prompts``. Placeholders are written
``{name}``; filling checks that every placeholder gets a value and no value is
left unused, so a template edit cannot silently drop the scoreboard.
"""

from __future__ import annotations

import functools
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from importlib import resources
from pathlib import Path

from line_mcp.core.scoreboard import ScoreboardEntry

PROMPT_NAMES = ("propose", "summarize", "retry", "hints", "not_drawable")
_PLACEHOLDER = re.compile(r"\{(\w+)\}")


def _prompt_dir() -> Path:
    packaged = resources.files("line_mcp").joinpath("prompts")
    if packaged.is_dir():  # installed wheel
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "prompts"  # source checkout / editable


@functools.cache
def load_template(name: str) -> str:
    """Read the template ``prompts/{name}.txt``.

    Args:
        name: One of :data:`PROMPT_NAMES`.

    Returns:
        The template text with ``{placeholder}`` fields.
    """
    if name not in PROMPT_NAMES:
        raise ValueError(f"unknown prompt {name!r}; known prompts: {', '.join(PROMPT_NAMES)}")
    return (_prompt_dir() / f"{name}.txt").read_text(encoding="utf-8")


def fill(template: str, **values: str) -> str:
    """Replace each ``{name}`` in ``template`` with ``values[name]``.

    Raises:
        KeyError: a placeholder has no value, or a value has no placeholder.

    Example:
        >>> fill("Top: {scoreboard}", scoreboard="- dog: 1.00")
        'Top: - dog: 1.00'
    """
    wanted = set(_PLACEHOLDER.findall(template))
    if wanted != set(values):
        raise KeyError(f"template wants {sorted(wanted)}, got {sorted(values)}")
    return _PLACEHOLDER.sub(lambda m: values[m.group(1)], template)


def format_scoreboard(entries: Sequence[ScoreboardEntry]) -> str:
    """One ``- concept: score`` line per entry, best first."""
    ranked = sorted(entries, key=lambda e: e.score, reverse=True)
    return "\n".join(f"- {e.concept}: {e.score:.2f}" for e in ranked)


def proposal_prompt(entries: Sequence[ScoreboardEntry], forbidden: Iterable[str]) -> str:
    """The main-loop prompt: the scoreboard with scores and the forbidden list."""
    return fill(
        load_template("propose"),
        scoreboard=format_scoreboard(entries),
        forbidden=", ".join(forbidden) or "(none)",
    )


def summary_prompt(top: Sequence[ScoreboardEntry], forbidden: Iterable[str]) -> str:
    """The summary prompt: the top concepts with scores."""
    return fill(
        load_template("summarize"),
        scoreboard=format_scoreboard(top),
        forbidden=", ".join(forbidden) or "(none)",
    )


@dataclass(frozen=True)
class StepPrompt:
    """A filled step prompt and the concepts the answer must not repeat.

    Attributes:
        text: The proposal or summary prompt, ready for the LLM.
        forbidden: Concepts already proposed, then the board's, without repeats.
    """

    text: str
    forbidden: list[str]


def step_prompt(
    board: Sequence[ScoreboardEntry],
    proposed: Iterable[str],
    summary: bool = False,
    summary_top: int = 3,
    not_drawable: Sequence[str] = (),
) -> StepPrompt:
    """LINE's prompt for a run's next step, from its board and the concepts already proposed.

    The built-in LLM and the MCP prompts both fill it here, so a client sees
    exactly what the server's LLM would see.

    Args:
        board: The scoreboard H (any order; shown best first).
        proposed: Concepts proposed so far in the run.
        summary: The summary prompt on the top ``summary_top`` entries instead of
            the main prompt on the whole board.
        summary_top: Entries the summary prompt shows.
        not_drawable: Proposed concepts the image source could not draw; the
            prompt says so, so the LLM proposes something it can show.

    Returns:
        A :class:`StepPrompt`.

    Example:
        >>> board = [ScoreboardEntry(concept="dog", score=2.0, step=0, novel=False)]
        >>> step_prompt(board, ["cat"]).forbidden
        ['cat', 'dog']
    """
    ranked = sorted(board, key=lambda e: e.score, reverse=True)
    forbidden = list(dict.fromkeys([*proposed, *(e.concept for e in board)]))
    if summary:
        text = summary_prompt(ranked[:summary_top], forbidden)
    else:
        text = proposal_prompt(ranked, forbidden)
    if not_drawable:
        text = text.rstrip("\n") + "\n" + not_drawable_note(not_drawable)
    return StepPrompt(text, forbidden)


def not_drawable_note(concepts: Sequence[str]) -> str:
    """The lines telling the LLM which of its concepts could not be drawn.

    Example:
        >>> "starfish" in not_drawable_note(["starfish"])
        True
    """
    return fill(load_template("not_drawable"), concepts=", ".join(concepts))


def retry_prompt(prompt: str, error: str) -> str:
    """The same prompt again, told why the previous answer was rejected."""
    return prompt + fill(load_template("retry"), error=error)


def hinted_prompt(prompt: str, hints: Sequence[str]) -> str:
    """A proposal or summary prompt followed by a block of candidate concepts as hints."""
    return (
        prompt.rstrip("\n")
        + "\n"
        + fill(load_template("hints"), hints="\n".join(f"- {h}" for h in hints))
    )


def image_prompt(template: str, concept: str, angle: str, lighting: str) -> str:
    """The text-to-image prompt, e.g. 'realistic photo of a fox, aerial view, studio lighting'."""
    return fill(template, concept=concept, angle=angle, lighting=lighting)
