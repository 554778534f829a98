"""Examples in docstrings run as doctests, in every module of the package."""
import doctest
import importlib
import pkgutil

import pytest

import minigrad

# Modules whose import needs a GPU stack (CuPy, numba.cuda) at import time are still
# imported lazily by design; these are the ones whose docstrings describe GPU calls.
GPU_ONLY = {"minigrad.kernels._cuda", "minigrad.kernels.spmv_numba"}


def _modules():
    names = {"minigrad", "minigrad.kernels"}
    for info in pkgutil.walk_packages(minigrad.__path__, "minigrad."):
        names.add(info.name)
    import minigrad.kernels as k

    for info in pkgutil.walk_packages(k.__path__, "minigrad.kernels."):
        names.add(info.name)
    return sorted(n for n in names if n not in GPU_ONLY and ".__main__" not in n)


@pytest.mark.parametrize("name", _modules())
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0


def test_core_modules_have_examples():
    for name in ("minigrad", "minigrad.tensor", "minigrad.gradcheck", "minigrad.testing"):
        assert doctest.testmod(importlib.import_module(name)).attempted > 0, name
