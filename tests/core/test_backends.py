"""mg.backends: PyTorch's TF32 switches (defaults, refusals), the TF32 rounding the cuBLAS
twin models, and TF32 convolutions through the GPU path (its NumPy twin here; cuBLAS on a
GPU)."""
import numpy as np
import pytest
from minigrad.kernels import cublas_gemm

import minigrad as mg
from minigrad import backends
from minigrad.nn import conv_device


def test_defaults_are_pytorchs_and_only_booleans_are_taken():
    import importlib

    fresh = importlib.reload(backends)  # the module's own defaults (conftest turns one off)
    try:
        assert fresh.cudnn.allow_tf32 is True and fresh.cuda.matmul.allow_tf32 is False
        assert "allow_tf32=True" in repr(fresh.cudnn)
    finally:
        fresh.cudnn.allow_tf32 = False  # the test suite's setting, restored by conftest
    with pytest.raises(TypeError, match="must be True or False"):
        backends.cudnn.allow_tf32 = 1
    with pytest.raises(AttributeError, match="has no attribute 'benchmark_limit'"):
        backends.cudnn.benchmark_limit = 3
    assert mg.backends is backends


def test_tf32_rounding_keeps_ten_mantissa_bits_to_nearest_even():
    x = np.array([1 + 2 ** -10, 1 + 2 ** -11, 1 + 3 * 2 ** -11, 1 + 2 ** -11 + 2 ** -20,
                  -(1 + 2 ** -11), np.inf, -np.inf, np.nan, 0.0, 3.0e38], np.float32)
    got = cublas_gemm.round_to_tf32(x)
    want = [1 + 2 ** -10, 1.0, 1 + 2 ** -9, 1 + 2 ** -10, -1.0, np.inf, -np.inf, np.nan, 0.0]
    np.testing.assert_array_equal(got[:9], np.array(want, np.float32))
    assert np.isfinite(got[9]) or got[9] == np.inf  # near the top: rounds up to inf or not
    assert got.dtype == np.float32


def test_tf32_changes_float32_convolutions_only(device):
    """On the GPU path (its NumPy twin on the CPU; cuBLAS on a GPU): float32 convolutions
    exact with TF32 off, within TF32's error of float64 (and not exact) with it on;
    float64 convolutions untouched."""
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((4, 16, 12, 12)), dtype=mg.float32, device=device)
    w = mg.tensor(rng.standard_normal((8, 16, 3, 3)), dtype=mg.float32, device=device)

    def conv(a, b):
        return mg.nn.functional.conv2d(a, b, padding=1).cpu().numpy()

    with conv_device.reference_on_cpu():  # (on a GPU the path is taken anyway)
        want = conv(x.double(), w.double())
        exact = conv(x, w)
        backends.cudnn.allow_tf32 = True
        tf32 = conv(x, w)
        again64 = conv(x.double(), w.double())
    scale = np.abs(want).max()
    assert np.abs(exact - want).max() < 1e-5 * scale
    assert 1e-5 * scale < np.abs(tf32 - want).max() < 1e-2 * scale
    np.testing.assert_array_equal(again64, want)  # float64 untouched


def test_float32_matmul_precision_is_pytorchs_switch_for_matmul_tf32():
    assert mg.get_float32_matmul_precision() == "highest"
    try:
        mg.set_float32_matmul_precision("high")
        assert backends.cuda.matmul.allow_tf32 and mg.get_float32_matmul_precision() == "high"
        mg.set_float32_matmul_precision("medium")
        assert backends.cuda.matmul.allow_tf32
        mg.set_float32_matmul_precision("highest")
        assert not backends.cuda.matmul.allow_tf32
        with pytest.raises(ValueError, match="must be one of highest, high, medium"):
            mg.set_float32_matmul_precision("low")
    finally:
        backends.cuda.matmul.allow_tf32 = False


@pytest.mark.gpu
def test_float32_matmul_uses_tf32_on_a_gpu_only_when_asked():
    rng = np.random.default_rng(2)
    a = mg.tensor(rng.standard_normal((64, 300)), dtype=mg.float32, device="cuda")
    b = mg.tensor(rng.standard_normal((300, 48)), dtype=mg.float32, device="cuda")
    want = (a.double() @ b.double()).cpu().numpy()
    exact = (a @ b).cpu().numpy()
    try:
        mg.set_float32_matmul_precision("high")
        tf32 = (a @ b).cpu().numpy()
    finally:
        mg.set_float32_matmul_precision("highest")
    scale = np.abs(want).max()
    assert np.abs(exact - want).max() < 1e-5 * scale
    assert 1e-6 * scale < np.abs(tf32 - want).max() < 1e-2 * scale
