"""Forward-mode AD (mg.autograd.forward_ad): tangents by hand, every op of the op table
against central differences, composition with reverse mode, the level rules and errors,
and PyTorch's forward AD as an oracle."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.autograd.forward_ad as fwAD
from minigrad.testing import assert_close

from .op_specs import SPECS


def _f64(values):
    return mg.tensor(values, dtype=mg.float64)


def test_tangents_by_hand():
    x0, t = _f64([0.5, 2.0]), _f64([1.0, -1.0])
    with fwAD.dual_level():
        x = fwAD.make_dual(x0, t)
        y = x * x                                    # 2x·t
        z = (x * y).sum()                            # 3x²·t summed
        w = x.exp() @ _f64([1.0, 1.0])               # Σ eˣ·t
        assert fwAD.unpack_dual(y).tangent.tolist() == [1.0, -4.0]
        assert fwAD.unpack_dual(z).tangent.item() == pytest.approx(3 * 0.25 - 3 * 4.0)
        assert fwAD.unpack_dual(w).tangent.item() == pytest.approx(np.exp(0.5) - np.exp(2))
        primal, tangent = fwAD.unpack_dual(_f64([1.0]))
        assert tangent is None                       # a tensor without a tangent
        assert fwAD.unpack_dual(x.argmax()).tangent is None   # an integer result
    assert fwAD.unpack_dual(y).tangent is None       # the level has ended


def _outputs(out):
    if isinstance(out, mg.Tensor):
        return [out]
    return [o for o in out if isinstance(o, mg.Tensor)]


def _float_outputs(out):
    return [o for o in _outputs(out) if o.is_floating_point()]


@pytest.mark.parametrize("spec", SPECS, ids=lambda s: s.name)
@settings(max_examples=4)
@given(data=st.data())
def test_every_op_forward_mode_matches_central_differences(spec, data):
    arrays, params = spec.draw(data)
    rng = np.random.default_rng(0)
    tangents = [rng.standard_normal(np.shape(a)) for a in arrays]
    with fwAD.dual_level():
        duals = [fwAD.make_dual(_f64(a), _f64(t)) for a, t in zip(arrays, tangents)]
        outs = _float_outputs(spec.fn(*duals, **params))
        got = [fwAD.unpack_dual(o).tangent for o in outs]
    eps = 1e-6

    def f(sign):
        shifted = [_f64(a + sign * eps * t) for a, t in zip(arrays, tangents)]
        return [o.numpy() for o in _float_outputs(spec.fn(*shifted, **params))]

    numeric = [(p - m) / (2 * eps) for p, m in zip(f(1), f(-1))]
    for tangent, ref, out in zip(got, numeric, outs):
        assert tangent is not None and tangent.shape == out.shape
        assert_close(tangent, ref, rtol=1e-3, atol=1e-5)


def test_forward_over_reverse_and_in_a_module():
    """Hessian-vector products: forward mode through a gradient computed by reverse mode;
    and a network's output tangent equals mg.func.jvp's."""
    x0, v = _f64([1.0, -2.0, 0.5]), _f64([0.3, 1.0, -1.0])
    f = lambda x: (x.sin() * x * x).sum()  # noqa: E731
    with fwAD.dual_level():
        x = fwAD.make_dual(x0.requires_grad_(), v)
        (g,) = mg.autograd.grad(f(x), x, create_graph=True)
        hvp = fwAD.unpack_dual(g).tangent
    assert_close(hvp, mg.autograd.functional.hvp(f, x0.detach(), v)[1], atol=1e-10)
    mg.manual_seed(0)
    net = mg.nn.Sequential(mg.nn.Linear(3, 5), mg.nn.Tanh(), mg.nn.Linear(5, 2)).double()
    with fwAD.dual_level():
        out = net(fwAD.make_dual(x0.detach().reshape(1, 3), v.reshape(1, 3)))
        tangent = fwAD.unpack_dual(out).tangent
    _, ref = mg.func.jvp(net, (x0.detach().reshape(1, 3),), (v.reshape(1, 3),))
    assert_close(tangent, ref, atol=1e-12)


def test_level_rules_and_errors():
    with pytest.raises(RuntimeError, match="inside forward_ad.dual_level"):
        fwAD.make_dual(_f64([1.0]), _f64([1.0]))
    with fwAD.dual_level():
        with pytest.raises(RuntimeError, match="nested dual levels"):
            fwAD.enter_dual_level()
        with pytest.raises(ValueError, match="tangent's shape"):
            fwAD.make_dual(_f64([1.0, 2.0]), _f64([1.0]))
        with pytest.raises(TypeError, match="floating point"):
            fwAD.make_dual(mg.tensor([1, 2]), mg.tensor([1, 2]))
    level = fwAD.enter_dual_level()
    fwAD.exit_dual_level(level=level)
    with pytest.raises(RuntimeError, match="not the current one"):
        fwAD.exit_dual_level(level=level + 5)


def test_forward_ad_matches_pytorch():
    torch = pytest.importorskip("torch")
    import torch.autograd.forward_ad as tfwAD

    rng = np.random.default_rng(1)
    a, t, w = rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), rng.standard_normal((4, 2))

    def f(lib, x, weight):
        h = (x @ weight).tanh()
        return (h.softmax(dim=1) * h).sum(1).log1p() if lib is torch else \
            (h.softmax(1) * h).sum(1).log1p()

    with fwAD.dual_level():
        mine = fwAD.unpack_dual(f(mg, fwAD.make_dual(_f64(a), _f64(t)), _f64(w))).tangent
    with tfwAD.dual_level():
        x = tfwAD.make_dual(torch.tensor(a), torch.tensor(t))
        theirs = tfwAD.unpack_dual(f(torch, x, torch.tensor(w))).tangent
    np.testing.assert_allclose(mine.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-12)


def test_gradcheck_checks_forward_mode_too():
    x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    report = mg.gradcheck_report(lambda t: (t.tanh() * t).sum(1), [x], check_forward_ad=True)
    assert report.passed
    assert [(e.output_name, e.n_checked) for e in report.entries] == [("0", 12),
                                                                      ("forward AD", 8)]

    class BadSquare(mg.autograd.Function):          # minigrad's own kind of op: its
        def forward(self, xp, a):                   # forward-mode rule comes from its
            return a * a                            # backward, so both are wrong

        def backward(self, gy):
            return gy * self.inputs[0]

    report = mg.gradcheck_report(lambda t: BadSquare()(t), [x], check_forward_ad=True)
    assert [e.passed for e in report.entries] == [False, False]
    assert "forward AD" in str(report)


def test_custom_function_tangents_come_from_its_forward():
    class Square(mg.autograd.Function):
        @staticmethod
        def forward(ctx, t):
            ctx.save_for_backward(t)
            return t * t, t.sum()

        @staticmethod
        def backward(ctx, g, g_sum):
            (t,) = ctx.saved_tensors
            return 2 * g * t + g_sum

    x = _f64([1.0, 2.0]).requires_grad_()
    for grad_mode in (True, False):
        with mg.set_grad_enabled(grad_mode), fwAD.dual_level():
            a, b = Square.apply(fwAD.make_dual(x, _f64([1.0, -1.0])))
            assert fwAD.unpack_dual(a).tangent.tolist() == [2.0, -4.0]
            assert fwAD.unpack_dual(b).tangent.item() == 0.0
