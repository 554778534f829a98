"""Every .cu file compiles with nvcc for sm_80 (Ampere) and sm_90a (Hopper) -- including the
alternative tilings the benchmark may select (skipped where nvcc is absent) -- with no local
memory beyond what ``LOCAL_MEMORY_ALLOWED`` lists, and reaches NVRTC whole: ``kernel_source``
inlines every header of ours it includes (tc_common.cuh, wgmma_common.cuh)."""
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from minigrad.kernels import _cuda

from .kernels_testdata import assert_no_local_memory, build_name, local_memory

KERNEL_DIR = Path(__file__).resolve().parents[2] / "kernels"
SOURCES = sorted(p.name for p in KERNEL_DIR.glob("*.cu"))
HEADERS = sorted(p.name for p in KERNEL_DIR.glob("*.cuh"))
ARCHS = ["-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90a,code=sm_90a"]
EXPECTED = {"batchnorm.cu", "hgemm.cu", "hgemm_wgmma.cu", "hgemm_wmma.cu", "im2col.cu", "mm24.cu",
            "mm24_wgmma.cu", "mma_peak.cu", "philox.cu", "spmm_csr.cu", "spmv_csr.cu",
            "spmv_csr_merge.cu", "spmv_csr_stream.cu", "spmv_floor.cu"}
# Tile-macro variants of the two tensor-core GEMMs (the same macros the launchers pass).
VARIANTS = [("hgemm.cu", "-DBN=256 -DWARPS_N=4"), ("hgemm.cu", "-DBK=64 -DSTAGES=3"),
            ("mm24.cu", "-DBN=256 -DWARPS_N=4"), ("mm24.cu", "-DBK=64 -DSTAGES=3"),
            ("mm24.cu", "-DFRAG_BUFS=1"), ("mm24.cu", "-DBM=192 -DFRAG_BUFS=1"),
            ("hgemm_wgmma.cu", "-DBN=128"), ("hgemm_wgmma.cu", "-DBN=128 -DSTAGES=6"),
            ("hgemm_wgmma.cu", "-DSTAGES=3"), ("hgemm_wgmma.cu", "-DPROXY_FENCE=0"),
            ("mm24_wgmma.cu", "-DBN=128"), ("mm24_wgmma.cu", "-DBN=128 -DBK=128"),
            ("mm24_wgmma.cu", "-DSTAGES=5"), ("mm24_wgmma.cu", "-DSTAGES=3"),
            ("mm24_wgmma.cu", "-DPROXY_FENCE=0"), ("mm24_wgmma.cu", "-DSP_SEL=1"),
            ("mm24_wgmma.cu", "-DMETA_WAIT0=1"), ("mm24_wgmma.cu", "-DMETA_REGS=1"),
            ("spmv_csr.cu", "-DSPMV_ROWS=2"), ("spmv_csr.cu", "-DSPMV_ROWS=4 -DSPMV_PREFETCH=1"),
            ("spmv_csr.cu", "-DSPMV_PREFETCH=1")]

nvcc = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(nvcc is None, reason="nvcc not found")


def test_every_kernel_file_is_listed():
    assert set(SOURCES) == EXPECTED


def _our_includes(text: str) -> list[str]:
    return re.findall(r'^\s*#include "([^"]+)"', text, re.M)


@pytest.mark.parametrize("source", SOURCES)
def test_kernel_source_inlines_our_headers(source):
    """What NVRTC compiles (and CuPy's cache keys on) is the .cu with each of our headers'
    text in place of its #include line, system headers left as they are; its #line
    directives put every line under its own file and number: followed directive by
    directive, each line is the line of the file it names (a #pragma once an empty one)."""
    text = (KERNEL_DIR / source).read_text()
    src = _cuda.kernel_source(source)
    assert not _our_includes(src)
    assert re.findall(r"^\s*#include <([^>]+)>", src, re.M) == \
        re.findall(r"^\s*#include <([^>]+)>", text, re.M)
    files = {name: (KERNEL_DIR / name).read_text().splitlines()
             for name in [source, *_our_includes(text)]}
    assert set(files) <= {source, *HEADERS}
    file, number, seen = None, 0, set()
    for line in src.splitlines():
        directive = re.fullmatch(r'#line (\d+) "([^"]+)"', line)
        if directive:
            number, file = int(directive[1]), directive[2]
            continue
        want = files[file][number - 1]
        assert line == ("" if want.strip() == "#pragma once" else want), (file, number)
        seen.add((file, number))
        number += 1
    # every line of each file is there but the #include lines of ours
    assert seen == {(name, n) for name, body in files.items() for n, ln in enumerate(body, 1)
                    if not (name == source and _our_includes(ln))}
    assert ("wgmma_common.cuh" in _our_includes(text)) == source.endswith("_wgmma.cu")


@pytest.mark.parametrize("header", HEADERS)
def test_headers_include_no_header_of_ours(header):
    """kernel_source inlines one level: a header including another of ours would reach NVRTC
    as an #include it cannot resolve without -I (nvcc would not notice)."""
    assert not _our_includes((KERNEL_DIR / header).read_text())


def _compile(tmp_path, source, arch, extra=""):
    out = tmp_path / (Path(source).stem + ".cubin")
    cmd = [nvcc, "-std=c++17", arch, "-cubin", "-o", str(out), str(KERNEL_DIR / source),
           *extra.split()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    assert out.stat().st_size > 0
    warnings = [ln for ln in proc.stderr.splitlines() if "warning" in ln.lower()]
    assert not warnings, "\n".join(warnings)
    return proc


@needs_nvcc
@pytest.mark.parametrize("arch", ARCHS, ids=["sm_80", "sm_90a"])
@pytest.mark.parametrize("source", SOURCES)
def test_nvcc_compiles(tmp_path, source, arch):
    """... and no function keeps anything in local memory (``LOCAL_MEMORY_ALLOWED``)."""
    proc = _compile(tmp_path, source, arch, "-Xptxas -v")
    assert_no_local_memory(source, arch, proc.stderr)


@needs_nvcc
@pytest.mark.parametrize("source,defines", VARIANTS)
def test_nvcc_compiles_tiling_variants(tmp_path, source, defines):
    proc = _compile(tmp_path, source, ARCHS[1], defines + " -Xptxas -v")
    assert_no_local_memory(build_name(source, defines), ARCHS[1], proc.stderr)


# philox.cu's fill before and after stop 38, in small: a block's two values, then their
# store whole or, at the end of the output, one by one.
_TOY = """struct alignas(16) Pack { double v[2]; };
extern "C" __global__ void toy(long long n, double* out) {
    const long long i = threadIdx.x;
    Pack x;
    x.v[0] = out[2 * i] * 3.0;
    x.v[1] = out[2 * i + 1] * 5.0;
    if (2 * i + 2 <= n) reinterpret_cast<Pack*>(out)[i] = x;
    else %s
}
"""
_TAILS = [("for (int j = 0; 2 * i + j < n; ++j) out[2 * i + j] = x.v[j];", (16, 0, 0)),
          ("{\n#pragma unroll\n for (int j = 0; j < 2; ++j) if (2 * i + j < n) "
           "out[2 * i + j] = x.v[j];\n}", (0, 0, 0))]


@needs_nvcc
@pytest.mark.parametrize("tail,used", _TAILS, ids=["index-at-run-time", "unrolled"])
def test_the_local_memory_check_sees_an_array_indexed_at_run_time(tmp_path, tail, used):
    """The check's own test, on philox.cu's old and new tail: x.v indexed by a loop whose
    trip count is known at run time only puts x in local memory (a 16-byte stack frame, no
    spills), and the check refuses it; unrolled, x is registers, and it passes. NVRTC's form
    of the same lines is read too."""
    toy = tmp_path / "toy.cu"
    toy.write_text(_TOY % tail)
    proc = subprocess.run([nvcc, ARCHS[1], "-cubin", "-o", str(tmp_path / "toy.cubin"),
                           str(toy), "-Xptxas", "-v"], capture_output=True, text=True,
                          timeout=300)
    assert proc.returncode == 0, proc.stderr
    assert local_memory(proc.stderr) == {"toy": used}
    assert local_memory(proc.stderr.replace("\n    ", "\nptxas         .     ")) == {"toy": used}
    if used == (0, 0, 0):
        assert_no_local_memory("toy.cu", ARCHS[1], proc.stderr)
    else:
        with pytest.raises(AssertionError, match=r"local memory .* in toy.cu for sm_90: "
                                                 r"\{'toy': \(16, 0, 0\)\}"):
            assert_no_local_memory("toy.cu", ARCHS[1], proc.stderr)


# hgemm.cu's tilings whose registers are close to the 255 a thread may use: the defaults
# (128 x 128 and 128 x 256, fragments double-buffered) and the 96 x 64 warp tiles that fit
# only with one fragment buffer (FRAG_BUFS=1: 254 registers on sm_90a; on sm_80 ptxas spills
# 4-8 bytes there, so only Hopper is checked for them).
HGEMM_REGISTER_VARIANTS = [
    ("", ARCHS), ("-DBN=256 -DWARPS_N=4", ARCHS),
    ("-DBM=192 -DBN=256 -DWARPS_M=2 -DWARPS_N=4 -DFRAG_BUFS=1", ARCHS[1:]),
    ("-DBM=192 -DBN=128 -DWARPS_M=2 -DWARPS_N=2 -DFRAG_BUFS=1", ARCHS[1:]),
    ("-DBN=256 -DWARPS_N=4 -DFRAG_BUFS=1", ARCHS)]


@needs_nvcc
@pytest.mark.parametrize("defines,arch", [(d, a) for d, archs in HGEMM_REGISTER_VARIANTS
                                          for a in archs])
def test_nvcc_hgemm_tilings_compile_without_spills(tmp_path, defines, arch):
    proc = _compile(tmp_path, "hgemm.cu", arch, defines + " -Xptxas -v")
    assert len(local_memory(proc.stderr)) == 4  # hgemm_{f16,bf16}_{f32,16-bit out}
    assert_no_local_memory(build_name("hgemm.cu", defines), arch, proc.stderr)


# spmv_csr.cu's persistent, pipelined schedule (the launcher's pipeline=True) at R = 1 and 2:
# two RowPasses are live across a step, so the registers are checked for spills on both
# architectures (the counts are in the .cu header comment).
SPMV_PIPE_VARIANTS = ["-DSPMV_PIPE=1", "-DSPMV_PIPE=1 -DSPMV_ROWS=2"]


@needs_nvcc
@pytest.mark.parametrize("arch", ARCHS, ids=["sm_80", "sm_90a"])
@pytest.mark.parametrize("defines", SPMV_PIPE_VARIANTS)
def test_nvcc_spmv_pipeline_compiles_without_spills(tmp_path, arch, defines):
    proc = _compile(tmp_path, "spmv_csr.cu", arch, defines + " -Xptxas -v")
    assert len(local_memory(proc.stderr)) == 20  # 2 types x 5 group sizes x (scalar, _vec)
    assert_no_local_memory(build_name("spmv_csr.cu", defines), arch, proc.stderr)


@needs_nvcc
@pytest.mark.parametrize("arch", ARCHS, ids=["sm_80", "sm_90a"])
@pytest.mark.parametrize("nnz", [256, 1024, 2048])
def test_nvcc_spmv_stream_compiles_without_spills(tmp_path, arch, nnz):
    """spmv_csr_stream.cu at the launcher's STREAM_NNZ settings: 10 kernels (2 types x 5
    group sizes), no spills, and the shared memory of STREAM_CAP = 2·STREAM_NNZ values (8
    KiB for float, 16 KiB for double at 1024). At the default 1024 every kernel keeps to 32
    registers, so an SM holds 8 blocks of 256 threads (its 65536 registers / 2048 threads):
    the staging's loads in flight for 2048 threads."""
    proc = _compile(tmp_path, "spmv_csr_stream.cu", arch, f"-DSTREAM_NNZ={nnz} -Xptxas -v")
    assert len(local_memory(proc.stderr)) == 10
    assert_no_local_memory(build_name("spmv_csr_stream.cu", {"STREAM_NNZ": nnz}), arch,
                           proc.stderr)
    smem = sorted(int(b) for b in re.findall(r"(\d+) bytes smem", proc.stderr))
    assert smem == [8 * nnz] * 5 + [16 * nnz] * 5, smem
    registers = [int(n) for n in re.findall(r"Used (\d+) registers", proc.stderr)]
    assert len(registers) == 10
    if nnz == 1024:
        assert max(registers) <= 32, registers
