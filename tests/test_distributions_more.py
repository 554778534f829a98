"""minigrad.distributions, the second batch: Binomial, NegativeBinomial, Multinomial, the
TransformedDistribution family (Gumbel, Weibull, Pareto, Kumaraswamy, HalfCauchy, the
relaxed Bernoulli/categorical), FisherSnedecor, LowRankMultivariateNormal,
ContinuousBernoulli, VonMises, MixtureSameFamily, the transforms, the Gamma's implicit
reparameterization gradient, and the new KL closed forms.

Checked by hand (closed forms written out here with ``math``/NumPy, numerical integration
of the densities, 50-digit mpmath values for the Gamma gradient), by sample moments with
tolerances of a few standard errors (the seeds are fixed, so nothing is flaky), by
Monte-Carlo KL within 5 standard errors, by gradcheck of the reparameterized samples,
and with torch.distributions as an optional oracle (importorskip)."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import distributions as D
from minigrad.testing import assert_close

F64 = dict(dtype=mg.float64)
_trapz = getattr(np, "trapezoid", None) or np.trapz          # (NumPy 2 renamed it)


def _t(values, device="cpu", grad=False):
    return mg.tensor(np.asarray(values, dtype=np.float64), device=device, requires_grad=grad)


def _moments_agree(s, mean, var, z=5.0):
    """Sample mean within z standard errors of ``mean`` and sample variance within z of
    its own standard error (estimated from the fourth central moment), elementwise over
    the trailing dims."""
    s = np.asarray(s, dtype=np.float64)
    n = s.shape[0]
    mean, var = np.broadcast_to(mean, s.shape[1:]), np.broadcast_to(var, s.shape[1:])
    assert (np.abs(s.mean(0) - mean) <= z * np.sqrt(var / n) + 1e-12).all(), \
        (s.mean(0), mean)
    m4 = ((s - s.mean(0)) ** 4).mean(0)
    se_var = np.sqrt(np.maximum(m4 - var ** 2, 0) / n)
    assert (np.abs(s.var(0) - var) <= z * se_var + 1e-12).all(), (s.var(0), var)


def _frequencies_agree(s, values, pmf, z=5.0):
    """Empirical frequencies of ``values`` within z binomial standard errors of ``pmf``."""
    s = np.asarray(s).ravel()
    n = s.size
    freq = np.array([(s == v).mean() for v in values])
    pmf = np.asarray(pmf)
    assert (np.abs(freq - pmf) <= z * np.sqrt(pmf * (1 - pmf) / n) + 1e-12).all(), \
        (freq, pmf)


def _reproducible(d, shape=(5,)):
    mg.manual_seed(123)
    a = d.sample(shape).cpu().numpy()
    mg.manual_seed(123)
    b = d.sample(shape).cpu().numpy()
    assert np.array_equal(a, b)


# --------------------------------------------------------------------------- Gamma rsample

# dz/dα = −(∂P(α, z)/∂α)/f(z) at a few (α, z), from 50-digit mpmath (numerical
# differentiation of its regularized incomplete gamma): both tails, tiny and large α
MPMATH_GAMMA_GRAD = [
    (1e-6, 1e-100, 2.296812952794359e-92),
    (0.3, 1e-20, 1.5294170323671371e-18),
    (0.3, 30.0, 6.781946659152571),
    (0.5, 1.1, 1.9605046407197262),
    (1.0, 1.0, 1.1735630272247268),
    (2.0, 1e-08, 9.67173257232008e-08),
    (2.0, 60.0, 3.7496928594708283),
    (3.0, 3.0, 1.0570269656882847),
    (50.0, 10.0, 0.4035948181584738),
    (50.0, 120.0, 1.5056950819658095),
    (1e4, 9700.0, 0.9848641224547374),
    (1e4, 10300.0, 1.0148691241755485),
]


def test_gamma_implicit_gradient_against_high_precision_values():
    a, z, want = (np.array(c) for c in zip(*MPMATH_GAMMA_GRAD))
    got = D._standard_gamma_grad_array(np, a, z)
    assert_close(got, want, rtol=1e-13, atol=0)


def test_gamma_rsample_gradient_is_minus_dcdf_over_density(device):
    """The gradient of each sample equals −(∂F/∂α)/f at that sample, F from minigrad's
    igamma by central differences (an independent algorithm: the series/fraction of P
    itself), over α from 0.05 to 300, and the rate enters as z/β."""
    from minigrad.ops.special import gammainc_array

    alpha = _t(np.repeat([0.05, 0.4, 1.0, 2.5, 9.0, 300.0], 20), device, grad=True)
    rate = _t(1.7, device, grad=True)
    mg.manual_seed(0)
    x = D.Gamma(alpha, rate).rsample()
    assert x.shape == (120,) and x.requires_grad and x.dtype == mg.float64
    gx = np.linspace(0.5, 1.5, 120)
    (x * _t(gx, device)).sum().backward()
    a = alpha.detach().cpu().numpy()
    z = x.detach().cpu().numpy() * 1.7                          # the Gamma(α, 1) draws
    h = 1e-5 * a
    with np.errstate(divide="ignore"):        # (a branch of igamma's prefactor it discards)
        dP = (gammainc_array(np, a + h, z) - gammainc_array(np, a - h, z)) / (2 * h)
    log_f = (a - 1) * np.log(z) - z - np.array([math.lgamma(v) for v in a])
    want = -dP / np.exp(log_f) / 1.7
    assert_close(alpha.grad.cpu().numpy() / gx, want, rtol=1e-6, atol=1e-12)
    assert rate.grad.item() == pytest.approx(-(gx * z / 1.7 ** 2).sum(), rel=1e-12)


def test_gamma_rsample_float32_and_second_order_raises():
    alpha = mg.tensor([0.5, 3.0], requires_grad=True)               # float32
    mg.manual_seed(1)
    z = D.Gamma(alpha, 1.0).rsample((4,))
    assert z.dtype == mg.float32 and z.shape == (4, 2)
    (g,) = mg.autograd.grad(z.sum(), [alpha])
    g_host = g.cpu().numpy()
    assert g.dtype == mg.float32 and np.isfinite(g_host).all() and (g_host > 0).all()
    z = D.Gamma(alpha, 1.0).rsample()
    (g,) = mg.autograd.grad(z.sum(), [alpha], create_graph=True)
    with pytest.raises(NotImplementedError, match="no second derivative"):
        g.sum().backward()


def _per_sample_mean_grad(build, f, params, n, device):
    """Per-sample pathwise gradients of f(x) (each parameter repeated n times, so its
    gradient entries are the n samples' own), their mean and standard error."""
    ps = [_t(np.broadcast_to(np.asarray(p, dtype=np.float64),
                             (n,) + np.shape(p)).copy(), device, grad=True) for p in params]
    y = f(build(*ps).rsample())
    grads = mg.autograd.grad(y.sum(), ps)
    out = []
    for g in grads:
        g = g.cpu().numpy()
        out.append((g.mean(0), g.std(0) / math.sqrt(n)))
    return out


def test_gamma_family_rsample_is_unbiased(device):
    """E[∂f(x)/∂θ] = ∂E[f(x)]/∂θ for closed-form expectations, within 5 standard errors."""
    n = 20000
    mg.manual_seed(2)
    cases = [
        # Gamma(α, β): E[x] = α/β
        (lambda a, b: D.Gamma(a, b), lambda x: x, [2.0, 1.5], [1 / 1.5, -2.0 / 1.5 ** 2]),
        # Gamma(α, 1): E[x²] = α(α + 1), α < 1 takes Marsaglia–Tsang's boost
        (lambda a, b: D.Gamma(a, b), lambda x: x * x, [0.3, 1.0], [2 * 0.3 + 1, -2 * 0.3 * 1.3]),
        # Beta(α, β): E[x] = α/(α + β)
        (lambda a, b: D.Beta(a, b), lambda x: x, [2.0, 3.0], [3 / 25, -2 / 25]),
        # χ²(ν): E[x] = ν
        (lambda df: D.Chi2(df), lambda x: x, [3.0], [1.0]),
        # Student t(ν): E[x²] = ν/(ν − 2)
        (lambda df: D.StudentT(df), lambda x: x * x, [6.0], [-2 / 16]),
        # F(d₁, d₂): E[x] = d₂/(d₂ − 2)
        (lambda d1, d2: D.FisherSnedecor(d1, d2), lambda x: x, [3.0, 10.0], [0.0, -2 / 64]),
    ]
    for build, f, params, want in cases:
        got = _per_sample_mean_grad(build, f, params, n, device)
        for (mean, se), w in zip(got, want):
            assert abs(mean - w) < 5 * se, (build(*[_t(p) for p in params]), mean, w, se)
    # Dirichlet(α): E[x₀] = α₀/Σα, ∂/∂αⱼ = (δ₀ⱼ Σα − α₀)/(Σα)²
    conc = np.array([1.0, 2.0, 3.0])
    ((mean, se),) = _per_sample_mean_grad(lambda c: D.Dirichlet(c), lambda x: x[..., 0],
                                          [conc], n, device)
    want = (np.eye(3)[0] * 6 - 1.0) / 36
    assert (np.abs(mean - want) < 5 * se).all(), (mean, want)


def test_gamma_family_rsample_shapes_and_flags(device):
    assert all(c.has_rsample for c in (D.Gamma, D.Beta, D.Dirichlet, D.Chi2, D.StudentT,
                                       D.FisherSnedecor))
    mg.manual_seed(3)
    b = D.Beta(_t([1.0, 2.0], device, True), _t([2.0], device, True))
    s = b.rsample((3,))
    s_host = s.cpu().numpy()
    assert s.shape == (3, 2) and s.requires_grad and ((s_host > 0) & (s_host < 1)).all()
    d = D.Dirichlet(_t([[1.0, 2.0, 0.5]], device, True))
    s = d.rsample((4,))
    assert s.shape == (4, 1, 3) and np.allclose(s.sum(-1).cpu().numpy(), 1.0)
    t = D.StudentT(_t(4.0, device, True), _t(1.0, device, True), _t(2.0, device, True))
    assert t.rsample((2, 3)).shape == (2, 3)
    assert not D.Gamma(2.0, 1.0).sample((2,)).requires_grad


def test_gamma_rsample_matches_torch_gradient():
    torch = pytest.importorskip("torch")
    alpha = _t(np.repeat([0.1, 0.7, 1.0, 4.0, 7.9, 8.1, 30.0], 30), grad=True)
    mg.manual_seed(4)
    z = D.Gamma(alpha, 1.0).rsample()
    z.sum().backward()
    theirs = torch._standard_gamma_grad(torch.tensor(alpha.detach().cpu().numpy()),
                                        torch.tensor(z.detach().cpu().numpy())).cpu().numpy()
    # PyTorch's gradient is a Taylor/saddle-point/rational approximation, good to ~3e-4
    assert_close(alpha.grad.cpu().numpy(), theirs, rtol=2e-3, atol=1e-12)
    # the same sample pushed through torch's Gamma(α, β).rsample formula z/β
    b_t = torch.tensor(2.0, dtype=torch.float64, requires_grad=True)
    b = _t(2.0, grad=True)
    alpha.grad = None
    mg.manual_seed(4)
    (D.Gamma(alpha, b).rsample() ** 2).sum().backward()
    zt = torch.tensor(z.detach().cpu().numpy())
    ((zt / b_t) ** 2).sum().backward()
    assert b.grad.item() == pytest.approx(b_t.grad.item(), rel=1e-12)
    assert_close(alpha.grad.cpu().numpy(), theirs * 2 * z.detach().cpu().numpy() / 4, rtol=2e-3)


# --------------------------------------------------------------------------- counts

def test_binomial_by_hand(device):
    n, p = 6, np.array([0.2, 0.7])
    d = D.Binomial(n, probs=_t(p, device))
    assert d.batch_shape == (2,) and d.event_shape == ()
    k = np.array([2.0, 6.0])
    want = [math.log(math.comb(n, int(kk)) * pp ** kk * (1 - pp) ** (n - kk))
            for kk, pp in zip(k, p)]
    assert_close(d.log_prob(_t(k, device)), want, rtol=1e-13)
    ent = [-sum(math.comb(n, j) * q ** j * (1 - q) ** (n - j)
                * math.log(math.comb(n, j) * q ** j * (1 - q) ** (n - j)) for j in range(n + 1))
           for q in p]
    assert_close(d.entropy(), ent, rtol=1e-12)
    assert_close(d.mean, n * p, rtol=1e-14)
    assert_close(d.variance, n * p * (1 - p), rtol=1e-14)
    assert d.mode.tolist() == [1.0, 4.0]                      # ⌊(n + 1)p⌋
    assert d.enumerate_support().shape == (7, 2)
    logits = D.Binomial(_t([3.0, 10.0], device), logits=_t([0.0, -1.0], device))
    assert_close(logits.probs, [0.5, 1 / (1 + math.e)], rtol=1e-14)
    with pytest.raises(NotImplementedError, match="inhomogeneous"):
        logits.entropy()


@pytest.mark.parametrize("n,p", [(5, 0.3), (20, 0.9), (100, 0.3), (1000, 0.6)])
def test_binomial_sampler_law(n, p):
    """Inversion (np < 10) and BTRS (np ≥ 10, and p > ½ by symmetry): frequencies against
    the pmf, and the moments."""
    mg.manual_seed(5)
    s = D.Binomial(n, probs=mg.tensor(p, **F64)).sample((40000,)).cpu().numpy()
    assert s.dtype == np.float64 and (s == np.round(s)).all() and (s >= 0).all() \
        and (s <= n).all()
    _moments_agree(s, n * p, n * p * (1 - p))
    mode = int((n + 1) * p)
    values = range(max(0, mode - 3), min(n, mode + 3) + 1)
    pmf = [math.comb(n, k) * p ** k * (1 - p) ** (n - k) for k in values]
    _frequencies_agree(s, values, pmf)


def test_binomial_sample_edges_and_shapes(device):
    mg.manual_seed(6)
    d = D.Binomial(_t([[0.0], [7.0]], device), probs=_t([0.0, 1.0, 0.5], device))
    s = d.sample((4,))
    assert s.shape == (4, 2, 3) and s.dtype == mg.float64
    assert (s.cpu().numpy()[:, 0] == 0).all() and (s.cpu().numpy()[:, 1, :2] == [0, 7]).all()
    big = D.Binomial(mg.tensor(1e9, **F64), probs=mg.tensor(1e-8, **F64)).sample((20000,))
    _moments_agree(big.cpu().numpy(), 10.0, 10.0 * (1 - 1e-8))
    f32 = D.Binomial(10, probs=mg.tensor([0.5]))
    assert f32.sample().dtype == mg.float32
    _reproducible(d)


def test_binomial_errors():
    with pytest.raises(ValueError, match="total_count must be a non-negative integer"):
        D.Binomial(2.5, probs=mg.tensor(0.5))
    with pytest.raises(ValueError, match="total_count must be a non-negative integer"):
        D.Binomial(-1, probs=mg.tensor(0.5))
    with pytest.raises(ValueError, match="probs must lie in"):
        D.Binomial(3, probs=mg.tensor(1.5))
    with pytest.raises(ValueError, match="exactly one of probs and logits"):
        D.Binomial(3)
    d = D.Binomial(3, probs=mg.tensor(0.5))
    for bad in (4.0, -1.0, 1.5):
        with pytest.raises(ValueError, match="Binomial.log_prob: .*integer_interval"):
            d.log_prob(mg.tensor(bad))
    assert D.Binomial(3, probs=mg.tensor(0.5), validate_args=False).log_prob(
        mg.tensor(1.5)).item() < 0                            # unchecked when asked


def test_negative_binomial(device):
    r, p = 2.5, 0.4
    d = D.NegativeBinomial(_t(r, device), probs=_t(p, device))
    for k in (0, 1, 4):
        want = math.lgamma(r + k) - math.lgamma(k + 1) - math.lgamma(r) + r * math.log(1 - p) \
            + k * math.log(p)
        assert d.log_prob(_t(float(k), device)).item() == pytest.approx(want, rel=1e-13)
    mean, var = r * p / (1 - p), r * p / (1 - p) ** 2
    assert d.mean.item() == pytest.approx(mean, rel=1e-14)
    assert d.variance.item() == pytest.approx(var, rel=1e-14)
    assert d.mode.item() == math.floor((r - 1) * p / (1 - p))
    mg.manual_seed(7)
    s = d.sample((40000,)).cpu().numpy()
    assert (s == np.round(s)).all()
    _moments_agree(s, mean, var)
    values = range(4)
    pmf = [math.exp(d.log_prob(_t(float(k), device)).item()) for k in values]
    _frequencies_agree(s, values, pmf)
    by_logits = D.NegativeBinomial(_t(r, device), logits=_t(math.log(p / (1 - p)), device))
    assert by_logits.log_prob(_t(3.0, device)).item() == \
        pytest.approx(d.log_prob(_t(3.0, device)).item(), rel=1e-13)
    assert D.NegativeBinomial(0.0, probs=mg.tensor(0.3)).log_prob(mg.tensor(0.0)).item() == 0.0
    _reproducible(d)
    with pytest.raises(ValueError, match=r"probs must lie in \[0, 1\)"):
        D.NegativeBinomial(2.0, probs=mg.tensor(1.0))
    with pytest.raises(ValueError, match="total_count must be non-negative"):
        D.NegativeBinomial(-2.0, probs=mg.tensor(0.5))
    with pytest.raises(ValueError, match="nonnegative_integer"):
        d.log_prob(_t(0.5, device))


def test_multinomial(device):
    p = np.array([0.2, 0.3, 0.5])
    d = D.Multinomial(4, probs=_t(p * 3, device))                 # normalized
    assert d.batch_shape == () and d.event_shape == (3,)
    x = np.array([1.0, 0.0, 3.0])
    want = math.log(math.factorial(4) / (1 * 1 * 6) * 0.2 * 0.5 ** 3)
    assert d.log_prob(_t(x, device)).item() == pytest.approx(want, rel=1e-13)
    # entropy by enumerating the 15 outcomes
    outcomes = [(i, j, 4 - i - j) for i in range(5) for j in range(5 - i)]
    probs = [math.factorial(4) / math.prod(math.factorial(c) for c in o)
             * math.prod(q ** c for q, c in zip(p, o)) for o in outcomes]
    assert d.entropy().item() == pytest.approx(-sum(q * math.log(q) for q in probs),
                                               rel=1e-12)
    mg.manual_seed(8)
    s = d.sample((30000,)).cpu().numpy()
    assert s.shape == (30000, 3) and (s.sum(-1) == 4).all() and (s == np.round(s)).all()
    _moments_agree(s, 4 * p, 4 * p * (1 - p))
    cov = np.cov(s.T)[0, 2]
    assert abs(cov - (-4 * 0.2 * 0.5)) < 0.02                  # −n pᵢ pⱼ
    batched = D.Multinomial(10, logits=_t([[0.0, 0.0], [0.0, -math.inf]], device))
    s = batched.sample((5,)).cpu().numpy()
    assert s.shape == (5, 2, 2) and (s[:, 1] == [10, 0]).all()
    assert batched.log_prob(_t([[5.0, 5.0], [10.0, 0.0]], device)).cpu().numpy()[1] == 0.0
    _reproducible(d)
    with pytest.raises(NotImplementedError, match="inhomogeneous"):
        D.Multinomial(2.0, probs=mg.tensor([0.5, 0.5]))
    with pytest.raises(ValueError, match="multinomial"):
        d.log_prob(_t([-1.0, 2.0, 3.0], device))


# --------------------------------------------------------------------------- continuous

def _continuous_cases(device):
    """(distribution, log-density by hand, mean, variance, cdf by hand or None, points)"""
    lg = math.lgamma
    p = lambda v: _t(v, device, grad=True)                      # noqa: E731

    def gumbel_lp(x, mu=0.5, b=2.0):
        z = (x - mu) / b
        return -z - np.exp(-z) - math.log(b)

    def kuma_lp(x, a=2.0, b=3.0):
        return math.log(a * b) + (a - 1) * np.log(x) + (b - 1) * np.log1p(-x ** a)

    def fisher_lp(x, d1=5.0, d2=12.0):
        return lg((d1 + d2) / 2) - lg(d1 / 2) - lg(d2 / 2) + d1 / 2 * math.log(d1 / d2) \
            + (d1 / 2 - 1) * np.log(x) - (d1 + d2) / 2 * np.log1p(d1 * x / d2)

    d1, d2 = 5.0, 12.0
    return [
        ("Gumbel", D.Gumbel(p(0.5), p(2.0)), gumbel_lp,
         0.5 + 2 * D._EULER, math.pi ** 2 * 4 / 6,
         lambda x: np.exp(-np.exp(-(x - 0.5) / 2)), [-1.0, 0.5, 4.0]),
        ("Weibull", D.Weibull(p(1.5), p(2.5)),
         lambda x: math.log(2.5 / 1.5) + 1.5 * np.log(x / 1.5) - (x / 1.5) ** 2.5,
         1.5 * math.gamma(1.4), 1.5 ** 2 * (math.gamma(1.8) - math.gamma(1.4) ** 2),
         lambda x: 1 - np.exp(-(x / 1.5) ** 2.5), [0.3, 1.2, 3.0]),
        ("Pareto", D.Pareto(p(2.0), p(5.0)),
         lambda x: math.log(5.0) + 5 * math.log(2.0) - 6 * np.log(x),
         5 * 2.0 / 4, 4.0 * 5 / (16 * 3), lambda x: 1 - (2.0 / x) ** 5, [2.1, 3.0, 7.0]),
        ("Kumaraswamy", D.Kumaraswamy(p(2.0), p(3.0)), kuma_lp,
         3 * math.exp(lg(1.5) + lg(3) - lg(4.5)),
         3 * math.exp(lg(2) + lg(3) - lg(5)) - 9 * math.exp(2 * (lg(1.5) + lg(3) - lg(4.5))),
         lambda x: 1 - (1 - x ** 2) ** 3, [0.1, 0.5, 0.9]),
        ("HalfCauchy", D.HalfCauchy(p(1.5)),
         lambda x: math.log(2 / (math.pi * 1.5)) - np.log1p((x / 1.5) ** 2),
         None, None, lambda x: 2 / math.pi * np.arctan(x / 1.5), [0.1, 1.0, 20.0]),
        ("FisherSnedecor", D.FisherSnedecor(p(d1), p(d2)), fisher_lp,
         d2 / (d2 - 2), 2 * d2 ** 2 * (d1 + d2 - 2) / (d1 * (d2 - 2) ** 2 * (d2 - 4)),
         None, [0.2, 1.0, 3.5]),
    ]


def test_continuous_laws_by_hand(device):
    for name, d, log_pdf, mean, var, cdf, points in _continuous_cases(device):
        x = np.array(points)
        assert_close(d.log_prob(_t(x, device)), log_pdf(x), rtol=1e-12, atol=1e-13)
        if mean is not None:
            assert d.mean.item() == pytest.approx(mean, rel=1e-13), name
            assert d.variance.item() == pytest.approx(var, rel=1e-12), name
        if cdf is not None:
            assert_close(d.cdf(_t(x, device)), cdf(x), rtol=1e-12, atol=1e-15)
            u = _t([0.1, 0.5, 0.9], device)
            assert_close(d.cdf(d.icdf(u)), u.cpu().numpy(), rtol=1e-11)
        mg.manual_seed(9)
        s = d.sample((40000,))
        assert s.shape == (40000,) and s.dtype == mg.float64 and not s.requires_grad
        if var is not None:
            _moments_agree(s.cpu().numpy(), mean, var)
        else:                                                  # HalfCauchy: the median γ
            assert abs(np.median(s.cpu().numpy()) - 1.5) < 0.05
        _reproducible(d)
    # entropies by numerical integration of −p log p (fine grids over the bulk)
    grids = {"Gumbel": np.linspace(-12, 40, 400001), "Weibull": np.linspace(1e-9, 8, 400001),
             "Pareto": np.linspace(2.0, 200, 2000001), "Kumaraswamy": np.linspace(1e-9, 1 - 1e-9,
                                                                                 400001)}
    for name, d, log_pdf, *_ in _continuous_cases(device):
        if name in grids:
            g = grids[name]
            lp = log_pdf(g)
            integrand = -np.exp(lp) * lp
            h = _trapz(integrand, g)
            assert d.entropy().item() == pytest.approx(h, abs=2e-5), name


def test_continuous_laws_rsample_gradcheck(device):
    cases = [(lambda a, b: D.Gumbel(a, b), [0.3, 1.7]),
             (lambda a, b: D.Weibull(a, b), [1.3, 2.2]),
             (lambda a, b: D.Pareto(a, b), [2.0, 3.0]),
             (lambda a, b: D.Kumaraswamy(a, b), [1.5, 2.5]),
             (lambda a: D.HalfCauchy(a), [0.8]),
             (lambda a: D.ContinuousBernoulli(probs=a), [0.3]),
             (lambda a: D.ContinuousBernoulli(logits=a), [1.2]),
             (lambda t, a: D.RelaxedBernoulli(t, logits=a), [0.7, -0.4]),
             (lambda t, a: D.RelaxedOneHotCategorical(t, logits=a.reshape(1).expand(3) * _t(
                 [1.0, -0.5, 0.2], device)), [0.6, 0.9])]
    for build, values in cases:
        inputs = [_t(v, device, grad=True) for v in values]
        assert build(*inputs).has_rsample

        def fn(*ps, build=build):
            mg.manual_seed(10)
            return build(*ps).rsample((4,))
        assert mg.gradcheck(fn, inputs), build


def test_continuous_parameter_and_support_errors():
    with pytest.raises(ValueError, match="Gumbel: scale must be positive"):
        D.Gumbel(0.0, 0.0)
    with pytest.raises(ValueError, match="Weibull: scale and concentration must be positive"):
        D.Weibull(1.0, -1.0)
    with pytest.raises(ValueError, match="Pareto: scale and alpha must be positive"):
        D.Pareto(-1.0, 1.0)
    with pytest.raises(ValueError, match="Kumaraswamy: concentrations must be positive"):
        D.Kumaraswamy(0.0, 1.0)
    with pytest.raises(ValueError, match="HalfCauchy: scale must be positive"):
        D.HalfCauchy(-2.0)
    with pytest.raises(ValueError, match="FisherSnedecor: df1 and df2 must be positive"):
        D.FisherSnedecor(1.0, 0.0)
    with pytest.raises(ValueError, match="VonMises: concentration must be positive"):
        D.VonMises(0.0, 0.0)
    with pytest.raises(ValueError, match="ContinuousBernoulli: probs must lie in"):
        D.ContinuousBernoulli(probs=mg.tensor(1.2))
    with pytest.raises(ValueError, match="temperature must be positive"):
        D.RelaxedBernoulli(mg.tensor(0.0), probs=mg.tensor(0.5))
    checks = [(D.Pareto(2.0, 1.0), 1.5, "greater_than_eq"), (D.Weibull(1.0, 1.0), -1.0,
                                                             "positive"),
              (D.Kumaraswamy(1.0, 1.0), 1.5, "unit_interval"), (D.HalfCauchy(1.0), -0.5,
                                                                "nonnegative"),
              (D.FisherSnedecor(1.0, 2.0), 0.0, "positive"),
              (D.ContinuousBernoulli(probs=mg.tensor(0.3)), 1.1, "unit_interval"),
              (D.RelaxedBernoulli(mg.tensor(0.5), probs=mg.tensor(0.3)), 2.0, "unit_interval"),
              (D.Gumbel(0.0, 1.0), math.nan, "real")]
    for d, bad, support in checks:
        with pytest.raises(ValueError, match=f"{type(d).__name__}.log_prob: .*{support}"):
            d.log_prob(mg.tensor(bad))
    lenient = D.HalfCauchy(1.0, validate_args=False)
    assert lenient.log_prob(mg.tensor(-0.5)).item() == -math.inf      # as PyTorch


def test_continuous_bernoulli_normalizer_and_moments_by_quadrature(device):
    """The density integrates to 1 and its mean/variance equal the closed forms, both
    outside the unstable region and inside it (λ = ½ and 0.5005, PyTorch's Taylor forms)."""
    x = np.linspace(0, 1, 200001)
    for lam in (0.05, 0.2, 0.499, 0.5, 0.5005, 0.9):
        d = D.ContinuousBernoulli(probs=_t(lam, device))
        pdf = np.exp(d.log_prob(_t(x, device)).cpu().numpy())
        assert _trapz(pdf, x) == pytest.approx(1.0, abs=1e-8)
        mean = _trapz(x * pdf, x)
        assert d.mean.item() == pytest.approx(mean, abs=1e-8)
        assert d.variance.item() == pytest.approx(_trapz((x - mean) ** 2 * pdf, x), abs=1e-8)
        ent = -_trapz(pdf * np.log(pdf), x)
        assert d.entropy().item() == pytest.approx(ent, abs=1e-8)
        v = _t([0.25, 0.7], device)
        cumulative = np.concatenate([[0.0], np.cumsum((pdf[1:] + pdf[:-1]) / 2 * np.diff(x))])
        # inside the unstable region PyTorch's cdf is the uniform's, x: off by ≤ 2|λ − ½|/4
        unstable = 0.499 < lam <= 0.501
        assert_close(d.cdf(v), np.interp([0.25, 0.7], x, cumulative),
                     atol=1e-8 + unstable * abs(lam - 0.5) / 2)
        assert_close(d.cdf(d.icdf(v)), v.cpu().numpy(), atol=1e-12)
    d = D.ContinuousBernoulli(logits=_t([-1.5, 0.0, 2.0], device))
    mg.manual_seed(11)
    s = d.sample((40000,))
    assert s.shape == (40000, 3) and ((s.cpu().numpy() >= 0) & (s.cpu().numpy() <= 1)).all()
    _moments_agree(s.cpu().numpy(), d.mean.cpu().numpy(), d.variance.cpu().numpy())
    _reproducible(d)


def test_low_rank_multivariate_normal(device):
    rng = np.random.default_rng(12)
    k, m = 4, 2
    loc, W = rng.standard_normal((2, k)), rng.standard_normal((2, k, m))
    Dg = rng.uniform(0.5, 2.0, (2, k))
    d = D.LowRankMultivariateNormal(_t(loc, device), _t(W, device), _t(Dg, device))
    assert d.batch_shape == (2,) and d.event_shape == (k,)
    cov = W @ W.transpose(0, 2, 1) + np.stack([np.diag(v) for v in Dg])
    x = rng.standard_normal((3, 2, k))
    diff = x - loc
    maha = np.einsum("sbi,bij,sbj->sb", diff, np.linalg.inv(cov), diff)
    logdet = np.linalg.slogdet(cov)[1]
    want = -0.5 * (k * math.log(2 * math.pi) + logdet + maha)
    assert_close(d.log_prob(_t(x, device)), want, rtol=1e-12)
    assert_close(d.entropy(), 0.5 * (k * (1 + math.log(2 * math.pi)) + logdet), rtol=1e-13)
    assert_close(d.covariance_matrix, cov, rtol=1e-13)
    assert_close(d.precision_matrix, np.linalg.inv(cov), rtol=1e-11, atol=1e-13)
    assert_close(d.scale_tril, np.linalg.cholesky(cov), rtol=1e-12, atol=1e-14)
    assert_close(d.variance, np.diagonal(cov, axis1=1, axis2=2), rtol=1e-13)
    mg.manual_seed(13)
    s = d.sample((40000,)).cpu().numpy()
    assert s.shape == (40000, 2, k)
    _moments_agree(s, loc, np.diagonal(cov, axis1=1, axis2=2))
    assert np.abs(np.cov(s[:, 0].T) - cov[0]).max() < 0.1
    _reproducible(d)
    # broadcasting: one loc for a batch of factors
    e = D.LowRankMultivariateNormal(_t(loc[0], device), _t(W, device), _t(Dg[0], device))
    assert e.batch_shape == (2,) and e.rsample((3,)).shape == (3, 2, k)
    # gradients of log_prob and of rsample
    params = [_t(v, device, grad=True) for v in (loc[0], W[0], Dg[0])]
    xv = _t(x[:, 0], device)
    assert mg.gradcheck(lambda a, b, c: D.LowRankMultivariateNormal(a, b, c).log_prob(xv),
                        params)

    def sampled(a, b, c):
        mg.manual_seed(14)
        return D.LowRankMultivariateNormal(a, b, c).rsample((2,))
    assert mg.gradcheck(sampled, params)
    with pytest.raises(ValueError, match="cov_factor must be"):
        D.LowRankMultivariateNormal(_t(loc[0]), _t(W[0, :3]), _t(Dg[0]))
    with pytest.raises(ValueError, match="cov_diag must be"):
        D.LowRankMultivariateNormal(_t(loc[0]), _t(W[0]), _t(Dg[0, :3]))
    with pytest.raises(ValueError, match="cov_diag must be positive"):
        D.LowRankMultivariateNormal(_t(loc[0]), _t(W[0]), _t(-Dg[0]))


def _concrete_log_density(y, tau, probs):
    """log of the Concrete density on the simplex (Maddison et al. 2017, eq. 1), w.r.t. the
    first K − 1 coordinates: log (K−1)! + (K−1) log τ + Σ log αₖ − (τ + 1) Σ log yₖ
    − K log Σ αₖ yₖ^(−τ)."""
    y, probs = np.asarray(y), np.asarray(probs)
    k = y.shape[-1]
    return math.lgamma(k) + (k - 1) * math.log(tau) + np.log(probs).sum(-1) \
        - (tau + 1) * np.log(y).sum(-1) - k * np.log((probs * y ** -tau).sum(-1))


def test_relaxed_bernoulli_and_categorical(device):
    tau, p = 0.6, 0.3
    rb = D.RelaxedBernoulli(_t(tau, device), probs=_t(p, device))
    y = np.array([0.05, 0.4, 0.97])
    want = _concrete_log_density(np.stack([y, 1 - y], -1), tau, [p, 1 - p])
    assert_close(rb.log_prob(_t(y, device)), want, rtol=1e-10)
    grid = np.linspace(1e-7, 1 - 1e-7, 400001)
    assert _trapz(np.exp(rb.log_prob(_t(grid, device)).cpu().numpy()), grid) == \
        pytest.approx(1.0, abs=2e-3)                         # (integrable poles at 0 and 1)
    mg.manual_seed(15)
    s = rb.sample((40000,)).cpu().numpy()
    assert ((s > 0) & (s < 1)).all()
    # σ((logit p + L)/τ) > ½ ⇔ L > −logit p: exactly Bernoulli(p) for every τ
    _frequencies_agree(s > 0.5, [True], [p])
    probs = np.array([0.2, 0.3, 0.5])
    rc = D.RelaxedOneHotCategorical(_t(tau, device), probs=_t(probs, device))
    assert rc.batch_shape == () and rc.event_shape == (3,)
    yv = np.array([[0.1, 0.3, 0.6], [0.7, 0.2, 0.1]])
    assert_close(rc.log_prob(_t(yv, device)), _concrete_log_density(yv, tau, probs),
                 rtol=1e-10)
    # K = 2 is the RelaxedBernoulli of the second class
    two = D.RelaxedOneHotCategorical(_t(tau, device), probs=_t([1 - p, p], device))
    assert_close(two.log_prob(_t(np.stack([1 - y, y], -1), device)),
                 rb.log_prob(_t(y, device)).cpu().numpy(), rtol=1e-10)
    mg.manual_seed(16)
    s = rc.sample((30000,)).cpu().numpy()
    assert s.shape == (30000, 3) and np.allclose(s.sum(-1), 1)
    _frequencies_agree(s.argmax(-1), [0, 1, 2], probs)       # the Gumbel-max trick
    lrb = D.LogitRelaxedBernoulli(_t(tau, device), logits=_t(0.4, device))
    x = _t([-2.0, 0.0, 3.0], device)
    dlt = 0.4 - tau * x.cpu().numpy()
    assert_close(lrb.log_prob(x), math.log(tau) + dlt - 2 * np.log1p(np.exp(dlt)), rtol=1e-13)
    assert np.isfinite(lrb.log_prob(_t(-2000.0, device)).item())   # no overflow of e^δ
    _reproducible(rb)
    _reproducible(rc)


def _bessel_i1(k, terms=60):
    return sum((k / 2) ** (2 * j + 1) / (math.factorial(j) * math.factorial(j + 1))
               for j in range(terms))


def test_von_mises(device):
    loc, kappa = 2.5, np.array([0.05, 1.0, 8.0])
    d = D.VonMises(_t(loc, device), _t(kappa, device))
    x = np.array([0.3, -3.0, 2.4])
    want = kappa * np.cos(x - loc) - np.log(2 * np.pi * np.i0(kappa))
    assert_close(d.log_prob(_t(x, device)), want, rtol=1e-13)
    assert_close(d.variance, [1 - _bessel_i1(k) / np.i0(k) for k in kappa], rtol=1e-12)
    grid = np.linspace(-math.pi, math.pi, 200001)
    dens = np.exp(d.log_prob(_t(grid[:, None], device)).cpu().numpy())
    assert_close(_trapz(dens, grid, axis=0), [1.0, 1.0, 1.0], rtol=1e-10)
    mg.manual_seed(17)
    s = d.sample((30000,)).cpu().numpy()
    assert s.shape == (30000, 3) and (s >= -math.pi).all() and (s < math.pi).all()
    # circular moments: E[cos(x − μ)] = I₁/I₀ = 1 − variance, E[sin(x − μ)] = 0
    c, sn = np.cos(s - loc), np.sin(s - loc)
    se = np.sqrt(0.5 / s.shape[0])                            # |cos|, |sin| ≤ 1
    assert (np.abs(c.mean(0) - (1 - d.variance.cpu().numpy())) < 5 * se).all()
    assert (np.abs(sn.mean(0)) < 5 * se).all()
    tiny = D.VonMises(0.0, 1e-7).sample((2000,)).cpu().numpy()       # the κ → 0 proposal
    assert np.isfinite(tiny).all() and abs(tiny.mean()) < 0.3
    assert not D.VonMises.has_rsample
    with pytest.raises(NotImplementedError):
        d.rsample()
    _reproducible(d)


# --------------------------------------------------------------------------- transforms

def test_transforms_inverse_and_jacobian(device):
    T = D.transforms
    assert mg.distributions.transforms.ExpTransform is D.ExpTransform
    x = _t([-0.7, 0.2, 1.3], device)
    xp = _t([0.4, 1.1, 2.5], device)                          # positive, for PowerTransform
    cases = [(T.ExpTransform(), x), (T.AffineTransform(0.5, -2.0), x),
             (T.AffineTransform(_t([1.0, 2.0, 3.0], device), _t([0.5, -1.0, 3.0], device)), x),
             (T.SigmoidTransform(), x), (T.TanhTransform(), x),
             (T.PowerTransform(_t(2.5, device)), xp), (T.PowerTransform(-1.5), xp),
             (T.ComposeTransform([T.AffineTransform(1.0, 2.0), T.ExpTransform(),
                                  T.PowerTransform(0.5)]), x)]
    h = 1e-6
    for t, v in cases:
        y = t(v)
        assert_close(t.inv(y), v.cpu().numpy(), rtol=1e-9, atol=1e-12)
        assert t.inv.inv is t
        slope = (t(v + h).cpu().numpy() - t(v - h).cpu().numpy()) / (2 * h)
        assert_close(t.log_abs_det_jacobian(v, y), np.log(np.abs(slope)), rtol=1e-6,
                     atol=1e-8)
        assert_close(t.inv.log_abs_det_jacobian(y, v), -np.log(np.abs(slope)), rtol=1e-6,
                     atol=1e-8)
        sign = t.sign
        sign = sign.cpu().numpy() if isinstance(sign, mg.Tensor) else sign
        assert (np.sign(slope) == sign).all(), t
    # event dims and shapes
    soft = T.SoftmaxTransform()
    z = soft(_t([[0.0, 1.0, 2.0]], device))
    assert_close(z.sum(-1), [1.0])
    assert soft.domain.event_dim == 1 and soft.codomain.event_dim == 1
    assert_close(soft(soft.inv(z)), z.cpu().numpy(), rtol=1e-14)
    aff = T.AffineTransform(0.0, _t([2.0, 3.0], device), event_dim=1)
    assert aff.log_abs_det_jacobian(_t([[1.0, 1.0]], device), None).item() == \
        pytest.approx(math.log(6.0))
    assert T.AffineTransform(0.0, 2.0, event_dim=1).log_abs_det_jacobian(
        _t([1.0, 1.0, 1.0], device), None).item() == pytest.approx(3 * math.log(2.0))
    compose = T.ComposeTransform([T.ExpTransform(), soft])
    assert compose.domain.event_dim == 1 and compose.codomain.event_dim == 1
    assert T.identity_transform(x) is x
    # equality (as PyTorch: parameters compared by value), caching, non-invertible Abs
    assert T.AffineTransform(1.0, 2.0) == T.AffineTransform(1.0, 2.0)
    assert T.AffineTransform(1.0, 2.0) != T.AffineTransform(1.0, 3.0)
    assert T.ExpTransform().inv == T.ExpTransform().inv
    cached = T.TanhTransform(cache_size=1)
    big = _t([20.0], device)
    assert cached.inv(cached(big)) is big                     # atanh(1.0) would be inf
    assert T.AbsTransform()(x).tolist() == [0.7, 0.2, 1.3]
    with pytest.raises(NotImplementedError, match="AbsTransform has no log_abs_det"):
        T.AbsTransform().log_abs_det_jacobian(x, x)
    with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
        T.ExpTransform(cache_size=2)


def test_transformed_distribution(device):
    T = D.transforms
    loc, scale = _t([0.3, -1.0], device, True), _t([0.5, 2.0], device, True)
    ln = D.TransformedDistribution(D.Normal(loc, scale), [T.ExpTransform()])
    ref = D.LogNormal(loc, scale)
    v = _t([0.5, 3.0], device)
    assert_close(ln.log_prob(v), ref.log_prob(v).cpu().numpy(), rtol=1e-14)
    assert_close(ln.cdf(v), ref.base_dist.cdf(v.log()).cpu().numpy(), rtol=1e-14)
    u = _t([0.2, 0.9], device)
    assert_close(ln.icdf(u), ref.base_dist.icdf(u).exp().cpu().numpy(), rtol=1e-13)
    mg.manual_seed(18)
    a = ln.rsample((3,))
    mg.manual_seed(18)
    b = ref.rsample((3,))
    assert_close(a, b.cpu().numpy(), rtol=1e-15)
    assert a.requires_grad and ln.has_rsample
    # a decreasing map flips the cdf: Y = −X
    neg = D.TransformedDistribution(D.Exponential(_t(2.0, device)), T.AffineTransform(0.0, -1.0))
    assert neg.cdf(_t(-0.5, device)).item() == pytest.approx(math.exp(-1.0), rel=1e-14)
    # tanh-squashed Gaussian (the SAC policy) integrates to 1
    sq = D.TransformedDistribution(D.Normal(_t(0.4, device), _t(1.3, device)),
                                   T.TanhTransform())
    grid = np.linspace(-1 + 1e-12, 1 - 1e-12, 400001)
    assert _trapz(np.exp(sq.log_prob(_t(grid, device)).cpu().numpy()), grid) == \
        pytest.approx(1.0, abs=1e-6)
    # transforms that broadcast the base add leading batch dims, drawn independently
    wide = D.TransformedDistribution(D.Normal(_t(0.0, device), _t(1.0, device)),
                                     T.AffineTransform(_t([0.0, 10.0], device), 1.0))
    assert wide.batch_shape == (2,)
    mg.manual_seed(19)
    s = wide.sample((20000,)).cpu().numpy()
    assert s.shape == (20000, 2) and abs(np.corrcoef(s.T)[0, 1]) < 0.05
    # an affine map of vectors with event_dim=1
    vec = D.TransformedDistribution(D.Normal(_t(np.zeros(3), device), _t(np.ones(3), device)),
                                    T.AffineTransform(0.0, _t([1.0, 2.0, 3.0], device),
                                                      event_dim=1))
    assert vec.batch_shape == () and vec.event_shape == (3,)
    y = np.array([0.5, 1.0, -3.0])
    assert vec.log_prob(_t(y, device)).item() == pytest.approx(
        sum(-0.5 * (yi / si) ** 2 - math.log(si) - 0.5 * math.log(2 * math.pi)
            for yi, si in zip(y, (1, 2, 3))), rel=1e-14)
    with pytest.raises(ValueError, match="transforms must be a Transform"):
        D.TransformedDistribution(D.Normal(0.0, 1.0), [lambda x: x])
    with pytest.raises(ValueError, match="build the base distribution"):
        D.TransformedDistribution(D.Normal(_t([0.0], device), _t([1.0], device)),
                                  T.AffineTransform(_t([0.0, 1.0, 2.0], device), 1.0))
    with pytest.raises(ValueError, match="positive"):
        ln.log_prob(_t([-1.0, 1.0], device))


def test_mixture_same_family(device):
    w = np.array([0.2, 0.8])
    mu, sd = np.array([-1.0, 2.0]), np.array([0.5, 1.5])
    mix = D.MixtureSameFamily(D.Categorical(probs=_t(w, device)),
                              D.Normal(_t(mu, device), _t(sd, device)))
    assert mix.batch_shape == () and mix.event_shape == ()
    x = np.array([-1.2, 0.0, 3.0])
    dens = (w * np.exp(-0.5 * ((x[:, None] - mu) / sd) ** 2) / (sd * math.sqrt(2 * math.pi))
            ).sum(-1)
    assert_close(mix.log_prob(_t(x, device)), np.log(dens), rtol=1e-13)
    mean = (w * mu).sum()
    var = (w * (sd ** 2 + mu ** 2)).sum() - mean ** 2
    assert mix.mean.item() == pytest.approx(mean, rel=1e-14)
    assert mix.variance.item() == pytest.approx(var, rel=1e-13)
    assert_close(mix.cdf(_t([0.5], device)), [sum(
        wi * 0.5 * (1 + math.erf((0.5 - m) / (s * math.sqrt(2)))) for wi, m, s in zip(w, mu, sd))],
        rtol=1e-13)
    mg.manual_seed(20)
    s = mix.sample((40000,)).cpu().numpy()
    assert s.shape == (40000,)
    _moments_agree(s, mean, var)
    _reproducible(mix)
    # batched components with an event dim
    rng = np.random.default_rng(21)
    comp = D.Independent(D.Normal(_t(rng.standard_normal((3, 2, 4)), device),
                                  _t(rng.uniform(0.5, 1.5, (3, 2, 4)), device)), 1)
    mixb = D.MixtureSameFamily(D.Categorical(logits=_t(rng.standard_normal((3, 2)), device)),
                               comp)
    assert mixb.batch_shape == (3,) and mixb.event_shape == (4,)
    assert mixb.sample((5,)).shape == (5, 3, 4) and mixb.mean.shape == (3, 4)
    assert mixb.log_prob(_t(rng.standard_normal((5, 3, 4)), device)).shape == (5, 3)
    with pytest.raises(ValueError, match="must be a Categorical"):
        D.MixtureSameFamily(D.Normal(0.0, 1.0), D.Normal(_t(mu), _t(sd)))
    with pytest.raises(ValueError, match="the mixture has 3 components"):
        D.MixtureSameFamily(D.Categorical(probs=mg.ones(3)), D.Normal(_t(mu), _t(sd)))


# --------------------------------------------------------------------------- KL

def _kl_pairs():
    f = lambda v: mg.tensor(v, **F64)                           # noqa: E731
    rng = np.random.default_rng(22)
    W1, W2 = rng.standard_normal((3, 2)), rng.standard_normal((3, 1))
    A = rng.standard_normal((3, 3))
    cov = A @ A.T + np.eye(3)
    return [
        (D.Binomial(8, probs=f(0.3)), D.Binomial(8, probs=f(0.6))),
        (D.Poisson(f(3.0)), D.Poisson(f(5.0))),
        (D.Geometric(probs=f(0.3)), D.Geometric(probs=f(0.5))),
        (D.HalfNormal(f(1.0)), D.HalfNormal(f(2.0))),
        (D.Cauchy(f(0.0), f(1.0)), D.Cauchy(f(1.0), f(2.0))),
        (D.OneHotCategorical(probs=f([0.2, 0.3, 0.5])),
         D.OneHotCategorical(probs=f([0.5, 0.25, 0.25]))),
        (D.Gumbel(f(0.0), f(1.0)), D.Gumbel(f(0.5), f(2.0))),
        (D.Pareto(f(2.0), f(3.0)), D.Pareto(f(1.0), f(2.0))),
        (D.ContinuousBernoulli(probs=f(0.2)), D.ContinuousBernoulli(probs=f(0.7))),
        (D.LowRankMultivariateNormal(f([0.0, 1.0, -1.0]), f(W1), f([1.0, 0.5, 2.0])),
         D.LowRankMultivariateNormal(f([1.0, 0.0, 0.0]), f(W2), f([0.7, 1.2, 1.0]))),
        (D.MultivariateNormal(f([0.0, 1.0, -1.0]), f(cov)),
         D.LowRankMultivariateNormal(f([1.0, 0.0, 0.0]), f(W1), f([0.7, 1.2, 1.0]))),
        (D.LowRankMultivariateNormal(f([0.0, 1.0, -1.0]), f(W1), f([1.0, 0.5, 2.0])),
         D.MultivariateNormal(f([1.0, 0.0, 0.0]), f(cov))),
        (D.Weibull(f(1.0), f(2.0)), D.Weibull(f(1.0), f(2.0))),
    ]


def test_new_kl_closed_forms_against_monte_carlo():
    mg.manual_seed(23)
    n = 40000
    for p, q in _kl_pairs():
        s = p.sample((n,))
        r = (p.log_prob(s) - q.log_prob(s)).cpu().numpy()
        kl = D.kl_divergence(p, q).item()
        assert abs(kl - r.mean()) < 5 * r.std() / math.sqrt(n) + 1e-12, (type(p), type(q), kl,
                                                                          r.mean())


def test_kl_edges_and_dispatch():
    f = lambda v: mg.tensor(v, **F64)                           # noqa: E731
    assert D.kl_divergence(D.Binomial(9, probs=f(0.3)),
                           D.Binomial(8, probs=f(0.3))).item() == math.inf
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        D.kl_divergence(D.Binomial(7, probs=f(0.3)), D.Binomial(8, probs=f(0.3)))
    assert D.kl_divergence(D.Pareto(f(1.0), f(2.0)), D.Pareto(f(2.0), f(2.0))).item() == \
        math.inf
    assert D.kl_divergence(D.Poisson(f(0.0)), D.Poisson(f(2.5))).item() == 2.5
    with pytest.raises(NotImplementedError, match="different transforms"):
        D.kl_divergence(D.Weibull(f(1.0), f(2.0)), D.Weibull(f(1.5), f(2.0)))
    # the most specific pair wins, whatever the registration order
    assert D._dispatch_kl(D.Gumbel, D.Gumbel) is D._kl_gumbel_gumbel
    assert D._dispatch_kl(D.Chi2, D.Gamma) is D.KL_PAIRS[(D.Gamma, D.Gamma)]

    class MyGamma(D.Gamma):
        pass

    @D.register_kl(MyGamma, MyGamma)
    def _mine(p, q):
        return mg.tensor(-1.0)

    @D.register_kl(D.Gamma, MyGamma)
    def _left(p, q):
        return mg.tensor(-2.0)

    @D.register_kl(MyGamma, D.Gamma)
    def _right(p, q):
        return mg.tensor(-3.0)

    class SubGamma(MyGamma):
        pass

    try:
        assert D.kl_divergence(MyGamma(1.0, 1.0), MyGamma(2.0, 1.0)).item() == -1.0
        assert D.kl_divergence(D.Gamma(1.0, 1.0), MyGamma(2.0, 1.0)).item() == -2.0
        assert D.kl_divergence(SubGamma(1.0, 1.0), D.Gamma(2.0, 1.0)).item() == -3.0
        del D.KL_PAIRS[(MyGamma, MyGamma)]
        with pytest.warns(RuntimeWarning, match="ambiguous"):
            D.kl_divergence(MyGamma(1.0, 1.0), MyGamma(2.0, 1.0))
    finally:
        for key in [(MyGamma, MyGamma), (D.Gamma, MyGamma), (MyGamma, D.Gamma)]:
            D.KL_PAIRS.pop(key, None)


# --------------------------------------------------------------------------- torch oracle

def test_new_laws_match_torch():
    torch = pytest.importorskip("torch")
    td = torch.distributions
    from torch.distributions.relaxed_bernoulli import LogitRelaxedBernoulli
    from torch.distributions.relaxed_categorical import ExpRelaxedCategorical
    rng = np.random.default_rng(24)
    a, b = rng.uniform(0.5, 3, 4), rng.uniform(0.5, 3, 4)
    c, x = rng.standard_normal(4), rng.uniform(0.1, 0.9, 4)
    counts = np.array([0.0, 3.0, 7.0, 2.0])
    other = {"LogitRelaxedBernoulli": LogitRelaxedBernoulli,
             "ExpRelaxedCategorical": ExpRelaxedCategorical}

    def get(mod, name):
        return getattr(mod, name) if mod is D else other.get(name, getattr(td, name, None))

    # (name, builder, value, properties, entropy?, cdf/icdf?)
    cases = [
        ("Gumbel", lambda m, P: get(m, "Gumbel")(P[2], P[1]), c + 0.3,
         ("mean", "variance", "stddev", "mode"), True, True),
        ("Weibull", lambda m, P: get(m, "Weibull")(P[0], P[1]), a * x + 0.2,
         ("mean", "variance", "mode"), True, True),
        ("Pareto", lambda m, P: get(m, "Pareto")(P[0], P[1] + 2.1), a + x,
         ("mean", "variance", "mode"), True, True),
        ("Kumaraswamy", lambda m, P: get(m, "Kumaraswamy")(P[0], P[1]), x,
         ("mean", "variance"), True, False),
        ("HalfCauchy", lambda m, P: get(m, "HalfCauchy")(P[0]), 3 * x, ("mode",), True, True),
        ("FisherSnedecor", lambda m, P: get(m, "FisherSnedecor")(P[0], P[1] + 4), 3 * x,
         ("mean", "variance", "mode"), False, False),
        ("ContinuousBernoulli", lambda m, P: get(m, "ContinuousBernoulli")(probs=P[3]), x,
         ("mean", "variance"), True, True),
        ("ContinuousBernoulli", lambda m, P: get(m, "ContinuousBernoulli")(logits=P[2]), x,
         ("mean", "variance"), True, True),
        ("Binomial", lambda m, P: get(m, "Binomial")(7, probs=P[3]), counts,
         ("mean", "variance", "mode"), True, False),
        ("Binomial", lambda m, P: get(m, "Binomial")(7, logits=P[2]), counts,
         ("mean", "variance", "mode"), True, False),
        ("NegativeBinomial", lambda m, P: get(m, "NegativeBinomial")(P[0], probs=P[3]),
         counts, ("mean", "variance", "mode"), False, False),
        ("NegativeBinomial", lambda m, P: get(m, "NegativeBinomial")(P[0], logits=P[2]),
         counts, ("mean", "variance", "mode"), False, False),
        ("RelaxedBernoulli", lambda m, P: get(m, "RelaxedBernoulli")(P[1][0], probs=P[3]), x,
         (), False, False),
        ("LogitRelaxedBernoulli",
         lambda m, P: get(m, "LogitRelaxedBernoulli")(P[1][0], logits=P[2]), c, (), False,
         False),
        ("VonMises", lambda m, P: get(m, "VonMises")(P[2], P[0]), 2 * c, ("mean", "mode"),
         False, False),
    ]
    for name, build, value, props, entropy, cdf in cases:
        ours_p = [mg.tensor(v, requires_grad=True) for v in (a, b, c, x)]
        theirs_p = [torch.tensor(v, requires_grad=True) for v in (a, b, c, x)]
        ours, theirs = build(D, ours_p), build(td, theirs_p)
        assert ours.batch_shape == tuple(theirs.batch_shape), name
        y = ours.log_prob(mg.tensor(value)).sum()
        yt = theirs.log_prob(torch.tensor(value)).sum()
        if entropy:
            assert_close(ours.entropy(), theirs.entropy().detach().cpu().numpy(), rtol=1e-12)
            y, yt = y + ours.entropy().sum(), yt + theirs.entropy().sum()
        for prop in props:
            assert_close(getattr(ours, prop), getattr(theirs, prop).detach().cpu().numpy(),
                         rtol=1e-12)
        if cdf:
            assert_close(ours.cdf(mg.tensor(value)),
                         theirs.cdf(torch.tensor(value)).detach().cpu().numpy(), rtol=1e-12)
            u = np.array([0.1, 0.4, 0.6, 0.95])
            assert_close(ours.icdf(mg.tensor(u)), theirs.icdf(torch.tensor(u)).detach().numpy(),
                         rtol=1e-12)
        # VonMises: PyTorch's log I₀ is a polynomial fit good to ~1e-7
        rel = 1e-6 if name == "VonMises" else 1e-12
        assert y.item() == pytest.approx(yt.item(), rel=rel), name
        y.backward()
        yt.backward()
        for p, q in zip(ours_p, theirs_p):      # (entropy gradients go through PyTorch's
            if q.grad is not None:              # trigamma, good to ~1e-10)
                assert_close(p.grad, q.grad.numpy(), rtol=1e-6 if name == "VonMises" else 1e-8,
                             atol=1e-10)


def test_multivariate_and_relaxed_categorical_match_torch():
    torch = pytest.importorskip("torch")
    td = torch.distributions
    from torch.distributions.relaxed_categorical import ExpRelaxedCategorical
    rng = np.random.default_rng(25)
    k, m = 4, 2
    arrays = (rng.standard_normal((3, k)), rng.standard_normal((3, k, m)),
              rng.uniform(0.5, 2, (3, k)))
    ours_p = [mg.tensor(v, requires_grad=True) for v in arrays]
    theirs_p = [torch.tensor(v, requires_grad=True) for v in arrays]
    d, dt = D.LowRankMultivariateNormal(*ours_p), td.LowRankMultivariateNormal(*theirs_p)
    xv = rng.standard_normal((5, 3, k))
    y = d.log_prob(mg.tensor(xv)).sum() + d.entropy().sum()
    yt = dt.log_prob(torch.tensor(xv)).sum() + dt.entropy().sum()
    assert y.item() == pytest.approx(yt.item(), rel=1e-13)
    for prop in ("variance", "scale_tril", "covariance_matrix", "precision_matrix"):
        assert_close(getattr(d, prop), getattr(dt, prop).detach().cpu().numpy(), rtol=1e-12,
                     atol=1e-14)
    y.backward()
    yt.backward()
    for p, q in zip(ours_p, theirs_p):
        assert_close(p.grad, q.grad.numpy(), rtol=1e-10, atol=1e-12)
    # Multinomial, the relaxed categoricals and a mixture
    logits = rng.standard_normal((2, 3))
    simplex = rng.dirichlet(np.ones(3), 2)
    cnt = np.array([[2.0, 0.0, 3.0], [1.0, 1.0, 3.0]])
    builders = [
        (lambda m, P: m.Multinomial(5, logits=P[0]), cnt, True),
        (lambda m, P: m.RelaxedOneHotCategorical(P[1], logits=P[0]), simplex, False),
        (lambda m, P: (D.ExpRelaxedCategorical if m is D else ExpRelaxedCategorical)(
            P[1], logits=P[0]), np.log(simplex), False),
        (lambda m, P: m.MixtureSameFamily(m.Categorical(logits=P[0]),
                                          m.Normal(P[0] * 0.5, P[1] + 1)), simplex[:, :1], False),
    ]
    for build, value, entropy in builders:
        ours_p = [mg.tensor(logits, requires_grad=True), _t(0.7, grad=True)]
        theirs_p = [torch.tensor(logits, requires_grad=True),
                    torch.tensor(0.7, dtype=torch.float64, requires_grad=True)]
        ours, theirs = build(D, ours_p), build(td, theirs_p)
        assert (ours.batch_shape, ours.event_shape) == (tuple(theirs.batch_shape),
                                                        tuple(theirs.event_shape))
        y = ours.log_prob(mg.tensor(value)).sum()
        yt = theirs.log_prob(torch.tensor(value)).sum()
        if entropy:        # (PyTorch computes Multinomial's log n! in float32: ~1e-8)
            assert_close(ours.entropy(), theirs.entropy().detach().cpu().numpy(), rtol=1e-7)
        assert y.item() == pytest.approx(yt.item(), rel=1e-12)
        y.backward()
        yt.backward()
        for p, q in zip(ours_p, theirs_p):
            if q.grad is not None:
                assert_close(p.grad, q.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_transforms_match_torch():
    torch = pytest.importorskip("torch")
    td = torch.distributions
    tt = td.transforms
    T = D.transforms
    rng = np.random.default_rng(26)
    loc, scale = rng.standard_normal(3), rng.uniform(0.5, 2, 3)
    cases = [(T.TanhTransform(), tt.TanhTransform(), np.array([0.3, -0.9, 0.99])),
             (T.SigmoidTransform(), tt.SigmoidTransform(), np.array([0.3, 0.1, 0.99])),
             ([T.AffineTransform(1.0, 2.0), T.ExpTransform()],
              [tt.AffineTransform(1.0, 2.0), tt.ExpTransform()], np.array([0.3, 1.1, 5.0])),
             ([T.ExpTransform(), T.PowerTransform(2.5)],
              [tt.ExpTransform(), tt.PowerTransform(torch.tensor(2.5, dtype=torch.float64))],
              np.array([0.3, 1.1, 5.0]))]
    for ours_t, theirs_t, value in cases:
        ours_p = [mg.tensor(v, requires_grad=True) for v in (loc, scale)]
        theirs_p = [torch.tensor(v, requires_grad=True) for v in (loc, scale)]
        ours = D.TransformedDistribution(D.Normal(*ours_p), ours_t)
        theirs = td.TransformedDistribution(td.Normal(*theirs_p), theirs_t)
        y = ours.log_prob(mg.tensor(value)).sum() + ours.cdf(mg.tensor(value)).sum()
        yt = theirs.log_prob(torch.tensor(value)).sum() + theirs.cdf(torch.tensor(value)).sum()
        assert y.item() == pytest.approx(yt.item(), rel=1e-13)
        y.backward()
        yt.backward()
        for p, q in zip(ours_p, theirs_p):
            assert_close(p.grad, q.grad.numpy(), rtol=1e-11, atol=1e-13)


def test_new_kl_match_torch():
    torch = pytest.importorskip("torch")
    td = torch.distributions
    rng = np.random.default_rng(27)
    a, b, c, x = (rng.uniform(0.5, 3, 4), rng.uniform(0.5, 3, 4), rng.standard_normal(4),
                  rng.uniform(0.1, 0.9, 4))
    W, Dg = rng.standard_normal((4, 3, 2)), rng.uniform(0.5, 2, (4, 3))
    L = rng.standard_normal((4, 3, 3))
    cov = L @ L.transpose(0, 2, 1) + np.eye(3)
    pairs = [
        lambda m, P: (m.Binomial(5, probs=P[3]), m.Binomial(5, probs=P[3] ** 2)),
        lambda m, P: (m.Poisson(P[0]), m.Poisson(P[1])),
        lambda m, P: (m.Geometric(probs=P[3]), m.Geometric(probs=P[3] ** 2)),
        lambda m, P: (m.HalfNormal(P[0]), m.HalfNormal(P[1])),
        lambda m, P: (m.Cauchy(P[2], P[0]), m.Cauchy(-P[2], P[1])),
        lambda m, P: (m.OneHotCategorical(logits=P[2]), m.OneHotCategorical(logits=P[2] ** 2)),
        lambda m, P: (m.Gumbel(P[2], P[0]), m.Gumbel(-P[2], P[1])),
        lambda m, P: (m.Pareto(P[0] + 1, P[1]), m.Pareto(P[0], P[0])),
        lambda m, P: (m.ContinuousBernoulli(probs=P[3]), m.ContinuousBernoulli(logits=P[2])),
        lambda m, P: (m.LowRankMultivariateNormal(P[4][..., 0], P[4], P[5]),
                      m.LowRankMultivariateNormal(P[4][..., 1], P[4] * 0.5, P[5] + 1)),
        lambda m, P: (m.MultivariateNormal(P[4][..., 0], covariance_matrix=P[6]),
                      m.LowRankMultivariateNormal(P[4][..., 1], P[4] * 0.5, P[5] + 1)),
        lambda m, P: (m.LowRankMultivariateNormal(P[4][..., 1], P[4] * 0.5, P[5] + 1),
                      m.MultivariateNormal(P[4][..., 0], covariance_matrix=P[6])),
    ]
    for pair in pairs:
        ours_p = [mg.tensor(v, requires_grad=True) for v in (a, b, c, x, W, Dg, cov)]
        theirs_p = [torch.tensor(v, requires_grad=True) for v in (a, b, c, x, W, Dg, cov)]
        k = D.kl_divergence(*pair(D, ours_p))
        kt = td.kl_divergence(*pair(td, theirs_p))
        assert_close(k, kt.detach().cpu().numpy(), rtol=1e-12, atol=1e-14)
        k.sum().backward()
        kt.sum().backward()
        for p, q in zip(ours_p, theirs_p):
            if q.grad is not None:
                assert_close(p.grad, q.grad.numpy(), rtol=1e-10, atol=1e-12)


def test_lognormal_cdf_and_icdf():
    """F(x) = Φ((log x − μ)/σ) and its inverse exp(μ + σΦ⁻¹(q)), which PyTorch's LogNormal
    has (a TransformedDistribution there) and minigrad's lacked (stop 28)."""
    d = D.LogNormal(mg.tensor([0.0, 0.5], **F64), mg.tensor([1.0, 2.0], **F64))
    x = mg.tensor([[0.0, 0.3], [1.0, 2.0], [math.e, 1e-3]], **F64)
    phi = [[0.5 * math.erfc(-(math.log(v) - m) / (s * math.sqrt(2))) if v else 0.0
            for v, m, s in zip(row, (0.0, 0.5), (1.0, 2.0))] for row in x.tolist()]
    assert_close(d.cdf(x), np.array(phi), rtol=1e-13)
    assert d.cdf(x).tolist()[1][0] == 0.5 and d.cdf(x).tolist()[0][0] == 0.0
    q = mg.tensor([[1e-6, 0.3], [0.5, 0.99]], **F64)
    assert_close(d.cdf(d.icdf(q)), q.numpy(), rtol=1e-12)
    assert d.icdf(mg.tensor([0.5, 0.5], **F64)).tolist() == pytest.approx([1.0, math.exp(0.5)])
    with pytest.raises(ValueError, match="LogNormal.cdf: the value must be >= 0"):
        d.cdf(mg.tensor([-1.0, 1.0], **F64))
    loc, scale = _t([0.3], grad=True), _t([1.2], grad=True)
    for method in ("cdf", "icdf"):
        assert mg.gradcheck(lambda m, s, v, f=method: getattr(D.LogNormal(m, s), f)(v),
                            (loc, scale, _t([0.7], grad=True)))
    torch = pytest.importorskip("torch")
    td = torch.distributions.LogNormal(torch.tensor([0.0, 0.5], dtype=torch.float64),
                                       torch.tensor([1.0, 2.0], dtype=torch.float64))
    assert_close(d.cdf(x), td.cdf(torch.tensor(x.numpy())).numpy(), rtol=1e-13)
    # (PyTorch's √2·erf⁻¹(2q − 1) loses digits at q = 1e-6: 5e-12 relative)
    assert_close(d.icdf(q), td.icdf(torch.tensor(q.numpy())).numpy(), rtol=1e-10)


def test_normal_cdf_and_icdf_keep_the_tails():
    """Φ by ½ erfc(−z/√2) and Φ⁻¹ by ndtri (stop 28): PyTorch's ½(1 + erf z/√2) is 0 at
    z = −10 and its √2·erf⁻¹(2q − 1) keeps 5 digits at q = 1e-11."""
    d = D.Normal(mg.tensor(1.0, **F64), mg.tensor(2.0, **F64))
    # Φ(−10) and Φ(−5) to 16 digits (Abramowitz & Stegun 26.2; mpmath)
    cdf = d.cdf(mg.tensor([1.0 - 20.0, 1.0 - 10.0, 1.0], **F64)).tolist()
    assert cdf == pytest.approx([7.619853024160527e-24, 2.866515718791939e-07, 0.5],
                                rel=1e-14)
    q = mg.tensor([1e-20, 1e-11, 0.5, 1 - 1e-6], **F64)
    x = d.icdf(q)
    assert x.tolist()[0] == pytest.approx(1.0 + 2.0 * -9.262340089798408, rel=1e-14)
    assert_close(d.cdf(x)[:2], q.numpy()[:2], rtol=1e-13)
    p = _t([0.01, 0.3], grad=True)
    assert mg.gradcheck(lambda p: d.icdf(p), (p,)) and mg.gradgradcheck(lambda p: d.icdf(p), (p,))
    v = _t([-3.0, 0.4], grad=True)
    assert mg.gradcheck(lambda v: d.cdf(v), (v,)) and mg.gradgradcheck(lambda v: d.cdf(v), (v,))
