r"""NumPy model of ``hgemm_wgmma.cu`` (and, below, of its 2:4 twin ``mm24_wgmma.cu``; what the
two share is ``wgmma_common.cuh``, modelled once here): the shared-memory layouts its cp.async
writes produce,
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
HEADER = Path(__file__).resolve().parent / "wgmma_common.cuh"   # shared by both kernels

BM, BK = 128, 64          # BM: the default of the -D macro (128 or 256); BK fixed (dense)
THREADS = 256             # at BM = 128: two warpgroups (threads(bm) in general)
TILING = dict(BM=128, BN=256, STAGES=4, GROUP_M=8)   # defaults of the -D macros
SWIZZLE_128B = 1          # descriptor bits 63-62
SWIZZLE_64B = 2
SWIZZLE_BITS = {1: 3, 2: 2, 3: 1}       # descriptor mode -> log2(16-byte chunks per row)
SWIZZLE_ROW_BYTES = {1: 128, 2: 64, 3: 32}
DESC_MASK14 = 0x3FFF


def threads(bm: int = BM) -> int:
    """``THREADS`` of both kernels: one warpgroup (128 threads) per 64 rows of the CTA tile."""
    return 2 * bm


def tiling(overrides: dict | None = None) -> dict:
    """The kernel's tile macros with ``overrides`` applied and checked (as the .cu asserts).
    Recognised keys: BM (128; 256 with BN 128), BN (128/256), STAGES (>= 3), GROUP_M,
    PROXY_FENCE (0/1), and the diagnostic descriptor strides A_LBO, A_SBO, B_LBO, B_SBO."""
    t = _tiling("hgemm_wgmma", TILING, (), overrides)
    return _check_smem(t, smem_bytes(t["BN"], t["STAGES"], t["BM"]), ("BM", "BN", "STAGES"))


_SHARED_KEYS = ("BM", "BN", "STAGES", "GROUP_M", "PROXY_FENCE", "A_LBO", "A_SBO", "B_LBO",
                "B_SBO")


def _tiling(kernel: str, defaults: dict, more_keys: tuple, overrides: dict | None) -> dict:
    """The macros both kernels share (wgmma_common.cuh's static_asserts on BN and STAGES),
    with ``overrides`` applied and checked; ``more_keys`` are the kernel's own."""
    t = dict(defaults)
    for key, value in (overrides or {}).items():
        if key not in _SHARED_KEYS + more_keys:
            raise ValueError(f"unknown {kernel} tiling key {key!r}")
        t[key] = int(value)
    if t["BN"] not in (128, 256):
        raise ValueError(f"BN must be 128 or 256, got {t['BN']}")
    if t["BM"] not in (128, 256):
        raise ValueError(f"BM must be 128 or 256, got {t['BM']}")
    if t["BM"] == 256 and t["BN"] != 128:
        raise ValueError("BM=256 needs BN=128 (4 warpgroups of 128 threads, at most 128 "
                         "registers a thread, BN/2 of them accumulators)")
    if t["STAGES"] < 3:
        raise ValueError(f"STAGES must be >= 3, got {t['STAGES']}")
    return t


def _check_smem(t: dict, need: int, names: tuple) -> dict:
    if need > 227 * 1024:
        raise ValueError(", ".join(f"{k}={t[k]}" for k in names)
                         + f" needs {need} bytes of shared memory (> 227 KiB)")
    return t


def smem_bytes(bn: int = 256, stages: int = 4, bm: int = BM) -> int:
    """``SMEM_BYTES`` of the kernel: the stages plus 1 KiB to align the base to 1024."""
    return stages * (a_stage_bytes(bm) + BK * bn * 2) + 1024


def strides(a_row_bytes: int = 128, bk: int = BK, **override) -> dict:
    """Descriptor strides (bytes) as the .cu files define them: A_LBO 16 (unused for swizzled
    K-major, "assumed 1"), A_SBO 8 A rows, B_LBO one atom column of bk k rows, B_SBO 8 k rows.
    hgemm_wgmma: 128-byte A rows; mm24_wgmma: bk-byte rows of kept values."""
    s = dict(A_LBO=16, A_SBO=8 * a_row_bytes, B_LBO=bk * 128, B_SBO=1024)
    s.update({k: v for k, v in override.items() if k in s})
    return s


# ------------------------------------------------------------------- shared-memory layout


def swizzle_mode(addr, mode: int = SWIZZLE_128B):
    """The descriptor swizzle ``mode`` on a byte address: bits [4, 4+b) ^= bits [7, 7+b), b = 3
    for 128B (Swizzle<3,4,3>: the chunk index in a 128-byte line XOR the line index mod 8), 2
    for 64B (Swizzle<2,4,3>)."""
    addr = np.asarray(addr, dtype=np.int64)
    b = SWIZZLE_BITS[mode]
    return addr ^ (((addr >> 7) & ((1 << b) - 1)) << 4)


def a_tile_offset(m, k):
    """Byte offset of A element (m, k) in a stage: 128-byte rows, chunk k/8 XOR (m % 8)."""
    m, k = np.asarray(m, np.int64), np.asarray(k, np.int64)
    return m * 128 + ((((k >> 3) ^ m) & 7) << 4) + ((k & 7) << 1)


def b_tile_offset(k, n, bk: int = BK):
    """``b_tile_offset`` of wgmma_common.cuh (both kernels): byte offset of B element (k, n) in
    a stage: atom columns of 64 n, bk rows of 128 bytes each, chunk (n % 64)/8 XOR (k % 8)."""
    k, n = np.asarray(k, np.int64), np.asarray(n, np.int64)
    return (n >> 6) * (bk * 128) + k * 128 + ((((n >> 3) ^ k) & 7) << 4) + ((n & 7) << 1)


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


def a_stage_bytes(bm: int = BM) -> int:
    """``A_STAGE_BYTES`` of hgemm_wgmma.cu: bm rows of BK halves."""
    return bm * BK * 2


A_STAGE_BYTES = a_stage_bytes(BM)


def b_stage_bytes(bn: int = 256, bk: int = BK) -> int:
    return bk * bn * 2


def _desc_a(sA, stage, wg, kk, a_row_bytes, a_stage_bytes, mode, bk, override) -> int:
    """``desc_a`` of wgmma_common.cuh: rows 64 wg .. of stage ``stage``, step kk 32 kk bytes
    into the swizzled rows (16 halves per instruction, dense or kept)."""
    s = strides(a_row_bytes, bk, **override)
    return make_desc(sA + stage * a_stage_bytes + wg * 64 * a_row_bytes + kk * 32, s["A_LBO"],
                     s["A_SBO"], swizzle=mode)


def desc_a(sA: int, stage: int, wg: int, kk: int, bn: int = 256, bm: int = BM,
           **override) -> int:
    """``desc_a`` for hgemm_wgmma.cu (128-byte A rows, 128B swizzle): k16 step ``kk``."""
    return _desc_a(sA, stage, wg, kk, 128, a_stage_bytes(bm), SWIZZLE_128B, BK, override)


def desc_b(sB: int, stage: int, kk: int, bn: int = 256, bk: int = BK, mma_k: int = 16,
           **override) -> int:
    """``desc_b`` of wgmma_common.cuh: all bn columns of stage ``stage``, k rows mma_k kk ..
    (mma_k: 16 for hgemm_wgmma's k16 steps, 32 for mm24_wgmma's k32 steps)."""
    s = strides(bk=bk, **override)
    return make_desc(sB + stage * b_stage_bytes(bn, bk) + kk * mma_k * 128, s["B_LBO"],
                     s["B_SBO"])


def desc_element_address(desc: int, major: str, mn, k, variant: str = "isa", mma_k: int = 16):
    """Byte address the hardware reads for operand element (mn, k) of one wgmma through
    ``desc``, per the ISA canonical layouts (module docstring), for the swizzle modes 128B and
    64B. ``major`` is "K" (K-major A: mn = row, k < 16 -- 16 halves, or 16 kept values of a
    sparse m64nNk32) or "MN" (MN-major B: mn = column, k < mma_k: 16 for a dense k16
    instruction, 32 for a sparse k32 one). ``variant`` = "isa" (our reading) or a misreading
    used to diagnose a wrong GPU result: "mn_swapped" (LBO and SBO roles exchanged for
    MN-major), "no_swizzle" (neither operand swizzled), "a_no_swizzle" (A not swizzled),
    "a_swizzle128" (A's mode read as 128B with its row width)."""
    d = decode_desc(desc)
    if d["reserved"]:
        raise ValueError(f"descriptor {desc:#x} sets reserved bits")
    if d["swizzle"] not in (SWIZZLE_128B, SWIZZLE_64B):
        raise NotImplementedError("model covers the 128B and 64B swizzle modes only")
    if d["base_offset"] != 0:
        raise NotImplementedError("model covers base offset 0 (pattern-aligned) only")
    mode = d["swizzle"]
    mn, k = np.asarray(mn, np.int64), np.asarray(k, np.int64)
    if major == "K":
        if np.any(k < 0) or np.any(k >= 16):
            raise ValueError("one wgmma instruction reads 16 (kept) values of each A row")
        if variant == "a_swizzle128":
            mode = SWIZZLE_128B
        w = SWIZZLE_ROW_BYTES[mode]
        off = (mn % 8) * w + (mn // 8) * d["sbo"] + 2 * k
        no_swz = variant in ("no_swizzle", "a_no_swizzle")
    elif major == "MN":
        if np.any(k < 0) or np.any(k >= mma_k):
            raise ValueError(f"one wgmma instruction reads k = 0 .. {mma_k - 1} of B")
        w = SWIZZLE_ROW_BYTES[mode]
        lbo, sbo = (d["sbo"], d["lbo"]) if variant == "mn_swapped" else (d["lbo"], d["sbo"])
        off = (mn % (w // 2)) * 2 + (mn // (w // 2)) * lbo + (k % 8) * w + (k // 8) * sbo
        no_swz = variant == "no_swizzle"
    else:
        raise ValueError(f"major must be 'K' or 'MN', got {major!r}")
    addr = d["start"] + off
    return addr if no_swz else swizzle_mode(addr, mode)


def read_operand(smem: np.ndarray, desc: int, major: str, rows: int, variant: str = "isa",
                 mma_k: int = 16):
    """The operand one wgmma reads through ``desc`` from ``smem`` (a uint8 array = the CTA's
    shared window), uint16 bits: A (rows x 16) for major "K", B (mma_k x rows) for "MN"."""
    kext = 16 if major == "K" else mma_k
    mn, k = np.meshgrid(np.arange(rows), np.arange(kext), indexing="ij")
    addr = desc_element_address(desc, major, mn, k, variant, mma_k)
    if np.any(addr % 2) or np.any(addr < 0) or np.any(addr + 2 > smem.size):
        raise IndexError("descriptor addresses outside shared memory or misaligned")
    halves = smem.view(np.uint16)[addr // 2]
    return halves if major == "K" else halves.T


# ------------------------------------------------------------------------- accumulators


def acc_row(tid, i):
    """Row (0 .. BM-1) of the CTA tile held by accumulator register i of thread tid (ISA figure
    "WGMMA .m64nNk16 register fragment layout for accumulator matrix D", warpgroup tid // 128
    on rows 64 (tid // 128) ..)."""
    tid, i = np.asarray(tid), np.asarray(i)
    warpgroup, warp, lane = tid // 128, (tid % 128) // 32, tid % 32
    return warpgroup * 64 + warp * 16 + lane // 4 + 8 * ((i // 2) % 2)


def acc_col(tid, i):
    tid, i = np.asarray(tid), np.asarray(i)
    return (i // 4) * 8 + 2 * (tid % 4) + i % 2


def wgmma_m64nNk16(acc: np.ndarray, A: np.ndarray, B: np.ndarray, wg: int) -> None:
    """``acc[tid, i]`` (THREADS threads x N/2 registers, fp32) += A (64 x 16) B (16 x N) for the
    128 threads of warpgroup ``wg``, through the accumulator layout."""
    n = B.shape[1]
    D = A.astype(np.float32) @ B.astype(np.float32)
    tid = np.arange(128 * wg, 128 * wg + 128)[:, None]
    i = np.arange(n // 2)[None, :]
    acc[128 * wg:128 * wg + 128] += D[acc_row(tid, i) - 64 * wg, acc_col(tid, i)]


# ---------------------------------------------------------------------------- copy plan


def _chunk_plan(n_rows: int, chunks: int, row_bytes: int, offset, n_threads: int = THREADS):
    """a_copy_* / b_copy_* of wgmma_common.cuh for a tile of ``n_rows`` rows of ``chunks``
    16-byte chunks: round it of thread tid copies chunk tid % chunks of row tid / chunks +
    it * rpi (rpi = THREADS / chunks) to ``offset(row, col)``, written as the .cu does: the
    first round's destination + it * rpi * row_bytes."""
    rpi = n_threads // chunks
    tid = np.arange(n_threads)[:, None]
    it = np.arange(n_rows // rpi)[None, :]
    plan = dict(row=tid // chunks + it * rpi,
                col=np.broadcast_to(tid % chunks * 8, (n_threads, it.shape[1])))
    plan["dst"] = offset(tid // chunks, tid % chunks * 8) + it * (rpi * row_bytes)
    return plan


def copy_plan(bn: int = 256, bm: int = BM):
    """hgemm_wgmma.cu's a_copy_* / b_copy_* for every thread and round: dicts of arrays
    (tid, it) -> row, col (elements of the tile) and dst (byte offset in the stage)."""
    n = threads(bm)
    return (_chunk_plan(bm, BK // 8, 128, a_tile_offset, n),
            _chunk_plan(BK, bn // 8, 128, b_tile_offset, n))


def bank_conflicts(dst: np.ndarray) -> int:
    """Worst conflict degree of the cp.async writes: each warp's 32 x 16-byte stores go in 4
    phases of 8 threads; a phase is conflict-free when its 8 chunks sit in 8 different
    16-byte bank groups."""
    worst = 1
    for it in range(dst.shape[1]):
        groups = (dst[:, it] // 16) % 8
        for start in range(0, dst.shape[0], 8):
            worst = max(worst, 8 - len(set(groups[start:start + 8].tolist())) + 1)
    return worst


def fill_stage(smem: np.ndarray, sA: int, sB: int, stage: int, A: np.ndarray, B: np.ndarray,
               m0: int, n0: int, kt: int, bn: int = 256, bm: int = BM) -> None:
    """Replay the kernel's ``load_stage``: every cp.async chunk of tile kt, zero-filled where
    the source is out of range (src-size 0), into the uint8 shared window ``smem``."""
    a, b = copy_plan(bn, bm)
    _cp_async(smem, a, A, sA + stage * a_stage_bytes(bm), m0 + a["row"], kt * BK + a["col"])
    _cp_async(smem, b, B, sB + stage * b_stage_bytes(bn), kt * BK + b["row"], n0 + b["col"])


def _cp_async(smem: np.ndarray, plan: dict, src: np.ndarray, base: int, rows, cols) -> None:
    """``AbCopy::load`` (wgmma_common.cuh) for one operand: the 16-byte chunk of ``src`` at
    (rows, cols) of every (thread, round) of ``plan`` to ``base + dst``, zero-filled where
    the chunk is outside ``src`` (cp.async src-size 0)."""
    h = smem.view(np.uint16)
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


def pipeline_schedule(KT: int, stages: int = 4, metadata: bool = False) -> list[tuple]:
    """The kernels' main loop (``wgmma_mainloop`` of wgmma_common.cuh and the prologues) as
    events, for the hazard checks: ("load", tile, stage), ("commit",), ("wait_cp", n),
    ("fence_proxy",), ("barrier",), ("mma", tile, stage), ("mma_commit",), ("wait_mma", n) --
    in program order (every thread runs the same sequence). ``metadata``: mm24_wgmma.cu's
    schedule, which adds the metadata copies ("load_e", tile, stage) -- one tile ahead of A/B
    -- and register loads ("read_e", tile, stage); its prologue waits and syncs once so that
    tile 0's metadata can be read."""
    ev = []
    if metadata and KT > 0:
        ev.append(("load_e", 0, 0))
    for s in range(stages - 2):
        if s < KT:
            ev.append(("load", s, s))
        if metadata and s + 1 < KT:
            ev.append(("load_e", s + 1, s + 1))
        ev.append(("commit",))
    if metadata:
        ev += [("wait_cp", stages - 3), ("barrier",)]
        if KT > 0:
            ev.append(("read_e", 0, 0))
    rd, wr = 0, stages - 2
    for kt in range(KT):
        ev += [("wait_cp", stages - 3), ("fence_proxy",), ("barrier",)]
        ev += [("mma", kt, rd), ("mma_commit",)]
        nxt = kt + stages - 2
        if nxt < KT:
            ev.append(("load", nxt, wr))
        wr_next = 0 if wr + 1 == stages else wr + 1
        if metadata and nxt + 1 < KT:
            ev.append(("load_e", nxt + 1, wr_next))
        ev += [("commit",), ("wait_mma", 1)]
        rd = 0 if rd + 1 == stages else rd + 1
        wr = wr_next
        if metadata and kt + 1 < KT:  # (the kernel also reads a stale stage after the last tile)
            ev.append(("read_e", kt + 1, rd))
    ev.append(("wait_mma", 0))
    return ev


def check_pipeline(KT: int, stages: int = 4, metadata: bool = False) -> None:
    """Replay ``pipeline_schedule`` with the PTX semantics of ``cp.async.wait_group N`` (all but
    the newest N of this thread's committed groups are complete) and ``wgmma.wait_group N``
    (all but the newest N of this warpgroup's wgmma groups are complete), in the worst case
    (nothing completes before a wait forces it). All warpgroups (2 or 4) run the same sequence
    and meet only at barriers, so a fact about *another* warpgroup (its copies landed, its
    wgmmas finished) is known only as of the last barrier. Raises AssertionError on a wgmma
    reading a stage before every thread's copy of its tile is complete, fenced and behind a
    barrier, or on a refill of a stage that a wgmma of either warpgroup may still read.
    ``metadata`` (mm24_wgmma): also a register load of tile t's metadata must come after every
    thread's copy of it landed and passed a barrier (ld.shared: no proxy fence needed), the
    wgmma of tile t must use the registers loaded for t, and a metadata area may be refilled
    only after every thread's register load of its previous tile is behind a barrier."""
    stage_tile: dict[int, int] = {}   # stage -> tile written there last
    e_stage_tile: dict[int, int] = {}  # metadata area -> tile written there last
    open_group: list = []             # ("ab" | "e", tile) copies since the last commit
    pending_cp: list = []             # committed cp.async groups not known complete
    landed_self, fenced_self, landed_all = set(), set(), set()  # this thread / everyone
    mma_groups: list[int] = []        # tiles of this warpgroup's uncompleted wgmma groups
    mma_done_self: set[int] = set()
    mma_done_all: set[int] = set()    # complete in every warpgroup, as of the last barrier
    e_read_self: set[int] = set()
    e_read_all: set[int] = set()
    regs_tile = None
    for e in pipeline_schedule(KT, stages, metadata):
        kind = e[0]
        if kind == "load":
            _, tile, stage = e
            prev = stage_tile.get(stage)
            assert prev is None or prev in mma_done_all, \
                f"tile {tile} refills stage {stage} while tile {prev}'s wgmma may still read it"
            stage_tile[stage] = tile
            open_group.append(("ab", tile))
        elif kind == "load_e":
            _, tile, stage = e
            prev = e_stage_tile.get(stage)
            assert prev is None or prev in e_read_all, \
                f"metadata of tile {tile} refills area {stage} before tile {prev}'s was read"
            e_stage_tile[stage] = tile
            open_group.append(("e", tile))
        elif kind == "commit":
            pending_cp.append(open_group)
            open_group = []
        elif kind == "wait_cp":
            while len(pending_cp) > e[1]:
                landed_self.update(pending_cp.pop(0))
        elif kind == "fence_proxy":
            fenced_self |= {x for x in landed_self if x[0] == "ab"}
        elif kind == "barrier":
            landed_all |= fenced_self | {x for x in landed_self if x[0] == "e"}
            mma_done_all |= mma_done_self
            e_read_all |= e_read_self
        elif kind == "read_e":
            _, tile, stage = e
            assert ("e", tile) in landed_all, f"metadata of tile {tile} read before it landed"
            assert e_stage_tile.get(stage) == tile, f"area {stage} does not hold tile {tile}"
            e_read_self.add(tile)
            regs_tile = tile
        elif kind == "mma":
            _, tile, stage = e
            assert ("ab", tile) in landed_all, f"wgmma reads tile {tile} before every copy landed"
            assert stage_tile.get(stage) == tile, f"stage {stage} does not hold tile {tile}"
            if metadata:
                assert regs_tile == tile, f"wgmma of tile {tile} with metadata of tile {regs_tile}"
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
    bm, bn, stages = t["BM"], t["BN"], t["STAGES"]
    override = {k: t[k] for k in ("A_LBO", "A_SBO", "B_LBO", "B_SBO") if k in t}
    M, K = A.shape
    N = B.shape[1]
    if K % 8 or N % 8:
        raise ValueError("the kernel's contract: K % 8 == 0 and N % 8 == 0 (launcher pads)")
    if A.dtype.itemsize != 2 or B.dtype.itemsize != 2:
        raise TypeError("A and B must be 16-bit floats")
    to_f32 = _to_f32(A.dtype)
    smem = np.zeros(smem_bytes(bn, stages, bm), np.uint8)   # base 0 is 1024-aligned
    sA, sB = 0, stages * a_stage_bytes(bm)
    KT = -(-K // BK)

    def k_tile(acc, m0, n0, kt):
        stage = kt % stages
        fill_stage(smem, sA, sB, stage, A, B, m0, n0, kt, bn, bm)
        for wg in range(bm // 64):
            for kk in range(BK // 16):
                a_bits = read_operand(smem, desc_a(sA, stage, wg, kk, bn, bm, **override), "K",
                                      64, variant)
                b_bits = read_operand(smem, desc_b(sB, stage, kk, bn, **override), "MN", bn,
                                      variant)
                wgmma_m64nNk16(acc, to_f32(a_bits.view(A.dtype)), to_f32(b_bits.view(B.dtype)),
                               wg)

    C = replay_ctas(M, N, KT, t, smem, k_tile, out_dtype)
    if plan_check:
        check_pipeline(KT, stages)
    return C


def replay_ctas(M: int, N: int, KT: int, t: dict, smem: np.ndarray, k_tile,
                out_dtype=np.float32) -> np.ndarray:
    """The CTA loop both kernels share: every CTA in grouped tile order (``cta_origin``), its
    KT k tiles through ``k_tile(acc, m0, n0, kt)`` (the kernel's copies and wgmmas into
    acc[tid, register]), then ``store_tile``'s masked epilogue (registers i, i+1 -> columns
    c, c+1). The shared window is filled with 0xFF (NaN halves, illegal metadata) per CTA so
    that a read of an unwritten byte shows up; unwritten outputs stay NaN."""
    bm, bn = t["BM"], t["BN"]
    C = np.full((M, N), np.nan, dtype=out_dtype)
    tiles_m, tiles_n = -(-M // bm), -(-N // bn)
    tid = np.arange(threads(bm))[:, None]
    i = np.arange(0, bn // 2, 2)[None, :]
    for pid in range(tiles_m * tiles_n):
        tm, tn = tile_coords(pid, tiles_m, tiles_n, t["GROUP_M"])
        m0, n0 = tm * bm, tn * bn
        acc = np.zeros((threads(bm), bn // 2), np.float32)
        smem[:] = 0xFF
        for kt in range(KT):
            k_tile(acc, m0, n0, kt)
        rows, cols = m0 + acc_row(tid, i), n0 + acc_col(tid, i)
        ok = (rows < M) & (cols < N)
        C[rows[ok], cols[ok]] = acc[:, 0::2][ok]
        C[rows[ok], cols[ok] + 1] = acc[:, 1::2][ok]
    return C


def _to_f32(dtype):
    """16-bit float array -> float32 (float16 by NumPy, bfloat16 from its bits)."""
    return (lambda x: x.astype(np.float32)) if dtype == np.float16 else _bf16_to_f32


def _bf16_to_f32(x: np.ndarray) -> np.ndarray:
    return (x.view(np.uint16).astype(np.uint32) << 16).view(np.float32)


# ------------------------------------------------------------------ generated .cu text


def wgmma_operand_macros() -> str:
    """The accumulator operand lists of the wgmma inline asm, as they appear verbatim in
    wgmma_common.cuh (the tests check it): registers %0 .. %63 (LO) and %64 .. %127 (HI) bound
    to d[0 .. 127] in order, composed into the 64- and 128-register lists, so register i of
    the asm is accumulator i of the layout above."""
    out = ["// ---- begin generated: wgmma_model.wgmma_operand_macros() (checked by the tests)"]
    for half, lo in (("LO", 0), ("HI", 64)):
        regs = [f"%{i}" for i in range(lo, lo + 64)]
        rows = [", ".join(regs[i:i + 16]) for i in range(0, 64, 16)]
        out.append(f"#define WGMMA_D_REGS_{half} \\")
        out += [f'    "{r}, " \\' for r in rows[:-1]] + [f'    "{rows[-1]}"']
    for half, lo in (("LO", 0), ("HI", 64)):
        ops = [f'"+f"(d[{i}])' for i in range(lo, lo + 64)]
        rows = [", ".join(ops[i:i + 8]) for i in range(0, 64, 8)]
        out.append(f"#define WGMMA_D_OPS_{half}(d) \\")
        out += [f"    {r}, \\" for r in rows[:-1]] + [f"    {rows[-1]}"]
    out += ['#define WGMMA_D_REGS_64 "{" WGMMA_D_REGS_LO "}"',
            '#define WGMMA_D_REGS_128 "{" WGMMA_D_REGS_LO ", " WGMMA_D_REGS_HI "}"',
            "#define WGMMA_D_OPS_64(d) WGMMA_D_OPS_LO(d)",
            "#define WGMMA_D_OPS_128(d) WGMMA_D_OPS_LO(d), WGMMA_D_OPS_HI(d)",
            "// ---- end generated"]
    return "\n".join(out) + "\n"


def cu_defaults(path: Path = KERNEL) -> dict:
    """The ``#define NAME value`` defaults of a .cu file (BN, STAGES, GROUP_M, BM, BK), read
    from the source so that TILING / SP_TILING / BM / BK here cannot drift from it (THREADS is
    ``2 * BM`` in both files: ``threads``)."""
    text = path.read_text()
    out = {}
    for name in ("BN", "STAGES", "GROUP_M", "BM", "BK"):
        m = re.search(rf"^#define {name} (\d+)\b", text, re.M)
        if m:
            out[name] = int(m.group(1))
    return out


# =====================================================================================
# 2:4 sparse twin: mm24_wgmma.cu (wgmma.mma_async.sp m64nNk32, same CTA tiling)
# =====================================================================================
r"""What the PTX ISA says about sparse wgmma (ISA 8.x/9.x, section 9.7.15.6 "Asynchronous
Warpgroup Level Multiply-and-Accumulate Operation using wgmma.mma_async.sp instruction"), and
what the model below takes from it:

* 9.7.15.6: "For an MxNxK sparse wgmma.mma_async.sp operation, the MxK matrix A is packed into
  MxK/2 elements. For each K-wide row of matrix A, 50% elements are zeros and the remaining
  K/2 non-zero elements are packed in the operand representing matrix A." -- the compressed
  A (compress_24's ``values``) sits in shared memory in the ordinary canonical K-major layout
  of an M x K/2 matrix: one m64nNk32 instruction reads 64 rows x 16 kept halves (32 bytes a
  row) through its descriptor, exactly the A footprint of a dense k16 instruction. (CUTLASS:
  ``Layout_K_SW64_SpAtom`` = the dense SW64 K-major atom of the packed values.)
* 9.7.15.6.1 "Sparse matrix storage": "Values 0b0000, 0b0101, 0b1010, 0b1111 are invalid values
  for metadata and will result in undefined behavior. In a group of four consecutive threads,
  one or more threads store the metadata for the whole group depending upon the matrix shape.
  ... For .f16 and .bf16 types, for all supported 64xNx32 shapes, matrix A is structured sparse
  at a granularity of 2:4 ... their positions in the four-wide chunk in Matrix A are indicated
  by two 2-bits indices in the metadata operand. ... The sparsity selector indicates a
  thread-pair within a group of four consecutive threads which contributes the sparsity
  metadata. Hence, the sparsity selector must be either 0 (threads T0, T1) or 1 (threads T2,
  T3); any other value results in an undefined behavior."
* 9.7.15.6.2 "Matrix fragments for warpgroup-level multiply-accumulate operation with sparse
  matrix A": "Each warp in the warpgroup provides sparsity information for 16 rows of matrix A"
  (%warpid % 4 = w: rows 16w .. 16w+15); 9.7.15.6.2.1 (m64nNk32): "Metadata operand is a .b32
  register containing 16 2-bit vectors each storing the index of a non-zero element of a
  4-wide chunk of matrix A. Figure 176 shows the mapping of the metadata bits to the elements
  of matrix A for a warp. In this figure, variable i represents the value of the sparsity
  selector operand." Figure 176 is the image of mma.sp m16n8k32's Figure "Sparse MMA .m16n8k32
  metadata layout for .f16/.bf16", whose reading mm24.cu uses and an H100 run confirmed (README
  "Measured"): thread 4g + 2i + u (u = 0, 1) covers columns 16u .. 16u+15, bits [15:0] row g,
  [31:16] row g + 8, one nibble per 4-wide chunk in increasing column order, nibble =
  (i1 << 2) | i0 (first kept value at position i0, second at i1). CUTLASS's
  ``SM90::GMMA::ELayout_64x32`` (thread shape (2,2,8,4) : (1024,0,1,16), value shape (16,2) :
  (64,8) over the 64 x 32 block, 8 logical elements per byte) is the same map, with threads
  T2/T3 at stride 0 (the other selector). ``sp_cutlass_elayout_64x32`` transcribes it; the
  tests check it against ``sp_meta_lane_map``.
* 9.7.15.6.2.1: "Matrix fragments for accumulator D are the same as in case of Matrix Fragments
  for wgmma.mma_async.m64nNk32 for the same .dtype format" -- acc_row / acc_col above.
* 9.7.15.6.3 syntax: ``wgmma.mma_async.sp.sync.aligned.shape.dtype.f16.f16 d, a-desc, b-desc,
  sp-meta, sp-sel, scale-d, imm-scale-a, imm-scale-b, imm-trans-a, imm-trans-b;``.
* The descriptor "Matrix Descriptor Format" (above): swizzle mode 2 = 64-byte swizzle, whose
  pattern repeats every 512 bytes (base offset 0 when the pattern starts on a 512-byte
  boundary); canonical K-major 64B layout Swizzle<2,4,3> o ((8,m),(T,2k)) : ((4T,SBO),(1,T)):
  row r at (r % 8) * 64 + (r // 8) * SBO bytes, XOR of address bits [4,6) with bits [7,9).

What only a GPU can show: that the hardware reads these addresses and metadata bits; the
misreading variants (``SP_VARIANTS``, ``SP_META_VARIANTS``) let the one-tile GPU test name the
one that reproduces a wrong result.
"""

SP_KERNEL = Path(__file__).resolve().parent / "mm24_wgmma.cu"
SP_TILING = dict(BM=128, BN=256, BK=64, STAGES=4, GROUP_M=8)   # defaults of the -D macros
SP_VARIANTS = ("isa", "mn_swapped", "no_swizzle", "a_no_swizzle", "a_swizzle128")
SP_META_VARIANTS = ("isa", "nibble_swapped", "halves_swapped", "lane_rows")
SP_META_PAD_WORD = 0x84ED9C84  # legal nibbles 4 8 C 9 D E 4 8 (the peak kernel's metadata)


def sp_tiling(overrides: dict | None = None) -> dict:
    """mm24_wgmma.cu's tile macros with ``overrides`` applied and checked (as the .cu asserts).
    Keys: BM (128; 256 with BN 128), BN (128/256), BK (64/128), STAGES (>= 3), GROUP_M,
    PROXY_FENCE (0/1), SP_SEL (0/1),
    META_REGS (2, the default: two metadata register sets alternating by k tile; 1: one),
    META_WAIT0 (0/1:
    wgmma.wait_group 0 before the metadata registers are rewritten; default 1 with one set,
    0 with two), and the diagnostic descriptor strides A_LBO, A_SBO, B_LBO, B_SBO."""
    t = _tiling("mm24_wgmma", SP_TILING, ("BK", "SP_SEL", "META_WAIT0", "META_REGS"),
                overrides)
    if t.get("META_REGS", 2) not in (1, 2):
        raise ValueError("META_REGS (metadata register sets) must be 1 or 2")
    if t["BK"] not in (64, 128):
        raise ValueError(f"BK must be 64 or 128, got {t['BK']}")
    if t.get("SP_SEL", 0) not in (0, 1):
        raise ValueError("SP_SEL (sparsity selector) must be 0 or 1")
    return _check_smem(t, sp_smem_bytes(t["BN"], t["BK"], t["STAGES"], t["BM"]),
                       ("BM", "BN", "BK", "STAGES"))


def sp_a_stage_bytes(bk: int = 64, bm: int = BM) -> int:
    return bm * bk                       # bm rows x bk/2 kept halves


sp_b_stage_bytes = b_stage_bytes   # B is hgemm_wgmma's (wgmma_common.cuh), at mm24's bk


def sp_e_stage_words(bk: int = 64, bm: int = BM) -> int:
    return bm // 16 * (bk // 32) * 16


def sp_smem_bytes(bn: int = 256, bk: int = 64, stages: int = 4, bm: int = BM) -> int:
    """``SMEM_BYTES`` of mm24_wgmma.cu: A, B and metadata stages plus the 1 KiB alignment pad."""
    per_stage = (sp_a_stage_bytes(bk, bm) + sp_b_stage_bytes(bn, bk)
                 + 4 * sp_e_stage_words(bk, bm))
    return stages * per_stage + 1024


def sp_a_mode(bk: int) -> int:
    """Descriptor swizzle mode of A: 64-byte rows (bk 64) -> 64B (2), 128-byte rows -> 128B (1)."""
    return 1 if bk == 128 else SWIZZLE_64B


def sp_a_tile_offset(m, c, bk: int = 64):
    """Byte offset of kept value (m, c) (c < bk/2) of the A stage: rows of bk bytes, swizzled."""
    m, c = np.asarray(m, np.int64), np.asarray(c, np.int64)
    return swizzle_mode(m * bk + 2 * c, sp_a_mode(bk))




def sp_desc_a(sA: int, stage: int, wg: int, kk: int, bn: int = 256, bk: int = 64,
              bm: int = BM, **override) -> int:
    """``desc_a`` for mm24_wgmma.cu: rows 64 wg .., kept values 16 kk .. of stage ``stage``
    (bk-byte rows, 64B swizzle at bk 64, 128B at bk 128)."""
    return _desc_a(sA, stage, wg, kk, bk, sp_a_stage_bytes(bk, bm), sp_a_mode(bk), bk,
                   override)


def sp_desc_b(sB: int, stage: int, kk: int, bn: int = 256, bk: int = 64, **override) -> int:
    """``desc_b`` for mm24_wgmma.cu: all bn columns, k rows 32 kk .. (k32 steps)."""
    return desc_b(sB, stage, kk, bn, bk, 32, **override)


# ------------------------------------------------------------------------- metadata


def sp_meta_lane_map(selector: int = 0, variant: str = "isa"):
    """Which metadata bits describe which (row, 4-wide chunk) of the 64 x 32 A of one
    m64nNk32: list of (thread 0..127, bit shift, row 0..63, chunk 0..7) for every nibble the
    instruction reads (ISA Figure 176 per warp, warps stacked by 16 rows; threads 4g + 2
    selector + u). Variants: "halves_swapped" (row g + 8 in bits 0-15), "lane_rows" (thread
    4g + 2s holds row g for all 8 chunks, 4g + 2s + 1 row g + 8)."""
    out = []
    for tid in range(128):
        w, lane = tid // 32, tid % 32
        g, t = lane // 4, lane % 4
        u = t - 2 * selector
        if u not in (0, 1):
            continue
        for h in range(2):
            for j in range(4):
                if variant == "lane_rows":
                    row, chunk = 16 * w + g + 8 * u, 4 * h + j
                else:
                    hh = 1 - h if variant == "halves_swapped" else h
                    row, chunk = 16 * w + g + 8 * hh, 4 * u + j
                out.append((tid, 16 * h + 4 * j, row, chunk))
    return out


def sp_cutlass_elayout_64x32():
    """CUTLASS ``SM90::GMMA::ELayout_64x32`` transcribed: (thread, value) -> (row m, k) of the
    64 x 32 logical A, for value v = v0 + 16 v1 (v0 < 16, v1 < 2); 8 logical elements per
    metadata byte, so value v sits in nibble v // 4 of the thread's 32-bit register.
    Layout<Shape<Shape<_2,_2,_8,_4>, Shape<_16,_2>>, Stride<Stride<_1024,_0,_1,_16>,
    Stride<_64,_8>>>, index = m + 64 k."""
    thr = {}
    for tid in range(128):
        t0, t1, t2, t3 = tid % 2, (tid // 2) % 2, (tid // 4) % 8, tid // 32
        base = 1024 * t0 + 0 * t1 + 1 * t2 + 16 * t3
        vals = []
        for v1 in range(2):
            for v0 in range(16):
                idx = base + 64 * v0 + 8 * v1
                vals.append((idx % 64, idx // 64))
        thr[tid] = vals
    return thr


def sp_meta_positions(e_regs, selector: int = 0, variant: str = "isa"):
    """Decode the 128 metadata registers of one warpgroup (uint32[128]) into the kept positions
    (i0, i1), each int[64, 8] (row, chunk), per ``sp_meta_lane_map``. "nibble_swapped" reads
    the first kept value's index from bits [3:2] instead of [1:0]. Raises ValueError on an
    invalid nibble (i0 == i1: 0b0000, 0b0101, 0b1010, 0b1111) or an uncovered chunk."""
    e_regs = np.asarray(e_regs, dtype=np.uint32)
    i0 = np.full((64, 8), -1, np.int64)
    i1 = np.full((64, 8), -1, np.int64)
    for tid, shift, row, chunk in sp_meta_lane_map(selector, "isa" if variant == "nibble_swapped"
                                                   else variant):
        nib = (int(e_regs[tid]) >> shift) & 0xF
        a, b = nib & 3, nib >> 2
        if variant == "nibble_swapped":
            a, b = b, a
        if a == b:
            raise ValueError(f"invalid 2:4 metadata nibble {nib:#06b} (thread {tid}, row {row})")
        i0[row, chunk], i1[row, chunk] = a, b
    if (i0 < 0).any():
        raise ValueError("metadata does not cover every chunk")
    return i0, i1


def sp_expand_a(kept: np.ndarray, i0: np.ndarray, i1: np.ndarray) -> np.ndarray:
    """Logical 64 x 32 A (float32) from the 64 x 16 kept values and the kept positions: kept
    value 2G goes to position i0 of chunk G, 2G + 1 to i1."""
    A = np.zeros((64, 32), np.float32)
    rows = np.arange(64)[:, None]
    G = np.arange(8)[None, :]
    A[rows, 4 * G + i0] = kept[:, 0::2]
    A[rows, 4 * G + i1] = kept[:, 1::2]
    return A


# ---------------------------------------------------------------- copy plan, registers


def sp_copy_plan(bn: int = 256, bk: int = 64, bm: int = BM):
    """mm24_wgmma.cu's a_copy_* / b_copy_* (wgmma_common.cuh's, with bk/16 chunks of kept
    values per A row) and e_copy_* for every thread and round."""
    n = threads(bm)
    a = _chunk_plan(bm, bk // 16, bk, lambda m, c: sp_a_tile_offset(m, c, bk), n)
    b = _chunk_plan(bk, bn // 8, 128, lambda k, n: b_tile_offset(k, n, bk), n)
    ksteps = bk // 32
    n_e = sp_e_stage_words(bk, bm) // 4
    t = np.arange(n_e)
    e = dict(tid=t, mt=t // (4 * ksteps), ks=t // 4 % ksteps, word=4 * (t % 4), dst=16 * t)
    return a, b, e


def sp_e_copy_src(tid, m0: int, kt: int, MT: int, KS: int, bk: int = 64):
    """``e_copy_src``: global metadata word (flat index into uint32[MT][KS][16]) of chunk tid."""
    tid = np.asarray(tid, np.int64)
    ksteps = bk // 32
    mt = np.minimum(m0 // 16 + tid // (4 * ksteps), MT - 1)
    ks = np.minimum(kt * ksteps + tid // 4 % ksteps, KS - 1)
    return (mt * KS + ks) * 16 + 4 * (tid % 4)


def sp_e_read_word(tid, kk, bk: int = 64):
    """``e_read_word``: the word of the stage's metadata area thread tid passes in step kk."""
    tid, kk = np.asarray(tid, np.int64), np.asarray(kk, np.int64)
    return ((tid >> 5) * (bk // 32) + kk) * 16 + 2 * ((tid & 31) >> 2) + (tid & 1)


def sp_fill_stage(smem, sA, sB, sE, stage, V, Eflat, B, m0, n0, kt, MT, KS, bn=256, bk=64,
                  what="abe", e_tile=None, bm=BM):
    """Replay load_ab / load_e of mm24_wgmma.cu for tile kt into the uint8 window ``smem``:
    cp.async chunks, zero-filled out of range (A, B), metadata always copied (clamped)."""
    a, b, e = sp_copy_plan(bn, bk, bm)
    if "a" in what:
        _cp_async(smem, a, V, sA + stage * sp_a_stage_bytes(bk, bm), m0 + a["row"],
                  kt * (bk // 2) + a["col"])
    if "b" in what:
        _cp_async(smem, b, B, sB + stage * b_stage_bytes(bn, bk), kt * bk + b["row"],
                  n0 + b["col"])
    if "e" in what:
        words = smem.view(np.uint32)
        src = sp_e_copy_src(e["tid"], m0, kt, MT, KS, bk)
        dst = (sE + stage * 4 * sp_e_stage_words(bk, bm) + e["dst"]) // 4
        words[dst[:, None] + np.arange(4)] = Eflat[src[:, None] + np.arange(4)]


# ----------------------------------------------------------------------- kernel replay
# (the schedule and its hazard check: pipeline_schedule / check_pipeline with metadata=True)


def simulate_mm24_wgmma(values: np.ndarray, metadata: np.ndarray, B: np.ndarray,
                        out_dtype=np.float32, tile: dict | None = None, variant: str = "isa",
                        meta_variant: str = "isa", plan_check: bool = True) -> np.ndarray:
    """Run ``mm24_wgmma.cu`` in NumPy on compress_24 output (``values`` M x Kp/2, ``metadata``
    (ceil(M/16), Kp/32, 16) uint32) and B (K x N, N % 8 == 0): CTA order, cp.async plans into
    a byte-exact shared window (A, B, metadata one tile ahead), descriptors through the ISA
    address model (``variant``), metadata registers decoded per the ISA figure
    (``meta_variant``), fp32 accumulation in the accumulator layout, masked epilogue.
    Unwritten outputs stay NaN."""
    t = sp_tiling(tile)
    bm, bn, bk, stages = t["BM"], t["BN"], t["BK"], t["STAGES"]
    sel = t.get("SP_SEL", 0)
    override = {k: t[k] for k in ("A_LBO", "A_SBO", "B_LBO", "B_SBO") if k in t}
    M, KC = values.shape
    Kp = 2 * KC
    K, N = B.shape
    if N % 8 or Kp % 32 or Kp != -(-K // 32) * 32:
        raise ValueError("contract: N % 8 == 0, values.shape[1] == round_up(K, 32) / 2")
    if values.dtype.itemsize != 2 or B.dtype.itemsize != 2:
        raise TypeError("values and B must be 16-bit floats")
    to_f32 = _to_f32(values.dtype)
    MT, KS = -(-M // 16), Kp // 32
    Eflat = np.ascontiguousarray(metadata, dtype=np.uint32).reshape(-1)
    a_sz, b_sz = sp_a_stage_bytes(bk, bm), b_stage_bytes(bn, bk)
    e_sz = 4 * sp_e_stage_words(bk, bm)
    smem = np.zeros(sp_smem_bytes(bn, bk, stages, bm), np.uint8)
    sA, sB, sE = 0, stages * a_sz, stages * (a_sz + b_sz)
    KT = -(-Kp // bk)
    words = smem.view(np.uint32)

    def k_tile(acc, m0, n0, kt):
        stage = kt % stages
        sp_fill_stage(smem, sA, sB, sE, stage, values, Eflat, B, m0, n0, kt, MT, KS, bn, bk,
                      bm=bm)
        for wg in range(bm // 64):
            for kk in range(bk // 32):
                th = np.arange(128 * wg, 128 * wg + 128)
                e_regs = words[(sE + stage * e_sz) // 4 + sp_e_read_word(th, kk, bk)]
                i0, i1 = sp_meta_positions(e_regs, sel, meta_variant)
                kept = read_operand(smem, sp_desc_a(sA, stage, wg, kk, bn, bk, bm, **override),
                                    "K", 64, variant, 32)
                Bop = read_operand(smem, sp_desc_b(sB, stage, kk, bn, bk, **override), "MN", bn,
                                   variant, 32)
                A = sp_expand_a(to_f32(kept.view(values.dtype)), i0, i1)
                wgmma_m64nNk16(acc, A, to_f32(Bop.view(B.dtype)), wg)  # any K: A @ B

    C = replay_ctas(M, N, KT, t, smem, k_tile, out_dtype)
    if plan_check:
        check_pipeline(KT, stages, metadata=True)
    return C
