"""The loaded backends of a run: one typed container, built lazily from a BackendConfig.

Each role is built on first use through the registry and kept for the life of
the container; :meth:`Backends.with_backends` makes a container with some specs
changed that shares every backend whose spec did not change.
"""

from __future__ import annotations

import functools
import threading
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from line_mcp.backends.base import (
    ConceptProposer,
    ControlSet,
    DescribesPreprocessing,
    ImageEditor,
    ImageGenerator,
    TargetModel,
    TextEmbedder,
)
from line_mcp.backends.registry import BackendError, BuildContext, Role, resolve
from line_mcp.config import BackendConfig
from line_mcp.engine.stopwatch import Stopwatch
from line_mcp.errors import LineError

# The BackendConfig fields each built role depends on: a role is shared by
# with_backends only while all of them are unchanged.
_DEPENDS: dict[str, tuple[str, ...]] = {
    "embedder": ("embedder", "device"),
    "target": ("target", "layer", "device"),
    "control": ("control",),
    "generator": ("generator", "embedder", "device"),
    "proposer": ("proposer", "device"),
    "editor": ("editor", "device"),
}
_LOADED_BY_LOAD: tuple[Role, ...] = ("embedder", "target", "control", "generator", "proposer")


class NeuronError(LineError, ValueError):
    """A neuron index outside the layer."""


class Backends:
    """The backends filling each role of :class:`~line_mcp.config.BackendConfig`.

    Args:
        config: The spec of every role.
        cache_dir: Where backends may keep derived data (the workspace folder).
        prebuilt: Already built backends by role (tests, or a shared model);
            they are used instead of building the role's spec.
        lock: The lock serialising model calls; shared by containers made with
            :meth:`with_backends` (parallel callers must not share a device unbatched).

    Attributes:
        clock: Seconds spent loading backends (part "load").

    Example:
        >>> backends = Backends(BackendConfig(), Path("ws"))  # doctest: +SKIP
        >>> backends.target.num_neurons  # doctest: +SKIP
        1280
    """

    def __init__(
        self,
        config: BackendConfig,
        cache_dir: Path,
        prebuilt: Mapping[str, Any] | None = None,
        lock: threading.RLock | None = None,
    ) -> None:
        self.config = config
        self.cache_dir = cache_dir
        self.lock = lock or threading.RLock()
        self.clock = Stopwatch()
        for role, backend in (prebuilt or {}).items():
            if role not in _DEPENDS:
                raise ValueError(f"unknown role {role!r}; roles: {', '.join(_DEPENDS)}")
            self.__dict__[role] = backend  # fills the cached property

    def _context(self, embedder: TextEmbedder | None = None) -> BuildContext:
        return BuildContext(
            device=resolve_device(self.config.device),
            layer=self.config.layer,
            cache_dir=self.cache_dir,
            embedder=embedder,
        )

    @functools.cached_property
    def embedder(self) -> TextEmbedder:
        with self.clock.timed("load"):
            return resolve("embedder", self.config.embedder, self._context())

    @functools.cached_property
    def target(self) -> TargetModel:
        with self.clock.timed("load"):
            return resolve("target", self.config.target, self._context())

    @functools.cached_property
    def generator(self) -> ImageGenerator:
        context = self._context(self.embedder)
        with self.clock.timed("load"):
            return resolve("generator", self.config.generator, context)

    @functools.cached_property
    def proposer(self) -> ConceptProposer:
        with self.clock.timed("load"):
            return resolve("proposer", self.config.proposer, self._context())

    @functools.cached_property
    def control(self) -> ControlSet:
        with self.clock.timed("load"):
            return resolve("control", self.config.control, self._context())

    @functools.cached_property
    def editor(self) -> ImageEditor | None:
        """The image editor for concept ablation, or None when ``BackendConfig.editor`` is unset."""
        if self.config.editor is None:
            return None
        with self.clock.timed("load"):
            return resolve("editor", self.config.editor, self._context())

    def with_backends(self, **changes: str) -> Backends:
        """A container with some specs changed, sharing the backends that did not change.

        Args:
            changes: ``BackendConfig`` fields and their new values.

        Example:
            >>> held_out = backends.with_backends(generator="bank:openmoji")  # doctest: +SKIP
        """
        config = BackendConfig.from_dict({**self.config.to_dict(), **changes})
        shared = {
            role: self.__dict__[role]
            for role, fields in _DEPENDS.items()
            if role in self.__dict__
            and all(getattr(config, f) == getattr(self.config, f) for f in fields)
        }
        return Backends(config, self.cache_dir, shared, self.lock)

    def load(self) -> None:
        """Build every backend now, so a bad spec fails before any run is stored."""
        for role in _LOADED_BY_LOAD:
            getattr(self, role)

    def fingerprints(self) -> dict[str, str]:
        """Fingerprints of the backends built so far."""
        names = ("target", "generator", "proposer", "embedder", "control")
        return {name: self.__dict__[name].fingerprint for name in names if name in self.__dict__}

    def check_neuron(self, neuron: int) -> None:
        """Raise :class:`NeuronError` unless ``neuron`` indexes the target layer."""
        count = self.target.num_neurons
        if not 0 <= neuron < count:
            raise NeuronError(
                f"neuron {neuron} is out of range for layer {self.config.layer!r} of "
                f"{self.target.name}: it has {count} neurons (0..{count - 1})"
            )

    def describe(self) -> dict[str, Any]:
        """The target, its layers, and the backends in use."""
        target = self.target
        return {
            "target": target.name,
            "layer": target.layer,
            "neurons": target.num_neurons,
            "layers": target.layers(),
            "preprocessing": (
                target.preprocessing if isinstance(target, DescribesPreprocessing) else None
            ),
            "backends": self.config.to_dict(),
            "fingerprints": self.fingerprints(),
        }


def resolve_device(device: str) -> str:
    """The torch device for ``BackendConfig.device`` ("auto": CUDA when available)."""
    if device != "auto":
        if device.startswith("cuda"):
            import torch

            if not torch.cuda.is_available():
                raise BackendError(f"device {device!r} was asked for but CUDA is not available")
        return device
    import torch

    return "cuda" if torch.cuda.is_available() else "cpu"
