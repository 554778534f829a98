"""Models, augmentation, synthetic tasks, optimizer/schedule recipes, doctests."""
import doctest
import importlib
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.train import augment, models, synthetic
from minigrad.train.recipes import (
    OPTIMIZERS,
    SCHEDULES,
    default_lr,
    make_optimizer,
    make_scheduler,
    with_gradual_warmup,
)


# --------------------------------------------------------------------------- models
@pytest.mark.parametrize("name", list(models.MODELS))
@pytest.mark.parametrize("shape", [(1, 8, 8), (1, 28, 28), (3, 32, 32)])
def test_models_forward_and_backward(name, shape):
    mg.manual_seed(0)
    net = models.build_model(name, shape, 10)
    out = net(mg.randn(2, *shape))
    assert out.shape == (2, 10)
    out.sum().backward()
    assert all(p.grad is not None for p in net.parameters())


def test_mobilenet_uses_depthwise_separable_convolutions():
    net = models.build_model("mobilenet-small", (1, 8, 8), 10)
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d)]
    depthwise = [c for c in convs if c.groups > 1]
    assert depthwise and all(c.groups == c.in_channels == c.out_channels for c in depthwise)
    assert all(c.kernel_size == (3, 3) for c in depthwise)
    pointwise = [c for c in convs if c.kernel_size == (1, 1)]
    assert len(pointwise) >= 2 * len(depthwise) - 1
    blocks = [m for m in net.modules() if isinstance(m, models.InvertedResidual)]
    assert any(b.use_residual for b in blocks) and not all(b.use_residual for b in blocks)


def test_resnet_has_residual_blocks_with_batchnorm():
    net = models.build_model("resnet-small", (1, 8, 8), 10)
    assert sum(isinstance(m, nn.BasicBlock) for m in net.modules()) == 3
    assert any(isinstance(m, nn.BatchNorm2d) for m in net.modules())


def test_image_models_refuse_feature_vectors():
    with pytest.raises(ValueError, match="needs images"):
        models.build_model("cnn", (2,), 2)
    with pytest.raises(ValueError, match="unknown model"):
        models.build_model("vgg", (1, 8, 8), 10)


# --------------------------------------------------------------------------- augmentation
def _img(n=2, c=1, h=5, w=5):
    return mg.tensor(np.arange(n * c * h * w, dtype=np.float32).reshape(n, c, h, w))


def test_rotate_quarter_turn_is_exact():
    x = np.zeros((1, 1, 5, 5), np.float32)
    x[0, 0, 2, 4] = 1.0  # right of the centre
    y = augment.rotate(mg.tensor(x), 90).numpy()[0, 0]
    expected = np.zeros((5, 5))
    expected[4, 2] = 1.0  # below the centre: clockwise as displayed
    np.testing.assert_allclose(y, expected, atol=1e-6)
    np.testing.assert_allclose(augment.rotate(mg.tensor(x), 0).numpy(), x)


def test_shift_moves_pixels_and_fills_zeros():
    x = _img(1, 1, 4, 4)
    gen = np.random.default_rng(0)
    shift = augment.RandomShift(1, generator=gen)
    dy, dx = np.random.default_rng(0).integers(-1, 2, size=(1, 2))[0]
    y = shift(x).numpy()[0, 0]
    a = x.numpy()[0, 0]
    for i in range(4):
        for j in range(4):
            si, sj = i - dy, j - dx
            want = a[si, sj] if 0 <= si < 4 and 0 <= sj < 4 else 0.0
            assert y[i, j] == want


def test_flip_noise_standardize():
    x = _img()
    np.testing.assert_array_equal(augment.RandomHorizontalFlip(1.0)(x).numpy(),
                                  x.numpy()[..., ::-1])
    np.testing.assert_array_equal(augment.RandomHorizontalFlip(0.0)(x).numpy(), x.numpy())
    mg.manual_seed(0)
    big = mg.zeros(64, 1, 8, 8)
    assert augment.GaussianNoise(0.1)(big).numpy().std() == pytest.approx(0.1, rel=0.05)
    s = augment.Standardize.fit(x)
    z = s(x).numpy()
    assert abs(z.mean()) < 1e-5 and z.std() == pytest.approx(1.0, rel=1e-5)


def test_augmentation_is_reproducible_and_keeps_shape_and_dtype():
    aug = augment.default_augmentation(8, flip=True)
    x = mg.rand(6, 1, 8, 8)
    mg.manual_seed(3)
    a = aug(x)
    mg.manual_seed(3)
    b = aug(x)
    assert a.shape == x.shape and a.dtype == x.dtype
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    with pytest.raises(ValueError, match="N, C, H, W"):
        augment.RandomShift(1)(mg.rand(3, 8))


# --------------------------------------------------------------------------- synthetic
def test_synthetic_tasks():
    X, y = synthetic.two_spirals(301, seed=0)
    assert X.shape == (301, 2) and X.dtype == mg.float32
    assert np.bincount(y.numpy()).tolist() == [151, 150]
    X2, y2 = synthetic.two_spirals(301, seed=0)
    np.testing.assert_array_equal(X.numpy(), X2.numpy())
    X, y = synthetic.make_moons(200, noise=0.0, seed=1)
    a = X.numpy()
    r0 = np.hypot(a[y.numpy() == 0, 0], a[y.numpy() == 0, 1])
    np.testing.assert_allclose(r0, 1.0, atol=1e-6)  # the upper moon is the unit circle
    X, y = synthetic.noisy_regression(500, n_features=3, noise=0.0, seed=2)
    u = X.numpy().sum(1) / math.sqrt(3)
    np.testing.assert_allclose(y.numpy()[:, 0], np.sin(2 * u) + u * u / 4, atol=1e-5)
    train, test = synthetic.split(*synthetic.make_moons(100, seed=0))
    assert len(train) == 80 and len(test) == 20
    with pytest.raises(ValueError, match="noise"):
        synthetic.make_moons(10, noise=-1)


# --------------------------------------------------------------------------- recipes
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_every_optimizer_name_builds_with_its_class_defaults(name):
    w = mg.zeros(3, requires_grad=True)
    opt = make_optimizer(name, [w])
    assert opt.param_groups[0]["lr"] == default_lr(name)
    for key, value in OPTIMIZERS[name][1].items():
        if key != "base_optimizer":
            assert opt.param_groups[0][key] == value


@pytest.mark.parametrize("name", SCHEDULES)
def test_schedules_span_the_run(name):
    w = mg.zeros(3, requires_grad=True)
    opt = make_optimizer("sgd", [w], lr=0.1)
    sched = make_scheduler(name, opt, 50)
    lrs = []
    for _ in range(50):
        lrs.append(opt.param_groups[0]["lr"])
        if sched is not None:
            sched.step()
    if name == "constant":
        assert set(lrs) == {0.1}
    else:
        assert max(lrs) <= 0.1 + 1e-12 and lrs[-1] < 0.05
    if name in ("onecycle", "warmup-cosine"):
        assert lrs[0] < lrs[5]  # they start with a warm-up


def test_gradual_warmup_for_data_parallel_runs():
    w = mg.zeros(3, requires_grad=True)
    opt = make_optimizer("sgd", [w], lr=0.4)          # already scaled: 0.1 × 4 ranks
    sched = with_gradual_warmup("cosine", opt, 20, 5, world_size=4)
    lrs = []
    for _ in range(20):
        lrs.append(opt.param_groups[0]["lr"])
        sched.step()
    assert lrs[0] == pytest.approx(0.1) and lrs[5] == pytest.approx(0.4)
    np.testing.assert_allclose(lrs[:6], np.linspace(0.1, 0.4, 6))
    assert lrs[-1] < 0.05


# --------------------------------------------------------------------------- doctests
@pytest.mark.parametrize("name", ["minigrad.train.trainer", "minigrad.train.augment",
                                  "minigrad.train.models", "minigrad.train.synthetic",
                                  "minigrad.train.recipes", "minigrad.gradcheck_catalog"])
def test_docstring_examples(name):
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0
