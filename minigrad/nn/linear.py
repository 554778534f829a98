r"""Linear layers: ``Linear``, ``Identity``, ``Flatten``/``Unflatten`` and the low-rank
``LowRankLinear``.

``Linear``: y = x Wᵀ + b with W of shape (out_features, in_features) (PyTorch's layout).
One Function does the product and the bias:

.. math::
    g_x = g_y W, \qquad g_W = g_y^\top x, \qquad g_b = \textstyle\sum_{\text{rows}} g_y

each written in Tensor ops, so it differentiates again.

``LowRankLinear``: W ≈ U V with U (out, r), V (r, in), so y = (x Vᵀ) Uᵀ + b costs
r·(in + out) multiply-adds per row instead of in·out. ``from_linear`` takes the truncated
SVD W = P Σ Qᵀ and keeps the r largest singular values, splitting √Σ between the
factors (U = P_r √Σ_r, V = √Σ_r Q_rᵀ); by Eckart–Young this is the best rank-r
approximation in the Frobenius norm, with relative error
‖W − UV‖_F / ‖W‖_F = √(Σ_{i>r} σᵢ²) / √(Σ_i σᵢ²).
"""
from __future__ import annotations

import math

import numpy as np

from .. import creation
from ..amp.autocast_mode import autocast_dtype, half_matmul, matmul_into, sum_rows_into
from ..autograd.function import ADDED, Function
from ..autograd.grad_mode import no_grad
from ..ops.elementwise import in_float32
from ..tensor import Tensor
from . import init
from .module import Module, Parameter

__all__ = ["linear", "bilinear", "LinearFunction", "Linear", "Identity", "Flatten",
           "Unflatten", "LowRankLinear", "Bilinear"]


class LinearFunction(Function):
    """y = x Wᵀ (+ b).   VJP: gx = gy W, gW = gyᵀ x (rows of all leading dims), gb = Σ gy."""

    amp_policy = "half"
    adds_to_leaf_grads = True  # W's and b's gradients, on CUDA: see backward

    def forward(self, xp, x, w, *b):
        y = half_matmul(xp, x, w.T)
        if b:
            y += b[0]
        return y

    def backward(self, gy):
        x, w = self.inputs[0], self.inputs[1]
        need = self.needs_input_grad
        gx = gy @ w if need[0] else None
        gw = None
        dest = self.offered_grad(1)
        out_f, in_f = w.shape
        rows = math.prod(x.shape[:-1])  # explicit, not -1: in_f or out_f may be 0
        if dest is not None and matmul_into(
                x.xp, gy.data.reshape(rows, out_f).T, x.data.reshape(rows, in_f), dest):
            gw = ADDED  # a leaf weight's .grad, added into by the GEMM (β = 1)
        elif need[1]:
            gw = gy.reshape(rows, out_f).mT @ x.reshape(rows, in_f)
        out = (gx, gw)
        if len(self.inputs) == 3:
            gb = None
            dest = self.offered_grad(2)
            if dest is not None and gy.ndim > 1 and \
                    sum_rows_into(x.xp, gy.data.reshape(rows, out_f), dest):
                gb = ADDED  # a leaf bias's .grad, added into by one GEMM with a ones row
            elif need[2]:
                gb = gy.sum(tuple(range(gy.ndim - 1))) if gy.ndim > 1 else gy
            out += (gb,)
        return out


def linear(input, weight, bias=None):
    """y = x Wᵀ + b (PyTorch's ``F.linear``); x (*, in), W (out, in), b (out,). A 1-D W
    (in,) is one output feature, dropped from the result as in PyTorch: y = x·W + b (*),
    with b 0-d or (1,)."""
    if weight.ndim == 1:
        if bias is not None and bias.shape not in ((), (1,)):
            raise ValueError(f"linear: with a 1-D weight {weight.shape} the bias must be 0-d "
                             f"or (1,), got {bias.shape}")
        return linear(input, weight.unsqueeze(0),
                      None if bias is None else bias.reshape(1)).squeeze(-1)
    if weight.ndim != 2:
        raise ValueError(f"linear: weight must be 2-D (out_features, in_features) or 1-D "
                         f"(in_features,), got shape {weight.shape}")
    if input.ndim < 1 or input.shape[-1] != weight.shape[1]:
        raise ValueError(f"linear: input of shape {input.shape} does not match weight of shape "
                         f"{weight.shape} (expected last dim {weight.shape[1]})")
    if input.dtype != weight.dtype and autocast_dtype() is None:     # autocast casts both
        raise TypeError(f"linear: input dtype {input.dtype} and weight dtype {weight.dtype} "
                        "differ (convert one: x.to(dtype=...) or module.double()/.float())")
    if bias is None:
        return LinearFunction()(input, weight)
    if bias.ndim == 1 and bias.shape[0] not in (1, weight.shape[0]):
        raise ValueError(f"linear: bias must have shape ({weight.shape[0]},), one per output "
                         f"feature of weight {weight.shape}, got {bias.shape}")
    return LinearFunction()(input, weight, bias)


@in_float32  # (a product and a sum rounded to half in turn were 2.6 ulps off)
def bilinear(input1, input2, weight, bias=None):
    r"""y_k = x₁ᵀ W_k x₂ + b_k (PyTorch's ``F.bilinear``).

    Parameters
    ----------
    input1 : (*, in1); input2 : (*, in2), the same leading dims.
    weight : (out, in1, in2); bias : optional (out,).

    Returns
    -------
    (*, out). Computed as (x₁ W_k) · x₂: a batched matmul of x₁ with every W_k, then a
    product with x₂ summed over in2; both are tensor ops, so the gradients
    g_x₁ = Σ_k g_k W_k x₂, g_x₂ = Σ_k g_k W_kᵀ x₁, g_W_k = Σ g_k x₁ x₂ᵀ, g_b = Σ g
    differentiate again.

    Examples
    --------
    >>> import minigrad as mg
    >>> W = mg.tensor([[[1.0, 2.0], [3.0, 4.0]]])          # out = 1, in1 = in2 = 2
    >>> bilinear(mg.tensor([[1.0, 1.0]]), mg.tensor([[1.0, 0.0]]), W, mg.tensor([0.5]))
    tensor([[4.5]])
    """
    if weight.ndim != 3:
        raise ValueError(f"bilinear: weight must be 3-D (out_features, in1_features, "
                         f"in2_features), got shape {weight.shape}")
    if input1.ndim < 1 or input1.shape[:-1] != input2.shape[:-1] or input2.ndim < 1:
        raise ValueError(f"bilinear: input1 {input1.shape} and input2 {input2.shape} must "
                         "have the same leading dims (*, in1) and (*, in2)")
    if input1.shape[-1] != weight.shape[1] or input2.shape[-1] != weight.shape[2]:
        raise ValueError(f"bilinear: inputs of shapes {input1.shape} and {input2.shape} do "
                         f"not match weight {weight.shape} (expected last dims "
                         f"{weight.shape[1]} and {weight.shape[2]})")
    if bias is not None and bias.shape != (weight.shape[0],):
        raise ValueError(f"bilinear: bias must have shape ({weight.shape[0]},), one per "
                         f"output feature of weight {weight.shape}, got {bias.shape}")
    # (*, 1, 1, in1) @ (out, in1, in2) -> (*, out, 1, in2); then · x₂ summed over in2
    t = input1.unsqueeze(-2).unsqueeze(-3) @ weight
    y = (t.squeeze(-2) * input2.unsqueeze(-2)).sum(-1)
    return y if bias is None else y + bias


class Linear(Module):
    r"""Fully connected layer y = x Wᵀ + b (PyTorch's ``nn.Linear``).

    Parameters
    ----------
    in_features, out_features : int
    bias : bool

    Weight (out_features, in_features) ~ kaiming_uniform_(a=√5), i.e.
    U[−1/√in, 1/√in]; bias ~ U[−1/√in, 1/√in] (PyTorch's defaults).

    Examples
    --------
    >>> import minigrad as mg
    >>> fc = Linear(4, 2)
    >>> fc(mg.randn(3, 4)).shape
    (3, 2)
    >>> fc
    Linear(in_features=4, out_features=2, bias=True)
    """

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        if in_features < 0 or out_features < 0:
            raise ValueError(f"Linear: feature sizes must be non-negative, got in_features="
                             f"{in_features}, out_features={out_features}")
        self.in_features, self.out_features = in_features, out_features
        self.weight = Parameter(creation.empty(out_features, in_features, dtype=dtype,
                                               device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.reset_layer_(self.weight, self.bias)

    def _check_input(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"{self!r}: expected a Tensor, got {type(input).__name__}")
        if input.ndim < 1 or input.shape[-1] != self.in_features:
            raise ValueError(f"{self!r}: expected input with last dimension {self.in_features} "
                             f"(shape (*, {self.in_features})), got shape {input.shape}")

    def forward(self, input):
        self._check_input(input)
        if self.bias is None:
            return LinearFunction()(input, self.weight)
        return LinearFunction()(input, self.weight, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}")


class Bilinear(Module):
    """y_k = x₁ᵀ W_k x₂ + b_k (PyTorch's ``nn.Bilinear``, :func:`bilinear` with its own
    parameters); W (out, in1, in2) and b (out,) ~ U[−1/√in1, 1/√in1]."""

    def __init__(self, in1_features, in2_features, out_features, bias=True, device=None,
                 dtype=None):
        super().__init__()
        self.in1_features, self.in2_features = in1_features, in2_features
        self.out_features = out_features
        kw = dict(dtype=dtype, device=device)
        self.weight = Parameter(creation.empty(out_features, in1_features, in2_features, **kw))
        if bias:
            self.bias = Parameter(creation.empty(out_features, **kw))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        bound = 1 / math.sqrt(self.in1_features)
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1, input2):
        return bilinear(input1, input2, self.weight, self.bias)

    def extra_repr(self):
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class Identity(Module):
    """y = x (arguments are accepted and ignored, as PyTorch)."""

    def __init__(self, *args, **kwargs):
        super().__init__()

    def forward(self, input):
        return input


class Flatten(Module):
    """Flatten dims ``start_dim..end_dim`` into one (default: all but the batch dim)."""

    def __init__(self, start_dim=1, end_dim=-1):
        super().__init__()
        self.start_dim, self.end_dim = start_dim, end_dim

    def forward(self, input):
        return input.flatten(self.start_dim, self.end_dim)

    def extra_repr(self):
        return f"start_dim={self.start_dim}, end_dim={self.end_dim}"


class Unflatten(Module):
    """Expand dim ``dim`` into ``unflattened_size`` (the inverse of Flatten)."""

    def __init__(self, dim, unflattened_size):
        super().__init__()
        self.dim, self.unflattened_size = dim, tuple(unflattened_size)

    def forward(self, input):
        return input.unflatten(self.dim, self.unflattened_size)

    def extra_repr(self):
        return f"dim={self.dim}, unflattened_size={self.unflattened_size}"


class LowRankLinear(Module):
    r"""A Linear layer with a factorized weight W ≈ U V (rank r): y = (x Vᵀ) Uᵀ + b.

    Parameters
    ----------
    in_features, out_features : int
    rank : int, 1 ≤ rank ≤ min(in_features, out_features)
    bias : bool

    Attributes
    ----------
    U : Parameter (out_features, rank)
    V : Parameter (rank, in_features)
    num_parameters : int — parameters of this layer (r·(in + out) [+ out])
    dense_num_parameters : int — those of the Linear it replaces (in·out [+ out])
    relative_error : float or None — ‖W − UV‖_F / ‖W‖_F when built by
        :meth:`from_linear`.

    A fresh layer is initialized so that UV has the variance of PyTorch's default
    Linear weight: each factor U[±b], b = (3/(in·r))^{1/4}.

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad import nn
    >>> mg.manual_seed(0)
    0
    >>> dense = nn.Linear(64, 32)
    >>> low = LowRankLinear.from_linear(dense, rank=32)   # full rank: exact
    >>> low.relative_error < 1e-5
    True
    >>> low8 = LowRankLinear.from_linear(dense, rank=8)
    >>> low8.num_parameters, low8.dense_num_parameters
    (800, 2080)
    """

    def __init__(self, in_features, out_features, rank, bias=True, device=None, dtype=None):
        super().__init__()
        if not 1 <= rank <= min(in_features, out_features):
            raise ValueError(f"LowRankLinear: rank must be in [1, min(in_features, "
                             f"out_features)] = [1, {min(in_features, out_features)}], got "
                             f"{rank}")
        self.in_features, self.out_features, self.rank = in_features, out_features, rank
        kw = dict(dtype=dtype, device=device)
        self.U = Parameter(creation.empty(out_features, rank, **kw))
        self.V = Parameter(creation.empty(rank, in_features, **kw))
        if bias:
            self.bias = Parameter(creation.empty(out_features, **kw))
        else:
            self.register_parameter("bias", None)
        self.relative_error = None
        self.reset_parameters()

    def reset_parameters(self):
        # Var(UV)_ij = r·Var(U)·Var(V) = 1/(3·in) (PyTorch's Linear) with Var(U) = Var(V).
        var = math.sqrt(1.0 / (3.0 * self.in_features * self.rank))
        bound = math.sqrt(3.0 * var)
        init.uniform_(self.U, -bound, bound)
        init.uniform_(self.V, -bound, bound)
        if self.bias is not None:
            b = init.default_bias_bound(self.in_features)
            init.uniform_(self.bias, -b, b)

    @property
    def num_parameters(self):
        return self.rank * (self.in_features + self.out_features) + (
            self.out_features if self.bias is not None else 0)

    @property
    def dense_num_parameters(self):
        return self.in_features * self.out_features + (
            self.out_features if self.bias is not None else 0)

    @classmethod
    def from_linear(cls, linear, rank):
        """The best rank-``rank`` factorization of ``linear.weight`` (truncated SVD); the
        bias is copied. Sets ``relative_error`` = ‖W − UV‖_F / ‖W‖_F."""
        W = linear.weight.data
        xp = linear.weight.xp
        layer = cls(linear.in_features, linear.out_features, rank,
                    bias=linear.bias is not None, device=linear.weight.device,
                    dtype=linear.weight.dtype)
        P, S, Qt = xp.linalg.svd(W.astype(np.float64), full_matrices=False)
        root = xp.sqrt(S[:rank])
        with no_grad():
            layer.U.data[...] = (P[:, :rank] * root[None, :]).astype(W.dtype)
            layer.V.data[...] = (root[:, None] * Qt[:rank]).astype(W.dtype)
            if linear.bias is not None:
                layer.bias.data[...] = linear.bias.data
        total = float((S * S).sum())
        tail = float((S[rank:] * S[rank:]).sum())
        layer.relative_error = math.sqrt(tail / total) if total > 0 else 0.0
        return layer

    @property
    def weight(self):
        """The dense weight U V (out_features, in_features), differentiable."""
        return self.U @ self.V

    def forward(self, input):
        if input.ndim < 1 or input.shape[-1] != self.in_features:
            raise ValueError(f"{type(self).__name__}(in_features={self.in_features}, "
                             f"out_features={self.out_features}, rank={self.rank}): expected "
                             f"input with last dimension {self.in_features}, got shape "
                             f"{input.shape}")
        h = LinearFunction()(input, self.V)
        if self.bias is None:
            return LinearFunction()(h, self.U)
        return LinearFunction()(h, self.U, self.bias)

    def extra_repr(self):
        s = (f"in_features={self.in_features}, out_features={self.out_features}, "
             f"rank={self.rank}, bias={self.bias is not None}, parameters="
             f"{self.num_parameters}/{self.dense_num_parameters}")
        if self.relative_error is not None:
            s += f", relative_error={self.relative_error:.4g}"
        return s
