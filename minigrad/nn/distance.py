"""Distance modules: ``PairwiseDistance`` (‖x₁ − x₂ + ε‖_p along the last dim) and
``CosineSimilarity`` (cos θ along ``dim``), the module forms of ``F.pairwise_distance`` and
``F.cosine_similarity``; and ``F.pdist``, the distances between the rows of one matrix."""
from __future__ import annotations

import numbers

import numpy as np

from ..dtypes import is_floating
from ..tensor import Tensor
from .module import Module

__all__ = ["pdist", "PairwiseDistance", "CosineSimilarity"]


def pdist(input, p=2):
    r"""The p-norm distances between every pair of rows of ``input`` (N, M), condensed
    (PyTorch's ``F.pdist``, SciPy's ``pdist`` order)::

        y = [‖x_i − x_j‖_p  for i in 0..N−1  for j in i+1..N−1]       shape (N(N − 1)/2,)

    the upper triangle of the distance matrix, row by row. Any p ≥ 0 (0 counts the
    nonzero differences, ``inf`` takes the largest).

    Computed as the norm of the gathered differences x[i] − x[j] (the gather's gradient
    is a scatter-add), so it differentiates again. Where a distance is 0 its gradient is
    0, as in PyTorch (the norm of a zero vector has gradient 0); for p < 1 a zero
    difference in one coordinate gives that coordinate a zero gradient, also PyTorch's.

    Examples
    --------
    >>> import minigrad as mg
    >>> pdist(mg.tensor([[0.0, 0.0], [3.0, 4.0], [0.0, 4.0]]))     # d₀₁, d₀₂, d₁₂
    tensor([5., 4., 3.])
    """
    from ..linalg import vector_norm

    if not isinstance(input, Tensor):
        raise TypeError(f"pdist: input must be a Tensor, got {type(input).__name__}")
    if input.ndim != 2:
        raise ValueError(f"pdist: only supports 2-D input (N, M), got shape {input.shape}")
    if not is_floating(input.dtype):
        raise TypeError(f"pdist: only supports floating-point dtypes, got {input.dtype}")
    if isinstance(p, bool) or not isinstance(p, numbers.Real) or not p >= 0:
        raise ValueError(f"pdist: p must be a non-negative number, got {p!r}")
    i, j = np.triu_indices(input.shape[0], 1)
    return vector_norm(input[i] - input[j], float(p), dim=-1)


class PairwiseDistance(Module):
    """‖x₁ − x₂ + ε‖_p along the last dim. ``forward(x1, x2)``."""

    def __init__(self, p=2.0, eps=1e-6, keepdim=False):
        super().__init__()
        self.norm, self.eps, self.keepdim = p, eps, keepdim

    def forward(self, x1, x2):
        from .functional import pairwise_distance

        return pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    """cos θ between x₁ and x₂ along ``dim``. ``forward(x1, x2)``."""

    def __init__(self, dim=1, eps=1e-8):
        super().__init__()
        self.dim, self.eps = dim, eps

    def forward(self, x1, x2):
        from .functional import cosine_similarity

        return cosine_similarity(x1, x2, self.dim, self.eps)
