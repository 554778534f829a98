"""Products, matrix structure and minigrad.linalg, worked out by hand: determinants of
triangular matrices, the 2×2 inverse by formula, norms of known vectors, tril/triu
offsets, diag both ways, decompositions that rebuild their input; shape, singular and
dtype errors; gradients with known closed forms.

The last test asks PyTorch itself, when it is installed (``pytest.importorskip`` inside
the test, so the rest of the file runs without it): every new op, values and gradients,
through one lambda that calls ``lib.<name>`` with ``lib`` = minigrad or torch — the
names, arguments and defaults are PyTorch's. The random inputs of op_specs.py
(gradcheck, gradgradcheck) cover the same ops.
"""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import assert_close

INF = float("inf")


def _t(values, device="cpu", requires_grad=False, dtype=np.float64):
    return mg.tensor(np.asarray(values, dtype=dtype), device=device,
                     requires_grad=requires_grad)


def _grad(f, x, gy=None):
    x = _t(x, requires_grad=True)
    y = f(x)
    y.backward(mg.ones_like(y) if gy is None else _t(gy))
    return x.grad.numpy()


# =========================================================================== products
def test_mm_bmm_values_and_shape_errors(device):
    a, b = _t([[1, 2], [3, 4]], device), _t([[5, 6], [7, 8]], device)
    assert mg.mm(a, b).tolist() == [[19, 22], [43, 50]]
    assert a.mm(b).tolist() == [[19, 22], [43, 50]]
    assert mg.bmm(mg.stack([a, b]), mg.stack([b, a])).tolist()[1] == [[23, 34], [31, 46]]
    with pytest.raises(ValueError, match=r"mm: input must be 2-D, got shape \(2, 2, 2\)"):
        mg.mm(mg.stack([a, b]), b)
    with pytest.raises(ValueError, match=r"mm: shapes \(2, 2\) and \(3, 2\)"):
        mg.mm(a, mg.zeros(3, 2))
    with pytest.raises(ValueError, match="bmm: batch1 and batch2 must have the same number"):
        mg.bmm(mg.zeros(2, 2, 2), mg.zeros(3, 2, 2))
    with pytest.raises(ValueError, match="bmm: input must be 3-D"):
        mg.bmm(a, b)


def test_outer_inner_dot():
    u, v = _t([1, 2]), _t([3, 4, 5])
    assert mg.outer(u, v).tolist() == [[3, 4, 5], [6, 8, 10]]
    assert mg.dot(v, v).item() == 50 and v.dot(v).item() == 50
    x = _t(np.arange(6.0).reshape(2, 3))
    assert mg.inner(x, v).tolist() == [14, 50]
    assert mg.inner(x, x).tolist() == [[5, 14], [14, 50]]
    assert mg.inner(_t(2.0), u).tolist() == [2, 4]                 # a 0-d operand multiplies
    with pytest.raises(ValueError, match="outer: input must be 1-D"):
        mg.outer(x, v)
    with pytest.raises(ValueError, match="dot: expects 1-D"):
        mg.dot(x, x)
    with pytest.raises(ValueError, match="inner: last dims differ"):
        mg.inner(u, v)


def test_addmm_family_scales_and_ignores_input_when_beta_is_zero():
    m1, m2 = _t([[1, 2], [3, 4]]), _t([[1, 0], [0, 1]])
    bias = _t([10, 20])
    assert mg.addmm(bias, m1, m2).tolist() == [[11, 22], [13, 24]]
    assert mg.addmm(bias, m1, m2, beta=0.5, alpha=2).tolist() == [[7, 14], [11, 18]]
    nan = _t([math.nan, math.nan])
    assert bias.addmm(m1, m2, beta=0).tolist() == [[1, 2], [3, 4]]
    assert mg.addmm(nan, m1, m2, beta=0).tolist() == [[1, 2], [3, 4]]   # nan not propagated
    assert mg.addmv(bias, m1, _t([1, 1]), alpha=-1).tolist() == [7, 13]
    out = mg.baddbmm(_t([[[1.0]]]), m1.unsqueeze(0), m2.unsqueeze(0), beta=2)
    assert out.tolist() == [[[3, 4], [5, 6]]]
    with pytest.raises(ValueError, match=r"addmm: input of shape \(3,\) does not broadcast"):
        mg.addmm(mg.zeros(3), m1, m2)


# =========================================================================== structure
X34 = np.arange(1.0, 13.0).reshape(3, 4)


@pytest.mark.parametrize("k, lower, upper", [
    (0, [[1, 0, 0, 0], [5, 6, 0, 0], [9, 10, 11, 0]],
        [[1, 2, 3, 4], [0, 6, 7, 8], [0, 0, 11, 12]]),
    (1, [[1, 2, 0, 0], [5, 6, 7, 0], [9, 10, 11, 12]],
        [[0, 2, 3, 4], [0, 0, 7, 8], [0, 0, 0, 12]]),
    (-1, [[0, 0, 0, 0], [5, 0, 0, 0], [9, 10, 0, 0]],
         [[1, 2, 3, 4], [5, 6, 7, 8], [0, 10, 11, 12]]),
])
def test_tril_triu_offsets(k, lower, upper, device):
    x = _t(X34, device)
    assert mg.tril(x, k).tolist() == lower and x.triu(k).tolist() == upper
    assert mg.tril(x.unsqueeze(0).expand(2, 3, 4), k).tolist() == [lower, lower]   # batched


def test_tril_does_not_leak_nan_and_its_gradient_is_the_triangle():
    x = _t([[1.0, math.nan], [2.0, 3.0]])
    assert mg.tril(x).tolist() == [[1.0, 0.0], [2.0, 3.0]]
    assert _grad(lambda x: x.triu(1), np.ones((2, 3))).tolist() == [[0, 1, 1], [0, 0, 1]]
    with pytest.raises(ValueError, match="tril: input must have at least 2 dims"):
        mg.tril(_t([1.0]))


def test_diag_both_ways(device):
    v = _t([1, 2], device)
    assert mg.diag(v).tolist() == [[1, 0], [0, 2]]
    assert mg.diag(v, 1).tolist() == [[0, 1, 0], [0, 0, 2], [0, 0, 0]]
    assert mg.diag(v, -1).tolist() == [[0, 0, 0], [1, 0, 0], [0, 2, 0]]
    x = _t(X34, device)
    assert mg.diag(x).tolist() == [1, 6, 11] and x.diag(1).tolist() == [2, 7, 12]
    assert mg.diag(x, -2).tolist() == [9] and mg.diag(x, 5).tolist() == []
    assert mg.trace(x).item() == 18 and x.trace().item() == 18
    with pytest.raises(ValueError, match="diag: expects a 1-D or 2-D tensor"):
        mg.diag(_t(np.zeros((2, 2, 2))))
    with pytest.raises(ValueError, match="trace: input must be 2-D"):
        mg.trace(v)


def test_diagonal_and_diag_embed_dims():
    x = _t(np.arange(24.0).reshape(2, 3, 4))
    assert_close(mg.diagonal(x), np.diagonal(X34 * 0 + np.arange(24.0).reshape(2, 3, 4)))
    assert x.diagonal(1, -1, 0).tolist() == [[12.0], [16.0], [20.0]]     # x[0,:,1] ... x[j,:,j+1]
    assert_close(x.diagonal(-1, 2, 1), np.diagonal(x.numpy(), -1, 2, 1))
    e = mg.diag_embed(_t([[1, 2], [3, 4]]))
    assert e.tolist() == [[[1, 0], [0, 2]], [[3, 0], [0, 4]]]
    e = mg.diag_embed(_t([[1, 2], [3, 4]]), offset=1, dim1=0, dim2=2)
    assert e.shape == (3, 2, 3)
    assert_close(e.diagonal(1, 0, 2), np.array([[1.0, 2.0], [3.0, 4.0]]))
    assert e.sum().item() == 10
    with pytest.raises(ValueError, match="diagonal: dim1 and dim2 cannot be the same"):
        x.diagonal(0, 1, -2)


def test_diagonal_gradient_is_zero_off_the_diagonal():
    g = _grad(lambda x: x.diagonal(1), X34, gy=[1.0, 2.0, 3.0])
    assert g.tolist() == [[0, 1, 0, 0], [0, 0, 2, 0], [0, 0, 0, 3]]
    g = _grad(lambda v: mg.diag_embed(v, -1), [1.0, 2.0], gy=np.arange(9.0).reshape(3, 3))
    assert g.tolist() == [3.0, 7.0]


def test_cross_kron_values():
    ex, ey, ez = _t([1, 0, 0]), _t([0, 1, 0]), _t([0, 0, 1])
    assert mg.cross(ex, ey).tolist() == [0, 0, 1] and mg.linalg.cross(ey, ez).tolist() == [1, 0, 0]
    assert ez.cross(ex).tolist() == [0, 1, 0]
    a = _t([[1, 2, 3], [4, 5, 6]])
    assert mg.cross(a.T, _t([[0], [0], [1]])).tolist() == [[2, 5], [-1, -4], [0, 0]]  # dim=None: 0
    assert mg.linalg.cross(a, _t([[1, 0, 0]])).tolist() == [[0, 3, -2], [0, 6, -5]]  # broadcast
    with pytest.raises(ValueError, match="cross: inputs must have the same number of dims"):
        mg.linalg.cross(a, _t([1, 0, 0]))
    with pytest.raises(ValueError, match="cross: dim 0 of shape"):
        mg.cross(a, a, dim=0)
    with pytest.raises(ValueError, match="cross: no dim of size 3"):
        mg.cross(_t([1, 2]), _t([3, 4]))
    k = mg.kron(_t([[1, 2], [3, 4]]), _t([[0, 1], [1, 0]]))
    assert k.tolist() == [[0, 1, 0, 2], [1, 0, 2, 0], [0, 3, 0, 4], [3, 0, 4, 0]]
    assert mg.kron(_t([1, 2]), _t([[1], [10]])).tolist() == [[1, 2], [10, 20]]


def test_cdist_values_and_zero_distance_gradient():
    x1 = _t([[0.0, 0.0], [3.0, 4.0]])
    x2 = _t([[0.0, 0.0]])
    assert mg.cdist(x1, x2).tolist() == [[0.0], [5.0]]
    assert mg.cdist(x1, x2, 1.0).tolist() == [[0.0], [7.0]]
    assert mg.cdist(x1, x2, INF).tolist() == [[0.0], [4.0]]
    assert mg.cdist(x1, x2, 0.0).tolist() == [[0.0], [2.0]]
    x1 = _t([[0.0, 0.0], [3.0, 4.0]], requires_grad=True)
    mg.cdist(x1, x2).sum().backward()
    assert x1.grad.tolist() == [[0.0, 0.0], [0.6, 0.8]]          # 0 where the distance is 0
    with pytest.raises(ValueError, match="cdist: x1 and x2 must have the same number of col"):
        mg.cdist(x1, _t([[1.0, 2.0, 3.0]]))
    with pytest.raises(ValueError, match="cdist: p must be non-negative"):
        mg.cdist(x1, x2, -1.0)


# =========================================================================== norms
V = [3.0, -4.0, 0.0]


@pytest.mark.parametrize("ord, expected", [
    (2, 5.0), (1, 7.0), (INF, 4.0), (-INF, 0.0), (0, 2.0), (3, 91 ** (1 / 3)), (-1, 0.0),
    (0.5, (math.sqrt(3) + 2) ** 2),
])
def test_vector_norm_of_a_known_vector(ord, expected, device):
    out = mg.linalg.vector_norm(_t(V, device), ord)
    assert out.item() == pytest.approx(expected, rel=1e-12)


def test_vector_norm_negative_ord_dims_and_keepdim():
    assert mg.linalg.vector_norm(_t([1.0, 2.0]), -1).item() == pytest.approx(2 / 3)
    x = _t([[3.0, 4.0], [6.0, 8.0]])
    assert mg.linalg.vector_norm(x, dim=1).tolist() == [5.0, 10.0]
    assert mg.linalg.vector_norm(x, dim=(0, 1), keepdim=True).shape == (1, 1)
    assert mg.linalg.vector_norm(x, keepdim=True).shape == (1, 1)
    assert mg.linalg.vector_norm(x, 1, dim=[0]).tolist() == [9.0, 12.0]
    assert mg.linalg.vector_norm(x, dtype=mg.float32).dtype == mg.float32


def test_vector_norm_gradients_at_zero_and_for_ord_0():
    assert _grad(lambda x: mg.linalg.vector_norm(x), [0.0, 0.0]).tolist() == [0.0, 0.0]
    assert _grad(lambda x: mg.linalg.vector_norm(x, 0), V).tolist() == [0.0, 0.0, 0.0]
    assert _grad(lambda x: mg.linalg.vector_norm(x, -1), V).tolist() == [0.0, 0.0, 0.0]
    assert_close(_grad(lambda x: mg.linalg.vector_norm(x), V), np.array([0.6, -0.8, 0.0]))


def test_vector_norm_refuses_integers():
    with pytest.raises(TypeError, match="linalg.vector_norm: input must be a floating-point"):
        mg.linalg.vector_norm(mg.tensor([1, 2]))


M = [[1.0, -2.0], [3.0, 4.0]]


@pytest.mark.parametrize("ord, expected", [
    ("fro", math.sqrt(30)), (1, 6.0), (-1, 4.0), (INF, 7.0), (-INF, 3.0),
])
def test_matrix_norm_of_a_known_matrix(ord, expected):
    assert mg.linalg.matrix_norm(_t(M), ord).item() == pytest.approx(expected)


def test_matrix_norm_singular_value_orders_and_dims():
    d = _t([[3.0, 0.0], [0.0, -4.0]])
    assert mg.linalg.matrix_norm(d, "nuc").item() == pytest.approx(7.0)
    assert mg.linalg.matrix_norm(d, 2).item() == pytest.approx(4.0)
    assert mg.linalg.matrix_norm(d, -2).item() == pytest.approx(3.0)
    x = _t(np.arange(24.0).reshape(2, 3, 4))
    out = mg.linalg.matrix_norm(x, 1, dim=(0, 2), keepdim=True)
    assert out.shape == (1, 3, 1)
    assert_close(out.reshape(3), np.abs(x.numpy()).sum(0).max(-1))
    assert mg.linalg.matrix_norm(x, "nuc", dim=(2, 0)).shape == (3,)
    with pytest.raises(ValueError, match="linalg.matrix_norm: ord must be"):
        mg.linalg.matrix_norm(d, 3)
    with pytest.raises(ValueError, match="linalg.matrix_norm: A must have at least 2 dims"):
        mg.linalg.matrix_norm(_t([1.0]))


def test_norm_dispatches_as_torch_linalg_norm():
    x = _t(M)
    L = mg.linalg
    assert L.norm(x).item() == pytest.approx(math.sqrt(30))          # flattened 2-norm
    assert L.norm(x, 1).item() == pytest.approx(6.0)                  # 2-D: matrix 1-norm
    assert L.norm(x[0], 1).item() == pytest.approx(3.0)               # 1-D: vector 1-norm
    assert L.norm(x, 1, dim=1).tolist() == [3.0, 7.0]                 # int dim: vector norms
    assert L.norm(x, INF, dim=(0, 1)).item() == pytest.approx(7.0)    # 2-tuple: matrix norm
    with pytest.raises(ValueError, match="linalg.norm: with ord and without dim"):
        L.norm(_t(np.zeros((2, 2, 2))), 2)


# =========================================================================== determinants
def test_det_of_a_triangular_matrix_is_the_product_of_its_diagonal(device):
    U = _t([[2.0, 5.0, 1.0], [0.0, 3.0, 7.0], [0.0, 0.0, -4.0]], device)
    assert mg.linalg.det(U).item() == pytest.approx(-24.0)
    assert mg.det(U.mT).item() == pytest.approx(-24.0) and U.det().item() == pytest.approx(-24)
    batch = mg.stack([U, U * 2])
    assert_close(mg.linalg.det(batch), np.array([-24.0, -192.0]), rtol=1e-12)


def test_det_gradient_is_the_cofactor_matrix_also_when_singular():
    a = [[1.0, 2.0], [3.0, 4.0]]                                    # C = [[d, −c], [−b, a]]
    assert_close(_grad(mg.linalg.det, a), np.array([[4.0, -3.0], [-2.0, 1.0]]), rtol=1e-12)
    s = [[1.0, 2.0], [2.0, 4.0]]                                    # det 0: A⁻¹ does not exist
    assert _grad(mg.linalg.det, s).tolist() == [[4.0, -2.0], [-2.0, 1.0]]
    assert _grad(mg.linalg.det, [[5.0]]).item() == pytest.approx(1.0)


def test_slogdet_and_logdet():
    sign, logabsdet = mg.linalg.slogdet(_t([[0.0, 2.0], [3.0, 0.0]]))
    assert sign.item() == -1.0 and logabsdet.item() == pytest.approx(math.log(6))
    r = mg.slogdet(_t([[1.0, 2.0], [2.0, 4.0]]))
    assert r.sign.item() == 0.0 and r.logabsdet.item() == -INF
    assert mg.logdet(_t([[2.0, 0.0], [0.0, 3.0]])).item() == pytest.approx(math.log(6))
    assert math.isnan(mg.logdet(_t([[0.0, 2.0], [3.0, 0.0]])).item())
    g = _grad(lambda a: mg.linalg.slogdet(a).logabsdet, [[2.0, 0.0], [0.0, -4.0]])
    assert_close(g, np.array([[0.5, 0.0], [0.0, -0.25]]))          # A⁻ᵀ
    x = _t([[1.0, 2.0], [2.0, 4.0]], requires_grad=True)
    with pytest.raises(mg.linalg.LinAlgError, match="linalg.slogdet: the gradient"):
        mg.linalg.slogdet(x).logabsdet.backward()


def test_logdet_gradient_is_zero_where_det_is_negative():
    """logdet is nan where det A < 0, and its gradient there 0 (PyTorch's logdet selects
    nan there, so no gradient reaches A), not A⁻ᵀ (the gradient of log|det A|, which is
    not logdet's); a batch mixes both: the positive matrix keeps its A⁻ᵀ."""
    x = _t([[[2.0, 0.0], [0.0, 3.0]], [[0.0, 1.0], [1.0, 0.0]]], requires_grad=True)
    y = mg.logdet(x)
    assert y[0].item() == pytest.approx(math.log(6)) and math.isnan(y[1].item())
    y.sum().backward()
    assert_close(x.grad[0], np.array([[0.5, 0.0], [0.0, 1 / 3]]), rtol=1e-15)
    assert x.grad[1].tolist() == [[0.0, 0.0], [0.0, 0.0]]


# =========================================================================== inverses, solves
def test_inv_of_a_2x2_by_formula(device):
    a, b, c, d = 4.0, 7.0, 2.0, 6.0
    out = mg.linalg.inv(_t([[a, b], [c, d]], device))
    assert_close(out, np.array([[d, -b], [-c, a]]) / (a * d - b * c), rtol=1e-12)
    assert_close(mg.inverse(_t([[2.0, 0.0], [0.0, 4.0]])), np.diag([0.5, 0.25]))


def test_inv_gradient():
    # d(A⁻¹)ᵢⱼ summed: gA = −A⁻ᵀ·1·A⁻ᵀ
    a = np.array([[4.0, 7.0], [2.0, 6.0]])
    ai = np.linalg.inv(a)
    assert_close(_grad(mg.linalg.inv, a), -ai.T @ np.ones((2, 2)) @ ai.T, rtol=1e-12)


def test_singular_and_shape_errors_name_the_op():
    singular = _t([[1.0, 2.0], [2.0, 4.0]])
    with pytest.raises(mg.linalg.LinAlgError, match="linalg.inv: the matrix is singular"):
        mg.linalg.inv(singular)
    with pytest.raises(RuntimeError, match="linalg.solve: the matrix A is singular"):
        mg.linalg.solve(singular, _t([1.0, 1.0]))
    with pytest.raises(ValueError, match="linalg.inv: A must be batches of square matrices, "
                                         "but they are 2 by 3 matrices"):
        mg.linalg.inv(_t(np.zeros((2, 3))))
    with pytest.raises(ValueError, match="linalg.det: A must have at least 2 dims"):
        mg.linalg.det(_t([1.0, 2.0]))
    with pytest.raises(ValueError, match="linalg.cholesky: A must be batches of square"):
        mg.linalg.cholesky(_t(np.zeros((3, 2))))
    with pytest.raises(mg.linalg.LinAlgError, match="linalg.cholesky: the input is not "
                                                    "positive-definite"):
        mg.linalg.cholesky(_t([[1.0, 2.0], [2.0, 1.0]]))
    assert issubclass(mg.linalg.LinAlgError, RuntimeError)


def test_half_and_integer_inputs_are_refused_but_autocast_computes_in_float32():
    with pytest.raises(TypeError, match="linalg.inv: low-precision dtype float16"):
        mg.linalg.inv(mg.eye(2).half())
    with pytest.raises(TypeError, match="linalg.det: A must be a floating-point tensor, got "
                                        "int64"):
        mg.linalg.det(mg.tensor([[1, 0], [0, 1]]))
    with mg.amp.autocast():
        out = mg.linalg.det(mg.eye(2).half() * 2)
    assert out.dtype == mg.float32 and out.item() == 4.0
    assert mg.linalg.inv(mg.eye(2) * 2).dtype == mg.float32        # float32 stays float32


def test_solve_vector_and_matrix_right_hand_sides():
    A = _t([[3.0, 1.0], [1.0, 2.0]])
    assert_close(mg.linalg.solve(A, _t([9.0, 8.0])), np.array([2.0, 3.0]), rtol=1e-12)
    X = mg.linalg.solve(A, _t([[9.0, 1.0], [8.0, 2.0]]))
    assert_close(A @ X, np.array([[9.0, 1.0], [8.0, 2.0]]), rtol=1e-12)
    Xr = mg.linalg.solve(A, _t([[9.0, 8.0]]), left=False)           # X·A = B
    assert_close(Xr @ A, np.array([[9.0, 8.0]]), rtol=1e-12)
    batch = mg.stack([A, A * 2])                                    # B (2, 2): a batch of vectors
    assert_close(mg.linalg.solve(batch, _t([[9.0, 8.0], [9.0, 8.0]])),
                 np.array([[2.0, 3.0], [1.0, 1.5]]), rtol=1e-12)
    assert mg.linalg.solve(batch, _t([9.0, 8.0])).shape == (2, 2)    # broadcast vector
    assert mg.linalg.solve(batch, _t(np.ones((3, 1, 2, 5)))).shape == (3, 2, 2, 5)
    with pytest.raises(ValueError, match="linalg.solve: incompatible shapes"):
        mg.linalg.solve(A, _t([1.0, 2.0, 3.0]))


def test_solve_gradients_by_formula():
    A = np.array([[3.0, 1.0], [1.0, 2.0]])
    b = np.array([9.0, 8.0])
    At, bt = _t(A, requires_grad=True), _t(b, requires_grad=True)
    x = mg.linalg.solve(At, bt)
    x.backward(_t([1.0, 0.0]))
    gb = np.linalg.solve(A.T, [1.0, 0.0])
    assert_close(bt.grad, gb, rtol=1e-12)
    assert_close(At.grad, -np.outer(gb, np.linalg.solve(A, b)), rtol=1e-12)


def test_pinv_values():
    assert_close(mg.linalg.pinv(_t([[1.0], [2.0]])), np.array([[0.2, 0.4]]), rtol=1e-12)
    rank1 = np.array([[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]])
    assert_close(mg.linalg.pinv(_t(rank1)), np.linalg.pinv(rank1), rtol=1e-10)
    sym = np.array([[2.0, 1.0], [1.0, 2.0]])
    assert_close(mg.linalg.pinv(_t(sym), hermitian=True), np.linalg.inv(sym), rtol=1e-12)
    assert_close(mg.pinverse(_t(sym)), np.linalg.inv(sym), rtol=1e-12)
    # atol cuts the small singular value (1) of diag(4, 1)
    assert_close(mg.linalg.pinv(_t(np.diag([4.0, 1.0])), atol=2.0), np.diag([0.25, 0.0]))
    # the pinv of an orthogonal Q is Qᵀ whatever its equal singular values: finite gradient
    g = _grad(mg.linalg.pinv, [[0.0, 1.0], [1.0, 0.0]])
    assert np.isfinite(g).all()


# =========================================================================== decompositions
def test_cholesky_by_hand(device):
    A = _t([[4.0, 2.0], [2.0, 5.0]], device)
    assert mg.linalg.cholesky(A).tolist() == [[2.0, 0.0], [1.0, 2.0]]
    assert mg.linalg.cholesky(A, upper=True).tolist() == [[2.0, 1.0], [0.0, 2.0]]
    # only the lower triangle is read
    B = _t([[4.0, 99.0], [2.0, 5.0]], device)
    assert mg.linalg.cholesky(B).tolist() == [[2.0, 0.0], [1.0, 2.0]]


def test_cholesky_gradient_is_symmetric():
    g = _grad(lambda a: mg.linalg.cholesky(a), [[4.0, 2.0], [2.0, 5.0]],
              gy=[[1.0, 0.0], [0.5, -1.0]])
    assert_close(g, g.T, rtol=1e-12)
    # 1×1: L = √a, dL/da = 1/(2√a)
    assert _grad(mg.linalg.cholesky, [[4.0]]).tolist() == [[0.25]]


@pytest.mark.parametrize("shape, mode, q_shape, r_shape", [
    ((4, 3), "reduced", (4, 3), (3, 3)), ((4, 3), "complete", (4, 4), (4, 3)),
    ((2, 4), "reduced", (2, 2), (2, 4)), ((2, 3, 3), "reduced", (2, 3, 3), (2, 3, 3)),
])
def test_qr_rebuilds_its_input(shape, mode, q_shape, r_shape, device):
    a = np.random.default_rng(0).standard_normal(shape)
    Q, R = mg.linalg.qr(_t(a, device), mode)
    assert Q.shape == q_shape and R.shape == r_shape
    assert_close(Q @ R, a, rtol=1e-10, atol=1e-12)
    assert_close(Q.mT @ Q, np.broadcast_to(np.eye(q_shape[-1]), Q.shape[:-2] + (q_shape[-1],) * 2),
                 atol=1e-12)
    assert_close(mg.tril(R, -1), np.zeros(r_shape))


def test_qr_mode_r_and_the_cases_without_gradient():
    a = _t(np.random.default_rng(1).standard_normal((3, 2)), requires_grad=True)
    Q, R = mg.linalg.qr(a, "r")
    assert Q.shape == (0,) and R.shape == (2, 2)
    with pytest.raises(RuntimeError, match="linalg.qr: the derivative of linalg.qr depends on Q"):
        R.sum().backward()
    Q, R = mg.linalg.qr(a, "complete")
    with pytest.raises(RuntimeError, match="mode='complete' and nrows > ncols"):
        (Q.sum() + R.sum()).backward()
    with pytest.raises(ValueError, match="linalg.qr: mode must be"):
        mg.linalg.qr(a, "full")


def test_eigh_by_hand():
    lam, V = mg.linalg.eigh(_t([[2.0, 1.0], [1.0, 2.0]]))
    assert_close(lam, np.array([1.0, 3.0]), rtol=1e-12)
    assert_close(V.abs(), np.full((2, 2), 1 / math.sqrt(2)), rtol=1e-12)
    assert (V[:, 0] * V[:, 1]).sum().item() == pytest.approx(0.0, abs=1e-15)
    # UPLO names the triangle that is read
    garbage = _t([[2.0, 99.0], [1.0, 2.0]])
    assert_close(mg.linalg.eigvalsh(garbage), np.array([1.0, 3.0]), rtol=1e-12)
    assert_close(mg.linalg.eigvalsh(garbage.mT, UPLO="U"), np.array([1.0, 3.0]), rtol=1e-12)
    with pytest.raises(ValueError, match="linalg.eigh: UPLO must be 'L' or 'U'"):
        mg.linalg.eigh(garbage, "X")


def test_eigenvalue_gradients_are_v_v_transposed_even_when_repeated():
    # dλᵢ = vᵢᵀ dA vᵢ: Σλ = tr A has gradient I, also for the repeated eigenvalues of I
    assert_close(_grad(mg.linalg.eigvalsh, np.eye(3)), np.eye(3), rtol=1e-12)
    g = _grad(lambda a: mg.linalg.eigh(a).eigenvalues, np.eye(3) * 2)
    assert_close(g, np.eye(3), rtol=1e-12)                        # unused V: skipped, finite
    g = _grad(lambda a: mg.linalg.eigvalsh(a)[-1], [[2.0, 1.0], [1.0, 2.0]])
    assert_close(g, np.full((2, 2), 0.5), rtol=1e-12)              # v vᵀ for v = (1, 1)/√2


def test_svd_by_hand_and_shapes():
    U, S, Vh = mg.linalg.svd(_t([[3.0, 0.0], [0.0, -4.0]]))
    assert_close(S, np.array([4.0, 3.0]), rtol=1e-12)
    a = np.random.default_rng(2).standard_normal((4, 2))
    U, S, Vh = mg.linalg.svd(_t(a))
    assert (U.shape, S.shape, Vh.shape) == ((4, 4), (2,), (2, 2))
    U, S, Vh = mg.linalg.svd(_t(a), full_matrices=False)
    assert U.shape == (4, 2)
    assert_close((U * S) @ Vh, a, rtol=1e-10, atol=1e-12)
    assert_close(mg.linalg.svdvals(_t(a)), S.numpy(), rtol=1e-12)
    with pytest.raises(ValueError, match="linalg.svd: driver="):
        mg.linalg.svd(_t(a), driver="gesvd")


def test_singular_value_gradients():
    # σ_max of diag(3, −4) is 4 = −a₂₂: its gradient is u vᵀ = −e₂e₂ᵀ
    g = _grad(lambda a: mg.linalg.svdvals(a)[0], [[3.0, 0.0], [0.0, -4.0]])
    assert_close(g, np.array([[0.0, 0.0], [0.0, -1.0]]), atol=1e-15)
    # the nuclear norm of an orthogonal matrix: equal singular values, still a gradient
    g = _grad(lambda a: mg.linalg.svd(a, full_matrices=True).S.sum(), np.eye(2))
    assert_close(g, np.eye(2), rtol=1e-12)


def test_svd_full_matrices_ignores_the_gradient_of_the_extra_columns():
    a = np.random.default_rng(3).standard_normal((3, 2))
    x = _t(a, requires_grad=True)
    U, S, Vh = mg.linalg.svd(x, full_matrices=True)
    (U[:, 2:] ** 2).sum().backward()                               # the extra column only
    assert_close(x.grad, np.zeros((3, 2)), atol=1e-15)


def test_matrix_power_and_multi_dot():
    J = _t([[1.0, 1.0], [0.0, 1.0]])
    assert mg.linalg.matrix_power(J, 5).tolist() == [[1.0, 5.0], [0.0, 1.0]]
    assert_close(mg.matrix_power(J, -3), np.array([[1.0, -3.0], [0.0, 1.0]]), rtol=1e-12)
    assert J.matrix_power(0).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    assert _grad(lambda a: mg.linalg.matrix_power(a, 0), J.numpy()).tolist() == [[0, 0], [0, 0]]
    # d tr(A²)/dA = 2Aᵀ
    assert_close(_grad(lambda a: mg.linalg.matrix_power(a, 2).trace(), M), 2 * np.array(M).T)
    with pytest.raises(TypeError, match="linalg.matrix_power: n must be an int"):
        mg.linalg.matrix_power(J, 1.5)
    a, b, c = _t([1.0, 2.0]), _t([[1.0, 0.0, 2.0], [0.0, 1.0, 0.0]]), _t([[1.0], [1.0], [1.0]])
    assert mg.linalg.multi_dot([a, b, c]).tolist() == [5.0]
    assert mg.linalg.multi_dot([a, b, c.reshape(3)]).item() == 5.0
    with pytest.raises(ValueError, match="linalg.multi_dot: tensors 0 and 1 cannot be"):
        mg.linalg.multi_dot([b, b])
    with pytest.raises(ValueError, match="at least 2 tensors"):
        mg.linalg.multi_dot([b])


def test_chain_order_is_the_cheapest():
    from minigrad.linalg import _chain_order

    # (10×100)(100×5)(5×50): (AB)C costs 5000 + 2500, A(BC) 25000 + 50000
    assert _chain_order([10, 100, 5, 50])[0][2] == 1


def test_linalg_extras():
    x, y = _t([[1.0, 2.0], [3.0, 4.0]]), _t([1.0, -1.0])
    assert mg.linalg.vecdot(x, y).tolist() == [-1.0, -1.0]
    assert mg.linalg.matmul(x, y).tolist() == [-1.0, -1.0]
    assert mg.linalg.diagonal(x).tolist() == [1.0, 4.0]


# =========================================================================== PyTorch oracle
def _case(name, fn, *shapes, make=None, rtol=1e-9):
    return pytest.param(fn, shapes, make, rtol, id=name)


def _spd(rng, shape):
    m = rng.standard_normal(shape)
    return m @ np.swapaxes(m, -1, -2) + shape[-1] * np.eye(shape[-1])


def _dominant(rng, shape):
    return rng.standard_normal(shape) + 3 * np.eye(shape[-1])


def _sym(lib, a):
    return (a + a.mT) / 2


ORACLE = [
    _case("mm", lambda lib, a, b: lib.mm(a, b), (3, 4), (4, 2)),
    _case("bmm", lambda lib, a, b: lib.bmm(a, b), (2, 3, 4), (2, 4, 2)),
    _case("outer", lambda lib, a, b: lib.outer(a, b), (3,), (4,)),
    _case("inner", lambda lib, a, b: lib.inner(a, b), (2, 3), (4, 3)),
    _case("dot", lambda lib, a, b: lib.dot(a, b), (5,), (5,)),
    _case("addmm", lambda lib, i, a, b: lib.addmm(i, a, b, beta=0.5, alpha=-2), (2,), (3, 4),
          (4, 2)),
    _case("baddbmm", lambda lib, i, a, b: lib.baddbmm(i, a, b, alpha=3), (1, 2), (2, 3, 4),
          (2, 4, 2)),
    _case("addmv", lambda lib, i, a, b: lib.addmv(i, a, b, beta=2), (3,), (3, 4), (4,)),
    _case("einsum matmul", lambda lib, a, b: lib.einsum("ij,jk->ik", a, b), (3, 4), (4, 2)),
    _case("einsum implicit", lambda lib, a, b: lib.einsum("bij,jk", a, b), (2, 3, 4), (4, 2)),
    _case("einsum ellipsis", lambda lib, a, b: lib.einsum("...ij,...jk", a, b), (2, 1, 3, 4),
          (5, 4, 2)),
    _case("einsum diagonal", lambda lib, a: lib.einsum("iij->ij", a), (3, 3, 2)),
    _case("einsum trace", lambda lib, a: lib.einsum("ii", a), (3, 3)),
    _case("einsum summed in one", lambda lib, a, b: lib.einsum("ijk,j->i", a, b), (2, 3, 4),
          (3,)),
    _case("einsum ellipsis summed", lambda lib, a: lib.einsum("...ij->ij", a), (2, 3, 4)),
    _case("einsum list", lambda lib, a, b: lib.einsum("i,j", [a, b]), (2,), (3,)),
    _case("tril", lambda lib, a: lib.tril(a, -1) + a.triu(2), (2, 3, 4)),
    _case("diag", lambda lib, a, v: lib.diag(a, 1).sum() + lib.diag(v, -1), (3, 4), (2,)),
    _case("diagonal", lambda lib, a: lib.diagonal(a, 1, 2, 0), (3, 2, 4)),
    _case("diag_embed", lambda lib, a: lib.diag_embed(a, -1, 0, 2), (2, 3)),
    _case("trace", lambda lib, a: lib.trace(a), (3, 4)),
    _case("cross", lambda lib, a, b: lib.cross(a, b, dim=0), (3, 4), (3, 1)),
    _case("linalg.cross", lambda lib, a, b: lib.linalg.cross(a, b), (2, 3), (1, 3)),
    _case("kron", lambda lib, a, b: lib.kron(a, b), (2, 3), (2, 1, 2)),
    _case("cdist", lambda lib, a, b: lib.cdist(a, b) + lib.cdist(a, b, 1.0)
          + lib.cdist(a, b, 0.5) + lib.cdist(a, b, float("inf")), (2, 3, 4), (5, 4)),
    _case("det", lambda lib, a: lib.linalg.det(a) + lib.det(a), (2, 3, 3), make=_dominant),
    _case("slogdet", lambda lib, a: lib.linalg.slogdet(a), (2, 3, 3)),
    _case("logdet", lambda lib, a: lib.logdet(a), (3, 3), make=_spd),
    _case("inv", lambda lib, a: lib.linalg.inv(a) + lib.inverse(a), (2, 3, 3), make=_dominant),
    _case("solve", lambda lib, a, b: lib.linalg.solve(a, b), (2, 3, 3), (3, 2),
          make=_dominant),
    _case("solve vector", lambda lib, a, b: lib.linalg.solve(a, b), (2, 3, 3), (2, 3),
          make=_dominant),
    _case("solve left=False", lambda lib, a, b: lib.linalg.solve(a, b, left=False), (3, 3),
          (2, 3), make=_dominant),
    _case("cholesky", lambda lib, a: lib.linalg.cholesky(_sym(lib, a))
          + lib.linalg.cholesky(_sym(lib, a), upper=True), (2, 3, 3), make=_spd),
    _case("qr tall", lambda lib, a: lib.linalg.qr(a), (4, 3)),
    _case("qr wide", lambda lib, a: lib.linalg.qr(a), (2, 2, 4)),
    _case("qr complete", lambda lib, a: lib.linalg.qr(a, mode="complete"), (2, 3)),
    _case("eigh", lambda lib, a: (lambda r: (r.eigenvalues, r.eigenvectors ** 2))(
        lib.linalg.eigh(_sym(lib, a))), (2, 3, 3), rtol=1e-7),
    _case("eigh U", lambda lib, a: (lambda r: (r[0], r[1] @ r[1].mT))(
        lib.linalg.eigh(a, UPLO="U")), (3, 3)),
    _case("eigvalsh", lambda lib, a: lib.linalg.eigvalsh(_sym(lib, a)), (2, 3, 3)),
    _case("svd", lambda lib, a: (lambda r: (r.U ** 2, r.S, r.Vh ** 2))(
        lib.linalg.svd(a, full_matrices=False)), (2, 4, 3), rtol=1e-7),
    _case("svd wide", lambda lib, a: (lambda r: (r.U ** 2, r.S, r.Vh ** 2))(
        lib.linalg.svd(a, full_matrices=False)), (3, 5), rtol=1e-7),
    _case("svd full", lambda lib, a: (lambda r: (r.U ** 2, r.S))(lib.linalg.svd(a)), (4, 3),
          rtol=1e-7),
    _case("svdvals", lambda lib, a: lib.linalg.svdvals(a), (2, 3, 4)),
    _case("pinv", lambda lib, a: lib.linalg.pinv(a) + lib.pinverse(a), (4, 3)),
    _case("pinv hermitian", lambda lib, a: lib.linalg.pinv(_sym(lib, a), hermitian=True),
          (3, 3), make=_spd),
    _case("matrix_power", lambda lib, a: lib.linalg.matrix_power(a, 3)
          + lib.linalg.matrix_power(a, -2) + lib.matrix_power(a, 0), (2, 3, 3), make=_dominant),
    _case("multi_dot", lambda lib, a, b, c: lib.linalg.multi_dot([a, b, c]), (3,), (3, 5),
          (5, 2)),
    _case("vector_norm", lambda lib, a: tuple(
        lib.linalg.vector_norm(a, o, dim=d, keepdim=k)
        for o, d, k in [(2, None, False), (1, 1, True), (3.5, (0, 2), False), (0.5, -1, False),
                        (-1.5, 1, False), (float("inf"), 0, False), (-float("inf"), None, True),
                        (0, 2, False)]), (2, 3, 4)),
    _case("matrix_norm", lambda lib, a: tuple(
        lib.linalg.matrix_norm(a, o, dim=d, keepdim=k)
        for o, d, k in [("fro", (-2, -1), False), ("nuc", (0, 2), True), (2, (-1, -2), False),
                        (-2, (-2, -1), False), (1, (0, 1), False), (-1, (1, 2), True),
                        (float("inf"), (-2, -1), False), (-float("inf"), (2, 0), False)]),
          (2, 3, 4)),
    _case("norm", lambda lib, a: (lib.linalg.norm(a), lib.linalg.norm(a[0], 2),
                                  lib.linalg.norm(a, 1, dim=1), lib.linalg.norm(a[0, 0], -1),
                                  lib.linalg.norm(a, "nuc", dim=(1, 2))), (2, 3, 4)),
    _case("linalg extras", lambda lib, a, b: (lib.linalg.vecdot(a, b), lib.linalg.matmul(a, b.mT),
                                              lib.linalg.diagonal(a, offset=1)),
          (3, 4), (2, 3, 4)),
    _case("tensor methods", lambda lib, a, b: (a.mm(b), a.tril(1), a.diag(), a.trace(),
                                               a[0].outer(b[0]), a.inner(b.mT), a.kron(b),
                                               a.det(), a.inverse(), a.logdet(), a.slogdet()[1],
                                               a.matrix_power(2), a.pinverse(),
                                               a.diagonal(0, 1, 0), a.diag_embed(1)),
          (3, 3), (3, 3), make=_spd),
]


@pytest.mark.parametrize("fn, shapes, make, rtol", ORACLE)
def test_values_and_gradients_match_pytorch(fn, shapes, make, rtol):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [(make if make and i == 0 else lambda r, s: r.standard_normal(s))(rng, s)
              for i, s in enumerate(shapes)]  # ``make`` builds the first (matrix) input
    xs = [_t(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ys = fn(mg, *xs)
    zs = fn(torch, *ts)
    ys = ys if isinstance(ys, tuple) else (ys,)
    zs = zs if isinstance(zs, tuple) else (zs,)
    assert len(ys) == len(zs)
    pairs = [(y, z) for y, z in zip(ys, zs) if z.dtype.is_floating_point]
    for y, z in pairs:
        assert_close(y, z.detach().numpy(), rtol=rtol, atol=1e-10)
    cotangents = [rng.standard_normal(z.shape) for _, z in pairs]
    grads = [(y, z, v) for (y, z), v in zip(pairs, cotangents)
             if z.requires_grad and y.requires_grad]               # slogdet's sign: constant
    gm = mg.autograd.grad([y for y, _, _ in grads], xs, [_t(v) for _, _, v in grads],
                          allow_unused=True)
    gt = torch.autograd.grad([z for _, z, _ in grads], ts,
                             [torch.tensor(v) for _, _, v in grads], allow_unused=True)
    for i, (a, b) in enumerate(zip(gm, gt)):
        if b is None:
            assert a is None or not np.any(a.numpy()), f"input {i}: torch gives no gradient"
            continue
        assert a is not None, f"input {i}: minigrad gives no gradient"
        assert_close(a, b.numpy(), rtol=max(rtol, 1e-8), atol=1e-9, msg=f"gradient {i}:")
