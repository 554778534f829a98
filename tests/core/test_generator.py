"""mg.Generator: a random stream of its own, accepted as ``generator=`` by every random
function (creation, nn.init, data), reproducible, independent of the global generator,
with its state saved and restored."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import distributions as D
from minigrad import nn
from minigrad.data import DataLoader, RandomSampler, TensorDataset, random_split


def _gen(seed=7):
    return mg.Generator().manual_seed(seed)


@pytest.mark.parametrize("draw", [
    lambda g: mg.rand(3, 2, generator=g),
    lambda g: mg.randn(4, generator=g),
    lambda g: mg.randint(0, 10, (5,), generator=g),
    lambda g: mg.randperm(6, generator=g),
    lambda g: mg.bernoulli(mg.full((5,), 0.5), generator=g),
    lambda g: mg.multinomial(mg.tensor([1.0, 2.0, 3.0]), 2, generator=g),
    lambda g: mg.normal(0.0, 2.0, (3,), generator=g),
    lambda g: nn.init.uniform_(mg.empty(3), generator=g),
    lambda g: nn.init.normal_(mg.empty(3), generator=g),
    lambda g: nn.init.trunc_normal_(mg.empty(3), generator=g),
    lambda g: nn.init.xavier_uniform_(mg.empty(2, 3), generator=g),
    lambda g: nn.init.xavier_normal_(mg.empty(2, 3), generator=g),
    lambda g: nn.init.kaiming_uniform_(mg.empty(2, 3), generator=g),
    lambda g: nn.init.kaiming_normal_(mg.empty(2, 3), generator=g),
    lambda g: nn.init.orthogonal_(mg.empty(3, 3), generator=g),
    lambda g: nn.init.sparse_(mg.empty(4, 3), 0.5, generator=g),
    # PyTorch 2.14's Gamma (and Chi2, a Gamma) take one; α < 1 draws the boost's u too
    lambda g: D.Gamma(mg.tensor([0.5, 2.0]), 1.5).sample((3,), generator=g),
    lambda g: D.Gamma(mg.tensor([0.5, 2.0]), 1.5).rsample((3,), g),
    lambda g: D.Chi2(mg.tensor([1.0, 4.0])).sample(generator=g),
])
def test_every_random_function_draws_from_the_generator(draw):
    mg.manual_seed(0)
    a = draw(_gen()).tolist()
    mg.manual_seed(1)                                  # the global seed does not matter
    assert draw(_gen()).tolist() == a
    g = _gen()
    draw(g)
    assert draw(g).tolist() != a or len(a) == 0        # the stream moves on


def test_the_global_stream_is_untouched_and_state_round_trips():
    mg.manual_seed(0)
    x = mg.randn(3).tolist()
    mg.manual_seed(0)
    mg.randn(10, generator=_gen())
    D.Gamma(mg.tensor([0.5, 2.0]), 1.0).sample((4,), generator=_gen())
    assert mg.randn(3).tolist() == x
    g = _gen(3)
    state = g.get_state()
    a = mg.rand(4, generator=g).tolist()
    g.set_state(state)
    assert mg.rand(4, generator=g).tolist() == a
    assert g.initial_seed() == 3 and g.manual_seed(5) is g
    s = g.seed()
    assert g.initial_seed() == s and "seed=" in repr(g)


def test_data_utilities_take_a_generator():
    ds = TensorDataset(mg.arange(10))
    a, _ = random_split(ds, [5, 5], generator=_gen(3))
    b, _ = random_split(ds, [5, 5], generator=_gen(3))
    assert list(a.indices) == list(b.indices)
    first = [x.tolist() for (x,) in DataLoader(ds, batch_size=5, shuffle=True,
                                               generator=_gen(1))]
    again = [x.tolist() for (x,) in DataLoader(ds, batch_size=5, shuffle=True,
                                               generator=_gen(1))]
    assert first == again and sorted(sum(first, [])) == list(range(10))
    assert list(RandomSampler(ds, generator=_gen(2))) == list(RandomSampler(ds,
                                                                            generator=_gen(2)))


def test_generator_errors():
    with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator"):
        mg.randn(2, generator=mg.Generator("cuda"))
    with pytest.raises(TypeError, match="generator must be a minigrad.Generator"):
        mg.randn(2, generator=42)
    with pytest.raises(RuntimeError, match="Expected a 'cpu' device type for generator"):
        D.Gamma(2.0, 1.0).sample(generator=mg.Generator("cuda"))
    cuda = mg.Generator("cuda").manual_seed(4)       # a Philox stream: no GPU needed yet
    assert cuda.get_state() == {"seed": 4, "state": {"seed": 4, "offset": 0}}
    np_gen = np.random.default_rng(0)
    assert mg.rand(2, generator=np_gen).shape == (2,)    # a NumPy Generator works too


def test_generator_api_matches_pytorch():
    torch = pytest.importorskip("torch")
    for lib in (mg, torch):
        g = lib.Generator().manual_seed(11)
        assert g.initial_seed() == 11
        a = lib.randn(3, generator=g)
        b = lib.randn(3, generator=lib.Generator().manual_seed(11))
        assert a.tolist() == b.tolist()


def test_a_gamma_sample_from_a_generator_keeps_its_implicit_gradient():
    """rsample(shape, g) is the same Function as without g: the sample is g's, and dz/dα
    is the implicit reparameterization gradient −(∂P(α, z)/∂α)/f(z) at that sample."""
    alpha = mg.tensor([0.7, 2.5], dtype=mg.float64, requires_grad=True)
    z = D.Gamma(alpha, 1.0).rsample(generator=_gen(9))
    assert z.tolist() == D.Gamma(alpha, 1.0).sample(generator=_gen(9)).tolist()
    z.sum().backward()
    a, x, h = alpha.detach(), z.detach(), 1e-6
    dP = (mg.igamma(a + h, x) - mg.igamma(a - h, x)) / (2 * h)
    f = D.Gamma(a, 1.0).log_prob(x).exp()
    np.testing.assert_allclose(alpha.grad.numpy(), (-dP / f).numpy(), rtol=1e-7)
