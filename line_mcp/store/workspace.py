"""The workspace: everything a LINE run produces, laid out on disk.

```
WORKSPACE/
  runs/RUN_ID.json        one run record, rewritten atomically after every step
  images/AB/IMAGE_ID.png  drawn images, content-addressed
  cache.sqlite            image index and per-image layer activations
  arrays/KEY.npz          whole-layer matrices (control and vocabulary activations)
  evaluations/KEY.json    CoSy grades of labels (shown on the run pages)
  workspace.json          the layout's format version and the line-mcp that wrote it
```
Every stored kind has a format version (:mod:`line_mcp.store.versions`): a
workspace, record or cache of an older format is upgraded when opened, one of
a newer format is refused with a message.
Writes go to a temporary file in the same folder and are renamed into place,
so a process killed at any moment leaves either the old or the new file,
never half of one.
"""

from __future__ import annotations

import hashlib
import io
import json
import logging
import os
import re
import sqlite3
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Sequence
from pathlib import Path
from typing import Any

import numpy as np
from PIL import Image
from pydantic import ValidationError

from line_mcp.core.records import RunRecord, StoredEvaluation
from line_mcp.errors import LineError, user_message
from line_mcp.store import versions

logger = logging.getLogger("line_mcp.workspace")
_ID = re.compile(r"^[0-9a-f]{24}$")
_RUN_ID = re.compile(r"^[A-Za-z0-9._-]{1,128}$")


class WorkspaceError(LineError, ValueError):
    """A workspace that cannot be used, or an id that does not name anything in it."""


def atomic_write_bytes(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old or the new file, never a mix."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def set_aside(path: Path, what_is_wrong: str, lost: str) -> Path:
    """Move a damaged file aside as ``NAME.damaged-TIMESTAMP`` and say so on stderr and in
    the log.

    Args:
        path: The damaged file (its SQLite ``-wal``/``-shm`` companions move with it).
        what_is_wrong: Why it cannot be used, e.g. "is not valid JSON (...)".
        lost: What was lost and what will be redone.

    Returns:
        Where the file now is.
    """
    stamp = time.strftime("%Y%m%dT%H%M%S")
    moved = path.with_name(f"{path.name}.damaged-{stamp}")
    for suffix in ("", "-wal", "-shm"):
        companion = path.with_name(path.name + suffix)
        if companion.exists():
            os.replace(companion, companion.with_name(moved.name + suffix))
    message = (
        f"line-mcp: warning: {path.parent.name}/{path.name} {what_is_wrong}; moved aside to "
        f"{moved.name}. Lost: {lost}."
    )
    logger.warning("%s", message)
    print(message, file=sys.stderr, flush=True)
    return moved


def image_id_for(generator_fingerprint: str, prompt: str, seed: int) -> str:
    """The content address of a drawn image: generator, prompt and seed fix it."""
    return hashlib.sha256(f"{generator_fingerprint}\x1f{prompt}\x1f{seed}".encode()).hexdigest()[
        :24
    ]


class Workspace:
    """A LINE workspace folder.

    Args:
        root: The folder; created if missing.

    Raises:
        WorkspaceError: the folder cannot be created or written.

    Example:
        >>> ws = Workspace(tmp_path)  # doctest: +SKIP
        >>> ws.save_run(record); ws.load_run(record.run_id).status  # doctest: +SKIP
        'running'
    """

    def __init__(self, root: str | Path) -> None:
        self.root = Path(root).expanduser().resolve()
        try:
            for sub in ("runs", "images", "arrays"):
                (self.root / sub).mkdir(parents=True, exist_ok=True)
            # A file of its own name: processes opening the workspace at once (Ray
            # actors, servers) must not remove each other's probe.
            with tempfile.TemporaryFile(dir=self.root, prefix=".write-probe-"):
                pass
        except OSError as err:
            raise WorkspaceError(
                f"workspace {str(self.root)!r} is not writable: {err.strerror or err}"
            ) from err
        self._open_manifest()
        self._lock = threading.Lock()
        try:
            self._db = self._open_cache()
        except sqlite3.DatabaseError as err:  # not a database, or a damaged one
            set_aside(
                self.root / "cache.sqlite",
                f"is not a usable SQLite database ({err})",
                "the image index and cached activations; images and activations are "
                "drawn and read again when needed",
            )
            self._db = self._open_cache()
        self._forget_missing_images()

    def _open_cache(self) -> sqlite3.Connection:
        """Open ``cache.sqlite`` and create its tables (raises sqlite3.DatabaseError if damaged)."""
        db = sqlite3.connect(self.root / "cache.sqlite", check_same_thread=False, timeout=60)
        try:
            Workspace._create_tables(db)
        except sqlite3.DatabaseError:
            db.close()
            raise
        return db

    @staticmethod
    def _create_tables(db: sqlite3.Connection) -> None:
        schema = db.execute("PRAGMA user_version").fetchone()[0]
        # Schema 0 is the unnumbered schema of format 1, the same tables as schema 2.
        versions.check_format("cache schema", schema, versions.SQLITE_SCHEMA, "cache.sqlite")
        with db:
            db.execute("PRAGMA journal_mode=WAL")
            db.execute(
                "CREATE TABLE IF NOT EXISTS images (image_id TEXT PRIMARY KEY, generator TEXT, "
                "concept TEXT, prompt TEXT, seed INTEGER, source TEXT, stored INTEGER)"
            )
            db.execute(
                "CREATE TABLE IF NOT EXISTS activations (target TEXT, layer TEXT, image_id TEXT, "
                "vector BLOB, PRIMARY KEY (target, layer, image_id))"
            )
            db.execute(f"PRAGMA user_version={versions.SQLITE_SCHEMA}")
        db.execute("SELECT count(*) FROM images").fetchone()  # reads the table's pages

    def _forget_missing_images(self) -> None:
        """Index rows whose pixels are gone from images/ become unstored (redrawn on demand)."""
        with self._lock:
            rows = self._db.execute("SELECT image_id FROM images WHERE stored=1").fetchall()
        missing = [(i,) for (i,) in rows if _ID.match(i) and not self._image_path(i).exists()]
        if not missing:
            return
        with self._lock, self._db:
            self._db.executemany("UPDATE images SET stored=0 WHERE image_id=?", missing)
        message = (
            f"line-mcp: warning: {len(missing)} image file(s) listed in cache.sqlite are missing "
            "from images/; they are drawn again when a step, a tool or a report needs them"
        )
        logger.warning("%s", message)
        print(message, file=sys.stderr, flush=True)

    def _open_manifest(self) -> None:
        """Read ``workspace.json`` (a folder without one is format 1) and write the current one."""
        path = self.root / "workspace.json"
        found = 1
        if path.exists():
            try:
                found = int(json.loads(path.read_text())["format_version"])
            except (ValueError, KeyError, TypeError) as err:
                raise WorkspaceError(f"{path} is not a line-mcp workspace manifest: {err}") from err
        versions.check_format("workspace", found, versions.WORKSPACE_FORMAT, str(self.root))
        if found < versions.WORKSPACE_FORMAT or not path.exists():
            manifest = {"format_version": versions.WORKSPACE_FORMAT, "writer": versions.writer()}
            atomic_write_bytes(path, json.dumps(manifest, indent=1).encode())

    # --- images -----------------------------------------------------------------------------

    def _image_path(self, image_id: str) -> Path:
        if not _ID.match(image_id):
            raise WorkspaceError(f"{image_id!r} is not an image id (24 lowercase hex characters)")
        return self.root / "images" / image_id[:2] / f"{image_id}.png"

    def put_image(
        self,
        image_id: str,
        image: Image.Image | None,
        *,
        generator: str,
        concept: str,
        prompt: str,
        seed: int,
        source: dict[str, Any],
    ) -> None:
        """Index an image; store its pixels too unless ``image`` is None (re-drawable on demand)."""
        if image is not None:
            buffer = io.BytesIO()
            # Fastest zlib level: 2.6x quicker than the default, 20 % larger (bulk cache).
            image.save(buffer, format="PNG", compress_level=1)
            atomic_write_bytes(self._image_path(image_id), buffer.getvalue())
        with self._lock, self._db:
            self._db.execute(
                "INSERT INTO images VALUES (?,?,?,?,?,?,?) ON CONFLICT(image_id) DO UPDATE SET "
                "stored = max(stored, excluded.stored)",
                (
                    image_id,
                    generator,
                    concept,
                    prompt,
                    seed,
                    json.dumps(source),
                    int(image is not None),
                ),
            )

    def image_info(self, image_id: str) -> dict[str, Any] | None:
        """What the index knows of an image: generator, concept, prompt, seed, source, stored."""
        self._image_path(image_id)  # validates the id
        with self._lock:
            row = self._db.execute(
                "SELECT generator, concept, prompt, seed, source, stored FROM images "
                "WHERE image_id=?",
                (image_id,),
            ).fetchone()
        if row is None:
            return None
        keys = ("generator", "concept", "prompt", "seed", "source", "stored")
        info = dict(zip(keys, row, strict=True))
        info["source"] = json.loads(info["source"])
        info["stored"] = bool(info["stored"])
        return info

    def has_image(self, image_id: str) -> bool:
        """Whether the pixels of ``image_id`` are on disk."""
        return self._image_path(image_id).exists()

    def load_image(self, image_id: str) -> Image.Image:
        """The stored image; raises WorkspaceError if it is not on disk."""
        path = self._image_path(image_id)
        if not path.exists():
            raise WorkspaceError(f"image {image_id!r} is not stored in this workspace")
        with Image.open(path) as image:
            return image.convert("RGB")

    def thumbnail_png(self, image_id: str, side: int) -> bytes | None:
        """PNG bytes of the stored image shrunk to ``side`` pixels at most, or None if absent."""
        if not self.has_image(image_id):
            return None
        image = self.load_image(image_id)
        image.thumbnail((side, side))
        buffer = io.BytesIO()
        image.save(buffer, format="PNG")  # optimize=True: 2.3x the time for 3 % fewer bytes
        return buffer.getvalue()

    def image_path(self, image_id: str) -> Path:
        """Where the image's PNG lives (it may not exist yet)."""
        return self._image_path(image_id)

    # --- activations --------------------------------------------------------------------------

    def get_activations(
        self, target: str, layer: str, image_ids: Sequence[str]
    ) -> dict[str, np.ndarray]:
        """Cached layer vectors of those images that have one."""
        found: dict[str, np.ndarray] = {}
        with self._lock:
            for start in range(0, len(image_ids), 500):
                chunk = list(image_ids[start : start + 500])
                marks = ",".join("?" * len(chunk))
                rows = self._db.execute(
                    f"SELECT image_id, vector FROM activations WHERE target=? AND layer=? "
                    f"AND image_id IN ({marks})",
                    (target, layer, *chunk),
                ).fetchall()
                found.update((i, np.frombuffer(v, dtype=np.float32)) for i, v in rows)
        return found

    def put_activations(
        self, target: str, layer: str, image_ids: Iterable[str], vectors: np.ndarray
    ) -> None:
        """Store one layer vector per image."""
        rows = [
            (target, layer, image_id, np.ascontiguousarray(vector, dtype=np.float32).tobytes())
            for image_id, vector in zip(image_ids, vectors, strict=True)
        ]
        with self._lock, self._db:
            self._db.executemany("INSERT OR REPLACE INTO activations VALUES (?,?,?,?)", rows)

    # --- whole-layer arrays -------------------------------------------------------------------

    def load_arrays(self, key: str) -> dict[str, np.ndarray] | None:
        """The arrays saved under ``key``, or None."""
        path = self.root / "arrays" / f"{key}.npz"
        if not path.exists():
            return None
        with np.load(path, allow_pickle=False) as data:
            return {name: data[name] for name in data.files}

    def has_arrays(self, key: str) -> bool:
        """Whether arrays are saved under ``key``."""
        return (self.root / "arrays" / f"{key}.npz").exists()

    def save_arrays(self, key: str, **arrays: np.ndarray) -> None:
        """Save named arrays under ``key`` atomically."""
        buffer = io.BytesIO()
        # numpy's stub types every keyword of savez as bool.
        np.savez(buffer, **arrays)  # type: ignore[arg-type]
        atomic_write_bytes(self.root / "arrays" / f"{key}.npz", buffer.getvalue())

    # --- runs ---------------------------------------------------------------------------------

    def _run_path(self, run_id: str) -> Path:
        if not _RUN_ID.match(run_id):
            raise WorkspaceError(f"{run_id!r} is not a run id (letters, digits, '.', '_', '-')")
        return self.root / "runs" / f"{run_id}.json"

    def save_run(self, record: RunRecord) -> None:
        """Write a run record atomically, stamped with the current format and writer."""
        record.format_version, record.writer = versions.RUN_FORMAT, versions.writer()
        atomic_write_bytes(self._run_path(record.run_id), record.model_dump_json(indent=1).encode())

    def load_run(self, run_id: str) -> RunRecord | None:
        """The run record, or None if there is none under that id."""
        path = self._run_path(run_id)
        if not path.exists():
            return None
        try:
            raw = json.loads(path.read_bytes())
        except (ValueError, UnicodeDecodeError) as err:  # truncated or overwritten
            set_aside(
                path,
                f"is not valid JSON ({err})",
                f"run {run_id!r}; it is redone from the start when labelled again",
            )
            return None
        data = versions.upgrade_run(raw, str(path))
        try:
            return RunRecord.model_validate(data)
        except ValidationError as err:
            set_aside(
                path,
                f"is not a valid run record ({user_message(err)[:200]})",
                f"run {run_id!r}; it is redone from the start when labelled again",
            )
            return None

    def list_runs(self) -> list[str]:
        """Ids of the stored runs, sorted."""
        return sorted(p.stem for p in (self.root / "runs").glob("*.json"))

    def load_runs(self, run_ids: Sequence[str]) -> list[RunRecord]:
        """The records of ``run_ids``, or of every stored run for ``["all"]``.

        Raises:
            WorkspaceError: an id that names no stored run (the message lists some that do).
        """
        every = list(run_ids) == ["all"]
        ids = self.list_runs() if every else list(run_ids)
        records = []
        for run_id in ids:
            record = self.load_run(run_id)
            if record is None and every:  # damaged and set aside (said on stderr)
                continue
            if record is None:
                known = ", ".join(self.list_runs()[:10]) or "none"
                raise WorkspaceError(f"no run {run_id!r} in {self.root}; runs: {known}")
            records.append(record)
        return records

    # --- evaluations --------------------------------------------------------------------------

    def save_evaluation(self, evaluation: StoredEvaluation) -> None:
        """Keep a CoSy grade; a later grade of the same label and neuron replaces it."""
        key = json.dumps([evaluation.target, evaluation.layer, evaluation.neuron, evaluation.label])
        name = hashlib.sha256(key.encode()).hexdigest()[:24]
        data = evaluation.model_copy(update={"format_version": versions.EVALUATION_FORMAT})
        atomic_write_bytes(
            self.root / "evaluations" / f"{name}.json", data.model_dump_json(indent=1).encode()
        )

    def evaluations(self) -> list[StoredEvaluation]:
        """Every kept CoSy grade (a damaged file is set aside with a message)."""
        found = []
        for path in sorted((self.root / "evaluations").glob("*.json")):
            try:
                evaluation = StoredEvaluation.model_validate_json(path.read_bytes())
            except ValidationError as err:
                wrong = f"is not a valid evaluation ({err.error_count()} errors)"
                set_aside(path, wrong, "one stored CoSy grade; `line-mcp evaluate` redoes it")
                continue
            versions.check_format(
                "evaluation", evaluation.format_version, versions.EVALUATION_FORMAT, str(path)
            )
            found.append(evaluation)
        return found

    def close(self) -> None:
        self._db.close()
