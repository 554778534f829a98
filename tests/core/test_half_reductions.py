"""Reductions of float16/bfloat16 tensors accumulate in float32 and round once, as PyTorch
computes them; the expected values are worked out by hand (in float64, then rounded)."""
import warnings

import numpy as np
import pytest

import minigrad as mg


def _h(values, half, device="cpu"):
    return mg.tensor(np.asarray(values, np.float32), device=device).to(dtype=half)


def _rounded(value, half):
    """float64 ``value`` rounded to the half dtype, as a float (inf past its range)."""
    with np.errstate(over="ignore"):
        return float(np.asarray(value, np.float32).astype(half).astype(np.float64))


def _f(t):
    return t.to(dtype=mg.float64).cpu().numpy()


@pytest.fixture(autouse=True)
def no_numpy_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # an overflow is inf silently, as in PyTorch
        yield


def test_sums_of_many_ones(half_dtype, device):
    half = half_dtype
    """70000 ones: the sum is 70000 rounded (inf in float16, 70144 in bfloat16); in
    bfloat16 arithmetic it would stop at 256. The mean is 1, the variance 0."""
    x = _h(np.ones(70000), half, device)
    assert x.sum().dtype == x.dtype
    assert _f(x.sum()) == _rounded(70000, half)
    assert _f(x.norm(p=1)) == _rounded(70000, half)
    assert _f(x.mean()) == 1.0 and _f(x.var()) == 0.0 and _f(x.std()) == 0.0
    rows = _h(np.ones((2, 35000)), half, device)
    assert _f(rows.sum(1)).tolist() == [_rounded(35000, half)] * 2
    assert _f(rows.mean(1, keepdim=True)).tolist() == [[1.0], [1.0]]


def test_cumsum_rounds_each_exact_prefix(half_dtype, device):
    half = half_dtype
    """cumsum of ones: element i is i + 1 rounded once (past 2048 in float16, 256 in
    bfloat16, consecutive integers are no longer all representable: 2049 -> 2048)."""
    x = _h(np.ones(5000), half, device)
    want = [_rounded(i + 1, half) for i in range(5000)]
    assert _f(x.cumsum(0)).tolist() == want


def test_prod_and_cumprod_in_float32(half_dtype, device):
    half = half_dtype
    """1.01^1000 = 20959.2 (float64); each factor rounded to the half dtype first."""
    factor = _rounded(1.01, half)
    x = _h(np.full(1000, 1.01), half, device)
    assert _f(x.prod()) == pytest.approx(_rounded(factor ** 1000, half), rel=1e-2)
    assert _f(x.cumprod(0))[-1] == pytest.approx(_rounded(factor ** 1000, half), rel=1e-2)
    assert _f(x.prod()) == _f(x.cumprod(0))[-1]


def test_softmax_family_in_float32(half_dtype, device):
    half = half_dtype
    """3000 equal logits: softmax 1/3000 each (summing to 1), log-softmax -log 3000,
    logsumexp log 3000 = 8.006; in bfloat16 arithmetic the sum stalled at 256."""
    x = _h(np.zeros((1, 3000)), half, device)
    p = x.softmax(1)
    assert p.dtype == x.dtype
    assert np.all(_f(p) == _rounded(1 / 3000, half))
    assert abs(_f(p).sum() - 1.0) < 2e-2
    assert np.all(_f(x.log_softmax(1)) == _rounded(-np.log(3000), half))
    assert _f(x.logsumexp(1)).tolist() == [_rounded(np.log(3000), half)]


def test_broadcast_gradient_sums_in_float32(half_dtype, device):
    half = half_dtype
    """The gradient of a (1, n) tensor broadcast over 4000 rows is a sum of 4000 ones."""
    b = _h(np.zeros((1, 3)), half, device).requires_grad_()
    (b + _h(np.zeros((4000, 3)), half, device)).backward(
        _h(np.ones((4000, 3)), half, device))
    assert _f(b.grad).tolist() == [[_rounded(4000, half)] * 3]


def test_average_pooling_sums_windows_in_float32(half_dtype, device):
    half = half_dtype
    """A window of 512 ones averages to 1 (summed in bfloat16 it would stop at 256: 0.5)."""
    from minigrad.nn import functional as F

    x = _h(np.ones((1, 1, 1024)), half, device)
    assert _f(F.avg_pool1d(x, 512)).tolist() == [[[1.0, 1.0]]]
    ones = _h(np.ones((1, 1, 32, 32)), half, device)
    assert _f(F.avg_pool2d(ones, 32)).tolist() == [[[[1.0]]]]


def test_repeated_index_gradients_accumulate_in_float32(half_dtype, device):
    half = half_dtype
    """An embedding row looked up 3000 times gets 3000 ones of gradient: 3000 rounded
    (summed in bfloat16 the ones would stop at 256)."""
    from minigrad import nn

    emb = nn.Embedding(4, 2).to(dtype=half).to(device)
    emb(mg.tensor(np.zeros(3000, np.int64), device=device)).sum().backward()
    assert _f(emb.weight.grad)[0].tolist() == [_rounded(3000, half)] * 2
    x = _h(np.zeros(5), half, device).requires_grad_()
    x[mg.tensor(np.ones(3000, np.int64), device=device)].sum().backward()
    assert _f(x.grad).tolist() == [0.0, _rounded(3000, half), 0.0, 0.0, 0.0]


def test_autocast_keeps_float32_results():
    """Inside autocast a half tensor's sum and mean stay float32 (autocast's list)."""
    x = _h(np.ones(70000), mg.float16)
    with mg.amp.autocast(dtype=mg.float16):
        assert x.sum().dtype == mg.float32 and x.sum().item() == 70000.0
        assert x.mean().dtype == mg.float32 and x.mean().item() == 1.0


@pytest.mark.parametrize("op", ["sum", "mean"])
def test_autocast_reduces_a_half_tensor_in_one_node(half_dtype, device, op):
    """Inside autocast the float32 result comes from the half data directly (one node, no
    float32 copy of the input: a Cast node before the reduction was one more kernel and
    a full-size float32 array), the same numbers as reducing ``x.float()``; the gradient
    reaches x in its own dtype, cast before it is broadcast."""
    half = half_dtype
    rng = np.random.default_rng(0)
    values = rng.standard_normal((6, 5, 4)).astype(np.float32)
    x = _h(values, half, device).requires_grad_()
    g = rng.standard_normal((6, 4)).astype(np.float32)
    with mg.amp.autocast(dtype=half):
        y = getattr(x, op)(dim=1)
    assert y.dtype == mg.float32 and type(y.creator).__name__ == op.capitalize()
    assert y.creator.inputs[0] is x
    ref = getattr(x.detach().to(dtype=mg.float32), op)(dim=1)
    np.testing.assert_array_equal(_f(y), _f(ref))
    y.backward(mg.tensor(g, device=device))
    assert x.grad.dtype == half
    scale = np.float32(1 / 5 if op == "mean" else 1)
    small = _f(mg.tensor(g * scale, device=device).to(dtype=half))  # rounded, then spread
    np.testing.assert_array_equal(_f(x.grad), np.broadcast_to(small[:, None, :], (6, 5, 4)))
    # outside autocast the result is rounded back to the half dtype, as PyTorch
    assert getattr(x, op)(dim=1).dtype == half
    np.testing.assert_array_equal(_f(getattr(x, op)(dim=1)), _f(ref.to(dtype=half)))


def test_matches_torch_when_installed():
    """Equal to PyTorch's to one unit in the last place of the half dtype (the float32
    additions are done in another order, so a total can round to the other neighbour)."""
    torch = pytest.importorskip("torch")

    def close(ours, theirs, half):
        theirs = np.asarray(theirs)
        finite = np.isfinite(theirs)
        assert np.array_equal(ours[~finite], theirs[~finite])
        with np.errstate(all="ignore"):  # spacing of the largest half values overflows
            ulp = np.abs(np.spacing(theirs[finite].astype(np.float32).astype(half))
                         .astype(np.float64))
        assert np.all(np.abs(ours[finite] - theirs[finite]) <= ulp), (half, ours, theirs)

    for half, tdt in [(mg.float16, torch.float16)] + (
            [(mg.bfloat16, torch.bfloat16)] if mg.bfloat16 is not None else []):
        for values in [np.ones(70000), np.linspace(-3, 5, 3001)]:
            ours = _h(values, half)
            ref = torch.tensor(values, dtype=torch.float32).to(tdt)
            for name in ("sum", "mean", "var", "std"):
                close(_f(getattr(ours, name)()), getattr(ref, name)().double().numpy(), half)
            close(_f(ours.cumsum(0)), ref.cumsum(0).double().numpy(), half)
            close(_f(ours.reshape(1, -1).softmax(1)),
                  ref.reshape(1, -1).softmax(1).double().numpy(), half)
