r"""Cross-entropy of a linear layer's logits, optionally without ever holding all of them
(PyTorch's ``F.linear_cross_entropy`` and ``nn.LinearCrossEntropyLoss``).

.. code-block:: text

    loss = cross_entropy(linear(x, W, b), target, weight, reduction, ignore_index,
                         label_smoothing)

With a vocabulary of C classes and N rows, the logits are an (N, C) array: for a language
model's head (C ~ 50 000) they are the largest array of the step. With ``options``
(:class:`LinearCrossEntropyOptions`) the rows are taken a chunk at a time:

.. code-block:: text

    forward,  for each chunk of rows r:   z_r = x_r Wᵀ + b
                                          lse_r = log Σ_c exp z_r,c        (kept, N numbers)
                                          ℓ_r = w_t · (lse_r − z_r,t)       (0 if ignored)
    backward, for each chunk again:       z_r recomputed, p_r = exp(z_r − lse_r)
                                          g_r = s_r · w_t · (p_r − onehot(t_r))
                                          gx_r = g_r W,  gW += g_rᵀ x_r,  gb += Σ_r g_r

(s_r: the output gradient, divided by Σ w_t over the kept rows for ``mean``). Only one
chunk's (rows, C) logits exist at a time, forward or backward, for one more product in
the backward. Without ``options`` it is the plain composition, which keeps the logits.
The chunked path covers class-index targets without label smoothing and a (C,) bias, as
PyTorch's; anything else falls back to the composition with a warning, as there.
"""
from __future__ import annotations

import dataclasses
import math
import warnings

import numpy as np

from .. import dtypes as _dt
from ..autograd.function import Function
from ..autograd.grad_mode import is_grad_enabled
from ..ops.fused import check_class_indices
from ..ops.shape import cat
from ..tensor import Tensor
from .linear import Linear, linear
from .losses import _buffer_tensor, _check_reduction, cross_entropy
from .module import Module

__all__ = ["LinearCrossEntropyOptions", "linear_cross_entropy", "LinearCrossEntropyLoss"]

_ROWS_ELEMENTS = 1 << 20  # an automatic chunk holds about this many logits


@dataclasses.dataclass
class LinearCrossEntropyOptions:
    """How the chunked :func:`linear_cross_entropy` runs (PyTorch's fields).

    ``batch_chunk_size``: rows per chunk (default: about 2²⁰ logits a chunk);
    ``acc_dtype``: the dtype the logits are formed in (default: the input's, float32 for
    half inputs). ``allow_retain_graph``, ``chunking_method`` and ``acc_policy`` are
    PyTorch's performance choices among its several chunkings; minigrad has one (by rows),
    whose backward always allows ``retain_graph`` and ``create_graph``, so they change
    nothing here."""

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: str = "auto"
    acc_dtype: object = None

    def rows(self, n_rows, n_classes):
        if self.batch_chunk_size is not None:
            if not (isinstance(self.batch_chunk_size, int) and self.batch_chunk_size > 0):
                raise ValueError(f"linear_cross_entropy: batch_chunk_size must be a positive "
                                 f"int, got {self.batch_chunk_size!r}")
            return self.batch_chunk_size
        return max(1, min(n_rows, _ROWS_ELEMENTS // max(n_classes, 1)))


class ChunkedLinearCrossEntropy(Function):
    """The loss of rows of x (N, D) against W (C, D) (+ b (C,)), a chunk of rows at a
    time (the module docstring's formulas). Inputs x, W[, b]; constants: targets t (N,),
    class weights w (C,) or None. Output: the (N,) row losses (``reduction="none"``) or
    their sum or weighted mean. Its backward recomputes each chunk's logits with Tensor
    ops, so it is differentiable again (create_graph)."""

    def __init__(self, target, weight, ignore_index, reduction, rows, acc):
        self.target, self.weight = target, weight
        self.ignore_index, self.reduction, self.rows, self.acc = (ignore_index, reduction,
                                                                  rows, acc)

    def _chunks(self, n):
        return [(r0, min(r0 + self.rows, n)) for r0 in range(0, n, self.rows)]

    def forward(self, xp, x, W, *b):
        t = self.target
        n = x.shape[0]
        kept = t != self.ignore_index
        safe_t = xp.where(kept, t, 0)
        w_t = (self.weight[safe_t] if self.weight is not None
               else xp.ones(n, dtype=self.acc)).astype(self.acc) * kept
        Wa = W.astype(self.acc, copy=False)
        lse = xp.empty(n, dtype=self.acc)
        rows = xp.empty(n, dtype=self.acc)
        for r0, r1 in self._chunks(n):
            z = x[r0:r1].astype(self.acc, copy=False) @ Wa.T
            if b:
                z += b[0].astype(self.acc, copy=False)
            m = z.max(axis=1, keepdims=True)
            lse[r0:r1] = (m + xp.log(xp.exp(z - m).sum(axis=1, keepdims=True)))[:, 0]
            picked = z[xp.arange(r1 - r0), safe_t[r0:r1]]
            rows[r0:r1] = (lse[r0:r1] - picked) * w_t[r0:r1]
        self.lse, self.w_t, self.safe_t = lse, w_t, safe_t
        out = x.dtype
        if self.reduction == "none":
            return rows.astype(out)
        total = rows.sum()
        if self.reduction == "mean":
            total = total / w_t.sum()  # 0/0 = NaN when no target is kept, as cross_entropy
        return xp.asarray(total, dtype=out)

    def backward(self, gy):
        x, W = self.inputs[0], self.inputs[1]
        b = self.inputs[2] if len(self.inputs) > 2 else None
        xp = x.xp
        n, C = x.shape[0], W.shape[0]
        scale = Tensor(self.w_t, device=x.device)           # w_t, 0 for ignored rows
        if self.reduction == "none":
            scale = scale * gy.to(dtype=scale.dtype)
        else:
            g = gy.to(dtype=scale.dtype)
            if self.reduction == "mean":  # no kept target: a NaN loss, a zero gradient
                total = float(self.w_t.sum())
                g = g / total if total else g * 0
            scale = scale * g
        lse = Tensor(self.lse, device=x.device)
        recording = is_grad_enabled()  # create_graph: this backward is differentiated
        Wa = W.to(dtype=self.acc)
        gx_parts, gW, gb = [], None, None
        for r0, r1 in self._chunks(n):
            xa = x[r0:r1].to(dtype=self.acc)
            z = xa @ Wa.T
            if b is not None:
                z = z + b.to(dtype=self.acc)
            if recording:  # softmax whose lse follows z: the second derivative needs it
                p = z.softmax(1)
            else:          # the forward's lse: one exp
                p = (z - lse[r0:r1].reshape(-1, 1)).exp()
            onehot = xp.zeros((r1 - r0, C), dtype=self.acc)
            onehot[xp.arange(r1 - r0), self.safe_t[r0:r1]] = 1
            g = (p - Tensor(onehot, device=x.device)) * scale[r0:r1].reshape(-1, 1)
            gx_parts.append(g @ Wa)
            part = g.T @ xa
            gW = part if gW is None else gW + part
            if b is not None:
                part = g.sum(0)
                gb = part if gb is None else gb + part
        gx = gx_parts[0] if len(gx_parts) == 1 else cat(gx_parts, 0)
        grads = (gx.to(dtype=x.dtype), gW.to(dtype=W.dtype))
        return grads + ((gb.to(dtype=b.dtype),) if b is not None else ())


def _chunkable(out_features, reduction, label_smoothing, target):
    return (not out_features and reduction in ("mean", "sum", "none")
            and label_smoothing == 0.0 and target.dtype.kind in "iu")


def linear_cross_entropy(input, linear_weight, target, *, linear_bias=None, weight=None,
                         reduction="mean", ignore_index=None, label_smoothing=0.0,
                         options=None):
    """``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)``, the
    logits taken a chunk of rows at a time with ``options`` (see the module docstring).

    ``input``: (N, D) or (D,); ``linear_weight``: (C, D), or (C, d₁, …, d_K, D) for a
    K-dimensional loss (the logits (N, C, d₁, …, d_K)); ``linear_bias``: (C, d₁, …);
    ``target``: class indices or probabilities, as :func:`cross_entropy`;
    ``ignore_index`` None means −100 for class indices (and must be None for
    probabilities). PyTorch's function and defaults.
    """
    op = "linear_cross_entropy"
    for name, value in (("input", input), ("linear_weight", linear_weight),
                        ("target", target)):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}: {name} must be a Tensor, got {type(value).__name__}")
    if not 1 <= input.ndim <= 2:
        raise ValueError(f"{op}: expected input with 1 or 2 dims, got shape {input.shape}")
    if linear_weight.ndim < 2:
        raise ValueError(f"{op}: expected linear_weight with at least 2 dims, got shape "
                         f"{linear_weight.shape}")
    batch, in_features = tuple(input.shape[:-1]), input.shape[-1]
    if linear_weight.shape[-1] != in_features:
        raise ValueError(f"{op}: input's last dim {in_features} and linear_weight's "
                         f"{linear_weight.shape[-1]} (in_features) differ")
    C, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (C, *out_features):
        raise ValueError(f"{op}: expected linear_bias of shape {(C, *out_features)}, got "
                         f"{tuple(linear_bias.shape)}")
    if out_features and not batch:
        raise ValueError(f"{op}: a K-dimensional loss (linear_weight "
                         f"{linear_weight.shape}) needs batched input (N, {in_features}), "
                         f"got {input.shape}")
    _check_reduction(op, reduction)
    logits_shape = (*batch, C, *out_features)
    probabilities = tuple(target.shape) == logits_shape
    if probabilities and ignore_index is not None:
        raise ValueError(f"{op}: ignore_index cannot be given when target holds "
                         "probabilities")
    ignore_index = -100 if ignore_index is None else ignore_index
    if options is not None:
        if _chunkable(out_features, reduction, label_smoothing, target) and not probabilities:
            return _chunked(input, linear_weight, target, linear_bias, weight, reduction,
                            ignore_index, options)
        warnings.warn(f"{op}: options ignored: the chunked path needs class-index targets, "
                      f"label_smoothing 0 and no out_features (got label_smoothing="
                      f"{label_smoothing}, target dtype {target.dtype}, out_features="
                      f"{out_features}); computing the logits whole", stacklevel=2)
    W, b = linear_weight, linear_bias
    if out_features:
        W = W.reshape(math.prod(out_features) * C, in_features)
        b = None if b is None else b.reshape(-1)
    logits = linear(input, W, b).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, ignore_index=ignore_index,
                         reduction=reduction, label_smoothing=label_smoothing)


def _chunked(input, W, target, b, weight, reduction, ignore_index, options):
    op = "linear_cross_entropy"
    single = input.ndim == 1
    x = input.reshape(1, -1) if single else input
    t = target.reshape(1) if single else target
    if tuple(t.shape) != (x.shape[0],):
        raise ValueError(f"{op}: target of shape {tuple(target.shape)} for input of shape "
                         f"{tuple(input.shape)}: expected ({x.shape[0]},) class indices")
    C = W.shape[0]
    td = t.data
    check_class_indices(op, td, C, ignore_index)
    if weight is not None and tuple(weight.shape) != (C,):
        raise ValueError(f"{op}: weight must have shape ({C},), got {tuple(weight.shape)}")
    acc = np.dtype(_dt.as_dtype(options.acc_dtype)) if options.acc_dtype is not None else \
        np.dtype(np.float32) if x.dtype.itemsize < 4 else np.dtype(x.dtype)
    fn = ChunkedLinearCrossEntropy(td, None if weight is None else weight.data,
                                   ignore_index, reduction, options.rows(x.shape[0], C), acc)
    out = fn(x, W, b) if b is not None else fn(x, W)
    return out.reshape(()) if single and reduction == "none" else out


class LinearCrossEntropyLoss(Module):
    """A linear layer to ``num_classes`` (times ``out_features``) and the cross-entropy of
    its logits, as one module (PyTorch's ``nn.LinearCrossEntropyLoss``): ``linear`` holds
    the weight, flat as (C·∏out_features, in_features), and the optional bias; the class
    ``weight`` is a buffer. ``options`` (:class:`LinearCrossEntropyOptions`) takes the
    logits a chunk of rows at a time (:func:`linear_cross_entropy`).

    >>> import minigrad as mg
    >>> head = LinearCrossEntropyLoss(8, 50, options=LinearCrossEntropyOptions())
    >>> head(mg.randn(6, 8), mg.tensor([1, 4, 49, 0, 7, 7])).shape
    ()
    """

    def __init__(self, in_features, num_classes, *, out_features=(), bias=False, device=None,
                 dtype=None, reduction="mean", weight=None, ignore_index=None,
                 label_smoothing=0.0, options=None):
        super().__init__()
        _check_reduction(type(self).__name__, reduction)
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(f"LinearCrossEntropyLoss: label_smoothing must be in [0, 1], "
                             f"got {label_smoothing}")
        self.num_classes, self.out_features = num_classes, tuple(out_features)
        self.register_buffer("weight", _buffer_tensor(weight))
        self.linear = Linear(in_features, num_classes * math.prod(self.out_features), bias,
                             device=device, dtype=dtype)
        self.reduction, self.ignore_index = reduction, ignore_index
        self.label_smoothing, self.options = label_smoothing, options

    def forward(self, input, target):
        shape = (self.num_classes, *self.out_features)
        W = self.linear.weight.reshape(shape + (self.linear.in_features,))
        b = None if self.linear.bias is None else self.linear.bias.reshape(shape)
        return linear_cross_entropy(input, W, target, linear_bias=b, weight=self.weight,
                                    reduction=self.reduction, ignore_index=self.ignore_index,
                                    label_smoothing=self.label_smoothing, options=self.options)

    def extra_repr(self):
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, "
                f"reduction={self.reduction}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}, options={self.options}")
