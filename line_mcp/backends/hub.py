"""Finding model files offline and fingerprinting them."""

from __future__ import annotations

import hashlib
import importlib.util
import os
from pathlib import Path

from line_mcp.backends.registry import BackendError

# Whole-file hashing is cheap below this size; larger files are keyed by size and edges.
_FULL_HASH_LIMIT = 256 * 2**20


def package_path(package: str, relative: str, install_hint: str) -> Path:
    """A file or folder shipped inside an installed package, found without importing it."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise BackendError(f"package {package!r} is not installed: {install_hint}")
    path = Path(next(iter(spec.submodule_search_locations))) / relative
    if not path.exists():
        raise BackendError(f"{path} is missing from package {package!r}: {install_hint}")
    return path


def files_fingerprint(path: Path) -> str:
    """A short hash of a model file or folder: names, sizes and contents (edges of huge files)."""
    digest = hashlib.sha256()
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    for file in files:
        size = file.stat().st_size
        digest.update(f"{file.name}:{size}".encode())
        with file.open("rb") as handle:
            if size <= _FULL_HASH_LIMIT:
                for chunk in iter(lambda: handle.read(2**20), b""):
                    digest.update(chunk)
            else:
                digest.update(handle.read(2**20))
                handle.seek(size - 2**20)
                digest.update(handle.read())
    return digest.hexdigest()[:16]


def offline_error(model: str, err: Exception) -> BackendError:
    """The message for a model that is neither a local path nor in the local hub cache."""
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false")
    how = (
        "download it on a machine with network access (huggingface-cli download "
        f"{model}) and copy the hub cache, or pass a local folder path instead"
    )
    state = "HF_HUB_OFFLINE is set and it" if offline else "it"
    return BackendError(
        f"model {model!r} could not be loaded: {state} is not available locally; {how}. ({err})"
    )
