r"""NumPy model of ``hgemm_wgmma.cu``: the shared-memory layouts its cp.async writes produce,
the wgmma matrix descriptors it builds, the address the PTX ISA says a descriptor gives each
operand element, the wgmma accumulator fragment layout, the pipeline schedule, and a replay of
the whole kernel (tile order, copy plan, descriptors, k16 steps, epilogue) that must equal A @ B.

What the PTX ISA says (ISA 8.x, section 9.7.15 "Asynchronous Warpgroup Level Matrix Multiply-
Accumulate Instructions"), and what this model takes from it:

* 9.7.15.5.1.2 "Shared Memory Matrix Layout": "If the argument imm-trans-a / imm-trans-b of
  the instruction wgmma.mma_async{.sp} is 0, then K-major is used for matrix A / B
  respectively. If the value of argument imm-trans-a is 1 then M-major is used for matrix A.
  If the value of the argument imm-trans-b is 1, then N-major is used for matrix B." -- the
  kernel passes imm-trans-a = 0 (A row-major M x K is K-major) and imm-trans-b = 1 (B
  row-major K x N is N-major).
  "The matrices in the shared memory are made up of one or more 'swizzle layout atom'" --
  Table "Various combinations of swizzling mode, leading dimension and swizzle-atom layout":
  "128B Swizzling Mode, M/N: 8x8; 128B Swizzling Mode, K: 8x8" (in 128-bit elements); "For
  smaller elements sizes, the same shapes would get multiplied along the leading dimension by
  a factor of 128/sizeof_bits(Element)": for 16-bit data an atom is 8 rows x 64 elements
  (128 bytes per row, 1024 bytes).
* 9.7.15.5.1.2.2 "Matrix Descriptor Format": a 64-bit value, "13-0: matrix-descriptor-encode
  (Matrix start address); 29-16: matrix-descriptor-encode (Leading dimension byte offset);
  45-32: matrix-descriptor-encode (Stride dimension byte offset); 51-49: Matrix base offset.
  This is valid for all swizzling modes except the no-swizzle mode; 63-62: Specifies the
  swizzling mode to be used: 0: No swizzle, 1: 128-Byte swizzle, 2: 64-Byte swizzle,
  3: 32-Byte swizzle", where "matrix-descriptor-encode(x) = (x & 0x3FFFF) >> 4". "The value
  of base offset is 0 when the repeating pattern of the specified swizzling mode starts as
  per the below table: 128-Byte swizzle: 1024-Byte boundary ... Otherwise, the base offset
  must be a non-zero value, computed using the following formula: base offset = (pattern
  start addr >> 0x7) & 0x7." -- every pattern of the kernel starts on a 1024-byte boundary
  (stage bases are 1024-aligned, the A half of warpgroup 1 is 8192 bytes in, B k16 steps
  are 2048 bytes apart; the A k16 steps move the start address by 32 bytes *inside* the
  pattern that starts at the row-0 line), so base offset = 0 throughout.
* The canonical layouts (the ISA's "canonical layouts" in CuTe notation, identical to
  CUTLASS ``make_gmma_desc``; T = 8 sixteen-bit elements = 16 bytes, offsets in elements, the
  swizzle applied to the byte address):
    K-major,  128B: Swizzle<3,4,3> o ((8,m),(T,2k)) : ((8T,SBO),(1,T))
    MN-major, 128B: Swizzle<3,4,3> o ((T,8,m),(8,k)) : ((1,T,LBO),(8T,SBO))
  i.e. K-major: row r at (r % 8) * 128 + (r // 8) * SBO bytes, k at 2k bytes (k < 64; one
  k16 instruction reads k < 16); the leading byte offset is "not used" for swizzled K-major
  layouts ("assumed 1"). MN-major: element mn at (mn % 64) * 2 + (mn // 64) * LBO bytes, k at
  (k % 8) * 128 + (k // 8) * SBO bytes: LBO steps from one 64-wide MN atom column to the
  next, SBO from one group of 8 k rows to the next. Swizzle<3,4,3> on a byte address:
  bits [4, 7) ^= bits [7, 10) -- the 16-byte chunk index inside a 128-byte line is XORed
  with the line index mod 8 (the same pattern TMA's SWIZZLE_128B writes).
* 9.7.15.5.1.1 "Register Fragments", figure "WGMMA .m64nNk16 register fragment layout for
  accumulator matrix D": warp w of the warpgroup holds rows 16w .. 16w+15; in it lane
  l = 4g + t holds, for each n8 block j, d[4j+0], d[4j+1] at row 16w + g, columns 8j + 2t,
  8j + 2t + 1 and d[4j+2], d[4j+3] at row 16w + g + 8, same columns (the mma.m16n8 C layout
  repeated N/8 times).

What can only be checked on a GPU: that the hardware reads exactly these addresses (the ISA
reading above), the accumulator layout, and the memory-ordering choices (fence.proxy.async,
barriers). ``desc_element_address(..., variant=...)`` also implements plausible *misreadings*
(LBO/SBO swapped for MN-major, no swizzle) so that a wrong GPU result can be matched to the
misreading that produces it (tests/kernels/test_kernels_wgmma.py, the diagnostic GPU test).

Everything else -- the kernel's copy plan, descriptors and epilogue -- is checked against this
model in CI: the ``.cu`` file's ``__host__ __device__`` layout functions are compiled with nvcc
into a host program whose output the tests compare to the functions below.
"""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np

KERNEL = Path(__file__).resolve().parent / "hgemm_wgmma.cu"

BM, BK = 128, 64          # fixed in the kernel
THREADS = 256             # two warpgroups
TILING = dict(BN=256, STAGES=4, GROUP_M=8)   # defaults of the -D macros
SWIZZLE_128B = 1          # descriptor bits 63-62
DESC_MASK14 = 0x3FFF


def tiling(overrides: dict | None = None) -> dict:
    """The kernel's tile macros with ``overrides`` applied and checked (as the .cu asserts).
    Recognised keys: BN (128/256), STAGES (>= 3), GROUP_M, PROXY_FENCE (0/1), and the
    diagnostic descriptor strides A_LBO, A_SBO, B_LBO, B_SBO."""
    t = dict(TILING)
    for key, value in (overrides or {}).items():
        if key not in ("BN", "STAGES", "GROUP_M", "PROXY_FENCE", "A_LBO", "A_SBO", "B_LBO",
                       "B_SBO"):
            raise ValueError(f"unknown hgemm_wgmma tiling key {key!r}")
        t[key] = int(value)
    if t["BN"] not in (128, 256):
        raise ValueError(f"BN must be 128 or 256, got {t['BN']}")
    if t["STAGES"] < 3:
        raise ValueError(f"STAGES must be >= 3, got {t['STAGES']}")
    if smem_bytes(t["BN"], t["STAGES"]) > 227 * 1024:
        raise ValueError(f"BN={t['BN']}, STAGES={t['STAGES']} needs "
                         f"{smem_bytes(t['BN'], t['STAGES'])} bytes of shared memory (> 227 KiB)")
    return t


def smem_bytes(bn: int = 256, stages: int = 4) -> int:
    """``SMEM_BYTES`` of the kernel: the stages plus 1 KiB to align the base to 1024."""
    return stages * (BM * BK * 2 + BK * bn * 2) + 1024


def strides(bn: int = 256, **override) -> dict:
    """Descriptor strides (bytes) as the .cu defines them (A_LBO 16: unused, "assumed 1")."""
    s = dict(A_LBO=16, A_SBO=1024, B_LBO=BK * 128, B_SBO=1024)
    s.update({k: v for k, v in override.items() if k in s})
    return s


# ------------------------------------------------------------------- shared-memory layout


def swizzle128(addr):
    """128-byte swizzle of a byte address: bits [4, 7) ^= bits [7, 10)."""
    addr = np.asarray(addr, dtype=np.int64)
    return addr ^ (((addr >> 7) & 7) << 4)


def a_tile_offset(m, k):
    """Byte offset of A element (m, k) in a stage: 128-byte rows, chunk k/8 XOR (m % 8)."""
    m, k = np.asarray(m, np.int64), np.asarray(k, np.int64)
    return m * 128 + ((((k >> 3) ^ m) & 7) << 4) + ((k & 7) << 1)


def b_tile_offset(k, n):
    """Byte offset of B element (k, n) in a stage: atom columns of 64 n, BK rows of 128 bytes
    each, chunk (n % 64)/8 XOR (k % 8)."""
    k, n = np.asarray(k, np.int64), np.asarray(n, np.int64)
    return (n >> 6) * (BK * 128) + k * 128 + ((((n >> 3) ^ k) & 7) << 4) + ((n & 7) << 1)


# ------------------------------------------------------------------------- descriptors


def desc_encode(x: int) -> int:
    return (int(x) & 0x3FFFF) >> 4


def make_desc(addr: int, lbo: int, sbo: int, swizzle: int = SWIZZLE_128B,
              base_offset: int = 0) -> int:
    """The 64-bit matrix descriptor (PTX "Matrix Descriptor Format")."""
    return (desc_encode(addr) | desc_encode(lbo) << 16 | desc_encode(sbo) << 32
            | (base_offset & 7) << 49 | (swizzle & 3) << 62)


def decode_desc(desc: int) -> dict:
    desc = int(desc)
    return dict(start=(desc & DESC_MASK14) << 4, lbo=((desc >> 16) & DESC_MASK14) << 4,
                sbo=((desc >> 32) & DESC_MASK14) << 4, base_offset=(desc >> 49) & 7,
                swizzle=(desc >> 62) & 3, reserved=desc & ~(DESC_MASK14 | DESC_MASK14 << 16
                                                           | DESC_MASK14 << 32 | 7 << 49
                                                           | 3 << 62))


A_STAGE_BYTES = BM * BK * 2


def b_stage_bytes(bn: int) -> int:
    return BK * bn * 2


def desc_a(sA: int, stage: int, wg: int, kk: int, bn: int = 256, **override) -> int:
    """``desc_a`` of the .cu: rows 64 wg .. of stage ``stage``, k16 step ``kk``."""
    s = strides(bn, **override)
    return make_desc(sA + stage * A_STAGE_BYTES + wg * 64 * 128 + kk * 32, s["A_LBO"], s["A_SBO"])


def desc_b(sB: int, stage: int, kk: int, bn: int = 256, **override) -> int:
    """``desc_b`` of the .cu: all bn columns of stage ``stage``, k rows 16 kk .."""
    s = strides(bn, **override)
    return make_desc(sB + stage * b_stage_bytes(bn) + kk * 16 * 128, s["B_LBO"], s["B_SBO"])


def desc_element_address(desc: int, major: str, mn, k, variant: str = "isa"):
    """Byte address the hardware reads for operand element (mn, k) of one wgmma, per the ISA
    canonical layouts (module docstring). ``major`` is "K" (K-major: mn = row of A, k < 16)
    or "MN" (MN-major: mn = column of B, k < 16). ``variant`` = "isa" (our reading),
    "mn_swapped" (LBO and SBO roles exchanged for MN-major) or "no_swizzle": misreadings used
    to diagnose a wrong GPU result."""
    d = decode_desc(desc)
    if d["reserved"]:
        raise ValueError(f"descriptor {desc:#x} sets reserved bits")
    if d["swizzle"] != SWIZZLE_128B:
        raise NotImplementedError("model covers the 128-byte swizzle mode only")
    if d["base_offset"] != 0:
        raise NotImplementedError("model covers base offset 0 (1024-aligned patterns) only")
    mn, k = np.asarray(mn, np.int64), np.asarray(k, np.int64)
    if np.any(k < 0) or np.any(k >= 16):
        raise ValueError("one wgmma k16 instruction reads k = 0 .. 15")
    if major == "K":
        off = (mn % 8) * 128 + (mn // 8) * d["sbo"] + 2 * k
    elif major == "MN":
        lbo, sbo = (d["sbo"], d["lbo"]) if variant == "mn_swapped" else (d["lbo"], d["sbo"])
        off = (mn % 64) * 2 + (mn // 64) * lbo + (k % 8) * 128 + (k // 8) * sbo
    else:
        raise ValueError(f"major must be 'K' or 'MN', got {major!r}")
    addr = d["start"] + off
    return addr if variant == "no_swizzle" else swizzle128(addr)


def read_operand(smem: np.ndarray, desc: int, major: str, rows: int, variant: str = "isa"):
    """The operand one wgmma reads through ``desc`` from ``smem`` (a uint8 array = the CTA's
    shared window): A (rows x 16) for major "K", B (16 x rows) for major "MN"."""
    mn, k = np.meshgrid(np.arange(rows), np.arange(16), indexing="ij")
    addr = desc_element_address(desc, major, mn, k, variant)
    if np.any(addr % 2) or np.any(addr < 0) or np.any(addr + 2 > smem.size):
        raise IndexError("descriptor addresses outside shared memory or misaligned")
    halves = smem.view(np.uint16)[addr // 2]
    return halves if major == "K" else halves.T


# ------------------------------------------------------------------------- accumulators


def acc_row(tid, i):
    """Row (0..127) of the CTA tile held by accumulator register i of thread tid (ISA figure
    "WGMMA .m64nNk16 register fragment layout for accumulator matrix D", two warpgroups)."""
    tid, i = np.asarray(tid), np.asarray(i)
    warpgroup, warp, lane = tid // 128, (tid % 128) // 32, tid % 32
    return warpgroup * 64 + warp * 16 + lane // 4 + 8 * ((i // 2) % 2)


def acc_col(tid, i):
    tid, i = np.asarray(tid), np.asarray(i)
    return (i // 4) * 8 + 2 * (tid % 4) + i % 2


def wgmma_m64nNk16(acc: np.ndarray, A: np.ndarray, B: np.ndarray, wg: int) -> None:
    """``acc[tid, i]`` (256 threads x N/2 registers, fp32) += A (64 x 16) B (16 x N) for the
    128 threads of warpgroup ``wg``, through the accumulator layout."""
    n = B.shape[1]
    D = A.astype(np.float32) @ B.astype(np.float32)
    tid = np.arange(128 * wg, 128 * wg + 128)[:, None]
    i = np.arange(n // 2)[None, :]
    acc[128 * wg:128 * wg + 128] += D[acc_row(tid, i) - 64 * wg, acc_col(tid, i)]


# ---------------------------------------------------------------------------- copy plan


def copy_plan(bn: int = 256):
    """The .cu's a_copy_* / b_copy_* for every thread and round: dicts of arrays (tid, it) ->
    row, col (elements of the tile) and dst (byte offset in the stage)."""
    a_chunks, b_chunks = BK // 8, bn // 8
    a_rpi, b_rpi = THREADS // a_chunks, THREADS // b_chunks
    tid = np.arange(THREADS)[:, None]
    a_it = np.arange(BM // a_rpi)[None, :]
    b_it = np.arange(BK // b_rpi)[None, :]
    a = dict(row=tid // a_chunks + a_it * a_rpi,
             col=np.broadcast_to(tid % a_chunks * 8, (THREADS, a_it.shape[1])))
    a["dst"] = a_tile_offset(tid // a_chunks, tid % a_chunks * 8) + a_it * (a_rpi * 128)
    b = dict(row=tid // b_chunks + b_it * b_rpi,
             col=np.broadcast_to(tid % b_chunks * 8, (THREADS, b_it.shape[1])))
    b["dst"] = b_tile_offset(tid // b_chunks, tid % b_chunks * 8) + b_it * (b_rpi * 128)
    return a, b


def bank_conflicts(dst: np.ndarray) -> int:
    """Worst conflict degree of the cp.async writes: each warp's 32 x 16-byte stores go in 4
    phases of 8 threads; a phase is conflict-free when its 8 chunks sit in 8 different
    16-byte bank groups."""
    worst = 1
    for it in range(dst.shape[1]):
        groups = (dst[:, it] // 16) % 8
        for start in range(0, THREADS, 8):
            worst = max(worst, 8 - len(set(groups[start:start + 8].tolist())) + 1)
    return worst


def fill_stage(smem: np.ndarray, sA: int, sB: int, stage: int, A: np.ndarray, B: np.ndarray,
               m0: int, n0: int, kt: int, bn: int = 256) -> None:
    """Replay the kernel's ``load_stage``: every cp.async chunk of tile kt, zero-filled where
    the source is out of range (src-size 0), into the uint8 shared window ``smem``."""
    a, b = copy_plan(bn)
    h = smem.view(np.uint16)
    for plan, src, base, rows, cols in (
            (a, A, sA + stage * A_STAGE_BYTES, m0 + a["row"], kt * BK + a["col"]),
            (b, B, sB + stage * b_stage_bytes(bn), kt * BK + b["row"], n0 + b["col"])):
        R, Cc = src.shape
        ok = (rows < R) & (cols < Cc)
        r, c, dst = rows.ravel(), cols.ravel(), (base + plan["dst"]).ravel()
        data = np.zeros((r.size, 8), np.uint16)
        okr = ok.ravel()
        data[okr] = src.view(np.uint16)[r[okr][:, None], c[okr][:, None] + np.arange(8)]
        h[(dst // 2)[:, None] + np.arange(8)] = data


# ----------------------------------------------------------------------- kernel replay


def tile_coords(pid: int, tiles_m: int, tiles_n: int, group_m: int) -> tuple[int, int]:
    """``tile_coords`` of tc_common.cuh (grouped tile order)."""
    in_group = group_m * tiles_n
    first_m = (pid // in_group) * group_m
    size_m = min(tiles_m - first_m, group_m)
    return first_m + (pid % in_group) % size_m, (pid % in_group) // size_m


def pipeline_schedule(KT: int, stages: int = 4) -> list[tuple]:
    """The kernel's main loop as events, for the hazard checks: ("load", tile, stage),
    ("commit",), ("wait_cp", n), ("barrier",), ("mma", tile, stage), ("mma_commit",),
    ("wait_mma", n) -- in program order (every thread runs the same sequence)."""
    ev = []
    for s in range(stages - 2):
        if s < KT:
            ev.append(("load", s, s))
        ev.append(("commit",))
    rd, wr = 0, stages - 2
    for kt in range(KT):
        ev += [("wait_cp", stages - 3), ("fence_proxy",), ("barrier",)]
        ev += [("mma", kt, rd), ("mma_commit",)]
        nxt = kt + stages - 2
        if nxt < KT:
            ev.append(("load", nxt, wr))
        ev += [("commit",), ("wait_mma", 1)]
        rd = 0 if rd + 1 == stages else rd + 1
        wr = 0 if wr + 1 == stages else wr + 1
    ev.append(("wait_mma", 0))
    return ev


def check_pipeline(KT: int, stages: int = 4) -> None:
    """Replay ``pipeline_schedule`` with the PTX semantics of ``cp.async.wait_group N`` (all but
    the newest N of this thread's committed groups are complete) and ``wgmma.wait_group N``
    (all but the newest N of this warpgroup's wgmma groups are complete), in the worst case
    (nothing completes before a wait forces it). Both warpgroups run the same sequence and
    meet only at barriers, so a fact about the *other* warpgroup (its copies landed, its
    wgmmas finished) is known only as of the last barrier. Raises AssertionError on a wgmma
    reading a stage before every thread's copy of its tile is complete, fenced and behind a
    barrier, or on a refill of a stage that a wgmma of either warpgroup may still read."""
    stage_tile: dict[int, int] = {}   # stage -> tile written there last
    open_group: list[int] = []        # tiles loaded since the last commit
    pending_cp: list[list[int]] = []  # committed cp.async groups not known complete
    landed_self: set[int] = set()     # tiles whose copies (this thread) are complete
    fenced_self: set[int] = set()     # ... and followed by fence.proxy.async
    landed_all: set[int] = set()      # ... for every thread, as of the last barrier
    mma_groups: list[int] = []        # tiles of this warpgroup's uncompleted wgmma groups
    mma_done_self: set[int] = set()
    mma_done_all: set[int] = set()    # complete in both warpgroups, as of the last barrier
    for e in pipeline_schedule(KT, stages):
        kind = e[0]
        if kind == "load":
            _, tile, stage = e
            prev = stage_tile.get(stage)
            assert prev is None or prev in mma_done_all, \
                f"tile {tile} refills stage {stage} while tile {prev}'s wgmma may still read it"
            stage_tile[stage] = tile
            open_group.append(tile)
        elif kind == "commit":
            pending_cp.append(open_group)
            open_group = []
        elif kind == "wait_cp":
            while len(pending_cp) > e[1]:
                landed_self.update(pending_cp.pop(0))
        elif kind == "fence_proxy":
            fenced_self |= landed_self
        elif kind == "barrier":
            landed_all |= fenced_self
            mma_done_all |= mma_done_self
        elif kind == "mma":
            _, tile, stage = e
            assert tile in landed_all, f"wgmma reads tile {tile} before every copy landed"
            assert stage_tile.get(stage) == tile, f"stage {stage} does not hold tile {tile}"
            mma_groups.append(tile)
        elif kind == "wait_mma":
            while len(mma_groups) > e[1]:
                mma_done_self.add(mma_groups.pop(0))
    assert mma_done_self == set(range(KT)), "not every k tile was multiplied"
    assert not any(pending_cp), "copies still pending at exit"


def simulate_hgemm_wgmma(A: np.ndarray, B: np.ndarray, out_dtype=np.float32,
                         tile: dict | None = None, variant: str = "isa",
                         plan_check: bool = True) -> np.ndarray:
    """Run ``hgemm_wgmma.cu`` in NumPy: CTA order, cp.async copy plan into a byte-exact shared
    window, descriptors, wgmma operand reads through the ISA address model (``variant``: see
    ``desc_element_address``), fp32 accumulation in the accumulator layout, masked epilogue.
    ``A`` (M x K) and ``B`` (K x N) float16/bfloat16 bits with K % 8 == 0 and N % 8 == 0 (the
    kernel's contract). Unwritten outputs stay NaN."""
    t = tiling(tile)
    bn, stages, group_m = t["BN"], t["STAGES"], t["GROUP_M"]
    override = {k: t[k] for k in ("A_LBO", "A_SBO", "B_LBO", "B_SBO") if k in t}
    M, K = A.shape
    N = B.shape[1]
    if K % 8 or N % 8:
        raise ValueError("the kernel's contract: K % 8 == 0 and N % 8 == 0 (launcher pads)")
    if A.dtype.itemsize != 2 or B.dtype.itemsize != 2:
        raise TypeError("A and B must be 16-bit floats")
    to_f32 = (lambda x: x.astype(np.float32)) if A.dtype == np.float16 else _bf16_to_f32
    smem = np.zeros(smem_bytes(bn, stages), np.uint8)   # base 0 is 1024-aligned
    sA, sB = 0, stages * A_STAGE_BYTES
    C = np.full((M, N), np.nan, dtype=out_dtype)
    tiles_m, tiles_n = -(-M // BM), -(-N // bn)
    KT = -(-K // BK)
    tid = np.arange(THREADS)[:, None]
    i = np.arange(0, bn // 2, 2)[None, :]
    for pid in range(tiles_m * tiles_n):
        bm, bnn = tile_coords(pid, tiles_m, tiles_n, group_m)
        m0, n0 = bm * BM, bnn * bn
        acc = np.zeros((THREADS, bn // 2), np.float32)
        smem[:] = 0xFF  # NaN halves: a read of an unwritten byte shows up
        for kt in range(KT):
            stage = kt % stages
            fill_stage(smem, sA, sB, stage, A, B, m0, n0, kt, bn)
            for wg in range(2):
                for kk in range(BK // 16):
                    a_bits = read_operand(smem, desc_a(sA, stage, wg, kk, bn, **override), "K",
                                          64, variant)
                    b_bits = read_operand(smem, desc_b(sB, stage, kk, bn, **override), "MN",
                                          bn, variant)
                    wgmma_m64nNk16(acc, to_f32(a_bits.view(A.dtype)),
                                   to_f32(b_bits.view(B.dtype)), wg)
        rows, cols = m0 + acc_row(tid, i), n0 + acc_col(tid, i)
        ok = (rows < M) & (cols < N)
        C[rows[ok], cols[ok]] = acc[:, 0::2][ok]
        C[rows[ok], cols[ok] + 1] = acc[:, 1::2][ok]
    if plan_check:
        check_pipeline(KT, stages)
    return C


def _bf16_to_f32(x: np.ndarray) -> np.ndarray:
    return (x.view(np.uint16).astype(np.uint32) << 16).view(np.float32)


# ------------------------------------------------------------------ generated .cu text


def wgmma_operand_macros() -> str:
    """The accumulator operand lists of the wgmma inline asm (128 and 64 registers), as they
    appear verbatim in hgemm_wgmma.cu (the tests check it): %0 .. %(R-1) bound to d[0 .. R-1]
    in order, so register i of the asm is accumulator i of the layout above."""
    out = ["// ---- begin generated: wgmma_model.wgmma_operand_macros() (checked by the tests)"]
    for n in (128, 64):
        regs = [f"%{i}" for i in range(n)]
        rows = [", ".join(regs[i:i + 16]) for i in range(0, n, 16)]
        body = ([f'    "{{{rows[0]}, "'] + [f'    "{r}, "' for r in rows[1:-1]]
                + [f'    "{rows[-1]}}}"'])
        out.append(f"#define WGMMA_D_REGS_{n} \\")
        out += [b + " \\" for b in body[:-1]] + [body[-1]]
        ops = [f'"+f"(d[{i}])' for i in range(n)]
        rows = [", ".join(ops[i:i + 8]) for i in range(0, n, 8)]
        out.append(f"#define WGMMA_D_OPS_{n}(d) \\")
        out += [f"    {r}, \\" for r in rows[:-1]] + [f"    {rows[-1]}"]
    out.append("// ---- end generated")
    return "\n".join(out) + "\n"


def cu_defaults(path: Path = KERNEL) -> dict:
    """The ``#define NAME value`` defaults of the .cu (BN, STAGES, GROUP_M, BM, BK, THREADS),
    read from the source so that TILING / BM / BK above cannot drift from it."""
    text = path.read_text()
    out = {}
    for name in ("BN", "STAGES", "GROUP_M", "BM", "BK", "THREADS"):
        m = re.search(rf"^#define {name} (\d+)\b", text, re.M)
        if m:
            out[name] = int(m.group(1))
    return out
