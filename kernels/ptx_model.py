r"""NumPy model of the PTX warp instructions our tensor-core kernels use, and lane-by-lane
replays of ``hgemm.cu`` and ``mm24.cu`` built on it.

Each instruction is transcribed from the PTX ISA (8.5+) section named in its docstring; every
array is indexed by lane (32 lanes, ``g = lane // 4``, ``t = lane % 4``). A 32-bit register
that holds two 16-bit values is an array ``[..., 2]`` (index 0 = low half, the lower column).

The replays (:func:`simulate_hgemm`, :func:`simulate_mm24`) repeat the kernels' index
arithmetic line by line -- block order, cp.async chunk -> swizzled shared-memory address,
ldmatrix lane addresses, fragment registers, epilogue -- so a wrong index in the CUDA source
shows up here as a wrong product on a machine without a GPU. They also count shared-memory
bank conflicts of every ldmatrix phase and cp.async write, which the swizzle must avoid.
They are slow (Python loops over blocks, warps and mma tiles): use small matrices.
"""
from __future__ import annotations

import numpy as np

LANES = np.arange(32)
G_OF_LANE = LANES // 4  # groupID
T_OF_LANE = LANES % 4  # threadID_in_group


# ----------------------------------------------------------------------------- instructions


def ldmatrix_x4(smem: np.ndarray, addrs: np.ndarray, trans: bool = False) -> np.ndarray:
    """``ldmatrix.sync.aligned.m8n8.x4{.trans}.shared.b16`` (PTX ISA 9.7.14.5.15).

    ``smem`` is shared memory as a 1-D array of 16-bit elements; ``addrs[l]`` (in elements,
    16-byte aligned) is the row address lane ``l`` supplies: row ``l % 8`` of matrix ``l // 8``.
    Returns ``regs[32, 4, 2]``: register ``j`` of lane ``l`` holds, of matrix ``j``, row
    ``l // 4`` columns ``2(l % 4)``, ``2(l % 4) + 1`` -- or, with ``.trans``, rows
    ``2(l % 4)``, ``2(l % 4) + 1`` of column ``l // 4``.
    """
    addrs = np.asarray(addrs)
    if np.any(addrs % 8):
        raise ValueError("ldmatrix row addresses must be 16-byte aligned")
    rows = smem[addrs[:, None] + np.arange(8)]  # rows[l] = the 8 elements at lane l's address
    mats = rows.reshape(4, 8, 8)  # mats[j] = matrix j, row r given by lane 8j + r
    pair = 2 * T_OF_LANE[:, None] + np.arange(2)  # (32, 2)
    regs = np.empty((32, 4, 2), dtype=smem.dtype)
    for j in range(4):
        if trans:
            regs[:, j, :] = mats[j][pair, G_OF_LANE[:, None]]
        else:
            regs[:, j, :] = mats[j][G_OF_LANE[:, None], pair]
    return regs


def ldmatrix_bank_conflicts(addrs_bytes: np.ndarray) -> int:
    """Worst bank-conflict degree of one ldmatrix.x4: each matrix (8 lanes x 16 bytes) is one
    shared-memory phase; it is conflict-free when the 8 rows sit in 8 different 16-byte bank
    groups (address // 16 mod 8)."""
    groups = (np.asarray(addrs_bytes) // 16 % 8).reshape(4, 8)
    return max(8 - len(set(row.tolist())) + 1 for row in groups)


def _mma_a_16x16(a: np.ndarray) -> np.ndarray:
    """Rebuild the 16 x 16 A operand from the m16n8k16 fragment ``a[32, 4, 2]``
    (PTX ISA 9.7.14.5.8: a0 a1 row g, a2 a3 row g+8, a4 a5 row g, a6 a7 row g+8; columns
    2t + (i & 1), plus 8 for a4..a7)."""
    A = np.full((16, 16), np.nan, dtype=np.float32)
    g, t = G_OF_LANE, T_OF_LANE
    for p in range(2):
        A[g, 2 * t + p] = a[:, 0, p]
        A[g + 8, 2 * t + p] = a[:, 1, p]
        A[g, 2 * t + 8 + p] = a[:, 2, p]
        A[g + 8, 2 * t + 8 + p] = a[:, 3, p]
    return A


def _acc_to_matrix(c: np.ndarray) -> np.ndarray:
    """C/D fragment ``c[32, 4]`` -> 16 x 8 (c0 c1 row g, c2 c3 row g+8; columns 2t, 2t+1)."""
    C = np.empty((16, 8), dtype=np.float32)
    g, t = G_OF_LANE, T_OF_LANE
    C[g, 2 * t] = c[:, 0]
    C[g, 2 * t + 1] = c[:, 1]
    C[g + 8, 2 * t] = c[:, 2]
    C[g + 8, 2 * t + 1] = c[:, 3]
    return C


def _matrix_to_acc(D: np.ndarray) -> np.ndarray:
    g, t = G_OF_LANE, T_OF_LANE
    return np.stack([D[g, 2 * t], D[g, 2 * t + 1], D[g + 8, 2 * t], D[g + 8, 2 * t + 1]], axis=1)


def mma_m16n8k16(a: np.ndarray, b: np.ndarray, c: np.ndarray) -> np.ndarray:
    """``mma.sync.aligned.m16n8k16.row.col.f32.f16.f16.f32`` (PTX ISA 9.7.14.5.8).

    ``a[32, 4, 2]``, ``b[32, 2, 2]`` (b0 b1: k = 2t, 2t+1; b2 b3: k = 2t+8, 2t+9; column g),
    ``c[32, 4]`` fp32. Returns D = A B + C in the same per-lane layout as ``c``.
    """
    A = _mma_a_16x16(a)
    Bm = np.full((16, 8), np.nan, dtype=np.float32)
    g, t = G_OF_LANE, T_OF_LANE
    for p in range(2):
        Bm[2 * t + p, g] = b[:, 0, p]
        Bm[2 * t + 8 + p, g] = b[:, 1, p]
    D = A @ Bm + _acc_to_matrix(c)
    return _matrix_to_acc(D.astype(np.float32))


def sparse_a_from_fragment(a: np.ndarray, e: np.ndarray, selector: int = 0) -> np.ndarray:
    """The logical 16 x 32 sparse A operand of ``mma.sp::ordered_metadata`` m16n8k32 f16/bf16.

    Values (PTX ISA 9.7.14.6.2.2, "Multiplicand A"): four registers of two kept values each,
    a0 a1 row g, a2 a3 row g+8, a4 a5 row g, a6 a7 row g+8; a0..a3 come from the 4-wide chunk
    of columns 4t..4t+3, a4..a7 from 16+4t..16+4t+3 -- i.e. the dense m16n8k16 A layout
    applied to the 16 x 16 matrix of kept values, kept column 2G+p belonging to group G.

    Metadata (same section, "Metadata", Figure "Sparse MMA .m16n8k32 metadata layout for
    .f16/.bf16"): with sparsity selector s, lanes 4g + 2s and 4g + 2s + 1 of each quad supply
    it; lane 4g + 2s + u covers logical columns 16u .. 16u+15 (groups 4u .. 4u+3) with bits
    [15:0] for row g and [31:16] for row g + 8, 4 bits per group in increasing column order,
    each nibble (i1 << 2) | i0 giving the positions of the group's two kept values
    (``ordered_metadata``: i0 < i1). Illegal nibbles raise ``ValueError``.
    """
    if selector not in (0, 1):
        raise ValueError("m16n8k32 f16/bf16 takes sparsity selector 0 or 1")
    kept = _mma_a_16x16(a)  # 16 x 16 kept values, kept column 2G + p
    A = np.zeros((16, 32), dtype=np.float32)
    for lane in range(32):
        g, u = lane // 4, lane % 4 - 2 * selector
        if u not in (0, 1):
            continue  # this lane's metadata register is not read
        word = int(e[lane])
        for h in range(2):
            for j in range(4):
                nib = (word >> (16 * h + 4 * j)) & 0xF
                i0, i1 = nib & 3, nib >> 2
                if not i0 < i1:
                    raise ValueError(f"illegal 2:4 metadata nibble {nib:#06b} (lane {lane})")
                row, group = g + 8 * h, 4 * u + j
                A[row, 4 * group + i0] = kept[row, 2 * group]
                A[row, 4 * group + i1] = kept[row, 2 * group + 1]
    return A


def mma_sp_m16n8k32(a: np.ndarray, b: np.ndarray, c: np.ndarray, e: np.ndarray,
                    selector: int = 0) -> np.ndarray:
    """``mma.sp::ordered_metadata.sync.aligned.m16n8k32.row.col.f32.f16.f16.f32``
    (PTX ISA 9.7.14.6.2.2).

    ``a[32, 4, 2]`` kept values, ``e[32]`` uint32 metadata, ``b[32, 4, 2]`` with register j
    holding k = 8j + 2t, 8j + 2t + 1 of column g, ``c[32, 4]``. Returns D = A B + C.
    """
    A = sparse_a_from_fragment(a, e, selector)
    Bm = np.full((32, 8), np.nan, dtype=np.float32)
    g, t = G_OF_LANE, T_OF_LANE
    for j in range(4):
        for p in range(2):
            Bm[8 * j + 2 * t + p, g] = b[:, j, p]
    D = A @ Bm + _acc_to_matrix(c)
    return _matrix_to_acc(D.astype(np.float32))


# ----------------------------------------------------------------------- kernel arithmetic


def swz(r, c, chunks: int):
    """``swz<CHUNKS>`` of tc_common.cuh: element offset of 16-byte chunk ``c`` of row ``r``."""
    rows_per_128b = 1 if chunks >= 8 else 8 // chunks
    mask = (8 if chunks >= 8 else chunks) - 1
    return (r * chunks + (c ^ ((r // rows_per_128b) & mask))) * 8


def tile_coords(pid: int, tiles_m: int, tiles_n: int, group_m: int) -> tuple[int, int]:
    """``tile_coords`` of tc_common.cuh (grouped tile order)."""
    in_group = group_m * tiles_n
    first_m = (pid // in_group) * group_m
    size_m = min(tiles_m - first_m, group_m)
    return first_m + (pid % in_group) % size_m, (pid % in_group) // size_m


DEFAULT_TILING = dict(BM=128, BN=128, BK=32, WARPS_M=2, WARPS_N=2, STAGES=4, GROUP_M=8)


class _Stats:
    def __init__(self):
        self.max_ldmatrix_conflict = 1
        self.max_cp_async_conflict = 1
        self.tiles_visited: list[tuple[int, int]] = []

    def cp_async(self, dst_elems: np.ndarray) -> None:
        """Each warp-wide cp.async writes 32 x 16 bytes in 4 phases of 8 threads."""
        groups = (np.asarray(dst_elems) * 2 // 16 % 8)
        for start in range(0, len(groups) - len(groups) % 8, 8):
            self.max_cp_async_conflict = max(
                self.max_cp_async_conflict, 8 - len(set(groups[start:start + 8].tolist())) + 1)


def _copy_tile(smem, dst_base, src, rows, cols8, ok, stats, threads):
    """cp.async of chunk i = (rows[i], 8 elements from cols8[i]) -> smem[dst_base[i]:+8]."""
    n = len(rows)
    data = np.zeros((n, 8), dtype=smem.dtype)
    if ok.any():
        data[ok] = src[rows[ok][:, None], cols8[ok][:, None] + np.arange(8)]
    smem[dst_base[:, None] + np.arange(8)] = data
    for start in range(0, n, threads):  # one loop iteration of the kernel: threads 0..T-1
        for w in range(start, min(start + threads, n), 32):
            stats.cp_async(dst_base[w:w + 32])


def simulate_hgemm(A: np.ndarray, B: np.ndarray, out_dtype=np.float32, tiling=None,
                   stats: _Stats | None = None) -> np.ndarray:
    """Run ``hgemm.cu`` lane by lane. ``A`` (M x K) and ``B`` (K x N) float16 with
    ``K % 8 == 0`` and ``N % 8 == 0`` (the kernel's contract). Unwritten outputs stay NaN."""
    cfg = dict(DEFAULT_TILING, **(tiling or {}))
    BM, BN, BK = cfg["BM"], cfg["BN"], cfg["BK"]
    WARPS_M, WARPS_N, GROUP_M = cfg["WARPS_M"], cfg["WARPS_N"], cfg["GROUP_M"]
    THREADS = 32 * WARPS_M * WARPS_N
    WM, WN = BM // WARPS_M, BN // WARPS_N
    MI, NI, KSTEPS = WM // 16, WN // 8, BK // 16
    A_CHUNKS, B_CHUNKS = BK // 8, BN // 8
    M, K = A.shape
    N = B.shape[1]
    assert K % 8 == 0 and N % 8 == 0
    stats = stats if stats is not None else _Stats()
    lane = LANES
    C = np.full((M, N), np.nan, dtype=out_dtype)
    tiles_m, tiles_n = -(-M // BM), -(-N // BN)
    KT = -(-K // BK)
    for pid in range(tiles_m * tiles_n):
        bm, bn = tile_coords(pid, tiles_m, tiles_n, GROUP_M)
        stats.tiles_visited.append((bm, bn))
        m0, n0 = bm * BM, bn * BN
        acc = np.zeros((WARPS_M * WARPS_N, MI, NI, 32, 4), dtype=np.float32)
        for kt in range(KT):
            k0 = kt * BK
            sA = np.full(BM * BK, np.nan, dtype=np.float16)
            sB = np.full(BK * BN, np.nan, dtype=np.float16)
            i = np.arange(BM * A_CHUNKS)
            r, c = i // A_CHUNKS, i % A_CHUNKS
            gm, gk = m0 + r, k0 + c * 8
            _copy_tile(sA, swz(r, c, A_CHUNKS), A, gm, gk, (gm < M) & (gk < K), stats, THREADS)
            i = np.arange(BK * B_CHUNKS)
            r, c = i // B_CHUNKS, i % B_CHUNKS
            gk, gn = k0 + r, n0 + c * 8
            _copy_tile(sB, swz(r, c, B_CHUNKS), B, gk, gn, (gk < K) & (gn < N), stats, THREADS)
            for warp in range(WARPS_M * WARPS_N):
                wm, wn = warp // WARPS_N, warp % WARPS_N
                for kk in range(KSTEPS):
                    af = []
                    for mi in range(MI):
                        r = wm * WM + mi * 16 + (lane & 15)
                        c = kk * 2 + (lane >> 4)
                        addr = swz(r, c, A_CHUNKS)
                        stats.max_ldmatrix_conflict = max(
                            stats.max_ldmatrix_conflict, ldmatrix_bank_conflicts(addr * 2))
                        af.append(ldmatrix_x4(sA, addr))
                    bf = [None] * NI
                    for j in range(NI // 2):
                        r = kk * 16 + (lane & 15)
                        c = (wn * WN + j * 16) // 8 + (lane >> 4)
                        addr = swz(r, c, B_CHUNKS)
                        stats.max_ldmatrix_conflict = max(
                            stats.max_ldmatrix_conflict, ldmatrix_bank_conflicts(addr * 2))
                        t4 = ldmatrix_x4(sB, addr, trans=True)
                        bf[2 * j], bf[2 * j + 1] = t4[:, 0:2], t4[:, 2:4]
                    for mi in range(MI):
                        for ni in range(NI):
                            acc[warp, mi, ni] = mma_m16n8k16(af[mi], bf[ni], acc[warp, mi, ni])
        _epilogue(C, acc, m0, n0, M, N, WARPS_N, WM, WN, MI, NI)
    return C


def _epilogue(C, acc, m0, n0, M, N, WARPS_N, WM, WN, MI, NI):
    g, t = G_OF_LANE, T_OF_LANE
    for warp in range(acc.shape[0]):
        wm, wn = warp // WARPS_N, warp % WARPS_N
        for mi in range(MI):
            for ni in range(NI):
                for h in range(2):
                    row = m0 + wm * WM + mi * 16 + g + 8 * h
                    col = n0 + wn * WN + ni * 8 + 2 * t
                    ok = (row < M) & (col < N)
                    C[row[ok], col[ok]] = acc[warp, mi, ni][ok, 2 * h]
                    C[row[ok], col[ok] + 1] = acc[warp, mi, ni][ok, 2 * h + 1]


def simulate_mm24(values: np.ndarray, metadata: np.ndarray, B: np.ndarray,
                  out_dtype=np.float32, tiling=None, stats: _Stats | None = None) -> np.ndarray:
    """Run ``mm24.cu`` lane by lane on ``compress_24`` output and a float16 ``B`` (K x N,
    ``N % 8 == 0``). Unwritten outputs stay NaN."""
    cfg = dict(DEFAULT_TILING, **(tiling or {}))
    BM, BN, BK = cfg["BM"], cfg["BN"], cfg["BK"]
    WARPS_M, WARPS_N, GROUP_M = cfg["WARPS_M"], cfg["WARPS_N"], cfg["GROUP_M"]
    THREADS = 32 * WARPS_M * WARPS_N
    WM, WN = BM // WARPS_M, BN // WARPS_N
    MI, NI, KSTEPS = WM // 16, WN // 8, BK // 32
    A_CHUNKS, B_CHUNKS = BK // 16, BN // 8
    E_STAGE = BM // 16 * KSTEPS * 16
    M, KC = values.shape
    Kp = 2 * KC
    K, N = B.shape
    assert N % 8 == 0 and Kp % 32 == 0
    MT, KS = -(-M // 16), Kp // 32
    E = np.ascontiguousarray(metadata).reshape(-1)
    stats = stats if stats is not None else _Stats()
    lane = LANES
    C = np.full((M, N), np.nan, dtype=out_dtype)
    tiles_m, tiles_n = -(-M // BM), -(-N // BN)
    KT = -(-Kp // BK)
    for pid in range(tiles_m * tiles_n):
        bm, bn = tile_coords(pid, tiles_m, tiles_n, GROUP_M)
        stats.tiles_visited.append((bm, bn))
        m0, n0 = bm * BM, bn * BN
        acc = np.zeros((WARPS_M * WARPS_N, MI, NI, 32, 4), dtype=np.float32)
        for kt in range(KT):
            sA = np.full(BM * BK // 2, np.nan, dtype=np.float16)
            sB = np.full(BK * BN, np.nan, dtype=np.float16)
            sE = np.zeros(E_STAGE, dtype=np.uint32)
            kc0 = kt * (BK // 2)
            i = np.arange(BM * A_CHUNKS)
            r, c = i // A_CHUNKS, i % A_CHUNKS
            gm, gk = m0 + r, kc0 + c * 8
            _copy_tile(sA, swz(r, c, A_CHUNKS), values, gm, gk, (gm < M) & (gk < KC), stats,
                       THREADS)
            k0 = kt * BK
            i = np.arange(BK * B_CHUNKS)
            r, c = i // B_CHUNKS, i % B_CHUNKS
            gk, gn = k0 + r, n0 + c * 8
            _copy_tile(sB, swz(r, c, B_CHUNKS), B, gk, gn, (gk < K) & (gn < N), stats, THREADS)
            for i in range(E_STAGE // 4):
                blk, rem = i // (4 * KSTEPS), i % (4 * KSTEPS)
                gmt = min(m0 // 16 + blk, MT - 1)
                gks = min(kt * KSTEPS + rem // 4, KS - 1)
                src = (gmt * KS + gks) * 16 + 4 * (rem % 4)
                sE[4 * i:4 * i + 4] = E[src:src + 4]
            for warp in range(WARPS_M * WARPS_N):
                wm, wn = warp // WARPS_N, warp % WARPS_N
                for ks in range(KSTEPS):
                    af, ef = [], []
                    for mi in range(MI):
                        r = wm * WM + mi * 16 + (lane & 15)
                        c = ks * 2 + (lane >> 4)
                        addr = swz(r, c, A_CHUNKS)
                        stats.max_ldmatrix_conflict = max(
                            stats.max_ldmatrix_conflict, ldmatrix_bank_conflicts(addr * 2))
                        af.append(ldmatrix_x4(sA, addr))
                        ef.append(sE[((wm * MI + mi) * KSTEPS + ks) * 16
                                     + 2 * (lane >> 2) + (lane & 1)])
                    bf = []
                    for ni in range(NI):
                        r = ks * 32 + lane
                        c = np.full(32, (wn * WN + ni * 8) // 8)
                        addr = swz(r, c, B_CHUNKS)
                        stats.max_ldmatrix_conflict = max(
                            stats.max_ldmatrix_conflict, ldmatrix_bank_conflicts(addr * 2))
                        bf.append(ldmatrix_x4(sB, addr, trans=True))
                    for mi in range(MI):
                        for ni in range(NI):
                            acc[warp, mi, ni] = mma_sp_m16n8k32(af[mi], bf[ni], acc[warp, mi, ni],
                                                                ef[mi])
        _epilogue(C, acc, m0, n0, M, N, WARPS_N, WM, WN, MI, NI)
    return C
