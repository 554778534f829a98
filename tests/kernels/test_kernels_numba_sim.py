"""The Numba SpMV under the CUDA simulator. It runs in a subprocess with
NUMBA_ENABLE_CUDASIM=1 so that the rest of this process keeps the real numba.cuda."""
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

SCRIPT = textwrap.dedent("""
    import importlib, importlib.util, sys
    sys.path.insert(0, {root!r})
    sys.path.insert(0, {here!r})
    try:
        importlib.import_module("minigrad.kernels")
    except ImportError:
        importlib.import_module("minigrad")
        spec = importlib.util.spec_from_file_location(
            "minigrad.kernels", {root!r} + "/kernels/__init__.py",
            submodule_search_locations=[{root!r} + "/kernels"])
        mod = importlib.util.module_from_spec(spec)
        sys.modules["minigrad.kernels"] = mod
        spec.loader.exec_module(mod)
    import numpy as np
    from numba import cuda
    assert cuda.simulator is not None and type(cuda).__name__ == "module"
    from kernels_testdata import dense_of, power_law_lengths, random_csr, rel_err
    from minigrad.kernels.spmv_numba import spmv_csr_numba
    rng = np.random.default_rng({seed})
    for dtype in (np.float32, np.float64):
        lengths = power_law_lengths(rng, 40, 60)
        lengths[3] = 0
        indptr, indices, data = random_csr(rng, 40, 60, lengths, dtype)
        x = rng.uniform(-1, 1, 60).astype(dtype)
        y = spmv_csr_numba(indptr, indices, data, x, out=np.full(40, np.nan, dtype))
        want = dense_of(indptr, indices, data, 60) @ x.astype(np.float64)
        err = rel_err(y, want)
        assert err < (1e-6 if dtype == np.float32 else 1e-12), err
    print("OK")
""")


def test_numba_spmv_under_simulator(rng):
    pytest.importorskip("numba")
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    code = SCRIPT.format(root=str(ROOT), here=str(Path(__file__).parent),
                         seed=int(rng.integers(2**31)))
    proc = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True,
                          text=True, timeout=120)
    assert proc.returncode == 0 and "OK" in proc.stdout, proc.stdout + proc.stderr
