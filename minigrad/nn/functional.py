"""``minigrad.nn.functional`` (``F``): the layers as functions, PyTorch's names and
signatures. Each function lives with its layer family (``conv.py``, ``pooling.py``...);
this module gathers them, the activations of :mod:`minigrad.ops.activation`, and the
loss functions of :mod:`minigrad.nn.losses`.

``inplace`` arguments are accepted for compatibility and ignored: minigrad never writes
into an input.
"""
from __future__ import annotations

import numpy as np

from .. import dtypes as _dt
from ..ops import activation as _act
from ..ops.elementwise import in_float32
from ..ops.reduction import LogSoftmax as _LogSoftmax
from ..ops.reduction import Softmax as _Softmax
from ..ops.shape import broadcast_to as _broadcast_to
from ..ops.shape import pad
from .activation import rrelu
from .activation import softmax_dim as _softmax_dim
from .attention import scaled_dot_product_attention
from .conv import conv1d, conv2d, conv_transpose1d, conv_transpose2d
from .conv3d import conv3d, conv_transpose3d
from .dropout import (
    alpha_dropout,
    dropout,
    dropout1d,
    dropout2d,
    dropout3d,
    feature_alpha_dropout,
    stochastic_depth,
)
from .embedding import embedding, embedding_bag
from .fold import channel_shuffle, fold, pixel_shuffle, pixel_unshuffle, unfold
from .linear import bilinear, linear
from .normalization import (
    batch_norm,
    group_norm,
    instance_norm,
    layer_norm,
    local_response_norm,
    rms_norm,
)
from .pooling import (
    adaptive_avg_pool1d,
    adaptive_avg_pool2d,
    adaptive_avg_pool3d,
    adaptive_max_pool1d,
    adaptive_max_pool2d,
    adaptive_max_pool3d,
    avg_pool1d,
    avg_pool2d,
    avg_pool3d,
    lp_pool1d,
    lp_pool2d,
    lp_pool3d,
    max_pool1d,
    max_pool2d,
    max_pool3d,
)
from .sampling import affine_grid, grid_sample
from .unpooling import max_unpool1d, max_unpool2d, max_unpool3d
from .upsampling import interpolate, upsample, upsample_bilinear, upsample_nearest

__all__ = [
    "linear", "conv1d", "conv2d", "conv_transpose1d", "conv_transpose2d", "max_pool1d",
    "max_pool2d", "avg_pool1d", "avg_pool2d",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "batch_norm", "layer_norm", "group_norm",
    "dropout", "dropout1d", "dropout2d", "alpha_dropout", "feature_alpha_dropout",
    "stochastic_depth", "embedding", "pad", "relu",
    "leaky_relu", "elu", "gelu", "silu", "tanh", "sigmoid", "softplus", "softmax",
    "log_softmax", "one_hot", "normalize", "cosine_similarity", "softmin", "selu", "celu",
    "scaled_dot_product_attention",
    "hardtanh", "relu6", "hardsigmoid", "hardswish", "mish", "logsigmoid", "softsign",
    "hardshrink", "softshrink", "tanhshrink",
    "prelu", "glu", "threshold", "interpolate", "adaptive_max_pool1d", "adaptive_max_pool2d",
    "instance_norm", "rms_norm", "local_response_norm", "fold", "unfold", "pixel_shuffle",
    "pixel_unshuffle", "gumbel_softmax", "embedding_bag", "rrelu", "channel_shuffle",
    "relu_", "leaky_relu_", "elu_", "celu_", "selu_", "hardtanh_", "threshold_", "rrelu_",
]
from .fractional import (  # noqa: E402
    fractional_max_pool2d,
    fractional_max_pool2d_with_indices,
    fractional_max_pool3d,
    fractional_max_pool3d_with_indices,
)


def _with_indices(pool):
    """PyTorch's ``<pool>_with_indices``: ``pool`` with ``return_indices=True``."""
    def with_indices(input, *args, **kwargs):
        kwargs.pop("return_indices", None)
        return pool(input, *args, return_indices=True, **kwargs)
    with_indices.__name__ = f"{pool.__name__}_with_indices"
    with_indices.__doc__ = f":func:`{pool.__name__}` returning (output, indices)."
    return with_indices


max_pool1d_with_indices = _with_indices(max_pool1d)
max_pool2d_with_indices = _with_indices(max_pool2d)
max_pool3d_with_indices = _with_indices(max_pool3d)
adaptive_max_pool1d_with_indices = _with_indices(adaptive_max_pool1d)
adaptive_max_pool2d_with_indices = _with_indices(adaptive_max_pool2d)
adaptive_max_pool3d_with_indices = _with_indices(adaptive_max_pool3d)

__all__ += [
    "fractional_max_pool2d", "fractional_max_pool3d", "fractional_max_pool2d_with_indices",
    "fractional_max_pool3d_with_indices", "max_pool1d_with_indices",
    "max_pool2d_with_indices", "max_pool3d_with_indices", "adaptive_max_pool1d_with_indices",
    "adaptive_max_pool2d_with_indices", "adaptive_max_pool3d_with_indices",
]
# 3-D layers and pooling extras
__all__ += [
    "conv3d", "conv_transpose3d", "max_pool3d", "avg_pool3d", "adaptive_avg_pool3d",
    "adaptive_max_pool3d", "dropout3d", "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
]


def relu(input, inplace=False):
    return _act.ReLU()(input)


def leaky_relu(input, negative_slope=0.01, inplace=False):
    return _act.LeakyReLU(negative_slope)(input)


def elu(input, alpha=1.0, inplace=False):
    return _act.ELU(alpha)(input)


def gelu(input, approximate="none"):
    return _act.GELU(approximate)(input)


def silu(input, inplace=False):
    return _act.SiLU()(input)


def tanh(input):
    return _act.Tanh()(input)


def sigmoid(input):
    return _act.Sigmoid()(input)


def softplus(input, beta=1.0, threshold=20.0):
    return _act.Softplus(beta, threshold)(input)


def softmax(input, dim=None, dtype=None):
    """Softmax along ``dim`` (PyTorch's implicit dim when None)."""
    if dtype is not None:
        input = input.to(dtype=dtype)
    return _Softmax(_softmax_dim(input.ndim) if dim is None else dim)(input)


def log_softmax(input, dim=None, dtype=None):
    """log-softmax along ``dim`` (PyTorch's implicit dim when None)."""
    if dtype is not None:
        input = input.to(dtype=dtype)
    return _LogSoftmax(_softmax_dim(input.ndim) if dim is None else dim)(input)


def selu(input, inplace=False):
    return _act.selu(input)


def celu(input, alpha=1.0, inplace=False):
    return _act.celu(input, alpha)


def hardtanh(input, min_val=-1.0, max_val=1.0, inplace=False):
    return _act.hardtanh(input, min_val, max_val)


def relu6(input, inplace=False):
    return _act.relu6(input)


def hardsigmoid(input, inplace=False):
    return _act.hardsigmoid(input)


def hardswish(input, inplace=False):
    return _act.hardswish(input)


def mish(input, inplace=False):
    return _act.mish(input)


def logsigmoid(input):
    return _act.logsigmoid(input)


def softsign(input):
    return _act.softsign(input)


def hardshrink(input, lambd=0.5):
    return _act.hardshrink(input, lambd)


def softshrink(input, lambd=0.5):
    return _act.softshrink(input, lambd)


def tanhshrink(input):
    return _act.tanhshrink(input)


def prelu(input, weight):
    return _act.prelu(input, weight)


def glu(input, dim=-1):
    return _act.glu(input, dim)


def threshold(input, threshold, value, inplace=False):
    return _act.threshold(input, threshold, value)


def softmin(input, dim=None, dtype=None):
    """softmax(−x) along ``dim`` (PyTorch's implicit dim when None)."""
    return softmax(-input, _softmax_dim(input.ndim) if dim is None else dim, dtype)


def gumbel_softmax(logits, tau=1.0, hard=False, eps=1e-10, dim=-1):
    r"""A differentiable sample of a categorical distribution (Jang et al. 2017; Maddison
    et al. 2017):

    .. code-block:: text

        g_i  = −log E_i,  E_i ~ Exp(1)           (Gumbel(0, 1) noise)
        y    = softmax((logits + g) / τ)          (→ one-hot as τ → 0)
        hard: y_hard = one_hot(argmax y);  out = y_hard − stop_grad(y) + y

    With ``hard`` the value is one-hot (to rounding) and the gradient is the soft sample's
    (the straight-through estimator). The noise comes from minigrad's seeded generator;
    ``eps`` is accepted for PyTorch compatibility (unused there too).

    >>> import minigrad as mg
    >>> _ = mg.manual_seed(0)
    >>> y = gumbel_softmax(mg.zeros(2, 3), tau=0.5, hard=True)
    >>> y.round(decimals=6).tolist()
    [[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
    """
    from .. import random as _random
    from ..ops.elementwise import const

    if tau <= 0:
        raise ValueError(f"gumbel_softmax: tau must be positive, got {tau}")
    xp = logits.xp
    e = -xp.log1p(-_random.uniform(logits.shape, 0.0, 1.0, np.float64, logits.device))
    gumbels = const((-xp.log(e)).astype(logits.dtype))
    y = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y
    axis = dim % y.ndim
    index = xp.expand_dims(y.data.argmax(axis=axis), axis)
    classes = xp.arange(y.shape[axis]).reshape((-1,) + (1,) * (y.ndim - 1 - axis))
    y_hard = (classes == index).astype(y.dtype)        # one-hot along dim
    return const(y_hard) - y.detach() + y


def _in_place(name, input, output):
    """PyTorch's in-place functional forms (``F.relu_`` ...): ``output`` written into
    ``input``'s array and ``input`` returned. While autograd records (the input requires
    grad), minigrad, which records no in-place op, returns ``output`` instead: the value
    is PyTorch's, only other names for ``input`` keep the old one."""
    if output.requires_grad:
        return output
    return input._store(name, output)


def relu_(input):
    """:func:`relu`, in place (see :func:`_in_place`)."""
    return _in_place("relu_", input, relu(input))


def leaky_relu_(input, negative_slope=0.01):
    return _in_place("leaky_relu_", input, leaky_relu(input, negative_slope))


def elu_(input, alpha=1.0):
    return _in_place("elu_", input, elu(input, alpha))


def celu_(input, alpha=1.0):
    return _in_place("celu_", input, celu(input, alpha))


def selu_(input):
    return _in_place("selu_", input, selu(input))


def hardtanh_(input, min_val=-1.0, max_val=1.0):
    return _in_place("hardtanh_", input, hardtanh(input, min_val, max_val))


def threshold_(input, threshold, value):
    return _in_place("threshold_", input, _act.threshold(input, threshold, value))


def rrelu_(input, lower=1.0 / 8, upper=1.0 / 3, training=False):
    return _in_place("rrelu_", input, rrelu(input, lower, upper, training))


def normalize(input, p=2.0, dim=1, eps=1e-12):
    r"""x / max(‖x‖_p, eps) along ``dim``: unit p-norm vectors (PyTorch's ``F.normalize``).
    ``eps`` keeps a zero vector at zero instead of 0/0."""
    _dt.require_floating("normalize", input)
    return input / input.norm(p, dim, keepdim=True).clamp(min=eps)


@in_float32(autocast_list=True)
def cosine_similarity(x1, x2, dim=1, eps=1e-8):
    r"""cos θ = Σ (x1 / max(‖x1‖, eps))·(x2 / max(‖x2‖, eps)) along ``dim``, after
    broadcasting x1 and x2 together (PyTorch's ``F.cosine_similarity``). Each input is
    divided by its own norm before the product, so large entries do not overflow. An
    integer operand is converted to the other's floating dtype; two integer tensors are
    computed in the default float dtype (where minigrad differs: PyTorch refuses them)."""
    try:
        shape = np.broadcast_shapes(x1.shape, x2.shape)
    except ValueError:
        raise ValueError(f"cosine_similarity: shapes {tuple(x1.shape)} and "
                         f"{tuple(x2.shape)} do not broadcast") from None
    x1, x2 = _broadcast_to(x1, shape), _broadcast_to(x2, shape)
    dtype = _dt.promote_types(x1.dtype, x2.dtype)  # an integer operand joins the other's
    if not _dt.is_floating(dtype):                 # floats, as PyTorch; two: the default
        dtype = _dt.get_default_dtype()
    x1, x2 = x1.to(dtype=dtype), x2.to(dtype=dtype)
    n1 = x1.norm(2, dim, keepdim=True).clamp(min=eps)
    n2 = x2.norm(2, dim, keepdim=True).clamp(min=eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


def one_hot(tensor, num_classes=-1):
    """Integer class indices → int64 one-hot vectors along a new last dim (no gradient)."""
    from ..tensor import _make_tensor

    idx = tensor.data
    xp = tensor.xp
    if idx.dtype.kind not in "iu":
        raise TypeError(f"one_hot: expects an integer tensor, got {idx.dtype}")
    if num_classes == -1:
        num_classes = int(idx.max()) + 1 if idx.size else 0
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= num_classes):
        raise ValueError(f"one_hot: class values must be in [0, {num_classes}), got range "
                         f"[{int(idx.min())}, {int(idx.max())}]")
    out = (idx[..., None] == xp.arange(num_classes)).astype("int64")
    return _make_tensor(out, xp, False)


# The loss functions (the Modules are in minigrad.nn).
from .ctc import ctc_loss  # noqa: E402  (imports .losses)
from .distance import pdist  # noqa: E402
from .linear_cross_entropy import linear_cross_entropy  # noqa: E402
from .losses import (  # noqa: E402
    binary_cross_entropy,
    binary_cross_entropy_with_logits,
    cosine_embedding_loss,
    cross_entropy,
    distillation_loss,
    entropy_penalty,
    gaussian_nll_loss,
    hinge_embedding_loss,
    huber_loss,
    kl_div,
    l1_loss,
    l1_penalty,
    l2_penalty,
    margin_ranking_loss,
    mse_loss,
    multi_margin_loss,
    multilabel_margin_loss,
    multilabel_soft_margin_loss,
    nll_loss,
    pairwise_distance,
    poisson_nll_loss,
    smooth_l1_loss,
    soft_margin_loss,
    triplet_margin_loss,
    triplet_margin_with_distance_loss,
)

__all__ += [
    "mse_loss", "l1_loss", "huber_loss", "smooth_l1_loss", "cross_entropy", "nll_loss",
    "linear_cross_entropy",
    "binary_cross_entropy", "binary_cross_entropy_with_logits", "kl_div",
    "distillation_loss", "entropy_penalty", "l1_penalty", "l2_penalty",
    "margin_ranking_loss", "hinge_embedding_loss", "cosine_embedding_loss",
    "pairwise_distance", "triplet_margin_loss", "triplet_margin_with_distance_loss",
    "soft_margin_loss", "multilabel_soft_margin_loss",
    "multi_margin_loss", "poisson_nll_loss", "gaussian_nll_loss", "ctc_loss",
]
# sampling grids, bilinear, multilabel margin, pdist, the deprecated upsample aliases
__all__ += [
    "affine_grid", "grid_sample", "bilinear", "multilabel_margin_loss", "pdist", "upsample",
    "upsample_nearest", "upsample_bilinear",
]
