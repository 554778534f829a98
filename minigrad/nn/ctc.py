r"""Connectionist Temporal Classification loss (Graves et al. 2006), PyTorch's
``F.ctc_loss`` and ``nn.CTCLoss``.

For one sequence: log-probabilities lp (T, C) over C classes (``blank`` among them) and a
target l of S labels. Extend it with blanks, l' = (b, l₁, b, l₂, …, l_S, b) (2S + 1
symbols). The forward variable α_t(s) = log P(l'₁..ₛ emitted by the first t + 1 frames)
follows (eq. 6–7 of the paper, in log space):

.. code-block:: text

    α_0(0) = lp_0(b),  α_0(1) = lp_0(l'_1),  α_0(s) = −∞ for s ≥ 2
    α_t(s) = logsumexp(α_{t−1}(s), α_{t−1}(s − 1), [α_{t−1}(s − 2)]) + lp_t(l'_s)
             (the s − 2 term only when l'_s is not blank and l'_s ≠ l'_{s−2})
    loss  = −logsumexp(α_{T−1}(2S), α_{T−1}(2S − 1))      (= −log p(l | x))

with T each sequence's own ``input_lengths`` entry. The recursion is written in tensor ops
on the whole batch (one (N, 2S + 1) step per frame), so its gradient — and the gradient of
that — is autograd's: the classic α·β occupation formula is what backpropagation through
this recursion computes.

Notes
-----
* The gradient is the true gradient with respect to ``log_probs``. PyTorch's CTC backward
  returns exp(lp) − γ instead (the gradient with respect to the logits of a log_softmax
  that produced lp); both give the same gradient for the logits when ``log_probs`` comes
  from ``log_softmax``, as it should, but only this one passes ``gradcheck`` on the loss
  alone.
* Impossible alignments (a target longer than the input allows) give an infinite loss;
  ``zero_infinity=True`` turns it into 0 (with zero gradient). −∞ is held as −10³⁰ inside
  the recursion, so no NaN appears in the gradients of the possible ones.
* ``reduction="mean"`` divides each loss by its target length (at least 1), then averages
  over the batch, as PyTorch does. float16/bfloat16 inputs are computed in float32.
"""
from __future__ import annotations

import numpy as np

from .. import creation
from .. import dtypes as _dt
from ..ops.elementwise import const, where
from ..ops.shape import pad, stack
from ..tensor import Tensor
from .losses import _check_reduction, _Loss

__all__ = ["ctc_loss", "CTCLoss"]

_NEG = -1e30  # −∞ inside the recursion (finite: no ∞ − ∞ in the gradients)


def _host_ints(x, what, ndim=None):
    data = x.data if isinstance(x, Tensor) else x
    arr = np.asarray(data.get() if hasattr(data, "get") else data)
    if arr.size and arr.dtype.kind not in "iu":
        raise TypeError(f"ctc_loss: {what} must be integers, got {arr.dtype}")
    if ndim is not None and arr.ndim != ndim:
        raise ValueError(f"ctc_loss: {what} must be {ndim}-D, got shape {arr.shape}")
    return arr.astype(np.int64)


def _targets(targets, target_lengths, N):
    """The targets as an (N, S_max) host array (padded with 0) from PyTorch's two
    layouts: padded (N, S) or all targets concatenated (Σ target_lengths,)."""
    t = _host_ints(targets, "targets")
    if t.ndim == 2:
        if t.shape[0] != N or (target_lengths.size and target_lengths.max() > t.shape[1]):
            raise ValueError(f"ctc_loss: padded targets {t.shape} must have {N} rows, each "
                             f"at least as long as its target length")
        return t
    if t.ndim != 1 or t.shape[0] != target_lengths.sum():
        raise ValueError(f"ctc_loss: concatenated targets must be 1-D with "
                         f"sum(target_lengths) = {int(target_lengths.sum())} entries, got "
                         f"shape {t.shape}")
    out = np.zeros((N, max(int(target_lengths.max(initial=0)), 1)), dtype=np.int64)
    start = 0
    for n, length in enumerate(target_lengths):
        out[n, :length] = t[start:start + length]
        start += length
    return out


def ctc_loss(log_probs, targets, input_lengths, target_lengths, blank=0, reduction="mean",
             zero_infinity=False):
    r"""The CTC loss −log p(target | input) of each sequence (see the module notes).

    Parameters
    ----------
    log_probs : (T, N, C) (or (T, C) unbatched), log-probabilities, e.g. ``log_softmax``.
    targets : (N, S) padded, or the N targets concatenated (Σ target_lengths,); labels in
        [0, C) other than ``blank``.
    input_lengths, target_lengths : (N,) integers (tensors or sequences).
    blank : the blank class. reduction : "mean", "sum" or "none".
    zero_infinity : replace the infinite losses of impossible alignments by 0.

    Examples
    --------
    >>> import minigrad as mg
    >>> lp = mg.tensor([[[0.0, -50.0]], [[-50.0, 0.0]]])   # frames: surely b, surely "1"
    >>> round(ctc_loss(lp, mg.tensor([[1]]), [2], [1]).item(), 6)
    0.0
    """
    _check_reduction("ctc_loss", reduction)
    batched = log_probs.ndim == 3
    if log_probs.ndim not in (2, 3):
        raise ValueError(f"ctc_loss: log_probs must be (T, N, C) or (T, C), got shape "
                         f"{log_probs.shape}")
    lp = log_probs if batched else log_probs.unsqueeze(1)
    if not _dt.is_floating(lp.dtype):
        raise TypeError(f"ctc_loss: log_probs must be floating, got {lp.dtype}")
    if lp.dtype in (_dt.float16, _dt.bfloat16):
        lp = lp.to(dtype=_dt.float32)
    T, N, C = lp.shape
    in_len = _host_ints(input_lengths, "input_lengths").reshape(-1)
    tg_len = _host_ints(target_lengths, "target_lengths").reshape(-1)
    if in_len.shape != (N,) or tg_len.shape != (N,):
        raise ValueError(f"ctc_loss: input_lengths and target_lengths must hold {N} entries, "
                         f"got {in_len.shape[0]} and {tg_len.shape[0]}")
    if (in_len < 1).any() or (in_len > T).any() or (tg_len < 0).any():
        raise ValueError(f"ctc_loss: input_lengths must be in [1, {T}] and target_lengths "
                         f"non-negative, got {in_len.tolist()} and {tg_len.tolist()}")
    if not 0 <= blank < C:
        raise ValueError(f"ctc_loss: blank {blank} is not a class of the {C} in log_probs")
    labels = _targets(targets, tg_len, N if batched else 1)
    valid = np.arange(labels.shape[1]) < tg_len[:, None]
    if ((labels < 0) | (labels >= C) | (labels == blank))[valid].any():
        raise ValueError(f"ctc_loss: target labels must be in [0, {C}) and differ from the "
                         f"blank {blank}")
    S2 = 2 * labels.shape[1] + 1
    ext = np.full((N, S2), blank, dtype=np.int64)            # l' = b l1 b l2 ... b
    ext[:, 1::2] = np.where(valid, labels, blank)
    skip = np.zeros((N, S2), dtype=bool)                      # the s − 2 transition
    skip[:, 2:] = (ext[:, 2:] != blank) & (ext[:, 2:] != ext[:, :-2])
    xp, dev = lp.xp, lp.device
    index = creation.tensor(np.broadcast_to(ext, (T, N, S2)).copy(), device=dev)
    lp_ext = lp.gather(2, index)                              # lp_t(l'_s): (T, N, S2)
    no_skip = const(xp.asarray(~skip))
    first = np.full((N, S2), _NEG)
    first[:, :2] = 0.0
    alpha = where(const(xp.asarray(first < 0)), _NEG, lp_ext[0])
    alphas = [alpha]
    for t in range(1, T):
        a1 = pad(alpha, (1, 0), value=_NEG)[:, :S2]                  # α_{t−1}(s − 1)
        a2 = where(no_skip, _NEG, pad(alpha, (2, 0), value=_NEG)[:, :S2])  # α_{t−1}(s − 2)
        alpha = stack([alpha, a1, a2], 0).logsumexp(0) + lp_ext[t]
        alphas.append(alpha)
    last = stack(alphas, 0)[creation.tensor(in_len - 1, device=dev),
                            creation.tensor(np.arange(N), device=dev)]      # (N, S2)
    ends = np.stack([2 * tg_len, np.maximum(2 * tg_len - 1, 0)], axis=1)
    pair = last.gather(1, creation.tensor(ends, device=dev))
    if (tg_len == 0).any():  # an empty target ends only in the blank: no second end
        pair = where(const(xp.asarray(np.stack([tg_len < 0, tg_len == 0], 1))), _NEG, pair)
    loss = -pair.logsumexp(1)
    impossible = const(loss.data > -0.5 * _NEG)
    loss = where(impossible, 0.0 if zero_infinity else float("inf"), loss)
    if reduction == "mean":
        scale = creation.tensor(1.0 / np.maximum(tg_len, 1), dtype=loss.dtype, device=dev)
        loss = (loss * scale).mean()
    elif reduction == "sum":
        loss = loss.sum()
    elif not batched:
        loss = loss.squeeze(0)
    return loss.to(dtype=log_probs.dtype) if loss.dtype != log_probs.dtype else loss


class CTCLoss(_Loss):
    """:func:`ctc_loss` as a module (PyTorch's ``nn.CTCLoss(blank=0, reduction="mean",
    zero_infinity=False)``); ``forward(log_probs, targets, input_lengths,
    target_lengths)``."""

    def __init__(self, blank=0, reduction="mean", zero_infinity=False):
        super().__init__(reduction)
        self.blank, self.zero_infinity = blank, zero_infinity

    def forward(self, log_probs, targets, input_lengths, target_lengths):
        return ctc_loss(log_probs, targets, input_lengths, target_lengths, self.blank,
                        self.reduction, self.zero_infinity)
