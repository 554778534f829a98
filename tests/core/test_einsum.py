"""einsum, worked out by hand: every equation form (explicit and implicit output,
ellipsis, repeated letters in one operand, letters summed inside one operand, size-1
broadcasting), the gradient of each, and the errors. The random inputs of op_specs.py
(gradcheck, gradgradcheck) and the PyTorch oracle in test_linalg.py cover it too."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.testing import assert_close

A = np.array([[1.0, 2.0], [3.0, 4.0]])
B = np.array([[5.0, 6.0], [7.0, 8.0]])


def _t(values, device="cpu", requires_grad=False):
    return mg.tensor(np.asarray(values, dtype=np.float64), device=device,
                     requires_grad=requires_grad)


@pytest.mark.parametrize("equation, operands, expected", [
    ("ij,jk->ik", (A, B), [[19.0, 22.0], [43.0, 50.0]]),
    ("ij,jk", (A, B), [[19.0, 22.0], [43.0, 50.0]]),           # implicit: letters once, sorted
    ("ij,ij->ij", (A, B), [[5.0, 12.0], [21.0, 32.0]]),
    ("ij,ij", (A, B), 70.0),                                     # implicit: nothing left
    ("ij->ji", (A,), [[1.0, 3.0], [2.0, 4.0]]),
    ("ji", (A,), [[1.0, 3.0], [2.0, 4.0]]),                      # implicit output "ij"
    ("ii", (A,), 5.0),                                           # the trace
    ("ii->i", (A,), [1.0, 4.0]),                                 # the diagonal
    ("ij->", (A,), 10.0),
    ("ij->j", (A,), [4.0, 6.0]),
    ("i,j->ij", (A[0], B[0]), [[5.0, 6.0], [10.0, 12.0]]),
    ("i,i", (A[0], B[0]), 17.0),
    ("ba,ab", (A, B), 69.0),                                     # Σ A_ba·B_ab = tr(AB)
    ("...j,j->...", (A, B[1]), [23.0, 53.0]),
    ("bij,bjk->bik", (np.stack([A, B]), np.stack([B, A])),
     [[[19.0, 22.0], [43.0, 50.0]], [[23.0, 34.0], [31.0, 46.0]]]),
    ("...ii->...", (np.stack([A, B]),), [5.0, 13.0]),
    ("...ij->ij", (np.stack([A, B]),), [[6.0, 8.0], [10.0, 12.0]]),  # ellipsis summed (*)
    ("iij->j", (np.stack([A, B]),), [8.0, 10.0]),                # x[0,0,:] + x[1,1,:]
    ("ijk,j->i", (np.stack([A, B]), [1.0, -1.0]), [-4.0, -4.0]),  # k summed in one operand
    ("ij,j->ij", (A[:1], B[1]), [[7.0, 16.0]]),
])
def test_einsum_forms(equation, operands, expected, device):
    out = mg.einsum(equation, *(_t(x, device) for x in operands))
    assert_close(out, np.asarray(expected), rtol=1e-12)
    if equation != "...ij->ij":  # (*) NumPy refuses to sum an ellipsis; PyTorch sums it
        assert_close(out, np.einsum(equation, *operands), rtol=1e-12)


def test_einsum_accepts_a_list_of_operands():
    assert mg.einsum("ij,jk->ik", [_t(A), _t(B)]).tolist() == [[19.0, 22.0], [43.0, 50.0]]


def test_implicit_output_sorts_upper_case_first():
    # PyTorch and NumPy: "A" < "b", so "bA,Ab" keeps nothing, "Ab,bc" gives "Ac"
    out = mg.einsum("Ab,bc", _t(A), _t(B))
    assert_close(out, A @ B)
    x = _t(np.arange(6.0).reshape(2, 3))
    assert mg.einsum("bA", x).shape == (3, 2)


def test_size_one_dims_broadcast():
    out = mg.einsum("ij,ij->ij", _t([[1.0, 2.0]]), _t(B))
    assert out.tolist() == [[5.0, 12.0], [7.0, 16.0]]
    out = mg.einsum("...j,...j->...", _t(np.ones((2, 1, 3))), _t(np.ones((4, 3))))
    assert out.shape == (2, 4) and out.tolist() == [[3.0] * 4] * 2


def _grads(equation, *arrays, gy=None):
    xs = [_t(a, requires_grad=True) for a in arrays]
    y = mg.einsum(equation, *xs)
    y.backward(mg.ones_like(y) if gy is None else _t(gy))
    return [x.grad.numpy() for x in xs]


def test_gradient_of_the_trace_is_the_identity():
    (g,) = _grads("ii", A)
    assert g.tolist() == [[1.0, 0.0], [0.0, 1.0]]


def test_gradient_of_a_diagonal_is_zero_off_it():
    (g,) = _grads("ii->i", A, gy=[3.0, -1.0])
    assert g.tolist() == [[3.0, 0.0], [0.0, -1.0]]


def test_gradient_of_a_sum_is_spread():
    (g,) = _grads("ij->", A, gy=2.0)
    assert g.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    ga, gb = _grads("ijk,j->i", np.stack([A, B]), [1.0, -1.0], gy=[1.0, 2.0])
    # ∂/∂x[i,j,k] = gy[i]·b[j] for every k; ∂/∂b[j] = Σ_i gy[i]·Σ_k x[i,j,k]
    assert ga.tolist() == [[[1.0, 1.0], [-1.0, -1.0]], [[2.0, 2.0], [-2.0, -2.0]]]
    assert gb.tolist() == [3.0 + 2 * 11.0, 7.0 + 2 * 15.0]


def test_gradient_of_a_product_is_the_other_factor():
    ga, gb = _grads("ij,jk->ik", A, B)
    assert_close(ga, np.ones((2, 2)) @ B.T)
    assert_close(gb, A.T @ np.ones((2, 2)))


def test_gradient_of_a_broadcast_operand_is_summed():
    ga, gb = _grads("ij,ij->ij", [[1.0, 2.0]], B)
    assert ga.tolist() == [[12.0, 14.0]] and gb.tolist() == [[1.0, 2.0], [1.0, 2.0]]


def test_same_tensor_twice():
    x = _t([1.0, 2.0, 3.0], requires_grad=True)
    mg.einsum("i,i", x, x).backward()
    assert x.grad.tolist() == [2.0, 4.0, 6.0]


def test_second_derivative():
    x = _t(A, requires_grad=True)
    y = mg.einsum("ij,jk,ki", x, x, x)                          # tr(X³)
    (g,) = mg.autograd.grad(y, x, create_graph=True)
    assert_close(g, 3 * (A @ A).T)                               # ∂tr(X³)/∂X = 3(X²)ᵀ
    (gg,) = mg.autograd.grad(g.sum(), x)
    # Σᵢⱼ 3(X²)ᵢⱼ = 3·1ᵀX·X1, whose gradient is 3(11ᵀXᵀ + Xᵀ11ᵀ)
    ones = np.ones((2, 2))
    assert_close(gg, 3 * (ones @ A.T + A.T @ ones), rtol=1e-12)


def test_float32_stays_float32():
    assert mg.einsum("ij,jk", mg.tensor(A.tolist()), mg.tensor(B.tolist())).dtype == mg.float32


@pytest.mark.parametrize("equation, shapes, message", [
    ("ij,jk", [(2, 3)], "2 operand subscripts"),
    ("ij,jk", [(2, 3), (4, 2)], "subscript j has sizes 3 and 4"),
    ("ii", [(2, 3)], "subscript i is repeated for operand 0"),
    ("ij->ii", [(2, 2)], "repeat a letter"),
    ("ij->k", [(2, 2)], "no operand has"),
    ("i1", [(2, 2)], "invalid subscripts"),
    ("ijk", [(2, 2)], "do not fit"),
    ("...i...", [(2, 2)], "invalid subscripts"),
])
def test_errors_name_einsum(equation, shapes, message):
    with pytest.raises(ValueError, match="einsum") as info:
        mg.einsum(equation, *(mg.zeros(s) for s in shapes))
    assert message in str(info.value)


def test_no_operands():
    with pytest.raises(ValueError, match="einsum"):
        mg.einsum("ij")
