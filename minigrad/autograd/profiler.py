"""A profiler of minigrad's ops (PyTorch's ``torch.autograd.profiler.profile`` /
``torch.profiler.profile`` in their simplest use): which ops a piece of code runs, how
often, and where the time goes, forward and backward.

    with mg.autograd.profiler.profile() as prof:
        loss = model(x).sum()
        loss.backward()
    print(prof.key_averages().table(sort_by="self_cpu_time_total", row_limit=10))
    prof.export_chrome_trace("trace.json")     # open in chrome://tracing or Perfetto

Each op's forward is one event named after its Function (``Conv2dFunction``), its backward
another (``Conv2dFunctionBackward``). *Self* time excludes the ops an event runs inside
(a backward is written in Tensor ops, so it runs other ops' forwards: their time is
theirs), *total* time includes them. ``record_function("name")`` adds a labelled event
around any block. With ``use_cuda=True`` every event waits for the GPU before it is timed
(slower, but the times are the kernels', not just their launches).

Nothing is changed while no profiler is active: entering one wraps the ops' methods,
leaving it restores them.
"""
from __future__ import annotations

import functools
import json
import time
from collections import defaultdict
from dataclasses import dataclass, field

from .function import Function

__all__ = ["profile", "record_function", "EventList", "FunctionEventAvg"]

_active = []  # the profilers in use (innermost last); events go to each


@dataclass
class FunctionEvent:
    name: str
    start: float           # seconds, perf_counter
    end: float
    self_time: float
    shapes: tuple = ()

    @property
    def total_time(self):
        return self.end - self.start


@dataclass
class FunctionEventAvg:
    """The events of one name (and input shapes, when grouped by them)."""
    key: str
    count: int = 0
    cpu_time_total: float = 0.0        # seconds
    self_cpu_time_total: float = 0.0
    input_shapes: tuple = field(default=())

    @property
    def cpu_time(self):
        return self.cpu_time_total / self.count if self.count else 0.0


class EventList(list):
    """A list of :class:`FunctionEventAvg`, with a printable table."""

    def table(self, sort_by="self_cpu_time_total", row_limit=100):
        if sort_by not in ("self_cpu_time_total", "cpu_time_total", "count", "cpu_time"):
            raise ValueError(f"table: cannot sort by {sort_by!r}")
        rows = sorted(self, key=lambda e: getattr(e, sort_by), reverse=True)[:row_limit]
        total = sum(e.self_cpu_time_total for e in self) or 1.0
        shapes = any(e.input_shapes for e in rows)
        width = max([len("Name")] + [len(e.key) for e in rows])
        head = (f"{'Name':<{width}}  {'Self CPU %':>10}  {'Self CPU':>10}  "
                f"{'CPU total':>10}  {'# of Calls':>10}")
        if shapes:
            head += "  Input Shapes"
        lines = [head, "-" * len(head)]
        for e in rows:
            line = (f"{e.key:<{width}}  {100 * e.self_cpu_time_total / total:>9.2f}%  "
                    f"{_ms(e.self_cpu_time_total):>10}  {_ms(e.cpu_time_total):>10}  "
                    f"{e.count:>10}")
            if shapes:
                line += f"  {list(e.input_shapes)}"
            lines.append(line)
        lines.append(f"Self CPU time total: {_ms(total)}")
        return "\n".join(lines)

    def __str__(self):
        return self.table()


def _ms(seconds):
    return f"{seconds * 1e3:.3f}ms"


class profile:
    """Context manager recording the ops run inside it (see the module docstring)."""

    def __init__(self, enabled=True, *, use_cuda=False, record_shapes=False):
        self.enabled, self.use_cuda, self.record_shapes = enabled, use_cuda, record_shapes
        self.events = []
        self._open = []        # child time of each open event (innermost last)
        self._patched = []

    # ---------------------------------------------------------------- recording
    def _sync(self):
        if self.use_cuda:
            from .._backend import cupy

            cupy().cuda.Device().synchronize()

    def _begin(self):
        self._sync()
        self._open.append(0.0)
        return time.perf_counter()

    def _end(self, name, start, shapes=()):
        self._sync()
        end = time.perf_counter()
        inner = self._open.pop()
        if self._open:
            self._open[-1] += end - start
        self.events.append(FunctionEvent(name, start, end, end - start - inner, shapes))

    def __enter__(self):
        if not self.enabled:
            return self
        if _active:
            raise RuntimeError("profile: a profiler is already running")
        _active.append(self)
        self._t0 = time.perf_counter()
        call = Function.__call__
        self._patched.append((Function, "__call__", call))
        prof = self

        @functools.wraps(call)
        def timed_call(fn, *inputs):
            start = prof._begin()
            try:
                return call(fn, *inputs)
            finally:
                shapes = tuple(tuple(getattr(x, "shape", ())) for x in inputs) \
                    if prof.record_shapes else ()
                prof._end(fn.name, start, shapes)

        Function.__call__ = timed_call
        for cls in _subclasses(Function):
            backward = cls.__dict__.get("backward")
            if backward is not None:
                self._patched.append((cls, "backward", backward))
                cls.backward = _timed_backward(backward, self)
        return self

    def __exit__(self, *exc):
        for cls, name, original in reversed(self._patched):
            setattr(cls, name, original)
        self._patched.clear()
        if self in _active:
            _active.remove(self)
        self._t1 = time.perf_counter()
        return False

    # ---------------------------------------------------------------- results
    def key_averages(self, group_by_input_shape=False):
        """One :class:`FunctionEventAvg` per op name (and input shapes)."""
        groups = defaultdict(lambda: None)
        for e in self.events:
            key = (e.name, e.shapes if group_by_input_shape else ())
            avg = groups[key]
            if avg is None:
                avg = groups[key] = FunctionEventAvg(e.name, input_shapes=key[1])
            avg.count += 1
            avg.cpu_time_total += e.total_time
            avg.self_cpu_time_total += e.self_time
        return EventList(groups.values())

    def table(self, sort_by="self_cpu_time_total", row_limit=100):
        return self.key_averages().table(sort_by, row_limit)

    @property
    def self_cpu_time_total(self):
        return sum(e.self_time for e in self.events)

    def export_chrome_trace(self, path):
        """The events as a Chrome trace (``chrome://tracing``, Perfetto): one complete
        event ("X") per op, times in microseconds from the profiler's start."""
        t0 = getattr(self, "_t0", 0.0)
        trace = [{"name": e.name, "ph": "X", "pid": 0, "tid": 0, "cat": "op",
                  "ts": (e.start - t0) * 1e6, "dur": e.total_time * 1e6,
                  **({"args": {"Input Shapes": [list(s) for s in e.shapes]}}
                     if e.shapes else {})}
                 for e in sorted(self.events, key=lambda e: e.start)]
        with open(path, "w", encoding="utf-8") as f:
            json.dump({"traceEvents": trace, "displayTimeUnit": "ms"}, f)


def _timed_backward(backward, prof):
    @functools.wraps(backward)
    def timed(fn, *args, **kwargs):
        start = prof._begin()
        try:
            return backward(fn, *args, **kwargs)
        finally:
            prof._end(f"{fn.name}Backward", start)
    return timed


def _subclasses(cls):
    seen, stack = set(), [cls]
    while stack:
        c = stack.pop()
        for s in c.__subclasses__():
            if s not in seen:
                seen.add(s)
                stack.append(s)
    return seen


class record_function:
    """A labelled event around a block (or a decorated function) while a profiler runs;
    nothing otherwise."""

    def __init__(self, name):
        self.name = name

    def __enter__(self):
        self._prof = _active[-1] if _active else None
        if self._prof is not None:
            self._start = self._prof._begin()
        return self

    def __exit__(self, *exc):
        if self._prof is not None:
            self._prof._end(self.name, self._start)
        return False

    def __call__(self, fn):
        @functools.wraps(fn)
        def wrapper(*args, **kwargs):
            with record_function(self.name):
                return fn(*args, **kwargs)
        return wrapper
