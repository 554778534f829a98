"""Oracle: every loss and option against ``torch.nn.functional`` (values and gradients).

Optional: skipped when torch is not importable; ``test_losses.py`` stands without it.
"""
import itertools

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.losses as L

torch = pytest.importorskip("torch")
F = torch.nn.functional


def both(fn_mg, fn_torch, inputs, consts=(), rtol=1e-10, atol=1e-12):
    """Run both; compare the outputs and the gradients of every input (random cotangent)."""
    ours = [mg.tensor(a, requires_grad=True) for a in inputs]
    theirs = [torch.tensor(a, requires_grad=True) for a in inputs]
    c_mg = [None if c is None else mg.tensor(c) for c in consts]
    c_th = [None if c is None else torch.tensor(c) for c in consts]
    a, b = fn_mg(*ours, *c_mg), fn_torch(*theirs, *c_th)
    np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=rtol, atol=atol)
    v = np.random.default_rng(0).standard_normal(b.shape)
    a.backward(mg.tensor(v, dtype=a.dtype))
    b.backward(torch.tensor(v, dtype=b.dtype))
    for x, y in zip(ours, theirs):
        np.testing.assert_allclose(x.grad.numpy(), y.grad.numpy(), rtol=rtol, atol=atol)


REDUCTIONS = ["none", "mean", "sum"]
CE_OPTIONS = list(itertools.product(REDUCTIONS, [False, True], [-100, 2], [0.0, 0.25],
                                    [(), (3,), (2, 3)]))


@pytest.mark.parametrize("reduction, weighted, ignore_index, ls, extra", CE_OPTIONS)
def test_cross_entropy_class_indices(reduction, weighted, ignore_index, ls, extra):
    rng = np.random.default_rng(len(extra) * 7 + int(ls * 4) + weighted)
    N, C = 5, 4
    x = rng.standard_normal((N, C) + extra)
    t = rng.integers(0, C, (N,) + extra)
    t.flat[1] = ignore_index
    t.flat[0] = 0
    w = rng.random(C) + 0.5 if weighted else None
    kw = dict(ignore_index=ignore_index, reduction=reduction, label_smoothing=ls)
    both(lambda x, t, w: L.cross_entropy(x, t, weight=w, **kw),
         lambda x, t, w: F.cross_entropy(x, t, weight=w, **kw), [x], [t, w])
    kw.pop("label_smoothing")
    both(lambda x, t, w: L.nll_loss(x.log_softmax(1), t, weight=w, **kw),
         lambda x, t, w: F.nll_loss(x.log_softmax(1), t, weight=w, **kw), [x], [t, w])


@pytest.mark.parametrize("reduction, weighted, ls, extra",
                         list(itertools.product(REDUCTIONS, [False, True], [0.0, 0.3],
                                                [(), (3,)])))
def test_cross_entropy_probabilities(reduction, weighted, ls, extra):
    rng = np.random.default_rng(3)
    x = rng.standard_normal((4, 5) + extra)
    p = rng.random((4, 5) + extra)
    p /= p.sum(1, keepdims=True)
    w = rng.random(5) + 0.5 if weighted else None
    kw = dict(reduction=reduction, label_smoothing=ls)
    both(lambda x, p, w: L.cross_entropy(x, p, weight=w, **kw),
         lambda x, p, w: F.cross_entropy(x, p, weight=w, **kw), [x, p], [w])


def test_cross_entropy_unbatched():
    rng = np.random.default_rng(4)
    x = rng.standard_normal(6)
    both(lambda x, t: L.cross_entropy(x, t, reduction="none", label_smoothing=0.1),
         lambda x, t: F.cross_entropy(x, t, reduction="none", label_smoothing=0.1),
         [x], [np.int64(3)])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("name", ["mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss"])
def test_regression(name, reduction):
    rng = np.random.default_rng(5)
    x, y = rng.standard_normal((4, 3)) * 2, rng.standard_normal((4, 3))
    kw = {"huber_loss": {"delta": 0.8}, "smooth_l1_loss": {"beta": 0.6}}.get(name, {})
    both(lambda x, y: getattr(L, name)(x, y, reduction=reduction, **kw),
         lambda x, y: getattr(F, name)(x, y, reduction=reduction, **kw), [x, y])


@pytest.mark.parametrize("reduction", REDUCTIONS)
@pytest.mark.parametrize("weighted", [False, True])
def test_binary_cross_entropy(reduction, weighted):
    rng = np.random.default_rng(6)
    x, y = rng.uniform(0.05, 0.95, (4, 3)), rng.random((4, 3))
    w = rng.random(3) + 0.5 if weighted else None
    both(lambda x, y, w: L.binary_cross_entropy(x, y, weight=w, reduction=reduction),
         lambda x, y, w: F.binary_cross_entropy(x, y, weight=w, reduction=reduction), [x, y],
         [w])


@pytest.mark.parametrize("reduction, weighted, pos",
                         list(itertools.product(REDUCTIONS, [False, True], [False, True])))
def test_binary_cross_entropy_with_logits(reduction, weighted, pos):
    rng = np.random.default_rng(7)
    x, y = rng.standard_normal((4, 3)) * 3, rng.random((4, 3))
    w = rng.random(3) + 0.5 if weighted else None
    p = rng.random(3) * 3 if pos else None
    both(lambda x, y, w, p: L.binary_cross_entropy_with_logits(x, y, w, reduction, p),
         lambda x, y, w, p: F.binary_cross_entropy_with_logits(x, y, w, reduction=reduction,
                                                                pos_weight=p),
         [x, y], [w, p])


def test_binary_cross_entropy_with_logits_float32_extremes():
    x = np.array([-1e4, 1e4, -1e4, 1e4, -2e4, 3e4, 0.5], np.float32)
    y = np.array([0, 1, 1, 0, 0.5, 0.25, 1], np.float32)
    both(lambda x, y: L.binary_cross_entropy_with_logits(x, y, reduction="none"),
         lambda x, y: F.binary_cross_entropy_with_logits(x, y, reduction="none"), [x, y],
         rtol=1e-6, atol=0)


@pytest.mark.filterwarnings("ignore:reduction. 'mean' divides")  # torch's own warning
@pytest.mark.parametrize("reduction", REDUCTIONS + ["batchmean"])
@pytest.mark.parametrize("log_target", [False, True])
def test_kl_div(reduction, log_target):
    rng = np.random.default_rng(8)
    logq = torch.tensor(rng.standard_normal((3, 5))).log_softmax(1).numpy()
    p = rng.random((3, 5))
    p /= p.sum(1, keepdims=True)
    t = np.log(p) if log_target else p
    both(lambda a, b: L.kl_div(a, b, reduction=reduction, log_target=log_target),
         lambda a, b: F.kl_div(a, b, reduction=reduction, log_target=log_target), [logq, t])


def test_distillation_as_written_with_torch():
    """The usual PyTorch recipe: KLDiv(batchmean)·T² mixed with CE by alpha."""
    rng = np.random.default_rng(9)
    s, t, y = rng.standard_normal((6, 4)), rng.standard_normal((6, 4)), rng.integers(0, 4, 6)
    T_, alpha = 3.0, 0.8

    def torch_recipe(s, t, y):
        soft = F.kl_div(F.log_softmax(s / T_, 1), F.softmax(t / T_, 1), reduction="batchmean")
        return alpha * T_ * T_ * soft + (1 - alpha) * F.cross_entropy(s, y)

    both(lambda s, t, y: L.distillation_loss(s, t, y, T=T_, alpha=alpha), torch_recipe,
         [s, t], [y])
