"""EmbeddingBag / F.embedding_bag: bags by hand in both layouts and all three modes,
padding and empty bags, per-sample weights, gradients, errors, and PyTorch's values and
gradients when installed."""
import numpy as np
import pytest

import minigrad as mg
import minigrad.nn as nn
import minigrad.nn.functional as F
from minigrad.testing import assert_close

W = np.array([[1.0, 0.0], [0.0, 2.0], [3.0, 3.0], [-1.0, 5.0]])


def _w(device, grad=True):
    return mg.tensor(W, device=device, requires_grad=grad)


def test_bags_by_hand(device):
    w = _w(device)
    idx = mg.tensor([0, 1, 2, 2, 3], device=device)
    off = mg.tensor([0, 2, 2], device=device)                    # bags [0 1], [], [2 2 3]
    assert F.embedding_bag(idx, w, off, mode="sum").tolist() == [[1, 2], [0, 0], [5, 11]]
    assert_close(F.embedding_bag(idx, w, off, mode="mean"),
                 [[0.5, 1.0], [0.0, 0.0], [5 / 3, 11 / 3]], rtol=1e-15)
    assert F.embedding_bag(idx, w, off, mode="max").tolist() == [[1, 2], [0, 0], [3, 5]]
    last = mg.tensor([0, 2, 2, 5], device=device)                # include_last_offset
    assert F.embedding_bag(idx, w, last, mode="sum", include_last_offset=True).tolist() == \
        [[1, 2], [0, 0], [5, 11]]
    rows = mg.tensor([[0, 3], [2, 2]], device=device)            # 2-D: one bag per row
    assert F.embedding_bag(rows, w, mode="sum").tolist() == [[0, 5], [6, 6]]
    padded = F.embedding_bag(rows, w, mode="mean", padding_idx=3)
    assert padded.tolist() == [[1.0, 0.0], [3.0, 3.0]]          # the pad is not counted
    psw = mg.tensor([[2.0, 0.5], [1.0, -1.0]], dtype=mg.float64, device=device)
    assert F.embedding_bag(rows, w, mode="sum", per_sample_weights=psw).tolist() == \
        [[1.5, 2.5], [0.0, 0.0]]


def test_gradients(device):
    w = _w(device)
    idx = mg.tensor([0, 1, 2, 2, 3, 1], device=device)
    off = mg.tensor([0, 2, 2, 5], device=device)
    psw = mg.tensor(np.linspace(0.5, 2.0, 6), device=device, requires_grad=True)
    for mode in ("sum", "mean", "max"):
        assert mg.gradcheck(lambda w, m=mode: F.embedding_bag(idx, w, off, mode=m) ** 2, (w,))
    assert mg.gradcheck(lambda w, p: F.embedding_bag(idx, w, off, mode="sum",
                                                     per_sample_weights=p), (w, psw))
    out = F.embedding_bag(idx, w, off, mode="max", padding_idx=2)
    out.sum().backward()
    # bags [0 1], [], [3], [1] without the pad: the max takes row 0's column 0 and row 1's
    # column 1, then row 3 and row 1 whole; the pad row gets nothing
    assert w.grad.tolist() == [[1, 0], [1, 2], [0, 0], [1, 1]]


def test_module_and_errors():
    bag = nn.EmbeddingBag(6, 3, mode="sum", padding_idx=0)
    assert bag.weight.shape == (6, 3) and bag.weight.tolist()[0] == [0, 0, 0]
    assert repr(bag) == "EmbeddingBag(6, 3, mode='sum', padding_idx=0)"
    assert bag(mg.tensor([1, 2, 0]), mg.tensor([0, 1])).shape == (2, 3)
    frozen = nn.EmbeddingBag.from_pretrained(mg.tensor(W), mode="max")
    assert not frozen.weight.requires_grad and frozen(mg.tensor([[0, 3]])).tolist() == [[1, 5]]
    w = mg.tensor(W)
    with pytest.raises(ValueError, match="mode must be one of"):
        F.embedding_bag(mg.tensor([[0]]), w, mode="median")
    with pytest.raises(ValueError, match="a 1-D input needs offsets"):
        F.embedding_bag(mg.tensor([0, 1]), w)
    with pytest.raises(ValueError, match="offsets must be None for a 2-D input"):
        F.embedding_bag(mg.tensor([[0, 1]]), w, mg.tensor([0]))
    with pytest.raises(ValueError, match="offsets must start at 0"):
        F.embedding_bag(mg.tensor([0, 1]), w, mg.tensor([1]))
    with pytest.raises(ValueError, match="never decrease"):
        F.embedding_bag(mg.tensor([0, 1]), w, mg.tensor([0, 2, 1]))
    with pytest.raises(ValueError, match="per_sample_weights only work with mode='sum'"):
        F.embedding_bag(mg.tensor([[0, 1]]), w, per_sample_weights=mg.ones(1, 2))
    with pytest.raises(ValueError, match="per_sample_weights must have the input's shape"):
        F.embedding_bag(mg.tensor([[0, 1]]), w, mode="sum", per_sample_weights=mg.ones(2))
    with pytest.raises(IndexError, match="index 7 is out of range for 4 embeddings"):
        F.embedding_bag(mg.tensor([[0, 7]]), w)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_matches_torch(mode):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    weight = rng.standard_normal((12, 5))
    cases = [dict(input=rng.integers(0, 12, 9), offsets=np.array([0, 4, 4, 7])),
             dict(input=rng.integers(0, 12, 9), offsets=np.array([0, 2, 9]),
                  include_last_offset=True, padding_idx=3),
             dict(input=rng.integers(0, 12, (4, 3)), padding_idx=-1)]
    for case in cases:
        case = dict(case, input=np.where(case["input"] == 11, 3, case["input"]))
        psw = rng.standard_normal(case["input"].shape) if mode == "sum" else None
        wm, wt = mg.tensor(weight, requires_grad=True), torch.tensor(weight, requires_grad=True)
        kw = {k: v for k, v in case.items() if k not in ("input", "offsets")}
        off = case.get("offsets")
        ours = F.embedding_bag(mg.tensor(case["input"]), wm,
                               None if off is None else mg.tensor(off), mode=mode,
                               per_sample_weights=None if psw is None else mg.tensor(psw),
                               **kw)
        theirs = torch.nn.functional.embedding_bag(
            torch.tensor(case["input"]), wt, None if off is None else torch.tensor(off),
            mode=mode, per_sample_weights=None if psw is None else torch.tensor(psw), **kw)
        assert_close(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)
        g = rng.standard_normal(theirs.shape)
        ours.backward(mg.tensor(g))
        theirs.backward(torch.tensor(g))
        assert_close(wm.grad, wt.grad.numpy(), rtol=1e-12, atol=1e-14)
