"""CTC loss: small cases summed over their alignments by hand, the target layouts, the
no-skip rule for repeated labels, impossible alignments, gradcheck and gradgradcheck with
respect to log_probs, errors, and PyTorch's losses and logit gradients when installed."""
import itertools

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.testing import assert_close


def _collapse(path, blank=0):
    out = [k for k, _ in itertools.groupby(path)]
    return tuple(k for k in out if k != blank)


def _brute_force(lp, target, blank=0):
    """−log Σ over every frame-by-frame path that collapses to ``target``."""
    T, C = lp.shape
    total = 0.0
    for path in itertools.product(range(C), repeat=T):
        if _collapse(path, blank) == tuple(target):
            total += np.exp(sum(lp[t, k] for t, k in enumerate(path)))
    return -np.log(total)


def test_two_frames_by_hand(device):
    p = np.array([[0.6, 0.4], [0.3, 0.7]])        # frames × (blank, "1")
    lp = mg.tensor(np.log(p)[:, None, :], device=device)
    # paths to "1": (1, 1), (b, 1), (1, b)
    want = -np.log(0.4 * 0.7 + 0.6 * 0.7 + 0.4 * 0.3)
    assert F.ctc_loss(lp, mg.tensor([[1]]), [2], [1], reduction="sum").item() == \
        pytest.approx(want, rel=1e-14)
    # the empty target: only (b, b)
    assert F.ctc_loss(lp, mg.tensor([[1]]), [2], [0], reduction="sum").item() == \
        pytest.approx(-np.log(0.6 * 0.3), rel=1e-14)


@pytest.mark.parametrize("target, T", [((1, 2), 4), ((1, 1), 3), ((2, 1, 2), 5), ((), 3),
                                       ((1, 1), 4)])
def test_equals_the_sum_over_alignments(target, T, device):
    rng = np.random.default_rng(len(target) * 10 + T)
    x = rng.standard_normal((T, 3))
    lp = x - np.log(np.exp(x).sum(axis=1, keepdims=True))
    got = F.ctc_loss(mg.tensor(lp[:, None], device=device),
                     mg.tensor([list(target) or [1]], device=device), [T], [len(target)],
                     reduction="none")
    assert got.shape == (1,) and got.item() == pytest.approx(_brute_force(lp, target),
                                                             rel=1e-12)


def test_layouts_reductions_and_impossible_alignments(device):
    rng = np.random.default_rng(0)
    lp = mg.tensor(rng.standard_normal((5, 3, 4)), device=device).log_softmax(2)
    padded = mg.tensor([[1, 2, 0], [3, 0, 0], [1, 1, 2]], device=device)
    flat = mg.tensor([1, 2, 3, 1, 1, 2], device=device)
    lengths, t_lengths = [5, 4, 5], [2, 1, 3]
    each = F.ctc_loss(lp, padded, lengths, t_lengths, reduction="none")
    assert_close(F.ctc_loss(lp, flat, lengths, t_lengths, reduction="none"), each.cpu().numpy())
    e = each.cpu().numpy()
    assert F.ctc_loss(lp, padded, lengths, t_lengths).item() == \
        pytest.approx(np.mean(e / np.array(t_lengths)))
    assert F.ctc_loss(lp, padded, lengths, t_lengths, reduction="sum").item() == \
        pytest.approx(e.sum())
    # "1 1 2" needs 4 frames (a blank between the 1s): with 3 it is impossible
    short = F.ctc_loss(lp, padded, [5, 4, 3], t_lengths, reduction="none")
    assert np.isinf(short.tolist()[2]) and np.isfinite(short.tolist()[:2]).all()
    zero = F.ctc_loss(lp, padded, [5, 4, 3], t_lengths, reduction="none", zero_infinity=True)
    assert zero.tolist()[2] == 0.0
    unbatched = F.ctc_loss(lp[:, 0], mg.tensor([1, 2], device=device), [5], [2],
                           reduction="none")
    assert unbatched.ndim == 0 and unbatched.item() == pytest.approx(e[0])
    module = nn.CTCLoss(blank=0, reduction="sum", zero_infinity=True)
    assert module(lp, padded, [5, 4, 3], t_lengths).item() == pytest.approx(e[:2].sum())


def test_gradients_with_respect_to_log_probs(device):
    rng = np.random.default_rng(1)
    x = mg.tensor(rng.standard_normal((6, 2, 4)), device=device, requires_grad=True)
    targets = mg.tensor([[1, 1, 3], [2, 3, 0]], device=device)

    def loss(lp):
        return F.ctc_loss(lp, targets, [6, 5], [3, 2], reduction="mean")
    assert mg.gradcheck(loss, (x,))                 # any log_probs, not only normalized
    assert mg.gradgradcheck(loss, (x,))
    # the gradient is minus the occupation γ_t(c): it sums to −1 over classes per frame
    lp = x.log_softmax(2).detach().requires_grad_()
    F.ctc_loss(lp, targets, [6, 5], [3, 2], reduction="sum").backward()
    assert_close(lp.grad.sum(dim=2)[:5], -np.ones((5, 2)), rtol=1e-12)
    assert_close(lp.grad[5, 1], np.zeros(4), atol=1e-15)   # past sequence 1's end


def test_errors():
    lp = mg.zeros(4, 2, 3)
    with pytest.raises(ValueError, match="log_probs must be"):
        F.ctc_loss(mg.zeros(4), mg.tensor([[1]]), [4], [1])
    with pytest.raises(ValueError, match="must hold 2 entries"):
        F.ctc_loss(lp, mg.tensor([[1], [1]]), [4], [1, 1])
    with pytest.raises(ValueError, match=r"input_lengths must be in \[1, 4\]"):
        F.ctc_loss(lp, mg.tensor([[1], [1]]), [5, 4], [1, 1])
    with pytest.raises(ValueError, match="differ from the blank 0"):
        F.ctc_loss(lp, mg.tensor([[0], [1]]), [4, 4], [1, 1])
    with pytest.raises(ValueError, match=r"target labels must be in \[0, 3\)"):
        F.ctc_loss(lp, mg.tensor([[3], [1]]), [4, 4], [1, 1])
    with pytest.raises(ValueError, match="concatenated targets must be 1-D"):
        F.ctc_loss(lp, mg.tensor([1, 2, 1]), [4, 4], [1, 1])
    with pytest.raises(ValueError, match="blank 5 is not a class"):
        F.ctc_loss(lp, mg.tensor([[1], [1]]), [4, 4], [1, 1], blank=5)
    with pytest.raises(TypeError, match="target_lengths must be integers"):
        F.ctc_loss(lp, mg.tensor([[1], [1]]), [4, 4], [1.0, 1.0])
    with pytest.raises(ValueError, match="reduction must be one of"):
        nn.CTCLoss(reduction="avg")


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_matches_torch(reduction):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(2)
    T, N, C = 15, 5, 6
    x = rng.standard_normal((T, N, C))
    targets = rng.integers(1, C, (N, 7))
    targets[1, :3] = 4                                  # repeated labels
    t_len = np.array([7, 3, 0, 5, 7])
    in_len = np.array([15, 10, 6, 15, 8])               # the last one is impossible
    for blank, zero_inf in ((0, False), (0, True), (C - 1, True)):
        tg = np.where(targets == blank, (blank + 1) % C, targets)
        xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours = F.ctc_loss(xm.log_softmax(2), mg.tensor(tg), in_len, t_len, blank=blank,
                          reduction=reduction, zero_infinity=zero_inf)
        theirs = torch.nn.functional.ctc_loss(
            xt.log_softmax(2), torch.tensor(tg), torch.tensor(in_len), torch.tensor(t_len),
            blank=blank, reduction=reduction, zero_infinity=zero_inf)
        assert_close(ours, theirs.detach().cpu().numpy(), rtol=1e-12)
        if zero_inf:       # PyTorch's gradient of an infinite loss is NaN; ours is 0
            g = rng.standard_normal(theirs.shape)
            ours.backward(mg.tensor(g))
            theirs.backward(torch.tensor(g))
            assert_close(xm.grad, xt.grad.cpu().numpy(), rtol=1e-10, atol=1e-13)
