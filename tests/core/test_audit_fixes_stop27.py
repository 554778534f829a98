"""Fixes from the stop-27 audit, which called every function of ``minigrad``, ``F`` and
``linalg`` with float and integer tensors of many shapes (0-d and empty included) and kept
what escaped as an error from inside NumPy, or as a wrong answer: the normalizations
returned integer tensors for integer inputs (layer_norm of [1, 2, 3] was [-1, 0, 1]), norm
summed integers, split/chunk/unbind/cross/glu of a 0-d tensor and lstsq with a 0-d B failed
on a tuple index, pad of a 0-d tensor in NumPy, cond of an empty matrix in indexing."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

INTS = mg.tensor([[1, 2, 3], [4, 5, 6]])
NORMALIZATIONS = {
    "layer_norm": lambda x: F.layer_norm(x, (3,)),
    "rms_norm": lambda x: F.rms_norm(x, (3,)),
    "group_norm": lambda x: F.group_norm(x.reshape(2, 3, 1), 1),
    "batch_norm": lambda x: F.batch_norm(x, None, None, training=True),
    "instance_norm": lambda x: F.instance_norm(x.reshape(2, 3, 1)),
    "normalize": lambda x: F.normalize(x),
    "norm": lambda x: mg.norm(x),
}


@pytest.mark.parametrize("name", NORMALIZATIONS)
def test_normalizations_refuse_integer_tensors(name):
    with pytest.raises(TypeError, match=f"^{name}: input must be a floating-point tensor, "
                                        "got int64"):
        NORMALIZATIONS[name](INTS)


@pytest.mark.parametrize("name", NORMALIZATIONS)
def test_normalizations_of_floats_are_unchanged(name):
    if name == "instance_norm":  # needs more than one spatial element
        x = mg.tensor(np.arange(12.0).reshape(2, 3, 2))
        out = F.instance_norm(x)
        np.testing.assert_allclose(out.numpy(), np.tile([[-1.0, 1.0]], (2, 3, 1)).reshape(
            2, 3, 2), rtol=1e-4)
        return
    out = NORMALIZATIONS[name](INTS.double())
    assert out.dtype == mg.float64


def test_layer_norm_of_the_same_values_as_floats():
    # (x − mean)/√(var + ε) of [1, 2, 3]: ±√(3/2)·(1 − ε-correction), 0
    out = F.layer_norm(INTS.double(), (3,)).numpy()
    want = np.array([-1.0, 0.0, 1.0]) / np.sqrt(2.0 / 3.0 + 1e-5)
    np.testing.assert_allclose(out, [want, want], rtol=1e-12)


def test_norm_converts_first_with_dtype():
    assert mg.norm(INTS[0], dtype=mg.float64).item() == pytest.approx(np.sqrt(14.0))


@pytest.mark.parametrize("call", [lambda x: mg.split(x, 1), lambda x: x.chunk(2),
                                  lambda x: mg.unbind(x), lambda x: mg.linalg.cross(x, x)],
                         ids=["split", "chunk", "unbind", "cross"])
def test_ops_that_split_a_dim_refuse_a_0d_tensor(call):
    with pytest.raises(ValueError, match="expects a tensor with at least 1 dim, got a 0-d"):
        call(mg.tensor(1.0))


def test_glu_of_a_0d_tensor():
    with pytest.raises(ValueError, match="glu: expects a tensor with at least 1 dim, got a 0-d"):
        F.glu(mg.tensor(1.0))


def test_lstsq_refuses_a_0d_right_hand_side():
    with pytest.raises(ValueError, match="linalg.lstsq: B must have at least 1 dim"):
        mg.linalg.lstsq(mg.randn(2, 3, dtype=mg.float64), mg.tensor(1.0, dtype=mg.float64))


def test_pad_of_a_0d_tensor_by_nothing_is_a_copy_in_the_graph():
    x = mg.tensor(1.5, dtype=mg.float64, requires_grad=True)
    y = F.pad(x, ())
    assert y.shape == () and y.item() == 1.5 and y.data is not x.data
    (3 * y).backward()
    assert x.grad.item() == 3.0
    assert mg.gradcheck(lambda t: F.pad(t, ()), (x,))


@pytest.mark.parametrize("shape", [(0, 3), (0, 0), (2, 0, 0), (3, 0)])
@pytest.mark.parametrize("p", [None, 2, -2])
def test_cond_of_an_empty_matrix_is_zero(shape, p):
    out = mg.linalg.cond(mg.zeros(*shape, dtype=mg.float64), p)
    assert out.shape == shape[:-2] and not out.numpy().any()


def test_cond_of_an_empty_square_matrix_with_a_norm_and_a_nonsquare_one_refused():
    assert mg.linalg.cond(mg.zeros(0, 0, dtype=mg.float64), "fro").item() == 0.0
    with pytest.raises(ValueError, match="square"):
        mg.linalg.cond(mg.zeros(0, 3, dtype=mg.float64), "fro")


def test_cond_matches_pytorch_on_empty_matrices():
    torch = pytest.importorskip("torch")
    for shape in ((0, 3), (0, 0), (2, 0, 0)):
        want = torch.linalg.cond(torch.zeros(shape, dtype=torch.float64)).numpy()
        np.testing.assert_array_equal(mg.linalg.cond(mg.zeros(*shape, dtype=mg.float64))
                                      .numpy(), want)


# ---------------------------------------------- dtypes, against PyTorch's results (stop 27)


def test_hardtanh_and_relu6_keep_an_integer_dtype():
    x = mg.tensor([1, -2, 3, 7])
    assert F.hardtanh(x).dtype == mg.int64 and F.hardtanh(x).tolist() == [1, -1, 1, 1]
    assert F.relu6(x).dtype == mg.int64 and F.relu6(x).tolist() == [1, 0, 3, 6]
    y = mg.tensor([0.5, -3.0, 2.0], requires_grad=True)
    F.hardtanh(y).sum().backward()
    assert F.hardtanh(y).dtype == mg.float32 and y.grad.tolist() == [1.0, 0.0, 0.0]


def test_square_of_bools_is_int64():
    assert mg.tensor([True, False]).square().dtype == mg.int64


def test_cosine_similarity_with_an_integer_operand():
    a, b = [[3.0, 4.0], [1.0, 0.0]], [[3, 4], [0, 2]]
    out = F.cosine_similarity(mg.tensor(a), mg.tensor(b))
    assert out.dtype == mg.float32
    np.testing.assert_allclose(out.numpy(), [1.0, 0.0], atol=1e-7)
    assert F.cosine_similarity(mg.tensor(b), mg.tensor(b)).dtype == mg.float32


@pytest.mark.parametrize("shapes", [((0, 3), (0, 3)), ((3, 0), (3, 2)), ((2, 0, 3), (2, 0, 1))])
def test_lstsq_of_an_empty_matrix(shapes):
    """Rank 0 and a zero solution of the right shape, as PyTorch (the rank's max over no
    singular values used to fail inside NumPy)."""
    na, nb = shapes[0][-1], shapes[1][-1]
    r = mg.linalg.lstsq(mg.zeros(*shapes[0], dtype=mg.float64),
                        mg.zeros(*shapes[1], dtype=mg.float64))
    assert r.solution.shape == shapes[0][:-2] + (na, nb) and not r.solution.numpy().any()
    assert not r.rank.numpy().any() and r.rank.shape == shapes[0][:-2]


# ------------------------------------------- gradients, against PyTorch's conventions


def test_nanmedian_of_all_shares_the_gradient_among_ties():
    """nanmedian() (no dim) shares gy equally among the elements equal to the median, as
    median() and PyTorch's nanmedian() do (it used to give it all to one of them)."""
    x = mg.tensor([[0.0, 1.0, 1.0], [-1.0, 0.0, 2.0]], dtype=mg.float64, requires_grad=True)
    y = mg.nanmedian(x)                     # sorted -1, 0, 0, 1, 1, 2: the lower median 0
    y.backward(mg.tensor(1.5, dtype=mg.float64))
    assert y.item() == 0.0
    assert x.grad.tolist() == [[0.75, 0.0, 0.0], [0.0, 0.75, 0.0]]
    z = mg.tensor([1.0, float("nan"), 3.0, 2.0], dtype=mg.float64, requires_grad=True)
    mg.nanmedian(z).backward()              # NaN ignored: the lower median of 1, 2, 3
    assert z.grad.tolist() == [0.0, 0.0, 0.0, 1.0]
    w = mg.tensor([float("nan")] * 3, dtype=mg.float64, requires_grad=True)
    out = mg.nanmedian(w)
    out.backward()
    assert np.isnan(out.item()) and w.grad.tolist() == pytest.approx([1 / 3] * 3)


def test_nanmedian_of_all_gradcheck():
    x = mg.tensor(np.random.default_rng(0).permutation(12).reshape(3, 4) * 0.5 + 0.1,
                  dtype=mg.float64, requires_grad=True)  # distinct values: no ties
    assert mg.gradcheck(mg.nanmedian, (x,))
    assert mg.gradgradcheck(mg.nanmedian, (x,))


def test_nanmedian_of_all_matches_pytorch():
    torch = pytest.importorskip("torch")
    for a in ([[0.0, 1.0, 1.0], [-1.0, 0.0, 2.0]], [[2.0, float("nan")], [2.0, 1.0]],
              [5.0], [float("nan"), float("nan")]):
        x = mg.tensor(a, dtype=mg.float64, requires_grad=True)
        t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
        y, u = mg.nanmedian(x), torch.nanmedian(t)
        y.backward(mg.tensor(1.5, dtype=mg.float64))
        u.backward(torch.tensor(1.5, dtype=torch.float64))
        np.testing.assert_array_equal(y.numpy(), u.detach().numpy())
        np.testing.assert_array_equal(x.grad.numpy(), t.grad.numpy())


def test_sum_to_size_takes_sizes_as_arguments_or_a_tuple():
    """PyTorch's ``sum_to_size(*size)`` (it took only a tuple, as ``sum_to``)."""
    x = mg.tensor(np.arange(6.0).reshape(2, 3), requires_grad=True)
    assert x.sum_to_size(1, 3).tolist() == [[3.0, 5.0, 7.0]]
    assert x.sum_to_size((2, 1)).tolist() == [[3.0], [12.0]]
    assert x.sum_to_size(3).tolist() == [3.0, 5.0, 7.0]
    x.sum_to_size(3).sum().backward()
    assert x.grad.tolist() == [[1.0] * 3] * 2
