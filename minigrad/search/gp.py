r"""A Gaussian-process regressor and expected improvement, in NumPy: the surrogate model
of :func:`minigrad.search.bayesian.bayesian_search`.

Intuition
---------
A Gaussian process is a prior over functions in which any finite set of values is
jointly Gaussian, with covariance given by a kernel k(x, x′) that says how alike the
values at two points are (alike when the points are close). Conditioning on the trials
seen so far gives, at every other point, a Gaussian belief about the metric there: a
mean μ(x) (the best guess) and a variance σ²(x) (how unsure it is: small near trials,
large far from them).

Symbols
-------
X (n × d) the evaluated points, y (n) their values, x* a new point;
k* = [k(x*, x₁), …, k(x*, x_n)], K = k(X, X) + σ_n² I with noise variance σ_n².

Kernels (stationary, isotropic, with r = ‖x − x′‖/ℓ, length scale ℓ, signal variance s²)::

    RBF (squared exponential):  k(r) = s² exp(−r²/2)
    Matérn ν = 5/2:             k(r) = s² (1 + √5 r + 5r²/3) exp(−√5 r)

The Matérn 5/2 kernel gives twice-differentiable sample paths, rougher than the RBF's
infinitely smooth ones; Snoek et al. (2012) recommend it for hyperparameter surfaces.

Posterior (Rasmussen & Williams 2006, Algorithm 2.1)::

    L = cholesky(K)                       K = L Lᵀ
    α = Lᵀ \ (L \ y)                      α = K⁻¹ y
    μ(x*)  = k*ᵀ α
    v      = L \ k*
    σ²(x*) = k(x*, x*) − vᵀ v             (the variance of the latent f, without σ_n²)
    log p(y | X) = −½ yᵀα − Σᵢ log Lᵢᵢ − (n/2) log 2π

Hyperparameters (ℓ, s², σ_n²) maximise the log marginal likelihood. With K = s²(R + g I),
R the kernel with s² = 1 and g = σ_n²/s², setting ∂/∂s² = 0 gives s² in closed form,
ŝ² = yᵀ(R + gI)⁻¹y / n, so only (ℓ, g) are searched, over a small grid in log space
(the "profile likelihood"). The targets are standardised (zero mean, unit variance)
before the fit and the predictions mapped back.

Expected improvement (Jones, Schonlau & Welch 1998), for *minimisation*, with f* the
best (lowest) value so far and Φ, φ the standard normal CDF and PDF::

    z  = (f* − μ(x) − ξ) / σ(x)
    EI = (f* − μ(x) − ξ) Φ(z) + σ(x) φ(z)        (σ > 0)
    EI = max(f* − μ(x) − ξ, 0)                    (σ = 0, the limit σ → 0)

EI is E[max(f* − ξ − F, 0)] for F ~ N(μ, σ²): it is large where the mean is low
(exploitation) or the uncertainty is high (exploration). ξ ≥ 0 asks for an improvement of
at least ξ (default 0, the formula above).

References
----------
C. E. Rasmussen, C. K. I. Williams, "Gaussian Processes for Machine Learning", MIT Press
2006, chapters 2, 4 and 5.
D. R. Jones, M. Schonlau, W. J. Welch, "Efficient Global Optimization of Expensive
Black-Box Functions", J. Global Optimization 1998.
J. Snoek, H. Larochelle, R. P. Adams, "Practical Bayesian Optimization of Machine
Learning Algorithms", NeurIPS 2012.
"""
from __future__ import annotations

import math

import numpy as np

__all__ = ["rbf_kernel", "matern52_kernel", "KERNELS", "GaussianProcess",
           "expected_improvement", "normal_cdf", "normal_pdf"]


def _sq_dist(A, B):
    """‖aᵢ − bⱼ‖² for every pair of rows (clipped at 0 against rounding)."""
    d2 = (A * A).sum(1)[:, None] + (B * B).sum(1)[None, :] - 2.0 * A @ B.T
    return np.maximum(d2, 0.0)


def rbf_kernel(A, B, length_scale=1.0, signal_variance=1.0):
    r"""k(a, b) = s² exp(−‖a − b‖² / (2ℓ²))."""
    r2 = _sq_dist(A, B) / length_scale ** 2
    return signal_variance * np.exp(-0.5 * r2)


def matern52_kernel(A, B, length_scale=1.0, signal_variance=1.0):
    r"""k(a, b) = s² (1 + √5 r + 5r²/3) exp(−√5 r), r = ‖a − b‖/ℓ."""
    r = np.sqrt(_sq_dist(A, B)) / length_scale
    sr = math.sqrt(5.0) * r
    return signal_variance * (1.0 + sr + sr * sr / 3.0) * np.exp(-sr)


KERNELS = {"rbf": rbf_kernel, "matern52": matern52_kernel}

_erfc = np.frompyfunc(math.erfc, 1, 1)


def normal_cdf(z):
    """Φ(z) = ½ erfc(−z/√2) (erfc keeps the far left tail accurate)."""
    z = np.asarray(z, dtype=np.float64)
    return 0.5 * np.asarray(_erfc(-z / math.sqrt(2.0)), dtype=np.float64)


def normal_pdf(z):
    """φ(z) = exp(−z²/2)/√(2π)."""
    z = np.asarray(z, dtype=np.float64)
    return np.exp(-0.5 * z * z) / math.sqrt(2.0 * math.pi)


def expected_improvement(mu, sigma, f_best, xi=0.0):
    r"""EI = (f* − μ − ξ)Φ(z) + σφ(z), z = (f* − μ − ξ)/σ, for minimisation; where σ = 0
    its limit max(f* − μ − ξ, 0).

    Parameters
    ----------
    mu, sigma : array_like
        Posterior mean and standard deviation (not variance) at the candidates.
    f_best : float
        f*, the lowest value observed.
    xi : float
        ξ ≥ 0, the improvement asked for.

    Examples
    --------
    >>> round(float(expected_improvement(0.0, 1.0, 0.0)), 6)     # σφ(0) = 1/√(2π)
    0.398942
    >>> float(expected_improvement(-2.0, 0.0, 0.0))               # σ = 0: f* − μ
    2.0
    """
    mu = np.asarray(mu, dtype=np.float64)
    sigma = np.asarray(sigma, dtype=np.float64)
    improvement = f_best - mu - xi                             # f* − μ − ξ
    positive = sigma > 0
    safe = np.where(positive, sigma, 1.0)
    z = improvement / safe                                     # z = (f* − μ − ξ)/σ
    ei = improvement * normal_cdf(z) + safe * normal_pdf(z)    # (f* − μ − ξ)Φ(z) + σφ(z)
    ei = np.where(positive, ei, np.maximum(improvement, 0.0))  # the limit σ → 0
    return np.maximum(ei, 0.0)                                 # EI ≥ 0 (rounding)


class GaussianProcess:
    r"""Gaussian-process regression with an isotropic RBF or Matérn 5/2 kernel.

    Parameters
    ----------
    kernel : ``"matern52"`` (default) or ``"rbf"``.
    length_scale, signal_variance, noise : float or None
        ℓ, s² and the noise variance σ_n² (in the units of the standardised targets when
        ``normalize_y``). Give all three to fix them; otherwise they are fitted by
        maximum marginal likelihood: ℓ (only the given one, if given) and g = σ_n²/s²
        over log grids, s² in closed form (module docstring).
    normalize_y : standardise the targets before fitting (default True).
    length_scales, noise_ratios : the grids searched for ℓ and g.

    Attributes (after :meth:`fit`)
    ------------------------------
    length_scale_, signal_variance_, noise_ : the hyperparameters used.
    log_marginal_likelihood_ : log p(y | X) at them (standardised targets).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0], [0.5], [1.0]]); y = np.array([1.0, 0.0, 1.0])
    >>> gp = GaussianProcess("rbf", length_scale=0.5, signal_variance=1.0, noise=1e-10,
    ...                      normalize_y=False).fit(X, y)
    >>> mu, var = gp.predict(X)
    >>> np.allclose(mu, y), np.allclose(var, 0.0, atol=1e-8)    # it interpolates
    (True, True)
    """

    def __init__(self, kernel="matern52", length_scale=None, signal_variance=None, noise=None,
                 normalize_y=True, length_scales=None, noise_ratios=(1e-6, 1e-4, 1e-2, 1e-1)):
        if kernel not in KERNELS:
            raise ValueError(f"GaussianProcess: kernel must be one of {sorted(KERNELS)}, "
                             f"got {kernel!r}")
        self.kernel = kernel
        self.length_scale = length_scale
        self.signal_variance = signal_variance
        self.noise = noise
        self.normalize_y = normalize_y
        self.length_scales = length_scales
        self.noise_ratios = tuple(noise_ratios)

    def _k(self, A, B, length_scale, signal_variance):
        return KERNELS[self.kernel](A, B, length_scale, signal_variance)

    @staticmethod
    def _cholesky(K):
        """L with K = L Lᵀ; a growing jitter on the diagonal if K is numerically singular."""
        jitter = 0.0
        scale = max(float(np.mean(np.diag(K))), 1e-12)
        for _ in range(8):
            try:
                return np.linalg.cholesky(K + jitter * np.eye(len(K)))
            except np.linalg.LinAlgError:
                jitter = scale * 1e-10 if jitter == 0.0 else jitter * 100.0
        raise np.linalg.LinAlgError("GaussianProcess: kernel matrix is not positive definite")

    def _profile(self, X, y, length_scale, g):
        """(log marginal likelihood, ŝ²) at (ℓ, g) with s² profiled out."""
        n = len(y)
        R = self._k(X, X, length_scale, 1.0) + g * np.eye(n)
        L = self._cholesky(R)
        a = np.linalg.solve(L.T, np.linalg.solve(L, y))            # (R + gI)⁻¹ y
        s2 = max(float(y @ a) / n, 1e-12)                           # ŝ² = yᵀ(R + gI)⁻¹y / n
        # log p(y) with K = ŝ²(R + gI):  −½ yᵀK⁻¹y − ½ log|K| − (n/2) log 2π
        lml = -0.5 * n - np.log(np.diag(L)).sum() - 0.5 * n * math.log(s2) \
            - 0.5 * n * math.log(2 * math.pi)
        return lml, s2

    def fit(self, X, y):
        """Condition on the points ``X`` (n × d) with values ``y`` (n); returns self."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if len(X) != len(y) or len(y) == 0:
            raise ValueError(f"GaussianProcess.fit: {len(X)} points but {len(y)} values")
        if not np.all(np.isfinite(y)):
            raise ValueError("GaussianProcess.fit: values must be finite")
        if self.normalize_y:
            self.y_mean_ = float(y.mean())
            std = float(y.std())
            self.y_std_ = std if std > 0 else 1.0
        else:
            self.y_mean_, self.y_std_ = 0.0, 1.0
        yn = (y - self.y_mean_) / self.y_std_
        self.X_ = X

        fixed = (self.length_scale, self.signal_variance, self.noise)
        if all(v is not None for v in fixed):
            ell, s2, noise = (float(v) for v in fixed)
        else:
            grid = self.length_scales
            if self.length_scale is not None:
                grid = [float(self.length_scale)]
            elif grid is None:
                grid = np.geomspace(0.02, 2.0, 15) * math.sqrt(X.shape[1])
            best = (-math.inf, None, None, None)
            for ell in grid:
                for g in self.noise_ratios:
                    try:
                        lml, s2 = self._profile(X, yn, ell, g)
                    except np.linalg.LinAlgError:
                        continue
                    if lml > best[0]:
                        best = (lml, ell, g, s2)
            _, ell, g, s2 = best
            if ell is None:
                raise np.linalg.LinAlgError("GaussianProcess.fit: no hyperparameters gave a "
                                            "positive-definite kernel matrix")
            noise = g * s2                                            # σ_n² = g ŝ²

        K = self._k(X, X, ell, s2) + noise * np.eye(len(yn))        # K = k(X, X) + σ_n² I
        L = self._cholesky(K)                                         # K = L Lᵀ
        self.alpha_ = np.linalg.solve(L.T, np.linalg.solve(L, yn))    # α = Lᵀ \ (L \ y)
        self.L_ = L
        self.length_scale_, self.signal_variance_, self.noise_ = ell, s2, noise
        self.log_marginal_likelihood_ = float(
            -0.5 * yn @ self.alpha_ - np.log(np.diag(L)).sum()
            - 0.5 * len(yn) * math.log(2 * math.pi))                  # log p(y | X)
        return self

    def predict(self, Xs):
        """Posterior mean μ and variance σ² (of the latent function) at the rows of Xs."""
        if not hasattr(self, "L_"):
            raise RuntimeError("GaussianProcess.predict: call fit first")
        Xs = np.atleast_2d(np.asarray(Xs, dtype=np.float64))
        ks = self._k(self.X_, Xs, self.length_scale_, self.signal_variance_)  # (n, m): k*
        mu = ks.T @ self.alpha_                                       # μ = k*ᵀ α
        v = np.linalg.solve(self.L_, ks)                              # v = L \ k*
        var = self.signal_variance_ - (v * v).sum(0)                  # σ² = k(x*, x*) − vᵀv
        var = np.maximum(var, 0.0)
        return self.y_mean_ + self.y_std_ * mu, self.y_std_ ** 2 * var
