"""Sparse gradients: the embedding lookup whose weight gradient is COO (only the touched
rows, equal to the dense gradient when densified), how the engine stores and accumulates
them, and SparseAdam (lazy Adam) recomputed by hand."""
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
from minigrad import optim
from minigrad.nn import functional as F
from minigrad.optim.sparse_adam import SparseAdam, sparse_adam_update
from minigrad.sparse import COOTensor, embedding_sparse
from minigrad.testing import assert_close

from .strategies import host


def _weight(device, n=7, d=3, seed=0, dtype=mg.float64):
    w = np.random.default_rng(seed).standard_normal((n, d))
    return mg.tensor(w, dtype=dtype, device=device, requires_grad=True)


def _dense_grad(idx, gy, n, device):
    """The gradient of the dense embedding, through F.embedding(sparse=False)."""
    W = mg.zeros(n, gy.shape[-1], dtype=mg.float64, device=device, requires_grad=True)
    F.embedding(mg.tensor(idx, device=device), W).backward(mg.tensor(gy, device=device))
    return host(W.grad)


# ------------------------------------------------------------------------- the gradient


@pytest.mark.parametrize("idx", [[3, 1, 3], [[0, 6], [6, 6]], [2], np.zeros((0,), int)])
def test_gradient_is_coo_of_the_touched_rows_and_equals_the_dense_one(idx, device):
    W = _weight(device)
    idx = np.asarray(idx, dtype=np.int64)
    out = embedding_sparse(mg.tensor(idx, device=device), W)
    assert out.shape == idx.shape + (3,)
    assert_close(out, host(W)[idx])
    gy = np.random.default_rng(1).standard_normal(out.shape)
    out.backward(mg.tensor(gy, device=device))
    g = W.grad
    assert isinstance(g, COOTensor) and g.is_sparse
    assert g.shape == W.shape and g.sparse_dim() == 1 and g.dense_dim() == 1
    assert g.nnz == idx.size  # one entry per lookup (PyTorch's layout)
    assert set(host(g.indices()).ravel().tolist()) == set(idx.ravel().tolist())
    c = g.coalesce()
    assert host(c.indices()).ravel().tolist() == sorted(set(idx.ravel().tolist()))
    assert_close(g.to_dense(), _dense_grad(idx, gy, 7, device), rtol=1e-12, atol=1e-12)


def test_through_nn_embedding_and_functional(device):
    from minigrad import nn

    emb = nn.Embedding(10, 4, sparse=True)
    if device == "cuda":
        emb = emb.to("cuda")
    emb(mg.tensor([[1, 2], [2, 9]], device=device)).sum().backward()
    g = emb.weight.grad
    assert g.is_sparse and host(g.coalesce().indices()).tolist() == [[1, 2, 9]]
    assert_close(g.coalesce().values(), np.array([[1.0] * 4, [2.0] * 4, [1.0] * 4],
                                                 np.float32))


def test_padding_idx_and_scale_grad_by_freq(device):
    W = _weight(device)
    idx = np.array([4, 2, 4, 4, 0])
    gy = np.random.default_rng(2).standard_normal((5, 3))
    embedding_sparse(mg.tensor(idx, device=device), W, padding_idx=4).backward(
        mg.tensor(gy, device=device))
    assert 4 not in host(W.grad.indices()).ravel().tolist()
    want = _dense_grad(idx, gy, 7, device)
    want[4] = 0
    assert_close(W.grad.to_dense(), want, rtol=1e-12)
    W.grad = None
    embedding_sparse(mg.tensor(idx, device=device), W, scale_grad_by_freq=True).backward(
        mg.tensor(gy, device=device))
    counts = np.bincount(idx, minlength=7)
    want = np.zeros((7, 3))
    np.add.at(want, idx, gy / counts[idx, None])
    assert_close(W.grad.to_dense(), want, rtol=1e-12)


def test_sparse_gradients_accumulate_by_concatenation(device):
    W = _weight(device)
    embedding_sparse(mg.tensor([1, 2], device=device), W).sum().backward()
    embedding_sparse(mg.tensor([2, 5], device=device), W).sum().backward()
    g = W.grad
    assert g.is_sparse and g.nnz == 4 and not g.is_coalesced()
    want = np.zeros((7, 3))
    want[[1, 5]] = 1
    want[2] = 2
    assert_close(g.to_dense(), want)
    assert g.coalesce().nnz == 3


def test_sparse_plus_dense_gradient_is_dense(device):
    """A weight used by a sparse lookup and densely (tied weights) ends with a dense grad,
    in either order."""
    for sparse_first in (True, False):
        W = _weight(device)
        idx = mg.tensor([0, 3], device=device)
        lookup = embedding_sparse(idx, W).sum()
        dense = (W * W).sum()
        loss = lookup + dense if sparse_first else dense + lookup
        loss.backward()
        assert not W.grad.is_sparse
        want = 2 * host(W)
        want[[0, 3]] += 1
        assert_close(W.grad, want, rtol=1e-12)
    W = _weight(device)
    embedding_sparse(mg.tensor([1], device=device), W).sum().backward()
    (W * 1.0).sum().backward()  # a later dense gradient
    want = np.ones((7, 3))
    want[1] += 1
    assert not W.grad.is_sparse
    assert_close(W.grad, want)


def test_autograd_grad_returns_the_sparse_gradient(device):
    W = _weight(device)
    out = embedding_sparse(mg.tensor([1, 1, 4], device=device), W).sum()
    (g,) = mg.autograd.grad(out, [W])
    assert g.is_sparse and W.grad is None
    want = np.zeros((7, 3))
    want[1], want[4] = 2, 1
    assert_close(g.to_dense(), want)


def test_non_leaf_weight_gets_a_dense_gradient(device):
    """Sparse gradients are kept at leaves; through other ops the gradient is dense."""
    W = _weight(device)
    out = embedding_sparse(mg.tensor([1, 1, 4], device=device), W * 2.0)
    gy = np.random.default_rng(3).standard_normal((3, 3))
    out.backward(mg.tensor(gy, device=device))
    assert not W.grad.is_sparse
    assert_close(W.grad, 2 * _dense_grad(np.array([1, 1, 4]), gy, 7, device), rtol=1e-12)


def test_create_graph_keeps_the_values_differentiable(device):
    W = _weight(device)
    out = embedding_sparse(mg.tensor([2], device=device), W)
    gy = mg.tensor(np.ones((1, 3)), dtype=mg.float64, device=device, requires_grad=True)
    out.backward(gy, create_graph=True)
    assert W.grad.is_sparse and W.grad.values().requires_grad
    (W.grad.values() * 3).sum().backward()
    assert_close(gy.grad, np.full((1, 3), 3.0))


def test_embedding_sparse_errors():
    W = _weight("cpu")
    with pytest.raises(TypeError, match="indices must be an integer tensor, got float32"):
        embedding_sparse(mg.tensor([1.0]), W)
    with pytest.raises(IndexError, match=r"index 7 is out of range for 7 embeddings"):
        embedding_sparse(mg.tensor([7]), W)
    with pytest.raises(IndexError, match=r"index -1 is out of range"):
        embedding_sparse(mg.tensor([-1]), W)
    with pytest.raises(ValueError, match="weight must be 2-D"):
        embedding_sparse(mg.tensor([0]), mg.zeros(3))
    with pytest.raises(ValueError, match="padding_idx 9 must be within num_embeddings 7"):
        embedding_sparse(mg.tensor([0]), W, padding_idx=9)


def test_dense_optimizers_refuse_sparse_gradients():
    W = _weight("cpu")
    embedding_sparse(mg.tensor([0]), W).sum().backward()
    with pytest.raises(RuntimeError, match="Adam does not support sparse gradients"):
        optim.Adam([W]).step()


# --------------------------------------------------------------------------- SparseAdam


def _adam_rows_by_hand(theta, m, v, rows, g, t, lr, b1, b2, eps):
    """PyTorch's SparseAdam step, written out on the touched rows."""
    theta, m, v = theta.copy(), m.copy(), v.copy()
    for r, gr in zip(rows, g):
        m[r] = b1 * m[r] + (1 - b1) * gr
        v[r] = b2 * v[r] + (1 - b2) * gr * gr
        step = lr * math.sqrt(1 - b2**t) / (1 - b1**t)
        theta[r] = theta[r] - step * m[r] / (np.sqrt(v[r]) + eps)
    return theta, m, v


def test_sparse_adam_steps_by_hand_touch_only_the_looked_up_rows(device):
    lr, b1, b2, eps = 0.05, 0.8, 0.9, 1e-6
    W = _weight(device)
    opt = SparseAdam([W], lr=lr, betas=(b1, b2), eps=eps)
    theta, m, v = host(W).copy(), np.zeros((7, 3)), np.zeros((7, 3))
    rng = np.random.default_rng(4)
    for t, idx in enumerate([[1, 4, 1], [4, 6], [0]], start=1):
        opt.zero_grad()
        gy = rng.standard_normal((len(idx), 3))
        embedding_sparse(mg.tensor(idx, device=device), W).backward(
            mg.tensor(gy, device=device))
        g = np.zeros((7, 3))
        np.add.at(g, idx, gy)  # duplicates summed: the coalesced gradient
        rows = sorted(set(idx))
        before = host(W).copy()
        opt.step()
        theta, m, v = _adam_rows_by_hand(theta, m, v, rows, g[rows], t, lr, b1, b2, eps)
        assert_close(W, theta, rtol=1e-12, atol=1e-14)
        assert_close(opt.state[W]["m"], m, rtol=1e-12, atol=1e-14)
        assert_close(opt.state[W]["v"], v, rtol=1e-12, atol=1e-14)
        untouched = [r for r in range(7) if r not in rows]
        assert np.array_equal(host(W)[untouched], before[untouched]), "lazy: others stay"
        assert opt.state[W]["step"] == t


def test_sparse_adam_puts_eps_on_the_uncorrected_root():
    """PyTorch's SparseAdam adds ε to √v (bias corrections in the step size): a first
    step with g = 1e-6, lr = 1, ε = 1e-8 moves 0.759747 (Adam, ε on √v̂: 0.990099)."""
    W = mg.tensor(np.zeros((2, 1)), requires_grad=True)
    opt = SparseAdam([W], lr=1.0)
    W.grad = COOTensor._make(np.array([[1]]), mg.tensor(np.full((1, 1), 1e-6)), (2, 1))
    opt.step()
    assert round(-W.data[1, 0], 6) == 0.759747 and W.data[0, 0] == 0
    theta = np.zeros((3, 1))
    sparse_adam_update(np, theta, (np.array([2]),), np.full((1, 1), 1e-6), np.zeros((3, 1)),
                       np.zeros((3, 1)), 1, lr=1.0)
    assert round(-theta[2, 0], 6) == 0.759747


def test_sparse_adam_equals_adam_with_eps_moved_when_every_row_is_touched():
    """When every row is touched every step, lazy Adam is Adam with ε on √v instead of √v̂:
    with ε = 0 the two trajectories coincide."""
    rng = np.random.default_rng(5)
    W0 = rng.standard_normal((4, 2))
    A = mg.tensor(W0.copy(), requires_grad=True)
    B = mg.tensor(W0.copy(), requires_grad=True)
    opt_a = SparseAdam([A], lr=0.1, eps=1e-300)
    opt_b = optim.Adam([B], lr=0.1, eps=0.0)
    all_rows = mg.tensor([3, 0, 1, 2, 1])
    for _ in range(5):
        target = mg.tensor(rng.standard_normal((5, 2)))
        for P, opt, sparse in ((A, opt_a, True), (B, opt_b, False)):
            opt.zero_grad()
            out = embedding_sparse(all_rows, P) if sparse else F.embedding(all_rows, P)
            ((out - target) ** 2).sum().backward()
            opt.step()
    assert_close(A, B.data, rtol=1e-10, atol=1e-12)


def test_sparse_adam_converges_to_the_targets():
    """Each row of the table regresses to its target row (a known minimum)."""
    rng = np.random.default_rng(6)
    target = mg.tensor(rng.standard_normal((20, 3)))
    W = mg.tensor(np.zeros((20, 3)), requires_grad=True)
    opt = SparseAdam([W], lr=0.05)
    for _ in range(600):
        idx = mg.tensor(rng.integers(0, 20, 8))
        opt.zero_grad()
        ((embedding_sparse(idx, W) - target[idx]) ** 2).sum().backward()
        opt.step()
    assert np.abs(W.data - target.data).max() < 1e-3


def test_sparse_adam_maximize_and_float16_master():
    W = mg.tensor(np.zeros((3, 2)), requires_grad=True)
    opt = SparseAdam([W], lr=0.1, maximize=True)
    embedding_sparse(mg.tensor([1]), W).sum().backward()
    opt.step()
    assert np.all(W.data[1] > 0) and np.all(W.data[[0, 2]] == 0)
    H = mg.tensor(np.ones((3, 2)), dtype=mg.float16, requires_grad=True)
    opt = SparseAdam([H], lr=1e-4)
    for _ in range(3):
        opt.zero_grad()
        embedding_sparse(mg.tensor([2]), H).sum().backward()
        opt.step()
    master = opt.state[H]["master"]
    assert master.dtype == np.float32 and opt.state[H]["m"].dtype == np.float32
    assert master[2, 0] < 1.0 and np.array_equal(H.data[2], master[2].astype(np.float16))
    assert np.all(H.data[:2] == 1)


def test_sparse_adam_state_dict_round_trip():
    W = _weight("cpu")
    opt = SparseAdam([W], lr=0.01)
    embedding_sparse(mg.tensor([1, 3]), W).sum().backward()
    opt.step()
    sd = opt.state_dict()
    W2 = mg.tensor(W.data.copy(), requires_grad=True)
    opt2 = SparseAdam([W2], lr=0.5)
    opt2.load_state_dict(sd)
    assert opt2.param_groups[0]["lr"] == 0.01 and opt2.state[W2]["step"] == 1
    assert np.array_equal(opt2.state[W2]["v"], opt.state[W]["v"])


def test_sparse_adam_errors():
    W = _weight("cpu")
    with pytest.raises(ValueError, match="invalid learning rate lr=-1"):
        SparseAdam([W], lr=-1)
    with pytest.raises(ValueError, match="invalid epsilon value eps=0"):
        SparseAdam([W], eps=0)
    with pytest.raises(ValueError, match="invalid beta parameter at index 1: 1.0"):
        SparseAdam([W], betas=(0.9, 1.0))
    opt = SparseAdam([W])
    (W * W).sum().backward()
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients; use "
                                           "Adam instead"):
        opt.step()
    W.grad = COOTensor._make(np.array([[0]]), mg.tensor(np.ones((1, 2))), (7, 2))
    with pytest.raises(ValueError, match=r"gradient of shape \(7, 2\) does not match its "
                                         r"parameter of shape \(7, 3\)"):
        opt.step()


@pytest.mark.skipif(not hasattr(optim, "SparseAdam"),
                    reason="optim/__init__.py does not list SparseAdam yet (integration)")
def test_sparse_adam_is_exported_by_optim():
    assert optim.SparseAdam is SparseAdam


def test_zero_grad_without_set_to_none_zeroes_a_sparse_gradient():
    W = _weight("cpu")
    opt = SparseAdam([W])
    embedding_sparse(mg.tensor([1, 3]), W).sum().backward()
    opt.zero_grad(set_to_none=False)
    assert W.grad.is_sparse and not W.grad.to_dense().numpy().any()
    with pytest.raises(TypeError, match="does not support item assignment"):
        W.grad[0] = 1.0


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 8), d=st.integers(1, 4),
       idx_shape=st.lists(st.integers(0, 4), min_size=1, max_size=2), data=st.data())
def test_sparse_embedding_passes_gradcheck(n, d, idx_shape, data):
    # gradcheck densifies a sparse gradient (its unstored entries are exact zeros);
    # repeated indices and an empty lookup included, and a padding_idx among the rows not
    # looked up (a padded lookup's gradient is zero by definition, not the derivative)
    idx = np.array(data.draw(st.lists(st.integers(0, n - 1), min_size=math.prod(idx_shape),
                                      max_size=math.prod(idx_shape)))).reshape(idx_shape)
    unused = sorted(set(range(n)) - set(idx.reshape(-1).tolist()))
    padding = data.draw(st.none() | st.sampled_from(unused)) if unused else None
    W = _weight("cpu", n, d)
    assert mg.gradcheck(lambda w: F.embedding(mg.tensor(idx, dtype=mg.int64), w,
                                              padding_idx=padding, sparse=True), (W,))
