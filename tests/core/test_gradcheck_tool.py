"""gradcheck as a product: it passes correct backwards, catches each planted wrong one
with a readable table and a hint, and refuses misuse."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd.function import Function


def x64(*shape, seed=0):
    rng = np.random.default_rng(seed)
    return mg.tensor(rng.uniform(0.5, 2.0, shape), dtype=mg.float64, requires_grad=True)


class WrongFactor(Function):
    """y = x²; backward forgets the 2."""

    def forward(self, xp, x):
        return x * x

    def backward(self, gy):
        return gy * self.inputs[0]


class WrongSign(Function):
    """y = sin x; backward returns −cos x."""

    def forward(self, xp, x):
        return xp.sin(x)

    def backward(self, gy):
        return -gy * self.inputs[0].cos()


class ZeroBackward(Function):
    """y = eˣ; backward returns zeros."""

    def forward(self, xp, x):
        return xp.exp(x)

    def backward(self, gy):
        return gy * 0


class BroadcastMean(Function):
    """y = x + b with b of shape (1, n); backward for b averages instead of summing, as
    a hand-written reduction over the broadcast rows would when it divides by mistake."""

    def forward(self, xp, x, b):
        return x + b

    def backward(self, gy):
        rows = gy.shape[0]
        return gy, (gy * (1.0 / rows)).sum(0, keepdim=True)


class ShuffledBackward(Function):
    """y = 2x; backward returns the gradient of the *reversed* positions (caught only
    with a non-uniform cotangent: with v = 1 every position looks the same)."""

    def forward(self, xp, x):
        return 2 * x

    def backward(self, gy):
        return gy.flip(0) * 2


class WrongSecondDerivative(Function):
    """y = x³; backward 3x² written with a raw array, so the second derivative is lost."""

    def forward(self, xp, x):
        return x**3

    def backward(self, gy):
        x = self.inputs[0]
        return gy * mg.tensor(3 * x.data**2)


def test_correct_ops_pass():
    x = x64(3, 4)
    assert mg.gradcheck(lambda x: (x.exp() * x.sin()).sum(1), (x,))


@pytest.mark.parametrize("op, hint", [
    (WrongFactor, "constant factor 0.5"),
    (WrongSign, "wrong sign"),
    (ZeroBackward, "analytic gradient is zero"),
])
def test_planted_unary_bugs_are_caught_with_hint(op, hint):
    x = x64(3, 2)
    with pytest.raises(mg.GradcheckError) as e:
        mg.gradcheck(lambda x: op()(x), (x,))
    text = str(e.value)
    for column in ("input", "index", "analytic", "numeric", "abs error", "rel error"):
        assert column in text
    assert hint in text


def test_missing_broadcast_reduction_is_caught():
    x, b = x64(4, 3), x64(1, 3, seed=1)
    with pytest.raises(mg.GradcheckError) as e:
        mg.gradcheck(lambda x, b: BroadcastMean()(x, b), (x, b))
    text = str(e.value)
    assert "factor 0.25" in text and "broadcast" in text
    # the table of worst elements (before the hint) names input 1 (b), not input 0 (x)
    worst = text.split("\nhint")[0].splitlines()[3:]
    rows = [line.split() for line in worst if line.strip()[:1].isdigit()]
    assert rows and all(r[0] == "1" for r in rows)


def test_position_mixups_are_caught_thanks_to_random_cotangent():
    x = x64(5)
    with pytest.raises(mg.GradcheckError):
        mg.gradcheck(lambda x: ShuffledBackward()(x), (x,))


def test_gradgradcheck_catches_a_raw_array_in_backward():
    x = x64(4)
    assert mg.gradcheck(lambda x: WrongSecondDerivative()(x), (x,))
    with pytest.raises(mg.GradcheckError):
        mg.gradgradcheck(lambda x: WrongSecondDerivative()(x), (x,))
    assert mg.gradgradcheck(lambda x: x**3, (x,))


def test_raise_exception_false_returns_false():
    x = x64(3)
    assert mg.gradcheck(lambda x: WrongFactor()(x), (x,), raise_exception=False) is False


def test_float32_inputs_are_refused_with_advice():
    x = mg.ones(3, requires_grad=True)
    with pytest.raises(TypeError, match=r"float64.*x.double\(\)"):
        mg.gradcheck(lambda x: x * 2, (x,))


def test_non_deterministic_function_is_reported():
    x = x64(3)
    with pytest.raises(mg.GradcheckError, match="not deterministic"):
        mg.gradcheck(lambda x: x * mg.rand(3, dtype=mg.float64), (x,))


def test_nondet_tol_allows_reordered_sums_only():
    """A sum whose order changes between calls (as atomic adds on a GPU) differs in the last
    bits: refused by default, accepted within nondet_tol, and larger noise still refused."""
    x = x64(3)
    calls = [0]

    def wobbly(scale):
        def f(x):
            calls[0] += 1
            return x * 2 + scale * (calls[0] % 2)  # two evaluations differ by `scale`
        return f

    with pytest.raises(mg.GradcheckError, match="differ by .*nondet_tol"):
        mg.gradcheck(wobbly(1e-14), (x,))
    assert mg.gradcheck(wobbly(1e-14), (x,), nondet_tol=1e-12, eps=1e-3)
    assert mg.gradgradcheck(lambda x: wobbly(1e-14)(x).sum() * x.sum(), (x,),
                            nondet_tol=1e-12)
    with pytest.raises(mg.GradcheckError, match="not deterministic"):
        mg.gradcheck(wobbly(1e-6), (x,), nondet_tol=1e-12)
    with pytest.raises(ValueError, match="nondet_tol must be >= 0"):
        mg.gradcheck(lambda x: x, (x,), nondet_tol=-1.0)


def test_directional_mode_for_large_inputs():
    x = x64(80, 80)
    assert mg.gradcheck(lambda x: (x @ x).tanh(), (x,), mode="directional")
    with pytest.raises(mg.GradcheckError, match="directional derivatives disagree"):
        mg.gradcheck(lambda x: WrongFactor()(x), (x,), mode="directional")


def test_multiple_outputs_and_inputs_without_grad():
    x, c = x64(3), mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64)
    assert mg.gradcheck(lambda x, c: (x * c, x.exp()), (x, c))


def test_inputs_are_restored_after_check():
    x = x64(2, 2)
    before = x.numpy().copy()
    mg.gradcheck(lambda x: x.sin(), (x,))
    assert np.array_equal(before, x.numpy())


class ConstantTerm(Function):
    """y = 2x; backward adds a term that does not scale with gy."""

    def forward(self, xp, x):
        return 2 * x

    def backward(self, gy):
        return gy * 2 + 1


def test_check_undefined_grad_names_a_term_that_ignores_the_output_gradient():
    x = x64(3)
    with pytest.raises(mg.GradcheckError, match="check_undefined_grad: a zero output "
                                                "gradient gives a nonzero .* input 0"):
        mg.gradcheck(lambda t: ConstantTerm()(t), (x,))
    # without that check the comparison with central differences still catches it
    with pytest.raises(mg.GradcheckError, match="disagree"):
        mg.gradcheck(lambda t: ConstantTerm()(t), (x,), check_undefined_grad=False)
    assert mg.gradgradcheck(lambda t: (t * t.sin()).sum(), (x,), check_undefined_grad=True)


def test_pytorch_options_fast_mode_and_forward_only():
    x = x64(50, 50)
    report = mg.gradcheck_report(lambda t: t.tanh(), (x,), fast_mode=True)
    assert report and report.mode == "directional"
    with pytest.raises(ValueError, match="fast_mode=True checks random directions"):
        mg.gradcheck(lambda t: t.tanh(), (x,), fast_mode=True, mode="full")
    small = x64(3)
    forward_only = mg.gradcheck_report(lambda t: t.sin(), (small,), check_forward_ad=True,
                                       check_backward_ad=False)
    assert forward_only and [e.output_name for e in forward_only.entries] == ["forward AD"]
    with pytest.raises(ValueError, match="nothing to check"):
        mg.gradcheck(lambda t: t.sin(), (small,), check_backward_ad=False)


def test_check_grad_dtypes_holds_because_the_engine_casts_gradients():
    class Float32Grad(Function):  # a backward that returns float32 for a float64 input
        def forward(self, xp, x):
            return x * 3

        def backward(self, gy):
            return (gy * 3).to(dtype=mg.float32)

    x = x64(4)
    # the engine casts a gradient to its input's dtype (as PyTorch's), so the check holds;
    # the float32 rounding stays within the tolerances here
    assert mg.gradcheck(lambda t: Float32Grad()(t), (x,), check_grad_dtypes=True)
    assert mg.autograd.grad(Float32Grad()(x).sum(), [x])[0].dtype == mg.float64


@pytest.mark.parametrize("kwargs, match", [
    ({"check_batched_grad": True}, "minigrad's vmap runs the function per sample"),
    ({"masked": True}, "masked=True .* is not supported"),
    ({"fast_mode": 1}, "fast_mode must be a bool"),
])
def test_pytorch_options_minigrad_cannot_honour_are_refused(kwargs, match):
    with pytest.raises((ValueError, TypeError), match=match):
        mg.gradcheck(lambda t: t.sin(), (x64(3),), **kwargs)
    with pytest.raises((ValueError, TypeError), match=match):
        mg.gradgradcheck(lambda t: t.sin(), (x64(3),), **kwargs)
    with pytest.raises(ValueError, match="gen_non_contig_grad_outputs=True is not supported"):
        mg.gradgradcheck(lambda t: t.sin(), (x64(3),), gen_non_contig_grad_outputs=True)


def test_gradcheck_takes_every_keyword_of_pytorchs():
    torch = pytest.importorskip("torch")
    import inspect

    for mine, theirs in ((mg.gradcheck, torch.autograd.gradcheck),
                         (mg.gradgradcheck, torch.autograd.gradgradcheck)):
        names = set(inspect.signature(theirs).parameters) - {"func"}
        assert names <= set(inspect.signature(mine).parameters), \
            names - set(inspect.signature(mine).parameters)
    x = x64(3)
    defaults = {k: v.default for k, v in
                inspect.signature(torch.autograd.gradcheck).parameters.items()
                if v.default is not inspect.Parameter.empty}
    assert mg.gradcheck(lambda t: t.sin() * t, (x,), **defaults)  # PyTorch's call as is
