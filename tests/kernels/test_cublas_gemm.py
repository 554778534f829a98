"""The direct cuBLAS call of GPU products (minigrad.kernels.cublas_gemm: during CUDA graph
capture, for operands cupy.matmul would copy, and in the GPU convolutions): its column-major
plan of a row-major strided product, executed by a NumPy model that reads memory exactly as
cuBLAS does, equals matmul for every layout a product meets (views, transposes, broadcast
batches, size-1 and empty dims); on a GPU, the cuBLAS call itself."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from minigrad.kernels import cublas_gemm as C

from minigrad import dtypes
from minigrad._backend import cuda_available
from tests.stand_in import run_on_stand_in


def _layout(rng, shape, how, xp=np, dtype=np.float64):
    """An array of ``shape`` (of ``xp``, ``dtype``) with the values of a fresh random array,
    laid out ``how``."""
    x = xp.asarray(rng.standard_normal(shape)).astype(dtype)
    if how == "contiguous":
        return x
    if how == "transposed":  # a transposed view of a contiguous array
        return xp.ascontiguousarray(xp.swapaxes(x, -1, -2)).swapaxes(-1, -2)
    if how == "sliced":  # rows further apart than their length
        wide = xp.zeros(shape[:-1] + (shape[-1] + 3,), dtype=dtype)
        wide[..., :shape[-1]] = x
        return wide[..., :shape[-1]]
    if how == "reversed":  # negative strides: copied
        return xp.ascontiguousarray(x[..., ::-1])[..., ::-1]
    raise ValueError(how)


LAYOUTS = ["contiguous", "transposed", "sliced", "reversed"]
HALF_DTYPES = [np.float16] + ([dtypes.bfloat16] if dtypes.bfloat16 is not None else [])


@given(m=st.integers(0, 5), k=st.integers(0, 5), n=st.integers(0, 5),
       batch_a=st.sampled_from([(), (1,), (3,), (2, 3), (1, 3)]),
       batch_b=st.sampled_from([(), (3,), (2, 1), (2, 3)]),
       la=st.sampled_from(LAYOUTS), lb=st.sampled_from(LAYOUTS),
       dtype=st.sampled_from([np.float64, np.float32, np.float16]))
def test_plan_reproduces_matmul(m, k, n, batch_a, batch_b, la, lb, dtype):
    try:
        np.broadcast_shapes(batch_a, batch_b)
    except ValueError:
        return
    rng = np.random.default_rng(0)
    a = _layout(rng, batch_a + (m, k), la, dtype=dtype)
    b = _layout(rng, batch_b + (k, n), lb, dtype=dtype)
    plan = C.plan_gemm(np, a, b)
    got = C.reference_gemm(plan)
    want = np.matmul(a.astype(np.float64), b.astype(np.float64))
    assert got.shape == want.shape and got.dtype == a.dtype
    tol = 1e-2 if dtype == np.float16 else 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(got.astype(np.float64), want, rtol=tol, atol=tol)
    # the leading dimensions are the ones cuBLAS accepts
    for op, ld, rows in zip(plan.ops, plan.ld, ((k, n), (m, k))):
        stored_rows = rows[1] if op == C.OP_N else rows[0]  # column-major rows of the stored
        assert ld >= max(1, stored_rows)


def test_views_are_passed_without_copies():
    x = np.arange(24.0).reshape(2, 3, 4)
    plan = C.plan_gemm(np, x.swapaxes(1, 2), x)   # (2, 4, 3) @ (2, 3, 4): a transposed view
    assert plan.ops == (C.OP_N, C.OP_T) and np.shares_memory(plan.second, x)
    assert plan.strides == (12, 12) and plan.ld == (4, 4)
    w = np.ones((3, 4))
    plan = C.plan_gemm(np, x.swapaxes(1, 2), w)   # a broadcast weight: batch stride 0
    assert plan.strides[0] == 0 and np.shares_memory(plan.first, w)


@pytest.mark.parametrize("dtype", HALF_DTYPES)
def test_half_operands_give_float32_sums_unrounded_or_rounded_once(dtype):
    a = np.full((1, 64), 1.0 + 2.0 ** -7, dtype=np.float32).astype(dtype)
    b = np.full((64, 1), 1.0 + 2.0 ** -7, dtype=np.float32).astype(dtype)
    plan = C.plan_gemm(np, a, b)
    exact = 64 * float(a[0, 0]) ** 2  # every product exact in float32, the sum too
    got32 = C.reference_gemm(plan, C.gemm_out_dtype(dtype, np.float32))
    assert got32.dtype == np.float32 and float(got32[0, 0]) == exact
    got = C.reference_gemm(plan, C.gemm_out_dtype(dtype))
    assert got.dtype == dtype and got[0, 0] == np.array(exact, np.float32).astype(dtype)


def test_out_dtypes_offered_and_refused():
    assert C.gemm_out_dtype(np.float32) == np.float32
    assert C.gemm_out_dtype(np.float16, np.float32) == np.float32
    with pytest.raises(TypeError, match="float64 result of float32 operands"):
        C.gemm_out_dtype(np.float32, np.float64)
    with pytest.raises(TypeError, match="float16 result of float32"):
        C.gemm_out_dtype(np.float32, np.float16)


def test_direct_gemm_switch_restores_itself():
    assert C.direct_enabled()
    with C.direct_gemm(False):
        assert not C.direct_enabled()
        with C.direct_gemm(True):
            assert C.direct_enabled()
        assert not C.direct_enabled()
    assert C.direct_enabled()
    C.direct_gemm(False)  # a plain call switches until told otherwise, as use_vendor
    try:
        assert not C.direct_enabled()
    finally:
        C.direct_gemm(True)
    assert C.direct_enabled()


@pytest.mark.parametrize("dtype, out_dtype", [(np.float64, None), (np.float32, None),
                                              (np.float16, np.float32), (np.float16, None)])
def test_reference_adds_into_add_to_with_one_rounding(dtype, out_dtype):
    """gemm_reference(..., add_to=C): C + a @ b in the accumulation dtype, rounded once
    into C (cuBLAS's β = 1), C itself returned; a C of another shape or dtype, or not
    contiguous, is refused by name."""
    rng = np.random.default_rng(2)
    a = rng.standard_normal((3, 5, 4)).astype(dtype)
    b = rng.standard_normal((4, 6)).astype(dtype).T.copy().T  # a transposed layout
    c_dtype = np.dtype(out_dtype or dtype)
    c = rng.standard_normal((3, 5, 6)).astype(c_dtype)
    acc = np.float32 if c_dtype == np.float16 else c_dtype
    want = (np.matmul(a.astype(acc), b.astype(acc)) + c.astype(acc)).astype(c_dtype)
    got = C.gemm_reference(a, b, out_dtype=out_dtype, add_to=c)
    assert got is c
    np.testing.assert_allclose(c.astype(np.float64), want.astype(np.float64),
                               rtol={np.float16: 1e-3}.get(c_dtype.type, 1e-6), atol=1e-6)
    for bad in (np.zeros((3, 6, 5), c_dtype), np.zeros((3, 5, 6), np.float64
                if c_dtype != np.float64 else np.float32), np.zeros((3, 6, 5), c_dtype).mT):
        with pytest.raises(ValueError, match="add_to must be a C-contiguous"):
            C.gemm_reference(a, b, out_dtype=out_dtype, add_to=bad)


def test_bad_operands_are_named():
    with pytest.raises(ValueError, match="inner dims differ"):
        C.plan_gemm(np, np.ones((2, 3)), np.ones((4, 2)))
    with pytest.raises(ValueError, match="two or more dims"):
        C.plan_gemm(np, np.ones(3), np.ones((3, 2)))


@pytest.mark.gpu
@pytest.mark.skipif(not cuda_available(), reason="needs CuPy and a CUDA device")
@pytest.mark.parametrize("dtype, out_dtype, tf32", [
    (np.float32, None, False), (np.float64, None, False), (np.float16, None, False),
    (np.float16, np.float32, False), (np.float32, None, True)])
@pytest.mark.parametrize("la, lb", [("contiguous", "contiguous"), ("transposed", "sliced"),
                                    ("sliced", "transposed"), ("transposed", "transposed")])
def test_cublas_gemm_equals_matmul(dtype, out_dtype, tf32, la, lb):
    import cupy as cp

    rng = np.random.default_rng(1)
    for batch_a, batch_b, (m, k, n) in [((), (), (33, 17, 9)), ((4,), (4,), (8, 16, 5)),
                                        ((2, 3), (3,), (7, 1, 6)), ((5,), (), (1, 9, 130)),
                                        ((), (6,), (32, 27, 64))]:  # a conv's broadcast W
        a = _layout(rng, batch_a + (m, k), la, cp, dtype)
        b = _layout(rng, batch_b + (k, n), lb, cp, dtype)
        c = C.gemm(a, b, out_dtype=out_dtype, tf32=tf32)
        assert c.dtype == (out_dtype or dtype)
        got = c.get().astype(np.float64)
        want = np.matmul(a.get().astype(np.float64), b.get().astype(np.float64))
        err = np.linalg.norm(got - want) / max(np.linalg.norm(want), 1e-30)
        tol = {np.float16: 5e-3 if out_dtype is None else 1e-5,
               np.float32: 5e-3 if tf32 else 1e-5, np.float64: 1e-12}[dtype]
        assert err < tol, (batch_a, batch_b, m, k, n, err)
        twin = C.reference_gemm(C.plan_gemm(np, a.get(), b.get()), c.dtype, tf32)
        twin_err = np.linalg.norm(got - twin) / max(np.linalg.norm(want), 1e-30)
        # (TF32: the twin rounds to nearest; how cuBLAS converts is its own business)
        assert twin_err < {np.float16: 1e-3, np.float32: 5e-3 if tf32 else 1e-5,
                           np.float64: 1e-12}[dtype]
        # β = 1: the product added into an array of its shape, in place
        base = cp.asarray(rng.standard_normal(c.shape)).astype(c.dtype)
        before = base.get().astype(np.float64)
        same = C.gemm(a, b, out_dtype=out_dtype, tf32=tf32, add_to=base)
        assert same is base
        added = base.get().astype(np.float64) - before
        assert np.linalg.norm(added - got) <= 2 * tol * max(np.linalg.norm(want), 1.0)


def test_an_environment_variable_starts_a_process_on_the_cupy_path():
    import os
    import subprocess
    import sys

    code = "from minigrad.kernels import cublas_gemm as C; print(C.direct_enabled())"
    for value, want in [("0", "False"), ("1", "True")]:
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                             env={**os.environ, "MINIGRAD_DIRECT_GEMM": value},
                             check=True).stdout.strip()
        assert out == want


def test_plans_are_cached_only_for_operands_passed_as_they_are():
    """gemm plans a layout once when cuBLAS reads both operands in place (the pointers are
    then the operands' own); a layout that needs a copy is planned every call. Run on the
    CuPy stand-in (tests/fakecupy: arrays with device pointers), in a subprocess."""

    code = """
import cupy, numpy as np
from minigrad.kernels import cublas_gemm as C
x = cupy.asarray(np.arange(24.0).reshape(2, 3, 4))
w = cupy.asarray(np.ones((3, 4)))
a, b = x.swapaxes(1, 2), w                      # a transposed view, a broadcast weight
plan, first, second = C._planned(cupy, a, b)
assert (first, second) == (b.data.ptr, a.data.ptr) and len(C._plans) == 1
again, first2, second2 = C._planned(cupy, a, b)
assert again is C._plans[next(iter(C._plans))] and (first2, second2) == (first, second)
assert again.ops == plan.ops and again.ld == plan.ld and again.strides == plan.strides
r = x[..., ::-1].swapaxes(1, 2)                  # negative strides: copied, not cached
plan3, first3, _ = C._planned(cupy, r, b)
assert len(C._plans) == 1 and first3 == b.data.ptr
print("ok")
"""
    assert run_on_stand_in(code, timeout=120).strip() == "ok"


class _FakeLibrary:
    """Stands for the loaded libcublas: every function is a settable attribute bag."""

    def __init__(self, path):
        self.path = path

    def __getattr__(self, name):
        fn = type(name, (), {})()
        setattr(self, name, fn)
        return fn


@pytest.mark.parametrize("mapped", [True, False])
def test_libcublas_is_found_in_the_memory_map_or_on_the_system(monkeypatch, mapped):
    """Both ways of finding libcublas run (on 2026-11-27 the memory-map way, the one a GPU
    machine takes, raised UnboundLocalError: a function-level ``import ctypes.util`` made
    ``ctypes`` local to the function; the system way was the only one CI reached)."""
    import io

    line = "7f00-7f10 r-xp 0 08:01 42 /opt/cuda/lib/libcublas.so.13.0.2\n"
    maps = "7e00-7e10 r-xp 0 08:01 7 /usr/lib/libc.so.6\n" + (line if mapped else "")
    monkeypatch.setattr(C, "open", lambda *a, **k: io.StringIO(maps), raising=False)
    monkeypatch.setattr(C.ctypes, "CDLL", _FakeLibrary)
    monkeypatch.setattr(C.ctypes.util, "find_library", lambda name: f"/sys/lib{name}.so")
    C._libcublas.cache_clear()
    try:
        lib = C._libcublas()
    finally:
        C._libcublas.cache_clear()
    assert lib.path == ("/opt/cuda/lib/libcublas.so.13.0.2" if mapped else "/sys/libcublas.so")
    assert lib.cublasGemmStridedBatchedEx.restype is C.ctypes.c_int
    assert len(lib.cublasSgemmStridedBatched.argtypes) == 18


_FAKE_CUBLAS_RUN = r"""
import ctypes, types
import numpy as np
import cupy
from minigrad.kernels import cublas_gemm as C

i, p, ll = ctypes.c_int, ctypes.c_void_p, ctypes.c_longlong
TYPES = {0: np.float32, 2: np.float16, 1: np.float64}
state = {"mode": 1, "stream": None, "calls": []}   # CuPy's handle left in device mode


def stored(ptr, dtype, op, rows, cols, ld, stride, batch):
    # op(X) (batch, rows, cols) of X stored column-major with leading dimension ld
    shape = (rows, cols) if op == 0 else (cols, rows)
    e = np.dtype(dtype).itemsize
    n = (batch - 1) * stride + (shape[1] - 1) * ld + shape[0]
    buf = np.frombuffer((ctypes.c_char * (n * e)).from_address(ptr), dtype=dtype)
    v = np.lib.stride_tricks.as_strided(buf, (batch,) + shape, (stride * e, e, ld * e))
    return v if op == 0 else v.transpose(0, 2, 1)


def product(scalar, dtypes, handle, opa, opb, m, n, k, alpha, A, lda, sa, B, ldb, sb, beta,
            Cp, ldc, sc, batch):
    assert handle == 0x1234 and state["mode"] == 0, (handle, state)
    a = stored(A, dtypes[0], opa, m, k, lda, sa, batch).astype(np.float64)
    b = stored(B, dtypes[1], opb, k, n, ldb, sb, batch).astype(np.float64)
    c = stored(Cp, dtypes[2], 0, m, n, ldc, sc, batch)
    al, be = scalar.from_address(alpha).value, scalar.from_address(beta).value
    state["calls"].append((al, be))
    acc = al * (a @ b) + (be * c.astype(np.float64) if be else 0)
    c[...] = acc.astype(c.dtype)
    return 0


def sgemm(dt, scalar):
    return lambda *a: product(scalar, (dt, dt, dt), *a)


def gemm_ex(h, ta, tb, m, n, k, al, A, at, lda, sa, B, bt, ldb, sb, be, Cp, ct, ldc, sc, batch,
            compute, algo):
    assert compute in (68, 77) and algo == -1
    return product(ctypes.c_float, (TYPES[at], TYPES[bt], TYPES[ct]), h, ta, tb, m, n, k, al,
                   A, lda, sa, B, ldb, sb, be, Cp, ldc, sc, batch)


def set_mode(h, mode):
    state["mode"] = mode
    return 0


def get_mode(h, out):
    ctypes.cast(out, ctypes.POINTER(i))[0] = state["mode"]
    return 0


def set_stream(h, s):
    state["stream"] = s
    return 0


sig = [p, i, i, i, i, i, p, p, i, ll, p, i, ll, p, p, i, ll, i]
sig_ex = [p, i, i, i, i, i, p, p, i, i, ll, p, i, i, ll, p, p, i, i, ll, i, i, i]
functions = dict(
    cublasSgemmStridedBatched=(sig, sgemm(np.float32, ctypes.c_float)),
    cublasDgemmStridedBatched=(sig, sgemm(np.float64, ctypes.c_double)),
    cublasGemmStridedBatchedEx=(sig_ex, gemm_ex),
    cublasSetStream_v2=([p, p], set_stream),
    cublasGetPointerMode_v2=([p, p], get_mode),
    cublasSetPointerMode_v2=([p, i], set_mode))
keep = []


class Library:   # a libcublas of ctypes callbacks: calls cross ctypes as to the real one
    def __init__(self, path):
        for name, (args, fn) in functions.items():
            f = ctypes.CFUNCTYPE(i, *args)(fn)
            keep.append(f)
            setattr(self, name, f)


ctypes.CDLL = Library
ctypes.util.find_library = lambda name: "libcublas-fake.so"
C.open = lambda *a, **k: (_ for _ in ()).throw(OSError())
C._libcublas.cache_clear()
cupy.cuda.device = types.SimpleNamespace(get_cublas_handle=lambda: 0x1234)

rng = np.random.default_rng(0)
for dt, out_dtype, tf32 in [(np.float32, None, False), (np.float64, None, False),
                            (np.float32, None, True), (np.float16, np.float32, False),
                            (np.float16, None, False)]:
    x = rng.standard_normal((2, 5, 3)).astype(dt)
    w = rng.standard_normal((4, 3)).astype(dt)
    a, b = cupy.asarray(x), cupy.asarray(w).T     # a batch, a transposed view
    got = C.gemm(a, b, out_dtype=out_dtype, tf32=tf32).get()
    want = x.astype(np.float64) @ w.T.astype(np.float64)
    tol = 1e-2 if dt == np.float16 else 1e-6
    assert got.dtype == (out_dtype or dt), got.dtype
    assert np.allclose(got, want, rtol=tol, atol=tol), (dt, got, want)
    assert state["calls"][-1] == (1.0, 0.0) and state["mode"] == 1, state
    g = cupy.asarray(np.ones((4, 3), dt))        # added into (beta = 1)
    u = cupy.asarray(rng.standard_normal((4, 6)).astype(dt))
    v = cupy.asarray(rng.standard_normal((6, 3)).astype(dt))
    if out_dtype is None:
        C.gemm(u, v, tf32=tf32, add_to=g)
        ref = 1 + u.get().astype(np.float64) @ v.get().astype(np.float64)
        assert np.allclose(g.get(), ref, rtol=tol, atol=tol)
        assert state["calls"][-1] == (1.0, 1.0)
print("ok", len(state["calls"]))
"""


def test_gemm_calls_cublas_through_ctypes_with_the_right_arguments():
    """gemm's calls into libcublas, run on the CPU: a stand-in libcublas of ctypes callbacks
    with cuBLAS's signatures (so every argument crosses ctypes as it would into the real
    one) computes each strided-batched product from the pointers, leading dimensions and
    strides it is given, reading α and β from their host addresses; the CuPy stand-in's
    arrays point at host memory. float32 (also TF32), float64 and float16 (half and float32
    results), products added into an array (β = 1), a handle left in device pointer mode
    by CuPy (set to host for the call, then restored). The GPU runs the real library."""

    assert run_on_stand_in(_FAKE_CUBLAS_RUN, timeout=120).startswith("ok")
