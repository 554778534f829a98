"""The gamma-function family (lgamma, digamma, polygamma, mvlgamma) and the
minigrad.special namespace: values by hand and against SciPy, poles, dtypes, gradients to
second order, errors, and torch.special as an oracle when installed."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import assert_close


def _t(values, device="cpu", dtype=mg.float64, grad=False):
    return mg.tensor(np.asarray(values, dtype=np.float64), dtype=dtype, device=device,
                     requires_grad=grad)


def test_values_by_hand(device):
    euler = 0.5772156649015329
    x = _t([1.0, 2.0, 5.0, 0.5, -0.5], device)
    assert_close(mg.lgamma(x), [0.0, 0.0, math.log(24), 0.5 * math.log(math.pi),
                                math.log(2 * math.sqrt(math.pi))], rtol=1e-15, atol=1e-15)
    assert mg.lgamma(x).tolist()[:2] == [0.0, 0.0]                  # Γ(1) = Γ(2) = 1
    assert_close(mg.digamma(_t([1.0, 2.0, 0.5], device)),
                 [-euler, 1 - euler, -euler - 2 * math.log(2)], rtol=1e-14)
    assert_close(mg.polygamma(1, _t([1.0, 0.5], device)), [math.pi ** 2 / 6,
                                                           math.pi ** 2 / 2], rtol=1e-14)
    assert_close(mg.polygamma(2, _t([1.0], device)), [-2 * 1.2020569031595942], rtol=1e-14)
    assert_close(mg.mvlgamma(_t([2.5], device), 3),
                 [3 * math.log(math.pi) / 2 + sum(math.lgamma(2.5 - j / 2) for j in range(3))],
                 rtol=1e-14)


def test_poles_dtypes_and_errors(device):
    poles = _t([0.0, -1.0, -3.0], device)
    assert mg.lgamma(poles).tolist() == [math.inf] * 3
    digamma = mg.digamma(poles).tolist()   # ψ(±0) = ∓∞ (PyTorch, SciPy); no limit below
    assert digamma[0] == -math.inf and all(math.isnan(v) for v in digamma[1:])
    assert mg.polygamma(1, poles).tolist() == [math.inf] * 3
    assert all(math.isnan(v) for v in mg.polygamma(2, poles).tolist())
    assert mg.lgamma(mg.tensor([3], device=device)).dtype == mg.float32   # ints: float32
    assert mg.lgamma(_t([3.0], device, mg.float32)).dtype == mg.float32
    assert mg.polygamma(0, _t([2.0], device)).item() == mg.digamma(_t([2.0], device)).item()
    with pytest.raises(ValueError, match="polygamma: n must be a non-negative int"):
        mg.polygamma(-1, _t([1.0], device))
    with pytest.raises(ValueError, match=r"greater than \(p-1\)/2 = 1.0"):
        mg.mvlgamma(_t([0.9], device), 3)


def test_against_scipy_over_wide_ranges():
    sp = pytest.importorskip("scipy.special")
    y = np.array([-40.0, -5.0, 0.0, 6.0])
    assert_close(mg.special.log_ndtr(_t(y)), sp.log_ndtr(y), rtol=1e-13)
    p = np.array([0.025, 0.5, 0.999])
    assert_close(mg.special.ndtri(_t(p)), sp.ndtri(p), rtol=1e-13)
    x = np.concatenate([np.linspace(-9.7, -0.05, 400), np.linspace(1e-6, 3, 400),
                        np.geomspace(3, 1e6, 400)])
    x = x[np.abs(x - np.round(x)) > 1e-6]
    t = _t(x)
    err = lambda got, want: np.max(np.abs(got - want) / np.maximum(1, np.abs(want)))  # noqa
    assert err(mg.lgamma(t).cpu().numpy(), sp.gammaln(x)) < 1e-14
    assert err(mg.digamma(t).cpu().numpy(), sp.digamma(x)) < 5e-13
    for n in (1, 2, 3, 6):
        want = sp.polygamma(n, x)
        assert np.max(np.abs(mg.polygamma(n, t).cpu().numpy() - want) / np.abs(want)) < 5e-13


def test_gradients_to_second_order(device):
    x = _t([0.3, 1.7, 4.2, -1.4, -2.6], device, grad=True)
    for f in (lambda t: t.lgamma(), lambda t: t.digamma(), lambda t: t.polygamma(2),
              lambda t: mg.mvlgamma(t * t + 1.0, 2)):
        assert mg.gradcheck(f, (x,))
        assert mg.gradgradcheck(f, (x,))
    (g,) = mg.autograd.grad(x.lgamma().sum(), x)
    assert_close(g, mg.digamma(x.detach()).cpu().numpy(), rtol=1e-15)       # d log Γ = ψ


def test_special_namespace(device):
    S = mg.special
    x = _t([-3.0, 0.0, 1.96], device)
    phi = [0.5 * math.erfc(3 / math.sqrt(2)), 0.5, 0.5 * math.erfc(-1.96 / math.sqrt(2))]
    assert_close(S.ndtr(x), phi, rtol=1e-14)
    # log Φ(−40) by its asymptotic series, log Φ(−5) from erfc, log Φ(6) = log1p(−Φ(−6))
    series = 1 - 1 / 1600 + 3 / 1600 ** 2 - 15 / 1600 ** 3
    want = [-800 - math.log(40 * math.sqrt(2 * math.pi)) + math.log(series),
            math.log(0.5 * math.erfc(5 / math.sqrt(2))), math.log(0.5),
            math.log1p(-0.5 * math.erfc(6 / math.sqrt(2)))]
    assert_close(S.log_ndtr(_t([-40.0, -5.0, 0.0, 6.0], device)), want, rtol=1e-13)
    assert_close(S.ndtri(_t([0.025, 0.5, 0.975], device)), [-1.959963984540054, 0.0,
                                                            1.959963984540054], atol=1e-13)
    assert S.entr(_t([0.0, -1.0, 1.0], device)).tolist() == [0.0, -math.inf, -0.0]
    # its gradient −(1 + log x) everywhere, as PyTorch's: +∞ at 0 (the limit from the
    # right), NaN below 0, −∞ at +∞, and e.g. −(1 + log ¼) = 2 log 2 − 1
    e = _t([0.0, -1.0, math.inf, 0.25, 1.0], device, grad=True)
    S.entr(e).sum().backward()
    got = e.grad.tolist()
    assert got[0] == math.inf and math.isnan(got[1]) and got[2] == -math.inf
    assert got[3] == pytest.approx(2 * math.log(2) - 1, rel=1e-15) and got[4] == -1.0
    assert_close(S.entr(_t([0.25], device)), [-0.25 * math.log(0.25)], rtol=1e-15)
    assert_close(S.xlog1py(_t([0.0, 2.0, 3.0], device), _t([-1.0, 1e-10, 1.0], device)),
                 [0.0, 2 * math.log1p(1e-10), 3 * math.log(2)], rtol=1e-14)
    assert S.gammaln is mg.lgamma and S.psi is mg.digamma and S.multigammaln is mg.mvlgamma
    assert_close(S.expit(_t([0.0], device)), [0.5])
    y = _t([-6.0, -0.3, 2.5], device, grad=True)
    for f in (S.ndtr, S.log_ndtr, S.entr):
        assert mg.gradcheck(lambda t, f=f: f(t.abs() if f is S.entr else t), (y,))
    z = _t([0.0, 0.0, 0.5], device, grad=True)
    out = S.xlog1py(z, _t([-1.0, 0.5, 0.5], device))
    assert out.tolist() == [0.0, 0.0, 0.5 * math.log1p(0.5)]
    out.sum().backward()
    assert z.grad.tolist() == [0.0, math.log1p(0.5), math.log1p(0.5)]   # PyTorch's rule


def test_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    x = np.concatenate([rng.uniform(-4.5, 8, 60), rng.uniform(0.01, 30, 20)])
    x = x[np.abs(x - np.round(x)) > 0.05]
    # torch's trigamma (ψ⁽¹⁾, also digamma's gradient) is good to 5e-10 only; SciPy agrees
    # with ours to 1e-15 there (test_against_scipy_over_wide_ranges)
    for _name, f, tf, tol in [("lgamma", mg.lgamma, torch.lgamma, 1e-11),
                             ("digamma", mg.digamma, torch.digamma, 1e-9),
                             ("polygamma(1)", lambda t: mg.polygamma(1, t),
                              lambda t: torch.polygamma(1, t), 1e-9),
                             ("polygamma(4)", lambda t: mg.polygamma(4, t),
                              lambda t: torch.polygamma(4, t), 1e-11),
                             ("ndtr", mg.special.ndtr, torch.special.ndtr, 1e-11),
                             ("log_ndtr", mg.special.log_ndtr, torch.special.log_ndtr, 1e-11),
                             ("entr", lambda t: mg.special.entr(t.abs()),
                              lambda t: torch.special.entr(t.abs()), 1e-11),
                             ("xlog1py", lambda t: mg.special.xlog1py(t, t * t - 0.5),
                              lambda t: torch.special.xlog1py(t, t * t - 0.5), 1e-11)]:
        a, b = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ya, yb = f(a), tf(b)
        assert_close(ya, yb.detach().cpu().numpy(), rtol=tol, atol=1e-14)
        g = rng.standard_normal(x.shape)
        ya.backward(mg.tensor(g))
        yb.backward(torch.tensor(g))
        assert_close(a.grad, b.grad.cpu().numpy(), rtol=tol, atol=1e-13)
    p = rng.uniform(0.2, 5, (3, 4))
    assert_close(mg.mvlgamma(mg.tensor(p + 2), 4), torch.mvlgamma(torch.tensor(p + 2), 4)
                 .cpu().numpy(), rtol=1e-13)


def test_polygamma_far_below_zero_by_reflection():
    """ψ⁽ⁿ⁾(x) = (−1)ⁿ ψ⁽ⁿ⁾(1 − x) − π dⁿ/dxⁿ cot(πx) below −20: exact and no longer a
    recurrence of |x| steps (x = −10⁶ + 0.3 used to take seconds). Checked by hand against
    the recurrence ψ⁽ⁿ⁾(x + 1) = ψ⁽ⁿ⁾(x) + (−1)ⁿ n! / x⁽ⁿ⁺¹⁾ across the switch at −20."""
    for n in (1, 2, 3):
        x = mg.tensor([-20.6, -1e6 + 0.3], dtype=mg.float64)
        far, near = x.polygamma(n).tolist(), (x + 1).polygamma(n).tolist()
        step = [(-1) ** n * math.factorial(n) / v ** (n + 1) for v in x.tolist()]
        for a, b, d in zip(far, near, step):
            assert b == pytest.approx(a + d, rel=1e-11)
    assert mg.tensor([-3.0], dtype=mg.float64).polygamma(1).tolist() == [float("inf")]
    assert np.isnan(mg.tensor([-30.0], dtype=mg.float64).polygamma(2).item())   # pole


def test_polygamma_far_below_zero_matches_scipy():
    special = pytest.importorskip("scipy.special")
    x = np.array([-25.3, -100.7, -1234.55, -1e6 + 0.3])
    for n in (1, 2, 4):
        np.testing.assert_allclose(mg.tensor(x).polygamma(n).numpy(), special.polygamma(n, x),
                                   rtol=1e-13)


def test_incomplete_gamma_series_converge_alike_compacted_or_frozen(monkeypatch):
    """The regularized incomplete gamma functions' series and continued fraction iterate in
    _converge: NumPy drops finished elements, CuPy freezes them with where (no host sync
    per step). Both give the same numbers, bit for bit, NaNs included (done at once)."""
    from minigrad.ops import special

    rng = np.random.default_rng(3)
    a = np.concatenate([rng.uniform(0.01, 60, 300), [np.nan, 2.0, 0.5, 1e3]])
    x = np.concatenate([rng.uniform(0.0, 80, 300), [1.0, np.nan, 1e-8, 1e3]])
    A, X = mg.tensor(a), mg.tensor(x)
    want = (mg.igamma(A, X).numpy(), mg.igammac(A, X).numpy())
    converge = special._converge
    monkeypatch.setattr(special, "_converge",
                        lambda xp, state, step: converge(xp, state, step, compact=False))
    got = (mg.igamma(A, X).numpy(), mg.igammac(A, X).numpy())
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    assert np.isnan(want[0][300]) and np.isnan(want[1][301])
    assert np.all((want[0][:300] >= 0) & (want[0][:300] <= 1))
