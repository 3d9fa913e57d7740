"""One registry from spec strings to backend implementations.

A spec is ``scheme``, ``scheme:argument`` or either followed by
``?key=value&key=value``. The scheme picks an implementation for the role;
the argument is usually a model id, a path or a name; the options are
validated by the implementation's own pydantic ``Options`` model, so a typo
gets a message listing what is allowed.

Example:
    >>> parse_spec("transformers:meta-llama/Llama-3.1-8B-Instruct?max_new_tokens=96")
    ('transformers', 'meta-llama/Llama-3.1-8B-Instruct', {'max_new_tokens': '96'})

Implementations are named by import path, so resolving a spec imports only
the module it needs (torch, transformers and diffusers stay unloaded until used).

Registrations come from modules that call :func:`register`: the built-in ones
(:mod:`line_mcp.backends.builtin`) and any plugin package are found through the
``line_mcp.backends`` entry point group (``[project.entry-points."line_mcp.backends"]``
in a ``pyproject.toml``); modules named by ``--plugin`` or ``$LINE_MCP_PLUGINS``
are imported by :func:`load_plugins`. Adding a backend is one ``register`` call in
such a module.
"""

from __future__ import annotations

import contextlib
import importlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, overload
from urllib.parse import parse_qsl

from pydantic import BaseModel, ValidationError

from line_mcp.backends.base import (
    ConceptProposer,
    ControlSet,
    ImageEditor,
    ImageGenerator,
    TargetModel,
    TextEmbedder,
)
from line_mcp.errors import LineError

if TYPE_CHECKING:
    from collections.abc import Sequence

#: The entry point group whose modules register backends when loaded.
ENTRY_POINT_GROUP = "line_mcp.backends"
#: Environment variable with comma-separated plugin modules to import.
PLUGINS_ENV = "LINE_MCP_PLUGINS"

Role = Literal["target", "generator", "proposer", "editor", "embedder", "control"]
ROLES: tuple[Role, ...] = ("target", "generator", "proposer", "editor", "embedder", "control")


class BackendError(LineError, ValueError):
    """A spec that cannot be resolved or a backend that cannot be built; says what is allowed."""


@dataclass(frozen=True)
class Registration:
    """One implementation of a role.

    Attributes:
        role: The role it fills.
        scheme: The spec prefix that selects it.
        implementation: ``module:Class``; the class has an ``Options`` model and a
            ``build(argument, options, context)`` classmethod.
        summary: One line for ``line-mcp backends``.
        example: A working spec.
    """

    role: Role
    scheme: str
    implementation: str
    summary: str
    example: str


@dataclass
class BuildContext:
    """What a backend may need besides its own spec.

    Attributes:
        device: Resolved torch device string for model backends.
        layer: The target layer to read (targets only).
        cache_dir: Where a backend may keep derived data (e.g. a label index).
        embedder: The run's text embedder, for backends that retrieve by text.
    """

    device: str = "cpu"
    layer: str | None = None
    cache_dir: Path | None = None
    embedder: TextEmbedder | None = None
    extras: dict[str, Any] = field(default_factory=dict)


_REGISTRY: dict[tuple[str, str], Registration] = {}
# The Protocol every built backend of a role must satisfy.
PROTOCOLS: dict[Role, type] = {
    "target": TargetModel,
    "generator": ImageGenerator,
    "proposer": ConceptProposer,
    "editor": ImageEditor,
    "embedder": TextEmbedder,
    "control": ControlSet,
}


def register(
    role: Role, scheme: str, implementation: str, summary: str, example: str
) -> Registration:
    """Add an implementation; a (role, scheme) pair can be registered once."""
    key = (role, scheme)
    if key in _REGISTRY:
        raise ValueError(f"{role} scheme {scheme!r} is already registered")
    registration = Registration(role, scheme, implementation, summary, example)
    _REGISTRY[key] = registration
    return registration


def registrations(role: Role | None = None) -> list[Registration]:
    """Registered implementations, optionally of one role, in registration order."""
    load_plugins()
    return [r for r in _REGISTRY.values() if role is None or r.role == role]


def parse_spec(spec: str) -> tuple[str, str, dict[str, str]]:
    """Split a spec into (scheme, argument, options).

    The argument may itself contain ``:`` (URLs, Windows paths); only the
    first ``:`` separates the scheme.
    """
    spec = spec.strip()
    if not spec:
        raise BackendError("empty backend spec")
    body, _, query = spec.partition("?")
    scheme, _, argument = body.partition(":")
    options = dict(parse_qsl(query, keep_blank_values=True, strict_parsing=bool(query)))
    return scheme.strip().lower(), argument.strip(), options


def _allowed(role: Role) -> str:
    return ", ".join(f"{r.scheme} (e.g. {r.example!r})" for r in registrations(role))


def implementation(role: Role, spec: str) -> tuple[Any, str, BaseModel]:
    """The class ``spec`` names for ``role``, its argument and validated options, without
    building anything: what :func:`resolve` checks before it builds.

    Raises:
        BackendError: unknown role or scheme, or options that do not validate.
    """
    if role not in ROLES:
        raise BackendError(f"unknown role {role!r}; roles: {', '.join(ROLES)}")
    load_plugins()
    try:
        scheme, argument, raw_options = parse_spec(spec)
    except ValueError as err:
        raise BackendError(f"bad {role} spec {spec!r}: {err}") from err
    registration = _REGISTRY.get((role, scheme))
    if registration is None:
        raise BackendError(
            f"unknown {role} backend {scheme!r} in {spec!r}; known: {_allowed(role)}"
        )
    module_name, _, class_name = registration.implementation.partition(":")
    # Libraries print while importing and loading models ("Loaded pretrained weights",
    # download notes): stdout carries the command's output (JSON, tables) and the MCP
    # stdio stream, so whatever a backend prints while it is built goes to stderr.
    with contextlib.redirect_stdout(sys.stderr):
        cls = getattr(importlib.import_module(module_name), class_name)
    options_model: type[BaseModel] = cls.Options
    try:
        options = options_model.model_validate(raw_options)
    except ValidationError as err:
        fields = ", ".join(options_model.model_fields) or "none"
        problems = "; ".join(
            f"{'.'.join(map(str, e['loc'])) or 'options'}: {e['msg']}" for e in err.errors()
        )
        raise BackendError(
            f"bad options for {role} {scheme!r}: {problems}. Allowed options: {fields}"
        ) from err
    return cls, argument, options


@overload
def resolve(
    role: Literal["target"], spec: str, context: BuildContext | None = None
) -> TargetModel: ...
@overload
def resolve(
    role: Literal["generator"], spec: str, context: BuildContext | None = None
) -> ImageGenerator: ...
@overload
def resolve(
    role: Literal["proposer"], spec: str, context: BuildContext | None = None
) -> ConceptProposer: ...
@overload
def resolve(
    role: Literal["editor"], spec: str, context: BuildContext | None = None
) -> ImageEditor: ...
@overload
def resolve(
    role: Literal["embedder"], spec: str, context: BuildContext | None = None
) -> TextEmbedder: ...
@overload
def resolve(
    role: Literal["control"], spec: str, context: BuildContext | None = None
) -> ControlSet: ...
def resolve(role: Role, spec: str, context: BuildContext | None = None) -> object:
    """Build the implementation of ``role`` that ``spec`` names.

    Args:
        role: One of :data:`ROLES`.
        spec: The spec string.
        context: Device, cache folder and shared embedder.

    Returns:
        An object satisfying the role's Protocol in :mod:`line_mcp.backends.base`.

    Raises:
        BackendError: unknown role or scheme, or options that do not validate.
        TypeError: the implementation built an object that is not the role's Protocol.
    """
    cls, argument, options = implementation(role, spec)
    with contextlib.redirect_stdout(sys.stderr):
        built = cls.build(argument, options, context or BuildContext())
    if not isinstance(built, PROTOCOLS[role]):
        raise TypeError(
            f"{cls.__module__}:{cls.__name__} built a {type(built).__name__}, which lacks the "
            f"{PROTOCOLS[role].__name__} interface of the {role} role"
        )
    return built


_LOADED: set[str] = set()
_ENTRY_POINTS_LOADED = False


def load_plugins(modules: Sequence[str] = ()) -> None:
    """Import the modules that register backends (each once).

    Always loads the ``line_mcp.backends`` entry points (the built-in backends and
    installed plugin packages); then ``modules`` and those named, comma-separated,
    in ``$LINE_MCP_PLUGINS``. :func:`resolve` and :func:`registrations` call it.

    Raises:
        BackendError: a module that cannot be imported, or no built-in backends
            (the package is installed without its entry points: reinstall it).
    """
    import os

    global _ENTRY_POINTS_LOADED
    if not _ENTRY_POINTS_LOADED:
        from importlib.metadata import entry_points

        _ENTRY_POINTS_LOADED = True
        found = entry_points(group=ENTRY_POINT_GROUP)
        if not any(e.value == "line_mcp.backends.builtin" for e in found):
            raise BackendError(
                f"no built-in backends: the {ENTRY_POINT_GROUP!r} entry points of line-mcp are "
                "missing; reinstall the package (pip install -e . from the repository)"
            )
        for entry in found:
            _import_plugin(entry.value)
    names = [*modules, *os.environ.get(PLUGINS_ENV, "").split(",")]
    for name in dict.fromkeys(n.strip() for n in names if n.strip()):
        _import_plugin(name)


def _import_plugin(name: str) -> None:
    if name in _LOADED:
        return
    try:
        importlib.import_module(name)
    except ImportError as err:
        raise BackendError(f"cannot import backend plugin module {name!r}: {err}") from err
    _LOADED.add(name)
