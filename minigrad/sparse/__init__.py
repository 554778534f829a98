r"""minigrad.sparse: sparse tensors with autograd.

* :class:`COOTensor` (coordinates + values, hybrid allowed) and :class:`CSRTensor`
  (compressed rows), built with :func:`sparse_coo_tensor`, :func:`sparse_csr_tensor`,
  :func:`to_sparse_coo` / :func:`to_sparse_csr` (from a dense Tensor) or
  :func:`from_scipy`; ``to_dense()``, ``coalesce()``, ``t()``, ``to_scipy()``,
  ``sum(dim)``, value-wise math that keeps the pattern (``S * 2``, ``S.relu()``).
* :func:`mm`: ``S @ D``, ``S @ v``, ``D @ S`` with gradients for the dense operand and for
  the stored values (a gradient with the same pattern). Numba kernels on the CPU, our CUDA
  kernels on the GPU (``mg.kernels.use_vendor()`` switches to cuSPARSE).
* the rest of ``torch.sparse``'s functions (:mod:`minigrad.sparse.functional`):
  :func:`softmax`, :func:`log_softmax` (over the stored entries), :func:`sum` (sparse while
  sparse dims remain), :func:`addmm`, :func:`sampled_addmm` (SDDMM), :func:`spdiags`,
  :func:`spsolve`, each differentiable in the stored values and the dense operands.
* :func:`embedding_sparse`: the lookup behind ``F.embedding(..., sparse=True)``, whose
  weight gradient is a COO tensor of the touched rows (``optim.SparseAdam`` consumes it).
* 2:4 semi-structured sparsity: :func:`to_sparse_24` (``minigrad.sparse.semi_structured``).

The values Tensor passed to a constructor is the one that receives gradients:

>>> import minigrad as mg
>>> v = mg.tensor([1.0, 2.0], requires_grad=True)
>>> S = mg.sparse.sparse_coo_tensor([[0, 1], [1, 0]], v, (2, 2))
>>> x = mg.tensor([3.0, 4.0], requires_grad=True)
>>> (S @ x).sum().backward()
>>> v.grad, x.grad
(tensor([4., 3.]), tensor([2., 1.]))
"""
from __future__ import annotations

import importlib

from .coo import COOTensor, from_scipy, sparse_coo_tensor, to_sparse, to_sparse_coo
from .csr import CSRTensor, sparse_csr_tensor, to_sparse_csr
from .embedding import embedding_sparse
from .functional import addmm, log_softmax, sampled_addmm, softmax, spdiags, spsolve, sum
from .ops import is_sparse, mm

__all__ = [
    "COOTensor", "CSRTensor", "sparse_coo_tensor", "sparse_csr_tensor", "to_sparse_coo",
    "to_sparse_csr", "to_sparse", "from_scipy", "mm", "sum", "embedding_sparse",
    "softmax", "log_softmax", "addmm", "sampled_addmm", "spdiags", "spsolve",
    "is_sparse", "to_sparse_24", "to_sparse_semi_structured", "SparseSemiStructuredTensor",
    "mm24", "mm_24", "Linear24", "transposable_mask_24", "mask_24", "prune",
]

# The 2:4 part is written separately; it loads on first use.
_LAZY = {
    "to_sparse_24": "semi_structured",
    "to_sparse_semi_structured": "semi_structured",
    "SparseSemiStructuredTensor": "semi_structured",
    "mm24": "semi_structured",
    "mm_24": "semi_structured",
    "Linear24": "linear24",
    "transposable_mask_24": "linear24",
    "mask_24": "linear24",
}


def __getattr__(name):
    if name == "prune":
        return importlib.import_module(f"{__name__}.prune")
    if name in _LAZY:
        module = importlib.import_module(f"{__name__}.{_LAZY[name]}")
        return getattr(module, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
