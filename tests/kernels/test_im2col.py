"""im2col.cu and its NumPy twins (minigrad.kernels.reference.im2col / col2im): the twins
against loops written here from the definition, col2im as the exact adjoint of im2col, the
summation in float32 for half types, the checks; the .cu file's functions compiled by nvcc
into a host program, equal to the twins bit for bit (float32, float64, bfloat16); on a GPU,
the kernels against the twins (bit for bit: im2col moves values, col2im adds in the twins'
order)."""
import itertools
import subprocess

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from minigrad.kernels import reference

from minigrad import dtypes

from .kernels_testdata import build_host_program


@st.composite
def geometries(draw, max_side=6):
    """(x_shape, kernel, stride, padding (top, left), dilation, out_size) with the far
    padding implied by out_size (0 to 2 more rows/cols than the near side, as 'same' with
    even kernels and transposed convolutions' output padding need); empty dims allowed."""
    N, C = draw(st.integers(0, 2)), draw(st.integers(0, 3))
    H, W = draw(st.integers(1, max_side)), draw(st.integers(1, max_side))
    kh, kw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    sh, sw = draw(st.integers(1, 3)), draw(st.integers(1, 3))
    dh, dw = draw(st.integers(1, 2)), draw(st.integers(1, 2))
    pt, pl = draw(st.integers(0, 2)), draw(st.integers(0, 2))
    pb, pr = pt + draw(st.integers(0, 2)), pl + draw(st.integers(0, 2))
    Ho = (H + pt + pb - dh * (kh - 1) - 1) // sh + 1
    Wo = (W + pl + pr - dw * (kw - 1) - 1) // sw + 1
    return (N, C, H, W), (kh, kw), (sh, sw), (pt, pl), (dh, dw), (max(Ho, 0), max(Wo, 0))


def taps(x_shape, kernel, stride, padding, dilation, out_size):
    """Every (n, c, h, w, k, p) with output pixel p = ho·Wo + wo reading input pixel (h, w)
    = (ho·sh − pt + i·dh, wo·sw − pl + j·dw) inside the image through kernel offset
    k = (c·kh + i)·kw + j: the definition, one tap at a time."""
    N, C, H, W = x_shape
    (kh, kw), (sh, sw), (pt, pl), (dh, dw), (Ho, Wo) = kernel, stride, padding, dilation, \
        out_size
    for n, c, i, j, ho, wo in itertools.product(range(N), range(C), range(kh), range(kw),
                                                range(Ho), range(Wo)):
        h, w = ho * sh - pt + i * dh, wo * sw - pl + j * dw
        if 0 <= h < H and 0 <= w < W:
            yield n, c, h, w, (c * kh + i) * kw + j, ho * Wo + wo


def im2col_loop(x, *geo):
    """cols[k, n, p] = x[n, c, h, w] at every tap, zero elsewhere."""
    (kh, kw), (Ho, Wo) = geo[0], geo[-1]
    cols = np.zeros((x.shape[1] * kh * kw, x.shape[0], Ho * Wo), dtype=x.dtype)
    for n, c, h, w, k, p in taps(x.shape, *geo):
        cols[k, n, p] = x[n, c, h, w]
    return cols


def col2im_loop(gcols, x_shape, *geo):
    """Scatter form of the adjoint: gcols[n, k, p] added (in float64) to x's pixel at its
    tap."""
    gx = np.zeros(x_shape)
    for n, c, h, w, k, p in taps(x_shape, *geo):
        gx[n, c, h, w] += gcols[n, k, p]
    return gx


@given(geometries())
def test_im2col_twin_equals_the_definition(g):
    x_shape, *geo = g
    x = np.random.default_rng(0).standard_normal(x_shape)
    np.testing.assert_array_equal(reference.im2col(x, *geo), im2col_loop(x, *geo))


@given(geometries())
def test_col2im_twin_equals_the_scatter_and_is_the_adjoint(g):
    x_shape, kernel, stride, padding, dilation, (Ho, Wo) = g
    geo = (kernel, stride, padding, dilation, (Ho, Wo))
    rng = np.random.default_rng(1)
    N, C = x_shape[:2]
    gcols = rng.standard_normal((N, C * kernel[0] * kernel[1], Ho * Wo))
    gx = reference.col2im(gcols, x_shape, *geo)
    np.testing.assert_allclose(gx, col2im_loop(gcols, x_shape, *geo), rtol=1e-13, atol=1e-13)
    # <im2col(x), c> = <x, col2im(c)>, with c read in each function's layout
    x = rng.standard_normal(x_shape)
    lhs = np.vdot(reference.im2col(x, *geo), gcols.transpose(1, 0, 2))
    np.testing.assert_allclose(lhs, np.vdot(x, gx), rtol=1e-12, atol=1e-12)


HALVES = [np.float16] + ([dtypes.bfloat16] if dtypes.bfloat16 is not None else [])


@pytest.mark.parametrize("dtype", HALVES)
def test_col2im_sums_half_values_in_float32_and_rounds_once(dtype):
    # The centre of a 3x3 image under a padded 3x3 kernel is in all nine fields: 1 (the
    # centre offset, fourth in order) and eight times 2^-11. Summed in float32 and rounded
    # once: 1 + 2^-8, exact in float16. Summed in float16 step by step: the four 2^-11
    # after the 1 are a quarter ulp each and vanish, 1 + 2^-9.
    geo = ((3, 3), (1, 1), (1, 1), (1, 1), (3, 3))
    gcols = np.full((1, 9, 9), 2.0 ** -11, dtype=np.float32)
    gcols[0, 4, 4] = 1.0  # the centre offset of the centre pixel
    gcols = gcols.astype(dtype)
    gx = reference.col2im(gcols, (1, 1, 3, 3), *geo)
    assert gx.dtype == dtype
    want = np.float32(1.0) + np.float32(8 * 2.0 ** -11)  # 8 more fields cover the centre
    assert gx[0, 0, 1, 1] == np.array(want).astype(dtype)
    if dtype == np.float16:
        assert gx[0, 0, 1, 1] == np.float16(1 + 2.0 ** -8) != np.float16(1 + 2.0 ** -9)


def test_bad_geometry_and_shapes_are_named():
    x = np.zeros((1, 1, 3, 3))
    with pytest.raises(ValueError, match="bad geometry"):
        reference.im2col(x, (0, 3), (1, 1), (0, 0), (1, 1), (1, 1))
    with pytest.raises(ValueError, match="bad geometry"):
        reference.im2col(x, (3, 3), (1, 1), (-1, 0), (1, 1), (1, 1))
    with pytest.raises(ValueError, match="gcols must have shape"):
        reference.col2im(np.zeros((1, 8, 1)), (1, 1, 3, 3), (3, 3), (1, 1), (0, 0), (1, 1),
                         (1, 1))


def test_launchers_refuse_host_arrays_and_bad_dtypes():
    from minigrad import kernels

    geo = ((1, 1), (1, 1), (0, 0), (1, 1), (2, 2))
    with pytest.raises(TypeError, match="CuPy array"):
        kernels.im2col(np.zeros((1, 1, 2, 2)), *geo)
    with pytest.raises(TypeError, match="dtype"):
        kernels.im2col(np.zeros((1, 1, 2, 2), dtype=np.int32), *geo)
    with pytest.raises(ValueError, match="4-D"):
        kernels.im2col(np.zeros((1, 2, 2)), *geo)
    with pytest.raises(TypeError, match="CuPy array"):
        kernels.col2im(np.zeros((1, 1, 4)), (1, 1, 2, 2), *geo)


# ------------------------------------------------------------------------------ on a GPU

GPU_GEOMETRIES = [((2, 3, 7, 6), (3, 3), (1, 1), (1, 1), (1, 1), (7, 6)),
                  ((3, 2, 9, 8), (3, 3), (2, 2), (1, 1), (1, 1), (5, 4)),
                  ((1, 4, 8, 8), (2, 2), (1, 1), (0, 0), (1, 1), (8, 8)),   # 'same', even k
                  ((2, 2, 9, 9), (3, 2), (2, 1), (2, 0), (2, 3), (6, 6)),
                  ((4, 5, 16, 16), (1, 1), (2, 2), (0, 0), (1, 1), (8, 8)),
                  ((0, 3, 4, 4), (3, 3), (1, 1), (1, 1), (1, 1), (4, 4)),
                  ((2, 3, 10, 11), (3, 2), (3, 3), (1, 0), (1, 2), (4, 3))]  # stride 3


@pytest.mark.parametrize("dtype", [np.float32, np.float64] + HALVES)
@pytest.mark.parametrize("g", GPU_GEOMETRIES)
def test_kernels_equal_their_twins(cp, g, dtype):
    """On a GPU, and on the host (the ``cp`` fixture: im2col.cu's text run by cuda_host.h)."""
    from minigrad import kernels

    x_shape, *geo = g
    rng = np.random.default_rng(2)
    x = rng.standard_normal(x_shape).astype(dtype)
    np.testing.assert_array_equal(cp.asnumpy(kernels.im2col(cp.asarray(x), *geo)),
                                  reference.im2col(x, *geo))
    N, C = x_shape[:2]
    (kh, kw), Ho, Wo = geo[0], *geo[-1]
    gcols = rng.standard_normal((N, C * kh * kw, Ho * Wo)).astype(dtype)
    np.testing.assert_array_equal(
        cp.asnumpy(kernels.col2im(cp.asarray(gcols), x_shape, *geo)),
        reference.col2im(gcols, x_shape, *geo))


# ------------------------------------------------------------------ the .cu file on host

_HOST_MAIN = r"""
#include "im2col.cu"
#include <cstdio>
#include <cstdlib>
#include <type_traits>
#include <vector>

// im2col|col2im f32|f64|b16|bf16 in_path out_path N C H W kh kw sh sw pt pl dh dw Ho Wo
//     offset (the output written `offset` elements into a 16-byte aligned buffer: 0 takes
//     the 16-byte stores, 1 the element-by-element ones)
template <typename T>
static int run(bool forward, const char* in_path, const char* out_path, const Geometry& g,
               int offset) {
    const long long K = (long long)g.C * g.kh * g.kw, P = (long long)g.Ho * g.Wo;
    const long long n_x = (long long)g.N * g.C * g.H * g.W, n_cols = K * g.N * P;
    const long long n_out = forward ? n_cols : n_x;
    std::vector<T> in(forward ? n_x : n_cols);
    std::vector<uint4> buffer((n_out + offset) * sizeof(T) / sizeof(uint4) + 1);
    T* out = reinterpret_cast<T*>(buffer.data()) + offset;
    FILE* f = std::fopen(in_path, "rb");
    if (!f || std::fread(in.data(), sizeof(T), in.size(), f) != in.size()) return 3;
    std::fclose(f);
    if constexpr (std::is_same<T, unsigned short>::value) {  // im2col's 16-bit kernel
        im2col<T>(in.data(), out, g, 0, 1);
    } else if (forward) {
        im2col<T>(in.data(), out, g, 0, 1);
    } else {
        col2im<T>(in.data(), out, g, 0, 1);
    }
    f = std::fopen(out_path, "wb");
    if (!f || std::fwrite(out, sizeof(T), n_out, f) != (size_t)n_out) return 4;
    std::fclose(f);
    return 0;
}

int main(int argc, char** argv) {
    if (argc != 20) return 2;
    const int offset = std::atoi(argv[19]);
    int v[14];
    for (int i = 0; i < 14; ++i) v[i] = std::atoi(argv[5 + i]);
    const Geometry g = {v[0], v[1], v[2], v[3], v[4], v[5], v[6], v[7], v[8], v[9], v[10],
                        v[11], v[12], v[13]};
    const bool forward = argv[1][0] == 'i';
    const char* t = argv[2];
    if (t[1] == '3') return run<float>(forward, argv[3], argv[4], g, offset);
    if (t[1] == '6') return run<double>(forward, argv[3], argv[4], g, offset);
    if (forward) return run<unsigned short>(forward, argv[3], argv[4], g, offset);
    return run<bf16>(forward, argv[3], argv[4], g, offset);
}
"""

@pytest.fixture(scope="module")
def host_program(tmp_path_factory):
    return build_host_program(tmp_path_factory, "im2col", _HOST_MAIN)


HOST_DTYPES = [("f32", np.float32), ("f64", np.float64)] + (
    [("bf16", dtypes.bfloat16)] if dtypes.bfloat16 is not None else [])


@pytest.mark.parametrize("offset", [0, 1])
@pytest.mark.parametrize("tag, dtype", HOST_DTYPES)
@pytest.mark.parametrize("g", GPU_GEOMETRIES)
def test_cu_file_on_host_equals_the_twins_bit_for_bit(host_program, g, tag, dtype, offset):
    """Each thread's group of V = 16 bytes / itemsize outputs, with its 16-byte store
    (``offset`` 0: an aligned output) or element by element (1: misaligned by one), and
    the last, partial group of sizes that are not multiples of V."""
    folder, exe = host_program
    x_shape, *geo = g
    geometry = reference.conv_geometry(x_shape, *geo)
    N, C, H, W, kh, kw, *_, Ho, Wo = geometry
    rng = np.random.default_rng(4)
    x = rng.standard_normal(x_shape).astype(dtype)
    gcols = rng.standard_normal((N, C * kh * kw, Ho * Wo)).astype(dtype)
    for mode, data, want in [("im2col", x, reference.im2col(x, *geo)),
                             ("col2im", gcols, reference.col2im(gcols, x_shape, *geo))]:
        src, dst = folder / f"{mode}_{tag}.in", folder / f"{mode}_{tag}.out"
        data.tofile(src)
        kind = "b16" if mode == "im2col" and tag == "bf16" else tag
        subprocess.run([str(exe), mode, kind, str(src), str(dst),
                        *(str(v) for v in geometry), str(offset)], timeout=60, check=True)
        got = np.fromfile(dst, dtype=dtype).reshape(want.shape)
        np.testing.assert_array_equal(got.view(np.uint8), want.view(np.uint8), err_msg=mode)
