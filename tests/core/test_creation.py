"""Creation functions, dtypes and seeding follow PyTorch's conventions."""
import numpy as np
import pytest

import minigrad as mg


def test_default_dtypes():
    assert mg.tensor([1.0, 2.0]).dtype == mg.float32
    assert mg.tensor([1, 2]).dtype == mg.int64
    assert mg.tensor(np.zeros(2)).dtype == mg.float64  # NumPy arrays keep their dtype
    assert mg.zeros(2).dtype == mg.float32
    assert mg.arange(3).dtype == mg.int64
    assert mg.arange(0.0, 1.0, 0.5).dtype == mg.float32
    assert mg.full((2,), 3).dtype == mg.int64


@pytest.mark.parametrize("f", [mg.zeros, mg.ones, mg.empty, mg.rand, mg.randn])
def test_shape_as_tuple_or_ints(f, device):
    assert f(2, 3, device=device).shape == (2, 3)
    assert f((2, 3), device=device).shape == (2, 3)
    t = f(2, 3, dtype=mg.float64, device=device, requires_grad=True)
    assert t.dtype == mg.float64 and t.requires_grad and t.device == device


def test_like_functions():
    x = mg.ones(2, 3, dtype=mg.float64)
    assert mg.zeros_like(x).dtype == mg.float64 and mg.zeros_like(x).shape == (2, 3)
    assert mg.ones_like(x).tolist() == [[1.0] * 3] * 2
    assert mg.randn_like(x).shape == (2, 3)
    assert mg.full_like(x, 7.0).tolist() == [[7.0] * 3] * 2


def test_tensor_copies_and_from_numpy_shares():
    a = np.zeros(3)
    t = mg.tensor(a)
    a[0] = 1
    assert t.tolist() == [0.0, 0.0, 0.0]
    s = mg.from_numpy(a)
    a[1] = 2
    assert s.tolist() == [1.0, 2.0, 0.0]


def test_linspace_eye_randint(device):
    assert mg.linspace(0, 1, 5).tolist() == [0.0, 0.25, 0.5, 0.75, 1.0]
    assert mg.eye(2).tolist() == [[1.0, 0.0], [0.0, 1.0]]
    r = mg.randint(0, 5, (100,), device=device)
    assert r.device == device
    r = r.cpu().numpy()
    assert r.dtype == np.int64 and 0 <= r.min() and r.max() < 5
    assert set(r.tolist()) == {0, 1, 2, 3, 4}
    assert mg.randint(7, (3,), device=device).cpu().numpy().max() < 7  # randint(high, size)
    with pytest.raises(ValueError, match=r"randint: high \(5\) must be greater than low \(5\)"):
        mg.randint(5, 5, (3,), device=device)


def _draws(device):
    return (mg.randn(5, device=device), mg.rand(3, dtype=mg.float64, device=device),
            mg.randint(0, 10, (4,), device=device), mg.randn(2, 3, dtype=mg.float16,
                                                            device=device))


def test_manual_seed_makes_randomness_repeatable(device):
    mg.manual_seed(123)
    a = _draws(device)
    mg.manual_seed(123)
    b = _draws(device)
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist() and x.dtype == y.dtype
    mg.manual_seed(124)
    assert _draws(device)[0].tolist() != a[0].tolist()


def test_rng_state_round_trip(device):
    mg.manual_seed(7)
    mg.randn(3, device=device)
    state = mg.get_rng_state()
    x = [t.tolist() for t in _draws(device)]
    mg.randn(10, device=device)
    mg.set_rng_state(state)
    assert [t.tolist() for t in _draws(device)] == x


def test_where_and_python_scalars_keep_dtype():
    x = mg.tensor([1.0, -1.0], dtype=mg.float16)
    assert (x * 2.0).dtype == mg.float16
    assert (2.0 * x).dtype == mg.float16
    assert mg.where(x > 0, x, 0.0).dtype == mg.float16
    assert (np.float64(2.0) * x).dtype == mg.float16


def test_repr_is_readable():
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    assert repr(x) == "tensor([1., 2.], requires_grad=True)"
    assert "grad_fn=<Mul backward>" in repr(x * 2)



def test_bfloat16_prints_as_floats():
    if mg.bfloat16 is None:
        pytest.skip("bfloat16 needs ml_dtypes")
    assert repr(mg.tensor([1.0, 1.5], dtype=mg.bfloat16)) == \
        "tensor([1. , 1.5], dtype=bfloat16)"


def test_max_min_with_dim_return_values_and_indices():
    x = mg.tensor([[1.0, 5.0, 2.0], [7.0, 0.0, 3.0]])
    values, indices = x.max(dim=1)
    assert values.tolist() == [5.0, 7.0] and indices.tolist() == [1, 0]
    assert x.min(0).indices.tolist() == [0, 1, 0]
    assert x.max().item() == 7.0


def test_var_std_default_unbiased():
    x = mg.tensor([1.0, 2.0, 3.0, 4.0], dtype=mg.float64)
    assert x.var().item() == pytest.approx(np.var([1, 2, 3, 4], ddof=1))
    assert x.std(correction=0).item() == pytest.approx(np.std([1, 2, 3, 4]))


def test_stable_sigmoid_and_softplus_float32():
    x = mg.tensor([-1e4, -50.0, 0.0, 50.0, 1e4], requires_grad=True)
    with np.errstate(over="raise", invalid="raise", divide="raise"):  # no overflow
        s = x.sigmoid()
        sp = mg.softplus(x)
        (s.sum() + sp.sum()).backward()
    assert s.tolist()[0] == 0.0 and s.tolist()[-1] == 1.0
    assert np.isfinite(sp.numpy()).all() and sp.numpy()[-1] == 1e4
    assert np.isfinite(x.grad.numpy()).all()


def test_log_softmax_stable_for_large_logits():
    x = mg.tensor([[1000.0, 0.0, -1000.0]])
    with np.errstate(over="raise", invalid="raise", divide="raise"):
        y = x.log_softmax(1)
    assert y.tolist()[0][0] == 0.0 and y.tolist()[0][2] == -2000.0


def test_getitem_repeated_indices_accumulate():
    x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    x[mg.tensor([0, 0, 2])].sum().backward()
    assert x.grad.tolist() == [2.0, 0.0, 1.0]


def test_device_move_is_differentiable(device):
    x = mg.tensor([1.0, 2.0], requires_grad=True)
    y = x.to(device) * 3
    y.cpu().sum().backward()
    assert x.grad.tolist() == [3.0, 3.0]
