"""Launcher behaviour that can be checked without a GPU: argument validation (errors name
the argument), the vendor switch, lazy imports, and a clear error where no device exists."""
import os
import subprocess
import sys
from pathlib import Path

import minigrad.kernels as K
import numpy as np
import pytest
from minigrad.kernels import _cuda
from minigrad.kernels import reference as ref

from minigrad import _backend
from tests.stand_in import run_on_stand_in

ROOT = Path(__file__).resolve().parents[2]


def _csr():
    indptr = np.array([0, 2, 3], np.int32)
    indices = np.array([0, 1, 1], np.int32)
    data = np.array([1, 2, 3], np.float32)
    return indptr, indices, data


def test_public_api():
    for name in ("spmv_csr", "spmm_csr", "compress_24", "mm_24", "hgemm", "use_vendor",
                 "vendor_enabled"):
        assert callable(getattr(K, name)) and name in K.__all__
        assert callable(getattr(K.reference, name, None)) or name in ("use_vendor",
                                                                      "vendor_enabled")


def test_import_touches_no_gpu_library():
    code = (f"import sys; sys.path.insert(0, {str(ROOT)!r}); "
            f"sys.path.insert(0, {str(Path(__file__).parent)!r}); import conftest; "
            "import minigrad.kernels, minigrad.kernels.reference; "
            "bad = [m for m in ('cupy', 'numba.cuda', 'torch') if m in sys.modules]; "
            "print('LOADED', bad)")
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          timeout=60)
    assert "LOADED []" in proc.stdout, proc.stdout + proc.stderr


@pytest.mark.parametrize("change,exc,match", [
    (dict(indptr=np.array([0, 2, 3], np.int64)), TypeError, "indptr must have dtype int32"),
    (dict(indices=np.array([0, 1, 1], np.uint32)), TypeError, "indices must have dtype int32"),
    (dict(data=np.array([1, 2, 3], np.float16)), TypeError, "data must have dtype float32"),
    (dict(x=np.ones(2, np.float64)), TypeError, "x must have dtype float32"),
    (dict(x=np.ones((2, 1), np.float32)), ValueError, "x must be 1-D"),
    (dict(x=np.ones(4, np.float32)[::2]), ValueError, "x must be C-contiguous"),
    (dict(indices=np.array([0, 1], np.int32)), ValueError, "same length"),
    (dict(out=np.empty(3, np.float32)), ValueError, r"out must have shape \(2,\)"),
    (dict(out=np.empty(2, np.float64)), TypeError, "out must have dtype float32"),
])
def test_spmv_validation(change, exc, match):
    indptr, indices, data = _csr()
    args = dict(indptr=indptr, indices=indices, data=data, x=np.ones(2, np.float32), out=None)
    args.update(change)
    with pytest.raises(exc, match=match):
        K.spmv_csr(**args)


def test_spmv_rejects_bad_options():
    indptr, indices, data = _csr()
    with pytest.raises(ValueError, match="method"):
        K.spmv_csr(indptr, indices, data, np.ones(2, np.float32), method="fast")
    with pytest.raises(ValueError, match="threads_per_row"):
        K.spmv_csr(indptr, indices, data, np.ones(2, np.float32), threads_per_row=3)
    with pytest.raises(ValueError, match="rows_per_group must be 1, 2 or 4, got 3"):
        K.spmv_csr(indptr, indices, data, np.ones(2, np.float32), rows_per_group=3)
    with pytest.raises(ValueError, match="pipeline must be True, False or None, got 'yes'"):
        K.spmv_csr(indptr, indices, data, np.ones(2, np.float32), pipeline="yes")
    with pytest.raises(ValueError, match="stream_nnz is method='stream''s nonzeros a block"):
        K.spmv_csr(indptr, indices, data, np.ones(2, np.float32), method="stream",
                   stream_nnz=300)
    with pytest.raises(ValueError, match="got 512 with method='vector'"):
        K.spmv_csr(indptr, indices, data, np.ones(2, np.float32), method="vector",
                   stream_nnz=512)
    for method in ("merge", "stream"):
        with pytest.raises(ValueError, match="pipeline=True is a schedule of the vector "
                                             f"kernel; method='{method}' has no pipelined"):
            K.spmv_csr(indptr, indices, data, np.ones(2, np.float32), method=method,
                       pipeline=True)



def test_spmv_plan_rejects_bad_arguments():
    """spmv_plan checks what it is given as spmv_csr does, before it needs a device."""
    indptr, indices, _ = _csr()
    with pytest.raises(TypeError, match="spmv_plan: indptr must have dtype int32"):
        K.spmv_plan(indptr.astype(np.int64), indices, np.float32)
    with pytest.raises(TypeError, match="spmv_plan: dtype must be float32 or float64, got "
                                        "float16"):
        K.spmv_plan(indptr, indices, np.float16)
    with pytest.raises(ValueError, match="spmv_plan: method must be"):
        K.spmv_plan(indptr, indices, np.float32, method="fast")
    with pytest.raises(ValueError, match="spmv_plan: stream_nnz is method='stream''s"):
        K.spmv_plan(indptr, indices, np.float32, stream_nnz=512)
    with pytest.raises(TypeError, match="indptr must be a CuPy array"):
        K.spmv_plan(indptr, indices, np.float32)
    with pytest.raises(TypeError, match="spmv_csr: plan must be a SpmvPlan from spmv_plan, "
                                        "got dict"):
        K.spmv_csr(indptr, indices, _csr()[2], np.ones(2, np.float32), plan={})


# The stand-in tests below run a script in a subprocess (the stand-in takes the name
# ``cupy``), each after this prelude.
_STAND_IN = r"""
import numpy as np
import cupy
import fakecupy_plugin  # noqa: F401
import minigrad.kernels as K
from minigrad.kernels import _cuda, reference as ref


def random_csr(rng, n_rows, lo, hi, dtype, n_cols=500):
    "indptr, indices, data, x (NumPy): rows of lo to hi - 1 nonzeros, uniform columns"
    lengths = rng.integers(lo, hi, n_rows)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    indices = rng.integers(0, n_cols, int(indptr[-1])).astype(np.int32)
    data = rng.uniform(-1, 1, len(indices)).astype(dtype)
    return indptr, indices, data, rng.uniform(-1, 1, n_cols).astype(dtype)
"""


def _on_the_stand_in(script):
    """Run ``_STAND_IN + script`` on the CuPy stand-in (tests/fakecupy); it prints "ok"."""
    assert run_on_stand_in(_STAND_IN + script, timeout=600).strip() == "ok"


_FAKE_SPMV_PIPELINE = r"""

launches, occupancy_queries = [], []
get_kernel = _cuda.get_kernel
occupancy = cupy.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor


def spy(filename, name, defines=None, *args, **kwargs):
    kernel = get_kernel(filename, name, defines, *args, **kwargs)

    def launch(grid, block, kargs):
        launches.append((name, dict(defines or {}), tuple(grid), tuple(block)))
        return kernel(grid, block, kargs)
    launch.kernel = kernel.kernel
    return launch


def counted(*args):
    occupancy_queries.append(args[1:])
    return occupancy(*args)


_cuda.get_kernel = spy
cupy.cuda.driver.occupancyMaxActiveBlocksPerMultiprocessor = counted
resident = 4 * 8  # the stand-in: 4 SMs, 2048 threads an SM
rng = np.random.default_rng(0)
for n_rows, R, dtype in ((40_000, 1, np.float32), (40_000, 2, np.float64), (300, 1, np.float32),
                         (1, 2, np.float32)):
    indptr, indices, data, x = random_csr(rng, n_rows, 3, 10, dtype)
    want = ref.spmv_csr_vector(indptr, indices, data, x)
    G = ref.spmv_threads_per_row(indptr, dtype)
    d = [cupy.asarray(a) for a in (indptr, indices, data, x)]
    # None (the default): pipelined at one row per group (measured faster there), not at R = 2
    for pipeline in (True, False, None):
        piped = R == 1 if pipeline is None else pipeline
        launches.clear()
        y = K.spmv_csr(*d, out=cupy.full(n_rows, np.nan, dtype), rows_per_group=R,
                       pipeline=pipeline)
        np.testing.assert_array_equal(y.get(), want)
        ((name, defines, grid, block),) = launches
        assert name == f"spmv_csr_vector_{_cuda._TN[np.dtype(dtype).name]}_g{G}_vec", name
        assert defines == {**({"SPMV_ROWS": R} if R != 1 else {}),
                           **({"SPMV_PIPE": 1} if piped else {})}, defines
        needed = ref.spmv_vector_grid(n_rows, G, R)
        assert grid == ((min(needed, resident),) if piped else (needed,)), (grid, needed)
        assert block == (256,)
    launches.clear()  # with the L2 prefetch the default is the one-step schedule
    K.spmv_csr(*d, rows_per_group=R, prefetch=True)
    ((_, defines, _, _),) = launches
    assert "SPMV_PIPE" not in defines and defines["SPMV_PREFETCH"] == 1
    # Unaligned values: the scalar kernel, with SPMV_PIPE defined, keeps the one-step grid.
    big = cupy.zeros(len(data) + 1, dtype)
    big[1:] = d[2]
    launches.clear()
    y = K.spmv_csr(d[0], d[1], big[1:], d[3], rows_per_group=R, pipeline=True)
    np.testing.assert_array_equal(
        y.get(), ref.spmv_csr_vector(indptr, indices, data, x, vectorized=False))
    ((name, defines, grid, _),) = launches
    assert not name.endswith("_vec") and defines["SPMV_PIPE"] == 1
    assert grid == (ref.spmv_vector_grid(n_rows, G, R),)
# method=None with pipeline=True runs the vector kernel even where "auto" picks merge path.
launches.clear()
indptr = np.array([0, 40, 80], np.int32)
d = [cupy.asarray(a) for a in (indptr, np.arange(80, dtype=np.int32) % 5,
                               np.ones(80, np.float32), np.ones(5, np.float32))]
assert ref.choose_spmv_method(indptr) == "merge"
assert K.spmv_csr(*d, pipeline=True).get().tolist() == [40.0, 40.0]
assert launches[0][1] == {"SPMV_PIPE": 1} and launches[0][2] == (1,)
# The occupancy is asked once per kernel and macros (it reads the device's attributes).
assert len(occupancy_queries) == len(set(_cuda._resident)) == 4, occupancy_queries
print("ok")
"""


def test_spmv_pipeline_launch_on_the_cupy_stand_in():
    """pipeline=True on the CuPy stand-in (tests/fakecupy, the kernels by their NumPy twin),
    in a subprocess: the SPMV_PIPE define, the persistent grid min(rows' blocks, SMs x
    resident blocks), the scalar fallback's one-step grid, the occupancy asked once."""
    _on_the_stand_in(_FAKE_SPMV_PIPELINE)


_FAKE_SPMV_STREAM = r"""

launches = []
get_kernel = _cuda.get_kernel


def spy(filename, name, defines=None, *args, **kwargs):
    kernel = get_kernel(filename, name, defines, *args, **kwargs)

    def launch(grid, block, kargs):
        launches.append((filename, name, tuple(grid), tuple(block),
                         (kargs[-2].get(), kargs[-1].get()), dict(defines or {})))
        return kernel(grid, block, kargs)
    return launch


_cuda.get_kernel = spy
rng = np.random.default_rng(0)
for n_rows, hi, dtype in ((9000, 25, np.float32), (700, 60, np.float64), (3, 1, np.float32)):
    indptr, indices, data, x = random_csr(rng, n_rows, 0, hi, dtype)
    nnz = len(indices)
    G = ref.spmv_threads_per_row(indptr, dtype)
    d = [cupy.asarray(a) for a in (indptr, indices, data, x)]
    launches.clear()
    y = K.spmv_csr(*d, out=cupy.full(n_rows, np.nan, dtype), method="stream")
    np.testing.assert_array_equal(y.get(), ref.spmv_csr_stream(indptr, indices, data, x))
    ((filename, name, grid, block, partition, defines),) = launches
    assert filename == "spmv_csr_stream.cu" and defines == {}
    assert name == f"spmv_csr_stream_{_cuda._TN[np.dtype(dtype).name]}_g{G}", name
    assert grid == (max(1, -(-nnz // ref.STREAM_NNZ)),) and block == (256,)
    for got, want in zip(partition, ref.spmv_stream_partition(indptr, nnz), strict=True):
        np.testing.assert_array_equal(got, want)
    for per_block in (256, 2048):  # STREAM_NNZ as a macro, and the partition made for it
        launches.clear()
        y = K.spmv_csr(*d, out=cupy.full(n_rows, np.nan, dtype), method="stream",
                       stream_nnz=per_block)
        np.testing.assert_array_equal(y.get(), ref.spmv_csr_stream(indptr, indices, data, x))
        ((_, _, grid, _, partition, defines),) = launches
        assert defines == {"STREAM_NNZ": per_block}
        assert grid == (max(1, -(-nnz // per_block)),)
        for got, want in zip(partition, ref.spmv_stream_partition(indptr, nnz, np, per_block),
                             strict=True):
            np.testing.assert_array_equal(got, want)
    y = K.spmv_csr(*d, method="stream", threads_per_row=32)
    assert launches[-1][1].endswith("_g32")
    np.testing.assert_array_equal(
        y.get(), ref.spmv_csr_stream(indptr, indices, data, x, threads_per_row=32))
print("ok")
"""


def test_spmv_stream_launch_on_the_cupy_stand_in():
    """method="stream" on the CuPy stand-in, in a subprocess: the kernel named by dtype and
    G, one block per STREAM_NNZ nonzeros, the row blocks the reference computes (each block
    of the twin writes only its own rows, so a wrong partition leaves NaNs)."""
    _on_the_stand_in(_FAKE_SPMV_STREAM)



_FAKE_SPMV_PLAN = r"""

rng = np.random.default_rng(1)
for n_rows, hi, dtype in ((2000, 25, np.float32), (300, 70, np.float64), (0, 1, np.float32)):
    indptr, indices, data, x = random_csr(rng, n_rows, 0, hi, dtype, 400)
    nnz = len(indices)
    d = [cupy.asarray(a) for a in (indptr, indices, data, x)]
    for method, options in ((None, {}), ("vector", dict(threads_per_row=8)), ("merge", {}),
                            ("stream", dict(stream_nnz=256))):
        with cupy.counting() as made:
            plan = K.spmv_plan(d[0], d[1], dtype, method=method, **options)
        want = method or ref.choose_spmv_method(indptr)
        assert plan.method == want, (plan.method, want)
        # method=None reads the row lengths back only where the mean row is short
        assert made.get("memcpy DtoH", 0) == (method is None and nnz < 24 * n_rows), made
        y = cupy.full(n_rows, np.nan, dtype)
        with cupy.counting() as used:
            K.spmv_csr(*d, out=y, plan=plan)
        # with a plan, a product launches its kernels and nothing else
        assert all(k.startswith(f"kernel:spmv_csr_{want}_") for k in used), used
        assert sum(used.values()) == (2 if want == "merge" else 1) * (n_rows > 0), used
        alone = K.spmv_csr(*d, method=method, **options)
        np.testing.assert_array_equal(y.get(), alone.get())  # the same kernel, the same bits
        if n_rows:
            twin = {"vector": ref.spmv_csr_vector, "merge": ref.spmv_csr_merge,
                    "stream": ref.spmv_csr_stream}[want]
            G = options.get("threads_per_row")
            kw = {} if want == "merge" else dict(threads_per_row=G)
            np.testing.assert_array_equal(y.get(), twin(indptr, indices, data, x, **kw))
    if not nnz:
        continue
    # a plan is for one indptr array, nnz and dtype
    other = cupy.asarray(indptr)
    for args, kw, what in (((other, *d[1:]), {}, "indptr at"),
                           ((*d[:2], d[2].astype(np.float32 if dtype == np.float64
                                                 else np.float64),
                             d[3].astype(np.float32 if dtype == np.float64
                                         else np.float64)), {}, "values"),
                           ((d[0], d[1][:nnz // 2], d[2][:nnz // 2], d[3]), {}, "nonzeros"),
                           (d, dict(method="vector"), "already fixes method")):
        try:
            K.spmv_csr(*args, plan=plan, **kw)
        except ValueError as e:
            assert what in str(e) and ("another matrix" in str(e) or kw), str(e)
        else:
            raise AssertionError(f"no error for a plan misused ({what})")
print("ok")
"""


def test_spmv_plan_on_the_cupy_stand_in():
    """kernels.spmv_plan on the CuPy stand-in, in a subprocess: what a plan fixes (the
    method None would pick; a row-length read-back only then, and only for short mean
    rows), a product with it launching its kernels alone (no partition, no merge-path
    search, no read-back), the bits of a product without one and of the NumPy twin, and a
    clear error for a plan used with another matrix, dtype or nnz, or beside method=."""
    _on_the_stand_in(_FAKE_SPMV_PLAN)

def test_host_arrays_point_to_the_reference():
    indptr, indices, data = _csr()
    with pytest.raises(TypeError, match="CuPy array.*minigrad.kernels.reference"):
        K.spmv_csr(indptr, indices, data, np.ones(2, np.float32))
    with pytest.raises(TypeError, match="indptr must be a CuPy array"):
        K.spmm_csr(indptr, indices, data, np.ones((2, 3), np.float32))
    with pytest.raises(TypeError, match="A must be a CuPy array"):
        K.hgemm(np.zeros((4, 8), np.float16), np.zeros((8, 2), np.float16))
    with pytest.raises(TypeError, match="W must be a CuPy array"):
        K.compress_24(np.zeros((16, 32), np.float16))


def test_spmm_validation():
    indptr, indices, data = _csr()
    with pytest.raises(ValueError, match="B must be 2-D"):
        K.spmm_csr(indptr, indices, data, np.ones(2, np.float32))
    with pytest.raises(TypeError, match="B must have dtype float32"):
        K.spmm_csr(indptr, indices, data, np.ones((2, 3), np.float64))
    with pytest.raises(ValueError, match=r"out must have shape \(2, 3\)"):
        K.spmm_csr(indptr, indices, data, np.ones((2, 3), np.float32),
                   out=np.empty((3, 3), np.float32))


def test_hgemm_validation():
    A = np.zeros((4, 8), np.float16)
    with pytest.raises(TypeError, match="A must have dtype float16"):
        K.hgemm(A.astype(np.float32), A.T.copy())
    with pytest.raises(TypeError, match="B must have dtype float16"):
        K.hgemm(A, np.zeros((8, 2), np.float32))
    with pytest.raises(ValueError, match="inner sizes differ"):
        K.hgemm(A, np.zeros((7, 2), np.float16))
    with pytest.raises(TypeError, match="output dtype"):
        K.hgemm(A, np.zeros((8, 2), np.float16), out_dtype=np.float64)
    with pytest.raises(ValueError, match="out has dtype float16 but out_dtype"):
        K.hgemm(A, np.zeros((8, 2), np.float16), out=np.zeros((4, 2), np.float16),
                out_dtype=np.float32)
    with pytest.raises(ValueError, match="A must be C-contiguous"):
        K.hgemm(np.zeros((8, 4), np.float16).T, np.zeros((8, 2), np.float16))


def test_mm24_validation():
    values, meta = K.reference.compress_24(np.zeros((20, 64), np.float16))
    B = np.zeros((64, 8), np.float16)
    with pytest.raises(ValueError, match=r"metadata must have shape \(2, 2, 16\)"):
        K.mm_24(values, meta[:1], B)
    with pytest.raises(TypeError, match="metadata must have dtype uint32"):
        K.mm_24(values, meta.astype(np.int32), B)
    with pytest.raises(ValueError, match="round_up"):
        K.mm_24(values, meta, np.zeros((100, 8), np.float16))
    with pytest.raises(TypeError, match="B must have dtype float16"):
        K.mm_24(values, meta, B.astype(np.float32))
    with pytest.raises(TypeError, match="out must be float32 or float16"):
        K.mm_24(values, meta, B, out=np.zeros((20, 8), np.float64))


def test_use_vendor_call_and_context():
    assert not K.vendor_enabled()
    with K.use_vendor():
        assert K.vendor_enabled()
        with K.use_vendor(False):
            assert not K.vendor_enabled()
        assert K.vendor_enabled()
    assert not K.vendor_enabled()
    K.use_vendor(True)
    try:
        assert K.vendor_enabled()
    finally:
        K.use_vendor(False)
    assert not K.vendor_enabled()


def test_compile_options_carry_tiling():
    opts = _cuda.compile_options({"BN": 256, "STAGES": 3})
    assert "--std=c++17" in opts and "-DBN=256" in opts and "-DSTAGES=3" in opts
    assert any(o.startswith("-I") and o.endswith("kernels") for o in opts)


@pytest.mark.skipif(_backend.cuda_available(), reason="a GPU is present")
def test_no_device_gives_a_clear_error():
    with pytest.raises(_backend.DeviceError, match="CUDA device"):
        _cuda.get_kernel("spmv_csr.cu", "spmv_csr_vector_f32_g2")


@pytest.mark.parametrize("N", [16, 13, 1])
@pytest.mark.parametrize("misaligned_out", [False, True])
def test_tensor_core_frame_pads_n_and_copies_back(N, misaligned_out):
    """The launch frame shared by hgemm, hgemm_wgmma, mm_24 and mm_24_wgmma, run with NumPy
    as the array module and a NumPy "kernel" that writes whole padded rows: the result is
    the product for ragged N and for an output the kernel cannot write directly."""
    rng = np.random.default_rng(0)
    M, K = 5, 7
    A = rng.standard_normal((M, K))
    B = rng.standard_normal((K, N))
    seen = {}

    def launch(C_, Np, name):
        seen.update(Np=Np, name=name, C=C_)
        assert C_.shape == (M, Np) and Np % 8 == 0
        Bp = np.zeros((K, Np))
        Bp[:, :N] = B
        C_[...] = A @ Bp  # every padded column written, as the kernels do

    out = None
    if misaligned_out:
        out = np.empty(M * N + 1, np.float32)[1:].reshape(M, N)  # 4 bytes off 16
    got = _cuda._tensor_core_product(np, np.float16, "float32", M, N, out, None, launch)
    np.testing.assert_allclose(got, A @ B, rtol=1e-6)
    assert got.shape == (M, N) and (out is None or got is out)
    assert seen["Np"] == -(-N // 8) * 8 and seen["name"] == "f16_f32"
    assert (seen["C"] is got) == (N % 8 == 0 and not misaligned_out)  # written in place


def test_tensor_core_frame_empty_and_vendor():
    calls = []
    empty = _cuda._tensor_core_product(np, np.float16, "float16", 0, 4, None,
                                       calls.append, calls.append)
    assert empty.shape == (0, 4) and empty.dtype == np.float16 and calls == []
    with K.use_vendor():
        out = _cuda._tensor_core_product(np, np.float16, "float32", 2, 3, None,
                                         lambda o: o.fill(7.0), calls.append)
    assert (out == 7.0).all() and calls == []


def test_cubin_folder_is_private_to_the_process():
    import stat

    folder = _cuda._cubin_folder()
    assert folder is _cuda._cubin_folder() and folder.is_dir()
    assert stat.S_IMODE(os.stat(folder).st_mode) == 0o700  # mkdtemp: owner only


@pytest.mark.parametrize("sparse", [False, True])
def test_mma_sync_launch_grid_block_and_shared_memory(monkeypatch, sparse):
    """What hgemm and mm_24 hand the driver: one block per BM x BN output tile, 32 x WARPS_M
    x WARPS_N threads, STAGES x (A + B (+ metadata)) bytes of shared memory."""
    seen = {}

    def fake_get_kernel(filename, name, tiling, smem):
        seen.update(filename=filename, name=name, smem=smem)
        return lambda grid, block, args, shared_mem: seen.update(grid=grid, block=block,
                                                                 args=args, shared=shared_mem)

    monkeypatch.setattr(_cuda, "get_kernel", fake_get_kernel)
    tiling = dict(BN=256, WARPS_N=4)
    _cuda._launch_mma_sync("x.cu", "k", tiling, sparse, 300, 520, ("args",))
    a = 128 * 32 * 2 // (2 if sparse else 1)
    meta = 128 // 16 * 1 * 16 * 4 if sparse else 0
    assert seen["grid"] == (3 * 3,) and seen["block"] == (32 * 2 * 4,)
    assert seen["smem"] == seen["shared"] == 4 * (a + 32 * 256 * 2 + meta)
    assert (seen["filename"], seen["name"], seen["args"]) == ("x.cu", "k", ("args",))


def test_hgemm_takes_wide_tiles_for_large_outputs_unless_told(monkeypatch):
    """hgemm's default tiling by output size (reference.hgemm_tiling: 128 x 256 tiles from
    WIDE_MIN_OUTPUT elements, measured faster there), and an explicit tiling as given."""
    assert ref.hgemm_tiling(4096, 4096) == dict(BN=256, WARPS_N=4)
    assert ref.hgemm_tiling(5000, 3000) == dict(BN=256, WARPS_N=4)  # 15M, the smallest measured
    assert ref.hgemm_tiling(1024, 1024) == {}
    seen = []
    monkeypatch.setattr(_cuda, "_launch_mma_sync",
                        lambda filename, name, tiling, *a: seen.append(tiling))
    monkeypatch.setattr(_cuda, "_padded_gemm",
                        lambda A, B, out, out_dtype, launch: launch(A, B, out, *A.shape, 8, "x"))
    A = np.zeros((4096, 4096), np.float16)
    _cuda.hgemm(A, A)
    _cuda.hgemm(A, A, tiling={})
    _cuda.hgemm(A[:64], A, tiling=dict(BK=64))
    assert seen == [dict(BN=256, WARPS_N=4), {}, dict(BK=64)]
