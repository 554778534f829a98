"""Linear24 with masks set by hand: every path that installs a mask which is not 2:4 in
the directions the layer reduces over (assignment, the layer's load_state_dict, a parent's
load_state_dict, an edit in place) raises a ValueError naming the mask, the row or column
and the group before any product is computed; valid masks give the masked products."""
import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad._backend import to_device
from minigrad.sparse import linear24 as L24
from minigrad.sparse.linear24 import Linear24
from minigrad.testing import assert_close

# one 4 x 4 block with two ones per row and per column, tiled: 2:4 both ways
_BLOCK = np.array([[1, 1, 0, 0],
                   [0, 0, 1, 1],
                   [1, 0, 1, 0],
                   [0, 1, 0, 1]], dtype=bool)


def _both_ways(out_features, in_features, shift=0):
    """A mask (out, in) that is 2:4 along rows and along columns (rows rolled by shift)."""
    return np.roll(np.tile(_BLOCK, (out_features // 4, in_features // 4)), shift, axis=0)


def _rows_only(out_features, in_features):
    """2:4 along every row (positions 0 and 1 of each group) but columns 0, 1 of every
    group of 4 columns hold 4 True per group of rows and columns 2, 3 hold none."""
    row = np.tile([True, True, False, False], in_features // 4)
    return np.tile(row, (out_features, 1))


def _host(a):
    return to_device(a, "cpu")


# ------------------------------------------------------------------ bad masks, each group


@pytest.mark.parametrize("kept, n", [((), 0), ((2,), 1), ((0, 1, 3), 3), ((0, 1, 2, 3), 4)])
def test_a_group_without_exactly_two_true_is_named(kept, n, device):
    layer = Linear24(8, 8, dtype=mg.float64).to(device)
    good = _both_ways(8, 8)
    bad = good.copy()
    bad[5, 4:8] = False
    bad[5, [4 + p for p in kept]] = True  # row 5, group 1 holds n True
    before = _host(layer.weight_mask.data).copy()
    msg = (rf"Linear24: weight_mask is not 2:4 along in_features \(the forward reduces over "
           rf"it\): row 5, group 1 \(columns 4\.\.7\) holds {n} True \(exactly 2 per group "
           rf"of 4\)")
    # 1. the layer's own load_state_dict: raises before anything is copied
    sd = layer.state_dict()
    sd["weight_mask"], sd["weight_t_mask"] = mg.tensor(bad), mg.tensor(bad)
    with pytest.raises(ValueError, match=msg):
        layer.load_state_dict(sd)
    np.testing.assert_array_equal(_host(layer.weight_mask.data), before)
    # 2. assignment
    with pytest.raises(ValueError, match=msg):
        layer.weight_mask = mg.tensor(bad, device=device)
    np.testing.assert_array_equal(_host(layer.weight_mask.data), before)
    # 3. a parent's load_state_dict: the layer's load pre hook raises, nothing is copied
    model = nn.Sequential(layer)
    sd = model.state_dict()
    sd["0.weight_mask"], sd["0.weight_t_mask"] = mg.tensor(bad), mg.tensor(bad)
    with pytest.raises(ValueError, match=msg):
        model.load_state_dict(sd)
    np.testing.assert_array_equal(_host(layer.weight_mask.data), before)
    # 4. an edit in place: the next forward (or compressed()) raises
    layer.weight_mask.data[...] = mg.tensor(bad, device=device).data
    x = mg.randn(2, 8, dtype=mg.float64, device=device)
    with pytest.raises(ValueError, match=msg):
        model(x)
    with pytest.raises(ValueError, match=msg):
        layer.compressed()


def test_the_audit_repro_all_ones_mask():
    layer = Linear24(8, 4)
    m = np.ones((4, 8), bool)
    sd = layer.state_dict()
    sd["weight_mask"] = mg.tensor(m)
    sd["weight_t_mask"] = mg.tensor(m)
    with pytest.raises(ValueError, match=r"weight_mask .*row 0, group 0 \(columns 0\.\.3\) "
                                         r"holds 4 True"):
        layer.load_state_dict(sd)
    layer(mg.randn(2, 8))  # the layer still works with its own masks


def test_an_edit_in_place_is_caught_by_the_next_forward(device):
    """Through Tensor indexing (it bumps the mask's version) on any device; a write into
    ``.data`` on the CPU (the forward compares contents there), and on a GPU once the mask
    is assigned again (the forward reads nothing back there: see Linear24's Notes)."""
    msg = r"row 2, group 0 \(columns 0\.\.3\) holds 4 True"
    layer = Linear24(8, 8, dtype=mg.float64).to(device)
    x = mg.randn(3, 8, dtype=mg.float64, device=device)
    layer(x)
    layer.weight_mask[2, 0:4] = True
    with pytest.raises(ValueError, match=msg):
        layer(x)
    layer.update_mask()
    layer(x)
    layer.weight_mask.data[2, 0:4] = True
    if device == "cuda":
        layer(x)  # not seen: the documented limit
        with pytest.raises(ValueError, match=msg):
            layer.weight_mask = layer.weight_mask
    else:
        with pytest.raises(ValueError, match=msg):
            layer(x)


# ------------------------------------------------------------------ directions


def test_transposable_mask_must_be_24_down_the_columns(device):
    """2:4 along rows but not columns: the input gradient of the transposable layer would
    use a wrong pair; the error names the column and its group of rows."""
    layer = Linear24(8, 8, dtype=mg.float64).to(device)
    m = mg.tensor(_rows_only(8, 8), device=device)
    msg = (r"Linear24: weight_mask is not 2:4 along out_features, i\.e\. down its columns "
           r"\(mask_mode='transposable' uses its transpose for the input gradient\): column "
           r"0, group 0 \(rows 0\.\.3\) holds 4 True \(exactly 2 per group of 4\)")
    with pytest.raises(ValueError, match=msg):
        layer.weight_mask = m
    sd = layer.state_dict()
    sd["weight_mask"] = sd["weight_t_mask"] = m
    with pytest.raises(ValueError, match=msg):
        layer.load_state_dict(sd)
    with pytest.raises(ValueError, match=msg):
        nn.Sequential(layer).load_state_dict({"0." + k: v for k, v in sd.items()})


def test_transposable_weight_t_mask_must_be_24_both_ways_and_equal_weight_mask():
    layer = Linear24(8, 8, dtype=mg.float64)
    with pytest.raises(ValueError, match=r"weight_t_mask is not 2:4 along out_features.*"
                                         r"column 0, group 0 \(rows 0\.\.3\) holds 4 True"):
        layer.weight_t_mask = mg.tensor(_rows_only(8, 8))
    with pytest.raises(ValueError, match=r"weight_t_mask is not 2:4 along in_features "
                                         r"\(mask_mode='transposable' keeps one mask, 2:4 "
                                         r"both ways\): row 0, group 0 \(columns 0\.\.3\) "
                                         r"holds 4 True"):
        layer.weight_t_mask = mg.tensor(_rows_only(8, 8).T)
    # two valid transposable masks that differ: one mask serves both products
    layer.weight_mask = mg.tensor(_both_ways(8, 8, shift=1))
    with pytest.raises(ValueError, match=r"weight_t_mask differs from weight_mask \(first at "
                                         r"row 0, column 0\)"):
        layer(mg.randn(2, 8, dtype=mg.float64))
    layer.weight_t_mask = mg.tensor(_both_ways(8, 8, shift=1))
    layer(mg.randn(2, 8, dtype=mg.float64))


def test_bidirectional_checks_each_mask_in_its_own_direction():
    layer = Linear24(8, 8, mask_mode="bidirectional", dtype=mg.float64)
    layer.weight_mask = mg.tensor(_rows_only(8, 8))         # only along in_features
    layer.weight_t_mask = mg.tensor(_rows_only(8, 8).T)     # only along out_features
    layer(mg.randn(2, 8, dtype=mg.float64))
    with pytest.raises(ValueError, match=r"weight_t_mask is not 2:4 along out_features, "
                                         r"i\.e\. down its columns \(the input gradient "
                                         r"reduces over it\): column 0, group 0 \(rows "
                                         r"0\.\.3\) holds 4 True"):
        layer.weight_t_mask = mg.tensor(_rows_only(8, 8))
    with pytest.raises(ValueError, match=r"weight_mask is not 2:4 along in_features.*row 0, "
                                         r"group 0 \(columns 0\.\.3\) holds 4 True"):
        layer.weight_mask = mg.tensor(_rows_only(8, 8).T)


def test_switching_mask_mode_rechecks_the_masks():
    layer = Linear24(8, 8, mask_mode="bidirectional", dtype=mg.float64)
    layer.weight_mask = mg.tensor(_rows_only(8, 8))
    layer.weight_t_mask = mg.tensor(_rows_only(8, 8).T)
    layer(mg.randn(2, 8, dtype=mg.float64))
    layer.mask_mode = "transposable"
    with pytest.raises(ValueError, match="down its columns"):
        layer(mg.randn(2, 8, dtype=mg.float64))


def test_wrong_dtype_or_shape_or_type():
    layer = Linear24(8, 4)
    with pytest.raises(TypeError, match=r"weight_mask must be a bool mask, got float32"):
        layer.weight_mask = mg.ones(4, 8)
    with pytest.raises(ValueError, match=r"weight_t_mask must have the weight's shape "
                                         r"\(4, 8\), got \(8, 4\)"):
        layer.weight_t_mask = mg.tensor(np.ones((8, 4), bool))
    with pytest.raises(TypeError, match="must be a bool Tensor, got ndarray"):
        layer.weight_mask = np.ones((4, 8), bool)


# ------------------------------------------------------------------ valid masks still work


@pytest.mark.parametrize("mode", ["transposable", "bidirectional"])
def test_a_valid_loaded_mask_gives_the_masked_products(mode, device):
    """Y = X (M_f ⊙ W)ᵀ + b, gX = gY (M_b ⊙ W), gW = M_f ⊙ (gYᵀ X), by hand."""
    rng = np.random.default_rng(0)
    layer = Linear24(8, 8, mask_mode=mode, mask_update_every=None, dtype=mg.float64)
    Mf = _both_ways(8, 8, shift=1)
    Mb = Mf if mode == "transposable" else _rows_only(8, 8).T
    if mode == "bidirectional":
        Mf = _rows_only(8, 8)
    sd = layer.state_dict()
    sd["weight_mask"], sd["weight_t_mask"] = mg.tensor(Mf), mg.tensor(Mb)
    layer.load_state_dict(sd)
    layer.to(device)
    W, b = sd["weight"].numpy().copy(), sd["bias"].numpy().copy()
    x, gy = rng.standard_normal((3, 8)), rng.standard_normal((3, 8))
    X = mg.tensor(x, device=device, requires_grad=True)
    y = layer(X)
    assert_close(y.cpu(), x @ (Mf * W).T + b, rtol=1e-12)
    y.backward(mg.tensor(gy, device=device))
    assert_close(X.grad.cpu(), gy @ (Mb * W), rtol=1e-12)
    assert_close(layer.weight.grad.cpu(), Mf * (gy.T @ x), rtol=1e-12)


def test_the_masks_are_checked_once_per_change(monkeypatch):
    calls = []
    check = L24._check_masks
    monkeypatch.setattr(L24, "_check_masks", lambda *a: calls.append(1) or check(*a))
    layer = Linear24(8, 8, mask_update_every=None)
    x = mg.randn(2, 8)
    for _ in range(3):
        layer(x)
    assert len(calls) == 1
    layer.update_mask()  # the same weight: the same masks, nothing to check again
    layer(x)
    assert len(calls) == 1
    layer.weight.data[...] = _both_ways(8, 8, shift=1)  # its only best transposable mask
    layer.update_mask()
    layer(x)
    layer(x)
    assert len(calls) == 2
    np.testing.assert_array_equal(layer.weight_mask.numpy(), _both_ways(8, 8, shift=1))
    layer.weight_mask.data[...] = _both_ways(8, 8)
    layer.weight_t_mask.data[...] = _both_ways(8, 8)
    layer(x)
    assert len(calls) == 3


def test_to_sparse_semi_structured_keeps_its_message():
    """The group check is shared with to_sparse_semi_structured (at most 2 nonzeros)."""
    from minigrad.sparse.semi_structured import to_sparse_semi_structured

    W = np.zeros((2, 8))
    W[1, 4:7] = 1.0
    with pytest.raises(ValueError, match=r"to_sparse_semi_structured: the matrix is not 2:4 "
                                         r"sparse: row 1, group 1 \(columns 4\.\.7\) holds "
                                         r"3 nonzeros \(at most 2 per group of 4\); use "
                                         r"to_sparse_24\(\.\.\., prune=True\) to prune it"):
        to_sparse_semi_structured(W)


def test_against_torch_masked_linear():
    """The loaded transposable mask's products equal torch's dense linear of M ⊙ W."""
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(1)
    layer = Linear24(8, 8, mask_update_every=None, dtype=mg.float64)
    M = _both_ways(8, 8, shift=2)
    layer.weight_mask = mg.tensor(M)
    layer.weight_t_mask = mg.tensor(M)
    x, gy = rng.standard_normal((4, 8)), rng.standard_normal((4, 8))
    X = mg.tensor(x, requires_grad=True)
    layer(X).backward(mg.tensor(gy))
    tx = torch.tensor(x, requires_grad=True)
    tW = torch.tensor(layer.weight.numpy(), requires_grad=True)
    ty = torch.nn.functional.linear(tx, tW * torch.tensor(M), torch.tensor(layer.bias.numpy()))
    ty.backward(torch.tensor(gy))
    assert_close(layer(mg.tensor(x)), ty.detach().numpy(), rtol=1e-12)
    assert_close(X.grad, tx.grad.numpy(), rtol=1e-12)
    assert_close(layer.weight.grad, tW.grad.numpy(), rtol=1e-12)
