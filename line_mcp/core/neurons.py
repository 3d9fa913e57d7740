"""Neuron lists as people write them: indices and ranges (``run-loop --neurons``, MCP)."""

from __future__ import annotations

from line_mcp.errors import InputError

#: The most neurons one list may name (a layer's range is checked once it is loaded).
MAX_NEURONS = 100_000


def parse_neurons(text: str) -> list[int]:
    """Parse ``"3,17,40-45"`` into ``[3, 17, 40, 41, 42, 43, 44, 45]`` (repeats once).

    Example:
        >>> parse_neurons("3,17,40-42,3")
        [3, 17, 40, 41, 42]

    Raises:
        InputError: with the offending part and the accepted syntax.
    """
    neurons: list[int] = []
    for part in (p.strip() for p in text.split(",")):
        low, dash, high = part.partition("-")
        try:
            if not dash:
                neurons.append(int(part))
                continue
            first, last = int(low), int(high)
        except ValueError:
            raise InputError(
                f"bad neuron list part {part!r} in {text!r}: use indices and ranges like 3,17,40-45"
            ) from None
        if first > last or first < 0:
            raise InputError(f"bad neuron range {part!r}: write low-high with 0 <= low <= high")
        if last - first + 1 + len(neurons) > MAX_NEURONS:
            raise InputError(f"{text!r} names more than {MAX_NEURONS} neurons; name fewer")
        neurons.extend(range(first, last + 1))
    if any(n < 0 for n in neurons):
        raise InputError(f"neuron indices must be >= 0, got {text!r}")
    return list(dict.fromkeys(neurons))
