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
import itertools
import traceback
import warnings
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
import minigrad.nn.functional as F

from .api_functions import tensor_functions

PACKAGE = str(Path(mg.__file__).parent)
MODULES = {"mg": mg, "F": F, "linalg": mg.linalg, "special": mg.special}
ALLOWED = (ValueError, TypeError, IndexError, RuntimeError, NotImplementedError,
           ZeroDivisionError, mg.linalg.LinAlgError)
SHAPES = [(), (3,), (2, 3), (0, 3)]


def _functions():
    """(name, function, number of tensors) for the public functions of MODULES."""
    for prefix, module in MODULES.items():
        for name, fn, n in tensor_functions(module):
            yield f"{prefix}.{name}", fn, n


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
