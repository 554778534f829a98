"""weight_norm and spectral_norm (nn.utils, hook style) and F.gumbel_softmax: the formulas
by hand, gradients, removal, errors, and PyTorch's values and gradients when installed."""
import warnings

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.testing import assert_close


def _t(a, device="cpu", grad=True):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


# ------------------------------------------------------------------ weight_norm


def test_weight_norm_is_g_times_the_unit_direction(device):
    rng = np.random.default_rng(0)
    m = nn.Linear(3, 2).double().to(device)
    w0 = m.weight.detach().cpu().numpy().copy()
    nn.utils.weight_norm(m)
    assert sorted(n for n, _ in m.named_parameters()) == ["bias", "weight_g", "weight_v"]
    assert_close(m.weight_g, np.linalg.norm(w0, axis=1, keepdims=True), rtol=1e-14)
    assert_close(m.weight, w0, rtol=1e-14)                  # unchanged at first
    with mg.no_grad():
        m.weight_g.data[...] *= 2
    x = _t(rng.standard_normal((4, 3)), device)
    y = m(x)                                                # the hook recomputed weight
    assert_close(y, x.detach().cpu().numpy() @ (2 * w0).T + m.bias.detach().cpu().numpy(),
                 rtol=1e-13)
    assert mg.gradcheck(lambda g, v: _with(m, g, v)(x), (m.weight_g, m.weight_v))


def _with(m, g, v):
    """The module with its weight_g/weight_v replaced by the tensors gradcheck perturbs."""
    def run(x):
        m.weight_g, m.weight_v = g, v
        return m(x)
    return run


def test_weight_norm_dims_and_removal():
    conv = nn.Conv2d(2, 3, 3).double()
    w0 = conv.weight.detach().cpu().numpy().copy()
    nn.utils.weight_norm(conv, dim=1)
    assert conv.weight_g.shape == (1, 2, 1, 1)
    assert_close(conv.weight_g, np.sqrt((w0 ** 2).sum(axis=(0, 2, 3), keepdims=True)))
    whole = nn.utils.weight_norm(nn.Linear(3, 2), dim=None)
    assert whole.weight_g.shape == ()
    nn.utils.remove_weight_norm(conv)
    assert sorted(n for n, _ in conv.named_parameters()) == ["bias", "weight"]
    assert isinstance(conv.weight, nn.Parameter)
    assert_close(conv.weight, w0, rtol=1e-14)
    conv(mg.randn(1, 2, 4, 4, dtype=mg.float64))            # no hook left to fail


def test_weight_norm_errors():
    m = nn.utils.weight_norm(nn.Linear(3, 2))
    with pytest.raises(RuntimeError, match="cannot register two weight_norm hooks"):
        nn.utils.weight_norm(m)
    with pytest.raises(RuntimeError, match="cannot register two weight_norm hooks"):
        nn.utils.spectral_norm(m)
    with pytest.raises(ValueError, match="has no parameter 'kernel'"):
        nn.utils.weight_norm(nn.Linear(3, 2), name="kernel")
    with pytest.raises(IndexError, match="dim 2 is out of range"):
        nn.utils.weight_norm(nn.Linear(3, 2), dim=2)
    with pytest.raises(ValueError, match="remove_spectral_norm: spectral_norm of 'weight'"):
        nn.utils.remove_spectral_norm(m)


def test_weight_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    for make, make_t, shape, dim in [
            (lambda: nn.Linear(4, 3), lambda: torch.nn.Linear(4, 3), (5, 4), 0),
            (lambda: nn.Conv2d(2, 3, 3), lambda: torch.nn.Conv2d(2, 3, 3), (2, 2, 5, 5), 0),
            (lambda: nn.Conv2d(2, 3, 3), lambda: torch.nn.Conv2d(2, 3, 3), (2, 2, 5, 5), None),
            (lambda: nn.Linear(4, 3), lambda: torch.nn.Linear(4, 3), (5, 4), 1)]:
        theirs = make_t().double()
        ours = make().double()
        ours.load_state_dict({k: v.detach().cpu().numpy() for k, v in theirs.state_dict().items()})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            torch.nn.utils.weight_norm(theirs, dim=dim)
        nn.utils.weight_norm(ours, dim=dim)
        for name, p in theirs.named_parameters():
            assert_close(getattr(ours, name), p.detach().cpu().numpy(), rtol=1e-14)
        x = rng.standard_normal(shape)
        y, yt = ours(mg.tensor(x)), theirs(torch.tensor(x))
        assert_close(y, yt.detach().cpu().numpy(), rtol=1e-12, atol=1e-14)
        g = rng.standard_normal(yt.shape)
        y.backward(mg.tensor(g))
        yt.backward(torch.tensor(g))
        for name, p in theirs.named_parameters():
            assert_close(getattr(ours, name).grad, p.grad.cpu().numpy(), rtol=1e-10, atol=1e-13)


# ------------------------------------------------------------------ spectral_norm


def test_spectral_norm_divides_by_the_power_iteration_sigma(device):
    mg.manual_seed(0)
    m = nn.Linear(5, 4).double().to(device)
    w0 = m.weight.detach().cpu().numpy().copy()
    nn.utils.spectral_norm(m, n_power_iterations=1)
    assert sorted(n for n, _ in m.named_parameters()) == ["bias", "weight_orig"]
    assert sorted(n for n, _ in m.named_buffers()) == ["weight_u", "weight_v"]
    u0 = m.weight_u.cpu().numpy().copy()
    m(_t(np.ones((1, 5)), device))                          # training: one iteration
    v = w0.T @ u0
    v /= np.linalg.norm(v)
    u = w0 @ v
    u /= np.linalg.norm(u)
    assert_close(m.weight_v, v, rtol=1e-12)
    assert_close(m.weight_u, u, rtol=1e-12)
    assert_close(m.weight, w0 / (u @ w0 @ v), rtol=1e-12)
    for _ in range(30):                                     # converges to σ_max
        m(_t(np.ones((1, 5)), device))
    assert np.linalg.svd(m.weight.detach().cpu().numpy())[1][0] == pytest.approx(1.0, abs=1e-6)
    m.eval()
    u_before = m.weight_u.cpu().numpy().copy()
    m(_t(np.ones((1, 5)), device))
    assert np.array_equal(m.weight_u.cpu().numpy(), u_before)     # eval: no power iteration
    x = _t(np.random.default_rng(2).standard_normal((3, 5)), device)

    def run(w, x):
        m.weight_orig = w
        return m(x)
    assert mg.gradcheck(run, (m.weight_orig, x))


def test_spectral_norm_dims_removal_and_errors():
    ct = nn.utils.spectral_norm(nn.ConvTranspose2d(2, 3, 3))
    assert ct.weight_u.shape == (3,) and ct.weight_v.shape == (2 * 9,)   # dim 1 by default
    conv = nn.utils.spectral_norm(nn.Conv2d(2, 3, 3))
    assert conv.weight_u.shape == (3,) and conv.weight_v.shape == (18,)
    conv(mg.randn(1, 2, 4, 4))
    w = conv.weight.detach().cpu().numpy().copy()
    nn.utils.remove_spectral_norm(conv)
    assert sorted(n for n, _ in conv.named_parameters()) == ["bias", "weight"]
    assert list(conv.named_buffers()) == []
    assert_close(conv.weight, w, rtol=1e-6)
    with pytest.raises(ValueError, match="n_power_iterations must be non-negative"):
        nn.utils.spectral_norm(nn.Linear(2, 2), n_power_iterations=-1)
    with pytest.raises(IndexError, match="dim 3 is out of range"):
        nn.utils.spectral_norm(nn.Linear(2, 2), dim=3)


def test_spectral_norm_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(3)
    for make, make_t, shape in [
            (lambda: nn.Linear(4, 3), lambda: torch.nn.Linear(4, 3), (5, 4)),
            (lambda: nn.Conv2d(2, 3, 3), lambda: torch.nn.Conv2d(2, 3, 3), (2, 2, 5, 5)),
            (lambda: nn.ConvTranspose2d(2, 3, 3), lambda: torch.nn.ConvTranspose2d(2, 3, 3),
             (2, 2, 4, 4))]:
        theirs = torch.nn.utils.spectral_norm(make_t().double(), n_power_iterations=2)
        ours = nn.utils.spectral_norm(make().double(), n_power_iterations=2)
        ours.load_state_dict({k: v.detach().cpu().numpy() for k, v in theirs.state_dict().items()})
        for _ in range(3):                      # the buffers evolve identically
            x = rng.standard_normal(shape)
            y, yt = ours(mg.tensor(x)), theirs(torch.tensor(x))
            assert_close(y, yt.detach().cpu().numpy(), rtol=1e-11, atol=1e-13)
            assert_close(ours.weight_u, theirs.weight_u.cpu().numpy(), rtol=1e-11, atol=1e-13)
            g = rng.standard_normal(yt.shape)
            y.backward(mg.tensor(g))
            yt.backward(torch.tensor(g))
            assert_close(ours.weight_orig.grad, theirs.weight_orig.grad.cpu().numpy(), rtol=1e-9,
                         atol=1e-12)
        ours.eval()
        theirs.eval()
        x = rng.standard_normal(shape)
        assert_close(ours(mg.tensor(x)), theirs(torch.tensor(x)).detach().cpu().numpy(),
                     rtol=1e-11, atol=1e-13)


# ------------------------------------------------------------------ gumbel_softmax


def test_gumbel_softmax_samples_the_categorical_law(device):
    mg.manual_seed(5)
    logits = mg.tensor(np.log([[0.1, 0.2, 0.7]] * 20000), device=device)
    y = F.gumbel_softmax(logits, tau=0.5, hard=True)
    arr = np.asarray(y.tolist())
    assert np.allclose(arr.sum(axis=1), 1.0) and set(np.unique(arr)) <= {0.0, 1.0}
    assert np.allclose(arr.mean(axis=0), [0.1, 0.2, 0.7], atol=0.015)   # Gumbel-max
    soft = F.gumbel_softmax(logits[:5], tau=2.0)
    assert np.allclose(np.asarray(soft.tolist()).sum(axis=1), 1.0)
    assert (np.asarray(soft.tolist()) > 0).all()


def test_gumbel_softmax_gradients_are_the_soft_samples(device):
    x = _t(np.random.default_rng(0).standard_normal((3, 4)), device)

    def f(x, hard):
        mg.manual_seed(1)          # the same noise at every evaluation
        return F.gumbel_softmax(x, tau=0.7, hard=hard, dim=0)
    assert mg.gradcheck(lambda x: f(x, False), (x,))
    gh = mg.autograd.grad(f(x, True).sum(dim=1).pow(2).sum(), x)[0]
    y = f(x, False)
    gs = mg.autograd.grad((f(x, True).detach() - y.detach() + y).sum(dim=1).pow(2).sum(), x)[0]
    assert_close(gh, gs.cpu().numpy(), rtol=1e-14)          # straight-through: the soft gradient
    with pytest.raises(ValueError, match="tau must be positive"):
        F.gumbel_softmax(x, tau=0.0)
