"""pytest plugin for the CuPy stand-in (see cupy/__init__.py): the Philox generator's
CUDA kernel replaced by its NumPy reference, which the stand-in cannot compile."""
import cupy
import minigrad.kernels._cuda as _c
from minigrad.kernels import reference


def philox_fill(kind, n, seed, offset, range_=None):
    return cupy.asarray(reference.philox_fill(kind, n, seed, offset, range_))


_c.philox_fill = philox_fill


# The GPU convolutions' kernels and cuBLAS call (minigrad.nn.conv_device), batch norm's
# channel sums and elementwise kernels replaced by their NumPy twins (the last two as
# tests/nn/test_norm.py emulates them), on the stand-in's arrays, and ReLU's gradient
# kernel by its formula: the CuPy-array code around them runs under the stand-in.
import minigrad.kernels as _kernels  # noqa: E402
import numpy  # noqa: E402
from minigrad.kernels import cublas_gemm as _gemm  # noqa: E402

import minigrad.amp.autocast_mode as _autocast  # noqa: E402
import minigrad.nn.normalization as _normalization  # noqa: E402
import minigrad.ops.activation as _activation  # noqa: E402
import minigrad.optim.fused as _fused_optim  # noqa: E402


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
_gemm.gemm = _on_host(_gemm.gemm_reference)


def _relu_grad_kernel():
    return lambda g, x: cupy.where(x > 0, g, 0).astype(g.dtype)


_activation._relu_grad_kernel = _relu_grad_kernel


def _bn_kernels_on_host(*dtypes):
    from tests.nn.test_norm import _emulated_bn_kernels

    return {name: _on_host(kernel) for name, kernel in _emulated_bn_kernels(*dtypes).items()}


def _bn_running_kernel_on_host(acc_dtype, r_dtype):
    from tests.nn.test_norm import _emulated_running_kernel

    update = _emulated_running_kernel(numpy.dtype(acc_dtype), r_dtype)

    def run(mu, var, one_minus_m, m, unbias, rm, rv):  # updates rm, rv in place
        rm_h, rv_h = rm.get(), rv.get()
        update(mu.get(), var.get(), one_minus_m, m, unbias, rm_h, rv_h)
        rm[...], rv[...] = cupy.asarray(rm_h), cupy.asarray(rv_h)
    return run


_normalization._bn_kernels = _bn_kernels_on_host
_normalization._bn_running_kernel = _bn_running_kernel_on_host


# The tensor-core GEMMs (autocast's 2-D half products) by their twin; no Hopper here.
_kernels.hgemm = _on_host(reference.hgemm)
_autocast._is_sm90 = lambda device_id: False


def _fused_program_kernel(self, dtype):
    """A fused optimizer Program's kernel as its NumPy evaluation (run_numpy), with the
    ElementwiseKernel's calling order: inputs, scalars, in-outs (updated in place)."""
    def call(*args):
        ni, ns = len(self.inputs), len(self.scalars)
        inputs, scalars, inouts = args[:ni], args[ni:ni + ns], args[ni + ns:]
        arrays = {n: a.get() for n, a in zip(self.inputs + self.inouts, inputs + inouts)}
        self.run_numpy(arrays, dict(zip(self.scalars, scalars)))
        for n, a in zip(self.inouts, inouts):
            a[...] = cupy.asarray(arrays[n])
    return call


_fused_optim.Program.kernel = _fused_program_kernel
