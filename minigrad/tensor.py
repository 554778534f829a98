"""``Tensor``: an n-dimensional array (NumPy on "cpu", CuPy on "cuda") that remembers how
it was made, so that ``backward()`` can send gradients to the tensors it came from.

Every method that computes something calls an op from :mod:`minigrad.ops`; the ops are
written once against the array module ``xp`` and so run on both devices.
"""
from __future__ import annotations

import numbers
import operator
import weakref
from collections import namedtuple

import numpy as np

from . import _printing
from . import dtypes as _dt
from ._backend import (
    check_dtype_on,
    device_constant,
    device_of,
    get_array_module,
    normalize_device,
    to_device,
)
from ._conversions import DeviceDtypeShorthands
from .autograd import hooks as _hooks
from .autograd.function import backward_into, mark_modified
from .autograd.grad_mode import is_grad_enabled
from .autograd.grad_mode import no_grad as _no_grad

_PY_SCALARS = (bool, int, float, np.generic)

values_indices = namedtuple("values_indices", ["values", "indices"])


def _to_array(data, dtype=None, device=None):
    """Array of ``data`` on ``device`` with ``dtype``; Python floats become the default
    float dtype (float32) as in PyTorch, ints int64, NumPy arrays keep their dtype."""
    dtype = _dt.as_dtype(dtype)
    if isinstance(data, Tensor):
        arr = data.data
    elif getattr(data, "is_sparse", False):
        raise TypeError(f"cannot make a dense tensor from a {type(data).__name__}; use "
                        ".to_dense()")
    else:
        arr = data
    xp = get_array_module(arr)
    if xp is np and not isinstance(arr, np.ndarray):
        if isinstance(arr, (list, tuple)):
            arr = _unwrap_tensors(arr)
        arr = np.asarray(arr)
        if dtype is None and arr.dtype == np.float64 and not _is_numpy_float64(data):
            with np.errstate(over="ignore"):  # 1e300 as float32 is inf, as in PyTorch
                arr = arr.astype(_dt.get_default_dtype())
    if arr.dtype == object:
        raise TypeError(f"cannot make a tensor from {type(data).__name__} of mixed objects")
    if not _dt.holds_numbers(arr.dtype):
        raise TypeError(f"cannot make a tensor from {type(data).__name__} of dtype {arr.dtype}: "
                        "expected numbers or bools")
    if dtype is not None and arr.dtype != dtype:
        check_dtype_on(device_of(arr) if device is None else normalize_device(device), dtype)
        if dtype.kind in "iub" and _dt.is_floating(arr.dtype) and arr.size and \
                not bool(get_array_module(arr).isfinite(arr).all()):
            raise ValueError(f"cannot convert inf or NaN to {dtype}")
        with np.errstate(over="ignore"):
            arr = arr.astype(dtype)
    if device is not None:
        arr = to_device(arr, device)
    return arr


def _unwrap_tensors(seq):
    """A (nested) list with its Tensors replaced by their data, so that
    ``tensor([t0, t1])`` of 0-d or equal-shaped tensors works as in PyTorch."""
    out = []
    for v in seq:
        if isinstance(v, Tensor):
            v = to_device(v.data, "cpu")
        elif isinstance(v, (list, tuple)):
            v = _unwrap_tensors(v)
        out.append(v)
    return out


def _is_numpy_float64(data):
    return isinstance(data, np.floating) and data.dtype == np.float64


def _cast_first(x, dtype):
    """``x`` converted to ``dtype`` before a reduction (the ``dtype=`` argument of sum,
    mean, prod, cumsum, softmax...: PyTorch casts the input first), or x itself."""
    return x if dtype is None else x.to(dtype=dtype)


def _make_tensor(y, xp, requires_grad):
    """Wrap an array fast (no validation): used by every op."""
    if isinstance(y, _PY_SCALARS):
        y = np.asarray(y)
    t = Tensor.__new__(Tensor)
    t.data = y
    t.grad = None
    t.requires_grad = requires_grad
    t.creator = None
    return t


def _device_scalar(x, dtype, like):
    """A Python float as a 0-d array of ``dtype`` on ``like``'s GPU, made once per value
    (:func:`~minigrad._backend.device_constant`): each new one is a host-to-device copy,
    which a training step would pay for every ``t * 0.5`` or mean (1/n) again, and which a
    CUDA graph must not capture."""
    return device_constant(("scalar", x.hex(), dtype, like.device.id),  # hex: −0.0 ≠ 0.0
                           lambda: get_array_module(like).asarray(x, dtype=dtype))


def integer_scalar(xp, x, dtype):
    """The Python integer ``x`` as a 0-d array of the integer or float ``dtype``; outside
    an integer dtype's range it wraps around as PyTorch's (``uint8 + (−1)`` adds 255, as
    the C cast does; NumPy 2 raises OverflowError instead). Beyond int64 it is refused."""
    try:
        return xp.asarray(x, dtype=dtype)
    except OverflowError:
        if not -2 ** 63 <= x < 2 ** 64:
            raise OverflowError(f"the integer {x} does not fit in 64 bits") from None
        wide = np.uint64 if x >= 2 ** 63 else np.int64
        return xp.asarray(np.array(x, dtype=wide).astype(dtype))


def _as_operand(x, ref):
    """A non-Tensor operand (Python scalar or array) as a constant Tensor beside ``ref``.

    Python scalars take ``ref``'s dtype (a float scalar with an integer tensor gives the
    default float dtype), so ``x_float32 * 2.0`` stays float32."""
    data = ref.data
    if type(data) is np.ndarray:  # the common cases (1 - y, 0.5 * x), kept short
        dt = data.dtype
        if type(x) is float:
            if dt.kind != "f" and not _dt.is_floating(dt):  # integer/bool tensor: float
                dt = _dt.get_default_dtype()
            return _make_tensor(_dt.float_scalar(np, x, dt), np, False)
        if type(x) is int and dt.kind != "b":
            return _make_tensor(integer_scalar(np, x, dt), np, False)
    xp = get_array_module(data)
    if type(x) is float:
        dt = ref.dtype if _dt.is_floating(ref.dtype) else _dt.get_default_dtype()
        if xp is not np and x == x:
            return _make_tensor(_device_scalar(x, dt, data), xp, False)
        return _make_tensor(_dt.float_scalar(xp, x, dt), xp, False)
    if isinstance(x, (bool, np.bool_)):
        arr = xp.asarray(x, dtype=ref.dtype if ref.dtype.kind != "b" else np.bool_)
    elif isinstance(x, numbers.Integral):
        arr = integer_scalar(xp, x, ref.dtype if ref.dtype.kind != "b" else np.int64)
    elif isinstance(x, numbers.Real):
        dt = ref.dtype if _dt.is_floating(ref.dtype) else _dt.get_default_dtype()
        arr = _dt.float_scalar(xp, float(x), dt)
    elif isinstance(x, (list, tuple)):  # as mg.tensor(x) makes it: floats in float32
        arr = to_device(_to_array(x), device_of(data))
    else:
        arr = xp.asarray(x)
        if not _dt.holds_numbers(arr.dtype):
            raise TypeError(f"unsupported operand {type(x).__name__} ({arr.dtype}) with a "
                            "Tensor: expected a number, an array of numbers or a Tensor")
    return _make_tensor(arr, xp, False)


def _shape_args(shape, op="shape", sizes=False):
    """Accept ``f(2, 3)`` and ``f((2, 3))`` alike; each entry must be an integer (an int,
    a NumPy integer, a 0-d integer tensor) and, with ``sizes``, not negative."""
    if len(shape) == 1 and isinstance(shape[0], (tuple, list)):
        shape = shape[0]
    try:
        shape = tuple([operator.index(s) for s in shape])
    except TypeError:
        raise TypeError(f"{op}: sizes must be integers, got {tuple(shape)!r}") from None
    if sizes and any(s < 0 for s in shape):
        raise ValueError(f"{op}: negative dimension in size {shape}")
    return shape


class Tensor(DeviceDtypeShorthands):
    """A NumPy/CuPy array with a gradient and a place in the graph.

    Parameters
    ----------
    data : array_like or Tensor
        Python numbers and lists (floats become float32), NumPy or CuPy arrays.
    dtype : dtype, optional
    device : {"cpu", "cuda"}, optional
        Where the array lives; default: where ``data`` is (a list: "cpu").
    requires_grad : bool
        Record operations on this tensor so that ``backward`` reaches it.

    Examples
    --------
    >>> import minigrad as mg
    >>> x = mg.tensor([1.0, 2.0, 3.0], requires_grad=True)
    >>> (x * x).sum().backward()
    >>> x.grad
    tensor([2., 4., 6.])
    """

    # _version and _base (set only when needed, read with getattr): the in-place change
    # check of autograd (see autograd.function.mark_modified)
    __slots__ = ("data", "grad", "requires_grad", "creator", "_hooks", "_post_hooks",
                 "_dual", "_grad_slot", "_version", "_base", "__weakref__")
    __array_ufunc__ = None  # NumPy defers to our reflected operators: 2.0 * t works
    __hash__ = object.__hash__  # identity hash (``==`` is elementwise, as in PyTorch)

    def __init__(self, data, dtype=None, device=None, requires_grad=False):
        self.data = _to_array(data, dtype, device)
        self.grad = None
        self.creator = None
        self.requires_grad = False
        if requires_grad:
            self.requires_grad_(True)

    # ------------------------------------------------------------------ attributes
    @property
    def shape(self):
        return tuple(self.data.shape)

    @property
    def ndim(self) -> int:
        return self.data.ndim

    @property
    def dtype(self):
        return self.data.dtype

    @property
    def device(self) -> str:
        return device_of(self.data)

    @property
    def is_leaf(self) -> bool:
        return self.creator is None

    @property
    def grad_fn(self):
        return self.creator

    @property
    def T(self):
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self):
        return self.transpose(-2, -1)

    @property
    def is_sparse(self) -> bool:
        return False

    @property
    def xp(self):
        """The array module (numpy or cupy) that holds this tensor's data."""
        return get_array_module(self.data)

    def size(self, dim=None):
        return self.shape if dim is None else self.shape[_shape._dim(dim, self.ndim, "size")]

    def dim(self) -> int:
        return self.data.ndim

    def numel(self) -> int:
        return int(self.data.size)

    def __len__(self):
        if self.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self.shape[0]

    # ------------------------------------------------------------------ conversions
    def item(self):
        if self.data.size != 1:
            raise ValueError(
                f"item(): only a tensor with one element converts to a Python number, "
                f"this one has shape {self.shape}"
            )
        return self.data.reshape(()).item()

    def numpy(self):
        """The data as a NumPy array (shares memory on "cpu")."""
        if self.device != "cpu":
            raise TypeError("numpy(): the tensor is on cuda; call .cpu() first")
        return self.data

    def tolist(self):
        return self.data.tolist()

    def __float__(self):
        return float(self.item())

    def __int__(self):
        return int(self.item())

    def __index__(self):
        if self.dtype.kind not in "iu":
            raise TypeError("only integer tensors can be used as an index")
        return int(self.item())

    def __bool__(self):
        if self.data.size != 1:
            raise RuntimeError(
                f"the truth value of a tensor with {self.data.size} elements is ambiguous; "
                "use .any() or .all()"
            )
        return bool(self.item())

    def to(self, device=None, dtype=None):
        """A tensor on ``device`` with ``dtype`` (differentiable; ``self`` if nothing changes)."""
        if dtype is None and device is not None and not isinstance(device, str):
            device, dtype = None, device  # t.to(mg.float64), as PyTorch allows
        out = self
        if dtype is not None:
            dtype = _dt.as_dtype(dtype)
            if dtype != self.dtype:
                out = _elementwise.Cast(dtype)(out)
        if device is not None and normalize_device(device) != out.device:
            out = _shape.ToDevice(normalize_device(device))(out)
        return out

    def long(self):
        return self.to(dtype=_dt.int64)

    def int(self):
        return self.to(dtype=_dt.int32)

    def bool(self):
        return self.to(dtype=_dt.bool)

    def byte(self):
        return self.to(dtype=_dt.uint8)

    def char(self):
        return self.to(dtype=_dt.int8)

    def short(self):
        return self.to(dtype=_dt.int16)

    def type_as(self, other):
        if not isinstance(other, Tensor):
            raise TypeError(f"type_as: expects a Tensor, got {type(other).__name__}")
        return self.to(dtype=other.dtype)

    # ------------------------------------------------------------------ autograd
    def requires_grad_(self, requires_grad=True):
        if requires_grad and not _dt.is_floating(self.dtype):
            raise TypeError(
                f"only floating-point tensors can require gradients, this one is {self.dtype}"
            )
        if not requires_grad and self.creator is not None:
            raise RuntimeError(
                "requires_grad_(False) on a non-leaf tensor; use .detach() instead"
            )
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self):
        """Keep this tensor's gradient in ``.grad`` after ``backward`` even though it is
        not a leaf (PyTorch's ``retain_grad``: for looking at intermediate gradients);
        gradients of several backward passes accumulate, as a leaf's do. On a leaf it does
        nothing (a leaf keeps its gradient anyway)."""
        if not self.requires_grad:
            raise RuntimeError("retain_grad: this tensor does not require grad, so it gets "
                               "no gradient to keep")
        if self.creator is not None:
            self.creator._retained = weakref.ref(self)

    def register_hook(self, hook):
        """Call ``hook(grad)`` each time the gradient of this tensor is computed in a
        backward pass (the whole gradient, every contribution summed); a returned Tensor
        of the same shape replaces the gradient from there on (into ``.grad`` for a leaf,
        into the rest of the backward for an intermediate result). Returns a handle whose
        ``remove()`` unregisters it.

        >>> import minigrad as mg
        >>> x = mg.tensor([1.0, 2.0], requires_grad=True)
        >>> h = x.register_hook(lambda g: g * 10)
        >>> (x * x).sum().backward()
        >>> x.grad.tolist()
        [20.0, 40.0]
        >>> h.remove()
        """
        if not self.requires_grad:
            raise RuntimeError("register_hook: cannot register a hook on a tensor that "
                               "doesn't require gradient")
        if self.creator is None:
            if getattr(self, "_hooks", None) is None:
                self._hooks = {}
            return _hooks.add_hook(self._hooks, hook, "register_hook")
        if self.creator._hooks is None:
            self.creator._hooks = {}
        return _hooks.add_hook(self.creator._hooks, hook, "register_hook")

    def register_post_accumulate_grad_hook(self, hook):
        """Call ``hook(tensor)`` after a backward pass has accumulated this leaf's
        ``.grad`` (for example to step an optimizer on it right there and free the
        gradient). Leaves only. Returns a removable handle."""
        if not self.requires_grad:
            raise RuntimeError("register_post_accumulate_grad_hook: cannot register a hook "
                               "on a tensor that doesn't require gradient")
        if self.creator is not None:
            raise RuntimeError("register_post_accumulate_grad_hook: post accumulate grad "
                               "hooks cannot be registered on non-leaf tensors")
        if getattr(self, "_post_hooks", None) is None:
            self._post_hooks = {}
        return _hooks.add_hook(self._post_hooks, hook, "register_post_accumulate_grad_hook")

    @property
    def retains_grad(self) -> bool:
        """Whether :meth:`retain_grad` was called on this non-leaf tensor."""
        retained = getattr(self.creator, "_retained", None)
        return retained is not None and retained() is self

    def detach(self):
        """The same data, cut from the graph (changing it in place changes this tensor: a
        graph that saved this tensor then refuses its backward, as in PyTorch)."""
        t = _make_tensor(self.data, None, False)
        t._base = self
        return t

    def detach_(self):
        self.creator = None
        self.requires_grad = False
        return self

    def clone(self):
        return _elementwise.Identity()(self)

    def backward(self, gradient=None, retain_graph=False, create_graph=False, inputs=None):
        """Accumulate d(self)/d(leaf) · gradient into the ``.grad`` of every leaf.

        ``gradient`` may be omitted only for a tensor with one element. The graph is
        freed afterwards unless ``retain_graph`` (or ``create_graph``) is true. With
        ``inputs`` (a tensor or a sequence of them, leaves or intermediate results), only
        their ``.grad`` receives the gradient, as in PyTorch; an input that ``self`` does
        not depend on keeps its ``.grad``.
        """
        if not self.requires_grad:
            raise RuntimeError(
                "backward(): this tensor does not require grad and has no graph "
                "(was it made under no_grad, or from tensors without requires_grad=True?)"
            )
        gradient = _default_grad_output(self, gradient, "backward()")
        backward_into([self], [gradient], retain_graph or create_graph, create_graph, inputs)

    def zero_(self):
        self._check_inplace("zero_")
        self.data[...] = 0
        return self

    # ------------------------------------------------------------------ in-place (no graph)
    def _check_inplace(self, what):
        """Refuse an in-place change of a tensor autograd records (PyTorch refuses it for
        leaves; minigrad records no in-place op at all), and note the change for the graphs
        that used this tensor (:func:`~minigrad.autograd.function.mark_modified`). Called
        by every in-place method before it writes."""
        if self.requires_grad and is_grad_enabled():
            raise RuntimeError(
                f"{what}: in-place change of a tensor that requires grad; do it under "
                "mg.no_grad() (as initializers and optimizers do)"
            )
        mark_modified(self)

    def fill_(self, value):
        self._check_inplace("fill_")
        if type(value) is int and self.data.dtype.kind in "iu":
            value = integer_scalar(self.xp, value, self.data.dtype)  # wraps, as PyTorch
        elif isinstance(value, float) and _dt.is_floating(self.data.dtype):
            value = _dt.float_scalar(self.xp, value, self.data.dtype)   # ±inf beyond range
        self.data[...] = value
        return self

    def copy_(self, src):
        self._check_inplace("copy_")
        src = src.data if isinstance(src, Tensor) else src
        src = to_device(get_array_module(src).asarray(src), self.device)
        if not _dt.holds_numbers(src.dtype):
            raise TypeError(f"copy_: cannot copy {src.dtype} values into a tensor")
        try:
            self.data[...] = src
        except ValueError:
            raise ValueError(f"copy_: cannot copy shape {tuple(src.shape)} into shape "
                             f"{self.shape} (the source must broadcast to it)") from None
        return self

    def _store(self, what, y):
        """Write the result ``y`` of an in-place op into this tensor's array, with
        PyTorch's checks: it may not grow the shape by broadcasting, and its dtype must
        cast to ours within its kind (float into int is refused; float64 into float32
        rounds)."""
        if y.shape != self.shape:
            raise RuntimeError(f"{what}: output with shape {self.shape} doesn't match the "
                               f"broadcast shape {y.shape}")
        if _dt._category(y.dtype) > _dt._category(self.dtype):
            raise RuntimeError(f"{what}: result type {y.dtype} can't be cast to the "
                               f"desired output type {self.dtype}")
        mark_modified(self)  # for += and friends (add_ and co. have marked it already)
        self.data[...] = y.data
        return self

    def _update(self, what, op, other):
        """``self op= other`` (``+=`` and friends): in place, as in PyTorch, so other names
        for this tensor see the change. When autograd is recording (this tensor or
        ``other`` requires grad) minigrad, which records no in-place op, returns a new
        tensor instead: the value is PyTorch's, only aliases of ``self`` keep the old one."""
        y = op(self, other)
        if y.requires_grad:
            return y
        return self._store(what, y)

    def __iadd__(self, other):
        return self._update("+=", Tensor.__add__, other)

    def __isub__(self, other):
        return self._update("-=", Tensor.__sub__, other)

    def __imul__(self, other):
        return self._update("*=", Tensor.__mul__, other)

    def __itruediv__(self, other):
        return self._update("/=", Tensor.__truediv__, other)

    def clamp_(self, min=None, max=None):
        self._check_inplace("clamp_")
        if min is not None:
            self.xp.maximum(self.data, min, out=self.data)
        if max is not None:
            self.xp.minimum(self.data, max, out=self.data)
        return self

    def uniform_(self, a=0.0, b=1.0):
        from . import random as _random

        self._check_inplace("uniform_")
        self.data[...] = _random.uniform(self.shape, a, b, self.dtype, self.device)
        return self

    def normal_(self, mean=0.0, std=1.0):
        from . import random as _random

        self._check_inplace("normal_")
        self.data[...] = _random.normal(self.shape, mean, std, self.dtype, self.device)
        return self

    def bernoulli_(self, p=0.5):
        """Fill with 0/1 samples, P(1) = ``p`` (a number or a tensor of probabilities)."""
        from .creation import bernoulli

        self._check_inplace("bernoulli_")
        probs = p if isinstance(p, Tensor) else None
        sample = bernoulli(probs.broadcast_to(self.shape) if probs is not None else self,
                           None if probs is not None else p)
        self.data[...] = sample.data
        return self

    def exponential_(self, lambd=1.0):
        """Fill with Exp(λ) samples, −log(1 − u)/λ for u ~ U[0, 1)."""
        from . import random as _random

        self._check_inplace("exponential_")
        if lambd <= 0:
            raise ValueError(f"exponential_: lambd must be positive, got {lambd}")
        u = _random.uniform(self.shape, 0.0, 1.0, _dt.float64, self.device)
        self.data[...] = (-self.xp.log1p(-u) / lambd).astype(self.dtype)
        return self

    def random_(self, *bounds):
        """Fill with integers uniform in [from, to): ``random_(to)`` is [0, to),
        ``random_(from, to)`` [from, to), ``random_()`` [0, 2ᵐ⁺¹] for a float dtype with
        an m-bit mantissa (all its integers that are exact) and [0, max] for an integer
        dtype, as PyTorch's ``random_``."""
        from . import random as _random

        self._check_inplace("random_")
        if len(bounds) > 2:
            raise TypeError("random_: takes (to) or (from, to)")
        if len(bounds) == 2:
            low, high = bounds
        elif len(bounds) == 1:
            low, high = 0, bounds[0]
        else:
            low = 0
            high = (2 ** (np.finfo(self.dtype).nmant + 1) + 1 if _dt.is_floating(self.dtype)
                    else 2 if self.dtype.kind == "b" else int(np.iinfo(self.dtype).max))
        if int(high) <= int(low):
            raise ValueError(f"random_: expects from < to, got from={low}, to={high}")
        values = _random.integers(int(low), int(high), self.shape, _dt.int64, self.device)
        self.data[...] = values.astype(self.dtype)
        return self

    def cauchy_(self, median=0.0, sigma=1.0):
        """Fill with Cauchy(median, σ) samples, median + σ·tan(π(u − ½)) for u ~ U[0, 1)."""
        from . import random as _random

        self._check_inplace("cauchy_")
        u = _random.uniform(self.shape, 0.0, 1.0, _dt.float64, self.device)
        self.data[...] = (median + sigma * self.xp.tan(np.pi * (u - 0.5))).astype(self.dtype)
        return self

    def log_normal_(self, mean=1.0, std=2.0):
        """Fill with log-normal samples, e^z for z ~ N(mean, std²) (PyTorch's defaults)."""
        from . import random as _random

        self._check_inplace("log_normal_")
        z = _random.normal(self.shape, mean, std, _dt.float64, self.device)
        self.data[...] = self.xp.exp(z).astype(self.dtype)
        return self

    def geometric_(self, p):
        """Fill with Geometric(p) samples on {1, 2, ...} (trials until the first success),
        ⌈log(1 − u) / log(1 − p)⌉ for u ~ U[0, 1), as PyTorch's ``geometric_``."""
        from . import random as _random

        self._check_inplace("geometric_")
        if not 0 < p < 1:
            raise ValueError(f"geometric_: p must be in (0, 1), got {p}")
        u = _random.uniform(self.shape, 0.0, 1.0, _dt.float64, self.device)
        k = self.xp.maximum(self.xp.ceil(self.xp.log1p(-u) / np.log1p(-p)), 1.0)
        self.data[...] = k.astype(self.dtype)
        return self

    def fill_diagonal_(self, fill_value, wrap=False):
        """Write ``fill_value`` on the main diagonal (all dims equal when more than 2; a
        tall matrix restarts the diagonal every n + 1 rows with ``wrap``), PyTorch's and
        NumPy's ``fill_diagonal``."""
        self._check_inplace("fill_diagonal_")
        if self.ndim < 2 or (self.ndim > 2 and len(set(self.shape)) != 1):
            raise ValueError(f"fill_diagonal_: needs at least 2 dims, all of one length when "
                             f"more than 2; got shape {self.shape}")
        self.xp.fill_diagonal(self.data, fill_value, wrap=wrap)
        return self

    def bernoulli(self, p=None):
        from .creation import bernoulli

        return bernoulli(self, p)

    def multinomial(self, num_samples, replacement=False):
        from .creation import multinomial

        return multinomial(self, num_samples, replacement)

    def __setitem__(self, index, value):
        """Assignment into the data. Not recorded by autograd: allowed on tensors that do
        not require grad, or under ``no_grad``."""
        self._check_inplace("__setitem__")
        if isinstance(value, Tensor):
            value = value.data
        elif type(value) is int and self.data.dtype.kind in "iu":
            info = np.iinfo(self.data.dtype)
            if not info.min <= value <= info.max:  # PyTorch refuses it too (fill_ wraps)
                raise RuntimeError(f"setitem: value {value} cannot be converted to "
                                   f"{self.dtype} without overflow")
        elif not hasattr(value, "dtype"):
            if not _dt.holds_numbers(np.asarray(value).dtype):
                raise TypeError(f"setitem: cannot assign {type(value).__name__} to a tensor "
                                "(a number, an array of numbers or a Tensor)")
        index = _shape.normalize_index(index, self.shape, "setitem")
        selects, rest = _shape.split_selects(index)
        try:
            if selects is None:
                self.data[index] = value
            else:  # a view of the selected dims, then the rest (see split_selects)
                self.data[selects][rest] = value
        except ValueError as e:
            raise ValueError(f"setitem: cannot assign a value of shape "
                             f"{tuple(getattr(value, 'shape', ()))} into tensor of shape "
                             f"{self.shape} at {index!r}: {e}") from None

    # ------------------------------------------------------------------ arithmetic
    def __add__(self, other):
        return _elementwise.Add()(self, other)

    def __radd__(self, other):
        return _elementwise.Add()(other, self)

    def __sub__(self, other):
        return _elementwise.Sub()(self, other)

    def __rsub__(self, other):
        return _elementwise.Sub()(other, self)

    def __mul__(self, other):
        return _elementwise.Mul()(self, other)

    def __rmul__(self, other):
        return _elementwise.Mul()(other, self)

    def __truediv__(self, other):
        return _elementwise.Div()(self, other)

    def __rtruediv__(self, other):
        return _elementwise.Div()(other, self)

    def __neg__(self):
        return _elementwise.Neg()(self)

    def __pos__(self):
        return self

    def __pow__(self, exponent):
        return _elementwise.pow(self, exponent)

    def __rpow__(self, base):
        return _elementwise.Pow()(base, self)

    def __floordiv__(self, other):
        return _elementwise.FloorDivide()(self, other)

    def __rfloordiv__(self, other):
        return _elementwise.FloorDivide()(other, self)

    def __mod__(self, other):
        return _elementwise.Remainder()(self, other)

    def __rmod__(self, other):
        return _elementwise.Remainder()(other, self)

    def __matmul__(self, other):
        if getattr(other, "is_sparse", False):
            return NotImplemented  # dense @ sparse: the sparse tensor's __rmatmul__
        if not isinstance(other, Tensor):
            other = _as_operand(other, self)  # a list or array, as + and * take them
        return _linalg.matmul(self, other)

    def __rmatmul__(self, other):
        return _linalg.matmul(_as_operand(other, self), self)

    def __abs__(self):
        return self.abs()

    # comparisons: no gradient, bool tensors
    def _compare(self, other, op, name):
        """``op`` of the arrays (a comparison or a logical/bitwise op: no gradient), its
        shape and dtype errors named as minigrad's other ops name theirs."""
        if other is None:  # t == None is False, t != None True (Python's identity rule)
            return NotImplemented
        o = other.data if isinstance(other, Tensor) else other
        if type(o) is int and self.data.dtype.kind in "iu":  # wrapped to the dtype, as
            o = integer_scalar(self.xp, o, self.data.dtype)   # PyTorch: uint8 > −1 is 255
        try:
            return _make_tensor(op(self.data, o), None, False)
        except (ValueError, TypeError) as e:
            shape = getattr(o, "shape", None)
            what = f"shapes {self.shape} and {tuple(shape)}" if shape is not None else \
                f"a {self.dtype} tensor and {type(o).__name__}"
            raise type(e)(f"{name}: cannot apply to {what}: {e}") from None

    def __eq__(self, other):  # noqa: D105
        return self._compare(other, lambda a, b: a == b, "eq")

    def __ne__(self, other):
        return self._compare(other, lambda a, b: a != b, "ne")

    def __lt__(self, other):
        return self._compare(other, lambda a, b: a < b, "lt")

    def __le__(self, other):
        return self._compare(other, lambda a, b: a <= b, "le")

    def __gt__(self, other):
        return self._compare(other, lambda a, b: a > b, "gt")

    def __ge__(self, other):
        return self._compare(other, lambda a, b: a >= b, "ge")

    def __invert__(self):
        if self.dtype.kind not in "biu":
            raise TypeError(f"bitwise_not: needs a bool or integer tensor, got {self.dtype}")
        return _make_tensor(~self.data, None, False)

    def __and__(self, other):
        return self._compare(other, lambda a, b: a & b, "bitwise_and")

    def __or__(self, other):
        return self._compare(other, lambda a, b: a | b, "bitwise_or")

    def __xor__(self, other):
        return self._compare(other, lambda a, b: a ^ b, "bitwise_xor")

    __rand__, __ror__, __rxor__ = __and__, __or__, __xor__  # symmetric: b & t is t & b

    def logical_not(self):
        return _make_tensor(self.xp.logical_not(self.data), None, False)

    def logical_and(self, other):
        """Elementwise ``self and other`` of the truth values (non-zero is true)."""
        return self._compare(other, lambda a, b: self.xp.logical_and(a, b), "logical_and")

    def logical_or(self, other):
        return self._compare(other, lambda a, b: self.xp.logical_or(a, b), "logical_or")

    def logical_xor(self, other):
        return self._compare(other, lambda a, b: self.xp.logical_xor(a, b), "logical_xor")

    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False):
        """Elementwise ``|self − other| ≤ atol + rtol·|other|`` (a bool tensor); ±1e308
        against ∓1e308 is False quietly (NumPy's difference overflows to inf)."""
        def close(a, b):
            with np.errstate(over="ignore", invalid="ignore"):
                return self.xp.isclose(a, b, rtol=rtol, atol=atol, equal_nan=equal_nan)

        return self._compare(other, close, "isclose")

    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False) -> bool:
        """Whether :meth:`isclose` holds everywhere (a Python bool)."""
        return bool(self.isclose(other, rtol, atol, equal_nan).data.all())

    def equal(self, other) -> bool:
        """Whether ``other`` has the same shape and the same values (a Python bool)."""
        if not isinstance(other, Tensor):
            raise TypeError(f"equal: expects a tensor, got {type(other).__name__}")
        return self.shape == other.shape and bool((self == other).data.all())

    # new tensors with this one's dtype and device (PyTorch's new_* methods)
    def new_tensor(self, data, dtype=None, device=None, requires_grad=False):
        return Tensor(data, dtype=dtype or self.dtype, device=device or self.device,
                      requires_grad=requires_grad)

    def new_full(self, size, fill_value, dtype=None, device=None, requires_grad=False):
        from .creation import full

        return full(_shape_args((size,) if isinstance(size, numbers.Integral) else size,
                                "new_full", sizes=True),
                    fill_value, dtype=dtype or self.dtype, device=device or self.device,
                    requires_grad=requires_grad)

    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_shape_args(size), 0, dtype, device, requires_grad)

    def new_ones(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_shape_args(size), 1, dtype, device, requires_grad)

    def new_empty(self, *size, dtype=None, device=None, requires_grad=False):
        return self.new_full(_shape_args(size), 0, dtype, device, requires_grad)

    def is_floating_point(self) -> bool:
        return _dt.is_floating(self.dtype)

    def is_complex(self) -> bool:
        return False  # minigrad has no complex dtypes

    def element_size(self) -> int:
        """Bytes per element."""
        return int(self.data.itemsize)

    @property
    def itemsize(self) -> int:
        return int(self.data.itemsize)

    @property
    def nbytes(self) -> int:
        return int(self.data.nbytes)

    def eq(self, other):
        return self == other

    def ne(self, other):
        return self != other

    def lt(self, other):
        return self < other

    def le(self, other):
        return self <= other

    def gt(self, other):
        return self > other

    def ge(self, other):
        return self >= other

    def any(self, dim=None, keepdim=False):
        axes = None if dim is None else _reduction.normalize_dims(dim, self.ndim, "any")
        return _make_tensor(self.xp.any(self.data, axis=axes, keepdims=keepdim), None, False)

    def all(self, dim=None, keepdim=False):
        axes = None if dim is None else _reduction.normalize_dims(dim, self.ndim, "all")
        return _make_tensor(self.xp.all(self.data, axis=axes, keepdims=keepdim), None, False)

    def isfinite(self):
        return _make_tensor(self.xp.isfinite(self.data), None, False)

    def isnan(self):
        return _make_tensor(self.xp.isnan(self.data), None, False)

    def isinf(self):
        return _make_tensor(self.xp.isinf(self.data), None, False)

    def isposinf(self):
        return _make_tensor(self.xp.isposinf(self.data), None, False)

    def isneginf(self):
        return _make_tensor(self.xp.isneginf(self.data), None, False)

    def nan_to_num(self, nan=0.0, posinf=None, neginf=None):
        """nan, +inf and −inf replaced by numbers (None: the dtype's largest / lowest
        finite value); the gradient passes where the value was finite."""
        return _elementwise.NanToNum(nan, posinf, neginf)(self)

    # ------------------------------------------------------------------ elementwise math
    def add(self, other, alpha=1):
        return self + (other * alpha if alpha != 1 else other)

    def sub(self, other, alpha=1):
        return self - (other * alpha if alpha != 1 else other)

    def mul(self, other):
        return self * other

    def div(self, other, rounding_mode=None):
        """``self / other``; ``rounding_mode="floor"`` is ``//``, ``"trunc"`` rounds toward
        zero (no gradient, like PyTorch's)."""
        if rounding_mode is None:
            return self / other
        if rounding_mode == "floor":
            return self // other
        if rounding_mode == "trunc":
            o = other if isinstance(other, Tensor) else _as_operand(other, self)
            a, b = _elementwise.promote(self.data, o.data)
            xp = self.xp
            if not _dt.is_floating(a.dtype):  # exactly, in integers: |a| // |b| with a sign
                _elementwise.check_integer_divisor(b, "div")
                q = xp.abs(a) // xp.abs(b)
                return _make_tensor(xp.where((a < 0) != (b < 0), -q, q), None, False)
            with np.errstate(divide="ignore", invalid="ignore"):
                return _make_tensor(xp.trunc(a / b), None, False)
        raise ValueError(f"div: rounding_mode must be None, 'trunc' or 'floor', got "
                         f"{rounding_mode!r}")

    def floor_divide(self, other):
        return self // other

    def remainder(self, other):
        return self % other

    def neg(self):
        return -self

    def pow(self, exponent):
        return self**exponent

    def exp(self):
        return _elementwise.Exp()(self)

    def log(self):
        return _elementwise.Log()(self)

    def log1p(self):
        return _elementwise.Log1p()(self)

    def sqrt(self):
        return _elementwise.Sqrt()(self)

    def rsqrt(self):
        return _elementwise.Rsqrt()(self)

    def abs(self):
        return _elementwise.Abs()(self)

    def sign(self):
        return _elementwise.Sign()(self)

    def floor(self):
        return _elementwise.Floor()(self)

    def ceil(self):
        return _elementwise.Ceil()(self)

    def round(self, decimals=0):
        """Round half to even, to ``decimals`` places (negative: to tens, hundreds...)."""
        return _elementwise.Round(decimals)(self)

    def trunc(self):
        return _elementwise.Trunc()(self)

    fix = trunc

    def frac(self):
        return _elementwise.Frac()(self)

    def tan(self):
        return _elementwise.Tan()(self)

    def expm1(self):
        return _elementwise.Expm1()(self)

    def exp2(self):
        return _elementwise.Exp2()(self)

    def log2(self):
        return _elementwise.Log2()(self)

    def log10(self):
        return _elementwise.Log10()(self)

    def sin(self):
        return _elementwise.Sin()(self)

    def cos(self):
        return _elementwise.Cos()(self)

    def erf(self):
        return _elementwise.Erf()(self)

    def sinh(self):
        return _elementwise.Sinh()(self)

    def cosh(self):
        return _elementwise.Cosh()(self)

    def asin(self):
        return _elementwise.Asin()(self)

    def acos(self):
        return _elementwise.Acos()(self)

    def atan(self):
        return _elementwise.Atan()(self)

    def asinh(self):
        return _elementwise.Asinh()(self)

    def acosh(self):
        return _elementwise.Acosh()(self)

    def atanh(self):
        return _elementwise.Atanh()(self)

    arcsin, arccos, arctan, arcsinh, arccosh, arctanh = asin, acos, atan, asinh, acosh, atanh

    def erfc(self):
        return _elementwise.Erfc()(self)

    def erfinv(self):
        return _elementwise.Erfinv()(self)

    def logit(self, eps=None):
        """log(p / (1 − p)), p clamped to [eps, 1 − eps] when ``eps`` is given."""
        return _elementwise.logit(self, eps)

    def sinc(self):
        """sin(πx)/(πx), 1 at 0."""
        return _elementwise.Sinc()(self)

    def deg2rad(self):
        return _elementwise.deg2rad(self)

    def rad2deg(self):
        return _elementwise.rad2deg(self)

    def atan2(self, other):
        """The angle of the point (other, self), in [−π, π]."""
        return _elementwise.Atan2()(self, other)

    arctan2 = atan2

    def hypot(self, other):
        return _elementwise.Hypot()(self, other)

    def logaddexp(self, other):
        return _elementwise.LogAddExp()(self, other)

    def logaddexp2(self, other):
        return _elementwise.LogAddExp2()(self, other)

    def xlogy(self, other):
        """self·log(other), 0 where self is 0."""
        return _elementwise.XLogY()(self, other)

    def copysign(self, other):
        return _elementwise.CopySign()(self, other)

    def heaviside(self, values):
        """0 / ``values`` / 1 where self is < 0 / = 0 / > 0 (no gradient)."""
        return _elementwise.heaviside(self, values)

    def lerp(self, end, weight):
        """self + weight·(end − self)."""
        return _elementwise.lerp(self, end, weight)

    def addcmul(self, tensor1, tensor2, *, value=1):
        """self + value·tensor1·tensor2."""
        return _elementwise.addcmul(self, tensor1, tensor2, value=value)

    def addcdiv(self, tensor1, tensor2, *, value=1):
        """self + value·tensor1/tensor2."""
        return _elementwise.addcdiv(self, tensor1, tensor2, value=value)

    def float_power(self, exponent):
        """self ** exponent computed in float64 (a float64 result)."""
        return _elementwise.float_power(self, exponent)

    def true_divide(self, other):
        return self / other

    def square(self):
        """x·x; a bool tensor squares to int64, as PyTorch's (x·x of bools would be x)."""
        x = self.to(dtype=_dt.int64) if self.dtype == _dt.bool else self
        return x * x

    def reciprocal(self):
        return 1.0 / self

    def clamp(self, min=None, max=None):
        return _elementwise.clamp(self, min, max)

    clip = clamp

    def clamp_min(self, min):
        return _elementwise.clamp(self, min, None)

    def clamp_max(self, max):
        return _elementwise.clamp(self, None, max)

    def where(self, condition, other):
        """``self`` where ``condition``, else ``other`` (PyTorch's ``Tensor.where``)."""
        return _elementwise.where(condition, self, other)

    def masked_fill(self, mask, value):
        """``value`` where ``mask`` is true, ``self`` elsewhere, in ``self``'s dtype as in
        PyTorch (2.7 in an integer tensor is 2); differentiable in self."""
        if isinstance(value, Tensor) and value.ndim != 0:
            raise ValueError(f"masked_fill: value must be a number or a 0-d tensor, got "
                             f"shape {value.shape}")
        mask_data = mask.data if isinstance(mask, Tensor) else \
            mask if hasattr(mask, "dtype") else np.asarray(mask)
        _elementwise._check_bool_condition("masked_fill", "mask", mask_data)
        shape = tuple(mask_data.shape)
        if not _shape.broadcasts_to(shape, self.shape):
            raise ValueError(f"masked_fill: the mask's shape {shape} does not broadcast to "
                             f"the tensor's shape {self.shape}")
        y = _elementwise.where(mask, value, self)
        return y if y.dtype == self.dtype else y.to(dtype=self.dtype)

    def maximum(self, other):
        return _elementwise.Maximum()(self, other)

    def minimum(self, other):
        return _elementwise.Minimum()(self, other)

    def relu(self):
        return _activation.ReLU()(self)

    def sigmoid(self):
        return _activation.Sigmoid()(self)

    def tanh(self):
        return _activation.Tanh()(self)

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, *, dtype=None):
        return _reduction.sum(_cast_first(self, dtype), dim, keepdim)

    def mean(self, dim=None, keepdim=False, *, dtype=None):
        return _reduction.mean(_cast_first(self, dtype), dim, keepdim)

    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=1):
        """Σ(x − x̄)² / (n − correction). PyTorch's overloads: ``var(dim, unbiased,
        keepdim)`` positionally (``x.var(0, False)`` is the biased estimate), ``var(False)``,
        and ``correction=`` and ``keepdim=`` by keyword."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        return _reduction.var(self, dim, keepdim, correction, unbiased)

    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=1):
        """√var, with :meth:`var`'s arguments."""
        if isinstance(dim, bool):
            dim, unbiased = None, dim
        return _reduction.std(self, dim, keepdim, correction, unbiased)

    def max(self, dim=None, keepdim=False):
        """Max of all elements, ``(values, indices)`` along ``dim``, or the elementwise
        maximum with a tensor (PyTorch's three overloads)."""
        return _reduction.max_min(self, dim, keepdim, "max")

    def min(self, dim=None, keepdim=False):
        """Min of all elements, ``(values, indices)`` along ``dim``, or the elementwise
        minimum with a tensor."""
        return _reduction.max_min(self, dim, keepdim, "min")

    def amax(self, dim=None, keepdim=False):
        return _reduction.Amax(dim, keepdim)(self)

    def amin(self, dim=None, keepdim=False):
        return _reduction.Amin(dim, keepdim)(self)

    def argmax(self, dim=None, keepdim=False):
        return _reduction.argmax(self, dim, keepdim)

    def argmin(self, dim=None, keepdim=False):
        return _reduction.argmin(self, dim, keepdim)

    def logsumexp(self, dim, keepdim=False):
        return _reduction.LogSumExp(dim, keepdim)(self)

    def softmax(self, dim, dtype=None):
        return _reduction.Softmax(dim)(_cast_first(self, dtype))

    def log_softmax(self, dim, dtype=None):
        return _reduction.LogSoftmax(dim)(_cast_first(self, dtype))

    def cumsum(self, dim, *, dtype=None):
        return _reduction.Cumsum(dim)(_cast_first(self, dtype))

    def cumprod(self, dim, *, dtype=None):
        return _reduction.Cumprod(dim)(_cast_first(self, dtype))

    def logcumsumexp(self, dim):
        """log Σ_{j ≤ i} e^{xⱼ} along ``dim``, without overflow or underflow."""
        return _reduction.LogCumSumExp(dim)(self)

    def prod(self, dim=None, keepdim=False, *, dtype=None):
        return _reduction.prod(_cast_first(self, dtype), dim, keepdim)

    # ------------------------------------------------------------------ sorting
    def sort(self, dim=-1, descending=False, stable=False):
        """``(values, indices)`` sorted along ``dim`` (stable, NaN as the largest)."""
        return _sorting.sort(self, dim, descending, stable)

    def argsort(self, dim=-1, descending=False, stable=False):
        return _sorting.argsort(self, dim, descending, stable)

    def topk(self, k, dim=None, largest=True, sorted=True):
        return _sorting.topk(self, k, dim, largest, sorted)

    def kthvalue(self, k, dim=-1, keepdim=False):
        return _sorting.kthvalue(self, k, dim, keepdim)

    def median(self, dim=None, keepdim=False):
        return _sorting.median(self, dim, keepdim)

    def norm(self, p="fro", dim=None, keepdim=False, dtype=None):
        return _reduction.norm(self, p, dim, keepdim, dtype)

    # ------------------------------------------------------------------ linear algebra
    def matmul(self, other):
        return _linalg.matmul(self, other)

    def dot(self, other):
        return _linalg.dot(self, other)

    def mm(self, mat2):
        return _linalg.mm(self, mat2)

    def bmm(self, mat2):
        return _linalg.bmm(self, mat2)

    def outer(self, vec2):
        return _linalg.outer(self, vec2)

    def inner(self, other):
        return _linalg.inner(self, other)

    def addmm(self, mat1, mat2, *, beta=1, alpha=1):
        return _linalg.addmm(self, mat1, mat2, beta=beta, alpha=alpha)

    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _linalg.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def addmv(self, mat, vec, *, beta=1, alpha=1):
        return _linalg.addmv(self, mat, vec, beta=beta, alpha=alpha)

    def tril(self, diagonal=0):
        return _linalg.tril(self, diagonal)

    def triu(self, diagonal=0):
        return _linalg.triu(self, diagonal)

    def diag(self, diagonal=0):
        return _linalg.diag(self, diagonal)

    def diagonal(self, offset=0, dim1=0, dim2=1):
        return _linalg.diagonal(self, offset, dim1, dim2)

    def diag_embed(self, offset=0, dim1=-2, dim2=-1):
        return _linalg.diag_embed(self, offset, dim1, dim2)

    def trace(self):
        return _linalg.trace(self)

    def cross(self, other, dim=None):
        return _linalg.cross(self, other, dim)

    def kron(self, other):
        return _linalg.kron(self, other)

    def det(self):
        from .linalg import det

        return det(self)

    def logdet(self):
        from .linalg import logdet

        return logdet(self)

    def slogdet(self):
        from .linalg import slogdet

        return slogdet(self)

    def inverse(self):
        from .linalg import inv

        return inv(self)

    def matrix_power(self, n):
        from .linalg import matrix_power

        return matrix_power(self, n)

    def pinverse(self, rcond=1e-15):
        return _linalg.pinverse(self, rcond)

    # ------------------------------------------------------------------ sparse formats
    def to_sparse_coo(self):
        """This dense tensor in COO format (see :mod:`minigrad.sparse`)."""
        from .sparse import to_sparse_coo

        return to_sparse_coo(self)

    def to_sparse_csr(self):
        """This 2-D dense tensor in CSR format (see :mod:`minigrad.sparse`)."""
        from .sparse import to_sparse_csr

        return to_sparse_csr(self)

    def to_sparse(self, sparse_dim=None):
        """COO with the first ``sparse_dim`` dims sparse (all by default), as PyTorch."""
        from .sparse import to_sparse

        return to_sparse(self, sparse_dim)

    # ------------------------------------------------------------------ shapes
    def reshape(self, *shape):
        return _shape.reshape(self, _shape_args(shape, "reshape"))

    def view(self, *shape):
        """PyTorch's two views: ``view(*shape)``, which is :meth:`reshape` (minigrad also
        views a non-contiguous tensor, copying when it must), and ``view(dtype)``: the same
        bytes read as another dtype, the last dim scaled by the ratio of the item sizes
        (a float32 (2, 4) viewed as float16 is (2, 8)). The dtype view shares this
        tensor's memory and is not recorded by autograd."""
        if len(shape) == 1 and (isinstance(shape[0], np.dtype) or (
                isinstance(shape[0], type) and issubclass(shape[0], np.generic))):
            dtype = _dt.as_dtype(shape[0])
            data = self.data
            if dtype.itemsize != data.dtype.itemsize and (
                    data.ndim == 0 or not self.is_contiguous() or
                    data.shape[-1] * data.dtype.itemsize % dtype.itemsize):
                raise RuntimeError(
                    f"view: a {self.dtype} tensor of shape {self.shape} cannot be viewed as "
                    f"{dtype}: with another item size the tensor must be contiguous, at "
                    "least 1-D, and its last dim's bytes a multiple of the new item size")
            out = _make_tensor(data.view(dtype), None, False)
            out._base = self  # the same memory: in-place writes through it change self
            return out
        return self.reshape(*shape)

    def view_as(self, other):
        return self.reshape(other.shape)

    def reshape_as(self, other):
        return self.reshape(other.shape)

    def permute(self, *dims):
        return _shape.Permute(_shape_args(dims, "permute"))(self)

    def transpose(self, dim0, dim1):
        return _shape.transpose(self, dim0, dim1)

    def t(self):
        if self.ndim > 2:
            raise ValueError(f"t(): expects a tensor with <= 2 dims, got shape {self.shape}")
        return self.T

    def flatten(self, start_dim=0, end_dim=-1):
        return _shape.flatten(self, start_dim, end_dim)

    def squeeze(self, dim=None):
        return _shape.squeeze(self, dim)

    def unsqueeze(self, dim):
        return _shape.unsqueeze(self, dim)

    def expand(self, *sizes):
        return _shape.expand(self, _shape_args(sizes, "expand"))

    def expand_as(self, other):
        return self.broadcast_to(other.shape)

    def broadcast_to(self, shape):
        return _shape.broadcast_to(self, tuple(shape))

    def sum_to(self, shape):
        """Sum broadcast dimensions away so that the result has ``shape``."""
        return _shape.sum_to(self, tuple(shape))

    def sum_to_size(self, *size):
        """PyTorch's name for :meth:`sum_to`: ``sum_to_size(2, 3)`` or ``sum_to_size((2, 3))``."""
        return self.sum_to(_shape_args(size, "sum_to_size", sizes=True))

    def repeat(self, *repeats):
        return _shape.repeat(self, _shape_args(repeats, "repeat"))

    def flip(self, dims):
        return _shape.flip(self, dims)

    def roll(self, shifts, dims=None):
        return _shape.roll(self, shifts, dims)

    def gather(self, dim, index):
        return _shape.gather(self, dim, index)

    def scatter(self, dim, index, src=None, value=None):
        """A copy with ``src`` (a tensor or a number) written at ``index`` along ``dim``."""
        return _shape.scatter(self, dim, index, src, value)

    def scatter_add(self, dim, index, src):
        """A copy with ``src`` added at ``index`` along ``dim`` (repeats accumulate)."""
        return _shape.scatter_add(self, dim, index, src)

    def index_select(self, dim, index):
        return _shape.index_select(self, dim, index)

    def narrow(self, dim, start, length):
        return _shape.narrow(self, dim, start, length)

    def unbind(self, dim=0):
        return _shape.unbind(self, dim)

    def unflatten(self, dim, sizes):
        return _shape.unflatten(self, dim, sizes)

    def split(self, split_size, dim=0):
        """``mg.split(self, split_size, dim)``: ``split_size`` an int or a list of sizes
        (PyTorch's name for the method's argument)."""
        return _shape.split(self, split_size, dim)

    def chunk(self, chunks, dim=0):
        return _shape.chunk(self, chunks, dim)

    def contiguous(self):
        """Itself when its data is C-contiguous, else a contiguous copy (differentiable)."""
        return self if self.data.flags.c_contiguous else self.clone()

    def is_contiguous(self) -> bool:
        return bool(self.data.flags.c_contiguous)

    def stride(self, dim=None):
        """The step in elements between neighbours along each dim (or along ``dim``)."""
        strides = tuple(s // self.data.itemsize for s in self.data.strides)
        return strides if dim is None else strides[_shape._dim(dim, self.ndim, "stride")]

    def storage_offset(self) -> int:
        """0: minigrad's tensors do not expose a shared storage (a view's offset into its
        base is not tracked); see :meth:`as_strided`."""
        return 0

    def as_strided(self, size, stride, storage_offset=0):
        """The elements at ``storage_offset + Σ i_k·stride_k`` of this tensor's values in
        row-major order, shaped ``size``; differentiable (overlapping windows add their
        gradients). Of a contiguous tensor it is a view, as in PyTorch: writes into it
        (under no_grad) change this tensor. Where minigrad differs: the "storage" is always
        this tensor's own row-major values, also when it is itself a non-contiguous view
        (PyTorch reads the shared storage of the base tensor); then the result is a copy,
        and read-only, so that a write into it raises instead of being lost."""
        size, stride = tuple(int(n) for n in size), tuple(int(n) for n in stride)
        if len(size) != len(stride):
            raise ValueError(f"as_strided: size {size} and stride {stride} differ in length")
        if any(n < 0 for n in size) or any(st < 0 for st in stride) or storage_offset < 0:
            raise ValueError("as_strided: sizes, strides and storage_offset must be "
                             "non-negative")
        xp = self.xp
        flat = xp.full(size, int(storage_offset), dtype=np.int64)
        for d, (n, st) in enumerate(zip(size, stride)):
            flat = flat + (xp.arange(n, dtype=np.int64) * st).reshape(
                (1,) * d + (n,) + (1,) * (len(size) - d - 1))
        if flat.size and int(flat.max()) >= self.numel():
            raise IndexError(f"as_strided: size {size}, stride {stride} and offset "
                             f"{storage_offset} reach element {int(flat.max())} of a tensor "
                             f"with {self.numel()} elements")
        if self.is_contiguous():
            out = _shape.AsStrided(size, stride, int(storage_offset), flat)(self)
            out._base = self  # a view of self's memory (writes into it change self)
            return out
        out = self.reshape(-1)[_elementwise.const(flat)]
        if xp is np:
            out.data.flags.writeable = False
        return out

    def get_device(self) -> int:
        """-1 on the CPU, the GPU's index (0) on CUDA, as PyTorch."""
        return -1 if self.device == "cpu" else 0

    def is_inference(self) -> bool:
        """False: minigrad has no inference tensors (``inference_mode`` is ``no_grad``)."""
        return False

    # real tensors: conjugation is the identity (minigrad has no complex dtypes)
    def conj(self):
        return self

    resolve_conj = resolve_neg = conj_physical = conj

    def is_conj(self) -> bool:
        return False

    is_neg = is_conj

    def to_dense(self, dtype=None):
        """Itself (already dense), cast to ``dtype`` if given."""
        return self if dtype is None else self.to(dtype=dtype)

    def __dlpack__(self, *args, **kwargs):
        """DLPack export (zero copy): ``torch.from_dlpack(t)``, ``np.from_dlpack(t)``..."""
        return self.data.__dlpack__(*args, **kwargs)

    def __dlpack_device__(self):
        return self.data.__dlpack_device__()

    # the gamma-function family (minigrad/ops/special.py)
    def lgamma(self):
        return _special.lgamma(self)

    def digamma(self):
        return _special.digamma(self)

    def polygamma(self, n):
        return _special.polygamma(n, self)

    def mvlgamma(self, p):
        return _special.mvlgamma(self, p)

    # PyTorch's manipulation, search and NaN-aware functions as methods
    # (minigrad/ops/manipulation.py, sorting.py, reduction.py)
    def movedim(self, source, destination):
        return _manipulation.movedim(self, source, destination)

    moveaxis = movedim

    def swapaxes(self, axis0, axis1):
        return self.transpose(axis0, axis1)

    swapdims = swapaxes

    def tile(self, dims):
        return _manipulation.tile(self, dims)

    def repeat_interleave(self, repeats=None, dim=None, *, output_size=None):
        return _manipulation.repeat_interleave(self, repeats, dim, output_size=output_size)

    def rot90(self, k=1, dims=(0, 1)):
        return _manipulation.rot90(self, k, dims)

    def fliplr(self):
        return _manipulation.fliplr(self)

    def flipud(self):
        return _manipulation.flipud(self)

    def diff(self, n=1, dim=-1, prepend=None, append=None):
        return _manipulation.diff(self, n, dim, prepend, append)

    def take_along_dim(self, indices, dim=None):
        return _manipulation.take_along_dim(self, indices, dim)

    def index_add(self, dim, index, source, *, alpha=1):
        return _manipulation.index_add(self, dim, index, source, alpha=alpha)

    def index_copy(self, dim, index, source):
        return _manipulation.index_copy(self, dim, index, source)

    def index_fill(self, dim, index, value):
        return _manipulation.index_fill(self, dim, index, value)

    def masked_select(self, mask):
        return _manipulation.masked_select(self, mask)

    def cummax(self, dim):
        return _sorting.cummax(self, dim)

    def cummin(self, dim):
        return _sorting.cummin(self, dim)

    def nonzero(self, *, as_tuple=False):
        return _sorting.nonzero(self, as_tuple=as_tuple)

    def argwhere(self):
        return _sorting.argwhere(self)

    def count_nonzero(self, dim=None):
        return _sorting.count_nonzero(self, dim)

    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None):
        return _sorting.unique(self, sorted, return_inverse, return_counts, dim)

    def nansum(self, dim=None, keepdim=False, *, dtype=None):
        return _reduction.nansum(self, dim, keepdim, dtype=dtype)

    def nanmean(self, dim=None, keepdim=False, *, dtype=None):
        return _reduction.nanmean(self, dim, keepdim, dtype=dtype)

    def aminmax(self, *, dim=None, keepdim=False):
        return _reduction.aminmax(self, dim=dim, keepdim=keepdim)

    # statistics and integer ops (ops/statistics.py)
    absolute, sgn, negative, multiply = abs, sign, neg, mul
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
    ndimension, nelement = dim, numel

    def divide(self, other, *, rounding_mode=None):
        return self.div(other, rounding_mode)

    def subtract(self, other, *, alpha=1):
        return self.sub(other, alpha)

    def positive(self):
        return _statistics.positive(self)

    def msort(self):
        return _statistics.msort(self)

    def ravel(self):
        return _statistics.ravel(self)

    def is_same_size(self, other) -> bool:
        return _statistics.is_same_size(self, other)

    def is_signed(self) -> bool:
        return _statistics.is_signed(self)

    def is_nonzero(self) -> bool:
        return _statistics.is_nonzero(self)

    def isreal(self):
        return _statistics.isreal(self)

    def dist(self, other, p=2):
        return _statistics.dist(self, other, p)

    def bitwise_and(self, other):
        return _statistics.bitwise_and(self, other)

    def bitwise_or(self, other):
        return _statistics.bitwise_or(self, other)

    def bitwise_xor(self, other):
        return _statistics.bitwise_xor(self, other)

    def bitwise_not(self):
        return _statistics.bitwise_not(self)

    def bitwise_left_shift(self, other):
        return _statistics.bitwise_left_shift(self, other)

    def bitwise_right_shift(self, other):
        return _statistics.bitwise_right_shift(self, other)

    def __lshift__(self, other):
        return _statistics.bitwise_left_shift(self, other)

    def __rlshift__(self, other):
        return _statistics.bitwise_left_shift(other, self)

    def __rshift__(self, other):
        return _statistics.bitwise_right_shift(self, other)

    def __rrshift__(self, other):
        return _statistics.bitwise_right_shift(other, self)

    def gcd(self, other):
        return _statistics.gcd(self, other)

    def lcm(self, other):
        return _statistics.lcm(self, other)

    def fmax(self, other):
        return _statistics.fmax(self, other)

    def fmin(self, other):
        return _statistics.fmin(self, other)

    def fmod(self, other):
        return _statistics.fmod(self, other)

    def frexp(self):
        return _statistics.frexp(self)

    def ldexp(self, other):
        return _statistics.ldexp(self, other)

    def nextafter(self, other):
        return _statistics.nextafter(self, other)

    def signbit(self):
        return _statistics.signbit(self)

    def i0(self):
        return _special.i0(self)

    def igamma(self, other):
        return _special.igamma(self, other)

    def igammac(self, other):
        return _special.igammac(self, other)

    def bincount(self, weights=None, minlength=0):
        return _statistics.bincount(self, weights, minlength)

    def histc(self, bins=100, min=0, max=0):  # noqa: A002  (PyTorch's names)
        return _statistics.histc(self, bins, min, max)

    def histogram(self, bins, *, range=None, weight=None, density=False):  # noqa: A002
        return _statistics.histogram(self, bins, range=range, weight=weight, density=density)

    def mode(self, dim=-1, keepdim=False):
        return _statistics.mode(self, dim, keepdim)

    def nanmedian(self, dim=None, keepdim=False):
        return _statistics.nanmedian(self, dim, keepdim)

    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return _statistics.quantile(self, q, dim, keepdim, interpolation=interpolation)

    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"):
        return _statistics.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    def cov(self, *, correction=1, fweights=None, aweights=None):
        return _statistics.cov(self, correction=correction, fweights=fweights,
                               aweights=aweights)

    def corrcoef(self):
        return _statistics.corrcoef(self)

    def renorm(self, p, dim, maxnorm):
        return _statistics.renorm(self, p, dim, maxnorm)

    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None):
        return _statistics.unique_consecutive(self, return_inverse, return_counts, dim)

    # indexing, splitting and linear algebra additions (ops/indexing.py, ops/linalg.py)
    def select(self, dim, index):
        return _indexing.select(self, dim, index)

    def select_scatter(self, src, dim, index):
        return _indexing.select_scatter(self, src, dim, index)

    def slice_scatter(self, src, dim=0, start=None, end=None, step=1):
        return _indexing.slice_scatter(self, src, dim, start, end, step)

    def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1):
        return _indexing.diagonal_scatter(self, src, offset, dim1, dim2)

    def take(self, index):
        return _indexing.take(self, index)

    def put(self, index, source, accumulate=False):
        return _indexing.put(self, index, source, accumulate)

    def index_put(self, indices, values, accumulate=False):
        return _indexing.index_put(self, indices, values, accumulate)

    def masked_scatter(self, mask, source):
        return _indexing.masked_scatter(self, mask, source)

    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True):
        return _indexing.scatter_reduce(self, dim, index, src, reduce,
                                        include_self=include_self)

    def index_reduce(self, dim, index, source, reduce, *, include_self=True):
        return _indexing.index_reduce(self, dim, index, source, reduce,
                                      include_self=include_self)

    def tensor_split(self, indices_or_sections, dim=0):
        return _indexing.tensor_split(self, indices_or_sections, dim)

    def hsplit(self, indices_or_sections):
        return _indexing.hsplit(self, indices_or_sections)

    def vsplit(self, indices_or_sections):
        return _indexing.vsplit(self, indices_or_sections)

    def dsplit(self, indices_or_sections):
        return _indexing.dsplit(self, indices_or_sections)

    def split_with_sizes(self, split_sizes, dim=0):
        return _indexing.split_with_sizes(self, split_sizes, dim)

    def unfold(self, dimension, size, step):
        """The windows of ``size`` elements of ``dimension``, ``step`` apart, as a view
        with the window's elements as a new last dim."""
        return _indexing.unfold(self, dimension, size, step)

    def narrow_copy(self, dim, start, length):
        return _indexing.narrow_copy(self, dim, start, length)

    def diagflat(self, offset=0):
        return _indexing.diagflat(self, offset)

    def mv(self, vec):
        return _linalg.mv(self, vec)

    def vdot(self, other):
        return _linalg.vdot(self, other)

    def ger(self, vec2):
        return _linalg.outer(self, vec2)

    def addr(self, vec1, vec2, *, beta=1, alpha=1):
        return _linalg.addr(self, vec1, vec2, beta=beta, alpha=alpha)

    def addbmm(self, batch1, batch2, *, beta=1, alpha=1):
        return _linalg.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)

    def adjoint(self):
        return _linalg.adjoint(self)

    def cholesky(self, upper=False):
        return _linalg.cholesky(self, upper)

    def cholesky_inverse(self, upper=False):
        return _linalg.cholesky_inverse(self, upper)

    def cholesky_solve(self, input2, upper=False):
        return _linalg.cholesky_solve(self, input2, upper)

    def triangular_solve(self, A, upper=True, transpose=False, unitriangular=False):
        return _linalg.triangular_solve(self, A, upper, transpose, unitriangular)

    def lu(self, pivot=True, get_infos=False):
        return _linalg.lu(self, pivot, get_infos)

    def lu_solve(self, LU_data, LU_pivots):
        return _linalg.lu_solve(self, LU_data, LU_pivots)

    def matrix_exp(self):
        return _linalg.matrix_exp(self)

    def qr(self, some=True):
        return _linalg.qr(self, some)

    def svd(self, some=True, compute_uv=True):
        """``(U, S, V)`` with self = U·diag(S)·Vᵀ (V, not Vh: PyTorch's older ``svd``)."""
        return _linalg.svd(self, some, compute_uv)

    def __getitem__(self, index):
        return _shape.getitem(self, index)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return (self[i] for i in range(self.shape[0]))

    # ------------------------------------------------------------------ printing
    def __repr__(self):
        body = _printing.array_string(
            np.asarray(self.data.get() if self.device == "cuda" else self.data), "tensor(")
        extras = []
        if self.device != "cpu":
            extras.append(f"device='{self.device}'")
        if self.dtype not in (_dt.float32, _dt.int64, _dt.bool):
            extras.append(f"dtype={self.dtype}")
        if self.creator is not None:
            extras.append(f"grad_fn={self.creator!r}")
        elif self.requires_grad:
            extras.append("requires_grad=True")
        return "tensor(" + body + "".join(", " + e for e in extras) + ")"


# PyTorch's in-place forms of the elementwise, reduction-along-a-dim and indexing methods:
# x.exp_() is x ← x.exp(), and so on (the shape-changing ones, t_, squeeze_..., are left
# out: a graph that used the tensor would see its new shape).
_INPLACE_FORMS = (
    "add_ sub_ mul_ div_ "
    "abs_ absolute_ acos_ acosh_ addbmm_ addcdiv_ addcmul_ addmm_ addmv_ addr_ arccos_ "
    "arccosh_ arcsin_ arcsinh_ arctan2_ arctan_ arctanh_ asin_ asinh_ atan2_ atan_ atanh_ "
    "baddbmm_ bitwise_and_ bitwise_left_shift_ bitwise_not_ bitwise_or_ "
    "bitwise_right_shift_ bitwise_xor_ ceil_ clamp_max_ clamp_min_ clip_ conj_physical_ "
    "copysign_ cos_ cosh_ cumprod_ cumsum_ deg2rad_ digamma_ divide_ eq_ erf_ erfc_ erfinv_ "
    "exp2_ exp_ expm1_ fix_ float_power_ floor_ floor_divide_ fmod_ frac_ gcd_ ge_ greater_ "
    "greater_equal_ gt_ heaviside_ hypot_ i0_ igamma_ igammac_ index_add_ index_copy_ "
    "index_fill_ index_put_ index_reduce_ lcm_ ldexp_ le_ lerp_ less_ less_equal_ lgamma_ "
    "log10_ log1p_ log2_ log_ logical_and_ logical_not_ logical_or_ logical_xor_ logit_ lt_ "
    "masked_fill_ masked_scatter_ multiply_ mvlgamma_ nan_to_num_ ne_ neg_ negative_ "
    "nextafter_ not_equal_ polygamma_ pow_ put_ rad2deg_ reciprocal_ relu_ remainder_ "
    "renorm_ round_ rsqrt_ scatter_ scatter_add_ scatter_reduce_ sgn_ sigmoid_ sign_ sin_ "
    "sinc_ sinh_ sqrt_ square_ subtract_ tan_ tanh_ tril_ triu_ true_divide_ trunc_ xlogy_"
).split()


def _in_place_form(name):
    base = name[:-1]

    def method(self, *args, **kwargs):
        self._check_inplace(name)
        with _no_grad():
            return self._store(name, getattr(self, base)(*args, **kwargs))

    method.__name__ = method.__qualname__ = name
    method.__doc__ = (f"In place: ``self ← self.{base}(...)``, PyTorch's ``{name}`` (the "
                      "result must keep this tensor's shape and cast to its dtype; not "
                      "recorded by autograd, so refused on a tensor that requires grad "
                      "unless under no_grad).")
    return method


for _name in _INPLACE_FORMS:
    if not hasattr(Tensor, _name):
        setattr(Tensor, _name, _in_place_form(_name))


def _default_grad_output(y, g, what):
    if g is None:
        if y.data.size != 1:
            raise RuntimeError(
                f"{what}: grad can be implicitly created only for a tensor with one "
                f"element; this output has shape {y.shape}, so pass gradient=... "
                "(e.g. a tensor of ones of that shape)"
            )
        return _make_tensor(y.xp.ones_like(y.data), None, False)
    if not isinstance(g, Tensor):
        g = Tensor(g, dtype=y.dtype, device=y.device)
    if g.shape != y.shape:
        raise ValueError(
            f"{what}: gradient has shape {g.shape} but the output has shape {y.shape}"
        )
    return g


# The op modules import Tensor from this module, so they are imported after it exists.
from .ops import activation as _activation  # noqa: E402
from .ops import elementwise as _elementwise  # noqa: E402
from .ops import indexing as _indexing  # noqa: E402
from .ops import linalg as _linalg  # noqa: E402
from .ops import manipulation as _manipulation  # noqa: E402
from .ops import reduction as _reduction  # noqa: E402
from .ops import shape as _shape  # noqa: E402
from .ops import sorting as _sorting  # noqa: E402
from .ops import special as _special  # noqa: E402
from .ops import statistics as _statistics  # noqa: E402
