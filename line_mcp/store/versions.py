"""Format versions of what line-mcp stores, and the writer stamped into saved files.

Each stored kind carries its own format number, raised when its layout
changes; a reader upgrades older formats in :func:`upgrade_run` (and the
like) and refuses newer ones with a message. Version 1 is the layout written
before formats were numbered: a file without ``format_version`` is version 1.

Example:
    >>> upgrade_run({"run_id": "x", "updated_at": "2026-01-02T03:04:05+0000"})["updated_at"]
    '2026-01-02T03:04:05Z'
"""

from __future__ import annotations

import functools
import re
from datetime import UTC, datetime
from typing import Any

from line_mcp.core.records import RUN_FORMAT, utc_now
from line_mcp.errors import LineError

__all__ = ["RUN_FORMAT", "utc_now"]

#: Job records (jobs/JOB_ID.json); 3 added the work key, the owner's pid and the start.
JOB_FORMAT = 3
#: The workspace layout (workspace.json).
WORKSPACE_FORMAT = 2
#: Stored CoSy grades (evaluations/KEY.json).
EVALUATION_FORMAT = 1
#: The SQLite cache schema (PRAGMA user_version).
SQLITE_SCHEMA = 2

_OFFSET = re.compile(r"([+-]\d\d):?(\d\d)$")


class FormatError(LineError, ValueError):
    """A stored file written by a newer line-mcp than this one."""


def as_utc(stamp: str) -> str:
    """An older timestamp (``+00:00``, ``+0000`` or another offset) in the ``Z`` form.

    Example:
        >>> as_utc("2026-01-02T05:04:05+0200"), as_utc("2026-01-02T03:04:05Z")
        ('2026-01-02T03:04:05Z', '2026-01-02T03:04:05Z')
    """
    if stamp.endswith("Z"):
        return stamp
    text = _OFFSET.sub(r"\1:\2", stamp)
    try:
        moment = datetime.fromisoformat(text)
    except ValueError:
        return stamp  # not a timestamp this reader knows: kept as written
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@functools.cache
def writer() -> str:
    """``line-mcp X.Y.Z``: the package version stamped into saved files."""
    from importlib.metadata import PackageNotFoundError, version

    try:
        return f"line-mcp {version('line-mcp')}"
    except PackageNotFoundError:
        return "line-mcp (source checkout)"


def check_format(kind: str, found: int, current: int, where: str) -> None:
    """Refuse a file of a newer format than this reader knows."""
    if found > current:
        raise FormatError(
            f"{where} is a {kind} of format {found}, written by a newer line-mcp; this one "
            f"reads formats up to {current}: upgrade line-mcp to open it"
        )


def upgrade_run(data: dict[str, Any], where: str = "run record") -> dict[str, Any]:
    """A run record's JSON data in the current format (older formats upgraded in place).

    Format 1 -> 2: timestamps in the ``Z`` form (format 1 wrote ``+00:00`` and,
    for ``updated_at``, ``+0000``); ``format_version`` and ``writer`` added.
    """
    found = int(data.get("format_version", 1))
    check_format("run record", found, RUN_FORMAT, where)
    if found < 2:
        for key in ("created_at", "updated_at"):
            if isinstance(data.get(key), str):
                data[key] = as_utc(data[key])
        for step in data.get("steps") or []:
            if isinstance(step.get("finished_at"), str):
                step["finished_at"] = as_utc(step["finished_at"])
        data.setdefault("writer", "line-mcp (before format 2)")
    data["format_version"] = RUN_FORMAT
    return data


def upgrade_job(data: dict[str, Any], where: str = "job record") -> dict[str, Any]:
    """A job record's data in the current format (format 1 had no version or writer)."""
    found = int(data.get("format_version", 1))
    check_format("job record", found, JOB_FORMAT, where)
    data.setdefault("writer", "line-mcp (before format 2)")
    if found < 3:  # the work was the run; owner and start were not kept
        data.setdefault("key", data.get("run_id", ""))
        data.setdefault("owner_pid", None)
        data.setdefault("started_at", None)
    data["format_version"] = JOB_FORMAT
    return data
