"""What the tests of the two Hopper wgmma GEMMs share (test_kernels_wgmma.py for hgemm_wgmma.cu,
test_kernels_wgmma_sp.py for mm24_wgmma.cu): the nvcc host program that prints a kernel's
layout functions (most of them live in kernels/wgmma_common.cuh, so the program is the same for
both), the ptxas and NVRTC builds, and the GPU markers and tolerances."""
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from minigrad.kernels import _cuda

from minigrad import _backend

from .kernels_testdata import assert_no_local_memory, build_name

KERNEL_DIR = Path(__file__).resolve().parents[2] / "kernels"
nvcc = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(nvcc is None, reason="nvcc not found")
SM90A = "-gencode=arch=compute_90a,code=sm_90a"

# ------------------------------------------------------------- the .cu compiled for the host

# Prints wgmma_common.cuh's functions (A copy plan through the kernel's a_tile_offset, B layout
# and copy plan, accumulator map, descriptors) and the kernel's A layout, at the tiling the -D
# macros select; ``extra`` adds the kernel's own rows (C++ statements using row()).
_DUMP = r"""
#include "{source}"
#include <cstdio>
static void row(const char* name) {{ printf("\n%s", name); }}
int main() {{
    row("CONST"); printf(" %d %d %d %d %d %d %d %d %d", BM, BN, BK, STAGES, GROUP_M, THREADS,
                         A_STAGE_BYTES, B_STAGE_BYTES, SMEM_BYTES);
    row("A_TILE");
    for (int m = 0; m < BM; ++m)
        for (int c = 0; c < A_CHUNKS * 8; ++c) printf(" %u", a_tile_offset(m, c));
    row("B_TILE");
    for (int k = 0; k < BK; ++k) for (int n = 0; n < BN; ++n) printf(" %u", b_tile_offset(k, n));
    row("A_COPY"); for (int t = 0; t < THREADS; ++t) for (int it = 0; it < A_IT; ++it)
        printf(" %d %d %u", a_copy_row(t, it), a_copy_col(t), a_copy_dst(t, it));
    row("B_COPY"); for (int t = 0; t < THREADS; ++t) for (int it = 0; it < B_IT; ++it)
        printf(" %d %d %u", b_copy_row(t, it), b_copy_col(t), b_copy_dst(t, it));
    row("ACC"); for (int t = 0; t < THREADS; ++t) for (int i = 0; i < BN / 2; ++i)
        printf(" %d %d", acc_row(t, i), acc_col(t, i));
    const unsigned bases[3] = {{0u, 1024u, 5u * 1024u}};
    row("DESC");
    for (unsigned base : bases)
      for (int s = 0; s < STAGES; ++s)
        for (int kk = 0; kk < BK / MMA_K; ++kk) {{
        const unsigned sB = base + STAGES * A_STAGE_BYTES;
        for (int wg = 0; wg < BM / 64; ++wg) printf(" %llu", desc_a(base, s, wg, kk));
        printf(" %llu", desc_b(sB, s, kk));
    }}
    {extra}
    printf("\n");
    return 0;
}}
"""
DESC_BASES = (0, 1024, 5 * 1024)


def host_dump(tmp_path, source: str, defines: dict, extra: str = "") -> dict:
    """Compile ``source``'s layout functions into a host program (nvcc, with ``-D`` defines),
    run it, return its rows: name -> int64 array (DESC: uint64)."""
    src = tmp_path / "dump.cu"
    src.write_text(_DUMP.format(source=source, extra=extra))
    exe = tmp_path / "dump"
    cmd = [nvcc, "-std=c++17", SM90A, f"-I{KERNEL_DIR}", "-o", str(exe), str(src),
           *[f"-D{k}={v}" for k, v in defines.items()]]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    out = subprocess.run([str(exe)], capture_output=True, text=True, timeout=60, check=True).stdout
    rows = {}
    for line in out.strip().splitlines():
        name, *vals = line.split()
        dtype = np.uint64 if name == "DESC" else np.int64
        rows[name] = np.array([int(v) for v in vals], dtype=dtype)
    return rows


def check_common_rows(d: dict, *, bn, bk, stages, group_m, threads, bm, a_stage_bytes,
                      b_stage_bytes, smem_bytes, a_offset, b_offset, copy_plan, acc_row,
                      acc_col, desc_a, desc_b, mma_k) -> None:
    """The rows of ``host_dump`` equal the model: constants, A and B stage layouts, both copy
    plans, the accumulator map, and the descriptors of every step of every stage (A: every
    warpgroup's) at three shared-memory bases (``desc_a(base, stage, wg, kk)``,
    ``desc_b(sB, stage, kk)``)."""
    assert d["CONST"].tolist() == [bm, bn, bk, stages, group_m, threads, a_stage_bytes,
                                   b_stage_bytes, smem_bytes]
    a_cols = d["A_TILE"].size // bm
    m, c = np.meshgrid(np.arange(bm), np.arange(a_cols), indexing="ij")
    assert np.array_equal(d["A_TILE"], a_offset(m, c).ravel())
    k, n = np.meshgrid(np.arange(bk), np.arange(bn), indexing="ij")
    assert np.array_equal(d["B_TILE"], b_offset(k, n).ravel())
    for name, plan in (("A_COPY", copy_plan[0]), ("B_COPY", copy_plan[1])):
        got = d[name].reshape(threads, -1, 3)
        assert np.array_equal(got[..., 0], plan["row"])
        assert np.array_equal(got[..., 1], plan["col"])
        assert np.array_equal(got[..., 2], plan["dst"])
    tid, i = np.meshgrid(np.arange(threads), np.arange(bn // 2), indexing="ij")
    acc = d["ACC"].reshape(threads, bn // 2, 2)
    assert np.array_equal(acc[..., 0], acc_row(tid, i))
    assert np.array_equal(acc[..., 1], acc_col(tid, i))
    want = []
    for base in DESC_BASES:
        for s in range(stages):
            for kk in range(bk // mma_k):
                sB = base + stages * a_stage_bytes
                want += [desc_a(base, s, wg, kk) for wg in range(bm // 64)]
                want.append(desc_b(sB, s, kk))
    assert d["DESC"].tolist() == want


# ------------------------------------------------------------------------------- ptxas

def ptxas_registers(source: str, defines: str, tmp_path) -> list[int]:
    """Build ``source`` for sm_90a with ``-Xptxas -v``; assert no local memory and no wgmma
    serialisation ("wgmma.mma_async instructions are serialized", C7515) for its 5 kernels (4
    GEMM type variants + the peak kernel); return their register counts."""
    out = tmp_path / "k.cubin"
    cmd = [nvcc, "-std=c++17", SM90A, "-cubin", "-o", str(out), str(KERNEL_DIR / source),
           "-Xptxas", "-v", *defines.split()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr
    log = proc.stderr + proc.stdout
    assert "serializ" not in log.lower(), log
    assert "Performance Loss" not in log, log
    assert_no_local_memory(build_name(source, defines), SM90A, log)
    regs = [int(r) for r in re.findall(r"Used (\d+) registers", log)]
    assert len(regs) == 5 and max(regs) <= 255, log
    return regs


# ------------------------------------------------------------ NVRTC with the launcher's options

def nvrtc():
    """The libnvrtc handle test_kernels_nvrtc found, or None."""
    from .test_kernels_nvrtc import NVRTC

    return NVRTC


def check_nvrtc_sm90a(filename: str, defines, kernel_names) -> None:
    """NVRTC builds ``filename`` for sm_90a with the launcher's options (``defines``), with no
    local memory (as the nvcc build, ``ptxas_registers``): an ELF cubin (``complete_elf``
    leaves it alone and restores the byte CuPy's getCUBIN drops) holding ``kernel_names``."""
    if nvrtc() is None:
        pytest.skip("libnvrtc not found (set MINIGRAD_NVRTC_LIB)")
    from .test_kernels_nvrtc import nvrtc_compile

    status, log, cubin = nvrtc_compile(
        filename, [*_cuda.wgmma_compile_options(defines), "--ptxas-options=-v"])
    assert status == 0, log
    assert_no_local_memory(build_name(filename, defines), "sm_90a", log)
    assert cubin[:4] == b"\x7fELF" and _cuda.complete_elf(cubin) == cubin
    assert _cuda.complete_elf(cubin[:-1]) == cubin
    for name in kernel_names:
        assert name.encode() in cubin


def check_nvrtc_refuses_sm90(filename: str) -> None:
    """Built for sm_90 (no "a"), the file stops with its WGMMA_REQUIRE_SM90A #error."""
    if nvrtc() is None:
        pytest.skip("libnvrtc not found (set MINIGRAD_NVRTC_LIB)")
    opts = [o for o in _cuda.wgmma_compile_options() if not o.startswith("--gpu-arch")]
    from .test_kernels_nvrtc import nvrtc_compile

    status, log, _ = nvrtc_compile(filename, opts + ["--gpu-architecture=sm_90"])
    assert status != 0 and "needs the sm_90a target" in log


# =============================================================================== GPU

def is_sm90() -> bool:
    try:
        return (_backend.cuda_available()
                and _backend.cupy().cuda.Device().compute_capability == "90")
    except Exception:
        return False


gpu = pytest.mark.gpu
needs_device = pytest.mark.skipif(not _backend.cuda_available(),
                                  reason="needs CuPy and a CUDA device")
needs_sm90 = pytest.mark.skipif(not is_sm90(), reason="needs an sm_90 (Hopper) GPU")
on_non_hopper = pytest.mark.skipif(is_sm90(), reason="checks the error on a non-Hopper GPU")
TOL_TC32, TOL_TC16 = 1e-3, 5e-3


def on_hopper(test):
    """A GPU test that needs CuPy, a device, and an sm_90 one."""
    return gpu(needs_device(needs_sm90(test)))


@pytest.fixture
def cuda_cp():
    """The CuPy module (GPU-only tests; use with ``cuda_cp = T.cuda_cp`` in the module)."""
    return _backend.cupy()


@pytest.fixture(params=[pytest.param("cuda", marks=gpu), "host"])
def cp(request, monkeypatch):
    """The array module of a wgmma kernel test, twice (use with ``cp = T.cp``): CuPy on an
    sm_90 GPU, and NumPy with the kernel's own CUDA text run on the CPU (cuda_host: the
    wgmma instructions modelled by the PTX ISA, with their hazards checked; a device that
    reports sm_90). A test that needs the real GPU (timing, NVRTC's registers, sizes the host
    would take minutes on) takes only the first: ``@T.CUDA_ONLY``."""
    if request.param == "cuda":
        if not is_sm90():
            pytest.skip("needs CuPy and an sm_90 (Hopper) GPU")
        return _backend.cupy()
    from .cuda_host import HOST_CUPY_SM90, available, host_launchers

    if not available():
        pytest.skip("g++ not found: the host run needs it")
    host_launchers(monkeypatch, HOST_CUPY_SM90)
    return HOST_CUPY_SM90


def refused_on_host(cp, tiling: dict) -> bool:
    """Whether the host run must refuse ``tiling``: PROXY_FENCE=0 leaves out the
    fence.proxy.async that the PTX memory model asks for between cp.async's (generic-proxy)
    writes and wgmma's (async-proxy) reads. The H200 computed right without it, so the GPU
    half checks the product; the host half checks that the omission is named."""
    from .cuda_host import is_host

    return is_host(cp) and tiling.get("PROXY_FENCE") == 0


#: A ``cp`` test for the GPU only.
CUDA_ONLY = pytest.mark.parametrize("cp", [pytest.param("cuda", marks=gpu)], indirect=True)


def wrong_outputs(got: np.ndarray, want: np.ndarray) -> list[str]:
    """The tail of a one-tile diagnostic: where the GPU's product differs from the exact one."""
    wrong = np.argwhere(got != want)
    return [f"  {len(wrong)} wrong outputs; first: {wrong[:8].tolist()}",
            "  rows wrong: " + str(sorted(set(wrong[:, 0].tolist()))[:32]),
            "  cols wrong: " + str(sorted(set(wrong[:, 1].tolist()))[:32])]


def large_rel_err(cp, got, want) -> float:
    """Relative-norm error of a device result against a device float32 reference."""
    return float(cp.linalg.norm(got.astype(cp.float64) - want) / cp.linalg.norm(want))
