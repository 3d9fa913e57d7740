"""The one base class of errors meant for the person using line-mcp.

A :class:`LineError` says what was wrong and what is allowed (an unknown
backend, a neuron outside the layer, an id that names nothing...). The CLI and
the MCP server show these as they are; any other exception is a bug, logged
with its traceback and reported to the client as an internal error.
"""

from __future__ import annotations


class LineError(Exception):
    """An error meant for users: the message says what was wrong and what to do."""


def user_message(error: BaseException) -> str:
    """The text a user sees for a :class:`LineError` (a pydantic one lists its fields).

    Example:
        >>> user_message(LineError("neuron 9 is out of range"))
        'neuron 9 is out of range'
    """
    from pydantic import ValidationError

    if isinstance(error, ValidationError):
        return "; ".join(
            f"{'.'.join(map(str, e['loc']))}: {e['msg'].removeprefix('Value error, ')}"
            for e in error.errors()
        )
    return str(error)


class InputError(LineError, ValueError):
    """A request that names nothing known or does not fit (says what is allowed instead)."""


class UnknownIdError(LineError, KeyError):
    """An id (a job, a run) that names nothing; the message lists what is known."""

    def __str__(self) -> str:  # KeyError would show the message quoted
        return str(self.args[0]) if self.args else "unknown id"
