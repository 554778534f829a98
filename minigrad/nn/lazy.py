"""Lazy modules (PyTorch's ``LazyLinear``, ``LazyConv*``, ``LazyBatchNorm*``...): the input
size (in_features, in_channels, num_features) is left out and read from the first input.

Until then the weights are :class:`UninitializedParameter` (and the running statistics
:class:`UninitializedBuffer`): placeholders that know their dtype and device but not their
shape. An optimizer may already hold them. The first call materializes them in place (the
same objects become ordinary Parameters and Tensors, so the optimizer keeps working),
draws the layer's usual initialization, and turns the module into its ordinary class
(``LazyLinear`` → ``Linear``). A state dict loaded before the first call materializes
them with the saved shapes.

    model = nn.Sequential(nn.LazyLinear(64), nn.ReLU(), nn.LazyLinear(10))
    model(x)                     # now Linear(in_features=x.shape[-1], 64) and Linear(64, 10)
"""
from __future__ import annotations

import itertools

from ..tensor import Tensor
from .conv import Conv1d, Conv2d, ConvTranspose1d, ConvTranspose2d
from .conv3d import Conv3d, ConvTranspose3d
from .linear import Linear
from .module import Parameter
from .normalization import (
    BatchNorm1d,
    BatchNorm2d,
    BatchNorm3d,
    InstanceNorm1d,
    InstanceNorm2d,
    InstanceNorm3d,
)

__all__ = [
    "UninitializedParameter", "UninitializedBuffer", "LazyModuleMixin", "LazyLinear",
    "LazyConv1d", "LazyConv2d", "LazyConv3d", "LazyConvTranspose1d", "LazyConvTranspose2d",
    "LazyConvTranspose3d", "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
    "LazyInstanceNorm1d", "LazyInstanceNorm2d", "LazyInstanceNorm3d",
]


class _Uninitialized:
    """A placeholder whose ``data`` is an empty array of the final dtype and device."""

    __slots__ = ()
    cls_to_become = None

    def materialize(self, shape, device=None, dtype=None):
        """Give it ``shape`` (values undefined: the layer initializes them) and turn it
        into a ``cls_to_become`` (Parameter or Tensor), in place."""
        from .. import creation

        a = self.data
        self.data = creation.empty(tuple(shape), dtype=dtype or a.dtype,
                                   device=device or self.device).data
        self.__class__ = self.cls_to_become

    def __repr__(self):
        return f"<{type(self).__name__}>"


class UninitializedParameter(_Uninitialized, Parameter):
    """A parameter whose shape is not known yet (see the module docstring)."""

    __slots__ = ()
    cls_to_become = Parameter

    def __init__(self, requires_grad=True, device=None, dtype=None):
        from .. import creation

        super().__init__(creation.empty(0, dtype=dtype, device=device), requires_grad)


class UninitializedBuffer(_Uninitialized, Tensor):
    """A buffer whose shape is not known yet."""

    __slots__ = ()
    cls_to_become = Tensor

    def __init__(self, requires_grad=False, device=None, dtype=None):
        from .. import creation

        super().__init__(creation.empty(0, dtype=dtype, device=device).data)


def _is_uninitialized(t):
    return isinstance(t, _Uninitialized)


def _infer_parameters(module, args):
    """The forward pre-hook of a lazy module: size it from the first input, once."""
    module.initialize_parameters(*args)
    if module.has_uninitialized_params():
        raise RuntimeError(f"{type(module).__name__}: initialize_parameters left "
                           "parameters uninitialized")
    module._lazy_hook.remove()
    del module._lazy_hook
    if module.cls_to_become is not None:
        module.__class__ = module.cls_to_become


class LazyModuleMixin:
    """Mixed into a layer class, after it (so the module can become that class in place):
    ``initialize_parameters(*inputs)`` sizes the uninitialized parameters from the first
    input; ``cls_to_become`` is the class the module turns into afterwards."""

    __slots__ = ()  # and placed last among the bases: the layout stays the target's
    cls_to_become = None

    def _make_lazy(self):
        self._lazy_hook = self.register_forward_pre_hook(_infer_parameters)

    def has_uninitialized_params(self) -> bool:
        return any(_is_uninitialized(t) for t in itertools.chain(
            self._parameters.values(), self._buffers.values()))

    def initialize_parameters(self, *args):  # pragma: no cover - each class defines it
        raise NotImplementedError

    def _lazy_placeholders(self, names, kind):
        """Replace the registered tensors ``names`` by placeholders of their dtype and
        device (``kind``: UninitializedParameter or UninitializedBuffer)."""
        store = self._parameters if kind is UninitializedParameter else self._buffers
        for name in names:
            t = store.get(name)
            if t is not None:
                store[name] = kind(device=t.device, dtype=t.dtype)

    def _materialize(self, shapes):
        for name, shape in shapes.items():
            t = self._parameters.get(name, self._buffers.get(name))
            if _is_uninitialized(t):
                t.materialize(shape)

    def _input_size(self, input, dim, what):
        if not isinstance(input, Tensor):
            raise TypeError(f"{type(self).__name__}: expected a Tensor input to infer "
                            f"{what} from, got {type(input).__name__}")
        if input.ndim <= dim:
            raise ValueError(f"{type(self).__name__}: cannot infer {what} from an input of "
                             f"shape {input.shape}")
        return int(input.shape[dim])


# Each lazy class lists its layer class first and the mixin last, and takes its
# __init__, reset_parameters and initialize_parameters from the functions below, which
# call the layer class explicitly (cls_to_become), not through super().


def _linear_init(self, out_features, bias=True, device=None, dtype=None):
    Linear.__init__(self, 0, out_features, bias, device, dtype)
    self._lazy_placeholders(("weight", "bias"), UninitializedParameter)
    self._make_lazy()


def _reset_if_sized(size_attr):
    def reset_parameters(self):
        if not self.has_uninitialized_params() and getattr(self, size_attr) != 0:
            self.cls_to_become.reset_parameters(self)
    return reset_parameters


def _linear_initialize(self, input):
    dim = input.ndim - 1 if isinstance(input, Tensor) else 0
    self.in_features = self._input_size(input, dim, "in_features")
    if self.has_uninitialized_params():
        self._materialize({"weight": (self.out_features, self.in_features),
                           "bias": (self.out_features,)})
        self.reset_parameters()


class LazyLinear(Linear, LazyModuleMixin):
    """``Linear`` whose ``in_features`` is the last dim of the first input."""

    cls_to_become = Linear
    __init__ = _linear_init
    reset_parameters = _reset_if_sized("in_features")
    initialize_parameters = _linear_initialize


def _conv_init(self, out_channels, *args, **kwargs):
    self.cls_to_become.__init__(self, 0, out_channels, *args, **kwargs)
    self._lazy_placeholders(("weight", "bias"), UninitializedParameter)
    self._make_lazy()


def _conv_initialize(self, input):
    n = self._dims
    batched = isinstance(input, Tensor) and input.ndim == n + 2
    self.in_channels = self._input_size(input, 1 if batched else 0, "in_channels")
    if self.in_channels % self.groups:
        raise ValueError(f"{type(self).__name__}: in_channels ({self.in_channels}) must be "
                         f"divisible by groups ({self.groups})")
    if self.has_uninitialized_params():
        channels = ((self.in_channels, self.out_channels // self.groups) if self._transposed
                    else (self.out_channels, self.in_channels // self.groups))
        self._materialize({"weight": channels + self.kernel_size,
                           "bias": (self.out_channels,)})
        self.reset_parameters()


def _lazy_class(layer, size_attr, init, initialize):
    """The lazy class of ``layer``: its ``size_attr`` comes from the first input."""
    return type(f"Lazy{layer.__name__}", (layer, LazyModuleMixin), {
        "__doc__": f"``{layer.__name__}`` whose ``{size_attr}`` comes from the first input.",
        "__module__": __name__, "__slots__": (), "cls_to_become": layer,
        "__init__": init, "reset_parameters": _reset_if_sized(size_attr),
        "initialize_parameters": initialize})


def _lazy_conv(layer):
    return _lazy_class(layer, "in_channels", _conv_init, _conv_initialize)


LazyConv1d = _lazy_conv(Conv1d)
LazyConv2d = _lazy_conv(Conv2d)
LazyConv3d = _lazy_conv(Conv3d)
LazyConvTranspose1d = _lazy_conv(ConvTranspose1d)
LazyConvTranspose2d = _lazy_conv(ConvTranspose2d)
LazyConvTranspose3d = _lazy_conv(ConvTranspose3d)


def _norm_init(self, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
               device=None, dtype=None, **kwargs):
    self.cls_to_become.__init__(self, 0, eps, momentum, affine, track_running_stats, device,
                                dtype, **kwargs)
    self._lazy_placeholders(("weight", "bias"), UninitializedParameter)
    self._lazy_placeholders(("running_mean", "running_var"), UninitializedBuffer)
    self._make_lazy()


def _norm_initialize(self, input):
    if isinstance(input, Tensor) and hasattr(self, "_spatial"):  # InstanceNorm: C, or N C
        dim = input.ndim - self._spatial - 1
    else:
        dim = 1
    self.num_features = self._input_size(input, dim, "num_features")
    if self.has_uninitialized_params():
        c = (self.num_features,)
        self._materialize({"weight": c, "bias": c, "running_mean": c, "running_var": c})
        self.reset_parameters()


def _lazy_norm(layer, init):
    return _lazy_class(layer, "num_features", init, _norm_initialize)


LazyBatchNorm1d = _lazy_norm(BatchNorm1d, _norm_init)
LazyBatchNorm2d = _lazy_norm(BatchNorm2d, _norm_init)
LazyBatchNorm3d = _lazy_norm(BatchNorm3d, _norm_init)
# PyTorch's lazy instance norms default to affine=True, track_running_stats=True (the lazy
# batch norms' defaults, not InstanceNorm's False, False); so do these, and PyTorch's state
# dicts of them (weight, bias, running_mean, running_var, num_batches_tracked) load.
LazyInstanceNorm1d = _lazy_norm(InstanceNorm1d, _norm_init)
LazyInstanceNorm2d = _lazy_norm(InstanceNorm2d, _norm_init)
LazyInstanceNorm3d = _lazy_norm(InstanceNorm3d, _norm_init)
for _cls in (LazyInstanceNorm1d, LazyInstanceNorm2d, LazyInstanceNorm3d):
    _cls.__doc__ += ("\n\n    Defaults ``affine=True, track_running_stats=True``, as PyTorch's "
                     "lazy instance norms\n    (``InstanceNorm``'s own are False, False).")
del _cls
