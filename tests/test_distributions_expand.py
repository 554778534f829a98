"""Distribution.expand (PyTorch's): a larger batch shape made of Tensor.expand views of
the parameters, gradients flowing back to them; nested distributions expanded alike."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import distributions as D
from minigrad.testing import assert_close


def _t(v, **kw):
    return mg.tensor(v, dtype=mg.float64, **kw)


# Each family built from a distributions module (minigrad's, or torch's for the oracle
# test: the classes and arguments are PyTorch's) and a tensor maker.
FAMILIES = {
    "Normal": lambda D, t: D.Normal(t([0.0, 1.0]), t([1.0, 2.0])),
    "Laplace": lambda D, t: D.Laplace(t([0.0, 1.0]), t([1.0, 2.0])),
    "Uniform": lambda D, t: D.Uniform(t([0.0, -1.0]), t([1.0, 2.0])),
    "Exponential": lambda D, t: D.Exponential(t([0.5, 2.0])),
    "Gamma": lambda D, t: D.Gamma(t([2.0, 3.0]), t([1.0, 0.5])),
    "Beta": lambda D, t: D.Beta(t([2.0, 3.0]), t([1.0, 0.5])),
    "Bernoulli": lambda D, t: D.Bernoulli(probs=t([0.3, 0.8])),
    "Poisson": lambda D, t: D.Poisson(t([0.3, 4.0])),
    "Geometric": lambda D, t: D.Geometric(t([0.3, 0.6])),
    "Binomial": lambda D, t: D.Binomial(t([5.0, 5.0]), probs=t([0.3, 0.6])),
    "Categorical": lambda D, t: D.Categorical(probs=t([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])),
    "OneHotCategorical": lambda D, t: D.OneHotCategorical(
        probs=t([[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]])),
    "Dirichlet": lambda D, t: D.Dirichlet(t([[1.0, 2.0, 3.0], [0.5, 0.5, 4.0]])),
    "MultivariateNormal": lambda D, t: D.MultivariateNormal(
        t([[0.0, 1.0], [1.0, 0.0]]), covariance_matrix=t([[2.0, 0.5], [0.5, 1.0]])),
    "Independent": lambda D, t: D.Independent(
        D.Normal(t([[0.0, 1.0, 2.0], [1.0, 2.0, 3.0]]), t([[1.0, 2.0, 1.0], [1.0, 1.0, 1.0]])),
        1),
    "LogNormal": lambda D, t: D.LogNormal(t([0.0, 1.0]), t([1.0, 0.5])),
    "Gumbel": lambda D, t: D.Gumbel(t([0.0, 1.0]), t([1.0, 0.5])),
    "StudentT": lambda D, t: D.StudentT(t([3.0, 5.0]), t([0.0, 1.0]), t([1.0, 2.0])),
}


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_expanded_log_prob_is_the_original_broadcast(name):
    """Each of the 4 new batch rows is the original distribution: its log_prob of a value
    drawn from the expanded one equals the original's of the same value, row by row."""
    d = FAMILIES[name](D, _t)
    e = d.expand((4, 2))
    assert e.batch_shape == (4, 2) and e.event_shape == d.event_shape
    x = e.sample()
    assert tuple(x.shape) == (4, 2) + d.event_shape
    want = np.stack([d.log_prob(x[i]).numpy() for i in range(4)])
    assert_close(e.log_prob(x), want, rtol=1e-12)
    assert d.batch_shape == (2,)  # the original is left as it was


def test_gradients_reach_the_original_parameters():
    loc, scale = _t([0.0, 1.0], requires_grad=True), _t([1.0, 2.0], requires_grad=True)
    x = _t([[0.5, 0.5], [1.0, -1.0], [2.0, 0.0]])
    D.Normal(loc, scale).expand((3, 2)).log_prob(x).sum().backward()
    # d/dμ log N(x; μ, σ) = (x − μ)/σ², summed over the 3 rows
    assert_close(loc.grad, ((x.numpy() - [0.0, 1.0]) / np.array([1.0, 4.0])).sum(0))
    # d/dσ = ((x − μ)² − σ²)/σ³
    z = x.numpy() - [0.0, 1.0]
    assert_close(scale.grad, ((z ** 2 - [1.0, 4.0]) / np.array([1.0, 8.0])).sum(0))


def test_a_mixture_expands_its_components():
    components = D.Normal(_t([[0.0, 2.0], [1.0, -1.0]]), _t([[1.0, 1.0], [2.0, 1.0]]))
    mix = D.MixtureSameFamily(D.Categorical(probs=_t([[0.3, 0.7], [0.5, 0.5]])), components)
    e = mix.expand((3, 2))
    assert e.batch_shape == (3, 2) and e.component_distribution.batch_shape == (3, 2, 2)
    x = _t([[0.1, 0.2]] * 3)
    assert_close(e.log_prob(x), np.stack([mix.log_prob(x[0]).numpy()] * 3), rtol=1e-12)


def test_a_batch_shape_that_does_not_broadcast_is_named():
    with pytest.raises(ValueError, match=r"Normal\.expand: the batch shape \(2,\) does not "
                                         r"broadcast to \(3,\)"):
        D.Normal(_t([0.0, 1.0]), _t([1.0, 1.0])).expand((3,))
    with pytest.raises(ValueError, match=r"does not broadcast to \(2, 1\)"):
        D.Normal(_t([0.0, 1.0]), _t([1.0, 1.0])).expand((2, 1))


@pytest.mark.parametrize("name", sorted(FAMILIES))
def test_pytorch_agrees(name):
    torch = pytest.importorskip("torch")
    ours = FAMILIES[name](D, _t).expand((4, 2))
    ref = FAMILIES[name](torch.distributions,
                         lambda v: torch.tensor(v, dtype=torch.float64)).expand((4, 2))
    assert tuple(ref.batch_shape) == ours.batch_shape
    torch.manual_seed(0)
    x = ref.sample()
    assert_close(ours.log_prob(mg.tensor(x.numpy())), ref.log_prob(x).numpy(), rtol=1e-10)
