"""The CUDA generator (``kernels/philox.cu``, ``minigrad.random.Philox``) without a GPU:

* the NumPy twin (``reference.philox4x32_10``) gives Random123's known-answer vectors;
* the .cu file's own ``__host__ __device__`` functions -- the rounds, the stream's counter and
  key, every transform the kernels write -- are compiled by nvcc into a host program whose
  output equals the twin bit for bit (the normals to a few ulp: another libm);
* the numbers look like their distributions (fixed seeds: no flaky statistics);
* the generator's state is (seed, offset) and a restored state repeats the draws exactly.

On a GPU (``-m gpu``) the kernels themselves are compared with the twin run on CuPy.
"""
import subprocess

import numpy as np
import pytest
from minigrad.kernels import reference as ref

import minigrad as mg
from minigrad import _backend
from minigrad.random import Philox

from .kernels_testdata import NVCC, build_host_program

needs_nvcc = pytest.mark.skipif(NVCC is None, reason="nvcc not found")

# Random123's kat_vectors, "philox4x32 10": counter (4 words), key (2 words) -> 4 words.
KAT = [((0, 0, 0, 0), (0, 0), (0x6627E8D5, 0xE169C58D, 0xBC57AC4C, 0x9B00DBD8)),
       ((0xFFFFFFFF,) * 4, (0xFFFFFFFF,) * 2, (0x408F276D, 0x41C83B0E, 0xA20BC7C6, 0x6D5451FD)),
       ((0x243F6A88, 0x85A308D3, 0x13198A2E, 0x03707344), (0xA4093822, 0x299F31D0),
        (0xD16CFE09, 0x94FDCCEB, 0x5001E420, 0x24126EA1))]

KINDS = sorted(ref.PHILOX_PER_BLOCK)
# (seed, offset, n, range_): small and 64-bit seeds and offsets (the counter's and key's high
# words), n that end inside a block, ranges of 1, small, odd and near 2^64.
CASES = [(0, 0, 1, 1), (7, 3, 1001, 10), (2 ** 40 + 5, 2 ** 33 + 17, 4099, 2 ** 64 - 1),
         (2 ** 64 - 1, 2 ** 64 - 3000, 1027, 3 ** 39)]

_HOST_MAIN = r"""
#include "philox.cu"
#include <cstdio>
#include <cstdlib>

template <typename T, int P, typename F>
static void dump(const char* path, long long n, F block) {
    FILE* f = std::fopen(path, "wb");
    for (long long i = 0; P * i < n; ++i) {
        T v[P];
        block((u64)i, v);
        for (int j = 0; j < P && P * i + j < n; ++j) std::fwrite(&v[j], sizeof(T), 1, f);
    }
    std::fclose(f);
}

int main(int argc, char** argv) {
    // argv: out_prefix seed offset n range, or "kat" c0 c1 c2 c3 k0 k1
    if (argv[1][0] == 'k') {
        u32 a[6];
        for (int j = 0; j < 6; ++j) a[j] = (u32)std::strtoul(argv[2 + j], 0, 16);
        PhiloxBlock x = philox4x32_10(a[0], a[1], a[2], a[3], a[4], a[5]);
        std::printf("%08x %08x %08x %08x\n", x.w[0], x.w[1], x.w[2], x.w[3]);
        return 0;
    }
    const u64 seed = std::strtoull(argv[2], 0, 10), offset = std::strtoull(argv[3], 0, 10);
    const long long n = std::strtoll(argv[4], 0, 10);
    const u64 range = std::strtoull(argv[5], 0, 10);
    char path[4096];
    std::snprintf(path, sizeof path, "%s_uniform_f32.bin", argv[1]);
    dump<float, 4>(path, n, [&](u64 i, float* v) { block_uniform_f32(i, seed, offset, v); });
    std::snprintf(path, sizeof path, "%s_uniform_f64.bin", argv[1]);
    dump<double, 2>(path, n, [&](u64 i, double* v) { block_uniform_f64(i, seed, offset, v); });
    std::snprintf(path, sizeof path, "%s_normal_f32.bin", argv[1]);
    dump<float, 4>(path, n, [&](u64 i, float* v) { block_normal_f32(i, seed, offset, v); });
    std::snprintf(path, sizeof path, "%s_normal_f64.bin", argv[1]);
    dump<double, 2>(path, n, [&](u64 i, double* v) { block_normal_f64(i, seed, offset, v); });
    std::snprintf(path, sizeof path, "%s_below_u64.bin", argv[1]);
    dump<u64, 2>(path, n, [&](u64 i, u64* v) { block_below_u64(i, seed, offset, range, v); });
    std::snprintf(path, sizeof path, "%s_bits_u64.bin", argv[1]);
    dump<u64, 2>(path, n, [&](u64 i, u64* v) { block_bits_u64(i, seed, offset, v); });
    return 0;
}
"""


def _check_equal(kind, got, want):
    """Bit for bit, but the normals (log/cos/sin of two math libraries: a few ulp)."""
    assert got.dtype == want.dtype and got.shape == want.shape, (kind, got.shape, want.shape)
    if kind.startswith("normal"):
        rtol = 2e-6 if kind.endswith("f32") else 1e-14
        np.testing.assert_allclose(got, want, rtol=rtol, atol=rtol, err_msg=kind)
    else:
        bad = np.flatnonzero(got != want)
        assert bad.size == 0, f"{kind}: {bad.size} values differ, first at {bad[0]}: " \
                              f"{got[bad[0]]!r} != {want[bad[0]]!r}"


# --------------------------------------------------------------------------- the NumPy twin


@pytest.mark.parametrize("counter,key,words", KAT)
def test_reference_gives_random123_known_answers(counter, key, words):
    out = ref.philox4x32_10(np.array([counter], np.uint32), np.array([key], np.uint32))
    assert out.dtype == np.uint32
    assert out[0].tolist() == list(words)


def test_stream_block_is_philox_of_its_index_and_the_seed():
    seed, offset = 2 ** 36 + 11, 2 ** 32 - 2  # crosses the counter's word boundary
    blocks = ref.philox_blocks(4, seed, offset)
    for i in range(4):
        b = offset + i
        c = np.array([[b & 0xFFFFFFFF, b >> 32, 0, 0]], np.uint32)
        k = np.array([[seed & 0xFFFFFFFF, seed >> 32]], np.uint32)
        assert blocks[i].tolist() == ref.philox4x32_10(c, k)[0].tolist()


def test_mulhi_u64_equals_python_integers():
    rng = np.random.default_rng(5)
    a = rng.integers(0, 2 ** 64, 2000, dtype=np.uint64, endpoint=False)
    b = rng.integers(0, 2 ** 64, 2000, dtype=np.uint64, endpoint=False)
    a[:3], b[:3] = 2 ** 64 - 1, [2 ** 64 - 1, 1, 0]
    got = ref._mulhi_u64(a, b)
    assert got.tolist() == [(int(x) * int(y)) >> 64 for x, y in zip(a, b)]


@pytest.mark.parametrize("kind", KINDS)
def test_fill_is_cut_from_whole_blocks(kind):
    """A draw of n values is the first n of the draw of whole blocks: block i gives values
    [P·i, P·i + P)."""
    P = ref.PHILOX_PER_BLOCK[kind]
    rng_ = 12345 if kind == "below_u64" else None
    whole = ref.philox_fill(kind, 5 * P, 9, 4, rng_)
    for n in (1, P + 1, 3 * P - 1):
        _check_equal(kind, ref.philox_fill(kind, n, 9, 4, rng_), whole[:n])
    later = ref.philox_fill(kind, 2 * P, 9, 6, rng_)  # offset + 2 blocks
    _check_equal(kind, later, whole[2 * P:4 * P])


def test_fill_rejects_unknown_kind_and_bad_range():
    with pytest.raises(ValueError, match="unknown Philox kind"):
        ref.philox_fill("gamma", 4, 0, 0)
    with pytest.raises(ValueError, match="range_"):
        ref.philox_fill("below_u64", 4, 0, 0, 0)
    with pytest.raises(ValueError, match="seed and offset"):
        ref.philox_fill("bits_u64", 4, 0, 2 ** 64)


# --------------------------------------------------------------------- the .cu file on host


@pytest.fixture(scope="module")
def host_program(tmp_path_factory):
    return build_host_program(tmp_path_factory, "philox", _HOST_MAIN)


@needs_nvcc
@pytest.mark.parametrize("counter,key,words", KAT)
def test_cu_rounds_give_random123_known_answers(host_program, counter, key, words):
    _, exe = host_program
    out = subprocess.run([str(exe), "kat", *[f"{v:x}" for v in (*counter, *key)]],
                         capture_output=True, text=True, timeout=60, check=True).stdout
    assert [int(w, 16) for w in out.split()] == list(words)


@needs_nvcc
@pytest.mark.parametrize("seed,offset,n,range_", CASES)
def test_cu_transforms_equal_the_reference(host_program, seed, offset, n, range_):
    folder, exe = host_program
    prefix = folder / f"case_{seed}_{offset}_{n}"
    subprocess.run([str(exe), str(prefix), str(seed), str(offset), str(n), str(range_)],
                   timeout=60, check=True)
    for kind in KINDS:
        got = np.fromfile(f"{prefix}_{kind}.bin", dtype=ref.PHILOX_DTYPES[kind])
        want = ref.philox_fill(kind, n, seed, offset, range_ if kind == "below_u64" else None)
        _check_equal(kind, got, want)


# ------------------------------------------------------------------------- distributions


def test_uniforms_fill_the_unit_interval():
    for kind, bits in (("uniform_f32", 24), ("uniform_f64", 53)):
        u = ref.philox_fill(kind, 200_000, 2024, 0)
        assert u.min() >= 0 and u.max() < 1
        assert abs(u.mean() - 0.5) < 3e-3 and abs(u.var() - 1 / 12) < 2e-3
        assert np.all(u * 2.0 ** bits == np.floor(u * 2.0 ** bits))  # multiples of 2^-bits
        counts = np.bincount((u * 20).astype(int), minlength=20)
        chi2 = ((counts - 1e4) ** 2 / 1e4).sum()
        assert chi2 < 60, (kind, chi2)  # 19 degrees of freedom: P(chi2 > 60) < 1e-5


def test_normals_have_the_moments_and_tails_of_n01():
    for kind in ("normal_f32", "normal_f64"):
        z = ref.philox_fill(kind, 400_000, 99, 12).astype(np.float64)
        assert np.isfinite(z).all()
        assert abs(z.mean()) < 6e-3 and abs(z.std() - 1) < 6e-3
        assert abs(np.mean(z ** 4) - 3) < 0.05                      # kurtosis
        assert abs(np.mean(np.abs(z) < 1) - 0.682689) < 4e-3
        assert abs(np.mean(np.abs(z) > 3) - 0.0026998) < 6e-4


def test_below_covers_the_range_evenly_and_never_reaches_it():
    v = ref.philox_fill("below_u64", 120_000, 3, 0, 12)
    assert v.max() < 12
    counts = np.bincount(v.astype(np.int64), minlength=12)
    assert ((counts - 1e4) ** 2 / 1e4).sum() < 45  # 11 degrees of freedom
    huge = ref.philox_fill("below_u64", 10_000, 3, 0, 2 ** 64 - 1)
    assert huge.max() > 2 ** 63 and huge.min() < 2 ** 62  # the high half is reached


# --------------------------------------------------------------------- the generator state


def test_generator_draws_advance_the_offset_by_whole_blocks():
    g = Philox(5, xp=np)
    g.random(5, np.float32)            # 2 blocks of 4
    g.random((3, 3), np.float64)       # 5 blocks of 2
    g.standard_normal(4, np.float32)   # 1
    g.integers(0, 10, 3)               # 2
    g.permutation(6)                   # 3
    assert g.get_state() == {"seed": 5, "offset": 13}


def test_generator_values_are_the_reference_stream():
    g = Philox(2 ** 50 + 3, offset=7, xp=np)
    u = g.random((2, 3), np.float32)
    z = g.standard_normal(5, np.float64)
    assert u.shape == (2, 3) and u.dtype == np.float32
    np.testing.assert_array_equal(u.ravel(), ref.philox_fill("uniform_f32", 6, 2 ** 50 + 3, 7))
    np.testing.assert_array_equal(z, ref.philox_fill("normal_f64", 5, 2 ** 50 + 3, 9))


def test_restored_state_repeats_every_kind_of_draw():
    g = Philox(123, xp=np)
    g.random(10)
    state = g.get_state()

    def draws():
        return [g.random(7, np.float32), g.uniform(-2.0, 3.0, (2, 2)),
                g.standard_normal(9), g.integers(-5, 5, 11), g.permutation(13)]

    first = draws()
    g.set_state(state)
    for a, b in zip(first, draws()):
        np.testing.assert_array_equal(a, b)
    g2 = Philox(124, xp=np)
    g2.set_state(state)
    np.testing.assert_array_equal(g2.random(7, np.float32), first[0])


def test_generator_integers_permutation_and_uniform():
    g = Philox(0, xp=np)
    x = g.integers(-3, 4, 5000)
    assert x.dtype == np.int64 and x.min() == -3 and x.max() == 3
    full = g.integers(-2 ** 63, 2 ** 63, 4000)  # the whole int64 range
    assert full.min() < -2 ** 61 and full.max() > 2 ** 61
    p = g.permutation(1000)
    assert p.dtype == np.int64 and sorted(p.tolist()) == list(range(1000))
    assert not np.array_equal(p, np.arange(1000))
    u = g.uniform(-2.0, 3.0, 1000, np.float32)
    assert u.dtype == np.float32 and u.min() >= -2 and u.max() < 3
    assert g.permutation(0).shape == (0,) and g.random(0).shape == (0,)


def test_generator_rejects_empty_ranges_and_bad_state():
    g = Philox(0, xp=np)
    with pytest.raises(ValueError, match="greater than low"):
        g.integers(3, 3, 2)
    with pytest.raises(ValueError, match="does not fit int64"):
        g.integers(0, 2 ** 63 + 1, 2)
    with pytest.raises(ValueError, match="offset"):
        g.set_state({"seed": 0, "offset": -1})
    g.set_state({"seed": 0, "offset": 2 ** 64 - 1})
    with pytest.raises(RuntimeError, match="manual_seed"):
        g.random(8)


def test_rng_state_carries_the_cuda_offset_without_a_gpu():
    """get_rng_state/set_rng_state save and restore the CUDA stream's position on any
    machine (a GPU checkpoint loads on a CPU one); no CuPy is needed until a CUDA draw."""
    mg.manual_seed(11)
    cuda_gen = mg.random.generator("cuda")
    assert cuda_gen.get_state() == {"seed": 11, "offset": 0}
    state = mg.get_rng_state()
    assert state["cuda_offset"] == 0
    state = dict(state, cuda_offset=12345)
    mg.set_rng_state(state)
    assert mg.random.generator("cuda").get_state() == {"seed": 11, "offset": 12345}
    assert mg.get_rng_state()["cuda_offset"] == 12345
    old = {k: v for k, v in state.items() if k != "cuda_offset"}  # an older checkpoint
    mg.set_rng_state(old)
    assert mg.random.generator("cuda").offset == 0
    mg.manual_seed(0)


# ------------------------------------------------------------------------------- on a GPU



@pytest.mark.parametrize("seed,offset,n,range_", CASES + [(31, 0, 3_000_001, 1000)])
@pytest.mark.parametrize("kind", KINDS)
def test_kernels_equal_the_reference(cp, kind, seed, offset, n, range_):
    """On a GPU, and on the host (the ``cp`` fixture: philox.cu's text run by cuda_host.h,
    at most 200k values there)."""
    from minigrad.kernels import _cuda

    from .conftest import on_host

    if on_host(cp):
        n = min(n, 200_003)
    r = range_ if kind == "below_u64" else None
    got = _cuda.philox_fill(kind, n, seed, offset, r)
    want = ref.philox_fill(kind, n, seed, offset, r, xp=cp)  # the twin, on the GPU
    _check_equal(kind, cp.asnumpy(got), cp.asnumpy(want))
    host = ref.philox_fill(kind, min(n, 5000), seed, offset, r)  # and on NumPy
    _check_equal(kind, cp.asnumpy(got[:host.size]), host)


@pytest.mark.gpu
@pytest.mark.skipif(not _backend.cuda_available(), reason="needs CuPy and a CUDA device")
def test_gpu_dropout_masks_repeat_after_restoring_the_rng_state():
    mg.manual_seed(3)
    x = mg.ones(1000, 37, device="cuda")
    drop = mg.nn.Dropout(0.4)
    drop(x)
    state = mg.get_rng_state()
    first = [drop(x).cpu().numpy() for _ in range(3)]
    mg.manual_seed(99)  # anything in between
    drop(x)
    mg.set_rng_state(state)
    for a in first:
        np.testing.assert_array_equal(drop(x).cpu().numpy(), a)
    kept = float((first[0] != 0).mean())
    assert abs(kept - 0.6) < 0.01
    mg.manual_seed(0)
