r"""Multi-head attention (Vaswani et al. 2017, §3.2.2), PyTorch's ``nn.MultiheadAttention``.

.. code-block:: text

    input : query (L, N, E), key (S, N, E_k), value (S, N, E_v) (batch_first: N first),
            H heads of size d = E/H
    Q, K, V ← query W_qᵀ + b_q, key W_kᵀ + b_k, value W_vᵀ + b_v       (in_proj)
    (add_bias_kv: a learned key and value appended to the sequence;
     add_zero_attn: a zero key and value appended after the heads are split)
    split Q, K, V into H heads: (N·H, L, d), (N·H, S, d)
    B ← attn_mask (bool: −∞ where True, i.e. *not* allowed; float: added)
        + key_padding_mask (N, S) (bool: −∞ where True; float: added), per sample
    A ← softmax(Q Kᵀ/√d + B)  (dropout on A in training)
    out ← concat_heads(A V) W_oᵀ + b_o                                  (out_proj)
    return out, mean of A over heads (or A per head, or None)

The parameters and their names are PyTorch's (``in_proj_weight`` (3E, E) and
``in_proj_bias``, or ``q_proj_weight``/``k_proj_weight``/``v_proj_weight`` when E_k or E_v
differ from E; ``out_proj``; ``bias_k``/``bias_v``), so a PyTorch ``state_dict`` loads,
and so is their initialization (Xavier-uniform projections, zero biases, Xavier-normal
bias_k/bias_v). Every derivative comes from the tensor ops.

Notes
-----
* A bool ``attn_mask`` here means True = masked, as in ``nn.MultiheadAttention`` — the
  opposite of ``F.scaled_dot_product_attention``, where True = may attend (PyTorch's two
  conventions, kept).
* ``is_causal`` is PyTorch's hint that ``attn_mask`` is the causal mask: it needs
  ``attn_mask`` and changes nothing else.
* A query whose keys are all masked gets output 0 (and gives gradient 0) with
  ``need_weights=False``, as PyTorch, whose module then calls
  ``F.scaled_dot_product_attention`` (its safe softmax); with ``need_weights=True`` its
  weights and output are NaN, and so is the gradient of every parameter, as PyTorch's
  plain softmax gives there.

References
----------
A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017.
"""
from __future__ import annotations

import math

import numpy as np

from .. import creation
from ..amp.autocast_mode import is_half
from ..ops.elementwise import const
from ..ops.shape import cat
from ..tensor import Tensor
from . import init
from .attention import empty_rows, safe_softmax, scaled_scores
from .dropout import dropout
from .linear import Linear
from .module import Module, Parameter

__all__ = ["MultiheadAttention"]


class MultiheadAttention(Module):
    """Multi-head attention with PyTorch's arguments, parameters and defaults.

    Parameters
    ----------
    embed_dim : int
        E, the model width; ``num_heads`` must divide it.
    num_heads : int
    dropout : float, default 0
        Dropout on the attention weights, in training.
    bias : bool, default True
        Biases of the input and output projections.
    add_bias_kv, add_zero_attn : bool, default False
        Append a learned (or a zero) key and value to the sequence.
    kdim, vdim : int, optional
        Widths of key and value (default E).
    batch_first : bool, default False
        Inputs (N, L, E) instead of (L, N, E).
    """

    def __init__(self, embed_dim, num_heads, dropout=0.0, bias=True, add_bias_kv=False,
                 add_zero_attn=False, kdim=None, vdim=None, batch_first=False, device=None,
                 dtype=None):
        super().__init__()
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"MultiheadAttention: embed_dim and num_heads must be positive, "
                             f"got {embed_dim} and {num_heads}")
        if embed_dim % num_heads:
            raise ValueError(f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible "
                             f"by num_heads ({num_heads})")
        if not 0.0 <= dropout <= 1.0:
            raise ValueError(f"MultiheadAttention: dropout must be in [0, 1], got {dropout}")
        self.embed_dim, self.num_heads, self.dropout = embed_dim, num_heads, dropout
        self.head_dim = embed_dim // num_heads
        self.kdim = embed_dim if kdim is None else kdim
        self.vdim = embed_dim if vdim is None else vdim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.batch_first, self.add_zero_attn = batch_first, add_zero_attn
        kw = dict(device=device, dtype=dtype)
        E = embed_dim
        if self._qkv_same_embed_dim:
            self.in_proj_weight = Parameter(creation.empty(3 * E, E, **kw))
            for name in ("q_proj_weight", "k_proj_weight", "v_proj_weight"):
                self.register_parameter(name, None)
        else:
            self.q_proj_weight = Parameter(creation.empty(E, E, **kw))
            self.k_proj_weight = Parameter(creation.empty(E, self.kdim, **kw))
            self.v_proj_weight = Parameter(creation.empty(E, self.vdim, **kw))
            self.register_parameter("in_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(creation.empty(3 * E, **kw))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = Linear(E, E, bias=bias, **kw)
        if add_bias_kv:
            self.bias_k = Parameter(creation.empty(1, 1, E, **kw))
            self.bias_v = Parameter(creation.empty(1, 1, E, **kw))
        else:
            self.bias_k = self.bias_v = None
        self._reset_parameters()

    def _reset_parameters(self):
        """PyTorch's: Xavier-uniform projections, zero biases, Xavier-normal bias_k/v (the
        output projection keeps Linear's own initialization, bias then zeroed)."""
        if self._qkv_same_embed_dim:
            init.xavier_uniform_(self.in_proj_weight)
        else:
            for w in (self.q_proj_weight, self.k_proj_weight, self.v_proj_weight):
                init.xavier_uniform_(w)
        if self.in_proj_bias is not None:
            init.zeros_(self.in_proj_bias)
            init.zeros_(self.out_proj.bias)
        if self.bias_k is not None:
            init.xavier_normal_(self.bias_k)
            init.xavier_normal_(self.bias_v)

    def _projections(self, query, key, value):
        E, b = self.embed_dim, self.in_proj_bias
        bq, bk, bv = (None, None, None) if b is None else (b[:E], b[E:2 * E], b[2 * E:])
        if self._qkv_same_embed_dim:
            w = self.in_proj_weight
            wq, wk, wv = w[:E], w[E:2 * E], w[2 * E:]
        else:
            wq, wk, wv = self.q_proj_weight, self.k_proj_weight, self.v_proj_weight

        def project(x, w, bias):
            y = x @ w.mT
            return y if bias is None else y + bias

        return project(query, wq, bq), project(key, wk, bk), project(value, wv, bv)

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):
        """``(attn_output, attn_weights)``: (L, N, E) (N first with batch_first; (L, E)
        unbatched) and the weights (N, L, S) averaged over heads, (N, H, L, S) with
        ``average_attn_weights=False``, or None without ``need_weights``."""
        name = "MultiheadAttention"
        if is_causal and attn_mask is None:
            raise ValueError(f"{name}: is_causal is a hint about attn_mask; give attn_mask "
                             "too (PyTorch's rule)")
        batched = query.ndim == 3
        if query.ndim not in (2, 3) or key.ndim != query.ndim or value.ndim != query.ndim:
            raise ValueError(f"{name}: query, key and value must all be 2-D (unbatched) or "
                             f"3-D, got shapes {query.shape}, {key.shape}, {value.shape}")
        if batched and self.batch_first:
            query, key, value = (t.transpose(0, 1) for t in (query, key, value))
        if not batched:
            query, key, value = (t.unsqueeze(1) for t in (query, key, value))
            if key_padding_mask is not None:
                key_padding_mask = key_padding_mask.unsqueeze(0)
        L, N, E = query.shape
        S = key.shape[0]
        if E != self.embed_dim or key.shape[2] != self.kdim or value.shape[2] != self.vdim \
                or value.shape[:2] != key.shape[:2] or key.shape[1] != N:
            raise ValueError(f"{name}: expected query (L, N, {self.embed_dim}), key (S, N, "
                             f"{self.kdim}) and value (S, N, {self.vdim}), got {query.shape}, "
                             f"{key.shape} and {value.shape}")
        H, d = self.num_heads, self.head_dim
        q, k, v = self._projections(query, key, value)
        bias = _as_bias(attn_mask, query, "attn_mask")
        if bias is not None and bias.shape not in ((L, S), (N * H, L, S)):
            raise ValueError(f"{name}: attn_mask must have shape ({L}, {S}) or "
                             f"({N * H}, {L}, {S}), got {bias.shape}")
        padding = _as_bias(key_padding_mask, query, "key_padding_mask")
        if padding is not None and padding.shape != (N, S):
            raise ValueError(f"{name}: key_padding_mask must have shape ({N}, {S}), got "
                             f"{padding.shape}")
        if self.bias_k is not None:  # one more key and value, that every query may see
            k = cat([k, self.bias_k.expand(1, N, E)], 0)
            v = cat([v, self.bias_v.expand(1, N, E)], 0)
            bias, padding = _pad_last(bias), _pad_last(padding)
        # heads: (L, N, E) -> (N·H, L, d), sample n's heads at n·H ... n·H + H − 1
        q = q.reshape(L, N * H, d).transpose(0, 1)
        k = k.reshape(k.shape[0], N * H, d).transpose(0, 1)
        v = v.reshape(v.shape[0], N * H, d).transpose(0, 1)
        if self.add_zero_attn:
            zeros = const(q.xp.zeros((N * H, 1, d), dtype=q.dtype))
            k, v = cat([k, zeros], 1), cat([v, zeros], 1)
            bias, padding = _pad_last(bias), _pad_last(padding)
        Sk = k.shape[1]
        scores = scaled_scores(q, k, 1.0 / math.sqrt(d))  # (half: float32, flash attention's)
        if bias is not None:
            scores = scores + bias
        if padding is not None:
            scores = (scores.reshape(N, H, L, Sk) + padding.reshape(N, 1, 1, Sk)).reshape(
                N * H, L, Sk)
        empty = None if need_weights else _empty_rows(q.xp, bias, padding, N, H, L, Sk)
        if empty is None:
            weights = scores.softmax(-1)
        else:       # PyTorch's scaled_dot_product_attention path: empty rows give 0
            weights = safe_softmax(scores.reshape(N, H, L, Sk), empty).reshape(N * H, L, Sk)
        if is_half(v.dtype):  # the float32 weights of half scores, rounded once for A V
            weights = weights.to(dtype=v.dtype)
        if self.training and self.dropout > 0:
            weights = dropout(weights, self.dropout)
        out = (weights @ v).transpose(0, 1).reshape(L, N, E)
        out = self.out_proj(out)
        if self.batch_first and batched:
            out = out.transpose(0, 1)
        if not batched:
            out = out.squeeze(1)
        if not need_weights:
            return out, None
        weights = weights.reshape(N, H, L, Sk)
        if average_attn_weights:
            weights = weights.mean(1)
        if not batched:
            weights = weights.squeeze(0)
        return out, weights


def _as_bias(mask, like, what):
    """A mask as an additive float bias: −∞ where a bool mask is True, a float one as is."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        mask = const(like.xp.asarray(mask))
    if mask.dtype == np.bool_:
        return const(like.xp.where(mask.data, -np.inf, 0.0).astype(like.dtype))
    if mask.dtype.kind != "f":
        raise TypeError(f"MultiheadAttention: {what} must be bool or floating, got "
                        f"{mask.dtype}")
    return mask


def _empty_rows(xp, bias, padding, N, H, L, Sk):
    """The (N or 1, H or 1, L, 1) rows where attn_mask and key_padding_mask together
    block every key, or None (the test runs on the masks, never on the scores)."""
    if bias is None and padding is None:
        return None
    blocked = None
    if bias is not None:
        shape = (N, H, L, Sk) if bias.ndim == 3 else (1, 1, L, Sk)
        blocked = xp.isneginf(bias.data).reshape(shape)
    if padding is not None:
        pad = xp.isneginf(padding.data).reshape(N, 1, 1, Sk)
        blocked = pad if blocked is None else blocked | pad
    return empty_rows(xp, blocked)


def _pad_last(bias):
    """A bias with one more key (a zero column: that key is visible)."""
    if bias is None:
        return None
    zeros = const(bias.xp.zeros(bias.shape[:-1] + (1,), dtype=bias.dtype))
    return cat([bias, zeros], -1)
