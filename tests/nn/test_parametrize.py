"""nn.utils.parametrize and nn.utils.parametrizations: the property, the state dict,
gradients to the original, right_inverse, chains, assignment, removal, caching, the
orthogonal constraint through training, errors, and PyTorch's weight_norm/spectral_norm
parametrizations (same state dict) when installed."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn, optim
from minigrad.nn.utils import parametrizations as P
from minigrad.nn.utils import parametrize
from minigrad.testing import assert_close


class Symmetric(nn.Module):
    def forward(self, X):
        return X.triu() + X.triu(1).mT


class Double(nn.Module):
    def forward(self, X):
        return 2 * X

    def right_inverse(self, W):
        return W / 2


def test_register_property_state_dict_and_gradient():
    mg.manual_seed(0)
    m = nn.Linear(3, 3).double()
    W0 = m.weight.detach().numpy().copy()
    parametrize.register_parametrization(m, "weight", Symmetric())
    assert parametrize.is_parametrized(m) and parametrize.is_parametrized(m, "weight")
    assert not parametrize.is_parametrized(m, "bias")
    assert type(m).__name__ == "ParametrizedLinear" and isinstance(m, nn.Linear)
    assert sorted(m.state_dict()) == ["bias", "parametrizations.weight.original"]
    W = m.weight.numpy()
    assert np.array_equal(W, W.T) and np.array_equal(np.triu(W), np.triu(W0))
    x = mg.tensor(np.ones((2, 3)), requires_grad=True)
    m(x).sum().backward()
    g = m.parametrizations.weight.original.grad.numpy()
    assert np.array_equal(np.tril(g, -1), np.zeros((3, 3)))       # only the triangle used
    assert names(m) == ["bias", "parametrizations.weight.original"]
    assert mg.gradcheck(lambda o: Symmetric()(o), (m.parametrizations.weight.original,))


def names(m):
    return sorted(n for n, _ in m.named_parameters())


def test_right_inverse_chain_assignment_removal_and_cache():
    m = nn.Linear(2, 2).double()
    W0 = m.weight.detach().numpy().copy()
    parametrize.register_parametrization(m, "weight", Double())
    assert_close(m.weight, W0, rtol=1e-15)                         # same function as before
    assert_close(m.parametrizations.weight.original, W0 / 2, rtol=1e-15)
    parametrize.register_parametrization(m, "weight", Double())    # chained: 2·2·(W0/2)
    assert_close(m.weight, 2 * W0, rtol=1e-15)
    m.weight = mg.tensor(np.eye(2))                                # through right_inverse
    assert_close(m.weight, np.eye(2), rtol=1e-15)
    with parametrize.cached():
        assert m.weight is m.weight
    assert m.weight is not m.weight
    parametrize.remove_parametrizations(m, "weight")
    assert type(m) is nn.Linear and names(m) == ["bias", "weight"]
    assert_close(m.weight, np.eye(2), rtol=1e-15)
    n = nn.Linear(2, 2).double()
    parametrize.register_parametrization(n, "weight", Double())
    parametrize.remove_parametrizations(n, "weight", leave_parametrized=False)
    assert "parametrizations" not in n._modules
    with pytest.raises(ValueError, match="no parameter or buffer 'kernel'"):
        parametrize.register_parametrization(n, "kernel", Double())
    with pytest.raises(ValueError, match="changes 'weight'"):
        parametrize.register_parametrization(n, "weight", nn.Flatten(0))
    with pytest.raises(ValueError, match="has no parametrization on 'weight'"):
        parametrize.remove_parametrizations(n, "weight")


def test_orthogonal_stays_orthogonal_while_training(device):
    mg.manual_seed(1)
    m = P.orthogonal(nn.Linear(5, 3).double().to(device))         # wide: W Wᵀ = I
    W = m.weight.detach().cpu().numpy()
    assert_close(W @ W.T, np.eye(3), atol=1e-13)
    tall = P.orthogonal(nn.Linear(3, 5, bias=False).double().to(device))
    Wt = tall.weight.detach().cpu().numpy()
    assert_close(Wt.T @ Wt, np.eye(3), atol=1e-13)
    opt = optim.SGD(m.parameters(), lr=0.1)
    rng = np.random.default_rng(0)
    x = mg.tensor(rng.standard_normal((8, 5)), device=device)
    y = mg.tensor(rng.standard_normal((8, 3)), device=device)
    first = None
    for _ in range(30):
        opt.zero_grad()
        loss = ((m(x) - y) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    W = m.weight.detach().cpu().numpy()
    assert_close(W @ W.T, np.eye(3), atol=1e-12) and loss.item() < first
    with pytest.raises(ValueError, match="at least 2 dims"):
        P.orthogonal(nn.Linear(2, 2), "bias")


def test_parametrized_weight_and_spectral_norm():
    mg.manual_seed(2)
    m = P.weight_norm(nn.Linear(4, 3).double())
    assert names(m) == ["bias", "parametrizations.weight.original0",
                        "parametrizations.weight.original1"]
    g = m.parametrizations.weight.original0.numpy()
    v = m.parametrizations.weight.original1.numpy()
    assert_close(m.weight, v * g / np.linalg.norm(v, axis=1, keepdims=True), rtol=1e-14)
    s = P.spectral_norm(nn.Linear(4, 3).double())
    s(mg.ones(1, 4, dtype=mg.float64))
    sigma = np.linalg.svd(s.weight.detach().numpy(), compute_uv=False)[0]
    assert sigma == pytest.approx(1.0, abs=1e-6)            # 15 + 1 power iterations
    assert sorted(n for n, _ in s.named_buffers()) == ["parametrizations.weight.0._u",
                                                       "parametrizations.weight.0._v"]


def test_matches_torch_parametrizations():
    torch = pytest.importorskip("torch")
    tp = torch.nn.utils.parametrizations
    rng = np.random.default_rng(3)
    for ours_fn, theirs_fn, kw in [(P.weight_norm, tp.weight_norm, {}),
                                   (P.weight_norm, tp.weight_norm, dict(dim=1)),
                                   (P.spectral_norm, tp.spectral_norm, {}),
                                   (P.spectral_norm, tp.spectral_norm,
                                    dict(n_power_iterations=3))]:
        theirs = theirs_fn(torch.nn.Linear(4, 3).double(), **kw)
        ours = ours_fn(nn.Linear(4, 3).double(), **kw)
        ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
        for _ in range(2):
            x = rng.standard_normal((5, 4))
            y, yt = ours(mg.tensor(x)), theirs(torch.tensor(x))
            assert_close(y, yt.detach().numpy(), rtol=1e-11, atol=1e-13)
            g = rng.standard_normal(yt.shape)
            y.backward(mg.tensor(g))
            yt.backward(torch.tensor(g))
            grads = dict(theirs.named_parameters())
            for name, p in ours.named_parameters():
                assert_close(p.grad, grads[name].grad.numpy(), rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("shape", [(4, 4), (5, 3), (3, 5)])
@pytest.mark.parametrize("orthogonal_map", ["matrix_exp", "cayley", "householder"])
def test_every_orthogonal_map_starts_at_the_orthogonalized_weight_and_trains(
        shape, orthogonal_map):
    mg.manual_seed(3)
    lin = nn.Linear(shape[1], shape[0], bias=False, dtype=mg.float64)
    w0 = lin.weight.numpy().copy()
    m = P.orthogonal(lin, orthogonal_map=orthogonal_map)
    assert "parametrizations.weight.0.base" in m.state_dict()
    tall = w0 if shape[0] >= shape[1] else w0.T
    q, r = np.linalg.qr(tall)
    q = q * np.sign(np.diag(r))
    W = m.weight.numpy()
    assert_close(W if shape[0] >= shape[1] else W.T, q, atol=1e-12)   # starts at base
    opt = optim.SGD(m.parameters(), lr=0.2)
    x = mg.tensor(np.random.default_rng(0).standard_normal((6, shape[1])))
    first = None
    for _ in range(10):
        opt.zero_grad()
        loss = ((m(x) - 1.0) ** 2).mean()
        loss.backward()
        opt.step()
        first = first if first is not None else loss.item()
    W = m.weight.numpy()
    k = min(shape)
    assert_close(W @ W.T if shape[0] <= shape[1] else W.T @ W, np.eye(k), atol=1e-12)
    assert loss.item() < first


def test_orthogonal_assignment_and_errors():
    m = P.orthogonal(nn.Linear(3, 3, bias=False, dtype=mg.float64))
    q = np.linalg.qr(np.random.default_rng(1).standard_normal((3, 3)))[0]
    m.weight = mg.tensor(q)
    assert_close(m.weight, q, atol=1e-12)                    # base re-set to q
    no_triv = P.orthogonal(nn.Linear(3, 3, bias=False), orthogonal_map="cayley",
                           use_trivialization=False)
    with pytest.raises(NotImplementedError, match="without trivialization"):
        no_triv.weight = mg.eye(3)
    with pytest.raises(ValueError, match="orthogonal_map must be one of"):
        P.orthogonal(nn.Linear(2, 2), orthogonal_map="qr")


def test_orthogonal_maps_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(4)
    w0, X = rng.standard_normal((4, 4)), 0.3 * rng.standard_normal((4, 4))
    for orthogonal_map in ("matrix_exp", "cayley"):
        mine = nn.Linear(4, 4, bias=False, dtype=mg.float64)
        theirs = torch.nn.Linear(4, 4, bias=False).double()
        with mg.no_grad():
            mine.weight.copy_(w0)
        with torch.no_grad():
            theirs.weight.copy_(torch.tensor(w0))
        P.orthogonal(mine, orthogonal_map=orthogonal_map)
        torch.nn.utils.parametrizations.orthogonal(theirs, orthogonal_map=orthogonal_map)
        np.testing.assert_allclose(mine.weight.numpy(), theirs.weight.detach().numpy(),
                                   atol=1e-12)
        with mg.no_grad():
            mine.parametrizations.weight.original.copy_(X)
        with torch.no_grad():
            theirs.parametrizations.weight.original.copy_(torch.tensor(X))
        np.testing.assert_allclose(mine.weight.numpy(), theirs.weight.detach().numpy(),
                                   atol=1e-12)
        x = rng.standard_normal((2, 4))
        (mine(mg.tensor(x)) ** 2).sum().backward()
        (theirs(torch.tensor(x)) ** 2).sum().backward()
        np.testing.assert_allclose(mine.parametrizations.weight.original.grad.numpy(),
                                   theirs.parametrizations.weight.original.grad.numpy(),
                                   rtol=1e-9, atol=1e-12)
