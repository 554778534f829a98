"""``Function``: one node of the graph, and the reverse-mode engine that walks it.

A Function subclass writes ``forward(self, xp, *arrays)`` on raw NumPy/CuPy arrays (``xp``
is the array module of the inputs, chosen once here) and ``backward(self, gy)`` in minigrad
Tensor ops, so the backward pass is itself recorded when ``create_graph=True`` and
higher-order gradients come for free.

Memory: a Function keeps its inputs (Tensors) and, when ``save_output`` is set, the raw
*array* of its output, never the output Tensor, so output → creator → output cycles do
not exist and intermediates die as soon as nothing refers to them. ``saved_output``
rebuilds a Tensor around that array that is wired to this Function, so derivatives of
the backward flow through it correctly. After ``backward`` the graph is released
(``retain_graph=False``): inputs and saved arrays are dropped.

Broadcasting is undone here, once for every op: a gradient whose shape differs from its
input's shape is summed back with ``sum_to``.
"""
from __future__ import annotations

import functools
import weakref

import numpy as np

from .._backend import get_array_module, quietly
from .._backend import quiet_fp_off as _quiet_off
from .._backend import quiet_fp_on as _quiet_on
from ..amp.autocast_mode import _state as _amp_state
from ..amp.autocast_mode import cast_inputs as _amp_cast
from ..amp.autocast_mode import is_half
from .anomaly_mode import _state as _anomaly
from .anomaly_mode import checked_backward, forward_trace
from .forward_ad import _level as _forward_ad_level
from .forward_ad import propagate as _forward_ad_propagate
from .grad_mode import _state as _grad_mode
from .grad_mode import set_grad_enabled
from .hooks import apply_grad_hooks

_SCALARS = (np.generic, bool, int, float)
_new_tensor = object.__new__

# In-place changes after the forward (PyTorch's "modified by an inplace operation" check).
# A clock ticks at every in-place change of a Tensor (add_, fill_, ``t[i] = v``...); the
# changed tensor and every tensor it is a view of (its ``_base`` chain) take the new time
# as their ``_version``. A Function notes the time when it records its graph; before its
# backward runs, an input (or a tensor that input is a view of) or a saved output with a
# later version means the values its gradient needs are gone: an error, not a wrong
# gradient. Nothing is recorded per tensor on the hot path: the clock is read once per
# recorded op, and versions are compared only when the clock has moved since.
_clock = [0]


def mark_modified(*tensors):
    """Tick the clock and stamp each tensor and the tensors it views: they were changed in
    place."""
    _clock[0] += 1
    now = _clock[0]
    for t in tensors:
        while t is not None:
            t._version = now
            t = getattr(t, "_base", None)


def tick_clock() -> int:
    """A fresh time: every Function recorded from now on notes one at least this late
    (checkpoint tells the nodes its segment records from older ones by it). Functions
    recorded before will compare their inputs' versions at backward: a few reads more."""
    _clock[0] += 1
    return _clock[0]


def _changed_since(t, time):
    while t is not None:
        if getattr(t, "_version", 0) > time:
            return True
        t = getattr(t, "_base", None)
    return False


def _check_unmodified(f):
    """Raise when what ``f``'s backward reads was changed in place after its forward."""
    time = f._recorded_at
    xs = f.inputs
    for i in f.inputs_read():
        if _changed_since(xs[i], time):
            _raise_modified(f, f"input {i}", xs[i])
    ref = f._output_ref
    y = ref() if ref is not None else None
    if y is not None and _changed_since(y, time):
        _raise_modified(f, "output", y)


def _raise_modified(f, which, t):
    raise RuntimeError(
        f"one of the variables needed for gradient computation has been modified by an "
        f"inplace operation: {f.name}'s {which}, a tensor of shape {tuple(t.data.shape)}, "
        "was changed in place (or through a view of its memory) after the forward used "
        "it. Change it before the forward, or change a copy (.clone())")

_FREED = (
    "Trying to backward through the graph a second time (or to use its saved results "
    "after they were freed). The graph is freed by the first backward; pass "
    "retain_graph=True to the first backward (or autograd.grad) to keep it."
)


class Function:
    """Base class of every differentiable op (single output)."""

    save_output = False  # set True when backward needs the output (tanh, exp, sigmoid...)
    # False for ops whose backward does not read their inputs' values (sums, shape ops,
    # slicing): changing an input in place after the forward leaves their gradient right.
    reads_inputs = True
    amp_policy = None  # "half" / "float32": how autocast casts the inputs (minigrad.amp)

    # Filled by __call__ when the graph is recorded.
    inputs = None
    needs_input_grad = ()
    _output_array = None
    _retained = None  # weakref to the output tensor, set by its retain_grad()
    _hooks = None  # the output tensor's gradient hooks (register_hook), id → fn
    _recorded_at = None  # the in-place clock when the graph was recorded (mark_modified)
    _output_ref = None  # with save_output: a weak reference to the output tensor

    # A Function whose backward can add an input's gradient straight into that input's
    # ``.grad`` (a leaf's: a weight's, in a GEMM with β = 1) sets this; the backward sweep
    # then passes ``leaf_grads`` (see :func:`leaf_grad_arrays`) and takes ADDED back.
    adds_to_leaf_grads = False
    leaf_grads = None

    # Set by ops whose Jacobian is locally constant (ReLU, abs, clamp, where, max...): with
    # create_graph=True, the gradients their VJP makes are linked to their inputs with
    # derivative 0 (see :class:`LocallyConstant`), as PyTorch's are.
    piecewise_linear = False

    # Set by ops whose forward or VJP is more than one rounding (sigmoid, silu, gelu, erf...):
    # on float16/bfloat16 inputs the forward runs on float32 copies and is rounded once to
    # the half dtype, and so is the VJP (see :func:`call_backward`), as PyTorch's kernels
    # compute half tensors in float32, their "opmath" type. Computed in half, silu's
    # gradient was 180 half ulps off where it crosses 0 (it cancels), PyTorch's 0.5.
    opmath = False
    _widened = False  # set on the node when the forward ran so (its backward then does)

    # Set by ``opmath`` ops whose CuPy forward and VJP are one elementwise kernel each that
    # computes float16 in float32 and rounds once (the activations: ops.fused.ACTIVATIONS):
    # on CUDA their float16 inputs are not cast, and an unrecorded VJP runs on them as they
    # are; a recorded one (create_graph, forward AD) is widened as any opmath op's.
    fused_cuda = False

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        # A PyTorch-style Function (static forward(ctx, ...)/backward(ctx, ...), called
        # through apply): see custom_function.py.
        if isinstance(cls.__dict__.get("forward"), staticmethod):
            cls._torch_style = True

    _torch_style = False

    @classmethod
    def apply(cls, *args, **kwargs):
        """Run a PyTorch-style custom Function (static ``forward(ctx, ...)`` and
        ``backward(ctx, ...)``) on ``args``; see :mod:`minigrad.autograd.custom_function`."""
        if not cls._torch_style:
            raise TypeError(f"{cls.__name__}.apply: only for Functions written PyTorch's "
                            "way (static forward(ctx, ...) and backward(ctx, ...)); call "
                            f"{cls.__name__}(...)(*tensors) for minigrad's own ops")
        from .custom_function import apply

        return apply(cls, *args, **kwargs)

    @staticmethod
    def setup_context(ctx, inputs, output):
        """PyTorch 2's alternative to a ``ctx`` argument of ``forward``: override it to
        save what ``backward`` needs from ``inputs`` and ``output``."""

    def forward(self, xp, *arrays):  # pragma: no cover - abstract
        raise NotImplementedError

    def backward(self, gy):  # pragma: no cover - abstract
        raise NotImplementedError(f"{type(self).__name__} has no backward")

    def __call__(self, *inputs):
        if _Tensor is None:
            _bind()
        for x in inputs:
            if not isinstance(x, _Tensor):
                inputs = _operands(self, inputs)
                break
        if _amp_state.dtype is not None and self.amp_policy is not None:
            inputs = _amp_cast(self.amp_policy, inputs)
        data = inputs[0].data
        n = len(inputs)
        if n == 1:
            arrays = (data,)
        elif n == 2:
            other = inputs[1].data
            arrays = (data, other)
            if type(other) is not type(data):
                _check_same_device(self, inputs)
        else:
            arrays = tuple([x.data for x in inputs])
            kind = type(data)
            for a in arrays:
                if type(a) is not kind:
                    _check_same_device(self, inputs)
        xp = np if type(data) is np.ndarray else get_array_module(data)
        try:
            half = _shared_half(arrays) if self.opmath else None
            if half is not None and self.fused_cuda and xp is not np and half == np.float16:
                y = self.forward(xp, *arrays)  # one kernel, in float32 inside
                self._widened = True
            elif half is not None:
                y = self.forward(xp, *[a.astype(np.float32) if a.dtype == half else a
                                       for a in arrays])
                if y.dtype == np.float32:
                    token = _quiet_on()  # beyond the half range: inf, silently
                    try:
                        y = y.astype(half)
                    finally:
                        _quiet_off(token)
                self._widened = True
            else:
                y = self.forward(xp, *arrays)
        except ValueError as e:
            shapes = " and ".join(str(tuple(a.shape)) for a in arrays)
            raise ValueError(f"{self.name}: cannot apply to shapes {shapes}: {e}") from None
        if y.__class__ is not np.ndarray and isinstance(y, _SCALARS):
            y = np.asarray(y)  # NumPy returns scalars for 0-d results
        out = _new_tensor(_Tensor)
        out.data = y
        out.grad = None
        out.creator = None
        out.requires_grad = False
        base = y.base
        if base is not None and (base is data or base is data.base) or y is data:
            out._base = inputs[0]  # a view of the first input's memory (reshape, slices)
        # Integer and bool results (casts, comparisons) carry no gradient.
        if _grad_mode.enabled and y.dtype.kind in "fV":
            needs = tuple([x.requires_grad for x in inputs])
            if True in needs:
                out.requires_grad = True
                out.creator = self
                self.inputs = inputs
                self.needs_input_grad = needs
                self._recorded_at = _clock[0]
                if self.save_output:
                    self._output_array = y
                    self._output_ref = weakref.ref(out)
                if _anomaly.enabled:
                    self._forward_trace = forward_trace()
        if _forward_ad_level[0]:
            _forward_ad_propagate(self, inputs, out)
        return out

    def inputs_read(self):
        """The positions of the inputs whose values this backward reads (those the check
        for in-place changes compares): all of them with ``reads_inputs``, else none."""
        return range(len(self.inputs)) if self.reads_inputs else ()

    @property
    def name(self) -> str:
        return type(self).__name__

    @property
    def saved_output(self):
        """The output as a Tensor wired to this Function (differentiable again)."""
        if self._output_array is None:
            raise RuntimeError(_FREED)
        y = _make_tensor(self._output_array, None, True)
        y.creator = self
        return y

    @property
    def next_functions(self):
        """PyTorch's ``grad_fn.next_functions``: for each input, ``(node, 0)``: the input's
        own Function, an :class:`AccumulateGrad` for a leaf that requires grad, or None
        for a constant. Walking it from a loss visits the whole graph."""
        if self.inputs is None:
            raise RuntimeError(_FREED)
        return tuple((x.creator if x.creator is not None else
                      AccumulateGrad(x) if x.requires_grad else None, 0)
                     for x in self.inputs)

    def offered_grad(self, i):
        """Input ``i``'s ``.grad`` array that this backward may add its gradient into and
        return ADDED for (``leaf_grads``), or None."""
        return self.leaf_grads[i] if self.leaf_grads else None

    def release(self) -> None:
        """Drop what the graph holds (called after backward unless retain_graph)."""
        self.inputs = None
        self._output_array = None
        self._output_ref = None

    def __repr__(self) -> str:
        return f"<{self.name} backward>"


def _shared_half(arrays):
    """The half dtype (float16 or bfloat16) of the floating arrays, when they all have the
    same one; else None (a float32 or float64 operand: promotion decides the result)."""
    half = None
    for a in arrays:
        dt = a.dtype
        if is_half(dt):
            if half is not None and dt != half:
                return None
            half = dt
        elif dt.kind == "f":
            return None
    return half


def call_backward(f, gy):
    """``f.backward(gy)``; for an ``opmath`` Function whose forward ran on half tensors, on
    float32 copies of its half inputs, of its saved output and of ``gy``, so that each
    gradient is rounded to its input's dtype once (by the sweep), not at every step of the
    VJP. The copies are differentiable casts when the sweep records (create_graph)."""
    if not f._widened or (f.fused_cuda and not _grad_mode.enabled
                          and type(gy.data) is not np.ndarray and gy.dtype == np.float16):
        return f.backward(gy)  # (its fused kernel takes float16 as it is)
    xs, y = f.inputs, f._output_array
    f.inputs = tuple([widen(x) for x in xs])
    if y is not None:
        f._output_array = y.astype(np.float32)
    try:
        return f.backward(widen(gy))
    finally:
        f.inputs, f._output_array = xs, y


def widen(x):
    """``x`` cast to float32 (a differentiable cast) when it is a float16/bfloat16 Tensor;
    anything else as it is."""
    if _Tensor is None:
        _bind()
    return x.to(dtype=np.float32) if isinstance(x, _Tensor) and is_half(x.dtype) else x


def product_inputs_read(fn):
    """``inputs_read`` of a product's backward (ga from b, gb from a, as in a·b and a @ b):
    input 0 is read when input 1 needs a gradient and input 1 when input 0 does, so that
    changing a constant factor in place (a weight, after the forward) stays allowed."""
    need_a, need_b = fn.needs_input_grad
    return [i for i, read in ((0, need_b), (1, need_a)) if read]


class AccumulateGrad:
    """The graph's end at a leaf (what PyTorch's ``next_functions`` shows there): the leaf
    is ``variable``; backward accumulates into its ``.grad``."""

    __slots__ = ("variable",)
    name = "AccumulateGrad"

    def __init__(self, variable):
        self.variable = variable

    @property
    def next_functions(self):
        return ()

    def __eq__(self, other):
        return isinstance(other, AccumulateGrad) and other.variable is self.variable

    def __hash__(self):
        return id(self.variable)

    def __repr__(self):
        return "<AccumulateGrad>"


def ieee(forward):
    """Decorate a ``forward`` that may divide by zero, overflow or leave its domain: it runs
    with NumPy's floating-point warnings off, so that, as in PyTorch, 1/0 is inf and
    log(−1) is nan, silently (a warning turned into an error by a test run would otherwise
    end the program with a NumPy traceback). CuPy does not warn: its forward runs as is."""

    @functools.wraps(forward)
    def quiet_forward(self, xp, *arrays):
        if xp is not np:
            return forward(self, xp, *arrays)
        token = _quiet_on()
        try:
            return forward(self, xp, *arrays)
        finally:
            _quiet_off(token)

    return quiet_forward


_Tensor = _make_tensor = _as_operand = None


def _bind():
    """Late import of the Tensor helpers (tensor.py imports this module first)."""
    global _Tensor, _make_tensor, _as_operand
    from ..tensor import Tensor, _as_operand, _make_tensor  # noqa: F811

    _Tensor = Tensor


def _operands(fn, inputs):
    """Wrap the non-Tensor inputs (Python numbers, arrays) as constants."""
    for ref in inputs:
        if isinstance(ref, _Tensor):
            break
    else:
        raise TypeError(f"{fn.name} needs at least one Tensor input")
    return tuple([x if isinstance(x, _Tensor) else _as_operand(x, ref) for x in inputs])


def _check_same_device(fn, xs):
    devices = [x.device for x in xs]
    if len(set(devices)) > 1:
        raise RuntimeError(
            f"{fn.name}: expected all tensors on one device, got {', '.join(devices)}; "
            "move them explicitly with .to(device)"
        )


# --------------------------------------------------------------------------- engine


def _topological_counts(roots, needed=None, runs=None):
    """Count, for every Function reachable from ``roots``, how many graph edges use its
    output (iterative DFS: deep graphs must not overflow the Python stack). With a
    :func:`_capture_plan`, only the edges from the Functions that ``runs`` to those
    ``needed``."""
    deps = {}
    stack = [f for f in roots]
    seen = set(stack)
    while stack:
        f = stack.pop()
        if runs is not None and f not in runs:
            continue
        if f.inputs is None:
            raise RuntimeError(_FREED)
        for x in f.inputs:
            c = x.creator
            if c is not None and (needed is None or c in needed):
                deps[c] = deps.get(c, 0) + 1
                if c not in seen:
                    seen.add(c)
                    stack.append(c)
    return deps


def _capture_plan(roots, wanted_leaf, wanted_fn, stop_at=()):
    """What a sweep that returns the gradients of some tensors (``autograd.grad``) must
    do, as in PyTorch: (needed, runs), the Functions whose output's gradient it computes
    (a wanted tensor's, or one on the way to a wanted tensor) and those whose backward it
    runs (an input leads to a wanted tensor). The rest of the graph is neither computed
    nor freed: ``grad(y, [h])`` does not go on past h into the graph that made h, which a
    later backward may still use. The creators in ``stop_at`` are never run through (the
    boundary of a checkpointed segment: see utils.checkpoint)."""
    reach = {}          # Function -> whether running its backward reaches a wanted tensor
    stack = [(f, False) for f in roots]
    while stack:
        f, expanded = stack.pop()
        if f in reach:
            continue
        if f in stop_at or (f.inputs is None and f in wanted_fn):
            reach[f] = False  # a boundary, or a wanted tensor's (freed) creator: not run
            continue
        if f.inputs is None:
            raise RuntimeError(_FREED)
        if not expanded:
            stack.append((f, True))
            stack.extend((x.creator, False) for x in f.inputs
                         if x.creator is not None and x.creator not in reach)
            continue
        reach[f] = any(id(x) in wanted_leaf if x.creator is None
                       else x.creator in wanted_fn or reach[x.creator] for x in f.inputs)
    runs = {f for f, r in reach.items() if r}
    return runs | (wanted_fn.keys() & reach.keys()), runs


class _Added:
    __slots__ = ()

    def __repr__(self):
        return "ADDED"


#: What a backward returns for an input whose gradient it already added into the array
#: that ``leaf_grads`` offered it (the leaf's ``.grad``): the sweep has nothing to do.
ADDED = _Added()


def leaf_grad_arrays(xs, needs):
    """For a Function with ``adds_to_leaf_grads``, per input: the array its gradient may be
    added into in place, or None. Offered only when the plain ``x.grad.data += g`` is what
    the sweep would do: x a leaf needing its gradient, without hooks (they see the
    gradient first), with a dense ``.grad`` of x's own shape, dtype and array type that
    records no graph — or, where ``.grad`` is None, the zeroed slot a fused optimizer set
    aside for it (:func:`grad_slot`; the sweep makes it ``.grad`` when the Function
    returns ADDED). None when no input qualifies."""
    out = None
    for i, x in enumerate(xs):
        if not needs[i] or x.creator is not None or \
                getattr(x, "_hooks", None) or getattr(x, "_post_hooks", None):
            continue
        g = x.grad
        if g is None:
            d = grad_slot(x)
            if d is None:
                continue
        else:
            if g.requires_grad or getattr(g, "is_sparse", False):
                continue
            d, xd = g.data, x.data
            if type(d) is not type(xd) or d.shape != xd.shape or d.dtype != xd.dtype or \
                    not d.flags.c_contiguous:
                continue
        if out is None:
            out = [None] * len(xs)
        out[i] = d
    return out


def grad_slot(x):
    """The zeroed array that a fused optimizer's ``zero_grad(set_to_none=True)`` set aside
    for the leaf x's next gradient (a view of its flat gradient buffer:
    :meth:`minigrad.optim.fused.FlatParams.zero_grad`), while ``x.grad`` is None and it
    still fits x; else None. The backward writes x's first gradient there instead of into
    a fresh array, so the optimizer finds it in its buffer (no copy), and only the first
    gradient does: :func:`take_grad_slot` gives it up."""
    slot = getattr(x, "_grad_slot", None)
    if slot is None or x.grad is not None:
        return None
    d = x.data
    if type(slot) is not type(d) or slot.shape != d.shape or slot.dtype != d.dtype:
        x._grad_slot = None
        return None
    return slot


def take_grad_slot(x):
    """x.grad ← a Tensor over its slot (:func:`grad_slot`), which is used up."""
    x.grad = _make_tensor(x._grad_slot, None, False)
    x._grad_slot = None
    return x.grad


class SliceGrad:
    """The gradient of ``x[index]`` for a basic index (ints, slices): ``values`` at
    ``index`` of an array of ``shape``, zeros elsewhere, kept in that form until it is
    added to the others of x. A backward through a loop over L slices of a tensor (a
    recurrent layer's time steps) then writes one array of x's size, not L of them.
    Produced only inside :func:`run_backward` without ``create_graph`` (see
    :func:`slice_grads_accepted`)."""

    __slots__ = ("index", "values", "shape")

    def __init__(self, index, values, shape):
        self.index, self.values, self.shape = index, values, shape

    def dense(self):
        a = get_array_module(self.values).zeros(self.shape, dtype=self.values.dtype)
        a[self.index] = self.values
        return _make_tensor(a, None, False)


_slice_grads = [False]  # whether the running backward accepts SliceGrad (no create_graph)


def slice_grads_accepted() -> bool:
    """Whether a backward may return a :class:`SliceGrad` now: inside ``run_backward``
    that records no graph (a SliceGrad is an array, not a differentiable Tensor)."""
    return _slice_grads[0] and not _grad_mode.enabled


def accumulate_grad(x, gx, create_graph=False):
    """x.grad ← gx the first time, x.grad + gx after (what backward does for each leaf)."""
    if x.data.dtype.kind not in "fV":  # requires_grad set as an attribute on an int tensor
        raise RuntimeError(f"backward: only tensors of floating point dtype can require "
                           f"gradients, but a leaf of dtype {x.dtype} and shape {x.shape} "
                           "has requires_grad=True")
    if isinstance(gx, SliceGrad):
        if x.grad is None and grad_slot(x) is not None:
            take_grad_slot(x).data[gx.index] = gx.values  # zeros elsewhere
        elif x.grad is None or getattr(x.grad, "is_sparse", False):
            dense = gx.dense()
            x.grad = dense if x.grad is None else x.grad + dense
        else:
            _check_existing_grad(x)
            x.grad.data[gx.index] += gx.values
        return
    if gx.is_sparse or getattr(x.grad, "is_sparse", False):
        # A sparse (COO) gradient, e.g. of Embedding(sparse=True), is stored as it is;
        # sparse + sparse concatenates indices and values (coalesced lazily, by whoever
        # needs it), sparse + dense gives dense. The sparse operand goes first: its
        # __add__ handles both kinds.
        old = x.grad
        x.grad = gx if old is None else (gx + old if gx.is_sparse else old + gx)
        return
    if create_graph:
        if x.grad is not None:
            _check_existing_grad(x)
        x.grad = gx if x.grad is None else x.grad + gx
    elif x.grad is None:
        if grad_slot(x) is not None:
            take_grad_slot(x).data[...] = gx.data
        else:
            # Own a fresh, writable array: gradients of different leaves may share one.
            x.grad = _make_tensor(gx.data.astype(x.data.dtype, copy=True), None, False)
    else:
        _check_existing_grad(x)
        x.grad.data += gx.data


def _check_existing_grad(x):
    """The ``.grad`` a gradient is about to be added into (one a user may have assigned)
    is a Tensor of the leaf's shape: else a clear error rather than NumPy's."""
    old = x.grad
    if not isinstance(old, _Tensor):
        raise TypeError(f"backward: the .grad of a leaf of shape {x.shape} is of type "
                        f"{type(old).__name__}; assign a Tensor (or None) to .grad")
    if old.data.shape != x.data.shape:
        raise RuntimeError(f"backward: the .grad of a leaf of shape {x.shape} has shape "
                           f"{old.shape}; the gradient cannot be added into it (assign a "
                           "Tensor of the leaf's shape, or None)")


def run_post_accumulate_hooks(x):
    """The hooks of ``register_post_accumulate_grad_hook`` on the leaf ``x``, after its
    ``.grad`` was updated."""
    hooks = getattr(x, "_post_hooks", None)
    if hooks:
        for fn in list(hooks.values()):
            fn(x)


def backward_into(outputs, grad_outputs, retain_graph, create_graph, inputs=None):
    """What ``Tensor.backward`` and ``autograd.backward`` do: the gradients of
    ``outputs`` (seeded with ``grad_outputs``) accumulated into the ``.grad`` of every
    leaf or, with ``inputs`` (a tensor or a sequence of them, leaves or intermediate
    results), of those tensors only; then the post-accumulate hooks and the post-backward
    callbacks."""
    if inputs is None:
        run_backward(outputs, grad_outputs, retain_graph=retain_graph,
                     create_graph=create_graph)
        return
    inputs = (inputs,) if isinstance(inputs, _Tensor) else tuple(inputs)
    if not inputs:
        raise RuntimeError("backward(): inputs= is empty; pass None for every leaf")
    if not all(isinstance(t, _Tensor) and t.requires_grad for t in inputs):
        raise RuntimeError("backward(): every tensor in inputs= must require grad")
    grads = run_backward(outputs, grad_outputs, retain_graph=retain_graph,
                         create_graph=create_graph, inputs=inputs)
    for t, g in zip(inputs, grads):
        if g is not None:
            accumulate_grad(t, g, create_graph)
            if t.creator is None:
                run_post_accumulate_hooks(t)
    run_post_backward_callbacks()


def run_post_backward_callbacks():
    while _post_backward_callbacks:
        _post_backward_callbacks.pop(0)()


@quietly
def run_backward(outputs, grad_outputs, retain_graph=False, create_graph=False, inputs=None,
                 stop_at=()):
    """Reverse-mode sweep from ``outputs`` seeded with ``grad_outputs`` (Tensors), with
    NumPy's floating-point warnings off throughout, as in every ``ieee`` forward: a
    gradient that overflows or meets ∞ − ∞ is ±inf or NaN, silently, as in PyTorch (the
    backward of ``outer`` at 1e308 warned from inside NumPy's reductions).

    Without ``inputs`` the gradients are accumulated into the ``.grad`` of the leaves.
    With ``inputs`` (a sequence of Tensors, leaves or not) nothing is accumulated and the
    gradients with respect to those tensors are returned, ``None`` where unused; only the
    part of the graph between the outputs and those tensors is run (and freed), and never
    through the Functions in ``stop_at`` (see :func:`_capture_plan`).
    """
    if _Tensor is None:
        _bind()
    capture = inputs is not None
    if capture and len({id(t) for t in inputs}) < len(inputs):
        # a tensor asked for twice gets its gradient twice (PyTorch's autograd.grad)
        unique = list({id(t): t for t in inputs}.values())
        grads = run_backward(outputs, grad_outputs, retain_graph, create_graph, unique,
                             stop_at)
        by_id = {id(t): g for t, g in zip(unique, grads)}
        return [by_id[id(t)] for t in inputs]
    if capture:
        wanted_leaf = {id(t): i for i, t in enumerate(inputs) if t.creator is None}
        wanted_fn = {}
        for i, t in enumerate(inputs):
            if t.creator is not None:
                wanted_fn.setdefault(t.creator, []).append(i)
        results = [None] * len(inputs)

    hooked = {}  # id → [leaf, summed gradient]: leaves with hooks see their whole gradient

    def to_leaf(x, gx):
        if getattr(x, "_hooks", None) or getattr(x, "_post_hooks", None):
            gx = gx.dense() if isinstance(gx, SliceGrad) else gx
            entry = hooked.get(id(x))
            if entry is None:
                hooked[id(x)] = [x, gx]
            else:
                entry[1] = entry[1] + gx
            return
        leaf_grad(x, gx)

    def leaf_grad(x, gx):
        if capture:
            i = wanted_leaf.get(id(x))
            if i is not None:
                gx = gx.dense() if isinstance(gx, SliceGrad) else gx
                old = results[i]
                results[i] = gx if old is None else (gx + old if gx.is_sparse else old + gx)
            return
        accumulate_grad(x, gx, create_graph)

    owned = {}  # id → gradient Tensor this sweep made itself, so may add slices into

    def add_slice(old, g):
        """``old`` (a gradient Tensor or None) plus the SliceGrad ``g``, written in place
        into an array of this sweep's own (a copy of ``old`` the first time)."""
        if old is None:
            old = g.dense()
        else:
            if owned.get(id(old)) is not old:
                old = _make_tensor(old.data.copy(), None, False)
            old.data[g.index] += g.values
        owned[id(old)] = old
        return old

    grads = {}
    roots = []
    previous = _slice_grads[0]
    _slice_grads[0] = not create_graph
    _sweeps.append(capture)
    try:
        with set_grad_enabled(create_graph):
            for y, gy in zip(outputs, grad_outputs):
                if y.creator is None:
                    if y.requires_grad:
                        to_leaf(y, gy)
                    continue
                f = y.creator
                if f in grads:
                    grads[f] = grads[f] + gy
                else:
                    grads[f] = gy
                    roots.append(f)
            needed = runs = None
            if capture:
                needed, runs = _capture_plan(roots, wanted_leaf, wanted_fn, stop_at)
                roots = [f for f in roots if f in needed]
            deps = _topological_counts(roots, needed, runs)
            ready = [f for f in roots if deps.get(f, 0) == 0]
            while ready:
                f = ready.pop()
                gy = grads.pop(f, None)
                if gy is not None:
                    owned.pop(id(gy), None)
                    if f._hooks:
                        gy = apply_grad_hooks(f._hooks, gy, _Tensor)
                if capture:
                    for i in wanted_fn.get(f, ()):
                        results[i] = gy
                    if f not in runs:  # nothing wanted lies behind it
                        continue
                if f._retained is not None and gy is not None and not capture:
                    kept = f._retained()  # the output's retain_grad(): its gradient is whole now
                    if kept is not None:
                        accumulate_grad(kept, gy, create_graph)
                xs = f.inputs
                if xs is None:
                    raise RuntimeError(_FREED)
                if f._recorded_at is not None and f._recorded_at != _clock[0]:
                    _check_unmodified(f)
                if gy is not None:
                    if _anomaly.enabled:
                        gxs = checked_backward(f, gy)
                    else:
                        if f.adds_to_leaf_grads and not create_graph and not capture:
                            f.leaf_grads = leaf_grad_arrays(xs, f.needs_input_grad)
                        try:
                            gxs = call_backward(f, gy)
                        finally:
                            f.leaf_grads = None
                        if not isinstance(gxs, tuple):
                            gxs = (gxs,)
                else:
                    gxs = (None,) * len(xs)
                for x, gx, need in zip(xs, gxs, f.needs_input_grad):
                    if gx is ADDED:  # already in the leaf's .grad (leaf_grads)
                        if x.grad is None:  # ... in the slot offered for it
                            take_grad_slot(x)
                        continue
                    c = x.creator
                    if capture and (id(x) not in wanted_leaf if c is None else c not in needed):
                        continue  # leads to no wanted tensor
                    if need and isinstance(gx, SliceGrad):  # a basic slice's, as an array
                        if gx.values.dtype != x.data.dtype:
                            gx.values = gx.values.astype(x.data.dtype)
                        if c is None:
                            to_leaf(x, gx)
                        else:
                            grads[c] = add_slice(grads.get(c), gx)
                    elif need and gx is not None:
                        if create_graph and f.piecewise_linear:
                            gx = _locally_constant(gx, xs)
                        gd, xd = gx.data, x.data
                        if gd.shape != xd.shape:
                            gx = gx.sum_to(xd.shape)
                        if gd.dtype is not xd.dtype and gd.dtype != xd.dtype:
                            gx = gx.to(dtype=xd.dtype)
                        if c is None:
                            to_leaf(x, gx)
                        elif c in grads:
                            old = grads[c]
                            if owned.get(id(old)) is old:
                                del owned[id(old)]
                            grads[c] = old + gx
                        else:
                            grads[c] = gx
                    if c is not None:
                        d = deps[c] - 1
                        deps[c] = d
                        if d == 0:
                            ready.append(c)
                if not retain_graph:
                    f.release()
            for x, gx in hooked.values():
                if getattr(x, "_hooks", None):
                    gx = apply_grad_hooks(x._hooks, gx, _Tensor)
                leaf_grad(x, gx)
                if not capture:
                    run_post_accumulate_hooks(x)
    finally:
        _slice_grads[0] = previous
        _sweeps.pop()
    if capture:
        return results
    if not _sweeps:  # not a backward run from inside another one's (checkpoint's)
        run_post_backward_callbacks()
    return None


_sweeps = []  # one entry per running backward sweep: whether it captures (autograd.grad)


class LocallyConstant(Function):
    """y = g, a gradient that a piecewise-linear op's VJP made, recorded also as a function
    of that op's inputs x₁…xₙ, constant near them.   VJP: gy for g, 0 for every xᵢ.

    Made by the backward sweep under ``create_graph=True`` for a Function marked
    ``piecewise_linear`` (ReLU, abs, clamp, where, max and max pooling: a Jacobian that is
    constant near any point where it exists): the gradient depends on the op's inputs only
    through that locally constant Jacobian, so its derivative in them is exactly 0, and
    PyTorch's such gradients carry that zero derivative: the second derivative of
    relu(x).sum() is 0 (here, before, ``autograd.grad`` raised "does not require grad":
    nothing had recorded the mask), and the biases of a ReLU layer get a zero gradient from
    a gradient penalty. Only marked Functions: an unrecorded gradient of anything else (a
    backward under ``once_differentiable``, say) still raises rather than pass for 0."""

    piecewise_linear = True  # (its Jacobian is constant: third derivatives link on)
    reads_inputs = False  # its backward needs no input's values

    def forward(self, xp, g, *xs):
        return g

    def backward(self, gy):
        from ..creation import zeros_like

        return (gy,) + tuple(zeros_like(x) for x in self.inputs[1:])


def _locally_constant(gx, xs):
    """``gx`` recorded by :class:`LocallyConstant` on those of ``xs`` that require grad."""
    parents = [x for x in xs if getattr(x, "requires_grad", False)]
    return LocallyConstant()(gx, *parents) if parents else gx


def in_capturing_backward() -> bool:
    """Whether the innermost running backward is an ``autograd.grad`` (it returns
    gradients instead of accumulating them into ``.grad``)."""
    return bool(_sweeps) and _sweeps[-1]


_post_backward_callbacks = []


def queue_callback(fn) -> None:
    """Run ``fn()`` once, when the next ``Tensor.backward`` has filled every ``.grad``
    (used by DistributedDataParallel to average gradients; not run by autograd.grad)."""
    _post_backward_callbacks.append(fn)
