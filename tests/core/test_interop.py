"""Interop and the last PyTorch names: DLPack both ways, asarray / scalar_tensor,
as_strided, tensordot, torch.vander, chain_matmul, the small Tensor methods (byte, char,
short, get_device, conj...), and the torch-level aliases of functional ops."""
import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

import minigrad as mg
from minigrad.testing import arrays


def test_dlpack_with_numpy_shares_memory():
    a = np.arange(4.0)
    t = mg.from_dlpack(a)
    a[0] = 9.0
    assert t.tolist() == [9.0, 1.0, 2.0, 3.0]
    back = np.from_dlpack(t)
    back[1] = 7.0
    assert t.tolist()[1] == 7.0


def test_dlpack_with_pytorch_both_ways():
    torch = pytest.importorskip("torch")
    tt = torch.arange(3.0)
    m = mg.from_dlpack(tt)
    tt[2] = 5.0
    assert m.tolist() == [0.0, 1.0, 5.0]
    m2 = mg.arange(4.0)
    t2 = torch.from_dlpack(m2)
    m2.data[0] = -1.0
    assert t2.tolist() == [-1.0, 1.0, 2.0, 3.0]


def test_asarray_and_scalar_tensor():
    a = np.arange(3.0)
    assert np.shares_memory(mg.asarray(a).data, a)
    assert not np.shares_memory(mg.asarray(a, copy=True).data, a)
    assert mg.asarray(a, dtype=mg.float32).dtype == mg.float32
    with pytest.raises(ValueError, match="copy=False"):
        mg.asarray([1, 2], copy=False)
    t = mg.ones(2)
    assert mg.asarray(t).data is t.data
    assert mg.asarray([1.5], requires_grad=True).requires_grad
    s = mg.scalar_tensor(3)
    assert s.shape == () and s.dtype == mg.float32 and s.item() == 3.0


def test_small_tensor_methods(device):
    x = mg.tensor([1.7, -2.2, 300.0], device=device)
    assert x.byte().dtype == mg.uint8 and x.char().dtype == mg.int8
    assert x.short().tolist() == [1, -2, 300]
    assert x.get_device() == (-1 if device == "cpu" else 0)
    assert x.conj() is x and x.resolve_conj() is x and not x.is_conj() and not x.is_neg()
    assert x.to_dense() is x and x.to_dense(mg.float64).dtype == mg.float64
    assert x.storage_offset() == 0 and not x.is_inference()


def test_as_strided_by_hand_and_its_gradient(device):
    x = mg.arange(10.0, device=device, requires_grad=True)
    y = x.as_strided((3, 4), (2, 1), 1)                  # overlapping windows
    assert y.tolist() == [[1, 2, 3, 4], [3, 4, 5, 6], [5, 6, 7, 8]]
    y.sum().backward()
    assert x.grad.tolist() == [0, 1, 1, 2, 2, 2, 2, 1, 1, 0]   # how often each is read
    with pytest.raises(IndexError, match="reach element 10"):
        x.as_strided((2, 5), (5, 1), 1)
    with pytest.raises(ValueError, match="differ in length"):
        x.as_strided((2,), (1, 1))


def test_as_strided_matches_pytorch():
    torch = pytest.importorskip("torch")
    a = np.arange(24.0).reshape(4, 6)
    for size, stride, off in [((3, 3), (6, 2), 1), ((2, 2, 2), (12, 3, 1), 0),
                              ((5,), (0,), 4)]:
        np.testing.assert_array_equal(mg.tensor(a).as_strided(size, stride, off).numpy(),
                                      torch.tensor(a).as_strided(size, stride, off).numpy())


def test_tensordot_vander_chain_matmul_by_hand():
    a, b = mg.arange(6.0).reshape(2, 3), mg.arange(6.0).reshape(3, 2)
    assert mg.tensordot(a, b, dims=1).tolist() == (a @ b).tolist()
    assert mg.tensordot(a, a, dims=2).item() == sum(v * v for v in range(6))
    assert mg.tensordot(a, b, dims=0).shape == (2, 3, 3, 2)
    assert mg.tensordot(a, a, dims=([0, 1], [0, 1])).item() == 55.0
    with pytest.raises(ValueError, match="contracted dimension 1 of a"):
        mg.tensordot(a, a, dims=([1], [0]))
    x = mg.tensor([1.0, 2.0, 3.0])
    assert mg.vander(x).tolist() == [[1, 1, 1], [4, 2, 1], [9, 3, 1]]
    assert mg.vander(x, 2, increasing=True).tolist() == [[1, 1], [1, 2], [1, 3]]
    assert mg.chain_matmul(mg.eye(2), mg.ones(2, 3), mg.ones(3, 1)).tolist() == [[3.0],
                                                                                  [3.0]]


@given(data=st.data())
def test_gradcheck_of_tensordot_and_as_strided(data):
    a = data.draw(arrays(shape=(2, 3, 2)))
    b = data.draw(arrays(shape=(2, 3, 4)))
    ta, tb = (mg.tensor(v, requires_grad=True) for v in (a, b))
    fn = lambda u, v: mg.tensordot(u, v, dims=([0, 1], [0, 1]))  # noqa: E731
    assert mg.gradcheck(fn, [ta, tb]) and mg.gradgradcheck(fn, [ta, tb])
    strided = lambda u: u.as_strided((2, 3), (3, 2), 1) ** 2  # noqa: E731
    assert mg.gradcheck(strided, [ta]) and mg.gradgradcheck(strided, [ta])


def test_tensordot_and_vander_match_pytorch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((2, 3, 4)), rng.standard_normal((4, 3, 5))
    for dims in (0, 1, ([1, 2], [1, 0]), ([2], [0])):
        np.testing.assert_allclose(
            mg.tensordot(mg.tensor(a), mg.tensor(b), dims).numpy(),
            torch.tensordot(torch.tensor(a), torch.tensor(b), dims=dims).numpy(),
            rtol=1e-12, atol=1e-12)
    x = rng.standard_normal(3)
    for n in (None, 0, 1, 4):
        for inc in (False, True):
            np.testing.assert_allclose(mg.vander(mg.tensor(x), n, inc).numpy(),
                                       torch.vander(torch.tensor(x), n, inc).numpy())


def test_torch_level_aliases_of_functional_ops():
    F = mg.nn.functional
    x, w = mg.randn(1, 2, 5, 5), mg.randn(3, 2, 3, 3)
    assert mg.conv2d(x, w, None, 1, 1).tolist() == F.conv2d(x, w, None, 1, 1).tolist()
    assert mg.pixel_shuffle(mg.randn(1, 4, 2, 2), 2).shape == (1, 1, 4, 4)
    assert mg.dropout(mg.ones(4), 0.5, False).tolist() == [1.0] * 4
    assert mg.max_pool1d_with_indices(mg.arange(4.0).reshape(1, 1, 4), 2)[1].tolist() == \
        [[[1, 3]]]
    assert mg.conv2d.__name__ == "conv2d" and "functional.conv2d" in mg.conv2d.__doc__
    assert mg.detach(mg.ones(1, requires_grad=True)).requires_grad is False
    assert mg.fill(mg.zeros(2), 4.0).tolist() == [4.0, 4.0]
    assert mg.vmap(lambda t: t.sum())(mg.ones(3, 2)).tolist() == [2.0, 2.0, 2.0]
    with mg.autocast("cpu", dtype=mg.float16):
        assert (mg.ones(2, 2) @ mg.ones(2, 2)).dtype == mg.float16
