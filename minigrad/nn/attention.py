r"""Scaled dot-product attention (Vaswani et al. 2017), PyTorch's
``F.scaled_dot_product_attention``, written out in tensor ops so that every derivative
exists (gradcheck and gradgradcheck pass through it).

.. code-block:: text

    input : Q (..., L, E), K (..., S, E), V (..., S, Ev), scale s (default 1/√E),
            mask M (bool: keep where True; float: added), causal, dropout p
    B ← 0 (L x S)
    if causal: B[i, j] ← −∞ for j > i            (query i sees keys 0..i)
    if M is bool: B[i, j] ← −∞ where M[i, j] is False
    if M is float: B ← B + M
    A ← softmax(s · Q Kᵀ + B) along the key dim  (each row sums to 1)
    A ← dropout(A, p)
    return A V                                     (..., L, Ev)

With ``enable_gqa=True`` (grouped-query attention) K and V may have fewer heads (dim −3)
than Q; each of their heads serves Hq/Hk consecutive query heads.

Notes
-----
* A query row whose keys are all masked (bool mask all False, or float mask all −∞ along
  the row) has no softmax: its weights, output and gradient are 0, as in PyTorch (2.5 and
  later, every backend, math included: its ``_safe_softmax``). Only rows the mask empties
  are caught; the test runs on the mask, which is no larger than the scores, and the
  ordinary softmax runs when no row is empty.
* ``dropout_p`` is applied whenever it is positive, as in PyTorch: pass 0 in evaluation.
* Half Q, K, V (float16, bfloat16; autocast casts float32 ones, as PyTorch's CUDA list
  has this op) are computed with flash attention's precision: Q Kᵀ accumulated and kept in
  float32 (:class:`~minigrad.ops.linalg.MatMulFloat32`), the softmax in float32, A rounded
  to half for A V (float32 accumulation), and dS rounded to half for the backward's
  products. Each output is within half an ulp plus the rounding of A of the exact value.

References
----------
A. Vaswani et al., "Attention Is All You Need", NeurIPS 2017 (eq. 1).
"""
from __future__ import annotations

import math

import numpy as np

from ..amp.autocast_mode import autocast_inputs, is_half
from ..cuda_graphs import is_current_stream_capturing
from ..ops.elementwise import const
from ..ops.linalg import MatMulFloat32
from ..ops.shape import broadcasts_to
from ..tensor import Tensor
from .dropout import dropout

__all__ = ["scaled_dot_product_attention"]


def scaled_scores(query, key, scale):
    """s·Q Kᵀ; for half Q and K, as flash attention computes them: accumulated and kept in
    float32 (:class:`~minigrad.ops.linalg.MatMulFloat32`), so that their softmax runs on
    unrounded scores and only the weights are rounded to half, for their product with V."""
    if is_half(query.dtype) and query.dtype == key.dtype:
        return MatMulFloat32()(query, key.mT) * scale
    return (query @ key.mT) * scale


def safe_softmax(scores, empty):
    r"""Softmax along the last dim, 0 in the rows flagged by ``empty`` (PyTorch's
    ``_safe_softmax``).

    ``empty`` is None (no such row: the plain softmax) or a bool array (the scores' array
    module) of shape broadcasting to ``scores.shape[:-1] + (1,)``. Those rows are set to 0
    before the softmax (uniform finite weights, no NaN anywhere in the graph) and to 0
    after it, so they give weights 0, and gradient 0 to the scores, at every order.
    """
    if empty is None:
        return scores.softmax(-1)
    empty = const(empty)
    return scores.masked_fill(empty, 0.0).softmax(-1).masked_fill(empty, 0.0)


def empty_rows(xp, blocked):
    """Where every key of a query row is blocked: ``blocked.all(-1)`` keeping the dim, or
    None when no row is (one small reduction over the mask and a host check, on the CPU).
    On a GPU the answer is not read back, which would wait for the device once per
    attention call (and a CUDA graph capture may not read it): the safe softmax runs
    unasked, the same result for a few kernels more."""
    empty = xp.all(blocked.reshape(blocked.shape or (1,)), axis=-1, keepdims=True)
    if xp is not np or is_current_stream_capturing():
        return empty
    return empty if bool(empty.any()) else None


def scaled_dot_product_attention(query, key, value, attn_mask=None, dropout_p=0.0,
                                 is_causal=False, scale=None, enable_gqa=False):
    """softmax(s·QKᵀ + mask) V over the last two dims (see the module notes)."""
    name = "scaled_dot_product_attention"
    for what, t in (("query", query), ("key", key), ("value", value)):
        if not isinstance(t, Tensor) or t.ndim < 2:
            raise ValueError(f"{name}: {what} must be a Tensor of at least 2 dims (..., L, E), "
                             f"got {getattr(t, 'shape', type(t).__name__)}")
    L, E = query.shape[-2:]
    S = key.shape[-2]
    if key.shape[-1] != E or value.shape[-2] != S:
        raise ValueError(f"{name}: query {query.shape}, key {key.shape} and value "
                         f"{value.shape} do not fit (..., L, E), (..., S, E), (..., S, Ev)")
    if is_causal and attn_mask is not None:
        raise ValueError(f"{name}: give attn_mask or is_causal, not both (PyTorch's rule)")
    if not 0.0 <= dropout_p <= 1.0:
        raise ValueError(f"{name}: dropout_p must be in [0, 1], got {dropout_p}")
    query, key, value = autocast_inputs(query, key, value)  # PyTorch's CUDA half list
    if enable_gqa:
        key, value = _repeat_heads(query, key, name), _repeat_heads(query, value, name)
    xp = query.xp
    s = 1.0 / math.sqrt(E) if scale is None else float(scale)
    scores = scaled_scores(query, key, s)
    empty = None                          # the query rows whose keys are all masked
    if is_causal:                         # tril: row i sees keys 0..min(i, S − 1)
        scores = scores.masked_fill(const(~xp.tril(xp.ones((L, S), dtype=bool))),
                                    float("-inf"))
    elif attn_mask is not None:
        if not isinstance(attn_mask, Tensor):
            attn_mask = const(xp.asarray(attn_mask))
        if not broadcasts_to(attn_mask.shape, scores.shape):
            raise ValueError(f"{name}: attn_mask of shape {attn_mask.shape} does not "
                             f"broadcast to the attention scores' shape {scores.shape} "
                             "(..., L, S)")
        if attn_mask.dtype == np.bool_:
            blocked = ~attn_mask.data
            scores = scores.masked_fill(const(blocked), float("-inf"))
        else:
            blocked = xp.isneginf(attn_mask.data)
            scores = scores + attn_mask
        empty = empty_rows(xp, blocked)
    weights = safe_softmax(scores, empty)
    if is_half(value.dtype):  # the float32 weights of half scores, rounded once for A V
        weights = weights.to(dtype=value.dtype)
    if dropout_p > 0:
        weights = dropout(weights, dropout_p)
    return weights @ value


def _repeat_heads(query, kv, name):
    """``kv`` with each of its heads (dim −3) repeated Hq/Hk times in a row."""
    if query.ndim < 3 or kv.ndim < 3:
        raise ValueError(f"{name}: enable_gqa needs a head dim (..., H, L, E)")
    hq, hk = query.shape[-3], kv.shape[-3]
    if hq % hk:
        raise ValueError(f"{name}: enable_gqa needs the query heads ({hq}) to be a multiple "
                         f"of the key/value heads ({hk})")
    if hq == hk:
        return kv
    index = const(kv.xp.repeat(kv.xp.arange(hk), hq // hk))
    return kv.index_select(kv.ndim - 3, index)
