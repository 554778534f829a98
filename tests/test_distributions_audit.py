"""Distribution fixes from a differential audit against PyTorch 2.13 (stop 23): log
densities at the edge of the support, where (α − 1)·log x is 0·(−∞), and the support
checks of Exponential, Gamma, Beta, Dirichlet, Geometric, Poisson and LogNormal."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import distributions as D


@pytest.mark.parametrize("dist, value, expected", [
    (lambda: D.Gamma(mg.tensor(1.0), mg.tensor(2.0)), 0.0, math.log(2.0)),  # 2e^{−2x} at 0
    (lambda: D.Chi2(mg.tensor(2.0)), 0.0, math.log(0.5)),                    # ½e^{−x/2}
    (lambda: D.Beta(mg.tensor(1.0), mg.tensor(2.0)), 0.0, math.log(2.0)),    # 2(1 − x)
    (lambda: D.Beta(mg.tensor(2.0), mg.tensor(1.0)), 1.0, math.log(2.0)),    # 2x
    (lambda: D.Beta(mg.tensor(1.0), mg.tensor(1.0)), 0.0, 0.0),              # uniform
    (lambda: D.Geometric(mg.tensor(1.0)), 0.0, 0.0),                         # P(0) = 1
    (lambda: D.Geometric(logits=mg.tensor(50.0)), 0.0, 0.0),
])
def test_log_prob_at_the_edge_of_the_support(dist, value, expected):
    assert float(dist().log_prob(mg.tensor(value))) == pytest.approx(expected, abs=1e-6)


def test_dirichlet_at_a_vertex_and_geometric_entropy_at_certainty():
    lp = D.Dirichlet(mg.tensor([1.0, 2.0])).log_prob(mg.tensor([0.0, 1.0]))
    assert float(lp) == pytest.approx(math.log(2.0))   # Γ(3)/(Γ(1)Γ(2)) · x₂ = 2
    assert float(D.Geometric(mg.tensor(1.0)).entropy()) == pytest.approx(0.0, abs=1e-6)
    p = 0.3      # H = −((1 − p) log(1 − p) + p log p) / p
    h = -((1 - p) * math.log(1 - p) + p * math.log(p)) / p
    assert float(D.Geometric(mg.tensor(p)).entropy()) == pytest.approx(h, rel=1e-6)


def test_gradients_inside_the_support_are_unchanged():
    a = mg.tensor(2.0, dtype=mg.float64, requires_grad=True)
    b = mg.tensor(3.0, dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda a, b: D.Beta(a, b).log_prob(mg.tensor(0.3, dtype=mg.float64)),
                        (a, b))
    assert mg.gradcheck(lambda a, b: D.Gamma(a, b).log_prob(mg.tensor(0.7, dtype=mg.float64)),
                        (a, b))
    p = mg.tensor(0.3, dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda p: D.Geometric(p).log_prob(mg.tensor(2.0, dtype=mg.float64)),
                        (p,))


@pytest.mark.parametrize("make, value, support", [
    (lambda: D.Exponential(mg.tensor(1.0)), -1.0, "nonnegative"),
    (lambda: D.Gamma(mg.tensor(2.0), mg.tensor(1.0)), -1.0, "nonnegative"),
    (lambda: D.Beta(mg.tensor(1.0), mg.tensor(2.0)), 1.5, "unit_interval"),
    (lambda: D.Poisson(mg.tensor(2.0)), 1.5, "nonnegative_integer"),
    (lambda: D.Geometric(mg.tensor(0.5)), -1.0, "nonnegative_integer"),
    (lambda: D.LogNormal(0.0, 1.0), -1.0, "positive"),
])
def test_values_outside_the_support_are_refused(make, value, support):
    with pytest.raises(ValueError, match=f"log_prob: the value must lie in the support, "
                                         f"{support}"):
        make().log_prob(mg.tensor(value))
    relaxed = make()
    relaxed._validate_args = False       # validate_args=False: the formula, unchecked
    relaxed.log_prob(mg.tensor(value))


def test_dirichlet_and_exponential_cdf_checks():
    with pytest.raises(ValueError, match="simplex"):
        D.Dirichlet(mg.tensor([1.0, 2.0])).log_prob(mg.tensor([0.5, 0.9]))
    with pytest.raises(ValueError, match="Exponential.cdf"):
        D.Exponential(mg.tensor(1.0)).cdf(mg.tensor(-1.0))


def test_edge_values_match_torch():
    torch = pytest.importorskip("torch")
    T = torch.distributions
    for name, args, v in [("Gamma", (1.0, 2.0), 0.0), ("Beta", (1.0, 2.0), 0.0),
                          ("Beta", (2.0, 1.0), 1.0), ("Geometric", (1.0,), 0.0),
                          ("Chi2", (2.0,), 0.0)]:
        ours = getattr(D, name)(*map(mg.tensor, args)).log_prob(mg.tensor(v))
        theirs = getattr(T, name)(*map(torch.tensor, args)).log_prob(torch.tensor(v))
        assert float(ours) == pytest.approx(float(theirs), abs=1e-6), name


def test_pareto_moments_are_infinite_with_zero_gradient_below_their_order():
    alpha = mg.tensor([0.5, 1.5, 3.0], dtype=mg.float64, requires_grad=True)
    mean = D.Pareto(mg.tensor(1.0, dtype=mg.float64), alpha).mean
    assert mean.tolist() == [float("inf"), 3.0, 1.5]            # α/(α − 1) for α > 1
    mean.sum().backward()
    assert alpha.grad.tolist() == [0.0, -4.0, -0.25]            # −1/(α − 1)²
    alpha.grad = None
    var = D.Pareto(mg.tensor(1.0, dtype=mg.float64), alpha).variance
    assert var.tolist()[:2] == [float("inf")] * 2 and var.tolist()[2] == pytest.approx(0.75)
    var.sum().backward()
    assert alpha.grad.tolist()[:2] == [0.0, 0.0]


def test_categorical_takes_whole_numbers_stored_as_floats():
    c = D.Categorical(logits=mg.tensor([0.1, 0.5]))
    expected = 0.5 - math.log(math.exp(0.1) + math.exp(0.5))
    assert float(c.log_prob(mg.tensor(1.0))) == pytest.approx(expected, rel=1e-6)
    with pytest.raises(ValueError, match="values must be integers"):
        c.log_prob(mg.tensor(0.5))


def test_multivariate_normal_checks_its_matrix_and_reads_only_the_lower_triangle():
    with pytest.raises(ValueError, match="scale_tril must be lower-triangular"):
        D.MultivariateNormal(mg.zeros(2), scale_tril=mg.tensor([[1.0, 0.3], [0.5, 2.0]]))
    with pytest.raises(ValueError, match="covariance_matrix must be symmetric"):
        D.MultivariateNormal(mg.zeros(2), covariance_matrix=mg.tensor([[1.0, 0.3],
                                                                      [0.1, 2.0]]))
    with pytest.raises(ValueError, match="precision_matrix must be symmetric"):
        D.MultivariateNormal(mg.zeros(2), precision_matrix=mg.tensor([[1.0, 0.3],
                                                                     [0.1, 2.0]]))
    L = mg.tensor([[1.0, 0.0], [0.5, 2.0]], dtype=mg.float64, requires_grad=True)
    x = mg.tensor([0.3, -0.7], dtype=mg.float64)
    D.MultivariateNormal(mg.zeros(2, dtype=mg.float64), scale_tril=L).log_prob(x).backward()
    assert L.grad.tolist()[0][1] == 0.0        # the structural zero gets no gradient
    assert mg.gradcheck(lambda L: D.MultivariateNormal(
        mg.zeros(2, dtype=mg.float64), scale_tril=L.tril()).log_prob(x), (L,))


def test_modes_supports_perplexity_and_the_lognormal_kl():
    b = D.Bernoulli(mg.tensor([0.2, 0.5, 0.9]))
    mode = b.mode.tolist()
    assert mode[0] == 0.0 and math.isnan(mode[1]) and mode[2] == 1.0   # ½: two modes
    assert b.enumerate_support().tolist() == [[0.0] * 3, [1.0] * 3]
    assert b.enumerate_support(expand=False).shape == (2, 1)
    probs = mg.tensor([[0.2, 0.5, 0.3], [0.6, 0.1, 0.3]])
    assert D.Categorical(probs).enumerate_support().tolist() == [[0, 0], [1, 1], [2, 2]]
    onehot = D.OneHotCategorical(probs)
    assert onehot.mode.tolist() == [[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
    assert onehot.enumerate_support().shape == (3, 2, 3)
    assert math.isnan(float(D.Uniform(0.0, 2.0).mode))
    # Dirichlet/Beta: (α − 1)/Σ(α − 1) above 1; all below 1: the first vertex (PyTorch)
    dirichlet = D.Dirichlet(mg.tensor([[2.0, 3.0, 4.0], [0.5, 0.3, 0.9]]))
    np.testing.assert_allclose(dirichlet.mode.numpy(), [[1 / 6, 2 / 6, 3 / 6], [1, 0, 0]],
                               rtol=1e-6)
    assert float(D.Beta(mg.tensor(2.0), mg.tensor(3.0)).mode) == pytest.approx(1 / 3)
    assert float(D.Beta(mg.tensor(0.5), mg.tensor(2.0)).mode) == 0.0
    normal = D.Normal(mg.tensor(0.0), mg.tensor(2.0))
    assert float(normal.perplexity()) == pytest.approx(math.exp(0.5 + 0.5 * math.log(
        2 * math.pi) + math.log(2.0)), rel=1e-6)
    assert D.Independent(D.Normal(mg.zeros(3), mg.ones(3)), 1).mode.tolist() == [0.0] * 3
    kl = D.kl_divergence(D.LogNormal(0.0, 1.0), D.LogNormal(1.0, 1.0))
    assert float(kl) == pytest.approx(0.5)      # the normals' (μ₁ − μ₂)²/2σ²
