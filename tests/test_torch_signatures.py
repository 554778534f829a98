"""The API contract (shared/API.md): arguments keep PyTorch's names, order and defaults.

Every public function and class that minigrad and PyTorch both have, in the packages below,
is compared by signature with PyTorch's (skipped without PyTorch): the names of the
arguments, their order and their defaults. What differs on purpose is listed in DEPARTURES
with the reason, and the list must stay exact: a new difference fails, and so does an entry
that no longer differs (a fixed departure leaves the list). Python-level signatures only:
PyTorch's C++ builtins (``torch.add``) and catch-all wrappers (``*args, **kwargs``) have none
to compare.
"""
import importlib
import inspect

import pytest

torch = pytest.importorskip("torch")

import minigrad as mg  # noqa: E402

from .torch_oracle import before_2_14  # noqa: E402

# Deprecated or not-applicable PyTorch arguments that minigrad leaves out everywhere (see
# the docstrings): the legacy reductions, softmax's private _stacklevel, out= (minigrad's
# functions return new tensors), Hardtanh's deprecated min_value/max_value, and
# named_modules' remove_duplicate as modules() passes it.
IGNORED = {"size_average", "reduce", "_stacklevel", "out", "min_value", "max_value",
           "remove_duplicate"}

# package (after "minigrad." / "torch."): compare classes' __init__ and these methods
PACKAGES = ["", "nn", "nn.functional", "nn.init", "nn.utils", "nn.utils.prune",
            "nn.utils.parametrize", "optim", "optim.lr_scheduler", "optim.swa_utils",
            "autograd", "autograd.functional", "amp", "distributions", "special", "linalg",
            "random", "func"]
METHODS = ("forward", "step", "zero_grad", "state_dict", "load_state_dict",
           "add_param_group", "get_last_lr", "set_submodule", "update", "icdf", "cdf",
           "log_prob", "sample", "rsample", "entropy", "scale", "unscale_")

DEPARTURES = {
    # minigrad's own designs, documented where they live
    "mg.Tensor.backward": "retain_graph=False, as API.md writes it (PyTorch: None → create_graph)",
    "mg.meshgrid": "indexing='ij' spelled out (PyTorch: None, which warns and means 'ij')",
    "mg.vmap": "no randomness / chunk_size",
    "mg.from_dlpack": "no device / copy",
    "mg.load": "no pickle_module / mmap",
    "mg.save": "no pickle_module / pickle_protocol / zipfile switches",
    "nn.Transformer.__init__": "activation='relu' (PyTorch: F.relu; both accept either)",
    "nn.TransformerEncoderLayer.__init__": "activation='relu', as nn.Transformer",
    "nn.TransformerDecoderLayer.__init__": "activation='relu', as nn.Transformer",
    "nn.RNNCellBase.__init__": "a base class with its own arguments",
    "nn.utils.parametrize.ParametrizationList.__init__": "internal; no unsafe",
    "nn.utils.prune.global_unstructured": "pruning_method=L1Unstructured by default",
    "optim.LBFGS.__init__": "extra c1, c2 (the strong-Wolfe constants)",
    "optim.LBFGS.step": "closure=None raises a clear error (PyTorch: required)",
    "amp.autocast.__init__": "dtype first, as API.md writes it; device_type from the tensors",
    "amp.custom_fwd": "device_type='cuda' by default",
    "amp.custom_bwd": "device_type='cuda' by default",
    "autograd.backward": "no deprecated grad_variables",
    "autograd.grad": "no only_inputs / is_grads_batched",
    "autograd.functional.jacobian": "no strict / vectorize / strategy",
    "autograd.functional.hessian": "no strict / vectorize / outer_jacobian_strategy",
    "autograd.functional.vjp": "no strict",
    "autograd.functional.jvp": "v required; no strict",
    "autograd.functional.vhp": "v required; no strict",
    "autograd.functional.hvp": "v required; no strict",
    "func.functional_call": "args=() default; no tie_weights / strict",
    "func.jacfwd": "no has_aux / randomness",
    "func.jacrev": "no has_aux / chunk_size",
    "func.jvp": "no strict / has_aux",
    "func.vmap": "no randomness / chunk_size",
}
# PyTorch 2.14 gave Gamma's sample and rsample (Chi2's through it) a generator argument,
# which minigrad has too; before 2.14 that is an extra argument on minigrad's side.
if before_2_14(torch):
    DEPARTURES.update({f"distributions.Chi2.{m}": "generator= as in PyTorch 2.14"
                       for m in ("sample", "rsample")})


def _params(fn):
    try:
        sig = inspect.signature(fn)
    except (TypeError, ValueError):
        return None
    return [p for p in sig.parameters.values() if p.name != "self"]


def _difference(ours, theirs):
    """What differs between minigrad's ``ours`` and PyTorch's ``theirs`` (None: nothing, or
    nothing that can be compared)."""
    a, b = _params(ours), _params(theirs)
    if a is None or b is None:
        return None
    var = (inspect.Parameter.VAR_POSITIONAL, inspect.Parameter.VAR_KEYWORD)
    if any(p.kind in var for p in b) and not [p for p in b if p.kind not in var]:
        return None  # PyTorch's is a catch-all wrapper
    ours_take_rest = any(p.kind in var for p in a)
    an = [p.name for p in a if p.kind not in var and p.name not in IGNORED]
    bn = [p.name for p in b if p.kind not in var and p.name not in IGNORED]
    problems = []
    missing = [n for n in bn if n not in an]
    if missing and not ours_take_rest:
        problems.append(f"missing {missing}")
    extra = [n for n in an if n not in bn]
    if extra and not any(p.kind in var for p in b):
        problems.append(f"extra {extra}")
    common = [n for n in bn if n in an]
    if [n for n in an if n in common] != common:
        problems.append(f"order {an} vs {bn}")
    da, db = {p.name: p.default for p in a}, {p.name: p.default for p in b}
    for n in common:
        if not _same_default(da[n], db[n]):
            problems.append(f"default of {n}: {da[n]!r} vs {db[n]!r}")
    return "; ".join(problems) or None


def _same_default(x, y):
    """Equal defaults: the same text, or equal values of the same kind (0.1 and 1e-1,
    () and torch.Size([])); True and 1 differ."""
    if repr(x) == repr(y):
        return True
    if isinstance(x, bool) or isinstance(y, bool):
        return False
    try:
        same = x == y
    except Exception:  # noqa: BLE001 -- incomparable defaults differ
        return False
    return same if isinstance(same, bool) else False


def _pairs():
    """(name, minigrad callable, PyTorch callable) for everything both packages have."""
    seen = set()
    for pkg in PACKAGES:
        try:
            ours = importlib.import_module("minigrad" + ("." + pkg if pkg else ""))
            theirs = importlib.import_module("torch" + ("." + pkg if pkg else ""))
        except ImportError:
            continue
        prefix = pkg or "mg"
        for name in sorted(dir(ours)):
            if name.startswith("_"):
                continue
            a, b = getattr(ours, name), getattr(theirs, name, None)
            if b is None or inspect.ismodule(a) or not callable(a):
                continue
            if inspect.isclass(a) and inspect.isclass(b):
                if a.__init__ is not object.__init__ and b.__init__ is not object.__init__:
                    yield f"{prefix}.{name}.__init__", a.__init__, b.__init__
                for meth in METHODS:
                    fa, fb = getattr(a, meth, None), getattr(b, meth, None)
                    if not (callable(fa) and callable(fb)):
                        continue
                    owner = next(c for c in a.__mro__ if meth in vars(c))
                    key = (owner, meth)
                    if key in seen:  # an inherited method is compared once, by its owner
                        continue
                    seen.add(key)
                    where = "Module" if owner is mg.nn.Module else f"{prefix}.{name}"
                    yield f"{where}.{meth}", fa, fb
            elif not inspect.isclass(a) and not inspect.isclass(b):
                yield f"{prefix}.{name}", a, b
    for name in sorted(dir(mg.Tensor)):
        a, b = getattr(mg.Tensor, name), getattr(torch.Tensor, name, None)
        if not name.startswith("_") and callable(a) and b is not None:
            yield f"mg.Tensor.{name}", a, b


def test_arguments_are_pytorchs_or_a_listed_departure():
    found = {}
    for name, ours, theirs in _pairs():
        diff = _difference(ours, theirs)
        if diff is not None and name not in found:
            found[name] = diff
    new = {k: v for k, v in found.items() if k not in DEPARTURES}
    assert not new, "arguments that differ from PyTorch's:\n" + "\n".join(
        f"  {k}: {v}" for k, v in sorted(new.items()))
    stale = sorted(set(DEPARTURES) - set(found))
    assert not stale, f"listed departures that no longer differ (remove them): {stale}"


def test_the_comparison_sees_a_difference():
    def f(input, target, reduction="mean"):
        pass

    def g(input, target, reduction="sum", weight=None):
        pass

    assert _difference(f, g) == "missing ['weight']; default of reduction: 'mean' vs 'sum'"
    assert _difference(g, g) is None
