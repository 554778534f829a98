r"""Gradient checking: compare backward with central finite differences in float64.

How it works (Chainer's method). Draw a random cotangent vₒ for every output fₒ and form
the scalars Lₒ(x) = ⟨vₒ, fₒ(x)⟩ and L = Σₒ Lₒ. The analytic gradient is one backward
pass, ∇Lₒ = vₒᵀJₒ. The numeric gradient perturbs each input element xⱼ by ±h:

    ∂Lₒ/∂xⱼ ≈ (Lₒ(x + h·eⱼ) − Lₒ(x − h·eⱼ)) / 2h            (error O(h²))

An element passes when |a − n| ≤ atol + rtol·|n| (PyTorch's rule); the report also shows
the relative error |a − n| / max(|a|, |n|). A random v, never all ones, so a backward that
mixes up output positions cannot hide behind a sum. When ``fn`` has several outputs each
input is checked against every output on its own (which output's backward is wrong) and
against all of them together (the backward that receives every incoming gradient at once);
the function evaluations are shared, so this costs only the extra backward passes.

For large inputs (``mode="directional"``) the check is on random directions u instead of
every element: ⟨∇Lₒ, u⟩ against (Lₒ(x + h·u) − Lₒ(x − h·u)) / 2h.

:func:`gradcheck` returns True or raises :class:`GradcheckError`, as PyTorch's does;
:func:`gradcheck_report` runs the same check and returns a :class:`GradcheckReport` with
the numbers (per input and output: shape, worst absolute and relative error, the worst
element with both gradients, pass/fail, a hint), whose text is the failure message.
Hints name typical patterns: a constant factor, a sign flip, a zero analytic gradient, a
function that is not deterministic.

Examples
--------
>>> import minigrad as mg
>>> x = mg.tensor([1.0, 2.0, 3.0], dtype=mg.float64, requires_grad=True)
>>> report = mg.gradcheck_report(lambda x: x.detach() * x, (x,))  # d(x²)/dx taken as x
>>> bool(report), round(report.entries[0].max_rel_error, 6)
(False, 0.5)
>>> print(report)  # doctest: +ELLIPSIS
gradcheck failed: 3 of 3 elements disagree (eps=1e-06, atol=1e-05, rtol=0.001); the worst:
input  index  analytic    numeric  abs error  rel error
-----  -----  --------  ---------  ---------  ---------
    0   (2,)   1.92127    3.84254       1.92        0.5
    0   (1,)  -0.26421  -0.528419      0.264        0.5
    0   (0,)   0.12573    0.25146      0.126        0.5
hint: the analytic gradient is off by a constant factor 0.5 (analytic ≈ 0.5 × numeric); ...
<BLANKLINE>
each input (full Jacobian, 9 evaluations of fn):
input  shape  checked  failed  max abs error  max rel error  worst at  analytic  numeric  result
-----  -----  -------  ------  -------------  -------------  --------  --------  -------  ------
    0   (3,)        3       3        1.9e+00        5.0e-01      (2,)   1.92127  3.84254    FAIL
"""
from __future__ import annotations

import math
import numbers
from dataclasses import dataclass, field

import numpy as np

from ._backend import to_device
from .autograd import enable_grad, grad, no_grad
from .dtypes import is_floating
from .tensor import Tensor

__all__ = ["gradcheck", "gradgradcheck", "gradcheck_report", "gradgradcheck_report",
           "GradcheckError", "GradcheckReport", "GradcheckEntry"]

#: max_rel_error skips elements whose gradient is below this on both sides (unless they
#: fail): there the finite difference has no relative digits left to compare
REL_ERROR_FLOOR = 1e-7


class GradcheckError(RuntimeError):
    """The analytic and numeric gradients disagree; the message is a table of where, and
    ``report`` the :class:`GradcheckReport` behind it."""

    def __init__(self, message, report=None):
        super().__init__(message)
        self.report = report


# --------------------------------------------------------------------------- the report
def _finite_or_none(value):
    """JSON has no NaN or infinity: write them as null."""
    value = float(value)
    return value if math.isfinite(value) else None


@dataclass
class GradcheckEntry:
    """The check of one input against one output (or against all outputs together).

    Attributes
    ----------
    input : position of the input in ``inputs``; ``input_name`` its label in the tables.
    output : position of the output whose cotangent is used, or None for all outputs
        together (only when fn has several); ``output_name`` its label.
    shape : the input's shape.
    n_checked, n_failed : elements (full mode) or directions (directional mode) compared,
        and how many of them break |a − n| ≤ atol + rtol·|n|.
    max_abs_error : max |a − n|.
    max_rel_error : max |a − n| / max(|a|, |n|) over the elements that fail or whose
        gradient exceeds ``REL_ERROR_FLOOR`` on one side.
    worst_index : the element that exceeds its tolerance by the most (or comes closest to
        it): an index tuple in full mode, a direction number in directional mode.
    worst_analytic, worst_numeric : both gradients there.
    hint : a likely cause when the failing elements follow a pattern, else None.
    analytic, numeric : all the compared values: the gradient vᵀJ shaped like the input
        (full mode) or one value per direction.
    failed_mask, excess : per compared value (flattened), whether it fails and by how much
        |a − n| exceeds atol + rtol·|n| (NaN counts as +inf).
    """

    input: int
    input_name: str
    output: int | None
    output_name: str
    shape: tuple
    mode: str
    n_checked: int
    n_failed: int
    max_abs_error: float
    max_rel_error: float
    worst_index: tuple | int | None
    worst_analytic: float
    worst_numeric: float
    hint: str | None
    analytic: np.ndarray = field(repr=False)
    numeric: np.ndarray = field(repr=False)
    failed_mask: np.ndarray = field(repr=False)
    excess: np.ndarray = field(repr=False)

    @property
    def passed(self):
        return self.n_failed == 0

    def __bool__(self):
        return self.passed

    def index_text(self, j):
        """The label of flat element ``j`` in the tables: ``(1, 2)`` or ``dir 3``."""
        if self.mode == "directional":
            return f"dir {j}"
        return str(tuple(int(t) for t in np.unravel_index(j, self.shape)))

    def to_dict(self, arrays=False):
        """A JSON-ready dict (shapes and indices as lists, NaN and infinities as None);
        ``arrays`` adds the compared values, flattened in C order."""
        worst = self.worst_index
        d = {
            "input": self.input, "input_name": self.input_name,
            "output": self.output, "output_name": self.output_name,
            "shape": list(self.shape), "mode": self.mode,
            "n_checked": self.n_checked, "n_failed": self.n_failed, "passed": self.passed,
            "max_abs_error": _finite_or_none(self.max_abs_error),
            "max_rel_error": _finite_or_none(self.max_rel_error),
            "worst_index": list(worst) if isinstance(worst, tuple) else worst,
            "worst_analytic": _finite_or_none(self.worst_analytic),
            "worst_numeric": _finite_or_none(self.worst_numeric),
            "hint": self.hint,
        }
        if arrays:
            d["analytic"] = [_finite_or_none(v) for v in self.analytic.reshape(-1)]
            d["numeric"] = [_finite_or_none(v) for v in self.numeric.reshape(-1)]
        return d


def _make_entry(input, input_name, output, output_name, shape, mode, a, n, atol, rtol):
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    n = np.asarray(n, dtype=np.float64).reshape(-1)
    err = np.abs(a - n)
    tol = atol + rtol * np.abs(n)
    failed = ~(err <= tol)                   # NaN fails too
    excess = np.where(np.isnan(err - tol), np.inf, err - tol)
    scale = np.maximum(np.abs(a), np.abs(n))
    with np.errstate(divide="ignore", invalid="ignore"):
        rel = np.where(scale > 0, err / np.where(scale > 0, scale, 1.0), 0.0)
    rel = np.where(np.isnan(err), np.nan, rel)
    counted = failed | (scale > REL_ERROR_FLOOR)
    if a.size:
        j = int(np.argmax(excess))
        worst = (j if mode == "directional"
                 else tuple(int(t) for t in np.unravel_index(j, shape)))
        worst_a, worst_n = float(a[j]), float(n[j])
        max_abs = float(np.max(err))
        max_rel = float(np.max(rel[counted])) if counted.any() else 0.0
    else:
        worst, worst_a, worst_n, max_abs, max_rel = None, math.nan, math.nan, 0.0, 0.0
    hint = _hint(a[failed], n[failed]) if failed.any() else None
    return GradcheckEntry(input, input_name, output, output_name, tuple(shape), mode,
                          int(a.size), int(failed.sum()), max_abs, max_rel, worst, worst_a,
                          worst_n, hint, a.reshape(shape) if mode == "full" else a,
                          n.reshape(shape) if mode == "full" else n, failed, excess)


@dataclass
class GradcheckReport:
    """What :func:`gradcheck_report` (or :func:`gradgradcheck_report`) found.

    ``bool(report)`` is the verdict; ``str(report)`` the table that
    :class:`GradcheckError` carries (the worst failing elements with hints, then one line
    per checked input and output); :meth:`to_dict` the same numbers for JSON.

    Attributes
    ----------
    kind : "gradcheck" or "gradgradcheck".
    passed : every entry passed (False when ``problem`` is set).
    entries : one :class:`GradcheckEntry` per checked input, per output when fn has
        several, plus one for all outputs together.
    mode : "full" (every element) or "directional" (random directions).
    eps, atol, rtol, seed : the settings of the check.
    n_outputs : floating-point outputs of fn (each with its own random cotangent).
    n_evaluations : calls of fn, the analytic pass included.
    problem : why no gradient was compared (fn not finite or not deterministic), else None.
    max_rows : rows of the table of worst elements.
    """

    kind: str
    passed: bool
    entries: list
    mode: str
    eps: float
    atol: float
    rtol: float
    seed: int
    n_outputs: int
    n_evaluations: int
    problem: str | None = None
    max_rows: int = 10

    def __bool__(self):
        return self.passed

    @property
    def max_abs_error(self):
        """The largest absolute error over every entry (NaN when nothing was compared)."""
        return max((e.max_abs_error for e in self.entries), key=_nan_first, default=math.nan)

    @property
    def max_rel_error(self):
        """The largest relative error over every entry (see :class:`GradcheckEntry`)."""
        return max((e.max_rel_error for e in self.entries), key=_nan_first, default=math.nan)

    def _per_input(self):
        """(input, kind) → its entries (all outputs): the reverse-mode checks of an input
        share its elements (or directions); its forward-mode check has its own
        directions, so it is a group of its own."""
        groups = {}
        for e in self.entries:
            groups.setdefault((e.input, _forward(e)), []).append(e)
        return groups

    @property
    def n_checked(self):
        """Input elements (or directions) compared, each counted once whatever the
        number of outputs."""
        return sum(group[0].n_checked for group in self._per_input().values())

    @property
    def n_failed(self):
        """Input elements (or directions) that fail against some output."""
        return sum(int(np.logical_or.reduce([e.failed_mask for e in group]).sum())
                   for group in self._per_input().values())

    def failures(self, limit=None):
        """The failing elements, worst first (by how far each exceeds its tolerance), as
        dicts with input, output, index, analytic, numeric, abs_error, rel_error. The
        all-outputs entries are left out when a single-output entry fails (they repeat
        it)."""
        shown = [e for e in self.entries if not e.passed]
        if any(e.output is not None for e in shown):
            shown = [e for e in shown if e.output is not None or _forward(e)]
        rows = [(e.excess[j], e, int(j)) for e in shown for j in np.flatnonzero(e.failed_mask)]
        rows.sort(key=lambda r: -r[0])
        out = []
        for _, e, j in rows[:limit]:
            a, n = float(e.analytic.reshape(-1)[j]), float(e.numeric.reshape(-1)[j])
            err = abs(a - n)
            scale = max(abs(a), abs(n))
            out.append({"input": e.input_name, "output": e.output_name,
                        "index": e.index_text(j), "analytic": a, "numeric": n,
                        "abs_error": err, "rel_error": err / scale if scale > 0 else 0.0})
        return out

    def _hints(self):
        shown = [e for e in self.entries if not e.passed]
        per_output = [e for e in shown if e.output is not None]
        if shown and not per_output and self.n_outputs > 1:
            return [("", "each output's gradient is right on its own but their sum is not: "
                         "gradients that reach one tensor from several outputs are "
                         "overwritten or dropped instead of added up")]
        hints = [(self._label(e), e.hint) for e in (per_output or shown) if e.hint]
        if len({h for _, h in hints}) == 1:
            return [("", hints[0][1])]
        return hints

    def _label(self, e):
        return (f"input {e.input_name}" if self.n_outputs == 1
                else f"input {e.input_name}, output {e.output_name}")

    def __str__(self):
        if self.problem:
            return self.problem
        several = self.n_outputs > 1 or any(_forward(e) for e in self.entries)
        noun = "elements" if self.mode == "full" else "directional derivatives"
        settings = f"eps={self.eps}, atol={self.atol}, rtol={self.rtol}"
        lines = []
        if self.passed:
            lines.append(f"{self.kind} passed: {self.n_checked} {noun} agree ({settings})")
        else:
            lines.append(f"{self.kind} failed: {self.n_failed} of {self.n_checked} {noun} "
                         f"disagree ({settings}); the worst:")
            cols = ["input"] + (["output"] if several else []) + [
                "index", "analytic", "numeric", "abs error", "rel error"]
            rows = [[r["input"]] + ([r["output"]] if several else []) + [
                r["index"], f"{r['analytic']:.6g}", f"{r['numeric']:.6g}",
                f"{r['abs_error']:.3g}", f"{r['rel_error']:.3g}"]
                for r in self.failures(self.max_rows)]
            lines += _format_table(cols, rows)
            for where, hint in self._hints():
                lines.append(f"hint ({where}): {hint}" if where else f"hint: {hint}")
        how = "full Jacobian" if self.mode == "full" else "random directions"
        lines += ["", f"each input ({how}, {self.n_evaluations} evaluations of fn):"]
        cols = ["input"] + (["output"] if several else []) + [
            "shape", "checked", "failed", "max abs error", "max rel error", "worst at",
            "analytic", "numeric", "result"]
        rows = []
        for e in self.entries:
            worst = "" if e.worst_index is None else (
                e.index_text(np.ravel_multi_index(e.worst_index, e.shape) if e.mode == "full"
                             else e.worst_index))
            rows.append([e.input_name] + ([e.output_name] if several else []) + [
                str(e.shape), e.n_checked, e.n_failed, f"{e.max_abs_error:.1e}",
                f"{e.max_rel_error:.1e}", worst, f"{e.worst_analytic:.6g}",
                f"{e.worst_numeric:.6g}", "pass" if e.passed else "FAIL"])
        lines += _format_table(cols, rows)
        return "\n".join(lines)

    def to_dict(self, arrays=False):
        """The report as plain JSON types (NaN and infinities as None); ``arrays`` adds
        every compared value of every entry."""
        return {
            "kind": self.kind, "passed": self.passed, "problem": self.problem,
            "mode": self.mode, "eps": self.eps, "atol": self.atol, "rtol": self.rtol,
            "seed": self.seed, "n_outputs": self.n_outputs,
            "n_evaluations": self.n_evaluations,
            "n_checked": self.n_checked, "n_failed": self.n_failed,
            "max_abs_error": _finite_or_none(self.max_abs_error),
            "max_rel_error": _finite_or_none(self.max_rel_error),
            "entries": [e.to_dict(arrays) for e in self.entries],
            "failures": [{k: _finite_or_none(v) if isinstance(v, float) else v
                          for k, v in r.items()} for r in self.failures(self.max_rows)],
        }


def _forward(entry):
    """Whether ``entry`` is a forward-mode check (``check_forward_ad``)."""
    return entry.output_name == _FORWARD_AD


_FORWARD_AD = "forward AD"


def _nan_first(value):
    return math.inf if math.isnan(value) else value


def _format_table(cols, rows):
    """Right-aligned columns under a header and a rule: the one table format of every
    gradcheck message."""
    cells = [[str(c) for c in row] for row in rows]
    widths = [max(len(c), *(len(r[i]) for r in cells)) for i, c in enumerate(cols)]
    out = ["  ".join(c.rjust(w) for c, w in zip(cols, widths)),
           "  ".join("-" * w for w in widths)]
    out += ["  ".join(c.rjust(w) for c, w in zip(r, widths)) for r in cells]
    return out


def _hint(rows_a, rows_n):
    a, n = np.asarray(rows_a), np.asarray(rows_n)
    big = np.abs(n) > 1e-8
    if np.all(np.abs(a) < 1e-12) and np.any(big):
        return ("the analytic gradient is zero where the numeric one is not: a backward "
                "that returns zeros, or an op that detached the graph (raw arrays, .data, "
                "no_grad inside the function)")
    if np.any(big):
        ratio = a[big] / n[big]
        r = np.median(ratio)
        if np.all(np.abs(ratio - r) <= 1e-3 * max(abs(r), 1e-12)):
            if abs(r + 1) < 1e-3:
                return "the analytic gradient has the wrong sign everywhere"
            k = r if abs(r) >= 1 else 1 / r
            text = (f"the analytic gradient is off by a constant factor "
                    f"{r:.6g} (analytic ≈ {r:.6g} × numeric)")
            if abs(k - round(k)) < 1e-3 and round(k) > 1:
                text += (f"; an integer factor {round(k)} often means a broadcast "
                         "reduction summed (or a mean divided) over the wrong number of "
                         "elements, or a missing/doubled chain-rule factor")
            return text
    return None


# --------------------------------------------------------------------------- the check
def _outputs_tuple(out):
    outs = out if isinstance(out, (tuple, list)) else (out,)
    return tuple(o for o in outs if isinstance(o, Tensor) and is_floating(o.dtype))


def _dense(g):
    """A gradient as a dense Tensor (a sparse one, e.g. ``Embedding(sparse=True)``'s,
    densified: its unstored entries are exact zeros)."""
    return g.to_dense() if getattr(g, "is_sparse", False) else g


def _to_cpu(a):
    return np.asarray(to_device(a, "cpu"), dtype=np.float64)


def _check_settings(what, eps, atol, rtol, mode, n_directions, max_rows):
    def real(value):
        return (isinstance(value, numbers.Real) and not isinstance(value, bool)
                and math.isfinite(value))

    if not (real(eps) and eps > 0):
        raise ValueError(f"{what}: eps (the finite-difference step h) must be a positive "
                         f"number such as 1e-6, got {eps!r}")
    for name, value in (("atol", atol), ("rtol", rtol)):
        if not (real(value) and value >= 0):
            raise ValueError(f"{what}: {name} must be a number >= 0, got {value!r}")
    if mode not in ("full", "directional", "auto"):
        raise ValueError(f"{what}: mode must be 'full', 'directional' or 'auto', got {mode!r}")
    for name, value in (("n_directions", n_directions), ("max_rows", max_rows)):
        if not (isinstance(value, numbers.Integral) and not isinstance(value, bool)
                and value >= 1):
            raise ValueError(f"{what}: {name} must be a positive integer, got {value!r}")


def _check_inputs(inputs, what):
    if isinstance(inputs, Tensor):
        inputs = (inputs,)
    inputs = tuple(inputs)
    diff = [i for i, x in enumerate(inputs) if isinstance(x, Tensor) and x.requires_grad]
    if not diff:
        arrays = [f"input {i} is a {type(x).__module__}.{type(x).__name__}"
                  for i, x in enumerate(inputs) if hasattr(x, "shape")
                  and not isinstance(x, Tensor)]
        raise ValueError(
            f"{what}: no input requires grad; nothing to check (pass the inputs to check "
            f"as mg.tensor(..., dtype=mg.float64, requires_grad=True)"
            + (f"; {', '.join(arrays)}, not a minigrad Tensor)" if arrays else ")"))
    for i in diff:
        if inputs[i].dtype != np.float64:
            raise TypeError(
                f"{what}: input {i} is {inputs[i].dtype}; finite differences need float64 "
                f"inputs (pass x.double(), or create them with dtype=mg.float64)"
            )
    first = {}
    for i in diff:
        j = first.setdefault(id(inputs[i]), i)
        if j != i:  # a nudge of one would move the other: the numeric side sums both
            raise ValueError(
                f"{what}: inputs {j} and {i} are the same tensor; pass it once (and use it "
                f"twice inside the function), or pass a copy (x.detach().clone()"
                f".requires_grad_())")
    return inputs, diff


def _torch_options(kind, mode, fast_mode, check_batched_grad=False,
                   check_batched_forward_grad=False, masked=None, **refused):
    """PyTorch's keyword options that minigrad takes: ``fast_mode`` is its directional
    mode (random directions, vᵀJu); the batched checks and ``masked`` need what minigrad
    does not have and are refused rather than silently skipped. Returns the mode."""
    if not isinstance(fast_mode, bool):
        raise TypeError(f"{kind}: fast_mode must be a bool, got {fast_mode!r}")
    if fast_mode:
        if mode == "full":
            raise ValueError(f"{kind}: fast_mode=True checks random directions; it "
                             "contradicts mode='full'")
        mode = "directional"
    if check_batched_grad or check_batched_forward_grad:
        raise ValueError(f"{kind}: check_batched_grad/check_batched_forward_grad compare a "
                         "vmap-batched derivative with per-sample ones; minigrad's vmap "
                         "runs the function per sample, so there is nothing to compare: "
                         "leave them False")
    if masked:
        raise ValueError(f"{kind}: masked=True (sparse inputs' gradients restricted to "
                         "their stored entries) is not supported: check the dense "
                         "function of the values (a sparse gradient is compared densified)")
    for name, (value, default) in refused.items():
        if value != default:
            raise ValueError(f"{kind}: {name}={value!r} is not supported (only "
                             f"{default!r}, the default)")
    return mode


def _check(fn, inputs, eps, atol, rtol, *, mode, n_directions, seed, max_rows, kind,
           with_graph=False, input_names=None, output_names=None, check_forward_ad=False,
           nondet_tol=0.0, check_backward_ad=True, check_undefined_grad=True,
           check_grad_dtypes=False):
    """The check behind every public function: returns a :class:`GradcheckReport`."""
    _check_settings(kind, eps, atol, rtol, mode, n_directions, max_rows)
    if not (check_backward_ad or check_forward_ad):
        raise ValueError(f"{kind}: nothing to check: check_backward_ad and "
                         "check_forward_ad are both False")
    if not nondet_tol >= 0:
        raise ValueError(f"{kind}: nondet_tol must be >= 0, got {nondet_tol!r}")
    inputs, diff = _check_inputs(inputs, kind)
    rng = np.random.default_rng(seed)
    calls = [1]
    with enable_grad():
        outs = _outputs_tuple(fn(*inputs))
    if not outs:
        raise ValueError(f"{kind}: fn returned no floating-point Tensor")
    cotangents = [rng.standard_normal(o.shape) for o in outs]
    K = len(outs)
    xs = [inputs[i] for i in diff]
    total = sum(x.data.size for x in xs)
    if mode == "auto":
        mode = "full" if total <= 4096 else "directional"
    input_names = input_names or [str(i) for i in range(len(inputs))]
    output_names = output_names or [str(o) for o in range(K)]

    # analytic: vₒᵀJₒ for each output alone (when several), then Σₒ vₒᵀJₒ in one pass
    live = [k for k, o in enumerate(outs) if o.requires_grad]
    vs = {k: Tensor(cotangents[k], dtype=outs[k].dtype, device=outs[k].device) for k in live}

    wrong_type = []

    def backward(ks, retain, cotangents=vs):
        if not ks:
            return [np.zeros(x.shape) for x in xs]
        gs = grad([outs[k] for k in ks], xs, [cotangents[k] for k in ks],
                  retain_graph=retain, allow_unused=True)
        for i, g, x in zip(diff, gs, xs):
            if check_grad_dtypes and g is not None and (
                    g.dtype != x.dtype or tuple(g.shape) != tuple(x.shape)
                    or g.device != x.device):
                wrong_type.append(f"input {input_names[i]}'s gradient is {g.dtype} "
                                  f"{tuple(g.shape)} on {g.device}, the input {x.dtype} "
                                  f"{tuple(x.shape)} on {x.device}")
        return [np.zeros(x.shape) if g is None else _to_cpu(_dense(g).data)
                for g, x in zip(gs, xs)]

    nonzero = []
    if check_backward_ad and check_undefined_grad and live:
        # PyTorch's check_undefined_grad: no gradient in, no gradient out. minigrad
        # passes zeros where PyTorch passes undefined tensors: a backward term that does
        # not scale with the output's gradient shows here
        zeros = {k: Tensor(np.zeros(outs[k].shape), dtype=outs[k].dtype,
                           device=outs[k].device) for k in live}
        for i, g in zip(diff, backward(live, True, zeros)):
            if np.any(g != 0):
                nonzero.append(input_names[i])
    if check_backward_ad:
        per_output = ([backward([k] if k in live else [], True) for k in range(K)]
                      if K > 1 else [])
        analytic_all = backward(live, False)

    def objectives():
        """[Lₒ(x) for each output], from one evaluation of fn (no graph kept; with
        ``with_graph`` when fn itself differentiates, as in gradgradcheck)."""
        calls[0] += 1
        with enable_grad() if with_graph else no_grad():
            ys = _outputs_tuple(fn(*inputs))
        return np.array([(_to_cpu(o.data) * v).sum() for o, v in zip(ys, cotangents)])

    def report(entries, problem=None):
        return GradcheckReport(kind, problem is None and all(e.passed for e in entries),
                               entries, mode, eps, atol, rtol, seed, K, calls[0], problem,
                               max_rows)

    base = objectives()
    if not np.all(np.isfinite(base)):
        return report([], f"{kind}: fn returns non-finite values (inf or NaN) at these "
                          "inputs; finite differences need a point where f is finite: "
                          + _where_nonfinite(outs, output_names, inputs, input_names))
    again = objectives()
    if not (np.array_equal(again, base) if nondet_tol == 0
            else np.max(np.abs(again - base)) <= nondet_tol):
        return report([], f"{kind}: fn is not deterministic (two evaluations at the same "
                          f"point differ by {np.max(np.abs(again - base)):.3g}); fix its "
                          "randomness (e.g. the dropout mask) across calls, or allow "
                          "reordered sums (atomic adds on a GPU) with nondet_tol")
    if wrong_type:
        return report([], f"{kind}: check_grad_dtypes: " + "; ".join(wrong_type))
    if nonzero:
        return report([], f"{kind}: check_undefined_grad: a zero output gradient gives a "
                          f"nonzero (or NaN) gradient for input {', '.join(nonzero)}: its "
                          "backward has a term that does not scale with the output's "
                          "gradient")

    entries = []
    for pos, (i, x) in enumerate(zip(diff, xs)):
        if not x.data.flags.c_contiguous:  # perturb the real storage, not a reshaped copy
            x.data = x.xp.ascontiguousarray(x.data)
        if mode == "full":
            flat = x.data.reshape(-1)
            steps = range(flat.size)
        else:
            orig = x.data.copy()
            steps = range(n_directions)
        numeric = np.empty((len(steps), K))      # ∂Lₒ/∂x_j or ⟨∇Lₒ, u_d⟩ per step, output
        numeric_all = np.empty(len(steps))       # the same for L = Σₒ Lₒ
        directions = []
        for s in steps:
            if mode == "full":
                value = flat[s].item()
                flat[s] = value + eps
                fp = objectives()
                flat[s] = value - eps
                fm = objectives()
                flat[s] = value
            else:
                u = rng.standard_normal(x.shape)
                directions.append(u)
                u_dev = x.xp.asarray(to_device(u, x.device), dtype=x.dtype)
                x.data[...] = orig + eps * u_dev
                fp = objectives()
                x.data[...] = orig - eps * u_dev
                fm = objectives()
                x.data[...] = orig
            numeric[s] = (fp - fm) / (2 * eps)
            numeric_all[s] = (fp.sum() - fm.sum()) / (2 * eps)

        for k in range(K if K > 1 and check_backward_ad else 0):
            entries.append(_make_entry(i, input_names[i], k, output_names[k], x.shape, mode,
                                       _compared(per_output[k][pos], directions),
                                       numeric[:, k], atol, rtol))
        if check_backward_ad:
            entries.append(_make_entry(i, input_names[i], None if K > 1 else 0,
                                       "all" if K > 1 else output_names[0], x.shape, mode,
                                       _compared(analytic_all[pos], directions),
                                       numeric_all, atol, rtol))
        if check_forward_ad:
            entries.append(_forward_ad_entry(fn, inputs, i, x, input_names[i], cotangents,
                                             objectives, eps, atol, rtol, rng, n_directions))
    return report(entries)


def _forward_ad_entry(fn, inputs, i, x, name, cotangents, objectives, eps, atol, rtol, rng,
                      n_directions):
    """Forward mode checked along random directions t of input i: ⟨v, J·t⟩ from the
    tangents of a dual forward pass against the central difference of L = Σₒ⟨vₒ, fₒ⟩."""
    from .autograd import forward_ad as fwAD

    analytic, numeric = [], []
    orig = x.data.copy()
    for _ in range(n_directions):
        t = rng.standard_normal(x.shape)
        t_dev = x.xp.asarray(to_device(t, x.device), dtype=x.dtype)
        with fwAD.dual_level():
            args = list(inputs)
            args[i] = fwAD.make_dual(x.detach(), Tensor(t_dev))
            with no_grad():
                outs = _outputs_tuple(fn(*args))
            jt = 0.0
            for o, v in zip(outs, cotangents):
                tangent = fwAD.unpack_dual(o).tangent
                if tangent is not None:
                    jt += float((_to_cpu(tangent.data) * v).sum())
        analytic.append(jt)
        x.data[...] = orig + eps * t_dev
        fp = objectives().sum()
        x.data[...] = orig - eps * t_dev
        fm = objectives().sum()
        x.data[...] = orig
        numeric.append((fp - fm) / (2 * eps))
    return _make_entry(i, name, None, _FORWARD_AD, x.shape, "directional", analytic, numeric,
                       atol, rtol)


def _compared(a, directions):
    """The analytic counterpart of the numeric values: vᵀJ itself (full mode, no
    directions), or ⟨vᵀJ, u_d⟩ for each direction u_d."""
    return np.array([(a * u).sum() for u in directions]) if directions else a


def _where_nonfinite(outs, output_names, inputs, input_names, shown=3):
    """Where the outputs are NaN or ±inf, for the report: the count per output, the first
    few indices, and there the values of the inputs that have the output's shape (an
    elementwise fn's culprits)."""
    parts = []
    for out, name in zip(outs, output_names):
        y = _to_cpu(out.data)
        bad = ~np.isfinite(y)
        if not bad.any():
            continue
        nans, infs = int(np.isnan(y).sum()), int(np.isinf(y).sum())
        where = [tuple(int(i) for i in ix) for ix in np.argwhere(bad)[:shown]]
        text = (f"output {name} has {nans} NaN and {infs} inf of {y.size} values, "
                f"first at {', '.join(map(str, where))}")
        same = [(n, _to_cpu(x.data)) for x, n in zip(inputs, input_names)
                if isinstance(x, Tensor) and tuple(x.shape) == tuple(y.shape)]
        if same and y.ndim:
            text += " (there " + "; ".join(
                f"input {n} = {', '.join(f'{float(a[ix]):.6g}' for ix in where)}"
                for n, a in same) + ")"
        parts.append(text)
    return "; ".join(parts) or "their sum overflows"


def gradcheck_report(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, *, mode="auto",
                     n_directions=8, seed=0, max_rows=10, check_forward_ad=False,
                     nondet_tol=0.0, check_backward_ad=True, check_undefined_grad=True,
                     check_grad_dtypes=False, fast_mode=False, check_batched_grad=False,
                     check_batched_forward_grad=False, masked=None):
    """Run :func:`gradcheck` and return what it found, pass or fail, as a
    :class:`GradcheckReport` (a wrong gradient does not raise; bad arguments do).

    Parameters are those of :func:`gradcheck`.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    >>> report = mg.gradcheck_report(lambda x: x.tanh(), (x,))
    >>> bool(report), report.mode, report.n_checked, report.n_evaluations
    (True, 'full', 12, 27)
    >>> entry = report.entries[0]
    >>> entry.shape, entry.passed, entry.max_abs_error < 1e-8
    ((3, 4), True, True)
    >>> import json
    >>> json.loads(json.dumps(report.to_dict()))["entries"][0]["shape"]
    [3, 4]
    """
    mode = _torch_options("gradcheck", mode, fast_mode, check_batched_grad,
                          check_batched_forward_grad, masked)
    return _check(fn, inputs, eps, atol, rtol, mode=mode, n_directions=n_directions,
                  seed=seed, max_rows=max_rows, kind="gradcheck",
                  check_forward_ad=check_forward_ad, nondet_tol=nondet_tol,
                  check_backward_ad=check_backward_ad,
                  check_undefined_grad=check_undefined_grad,
                  check_grad_dtypes=check_grad_dtypes)


def _verdict(report, raise_exception):
    if report.passed:
        return True
    if raise_exception:
        raise GradcheckError(str(report), report)
    return False


def gradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3, raise_exception=True, *,
              mode="auto", n_directions=8, seed=0, max_rows=10, check_forward_ad=False,
              nondet_tol=0.0, check_backward_ad=True, check_undefined_grad=True,
              check_grad_dtypes=False, fast_mode=False, check_batched_grad=False,
              check_batched_forward_grad=False, masked=None):
    """Check the gradients of ``fn`` at ``inputs`` against central differences.

    Parameters
    ----------
    fn : callable taking ``*inputs`` and returning a Tensor or a tuple of Tensors.
    inputs : Tensor or tuple; those with ``requires_grad`` are checked (float64 only). A
        sparse gradient (``Embedding(sparse=True)``'s) is compared densified.
    eps : finite-difference step h (> 0).
    atol, rtol : an element passes when |analytic − numeric| ≤ atol + rtol·|numeric|.
    raise_exception : raise :class:`GradcheckError` on failure (else return False).
    mode : "full" (every element), "directional" (random directions), or "auto"
        (full up to 4096 input elements in all, else directional).
    n_directions : directions per input in directional mode.
    seed : seed of the random cotangents and directions (the check is repeatable).
    max_rows : rows of the table of worst elements in the failure message.
    check_forward_ad : also check forward mode (:mod:`minigrad.autograd.forward_ad`):
        ⟨v, J·t⟩ along ``n_directions`` random tangents t of each input, against the
        central difference (entries whose output is "forward AD").
    nondet_tol : how far two evaluations of ``fn`` at the same point may differ (PyTorch's
        name; default 0: exactly equal). Sums whose order varies from run to run, such as
        the atomic adds of a scatter on a GPU, need a small one (1e-12 in float64).
    check_backward_ad, check_undefined_grad, check_grad_dtypes, fast_mode : PyTorch's
        options, so that its calls run unchanged. ``check_backward_ad=False`` checks
        forward mode only (with ``check_forward_ad=True``); ``check_undefined_grad``
        (on by default, as in PyTorch) requires that zero output gradients give zero
        input gradients (minigrad passes zeros where PyTorch passes undefined tensors);
        ``check_grad_dtypes`` that each gradient has its input's dtype, shape and
        device; ``fast_mode=True`` is ``mode="directional"``. ``check_batched_grad``,
        ``check_batched_forward_grad`` and ``masked=True`` are refused with the reason.

    Returns
    -------
    True on success (False on failure with ``raise_exception=False``). For the numbers
    (worst errors, where, per input and output) use :func:`gradcheck_report`; the
    :class:`GradcheckError` raised also carries them as ``.report``.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.randn(3, 4, dtype=mg.float64, requires_grad=True)
    >>> mg.gradcheck(lambda x: x.tanh() * 2, (x,))
    True
    """
    report = gradcheck_report(fn, inputs, eps, atol, rtol, mode=mode,
                              n_directions=n_directions, seed=seed, max_rows=max_rows,
                              check_forward_ad=check_forward_ad, nondet_tol=nondet_tol,
                              check_backward_ad=check_backward_ad,
                              check_undefined_grad=check_undefined_grad,
                              check_grad_dtypes=check_grad_dtypes, fast_mode=fast_mode,
                              check_batched_grad=check_batched_grad,
                              check_batched_forward_grad=check_batched_forward_grad,
                              masked=masked)
    return _verdict(report, raise_exception)


def gradgradcheck_report(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3, *,
                         mode="auto", n_directions=8, seed=0, max_rows=10, nondet_tol=0.0,
                         check_undefined_grad=True, check_grad_dtypes=False,
                         fast_mode=False, check_batched_grad=False, masked=False,
                         gen_non_contig_grad_outputs=False, check_fwd_over_rev=False,
                         check_rev_over_rev=True):
    """Run :func:`gradgradcheck` and return its :class:`GradcheckReport`.

    The function checked is (x, v) ↦ vᵀ·∂f/∂x: in the report, inputs ``0, 1, ...`` are
    those of ``fn``, inputs ``v0, v1, ...`` the grad_outputs, output ``grad i`` is the
    gradient with respect to input i, and ``n_evaluations`` counts evaluations of that
    first derivative (each one call of ``fn`` and one backward pass).

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.randn(4, dtype=mg.float64, requires_grad=True)
    >>> report = mg.gradgradcheck_report(lambda x: x * x.sin(), (x,))
    >>> bool(report), [e.input_name for e in report.entries]
    (True, ['0', 'v0'])
    """
    what = "gradgradcheck"
    mode = _torch_options(what, mode, fast_mode, check_batched_grad, masked=masked,
                          gen_non_contig_grad_outputs=(gen_non_contig_grad_outputs, False),
                          check_fwd_over_rev=(check_fwd_over_rev, False),
                          check_rev_over_rev=(check_rev_over_rev, True))
    _check_settings(what, eps, atol, rtol, mode, n_directions, max_rows)
    inputs, diff = _check_inputs(inputs, what)
    rng = np.random.default_rng(seed + 1)
    with enable_grad():
        outs = _outputs_tuple(fn(*inputs))
    if grad_outputs is None:
        grad_outputs = tuple(
            Tensor(rng.standard_normal(o.shape), dtype=np.float64, device=o.device,
                   requires_grad=True)
            for o in outs
        )
    grad_outputs = tuple(grad_outputs if isinstance(grad_outputs, (tuple, list))
                         else (grad_outputs,))
    if len(grad_outputs) != len(outs):
        raise ValueError(f"{what}: {len(grad_outputs)} grad_outputs for {len(outs)} "
                         "floating-point outputs of fn")
    for k, (v, o) in enumerate(zip(grad_outputs, outs)):
        if not isinstance(v, Tensor) or tuple(v.shape) != tuple(o.shape):
            raise ValueError(f"{what}: grad_outputs[{k}] must be a Tensor of shape "
                             f"{tuple(o.shape)} (output {k}'s)")
        if v.requires_grad and v.dtype != np.float64:
            raise TypeError(f"{what}: grad_outputs[{k}] is {v.dtype}; finite differences "
                            "need float64 (pass v.double())")
    n_in = len(inputs)
    names = [str(i) for i in range(n_in)] + [f"v{k}" for k in range(len(grad_outputs))]
    wrt_names = []

    def first_derivative(*args):
        xs, vs = args[:n_in], args[n_in:]
        ys = _outputs_tuple(fn(*xs))
        gs = grad(ys, [xs[i] for i in diff], vs, create_graph=True, allow_unused=True)
        wrt_names[:] = [f"grad {i}" for i, g in zip(diff, gs) if g is not None]
        return tuple(g for g in gs if g is not None)

    # wrt_names is filled by the first call of first_derivative, before _check reads it
    return _check(first_derivative, tuple(inputs) + grad_outputs, eps, atol, rtol,
                  mode=mode, n_directions=n_directions, seed=seed, max_rows=max_rows,
                  kind=what, with_graph=True, input_names=names, output_names=wrt_names,
                  nondet_tol=nondet_tol, check_undefined_grad=check_undefined_grad,
                  check_grad_dtypes=check_grad_dtypes)


def gradgradcheck(fn, inputs, grad_outputs=None, eps=1e-6, atol=1e-5, rtol=1e-3,
                  raise_exception=True, *, mode="auto", n_directions=8, seed=0, max_rows=10,
                  nondet_tol=0.0, check_undefined_grad=True, check_grad_dtypes=False,
                  fast_mode=False, check_batched_grad=False, masked=False,
                  gen_non_contig_grad_outputs=False, check_fwd_over_rev=False,
                  check_rev_over_rev=True):
    """Check second derivatives: gradcheck of (x, v) ↦ vᵀ·∂f/∂x, the backward pass built
    with ``create_graph=True``. ``grad_outputs`` (the v) are random when omitted, and are
    themselves checked as inputs. Returns True, or raises :class:`GradcheckError` (returns
    False with ``raise_exception=False``); :func:`gradgradcheck_report` gives the numbers.
    ``nondet_tol`` and PyTorch's options as in :func:`gradcheck`
    (``gen_non_contig_grad_outputs`` and ``check_fwd_over_rev`` only False).

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.randn(4, dtype=mg.float64, requires_grad=True)
    >>> mg.gradgradcheck(lambda x: (x * x.sin()).sum(), (x,))
    True
    """
    report = gradgradcheck_report(
        fn, inputs, grad_outputs, eps, atol, rtol, mode=mode, n_directions=n_directions,
        seed=seed, max_rows=max_rows, nondet_tol=nondet_tol,
        check_undefined_grad=check_undefined_grad, check_grad_dtypes=check_grad_dtypes,
        fast_mode=fast_mode, check_batched_grad=check_batched_grad, masked=masked,
        gen_non_contig_grad_outputs=gen_non_contig_grad_outputs,
        check_fwd_over_rev=check_fwd_over_rev, check_rev_over_rev=check_rev_over_rev)
    return _verdict(report, raise_exception)
