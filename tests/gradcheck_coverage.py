"""Which autograd Functions the test suite checks numerically: an opt-in pytest plugin.

    python -m pytest -p tests.gradcheck_coverage [-n 2] [tests ...]

records, in every test process, the Function classes that run inside ``gradcheck`` or
``gradgradcheck`` (anything that reaches ``minigrad.gradcheck._check``), and at the end
lists minigrad's Function classes that never did, beside the ones known not to need it
(``EXPECTED``, with the reason). "Every differentiable op passes gradcheck" is then a
measurement, not a hope: a new Function that no test gradchecks shows up here. Off by
default (it wraps ``Function.__call__``, a few percent slower).
"""
from __future__ import annotations

import importlib
import json
import os
import pkgutil
import sys
import tempfile
from pathlib import Path

# Function classes that gradcheck does not reach, and why that is right.
EXPECTED = {
    "minigrad.nn.conv._ConvFunction": "a base class (Conv1d/2d/3d's Functions are checked)",
    "minigrad.nn.conv._ConvGradInput": "a base class (the concrete ones are checked)",
    "minigrad.nn.conv._ConvGradWeight": "a base class (the concrete ones are checked)",
    "minigrad.ops.elementwise._LogBase": "a base class (Log2, Log10 are checked)",
    "minigrad.ops.elementwise._Step": "a base class (Sign, Floor... are checked)",
    "minigrad.ops.reduction._Extremum": "a base class (Amax, Amin are checked)",
    "minigrad.nn.normalization._RowNormFunction":
        "a base class (LayerNormFunction, RMSNormFunction are checked)",
    "minigrad.ops.shape.ToDevice": "a copy between devices: needs a GPU (test_backends)",
    "minigrad.distributed.functional.AllReduceSum": "MPI's allreduce: the MPI tests",
    "minigrad.quantization.FakeQuantizeFunction":
        "a straight-through estimator: its gradient is by design not the derivative",
    "minigrad.distributions._StandardGamma":
        "a sampler: its implicit reparameterization is checked against the CDF",
    "minigrad.distributions._StandardGammaGrad": "the same sampler's derivative",
    "minigrad.utils.checkpoint._CheckpointFunction":
        "the reentrant checkpoint refuses autograd.grad, as PyTorch's: compared with the "
        "plain graph (the non-reentrant one is gradchecked)",
    "minigrad.autograd.custom_function._Node":
        "the node of every PyTorch-style Function: counted as the Function it runs",
}

_SEEN: set[str] = set()
_DEPTH = [0]
_DIR_ENV = "MINIGRAD_GRADCHECK_COVERAGE_DIR"


def _name(cls):
    return f"{cls.__module__}.{cls.__qualname__}"


def _install():
    """Wrap ``gradcheck``'s core and ``Function.__call__`` to note the classes that run
    inside a check."""
    import minigrad  # noqa: F401  (loads minigrad.gradcheck, shadowed by the function)
    from minigrad.autograd import function

    checker = sys.modules["minigrad.gradcheck"]
    check, call = checker._check, function.Function.__call__

    def counted_check(*args, **kwargs):
        _DEPTH[0] += 1
        try:
            return check(*args, **kwargs)
        finally:
            _DEPTH[0] -= 1

    def noting_call(self, *args, **kwargs):
        if _DEPTH[0]:  # a PyTorch-style Function runs as a node that holds its class
            _SEEN.add(_name(getattr(self, "cls", None) or type(self)))
        return call(self, *args, **kwargs)

    checker._check = counted_check
    function.Function.__call__ = noting_call


def all_functions():
    """Every Function subclass defined in minigrad (its modules imported first)."""
    import minigrad
    from minigrad.autograd.function import Function
    from minigrad.autograd.profiler import _subclasses

    for info in pkgutil.walk_packages(minigrad.__path__, "minigrad."):
        if "__main__" in info.name:
            continue
        try:
            importlib.import_module(info.name)
        except ImportError:  # an optional dependency missing (mpi4py, cupy): its Functions
            continue         # are not defined, so not counted either
    return sorted(_name(c) for c in _subclasses(Function)
                  if c.__module__.startswith("minigrad"))


def pytest_configure(config):
    if not hasattr(config, "workerinput"):  # the controller (or a run without xdist)
        os.environ.setdefault(_DIR_ENV, tempfile.mkdtemp(prefix="gradcheck-coverage-"))
    _install()


def pytest_sessionfinish(session):
    worker = getattr(session.config, "workerinput", {}).get("workerid", "main")
    folder = os.environ.get(_DIR_ENV)
    if folder:
        Path(folder, f"{worker}.json").write_text(json.dumps(sorted(_SEEN)))


def pytest_terminal_summary(terminalreporter, config):
    if hasattr(config, "workerinput"):
        return
    seen = set()
    for f in Path(os.environ[_DIR_ENV]).glob("*.json"):
        seen |= set(json.loads(f.read_text()))
    every = all_functions()
    missing = [f for f in every if f not in seen and f not in EXPECTED]
    write = terminalreporter.write_line
    write(f"gradcheck coverage: {len(every)} Function classes, {len(seen & set(every))} "
          f"run inside gradcheck/gradgradcheck, {len(EXPECTED)} expected not to")
    for name in missing:
        write(f"  not gradchecked: {name}")
    if not missing:
        write("  every other Function class was gradchecked")
