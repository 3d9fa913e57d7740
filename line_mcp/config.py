"""Run configuration: the loop's numbers and the backends that fill its roles.

Both are pydantic models validated at construction, with ``to_dict`` /
``from_dict`` for storage. Defaults are the paper's numbers (N = 10, |H| = 10
as top 5 + 5 random, |P| = 5, summary on the top 3) and the embedded offline
backends. Each field's ``description`` is its documentation and its
``line-mcp`` option's help text.

What identifies a run, and what keys a cache, is :meth:`identity`: a
canonical dump of the fields that change results. A field marked
``affects=()`` (where it runs) changes nothing; one marked ``affects=("run",)``
changes a run but not the drawn images. A field added after run identities
were first stored enters an identity only when set to a value other than its
default, so a new option keeps every stored run resumable, and a new value
can never reuse a stale cache entry.

Example:
    >>> LoopConfig().identity("images")["images_per_concept"]
    5
    >>> "device" in BackendConfig().identity("run")
    False
"""

from __future__ import annotations

import re
from typing import Any, ClassVar, Literal, Self

from pydantic import BaseModel, ConfigDict, Field, create_model, field_validator, model_validator

PAPER_ANGLES = ("extreme close-up", "wide angle shot", "aerial view", "low angle")
PAPER_LIGHTINGS = ("cinematic lighting", "natural sunlight", "studio lighting")

#: What a result can depend on: the run (its id) and the drawn images (image caches).
Purpose = Literal["run", "images"]
_ALL: tuple[Purpose, ...] = ("run", "images")
# Markers for Field(json_schema_extra=...): what a field changes.
RUN_ONLY: dict[str, Any] = {"affects": ["run"]}
NOTHING: dict[str, Any] = {"affects": []}


def _optional(annotation: Any) -> Any:
    """``annotation | None``."""
    return annotation | None


class _Config(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    #: The fields that identified runs when identities were first stored; they are
    #: always part of an identity so that those runs keep their ids.
    FIRST_IDENTITY: ClassVar[frozenset[str]] = frozenset()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready dict of every field."""
        return self.model_dump(mode="json")

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Self:
        """Build and validate from a dict such as one written by ``to_dict``."""
        return cls.model_validate(data)

    @classmethod
    def affects(cls, name: str) -> tuple[Purpose, ...]:
        """What field ``name`` changes (default: everything)."""
        extra = cls.model_fields[name].json_schema_extra
        if isinstance(extra, dict) and "affects" in extra:
            return tuple(extra["affects"])  # type: ignore[arg-type]
        return _ALL

    def identity(self, purpose: Purpose) -> dict[str, Any]:
        """The canonical dump of the fields that change ``purpose``'s results.

        Fields of :attr:`FIRST_IDENTITY` always count; later fields only when
        they differ from their default.
        """
        dump = self.model_dump(mode="json")
        defaults = type(self)().model_dump(mode="json") if self._has_defaults() else {}
        return {
            name: value
            for name, value in dump.items()
            if purpose in self.affects(name)
            and (name in self.FIRST_IDENTITY or name not in defaults or value != defaults[name])
        }

    @classmethod
    def _has_defaults(cls) -> bool:
        return all(not info.is_required() for info in cls.model_fields.values())

    @classmethod
    def partial(cls) -> type[BaseModel]:
        """A model with the same fields, each optional (None: not set): a preset's part."""
        fields: dict[str, Any] = {
            name: (_optional(info.annotation), Field(None, description=info.description))
            for name, info in cls.model_fields.items()
        }
        return create_model(
            f"Partial{cls.__name__}", __config__=ConfigDict(extra="forbid"), **fields
        )


class LoopConfig(_Config):
    """The numbers of one LINE run (each field's description says what it does)."""

    FIRST_IDENTITY: ClassVar[frozenset[str]] = frozenset(
        {
            "iterations", "init_top", "init_random", "images_per_concept", "summary",
            "summary_top", "max_retries", "max_failed_steps", "max_concept_words",
            "image_prompt", "angles", "lightings", "init_scoring", "min_control_images",
            "seed", "proposal", "proposal_ranker", "proposal_explore", "proposal_free_text",
        }
    )  # fmt: skip

    iterations: int = Field(
        10, ge=0, le=1000, description="proposal rounds N (paper: 10)", json_schema_extra=RUN_ONLY
    )
    init_top: int = Field(
        5,
        ge=1,
        le=1000,
        description="best vocabulary labels on the initial board (paper: 5)",
        json_schema_extra=RUN_ONLY,
    )
    init_random: int = Field(
        5,
        ge=0,
        le=1000,
        description="random vocabulary labels on the initial board (paper: 5)",
        json_schema_extra=RUN_ONLY,
    )
    images_per_concept: int = Field(
        5, ge=1, le=64, description="images drawn per concept, |P| (paper: 5)"
    )
    summary: bool = Field(
        True, description="run the final summary step S", json_schema_extra=RUN_ONLY
    )
    summary_top: int = Field(
        3,
        ge=1,
        le=20,
        description="entries the summary step generalises (paper: 3)",
        json_schema_extra=RUN_ONLY,
    )
    max_retries: int = Field(
        3,
        ge=0,
        le=20,
        description="re-asks per step when the LLM's answer is rejected",
        json_schema_extra=RUN_ONLY,
    )
    max_failed_steps: int = Field(
        3,
        ge=1,
        le=100,
        description="consecutive steps without a valid proposal before the run fails",
        json_schema_extra=RUN_ONLY,
    )
    max_concept_words: int = Field(
        3, ge=1, le=10, description="longest accepted concept, in words", json_schema_extra=RUN_ONLY
    )
    image_prompt: str = Field(
        "realistic photo of a {concept}, {angle}, {lighting}",
        description="text-to-image template with {concept}, {angle} and {lighting}",
    )
    angles: tuple[str, ...] = Field(
        PAPER_ANGLES, description="values sampled uniformly for {angle}"
    )
    lightings: tuple[str, ...] = Field(
        PAPER_LIGHTINGS, description="values sampled uniformly for {lighting}"
    )
    init_scoring: Literal["auto", "control", "drawn"] = Field(
        "auto",
        description="how the vocabulary is scored for the initial board: control averages "
        "the neuron over each label's control images (the paper, 50 ImageNet images per "
        "class); drawn draws each label like a proposal, so both compete on equal footing; "
        "auto is drawn when the control set has fewer than min_control_images per label",
        json_schema_extra=RUN_ONLY,
    )
    min_control_images: int = Field(
        10, ge=1, description="threshold of init_scoring=auto", json_schema_extra=RUN_ONLY
    )
    init_screen: int = Field(
        0,
        ge=0,
        description="with drawn vocabulary scoring: 0 draws every label with the full "
        "images_per_concept images; K > 0 first screens every label on one image (the first of "
        "its images) and draws the full images only for the neuron's K best labels by that "
        "screen (and the board's random entries), so every board entry is still scored "
        "exactly like a proposal; the rest of the vocabulary keeps no full score",
        json_schema_extra=RUN_ONLY,
    )
    seed: int = Field(0, description="seed of every random choice in the run")
    proposal: Literal["auto", "llm", "guided", "hinted"] = Field(
        "auto",
        description="how a step gets its concept: llm asks the LLM for free text (the paper); "
        "guided picks among WordNet, bank-label and composition candidates ranked by "
        "proposal_ranker; hinted asks the LLM with the best candidates as hints; auto is "
        "guided for proposers under 1 B parameters and llm otherwise",
        json_schema_extra=RUN_ONLY,
    )
    proposal_ranker: Literal["embedding", "llm", "both"] = Field(
        "embedding",
        description="how guided proposals rank candidates: embedding (proximity to the board "
        "weighted by score, plus how well the bank draws it), llm (the proposer's "
        "log-likelihood of each candidate; needs score_answers) or both (standardised sum)",
        json_schema_extra=RUN_ONLY,
    )
    proposal_explore: float = Field(
        0.1,
        ge=0.0,
        le=1.0,
        description="chance a guided step samples a candidate by rank score instead of "
        "taking the best",
        json_schema_extra=RUN_ONLY,
    )
    proposal_free_text: bool = Field(
        False,
        description="guided proposals also ask the LLM for its own answer, kept as one "
        "candidate (off by default: slow on small LLMs and rarely valid)",
        json_schema_extra={**RUN_ONLY, "cli": "--free-text"},
    )

    share_concepts: bool = Field(
        False,
        description="one concept pool per layer: a neuron's initial board and its steps may "
        "take a concept another neuron of the layer already drew (scored from the cached "
        "images, none drawn); off keeps the paper's loop",
        json_schema_extra=RUN_ONLY,
    )
    pool_bar: Literal["minimum", "median", "best"] = Field(
        "minimum",
        description="with share_concepts, what a pool concept's score for the neuron must "
        "beat on its board to be a step's proposal: minimum (it would enter the board; the "
        "fewest images), median, or best (it would lead the board; the neuron proposes "
        "more of its own concepts)",
        json_schema_extra=RUN_ONLY,
    )

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
        if 0 < self.init_screen < self.init_top:
            raise ValueError(
                f"init_screen={self.init_screen} must be 0 (no screen) or at least "
                f"init_top={self.init_top}: the board's top entries come from the screened labels"
            )
        if self.summary and self.summary_top > self.scoreboard_size:
            raise ValueError(
                f"summary_top={self.summary_top} exceeds the scoreboard size {self.scoreboard_size}"
            )
        return self


class BackendConfig(_Config):
    """Which implementation fills each role, as registry spec strings.

    A spec is ``scheme`` or ``scheme:argument``, optionally followed by
    ``?key=value&...`` options; ``line-mcp backends`` lists the schemes.
    """

    FIRST_IDENTITY: ClassVar[frozenset[str]] = frozenset(
        {"target", "layer", "generator", "proposer", "embedder", "control", "editor"}
    )

    target: str = Field("efficientnet-lite:lite0", description="the vision model to explain")
    layer: str = Field("avgpool", description="the target layer whose neurons are labeled")
    generator: str = Field(
        "compose:tuxpaint+openclipart+art4apps+gcompris+sweethome3d",
        description="text-to-image source that draws concepts",
    )
    proposer: str = Field("transformers:smollm2", description="the LLM that proposes concepts")
    embedder: str = Field(
        "minilm", description="text embedder for retrieval and near-duplicate detection"
    )
    control: str = Field(
        "bank:openmoji", description="labeled images that give the initial vocabulary"
    )
    editor: str | None = Field(
        None,
        description="image editor for concept ablation (none: ablate_concept blurs by occlusion)",
    )
    device: str = Field(
        "auto",
        description="auto, cpu, cuda or cuda:N for every torch model",
        json_schema_extra=NOTHING,
    )
    cache_layers: tuple[str, ...] = Field(
        (),
        description="further layers of the target whose activations every target pass "
        "caches too (one forward pass, several hooks), so a later run on one of them reads "
        "no image through the model again; torch module targets only",
        json_schema_extra=NOTHING,
    )


    @field_validator("device")
    @classmethod
    def _check_device(cls, device: str) -> str:
        if not re.fullmatch(r"auto|cpu|cuda(:\d+)?", device):
            raise ValueError(
                f"device {device!r} is not one of auto, cpu, cuda, cuda:N (N: a GPU index)"
            )
        return device


#: BackendConfig and LoopConfig with every field optional: what a preset may set.
PartialBackendConfig = BackendConfig.partial()
PartialLoopConfig = LoopConfig.partial()


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
        # Typed partial configs: every value has its field's type, and the loop
        # numbers must also be valid together.
        PartialBackendConfig.model_validate(self.backends)
        PartialLoopConfig.model_validate(self.loop)
        LoopConfig(**self.loop)
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
            "init_screen": 0,
            "share_concepts": False,
        },
        control_env="LINE_MCP_IMAGENET_VAL",
        control_hint="ImageNet val laid out as class folders (n01440764/, ...) "
        "with 50 images each.",
    ),
}
