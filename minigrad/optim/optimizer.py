r"""The optimizer base class: parameter groups, lazy per-parameter state, checkpoints.

Every optimizer in :mod:`minigrad.optim` is two things side by side:

* a **pure update function** on arrays (``sgd_update``, ``adam_update``, ...) that
  transcribes the paper's formula line by line, written once against ``xp`` (NumPy or
  CuPy) and updating its arrays in place; and
* a **class** deriving from :class:`Optimizer` that owns the hyperparameters
  (``param_groups``) and the per-parameter state (``state``), and calls the function.

The class contract is PyTorch's (``torch.optim.Optimizer``)::

    opt = Adam(model.parameters(), lr=1e-3)
    for x, y in loader:
        opt.zero_grad()
        loss_fn(model(x), y).backward()
        opt.step()

A subclass fills in three hooks:

``_check(group)``
    raise ``ValueError`` on an invalid hyperparameter (called for the defaults and for
    every group, including groups added later by :meth:`Optimizer.add_param_group`);
``_init_state(theta, group)``
    the state of one parameter on its first step, as a dict of arrays created with the
    parameter's array module (so state lives on the parameter's device);
``_update(theta, g, state, group)``
    one step: call the pure function.  ``state["step"]`` has already been incremented,
    so it holds ``t``, counted from 1.

Notes
-----
* ``state`` is keyed by the parameter Tensor object itself (Tensors hash by identity),
  never by ``id(p)``: an id can be reused by a new object after the old one is freed.
  As in PyTorch it is a ``collections.defaultdict(dict)``: ``opt.state[p]`` of a parameter
  that has not stepped yet is an empty dict (so the custom-optimizer idiom
  ``state = self.state[p]; if len(state) == 0: ...`` works), and an empty entry means
  "no state yet" everywhere in minigrad.
* :meth:`state_dict` uses PyTorch's layout (state keyed by the integer index of the
  parameter, counted across groups in order; each group's ``"params"`` a list of those
  indices) but *copies* every array, so a checkpoint is a snapshot, not a view of live
  state. State keys carry the paper's symbols (``"m"``, ``"v"``, ...) rather than
  PyTorch's (``"exp_avg"``, ``"exp_avg_sq"``, ...); :meth:`load_state_dict` accepts
  either spelling, so a PyTorch optimizer state dict whose tensors were converted to
  arrays loads directly. ``"step"`` is a Python ``int`` here (a float tensor in PyTorch).
* **Float16 parameters** (and any float narrower than 32 bits) are updated in float32, as
  Chainer does: the state arrays are float32, a float32 master copy of the parameter is
  kept in ``state["master"]``, the step is taken on the master and the result rounded
  back into the float16 parameter. Small updates therefore accumulate instead of being
  lost to float16 rounding. If the float16 parameter was changed from outside (it no
  longer equals the rounded master), the master is re-read from it first. PyTorch instead
  computes in the parameter's dtype.
* A 0-d parameter is passed to the update as a 1-element view (with 1-element views of
  its state), so the pure functions may assume at least one dimension.
* Sparse gradients (an object with ``is_sparse`` true) are refused with a ``RuntimeError``
  naming the optimizer; sparse-aware optimizers override :meth:`_dense_grad`.
"""
from __future__ import annotations

import copy
import functools
import math
from collections import defaultdict
from collections.abc import Iterable

import numpy as np

from minigrad._backend import get_array_module, quietly
from minigrad.autograd.function import mark_modified
from minigrad.autograd.hooks import add_hook
from minigrad.dtypes import is_floating

__all__ = ["Optimizer", "register_optimizer_step_pre_hook",
           "register_optimizer_step_post_hook"]

# Hooks run around every optimizer's step (PyTorch's global optimizer hooks).
_global_step_pre_hooks: dict = {}
_global_step_post_hooks: dict = {}


def register_optimizer_step_pre_hook(hook):
    """``hook(optimizer, args, kwargs)`` runs before the ``step`` of every optimizer
    (``args`` begins with the optimizer, as in PyTorch); it may return
    ``(new_args, new_kwargs)``. Returns a removable handle."""
    return add_hook(_global_step_pre_hooks, hook, "register_optimizer_step_pre_hook")


def register_optimizer_step_post_hook(hook):
    """``hook(optimizer, args, kwargs)`` runs after the ``step`` of every optimizer."""
    return add_hook(_global_step_post_hooks, hook, "register_optimizer_step_post_hook")


def _hooks_of(optimizer, name) -> dict:
    """The instance's dict of hooks ``name`` (made on first use)."""
    hooks = optimizer.__dict__.get(name)
    if hooks is None:
        hooks = optimizer.__dict__[name] = {}
    return hooks


def _with_hooks(method):
    """``method`` (step, state_dict or load_state_dict of some Optimizer class) wrapped so
    the registered hooks run around it, once per outer call: a subclass's method calling
    ``super()``'s does not run them twice."""
    kind = method.__name__
    # a step runs with NumPy's floating-point warnings off, as autograd's forwards and
    # backward do: an infinite or NaN gradient makes NaN parameters (which GradScaler's
    # skipped steps avoid), silently as in PyTorch, not a RuntimeWarning from the update
    quiet_step = quietly(method) if kind == "step" else None

    @functools.wraps(method)
    def wrapper(self, *args, **kwargs):
        busy = self.__dict__.setdefault("_in_hooked", set())
        if kind in busy:
            return method(self, *args, **kwargs)
        busy.add(kind)
        try:
            if kind == "step":
                return _hooked_step(quiet_step, self, args, kwargs)
            if kind == "state_dict":
                for hook in list(_hooks_of(self, "_state_dict_pre_hooks").values()):
                    hook(self)
                result = method(self, *args, **kwargs)
                for hook in list(_hooks_of(self, "_state_dict_post_hooks").values()):
                    changed = hook(self, result)
                    result = result if changed is None else changed
                return result
            state_dict = args[0] if args else kwargs.pop("state_dict")
            for hook in list(_hooks_of(self, "_load_state_dict_pre_hooks").values()):
                changed = hook(self, state_dict)
                state_dict = state_dict if changed is None else changed
            result = method(self, state_dict, *args[1:], **kwargs)
            for hook in list(_hooks_of(self, "_load_state_dict_post_hooks").values()):
                hook(self)
            return result
        finally:
            busy.discard(kind)

    wrapper._hooked = True
    return wrapper


def _hooked_step(method, self, args, kwargs):
    """As PyTorch passes them, the hooks' ``args`` start with the optimizer itself."""
    args = (self,) + args
    pre = list(_global_step_pre_hooks.values())
    pre += list(_hooks_of(self, "_step_pre_hooks").values())
    for hook in pre:
        result = hook(self, args, kwargs)
        if result is not None:
            if not (isinstance(result, tuple) and len(result) == 2
                    and isinstance(result[0], tuple) and isinstance(result[1], dict)):
                raise RuntimeError(f"an optimizer step pre-hook must return None or "
                                   f"(args, kwargs), got {result!r}")
            args, kwargs = result
    out = method(*args, **kwargs)
    # the parameters a step updated changed in place: a graph recorded before the step
    # that saved them refuses its backward (autograd.function.mark_modified), as PyTorch's
    mark_modified(*(p for g in self.param_groups for p in g["params"]
                    if p.grad is not None))
    for hook in list(_hooks_of(self, "_step_post_hooks").values()) + list(
            _global_step_post_hooks.values()):
        hook(self, args, kwargs)
    return out


def _is_array(x) -> bool:
    """True for a NumPy or CuPy array (anything with a shape and a dtype, not a scalar)."""
    return hasattr(x, "shape") and hasattr(x, "dtype") and not np.isscalar(x)


def _copy_value(value):
    """Deep copy of one state or hyperparameter value; arrays are copied on their device."""
    if _is_array(value):
        return value.copy()
    return copy.deepcopy(value)


def _compute_dtype(dtype) -> np.dtype:
    """The dtype the update is computed in: float32 for narrower floats, else the dtype."""
    dtype = np.dtype(dtype)
    if is_floating(dtype) and dtype.itemsize < 4:
        return np.dtype(np.float32)
    return dtype


def _add_ordered(optimizer, name, hook, prepend):
    hooks = _hooks_of(optimizer, name)
    handle = add_hook(hooks, hook, name.strip("_").replace("_hooks", "_hook"))
    if prepend:  # move it to the front, keeping the others' order
        others = [(k, v) for k, v in hooks.items() if k != handle.id]
        hooks.clear()
        hooks[handle.id] = hook
        hooks.update(others)
    return handle


class Optimizer:
    r"""Base class of all optimizers (PyTorch's ``torch.optim.Optimizer`` contract).

    Parameters
    ----------
    params : iterable of Tensor, of (name, Tensor) pairs, or of dict
        The parameters to optimize, or parameter groups: dicts with a ``"params"`` entry
        and any hyperparameters that override ``defaults`` for that group. Named
        parameters (``model.named_parameters()``, PyTorch 2.5+) are stored as the group's
        ``"params"`` and ``"param_names"`` (which :meth:`state_dict` carries); every
        parameter of every group must then be named.
    defaults : dict
        Default hyperparameters of every group.

    Attributes
    ----------
    param_groups : list of dict
        One dict per group: ``"params"`` (a list of Tensors) and the group's
        hyperparameters. Schedulers change hyperparameters here (``group["lr"]``).
    state : collections.defaultdict(dict)
        ``state[p]`` is the dict of per-parameter state of Tensor ``p``, created on its
        first step and always holding ``"step"`` (the number of steps taken, ``t``).
        Looking up a parameter that has no state yet gives an empty dict, as in PyTorch.
    defaults : dict

    Notes
    -----
    * **Learning rate as a Tensor.** As PyTorch's ``lr: float | Tensor``, ``lr`` (in the
      constructor, a group, or a loaded state dict) may be a 1-element Tensor or array;
      it is read once, when the group is checked, and stored as a Python ``float``, so
      the update formulas and the schedulers see a number. (PyTorch keeps the Tensor, for
      its CUDA-graph-capturable steps, which minigrad does not have.) A Tensor of more
      than one element is refused.
    * **PyTorch's implementation switches.** The classes named after PyTorch's accept its
      keyword-only ``foreach``, ``differentiable``, ``capturable`` and ``fused`` where
      PyTorch's class of that name does, with PyTorch's defaults, and record them in the
      defaults (so in every group and in :meth:`state_dict`) as PyTorch does. They never
      change the numbers. ``foreach`` is accepted and ignored: minigrad's multi-tensor
      path is ``fused=True``. ``fused=True`` needs a fused kernel for the class
      (:func:`minigrad.optim.fused.fused_rules`); elsewhere it raises
      ``NotImplementedError`` naming the class. ``capturable=True`` and
      ``differentiable=True`` raise ``NotImplementedError``: the step computes its scalars
      on the host, outside any captured CUDA graph, and updates the parameters in place,
      outside autograd. The fused switch is the optimizer's (``opt.fused``, set by the
      constructor); a group's ``"fused"`` entry is a record, as in the state dict.
    """

    #: PyTorch's names of state entries → ours; :meth:`load_state_dict` accepts both.
    _torch_state_names: dict[str, str] = {}
    #: state entries that are Python scalars rather than arrays, with their type.
    _scalar_state: dict[str, type] = {"step": int}

    fused = False  # set by the optimizers that have a fused kernel (fused=True)

    #: PyTorch's implementation switches that this class takes as keyword-only arguments
    #: (``foreach``, ``differentiable``, ``capturable``, ``fused``, as PyTorch's class of
    #: the same name) and keeps in its defaults; :meth:`_check_implementation_flags`
    #: checks them in every group. Empty for minigrad's own optimizers.
    _implementation_flags: tuple[str, ...] = ()

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        for name in ("step", "state_dict", "load_state_dict"):
            method = cls.__dict__.get(name)
            if method is not None and not getattr(method, "_hooked", False):
                setattr(cls, name, _with_hooks(method))

    # ------------------------------------------------------------------ hooks
    def register_step_pre_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs before each ``step``; ``args`` are the
        step's positional arguments after the optimizer itself (PyTorch's convention);
        the hook may return ``(new_args, new_kwargs)`` for the step. Returns a removable
        handle."""
        return add_hook(_hooks_of(self, "_step_pre_hooks"), hook, "register_step_pre_hook")

    def register_step_post_hook(self, hook):
        """``hook(optimizer, args, kwargs)`` runs after each ``step``."""
        return add_hook(_hooks_of(self, "_step_post_hooks"), hook, "register_step_post_hook")

    def register_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer)`` runs before :meth:`state_dict` builds its snapshot."""
        return _add_ordered(self, "_state_dict_pre_hooks", hook, prepend)

    def register_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` runs on the snapshot; a returned dict replaces
        it."""
        return _add_ordered(self, "_state_dict_post_hooks", hook, prepend)

    def register_load_state_dict_pre_hook(self, hook, prepend=False):
        """``hook(optimizer, state_dict)`` runs before loading; a returned dict is loaded
        instead."""
        return _add_ordered(self, "_load_state_dict_pre_hooks", hook, prepend)

    def register_load_state_dict_post_hook(self, hook, prepend=False):
        """``hook(optimizer)`` runs after :meth:`load_state_dict`."""
        return _add_ordered(self, "_load_state_dict_post_hooks", hook, prepend)

    def __init__(self, params, defaults: dict):
        self.defaults = dict(defaults)
        self._validate(self.defaults)
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict] = []
        if _looks_like_tensor(params) or isinstance(params, (dict, str)) or not isinstance(
            params, Iterable
        ):
            raise TypeError(
                f"{type(self).__name__}: params must be an iterable of Tensors or of dicts, "
                f"got {type(params).__name__}"
            )
        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError(f"{type(self).__name__}: got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for group in param_groups:
            self.add_param_group(group)

    # ------------------------------------------------------------------ groups
    def add_param_group(self, param_group: dict) -> None:
        """Add a group of parameters with its own hyperparameters (e.g. a new layer to train).

        Missing hyperparameters are taken from ``defaults``. A parameter already in
        another group is refused with ``ValueError``.
        """
        name = type(self).__name__
        if not isinstance(param_group, dict):
            raise TypeError(
                f"{name}: a parameter group must be a dict, got {type(param_group).__name__}"
            )
        group = dict(param_group)
        if "params" not in group:
            raise ValueError(f"{name}: a parameter group needs a 'params' entry")
        params = group["params"]
        if _looks_like_tensor(params):
            params = [params]
        elif isinstance(params, (set, frozenset)):
            raise TypeError(
                f"{name}: parameters must be given in an ordered collection (list, tuple, "
                "generator), not a set: the order must be the same between runs"
            )
        else:
            params = list(params)
        named = [isinstance(p, tuple) for p in params]
        if any(named):  # (name, Tensor) pairs, e.g. model.named_parameters()
            if not all(named) or any(len(p) != 2 for p in params):
                raise ValueError(f"{name}: all parameters of a group must be (name, Tensor) "
                                 "pairs, or none: some parameter names are missing")
            group["param_names"] = [p[0] for p in params]
            params = [p[1] for p in params]
        seen: set = set()
        for i, p in enumerate(params):
            if not _looks_like_tensor(p):
                raise TypeError(
                    f"{name}: can only optimize Tensors, but parameter {i} of the group is a "
                    f"{type(p).__name__}"
                )
            if not getattr(p, "is_leaf", True):
                raise ValueError(f"{name}: can't optimize a non-leaf Tensor (parameter {i})")
            if not is_floating(np.dtype(p.dtype)):
                raise TypeError(
                    f"{name}: can only optimize floating-point Tensors, parameter {i} has dtype "
                    f"{np.dtype(p.dtype)}"
                )
            if p in seen:
                raise ValueError(f"{name}: parameter {i} appears twice in the same group")
            seen.add(p)
        group["params"] = params
        for key, value in self.defaults.items():
            group.setdefault(key, copy.deepcopy(value))
        self._validate(group)
        for other in self.param_groups:
            if ("param_names" in group) != ("param_names" in other):
                raise ValueError(
                    f"{name}: all parameter groups must be given with names or all without: "
                    f"cannot add a group {'with' if 'param_names' in group else 'without'} "
                    "names to this optimizer"
                )
            if any(q in seen for q in other["params"]):
                raise ValueError(
                    f"{name}: some parameters appear in more than one parameter group"
                )
        self.param_groups.append(group)

    # -------------------------------------------------------------- validation
    def _validate(self, group: dict) -> None:
        """The checks of every group (the defaults, the groups given or added, the loaded
        ones): a Tensor learning rate is read as a float (in place), PyTorch's
        implementation switches are checked, then the subclass's :meth:`_check`."""
        if "lr" in group:
            group["lr"] = _scalar_lr(group["lr"], type(self).__name__)
        self._check_implementation_flags(group)
        self._check(group)

    def _check(self, group: dict) -> None:
        """Raise ``ValueError`` on an invalid hyperparameter of ``group`` (subclasses)."""

    def _check_implementation_flags(self, group: dict) -> None:
        """PyTorch's ``foreach`` / ``differentiable`` / ``capturable`` / ``fused``, for the
        classes that take them (``_implementation_flags``): ``foreach`` is ignored (the
        multi-tensor path is ``fused``); the others must be off unless minigrad has them."""
        name = type(self).__name__
        flags = self._implementation_flags
        if "differentiable" in flags and group.get("differentiable"):
            raise NotImplementedError(
                f"{name}: differentiable=True is not supported: minigrad's optimizers update "
                "the parameters in place, outside autograd (use differentiable=False)")
        if "capturable" in flags and group.get("capturable"):
            raise NotImplementedError(
                f"{name}: capturable=True is not supported: minigrad's optimizer step "
                "computes its scalars on the host and runs outside captured CUDA graphs "
                "(minigrad.cuda_graphs; use capturable=False)")
        if "fused" in flags and group.get("fused"):
            if group.get("foreach"):
                raise RuntimeError(f"{name}: `fused` and `foreach` cannot be `True` together.")
            from .fused import rule_for

            try:
                rule_for(self)
            except TypeError as err:
                raise NotImplementedError(f"{name}: fused=True is not available: {err}") \
                    from None

    def _fail(self, message: str):
        raise ValueError(f"{type(self).__name__}: {message}")

    def _check_nonnegative(self, group: dict, *keys: str) -> None:
        for key in keys:
            value = group[key]
            if not _is_real(value) or not value >= 0:
                what = "learning rate" if key == "lr" else key
                self._fail(f"invalid {what} {key}={value!r}: must be a number >= 0")

    def _check_unit_interval(self, group: dict, key: str, closed: bool = False) -> None:
        """``0 <= group[key] < 1`` (``<= 1`` when ``closed``)."""
        value = group[key]
        upper_ok = (value <= 1) if closed else (value < 1)
        if not _is_real(value) or not (value >= 0 and upper_ok):
            interval = "[0, 1]" if closed else "[0, 1)"
            self._fail(f"invalid {key}={value!r}: must lie in {interval}")

    def _check_betas(self, group: dict, key: str = "betas") -> None:
        betas = group[key]
        if not isinstance(betas, (tuple, list)) or len(betas) != 2:
            self._fail(f"{key} must be a pair (beta1, beta2), got {betas!r}")
        for i, beta in enumerate(betas):
            if not _is_real(beta) or not 0 <= beta < 1:
                self._fail(f"invalid beta parameter at index {i}: {beta!r} (must lie in [0, 1))")

    # -------------------------------------------------------------- stepping
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all parameters: to ``None`` (default) or to zeros in place.

        A fused optimizer (``fused=True``) zeroes each packed group's flat gradient buffer
        in one launch instead, where the next backward then writes the gradients
        (:func:`minigrad.optim.fused.fused_zero_grad`)."""
        if self.fused:
            from .fused import fused_zero_grad

            fused_zero_grad(self, set_to_none)
            return
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                else:
                    if getattr(p.grad, "requires_grad", False):
                        p.grad = p.grad.detach()
                    if getattr(p.grad, "is_sparse", False):
                        p.grad.data[...] = 0  # the stored values; the pattern stays
                    else:
                        _grad_array(p.grad, type(self).__name__)[...] = 0

    def step(self, closure=None):
        """Take one optimization step; return the loss the closure returned (or ``None``).

        Parameters
        ----------
        closure : callable, optional
            Re-evaluates the model and returns the loss; called once, with gradients
            enabled, before the update (it should call ``zero_grad`` and ``backward``).
        """
        if self.fused:  # one fused kernel per group (minigrad.optim.fused)
            from .fused import fused_step

            return fused_step(self, closure)
        loss = None
        if closure is not None:
            import minigrad as mg

            with mg.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is None:
                    continue
                self._step_param(p, group)
        return loss

    def _step_param(self, p, group: dict) -> None:
        g = self._dense_grad(p)
        theta = p.data
        state = self.state.get(p)
        if not state:  # no entry, or an empty one made by looking it up
            state = self._new_state(p, group)
        dtype = state.get("master", theta).dtype
        if g.dtype != dtype:
            g = g.astype(dtype)
        state["step"] += 1
        if "master" not in state:
            self._call_update(theta, g, state, group)
            return
        master = state["master"]
        _refresh_master(master, theta)
        self._call_update(master, g, state, group)
        theta[...] = master  # round the float32 result back into the parameter

    def _call_update(self, theta, g, state: dict, group: dict) -> None:
        if theta.ndim > 0:
            self._update(theta, g, state, group)
            return
        # A 0-d parameter: arithmetic on 0-d arrays returns scalars, which in-place code
        # cannot write into, so the update sees 1-element views of θ, g and the state.
        view = {k: v.reshape(1) if _is_array(v) and v.ndim == 0 else v for k, v in state.items()}
        self._update(theta.reshape(1), g.reshape(1), view, group)
        for key, value in view.items():
            state[key] = value.reshape(()) if _is_array(value) else value

    def _new_state(self, p, group: dict) -> dict:
        theta = p.data
        dtype = _compute_dtype(theta.dtype)
        master = None
        if dtype != theta.dtype:
            master = theta.astype(dtype)
        state = self.state.setdefault(p, {})  # an empty entry (a lookup's) is filled in place
        state["step"] = 0
        state.update(self._init_state(theta if master is None else master, group))
        if master is not None:
            state["master"] = master
        return state

    def _dense_grad(self, p):
        """The gradient array of ``p``, checked: dense, same shape and device as ``p``."""
        grad = p.grad
        name = type(self).__name__
        if getattr(grad, "is_sparse", False):
            raise RuntimeError(
                f"{name} does not support sparse gradients; make the gradient dense "
                "(grad.to_dense()) or use an optimizer written for sparse gradients"
            )
        g = _grad_array(grad, name)
        theta = p.data
        if tuple(g.shape) != tuple(theta.shape):
            raise ValueError(
                f"{name}: gradient of shape {tuple(g.shape)} does not match its parameter of "
                f"shape {tuple(theta.shape)}"
            )
        if get_array_module(g) is not get_array_module(theta):
            raise ValueError(
                f"{name}: gradient and parameter are on different devices "
                f"({_device_name(g)} and {_device_name(theta)})"
            )
        return g

    def _sparse_grad(self, p):
        """The coalesced sparse (COO) gradient of ``p``, checked against ``p``: for the
        optimizers that consume sparse gradients (SGD, Adagrad, SparseAdam)."""
        grad = p.grad
        name = type(self).__name__
        if not getattr(grad, "is_sparse", False):
            raise RuntimeError(f"{name}: expected a sparse gradient, got a dense one")
        if tuple(grad.shape) != tuple(p.shape):
            raise ValueError(f"{name}: gradient of shape {tuple(grad.shape)} does not "
                             f"match its parameter of shape {tuple(p.shape)}")
        if grad.device != p.device:
            raise ValueError(f"{name}: gradient and parameter are on different devices "
                             f"({grad.device} and {_device_name(p.data)})")
        if not hasattr(grad, "to_sparse_coo"):
            raise TypeError(f"{name}: cannot read a {type(grad).__name__} gradient")
        return grad.to_sparse_coo().coalesce()

    def _sparse_step(self, p, group: dict, update) -> None:
        """One step of ``p`` from its sparse gradient: ``update(xp, theta, index, values,
        state)`` changes only the rows in ``index`` (unique: the gradient is coalesced).
        float16 parameters are updated through their float32 master copy, row by row."""
        g = self._sparse_grad(p)
        state = self.state.get(p)
        if not state:
            state = self._new_state(p, group)
        state["step"] += 1
        theta = p.data
        master = state.get("master")
        target = theta if master is None else master
        xp = get_array_module(theta)
        if master is not None:
            _refresh_master(master, theta)
        if g.nnz == 0:
            return
        index = tuple(g.indices().data)
        values = g.values().data.astype(target.dtype, copy=False)
        update(xp, target, index, values, state)
        if master is not None:
            theta[index] = master[index]  # round the float32 rows back into the parameter

    def _init_state(self, theta, group: dict) -> dict:
        """The state of one parameter before its first step (subclasses)."""
        return {}

    def _update(self, theta, g, state: dict, group: dict) -> None:
        """One step on the arrays of one parameter (subclasses)."""
        raise NotImplementedError(f"{type(self).__name__} does not implement _update")

    # ------------------------------------------------------------ checkpoints
    def state_dict(self) -> dict:
        """A snapshot of the optimizer: ``{"state": {...}, "param_groups": [...]}``.

        PyTorch's layout: ``state`` maps the integer index of each parameter (counted over
        all groups in order) to a copy of its state; each group holds its hyperparameters
        and ``"params"``, the list of its parameters' indices (and ``"param_names"`` when
        the parameters were given with names). Arrays are copied. As in PyTorch, an empty
        entry of ``state`` (made by looking up a parameter that has not stepped) is
        written as an empty dict, and loads back as one.
        """
        index: dict = {}
        groups = []
        for group in self.param_groups:
            packed = {k: copy.deepcopy(v) for k, v in group.items() if k != "params"}
            packed["params"] = []
            for p in group["params"]:
                index[p] = len(index)
                packed["params"].append(index[p])
            groups.append(packed)
        state = {}
        for p, s in self.state.items():
            if p in index:
                state[index[p]] = {k: _copy_value(v) for k, v in s.items()}
        state = dict(sorted(state.items()))
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        """Restore a snapshot from :meth:`state_dict` (or from PyTorch, arrays converted).

        The groups must match the current ones in number and size; parameters are matched
        by position. State arrays are copied onto each parameter's device and dtype.
        """
        name = type(self).__name__
        if not isinstance(state_dict, dict) or not {"state", "param_groups"} <= set(state_dict):
            raise ValueError(f"{name}: a state dict has the keys 'state' and 'param_groups'")
        saved_groups = state_dict["param_groups"]
        if len(saved_groups) != len(self.param_groups):
            raise ValueError(
                f"{name}: loaded state dict has {len(saved_groups)} parameter groups, the "
                f"optimizer has {len(self.param_groups)}"
            )
        index = {}
        for i, (group, saved) in enumerate(zip(self.param_groups, saved_groups)):
            if len(group["params"]) != len(saved["params"]):
                raise ValueError(
                    f"{name}: parameter group {i} of the loaded state dict has "
                    f"{len(saved['params'])} parameters, the optimizer's has "
                    f"{len(group['params'])}"
                )
            index.update(zip(saved["params"], group["params"]))
        new_state = defaultdict(dict)
        for key, saved_state in state_dict["state"].items():
            if key not in index:
                raise ValueError(
                    f"{name}: loaded state for parameter index {key!r}, which no group lists"
                )
            p = index[key]
            new_state[p] = self._restore_param_state(p, saved_state)
        new_groups = []
        for group, saved in zip(self.param_groups, saved_groups):
            restored = {k: copy.deepcopy(v) for k, v in saved.items() if k != "params"}
            for k, v in self.defaults.items():
                restored.setdefault(k, copy.deepcopy(v))
            restored["params"] = group["params"]
            if "param_names" in group and "param_names" not in restored:
                restored["param_names"] = group["param_names"]  # kept, as PyTorch does
            self._validate(restored)
            new_groups.append(restored)
        for group, restored in zip(self.param_groups, new_groups):
            group.clear()  # keep the dict objects: schedulers may hold them
            group.update(restored)
        self.state = new_state

    def _state_shape(self, key: str, theta) -> tuple:
        """The shape of state array ``key`` for parameter array ``theta`` (the
        parameter's own, unless a subclass keeps factors: Adafactor)."""
        return theta.shape

    def _restore_param_state(self, p, saved: dict) -> dict:
        if len(saved) == 0:
            return {}  # an entry without state: the first step creates it
        theta = p.data
        xp = get_array_module(theta)
        dtype = _compute_dtype(theta.dtype)
        state = {}
        for key, value in saved.items():
            key = self._torch_state_names.get(key, key)
            if key in self._scalar_state:
                value = self._scalar_state[key](_to_python_scalar(value))
            elif value is not None and (_is_array(value) or hasattr(value, "__array__")):
                value = _to_host_if_foreign(value)
                if xp is np and get_array_module(value) is not np:
                    value = value.get()  # a CuPy array, loaded onto a CPU parameter
                value = xp.array(value, dtype=dtype, copy=True)
                expected = self._state_shape(key, theta)
                if value.shape != expected:
                    raise ValueError(
                        f"{type(self).__name__}: loaded state {key!r} has shape "
                        f"{tuple(value.shape)}, expected {tuple(expected)} for its parameter "
                        f"of shape {tuple(theta.shape)}"
                    )
            else:
                value = copy.deepcopy(value)
            state[key] = value
        state.setdefault("step", 0)  # PyTorch's SGD keeps no step count
        if dtype != theta.dtype and "master" not in state:
            state["master"] = theta.astype(dtype)
        return state

    # ------------------------------------------------------------------ misc
    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            for key in sorted(group):
                if key != "params":
                    lines.append(f"    {key}: {group[key]}")
        lines.append(")")
        return "\n".join(lines)


def _refresh_master(master, theta) -> None:
    """``master[...] = theta`` when the low-precision parameter no longer equals the rounded
    float32 master (it was changed from outside). On CuPy the test stays on the device (a
    masked copy): a Python ``if`` on it would synchronize once per parameter per step."""
    xp = get_array_module(theta)
    changed = master.astype(theta.dtype) != theta
    if xp is np:
        if changed.any():
            master[...] = theta
        return
    xp.copyto(master, theta.astype(master.dtype), where=changed.any())


def _grad_array(grad, name: str = "Optimizer"):
    """The array of a dense gradient: a Tensor's ``.data``, or a NumPy/CuPy array itself
    (whose own ``.data`` is a raw buffer, not the values); anything else is refused."""
    if _looks_like_tensor(grad):
        return grad.data
    if _is_array(grad):
        return grad
    raise TypeError(
        f"{name}: a parameter's .grad must be a Tensor (or an array), got "
        f"{type(grad).__name__}")


def _looks_like_tensor(x) -> bool:
    """A minigrad Tensor (duck-typed so the base does not import the tensor module)."""
    return hasattr(x, "data") and hasattr(x, "grad") and hasattr(x, "requires_grad")


def _is_real(x) -> bool:
    """A real number (not a bool, not NaN): the only acceptable hyperparameter values."""
    if isinstance(x, bool) or not isinstance(x, (int, float, np.integer, np.floating)):
        return False
    return not math.isnan(x)


def _scalar_lr(value, name: str):
    """A learning rate given as a 1-element Tensor or array (PyTorch's ``lr: float |
    Tensor``) as a Python float; any other value is returned unchanged, for the checks."""
    data = value.data if _looks_like_tensor(value) else value
    if not _is_array(data):
        return value
    size = data.numel() if callable(getattr(data, "numel", None)) else data.size
    if size != 1:
        raise ValueError(f"{name}: a Tensor lr must have one element, got shape "
                         f"{tuple(data.shape)}")
    number = data.reshape(()).item()
    if isinstance(number, bool) or not isinstance(number, (int, float)):
        return value  # e.g. a complex or bool Tensor: refused by the checks
    return float(number)


def _device_name(array) -> str:
    return "cpu" if get_array_module(array) is np else "cuda"


def _to_python_scalar(value):
    if hasattr(value, "item"):
        return value.item()
    return value


def _to_host_if_foreign(value):
    """NumPy/CuPy arrays pass through; anything else array-like (e.g. a torch tensor) → NumPy."""
    if isinstance(value, np.ndarray) or get_array_module(value) is not np:
        return value
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu()
    return np.asarray(value)


for _name in ("step", "state_dict", "load_state_dict"):
    setattr(Optimizer, _name, _with_hooks(getattr(Optimizer, _name)))
del _name
