"""The Hopper wgmma GEMM (kernels/hgemm_wgmma.cu) without a GPU, and on one.

CPU (CI): the NumPy model (kernels/wgmma_model.py) -- shared-memory layouts, descriptor
encoding, the ISA address a descriptor gives every operand element, the accumulator layout, the
pipeline's hazards, a replay of the whole kernel against A @ B -- and the .cu file itself: its
``__host__ __device__`` layout functions are compiled by nvcc into a host program whose output
must equal the model, its ptxas report must show no spills and no wgmma serialisation, and NVRTC
must build it for sm_90a with the launcher's options (and refuse sm_90 without the "a"). The
host program, the ptxas/NVRTC builds and the GPU markers are wgmma_testing's, shared with the
2:4 twin's tests (test_kernels_wgmma_sp.py), as the two kernels share wgmma_common.cuh.

GPU (``-m gpu``, sm_90 only): a one-tile diagnostic first (exact integer data; on a mismatch it
names the descriptor misreading that reproduces the GPU's output), then products against
float64 with NaN-filled outputs, ragged sizes and 4096^3, variants and the peak kernel.
The same tests, but for 4096^3 and the peak kernel, also run the kernel's own text on the CPU
(the ``cp`` fixture's "host" half: cuda_host.h models wgmma and checks its hazards).
"""
import re

import minigrad.kernels as K
import numpy as np
import pytest
from minigrad.kernels import _cuda
from minigrad.kernels import reference as ref
from minigrad.kernels import wgmma_model as W

from minigrad import _backend

from . import wgmma_testing as T
from .kernels_testdata import rel_err

SOURCE = T.KERNEL_DIR / "hgemm_wgmma.cu"
BNS = [256, 128]
SHAPES = [(128, 256), (128, 128), (256, 128)]  # (BM, BN) CTA tiles


# ------------------------------------------------------------------ model vs the .cu text


def test_model_constants_match_the_cu_defaults():
    d = W.cu_defaults()
    assert d == dict(BN=W.TILING["BN"], STAGES=W.TILING["STAGES"], GROUP_M=W.TILING["GROUP_M"],
                     BM=W.TILING["BM"], BK=W.BK)
    assert W.BM == W.TILING["BM"] and W.THREADS == W.threads(W.BM) == 256
    assert re.search(r"^#define THREADS \(2 \* BM\)", SOURCE.read_text(), re.M)


def test_wgmma_operand_lists_are_the_generated_ones():
    assert W.wgmma_operand_macros() in W.HEADER.read_text()  # wgmma_common.cuh
    text = SOURCE.read_text()
    assert '#include "wgmma_common.cuh"' in text and "#define WGMMA_D_" not in text
    # each asm statement names its descriptors right after the accumulators
    for n, regs in ((256, 128), (128, 64)):
        for ab in ("f16", "bf16"):
            pat = (rf"setp\.ne\.b32 p, %{regs + 2}, 0;\\n\"\s*\"wgmma\.mma_async\.sync\.aligned"
                   rf"\.m64n{n}k16\.f32\.{ab}\.{ab} \" WGMMA_D_REGS_{regs}\s*\", %{regs}, "
                   rf"%{regs + 1}, p, 1, 1, 0, 1;")
            assert re.search(pat, text), (n, ab)


# ------------------------------------------------------------------------ descriptors


def test_descriptor_bit_packing():
    # K-major A of warpgroup 1, stage 2, k16 step 3, base 0x400
    # (PTX: matrix-descriptor-encode(x) = (x & 0x3FFFF) >> 4)
    addr = 0x400 + 2 * W.A_STAGE_BYTES + 8192 + 3 * 32
    d = W.desc_a(0x400, 2, 1, 3)
    assert d == (addr >> 4) | (16 >> 4) << 16 | (1024 >> 4) << 32 | 1 << 62
    assert W.decode_desc(d) == dict(start=addr, lbo=16, sbo=1024, base_offset=0, swizzle=1,
                                    reserved=0)
    d = W.desc_b(0x8000, 1, 2, bn=256)
    assert W.decode_desc(d)["start"] == 0x8000 + W.b_stage_bytes(256) + 2 * 2048
    assert W.decode_desc(d)["lbo"] == W.BK * 128 and W.decode_desc(d)["sbo"] == 1024
    assert W.make_desc(0x7FFFF, 0, 0) & 0x3FFF == 0x3FFF  # 14-bit field, address & 0x3FFFF
    with pytest.raises(NotImplementedError):
        W.desc_element_address(W.make_desc(0, 16, 1024, base_offset=3), "K", 0, 0)


@pytest.mark.parametrize("bn", BNS)
def test_write_layouts_are_bijections(bn):
    m, k = np.meshgrid(np.arange(W.BM), np.arange(W.BK), indexing="ij")
    a = W.a_tile_offset(m, k).ravel()
    assert np.array_equal(np.sort(a), np.arange(0, W.A_STAGE_BYTES, 2))
    k, n = np.meshgrid(np.arange(W.BK), np.arange(bn), indexing="ij")
    b = W.b_tile_offset(k, n).ravel()
    assert np.array_equal(np.sort(b), np.arange(0, W.b_stage_bytes(bn), 2))
    # A is hgemm.cu's swz<8> layout (same swizzle as the mma.sync kernel)
    from minigrad.kernels.ptx_model import swz
    mm, kk = np.meshgrid(np.arange(W.BM), np.arange(0, W.BK, 8), indexing="ij")
    assert np.array_equal(W.a_tile_offset(mm, kk), swz(mm, kk // 8, 8) * 2)


@pytest.mark.parametrize("bm, bn", SHAPES)
@pytest.mark.parametrize("stages", [3, 4])
def test_descriptor_reads_match_the_written_layout(bm, bn, stages):
    """Every element every wgmma of every stage reads (ISA address model of the kernel's
    descriptors) is where the cp.async plan wrote that element."""
    a_sz = W.a_stage_bytes(bm)
    sA, sB = 0, stages * a_sz
    r, k = np.meshgrid(np.arange(64), np.arange(16), indexing="ij")
    n, kb = np.meshgrid(np.arange(bn), np.arange(16), indexing="ij")
    for stage in range(stages):
        for kk in range(W.BK // 16):
            for wg in range(bm // 64):
                got = W.desc_element_address(W.desc_a(sA, stage, wg, kk, bn, bm), "K", r, k)
                want = sA + stage * a_sz + W.a_tile_offset(64 * wg + r, 16 * kk + k)
                assert np.array_equal(got, want), (stage, kk, wg)
            got = W.desc_element_address(W.desc_b(sB, stage, kk, bn), "MN", n, kb)
            want = sB + stage * W.b_stage_bytes(bn) + W.b_tile_offset(16 * kk + kb, n)
            assert np.array_equal(got, want), (stage, kk)


def test_misreadings_give_other_addresses():
    """The diagnostic variants really differ from the ISA reading (so a GPU mismatch can be
    attributed), and the layout is not accidentally swizzle-free."""
    n, kb = np.meshgrid(np.arange(256), np.arange(16), indexing="ij")
    d = W.desc_b(0, 0, 1)
    isa = W.desc_element_address(d, "MN", n, kb)
    for v in ("mn_swapped", "no_swizzle"):
        assert not np.array_equal(isa, W.desc_element_address(d, "MN", n, kb, v))


# --------------------------------------------------------------- copy plan, accumulators


@pytest.mark.parametrize("bm, bn", SHAPES)
def test_copy_plan_writes_each_element_once_conflict_free(bm, bn):
    a, b = W.copy_plan(bn, bm)
    assert a["row"].shape[0] == b["row"].shape[0] == W.threads(bm)
    assert np.array_equal(a["dst"], W.a_tile_offset(a["row"], a["col"]))
    assert np.array_equal(b["dst"], W.b_tile_offset(b["row"], b["col"]))
    for plan, rows, cols in ((a, bm, W.BK), (b, W.BK, bn)):
        cover = np.zeros((rows, cols), int)
        for r, c in zip(plan["row"].ravel(), plan["col"].ravel()):
            cover[r, c:c + 8] += 1
        assert (cover == 1).all()
        assert W.bank_conflicts(plan["dst"]) == 1
        # each cp.async moves 16 contiguous bytes: the 8 halves of a chunk are contiguous
        assert (plan["col"] % 8 == 0).all()


@pytest.mark.parametrize("bm, bn", SHAPES)
def test_accumulator_layout_and_epilogue_cover_the_tile_once(bm, bn):
    tid, i = np.meshgrid(np.arange(W.threads(bm)), np.arange(bn // 2), indexing="ij")
    rows, cols = W.acc_row(tid, i), W.acc_col(tid, i)
    cover = np.zeros((bm, bn), int)
    np.add.at(cover, (rows, cols), 1)
    assert (cover == 1).all()
    # the epilogue stores registers (i, i+1), i even, as one 8-byte / 4-byte pair
    assert np.array_equal(rows[:, 0::2], rows[:, 1::2])
    assert np.array_equal(cols[:, 0::2] + 1, cols[:, 1::2])
    assert (cols[:, 0::2] % 2 == 0).all()
    # ISA figure, warpgroup 0 warp 0 lane 0: d0 d1 at (0, 0..1), d2 d3 at (8, 0..1), d4 (0, 8)
    assert [(int(rows[0, j]), int(cols[0, j])) for j in range(5)] == [(0, 0), (0, 1), (8, 0),
                                                                      (8, 1), (0, 8)]
    assert (int(rows[128 + 32 + 5, 0]), int(cols[128 + 32 + 5, 0])) == (64 + 16 + 1, 2)


# ------------------------------------------------------------------------------ pipeline


@pytest.mark.parametrize("stages", [3, 4, 5, 6])
def test_pipeline_has_no_hazards(stages):
    for KT in range(0, 3 * stages + 2):
        W.check_pipeline(KT, stages)


def test_pipeline_checker_catches_a_refill_too_early(monkeypatch):
    """The checker has teeth: refilling the stage of tile kt-1 (still read by a wgmma group
    in flight) instead of kt-2, or waiting for too few cp.async groups, is reported."""
    good = W.pipeline_schedule

    def early_refill(KT, stages=4, metadata=False):
        ev = good(KT, stages, metadata)
        return [("load", e[1], (e[1] + 1) % stages) if e[0] == "load" and e[1] >= stages - 2
                else e for e in ev]

    monkeypatch.setattr(W, "pipeline_schedule", early_refill)
    with pytest.raises(AssertionError):
        W.check_pipeline(8, 4)

    def lax_wait(KT, stages=4, metadata=False):
        return [("wait_cp", stages - 2) if e[0] == "wait_cp" else e
                for e in good(KT, stages, metadata)]

    monkeypatch.setattr(W, "pipeline_schedule", lax_wait)
    with pytest.raises(AssertionError):
        W.check_pipeline(8, 4)


# ---------------------------------------------------------------------- whole-kernel model


SIM_SHAPES = [(128, 256, 64), (257, 136, 72), (1, 8, 8), (130, 520, 200), (300, 264, 136)]


@pytest.mark.parametrize("shape", SIM_SHAPES)
@pytest.mark.parametrize("bm, bn", SHAPES)
def test_model_gemm_equals_matmul(rng, shape, bm, bn):
    M, N, Kd = shape
    A = rng.uniform(-1, 1, (M, Kd)).astype(np.float16)
    B = rng.uniform(-1, 1, (Kd, N)).astype(np.float16)
    C = W.simulate_hgemm_wgmma(A, B, tile=dict(BM=bm, BN=bn))
    assert not np.isnan(C).any()
    want = A.astype(np.float64) @ B.astype(np.float64)
    assert rel_err(C, want) < 1e-6
    assert rel_err(C, ref.hgemm(A, B)) < 1e-6


def test_model_gemm_k_zero_and_fp16_out(rng):
    A = rng.uniform(-1, 1, (5, 0)).astype(np.float16)
    B = rng.uniform(-1, 1, (0, 16)).astype(np.float16)
    assert (W.simulate_hgemm_wgmma(A, B) == 0).all()
    A = rng.uniform(-1, 1, (70, 96)).astype(np.float16)
    B = rng.uniform(-1, 1, (96, 40)).astype(np.float16)
    C = W.simulate_hgemm_wgmma(A, B, out_dtype=np.float16)
    assert C.dtype == np.float16
    assert rel_err(C, A.astype(np.float64) @ B.astype(np.float64)) < 5e-3


def test_model_gemm_bfloat16(rng):
    bf16 = pytest.importorskip("ml_dtypes").bfloat16
    A = rng.uniform(-1, 1, (140, 80)).astype(bf16)
    B = rng.uniform(-1, 1, (80, 264)).astype(bf16)
    C = W.simulate_hgemm_wgmma(A, B)
    assert rel_err(C, A.astype(np.float64) @ B.astype(np.float64)) < 1e-6


def test_model_misreadings_give_wrong_products(rng):
    A = rng.uniform(-1, 1, (128, 64)).astype(np.float16)
    B = rng.uniform(-1, 1, (64, 256)).astype(np.float16)
    want = A.astype(np.float64) @ B.astype(np.float64)
    for v in ("mn_swapped", "no_swizzle"):
        assert rel_err(np.nan_to_num(W.simulate_hgemm_wgmma(A, B, variant=v)), want) > 0.1


def test_tiling_validation():
    with pytest.raises(ValueError, match="BN must be"):
        W.tiling(dict(BN=64))
    with pytest.raises(ValueError, match="STAGES"):
        W.tiling(dict(STAGES=2))
    with pytest.raises(ValueError, match="shared memory"):
        W.tiling(dict(STAGES=5))
    with pytest.raises(ValueError, match="unknown"):
        W.tiling(dict(BK=32))
    with pytest.raises(ValueError, match="BM must be"):
        W.tiling(dict(BM=64))
    with pytest.raises(ValueError, match="BM=256 needs BN=128"):
        W.tiling(dict(BM=256))
    with pytest.raises(ValueError, match="shared memory"):
        W.tiling(dict(BM=256, BN=128, STAGES=5))
    assert W.smem_bytes(256, 4) == 4 * (16384 + 32768) + 1024
    assert W.smem_bytes(128, 4, 256) == 4 * (32768 + 16384) + 1024


# -------------------------------------------------------- the .cu compiled by nvcc (host)


@T.needs_nvcc
@pytest.mark.parametrize("defines", [{}, {"BN": 128, "STAGES": 6}, {"STAGES": 3},
                                     {"BM": 256, "BN": 128}],
                         ids=["default", "bn128-s6", "s3", "bm256-bn128"])
def test_cu_layout_functions_equal_the_model(tmp_path, defines):
    """The kernel's own layout/descriptor/copy/accumulator functions, run on the host."""
    t = W.tiling(defines)
    bm, bn, stages = t["BM"], t["BN"], t["STAGES"]
    d = T.host_dump(tmp_path, "hgemm_wgmma.cu", defines)
    T.check_common_rows(
        d, bn=bn, bk=W.BK, stages=stages, group_m=t["GROUP_M"], threads=W.threads(bm), bm=bm,
        a_stage_bytes=W.a_stage_bytes(bm), b_stage_bytes=W.b_stage_bytes(bn),
        smem_bytes=W.smem_bytes(bn, stages, bm), a_offset=W.a_tile_offset,
        b_offset=W.b_tile_offset, copy_plan=W.copy_plan(bn, bm), acc_row=W.acc_row,
        acc_col=W.acc_col, desc_a=lambda *a: W.desc_a(*a, bn, bm),
        desc_b=lambda *a: W.desc_b(*a, bn), mma_k=16)


@T.needs_nvcc
@pytest.mark.parametrize("defines", ["", "-DBN=128", "-DSTAGES=3", "-DPROXY_FENCE=0",
                                     "-DBM=256 -DBN=128"])
def test_ptxas_no_spills_no_wgmma_serialization(tmp_path, defines):
    T.ptxas_registers("hgemm_wgmma.cu", defines, tmp_path)


# ------------------------------------------------------------ NVRTC with the launcher's options


@pytest.mark.parametrize("defines", [None, {"BN": 128}, {"PROXY_FENCE": 0},
                                     {"BM": 256, "BN": 128}])
def test_nvrtc_builds_sm90a_with_the_launcher_options(defines):
    T.check_nvrtc_sm90a("hgemm_wgmma.cu", defines,
                        ("hgemm_wgmma_f16_f32", "hgemm_wgmma_bf16_bf16", "wgmma_peak_f16"))


def test_nvrtc_refuses_sm90_without_a():
    T.check_nvrtc_refuses_sm90("hgemm_wgmma.cu")


def test_complete_elf_rejects_non_elf():
    with pytest.raises(ValueError):
        _cuda.complete_elf(b"// PTX text")


# ------------------------------------------------------------------------ launcher (no GPU)


def test_launcher_validation_without_gpu():
    A = np.zeros((4, 8), np.float16)
    with pytest.raises(TypeError, match="A must have dtype"):
        _cuda.hgemm_wgmma(A.astype(np.float32), np.zeros((8, 2), np.float16))
    with pytest.raises(ValueError, match="inner sizes differ"):
        _cuda.hgemm_wgmma(A, np.zeros((7, 2), np.float16))
    with pytest.raises(ValueError, match="BN must be"):
        _cuda.hgemm_wgmma(A, np.zeros((8, 2), np.float16), tiling=dict(BN=64))
    with pytest.raises(TypeError, match="CuPy array"):
        _cuda.hgemm_wgmma(A, np.zeros((8, 2), np.float16))
    assert K.hgemm_wgmma is _cuda.hgemm_wgmma and "hgemm_wgmma" in K.__all__


# =============================================================================== GPU

TOL_TC32, TOL_TC16 = T.TOL_TC32, T.TOL_TC16
cp, cuda_cp = T.cp, T.cuda_cp  # CuPy on a GPU and the host run; CuPy only


def _diagnose(got, A, B, tile):
    """Which descriptor reading reproduces the GPU's output (exact integer data)."""
    lines = []
    hints = {"mn_swapped": "the hardware swaps LBO/SBO for N-major B: rerun with "
                           "tiling=dict(B_LBO=1024, B_SBO=8192) and make those the defaults",
             "no_swizzle": "the swizzle is not applied: check the descriptor's mode bits 62-63"}
    for v in ("isa", "mn_swapped", "no_swizzle"):
        model = W.simulate_hgemm_wgmma(A, B, tile=tile, variant=v, plan_check=False)
        same = np.isclose(got, model, rtol=0, atol=0, equal_nan=True)
        lines.append(f"  model variant {v!r}: {same.mean():.1%} of outputs equal"
                     + (f" -> {hints[v]}" if v in hints and same.all() else ""))
    lines += T.wrong_outputs(got, A.astype(np.float64) @ B.astype(np.float64))
    return "\n".join(lines)


@pytest.mark.parametrize("bm, bn", SHAPES)
def test_gpu_one_tile_diagnostic(cp, rng, bm, bn):
    """Run this first: one CTA, one k tile, small integers (the product is exact in fp32), so
    any layout error shows up exactly and is matched against the model's misreadings."""
    A = rng.integers(-3, 4, (bm, 64)).astype(np.float16)
    B = rng.integers(-3, 4, (64, bn)).astype(np.float16)
    want = A.astype(np.float64) @ B.astype(np.float64)
    out = cp.full((bm, bn), cp.nan, cp.float32)
    tile = dict(BM=bm, BN=bn)
    got = cp.asnumpy(_cuda.hgemm_wgmma(cp.asarray(A), cp.asarray(B), out=out, tiling=tile))
    assert np.array_equal(got, want), "hgemm_wgmma one-tile product wrong:\n" + _diagnose(
        got, A, B, tile)


GEMM_SHAPES = [(128, 256, 64), (128, 128, 128), (257, 135, 77), (1, 8, 16), (300, 520, 1000),
               (64, 7, 9), (1000, 264, 40), (129, 257, 65)]


@pytest.mark.parametrize("shape", GEMM_SHAPES)
@pytest.mark.parametrize("out_dtype", [np.float32, np.float16])
def test_gpu_hgemm_wgmma(cp, rng, shape, out_dtype):
    M, N, Kd = shape
    A = rng.uniform(-1, 1, (M, Kd)).astype(np.float16)
    B = rng.uniform(-1, 1, (Kd, N)).astype(np.float16)
    want = A.astype(np.float64) @ B.astype(np.float64)
    tol = TOL_TC32 if out_dtype == np.float32 else TOL_TC16
    dA, dB = cp.asarray(A), cp.asarray(B)
    out = cp.full((M, N), cp.nan, dtype=out_dtype)
    got = cp.asnumpy(K.hgemm_wgmma(dA, dB, out=out))
    assert not np.isnan(got).any()
    assert rel_err(got, want) < tol
    mma_sync = cp.asnumpy(K.hgemm(dA, dB, out_dtype=out_dtype))
    assert rel_err(got, mma_sync) < tol


@pytest.mark.parametrize("tiling", [dict(BN=128), dict(STAGES=3), dict(PROXY_FENCE=0),
                                    dict(BN=128, STAGES=6), dict(GROUP_M=1),
                                    dict(BM=256, BN=128), dict(BM=256, BN=128, STAGES=3)])
def test_gpu_hgemm_wgmma_tilings(cp, rng, tiling):
    A = rng.uniform(-1, 1, (333, 264)).astype(np.float16)
    B = rng.uniform(-1, 1, (264, 520)).astype(np.float16)
    want = A.astype(np.float64) @ B.astype(np.float64)
    out = cp.full((333, 520), cp.nan, cp.float32)
    if T.refused_on_host(cp, tiling):
        with pytest.raises(RuntimeError, match="no fence.proxy.async since"):
            _cuda.hgemm_wgmma(A, B, out=out, tiling=tiling)
        return
    got = cp.asnumpy(_cuda.hgemm_wgmma(cp.asarray(A), cp.asarray(B), out=out, tiling=tiling))
    assert rel_err(got, want) < TOL_TC32


@T.on_hopper
@T.CUDA_ONLY
@pytest.mark.parametrize("shape", [(4096, 4096, 4096), (4095, 4100, 4104)])
def test_gpu_hgemm_wgmma_4096(cp, shape):
    """Large sizes against cuBLAS (float64 on the host would be slow): relative-norm error of
    both against a float32 cupy.matmul of the same fp16 inputs."""
    M, N, Kd = shape
    rs = cp.random.RandomState(int(np.random.SeedSequence().entropy % 2**31))
    A = rs.uniform(-1, 1, (M, Kd)).astype(cp.float16)
    B = rs.uniform(-1, 1, (Kd, N)).astype(cp.float16)
    want = cp.matmul(A.astype(cp.float32), B.astype(cp.float32))
    for out_dtype, tol in ((cp.float32, TOL_TC32), (cp.float16, TOL_TC16)):
        out = cp.full((M, N), cp.nan, out_dtype)
        got = K.hgemm_wgmma(A, B, out=out)
        assert not bool(cp.isnan(got).any())
        assert T.large_rel_err(cp, got, want) < tol


def test_gpu_hgemm_wgmma_bfloat16(cp, rng):
    try:
        bf16 = np.dtype("bfloat16")
        cp.zeros(1, dtype=bf16)
    except Exception:
        pytest.skip("no bfloat16 dtype in this NumPy/CuPy")
    A = rng.uniform(-1, 1, (200, 96)).astype(np.float32).astype(bf16)
    B = rng.uniform(-1, 1, (96, 72)).astype(np.float32).astype(bf16)
    got = cp.asnumpy(K.hgemm_wgmma(cp.asarray(A), cp.asarray(B)))
    assert rel_err(got, A.astype(np.float64) @ B.astype(np.float64)) < TOL_TC32


@T.on_hopper
@T.CUDA_ONLY
def test_gpu_wgmma_peak_runs_and_nvrtc_build_has_no_spills(cp):
    launch, flop = _cuda.wgmma_peak(iters=64)
    launch()
    cp.cuda.Device().synchronize()
    assert flop > 0
    smem = W.smem_bytes()
    kernel = _cuda.get_sm90a_kernel("hgemm_wgmma.cu", "hgemm_wgmma_f16_f32", {}, smem)
    print(f"hgemm_wgmma_f16_f32 (NVRTC sm_90a): {kernel.num_regs} registers, "
          f"{kernel.local_size_bytes} bytes local, max dynamic smem "
          f"{kernel.max_dynamic_shared_size_bytes}")
    assert kernel.local_size_bytes == 0


@T.gpu
@T.needs_device
@T.on_non_hopper
def test_gpu_non_hopper_raises_clearly(cuda_cp):
    A = cuda_cp.zeros((8, 8), cuda_cp.float16)
    with pytest.raises(_backend.DeviceError, match="sm_90a"):
        K.hgemm_wgmma(A, A)
