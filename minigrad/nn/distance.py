"""Distance modules: ``PairwiseDistance`` (‖x₁ − x₂ + ε‖_p along the last dim) and
``CosineSimilarity`` (cos θ along ``dim``), the module forms of ``F.pairwise_distance`` and
``F.cosine_similarity``."""
from __future__ import annotations

from .module import Module

__all__ = ["PairwiseDistance", "CosineSimilarity"]


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
