"""Random test matrices shared by the kernel tests (CPU and GPU), the nvcc build of the
host programs that run a .cu file's __host__ __device__ functions, and what ``ptxas -v``
says of a build's local memory (and what of it is allowed)."""
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest


def random_csr(rng, n_rows, n_cols, lengths, dtype=np.float32):
    """CSR with the given row lengths (sorted, unique columns per row), values in [-1, 1)
    away from 0."""
    lengths = np.minimum(np.asarray(lengths, dtype=np.int64), n_cols)
    indptr = np.concatenate([[0], np.cumsum(lengths)]).astype(np.int32)
    indices = np.concatenate(
        [np.sort(rng.choice(n_cols, size=int(n), replace=False)) for n in lengths]
        or [np.zeros(0, np.int64)]).astype(np.int32)
    data = (rng.uniform(0.5, 1.0, size=len(indices)) * rng.choice([-1, 1], len(indices)))
    return indptr, indices, data.astype(dtype)


def regular_lengths(rng, n_rows, mean):
    return rng.integers(max(mean // 2, 0), mean + mean // 2 + 1, size=n_rows)


def power_law_lengths(rng, n_rows, n_cols, alpha=1.3, with_empty=True):
    """Zipf-like row lengths: most rows short, a few very long; some rows empty."""
    lengths = np.minimum(rng.zipf(alpha, size=n_rows), n_cols)
    if with_empty:
        lengths[rng.random(n_rows) < 0.1] = 0
    return lengths


def dense_of(indptr, indices, data, n_cols):
    A = np.zeros((len(indptr) - 1, n_cols), dtype=np.float64)
    for r in range(len(indptr) - 1):
        A[r, indices[indptr[r]:indptr[r + 1]]] = data[indptr[r]:indptr[r + 1]]
    return A


def random_24(rng, M, K, dtype=np.float16, fewer=0.2):
    """M x K with at most 2 nonzeros per aligned group of 4 along K; a fraction ``fewer`` of
    the groups keeps only 0 or 1 (compress_24 must fill those)."""
    Kg = -(-K // 4) * 4
    W = rng.uniform(0.5, 1.0, size=(M, Kg)) * rng.choice([-1, 1], size=(M, Kg))
    keep = np.argsort(rng.random((M, Kg // 4, 4)), axis=-1)[..., :2]
    mask = np.zeros((M, Kg // 4, 4), dtype=bool)
    np.put_along_axis(mask, keep, True, axis=-1)
    drop = rng.random((M, Kg // 4, 4)) < fewer / 2
    mask &= ~drop
    W = (W.reshape(M, Kg // 4, 4) * mask).reshape(M, Kg)[:, :K]
    return W.astype(dtype)


def rel_err(out, ref):
    out = np.asarray(out, dtype=np.float64)
    ref = np.asarray(ref, dtype=np.float64)
    return float(np.linalg.norm(out - ref) / max(np.linalg.norm(ref), 1e-300))


KERNEL_DIR = Path(__file__).resolve().parents[2] / "kernels"
NVCC = shutil.which("nvcc")


def build_host_program(tmp_path_factory, name, source):
    """(folder, executable): ``source`` (a main() that #includes a kernels/*.cu file and runs
    its __host__ __device__ functions) compiled by nvcc for the host, in a fresh folder;
    skips the test where nvcc is absent."""
    if NVCC is None:
        pytest.skip("nvcc not found")
    folder = tmp_path_factory.mktemp(name)
    src, exe = folder / f"{name}_host.cu", folder / f"{name}_host"
    src.write_text(source)
    cmd = [NVCC, "-std=c++17", f"-I{KERNEL_DIR}", "-o", str(exe), str(src)]
    proc = subprocess.run(cmd, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, f"{' '.join(cmd)}\n{proc.stdout}\n{proc.stderr}"
    return folder, exe


# ------------------------------------------------------------ what ptxas -v says of a build

# nvcc's lines, or NVRTC's (its ptxas lines prefixed "ptxas         .")
_LOCAL = re.compile(r"Function properties for (\w+)\n(?:ptxas\s+\.)?\s*(\d+) bytes stack frame, "
                    r"(\d+) bytes spill stores, (\d+) bytes spill loads")


def local_memory(ptxas_verbose: str) -> dict[str, tuple[int, int, int]]:
    """What ``-Xptxas -v`` says of each function's local memory: (stack frame, spill
    stores, spill loads), in bytes."""
    return {name: (int(frame), int(stores), int(loads))
            for name, frame, stores, loads in _LOCAL.findall(ptxas_verbose)}


# The local memory a function may have, at most, and why; every other function of every
# build checked below has none. Local memory is two things, both a round trip through L1
# for each access: spilled registers, and an array indexed at run time (a stack frame
# without spills). philox.cu's fill had such an array until stop 38: a block's values went
# through local memory before every store, for its tail loop's x.v[j].
#   key: (source, function) or (source, function, arch) -> (frame, spill stores, spill loads)
LOCAL_MEMORY_ALLOWED = {
    # sinf/cosf's and sin/cos's slow path (the Payne-Hanek reduction for |x| > 105615, a
    # table of 7 words): compiled in, never taken, theta being below 2 pi
    ("philox.cu", "philox_normal_f32"): (32, 0, 0),
    ("philox.cu", "philox_normal_f64"): (40, 0, 0),
    # nvcc 13.0 and NVRTC 13 keep this one to 32 registers (8 blocks an SM) and spill one
    # word: stored before the row's loop, loaded once per 32 nonzeros, outside their loop
    ("spmm_csr.cu", "spmm_csr_f32_vec", "sm_90"): (8, 4, 4),
    # options that are not defaults, kept for the benchmark's comparisons: the 96-row warp
    # tile (254 registers, not adopted at stop 30) and two rows a group without the pipeline
    ("mm24.cu -DBM=192 -DFRAG_BUFS=1", "mm24_f16_f32"): (8, 8, 8),
    ("mm24.cu -DBM=192 -DFRAG_BUFS=1", "mm24_f16_f16"): (8, 8, 8),
    ("mm24.cu -DBM=192 -DFRAG_BUFS=1", "mm24_bf16_f32"): (8, 8, 8),
    ("mm24.cu -DBM=192 -DFRAG_BUFS=1", "mm24_bf16_bf16"): (8, 8, 8),
    ("spmv_csr.cu -DSPMV_ROWS=2", "spmv_csr_vector_f32_g2_vec", "sm_90"): (8, 4, 8),
}


def build_name(source: str, defines: dict | str | None = None) -> str:
    """How ``LOCAL_MEMORY_ALLOWED`` names a build: the source, then its -D options (from a
    launcher's macro dict, sorted, or an nvcc option string, in its order)."""
    if isinstance(defines, str):
        options = defines.split()
    else:
        options = [f"-D{k}={v}" for k, v in sorted((defines or {}).items())]
    return " ".join([source, *options])


def assert_no_local_memory(build: str, arch: str, ptxas_verbose: str):
    """Every function of ``build`` (a source, then any -D defines) has no local memory
    beyond what ``LOCAL_MEMORY_ALLOWED`` gives it."""
    found = local_memory(ptxas_verbose)
    assert found and len(found) == ptxas_verbose.count("Function properties for "), \
        ptxas_verbose  # every function's line read
    sm = re.search(r"sm_\d+", arch)[0]  # sm_90a's allowances are sm_90's
    over = {name: used for name, used in found.items()
            if any(u > a for u, a in zip(used, LOCAL_MEMORY_ALLOWED.get(
                (build, name, sm), LOCAL_MEMORY_ALLOWED.get((build, name), (0, 0, 0)))))}
    assert not over, f"local memory (stack frame, spill stores, spill loads) in {build} " \
                     f"for {sm}: {over}"
