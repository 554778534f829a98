"""Sampling and index creation (randperm, multinomial, bernoulli, normal, randint_like,
bernoulli_/exponential_, logspace, tril/triu_indices): seeded repeatability, the laws the
samples follow (frequencies within a few standard errors), clear errors, on every
device; PyTorch as an oracle for the deterministic ones when it is installed."""
import numpy as np
import pytest

import minigrad as mg


def _freq(samples, k):
    return np.bincount(np.asarray(samples).ravel(), minlength=k) / np.asarray(samples).size


def test_randperm_is_a_seeded_permutation(device):
    mg.manual_seed(3)
    p = mg.randperm(50, device=device)
    assert p.dtype == mg.int64 and p.device == device
    assert sorted(p.tolist()) == list(range(50)) and p.tolist() != list(range(50))
    mg.manual_seed(3)
    assert mg.randperm(50, device=device).tolist() == p.tolist()
    assert mg.randperm(0, device=device).shape == (0,)
    assert mg.randperm(4, dtype=mg.int32, device=device).dtype == mg.int32
    with pytest.raises(ValueError, match="randperm: n must be a non-negative int"):
        mg.randperm(-1)


def test_multinomial_with_replacement_follows_the_weights(device):
    mg.manual_seed(0)
    w = mg.tensor([1.0, 2.0, 0.0, 7.0], device=device)         # unnormalized, a zero
    s = mg.multinomial(w, 40000, replacement=True)
    assert s.shape == (40000,) and s.dtype == mg.int64 and s.device == device
    f = _freq(s.tolist(), 4)
    assert f[2] == 0.0
    assert np.allclose(f, [0.1, 0.2, 0.0, 0.7], atol=0.01)   # 5 standard errors
    rows = mg.multinomial(mg.tensor([[0.0, 1.0], [1.0, 0.0]], device=device), 3, True)
    assert rows.tolist() == [[1, 1, 1], [0, 0, 0]]


def test_multinomial_without_replacement_draws_distinct_categories_in_law(device):
    mg.manual_seed(1)
    w = mg.tensor([[1.0, 2.0, 7.0, 0.0]] * 20000, device=device)
    s = np.asarray(mg.multinomial(w, 2).tolist())
    assert (s[:, 0] != s[:, 1]).all() and (s != 3).all()
    # P(first = i) = w_i / 10; P(second = j) = Σ_i P(first = i) w_j / (10 − w_i)
    assert np.allclose(_freq(s[:, 0], 4), [0.1, 0.2, 0.7, 0.0], atol=0.015)
    second = [sum(wi / 10 * wj / (10 - wi) for i, wi in enumerate((1, 2, 7)) if i != j)
              for j, wj in enumerate((1, 2, 7))]
    assert np.allclose(_freq(s[:, 1], 4)[:3], second, atol=0.015)
    every = mg.multinomial(mg.tensor([3.0, 1.0, 2.0], device=device), 3)
    assert sorted(every.tolist()) == [0, 1, 2]


def test_multinomial_refuses_invalid_distributions():
    with pytest.raises(ValueError, match="probabilities must be finite and non-negative"):
        mg.multinomial(mg.tensor([1.0, -0.5]), 1)
    with pytest.raises(ValueError, match="probabilities must be finite"):
        mg.multinomial(mg.tensor([1.0, float("nan")]), 1)
    with pytest.raises(ValueError, match="sums to 0"):
        mg.multinomial(mg.tensor([[1.0, 0.0], [0.0, 0.0]]), 1)
    with pytest.raises(ValueError, match="cannot draw 2 samples without replacement from a "
                                         "row with 1 categories"):
        mg.multinomial(mg.tensor([0.0, 3.0, 0.0]), 2)
    with pytest.raises(ValueError, match="input must be 1-d or 2-d"):
        mg.multinomial(mg.ones(2, 2, 2), 1)
    with pytest.raises(ValueError, match="num_samples must be a positive int"):
        mg.multinomial(mg.ones(3), 0)


def test_bernoulli_and_inplace_samplers(device):
    mg.manual_seed(2)
    p = mg.tensor([0.0, 0.25, 1.0], dtype=mg.float64, device=device).broadcast_to((20000, 3))
    s = mg.bernoulli(p)
    assert s.dtype == mg.float64 and set(np.unique(s.tolist())) <= {0.0, 1.0}
    assert np.allclose(np.mean(s.tolist(), axis=0), [0.0, 0.25, 1.0], atol=0.015)
    assert mg.tensor([0.3, 0.9], device=device).bernoulli(p=1.0).tolist() == [1.0, 1.0]
    x = mg.zeros(20000, device=device)
    assert abs(float(x.bernoulli_(0.3).mean()) - 0.3) < 0.015
    assert x.bernoulli_(mg.zeros(1, device=device)).sum().item() == 0.0
    e = mg.zeros(40000, dtype=mg.float64, device=device).exponential_(2.0)
    assert (e.min().item() >= 0) and abs(e.mean().item() - 0.5) < 0.01
    assert abs(e.std().item() - 0.5) < 0.015
    with pytest.raises(ValueError, match="bernoulli: probabilities must lie in"):
        mg.bernoulli(mg.tensor([1.5], device=device))
    with pytest.raises(ValueError, match="exponential_: lambd must be positive"):
        mg.zeros(2, device=device).exponential_(0.0)
    with pytest.raises(RuntimeError, match="bernoulli_"):
        mg.zeros(2, requires_grad=True, device=device).bernoulli_()


def test_normal_broadcasts_its_parameters(device):
    mg.manual_seed(4)
    mean = mg.tensor([[0.0], [10.0]], dtype=mg.float64, device=device)
    std = mg.tensor([1.0, 2.0, 0.0], dtype=mg.float64, device=device)
    s = mg.normal(mean, std)
    assert s.shape == (2, 3) and s.dtype == mg.float64
    assert s.tolist()[0][2] == 0.0 and s.tolist()[1][2] == 10.0
    big = mg.normal(mg.full((40000,), 3.0, device=device), 2.0)
    assert abs(big.mean().item() - 3.0) < 0.05 and abs(big.std().item() - 2.0) < 0.05
    n = mg.normal(1.0, 0.5, (3, 2), device=device)
    assert n.shape == (3, 2) and n.dtype == mg.float32 and n.device == device
    with pytest.raises(ValueError, match="pass size when mean and std are numbers"):
        mg.normal(0.0, 1.0)
    with pytest.raises(ValueError, match="size is only for a number mean and std"):
        mg.normal(mean, 1.0, (2,))
    with pytest.raises(ValueError, match="std must be non-negative"):
        mg.normal(mean, -1.0)


def test_randint_like_logspace_and_triangle_indices(device):
    x = mg.zeros(3, 4, dtype=mg.int32, device=device)
    r = mg.randint_like(x, 5)
    assert r.shape == (3, 4) and r.dtype == mg.int32 and 0 <= r.min().item() <= 4
    r = mg.randint_like(x, 10, 12)
    assert set(np.unique(r.tolist())) <= {10, 11}
    assert mg.logspace(0, 2, 3, device=device).tolist() == [1.0, 10.0, 100.0]
    assert mg.logspace(0, 3, 4, base=2, dtype=mg.float64, device=device).tolist() == \
        [1.0, 2.0, 4.0, 8.0]
    assert mg.tril_indices(3, 3, device=device).tolist() == \
        [[0, 1, 1, 2, 2, 2], [0, 0, 1, 0, 1, 2]]
    assert mg.triu_indices(2, 3, 1, device=device).tolist() == [[0, 0, 1], [1, 2, 2]]
    assert mg.tril_indices(0, 3).shape == (2, 0)
    with pytest.raises(ValueError, match="tril_indices: row and col must be non-negative"):
        mg.tril_indices(-1, 2)


def test_deterministic_ones_equal_pytorch():
    torch = pytest.importorskip("torch")
    for args in [(3, 3), (4, 2, 1), (2, 5, -1), (5, 5, 2), (0, 3)]:
        assert mg.tril_indices(*args).tolist() == torch.tril_indices(*args).tolist()
        assert mg.triu_indices(*args).tolist() == torch.triu_indices(*args).tolist()
    ours = mg.logspace(-2, 3, 7, base=3.0, dtype=mg.float64).numpy()
    theirs = torch.logspace(-2, 3, 7, base=3.0, dtype=torch.float64).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-14)
