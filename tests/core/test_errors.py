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


# ---------------------------------------------------------------- found by the bad-input audit


def test_a_boolean_mask_must_match_the_dims_it_covers():
    x = mg.tensor([10.0, 20.0, 30.0])
    for mask in ([True, False], [True, False, True, True]):
        with pytest.raises(IndexError, match=r"getitem: the shape of the mask .* \(3,\)"):
            x[mg.tensor(mask)]
    z = mg.zeros(2, 3)
    with pytest.raises(IndexError, match=r"setitem: the shape of the mask \(3,\) at index 0"):
        z[[False, True, True]] = 1.0
    # masks after other index entries, Ellipsis and None cover the right dims
    assert z[:, mg.tensor([True, False, True])].shape == (2, 2)
    assert z[..., mg.tensor([True, False, True])].shape == (2, 2)
    assert z[None, mg.tensor([True, False])].shape == (1, 1, 3)  # as NumPy and PyTorch
    np.testing.assert_array_equal(x[mg.tensor([True, False, True])].numpy(), [10.0, 30.0])


def test_none_and_strings_are_not_numbers():
    with pytest.raises(TypeError, match="unsupported operand NoneType"):
        mg.ones(2) + None
    with pytest.raises(TypeError, match="unsupported operand str"):
        mg.ones(2) * "a"
    with pytest.raises(TypeError, match="where: give both input and other"):
        mg.where(mg.tensor([True, False]), mg.tensor([5.0, 6.0]))
    t = mg.zeros(2, 3)
    with pytest.raises(TypeError, match="setitem: cannot assign NoneType"):
        t[0] = None
    t[0] = [1, 2, 3]  # numbers still go in
    np.testing.assert_array_equal(t.numpy()[0], [1.0, 2.0, 3.0])


def test_dtypes_are_bools_integers_or_floats():
    for bad in (str, object, np.complex64):
        with pytest.raises(TypeError, match="not a dtype minigrad has"):
            mg.zeros(2, dtype=bad)
    with pytest.raises(TypeError, match="not a dtype minigrad has"):
        mg.ones(2).to(dtype=str)
    with pytest.raises(TypeError, match="from_numpy: can't convert an array of dtype <U1"):
        mg.from_numpy(np.array(["a"]))
    assert mg.from_numpy(np.ones(2, np.uint8)).dtype == np.uint8


def test_list_operands_are_made_as_mg_tensor_makes_them():
    # float lists are float32, so they do not promote a float32 tensor to float64
    assert (mg.ones(2) + [1.0, 2.0]).dtype == mg.float32
    y = mg.ones(2, 3) @ [[1.0], [1.0], [1.0]]
    assert y.dtype == mg.float32 and y.shape == (2, 1)
    with pytest.raises(TypeError, match="matmul: expects Tensors, got list"):
        mg.matmul([1.0, 2.0], mg.ones(2))


def test_flatten_refuses_start_after_end():
    with pytest.raises(ValueError, match=r"flatten: start_dim \(1\) comes after end_dim \(0\)"):
        mg.randn(2, 3).flatten(1, 0)
    with pytest.raises(ValueError, match="flatten: start_dim"):
        mg.nn.Flatten(2, 1)(mg.randn(2, 3, 4))


def test_comparisons_and_copies_name_the_op_and_the_shapes():
    with pytest.raises(ValueError, match=r"eq: cannot apply to shapes \(2, 3\) and \(3, 2\)"):
        _ = mg.ones(2, 3) == mg.ones(3, 2)
    with pytest.raises(ValueError, match=r"isclose: cannot apply to shapes \(2, 3\) and \(4,\)"):
        mg.ones(2, 3).isclose(mg.ones(4))
    with pytest.raises(ValueError, match=r"copy_: cannot copy shape \(4,\) into shape \(2, 3\)"):
        mg.zeros(2, 3).copy_(mg.zeros(4))
    with pytest.raises(ValueError, match=r"clamp: the shapes .* \(2, 3\) and \(4,\)"):
        mg.randn(2, 3).clamp(min=mg.zeros(4))
    with pytest.raises(ValueError, match=r"setitem: cannot assign a value of shape \(4,\)"):
        mg.zeros(2, 3)[0] = mg.ones(4)
    with pytest.raises(TypeError, match="bitwise_not: needs a bool or integer tensor"):
        ~mg.randn(2)
    with pytest.raises(TypeError, match="bitwise_and: cannot apply"):
        mg.randn(2) & mg.randn(2)
    np.testing.assert_array_equal((~mg.tensor([True, False])).numpy(), [False, True])


def test_dims_are_checked_for_range_and_type():
    x = mg.ones(2, 3)
    with pytest.raises(IndexError, match="any: dim 5 is out of range"):
        x.bool().any(5)
    with pytest.raises(ValueError, match="all: a dim appears more than once"):
        x.bool().all((0, 0))
    with pytest.raises(IndexError, match="size: dim 5 is out of range"):
        x.size(5)
    with pytest.raises(IndexError, match="chunk: dim 5 is out of range"):
        x.chunk(2, dim=5)
    with pytest.raises(IndexError, match="split: dim 3 is out of range"):
        x.split(1, dim=3)
    for bad in (1.0, "x"):
        with pytest.raises(TypeError, match="sum: dim must be an int or a tuple of ints"):
            x.sum(bad)
    with pytest.raises(TypeError, match="unsqueeze: dim must be an int, got NoneType"):
        x.unsqueeze(None)
    with pytest.raises(TypeError, match="permute: sizes must be integers"):
        x.permute(1.0, 0)
    assert x.size(-1) == 3 and x.chunk(2, dim=-1)[0].shape == (2, 2)
    np.testing.assert_array_equal(x.bool().any(np.int64(1)).numpy(), [True, True])


def test_non_tensor_arguments_get_a_type_error_naming_the_function():
    x = mg.ones(2, requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(TypeError, match="cat: expects a sequence of tensors, but element 1"):
        mg.cat([mg.ones(2), None])
    with pytest.raises(TypeError, match="stack: expects a sequence of tensors, got a single"):
        mg.stack(mg.ones(2, 2))
    with pytest.raises(TypeError, match="grad: inputs must be Tensors, but input 1 is int"):
        mg.autograd.grad(y, [x, 3])
    with pytest.raises(TypeError, match=r"\*_like: expects a Tensor, got list"):
        mg.zeros_like([1, 2])
    with pytest.raises(TypeError, match="type_as: expects a Tensor, got list"):
        mg.randn(2).type_as([1])


def test_creation_sizes_are_non_negative_integers():
    for call, message in [(lambda: mg.rand(-2), r"rand: negative dimension in size \(-2,\)"),
                          (lambda: mg.randn(2, -1), "randn: negative dimension"),
                          (lambda: mg.zeros(-1), "zeros: negative dimension"),
                          (lambda: mg.eye(-1), "eye: negative dimension"),
                          (lambda: mg.ones(2).new_zeros(-1), "new_full: negative dimension"),
                          (lambda: mg.linspace(0, 1, -1), "linspace: steps must be"),
                          (lambda: mg.logspace(0, 1, -1), "logspace: steps must be")]:
        with pytest.raises(ValueError, match=message):
            call()
    for call, message in [(lambda: mg.ones(2.5), r"ones: sizes must be integers, got \(2.5,\)"),
                          (lambda: mg.eye(2.5), "eye: sizes must be integers"),
                          (lambda: mg.ones(2).reshape(2.0, 1), "reshape: sizes must be"),
                          (lambda: mg.full((2,), "x"), "full: fill_value must be a number"),
                          (lambda: mg.full_like(mg.ones(2), "x"), "full: fill_value must")]:
        with pytest.raises(TypeError, match=message):
            call()
    assert mg.zeros(np.int64(2), 3).shape == (2, 3)
    assert mg.ones(2).reshape(mg.tensor(2)).shape == (2,)
    np.testing.assert_array_equal(mg.full([2], mg.tensor(3.0)).numpy(), [3.0, 3.0])


def test_inf_and_nan_do_not_become_integers():
    with pytest.raises(ValueError, match="cannot convert inf or NaN to int64"):
        mg.tensor([float("nan")], dtype=mg.int64)
    with pytest.raises(ValueError, match=r"full: cannot fill an integer tensor \(int64\) "
                                         r"with nan"):
        mg.full((2,), float("nan"), dtype=mg.int64)
    assert mg.tensor([2.7], dtype=mg.int64).tolist() == [2]  # finite floats truncate


def test_manual_seed_takes_pytorchs_range():
    assert mg.manual_seed(-1) == 2**64 - 1 == mg.initial_seed()
    a = mg.rand(3)
    mg.manual_seed(2**64 - 1)
    np.testing.assert_array_equal(mg.rand(3).numpy(), a.numpy())  # −1 is 2⁶⁴ − 1
    with pytest.raises(ValueError, match=r"manual_seed: a seed must be in \[-2\*\*63, 2\*\*64\)"):
        mg.manual_seed(2**64)
    mg.manual_seed(0)


def test_index_ops_check_their_index_under_their_own_name():
    for call, op in [(lambda: mg.index_add(mg.zeros(3), 0, mg.tensor([0, 5]),
                                           mg.tensor([1.0, 2.0])), "index_add"),
                     (lambda: mg.index_copy(mg.zeros(3), 0, mg.tensor([-1, 0]),
                                            mg.tensor([1.0, 2.0])), "index_copy"),
                     (lambda: mg.ones(3).index_select(0, mg.tensor([3])), "index_select")]:
        with pytest.raises(IndexError, match=fr"{op}: index out of range \[0, 3\) of dim 0"):
            call()
    with pytest.raises(ValueError, match="index_select: index must be a 1-d integer tensor"):
        mg.ones(3).index_select(0, mg.tensor([0.0]))
    np.testing.assert_array_equal(mg.arange(4.0).index_select(0, mg.tensor([3, 0])).numpy(),
                                  [3.0, 0.0])


def test_jacobian_of_a_function_that_returns_no_tensor():
    with pytest.raises(TypeError, match="jacobian: func must return a Tensor or a tuple of "
                                        "Tensors, got float"):
        mg.autograd.functional.jacobian(lambda x: 3.0, mg.ones(2))


def test_sparse_tensors_do_not_turn_dense_implicitly():
    S = mg.sparse_coo_tensor([[0, 2]], [1.0, 5.0], 3)  # an int size for one dim
    np.testing.assert_array_equal(S.to_dense().numpy(), [1.0, 0.0, 5.0])
    with pytest.raises(TypeError, match=r"cannot make a dense tensor from a COOTensor; use "
                                        r"\.to_dense\(\)"):
        mg.tensor(S)
    with pytest.raises(TypeError, match="cannot convert a COOTensor to a dense NumPy array"):
        np.asarray(S)
    with pytest.raises(TypeError, match="sparse_coo_tensor: sizes must be integers"):
        mg.sparse_coo_tensor([[0, 2]], [1.0, 5.0], 2.5)


def test_matmul_and_mm_take_a_sparse_operand():
    S = mg.sparse_coo_tensor([[0, 1], [2, 0]], [5.0, 3.0], (2, 3))
    B = mg.randn(3, 2)
    expected = S.to_dense().numpy() @ B.numpy()
    for product in (mg.matmul(S, B), mg.mm(S, B), S.to_sparse_csr() @ B):
        np.testing.assert_allclose(product.numpy(), expected, rtol=1e-6)
    A = mg.randn(4, 2)
    np.testing.assert_allclose(A.matmul(S).numpy(), A.numpy() @ S.to_dense().numpy(),
                               rtol=1e-6)
    np.testing.assert_allclose(A.mm(S).numpy(), A.numpy() @ S.to_dense().numpy(), rtol=1e-6)
    with pytest.raises(ValueError, match=r"mm: .*\(3,\)"):
        mg.mm(S, mg.ones(3))  # mm is 2-D only, as in PyTorch
    # sparse @ int64 dense promotes as dense matmul does (float32, not NumPy's float64)
    assert mg.sparse.mm(S, mg.ones(3, 2, dtype=mg.int64)).dtype == mg.float32
    with pytest.raises(ValueError, match="dot: expects 1-D tensors"):
        mg.ones(3).dot(mg.ones(3, 2))


def test_2_4_products_with_empty_rows_and_bad_operands():
    from minigrad.sparse import to_sparse_24

    assert to_sparse_24(mg.zeros(0, 8)).to_dense().shape == (0, 8)
    S = to_sparse_24(mg.randn(4, 8))
    with pytest.raises(ValueError, match=r"mm_24: D must be 1-D or 2-D, got shape \(\)"):
        S @ mg.tensor(1.0)
    B = mg.randn(8, 3)
    np.testing.assert_allclose(mg.matmul(S, B).numpy(), S.to_dense().numpy() @ B.numpy(),
                               rtol=1e-5, atol=1e-6)
    np.testing.assert_array_equal(to_sparse_24([[1.0, 2.0, 3.0, 4.0]]).to_dense().numpy(),
                                  [[0.0, 0.0, 3.0, 4.0]])


def test_where_masked_fill_and_jvp_name_the_shapes_that_do_not_fit():
    x = mg.randn(2, 3)
    with pytest.raises(ValueError, match=r"where: the condition \(2,\) and the values "
                                         r"\(2, 3\) do not broadcast"):
        mg.where(mg.tensor([True, False]), x, 0.0)
    with pytest.raises(ValueError, match=r"masked_fill: the mask's shape \(2,\) does not "
                                         r"broadcast to the tensor's shape \(2, 3\)"):
        x.masked_fill(mg.tensor([True, False]), 0.0)
    with pytest.raises(ValueError, match=r"jvp: v must have the shape of input 0, \(3, 2\), "
                                         r"got \(4,\)"):
        mg.autograd.functional.jvp(lambda a: a.sum(0), mg.randn(3, 2), mg.randn(4))
    filled = x.masked_fill(mg.tensor([True, False, True]), 0.0).numpy()
    np.testing.assert_array_equal(filled[:, [0, 2]], np.zeros((2, 2)))


def test_backward_into_a_grad_assigned_with_the_wrong_shape_or_type():
    x = mg.randn(2, 3, requires_grad=True)
    x.grad = mg.ones(3)  # assigning is allowed (the optimizers check at their step) ...
    for create_graph in (False, True):
        with pytest.raises(RuntimeError, match=r"backward: the \.grad of a leaf of shape "
                                               r"\(2, 3\) has shape \(3,\)"):
            (x * 2).sum().backward(create_graph=create_graph)
    y = mg.randn(4, 3, requires_grad=True)
    y.grad = mg.ones(3)
    with pytest.raises(RuntimeError, match=r"the \.grad of a leaf of shape \(4, 3\)"):
        y[1].sum().backward()  # a slice's gradient too
    x.grad = np.ones((2, 3))
    with pytest.raises(TypeError, match="is of type ndarray; assign a Tensor"):
        (x * 2).sum().backward()
    x.grad = mg.ones(2, 3, dtype=mg.float64)  # another float dtype is added into, as before
    (x * 2).sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(), np.full((2, 3), 3.0))


def test_reshape_sizes_and_masked_fill_values_as_pytorch_checks_them():
    with pytest.raises(ValueError, match=r"reshape: invalid size -2 at index 0 of shape "
                                         r"\(-2, 3\)"):
        mg.ones(6).reshape(-2, 3)
    assert mg.ones(6).reshape(-1, 3).shape == (2, 3)
    mask = mg.tensor([True, False, True])
    with pytest.raises(ValueError, match=r"masked_fill: value must be a number or a 0-d "
                                         r"tensor, got shape \(2,\)"):
        mg.ones(3).masked_fill(mask, mg.tensor([1.0, 2.0]))
    np.testing.assert_array_equal(mg.ones(3).masked_fill(mask, mg.tensor(2.0)).numpy(),
                                  [2.0, 1.0, 2.0])


def test_an_integer_leaf_made_to_require_grad_by_assignment_is_refused_at_backward():
    i = mg.tensor([1, 2])
    i.requires_grad = True  # requires_grad_() refuses this; the attribute is not checked
    with pytest.raises(RuntimeError, match="only tensors of floating point dtype can require "
                                           "gradients, but a leaf of dtype int64"):
        (i * 2.0).sum().backward()


@pytest.mark.parametrize("op", ["where", "masked_fill", "masked_select", "masked_scatter"])
@pytest.mark.parametrize("dtype", [mg.float32, mg.int64])
def test_a_mask_or_condition_that_is_not_boolean_is_refused_as_in_pytorch(op, dtype):
    # PyTorch refuses them (a 0.5 "mask" is a weight passed by mistake); minigrad read
    # every nonzero as true
    x = mg.tensor([1.0, 2.0, 3.0])
    numbers = mg.tensor([1, 0, 2], dtype=dtype)
    calls = {"where": lambda m: mg.where(m, x, 0.0),
             "masked_fill": lambda m: x.masked_fill(m, 0.0),
             "masked_select": lambda m: x.masked_select(m),
             "masked_scatter": lambda m: x.masked_scatter(m, mg.zeros(3))}
    name = "condition" if op == "where" else "mask"
    for bad in (numbers, numbers.numpy()):
        with pytest.raises(TypeError, match=rf"{op}: the {name} must be boolean, got "
                                            rf"{np.dtype(dtype).name}"):
            calls[op](bad)
    boolean = numbers != 0
    expected = {"where": [1.0, 0.0, 3.0], "masked_fill": [0.0, 2.0, 0.0],
                "masked_select": [1.0, 3.0], "masked_scatter": [0.0, 2.0, 0.0]}[op]
    np.testing.assert_array_equal(calls[op](boolean).numpy(), expected)
