"""The Hopper 2:4 sparse wgmma GEMM (kernels/mm24_wgmma.cu) without a GPU, and on one.

CPU (CI): the NumPy model (kernels/wgmma_model.py, the ``sp_*`` part) -- the compressed A's
64B-swizzled shared-memory layout and descriptor addressing, the metadata register layout and
sparsity selector transcribed from the PTX ISA (and checked against CUTLASS's ELayout_64x32),
the pipeline with its metadata staging, a replay of the whole kernel against W @ B on ragged
sizes -- and the .cu itself: its ``__host__ __device__`` layout/metadata functions compiled by
nvcc into a host program whose output must equal the model, its ptxas report (no spills, no
wgmma serialisation), and NVRTC building it for sm_90a with the launcher's options. The host
program, the ptxas/NVRTC builds and the GPU markers are wgmma_testing's (shared with
test_kernels_wgmma.py: the two kernels share wgmma_common.cuh).

GPU (``-m gpu``, sm_90 only): a one-tile diagnostic first (exact integer data; on a mismatch
it names the descriptor / metadata misreading that reproduces the GPU's output), a one-CTA
multi-tile pipeline diagnostic, then products against float64 with NaN-filled outputs, ragged
sizes, 4096^3, tilings, agreement with mm_24, and the peak kernel. The same tests, but for
4096^3 and the peak kernel, also run the kernel's own text on the CPU (the ``cp`` fixture's
"host" half: cuda_host.h models wgmma.sp and checks its hazards, the metadata register's too).
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
from .kernels_testdata import random_24, rel_err

SOURCE = T.KERNEL_DIR / "mm24_wgmma.cu"
TILES = [dict(), dict(BN=128), dict(BN=128, BK=128), dict(BM=256, BN=128),
         dict(BM=256, BN=128, BK=128, STAGES=3)]
TILE_IDS = ["bn256-bk64", "bn128-bk64", "bn128-bk128", "bm256-bn128", "bm256-bk128"]


def _tile(tile):
    """(BM, BN, BK) of a TILES entry."""
    t = W.sp_tiling(tile)
    return t["BM"], t["BN"], t["BK"]


def _problem(rng, M, N, Kd, dtype=np.float16, ints=False):
    if ints:
        Wd = rng.integers(-3, 4, (M, Kd)).astype(dtype)
        g = np.zeros((M, -(-Kd // 4) * 4), dtype)
        g[:, :Kd] = Wd
        grp = g.reshape(M, -1, 4)
        drop = np.argsort(rng.random(grp.shape), axis=-1)[..., :2]  # 2 zeros per group
        np.put_along_axis(grp, drop, 0, axis=-1)
        Wd = g[:, :Kd].copy()
        B = rng.integers(-3, 4, (Kd, N)).astype(dtype)
    else:
        Wd = random_24(rng, M, Kd, dtype)
        B = rng.uniform(-1, 1, (Kd, N)).astype(dtype)
    values, metadata = ref.compress_24(Wd)
    return Wd, B, values, metadata


# ------------------------------------------------------------------ model vs the .cu text


def test_model_constants_match_the_cu_defaults():
    d = W.cu_defaults(W.SP_KERNEL)
    assert d == dict(BN=W.SP_TILING["BN"], BK=W.SP_TILING["BK"], STAGES=W.SP_TILING["STAGES"],
                     GROUP_M=W.SP_TILING["GROUP_M"], BM=W.SP_TILING["BM"])
    assert re.search(r"^#define THREADS \(2 \* BM\)", SOURCE.read_text(), re.M)


def test_wgmma_sp_asm_operand_order():
    """PTX ISA 9.7.15.6.3: d, a-desc, b-desc, sp-meta, sp-sel, scale-d, imm-scale-a,
    imm-scale-b, imm-trans-a (0: K-major A), imm-trans-b (1: N-major B)."""
    text = SOURCE.read_text()
    # the same generated operand lists as the dense file: wgmma_common.cuh's
    assert '#include "wgmma_common.cuh"' in text and "#define WGMMA_D_" not in text
    assert W.wgmma_operand_macros() in W.HEADER.read_text()
    for n, regs in ((256, 128), (128, 64)):
        for ab in ("f16", "bf16"):
            pat = (rf"setp\.ne\.b32 p, %{regs + 3}, 0;\\n\"\s*\"wgmma\.mma_async\.sp\.sync\."
                   rf"aligned\.m64n{n}k32\.f32\.{ab}\.{ab} \" WGMMA_D_REGS_{regs}\s*\", "
                   rf"%{regs}, %{regs + 1}, %{regs + 2}, \" MM24W_STR\(SP_SEL\) \", p, 1, 1, 0, "
                   rf"1;")
            assert re.search(pat, text), (n, ab)
    # operands after the accumulators: a-desc, b-desc ("l"), sp-meta, scale-d ("r")
    assert text.count(': "l"(da), "l"(db), "r"(e), "r"(1));') == 4


# ------------------------------------------------------------------------ descriptors


def test_descriptor_bit_packing():
    d = W.sp_desc_a(0x400, 2, 1, 1)  # BK 64: 64-byte rows, 64B swizzle (mode 2), SBO 512
    addr = 0x400 + 2 * W.sp_a_stage_bytes(64) + 64 * 64 + 32
    assert d == (addr >> 4) | (16 >> 4) << 16 | (512 >> 4) << 32 | 2 << 62
    assert W.decode_desc(d) == dict(start=addr, lbo=16, sbo=512, base_offset=0, swizzle=2,
                                    reserved=0)
    d = W.sp_desc_a(0, 0, 1, 3, bn=128, bk=128)  # BK 128: hgemm_wgmma's A layout
    assert W.decode_desc(d)["swizzle"] == 1 and W.decode_desc(d)["sbo"] == 1024
    d = W.sp_desc_b(0x8000, 1, 1)
    assert W.decode_desc(d)["start"] == 0x8000 + W.b_stage_bytes(256, 64) + 4096
    # the sparse B descriptor of k32 step kk is the dense one of k16 step 2 kk
    for s in range(4):
        for kk in range(2):
            for bn in (128, 256):
                assert W.sp_desc_b(0x1000, s, kk, bn) == W.desc_b(0x1000, s, 2 * kk, bn)


def test_address_model_reads_b_as_the_dense_kernel():
    """One address model serves both kernels: a sparse k32 instruction's B read (k < 32) is,
    on its first 16 k rows, the dense k16 read through the same descriptor (every variant),
    and in the ISA reading the second 16 rows are the dense read of the next k16 step (so the
    two files read B identically); the 128B K-major A read is the dense A layout."""
    n, k32 = np.meshgrid(np.arange(256), np.arange(32), indexing="ij")
    n16, k16 = np.meshgrid(np.arange(256), np.arange(16), indexing="ij")
    for v in ("isa", "mn_swapped", "no_swizzle"):
        sp = W.desc_element_address(W.sp_desc_b(0x2000, 1, 1), "MN", n, k32, v, mma_k=32)
        assert np.array_equal(sp[:, :16],
                              W.desc_element_address(W.desc_b(0x2000, 1, 2), "MN", n16, k16, v))
        if v == "isa":
            assert np.array_equal(sp[:, 16:], W.desc_element_address(W.desc_b(0x2000, 1, 3),
                                                                     "MN", n16, k16))
    r, k = np.meshgrid(np.arange(64), np.arange(16), indexing="ij")
    got = W.desc_element_address(W.desc_a(0x2000, 1, 1, 2), "K", r, k)
    assert np.array_equal(got, 0x2000 + W.A_STAGE_BYTES + W.a_tile_offset(64 + r, 32 + k))


@pytest.mark.parametrize("bk", [64, 128])
def test_write_layouts_are_bijections(bk):
    m, c = np.meshgrid(np.arange(W.BM), np.arange(bk // 2), indexing="ij")
    a = W.sp_a_tile_offset(m, c, bk).ravel()
    assert np.array_equal(np.sort(a), np.arange(0, W.sp_a_stage_bytes(bk), 2))
    k, n = np.meshgrid(np.arange(bk), np.arange(256), indexing="ij")
    b = W.b_tile_offset(k, n, bk).ravel()
    assert np.array_equal(np.sort(b), np.arange(0, W.b_stage_bytes(256, bk), 2))
    if bk == 64:  # B is hgemm_wgmma's layout (wgmma_common.cuh), A the Swizzle<2,4,3> pattern
        assert np.array_equal(W.b_tile_offset(k, n, 64), W.b_tile_offset(k, n))
        assert [int(W.sp_a_tile_offset(r, 0)) for r in range(8)] == [0, 64, 144, 208, 288, 352,
                                                                      432, 496]
    else:  # BK 128: the dense A layout of hgemm_wgmma
        assert np.array_equal(W.sp_a_tile_offset(m, c, 128), W.a_tile_offset(m, c))


@pytest.mark.parametrize("tile", TILES, ids=TILE_IDS)
@pytest.mark.parametrize("stages", [3, 4])
def test_descriptor_reads_match_the_written_layout(tile, stages):
    """Every element every wgmma.sp of every stage reads (ISA address model of the kernel's
    descriptors) is where the cp.async plan wrote that element."""
    bm, bn, bk = _tile(tile)
    sA, sB = 0, stages * W.sp_a_stage_bytes(bk, bm)
    r, k = np.meshgrid(np.arange(64), np.arange(16), indexing="ij")
    n, kb = np.meshgrid(np.arange(bn), np.arange(32), indexing="ij")
    for stage in range(stages):
        for kk in range(bk // 32):
            for wg in range(bm // 64):
                got = W.desc_element_address(W.sp_desc_a(sA, stage, wg, kk, bn, bk, bm), "K", r,
                                             k)
                want = (sA + stage * W.sp_a_stage_bytes(bk, bm)
                        + W.sp_a_tile_offset(64 * wg + r, 16 * kk + k, bk))
                assert np.array_equal(got, want), (stage, kk, wg)
            got = W.desc_element_address(W.sp_desc_b(sB, stage, kk, bn, bk), "MN", n, kb,
                                         mma_k=32)
            want = (sB + stage * W.b_stage_bytes(bn, bk) + W.b_tile_offset(32 * kk + kb, n, bk))
            assert np.array_equal(got, want), (stage, kk)


def test_misreadings_give_other_addresses():
    r, k = np.meshgrid(np.arange(64), np.arange(16), indexing="ij")
    d = W.sp_desc_a(0, 0, 0, 1)
    isa = W.desc_element_address(d, "K", r, k)
    for v in ("no_swizzle", "a_no_swizzle", "a_swizzle128"):
        assert not np.array_equal(isa, W.desc_element_address(d, "K", r, k, v)), v
    n, kb = np.meshgrid(np.arange(256), np.arange(32), indexing="ij")
    d = W.sp_desc_b(0, 0, 1)
    isa = W.desc_element_address(d, "MN", n, kb, mma_k=32)
    for v in ("mn_swapped", "no_swizzle"):
        assert not np.array_equal(isa, W.desc_element_address(d, "MN", n, kb, v, 32)), v


# ------------------------------------------------------------------------------ metadata


def test_metadata_lane_map_is_cutlass_elayout():
    """Our reading of ISA Figure 176 (per warp, threads 4g + 2 sel + u) equals CUTLASS's
    ELayout_64x32 for selector 0: same thread, same bits, same (row, chunk)."""
    cut = W.sp_cutlass_elayout_64x32()
    ours = {(tid, shift): (row, chunk) for tid, shift, row, chunk in W.sp_meta_lane_map(0)}
    seen = set()
    for tid, vals in cut.items():
        if (tid // 2) % 2:  # T2, T3: stride 0 in CUTLASS (the other selector's pair)
            continue
        for v, (m, kl) in enumerate(vals):
            shift = 4 * (v // 4)
            assert ours[(tid, shift)] == (m, kl // 4), (tid, v)
            seen.add((tid, shift))
    assert seen == set(ours)
    # selector 1: the same map on threads 4g + 2, 4g + 3
    sel1 = {(tid - 2, s): (r, c) for tid, s, r, c in W.sp_meta_lane_map(1)}
    assert sel1 == ours
    # every (row, chunk) of the 64 x 32 operand is described exactly once
    cover = np.zeros((64, 8), int)
    for _, _, row, chunk in W.sp_meta_lane_map(0):
        cover[row, chunk] += 1
    assert (cover == 1).all()


@pytest.mark.parametrize("bk", [64, 128])
@pytest.mark.parametrize("bm", [128, 256])
def test_metadata_registers_decode_to_compress_24(rng, bk, bm):
    """The words each thread loads (e_read_word of the staged global words) decode, through the
    ISA map, to exactly the kept positions compress_24 encoded (reference.decode_metadata)."""
    M, Kd = bm, 2 * bk
    Wd = random_24(rng, M, Kd)
    values, metadata = ref.compress_24(Wd)
    i0_ref, i1_ref = ref.decode_metadata(metadata, M)
    MT, KS = metadata.shape[:2]
    Eflat = metadata.reshape(-1)
    a, b, e = W.sp_copy_plan(256 if bm == 128 else 128, bk, bm)
    for kt in range(Kd // bk):
        stage = np.zeros(W.sp_e_stage_words(bk, bm), np.uint32)
        src = W.sp_e_copy_src(e["tid"], 0, kt, MT, KS, bk)
        stage[(e["dst"] // 4)[:, None] + np.arange(4)] = Eflat[src[:, None] + np.arange(4)]
        for wg in range(bm // 64):
            for kk in range(bk // 32):
                th = np.arange(128 * wg, 128 * wg + 128)
                i0, i1 = W.sp_meta_positions(stage[W.sp_e_read_word(th, kk, bk)])
                ks = kt * (bk // 32) + kk
                rows = slice(64 * wg, 64 * wg + 64)
                assert np.array_equal(i0, i0_ref[rows, 8 * ks:8 * ks + 8])
                assert np.array_equal(i1, i1_ref[rows, 8 * ks:8 * ks + 8])
                # threads 4g+2, 4g+3 hold the duplicates of 4g, 4g+1: selector 1 reads the same
                j0, j1 = W.sp_meta_positions(stage[W.sp_e_read_word(th, kk, bk)], selector=1)
                assert np.array_equal(j0, i0) and np.array_equal(j1, i1)


def test_metadata_hand_example():
    """Row 0 keeps positions (0, 2) in chunk 0 and (1, 3) in chunk 5; thread 0 (row 0, chunks
    0-3) holds nibble 0b1000 at bits 0-3, thread 1 (chunks 4-7) nibble 0b1101 at bits 4-7."""
    e = np.full(128, 0x44444444, np.uint32)
    e[0] = 0x44444448
    e[1] = 0x444444D4
    i0, i1 = W.sp_meta_positions(e)
    assert (i0[0, 0], i1[0, 0]) == (0, 2) and (i0[0, 5], i1[0, 5]) == (1, 3)
    assert (i0[8, 0], i1[8, 0]) == (0, 1)  # bits 16-19 of thread 0: row 8
    kept = np.arange(64 * 16, dtype=np.float32).reshape(64, 16) + 1
    A = W.sp_expand_a(kept, i0, i1)
    assert A[0, :4].tolist() == [1, 0, 2, 0] and A[0, 20:24].tolist() == [0, 11, 0, 12]
    bad = e.copy()
    bad[5] = 0x44444405  # 0b0101: both indices 1 -- invalid per ISA 9.7.15.6.1
    with pytest.raises(ValueError, match="invalid"):
        W.sp_meta_positions(bad)


def test_metadata_misreadings_differ():
    rng = np.random.default_rng(1)
    _, _, _, metadata = _problem(rng, 64, 8, 32)
    th = np.arange(128)
    regs = metadata[th >> 5, 0, 2 * ((th & 31) >> 2) + (th & 1)]  # warp w: m16 block w
    isa = W.sp_meta_positions(regs)
    for v in W.SP_META_VARIANTS[1:]:
        other = W.sp_meta_positions(regs, variant=v)
        assert not (np.array_equal(other[0], isa[0]) and np.array_equal(other[1], isa[1])), v


# --------------------------------------------------------------- copy plan, accumulators


@pytest.mark.parametrize("tile", TILES, ids=TILE_IDS)
def test_copy_plan_writes_each_element_once_conflict_free(tile):
    bm, bn, bk = _tile(tile)
    a, b, e = W.sp_copy_plan(bn, bk, bm)
    assert a["row"].shape[0] == b["row"].shape[0] == W.threads(bm)
    assert np.array_equal(a["dst"], W.sp_a_tile_offset(a["row"], a["col"], bk))
    for plan, rows, cols in ((a, bm, bk // 2), (b, bk, bn)):
        cover = np.zeros((rows, cols), int)
        for r, c in zip(plan["row"].ravel(), plan["col"].ravel()):
            cover[r, c:c + 8] += 1
        assert (cover == 1).all()
        assert W.bank_conflicts(plan["dst"]) == 1
    # metadata: the stage area is the tile's (mt, ks, 16 words) block, each word once
    words = (e["dst"] // 4)[:, None] + np.arange(4)
    assert np.array_equal(np.sort(words.ravel()), np.arange(W.sp_e_stage_words(bk, bm)))
    assert np.array_equal(e["dst"] // 4, (e["mt"] * (bk // 32) + e["ks"]) * 16 + e["word"])
    assert len(e["tid"]) % 32 == 0 and len(e["tid"]) <= W.threads(bm)


def test_metadata_copy_clamps_to_real_words():
    """m16 / k32 blocks past the matrix re-read the last one (never zero-filled: 0 is an
    illegal pattern), and never leave the array."""
    MT, KS = 3, 3
    src = W.sp_e_copy_src(np.arange(64), 0, 1, MT, KS)
    assert src.min() >= 0 and src.max() + 3 < MT * KS * 16
    assert (src // 16 // KS).max() == MT - 1 and (src // 16 % KS).max() == KS - 1


def test_metadata_reads_are_broadcast_friendly():
    """Each warp's 32 metadata loads of a step touch one 64-byte block of its m16 block."""
    for bm, bk in ((128, 64), (128, 128), (256, 64), (256, 128)):
        warps = W.threads(bm) // 32
        for kk in range(bk // 32):
            w = W.sp_e_read_word(np.arange(W.threads(bm)), kk, bk).reshape(warps, 32)
            for warp in range(warps):
                assert w[warp].min() == (warp * (bk // 32) + kk) * 16
                assert w[warp].max() - w[warp].min() == 15


# ------------------------------------------------------------------------------ pipeline


@pytest.mark.parametrize("stages", [3, 4, 5, 6])
def test_pipeline_has_no_hazards(stages):
    for KT in range(0, 3 * stages + 2):
        W.check_pipeline(KT, stages, metadata=True)
    # the A/B part is hgemm_wgmma's schedule
    dense = [e for e in W.pipeline_schedule(7, stages) if e[0] in ("load", "mma")]
    sp = [e for e in W.pipeline_schedule(7, stages, metadata=True) if e[0] in ("load", "mma")]
    assert dense == sp


def test_pipeline_checker_catches_metadata_hazards(monkeypatch):
    good = W.pipeline_schedule

    def same_tile_metadata(KT, stages=4, metadata=True):  # copied with A/B, not a tile ahead
        return [("load_e", e[1] - 1, (e[1] - 1) % stages) if e[0] == "load_e" and e[1] > 0
                else e for e in good(KT, stages, metadata)]

    monkeypatch.setattr(W, "pipeline_schedule", same_tile_metadata)
    with pytest.raises(AssertionError):
        W.check_pipeline(8, 4, metadata=True)

    def no_prologue_sync(KT, stages=4, metadata=True):  # tile 0's metadata read before it landed
        ev = good(KT, stages, metadata)
        i = ev.index(("read_e", 0, 0))
        return ev[:i - 2] + ev[i:]

    monkeypatch.setattr(W, "pipeline_schedule", no_prologue_sync)
    with pytest.raises(AssertionError, match="read before it landed"):
        W.check_pipeline(8, 4, metadata=True)


# ---------------------------------------------------------------------- whole-kernel model


SIM_SHAPES = [(128, 256, 64), (257, 136, 72), (1, 8, 8), (130, 264, 200), (64, 16, 33)]


@pytest.mark.parametrize("shape", SIM_SHAPES)
@pytest.mark.parametrize("tile", TILES, ids=TILE_IDS)
def test_model_equals_dense_product(rng, shape, tile):
    M, N, Kd = shape
    Wd, B, values, metadata = _problem(rng, M, N, Kd)
    C = W.simulate_mm24_wgmma(values, metadata, B, tile=tile)
    assert not np.isnan(C).any()
    want = Wd.astype(np.float64) @ B.astype(np.float64)
    assert rel_err(C, want) < 1e-6
    assert rel_err(C, ref.mm_24(values, metadata, B)) < 1e-6


def test_model_stages_selector_fp16_out_k_zero(rng):
    Wd, B, values, metadata = _problem(rng, 200, 72, 136)
    want = Wd.astype(np.float64) @ B.astype(np.float64)
    for tile in (dict(STAGES=3), dict(STAGES=5, SP_SEL=1), dict(GROUP_M=1)):
        assert rel_err(W.simulate_mm24_wgmma(values, metadata, B, tile=tile), want) < 1e-6
    C = W.simulate_mm24_wgmma(values, metadata, B, out_dtype=np.float16)
    assert C.dtype == np.float16 and rel_err(C, want) < 5e-3
    values, metadata = ref.compress_24(np.zeros((5, 0), np.float16))
    assert (W.simulate_mm24_wgmma(values, metadata, np.zeros((0, 16), np.float16)) == 0).all()


def test_model_bfloat16(rng):
    bf16 = pytest.importorskip("ml_dtypes").bfloat16
    Wd, B, values, metadata = _problem(rng, 140, 264, 80, dtype=bf16)
    C = W.simulate_mm24_wgmma(values, metadata, B)
    assert rel_err(C, Wd.astype(np.float64) @ B.astype(np.float64)) < 1e-6


def test_model_misreadings_give_wrong_products(rng):
    Wd, B, values, metadata = _problem(rng, 128, 256, 64)
    want = Wd.astype(np.float64) @ B.astype(np.float64)
    for v in W.SP_VARIANTS[1:]:
        C = W.simulate_mm24_wgmma(values, metadata, B, variant=v, plan_check=False)
        assert rel_err(np.nan_to_num(C), want) > 0.1, v
    for mv in W.SP_META_VARIANTS[1:]:
        C = W.simulate_mm24_wgmma(values, metadata, B, meta_variant=mv, plan_check=False)
        assert rel_err(np.nan_to_num(C), want) > 0.1, mv


def test_tiling_validation():
    with pytest.raises(ValueError, match="BN must be"):
        W.sp_tiling(dict(BN=64))
    with pytest.raises(ValueError, match="BK must be"):
        W.sp_tiling(dict(BK=32))
    with pytest.raises(ValueError, match="STAGES"):
        W.sp_tiling(dict(STAGES=2))
    with pytest.raises(ValueError, match="shared memory"):
        W.sp_tiling(dict(BK=128))  # BN 256: 80 KiB a stage
    with pytest.raises(ValueError, match="unknown"):
        W.sp_tiling(dict(BQ=64))
    with pytest.raises(ValueError, match="BM must be"):
        W.sp_tiling(dict(BM=64))
    with pytest.raises(ValueError, match="BM=256 needs BN=128"):
        W.sp_tiling(dict(BM=256))
    with pytest.raises(ValueError, match="shared memory"):
        W.sp_tiling(dict(BM=256, BN=128, BK=128))  # 68 KiB a stage
    assert W.sp_smem_bytes(128, 64, 6, 256) == 6 * (16384 + 16384 + 2048) + 1024
    with pytest.raises(ValueError, match="META_REGS"):
        W.sp_tiling(dict(META_REGS=3))
    assert W.sp_smem_bytes(256, 64, 4) == 4 * (8192 + 32768 + 1024) + 1024
    assert W.sp_tiling(dict(STAGES=5))["STAGES"] == 5  # 206 KiB


# -------------------------------------------------------- the .cu compiled by nvcc (host)

# mm24_wgmma.cu's own rows, after wgmma_common.cuh's (wgmma_testing.host_dump)
DUMP_EXTRA = r"""
    row("SP_CONST"); printf(" %d %d", E_STAGE_BYTES, A_SWZ_MODE);
    row("E_COPY"); for (int t = 0; t < E_CHUNKS; ++t)
        printf(" %d %d %d %u", e_copy_mt(t), e_copy_ks(t), e_copy_word(t), e_copy_dst(t));
    row("E_SRC");
    const int cases[4][4] = {{0, 0, 8, 2}, {128, 3, 11, 9}, {256, 1, 17, 3}, {0, 5, 1, 4}};
    for (auto& cs : cases) for (int t = 0; t < E_CHUNKS; ++t)
        printf(" %lld", e_copy_src(t, cs[0], cs[1], cs[2], cs[3]));
    row("E_READ"); for (int t = 0; t < THREADS; ++t) for (int kk = 0; kk < KSTEPS; ++kk)
        printf(" %d", e_read_word(t, kk));
"""
E_SRC_CASES = [(0, 0, 8, 2), (128, 3, 11, 9), (256, 1, 17, 3), (0, 5, 1, 4)]


@T.needs_nvcc
@pytest.mark.parametrize("defines", [{}, {"BN": 128, "STAGES": 6}, {"BN": 128, "BK": 128},
                                     {"STAGES": 3}, {"BM": 256, "BN": 128, "STAGES": 6},
                                     {"BM": 256, "BN": 128, "BK": 128, "STAGES": 3}],
                         ids=["default", "bn128-s6", "bk128", "s3", "bm256-s6", "bm256-bk128"])
def test_cu_layout_functions_equal_the_model(tmp_path, defines):
    """The kernel's own layout/descriptor/copy/metadata/accumulator functions, run on the host."""
    t = W.sp_tiling(defines)
    bm, bn, bk, stages = t["BM"], t["BN"], t["BK"], t["STAGES"]
    threads = W.threads(bm)
    d = T.host_dump(tmp_path, "mm24_wgmma.cu", defines, DUMP_EXTRA)
    a, b, e = W.sp_copy_plan(bn, bk, bm)
    T.check_common_rows(
        d, bn=bn, bk=bk, stages=stages, group_m=t["GROUP_M"], threads=threads, bm=bm,
        a_stage_bytes=W.sp_a_stage_bytes(bk, bm), b_stage_bytes=W.b_stage_bytes(bn, bk),
        smem_bytes=W.sp_smem_bytes(bn, bk, stages, bm),
        a_offset=lambda m, c: W.sp_a_tile_offset(m, c, bk),
        b_offset=lambda k, n: W.b_tile_offset(k, n, bk), copy_plan=(a, b), acc_row=W.acc_row,
        acc_col=W.acc_col, desc_a=lambda *x: W.sp_desc_a(*x, bn, bk, bm),
        desc_b=lambda *x: W.sp_desc_b(*x, bn, bk), mma_k=32)
    assert d["SP_CONST"].tolist() == [4 * W.sp_e_stage_words(bk, bm), W.sp_a_mode(bk)]
    got = d["E_COPY"].reshape(-1, 4)
    assert np.array_equal(got, np.stack([e["mt"], e["ks"], e["word"], e["dst"]], 1))
    want = np.concatenate([W.sp_e_copy_src(e["tid"], *cs, bk=bk) for cs in E_SRC_CASES])
    assert np.array_equal(d["E_SRC"], want)
    tid, kk = np.meshgrid(np.arange(threads), np.arange(bk // 32), indexing="ij")
    assert np.array_equal(d["E_READ"], W.sp_e_read_word(tid, kk, bk).ravel())


PTXAS_VARIANTS = ["", "-DBN=128", "-DBN=128 -DBK=128", "-DSTAGES=3", "-DSTAGES=5",
                  "-DPROXY_FENCE=0", "-DSP_SEL=1", "-DMETA_REGS=1", "-DMETA_REGS=2",
                  "-DMETA_REGS=2 -DBN=128 -DBK=128", "-DMETA_REGS=2 -DSTAGES=3",
                  "-DBM=256 -DBN=128", "-DBM=256 -DBN=128 -DSTAGES=6",
                  "-DBM=256 -DBN=128 -DMETA_REGS=2", "-DBM=256 -DBN=128 -DBK=128 -DSTAGES=3"]


@T.needs_nvcc
@pytest.mark.parametrize("defines", PTXAS_VARIANTS)
def test_ptxas_no_spills_no_wgmma_serialization(tmp_path, defines):
    regs = T.ptxas_registers("mm24_wgmma.cu", defines, tmp_path)
    print(f"mm24_wgmma.cu {defines or '(defaults)'}: registers {regs}")


# ------------------------------------------------------------ NVRTC with the launcher's options


@pytest.mark.parametrize("defines", [None, {"BN": 128}, {"BN": 128, "BK": 128},
                                     {"META_REGS": 1}, {"META_REGS": 2},
                                     {"BM": 256, "BN": 128, "STAGES": 6}])
def test_nvrtc_builds_sm90a_with_the_launcher_options(defines):
    T.check_nvrtc_sm90a("mm24_wgmma.cu", defines,
                        ("mm24_wgmma_f16_f32", "mm24_wgmma_bf16_bf16", "wgmma_sp_peak_f16"))


def test_nvrtc_refuses_sm90_without_a():
    T.check_nvrtc_refuses_sm90("mm24_wgmma.cu")


# ------------------------------------------------------------------------ launcher (no GPU)


def test_launcher_validation_without_gpu():
    values, metadata = ref.compress_24(np.zeros((4, 32), np.float16))
    B = np.zeros((32, 8), np.float16)
    with pytest.raises(TypeError, match="values must have dtype"):
        _cuda.mm_24_wgmma(values.astype(np.float32), metadata, B)
    with pytest.raises(ValueError, match="values hold"):
        _cuda.mm_24_wgmma(values, metadata, np.zeros((64, 8), np.float16))
    with pytest.raises(ValueError, match="BK must be"):
        _cuda.mm_24_wgmma(values, metadata, B, tiling=dict(BK=32))
    with pytest.raises(TypeError, match="CuPy array"):
        _cuda.mm_24_wgmma(values, metadata, B)
    assert K.mm_24_wgmma is _cuda.mm_24_wgmma and "mm_24_wgmma" in K.__all__


# =============================================================================== GPU

TOL_TC32, TOL_TC16 = T.TOL_TC32, T.TOL_TC16
cp, cuda_cp = T.cp, T.cuda_cp  # CuPy on a GPU and the host run; CuPy only


HINTS = {
    "mn_swapped": "the hardware swaps LBO/SBO for N-major B (see hgemm_wgmma's diagnostic)",
    "no_swizzle": "no swizzle applied: check the descriptor mode bits 62-63",
    "a_no_swizzle": "A's 64B swizzle not applied: check mode 2 / try tiling BK=128 (128B A)",
    "a_swizzle128": "mode 2 read as 128B swizzle: swizzle-mode encoding differs; try BK=128",
    "nibble_swapped": "metadata nibble order reversed: index of the first kept value in bits "
                      "[3:2] -- swap the two 2-bit fields in the launcher (one xp pass)",
    "halves_swapped": "row g+8 is in bits 0-15: swap the 16-bit halves of every word",
    "lane_rows": "thread 4g holds row g for k 0..31 and 4g+1 row g+8: re-pack the words",
}


def _diagnose(got, values, metadata, B, want, tile):
    """Which descriptor / metadata reading reproduces the GPU's output (exact integer data)."""
    lines = []
    for v in W.SP_VARIANTS:
        for mv in W.SP_META_VARIANTS:
            if v != "isa" and mv != "isa":
                continue  # one misreading at a time
            try:
                model = W.simulate_mm24_wgmma(values, metadata, B, tile=tile, variant=v,
                                              meta_variant=mv, plan_check=False)
            except (ValueError, IndexError) as e:
                lines.append(f"  variant {v!r}/{mv!r}: model raises {e}")
                continue
            same = np.isclose(got, model, rtol=0, atol=0, equal_nan=True)
            hint = HINTS.get(v if v != "isa" else mv, "")
            lines.append(f"  variant {v!r}/{mv!r}: {same.mean():.1%} of outputs equal"
                         + (f" -> {hint}" if same.all() and hint else ""))
    lines += T.wrong_outputs(got, want)
    lines.append(f"  NaN outputs: {int(np.isnan(got).sum())}")
    return "\n".join(lines)


@pytest.mark.parametrize("tile", TILES, ids=TILE_IDS)
def test_gpu_one_tile_diagnostic(cp, rng, tile):
    """Run this first: one CTA, one k tile, small integers (exact in fp32), so any layout or
    metadata error shows up exactly and is matched against the model's misreadings."""
    bm, bn, bk = _tile(tile)
    Wd, B, values, metadata = _problem(rng, bm, bn, bk, ints=True)
    want = Wd.astype(np.float64) @ B.astype(np.float64)
    out = cp.full((bm, bn), cp.nan, cp.float32)
    got = cp.asnumpy(_cuda.mm_24_wgmma(cp.asarray(values), cp.asarray(metadata), cp.asarray(B),
                                       out=out, tiling=tile))
    assert np.array_equal(got, want), "mm24_wgmma one-tile product wrong:\n" + _diagnose(
        got, values, metadata, B, want, tile)


# The two ways of keeping a wgmma.sp's metadata register unchanged until its group retires:
# two register sets alternating by k tile (the default since stop 30), or one set and a
# wait_group 0 before it is rewritten. (One set without the wait, META_WAIT0=0, gave wrong
# products on an H200 in 2026-11: the hardware reads sp-meta after issue.)
META_SCHEMES = [dict(), dict(META_REGS=1)]
META_IDS = ["regs2", "wait0"]


@pytest.mark.parametrize("meta", META_SCHEMES, ids=META_IDS)
@pytest.mark.parametrize("tile", [dict(), dict(STAGES=3), dict(BN=128, BK=128),
                                  dict(BM=256, BN=128, STAGES=6)],
                         ids=["default", "s3", "bk128", "bm256"])
@pytest.mark.parametrize("k_tiles", [16, 15])
def test_gpu_one_cta_many_k_tiles(cp, rng, tile, meta, k_tiles):
    """One CTA, 15 or 16 k tiles (an odd count leaves META_REGS=2's second phase out of the
    last trip), small integers: the pipeline and the metadata staging, exactly. On a
    mismatch, says whether META_WAIT0=1 alone makes the product right (the register hazard)
    or not (a staging/pipeline error)."""
    bm, bn, bk = _tile(tile)
    Kd = k_tiles * bk
    Wd, B, values, metadata = _problem(rng, bm, bn, Kd, ints=True)
    want = Wd.astype(np.float64) @ B.astype(np.float64)
    dv, dm, dB = cp.asarray(values), cp.asarray(metadata), cp.asarray(B)
    got = cp.asnumpy(_cuda.mm_24_wgmma(dv, dm, dB, tiling=dict(tile, **meta)))
    if not np.array_equal(got, want):
        safe = cp.asnumpy(_cuda.mm_24_wgmma(dv, dm, dB, tiling=dict(tile, META_WAIT0=1)))
        k_wrong = sorted(set((np.argwhere(got != want)[:, 1] // 8).tolist()))[:8]
        verdict = ("RIGHT: the metadata registers are rewritten while a wgmma reading them "
                   "is in flight" if np.array_equal(safe, want) else
                   "still wrong: a staging/pipeline error, not the register hazard")
        pytest.fail(f"{int((got != want).sum())} wrong outputs (n8 blocks {k_wrong}); "
                    f"with META_WAIT0=1 the product is {verdict}")


MM24_SHAPES = [(128, 256, 64), (128, 128, 128), (257, 135, 77), (1, 8, 16), (300, 520, 1000),
               (64, 7, 9), (1000, 264, 40), (129, 257, 65), (16, 8, 33)]


@pytest.mark.parametrize("meta", META_SCHEMES, ids=META_IDS)
@pytest.mark.parametrize("shape", MM24_SHAPES)
@pytest.mark.parametrize("out_dtype", [np.float32, np.float16])
def test_gpu_mm24_wgmma(cp, rng, shape, out_dtype, meta):
    M, N, Kd = shape
    Wd, B, values, metadata = _problem(rng, M, N, Kd)
    want = Wd.astype(np.float64) @ B.astype(np.float64)
    tol = TOL_TC32 if out_dtype == np.float32 else TOL_TC16
    dv, dm, dB = cp.asarray(values), cp.asarray(metadata), cp.asarray(B)
    out = cp.full((M, N), cp.nan, dtype=out_dtype)
    got = cp.asnumpy(_cuda.mm_24_wgmma(dv, dm, dB, out=out, tiling=meta))
    assert not np.isnan(got).any()
    assert rel_err(got, want) < tol
    mma_sp = cp.asnumpy(K.mm_24(dv, dm, dB, out=cp.full((M, N), cp.nan, dtype=out_dtype)))
    assert rel_err(got, mma_sp) < (1e-5 if out_dtype == np.float32 else TOL_TC16)


@pytest.mark.parametrize("tiling", [dict(BN=128), dict(STAGES=3), dict(STAGES=5),
                                    dict(PROXY_FENCE=0), dict(BN=128, BK=128),
                                    dict(BN=128, STAGES=6), dict(GROUP_M=1), dict(SP_SEL=1),
                                    *META_SCHEMES[1:], dict(META_REGS=2, META_WAIT0=0, BN=128,
                                                            BK=128, SP_SEL=1),
                                    dict(BM=256, BN=128), dict(BM=256, BN=128, STAGES=6),
                                    dict(BM=256, BN=128, STAGES=6, META_REGS=2, META_WAIT0=0),
                                    dict(BM=256, BN=128, BK=128, STAGES=3)])
def test_gpu_mm24_wgmma_tilings(cp, rng, tiling):
    Wd, B, values, metadata = _problem(rng, 333, 520, 264)
    want = Wd.astype(np.float64) @ B.astype(np.float64)
    out = cp.full((333, 520), cp.nan, cp.float32)
    if T.refused_on_host(cp, tiling):
        with pytest.raises(RuntimeError, match="no fence.proxy.async since"):
            _cuda.mm_24_wgmma(values, metadata, B, out=out, tiling=tiling)
        return
    got = cp.asnumpy(_cuda.mm_24_wgmma(cp.asarray(values), cp.asarray(metadata), cp.asarray(B),
                                       out=out, tiling=tiling))
    assert rel_err(got, want) < TOL_TC32


@T.on_hopper
@T.CUDA_ONLY
@pytest.mark.parametrize("meta", META_SCHEMES, ids=META_IDS)
@pytest.mark.parametrize("shape", [(4096, 4096, 4096), (4095, 4100, 4104)])
def test_gpu_mm24_wgmma_4096(cp, shape, meta):
    """Large sizes: against a float32 cupy.matmul of the decompressed W, and against mm_24."""
    M, N, Kd = shape
    rs = cp.random.RandomState(int(np.random.SeedSequence().entropy % 2**31))
    Wd = rs.uniform(-1, 1, (M, Kd)).astype(cp.float16)
    pairs = cp.asarray([[1, 1, 0, 0], [1, 0, 1, 0], [1, 0, 0, 1], [0, 1, 1, 0], [0, 1, 0, 1],
                        [0, 0, 1, 1]], cp.float16)  # the 6 legal 2:4 patterns, at random
    Wd = (Wd.reshape(M, Kd // 4, 4) * pairs[rs.randint(0, 6, (M, Kd // 4))]).reshape(M, Kd)
    B = rs.uniform(-1, 1, (Kd, N)).astype(cp.float16)
    values, metadata = K.compress_24(Wd)
    want = cp.matmul(Wd.astype(cp.float32), B.astype(cp.float32))
    for out_dtype, tol in ((cp.float32, TOL_TC32), (cp.float16, TOL_TC16)):
        out = cp.full((M, N), cp.nan, out_dtype)
        got = _cuda.mm_24_wgmma(values, metadata, B, out=out, tiling=meta)
        assert not bool(cp.isnan(got).any())
        assert T.large_rel_err(cp, got, want) < tol
    got = _cuda.mm_24_wgmma(values, metadata, B, tiling=meta)
    other = K.mm_24(values, metadata, B)
    assert float(cp.linalg.norm(got - other) / cp.linalg.norm(other)) < 1e-5


def test_gpu_mm24_wgmma_bfloat16(cp, rng):
    try:
        bf16 = np.dtype("bfloat16")
        cp.zeros(1, dtype=bf16)
    except Exception:
        pytest.skip("no bfloat16 dtype in this NumPy/CuPy")
    Wd = random_24(rng, 200, 96).astype(np.float32).astype(bf16)
    B = rng.uniform(-1, 1, (96, 72)).astype(np.float32).astype(bf16)
    values, metadata = ref.compress_24(Wd)
    got = cp.asnumpy(K.mm_24_wgmma(cp.asarray(values), cp.asarray(metadata), cp.asarray(B)))
    assert rel_err(got, Wd.astype(np.float64) @ B.astype(np.float64)) < TOL_TC32


@T.on_hopper
@T.CUDA_ONLY
def test_gpu_wgmma_sp_peak_runs_and_nvrtc_build_has_no_spills(cp):
    launch, flop = _cuda.wgmma_sp_peak(iters=64)
    launch()
    cp.cuda.Device().synchronize()
    assert flop > 0
    kernel = _cuda.get_sm90a_kernel("mm24_wgmma.cu", "mm24_wgmma_f16_f32", {}, W.sp_smem_bytes())
    print(f"mm24_wgmma_f16_f32 (NVRTC sm_90a): {kernel.num_regs} registers, "
          f"{kernel.local_size_bytes} bytes local, max dynamic smem "
          f"{kernel.max_dynamic_shared_size_bytes}")
    assert kernel.local_size_bytes == 0


@T.gpu
@T.needs_device
@T.on_non_hopper
def test_gpu_non_hopper_raises_clearly(cuda_cp):
    values, metadata = K.compress_24(cuda_cp.zeros((8, 32), cuda_cp.float16))
    with pytest.raises(_backend.DeviceError, match="sm_90a"):
        K.mm_24_wgmma(values, metadata, cuda_cp.zeros((32, 8), cuda_cp.float16))
