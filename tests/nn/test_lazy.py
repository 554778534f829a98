"""Lazy modules: sized from the first input, then the ordinary class, with the same
parameter objects (an optimizer made before the first call keeps working) and the same
initial values the eager layer would draw."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn


def test_lazy_linear_becomes_linear_with_the_eager_initial_values():
    x = mg.tensor(np.random.default_rng(0).standard_normal((4, 5)).astype(np.float32))
    mg.manual_seed(3)
    lazy = nn.LazyLinear(2)
    assert repr(lazy) == "LazyLinear(in_features=0, out_features=2, bias=True)"
    assert lazy.has_uninitialized_params()
    assert isinstance(lazy.weight, nn.UninitializedParameter)
    assert repr(lazy.weight) == "<UninitializedParameter>"
    weight = lazy.weight
    y = lazy(x)
    mg.manual_seed(3)
    eager = nn.Linear(5, 2)
    assert type(lazy) is nn.Linear and lazy.in_features == 5
    assert lazy.weight is weight and type(weight) is nn.Parameter   # the same object
    np.testing.assert_array_equal(lazy.weight.numpy(), eager.weight.numpy())
    np.testing.assert_array_equal(lazy.bias.numpy(), eager.bias.numpy())
    np.testing.assert_array_equal(y.numpy(), eager(x).numpy())
    assert not lazy._forward_pre_hooks                              # the lazy hook is gone


def test_an_optimizer_made_before_the_first_call_trains_the_materialized_weights():
    x = mg.tensor(np.random.default_rng(1).standard_normal((8, 3)))
    runs = []
    f64 = dict(dtype=mg.float64)
    for make in (lambda: nn.Sequential(nn.LazyLinear(4, **f64), nn.Tanh(),
                                       nn.LazyLinear(1, **f64)),
                 lambda: nn.Sequential(nn.Linear(3, 4, **f64), nn.Tanh(),
                                       nn.Linear(4, 1, **f64))):
        mg.manual_seed(0)
        model = make()
        opt = mg.optim.Adam(model.parameters(), lr=0.05)
        losses = []
        for _ in range(5):
            opt.zero_grad()
            loss = (model(x) ** 2).mean()
            loss.backward()
            opt.step()
            losses.append(loss.item())
        runs.append(losses)
    assert runs[0] == runs[1]


@pytest.mark.parametrize("lazy, eager, shape", [
    (lambda: nn.LazyConv1d(4, 3), lambda: nn.Conv1d(2, 4, 3), (2, 2, 9)),
    (lambda: nn.LazyConv2d(4, 3, padding=1, groups=2), lambda: nn.Conv2d(6, 4, 3, padding=1,
                                                                          groups=2),
     (2, 6, 5, 5)),
    (lambda: nn.LazyConv2d(4, 3), lambda: nn.Conv2d(3, 4, 3), (3, 6, 6)),      # unbatched
    (lambda: nn.LazyConv3d(2, 2), lambda: nn.Conv3d(3, 2, 2), (1, 3, 4, 4, 4)),
    (lambda: nn.LazyConvTranspose2d(4, 3, stride=2, groups=2),
     lambda: nn.ConvTranspose2d(6, 4, 3, stride=2, groups=2), (2, 6, 4, 4)),
    (lambda: nn.LazyConvTranspose1d(3, 2), lambda: nn.ConvTranspose1d(2, 3, 2), (2, 2, 5)),
])
def test_lazy_convolutions_equal_the_eager_ones(lazy, eager, shape):
    x = mg.tensor(np.random.default_rng(2).standard_normal(shape).astype(np.float32))
    mg.manual_seed(5)
    m = lazy()
    y = m(x)
    mg.manual_seed(5)
    ref = eager()
    assert type(m) is type(ref) and m.weight.shape == ref.weight.shape
    np.testing.assert_array_equal(m.weight.numpy(), ref.weight.numpy())
    np.testing.assert_array_equal(y.numpy(), ref(x).numpy())
    assert repr(m) == repr(ref)


@pytest.mark.parametrize("lazy, eager, shape", [
    (nn.LazyBatchNorm1d, lambda: nn.BatchNorm1d(3), (4, 3)),
    (nn.LazyBatchNorm2d, lambda: nn.BatchNorm2d(3), (4, 3, 2, 2)),
    (nn.LazyBatchNorm3d, lambda: nn.BatchNorm3d(2), (2, 2, 2, 2, 2)),
    # the lazy instance norms default to affine=True, track_running_stats=True (PyTorch's
    # defaults for them, unlike the eager ones)
    (lambda: nn.LazyInstanceNorm1d(track_running_stats=False),
     lambda: nn.InstanceNorm1d(3, affine=True), (3, 7)),
    (lambda: nn.LazyInstanceNorm2d(affine=False),
     lambda: nn.InstanceNorm2d(2, track_running_stats=True), (2, 2, 3, 3)),
    (nn.LazyInstanceNorm3d,
     lambda: nn.InstanceNorm3d(2, affine=True, track_running_stats=True), (1, 2, 2, 3, 3)),
    (lambda: nn.LazyInstanceNorm3d(affine=False, track_running_stats=False),
     lambda: nn.InstanceNorm3d(2), (1, 2, 2, 3, 3)),
])
def test_lazy_norms_equal_the_eager_ones(lazy, eager, shape):
    x = mg.tensor(np.random.default_rng(3).standard_normal(shape))
    m, ref = lazy().to(dtype=mg.float64), eager().to(dtype=mg.float64)
    np.testing.assert_allclose(m(x).numpy(), ref(x).numpy(), rtol=1e-12, atol=1e-12)
    assert type(m) is type(ref) and repr(m) == repr(ref)
    for (name, a), (_, b) in zip(m.state_dict().items(), ref.state_dict().items()):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12, err_msg=name)
        assert a.dtype == b.dtype, name


def test_load_state_dict_materializes_and_dtype_follows_to():
    src = nn.Linear(6, 3).to(dtype=mg.float64)
    lazy = nn.LazyLinear(3).to(dtype=mg.float64)
    lazy.load_state_dict(src.state_dict())
    assert lazy.weight.shape == (6, 3)[::-1] and lazy.weight.dtype == mg.float64
    x = mg.tensor(np.ones((2, 6)))
    np.testing.assert_array_equal(lazy(x).numpy(), src(x).numpy())
    assert type(lazy) is nn.Linear
    bn = nn.LazyBatchNorm1d()
    bn.load_state_dict(nn.BatchNorm1d(4).state_dict())
    assert bn.running_mean.shape == (4,) and type(bn.running_mean) is mg.Tensor


def test_lazy_errors():
    with pytest.raises(TypeError, match="expected a Tensor input to infer in_features"):
        nn.LazyLinear(2)([1.0, 2.0])
    with pytest.raises(ValueError, match="must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(mg.zeros(1, 3, 5, 5))
    with pytest.raises(ValueError, match="cannot infer num_features"):
        nn.LazyBatchNorm1d()(mg.zeros(3))


def test_lazy_modules_match_pytorch_shapes():
    torch = pytest.importorskip("torch")
    for name, args, shape in [("LazyConvTranspose2d", (4, 3), (2, 6, 5, 5)),
                              ("LazyConv1d", (5, 2), (3, 4, 6)), ("LazyLinear", (7,), (2, 9))]:
        mine, theirs = getattr(nn, name)(*args), getattr(torch.nn, name)(*args)
        y = mine(mg.zeros(*shape))
        ty = theirs(torch.zeros(*shape))
        assert y.shape == tuple(ty.shape) and mine.weight.shape == tuple(theirs.weight.shape)
        assert type(mine).__name__ == type(theirs).__name__
