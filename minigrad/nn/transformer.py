r"""Transformer layers (Vaswani et al. 2017), PyTorch's ``nn.TransformerEncoderLayer``,
``nn.TransformerDecoderLayer``, ``nn.TransformerEncoder``, ``nn.TransformerDecoder`` and
the whole encoder-decoder ``nn.Transformer``.

.. code-block:: text

    encoder layer, post-norm (norm_first=False, the paper's):
        x ← norm1(x + dropout1(self_attn(x, x, x)))
        x ← norm2(x + dropout2(linear2(dropout(act(linear1(x))))))
    pre-norm (norm_first=True):
        x ← x + dropout1(self_attn(norm1(x)))
        x ← x + dropout2(linear2(dropout(act(linear1(norm2(x))))))
    decoder layer: the same with a cross-attention block between the two,
        x ← norm2(x + dropout2(multihead_attn(x, memory, memory)))   (and norm3 for the
        feed-forward block)

Sub-module names, defaults and initialization are PyTorch's (``self_attn``,
``multihead_attn``, ``linear1``, ``linear2``, ``norm1``..``norm3``, ``dropout``,
``dropout1``..``dropout3``; d_ff 2048, dropout 0.1, ReLU, LayerNorm ε 1e-5), so a PyTorch
``state_dict`` loads. The stacks deep-copy the given layer ``num_layers`` times, as
PyTorch does (each copy has its own parameters: ``layers.0...``, ``layers.1...``).

Notes
-----
* Masks follow ``nn.MultiheadAttention``: a bool mask is True where attention is *not*
  allowed; ``*_is_causal`` are PyTorch's hints that the mask given is causal.
* PyTorch's nested-tensor fast path (``enable_nested_tensor``) is an implementation detail
  with the same results; the argument is accepted and ignored.

References
----------
A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017 (§3.1, Figure 1); R. Xiong
et al., "On Layer Normalization in the Transformer Architecture", ICML 2020 (pre-norm).
"""
from __future__ import annotations

import copy

from . import functional as F
from .dropout import Dropout
from .linear import Linear
from .module import Module, ModuleList
from .multihead import MultiheadAttention
from .normalization import LayerNorm

__all__ = ["TransformerEncoderLayer", "TransformerDecoderLayer", "TransformerEncoder",
           "TransformerDecoder", "Transformer"]

_ACTIVATIONS = {"relu": F.relu, "gelu": F.gelu}


def _activation(activation, who):
    if isinstance(activation, str):
        if activation not in _ACTIVATIONS:
            raise ValueError(f"{who}: activation should be 'relu' or 'gelu' (or a callable), "
                             f"got {activation!r}")
        return _ACTIVATIONS[activation]
    if not callable(activation):
        raise TypeError(f"{who}: activation must be 'relu', 'gelu' or a callable, got "
                        f"{type(activation).__name__}")
    return activation


class _Layer(Module):
    """What the encoder and decoder layers share: their parts (in PyTorch's order, so the
    state dicts list the same keys) and the feed-forward block."""

    def _build(self, d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
               batch_first, norm_first, bias, device, dtype, cross):
        who = type(self).__name__
        if d_model <= 0 or nhead <= 0 or dim_feedforward <= 0:
            raise ValueError(f"{who}: d_model, nhead and dim_feedforward must be positive, "
                             f"got {d_model}, {nhead}, {dim_feedforward}")
        kw = dict(device=device, dtype=dtype)

        def attention():
            return MultiheadAttention(d_model, nhead, dropout=dropout, bias=bias,
                                      batch_first=batch_first, **kw)

        self.self_attn = attention()
        if cross:
            self.multihead_attn = attention()
        self.activation = _activation(activation, who)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, **kw)
        self.dropout = Dropout(dropout)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, **kw)
        self.norm_first = norm_first
        blocks = 3 if cross else 2
        for i in range(1, blocks + 1):
            setattr(self, f"norm{i}", LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        for i in range(1, blocks + 1):
            setattr(self, f"dropout{i}", Dropout(dropout))

    def _ff_block(self, x):
        return self.linear2(self.dropout(self.activation(self.linear1(x))))

    @staticmethod
    def _attend(attn, x, memory, mask, key_padding_mask, is_causal):
        return attn(x, memory, memory, attn_mask=mask, key_padding_mask=key_padding_mask,
                    need_weights=False, is_causal=is_causal)[0]


class TransformerEncoderLayer(_Layer):
    """Self-attention and a feed-forward block, each with a residual connection and
    LayerNorm (after it by default, before it with ``norm_first``)."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self._build(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                    batch_first, norm_first, bias, device, dtype, cross=False)

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        def sa(x):
            return self.dropout1(self._attend(self.self_attn, x, x, src_mask,
                                              src_key_padding_mask, is_causal))

        x = src
        if self.norm_first:
            x = x + sa(self.norm1(x))
            return x + self.dropout2(self._ff_block(self.norm2(x)))
        x = self.norm1(x + sa(x))
        return self.norm2(x + self.dropout2(self._ff_block(x)))


class TransformerDecoderLayer(_Layer):
    """Self-attention, cross-attention to the encoder's ``memory`` and a feed-forward
    block, each with a residual connection and LayerNorm."""

    def __init__(self, d_model, nhead, dim_feedforward=2048, dropout=0.1, activation="relu",
                 layer_norm_eps=1e-5, batch_first=False, norm_first=False, bias=True,
                 device=None, dtype=None):
        super().__init__()
        self._build(d_model, nhead, dim_feedforward, dropout, activation, layer_norm_eps,
                    batch_first, norm_first, bias, device, dtype, cross=True)

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=False, memory_is_causal=False):
        def sa(x):
            return self.dropout1(self._attend(self.self_attn, x, x, tgt_mask,
                                              tgt_key_padding_mask, tgt_is_causal))

        def ca(x):
            return self.dropout2(self._attend(self.multihead_attn, x, memory, memory_mask,
                                              memory_key_padding_mask, memory_is_causal))

        x = tgt
        if self.norm_first:
            x = x + sa(self.norm1(x))
            x = x + ca(self.norm2(x))
            return x + self.dropout3(self._ff_block(self.norm3(x)))
        x = self.norm1(x + sa(x))
        x = self.norm2(x + ca(x))
        return self.norm3(x + self.dropout3(self._ff_block(x)))


def _clones(layer, num_layers, who):
    if num_layers < 1:
        raise ValueError(f"{who}: num_layers must be at least 1, got {num_layers}")
    return ModuleList([copy.deepcopy(layer) for _ in range(num_layers)])


class TransformerEncoder(Module):
    """``num_layers`` copies of ``encoder_layer`` applied in turn, then ``norm`` if given."""

    def __init__(self, encoder_layer, num_layers, norm=None, enable_nested_tensor=True,
                 mask_check=True):
        super().__init__()
        self.layers = _clones(encoder_layer, num_layers, "TransformerEncoder")
        self.num_layers, self.norm = num_layers, norm

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=None):
        x = src
        for layer in self.layers:
            x = layer(x, src_mask=mask, src_key_padding_mask=src_key_padding_mask,
                      is_causal=bool(is_causal))
        return x if self.norm is None else self.norm(x)


class TransformerDecoder(Module):
    """``num_layers`` copies of ``decoder_layer`` applied in turn, then ``norm`` if given."""

    def __init__(self, decoder_layer, num_layers, norm=None):
        super().__init__()
        self.layers = _clones(decoder_layer, num_layers, "TransformerDecoder")
        self.num_layers, self.norm = num_layers, norm

    def forward(self, tgt, memory, tgt_mask=None, memory_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, tgt_is_causal=None, memory_is_causal=False):
        x = tgt
        for layer in self.layers:
            x = layer(x, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                      tgt_key_padding_mask=tgt_key_padding_mask,
                      memory_key_padding_mask=memory_key_padding_mask,
                      tgt_is_causal=bool(tgt_is_causal), memory_is_causal=memory_is_causal)
        return x if self.norm is None else self.norm(x)


class Transformer(Module):
    r"""The encoder-decoder Transformer of the paper (PyTorch's ``nn.Transformer``):
    ``num_encoder_layers`` encoder layers and ``num_decoder_layers`` decoder layers, each
    stack followed by a LayerNorm; every weight matrix re-initialized Xavier-uniform, as
    PyTorch does.

    .. code-block:: text

        memory = encoder(src, mask=src_mask, src_key_padding_mask)
        out    = decoder(tgt, memory, tgt_mask, memory_mask, tgt_key_padding_mask,
                         memory_key_padding_mask)

    Shapes: ``src`` (S, N, E), ``tgt`` (T, N, E), the output (T, N, E); (N, S, E) and so
    on with ``batch_first``. Embeddings and the output projection are the user's, as in
    PyTorch.

    Examples
    --------
    >>> import minigrad as mg
    >>> model = Transformer(d_model=8, nhead=2, num_encoder_layers=1, num_decoder_layers=1,
    ...                     dim_feedforward=16, dropout=0.0, batch_first=True)
    >>> src, tgt = mg.randn(2, 5, 8), mg.randn(2, 3, 8)
    >>> mask = Transformer.generate_square_subsequent_mask(3)
    >>> model(src, tgt, tgt_mask=mask, tgt_is_causal=True).shape
    (2, 3, 8)
    """

    def __init__(self, d_model=512, nhead=8, num_encoder_layers=6, num_decoder_layers=6,
                 dim_feedforward=2048, dropout=0.1, activation="relu", custom_encoder=None,
                 custom_decoder=None, layer_norm_eps=1e-5, batch_first=False, norm_first=False,
                 bias=True, device=None, dtype=None):
        super().__init__()
        kw = dict(device=device, dtype=dtype)
        layer = dict(d_model=d_model, nhead=nhead, dim_feedforward=dim_feedforward,
                     dropout=dropout, activation=activation, layer_norm_eps=layer_norm_eps,
                     batch_first=batch_first, norm_first=norm_first, bias=bias, **kw)
        if custom_encoder is not None:
            self.encoder = custom_encoder
        else:
            self.encoder = TransformerEncoder(
                TransformerEncoderLayer(**layer), num_encoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        if custom_decoder is not None:
            self.decoder = custom_decoder
        else:
            self.decoder = TransformerDecoder(
                TransformerDecoderLayer(**layer), num_decoder_layers,
                LayerNorm(d_model, eps=layer_norm_eps, bias=bias, **kw))
        self._reset_parameters()
        self.d_model, self.nhead, self.batch_first = d_model, nhead, batch_first

    def _reset_parameters(self):
        from . import init

        for p in self.parameters():
            if p.ndim > 1:
                init.xavier_uniform_(p)

    def forward(self, src, tgt, src_mask=None, tgt_mask=None, memory_mask=None,
                src_key_padding_mask=None, tgt_key_padding_mask=None,
                memory_key_padding_mask=None, src_is_causal=None, tgt_is_causal=None,
                memory_is_causal=False):
        batched = src.ndim == 3
        if src.ndim != tgt.ndim or src.ndim not in (2, 3):
            raise ValueError(f"Transformer: src and tgt must both be 2-d (unbatched) or 3-d, "
                             f"got shapes {src.shape} and {tgt.shape}")
        b = 0 if self.batch_first else 1
        if batched and src.shape[b] != tgt.shape[b]:
            raise ValueError(f"Transformer: the batch sizes of src {src.shape} and tgt "
                             f"{tgt.shape} differ (dim {b})")
        if src.shape[-1] != self.d_model or tgt.shape[-1] != self.d_model:
            raise ValueError(f"Transformer: the feature size of src {src.shape} and tgt "
                             f"{tgt.shape} must equal d_model = {self.d_model}")
        memory = self.encoder(src, mask=src_mask, src_key_padding_mask=src_key_padding_mask,
                              is_causal=src_is_causal)
        return self.decoder(tgt, memory, tgt_mask=tgt_mask, memory_mask=memory_mask,
                            tgt_key_padding_mask=tgt_key_padding_mask,
                            memory_key_padding_mask=memory_key_padding_mask,
                            tgt_is_causal=tgt_is_causal, memory_is_causal=memory_is_causal)

    @staticmethod
    def generate_square_subsequent_mask(sz, device=None, dtype=None):
        """The (sz, sz) causal mask: 0 on and below the diagonal, −inf above it (position
        i attends to positions ≤ i)."""
        import numpy as np

        import minigrad as mg

        above = np.triu(np.ones((sz, sz), dtype=bool), k=1)
        return mg.tensor(np.where(above, -np.inf, 0.0), dtype=dtype or mg.get_default_dtype(),
                         device=device)
