"""pytest plugin for the CuPy stand-in (see cupy/__init__.py): the Philox generator's
CUDA kernel replaced by its NumPy reference, which the stand-in cannot compile."""
import cupy
import minigrad.kernels._cuda as _c
from minigrad.kernels import reference


def philox_fill(kind, n, seed, offset, range_=None):
    return cupy.asarray(reference.philox_fill(kind, n, seed, offset, range_))


_c.philox_fill = philox_fill


# The GPU convolutions' kernels and cuBLAS call (minigrad.nn.conv_device) and batch norm's
# channel sums replaced by their NumPy twins, on the stand-in's arrays, and ReLU's gradient
# kernel by its formula: the CuPy-array code around them runs under the stand-in.
import minigrad.kernels as _kernels  # noqa: E402
import numpy  # noqa: E402
from minigrad.kernels import cublas_gemm as _gemm  # noqa: E402

import minigrad.ops.activation as _activation  # noqa: E402


def _on_host(twin):
    def host(a):
        return a.get() if isinstance(a, cupy.ndarray) else a

    def run(*args, **kwargs):
        out = twin(*map(host, args), **{k: host(v) for k, v in kwargs.items()})
        return tuple(map(cupy.asarray, out)) if isinstance(out, tuple) else cupy.asarray(out)
    return run


_kernels.im2col = _on_host(reference.im2col)
_kernels.col2im = _on_host(reference.col2im)
_kernels.bn_channel_sums = _on_host(reference.bn_channel_sums)
_gemm.gemm = _on_host(lambda a, b, out_dtype=None, tf32=False: _gemm.reference_gemm(
    _gemm.plan_gemm(numpy, a, b), _gemm.gemm_out_dtype(a.dtype, out_dtype), tf32))


def _relu_grad_kernel():
    return lambda g, x: cupy.where(x > 0, g, 0).astype(g.dtype)


_activation._relu_grad_kernel = _relu_grad_kernel
