"""The runnable examples in core's docstrings are part of its tests."""

import doctest
import importlib
import pkgutil

import pytest

import line_mcp.core

MODULES = sorted(m.name for m in pkgutil.iter_modules(line_mcp.core.__path__))


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(f"line_mcp.core.{name}")
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0
