"""CPU checks of the tensor-core GEMM models: reference.hgemm / compress_24 / mm_24 against
dense float64 products, and the lane-by-lane replays of hgemm.cu and mm24.cu
(ptx_model.simulate_*) against them -- which exercises the kernels' swizzle, ldmatrix
addresses, fragment layouts, mma.sp metadata reading and ragged edges without a GPU.
"""
import numpy as np
import pytest
from minigrad.kernels import ptx_model
from minigrad.kernels import reference as ref

from .kernels_testdata import random_24, rel_err

# ----------------------------------------------------------------------------- hgemm


@pytest.mark.parametrize("shape", [(64, 48, 40), (200, 136, 72), (1, 8, 16), (130, 250, 33)])
def test_hgemm_model_matches_dense(rng, shape):
    M, N, K = shape
    A = rng.uniform(-1, 1, (M, K)).astype(np.float16)
    B = rng.uniform(-1, 1, (K, N)).astype(np.float16)
    want = A.astype(np.float64) @ B.astype(np.float64)
    C = ref.hgemm(A, B)
    assert C.dtype == np.float32 and C.shape == (M, N)
    assert rel_err(C, want) < 1e-5  # fp16 inputs are exact in fp32; only fp32 rounding
    C16 = ref.hgemm(A, B, out_dtype=np.float16)
    assert C16.dtype == np.float16 and rel_err(C16, want) < 5e-3
    out = np.full((M, N), np.nan, np.float32)
    assert ref.hgemm(A, B, out=out) is out and not np.isnan(out).any()


def test_hgemm_model_rejects_bad_input():
    A = np.zeros((4, 8), np.float32)
    with pytest.raises(TypeError, match="float16"):
        ref.hgemm(A, A.T)
    with pytest.raises(ValueError, match="A \\(M, K\\)"):
        ref.hgemm(np.zeros((4, 8), np.float16), np.zeros((7, 2), np.float16))


@pytest.mark.parametrize("shape", [(130, 136, 72), (16, 8, 8), (257, 40, 32)])
def test_hgemm_kernel_replay(rng, shape):
    """simulate_hgemm = hgemm.cu's index arithmetic; must give the product, write every
    output once, visit every tile once and have no shared-memory bank conflicts."""
    M, N, K = shape  # K % 8 == 0, N % 8 == 0: the kernel's contract (the launcher pads)
    A = rng.uniform(-1, 1, (M, K)).astype(np.float16)
    B = rng.uniform(-1, 1, (K, N)).astype(np.float16)
    stats = ptx_model._Stats()
    C = ptx_model.simulate_hgemm(A, B, stats=stats)
    assert not np.isnan(C).any(), "an output element was never written"
    want = A.astype(np.float64) @ B.astype(np.float64)
    assert rel_err(C, want) < 1e-5
    np.testing.assert_allclose(C, ref.hgemm(A, B), rtol=1e-5, atol=1e-5)
    tiles = stats.tiles_visited
    assert len(tiles) == len(set(tiles)) == -(-M // 128) * -(-N // 128)
    assert stats.max_ldmatrix_conflict == 1
    assert stats.max_cp_async_conflict == 1
    C16 = ptx_model.simulate_hgemm(A, B, out_dtype=np.float16)
    assert rel_err(C16, want) < 5e-3


def test_hgemm_replay_other_tilings(rng):
    """The tile macros the benchmark may try (e.g. 128 x 256 blocks, BK = 64) stay correct
    and conflict-free. 200 rows: two tile rows of the 192-row tiles."""
    A = rng.uniform(-1, 1, (200, 96)).astype(np.float16)
    B = rng.uniform(-1, 1, (96, 264)).astype(np.float16)
    want = A.astype(np.float64) @ B.astype(np.float64)
    for tiling in (dict(BN=256, WARPS_N=4), dict(BK=64, STAGES=3), dict(BM=64, WARPS_M=1),
                   dict(BM=192, BN=256, WARPS_M=2, WARPS_N=4, FRAG_BUFS=1),
                   dict(BM=192, FRAG_BUFS=1)):
        stats = ptx_model._Stats()
        C = ptx_model.simulate_hgemm(A, B, tiling=tiling, stats=stats)
        assert rel_err(C, want) < 1e-5, tiling
        assert stats.max_ldmatrix_conflict == 1 and stats.max_cp_async_conflict == 1, tiling


def test_grouped_tile_order_is_a_permutation():
    for tiles_m, tiles_n in ((1, 1), (3, 5), (17, 2), (64, 64)):
        seen = {ptx_model.tile_coords(p, tiles_m, tiles_n, 8) for p in range(tiles_m * tiles_n)}
        assert seen == {(i, j) for i in range(tiles_m) for j in range(tiles_n)}


def test_swizzle_is_a_permutation_of_each_row():
    for chunks in (2, 4, 8, 16, 32):
        r = np.repeat(np.arange(64), chunks)
        c = np.tile(np.arange(chunks), 64)
        offs = ptx_model.swz(r, c, chunks)
        assert sorted(offs.tolist()) == list(range(0, 64 * chunks * 8, 8))
        assert np.all(offs // (chunks * 8) == r)  # a chunk stays in its row


# ------------------------------------------------------------------------------- 2:4


def test_metadata_layout_by_hand():
    """One m16 x k32 block with known patterns: row 0 keeps positions (0, 2) in every group,
    row 8 keeps (1, 3), row 1 keeps (2, 3) in groups 4..7 only (k 16..31)."""
    W = np.zeros((16, 32), np.float16)
    W[0, 0::4] = 1
    W[0, 2::4] = 2  # nibble (2 << 2) | 0 = 0x8, as in the PTX sparse-storage example
    W[8, 1::4] = 3
    W[8, 3::4] = 4  # nibble (3 << 2) | 1 = 0xd
    W[1, 18::4] = 5
    W[1, 19::4] = 6  # nibble (3 << 2) | 2 = 0xe, groups 4..7
    values, meta = ref.compress_24(W)
    assert meta.shape == (1, 1, 16) and meta.dtype == np.uint32
    words = [int(w) for w in meta[0, 0]]
    assert words[0] == 0xDDDD8888  # lane 0: groups 0-3, row 0 low half, row 8 high half
    assert words[1] == 0xDDDD8888  # lane 1: groups 4-7
    assert words[2] == 0x44444444  # lane 4: row 1 groups 0-3 (all zero -> padding (0, 1))
    assert words[3] == 0x4444EEEE  # lane 5: row 1 groups 4-7 keep (2, 3); row 9 padding
    np.testing.assert_array_equal(values[0], np.tile([1, 2], 8).astype(np.float16))
    np.testing.assert_array_equal(values[8], np.tile([3, 4], 8).astype(np.float16))
    np.testing.assert_array_equal(values[1], [0] * 8 + [5, 6] * 4)


@pytest.mark.parametrize("shape", [(16, 32), (37, 100), (130, 64), (3, 5)])
def test_compress_roundtrip(rng, shape):
    M, K = shape
    W = random_24(rng, M, K)
    values, meta = ref.compress_24(W)
    Kp = -(-K // 32) * 32
    assert values.shape == (M, Kp // 2) and values.dtype == np.float16
    assert meta.shape == (-(-M // 16), Kp // 32, 16)
    dense = ref.decompress_24(values, meta)
    np.testing.assert_array_equal(dense[:, :K], W.astype(np.float32))
    assert not dense[:, K:].any()


def test_two_transcriptions_of_the_metadata_agree(rng):
    """decode_metadata (vectorised) and ptx_model.sparse_a_from_fragment (lane loop over the
    PTX rule) read the same words the same way, for every m16 x k32 block."""
    W = random_24(rng, 48, 96)
    values, meta = ref.compress_24(W)
    g, t = ptx_model.G_OF_LANE, ptx_model.T_OF_LANE
    for mt in range(meta.shape[0]):
        for ks in range(meta.shape[1]):
            kept = values[16 * mt:16 * mt + 16, 16 * ks:16 * ks + 16].astype(np.float16)
            a = np.empty((32, 4, 2), np.float16)  # the A fragment per PTX 9.7.14.6.2.2
            for p in range(2):
                a[:, 0, p] = kept[g, 2 * t + p]
                a[:, 1, p] = kept[g + 8, 2 * t + p]
                a[:, 2, p] = kept[g, 2 * t + 8 + p]
                a[:, 3, p] = kept[g + 8, 2 * t + 8 + p]
            e = meta[mt, ks, 2 * (np.arange(32) >> 2) + (np.arange(32) & 1)]  # mm24.cu's load
            A = ptx_model.sparse_a_from_fragment(a, e)
            np.testing.assert_array_equal(A, W[16 * mt:16 * mt + 16, 32 * ks:32 * ks + 32])


def test_compress_rejects_dense_groups():
    W = np.zeros((4, 8), np.float16)
    W[2, 4:7] = 1
    with pytest.raises(ValueError, match="row 2, columns 4..7 hold 3 nonzeros"):
        ref.compress_24(W)
    with pytest.raises(TypeError, match="float16"):
        ref.compress_24(np.zeros((4, 8), np.float32))


def test_illegal_metadata_is_detected(rng):
    values, meta = ref.compress_24(random_24(rng, 16, 32))
    bad = meta.copy()
    bad[0, 0, 0] &= ~np.uint32(0xF)  # nibble 0b0000: i0 == i1
    with pytest.raises(ValueError, match="illegal"):
        ref.decompress_24(values, bad)


@pytest.mark.parametrize("shape", [(64, 48, 64), (37, 20, 100), (130, 136, 72), (16, 8, 32)])
def test_mm24_model_matches_dense(rng, shape):
    M, N, K = shape
    W = random_24(rng, M, K)
    B = rng.uniform(-1, 1, (K, N)).astype(np.float16)
    want = W.astype(np.float64) @ B.astype(np.float64)
    values, meta = ref.compress_24(W)
    C = ref.mm_24(values, meta, B)
    assert C.dtype == np.float32 and rel_err(C, want) < 1e-5
    out = np.full((M, N), np.nan, np.float16)
    ref.mm_24(values, meta, B, out=out)
    assert rel_err(out, want) < 5e-3
    with pytest.raises(ValueError, match="round_up"):
        ref.mm_24(values, meta, B[:-32] if K > 32 else np.zeros((K + 32, N), np.float16))


@pytest.mark.parametrize("shape", [(130, 136, 72), (16, 8, 32), (200, 16, 100)])
def test_mm24_kernel_replay(rng, shape):
    """simulate_mm24 = mm24.cu's index arithmetic through the mma.sp model."""
    M, N, K = shape  # N % 8 == 0 (the launcher pads)
    W = random_24(rng, M, K)
    B = rng.uniform(-1, 1, (K, N)).astype(np.float16)
    values, meta = ref.compress_24(W)
    stats = ptx_model._Stats()
    C = ptx_model.simulate_mm24(values, meta, B, stats=stats)
    assert not np.isnan(C).any(), "an output element was never written"
    want = W.astype(np.float64) @ B.astype(np.float64)
    assert rel_err(C, want) < 1e-5
    np.testing.assert_allclose(C, ref.mm_24(values, meta, B), rtol=1e-5, atol=1e-5)
    assert stats.max_ldmatrix_conflict == 1 and stats.max_cp_async_conflict == 1
    tiles = stats.tiles_visited
    assert len(tiles) == len(set(tiles)) == -(-M // 128) * -(-N // 128)


def test_mm24_replay_bk64(rng):
    W = random_24(rng, 40, 96)
    B = rng.uniform(-1, 1, (96, 24)).astype(np.float16)
    values, meta = ref.compress_24(W)
    C = ptx_model.simulate_mm24(values, meta, B, tiling=dict(BK=64, STAGES=3))
    assert rel_err(C, W.astype(np.float64) @ B.astype(np.float64)) < 1e-5


def test_mm24_replay_96x64_warp_tiles(rng):
    """The 192-row tiles (FRAG_BUFS=1 changes only the order of the loads): two tile rows,
    ragged, conflict-free."""
    W = random_24(rng, 200, 96)
    B = rng.uniform(-1, 1, (96, 136)).astype(np.float16)
    values, meta = ref.compress_24(W)
    for tiling in (dict(BM=192, FRAG_BUFS=1),
                   dict(BM=192, BN=256, WARPS_N=4, BK=64, STAGES=3, FRAG_BUFS=1)):
        stats = ptx_model._Stats()
        C = ptx_model.simulate_mm24(values, meta, B, tiling=tiling, stats=stats)
        assert rel_err(C, W.astype(np.float64) @ B.astype(np.float64)) < 1e-5, tiling
        assert stats.max_ldmatrix_conflict == 1 and stats.max_cp_async_conflict == 1, tiling


def test_mma_models_on_identity():
    """The fragment models themselves: A = I (16 x 16) reproduces B's columns."""
    g, t = ptx_model.G_OF_LANE, ptx_model.T_OF_LANE
    I16 = np.eye(16, dtype=np.float16)
    Bm = np.arange(128, dtype=np.float16).reshape(16, 8)
    a = np.empty((32, 4, 2), np.float16)
    b = np.empty((32, 2, 2), np.float16)
    for p in range(2):
        a[:, 0, p], a[:, 1, p] = I16[g, 2 * t + p], I16[g + 8, 2 * t + p]
        a[:, 2, p], a[:, 3, p] = I16[g, 2 * t + 8 + p], I16[g + 8, 2 * t + 8 + p]
        b[:, 0, p], b[:, 1, p] = Bm[2 * t + p, g], Bm[2 * t + 8 + p, g]
    d = ptx_model.mma_m16n8k16(a, b, np.zeros((32, 4), np.float32))
    np.testing.assert_array_equal(ptx_model._acc_to_matrix(d), Bm.astype(np.float32))


@pytest.mark.parametrize("fewer", [0.0, 0.3])
@pytest.mark.parametrize("shape", [(16, 32), (37, 72), (5, 8), (1, 4), (0, 32)])
def test_pack_24_is_compress_24_of_the_same_matrix(rng, shape, fewer):
    """From kept values and positions (minigrad.sparse's format), pack_24 gives exactly
    compress_24's arrays when the positions are those compress_24 would pick (nonzeros
    first, then the lowest free ones); other positions for kept zeros are kept as given
    (all-zero groups at 2, 3 here), with the same matrix."""
    M, K = shape
    W = random_24(rng, M, K, fewer=fewer)
    groups = W.reshape(M, K // 4, 4)
    pos = np.arange(4)
    kept = np.sort(np.argsort(np.where(groups != 0, pos, pos + 4), axis=-1)[..., :2], -1)
    i0, i1 = kept[..., 0], kept[..., 1]
    values = np.take_along_axis(groups, kept, -1).reshape(M, K // 2)
    v_hw, m_hw = ref.pack_24(values, i0, i1)
    want_v, want_m = ref.compress_24(W)
    assert np.array_equal(v_hw, want_v) and np.array_equal(m_hw, want_m)
    empty = (groups == 0).all(-1)
    j0, j1 = np.where(empty, 2, i0), np.where(empty, 3, i1)
    v2, m2 = ref.pack_24(values, j0, j1)
    d0, d1 = ref.decode_metadata(m2, M)
    assert np.array_equal(d0[:, :K // 4], j0) and np.array_equal(d1[:, :K // 4], j1)
    assert np.array_equal(ref.decompress_24(v2, m2), ref.decompress_24(want_v, want_m))


def test_pack_24_checks_its_input():
    v = np.ones((2, 4), np.float16)
    i0, i1 = np.zeros((2, 2), np.int64), np.ones((2, 2), np.int64)
    with pytest.raises(ValueError, match="0 <= i0 < i1 <= 3"):
        ref.pack_24(v, i1, i0)
    with pytest.raises(TypeError, match="float16 or bfloat16"):
        ref.pack_24(v.astype(np.float32), i0, i1)
    with pytest.raises(ValueError, match=r"values \(M, K/2\) and positions"):
        ref.pack_24(v, i0[:, :1], i1[:, :1])
