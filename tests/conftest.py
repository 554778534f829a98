"""Shared test set-up: hypothesis profiles and the device parameterization.

Every device-dependent test takes the ``device`` fixture, which runs it on "cpu" and on
"cuda" (the latter marked ``gpu`` and skipped without CuPy and a device): one test
tree, no copied GPU suite.
"""
import os

import pytest
from hypothesis import HealthCheck, settings

import minigrad as mg
from minigrad._backend import cuda_available

# The ``device`` fixture is a plain string and the seeding fixture is idempotent, so
# sharing them across hypothesis examples is safe.
_SUPPRESS = [HealthCheck.too_slow, HealthCheck.data_too_large,
             HealthCheck.function_scoped_fixture]

settings.register_profile(
    "ci", max_examples=25, deadline=None, derandomize=True,
    suppress_health_check=_SUPPRESS,
)
settings.register_profile(
    # a GPU run on a short device budget (benchmarks/gpu_all.sh with HYPOTHESIS_PROFILE=gpu)
    "gpu", max_examples=8, deadline=None, derandomize=True,
    suppress_health_check=_SUPPRESS,
)
settings.register_profile(
    "dev", max_examples=60, deadline=None,
    suppress_health_check=_SUPPRESS,
)
settings.register_profile(
    "thorough", max_examples=500, deadline=None,
    suppress_health_check=_SUPPRESS,
)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "ci"))

_CUDA = cuda_available()

DEVICES = [
    "cpu",
    pytest.param("cuda", marks=[
        pytest.mark.gpu,
        pytest.mark.skipif(not _CUDA, reason="needs CuPy and a CUDA device"),
    ]),
]


@pytest.fixture(params=DEVICES)
def device(request):
    return request.param


@pytest.fixture(params=["float16", pytest.param("bfloat16", marks=pytest.mark.skipif(
    mg.bfloat16 is None, reason="no bfloat16 dtype (ml_dtypes)"))])
def half_dtype(request):
    """Each half-precision dtype (mg.float16, mg.bfloat16), for tests that hold for both
    (bfloat16 on CUDA where CuPy has it: CuPy 14 and later, with ml_dtypes)."""
    if request.param == "bfloat16" and "device" in request.fixturenames and \
            request.getfixturevalue("device") == "cuda" and not mg.cuda.is_bf16_supported():
        pytest.skip("this CuPy has no bfloat16 arrays")
    return getattr(mg, request.param)


@pytest.fixture(autouse=True)
def _seed():
    mg.manual_seed(0)
    yield


@pytest.fixture(autouse=True)
def _exact_float32_convolutions():
    """TF32 off for CUDA convolutions, as PyTorch's own test suite does, so float32 results
    compare tightly (mg.backends; tests of TF32 switch it on themselves)."""
    from minigrad import backends

    before = backends.cudnn.allow_tf32
    backends.cudnn.allow_tf32 = False
    yield
    backends.cudnn.allow_tf32 = before


def pytest_collection_modifyitems(config, items):
    # A test marked gpu by hand (not through the fixture) skips without a device too.
    if _CUDA:
        return
    skip = pytest.mark.skip(reason="needs CuPy and a CUDA device")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)
