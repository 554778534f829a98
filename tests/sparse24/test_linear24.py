"""Linear24: masks (2:4 both ways), the three products against dense math, gradcheck,
straight-through gradients on kept entries only, the mask schedule, dense()/sparse()."""
import doctest
import itertools

import numpy as np
import pytest

import minigrad as mg
from minigrad import optim
from minigrad.sparse import linear24 as L24
from minigrad.sparse.linear24 import Linear24, linear24, mask_24, transposable_mask_24
from minigrad.testing import assert_close


def _groups_ok(mask):
    """Exactly 2 kept in every group of 4 along the last dim."""
    M, K = mask.shape
    return bool((mask.reshape(M, K // 4, 4).sum(-1) == 2).all())


def test_the_90_block_masks():
    masks = L24._BLOCK_MASKS.reshape(-1, 4, 4)
    assert len(masks) == 90 and len({m.tobytes() for m in masks}) == 90
    assert (masks.sum(1) == 2).all() and (masks.sum(2) == 2).all()


def test_transposable_mask_is_24_both_ways_and_optimal_per_block():
    rng = np.random.default_rng(0)
    W = rng.standard_normal((8, 12))
    m = transposable_mask_24(W)
    assert _groups_ok(m) and _groups_ok(m.T)
    # brute force over all 2^16 block masks with 2 per row and column
    cands = [np.array(bits).reshape(4, 4) for bits in itertools.product((0, 1), repeat=16)]
    cands = [c for c in cands if (c.sum(0) == 2).all() and (c.sum(1) == 2).all()]
    assert len(cands) == 90
    for bi in range(2):
        for bj in range(3):
            blk = np.abs(W[4 * bi:4 * bi + 4, 4 * bj:4 * bj + 4])
            best = max((c * blk).sum() for c in cands)
            got = (m[4 * bi:4 * bi + 4, 4 * bj:4 * bj + 4] * blk).sum()
            assert got == pytest.approx(best, rel=1e-12)


def test_mask_24_keeps_the_two_largest():
    W = np.array([[0.1, -3.0, 2.0, 0.5, 0.0, 0.0, 0.0, 7.0]])
    assert mask_24(W).tolist() == [[False, True, True, False, True, False, False, True]]


@pytest.mark.parametrize("mode", ["transposable", "bidirectional"])
def test_forward_and_compressed_copies(mode, device):
    layer = Linear24(16, 8, mask_mode=mode, dtype=mg.float64).to(device)
    W = layer.weight.numpy() if device == "cpu" else layer.weight.data.get()
    Mf = layer.weight_mask.data if device == "cpu" else layer.weight_mask.data.get()
    Mb = layer.weight_t_mask.data if device == "cpu" else layer.weight_t_mask.data.get()
    assert _groups_ok(Mf) and _groups_ok(Mb.T)
    if mode == "transposable":
        np.testing.assert_array_equal(Mf, Mb)
    else:
        np.testing.assert_array_equal(Mf, mask_24(W))
        np.testing.assert_array_equal(Mb, mask_24(W.T).T)
    x = np.random.default_rng(1).standard_normal((5, 16))
    b = layer.bias.data if device == "cpu" else layer.bias.data.get()
    y = layer(mg.tensor(x, device=device))
    assert_close(y, x @ (Mf * W).T + b, rtol=1e-12, atol=1e-12)
    S, S_t = layer.compressed()
    assert S.shape == (8, 16) and S_t.shape == (16, 8)
    assert_close(S.to_dense(), Mf * W, rtol=0)
    assert_close(S_t.to_dense(), (Mb * W).T, rtol=0)


def test_gradcheck_transposable(device):
    layer = Linear24(12, 8, dtype=mg.float64).to(device)
    meta, meta_t = layer._metas()
    x = mg.tensor(np.random.default_rng(2).standard_normal((3, 12)), device=device,
                  requires_grad=True)
    fn = lambda x, W, b: linear24(x, W, meta, meta_t, b)
    assert mg.gradcheck(fn, (x, layer.weight, layer.bias))
    assert mg.gradgradcheck(fn, (x, layer.weight, layer.bias))


def test_gradients_are_the_masked_ones():
    """gW = M_f ⊙ gYᵀX (straight-through on kept entries only), gX = gY (M_b ⊙ W)
    (bidirectional: the backward copy, not the forward mask), gb = Σ gY."""
    rng = np.random.default_rng(3)
    layer = Linear24(16, 12, mask_mode="bidirectional", dtype=mg.float64)
    W = layer.weight.numpy().copy()
    Mf, Mb = layer.weight_mask.numpy(), layer.weight_t_mask.numpy()
    assert not np.array_equal(Mf, Mb)  # the two directions differ here
    x = mg.tensor(rng.standard_normal((6, 16)), requires_grad=True)
    gy = rng.standard_normal((6, 12))
    layer(x).backward(mg.tensor(gy))
    assert_close(layer.weight.grad, Mf * (gy.T @ x.numpy()), rtol=1e-12, atol=1e-12)
    assert (layer.weight.grad.numpy()[~Mf] == 0).all()
    assert_close(x.grad, gy @ (Mb * W), rtol=1e-12, atol=1e-12)
    assert_close(layer.bias.grad, gy.sum(0), rtol=1e-12)


def test_pruned_master_entries_stay_put_under_sgd():
    layer = Linear24(8, 8, mask_update_every=None, dtype=mg.float64)
    W0 = layer.weight.numpy().copy()
    pruned = ~layer.weight_mask.numpy()
    opt = optim.SGD(layer.parameters(), lr=0.1, momentum=0.9)
    x = mg.randn(4, 8, dtype=mg.float64)
    for _ in range(5):
        opt.zero_grad()
        (layer(x) ** 2).mean().backward()
        opt.step()
    np.testing.assert_array_equal(layer.weight.numpy()[pruned], W0[pruned])
    assert not np.array_equal(layer.weight.numpy()[~pruned], W0[~pruned])


def test_mask_schedule_counts_training_forwards():
    layer = Linear24(8, 4, mask_update_every=3, dtype=mg.float64)
    x = mg.randn(2, 8, dtype=mg.float64)
    old = layer.weight_mask.numpy().copy()
    with mg.no_grad():
        layer.weight.data[...] = np.where(old, 1e-3, 1.0)  # flip which entries are large
    layer.eval()
    layer(x)
    assert layer.steps_since_update == 0  # eval forwards do not count
    layer.train()
    for _ in range(3):
        layer(x)
        np.testing.assert_array_equal(layer.weight_mask.numpy(), old)
    layer(x)  # the 4th training forward re-derives the mask first
    np.testing.assert_array_equal(layer.weight_mask.numpy(), ~old)
    assert layer.steps_since_update == 1


def test_dense_and_sparse_switches():
    layer = Linear24(8, 4, dtype=mg.float64)
    x = np.random.default_rng(4).standard_normal((3, 8))
    W, b = layer.weight.numpy(), layer.bias.numpy()
    assert_close(layer.dense()(mg.tensor(x)), x @ W.T + b, rtol=1e-12)
    assert not layer.is_sparse
    layer.dense()(mg.tensor(x)).sum().backward()  # dense gradient reaches every entry
    assert (layer.weight.grad.numpy() != 0).all()
    layer.sparse()
    M = layer.weight_mask.numpy()
    assert_close(layer(mg.tensor(x)), x @ (M * W).T + b, rtol=1e-12)


def test_batched_input_state_dict_and_repr():
    layer = Linear24(8, 4, bias=False, dtype=mg.float64)
    x = mg.randn(2, 3, 8, dtype=mg.float64)
    y = layer(x)
    assert y.shape == (2, 3, 4)
    assert_close(y, x.numpy() @ (layer.weight_mask.numpy() * layer.weight.numpy()).T,
                 rtol=1e-12)
    sd = layer.state_dict()
    assert list(sd) == ["weight", "weight_mask", "weight_t_mask"]
    other = Linear24(8, 4, bias=False, dtype=mg.float64)
    other.load_state_dict(sd)
    assert_close(other(x), y, rtol=0)
    assert "mask_mode='transposable'" in repr(layer)


def test_validation_errors():
    with pytest.raises(ValueError, match="in_features must be a positive multiple of 4"):
        Linear24(6, 8)
    with pytest.raises(ValueError, match="out_features must be a positive multiple of 4"):
        Linear24(8, 10)
    with pytest.raises(ValueError, match="out_features must be a positive multiple of 4"):
        Linear24(8, 10, mask_mode="bidirectional")  # the backward copy is 2:4 along out
    with pytest.raises(ValueError, match="mask_mode"):
        Linear24(8, 8, mask_mode="magic")
    with pytest.raises(ValueError, match="mask_update_every"):
        Linear24(8, 8, mask_update_every=-1)
    with pytest.raises(ValueError, match=r"expected input \(\.\.\., 8\)"):
        Linear24(8, 8)(mg.randn(2, 4))
    with pytest.raises(TypeError, match="weight is float32"):
        Linear24(8, 8)(mg.randn(2, 8, dtype=mg.float64))
    with pytest.raises(ValueError, match="multiples of 4"):
        transposable_mask_24(np.ones((6, 8)))


def test_docstring_examples():
    mg.manual_seed(0)
    result = doctest.testmod(L24, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


def _cuda_float16_step(n_in, n_out, batch, seed, atol_y, atol_gx, atol_gw):
    """A bidirectional Linear24 made in float64, moved to CUDA in float16, run forward and
    backward on random x and dy: y, the input and the weight gradients agree with the float64
    CPU math on the fp16-rounded operands (to fp16 rounding: ``atol_*``)."""
    mg.manual_seed(seed)
    layer = Linear24(n_in, n_out, mask_mode="bidirectional", dtype=mg.float64)
    W, b = layer.weight.numpy().copy(), layer.bias.numpy().copy()
    Mf, Mb = layer.weight_mask.numpy().copy(), layer.weight_t_mask.numpy().copy()
    x = np.random.default_rng(seed + 5).standard_normal((batch, n_in))
    gy = np.random.default_rng(seed + 6).standard_normal((batch, n_out))
    layer.to(device="cuda", dtype=mg.float16)
    X = mg.tensor(x, dtype=mg.float16, device="cuda", requires_grad=True)
    y = layer(X)
    assert y.dtype == mg.float16 and y.device == "cuda"
    y.backward(mg.tensor(gy, dtype=mg.float16, device="cuda"))
    h = lambda a: a.astype(np.float16).astype(np.float64)
    assert_close(y.float().cpu(), h(x) @ (Mf * h(W)).T + h(b), rtol=2e-2, atol=atol_y)
    assert_close(X.grad.float().cpu(), h(gy) @ (Mb * h(W)), rtol=2e-2, atol=atol_gx)
    assert_close(layer.weight.grad.float().cpu(), Mf * (h(gy).T @ h(x)), rtol=2e-2,
                 atol=atol_gw)


@pytest.mark.gpu
def test_cuda_float16_uses_both_sparse_products():
    """On CUDA in float16 the forward and the input gradient run on the sparse tensor
    cores (kernels.mm_24); they agree with the float64 CPU math to fp16 rounding."""
    _cuda_float16_step(64, 32, 16, 0, 3e-2, 3e-2, 6e-2)


@pytest.mark.gpu
def test_cuda_float16_large_products_take_the_wgmma_kernel_on_hopper(monkeypatch):
    """Products of kernels.WGMMA_MIN_OUTPUT outputs or more take kernels.mm_24_wgmma on an
    sm_90 GPU (mm_24 elsewhere, and for small ones), forward and input gradient alike; the
    results are the float64 CPU math's to fp16 rounding either way."""
    from minigrad import kernels
    from minigrad._backend import cupy

    calls = []
    for name in ("mm_24", "mm_24_wgmma"):
        kernel = getattr(kernels, name)
        monkeypatch.setattr(kernels, name, lambda *a, _k=kernel, _n=name, **kw:
                            calls.append(_n) or _k(*a, **kw))
    _cuda_float16_step(256, 4096, 512, 1, 5e-2, 2e-1, 1e-1)
    big = "mm_24_wgmma" if cupy().cuda.Device().compute_capability == "90" else "mm_24"
    assert 4096 * 512 >= kernels.WGMMA_MIN_OUTPUT > 256 * 512
    # forward W x^T (4096 x 512 outputs), input gradient W^T dy^T (256 x 512: small)
    assert calls == [big, "mm_24"], calls
