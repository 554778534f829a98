r"""Folding an eval-mode BatchNorm into the convolution or linear layer before it
(PyTorch's ``torch.nn.utils.fusion``), so inference runs one layer instead of two.

In eval mode BatchNorm is an affine map per channel c,

.. math:: \mathrm{bn}(z)_c = \frac{z_c - \mu_c}{\sqrt{\sigma^2_c + \epsilon}}\,\gamma_c
          + \beta_c = s_c z_c + (\beta_c - s_c \mu_c),
          \qquad s_c = \frac{\gamma_c}{\sqrt{\sigma^2_c + \epsilon}},

and the layer before it is affine in its weight, z = W ⋆ x + b, with output channel c
carried by the rows W_c (dim 0; dim 1 for a transposed convolution). So

.. math:: W'_c = s_c W_c, \qquad b'_c = s_c (b_c - \mu_c) + \beta_c

gives bn(W ⋆ x + b) = W' ⋆ x + b' exactly (up to rounding).
"""
from __future__ import annotations

import copy

from ...autograd.grad_mode import no_grad
from ...creation import zeros_like
from ..module import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
           "fuse_linear_bn_weights"]


def _check_eval(layer, bn, what):
    if layer.training or bn.training:
        raise RuntimeError(f"{what}: fusion is only for eval mode (call .eval() on both "
                           "modules first)")
    if bn.running_mean is None or bn.running_var is None:
        raise RuntimeError(f"{what}: the BatchNorm keeps no running statistics "
                           "(track_running_stats=False), so it has no fixed affine map")


def _scale(bn_rv, bn_eps, bn_w):
    s = (bn_rv + bn_eps).rsqrt()
    return s if bn_w is None else s * bn_w


def fuse_conv_bn_weights(conv_w, conv_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b, transpose=False):
    """The fused (weight, bias) as Parameters: W' = s·W along the output-channel dim (0,
    or 1 for a transposed convolution), b' = s·(b − μ) + β, s = γ/√(σ² + ε)."""
    with no_grad():
        s = _scale(bn_rv, bn_eps, bn_w)
        if conv_b is None:
            conv_b = zeros_like(bn_rm)
        shape = [1] * conv_w.ndim
        shape[1 if transpose else 0] = -1
        w = conv_w * s.reshape(shape).to(dtype=conv_w.dtype)
        b = (conv_b - bn_rm) * s
        if bn_b is not None:
            b = b + bn_b
        return Parameter(w.data, conv_w.requires_grad), Parameter(
            b.to(dtype=conv_w.dtype).data, conv_w.requires_grad)


def fuse_conv_bn_eval(conv, bn, transpose=False):
    """A copy of ``conv`` whose weight and bias include the eval-mode ``bn`` after it.

    >>> import minigrad as mg
    >>> conv, bn = mg.nn.Conv2d(1, 2, 3).eval(), mg.nn.BatchNorm2d(2).eval()
    >>> fused = mg.nn.utils.fuse_conv_bn_eval(conv, bn)
    >>> x = mg.randn(1, 1, 5, 5)
    >>> bool((fused(x) - bn(conv(x))).abs().max() < 1e-5)
    True
    """
    _check_eval(conv, bn, "fuse_conv_bn_eval")
    fused = copy.deepcopy(conv)
    fused.weight, fused.bias = fuse_conv_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight,
        bn.bias, transpose)
    return fused


def fuse_linear_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b):
    """The fused (weight, bias) of a Linear followed by a BatchNorm1d over its outputs."""
    return fuse_conv_bn_weights(linear_w, linear_b, bn_rm, bn_rv, bn_eps, bn_w, bn_b)


def fuse_linear_bn_eval(linear, bn):
    """A copy of ``linear`` whose weight and bias include the eval-mode ``bn`` after it."""
    _check_eval(linear, bn, "fuse_linear_bn_eval")
    if linear.out_features != bn.num_features:
        raise ValueError(f"fuse_linear_bn_eval: the Linear has {linear.out_features} "
                         f"outputs, the BatchNorm {bn.num_features} features")
    fused = copy.deepcopy(linear)
    fused.weight, fused.bias = fuse_linear_bn_weights(
        fused.weight, fused.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight,
        bn.bias)
    return fused
