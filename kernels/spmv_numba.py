r"""CSR SpMV as a Numba ``@cuda.jit`` kernel: one thread per row.

The simplest correct GPU SpMV, written in Python so that it runs unchanged on a GPU and under
the CUDA simulator (``NUMBA_ENABLE_CUDASIM=1``, which CI uses: slow, exact logic).

Math: ``y[r] = sum_{k=indptr[r]}^{indptr[r+1]-1} data[k] * x[indices[k]]``.
Thread -> data: thread ``r = blockIdx.x * blockDim.x + threadIdx.x`` owns row r and adds its
nonzeros in storage order, in a float64 accumulator.
Launch: 128 threads per block, ceil(n_rows / 128) blocks.
Reference: ``minigrad.kernels.reference.spmm_csr`` with one column (same per-row order);
``reference.spmv_csr_vector`` with G = 1 would be the same too.

Example (under the simulator or on a GPU)::

    from minigrad.kernels.spmv_numba import spmv_csr_numba
    y = spmv_csr_numba(indptr, indices, data, x)      # NumPy arrays in, NumPy array out
"""
from __future__ import annotations

import functools

import numpy as np

from minigrad import _backend

THREADS = 128


cuda = None  # numba.cuda, bound on first use (the simulator swaps it inside kernels)


def _spmv_csr_thread_per_row(indptr, indices, data, x, y):
    r = cuda.grid(1)
    if r < y.shape[0]:
        s = 0.0  # float64 accumulator (Numba widens float32 products into it)
        for k in range(indptr[r], indptr[r + 1]):
            s += data[k] * x[indices[k]]
        y[r] = s


@functools.cache
def _kernel():
    """Compile on first use: importing this module does not touch numba.cuda."""
    global cuda
    cuda = _backend.numba_cuda()
    return cuda.jit(_spmv_csr_thread_per_row)


def spmv_csr_numba(indptr, indices, data, x, out=None):
    """y = A x with the Numba kernel. Host (NumPy) or device arrays; returns the same kind."""
    for name, a, kinds in (("indptr", indptr, "i"), ("indices", indices, "i"),
                           ("data", data, "f"), ("x", x, "f")):
        if a.ndim != 1:
            raise ValueError(f"{name} must be 1-D, got shape {a.shape}")
        if np.dtype(a.dtype).kind not in kinds:
            raise TypeError(f"{name} has dtype {a.dtype}")
    n_rows = indptr.shape[0] - 1
    y = out if out is not None else np.empty(n_rows, dtype=data.dtype)
    blocks = max(1, -(-n_rows // THREADS))
    _kernel()[blocks, THREADS](indptr, indices, data, x, y)
    return y
