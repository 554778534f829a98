"""minigrad.distributions: the KL closed forms between different families, PyTorch's
cross-family pairs (Uniform ‖ Normal, Gamma ‖ Gumbel, Pareto ‖ Exponential, ..., and the
pairs that are inf because p puts mass where q has no density).

Checked against torch.distributions as an oracle on hypothesis-drawn, broadcasting
float64 parameters (values to 1e-9, parameter gradients for a drawn cotangent), and
without it: by Monte Carlo from minigrad's own samples (within 5 standard errors; the seed
is fixed), by closed forms worked out by hand in the comments, and at the edges where
minigrad departs from PyTorch on purpose (see the module docstring)."""
import math

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import minigrad as mg
from minigrad import distributions as D
from minigrad.testing import assert_close

_EULER = 0.57721566490153286061

_in = st.floats
_REAL, _SCALE, _PROB = _in(-2, 2), _in(0.3, 3), _in(0.05, 0.95)
# λ: ContinuousBernoulli's closed forms lose digits as λ nears ½ outside the Taylor region
# (0.499, 0.501): at λ = 0.5025 both libraries' gradients are ~1e-7 off (mpmath) in
# different ways. So the draws are the Taylor region itself or at least 0.05 away.
_CB_PROBS = st.one_of(_in(0.05, 0.45), _in(0.4995, 0.5005), _in(0.55, 0.95))

# name → (build(module, *parameters), a strategy for each parameter's elements). Uniform
# is built from (low, width) and Pareto from (scale, alpha), so that draws straddle the
# supports of the other families (low < 0, high > 1, low < xₘ; α ≤ 1, α ≤ 2).
FAMILIES = {
    "Normal": (lambda m, loc, scale: m.Normal(loc, scale), [_REAL, _SCALE]),
    "Laplace": (lambda m, loc, scale: m.Laplace(loc, scale), [_REAL, _SCALE]),
    "Gumbel": (lambda m, loc, scale: m.Gumbel(loc, scale), [_REAL, _SCALE]),
    "Uniform": (lambda m, low, width: m.Uniform(low, low + width),
                [_in(-0.5, 1.5), _in(0.05, 1.5)]),
    "Exponential": (lambda m, rate: m.Exponential(rate), [_in(0.2, 4)]),
    "Gamma": (lambda m, a, b: m.Gamma(a, b), [_in(0.3, 5), _in(0.3, 4)]),
    "Beta": (lambda m, a, b: m.Beta(a, b), [_in(0.3, 5), _in(0.3, 5)]),
    "Pareto": (lambda m, scale, alpha: m.Pareto(scale, alpha), [_in(0.2, 2), _in(0.5, 5)]),
    "ContinuousBernoulli": (lambda m, probs: m.ContinuousBernoulli(probs=probs), [_CB_PROBS]),
    "Bernoulli": (lambda m, probs: m.Bernoulli(probs=probs), [_PROB]),
    "Poisson": (lambda m, rate: m.Poisson(rate), [_in(0.2, 5)]),
    "Binomial": (lambda m, probs: m.Binomial(5, probs=probs), [_PROB]),
}

# PyTorch 2.13's registered pairs of different families that minigrad has
# (test_every_pytorch_cross_pair_is_registered checks this list against the registry).
CROSS_PAIRS = [
    ("Bernoulli", "Poisson"),
    *[("Beta", q) for q in ("ContinuousBernoulli", "Exponential", "Gamma", "Normal",
                            "Pareto", "Uniform")],
    *[("ContinuousBernoulli", q) for q in ("Exponential", "Normal", "Pareto", "Uniform")],
    *[("Exponential", q) for q in ("Beta", "ContinuousBernoulli", "Gamma", "Gumbel",
                                   "Normal", "Pareto", "Uniform")],
    *[("Gamma", q) for q in ("Beta", "ContinuousBernoulli", "Exponential", "Gumbel",
                             "Normal", "Pareto", "Uniform")],
    *[("Gumbel", q) for q in ("Beta", "ContinuousBernoulli", "Exponential", "Gamma",
                              "Normal", "Pareto", "Uniform")],
    *[("Laplace", q) for q in ("Beta", "ContinuousBernoulli", "Exponential", "Gamma",
                               "Normal", "Pareto", "Uniform")],
    *[("Normal", q) for q in ("Beta", "ContinuousBernoulli", "Exponential", "Gamma",
                              "Gumbel", "Laplace", "Pareto", "Uniform")],
    *[("Pareto", q) for q in ("Beta", "ContinuousBernoulli", "Exponential", "Gamma",
                              "Normal", "Uniform")],
    ("Poisson", "Bernoulli"), ("Poisson", "Binomial"),
    *[("Uniform", q) for q in ("Beta", "ContinuousBernoulli", "Exponential", "Gamma",
                               "Gumbel", "Normal", "Pareto")],
]

# The gradients of a Beta's or a Gamma's entropy go through PyTorch's trigamma, good to
# ~5e-10 relative (minigrad's is exact: tests/core/test_special), and the terms cancel.
_TRIGAMMA_P = {"Beta", "Gamma"}


def test_every_pytorch_cross_pair_is_registered():
    for p, q in CROSS_PAIRS:
        type_p, type_q = getattr(D, p), getattr(D, q)
        assert (type_p, type_q) in D.KL_PAIRS, (p, q)
        assert D._dispatch_kl(type_p, type_q) is D.KL_PAIRS[(type_p, type_q)], (p, q)
    assert len(set(CROSS_PAIRS)) == len(CROSS_PAIRS) == 62
    torch = pytest.importorskip("torch")
    ours = {n for n in dir(D) if isinstance(getattr(D, n), type)
            and issubclass(getattr(D, n), D.Distribution)}
    theirs = {(p.__name__, q.__name__) for p, q in torch.distributions.kl._KL_REGISTRY}
    shared = {(p, q) for p, q in theirs if p in ours and q in ours}
    assert all((getattr(D, p), getattr(D, q)) in D.KL_PAIRS for p, q in shared)
    # the normals' cross pairs are older (tests/test_distributions_more.py)
    older = {("MultivariateNormal", "LowRankMultivariateNormal"),
             ("LowRankMultivariateNormal", "MultivariateNormal")}
    assert {(p, q) for p, q in shared if p != q} == set(CROSS_PAIRS) | older


def _cb_boundary(pair, params):
    """Where minigrad's ContinuousBernoulli–Uniform KL is finite and PyTorch's inf: the
    Uniform's end exactly at 0 or 1 (PyTorch tests ≥/≤ where the supports only touch)."""
    if "Uniform" not in pair or "ContinuousBernoulli" not in pair:
        return False
    low, width = params[:2] if pair[0] == "Uniform" else params[1:]
    high = low + width
    if pair[0] == "Uniform":            # p inside [0, 1], touching it
        return ((low == 0) & (high <= 1)) | ((low >= 0) & (high == 1))
    return ((low == 0) & (high >= 1)) | ((low <= 0) & (high == 1))   # q covering [0, 1]


@pytest.mark.parametrize("pair", CROSS_PAIRS, ids="-".join)
@given(data=st.data())
def test_cross_kl_matches_torch(pair, data):
    torch = pytest.importorskip("torch")
    (build_p, elements_p), (build_q, elements_q) = FAMILIES[pair[0]], FAMILIES[pair[1]]
    elements = elements_p + elements_q
    shapes = data.draw(hnp.mutually_broadcastable_shapes(num_shapes=len(elements),
                                                         max_dims=2, max_side=3)).input_shapes
    params = [data.draw(hnp.arrays(np.float64, shape, elements=e))
              for shape, e in zip(shapes, elements)]
    n = len(elements_p)
    ours = [mg.tensor(v, requires_grad=True) for v in params]
    theirs = [torch.tensor(v, requires_grad=True) for v in params]
    kl = D.kl_divergence(build_p(D, *ours[:n]), build_q(D, *ours[n:]))
    shape = np.broadcast_shapes(*shapes)
    assert kl.shape == shape
    # PyTorch's `result[mask] = inf` needs the mask at the result's shape: its parameters
    # are broadcast first (and its always-inf pairs have p's batch shape then, too)
    wide = [t.broadcast_to(shape) for t in theirs]
    kl_t = torch.distributions.kl_divergence(build_p(torch.distributions, *wide[:n]),
                                             build_q(torch.distributions, *wide[n:]))
    expected = np.broadcast_to(kl_t.detach().numpy(), shape).copy()
    boundary = np.broadcast_to(_cb_boundary(pair, params), kl.shape)
    assert np.isfinite(kl.detach().numpy()[boundary]).all()
    expected[boundary] = kl.detach().numpy()[boundary]
    assert_close(kl, expected, rtol=1e-9, atol=1e-12)
    if not kl_t.requires_grad:      # the always-inf pairs: a constant in PyTorch
        assert not np.isfinite(expected).any() or pair[0] == "Poisson"
        return
    cotangent = data.draw(hnp.arrays(np.float64, kl.shape, elements=st.floats(-1, 1)))
    cotangent[boundary] = 0.0
    (kl * mg.tensor(cotangent)).sum().backward()
    (kl_t * torch.tensor(cotangent)).sum().backward()
    rtol, atol = (1e-7, 1e-8) if pair[0] in _TRIGAMMA_P else (1e-9, 1e-12)
    for i, a, b in zip(range(len(params)), ours, theirs):
        want = np.zeros(a.shape) if b.grad is None else b.grad.numpy()
        got = np.zeros(a.shape) if a.grad is None else a.grad.numpy()
        finite = np.isfinite(want)       # PyTorch: nan at its masked positions, minigrad 0
        assert_close(got[finite], want[finite], rtol=rtol, atol=atol, msg=f"{pair} parameter {i}")


# --------------------------------------------------------------------------- by hand

def _f(v, device):
    return mg.tensor(v, dtype=mg.float64, device=device)


def _mc_pairs(f):
    return [
        (D.Uniform(f(-0.5), f(1.5)), D.Normal(f(0.3), f(1.2))),
        (D.Exponential(f(1.5)), D.Gamma(f(2.5), f(2.0))),
        (D.Exponential(f(0.8)), D.Gumbel(f(0.5), f(1.5))),
        (D.Exponential(f(2.0)), D.Normal(f(0.2), f(0.7))),
        (D.Gamma(f(3.0), f(2.0)), D.Gumbel(f(1.0), f(0.8))),
        (D.Gamma(f(2.0), f(1.5)), D.Exponential(f(0.7))),
        (D.Gamma(f(0.7), f(1.5)), D.Normal(f(0.5), f(1.0))),
        (D.Beta(f(2.0), f(3.0)), D.Gamma(f(1.5), f(2.0))),
        (D.Beta(f(0.8), f(1.7)), D.ContinuousBernoulli(probs=f(0.3))),
        (D.Beta(f(2.0), f(2.0)), D.Uniform(f(-0.5), f(1.2))),
        (D.ContinuousBernoulli(probs=f(0.8)), D.Normal(f(0.4), f(0.5))),
        (D.Gumbel(f(0.5), f(1.5)), D.Normal(f(1.0), f(2.0))),
        (D.Laplace(f(0.5), f(1.5)), D.Normal(f(-0.5), f(2.0))),
        (D.Normal(f(0.5), f(0.8)), D.Gumbel(f(-0.2), f(1.3))),
        (D.Normal(f(0.5), f(0.8)), D.Laplace(f(-0.2), f(1.3))),
        (D.Pareto(f(1.0), f(3.0)), D.Exponential(f(0.5))),
        (D.Pareto(f(0.5), f(4.0)), D.Gamma(f(2.0), f(1.5))),
        (D.Pareto(f(1.0), f(6.0)), D.Normal(f(1.0), f(1.0))),
        (D.Uniform(f(0.2), f(0.7)), D.Beta(f(2.0), f(3.0))),
        (D.Uniform(f(0.2), f(0.7)), D.ContinuousBernoulli(probs=f(0.2))),
        (D.Uniform(f(0.5), f(2.0)), D.Gamma(f(2.0), f(1.5))),
        (D.Uniform(f(-1.0), f(2.0)), D.Gumbel(f(0.5), f(1.5))),
        (D.Uniform(f(1.5), f(3.0)), D.Pareto(f(1.0), f(2.5))),
        (D.Bernoulli(probs=f(0.3)), D.Poisson(f(0.8))),
    ]


def test_cross_kl_against_monte_carlo(device):
    # E_p[log p(x) − log q(x)] over minigrad's own samples, within 5 standard errors
    mg.manual_seed(31)
    n = 40000
    for p, q in _mc_pairs(lambda v: _f(v, device)):
        s = p.sample((n,))
        r = (p.log_prob(s) - q.log_prob(s)).cpu().numpy()
        kl = D.kl_divergence(p, q).item()
        assert abs(kl - r.mean()) < 5 * r.std() / math.sqrt(n) + 1e-12, \
            (type(p).__name__, type(q).__name__, kl, r.mean())


def test_cross_kl_by_hand(device):
    f = lambda v: _f(v, device)                                 # noqa: E731
    kl = lambda p, q: D.kl_divergence(p, q).item()              # noqa: E731
    # U(0,1) ‖ N(0,1): −log 1 + ½ log 2π + E[x²]/2 = ½ log 2π + 1/6
    assert kl(D.Uniform(f(0.0), f(1.0)), D.Normal(f(0.0), f(1.0))) == \
        pytest.approx(0.5 * math.log(2 * math.pi) + 1 / 6, rel=1e-14)
    # Exp(1) ‖ Gamma(2, 1): log p − log q = −x − (log x − x) = −log x, E[−log x] = γ
    assert kl(D.Exponential(f(1.0)), D.Gamma(f(2.0), f(1.0))) == pytest.approx(_EULER,
                                                                               rel=1e-14)
    # Exp(1) ‖ N(0,1): −H = −1, then ½ log 2π + E[x²]/2 = ½ log 2π + 1
    assert kl(D.Exponential(f(1.0)), D.Normal(f(0.0), f(1.0))) == \
        pytest.approx(0.5 * math.log(2 * math.pi), rel=1e-14)
    # Exp(1) ‖ Gumbel(0,1): −H = −1, E[x] = 1, E[e^(−x)] = ½
    assert kl(D.Exponential(f(1.0)), D.Gumbel(f(0.0), f(1.0))) == pytest.approx(0.5,
                                                                                rel=1e-14)
    # Laplace(0,1) ‖ N(0,1): −(1 + log 2) + ½ log 2π + E[x²]/2 (= 1) = ½ log(π/2)
    assert kl(D.Laplace(f(0.0), f(1.0)), D.Normal(f(0.0), f(1.0))) == \
        pytest.approx(0.5 * math.log(math.pi / 2), rel=1e-14)
    # N(0,1) ‖ Laplace(0,1): −½ − ½ log 2π + log 2 + E|x| (= √(2/π))
    assert kl(D.Normal(f(0.0), f(1.0)), D.Laplace(f(0.0), f(1.0))) == pytest.approx(
        -0.5 - 0.5 * math.log(2 * math.pi) + math.log(2) + math.sqrt(2 / math.pi), rel=1e-14)
    # Gumbel(0,1) ‖ N(0,1): −(1 + γ) + ½ log 2π + (Var + mean²)/2 = … + (π²/6 + γ²)/2
    assert kl(D.Gumbel(f(0.0), f(1.0)), D.Normal(f(0.0), f(1.0))) == pytest.approx(
        -(1 + _EULER) + 0.5 * math.log(2 * math.pi) + (math.pi ** 2 / 6 + _EULER ** 2) / 2,
        rel=1e-14)
    # U(0,1) ‖ Gumbel(0,1): 0 + E[x] (= ½) + E[e^(−x)] (= 1 − 1/e)
    assert kl(D.Uniform(f(0.0), f(1.0)), D.Gumbel(f(0.0), f(1.0))) == \
        pytest.approx(1.5 - 1 / math.e, rel=1e-14)
    # U(0,1) ‖ Beta(2,1): q(x) = 2x, −E[log 2x] = −log 2 + 1
    assert kl(D.Uniform(f(0.0), f(1.0)), D.Beta(f(2.0), f(1.0))) == \
        pytest.approx(1 - math.log(2), rel=1e-14)
    # U(1,2) ‖ Pareto(1,1): q(x) = 1/x², 2·E[log x] = 2(2 log 2 − 1)
    assert kl(D.Uniform(f(1.0), f(2.0)), D.Pareto(f(1.0), f(1.0))) == \
        pytest.approx(4 * math.log(2) - 2, rel=1e-14)
    # U(0,1) ‖ Exp(1): 0 + E[x] = ½
    assert kl(D.Uniform(f(0.0), f(1.0)), D.Exponential(f(1.0))) == pytest.approx(0.5,
                                                                                  rel=1e-14)
    # Pareto(1,3) ‖ Exp(1): −H = log 3 − 4/3, then E[x] = 3/2
    assert kl(D.Pareto(f(1.0), f(3.0)), D.Exponential(f(1.0))) == \
        pytest.approx(math.log(3) + 1 / 6, rel=1e-14)
    # Beta(1,1) = U(0,1) ‖ U(−1,1): log 2
    assert kl(D.Beta(f(1.0), f(1.0)), D.Uniform(f(-1.0), f(1.0))) == \
        pytest.approx(math.log(2), rel=1e-14)
    # Bernoulli(½) ‖ Poisson(1): −log 2 + λ − ½ log λ = 1 − log 2
    assert kl(D.Bernoulli(probs=f(0.5)), D.Poisson(f(1.0))) == pytest.approx(1 - math.log(2),
                                                                            rel=1e-14)


def test_cross_kl_infinite_and_edges(device):
    f = lambda v: _f(v, device)                                 # noqa: E731
    # unbounded p against a bounded (or half-line) q: inf, batch-shaped by both, no graph
    loc = mg.zeros(3, dtype=mg.float64, device=device, requires_grad=True)
    kl = D.kl_divergence(D.Normal(loc, 1.0), D.Beta(f([[1.0], [2.0]]), f(1.0)))
    assert kl.shape == (2, 3) and not kl.requires_grad
    assert np.isinf(kl.cpu().numpy()).all()
    assert D.kl_divergence(D.Gumbel(f(0.0), f(1.0)), D.Exponential(f(1.0))).item() == math.inf
    assert D.kl_divergence(D.Pareto(f(1.0), f(3.0)), D.Uniform(f(0.0), f(9.0))).item() == \
        math.inf
    # Pareto's infinite moments: inf at α ≤ 1 (mean) and α ≤ 2 (variance), gradient 0 there
    alpha = mg.tensor([0.5, 1.0, 1.5, 2.0, 3.0], dtype=mg.float64, device=device,
                      requires_grad=True)
    p = D.Pareto(f(1.0), alpha)
    k_exp = D.kl_divergence(p, D.Exponential(f(1.0)))
    k_norm = D.kl_divergence(p, D.Normal(f(0.0), f(1.0)))
    assert np.isinf(k_exp.cpu().numpy()).tolist() == [True, True, False, False, False]
    assert np.isinf(k_norm.cpu().numpy()).tolist() == [True, True, True, True, False]
    (k_exp.masked_fill(k_exp.isinf(), 0.0).sum() + k_norm.masked_fill(k_norm.isinf(),
                                                                     0.0).sum()).backward()
    g = alpha.grad.cpu().numpy()
    assert np.isfinite(g).all() and (g[:2] == 0).all() and (g[2:] != 0).all()
    # a Uniform leaving q's support: inf, and finite (zero) gradients there
    low = mg.tensor([-0.5, 0.25], dtype=mg.float64, device=device, requires_grad=True)
    k = D.kl_divergence(D.Uniform(low, 0.75), D.Gamma(f(2.0), f(1.0)))
    assert math.isinf(k[0].item()) and math.isfinite(k[1].item())
    k.masked_fill(k.isinf(), 0.0).sum().backward()
    assert low.grad[0].item() == 0.0 and math.isfinite(low.grad[1].item())
    # where minigrad departs from PyTorch (inf in both cases there): supports that only
    # touch, and the Poisson at λ = 0, a point mass at 0
    cb = D.ContinuousBernoulli(probs=f(0.3))
    assert D.kl_divergence(cb, D.Uniform(f(0.0), f(1.0))).item() == \
        pytest.approx(-cb.entropy().item(), rel=1e-14)
    # U(0,1) ‖ CB: log q is affine in x, so −log q(E x) = −log q(½)
    assert D.kl_divergence(D.Uniform(f(0.0), f(1.0)), cb).item() == \
        pytest.approx(-cb.log_prob(f(0.5)).item(), rel=1e-14)
    assert D.kl_divergence(D.Poisson(f(0.0)), D.Bernoulli(probs=f(0.3))).item() == \
        pytest.approx(-math.log(0.7), rel=1e-14)
    assert D.kl_divergence(D.Poisson(f(0.0)), D.Binomial(5, probs=f(0.3))).item() == \
        pytest.approx(-5 * math.log(0.7), rel=1e-12)
    assert D.kl_divergence(D.Poisson(f(2.0)), D.Binomial(5, probs=f(0.3))).item() == math.inf
    # Bernoulli ‖ Poisson(0): 0·log 0 = 0 at π = 0 (PyTorch: nan), inf for π > 0
    assert D.kl_divergence(D.Bernoulli(probs=f(0.0)), D.Poisson(f(0.0))).item() == \
        pytest.approx(0.0, abs=1e-14)
    assert D.kl_divergence(D.Bernoulli(probs=f(0.3)), D.Poisson(f(0.0))).item() == math.inf


# interior parameters: a p = Uniform inside [0, 1] and above Pareto's xₘ, a q = Uniform
# covering [0, 1]; Pareto's α > 2
_INTERIOR = {"Normal": [0.3, 1.2], "Laplace": [-0.2, 0.9], "Gumbel": [0.4, 1.3],
             "Uniform": [0.2, 0.5], "Exponential": [1.3], "Gamma": [2.2, 1.4],
             "Beta": [1.7, 2.6], "Pareto": [0.15, 4.5], "ContinuousBernoulli": [0.3],
             "Bernoulli": [0.35], "Poisson": [1.6], "Binomial": [0.4]}
_INTERIOR_Q = {**_INTERIOR, "Uniform": [-0.3, 1.6]}


def test_cross_kl_gradcheck(device):
    # every finite pair's parameter gradients against central differences (no PyTorch)
    finite = 0
    for pair in CROSS_PAIRS:
        (build_p, _), (build_q, _) = FAMILIES[pair[0]], FAMILIES[pair[1]]
        values = _INTERIOR[pair[0]] + _INTERIOR_Q[pair[1]]
        n = len(_INTERIOR[pair[0]])
        inputs = [mg.tensor([v, v * 1.1], dtype=mg.float64, device=device, requires_grad=True)
                  for v in values]

        def fn(*ps, build_p=build_p, build_q=build_q, n=n):
            return D.kl_divergence(build_p(D, *ps[:n]), build_q(D, *ps[n:]))
        if not math.isfinite(fn(*inputs).sum().item()):
            continue
        finite += 1
        assert mg.gradcheck(fn, inputs), pair
    assert finite == 29          # the other 33 pairs are inf (or inf unless λ = 0)


def test_cross_kl_unregistered_pairs_raise():
    # registered in neither library (PyTorch leaves them as TODOs)
    with pytest.raises(NotImplementedError, match="Beta ‖ Laplace"):
        D.kl_divergence(D.Beta(1.0, 2.0), D.Laplace(0.0, 1.0))
    with pytest.raises(NotImplementedError, match="Exponential ‖ Laplace"):
        D.kl_divergence(D.Exponential(1.0), D.Laplace(0.0, 1.0))
