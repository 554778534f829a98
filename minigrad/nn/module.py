"""``Module``, ``Parameter`` and the containers (``Sequential``, ``ModuleList``,
``ModuleDict``): PyTorch's module system, in one readable file.

A Module owns three ordered dictionaries, filled by plain attribute assignment:

- ``_parameters``: :class:`Parameter` objects (trainable tensors), found by
  ``parameters()`` and updated by optimizers;
- ``_buffers``: tensors that are state but not trained (BatchNorm's running mean and
  variance), registered with :meth:`Module.register_buffer`, saved in ``state_dict``;
- ``_modules``: child modules.

``state_dict()`` flattens the tree into dotted names (``"0.weight"``,
``"bn1.running_mean"``) in registration order, exactly as PyTorch names them, so a
PyTorch state dict whose tensors were converted to arrays (``{k: v.numpy() ...}``) loads
into the same architecture built with minigrad.

Notes
-----
Departures from PyTorch:

- ``state_dict()`` returns detached Tensors sharing memory with the module (as PyTorch);
  ``load_state_dict`` accepts Tensors, NumPy/CuPy arrays or anything ``numpy.asarray``
  understands (a CPU ``torch.Tensor`` included). It checks *all* keys and shapes before
  it copies anything, so a failed load leaves the module unchanged (PyTorch may have
  copied some tensors when it raises).
- ``Module.to(dtype=...)`` converts floating parameters and buffers; like PyTorch it
  keeps the same Parameter objects (their ``.data`` is replaced), so an optimizer built
  before the call still holds the right tensors.
"""
from __future__ import annotations

import contextlib
import itertools
from collections import OrderedDict, namedtuple

import numpy as np

from .. import dtypes as _dt
from .._backend import get_array_module, normalize_device, to_device
from .._conversions import DeviceDtypeShorthands
from ..autograd.function import Function, mark_modified
from ..autograd.grad_mode import is_grad_enabled, no_grad
from ..autograd.hooks import RemovableHandle, add_hook
from ..ops.shape import unflatten_pieces
from ..tensor import Tensor

__all__ = ["Parameter", "Buffer", "Module", "Sequential", "ModuleList", "ModuleDict",
           "IncompatibleKeys", "RemovableHandle", "register_module_forward_pre_hook",
           "register_module_forward_hook"]

# Hooks of every module (PyTorch's torch.nn.modules.module.register_module_forward_*):
# they run before each module's own hooks. Meant for debugging and profiling tools.
_global_forward_pre_hooks = OrderedDict()
_global_forward_hooks = OrderedDict()
_global_always_call = set()  # ids of global forward hooks that run when forward raises


def register_module_forward_pre_hook(hook):
    """``hook(module, args)`` before every module's forward (and before its own pre
    hooks); it may return new positional arguments (a tuple, or one value)."""
    return add_hook(_global_forward_pre_hooks, hook, "register_module_forward_pre_hook")


def register_module_forward_hook(hook, *, always_call=False):
    """``hook(module, args, output)`` after every module's forward (before its own forward
    hooks); it may return a new output. With ``always_call`` it also runs (with output
    None) when the forward raises."""
    handle = add_hook(_global_forward_hooks, hook, "register_module_forward_hook")
    if always_call:
        _global_always_call.add(handle.id)
    return handle


class Parameter(Tensor):
    """A Tensor that is a module parameter: assigning one to a Module attribute registers
    it, and ``requires_grad`` is True by default.

    Parameters
    ----------
    data : Tensor or array_like, optional
        The initial value (shared, not copied, when it is already an array or a Tensor).
    requires_grad : bool
        Default True.

    Examples
    --------
    >>> import minigrad as mg
    >>> p = mg.nn.Parameter(mg.zeros(2))
    >>> p.requires_grad, p.is_leaf
    (True, True)
    """

    __slots__ = ()

    def __init__(self, data=None, requires_grad=True):
        if data is None:
            data = np.empty((0,), dtype=_dt.get_default_dtype())
        if isinstance(data, Tensor):
            data = data.data
        super().__init__(data)
        if requires_grad:
            self.requires_grad_(True)

    def __repr__(self):
        return "Parameter containing:\n" + super().__repr__()

    def __reduce_ex__(self, protocol):
        return (Parameter, (self.data, self.requires_grad))


class _Pack(Function):
    """y = the tensors flattened and joined into one vector.   VJP: gy cut back into the
    tensors' shapes. Used to see the gradients of several tensors at one moment (one
    node, one gradient hook), for the modules' backward hooks."""

    def forward(self, xp, *arrays):
        self.shapes = [a.shape for a in arrays]
        return xp.concatenate([a.reshape(-1) for a in arrays])

    def backward(self, gy):
        return tuple(unflatten_pieces(gy, self.shapes))


def _repack(pieces, shapes, like):
    """A packed gradient from a hook's tuple (None → zeros)."""
    xp = like.xp
    parts = [xp.zeros(shape, like.dtype) if g is None else
             (g.data if isinstance(g, Tensor) else xp.asarray(g)).astype(like.dtype,
                                                                        copy=False)
             for g, shape in zip(pieces, shapes)]
    for g, shape in zip(parts, shapes):
        if g.shape != tuple(shape):
            raise RuntimeError(f"a backward hook returned a gradient of shape {g.shape} for "
                               f"a tensor of shape {tuple(shape)}")
    return Tensor(xp.concatenate([g.reshape(-1) for g in parts]))


def _packed(tensors, what):
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise TypeError(f"{what}: the module's tensors that require grad have different "
                        f"dtypes ({', '.join(sorted(map(str, dtypes)))}); backward hooks "
                        "need them to share one")
    flat = _Pack()(*tensors)
    return flat, unflatten_pieces(flat, [t.shape for t in tensors])


class _BackwardHookWiring:
    """One call of a module with backward hooks: its inputs (outputs) that require grad
    are joined into one vector and handed on as views of it, so a single gradient hook on
    that vector sees every input (output) gradient of one backward at once."""

    def __init__(self, module):
        self.module = module
        self.n_args = 0
        self.positions = []     # which positional args require grad
        self.grad_output = None

    def wire_inputs(self, args):
        self.n_args = len(args)
        self.positions = [i for i, a in enumerate(args)
                          if isinstance(a, Tensor) and a.requires_grad]
        if not self.module._backward_hooks or not self.positions:
            return args
        flat, views = _packed([args[i] for i in self.positions],
                              "register_full_backward_hook")
        shapes = [v.shape for v in views]
        flat.register_hook(lambda g: self._on_grad_input(g, shapes))
        args = list(args)
        for i, v in zip(self.positions, views):
            args[i] = v
        return tuple(args)

    def wire_outputs(self, out):
        single = isinstance(out, Tensor)
        items = [out] if single else list(out) if isinstance(out, (tuple, list)) else []
        slots = [i for i, o in enumerate(items) if isinstance(o, Tensor) and o.requires_grad]
        if not slots:
            return out
        flat, views = _packed([items[i] for i in slots], "register_full_backward_hook")
        shapes = [v.shape for v in views]
        n_items = len(items)
        flat.register_hook(lambda g: self._on_grad_output(g, shapes, slots, n_items))
        for i, v in zip(slots, views):
            items[i] = v
        return items[0] if single else type(out)(items)

    def _on_grad_output(self, g, shapes, slots, n_items):
        grads = unflatten_pieces(g, shapes)
        grad_output = [None] * n_items
        for i, gi in zip(slots, grads):
            grad_output[i] = gi
        grad_output = tuple(grad_output)
        changed = False
        for hook in list(self.module._backward_pre_hooks.values()):
            result = hook(self.module, grad_output)
            if result is not None:
                grad_output = _as_grad_tuple(result, n_items, "backward pre-hook")
                changed = True
        self.grad_output = grad_output
        if self.module._backward_hooks and not self.positions:  # no input needs grad
            for hook in list(self.module._backward_hooks.values()):
                hook(self.module, (None,) * self.n_args, grad_output)
        if changed:
            return _repack([grad_output[i] for i in slots], shapes, g)
        return None

    def _on_grad_input(self, g, shapes):
        grads = unflatten_pieces(g, shapes)
        grad_input = [None] * self.n_args
        for i, gi in zip(self.positions, grads):
            grad_input[i] = gi
        grad_input = tuple(grad_input)
        changed = False
        for hook in list(self.module._backward_hooks.values()):
            result = hook(self.module, grad_input, self.grad_output or ())
            if result is not None:
                grad_input = _as_grad_tuple(result, self.n_args, "full backward hook")
                changed = True
        if changed:
            return _repack([grad_input[i] for i in self.positions], shapes, g)
        return None


def _as_grad_tuple(result, n, what):
    result = (result,) if isinstance(result, Tensor) else tuple(result)
    if len(result) != n:
        raise RuntimeError(f"a {what} returned {len(result)} gradients, expected {n}")
    return result


_EXTRA_STATE = "_extra_state"  # the state-dict key of get_extra_state()'s value

class Buffer(Tensor):
    """A tensor that becomes a buffer when assigned to a module attribute (PyTorch's
    ``nn.Buffer``): ``self.stats = nn.Buffer(mg.zeros(3))`` is
    ``self.register_buffer("stats", ...)``. On assignment it turns into a plain Tensor (the
    same object, sharing ``data``); ``persistent=False`` keeps it out of ``state_dict``.

    >>> import minigrad as mg
    >>> m = mg.nn.Module()
    >>> m.stats = mg.nn.Buffer(mg.zeros(2))
    >>> [name for name, _ in m.named_buffers()], type(m.stats).__name__
    (['stats'], 'Tensor')
    """

    __slots__ = ()
    persistent = True

    def __init__(self, data=None, *, persistent=True):
        if data is None:
            data = np.empty((0,), dtype=_dt.get_default_dtype())
        super().__init__(data.data if isinstance(data, Tensor) else data)
        if not persistent:
            self.__class__ = _NonPersistentBuffer


class _NonPersistentBuffer(Buffer):
    __slots__ = ()
    persistent = False


IncompatibleKeys = namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])


def _key_errors(missing, unexpected):
    """``strict`` loading's messages for unexpected and missing keys (PyTorch's words)."""
    errors = []
    if unexpected:
        errors.append("Unexpected key(s) in state_dict: "
                      + ", ".join(f'"{k}"' for k in unexpected) + ".")
    if missing:
        errors.append("Missing key(s) in state_dict: "
                      + ", ".join(f'"{k}"' for k in missing) + ".")
    return errors


def _raise_load_errors(module, errors):
    """load_state_dict's RuntimeError listing ``errors`` (PyTorch's words), if any."""
    if errors:
        raise RuntimeError(f"Error(s) in loading state_dict for {type(module).__name__}:\n\t"
                           + "\n\t".join(errors))


def _returns_none(result, what, changed):
    """A state-dict post hook changes ``changed`` in place: it must return None."""
    if result is not None:
        raise RuntimeError(f"{what} must return None (change {changed} in place)")


def _state_hooks(module, kind):
    """The state-dict hooks of ``kind`` registered on ``module`` (most modules have
    none: the dict is made by the first registration)."""
    hooks = module.__dict__.get(kind)
    return list(hooks.values()) if hooks else ()


def _depth_first_post_order(module):
    """``module`` and its submodules (each place it appears), children before parents."""
    for child in module._modules.values():
        if child is not None:
            yield from _depth_first_post_order(child)
    yield module


def _state_hook_dict(module, kind):
    hooks = module.__dict__.get(kind)
    if hooks is None:
        hooks = OrderedDict()
        object.__setattr__(module, kind, hooks)
    return hooks


def _is_float_array(a):
    return _dt.is_floating(a.dtype)


def _as_array(v):
    """A state-dict value as a NumPy/CuPy array: a Tensor's data, an array as is, a
    ``torch.Tensor`` through ``detach().cpu().numpy()``, anything else ``np.asarray``."""
    if isinstance(v, Tensor):
        return v.data
    if isinstance(v, np.ndarray) or get_array_module(v) is not np:
        return v
    if hasattr(v, "detach") and hasattr(v, "numpy"):  # torch.Tensor, without importing torch
        return v.detach().cpu().numpy()
    return np.asarray(v)


def _uncopyable(a, t):
    """Why the array ``a`` cannot be copied into the tensor ``t`` by load_state_dict (its
    values are not numbers, or are inf/NaN bound for an integer tensor), or None."""
    if not _dt.holds_numbers(a.dtype):
        return f"expected a tensor or an array of numbers, got {a.dtype} values"
    if t.dtype.kind in "iub" and _dt.is_floating(a.dtype) and a.size and \
            not bool(get_array_module(a).isfinite(a).all()):
        return f"inf or NaN cannot be copied into an integer tensor ({t.dtype})"
    return None


def _is_dtype_name(name):
    try:
        _dt.as_dtype(name)
    except TypeError:
        return False
    return True


def _parse_to(args, kwargs):
    """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)`` and keywords."""
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"to(): unexpected keyword arguments {sorted(kwargs)}")
    for a in args:
        if isinstance(a, Tensor):
            device, dtype = a.device, a.dtype
        elif isinstance(a, str) and (a.startswith("cpu") or a.startswith("cuda")):
            device = a
        elif isinstance(a, str) and not _is_dtype_name(a):
            device = a  # not a dtype either: normalize_device names the unknown device
        elif a is not None:
            dtype = a
    if dtype is not None:
        dtype = _dt.as_dtype(dtype)
        if not _dt.is_floating(dtype):
            raise TypeError(f"Module.to(): dtype must be floating, got {dtype}")
    if device is not None:
        device = normalize_device(device)
    return device, dtype


class Module(DeviceDtypeShorthands):
    """Base class of every layer and model (PyTorch's ``nn.Module``).

    Subclasses call ``super().__init__()`` first, assign parameters, buffers and
    submodules as attributes, and define ``forward``; calling the module runs
    ``forward`` (and any hooks).

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad import nn
    >>> class Net(nn.Module):
    ...     def __init__(self):
    ...         super().__init__()
    ...         self.fc = nn.Linear(4, 2)
    ...     def forward(self, x):
    ...         return self.fc(x).relu()
    >>> net = Net()
    >>> [name for name, _ in net.named_parameters()]
    ['fc.weight', 'fc.bias']
    >>> net(mg.randn(3, 4)).shape
    (3, 2)
    """

    training: bool

    def __init__(self):
        object.__setattr__(self, "training", True)
        object.__setattr__(self, "_parameters", OrderedDict())
        object.__setattr__(self, "_buffers", OrderedDict())
        object.__setattr__(self, "_non_persistent_buffers", set())
        object.__setattr__(self, "_modules", OrderedDict())
        object.__setattr__(self, "_forward_hooks", OrderedDict())
        object.__setattr__(self, "_forward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_backward_hooks", OrderedDict())
        object.__setattr__(self, "_backward_pre_hooks", OrderedDict())
        object.__setattr__(self, "_hook_flags", {})  # "kwargs"/"pre_kwargs"/"always_call"

    def forward(self, *args, **kwargs):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def __call__(self, *args, **kwargs):
        if not (self._forward_pre_hooks or self._forward_hooks or self._backward_hooks
                or self._backward_pre_hooks or _global_forward_pre_hooks
                or _global_forward_hooks):
            return self.forward(*args, **kwargs)
        return self._call_with_hooks(args, kwargs)

    def _call_with_hooks(self, args, kwargs):
        """``forward`` with the registered hooks: forward pre-hooks, then the inputs wired
        for the backward hooks, ``forward``, forward hooks, then the outputs wired (the
        order of PyTorch's ``Module._call_impl``; the global hooks of every module first:
        hook ids are unique, so none of them is in this module's flags)."""
        for hid, hook in [*_global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()]:
            if hid in self._hook_flags.get("pre_kwargs", ()):
                result = hook(self, args, kwargs)
                if result is not None:
                    if not (isinstance(result, tuple) and len(result) == 2):
                        raise RuntimeError("a forward pre-hook registered with "
                                           "with_kwargs=True must return None or "
                                           "(new_args, new_kwargs)")
                    args, kwargs = result
            else:
                result = hook(self, args)
                if result is not None:
                    args = result if isinstance(result, tuple) else (result,)
        wiring = None
        if (self._backward_hooks or self._backward_pre_hooks) and is_grad_enabled():
            wiring = _BackwardHookWiring(self)
            args = wiring.wire_inputs(args)
        try:
            out = self.forward(*args, **kwargs)
        except Exception:
            always = _global_always_call | self._hook_flags.get("always_call", set())
            for hid, hook in [*_global_forward_hooks.items(), *self._forward_hooks.items()]:
                if hid in always:
                    # the forward's own error is the one to see: a hook's is dropped
                    with contextlib.suppress(Exception):
                        self._run_forward_hook(hid, hook, args, kwargs, None)
            raise
        for hid, hook in [*_global_forward_hooks.items(), *self._forward_hooks.items()]:
            result = self._run_forward_hook(hid, hook, args, kwargs, out)
            if result is not None:
                out = result
        if wiring is not None:
            out = wiring.wire_outputs(out)
        return out

    def _run_forward_hook(self, hid, hook, args, kwargs, out):
        if hid in self._hook_flags.get("kwargs", ()):
            return hook(self, args, kwargs, out)
        return hook(self, args, out)

    # ------------------------------------------------------------------ registration
    def __setattr__(self, name, value):
        if "_parameters" not in self.__dict__:
            if isinstance(value, (Parameter, Module)):
                raise AttributeError(
                    f"cannot assign {type(value).__name__} '{name}' before "
                    f"Module.__init__() call (call super().__init__() first)"
                )
            object.__setattr__(self, name, value)
            return
        params, buffers, modules = self._parameters, self._buffers, self._modules
        if isinstance(value, Buffer):
            persistent = value.persistent
            value.__class__ = Tensor
            self.register_buffer(name, value, persistent)
        elif isinstance(value, Parameter):
            self._forget(name)
            params[name] = value
        elif isinstance(value, Module):
            self._forget(name)
            modules[name] = value
        elif name in params:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as parameter '{name}' "
                    "(nn.Parameter or None expected)"
                )
            params[name] = None
        elif name in modules:
            if value is not None:
                raise TypeError(
                    f"cannot assign {type(value).__name__} as child module '{name}' "
                    "(nn.Module or None expected)"
                )
            modules[name] = None
        elif name in buffers:
            if value is not None and not isinstance(value, Tensor):
                raise TypeError(
                    f"cannot assign {type(value).__name__} as buffer '{name}' "
                    "(Tensor or None expected)"
                )
            buffers[name] = value
        else:
            object.__setattr__(self, name, value)

    def _forget(self, name):
        self.__dict__.pop(name, None)
        self._parameters.pop(name, None)
        self._buffers.pop(name, None)
        self._modules.pop(name, None)
        self._non_persistent_buffers.discard(name)

    def __getattr__(self, name):
        d = self.__dict__
        if "_parameters" in d:
            if name in d["_parameters"]:
                return d["_parameters"][name]
            if name in d["_buffers"]:
                return d["_buffers"][name]
            if name in d["_modules"]:
                return d["_modules"][name]
        raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")

    def __delattr__(self, name):
        if name in self._parameters or name in self._buffers or name in self._modules:
            self._forget(name)
        else:
            object.__delattr__(self, name)

    def __dir__(self):
        return sorted(set(super().__dir__()) | set(self._parameters) | set(self._buffers)
                      | set(self._modules))

    @staticmethod
    def _check_name(name, what):
        if not isinstance(name, str):
            raise TypeError(f"{what} name should be a string, got {type(name).__name__}")
        if "." in name or name == "":
            raise KeyError(f"{what} name can't contain '.' or be empty, got {name!r}")

    def register_parameter(self, name, param):
        """Add a parameter (or ``None``, a declared but absent parameter, e.g. no bias)."""
        self._check_name(name, "parameter")
        if param is not None and not isinstance(param, Parameter):
            raise TypeError(f"cannot assign {type(param).__name__} as parameter '{name}' "
                            "(nn.Parameter or None expected)")
        if hasattr(self, name) and name not in self._parameters:
            raise KeyError(f"attribute '{name}' already exists")
        self._forget(name)
        self._parameters[name] = param

    def register_buffer(self, name, tensor, persistent=True):
        """Add a buffer: module state that is not a parameter (saved in ``state_dict``
        unless ``persistent=False``; ``None`` declares an absent buffer)."""
        self._check_name(name, "buffer")
        if tensor is not None and not isinstance(tensor, Tensor):
            raise TypeError(f"cannot assign {type(tensor).__name__} as buffer '{name}' "
                            "(Tensor or None expected)")
        if hasattr(self, name) and name not in self._buffers:
            raise KeyError(f"attribute '{name}' already exists")
        self._forget(name)
        self._buffers[name] = tensor
        if not persistent:
            self._non_persistent_buffers.add(name)

    def add_module(self, name, module):
        """Add a child module under ``name`` (``None`` allowed)."""
        self._check_name(name, "module")
        if module is not None and not isinstance(module, Module):
            raise TypeError(f"{type(module).__name__} is not a Module subclass")
        if hasattr(self, name) and name not in self._modules:
            raise KeyError(f"attribute '{name}' already exists")
        self._forget(name)
        self._modules[name] = module

    register_module = add_module

    def get_submodule(self, target):
        """The submodule at the dotted path ``target`` (``""`` is the module itself)."""
        mod = self
        if target == "":
            return mod
        for item in target.split("."):
            if item not in mod._modules or mod._modules[item] is None:
                raise AttributeError(f"{type(mod).__name__} has no submodule '{item}' "
                                     f"(looking up '{target}')")
            mod = mod._modules[item]
        return mod

    def set_submodule(self, target, module, strict=False):
        """Put ``module`` at the dotted path ``target`` (its parent must exist), replacing
        a submodule there or adding one; with ``strict``, only replacing (PyTorch's rules).
        An attribute that is not a module (a parameter, say) is never replaced."""
        if not isinstance(module, Module):
            raise TypeError(f"set_submodule: expected an nn.Module, got "
                            f"{type(module).__name__}")
        parent_path, _, name = target.rpartition(".")
        if not name:
            raise ValueError("set_submodule: cannot set the module itself (empty target)")
        parent = self.get_submodule(parent_path)
        if strict and not hasattr(parent, name):
            raise AttributeError(f"set_submodule: {type(parent).__name__} has no attribute "
                                 f"'{name}' (strict=True only replaces a submodule)")
        if hasattr(parent, name) and not isinstance(getattr(parent, name), Module):
            raise AttributeError(f"set_submodule: '{name}' of {type(parent).__name__} is "
                                 "not an nn.Module")
        setattr(parent, name, module)

    def _get_member(self, target, store, what):
        module_path, _, name = target.rpartition(".")
        mod = self.get_submodule(module_path)
        members = getattr(mod, store)
        if name not in members:
            raise AttributeError(f"{type(mod).__name__} has no {what} '{name}'")
        return members[name]

    def get_buffer(self, target):
        """The buffer at the dotted path ``target``."""
        return self._get_member(target, "_buffers", "buffer")

    def get_extra_state(self):
        """Override (with :meth:`set_extra_state`) to save more than parameters and
        buffers: the value is stored under ``"<prefix>_extra_state"`` in the state dict."""
        raise RuntimeError(f"{type(self).__name__} does not define get_extra_state")

    def set_extra_state(self, state):
        """Restore what :meth:`get_extra_state` returned."""
        raise RuntimeError(f"{type(self).__name__} does not define set_extra_state")

    def _has_extra_state(self):
        return type(self).get_extra_state is not Module.get_extra_state

    def get_parameter(self, target):
        """The parameter at the dotted path ``target``."""
        return self._get_member(target, "_parameters", "parameter")

    # ------------------------------------------------------------------ traversal
    def named_modules(self, memo=None, prefix="", remove_duplicate=True):
        """Yield ``(dotted name, module)`` for this module and every descendant, each
        once (iterative, pre-order)."""
        if memo is None:
            memo = set()
        stack = [(prefix, self)]
        while stack:
            name, mod = stack.pop()
            if remove_duplicate:
                if mod in memo:
                    continue
                memo.add(mod)
            yield name, mod
            children = [(name + ("." if name else "") + k, m)
                        for k, m in mod._modules.items() if m is not None]
            stack.extend(reversed(children))

    def modules(self):
        for _, m in self.named_modules():
            yield m

    def named_children(self):
        seen = set()
        for name, m in self._modules.items():
            if m is not None and m not in seen:
                seen.add(m)
                yield name, m

    def children(self):
        for _, m in self.named_children():
            yield m

    def _named_members(self, get, prefix, recurse, remove_duplicate=True):
        seen = set()
        mods = self.named_modules(prefix=prefix, remove_duplicate=remove_duplicate) \
            if recurse else [(prefix, self)]
        for mod_prefix, mod in mods:
            for k, v in get(mod):
                if v is None or (remove_duplicate and v in seen):
                    continue
                if remove_duplicate:
                    seen.add(v)
                yield mod_prefix + ("." if mod_prefix else "") + k, v

    def named_parameters(self, prefix="", recurse=True, remove_duplicate=True):
        """Yield ``(dotted name, Parameter)``, shared parameters once."""
        yield from self._named_members(lambda m: m._parameters.items(), prefix, recurse,
                                       remove_duplicate)

    def parameters(self, recurse=True):
        for _, p in self.named_parameters(recurse=recurse):
            yield p

    def named_buffers(self, prefix="", recurse=True, remove_duplicate=True):
        yield from self._named_members(lambda m: m._buffers.items(), prefix, recurse,
                                       remove_duplicate)

    def buffers(self, recurse=True):
        for _, b in self.named_buffers(recurse=recurse):
            yield b

    def apply(self, fn):
        """Call ``fn(m)`` on every submodule (children first) and on ``self``."""
        for m in self.children():
            m.apply(fn)
        fn(self)
        return self

    # ------------------------------------------------------------------ modes
    def train(self, mode=True):
        """Set training mode (dropout active, batch statistics) on every submodule."""
        if not isinstance(mode, bool):
            raise ValueError("training mode is expected to be boolean")
        for m in self.modules():
            object.__setattr__(m, "training", mode)
        return self

    def eval(self):
        """Evaluation mode: ``train(False)``."""
        return self.train(False)

    def requires_grad_(self, requires_grad=True):
        for p in self.parameters():
            p.requires_grad_(requires_grad)
        return self

    def zero_grad(self, set_to_none=True):
        """Reset the gradients of all parameters (to None by default, as PyTorch 2)."""
        for p in self.parameters():
            if p.grad is None:
                continue
            if set_to_none:
                p.grad = None
            else:
                p.grad.data[...] = 0

    # ------------------------------------------------------------------ hooks
    def _add_hook(self, hooks, hook, what, prepend=False, **flags):
        handle = add_hook(hooks, hook, what)
        if prepend:  # first in line, the others keep their order
            hooks.move_to_end(handle.id, last=False)
        for flag, on in flags.items():
            if on:
                self._hook_flags.setdefault(flag, set()).add(handle.id)
        return handle

    def register_forward_hook(self, hook, *, prepend=False, with_kwargs=False,
                              always_call=False):
        """``hook(module, args, output)`` (or ``hook(module, args, kwargs, output)`` with
        ``with_kwargs``) runs after ``forward``; a non-None return value replaces the
        output. ``prepend`` puts it before the hooks already registered; ``always_call``
        runs it (with output None) even when ``forward`` raises. Returns a handle with
        ``remove()``."""
        return self._add_hook(self._forward_hooks, hook, "register_forward_hook", prepend,
                              kwargs=with_kwargs, always_call=always_call)

    def register_forward_pre_hook(self, hook, *, prepend=False, with_kwargs=False):
        """``hook(module, args)`` runs before ``forward``; a non-None return value
        replaces the positional arguments. With ``with_kwargs``: ``hook(module, args,
        kwargs)``, which may return ``(new_args, new_kwargs)``."""
        return self._add_hook(self._forward_pre_hooks, hook, "register_forward_pre_hook",
                              prepend, pre_kwargs=with_kwargs)

    def register_full_backward_hook(self, hook, prepend=False):
        """``hook(module, grad_input, grad_output)`` runs when the gradients with respect
        to the module's positional inputs have been computed: ``grad_input`` has one entry
        per positional argument (None for non-tensors and tensors without
        ``requires_grad``; parameters are not inputs), ``grad_output`` one per tensor
        output. A returned tuple replaces ``grad_input`` in the rest of the backward.
        When no input requires grad it runs as soon as ``grad_output`` is known, with
        ``grad_input`` all None (as in PyTorch).

        Where minigrad differs: an output that the loss does not use has a zero entry in
        ``grad_output`` (PyTorch: None); inputs needing grad must share one dtype."""
        return self._add_hook(self._backward_hooks, hook, "register_full_backward_hook",
                              prepend)

    def register_full_backward_pre_hook(self, hook, prepend=False):
        """``hook(module, grad_output)`` runs when the gradients with respect to the
        module's outputs are known, before they flow into it; a returned tuple replaces
        ``grad_output``."""
        return self._add_hook(self._backward_pre_hooks, hook,
                              "register_full_backward_pre_hook", prepend)

    # ------------------------------------------------------------------ state dict
    def state_dict(self, destination=None, prefix="", keep_vars=False):
        """An ordered dict from dotted names to parameters and persistent buffers
        (detached Tensors sharing memory with the module, unless ``keep_vars``), saved
        module by module depth first, as PyTorch: a module's state-dict pre hooks run
        before its entries, its post hooks after its submodules' entries."""
        if destination is None:
            destination = OrderedDict()
        self._save_state(destination, prefix, keep_vars, hooks=True)
        return destination

    def _save_state(self, destination, prefix, keep_vars, hooks):
        if hooks:
            for hook in _state_hooks(self, "_state_dict_pre_hooks"):
                hook(self, prefix, keep_vars)
        for k, p in self._parameters.items():
            if p is not None:
                destination[prefix + k] = p if keep_vars else p.detach()
        for k, b in self._buffers.items():
            if b is not None and k not in self._non_persistent_buffers:
                destination[prefix + k] = b if keep_vars else b.detach()
        if self._has_extra_state():
            destination[prefix + _EXTRA_STATE] = self.get_extra_state()
        for name, child in self._modules.items():
            if child is not None:
                child._save_state(destination, prefix + name + ".", keep_vars, hooks)
        if hooks:
            for hook in _state_hooks(self, "_state_dict_post_hooks"):
                _returns_none(hook(self, destination, prefix, {}), "a state_dict post hook",
                              "the state dict it is given")

    def _state_targets(self):
        """name → the Tensor a state-dict entry loads into (shared tensors under every
        name they have, as PyTorch)."""
        targets = OrderedDict()
        self._save_state(targets, "", True, hooks=False)
        return targets

    def register_state_dict_pre_hook(self, hook):
        """``hook(module, prefix, keep_vars)``, called by :meth:`state_dict` before it saves
        this module's entries (``prefix``: this module's dotted name and a dot)."""
        return add_hook(_state_hook_dict(self, "_state_dict_pre_hooks"), hook,
                        "register_state_dict_pre_hook")

    def register_state_dict_post_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata)``, called by :meth:`state_dict`
        once this module and its submodules are saved; it may change ``state_dict`` in
        place (rename, add or drop entries) and must return None."""
        return add_hook(_state_hook_dict(self, "_state_dict_post_hooks"), hook,
                        "register_state_dict_post_hook")

    def register_load_state_dict_pre_hook(self, hook):
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)``, called by :meth:`load_state_dict` before it reads
        anything: it may change ``state_dict`` (a copy of the caller's mapping) in place,
        e.g. rename the keys of an older checkpoint, and append to the three lists (an
        entry of ``error_msgs`` makes the load fail)."""
        return add_hook(_state_hook_dict(self, "_load_state_dict_pre_hooks"), hook,
                        "register_load_state_dict_pre_hook")

    def register_load_state_dict_post_hook(self, hook):
        """``hook(module, incompatible_keys)``, called by :meth:`load_state_dict` after the
        values are copied and before ``strict`` refuses missing or unexpected keys: it may
        remove keys from ``incompatible_keys.missing_keys`` and ``.unexpected_keys`` in
        place, and must return None. (With such a hook, a load that ``strict`` then
        refuses has copied what it could, as in PyTorch; without one nothing is copied.)"""
        return add_hook(_state_hook_dict(self, "_load_state_dict_post_hooks"), hook,
                        "register_load_state_dict_post_hook")

    def load_state_dict(self, state_dict, strict=True, assign=False):
        """Copy parameters and buffers from ``state_dict`` into this module.

        Parameters
        ----------
        state_dict : mapping from dotted names to Tensors or arrays.
        strict : require exactly this module's keys (missing or unexpected keys raise).
        assign : replace the tensors' storage by the loaded arrays instead of copying
            into them (dtype and device of the module are kept all the same).

        Returns
        -------
        ``IncompatibleKeys(missing_keys, unexpected_keys)``.

        Raises
        ------
        RuntimeError
            listing the missing and unexpected keys (when ``strict``) and every shape
            mismatch (always), before anything is copied.
        """
        if not hasattr(state_dict, "items"):
            raise TypeError(f"expected a mapping for state_dict, got {type(state_dict).__name__}")
        named = list(self.named_modules(remove_duplicate=False))
        hook_missing, hook_unexpected, errors = [], [], []
        if any(_state_hooks(m, "_load_state_dict_pre_hooks") for _, m in named):
            state_dict = OrderedDict(state_dict)  # the hooks may change it: not the caller's
            for name, mod in named:
                for hook in _state_hooks(mod, "_load_state_dict_pre_hooks"):
                    hook(mod, state_dict, name + "." if name else "", {}, strict,
                         hook_missing, hook_unexpected, errors)
        post_hooks = [(m, h) for m in _depth_first_post_order(self)
                      for h in _state_hooks(m, "_load_state_dict_post_hooks")]
        targets = self._state_targets()
        missing = [k for k in targets if k not in state_dict] + hook_missing
        unexpected = [k for k in state_dict if k not in targets] + hook_unexpected
        if strict and not post_hooks:
            errors += _key_errors(missing, unexpected)
        arrays, extra = {}, {}
        for k, t in targets.items():
            if k not in state_dict:
                continue
            if k.rpartition(".")[2] == _EXTRA_STATE and not isinstance(t, Tensor):
                extra[k] = state_dict[k]
                continue
            a = _as_array(state_dict[k])
            problem = _uncopyable(a, t)
            if problem:
                errors.append(f'While copying the parameter named "{k}", {problem}.')
                continue
            if getattr(t, "cls_to_become", None) is not None:  # a lazy module's placeholder
                t.materialize(tuple(a.shape))
            if tuple(a.shape) != t.shape:
                errors.append(f"size mismatch for {k}: copying a param with shape "
                              f"{tuple(a.shape)} from checkpoint, the shape in current model "
                              f"is {t.shape}.")
                continue
            arrays[k] = a
        _raise_load_errors(self, errors)
        with no_grad():
            for k, a in arrays.items():
                t = targets[k]
                a = to_device(a, t.device)
                if assign:
                    t.data = get_array_module(a).array(a, dtype=t.dtype, copy=True)
                else:
                    t.data[...] = a.astype(t.dtype, copy=False)
                    mark_modified(t)  # a change in place, as PyTorch's copy_ counts it
        for k, state in extra.items():
            self.get_submodule(k.rpartition(".")[0]).set_extra_state(state)
        keys = IncompatibleKeys(missing, unexpected)
        for mod, hook in post_hooks:  # submodules first, as PyTorch
            _returns_none(hook(mod, keys), "a load_state_dict post hook", "incompatible_keys")
        if strict and post_hooks:
            _raise_load_errors(self, _key_errors(missing, unexpected))
        return keys

    # ------------------------------------------------------------------ device / dtype
    def _apply_arrays(self, fn):
        """Replace every parameter's and buffer's array (and gradient) by ``fn(array)``,
        keeping the Tensor objects."""
        for m in self.modules():
            for t in itertools.chain(m._parameters.values(), m._buffers.values()):
                if t is None:
                    continue
                t.data = fn(t.data)
                if t.grad is not None:
                    t.grad.data = fn(t.grad.data)
        return self

    def to(self, *args, **kwargs):
        """Move (``device``) and/or cast (floating ``dtype``) parameters and buffers in
        place; accepts ``to("cuda")``, ``to(mg.float64)``, ``to(device=, dtype=)`` and
        ``to(tensor)``. Integer buffers (``num_batches_tracked``) keep their dtype."""
        device, dtype = _parse_to(args, kwargs)

        def convert(a):
            if dtype is not None and _is_float_array(a) and a.dtype != dtype:
                a = a.astype(dtype)
            if device is not None:
                a = to_device(a, device)
            return a

        return self._apply_arrays(convert)

    def type(self, dst_type):
        return self.to(dtype=dst_type)

    def to_empty(self, *, device=None, recurse=True):
        """Move parameters and buffers to ``device`` without copying their values: each
        becomes a new array of the same shape and dtype whose contents are undefined
        (re-initialize it, e.g. with ``reset_parameters()``, or load a state dict)."""
        from ..creation import _module

        device = normalize_device(device or "cpu")
        mods = self.modules() if recurse else [self]
        for m in mods:
            for t in itertools.chain(m._parameters.values(), m._buffers.values()):
                if t is not None:
                    t.data = _module(device, t.dtype).empty(t.shape, dtype=t.dtype)
                    t.grad = None
        return self

    # ------------------------------------------------------------------ printing
    def extra_repr(self) -> str:
        """The text inside the parentheses of this module's repr (override it)."""
        return ""

    def _get_name(self):
        return type(self).__name__

    def __repr__(self):
        lines = []
        extra = self.extra_repr()
        if extra:
            lines = extra.split("\n")
        child_lines = []
        for name, m in self._modules.items():
            text = repr(m).replace("\n", "\n  ")
            child_lines.append(f"({name}): {text}")
        main = self._get_name() + "("
        if lines and len(lines) == 1 and not child_lines:
            return main + lines[0] + ")"
        body = lines + child_lines
        if body:
            main += "\n  " + "\n  ".join(body) + "\n"
        return main + ")"


# =========================================================================== containers


def _index(idx, n, what):
    idx = int(idx)
    if not -n <= idx < n:
        raise IndexError(f"{what}: index {idx} is out of range (length {n})")
    return idx % n


class _NumberedContainer(Module):
    """What Sequential and ModuleList share: children numbered "0", "1", ..."""

    def _renumber(self, items):
        """Replace the children by ``items``, named "0", "1", ... (PyTorch renumbers)."""
        self._modules.clear()
        for i, m in enumerate(items):
            self.add_module(str(i), m)

    def __len__(self):
        return len(self._modules)

    def __iter__(self):
        return iter(self._modules.values())

    def append(self, module):
        self.add_module(str(len(self)), module)
        return self

    def extend(self, modules):
        for m in modules:
            self.append(m)
        return self

    def _inserted(self, index, module):
        items = list(self._modules.values())
        items.insert(index, module)
        self._renumber(items)


class Sequential(_NumberedContainer):
    """Modules applied in order: ``Sequential(a, b, c)(x) == c(b(a(x)))``.

    Accepts modules as arguments (named ``"0"``, ``"1"``...) or one ``OrderedDict``
    of named modules. Indexing with an int returns a module, with a slice a new
    Sequential.

    Examples
    --------
    >>> from minigrad import nn
    >>> net = nn.Sequential(nn.Linear(4, 8), nn.ReLU(), nn.Linear(8, 2))
    >>> [name for name, _ in net.named_parameters()]
    ['0.weight', '0.bias', '2.weight', '2.bias']
    """

    def __init__(self, *args):
        super().__init__()
        if len(args) == 1 and isinstance(args[0], OrderedDict):
            for name, m in args[0].items():
                self.add_module(name, m)
        else:
            for i, m in enumerate(args):
                self.add_module(str(i), m)

    def forward(self, input):
        for m in self._modules.values():
            input = m(input)
        return input

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return Sequential(OrderedDict(list(self._modules.items())[idx]))
        return list(self._modules.values())[_index(idx, len(self), "Sequential")]

    def __setitem__(self, idx, module):
        key = list(self._modules)[_index(idx, len(self), "Sequential")]
        self.add_module(key, module)

    def __delitem__(self, idx):
        keys = list(self._modules)
        for key in (keys[idx] if isinstance(idx, slice)
                    else [keys[_index(idx, len(self), "Sequential")]]):
            del self._modules[key]
        self._renumber(list(self._modules.values()))

    def insert(self, index, module):
        self._inserted(index, module)
        return self


class ModuleList(_NumberedContainer):
    """A list of modules whose parameters are registered (a plain Python list would
    hide them from ``parameters()``)."""

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.extend(modules)

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ModuleList(list(self._modules.values())[idx])
        return self._modules[str(_index(idx, len(self), "ModuleList"))]

    def __setitem__(self, idx, module):
        self.add_module(str(_index(idx, len(self), "ModuleList")), module)

    def __delitem__(self, idx):
        items = list(self._modules.values())
        if isinstance(idx, slice):
            del items[idx]
        else:
            del items[_index(idx, len(self), "ModuleList")]
        self._renumber(items)

    def __iadd__(self, modules):
        return self.extend(modules)

    def insert(self, index, module):
        self._inserted(index, module)

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ModuleList is a container; call its elements")


def _as_parameter(value, what):
    """A Parameter for a ParameterList/ParameterDict entry: a Parameter as it is, another
    Tensor wrapped (sharing its data, requiring grad, as PyTorch's ``Parameter(t)``),
    ``None`` kept (a declared but absent parameter)."""
    if value is None or isinstance(value, Parameter):
        return value
    if isinstance(value, Tensor):
        return Parameter(value)
    raise TypeError(f"{what}: entries must be Parameters or Tensors, got "
                    f"{type(value).__name__}")


def _parameter_repr(name, p):
    if p is None:
        return f"({name}): None"
    where = "" if p.device == "cpu" else f" (GPU {p.device})"
    return f"({name}): Parameter containing: [{p.dtype} of size {'x'.join(map(str, p.shape))}" \
        f"{where}]"


class ParameterList(Module):
    """A list of parameters that a module registers (a plain Python list would hide them
    from ``parameters()``, ``state_dict`` and the optimizers): named "0", "1", ... A Tensor
    that is not a Parameter is wrapped in one, as in PyTorch.

    >>> import minigrad as mg
    >>> params = mg.nn.ParameterList([mg.zeros(2), mg.ones(3)])
    >>> [name for name, _ in params.named_parameters()]
    ['0', '1']
    """

    def __init__(self, values=None):
        super().__init__()
        if values is not None:
            self.extend(values)

    def __len__(self):
        return len(self._parameters)

    def __iter__(self):
        return iter(self._parameters.values())

    def __getitem__(self, idx):
        if isinstance(idx, slice):
            return ParameterList(list(self._parameters.values())[idx])
        return self._parameters[str(_index(idx, len(self), "ParameterList"))]

    def __setitem__(self, idx, value):
        name = str(_index(idx, len(self), "ParameterList"))
        self._parameters[name] = _as_parameter(value, "ParameterList")

    def append(self, value):
        self._parameters[str(len(self))] = _as_parameter(value, "ParameterList")
        return self

    def extend(self, values):
        for v in values:
            self.append(v)
        return self

    def __iadd__(self, values):
        return self.extend(values)

    def extra_repr(self):
        return "\n".join(_parameter_repr(k, p) for k, p in self._parameters.items())

    def forward(self, *args, **kwargs):
        raise NotImplementedError("ParameterList is a container; use its elements")


class _DictContainer(Module):
    """What ModuleDict and ParameterDict share: a dict interface (insertion order kept)
    over the registry named by ``_store_name`` (``_modules`` or ``_parameters``); each
    subclass says how an entry is added (``__setitem__``)."""

    _store_name = None
    _verb = None  # what one does with the elements, for forward's error

    @property
    def _store(self):
        return self.__dict__[self._store_name]

    def __getitem__(self, key):
        return self._store[key]

    def __delitem__(self, key):
        del self._store[key]

    def __len__(self):
        return len(self._store)

    def __iter__(self):
        return iter(self._store)

    def __contains__(self, key):
        return key in self._store

    def keys(self):
        return self._store.keys()

    def items(self):
        return self._store.items()

    def values(self):
        return self._store.values()

    def pop(self, key):
        return self._store.pop(key)

    def clear(self):
        self._store.clear()

    def update(self, entries):
        items = entries.items() if hasattr(entries, "items") else entries
        for k, v in items:
            self[k] = v

    def forward(self, *args, **kwargs):
        raise NotImplementedError(f"{type(self).__name__} is a container; {self._verb} its "
                                  "elements")


class ParameterDict(_DictContainer):
    """A dict of parameters that a module registers (insertion order kept); a Tensor that is
    not a Parameter is wrapped in one, as in PyTorch.

    >>> import minigrad as mg
    >>> params = mg.nn.ParameterDict({"scale": mg.ones(3)})
    >>> params["shift"] = mg.zeros(3)
    >>> sorted(params.state_dict())
    ['scale', 'shift']
    """

    _store_name, _verb = "_parameters", "use"

    def __init__(self, parameters=None):
        super().__init__()
        if parameters is not None:
            self.update(parameters)

    def __setitem__(self, key, value):
        self._check_name(key, "parameter")
        self._parameters[key] = _as_parameter(value, "ParameterDict")

    def get(self, key, default=None):
        return self._parameters.get(key, default)

    def update(self, parameters):  # (PyTorch's argument name)
        super().update(parameters)

    def extra_repr(self):
        return "\n".join(_parameter_repr(k, p) for k, p in self._parameters.items())


class ModuleDict(_DictContainer):
    """A dict of modules whose parameters are registered (insertion order kept)."""

    _store_name, _verb = "_modules", "call"

    def __init__(self, modules=None):
        super().__init__()
        if modules is not None:
            self.update(modules)

    def __setitem__(self, key, module):
        self.add_module(key, module)

    def update(self, modules):  # (PyTorch's argument name)
        super().update(modules)
