"""batchnorm.cu (minigrad.kernels.bn_channel_sums) and its NumPy twin: the twin against the
float64 definitions (mean, variance, 1/√(σ² + ε), Σg, Σg·x̂) on drawn shapes and block
counts; the .cu file's pieces (each thread's sums, the tree, the partials' order) run by
nvcc as a host program, equal to the twin bit for bit; the checks; on a GPU, the kernels
equal to the twin bit for bit, launch after launch (the tickets reset themselves)."""
import subprocess

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from minigrad.kernels import reference

from .kernels_testdata import build_host_program


def _data(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    x = (rng.standard_normal(shape) * 3 + 1).astype(dtype)
    g = rng.standard_normal(shape).astype(dtype)
    xhat = rng.standard_normal(shape).astype(reference.acc_dtype(dtype))
    return x, g, xhat


@given(N=st.integers(1, 4), C=st.integers(1, 3), L=st.integers(1, 700),
       blocks=st.sampled_from([None, 1, 2, 3, 7]),
       dtype=st.sampled_from([np.float64, np.float32, np.float16]))
def test_twin_equals_the_definitions(N, C, L, blocks, dtype):
    x, g, xhat = _data((N, C, L), dtype)
    x64, g64 = x.astype(np.float64), g.astype(np.float64)
    tol = 1e-12 if dtype == np.float64 else 2e-5
    (mean,) = reference.bn_channel_sums(0, x, blocks=blocks)
    assert mean.dtype == reference.acc_dtype(dtype)
    np.testing.assert_allclose(mean, x64.mean((0, 2)), rtol=tol, atol=tol)
    var, inv = reference.bn_channel_sums(1, x, mean=mean, eps=1e-5, blocks=blocks)
    want_var = ((x64 - mean.astype(np.float64)[:, None]) ** 2).mean((0, 2))
    np.testing.assert_allclose(var, want_var, rtol=tol, atol=tol)
    np.testing.assert_allclose(inv, 1 / np.sqrt(var.astype(np.float64) + 1e-5), rtol=tol)
    mean3, var3, inv3 = reference.bn_channel_sums(3, x, eps=1e-5, blocks=blocks)
    np.testing.assert_allclose(mean3, x64.mean((0, 2)), rtol=tol, atol=tol)
    np.testing.assert_allclose(var3, x64.var((0, 2)), rtol=tol, atol=tol)
    np.testing.assert_allclose(inv3, 1 / np.sqrt(var3.astype(np.float64) + 1e-5), rtol=tol)
    s1, s2 = reference.bn_channel_sums(2, g, xhat=xhat, blocks=blocks)
    np.testing.assert_allclose(s1, g64.sum((0, 2)), rtol=tol, atol=tol * N * L)
    np.testing.assert_allclose(s2, (g64 * xhat).sum((0, 2)), rtol=tol, atol=tol * N * L)


def test_blocks_split_each_channel_into_chunks_of_about_4096_values():
    assert reference.bn_blocks(1, 1) == 1 and reference.bn_blocks(2, 4096) == 2
    assert reference.bn_blocks(128, 1024) == 32 and reference.bn_blocks(10 ** 6, 100) == 256


def test_bad_arguments_are_named():
    from minigrad import kernels

    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(ValueError, match="mode must be 0, 1, 2 or 3"):
        reference.bn_channel_sums(4, x)
    with pytest.raises(ValueError, match=r"must be \(N, C, L\)"):
        reference.bn_channel_sums(0, x[0])
    with pytest.raises(ValueError, match="mode must be 0, 1, 2 or 3"):
        kernels.bn_channel_sums(5, x)
    with pytest.raises(TypeError, match="dtype"):
        kernels.bn_channel_sums(0, x.astype(np.int32))
    with pytest.raises(ValueError, match="mean must have shape"):
        kernels.bn_channel_sums(1, x, mean=np.zeros(2, np.float32))
    with pytest.raises(TypeError, match="xhat must have dtype float32"):
        kernels.bn_channel_sums(2, x, xhat=np.zeros(x.shape, np.float64))
    with pytest.raises(ValueError, match="no values per channel"):
        kernels.bn_channel_sums(0, np.zeros((0, 3, 4), np.float32))
    with pytest.raises(TypeError, match="CuPy array"):
        kernels.bn_channel_sums(0, x)


# ------------------------------------------------------------------ the .cu file on host

_HOST_MAIN = r"""
#include "batchnorm.cu"
#include <cstdio>
#include <cstdlib>
#include <vector>

// One block's pass: each thread's sums, then the tree level by level (what channel_sums
// does with 256 threads); the block's sums in buf0[0], buf1[0].
template <typename A, int MODE>
static void block_pass(const A* x, const A* xhat, A mu, BnShape b, int c, long long start,
                       long long end, std::vector<A>& buf0, std::vector<A>& buf1) {
    for (int t = 0; t < BN_THREADS; ++t) {
        A s0 = A(0), s1 = A(0);
        thread_sums<A, A, MODE>(x, xhat, mu, b, c, start + t, end, BN_THREADS, s0, s1);
        buf0[t] = s0;
        buf1[t] = s1;
    }
    for (int stride = BN_THREADS / 2; stride > 0; stride >>= 1) {
        for (int t = 0; t < BN_THREADS; ++t) {
            tree_step(buf0.data(), t, stride);
            tree_step(buf1.data(), t, stride);
        }
    }
}

// The kernel's block and channel steps, one block after another, the partials in order;
// mode 3: mode 0's pass, the block's mean, mode 1's pass around it.
template <typename A, int MODE>
static void run(const A* x, const A* xhat, const A* mean, BnShape b, A eps, A* out0, A* out1,
                A* out2) {
    const long long M = (long long)b.N * b.L, chunk = (M + b.S - 1) / b.S;
    std::vector<A> part0(b.S), part1(b.S), buf0(BN_THREADS), buf1(BN_THREADS);
    constexpr int PASS1 = MODE == 3 ? 0 : MODE;
    for (int c = 0; c < b.C; ++c) {
        for (int s = 0; s < b.S; ++s) {
            const long long start = s * chunk, end = start + chunk < M ? start + chunk : M;
            block_pass<A, PASS1>(x, xhat, PASS1 == 1 ? mean[c] : A(0), b, c, start, end, buf0,
                                 buf1);
            part0[s] = buf0[0];
            part1[s] = buf1[0];
            if (MODE == 3) {
                const A mb = end > start ? buf0[0] / (A)(end - start) : A(0);
                block_pass<A, 1>(x, xhat, mb, b, c, start, end, buf0, buf1);
                part0[s] = buf0[0];
                part1[s] = mb;
            }
        }
        finish<A, MODE>(part0.data(), part1.data(), b.S, M, eps, c, out0, out1, out2);
    }
}

template <typename A>
static std::vector<A> load(const char* path, size_t n) {
    std::vector<A> v(n);
    FILE* f = std::fopen(path, "rb");
    if (!f || std::fread(v.data(), sizeof(A), n, f) != n) std::exit(3);
    std::fclose(f);
    return v;
}

template <typename A>
static int main_t(char** argv) {
    const int mode = std::atoi(argv[2]);
    const BnShape b = {std::atoi(argv[5]), std::atoi(argv[6]), std::atoi(argv[7]),
                       std::atoi(argv[8])};
    const size_t n = (size_t)b.N * b.C * b.L;
    std::vector<A> x = load<A>(argv[3], n), extra = load<A>(argv[4], mode == 2 ? n : b.C);
    std::vector<A> out(3 * b.C);
    const A eps = (A)std::atof(argv[9]);
    A* o = out.data();
    if (mode == 0) run<A, 0>(x.data(), nullptr, nullptr, b, eps, o, o + b.C, o + 2 * b.C);
    if (mode == 1) run<A, 1>(x.data(), nullptr, extra.data(), b, eps, o, o + b.C, o + 2 * b.C);
    if (mode == 2) run<A, 2>(x.data(), extra.data(), nullptr, b, eps, o, o + b.C, o + 2 * b.C);
    if (mode == 3) run<A, 3>(x.data(), nullptr, nullptr, b, eps, o, o + b.C, o + 2 * b.C);
    FILE* f = std::fopen(argv[10], "wb");
    if (!f || std::fwrite(out.data(), sizeof(A), out.size(), f) != out.size()) return 4;
    std::fclose(f);
    return 0;
}

// f32|f64 mode x_path extra_path N C L S eps out_path   (extra: mean for mode 1, xhat for 2;
// read but unused for modes 0 and 3)
int main(int argc, char** argv) {
    if (argc != 11) return 2;
    return argv[1][1] == '3' ? main_t<float>(argv) : main_t<double>(argv);
}
"""


@pytest.fixture(scope="module")
def host_program(tmp_path_factory):
    return build_host_program(tmp_path_factory, "batchnorm", _HOST_MAIN)


SHAPES = [(2, 3, 5), (3, 2, 2000), (128, 2, 64), (1, 1, 1), (5, 4, 1500)]


@pytest.mark.parametrize("tag, dtype", [("f32", np.float32), ("f64", np.float64)])
@pytest.mark.parametrize("shape", SHAPES)
def test_cu_file_on_host_equals_the_twin_bit_for_bit(host_program, shape, tag, dtype):
    folder, exe = host_program
    N, C, L = shape
    S = reference.bn_blocks(N, L)
    x, g, xhat = _data(shape, dtype, seed=5)
    (mean,) = reference.bn_channel_sums(0, x)
    for mode, data, extra, want in [
            (0, x, mean, reference.bn_channel_sums(0, x) + (mean,)),
            (1, x, mean, reference.bn_channel_sums(1, x, mean=mean, eps=1e-5)),
            (2, g, xhat, reference.bn_channel_sums(2, g, xhat=xhat)),
            (3, x, mean, reference.bn_channel_sums(3, x, eps=1e-5))]:
        paths = [folder / f"{tag}_{mode}_{name}" for name in ("x", "extra", "out")]
        data.tofile(paths[0])
        extra.tofile(paths[1])
        subprocess.run([str(exe), tag, str(mode), str(paths[0]), str(paths[1]), str(N),
                        str(C), str(L), str(S), "1e-5", str(paths[2])], timeout=60, check=True)
        got = np.fromfile(paths[2], dtype=dtype).reshape(3, C)
        n_out = {0: 1, 3: 3}.get(mode, 2)
        for k in range(n_out):
            np.testing.assert_array_equal(got[k].view(np.uint8), want[k].view(np.uint8),
                                          err_msg=f"mode {mode} output {k}")


# ------------------------------------------------------------------------------ on a GPU

@pytest.mark.parametrize("dtype", [np.float32, np.float64, np.float16])
@pytest.mark.parametrize("shape", SHAPES + [(128, 32, 1024)])
def test_kernels_equal_the_twin(cp, shape, dtype):
    """On a GPU, and on the host (the ``cp`` fixture: batchnorm.cu's text run by
    cuda_host.h, its blocks in a shuffled order, so the last block of a channel is not
    always the last one launched)."""
    from minigrad import kernels

    x, g, xhat = _data(shape, dtype, seed=6)
    (mean,) = reference.bn_channel_sums(0, x)
    want = [reference.bn_channel_sums(0, x), reference.bn_channel_sums(1, x, mean=mean, eps=1e-5),
            reference.bn_channel_sums(2, g, xhat=xhat),
            reference.bn_channel_sums(3, x, eps=1e-5)]
    for _ in range(2):  # a second launch: the tickets were reset by the first
        got = [kernels.bn_channel_sums(0, cp.asarray(x)),
               kernels.bn_channel_sums(1, cp.asarray(x), mean=cp.asarray(mean), eps=1e-5),
               kernels.bn_channel_sums(2, cp.asarray(g), xhat=cp.asarray(xhat)),
               kernels.bn_channel_sums(3, cp.asarray(x), eps=1e-5)]
        for mode, (outs, wants) in enumerate(zip(got, want)):
            for o, w in zip(outs, wants):
                np.testing.assert_array_equal(cp.asnumpy(o), w, err_msg=f"mode {mode}")
