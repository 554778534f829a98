"""Importing minigrad keeps freed step-sized buffers for reuse (glibc): a loop that
allocates and frees the same few-MB arrays takes no page faults after its first round,
unless the user set glibc's own malloc variables, which are then left in charge."""
import os
import platform
import subprocess
import sys

import pytest

pytestmark = pytest.mark.skipif(
    platform.system() != "Linux" or platform.libc_ver()[0] != "glibc", reason="glibc only")

# The allocation pattern of a training step: arrays of 2-6 MB, allocated and freed each round.
PROBE = """
import resource, sys
import numpy as np
if sys.argv[1] == "minigrad":
    import minigrad

def step():
    arrays = [np.ones(n) for n in (300_000, 700_000, 250_000, 500_000)]
    del arrays

for _ in range(3):
    step()
before = resource.getrusage(resource.RUSAGE_SELF).ru_minflt
for _ in range(20):
    step()
print((resource.getrusage(resource.RUSAGE_SELF).ru_minflt - before) / 20)
"""


def _faults_per_step(importing, **env):
    clean = {k: v for k, v in os.environ.items()
             if k not in ("MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "GLIBC_TUNABLES")}
    out = subprocess.run([sys.executable, "-c", PROBE, importing], capture_output=True,
                         text=True, check=True, timeout=120, env={**clean, **env}).stdout
    return float(out)


@pytest.fixture(scope="module")
def faulting_glibc():
    baseline = _faults_per_step("numpy")
    if baseline < 500:  # glibc's defaults give fresh pages every round where we know them
        pytest.skip(f"this glibc reuses the memory by itself ({baseline} faults per round)")


def test_import_removes_the_page_faults_of_a_repeated_step(faulting_glibc):
    assert _faults_per_step("minigrad") < 10


def test_the_users_own_malloc_settings_win(faulting_glibc):
    # trim everything: with the user's setting respected, the faults stay
    assert _faults_per_step("minigrad", MALLOC_TRIM_THRESHOLD_="0") > 500
