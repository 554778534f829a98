"""The public functions of a minigrad module that take one or two tensors: what the
error fuzz (test_error_fuzz.py) and the extreme-input parity audit (test_extreme_parity.py)
call."""
import inspect
import warnings

import numpy as np

# state setters, file I/O: not functions of their tensor arguments
STATEFUL = {"manual_seed", "seed", "set_default_dtype", "save", "load", "compile",
            "set_printoptions", "use_deterministic_algorithms", "set_rng_state",
            "set_grad_enabled", "set_default_device", "set_anomaly_enabled", "fork_rng"}


def tensor_functions(module, skip=STATEFUL):
    """(name, function, number of required positional arguments, 1 or 2) for the public
    functions of ``module``: its __all__, or (``minigrad`` itself) what it holds, defined
    in minigrad, without a required keyword-only argument."""
    for name in sorted(getattr(module, "__all__", dir(module))):
        fn = getattr(module, name, None)
        if name.startswith("_") or name in skip or not inspect.isfunction(fn) \
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
            yield name, fn, len(required)


# the grid of the extreme-input audits: every pair of it for two-tensor functions
EXTREMES = [-np.inf, -1e308, -1e30, -800.0, -709.0, -100.0, -20.0, -1.0, -0.5, -1e-300, -0.0,
            0.0, 1e-300, 1e-8, 0.5, 1.0, 20.0, 100.0, 709.0, 800.0, 1e30, 1e308, np.inf, np.nan]
# random draws, creation and type queries: not functions of their inputs' values; and the
# grid is not sorted (bucketize/searchsorted need sorted boundaries, argsort's order among
# equal elements is unspecified)
NOT_OF_VALUES = STATEFUL | {
    "dropout", "alpha_dropout", "feature_alpha_dropout", "rrelu", "bernoulli", "poisson",
    "multinomial", "normal", "rand_like", "randn_like", "randint_like", "empty_like",
    "gumbel_softmax", "dropout1d", "dropout2d", "dropout3d", "full_like", "zeros_like",
    "ones_like", "tensor", "as_tensor", "asarray", "from_numpy", "is_tensor", "numel",
    "is_floating_point", "is_complex", "is_nonzero", "typename", "scalar_tensor",
    "bucketize", "searchsorted", "argsort"}


def extreme_columns(n, dtype):
    """The grid as one column (n = 1) or its pairs as two, in ``dtype`` (±1e308 is ±inf in
    float32)."""
    grid = [np.array(EXTREMES)] if n == 1 else np.meshgrid(EXTREMES, EXTREMES, indexing="ij")
    with np.errstate(over="ignore"):
        return [g.ravel().astype(dtype) for g in grid]


def run_quietly(fn, args, cotangent=None):
    """``fn(*args)`` (the first output of a tuple) with warnings off, and, given
    ``cotangent`` (the output → the gradient to send back), the inputs' gradients."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = fn(*args)
        if isinstance(out, tuple):
            out = out[0]
        if cotangent is None:
            return out, None
        out.backward(cotangent(out))
        return out, [a.grad for a in args]
