"""Smaller published JSON schemas: what a client's model reads in ``tools/list``.

Pydantic's schemas carry keys no client needs: a ``title`` on every property (its
name, title-cased) and model, a ``default`` on every optional field of a result,
and each model's docstring, written for Python readers; an optional value is spelled
``anyOf: [{type: T}, {type: null}]`` where ``type: [T, null]`` says the same. Removing
or shortening them changes no validation. Definitions cannot be shared across tools:
each tool's schema must resolve its ``$ref`` within itself, so a model used by several
tools is repeated.
"""

from __future__ import annotations

from typing import Any

# Keywords whose value is a map of name -> schema, a schema, or a list of schemas.
_NAMED = ("properties", "$defs", "patternProperties")
_ONE = ("items", "additionalProperties", "not", "contains")
_MANY = ("anyOf", "allOf", "oneOf", "prefixItems")


def compact_schema(schema: dict[str, Any], *, result: bool = False) -> dict[str, Any]:
    """``schema`` without titles, with nullable simple types as one ``type`` list (and,
    for a ``result`` schema, without defaults and the models' docstrings); the field
    descriptions stay.

    Example:
        >>> compact_schema({"title": "A", "description": "A model.", "type": "object",
        ...     "properties": {"title": {"title": "Title", "type": "string", "default": ""}}},
        ...     result=True)
        {'type': 'object', 'properties': {'title': {'type': 'string'}}}
        >>> compact_schema({"anyOf": [{"type": "number"}, {"type": "null"}], "default": None})
        {'default': None, 'type': ['number', 'null']}
    """
    out: dict[str, Any] = {}
    is_model = schema.get("type") == "object" and "properties" in schema
    for key, value in schema.items():
        if key == "title" and isinstance(value, str):
            continue
        if result and key == "default":
            continue
        if result and key == "description" and is_model:
            continue  # a model's docstring; the tool's description says what it returns
        if key in _NAMED and isinstance(value, dict):
            out[key] = {name: compact_schema(s, result=result) for name, s in value.items()}
        elif key in _ONE and isinstance(value, dict):
            out[key] = compact_schema(value, result=result)
        elif key in _MANY and isinstance(value, list):
            out[key] = [compact_schema(s, result=result) for s in value]
        else:
            out[key] = value
    nullable = _nullable_type(out.get("anyOf"))
    if nullable is not None:
        del out["anyOf"]
        out["type"] = [nullable, "null"]
    return out


def _nullable_type(options: Any) -> str | None:
    """``T`` when ``options`` is exactly ``[{type: T}, {type: null}]`` with a simple T."""
    if not isinstance(options, list) or len(options) != 2:
        return None
    if options[1] != {"type": "null"} or set(options[0]) != {"type"}:
        return None
    kind = options[0]["type"]
    return kind if isinstance(kind, str) and kind != "null" else None
