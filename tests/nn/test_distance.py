"""F.pairwise_distance and the distance modules PairwiseDistance and CosineSimilarity."""
import math

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.testing import assert_close


def _t(a, device="cpu"):
    return mg.tensor(a, dtype=mg.float64, device=device, requires_grad=True)


def test_pairwise_distance_by_hand(device):
    """(3, 0) to (0, 4): ‖(3, −4) + ε‖₂ = √((3 + ε)² + (−4 + ε)²) ≈ 5; the 1-norm ≈ 7;
    rows broadcast against one vector; keepdim keeps the last dim; a 1-D pair gives a
    0-d distance, as in PyTorch."""
    x1, x2 = _t([[3.0, 0.0], [1.0, 1.0]], device), _t([0.0, 4.0], device)
    eps = 1e-6
    d = F.pairwise_distance(x1, x2)
    want = [math.hypot(3 + eps, -4 + eps), math.hypot(1 + eps, -3 + eps)]
    assert_close(d, np.array(want), rtol=1e-15)
    assert_close(nn.PairwiseDistance(p=1)(x1, x2), np.array([7 - 0.0, 4.0]), rtol=1e-6)
    assert nn.PairwiseDistance(keepdim=True)(x1, x2).shape == (2, 1)
    assert F.pairwise_distance(x2, x2).shape == ()
    assert mg.gradcheck(lambda a, b: F.pairwise_distance(a, b, p=3.0), (x1, x2))
    same = _t([1.0, 2.0], device)
    F.pairwise_distance(same, same.detach()).backward()             # finite where x1 = x2
    assert np.all(np.isfinite(same.grad.cpu().numpy()))


def test_cosine_similarity_module(device):
    x1, x2 = _t([[1.0, 0.0], [1.0, 1.0]], device), _t([[0.0, 2.0], [2.0, 2.0]], device)
    assert_close(nn.CosineSimilarity(dim=1)(x1, x2), np.array([0.0, 1.0]), atol=1e-15)
    # along dim 0: columns (1, 1)·(0, 2) = 2 over √2·2, and (0, 1)·(2, 2) = 2 over 1·√8
    assert_close(nn.CosineSimilarity(dim=0)(x1, x2),
                 np.array([2 / (math.sqrt(2) * 2), 2 / math.sqrt(8)]), rtol=1e-12)
    assert repr(nn.CosineSimilarity()) == "CosineSimilarity()"
    assert repr(nn.PairwiseDistance()) == "PairwiseDistance()"


def test_distances_match_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    a, b = rng.standard_normal((2, 5, 3))
    for p in (1.0, 2.0, 3.5):
        for keepdim in (False, True):
            ours = F.pairwise_distance(_t(a), _t(b), p=p, keepdim=keepdim)
            theirs = torch.nn.functional.pairwise_distance(
                torch.tensor(a), torch.tensor(b), p=p, keepdim=keepdim)
            assert ours.shape == tuple(theirs.shape)
            assert_close(ours, theirs.numpy(), rtol=1e-14)
    ours = nn.CosineSimilarity(dim=0)(_t(a), _t(b))
    theirs = torch.nn.CosineSimilarity(dim=0)(torch.tensor(a), torch.tensor(b))
    assert_close(ours, theirs.numpy(), rtol=1e-12, atol=1e-15)   # a cos near 0: rounding
