r"""Fused optimizer steps: one elementwise kernel per update rule, one launch per group.

Why
---
The pure update functions (``adam_update`` and friends) are written with whole-array
NumPy/CuPy operations: on a GPU each line is a kernel launch that reads and writes every
element again, and the optimizer loops over parameters in Python. Adam on one tensor is
about twelve launches and twenty passes over memory; on a model with a hundred tensors,
over a thousand launches a step. A *fused* step does the same arithmetic in one pass per
element (read θ, g and the state once, write them once) and, with every parameter of a
group packed into one flat buffer (*multi-tensor apply*), in one launch per group.

The kernel language
-------------------
Each update is written once, as a :class:`Program`: a list of statements
``name = expression`` in Python syntax, built from + − × ÷, unary minus, numbers and the
functions ``sqrt``, ``sign``, ``maximum`` and ``clip``. The same statements are

* translated to the body of a ``cupy.ElementwiseKernel`` (CUDA C++, compiled on first
  use, memoized per program and dtype, built with ``--fmad=false`` so that no multiply
  and add are contracted into an FMA: every operation rounds as the unfused code does);
* evaluated with NumPy, statement by statement over whole arrays (:meth:`Program.run`
  on NumPy arrays). That evaluation is the CPU path of the fused step and the reference
  the tests compare with the pure functions of ``minigrad/optim/*.py``.

The statements transcribe the pure function they replace *in its order of operations*
(``adam_update`` computes m ← g + β₁(m − g), so the program says ``m = m - g``,
``m = m * beta1``, ``m = m + g``), and the scalars (bias corrections, 1 − β, 1 − lr·λ)
are formed on the host in Python floats exactly as there. Hence the fused results equal
the pure functions' to the last bit on NumPy, and to dtype rounding on CUDA.

Multi-tensor apply
------------------
:class:`FlatParams` packs the parameters of a group into one contiguous buffer and
rebinds each ``p.data`` to a view of it; the gradients and every state array (``m``,
``v``, ...) get flat buffers too, and ``optimizer.state[p]`` holds views of those.
Checkpoints (``state_dict``) and the per-parameter path therefore see the same memory.
A gradient that is not already a view of the flat gradient buffer is copied into it
(and the Tensor's ``.data`` rebound to the view), so after the first step
``zero_grad(set_to_none=False)`` keeps every later backward writing straight into the
flat buffer. ``zero_grad()`` (set_to_none=True) does too: the gradients become None and
the flat gradient a fresh buffer of zeros whose views wait as each parameter's gradient
slot, where the next backward writes the first gradient it gives that parameter
(:func:`minigrad.autograd.function.grad_slot`). Anything that rebinds ``p.data`` or
replaces a state array
(``load_state_dict``, ``Module.to``) is detected by identity and copied back in.

Using it
--------
``fused_step(optimizer, closure=None)`` takes one fused step of any optimizer listed in
:func:`fused_rules` (SGD, Adam, AdamW, AdaBelief, Lion, Sophia). Groups whose parameters
do not share one float32/float64 dtype and one device take the per-parameter path.
Parameters without a gradient are skipped (they split the launch into runs of
consecutive parameters, as do parameters at different step counts); a sparse gradient
takes the class's own per-parameter path (``_step_param``).

The optimizer classes switch to it with PyTorch's keyword, ``Adam(params, fused=True)``
(stored in the defaults; ``step`` then calls ``fused_step(self, closure)``).

Notes
-----
* The fused path is meant for CUDA. On NumPy it is the reference evaluation (one
  whole-array operation per statement, with temporaries): exact, but slower than the
  per-parameter path, whose pure functions update in place.
* PyTorch's fused/foreach optimizers keep per-tensor storage and launch over lists of
  pointers; minigrad instead makes the parameters views of one buffer (the approach of
  Apex's "flat master params" and of ZeRO), which keeps the kernel a plain
  ``ElementwiseKernel``.
* Float16 parameters (updated through a float32 master in ``state["master"]``) are not
  packed: such groups take the per-parameter path.
"""
from __future__ import annotations

import ast
import functools
import math

import numpy as np

from minigrad._backend import get_array_module
from minigrad.dtypes import dtype_name

__all__ = [
    "Program", "FlatParams", "fused_step", "fused_zero_grad", "fused_rules", "rule_for",
    "sgd_program", "adam_program", "adabelief_program", "lion_program", "sophia_program",
    "sophia_hessian_ema_program",
]

# --------------------------------------------------------------------------- language

#: name in a program → (NumPy function, CUDA function defined in ``_PREAMBLE``)
_FUNCTIONS = {
    "sqrt": (np.sqrt, "sqrt"),
    "sign": (np.sign, "_mg_sign"),
    "maximum": (np.maximum, "_mg_maximum"),
    "clip": (np.clip, "_mg_clip"),
}

# NumPy's semantics, NaN included: sign(NaN) = NaN and sign(−0) = +0; maximum and clip
# propagate NaN.
_PREAMBLE = r"""
template <typename T> __device__ __forceinline__ T _mg_sign(T x) {
    return x > T(0) ? T(1) : (x < T(0) ? T(-1) : (x == x ? T(0) : x));
}
template <typename T> __device__ __forceinline__ T _mg_maximum(T a, T b) {
    return (a > b || a != a) ? a : b;
}
template <typename T> __device__ __forceinline__ T _mg_clip(T x, T lo, T hi) {
    return x < lo ? lo : (x > hi ? hi : x);
}
"""

_BINOPS = {ast.Add: "+", ast.Sub: "-", ast.Mult: "*", ast.Div: "/"}
_CTYPES = {"float32": "float", "float64": "double"}


class Program:
    r"""One fused elementwise update, written once as statements in Python syntax.

    Parameters
    ----------
    name : str
        Kernel name (appears in profiles).
    inputs : tuple of str
        Arrays read but not written (``g``). A statement may assign to an input's name:
        that makes a local copy (``g = -g``), the array is untouched.
    inouts : tuple of str
        Arrays updated in place (``theta``, ``m``, ``v``).
    scalars : tuple of str
        Per-launch numbers (``lr``, ``beta1``, ...), passed in the arrays' dtype.
    body : tuple of str
        Statements ``target = expression``.

    Examples
    --------
    >>> import numpy as np
    >>> p = Program("axpy", inputs=("g",), inouts=("theta",), scalars=("lr",),
    ...             body=("theta = theta - lr * g",))
    >>> print(p.cuda_source("float32"))
    theta = (theta - (lr * g));
    >>> theta = np.ones(3, np.float32)
    >>> p.run({"theta": theta, "g": np.arange(3, dtype=np.float32)}, {"lr": 0.5})
    >>> theta
    array([1. , 0.5, 0. ], dtype=float32)
    """

    def __init__(self, name, inputs, inouts, scalars, body):
        self.name = name
        self.inputs = tuple(inputs)
        self.inouts = tuple(inouts)
        self.scalars = tuple(scalars)
        self.body = tuple(body)
        self._statements = [self._parse(s) for s in self.body]
        self._check_names()
        self._numpy_code = [
            (target, compile(ast.Expression(value), f"<{name}>", "eval"))
            for target, value in self._statements
        ]
        self._kernels = {}

    # ------------------------------------------------------------------ parsing
    def _parse(self, statement):
        try:
            tree = ast.parse(statement, mode="exec")
        except SyntaxError as e:
            raise ValueError(f"{self.name}: cannot parse {statement!r}: {e.msg}") from None
        if (len(tree.body) != 1 or not isinstance(tree.body[0], ast.Assign)
                or len(tree.body[0].targets) != 1
                or not isinstance(tree.body[0].targets[0], ast.Name)):
            raise ValueError(f"{self.name}: {statement!r} is not a statement 'name = expr'")
        return tree.body[0].targets[0].id, tree.body[0].value

    def _check_names(self):
        defined = set(self.inputs) | set(self.inouts) | set(self.scalars)
        for target, value in self._statements:
            for node in ast.walk(value):
                if isinstance(node, ast.Call):
                    if not isinstance(node.func, ast.Name) or node.func.id not in _FUNCTIONS:
                        raise ValueError(f"{self.name}: unknown function in "
                                         f"{ast.unparse(node)!r}; allowed: "
                                         f"{', '.join(_FUNCTIONS)}")
                elif isinstance(node, ast.Name):
                    if node.id not in defined and node.id not in _FUNCTIONS:
                        raise ValueError(f"{self.name}: {node.id!r} is used before it is "
                                         "defined")
                elif not isinstance(node, (ast.BinOp, ast.UnaryOp, ast.Constant, ast.Load,
                                           ast.operator, ast.unaryop)):
                    raise ValueError(f"{self.name}: unsupported syntax "
                                     f"{type(node).__name__} in {ast.unparse(value)!r}")
                if isinstance(node, ast.BinOp) and type(node.op) not in _BINOPS:
                    raise ValueError(f"{self.name}: only + - * / are allowed, got "
                                     f"{ast.unparse(node)!r}")
                if isinstance(node, ast.UnaryOp) and not isinstance(node.op, ast.USub):
                    raise ValueError(f"{self.name}: only unary minus is allowed")
            if target in self.scalars:
                raise ValueError(f"{self.name}: cannot assign to the scalar {target!r}")
            defined.add(target)

    # ------------------------------------------------------------------ CUDA
    def cuda_source(self, dtype) -> str:
        """The ``operation`` string of the ElementwiseKernel for ``dtype``."""
        ctype = _CTYPES[np.dtype(dtype).name]
        lines, declared, rename = [], set(), {}
        for target, value in self._statements:
            expr = self._c_expr(value, rename, ctype)
            if target in self.inouts:
                lines.append(f"{target} = {expr};")
                continue
            # Inputs are const in an ElementwiseKernel: assigning to one makes a local.
            cname = target + "_" if target in self.inputs else target
            if cname in declared:
                lines.append(f"{cname} = {expr};")
            else:
                lines.append(f"{ctype} {cname} = {expr};")
                declared.add(cname)
            rename[target] = cname
        return "\n".join(lines)

    def _c_expr(self, node, rename, ctype):
        if isinstance(node, ast.BinOp):
            op = _BINOPS[type(node.op)]
            left = self._c_expr(node.left, rename, ctype)
            right = self._c_expr(node.right, rename, ctype)
            return f"({left} {op} {right})"
        if isinstance(node, ast.UnaryOp):
            return f"(-{self._c_expr(node.operand, rename, ctype)})"
        if isinstance(node, ast.Call):
            args = ", ".join(self._c_expr(a, rename, ctype) for a in node.args)
            return f"{_FUNCTIONS[node.func.id][1]}({args})"
        if isinstance(node, ast.Name):
            return rename.get(node.id, node.id)
        if isinstance(node, ast.Constant):
            return f"(({ctype}){float(node.value)!r})"
        raise AssertionError(node)  # excluded by _check_names

    def cuda_params(self, dtype):
        """``(in_params, out_params)`` of the ElementwiseKernel for ``dtype``."""
        name = np.dtype(dtype).name
        ins = [f"{name} {n}" for n in self.inputs + self.scalars]
        outs = [f"{name} {n}" for n in self.inouts]
        return ", ".join(ins), ", ".join(outs)

    def kernel(self, dtype):
        """The ``cupy.ElementwiseKernel`` for ``dtype`` (built on first use, memoized)."""
        name = np.dtype(dtype).name
        k = self._kernels.get(name)
        if k is None:
            from minigrad._backend import cupy

            in_params, out_params = self.cuda_params(name)
            k = cupy().ElementwiseKernel(
                in_params, out_params, self.cuda_source(name),
                f"minigrad_fused_{self.name}_{name}", preamble=_PREAMBLE,
                options=("--fmad=false",),
            )
            self._kernels[name] = k
        return k

    # ------------------------------------------------------------------ running
    def run(self, arrays, scalars):
        """Apply the update in place. ``arrays`` maps every input and in-out name to an
        array (all of one dtype, shape and device); ``scalars`` every scalar name to a
        number. CuPy arrays: one kernel launch; NumPy arrays: :meth:`run_numpy`."""
        first = arrays[self.inouts[0]]
        dtype = first.dtype
        if dtype_name(dtype) not in _CTYPES:
            raise TypeError(f"{self.name}: fused updates take float32 or float64 arrays, "
                            f"got {dtype}")
        for n in self.inputs + self.inouts:
            a = arrays[n]
            if a.dtype != dtype or a.shape != first.shape:
                raise ValueError(f"{self.name}: array {n!r} has dtype {a.dtype} and shape "
                                 f"{tuple(a.shape)}; expected {dtype} and "
                                 f"{tuple(first.shape)} like {self.inouts[0]!r}")
        if get_array_module(first) is np:
            self.run_numpy(arrays, scalars)
            return
        self.kernel(dtype)(*[arrays[n] for n in self.inputs],
                           *[float(scalars[n]) for n in self.scalars],
                           *[arrays[n] for n in self.inouts])

    def run_numpy(self, arrays, scalars):
        """The statements evaluated with NumPy, one whole-array operation per operator,
        scalars in the arrays' dtype (as the kernel receives them)."""
        dtype = arrays[self.inouts[0]].dtype
        env = {n: arrays[n] for n in self.inputs + self.inouts}
        env.update({n: dtype.type(scalars[n]) for n in self.scalars})
        functions = {"__builtins__": {}, **{k: f for k, (f, _) in _FUNCTIONS.items()}}
        for target, code in self._numpy_code:
            value = eval(code, functions, env)  # noqa: S307 - our own parsed statements
            if target in self.inouts:
                arrays[target][...] = value
            else:
                env[target] = value

    def __repr__(self):
        return f"Program({self.name!r}: " + "; ".join(self.body) + ")"


# --------------------------------------------------------------------------- programs
# Each builder transcribes the pure function named in its docstring, line by line.


@functools.cache
def sgd_program(maximize, decay, momentum, first, dampened, nesterov):
    """:func:`minigrad.optim.sgd.sgd_update`. ``first``: the buffer is created (b ← g)."""
    body, scalars = [], ["lr"]
    if maximize:
        body.append("g = -g")
    if decay:
        body.append("g = g + weight_decay * theta")
        scalars.append("weight_decay")
    inouts = ["theta"]
    if momentum:
        inouts.append("b")
        scalars.append("momentum")
        if first:
            body.append("b = g")
        else:
            body.append("b = b * momentum")
            if dampened:
                body.append("b = b + one_minus_dampening * g")
                scalars.append("one_minus_dampening")
            else:
                body.append("b = b + g")
        body.append("g = g + momentum * b" if nesterov else "g = b")
    body.append("theta = theta - lr * g")
    name = "sgd" + "".join(f"_{k}" for k, on in [("max", maximize), ("wd", decay), (
        "mom", momentum), ("first", first), ("damp", dampened), ("nag", nesterov)] if on)
    return Program(name, ("g",), tuple(inouts), tuple(dict.fromkeys(scalars)), tuple(body))


@functools.cache
def adam_program(maximize, coupled_decay, decoupled_decay, amsgrad):
    """:func:`minigrad.optim.adam.adam_update` (AdamW: ``decoupled_decay``, as
    :func:`minigrad.optim.adamw.adamw_update`, which shrinks θ first)."""
    body, scalars = [], []
    if decoupled_decay:
        body.append("theta = theta * decay")                   # θ ← θ(1 − γλ)
        scalars.append("decay")
    if maximize:
        body.append("g = -g")
    if coupled_decay:
        body.append("g = g + weight_decay * theta")             # g ← g + λθ
        scalars.append("weight_decay")
    body += [
        "m = m - g", "m = m * beta1", "m = m + g",              # m ← g + β₁(m − g)
        "g2 = g * g", "g2 = g2 - v", "g2 = g2 * one_minus_beta2", "v = v + g2",
    ]
    inouts = ["theta", "m", "v"]
    if amsgrad:
        body += ["v_max = maximum(v_max, v)", "denom = sqrt(v_max)"]
        inouts.append("v_max")
    else:
        body.append("denom = sqrt(v)")
    body += ["denom = denom + eps_hat", "step = m / denom", "step = step * alpha_t",
             "theta = theta - step"]                            # θ ← θ − α_t·m/(√v + ε̂)
    scalars += ["beta1", "one_minus_beta2", "eps_hat", "alpha_t"]
    name = "adam" + "".join(f"_{k}" for k, on in [("max", maximize), ("l2", coupled_decay), (
        "wd", decoupled_decay), ("ams", amsgrad)] if on)
    return Program(name, ("g",), tuple(inouts), tuple(scalars), tuple(body))


@functools.cache
def adabelief_program(maximize, decay, decouple, branch):
    """:func:`minigrad.optim.adabelief.adabelief_update`; ``branch`` is ``"adam"`` (not
    rectified), ``"rect"`` (rectified, ρ_t > 5) or ``"sgd"`` (rectified, ρ_t ≤ 5)."""
    body, scalars = [], []
    if maximize:
        body.append("g = -g")
    if decay and decouple:
        body.append("theta = theta * decay")
        scalars.append("decay")
    elif decay:
        body.append("g = g + weight_decay * theta")
        scalars.append("weight_decay")
    body += [
        "m = m * beta1", "m = m + one_minus_beta1 * g",
        "residual = g - m", "residual = residual * residual",
        "residual = residual * one_minus_beta2",
        "s = s * beta2", "s = s + residual", "s = s + eps",
        "m_hat = m / bias_correction1",
    ]
    scalars += ["beta1", "one_minus_beta1", "beta2", "one_minus_beta2", "eps",
                "bias_correction1"]
    if branch == "adam":
        body += ["s_hat = s / bias_correction2", "denom = sqrt(s_hat)", "denom = denom + eps",
                 "m_hat = m_hat / denom", "m_hat = m_hat * lr"]
        scalars += ["bias_correction2", "lr"]
    elif branch == "rect":
        body += ["denom = sqrt(s)", "denom = denom + eps", "m_hat = m_hat / denom",
                 "m_hat = m_hat * step_size"]
        scalars.append("step_size")
    elif branch == "sgd":
        body.append("m_hat = m_hat * lr")
        scalars.append("lr")
    else:
        raise ValueError(f"adabelief_program: unknown branch {branch!r}")
    body.append("theta = theta - m_hat")
    name = "adabelief_" + branch + "".join(f"_{k}" for k, on in [
        ("max", maximize), ("wd" if decouple else "l2", decay)] if on)
    return Program(name, ("g",), ("theta", "m", "s"), tuple(scalars), tuple(body))


@functools.cache
def lion_program(maximize, decay):
    """:func:`minigrad.optim.lion.lion_update`."""
    body, scalars = [], ["beta1", "one_minus_beta1"]
    if maximize:
        body.append("g = -g")
    body += ["c = beta1 * m", "c = c + one_minus_beta1 * g", "u = sign(c)"]
    if decay:
        body.append("theta = theta * decay")
        scalars.append("decay")
    body += ["u = u * lr", "theta = theta - u", "m = m * beta2", "m = m + one_minus_beta2 * g"]
    scalars += ["lr", "beta2", "one_minus_beta2"]
    name = "lion" + "".join(f"_{k}" for k, on in [("max", maximize), ("wd", decay)] if on)
    return Program(name, ("g",), ("theta", "m"), tuple(scalars), tuple(body))


@functools.cache
def sophia_program(maximize, decay):
    """:func:`minigrad.optim.sophia.sophia_update` (``h`` is read only)."""
    body, scalars = [], ["beta1", "one_minus_beta1"]
    if maximize:
        body.append("g = -g")
    body += ["m = m * beta1", "m = m + one_minus_beta1 * g"]
    if decay:
        body.append("theta = theta * decay")
        scalars.append("decay")
    body += ["denom = maximum(rho * h, eps)", "ratio = clip(m / denom, -1.0, 1.0)",
             "theta = theta - lr * ratio"]
    scalars += ["rho", "eps", "lr"]
    name = "sophia" + "".join(f"_{k}" for k, on in [("max", maximize), ("wd", decay)] if on)
    return Program(name, ("g", "h"), ("theta", "m"), tuple(scalars), tuple(body))


@functools.cache
def sophia_hessian_ema_program():
    """:func:`minigrad.optim.sophia.hessian_ema`: h ← β₂h + (1 − β₂)ĥ."""
    return Program("sophia_hessian_ema", ("h_hat",), ("h",), ("beta2", "one_minus_beta2"),
                   ("h = h * beta2", "h = h + one_minus_beta2 * h_hat"))


# --------------------------------------------------------------------------- rules
# A rule tells fused_step, for one optimizer class: which state arrays are packed, which
# parameters may share a launch (run_key), the program, and the host-side scalars —
# computed in Python floats in the same way as the class's pure function.


class _Rule:
    #: state keys whose ``None`` means "zeros" (created on the fly, as the class does)
    fill_none = ()

    def keys(self, group):
        raise NotImplementedError

    def run_key(self, state, group):
        return None

    def program(self, group, run_key, t):
        raise NotImplementedError

    def scalars(self, group, t):
        raise NotImplementedError


class _SGDRule(_Rule):
    def keys(self, group):
        return ("b",) if group["momentum"] != 0 else ()

    def run_key(self, state, group):
        return group["momentum"] != 0 and state.get("b") is None  # the first momentum step

    def program(self, group, first, t):
        return sgd_program(bool(group["maximize"]), group["weight_decay"] != 0,
                           group["momentum"] != 0, bool(first), group["dampening"] != 0,
                           bool(group["nesterov"]))

    def scalars(self, group, t):
        return {"lr": float(group["lr"]), "weight_decay": float(group["weight_decay"]),
                "momentum": float(group["momentum"]),
                "one_minus_dampening": 1 - float(group["dampening"])}


class _AdamRule(_Rule):
    decoupled = False
    fill_none = ("m", "v", "v_max")

    def keys(self, group):
        return ("m", "v", "v_max") if group["amsgrad"] else ("m", "v")

    def run_key(self, state, group):
        return state["step"]

    def program(self, group, run_key, t):
        decay = group["weight_decay"] != 0
        return adam_program(bool(group["maximize"]), decay and not self.decoupled,
                            decay and self.decoupled, bool(group["amsgrad"]))

    def scalars(self, group, t):
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        sqrt_bias_correction2 = math.sqrt(1 - beta2 ** t)      # as adam_update
        return {"decay": 1 - lr * wd, "weight_decay": wd, "beta1": beta1,
                "one_minus_beta2": 1 - beta2,
                "alpha_t": lr * sqrt_bias_correction2 / (1 - beta1 ** t),
                "eps_hat": eps * sqrt_bias_correction2}


class _AdamWRule(_AdamRule):
    decoupled = True


class _AdaBeliefRule(_Rule):
    fill_none = ("m", "s")

    def keys(self, group):
        return ("m", "s")

    def run_key(self, state, group):
        return state["step"]

    def _branch(self, group, t):
        if not group["rectify"]:
            return "adam", None
        beta2 = float(group["betas"][1])
        bias_correction2 = 1 - beta2 ** t                      # as adabelief_update
        rho_inf = 2 / (1 - beta2) - 1
        rho_t = rho_inf - 2 * t * beta2 ** t / bias_correction2
        if rho_t > 5:
            r_t = math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf
                            / ((rho_inf - 4) * (rho_inf - 2) * rho_t))
            return "rect", r_t
        return "sgd", None

    def program(self, group, run_key, t):
        branch, _ = self._branch(group, t)
        return adabelief_program(bool(group["maximize"]), group["weight_decay"] != 0,
                                 bool(group["weight_decouple"]), branch)

    def scalars(self, group, t):
        lr, eps, wd = float(group["lr"]), float(group["eps"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        bias_correction2 = 1 - beta2 ** t
        _, r_t = self._branch(group, t)
        step_size = lr * r_t * math.sqrt(bias_correction2) if r_t is not None else 0.0
        return {"decay": 1 - lr * wd, "weight_decay": wd, "beta1": beta1,
                "one_minus_beta1": 1 - beta1, "beta2": beta2, "one_minus_beta2": 1 - beta2,
                "eps": eps, "bias_correction1": 1 - beta1 ** t,
                "bias_correction2": bias_correction2, "lr": lr, "step_size": step_size}


class _LionRule(_Rule):
    fill_none = ("m",)

    def keys(self, group):
        return ("m",)

    def program(self, group, run_key, t):
        return lion_program(bool(group["maximize"]), group["weight_decay"] != 0)

    def scalars(self, group, t):
        lr, wd = float(group["lr"]), float(group["weight_decay"])
        beta1, beta2 = (float(b) for b in group["betas"])
        return {"lr": lr, "decay": 1 - lr * wd, "beta1": beta1, "one_minus_beta1": 1 - beta1,
                "beta2": beta2, "one_minus_beta2": 1 - beta2}


class _SophiaRule(_Rule):
    fill_none = ("m", "h")

    def keys(self, group):
        return ("m", "h")

    def program(self, group, run_key, t):
        return sophia_program(bool(group["maximize"]), group["weight_decay"] != 0)

    def scalars(self, group, t):
        lr, wd = float(group["lr"]), float(group["weight_decay"])
        beta1 = float(group["betas"][0])
        return {"lr": lr, "decay": 1 - lr * wd, "beta1": beta1, "one_minus_beta1": 1 - beta1,
                "rho": float(group["rho"]), "eps": float(group["eps"])}


def _rules():
    from .adabelief import AdaBelief
    from .adam import Adam
    from .adamw import AdamW
    from .lion import Lion
    from .sgd import SGD
    from .sophia import Sophia

    return {SGD: _SGDRule(), Adam: _AdamRule(), AdamW: _AdamWRule(),
            AdaBelief: _AdaBeliefRule(), Lion: _LionRule(), Sophia: _SophiaRule()}


@functools.cache
def fused_rules():
    """Optimizer class → its fused rule (SGD, Adam, AdamW, AdaBelief, Lion, Sophia). Built
    on first use: the optimizer modules are imported late."""
    return _rules()


def rule_for(optimizer):
    """The fused rule of ``optimizer``'s class, or ``TypeError``. A subclass qualifies only
    if it keeps its base's update (``_update``), so an overridden rule is never replaced
    by its parent's kernel."""
    rules = fused_rules()
    for cls in type(optimizer).__mro__:
        if cls in rules:
            if type(optimizer)._update is not cls._update:
                break
            return rules[cls]
    names = ", ".join(sorted(c.__name__ for c in rules))
    raise TypeError(f"{type(optimizer).__name__} has no fused update; fused steps exist for "
                    f"{names}")


# --------------------------------------------------------------------------- flat params


class FlatParams:
    r"""The parameters of one group packed into one flat buffer (multi-tensor apply).

    On construction every ``p.data`` is copied into ``self.theta`` (1-D, contiguous) and
    rebound to its view, so the group's parameters *are* one array; ``self.grad`` and one
    buffer per state key (:meth:`buffer`) are laid out the same way.

    Parameters
    ----------
    params : list of Tensor
        Leaves of one dtype (float32 or float64) on one device; see :meth:`unsupported`.

    Examples
    --------
    >>> import minigrad as mg
    >>> a, b = mg.ones(2, 2, requires_grad=True), mg.zeros(3, requires_grad=True)
    >>> flat = FlatParams([a, b])
    >>> flat.theta
    array([1., 1., 1., 1., 0., 0., 0.], dtype=float32)
    >>> a.data.base is flat.theta
    True
    """

    def __init__(self, params):
        params = list(params)
        reason = self.unsupported(params)
        if reason:
            raise ValueError(f"FlatParams: {reason}")
        first = params[0].data
        xp = get_array_module(first)
        self.xp = xp
        self.dtype = first.dtype
        self.params = params
        self.shapes = [tuple(p.data.shape) for p in params]
        sizes = [int(p.data.size) for p in params]
        self.offsets = [0]
        for n in sizes:
            self.offsets.append(self.offsets[-1] + n)
        total = self.offsets[-1]
        self.theta = xp.empty(total, dtype=self.dtype)
        self.grad = xp.zeros(total, dtype=self.dtype)
        self._buffers = {}
        self._views = {"theta": self._make_views(self.theta),
                       "grad": self._make_views(self.grad)}
        for p, view in zip(params, self._views["theta"]):
            view[...] = p.data
            p.data = view

    @staticmethod
    def unsupported(params):
        """Why ``params`` cannot be packed (a string), or ``None`` when they can."""
        if not params:
            return "no parameters"
        first = params[0].data
        if dtype_name(first.dtype) not in _CTYPES:
            return f"parameters must be float32 or float64, got {first.dtype}"
        xp = get_array_module(first)
        for p in params:
            if p.data.dtype != first.dtype or get_array_module(p.data) is not xp:
                return "parameters of one group must share one dtype and one device"
        return None

    def _make_views(self, flat):
        return [flat[o0:o1].reshape(shape) for o0, o1, shape in
                zip(self.offsets[:-1], self.offsets[1:], self.shapes)]

    def matches(self, params) -> bool:
        """True while ``params`` are the same Tensors, with the same shapes, dtype and
        device as when packed (their ``.data`` may have been rebound: :meth:`sync`)."""
        if len(params) != len(self.params):
            return False
        xp = self.xp
        for p, q, view in zip(params, self.params, self._views["theta"]):
            if p is not q:
                return False
            d = p.data
            if d is not view and (d.shape != view.shape or d.dtype != self.dtype
                                  or get_array_module(d) is not xp):
                return False
        return True

    def buffer(self, key):
        """The flat buffer of state ``key`` (zeros when first asked for)."""
        buf = self._buffers.get(key)
        if buf is None:
            buf = self._buffers[key] = self.xp.zeros(self.offsets[-1], dtype=self.dtype)
            self._views[key] = self._make_views(buf)
        return buf

    def views(self, key):
        """Per-parameter views of the flat buffer ``key`` ("theta", "grad" or a state key)."""
        if key not in self._views:
            self.buffer(key)
        return self._views[key]

    def sync(self):
        """Copy back in any parameter whose ``.data`` was rebound since packing."""
        for p, view in zip(self.params, self._views["theta"]):
            if p.data is not view:
                view[...] = p.data
                p.data = view

    def zero_grad(self, set_to_none=False):
        """Zero the flat gradient (one launch) and make every existing ``p.grad`` a view of
        it, so the next backward accumulates straight into the flat buffer. A gradient
        that is ``None`` stays ``None`` (PyTorch's ``zero_grad(set_to_none=False)``): a
        zero gradient would make the next step move that parameter (momentum, decay).

        ``set_to_none=True`` (PyTorch's default): every ``p.grad`` becomes None, and the
        flat gradient a fresh buffer of zeros (one launch; a gradient handed out before
        keeps its values, as a tensor set to None in PyTorch does), whose views are set
        aside as each parameter's gradient slot: the next backward writes a parameter's
        first gradient into its slot and makes that ``p.grad``
        (:func:`minigrad.autograd.function.grad_slot`), so the step copies nothing in. A
        parameter the backward does not reach keeps ``p.grad = None``."""
        from minigrad.tensor import _make_tensor

        if set_to_none:
            self.grad = self.xp.zeros(self.offsets[-1], dtype=self.dtype)
            self._views["grad"] = self._make_views(self.grad)
            for p, view in zip(self.params, self._views["grad"]):
                p.grad = None
                p._grad_slot = view
            return
        self.grad.fill(0)
        for p, view in zip(self.params, self._views["grad"]):
            if p.grad is None:
                continue
            if getattr(p.grad, "is_sparse", False):
                p.grad.data[...] = 0  # as Optimizer.zero_grad: zero values, same pattern
                continue
            if hasattr(p.grad, "requires_grad") and not p.grad.requires_grad:
                p.grad.data = view
            else:
                p.grad = _make_tensor(view, None, False)

    # ------------------------------------------------------------------ stepping
    def step(self, optimizer, group, rule):
        """One fused step of ``optimizer``'s ``group`` (whose params this packs)."""
        self.sync()
        params = self.params
        state = optimizer.state
        keys = rule.keys(group)
        key_views = [(k, self.views(k)) for k in keys]
        grad_views = self._views["grad"]
        runs = []  # [first index, end index, run key]
        for i, p in enumerate(params):
            grad = p.grad
            if grad is None:
                continue
            if getattr(grad, "is_sparse", False):
                optimizer._step_param(p, group)  # the class's own sparse rule (or its error)
                continue
            if getattr(grad, "data", grad) is not grad_views[i]:
                self._take_grad(optimizer, p, grad_views[i])
            st = state.get(p)
            if not st:  # no entry, or an empty one made by looking it up
                st = optimizer._new_state(p, group)
            for key, views in key_views:
                if st.get(key) is not views[i]:
                    self._adopt(st, key, views[i], rule)
            k = rule.run_key(st, group)
            if runs and runs[-1][1] == i and runs[-1][2] == k:
                runs[-1][1] = i + 1
            else:
                runs.append([i, i + 1, k])
        for i0, i1, k in runs:
            self._launch(optimizer, group, rule, keys, i0, i1, k)

    def _take_grad(self, optimizer, p, view):
        g = optimizer._dense_grad(p)  # checks shape, device, sparsity
        view[...] = g
        p._grad_slot = None  # no longer zeros (were it p's slot)
        grad = p.grad
        if hasattr(grad, "requires_grad") and not grad.requires_grad:
            grad.data = view  # later backward passes accumulate into the flat buffer

    @staticmethod
    def _adopt(st, key, view, rule):
        arr = st.get(key)
        if arr is None:
            if key not in rule.fill_none:
                return  # e.g. SGD's buffer before its first momentum step
            view[...] = 0
        else:
            view[...] = arr
        st[key] = view

    def _launch(self, optimizer, group, rule, keys, i0, i1, run_key):
        state = optimizer.state
        params = self.params[i0:i1]
        t = state[params[0]]["step"] + 1
        for p in params:
            state[p]["step"] += 1
        o0, o1 = self.offsets[i0], self.offsets[i1]
        arrays = {"theta": self.theta[o0:o1], "g": self.grad[o0:o1]}
        for key in keys:
            arrays[key] = self.buffer(key)[o0:o1]
        rule.program(group, run_key, t).run(arrays, rule.scalars(group, t))
        for key in keys:
            views = self._views[key]
            for i, p in enumerate(params, start=i0):
                state[p][key] = views[i]


def _flat_for(optimizer, index, group):
    """The cached FlatParams of ``optimizer``'s group ``index`` (rebuilt when the group's
    parameters changed), or ``None`` when the group cannot be packed."""
    cache = optimizer.__dict__.setdefault("_fused_flat", {})
    params = group["params"]
    flat = cache.get(index)
    if flat is not None and flat.matches(params):
        return flat
    if FlatParams.unsupported(params):
        cache.pop(index, None)
        return None
    flat = cache[index] = FlatParams(params)
    return flat


def fused_step(optimizer, closure=None):
    r"""One step of ``optimizer`` with the fused kernel of its class, one launch per group.

    Same results as ``optimizer.step(closure)`` (to the last bit on NumPy, to dtype
    rounding on CUDA), same state layout and checkpoints.

    Examples
    --------
    >>> import minigrad as mg
    >>> from minigrad.optim import Adam
    >>> w = mg.tensor([0.0, 1.0], requires_grad=True)
    >>> opt = Adam([w], lr=1.0)
    >>> w.grad = mg.tensor([1e-6, -1.0])
    >>> fused_step(opt)
    >>> [round(x, 6) for x in w.tolist()]
    [-0.990099, 2.0]
    """
    loss = None
    if closure is not None:
        import minigrad as mg

        with mg.enable_grad():
            loss = closure()
    rule = rule_for(optimizer)
    for index, group in enumerate(optimizer.param_groups):
        flat = _flat_for(optimizer, index, group)
        if flat is None:
            for p in group["params"]:
                if p.grad is not None:
                    optimizer._step_param(p, group)
            continue
        flat.step(optimizer, group, rule)
    return loss


def fused_zero_grad(optimizer, set_to_none=True):
    """``optimizer.zero_grad`` for fused optimizers: each packed group's flat gradient is
    zeroed in one launch; with ``set_to_none=False`` every ``p.grad`` becomes a view of
    it, with ``set_to_none=True`` None, the views set aside for the next backward
    (:meth:`FlatParams.zero_grad`). Either way the next step copies no gradient in."""
    cache = optimizer.__dict__.get("_fused_flat", {})
    for index, group in enumerate(optimizer.param_groups):
        flat = cache.get(index)
        if flat is not None and flat.matches(group["params"]):
            flat.sync()
            flat.zero_grad(set_to_none)
        elif set_to_none:
            for p in group["params"]:
                p.grad = None
        else:
            for p in group["params"]:
                if p.grad is not None:
                    if getattr(p.grad, "requires_grad", False):
                        p.grad = p.grad.detach()
                    p.grad.data[...] = 0


def sophia_update_hessian_fused(optimizer, h_hat):
    """Sophia's ``h ← β₂h + (1 − β₂)ĥ`` with one launch per parameter (``h_hat`` arrays in
    param-group order), the fused twin of :func:`minigrad.optim.sophia.hessian_ema`."""
    program = sophia_hessian_ema_program()
    i = 0
    for group in optimizer.param_groups:
        beta2 = float(group["betas"][1])
        for p in group["params"]:
            est = h_hat[i]
            est = est.data if hasattr(est, "requires_grad") else est
            i += 1
            st = optimizer.state.get(p) or optimizer._new_state(p, group)
            h = st["h"]
            program.run({"h": h, "h_hat": est.astype(h.dtype, copy=False)},
                        {"beta2": beta2, "one_minus_beta2": 1 - beta2})
