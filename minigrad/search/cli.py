"""``minigrad search``: hyperparameter and architecture search on the digits MLP.

The ``minigrad`` command registers this subcommand with :func:`add_parser` and runs it
with :func:`run`; ``python -m minigrad.search`` runs it alone (:func:`main`).
"""
from __future__ import annotations

import argparse
import math
import re
import sys
import time
from pathlib import Path

EXAMPLES = """\
examples:
  minigrad search --param lr --log-uniform 1e-4,1e-1 --trials 20
  minigrad search --param lr --log-uniform 1e-4,1e-1 --param width --int 16,256 \\
      --choice act=relu,tanh,gelu --method bayesian --trials 30
  minigrad search --param lr --log-uniform 1e-3,1 --set optimizer=sgd --method grid \\
      --trials 8
  minigrad search --arch --method evolutionary --trials 40 --halving --epochs 9
  minigrad search --choice optimizer=adam,adam-hd,sgd-hd --param lr --log-uniform 1e-4,1e-1

A dimension is --param NAME followed by its distribution (--log-uniform LO,HI,
--uniform LO,HI, --int LO,HI, --log-int LO,HI or --choice V1,V2,...); each of those
also takes the form NAME=... on its own. --set NAME=VALUE fixes an option that is not
searched. --arch adds the architecture space (depth, width, activation, norm, dropout).

training options: {options}
(also act = activation, wd = weight_decay, bs = batch_size)

Writes <out>/<name>/results.json and results.md (--name defaults to search-<method>) and
prints the ranked table; the best config is then retrained on all training images and
measured once on the test images.
"""

#: short names accepted on the command line for a few training options
ALIASES = {"act": "activation", "wd": "weight_decay", "bs": "batch_size"}

_KINDS = {"--log-uniform": "log-uniform", "--uniform": "uniform", "--int": "int",
          "--log-int": "log-int", "--choice": "choice"}


class _SpaceToken(argparse.Action):
    """Records ``--param`` and the distribution flags in command-line order (they pair
    up by position, which argparse's own actions cannot express); :func:`parse_space`
    reads them."""

    def __call__(self, parser, namespace, values, option_string=None):
        tokens = list(getattr(namespace, self.dest) or [])
        tokens.append((option_string, values))
        setattr(namespace, self.dest, tokens)


def add_parser(subparsers):
    """Add the ``search`` subcommand to ``subparsers`` (from ``add_subparsers()``);
    returns its parser."""
    from ..cli.common import EPILOG_COMMON, Formatter, add_common
    from .objectives import OPTIONS

    p = subparsers.add_parser(
        "search", help="hyperparameter and architecture search (grid, random, "
        "evolutionary, Bayesian), with early stopping",
        description="Search training options of the digits MLP; the metric is the validation\n"
        "accuracy (on a held-out part of the training images, never the test images).",
        epilog=EXAMPLES.format(options=", ".join(OPTIONS)) + "\n" + EPILOG_COMMON,
        formatter_class=Formatter)
    space = p.add_argument_group("search space")
    space.add_argument("--param", dest="space_tokens", action=_SpaceToken, metavar="NAME",
                       help="a training option to search; follow it with its distribution")
    for flag, kind in _KINDS.items():
        metavar = "V1,V2,..." if kind == "choice" else "LO,HI"
        space.add_argument(flag, dest="space_tokens", action=_SpaceToken, metavar=metavar,
                           help=f"{kind} distribution of the last --param "
                           f"(or NAME={metavar})")
    space.add_argument("--set", dest="fixed", action="append", default=None,
                       metavar="NAME=VALUE", help="fix a training option (repeatable)")
    space.add_argument("--arch", action="store_true",
                       help="also search the architecture: depth, width, activation, norm, "
                       "dropout")
    how = p.add_argument_group("method")
    how.add_argument("--method", default="random",
                     choices=["grid", "random", "evolutionary", "bayesian"],
                     help="search method (default random)")
    how.add_argument("--trials", type=int, default=20,
                     help="configs to evaluate (for grid: the budget that sets its "
                     "resolution; default 20)")
    how.add_argument("--epochs", type=int, default=5,
                     help="training epochs per trial (the full budget with --halving; "
                     "default 5)")
    how.add_argument("--halving", action="store_true",
                     help="early stopping of bad trials by successive halving")
    how.add_argument("--eta", type=float, default=3.0,
                     help="halving factor η: keep the best 1/η at each rung (default 3)")
    how.add_argument("--kernel", default="matern52", choices=["matern52", "rbf"],
                     help="GP kernel of --method bayesian (default matern52)")
    p.add_argument_group("output").add_argument("--top", type=int, default=10,
                                                help="rows of the printed table")
    # --seed (of the search and of every trial's training), --device, --out, --name and
    # --no-progress (no line per trial), as every minigrad command
    add_common(p, progress_help="no line per trial")
    # --quiet: this command's name for --no-progress before it took the common options
    # (docs/cli.md named it); kept working, hidden from --help
    p.add_argument("--quiet", dest="no_progress", action="store_true",
                   help=argparse.SUPPRESS)
    p.set_defaults(func=run, space_tokens=None)
    return p


def _fail(message):
    """A bad argument: ``minigrad search: error: <message>`` on stderr, exit status 2 (as
    every subcommand reports one: minigrad.cli.common.CLIError)."""
    from ..cli.common import CLIError

    raise CLIError(message)


def _value(text):
    """A command-line value as int, float or string ("none" stays a string)."""
    text = text.strip()
    if re.fullmatch(r"[+-]?\d+", text):
        return int(text)
    try:
        return float(text)
    except ValueError:
        return text


def _pair(flag, name, text):
    parts = text.split(",")
    if len(parts) != 2:
        _fail(f"{flag} for {name!r} needs LO,HI (two numbers), got {text!r}")
    try:
        return float(parts[0]), float(parts[1])
    except ValueError:
        _fail(f"{flag} for {name!r} needs two numbers, got {text!r}")


def _dimension(flag, name, text):
    from .space import Choice, IntUniform, LogUniform, Uniform

    kind = _KINDS[flag]
    try:
        if kind == "choice":
            values = [_value(v) for v in text.split(",") if v.strip()]
            if not values:
                _fail(f"--choice for {name!r} needs at least one value")
            return Choice(values)
        low, high = _pair(flag, name, text)
        if kind == "uniform":
            return Uniform(low, high)
        if kind == "log-uniform":
            return LogUniform(low, high)
        if low != int(low) or high != int(high):
            _fail(f"{flag} for {name!r} needs integer bounds, got {text!r}")
        return IntUniform(int(low), int(high), log=(kind == "log-int"))
    except (TypeError, ValueError) as e:
        _fail(f"{flag} for {name!r}: {e}")


def parse_space(tokens, fixed=(), arch=False):
    """The :class:`~minigrad.search.space.Space` described by the command line.

    ``tokens`` are the ``(flag, value)`` pairs recorded in order; ``fixed`` the
    ``NAME=VALUE`` strings of ``--set``. Bad input raises ``CLIError`` (one line).
    """
    from .architecture import architecture_space
    from .objectives import OPTIONS
    from .space import Space

    dims, pending = {}, None

    def add(name, dim):
        name = ALIASES.get(name, name)
        if name not in OPTIONS:
            _fail(f"unknown training option {name!r}; the options are {', '.join(OPTIONS)}")
        if name in dims:
            _fail(f"{name!r} is given two distributions")
        dims[name] = dim

    for flag, text in tokens or []:
        if flag == "--param":
            if pending is not None:
                _fail(f"--param {pending} has no distribution (add --log-uniform LO,HI, "
                      "--uniform, --int, --log-int or --choice after it)")
            pending = text.strip()
            if not pending:
                _fail("--param needs a name")
            continue
        if "=" in text and re.fullmatch(r"[A-Za-z_]\w*", text.split("=", 1)[0].strip()):
            name, text = (s.strip() for s in text.split("=", 1))
            if pending is not None and name != pending:
                _fail(f"--param {pending} has no distribution ({flag} names {name!r})")
            pending = None
        elif pending is not None:
            name, pending = pending, None
        else:
            _fail(f"{flag} {text} does not follow a --param NAME (or write {flag} NAME=...)")
        add(name, _dimension(flag, name, text))
    if pending is not None:
        _fail(f"--param {pending} has no distribution (add --log-uniform LO,HI, --uniform, "
              "--int, --log-int or --choice after it)")

    if arch:
        for name, dim in architecture_space().dims.items():
            dims.setdefault(name, dim)
    values = {}
    for item in fixed or []:
        if "=" not in item:
            _fail(f"--set needs NAME=VALUE, got {item!r}")
        name, text = (s.strip() for s in item.split("=", 1))
        name = ALIASES.get(name, name)
        if name not in OPTIONS:
            _fail(f"unknown training option {name!r}; the options are {', '.join(OPTIONS)}")
        if name in dims:
            _fail(f"{name!r} is both searched and fixed with --set")
        values[name] = _value(text)
    if not dims:
        if "lr" in values:
            _fail("nothing to search: --set fixes lr, which is searched when no --param is "
                  "given; add --param NAME with its distribution, or --arch")
        from .space import LogUniform

        dims["lr"] = LogUniform(1e-4, 1e-1)
    return Space(dims, fixed=values)


def _check_args(args):
    if args.trials < 1:
        _fail(f"--trials must be a positive integer, got {args.trials}")
    if args.epochs < 1:
        _fail(f"--epochs must be a positive integer, got {args.epochs}")
    if not args.eta > 1 or not math.isfinite(args.eta):
        _fail(f"--eta must be a number > 1, got {args.eta}")
    if args.top < 1:
        _fail(f"--top must be a positive integer, got {args.top}")
    from ..cli.common import check_device

    check_device(args.device)  # cpu or cuda already (the parser's choices)
    if args.name is not None and (not args.name or Path(args.name).name != args.name
                                  or args.name in (".", "..")):
        _fail(f"--name must be a plain folder name, got {args.name!r}")


def _describe(config, names):
    from .results import _fmt

    return "  ".join(f"{k}={_fmt(config[k])}" for k in names)


def run(args):
    """Run ``minigrad search`` with the parsed ``args``; returns 0."""
    from . import METHODS
    from .halving import Halving
    from .objectives import DigitsMLPObjective, check_options

    _check_args(args)
    space = parse_space(args.space_tokens, args.fixed, args.arch)
    try:  # the fixed values, and both ends of each range (every choice), must be valid
        check_options(space.fixed)
        for name, dim in space.dims.items():
            for value in getattr(dim, "values", None) or (dim.low, dim.high):
                check_options({**space.fixed, name: value})
    except ValueError as e:
        _fail(str(e))
    if "epochs" in space.dims or "epochs" in space.fixed:
        if args.halving:
            _fail("with --halving the epochs are the budget: set them with --epochs, not "
                  "as a searched or fixed option")
    n = args.trials
    if args.method == "grid":
        from .grid import grid_resolution

        n = space.grid_size(grid_resolution(space, args.trials))
    halving = Halving.for_configs(n, args.epochs, eta=args.eta) if args.halving else None

    names = space.names()
    out_dir = Path(args.out) / (args.name or f"search-{args.method}")
    epochs = space.fixed.get("epochs", args.epochs)
    if "epochs" in space.dims:
        epochs = "a searched number of epochs"
    else:
        epochs = f"{epochs} epoch{'s' if epochs != 1 else ''} each"
    print(f"minigrad search: {args.method} over {space!r}")
    print(f"  {n} {'grid configs' if args.method == 'grid' else 'trials'}, {epochs}"
          + (f", successive halving with budgets {halving.budgets()} epochs" if halving else "")
          + f", seed {args.seed}, device {args.device}")

    def progress(trial):
        if args.no_progress:
            return
        budget = f"  [{trial.budget} ep]" if trial.budget is not None else ""
        print(f"  trial {trial.number:3d}  {_describe(trial.config, names)}  "
              f"val_accuracy {trial.metric:.4f}{budget}  ({trial.seconds:.2f}s)", flush=True)

    objective = DigitsMLPObjective(epochs=args.epochs, seed=args.seed,
                                   device=None if args.device == "cpu" else args.device)
    start = time.perf_counter()
    kwargs = dict(mode="max", halving=halving, callback=progress)
    if args.method == "grid":
        result = METHODS["grid"](objective, space, trials=args.trials, **kwargs)
    elif args.method == "bayesian":
        result = METHODS["bayesian"](objective, space, args.trials, seed=args.seed,
                                     kernel=args.kernel, **kwargs)
    else:
        result = METHODS[args.method](objective, space, args.trials, seed=args.seed, **kwargs)
    elapsed = time.perf_counter() - start
    result.metric_name = "val_accuracy"

    best = result.best
    test_acc, _ = objective.test(best.config)
    settings = {k: v for k, v in vars(args).items()
                if isinstance(v, (int, float, str, bool, list, type(None)))}
    json_path, md_path = result.save(out_dir, extra={
        "test_accuracy_of_best": test_acc, "seconds": round(elapsed, 2), "args": settings})

    print()
    print(result.to_markdown(top=args.top))
    print()
    print(f"best: trial {best.number}  {_describe(best.config, names)}  "
          f"val_accuracy {best.metric:.4f}")
    print(f"test accuracy of the best config, retrained on all training images: "
          f"{test_acc:.2%}")
    print(f"{len(result)} trials in {elapsed:.1f}s; wrote {json_path} and {md_path}")
    return 0


def main(argv=None):
    """``python -m minigrad.search [search options]``: the subcommand on its own."""
    from ..cli.common import Parser

    parser = Parser(prog="minigrad")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=Parser)
    add_parser(sub)
    argv = sys.argv[1:] if argv is None else list(argv)
    if not argv or argv[0] != "search":
        argv = ["search", *argv]
    args = parser.parse_args(argv)
    from ..cli.common import CLIError

    try:
        return run(args)
    except CLIError as e:
        sys.stderr.write(f"minigrad search: error: {e}\n")
        return 2
