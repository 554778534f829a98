"""gradcheck_report: its numbers equal hand-computed ones on planted wrong backwards, it
reports passes with tiny errors, splits several inputs and outputs, covers directional
mode and gradgradcheck, round-trips through JSON, and refuses bad arguments clearly."""
import contextlib
import io
import json
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.autograd.function import Function

X = np.array([0.5, -1.0, 1.5, 2.0])


def x64(a):
    return mg.tensor(np.array(a, dtype=np.float64), dtype=mg.float64, requires_grad=True)


class DoubledSquare(Function):
    """y = x²; backward returns 2× the true gradient (4x instead of 2x)."""

    def forward(self, xp, x):
        return x * x

    def backward(self, gy):
        return gy * (4 * self.inputs[0])


class HalvedSquare(Function):
    """y = x²; backward forgets the 2 (returns x)."""

    def forward(self, xp, x):
        return x * x

    def backward(self, gy):
        return gy * self.inputs[0]


class RawCube(Function):
    """y = x³; backward 3x² from a raw array: right first derivative, no second."""

    def forward(self, xp, x):
        return x**3

    def backward(self, gy):
        return gy * mg.tensor(3 * self.inputs[0].data ** 2)


def cotangent_and_directions(shape, n_directions=0, seed=0):
    """The draws gradcheck makes from its seed: v for the (single) output, then u_d."""
    rng = np.random.default_rng(seed)
    v = rng.standard_normal(shape)
    return v, [rng.standard_normal(shape) for _ in range(n_directions)]


def test_doubled_backward_numbers_are_the_hand_computed_ones():
    report = mg.gradcheck_report(lambda x: DoubledSquare()(x), (x64(X),))
    v, _ = cotangent_and_directions(X.shape)
    a, n = 4 * X * v, 2 * X * v                 # analytic 4xv, numeric d(x²)/dx·v = 2xv
    assert not report and report.passed is False
    (e,) = report.entries
    assert (e.input, e.output, e.shape, e.mode) == (0, 0, (4,), "full")
    np.testing.assert_allclose(e.analytic, a, rtol=1e-15)
    np.testing.assert_allclose(e.numeric, n, rtol=1e-8)
    assert e.n_checked == e.n_failed == 4
    assert e.max_abs_error == pytest.approx(np.abs(a - n).max(), rel=1e-8)
    assert e.max_rel_error == pytest.approx(0.5, abs=1e-8)    # |4xv − 2xv| / |4xv|
    j = int(np.argmax(np.abs(X * v)))               # the largest error exceeds tol the most
    assert e.worst_index == (j,)
    assert e.worst_analytic == pytest.approx(a[j], rel=1e-15)
    assert e.worst_numeric == pytest.approx(n[j], rel=1e-8)
    assert "constant factor 2 " in e.hint and "integer factor 2" in e.hint
    assert report.n_checked == 4 and report.n_failed == 4
    assert report.n_evaluations == 1 + 2 + 2 * 4    # analytic pass, determinism, ±h each
    assert (report.eps, report.atol, report.rtol, report.mode) == (1e-6, 1e-5, 1e-3, "full")
    # the failure table lists the elements worst first, with the report's numbers
    rows = report.failures()
    assert [r["index"] for r in rows][0] == f"({j},)"
    assert rows[0]["abs_error"] == pytest.approx(e.max_abs_error)


def test_gradcheck_raises_the_report_as_its_message():
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradcheck(lambda x: DoubledSquare()(x), (x64(X),))
    report = info.value.report
    assert isinstance(report, mg.GradcheckReport)
    assert str(info.value) == str(report)
    text = str(report)
    assert text.startswith("gradcheck failed: 4 of 4 elements disagree")
    for column in ("input", "index", "analytic", "numeric", "abs error", "rel error",
                   "max abs error", "max rel error", "worst at", "result"):
        assert column in text
    assert "FAIL" in text and "hint: " in text
    assert mg.gradcheck(lambda x: DoubledSquare()(x), (x64(X),), raise_exception=False) \
        is False


def test_correct_op_passes_with_tiny_errors():
    x = x64(np.random.default_rng(1).standard_normal((3, 4)))
    report = mg.gradcheck_report(lambda x: x.tanh() * x, (x,))
    assert report and report.passed
    (e,) = report.entries
    assert e.passed and e.n_failed == 0 and e.hint is None and e.shape == (3, 4)
    assert e.max_abs_error < 1e-8 and e.max_rel_error < 1e-6
    assert report.max_abs_error == e.max_abs_error
    assert report.failures() == []
    assert str(report).startswith("gradcheck passed: 12 elements agree")
    assert mg.gradcheck(lambda x: x.tanh() * x, (x,)) is True   # PyTorch's return value


def test_several_inputs_and_outputs_are_reported_apart():
    x, w = x64(X), x64([0.3, -0.7, 1.1, 0.9])
    c = mg.tensor(np.ones(4), dtype=mg.float64)                   # no grad: not an entry
    report = mg.gradcheck_report(lambda x, w, c: (DoubledSquare()(x), (x * w + c).sin()),
                                 (x, w, c))
    assert report.n_outputs == 2
    verdicts = [(e.input, e.output, e.passed) for e in report.entries]
    assert verdicts == [(0, 0, False), (0, 1, True), (0, None, False),
                        (1, 0, True), (1, 1, True), (1, None, True)]
    wrong = report.entries[0]
    assert wrong.max_rel_error == pytest.approx(0.5, abs=1e-8)
    assert "constant factor 2 " in wrong.hint
    # output 0 does not depend on w: both gradients are exactly zero
    zero = report.entries[3]
    assert zero.max_abs_error == 0 and not zero.analytic.any() and not zero.numeric.any()
    assert report.n_checked == 8 and report.n_failed == 4
    # the table shows the single-output rows (the all-outputs ones repeat them)
    assert {(r["input"], r["output"]) for r in report.failures()} == {("0", "0")}
    text = str(report)
    assert "output" in text.splitlines()[1] and "  all  " in text


def test_directional_mode_numbers():
    rng = np.random.default_rng(3)
    X2 = rng.uniform(0.5, 2.0, (70, 70))
    report = mg.gradcheck_report(lambda x: HalvedSquare()(x), (x64(X2),))
    assert report.mode == "directional"                   # auto: 4900 elements > 4096
    v, us = cotangent_and_directions(X2.shape, 8)
    a = np.array([(X2 * v * u).sum() for u in us])       # ⟨xv, u⟩
    n = 2 * a                                             # ⟨2xv, u⟩
    (e,) = report.entries
    assert e.n_checked == 8 and e.mode == "directional" and e.shape == (70, 70)
    np.testing.assert_allclose(e.analytic, a, rtol=1e-12)
    np.testing.assert_allclose(e.numeric, n, rtol=1e-6)
    assert e.max_rel_error == pytest.approx(0.5, abs=1e-6)
    assert e.worst_index == int(np.argmax(np.abs(a)))
    assert report.n_evaluations == 1 + 2 + 2 * 8
    assert "directional derivatives disagree" in str(report) and "dir " in str(report)

    good = mg.gradcheck_report(lambda x: x.sin(), (x64(X2),), mode="directional",
                               n_directions=3)
    assert good and good.entries[0].n_checked == 3 and good.max_rel_error < 1e-6


def test_to_dict_round_trips_through_json():
    x, w = x64(X), x64([0.3, -0.7, 1.1, 0.9])
    report = mg.gradcheck_report(lambda x, w: (DoubledSquare()(x), x * w), (x, w))
    d = report.to_dict()
    assert json.loads(json.dumps(d, allow_nan=False)) == d
    assert d["passed"] is False and d["n_outputs"] == 2 and len(d["entries"]) == 6
    first = d["entries"][0]
    assert first["shape"] == [4] and isinstance(first["worst_index"], list)
    assert first["max_rel_error"] == pytest.approx(0.5, abs=1e-8)
    assert d["failures"] and d["failures"][0]["input"] == "0"
    full = report.to_dict(arrays=True)
    assert json.loads(json.dumps(full, allow_nan=False)) == full
    assert full["entries"][0]["analytic"] == pytest.approx(list(report.entries[0].analytic))


def test_gradgradcheck_report_names_inputs_and_gradients():
    x = x64(X)
    report = mg.gradgradcheck_report(lambda x: RawCube()(x), (x,))
    assert not report and report.kind == "gradgradcheck"
    by_name = {e.input_name: e for e in report.entries}
    assert set(by_name) == {"0", "v0"}
    assert by_name["0"].output_name == "grad 0" and not by_name["0"].passed
    assert not by_name["0"].analytic.any()                     # the raw array: no 2nd order
    assert "analytic gradient is zero" in by_name["0"].hint
    assert by_name["v0"].passed                                 # linear in v: still right
    assert str(report).startswith("gradgradcheck failed: 4 of 8 elements disagree")
    with pytest.raises(mg.GradcheckError) as info:
        mg.gradgradcheck(lambda x: RawCube()(x), (x,))
    assert info.value.report.kind == "gradgradcheck"
    assert mg.gradgradcheck_report(lambda x: x**3, (x,))


def test_a_function_that_cannot_be_checked_is_a_failed_report():
    report = mg.gradcheck_report(lambda x: x * mg.rand(4, dtype=mg.float64), (x64(X),))
    assert not report and report.entries == [] and "not deterministic" in report.problem
    assert str(report) == report.problem
    assert json.loads(json.dumps(report.to_dict()))["problem"] == report.problem
    assert math.isnan(report.max_abs_error)
    with np.errstate(divide="ignore"):
        inf = mg.gradcheck_report(lambda x: x / 0.0, (x64(X),))
    assert not inf and "non-finite" in inf.problem


@pytest.mark.parametrize("kwargs, match", [
    ({"eps": 0}, "eps .* must be a positive number"),
    ({"eps": -1e-6}, "eps .* must be a positive number"),
    ({"eps": float("nan")}, "eps .* must be a positive number"),
    ({"atol": -1}, "atol must be a number >= 0"),
    ({"rtol": float("inf")}, "rtol must be a number >= 0"),
    ({"mode": "jacobian"}, "mode must be 'full', 'directional' or 'auto'"),
    ({"n_directions": 0}, "n_directions must be a positive integer"),
])
@pytest.mark.parametrize("check", [mg.gradcheck, mg.gradcheck_report, mg.gradgradcheck,
                                   mg.gradgradcheck_report])
def test_bad_settings_are_refused(check, kwargs, match):
    with pytest.raises(ValueError, match=match):
        check(lambda x: x.sin(), (x64(X),), **kwargs)


def test_bad_inputs_are_refused_with_advice():
    with pytest.raises(ValueError, match="no input requires grad.*requires_grad=True"):
        mg.gradcheck_report(lambda x: x.sin(), (mg.tensor(X, dtype=mg.float64),))
    with pytest.raises(ValueError, match=r"input 0 is a numpy.ndarray, not a minigrad Tensor"):
        mg.gradcheck_report(lambda x: x, (X,))
    with pytest.raises(TypeError, match=r"float64.*x.double\(\)"):
        mg.gradcheck_report(lambda x: x.sin(), (mg.ones(3, requires_grad=True),))
    x = x64(X)
    with pytest.raises(ValueError, match="2 grad_outputs for 1"):
        mg.gradgradcheck(lambda x: x.sin(), (x,), grad_outputs=(x64(X), x64(X)))
    with pytest.raises(ValueError, match=r"grad_outputs\[0\] must be a Tensor of shape"):
        mg.gradgradcheck(lambda x: x.sin(), (x,), grad_outputs=(x64([1.0]),))
    with pytest.raises(TypeError, match=r"grad_outputs\[0\] is float32"):
        mg.gradgradcheck(lambda x: x.sin(), (x,), grad_outputs=(mg.ones(4, requires_grad=True),))
    # the same tensor twice: nudging one moves the other, the numeric side sums both
    # (x·x checked as (x, x) would report analytic x against numeric 2x)
    with pytest.raises(ValueError, match="inputs 0 and 2 are the same tensor; pass it once"):
        mg.gradcheck(lambda a, b, c: a * b * c, (x, x64(X), x))
    with pytest.raises(ValueError, match="inputs 0 and 1 are the same tensor"):
        mg.gradgradcheck(lambda a, b: a * b, (x, x))


def test_catalog_rows_come_from_the_report():
    from minigrad.gradcheck_catalog import Case, get_case, run_case

    r = run_case(get_case("matmul"))
    assert r.passed and isinstance(r.report, mg.GradcheckReport)
    assert (r.max_rel_error, r.max_abs_error, r.n_checked) == \
        (r.report.max_rel_error, r.report.max_abs_error, r.report.n_checked) != (0, 0, 0)
    assert [e.shape for e in r.report.entries] == [(3, 4), (4, 2)]
    d = r.to_dict()
    assert json.loads(json.dumps(d))["report"]["entries"][1]["shape"] == [4, 2]

    bad = Case("doubled", "op", lambda rng: (lambda x: DoubledSquare()(x), (x64(X),)))
    r = run_case(bad, second_order=True)
    assert r.passed is False and r.message.startswith(str(r.report))
    assert r.max_rel_error == pytest.approx(0.5, abs=1e-8)
    assert r.gradgrad_report is not None and r.gradgrad is r.gradgrad_report.passed


def test_cli_details_prints_each_report(tmp_path):
    from minigrad.cli import main

    out = io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(io.StringIO()):
        status = main(["gradcheck", "--filter", "Linear", "--kind", "layer", "--details",
                       "--no-progress", "--out", str(tmp_path)])
    text = out.getvalue()
    assert status == 0
    assert "\nLinear:\ngradcheck passed:" in text and "each input (full Jacobian" in text
    saved = json.loads((tmp_path / "gradcheck" / "gradcheck.json").read_text())
    linear = next(r for r in saved if r["name"] == "Linear")
    assert [e["shape"] for e in linear["report"]["entries"]] == [[2, 4], [3, 4], [3]]
    assert "gradcheck passed" in (tmp_path / "gradcheck" / "gradcheck.md").read_text()


def test_non_finite_outputs_are_located():
    """A fn that is NaN or inf at the given point: the report says which output, how many
    values, where, and the elementwise inputs' values there (log of a negative number)."""
    x = mg.tensor([1.0, -2.0, 0.5, -3.0], dtype=mg.float64, requires_grad=True)
    report = mg.gradcheck_report(lambda x: x.log(), (x,))
    assert not report and report.problem.endswith(
        "output 0 has 2 NaN and 0 inf of 4 values, first at (1,), (3,) "
        "(there input 0 = -2, -3)")
    with np.errstate(divide="ignore"):
        two = mg.gradcheck_report(lambda x: (x * 2, 1 / (x - 0.5)), (x,))
    assert "output 1 has 0 NaN and 1 inf of 4 values, first at (2,) (there input 0 = 0.5)" \
        in two.problem and "output 0" not in two.problem
    with pytest.raises(mg.GradcheckError, match="output 0 has 1 NaN and 0 inf of 1 values"):
        mg.gradcheck(lambda x: x.log().sum(), (x,))
