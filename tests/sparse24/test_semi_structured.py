"""2:4 semi-structured sparsity: selection, the packed format (decoded by hand), the CPU
kernels against dense products, the GPU layout, gradients, and every validation error."""
import doctest

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st
from minigrad.kernels import reference, sparse24_cpu

import minigrad as mg
from minigrad.sparse import semi_structured as ss
from minigrad.sparse.semi_structured import (
    SparseSemiStructuredTensor,
    mm24,
    mm_24,
    to_sparse_24,
    to_sparse_semi_structured,
)
from minigrad.testing import assert_close


def prune_by_hand(W):
    """The 2:4 pruned matrix, by a per-group loop: the two largest |w|, ties to the lower
    position (a stable sort of -|w|)."""
    out = np.zeros_like(W)
    M, K = W.shape
    for m in range(M):
        for g in range(K // 4):
            grp = W[m, 4 * g:4 * g + 4]
            keep = sorted(sorted(range(4), key=lambda p: -abs(grp[p]))[:2])
            out[m, 4 * g + keep[0]] = grp[keep[0]]
            out[m, 4 * g + keep[1]] = grp[keep[1]]
    return out


def decode_by_hand(values, meta, K):
    """Read the CPU packed format exactly as documented: byte g // 2, low nibble for even g,
    high for odd; nibble = (i1 << 2) | i0; values at columns 2g, 2g + 1."""
    M = values.shape[0]
    dense = np.zeros((M, K), dtype=values.dtype)
    for m in range(M):
        for g in range(K // 4):
            byte = int(meta[m, g // 2])
            nib = (byte >> 4) if g % 2 else (byte & 0xF)
            i0, i1 = nib & 3, nib >> 2
            assert i0 < i1
            dense[m, 4 * g + i0] = values[m, 2 * g]
            dense[m, 4 * g + i1] = values[m, 2 * g + 1]
    return dense


@st.composite
def matrices(draw, max_rows=6, max_groups=5, ties=False):
    M = draw(st.integers(1, max_rows))
    G = draw(st.integers(1, max_groups))
    if ties:  # few distinct magnitudes and signs: many ties, zeros, all-zero groups
        elems = st.sampled_from([0.0, 0.0, 1.0, -1.0, 2.0, -2.0])
    else:
        elems = st.floats(-4, 4, allow_nan=False, width=64)
    flat = draw(st.lists(elems, min_size=M * 4 * G, max_size=M * 4 * G))
    return np.array(flat, dtype=np.float64).reshape(M, 4 * G)


# ------------------------------------------------------------------------- the format


def test_worked_example_of_the_docstring():
    W = mg.tensor([[0.1, -3.0, 2.0, 0.5, 0.0, 0.0, 0.0, 7.0]])
    S = to_sparse_24(W)
    assert S.values().tolist() == [[-3.0, 2.0, 0.0, 7.0]]
    assert S.meta.dtype == np.uint8 and S.meta.tolist() == [[0xC9]]
    i0, i1 = S.positions()
    assert i0.tolist() == [[1, 0]] and i1.tolist() == [[2, 3]]
    assert S.to_dense().tolist() == [[0.0, -3.0, 2.0, 0.0, 0.0, 0.0, 0.0, 7.0]]


def test_odd_group_count_pads_the_high_nibble_with_0b0100():
    S = to_sparse_24(mg.tensor([[0.0, 0.0, 5.0, 6.0] * 3], dtype=mg.float64))
    assert S.meta.shape == (1, 2)
    # groups 0, 1: code (3 << 2) | 2 = 0xE; group 2 low nibble 0xE, padding 0x4 high
    assert S.meta.tolist() == [[0xEE, 0x4E]]


@given(matrices())
def test_round_trip_and_pattern(W):
    S = to_sparse_24(W)
    dense = S.to_dense().numpy()
    np.testing.assert_array_equal(dense, prune_by_hand(W))
    M, K = W.shape
    groups = dense.reshape(M, K // 4, 4)
    assert ((groups != 0).sum(-1) <= 2).all()
    # the kept ones are the 2 largest: min |kept| >= max |pruned| in every group
    mask = S.mask().numpy().reshape(M, K // 4, 4)
    assert (mask.sum(-1) == 2).all()
    a = np.abs(W).reshape(M, K // 4, 4)
    assert (np.where(mask, a, np.inf).min(-1) >= np.where(mask, -np.inf, a).max(-1)).all()
    # the packed format, decoded by hand, gives the same matrix
    np.testing.assert_array_equal(decode_by_hand(S.values().numpy(), S.meta, K), dense)
    # a 2:4 matrix converts without pruning, to the same values and metadata
    S2 = to_sparse_semi_structured(dense)
    np.testing.assert_array_equal(S2.to_dense().numpy(), dense)


@given(matrices(ties=True))
def test_ties_go_to_the_lower_position(W):
    S = to_sparse_24(W)
    np.testing.assert_array_equal(S.to_dense().numpy(), prune_by_hand(W))
    np.testing.assert_array_equal(decode_by_hand(S.values().numpy(), S.meta, W.shape[1]),
                                  prune_by_hand(W))


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dtypes_round_trip(dtype):
    W = np.random.default_rng(1).standard_normal((5, 12)).astype(dtype)
    S = to_sparse_24(W)
    assert S.dtype == dtype and S.values().dtype == dtype
    np.testing.assert_array_equal(S.to_dense().numpy(), prune_by_hand(W))


def test_helpers_pack_unpack_are_inverse():
    rng = np.random.default_rng(2)
    pairs = np.array([(0, 1), (0, 2), (0, 3), (1, 2), (1, 3), (2, 3)])
    pick = pairs[rng.integers(0, 6, size=(4, 7))]
    i0, i1 = pick[..., 0], pick[..., 1]
    r0, r1 = ss.unpack_meta(ss.pack_meta(i0, i1), 7)
    np.testing.assert_array_equal(r0, i0)
    np.testing.assert_array_equal(r1, i1)


# ------------------------------------------------------------------------- products


def _pruned_pair(M, K, N, dtype, seed=0):
    rng = np.random.default_rng(seed)
    W = rng.standard_normal((M, K)).astype(dtype)
    D = rng.standard_normal((K, N)).astype(dtype)
    return W, prune_by_hand(W), D


@given(matrices(), st.integers(1, 6))
def test_cpu_mm24_equals_dense_product_of_the_pruned_matrix(W, N):
    D = np.random.default_rng(N).standard_normal((W.shape[1], N))
    S = to_sparse_24(W)
    assert_close(mm_24(S, mg.tensor(D)), prune_by_hand(W) @ D, rtol=1e-12, atol=1e-12)
    assert_close(S @ mg.tensor(D[:, 0]), prune_by_hand(W) @ D[:, 0], rtol=1e-12, atol=1e-12)
    G = np.random.default_rng(N + 1).standard_normal((N, W.shape[0]))
    assert_close(G @ S, G @ prune_by_hand(W), rtol=1e-12, atol=1e-12)  # NumPy defers to S
    # (Tensor @ S needs Tensor.__matmul__ to return NotImplemented for sparse operands)
    assert_close(S.__rmatmul__(mg.tensor(G)), G @ prune_by_hand(W), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("dtype,tol", [(np.float32, 1e-5), (np.float64, 1e-12),
                                       (np.float16, 2e-2)])
def test_kernels_equal_their_references(dtype, tol):
    W, P, D = _pruned_pair(9, 24, 7, dtype)
    S = to_sparse_24(W)
    v, meta = S.values().numpy(), S.meta
    G = np.random.default_rng(3).standard_normal((9, 7)).astype(dtype)
    f64 = lambda a: np.asarray(a, dtype=np.float64)
    for got, ref in [
        (sparse24_cpu.mm24(v, meta, D), ss.reference_mm24(f64(v), meta, f64(D))),
        (sparse24_cpu.mm24_t(v, meta, G), ss.reference_mm24_t(f64(v), meta, f64(G))),
        (sparse24_cpu.sddmm24(meta, G, D), ss.reference_sddmm24(meta, f64(G), f64(D))),
    ]:
        assert got.dtype == dtype
        assert_close(got, ref, rtol=tol, atol=tol)


def test_kernels_read_only_values_and_meta():
    """The kernels see no dense copy: corrupting a value changes exactly its products."""
    W, P, D = _pruned_pair(4, 8, 3, np.float64)
    S = to_sparse_24(W)
    v = S.values().numpy().copy()
    v[2, 1] += 1.0
    k = 4 * 0 + int(S.positions()[1][2, 0])  # column of values[2, 1]: group 0, i1
    expect = P @ D
    expect[2] += D[k]
    assert_close(sparse24_cpu.mm24(v, S.meta, D), expect, rtol=1e-12)


def test_mm24_on_device(device):
    W, P, D = _pruned_pair(20, 40, 9, np.float64)
    S = to_sparse_24(mg.tensor(W, device=device))
    assert S.device == device
    assert_close(S @ mg.tensor(D, device=device), P @ D, rtol=1e-10, atol=1e-10)


@pytest.mark.gpu
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_cuda_half_goes_through_the_sparse_tensor_core_kernel(dtype):
    if dtype == "bfloat16" and mg.bfloat16 is None:
        pytest.skip("bfloat16 needs ml_dtypes")
    dt = mg.dtypes.as_dtype(dtype)
    W, _, D = _pruned_pair(64, 96, 24, np.float32)
    S = to_sparse_24(mg.tensor(W, device="cuda", dtype=dt))
    Y = S @ mg.tensor(D, device="cuda", dtype=dt)
    assert Y.dtype == dt and Y.device == "cuda"
    # pruned after rounding to 16 bits (ties between rounded magnitudes can pick other
    # positions than the float32 matrix would)
    Wh = W.astype(dt).astype(np.float32)
    P = prune_by_hand(Wh)
    np.testing.assert_array_equal(S.to_dense().float().cpu().numpy(), P)
    Ph = P
    assert_close(Y.float().cpu(), Ph @ D.astype(dt).astype(np.float32), rtol=2e-2, atol=5e-2)
    # gradients on the GPU agree with the CPU float64 ones
    v = S.values().detach().requires_grad_()
    Dt = mg.tensor(D, device="cuda", dtype=dt, requires_grad=True)
    mm24(v, S.meta, Dt).float().sum().backward()
    assert_close(Dt.grad.float().cpu(), P.T @ np.ones((64, 24)), rtol=2e-2, atol=5e-2)


# ------------------------------------------------------------------------- GPU layout


@given(matrices(max_rows=20, max_groups=10))
def test_to_hardware_round_trips_through_reference_decompress(W):
    S = to_sparse_24(W)
    values, metadata = S.to_hardware()
    assert values.dtype == np.float16 and metadata.dtype == np.uint32
    M, K = W.shape
    Kp = -(-K // 32) * 32
    assert values.shape == (M, Kp // 2) and metadata.shape == (-(-M // 16), Kp // 32, 16)
    dense = reference.decompress_24(values, metadata)
    np.testing.assert_array_equal(dense[:, K:], 0)
    np.testing.assert_array_equal(dense[:, :K], prune_by_hand(W).astype(np.float16))
    # the hardware metadata holds our positions, zero values included (pack_24: a layout
    # conversion, no search); the padding groups keep positions 0 and 1
    i0_hw, i1_hw = reference.decode_metadata(metadata, M)
    i0, i1 = S.positions()
    np.testing.assert_array_equal(i0_hw[:, :K // 4], i0)
    np.testing.assert_array_equal(i1_hw[:, :K // 4], i1)
    assert (i0_hw[:, K // 4:] == 0).all() and (i1_hw[:, K // 4:] == 1).all()


def test_to_hardware_feeds_reference_mm_24():
    W, P, D = _pruned_pair(16, 64, 8, np.float32)
    values, metadata = to_sparse_24(W).to_hardware()
    C = reference.mm_24(values, metadata, D.astype(np.float16))
    ref = P.astype(np.float16).astype(np.float32) @ D.astype(np.float16).astype(np.float32)
    assert_close(C, ref, rtol=1e-5, atol=1e-5)


def test_to_hardware_rejects_other_dtypes_and_overflow():
    with pytest.raises(TypeError, match="float16 or bfloat16"):
        to_sparse_24(np.ones((2, 4))).to_hardware(dtype=mg.float32)
    with pytest.raises(ValueError, match="float16 range"):
        to_sparse_24(np.full((2, 4), 1e6)).to_hardware()


# ------------------------------------------------------------------------- gradients


@given(matrices(max_rows=4, max_groups=3), st.integers(1, 4))
def test_gradcheck_mm24_values_and_dense(W, N):
    S = to_sparse_24(W)
    v = S.values().detach().requires_grad_()
    D = mg.tensor(np.random.default_rng(N).standard_normal((W.shape[1], N)),
                  dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda v, D: mm24(v, S.meta, D), (v, D))


def test_gradcheck_transposed_product_and_sddmm(device):
    rng = np.random.default_rng(4)
    S = to_sparse_24(mg.tensor(rng.standard_normal((6, 12)), device=device))
    v = S.values().detach().requires_grad_()
    G = mg.tensor(rng.standard_normal((5, 6)), device=device, requires_grad=True)
    assert mg.gradcheck(
        lambda v, G: SparseSemiStructuredTensor(v, S.meta, (6, 12)).__rmatmul__(G), (v, G))
    A = mg.tensor(rng.standard_normal((6, 3)), device=device, requires_grad=True)
    B = mg.tensor(rng.standard_normal((12, 3)), device=device, requires_grad=True)
    assert mg.gradcheck(lambda A, B: ss.Sddmm24(S.meta)(A, B), (A, B))


def test_gradgradcheck_mm24(device):
    rng = np.random.default_rng(5)
    S = to_sparse_24(mg.tensor(rng.standard_normal((4, 8)), device=device))
    v = S.values().detach().requires_grad_()
    D = mg.tensor(rng.standard_normal((8, 3)), device=device, requires_grad=True)
    assert mg.gradgradcheck(lambda v, D: mm24(v, S.meta, D), (v, D))
    A = mg.tensor(rng.standard_normal((4, 3)), device=device, requires_grad=True)
    assert mg.gradgradcheck(lambda A, D: ss.Sddmm24(S.meta)(A, D), (A, D))


def test_gradient_reaches_the_dense_matrix_through_the_mask():
    rng = np.random.default_rng(6)
    W = mg.tensor(rng.standard_normal((3, 8)), dtype=mg.float64, requires_grad=True)
    assert mg.gradcheck(lambda W: to_sparse_24(W).to_dense(), (W,))
    g = rng.standard_normal((3, 8))
    S = to_sparse_24(W)
    S.to_dense().backward(mg.tensor(g))
    np.testing.assert_array_equal(W.grad.numpy(), g * S.mask().numpy())


# ------------------------------------------------------------------------- validation


def test_validation_errors():
    with pytest.raises(ValueError, match=r"multiple of 4.*\(3, 6\)"):
        to_sparse_24(np.ones((3, 6)))
    with pytest.raises(ValueError, match="2-D"):
        to_sparse_24(np.ones(8))
    with pytest.raises(TypeError, match="floating"):
        to_sparse_24(np.ones((2, 4), dtype=np.int64))
    with pytest.raises(ValueError, match="NaN"):
        to_sparse_24(np.array([[np.nan, 1.0, 2.0, 3.0]]))
    W = np.zeros((3, 8))
    W[2, 4:7] = 1.0  # row 2, group 1 holds 3 nonzeros
    with pytest.raises(ValueError, match=r"row 2, group 1 \(columns 4..7\) holds 3 nonzeros"):
        to_sparse_semi_structured(W)
    S = to_sparse_24(np.ones((2, 8)))
    bad = S.meta.copy()
    bad[1, 0] = 0x05 | (0x4 << 4)  # row 1, group 0: code 0b0101 (i0 = i1 = 1)
    with pytest.raises(ValueError, match=r"row 1, group 0 .* illegal code 0b0101"):
        SparseSemiStructuredTensor(S.values(), bad, (2, 8))
    with pytest.raises(ValueError, match="values must have shape"):
        SparseSemiStructuredTensor(S.values(), S.meta, (2, 12))
    with pytest.raises(TypeError, match="uint8"):
        SparseSemiStructuredTensor(S.values(), S.meta.astype(np.int32), (2, 8))
    with pytest.raises(ValueError, match="mm_24: S has shape"):
        S @ mg.ones(4, 2, dtype=mg.float64)
    with pytest.raises(TypeError, match="mm24: S is float64 but D is float32"):
        S @ mg.ones(8, 2)
    with pytest.raises(TypeError, match="SparseSemiStructuredTensor"):
        mm_24(np.ones((2, 8)), mg.ones(8, 1))
    with pytest.raises(ValueError, match="D @ S"):
        S.__rmatmul__(mg.ones(3, 5, dtype=mg.float64))
    with pytest.raises(TypeError, match="meta must be uint8"):
        sparse24_cpu.mm24(np.ones((2, 4)), np.zeros((2, 1), np.int8), np.ones((8, 1)))


def test_docstring_examples():
    result = doctest.testmod(ss, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def test_frozen_metadata_keeps_its_index_arrays_and_user_metadata_is_read_each_time():
    """Metadata marked ``frozen_meta`` (Linear24's own) keeps the index arrays derived from
    it, the same results as unfrozen metadata, made once; metadata a user holds is read
    again at every product, so an edit in place is seen. (float64 values: the products
    through the dense matrix, the path CuPy arrays other than half take.)"""
    rng = np.random.default_rng(0)
    W = rng.standard_normal((4, 8))
    S = ss.to_sparse_24(mg.tensor(W))
    user_meta = S.meta
    frozen = ss.frozen_meta(user_meta.copy())
    values = S.values().data
    B = rng.standard_normal((8, 3))
    dense = ss.decompress_values(values, *ss.unpack_meta(user_meta, 2))
    for meta in (user_meta, frozen):
        assert_close(ss.reference_mm24(values, meta, B), dense @ B, rtol=1e-14)
        assert_close(ss.Compress24(meta)(mg.tensor(dense)).data, values, rtol=0)
    assert len(ss._DERIVED[id(frozen)]) == 2          # positions and flat indices, once
    flat = ss._DERIVED[id(frozen)][("flat", 2, 8)]
    ss.reference_mm24(values, frozen, B)
    assert ss._DERIVED[id(frozen)][("flat", 2, 8)] is flat
    assert id(user_meta) not in ss._DERIVED
    # an edit of the user's metadata in place: row 0, group 0 keeps positions 0 and 1 now
    edited = user_meta.copy()
    edited[0, 0] = (edited[0, 0] & 0xF0) | ((1 << 2) | 0)
    user_meta[...] = edited
    moved = ss.decompress_values(values, *ss.unpack_meta(edited, 2))
    assert_close(ss.reference_mm24(values, user_meta, B), moved @ B, rtol=1e-14)
    key = id(frozen)
    del frozen, meta, flat                            # the arrays go with their metadata
    import gc

    gc.collect()
    assert key not in ss._DERIVED
