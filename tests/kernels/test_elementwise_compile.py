"""minigrad's ``cupy.ElementwiseKernel`` bodies compile (nvcc, sm_80; skipped where nvcc is
absent): batch norm's forward (alone and with the running statistics), backward,
backward into the parameters' .grad and running-statistics kernels, the cross-entropy
VJP, ReLU's gradient and GradScaler's unscale, for every dtype combination minigrad
builds them with, each in a kernel shaped as CuPy builds it
(tests/kernels/elementwise_cuda.py). On a machine without a GPU this is what catches a
body that CuPy would refuse to compile at its first launch."""
import itertools
import shutil

import numpy as np
import pytest

from minigrad import _backend
from minigrad.amp import grad_scaler
from minigrad.nn import normalization
from minigrad.ops import activation, fused

from .elementwise_cuda import Recorder, kernel_source, nvcc_errors

pytestmark = pytest.mark.skipif(shutil.which("nvcc") is None, reason="nvcc not found")

FLOATS = ("float16", "float32", "float64")


def _acc(dtype):
    return "float64" if dtype == "float64" else "float32"


def _recorded(monkeypatch):
    recorder = Recorder()
    monkeypatch.setattr(_backend, "cupy", recorder)
    return recorder


def test_batch_norm_kernels_compile(monkeypatch, tmp_path):
    recorder = _recorded(monkeypatch)
    for x, p in itertools.product(FLOATS, FLOATS):
        y = normalization._bn_out_dtype(np.empty(0, x), np.empty(0, p), np.empty(0, p))
        normalization._bn_kernels.__wrapped__(x, _acc(x), y, p)
        for counted in (False, True):
            normalization._bn_running_kernel.__wrapped__(_acc(x), p, counted)
            normalization._bn_forward_running_kernel.__wrapped__(x, _acc(x), y, p, p, counted)
    names = {k.name for k in recorder.kernels}
    assert names == {"minigrad_bn_forward", "minigrad_bn_backward",
                     "minigrad_bn_backward_into", "minigrad_bn_running",
                     "minigrad_bn_running_counted", "minigrad_bn_forward_running",
                     "minigrad_bn_forward_running_counted"}
    sources = [kernel_source(k, i) for i, k in enumerate(recorder.kernels)]
    assert nvcc_errors(sources, tmp_path) == ""


def test_cross_entropy_gradient_kernel_compiles(monkeypatch, tmp_path):
    recorder = _recorded(monkeypatch)
    for x, t in itertools.product(FLOATS, ("int64", "int32")):
        fused._ce_grad_kernel.__wrapped__(np.dtype(x), np.dtype(_acc(x)), np.dtype(t),
                                          np.dtype("int64"))
    sources = [kernel_source(k, i) for i, k in enumerate(recorder.kernels)]
    assert len(sources) == 6
    assert nvcc_errors(sources, tmp_path) == ""


def test_generic_kernels_compile_for_every_float_type(monkeypatch, tmp_path):
    """ReLU's gradient (T g, U x) and GradScaler's unscale (T g), type letters bound as
    CuPy binds them at a call."""
    recorder = _recorded(monkeypatch)
    relu, unscale = (f.__wrapped__() for f in (activation._relu_grad_kernel,
                                               grad_scaler._unscale_kernel))
    sources = [kernel_source(relu, f"r{i}", {"T": g, "U": x})
               for i, (g, x) in enumerate(itertools.product(FLOATS, FLOATS))]
    sources += [kernel_source(unscale, f"u{i}", {"T": g}) for i, g in enumerate(FLOATS)]
    assert len(recorder.kernels) == 2
    assert nvcc_errors(sources, tmp_path) == ""


def test_a_body_cupy_would_refuse_does_not_compile_here(tmp_path):
    """The check can fail: a remainder of a double and an undeclared name are nvcc
    errors."""
    from types import SimpleNamespace

    bad = SimpleNamespace(in_params="float64 x", out_params="float16 y",
                          operation="y = x % 2", name="bad", preamble="")
    assert "integral" in nvcc_errors([kernel_source(bad, 0)], tmp_path)
    bad.operation = "y = z"
    assert "undefined" in nvcc_errors([kernel_source(bad, 1)], tmp_path)
