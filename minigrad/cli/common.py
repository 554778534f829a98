"""What every subcommand shares: one-line errors, argument types, the common options,
output folders, and optional matplotlib."""
from __future__ import annotations

import argparse
import importlib.util
import math
import os
import re
import sys

__all__ = ["CLIError", "Parser", "add_common", "positive_float", "nonnegative_float",
           "fraction", "positive_int", "nonnegative_int", "int_at_least", "comma_list",
           "float_pair", "check_device", "run_folder", "has_matplotlib", "skip_plot_note",
           "one_line", "EPILOG_COMMON", "say"]


class CLIError(Exception):
    """A bad argument or input file: reported as one line on stderr, exit status 2."""


class Parser(argparse.ArgumentParser):
    """An ArgumentParser whose errors are ONE line on stderr (no usage block), exit 2."""

    def error(self, message):
        sys.stderr.write(f"{self.prog}: error: {message} (see {self.prog} --help)\n")
        sys.exit(2)


class Formatter(argparse.RawDescriptionHelpFormatter):
    """Keep the description's layout (examples); show a default when there is one worth
    showing (not None/False) and the help text does not already speak of it."""

    def _get_help_string(self, action):
        text = action.help or ""
        default = action.default
        shown = not (default is None or default is False or default is argparse.SUPPRESS)
        if shown and "default" not in text and action.option_strings:
            if isinstance(default, (list, tuple)):
                default = ",".join(str(d) for d in default)
            text = f"{text} (default: {default})" if text else f"default: {default}"
        return text


EPILOG_COMMON = ("Every command takes --seed, --device and --out, writes nothing outside --out,\n"
                 "and exits with status 2 and one line on stderr on a bad argument.")


def _number(text, what):
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if math.isnan(value) or math.isinf(value):
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def positive_float(text):
    value = _number(text, "a positive number")
    if value <= 0:
        raise argparse.ArgumentTypeError(f"must be a positive number, got {text}")
    return value


def nonnegative_float(text):
    value = _number(text, "a number >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be >= 0, got {text}")
    return value


def _int(text, what):
    try:
        return int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None


def fraction(include_one):
    """An argument type: a number in [0, 1] (``include_one``) or in [0, 1)."""
    interval = "[0, 1]" if include_one else "[0, 1)"

    def parse(text):
        value = _number(text, f"a number in {interval}")
        if value < 0 or value > 1 or (value == 1 and not include_one):
            raise argparse.ArgumentTypeError(f"must be in {interval}, got {text}")
        return value
    return parse


def positive_int(text):
    value = _int(text, "a positive integer")
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be a positive integer, got {text}")
    return value


def nonnegative_int(text):
    value = _int(text, "an integer >= 0")
    if value < 0:
        raise argparse.ArgumentTypeError(f"must be an integer >= 0, got {text}")
    return value


def int_at_least(low):
    """An argument type: an integer >= ``low``."""
    def parse(text):
        value = _int(text, f"an integer >= {low}")
        if value < low:
            raise argparse.ArgumentTypeError(f"must be an integer >= {low}, got {text}")
        return value
    return parse


def comma_list(choices, what):
    """An argument type: a comma-separated list whose items are all in ``choices``
    (``all`` means every choice)."""
    choices = list(choices)

    def parse(text):
        items = [t.strip() for t in text.split(",") if t.strip()]
        if items == ["all"]:
            return list(choices)
        if not items:
            raise argparse.ArgumentTypeError(f"expected a comma-separated list of {what}")
        bad = [t for t in items if t not in choices]
        if bad:
            raise argparse.ArgumentTypeError(
                f"unknown {what} {', '.join(repr(b) for b in bad)}; choose from "
                f"{', '.join(choices)}")
        return list(dict.fromkeys(items))
    return parse


def float_pair(text):
    parts = text.split(",")
    if len(parts) != 2:
        raise argparse.ArgumentTypeError(f"expected two numbers LOW,HIGH, got {text!r}")
    lo, hi = (positive_float(p) for p in parts)
    if not lo < hi:
        raise argparse.ArgumentTypeError(f"expected LOW < HIGH, got {text!r}")
    return lo, hi


def add_common(parser, name_default=None, progress_help="no progress bars"):
    """--seed, --device, --out, --name, --no-progress (``progress_help`` says what it hides
    in a command whose progress is not a bar)."""
    group = parser.add_argument_group("common options")
    group.add_argument("--seed", type=nonnegative_int, default=0,
                       help="seed of every random choice (initialization, data order, ...)")
    group.add_argument("--device", choices=("cpu", "cuda"), default="cpu",
                       help="where tensors live (cuda needs CuPy and a GPU)")
    group.add_argument("--out", default="runs",
                       help="folder for everything the command writes")
    group.add_argument("--name", default=name_default,
                       help="subfolder of --out for this command's files")
    group.add_argument("--no-progress", action="store_true", help=progress_help)
    return parser


def check_device(device):
    if device == "cuda":
        import minigrad as mg

        if not mg.cuda.is_available():
            raise CLIError("--device cuda: no CUDA device available (needs CuPy and a GPU); "
                           "use --device cpu")
    return device


def _safe(name):
    return re.sub(r"[^A-Za-z0-9._+-]+", "-", name).strip("-") or "run"


def run_folder(out, name, fresh=True, create=True):
    """``out/name``; with ``fresh`` a suffix -2, -3... is added when it already exists."""
    name = _safe(name)
    path = os.path.join(out, name)
    if fresh:
        k = 2
        while os.path.exists(path):
            path = os.path.join(out, f"{name}-{k}")
            k += 1
    if create:
        try:
            os.makedirs(path, exist_ok=True)
        except OSError as e:
            raise CLIError(f"--out: cannot create {path!r}: {e.strerror}") from None
    return path


def one_line(error, limit=300):
    """An exception's message on one line (a state-dict mismatch lists every key on lines
    of its own), cut at ``limit`` characters; a KeyError names the missing entry."""
    if isinstance(error, KeyError) and len(error.args) == 1:
        text = f"missing entry {error.args[0]!r}"
    else:
        text = " ".join(str(error).split())
    return text if len(text) <= limit else text[:limit - 3] + "..."


def read_run_checkpoint(path, flag, default_files, need=()):
    """``(path, state)`` of a checkpoint written by `minigrad train`: ``path`` or, for a
    run folder, the first of its ``default_files`` (a name or a tuple of names) that
    exists. Any problem is a CLIError naming ``flag``; ``need`` lists entries the state
    must hold besides its config."""
    from ..serialization import CheckpointError, load

    if os.path.isdir(path):
        names = (default_files,) if isinstance(default_files, str) else default_files
        found = [os.path.join(path, n) for n in names if os.path.exists(os.path.join(path, n))]
        if not found:
            raise CLIError(f"{flag}: no checkpoint in {path} (looked for {' or '.join(names)})")
        path = found[0]
    if not os.path.exists(path):
        raise CLIError(f"{flag}: no such checkpoint: {path}")
    try:
        # onto the host: a run trained on CUDA is then readable without a GPU (its tensors
        # go back to the run's device when they are loaded into the model and optimizer)
        state = load(path, map_location="cpu")
    except CheckpointError as e:
        raise CLIError(f"{flag}: {e}") from None
    if not isinstance(state, dict) or "config" not in state.get("extra", {}) \
            or any(k not in state for k in need):
        raise CLIError(f"{flag}: {path} is not a checkpoint written by `minigrad train`")
    return path, state


def has_matplotlib():
    return importlib.util.find_spec("matplotlib") is not None


def skip_plot_note(path):
    say(f"matplotlib is not installed: skipping {path} (pip install 'minigrad[plot]')")


def say(text=""):
    """Print to stdout (the results; progress bars go to stderr)."""
    print(text, flush=True)
