"""The NumPy twins (minigrad.kernels.reference) check their arguments exactly as the CUDA
launchers do: one set of validators (kernels/_validate.py), the same exception types and the
same messages, each naming the function. Beyond that the twins check array contents (the CSR
structure, 2:4 metadata and padding), which the launchers leave alone (reading device
memory would synchronise every call).

Every bad input below runs against the twin and against the launcher with NumPy arrays: a
launcher validates before its device check, so without a GPU it raises the same error for
an attribute check, and for a content check it reaches the device check ("must be a CuPy
array") -- evidence that it read nothing. Valid inputs give the dense float64 product
(twin) and reach the device check (launcher)."""
import numpy as np
import pytest
from minigrad.kernels import _cuda  # the launchers (the stand-in replaces kernels.hgemm)
from minigrad.kernels import reference as ref

import minigrad as mg

from .kernels_testdata import dense_of, random_24, random_csr, regular_lengths, rel_err

DEVICE_CHECK = "must be a CuPy array"
BF16 = np.dtype(mg.bfloat16) if mg.bfloat16 is not None else None


def _same_error(twin, launcher, args, exc, match):
    """Both raise ``exc`` with one message, matching ``match``."""
    with pytest.raises(exc, match=match) as on_cpu:
        twin(**args)
    with pytest.raises(exc) as on_gpu:
        launcher(**args)
    assert type(on_gpu.value) is type(on_cpu.value)
    assert str(on_gpu.value) == str(on_cpu.value)


def _twin_only(twin, launcher, args, exc, match):
    """The twin refuses the contents; the launcher reads none and reaches its device check."""
    with pytest.raises(exc, match=match):
        twin(**args)
    with pytest.raises(TypeError, match=DEVICE_CHECK):
        launcher(**args)


# ------------------------------------------------------------------------------------ CSR


def _csr(**change):
    """A 2 x 2 CSR matrix [[1, 2], [0, 3]], float32, and x = ones(2); ``change`` replaces
    any of indptr, indices, data, x, out."""
    args = dict(indptr=np.array([0, 2, 3], np.int32), indices=np.array([0, 1, 1], np.int32),
                data=np.array([1, 2, 3], np.float32), x=np.ones(2, np.float32), out=None)
    args.update(change)
    return args


SPMV_ATTRIBUTE_CASES = [
    (dict(out=np.zeros(2, np.int32)), TypeError,
     "spmv_csr: out must have dtype float32, got int32"),
    (dict(out=np.zeros(6, np.int32)), TypeError, "spmv_csr: out must have dtype float32"),
    (dict(out=np.zeros(2, np.float64)), TypeError,
     "spmv_csr: out must have dtype float32, got float64"),
    (dict(out=np.zeros(3, np.float32)), ValueError, r"spmv_csr: out must have shape \(2,\)"),
    (dict(out=np.zeros(4, np.float32)[::2]), ValueError, "spmv_csr: out must be C-contiguous"),
    (dict(x=np.ones(2, np.float64)), TypeError,
     "spmv_csr: x must have dtype float32, got float64"),
    (dict(x=np.ones((2, 1), np.float32)), ValueError, "spmv_csr: x must be 1-D"),
    (dict(x=np.ones(4, np.float32)[::2]), ValueError, "spmv_csr: x must be C-contiguous"),
    (dict(x=[1.0, 1.0]), TypeError, "spmv_csr: x must be an array, got list"),
    (dict(indptr=[0, 2, 3]), TypeError, "spmv_csr: indptr must be an array, got list"),
    (dict(indptr=np.array([0, 2, 3], np.int64)), TypeError,
     "spmv_csr: indptr must have dtype int32, got int64"),
    (dict(indptr=np.zeros(0, np.int32)), ValueError, "spmv_csr: indptr must hold n_rows"),
    (dict(indices=np.array([0, 1, 1], np.uint32)), TypeError,
     "spmv_csr: indices must have dtype int32"),
    (dict(indices=np.array([0, 1], np.int32)), ValueError,
     r"spmv_csr: indices \(2\) and data \(3\) must have the same length"),
    (dict(data=np.array([1, 2, 3], np.float16)), TypeError,
     "spmv_csr: data must have dtype float32 or float64, got float16"),
    (dict(data=np.ones((3, 1), np.float32)), ValueError, "spmv_csr: data must be 1-D"),
]

SPMV_CONTENT_CASES = [
    (dict(indptr=np.array([0, 2, 1, 3], np.int32), out=None), "indptr must be non-decreasing, "
     r"but indptr\[2\] = 1 < indptr\[1\] = 2"),
    (dict(indptr=np.array([1, 2, 3], np.int32)), r"indptr\[0\] must be 0, got 1"),
    (dict(indptr=np.array([0, 2, 2], np.int32)),
     r"indptr\[-1\] must equal the number of stored values \(3\), got 2"),
    (dict(x=np.ones(1, np.float32)),
     r"column index 1 \(indices\[1\]\) is outside \[0, 1\) \(len\(x\) = 1\)"),
    (dict(indices=np.array([0, -1, 1], np.int32)), r"column index -1 \(indices\[1\]\)"),
    (dict(indices=np.array([0, 1, 5], np.int32)), r"column index 5 \(indices\[2\]\)"),
]


@pytest.mark.parametrize("change,exc,match", SPMV_ATTRIBUTE_CASES)
def test_spmv_attribute_checks_agree(change, exc, match):
    _same_error(ref.spmv_csr, _cuda.spmv_csr, _csr(**change), exc, match)


def test_spmv_method_check_agrees():
    _same_error(ref.spmv_csr, _cuda.spmv_csr, dict(_csr(), method="fast"), ValueError,
                "spmv_csr: method must be 'vector', 'merge', 'stream' or None, got 'fast'")


@pytest.mark.parametrize("change,match", SPMV_CONTENT_CASES)
def test_spmv_content_checks_in_the_twin_only(change, match):
    _twin_only(ref.spmv_csr, _cuda.spmv_csr, _csr(**change), ValueError, "spmv_csr: " + match)


@pytest.mark.parametrize("change,match", SPMV_CONTENT_CASES)
@pytest.mark.parametrize("model", ["vector", "merge"])
def test_spmv_models_check_too(change, match, model):
    """Each kernel's own model refuses the same inputs under its own name, and so does
    spmv_csr with the method forced."""
    args = _csr(**change)
    with pytest.raises(ValueError, match="spmv_csr: " + match):
        ref.spmv_csr(**args, method=model)
    with pytest.raises(ValueError, match=f"spmv_csr_{model}: " + match):
        getattr(ref, f"spmv_csr_{model}")(**args)
    with pytest.raises(TypeError, match=f"spmv_csr_{model}: x must have dtype float32"):
        getattr(ref, f"spmv_csr_{model}")(**_csr(x=np.ones(2, np.float64)))


def test_spmv_vector_model_checks_threads_per_row():
    with pytest.raises(ValueError, match="spmv_csr_vector: threads_per_row must be 2, 4"):
        ref.spmv_csr_vector(**_csr(), threads_per_row=3)
    with pytest.raises(ValueError, match="spmv_csr: threads_per_row must be 2, 4"):
        _cuda.spmv_csr(**_csr(), threads_per_row=3)


def _spmm(**change):
    args = _csr(**change)
    x = args.pop("x")
    args["B"] = x if "x" in change else np.ones((2, 3), np.float32)
    return args


SPMM_ATTRIBUTE_CASES = [
    (dict(x=np.ones((2, 3), np.float64)), TypeError,
     "spmm_csr: B must have dtype float32, got float64"),
    (dict(x=np.ones(2, np.float32)), ValueError, "spmm_csr: B must be 2-D"),
    (dict(x=np.ones((3, 2), np.float32).T), ValueError, "spmm_csr: B must be C-contiguous"),
    (dict(out=np.zeros((3, 3), np.float32)), ValueError,
     r"spmm_csr: out must have shape \(2, 3\), got \(3, 3\)"),
    (dict(out=np.zeros((2, 3), np.int32)), TypeError, "spmm_csr: out must have dtype float32"),
    (dict(indptr=[0, 2, 3]), TypeError, "spmm_csr: indptr must be an array, got list"),
]


@pytest.mark.parametrize("change,exc,match", SPMM_ATTRIBUTE_CASES)
def test_spmm_attribute_checks_agree(change, exc, match):
    _same_error(ref.spmm_csr, _cuda.spmm_csr, _spmm(**change), exc, match)


@pytest.mark.parametrize("change,match", [
    (dict(x=np.ones((1, 3), np.float32)),
     r"column index 1 \(indices\[1\]\) is outside \[0, 1\) \(B.shape\[0\] = 1\)"),
    (dict(indices=np.array([0, -1, 1], np.int32)), r"column index -1"),
    (dict(indptr=np.array([0, 3, 2], np.int32)), "indptr must be non-decreasing"),
])
def test_spmm_content_checks_in_the_twin_only(change, match):
    _twin_only(ref.spmm_csr, _cuda.spmm_csr, _spmm(**change), ValueError, "spmm_csr: " + match)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("method", [None, "vector", "merge"])
def test_valid_csr_still_gives_the_dense_product(rng, dtype, method):
    n_rows, n_cols = 37, 29
    lengths = regular_lengths(rng, n_rows, 6)
    lengths[::5] = 0  # empty rows
    indptr, indices, data = random_csr(rng, n_rows, n_cols, lengths, dtype)
    A = dense_of(indptr, indices, data, n_cols)
    x = rng.uniform(-1, 1, n_cols).astype(dtype)
    out = np.full(n_rows, np.nan, dtype)
    assert ref.spmv_csr(indptr, indices, data, x, out=out, method=method) is out
    assert rel_err(out, A @ x.astype(np.float64)) < {np.float32: 1e-5, np.float64: 1e-12}[dtype]
    B = rng.uniform(-1, 1, (n_cols, 5)).astype(dtype)
    C = ref.spmm_csr(indptr, indices, data, B)
    assert C.dtype == dtype and rel_err(C, A @ B.astype(np.float64)) < 1e-5
    with pytest.raises(TypeError, match=DEVICE_CHECK):  # the launcher's checks pass too
        _cuda.spmv_csr(indptr, indices, data, x, out=out, method=method)
    with pytest.raises(TypeError, match=DEVICE_CHECK):
        _cuda.spmm_csr(indptr, indices, data, B)


# ---------------------------------------------------------------------------------- hgemm


def _gemm(**change):
    args = dict(A=np.ones((4, 8), np.float16), B=np.ones((8, 2), np.float16), out=None,
                out_dtype=None)
    args.update(change)
    return args


HGEMM_CASES = [
    (dict(out_dtype=np.float64), TypeError,
     "hgemm: output dtype must be float32 or float16, got float64"),
    (dict(out=np.zeros((4, 2), np.float16), out_dtype=np.float32), ValueError,
     "hgemm: out has dtype float16 but out_dtype is float32"),
    (dict(out=np.zeros((4, 2), np.int32)), TypeError,
     "hgemm: output dtype must be float32 or float16, got int32"),
    (dict(out=np.zeros((4, 3), np.float32)), ValueError, r"hgemm: out must have shape \(4, 2\)"),
    (dict(out=[[0.0] * 2] * 4), TypeError, "hgemm: out must be an array, got list"),
    (dict(B=np.ones((7, 2), np.float16)), ValueError,
     r"hgemm: A is \(4, 8\) and B is \(7, 2\): inner sizes differ"),
    (dict(A=np.ones((8, 4), np.float16).T), ValueError, "hgemm: A must be C-contiguous"),
    (dict(A=np.ones((4, 8), np.float32)), TypeError,
     "hgemm: A must have dtype float16 or bfloat16, got float32"),
    (dict(A=np.ones((1, 4, 8), np.float16)), ValueError, "hgemm: A must be 2-D"),
    (dict(B=np.ones((8, 2), np.float32)), TypeError, "hgemm: B must have dtype float16"),
    (dict(A=[[1.0] * 8] * 4), TypeError, "hgemm: A must be an array, got list"),
]


@pytest.mark.parametrize("change,exc,match", HGEMM_CASES)
def test_hgemm_checks_agree(change, exc, match):
    _same_error(ref.hgemm, _cuda.hgemm, _gemm(**change), exc, match)


@pytest.mark.skipif(BF16 is None, reason="no bfloat16 dtype (ml_dtypes)")
def test_hgemm_refuses_mixed_half_types():
    _same_error(ref.hgemm, _cuda.hgemm, _gemm(B=np.ones((8, 2), BF16)), TypeError,
                "hgemm: B must have dtype float16, got bfloat16")


def test_gemm_variants_name_themselves():
    with pytest.raises(TypeError, match="hgemm_wgmma: output dtype must be"):
        _cuda.hgemm_wgmma(**_gemm(out_dtype=np.float64))
    with pytest.raises(ValueError, match="hgemm_wmma: inner sizes differ|hgemm_wmma: A is"):
        _cuda.hgemm_wmma(**_gemm(B=np.ones((7, 2), np.float16)))
    values, metadata = ref.compress_24(np.zeros((16, 32), np.float16))
    with pytest.raises(TypeError, match="mm_24_wgmma: B must have dtype float16"):
        _cuda.mm_24_wgmma(values, metadata, np.ones((32, 8), np.float32))


@pytest.mark.parametrize("half", ["float16", "bfloat16"])
@pytest.mark.parametrize("out_kind", ["default", "out_dtype", "out"])
def test_valid_hgemm_still_gives_the_dense_product(rng, half, out_kind):
    if half == "bfloat16" and BF16 is None:
        pytest.skip("no bfloat16 dtype (ml_dtypes)")
    dt = np.dtype(half) if half == "float16" else BF16
    A = rng.uniform(-1, 1, (33, 40)).astype(dt)
    B = rng.uniform(-1, 1, (40, 17)).astype(dt)
    want = A.astype(np.float64) @ B.astype(np.float64)
    kwargs = {"default": {}, "out_dtype": dict(out_dtype=dt),
              "out": dict(out=np.full((33, 17), np.nan, np.float32))}[out_kind]
    C = ref.hgemm(A, B, **kwargs)
    assert C.dtype == (dt if out_kind == "out_dtype" else np.float32)
    assert rel_err(C, want) < (1e-5 if C.dtype == np.float32 else 1e-2)
    with pytest.raises(TypeError, match=DEVICE_CHECK):
        _cuda.hgemm(A, B, **kwargs)


# ------------------------------------------------------------------------------ 2:4 GEMM


W28 = np.array([[1, 0, 2, 0, 0, 3, 0, 4],
                [0, 5, 6, 0, 7, 0, 0, 8]], np.float16)  # column 7 holds nonzeros


def _mm24(**change):
    W = random_24(np.random.default_rng(0), 20, 64)
    values, metadata = ref.compress_24(W)  # (20, 32) and (2, 2, 16)
    args = dict(values=values, metadata=metadata, B=np.ones((64, 8), np.float16), out=None)
    args.update(change)
    return args


MM24_CASES = [
    (dict(B=np.ones((64, 8), np.float32)), TypeError,
     "mm_24: B must have dtype float16, got float32"),
    (dict(metadata=_mm24()["metadata"].astype(np.int32)), TypeError,
     "mm_24: metadata must have dtype uint32, got int32"),
    (dict(metadata=_mm24()["metadata"][:1]), ValueError,
     r"mm_24: metadata must have shape \(2, 2, 16\), got \(1, 2, 16\)"),
    (dict(metadata=_mm24()["metadata"].tolist()), TypeError,
     "mm_24: metadata must be an array, got list"),
    (dict(values=_mm24()["values"].tolist()), TypeError,
     "mm_24: values must be an array, got list"),
    (dict(values=_mm24()["values"].astype(np.float32)), TypeError,
     "mm_24: values must have dtype float16 or bfloat16"),
    (dict(values=np.ascontiguousarray(_mm24()["values"][:, :24])), ValueError,
     "mm_24: values must have round_up.K, 32. / 2 columns, a multiple of 16"),
    (dict(B=np.ones((100, 8), np.float16)), ValueError,
     r"mm_24: values hold 64 columns of W .* but B has 100 rows .*round_up\(K, 32\) / 2"),
    (dict(B=np.ones((8, 64), np.float16).T), ValueError, "mm_24: B must be C-contiguous"),
    (dict(out=np.zeros((20, 8), np.float64)), TypeError,
     "mm_24: out must be float32 or float16, got float64"),
    (dict(out=np.zeros((20, 8), np.int32)), TypeError,
     "mm_24: out must be float32 or float16, got int32"),
    (dict(out=np.zeros((20, 9), np.float32)), ValueError,
     r"mm_24: out must have shape \(20, 8\), got \(20, 9\)"),
    (dict(K=60), ValueError, "mm_24: W has K = 60 columns but B has 64 rows"),
]


@pytest.mark.parametrize("change,exc,match", MM24_CASES)
def test_mm24_checks_agree(change, exc, match):
    _same_error(ref.mm_24, _cuda.mm_24, _mm24(**change), exc, match)


def test_mm24_b_short_of_rows_w_multiplies():
    """W (2, 8) packs to Kp = 32 columns, so any B of 1 to 32 rows passes the shape check.
    A B of 7 rows drops W's column 7, which holds nonzeros: the twin sees it in the contents
    (the launcher would multiply zero-filled rows); with K=8 both refuse it from shapes."""
    values, metadata = ref.compress_24(W28)
    B7 = np.ones((7, 2), np.float16)
    _twin_only(ref.mm_24, _cuda.mm_24, dict(values=values, metadata=metadata, B=B7), ValueError,
               "mm_24: W has a nonzero in column 7 but B has only 7 rows")
    _same_error(ref.mm_24, _cuda.mm_24, dict(values=values, metadata=metadata, B=B7, K=8),
                ValueError, "mm_24: W has K = 8 columns but B has 7 rows")


def test_mm24_k_is_known_only_up_to_padding():
    """The documented limit: spare rows of B that meet W's zero padding are not seen
    without K (the product is W's, padded with zero columns); K=8 catches them."""
    values, metadata = ref.compress_24(W28)
    B9 = np.arange(18, dtype=np.float16).reshape(9, 2)
    C = ref.mm_24(values, metadata, B9)
    np.testing.assert_array_equal(C, W28.astype(np.float32) @ B9[:8].astype(np.float32))
    _same_error(ref.mm_24, _cuda.mm_24, dict(values=values, metadata=metadata, B=B9, K=8),
                ValueError, "mm_24: W has K = 8 columns but B has 9 rows")


def test_mm24_illegal_metadata_in_the_twin_only():
    args = _mm24()
    bad = args["metadata"].copy()
    bad[0, 0, 0] &= ~np.uint32(0xF)  # nibble 0b0000: i0 == i1
    _twin_only(ref.mm_24, _cuda.mm_24, dict(args, metadata=bad), ValueError, "illegal 2:4 pattern")


@pytest.mark.parametrize("M,Kw,N", [(20, 64, 8), (2, 8, 3), (37, 100, 5)])
@pytest.mark.parametrize("give_k", [False, True])
def test_valid_mm24_still_gives_the_dense_product(rng, M, Kw, N, give_k):
    W = random_24(rng, M, Kw)
    B = rng.uniform(-1, 1, (Kw, N)).astype(np.float16)
    values, metadata = ref.compress_24(W)
    kw = dict(K=Kw) if give_k else {}
    C = ref.mm_24(values, metadata, B, **kw)
    assert C.dtype == np.float32
    assert rel_err(C, W.astype(np.float64) @ B.astype(np.float64)) < 1e-5
    out = np.full((M, N), np.nan, np.float16)
    assert ref.mm_24(values, metadata, B, out=out, **kw) is out and not np.isnan(out).any()
    with pytest.raises(TypeError, match=DEVICE_CHECK):
        _cuda.mm_24(values, metadata, B, out=out, **kw)


# --------------------------------------------------------------------------- compress_24


@pytest.mark.parametrize("W,exc,match", [
    (np.zeros((4, 8), np.float32), TypeError,
     "compress_24: W must have dtype float16 or bfloat16, got float32"),
    (np.zeros(8, np.float16), ValueError, "compress_24: W must be 2-D"),
    ([[0.0] * 8] * 4, TypeError, "compress_24: W must be an array, got list"),
])
def test_compress_24_checks_agree(W, exc, match):
    _same_error(ref.compress_24, _cuda.compress_24, dict(W=W), exc, match)


def test_compress_24_takes_any_layout(rng):
    """compress_24 is array code that copies W into its padded width: a transposed view is
    as good as its contiguous copy, on both paths (the launcher reaches its device check)."""
    Wt = np.asfortranarray(random_24(rng, 16, 40))
    assert not Wt.flags.c_contiguous
    got = ref.compress_24(Wt)
    want = ref.compress_24(np.ascontiguousarray(Wt))
    for g, w in zip(got, want):
        np.testing.assert_array_equal(g, w)
    with pytest.raises(TypeError, match=DEVICE_CHECK):
        _cuda.compress_24(Wt)


def test_compress_24_not_2_4_in_the_twin_only():
    W = np.zeros((4, 8), np.float16)
    W[1, :3] = 1
    # the launcher runs the same array code on the GPU (one synchronisation it already had)
    _twin_only(ref.compress_24, _cuda.compress_24, dict(W=W), ValueError, "W is not 2:4 sparse")
