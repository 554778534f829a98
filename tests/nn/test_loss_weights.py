"""The elementwise ``weight`` of mse_loss, l1_loss and huber_loss (PyTorch 2.13's argument):
values written out from the formulas, gradcheck (float64) of input, target and weight on
hypothesis-drawn shapes, every reduction, the errors, and PyTorch as an oracle where it is
installed."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.testing import arrays, assert_close, shapes

REDUCTIONS = ["none", "mean", "sum"]


def huber_np(d, delta):
    a = np.abs(d)
    return np.where(a < delta, 0.5 * d * d, delta * (a - 0.5 * delta))


# name: (the loss with weight, the unweighted elementwise loss of d = x - y, whether "mean"
# divides by the sum of the weights, the kinks of d to keep away from)
LOSSES = {
    "mse_loss": (lambda x, y, r, w: F.mse_loss(x, y, reduction=r, weight=w),
                 lambda d: d * d, True, ()),
    "l1_loss": (lambda x, y, r, w: F.l1_loss(x, y, reduction=r, weight=w),
                np.abs, True, (0.0,)),
    "huber_loss": (lambda x, y, r, w: F.huber_loss(x, y, reduction=r, delta=0.7, weight=w),
                   lambda d: huber_np(d, 0.7), False, (0.0, 0.7, -0.7)),
}


def weighted_np(loss, w, reduction, mean_over_weights):
    wl = w * loss
    if reduction == "none":
        return wl
    if reduction == "sum":
        return wl.sum()
    return wl.sum() / w.sum() if mean_over_weights else wl.mean()


def test_mse_and_l1_average_over_the_weights_huber_over_the_elements():
    x = mg.tensor([1.0, 2.0, 4.0])
    y = mg.tensor([0.0, 0.0, 0.0])
    w = mg.tensor([1.0, 2.0, 1.0])
    # MSE: (1·1 + 2·4 + 1·16) / (1 + 2 + 1) = 25/4; L1: (1 + 4 + 4) / 4 = 9/4
    assert F.mse_loss(x, y, weight=w).item() == 6.25
    assert F.l1_loss(x, y, weight=w).item() == 2.25
    assert F.mse_loss(x, y, reduction="sum", weight=w).item() == 25.0
    assert F.mse_loss(x, y, reduction="none", weight=w).tolist() == [1.0, 8.0, 16.0]
    # Huber (δ = 1): ℓ = ½, 1.5, 3.5; weighted 0.5, 3, 3.5; the plain mean is 7/3
    assert F.huber_loss(x, y, weight=w).item() == pytest.approx(7.0 / 3.0, rel=1e-7)
    assert F.huber_loss(x, y, reduction="sum", weight=w).item() == 7.0


def test_weight_none_is_the_unweighted_loss_and_ones_give_the_same_values():
    rng = np.random.default_rng(0)
    x, y = mg.tensor(rng.standard_normal((3, 4))), mg.tensor(rng.standard_normal((3, 4)))
    ones = mg.ones(3, 4, dtype=mg.float64)
    for name, (fn, _, _, _) in LOSSES.items():
        for r in REDUCTIONS:
            assert_close(fn(x, y, r, ones), fn(x, y, r, None).numpy(), rtol=1e-14,
                         msg=f"{name} {r}")


@pytest.mark.parametrize("name", LOSSES)
@given(data=st.data())
def test_weighted_losses_match_the_formula_and_gradcheck(name, data, device):
    fn, ref, mean_over_weights, avoid = LOSSES[name]
    shape = data.draw(shapes(min_dims=0, max_dims=3, min_side=1))
    x = data.draw(arrays(shape=shape))
    d = data.draw(arrays(shape=shape, avoid=avoid, margin=1e-2))  # x − y away from kinks
    w = data.draw(arrays(shape=shape, min_value=0.1, max_value=2.0))
    reduction = data.draw(st.sampled_from(REDUCTIONS))
    y = x - d
    xs, ys, ws = (mg.tensor(a, device=device, requires_grad=True) for a in (x, y, w))
    want = weighted_np(ref(d), w, reduction, mean_over_weights)
    assert_close(fn(xs, ys, reduction, ws), np.asarray(want), rtol=1e-10, atol=1e-12)
    assert mg.gradcheck(lambda a, b, c: fn(a, b, reduction, c), (xs, ys, ws))


def test_weighted_mse_gradgradcheck():
    rng = np.random.default_rng(1)
    x, y = (mg.tensor(rng.standard_normal(5), requires_grad=True) for _ in range(2))
    w = mg.tensor(rng.uniform(0.5, 2.0, 5), requires_grad=True)
    assert mg.gradgradcheck(lambda a, b, c: F.mse_loss(a, b, weight=c), (x, y, w))


def test_weight_gradient_of_the_weighted_mean_by_hand():
    # L = Σ wℓ / Σ w  ⇒  ∂L/∂wᵢ = (ℓᵢ − L) / Σ w
    x, y = mg.tensor([1.0, 2.0, 4.0]), mg.tensor([0.0, 0.0, 0.0])
    w = mg.tensor([1.0, 2.0, 1.0], requires_grad=True)
    F.mse_loss(x, y, weight=w).backward()
    assert w.grad.tolist() == pytest.approx([(1 - 6.25) / 4, (4 - 6.25) / 4, (16 - 6.25) / 4])


@pytest.mark.parametrize("name", LOSSES)
def test_weight_of_another_shape_is_refused(name):
    fn = LOSSES[name][0]
    x, y = mg.zeros(2, 3), mg.ones(2, 3)
    with pytest.raises(ValueError, match=r"weight must have the input's shape \(2, 3\), got "
                                         r"\(3,\)"):
        fn(x, y, "mean", mg.ones(3))  # PyTorch refuses broadcasting weights too


def test_a_numpy_weight_is_a_constant():
    x = mg.tensor([1.0, 3.0], requires_grad=True)
    loss = F.mse_loss(x, mg.zeros(2), weight=np.array([1.0, 3.0], dtype=np.float32))
    assert loss.item() == pytest.approx((1 + 27) / 4)
    loss.backward()
    assert x.grad.tolist() == pytest.approx([2 * 1 / 4, 2 * 3 * 3 / 4])


@pytest.mark.parametrize("name", LOSSES)
@pytest.mark.parametrize("reduction", REDUCTIONS)
def test_weighted_losses_match_pytorch(name, reduction):
    torch = pytest.importorskip("torch")
    tf = getattr(torch.nn.functional, name)
    rng = np.random.default_rng(2)
    x, y = rng.standard_normal((4, 5)) * 2, rng.standard_normal((4, 5))
    w = rng.uniform(0.1, 2.0, (4, 5))
    ours = [mg.tensor(a, requires_grad=True) for a in (x, y, w)]
    theirs = [torch.tensor(a, requires_grad=True) for a in (x, y, w)]
    kw = {"delta": 0.7} if name == "huber_loss" else {}
    a = getattr(F, name)(ours[0], ours[1], reduction=reduction, weight=ours[2], **kw)
    b = tf(theirs[0], theirs[1], reduction=reduction, weight=theirs[2], **kw)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12)
    v = rng.standard_normal(b.shape)
    a.backward(mg.tensor(v))
    b.backward(torch.tensor(v))
    for p, q in zip(ours, theirs):
        np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=1e-10, atol=1e-14)
