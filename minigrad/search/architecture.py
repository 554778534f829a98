"""A small architecture search: the MLP's depth, width, activation, normalization and
dropout are hyperparameters like any other, searched with the same harness.

:func:`build_mlp` turns a config into a network::

    input → [Linear(width) → norm → activation → Dropout(p)] × depth → Linear(classes)

(norm ∈ {none, batchnorm, layernorm}; "pre-activation" ordering Linear → norm → act, as
in Ioffe & Szegedy 2015); :func:`architecture_space` is the default space over those
five options; :func:`architecture_search` runs any search method over it.

References
----------
B. Zoph, Q. V. Le, "Neural Architecture Search with Reinforcement Learning", ICLR 2017.
L. Li, A. Talwalkar, "Random Search and Reproducibility for Neural Architecture Search",
UAI 2019 (random search is a strong baseline for architecture search too).
"""
from __future__ import annotations

from minigrad import nn

from .space import Choice, IntUniform, Space, Uniform

__all__ = ["ACTIVATIONS", "NORMS", "ARCH_DEFAULTS", "build_mlp", "architecture_space",
           "architecture_search"]

#: activation name → module class
ACTIVATIONS = {"relu": nn.ReLU, "tanh": nn.Tanh, "gelu": nn.GELU, "silu": nn.SiLU,
               "elu": nn.ELU, "leaky_relu": nn.LeakyReLU, "sigmoid": nn.Sigmoid}
#: normalization name → constructor of a layer for ``width`` features (or None)
NORMS = {"none": None, "batchnorm": nn.BatchNorm1d, "layernorm": nn.LayerNorm}
#: the architecture of a config that does not say
ARCH_DEFAULTS = {"depth": 1, "width": 128, "activation": "relu", "norm": "none",
                 "dropout": 0.0}


def build_mlp(config, in_features=64, num_classes=10):
    """The MLP described by ``config`` (missing keys from :data:`ARCH_DEFAULTS`).

    Examples
    --------
    >>> build_mlp({"depth": 2, "width": 16, "activation": "tanh", "norm": "layernorm"})
    Sequential(
      (0): Linear(in_features=64, out_features=16, bias=True)
      (1): LayerNorm((16,), ...)
      (2): Tanh()
      (3): Linear(in_features=16, out_features=16, bias=True)
      (4): LayerNorm((16,), ...)
      (5): Tanh()
      (6): Linear(in_features=16, out_features=10, bias=True)
    )
    """
    c = {**ARCH_DEFAULTS, **{k: v for k, v in config.items() if k in ARCH_DEFAULTS}}
    depth, width, p = int(c["depth"]), int(c["width"]), float(c["dropout"])
    if depth < 0:
        raise ValueError(f"build_mlp: depth must be >= 0, got {depth}")
    if width < 1:
        raise ValueError(f"build_mlp: width must be >= 1, got {width}")
    if not 0.0 <= p < 1.0:
        raise ValueError(f"build_mlp: dropout must be in [0, 1), got {p}")
    if c["activation"] not in ACTIVATIONS:
        raise ValueError(f"build_mlp: activation must be one of {sorted(ACTIVATIONS)}, "
                         f"got {c['activation']!r}")
    if c["norm"] not in NORMS:
        raise ValueError(f"build_mlp: norm must be one of {sorted(NORMS)}, got {c['norm']!r}")
    layers, n_in = [], in_features
    for _ in range(depth):
        layers.append(nn.Linear(n_in, width))
        if NORMS[c["norm"]] is not None:
            layers.append(NORMS[c["norm"]](width))
        layers.append(ACTIVATIONS[c["activation"]]())
        if p > 0:
            layers.append(nn.Dropout(p))
        n_in = width
    layers.append(nn.Linear(n_in, num_classes))
    return nn.Sequential(*layers)


def architecture_space(max_depth=3):
    """The default architecture space: depth 1…max_depth, width 16…256 (log scale),
    activation, normalization, dropout in [0, 0.5]."""
    return Space(depth=IntUniform(1, max_depth), width=IntUniform(16, 256, log=True),
                 activation=Choice(["relu", "tanh", "gelu", "silu"]),
                 norm=Choice(["none", "batchnorm", "layernorm"]),
                 dropout=Uniform(0.0, 0.5))


def architecture_search(objective=None, trials=20, method="random", space=None, **kwargs):
    """Search the architecture of the digits MLP (or of whatever ``objective`` builds
    from ``depth``, ``width``, ``activation``, ``norm``, ``dropout``).

    Parameters
    ----------
    objective : default :class:`~minigrad.search.objectives.DigitsMLPObjective` ().
    trials : number of architectures tried (for ``"grid"``: the grid's resolution budget).
    method : ``"grid"``, ``"random"``, ``"evolutionary"`` or ``"bayesian"``.
    space : default :func:`architecture_space` ().
    **kwargs : passed to the search function (``seed``, ``halving``, ``callback``, ...).
    """
    from . import METHODS
    from .objectives import DigitsMLPObjective

    if method not in METHODS:
        raise ValueError(f"architecture_search: method must be one of {sorted(METHODS)}, "
                         f"got {method!r}")
    objective = objective if objective is not None else DigitsMLPObjective()
    space = space if space is not None else architecture_space()
    if method == "grid":
        kwargs.pop("seed", None)
        return METHODS[method](objective, space, trials=trials, **kwargs)
    return METHODS[method](objective, space, trials, **kwargs)
