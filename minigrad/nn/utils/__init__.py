r"""Gradient clipping and flat parameter vectors (PyTorch's ``torch.nn.utils``).

* :func:`clip_grad_norm_` — rescale all gradients together so that their global norm is
  at most ``max_norm``:

  .. math:: \|g\| = \Bigl(\sum_i \|g_i\|_p^p\Bigr)^{1/p}, \qquad
            g_i \leftarrow g_i \cdot \min\Bigl(1, \frac{\text{max\_norm}}{\|g\| + 10^{-6}}\Bigr)

  (for :math:`p = \infty`, :math:`\|g\| = \max_i \max |g_i|`). The direction of the update
  is kept; only its length is capped (Pascanu et al., 2013).
* :func:`clip_grads_with_norm_` — the scaling step alone, for a total norm computed
  beforehand with :func:`get_total_norm`.
* :func:`clip_grad_value_` — clamp every gradient element to ``[-clip_value, clip_value]``
  (changes the direction).
* :func:`parameters_to_vector` / :func:`vector_to_parameters` — one flat vector of all
  parameters, and back.
* ``weight_norm`` / ``spectral_norm`` (and their ``remove_*``) — weight
  reparametrizations, from :mod:`minigrad.nn.reparam`.
* ``fuse_conv_bn_eval`` / ``fuse_linear_bn_eval`` (and their ``*_weights``): an
  eval-mode BatchNorm folded into the layer before it (:mod:`.fusion`); ``skip_init``.
* Submodules at PyTorch's paths: ``nn.utils.stateless`` (``functional_call``),
  ``nn.utils.parametrize`` and
  ``nn.utils.parametrizations`` (:mod:`minigrad.nn.parametrize`), ``nn.utils.rnn``
  (``pad_sequence``, ``PackedSequence``, ``pack_padded_sequence``,
  ``pad_packed_sequence``, ``pack_sequence``, from :mod:`minigrad.nn.rnn`) and
  ``nn.utils.prune`` (:mod:`minigrad.sparse.prune`).

Notes
-----
* Gradients are modified in place (``p.grad.data``); the total norm is returned as a 0-d
  float Tensor on the gradients' device, as in PyTorch. The sums are accumulated in
  float64 on each device (one transfer to the host per device, not per gradient) and the
  result is cast to the gradients' dtype (PyTorch accumulates in that dtype).
* ``vector_to_parameters`` copies the slices into the parameters' arrays; PyTorch instead
  makes each parameter a *view* of the vector.
"""
from __future__ import annotations

import math

import numpy as np

from minigrad._backend import device_of, get_array_module, quietly

__all__ = [
    "clip_grad_norm_",
    "clip_grad_value_",
    "clip_grads_with_norm_",
    "get_total_norm",
    "parameters_to_vector",
    "vector_to_parameters",
]


def _as_list(parameters):
    if hasattr(parameters, "requires_grad"):  # a single Tensor
        return [parameters]
    return list(parameters)


def _grad_arrays(parameters):
    grads = []
    for p in parameters:
        g = p.grad
        if g is None:
            continue
        if getattr(g, "is_sparse", False):
            raise RuntimeError(
                "gradient clipping does not support sparse gradients; call .to_dense() first")
        grads.append(g.data if hasattr(g, "requires_grad") else g)
    return grads


def _norm_part(a, norm_type):
    """The share of one nonempty array in the total ``norm_type``-norm, as a 0-d float64
    array on the array's device (no transfer to the host): Σ|a|ᵖ for finite p > 0, the
    number of nonzeros for p = 0, max|a| for p = ∞ and min|a| for p = −∞."""
    xp = get_array_module(a)
    a = xp.abs(a.astype(np.float64, copy=False)).ravel()
    if norm_type == math.inf:
        return a.max()
    if norm_type == -math.inf:
        return a.min()
    if norm_type == 0:
        return (a != 0).sum().astype(np.float64)
    if norm_type == 1:
        return a.sum()
    if norm_type == 2:
        return (a * a).sum()
    return (a**norm_type).sum()


def _combine_on_device(parts, norm_type):
    """The shares of several arrays on one device combined there (a 0-d array)."""
    stacked = get_array_module(parts[0]).stack(parts)
    if norm_type == math.inf:
        return stacked.max()
    if norm_type == -math.inf:
        return stacked.min()
    return stacked.sum()


def _combine_on_host(parts, norm_type):
    """The per-device shares (Python floats) combined; a NaN share makes the total NaN."""
    if any(math.isnan(x) for x in parts):
        return math.nan
    if norm_type == math.inf:
        return max(parts)
    if norm_type == -math.inf:
        return min(parts)
    try:
        return math.fsum(parts)
    except OverflowError:  # the exact sum is beyond float64: the norm is inf
        return math.inf


@quietly   # (∞ and NaN gradients, squares beyond float64: ∞ or NaN, silently)
def _total_norm(arrays, norm_type):
    """‖all elements‖_p as a Python float: the shares are combined on each device, so
    there is one device-to-host transfer per device, not one per array."""
    by_device = {}
    for a in arrays:
        if a.size:  # an empty array holds no element: it must not pull the min to 0
            by_device.setdefault(device_of(a), []).append(_norm_part(a, norm_type))
    if not by_device:
        return 0.0
    total = _combine_on_host([float(_combine_on_device(parts, norm_type))
                              for parts in by_device.values()], norm_type)
    if norm_type in (0, 1, math.inf, -math.inf):
        return total
    if norm_type == 2:
        return math.sqrt(total)
    return total ** (1.0 / norm_type)


def _check_norm_type(norm_type):
    try:
        norm_type = float(norm_type)
    except (TypeError, ValueError):
        raise ValueError(f"norm_type must be a number or inf, got {norm_type!r}") from None
    if math.isnan(norm_type) or (norm_type < 0 and norm_type != -math.inf):
        raise ValueError(f"norm_type must be >= 0 or ±inf, got {norm_type}")
    return norm_type


def get_total_norm(tensors, norm_type=2.0, error_if_nonfinite=False, foreach=None):
    r"""The ``norm_type``-norm of all elements of ``tensors`` (Tensors or arrays) together.

    Returns a Python ``float`` (PyTorch returns a 0-d Tensor); ``float(...)`` and
    ``math`` functions read both the same way. ``foreach`` is accepted for PyTorch
    compatibility and changes nothing."""
    norm_type = _check_norm_type(norm_type)
    arrays = [t.data if hasattr(t, "requires_grad") else t for t in _as_list(tensors)]
    if not arrays:
        return 0.0
    total = _total_norm(arrays, norm_type)
    if error_if_nonfinite and not math.isfinite(total):
        raise RuntimeError(
            f"The total norm of order {norm_type} for gradients from `parameters` is "
            "non-finite, so it cannot be clipped. To disable this error and scale the "
            "gradients by the non-finite norm anyway, set `error_if_nonfinite=False`")
    return total


def clip_grad_norm_(parameters, max_norm, norm_type=2.0, error_if_nonfinite=False,
                    foreach=None):
    r"""Scale the gradients of ``parameters`` in place so that their global norm ≤ ``max_norm``.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        Parameters whose ``.grad`` is clipped (those without a gradient are skipped).
    max_norm : float
        Largest allowed total norm.
    norm_type : float, default 2.0
        ``p`` of the p-norm; ``math.inf`` for the max norm.
    error_if_nonfinite : bool, default False
        Raise ``RuntimeError`` when the total norm is ``nan`` or ``inf`` (otherwise the
        gradients are scaled by the non-finite coefficient, as in PyTorch).
    foreach : None
        Accepted for PyTorch compatibility; ignored.

    Returns
    -------
    Tensor
        The total norm of the gradients *before* clipping (a 0-d Tensor).

    Examples
    --------
    >>> import minigrad as mg
    >>> w = mg.tensor([3.0, 4.0], requires_grad=True)
    >>> (w * w).sum().backward()                       # grad = [6, 8], norm 10
    >>> float(clip_grad_norm_([w], max_norm=1.0))
    10.0
    >>> [round(v, 4) for v in w.grad.tolist()]
    [0.6, 0.8]
    """
    import minigrad as mg

    params = _as_list(parameters)
    max_norm = float(max_norm)
    grads = _grad_arrays(params)
    if not grads:
        return mg.tensor(0.0)
    total = get_total_norm(grads, norm_type, error_if_nonfinite)
    _scale_by_clip_coef(grads, max_norm, total)
    # PyTorch stacks the per-gradient norms, so mixed dtypes promote (float32 with float64
    # gives a float64 norm): the widest float among the gradients
    dtype = max((g.dtype for g in grads), key=lambda d: d.itemsize)
    return mg.tensor(total, dtype=dtype, device=device_of(grads[0]))


@quietly  # (a non-finite norm: coefficient 0 or NaN, inf·0 = NaN, as PyTorch, silently)
def _scale_by_clip_coef(grads, max_norm, total):
    """g ← g·min(1, max_norm/(‖g‖ + 1e-6)) for every gradient array, in place."""
    clip_coef = max_norm / (total + 1e-6)
    clip_coef_clamped = min(clip_coef, 1.0)  # scale down only, never up (NaN stays NaN)
    for g in grads:
        g *= g.dtype.type(clip_coef_clamped)


def clip_grads_with_norm_(parameters, max_norm, total_norm, foreach=None):
    r"""Scale the gradients by min(1, ``max_norm``/(``total_norm`` + 1e-6)), in place.

    The second half of :func:`clip_grad_norm_`, for a total norm computed beforehand
    (e.g. with :func:`get_total_norm`, possibly over more tensors than are clipped), as
    PyTorch's function of that name.

    Parameters
    ----------
    parameters : Tensor or iterable of Tensor
        Parameters whose ``.grad`` is scaled (those without a gradient are skipped).
    max_norm : float
    total_norm : float or Tensor
        The norm the coefficient is computed from (a one-element Tensor or a number).
    foreach : None
        Accepted for PyTorch compatibility; ignored.

    Examples
    --------
    >>> import minigrad as mg
    >>> w = mg.tensor([3.0, 4.0], requires_grad=True)
    >>> w.grad = mg.tensor([6.0, 8.0])
    >>> total = get_total_norm([w.grad])                # 10.0
    >>> clip_grads_with_norm_([w], 1.0, total)
    >>> [round(v, 4) for v in w.grad.tolist()]
    [0.6, 0.8]
    """
    grads = _grad_arrays(_as_list(parameters))
    if grads:
        _scale_by_clip_coef(grads, float(max_norm), float(total_norm))


def clip_grad_value_(parameters, clip_value, foreach=None):
    r"""Clamp every gradient element to ``[-clip_value, clip_value]`` in place.

    Examples
    --------
    >>> import minigrad as mg
    >>> w = mg.tensor([1.0, -2.0, 3.0], requires_grad=True)
    >>> (w * w).sum().backward()                       # grad = [2, -4, 6]
    >>> clip_grad_value_([w], 3.0)
    >>> w.grad.tolist()
    [2.0, -3.0, 3.0]
    """
    clip_value = float(clip_value)
    if clip_value < 0:
        raise ValueError(f"clip_value must be >= 0, got {clip_value}")
    for g in _grad_arrays(_as_list(parameters)):
        xp = get_array_module(g)
        xp.clip(g, -clip_value, clip_value, out=g)


def parameters_to_vector(parameters):
    r"""Concatenate the flattened parameters into one 1-D Tensor (differentiable).

    All parameters must be on the same device.
    """
    import minigrad as mg

    params = _as_list(parameters)
    if not params:
        raise ValueError("parameters_to_vector: got no parameters")
    devices = {p.device for p in params}
    if len(devices) > 1:
        raise ValueError(
            f"parameters_to_vector: all parameters must be on one device, got {sorted(devices)}")
    return mg.cat([p.reshape(-1) for p in params])


def vector_to_parameters(vec, parameters):
    r"""Copy consecutive slices of the 1-D Tensor ``vec`` into ``parameters`` (in order).

    Raises ``TypeError`` when ``vec`` is not a Tensor and ``ValueError`` when its length
    differs from the total number of parameter elements.
    """
    if not (hasattr(vec, "data") and hasattr(vec, "grad")):
        raise TypeError(f"expected vec to be a Tensor, but got: {type(vec).__name__}")
    params = _as_list(parameters)
    total = sum(int(p.data.size) for p in params)
    if vec.ndim != 1 or vec.shape[0] != total:
        raise ValueError(
            f"vector_to_parameters: vec has shape {tuple(vec.shape)}, the parameters have "
            f"{total} elements in all")
    pointer = 0
    for p in params:
        n = int(p.data.size)
        if get_array_module(vec.data) is not get_array_module(p.data):
            raise ValueError(
                "vector_to_parameters: vec and the parameters are on different devices")
        p.data[...] = vec.data[pointer:pointer + n].reshape(p.data.shape)
        pointer += n


from ..reparam import (  # noqa: E402  (with the layers: minigrad/nn/reparam.py)
    remove_spectral_norm,
    remove_weight_norm,
    spectral_norm,
    weight_norm,
)
from .fusion import (  # noqa: E402
    fuse_conv_bn_eval,
    fuse_conv_bn_weights,
    fuse_linear_bn_eval,
    fuse_linear_bn_weights,
)

__all__ += ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm",
            "fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval",
            "fuse_linear_bn_weights", "skip_init"]


def skip_init(module_cls, *args, **kwargs):
    """``module_cls(*args, **kwargs)`` with its parameters and buffers left
    uninitialized (undefined values of the right shapes, dtypes and device), for code
    that loads or initializes them itself. Here the module is built and then emptied
    with :meth:`~minigrad.nn.Module.to_empty` (PyTorch builds it on the meta device)."""
    device = kwargs.get("device")
    module = module_cls(*args, **kwargs)
    return module.to_empty(device=device or _device_of_module(module))


def _device_of_module(module):
    for t in module.parameters():
        return t.device
    for t in module.buffers():
        return t.device
    return "cpu"


def __getattr__(name):
    # ``mg.nn.utils.prune`` and ``mg.nn.utils.rnn``, PyTorch's paths, are submodules
    # (minigrad/nn/utils/prune.py, which is minigrad.sparse.prune itself, and rnn.py, the
    # packing functions of minigrad.nn.rnn); they load on first use.
    if name in ("prune", "rnn", "parametrize", "parametrizations", "stateless"):
        import importlib

        return importlib.import_module(f"{__name__}.{name}")
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
