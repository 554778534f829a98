"""Every .cu file compiles with nvcc for sm_80 (Ampere) and sm_90a (Hopper) -- including the
alternative tilings the benchmark may select. Skipped where nvcc is absent."""
import shutil
import subprocess
from pathlib import Path

import pytest

KERNEL_DIR = Path(__file__).resolve().parents[2] / "kernels"
SOURCES = sorted(p.name for p in KERNEL_DIR.glob("*.cu"))
ARCHS = ["-gencode=arch=compute_80,code=sm_80", "-gencode=arch=compute_90a,code=sm_90a"]
EXPECTED = {"hgemm.cu", "hgemm_wgmma.cu", "hgemm_wmma.cu", "mm24.cu", "mm24_wgmma.cu",
            "mma_peak.cu", "spmm_csr.cu", "spmv_csr.cu", "spmv_csr_merge.cu"}
# Tile-macro variants of the two tensor-core GEMMs (the same macros the launchers pass).
VARIANTS = [("hgemm.cu", "-DBN=256 -DWARPS_N=4"), ("hgemm.cu", "-DBK=64 -DSTAGES=3"),
            ("mm24.cu", "-DBN=256 -DWARPS_N=4"), ("mm24.cu", "-DBK=64 -DSTAGES=3"),
            ("hgemm_wgmma.cu", "-DBN=128"), ("hgemm_wgmma.cu", "-DBN=128 -DSTAGES=6"),
            ("hgemm_wgmma.cu", "-DSTAGES=3"), ("hgemm_wgmma.cu", "-DPROXY_FENCE=0"),
            ("mm24_wgmma.cu", "-DBN=128"), ("mm24_wgmma.cu", "-DBN=128 -DBK=128"),
            ("mm24_wgmma.cu", "-DSTAGES=5"), ("mm24_wgmma.cu", "-DSTAGES=3"),
            ("mm24_wgmma.cu", "-DPROXY_FENCE=0"), ("mm24_wgmma.cu", "-DSP_SEL=1"),
            ("mm24_wgmma.cu", "-DMETA_WAIT0=1")]

nvcc = shutil.which("nvcc")
needs_nvcc = pytest.mark.skipif(nvcc is None, reason="nvcc not found")


def test_every_kernel_file_is_listed():
    assert set(SOURCES) == EXPECTED


def _compile(tmp_path, source, arch, extra=""):
    out = tmp_path / (Path(source).stem + ".cubin")
    cmd = [nvcc, "-std=c++17", arch, "-cubin", "-o", str(out), str(KERNEL_DIR / source),
           *extra.split()]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    assert out.stat().st_size > 0
    warnings = [ln for ln in proc.stderr.splitlines() if "warning" in ln.lower()]
    assert not warnings, "\n".join(warnings)


@needs_nvcc
@pytest.mark.parametrize("arch", ARCHS, ids=["sm_80", "sm_90a"])
@pytest.mark.parametrize("source", SOURCES)
def test_nvcc_compiles(tmp_path, source, arch):
    _compile(tmp_path, source, arch)


@needs_nvcc
@pytest.mark.parametrize("source,defines", VARIANTS)
def test_nvcc_compiles_tiling_variants(tmp_path, source, defines):
    _compile(tmp_path, source, ARCHS[1], defines)
