"""minigrad.func: the transforms by hand, their compositions (second derivatives,
per-sample gradients, gradients through functional_call), errors, and torch.func as an
oracle when installed."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.func import (
    functional_call,
    grad,
    grad_and_value,
    hessian,
    jacfwd,
    jacrev,
    jvp,
    vjp,
    vmap,
)
from minigrad.testing import assert_close


def _t(a):
    return mg.tensor(np.asarray(a, dtype=np.float64))


def f(x):
    return (x.sin() * x).sum()


def test_grad_by_hand_and_composed():
    x = _t([0.5, 1.0, 2.0])
    want = np.sin(x.numpy()) + x.numpy() * np.cos(x.numpy())
    assert_close(grad(f)(x), want, rtol=1e-14)
    assert not x.requires_grad and x.grad is None             # the input is untouched
    g, v = grad_and_value(f)(x)
    assert v.item() == pytest.approx(float((np.sin(x.numpy()) * x.numpy()).sum()))
    # second and third derivatives of x³ at 2: 12, 6
    d2 = grad(grad(lambda t: t ** 3))
    assert d2(_t(2.0)).item() == pytest.approx(12.0)
    assert grad(grad(grad(lambda t: t ** 3)))(_t(2.0)).item() == pytest.approx(6.0)
    gx, gy = grad(lambda a, b: (a * b * b).sum(), argnums=(0, 1))(_t([1.0, 2.0]),
                                                                     _t([3.0, 4.0]))
    assert gx.tolist() == [9.0, 16.0] and gy.tolist() == [6.0, 16.0]
    gd = grad(lambda p: (p["w"] * p["b"]).sum())({"w": _t([1.0, 2.0]), "b": _t([5.0, 7.0])})
    assert gd["w"].tolist() == [5.0, 7.0] and gd["b"].tolist() == [1.0, 2.0]
    g, aux = grad(lambda t: ((t * t).sum(), t.mean()), has_aux=True)(_t([1.0, 3.0]))
    assert g.tolist() == [2.0, 6.0] and aux.item() == 2.0
    with pytest.raises(RuntimeError, match="must return a one-element tensor"):
        grad(lambda t: t * 2)(_t([1.0, 2.0]))
    with pytest.raises(ValueError, match="argnums 2 is out of range"):
        grad(f, argnums=2)(_t([1.0]))


def test_vjp_jvp_and_jacobians():
    x = _t([0.3, -1.2, 2.0])
    out, vjp_fn = vjp(lambda t: t * t.exp(), x)
    v = _t([1.0, -2.0, 0.5])
    J = np.diag((1 + x.numpy()) * np.exp(x.numpy()))
    assert_close(vjp_fn(v)[0], v.numpy() @ J, rtol=1e-14)
    out, jv = jvp(lambda t: t * t.exp(), (x,), (v,))
    assert_close(jv, J @ v.numpy(), rtol=1e-14)
    assert_close(jacrev(lambda t: t * t.exp())(x), J, rtol=1e-14)
    assert_close(jacfwd(lambda t: t * t.exp())(x), J, rtol=1e-14)
    A = _t(np.arange(6.0).reshape(2, 3))
    assert jacrev(lambda t: A @ t)(x).shape == (2, 3)
    assert_close(jacrev(lambda t: A @ t)(x), A.numpy())
    H = hessian(lambda t: (t ** 3).sum() + t[0] * t[1])(x)
    want = np.diag(6 * x.numpy())
    want[0, 1] = want[1, 0] = 1.0
    assert_close(H, want, rtol=1e-13)
    with pytest.raises(ValueError, match="cotangents"):
        vjp_fn(_t([1.0]))
    with pytest.raises(ValueError, match="one tangent per primal"):
        jvp(lambda t: t, (x,), (_t([1.0]),))


def test_vmap_and_per_sample_gradients():
    W = _t([[1.0, 2.0], [3.0, 4.0]])
    X = _t([[1.0, 0.0], [0.5, 2.0], [-1.0, 1.0]])
    assert_close(vmap(lambda w, x: w @ x, in_dims=(None, 0))(W, X), X.numpy() @ W.numpy().T)
    loss = lambda w, x: ((w @ x) ** 2).sum()                     # noqa: E731
    per_sample = vmap(grad(loss), in_dims=(None, 0))(W, X)
    want = np.stack([2 * np.outer(W.numpy() @ xi, xi) for xi in X.numpy()])
    assert_close(per_sample, want, rtol=1e-14)
    a, b = vmap(lambda t: (t.sum(), t * 2), out_dims=(0, 1))(X)
    assert a.shape == (3,) and b.shape == (2, 3)
    assert vmap(lambda t: t.sum(), in_dims=1)(X).tolist() == [0.5, 3.0]
    with pytest.raises(ValueError, match="mapped dims must have one size"):
        vmap(lambda s, t: s, in_dims=(0, 0))(X, _t([1.0, 2.0]))


def test_functional_call_and_a_maml_step():
    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(2, 3), nn.Tanh(), nn.Linear(3, 1)).double()
    params = {k: v.detach() for k, v in model.named_parameters()}
    x, y = _t([[1.0, 2.0], [0.5, -1.0]]), _t([[1.0], [0.0]])

    def loss(p, x, y):
        return ((functional_call(model, p, (x,)) - y) ** 2).mean()

    g = grad(loss)(params, x, y)
    model.zero_grad()
    ((model(x) - y) ** 2).mean().backward()
    for name, p in model.named_parameters():
        assert_close(g[name], p.grad.numpy(), rtol=1e-13)
    assert all(model.get_parameter(k) is not v for k, v in params.items())  # restored

    def adapted_loss(p):                      # one inner SGD step, differentiated through
        inner = grad(loss)(p, x, y)
        fast = {k: p[k] - 0.1 * inner[k] for k in p}
        return loss(fast, x, y)
    meta = grad(adapted_loss)(params)
    h = 1e-6
    k = "0.weight"
    bumped = dict(params)
    bumped[k] = params[k] + mg.tensor(np.eye(3, 2) * h)
    lowered = dict(params)
    lowered[k] = params[k] - mg.tensor(np.eye(3, 2) * h)
    numeric = (adapted_loss(bumped).item() - adapted_loss(lowered).item()) / (2 * h)
    assert float((meta[k] * mg.tensor(np.eye(3, 2))).sum()) == pytest.approx(numeric, rel=1e-6)
    with pytest.raises(KeyError, match="no parameter or buffer 'nope'"):
        functional_call(model, {"nope": _t([1.0])}, (x,))


@pytest.mark.filterwarnings("ignore::DeprecationWarning")  # torch.func imports torch.jit
def test_matches_torch_func():
    torch = pytest.importorskip("torch")
    tf = torch.func
    rng = np.random.default_rng(0)
    x = rng.standard_normal(4)
    A = rng.standard_normal((3, 4))

    def ours(t):
        return (mg.tensor(A) @ t.tanh()) ** 2

    def theirs(t):
        return (torch.tensor(A) @ t.tanh()) ** 2

    assert_close(jacrev(ours)(_t(x)), tf.jacrev(theirs)(torch.tensor(x)).numpy(), rtol=1e-13)
    assert_close(jacfwd(ours)(_t(x)), tf.jacfwd(theirs)(torch.tensor(x)).numpy(), rtol=1e-13)
    assert_close(hessian(lambda t: ours(t).sum())(_t(x)),
                 tf.hessian(lambda t: theirs(t).sum())(torch.tensor(x)).numpy(), rtol=1e-12)
    v = rng.standard_normal(4)
    assert_close(jvp(ours, (_t(x),), (_t(v),))[1],
                 tf.jvp(theirs, (torch.tensor(x),), (torch.tensor(v),))[1].numpy(), rtol=1e-13)
    X = rng.standard_normal((5, 4))
    per = vmap(grad(lambda t, w: (ours(t) * w).sum()), in_dims=(0, None))(_t(X), _t(A[0, :3]))
    tper = tf.vmap(tf.grad(lambda t, w: (theirs(t) * w).sum()), in_dims=(0, None))(
        torch.tensor(X), torch.tensor(A[0, :3]))
    assert_close(per, tper.numpy(), rtol=1e-13)
