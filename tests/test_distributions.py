"""minigrad.distributions: densities and entropies by hand, sample laws (moments within a
few standard errors), reparameterized gradients, KL closed forms against Monte Carlo and
by hand, errors, and torch.distributions as an oracle (values and parameter gradients)
when it is installed."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import distributions as D
from minigrad.testing import assert_close


def _p(values, device="cpu"):
    return mg.tensor(np.asarray(values, dtype=np.float64), device=device, requires_grad=True)


def test_normal_by_hand_and_its_reparameterized_gradient(device):
    loc, scale = _p([0.0, 1.0], device), _p([2.0, 0.5], device)
    d = D.Normal(loc, scale)
    assert d.batch_shape == (2,) and d.event_shape == ()
    x = mg.tensor([1.0, 1.0], dtype=mg.float64, device=device)
    want = [-0.5 * 0.25 - math.log(2.0) - 0.5 * math.log(2 * math.pi),
            -math.log(0.5) - 0.5 * math.log(2 * math.pi)]
    assert_close(d.log_prob(x), want, rtol=1e-14)
    assert_close(d.entropy(), [0.5 + 0.5 * math.log(2 * math.pi) + math.log(s)
                               for s in (2.0, 0.5)], rtol=1e-14)
    assert_close(d.cdf(mg.tensor([0.0, 1.0], dtype=mg.float64, device=device)), [0.5, 0.5])
    assert_close(d.icdf(mg.tensor([0.5, 0.975], dtype=mg.float64, device=device)),
                 [0.0, 1.0 + 0.5 * 1.959963984540054], rtol=1e-12)
    mg.manual_seed(0)
    z = d.rsample((3,))
    assert z.shape == (3, 2) and z.requires_grad
    z.sum().backward()                       # ∂(μ + σε)/∂μ = 1, ∂/∂σ = ε
    assert loc.grad.tolist() == [3.0, 3.0]
    mg.manual_seed(0)
    eps = mg.randn(3, 2, dtype=mg.float64, device=device)
    assert_close(scale.grad, eps.sum(0).cpu().numpy(), rtol=1e-14)
    s = d.sample((40000,))
    assert not s.requires_grad
    assert np.allclose(s.mean(0).tolist(), [0.0, 1.0], atol=0.03)
    assert np.allclose(s.std(0).tolist(), [2.0, 0.5], rtol=0.02)


def test_other_continuous_laws(device):
    mg.manual_seed(1)
    cases = [(D.Uniform(_p(1.0, device), _p(3.0, device)), 2.0, 4 / 12),
             (D.Exponential(_p(2.0, device)), 0.5, 0.25),
             (D.Laplace(_p(-1.0, device), _p(0.5, device)), -1.0, 0.5)]
    for d, mean, var in cases:
        s = d.sample((40000,)).cpu().numpy()
        assert abs(s.mean() - mean) < 0.02 and abs(s.var() - var) < 0.03 * max(var, 0.1)
        assert_close(d.mean, mean, rtol=1e-14)
        assert_close(d.variance, var, rtol=1e-14)
        # the cdf and icdf invert each other; the density integrates the cdf's slope
        p = mg.tensor([0.1, 0.5, 0.9], dtype=mg.float64, device=device)
        assert_close(d.cdf(d.icdf(p)), p.cpu().numpy(), rtol=1e-12)
        x = d.icdf(p)
        h = 1e-6
        slope = (d.cdf(x + h).cpu().numpy() - d.cdf(x - h).cpu().numpy()) / (2 * h)
        assert_close(d.log_prob(x).exp(), slope, rtol=1e-5)   # (Laplace's kink: O(h))
        z = d.rsample((5,))
        assert z.requires_grad
    u = D.Uniform(0.0, 2.0)                       # numbers: the default dtype, float32
    assert u.low.dtype == mg.float32
    assert u.log_prob(mg.tensor([-0.1, 0.0, 1.9, 2.0])).tolist() == \
        [-math.inf, pytest.approx(-math.log(2)), pytest.approx(-math.log(2)), -math.inf]


def test_multivariate_normal(device):
    cov = np.array([[2.0, 0.6], [0.6, 1.0]])
    loc = _p([1.0, -1.0], device)
    d = D.MultivariateNormal(loc, mg.tensor(cov, device=device))
    x = np.array([0.3, 0.2])
    diff = x - np.array([1.0, -1.0])
    want = -0.5 * (2 * math.log(2 * math.pi) + diff @ np.linalg.solve(cov, diff)
                   + math.log(np.linalg.det(cov)))
    assert d.log_prob(mg.tensor(x, device=device)).item() == pytest.approx(want, rel=1e-13)
    assert d.entropy().item() == pytest.approx(
        1 + math.log(2 * math.pi) + 0.5 * math.log(np.linalg.det(cov)), rel=1e-13)
    assert_close(d.covariance_matrix, cov, rtol=1e-14)
    assert_close(d.variance, np.diag(cov), rtol=1e-14)
    same = [D.MultivariateNormal(loc, precision_matrix=mg.tensor(np.linalg.inv(cov),
                                                                 device=device)),
            D.MultivariateNormal(loc, scale_tril=mg.tensor(np.linalg.cholesky(cov),
                                                           device=device))]
    for e in same:
        assert e.log_prob(mg.tensor(x, device=device)).item() == pytest.approx(want, rel=1e-12)
    mg.manual_seed(2)
    s = d.sample((40000,)).cpu().numpy()
    assert np.allclose(np.cov(s.T), cov, atol=0.05) and np.allclose(s.mean(0), [1, -1],
                                                                    atol=0.03)
    with pytest.raises(ValueError, match="positive-definite"):
        D.MultivariateNormal(mg.zeros(2), mg.tensor([[1.0, 2.0], [2.0, 1.0]]))
    with pytest.raises(ValueError, match="exactly one of"):
        D.MultivariateNormal(mg.zeros(2))


def test_discrete_laws(device):
    b = D.Bernoulli(probs=_p([0.2, 0.9], device))
    assert_close(b.log_prob(mg.tensor([1.0, 0.0], dtype=mg.float64, device=device)),
                 [math.log(0.2), math.log(0.1)], rtol=1e-13)
    assert_close(b.entropy(), [-(p * math.log(p) + (1 - p) * math.log(1 - p))
                               for p in (0.2, 0.9)], rtol=1e-13)
    logits = D.Bernoulli(logits=mg.tensor([0.0, 50.0], dtype=mg.float64, device=device))
    assert logits.log_prob(mg.tensor([0.0, 0.0], dtype=mg.float64, device=device)).tolist() \
        == [-math.log(2), -50.0]                    # exact far in the tail
    mg.manual_seed(3)
    assert abs(np.mean(b.sample((20000,)).cpu().numpy(), axis=0) - [0.2, 0.9]).max() < 0.015
    c = D.Categorical(probs=mg.tensor([[1.0, 1.0, 2.0], [0.0, 1.0, 0.0]], dtype=mg.float64,
                                      device=device))
    assert c.batch_shape == (2,) and c.mode.tolist() == [2, 1]
    assert_close(c.log_prob(mg.tensor([2, 1], device=device)), [math.log(0.5), 0.0])
    assert_close(c.entropy(), [1.5 * math.log(2), 0.0], rtol=1e-12)
    mg.manual_seed(4)
    s = c.sample((20000,)).cpu().numpy()
    assert s.shape == (20000, 2) and (s[:, 1] == 1).all()
    assert np.allclose(np.bincount(s[:, 0], minlength=3) / 20000, [0.25, 0.25, 0.5],
                       atol=0.015)
    with pytest.raises(ValueError, match="values must be 0 or 1"):
        b.log_prob(mg.tensor([0.5, 1.0], dtype=mg.float64, device=device))
    with pytest.raises(ValueError, match=r"values must be integers in \[0, 3\)"):
        c.log_prob(mg.tensor([3, 0], device=device))
    with pytest.raises(NotImplementedError, match="no reparameterized sample"):
        b.rsample()


def test_independent_and_kl_closed_forms(device):
    p = D.Normal(_p([0.0, 1.0], device), _p([1.0, 2.0], device))
    q = D.Normal(_p([1.0, 1.0], device), _p([1.0, 1.0], device))
    kl = D.kl_divergence(p, q)
    assert_close(kl, [0.5, 0.5 * (4 - 1 - math.log(4))], rtol=1e-14)
    ip, iq = D.Independent(p, 1), D.Independent(q, 1)
    assert ip.batch_shape == () and ip.event_shape == (2,)
    assert D.kl_divergence(ip, iq).item() == pytest.approx(sum(kl.tolist()), rel=1e-14)
    x = mg.tensor([0.5, 0.5], dtype=mg.float64, device=device)
    assert ip.log_prob(x).item() == pytest.approx(sum(p.log_prob(x).tolist()), rel=1e-14)
    # Monte Carlo: E_p[log p − log q] for each closed form
    mg.manual_seed(5)
    pairs = [(D.Exponential(2.0), D.Exponential(0.5)), (D.Laplace(0.0, 1.0), D.Laplace(1.0, 2.0)),
             (D.Uniform(0.0, 1.0), D.Uniform(-1.0, 2.0)),
             (D.Bernoulli(probs=mg.tensor(0.3)), D.Bernoulli(probs=mg.tensor(0.6))),
             (D.Categorical(probs=mg.tensor([0.2, 0.3, 0.5])),
              D.Categorical(probs=mg.tensor([0.5, 0.25, 0.25]))),
             (D.MultivariateNormal(mg.zeros(2, dtype=mg.float64),
                                   mg.tensor([[1.0, 0.3], [0.3, 2.0]])),
              D.MultivariateNormal(mg.ones(2, dtype=mg.float64),
                                   mg.tensor([[2.0, -0.2], [-0.2, 1.0]])))]
    for a, b in pairs:
        s = a.sample((100000,))
        mc = (a.log_prob(s) - b.log_prob(s)).mean().item()
        assert D.kl_divergence(a, b).item() == pytest.approx(mc, abs=0.02), type(a).__name__
    assert D.kl_divergence(D.Uniform(0.0, 3.0), D.Uniform(0.0, 1.0)).item() == math.inf
    with pytest.raises(NotImplementedError, match="Beta ‖ Laplace"):  # in neither library
        D.kl_divergence(D.Beta(1.0, 2.0), D.Laplace(0.0, 1.0))


def test_parameter_checks():
    with pytest.raises(ValueError, match="Normal: scale must be positive"):
        D.Normal(0.0, -1.0)
    with pytest.raises(ValueError, match="Uniform: low must be < high"):
        D.Uniform(1.0, 1.0)
    with pytest.raises(ValueError, match="Bernoulli: probs must lie in"):
        D.Bernoulli(probs=mg.tensor([1.5]))
    with pytest.raises(ValueError, match="give exactly one of probs and logits"):
        D.Categorical()
    with pytest.raises(ValueError, match="Exponential: rate must be positive"):
        D.Exponential(0.0)
    D.Normal(0.0, -1.0, validate_args=False)        # the check can be turned off


def test_matches_torch():
    torch = pytest.importorskip("torch")
    td = torch.distributions
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(3), rng.uniform(0.5, 2.0, 3)
    c = rng.standard_normal((3, 4))
    A = rng.standard_normal((2, 3, 3))
    cov = A @ A.transpose(0, 2, 1) + 3 * np.eye(3)

    def build(mod, m, params):
        mods = {"Normal": lambda p: mod.Normal(p[0], p[1]),
                "Laplace": lambda p: mod.Laplace(p[0], p[1]),
                "Exponential": lambda p: mod.Exponential(p[1]),
                "Uniform": lambda p: mod.Uniform(p[0], p[0] + p[1]),
                "Bernoulli": lambda p: mod.Bernoulli(logits=p[0]),
                "Categorical": lambda p: mod.Categorical(logits=p[2]),
                "MVN": lambda p: mod.MultivariateNormal(p[0], covariance_matrix=p[3])}
        return mods[m](params)

    values = {"Normal": a + 0.3, "Laplace": a - 0.2, "Exponential": b, "Uniform": a + 0.4 * b,
              "Bernoulli": (a > 0).astype(float), "Categorical": np.array([0, 3, 1]),
              "MVN": rng.standard_normal((2, 3))}
    for name, value in values.items():
        ours_p = [mg.tensor(x, requires_grad=True) for x in (a, b, c, cov)]
        theirs_p = [torch.tensor(x, requires_grad=True) for x in (a, b, c, cov)]
        ours, theirs = build(D, name, ours_p), build(td, name, theirs_p)
        v_ours = mg.tensor(value)
        v_theirs = torch.tensor(value)
        y = ours.log_prob(v_ours).sum() + ours.entropy().sum()
        yt = theirs.log_prob(v_theirs).sum() + theirs.entropy().sum()
        assert y.item() == pytest.approx(yt.item(), rel=1e-12), name
        y.backward()
        yt.backward()
        for p, q in zip(ours_p, theirs_p):
            if q.grad is not None:
                assert_close(p.grad, q.grad.cpu().numpy(), rtol=1e-10, atol=1e-12)
    # KL divergences
    kls = [(lambda m, p: (m.Normal(p[0], p[1]), m.Normal(p[0] * 0.5, p[1] ** 2))),
           (lambda m, p: (m.Laplace(p[0], p[1]), m.Laplace(-p[0], p[1] + 1))),
           (lambda m, p: (m.Exponential(p[1]), m.Exponential(p[1] * 2))),
           (lambda m, p: (m.Bernoulli(logits=p[0]), m.Bernoulli(logits=-p[0]))),
           (lambda m, p: (m.Categorical(logits=p[2]), m.Categorical(logits=p[2] ** 2))),
           (lambda m, p: (m.MultivariateNormal(p[0], covariance_matrix=p[3]),
                          m.MultivariateNormal(-p[0], covariance_matrix=p[3] * 2 + 0.1)))]
    for pair in kls:
        ours_p = [mg.tensor(x, requires_grad=True) for x in (a, b, c, cov)]
        theirs_p = [torch.tensor(x, requires_grad=True) for x in (a, b, c, cov)]
        k = D.kl_divergence(*pair(D, ours_p)).sum()
        kt = td.kl_divergence(*pair(td, theirs_p)).sum()
        assert k.item() == pytest.approx(kt.item(), rel=1e-12)
        k.backward()
        kt.backward()
        for p, q in zip(ours_p, theirs_p):
            if q.grad is not None:
                assert_close(p.grad, q.grad.cpu().numpy(), rtol=1e-9, atol=1e-12)


def test_gamma_beta_dirichlet(device):
    mg.manual_seed(6)
    for alpha in (0.4, 1.0, 3.5):                  # α < 1 takes the u^(1/α) boost
        g = D.Gamma(mg.tensor(alpha, dtype=mg.float64, device=device),
                    mg.tensor(2.0, dtype=mg.float64, device=device))
        s = g.sample((40000,)).cpu().numpy()
        assert (s > 0).all()
        assert abs(s.mean() - alpha / 2) < 0.02 * max(1, alpha)
        assert abs(s.var() - alpha / 4) < 0.04 * max(1, alpha)
    g = D.Gamma(_p([2.0], device), _p([1.0], device))
    assert g.log_prob(mg.tensor([1.0], dtype=mg.float64, device=device)).item() == \
        pytest.approx(-1.0, rel=1e-14)
    b = D.Beta(_p(2.0, device), _p(3.0, device))
    s = b.sample((40000,)).cpu().numpy()
    assert abs(s.mean() - 0.4) < 0.01 and abs(s.var() - 0.04) < 0.003
    assert b.log_prob(mg.tensor(0.5, dtype=mg.float64, device=device)).item() == \
        pytest.approx(math.log(12 * 0.5 * 0.25), rel=1e-13)       # 12 x (1 − x)² at ½
    d = D.Dirichlet(_p([1.0, 2.0, 3.0], device))
    assert d.batch_shape == () and d.event_shape == (3,)
    s = d.sample((30000,)).cpu().numpy()
    assert np.allclose(s.sum(-1), 1.0) and np.allclose(s.mean(0), [1 / 6, 2 / 6, 3 / 6],
                                                        atol=0.01)
    assert g.has_rsample and g.rsample((4,)).shape == (4,) + tuple(g.batch_shape)
    with pytest.raises(ValueError, match="Gamma: concentration and rate must be positive"):
        D.Gamma(-1.0, 1.0)
    mc_pairs = [(D.Gamma(2.0, 1.0), D.Gamma(3.0, 2.0)), (D.Beta(2.0, 3.0), D.Beta(1.0, 1.5)),
                (D.Dirichlet(mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)),
                 D.Dirichlet(mg.tensor([2.0, 2.0, 2.0], dtype=mg.float64)))]
    for p, q in mc_pairs:
        s = p.sample((100000,))
        mc = (p.log_prob(s) - q.log_prob(s)).mean().item()
        assert D.kl_divergence(p, q).item() == pytest.approx(mc, abs=0.02)


def test_gamma_family_matches_torch():
    torch = pytest.importorskip("torch")
    td = torch.distributions
    rng = np.random.default_rng(3)
    a, b = rng.uniform(0.5, 3, 4), rng.uniform(0.5, 3, 4)
    conc = rng.uniform(0.5, 3, (2, 3))
    x = rng.uniform(0.1, 0.9, 4)
    simplex = rng.dirichlet(np.ones(3), 2)
    builders = [("Gamma", lambda m, p: m.Gamma(p[0], p[1]), x * 3),
                ("Beta", lambda m, p: m.Beta(p[0], p[1]), x),
                ("Dirichlet", lambda m, p: m.Dirichlet(p[2]), simplex)]
    for name, build, value in builders:
        ours_p = [mg.tensor(v, requires_grad=True) for v in (a, b, conc)]
        theirs_p = [torch.tensor(v, requires_grad=True) for v in (a, b, conc)]
        ours, theirs = build(D, ours_p), build(td, theirs_p)
        y = ours.log_prob(mg.tensor(value)).sum() + ours.entropy().sum()
        yt = theirs.log_prob(torch.tensor(value)).sum() + theirs.entropy().sum()
        assert y.item() == pytest.approx(yt.item(), rel=1e-12), name
        y.backward()
        yt.backward()
        for p, q in zip(ours_p, theirs_p):   # (entropy's gradient has torch's trigamma,
            if q.grad is not None:           # good to ~5e-10: see tests/core/test_special)
                assert_close(p.grad, q.grad.cpu().numpy(), rtol=1e-7, atol=1e-12)
        other = [v * 1.3 + 0.2 for v in (a, b, conc)]
        k = D.kl_divergence(ours, build(D, [mg.tensor(v) for v in other])).sum()
        kt = td.kl_divergence(theirs, build(td, [torch.tensor(v) for v in other])).sum()
        assert k.item() == pytest.approx(kt.item(), rel=1e-12), name


def test_more_laws_sample_and_density(device):
    mg.manual_seed(7)
    f64 = dict(dtype=mg.float64, device=device)
    for d, mean, var in [(D.LogNormal(mg.tensor(0.1, **f64), mg.tensor(0.4, **f64)),
                          math.exp(0.1 + 0.08), (math.exp(0.16) - 1) * math.exp(0.36)),
                         (D.HalfNormal(mg.tensor(2.0, **f64)), 2 * math.sqrt(2 / math.pi),
                          4 * (1 - 2 / math.pi)),
                         (D.Chi2(mg.tensor(3.0, **f64)), 3.0, 6.0),
                         (D.StudentT(mg.tensor(6.0, **f64)), 0.0, 1.5),
                         (D.Geometric(probs=mg.tensor(0.3, **f64)), 7 / 3, 0.7 / 0.09),
                         (D.Poisson(mg.tensor(3.5, **f64)), 3.5, 3.5),
                         (D.Poisson(mg.tensor(40.0, **f64)), 40.0, 40.0)]:
        s = d.sample((60000,)).cpu().numpy()
        assert abs(s.mean() - mean) < 0.03 * max(1, math.sqrt(var)), type(d).__name__
        assert abs(s.var() - var) < 0.08 * max(1, var), type(d).__name__
        assert_close(d.mean, mean, rtol=1e-13)
        assert_close(d.variance, var, rtol=1e-13)
    poisson = D.Poisson(mg.tensor([0.0, 2.0, 30.0], **f64))
    k = mg.tensor([0.0, 3.0, 25.0], **f64)
    assert_close(poisson.log_prob(k), [0.0, 3 * math.log(2) - 2 - math.log(6),
                                       25 * math.log(30) - 30 - math.lgamma(26)], rtol=1e-13)
    s = poisson.sample((5,)).cpu().numpy()
    assert (s[:, 0] == 0).all() and (s == np.round(s)).all()
    c = D.Cauchy(mg.tensor(1.0, **f64), mg.tensor(2.0, **f64))
    assert c.cdf(c.icdf(mg.tensor([0.1, 0.7], **f64))).tolist() == pytest.approx([0.1, 0.7])
    assert c.rsample((3,)).requires_grad is False and math.isnan(c.mean.item())
    oh = D.OneHotCategorical(probs=mg.tensor([0.2, 0.8], **f64))
    draws = oh.sample((20000,)).cpu().numpy()
    assert draws.shape == (20000, 2) and (draws.sum(1) == 1).all()
    assert abs(draws[:, 1].mean() - 0.8) < 0.015
    assert oh.log_prob(mg.tensor([0.0, 1.0], **f64)).item() == pytest.approx(math.log(0.8))


def test_more_laws_match_torch():
    torch = pytest.importorskip("torch")
    td = torch.distributions
    rng = np.random.default_rng(5)
    a, b = rng.uniform(0.5, 3, 4), rng.uniform(0.5, 3, 4)
    x = rng.uniform(0.2, 3, 4)
    k = rng.integers(0, 6, 4).astype(float)
    cases = [("Cauchy", lambda m, p: m.Cauchy(p[0] - 1, p[1]), x),
             ("LogNormal", lambda m, p: m.LogNormal(p[0] - 1, p[1]), x),
             ("HalfNormal", lambda m, p: m.HalfNormal(p[1]), x),
             ("Chi2", lambda m, p: m.Chi2(p[0]), x),
             ("StudentT", lambda m, p: m.StudentT(p[0], p[1] - 1, p[1]), x - 1),
             ("Geometric", lambda m, p: m.Geometric(probs=p[1] / 4), k),
             ("Poisson", lambda m, p: m.Poisson(p[0]), k),
             ("OneHotCategorical", lambda m, p: m.OneHotCategorical(logits=p[0]),
              np.eye(4)[1])]
    for name, build, value in cases:
        ours_p = [mg.tensor(v, requires_grad=True) for v in (a, b)]
        theirs_p = [torch.tensor(v, requires_grad=True) for v in (a, b)]
        ours, theirs = build(D, ours_p), build(td, theirs_p)
        y = ours.log_prob(mg.tensor(value)).sum()
        yt = theirs.log_prob(torch.tensor(value)).sum()
        if name != "Poisson":                       # torch's Poisson has no entropy
            y = y + ours.entropy().sum()
            yt = yt + theirs.entropy().sum()
        assert y.item() == pytest.approx(yt.item(), rel=1e-12), name
        y.backward()
        yt.backward()
        for p, q in zip(ours_p, theirs_p):
            if q.grad is not None:
                assert_close(p.grad, q.grad.cpu().numpy(), rtol=1e-7, atol=1e-12)
