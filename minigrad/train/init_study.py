r"""How the initializer sets the scale of activations and gradients through a deep net.

A stack of ``depth`` Linear(width, width) layers, each followed by the nonlinearity, biases
zero, fed a batch of N(0, 1) inputs. For each initializer of the weights we record, layer
by layer, the standard deviation of the activations hₗ = φ(Wₗhₗ₋₁) on the forward pass
and of the back-propagated gradients ∂L/∂hₗ on the backward pass, where
L = Σ v ⊙ h_depth / N for a fixed random cotangent v (Glorot & Bengio 2010, figures 6–7).

What to expect (Var of a pre-activation is n·Var(w)·E[h²]):

=====================  ==========================================================
``zero``                everything 0 past the first layer; units never separate
``constant``            w = 1/n: every unit computes the same number (rank one): the
                        symmetry is never broken, whatever the scale
``normal``              N(0, 1): Var grows by n per layer — tanh saturates, ReLU explodes
``calibrated``          N(0, 1/n) (LeCun): right for tanh near 0; halves per layer with ReLU
``xavier``              Var = 2/(n_in + n_out) (= 1/n here): like calibrated
``kaiming``             Var = 2/n_in: keeps ReLU activations at a constant scale
``orthogonal``          W = gain·Q (Saxe et al. 2014), gain from ``calculate_gain``
=====================  ==========================================================

With SELU (``--activations selu``) and ``calibrated`` (LeCun normal) weights, the std of
the activations stays near 1 at every depth: SELU's constants make (mean 0, variance 1) a
fixed point of the layer map (Klambauer et al. 2017, "self-normalizing networks").

References
----------
X. Glorot, Y. Bengio, "Understanding the difficulty of training deep feedforward neural
networks", AISTATS 2010. K. He et al., "Delving Deep into Rectifiers", ICCV 2015.
A. Saxe et al., "Exact solutions to the nonlinear dynamics of learning in deep linear
neural networks", ICLR 2014. G. Klambauer et al., "Self-Normalizing Neural Networks",
NeurIPS 2017.
"""
from __future__ import annotations

import math

import numpy as np

from .. import nn
from ..autograd import enable_grad, grad
from ..tensor import Tensor

__all__ = ["INITIALIZERS", "ACTIVATIONS", "init_study", "format_table", "plot_init_study"]


def _orthogonal(w, act):
    nn.init.orthogonal_(w, gain=nn.init.calculate_gain(act))


#: name → function(weight, activation name) that initializes the weight in place
INITIALIZERS = {
    "zero": lambda w, act: nn.init.zeros_(w),
    "constant": lambda w, act: nn.init.constant_(w, 1.0 / w.shape[1]),
    "normal": lambda w, act: nn.init.normal_(w, 0.0, 1.0),
    "calibrated": lambda w, act: nn.init.normal_(w, 0.0, 1.0 / math.sqrt(w.shape[1])),
    "xavier": lambda w, act: nn.init.xavier_normal_(w),
    "kaiming": lambda w, act: nn.init.kaiming_normal_(w, nonlinearity="relu"),
    "orthogonal": _orthogonal,
}

ACTIVATIONS = {"tanh": lambda h: h.tanh(), "relu": lambda h: h.relu(),
               "selu": nn.functional.selu}


def _std(t):
    a = t.numpy().astype(np.float64)
    return float(a.std()) if np.all(np.isfinite(a)) else float("nan")


def init_study(depth=50, width=128, batch=256, initializers=None, activations=None, seed=0,
               device="cpu"):
    """Per-layer activation and gradient std for every (initializer, activation) pair.

    Returns
    -------
    dict ``{(init, act): {"activation_std": [depth floats], "gradient_std": [...]}}``
    (``gradient_std[l]`` is the std of ∂L/∂hₗ, the gradient arriving at layer l's output).
    """
    import minigrad as mg

    initializers = list(INITIALIZERS) if initializers is None else list(initializers)
    activations = list(ACTIVATIONS) if activations is None else list(activations)
    for name in initializers:
        if name not in INITIALIZERS:
            raise ValueError(f"unknown initializer {name!r}; choose from "
                             f"{', '.join(INITIALIZERS)}")
    for name in activations:
        if name not in ACTIVATIONS:
            raise ValueError(f"unknown activation {name!r}; choose from {', '.join(ACTIVATIONS)}")
    rng = np.random.default_rng(seed)
    # float64: with N(0, 1) weights the scale grows by about √width per layer, far past
    # float32's range within 50 layers
    x0 = Tensor(rng.standard_normal((batch, width)), device=device)
    v = Tensor(rng.standard_normal((batch, width)), device=device)
    results = {}
    for act in activations:
        phi = ACTIVATIONS[act]
        for init in initializers:
            mg.manual_seed(seed)
            layers = [nn.Linear(width, width, dtype=mg.float64, device=device)
                      for _ in range(depth)]
            for layer in layers:
                INITIALIZERS[init](layer.weight, act)
                nn.init.zeros_(layer.bias)
            with enable_grad(), np.errstate(all="ignore"):
                h = x0
                hs = []
                for layer in layers:
                    h = phi(layer(h))
                    hs.append(h)
                loss = (h * v).sum() / batch
                grads = grad(loss, hs, allow_unused=True)
            results[(init, act)] = {
                "activation_std": [_std(t) for t in hs],
                "gradient_std": [0.0 if g is None else _std(g) for g in grads],
            }
    return results


def _fmt(x):
    if x != x:
        return "nan"
    if x == 0:
        return "0"
    return f"{x:.2e}"


def format_table(results, depth):
    """A markdown table: std of the activations and gradients at the first, middle and
    last layers (each layer once: layers 1, 2 for depth 2; layer 1 alone for depth 1)."""
    cols = sorted({1, (depth + 1) // 2, depth})
    head = ["initializer", "activation"] + [f"act std @{c}" for c in cols] + \
           [f"grad std @{c}" for c in cols]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for (init, act), r in results.items():
        cells = [init, act] + [_fmt(r["activation_std"][c - 1]) for c in cols] + \
                [_fmt(r["gradient_std"][c - 1]) for c in cols]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def plot_init_study(results, path, depth):
    """A 2×(number of activations) grid: activation std (top) and gradient std (bottom)
    per layer, one line per initializer, log scale (zeros are not drawn)."""
    from ..viz._mpl import new_figure

    acts = list(dict.fromkeys(a for _, a in results))
    inits = list(dict.fromkeys(i for i, _ in results))
    fig, axes = new_figure(figsize=(5.5 * len(acts), 8), dpi=100, nrows=2, ncols=len(acts),
                           squeeze=False)
    layers = np.arange(1, depth + 1)
    for j, act in enumerate(acts):
        for row, key, label in ((0, "activation_std", "std of activations hₗ"),
                                (1, "gradient_std", "std of gradients ∂L/∂hₗ")):
            ax = axes[row][j]
            for k, init in enumerate(inits):
                y = np.asarray(results[(init, act)][key], dtype=np.float64)
                shown = np.where((y > 0) & np.isfinite(y), y, np.nan)
                tag = "" if np.any(np.isfinite(shown)) else " (all 0 / nan)"
                style = "--" if init == "xavier" else "-"   # xavier = calibrated when
                ax.plot(layers, shown, color=f"C{k}", lw=1.6, ls=style,  # n_in = n_out
                        label=init + tag)
            ax.set_yscale("log")
            ax.set_xlabel("layer")
            ax.set_ylabel(label)
            ax.set_title(f"{act}: {label}")
            ax.grid(alpha=0.3, which="both")
            if row == 0:
                ax.legend(fontsize=8)
    fig.suptitle(f"Initialization study: {depth} layers")
    fig.tight_layout()
    fig.savefig(path)
    return path
