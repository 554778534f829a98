"""Packed sequences (PackedSequence, pack_padded_sequence, pad_packed_sequence,
pack_sequence) and the recurrent layers on them: layouts by hand, each sequence running
for its own length (equal to running it alone), gradients, errors, and PyTorch's outputs,
final states and gradients when installed."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.nn import GRU, LSTM, RNN
from minigrad.nn.utils.rnn import (
    PackedSequence,
    pack_padded_sequence,
    pack_sequence,
    pad_packed_sequence,
)
from minigrad.testing import assert_close


def _t(a, device="cpu", grad=False):
    return mg.tensor(np.asarray(a, dtype=np.float64), device=device, requires_grad=grad)


def test_packing_layout_by_hand(device):
    x = _t([[1, 2, 3], [4, 5, 0], [6, 0, 0]], device)               # (B, L), padded
    p = pack_padded_sequence(x, [3, 2, 1], batch_first=True)
    assert isinstance(p, PackedSequence)
    assert p.data.tolist() == [1, 4, 6, 2, 5, 3] and p.batch_sizes.tolist() == [3, 2, 1]
    assert p.sorted_indices is None and p.unsorted_indices is None
    q = pack_padded_sequence(x[[2, 0, 1]], mg.tensor([1, 3, 2]), batch_first=True,
                             enforce_sorted=False)
    assert q.data.tolist() == [1, 4, 6, 2, 5, 3]
    assert q.sorted_indices.tolist() == [1, 2, 0] and q.unsorted_indices.tolist() == [2, 0, 1]
    padded, lengths = pad_packed_sequence(q, batch_first=True)
    assert padded.tolist() == [[6, 0, 0], [1, 2, 3], [4, 5, 0]]
    assert lengths.tolist() == [1, 3, 2]
    padded, _ = pad_packed_sequence(p, padding_value=-1.0, total_length=4)
    assert padded.shape == (4, 3) and padded.tolist()[3] == [-1.0, -1.0, -1.0]
    assert padded.tolist()[1] == [2.0, 5.0, -1.0]
    seqs = [_t([[1.0, 1.5]], device), _t([[2.0, 2.5], [3.0, 3.5]], device)]
    s = pack_sequence(seqs, enforce_sorted=False)
    assert s.data.tolist() == [[2.0, 2.5], [1.0, 1.5], [3.0, 3.5]]
    assert s.batch_sizes.tolist() == [2, 1] and s.to(device).data.device == device


def test_pack_and_pad_are_differentiable(device):
    x = _t(np.random.default_rng(0).standard_normal((4, 3, 2)), device, grad=True)

    def roundtrip(x):
        p = pack_padded_sequence(x, [2, 4, 1], enforce_sorted=False)
        return pad_packed_sequence(p, padding_value=0.5)[0] * 2
    assert mg.gradcheck(roundtrip, (x,))
    y = roundtrip(x)
    y.sum().backward()
    g = x.grad.cpu().numpy()
    assert (g[:2, 0] == 2).all() and (g[2:, 0] == 0).all()         # padding: gradient 0
    assert (g[:, 1] == 2).all() and (g[1:, 2] == 0).all()


@pytest.mark.parametrize("cls, extra", [(RNN, {}), (LSTM, {}), (GRU, {}),
                                        (LSTM, dict(proj_size=2))])
def test_each_sequence_runs_for_its_own_length(cls, extra, device):
    """A packed batch gives, sequence by sequence, what the sequence gives alone."""
    mg.manual_seed(0)
    layer = cls(3, 4, num_layers=2, bidirectional=True, **extra).double().to(device)
    rng = np.random.default_rng(1)
    lengths = [2, 5, 3]
    seqs = [_t(rng.standard_normal((n, 3)), device) for n in lengths]
    out, state = layer(pack_sequence(seqs, enforce_sorted=False))
    padded, got = pad_packed_sequence(out)
    assert got.tolist() == lengths
    h_n = state[0] if cls is LSTM else state
    for b, seq in enumerate(seqs):
        alone, alone_state = layer(seq.unsqueeze(1))
        alone_h = alone_state[0] if cls is LSTM else alone_state
        assert_close(padded[:lengths[b], b], alone[:, 0].detach().cpu().numpy(), rtol=1e-12)
        assert (padded[lengths[b]:, b].cpu().numpy() == 0).all()
        assert_close(h_n[:, b], alone_h[:, 0].detach().cpu().numpy(), rtol=1e-12)
        if cls is LSTM:
            assert_close(state[1][:, b], alone_state[1][:, 0].detach().cpu().numpy(), rtol=1e-12)


def test_gradcheck_through_a_packed_lstm(device):
    mg.manual_seed(1)
    lstm = LSTM(2, 3, bidirectional=True, batch_first=True).double().to(device)
    x = _t(np.random.default_rng(2).standard_normal((3, 4, 2)), device, grad=True)
    h0 = _t(np.random.default_rng(3).standard_normal((2, 3, 3)), device, grad=True)
    c0 = _t(np.random.default_rng(4).standard_normal((2, 3, 3)), device, grad=True)

    def f(x, h0, c0, w):
        p = pack_padded_sequence(x, [2, 4, 1], batch_first=True, enforce_sorted=False)
        out, (h, c) = lstm(p, (h0, c0))
        y = pad_packed_sequence(out, batch_first=True)[0].sum(dim=1)      # (3, 2·3)
        return y[:, :3] * y[:, 3:] + h.sum(0) + c[1]
    assert mg.gradcheck(f, (x, h0, c0, lstm.weight_hh_l0_reverse))


def test_packed_errors():
    x = mg.zeros(3, 2, 4)
    with pytest.raises(ValueError, match="are not sorted in decreasing order"):
        pack_padded_sequence(x, [1, 3])
    with pytest.raises(ValueError, match=r"every length must be in \[1, 3\]"):
        pack_padded_sequence(x, [4, 1])
    with pytest.raises(ValueError, match="lengths must be 2 integers"):
        pack_padded_sequence(x, [3])
    with pytest.raises(ValueError, match="input must be a Tensor"):
        pack_padded_sequence(mg.zeros(3), [3])
    with pytest.raises(TypeError, match="expected a PackedSequence"):
        pad_packed_sequence(x)
    with pytest.raises(ValueError, match="total_length 2 is shorter"):
        pad_packed_sequence(pack_padded_sequence(x, [3, 1]), total_length=2)
    p = pack_padded_sequence(x, [3, 1])
    with pytest.raises(ValueError, match="input.size\\(-1\\) must be equal to input_size"):
        LSTM(5, 2)(p)
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(1, 2, 2\)"):
        GRU(4, 2)(p, mg.zeros(1, 3, 2))


@pytest.mark.parametrize("kind, config", [
    ("LSTM", dict(num_layers=2, bidirectional=True)),
    ("GRU", dict(batch_first=True)),
    ("RNN", dict(nonlinearity="relu", bidirectional=True)),
    ("LSTM", dict(proj_size=2, batch_first=True))])
def test_packed_layers_match_torch(kind, config):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(5)
    theirs = getattr(torch.nn, kind)(3, 4, **config).double()
    ours = {"LSTM": LSTM, "GRU": GRU, "RNN": RNN}[kind](3, 4, **config).double()
    ours.load_state_dict({k: v.detach().cpu().numpy() for k, v in theirs.state_dict().items()})
    first = config.get("batch_first", False)
    lengths = [3, 5, 1, 4]
    x = rng.standard_normal((4, 5, 3) if first else (5, 4, 3))
    D = 2 if config.get("bidirectional") else 1
    layers = config.get("num_layers", 1)
    h_size = config.get("proj_size") or 4
    h0 = rng.standard_normal((D * layers, 4, h_size))
    xm, xt = mg.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    hm, ht = mg.tensor(h0, requires_grad=True), torch.tensor(h0, requires_grad=True)
    pm = pack_padded_sequence(xm, lengths, batch_first=first, enforce_sorted=False)
    pt = torch.nn.utils.rnn.pack_padded_sequence(xt, torch.tensor(lengths),
                                                 batch_first=first, enforce_sorted=False)
    assert pm.data.tolist() == pt.data.tolist()
    assert pm.batch_sizes.tolist() == pt.batch_sizes.tolist()
    if kind == "LSTM":
        c0 = rng.standard_normal((D * layers, 4, 4))
        cm, ct = mg.tensor(c0, requires_grad=True), torch.tensor(c0, requires_grad=True)
        out_m, (h_m, c_m) = ours(pm, (hm, cm))
        out_t, (h_t, c_t) = theirs(pt, (ht, ct))
        assert_close(c_m, c_t.detach().cpu().numpy(), rtol=1e-11, atol=1e-13)
    else:
        out_m, h_m = ours(pm, hm)
        out_t, h_t = theirs(pt, ht)
    assert_close(out_m.data, out_t.data.detach().cpu().numpy(), rtol=1e-11, atol=1e-13)
    assert_close(h_m, h_t.detach().cpu().numpy(), rtol=1e-11, atol=1e-13)
    ym, len_m = pad_packed_sequence(out_m, batch_first=first, total_length=6)
    yt, len_t = torch.nn.utils.rnn.pad_packed_sequence(out_t, batch_first=first,
                                                       total_length=6)
    assert_close(ym, yt.detach().cpu().numpy(), rtol=1e-11, atol=1e-13)
    assert len_m.tolist() == len_t.tolist()
    g = rng.standard_normal(yt.shape)
    gh = rng.standard_normal(h_t.shape)
    ((ym * mg.tensor(g)).sum() + (h_m * mg.tensor(gh)).sum()).backward()
    ((yt * torch.tensor(g)).sum() + (h_t * torch.tensor(gh)).sum()).backward()
    assert_close(xm.grad, xt.grad.cpu().numpy(), rtol=1e-9, atol=1e-12)
    assert_close(hm.grad, ht.grad.cpu().numpy(), rtol=1e-9, atol=1e-12)
    grads_t = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, grads_t[name].grad.cpu().numpy(), rtol=1e-9, atol=1e-12)
