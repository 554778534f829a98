r"""Probability distributions with PyTorch's names (``torch.distributions``): sampling
from minigrad's seeded generators, differentiable log-densities, entropies and KL
divergences, and reparameterized samples (``rsample``) for the continuous ones, so that a
VAE's ELBO or a policy gradient is written as in PyTorch.

=================================  ========================================================
``Normal(loc, scale)``             rsample: loc + scale·ε, ε ~ N(0, 1)
``Uniform(low, high)``             rsample: low + (high − low)·u, u ~ U[0, 1)
``Exponential(rate)``              rsample: −log(1 − u)/rate
``Laplace(loc, scale)``            rsample: loc − scale·sign(u)·log(1 − |u|), u ~ U(−1, 1)
``MultivariateNormal``             rsample: loc + L ε, L the Cholesky factor of Σ
``LowRankMultivariateNormal``      Σ = W Wᵀ + D; log_prob by Woodbury and the determinant
                                   lemma; rsample: loc + W ε_W + √D ε_D
``Bernoulli(probs|logits)``        sample only (discrete)
``Categorical(probs|logits)``      sample only (discrete), over the last dim
``Binomial``, ``Multinomial``,     sample only: inversion / Hörmann's BTRS; conditional
``NegativeBinomial``               binomials; the Gamma–Poisson mixture
``Gamma``, ``Beta``,               Marsaglia–Tsang draws; rsample by implicit
``Dirichlet``, ``Chi2``,           reparameterization of the Gamma (Figurnov et al. 2018),
``StudentT``, ``FisherSnedecor``   the others through Gammas
``Cauchy``, ``LogNormal``,         rsample by inversion, exp of a Normal, |Normal|,
``HalfNormal``, ``HalfCauchy``     |Cauchy|
``Gumbel``, ``Weibull``,           rsample by inversion, as TransformedDistributions of a
``Pareto``, ``Kumaraswamy``        Uniform or an Exponential (PyTorch's transforms)
``ContinuousBernoulli``            rsample by its inverse CDF (Taylor forms near λ = ½)
``RelaxedBernoulli``,              the Concrete / Gumbel-softmax relaxations (rsample), with
``RelaxedOneHotCategorical``       their logit / log-space bases
``VonMises``                       sample only (Best–Fisher rejection)
``Geometric``, ``Poisson``,        sample only (inversion; Knuth below λ = 10, Hörmann's
``OneHotCategorical``              PTRS above; one-hot Categorical draws)
``Independent(base, n)``           the last n batch dims of ``base`` become event dims
``TransformedDistribution``        base pushed through ``transforms`` (Exp, Affine, Sigmoid,
                                   Tanh, Power, Softmax, Abs, Compose; also as the namespace
                                   ``transforms``)
``MixtureSameFamily``              logsumexp over a Categorical's components
=================================  ========================================================

Every distribution has ``batch_shape`` and ``event_shape``; ``sample(sample_shape)``
returns ``sample_shape + batch_shape + event_shape`` without a graph, ``rsample`` (the
continuous ones) the same with gradients to the parameters, ``log_prob(value)`` the
batch-shaped log-density, and ``entropy()``, ``mean``, ``mode``, ``variance``,
``stddev``; ``cdf``/``icdf`` where they have a closed form. ``kl_divergence(p, q)`` has the
closed forms of :data:`KL_PAIRS` (the most specific registered pair wins, as PyTorch):
the same-family pairs and PyTorch's pairs across families (Uniform ‖ Normal, Gamma ‖
Gumbel, Pareto ‖ Exponential, ...; inf where p puts mass where q has no density);
``register_kl`` adds one.

Notes
-----
* Parameters are checked when a distribution is built (``validate_args=True``, PyTorch's
  default): a non-positive scale, probabilities outside [0, 1], low ≥ high, a covariance
  that is not positive-definite are ``ValueError`` naming the parameter. ``log_prob``
  checks that Bernoulli values are 0 or 1 and Categorical ones valid class indices; the
  distributions that declare a ``support`` (the counts, LowRankMultivariateNormal,
  FisherSnedecor, ContinuousBernoulli, VonMises and every TransformedDistribution) check
  log_prob's values against it, a ``ValueError`` naming the support, as PyTorch. The
  older Uniform and HalfNormal keep scoring values outside as −inf.
* Bernoulli converts probabilities to logits as PyTorch does (probabilities clamped to
  [ε, 1 − ε], ε the dtype's machine epsilon), so its log-probabilities and entropies are
  finite at p ∈ {0, 1}.
* Samples come from ``mg.manual_seed``'s generators, so they differ from PyTorch's for the
  same seed; everything else is the same function. Gamma and Chi2 also draw from a
  ``generator=`` of their own (``sample(shape, generator=g)``, ``rsample(shape, g)``), as
  in PyTorch 2.14. The pathwise gradients of Beta and
  Dirichlet differ from PyTorch's sample by sample (see :class:`Beta`), not on average.
* Where minigrad departs from PyTorch's numbers: the Gamma's implicit gradient is exact to
  ~1e-14 (PyTorch's approximation: ~3e-4); VonMises uses the exact log I₀ (PyTorch: a
  fit good to ~1e-7); Poisson ‖ Poisson is λq at λp = 0 (PyTorch: nan); an
  AffineTransform with event_dim > 0 whose scale broadcasts over the event counts every
  event element in log|det J|. Across families: ContinuousBernoulli ‖ Uniform and
  Uniform ‖ ContinuousBernoulli are finite where the supports only touch (low = 0 or
  high = 1; PyTorch: inf), Poisson(0) ‖ Bernoulli/Binomial is −log q(0) (PyTorch: inf),
  Bernoulli(0) ‖ Poisson(0) is 0 (PyTorch: nan), the always-inf pairs have the batch
  shape of p and q together (PyTorch: p's), and where KL is inf its gradients are 0
  (PyTorch: nan at some such positions).

References
----------
D. P. Kingma, M. Welling, "Auto-Encoding Variational Bayes", ICLR 2014 (the
reparameterization); M. Figurnov, S. Mohamed, A. Mnih, "Implicit Reparameterization
Gradients", NeurIPS 2018; C. J. Maddison, A. Mnih, Y. W. Teh, "The Concrete
Distribution", ICLR 2017; W. Hörmann, "The generation of binomial random variates",
J. Stat. Comput. Simul. 46 (1993); D. J. Best, N. I. Fisher, "Efficient simulation of the
von Mises distribution", Appl. Stat. 28 (1979); G. Loaiza-Ganem, J. P. Cunningham, "The
continuous Bernoulli", NeurIPS 2019. The KL closed forms are those of PyTorch's
``torch.distributions.kl``.
"""
from __future__ import annotations

import math
import numbers
import types
import weakref

import numpy as np

from . import creation
from . import dtypes as _dt
from . import random as _random
from .autograd.function import Function, ieee
from .autograd.grad_mode import no_grad
from .ops.activation import Softplus
from .ops.elementwise import const, where
from .tensor import Tensor

__all__ = ["Distribution", "Normal", "Uniform", "Exponential", "Laplace", "Bernoulli",
           "Categorical", "MultivariateNormal", "Gamma", "Beta", "Dirichlet", "Cauchy",
           "LogNormal", "HalfNormal", "Chi2", "StudentT", "Geometric", "Poisson",
           "OneHotCategorical", "Independent", "kl_divergence", "register_kl", "KL_PAIRS",
           "Binomial", "NegativeBinomial", "Multinomial", "Gumbel", "Weibull", "Pareto",
           "Kumaraswamy", "HalfCauchy", "FisherSnedecor", "LowRankMultivariateNormal",
           "ContinuousBernoulli", "LogitRelaxedBernoulli", "RelaxedBernoulli",
           "ExpRelaxedCategorical", "RelaxedOneHotCategorical", "VonMises",
           "MixtureSameFamily", "TransformedDistribution", "transforms", "Transform",
           "ComposeTransform", "ExpTransform", "AffineTransform", "SigmoidTransform",
           "TanhTransform", "PowerTransform", "SoftmaxTransform", "AbsTransform",
           "identity_transform"]

_LOG_SQRT_2PI = 0.5 * math.log(2 * math.pi)
_MACHEP = 1.11022302462515654042e-16       # 2⁻⁵³, the float64 rounding unit
_EULER = 0.57721566490153286061           # the Euler–Mascheroni constant γ


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


def _as_value(value, like):
    """``value`` as a Tensor (numbers and lists take ``like``'s dtype and device)."""
    if isinstance(value, Tensor):
        return value
    return creation.tensor(value, dtype=like.dtype, device=like.device)


def _sum_rightmost(x, n):
    """x summed over its last ``n`` dims (x itself for n = 0)."""
    return x.sum(tuple(range(-n, 0))) if n > 0 else x


def _clamp_probs(probs):
    """probs clamped to [ε, 1 − ε], ε the dtype's machine epsilon (PyTorch's clamp_probs)."""
    eps = float(np.finfo(np.dtype(probs.dtype)).eps)
    return probs.clamp(eps, 1 - eps)


def _probs_to_logits(probs):
    """log p − log(1 − p) of the clamped probabilities (binary; PyTorch's probs_to_logits)."""
    p = _clamp_probs(probs)
    return p.log() - (-p).log1p()


class _Constraint:
    """A set of values, the part of PyTorch's ``torch.distributions.constraints`` that
    minigrad uses: ``check(value)`` is a bool Tensor (one entry per event: the last
    ``event_dim`` dims are reduced with all), ``event_dim`` the number of dims one element
    of the set spans."""

    def __init__(self, name, test, event_dim=0):
        self.name, self._test, self.event_dim = name, test, event_dim

    def check(self, value):
        v = value.data if isinstance(value, Tensor) else np.asarray(value)
        return Tensor(self._test(v))

    def __repr__(self):
        return self.name


def _independent(constraint, n):
    """``constraint`` over the last ``n`` more dims (PyTorch's constraints.independent)."""
    if n == 0:
        return constraint

    def test(v):
        return constraint._test(v).all(axis=tuple(range(-n, 0)))
    return _Constraint(constraint.name, test, constraint.event_dim + n)


def _data(x):
    return x.data if isinstance(x, Tensor) else x


_real = _Constraint("real", lambda v: v == v)                        # not NaN
_real_vector = _independent(_real, 1)
_positive = _Constraint("positive (> 0)", lambda v: v > 0)
_nonnegative = _Constraint("nonnegative (≥ 0)", lambda v: v >= 0)
_unit_interval = _Constraint("unit_interval [0, 1]", lambda v: (v >= 0) & (v <= 1))
_tanh_interval = _Constraint("interval [−1, 1]", lambda v: (v >= -1) & (v <= 1))
_simplex = _Constraint("simplex (≥ 0, summing to 1 within 1e-6)",
                       lambda v: (v >= 0).all(-1) & (abs(v.sum(-1) - 1) < 1e-6), 1)
_nonnegative_integer = _Constraint("nonnegative_integer",
                                   lambda v: (v >= 0) & (v == v.round()))


def _greater_than_eq(lower_bound):
    return _Constraint(f"greater_than_eq({_short(lower_bound)})",
                       lambda v: v >= _data(lower_bound))


def _integer_interval(high):
    return _Constraint(f"integer_interval(0, {_short(high)})",
                       lambda v: (v >= 0) & (v <= _data(high)) & (v == v.round()))


def _multinomial(total_count):
    return _Constraint(f"multinomial({total_count}): ≥ 0, summing to at most {total_count}",
                       lambda v: (v >= 0).all(-1) & (v.sum(-1) <= total_count), 1)


class Distribution:
    """The interface (PyTorch's ``torch.distributions.Distribution``)."""

    has_rsample = False
    #: the set of values (a ``_Constraint``) where the class declares one: log_prob's
    #: values are checked against it (``_validate_sample``), as PyTorch does
    support = None

    def __init__(self, batch_shape=(), event_shape=(), validate_args=None):
        self._batch_shape, self._event_shape = tuple(batch_shape), tuple(event_shape)
        self._validate_args = True if validate_args is None else bool(validate_args)

    def _validate_sample(self, value, method="log_prob"):
        """With ``validate_args``, a ValueError naming the support when ``value`` leaves it
        (the distributions that declare a ``support``; the others score such values −inf
        or nan without a check)."""
        if self._validate_args and self.support is not None:
            if not bool(self.support.check(value).data.all()):
                raise ValueError(f"{type(self).__name__}.{method}: the value must lie in the "
                                 f"support, {self.support}")

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

    def perplexity(self):
        """e^entropy, batch-shaped (PyTorch's ``perplexity``)."""
        return self.entropy().exp()

    def expand(self, batch_shape, _instance=None):
        """This distribution over a larger ``batch_shape`` (PyTorch's ``expand``): a new
        instance whose batch-shaped tensors (parameters and anything derived from them)
        are ``Tensor.expand`` views of this one's, so nothing is copied and gradients
        reach the original parameters; distributions inside it (``Independent``'s base,
        a mixture's components) are expanded alike. ``batch_shape`` must be one that the
        current batch shape broadcasts to."""
        batch_shape = _shape(batch_shape)
        old = self._batch_shape
        try:
            ok = np.broadcast_shapes(old, batch_shape) == batch_shape
        except ValueError:
            ok = False
        if not ok:
            raise ValueError(f"{type(self).__name__}.expand: the batch shape {old} does not "
                             f"broadcast to {batch_shape}")
        new = object.__new__(type(self)) if _instance is None else _instance
        for name, value in self.__dict__.items():
            if isinstance(value, Tensor) and tuple(value.shape[:len(old)]) == old:
                value = value.expand(batch_shape + tuple(value.shape[len(old):]))
            elif isinstance(value, Distribution) and value.batch_shape[:len(old)] == old:
                value = value.expand(batch_shape + value.batch_shape[len(old):])
            new.__dict__[name] = value
        new._batch_shape = batch_shape
        return new

    def __repr__(self):
        names = [n for n in ("loc", "scale", "low", "high", "rate", "probs") if n in
                 self.__dict__ or n in type(self).__dict__]
        shown = ", ".join(f"{n}: {_short(getattr(self, n))}" for n in names[:2])
        return f"{type(self).__name__}({shown})"


def _enumerated(values, batch_shape, expand):
    """``enumerate_support``'s layout (PyTorch's): the k values (k, *event) along a new
    first dim, then a dim of 1 per batch dim, expanded over ``batch_shape`` unless not
    ``expand``."""
    k, event = values.shape[0], values.shape[1:]
    values = values.reshape((k,) + (1,) * len(batch_shape) + event)
    return values.expand((k,) + batch_shape + event) if expand else values


def _short(t):
    if not isinstance(t, Tensor):
        return f"{t:g}" if np.ndim(t) == 0 else f"size {np.shape(t)}"
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
        """Φ((x − μ)/σ) = ½ erfc(−(x − μ)/(σ√2)): the lower tail keeps its digits, where
        PyTorch's ½(1 + erf(·)) cancels to 0 (cdf(−10) is 7.6e-24 here, 0 there)."""
        return 0.5 * (-(value - self.loc) / (self.scale * math.sqrt(2))).erfc()

    def icdf(self, value):
        """μ + σ·Φ⁻¹(q) by :func:`~minigrad.special.ndtri`, which keeps the tails' digits
        that PyTorch's √2·erf⁻¹(2q − 1) loses to the rounding of 2q − 1 (2.7e-11 relative
        at q = 1e-6; −inf below q ≈ 1e-17)."""
        from .special import ndtri

        return self.loc + self.scale * ndtri(value)


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
    mode = property(lambda self: self.high * float("nan"))  # every point is one (PyTorch: nan)
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
    support = _nonnegative

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
        self._validate_sample(value)
        return self.rate.log() - self.rate * value

    def entropy(self):
        return 1 - self.rate.log()

    def cdf(self, value):
        self._validate_sample(value, "cdf")
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
        if (True if validate_args is None else validate_args) and matrix.numel():
            m, xp = matrix.data, matrix.xp      # PyTorch's constraints, checked the same way
            if scale_tril is not None:
                _check(not bool((m != xp.tril(m)).any()), "MultivariateNormal",
                       "scale_tril must be lower-triangular")
            else:
                which = "covariance" if covariance_matrix is not None else "precision"
                asymmetry = float(xp.abs(m - m.swapaxes(-1, -2)).max())
                _check(asymmetry <= 1e-6 * max(1.0, float(xp.abs(m).max())),
                       "MultivariateNormal", f"{which}_matrix must be symmetric")
        try:
            if scale_tril is not None:
                L = scale_tril.tril()  # only its lower triangle is read (and differentiated)
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

    @property
    def mode(self):
        """1 where p > ½, 0 where p < ½, nan at p = ½ (two modes), as PyTorch."""
        p = self.probs.detach()
        return (p >= 0.5).to(dtype=p.dtype).masked_fill(p == 0.5, float("nan"))

    def enumerate_support(self, expand=True):
        """0 and 1 along a new first dim (expanded over the batch shape unless not
        ``expand``)."""
        values = creation.tensor([0.0, 1.0], dtype=self.probs.dtype, device=self.probs.device)
        return _enumerated(values, self._batch_shape, expand)

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

    def enumerate_support(self, expand=True):
        """0, 1, …, K − 1 along a new first dim (int64, expanded over the batch shape
        unless not ``expand``)."""
        k = self._num_events
        values = creation.arange(k, device=self.probs.device)
        return _enumerated(values, self._batch_shape, expand)

    def sample(self, sample_shape=()):
        shape = _shape(sample_shape)
        n = int(np.prod(shape, dtype=np.int64))
        flat = self.probs.detach().reshape(-1, self._num_events)
        draws = creation.multinomial(flat, max(n, 1), replacement=True)[:, :n]  # (B, n)
        return draws.T.reshape(shape + self._batch_shape)

    def log_prob(self, value):
        value = value if isinstance(value, Tensor) else creation.tensor(value)
        v = value.data
        if v.dtype.kind == "f" and bool((v == v.round()).all()):
            value = value.long()  # whole numbers stored as floats, as PyTorch takes them
            v = value.data
        if self._validate_args:
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

def _standard_gamma(alpha, generator=None):
    """Gamma(α, 1) samples of ``alpha``'s shape (an array), by Marsaglia & Tsang (2000,
    "A Simple Method for Generating Gamma Variables"): for α ≥ 1, d = α − ⅓, c = 1/√(9d),
    accept d·v with v = (1 + c·x)³ (x ~ N(0, 1)) when log u < x²/2 + d − d·v + d·log v;
    for α < 1, a Gamma(α + 1) sample times u^(1/α). Every draw comes from minigrad's
    seeded generator on the array's device, or ``generator``'s stream (a
    :class:`minigrad.Generator` of that device); the rejections repeat on the rest only."""
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
        x = _random.normal(a.shape, 0.0, 1.0, np.float64, device, generator)
        u = _random.uniform(a.shape, 0.0, 1.0, np.float64, device, generator)
        v = (1 + c * x) ** 3
        with np.errstate(invalid="ignore", divide="ignore"):
            ok = (v > 0) & (xp.log(u) < 0.5 * x * x + d - d * v + d * xp.log(v))
        take = todo & ok
        out = xp.where(take, d * v, out)
        todo = todo & ~ok
    if bool(boost.any()):
        u = _random.uniform(a.shape, 0.0, 1.0, np.float64, device, generator)
        with np.errstate(divide="ignore"):
            out = xp.where(boost, out * u ** (1.0 / xp.where(boost, alpha, 1.0)), out)
    tiny = float(np.finfo(np.dtype(dtype)).tiny)
    return xp.maximum(out, tiny).astype(dtype)      # as PyTorch: never exactly 0


# Implicit reparameterization (Figurnov, Mohamed & Mnih, "Implicit Reparameterization
# Gradients", NeurIPS 2018): z = F⁻¹(u; α) for a fixed u, so dz/dα = −(∂F/∂α)/(∂F/∂z), F
# the Gamma(α, 1) CDF P(α, z) and ∂F/∂z its density f(z) = z^(α−1)e^(−z)/Γ(α). The sample
# itself comes from any exact sampler (Marsaglia–Tsang here): only (α, z) enter.
def _gamma_grad_series(xp, a, z):
    r"""dz/dα from the series of P (as :func:`minigrad.igamma`), for z ≤ max(α, 1.1):

    P = z^α e^(−z)/Γ(α + 1) · S,   S = Σₙ cₙ,   c₀ = 1,   cₙ = cₙ₋₁·z/(α + n),

    ∂P/∂α = z^α e^(−z)/Γ(α + 1) · [(log z − ψ(α + 1))·S + S'],
    S' = Σₙ c'ₙ,   c'ₙ = (c'ₙ₋₁·z − cₙ)/(α + n)     (d/dα of the recurrence),

    and z^α e^(−z)/Γ(α + 1) over f(z) is z/α, so dz/dα = −(z/α)[(log z − ψ(α + 1))S + S'],
    with no prefactor to overflow. Every c'ₙ is ≤ 0: S' sums without cancellation."""
    from .ops.special import _converge, digamma_array

    zero = xp.zeros(a.shape)

    def step(state):
        n, c, dc, s, ds, aa, zz = state
        n = n + 1
        dc = (dc * zz - c * zz / (aa + n)) / (aa + n)
        c = c * zz / (aa + n)
        s, ds = s + c, ds + dc
        done = (c <= _MACHEP * s) & (xp.abs(dc) <= _MACHEP * (s - ds))
        return [n, c, dc, s, ds, aa, zz], done

    state = [zero, zero + 1, zero.copy(), zero + 1, zero.copy(), a, z]
    _, _, _, s, ds, _, _ = _converge(xp, state, step)
    return -(z / a) * ((xp.log(z) - digamma_array(xp, a + 1)) * s + ds)


def _gamma_grad_fraction(xp, a, z):
    r"""dz/dα from the continued fraction of Q = 1 − P (as :func:`minigrad.igammac`), for
    z > max(α, 1.1), where P's series would lose the small ∂P/∂α of the upper tail:

    Q = z^α e^(−z)/Γ(α) · C,   C = lim pₖ/qₖ,   pₖ = pₖ₋₁·(z + 2k + 1 − α) − pₖ₋₂·k(k − α)

    (qₖ alike; Cephes' igamc recurrence), so that dz/dα = +(∂Q/∂α)/f(z)
    = z·[(log z − ψ(α))·C + C'], with C' = lim (p'ₖ − C·q'ₖ)/qₖ carried along the
    recurrences differentiated in α (forward mode), rescaled with them."""
    from .ops.special import _BIG, _BIGINV, _converge, digamma_array

    y = 1 - a
    w = z + y + 1
    p2, q2, p1, q1 = xp.ones(a.shape), z.copy(), z + 1, w * z
    dp2, dq2, dp1, dq1 = xp.zeros(a.shape), xp.zeros(a.shape), xp.zeros(a.shape), -z

    def step(state):
        k, y, w, p2, p1, q2, q1, dp2, dp1, dq2, dq1, r, dr = state
        k, y, w = k + 1, y + 1, w + 2                  # dy/dα = dw/dα = −1
        yk = y * k
        p, q = p1 * w - p2 * yk, q1 * w - q2 * yk
        dp = dp1 * w - p1 - dp2 * yk + p2 * k
        dq = dq1 * w - q1 - dq2 * yk + q2 * k
        nonzero = q != 0
        qs = xp.where(nonzero, q, 1.0)
        r_new = xp.where(nonzero, p / qs, r)
        dr_new = xp.where(nonzero, (dp - r_new * dq) / qs, dr)
        done = (xp.abs(r_new - r) <= _MACHEP * xp.abs(r_new)) \
            & (xp.abs(dr_new - dr) <= _MACHEP * (xp.abs(dr_new) + xp.abs(r_new)))
        f = xp.where(xp.abs(p) > _BIG, _BIGINV, 1.0)
        state = [k, y, w, p1 * f, p * f, q1 * f, q * f, dp1 * f, dp * f, dq1 * f, dq * f,
                 r_new, dr_new]
        return state, done & nonzero

    r0 = p1 / q1
    state = [xp.zeros(a.shape), y, w, p2, p1, q2, q1, dp2, dp1, dq2, dq1, r0,
             -r0 * dq1 / q1]
    out = _converge(xp, state, step)
    c, dc = out[-2], out[-1]
    return z * ((xp.log(z) - digamma_array(xp, a)) * c + dc)


def _standard_gamma_grad_array(xp, alpha, z):
    r"""dz/dα = −(∂P(α, z)/∂α)/f(z) of Gamma(α, 1) samples z (float64 arrays, broadcast):
    the series of P where z ≤ max(α, 1.1), the continued fraction of Q elsewhere.

    Accuracy: about 1e-14 relative against 40-digit mpmath over α ∈ [1e-3, 1e5] and samples
    from far in both tails (tests/test_distributions_more.py checks it against finite
    differences of the CDF and against PyTorch, whose ``_standard_gamma_grad`` blends a
    Taylor series, Rice's saddle-point expansion and a rational fit and is good to ~3e-4).
    Cost: both expansions need O(√α) terms near z ≈ α, like :func:`minigrad.igamma`."""
    alpha, z = xp.broadcast_arrays(alpha, z)
    shape = alpha.shape
    a, x = alpha.reshape(-1), z.reshape(-1)
    out = xp.empty(a.shape)
    upper = (x > 1.1) & (x > a)
    for mask, f in ((~upper, _gamma_grad_series), (upper, _gamma_grad_fraction)):
        if bool(mask.any()):
            out[mask] = f(xp, a[mask], x[mask])
    return out.reshape(shape)


class _StandardGamma(Function):
    r"""z ~ Gamma(α, 1), drawn by :func:`_standard_gamma`.   VJP: gα = gz·dz/dα, the
    implicit reparameterization gradient (:func:`_standard_gamma_grad_array`)."""

    save_output = True

    def __init__(self, generator=None):
        self.generator = generator

    def forward(self, xp, alpha):
        return _standard_gamma(alpha, self.generator)

    def backward(self, gz):
        (alpha,) = self.inputs
        return gz * _StandardGammaGrad()(alpha, self.saved_output)


class _StandardGammaGrad(Function):
    """dz/dα of (α, z) as a graph node, so that a second derivative raises (it depends on
    α and z; treating it as a constant would be silently wrong). PyTorch has none either."""

    @ieee
    def forward(self, xp, alpha, z):
        g = _standard_gamma_grad_array(xp, alpha.astype(np.float64), z.astype(np.float64))
        return g.astype(z.dtype, copy=False)

    def backward(self, gy):
        raise NotImplementedError("Gamma.rsample: the gradient of its sample is first order "
                                  "only (no second derivative through the implicit "
                                  "reparameterization), as in PyTorch")


def _rsample_standard_gamma(alpha, generator=None):
    """Gamma(α, 1) samples of ``alpha``'s shape (a Tensor), differentiable in α."""
    return _StandardGamma(generator)(alpha)


def _lbeta(a, b):
    from .ops.special import lgamma

    return lgamma(a) + lgamma(b) - lgamma(a + b)


class Gamma(Distribution):
    r"""Gamma(α = concentration, β = rate): log p(x) = α log β + (α − 1) log x − βx − log Γ(α).

    Sampled by Marsaglia & Tsang; ``rsample`` = z/β with z ~ Gamma(α, 1) differentiable in
    α by implicit reparameterization (Figurnov et al. 2018): dz/dα = −(∂P(α, z)/∂α)/f(z),
    P the regularized incomplete gamma function (see :func:`_standard_gamma_grad_array`),
    the gradient PyTorch's ``Gamma.rsample`` has, to ~1e-14 instead of PyTorch's ~3e-4.

    >>> import minigrad as mg
    >>> round(Gamma(2.0, 1.0).log_prob(mg.tensor(1.0)).item(), 6)    # x e^-x at 1
    -1.0
    >>> alpha = mg.tensor([2.0], dtype=mg.float64, requires_grad=True)
    >>> _ = mg.manual_seed(0)
    >>> z = Gamma(alpha, 1.0).rsample()
    >>> z.backward()
    >>> g = -(mg.igamma(alpha.detach() + 1e-6, z.detach()) - mg.igamma(alpha.detach() - 1e-6,
    ...       z.detach())) / 2e-6 / Gamma(alpha.detach(), 1.0).log_prob(z.detach()).exp()
    >>> bool(abs(alpha.grad - g).item() < 1e-8)              # −(∂F/∂α)/f by differences
    True
    """

    has_rsample = True

    support = _nonnegative

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

    def sample(self, sample_shape=(), *, generator=None):
        """A sample (no graph), drawn from ``generator``'s stream when one is given (a
        :class:`minigrad.Generator` on the distribution's device), as PyTorch 2.14's."""
        with no_grad():
            return self.rsample(sample_shape, generator).detach()

    def rsample(self, sample_shape=(), generator=None):
        shape = self._extended_shape(sample_shape)
        z = _rsample_standard_gamma(self.concentration.broadcast_to(shape), generator)
        return z / self.rate

    def log_prob(self, value):
        from .ops.elementwise import xlogy
        from .ops.special import lgamma

        self._validate_sample(value)
        a, b = self.concentration, self.rate
        # xlogy: (α − 1)·log x is 0 at x = 0 when α = 1 (an exponential's density there)
        return xlogy(a, b) + xlogy(a - 1, value) - b * value - lgamma(a)

    def cdf(self, value):
        """P(α, βx), the regularized incomplete gamma function (no gradient in α: PyTorch's
        ``igamma`` has none either)."""
        from .ops.special import igamma

        return igamma(self.concentration, self.rate * value)

    def entropy(self):
        from .ops.special import digamma, lgamma

        a = self.concentration
        return a - self.rate.log() + lgamma(a) + (1 - a) * digamma(a)


class Beta(Distribution):
    r"""Beta(α, β) on (0, 1): log p(x) = (α − 1) log x + (β − 1) log(1 − x) − log B(α, β).
    Sampled as X/(X + Y) with X ~ Gamma(α), Y ~ Gamma(β); ``rsample`` differentiates that
    through both Gammas' implicit gradients. (PyTorch's pathwise gradient is a different
    one, the implicit gradient of the Beta CDF itself; both are unbiased, so they agree in
    expectation, not sample by sample.)

    >>> import minigrad as mg
    >>> round(Beta(2.0, 2.0).log_prob(mg.tensor(0.5)).item(), 6)    # 6x(1 − x) at ½
    0.405465
    """

    support = _unit_interval

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

    @property
    def mode(self):
        """The first coordinate of Dirichlet((α, β))'s mode (PyTorch's rule, vertices
        included): (α − 1)/(α + β − 2) when both exceed 1."""
        from .ops.shape import stack

        pair = stack([self.concentration1, self.concentration0], -1)
        return Dirichlet(pair, validate_args=False).mode[..., 0]

    has_rsample = True

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        x = _rsample_standard_gamma(self.concentration1.broadcast_to(shape))
        y = _rsample_standard_gamma(self.concentration0.broadcast_to(shape))
        return x / (x + y)

    def log_prob(self, value):
        from .ops.elementwise import xlogy
        from .special import xlog1py

        self._validate_sample(value)
        a, b = self.concentration1, self.concentration0
        # 0·log 0 = 0: Beta(1, β) at 0 and Beta(α, 1) at 1 have finite densities
        return xlogy(a - 1, value) + xlog1py(b - 1, -value) - _lbeta(a, b)

    def entropy(self):
        from .ops.special import digamma

        a, b = self.concentration1, self.concentration0
        return _lbeta(a, b) - (a - 1) * digamma(a) - (b - 1) * digamma(b) \
            + (a + b - 2) * digamma(a + b)


class Dirichlet(Distribution):
    r"""Dirichlet(α) over the simplex of the last dim: log p(x) = Σ(αᵢ − 1) log xᵢ
    + log Γ(Σαᵢ) − Σ log Γ(αᵢ). Sampled as normalized Gamma(αᵢ) draws, and ``rsample``
    differentiates the normalization and the Gammas' implicit gradients (PyTorch's
    pathwise gradient differs sample by sample, see :class:`Beta`).

    >>> import minigrad as mg
    >>> round(Dirichlet(mg.ones(3)).log_prob(mg.tensor([0.2, 0.3, 0.5])).item(), 6)  # log 2
    0.693147
    """

    support = _simplex

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

    @property
    def mode(self):
        """(α − 1)⁺ / Σ(α − 1)⁺; where every αᵢ < 1 the density is unbounded at every
        vertex, and the first vertex is returned (PyTorch's rule: the argmax of the
        clamped zeros)."""
        from .ops.elementwise import const, where

        am1 = (self.concentration - 1).clamp(min=0.0)
        mode = am1 / am1.sum(-1, keepdim=True)
        a = self.concentration.data
        low = (a < 1).all(-1, keepdims=True)
        first = self.concentration.xp.arange(a.shape[-1]) == 0
        return where(const(low), const(first.astype(mode.dtype)), mode)

    has_rsample = True

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        g = _rsample_standard_gamma(self.concentration.broadcast_to(shape))
        return g / g.sum(-1, keepdim=True)

    def log_prob(self, value):
        from .ops.elementwise import xlogy
        from .ops.special import lgamma

        self._validate_sample(value)
        a = self.concentration
        return xlogy(a - 1, value).sum(-1) + lgamma(a.sum(-1)) - lgamma(a).sum(-1)

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

    support = _positive

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
        self._validate_sample(value)
        log_x = value.log()
        return self.base_dist.log_prob(log_x) - log_x

    def entropy(self):
        return self.base_dist.entropy() + self.loc

    def cdf(self, value):
        """F(x) = Φ((log x − μ)/σ); 0 at x = 0, which PyTorch's takes too (the support's
        boundary), where a negative x is refused under ``validate_args``."""
        value = value if isinstance(value, Tensor) else creation.tensor(value)
        if self._validate_args and not bool((value.data >= 0).all()):
            raise ValueError("LogNormal.cdf: the value must be >= 0 (the support is x > 0)")
        return self.base_dist.cdf(value.log())

    def icdf(self, value):
        """F⁻¹(q) = exp(μ + σ·Φ⁻¹(q))."""
        return self.base_dist.icdf(value).exp()


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

    def icdf(self, prob):  # (PyTorch's HalfNormal names it prob)
        return self.base_dist.icdf((prob + 1) / 2)


class Chi2(Gamma):
    """χ²(df) = Gamma(df/2, rate ½) (``rsample`` through the Gamma's implicit gradient)."""

    def __init__(self, df, validate_args=None):
        (df,) = _broadcast_all(df)
        super().__init__(df * 0.5, df * 0 + 0.5, validate_args)
        self.df = df


class StudentT(Distribution):
    r"""Student's t(df, loc, scale): log p(x) = −(ν + 1)/2 · log(1 + y²/ν) − log σ
    − ½ log(νπ) − log Γ(ν/2) + log Γ((ν + 1)/2), y = (x − μ)/σ. ``rsample`` is
    μ + σ·Z/√(V/ν), Z ~ N(0, 1), V ~ χ²(ν) reparameterized (gradients to df through the
    Gamma's implicit gradient), as PyTorch.

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

    has_rsample = True

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        z = creation.randn(shape, dtype=self.df.dtype, device=self.df.device)
        v = Chi2(self.df.broadcast_to(shape), validate_args=False).rsample()
        return self.loc + self.scale * z * (v / self.df).rsqrt()

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

    support = _nonnegative_integer

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
        from .ops.elementwise import const, where

        self._validate_sample(value)
        p = self.probs
        # p = 1 and k = 0: k·log(1 − p) is 0·(−∞); PyTorch takes it as 0 (P(0) = 1)
        sure = const((p.data == 1) & (_data(value) == 0))
        return value * (-where(sure, 0.0, p)).log1p() + p.log()

    def entropy(self):
        from .ops.elementwise import xlogy
        from .special import xlog1py

        p = self.probs
        return -(xlog1py(1 - p, -p) + xlogy(p, p)) / p


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

    support = _nonnegative_integer

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

        self._validate_sample(value)
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

    @property
    def mode(self):
        """The one-hot vector of the most probable class."""
        k = self._event_shape[0]
        index = self.probs.detach().argmax(-1).data
        return Tensor((index[..., None] == self.probs.xp.arange(k)).astype(self.probs.dtype))

    def enumerate_support(self, expand=True):
        """The K one-hot vectors along a new first dim (expanded over the batch shape
        unless not ``expand``)."""
        k = self._event_shape[0]
        values = creation.eye(k, dtype=self.probs.dtype, device=self.probs.device)
        return _enumerated(values, self._batch_shape, expand)

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
    mode = property(lambda self: self.base_dist.mode)

    def sample(self, sample_shape=()):
        return self.base_dist.sample(sample_shape)

    def rsample(self, sample_shape=()):
        return self.base_dist.rsample(sample_shape)

    def log_prob(self, value):
        return self._sum_rightmost(self.base_dist.log_prob(value))

    def entropy(self):
        return self._sum_rightmost(self.base_dist.entropy())


# --------------------------------------------------------------------------- counts

def _stirling_tail(xp, k):
    r"""δ(k) = log k! − [(k + ½) log(k + 1) − (k + 1) + ½ log 2π] of a float64 array k ≥ 0:
    exactly (from log Γ) below 30, by the Stirling series 1/(12N) − 1/(360N³) + 1/(1260N⁵)
    − 1/(1680N⁷), N = k + 1, above (the next term is below 4e-17 there)."""
    from .ops.special import lgamma_array

    small = k < 30
    ks = xp.where(small, k, 0.0)
    exact = lgamma_array(xp, ks + 1) - ((ks + 0.5) * xp.log(ks + 1) - (ks + 1) + _LOG_SQRT_2PI)
    n2 = xp.where(small, 31.0, k + 1)
    inv, inv2 = 1 / n2, 1 / (n2 * n2)
    series = inv * (1 / 12 - inv2 * (1 / 360 - inv2 * (1 / 1260 - inv2 / 1680)))
    return xp.where(small, exact, series)


def _binomial_arrays(n, p):
    r"""Binomial(n, p) draws (float64 arrays of one shape; n a non-negative integer below
    2⁵³), exact up to floating-point rounding, vectorized, from minigrad's generators.

    By symmetry p ≤ ½ (k ↦ n − k for p > ½). Where np < 10: inversion by sequential search
    (Kachitvichyanukul & Schmeiser's BINV, 1988: P(0) = (1 − p)ⁿ, P(k) = P(k − 1)·(n − k +
    1)p/(k(1 − p))), restarted with a fresh uniform past np + 10√(np(1 − p) + 1) (a tail of
    probability below 1e-20). Elsewhere: Hörmann's BTRS (1993, "The generation of binomial
    random variates"), transformed rejection with squeeze, its acceptance test written with
    Stirling tails (:func:`_stirling_tail`) so that no two large log-factorials cancel."""
    from ._backend import get_array_module

    xp = get_array_module(n)
    device = "cpu" if xp is np else "cuda"

    def uniform():
        return _random.uniform(n.shape, 0.0, 1.0, np.float64, device)

    flip = p > 0.5
    p = xp.where(flip, 1 - p, p)
    out = xp.zeros(n.shape)
    small = n * p < 10
    if bool(small.any()):                                   # BINV
        ps, ns = xp.where(small, p, 0.0), xp.where(small, n, 0.0)
        qs = 1 - ps
        s = ps / qs
        a = (ns + 1) * s
        r0 = xp.exp(ns * xp.log1p(-ps))                     # P(0) = qⁿ
        bound = xp.minimum(ns, xp.floor(ns * ps + 10 * xp.sqrt(ns * ps * qs + 1)))
        u, x, r, todo = uniform(), xp.zeros(n.shape), r0.copy(), small.copy()
        while bool(todo.any()):
            hit = todo & (u <= r)
            out = xp.where(hit, x, out)
            todo = todo & ~hit
            u, x = u - r, x + 1
            r = r * (a / x - s)                             # P(x) from P(x − 1)
            over = todo & (x > bound)
            if bool(over.any()):
                x, r, u = xp.where(over, 0.0, x), xp.where(over, r0, r), \
                    xp.where(over, uniform(), u)
    big = ~small
    if bool(big.any()):                                     # BTRS
        nb, pb = xp.where(big, n, 100.0), xp.where(big, p, 0.5)
        qb = 1 - pb
        spq = xp.sqrt(nb * pb * qb)
        b = 1.15 + 2.53 * spq
        a = -0.0873 + 0.0248 * b + 0.01 * pb
        c = nb * pb + 0.5
        v_r = 0.92 - 4.2 / b
        alpha = (2.83 + 5.1 / b) * spq
        r = pb / qb
        m = xp.floor((nb + 1) * pb)                         # the mode
        tails_m = _stirling_tail(xp, m) + _stirling_tail(xp, nb - m)
        todo = big.copy()
        while bool(todo.any()):
            u = uniform() - 0.5
            v = uniform()
            us = 0.5 - xp.abs(u)
            k = xp.floor((2 * a / us + b) * u + c)
            inside = (k >= 0) & (k <= nb)
            fast = (us >= 0.07) & (v <= v_r)
            kk = xp.clip(k, 0, nb)
            with np.errstate(divide="ignore", invalid="ignore"):
                # log(f(k)/f(m)) = log(m!(n − m)!/(k!(n − k)!)) + (k − m) log r
                log_ratio = (m + 0.5) * xp.log((m + 1) / (r * (nb - m + 1))) \
                    + (nb + 1) * xp.log((nb - m + 1) / (nb - kk + 1)) \
                    + (kk + 0.5) * xp.log(r * (nb - kk + 1) / (kk + 1)) \
                    + tails_m - _stirling_tail(xp, kk) - _stirling_tail(xp, nb - kk)
                slow = xp.log(v * alpha / (a / (us * us) + b)) <= log_ratio
            ok = todo & inside & (fast | slow)
            out = xp.where(ok, k, out)
            todo = todo & ~ok
    return xp.where(flip, n - out, out)


def _count_and_binary_probs(dist, name, total_count, probs, logits):
    """Set ``total_count``, ``probs`` and ``logits`` (exactly one of the last two given)
    on a count distribution with a success probability, broadcast together; returns the
    parameter that was given."""
    if (probs is None) == (logits is None):
        raise ValueError(f"{name}: give exactly one of probs and logits")
    param = probs if probs is not None else logits
    total_count, param = _broadcast_all(total_count, param)
    dist.total_count = total_count.to(dtype=param.dtype)
    if probs is not None:
        dist.probs, dist.logits = param, _probs_to_logits(param)
    else:
        dist.logits, dist.probs = param, param.sigmoid()
    dist._param = param
    return param


class Binomial(Distribution):
    r"""The number of successes in ``total_count`` = n Bernoulli(p) trials, p = ``probs``
    or sigmoid(``logits``): log P(k) = log n! − log k! − log(n − k)! + kℓ − n·log(1 + eˡ).

    ``total_count`` broadcasts with the probabilities (a number or a tensor of
    non-negative integers). Sampled by inversion where np < 10 and by Hörmann's BTRS
    rejection above (:func:`_binomial_arrays`). ``entropy`` sums over the support, so it
    needs one total_count for the whole batch (as PyTorch).

    >>> import minigrad as mg
    >>> d = Binomial(4, probs=mg.tensor(0.5, dtype=mg.float64))
    >>> round(d.log_prob(mg.tensor(2.0, dtype=mg.float64)).exp().item(), 6)   # 6/16
    0.375
    """

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        param = _count_and_binary_probs(self, "Binomial", total_count, probs, logits)
        super().__init__(param.shape, (), validate_args)
        if self._validate_args:
            n = self.total_count.data
            _check(((n >= 0) & (n == n.round())).all(), "Binomial",
                   "total_count must be a non-negative integer")
            if probs is not None:
                _check(((param.data >= 0) & (param.data <= 1)).all(), "Binomial",
                       "probs must lie in [0, 1]")

    @property
    def support(self):
        return _integer_interval(self.total_count)

    mean = property(lambda self: self.total_count * self.probs)
    variance = property(lambda self: self.total_count * self.probs * (1 - self.probs))

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().minimum(self.total_count)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        n = self.total_count.detach().broadcast_to(shape).data.astype(np.float64)
        p = self.probs.detach().broadcast_to(shape).data.astype(np.float64)
        return Tensor(_binomial_arrays(n, p).astype(self.probs.dtype))

    def log_prob(self, value):
        from .ops.special import lgamma

        value = _as_value(value, self.logits)
        self._validate_sample(value)
        n, logits = self.total_count, self.logits
        clamped = (logits.clamp(min=0) + logits - logits.clamp(max=0)) / 2   # max(ℓ, 0)
        normalize = n * clamped + n * (-logits.abs()).exp().log1p() - lgamma(n + 1)
        return value * logits - lgamma(value + 1) - lgamma(n - value + 1) - normalize

    def enumerate_support(self, expand=True):
        """0, 1, …, n along a new first dim (one total_count for the batch, as PyTorch)."""
        n = self.total_count.data
        top = int(n.max()) if n.size else 0
        if n.size and int(n.min()) != top:
            raise NotImplementedError("Binomial.enumerate_support: inhomogeneous total_count "
                                      "is not supported (as in PyTorch)")
        values = creation.arange(top + 1, dtype=self._param.dtype, device=self._param.device)
        return _enumerated(values, self._batch_shape, expand)

    def entropy(self):
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(log_prob.exp() * log_prob).sum(0)


class NegativeBinomial(Distribution):
    r"""The number of successes before the ``total_count``-th failure, each trial a success
    with probability p = ``probs`` (in [0, 1)) or sigmoid(``logits``); total_count = r > 0
    may be real: log P(k) = r·log σ(−ℓ) + k·log σ(ℓ) + log Γ(r + k) − log k! − log Γ(r).

    Sampled as the Gamma–Poisson mixture, λ ~ Gamma(r, rate e^(−ℓ)) then Poisson(λ), with
    the Gamma and Poisson samplers of this module.

    >>> import minigrad as mg
    >>> d = NegativeBinomial(2.0, probs=mg.tensor(0.5, dtype=mg.float64))
    >>> round(d.log_prob(mg.tensor(1.0, dtype=mg.float64)).exp().item(), 6)   # 2·½³
    0.25
    """

    def __init__(self, total_count, probs=None, logits=None, validate_args=None):
        param = _count_and_binary_probs(self, "NegativeBinomial", total_count, probs, logits)
        super().__init__(param.shape, (), validate_args)
        if self._validate_args:
            _check((self.total_count.data >= 0).all(), "NegativeBinomial",
                   "total_count must be non-negative")
            if probs is not None:
                _check(((param.data >= 0) & (param.data < 1)).all(), "NegativeBinomial",
                       "probs must lie in [0, 1)")

    support = _nonnegative_integer
    mean = property(lambda self: self.total_count * self.logits.exp())
    variance = property(lambda self: self.mean / (-self.logits).sigmoid())

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    def sample(self, sample_shape=()):
        with no_grad():
            gamma = Gamma(self.total_count, (-self.logits).exp(), validate_args=False)
            rate = gamma.sample(sample_shape)
        lam = rate.data.astype(np.float64)
        return Tensor(_poisson_arrays(lam).astype(self.probs.dtype))

    def log_prob(self, value):
        from .nn.functional import logsigmoid
        from .ops.special import lgamma

        value = _as_value(value, self.logits)
        self._validate_sample(value)
        r, logits = self.total_count, self.logits
        unnormalized = r * logsigmoid(-logits) + value * logsigmoid(logits)
        both_zero = const((r.data + value.data) == 0)       # P(0) = 1 when r = 0
        r_safe = where(both_zero, 1.0, r)                    # (no Γ(0) = ∞ − ∞ there)
        normalization = -lgamma(r_safe + value) + lgamma(1.0 + value) + lgamma(r_safe)
        return unnormalized - where(both_zero, 0.0, normalization)


class Multinomial(Distribution):
    r"""Counts of ``total_count`` = n draws over the categories of the last dim of
    ``probs``/``logits`` (normalized as :class:`Categorical`): event_shape (k,),
    log P(x) = log n! − Σ log xᵢ! + Σ xᵢ log pᵢ (n = Σ xᵢ, so log_prob also scores counts
    with another total, as PyTorch).

    Sampled by conditional binomials, x₁ ~ Bin(n, p₁), xⱼ ~ Bin(n − Σᵢ<ⱼ xᵢ, pⱼ/Σᵢ≥ⱼ pᵢ),
    the last category taking the rest: k − 1 vectorized binomial draws, whatever n.

    >>> import minigrad as mg
    >>> d = Multinomial(2, probs=mg.tensor([0.5, 0.5], dtype=mg.float64))
    >>> round(d.log_prob(mg.tensor([1.0, 1.0], dtype=mg.float64)).exp().item(), 6)
    0.5
    """

    def __init__(self, total_count=1, probs=None, logits=None, validate_args=None):
        if not isinstance(total_count, numbers.Integral) or isinstance(total_count, bool):
            raise NotImplementedError("Multinomial: total_count must be one int (inhomogeneous "
                                      "total_count is not supported, as in PyTorch)")
        if total_count < 0:
            raise ValueError(f"Multinomial: total_count must be non-negative, got "
                             f"{total_count}")
        self.total_count = int(total_count)
        self._categorical = Categorical(probs, logits, validate_args)
        k = self._categorical._num_events
        super().__init__(self._categorical.batch_shape, (k,), validate_args)

    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)
    mean = property(lambda self: self.probs * self.total_count)
    variance = property(lambda self: self.total_count * self.probs * (1 - self.probs))

    @property
    def support(self):
        return _multinomial(self.total_count)

    def sample(self, sample_shape=()):
        from ._backend import get_array_module

        shape = self._extended_shape(sample_shape)
        p = self.probs.detach().broadcast_to(shape).data.astype(np.float64)
        xp = get_array_module(p)
        k = shape[-1]
        rest = xp.cumsum(p[..., ::-1], axis=-1)[..., ::-1]      # Σᵢ≥ⱼ pᵢ
        left = xp.full(shape[:-1], float(self.total_count))
        counts = xp.zeros(shape)
        for j in range(k - 1):
            pos = rest[..., j] > 0
            ratio = xp.where(pos, p[..., j] / xp.where(pos, rest[..., j], 1.0), 0.0)
            x = _binomial_arrays(left, xp.minimum(ratio, 1.0))
            counts[..., j] = x
            left = left - x
        counts[..., k - 1] = left
        return Tensor(counts.astype(self.probs.dtype))

    def log_prob(self, value):
        from .ops.special import lgamma

        value = _as_value(value, self.logits)
        self._validate_sample(value)
        shape = np.broadcast_shapes(self.logits.shape, value.shape)
        logits, value = self.logits.broadcast_to(shape), value.broadcast_to(shape)
        log_factorial_n = lgamma(value.sum(-1) + 1)
        log_factorial_xs = lgamma(value + 1).sum(-1)
        # 0·log 0 = 0: a category of probability 0 that was never drawn costs nothing
        logits = where(const((value.data == 0) & (logits.data == -np.inf)), 0.0, logits)
        return log_factorial_n - log_factorial_xs + (logits * value).sum(-1)

    def entropy(self):
        r"""n·H(p) − log n! + Σᵢ Σₓ₌₁ⁿ Bin(x; n, pᵢ)·log x! (as PyTorch)."""
        from .ops.special import lgamma

        n = self.total_count
        term1 = n * self._categorical.entropy() - math.lgamma(n + 1)
        binomial = Binomial(n, probs=self.probs, validate_args=False)
        support = binomial.enumerate_support(expand=False)[1:]
        weights = lgamma(support + 1)
        term2 = (binomial.log_prob(support).exp() * weights).sum((0, -1))
        return term1 + term2


# --------------------------------------------------------------------------- transforms

class Transform:
    r"""A map y = f(x) with its inverse and log|det ∂y/∂x| (PyTorch's
    ``torch.distributions.transforms.Transform``): ``t(x)``, ``t.inv(y)`` (``t.inv`` is
    itself a Transform), ``t.log_abs_det_jacobian(x, y)``, ``sign`` (of ∂y/∂x, for the
    monotone ones), ``bijective``, ``domain``/``codomain`` (their ``event_dim`` says over
    how many trailing dims the map couples its inputs) and ``forward_shape``/
    ``inverse_shape``.

    ``cache_size=1`` keeps the last (x, y) pair, so that ``t.inv(t(x))`` returns x itself
    (exact where the inverse would lose digits, e.g. atanh near ±1)."""

    bijective = False
    domain = _real
    codomain = _real

    def __init__(self, cache_size=0):
        if cache_size not in (0, 1):
            raise ValueError(f"{type(self).__name__}: cache_size must be 0 or 1, got "
                             f"{cache_size!r}")
        self._cache_size = cache_size
        self._inv = None
        self._cached_x_y = None, None

    @property
    def event_dim(self):
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError(f"{type(self).__name__}: domain and codomain have different "
                         "event_dim; use .domain.event_dim or .codomain.event_dim")

    @property
    def inv(self):
        """The inverse transform (held by weak reference: t.inv.inv is t)."""
        inv = self._inv() if self._inv is not None else None
        if inv is None:
            inv = _InverseTransform(self)
            self._inv = weakref.ref(inv)
        return inv

    @property
    def sign(self):
        raise NotImplementedError(f"{type(self).__name__} has no sign (not monotone)")

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self).__name__}.with_cache is not implemented")

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    def __call__(self, x):
        if self._cache_size == 0:
            return self._call(x)
        x_old, y_old = self._cached_x_y
        if x is x_old:
            return y_old
        y = self._call(x)
        self._cached_x_y = x, y
        return y

    def _inv_call(self, y):
        if self._cache_size == 0:
            return self._inverse(y)
        x_old, y_old = self._cached_x_y
        if y is y_old:
            return x_old
        x = self._inverse(y)
        self._cached_x_y = x, y
        return x

    def _call(self, x):
        raise NotImplementedError(f"{type(self).__name__} has no forward map")

    def _inverse(self, y):
        raise NotImplementedError(f"{type(self).__name__} has no inverse")

    def log_abs_det_jacobian(self, x, y):
        raise NotImplementedError(f"{type(self).__name__} has no log_abs_det_jacobian")

    def forward_shape(self, shape):
        return tuple(shape)

    def inverse_shape(self, shape):
        return tuple(shape)

    def __repr__(self):
        return type(self).__name__ + "()"


class _InverseTransform(Transform):
    """The inverse of a transform (built by ``Transform.inv``)."""

    def __init__(self, transform):
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform                       # a strong reference this way round

    domain = property(lambda self: self._inv.codomain)
    codomain = property(lambda self: self._inv.domain)
    bijective = property(lambda self: self._inv.bijective)
    sign = property(lambda self: self._inv.sign)
    inv = property(lambda self: self._inv)

    def with_cache(self, cache_size=1):
        return self.inv.with_cache(cache_size).inv

    def __eq__(self, other):
        return isinstance(other, _InverseTransform) and self._inv == other._inv

    def __repr__(self):
        return f"{type(self).__name__}({self._inv!r})"

    def __call__(self, x):
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)


class ComposeTransform(Transform):
    r"""parts[-1] ∘ … ∘ parts[0]; log|det J| is the sum of the parts' terms, each summed
    over the event dims it does not couple itself (PyTorch's rule).

    >>> import minigrad as mg
    >>> t = ComposeTransform([AffineTransform(1.0, 2.0), ExpTransform()])   # y = e^(1 + 2x)
    >>> x = mg.tensor([0.0, 0.5], dtype=mg.float64)
    >>> [round(v, 6) for v in t(x).tolist()], t.log_abs_det_jacobian(x, t(x)).tolist()
    ([2.718282, 7.389056], [1.6931471805599454, 2.6931471805599454])
    """

    def __init__(self, parts, cache_size=0):
        parts = list(parts)
        if cache_size:
            parts = [part.with_cache(cache_size) for part in parts]
        super().__init__(cache_size=cache_size)
        self.parts = parts

    def __eq__(self, other):
        return isinstance(other, ComposeTransform) and self.parts == other.parts

    @property
    def domain(self):
        if not self.parts:
            return _real
        domain = self.parts[0].domain
        event_dim = self.parts[-1].codomain.event_dim
        for part in reversed(self.parts):
            event_dim += part.domain.event_dim - part.codomain.event_dim
            event_dim = max(event_dim, part.domain.event_dim)
        return _independent(domain, event_dim - domain.event_dim)

    @property
    def codomain(self):
        if not self.parts:
            return _real
        codomain = self.parts[-1].codomain
        event_dim = self.parts[0].domain.event_dim
        for part in self.parts:
            event_dim += part.codomain.event_dim - part.domain.event_dim
            event_dim = max(event_dim, part.codomain.event_dim)
        return _independent(codomain, event_dim - codomain.event_dim)

    bijective = property(lambda self: all(p.bijective for p in self.parts))

    @property
    def sign(self):
        sign = 1
        for p in self.parts:
            sign = sign * p.sign
        return sign

    @property
    def inv(self):
        inv = self._inv() if self._inv is not None else None
        if inv is None:
            inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv = weakref.ref(inv)
            inv._inv = weakref.ref(self)
        return inv

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return ComposeTransform(self.parts, cache_size=cache_size)

    def __call__(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return creation.zeros_like(x)
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        total = 0.0
        event_dim = self.domain.event_dim
        for part, a, b in zip(self.parts, xs[:-1], xs[1:]):
            total = total + _sum_rightmost(part.log_abs_det_jacobian(a, b),
                                           event_dim - part.domain.event_dim)
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return total

    def forward_shape(self, shape):
        for part in self.parts:
            shape = part.forward_shape(shape)
        return tuple(shape)

    def inverse_shape(self, shape):
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return tuple(shape)

    def __repr__(self):
        return "ComposeTransform(" + ", ".join(repr(p) for p in self.parts) + ")"


identity_transform = ComposeTransform([])


class ExpTransform(Transform):
    r"""y = eˣ.   log|dy/dx| = x."""

    domain, codomain, bijective, sign = _real, _positive, True, 1

    def __eq__(self, other):
        return isinstance(other, ExpTransform)

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


def _param_shape(p):
    return tuple(p.shape) if isinstance(p, Tensor) else ()


def _param_equal(a, b):
    if isinstance(a, Tensor) or isinstance(b, Tensor):
        return bool((_data(a) == _data(b)).all())
    return a == b


class PowerTransform(Transform):
    r"""y = x^exponent on x > 0.   log|dy/dx| = log|exponent·y/x|."""

    domain, codomain, bijective = _positive, _positive, True

    def __init__(self, exponent, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.exponent = exponent

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return PowerTransform(self.exponent, cache_size=cache_size)

    @property
    def sign(self):
        e = self.exponent
        return e.sign() if isinstance(e, Tensor) else (e > 0) - (e < 0)

    def __eq__(self, other):
        return isinstance(other, PowerTransform) and _param_equal(self.exponent,
                                                                   other.exponent)

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape):
        return np.broadcast_shapes(tuple(shape), _param_shape(self.exponent))

    inverse_shape = forward_shape


def _clipped_sigmoid(x):
    finfo = np.finfo(np.dtype(x.dtype))
    return x.sigmoid().clamp(float(finfo.tiny), 1.0 - float(finfo.eps))


class SigmoidTransform(Transform):
    r"""y = σ(x) = 1/(1 + e⁻ˣ), clamped to [tiny, 1 − ε] as PyTorch.
    log|dy/dx| = −softplus(−x) − softplus(x)."""

    domain, codomain, bijective, sign = _real, _unit_interval, True, 1

    def __eq__(self, other):
        return isinstance(other, SigmoidTransform)

    def _call(self, x):
        return _clipped_sigmoid(x)

    def _inverse(self, y):
        finfo = np.finfo(np.dtype(y.dtype))
        y = y.clamp(float(finfo.tiny), 1.0 - float(finfo.eps))
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        return -_softplus(-x) - _softplus(x)


class TanhTransform(Transform):
    r"""y = tanh x.   log|dy/dx| = 2(log 2 − x − softplus(−2x)), the form without
    cancellation for large |x| (PyTorch's, from TensorFlow Probability). The inverse atanh
    is not clamped: use ``cache_size=1`` for samples that round to ±1."""

    domain, codomain, bijective, sign = _real, _tanh_interval, True, 1

    def __eq__(self, other):
        return isinstance(other, TanhTransform)

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return y.atanh()

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - _softplus(-2.0 * x))


class AbsTransform(Transform):
    r"""y = |x| (not invertible: ``inv`` returns y, the non-negative preimage, as
    PyTorch; no log_abs_det_jacobian, so a TransformedDistribution built on it needs its
    own log_prob, as :class:`HalfCauchy`)."""

    domain, codomain = _real, _nonnegative

    def __eq__(self, other):
        return isinstance(other, AbsTransform)

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


class AffineTransform(Transform):
    r"""y = loc + scale·x, pointwise; ``event_dim`` trailing dims form one event.
    log|det J| = Σ log|scale| over those dims (per element for event_dim = 0).

    Notes
    -----
    With event_dim > 0 and a ``scale`` that broadcasts over the event (a scalar scale on
    vectors, say), the sum counts every element of the event, the true log-determinant;
    PyTorch sums only the entries scale has there.
    """

    bijective = True

    def __init__(self, loc, scale, event_dim=0, cache_size=0):
        super().__init__(cache_size=cache_size)
        self.loc, self.scale, self._event_dim = loc, scale, int(event_dim)

    @property
    def event_dim(self):
        return self._event_dim

    domain = property(lambda self: _independent(_real, self._event_dim))
    codomain = domain

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self._event_dim, cache_size=cache_size)

    def __eq__(self, other):
        return isinstance(other, AffineTransform) and _param_equal(self.loc, other.loc) \
            and _param_equal(self.scale, other.scale)

    @property
    def sign(self):
        s = self.scale
        return s.sign() if isinstance(s, Tensor) else (s > 0) - (s < 0)

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        scale = self.scale
        if isinstance(scale, Tensor):
            result = scale.abs().log()
            result = result.broadcast_to(np.broadcast_shapes(result.shape, x.shape))
        else:
            result = creation.full_like(x, math.log(abs(scale)))
        return _sum_rightmost(result, self._event_dim)

    def forward_shape(self, shape):
        return np.broadcast_shapes(tuple(shape), _param_shape(self.loc),
                                   _param_shape(self.scale))

    inverse_shape = forward_shape


class SoftmaxTransform(Transform):
    r"""y = softmax(x) over the last dim (not bijective: the inverse log y is one
    preimage; no log_abs_det_jacobian, as PyTorch)."""

    domain, codomain = _real_vector, _simplex

    def __eq__(self, other):
        return isinstance(other, SoftmaxTransform)

    def _call(self, x):
        probs = (x - x.max(-1, keepdim=True)[0]).exp()
        return probs / probs.sum(-1, keepdim=True)

    def _inverse(self, y):
        return y.log()

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("SoftmaxTransform: needs at least one dim")
        return tuple(shape)

    inverse_shape = forward_shape


#: PyTorch's ``torch.distributions.transforms`` names: ``from minigrad.distributions import
#: transforms``, then ``transforms.ExpTransform()`` (the classes are also module-level)
transforms = types.SimpleNamespace(
    Transform=Transform, ComposeTransform=ComposeTransform, ExpTransform=ExpTransform,
    AffineTransform=AffineTransform, SigmoidTransform=SigmoidTransform,
    TanhTransform=TanhTransform, PowerTransform=PowerTransform,
    SoftmaxTransform=SoftmaxTransform, AbsTransform=AbsTransform,
    identity_transform=identity_transform)


class TransformedDistribution(Distribution):
    r"""Y = f(X), X ~ ``base_distribution`` and f = transforms[-1] ∘ … ∘ transforms[0]:
    log p(y) = log p_X(f⁻¹(y)) − log|det ∂f/∂x| at x = f⁻¹(y), the terms summed over the
    event dims as PyTorch does. ``rsample`` exists where the base has one.

    >>> import minigrad as mg
    >>> d = TransformedDistribution(Normal(0.0, 1.0), [ExpTransform()])    # a LogNormal
    >>> round(d.log_prob(mg.tensor(1.0)).item(), 6)                       # −½ log 2π
    -0.918939

    Notes
    -----
    PyTorch expands the base distribution when the transforms' parameters broadcast its
    batch shape; minigrad has no ``expand``, so it supports new *leading* batch dims (drawn
    as extra sample dims of the base) and otherwise asks for a base with the full batch
    shape.
    """

    def __init__(self, base_distribution, transforms, validate_args=None):
        if isinstance(transforms, Transform):
            transforms = [transforms]
        if not isinstance(transforms, list) or \
                not all(isinstance(t, Transform) for t in transforms):
            raise ValueError("TransformedDistribution: transforms must be a Transform or a "
                             f"list of Transforms, got {transforms!r}")
        self.transforms = transforms
        base_shape = base_distribution.batch_shape + base_distribution.event_shape
        base_event_dim = len(base_distribution.event_shape)
        transform = ComposeTransform(self.transforms)
        if len(base_shape) < transform.domain.event_dim:
            raise ValueError(f"TransformedDistribution: the base distribution needs at least "
                             f"{transform.domain.event_dim} dims, got shape {base_shape}")
        forward_shape = transform.forward_shape(base_shape)
        expanded = transform.inverse_shape(forward_shape)
        extra = len(expanded) - len(base_shape)
        if expanded[extra:] != base_shape:
            raise ValueError(f"TransformedDistribution: the transforms broadcast the base "
                             f"shape {base_shape} to {expanded}; build the base distribution "
                             "with that batch shape (minigrad has no Distribution.expand)")
        self._base_extra = expanded[:extra]          # new leading batch dims
        reinterpreted = transform.domain.event_dim - base_event_dim
        if reinterpreted > 0:
            base_distribution = Independent(base_distribution, reinterpreted)
        self.base_dist = base_distribution
        change = transform.codomain.event_dim - transform.domain.event_dim
        event_dim = max(transform.codomain.event_dim, base_event_dim + change)
        cut = len(forward_shape) - event_dim
        super().__init__(forward_shape[:cut], forward_shape[cut:], validate_args)

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    @property
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        return _independent(support, max(0, len(self.event_shape) - support.event_dim))

    def sample(self, sample_shape=()):
        with no_grad():
            x = self.base_dist.sample(_shape(sample_shape) + self._base_extra)
            for transform in self.transforms:
                x = transform(x)
            return x

    def rsample(self, sample_shape=()):
        x = self.base_dist.rsample(_shape(sample_shape) + self._base_extra)
        for transform in self.transforms:
            x = transform(x)
        return x

    def log_prob(self, value):
        value = _as_value(value, _reference(self))
        self._validate_sample(value)
        event_dim = len(self.event_shape)
        log_prob = 0.0
        y = value
        for transform in reversed(self.transforms):
            x = transform.inv(y)
            event_dim += transform.domain.event_dim - transform.codomain.event_dim
            log_prob = log_prob - _sum_rightmost(transform.log_abs_det_jacobian(x, y),
                                                 event_dim - transform.domain.event_dim)
            y = x
        return log_prob + _sum_rightmost(self.base_dist.log_prob(y),
                                         event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value):
        """1 − F where the composed map is decreasing, so that the cdf increases."""
        sign = 1
        for transform in self.transforms:
            sign = sign * transform.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value):
        value = _as_value(value, _reference(self))
        for transform in self.transforms[::-1]:
            value = transform.inv(value)
        return self._monotonize_cdf(self.base_dist.cdf(value))

    def icdf(self, value):
        value = self.base_dist.icdf(self._monotonize_cdf(_as_value(value, _reference(self))))
        for transform in self.transforms:
            value = transform(value)
        return value


def _reference(d):
    """A parameter tensor of ``d`` (its dtype and device for numbers given as values)."""
    while isinstance(d, (TransformedDistribution, Independent)):
        d = d.base_dist
    for v in vars(d).values():
        if isinstance(v, Tensor):
            return v
    return creation.tensor(0.0)


# --------------------------------------------------------------------------- more continuous

class Gumbel(TransformedDistribution):
    r"""Gumbel(loc μ, scale β): log p(x) = (μ − x)/β − e^((μ − x)/β) − log β, the law of
    μ − β log(−log U); rsample by that inversion (as PyTorch: U ~ U[tiny, 1 − ε] through
    [Exp⁻¹, Affine(0, −1), Exp⁻¹, Affine(μ, −β)]).

    >>> import minigrad as mg
    >>> round(Gumbel(0.0, 1.0).log_prob(mg.tensor(0.0)).item(), 6)          # −1
    -1.0
    """

    support = _real

    def __init__(self, loc, scale, validate_args=None):
        self.loc, self.scale = _broadcast_all(loc, scale)
        if validate_args is not False:
            _check((self.scale.data > 0).all(), "Gumbel", "scale must be positive")
        finfo = np.finfo(np.dtype(self.loc.dtype))
        base = Uniform(creation.full_like(self.loc, float(finfo.tiny)),
                       creation.full_like(self.loc, 1 - float(finfo.eps)), validate_args)
        transforms = [ExpTransform().inv, AffineTransform(0, -creation.ones_like(self.scale)),
                      ExpTransform().inv, AffineTransform(self.loc, -self.scale)]
        super().__init__(base, transforms, validate_args)

    mean = property(lambda self: self.loc + self.scale * _EULER)
    mode = property(lambda self: self.loc)
    stddev = property(lambda self: (math.pi / math.sqrt(6)) * self.scale)
    variance = property(lambda self: self.stddev ** 2)

    def log_prob(self, value):
        value = _as_value(value, self.loc)
        self._validate_sample(value)
        y = (self.loc - value) / self.scale
        return (y - y.exp()) - self.scale.log()

    def entropy(self):
        return self.scale.log() + (1 + _EULER)


class Weibull(TransformedDistribution):
    r"""Weibull(scale λ, concentration k): p(x) = (k/λ)(x/λ)^(k−1) e^(−(x/λ)^k) on x > 0;
    rsample λ·E^(1/k), E ~ Exp(1) (PowerTransform(1/k) then AffineTransform(0, λ)).

    >>> import minigrad as mg
    >>> round(Weibull(1.0, 1.0).log_prob(mg.tensor(2.0)).item(), 6)        # Exp(1): −2
    -2.0
    """

    support = _positive

    def __init__(self, scale, concentration, validate_args=None):
        self.scale, self.concentration = _broadcast_all(scale, concentration)
        if validate_args is not False:
            _check((self.scale.data > 0).all() & (self.concentration.data > 0).all(),
                   "Weibull", "scale and concentration must be positive")
        self.concentration_reciprocal = self.concentration.reciprocal()
        base = Exponential(creation.ones_like(self.scale), validate_args)
        transforms = [PowerTransform(exponent=self.concentration_reciprocal),
                      AffineTransform(0, self.scale)]
        super().__init__(base, transforms, validate_args)

    @property
    def mean(self):
        from .ops.special import lgamma

        return self.scale * lgamma(1 + self.concentration_reciprocal).exp()

    @property
    def mode(self):
        k = self.concentration
        return self.scale * ((k - 1) / k) ** k.reciprocal()

    @property
    def variance(self):
        from .ops.special import lgamma

        r = self.concentration_reciprocal
        return self.scale ** 2 * (lgamma(1 + 2 * r).exp() - (2 * lgamma(1 + r)).exp())

    def entropy(self):
        r = self.concentration_reciprocal
        return _EULER * (1 - r) + (self.scale * r).log() + 1


class Pareto(TransformedDistribution):
    r"""Pareto type I (scale xₘ, alpha α): p(x) = α xₘ^α / x^(α+1) on x ≥ xₘ; rsample
    xₘ·e^E, E ~ Exp(α). Mean inf for α ≤ 1, variance inf for α ≤ 2 (as PyTorch).

    >>> import minigrad as mg
    >>> round(Pareto(1.0, 2.0).log_prob(mg.tensor(2.0)).exp().item(), 6)    # 2/2³
    0.25
    """

    def __init__(self, scale, alpha, validate_args=None):
        self.scale, self.alpha = _broadcast_all(scale, alpha)
        if validate_args is not False:
            _check((self.scale.data > 0).all() & (self.alpha.data > 0).all(), "Pareto",
                   "scale and alpha must be positive")
        base = Exponential(self.alpha, validate_args)
        super().__init__(base, [ExpTransform(), AffineTransform(0, self.scale)], validate_args)

    @property
    def support(self):
        return _greater_than_eq(self.scale)

    @property
    def mean(self):
        # inf for α ≤ 1 with gradient 0 there (a stand-in α keeps ∞·0 out of the graph)
        from .ops.elementwise import const, where

        finite = const(self.alpha.data > 1)
        a = where(finite, self.alpha, 2.0)
        return where(finite, a * self.scale / (a - 1), float("inf"))

    mode = property(lambda self: self.scale)

    @property
    def variance(self):
        from .ops.elementwise import const, where

        finite = const(self.alpha.data > 2)
        a = where(finite, self.alpha, 3.0)
        return where(finite, self.scale ** 2 * a / ((a - 1) ** 2 * (a - 2)), float("inf"))

    def entropy(self):
        return (self.scale / self.alpha).log() + (1 + self.alpha.reciprocal())


def _kumaraswamy_moment(a, b, n):
    """E[Xⁿ] = b·B(1 + n/a, b) of Kumaraswamy(a, b)."""
    from .ops.special import lgamma

    arg1 = 1 + n / a
    return b * (lgamma(arg1) + lgamma(b) - lgamma(arg1 + b)).exp()


class Kumaraswamy(TransformedDistribution):
    r"""Kumaraswamy(a = concentration1, b = concentration0) on [0, 1]:
    p(x) = ab x^(a−1)(1 − x^a)^(b−1); rsample (1 − U^(1/b))^(1/a), the inverse CDF
    (PowerTransform(1/b), AffineTransform(1, −1), PowerTransform(1/a) on U ~ U[0, 1)).

    >>> import minigrad as mg
    >>> round(Kumaraswamy(2.0, 1.0).log_prob(mg.tensor(0.5)).exp().item(), 6)   # 2x
    1.0
    """

    has_rsample = True
    support = _unit_interval

    def __init__(self, concentration1, concentration0, validate_args=None):
        self.concentration1, self.concentration0 = _broadcast_all(concentration1,
                                                                  concentration0)
        if validate_args is not False:
            _check((self.concentration1.data > 0).all() & (self.concentration0.data > 0).all(),
                   "Kumaraswamy", "concentrations must be positive")
        base = Uniform(creation.full_like(self.concentration0, 0.0),
                       creation.full_like(self.concentration0, 1.0), validate_args)
        transforms = [PowerTransform(exponent=self.concentration0.reciprocal()),
                      AffineTransform(loc=1.0, scale=-1.0),
                      PowerTransform(exponent=self.concentration1.reciprocal())]
        super().__init__(base, transforms, validate_args)

    mean = property(lambda self: _kumaraswamy_moment(self.concentration1,
                                                     self.concentration0, 1))

    @property
    def mode(self):
        a, b = self.concentration1, self.concentration0
        log_mode = b.reciprocal() * (-b).log1p() - (-b * a).log1p()
        return where(const((b.data < 1) | (a.data < 1)), float("nan"), log_mode.exp())

    @property
    def variance(self):
        a, b = self.concentration1, self.concentration0
        return _kumaraswamy_moment(a, b, 2) - self.mean ** 2

    def entropy(self):
        from .ops.special import digamma

        t1 = 1 - self.concentration1.reciprocal()
        t0 = 1 - self.concentration0.reciprocal()
        h0 = digamma(self.concentration0 + 1) + _EULER
        return t0 + t1 * h0 - self.concentration1.log() - self.concentration0.log()


class HalfCauchy(TransformedDistribution):
    r"""|X|, X ~ Cauchy(0, scale): log p(x) = log 2 − log(πγ) − log(1 + (x/γ)²) for x ≥ 0
    (−inf below when not validating); rsample |γ·tan(π(U − ½))|.

    >>> import minigrad as mg
    >>> round(HalfCauchy(1.0).cdf(mg.tensor(1.0)).item(), 6)                # 2·¾ − 1
    0.5
    """

    has_rsample = True
    support = _nonnegative

    def __init__(self, scale, validate_args=None):
        base = Cauchy(0.0, scale, validate_args=False)
        if validate_args is not False:
            _check((base.scale.data > 0).all(), "HalfCauchy", "scale must be positive")
        super().__init__(base, AbsTransform(), validate_args)

    scale = property(lambda self: self.base_dist.scale)
    mode = property(lambda self: creation.zeros_like(self.scale))
    variance = property(lambda self: self.base_dist.variance)

    @property
    def mean(self):
        return creation.full(self._extended_shape(), math.inf, dtype=self.scale.dtype,
                             device=self.scale.device)

    def log_prob(self, value):
        value = _as_value(value, self.scale)
        self._validate_sample(value)
        log_prob = self.base_dist.log_prob(value) + math.log(2)
        return where(const(value.data >= 0), log_prob, float("-inf"))

    def cdf(self, value):
        value = _as_value(value, self.scale)
        self._validate_sample(value, "cdf")
        return 2 * self.base_dist.cdf(value) - 1

    def icdf(self, prob):
        return self.base_dist.icdf((prob + 1) / 2)

    def entropy(self):
        return self.base_dist.entropy() - math.log(2)


class FisherSnedecor(Distribution):
    r"""F(df1 = d₁, df2 = d₂): the law of (X₁/d₁)/(X₂/d₂), Xᵢ ~ χ²(dᵢ); drawn as PyTorch,
    Y₁/Y₂ with Yᵢ ~ Gamma(dᵢ/2, rate dᵢ) = χ²(dᵢ)/(2dᵢ) (the 2s cancel), each clamped to
    ≥ tiny; rsample through the Gammas' implicit gradients.

    log p(x) = log Γ((d₁ + d₂)/2) − log Γ(d₁/2) − log Γ(d₂/2) + (d₁/2) log(d₁/d₂)
    + (d₁/2 − 1) log x − ((d₁ + d₂)/2) log(1 + d₁x/d₂). No entropy (as PyTorch).

    >>> import minigrad as mg
    >>> round(FisherSnedecor(2.0, 2.0).log_prob(mg.tensor(1.0)).exp().item(), 6)  # 1/(1+x)²
    0.25
    """

    has_rsample = True
    support = _positive

    def __init__(self, df1, df2, validate_args=None):
        self.df1, self.df2 = _broadcast_all(df1, df2)
        super().__init__(self.df1.shape, (), validate_args)
        if self._validate_args:
            _check((self.df1.data > 0).all() & (self.df2.data > 0).all(), "FisherSnedecor",
                   "df1 and df2 must be positive")
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1, validate_args=False)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2, validate_args=False)

    @property
    def mean(self):
        df2 = self.df2
        return where(const(df2.data > 2), df2 / where(const(df2.data > 2), df2 - 2, 1.0),
                     float("nan"))

    @property
    def mode(self):
        d1, d2 = self.df1, self.df2
        return where(const(d1.data > 2), (d1 - 2) / d1 * d2 / (d2 + 2), float("nan"))

    @property
    def variance(self):
        d1, d2 = self.df1, self.df2
        ok = const(d2.data > 4)
        d2s = where(ok, d2, 5.0)
        v = 2 * d2s ** 2 * (d1 + d2s - 2) / (d1 * (d2s - 2) ** 2 * (d2s - 4))
        return where(ok, v, float("nan"))

    def rsample(self, sample_shape=()):
        tiny = float(np.finfo(np.dtype(self.df1.dtype)).tiny)
        x1 = self._gamma1.rsample(sample_shape)
        x2 = self._gamma2.rsample(sample_shape).clamp(min=tiny)
        return (x1 / x2).clamp(min=tiny)

    def log_prob(self, value):
        from .ops.special import lgamma

        value = _as_value(value, self.df1)
        self._validate_sample(value)
        ct1, ct2, ct3 = self.df1 * 0.5, self.df2 * 0.5, self.df1 / self.df2
        t1 = lgamma(ct1 + ct2) - lgamma(ct1) - lgamma(ct2)
        t2 = ct1 * ct3.log() + (ct1 - 1) * value.log()
        t3 = (ct1 + ct2) * (ct3 * value).log1p()
        return t1 + t2 - t3


# Low-rank Gaussians: Σ = W Wᵀ + D with W (k × m), m ≪ k, handled through the m × m
# "capacitance" C = I + Wᵀ D⁻¹ W (its Cholesky factor), as PyTorch.

def _batch_mahalanobis(L, x):
    """‖L⁻¹x‖² with L lower-triangular, broadcasting L's and x's batch dims."""
    from . import linalg

    k = x.shape[-1]
    batch = np.broadcast_shapes(L.shape[:-2], x.shape[:-1])
    z = linalg.solve_triangular(L.broadcast_to(batch + (k, k)),
                                x.broadcast_to(batch + (k,)).unsqueeze(-1), upper=False)
    return (z * z).sum((-2, -1))


def _capacitance_tril(W, D):
    """Cholesky factor of C = I + Wᵀ D⁻¹ W."""
    from . import linalg

    m = W.shape[-1]
    K = (W.mT / D.unsqueeze(-2)) @ W
    return linalg.cholesky(K + creation.eye(m, dtype=K.dtype, device=K.device))


def _lowrank_logdet(W, D, C):
    """log det(W Wᵀ + D) = log det C + Σ log D (the matrix determinant lemma)."""
    return 2 * C.diagonal(0, -2, -1).log().sum(-1) + D.log().sum(-1)


def _lowrank_mahalanobis(W, D, x, C):
    """xᵀ(W Wᵀ + D)⁻¹x = xᵀD⁻¹x − ‖C_L⁻¹ Wᵀ D⁻¹ x‖² (the Woodbury identity)."""
    Wt_Dinv_x = ((W.mT / D.unsqueeze(-2)) @ x.unsqueeze(-1)).squeeze(-1)
    return (x * x / D).sum(-1) - _batch_mahalanobis(C, Wt_Dinv_x)


def _trace_XXT(X):
    """tr(X Xᵀ) = ‖X‖²_F over the last two dims."""
    return (X * X).sum((-2, -1))


class LowRankMultivariateNormal(Distribution):
    r"""N(loc, Σ) with Σ = cov_factor·cov_factorᵀ + diag(cov_diag), W = cov_factor of
    shape (..., k, m): log_prob and entropy cost O(k m²) through the capacitance
    C = I + Wᵀ D⁻¹ W (Woodbury for Σ⁻¹, the determinant lemma for log det Σ); rsample
    loc + W ε_W + √D ε_D.

    >>> import minigrad as mg
    >>> d = LowRankMultivariateNormal(mg.zeros(2), mg.tensor([[1.0], [0.0]]), mg.ones(2))
    >>> round(d.log_prob(mg.zeros(2)).item(), 6)      # Σ = diag(2, 1): −log 2π − ½ log 2
    -2.184451
    """

    has_rsample = True
    support = _real_vector

    def __init__(self, loc, cov_factor, cov_diag, validate_args=None):
        if loc.ndim < 1:
            raise ValueError("LowRankMultivariateNormal: loc must be at least 1-d")
        k = loc.shape[-1]
        if cov_factor.ndim < 2 or cov_factor.shape[-2] != k:
            raise ValueError(f"LowRankMultivariateNormal: cov_factor must be a (batch of) "
                             f"{k} × m matrices, got shape {cov_factor.shape}")
        if cov_diag.ndim < 1 or cov_diag.shape[-1] != k:
            raise ValueError(f"LowRankMultivariateNormal: cov_diag must be a (batch of) "
                             f"vectors of size {k}, got shape {cov_diag.shape}")
        m = cov_factor.shape[-1]
        try:
            batch = np.broadcast_shapes(loc.shape[:-1], cov_factor.shape[:-2],
                                        cov_diag.shape[:-1])
        except ValueError:
            raise ValueError(f"LowRankMultivariateNormal: incompatible batch shapes: loc "
                             f"{loc.shape}, cov_factor {cov_factor.shape}, cov_diag "
                             f"{cov_diag.shape}") from None
        self.loc = loc.broadcast_to(batch + (k,))
        self.cov_factor = cov_factor.broadcast_to(batch + (k, m))
        self.cov_diag = cov_diag.broadcast_to(batch + (k,))
        self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag = cov_factor, cov_diag
        super().__init__(batch, (k,), validate_args)
        if self._validate_args:
            _check((cov_diag.data > 0).all(), "LowRankMultivariateNormal",
                   "cov_diag must be positive")
        self._capacitance_tril = _capacitance_tril(cov_factor, cov_diag)

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)

    @property
    def variance(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        return ((W * W).sum(-1) + D).broadcast_to(self._batch_shape + self._event_shape)

    @property
    def scale_tril(self):
        """Cholesky factor of Σ = √D (I + D^(−½) W Wᵀ D^(−½)) √D."""
        from . import linalg

        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        n = self._event_shape[0]
        sqrt_d = D.sqrt().unsqueeze(-1)
        Dinvsqrt_W = W / sqrt_d
        K = Dinvsqrt_W @ Dinvsqrt_W.mT + creation.eye(n, dtype=W.dtype, device=W.device)
        return (sqrt_d * linalg.cholesky(K)).broadcast_to(self._batch_shape + (n, n))

    @property
    def covariance_matrix(self):
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        n = self._event_shape[0]
        return (W @ W.mT + D.diag_embed()).broadcast_to(self._batch_shape + (n, n))

    @property
    def precision_matrix(self):
        """D⁻¹ − AᵀA with A = C_L⁻¹ Wᵀ D⁻¹ (Woodbury)."""
        from . import linalg

        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        n = self._event_shape[0]
        Wt_Dinv = W.mT / D.unsqueeze(-2)
        C = self._capacitance_tril
        batch = np.broadcast_shapes(C.shape[:-2], Wt_Dinv.shape[:-2])
        A = linalg.solve_triangular(C.broadcast_to(batch + C.shape[-2:]),
                                    Wt_Dinv.broadcast_to(batch + Wt_Dinv.shape[-2:]),
                                    upper=False)
        return (D.reciprocal().diag_embed() - A.mT @ A).broadcast_to(self._batch_shape
                                                                    + (n, n))

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        W, D = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag
        eps_W = creation.randn(shape[:-1] + (W.shape[-1],), dtype=self.loc.dtype,
                               device=self.loc.device)
        eps_D = creation.randn(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.loc + (W @ eps_W.unsqueeze(-1)).squeeze(-1) + D.sqrt() * eps_D

    def log_prob(self, value):
        value = _as_value(value, self.loc)
        self._validate_sample(value)
        W, D, C = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, \
            self._capacitance_tril
        M = _lowrank_mahalanobis(W, D, value - self.loc, C)
        log_det = _lowrank_logdet(W, D, C)
        return -0.5 * (self._event_shape[0] * math.log(2 * math.pi) + log_det + M)

    def entropy(self):
        W, D, C = self._unbroadcasted_cov_factor, self._unbroadcasted_cov_diag, \
            self._capacitance_tril
        log_det = _lowrank_logdet(W, D, C)
        H = 0.5 * (self._event_shape[0] * (1.0 + math.log(2 * math.pi)) + log_det)
        return H.broadcast_to(self._batch_shape)


class ContinuousBernoulli(Distribution):
    r"""The continuous Bernoulli on [0, 1] (Loaiza-Ganem & Cunningham, NeurIPS 2019):
    p(x) = C(λ) λˣ(1 − λ)^(1−x), λ = ``probs`` or sigmoid(``logits``) (not a probability
    here), with C(λ) = 2 atanh(1 − 2λ)/(1 − 2λ) = |log(1 − λ) − log λ|/|1 − 2λ|;
    rsample by the closed-form inverse CDF.

    Near λ = ½ the closed forms are 0/0: inside ``lims`` = (0.499, 0.501) PyTorch's Taylor
    expansions take over, log C = log 2 + (4/3 + 104/45·(λ − ½)²)(λ − ½)²; mean
    ½ + (1/3 + 16/45·(λ − ½)²)(λ − ½); variance 1/12 − (1/15 − 128/945·(λ − ½)²)(λ − ½)²;
    cdf x and icdf u, the uniform's, which are only zeroth order: off by up to
    |λ − ½|/2 ≤ 5e-4 there (as PyTorch; rsample inherits this).

    >>> import minigrad as mg
    >>> round(ContinuousBernoulli(probs=mg.tensor(0.5)).log_prob(mg.tensor(0.3)).item(), 6)
    0.0
    """

    has_rsample = True
    support = _unit_interval

    def __init__(self, probs=None, logits=None, lims=(0.499, 0.501), validate_args=None):
        if (probs is None) == (logits is None):
            raise ValueError("ContinuousBernoulli: give exactly one of probs and logits")
        if probs is not None:
            (probs,) = _broadcast_all(probs)
            if validate_args is not False:
                _check(((probs.data >= 0) & (probs.data <= 1)).all(), "ContinuousBernoulli",
                       "probs must lie in [0, 1]")
            self.probs = _clamp_probs(probs)
            self.logits = _probs_to_logits(self.probs)
            self._param = self.probs
        else:
            (self.logits,) = _broadcast_all(logits)
            self.probs = _clamp_probs(self.logits.sigmoid())
            self._param = self.logits
        self._lims = lims
        super().__init__(self._param.shape, (), validate_args)

    def _outside_unstable_region(self):
        p = self.probs.data
        return const((p <= self._lims[0]) | (p > self._lims[1]))

    def _cut_probs(self):
        return where(self._outside_unstable_region(), self.probs, self._lims[0])

    def _cont_bern_log_norm(self):
        """log C(λ), by the Taylor expansion inside ``lims``."""
        cut = self._cut_probs()
        below = const(cut.data <= 0.5)
        cut_below = where(below, cut, 0.0)
        cut_above = where(const(cut.data >= 0.5), cut, 1.0)
        log_norm = ((-cut).log1p() - cut.log()).abs().log() \
            - where(below, (-2.0 * cut_below).log1p(), (2.0 * cut_above - 1.0).log())
        x = (self.probs - 0.5) ** 2
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        cut = self._cut_probs()
        mus = cut / (2.0 * cut - 1.0) + 1.0 / ((-cut).log1p() - cut.log())
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * x ** 2) * x
        return where(self._outside_unstable_region(), mus, taylor)

    @property
    def variance(self):
        cut = self._cut_probs()
        var = cut * (cut - 1.0) / (1.0 - 2.0 * cut) ** 2 \
            + 1.0 / ((-cut).log1p() - cut.log()) ** 2
        x = (self.probs - 0.5) ** 2
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return where(self._outside_unstable_region(), var, taylor)

    def rsample(self, sample_shape=()):
        u = creation.rand(self._extended_shape(sample_shape), dtype=self.probs.dtype,
                          device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value):
        value = _as_value(value, self.logits)
        self._validate_sample(value)
        # −BCE-with-logits(ℓ, x) = xℓ − softplus(ℓ)
        return value * self.logits - _softplus(self.logits) + self._cont_bern_log_norm()

    def cdf(self, value):
        value = _as_value(value, self.probs)
        self._validate_sample(value, "cdf")
        cut = self._cut_probs()
        cdfs = (cut ** value * (1.0 - cut) ** (1.0 - value) + cut - 1.0) / (2.0 * cut - 1.0)
        unbounded = where(self._outside_unstable_region(), cdfs, value)
        v = value.data
        return where(const(v <= 0.0), 0.0, where(const(v >= 1.0), 1.0, unbounded))

    def icdf(self, value):
        value = _as_value(value, self.probs)
        cut = self._cut_probs()
        inv = ((-cut + value * (2.0 * cut - 1.0)).log1p() - (-cut).log1p()) \
            / (cut.log() - (-cut).log1p())
        return where(self._outside_unstable_region(), inv, value)

    def entropy(self):
        log_p0, log_p1 = (-self.probs).log1p(), self.probs.log()
        return self.mean * (log_p0 - log_p1) - self._cont_bern_log_norm() - log_p0


def _temperature(temperature, like, name):
    t = _as_value(temperature, like)
    _check((t.data > 0).all(), name, "temperature must be positive")
    return t


class LogitRelaxedBernoulli(Distribution):
    r"""The logit of a :class:`RelaxedBernoulli`: X = (ℓ + log U − log(1 − U))/τ (logistic
    noise; Maddison et al. 2017), log p(x) = log τ + δ − 2 softplus(δ), δ = ℓ − τx
    (PyTorch writes 2 log(1 + e^δ), which overflows for δ ≳ 710; the same function)."""

    has_rsample = True
    support = _real

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        param, is_probs = _logits_from(probs, logits, type(self).__name__, True)
        if is_probs:
            self.probs, self.logits = param, _probs_to_logits(param)
        else:
            self.logits, self.probs = param, param.sigmoid()
        self._param = param
        self.temperature = _temperature(temperature, param, type(self).__name__)
        super().__init__(param.shape, (), validate_args)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        probs = _clamp_probs(self.probs.broadcast_to(shape))
        u = _clamp_probs(creation.rand(shape, dtype=probs.dtype, device=probs.device))
        return (u.log() - (-u).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value):
        value = _as_value(value, self.logits)
        self._validate_sample(value)
        diff = self.logits - value * self.temperature
        return self.temperature.log() + diff - 2 * _softplus(diff)


class RelaxedBernoulli(TransformedDistribution):
    r"""The binary Concrete / Gumbel-softmax relaxation of Bernoulli(p) at temperature τ
    (Maddison, Mnih & Teh, ICLR 2017; Jang et al. 2017): σ(X), X ~
    :class:`LogitRelaxedBernoulli`; values in (0, 1), reparameterized. log_prob through
    the SigmoidTransform: log p(y) = log p_X(logit y) − log σ'(logit y).

    >>> import minigrad as mg
    >>> d = RelaxedBernoulli(mg.tensor(1.0), probs=mg.tensor(0.5))   # τ = 1, p = ½: U[0, 1]
    >>> round(d.log_prob(mg.tensor(0.3)).item(), 5)
    0.0
    """

    has_rsample = True
    support = _unit_interval

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base, SigmoidTransform(), validate_args)

    temperature = property(lambda self: self.base_dist.temperature)
    probs = property(lambda self: self.base_dist.probs)
    logits = property(lambda self: self.base_dist.logits)


class ExpRelaxedCategorical(Distribution):
    r"""The log of a :class:`RelaxedOneHotCategorical` draw: X = (ℓ + G) − logsumexp(ℓ + G)
    scaled by 1/τ (G Gumbel noise), with the Concrete density in log space (Maddison et
    al. 2017, eq. in appendix; as PyTorch):

    log p(x) = log Γ(K) + (K − 1) log τ + Σₖ (ℓₖ − τxₖ) − K·logsumexp(ℓ − τx).
    """

    has_rsample = True
    support = _real_vector

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        self._categorical = Categorical(probs, logits, validate_args)
        self.temperature = _temperature(temperature, self._categorical.logits,
                                        type(self).__name__)
        k = self._categorical._num_events
        super().__init__(self._categorical.batch_shape, (k,), validate_args)

    probs = property(lambda self: self._categorical.probs)
    logits = property(lambda self: self._categorical.logits)

    def rsample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        u = _clamp_probs(creation.rand(shape, dtype=self.logits.dtype,
                                       device=self.logits.device))
        gumbels = -((-(u.log())).log())
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(-1, keepdim=True)

    def log_prob(self, value):
        value = _as_value(value, self.logits)
        self._validate_sample(value)
        k = self._categorical._num_events
        t = self.temperature
        log_scale = math.lgamma(k) + (k - 1) * t.log()
        score = self.logits - value * t
        return (score - score.logsumexp(-1, keepdim=True)).sum(-1) + log_scale


class RelaxedOneHotCategorical(TransformedDistribution):
    r"""The Concrete / Gumbel-softmax relaxation of OneHotCategorical at temperature τ:
    softmax((ℓ + G)/τ), G i.i.d. Gumbel(0, 1); values on the simplex, reparameterized.
    log_prob through the ExpTransform of :class:`ExpRelaxedCategorical`:
    log p(y) = log p_X(log y) − Σ log yₖ.

    >>> import minigrad as mg
    >>> d = RelaxedOneHotCategorical(mg.tensor(1.0), probs=mg.tensor([0.5, 0.5]))
    >>> round(d.log_prob(mg.tensor([0.3, 0.7])).item(), 5)          # τ = 1, K = 2: flat
    0.0
    """

    has_rsample = True
    support = _simplex

    def __init__(self, temperature, probs=None, logits=None, validate_args=None):
        base = ExpRelaxedCategorical(temperature, probs, logits, validate_args)
        super().__init__(base, ExpTransform(), validate_args)

    temperature = property(lambda self: self.base_dist.temperature)
    probs = property(lambda self: self.base_dist.probs)
    logits = property(lambda self: self.base_dist.logits)


def _von_mises_arrays(loc, kappa):
    r"""Von Mises draws (float64 arrays of one shape) by Best & Fisher's rejection (1979,
    "Efficient simulation of the von Mises distribution"), vectorized: τ = 1 + √(1 + 4κ²),
    ρ = (τ − √(2τ))/(2κ), r = (1 + ρ²)/(2ρ) (1/κ + κ below κ = 1e-5); per round
    z = cos πU₁, f = (1 + rz)/(r + z), c = κ(r − f), accept when c(2 − c) > U₂ or
    log(c/U₂) + 1 − c ≥ 0, θ = sign(U₃ − ½)·acos f; returned in [−π, π) around loc."""
    from ._backend import get_array_module

    xp = get_array_module(kappa)
    device = "cpu" if xp is np else "cuda"
    tau = 1 + xp.sqrt(1 + 4 * kappa ** 2)
    with np.errstate(divide="ignore", invalid="ignore"):     # (ρ → 0 as κ → 0)
        rho = (tau - xp.sqrt(2 * tau)) / (2 * kappa)
        r = xp.where(kappa < 1e-5, 1 / kappa + kappa, (1 + rho ** 2) / (2 * rho))
    x = xp.zeros(kappa.shape)
    todo = xp.ones(kappa.shape, dtype=bool)
    while bool(todo.any()):
        u1, u2, u3 = (_random.uniform(kappa.shape, 0.0, 1.0, np.float64, device)
                      for _ in range(3))
        z = xp.cos(math.pi * u1)
        f = xp.clip((1 + r * z) / (r + z), -1.0, 1.0)
        c = kappa * (r - f)
        with np.errstate(divide="ignore", invalid="ignore"):
            accept = (c * (2 - c) - u2 > 0) | (xp.log(c / u2) + 1 - c >= 0)
        take = todo & accept
        x = xp.where(take, xp.sign(u3 - 0.5) * xp.arccos(f), x)
        todo = todo & ~accept
    return xp.mod(x + math.pi + loc, 2 * math.pi) - math.pi


class VonMises(Distribution):
    r"""The circular von Mises law (loc μ, concentration κ): log p(x) = κ cos(x − μ)
    − log 2π − log I₀(κ), with log I₀(κ) = log i0e(κ) + κ exact to float64 (PyTorch uses a
    7-digit polynomial fit). Angles may be any real (taken mod 2π). mean and mode are μ,
    variance the circular 1 − I₁(κ)/I₀(κ). Sampled by Best–Fisher rejection in float64; no
    rsample (as PyTorch).

    >>> import minigrad as mg
    >>> d = VonMises(mg.tensor(0.0, dtype=mg.float64), mg.tensor(1.0, dtype=mg.float64))
    >>> round(d.log_prob(mg.tensor(0.0, dtype=mg.float64)).item(), 6)   # 1 − log(2π·I₀(1))
    -1.073791
    """

    support = _real

    def __init__(self, loc, concentration, validate_args=None):
        self.loc, self.concentration = _broadcast_all(loc, concentration)
        super().__init__(self.loc.shape, (), validate_args)
        if self._validate_args:
            _check((self.concentration.data > 0).all(), "VonMises",
                   "concentration must be positive")

    mean = property(lambda self: self.loc)
    mode = property(lambda self: self.loc)

    @property
    def variance(self):
        from .ops.special import i0e, i1e

        k = self.concentration
        return 1 - i1e(k) / i0e(k)

    def sample(self, sample_shape=()):
        shape = self._extended_shape(sample_shape)
        loc = self.loc.detach().broadcast_to(shape).data.astype(np.float64)
        kappa = self.concentration.detach().broadcast_to(shape).data.astype(np.float64)
        return Tensor(_von_mises_arrays(loc, kappa).astype(self.loc.dtype))

    def log_prob(self, value):
        from .ops.special import i0e

        value = _as_value(value, self.loc)
        self._validate_sample(value)
        k = self.concentration
        return k * (value - self.loc).cos() - math.log(2 * math.pi) - (i0e(k).log() + k)


class MixtureSameFamily(Distribution):
    r"""A mixture of k components of one family: ``mixture_distribution`` a Categorical
    over k, ``component_distribution`` any distribution whose rightmost batch dim is k.
    log p(x) = logsumexp_j(log πⱼ + log pⱼ(x)); mean Σπⱼμⱼ; variance (law of total
    variance) Σπⱼσⱼ² + Σπⱼ(μⱼ − μ)²; ``sample`` draws j then the j-th component's sample.

    >>> import minigrad as mg
    >>> mix = MixtureSameFamily(Categorical(probs=mg.tensor([0.5, 0.5])),
    ...                         Normal(mg.tensor([-1.0, 1.0]), mg.tensor([1.0, 1.0])))
    >>> round(mix.mean.item(), 6), round(mix.variance.item(), 6)              # 0, 1 + 1
    (0.0, 2.0)
    """

    def __init__(self, mixture_distribution, component_distribution, validate_args=None):
        if not isinstance(mixture_distribution, Categorical):
            raise ValueError("MixtureSameFamily: mixture_distribution must be a Categorical, "
                             f"got {type(mixture_distribution).__name__}")
        if not isinstance(component_distribution, Distribution):
            raise ValueError("MixtureSameFamily: component_distribution must be a "
                             f"Distribution, got {type(component_distribution).__name__}")
        mdbs = mixture_distribution.batch_shape
        cdbs = component_distribution.batch_shape[:-1]
        for size1, size2 in zip(reversed(mdbs), reversed(cdbs)):
            if size1 != 1 and size2 != 1 and size1 != size2:
                raise ValueError(f"MixtureSameFamily: mixture_distribution.batch_shape "
                                 f"{mdbs} is not compatible with component_distribution."
                                 f"batch_shape {component_distribution.batch_shape}")
        km = mixture_distribution.logits.shape[-1]
        kc = component_distribution.batch_shape[-1] if component_distribution.batch_shape \
            else None
        if km != kc:
            raise ValueError(f"MixtureSameFamily: the mixture has {km} components but "
                             f"component_distribution.batch_shape[-1] is {kc}")
        self._mixture_distribution = mixture_distribution
        self._component_distribution = component_distribution
        self._num_component = km
        self._event_ndims = len(component_distribution.event_shape)
        super().__init__(cdbs, component_distribution.event_shape, validate_args)

    mixture_distribution = property(lambda self: self._mixture_distribution)
    component_distribution = property(lambda self: self._component_distribution)

    def _pad(self, x):
        return x.unsqueeze(-1 - self._event_ndims)

    def _pad_mixture_dimensions(self, x):
        dist_batch_ndims = len(self.batch_shape)
        cat_batch_ndims = len(self.mixture_distribution.batch_shape)
        pad_ndims = 0 if cat_batch_ndims == 1 else dist_batch_ndims - cat_batch_ndims
        xs = x.shape
        return x.reshape(xs[:-1] + (1,) * pad_ndims + xs[-1:] + (1,) * self._event_ndims)

    @property
    def mean(self):
        probs = self._pad_mixture_dimensions(self.mixture_distribution.probs)
        return (probs * self.component_distribution.mean).sum(-1 - self._event_ndims)

    @property
    def variance(self):
        probs = self._pad_mixture_dimensions(self.mixture_distribution.probs)
        mean_cond_var = (probs * self.component_distribution.variance).sum(
            -1 - self._event_ndims)
        var_cond_mean = (probs * (self.component_distribution.mean
                                  - self._pad(self.mean)) ** 2).sum(-1 - self._event_ndims)
        return mean_cond_var + var_cond_mean

    def cdf(self, x):
        cdf_x = self.component_distribution.cdf(self._pad(x))
        return (cdf_x * self.mixture_distribution.probs).sum(-1)

    def log_prob(self, x):
        x = _as_value(x, self.mixture_distribution.logits)
        log_prob_x = self.component_distribution.log_prob(self._pad(x))     # [S, B, k]
        log_mix_prob = self.mixture_distribution.logits.log_softmax(-1)    # [B, k]
        return (log_prob_x + log_mix_prob).logsumexp(-1)

    def sample(self, sample_shape=()):
        with no_grad():
            sample_shape = _shape(sample_shape)
            gather_dim = len(sample_shape) + len(self.batch_shape)
            es = self.event_shape
            mix_sample = self.mixture_distribution.sample(sample_shape)
            mix_shape = mix_sample.shape
            comp_samples = self.component_distribution.sample(sample_shape)
            index = mix_sample.reshape(mix_shape + (1,) * (len(es) + 1))
            index = index.expand(mix_shape + (1,) + es)
            return comp_samples.gather(gather_dim, index).squeeze(gather_dim)


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
    fn = _dispatch_kl(type(p), type(q))
    if fn is None:
        raise NotImplementedError(f"kl_divergence: no closed form registered for "
                                  f"{type(p).__name__} ‖ {type(q).__name__}")
    return fn(p, q)


def _dispatch_kl(type_p, type_q):
    """The most specific registered pair (PyTorch's rule): among the pairs (P, Q) with
    type_p ⊆ P and type_q ⊆ Q, the one first in the subclass order of p's class, then of
    q's; a RuntimeWarning when ordering by q first would pick another function."""
    import warnings

    matches = [(tp, tq) for tp, tq in KL_PAIRS if issubclass(type_p, tp)
               and issubclass(type_q, tq)]
    if not matches:
        return None
    mro_p, mro_q = type_p.__mro__, type_q.__mro__
    left = min(matches, key=lambda m: (mro_p.index(m[0]), mro_q.index(m[1])))
    right = min(matches, key=lambda m: (mro_q.index(m[1]), mro_p.index(m[0])))
    if KL_PAIRS[left] is not KL_PAIRS[right]:
        warnings.warn(f"kl_divergence: ambiguous for {type_p.__name__} ‖ {type_q.__name__}; "
                      f"register_kl({left[0].__name__}, {right[1].__name__}) to resolve it",
                      RuntimeWarning, stacklevel=3)
    return KL_PAIRS[left]


@register_kl(Normal, Normal)
def _kl_normal_normal(p, q):
    var_ratio = (p.scale / q.scale) ** 2
    t1 = ((p.loc - q.loc) / q.scale) ** 2
    return 0.5 * (var_ratio + t1 - 1 - var_ratio.log())


@register_kl(LogNormal, LogNormal)
def _kl_lognormal_lognormal(p, q):
    # exp is one-to-one: the KL of the underlying normals
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Uniform, Uniform)
def _kl_uniform_uniform(p, q):
    covered = _inside(p.low, p.high, q.low, q.high)
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


@register_kl(Binomial, Binomial)
def _kl_binomial_binomial(p, q):
    r"""n·[p log(p/q) + (1 − p) log((1 − p)/(1 − q))] for one total_count n; inf where
    p's n exceeds q's, and no closed form where it is smaller (as PyTorch)."""
    if bool((p.total_count.data < q.total_count.data).any()):
        raise NotImplementedError("kl_divergence: Binomial ‖ Binomial with q.total_count > "
                                  "p.total_count has no closed form here (as in PyTorch)")
    kl = p.total_count * (p.probs * (p.logits - q.logits) + (-p.probs).log1p()
                          - (-q.probs).log1p())
    return where(const(p.total_count.data > q.total_count.data), float("inf"), kl)


@register_kl(Poisson, Poisson)
def _kl_poisson_poisson(p, q):
    r"""λp log(λp/λq) − (λp − λq) (with 0·log 0 = 0: λq at λp = 0, where PyTorch's form
    gives nan)."""
    from .ops.elementwise import xlogy

    return xlogy(p.rate, p.rate) - xlogy(p.rate, q.rate) - (p.rate - q.rate)


@register_kl(Geometric, Geometric)
def _kl_geometric_geometric(p, q):
    r"""−H(p) − log(1 − q)·(1 − p)/p − log q: E_p[k] = (1 − p)/p failures."""
    return -p.entropy() - (-q.probs).log1p() / p.probs - q.probs.log() \
        + (-q.probs).log1p()


@register_kl(HalfNormal, HalfNormal)
def _kl_halfnormal_halfnormal(p, q):
    return _kl_normal_normal(p.base_dist, q.base_dist)


@register_kl(Cauchy, Cauchy)
def _kl_cauchy_cauchy(p, q):
    r"""log[((γp + γq)² + (x₀p − x₀q)²)/(4γpγq)] (Chyzak & Nielsen 2019)."""
    t1 = ((p.scale + q.scale) ** 2 + (p.loc - q.loc) ** 2).log()
    return t1 - (4 * p.scale * q.scale).log()


@register_kl(OneHotCategorical, OneHotCategorical)
def _kl_onehotcategorical_onehotcategorical(p, q):
    return _kl_categorical_categorical(p._categorical, q._categorical)


@register_kl(Gumbel, Gumbel)
def _kl_gumbel_gumbel(p, q):
    r"""−log(βp/βq) + (μp − μq)/βq + γ·βp/βq + e^((μq − μp)/βq)·Γ(1 + βp/βq) − (1 + γ)."""
    from .ops.special import lgamma

    ct1 = p.scale / q.scale
    ct2 = q.loc / q.scale
    ct3 = p.loc / q.scale
    t1 = -ct1.log() - ct2 + ct3
    t2 = ct1 * _EULER
    t3 = (ct2 + lgamma(1 + ct1) - ct3).exp()
    return t1 + t2 + t3 - (1 + _EULER)


@register_kl(Pareto, Pareto)
def _kl_pareto_pareto(p, q):
    r"""αq log(xₘp/xₘq) − log(αq/αp) + αq/αp − 1; inf where p's support reaches below
    q's (xₘp < xₘq)."""
    scale_ratio = p.scale / q.scale
    alpha_ratio = q.alpha / p.alpha
    result = q.alpha * scale_ratio.log() - alpha_ratio.log() + alpha_ratio - 1
    return where(const(p.scale.data < q.scale.data), float("inf"), result)


@register_kl(ContinuousBernoulli, ContinuousBernoulli)
def _kl_continuous_bernoulli_continuous_bernoulli(p, q):
    t1 = p.mean * (p.logits - q.logits)
    t2 = p._cont_bern_log_norm() + (-p.probs).log1p()
    t3 = -q._cont_bern_log_norm() - (-q.probs).log1p()
    return t1 + t2 + t3


def _check_event_shapes(p, q):
    if p.event_shape != q.event_shape:
        raise ValueError(f"kl_divergence: {type(p).__name__} and {type(q).__name__} with "
                         f"event shapes {p.event_shape} and {q.event_shape}")


def _lowrank_A(q):
    """A = C_L⁻¹ Wᵀ D⁻¹ of q: Σq⁻¹ = D⁻¹ − AᵀA (Woodbury)."""
    from . import linalg

    W, D, C = q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag, q._capacitance_tril
    Wt_Dinv = W.mT / D.unsqueeze(-2)
    batch = np.broadcast_shapes(C.shape[:-2], Wt_Dinv.shape[:-2])
    return linalg.solve_triangular(C.broadcast_to(batch + C.shape[-2:]),
                                   Wt_Dinv.broadcast_to(batch + Wt_Dinv.shape[-2:]),
                                   upper=False)


def _lowrank_half_terms(q, p_loc):
    """log det Σq and (μq − μp)ᵀΣq⁻¹(μq − μp) of a LowRankMultivariateNormal q."""
    W, D, C = q._unbroadcasted_cov_factor, q._unbroadcasted_cov_diag, q._capacitance_tril
    return _lowrank_logdet(W, D, C), _lowrank_mahalanobis(W, D, q.loc - p_loc, C)


@register_kl(LowRankMultivariateNormal, LowRankMultivariateNormal)
def _kl_lowrank_lowrank(p, q):
    r"""½[log det Σq − log det Σp + tr(Σq⁻¹Σp) + (μq − μp)ᵀΣq⁻¹(μq − μp) − k], with
    tr(Σq⁻¹Σp) = tr((Dq⁻¹ − AᵀA)(Dp + WpWpᵀ)) expanded into four Frobenius norms."""
    _check_event_shapes(p, q)
    logdet_q, term3 = _lowrank_half_terms(q, p.loc)
    Wp, Dp = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    Dq = q._unbroadcasted_cov_diag
    term1 = logdet_q - _lowrank_logdet(Wp, Dp, p._capacitance_tril)
    A = _lowrank_A(q)
    term21 = (Dp / Dq).sum(-1)
    term22 = _trace_XXT(Wp * Dq.rsqrt().unsqueeze(-1))
    term23 = _trace_XXT(A * Dp.sqrt().unsqueeze(-2))
    term24 = _trace_XXT(A @ Wp)
    return 0.5 * (term1 + term21 + term22 - term23 - term24 + term3 - p.event_shape[0])


@register_kl(MultivariateNormal, LowRankMultivariateNormal)
def _kl_mvn_lowrank(p, q):
    r"""As LowRank ‖ LowRank with Σp = Lp Lpᵀ: tr(Σq⁻¹Σp) = ‖Dq^(−½)Lp‖² − ‖A Lp‖²."""
    _check_event_shapes(p, q)
    logdet_q, term3 = _lowrank_half_terms(q, p.loc)
    Lp = p.scale_tril
    term1 = logdet_q - 2 * Lp.diagonal(0, -2, -1).log().sum(-1)
    A = _lowrank_A(q)
    term21 = _trace_XXT(Lp * q._unbroadcasted_cov_diag.rsqrt().unsqueeze(-1))
    term22 = _trace_XXT(A @ Lp)
    return 0.5 * (term1 + term21 - term22 + term3 - p.event_shape[0])


@register_kl(LowRankMultivariateNormal, MultivariateNormal)
def _kl_lowrank_mvn(p, q):
    r"""tr(Σq⁻¹Σp) = ‖Lq⁻¹Wp‖² + ‖Lq⁻¹√Dp‖²; the Mahalanobis term ‖Lq⁻¹(μq − μp)‖²."""
    from . import linalg

    _check_event_shapes(p, q)
    Wp, Dp = p._unbroadcasted_cov_factor, p._unbroadcasted_cov_diag
    Lq = q.scale_tril
    n = p.event_shape[0]
    term1 = 2 * Lq.diagonal(0, -2, -1).log().sum(-1) \
        - _lowrank_logdet(Wp, Dp, p._capacitance_tril)
    term3 = _batch_mahalanobis(Lq, q.loc - p.loc)
    batch = np.broadcast_shapes(Lq.shape[:-2], Wp.shape[:-2])
    Lq_b = Lq.broadcast_to(batch + (n, n))
    term21 = _trace_XXT(linalg.solve_triangular(Lq_b, Wp.broadcast_to(batch + Wp.shape[-2:]),
                                                upper=False))
    term22 = _trace_XXT(linalg.solve_triangular(
        Lq_b, Dp.sqrt().diag_embed().broadcast_to(batch + (n, n)), upper=False))
    return 0.5 * (term1 + term21 + term22 + term3 - n)


@register_kl(TransformedDistribution, TransformedDistribution)
def _kl_transformed_transformed(p, q):
    """KL of the bases when both push them through equal transforms (KL is invariant
    under a shared bijection); no closed form otherwise (as PyTorch)."""
    if p.transforms != q.transforms or p.event_shape != q.event_shape:
        raise NotImplementedError("kl_divergence: TransformedDistributions with different "
                                  "transforms or event shapes")
    return kl_divergence(p.base_dist, q.base_dist)


# --------------------------------------------------------------------------- KL across families
#
# KL(p ‖ q) = −H(p) + H(p, q), the cross-entropy H(p, q) = −E_p[log q(x)] taken from p's
# moments (mean, variance, E log x, E e^(−x/β)); inf where p puts mass where q has no
# density. The pairs are PyTorch's (torch.distributions.kl).

def _inside(low, high, lower, upper):
    """Where [low, high] lies in [lower, upper] (a constant mask; tensors or numbers)."""
    return const((_data(lower) <= _data(low)) & (_data(high) <= _data(upper)))


def _uniform_within(p, q, lower, kl, upper=math.inf):
    """``kl(p, q)`` where U[low, high) = p lies in q's support [lower, upper], inf elsewhere;
    ``kl`` sees U[lower + ¼, lower + ½] there, which keeps logs of negative numbers and
    ∞·0 out of the value and the gradients."""
    inside = _inside(p.low, p.high, lower, upper)
    stand_in = Uniform(where(inside, p.low, lower + 0.25), where(inside, p.high, lower + 0.5),
                       validate_args=False)
    return where(inside, kl(stand_in, q), float("inf"))


def _pareto_moment_finite(p, q, order, kl):
    """``kl(p, q)`` where p's moment of this order is finite (α > order), inf elsewhere;
    ``kl`` sees α = order + 1 there, which keeps ∞·0 out of the gradients (as
    :attr:`Pareto.mean` does)."""
    finite = const(p.alpha.data > order)
    stand_in = Pareto(p.scale, where(finite, p.alpha, order + 1.0), validate_args=False)
    return where(finite, kl(stand_in, q), float("inf"))


def _uniform_mean_log(low, high):
    r"""E[log x] for x ~ U[low, high), 0 ≤ low: (h log h − l log l)/(h − l) − 1."""
    from .ops.elementwise import xlogy

    return (xlogy(high, high) - xlogy(low, low)) / (high - low) - 1


def _kl_infinite(p, q):
    """inf: p puts mass where q has no density (p unbounded where q's support is not, or
    p's support outside q's); batch-shaped by both (PyTorch: p's batch shape)."""
    ref = _reference(p)
    shape = np.broadcast_shapes(p.batch_shape, q.batch_shape)
    return creation.full(shape, math.inf, dtype=ref.dtype, device=ref.device)


def _register_infinite(type_p, *types_q):
    for type_q in types_q:
        register_kl(type_p, type_q)(_kl_infinite)


_register_infinite(Beta, Pareto)
_register_infinite(ContinuousBernoulli, Pareto)
_register_infinite(Exponential, Beta, ContinuousBernoulli, Pareto, Uniform)
_register_infinite(Gamma, Beta, ContinuousBernoulli, Pareto, Uniform)
_register_infinite(Gumbel, Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform)
_register_infinite(Laplace, Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform)
_register_infinite(Normal, Beta, ContinuousBernoulli, Exponential, Gamma, Pareto, Uniform)
_register_infinite(Pareto, Beta, ContinuousBernoulli, Uniform)


@register_kl(Beta, ContinuousBernoulli)
@register_kl(Beta, Exponential)
@register_kl(ContinuousBernoulli, Exponential)
@register_kl(Gamma, Exponential)
def _kl_by_mean(p, q):
    r"""−H(p) − log q(E_p x), for a q whose log-density is affine in x on p's support:
    Exponential, log λ − λx (so −H(p) − log λ + λ·E_p x); ContinuousBernoulli,
    xℓ + log(1 − λ) + log C(λ) (so −H(p) − ℓ·E_p x − log(1 − λ) − log C(λ))."""
    return -p.entropy() - q.log_prob(p.mean)


@register_kl(Beta, Normal)
@register_kl(ContinuousBernoulli, Normal)
@register_kl(Exponential, Normal)
@register_kl(Gamma, Normal)
@register_kl(Gumbel, Normal)
@register_kl(Laplace, Normal)
@register_kl(Uniform, Normal)
def _kl_to_normal(p, q):
    r"""−H(p) + log σ + ½ log 2π + (Var_p + (E_p x − μ)²)/(2σ²) for q = N(μ, σ²): the
    affine part of −log q at E_p x, plus Var_p/(2σ²)."""
    return _kl_by_mean(p, q) + p.variance / (2 * q.variance)


def _kl_to_gamma(p, q, mean_log):
    r"""−H(p) + log Γ(k) − k log b − (k − 1)·E_p[log x] + b·E_p[x] for q = Gamma(k, b),
    ``mean_log`` = E_p[log x]."""
    from .ops.special import lgamma

    k, b = q.concentration, q.rate
    return -p.entropy() + lgamma(k) - k * b.log() - (k - 1) * mean_log + b * p.mean


def _kl_to_gumbel(p, q, mgf):
    r"""−H(p) + log β + (E_p x − μ)/β + E_p[e^(−(x − μ)/β)] for q = Gumbel(μ, β)
    (−log q(x) = log β + z + e^(−z), z = (x − μ)/β), ``mgf`` the last expectation."""
    return -p.entropy() + q.scale.log() + (p.mean - q.loc) / q.scale + mgf


@register_kl(Bernoulli, Poisson)
def _kl_bernoulli_poisson(p, q):
    r"""−H(p) + λ − π log λ: log q(k) = k log λ − λ on k ∈ {0, 1} (0 log 0 = 0 at π = 0;
    PyTorch: nan at π = λ = 0)."""
    from .ops.elementwise import xlogy

    return -p.entropy() + q.rate - xlogy(p.probs, q.rate)


@register_kl(Beta, Gamma)
def _kl_beta_gamma(p, q):
    r"""−H(p) + log Γ(k) − k log b − (k − 1)(ψ(α) − ψ(α + β)) + b·α/(α + β)."""
    from .ops.special import digamma

    a, b = p.concentration1, p.concentration0
    return _kl_to_gamma(p, q, digamma(a) - digamma(a + b))


@register_kl(Beta, Uniform)
@register_kl(ContinuousBernoulli, Uniform)
def _kl_unit_interval_uniform(p, q):
    r"""−H(p) + log(high − low) for p on [0, 1], inf unless low ≤ 0 and 1 ≤ high (PyTorch
    gives ContinuousBernoulli ‖ Uniform inf at low = 0 or high = 1 too)."""
    covered = _inside(0.0, 1.0, q.low, q.high)
    return where(covered, -p.entropy() + (q.high - q.low).log(), float("inf"))


@register_kl(Exponential, Gamma)
def _kl_exponential_gamma(p, q):
    r"""Exp(λ) = Gamma(1, λ): b/λ − k log(b/λ) + log Γ(k) + kγ − (1 + γ)."""
    return _kl_gamma_gamma(Gamma(1.0, p.rate, validate_args=False), q)


@register_kl(Exponential, Gumbel)
def _kl_exponential_gumbel(p, q):
    r"""Exp(λ) = Gamma(1, λ): log(λβ) − 1 + 1/(λβ) − μ/β + e^(μ/β)·λβ/(λβ + 1)."""
    return _kl_gamma_gumbel(Gamma(1.0, p.rate, validate_args=False), q)


@register_kl(Gamma, Gumbel)
def _kl_gamma_gumbel(p, q):
    r"""−H(p) + log β + (α/b − μ)/β + e^(μ/β)(1 + 1/(bβ))^(−α) for p = Gamma(α, b):
    E_p[e^(−x/β)] = (1 + 1/(bβ))^(−α)."""
    a, b = p.concentration, p.rate
    mgf = (q.loc / q.scale - a * (b * q.scale).reciprocal().log1p()).exp()
    return _kl_to_gumbel(p, q, mgf)


@register_kl(Normal, Gumbel)
def _kl_normal_gumbel(p, q):
    r"""−H(p) + log β + (μp − μq)/β + e^((μq − μp)/β + σ²/(2β²)) for p = N(μp, σ²)."""
    z = p.scale / q.scale
    return _kl_to_gumbel(p, q, ((q.loc - p.loc) / q.scale + 0.5 * z * z).exp())


@register_kl(Normal, Laplace)
def _kl_normal_laplace(p, q):
    r"""−H(p) + log 2b + E_p|x − μq|/b, the folded normal's mean E_p|x − μq| =
    σ√(2/π)·e^(−d²/(2σ²)) + d·erf(d/(σ√2)), d = μp − μq."""
    d = p.loc - q.loc
    z = d / p.scale
    folded = math.sqrt(2 / math.pi) * p.scale * (-0.5 * z * z).exp() \
        + d * (z * math.sqrt(0.5)).erf()
    return -p.entropy() + (2 * q.scale).log() + folded / q.scale


@register_kl(Pareto, Exponential)
def _kl_pareto_exponential(p, q):
    r"""−H(p) − log λ + λ·αxₘ/(α − 1); inf for α ≤ 1 (infinite mean)."""
    return _pareto_moment_finite(p, q, 1, _kl_by_mean)


@register_kl(Pareto, Gamma)
def _kl_pareto_gamma(p, q):
    r"""−H(p) + log Γ(k) − k log b − (k − 1)(log xₘ + 1/α) + b·αxₘ/(α − 1); inf for
    α ≤ 1 (infinite mean)."""
    return _pareto_moment_finite(
        p, q, 1, lambda p, q: _kl_to_gamma(p, q, p.scale.log() + p.alpha.reciprocal()))


@register_kl(Pareto, Normal)
def _kl_pareto_normal(p, q):
    r"""−H(p) + log σ + ½ log 2π + (Var_p + (E_p x − μ)²)/(2σ²); inf for α ≤ 2 (infinite
    variance)."""
    return _pareto_moment_finite(p, q, 2, _kl_to_normal)


@register_kl(Poisson, Bernoulli)
@register_kl(Poisson, Binomial)
def _kl_poisson_bounded(p, q):
    r"""inf: Poisson(λ) puts mass on every count, q on 0…n only; at λ = 0, p is the point
    mass at 0 and KL = −log q(0) = n·log(1 + e^ℓ) (PyTorch: inf there too)."""
    zero = creation.zeros_like(q.probs)
    return where(const(p.rate.data == 0), -q.log_prob(zero), float("inf"))


@register_kl(Uniform, Beta)
def _kl_uniform_beta(p, q):
    r"""−log(h − l) + log B(α, β) − (α − 1)·E_p[log x] − (β − 1)·E_p[log(1 − x)], with
    E_p[log x] = (h log h − l log l)/(h − l) − 1 and E_p[log(1 − x)] the same over
    [1 − h, 1 − l]; inf unless 0 ≤ l and h ≤ 1."""
    def kl(p, q):
        a, b = q.concentration1, q.concentration0
        return -p.entropy() + _lbeta(a, b) - (a - 1) * _uniform_mean_log(p.low, p.high) \
            - (b - 1) * _uniform_mean_log(1 - p.high, 1 - p.low)
    return _uniform_within(p, q, 0.0, kl, 1.0)


@register_kl(Uniform, ContinuousBernoulli)
def _kl_uniform_continuous_bernoulli(p, q):
    r"""−log(h − l) − ℓ(l + h)/2 − log(1 − λ) − log C(λ); inf unless 0 ≤ l and h ≤ 1
    (PyTorch: inf at l = 0 or h = 1 too)."""
    return _uniform_within(p, q, 0.0, _kl_by_mean, 1.0)


@register_kl(Uniform, Exponential)
def _kl_uniform_exponential(p, q):
    r"""−log(h − l) − log λ + λ(l + h)/2; inf unless 0 ≤ l."""
    return _uniform_within(p, q, 0.0, _kl_by_mean)


@register_kl(Uniform, Gamma)
def _kl_uniform_gamma(p, q):
    r"""−log(h − l) + log Γ(k) − k log b − (k − 1)[(h log h − l log l)/(h − l) − 1]
    + b(l + h)/2; inf unless 0 ≤ l."""
    return _uniform_within(
        p, q, 0.0, lambda p, q: _kl_to_gamma(p, q, _uniform_mean_log(p.low, p.high)))


@register_kl(Uniform, Gumbel)
def _kl_uniform_gumbel(p, q):
    r"""−log(h − l) + log β + ((l + h)/2 − μ)/β + β/(h − l)·(e^((μ − l)/β) − e^((μ − h)/β))."""
    mgf = q.scale / (p.high - p.low) * (((q.loc - p.low) / q.scale).exp()
                                         - ((q.loc - p.high) / q.scale).exp())
    return _kl_to_gumbel(p, q, mgf)


@register_kl(Uniform, Pareto)
def _kl_uniform_pareto(p, q):
    r"""−log(h − l) − log α − α log xₘ + (α + 1)[(h log h − l log l)/(h − l) − 1]:
    log q(x) = log α + α log xₘ − (α + 1) log x; inf unless xₘ ≤ l."""
    def kl(p, q):
        return -p.entropy() - q.alpha.log() - q.alpha * q.scale.log() \
            + (q.alpha + 1) * _uniform_mean_log(p.low, p.high)
    return _uniform_within(p, q, q.scale, kl)
