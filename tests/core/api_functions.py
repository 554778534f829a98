"""The public functions of a minigrad module that take one or two tensors: what the
error fuzz (test_error_fuzz.py) and the extreme-input parity audit (test_extreme_parity.py)
call."""
import inspect

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
