"""The loaded backends of a run: one typed container, built lazily from a BackendConfig.

Each role is built on first use through the registry and kept for the life of
the container; :meth:`Backends.with_backends` makes a container with some specs
changed that shares every backend whose spec did not change.
"""

from __future__ import annotations

import functools
import json
import sys
import threading
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from line_mcp.backends.base import (
    ConceptProposer,
    ControlSet,
    DeclaresSize,
    DescribesPreprocessing,
    ImageEditor,
    ImageGenerator,
    SizedModel,
    TargetModel,
    TextEmbedder,
)
from line_mcp.backends.registry import BackendError, BuildContext, Role, implementation, resolve
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
#: The order a warm-up builds roles in: the order tools need them (a neuron check needs
#: the target; drawing needs the embedder and generator; proposing needs the LLM last).
WARM_UP_ORDER: tuple[Role, ...] = (
    "target", "control", "embedder", "generator", "proposer", "editor"
)  # fmt: skip
_LOAD_TIMES = "load-seconds.json"  # past load times per spec, for the estimate


@dataclass
class LoadingStatus:
    """Roles still being built by a warm-up, and how long they should take.

    Attributes:
        loading: The needed roles not built yet, in build order, as ``role (spec)``.
        current: The role being built now, or None before the warm-up reaches one.
        elapsed_s: Seconds since the warm-up started.
        estimate_s: Seconds until every needed role is built, from the load times
            measured on earlier starts over this workspace; None on a first start.
    """

    loading: list[str]
    current: str | None
    elapsed_s: float
    estimate_s: float | None = None

    def message(self) -> str:
        when = (
            f"about {self.estimate_s:.0f} s left"
            if self.estimate_s is not None
            else "no estimate yet (first start on this workspace)"
        )
        return (
            f"the server is still loading its models ({', '.join(self.loading)}; "
            f"{self.elapsed_s:.0f} s since start-up, {when}); call again shortly"
        )


@dataclass
class _WarmUp:
    order: list[Role]
    started: float = field(default_factory=time.monotonic)
    current: Role | None = None
    current_since: float = 0.0
    done: set[str] = field(default_factory=set)  # built or failed: no longer waited for
    history: dict[str, float] = field(default_factory=dict)


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
        self._warm_up: _WarmUp | None = None
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

    def load(self, skip: Iterable[Role] = ()) -> None:
        """Build every backend now, so a bad spec fails before any run is stored; a role in
        ``skip`` (one the work will not call) only has its spec checked."""
        for role in _LOADED_BY_LOAD:
            if role in skip and not self.loaded(role):
                implementation(role, getattr(self.config, role))
            else:
                getattr(self, role)

    def proposer_parameters(self) -> int | None:
        """The proposer's parameter count: the built model's, else what its backend
        declares for the spec without loading; None for a proposer without a size (an
        HTTP endpoint)."""
        if not self.loaded("proposer"):
            cls, argument, options = implementation("proposer", self.config.proposer)
            declared = (
                cls.declared_parameters(argument, options)
                if isinstance(cls, DeclaresSize)
                else None
            )
            if declared is not None:
                return declared
        proposer = self.proposer
        return proposer.num_parameters if isinstance(proposer, SizedModel) else None

    def loaded(self, role: Role) -> bool:
        """Whether ``role`` is built (an unset editor counts as built)."""
        return role in self.__dict__ or (role == "editor" and self.config.editor is None)

    def warm_up(self, order: Iterable[Role] = WARM_UP_ORDER) -> threading.Thread:
        """Build the roles in ``order`` in a background thread, from now on.

        Model calls are serialised by :attr:`lock` already; a caller that must not
        block on a role still being built asks :meth:`loading` first. A role that
        fails to build is left unbuilt: the first caller that needs it builds it
        again and reads the error.
        """
        state = _WarmUp(order=[r for r in order if not self.loaded(r)])
        state.history = self._load_history()
        state.current = state.order[0] if state.order else None
        state.current_since = state.started
        self._warm_up = state
        thread = threading.Thread(target=self._warm, args=(state,), daemon=True, name="warm-up")
        thread.start()
        return thread

    def _warm(self, state: _WarmUp) -> None:
        for role in state.order:
            state.current, state.current_since = role, time.monotonic()
            try:
                getattr(self, role)
                state.history[self._spec(role)] = round(time.monotonic() - state.current_since, 2)
            except Exception as err:  # the first tool call that needs it reports it
                print(f"[line-mcp] loading {role} failed: {err}", file=sys.stderr, flush=True)
            state.done.add(role)
        state.current = None
        self._save_history(state.history)

    def loading(self, roles: Iterable[Role]) -> LoadingStatus | None:
        """What of ``roles`` a warm-up is still building, or None when nothing is awaited."""
        state = self._warm_up
        if state is None:
            return None
        waiting = [
            r for r in state.order if r in set(roles) and r not in state.done and not self.loaded(r)
        ]
        if not waiting:
            return None
        now = time.monotonic()
        # Every role up to the last one needed is built first (one thread, in order).
        ahead = state.order[: state.order.index(waiting[-1]) + 1]
        estimate: float | None = 0.0
        for role in ahead:
            if role in state.done or self.loaded(role):
                continue
            past = state.history.get(self._spec(role))
            if past is None or estimate is None:
                estimate = None
                continue
            spent = now - state.current_since if role == state.current else 0.0
            estimate += max(1.0, past - spent)
        return LoadingStatus(
            loading=[f"{r} ({getattr(self.config, r)})" for r in waiting],
            current=state.current,
            elapsed_s=round(now - state.started, 1),
            estimate_s=None if estimate is None else round(estimate, 1),
        )

    def _spec(self, role: Role) -> str:
        return f"{role}:{getattr(self.config, role)}"

    def _load_history(self) -> dict[str, float]:
        try:
            loaded = json.loads((self.cache_dir / _LOAD_TIMES).read_text())
            return {str(k): float(v) for k, v in loaded.items()}
        except (OSError, ValueError, AttributeError):
            return {}

    def _save_history(self, history: dict[str, float]) -> None:
        try:
            self.cache_dir.mkdir(parents=True, exist_ok=True)
            (self.cache_dir / _LOAD_TIMES).write_text(json.dumps(history, indent=1))
        except OSError:  # an estimate is a convenience; a read-only workspace still serves
            pass

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
