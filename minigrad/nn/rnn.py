r"""Recurrent layers: PyTorch's ``nn.RNN``, ``nn.LSTM``, ``nn.GRU`` and their one-step cells
``nn.RNNCell``, ``nn.LSTMCell``, ``nn.GRUCell``.

.. code-block:: text

    input : x (L, N, H_in) (batch_first: (N, L, H_in); unbatched: (L, H_in)),
            h_0 (D·num_layers, N, H_out) (LSTM: and c_0 (D·num_layers, N, H)), zeros when
            not given; D = 2 if bidirectional else 1; H_out = proj_size or H
    for layer k = 0 … num_layers − 1:
        for direction d = forward (, reverse):
            G ← X W_ihᵀ + b_ih                   all L time steps in one matmul
            h ← h_0[D·k + d]  (LSTM: c ← c_0[D·k + d])
            for t = 1 … L   (reverse: t = L … 1)
                h ← step(G_t, h)                 the cell's equations, below
                Y_d[t] ← h
            h_n[D·k + d] ← h  (LSTM: c_n[D·k + d] ← c)
        X ← [Y_forward, Y_reverse]               concatenated on the last dim (L, N, D·H_out)
        X ← dropout(X)   in training, for every layer but the last
    return output X, h_n (LSTM: (h_n, c_n))

    RNN : h' = act(W_ih x + b_ih + W_hh h + b_hh)               act = tanh or relu
    LSTM: i, f, g, o = the 4 chunks of H rows of W_ih x + b_ih + W_hh h + b_hh
          c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
          h' = σ(o) ⊙ tanh(c')       (proj_size > 0: h' = W_hr (σ(o) ⊙ tanh(c')))
    GRU : (r, z, n) the 3 chunks of H rows of each projection, W_ih x + b_ih and W_hh h + b_hh
          r = σ(W_ir x + b_ir + W_hr h + b_hr)
          z = σ(W_iz x + b_iz + W_hz h + b_hz)
          n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn))
          h' = (1 − z) ⊙ n + z ⊙ h

(GRU's W_hr is the reset rows of ``weight_hh``; LSTM's ``weight_hr`` is the projection.)
The cells are one step of the same equations, with G = W_ih x + b_ih for one x.

The parameters are PyTorch's, by name, shape and order: per layer k and direction,
``weight_ih_l{k}`` (G·H, H_in or D·H_out), ``weight_hh_l{k}`` (G·H, H_out), ``bias_ih_l{k}``
and ``bias_hh_l{k}`` (G·H,), and with proj_size ``weight_hr_l{k}`` (proj_size, H), each
with the suffix ``_reverse`` for the reverse direction (G = 1, 4, 3 for RNN, LSTM, GRU),
so a PyTorch ``state_dict`` loads; every one is drawn from U(−1/√H, 1/√H), as PyTorch's.
Every derivative comes from the tensor ops: backpropagation through time is the backward
pass of the unrolled graph.

Notes
-----
* Variable-length batches: a :class:`PackedSequence` (from :func:`pack_padded_sequence`
  or :func:`pack_sequence`) runs each sequence for its own length only: at step t the
  first ``batch_sizes[t]`` rows (sorted by decreasing length) advance and the others keep
  their state, so ``h_n`` holds each sequence's state after its last element (after its
  first, in reverse), and the output is packed too (:func:`pad_packed_sequence`).
* The dropout masks between layers come from minigrad's generator (``mg.manual_seed``),
  so in training the outputs differ from PyTorch's for the same seed; in evaluation (no
  dropout) they agree.
* Errors are ``ValueError``/``TypeError`` where PyTorch raises ``RuntimeError`` (wrong
  sizes, dtypes). A bad ``nonlinearity`` of ``RNNCell`` is refused when the cell is built
  (PyTorch: at the first call); an LSTM's ``hx`` must be a pair ``(h_0, c_0)`` (PyTorch
  unpacks a single tensor along its first dim); sizes must be positive integers (PyTorch
  accepts ``input_size=0``).
* Cost: each step reads its rows of the projection of all steps; the backward adds the
  gradients of those slices into one array (autograd's ``SliceGrad``), so it stays linear
  in L: LSTM(32, 64), N = 16, on a CPU, backward 1.6× the forward's time from L = 50 to
  L = 800 (9.5× at L = 800 when every slice's gradient was a whole array).
"""
from __future__ import annotations

import math
import numbers
import warnings
from collections import namedtuple

from .. import creation
from ..ops.shape import cat, stack
from ..tensor import Tensor
from . import init
from .dropout import _check_p, dropout
from .linear import linear
from .module import Module, Parameter

__all__ = ["RNNCellBase", "RNNCell", "LSTMCell", "GRUCell", "RNNBase", "RNN", "LSTM", "GRU",
           "pad_sequence", "PackedSequence", "pack_padded_sequence", "pad_packed_sequence",
           "pack_sequence"]


# --------------------------------------------------------------------------- the steps
# step(G_t, state, W_hh, b_hh, W_hr) -> state'; G_t = W_ih x_t + b_ih; state = (h,) or
# (h, c); h' = state'[0].

def _rnn_tanh_step(gi, state, w_hh, b_hh, w_hr=None):
    (h,) = state
    return ((gi + linear(h, w_hh, b_hh)).tanh(),)     # h' = tanh(G + W_hh h + b_hh)


def _rnn_relu_step(gi, state, w_hh, b_hh, w_hr=None):
    (h,) = state
    return ((gi + linear(h, w_hh, b_hh)).relu(),)     # h' = relu(G + W_hh h + b_hh)


def _lstm_step(gi, state, w_hh, b_hh, w_hr=None):
    h, c = state
    i, f, g, o = (gi + linear(h, w_hh, b_hh)).chunk(4, -1)
    c = f.sigmoid() * c + i.sigmoid() * g.tanh()      # c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g)
    h = o.sigmoid() * c.tanh()                        # h' = σ(o) ⊙ tanh(c')
    if w_hr is not None:
        h = linear(h, w_hr)                           # h' = W_hr (σ(o) ⊙ tanh(c'))
    return h, c


def _gru_step(gi, state, w_hh, b_hh, w_hr=None):
    (h,) = state
    i_r, i_z, i_n = gi.chunk(3, -1)                   # W_i· x + b_i·
    h_r, h_z, h_n = linear(h, w_hh, b_hh).chunk(3, -1)  # W_h· h + b_h·
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()                        # n = tanh(i_n + r ⊙ (W_hn h + b_hn))
    return ((1 - z) * n + z * h,)                     # h' = (1 − z) ⊙ n + z ⊙ h


#: mode -> (gates G, number of states, step)
_MODES = {"RNN_TANH": (1, 1, _rnn_tanh_step), "RNN_RELU": (1, 1, _rnn_relu_step),
          "LSTM": (4, 2, _lstm_step), "GRU": (3, 1, _gru_step)}


def _rnn_mode(nonlinearity):
    if nonlinearity == "tanh":
        return "RNN_TANH"
    if nonlinearity == "relu":
        return "RNN_RELU"
    raise ValueError(f"Unknown nonlinearity {nonlinearity!r}. Select from 'tanh' or 'relu'.")


# --------------------------------------------------------------------------- helpers
def _check_size(value, what, owner):
    if not isinstance(value, numbers.Integral) or isinstance(value, bool):
        raise TypeError(f"{owner}: {what} should be of type int, got: {type(value).__name__}")
    if value <= 0:
        raise ValueError(f"{owner}: {what} must be greater than zero, got {value}")
    return int(value)


def _add_weights(module, suffix, gates, input_size, hidden_size, recurrent_size, bias,
                 proj_size, kw):
    """Register one cell's parameters in PyTorch's order: weight_ih, weight_hh, bias_ih,
    bias_hh, weight_hr (names with ``suffix``); returns the names, None for the absent."""
    shapes = {"weight_ih": (gates * hidden_size, input_size),
              "weight_hh": (gates * hidden_size, recurrent_size),
              "bias_ih": (gates * hidden_size,) if bias else None,
              "bias_hh": (gates * hidden_size,) if bias else None,
              "weight_hr": (proj_size, hidden_size) if proj_size else None}
    names = []
    for stem, shape in shapes.items():
        if shape is None:
            names.append(None)
            continue
        names.append(stem + suffix)
        setattr(module, stem + suffix, Parameter(creation.empty(*shape, **kw)))
    return tuple(names)


def _reset_uniform(module):
    """PyTorch's init of every recurrent weight and bias: U(−1/√H, 1/√H)."""
    bound = 1.0 / math.sqrt(module.hidden_size)
    for p in module.parameters():
        init.uniform_(p, -bound, bound)


def _check_state(owner, name, state, expected, input):
    if not isinstance(state, Tensor):
        raise TypeError(f"{owner}: {name} must be a Tensor, got {type(state).__name__}")
    if tuple(state.shape) != expected:
        raise ValueError(f"{owner}: expected {name} of shape {expected}, got "
                         f"{tuple(state.shape)}")
    if state.dtype != input.dtype:
        raise TypeError(f"{owner}: {name} has dtype {state.dtype} but the input has "
                        f"{input.dtype}; they must be the same")


def _states(owner, hx, n_states, what):
    """The initial states as a tuple of n_states (None: zeros, made by the caller)."""
    if hx is None:
        return None
    if n_states == 1:
        return (hx,)
    if not isinstance(hx, (tuple, list)) or len(hx) != 2:
        raise TypeError(f"{owner}: hx must be a tuple {what}, got {type(hx).__name__}")
    return tuple(hx)


def _check_input(owner, input, ndims, input_size):
    if not isinstance(input, Tensor):
        raise TypeError(f"{owner}: expected a Tensor input, got {type(input).__name__}")
    if input.ndim not in ndims:
        raise ValueError(f"{owner}: Expected input to be {ndims[0]}D or {ndims[1]}D, got "
                         f"{input.ndim}D instead")
    if input.shape[-1] != input_size:
        raise ValueError(f"{owner}: input.size(-1) must be equal to input_size. Expected "
                         f"{input_size}, got {input.shape[-1]}")
    return input.ndim == ndims[1]


# --------------------------------------------------------------------------- cells
class RNNCellBase(Module):
    """The parameters and checks of one cell: weight_ih (G·H, H_in), weight_hh (G·H, H),
    bias_ih and bias_hh (G·H,)."""

    _mode = None

    def __init__(self, input_size, hidden_size, bias, mode, device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        self.input_size = _check_size(input_size, "input_size", name)
        self.hidden_size = _check_size(hidden_size, "hidden_size", name)
        self.bias, self._mode = bias, mode
        gates = _MODES[mode][0]
        _add_weights(self, "", gates, self.input_size, self.hidden_size, self.hidden_size,
                     bias, 0, dict(device=device, dtype=dtype))
        if not bias:                             # declared but absent, as PyTorch's cells
            self.register_parameter("bias_ih", None)
            self.register_parameter("bias_hh", None)
        self.reset_parameters()

    def reset_parameters(self):
        _reset_uniform(self)

    def _cell(self, input, state):
        """One step from ``state`` (a tuple of tensors, or None for zeros)."""
        name = type(self).__name__
        batched = _check_input(name, input, (1, 2), self.input_size)
        x = input if batched else input.unsqueeze(0)
        N, n_states = x.shape[0], _MODES[self._mode][1]
        shape = (N, self.hidden_size) if batched else (self.hidden_size,)
        if state is None:
            state = tuple(creation.zeros(N, self.hidden_size, dtype=x.dtype, device=x.device)
                          for _ in range(n_states))
        else:
            for s, what in zip(state, ("hx", "cx")):
                _check_state(name, what, s, shape, input)
            state = state if batched else tuple(s.unsqueeze(0) for s in state)
        step = _MODES[self._mode][2]
        state = step(linear(x, self.weight_ih, self.bias_ih), state, self.weight_hh,
                     self.bias_hh)
        return state if batched else tuple(s.squeeze(0) for s in state)

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if not self.bias:
            s += ", bias=False"
        if self._mode == "RNN_RELU":
            s += ", nonlinearity=relu"
        return s


class RNNCell(RNNCellBase):
    r"""One step of an Elman RNN (PyTorch's ``nn.RNNCell``):
    h' = act(W_ih x + b_ih + W_hh h + b_hh), act = tanh or relu.

    Parameters
    ----------
    input_size, hidden_size : int
    bias : bool, default True
        b_ih and b_hh.
    nonlinearity : {"tanh", "relu"}

    ``forward(input, hx=None)``: input (N, H_in) or (H_in,), hx (N, H) or (H,) (zeros when
    None); returns h' of hx's shape.

    Examples
    --------
    >>> import minigrad as mg
    >>> cell = RNNCell(3, 5)
    >>> cell(mg.randn(2, 3)).shape
    (2, 5)
    """

    def __init__(self, input_size, hidden_size, bias=True, nonlinearity="tanh", device=None,
                 dtype=None):
        super().__init__(input_size, hidden_size, bias, _rnn_mode(nonlinearity), device,
                         dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        return self._cell(input, _states(type(self).__name__, hx, 1, ""))[0]


class LSTMCell(RNNCellBase):
    r"""One step of an LSTM (PyTorch's ``nn.LSTMCell``): gates i, f, g, o from
    W_ih x + b_ih + W_hh h + b_hh, c' = σ(f) ⊙ c + σ(i) ⊙ tanh(g), h' = σ(o) ⊙ tanh(c').

    ``forward(input, hx=None)``: input (N, H_in) or (H_in,), hx a pair (h, c) of (N, H)
    or (H,) (zeros when None); returns (h', c').

    Examples
    --------
    >>> import minigrad as mg
    >>> h, c = LSTMCell(3, 5)(mg.randn(2, 3))
    >>> h.shape, c.shape
    ((2, 5), (2, 5))
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, "LSTM", device, dtype)

    def forward(self, input, hx=None):
        return self._cell(input, _states(type(self).__name__, hx, 2, "(h_0, c_0)"))


class GRUCell(RNNCellBase):
    r"""One step of a GRU (PyTorch's ``nn.GRUCell``): r, z from σ of the summed
    projections, n = tanh(W_in x + b_in + r ⊙ (W_hn h + b_hn)), h' = (1 − z) ⊙ n + z ⊙ h.

    ``forward(input, hx=None)`` as :class:`RNNCell`'s.

    Examples
    --------
    >>> import minigrad as mg
    >>> GRUCell(3, 5)(mg.randn(3)).shape
    (5,)
    """

    def __init__(self, input_size, hidden_size, bias=True, device=None, dtype=None):
        super().__init__(input_size, hidden_size, bias, "GRU", device, dtype)

    def forward(self, input, hx=None):
        return self._cell(input, _states(type(self).__name__, hx, 1, ""))[0]


# --------------------------------------------------------------------------- layers
def _scan(step, x, state, w_ih, w_hh, b_ih, b_hh, w_hr, reverse):
    """One layer in one direction over x (L, N, ·): the outputs (L, N, H_out) and the
    last state (after x[L−1], or after x[0] in reverse)."""
    gi = linear(x, w_ih, b_ih)                   # G = X W_ihᵀ + b_ih for every step at once
    L = x.shape[0]
    ys = [None] * L
    for t in (range(L - 1, -1, -1) if reverse else range(L)):
        state = step(gi[t], state, w_hh, b_hh, w_hr)
        ys[t] = state[0]
    return stack(ys, 0), state


def _scan_packed(step, x, batch_sizes, state, w_ih, w_hh, b_ih, b_hh, w_hr, reverse):
    """:func:`_scan` over packed data x (Σ lengths, ·): at step t only the first
    ``batch_sizes[t]`` rows advance, the others keep their state (ended sequences their
    last one; in reverse, sequences not yet started their initial one). Returns the packed
    outputs and the final state."""
    gi = linear(x, w_ih, b_ih)
    offsets = [0]
    for b in batch_sizes:
        offsets.append(offsets[-1] + b)
    ys = [None] * len(batch_sizes)
    for t in (range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))):
        b = batch_sizes[t]
        active = step(gi[offsets[t]:offsets[t + 1]], tuple(s[:b] for s in state),
                      w_hh, b_hh, w_hr)
        state = tuple(a if a.shape[0] == s.shape[0] else cat([a, s[b:]], 0)
                      for a, s in zip(active, state))
        ys[t] = active[0]
    return cat(ys, 0), state


class RNNBase(Module):
    """The multi-layer, optionally bidirectional recurrence shared by RNN, LSTM and GRU
    (see the module docstring); subclasses choose the mode and the form of hx."""

    def __init__(self, mode, input_size, hidden_size, num_layers=1, bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, proj_size=0,
                 device=None, dtype=None):
        super().__init__()
        name = type(self).__name__
        if mode not in _MODES:
            raise ValueError(f"{name}: unrecognized RNN mode {mode!r}; one of "
                             f"{sorted(_MODES)}")
        self.mode = mode
        self.input_size = _check_size(input_size, "input_size", name)
        self.hidden_size = _check_size(hidden_size, "hidden_size", name)
        self.num_layers = _check_size(num_layers, "num_layers", name)
        self.dropout = _check_p(dropout, name)
        if self.dropout > 0 and self.num_layers == 1:
            warnings.warn("dropout option adds dropout after all but last recurrent layer, "
                          "so non-zero dropout expects num_layers greater than 1, but got "
                          f"dropout={dropout} and num_layers={num_layers}", stacklevel=3)
        if not isinstance(proj_size, numbers.Integral) or isinstance(proj_size, bool) \
                or proj_size < 0:
            raise ValueError(f"{name}: proj_size should be a positive integer or zero to "
                             f"disable projections, got {proj_size!r}")
        if proj_size >= self.hidden_size:
            raise ValueError(f"{name}: proj_size has to be smaller than hidden_size, got "
                             f"proj_size={proj_size} and hidden_size={hidden_size}")
        self.bias, self.batch_first = bias, batch_first
        self.bidirectional, self.proj_size = bidirectional, int(proj_size)
        D = 2 if bidirectional else 1
        out_size = self.proj_size or self.hidden_size
        kw = dict(device=device, dtype=dtype)
        self._all_weights = []                   # per layer and direction, PyTorch's order
        for k in range(self.num_layers):
            layer_input = self.input_size if k == 0 else D * out_size
            for d in range(D):
                suffix = f"_l{k}" + ("_reverse" if d else "")
                self._all_weights.append(_add_weights(
                    self, suffix, _MODES[mode][0], layer_input, self.hidden_size, out_size,
                    bias, self.proj_size, kw))
        self.reset_parameters()

    def reset_parameters(self):
        _reset_uniform(self)

    def flatten_parameters(self):
        """PyTorch's cuDNN weight packing: nothing to do here (kept so that code calling
        it runs)."""

    @property
    def all_weights(self):
        """The parameters of each layer and direction, as PyTorch's ``all_weights``."""
        return [[getattr(self, n) for n in names if n is not None]
                for names in self._all_weights]

    def _initial(self, hx, x, N, batched, order=None):
        """The initial states per layer and direction: a list of tuples (h,) or (h, c);
        ``order`` (a packed batch's sorted_indices) permutes the batch like the input."""
        name = type(self).__name__
        D = 2 if self.bidirectional else 1
        n_states = _MODES[self.mode][1]
        sizes = (self.proj_size or self.hidden_size, self.hidden_size)[:n_states]
        if hx is None:
            hx = [creation.zeros(D * self.num_layers, N, size, dtype=x.dtype,
                                 device=x.device) for size in sizes]
        else:
            for s, what, size in zip(hx, ("h_0", "c_0"), sizes):
                expected = (D * self.num_layers, N, size) if batched else \
                    (D * self.num_layers, size)
                _check_state(name, what, s, expected, x)
            hx = hx if batched else [s.unsqueeze(1) for s in hx]
            if order is not None:
                hx = [s.index_select(1, order) for s in hx]
        return [tuple(s[j] for s in hx) for j in range(D * self.num_layers)]

    def _run(self, input, hx):
        """(output, [h_n] or [h_n, c_n]) for the input (a tensor or a PackedSequence) and
        the initial states hx (a tuple, or None)."""
        name = type(self).__name__
        packed = isinstance(input, PackedSequence)
        if packed:
            _check_input(name, input.data, (2, 2), self.input_size)
            x, batched = input.data, True
            sizes = [int(b) for b in input.batch_sizes.tolist()]
            order = input.sorted_indices
            states = self._initial(hx, x, sizes[0], True, order)
        else:
            batched = _check_input(name, input, (2, 3), self.input_size)
            x = input if batched else input.unsqueeze(1)
            if batched and self.batch_first:
                x = x.transpose(0, 1)                # (N, L, H_in) -> (L, N, H_in)
            if x.shape[0] == 0:
                raise ValueError(f"{name}: Expected sequence length to be larger than 0")
            states = self._initial(hx, x, x.shape[1], batched)
        step = _MODES[self.mode][2]
        D = 2 if self.bidirectional else 1
        finals = []
        for k in range(self.num_layers):
            ys = []
            for d in range(D):
                j = D * k + d
                weights = [None if n is None else getattr(self, n)
                           for n in self._all_weights[j]]
                if packed:
                    y, state = _scan_packed(step, x, sizes, states[j], *weights,
                                            reverse=d == 1)
                else:
                    y, state = _scan(step, x, states[j], *weights, reverse=d == 1)
                ys.append(y)
                finals.append(state)
            x = ys[0] if D == 1 else cat(ys, -1)  # [forward, reverse] on the features
            if self.training and self.dropout > 0 and k < self.num_layers - 1:
                x = dropout(x, self.dropout)
        last = [stack([s[i] for s in finals], 0) for i in range(len(finals[0]))]
        if packed:
            if input.unsorted_indices is not None:  # h_n back in the caller's batch order
                last = [s.index_select(1, input.unsorted_indices) for s in last]
            return input._replace(data=x), last
        if batched and self.batch_first:
            x = x.transpose(0, 1)
        if not batched:
            x, last = x.squeeze(1), [s.squeeze(1) for s in last]
        return x, last

    def extra_repr(self):
        s = f"{self.input_size}, {self.hidden_size}"
        if self.proj_size:
            s += f", proj_size={self.proj_size}"
        if self.num_layers != 1:
            s += f", num_layers={self.num_layers}"
        if not self.bias:
            s += ", bias=False"
        if self.batch_first:
            s += ", batch_first=True"
        if self.dropout:
            s += f", dropout={self.dropout}"
        if self.bidirectional:
            s += ", bidirectional=True"
        return s


class RNN(RNNBase):
    r"""A multi-layer Elman RNN (PyTorch's ``nn.RNN``):
    h_t = act(W_ih x_t + b_ih + W_hh h_{t−1} + b_hh), act = tanh or relu.

    Parameters
    ----------
    input_size, hidden_size : int
    num_layers : int, default 1
    nonlinearity : {"tanh", "relu"}
    bias : bool, default True
    batch_first : bool, default False
        input and output (N, L, ·) instead of (L, N, ·); never h_0/h_n.
    dropout : float in [0, 1], default 0
        Dropout on the outputs of every layer but the last, in training.
    bidirectional : bool, default False

    ``forward(input, hx=None)``: input (L, N, H_in) (or (L, H_in)), hx = h_0
    (D·num_layers, N, H) (or (D·num_layers, H)); returns (output (L, N, D·H), h_n).

    Examples
    --------
    >>> import minigrad as mg
    >>> rnn = RNN(3, 5, num_layers=2, bidirectional=True)
    >>> output, h_n = rnn(mg.randn(7, 2, 3))
    >>> output.shape, h_n.shape
    ((7, 2, 10), (4, 2, 5))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, nonlinearity="tanh", bias=True,
                 batch_first=False, dropout=0.0, bidirectional=False, device=None,
                 dtype=None):
        super().__init__(_rnn_mode(nonlinearity), input_size, hidden_size, num_layers, bias,
                         batch_first, dropout, bidirectional, 0, device, dtype)
        self.nonlinearity = nonlinearity

    def forward(self, input, hx=None):
        output, (h_n,) = self._run(input, _states(type(self).__name__, hx, 1, ""))
        return output, h_n


class LSTM(RNNBase):
    r"""A multi-layer LSTM (Hochreiter & Schmidhuber 1997; PyTorch's ``nn.LSTM``), with
    optional projections (Sak et al. 2014): h_t = W_hr (σ(o) ⊙ tanh(c_t)).

    Parameters as :class:`RNN`'s (no nonlinearity), and

    proj_size : int, default 0
        0 < proj_size < hidden_size: project h to proj_size (``weight_hr_l{k}``).

    ``forward(input, hx=None)``: hx = (h_0, c_0), h_0 (D·num_layers, N, H_out), c_0
    (D·num_layers, N, H); returns (output (L, N, D·H_out), (h_n, c_n)).

    Examples
    --------
    >>> import minigrad as mg
    >>> lstm = LSTM(3, 5, proj_size=2)
    >>> output, (h_n, c_n) = lstm(mg.randn(7, 2, 3))
    >>> output.shape, h_n.shape, c_n.shape
    ((7, 2, 2), (1, 2, 2), (1, 2, 5))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, proj_size=0, device=None, dtype=None):
        super().__init__("LSTM", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, proj_size, device, dtype)

    def forward(self, input, hx=None):
        output, (h_n, c_n) = self._run(input, _states(type(self).__name__, hx, 2,
                                                      "(h_0, c_0)"))
        return output, (h_n, c_n)


class GRU(RNNBase):
    r"""A multi-layer GRU (Cho et al. 2014; PyTorch's ``nn.GRU``).

    Parameters and ``forward(input, hx=None)`` as :class:`RNN`'s (no nonlinearity).

    Examples
    --------
    >>> import minigrad as mg
    >>> output, h_n = GRU(3, 5, batch_first=True)(mg.randn(2, 7, 3))
    >>> output.shape, h_n.shape
    ((2, 7, 5), (1, 2, 5))
    """

    def __init__(self, input_size, hidden_size, num_layers=1, bias=True, batch_first=False,
                 dropout=0.0, bidirectional=False, device=None, dtype=None):
        super().__init__("GRU", input_size, hidden_size, num_layers, bias, batch_first,
                         dropout, bidirectional, 0, device, dtype)

    def forward(self, input, hx=None):
        output, (h_n,) = self._run(input, _states(type(self).__name__, hx, 1, ""))
        return output, h_n


def pad_sequence(sequences, batch_first=False, padding_value=0.0, padding_side="right"):
    """Variable-length sequences (L_i, *) padded with ``padding_value`` to the longest and
    stacked: (L_max, B, *), or (B, L_max, *) with ``batch_first`` (PyTorch's
    ``nn.utils.rnn.pad_sequence``; also ``minigrad.nn.utils.rnn.pad_sequence``).
    Differentiable in every sequence; ``padding_side="left"`` pads before the data.

    >>> import minigrad as mg
    >>> pad_sequence([mg.tensor([1.0, 2.0]), mg.tensor([3.0])], batch_first=True).tolist()
    [[1.0, 2.0], [3.0, 0.0]]
    """
    from .functional import pad

    sequences = list(sequences)
    if not sequences:
        raise ValueError("pad_sequence: expected at least one sequence")
    if padding_side not in ("right", "left"):
        raise ValueError(f"pad_sequence: padding_side must be 'right' or 'left', got "
                         f"{padding_side!r}")
    rest = sequences[0].shape[1:]
    for i, seq in enumerate(sequences):
        if not isinstance(seq, Tensor) or seq.ndim < 1 or seq.shape[1:] != rest:
            raise ValueError(f"pad_sequence: every sequence must be a Tensor (L, *) with the "
                             f"trailing shape {rest} of the first, sequence {i} has shape "
                             f"{getattr(seq, 'shape', type(seq).__name__)}")
    longest = max(seq.shape[0] for seq in sequences)
    padded = []
    for seq in sequences:
        missing = longest - seq.shape[0]
        if missing:
            before, after = (0, missing) if padding_side == "right" else (missing, 0)
            seq = pad(seq, (0, 0) * len(rest) + (before, after), value=padding_value)
        padded.append(seq)
    return stack(padded, 0 if batch_first else 1)


class PackedSequence(namedtuple("PackedSequence",
                                ["data", "batch_sizes", "sorted_indices", "unsorted_indices"])):
    """A batch of variable-length sequences packed time step by time step (PyTorch's
    ``nn.utils.rnn.PackedSequence``): with the sequences sorted by decreasing length,
    ``data`` (Σ lengths, *) holds step 0 of every sequence, then step 1 of those at least
    2 long, and so on; ``batch_sizes[t]`` (int64, on the CPU) counts the sequences at
    step t. ``sorted_indices``/``unsorted_indices`` map between the caller's batch order
    and the sorted one (None when the input was already sorted). Build one with
    :func:`pack_padded_sequence` or :func:`pack_sequence`; the recurrent layers take it
    and return one."""

    def to(self, *args, **kwargs):
        """The same sequence with ``data`` moved/cast (the indices follow the device;
        ``batch_sizes`` stays on the CPU, as in PyTorch)."""
        data = self.data.to(*args, **kwargs)
        move = (lambda t: None if t is None else t.to(device=data.device))
        return self._replace(data=data, sorted_indices=move(self.sorted_indices),
                             unsorted_indices=move(self.unsorted_indices))

    def cpu(self):
        return self.to("cpu")

    def cuda(self):
        return self.to("cuda")

    @property
    def is_cuda(self):
        return self.data.device == "cuda"


def _lengths(lengths, batch):
    import numpy as np

    data = lengths.tolist() if isinstance(lengths, Tensor) else list(lengths)
    arr = np.asarray(data)
    if arr.ndim != 1 or arr.shape[0] != batch or (arr.size and arr.dtype.kind not in "iu"):
        raise ValueError(f"pack_padded_sequence: lengths must be {batch} integers (one per "
                         f"sequence of the batch), got {data!r}")
    return arr.astype(np.int64)


def pack_padded_sequence(input, lengths, batch_first=False, enforce_sorted=True):
    """Pack a padded batch (L, B, *) (``batch_first``: (B, L, *)) whose sequence b has
    ``lengths[b]`` valid steps. With ``enforce_sorted`` the lengths must decrease;
    otherwise the batch is sorted here and the order kept in the result. Differentiable
    in ``input`` (the padding gets gradient 0).

    >>> import minigrad as mg
    >>> x = mg.tensor([[1.0, 2.0, 3.0], [4.0, 5.0, 0.0]])            # (B, L), padded
    >>> p = pack_padded_sequence(x, [3, 2], batch_first=True)
    >>> p.data.tolist(), p.batch_sizes.tolist()
    ([1.0, 4.0, 2.0, 5.0, 3.0], [2, 2, 1])
    """
    import numpy as np

    if not isinstance(input, Tensor) or input.ndim < 2:
        raise ValueError("pack_padded_sequence: input must be a Tensor (L, B, *) or, with "
                         "batch_first, (B, L, *)")
    x = input.transpose(0, 1) if batch_first else input
    L, B = x.shape[0], x.shape[1]
    n = _lengths(lengths, B)
    if B and (n.min() <= 0 or n.max() > L):
        raise ValueError(f"pack_padded_sequence: every length must be in [1, {L}] (the "
                         f"padded length), got {n.tolist()}")
    sorted_indices = unsorted_indices = None
    if enforce_sorted:
        if (np.diff(n) > 0).any():
            raise ValueError(f"pack_padded_sequence: lengths {n.tolist()} are not sorted in "
                             "decreasing order; sort the batch or pass enforce_sorted=False")
    else:
        order = np.argsort(-n, kind="stable")
        n = n[order]
        x = x.index_select(1, order)
        sorted_indices = creation.tensor(order, device=input.device)
        unsorted_indices = invert_permutation(sorted_indices)
    steps = int(n[0]) if B else 0
    batch_sizes = np.array([(n > t).sum() for t in range(steps)], dtype=np.int64)
    data = cat([x[t, :int(b)] for t, b in enumerate(batch_sizes)], 0)
    return PackedSequence(data, creation.tensor(batch_sizes), sorted_indices,
                          unsorted_indices)


def pad_packed_sequence(sequence, batch_first=False, padding_value=0.0, total_length=None):
    """The inverse of :func:`pack_padded_sequence`: ``(padded, lengths)``, padded (T, B, *)
    (``batch_first``: (B, T, *)) in the caller's batch order, T the longest length or
    ``total_length``; lengths int64 on the CPU. Differentiable in ``sequence.data``.

    >>> import minigrad as mg
    >>> p = pack_sequence([mg.tensor([1.0, 2.0]), mg.tensor([3.0])])
    >>> padded, lengths = pad_packed_sequence(p, batch_first=True)
    >>> padded.tolist(), lengths.tolist()
    ([[1.0, 2.0], [3.0, 0.0]], [2, 1])
    """
    import numpy as np

    from .functional import pad

    if not isinstance(sequence, PackedSequence):
        raise TypeError(f"pad_packed_sequence: expected a PackedSequence, got "
                        f"{type(sequence).__name__}")
    sizes = [int(b) for b in sequence.batch_sizes.tolist()]
    data = sequence.data
    B, T = (sizes[0] if sizes else 0), len(sizes)
    if total_length is not None:
        if total_length < T:
            raise ValueError(f"pad_packed_sequence: total_length {total_length} is shorter "
                             f"than the longest sequence ({T})")
        T = total_length
    rest = data.shape[1:]
    rows, offset = [], 0
    for b in sizes:
        step = data[offset:offset + b]
        offset += b
        if b < B:
            step = pad(step, (0, 0) * len(rest) + (0, B - b), value=padding_value)
        rows.append(step)
    for _ in range(T - len(sizes)):
        rows.append(creation.full((B,) + tuple(rest), padding_value, dtype=data.dtype,
                                  device=data.device))
    padded = stack(rows, 0)
    lengths = np.array([sum(1 for b in sizes if b > i) for i in range(B)], dtype=np.int64)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(1, sequence.unsorted_indices)
        lengths = lengths[np.asarray(sequence.unsorted_indices.tolist(), dtype=np.int64)]
    if batch_first:
        padded = padded.transpose(0, 1)
    return padded, creation.tensor(lengths)


def pack_sequence(sequences, enforce_sorted=True):
    """Pack a list of sequences (L_i, *) directly (:func:`pad_sequence`, then
    :func:`pack_padded_sequence`).

    >>> import minigrad as mg
    >>> pack_sequence([mg.tensor([1.0]), mg.tensor([2.0, 3.0])],
    ...               enforce_sorted=False).batch_sizes.tolist()
    [2, 1]
    """
    sequences = list(sequences)
    lengths = [s.shape[0] if isinstance(s, Tensor) and s.ndim else 0 for s in sequences]
    return pack_padded_sequence(pad_sequence(sequences), lengths,
                                enforce_sorted=enforce_sorted)


def unpad_sequence(padded_sequences, lengths, batch_first=False):
    """The inverse of :func:`pad_sequence`: the list of the sequences, each cut to its
    length (views of the padded tensor, differentiable).

    >>> import minigrad as mg
    >>> padded = mg.tensor([[1.0, 4.0], [2.0, 0.0], [3.0, 0.0]])       # (L, B)
    >>> [s.tolist() for s in unpad_sequence(padded, [3, 1])]
    [[1.0, 2.0, 3.0], [4.0]]
    """
    x = padded_sequences if batch_first else padded_sequences.transpose(0, 1)
    lengths = [int(n) for n in (lengths.tolist() if isinstance(lengths, Tensor) else lengths)]
    if len(lengths) != x.shape[0]:
        raise ValueError(f"unpad_sequence: {len(lengths)} lengths for a batch of "
                         f"{x.shape[0]} sequences")
    if any(n < 0 or n > x.shape[1] for n in lengths):
        raise ValueError(f"unpad_sequence: lengths must lie in [0, {x.shape[1]}], got "
                         f"{lengths}")
    return [x[i, :n] for i, n in enumerate(lengths)]


def unpack_sequence(packed_sequences):
    """The inverse of :func:`pack_sequence`: the list of the sequences, in their original
    order.

    >>> import minigrad as mg
    >>> packed = pack_sequence([mg.tensor([1.0]), mg.tensor([2.0, 3.0])],
    ...                        enforce_sorted=False)
    >>> [s.tolist() for s in unpack_sequence(packed)]
    [[1.0], [2.0, 3.0]]
    """
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)


def invert_permutation(permutation):
    """The permutation that undoes ``permutation`` (None stays None)."""
    if permutation is None:
        return None
    xp = permutation.xp
    inverse = xp.empty_like(permutation.data)
    inverse[permutation.data] = xp.arange(permutation.shape[0], dtype=inverse.dtype)
    return Tensor(inverse)
