"""The engine: accumulation, broadcasting reduction, retain_graph, freeing, grad mode,
detach, autograd.grad on leaves and intermediates, higher-order gradients, memory."""
import gc
import weakref

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd.function import ADDED, Function
from minigrad.testing import assert_close

from .test_custom_function import Exp


def test_readme_numbers():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    (x * x).sum().backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_gradients_accumulate_across_backward_calls(device):
    x = mg.tensor([1.0, -2.0], device=device, requires_grad=True)
    (3 * x).sum().backward()
    (x * x).sum().backward()
    assert_close(x.grad, np.array([3 + 2.0, 3 - 4.0]))


def test_diamond_graph_sums_both_paths():
    x = mg.tensor(2.0, dtype=mg.float64, requires_grad=True)
    a = x * 3
    y = a * a + a.exp()  # a used twice
    y.backward()
    assert x.grad.item() == pytest.approx(3 * (2 * 6 + np.exp(6)))


def test_broadcast_gradient_is_summed_to_input_shape(device):
    a = mg.ones(3, 1, device=device, requires_grad=True)
    b = mg.ones(1, 4, device=device, requires_grad=True)
    (a * b * 2).sum().backward()
    assert a.grad.shape == (3, 1) and b.grad.shape == (1, 4)
    assert_close(a.grad, np.full((3, 1), 8.0))
    assert_close(b.grad, np.full((1, 4), 6.0))


def test_leaf_grads_do_not_alias():
    """Add's backward returns the same gradient object for both inputs; the leaves must
    still own separate arrays (an in-place clip of one must not change the other)."""
    a = mg.ones(3, requires_grad=True)
    b = mg.ones(3, requires_grad=True)
    (a + b).sum().backward()
    a.grad.data *= 0.5
    assert b.grad.tolist() == [1.0, 1.0, 1.0]


def test_second_backward_through_freed_graph_raises():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="retain_graph=True"):
        y.backward()


def test_retain_graph_allows_second_backward():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    y = (x.exp() * 2).sum()
    y.backward(retain_graph=True)
    y.backward()
    assert_close(x.grad, 4 * np.exp([1.0, 2.0]))


def test_backward_on_non_scalar_needs_gradient():
    x = mg.ones(2, 3, requires_grad=True)
    y = x * 2
    with pytest.raises(RuntimeError, match="only for a tensor with one element"):
        y.backward()
    y.backward(mg.ones(2, 3))
    assert_close(x.grad, np.full((2, 3), 2.0))


def test_backward_gradient_shape_checked():
    x = mg.ones(2, 3, requires_grad=True)
    with pytest.raises(ValueError, match=r"\(3,\).*\(2, 3\)"):
        (x * 2).backward(mg.ones(3))


def test_backward_without_graph_raises():
    x = mg.ones(2)
    with pytest.raises(RuntimeError, match="does not require grad"):
        x.sum().backward()


def test_no_grad_records_nothing():
    x = mg.ones(2, requires_grad=True)
    with mg.no_grad():
        y = x * 2
    assert not y.requires_grad and y.creator is None
    assert mg.is_grad_enabled()


def test_no_grad_as_decorator_and_enable_grad_inside():
    x = mg.ones(2, requires_grad=True)

    @mg.no_grad()
    def f():
        with mg.enable_grad():
            inner = x * 2
        return x * 2, inner

    outer, inner = f()
    assert not outer.requires_grad and inner.requires_grad


def test_set_grad_enabled_function_and_context():
    mg.set_grad_enabled(False)
    try:
        assert not mg.is_grad_enabled()
    finally:
        mg.set_grad_enabled(True)
    with mg.set_grad_enabled(False):
        assert not mg.is_grad_enabled()
    assert mg.is_grad_enabled()


def test_detach_cuts_the_graph():
    x = mg.ones(2, requires_grad=True)
    y = (x * 2).detach()
    assert not y.requires_grad and y.is_leaf
    z = (x * 3 + y).sum()
    z.backward()
    assert x.grad.tolist() == [3.0, 3.0]


def test_integer_tensors_cannot_require_grad():
    with pytest.raises(TypeError, match="floating-point"):
        mg.tensor([1, 2, 3], requires_grad=True)
    with pytest.raises(TypeError, match="int64"):
        mg.arange(3).requires_grad_()


def test_comparisons_and_casts_to_int_carry_no_gradient():
    x = mg.tensor([1.0, -1.0], requires_grad=True)
    assert not (x > 0).requires_grad
    assert not x.long().requires_grad


def test_cast_backward_returns_input_dtype():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    y = x.float() * 3
    assert y.dtype == mg.float32
    y.sum().backward()
    assert x.grad.dtype == mg.float64 and x.grad.tolist() == [3.0, 3.0]


def test_float16_and_float32_stay_in_their_dtype():
    for dt in (mg.float16, mg.float32):
        x = mg.randn(4, dtype=dt, requires_grad=True)
        y = (x * 2.0 + 1).tanh().sum()
        assert y.dtype == dt
        y.backward()
        assert x.grad.dtype == dt


def test_autograd_grad_returns_without_accumulating():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    y = (x**3).sum()
    (g,) = mg.autograd.grad(y, x)
    assert_close(g, 3 * np.array([1.0, 4.0]))
    assert x.grad is None


def test_autograd_grad_wrt_intermediate():
    x = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    h = x * 2
    y = (h * h).sum()
    gh, gx = mg.autograd.grad(y, (h, x))
    assert_close(gh, 2 * np.array([2.0, 4.0]))
    assert_close(gx, 8 * np.array([1.0, 2.0]))


def test_autograd_grad_unused_input():
    x = mg.ones(2, requires_grad=True)
    z = mg.ones(2, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="allow_unused"):
        mg.autograd.grad(y, (x, z), retain_graph=True)
    gx, gz = mg.autograd.grad(y, (x, z), allow_unused=True)
    assert gz is None and gx.tolist() == [2.0, 2.0]


def test_backward_with_inputs_fills_only_those_grads(device):
    """e = Σ 3·(2a)·b: backward(inputs=[a, c]) with c = 2a gives de/da = 6b, de/dc = 3b,
    leaves b alone, and accumulates on a second call, as PyTorch does."""
    a = mg.tensor([1.0, 2.0], dtype=mg.float64, device=device, requires_grad=True)
    b = mg.tensor([0.5, -1.0], dtype=mg.float64, device=device, requires_grad=True)
    c = a * 2
    e = (c * 3 * b).sum()
    e.backward(inputs=[a, c], retain_graph=True)
    assert_close(a.grad, 6 * np.array([0.5, -1.0]))
    assert_close(c.grad, 3 * np.array([0.5, -1.0]))
    assert b.grad is None
    e.backward(inputs=a)                                     # one tensor, not a list
    assert_close(a.grad, 12 * np.array([0.5, -1.0]))
    unused = mg.ones(2, device=device, requires_grad=True)
    (a * 2).sum().backward(inputs=[unused])
    assert unused.grad is None


def test_backward_with_bad_inputs_is_named():
    y = (mg.ones(2, requires_grad=True) * 2).sum()
    with pytest.raises(RuntimeError, match="inputs= is empty"):
        y.backward(inputs=[], retain_graph=True)
    with pytest.raises(RuntimeError, match="must require grad"):
        y.backward(inputs=[mg.ones(2)])


def test_second_derivative_of_cubic():
    x = mg.tensor(1.5, dtype=mg.float64, requires_grad=True)
    y = x**3
    (g,) = mg.autograd.grad(y, x, create_graph=True)
    assert g.requires_grad
    (h,) = mg.autograd.grad(g, x)
    assert h.item() == pytest.approx(6 * 1.5)


def test_third_derivative_through_saved_outputs():
    """tanh saves its output; the rebuilt output tensor keeps the graph, so the third
    derivative is exact: d³/dx³ tanh = −2 sech²(x)(1 − 3 tanh²(x))."""
    x = mg.tensor(0.7, dtype=mg.float64, requires_grad=True)
    y = x.tanh()
    (g1,) = mg.autograd.grad(y, x, create_graph=True)
    (g2,) = mg.autograd.grad(g1, x, create_graph=True)
    (g3,) = mg.autograd.grad(g2, x)
    t = np.tanh(0.7)
    assert g3.item() == pytest.approx(-2 * (1 - t * t) * (1 - 3 * t * t), rel=1e-12)


def test_hvp_of_quadratic_form():
    rng = np.random.default_rng(0)
    M = rng.standard_normal((5, 5))
    A = mg.tensor(M, dtype=mg.float64)
    x0 = mg.tensor(rng.standard_normal(5), dtype=mg.float64)
    v = mg.tensor(rng.standard_normal(5), dtype=mg.float64)
    value, hv = mg.autograd.functional.hvp(lambda x: x @ (A @ x), x0, v)
    assert value.item() == pytest.approx(x0.numpy() @ M @ x0.numpy())
    assert_close(hv, (M + M.T) @ v.numpy(), rtol=1e-12)


def test_hessian_of_logsumexp():
    """H = diag(p) − p pᵀ with p = softmax(x)."""
    x0 = mg.tensor([0.1, -0.4, 1.2], dtype=mg.float64)
    H = mg.autograd.functional.hessian(lambda x: x.logsumexp(0), x0)
    p = np.exp(x0.numpy()) / np.exp(x0.numpy()).sum()
    assert_close(H, np.diag(p) - np.outer(p, p), rtol=1e-12, atol=1e-15)


def test_jacobian_of_matrix_vector_product():
    rng = np.random.default_rng(1)
    M = rng.standard_normal((3, 4))
    J = mg.autograd.functional.jacobian(lambda x: mg.tensor(M) @ x.float() * 1.0,
                                        mg.tensor(rng.standard_normal(4)))
    assert J.shape == (3, 4)
    assert_close(J, M, rtol=1e-6)


def test_jvp_equals_jacobian_times_v():
    rng = np.random.default_rng(2)
    x0 = mg.tensor(rng.standard_normal(4), dtype=mg.float64)
    v = mg.tensor(rng.standard_normal(4), dtype=mg.float64)

    def f(x):
        return (x * x).cumsum(0).sin()

    _, jv = mg.autograd.functional.jvp(f, x0, v)
    J = mg.autograd.functional.jacobian(f, x0)
    assert_close(jv, J.numpy() @ v.numpy(), rtol=1e-12)


def test_deep_graph_does_not_overflow_the_stack():
    x = mg.tensor(1.0, dtype=mg.float64, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    y.backward()
    assert x.grad.item() == 1.0


def test_graph_is_released_after_backward():
    x = mg.ones(3, requires_grad=True)
    h = x.exp()
    ref = weakref.ref(h.creator)
    y = (h * 2).sum()
    y.backward()
    assert h.creator.inputs is None and ref() is not None
    del h, y
    gc.collect()


def _live_functions():
    # issubclass(type(o)) rather than isinstance: dead weakref proxies (Numba leaves some)
    # raise ReferenceError on isinstance.
    return sum(issubclass(type(o), Function) for o in gc.get_objects())


def test_training_loop_memory_does_not_grow():
    """2,000 steps of a small MLP written with raw ops: the number of live graph nodes
    stays flat (outputs hold no reference cycles, backward frees the graph)."""
    mg.manual_seed(0)
    W1 = mg.randn(8, 16, requires_grad=True)
    W2 = mg.randn(16, 3, requires_grad=True)
    X = mg.randn(32, 8)
    y = mg.randint(0, 3, (32,))
    counts = []
    for step in range(2000):
        logits = (X @ W1).relu() @ W2
        loss = -logits.log_softmax(1)[mg.arange(32), y].mean()
        loss.backward()
        with mg.no_grad():
            for W in (W1, W2):
                W.data -= 0.01 * W.grad.data
                W.grad = None
        if step in (100, 1999):
            gc.collect()
            counts.append(_live_functions())
    assert counts[1] <= counts[0]


def test_gradient_can_be_assigned():
    p = mg.ones(2, requires_grad=True)
    p.grad = mg.tensor([0.5, 0.5])
    assert p.grad.tolist() == [0.5, 0.5]


def test_retain_grad_keeps_an_intermediate_gradient():
    """y = 2x, z = Σ y² + Σ 3y: dz/dy = 2y + 3 by hand, kept in y.grad; the leaf's as usual;
    a second backward accumulates, as for a leaf; the root keeps its seed."""
    x = mg.tensor([1.0, -2.0], dtype=mg.float64, requires_grad=True)
    y = x * 2
    assert y.retain_grad() is None and y.retains_grad and not x.retains_grad
    z = (y * y).sum() + (y * 3).sum()
    z.retain_grad()
    z.backward(retain_graph=True)
    assert y.grad.tolist() == [2 * 2.0 + 3, 2 * -4.0 + 3]         # reached from two paths
    assert x.grad.tolist() == [2 * 7.0, 2 * -5.0]
    assert z.grad.tolist() == 1.0
    z.backward()
    assert y.grad.tolist() == [14.0, -10.0]
    w = x * 1.0
    assert w.grad is None and not w.retains_grad                  # not asked: not kept
    x.retain_grad()                                               # a leaf: nothing to do
    assert not x.retains_grad


def test_retain_grad_with_create_graph_and_errors():
    x = mg.tensor([3.0], dtype=mg.float64, requires_grad=True)
    y = x * x
    y.retain_grad()
    (y * y).sum().backward(create_graph=True)                     # dz/dy = 2y = 18
    assert y.grad.tolist() == [18.0] and y.grad.requires_grad
    with pytest.raises(RuntimeError, match="does not require grad"):
        mg.tensor([1.0]).retain_grad()
    dead = x * 5
    dead.retain_grad()
    out = dead.sum()
    del dead
    gc.collect()
    before = x.grad.tolist()[0]
    out.backward()                                                # the kept tensor is gone
    assert x.grad.tolist()[0] == before + 5.0


def test_slices_in_a_loop_accumulate_in_one_array(monkeypatch):
    """Σᵢ (i+1)·x[i] read slice by slice (a recurrent layer's time steps): the gradient is
    (i+1) in row i, accumulated in one array (no zero array per slice, so the backward is
    linear in the number of slices); the same through a non-leaf, through autograd.grad,
    and with create_graph (differentiable, through IndexAdd) it is the same too."""
    from minigrad.ops import shape

    calls = []
    forward = shape.IndexAdd.forward
    monkeypatch.setattr(shape.IndexAdd, "forward",
                        lambda self, xp, g: calls.append(1) or forward(self, xp, g))
    want = np.repeat(np.arange(1.0, 7.0)[:, None], 3, axis=1)

    def loss(t):
        return sum((t[i] * (i + 1)).sum() for i in range(6))

    x = mg.tensor(np.ones((6, 3)), dtype=mg.float64, requires_grad=True)
    loss(x).backward()
    assert x.grad.tolist() == want.tolist() and not calls
    y = x * 1.0                                               # a non-leaf, sliced
    loss(y).backward()
    assert x.grad.tolist() == (2 * want).tolist() and not calls
    (g,) = mg.autograd.grad(loss(x * 1.0), [x])
    assert g.tolist() == want.tolist() and not calls
    (g,) = mg.autograd.grad(loss(x), [x], create_graph=True)
    assert g.tolist() == want.tolist() and calls              # the graph kind: IndexAdd
    assert mg.gradgradcheck(lambda t: loss(t * t), (x,))




class _AddsIntoLeafGrads(Function):
    """y = a·b with b's gradient added into b.grad by the backward itself when offered."""

    adds_to_leaf_grads = True

    def forward(self, xp, a, b):
        return a * b

    def backward(self, gy):
        a, b = self.inputs
        offered.append(self.leaf_grads)
        gb = gy * a
        dest = self.offered_grad(1)
        if dest is not None:
            dest += gb.data
            gb = ADDED
        return gy * b, gb


offered = []


def test_a_backward_may_add_a_leaf_gradient_into_its_grad():
    """leaf_grads offers b.grad's array only when the sweep would add into it in place:
    b a leaf with a dense .grad, no hooks, no create_graph, no autograd.grad capture; the
    result equals the plain accumulation."""
    a = mg.tensor([1.0, 2.0], requires_grad=True)
    b = mg.tensor([3.0, 4.0], requires_grad=True)
    offered.clear()
    _AddsIntoLeafGrads()(a, b).sum().backward()  # b.grad is None: nothing offered
    assert offered == [None]
    grad_a, grad_b = a.grad.data, b.grad.data
    _AddsIntoLeafGrads()(a, b).sum().backward()  # both offered; b's added in place
    assert offered[1][0] is grad_a and offered[1][1] is grad_b
    assert b.grad.data is grad_b and b.grad.tolist() == [2.0, 4.0]
    assert a.grad.tolist() == [6.0, 8.0]
    # a leaf used twice in one Function: both contributions land
    _AddsIntoLeafGrads()(b, b).sum().backward()
    assert b.grad.tolist() == [2.0 + 6.0, 4.0 + 8.0]
    # a hook on b, create_graph, autograd.grad: nothing offered, the same numbers
    for run in ("hook", "create_graph", "grad"):
        offered.clear()
        c = mg.tensor([3.0, 4.0], requires_grad=True)
        c.grad = mg.tensor([1.0, 1.0])
        y = _AddsIntoLeafGrads()(a, c).sum()
        if run == "hook":
            seen = []
            c.register_hook(lambda g, seen=seen: seen.append(g.tolist()))
            y.backward()
            assert seen == [[1.0, 2.0]]
        elif run == "create_graph":
            y.backward(create_graph=True)
        else:
            (g,) = mg.autograd.grad(y, [c])
            assert g.tolist() == [1.0, 2.0] and c.grad.tolist() == [1.0, 1.0]
            assert offered == [None]
            continue
        assert offered[0] is None or offered[0][1] is None, run  # c's .grad not offered
        assert c.grad.tolist() == [2.0, 3.0], run


@pytest.mark.parametrize("half", ["float16", "float32"])
def test_a_cast_adds_its_gradient_into_the_wider_leaf_grad(half):
    """Cast's VJP into a leaf with a .grad of a wider dtype (a float32 master weight under
    autocast) adds the narrow gradient in place in one mixed add: the same numbers as
    widening first (exact), the same .grad array."""
    rng = np.random.default_rng(3)
    x = mg.tensor(rng.standard_normal(5), dtype=mg.float64 if half == "float32" else
                  mg.float32, requires_grad=True)
    gy = rng.standard_normal(5).astype(half)
    for step in range(3):
        x.to(dtype=getattr(mg, half)).backward(mg.tensor(gy))
        if step == 0:
            grad_array = x.grad.data
        assert x.grad.data is grad_array and x.grad.dtype == x.dtype
        want = (gy.astype(np.float64) * (step + 1)).astype(x.data.dtype)
        np.testing.assert_array_equal(x.grad.numpy(), want)


class _CountingExp(Exp):
    """test_custom_function's Exp, counting its backward calls."""
    calls = 0

    @staticmethod
    def backward(ctx, gy):
        _CountingExp.calls += 1
        return Exp.backward(ctx, gy)


def test_grad_of_an_intermediate_runs_and_frees_only_the_graph_after_it():
    # As PyTorch: autograd.grad(y, [h]) runs the backward of what lies between y and h,
    # nothing before h (it was computed in full and freed, so a later backward through h
    # failed), and leaves the graph before h to a later backward.
    x = mg.randn(4, dtype=mg.float64, requires_grad=True)
    _CountingExp.calls = 0
    h = _CountingExp.apply(x)
    seen = []
    x.register_hook(lambda g: seen.append(g))
    (gh,) = mg.autograd.grad((h * h).sum(), [h])
    np.testing.assert_allclose(gh.numpy(), 2 * h.detach().numpy())
    assert _CountingExp.calls == 0 and seen == []
    h.sum().backward()  # the graph before h is still there
    assert _CountingExp.calls == 1 and len(seen) == 1
    np.testing.assert_allclose(x.grad.numpy(), np.exp(x.detach().numpy()))


def test_grad_of_an_intermediate_and_of_a_leaf_before_it_sums_every_path():
    x = mg.randn(3, dtype=mg.float64, requires_grad=True)
    h = x.exp()
    y = (h * h).sum() + (x * 3).sum()
    gh, gx = mg.autograd.grad(y, [h, x])
    e = np.exp(x.detach().numpy())
    np.testing.assert_allclose(gh.numpy(), 2 * e)
    np.testing.assert_allclose(gx.numpy(), 2 * e * e + 3)  # through h and directly
    # a branch that leads to no wanted tensor is not run
    w = mg.randn(3, dtype=mg.float64, requires_grad=True)
    _CountingExp.calls = 0
    (gx2,) = mg.autograd.grad((x * 2).sum() + _CountingExp.apply(w).sum(), [x])
    np.testing.assert_allclose(gx2.numpy(), np.full(3, 2.0))
    assert _CountingExp.calls == 0 and w.grad is None


def test_grad_of_an_intermediate_whose_own_graph_was_freed():
    x = mg.randn(3, dtype=mg.float64, requires_grad=True)
    h = x.exp()
    h.sum().backward()  # frees the exp node
    (gh,) = mg.autograd.grad((h * 5).sum(), [h])  # needs nothing before h: PyTorch's answer
    np.testing.assert_allclose(gh.numpy(), np.full(3, 5.0))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        mg.autograd.grad((h * 5).sum(), [x])  # needs the freed node
    # a freed branch that leads to no wanted tensor raises too (PyTorch skips it: its
    # freed nodes keep their edges; the README lists this difference)
    w = mg.randn(3, dtype=mg.float64, requires_grad=True)
    z = w.sin()
    z.sum().backward()
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        mg.autograd.grad((x * 2).sum() + z.sum(), [x])
