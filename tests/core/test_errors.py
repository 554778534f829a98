"""Bad input gets a clear error that names the problem."""
import numpy as np
import pytest

import minigrad as mg


def test_matmul_shape_mismatch_names_op_and_shapes():
    a, b = mg.ones(2, 3), mg.ones(4, 5)
    with pytest.raises(ValueError, match=r"matmul.*\(2, 3\).*\(4, 5\)"):
        a @ b


def test_matmul_vector_length_mismatch():
    with pytest.raises(ValueError, match=r"matmul.*\(3,\).*\(4,\)"):
        mg.ones(3) @ mg.ones(4)


def test_matmul_zero_dim():
    with pytest.raises(ValueError, match="at least 1 dim"):
        mg.tensor(2.0) @ mg.ones(2)


def test_broadcast_mismatch_names_op_and_shapes():
    with pytest.raises(ValueError, match=r"Add.*\(2, 3\).*\(4,\)"):
        mg.ones(2, 3) + mg.ones(4)
    with pytest.raises(ValueError, match=r"Mul.*\(5,\).*\(2,\)"):
        mg.ones(5) * mg.ones(2)


def test_mixing_devices_names_both():
    from minigrad.autograd.function import _check_same_device

    class Fake:
        def __init__(self, device):
            self.device = device

    class Op:
        name = "Add"

    with pytest.raises(RuntimeError, match="cpu, cuda"):
        _check_same_device(Op(), [Fake("cpu"), Fake("cuda")])


def test_cuda_without_device_is_a_clear_error():
    if mg.cuda.is_available():
        pytest.skip("a device is present")
    with pytest.raises(RuntimeError, match="CUDA device"):
        mg.ones(2).to("cuda")


@pytest.mark.skipif(mg.bfloat16 is None, reason="no bfloat16 dtype (ml_dtypes)")
def test_bfloat16_on_a_cupy_without_it_is_a_clear_error(monkeypatch):
    """CuPy before 14 (or without ml_dtypes) has no bfloat16 arrays: creating, casting or
    moving a bfloat16 tensor on CUDA, or a bfloat16 Trainer there, says so (checked
    without a GPU through the one function every such path calls, with CuPy's answer
    stubbed)."""
    from minigrad import _backend, nn, optim
    from minigrad.train import Trainer

    monkeypatch.setattr(_backend, "cupy_has_bfloat16", lambda: False)
    with pytest.raises(TypeError, match="this CuPy has no bfloat16 arrays"):
        _backend.check_dtype_on("cuda", mg.bfloat16)
    _backend.check_dtype_on("cuda", mg.float16)
    _backend.check_dtype_on("cpu", mg.bfloat16)
    for make in (lambda: mg.zeros(2, dtype=mg.bfloat16, device="cuda"),
                 lambda: mg.full((2,), 1.5, dtype=mg.bfloat16, device="cuda"),
                 lambda: mg.randn(2, dtype=mg.bfloat16, device="cuda"),
                 lambda: mg.tensor([1.0], dtype=mg.bfloat16, device="cuda"),
                 lambda: mg.tensor([1.0]).to(dtype=mg.bfloat16).to("cuda")):
        with pytest.raises(TypeError, match="this CuPy has no bfloat16 arrays"):
            make()
    model = nn.Linear(2, 2)
    with pytest.raises(TypeError, match="on CUDA use float16"):
        Trainer(model, optim.SGD(model.parameters(), lr=0.1), [], nn.MSELoss(), amp=True,
                amp_dtype="bfloat16", device="cuda")
    monkeypatch.setattr(_backend, "cupy_has_bfloat16", lambda: True)  # CuPy 14 + ml_dtypes
    _backend.check_dtype_on("cuda", mg.bfloat16)


def test_unknown_device():
    with pytest.raises(ValueError, match="unknown device 'tpu'"):
        mg.zeros(2, device="tpu")


def test_reduction_dim_out_of_range():
    with pytest.raises(IndexError, match="dim 3 is out of range"):
        mg.ones(2, 2).sum(3)


def test_index_out_of_range():
    with pytest.raises(IndexError, match="getitem"):
        mg.ones(3)[5]


def test_item_on_many_elements():
    with pytest.raises(ValueError, match="one element"):
        mg.ones(3).item()


def test_bool_of_many_elements():
    with pytest.raises(RuntimeError, match="ambiguous"):
        bool(mg.ones(3))


def test_inplace_on_leaf_requiring_grad():
    p = mg.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="no_grad"):
        p[0] = 2.0
    with mg.no_grad():
        p[0] = 2.0
    assert p.tolist() == [2.0, 1.0, 1.0]


def test_cat_and_stack_shape_errors():
    with pytest.raises(ValueError, match="equal shape"):
        mg.stack([mg.ones(2), mg.ones(3)])
    with pytest.raises(ValueError, match="Cat"):
        mg.cat([mg.ones(2, 3), mg.ones(2, 4)], dim=0)


def test_split_sections_must_add_up():
    with pytest.raises(ValueError, match="do not add up"):
        mg.ones(5).split([2, 2])


def test_permute_needs_a_permutation():
    with pytest.raises(ValueError, match="not a permutation"):
        mg.ones(2, 3).permute(0, 0)


def test_reshape_mismatch():
    with pytest.raises(ValueError, match=r"Reshape.*\(2, 3\)"):
        mg.ones(2, 3).reshape(4, 2)


def test_gelu_bad_approximate():
    with pytest.raises(ValueError, match="approximate"):
        mg.gelu(mg.ones(2), approximate="fast")


def test_clamp_needs_a_bound():
    with pytest.raises(ValueError, match="at least one"):
        mg.ones(2).clamp()


def test_object_arrays_rejected():
    with pytest.raises(TypeError):
        mg.tensor(np.array([1, "a"], dtype=object))


@pytest.mark.gpu
def test_mixing_real_devices_names_both():
    a, b = mg.ones(2), mg.ones(2, device="cuda")
    with pytest.raises(RuntimeError, match=r"Add: expected all tensors on one device, "
                                           r"got cpu, cuda"):
        a + b
    with pytest.raises(RuntimeError, match="cuda, cpu"):
        b @ mg.ones(2, 2)
    index = mg.tensor([[0, 1]])  # on the CPU, for a CUDA input: PyTorch refuses too
    for op in (lambda: b.reshape(1, 2).gather(1, index),
               lambda: b.reshape(1, 2).scatter(1, index, 0.5),
               lambda: b.reshape(1, 2).scatter_add(1, index, b.reshape(1, 2))):
        with pytest.raises(RuntimeError, match="index is on cpu but the input is on cuda"):
            op()
