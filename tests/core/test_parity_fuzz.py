"""A PyTorch parity audit of the newer tensor functions, over grids of awkward inputs.

Each case is one expression, written once against a module ``m`` (``torch`` or
``minigrad``) and run through both: 0-d and empty tensors, size-1 and negative dims,
keepdim, integer and bool dtypes, float32 and float64, NaN and ±inf, ties, duplicate
indices, broadcasting, non-contiguous inputs and default arguments. The two results must
agree in values (to the dtype's tolerance), dtypes and shapes; when PyTorch raises,
minigrad must raise too, with its own message (ValueError/TypeError/IndexError where
PyTorch raises RuntimeError: a documented difference), never an error from inside NumPy.
Gradients are compared in float64 with a random cotangent.

Where minigrad differs from PyTorch on purpose (the function's docstring says so), the
case pins minigrad's behaviour by hand instead, in the last section. Every test here that
needs PyTorch fetches it with ``pytest.importorskip`` inside the test.
"""
import fnmatch
import math
import os
import traceback
import warnings

import numpy as np
import pytest

import minigrad as mg

from ..torch_oracle import cholesky, qr

_MINIGRAD_DIR = os.path.dirname(mg.__file__)

# --------------------------------------------------------------------- the harness


def _tensor(m, a, requires_grad=False):
    """The NumPy array ``a`` as a tensor of module ``m`` (same dtype and shape)."""
    a = np.asarray(a)
    if m is mg:
        return mg.tensor(a.copy(), requires_grad=requires_grad)
    return m.tensor(a.copy(), requires_grad=requires_grad)


def _nc(m, a):
    """``a`` as a non-contiguous tensor of ``m``: the transpose of a contiguous one (a
    2-d or larger ``a``), or every other element of one twice as long (1-d)."""
    a = np.asarray(a)
    if a.ndim >= 2:
        return _tensor(m, np.ascontiguousarray(np.swapaxes(a, 0, 1))).transpose(0, 1)
    doubled = np.repeat(a, 2) if a.ndim == 1 else a
    return _tensor(m, doubled)[::2] if a.ndim == 1 else _tensor(m, a)


def _run(m, fn):
    try:
        with warnings.catch_warnings():   # both libraries warn about the same edge cases
            warnings.simplefilter("ignore")
            return fn(m), None
    except Exception as error:  # noqa: BLE001 - the comparison is the point
        return None, error


def _dtype_name(dtype):
    return str(dtype).replace("torch.", "")


#: (rtol, atol) by result dtype
_TOLERANCES = {"float16": (1e-2, 1e-3), "bfloat16": (1e-2, 1e-3), "float32": (2e-5, 1e-6),
               "float64": (1e-10, 1e-12)}


def _tolerances(dtype_name, scale):
    rtol, atol = _TOLERANCES[dtype_name]
    return rtol * scale, atol * scale


def _compare(got, want, scale=1.0, where="result"):
    torch = pytest.importorskip("torch")
    if isinstance(want, torch.Tensor):
        assert isinstance(got, mg.Tensor), f"{where}: expected a Tensor, got {type(got)}"
        assert _dtype_name(got.dtype) == _dtype_name(want.dtype), \
            f"{where}: dtype {got.dtype}, torch {want.dtype}"
        assert tuple(got.shape) == tuple(want.shape), \
            f"{where}: shape {tuple(got.shape)}, torch {tuple(want.shape)}"
        w = want.detach().numpy()
        g = got.detach().numpy()
        if w.dtype.kind in "biu":
            np.testing.assert_array_equal(g, w, err_msg=where)
        else:
            r, a = _tolerances(_dtype_name(want.dtype), scale)
            np.testing.assert_allclose(g, w, rtol=r, atol=a, equal_nan=True, err_msg=where)
    elif isinstance(want, (tuple, list)):
        assert isinstance(got, (tuple, list)), f"{where}: expected a tuple, got {type(got)}"
        assert len(got) == len(want), f"{where}: {len(got)} results, torch {len(want)}"
        for name in ("values", "indices"):   # torch's return_types name their fields
            if hasattr(want, name):
                assert hasattr(got, name), f"{where}: no field {name!r}"
        for i, (g, w) in enumerate(zip(got, want)):
            _compare(g, w, scale, f"{where}[{i}]")
    elif isinstance(want, float) and math.isnan(want):
        assert math.isnan(got), f"{where}: {got!r}, torch nan"
    else:
        assert got == want, f"{where}: {got!r}, torch {want!r}"


#: the openings of messages that come from NumPy or Python rather than from minigrad
_RAW_MESSAGES = ("tuple index", "list index", "operands could not", "too many indices",
                 "cannot reshape", "axis ", "index ", "only integers", "invalid literal")


def _assert_clear_error(error, torch_error):
    """minigrad raised ``error`` where PyTorch raised ``torch_error``: a plain Python
    exception raised by minigrad's own code (not from inside NumPy)."""
    assert isinstance(error, (ValueError, TypeError, IndexError, RuntimeError,
                              ZeroDivisionError, NotImplementedError)), \
        f"torch raised {torch_error!r}; minigrad raised {error!r}"
    innermost = traceback.extract_tb(error.__traceback__)[-1].filename
    assert innermost.startswith(_MINIGRAD_DIR), (
        f"torch raised {torch_error!r}; minigrad's {error!r} came from {innermost}")
    message = str(error)
    assert "ufunc" not in message and not message.startswith(_RAW_MESSAGES) and \
        "getitem:" not in message, f"a message from NumPy or Python's internals: {error!r}"


def check(fn, scale=1.0):
    """Run ``fn(torch)`` and ``fn(minigrad)`` and compare (see the module docstring);
    ``scale`` widens the dtype's tolerances."""
    torch = pytest.importorskip("torch")
    want, torch_error = _run(torch, fn)
    got, error = _run(mg, fn)
    if torch_error is not None:
        assert error is not None, f"torch raised {torch_error!r}; minigrad returned {got!r}"
        _assert_clear_error(error, torch_error)
        return
    if error is not None:
        raise AssertionError(f"torch returned {want!r}; minigrad raised {error!r}") from error
    _compare(got, want, scale)


def check_grad(fn, *arrays, rtol=1e-9, atol=1e-10):
    """Gradients of ``fn(m, *tensors)`` (a tensor, or a tuple whose first is the
    differentiable output) with respect to each float64 input, for one random cotangent."""
    torch = pytest.importorskip("torch")
    results = []
    cotangent = None
    for m in (torch, mg):
        xs = [_tensor(m, np.asarray(a, np.float64), requires_grad=True) for a in arrays]
        y = fn(m, *xs)
        y = y[0] if isinstance(y, (tuple, list)) else y
        if cotangent is None:
            cotangent = np.random.default_rng(0).standard_normal(tuple(y.shape))
        grads = m.autograd.grad(y, xs, _tensor(m, cotangent), allow_unused=True)
        results.append([None if g is None else np.asarray(g.detach().numpy()) for g in grads])
    for i, (g_mg, g_torch) in enumerate(zip(results[1], results[0])):
        if g_torch is None:
            assert g_mg is None or not np.any(g_mg), f"input {i}: torch has no gradient"
            continue
        if g_mg is None:
            assert not np.any(g_torch), f"input {i}: minigrad has no gradient"
            continue
        np.testing.assert_allclose(g_mg, g_torch, rtol=rtol, atol=atol,
                                   err_msg=f"gradient of input {i}")


def _cases(table):
    """pytest parameters from a ``{id: case}`` table, sorted by id."""
    return [pytest.param(table[k], id=k) for k in sorted(table)]


# --------------------------------------------------------------------- inputs

_RNG = np.random.default_rng(1234)
F32, F64, I64, I32, U8, BOOL = (np.float32, np.float64, np.int64, np.int32, np.uint8,
                                np.bool_)
NAN, INF = float("nan"), float("inf")

#: awkward arrays for reductions along a dim: name -> array
ARRAYS = {
    "0d": np.array(1.5, F32),
    "0d_i64": np.array(-3, I64),
    "empty_0x3": np.zeros((0, 3), F32),
    "empty_2x0": np.zeros((2, 0), F64),
    "one": np.array([2.5], F64),
    "vec_f32": _RNG.standard_normal(5).astype(F32),
    "ties": np.array([[1.0, 3.0, 3.0, 1.0], [2.0, 2.0, 2.0, 0.0]], F64),
    "nan_inf": np.array([[1.0, NAN, -INF, 2.0], [INF, -1.0, NAN, NAN]], F64),
    "int": np.array([[3, -1, 4], [1, -5, 9]], I64),
    "int32": np.array([[3, -1], [4, 1]], I32),
    "bool": np.array([[True, False, True], [False, False, True]]),
    "size1": _RNG.standard_normal((1, 3, 1)).astype(F64),
    "3d": _RNG.standard_normal((2, 3, 4)).astype(F32),
}


def _dims(a, with_none=True):
    """The dims worth trying on ``a``: None, 0, -1, the last positive one, one past."""
    dims = [None] if with_none else []
    dims += sorted({0, -1, max(a.ndim - 1, 0), a.ndim + 1})
    return dims


# --------------------------------------------------------------------- reductions along a dim

#: f(m, x, dim, keepdim) -> result; dim may be None where the function accepts it
_DIM_OPS = {
    "cummax": (lambda m, x, d, k: m.cummax(x, d), False),
    "cummin": (lambda m, x, d, k: x.cummin(d), False),
    "logcumsumexp": (lambda m, x, d, k: m.logcumsumexp(x, d), False),
    "nansum": (lambda m, x, d, k: m.nansum(x, d, keepdim=k), True),
    "nanmean": (lambda m, x, d, k: x.nanmean(d, keepdim=k), True),
    "var_mean": (lambda m, x, d, k: m.var_mean(x, d, keepdim=k), True),
    "std_mean_c0": (lambda m, x, d, k: m.std_mean(x, d, correction=0, keepdim=k), True),
    "aminmax": (lambda m, x, d, k: m.aminmax(x, dim=d, keepdim=k), True),
    "count_nonzero": (lambda m, x, d, k: m.count_nonzero(x, d), True),
    "mode": (lambda m, x, d, k: m.mode(x, d, keepdim=k), False),
    "nanmedian": (lambda m, x, d, k: m.nanmedian(x, d, keepdim=k) if d is not None
                  else x.nanmedian(), True),
    "median": (lambda m, x, d, k: m.median(x, d, keepdim=k) if d is not None
               else x.median(), True),
    "msort": (lambda m, x, d, k: m.msort(x), False),
    "quantile": (lambda m, x, d, k: m.quantile(x, 0.3, d, keepdim=k), True),
    "nanquantile_vec": (lambda m, x, d, k: m.nanquantile(
        x, m.tensor([0.0, 0.5, 1.0], dtype=x.dtype) if x.is_floating_point()
        else m.tensor([0.5]), d, keepdim=k), True),
    "unique_consecutive": (lambda m, x, d, k: m.unique_consecutive(
        x, return_inverse=True, return_counts=True, dim=d), True),
    "unique": (lambda m, x, d, k: m.unique(x, return_inverse=True, return_counts=True,
                                           dim=d), True),
}


def _dim_cases():
    out = []
    for op, (fn, with_none) in sorted(_DIM_OPS.items()):
        for name, a in ARRAYS.items():
            for d in _dims(a, with_none):
                for k in (False, True):
                    if k and op in ("cummax", "cummin", "logcumsumexp", "count_nonzero",
                                    "msort", "unique", "unique_consecutive"):
                        continue
                    out.append(pytest.param(fn, a, d, k, id=f"{op}-{name}-dim{d}-k{int(k)}"))
    return out


#: cases not compared with PyTorch (fnmatch patterns of the case ids), and why
_SKIP_DIM = {
    "cum*-empty_*-dim3-*": "torch skips the dim check for an empty input",
    "unique-nan_inf-dim[!N]*": "torch's unique(dim=...) orders slices holding NaN "
                               "inconsistently (its comparisons with NaN are all false)",
    "mode-nan_inf-*": "documented: NaNs are one value to minigrad's mode (pinned below)",
    **dict.fromkeys(("*_mean*-0d_i64-*", "*_mean*-int*", "*_mean*-bool-*"),
                    "documented: integer and bool means (and so variances) give float32 "
                    "where torch raises (pinned below)"),
}


def _skip_documented(table, case_id):
    """Skip a case whose id matches a pattern of ``table``: a divergence from PyTorch that
    the table documents (each entry says why)."""
    why = next((why for pattern, why in table.items() if fnmatch.fnmatch(case_id, pattern)),
               None)
    if why:
        pytest.skip(why)


@pytest.mark.parametrize("fn, a, dim, keepdim", _dim_cases())
def test_reductions_along_a_dim(fn, a, dim, keepdim, request):
    _skip_documented(_SKIP_DIM, request.node.callspec.id)
    check(lambda m: fn(m, _tensor(m, a), dim, keepdim))


def test_reduction_gradients_match_pytorch():
    a = np.array([[0.3, -1.2, 0.3, 2.0], [1.5, 1.5, -0.7, 0.1]])
    with_nan = np.where(np.eye(2, 4, 1) > 0, np.nan, a)
    for fn, x in [
        (lambda m, x: m.cummax(x, 1), a), (lambda m, x: m.cummin(x, 0), a),
        (lambda m, x: m.logcumsumexp(x, -1), a), (lambda m, x: m.logcumsumexp(x, 0), a),
        (lambda m, x: m.nansum(x, 1), with_nan), (lambda m, x: m.nanmean(x, 0), with_nan),
        (lambda m, x: m.nanmean(x, (0, 1), keepdim=True), with_nan),
        (lambda m, x: m.var_mean(x, 1)[0] * m.var_mean(x, 1)[1], a),
        (lambda m, x: m.std_mean(x, 0, correction=0)[0], a),
        (lambda m, x: m.aminmax(x, dim=1).max - m.aminmax(x, dim=1).min, a),
        (lambda m, x: m.nanmedian(x, 1).values, with_nan),
        (lambda m, x: m.quantile(x, m.tensor([0.2, 0.9], dtype=x.dtype), 1), a),
        (lambda m, x: m.nanquantile(x, 0.4, 0, interpolation="midpoint"), with_nan),
        (lambda m, x: m.mode(x, 1).values, a),
    ]:
        check_grad(fn, x)


# --------------------------------------------------------------------- explicit cases


def T(m, a, dtype=None):
    """``a`` (anything np.asarray takes) as a tensor of ``m``, optionally cast to a NumPy
    dtype first."""
    return _tensor(m, np.asarray(a, dtype))


SEQ = np.array([1.0, 2.0, 2.0, 3.0, INF])
SEQ2 = np.array([[1, 3, 5, 7], [2, 2, 4, 8]], I64)

#: id -> f(m): sorting, searching and counting
SORTING_CASES = {
    "cummax_ties_nan": lambda m: m.cummax(T(m, [1.0, 3.0, 3.0, NAN, 2.0, NAN], F32), 0),
    "cummin_int": lambda m: m.cummin(T(m, [[3, 1, 1], [0, 5, -2]], I64), 1),
    "cummax_bool": lambda m: m.cummax(T(m, [False, True, False]), 0),
    "cummax_uint8": lambda m: m.cummax(T(m, [2, 1, 5], U8), 0),
    "cummin_nc": lambda m: m.cummin(_nc(m, ARRAYS["3d"]), 1),
    "cummax_inf": lambda m: m.cummax(T(m, [-INF, -INF, INF, 1.0], F64), 0),
    "cummax_dim_oob": lambda m: m.cummax(T(m, [1.0, 2.0]), 1),
    "logcumsumexp_inf": lambda m: m.logcumsumexp(T(m, [-INF, -INF, 0.0, INF, 1.0], F64), 0),
    "logcumsumexp_nan": lambda m: m.logcumsumexp(T(m, [1.0, NAN, 0.0], F32), 0),
    "logcumsumexp_big": lambda m: m.logcumsumexp(T(m, [1000.0, 1000.0, -1000.0], F32), 0),
    "logcumsumexp_nc": lambda m: m.logcumsumexp(_nc(m, ARRAYS["ties"]), 1),
    "searchsorted": lambda m: m.searchsorted(T(m, SEQ), T(m, [0.0, 2.0, 2.5, NAN, INF])),
    "searchsorted_right": lambda m: m.searchsorted(T(m, SEQ), T(m, [2.0, NAN]), right=True),
    "searchsorted_side": lambda m: m.searchsorted(T(m, SEQ), T(m, [2.0, 3.0]), side="right"),
    "searchsorted_bad_side": lambda m: m.searchsorted(T(m, SEQ), T(m, [2.0]), side="up"),
    "searchsorted_conflict": lambda m: m.searchsorted(T(m, SEQ), T(m, [2.0]), right=True,
                                                      side="left"),
    "searchsorted_int32": lambda m: m.searchsorted(T(m, SEQ), T(m, [2.0]), out_int32=True),
    "searchsorted_scalar": lambda m: m.searchsorted(T(m, SEQ), 2.0),
    "searchsorted_0d": lambda m: m.searchsorted(T(m, SEQ), T(m, 2.5)),
    "searchsorted_2d": lambda m: m.searchsorted(T(m, SEQ2), T(m, [[3, 8], [2, 0]], I64)),
    "searchsorted_2d_right": lambda m: m.searchsorted(T(m, SEQ2), T(m, [[3, 8], [2, 0]], I64),
                                                      right=True),
    "searchsorted_2d_1d_values": lambda m: m.searchsorted(T(m, SEQ2), T(m, [3, 8], I64)),
    "searchsorted_2d_bad_rows": lambda m: m.searchsorted(T(m, SEQ2), T(m, [[3], [2], [1]], I64)),
    "searchsorted_1d_2d_values": lambda m: m.searchsorted(T(m, SEQ), T(m, [[1.0], [3.0]])),
    "searchsorted_empty_seq": lambda m: m.searchsorted(T(m, np.zeros(0)), T(m, [1.0])),
    "searchsorted_empty_values": lambda m: m.searchsorted(T(m, SEQ), T(m, np.zeros((2, 0)))),
    "searchsorted_sorter": lambda m: m.searchsorted(T(m, [3.0, 1.0, 2.0]), T(m, [2.5, 0.0]),
                                                    sorter=T(m, [1, 2, 0], I64)),
    # torch's binary search treats a NaN in the sequence as smaller than every value,
    # against its own sort order (NaN last), so a sequence holding NaN is not compared
    "searchsorted_0d_seq": lambda m: m.searchsorted(T(m, 2.0), T(m, [1.0])),
    "searchsorted_mixed": lambda m: m.searchsorted(T(m, [1, 2, 3], I64), T(m, [1.5, 2.5])),
    "searchsorted_f32_f64": lambda m: m.searchsorted(T(m, [1, 2, 3], F32),
                                                     T(m, [1.5, 2.5], F64)),
    "searchsorted_bool": lambda m: m.searchsorted(T(m, [False, True]), T(m, [True])),
    "searchsorted_nc": lambda m: m.searchsorted(_nc(m, SEQ2.T).T, T(m, [[3, 8], [2, 0]], I64)),
    "bucketize": lambda m: m.bucketize(T(m, [[0.5, 1.0], [2.5, NAN]]), T(m, [1.0, 2.0])),
    "bucketize_right": lambda m: m.bucketize(T(m, [1.0, 2.0, 3.0]), T(m, [1.0, 2.0]),
                                             right=True),
    "bucketize_int32": lambda m: m.bucketize(T(m, [1, 5], I64), T(m, [1, 2], I64),
                                             out_int32=True),
    "bucketize_scalar": lambda m: m.bucketize(1.5, T(m, [1.0, 2.0])),
    "bucketize_0d": lambda m: m.bucketize(T(m, 1.5), T(m, [1.0, 2.0])),
    "bucketize_2d_boundaries": lambda m: m.bucketize(T(m, [1.0]), T(m, [[1.0, 2.0]])),
    "bucketize_empty": lambda m: m.bucketize(T(m, np.zeros((0, 2))), T(m, [1.0, 2.0])),
    "nonzero": lambda m: m.nonzero(T(m, [[0.0, NAN], [-0.0, 2.0]])),
    "nonzero_0d": lambda m: m.nonzero(T(m, 5)),
    "nonzero_0d_zero": lambda m: m.nonzero(T(m, 0.0)),
    "nonzero_empty": lambda m: m.nonzero(T(m, np.zeros((2, 0, 3)))),
    "nonzero_tuple": lambda m: m.nonzero(T(m, [[0, 1], [2, 0]], I64), as_tuple=True),
    "nonzero_tuple_0d": lambda m: m.nonzero(T(m, 5), as_tuple=True),
    "nonzero_tuple_0d_zero": lambda m: m.nonzero(T(m, False), as_tuple=True),
    "nonzero_bool_nc": lambda m: _nc(m, ARRAYS["bool"]).nonzero(),
    "argwhere": lambda m: m.argwhere(T(m, [[0, 1], [2, 0]], I32)),
    "argwhere_0d": lambda m: m.argwhere(T(m, 1.0)),
    "argwhere_empty": lambda m: T(m, np.zeros(0)).argwhere(),
    "count_nonzero_tuple": lambda m: m.count_nonzero(T(m, ARRAYS["3d"] > 0), (0, 2)),
    "count_nonzero_neg_tuple": lambda m: m.count_nonzero(T(m, ARRAYS["3d"] > 0), (-1, 0)),
    "count_nonzero_repeat": lambda m: m.count_nonzero(T(m, ARRAYS["3d"]), (0, -3)),
    "count_nonzero_nan": lambda m: m.count_nonzero(T(m, [NAN, 0.0, -0.0, INF])),
    "count_nonzero_0d_dim": lambda m: m.count_nonzero(T(m, 3.0), 0),
    "count_nonzero_empty_tuple": lambda m: m.count_nonzero(T(m, ARRAYS["3d"]), ()),
    "count_nonzero_method": lambda m: T(m, ARRAYS["int"]).count_nonzero(dim=-1),
    "unique_default": lambda m: m.unique(T(m, [3, 1, 3, 2], I64)),
    "unique_bool": lambda m: m.unique(T(m, [True, False, True]), return_counts=True),
    "unique_nan": lambda m: m.unique(T(m, [NAN, 1.0, NAN, -0.0, 0.0]), return_inverse=True),
    "unique_0d": lambda m: m.unique(T(m, 2.0), return_inverse=True, return_counts=True),
    "unique_empty": lambda m: m.unique(T(m, np.zeros((0, 2))), return_inverse=True),
    "unique_dim_rows": lambda m: m.unique(T(m, [[1, 2], [0, 5], [1, 2]], I64), dim=0,
                                          return_inverse=True, return_counts=True),
    "unique_dim_nc": lambda m: m.unique(_nc(m, [[1, 2], [0, 5], [1, 2]]), dim=1),
    "unique_method_unsorted": lambda m: T(m, [3, 1, 3], I64).unique(sorted=False),
    "unique_consecutive_nan": lambda m: m.unique_consecutive(
        T(m, [NAN, NAN, 1.0, 1.0]), return_inverse=True, return_counts=True),
    "unique_consecutive_0d": lambda m: m.unique_consecutive(T(m, 2.0), return_inverse=True),
    "unique_consecutive_dim": lambda m: m.unique_consecutive(
        T(m, [[1, 1, 2], [3, 3, 4]], I64), dim=1, return_inverse=True, return_counts=True),
    "unique_consecutive_bool": lambda m: T(m, [True, True, False]).unique_consecutive(),
    "msort_nan": lambda m: m.msort(T(m, [[NAN, 1.0], [0.0, -INF], [2.0, NAN]])),
    "msort_0d": lambda m: m.msort(T(m, 2.0)),
}


@pytest.mark.parametrize("fn", _cases(SORTING_CASES))
def test_sorting_and_searching(fn):
    check(fn)


# --------------------------------------------------------------------- elementwise, over dtypes

_FLOATS = np.array([[-2.5, -0.0, 0.0, 1.5], [NAN, INF, -INF, 3.0], [7.0, -7.0, 1e-39, 2.0]])
_INTS = np.array([[-7, 0, 5, 12], [3, -4, 1, 8], [0, 64, -1, 2]])

#: operand kinds: name -> f(m, which) building operand 0 or 1 (shapes broadcast together)
_OPERANDS = {
    "f32": lambda m, i: T(m, _FLOATS if i == 0 else _FLOATS[::-1], F32),
    "f64": lambda m, i: T(m, _FLOATS[:, ::-1] if i else _FLOATS, F64),
    "f64_0d": lambda m, i: T(m, 2.0 if i else -3.0, F64),
    "f32_col": lambda m, i: T(m, _FLOATS[:, :1], F32),
    "f32_nc": lambda m, i: _nc(m, _FLOATS.astype(F32)),             # a transposed view
    "i64": lambda m, i: T(m, _INTS[::-1] if i else _INTS, I64),
    "i32": lambda m, i: T(m, _INTS if i else _INTS[:, ::-1], I32),
    "u8": lambda m, i: T(m, np.abs(_INTS), U8),
    "i64_row": lambda m, i: T(m, _INTS[1], I64),
    "bool": lambda m, i: T(m, (_INTS % 2 == 0) if i else (_INTS > 0)),
    "int": lambda m, i: 3 if i else -5,
    "float": lambda m, i: 2.5 if i else -1.5,
    "empty": lambda m, i: T(m, np.zeros((0, 4)), F32),
}

_BINARY = {
    "fmax": lambda m, a, b: m.fmax(a, b),
    "fmin": lambda m, a, b: m.fmin(a, b),
    "fmod": lambda m, a, b: m.fmod(a, b),
    "ldexp": lambda m, a, b: m.ldexp(a, b),
    "nextafter": lambda m, a, b: m.nextafter(a, b),
    "bitwise_and": lambda m, a, b: m.bitwise_and(a, b),
    "bitwise_or": lambda m, a, b: m.bitwise_or(a, b),
    "bitwise_xor": lambda m, a, b: m.bitwise_xor(a, b),
    "left_shift": lambda m, a, b: m.bitwise_left_shift(a, b),
    "right_shift": lambda m, a, b: m.bitwise_right_shift(a, b),
    "gcd": lambda m, a, b: m.gcd(a, b),
    "lcm": lambda m, a, b: m.lcm(a, b),
    "igamma": lambda m, a, b: m.igamma(a, b),
    "igammac": lambda m, a, b: m.igammac(a, b),
    "xlog1py": lambda m, a, b: m.special.xlog1py(a, b),
    "rsub": lambda m, a, b: m.rsub(a, b),
    "isin": lambda m, a, b: m.isin(a, b),
}

_PAIRS = [("f32", "f32"), ("f64", "f32"), ("f32", "f64_0d"), ("f32_col", "f64"),
          ("f32_nc", "f32"), ("i64", "i64"), ("i32", "i64"), ("u8", "i32"), ("i64", "i64_row"),
          ("bool", "bool"), ("bool", "i64"), ("i64", "f32"), ("f32", "float"), ("i64", "int"),
          ("int", "i64"), ("float", "f64"), ("empty", "f32_col"), ("f32", "empty")]

#: (op, pair) cases not compared, and why
_SKIP_BINARY = {
    "igamma*-f32_col-f64": "torch's igamma(nan, inf) is 1 (its Cephes port tests x = inf "
                           "before a = nan); minigrad gives nan",
    # minigrad takes a Python number for either operand of these (an extension); torch's
    # argument parser wants tensors
    **dict.fromkeys(
        [f"{op}-{p}" for op in ("fmax", "fmin", "gcd", "lcm", "igamma", "igammac")
         for p in ("*-int", "*-float", "int-*", "float-*")]
        + ["ldexp-*-int", "ldexp-*-float", "rsub-int-*", "rsub-float-*"],
        "minigrad accepts a number here (an extension); torch's parser wants a tensor"),
}


def _binary_cases():
    out = []
    for op, fn in sorted(_BINARY.items()):
        for p in _PAIRS:
            out.append(pytest.param(fn, *p, id=f"{op}-{p[0]}-{p[1]}"))
    return out


@pytest.mark.parametrize("fn, left, right", _binary_cases())
def test_binary_functions_over_dtypes(fn, left, right, request):
    _skip_documented(_SKIP_BINARY, request.node.callspec.id)
    with np.errstate(all="ignore"):
        check(lambda m: fn(m, _OPERANDS[left](m, 0), _OPERANDS[right](m, 1)), scale=10)


_UNARY_VALUES = np.array([[-3.5, -1.0, -0.0, 0.0, 1e-30], [0.5, 1.0, 2.0, 7.5, 30.0],
                          [NAN, INF, -INF, 1e-39, -2.0]])

_UNARY_INPUTS = {
    "f32": lambda m: T(m, _UNARY_VALUES, F32),
    "f64": lambda m: T(m, _UNARY_VALUES, F64),
    "f64_0d": lambda m: T(m, 0.75, F64),
    "f32_empty": lambda m: T(m, np.zeros((2, 0)), F32),
    "f64_nc": lambda m: _nc(m, _UNARY_VALUES),
    "i64": lambda m: T(m, [[-3, 0, 1], [2, 5, 40]], I64),
    "u8": lambda m: T(m, [0, 1, 200], U8),
    "bool": lambda m: T(m, [[True, False]]),
}

_UNARY = {
    "frexp": lambda m, x: m.frexp(x),
    "signbit": lambda m, x: m.signbit(x),
    "bitwise_not": lambda m, x: m.bitwise_not(x),
    "positive": lambda m, x: m.positive(x),
    "ravel": lambda m, x: m.ravel(x),
    "isreal": lambda m, x: m.isreal(x),
    "is_signed": lambda m, x: x.is_signed(),
    "i0": lambda m, x: m.i0(x),
    "i0e": lambda m, x: m.special.i0e(x),
    "i1": lambda m, x: m.special.i1(x),
    "i1e": lambda m, x: m.special.i1e(x),
    "lgamma": lambda m, x: m.lgamma(x),
    "digamma": lambda m, x: m.digamma(x),
    "polygamma1": lambda m, x: m.polygamma(1, x),
    "polygamma3": lambda m, x: x.polygamma(3),
    "mvlgamma": lambda m, x: m.mvlgamma(x, 2),
    "ndtr": lambda m, x: m.special.ndtr(x),
    "ndtri": lambda m, x: m.special.ndtri(x),
    "log_ndtr": lambda m, x: m.special.log_ndtr(x),
    "entr": lambda m, x: m.special.entr(x),
    "erf": lambda m, x: m.special.erf(x),
    "expm1": lambda m, x: m.special.expm1(x),
    "exp2": lambda m, x: m.special.exp2(x),
    "log1p": lambda m, x: m.special.log1p(x),
    "round": lambda m, x: m.special.round(x),
    "round_decimals": lambda m, x: m.special.round(x, decimals=1),
    "expit": lambda m, x: m.special.expit(x),
    "logit": lambda m, x: m.special.logit(x),
    "sinc": lambda m, x: m.special.sinc(x),
    "gammaln": lambda m, x: m.special.gammaln(x),
    "psi": lambda m, x: m.special.psi(x),
    "multigammaln": lambda m, x: m.special.multigammaln(x, 3),
    "xlogy_self": lambda m, x: m.special.xlogy(x, x),
    "xlog1py_scalar": lambda m, x: m.special.xlog1py(x, 2.5),
    "xlog1py_scalar_first": lambda m, x: m.special.xlog1py(0.5, x),
    "softmax": lambda m, x: m.special.softmax(x, -1),
    "log_softmax": lambda m, x: m.special.log_softmax(x, 0),
    "logsumexp": lambda m, x: m.special.logsumexp(x, -1),
}

#: (op, input) cases not compared, and why
_SKIP_UNARY = {
    "mvlgamma-*": "compared on its domain below (torch raises for any x <= (p - 1)/2)",
    "multigammaln-*": "compared on its domain below",
    **dict.fromkeys(["i0-f*", "i1-f*"], "documented: I0(±inf) = inf and I1(±inf) = ±inf "
                                        "(torch: nan); compared on finite inputs below"),
    **dict.fromkeys(["digamma-*", "psi-*"],
                    "documented: ψ is nan at its poles, 0 included (torch: ∓inf at ±0); "
                    "compared away from 0 below"),
    "polygamma*-[fi]*": "torch is inconsistent at ±inf (ψ⁽¹⁾(inf) = 0, ψ⁽³⁾(inf) = nan) and "
                     "at the poles; compared on finite inputs below",
    "round*-[iub]*": "minigrad rounds integers to themselves (the core round); torch "
                     "refuses them",
    "ndtr-f32": "torch's float32 ndtr loses digits in the tail (3e-5 relative at -3.5); "
                "compared in float64",
}


def _unary_cases():
    return [pytest.param(fn, inp, id=f"{op}-{inp}")
            for op, fn in sorted(_UNARY.items()) for inp in _UNARY_INPUTS]


@pytest.mark.parametrize("fn, inp", _unary_cases())
def test_unary_functions_over_dtypes(fn, inp, request):
    _skip_documented(_SKIP_UNARY, request.node.callspec.id)
    with np.errstate(all="ignore"):
        check(lambda m: fn(m, _UNARY_INPUTS[inp](m)), scale=10)


_DOMAIN = np.array([[-7.3, -2.5, -0.6, 1e-8, 0.3], [0.5, 1.0, 2.0, 7.5, 30.0],
                    [1e3, -1e-30, 55.0, 1e-39, 123.456]])

#: id -> f(m): the special functions on their domain, finite and away from poles
SPECIAL_CASES = {
    **{f"{op}-{dt.__name__}": lambda m, op=op, dt=dt: getattr(m.special, op)(
        T(m, _DOMAIN, dt))
       for op in ("i0", "i1", "i0e", "i1e", "digamma", "gammaln", "ndtr", "log_ndtr")
       for dt in (F32, F64)},
    **{f"polygamma{n}-{dt.__name__}": lambda m, n=n, dt=dt: m.polygamma(
        n, T(m, _DOMAIN[:, 1:] if n else _DOMAIN, dt))
       for n in (1, 2, 3, 4) for dt in (F32, F64)},
    "mvlgamma": lambda m: m.mvlgamma(T(m, [[1.6, 2.0], [7.5, 30.0]], F64), 3),
    "mvlgamma_p1": lambda m: T(m, [0.1, 2.0], F32).mvlgamma(1),
    "mvlgamma_int": lambda m: m.mvlgamma(T(m, [2, 3], I64), 2),
    "mvlgamma_p0": lambda m: m.mvlgamma(T(m, [1.6], F64), 0),
    "multigammaln": lambda m: m.special.multigammaln(T(m, [3.0, 40.0], F64), 4),
    "ndtri_tails": lambda m: m.special.ndtri(T(m, [1e-300, 1e-30, 1e-15, 1e-6, 0.1, 0.5,
                                                   0.9, 1 - 1e-9, 1 - 1e-16], F64)),
    "ndtri_f32": lambda m: m.special.ndtri(T(m, np.linspace(0, 1, 101), F32)),
    "ndtri_outside": lambda m: m.special.ndtri(T(m, [-0.5, 1.5, NAN, 0.0, 1.0], F64)),
    "ndtr_f64_tail": lambda m: m.special.ndtr(T(m, [-40.0, -3.5, -1.0, 0.0, 8.0], F64)),
    "log_ndtr_tails": lambda m: m.special.log_ndtr(T(m, [-1e3, -38.0, -20.5, -5.0, 0.0,
                                                         6.0, 40.0], F64)),
    "xlog1py_zero": lambda m: m.special.xlog1py(T(m, [0.0, 0.0, 1.0, 2.0]),
                                                T(m, [-1.0, NAN, -1.0, -2.0])),
    "xlog1py_int_float": lambda m: m.special.xlog1py(T(m, [1, 2], I64), 2.5),
    "xlog1py_bcast": lambda m: m.special.xlog1py(T(m, [[1.0], [2.0]], F64), T(m, [0.5, 1e-20],
                                                                              F32)),
    "xlogy_number": lambda m: m.special.xlogy(2.0, T(m, [0.5, 3.0], F64)),
    "entr_edge": lambda m: m.special.entr(T(m, [0.0, -0.0, 1e-300, INF, -INF, NAN], F64)),
    "entr_int": lambda m: m.special.entr(T(m, [0, 1, 3], I64)),
    "logit_eps": lambda m: m.special.logit(T(m, [0.0, 0.3, 1.0], F64), eps=1e-6),
    "igamma_edges": lambda m: m.igamma(T(m, [0.0, 0.0, 1.0, 1.0, INF, 2.0, -1.0, 1e-3], F64),
                                       T(m, [0.0, 1.0, 0.0, INF, 1.0, 1e3, 1.0, 1e-3], F64)),
    "igammac_edges": lambda m: m.igammac(T(m, [0.0, 0.0, 1.0, 1.0, INF, 2.0, -1.0, 1e-3], F64),
                                         T(m, [0.0, 1.0, 0.0, INF, 1.0, 1e3, 1.0, 1e-3], F64)),
    "igamma_large": lambda m: m.special.gammainc(T(m, [1e3, 1e5, 50.0, 0.5], F64),
                                                 T(m, [1e3, 1.01e5, 10.0, 30.0], F64)),
    "igammac_large": lambda m: m.special.gammaincc(T(m, [1e3, 1e5, 50.0, 0.5], F64),
                                                   T(m, [1e3, 1.01e5, 10.0, 30.0], F64)),
    "igamma_int_other": lambda m: m.igamma(T(m, [1.5, 2.0], F64), T(m, [1, 3], I64)),
    "igamma_ints": lambda m: m.igamma(T(m, [1, 2], I64), T(m, [1, 3], I64)),
    "i0_f16": lambda m: m.i0(T(m, [0.5, 3.0], np.float16)),
    "frexp_edge": lambda m: m.frexp(T(m, [0.0, -0.0, 1e-45, -3.0, 1e38], F32)),
    "frexp_int": lambda m: m.frexp(T(m, [1, 2], I64)),
    "frexp_f16": lambda m: T(m, [0.1, -6.0], np.float16).frexp(),
    "ldexp_f16": lambda m: m.ldexp(T(m, [1.5, 2.0], np.float16), T(m, [3, -2], I64)),
    "ldexp_big_exponent": lambda m: m.ldexp(T(m, [1.0, 1.0], F32), T(m, [200, -200], I64)),
    "signbit_int": lambda m: m.signbit(T(m, [-1, 0, 3], I32)),
    "nextafter_same": lambda m: m.nextafter(T(m, [1.0, 0.0, INF, NAN], F64),
                                            T(m, [1.0, -1.0, 0.0, 1.0], F64)),
    "nextafter_f32_zero": lambda m: m.nextafter(T(m, [0.0], F32), T(m, [1.0], F32)),
    "fmod_int_zero": lambda m: m.fmod(T(m, [5, -5], I64), T(m, [0, 3], I64)),
    "fmod_float_zero": lambda m: m.fmod(T(m, [5.0, -5.0, INF], F32), T(m, [0.0, INF, 2.0], F32)),
    "fmod_int_number": lambda m: m.fmod(T(m, [5, -5], I64), 3),
    "fmod_int_float_number": lambda m: m.fmod(T(m, [5, -5], I64), 1.5),
    "fmod_method": lambda m: T(m, [5.5, -5.5], F64).fmod(-2.0),
    "fmax_nan_both": lambda m: m.fmax(T(m, [NAN, NAN, 1.0], F32), T(m, [NAN, 2.0, NAN], F32)),
    "shift_negative": lambda m: m.bitwise_left_shift(T(m, [1, -8, 3], I64), T(m, [-1, 2, 70],
                                                                               I64)),
    "right_shift_negative": lambda m: m.bitwise_right_shift(T(m, [-8, 8, -1], I64),
                                                            T(m, [-1, 70, 63], I64)),
    "shift_u8": lambda m: m.bitwise_right_shift(T(m, [200, 3], U8), T(m, [9, 1], U8)),
    "shift_i32_overflow": lambda m: m.bitwise_left_shift(T(m, [1, 3], I32), T(m, [31, 30], I32)),
    "shift_operator": lambda m: T(m, [1, 2], I64) << 3,
    "gcd_zero": lambda m: m.gcd(T(m, [0, 0, -4], I64), T(m, [0, -6, 0], I64)),
    "lcm_zero_neg": lambda m: m.lcm(T(m, [0, -4, -3], I64), T(m, [0, 6, -5], I64)),
    "bitwise_not_u8": lambda m: m.bitwise_not(T(m, [0, 255], U8)),
    "bitwise_xor_scalar_bool": lambda m: m.bitwise_xor(T(m, [True, False]), True),
}


@pytest.mark.parametrize("fn", _cases(SPECIAL_CASES))
def test_special_and_elementwise_cases(fn):
    with np.errstate(all="ignore"):
        check(fn, scale=10)


def test_special_and_elementwise_gradients_match_pytorch():
    x = np.array([[0.3, 1.7, 4.2], [2.5, 0.9, 11.0]])
    y = np.array([[1.1, 0.4, 3.0], [-0.7, 2.0, 5.5]])
    for fn, args in [
        (lambda m, a: m.lgamma(a), (x,)), (lambda m, a: m.digamma(a), (x,)),
        (lambda m, a: m.polygamma(2, a), (x,)), (lambda m, a: m.mvlgamma(a, 2), (x + 1,)),
        (lambda m, a: m.i0(a), (y,)), (lambda m, a: m.special.i0e(a), (y,)),
        (lambda m, a: m.special.i1(a), (y,)), (lambda m, a: m.special.i1e(a), (y,)),
        (lambda m, a: m.special.ndtr(a), (y,)), (lambda m, a: m.special.ndtri(a), (x / 12,)),
        (lambda m, a: m.special.log_ndtr(a), (y * 3 - 20,)), (lambda m, a: m.special.entr(a),
                                                               (x,)),
        (lambda m, a, b: m.special.xlog1py(a, b), (y, x)),
        (lambda m, a, b: m.fmax(a, b), (x, y)), (lambda m, a, b: m.fmin(a, b), (x, y)),
        (lambda m, a, b: m.fmod(a, b), (y * 5, x)),
        (lambda m, a, b: m.ldexp(a, b), (y, x)),
        (lambda m, a: m.frexp(a).mantissa, (y * 9,)),
        (lambda m, a: m.igamma(a.detach() + 1, a), (x,)),
        (lambda m, a: m.igammac(a.detach() * 0 + 2.5, a), (x,)),
        (lambda m, a, b: m.dist(a, b), (x, y)), (lambda m, a, b: m.dist(a, b, 3.5), (x, y)),
        (lambda m, a, b: m.dist(a, b, INF), (x, y)),
        (lambda m, a: m.renorm(a, 2, 0, 5.0), (x,)), (lambda m, a: m.renorm(a, 1, -1, 4.0), (y,)),
        (lambda m, a: m.cov(a), (y,)), (lambda m, a: m.corrcoef(a), (y,)),
        (lambda m, a, w: m.cov(a, correction=0, aweights=w[0]), (y, x)),
    ]:
        check_grad(fn, *args)


# --------------------------------------------------------------------- statistics

_OBS = np.array([[0.5, 2.0, -1.0, 4.0, 3.5], [1.0, 1.0, 0.0, 2.5, -2.0], [3.0, -1.0, 2.0, 0.0,
                                                                            1.0]])

#: id -> f(m)
STATISTICS_CASES = {
    "bincount": lambda m: m.bincount(T(m, [0, 3, 3, 1], I64)),
    "bincount_minlength": lambda m: m.bincount(T(m, [0, 1], I32), minlength=5),
    "bincount_empty": lambda m: m.bincount(T(m, np.zeros(0, I64))),
    "bincount_empty_minlength": lambda m: m.bincount(T(m, np.zeros(0, I64)), minlength=3),
    "bincount_u8": lambda m: m.bincount(T(m, [2, 2, 0], U8)),
    "bincount_bool": lambda m: m.bincount(T(m, [True, False])),
    "bincount_negative": lambda m: m.bincount(T(m, [0, -1], I64)),
    "bincount_float": lambda m: m.bincount(T(m, [0.0, 1.0], F32)),
    "bincount_2d": lambda m: m.bincount(T(m, [[0, 1]], I64)),
    "bincount_weights_f32": lambda m: m.bincount(T(m, [0, 2, 2], I64), T(m, [0.5, 1, 2], F32)),
    "bincount_weights_f64": lambda m: m.bincount(T(m, [0, 2, 2], I64), T(m, [0.5, 1, 2], F64)),
    "bincount_weights_int": lambda m: m.bincount(T(m, [0, 2, 2], I64), T(m, [5, 1, 2], I64)),
    "bincount_weights_f16": lambda m: m.bincount(T(m, [0, 2], I64), T(m, [5, 1], np.float16)),
    "bincount_weights_bad": lambda m: m.bincount(T(m, [0, 2, 2], I64), T(m, [5.0, 1.0], F32)),
    "bincount_negative_minlength": lambda m: m.bincount(T(m, [0], I64), minlength=-1),
    "bincount_method": lambda m: T(m, [1, 1, 4], I64).bincount(minlength=2),
    "histc": lambda m: m.histc(T(m, [1.0, 2.0, 1.0, 2.5, 3.0, -1.0], F32), bins=4, min=0,
                               max=3),
    "histc_default_range": lambda m: m.histc(T(m, [1.0, 2.0, 1.0, 7.5], F64), bins=5),
    "histc_one_point": lambda m: m.histc(T(m, [2.0, 2.0], F32), bins=4),
    "histc_nan": lambda m: m.histc(T(m, [1.0, NAN, 2.0], F32), bins=2, min=0, max=3),
    "histc_inf": lambda m: m.histc(T(m, [1.0, INF, 2.0], F32), bins=2, min=0, max=3),
    "histc_empty": lambda m: m.histc(T(m, np.zeros(0), F32), bins=3),
    "histc_int": lambda m: m.histc(T(m, [1, 2], I64), bins=3),
    "histc_2d": lambda m: T(m, _OBS, F32).histc(bins=6, min=-2, max=4),
    "histc_max_lt_min": lambda m: m.histc(T(m, [1.0], F32), bins=3, min=2, max=1),
    "histc_zero_bins": lambda m: m.histc(T(m, [1.0], F32), bins=0),
    "histc_edge_rounding": lambda m: m.histc(T(m, [0.1, 0.2, 0.3, 0.7, 0.9], F32), bins=10,
                                             min=0, max=1),
    "histogram": lambda m: m.histogram(T(m, _OBS, F32), bins=4),
    "histogram_range": lambda m: m.histogram(T(m, _OBS, F64), bins=3, range=(-1.0, 2.0)),
    "histogram_edges": lambda m: m.histogram(T(m, _OBS, F32), T(m, [-2.0, 0.0, 0.5, 4.0], F32)),
    "histogram_weight": lambda m: m.histogram(T(m, _OBS, F64), bins=3,
                                              weight=T(m, np.abs(_OBS), F64)),
    "histogram_density": lambda m: m.histogram(T(m, _OBS, F32), bins=5, density=True),
    "histogram_density_edges": lambda m: m.histogram(
        T(m, _OBS, F64), T(m, [-2.0, 0.0, 0.5, 4.0], F64), density=True),
    "histogram_one_point": lambda m: m.histogram(T(m, [3.0, 3.0], F32), bins=2),
    "histogram_empty": lambda m: m.histogram(T(m, np.zeros(0), F32), bins=2),
    "histogram_nan": lambda m: m.histogram(T(m, [1.0, NAN], F32), bins=2, range=(0.0, 2.0)),
    "histogram_int": lambda m: m.histogram(T(m, [1, 2], I64), bins=2),
    "histogram_edges_dtype": lambda m: m.histogram(T(m, [1.0], F32), T(m, [0.0, 2.0], F64)),
    "histogram_range_reversed": lambda m: m.histogram(T(m, [1.0], F32), bins=2,
                                                      range=(2.0, 1.0)),
    "histogram_method": lambda m: T(m, [0.5, 1.5], F64).histogram(3),
    "cov": lambda m: m.cov(T(m, _OBS, F64)),
    "cov_1d": lambda m: m.cov(T(m, _OBS[0], F32)),
    "cov_0d": lambda m: m.cov(T(m, 2.0, F32)),
    "cov_one_obs": lambda m: m.cov(T(m, _OBS[:, :1], F64)),
    "cov_correction0": lambda m: m.cov(T(m, _OBS, F32), correction=0),
    "cov_correction2": lambda m: m.cov(T(m, _OBS, F64), correction=2),
    "cov_fweights": lambda m: m.cov(T(m, _OBS, F64), fweights=T(m, [1, 2, 0, 1, 3], I64)),
    "cov_aweights": lambda m: m.cov(T(m, _OBS, F64), aweights=T(m, [0.5, 2, 1, 1, 3], F64)),
    "cov_both": lambda m: m.cov(T(m, _OBS, F64), fweights=T(m, [1, 2, 1, 1, 3], I64),
                                aweights=T(m, [0.5, 2, 1, 1, 3], F64)),
    "cov_aweights_f32": lambda m: m.cov(T(m, _OBS, F32), aweights=T(m, [0.5, 2, 1, 1, 3], F32)),
    "cov_int": lambda m: m.cov(T(m, [[1, 2, 4], [0, 0, 1]], I64)),
    "cov_bool": lambda m: m.cov(T(m, [[True, False]])),
    "cov_3d": lambda m: m.cov(T(m, np.zeros((2, 2, 2)), F32)),
    "cov_fweights_negative": lambda m: m.cov(T(m, _OBS, F64), fweights=T(m, [1, -2, 0, 1, 3],
                                                                          I64)),
    "cov_fweights_float": lambda m: m.cov(T(m, _OBS, F64), fweights=T(m, [1.0] * 5, F64)),
    "cov_weights_count": lambda m: m.cov(T(m, _OBS, F64), aweights=T(m, [1.0] * 4, F64)),
    "cov_nc": lambda m: m.cov(_nc(m, _OBS.T).T),
    "cov_nan": lambda m: m.cov(T(m, [[1.0, NAN, 2.0], [0.0, 1.0, 2.0]], F64)),
    "cov_empty_obs": lambda m: m.cov(T(m, np.zeros((2, 0)), F64)),
    "corrcoef": lambda m: m.corrcoef(T(m, _OBS, F64)),
    "corrcoef_f32": lambda m: m.corrcoef(T(m, _OBS, F32)),
    "corrcoef_constant": lambda m: m.corrcoef(T(m, [[1.0, 1.0, 1.0], [0.0, 1.0, 2.0]], F64)),
    "corrcoef_1d": lambda m: m.corrcoef(T(m, _OBS[0], F64)),
    "corrcoef_int": lambda m: m.corrcoef(T(m, [[1, 2, 4], [0, 5, 1]], I64)),
    "corrcoef_one_var": lambda m: m.corrcoef(T(m, _OBS[:1], F64)),
    "renorm": lambda m: m.renorm(T(m, _OBS, F64), 2, 0, 3.0),
    "renorm_dim1": lambda m: m.renorm(T(m, _OBS, F32), 1, 1, 2.0),
    "renorm_neg_dim": lambda m: m.renorm(T(m, _OBS, F64), 3.5, -1, 2.0),
    "renorm_inf": lambda m: m.renorm(T(m, _OBS, F64), INF, 0, 2.0),
    "renorm_3d": lambda m: m.renorm(T(m, ARRAYS["3d"], F32), 2, 1, 1.0),
    "renorm_zero_maxnorm": lambda m: m.renorm(T(m, _OBS, F64), 2, 0, 0.0),
    "renorm_1d": lambda m: m.renorm(T(m, _OBS[0], F64), 2, 0, 1.0),
    "renorm_p0": lambda m: m.renorm(T(m, _OBS, F64), 0, 0, 1.0),
    "renorm_int": lambda m: m.renorm(T(m, [[3, 4]], I64), 2, 0, 1.0),
    "renorm_negative_maxnorm": lambda m: m.renorm(T(m, _OBS, F64), 2, 0, -1.0),
    "renorm_nc": lambda m: m.renorm(_nc(m, _OBS), 2, 1, 1.0),
    "renorm_dim_oob": lambda m: m.renorm(T(m, _OBS, F64), 2, 2, 1.0),
    "dist": lambda m: m.dist(T(m, _OBS, F64), T(m, _OBS[::-1], F64)),
    "dist_bcast": lambda m: m.dist(T(m, _OBS, F32), T(m, _OBS[0], F32), 1),
    "dist_p0": lambda m: m.dist(T(m, _OBS, F64), T(m, _OBS[0], F64), 0),
    "dist_inf": lambda m: m.dist(T(m, _OBS, F64), T(m, _OBS[0] * 0, F64), INF),
    "dist_neg_inf": lambda m: m.dist(T(m, _OBS, F64), T(m, _OBS[0] * 0, F64), -INF),
    "dist_frac": lambda m: m.dist(T(m, _OBS, F64), T(m, _OBS[0] * 0, F64), 0.5),
    "dist_negative_p": lambda m: m.dist(T(m, _OBS, F64), T(m, _OBS[0] * 0 + 1, F64), -2),
    "dist_int": lambda m: m.dist(T(m, [1, 2], I64), T(m, [3, 4], I64)),
    "dist_mixed": lambda m: m.dist(T(m, [1.0, 2.0], F32), T(m, [3.0, 4.0], F64)),
    "dist_empty": lambda m: m.dist(T(m, np.zeros(0), F32), T(m, np.zeros(0), F32)),
    "dist_0d": lambda m: m.dist(T(m, 3.0, F32), T(m, [1.0, 7.0], F32)),
    "dist_bad_shapes": lambda m: m.dist(T(m, [1.0, 2.0], F32), T(m, [1.0, 2.0, 3.0], F32)),
    "quantile_interpolations": lambda m: [
        m.quantile(T(m, _OBS, F64), T(m, [0.0, 0.1, 0.5, 0.625, 1.0], F64), 1,
                   interpolation=i) for i in ("linear", "lower", "higher", "midpoint",
                                               "nearest")],
    "quantile_nearest_half": lambda m: m.quantile(T(m, [0.0, 1.0, 2.0, 3.0], F64),
                                                  T(m, [1 / 6, 0.5, 5 / 6], F64),
                                                  interpolation="nearest"),
    "quantile_keepdim_vec": lambda m: m.quantile(T(m, _OBS, F32), T(m, [0.2, 0.7], F32), 0,
                                                 keepdim=True),
    "quantile_all_keepdim": lambda m: m.quantile(T(m, _OBS, F64), 0.3, keepdim=True),
    "quantile_0d_q": lambda m: m.quantile(T(m, _OBS, F64), T(m, 0.3, F64), -1),
    "quantile_nan": lambda m: m.quantile(T(m, [[1.0, NAN, 2.0], [0.0, 1.0, 2.0]], F64), 0.5, 1),
    "quantile_q_out_of_range": lambda m: m.quantile(T(m, _OBS, F64), 1.5),
    "quantile_q_tensor_out_of_range": lambda m: m.quantile(T(m, _OBS, F64),
                                                           T(m, [0.5, -0.1], F64)),
    "quantile_q_dtype": lambda m: m.quantile(T(m, _OBS, F64), T(m, [0.5], F32)),
    "quantile_q_2d": lambda m: m.quantile(T(m, _OBS, F64), T(m, [[0.5]], F64)),
    "quantile_bad_interpolation": lambda m: m.quantile(T(m, _OBS, F64), 0.5,
                                                       interpolation="cubic"),
    "quantile_int": lambda m: m.quantile(T(m, [1, 2], I64), 0.5),
    "quantile_f16": lambda m: m.quantile(T(m, [1, 2], np.float16), 0.5),
    "quantile_empty_q": lambda m: m.quantile(T(m, _OBS, F64), T(m, np.zeros(0), F64), 1),
    "quantile_empty_input": lambda m: m.quantile(T(m, np.zeros((0, 3)), F64), 0.5, 1),
    "quantile_empty_reduced": lambda m: m.quantile(T(m, np.zeros((0, 3)), F64), 0.5, 0),
    "quantile_nc": lambda m: m.quantile(_nc(m, _OBS), 0.4, 0),
    "quantile_method": lambda m: T(m, _OBS, F64).quantile(0.9, dim=-1, keepdim=True),
    "nanquantile_all_nan": lambda m: m.nanquantile(T(m, [[NAN, NAN], [1.0, NAN]], F32),
                                                   T(m, [0.0, 0.5, 1.0], F32), 1),
    "nanquantile_interpolations": lambda m: [
        m.nanquantile(T(m, [[1.0, NAN, 3.0, 0.0], [NAN, 2.0, 5.0, 4.0]], F64), 0.4, 1,
                      interpolation=i) for i in ("linear", "lower", "higher", "midpoint",
                                                  "nearest")],
    "mode_ties": lambda m: m.mode(T(m, [[1, 2, 2, 1, 3], [5, 5, 4, 4, 4]], I64)),
    "mode_float_dim0": lambda m: m.mode(T(m, [[1.0, 2.0], [1.0, 3.0], [2.0, 3.0]], F32), 0),
    "mode_bool": lambda m: m.mode(T(m, [[True, False, True]])),
    "mode_0d": lambda m: m.mode(T(m, 4.0, F64)),
    "mode_empty": lambda m: m.mode(T(m, np.zeros((2, 0)), F32)),
    "mode_method_keepdim": lambda m: T(m, ARRAYS["int"]).mode(0, True),
    "mode_nc": lambda m: m.mode(_nc(m, [[1, 1, 2], [2, 2, 1], [1, 2, 2]]), 1),
    "nanmedian_all_nan": lambda m: m.nanmedian(T(m, [[NAN, NAN], [1.0, NAN]], F32), 1),
    "nanmedian_flat_nan": lambda m: m.nanmedian(T(m, [NAN, NAN], F64)),
    "nanmedian_empty": lambda m: m.nanmedian(T(m, np.zeros(0), F32)),
    "nanmedian_int": lambda m: m.nanmedian(T(m, [[3, 1, 2, 2]], I64), 1),
    "nanmedian_even": lambda m: m.nanmedian(T(m, [4.0, NAN, 1.0, 3.0, 2.0], F64), 0),
    "is_nonzero_nan": lambda m: m.is_nonzero(T(m, [NAN], F32)),
    "is_nonzero_zero": lambda m: m.is_nonzero(T(m, [[0.0]], F32)),
    "is_nonzero_two": lambda m: m.is_nonzero(T(m, [1.0, 2.0], F32)),
    "is_nonzero_empty": lambda m: m.is_nonzero(T(m, np.zeros(0), F32)),
    "is_nonzero_bool": lambda m: T(m, True).is_nonzero(),
    "is_same_size": lambda m: (m.is_same_size(T(m, [1.0]), T(m, [[1.0]])),
                               T(m, [1, 2]).is_same_size(T(m, [3.0, 4.0]))),
    "is_signed": lambda m: tuple(T(m, [1], d).is_signed() for d in (U8, I32, BOOL, F32)),
    "positive_bool": lambda m: m.positive(T(m, [True])),
    "positive_int": lambda m: m.positive(T(m, [-1, 2], I64)),
    "msort_int": lambda m: T(m, [[3, 1], [1, 2], [0, 5]], I64).msort(),
    "ravel_nc": lambda m: m.ravel(_nc(m, ARRAYS["3d"])),
    "ravel_0d": lambda m: m.ravel(T(m, 2.0)),
}

#: ids not compared with PyTorch, and why
_SKIP_STATISTICS = {

}


@pytest.mark.parametrize("case_id", sorted(STATISTICS_CASES))
def test_statistics(case_id):
    _skip_documented(_SKIP_STATISTICS, case_id)
    with np.errstate(all="ignore"):
        check(STATISTICS_CASES[case_id])


# --------------------------------------------------------------------- indexing

_M = np.arange(12.0).reshape(3, 4)
_B = np.arange(24.0).reshape(2, 3, 4)

#: id -> f(m)
INDEXING_CASES = {
    "select": lambda m: m.select(T(m, _B), 1, -1),
    "select_0d": lambda m: m.select(T(m, 2.0), 0, 0),
    "select_oob": lambda m: m.select(T(m, _M), 1, 4),
    "select_dim_oob": lambda m: m.select(T(m, _M), 2, 0),
    "select_empty": lambda m: m.select(T(m, np.zeros((0, 3))), 1, 2),
    "select_method_nc": lambda m: _nc(m, _M).select(0, 2),
    "select_scatter": lambda m: m.select_scatter(T(m, _B), T(m, np.ones((2, 4))), 1, -2),
    "select_scatter_bad_shape": lambda m: m.select_scatter(T(m, _M), T(m, np.ones(3)), 0, 0),
    "select_scatter_dtype": lambda m: m.select_scatter(T(m, _M), T(m, np.ones(4, F32)), 0, 0),
    "select_scatter_int_src": lambda m: m.select_scatter(T(m, _M), T(m, np.ones(4, I64)), 0, 0),
    "select_scatter_0d": lambda m: m.select_scatter(T(m, 2.0), T(m, 3.0), 0, 0),
    "slice_scatter": lambda m: m.slice_scatter(T(m, _M), T(m, np.ones((3, 2))), 1, 1, None, 2),
    "slice_scatter_default": lambda m: m.slice_scatter(T(m, _M), T(m, -_M)),
    "slice_scatter_neg": lambda m: m.slice_scatter(T(m, _M), T(m, np.ones((1, 4))), 0, -1),
    "slice_scatter_clip": lambda m: m.slice_scatter(T(m, _M), T(m, np.ones((2, 4))), 0, 1, 99),
    "slice_scatter_empty": lambda m: m.slice_scatter(T(m, _M), T(m, np.ones((0, 4))), 0, 2, 2),
    "slice_scatter_bad_shape": lambda m: m.slice_scatter(T(m, _M), T(m, np.ones((2, 4))), 0,
                                                         0, 1),
    "slice_scatter_step0": lambda m: m.slice_scatter(T(m, _M), T(m, np.ones((0, 4))), 0, 0, 3,
                                                     0),
    "slice_scatter_dtype": lambda m: m.slice_scatter(T(m, _M, F32), T(m, np.ones((1, 4))), 0,
                                                     0, 1),
    "slice_scatter_method": lambda m: T(m, _B).slice_scatter(T(m, np.ones((2, 3, 2))), -1, 0,
                                                             4, 2),
    "diagonal_scatter": lambda m: m.diagonal_scatter(T(m, _M), T(m, [1.0, 2.0, 3.0])),
    "diagonal_scatter_offset": lambda m: m.diagonal_scatter(T(m, _M), T(m, [1.0, 2.0]), -1),
    "diagonal_scatter_big_offset": lambda m: m.diagonal_scatter(T(m, _M), T(m, np.zeros(0)), 5),
    "diagonal_scatter_3d": lambda m: m.diagonal_scatter(T(m, _B), T(m, np.ones((3, 2))), 0, 2,
                                                        0),
    "diagonal_scatter_neg_dims": lambda m: m.diagonal_scatter(T(m, _B), T(m, np.ones((2, 3))),
                                                              1, -1, -2),
    "diagonal_scatter_same_dims": lambda m: m.diagonal_scatter(T(m, _M), T(m, np.ones(3)), 0,
                                                               1, 1),
    "diagonal_scatter_bad_shape": lambda m: m.diagonal_scatter(T(m, _M), T(m, np.ones(4))),
    "diagonal_scatter_1d": lambda m: m.diagonal_scatter(T(m, [1.0]), T(m, np.ones(1))),
    "take": lambda m: m.take(T(m, _M), T(m, [[0, -1], [5, 5]], I64)),
    "take_0d_index": lambda m: m.take(T(m, _M), T(m, 3, I64)),
    "take_0d_input": lambda m: m.take(T(m, 5.0), T(m, [0, 0, -1], I64)),
    "take_oob": lambda m: m.take(T(m, _M), T(m, [12], I64)),
    "take_neg_oob": lambda m: m.take(T(m, _M), T(m, [-13], I64)),
    "take_float_index": lambda m: m.take(T(m, _M), T(m, [1.0], F32)),
    "take_empty": lambda m: m.take(T(m, np.zeros(0)), T(m, np.zeros((2, 0), I64))),
    "take_empty_input_index": lambda m: m.take(T(m, np.zeros(0)), T(m, [0], I64)),
    "take_nc": lambda m: m.take(_nc(m, _M), T(m, [1, 4], I64)),
    # (minigrad also takes an int32 index, where torch.take wants int64: an extension)
    "put": lambda m: m.put(T(m, _M), T(m, [0, -1], I64), T(m, [7.0, 8.0])),
    "put_accumulate_dup": lambda m: m.put(T(m, _M), T(m, [1, 1, -11], I64), T(m, [1.0, 2.0, 4.0]),
                                          accumulate=True),
    "put_2d_index": lambda m: m.put(T(m, _M), T(m, [[0, 2]], I64), T(m, [[7.0, 8.0]])),
    "put_source_shape": lambda m: m.put(T(m, _M), T(m, [0, 2], I64), T(m, [[7.0], [8.0]])),
    "put_count": lambda m: m.put(T(m, _M), T(m, [0, 2], I64), T(m, [7.0])),
    "put_oob": lambda m: m.put(T(m, _M), T(m, [12], I64), T(m, [7.0])),
    "put_dtype": lambda m: m.put(T(m, _M), T(m, [1], I64), T(m, [7.0], F32)),
    "put_0d": lambda m: m.put(T(m, 1.0), T(m, 0, I64), T(m, 3.0)),
    "put_empty": lambda m: m.put(T(m, _M), T(m, np.zeros(0, I64)), T(m, np.zeros(0))),
    "index_put": lambda m: m.index_put(T(m, _M), (T(m, [0, 2], I64), T(m, [1, -1], I64)),
                                       T(m, 5.0)),
    "index_put_bcast": lambda m: m.index_put(T(m, _M), (T(m, [0, 2], I64),), T(m, [1.0, 2, 3, 4])),
    "index_put_bool": lambda m: m.index_put(T(m, _M), (T(m, _M > 6),), T(m, -1.0)),
    "index_put_bool_row": lambda m: m.index_put(T(m, _M), (T(m, [True, False, True]),),
                                                T(m, [[1.0], [2.0]])),
    "index_put_accumulate": lambda m: m.index_put(T(m, _M), (T(m, [1, 1, 0], I64),),
                                                  T(m, np.ones((3, 4))), accumulate=True),
    "index_put_accumulate_pairs": lambda m: m.index_put(
        T(m, _M), (T(m, [1, 1], I64), T(m, [2, 2], I64)), T(m, [1.0, 5.0]), accumulate=True),
    "index_put_oob": lambda m: m.index_put(T(m, _M), (T(m, [3], I64),), T(m, 1.0)),
    "index_put_dtype": lambda m: m.index_put(T(m, _M), (T(m, [0], I64),), T(m, 1.0, F32)),
    "index_put_bad_values": lambda m: m.index_put(T(m, _M), (T(m, [0], I64),), T(m, [1.0, 2])),
    "index_put_float_index": lambda m: m.index_put(T(m, _M), (T(m, [0.0], F32),), T(m, 1.0)),
    "index_put_too_many": lambda m: m.index_put(T(m, _M), (T(m, [0], I64),) * 3, T(m, 1.0)),
    "index_put_bcast_indices": lambda m: m.index_put(
        T(m, _M), (T(m, [[0], [2]], I64), T(m, [1, 3], I64)), T(m, [[1.0, 2.0], [3.0, 4.0]])),
    "index_put_int": lambda m: T(m, _M.astype(I64)).index_put((T(m, [0], I64),), T(m, 9, I64)),
    "masked_scatter": lambda m: m.masked_scatter(T(m, _M), T(m, _M % 3 == 0),
                                                 T(m, np.arange(10.0) + 100)),
    "masked_scatter_bcast": lambda m: m.masked_scatter(T(m, _M), T(m, [True, False, False, True]),
                                                       T(m, np.arange(10.0) + 100)),
    "masked_scatter_bcast_input": lambda m: m.masked_scatter(T(m, [1.0, 2.0]),
                                                             T(m, [[True, False], [True, True]]),
                                                             T(m, np.arange(5.0))),
    "masked_scatter_short": lambda m: m.masked_scatter(T(m, _M), T(m, _M > 0), T(m, [1.0])),
    "masked_scatter_int_mask": lambda m: m.masked_scatter(T(m, _M), T(m, _M > 0).long(),
                                                          T(m, _M)),
    "masked_scatter_dtype": lambda m: m.masked_scatter(T(m, _M), T(m, _M > 0), T(m, _M, F32)),
    "masked_scatter_2d_source": lambda m: m.masked_scatter(T(m, _M), T(m, _M > 5),
                                                           T(m, -_M)),
    "masked_scatter_none": lambda m: m.masked_scatter(T(m, _M), T(m, _M > 99), T(m, np.zeros(0))),
    "masked_scatter_0d": lambda m: m.masked_scatter(T(m, 1.0), T(m, True), T(m, [5.0])),
    "tensor_split_int": lambda m: m.tensor_split(T(m, np.arange(7)), 3),
    "tensor_split_more": lambda m: m.tensor_split(T(m, np.arange(2)), 4),
    "tensor_split_indices": lambda m: m.tensor_split(T(m, _M), [1, 5, -1], 1),
    "tensor_split_unsorted": lambda m: m.tensor_split(T(m, _M), [3, 1], 1),
    "tensor_split_tensor": lambda m: m.tensor_split(T(m, _M), T(m, [1, 2], I64), 1),
    "tensor_split_tensor_0d": lambda m: m.tensor_split(T(m, _M), T(m, 2, I64), 1),
    "tensor_split_float_tensor": lambda m: m.tensor_split(T(m, _M), T(m, [1.0], F32)),
    "tensor_split_zero": lambda m: m.tensor_split(T(m, _M), 0),
    "tensor_split_0d": lambda m: m.tensor_split(T(m, 1.0), 1),
    "tensor_split_empty": lambda m: m.tensor_split(T(m, np.zeros((0, 2))), 2),
    "tensor_split_neg_dim": lambda m: T(m, _B).tensor_split(2, dim=-1),
    "tensor_split_tuple": lambda m: m.tensor_split(T(m, _M), (2,), 0),
    "hsplit": lambda m: m.hsplit(T(m, _M), 2),
    "hsplit_1d": lambda m: m.hsplit(T(m, np.arange(6.0)), [1, 4]),
    "hsplit_uneven": lambda m: m.hsplit(T(m, _M), 3),
    "hsplit_0d": lambda m: m.hsplit(T(m, 1.0), 1),
    "vsplit": lambda m: m.vsplit(T(m, _M), [2]),
    "vsplit_1d": lambda m: m.vsplit(T(m, np.arange(6.0)), 2),
    "vsplit_uneven": lambda m: m.vsplit(T(m, _M), 2),
    "dsplit": lambda m: m.dsplit(T(m, _B), 2),
    "dsplit_2d": lambda m: m.dsplit(T(m, _M), 2),
    "dsplit_indices": lambda m: T(m, _B).dsplit([3]),
    "split_with_sizes": lambda m: m.split_with_sizes(T(m, _M), [1, 0, 3], 1),
    "split_with_sizes_bad_sum": lambda m: m.split_with_sizes(T(m, _M), [1, 1], 0),
    "split_with_sizes_negative": lambda m: m.split_with_sizes(T(m, _M), [4, -1], 0),
    "split_with_sizes_0d": lambda m: m.split_with_sizes(T(m, 1.0), [1]),
    "split_with_sizes_method": lambda m: T(m, _B).split_with_sizes([2, 2], dim=-1),
    "unfold": lambda m: T(m, np.arange(7.0)).unfold(0, 3, 2),
    "unfold_2d": lambda m: T(m, _M).unfold(1, 2, 1),
    "unfold_neg_dim": lambda m: T(m, _B).unfold(-2, 2, 1),
    "unfold_size0": lambda m: T(m, _M).unfold(1, 0, 1),
    "unfold_too_big": lambda m: T(m, _M).unfold(1, 5, 1),
    "unfold_step0": lambda m: T(m, _M).unfold(1, 2, 0),
    "unfold_0d": lambda m: T(m, 3.0).unfold(0, 1, 1),
    "unfold_0d_size0": lambda m: T(m, 3.0).unfold(0, 0, 1),
    "unfold_nc": lambda m: _nc(m, _M).unfold(0, 2, 2),
    "unfold_empty": lambda m: T(m, np.zeros((0, 3))).unfold(1, 2, 1),
    "narrow_copy": lambda m: m.narrow_copy(T(m, _M), 1, -3, 2),
    "narrow_copy_oob": lambda m: m.narrow_copy(T(m, _M), 1, 3, 2),
    "narrow_copy_method": lambda m: T(m, _B).narrow_copy(0, 1, 1),
    "diagflat": lambda m: m.diagflat(T(m, [[1, 2], [3, 4]], I64)),
    "diagflat_offset": lambda m: m.diagflat(T(m, [1.0, 2.0]), -2),
    "diagflat_0d": lambda m: m.diagflat(T(m, 5.0)),
    "diagflat_empty": lambda m: m.diagflat(T(m, np.zeros(0))),
    "diagflat_bool": lambda m: T(m, [True, False]).diagflat(1),
}

#: (op, reduce, include_self) grid of scatter_reduce / index_reduce
_SCATTER_SRC = np.array([[5.0, -1.0, 2.0, 0.0], [3.0, 3.0, -4.0, 8.0]])
_SCATTER_INDEX = np.array([[0, 0, 2, 0], [1, 2, 2, 1]])
for _reduce in ("sum", "prod", "mean", "amax", "amin"):
    for _self in (True, False):
        INDEXING_CASES[f"scatter_reduce_{_reduce}_self{int(_self)}"] = (
            lambda r, s: lambda m: m.scatter_reduce(
                T(m, _M[:2]), 1, T(m, _SCATTER_INDEX), T(m, _SCATTER_SRC), r, include_self=s)
        )(_reduce, _self)
        INDEXING_CASES[f"scatter_reduce_{_reduce}_int_self{int(_self)}"] = (
            lambda r, s: lambda m: T(m, _M[:2].astype(I64)).scatter_reduce(
                0, T(m, [[1, 0, 1, 1]]), T(m, [[7, -2, 3, 9]], I64), r, include_self=s)
        )(_reduce, _self)
        if _reduce != "sum":
            INDEXING_CASES[f"index_reduce_{_reduce}_self{int(_self)}"] = (
                lambda r, s: lambda m: m.index_reduce(
                    T(m, _M), 0, T(m, [2, 0, 2], I64), T(m, _M[::-1] - 5), r, include_self=s)
            )(_reduce, _self)
INDEXING_CASES.update({
    "scatter_reduce_nan": lambda m: m.scatter_reduce(
        T(m, [1.0, NAN, 3.0]), 0, T(m, [0, 0, 1], I64), T(m, [NAN, 2.0, 5.0]), "amax"),
    "scatter_reduce_small_index": lambda m: m.scatter_reduce(
        T(m, _M), 1, T(m, [[3], [0]], I64), T(m, _SCATTER_SRC), "sum"),
    # (torch also takes an undocumented "max" and "min")
    "scatter_reduce_bad_reduce": lambda m: m.scatter_reduce(
        T(m, _M), 1, T(m, [[3]], I64), T(m, _SCATTER_SRC), "median"),
    "scatter_reduce_oob": lambda m: m.scatter_reduce(
        T(m, _M), 1, T(m, [[4]], I64), T(m, _SCATTER_SRC), "sum"),
    "scatter_reduce_neg_index": lambda m: m.scatter_reduce(
        T(m, _M), 1, T(m, [[-1]], I64), T(m, _SCATTER_SRC), "sum"),
    "scatter_reduce_dtype": lambda m: m.scatter_reduce(
        T(m, _M), 1, T(m, [[1]], I64), T(m, _SCATTER_SRC, F32), "sum"),
    "scatter_reduce_0d": lambda m: m.scatter_reduce(T(m, 1.0), 0, T(m, 0, I64), T(m, 4.0),
                                                    "prod"),
    "scatter_reduce_empty_index": lambda m: m.scatter_reduce(
        T(m, _M), 0, T(m, np.zeros((0, 4), I64)), T(m, _SCATTER_SRC), "mean"),
    "scatter_reduce_mean_int": lambda m: m.scatter_reduce(
        T(m, [0, 0], I64), 0, T(m, [0, 0, 0], I64), T(m, [1, 2, 4], I64), "mean",
        include_self=False),
    "index_reduce_oob": lambda m: m.index_reduce(T(m, _M), 0, T(m, [3], I64), T(m, _M[:1]),
                                                 "amax"),
    "index_reduce_sum": lambda m: m.index_reduce(T(m, _M), 0, T(m, [0], I64), T(m, _M[:1]),
                                                 "sum"),
    "index_reduce_bad_source": lambda m: m.index_reduce(T(m, _M), 0, T(m, [0, 1], I64),
                                                        T(m, _M[:1]), "prod"),
    "index_reduce_2d_index": lambda m: m.index_reduce(T(m, _M), 0, T(m, [[0]], I64),
                                                      T(m, _M[:1]), "prod"),
    "index_reduce_dim1": lambda m: m.index_reduce(T(m, _M), -1, T(m, [3, 3], I64),
                                                  T(m, _M[:, :2] * 2), "mean"),
})


@pytest.mark.parametrize("fn", _cases(INDEXING_CASES))
def test_indexing(fn):
    check(fn)


def test_indexing_gradients_match_pytorch():
    x = np.arange(12.0).reshape(3, 4) / 7 - 0.4
    x[1, 2] = x[0, 1]                                             # a tie for amax/amin
    src = _SCATTER_SRC / 3
    for fn, args in [
        (lambda m, a: m.select(a, 1, -1), (x,)),
        (lambda m, a, s: m.select_scatter(a, s[0, :3], 1, 2), (x, src)),
        (lambda m, a, s: m.slice_scatter(a, s[:, :2], 1, 1, None, 2), (x[:2], src)),
        (lambda m, a, s: m.diagonal_scatter(a, s[0, :2], 1), (x[:2], src)),
        (lambda m, a: m.take(a, m.tensor([[0, -1], [5, 5]])), (x,)),
        (lambda m, a, s: m.put(a, m.tensor([0, 7, -1]), s[0, :3], accumulate=True), (x, src)),
        (lambda m, a, s: m.index_put(a, (m.tensor([0, 2]), m.tensor([1, -1])), s[0, :2]),
         (x, src)),
        (lambda m, a, s: m.index_put(a, (m.tensor([1, 1]),), s, accumulate=True), (x, src)),
        (lambda m, a, s: m.masked_scatter(a, a > 0.5, s), (x, np.tile(src, 2))),
        (lambda m, a: m.tensor_split(a, [1, 3], 1)[1] * 2, (x,)),
        (lambda m, a: m.split_with_sizes(a, [1, 3], -1)[1], (x,)),
        (lambda m, a: a.unfold(1, 2, 1) * a.unfold(1, 2, 1), (x,)),
        (lambda m, a: m.narrow_copy(a, 0, 1, 2), (x,)),
        (lambda m, a: m.diagflat(a[:2], -1), (x,)),
        (lambda m, a, s: m.index_reduce(a, 0, m.tensor([2, 0]), s[:, :4], "prod"), (x, src)),
        (lambda m, a, s: m.index_reduce(a, 1, m.tensor([1, 1, 3, 0]), s[:, :4].repeat(2, 1)[:3],
                                        "mean", include_self=False), (x, src)),
    ] + [
        (lambda m, a, s, r=r, i=i: m.scatter_reduce(a[:2], 1, m.tensor(_SCATTER_INDEX), s, r,
                                                    include_self=i), (x, src))
        for r in ("sum", "prod", "mean", "amax", "amin") for i in (True, False)
    ] + [   # ties between the input and several src elements share the gradient
        (lambda m, a, s, r=r, i=i: m.scatter_reduce(a, 1, m.tensor([[0, 0, 0, 1]]), s, r,
                                                    include_self=i),
         ([[2.0, 5.0]], [[2.0, 2.0, 1.0, 2.0]] if r == "amax" else [[2.0, 2.0, 3.0, 2.0]]))
        for r in ("amax", "amin") for i in (True, False)
    ] + [   # a zero, and two zeros, in a product
        (lambda m, a, s, i=i: m.scatter_reduce(a, 1, m.tensor([[0, 0, 1, 1, 1]]), s, "prod",
                                               include_self=i),
         ([[2.0, 3.0]], [[0.0, 4.0, 0.0, 0.0, 5.0]])) for i in (True, False)
    ]:
        check_grad(fn, *args)


# --------------------------------------------------------------------- manipulation

_V = np.array([1.0, -2.0, 3.5])

#: id -> f(m)
MANIPULATION_CASES = {
    "movedim": lambda m: m.movedim(T(m, _B), 0, -1),
    "movedim_seq": lambda m: m.movedim(T(m, _B), (0, 1), (2, 0)),
    "movedim_0d": lambda m: m.movedim(T(m, 1.0), 0, -1),
    "movedim_repeat": lambda m: m.movedim(T(m, _B), (0, 0), (1, 2)),
    "movedim_oob": lambda m: m.movedim(T(m, _B), 3, 0),
    "movedim_len": lambda m: m.movedim(T(m, _B), (0, 1), (1,)),
    "movedim_method_nc": lambda m: _nc(m, _B).movedim(-1, 0),
    "moveaxis": lambda m: m.moveaxis(T(m, _B), 2, 0),
    "swapaxes": lambda m: T(m, _B).swapaxes(0, 2),
    "swapdims": lambda m: m.swapdims(T(m, _B), -1, 1),
    "tile": lambda m: m.tile(T(m, _M), (2,)),
    "tile_more": lambda m: m.tile(T(m, _V), (2, 1, 2)),
    "tile_zero": lambda m: m.tile(T(m, _M), (0, 2)),
    "tile_0d": lambda m: m.tile(T(m, 2.0), (3,)),
    "tile_empty_dims": lambda m: m.tile(T(m, _M), ()),
    "tile_negative": lambda m: m.tile(T(m, _M), (-1,)),
    "tile_method": lambda m: T(m, [True, False]).tile(2),
    "repeat_interleave": lambda m: m.repeat_interleave(T(m, _M), 2),
    "repeat_interleave_dim": lambda m: m.repeat_interleave(T(m, _M), 2, dim=1),
    "repeat_interleave_counts": lambda m: m.repeat_interleave(T(m, _M), T(m, [1, 0, 2], I64),
                                                              dim=0),
    "repeat_interleave_one_count": lambda m: m.repeat_interleave(T(m, _M), T(m, [2], I64), 1),
    "repeat_interleave_0d_count": lambda m: m.repeat_interleave(T(m, _V), T(m, 2, I64)),
    "repeat_interleave_bad_len": lambda m: m.repeat_interleave(T(m, _M), T(m, [1, 2], I64), 0),
    "repeat_interleave_negative": lambda m: m.repeat_interleave(T(m, _M), -1),
    "repeat_interleave_self": lambda m: m.repeat_interleave(T(m, [2, 0, 3], I64)),
    "repeat_interleave_self_2d": lambda m: m.repeat_interleave(T(m, [[2]], I64)),
    "repeat_interleave_self_float": lambda m: m.repeat_interleave(T(m, [2.0], F32)),
    "repeat_interleave_0d": lambda m: m.repeat_interleave(T(m, 5.0), 3),
    "repeat_interleave_0d_dim": lambda m: m.repeat_interleave(T(m, 5.0), 3, dim=0),
    "repeat_interleave_output_size": lambda m: m.repeat_interleave(T(m, _V), 2, 0,
                                                                   output_size=6),
    "repeat_interleave_bad_output_size": lambda m: m.repeat_interleave(T(m, _V), 2, 0,
                                                                       output_size=5),
    "repeat_interleave_neg_dim": lambda m: T(m, _B).repeat_interleave(2, dim=-2),
    "repeat_interleave_float_counts": lambda m: m.repeat_interleave(T(m, _V), T(m, [1.0, 1, 1])),
    "atleast_1d": lambda m: m.atleast_1d(T(m, 1.0)),
    "atleast_1d_many": lambda m: m.atleast_1d(T(m, 1.0), T(m, _M)),
    "atleast_1d_list": lambda m: m.atleast_1d([T(m, 1.0), T(m, _V)]),
    "atleast_2d": lambda m: m.atleast_2d(T(m, _V), T(m, 2.0), T(m, _B)),
    "atleast_3d": lambda m: m.atleast_3d(T(m, _V), T(m, 2.0), T(m, _M), T(m, _B)),
    "atleast_3d_one": lambda m: m.atleast_3d(T(m, _M)),
    "hstack": lambda m: m.hstack([T(m, _M), T(m, _M[:, :1])]),
    "hstack_1d": lambda m: m.hstack([T(m, _V), T(m, 2.0), T(m, [1, 2], I64)]),
    "hstack_mixed_ndim": lambda m: m.hstack([T(m, _V), T(m, _M)]),
    "hstack_empty_list": lambda m: m.hstack([]),
    "hstack_tuple": lambda m: m.hstack((T(m, _M), T(m, _M))),
    "vstack": lambda m: m.vstack([T(m, _M), T(m, _M[0])]),
    "vstack_0d": lambda m: m.vstack([T(m, 1.0), T(m, 2.0)]),
    "vstack_bad": lambda m: m.vstack([T(m, _M), T(m, _V)]),
    "row_stack": lambda m: m.row_stack([T(m, _V), T(m, _V)]),
    "dstack": lambda m: m.dstack([T(m, _M), T(m, _M)]),
    "dstack_1d": lambda m: m.dstack([T(m, _V), T(m, _V, F32)]),
    "column_stack": lambda m: m.column_stack([T(m, _V), T(m, _M.T[:, :3]), T(m, [7, 8, 9], I64)]),
    "column_stack_0d": lambda m: m.column_stack([T(m, 1.0), T(m, 2.0)]),
    "column_stack_bad": lambda m: m.column_stack([T(m, _V), T(m, _M)]),
    "meshgrid_ij": lambda m: m.meshgrid(T(m, [1, 2, 3], I64), T(m, [4.0, 5.0]), indexing="ij"),
    "meshgrid_xy": lambda m: m.meshgrid(T(m, [1, 2, 3], I64), T(m, [4.0, 5.0]), T(m, [0, 1]),
                                        indexing="xy"),
    "meshgrid_one": lambda m: m.meshgrid(T(m, _V), indexing="xy"),
    "meshgrid_0d": lambda m: m.meshgrid(T(m, 1.0), T(m, _V), indexing="ij"),
    "meshgrid_list": lambda m: m.meshgrid([T(m, _V), T(m, _V[:2])], indexing="ij"),
    "meshgrid_2d": lambda m: m.meshgrid(T(m, _M), indexing="ij"),
    "meshgrid_bad_indexing": lambda m: m.meshgrid(T(m, _V), indexing="ji"),
    "meshgrid_empty": lambda m: m.meshgrid(T(m, np.zeros(0)), T(m, _V), indexing="xy"),
    "rot90": lambda m: m.rot90(T(m, _M)),
    "rot90_k": lambda m: [m.rot90(T(m, _B), k, (2, 0)) for k in (-3, -1, 0, 2, 3, 5)],
    "rot90_neg_dims": lambda m: m.rot90(T(m, _B), 1, (-1, -2)),
    "rot90_same_dims": lambda m: m.rot90(T(m, _M), 1, (0, 0)),
    "rot90_one_dim": lambda m: m.rot90(T(m, _M), 1, (0,)),
    "rot90_1d": lambda m: m.rot90(T(m, _V), 1, (0, 0)),
    "rot90_method": lambda m: _nc(m, _M).rot90(3, [1, 0]),
    "fliplr": lambda m: m.fliplr(T(m, _B)),
    "fliplr_1d": lambda m: m.fliplr(T(m, _V)),
    "flipud": lambda m: m.flipud(T(m, _V)),
    "flipud_0d": lambda m: m.flipud(T(m, 1.0)),
    "diff": lambda m: m.diff(T(m, _M)),
    "diff_n2_dim0": lambda m: m.diff(T(m, _M ** 2), 2, 0),
    "diff_n_big": lambda m: m.diff(T(m, _V), 5),
    "diff_n0": lambda m: m.diff(T(m, _V), 0),
    "diff_int": lambda m: m.diff(T(m, [1, 4, 9], I64)),
    "diff_u8": lambda m: m.diff(T(m, [5, 1, 9], U8)),
    "diff_bool": lambda m: m.diff(T(m, [True, True, False, True])),
    "diff_prepend_append": lambda m: m.diff(T(m, _M), 1, 1, T(m, _M[:, :2]), T(m, _M[:, :1])),
    "diff_prepend_1d": lambda m: m.diff(T(m, _V), prepend=T(m, [10.0]), append=T(m, [0.0, 1.0])),
    "diff_prepend_bad": lambda m: m.diff(T(m, _M), 1, 1, T(m, _V)),
    "diff_prepend_dtype": lambda m: m.diff(T(m, [1, 2], I64), prepend=T(m, [0.5])),
    "diff_0d": lambda m: m.diff(T(m, 1.0)),
    "diff_negative_n": lambda m: m.diff(T(m, _V), -1),
    "diff_empty": lambda m: m.diff(T(m, np.zeros((2, 0)))),
    "diff_nc": lambda m: _nc(m, _M).diff(dim=0),
    "take_along_dim": lambda m: m.take_along_dim(T(m, _M), T(m, [[0, 3], [1, 1], [2, 0]], I64), 1),
    "take_along_dim_flat": lambda m: m.take_along_dim(T(m, _M), T(m, [0, 11, 5], I64)),
    "take_along_dim_bcast": lambda m: m.take_along_dim(T(m, _M), T(m, [[0, 3]], I64), 1),
    "take_along_dim_bcast_input": lambda m: m.take_along_dim(T(m, _M[:1]),
                                                             T(m, [[0], [3], [1]], I64), 0),
    "take_along_dim_ndim": lambda m: m.take_along_dim(T(m, _M), T(m, [0], I64), 1),
    "take_along_dim_oob": lambda m: m.take_along_dim(T(m, _M), T(m, [[4]], I64), 1),
    "take_along_dim_neg": lambda m: m.take_along_dim(T(m, _M), T(m, [[-1]], I64), 1),
    "take_along_dim_float": lambda m: m.take_along_dim(T(m, _M), T(m, [[1.0]], F32), 1),
    "take_along_dim_argsort": lambda m: T(m, _M[::-1]).take_along_dim(
        T(m, _M[::-1]).argsort(dim=0), dim=0),
    "index_add": lambda m: m.index_add(T(m, _M), 0, T(m, [2, 0, 2], I64), T(m, -_M)),
    "index_add_alpha": lambda m: m.index_add(T(m, _M), 1, T(m, [3, 3], I64), T(m, _M[:, :2]),
                                             alpha=2.5),
    "index_add_int": lambda m: m.index_add(T(m, [1, 2], I64), 0, T(m, [1, 1], I64),
                                           T(m, [5, 6], I64), alpha=2),
    "index_add_0d": lambda m: m.index_add(T(m, 1.0), 0, T(m, [0], I64), T(m, 2.0)),
    "index_add_oob": lambda m: m.index_add(T(m, _M), 0, T(m, [3], I64), T(m, _M[:1])),
    "index_add_neg_index": lambda m: m.index_add(T(m, _M), 0, T(m, [-1], I64), T(m, _M[:1])),
    "index_add_bad_source": lambda m: m.index_add(T(m, _M), 0, T(m, [0], I64), T(m, _M[:2])),
    "index_add_dtype": lambda m: m.index_add(T(m, _M), 0, T(m, [0], I64), T(m, _M[:1], F32)),
    "index_add_2d_index": lambda m: m.index_add(T(m, _M), 0, T(m, [[0]], I64), T(m, _M[:1])),
    "index_add_float_index": lambda m: m.index_add(T(m, _M), 0, T(m, [0.0], F32), T(m, _M[:1])),
    "index_copy": lambda m: m.index_copy(T(m, _M), 1, T(m, [3, 0], I64), T(m, -_M[:, :2])),
    "index_copy_0d": lambda m: m.index_copy(T(m, 1.0), 0, T(m, [0], I64), T(m, 2.0)),
    "index_copy_oob": lambda m: m.index_copy(T(m, _M), 1, T(m, [4], I64), T(m, _M[:, :1])),
    "index_copy_method": lambda m: T(m, _M).index_copy(0, T(m, [1], I64), T(m, _M[:1] * 0)),
    "index_fill": lambda m: m.index_fill(T(m, _M), 1, T(m, [0, -1], I64), -7.5),
    "index_fill_tensor_value": lambda m: m.index_fill(T(m, _M), 0, T(m, [1], I64), T(m, 9.0)),
    "index_fill_int_float_value": lambda m: m.index_fill(T(m, [[1, 2]], I64), 1, T(m, [0], I64),
                                                         2.7),
    "index_fill_bool": lambda m: m.index_fill(T(m, [True, False]), 0, T(m, [1], I64), True),
    "index_fill_0d": lambda m: m.index_fill(T(m, 1.0), 0, T(m, [0], I64), 5.0),
    "index_fill_oob": lambda m: m.index_fill(T(m, _M), 1, T(m, [4], I64), 5.0),
    "index_fill_vec_value": lambda m: m.index_fill(T(m, _M), 1, T(m, [0], I64), T(m, [1.0, 2.0])),
    "index_fill_0d_index": lambda m: m.index_fill(T(m, _M), 1, T(m, 2, I64), 0.0),
    "index_fill_empty_index": lambda m: m.index_fill(T(m, _M), 1, T(m, np.zeros(0, I64)), 0.0),
    "masked_select": lambda m: m.masked_select(T(m, _M), T(m, _M % 3 == 1)),
    "masked_select_bcast": lambda m: m.masked_select(T(m, _M), T(m, [True, False, True, True])),
    "masked_select_bcast_input": lambda m: m.masked_select(T(m, _V), T(m, [[True], [False]])),
    "masked_select_0d": lambda m: m.masked_select(T(m, 2.0), T(m, True)),
    "masked_select_0d_false": lambda m: m.masked_select(T(m, 2.0), T(m, False)),
    "masked_select_int_mask": lambda m: m.masked_select(T(m, _M), T(m, _M > 2).long()),
    "masked_select_bad": lambda m: m.masked_select(T(m, _M), T(m, [True, False])),
    "masked_select_nc": lambda m: m.masked_select(_nc(m, _M), _nc(m, _M > 4)),
    "broadcast_shapes": lambda m: m.broadcast_shapes((2, 1), (3,), (1, 1, 1)),
    "broadcast_shapes_int": lambda m: m.broadcast_shapes(3, (2, 1)),
    "broadcast_shapes_zero": lambda m: m.broadcast_shapes((0, 1), (1, 4)),
    "broadcast_shapes_bad": lambda m: m.broadcast_shapes((2,), (3,)),
    "broadcast_shapes_none": lambda m: m.broadcast_shapes(),
    "broadcast_tensors": lambda m: m.broadcast_tensors(T(m, _V), T(m, [[1], [2]], I64),
                                                       T(m, 2.0)),
    "broadcast_tensors_bad": lambda m: m.broadcast_tensors(T(m, _V), T(m, [1.0, 2.0])),
    "block_diag": lambda m: m.block_diag(T(m, _M[:2, :3]), T(m, 5.0), T(m, _V)),
    "block_diag_mixed": lambda m: m.block_diag(T(m, [[1, 2]], I64), T(m, [[0.5]], F32)),
    "block_diag_empty_block": lambda m: m.block_diag(T(m, np.zeros((0, 2))), T(m, [[1.0]])),
    "block_diag_none": lambda m: m.block_diag(),
    "block_diag_3d": lambda m: m.block_diag(T(m, _B)),
    "block_diag_bool": lambda m: m.block_diag(T(m, [[True]]), T(m, [[False, True]])),
    "cartesian_prod": lambda m: m.cartesian_prod(T(m, [1, 2], I64), T(m, [3.0, 4.0, 5.0]),
                                                 T(m, [7, 8], I64)),
    "cartesian_prod_one": lambda m: m.cartesian_prod(T(m, _V)),
    "cartesian_prod_0d": lambda m: m.cartesian_prod(T(m, 1.0), T(m, _V)),
    "cartesian_prod_empty": lambda m: m.cartesian_prod(T(m, np.zeros(0)), T(m, _V)),
    "combinations": lambda m: m.combinations(T(m, [1, 2, 3, 4], I64), 3),
    "combinations_replacement": lambda m: m.combinations(T(m, _V), 2, with_replacement=True),
    "combinations_r0": lambda m: m.combinations(T(m, _V), 0),
    "combinations_r_big": lambda m: m.combinations(T(m, _V), 4),
    "combinations_2d": lambda m: m.combinations(T(m, _M)),
    "combinations_negative": lambda m: m.combinations(T(m, _V), -1),
    "combinations_empty": lambda m: m.combinations(T(m, np.zeros(0)), 2),
    "unravel_index": lambda m: m.unravel_index(T(m, [5, 7, -1], I64), (2, 4)),
    "unravel_index_0d": lambda m: m.unravel_index(T(m, 5, I64), (3, 4)),
    "unravel_index_int_shape": lambda m: m.unravel_index(T(m, [5], I64), 6),
    "unravel_index_oob": lambda m: m.unravel_index(T(m, [8], I64), (2, 4)),
    "unravel_index_float": lambda m: m.unravel_index(T(m, [1.0], F32), (2, 4)),
    "unravel_index_negative_shape": lambda m: m.unravel_index(T(m, [1], I64), (2, -4)),
    "unravel_index_int32": lambda m: m.unravel_index(T(m, [[3]], I32), (2, 2)),
    "unravel_index_bool": lambda m: m.unravel_index(T(m, [True]), (2, 2)),
    "isin": lambda m: m.isin(T(m, _M), T(m, [0.0, 5.0, 11.0, NAN])),
    "isin_invert": lambda m: m.isin(T(m, _M), T(m, [[0.0, 5.0]]), invert=True),
    "isin_scalar_elements": lambda m: m.isin(5.0, T(m, _M)),
    "isin_scalar_test": lambda m: m.isin(T(m, _M), 5.0),
    "isin_mixed": lambda m: m.isin(T(m, [1, 2, 3], I64), T(m, [2.0, 3.5])),
    "isin_nan": lambda m: m.isin(T(m, [NAN, 1.0]), T(m, [NAN])),
    "isin_empty": lambda m: m.isin(T(m, np.zeros(0)), T(m, _V)),
    "isin_empty_test": lambda m: m.isin(T(m, _V), T(m, np.zeros(0))),
    "isin_unique": lambda m: m.isin(T(m, _V), T(m, [3.5, 1.0]), assume_unique=True),
    "rsub": lambda m: m.rsub(T(m, _V), T(m, _M[:, :3])),
    "rsub_alpha": lambda m: m.rsub(T(m, _V), 10, alpha=2),
    "rsub_int": lambda m: m.rsub(T(m, [1, 2], I64), T(m, [5, 5], I64), alpha=3),
    "rsub_float_alpha_int": lambda m: m.rsub(T(m, [1, 2], I64), T(m, [5, 5], I64), alpha=0.5),
}


#: ids not compared with PyTorch, and why
_SKIP_MANIPULATION = {
    **dict.fromkeys(["meshgrid_ij", "meshgrid_xy", "cartesian_prod"],
                    "minigrad's meshgrid keeps each tensor's dtype (cartesian_prod then "
                    "promotes); torch refuses mixed dtypes"),
    "repeat_interleave_0d_dim": "torch refuses dim 0 of a 0-d input here (its message "
                                "names dim 1), though dim 0 of a 0-d tensor is valid "
                                "elsewhere; minigrad repeats the element",
    "rsub_float_alpha_int": "minigrad's rsub is its core add/sub, which promote an integer "
                            "tensor with a float alpha (outside this audit)",
    **dict.fromkeys(["take_along_dim_oob", "take_along_dim_neg", "take_along_dim_bcast_input"],
                    "torch's take_along_dim reads out-of-range indices modulo the size (its "
                    "gather refuses them); minigrad raises IndexError"),
    "unravel_index_oob": "torch wraps an index outside [-size, size) (documented as "
                         "invalid input); minigrad raises IndexError",
}


@pytest.mark.parametrize("case_id", sorted(MANIPULATION_CASES))
def test_manipulation(case_id):
    _skip_documented(_SKIP_MANIPULATION, case_id)
    check(MANIPULATION_CASES[case_id])


def test_manipulation_gradients_match_pytorch():
    x = np.arange(12.0).reshape(3, 4) / 5 - 1
    v = np.array([0.5, -1.5, 2.0])
    for fn, args in [
        (lambda m, a: m.movedim(a, 0, 1) * m.tile(a, (1,)).T, (x,)),
        (lambda m, a: m.tile(a, (2, 1, 2)), (x,)),
        (lambda m, a: m.repeat_interleave(a, m.tensor([2, 0, 1]), dim=0), (x,)),
        (lambda m, a: m.repeat_interleave(a, 3), (v,)),
        (lambda m, a, b: m.hstack([a, b.reshape(3, 1)]), (x, v)),
        (lambda m, a, b: m.vstack([a[:, :3], b]), (x, v)),
        (lambda m, a, b: m.dstack([a[:, :3], a[:, 1:] * b]), (x, v)),
        (lambda m, a, b: m.column_stack([b, a[:, :2]]), (x, v)),
        (lambda m, a, b: m.meshgrid(a[0], b, indexing="xy")[0] * m.meshgrid(a[0], b,
                                                                         indexing="xy")[1],
         (x, v)),
        (lambda m, a: m.rot90(a, -1) + 0, (x,)), (lambda m, a: m.rot90(a, 2, (1, 0)), (x,)),
        (lambda m, a: m.fliplr(a) * m.flipud(a), (x,)),
        (lambda m, a: m.diff(a * a, 2, 1), (x,)),
        (lambda m, a, b: m.diff(a, 1, 0, prepend=b[:1].reshape(1, 1).expand(1, 4),
                                append=a[:1] * 2), (x, v)),
        (lambda m, a: m.take_along_dim(a, m.tensor([[0, 3, 3], [1, 1, 0], [2, 0, 2]]), 1),
         (x,)),
        (lambda m, a: m.take_along_dim(a, m.tensor([0, 11, 0])), (x,)),
        (lambda m, a, b: m.index_add(a, 1, m.tensor([3, 0, 3]), b.reshape(1, 3).expand(3, 3),
                                     alpha=-2), (x, v)),
        (lambda m, a, b: m.index_copy(a, 0, m.tensor([2, 0]), a[:2] * b[0]), (x, v)),
        (lambda m, a, b: m.index_fill(a, 1, m.tensor([0, 2]), b[1]), (x, v)),
        (lambda m, a: m.masked_select(a, a > 0), (x,)),
        (lambda m, a, b: m.broadcast_tensors(a[:, :1], b)[1] * m.broadcast_tensors(a[:, :1],
                                                                                  b)[0], (x, v)),
        (lambda m, a, b: m.block_diag(a[:2, :2], b, b[0]), (x, v)),
        (lambda m, a, b: m.cartesian_prod(a[0], b), (x, v)),
        (lambda m, a: m.combinations(a, 2, with_replacement=True), (v,)),
        (lambda m, a, b: m.rsub(a, b, alpha=3), (x[:, :3], v)),
    ]:
        check_grad(fn, *args)


# --------------------------------------------------------------------- numerical calculus

_Y = np.array([[1.0, 4.0, 9.0, 16.0, 30.0], [0.5, -1.0, 2.0, 2.0, 0.0]])
_X = np.array([0.0, 0.5, 1.5, 2.0, 4.0])

#: id -> f(m)
NUMERICAL_CASES = {
    "trapezoid": lambda m: m.trapezoid(T(m, _Y)),
    "trapezoid_x": lambda m: m.trapezoid(T(m, _Y), T(m, _X)),
    "trapezoid_x_2d": lambda m: m.trapezoid(T(m, _Y), T(m, np.stack([_X, _X ** 2]))),
    "trapezoid_x_bcast": lambda m: m.trapezoid(T(m, _Y), T(m, _X.reshape(1, 5))),
    "trapezoid_dx": lambda m: m.trapezoid(T(m, _Y), dx=0.25),
    "trapezoid_dim0": lambda m: m.trapezoid(T(m, _Y), dim=0),
    "trapezoid_x_dim0": lambda m: m.trapezoid(T(m, _Y), T(m, [0.0, 3.0]), dim=0),
    "trapezoid_int": lambda m: m.trapezoid(T(m, [1, 2, 4], I64)),
    "trapezoid_int_x": lambda m: m.trapezoid(T(m, [1.0, 2.0, 4.0], F64), T(m, [0, 1, 3], I64)),
    "trapezoid_f32_x_f64": lambda m: m.trapezoid(T(m, [1.0, 2.0], F32), T(m, [0.0, 1.0], F64)),
    "trapezoid_one": lambda m: m.trapezoid(T(m, [[3.0]])),
    "trapezoid_empty": lambda m: m.trapezoid(T(m, np.zeros((2, 0)))),
    "trapezoid_0d": lambda m: m.trapezoid(T(m, 1.0)),
    "trapezoid_bad_x": lambda m: m.trapezoid(T(m, _Y), T(m, _X[:3])),
    "trapezoid_x_and_dx": lambda m: m.trapezoid(T(m, _Y), T(m, _X), dx=1.0),
    "trapezoid_dim_oob": lambda m: m.trapezoid(T(m, _Y), dim=2),
    "trapezoid_nc": lambda m: m.trapezoid(_nc(m, _Y), dim=0),
    "trapezoid_nan": lambda m: m.trapezoid(T(m, [1.0, NAN, INF])),
    "trapz": lambda m: m.trapz(T(m, _Y), T(m, _X)),
    "trapz_dx": lambda m: m.trapz(T(m, _Y), dx=2.0),
    "cumulative_trapezoid": lambda m: m.cumulative_trapezoid(T(m, _Y)),
    "cumulative_trapezoid_x": lambda m: m.cumulative_trapezoid(T(m, _Y), T(m, _X), dim=-1),
    "cumulative_trapezoid_dx": lambda m: m.cumulative_trapezoid(T(m, _Y), dx=0.5, dim=0),
    "cumulative_trapezoid_one": lambda m: m.cumulative_trapezoid(T(m, [3.0])),
    "cumulative_trapezoid_empty": lambda m: m.cumulative_trapezoid(T(m, np.zeros(0))),
    "cumulative_trapezoid_int": lambda m: m.cumulative_trapezoid(T(m, [1, 3, 2], I64)),
    "gradient": lambda m: m.gradient(T(m, _Y)),
    "gradient_dim": lambda m: m.gradient(T(m, _Y), dim=1),
    "gradient_dim_list": lambda m: m.gradient(T(m, _Y), dim=[-1]),
    "gradient_spacing": lambda m: m.gradient(T(m, _Y), spacing=2.0),
    "gradient_spacing_list": lambda m: m.gradient(T(m, _Y), spacing=[2.0, 0.5]),
    "gradient_coords": lambda m: m.gradient(T(m, _Y), spacing=(T(m, [0.0, 2.0]), T(m, _X))),
    "gradient_coords_dim": lambda m: m.gradient(T(m, _Y), spacing=[T(m, _X)], dim=1),
    "gradient_edge2": lambda m: m.gradient(T(m, _Y), dim=1, edge_order=2),
    "gradient_edge2_coords": lambda m: m.gradient(T(m, _Y), spacing=[T(m, _X)], dim=1,
                                                  edge_order=2),
    "gradient_edge2_short": lambda m: m.gradient(T(m, _Y), dim=0, edge_order=2),
    "gradient_short": lambda m: m.gradient(T(m, [1.0]), dim=0),
    "gradient_two": lambda m: m.gradient(T(m, [1.0, 4.0])),
    "gradient_int": lambda m: m.gradient(T(m, [1, 4, 9], I64)),
    "gradient_f32": lambda m: m.gradient(T(m, _Y, F32), spacing=0.1),
    "gradient_0d": lambda m: m.gradient(T(m, 1.0)),
    "gradient_0d_dim": lambda m: m.gradient(T(m, 1.0), dim=0),
    "gradient_no_dims": lambda m: m.gradient(T(m, _Y), dim=()),
    "gradient_edge3": lambda m: m.gradient(T(m, _Y), edge_order=3),
    "gradient_repeat_dim": lambda m: m.gradient(T(m, _Y), dim=[1, 1]),
    "gradient_bad_spacing_len": lambda m: m.gradient(T(m, _Y), spacing=[1.0, 2.0, 3.0]),
    # (torch does not check that coordinates match the dim's size; minigrad raises)
    "gradient_0d_spacing": lambda m: m.gradient(T(m, _Y), spacing=T(m, 0.5), dim=1),
    "gradient_nc": lambda m: m.gradient(_nc(m, _Y), dim=0),
    "gradient_3d": lambda m: m.gradient(T(m, _B ** 2), dim=(0, 2), spacing=[1.0, 3.0]),
}


@pytest.mark.parametrize("fn", _cases(NUMERICAL_CASES))
def test_numerical(fn):
    check(fn)


def test_numerical_gradients_match_pytorch():
    y = _Y / 7
    for fn, args in [
        (lambda m, a: m.trapezoid(a), (y,)), (lambda m, a, x: m.trapezoid(a, x), (y, _X)),
        (lambda m, a: m.trapezoid(a, dx=0.3, dim=0), (y,)),
        (lambda m, a, x: m.cumulative_trapezoid(a, x), (y, _X)),
        (lambda m, a: m.gradient(a)[1] * m.gradient(a)[0], (y,)),
        (lambda m, a, x: m.gradient(a, spacing=[x], dim=1, edge_order=2)[0], (y, _X)),
        (lambda m, a, x: m.gradient(a, spacing=[x], dim=-1)[0], (y, _X)),
    ]:
        check_grad(fn, *args)


# --------------------------------------------------------------------- linear algebra

_rng = np.random.default_rng(7)
_A = _rng.standard_normal((3, 3)) + 3 * np.eye(3)
_SPD = _A @ _A.T + np.eye(3)
_L = np.linalg.cholesky(_SPD)
_BA = _rng.standard_normal((2, 3, 3)) + 3 * np.eye(3)
_RHS = _rng.standard_normal((3, 2))
_TALL = _rng.standard_normal((5, 3))
_WIDE = _TALL.T.copy()
_SING = np.array([[1.0, 2.0, 3.0], [2.0, 4.0, 6.0], [1.0, 0.0, 1.0]])
_TRI0 = np.triu(_A) * np.array([1.0, 0.0, 1.0])          # a zero on the diagonal
_T4 = _rng.standard_normal((4, 6, 8, 3)) / 3
_T3 = _rng.standard_normal((2, 3, 6))
_T3_MOVED = np.ascontiguousarray(np.moveaxis(_T3, 2, 0))

#: id -> f(m)
LINALG_CASES = {
    "solve_triangular_upper": lambda m: m.linalg.solve_triangular(T(m, _A), T(m, _RHS),
                                                                  upper=True),
    "solve_triangular_lower_right": lambda m: m.linalg.solve_triangular(
        T(m, _A), T(m, _RHS.T), upper=False, left=False),
    "solve_triangular_unit": lambda m: m.linalg.solve_triangular(
        T(m, _A), T(m, _RHS), upper=False, unitriangular=True),
    "solve_triangular_batch": lambda m: m.linalg.solve_triangular(T(m, _BA), T(m, _RHS),
                                                                  upper=True),
    "solve_triangular_bcast": lambda m: m.linalg.solve_triangular(
        T(m, _A), T(m, np.stack([_RHS] * 2)), upper=False),
    "solve_triangular_vector": lambda m: m.linalg.solve_triangular(T(m, _A), T(m, _RHS[:, 0]),
                                                                   upper=True),
    "solve_triangular_f32": lambda m: m.linalg.solve_triangular(T(m, _A, F32), T(m, _RHS, F32),
                                                                upper=True),
    "solve_triangular_mixed": lambda m: m.linalg.solve_triangular(T(m, _A, F32), T(m, _RHS),
                                                                  upper=True),
    "solve_triangular_int": lambda m: m.linalg.solve_triangular(T(m, [[1, 0], [1, 1]], I64),
                                                                T(m, [[1], [2]], I64),
                                                                upper=False),
    "solve_triangular_bad_rows": lambda m: m.linalg.solve_triangular(T(m, _A), T(m, _RHS.T),
                                                                     upper=True),
    "solve_triangular_not_square": lambda m: m.linalg.solve_triangular(T(m, _TALL), T(m, _RHS),
                                                                       upper=True),
    "solve_triangular_zero_diag": lambda m: m.linalg.solve_triangular(T(m, _TRI0), T(m, _RHS),
                                                                      upper=True),
    "solve_triangular_nc": lambda m: m.linalg.solve_triangular(_nc(m, _A), _nc(m, _RHS),
                                                               upper=True),
    "solve_triangular_empty": lambda m: m.linalg.solve_triangular(T(m, np.zeros((0, 0))),
                                                                  T(m, np.zeros((0, 2))),
                                                                  upper=True),
    "lstsq": lambda m: m.linalg.lstsq(T(m, _TALL), T(m, _TALL @ _RHS[:3] + 0.1)).solution,
    "lstsq_vector": lambda m: m.linalg.lstsq(T(m, _TALL), T(m, _TALL[:, 0] + 1)).solution,
    "lstsq_wide": lambda m: m.linalg.lstsq(T(m, _WIDE), T(m, _RHS)).solution,
    "lstsq_batch": lambda m: m.linalg.lstsq(T(m, _BA), T(m, _RHS)).solution,
    **{f"lstsq_{d}": lambda m, d=d: m.linalg.lstsq(T(m, _TALL), T(m, _TALL @ _RHS[:3] + 0.1),
                                                   driver=d)
       for d in ("gels", "gelsy", "gelsd", "gelss")},
    "lstsq_rank_deficient": lambda m: m.linalg.lstsq(T(m, _SING), T(m, _RHS), driver="gelsd"),
    "lstsq_bad_rows": lambda m: m.linalg.lstsq(T(m, _TALL), T(m, _RHS)),
    "lstsq_bad_driver": lambda m: m.linalg.lstsq(T(m, _TALL), T(m, _TALL), driver="lapack"),
    "lstsq_int": lambda m: m.linalg.lstsq(T(m, [[1, 0], [0, 1]], I64), T(m, [[1], [2]], I64)),
    "lstsq_rcond": lambda m: m.linalg.lstsq(T(m, _SING), T(m, _RHS), rcond=1e-3,
                                            driver="gelsd"),
    "matrix_rank": lambda m: m.linalg.matrix_rank(T(m, _SING)),
    "matrix_rank_batch": lambda m: m.linalg.matrix_rank(T(m, np.stack([_SING, _A]))),
    "matrix_rank_tall": lambda m: m.linalg.matrix_rank(T(m, _TALL, F32)),
    "matrix_rank_atol": lambda m: m.linalg.matrix_rank(T(m, _A), atol=3.0),
    "matrix_rank_rtol": lambda m: m.linalg.matrix_rank(T(m, _A), rtol=0.5),
    "matrix_rank_both": lambda m: m.linalg.matrix_rank(T(m, _A), atol=0.1, rtol=0.5),
    "matrix_rank_hermitian": lambda m: m.linalg.matrix_rank(T(m, _SPD), hermitian=True),
    "matrix_rank_zero": lambda m: m.linalg.matrix_rank(T(m, np.zeros((2, 3)))),
    "matrix_rank_empty": lambda m: m.linalg.matrix_rank(T(m, np.zeros((0, 3)))),
    "matrix_rank_1d": lambda m: m.linalg.matrix_rank(T(m, _RHS[:, 0])),
    "matrix_rank_int": lambda m: m.linalg.matrix_rank(T(m, [[1, 2], [2, 4]], I64)),
    "cond": lambda m: m.linalg.cond(T(m, _A)),
    "cond_batch": lambda m: m.linalg.cond(T(m, _BA, F32)),
    **{f"cond_p{p}": lambda m, p=p: m.linalg.cond(T(m, _A), p)
       for p in (2, -2, 1, -1, INF, -INF, "fro", "nuc")},
    "cond_tall": lambda m: m.linalg.cond(T(m, _TALL)),
    "cond_tall_fro": lambda m: m.linalg.cond(T(m, _TALL), "fro"),
    # σ_max/σ_min of a singular matrix: σ_min is rounding noise, whose size depends on the
    # LAPACK build and CPU (3.1e16 here, 1.6e16 in torch on one machine): only "huge" is
    # the answer to compare
    "cond_singular": lambda m: m.linalg.cond(T(m, _SING)) > 1e14,
    "cond_singular_fro": lambda m: m.linalg.cond(T(m, _SING), "fro"),
    "cond_bad_p": lambda m: m.linalg.cond(T(m, _A), 3),
    "matrix_exp": lambda m: m.linalg.matrix_exp(T(m, _A)),
    "matrix_exp_batch": lambda m: m.linalg.matrix_exp(T(m, _BA, F32)),
    "matrix_exp_big": lambda m: m.linalg.matrix_exp(T(m, _A * 5)),
    "matrix_exp_zero": lambda m: m.linalg.matrix_exp(T(m, np.zeros((2, 2)))),
    "matrix_exp_empty": lambda m: m.linalg.matrix_exp(T(m, np.zeros((0, 0)))),
    "matrix_exp_1x1": lambda m: m.matrix_exp(T(m, [[-2.0]])),
    "matrix_exp_nilpotent": lambda m: m.linalg.matrix_exp(T(m, np.triu(_A, 1))),
    "matrix_exp_not_square": lambda m: m.linalg.matrix_exp(T(m, _TALL)),
    "matrix_exp_int": lambda m: m.linalg.matrix_exp(T(m, [[1, 0], [0, 1]], I64)),
    "matrix_exp_method_nc": lambda m: _nc(m, _A).matrix_exp(),
    "matrix_exp_nan": lambda m: m.linalg.matrix_exp(T(m, [[NAN, 0.0], [0.0, 1.0]])),
    "linalg_vander": lambda m: m.linalg.vander(T(m, [1.0, 2.0, -3.0])),
    "linalg_vander_N": lambda m: m.linalg.vander(T(m, [1.0, 2.0, -3.0]), N=5),
    "linalg_vander_N1": lambda m: m.linalg.vander(T(m, [1.0, 2.0]), N=1),
    "linalg_vander_N0": lambda m: m.linalg.vander(T(m, [1.0, 2.0]), N=0),
    "linalg_vander_batch": lambda m: m.linalg.vander(T(m, _M[:, :3])),
    "linalg_vander_int": lambda m: m.linalg.vander(T(m, [2, 3], I64), N=4),
    "linalg_vander_0d": lambda m: m.linalg.vander(T(m, 2.0)),
    "linalg_vander_empty": lambda m: m.linalg.vander(T(m, np.zeros((2, 0)))),
    "linalg_vander_bool": lambda m: m.linalg.vander(T(m, [True, False])),
    "vander": lambda m: m.vander(T(m, [1.0, 2.0, -3.0])),
    "vander_increasing": lambda m: m.vander(T(m, [1, 2, 3], I64), 4, increasing=True),
    "vander_N0": lambda m: m.vander(T(m, [1.0, 2.0]), N=0),
    "vander_2d": lambda m: m.vander(T(m, _M)),
    "vander_empty": lambda m: m.vander(T(m, np.zeros(0))),
    "tensorinv": lambda m: m.linalg.tensorinv(T(m, _T4), 2),
    "tensorinv_ind1": lambda m: m.linalg.tensorinv(T(m, _A), 1),
    "tensorinv_bad": lambda m: m.linalg.tensorinv(T(m, np.ones((2, 3, 4))), 1),
    "tensorinv_ind0": lambda m: m.linalg.tensorinv(T(m, _A), 0),
    "tensorinv_singular": lambda m: m.linalg.tensorinv(T(m, _SING), 1),
    "tensorsolve": lambda m: m.linalg.tensorsolve(T(m, _T3), T(m, _RHS.T)),
    "tensorsolve_dims": lambda m: m.linalg.tensorsolve(T(m, _T3_MOVED), T(m, _RHS.T), dims=(0,)),
    "tensorsolve_neg_dims": lambda m: m.linalg.tensorsolve(T(m, _T3_MOVED), T(m, _RHS.T),
                                                           dims=(-3,)),
    "tensorsolve_bad": lambda m: m.linalg.tensorsolve(T(m, np.ones((2, 3, 4))), T(m, _RHS.T)),
    "lu": lambda m: m.linalg.lu(T(m, _A)),
    "lu_tall": lambda m: m.linalg.lu(T(m, _TALL)),
    "lu_wide_batch": lambda m: m.linalg.lu(T(m, np.stack([_WIDE, -_WIDE]), F32)),
    "lu_singular": lambda m: m.linalg.lu(T(m, _SING)),
    "lu_empty": lambda m: m.linalg.lu(T(m, np.zeros((0, 3)))),
    "lu_int": lambda m: m.linalg.lu(T(m, [[1, 2], [3, 4]], I64)),
    "lu_1d": lambda m: m.linalg.lu(T(m, _RHS[:, 0])),
    "lu_factor": lambda m: m.linalg.lu_factor(T(m, _A)),
    "lu_factor_tall": lambda m: m.linalg.lu_factor(T(m, _TALL)),
    "lu_factor_ex_singular": lambda m: m.linalg.lu_factor_ex(T(m, _SING)),
    "lu_factor_ex_batch": lambda m: m.linalg.lu_factor_ex(T(m, np.stack([_SING, _A]))),
    "lu_solve": lambda m: m.linalg.lu_solve(*m.linalg.lu_factor(T(m, _A)), T(m, _RHS)),
    "lu_solve_right": lambda m: m.linalg.lu_solve(*m.linalg.lu_factor(T(m, _A)), T(m, _RHS.T),
                                                  left=False),
    "lu_solve_adjoint": lambda m: m.linalg.lu_solve(*m.linalg.lu_factor(T(m, _A)), T(m, _RHS),
                                                    adjoint=True),
    "lu_solve_right_adjoint": lambda m: m.linalg.lu_solve(*m.linalg.lu_factor(T(m, _A)),
                                                          T(m, _RHS.T), left=False,
                                                          adjoint=True),
    "lu_solve_batch_bcast": lambda m: m.linalg.lu_solve(*m.linalg.lu_factor(T(m, _BA)),
                                                        T(m, _RHS)),
    "lu_solve_bad_rows": lambda m: m.linalg.lu_solve(*m.linalg.lu_factor(T(m, _A)),
                                                     T(m, _RHS.T)),
    "lu_solve_vector": lambda m: m.linalg.lu_solve(*m.linalg.lu_factor(T(m, _A)),
                                                   T(m, _RHS[:, 0])),
    "torch_lu": lambda m: m.lu(T(m, _A)),
    "torch_lu_infos": lambda m: T(m, _SING).lu(get_infos=True),
    "lu_unpack": lambda m: m.lu_unpack(*m.linalg.lu_factor(T(m, _TALL))),
    "lu_unpack_wide": lambda m: m.lu_unpack(*m.linalg.lu_factor(T(m, _WIDE))),
    "lu_unpack_no_pivots": lambda m: m.lu_unpack(*m.linalg.lu_factor(T(m, _A)),
                                                 unpack_pivots=False),
    "lu_unpack_no_data": lambda m: m.lu_unpack(*m.linalg.lu_factor(T(m, _A)),
                                               unpack_data=False),
    "torch_lu_solve": lambda m: m.lu_solve(T(m, _RHS), *m.linalg.lu_factor(T(m, _A))),
    "tensordot": lambda m: m.tensordot(T(m, _B), T(m, _B.transpose(2, 1, 0)), ([1, 2], [1, 0])),
    "tensordot_int": lambda m: m.tensordot(T(m, _B), T(m, _B.transpose(1, 2, 0)), 2),
    "tensordot_0": lambda m: m.tensordot(T(m, _V), T(m, _M), 0),
    "tensordot_all": lambda m: m.tensordot(T(m, _M), T(m, _M), 2),
    "tensordot_single_ints": lambda m: m.tensordot(T(m, _M), T(m, _M), ([0], [0])),
    "tensordot_neg": lambda m: m.tensordot(T(m, _B), T(m, _M), ([-1, -2], [-1, -2])),
    "tensordot_mismatch": lambda m: m.tensordot(T(m, _M), T(m, _M), ([0], [1])),
    "tensordot_too_many": lambda m: m.tensordot(T(m, _M), T(m, _V), 2),
    "tensordot_negative": lambda m: m.tensordot(T(m, _M), T(m, _M), -1),
    "tensordot_len": lambda m: m.tensordot(T(m, _M), T(m, _M), ([0, 1], [0])),
    "tensordot_0d": lambda m: m.tensordot(T(m, 2.0), T(m, _M), 0),
    "tensordot_empty": lambda m: m.tensordot(T(m, np.zeros((2, 0))), T(m, np.zeros((0, 3))), 1),
    "tensordot_int_dtype": lambda m: m.tensordot(T(m, _M, I64), T(m, _M, I64), ([1], [1])),
    "tensordot_nc": lambda m: m.tensordot(_nc(m, _M), _nc(m, _M.T), 1),
    "mv": lambda m: m.mv(T(m, _M), T(m, [1.0, 2.0, -1.0, 0.5])),
    "mv_bad": lambda m: m.mv(T(m, _M), T(m, _V)),
    "mv_3d": lambda m: m.mv(T(m, _B), T(m, _V)),
    "mv_vec_2d": lambda m: m.mv(T(m, _M), T(m, _M)),
    "mv_int": lambda m: m.mv(T(m, _M, I64), T(m, [1, 2, 3, 4], I64)),
    "mv_empty": lambda m: m.mv(T(m, np.zeros((2, 0))), T(m, np.zeros(0))),
    "mv_nc": lambda m: T(m, _M).T.mv(T(m, _V)),
    "vdot": lambda m: m.vdot(T(m, _V), T(m, _V[::-1])),
    "vdot_int": lambda m: m.vdot(T(m, [1, 2], I64), T(m, [3, 4], I64)),
    "vdot_2d": lambda m: m.vdot(T(m, _M), T(m, _M)),
    "vdot_0d": lambda m: m.vdot(T(m, 1.0), T(m, 1.0)),
    "vdot_len": lambda m: m.vdot(T(m, _V), T(m, _V[:2])),
    "vdot_empty": lambda m: m.vdot(T(m, np.zeros(0)), T(m, np.zeros(0))),
    "addr": lambda m: m.addr(T(m, _M), T(m, _V), T(m, [1.0, 2.0, 3.0, 4.0])),
    "addr_scaled": lambda m: m.addr(T(m, _M), T(m, _V), T(m, [1.0, 2.0, 3.0, 4.0]), beta=0.5,
                                    alpha=-2),
    "addr_beta0_nan": lambda m: m.addr(T(m, np.full((3, 4), NAN)), T(m, _V),
                                       T(m, [1.0, 2.0, 3.0, 4.0]), beta=0),
    "addr_bcast": lambda m: m.addr(T(m, [1.0, 2.0, 3.0, 4.0]), T(m, _V), T(m, _V[:1].repeat(4))),
    "addr_0d_input": lambda m: T(m, 1.0).addr(T(m, _V), T(m, _V)),
    "addr_bad": lambda m: m.addr(T(m, _M), T(m, _V), T(m, _V)),
    "addr_2d_vec": lambda m: m.addr(T(m, _M), T(m, _M), T(m, _V)),
    "addr_int": lambda m: m.addr(T(m, [[1]], I64), T(m, [2], I64), T(m, [3], I64), alpha=2),
    "addr_bool": lambda m: m.addr(T(m, [[True]]), T(m, [True]), T(m, [False])),
    "ger": lambda m: m.ger(T(m, _V), T(m, _V[:2])),
    "addbmm": lambda m: m.addbmm(T(m, _M[:, :3]), T(m, _BA), T(m, _BA)),
    "addbmm_scaled": lambda m: m.addbmm(T(m, _M[:, :3]), T(m, _BA), T(m, _BA), beta=0,
                                        alpha=0.5),
    "addbmm_bcast": lambda m: m.addbmm(T(m, _V), T(m, _BA), T(m, _BA)),
    "addbmm_bad_batch": lambda m: m.addbmm(T(m, _M[:, :3]), T(m, _BA), T(m, _BA[:1])),
    "addbmm_2d": lambda m: m.addbmm(T(m, _M[:, :3]), T(m, _A), T(m, _A)),
    "addbmm_bad_input": lambda m: m.addbmm(T(m, _M), T(m, _BA), T(m, _BA)),
    "addbmm_empty_batch": lambda m: m.addbmm(T(m, _A), T(m, np.zeros((0, 3, 2))),
                                             T(m, np.zeros((0, 2, 3)))),
    "addbmm_method": lambda m: T(m, _A).addbmm(T(m, _BA), T(m, _BA), alpha=2),
    "cholesky_inverse": lambda m: m.cholesky_inverse(T(m, _L)),
    "cholesky_inverse_upper": lambda m: m.cholesky_inverse(T(m, _L.T), upper=True),
    "cholesky_inverse_batch": lambda m: m.cholesky_inverse(T(m, np.stack([_L, 2 * _L]), F32)),
    "cholesky_inverse_full": lambda m: m.cholesky_inverse(T(m, _A)),
    "cholesky_inverse_not_square": lambda m: m.cholesky_inverse(T(m, _TALL)),
    "cholesky_inverse_int": lambda m: m.cholesky_inverse(T(m, [[1, 0], [0, 1]], I64)),
    "cholesky_inverse_method": lambda m: T(m, _L).cholesky_inverse(),
    "cholesky_solve": lambda m: m.cholesky_solve(T(m, _RHS), T(m, _L)),
    "cholesky_solve_upper": lambda m: m.cholesky_solve(T(m, _RHS), T(m, _L.T), upper=True),
    "cholesky_solve_bcast": lambda m: m.cholesky_solve(T(m, np.stack([_RHS] * 2)), T(m, _L)),
    "cholesky_solve_bad_rows": lambda m: m.cholesky_solve(T(m, _RHS.T), T(m, _L)),
    "cholesky_solve_vector": lambda m: m.cholesky_solve(T(m, _RHS[:, 0]), T(m, _L)),
    "cholesky_solve_method": lambda m: T(m, _RHS).cholesky_solve(T(m, _L)),
    "cholesky_solve_f32": lambda m: m.cholesky_solve(T(m, _RHS, F32), T(m, _L, F32)),
    "triangular_solve": lambda m: m.triangular_solve(T(m, _RHS), T(m, _A)),
    "triangular_solve_lower_t": lambda m: m.triangular_solve(T(m, _RHS), T(m, _A), upper=False,
                                                             transpose=True),
    "triangular_solve_unit": lambda m: m.triangular_solve(T(m, _RHS), T(m, _A),
                                                          unitriangular=True),
    "triangular_solve_bcast": lambda m: m.triangular_solve(T(m, _RHS), T(m, _BA)),
    "triangular_solve_bad": lambda m: m.triangular_solve(T(m, _RHS.T), T(m, _A)),
    "triangular_solve_vector": lambda m: m.triangular_solve(T(m, _RHS[:, 0]), T(m, _A)),
    "triangular_solve_method": lambda m: T(m, _RHS).triangular_solve(T(m, _A), False),
}


#: ids not compared with PyTorch, and why
_SKIP_LINALG = {
    "solve_triangular_mixed": "minigrad's matmul and solves promote mixed dtypes (the core "
                              "rule; the README documents int @ float); torch refuses them",
    "solve_triangular_zero_diag": "pinned below: a singular triangular system",
    "cond_singular_fro": "torch documents a RuntimeError for a singular A with this p but "
                         "returns inf; minigrad raises LinAlgError, as documented there",
    "linalg_vander_N1": "torch.linalg.vander refuses N = 1 ('N must be greater than 1'), "
                        "torch.vander takes it; minigrad gives the column of ones",
}


@pytest.mark.parametrize("case_id", sorted(LINALG_CASES))
def test_linalg(case_id):
    _skip_documented(_SKIP_LINALG, case_id)
    with np.errstate(all="ignore"):
        check(LINALG_CASES[case_id], scale=100)


def test_linalg_gradients_match_pytorch():
    A, L, rhs = _A / 2, _L, _RHS
    tall = _TALL
    for fn, args in [
        (lambda m, a, b: m.linalg.solve_triangular(a, b, upper=True), (A, rhs)),
        (lambda m, a, b: m.linalg.solve_triangular(a, b.T, upper=False, left=False,
                                                   unitriangular=True), (A, rhs)),
        (lambda m, a, b: m.linalg.lstsq(a, b).solution, (tall, np.ones((5, 2)))),
        (lambda m, a: m.linalg.cond(a), (A,)), (lambda m, a: m.linalg.cond(a, "nuc"), (A,)),
        # torch's own backward of cond fails for these p (an in-place write in it), so
        # minigrad's cond is compared with torch's ‖A‖·‖A⁻¹‖
        *[(lambda m, a, p=p: m.linalg.cond(a, p) if m is mg else
           m.linalg.matrix_norm(a, p) * m.linalg.matrix_norm(m.linalg.inv(a), p), (A,))
          for p in ("fro", -INF, 1)],
        (lambda m, a: m.linalg.matrix_exp(a), (A,)),
        (lambda m, a: m.linalg.matrix_exp(a * 3), (A,)),
        (lambda m, a: m.linalg.vander(a[0], N=4), (A,)),
        # torch.vander's own backward fails (an in-place write in it): against the flip of
        # torch.linalg.vander
        (lambda m, a: m.vander(a[1]) if m is mg else m.linalg.vander(a[1]).flip(-1), (A,)),
        (lambda m, a: m.linalg.tensorinv(a.reshape(3, 3, 1), 1), (A,)),
        (lambda m, a, b: m.linalg.tensorsolve(a.reshape(3, 3), b[:, 0]), (A, rhs)),
        (lambda m, a: m.linalg.lu(a)[1] + m.linalg.lu(a)[2], (A,)),
        (lambda m, a: m.linalg.lu(a)[2], (tall,)), (lambda m, a: m.linalg.lu(a)[1], (tall.T,)),
        (lambda m, a: m.linalg.lu_factor(a).LU, (A,)),
        (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b), (A, rhs)),
        (lambda m, a, b: m.linalg.lu_solve(*m.linalg.lu_factor(a), b.T, left=False,
                                           adjoint=True), (A, rhs)),
        (lambda m, a, b: m.tensordot(a, b, ([0], [0])), (A, rhs)),
        (lambda m, a, b: m.mv(a, b[:, 0]), (A, rhs)),
        (lambda m, a, b: m.vdot(a[0], b[:, 1]), (A, rhs)),
        (lambda m, a, b: m.addr(a, b[:, 0], b[:, 1], beta=0.5, alpha=2), (A, rhs)),
        (lambda m, a, b: m.addbmm(a, b.reshape(1, 3, 2), b.T.reshape(1, 2, 3), alpha=-1),
         (A, rhs)),
        (lambda m, a: m.cholesky_inverse(m.tril(a)), (L,)),
        (lambda m, a: m.cholesky_inverse(m.triu(a), upper=True), (L.T,)),
        (lambda m, a, b: m.cholesky_solve(b, m.tril(a)), (L, rhs)),
        (lambda m, a, b: m.triangular_solve(b, a).solution, (A, rhs)),
        (lambda m, a, b: m.triangular_solve(b, a, upper=False, transpose=True,
                                            unitriangular=True)[0], (A, rhs)),
        (lambda m, a, b: m.triangular_solve(b, a)[1], (A, rhs)),
    ]:
        check_grad(fn, *args, rtol=1e-7, atol=1e-9)


# --------------------------------------------------------------------- window functions

_WINDOWS = ("hann_window", "hamming_window", "blackman_window", "bartlett_window",
            "kaiser_window")


def _window_cases():
    out = []
    for name in _WINDOWS:
        for n in (0, 1, 2, 3, 8, 17):
            for periodic in (True, False):
                out.append(pytest.param(name, n, periodic, None,
                                        id=f"{name}-{n}-periodic{int(periodic)}"))
        for dtype in ("float64", "float16", "int64"):
            out.append(pytest.param(name, 9, True, dtype, id=f"{name}-{dtype}"))
        out.append(pytest.param(name, -1, True, None, id=f"{name}-negative"))
    return out


@pytest.mark.parametrize("name, n, periodic, dtype", _window_cases())
def test_window_functions(name, n, periodic, dtype):
    def make(m):
        kwargs = {} if dtype is None else {"dtype": getattr(m, dtype)}
        return getattr(m, name)(n, periodic, **kwargs)

    check(make, scale=10)


WINDOW_CASES = {
    "default_periodic": lambda m: m.hann_window(5),
    "hamming_coefficients": lambda m: m.hamming_window(7, False, alpha=0.5, beta=0.25),
    "hamming_positional": lambda m: m.hamming_window(6, True, 0.6),
    "kaiser_beta": lambda m: m.kaiser_window(9, False, beta=3.5),
    "kaiser_beta0": lambda m: m.kaiser_window(4, True, beta=0.0),   # torch needs periodic
    "requires_grad": lambda m: m.hann_window(4, requires_grad=True).requires_grad,
    "float_length": lambda m: m.hann_window(4.0),
    "bool_length": lambda m: m.bartlett_window(True),
}


@pytest.mark.parametrize("fn", _cases(WINDOW_CASES))
def test_window_function_arguments(fn):
    check(fn, scale=10)


# --------------------------------------------------------------------- Tensor methods

_P = np.array([[0.5, 2.0, -1.0], [4.0, NAN, 0.25], [-3.0, 1.5, 1.5]])
_I = np.array([[6, -4, 9], [0, 12, 3]])

#: id -> f(m): each function as a Tensor method, with default arguments where it has them
METHOD_CASES = {
    "logcumsumexp": lambda m: T(m, _A).logcumsumexp(0),
    "cummax": lambda m: T(m, _P).cummax(1),
    "count_nonzero": lambda m: T(m, _P).count_nonzero(),
    "unique": lambda m: T(m, _I).unique(),
    "unique_consecutive": lambda m: T(m, [1, 1, 3], I64).unique_consecutive(return_counts=True),
    "nonzero_tuple": lambda m: T(m, _I).nonzero(as_tuple=True),
    "argwhere": lambda m: T(m, _I).argwhere(),
    "nansum": lambda m: T(m, _P).nansum(),
    "nanmean": lambda m: T(m, _P).nanmean(1, True),
    "aminmax": lambda m: T(m, _P[::2]).aminmax(),
    "aminmax_dim": lambda m: T(m, _I).aminmax(dim=0, keepdim=True),
    "var_mean": lambda m: m.var_mean(T(m, _A)),
    "std_mean": lambda m: m.std_mean(T(m, _A), (0, 1), keepdim=True),
    "var_mean_unbiased": lambda m: m.var_mean(T(m, _A), 1, unbiased=False),
    "std_mean_correction": lambda m: m.std_mean(T(m, _A), dim=0, correction=2),
    "mode": lambda m: T(m, _I).mode(),
    "nanmedian": lambda m: T(m, _P).nanmedian(),
    "nanmedian_dim": lambda m: T(m, _P).nanmedian(0),
    "quantile": lambda m: T(m, _A).quantile(0.25),
    "nanquantile": lambda m: T(m, _P).nanquantile(0.5, 1),
    "msort": lambda m: T(m, _P).msort(),
    "ravel": lambda m: T(m, _P).T.ravel(),
    "positive": lambda m: T(m, _P).positive(),
    "isreal": lambda m: T(m, _P).isreal(),
    "is_nonzero": lambda m: T(m, [3]).is_nonzero(),
    "dist": lambda m: T(m, _A).dist(T(m, _A.T)),
    "bitwise": lambda m: [T(m, _I).bitwise_and(T(m, _I[::-1])), T(m, _I).bitwise_or(5),
                          T(m, _I).bitwise_xor(T(m, _I.T[:1].T)), T(m, _I).bitwise_not()],
    "shifts": lambda m: [T(m, _I).bitwise_left_shift(2), T(m, _I).bitwise_right_shift(1)],
    "gcd_lcm": lambda m: [T(m, _I).gcd(T(m, _I[::-1])), T(m, _I).lcm(T(m, _I[::-1]))],
    "fmax_fmin_fmod": lambda m: [T(m, _P).fmax(T(m, _P.T)), T(m, _P).fmin(T(m, _P.T)),
                                 T(m, _P).fmod(T(m, _P.T)), T(m, _P).fmod(1.5)],
    "frexp": lambda m: T(m, _P).frexp(),
    "ldexp": lambda m: T(m, _P).ldexp(T(m, _I[:, :3][:1])),
    "nextafter": lambda m: T(m, _P).nextafter(T(m, _P.T)),
    "signbit": lambda m: T(m, -_P).signbit(),
    "i0": lambda m: T(m, _A).i0(),
    "igamma": lambda m: T(m, np.abs(_A)).igamma(T(m, np.abs(_A.T))),
    "igammac": lambda m: T(m, np.abs(_A)).igammac(T(m, np.abs(_A.T))),
    "lgamma_digamma": lambda m: [T(m, _A).lgamma(), T(m, np.abs(_A)).digamma()],
    "polygamma_mvlgamma": lambda m: [T(m, np.abs(_A)).polygamma(2),
                                     T(m, np.abs(_A) + 2).mvlgamma(3)],
    "bincount": lambda m: T(m, [1, 1, 4], I64).bincount(),
    "histc": lambda m: T(m, _A).histc(),
    "histogram": lambda m: T(m, _A).histogram(3),
    "cov": lambda m: T(m, _A).cov(),
    "corrcoef": lambda m: T(m, _A).corrcoef(),
    "renorm": lambda m: T(m, _A).renorm(1, 1, 2.0),
    "select_scatter": lambda m: T(m, _A).select_scatter(T(m, _V), 1, 0),
    "slice_scatter": lambda m: T(m, _A).slice_scatter(T(m, _A[:1])),
    "diagonal_scatter": lambda m: T(m, _A).diagonal_scatter(T(m, _V)),
    "take": lambda m: T(m, _A).take(T(m, [8, 0], I64)),
    "put": lambda m: T(m, _A).put(T(m, [8, 0], I64), T(m, [1.0, 2.0])),
    "index_put": lambda m: T(m, _A).index_put((T(m, [1], I64),), T(m, 0.0)),
    "masked_scatter": lambda m: T(m, _A).masked_scatter(T(m, _A > 0), T(m, -_A)),
    "scatter_reduce": lambda m: T(m, _A).scatter_reduce(0, T(m, [[2, 2, 0]], I64),
                                                        T(m, [[1.0, 9.0, 5.0]]), "amax"),
    "index_reduce": lambda m: T(m, _A).index_reduce(1, T(m, [0, 0], I64), T(m, _A[:, :2]),
                                                    "amin"),
    "splits": lambda m: [T(m, _B).tensor_split(3), T(m, _B).hsplit(3), T(m, _B).vsplit(2),
                         T(m, _B).dsplit(4), T(m, _B).split_with_sizes([1, 1])],
    "unfold": lambda m: T(m, _B).unfold(2, 3, 1),
    "narrow_copy": lambda m: T(m, _B).narrow_copy(2, 1, 2),
    "diagflat": lambda m: T(m, _A).diagflat(),
    "products": lambda m: [T(m, _A).mv(T(m, _V)), T(m, _V).vdot(T(m, _V)), T(m, _V).ger(T(m, _V)),
                           T(m, _A).addr(T(m, _V), T(m, _V)), T(m, _A).addbmm(T(m, _BA),
                                                                               T(m, _BA))],
    "adjoint": lambda m: T(m, _B).adjoint(),
    "cholesky_family": lambda m: [T(m, _L).cholesky_inverse(), T(m, _RHS).cholesky_solve(T(m, _L)),
                                  cholesky(m, T(m, _SPD))],
    "triangular_solve": lambda m: T(m, _RHS).triangular_solve(T(m, _A)),
    "lu": lambda m: T(m, _A).lu(),
    "lu_solve": lambda m: T(m, _RHS).lu_solve(*T(m, _A).lu()),
    "matrix_exp": lambda m: T(m, _A).matrix_exp(),
    "qr_svd": lambda m: [qr(m, T(m, _TALL))[1].abs(), T(m, _TALL).svd()[1]],
    "movedim": lambda m: T(m, _B).movedim((0, 1), (-1, -2)),
    "swapaxes": lambda m: T(m, _B).swapaxes(0, -1),
    "tile": lambda m: T(m, _A).tile((2, 1)),
    "repeat_interleave": lambda m: T(m, _A).repeat_interleave(2),
    "rot90": lambda m: T(m, _A).rot90(),
    "flips": lambda m: [T(m, _A).fliplr(), T(m, _A).flipud()],
    "diff": lambda m: T(m, _A).diff(),
    "take_along_dim": lambda m: T(m, _A).take_along_dim(T(m, [8, 0], I64)),
    "index_add_copy_fill": lambda m: [T(m, _A).index_add(0, T(m, [1], I64), T(m, _A[:1])),
                                      T(m, _A).index_copy(0, T(m, [1], I64), T(m, _A[:1])),
                                      T(m, _A).index_fill(0, T(m, [1], I64), 2.0)],
    "masked_select": lambda m: T(m, _A).masked_select(T(m, _A > 0)),
    "select": lambda m: T(m, _B).select(-1, 0),
}


@pytest.mark.parametrize("fn", _cases(METHOD_CASES))
def test_tensor_methods(fn):
    with np.errstate(all="ignore"):
        check(fn, scale=100)


# --------------------------------------------------------------------- pinned by hand
# What this audit fixed, with the numbers worked out by hand or by SciPy (these run
# without PyTorch), and the places where minigrad differs from PyTorch on purpose.


def test_unique_keeps_each_nan_and_checks_its_dim():
    values, inverse, counts = mg.unique(mg.tensor([NAN, 1.0, NAN]), return_inverse=True,
                                        return_counts=True)
    assert np.isnan(values.numpy()[1:]).all() and values.shape == (3,)
    assert inverse.tolist() == [1, 0, 2] and counts.tolist() == [1, 1, 1]
    for op in (mg.unique, mg.unique_consecutive):
        with pytest.raises(IndexError, match="0-d tensor"):
            op(mg.tensor(2.0), dim=0)
        with pytest.raises(ValueError, match="empty"):
            op(mg.zeros(0, 3), dim=1)
    values, inverse, counts = mg.unique_consecutive(mg.zeros(0, 3), return_inverse=True,
                                                    return_counts=True, dim=0)
    assert values.shape == (0, 3) and inverse.shape == (0,) and counts.shape == (0,)


def test_dtype_rules_fixed_by_the_audit():
    with pytest.raises(TypeError, match="logcumsumexp"):
        mg.logcumsumexp(mg.tensor(3), 0)
    with pytest.raises(TypeError, match="median"):
        mg.nanmedian(mg.tensor([True, False]))
    with pytest.raises(TypeError, match="searchsorted"):
        mg.searchsorted(mg.tensor([False, True]), mg.tensor([True]))
    with pytest.raises(TypeError, match="fmod"):
        mg.fmod(mg.tensor([True]), mg.tensor([True]))
    with pytest.raises(TypeError, match="isin"):
        mg.isin(mg.tensor([True]), mg.tensor([1]))
    with pytest.raises(TypeError, match="softmax"):
        mg.tensor([1, 2]).softmax(0)
    with pytest.raises(TypeError, match="vander"):
        mg.linalg.vander(mg.tensor([True, False]))
    # a bool beside an integer is an integer; an integer beside a float, a float
    assert mg.gcd(mg.tensor([True, False]), mg.tensor([4, 6])).tolist() == [1, 6]
    assert mg.bitwise_left_shift(mg.tensor([True]), mg.tensor([3])).tolist() == [8]
    assert mg.nextafter(mg.tensor([1]), mg.tensor([2.0])).dtype == mg.float32
    assert mg.igamma(mg.tensor([1]), mg.tensor([0.5], dtype=mg.float64)).item() == \
        pytest.approx(1 - math.exp(-0.5), rel=1e-14)
    assert mg.ldexp(mg.tensor([1.5], dtype=mg.float16), mg.tensor([3])).dtype == mg.float16
    assert mg.ldexp(mg.tensor([3]), mg.tensor([1])).tolist() == [6.0]
    assert mg.tensor([1, 2]).logsumexp(0).dtype == mg.float32
    # a number beside an integer tensor keeps its fraction: 1·log(3.5), 2·log(3.5)
    y = mg.special.xlog1py(mg.tensor([1, 2]), 2.5)
    assert y.dtype == mg.float32
    np.testing.assert_allclose(y.numpy(), [math.log(3.5), 2 * math.log(3.5)], rtol=1e-6)
    assert mg.special.xlog1py(0.5, mg.tensor([1.0])).item() == pytest.approx(0.5 * math.log(2))
    # unsigned integers are not negated in the integer dtype: Φ(0) = ½, Φ⁻¹(0) = −inf
    assert mg.special.ndtr(mg.tensor([0, 200], dtype=mg.uint8)).tolist() == [0.5, 1.0]
    assert mg.special.ndtri(mg.tensor([0, 1], dtype=mg.uint8)).tolist() == [-INF, INF]


def test_special_functions_at_nan_inf_and_in_the_tails():
    with np.errstate(all="raise"):
        assert np.isnan(mg.digamma(mg.tensor([NAN])).item())
        assert mg.digamma(mg.tensor([INF])).item() == INF
        assert mg.lgamma(mg.tensor([INF, -INF])).tolist() == [INF, INF]
        assert np.isnan(mg.polygamma(2, mg.tensor([NAN])).item())
        assert mg.polygamma(1, mg.tensor([INF])).item() == 0.0
    assert np.isnan(mg.special.entr(mg.tensor([NAN])).item())
    assert np.isnan(mg.special.xlog1py(mg.tensor([0.0]), mg.tensor([NAN])).item())
    assert mg.special.xlog1py(mg.tensor([0.0]), mg.tensor([-2.0])).item() == 0.0
    # Φ⁻¹ in the tails (SciPy's ndtri): √2·erf⁻¹(2p − 1) gave −inf at p = 1e-30
    x = mg.special.ndtri(mg.tensor([1e-30, 1e-10, 0.5, 1 - 1e-10], dtype=mg.float64))
    np.testing.assert_allclose(x.numpy(), [-11.464024688443613, -6.361340902404056, 0.0,
                                           6.361340889697422], rtol=1e-13)
    assert mg.special.ndtri(mg.tensor([1e-10])).item() == pytest.approx(-6.3613409996,
                                                                        rel=1e-7)
    p = mg.tensor([0.01, 0.3, 0.9], dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(mg.special.ndtri, (p,)) and mg.gradgradcheck(mg.special.ndtri, (p,))


def test_shapes_fixed_by_the_audit():
    x = mg.tensor(2.5, dtype=mg.float64)
    assert mg.quantile(x, 0.3, 0, keepdim=True).shape == ()
    assert mg.nanquantile(x, mg.tensor([0.1, 0.9], dtype=mg.float64), -1, True).shape == (2,)
    assert mg.zeros(2, 0).softmax(-1).shape == (2, 0)
    assert mg.zeros(0, 3).log_softmax(0).shape == (0, 3)
    with pytest.raises(IndexError, match="softmax"):
        mg.zeros(2, 3).softmax(2)
    assert mg.tensordot(mg.zeros(2, 0), mg.zeros(0, 3), 1).tolist() == [[0.0] * 3] * 2
    assert mg.vander(mg.zeros(0)).shape == (0, 0)
    assert mg.block_diag().shape == (1, 0)
    assert mg.gradient(x) == () and mg.gradient(mg.ones(2, 3), dim=()) == ()
    with pytest.raises(IndexError, match="0-d"):
        mg.gradient(x, dim=0)
    with pytest.raises(ValueError, match="0-d"):
        mg.trapezoid(x)
    with pytest.raises(ValueError, match="0-d"):
        mg.split_with_sizes(x, [1])
    with pytest.raises(ValueError, match="0-d"):
        mg.linalg.vander(x)
    with pytest.raises(ValueError, match="prepend and append"):
        mg.diff(mg.zeros(2, 3), prepend=mg.zeros(3))
    with pytest.raises(ValueError, match="xlog1py"):
        mg.special.xlog1py(mg.zeros(3), mg.zeros(2))
    with pytest.raises(ValueError, match="window_length"):
        mg.hann_window(True)


def test_documented_differences_from_pytorch():
    # mode: NaNs are one value, sorted last (ties go to the smallest value, index of the
    # last occurrence); PyTorch leaves NaN's mode unspecified
    v, i = mg.mode(mg.tensor([[1.0, NAN, NAN, 2.0, 2.0], [NAN, 3.0, NAN, 1.0, 5.0]]), 1)
    assert v.tolist()[0] == 2.0 and np.isnan(v.tolist()[1]) and i.tolist() == [4, 2]
    # integer and bool means, variances and standard deviations are float32 (PyTorch
    # refuses them): var of [1, 2, 4] is 7/3
    var, mean = mg.var_mean(mg.tensor([1, 2, 4]))
    assert var.dtype == mean.dtype == mg.float32
    assert var.item() == pytest.approx(7 / 3) and mean.item() == pytest.approx(7 / 3)
    std, mean = mg.std_mean(mg.tensor([True, False]), correction=0)
    assert std.item() == 0.5 and mean.item() == 0.5
    # ψ is nan at the negative integers (no limit there); at ±0 it is ∓inf, as PyTorch
    assert mg.digamma(mg.tensor([0.0, -0.0])).tolist() == [-INF, INF]
    assert np.isnan(mg.digamma(mg.tensor([-2.0])).numpy()).all()
    # I₀(±inf) = inf and I₁(±inf) = ±inf (PyTorch: nan)
    assert mg.i0(mg.tensor([INF, -INF])).tolist() == [INF, INF]
    assert mg.special.i1(mg.tensor([INF, -INF])).tolist() == [INF, -INF]
    # a singular triangular system raises (PyTorch returns inf/nan)
    with pytest.raises(mg.linalg.LinAlgError):
        mg.linalg.solve_triangular(mg.tensor([[1.0, 2.0], [0.0, 0.0]]), mg.ones(2, 1),
                                   upper=True)
    # mvlgamma checks its domain (PyTorch 2 leaves x ≤ (p − 1)/2 undefined and computes)
    with pytest.raises(ValueError, match="greater than"):
        mg.mvlgamma(mg.tensor([1.6, 0.9]), 3)
    # weighted bincount is differentiable in the weights (an index_add)
    w = mg.tensor([0.5, 1.0, 2.0], dtype=mg.float64, requires_grad=True)
    mg.bincount(mg.tensor([0, 2, 2]), w).backward(mg.tensor([1.0, 10.0, 100.0],
                                                            dtype=mg.float64))
    assert w.grad.tolist() == [1.0, 100.0, 100.0]
    # dist with p = 0 has gradient 0 (PyTorch's backward fails)
    a = mg.tensor([1.0, 2.0], dtype=mg.float64, requires_grad=True)
    mg.dist(a, mg.tensor([1.0, 5.0], dtype=mg.float64), 0).backward()
    assert a.grad.tolist() == [0.0, 0.0]
    # decreasing histogram edges raise (NumPy's rule; PyTorch does not check)
    with pytest.raises(ValueError, match="monotonically"):
        mg.histogram(mg.tensor([1.0]), mg.tensor([0.0, 2.0, 1.0]))
    # put/index_put without accumulate: the last of repeated positions lands and alone
    # gets the gradient
    s = mg.tensor([5.0, 7.0], dtype=mg.float64, requires_grad=True)
    y = mg.put(mg.zeros(3, dtype=mg.float64), mg.tensor([1, 1]), s)
    assert y.tolist() == [0.0, 7.0, 0.0]
    y.sum().backward()
    assert s.grad.tolist() == [0.0, 1.0]


def test_extensions_pytorch_refuses():
    """Inputs PyTorch's argument parser refuses and minigrad accepts, with the values they
    have: a number for a tensor operand, an int32 index, tensors of several dtypes in
    meshgrid, and an integer tensor with a float alpha in rsub (as minigrad's add/sub)."""
    x = mg.tensor([1.0, NAN, 3.0])
    assert mg.fmax(x, 2.0).tolist() == [2.0, 2.0, 3.0]
    assert mg.fmin(5, mg.tensor([3, 9])).tolist() == [3, 5]
    assert mg.gcd(mg.tensor([12, 18]), 8).tolist() == [4, 2]
    assert mg.ldexp(mg.tensor([1.0, 3.0]), 2).tolist() == [4.0, 12.0]
    assert mg.take(mg.tensor([[1, 2], [3, 4]]), mg.tensor([3, 0], dtype=mg.int32)).tolist() \
        == [4, 1]
    X, Y = mg.meshgrid(mg.tensor([1, 2]), mg.tensor([0.5]), indexing="ij")
    assert X.dtype == mg.int64 and Y.dtype == mg.float32 and Y.tolist() == [[0.5], [0.5]]
    assert mg.rsub(mg.tensor([1, 2]), mg.tensor([5, 5]), alpha=0.5).tolist() == [4.5, 4.0]
    assert mg.repeat_interleave(mg.tensor(5.0), 3, dim=0).tolist() == [5.0, 5.0, 5.0]
    assert mg.linalg.vander(mg.tensor([1.0, 2.0]), N=1).tolist() == [[1.0], [1.0]]
