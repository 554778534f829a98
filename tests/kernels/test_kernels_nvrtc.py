"""Every kernel compiles with NVRTC -- the compiler CuPy uses at run time -- with exactly the
options of the launchers (``_cuda.compile_options``), for sm_80 and sm_90. NVRTC differs from
nvcc in its headers and built-ins, so this catches what the nvcc test cannot. Skipped unless
libnvrtc is found: set MINIGRAD_NVRTC_LIB=/path/to/libnvrtc.so.13, or have the
nvidia-cuda-nvrtc wheel (or a CUDA toolkit with lib64/libnvrtc.so) installed."""
import ctypes
import ctypes.util
import glob
import os
import sys
from pathlib import Path

import pytest
from minigrad.kernels import _cuda

from .kernels_testdata import assert_no_local_memory, build_name, local_memory

CASES = [("spmv_csr.cu", None, False), ("spmv_csr.cu", {"SPMV_ROWS": 2}, False),
         ("spmv_csr.cu", {"SPMV_ROWS": 4, "SPMV_PREFETCH": 1}, False),
         ("spmv_csr.cu", {"SPMV_PIPE": 1}, False),
         ("spmv_csr.cu", {"SPMV_ROWS": 2, "SPMV_PIPE": 1}, False),
         ("spmv_csr_merge.cu", None, False), ("spmv_floor.cu", None, False),
         ("spmv_csr_stream.cu", None, False),
         ("spmm_csr.cu", None, False), ("hgemm.cu", None, False),
         ("hgemm.cu", {"BN": 256, "WARPS_N": 4}, False),
         ("hgemm.cu", {"BK": 64, "STAGES": 3}, False),
         ("mm24.cu", None, False), ("mm24.cu", {"BK": 64, "STAGES": 3}, False),
         ("mma_peak.cu", None, False), ("hgemm_wmma.cu", None, True),
         ("philox.cu", None, False), ("im2col.cu", None, False),
         ("batchnorm.cu", None, False)]


def _find_nvrtc():
    candidates = [os.environ.get("MINIGRAD_NVRTC_LIB", "")]
    for site in sys.path:
        candidates += sorted(glob.glob(os.path.join(site, "nvidia", "*", "lib", "libnvrtc.so*")))
    candidates += sorted(glob.glob("/usr/local/cuda/lib64/libnvrtc.so*"))
    found = ctypes.util.find_library("nvrtc")
    if found:
        candidates.append(found)
    for path in candidates:
        if not path or "builtins" in path or "alt" in Path(path).name:
            continue
        try:
            folder = Path(path).parent
            for builtins in sorted(folder.glob("libnvrtc-builtins.so*")):  # NVRTC dlopens it
                if "alt" not in builtins.name:
                    ctypes.CDLL(str(builtins), mode=ctypes.RTLD_GLOBAL)
            return ctypes.CDLL(path)
        except OSError:
            continue
    return None


NVRTC = _find_nvrtc()


def nvrtc_compile(filename: str, options, source: str | None = None,
                  name_expressions=()) -> tuple[int, str, bytes]:
    """NVRTC-compile ``kernel_source(filename)`` (our headers inlined, as the launcher does),
    or ``source`` under that name: (status, log, cubin). ``name_expressions`` are added as
    CuPy's RawModule adds them (templates instantiated by name); each must resolve."""
    lib = NVRTC
    src = (_cuda.kernel_source(filename) if source is None else source).encode()
    prog = ctypes.c_void_p()
    assert lib.nvrtcCreateProgram(ctypes.byref(prog), src, filename.encode(), 0, None, None) == 0
    for name in name_expressions:
        assert lib.nvrtcAddNameExpression(prog, name.encode()) == 0, name
    argv = (ctypes.c_char_p * len(options))(*[o.encode() for o in options])
    status = lib.nvrtcCompileProgram(prog, len(options), argv)
    size = ctypes.c_size_t()
    lib.nvrtcGetProgramLogSize(prog, ctypes.byref(size))
    log = ctypes.create_string_buffer(size.value)
    lib.nvrtcGetProgramLog(prog, log)
    cubin = b""
    if status == 0:
        for name in name_expressions:
            lowered = ctypes.c_char_p()
            assert lib.nvrtcGetLoweredName(prog, name.encode(), ctypes.byref(lowered)) == 0, name
        lib.nvrtcGetCUBINSize(prog, ctypes.byref(size))
        buf = ctypes.create_string_buffer(size.value)
        lib.nvrtcGetCUBIN(prog, buf)
        cubin = buf.raw
    lib.nvrtcDestroyProgram(ctypes.byref(prog))
    return status, log.value.decode(), cubin


def _nvrtc_compile(source: str, defines=None, cuda_headers=False, arch="sm_80", extra=()):
    """(NVRTC's status, its log) for ``kernel_source(source)`` with the launchers' options
    (and ``extra`` ones)."""
    opts = [*_cuda.compile_options(defines, cuda_headers), f"-arch={arch}", *extra]
    status, log, _ = nvrtc_compile(source, opts)
    return status, f"{opts}\n{log}"


needs_nvrtc = pytest.mark.skipif(NVRTC is None,
                                 reason="libnvrtc not found (set MINIGRAD_NVRTC_LIB)")


@needs_nvrtc
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
@pytest.mark.parametrize("source,defines,cuda_headers", CASES)
def test_nvrtc_compiles(source, defines, cuda_headers, arch):
    """... and, as the nvcc builds, no function keeps anything in local memory
    (``LOCAL_MEMORY_ALLOWED``): this is the build CuPy makes."""
    if cuda_headers and not _cuda._cuda_include_dirs():
        pytest.skip("no CUDA headers (mma.h) on this machine")
    status, log = _nvrtc_compile(source, defines, cuda_headers, arch, ["--ptxas-options=-v"])
    assert status == 0, log
    assert_no_local_memory(build_name(source, defines), arch, log)


@needs_nvrtc
@pytest.mark.parametrize("arch", ["sm_80", "sm_90"])
def test_nvrtc_compiles_minigrads_row_kernels(arch):
    """minigrad's own RawModule, the row kernels of ops/fused.py (softmax's and log_softmax's
    lse, cross-entropy's rows and its reduction: templates CuPy instantiates by name
    expression), compiles with NVRTC, every name expression resolves, and no kernel has
    local memory. The host run executes their text; only this compiles it as a GPU would."""
    from minigrad.ops import fused

    status, log, cubin = nvrtc_compile("fused_rows.cu", [f"-arch={arch}", "--ptxas-options=-v"],
                                       fused._ROWS_SOURCE, fused._ROW_KERNELS)
    assert status == 0, log
    assert cubin[:4] == b"\x7fELF"
    assert len(local_memory(log)) == len(fused._ROW_KERNELS)
    assert_no_local_memory("fused_rows.cu", arch, log)


@needs_nvrtc
@pytest.mark.parametrize("broken", ["hgemm.cu", "tc_common.cuh"])
def test_nvrtc_errors_name_the_file_and_line(monkeypatch, tmp_path, broken):
    """An error in a header of ours, or in the .cu after the header's text, is reported by
    NVRTC at that file's own line (kernel_source's #line directives), not at a line of the
    joined source."""
    for name in ("hgemm.cu", "tc_common.cuh"):
        (tmp_path / name).write_text((_cuda.KERNEL_DIR / name).read_text())
    lines = (tmp_path / broken).read_text().splitlines()
    at = len(lines) - 2  # late in the file: after the header's text, for hgemm.cu
    lines.insert(at, "static_assert(false, \"planted\");")
    (tmp_path / broken).write_text("\n".join(lines) + "\n")
    monkeypatch.setattr(_cuda, "KERNEL_DIR", tmp_path)
    status, log = _nvrtc_compile("hgemm.cu")
    assert status != 0
    assert f"{broken}({at + 1}): error: static assertion failed" in log, log


def test_every_kernel_file_is_compiled_here_or_by_the_wgmma_tests():
    """A new .cu file needs its NVRTC case (the Hopper ones have theirs in
    test_kernels_wgmma*.py, with the sm_90a options of their launchers)."""
    sources = {p.name for p in _cuda.KERNEL_DIR.glob("*.cu")}
    assert sources == {s for s, _, _ in CASES} | {s for s in sources if s.endswith("_wgmma.cu")}
