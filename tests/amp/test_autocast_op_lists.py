"""Which products autocast runs in half: PyTorch's lists (its CUDA list where the CPU and
CUDA lists differ; einsum only when it contracts), with the output dtypes derived by hand;
then a comparison with PyTorch's CPU autocast."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.amp import autocast
from minigrad.gradcheck import gradcheck

_rng = np.random.default_rng(0)
_A, _B, _C = (_rng.standard_normal((4, 4)).astype(np.float32) for _ in range(3))
_V = _rng.standard_normal(4).astype(np.float32)
_B1, _B2 = (_rng.standard_normal((2, 4, 4)).astype(np.float32) for _ in range(2))


def _ops(lib, T, linalg):
    """name → a call, for minigrad (lib=mg) or PyTorch (lib=torch)."""
    A, B, C, v, b1, b2 = (T(x) for x in (_A, _B, _C, _V, _B1, _B2))
    return {
        # PyTorch's half lists
        "addmm": lambda: lib.addmm(C, A, B),
        "Tensor.addmm": lambda: C.addmm(A, B, beta=0.5, alpha=2),
        "baddbmm": lambda: lib.baddbmm(b1, b1, b2),
        "addbmm": lambda: lib.addbmm(C, b1, b2),
        "einsum ij,kj->ik": lambda: lib.einsum("ij,kj->ik", A, B),
        "einsum i,i->": lambda: lib.einsum("i,i->", v, v),
        "einsum bij,bjk->bik": lambda: lib.einsum("bij,bjk->bik", b1, b2),
        "einsum ij,ij->i": lambda: lib.einsum("ij,ij->i", A, B),
        "einsum ij,jk,kl->il": lambda: lib.einsum("ij,jk,kl->il", A, B, C),
        "v @ v": lambda: v @ v,
        "matmul(v, v)": lambda: lib.matmul(v, v),
        "mm": lambda: lib.mm(A, B),
        "A @ v": lambda: A @ v,
        "inner(A, B)": lambda: lib.inner(A, B),
        "inner(v, A)": lambda: lib.inner(v, A),
        "tensordot": lambda: lib.tensordot(A, B, dims=1),
        "chain_matmul": lambda: lib.chain_matmul(A, B, C),
        "linalg.multi_dot": lambda: linalg.multi_dot([A, B, C]),
        "linalg.multi_dot(v, B, v)": lambda: linalg.multi_dot([v, B, v]),
        # PyTorch's CUDA half list only (its CPU autocast: float32)
        "mv": lambda: lib.mv(A, v),
        "Tensor.mv": lambda: A.mv(v),
        "addmv": lambda: lib.addmv(v, A, v),
        "addr": lambda: lib.addr(C, v, v),
        # on neither list: the inputs' dtype
        "dot": lambda: lib.dot(v, v),
        "Tensor.dot": lambda: v.dot(v),
        "vdot": lambda: lib.vdot(v, v),
        "inner(v, v)": lambda: lib.inner(v, v),
        "outer": lambda: lib.outer(v, v),
        "ger": lambda: lib.ger(v, v),
        "kron": lambda: lib.kron(A, B),
        "einsum ij->i": lambda: lib.einsum("ij->i", A),
        "einsum ij,ij->ij": lambda: lib.einsum("ij,ij->ij", A, B),
        "einsum i,j->ij": lambda: lib.einsum("i,j->ij", v, v),
    }


HALF = ["addmm", "Tensor.addmm", "baddbmm", "addbmm", "einsum ij,kj->ik", "einsum i,i->",
        "einsum bij,bjk->bik", "einsum ij,ij->i", "einsum ij,jk,kl->il", "v @ v",
        "matmul(v, v)", "mm", "A @ v", "inner(A, B)", "inner(v, A)", "tensordot",
        "chain_matmul", "linalg.multi_dot", "linalg.multi_dot(v, B, v)"]
CUDA_ONLY = ["mv", "Tensor.mv", "addmv", "addr"]
NEITHER = ["dot", "Tensor.dot", "vdot", "inner(v, v)", "outer", "ger", "kron",
           "einsum ij->i", "einsum ij,ij->ij", "einsum i,j->ij"]


def test_the_lists_cover_every_op():
    assert sorted(HALF + CUDA_ONLY + NEITHER) == sorted(_ops(mg, mg.tensor, mg.linalg))


@pytest.mark.parametrize("name", HALF + CUDA_ONLY)
def test_products_on_the_half_list_return_the_half_dtype(name, half_dtype):
    with autocast(half_dtype):
        y = _ops(mg, mg.tensor, mg.linalg)[name]()
    assert y.dtype == half_dtype


@pytest.mark.parametrize("name", NEITHER)
def test_ops_on_neither_list_keep_float32(name, half_dtype):
    with autocast(half_dtype):
        y = _ops(mg, mg.tensor, mg.linalg)[name]()
    assert y.dtype == mg.float32


def test_every_op_is_float32_outside_a_region():
    for name, op in _ops(mg, mg.tensor, mg.linalg).items():
        assert op().dtype == mg.float32, name


def test_dot_of_half_inputs_stays_half_and_accumulates_in_float32():
    """dot is on neither list: half in, half out. 4096 ones: a float16 running sum stops
    at 2048 (2048 + 1 rounds back to 2048); a float32 one reaches 4096 = 2^12 exactly."""
    ones = mg.ones(4096, dtype=mg.float16)
    with autocast():
        for y in (mg.dot(ones, ones), mg.vdot(ones, ones), mg.inner(ones, ones),
                  ones @ ones, mg.einsum("i,i->", ones, ones)):
            assert y.dtype == mg.float16 and y.item() == 4096.0
    assert mg.einsum("i,i->", ones, ones).item() == 4096.0   # outside a region too
    assert mg.einsum("i->", ones).item() == 4096.0


def test_scaled_sums_are_rounded_once_from_float32():
    """addmm = β·C + α·A B: integer entries, so the half product and the half result are
    exact and equal the float32 formula; the leaf gradients stay float32."""
    A = mg.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
    B = mg.tensor([[5.0, 6.0], [7.0, 8.0]], requires_grad=True)
    C = mg.tensor([[1.0, -1.0], [0.5, 2.0]], requires_grad=True)
    with autocast():
        y = mg.addmm(C, A, B, beta=2, alpha=3)
    assert y.dtype == mg.float16
    assert y.tolist() == [[59.0, 64.0], [130.0, 154.0]]   # 2C + 3·[[19, 22], [43, 50]]
    y.float().sum().backward()
    for t in (A, B, C):
        assert t.grad.dtype == mg.float32
    assert C.grad.tolist() == [[2.0, 2.0], [2.0, 2.0]]
    assert A.grad.tolist() == [[33.0, 45.0], [33.0, 45.0]]   # 3 · 1 Bᵀ
    with autocast():
        s = mg.addbmm(mg.zeros(2, 2), mg.ones(3, 2, 2), mg.ones(3, 2, 2))
        r = mg.addr(mg.ones(2, 2), mg.tensor([1.0, 2.0]), mg.tensor([3.0, 4.0]))
    assert s.dtype == r.dtype == mg.float16
    assert s.tolist() == [[6.0, 6.0], [6.0, 6.0]] and r.tolist() == [[4.0, 5.0], [7.0, 9.0]]


def test_vector_products_gradcheck():
    """dot, vdot, inner of vectors and 1-D @ 1-D are (1, k) @ (k, 1) products now."""
    rng = np.random.default_rng(3)
    a = mg.tensor(rng.standard_normal(5), requires_grad=True)
    b = mg.tensor(rng.standard_normal(5), requires_grad=True)
    for f in (mg.dot, mg.vdot, mg.inner, mg.matmul):
        assert gradcheck(f, (a, b))
        np.testing.assert_allclose(f(a, b).item(), float(a.numpy() @ b.numpy()), rtol=1e-12)
    with pytest.raises(ValueError, match="dot: vectors of different lengths"):
        mg.dot(a, b[:4])
    with pytest.raises(ValueError, match="vdot: expects 1-D tensors"):
        mg.vdot(a.reshape(5, 1), b)


def test_einsum_policy_follows_the_contraction():
    from minigrad.ops.linalg import Einsum

    assert Einsum(["ij", "kj"], "ik").amp_policy == "half"
    assert Einsum(["i", "i"], "").amp_policy == "half"
    assert Einsum(["ij"], "i").amp_policy is None
    assert Einsum(["i", "j"], "ij").amp_policy is None
    assert Einsum(["ij", "k"], "").amp_policy is None   # sums within each operand only


@pytest.mark.filterwarnings("ignore:torch.chain_matmul is deprecated")
def test_dtypes_and_values_against_torch_cpu_autocast():
    """Every op's dtype equals PyTorch's CPU autocast, except the four on PyTorch's CUDA
    list only (float32 on its CPU), which minigrad's single list puts in half."""
    torch = pytest.importorskip("torch")
    for mg_half, torch_half in ((mg.float16, torch.float16), (mg.bfloat16, torch.bfloat16)):
        if mg_half is None:
            continue
        with torch.autocast("cpu", dtype=torch_half):
            theirs = {k: f() for k, f in _ops(torch, torch.tensor, torch.linalg).items()}
        with autocast(mg_half):
            ours = {k: f() for k, f in _ops(mg, mg.tensor, mg.linalg).items()}
        for name in ours:
            t_dtype = str(theirs[name].dtype).removeprefix("torch.")
            expected = "float32" if name in CUDA_ONLY else str(ours[name].dtype)
            assert t_dtype == expected, name
            tol = 2e-2 if mg_half == mg.bfloat16 else 4e-3
            np.testing.assert_allclose(ours[name].float().numpy(),
                                       theirs[name].float().numpy(), rtol=tol, atol=tol * 8,
                                       err_msg=name)


def test_prelu_is_on_the_half_list(half_dtype):
    """PyTorch's CUDA list has prelu: half inputs, a half result; the slope's gradient
    returns to float32."""
    x = mg.tensor([[-2.0, 1.0], [0.5, -4.0]])
    w = mg.tensor([0.25, 0.5], requires_grad=True)
    with autocast(half_dtype):
        y = mg.nn.functional.prelu(x, w)
    assert y.dtype == half_dtype
    assert y.float().tolist() == [[-0.5, 1.0], [0.5, -2.0]]
    y.float().sum().backward()
    assert w.grad.dtype == mg.float32 and w.grad.tolist() == [-2.0, -4.0]


@pytest.mark.parametrize("name", ["matrix_exp", "lstsq", "cholesky_inverse",
                                  "adaptive_avg_pool2d"])
def test_single_kernels_built_from_matmuls_keep_their_dtype(name, half_dtype):
    """PyTorch computes these in one kernel, on neither list: a float32 input gives float32
    inside a region (minigrad's matmuls inside them run with autocast off), and the values
    are the float32 ones."""
    S = mg.tensor(_A @ _A.T + 4 * np.eye(4, dtype=np.float32))
    op = {"matrix_exp": lambda: mg.linalg.matrix_exp(mg.tensor(_A) * 0.25),
          "lstsq": lambda: mg.linalg.lstsq(S, mg.tensor(_B)).solution,
          "cholesky_inverse": lambda: mg.cholesky_inverse(mg.linalg.cholesky(S)),
          "adaptive_avg_pool2d": lambda: mg.nn.functional.adaptive_avg_pool2d(
              mg.tensor(_B1).unsqueeze(0), 3)}[name]
    want = op()
    with autocast(half_dtype):
        got = op()
    assert got.dtype == mg.float32
    np.testing.assert_array_equal(got.numpy(), want.numpy())
