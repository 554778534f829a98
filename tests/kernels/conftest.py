"""Shared set-up for the kernel tests: fresh random data per run, seed printed."""
import pytest


@pytest.fixture
def rng(request):
    """Fresh random data every run (never zeros); the seed is printed on failure, and
    ``MINIGRAD_TEST_SEED=<seed>`` replays it."""
    import os

    import numpy as np

    seed = os.environ.get("MINIGRAD_TEST_SEED")
    seed = int(seed) if seed else int(np.random.SeedSequence().entropy % 2**32)
    request.node.user_properties.append(("seed", seed))
    print(f"seed={seed}")
    return np.random.default_rng(seed)


def _cuda_or_host():
    return [pytest.param("cuda", marks=pytest.mark.gpu), "host"]


@pytest.fixture(params=_cuda_or_host())
def cp(request, monkeypatch):
    """The array module of a kernel test, twice: CuPy on a GPU, and NumPy with the kernels'
    own CUDA text run on the CPU (``cuda_host.host_launchers``: minigrad.kernels' launchers
    unchanged, their kernels compiled by g++ with cuda_host.h). A test the host cannot run
    (a kernel with inline PTX of its own, a benchmark, sizes it would take minutes on) takes
    only the first: ``@CUDA_ONLY``. (The wgmma tests have their own, sm_90, fixture:
    wgmma_testing.cp.) (Each half skips
    where it cannot run, decided here, not at import: importing this file loads no GPU
    library.)"""
    if request.param == "cuda":
        from minigrad import _backend

        if not _backend.cuda_available():
            pytest.skip("needs CuPy and a CUDA device")
        return _backend.cupy()
    from .cuda_host import HOST_CUPY, available, host_launchers

    if not available():
        pytest.skip("g++ not found: the host run needs it")
    host_launchers(monkeypatch)
    return HOST_CUPY


def on_host(cp) -> bool:
    """Whether ``cp`` (the fixture) is the host run: every thread a fiber on one CPU core,
    so a test draws smaller sizes there (the same code paths)."""
    from .cuda_host import is_host

    return is_host(cp)


#: A ``cp`` test for the GPU only (inline PTX of its own, a PTX benchmark, or sizes the host
#: would take minutes on).
CUDA_ONLY = pytest.mark.parametrize("cp", _cuda_or_host()[:1], indirect=True)
