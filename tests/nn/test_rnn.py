"""Recurrent layers (minigrad.nn.rnn): one step and two steps by hand from the equations,
gradcheck through time (and one gradgradcheck), dropout between layers, errors, and
PyTorch's outputs, final states and gradients (same state dict) when it is installed."""
import math
import warnings

import numpy as np
import pytest

import minigrad as mg
from minigrad.nn.rnn import GRU, LSTM, RNN, GRUCell, LSTMCell, RNNCell
from minigrad.testing import assert_close

LAYERS = {"RNN": RNN, "LSTM": LSTM, "GRU": GRU}
CELLS = {"RNN": RNNCell, "LSTM": LSTMCell, "GRU": GRUCell}


def _t(a, device="cpu"):
    return mg.tensor(a, dtype=mg.float64, device=device, requires_grad=True)


def _set(module, **values):
    """Write chosen values into parameters, by name."""
    with mg.no_grad():
        for name, v in values.items():
            p = getattr(module, name)
            p.data[...] = p.xp.asarray(v, dtype=p.dtype).reshape(p.shape)


def _sig(v):
    return 1 / (1 + math.exp(-v))


# One hidden unit, scalars: the equations transcribed with math.
# w_i = weight_ih rows, w_h = weight_hh rows, b_i/b_h biases, in PyTorch's gate order.
W_I, W_H = [0.5, -0.4, 0.3, 0.8], [-0.3, 0.6, 0.2, -0.7]
B_I, B_H = [0.1, 0.2, -0.1, 0.05], [0.2, -0.15, 0.3, 0.1]


def _rnn_by_hand(x, h):
    return math.tanh(W_I[0] * x + B_I[0] + W_H[0] * h + B_H[0])


def _lstm_by_hand(x, h, c):
    i, f, g, o = (W_I[k] * x + B_I[k] + W_H[k] * h + B_H[k] for k in range(4))
    c = _sig(f) * c + _sig(i) * math.tanh(g)
    return _sig(o) * math.tanh(c), c


def _gru_by_hand(x, h):
    r = _sig(W_I[0] * x + B_I[0] + W_H[0] * h + B_H[0])
    z = _sig(W_I[1] * x + B_I[1] + W_H[1] * h + B_H[1])
    n = math.tanh(W_I[2] * x + B_I[2] + r * (W_H[2] * h + B_H[2]))
    return (1 - z) * n + z * h


def _one_unit(module, gates, suffix=""):
    _set(module, **{"weight_ih" + suffix: W_I[:gates], "weight_hh" + suffix: W_H[:gates],
                    "bias_ih" + suffix: B_I[:gates], "bias_hh" + suffix: B_H[:gates]})
    return module


def test_one_step_by_hand(device):
    x, h, c = 2.0, 0.4, -0.6
    cell = _one_unit(RNNCell(1, 1).double().to(device), 1)
    assert_close(cell(_t([[x]], device), _t([[h]], device)), np.array([[_rnn_by_hand(x, h)]]),
                 rtol=1e-14)
    assert _rnn_by_hand(x, h) == pytest.approx(math.tanh(0.5 * 2 + 0.1 - 0.3 * 0.4 + 0.2))
    cell = _one_unit(LSTMCell(1, 1).double().to(device), 4)
    h1, c1 = cell(_t([x], device), (_t([h], device), _t([c], device)))   # unbatched
    assert_close(h1, np.array([_lstm_by_hand(x, h, c)[0]]), rtol=1e-14)
    assert_close(c1, np.array([_lstm_by_hand(x, h, c)[1]]), rtol=1e-14)
    cell = _one_unit(GRUCell(1, 1).double().to(device), 3)
    assert_close(cell(_t([[x]], device), _t([[h]], device)), np.array([[_gru_by_hand(x, h)]]),
                 rtol=1e-14)
    relu = _one_unit(RNNCell(1, 1, nonlinearity="relu").double().to(device), 1)
    assert_close(relu(_t([[-x]], device)), np.array([[0.0]]))           # 0.5·(−2) + 0.3 < 0
    assert_close(relu(_t([[x]], device)), np.array([[1.3]]), rtol=1e-14)  # hx = 0


def test_two_steps_by_hand():
    """A 2-step sequence: output[t] is the state after x[t]; the reverse direction starts
    from the last step, so its output at t = 0 is its final state."""
    xs, h0, c0 = [2.0, -1.0], 0.4, -0.6
    x = _t(np.array(xs).reshape(2, 1, 1))
    rnn = _one_unit(RNN(1, 1, bidirectional=True).double(), 1, "_l0")
    _one_unit(rnn, 1, "_l0_reverse")
    out, h_n = rnn(x, _t(np.full((2, 1, 1), h0)))
    f1 = _rnn_by_hand(xs[0], h0)
    f2 = _rnn_by_hand(xs[1], f1)
    r2 = _rnn_by_hand(xs[1], h0)
    r1 = _rnn_by_hand(xs[0], r2)
    assert_close(out, np.array([[[f1, r1]], [[f2, r2]]]), rtol=1e-14)
    assert_close(h_n, np.array([[[f2]], [[r1]]]), rtol=1e-14)

    lstm = _one_unit(LSTM(1, 1).double(), 4, "_l0")
    out, (h_n, c_n) = lstm(x, (_t([[[h0]]]), _t([[[c0]]])))
    a1, k1 = _lstm_by_hand(xs[0], h0, c0)
    a2, k2 = _lstm_by_hand(xs[1], a1, k1)
    assert_close(out, np.array([[[a1]], [[a2]]]), rtol=1e-14)
    assert_close(h_n, np.array([[[a2]]]), rtol=1e-14)
    assert_close(c_n, np.array([[[k2]]]), rtol=1e-14)

    gru = _one_unit(GRU(1, 1).double(), 3, "_l0")
    out, h_n = gru(x, _t([[[h0]]]))
    g1 = _gru_by_hand(xs[0], h0)
    g2 = _gru_by_hand(xs[1], g1)
    assert_close(out, np.array([[[g1]], [[g2]]]), rtol=1e-14)
    assert_close(h_n, np.array([[[g2]]]), rtol=1e-14)


@pytest.mark.parametrize("kind", ["RNN", "LSTM", "GRU"])
def test_gradcheck_through_time(kind, device):
    """3 steps, 2 layers, both directions: input, h_0 (c_0) and every parameter."""
    rng = np.random.default_rng(1)
    L, N, H_in, H = 3, 2, 2, 2
    model = LAYERS[kind](H_in, H, num_layers=2, bidirectional=True).double().to(device)
    x = _t(rng.standard_normal((L, N, H_in)), device)
    states = [_t(rng.standard_normal((4, N, H)), device)
              for _ in range(2 if kind == "LSTM" else 1)]
    params = list(model.parameters())
    assert len(params) == 16

    def fn(x, *rest):
        hx = tuple(rest[:2]) if kind == "LSTM" else rest[0]
        out, h_n = model(x, hx)
        return (out, *h_n) if kind == "LSTM" else (out, h_n)

    assert mg.gradcheck(fn, (x, *states, *params))


def test_gradcheck_lstm_projection_and_unbatched(device):
    rng = np.random.default_rng(2)
    model = LSTM(2, 3, proj_size=2, batch_first=True).double().to(device)
    x = _t(rng.standard_normal((3, 2)), device)                          # unbatched (L, H_in)
    h0, c0 = _t(rng.standard_normal((1, 2)), device), _t(rng.standard_normal((1, 3)), device)

    def fn(x, h0, c0, *params):
        out, (h_n, c_n) = model(x, (h0, c0))
        return out, h_n, c_n

    assert mg.gradcheck(fn, (x, h0, c0, *model.parameters()))


def test_gradgradcheck_lstm_cell(device):
    rng = np.random.default_rng(3)
    cell = LSTMCell(2, 2).double().to(device)
    x = _t(rng.standard_normal((2, 2)), device)
    h, c = _t(rng.standard_normal((2, 2)), device), _t(rng.standard_normal((2, 2)), device)
    assert mg.gradgradcheck(lambda x, h, c, *p: cell(x, (h, c)),
                            (x, h, c, *cell.parameters()))


def test_parameters_init_and_repr():
    assert [n for n, _ in GRU(3, 4, num_layers=2, bias=False, bidirectional=True)
            .named_parameters()] == ["weight_ih_l0", "weight_hh_l0", "weight_ih_l0_reverse",
                                     "weight_hh_l0_reverse", "weight_ih_l1", "weight_hh_l1",
                                     "weight_ih_l1_reverse", "weight_hh_l1_reverse"]
    lstm = LSTM(3, 4, num_layers=2, proj_size=2, bidirectional=True)
    shapes = {n: p.shape for n, p in lstm.named_parameters()}
    assert shapes["weight_ih_l1_reverse"] == (16, 4)                       # D·proj_size in
    assert shapes["weight_hh_l0"] == (16, 2) and shapes["weight_hr_l0"] == (2, 4)
    assert [len(w) for w in lstm.all_weights] == [5, 5, 5, 5]
    assert repr(lstm) == "LSTM(3, 4, proj_size=2, num_layers=2, bidirectional=True)"
    assert repr(RNNCell(3, 4, bias=False, nonlinearity="relu")) == \
        "RNNCell(3, 4, bias=False, nonlinearity=relu)"
    assert GRUCell(3, 4, bias=False).bias_ih is None
    bound = 1 / math.sqrt(16)
    values = np.concatenate([p.numpy().ravel() for p in LSTM(8, 16, 2).parameters()])
    assert np.abs(values).max() <= bound and np.abs(values).max() > 0.99 * bound
    assert abs(values.mean()) < 0.05 * bound


def test_dropout_between_layers_only_in_training():
    """dropout=1 zeroes layer 0's output on its way to layer 1: in training the output no
    longer depends on x (but layer 0's h_n does); in evaluation it does; and nothing is
    dropped after the last layer."""
    x = _t(np.random.default_rng(5).standard_normal((4, 2, 3)))
    gru = GRU(3, 5, num_layers=2, dropout=1.0).double()
    out, h_n = gru(x)
    g = mg.autograd.grad(out.sum(), x, retain_graph=True, allow_unused=True)[0]
    assert g is None or not g.numpy().any()
    assert mg.autograd.grad(h_n[0].sum(), x)[0].numpy().any()
    gru.eval()
    assert mg.autograd.grad(gru(x)[0].sum(), x)[0].numpy().any()
    with pytest.warns(UserWarning, match="num_layers greater than 1"):
        one = RNN(3, 5, dropout=1.0).double()
    assert_close(one(x)[0], one.eval()(x)[0].detach().numpy(), rtol=0)


def test_errors():
    for bad in (lambda: RNN(3, 4, nonlinearity="sigmoid"),
                lambda: RNNCell(3, 4, nonlinearity="gelu")):
        with pytest.raises(ValueError, match="Unknown nonlinearity"):
            bad()
    with pytest.raises(ValueError, match="between 0 and 1"):
        LSTM(3, 4, num_layers=2, dropout=1.5)
    with pytest.raises(ValueError, match="num_layers must be greater than zero"):
        GRU(3, 4, num_layers=0)
    with pytest.raises(ValueError, match="hidden_size must be greater than zero"):
        LSTMCell(3, 0)
    with pytest.raises(TypeError, match="hidden_size should be of type int"):
        RNN(3, 4.0)
    with pytest.raises(ValueError, match="proj_size has to be smaller than hidden_size"):
        LSTM(3, 4, proj_size=4)
    with pytest.raises(ValueError, match="proj_size should be a positive integer or zero"):
        LSTM(3, 4, proj_size=-1)
    with pytest.raises(TypeError):
        GRU(3, 4, proj_size=2)

    lstm = LSTM(3, 4, num_layers=2)
    x = mg.randn(5, 2, 3)
    h, c = mg.zeros(2, 2, 4), mg.zeros(2, 2, 4)
    with pytest.raises(ValueError, match="input.size\\(-1\\) must be equal to input_size"):
        lstm(mg.randn(5, 2, 4))
    with pytest.raises(ValueError, match="Expected input to be 2D or 3D, got 4D"):
        lstm(mg.randn(1, 5, 2, 3))
    with pytest.raises(ValueError, match="sequence length"):
        lstm(mg.randn(0, 2, 3))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 2, 4\), got \(2, 3, 4\)"):
        lstm(x, (mg.zeros(2, 3, 4), c))
    with pytest.raises(ValueError, match=r"expected c_0 of shape \(2, 2, 4\), got \(1, 2, 4\)"):
        lstm(x, (h, mg.zeros(1, 2, 4)))
    with pytest.raises(ValueError, match=r"expected h_0 of shape \(2, 4\)"):
        lstm(mg.randn(5, 3), (h, c))                                         # unbatched
    with pytest.raises(TypeError, match="hx must be a tuple \\(h_0, c_0\\)"):
        lstm(x, h)
    with pytest.raises(TypeError, match="h_0 has dtype float64 but the input has float32"):
        lstm(x, (h.double(), c))
    with pytest.raises(TypeError, match="expected a Tensor input"):
        RNN(3, 4)(np.zeros((5, 2, 3)))
    with pytest.raises(TypeError, match="h_0 must be a Tensor"):
        GRU(3, 4)(x, np.zeros((1, 2, 4)))
    cell = RNNCell(3, 4)
    with pytest.raises(ValueError, match="Expected input to be 1D or 2D, got 3D"):
        cell(mg.randn(2, 2, 3))
    with pytest.raises(ValueError, match=r"expected hx of shape \(2, 4\), got \(3, 4\)"):
        cell(mg.randn(2, 3), mg.zeros(3, 4))
    with pytest.raises(ValueError, match=r"expected hx of shape \(4,\), got \(2, 4\)"):
        cell(mg.randn(3), mg.zeros(2, 4))
    with pytest.raises(TypeError, match="hx must be a tuple"):
        LSTMCell(3, 4)(mg.randn(2, 3), mg.zeros(2, 4))


CONFIGS = [dict(), dict(batch_first=True), dict(bidirectional=True), dict(num_layers=2),
           dict(bias=False), dict(nonlinearity="relu"), dict(unbatched=True),
           dict(num_layers=2, dropout=0.5),
           dict(num_layers=2, bidirectional=True, batch_first=True),
           dict(num_layers=2, bidirectional=True, proj_size=2)]


def _torch_pair(torch, ours_cls, theirs_cls, *args, **config):
    ours = ours_cls(*args, **config).double()
    theirs = theirs_cls(*args, **config).double()
    assert [(n, tuple(p.shape)) for n, p in ours.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in theirs.named_parameters()]
    ours.load_state_dict({k: v.detach().numpy() for k, v in theirs.state_dict().items()})
    return ours, theirs


def _compare(torch, ours, theirs, call, arrays, rng):
    """``call(model, *inputs)`` (a tuple of outputs) on the same arrays: compare every
    output, then the gradients of the arrays and of the parameters under one random
    cotangent per output."""
    ours.zero_grad()
    theirs.zero_grad()
    xs = [mg.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    ys, tys = call(ours, *xs), call(theirs, *ts)
    assert len(ys) == len(tys)
    loss, tloss = 0, 0
    for y, ty in zip(ys, tys):
        assert_close(y, ty.detach().numpy(), rtol=1e-12, atol=1e-14)
        g = rng.standard_normal(ty.shape)
        loss = loss + (y * mg.tensor(g)).sum()
        tloss = tloss + (ty * torch.tensor(g)).sum()
    loss.backward()
    tloss.backward()
    for a, b in zip(xs, ts):
        assert_close(a.grad, b.grad.numpy(), rtol=1e-10, atol=1e-13)
    tgrads = dict(theirs.named_parameters())
    for name, p in ours.named_parameters():
        assert_close(p.grad, tgrads[name].grad.numpy(), rtol=1e-10, atol=1e-13)


LAYER_CASES = [pytest.param(kind, config, id=kind + "-" + (
    ",".join(f"{k}={v}" for k, v in config.items()) or "default"))
    for kind in LAYERS for config in CONFIGS
    if ("nonlinearity" not in config or kind == "RNN")
    and ("proj_size" not in config or kind == "LSTM")]


@pytest.mark.parametrize("kind,config", LAYER_CASES)
def test_layer_matches_torch(kind, config):
    torch = pytest.importorskip("torch")
    config = dict(config)
    rng = np.random.default_rng(7)
    L, N, H_in, H = 4, 3, 3, 5
    unbatched = config.pop("unbatched", False)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = _torch_pair(torch, LAYERS[kind], getattr(torch.nn, kind), H_in, H,
                                   **config)
    ours.eval()
    theirs.eval()
    D = 2 if config.get("bidirectional") else 1
    layers = config.get("num_layers", 1)
    batch = () if unbatched else (N,)
    x_shape = (batch + (L, H_in) if config.get("batch_first") else (L,) + batch + (H_in,))
    state_shapes = [(D * layers,) + batch + (config.get("proj_size") or H,)]
    if kind == "LSTM":
        state_shapes.append((D * layers,) + batch + (H,))
    x = rng.standard_normal(x_shape)
    states = [rng.standard_normal(s) for s in state_shapes]

    def call(model, x, *hx):
        out, h = model(x, (tuple(hx) if kind == "LSTM" else hx[0]) if hx else None)
        return (out, *h) if kind == "LSTM" else (out, h)

    _compare(torch, ours, theirs, call, [x, *states], rng)
    _compare(torch, ours, theirs, call, [x], rng)                        # zero initial states


@pytest.mark.parametrize("kind,config", [("RNN", {}), ("RNN", dict(nonlinearity="relu")),
                                         ("LSTM", {}), ("GRU", {}), ("GRU", dict(bias=False))])
@pytest.mark.parametrize("batched", [True, False])
def test_cell_matches_torch(kind, config, batched):
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(8)
    ours, theirs = _torch_pair(torch, CELLS[kind], getattr(torch.nn, kind + "Cell"), 3, 4,
                               **config)
    batch = (2,) if batched else ()
    arrays = [rng.standard_normal(batch + (3,))] + [
        rng.standard_normal(batch + (4,)) for _ in range(2 if kind == "LSTM" else 1)]

    def call(model, x, *hx):
        y = model(x, (tuple(hx) if kind == "LSTM" else hx[0]) if hx else None)
        return tuple(y) if kind == "LSTM" else (y,)

    _compare(torch, ours, theirs, call, arrays, rng)
    _compare(torch, ours, theirs, call, arrays[:1], rng)                 # hx = zeros


def test_pad_sequence(device):
    """Lengths 3 and 1 padded to 3 with the value given, (L, B, *) or batch-first, on the
    right or the left; gradients reach every sequence; the PyTorch path works."""
    from minigrad.nn.rnn import pad_sequence
    from minigrad.nn.utils import rnn

    a = _t(np.arange(6.0).reshape(3, 2), device)
    b = _t([[7.0, 8.0]], device)
    out = pad_sequence([a, b], padding_value=-1.0)
    assert out.shape == (3, 2, 2)
    assert out.cpu().numpy()[:, 1].tolist() == [[7.0, 8.0], [-1.0, -1.0], [-1.0, -1.0]]
    left = rnn.pad_sequence([a, b], batch_first=True, padding_side="left")
    assert left.cpu().numpy()[1].tolist() == [[0.0, 0.0], [0.0, 0.0], [7.0, 8.0]]
    assert mg.gradcheck(lambda a, b: pad_sequence([a, b], batch_first=True), (a, b))
    with pytest.raises(ValueError, match="trailing shape"):
        pad_sequence([a, mg.ones(2, 3, device=device)])
    with pytest.raises(ValueError, match="at least one sequence"):
        pad_sequence([])
    with pytest.raises(ValueError, match="padding_side"):
        pad_sequence([a], padding_side="middle")


def test_pad_sequence_matches_torch():
    torch = pytest.importorskip("torch")
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal((n, 3)) for n in (4, 1, 3)]
    for kwargs in (dict(), dict(batch_first=True, padding_value=2.5),
                   dict(padding_side="left")):
        from minigrad.nn.rnn import pad_sequence

        ours = pad_sequence([mg.tensor(a) for a in arrays], **kwargs)
        theirs = torch.nn.utils.rnn.pad_sequence([torch.tensor(a) for a in arrays], **kwargs)
        assert np.array_equal(ours.numpy(), theirs.numpy())
