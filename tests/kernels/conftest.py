"""Shared set-up for the kernel tests.

``kernels/`` is installed as ``minigrad.kernels`` (setup.py ``package_dir``). When the tests
run from a source checkout that is not installed, map the folder onto that name here so the
same imports work either way.
"""
import importlib
import importlib.util
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _ensure_minigrad_kernels():
    try:
        importlib.import_module("minigrad.kernels")
        return
    except ImportError:
        pass
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    importlib.import_module("minigrad")
    spec = importlib.util.spec_from_file_location(
        "minigrad.kernels", ROOT / "kernels" / "__init__.py",
        submodule_search_locations=[str(ROOT / "kernels")])
    module = importlib.util.module_from_spec(spec)
    sys.modules["minigrad.kernels"] = module
    spec.loader.exec_module(module)


_ensure_minigrad_kernels()


def pytest_configure(config):
    config.addinivalue_line("markers", "gpu: needs a CUDA device")


@pytest.fixture
def rng(request):
    """Fresh random data every run (never zeros); the seed is printed on failure."""
    import numpy as np

    seed = int(np.random.SeedSequence().entropy % 2**32)
    request.node.user_properties.append(("seed", seed))
    print(f"seed={seed}")
    return np.random.default_rng(seed)
