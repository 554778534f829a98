"""linear_cross_entropy / LinearCrossEntropyLoss: the chunked path equals the composition
cross_entropy(linear(...)) (by hand, for every reduction, class weights and ignored rows),
passes gradcheck and gradgradcheck on hypothesis-drawn sizes and chunkings, keeps no
(N, C) array after its forward, falls back (with a warning) where it does not apply,
refuses bad input; PyTorch as an oracle when installed."""
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import minigrad as mg
import minigrad.nn.functional as F
from minigrad import nn
from minigrad.nn.linear_cross_entropy import ChunkedLinearCrossEntropy


def _problem(n=7, d=5, c=11, seed=0):
    rng = np.random.default_rng(seed)
    t = rng.integers(0, c, n)
    if n > 2:
        t[2] = -100
    return (rng.standard_normal((n, d)), rng.standard_normal((c, d)), rng.standard_normal(c),
            t, rng.uniform(0.5, 2.0, c))


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("with_bias", [True, False])
@pytest.mark.parametrize("with_weight", [True, False])
def test_chunked_equals_the_composition(reduction, with_bias, with_weight):
    x, W, b, t, w = _problem()
    results = []
    for options in (None, nn.LinearCrossEntropyOptions(batch_chunk_size=3)):
        X, Wt, B = (mg.tensor(a, requires_grad=True) for a in (x, W, b))
        loss = F.linear_cross_entropy(X, Wt, mg.tensor(t), linear_bias=B if with_bias else None,
                                      weight=mg.tensor(w) if with_weight else None,
                                      reduction=reduction, options=options)
        (loss.sum() if reduction == "none" else loss).backward()
        results.append([loss.numpy(), X.grad.numpy(), Wt.grad.numpy()]
                       + ([B.grad.numpy()] if with_bias else []))
    for chunked, plain in zip(*results):
        np.testing.assert_allclose(chunked, plain, rtol=1e-12, atol=1e-14)
    if reduction == "none":
        assert results[0][0][2] == 0.0  # the ignored row


@settings(max_examples=20, deadline=None)
@given(n=st.integers(1, 6), d=st.integers(1, 4), c=st.integers(1, 6), chunk=st.integers(1, 7),
       reduction=st.sampled_from(["mean", "sum", "none"]), bias=st.booleans(),
       seed=st.integers(0, 100))
def test_chunked_passes_gradcheck_and_gradgradcheck(n, d, c, chunk, reduction, bias, seed):
    x, W, b, t, w = _problem(n, d, c, seed)
    if (t == -100).all():
        t[0] = 0  # a mean over no kept target is NaN: nothing to check
    opts = nn.LinearCrossEntropyOptions(batch_chunk_size=chunk)
    inputs = [mg.tensor(a, requires_grad=True) for a in ((x, W, b) if bias else (x, W))]

    def f(X, Wt, *B):
        return F.linear_cross_entropy(X, Wt, mg.tensor(t), linear_bias=B[0] if B else None,
                                      weight=mg.tensor(w), reduction=reduction, options=opts)

    assert mg.gradcheck(f, inputs)
    assert mg.gradgradcheck(f, inputs)


def test_the_forward_keeps_no_logits():
    """After the forward only per-row numbers stay (lse, weights, targets): no array of
    N·C elements, which is what the chunking saves (the composition keeps its logits)."""
    n, c = 64, 500
    rng = np.random.default_rng(0)
    X = mg.tensor(rng.standard_normal((n, 8)), requires_grad=True)
    W = mg.tensor(rng.standard_normal((c, 8)), requires_grad=True)
    loss = F.linear_cross_entropy(X, W, mg.tensor(rng.integers(0, c, n)),
                                  options=nn.LinearCrossEntropyOptions(batch_chunk_size=16))
    node = loss.creator
    while not isinstance(node, ChunkedLinearCrossEntropy):
        node = node.inputs[0].creator
    arrays = [v for v in vars(node).values() if isinstance(v, np.ndarray)]
    assert arrays and max(a.size for a in arrays) <= n
    assert node.rows == 16
    loss.backward()
    assert X.grad.shape == (n, 8) and W.grad.shape == (c, 8)


def test_falls_back_with_a_warning_where_chunks_do_not_apply():
    x, W, b, t, w = _problem()
    X, Wt = mg.tensor(x), mg.tensor(W)
    probs = mg.tensor(np.random.default_rng(1).dirichlet(np.ones(11), 7))
    opts = nn.LinearCrossEntropyOptions()
    with pytest.warns(UserWarning, match="options ignored"):
        smoothed = F.linear_cross_entropy(X, Wt, mg.tensor(t), label_smoothing=0.1,
                                          options=opts)
    plain = F.cross_entropy(X @ Wt.T, mg.tensor(t), label_smoothing=0.1)
    np.testing.assert_allclose(smoothed.numpy(), plain.numpy(), rtol=1e-13)
    with pytest.warns(UserWarning, match="options ignored"):
        F.linear_cross_entropy(X, Wt, probs, options=opts)
    # K-dimensional: weight (C, d1, D), logits (N, C, d1)
    Wk = mg.tensor(np.random.default_rng(2).standard_normal((4, 3, 5)))
    tk = mg.tensor(np.random.default_rng(3).integers(0, 4, (7, 3)))
    k_loss = F.linear_cross_entropy(X, Wk, tk)
    logits = (X @ Wk.reshape(12, 5).T).reshape(7, 4, 3)
    np.testing.assert_allclose(k_loss.numpy(), F.cross_entropy(logits, tk).numpy(), rtol=1e-13)


def test_unbatched_input():
    x, W, b, t, w = _problem()
    opts = nn.LinearCrossEntropyOptions()
    for reduction in ("mean", "none"):
        one = F.linear_cross_entropy(mg.tensor(x[0]), mg.tensor(W), mg.tensor(t[0]),
                                     reduction=reduction, options=opts)
        ref = F.cross_entropy(mg.tensor(x[0]) @ mg.tensor(W).T, mg.tensor(t[0]),
                              reduction=reduction)
        assert one.shape == () and np.allclose(one.numpy(), ref.numpy())


def test_bad_input_is_named():
    x, W, b, t, w = _problem()
    X, Wt, T = mg.tensor(x), mg.tensor(W), mg.tensor(t)
    opts = nn.LinearCrossEntropyOptions()
    with pytest.raises(ValueError, match=r"input's last dim 5 and linear_weight's 4"):
        F.linear_cross_entropy(X, mg.tensor(W[:, :4]), T)
    with pytest.raises(ValueError, match=r"expected linear_bias of shape \(11,\)"):
        F.linear_cross_entropy(X, Wt, T, linear_bias=mg.zeros(10))
    with pytest.raises(ValueError, match="input with 1 or 2 dims"):
        F.linear_cross_entropy(mg.zeros(2, 3, 5), Wt, T)
    with pytest.raises(IndexError, match="target class index 11 is out of range for 11"):
        F.linear_cross_entropy(X, Wt, mg.tensor(np.full(7, 11)), options=opts)
    with pytest.raises(ValueError, match="ignore_index cannot be given"):
        F.linear_cross_entropy(X, Wt, mg.softmax(X @ Wt.T, 1), ignore_index=0)
    with pytest.raises(ValueError, match="batch_chunk_size must be a positive int"):
        F.linear_cross_entropy(X, Wt, T, options=nn.LinearCrossEntropyOptions(
            batch_chunk_size=0))
    with pytest.raises(ValueError, match="reduction must be one of"):
        F.linear_cross_entropy(X, Wt, T, reduction="avg")
    with pytest.raises(TypeError, match="linear_weight must be a Tensor"):
        F.linear_cross_entropy(X, W, T)


def test_the_module_holds_a_linear_layer_and_the_class_weights():
    mg.manual_seed(0)
    head = nn.LinearCrossEntropyLoss(8, 5, bias=True, weight=mg.ones(5),
                                     options=nn.LinearCrossEntropyOptions(batch_chunk_size=2))
    assert {k: v.shape for k, v in head.state_dict().items()} == {
        "weight": (5,), "linear.weight": (5, 8), "linear.bias": (5,)}
    x, t = mg.randn(6, 8), mg.tensor([1, 4, 0, 2, 3, 3])
    loss = head(x, t)
    ref = F.cross_entropy(head.linear(x), t)
    np.testing.assert_allclose(loss.numpy(), ref.numpy(), rtol=1e-5)
    loss.backward()
    assert head.linear.weight.grad.shape == (5, 8)
    multi = nn.LinearCrossEntropyLoss(8, 5, out_features=(3,), bias=True)
    assert multi.linear.weight.shape == (15, 8)
    assert multi(x, mg.tensor(np.zeros((6, 3), np.int64))).shape == ()


def test_matches_pytorch():
    torch = pytest.importorskip("torch")
    if not hasattr(torch.nn.functional, "linear_cross_entropy"):
        pytest.skip("this torch has no linear_cross_entropy")
    from torch.nn.modules.linear_cross_entropy_options import LinearCrossEntropyOptions

    x, W, b, t, w = _problem(n=9, d=6, c=13, seed=4)
    for reduction in ("mean", "sum", "none"):
        mine = [mg.tensor(a, requires_grad=True) for a in (x, W, b)]
        theirs = [torch.tensor(a, requires_grad=True) for a in (x, W, b)]
        loss = F.linear_cross_entropy(*mine[:2], mg.tensor(t), linear_bias=mine[2],
                                      weight=mg.tensor(w), reduction=reduction,
                                      options=nn.LinearCrossEntropyOptions(batch_chunk_size=4))
        ref = torch.nn.functional.linear_cross_entropy(
            *theirs[:2], torch.tensor(t), linear_bias=theirs[2], weight=torch.tensor(w),
            reduction=reduction, options=LinearCrossEntropyOptions(batch_chunk_size=4))
        (loss.sum() if reduction == "none" else loss).backward()
        (ref.sum() if reduction == "none" else ref).backward()
        np.testing.assert_allclose(loss.numpy(), ref.detach().numpy(), rtol=1e-12)
        for a, r in zip(mine, theirs):
            np.testing.assert_allclose(a.grad.numpy(), r.grad.numpy(), rtol=1e-10,
                                       atol=1e-13)
    module = torch.nn.LinearCrossEntropyLoss(6, 13, bias=True)
    assert set(module.state_dict()) == set(nn.LinearCrossEntropyLoss(6, 13, bias=True)
                                           .state_dict()) - {"weight"}
