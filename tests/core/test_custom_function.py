"""PyTorch-style custom autograd Functions (static forward/backward with ctx, apply):
values and gradients by hand, gradcheck and gradgradcheck, several outputs, setup_context,
once_differentiable, mark_non_differentiable, errors, freeing, PyTorch as an oracle."""
import gc
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd import Function
from minigrad.autograd.custom_function import once_differentiable


def make_functions(lib):
    """The same custom Functions written against ``lib`` (minigrad or torch)."""

    class Exp(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            y = x.exp()
            ctx.save_for_backward(y)
            return y

        @staticmethod
        def backward(ctx, gy):
            (y,) = ctx.saved_tensors
            return gy * y

    class ScaledCube(lib.autograd.Function):
        """y = k·x³ with a Python number k: its gradient slot is None."""

        @staticmethod
        def forward(ctx, x, k):
            ctx.save_for_backward(x)
            ctx.k = k
            return x * x * x * k

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return gy * 3 * ctx.k * x * x, None

    class MulAdd(lib.autograd.Function):
        """(a·b, a + b): two inputs, two outputs."""

        @staticmethod
        def forward(ctx, a, b):
            ctx.save_for_backward(a, b)
            return a * b, a + b

        @staticmethod
        def backward(ctx, g_prod, g_sum):
            a, b = ctx.saved_tensors
            return g_prod * b + g_sum, g_prod * a + g_sum

    return Exp, ScaledCube, MulAdd


Exp, ScaledCube, MulAdd = make_functions(mg)


def _x(values, device="cpu"):
    return mg.tensor(values, dtype=mg.float64, device=device, requires_grad=True)


def test_values_and_gradients_by_hand(device):
    x = _x([0.0, 1.0], device)
    y = Exp.apply(x)
    assert y.requires_grad and repr(y.creator) == "<Exp backward>"
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), np.exp([0.0, 1.0]))
    x = _x([1.0, 2.0], device)
    ScaledCube.apply(x, 2.0).sum().backward()
    assert x.grad.tolist() == [6.0, 24.0]                     # 3·2·x²
    a, b = _x([1.0, 2.0], device), _x([3.0, 4.0], device)
    p, s = MulAdd.apply(a, b)
    assert p.tolist() == [3.0, 8.0] and s.tolist() == [4.0, 6.0]
    (p.sum() * 2 + s.sum()).backward()
    assert a.grad.tolist() == [7.0, 9.0] and b.grad.tolist() == [3.0, 5.0]


def test_gradcheck_and_gradgradcheck_of_custom_functions():
    x = _x([0.3, -1.2, 2.0])
    b = _x([1.5, 0.5, -0.7])
    assert mg.gradcheck(Exp.apply, [x]) and mg.gradgradcheck(Exp.apply, [x])
    cube = lambda t: ScaledCube.apply(t, 1.5)  # noqa: E731
    assert mg.gradcheck(cube, [x]) and mg.gradgradcheck(cube, [x])
    assert mg.gradcheck(MulAdd.apply, [x, b]) and mg.gradgradcheck(MulAdd.apply, [x, b])


def test_gradcheck_catches_a_wrong_custom_backward():
    class BadSquare(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return gy * x                                     # forgot the 2

    with pytest.raises(mg.GradcheckError, match="constant factor 0.5"):
        mg.gradcheck(BadSquare.apply, [_x([1.0, 2.0])])


def test_setup_context_style_and_needs_input_grad():
    seen = {}

    class Scale(Function):
        @staticmethod
        def forward(x, y, k):
            return x * y * k

        @staticmethod
        def setup_context(ctx, inputs, output):
            x, y, k = inputs
            ctx.save_for_backward(x, y)
            ctx.k = k
            seen["needs"] = ctx.needs_input_grad

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return (g * y * ctx.k if ctx.needs_input_grad[0] else None,
                    g * x * ctx.k if ctx.needs_input_grad[1] else None, None)

    x, y = _x([2.0]), mg.tensor([5.0], dtype=mg.float64)
    Scale.apply(x, y, 3.0).sum().backward()
    assert seen["needs"] == (True, False, False) and x.grad.tolist() == [15.0]


def test_unused_outputs_non_differentiable_outputs_and_once_differentiable():
    a, b = _x([1.0, 2.0]), _x([3.0, 4.0])
    p, _ = MulAdd.apply(a, b)
    p.sum().backward()                                        # the sum is unused: zeros
    assert a.grad.tolist() == [3.0, 4.0] and b.grad.tolist() == [1.0, 2.0]

    class MaxWithIndex(Function):
        @staticmethod
        def forward(ctx, x):
            i = x.argmax()
            ctx.save_for_backward(x)
            ctx.i = int(i.item())
            scaled = x * 2
            ctx.mark_non_differentiable(scaled)
            return x.max(), i, scaled

        @staticmethod
        def backward(ctx, g, g_index, g_scaled):
            (x,) = ctx.saved_tensors
            gx = mg.zeros_like(x)
            gx.data[ctx.i] = g.data
            return gx

    x = _x([1.0, 5.0, 2.0])
    value, index, scaled = MaxWithIndex.apply(x)
    assert index.tolist() == 1 and not index.requires_grad and not scaled.requires_grad
    value.backward()
    assert x.grad.tolist() == [0.0, 1.0, 0.0]

    class OnceExp(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x.exp()

        @staticmethod
        @once_differentiable
        def backward(ctx, gy):
            (x,) = ctx.saved_tensors
            return gy * x.exp()

    x = _x([0.5])
    (g,) = mg.autograd.grad(OnceExp.apply(x), x, create_graph=True)
    assert g.tolist() == pytest.approx([np.exp(0.5)]) and not g.requires_grad


def test_no_grad_errors_and_freeing():
    with mg.no_grad():
        y = Exp.apply(_x([1.0]))
    assert not y.requires_grad and y.creator is None
    assert not Exp.apply(mg.tensor([1.0])).requires_grad      # no input needs grad

    class TooMany(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g, g

    with pytest.raises(RuntimeError, match="returned 2 gradients, but forward takes 1"):
        TooMany.apply(_x([1.0])).sum().backward()

    class WrongShape(Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g[:1]

    with pytest.raises(RuntimeError, match=r"invalid gradient at index 0: got shape \(1,\)"):
        WrongShape.apply(_x([1.0, 2.0])).sum().backward()

    class Broadcast(Function):  # a gradient x's shape expands to is summed back
        @staticmethod
        def forward(ctx, x):
            return x * 1

        @staticmethod
        def backward(ctx, g):
            return g.reshape(1, -1).broadcast_to((3, 2))

    x = _x([1.0, 2.0])
    Broadcast.apply(x).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
    with pytest.raises(TypeError, match="only for Functions written PyTorch's way"):
        mg.autograd.Function.apply(_x([1.0]))
    with pytest.raises(TypeError, match="positional arguments only"):
        Exp.apply(x=_x([1.0]))

    x = _x([1.0, 2.0])
    y = Exp.apply(x)
    node = weakref.ref(y.creator)
    loss = y.sum()
    loss.backward(retain_graph=True)
    loss.backward()                                           # retained once: twice is fine
    assert x.grad.tolist() == pytest.approx((2 * np.exp([1.0, 2.0])).tolist())
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        loss.backward()
    del y, loss
    gc.collect()
    assert node() is None


def test_custom_functions_match_pytorch():
    torch = pytest.importorskip("torch")
    t_exp, t_cube, t_muladd = make_functions(torch)
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal(4), rng.standard_normal(4)

    def run(lib, exp, cube, muladd, make):
        x, y = make(a), make(b)
        p, s = muladd.apply(x, y)
        loss = (exp.apply(p) * cube.apply(s, 0.5)).sum()
        loss.backward()
        return loss.item(), x.grad.tolist(), y.grad.tolist()

    mine = run(mg, Exp, ScaledCube, MulAdd,
               lambda v: mg.tensor(v, dtype=mg.float64, requires_grad=True))
    theirs = run(torch, t_exp, t_cube, t_muladd,
                 lambda v: torch.tensor(v, dtype=torch.float64, requires_grad=True))
    np.testing.assert_allclose(mine[0], theirs[0], rtol=1e-13)
    np.testing.assert_allclose(mine[1], theirs[1], rtol=1e-12)
    np.testing.assert_allclose(mine[2], theirs[2], rtol=1e-12)
