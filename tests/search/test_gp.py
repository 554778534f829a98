"""The Gaussian process and expected improvement against hand computations."""
import math

import numpy as np
import pytest

from minigrad.search.gp import (
    GaussianProcess,
    expected_improvement,
    matern52_kernel,
    normal_cdf,
    rbf_kernel,
)

X3 = np.array([[0.0], [1.0], [3.0]])
Y3 = np.array([1.0, -1.0, 2.0])
ELL, S2, NOISE = 1.5, 2.0, 0.1


def _k(a, b):
    return S2 * math.exp(-((a - b) ** 2) / (2 * ELL ** 2))


def test_kernels_by_hand():
    a, b = np.array([[0.0, 0.0]]), np.array([[3.0, 4.0]])           # distance 5
    assert rbf_kernel(a, b, 2.0, 3.0)[0, 0] == pytest.approx(3.0 * math.exp(-25 / 8))
    r = 5 / 2.0
    m = 3.0 * (1 + math.sqrt(5) * r + 5 * r * r / 3) * math.exp(-math.sqrt(5) * r)
    assert matern52_kernel(a, b, 2.0, 3.0)[0, 0] == pytest.approx(m)
    assert matern52_kernel(a, a, 2.0, 3.0)[0, 0] == pytest.approx(3.0)   # k(0) = s²


def test_posterior_on_three_points_by_hand():
    # K written out entry by entry, inverted explicitly (not by Cholesky)
    K = np.array([[_k(a, b) + (NOISE if i == j else 0.0) for j, b in enumerate(X3[:, 0])]
                  for i, a in enumerate(X3[:, 0])])
    Kinv = np.linalg.inv(K)
    gp = GaussianProcess("rbf", length_scale=ELL, signal_variance=S2, noise=NOISE,
                         normalize_y=False).fit(X3, Y3)
    xs = [-1.0, 0.0, 0.5, 2.0, 30.0]
    mu, var = gp.predict(np.array(xs)[:, None])
    for x, m, v in zip(xs, mu, var):
        ks = np.array([_k(x, b) for b in X3[:, 0]])
        assert m == pytest.approx(ks @ Kinv @ Y3, rel=1e-10, abs=1e-12)   # μ = k*ᵀK⁻¹y
        assert v == pytest.approx(S2 - ks @ Kinv @ ks, rel=1e-9, abs=1e-12)  # σ² = k** − k*ᵀK⁻¹k*
    # far from the data: the prior (mean 0, variance s²)
    assert mu[-1] == pytest.approx(0.0, abs=1e-6) and var[-1] == pytest.approx(S2, rel=1e-6)
    # log marginal likelihood: −½yᵀK⁻¹y − ½log|K| − (n/2)log 2π
    lml = -0.5 * Y3 @ Kinv @ Y3 - 0.5 * np.linalg.slogdet(K)[1] - 1.5 * math.log(2 * math.pi)
    assert gp.log_marginal_likelihood_ == pytest.approx(lml, rel=1e-10)


def test_posterior_of_one_point_in_closed_form():
    gp = GaussianProcess("rbf", length_scale=ELL, signal_variance=S2, noise=NOISE,
                         normalize_y=False).fit([[1.0]], [3.0])
    mu, var = gp.predict([[2.0]])
    k = _k(2.0, 1.0)
    assert mu[0] == pytest.approx(k * 3.0 / (S2 + NOISE))
    assert var[0] == pytest.approx(S2 - k * k / (S2 + NOISE))


def test_fitted_gp_interpolates_and_maximises_the_likelihood():
    rng = np.random.default_rng(0)
    X = rng.uniform(0, 1, (12, 2))
    y = np.sin(6 * X[:, 0]) + X[:, 1] ** 2
    gp = GaussianProcess().fit(X, y)
    mu, var = gp.predict(X)
    assert np.max(np.abs(mu - y)) < 0.05 * np.ptp(y)
    assert np.all(var >= 0)
    # no other point of the grid has a larger (profile) likelihood
    yn = (y - y.mean()) / y.std()
    for ell in gp.length_scales or np.geomspace(0.02, 2.0, 15) * math.sqrt(2):
        for g in gp.noise_ratios:
            lml, _ = gp._profile(X, yn, ell, g)
            assert lml <= gp.log_marginal_likelihood_ + 1e-8


def _ei_by_integration(mu, sigma, f_best):
    """E[max(f* − Y, 0)], Y ~ N(μ, σ²), by the trapezoid rule over ±12σ."""
    y = np.linspace(mu - 12 * sigma, mu + 12 * sigma, 200001)
    density = np.exp(-0.5 * ((y - mu) / sigma) ** 2) / (sigma * math.sqrt(2 * math.pi))
    return np.trapezoid(np.maximum(f_best - y, 0.0) * density, y)


@pytest.mark.parametrize("mu,sigma,f_best", [(0.0, 1.0, 0.0), (1.0, 0.5, 0.2),
                                             (-0.3, 2.0, 0.5), (2.0, 0.3, 1.0)])
def test_expected_improvement_equals_the_integral(mu, sigma, f_best):
    ei = expected_improvement(mu, sigma, f_best)
    assert float(ei) == pytest.approx(_ei_by_integration(mu, sigma, f_best), rel=1e-6,
                                      abs=1e-12)
    # and the formula written out: (f* − μ)Φ(z) + σφ(z)
    z = (f_best - mu) / sigma
    direct = (f_best - mu) * 0.5 * math.erfc(-z / math.sqrt(2)) \
        + sigma * math.exp(-z * z / 2) / math.sqrt(2 * math.pi)
    assert float(ei) == pytest.approx(direct, rel=1e-12)


def test_expected_improvement_limits():
    mu = np.array([-1.0, 0.5, 2.0])
    # σ → 0: max(f* − μ, 0), continuously
    for sigma in (1e-3, 1e-6, 1e-9):
        np.testing.assert_allclose(expected_improvement(mu, sigma, 0.5), [1.5, 0.0, 0.0],
                                   atol=sigma)
    np.testing.assert_array_equal(expected_improvement(mu, 0.0, 0.5), [1.5, 0.0, 0.0])
    # at μ = f*: σφ(0) = σ/√(2π), linear in σ
    np.testing.assert_allclose(expected_improvement(0.0, [1.0, 2.0], 0.0),
                               np.array([1.0, 2.0]) / math.sqrt(2 * math.pi))
    # far above the best: no improvement expected; far below: f* − μ
    assert float(expected_improvement(50.0, 1.0, 0.0)) == 0.0
    assert float(expected_improvement(-50.0, 1.0, 0.0)) == pytest.approx(50.0)
    # ξ asks for more: EI(ξ) = EI at f* − ξ
    assert float(expected_improvement(0.2, 0.7, 0.5, xi=0.1)) == pytest.approx(
        float(expected_improvement(0.2, 0.7, 0.4)))
    # Φ's far tail is accurate (erfc, not 1 − erf)
    assert float(normal_cdf(-30.0)) == pytest.approx(4.906713927148187e-198, rel=1e-10)


def test_gp_rejects_bad_input():
    with pytest.raises(ValueError, match="kernel"):
        GaussianProcess("cubic")
    with pytest.raises(ValueError, match="points"):
        GaussianProcess().fit([[0.0], [1.0]], [1.0])
    with pytest.raises(ValueError, match="finite"):
        GaussianProcess().fit([[0.0], [1.0]], [1.0, math.nan])
    with pytest.raises(RuntimeError, match="fit"):
        GaussianProcess().predict([[0.0]])
