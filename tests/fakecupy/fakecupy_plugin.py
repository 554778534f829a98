"""pytest plugin for the CuPy stand-in (see cupy/__init__.py): some of minigrad's compiled
CUDA kernels replaced by their NumPy twins, the ones a training step launches most (the
stand-in runs any other RawModule or ElementwiseKernel by its own CUDA text on the host,
tests/kernels/cuda_host.py, which is exact but slower; the SpMV kernels run that way).
Each emulated kernel counts as one launch (``cupy.launches``, "kernel:<name>"), its NumPy
work not."""
import inspect
import time

import cupy
import minigrad.kernels._cuda as _c
from minigrad.kernels import reference

#: Seconds spent inside emulated kernels (their NumPy twins): what a GPU would run, so
#: that a step's host time can be told apart from it (count_launches.py --host).
emulated_seconds = [0.0]


def _one_launch(name, run):
    """``run`` counted as the single kernel ``name``, whatever the stand-in does inside."""
    def launch(*args, **kwargs):
        t0 = time.perf_counter()
        with cupy.quiet():
            out = run(*args, **kwargs)
        emulated_seconds[0] += time.perf_counter() - t0
        cupy._launch("kernel:" + name)
        return out
    return launch


def philox_fill(kind, n, seed, offset, range_=None):
    return cupy.asarray(reference.philox_fill(kind, n, seed, offset, range_))


_c.philox_fill = _one_launch("philox", philox_fill)


# The GPU convolutions' kernels and cuBLAS call (minigrad.nn.conv_device), batch norm's
# channel sums and elementwise kernels replaced by their NumPy twins (the last two as
# tests/nn/test_norm.py emulates them), on the stand-in's arrays, and ReLU's gradient
# kernel by its formula: the CuPy-array code around them runs under the stand-in.
import minigrad.kernels as _kernels  # noqa: E402
import numpy  # noqa: E402
from minigrad.kernels import cublas_gemm as _gemm  # noqa: E402

import minigrad.nn.normalization as _normalization  # noqa: E402
import minigrad.ops.activation as _activation  # noqa: E402
import minigrad.optim.fused as _fused_optim  # noqa: E402


def _host(a):
    """A device array's NumPy copy; anything else as it is."""
    return a.get() if isinstance(a, cupy.ndarray) else a


def _on_host(twin, name):
    def run(*args, **kwargs):
        out = twin(*map(_host, args), **{k: _host(v) for k, v in kwargs.items()})
        return tuple(map(cupy.asarray, out)) if isinstance(out, tuple) else cupy.asarray(out)
    return _one_launch(name, run)


_kernels.im2col = _on_host(reference.im2col, "im2col")
_kernels.col2im = _on_host(reference.col2im, "col2im")
_kernels.bn_channel_sums = _on_host(reference.bn_channel_sums, "bn_channel_sums")
def _gemm_on_host(a, b, out_dtype=None, tf32=False, add_to=None):
    """gemm by its twin; ``add_to`` (a device array) updated in place and returned."""
    out = _gemm.gemm_reference(a.get(), b.get(), out_dtype, tf32,
                               None if add_to is None else add_to.get())
    if add_to is None:
        return cupy.asarray(out)
    add_to[...] = cupy.asarray(out)
    return add_to


_gemm.gemm = _one_launch("cublas_gemm", _gemm_on_host)


def _replace_factory(module, name, twin):
    """``module.name`` (a memoized kernel factory) ← ``twin``, the real factory kept
    reachable as ``twin.__wrapped__`` (the tests that build the real kernels' CUDA text,
    to compile or to run it on the host, call that)."""
    real = getattr(module, name)
    twin.__wrapped__ = getattr(real, "__wrapped__", real)
    setattr(module, name, twin)


def _relu_grad_kernel():
    return _one_launch("relu_grad", lambda g, x: cupy.where(x > 0, g, 0).astype(g.dtype))


_replace_factory(_activation, "_relu_grad_kernel", _relu_grad_kernel)


def _in_place_on_host(twin, name, n_out):
    """A kernel that writes its last ``n_out`` arguments (device arrays) in place."""
    def run(*args):
        host = [_host(a) for a in args]
        twin(*host)
        for a, h in zip(args[-n_out:], host[-n_out:]):
            a[...] = cupy.asarray(h)
    return _one_launch(name, run)


def _bn_kernels_on_host(*dtypes):
    from tests.nn.test_norm import _emulated_bn_kernels

    kernels = _emulated_bn_kernels(*dtypes)  # the backward kernels write given outputs
    return {"backward_into": _in_place_on_host(kernels["backward_into"], "bn_backward", 3),
            "backward": _in_place_on_host(kernels["backward"], "bn_backward", 1),
            "forward": _on_host(kernels["forward"], "bn_forward")}


def _bn_running_kernel_on_host(acc_dtype, r_dtype, counted=False):
    from tests.nn.test_norm import _emulated_running_kernel

    update = _emulated_running_kernel(numpy.dtype(acc_dtype), r_dtype, counted)

    # updates rm, rv (batches) in place
    return _in_place_on_host(update, "bn_running", 3 if counted else 2)


def _bn_forward_running_kernel_on_host(*dtypes):
    from tests.nn.test_norm import _emulated_forward_running_kernel

    counted = dtypes[-1]  # outputs x̂, y, rm, rv (batches) written in place
    return _in_place_on_host(_emulated_forward_running_kernel(*dtypes), "bn_forward",
                             5 if counted else 4)


_replace_factory(_normalization, "_bn_kernels", _bn_kernels_on_host)
_replace_factory(_normalization, "_bn_running_kernel", _bn_running_kernel_on_host)
_replace_factory(_normalization, "_bn_forward_running_kernel", _bn_forward_running_kernel_on_host)


def _launcher_twin(twin, name):
    """``twin`` run on the host for device arguments; host arrays are refused by argument
    name, as the launcher it stands in for refuses them (``_cuda._require_device``), after
    the twin's own validation (the launcher's order: shapes and dtypes first)."""
    signature, launch = inspect.signature(twin), _on_host(twin, name)

    def run(*args, **kwargs):
        host = {k: v for k, v in signature.bind(*args, **kwargs).arguments.items()
                if isinstance(v, numpy.ndarray)}
        if host:
            twin(*args, **kwargs)  # its validation errors come first
            _c._require_device(**host)
        return launch(*args, **kwargs)
    return run


# The tensor-core GEMMs (autocast's 2-D half products) by their twin; no Hopper here.
_kernels.hgemm = _launcher_twin(reference.hgemm, "hgemm")
_kernels.mm_24 = _launcher_twin(reference.mm_24, "mm24")  # Linear24's half products
_c._is_sm90 = lambda device_id: False  # (kernels.wgmma_worth_it: autocast's, Linear24's)


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
    return _one_launch("fused_optimizer", call)


_fused_optim.Program.kernel = _fused_program_kernel


# The row kernels of minigrad.ops.fused (log-sum-exp rows; cross-entropy rows) by NumPy.
import minigrad.ops.fused as _fused_ops  # noqa: E402


def _lse(x):
    return _fused_ops._lse_rows(numpy, x)  # the NumPy form of the same rows


def _lse_rows(grid, block, args):
    x, C, lse = args
    lse[...] = cupy.asarray(_lse(x.get()))


def _ce_rows(grid, block, args):
    x, t, C, ignore, one_minus_eps, eps_over_C, lse, rows = args
    x, t = x.get(), t.get()
    lse_h, rows_h = _fused_ops._ce_rows_numpy(x, t, t != ignore, one_minus_eps, eps_over_C)
    lse[...] = cupy.asarray(lse_h)
    rows[...] = cupy.asarray(rows_h)


def _ce_reduce(grid, block, args):
    rows, t, N, ignore, mean, out, count = args
    rows, t = rows.get(), t.get()
    assert rows.shape == t.shape == (N,) and block == (_fused_ops._CE_REDUCE_THREADS,)
    kept = numpy.int64((t != ignore).sum())
    with numpy.errstate(invalid="ignore", divide="ignore"):
        total = rows.sum(dtype=rows.dtype)
        out[...] = cupy.asarray(total / rows.dtype.type(kept) if mean else total)
    count[...] = cupy.asarray(kept)


class _RowModule:
    def get_function(self, name):
        kind = name.split("<")[0]
        run = {"lse_rows": _lse_rows, "ce_rows": _ce_rows, "ce_reduce": _ce_reduce}[kind]
        return _one_launch(kind, run)


_replace_factory(_fused_ops, "_row_module", _RowModule)


def _ce_grad_kernel(x_dtype, acc_dtype, t_dtype, count_dtype):
    """The cross-entropy VJP's elementwise kernel by the CPU path's own formula, with
    CuPy's type check of its declared array arguments."""
    def run(x, lse, t, gy, count, ignore, one_minus_eps, eps_over_C, C):
        for a, d in ((x, x_dtype), (lse, acc_dtype), (t, t_dtype), (gy, x_dtype),
                     (count, count_dtype)):
            assert not isinstance(a, cupy.ndarray) or a.dtype == d, (a.dtype, d)
        x, lse, t, gy, count = (_host(a) for a in (x, lse, t, gy, count))
        assert t.shape == (x.shape[0], 1) and C == x.shape[1]
        return cupy.asarray(_fused_ops._ce_grad(numpy, x, lse, t[:, 0], gy, count, ignore,
                                                one_minus_eps, eps_over_C))
    return _one_launch("ce_grad", run)


_replace_factory(_fused_ops, "_ce_grad_kernel", _ce_grad_kernel)


def _acc(dtype):
    return numpy.float64 if numpy.dtype(dtype) == numpy.float64 else numpy.float32


def _bias_act_kernel(activation, items, x_dtype, b_dtype, y_dtype):
    """act(x + b) (act(x) for ``b_dtype=None``) as the kernel computes it: in float32
    (float64 for a float64 result), rounded once to the result's dtype; the activation by
    its NumPy forward (fused.act_reference)."""
    acc = _acc(y_dtype)

    def run(x, b=None):
        assert x.dtype == x_dtype and (b is None) == (b_dtype is None)
        z = x.get().astype(acc)
        if b is not None:
            assert b.dtype == b_dtype
            z = z + b.get().astype(acc)
        return cupy.asarray(_fused_ops.act_reference(activation, items, z).astype(y_dtype))
    return _one_launch("bias_act" if b_dtype is not None else activation, run)


def _act_grad_kernel(activation, items, v_dtype, g_dtype):
    """gx = gy·act′(v) as the kernel computes it: in float32 (float64 for float64 gy),
    rounded once; act′ by the activation's CPU VJP on the widened input (or output, for
    sigmoid and tanh): fused.act_derivative_reference."""
    acc = _acc(g_dtype)

    def run(v, gy):
        assert v.dtype == v_dtype and gy.dtype == g_dtype
        d = _fused_ops.act_derivative_reference(activation, items, v.get().astype(acc))
        with numpy.errstate(all="ignore"):
            return cupy.asarray((gy.get().astype(acc) * d).astype(g_dtype))
    return _one_launch(activation + "_grad", run)


_replace_factory(_fused_ops, "_bias_act_kernel", _bias_act_kernel)
_replace_factory(_fused_ops, "_act_grad_kernel", _act_grad_kernel)


# GradScaler's unscale-and-check kernel by its formula.
import minigrad.amp.grad_scaler as _grad_scaler  # noqa: E402


def _unscale(inv_scale, g, found):
    g[...] = (g.astype(numpy.float64) * numpy.float64(inv_scale)).astype(g.dtype)
    if not bool(cupy.isfinite(g).all()):
        found[0] = 1


_replace_factory(_grad_scaler, "_unscale_kernel", lambda: _one_launch("amp_unscale", _unscale))
