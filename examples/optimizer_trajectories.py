"""Optimizer trajectories on Rosenbrock, Beale and the saddle x² − y².

Writes, for each function, a PNG of every optimizer's path over the contours and (when
pillow is installed) an animated GIF, into ``--out`` (default ``runs/``)::

    python examples/optimizer_trajectories.py --out runs/ --steps 500

Expected: L-BFGS reaches Rosenbrock's minimum (1, 1) in a few dozen iterations, Sophia-H
in a few hundred steps, while plain SGD is still crawling along the valley; on Beale,
Adam, Sophia-H and L-BFGS reach (3, 0.5); on the saddle every method started just off
the x axis slides to x = 0 and then escapes along y (adaptive methods much faster).
Needs matplotlib (``pip install minigrad[plot]``).
"""
import argparse
import os

from minigrad.cli.common import positive_int
from minigrad.viz import FUNCTIONS, animate_trajectories, compare_optimizers, plot_trajectories


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs", help="output folder (default: runs/)")
    parser.add_argument("--steps", type=positive_int, default=None,
                        help="steps per optimizer (default: 500, 300 on the saddle)")
    parser.add_argument("--functions", nargs="+", default=list(FUNCTIONS),
                        choices=list(FUNCTIONS))
    parser.add_argument("--no-gif", action="store_true", help="skip the animated GIFs")
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    for name in args.functions:
        fn = FUNCTIONS[name]
        paths = compare_optimizers(fn, steps=args.steps)
        png = plot_trajectories(fn, paths, os.path.join(args.out, f"trajectories_{name}.png"))
        print(f"wrote {png}")
        for label, pts in paths.items():
            end = pts[-1]
            where = (f"distance to minimum {fn.distance_to_minimum(end):.2e}"
                     if fn.minimum is not None else f"f = {fn.f(*end):.3g}")
            print(f"  {label:10s} {len(pts) - 1:4d} steps, ends at ({end[0]: .4f}, {end[1]: .4f}),"
                  f" {where}")
        if not args.no_gif:
            gif = os.path.join(args.out, f"trajectories_{name}.gif")
            gif = animate_trajectories(fn, paths, gif)
            if gif:
                print(f"wrote {gif}")


if __name__ == "__main__":
    main()
