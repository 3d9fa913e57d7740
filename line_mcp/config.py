"""Run configuration: the loop's numbers and the backends that fill its roles.

Both are pydantic models validated at construction, with ``to_dict`` /
``from_dict`` for storage. Defaults are the paper's numbers (N = 10, |H| = 10
as top 5 + 5 random, |P| = 5, summary on the top 3) and the embedded offline
backends.
"""

from __future__ import annotations

from typing import Any, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, model_validator

PAPER_ANGLES = ("extreme close-up", "wide angle shot", "aerial view", "low angle")
PAPER_LIGHTINGS = ("cinematic lighting", "natural sunlight", "studio lighting")


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build and validate from a dict such as one written by ``to_dict``."""
        return cls.model_validate(data)


class LoopConfig(_Config):
    """The numbers of one LINE run.

    Attributes:
        iterations: Proposal rounds N (paper: 10).
        init_top: Best vocabulary concepts put on the initial board (paper: 5).
        init_random: Random vocabulary concepts put on the initial board (paper: 5).
        images_per_concept: Images drawn per concept, |P| (paper: 5).
        summary: Whether to run the final summary step S.
        summary_top: Entries the summary step generalises (paper: 3).
        max_retries: Re-asks per step when the LLM's answer is rejected.
        max_failed_steps: Consecutive steps without a valid proposal before the run fails.
        max_concept_words: Longest accepted concept.
        image_prompt: Text-to-image template with {concept}, {angle}, {lighting}.
        angles: Values sampled uniformly for {angle}.
        lightings: Values sampled uniformly for {lighting}.
        init_scoring: How the vocabulary is scored for the initial board: "control"
            averages the neuron over each label's control images (the paper, with 50
            ImageNet images per class); "drawn" draws each label through the image
            generator exactly like a proposal, so both compete on equal footing;
            "auto" picks "drawn" when the control set has fewer than
            ``min_control_images`` images per label, where single-image label scores
            would inflate the best vocabulary entries.
        min_control_images: Threshold for ``init_scoring="auto"``.
        seed: Seed of every random choice in the run.
        proposal: How a step gets its concept: "llm" asks the LLM for free text (the
            paper); "guided" builds candidates from offline knowledge (WordNet, the
            image bank's labels, attribute compositions; see
            :mod:`line_mcp.core.candidates`), adds the LLM's own answer as one
            candidate, and lets ``proposal_ranker`` pick; "hinted" asks the LLM in
            free text with the best candidates listed as hints (for large LLMs);
            "auto" is "guided" for proposers under 1 B parameters (they cannot do
            the step by free generation) and "llm" otherwise.
        proposal_ranker: How "guided" orders candidates: "embedding" (proximity to
            the board's concepts weighted by score, plus how well the image bank can
            draw it), "llm" (the proposer's log-likelihood of each candidate as the
            answer to the LINE prompt; needs a proposer with ``score_answers``) or
            "both" (sum of the standardised two).
        proposal_explore: Probability that "guided" samples a candidate (weighted by
            its rank score) instead of taking the best; seeded per (seed, neuron, step).
        proposal_free_text: Whether "guided" also asks the LLM for one free-text
            answer and keeps it as a candidate (off by default: on the embedded stack
            the knowledge candidates alone gave 100 % valid proposals at ~0.5 s per
            step, while one SmolLM2 answer costs seconds and is rarely valid).
    """

    iterations: int = Field(10, ge=0, le=1000)
    init_top: int = Field(5, ge=1, le=1000)
    init_random: int = Field(5, ge=0, le=1000)
    images_per_concept: int = Field(5, ge=1, le=64)
    summary: bool = True
    summary_top: int = Field(3, ge=1, le=20)
    max_retries: int = Field(3, ge=0, le=20)
    max_failed_steps: int = Field(3, ge=1, le=100)
    max_concept_words: int = Field(3, ge=1, le=10)
    image_prompt: str = "realistic photo of a {concept}, {angle}, {lighting}"
    angles: tuple[str, ...] = PAPER_ANGLES
    lightings: tuple[str, ...] = PAPER_LIGHTINGS
    init_scoring: Literal["auto", "control", "drawn"] = "auto"
    min_control_images: int = Field(10, ge=1)
    seed: int = 0
    proposal: Literal["auto", "llm", "guided", "hinted"] = "auto"
    proposal_ranker: Literal["embedding", "llm", "both"] = "embedding"
    proposal_explore: float = Field(0.1, ge=0.0, le=1.0)
    proposal_free_text: bool = False

    @property
    def scoreboard_size(self) -> int:
        """|H|: the initial board's size, kept constant by every update."""
        return self.init_top + self.init_random

    @model_validator(mode="after")
    def _check(self) -> Self:
        for field in ("{concept}", "{angle}", "{lighting}"):
            if field not in self.image_prompt:
                raise ValueError(f"image_prompt must contain {field}: {self.image_prompt!r}")
        if not self.angles or not self.lightings:
            raise ValueError("angles and lightings must each have at least one value")
        if self.summary and self.summary_top > self.scoreboard_size:
            raise ValueError(
                f"summary_top={self.summary_top} exceeds the scoreboard size {self.scoreboard_size}"
            )
        return self


class BackendConfig(_Config):
    """Which implementation fills each role, as registry spec strings.

    A spec is ``scheme`` or ``scheme:argument``, optionally followed by
    ``?key=value&...`` options; ``line-mcp backends`` lists the schemes.

    Attributes:
        target: The vision model to explain.
        layer: The target layer whose neurons are labeled.
        generator: Text-to-image source that draws concepts.
        proposer: The LLM that proposes concepts.
        embedder: Text embedder for retrieval and near-duplicate detection.
        control: Labeled images that give the initial vocabulary.
        editor: Image editor for concept ablation (none by default).
        device: "auto", "cpu", "cuda" or "cuda:N" for every torch model.
    """

    target: str = "efficientnet-lite:lite0"
    layer: str = "avgpool"
    generator: str = "compose:tuxpaint+openclipart+art4apps+gcompris"
    proposer: str = "transformers:smollm2"
    embedder: str = "minilm"
    control: str = "bank:openmoji"
    editor: str | None = None
    device: str = "auto"


class Preset(_Config):
    """A named run setup: backend and loop settings applied together by ``--preset``.

    Attributes:
        description: One line for ``--help``.
        backends: :class:`BackendConfig` fields it sets.
        loop: :class:`LoopConfig` fields it sets.
        control_env: Environment variable holding the control folder when the
            preset needs one the user must provide (ImageNet val is not shipped).
        control_hint: What that folder must look like.
    """

    description: str
    backends: dict[str, str] = Field(default_factory=dict)
    loop: dict[str, Any] = Field(default_factory=dict)
    control_env: str | None = None
    control_hint: str = ""

    @model_validator(mode="after")
    def _check_fields(self) -> Self:
        for name in self.backends:
            if name not in BackendConfig.model_fields:
                raise ValueError(f"preset sets unknown backend field {name!r}")
        LoopConfig(**self.loop)  # the loop numbers must be valid on their own
        return self

    def settings(self, environ: dict[str, str] | None = None) -> dict[str, Any]:
        """Backend and loop fields of this preset; the control set from ``control_env``.

        Returns:
            Field name -> value; ``control`` is None when the preset needs a
            control folder and its environment variable is unset (see
            :meth:`missing_control`).

        Example:
            >>> PRESETS["paper"].settings({"LINE_MCP_IMAGENET_VAL": "/data/val"})["control"]
            'folder:/data/val'
        """
        import os

        environ = dict(os.environ) if environ is None else environ
        values: dict[str, Any] = {**self.backends, **self.loop}
        if self.control_env:
            path = environ.get(self.control_env, "").strip()
            values["control"] = f"folder:{path}" if path else None
        return values

    def missing_control(self, name: str) -> str:
        """The message for a run of this preset without a control folder."""
        return (
            f"preset {name!r} needs a control folder: {self.control_hint} Pass "
            "--control folder:/path/to/imagenet/val or set "
            f"{self.control_env}=/path/to/imagenet/val"
        )


PRESETS: dict[str, Preset] = {
    "paper": Preset(
        description="the paper's setup: Llama 3.1 8B Instruct, SDXL, ResNet50 avgpool, "
        "N=10, |H|=10 (top 5 + 5 random), |P|=5, ImageNet val as control set",
        backends={
            "target": "torchvision:resnet50",
            "layer": "avgpool",
            "generator": "diffusers:sdxl",
            "proposer": "transformers:meta-llama/Llama-3.1-8B-Instruct"
            "?style=chat&max_new_tokens=512",
        },
        loop={
            "iterations": 10,
            "init_top": 5,
            "init_random": 5,
            "images_per_concept": 5,
            "summary": True,
            "summary_top": 3,
            "init_scoring": "control",
        },
        control_env="LINE_MCP_IMAGENET_VAL",
        control_hint="ImageNet val laid out as class folders (n01440764/, ...) "
        "with 50 images each.",
    ),
}
