"""Pruning: which entries each criterion removes, masks that stay applied through
optimizer steps, PyTorch's re-pruning semantics, structured pruning, reports, cycles."""
import doctest

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.sparse import prune
from minigrad.testing import assert_close


def _linear(in_f=6, out_f=5, seed=0):
    mg.manual_seed(seed)
    return nn.Linear(in_f, out_f).double()


def test_l1_unstructured_removes_the_smallest_magnitudes():
    m = _linear()
    W = m.weight.numpy().copy()
    prune.l1_unstructured(m, "weight", amount=0.4)
    k = round(0.4 * W.size)
    mask = m.weight_mask.numpy()
    assert mask.dtype == W.dtype and int((mask == 0).sum()) == k
    assert np.abs(W[mask == 0]).max() <= np.abs(W[mask == 1]).min()
    # the PyTorch layout: weight_orig (Parameter), weight_mask (buffer), weight (attribute)
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight_orig"]
    assert [n for n, _ in m.named_buffers()] == ["weight_mask"]
    assert list(m.state_dict()) == ["bias", "weight_orig", "weight_mask"]
    x = np.random.default_rng(0).standard_normal((3, 6))
    assert_close(m(mg.tensor(x)), x @ (W * mask).T + m.bias.numpy(), rtol=1e-12)


def test_integer_amount_and_repruning_takes_from_what_is_left():
    m = _linear()
    prune.l1_unstructured(m, "weight", amount=7)
    assert int((m.weight_mask.numpy() == 0).sum()) == 7
    prune.l1_unstructured(m, "weight", amount=0.5)  # half of the remaining 23 -> 12 more
    assert int((m.weight_mask.numpy() == 0).sum()) == 7 + round(0.5 * 23)
    first = m.weight_mask.numpy().copy()
    prune.random_unstructured(m, "weight", amount=0.25)
    again = m.weight_mask.numpy()
    assert ((again == 0) >= (first == 0)).all()  # masks only lose entries
    assert len(m._forward_pre_hooks) == 1


@pytest.mark.parametrize("make_opt", [
    lambda ps: optim.SGD(ps, lr=0.1, momentum=0.9, weight_decay=1e-2),
    lambda ps: optim.Adam(ps, lr=1e-2),
], ids=["sgd-momentum-wd", "adam"])
def test_masks_stay_applied_through_training(make_opt):
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(6, 8), nn.ReLU(), nn.Linear(8, 3)).double()
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    prune.ln_structured(model[2], "weight", amount=1, n=2, dim=0)
    opt = make_opt(model.parameters())
    x = mg.randn(16, 6, dtype=mg.float64)
    for _ in range(10):
        opt.zero_grad()
        (model(x) ** 2).mean().backward()
        g = model[0].weight_orig.grad.numpy()
        assert (g[model[0].weight_mask.numpy() == 0] == 0).all()  # no gradient when pruned
        opt.step()
    model(x)  # the forward pre-hook recomputes weight = weight_orig * weight_mask
    for layer in (model[0], model[2]):
        eff = layer.weight.numpy()
        assert (eff[layer.weight_mask.numpy() == 0] == 0).all()
    assert prune.sparsity(model)["0.weight"] == 0.5
    assert prune.sparsity(model)["2.weight"] == pytest.approx(1 / 3)


def test_global_unstructured_uses_one_threshold():
    mg.manual_seed(1)
    a, b = nn.Linear(10, 10).double(), nn.Linear(10, 4).double()
    with mg.no_grad():
        b.weight.mul_(10.0)  # b's weights are all larger: global pruning spares them
    Wa, Wb = a.weight.numpy().copy(), b.weight.numpy().copy()
    prune.global_unstructured([(a, "weight"), (b, "weight")], prune.L1Unstructured,
                              amount=0.3)
    ma, mb = a.weight_mask.numpy(), b.weight_mask.numpy()
    assert int((ma == 0).sum() + (mb == 0).sum()) == round(0.3 * 140)
    kept = np.concatenate([np.abs(Wa[ma == 1]), np.abs(Wb[mb == 1])])
    gone = np.concatenate([np.abs(Wa[ma == 0]), np.abs(Wb[mb == 0])])
    assert gone.max() <= kept.min()
    assert (mb == 0).sum() < (ma == 0).sum()


def test_saliency_prunes_the_smallest_w_times_g():
    m = _linear()
    x = mg.randn(8, 6, dtype=mg.float64)
    (m(x) ** 2).sum().backward()
    W, G = m.weight.numpy().copy(), m.weight.grad.numpy().copy()
    prune.saliency_unstructured(m, "weight", amount=0.5)
    s = np.abs(W * G)
    mask = m.weight_mask.numpy()
    assert s[mask == 0].max() <= s[mask == 1].min()
    # global saliency, on a pruned layer: reads weight_orig.grad
    m.zero_grad()
    (m(x) ** 2).sum().backward()
    prune.global_saliency_unstructured([(m, "weight")], amount=0.5)
    assert int((m.weight_mask.numpy() == 0).sum()) == 15 + round(0.5 * 15)
    fresh = _linear()
    with pytest.raises(ValueError, match="needs a gradient"):
        prune.saliency_unstructured(fresh, "weight", amount=0.5)


def test_ln_structured_removes_whole_neurons_and_filters():
    m = _linear(6, 5)
    W = m.weight.numpy().copy()
    prune.ln_structured(m, "weight", amount=0.4, n=2, dim=0)
    rows_gone = np.nonzero((m.weight_mask.numpy() == 0).all(1))[0]
    assert len(rows_gone) == 2
    norms = np.linalg.norm(W, axis=1)
    assert set(rows_gone) == set(np.argsort(norms)[:2])
    assert ((m.weight_mask.numpy() == 0).any(1) == (m.weight_mask.numpy() == 0).all(1)).all()
    mg.manual_seed(2)
    conv = nn.Conv2d(3, 6, 3).double()
    Wc = conv.weight.numpy().copy()
    prune.ln_structured(conv, "weight", amount=2, n=1, dim=0)
    gone = np.nonzero((conv.weight_mask.numpy() == 0).reshape(6, -1).all(1))[0]
    assert set(gone) == set(np.argsort(np.abs(Wc).reshape(6, -1).sum(1))[:2])
    prune.ln_structured(conv, "weight", amount=0.25, n=float("inf"), dim=0)  # 1 of 4 left
    assert int((conv.weight_mask.numpy() == 0).reshape(6, -1).all(1).sum()) == 3
    y = conv(mg.randn(1, 3, 5, 5, dtype=mg.float64))
    assert_close(y[0, gone], np.broadcast_to(conv.bias.numpy()[gone, None, None], (2, 3, 3)),
                 rtol=1e-12)


def test_custom_mask_remove_and_is_pruned():
    m = _linear(4, 2)
    mask = np.array([[1, 0, 1, 0], [0, 1, 1, 1]], dtype=np.float64)
    prune.custom_from_mask(m, "weight", mg.tensor(mask))
    assert prune.is_pruned(m)
    W = m.weight_orig.numpy().copy()
    prune.remove(m, "weight")
    assert not prune.is_pruned(m)
    assert isinstance(m.weight, nn.Parameter)
    assert [n for n, _ in m.named_parameters()] == ["bias", "weight"]
    np.testing.assert_array_equal(m.weight.numpy(), W * mask)
    with pytest.raises(ValueError, match="has not been pruned"):
        prune.remove(m, "weight")


def test_sparsity_report_table():
    model = nn.Sequential(nn.Linear(4, 4), nn.ReLU(), nn.Linear(4, 2))
    prune.l1_unstructured(model[0], "weight", amount=0.5)
    rep = prune.sparsity(model)
    assert list(rep) == ["0.weight", "2.weight", "global"]
    assert rep["0.weight"] == 0.5 and rep["2.weight"] == 0.0
    assert rep["global"] == pytest.approx(8 / 24)
    text = str(rep)
    assert "0.weight" in text and "global" in text and "50.00%" in text
    assert "0.bias" in prune.sparsity(model, names=None)


def test_iterative_pruning_follows_the_schedule():
    mg.manual_seed(3)
    model = nn.Sequential(nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 10)).double()
    params = [(model[0], "weight"), (model[2], "weight")]
    calls = []
    hist = prune.iterative_pruning(params, 0.8, 3, fine_tune=lambda c: calls.append(c) or c)
    assert calls == [1, 2, 3]
    target = prune.sparsity_schedule(0.8, 3)
    assert target[-1] == pytest.approx(0.8)
    for h, s in zip(hist, target):
        assert h["sparsity"] == pytest.approx(s, abs=1.5 / 600)
    assert prune.sparsity(model)["global"] == pytest.approx(0.8, abs=1 / 600)
    cubic = prune.sparsity_schedule(0.9, 4, "cubic")
    assert cubic[0] > 0.9 / 4 and cubic[-1] == pytest.approx(0.9)
    assert prune.sparsity_schedule(0.5, 2, "linear") == [0.25, 0.5]


def test_validation_errors():
    m = _linear()
    with pytest.raises(ValueError, match=r"range \[0, 1\]"):
        prune.l1_unstructured(m, "weight", amount=1.5)
    with pytest.raises(ValueError, match="non-negative integer"):
        prune.l1_unstructured(m, "weight", amount=-1)
    with pytest.raises(ValueError, match="exceeds the 30 unpruned"):
        prune.l1_unstructured(m, "weight", amount=31)
    with pytest.raises(TypeError, match="amount must be"):
        prune.l1_unstructured(m, "weight", amount="half")
    with pytest.raises(ValueError, match="no parameter 'kernel'"):
        prune.l1_unstructured(m, "kernel", amount=0.1)
    with pytest.raises(ValueError, match="mask shape"):
        prune.custom_from_mask(m, "weight", np.ones((2, 2)))
    with pytest.raises(ValueError, match="importance_scores have shape"):
        prune.l1_unstructured(m, "weight", 0.1, importance_scores=np.ones(3))
    with pytest.raises(ValueError, match=">= 2 dims"):
        prune.ln_structured(m, "bias", amount=0.1, n=2, dim=0)
    with pytest.raises(TypeError, match="unstructured methods only"):
        prune.global_unstructured([(m, "weight")], prune.LnStructured, amount=0.1, n=2)
    with pytest.raises(ValueError, match="target must be in"):
        prune.sparsity_schedule(1.0, 3)
    with pytest.raises(ValueError, match="method must be"):
        prune.iterative_pruning([(m, "weight")], 0.5, 2, lambda c: None, method="nope")


def test_docstring_examples():
    result = doctest.testmod(prune, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
