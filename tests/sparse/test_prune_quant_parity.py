"""PyTorch parity of pruning (``torch.nn.utils.prune``) and quantization, from an audit.

Regression tests first (hand-derived numbers, no other framework), then oracle tests that
fetch PyTorch inside the test, so the file imports and the regressions run without it.

Fixed by the audit:
* ``prune.remove`` made a new Parameter; PyTorch puts the original Parameter object back
  (an optimizer built before pruning keeps training the model's weight);
* ``random_structured`` / ``RandomStructured`` were missing;
* a structured ``dim`` out of range wrapped around silently (PyTorch: IndexError);
* ``importance_scores`` of a structured re-pruning were multiplied by the mask (PyTorch
  uses them as given; the default score is the weight as pruned so far);
* zero points outside the integer range were accepted (PyTorch raises), per-channel axes
  out of range raised a bare ``IndexError`` / NumPy broadcast error, ``quant_min ==
  quant_max`` was refused (PyTorch allows it), negative axes were stored unnormalized.
"""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad import quantization as Q
from minigrad.sparse import prune

pytestmark = pytest.mark.filterwarnings("ignore::UserWarning")


def _linear(W):
    W = np.asarray(W, dtype=np.float64)
    m = nn.Linear(W.shape[1], W.shape[0], dtype=mg.float64)
    m.weight.data = W.copy()
    return m


# ------------------------------------------------------------------ pruning, by hand


def test_remove_puts_the_same_parameter_back():
    m = _linear([[1.0, -2.0, 3.0, -4.0]])
    p = m.weight
    opt = optim.SGD(m.parameters(), lr=1.0)
    prune.l1_unstructured(m, "weight", amount=0.5)          # |w| = 1, 2 go
    assert m.weight_orig is p
    prune.remove(m, "weight")
    assert m.weight is p and dict(m.named_parameters())["weight"] is p
    np.testing.assert_array_equal(p.numpy(), [[0.0, 0.0, 3.0, -4.0]])
    # the optimizer built before pruning still moves the model's weight
    m(mg.ones(1, 4, dtype=mg.float64)).sum().backward()
    opt.step()
    np.testing.assert_array_equal(m.weight.numpy(), [[-1.0, -1.0, 2.0, -5.0]])


def test_random_structured_prunes_whole_slices_of_what_is_left():
    mg.manual_seed(0)
    m = _linear(np.arange(1.0, 13.0).reshape(4, 3))
    prune.random_structured(m, "weight", amount=2, dim=0)
    rows = m.weight_mask.numpy().sum(axis=1)
    assert sorted(rows.tolist()) == [0.0, 0.0, 3.0, 3.0]      # whole rows, 2 of 4
    prune.random_structured(m, "weight", amount=0.25, dim=0)  # round(0.25 · 2) = 0 (even)
    assert sorted(m.weight_mask.numpy().sum(axis=1).tolist()) == [0.0, 0.0, 3.0, 3.0]
    prune.random_structured(m, "weight", amount=1, dim=0)
    assert sorted(m.weight_mask.numpy().sum(axis=1).tolist()) == [0.0, 0.0, 0.0, 3.0]
    with pytest.raises(ValueError, match="exceeds the 1 unpruned slices"):
        prune.random_structured(m, "weight", amount=2, dim=0)
    assert prune.RandomStructured.PRUNING_TYPE == "structured"


def test_structured_dim_out_of_range_is_an_index_error():
    for fn in (lambda m: prune.ln_structured(m, "weight", 1, 2, dim=2),
               lambda m: prune.ln_structured(m, "weight", 1, 2, dim=-3),
               lambda m: prune.random_structured(m, "weight", 1, dim=2)):
        with pytest.raises(IndexError, match="out of range"):
            fn(_linear(np.ones((2, 4))))
    with pytest.raises(ValueError, match=">= 2 dims"):
        prune.LnStructured(1, 2, dim=0).compute_mask(np.ones(3), np.ones(3))


def test_structured_repruning_scores():
    # default score: the weight as pruned so far.  l1 removes w[1,0] = 1; then the L1 norms
    # of the rows are 2 + 5 = 7 and 6.5 (not 1 + 6.5 = 7.5): row 1 goes.
    m = _linear([[2.0, 5.0], [1.0, 6.5]])
    prune.l1_unstructured(m, "weight", amount=1)
    prune.ln_structured(m, "weight", amount=1, n=1, dim=0)
    np.testing.assert_array_equal(m.weight_mask.numpy(), [[1.0, 1.0], [0.0, 0.0]])
    # given importance scores are used as given: rows score 10 + 1 = 11 and 2 + 3 = 5
    # (the pruned w[0,0] does not zero its score), so row 1 goes.
    m = _linear([[1.0, 5.0], [3.0, 4.0]])
    prune.l1_unstructured(m, "weight", amount=1)             # removes w[0,0] = 1
    prune.ln_structured(m, "weight", amount=1, n=1, dim=0,
                        importance_scores=np.array([[10.0, 1.0], [2.0, 3.0]]))
    np.testing.assert_array_equal(m.weight_mask.numpy(), [[0.0, 1.0], [0.0, 0.0]])


def test_ties_prune_the_first_entry_in_c_order():
    m = _linear([[0.0, 1.0, 0.0, -1.0], [1.0, 0.0, -1.0, 2.0]])
    prune.l1_unstructured(m, "weight", amount=4)              # three zeros, then |w| = 1
    np.testing.assert_array_equal(m.weight_mask.numpy(), [[0, 0, 0, 1], [1, 0, 1, 1]])


# -------------------------------------------------------------- quantization, by hand


def test_zero_point_outside_the_grid_is_refused():
    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    with pytest.raises(ValueError, match=r"zero_point must be in \[-128, 127\]"):
        Q.quantize_per_tensor(x, 0.1, 300)
    with pytest.raises(ValueError, match=r"zero_point must be in \[0, 255\]"):
        Q.quantize_per_tensor(x, 0.1, -1, dtype=mg.uint8)
    with pytest.raises(ValueError, match="zero_point must be in"):
        Q.quantize_per_channel(x, np.ones(2), np.array([0, 200]), axis=0)
    with pytest.raises(ValueError, match=r"zero_point must be in \[0, 255\]"):
        Q.fake_quantize_per_tensor_affine(mg.tensor(x), 0.1, 256, 0, 255)


def test_axes_are_checked_and_normalized():
    x = np.linspace(-1.0, 1.0, 6).reshape(2, 3)
    q = Q.quantize_per_channel(x, np.full(3, 0.1), np.zeros(3), axis=-1)
    assert q.q_per_channel_axis() == 1
    np.testing.assert_array_equal(q.int_repr().numpy(), [[-10, -6, -2], [2, 6, 10]])
    with pytest.raises(ValueError, match="axis 2 is out of range for a 2-d tensor"):
        Q.quantize_per_channel(x, np.ones(3), np.zeros(3), axis=2)
    with pytest.raises(ValueError, match="axis 5 is out of range"):
        Q.fake_quantize_per_channel_affine(mg.tensor(x), np.ones(3), np.zeros(3), 5, -128, 127)
    with pytest.raises(ValueError, match="need 2 scales and zero points for axis 0"):
        Q.fake_quantize_per_channel_affine(mg.tensor(x), np.ones(3), np.zeros(3), 0, -128, 127)
    with pytest.raises(ValueError, match="scalar scale"):
        Q.fake_quantize(mg.tensor(x), np.ones(3), np.zeros(3))
    with pytest.raises(ValueError, match="0-d tensor"):
        Q.quantize(mg.tensor(1.0), per_channel=True)
    with pytest.raises(TypeError, match="floating"):
        Q.fake_quantize(mg.tensor([1, 2]), 0.1, 0)


def test_one_point_grid_is_allowed():
    # quant_min = quant_max = z = 5: y = s·(5 − 5) = 0 everywhere; the STE passes the
    # gradient where round(x/s) + 5 = 5, i.e. round(x) = 0.
    x = mg.tensor([-0.4, 0.3, 0.7, -2.0], requires_grad=True)
    y = Q.fake_quantize(x, 1.0, 5, 5, 5)
    y.backward(mg.tensor([1.0, 2.0, 3.0, 4.0]))
    np.testing.assert_array_equal(y.numpy(), [0.0, 0.0, 0.0, 0.0])
    np.testing.assert_array_equal(x.grad.numpy(), [1.0, 2.0, 0.0, 0.0])


# ------------------------------------------------------------------- PyTorch oracle


def _pair(W):
    torch = pytest.importorskip("torch")
    t = torch.nn.Linear(W.shape[1], W.shape[0]).double()
    t.weight.data = torch.tensor(W.copy())
    return t, _linear(W)


def test_pruning_masks_against_torch():
    torch = pytest.importorskip("torch")
    tp = pytest.importorskip("torch.nn.utils.prune")
    W = np.random.default_rng(0).standard_normal((6, 8))
    for amount in (0, 0.0, 0.3, 0.125, 1.0, 7, 48):
        t, m = _pair(W)
        tp.l1_unstructured(t, "weight", amount)
        prune.l1_unstructured(m, "weight", amount)
        np.testing.assert_array_equal(m.weight_mask.numpy(), t.weight_mask.numpy())
    for amount in (0.0, 0.3, 2, 1.0):
        for n in (1, 2, float("inf")):
            for dim in (0, 1, -1):
                t, m = _pair(W)
                tp.ln_structured(t, "weight", amount, n, dim)
                prune.ln_structured(m, "weight", amount, n, dim)
                np.testing.assert_array_equal(m.weight_mask.numpy(), t.weight_mask.numpy())
    # repeated pruning composes (PruningContainer), with importance scores too
    t, m = _pair(W)
    S = np.random.default_rng(1).standard_normal(W.shape)
    steps = [("l1", 0.3), ("ln", 0.5, 2, 0), ("l1", 5), ("ln", 1, 1, 1, S), ("l1", 0.5)]
    for step in steps:
        if step[0] == "l1":
            tp.l1_unstructured(t, "weight", step[1])
            prune.l1_unstructured(m, "weight", step[1])
        else:
            scores = step[4] if len(step) > 4 else None
            tp.ln_structured(t, "weight", *step[1:4], importance_scores=None if scores is None
                             else torch.tensor(scores))
            prune.ln_structured(m, "weight", *step[1:4], importance_scores=scores)
        np.testing.assert_array_equal(m.weight_mask.numpy(), t.weight_mask.numpy())
    assert list(m.state_dict()) == list(t.state_dict())
    # random: the counts agree (the generators differ)
    t, m = _pair(W)
    for _ in range(2):
        tp.random_structured(t, "weight", 0.3, 0)
        prune.random_structured(m, "weight", 0.3, 0)
    assert m.weight_mask.numpy().sum() == t.weight_mask.sum().item()
    # remove: the same Parameter object comes back
    t, m = _pair(W)
    pt, pm = t.weight, m.weight
    tp.l1_unstructured(t, "weight", 0.5)
    prune.l1_unstructured(m, "weight", 0.5)
    tp.remove(t, "weight")
    prune.remove(m, "weight")
    assert (t.weight is pt) and (m.weight is pm)
    np.testing.assert_array_equal(m.weight.numpy(), t.weight.detach().numpy())


def test_global_unstructured_against_torch():
    tp = pytest.importorskip("torch.nn.utils.prune")
    W = np.random.default_rng(2).standard_normal((6, 8))
    t1, m1 = _pair(W)
    t2, m2 = _pair(0.5 * W[:, ::-1])
    tp.l1_unstructured(t1, "weight", 0.2)
    prune.l1_unstructured(m1, "weight", 0.2)
    for amount in (0.4, 10):
        tp.global_unstructured([(t1, "weight"), (t2, "weight")], tp.L1Unstructured,
                               amount=amount)
        prune.global_unstructured([(m1, "weight"), (m2, "weight")], prune.L1Unstructured,
                                  amount=amount)
        for t, m in ((t1, m1), (t2, m2)):
            np.testing.assert_array_equal(m.weight_mask.numpy(), t.weight_mask.numpy())


def test_quantize_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = (3 * rng.standard_normal(4000)).astype(np.float32)   # no half-integer ties
    for tdt, mdt, s, z in ((torch.qint8, mg.int8, 0.05, 3), (torch.qint8, mg.int8, 0.02, -5),
                           (torch.quint8, mg.uint8, 0.03, 128)):
        tq = torch.quantize_per_tensor(torch.tensor(x), s, z, tdt)
        mq = Q.quantize_per_tensor(x, s, z, mdt)
        np.testing.assert_array_equal(mq.int_repr().numpy(), tq.int_repr().numpy())
        np.testing.assert_allclose(mq.dequantize().numpy(), tq.dequantize().numpy(),
                                   rtol=1e-6, atol=1e-7)
    X = rng.standard_normal((4, 5, 3)).astype(np.float32)
    sc, zp = np.array([0.1, 0.02, 0.05, 0.3, 0.07]), np.array([0, 1, -2, 5, 3])
    tq = torch.quantize_per_channel(torch.tensor(X), torch.tensor(sc), torch.tensor(zp), 1,
                                    torch.qint8)
    mq = Q.quantize_per_channel(X, sc, zp, axis=1)
    np.testing.assert_array_equal(mq.int_repr().numpy(), tq.int_repr().numpy())


def test_fake_quantize_and_ste_against_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for dt in (np.float32, np.float64):
        x = (4 * rng.standard_normal((3, 4, 50))).astype(dt)
        g = rng.standard_normal(x.shape).astype(dt)
        for qmin, qmax, s, z in ((-128, 127, 0.05, 0), (0, 255, 0.03, 128), (-8, 7, 0.5, 2)):
            tx = torch.tensor(x, requires_grad=True)
            torch.fake_quantize_per_tensor_affine(tx, s, z, qmin, qmax).backward(
                torch.tensor(g))
            mx = mg.tensor(x, requires_grad=True)
            y = Q.fake_quantize_per_tensor_affine(mx, s, z, qmin, qmax)
            y.backward(mg.tensor(g))
            expect = torch.fake_quantize_per_tensor_affine(torch.tensor(x), s, z, qmin, qmax)
            np.testing.assert_allclose(y.numpy(), expect.numpy(), rtol=1e-6, atol=1e-6)
            np.testing.assert_array_equal(mx.grad.numpy(), tx.grad.numpy())
        sc, zp = np.array([0.1, 0.02, 0.05, 0.3]), np.array([0, 1, -2, 5])
        tx = torch.tensor(x, requires_grad=True)
        torch.fake_quantize_per_channel_affine(
            tx, torch.tensor(sc, dtype=torch.float32), torch.tensor(zp, dtype=torch.int32),
            1, -128, 127).backward(torch.tensor(g))
        mx = mg.tensor(x, requires_grad=True)
        Q.fake_quantize_per_channel_affine(mx, sc, zp, 1, -128, 127).backward(mg.tensor(g))
        np.testing.assert_array_equal(mx.grad.numpy(), tx.grad.numpy())


def test_observer_qparams_against_torch():
    torch = pytest.importorskip("torch")
    obs = pytest.importorskip("torch.ao.quantization")
    x = (2 * np.random.default_rng(3).standard_normal((4, 50)) + 0.5).astype(np.float32)
    for tdt, mdt in ((torch.qint8, mg.int8), (torch.quint8, mg.uint8)):
        for reduce_range in (False, True):
            o = obs.MinMaxObserver(dtype=tdt, reduce_range=reduce_range)
            o(torch.tensor(x))
            ts, tz = o.calculate_qparams()
            s, z = Q.calculate_qparams(x, dtype=mdt, bits=7 if reduce_range else 8)
            np.testing.assert_allclose(float(s), ts.item(), rtol=1e-6)
            assert int(z) == tz.item()
    o = obs.PerChannelMinMaxObserver(ch_axis=0, dtype=torch.qint8,
                                     qscheme=torch.per_channel_affine)
    o(torch.tensor(x))
    ts, tz = o.calculate_qparams()
    s, z = Q.calculate_qparams(x, axis=0)
    np.testing.assert_allclose(s, ts.numpy(), rtol=1e-6)
    np.testing.assert_array_equal(z, tz.numpy())


def test_pruning_is_reachable_at_pytorchs_path():
    """``from torch.nn.utils import prune`` reads ``from minigrad.nn.utils import prune``."""
    from minigrad.nn.utils import prune
    from minigrad.sparse import prune as sparse_prune

    assert prune is sparse_prune and callable(prune.l1_unstructured)
