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


#: Set when :func:`offline_unless_reachable` found the hub unreachable and went offline.
_WENT_OFFLINE = False
#: How long the hub probe waits for a TCP connection.
HUB_PROBE_TIMEOUT_S = 1.5


def offline_unless_reachable(timeout_s: float = HUB_PROBE_TIMEOUT_S) -> bool:
    """Set ``HF_HUB_OFFLINE=1`` when it is unset and the model hub cannot be reached.

    Without it, a model missing from the local cache costs a minute or more of
    retries against an unreachable hub before the clear error; with it, the hub
    libraries answer from the local cache at once. One TCP connection attempt to
    the hub (``HF_ENDPOINT``, default huggingface.co:443) decides; call it before
    huggingface_hub is imported (it reads the variable at import).

    Returns:
        Whether this call switched to offline.
    """
    global _WENT_OFFLINE
    if os.environ.get("HF_HUB_OFFLINE", "") != "":
        return False
    import socket
    from urllib.parse import urlparse

    endpoint = urlparse(os.environ.get("HF_ENDPOINT") or "https://huggingface.co")
    host = endpoint.hostname or "huggingface.co"
    port = endpoint.port or (80 if endpoint.scheme == "http" else 443)
    try:
        socket.create_connection((host, port), timeout=timeout_s).close()
        return False
    except OSError:
        os.environ["HF_HUB_OFFLINE"] = "1"
        _WENT_OFFLINE = True
        return True


def offline_error(model: str, err: Exception) -> BackendError:
    """The message for a model that is neither a local path nor in the local hub cache."""
    offline = os.environ.get("HF_HUB_OFFLINE", "") not in ("", "0", "false")
    if _WENT_OFFLINE:
        return BackendError(
            f"model {model!r} is not available locally and the model hub "
            f"({os.environ.get('HF_ENDPOINT') or 'https://huggingface.co'}) cannot be reached "
            "(line-mcp set HF_HUB_OFFLINE=1 instead of retrying): download it on a machine "
            f"with network access (huggingface-cli download {model}) and copy the hub cache, "
            f"or pass a local folder path instead. ({err})"
        )
    how = (
        "download it on a machine with network access (huggingface-cli download "
        f"{model}) and copy the hub cache, or pass a local folder path instead"
    )
    state = "HF_HUB_OFFLINE is set and it" if offline else "it"
    return BackendError(
        f"model {model!r} could not be loaded: {state} is not available locally; {how}. ({err})"
    )
