"""F.pad in its four modes, the p-norm's gradient at the origin, F.normalize and
F.cosine_similarity: hand-worked values, gradchecks on hypothesis inputs, clear errors,
and PyTorch as an extra oracle when it is installed."""
import warnings

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad.testing import arrays, assert_close, broadcastable_shapes


def _t(values, device="cpu", requires_grad=True):
    return mg.tensor(np.asarray(values, dtype=np.float64), device=device,
                     requires_grad=requires_grad)


# ---------------------------------------------------------------------------------- pad
@pytest.mark.parametrize("mode, expected", [
    ("constant", [0, 0, 1, 2, 3, 0]),
    ("reflect", [3, 2, 1, 2, 3, 2]),      # the edge is not repeated
    ("replicate", [1, 1, 1, 2, 3, 3]),    # the edge is repeated
    ("circular", [2, 3, 1, 2, 3, 1]),     # wraps around
])
def test_pad_modes_by_hand(mode, expected, device):
    x = _t([[1, 2, 3]], device)
    y = F.pad(x, (2, 1), mode)
    assert_close(y, np.array([expected], dtype=np.float64))


def test_pad_gradient_scatter_adds_to_the_positions_read(device):
    """Circular (3, 2) on [x0, x1, x2] reads x0 x1 x2 | x0 x1 x2 | x0 x1: x0 and x1 are
    read 3 times, x2 twice; a cotangent of ones gives those counts."""
    x = _t([1.0, 2.0, 3.0], device)
    F.pad(x, (3, 2), "circular").sum().backward()
    assert_close(x.grad, np.array([3.0, 3.0, 2.0]))
    x = _t([1.0, 2.0, 3.0], device)
    F.pad(x, (2, 2), "reflect").backward(_t([1, 10, 100, 1000, 10000, 100000, 1e6], device))
    # output reads x2 x1 | x0 x1 x2 | x1 x0
    assert_close(x.grad, np.array([100 + 1e6, 10 + 1000 + 100000, 1 + 10000]))


def test_pad_negative_widths_crop_in_constant_mode(device):
    x = _t(np.arange(12.0).reshape(3, 4), device)
    y = F.pad(x, (-1, 2, 1, -2), value=7.0)
    expected = np.full((2, 5), 7.0)
    expected[1:, :2] = np.arange(12.0).reshape(3, 4)[:1, 1:3]
    expected[1:, :3] = np.arange(12.0).reshape(3, 4)[:1, 1:]
    assert_close(y, expected)


@given(data=st.data())
def test_pad_gradcheck_on_every_mode_and_shape(data):
    x = data.draw(arrays(min_dims=1, max_dims=4, min_side=1, max_side=4))
    mode = data.draw(st.sampled_from(["constant", "reflect", "replicate", "circular"]))
    k = data.draw(st.integers(1, x.ndim))
    pad = []
    for d in reversed(range(x.ndim - k, x.ndim)):
        top = {"constant": 3, "reflect": x.shape[d] - 1, "replicate": 3,
               "circular": x.shape[d]}[mode]
        pad += [data.draw(st.integers(0, top)), data.draw(st.integers(0, top))]
    assert mg.gradcheck(lambda t: F.pad(t, pad, mode), (_t(x),))


@pytest.mark.parametrize("args, kwargs, message", [
    (((1, 1, 1),), {}, "even number"),
    (((1.5, 1),), {}, "even number"),
    (((1, 1, 1, 1, 1, 1),), {}, "3 padded dims for a tensor with 2 dims"),
    (((1, 1), "wrap"), {}, "mode must be one of"),
    (((1, 1), "reflect"), {"value": 0.0}, 'mode "reflect" does not take a value'),
    (((4, 0), "reflect"), {}, "widths must be < the size"),
    (((5, 0), "circular"), {}, "widths must be ≤ the size"),
    (((-5, 0), "replicate"), {}, "cropping (-5, 0) removes more than dim 1"),
    (((-3, -2),), {}, "cropping (-3, -2) removes more than dim 1"),
])
def test_pad_bad_arguments_are_named(args, kwargs, message):
    with pytest.raises(ValueError, match=message.replace("(", r"\(").replace(")", r"\)")):
        F.pad(mg.zeros(2, 4), *args, **kwargs)


# ------------------------------------------------------------------------- norm at zero
@pytest.mark.parametrize("p", [2, 3, 1.5])
def test_norm_gradient_at_the_origin_is_zero(p, device):
    """‖x‖ has a kink at 0; the gradient there is the subgradient 0 (PyTorch's choice),
    not 0/0, and computing it raises no floating-point warning."""
    x = _t([[0.0, 0.0, 0.0], [3.0, -4.0, 0.0]], device)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        x.norm(p, dim=1).backward(_t([1.0, 1.0], device, False))
    y = (3**p + 4**p) ** (1 / p)
    row = np.array([3.0, -4.0, 0.0])
    slope = np.sign(row) * (np.abs(row) / y) ** (p - 1)      # ∂‖x‖_p/∂x
    assert_close(x.grad, np.stack([np.zeros(3), slope]), rtol=1e-12)


def test_norm_rejects_a_non_positive_p():
    with pytest.raises(ValueError, match="p must be a positive number or inf"):
        mg.ones(3).norm(p=0)


# -------------------------------------------------------------------------- normalize
def test_normalize_by_hand(device):
    x = _t([[3.0, 4.0], [0.0, 0.0]], device)
    y = F.normalize(x, dim=1, eps=0.5)
    assert_close(y, np.array([[0.6, 0.8], [0.0, 0.0]]))
    g = np.array([[1.0, 2.0], [1.0, -1.0]])
    y.backward(_t(g, device, False))
    # row 0: (I − ŷŷᵀ)g / ‖x‖; row 1: x / eps there, so the gradient is g / eps
    yhat = np.array([0.6, 0.8])
    assert_close(x.grad, np.stack([(g[0] - yhat * (yhat @ g[0])) / 5.0, g[1] / 0.5]),
                 rtol=1e-12)


@given(data=st.data())
def test_normalize_gradcheck(data):
    x = data.draw(arrays(min_dims=1, max_dims=3, min_side=1, max_side=4, avoid=(0.0,)))
    dim = data.draw(st.integers(-x.ndim, x.ndim - 1))
    p = data.draw(st.sampled_from([1.0, 2.0, 3.0]))
    t = _t(x)
    assert_close(F.normalize(t, p, dim).norm(p, dim), np.ones(x.shape[:dim % x.ndim]
                                                            + x.shape[dim % x.ndim + 1:]))
    assert mg.gradcheck(lambda t: F.normalize(t, p, dim), (t,))


# ------------------------------------------------------------------ cosine_similarity
def test_cosine_similarity_by_hand(device):
    a = _t([[1.0, 0.0], [1.0, 1.0], [0.0, 0.0]], device)
    b = _t([[0.0, 2.0], [2.0, 2.0], [1.0, 0.0]], device)
    assert_close(F.cosine_similarity(a, b), np.array([0.0, 1.0, 0.0]), atol=1e-15)


@given(data=st.data())
def test_cosine_similarity_gradcheck_with_broadcasting(data):
    sa, sb = data.draw(broadcastable_shapes(2, min_dims=1, max_dims=3, max_side=4))
    a = data.draw(arrays(shape=sa, avoid=(0.0,)))
    b = data.draw(arrays(shape=sb, avoid=(0.0,)))
    ndim = max(a.ndim, b.ndim)
    dim = data.draw(st.integers(-ndim, ndim - 1))
    ab = np.broadcast_arrays(a, b)
    expected = (ab[0] * ab[1]).sum(dim) / (np.sqrt((ab[0] ** 2).sum(dim))
                                           * np.sqrt((ab[1] ** 2).sum(dim)))
    assert_close(F.cosine_similarity(_t(a), _t(b), dim), expected, rtol=1e-10)
    assert mg.gradcheck(lambda a, b: F.cosine_similarity(a, b, dim), (_t(a), _t(b)))


def test_cosine_similarity_names_shapes_that_do_not_broadcast():
    with pytest.raises(ValueError, match=r"shapes \(3, 4\) and \(2, 4\) do not broadcast"):
        F.cosine_similarity(mg.ones(3, 4), mg.ones(2, 4))


# ------------------------------------------------------------------- PyTorch as oracle
def test_against_pytorch():
    torch = pytest.importorskip("torch")
    tf = torch.nn.functional
    rng = np.random.default_rng(0)

    def both(name, arrays, *args):
        """F.<name>(*tensors, *args) in minigrad and in PyTorch: values and gradients."""
        xs = [_t(a) for a in arrays]
        ts = [torch.tensor(a, requires_grad=True) for a in arrays]
        y, yt = getattr(F, name)(*xs, *args), getattr(tf, name)(*ts, *args)
        g = rng.standard_normal(yt.shape)
        y.backward(_t(g, requires_grad=False))
        yt.backward(torch.tensor(g))
        assert_close(y, yt.detach().numpy(), rtol=1e-12, atol=1e-14)
        for x, t in zip(xs, ts):
            assert_close(x.grad, t.grad.numpy(), rtol=1e-12, atol=1e-14)

    x = rng.standard_normal((2, 3, 5, 6))
    for mode, pad in [("constant", (1, -2, 3, 0)), ("reflect", (2, 1, 4, 3)),
                      ("replicate", (3, 0, 1, 2)), ("circular", (6, 2, 1, 5))]:
        both("pad", [x], pad, mode)
    z = rng.standard_normal((4, 5))
    z[2] = 0.0                                     # a zero row: the eps branch
    for p in (1.0, 2.0, 3.0, float("inf")):
        both("normalize", [z], p)
    both("cosine_similarity", [rng.standard_normal((2, 1, 5)), z], -1)
