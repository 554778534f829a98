"""Shared set-up for the kernel tests: fresh random data per run, seed printed."""
import pytest


@pytest.fixture
def rng(request):
    """Fresh random data every run (never zeros); the seed is printed on failure."""
    import numpy as np

    seed = int(np.random.SeedSequence().entropy % 2**32)
    request.node.user_properties.append(("seed", seed))
    print(f"seed={seed}")
    return np.random.default_rng(seed)
