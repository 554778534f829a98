"""SGD, Adagrad and SparseAdam consume the sparse (COO) gradients of
nn.Embedding(sparse=True); the dense optimizers refuse them with a clear error."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim


def _run(opt_cls, sparse, steps=4, **kwargs):
    mg.manual_seed(0)
    emb = nn.Embedding(12, 3, sparse=sparse)
    opt = opt_cls(emb.parameters(), **kwargs)
    rng = np.random.default_rng(1)
    for _ in range(steps):
        idx = mg.tensor(rng.integers(0, 12, 5))  # repeated rows must accumulate
        target = mg.tensor(rng.standard_normal((5, 3)), dtype=mg.float32)
        loss = ((emb(idx) - target) ** 2).sum()
        opt.zero_grad()
        loss.backward()
        assert emb.weight.grad.is_sparse == sparse
        opt.step()
    return emb.weight.numpy().copy()


@pytest.mark.parametrize("opt_cls, kwargs", [
    (optim.SGD, dict(lr=0.1)),
    (optim.SGD, dict(lr=0.1, maximize=True)),
    (optim.Adagrad, dict(lr=0.5)),
    (optim.Adagrad, dict(lr=0.5, lr_decay=0.1, initial_accumulator_value=0.2)),
])
def test_sparse_path_equals_dense_rule(opt_cls, kwargs):
    """A zero gradient row leaves θ (and Adagrad's G) unchanged, so updating only the
    touched rows is exactly the dense update."""
    np.testing.assert_allclose(_run(opt_cls, True, **kwargs), _run(opt_cls, False, **kwargs),
                               rtol=1e-6, atol=1e-7)


def test_sparse_sgd_moves_only_touched_rows():
    emb = nn.Embedding(6, 2, sparse=True)
    before = emb.weight.numpy().copy()
    opt = optim.SGD(emb.parameters(), lr=1.0)
    emb(mg.tensor([1, 4, 4])).sum().backward()
    opt.step()
    moved = np.flatnonzero((emb.weight.numpy() != before).any(1))
    assert moved.tolist() == [1, 4]
    np.testing.assert_allclose(before[4] - emb.weight.numpy()[4], [2.0, 2.0])  # twice


@pytest.mark.parametrize("opt_cls, kwargs, match", [
    (optim.SGD, dict(lr=0.1, momentum=0.9), "momentum=0"),
    (optim.SGD, dict(lr=0.1, weight_decay=0.1), "weight_decay=0"),
    (optim.Adagrad, dict(lr=0.1, weight_decay=0.1), "weight_decay"),
    (optim.Adam, dict(lr=0.1), "Adam does not support sparse gradients"),
])
def test_unsupported_combinations_are_refused(opt_cls, kwargs, match):
    emb = nn.Embedding(6, 2, sparse=True)
    opt = opt_cls(emb.parameters(), **kwargs)
    emb(mg.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match=match):
        opt.step()


def test_sparse_adam_refuses_dense():
    emb = nn.Embedding(6, 2)
    opt = optim.SparseAdam(emb.parameters())
    emb(mg.tensor([1])).sum().backward()
    with pytest.raises(RuntimeError, match="dense gradients"):
        opt.step()
