"""Result dtypes and values against PyTorch (skipped without it): every function of
``minigrad``, ``F``, ``linalg`` and ``special`` that PyTorch also has and that takes one or
two tensors, called on int64, bool, float16 and float32 tensors and on mixed pairs
(float32 with float64, float32 with int64). Where both return a tensor, the dtype and the
values must be PyTorch's; where PyTorch returns one, minigrad must too. The deliberate
departures are listed with their reasons; an entry that no longer differs must leave the
list. (Where PyTorch refuses and minigrad computes, minigrad extends PyTorch: not checked.)
Found at stop 27: hardtanh and relu6 of integers were float64, and bool.square() bool."""
import inspect
import warnings

import numpy as np
import pytest

torch = pytest.importorskip("torch")

import minigrad as mg  # noqa: E402
import minigrad.nn.functional as F  # noqa: E402

MODULES = [(mg, torch, "mg"), (F, torch.nn.functional, "F"), (mg.linalg, torch.linalg, "linalg"),
           (mg.special, torch.special, "special")]
# random draws, state and creation from shapes: not functions of their tensors' values
SKIP = {"manual_seed", "seed", "set_default_dtype", "save", "load", "compile",
        "set_printoptions", "use_deterministic_algorithms", "set_rng_state",
        "set_grad_enabled", "empty", "empty_like", "rand", "randn", "rand_like",
        "randn_like", "randint", "randint_like", "randperm", "normal", "bernoulli",
        "multinomial", "poisson", "dropout", "dropout1d", "dropout2d", "dropout3d",
        "alpha_dropout", "feature_alpha_dropout", "rrelu", "gumbel_softmax", "from_numpy",
        "tensor", "as_tensor", "initial_seed", "get_rng_state", "is_tensor", "numel",
        "is_floating_point", "is_complex", "is_nonzero", "set_default_device",
        "get_default_dtype", "result_type", "can_cast", "promote_types", "typename",
        "is_storage", "fork_rng"}
_X = np.array([[0.5, -0.25, 0.75], [0.125, 0.375, -0.625]])
KINDS = {
    "int64": (np.array([[1, -2, 3], [4, 5, -6]]),) * 2,
    "bool": (np.array([[True, False, True], [False, True, True]]),) * 2,
    "float16": (_X.astype(np.float16),) * 2,
    "float32": (_X.astype(np.float32),) * 2,
    "float32+float64": (_X.astype(np.float32), _X),
    "float32+int64": (_X.astype(np.float32), np.array([[1, 2, 3], [0, 1, 2]])),
}
SIGN_FREE = {"mg.svd", "linalg.svd"}  # compared up to the signs of the singular vectors
DEPARTURES = {
    "F.huber_loss[float32+float64]": "float64, the promoted dtype (PyTorch: the input's)",
    "F.soft_margin_loss[float32+float64]": "float64, the promoted dtype (PyTorch: the input's)",
    "F.poisson_nll_loss[int64]": "refuses an integer input (PyTorch computes exp(x) - y·x)",
    "mg.dist[float32+int64]": "refuses an integer operand (its documented check)",
}


def _cases():
    for ours, theirs, prefix in MODULES:
        for name in sorted(dir(ours)):
            fn, ref = getattr(ours, name), getattr(theirs, name, None)
            if name.startswith("_") or name in SKIP or ref is None or not callable(fn) \
                    or inspect.isclass(fn):
                continue
            try:
                params = inspect.signature(fn).parameters.values()
            except (TypeError, ValueError):
                continue
            n = len([p for p in params if p.default is inspect.Parameter.empty
                     and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)])
            if n in (1, 2):
                yield f"{prefix}.{name}", fn, ref, n


def _compare(fn, ref, arrays, sign_free=False):
    """What differs (a string), or None."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            want = ref(*[torch.tensor(a) for a in arrays])
        except Exception:  # noqa: BLE001 -- PyTorch refuses: minigrad may extend it
            return None
        try:
            got = fn(*[mg.tensor(a) for a in arrays])
        except Exception as e:  # noqa: BLE001
            return f"refuses ({type(e).__name__}: {e}) where PyTorch returns" \
                if isinstance(want, torch.Tensor) else None
    if isinstance(want, tuple) and isinstance(got, tuple):
        want, got = want[0], got[0]
    if not (isinstance(want, torch.Tensor) and isinstance(got, mg.Tensor)):
        return None
    a, b = got.numpy().astype(np.float64), want.detach().numpy().astype(np.float64)
    if sign_free:  # singular vectors: each is defined up to its sign
        a, b = np.abs(a), np.abs(b)
    if got.shape != tuple(want.shape) or not np.allclose(a, b, rtol=2e-3, atol=1e-3,
                                                         equal_nan=True):
        return f"values differ (shape {got.shape} vs {tuple(want.shape)})"
    if str(got.dtype) != str(want.dtype).replace("torch.", ""):
        return f"dtype {got.dtype} vs PyTorch's {want.dtype}"
    return None


def test_dtypes_and_values_are_pytorchs():
    found = {}
    for name, fn, ref, n in _cases():
        for kind, arrays in KINDS.items():
            if len(set(map(id, arrays))) > 1 and n < 2:
                continue  # a mixed pair needs two operands
            diff = _compare(fn, ref, arrays[:n], sign_free=name in SIGN_FREE)
            if diff:
                found[f"{name}[{kind}]"] = diff
    new = {k: v for k, v in found.items() if k not in DEPARTURES}
    assert not new, "\n".join(f"{k}: {v}" for k, v in sorted(new.items()))
    stale = sorted(set(DEPARTURES) - set(found))
    assert not stale, f"listed departures that no longer differ (remove them): {stale}"
