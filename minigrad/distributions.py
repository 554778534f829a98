r"""Probability distributions with PyTorch's names (``torch.distributions``): sampling
from minigrad's seeded generators, differentiable log-densities, entropies and KL
divergences, and reparameterized samples (``rsample``) for the continuous ones, so that a
VAE's ELBO or a policy gradient is written as in PyTorch.

=============================  ============================================================
``Normal(loc, scale)``         rsample: loc + scale·ε, ε ~ N(0, 1)
``Uniform(low, high)``         rsample: low + (high − low)·u, u ~ U[0, 1)
``Exponential(rate)``          rsample: −log(1 − u)/rate
``Laplace(loc, scale)``        rsample: loc − scale·sign(u)·log(1 − |u|), u ~ U(−1, 1)
``MultivariateNormal``         rsample: loc + L ε, L the Cholesky factor of Σ
``Bernoulli(probs|logits)``    sample only (discrete)
``Categorical(probs|logits)``  sample only (discrete), over the last dim
``Gamma``, ``Beta``,           sample only (Marsaglia–Tsang gamma draws; PyTorch also has
``Dirichlet``, ``Chi2``,       their implicit-reparameterization rsample, not here)
``StudentT``
``Cauchy``, ``LogNormal``,     rsample by inversion, exp of a Normal, |Normal|
``HalfNormal``
``Geometric``, ``Poisson``,    sample only (inversion; Knuth below λ = 10, Hörmann's PTRS
``OneHotCategorical``          above; one-hot Categorical draws)
``Independent(base, n)``       the last n batch dims of ``base`` become event dims
=============================  ============================================================

Every distribution has ``batch_shape`` and ``event_shape``; ``sample(sample_shape)``
returns ``sample_shape + batch_shape + event_shape`` without a graph, ``rsample`` (the
continuous ones) the same with gradients to the parameters, ``log_prob(value)`` the
batch-shaped log-density, and ``entropy()``, ``mean``, ``mode``, ``variance``,
``stddev``; ``cdf``/``icdf`` where they have a closed form. ``kl_divergence(p, q)`` has the
closed forms of :data:`KL_PAIRS`; ``register_kl`` adds one.

Notes
-----
* Parameters are checked when a distribution is built (``validate_args=True``, PyTorch's
  default): a non-positive scale, probabilities outside [0, 1], low ≥ high, a covariance
  that is not positive-definite are ``ValueError`` naming the parameter. ``log_prob``
  checks that Bernoulli values are 0 or 1 and Categorical ones valid class indices.
* Bernoulli converts probabilities to logits as PyTorch does (probabilities clamped to
  [ε, 1 − ε], ε the dtype's machine epsilon), so its log-probabilities and entropies are
  finite at p ∈ {0, 1}.
* Samples come from ``mg.manual_seed``'s generators, so they differ from PyTorch's for the
  same seed; everything else is the same function.

References
----------
D. P. Kingma, M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (the
reparameterization); the KL closed forms are those of PyTorch's ``torch.distributions.kl``.
"""
from __future__ import annotations

import math
import numbers

import numpy as np

from . import creation
from . import dtypes as _dt
from . import random as _random
from .autograd.grad_mode import no_grad
from .ops.activation import Softplus
from .ops.elementwise import const, where
from .tensor import Tensor

__all__ = ["Distribution", "Normal", "Uniform", "Exponential", "Laplace", "Bernoulli",
           "Categorical", "MultivariateNormal", "Gamma", "Beta", "Dirichlet", "Cauchy",
           "LogNormal", "HalfNormal", "Chi2", "StudentT", "Geometric", "Poisson",
           "OneHotCategorical", "Independent", "kl_divergence", "register_kl", "KL_PAIRS"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)


def _softplus(x):
    """log(1 + eˣ), exact for every x (no linear cut-off: threshold ∞)."""
    return Softplus(1.0, math.inf)(x)


def _broadcast_all(*values):
    """The parameters as tensors of one shape, dtype and device (numbers take the dtype and
    device of the tensors among them, else the default float dtype)."""
    tensors = [v for v in values if isinstance(v, Tensor)]
    dtype = next((t.dtype for t in tensors if _dt.is_floating(t.dtype)),
                 _dt.get_default_dtype())
    device = tensors[0].device if tensors else "cpu"
    out = [v if isinstance(v, Tensor) else creation.tensor(v, dtype=dtype, device=device)
           for v in values]
    out = [t if _dt.is_floating(t.dtype) else t.to(dtype=dtype) for t in out]
    shape = np.broadcast_shapes(*(t.shape for t in out))
    return [t if t.shape == shape else t.broadcast_to(shape) for t in out]


def _check(valid, name, what):
    if not bool(valid):
        raise ValueError(f"{name}: {what}")


def _shape(sample_shape):
    if isinstance(sample_shape, numbers.Integral):
        return (int(sample_shape),)
    return tuple(sample_shape)


class Distribution:
    """The interface (PyTorch's ``torch.distributions.Distribution``)."""

    has_rsample = False

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = tuple(batch_shape), tuple(event_shape)
        self._validate_args = True if validate_args is None else bool(validate_args)

    @property
    def batch_shape(self):
        return self._batch_shape

    @property
    def event_shape(self):
        return self._event_shape

    def _extended_shape(self, sample_shape=()):
        return _shape(sample_shape) + self._batch_shape + self._event_shape

    def sample(self, sample_shape=()):
        """A sample of shape ``sample_shape + batch_shape + event_shape`` (no graph)."""
        with no_grad():
            return self.rsample(sample_shape).detach()

    def rsample(self, sample_shape=()):
        raise NotImplementedError(
            f"{type(self).__name__} has no reparameterized sample here: use sample(), and "
            "a score-function estimator (log_prob · reward) for gradients")

    def log_prob(self, value):  # pragma: no cover - abstract
        raise NotImplementedError

    def entropy(self):  # pragma: no cover - abstract
        raise NotImplementedError

    @property
    def stddev(self):
        return self.variance.sqrt()

    def __repr__(self):
        names = [n for n in ("loc", "scale", "low", "high", "rate", "probs") if n in
                 self.__dict__ or n in type(self).__dict__]
        shown = ", ".join(f"{n}: {_short(getattr(self, n))}" for n in names[:2])
        return f"{type(self).__name__}({shown})"


def _short(t):
    return f"{t.item():g}" if t.numel() == 1 else f"size {t.shape}"


# --------------------------------------------------------------------------- continuous

class Normal(Distribution):
    r"""N(loc, scale²): log p(x) = −(x − μ)²/(2σ²) − log σ − ½ log 2π.

    >>> import minigrad as mg
    >>> d = Normal(mg.tensor(0.0), mg.tensor(2.0))
    >>> round(d.log_prob(mg.tensor(0.0)).item(), 6), round(d.entropy().item(), 6)
    (-1.612086, 2.112086)
    """

    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast_all(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)
        if self._validate_args:
            _check((self.scale.data > 0).all(), "Normal", "scale must be positive")

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)
    variance = property(lambda self: self.scale * self.scale)
    stddev = property(lambda self: self.scale)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = creation.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + self.scale * eps

    def log_prob(self, value):
        z = (value - self.loc) / self.scale
        return -0.5 * z * z - self.scale.log() - _LOG_SQRT_2PI

    def entropy(self):
        return 0.5 + _LOG_SQRT_2PI + self.scale.log()

    def cdf(self, value):
        return 0.5 * (1 + ((value - self.loc) / (self.scale * math.sqrt(2))).erf())

    def icdf(self, value):
        from .ops.elementwise import erfinv

        return self.loc + self.scale * erfinv(2 * value - 1) * math.sqrt(2)


class Uniform(Distribution):
    r"""U[low, high): log p(x) = −log(high − low) inside, −∞ outside.

    >>> import minigrad as mg
    >>> Uniform(0.0, 4.0).log_prob(mg.tensor([1.0, 5.0])).tolist()
    [-1.3862943649291992, -inf]
    """

    has_rsample = True

    def __init__(self, low, high, validate_args=None):
        self.low, self.high = _broadcast_all(low, high)
        super().__init__(self.low.shape, (), validate_args)
        if self._validate_args:
            _check((self.low.data < self.high.data).all(), "Uniform", "low must be < high")

    mean = property(lambda self: (self.low + self.high) / 2)
    variance = property(lambda self: (self.high - self.low) ** 2 / 12)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = creation.rand(shape, dtype=self.low.dtype, device=self.low.device)
        return self.low + (self.high - self.low) * u

    def log_prob(self, value):
        value = value if isinstance(value, Tensor) else creation.tensor(value)
        inside = const((self.low.data <= value.data) & (value.data < self.high.data))
        return where(inside, -(self.high - self.low).log(), float("-inf"))

    def entropy(self):
        return (self.high - self.low).log()

    def cdf(self, value):
        return ((value - self.low) / (self.high - self.low)).clamp(0, 1)

    def icdf(self, value):
        return self.low + value * (self.high - self.low)


class Exponential(Distribution):
    r"""Exp(rate): log p(x) = log λ − λx for x ≥ 0.

    >>> import minigrad as mg
    >>> round(Exponential(mg.tensor(2.0)).log_prob(mg.tensor(1.0)).item(), 6)
    -1.306853
    """

    has_rsample = True

    def __init__(self, rate, validate_args=None):
        (self.rate,) = _broadcast_all(rate)
        super().__init__(self.rate.shape, (), validate_args)
        if self._validate_args:
            _check((self.rate.data > 0).all(), "Exponential", "rate must be positive")

    mean = property(lambda self: 1 / self.rate)
    mode = property(lambda self: self.rate * 0)
    variance = property(lambda self: self.rate ** -2)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = creation.rand(shape, dtype=self.rate.dtype, device=self.rate.device)
        return -(1 - u).log() / self.rate

    def log_prob(self, value):
        return self.rate.log() - self.rate * value

    def entropy(self):
        return 1 - self.rate.log()

    def cdf(self, value):
        return 1 - (-self.rate * value).exp()

    def icdf(self, value):
        return -(1 - value).log() / self.rate


class Laplace(Distribution):
    r"""Laplace(loc, scale): log p(x) = −log(2b) − |x − μ|/b.

    >>> import minigrad as mg
    >>> round(Laplace(0.0, 1.0).log_prob(mg.tensor(1.0)).item(), 6)
    -1.693147
    """

    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast_all(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)
        if self._validate_args:
            _check((self.scale.data > 0).all(), "Laplace", "scale must be positive")

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)
    variance = property(lambda self: 2 * self.scale * self.scale)
    stddev = property(lambda self: math.sqrt(2) * self.scale)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = float(np.finfo(np.dtype(self.loc.dtype)).eps)
        u = creation.tensor(_random.uniform(shape, eps - 1, 1, self.loc.dtype, self.loc.device))
        return self.loc - self.scale * u.sign() * (-u.abs()).log1p()

    def log_prob(self, value):
        return -(2 * self.scale).log() - (value - self.loc).abs() / self.scale

    def entropy(self):
        return 1 + (2 * self.scale).log()

    def cdf(self, value):
        z = (value - self.loc) / self.scale
        return 0.5 - 0.5 * z.sign() * (-z.abs()).expm1()

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * (-2 * term.abs()).log1p()


class MultivariateNormal(Distribution):
    r"""N(loc, Σ) over the last dim, Σ given as ``covariance_matrix``, ``precision_matrix``
    (its inverse) or ``scale_tril`` (L lower-triangular with Σ = L Lᵀ; the others are
    factored with Cholesky):

    log p(x) = −½ (k log 2π + ‖L⁻¹(x − μ)‖²) − Σ log diag(L).

    >>> import minigrad as mg
    >>> d = MultivariateNormal(mg.zeros(2), mg.tensor([[4.0, 0.0], [0.0, 1.0]]))
    >>> round(d.log_prob(mg.tensor([2.0, 0.0])).item(), 6)    # = N(0,4)(2) · N(0,1)(0)
    -3.031024
    """

    has_rsample = True

    def __init__(self, loc, covariance_matrix=None, precision_matrix=None, scale_tril=None,
                 validate_args=None):
        from . import linalg

        given = [m for m in (covariance_matrix, precision_matrix, scale_tril) if m is not None]
        if len(given) != 1:
            raise ValueError("MultivariateNormal: give exactly one of covariance_matrix, "
                             "precision_matrix and scale_tril")
        matrix = given[0]
        if loc.ndim < 1 or matrix.ndim < 2 or matrix.shape[-1] != matrix.shape[-2] \
                or matrix.shape[-1] != loc.shape[-1]:
            raise ValueError(f"MultivariateNormal: loc {loc.shape} needs a (..., k, k) matrix "
                             f"with k = {loc.shape[-1] if loc.ndim else '?'}, got "
                             f"{matrix.shape}")
        try:
            if scale_tril is not None:
                L = scale_tril
            elif covariance_matrix is not None:
                L = linalg.cholesky(covariance_matrix)
            else:
                L = linalg.cholesky(linalg.inv(precision_matrix))
        except linalg.LinAlgError:
            raise ValueError("MultivariateNormal: the covariance must be positive-definite"
                             ) from None
        batch = np.broadcast_shapes(loc.shape[:-1], L.shape[:-2])
        k = loc.shape[-1]
        self.loc = loc.broadcast_to(batch + (k,))
        self.scale_tril = L.broadcast_to(batch + (k, k))
        super().__init__(batch, (k,), validate_args)
        if self._validate_args and scale_tril is not None:
            diag = self.scale_tril.diagonal(0, -2, -1)
            _check((diag.data > 0).all(), "MultivariateNormal",
                   "scale_tril must have a positive diagonal")

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)

    @property
    def covariance_matrix(self):
        return self.scale_tril @ self.scale_tril.mT

    @property
    def variance(self):
        return (self.scale_tril * self.scale_tril).sum(-1)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        eps = creation.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (self.scale_tril @ eps.unsqueeze(-1)).squeeze(-1)

    def _half_log_det(self):
        return self.scale_tril.diagonal(0, -2, -1).log().sum(-1)

    def log_prob(self, value):
        from . import linalg

        diff = value - self.loc
        L = self.scale_tril.broadcast_to(diff.shape + diff.shape[-1:])
        z = linalg.solve(L, diff.unsqueeze(-1)).squeeze(-1)      # L⁻¹(x − μ)
        k = self._event_shape[0]
        return -0.5 * (k * math.log(2 * math.pi) + (z * z).sum(-1)) - self._half_log_det()

    def entropy(self):
        k = self._event_shape[0]
        return 0.5 * k * (1 + math.log(2 * math.pi)) + self._half_log_det()


# --------------------------------------------------------------------------- discrete

def _logits_from(probs, logits, name, is_binary):
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: give exactly one of probs and logits")
    if logits is not None:
        (logits,) = _broadcast_all(logits)
        return logits, False
    (probs,) = _broadcast_all(probs)
    _check(((probs.data >= 0) & (probs.data <= 1)).all() if is_binary
           else (probs.data >= 0).all(), name,
           "probs must lie in [0, 1]" if is_binary else "probs must be non-negative")
    return probs, True


class Bernoulli(Distribution):
    r"""Bernoulli(p), p = probs or sigmoid(logits): log p(x) = x·ℓ − softplus(ℓ).

    >>> import minigrad as mg
    >>> d = Bernoulli(probs=mg.tensor(0.25))
    >>> round(d.log_prob(mg.tensor(1.0)).item(), 6), round(d.entropy().item(), 6)
    (-1.386294, 0.562335)
    """

    def __init__(self, probs=None, logits=None, validate_args=None):
        param, is_probs = _logits_from(probs, logits, "Bernoulli", True)
        if is_probs:
            eps = float(np.finfo(np.dtype(param.dtype)).eps)
            p = param.clamp(eps, 1 - eps)
            self.probs, self.logits = param, p.log() - (-p).log1p()
        else:
            self.logits, self.probs = param, param.sigmoid()
        super().__init__(param.shape, (), validate_args)

    mean = property(lambda self: self.probs)
    variance = property(lambda self: self.probs * (1 - self.probs))

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        p = self.probs.detach().broadcast_to(shape)
        return creation.bernoulli(p)

    def log_prob(self, value):
        value = value if isinstance(value, Tensor) else creation.tensor(value,
                                                                        dtype=self.logits.dtype)
        if self._validate_args:
            _check(((value.data == 0) | (value.data == 1)).all(), "Bernoulli.log_prob",
                   "values must be 0 or 1")
        return value * self.logits - _softplus(self.logits)

    def entropy(self):
        return _softplus(self.logits) - self.probs * self.logits


class Categorical(Distribution):
    r"""Categorical over the last dim of ``probs`` (non-negative, normalized here) or
    ``logits`` (log-probabilities up to a constant): log p(i) = ℓ_i − logsumexp(ℓ).

    >>> import minigrad as mg
    >>> d = Categorical(probs=mg.tensor([1.0, 1.0, 2.0]))
    >>> round(d.log_prob(mg.tensor(2)).item(), 6), round(d.entropy().item(), 6)
    (-0.693147, 1.039721)
    """

    def __init__(self, probs=None, logits=None, validate_args=None):
        param, is_probs = _logits_from(probs, logits, "Categorical", False)
        if param.ndim < 1:
            raise ValueError("Categorical: probs/logits need at least 1 dim (the categories)")
        if is_probs:
            self.probs = param / param.sum(-1, keepdim=True)
            eps = float(np.finfo(np.dtype(param.dtype)).tiny)
            self.logits = self.probs.clamp(min=eps).log()
        else:
            self.logits = param - param.logsumexp(-1, keepdim=True)
            self.probs = self.logits.exp()
        self._num_events = param.shape[-1]
        super().__init__(param.shape[:-1], (), validate_args)

    @property
    def mean(self):
        return creation.full(self._batch_shape, float("nan"), dtype=self.probs.dtype,
                             device=self.probs.device)

    variance = mean

    @property
    def mode(self):
        return self.probs.argmax(-1)

    def sample(self, sample_shape=()):
        shape = _shape(sample_shape)
        n = int(np.prod(shape, dtype=np.int64))
        flat = self.probs.detach().reshape(-1, self._num_events)
        draws = creation.multinomial(flat, max(n, 1), replacement=True)[:, :n]  # (B, n)
        return draws.T.reshape(shape + self._batch_shape)

    def log_prob(self, value):
        value = value if isinstance(value, Tensor) else creation.tensor(value)
        if self._validate_args:
            v = value.data
            _check(v.dtype.kind in "iu" and bool(((v >= 0) & (v < self._num_events)).all()),
                   "Categorical.log_prob", f"values must be integers in [0, "
                   f"{self._num_events})")
        shape = np.broadcast_shapes(value.shape, self._batch_shape)
        logits = self.logits.broadcast_to(shape + (self._num_events,))
        index = value.broadcast_to(shape).unsqueeze(-1)
        return logits.gather(-1, index).squeeze(-1)

    def entropy(self):
        p_log_p = where(const(self.probs.data == 0), 0.0, self.probs * self.logits)
        return -p_log_p.sum(-1)


# --------------------------------------------------------------------------- gamma family

def _standard_gamma(alpha):
    """Gamma(α, 1) samples of ``alpha``'s shape (an array), by Marsaglia & Tsang (2000,
    "A Simple Method for Generating Gamma Variables"): for α ≥ 1, d = α − ⅓, c = 1/√(9d),
    accept d·v with v = (1 + c·x)³ (x ~ N(0, 1)) when log u < x²/2 + d − d·v + d·log v;
    for α < 1, a Gamma(α + 1) sample times u^(1/α). Every draw comes from minigrad's
    seeded generator (on the array's device); the rejections repeat on the rest only."""
    from ._backend import get_array_module

    xp = get_array_module(alpha)
    dtype = alpha.dtype
    boost = alpha < 1
    a = xp.where(boost, alpha + 1, alpha).astype(np.float64)
    d = a - 1.0 / 3
    c = 1.0 / xp.sqrt(9 * d)
    out = xp.zeros(a.shape)
    todo = xp.ones(a.shape, dtype=bool)
    device = "cpu" if xp is np else "cuda"
    while bool(todo.any()):
        x = _random.normal(a.shape, 0.0, 1.0, np.float64, device)
        u = _random.uniform(a.shape, 0.0, 1.0, np.float64, device)
        v = (1 + c * x) ** 3
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = (v > 0) & (xp.log(u) < 0.5 * x * x + d - d * v + d * xp.log(v))
        take = todo & ok
        out = xp.where(take, d * v, out)
        todo = todo & ~ok
    if bool(boost.any()):
        u = _random.uniform(a.shape, 0.0, 1.0, np.float64, device)
        with np.errstate(divide="ignore"):
            out = xp.where(boost, out * u ** (1.0 / xp.where(boost, alpha, 1.0)), out)
    tiny = float(np.finfo(np.dtype(dtype)).tiny)
    return xp.maximum(out, tiny).astype(dtype)      # as PyTorch: never exactly 0


def _lbeta(a, b):
    from .ops.special import lgamma

    return lgamma(a) + lgamma(b) - lgamma(a + b)


class Gamma(Distribution):
    r"""Gamma(α = concentration, β = rate): log p(x) = α log β + (α − 1) log x − βx − log Γ(α).

    Sampling (no rsample here: PyTorch's implicit reparameterization of the gamma sampler
    is not implemented) by Marsaglia & Tsang.

    >>> import minigrad as mg
    >>> round(Gamma(2.0, 1.0).log_prob(mg.tensor(1.0)).item(), 6)    # x e^-x at 1
    -1.0
    """

    def __init__(self, concentration, rate, validate_args=None):
        self.concentration, self.rate = _broadcast_all(concentration, rate)
        super().__init__(self.rate.shape, (), validate_args)
        if self._validate_args:
            _check((self.concentration.data > 0).all() & (self.rate.data > 0).all(), "Gamma",
                   "concentration and rate must be positive")

    mean = property(lambda self: self.concentration / self.rate)
    variance = property(lambda self: self.concentration / (self.rate * self.rate))

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        alpha = self.concentration.detach().broadcast_to(shape).data
        z = _standard_gamma(alpha)
        return Tensor(z) / self.rate.detach()

    def log_prob(self, value):
        from .ops.special import lgamma

        a, b = self.concentration, self.rate
        return a * b.log() + (a - 1) * value.log() - b * value - lgamma(a)

    def entropy(self):
        from .ops.special import digamma, lgamma

        a = self.concentration
        return a - self.rate.log() + lgamma(a) + (1 - a) * digamma(a)


class Beta(Distribution):
    r"""Beta(α, β) on (0, 1): log p(x) = (α − 1) log x + (β − 1) log(1 − x) − log B(α, β).
    Sampled as X/(X + Y) with X ~ Gamma(α), Y ~ Gamma(β).

    >>> import minigrad as mg
    >>> round(Beta(2.0, 2.0).log_prob(mg.tensor(0.5)).item(), 6)    # 6x(1 − x) at ½
    0.405465
    """

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = _broadcast_all(concentration1,
                                                                  concentration0)
        super().__init__(self.concentration1.shape, (), validate_args)
        if self._validate_args:
            _check((self.concentration1.data > 0).all() & (self.concentration0.data > 0).all(),
                   "Beta", "concentrations must be positive")

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        total = a + b
        return a * b / (total * total * (total + 1))

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x = _standard_gamma(self.concentration1.detach().broadcast_to(shape).data)
        y = _standard_gamma(self.concentration0.detach().broadcast_to(shape).data)
        return Tensor(x / (x + y))

    def log_prob(self, value):
        a, b = self.concentration1, self.concentration0
        return (a - 1) * value.log() + (b - 1) * (-value).log1p() - _lbeta(a, b)

    def entropy(self):
        from .ops.special import digamma

        a, b = self.concentration1, self.concentration0
        return _lbeta(a, b) - (a - 1) * digamma(a) - (b - 1) * digamma(b) \
            + (a + b - 2) * digamma(a + b)


class Dirichlet(Distribution):
    r"""Dirichlet(α) over the simplex of the last dim: log p(x) = Σ(αᵢ − 1) log xᵢ
    + log Γ(Σαᵢ) − Σ log Γ(αᵢ). Sampled as normalized Gamma(αᵢ) draws.

    >>> import minigrad as mg
    >>> round(Dirichlet(mg.ones(3)).log_prob(mg.tensor([0.2, 0.3, 0.5])).item(), 6)  # log 2
    0.693147
    """

    def __init__(self, concentration, validate_args=None):
        (self.concentration,) = _broadcast_all(concentration)
        if self.concentration.ndim < 1:
            raise ValueError("Dirichlet: concentration needs at least 1 dim (the categories)")
        super().__init__(self.concentration.shape[:-1], self.concentration.shape[-1:],
                         validate_args)
        if self._validate_args:
            _check((self.concentration.data > 0).all(), "Dirichlet",
                   "concentration must be positive")

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, keepdim=True)

    @property
    def variance(self):
        a = self.concentration
        a0 = a.sum(-1, keepdim=True)
        return a * (a0 - a) / (a0 * a0 * (a0 + 1))

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        g = _standard_gamma(self.concentration.detach().broadcast_to(shape).data)
        return Tensor(g / g.sum(-1, keepdims=True))

    def log_prob(self, value):
        from .ops.special import lgamma

        a = self.concentration
        return ((a - 1) * value.log()).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1)

    def entropy(self):
        from .ops.special import digamma, lgamma

        a = self.concentration
        k = a.shape[-1]
        a0 = a.sum(-1)
        return lgamma(a).sum(-1) - lgamma(a0) - (k - a0) * digamma(a0) \
            - ((a - 1) * digamma(a)).sum(-1)


# --------------------------------------------------------------------------- more laws

class Cauchy(Distribution):
    r"""Cauchy(loc, scale): log p(x) = −log(πγ) − log(1 + ((x − x₀)/γ)²); rsample by
    inversion, x₀ + γ·tan(π(u − ½)). No mean or variance (nan and inf, as PyTorch).

    >>> import minigrad as mg
    >>> round(Cauchy(0.0, 1.0).cdf(mg.tensor(1.0)).item(), 6)
    0.75
    """

    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast_all(loc, scale)
        super().__init__(self.loc.shape, (), validate_args)
        if self._validate_args:
            _check((self.scale.data > 0).all(), "Cauchy", "scale must be positive")

    mode = property(lambda self: self.loc)
    mean = property(lambda self: self.loc * float("nan"))
    variance = property(lambda self: self.scale * 0 + float("inf"))

    def rsample(self, sample_shape=()):
        u = creation.rand(self._extended_shape(sample_shape), dtype=self.loc.dtype,
                          device=self.loc.device)
        return self.icdf(u)

    def log_prob(self, value):
        z = (value - self.loc) / self.scale
        return -math.log(math.pi) - self.scale.log() - (z * z).log1p()

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()

    def cdf(self, value):
        return ((value - self.loc) / self.scale).atan() / math.pi + 0.5

    def icdf(self, value):
        return self.loc + self.scale * (math.pi * (value - 0.5)).tan()


class LogNormal(Distribution):
    r"""exp(N(loc, scale²)): log p(x) = log N(log x) − log x; rsample = exp(μ + σε).

    >>> import minigrad as mg
    >>> round(LogNormal(0.0, 1.0).mean.item(), 6)              # e^(1/2)
    1.648721
    """

    has_rsample = True

    def __init__(self, loc, scale, validate_args=None):
        self.base_dist = Normal(loc, scale, validate_args)
        self.loc, self.scale = self.base_dist.loc, self.base_dist.scale
        super().__init__(self.loc.shape, (), validate_args)

    mean = property(lambda self: (self.loc + self.scale * self.scale / 2).exp())
    mode = property(lambda self: (self.loc - self.scale * self.scale).exp())

    @property
    def variance(self):
        s2 = self.scale * self.scale
        return s2.expm1() * (2 * self.loc + s2).exp()

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).exp()

    def log_prob(self, value):
        log_x = value.log()
        return self.base_dist.log_prob(log_x) - log_x

    def entropy(self):
        return self.base_dist.entropy() + self.loc


class HalfNormal(Distribution):
    r"""|N(0, scale²)|: log p(x) = log 2 + log N(0, σ²)(x) for x ≥ 0, −∞ below.

    >>> import minigrad as mg
    >>> round(HalfNormal(1.0).mean.item(), 6)                    # √(2/π)
    0.797885
    """

    has_rsample = True

    def __init__(self, scale, validate_args=None):
        self.base_dist = Normal(0.0, scale, validate_args)
        self.scale = self.base_dist.scale
        super().__init__(self.scale.shape, (), validate_args)

    mean = property(lambda self: self.scale * math.sqrt(2 / math.pi))
    mode = property(lambda self: self.scale * 0)
    variance = property(lambda self: self.scale * self.scale * (1 - 2 / math.pi))

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape).abs()

    def log_prob(self, value):
        value = value if isinstance(value, Tensor) else creation.tensor(value)
        inside = const(value.data >= 0)
        safe = where(inside, value, 0.0)
        return where(inside, self.base_dist.log_prob(safe) + math.log(2), float("-inf"))

    def entropy(self):
        return 0.5 * math.log(math.pi / 2) + self.scale.log() + 0.5

    def cdf(self, value):
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, value):
        return self.base_dist.icdf((value + 1) / 2)


class Chi2(Gamma):
    """χ²(df) = Gamma(df/2, rate ½)."""

    def __init__(self, df, validate_args=None):
        (df,) = _broadcast_all(df)
        super().__init__(df * 0.5, df * 0 + 0.5, validate_args)
        self.df = df


class StudentT(Distribution):
    r"""Student's t(df, loc, scale): log p(x) = −(ν + 1)/2 · log(1 + y²/ν) − log σ
    − ½ log(νπ) − log Γ(ν/2) + log Γ((ν + 1)/2), y = (x − μ)/σ. Sampled as
    μ + σ·Z/√(V/ν), Z ~ N(0, 1), V ~ χ²(ν) (no rsample here).

    >>> import minigrad as mg
    >>> round(StudentT(1.0).log_prob(mg.tensor(0.0)).item(), 6)     # Cauchy: −log π
    -1.14473
    """

    def __init__(self, df, loc=0.0, scale=1.0, validate_args=None):
        self.df, self.loc, self.scale = _broadcast_all(df, loc, scale)
        super().__init__(self.df.shape, (), validate_args)
        if self._validate_args:
            _check((self.df.data > 0).all() & (self.scale.data > 0).all(), "StudentT",
                   "df and scale must be positive")

    mode = property(lambda self: self.loc)

    @property
    def mean(self):
        return where(const(self.df.data > 1), self.loc, float("nan"))

    @property
    def variance(self):
        df = self.df.data
        v = self.scale * self.scale * self.df / where(const(df > 2), self.df - 2, 1.0)
        return where(const(df > 2), v, where(const(df > 1), float("inf"), float("nan")))

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        z = creation.randn(shape, dtype=self.df.dtype, device=self.df.device)
        v = Chi2(self.df.detach().broadcast_to(shape)).sample()
        return self.loc.detach() + self.scale.detach() * z * (v / self.df.detach()).rsqrt()

    def log_prob(self, value):
        from .ops.special import lgamma

        y = (value - self.loc) / self.scale
        norm = self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi) \
            + lgamma(0.5 * self.df) - lgamma(0.5 * (self.df + 1))
        return -0.5 * (self.df + 1) * (y * y / self.df).log1p() - norm

    def entropy(self):
        from .ops.special import digamma, lgamma

        df = self.df
        lbeta = lgamma(0.5 * df) + math.lgamma(0.5) - lgamma(0.5 * (df + 1))
        return self.scale.log() + 0.5 * (df + 1) * (digamma(0.5 * (df + 1))
                                                     - digamma(0.5 * df)) \
            + 0.5 * df.log() + lbeta


class Geometric(Distribution):
    r"""The number of failures before the first success, P(k) = (1 − p)ᵏ p, k = 0, 1, …;
    sampled by inversion, ⌊log u / log(1 − p)⌋.

    >>> import minigrad as mg
    >>> round(Geometric(probs=mg.tensor(0.5)).log_prob(mg.tensor(2.0)).exp().item(), 6)
    0.125
    """

    def __init__(self, probs=None, logits=None, validate_args=None):
        param, is_probs = _logits_from(probs, logits, "Geometric", True)
        self.probs = param if is_probs else param.sigmoid()
        super().__init__(param.shape, (), validate_args)
        if self._validate_args:
            _check((self.probs.data > 0).all(), "Geometric", "probs must be positive")

    mean = property(lambda self: 1 / self.probs - 1)
    mode = property(lambda self: self.probs * 0)
    variance = property(lambda self: (1 / self.probs - 1) / self.probs)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        tiny = float(np.finfo(np.dtype(self.probs.dtype)).tiny)
        u = creation.rand(shape, dtype=self.probs.dtype, device=self.probs.device).clamp(tiny)
        p = self.probs.detach()
        return (u.log() / (-p).log1p()).floor()

    def log_prob(self, value):
        p = self.probs
        return value * (-p).log1p() + p.log()

    def entropy(self):
        p = self.probs
        return -((1 - p) * (-p).log1p() + p * p.log()) / p


def _poisson_arrays(lam):
    """Poisson(λ) draws of ``lam``'s shape (a float64 array): Knuth's product of uniforms
    below λ = 10, Hörmann's transformed rejection (PTRS, 1993) above, both vectorized with
    the rejections repeated on what is left; draws from minigrad's generators."""
    from ._backend import get_array_module
    from .ops.special import lgamma_array

    xp = get_array_module(lam)
    device = "cpu" if xp is np else "cuda"
    out = xp.zeros(lam.shape)
    small = lam < 10
    # Knuth: the number of uniforms whose running product stays above e^(−λ)
    limit, prod = xp.exp(-lam), xp.ones(lam.shape)
    count, todo = xp.zeros(lam.shape), small.copy()
    while bool(todo.any()):
        prod = prod * _random.uniform(lam.shape, 0.0, 1.0, np.float64, device)
        alive = todo & (prod > limit)
        count = count + alive
        todo = alive
    out = xp.where(small, count, out)
    big = ~small
    lam_b = xp.where(big, lam, 10.0)
    slam, loglam = xp.sqrt(lam_b), xp.log(lam_b)
    b = 0.931 + 2.53 * slam
    a = -0.059 + 0.02483 * b
    inv_alpha = 1.1239 + 1.1328 / (b - 3.4)
    vr = 0.9277 - 3.6224 / (b - 2)
    todo = big.copy()
    while bool(todo.any()):
        u = _random.uniform(lam.shape, 0.0, 1.0, np.float64, device) - 0.5
        v = _random.uniform(lam.shape, 0.0, 1.0, np.float64, device)
        us = 0.5 - xp.abs(u)
        k = xp.floor((2 * a / us + b) * u + lam_b + 0.43)
        fast = (us >= 0.07) & (v <= vr)
        with np.errstate(divide="ignore", invalid="ignore"):
            slow = (k >= 0) & ~((us < 0.013) & (v > us)) & (
                xp.log(v) + xp.log(inv_alpha) - xp.log(a / (us * us) + b)
                <= -lam_b + k * loglam - lgamma_array(xp, k + 1))
        ok = todo & (fast | slow)
        out = xp.where(ok, k, out)
        todo = todo & ~ok
    return out


class Poisson(Distribution):
    r"""Poisson(λ = rate): log P(k) = k log λ − λ − log k!; mean and variance λ.

    >>> import minigrad as mg
    >>> round(Poisson(mg.tensor(2.0)).log_prob(mg.tensor(1.0)).exp().item(), 6)   # 2e⁻²
    0.270671
    """

    def __init__(self, rate, validate_args=None):
        (self.rate,) = _broadcast_all(rate)
        super().__init__(self.rate.shape, (), validate_args)
        if self._validate_args:
            _check((self.rate.data >= 0).all(), "Poisson", "rate must be non-negative")

    mean = property(lambda self: self.rate)
    variance = property(lambda self: self.rate)
    mode = property(lambda self: self.rate.floor())

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        lam = self.rate.detach().broadcast_to(shape).data.astype(np.float64)
        return Tensor(_poisson_arrays(lam).astype(self.rate.dtype))

    def log_prob(self, value):
        from .ops.elementwise import xlogy
        from .ops.special import lgamma

        return xlogy(value, self.rate) - self.rate - lgamma(value + 1)


class OneHotCategorical(Distribution):
    """One-hot vectors over the last dim (a :class:`Categorical` whose samples and values
    are one-hot): ``event_shape`` is (K,)."""

    def __init__(self, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args)
        self.probs, self.logits = self._categorical.probs, self._categorical.logits
        k = self._categorical._num_events
        super().__init__(self._categorical.batch_shape, (k,), validate_args)

    mean = property(lambda self: self.probs)
    variance = property(lambda self: self.probs * (1 - self.probs))

    def sample(self, sample_shape=()):
        index = self._categorical.sample(sample_shape)
        k = self._event_shape[0]
        classes = self.probs.xp.arange(k)
        return Tensor((index.data[..., None] == classes).astype(self.probs.dtype))

    def log_prob(self, value):
        return self._categorical.log_prob(value.argmax(-1))

    def entropy(self):
        return self._categorical.entropy()


# --------------------------------------------------------------------------- wrappers

class Independent(Distribution):
    """Reinterpret the last ``reinterpreted_batch_ndims`` batch dims of ``base_distribution``
    as event dims: log_prob and entropy sum over them (e.g. a diagonal Gaussian over a
    vector from a batch of Normals)."""

    def __init__(self, base_distribution, reinterpreted_batch_ndims, validate_args=None):
        n = int(reinterpreted_batch_ndims)
        batch = base_distribution.batch_shape
        if not 0 <= n <= len(batch):
            raise ValueError(f"Independent: reinterpreted_batch_ndims must be in [0, "
                             f"{len(batch)}], got {reinterpreted_batch_ndims}")
        self.base_dist, self.reinterpreted_batch_ndims = base_distribution, n
        split = len(batch) - n
        super().__init__(batch[:split], batch[split:] + base_distribution.event_shape,
                         validate_args)
        self.has_rsample = base_distribution.has_rsample

    def _sum_rightmost(self, x):
        return x.sum(tuple(range(-self.reinterpreted_batch_ndims, 0))) \
            if self.reinterpreted_batch_ndims else x

    mean = property(lambda self: self.base_dist.mean)
    variance = property(lambda self: self.base_dist.variance)

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return self._sum_rightmost(self.base_dist.log_prob(value))

    def entropy(self):
        return self._sum_rightmost(self.base_dist.entropy())


# --------------------------------------------------------------------------- KL

#: (type of p, type of q) → KL(p ‖ q) in closed form
KL_PAIRS = {}


def register_kl(type_p, type_q):
    """Decorator registering ``fn(p, q)`` as KL(p ‖ q) for these two classes."""
    def decorator(fn):
        KL_PAIRS[(type_p, type_q)] = fn
        return fn
    return decorator


def kl_divergence(p, q):
    r"""KL(p ‖ q) = E_p[log p − log q], batch-shaped, in closed form for the pairs of
    :data:`KL_PAIRS` (raises ``NotImplementedError`` naming the pair otherwise).

    >>> import minigrad as mg
    >>> kl_divergence(Normal(0.0, 1.0), Normal(1.0, 1.0)).item()
    0.5
    """
    for (tp, tq), fn in KL_PAIRS.items():
        if isinstance(p, tp) and isinstance(q, tq):
            return fn(p, q)
    raise NotImplementedError(f"kl_divergence: no closed form registered for "
                              f"{type(p).__name__} ‖ {type(q).__name__}")


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    covered = const((q.low.data <= p.low.data) & (p.high.data <= q.high.data))
    return where(covered, ((q.high - q.low) / (p.high - p.low)).log(), float("inf"))


@register_kl(Exponential, Exponential)
def _kl_exponential_exponential(p, q):
    ratio = q.rate / p.rate
    return ratio - 1 - ratio.log()


@register_kl(Laplace, Laplace)
def _kl_laplace_laplace(p, q):
    scale_ratio = p.scale / q.scale
    loc_abs_diff = (p.loc - q.loc).abs()
    return -scale_ratio.log() + loc_abs_diff / q.scale \
        + scale_ratio * (-loc_abs_diff / p.scale).exp() - 1


@register_kl(Bernoulli, Bernoulli)
def _kl_bernoulli_bernoulli(p, q):
    t1 = p.probs * (_softplus(-q.logits) - _softplus(-p.logits))
    t2 = (1 - p.probs) * (_softplus(q.logits) - _softplus(p.logits))
    return t1 + t2


@register_kl(Categorical, Categorical)
def _kl_categorical_categorical(p, q):
    t = p.probs * (p.logits - q.logits)
    t = where(const(q.probs.data == 0), float("inf"), t)
    return where(const(p.probs.data == 0), 0.0, t).sum(-1)


@register_kl(MultivariateNormal, MultivariateNormal)
def _kl_mvn_mvn(p, q):
    r"""½[tr(Σq⁻¹Σp) + (μq − μp)ᵀΣq⁻¹(μq − μp) − k + log det Σq − log det Σp], with
    M = Lq⁻¹Lp: tr(Σq⁻¹Σp) = ‖M‖²_F."""
    from . import linalg

    k = p.event_shape[0]
    batch = np.broadcast_shapes(p.batch_shape, q.batch_shape)
    Lp = p.scale_tril.broadcast_to(batch + (k, k))
    Lq = q.scale_tril.broadcast_to(batch + (k, k))
    M = linalg.solve(Lq, Lp)
    z = linalg.solve(Lq, (q.loc - p.loc).broadcast_to(batch + (k,)).unsqueeze(-1)).squeeze(-1)
    return 0.5 * ((M * M).sum((-2, -1)) + (z * z).sum(-1) - k) \
        + q._half_log_det() - p._half_log_det()


@register_kl(Gamma, Gamma)
def _kl_gamma_gamma(p, q):
    from .ops.special import digamma, lgamma

    a_p, b_p, a_q, b_q = p.concentration, p.rate, q.concentration, q.rate
    t1 = a_q * (b_p / b_q).log()
    t2 = lgamma(a_q) - lgamma(a_p)
    t3 = (a_p - a_q) * digamma(a_p)
    t4 = (b_q - b_p) * (a_p / b_p)
    return t1 + t2 + t3 + t4


@register_kl(Beta, Beta)
def _kl_beta_beta(p, q):
    from .ops.special import digamma

    a_p, b_p, a_q, b_q = p.concentration1, p.concentration0, q.concentration1, q.concentration0
    total = a_p + b_p
    return _lbeta(a_q, b_q) - _lbeta(a_p, b_p) + (a_p - a_q) * digamma(a_p) \
        + (b_p - b_q) * digamma(b_p) + (a_q - a_p + b_q - b_p) * digamma(total)


@register_kl(Dirichlet, Dirichlet)
def _kl_dirichlet_dirichlet(p, q):
    from .ops.special import digamma, lgamma

    a, b = p.concentration, q.concentration
    a0 = a.sum(-1)
    t1 = lgamma(a0) - lgamma(b.sum(-1))
    t2 = (lgamma(b) - lgamma(a)).sum(-1)
    t3 = ((a - b) * (digamma(a) - digamma(a0).unsqueeze(-1))).sum(-1)
    return t1 + t2 + t3


@register_kl(Independent, Independent)
def _kl_independent_independent(p, q):
    if p.reinterpreted_batch_ndims != q.reinterpreted_batch_ndims:
        raise NotImplementedError("kl_divergence: Independent distributions with different "
                                  "reinterpreted_batch_ndims")
    return p._sum_rightmost(kl_divergence(p.base_dist, q.base_dist))
