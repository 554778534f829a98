r"""Our own CUDA kernels, callable on raw CuPy arrays, and their NumPy twins.

=================================================  ========================================
``spmv_csr(indptr, indices, data, x, out=None)``   CSR x vector: CSR-vector (G lanes per
                                                   row) or merge path, chosen by row lengths
``spmv_plan(indptr, indices, dtype)``              that choice and the partition, made once
                                                   for a matrix (``spmv_csr(..., plan=)``)
``spmm_csr(indptr, indices, data, B, out=None)``   CSR x dense matrix
``compress_24(W) -> (values, metadata)``           pack a 2:4 sparse fp16/bf16 matrix
``mm_24(values, metadata, B, out=None)``           2:4 sparse x dense on sparse tensor cores
``hgemm(A, B, out=None, out_dtype=None)``          fp16/bf16 GEMM, fp32 accumulation
``hgemm_wgmma(A, B, out=None, out_dtype=None)``    the same on Hopper wgmma (sm_90 only)
``mm_24_wgmma(values, metadata, B, out=None)``     mm_24 on Hopper wgmma.sp (sm_90 only)
``use_vendor(flag=True)`` / ``vendor_enabled()``   route the above to cuSPARSE / cuBLAS
``wgmma_worth_it(m, n)``                            whether an m x n product takes the
                                                   wgmma kernels (sm_90, large outputs)
``im2col(x, kernel, stride, padding, dilation,     a convolution's columns (K, N, Ho·Wo)
out_size)``                                        from the unpadded image, one launch
``col2im(gcols, x_shape, kernel, ...)``            its adjoint, a gather (no atomics)
``bn_channel_sums(mode, x, xhat, mean, eps)``      batch norm's per-channel sums, one launch
=================================================  ========================================

The GPU functions take CuPy arrays; ``minigrad.kernels.reference`` holds a NumPy function of
the same name and signature for each, implementing the same algorithm and data layout (the
specification the kernel must equal). Nothing here imports CuPy or compiles anything at import
time: each ``.cu`` file is compiled on first use and kept for the process. See README.md in
this folder for the math, layouts and thread mappings.

Examples
--------
>>> import numpy as np
>>> from minigrad.kernels import reference
>>> W = np.array([[1, 0, 2, 0, 0, 3, 0, 4] * 4], dtype=np.float16)   # one row, K = 32
>>> values, metadata = reference.compress_24(W)
>>> values[0, :4]                       # the kept entries of groups 0 and 1
array([1., 2., 3., 4.], dtype=float16)
>>> hex(int(metadata[0, 0, 0]))         # lane 0: groups 0-3 of row 0 (low), padding row 8
'0x4444d8d8'
>>> reference.mm_24(values, metadata, np.ones((32, 1), np.float16))
array([[40.]], dtype=float32)
"""
from . import reference
from ._cuda import (
    WGMMA_MIN_OUTPUT,
    SpmvPlan,
    bn_channel_sums,
    col2im,
    compress_24,
    hgemm,
    hgemm_wgmma,
    im2col,
    mm_24,
    mm_24_wgmma,
    spmm_csr,
    spmv_csr,
    spmv_plan,
    use_vendor,
    vendor_enabled,
    wgmma_worth_it,
)

__all__ = [
    "spmv_csr",
    "spmv_plan",
    "SpmvPlan",
    "spmm_csr",
    "compress_24",
    "mm_24",
    "mm_24_wgmma",
    "hgemm",
    "hgemm_wgmma",
    "im2col",
    "col2im",
    "bn_channel_sums",
    "use_vendor",
    "vendor_enabled",
    "wgmma_worth_it",
    "WGMMA_MIN_OUTPUT",
    "reference",
]
