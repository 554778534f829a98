"""Bad input gets a clear error from minigrad, never a traceback from deep inside NumPy.

Every public function of ``minigrad``, ``minigrad.nn.functional``, ``minigrad.linalg`` and
``minigrad.special`` that takes one or two tensors is called with every pair drawn from
0-d, 1-d, 2-d and empty tensors, of float64 and of int64 values. Whatever it does, it must
either return or raise one of the errors minigrad raises for bad input, from minigrad's own
code (the last frame of the traceback is in the package). Found at stop 27 this way: glu,
split, chunk, unbind and cross of a 0-d tensor, lstsq with a 0-d right-hand side, pad of a
0-d tensor, cond of an empty matrix -- and, beside the errors, the normalizations' integer
results (tests/core/test_audit_fixes_stop27.py).
"""
import inspect
import itertools
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

PACKAGE = str(Path(mg.__file__).parent)
MODULES = {"mg": mg, "F": F, "linalg": mg.linalg, "special": mg.special}
# state setters, file I/O and random draws: not functions of their tensor arguments
SKIP = {"manual_seed", "seed", "set_default_dtype", "save", "load", "compile",
        "set_printoptions", "use_deterministic_algorithms", "set_rng_state",
        "set_grad_enabled", "set_default_device", "set_anomaly_enabled", "fork_rng"}
ALLOWED = (ValueError, TypeError, IndexError, RuntimeError, NotImplementedError,
           ZeroDivisionError, mg.linalg.LinAlgError)
SHAPES = [(), (3,), (2, 3), (0, 3)]


def _functions():
    """(name, function, number of tensors) for the public functions: a module's __all__,
    or (``minigrad`` itself) the functions of the package it holds."""
    for prefix, module in MODULES.items():
        for name in sorted(getattr(module, "__all__", dir(module))):
            fn = getattr(module, name)
            if name.startswith("_") or name in SKIP or not inspect.isfunction(fn) \
                    or not fn.__module__.startswith("minigrad"):
                continue
            try:
                params = list(inspect.signature(fn).parameters.values())
            except (TypeError, ValueError):
                continue
            required = [p for p in params if p.default is inspect.Parameter.empty
                        and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
            keyword_only = [p for p in params if p.default is inspect.Parameter.empty
                            and p.kind is p.KEYWORD_ONLY]
            if 1 <= len(required) <= 2 and not keyword_only:
                yield f"{prefix}.{name}", fn, len(required)


FUNCTIONS = list(_functions())


def _tensor(shape, dtype, rng):
    return mg.tensor((rng.standard_normal(shape) * 3).astype(dtype))


def test_the_fuzz_reaches_the_api():
    assert len(FUNCTIONS) > 300  # (a broken discovery would pass everything below)


@pytest.mark.parametrize("dtype", [np.float64, np.int64], ids=["float64", "int64"])
@pytest.mark.parametrize("module", sorted(MODULES))
def test_bad_shapes_and_dtypes_get_minigrads_errors(module, dtype):
    rng = np.random.default_rng(0)
    escaped = []
    for name, fn, n_args in FUNCTIONS:
        if not name.startswith(module + "."):
            continue
        for shapes in itertools.product(SHAPES, repeat=n_args):
            args = [_tensor(s, dtype, rng) for s in shapes]
            try:
                with warnings.catch_warnings():
                    warnings.simplefilter("ignore")
                    fn(*args)
            except ALLOWED as e:
                where = traceback.extract_tb(e.__traceback__)[-1].filename
                if not where.startswith(PACKAGE):
                    escaped.append(f"{name}{shapes}: {type(e).__name__} from {where}: {e}")
            except Exception as e:  # noqa: BLE001 -- any other error is what we look for
                escaped.append(f"{name}{shapes}: {type(e).__name__}: {e}")
    assert not escaped, "\n".join(escaped[:40])
