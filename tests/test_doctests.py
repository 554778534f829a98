"""Examples in docstrings run as doctests."""
import doctest
import importlib

import pytest

MODULES = ["minigrad", "minigrad.tensor", "minigrad.gradcheck", "minigrad.testing"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
