r"""The 2-D convolution's three maps on a GPU, in two or three launches each.

The CPU path of :mod:`minigrad.nn.conv` builds its columns from a zero-padded copy of the
input through a strided view, which on a GPU costs a memset and two strided copies per
convolution, then transposes the product into y, and ``cupy.matmul`` copies the transposed
columns of the weight gradient (nine times the input for a 3×3 kernel) and adds float32
casts of both operands under autocast. Profiled on an H200 (stop 16), those copies were
half of the GPU time of a small ResNet's training step (112 copy kernels, 2.9 of 5.8 ms).
Here each map is a few launches, with the columns read straight from the unpadded image
(K = C·kh·kw, P = Ho·Wo)::

    forward        cols = im2col(x)                     (K, N, P)    one kernel
                   y[n] = Wmat @ cols[:, n, :]          (N, O, P)    one strided-batched GEMM
    weight grad    gY = gy as (O, N·P)                               one transposing copy
                                                                     (none when gy comes
                                                                     channel-major, as
                                                                     batch norm writes it)
                   gW = gY @ colsᵀ                      (O, K)       one GEMM, colsᵀ as op T
    input grad     gcols[n] = Wmatᵀ @ gy[n]             (N, K, P)    one strided-batched GEMM
                   gx = col2im(gcols)                   (N, C, H, W) one kernel (a gather)

with ``im2col``/``col2im`` of ``kernels/im2col.cu`` and the products by
:mod:`minigrad.kernels.cublas_gemm` (cuBLAS called directly: transposed views and the
broadcast weight are passed by stride, never copied; half operands give a half result of
float32 sums; float32 ones use TF32 tensor cores while ``mg.backends.cudnn.allow_tf32``,
PyTorch's default for convolutions). The forward's columns are kept for the weight
gradient, as on the CPU.

Used on CUDA tensors for ``groups == 1`` (grouped convolutions keep the CuPy-array path:
their batch would need two strides) while ``cublas_gemm.direct_enabled()`` (default; turn
it off with ``with cublas_gemm.direct_gemm(False):`` to compare). The same code runs on
NumPy arrays with the kernels' NumPy twins (``reference.im2col``/``col2im``/
``gemm_reference``): ``reference_on_cpu()`` switches that on, and the convolution tests run
every case through it, so the layouts, the plans and the index arithmetic are tested in CI;
only the kernels' CUDA code and the cuBLAS call itself need the GPU.
"""
from __future__ import annotations

import math

import numpy as np

from .. import backends, kernels
from .._backend import Switch
from ..kernels import cublas_gemm, reference

__all__ = ["applies", "forward", "grad_weight", "grad_input", "reference_on_cpu"]

class reference_on_cpu(Switch):
    """Run this path on NumPy arrays too, with the kernels' NumPy twins (for tests)."""

    _state = {"on": False}


def applies(xp, spec) -> bool:
    """Whether a convolution of ``spec`` on arrays of ``xp`` takes this path."""
    return (spec.groups == 1 and cublas_gemm.direct_enabled()
            and (xp is not np or reference_on_cpu.enabled()))


def _ops(xp):
    """(im2col, col2im, gemm): the CUDA kernels and cuBLAS, or their NumPy twins."""
    if xp is np:
        return reference.im2col, reference.col2im, cublas_gemm.gemm_reference
    return kernels.im2col, kernels.col2im, cublas_gemm.gemm


def _tf32(dtype) -> bool:
    """TF32 products for float32 convolutions while ``mg.backends.cudnn.allow_tf32`` (on by
    default, as PyTorch's cuDNN convolutions)."""
    return dtype == np.float32 and backends.cudnn.allow_tf32


def _geometry(s, out_size):
    return ((s.kh, s.kw), (s.sh, s.sw), (s.pt, s.pl), (s.dh, s.dw), out_size)


def forward(xp, x, w, s):
    """(y, cols): y = conv(x, w) (N, O, Ho, Wo) and the columns (K, N, P) it used."""
    im2col, _, gemm = _ops(xp)
    N, _, H, W = x.shape
    O = w.shape[0]
    Ho, Wo = s.out_size(H, W)
    cols = im2col(xp.ascontiguousarray(x), *_geometry(s, (Ho, Wo)))
    K = math.prod(w.shape[1:])
    y = gemm(w.reshape(O, K), cols.transpose(1, 0, 2), tf32=_tf32(x.dtype))  # (N, O, P)
    return y.reshape(N, O, Ho, Wo), cols


def grad_weight(xp, x, gy, w_shape, s, cols=None, add_to=None):
    """gW = gY @ colsᵀ over all N·P pixels, gY = gy as (O, N·P) (one copy of gy, unless
    it is laid out so already: see ``_ConvFunction.wants_channel_major_grad``); the
    forward's ``cols`` when given, else im2col(x). One rounding of float32 sums.
    ``add_to``: a C-contiguous array of ``w_shape`` (a leaf weight's ``.grad``) that gW is
    added into by the GEMM (β = 1), and returned."""
    im2col, _, gemm = _ops(xp)
    N, _, H, W = x.shape
    O = gy.shape[1]
    Ho, Wo = gy.shape[2:]
    K = math.prod(w_shape[1:])
    if cols is None or cols.shape != (K, N, Ho * Wo):
        cols = im2col(xp.ascontiguousarray(x), *_geometry(s, (Ho, Wo)))
    gY = xp.ascontiguousarray(gy.reshape(N, O, Ho * Wo).transpose(1, 0, 2))
    gw = gemm(gY.reshape(O, N * Ho * Wo), cols.reshape(K, N * Ho * Wo).T, tf32=_tf32(gy.dtype),
              add_to=None if add_to is None else add_to.reshape(O, K))
    return gw.reshape(w_shape)


def grad_input(xp, gy, w, x_shape, s):
    """gx = col2im(gcols), gcols[n] = Wmatᵀ @ gy[n] (the broadcast transposed weight passed
    by stride: no copy)."""
    _, col2im, gemm = _ops(xp)
    N = x_shape[0]
    O = w.shape[0]
    Ho, Wo = gy.shape[2:]
    K = math.prod(w.shape[1:])
    gcols = gemm(w.reshape(O, K).T, gy.reshape(N, O, Ho * Wo), tf32=_tf32(gy.dtype))
    return col2im(gcols, x_shape, *_geometry(s, (Ho, Wo)))
