"""``minigrad trajectories``: optimizer paths on 2-D test functions."""
from __future__ import annotations

import os
import time

from .common import (
    EPILOG_COMMON,
    CLIError,
    Formatter,
    add_common,
    check_device,
    has_matplotlib,
    positive_int,
    run_folder,
    say,
)

DESCRIPTION = """\
Run optimizers from the same start on a 2-D test function (Rosenbrock's banana valley,
Beale, the saddle x^2 - y^2) and draw their paths over its contours (minigrad.viz).
Writes trajectories-<function>.png (and an animated .gif with --gif) and a table of where
each optimizer ended.

examples:
  minigrad trajectories --function rosenbrock
  minigrad trajectories --function saddle --steps 200 --gif
  minigrad trajectories --function beale --optimizers adam,lion,l-bfgs
"""


def add_parser(sub):
    from ..viz.functions import FUNCTIONS

    p = sub.add_parser("trajectories", help="optimizer paths on Rosenbrock, Beale, a saddle",
                       description=DESCRIPTION, formatter_class=Formatter,
                       epilog=EPILOG_COMMON)
    p.add_argument("--function", choices=sorted(FUNCTIONS), default="rosenbrock")
    p.add_argument("--steps", type=positive_int, default=None,
                   help="steps per optimizer (default 500; 300 on the saddle)")
    p.add_argument("--optimizers", default=None,
                   help="comma-separated labels of the function's suite (default: all of it)")
    p.add_argument("--gif", action="store_true", help="also write an animated GIF")
    add_common(p, name_default="trajectories")
    return p


def _key(name):
    """An optimizer name compared without case, dashes and spaces: "L-BFGS" = "lbfgs"."""
    return "".join(c for c in name.lower() if c.isalnum())


def run(args):
    from ..viz import (
        DEFAULT_SUITES,
        animate_trajectories,
        compare_optimizers,
        get_function,
        plot_trajectories,
    )

    check_device(args.device)  # the paths are computed on the CPU: two parameters
    fn = get_function(args.function)
    suite = DEFAULT_SUITES[fn.name]
    if args.optimizers:
        given = [w.strip() for w in args.optimizers.split(",") if w.strip()]
        # a label ("L-BFGS", "Sophia-H") or, for the suite entry it names alone, the
        # optimizer's name as `minigrad train --optimizer` spells it ("lbfgs", "sophia")
        labels = {_key(label): (label, opt, kw) for label, opt, kw in suite}
        for label, opt, kw in suite:
            if sum(o == opt for _, o, _ in suite) == 1:
                labels.setdefault(_key(opt), (label, opt, kw))
        bad = [w for w in given if _key(w) not in labels]
        if bad:
            raise CLIError(f"--optimizers: no {', '.join(repr(b) for b in bad)} in the "
                           f"{fn.name} suite; choose from "
                           f"{', '.join(label for label, _, _ in suite)}")
        suite = list({labels[_key(w)][0]: labels[_key(w)] for w in given}.values())
    folder = run_folder(args.out, args.name, fresh=False)
    start = time.perf_counter()
    paths = compare_optimizers(fn, suite=suite, steps=args.steps,
                               progress=not args.no_progress)
    rows = ["| optimizer | steps | end point | f(end) | distance to minimum |",
            "|---|---|---|---|---|"]
    for label, pts in paths.items():
        end = pts[-1]
        value = float(fn.f(end[0], end[1]))
        dist = f"{fn.distance_to_minimum(end):.3g}" if fn.minimum is not None else "—"
        rows.append(f"| {label} | {len(pts) - 1} | ({end[0]:.4f}, {end[1]:.4f}) | "
                    f"{value:.3g} | {dist} |")
    table = "\n".join(rows)
    from ..train.callbacks import write_atomic

    write_atomic(os.path.join(folder, f"trajectories-{fn.name}.md"), table + "\n")
    png = os.path.join(folder, f"trajectories-{fn.name}.png")
    written = []
    if has_matplotlib():
        plot_trajectories(fn, paths, png)
        written.append(os.path.basename(png))
        if args.gif:
            gif = animate_trajectories(fn, paths, os.path.join(folder,
                                                               f"trajectories-{fn.name}.gif"))
            if gif:
                written.append(os.path.basename(gif))
    else:
        say(f"matplotlib is not installed: skipping {png} (pip install 'minigrad[plot]')")
    say(table)
    say(f"{time.perf_counter() - start:.1f}s; wrote {folder}: "
        + ", ".join(written + [f"trajectories-{fn.name}.md"]))
    return 0
