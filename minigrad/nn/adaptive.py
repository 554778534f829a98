r"""Adaptive softmax (Grave, Joulin, Cissé, Grangier, Jégou, "Efficient softmax
approximation for GPUs", ICML 2017; PyTorch's ``nn.AdaptiveLogSoftmaxWithLoss``).

The classes, sorted by frequency, are cut at ``cutoffs`` c_1 < … < c_K into a shortlist
[0, c_1) and tail clusters [c_i, c_{i+1}). A head Linear scores the shortlist classes and
one token per cluster; cluster i has its own two-layer projection
in → in / div_value^(i+1) → (c_{i+1} − c_i), so rare classes cost a small matrix:

    log p(y | x) = log softmax(head(x))[y]                              y in the shortlist
    log p(y | x) = log softmax(head(x))[c_1 + i] + log softmax(tail_i(x))[y − c_i]
                                                                        y in cluster i
"""
from __future__ import annotations

import numbers
from collections import namedtuple

import numpy as np

from ..ops import elementwise as _elementwise
from ..ops import manipulation as _manipulation
from ..ops import shape as _shape
from ..tensor import Tensor
from .linear import Linear
from .module import Module, ModuleList, Sequential

__all__ = ["AdaptiveLogSoftmaxWithLoss"]

_ASMoutput = namedtuple("_ASMoutput", ["output", "loss"])


class AdaptiveLogSoftmaxWithLoss(Module):
    """Adaptive softmax with its negative log-likelihood loss.

    ``forward(input, target)`` returns ``(output, loss)``: output[n] = log p(target[n] |
    input[n]) and loss = −mean(output). ``log_prob(input)`` gives every class's log
    probability (N, n_classes) and ``predict(input)`` the most likely class.

    >>> import minigrad as mg
    >>> asm = AdaptiveLogSoftmaxWithLoss(16, 10, cutoffs=[4, 7])
    >>> out, loss = asm(mg.randn(5, 16), mg.tensor([0, 3, 5, 8, 9]))
    >>> out.shape, bool(abs(asm.log_prob(mg.randn(2, 16)).exp().sum(1) - 1).max() < 1e-5)
    ((5,), True)
    """

    def __init__(self, in_features, n_classes, cutoffs, div_value=4.0, head_bias=False,
                 device=None, dtype=None):
        super().__init__()
        cutoffs = list(cutoffs)
        if (not cutoffs or cutoffs != sorted(cutoffs) or min(cutoffs) <= 0
                or max(cutoffs) > n_classes - 1 or len(set(cutoffs)) != len(cutoffs)
                or any(not isinstance(c, numbers.Integral) for c in cutoffs)):
            raise ValueError("cutoffs should be a sequence of unique, positive integers "
                             "sorted in an increasing order, where each value is between 1 "
                             "and n_classes-1")
        self.in_features, self.n_classes = in_features, n_classes
        self.cutoffs = cutoffs + [n_classes]
        self.div_value = div_value
        self.head_bias = head_bias
        self.shortlist_size = self.cutoffs[0]
        self.n_clusters = len(self.cutoffs) - 1
        self.head_size = self.shortlist_size + self.n_clusters
        kw = dict(device=device, dtype=dtype)
        self.head = Linear(in_features, self.head_size, bias=head_bias, **kw)
        self.tail = ModuleList()
        for i in range(self.n_clusters):
            hsz = int(in_features // (div_value ** (i + 1)))
            osz = self.cutoffs[i + 1] - self.cutoffs[i]
            self.tail.append(Sequential(Linear(in_features, hsz, bias=False, **kw),
                                        Linear(hsz, osz, bias=False, **kw)))

    def reset_parameters(self):
        self.head.reset_parameters()
        for projection in self.tail:
            for layer in projection:
                layer.reset_parameters()

    def _batched(self, input, what):
        if not isinstance(input, Tensor):
            raise TypeError(f"{what}: expected a Tensor, got {type(input).__name__}")
        if input.ndim not in (1, 2) or input.shape[-1] != self.in_features:
            raise ValueError(f"{what}: expected input of shape (N, {self.in_features}) or "
                             f"({self.in_features},), got {input.shape}")
        return input.ndim == 2

    def forward(self, input_, target_):  # (PyTorch's argument names)
        input, target = input_, target_
        batched = self._batched(input, "AdaptiveLogSoftmaxWithLoss")
        if not isinstance(target, Tensor) or target.dtype.kind not in "iu":
            raise TypeError("AdaptiveLogSoftmaxWithLoss: target must be an integer tensor")
        if target.ndim != (1 if batched else 0) or (batched and
                                                    target.shape[0] != input.shape[0]):
            raise ValueError(f"AdaptiveLogSoftmaxWithLoss: input {input.shape} and target "
                             f"{target.shape} should have the same batch size (target 1-D "
                             "for a 2-D input, 0-D for a 1-D input)")
        x = input if batched else input.unsqueeze(0)
        t = (target if batched else target.reshape(1)).data.astype(np.int64)
        xp = x.xp
        if t.size and (int(t.min()) < 0 or int(t.max()) >= self.n_classes):
            raise RuntimeError(f"Target values should be in [0, {self.n_classes - 1}], but "
                             f"values in range [{int(t.min())}, {int(t.max())}] were found.")
        n = t.shape[0]
        output = _elementwise.const(xp.zeros(n, dtype=x.dtype))
        head_index = t.copy()  # the head column each row reads: its class or its cluster
        for i in range(self.n_clusters):
            low, high = self.cutoffs[i], self.cutoffs[i + 1]
            rows = xp.nonzero((t >= low) & (t < high))[0]
            if rows.size == 0:
                continue
            head_index[rows] = self.shortlist_size + i
            rows_t = _elementwise.const(rows)
            cluster = self.tail[i](x.index_select(0, rows_t)).log_softmax(1)
            local = cluster.gather(1, _elementwise.const((t[rows] - low)[:, None]))
            output = _manipulation.index_add(output, 0, rows_t, local.reshape(-1))
        head = self.head(x).log_softmax(1)
        output = output + head.gather(1, _elementwise.const(head_index[:, None])).reshape(-1)
        loss = (-output).mean()
        return _ASMoutput(output if batched else output.reshape(()), loss)

    def _full_log_prob(self, x):
        head = self.head(x).log_softmax(1)
        parts = [head[:, :self.shortlist_size]]
        for i in range(self.n_clusters):
            cluster = self.tail[i](x).log_softmax(1)
            parts.append(cluster + head[:, self.shortlist_size + i:self.shortlist_size + i + 1])
        return _shape.cat(parts, 1)

    def log_prob(self, input):
        """log p(class | input) for every class: (N, n_classes), or (n_classes,)."""
        batched = self._batched(input, "AdaptiveLogSoftmaxWithLoss.log_prob")
        out = self._full_log_prob(input if batched else input.unsqueeze(0))
        return out if batched else out.squeeze(0)

    def predict(self, input):
        """The most likely class of each input (int64): argmax of :meth:`log_prob`."""
        return self.log_prob(input).argmax(-1)
