"""The ``minigrad`` command line (also ``python -m minigrad``).

Each subcommand lives in its own module with ``add_parser(subparsers)`` and ``run(args)``;
they import the heavy parts of minigrad only when they run, so ``minigrad --help`` is
fast. ``minigrad search`` is provided by :mod:`minigrad.search.cli` when that package is
installed.
"""
from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys

from .common import CLIError, Parser

__all__ = ["main", "build_parser", "COMMANDS"]

#: subcommand → module of this package
COMMANDS = {
    "train": "train",
    "compare": "compare",
    "landscape": "landscape",
    "init-study": "init_study",
    "trajectories": "trajectories",
    "gradcheck": "gradcheck",
}

DESCRIPTION = """\
minigrad: a from-scratch autograd engine, and tools to train and to look inside training.

examples:
  minigrad train --model cnn --optimizer adam --schedule cosine --epochs 10
  minigrad compare --optimizers sgd,momentum,adam,lion --schedules constant,cosine --seeds 2
  minigrad landscape --checkpoint runs/cnn-digits-adam-cosine-s0/best.npz
  minigrad init-study --depth 50
  minigrad trajectories --function rosenbrock
  minigrad gradcheck
  minigrad search --param lr --log-uniform 1e-4,1e-1 --trials 20

Run `minigrad COMMAND --help` for the options and examples of each command.
"""


def _search_module():
    """minigrad.search.cli when it exists (written separately), else None."""
    try:
        if importlib.util.find_spec("minigrad.search") is None:
            return None
        return importlib.import_module("minigrad.search.cli")
    except ImportError:
        return None


def build_parser():
    """The top-level parser with every subcommand registered."""
    parser = Parser(prog="minigrad", description=DESCRIPTION,
                    formatter_class=argparse.RawDescriptionHelpFormatter)
    from .. import __version__

    parser.add_argument("--version", action="version", version=f"minigrad {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=Parser)
    parser.command_parsers = sub.choices  # name → its parser, for its error messages
    modules = {}
    for command, module_name in COMMANDS.items():
        module = importlib.import_module(f"{__name__}.{module_name}")
        module.add_parser(sub)
        modules[command] = module
    search = _search_module()
    if search is not None:
        search.add_parser(sub)
        modules["search"] = search
    return parser, modules


def main(argv=None):
    """Entry point of the ``minigrad`` console script; returns the exit status."""
    parser, modules = build_parser()
    args, unknown = parser.parse_known_args(argv)
    if unknown:  # reported by the subcommand, whose --help lists its options
        command_parser = parser.command_parsers.get(args.command, parser)
        command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    if args.command is None:  # as argparse's required subcommands: status 2, one line
        parser.error(f"choose a command: {', '.join(parser.command_parsers)}")
    try:
        status = modules[args.command].run(args)
    except CLIError as e:
        sys.stderr.write(f"minigrad {args.command}: error: {e}\n")
        return 2
    except KeyboardInterrupt:
        sys.stderr.write(f"minigrad {args.command}: interrupted\n")
        return 130
    except BrokenPipeError:  # e.g. `minigrad train | head`: stop quietly
        import os

        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141
    return int(status or 0)
