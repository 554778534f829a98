"""Make ``minigrad.kernels`` importable from a source checkout.

setup.py installs the top-level ``kernels/`` folder as ``minigrad.kernels``
(``package_dir``). When Python imports ``minigrad`` straight from a checkout instead (tests
run from the repository root, ``python examples/x.py``), ``minigrad/`` has no ``kernels``
subfolder; this finder resolves ``minigrad.kernels`` to the sibling ``kernels/`` folder, the
same mapping setup.py makes. It is added last on ``sys.meta_path``, so an installed copy
always wins, and it does nothing outside a checkout.
"""
from __future__ import annotations

import importlib.abc
import importlib.util
import sys
from pathlib import Path

_PACKAGE = Path(__file__).resolve().parent
_SIBLING = _PACKAGE.parent / "kernels"


class _KernelsFinder(importlib.abc.MetaPathFinder):
    def find_spec(self, name, path=None, target=None):
        if name != "minigrad.kernels":
            return None
        return importlib.util.spec_from_file_location(
            name, _SIBLING / "__init__.py", submodule_search_locations=[str(_SIBLING)])


def install_kernels_finder() -> None:
    if (_PACKAGE / "kernels").is_dir() or not (_SIBLING / "__init__.py").is_file():
        return
    if not any(isinstance(f, _KernelsFinder) for f in sys.meta_path):
        sys.meta_path.append(_KernelsFinder())
