"""Learning-rate schedules, one panel each (momentum too where it is cycled).

    python examples/lr_schedules.py --out runs/ --steps 100

Writes ``lr_schedules.png`` into ``--out`` (default ``runs/``) and prints a few values of
each schedule so they can be checked without looking at the picture, e.g. cosine
annealing from 0.1 to 0.001 over 100 steps passes 0.0505 at step 50. Also shows the
linear scaling rule: base lr 0.1 at batch 256 becomes 3.2 at batch 8192 (Goyal et al.).
Needs matplotlib (``pip install minigrad[plot]``).
"""
import argparse
import os

from minigrad.cli.common import positive_float, positive_int
from minigrad.optim.lr_scheduler import linear_scaling_rule
from minigrad.viz import default_schedules, plot_schedules, schedule_values


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="runs", help="output folder (default: runs/)")
    parser.add_argument("--steps", type=positive_int, default=100)
    parser.add_argument("--lr", type=positive_float, default=0.1)
    args = parser.parse_args(argv)
    os.makedirs(args.out, exist_ok=True)
    schedules = default_schedules(args.steps)
    probe = sorted({0, 1, args.steps // 4, args.steps // 2, args.steps - 1})
    for title, make in schedules.items():
        lrs = schedule_values(make, steps=args.steps, lr=args.lr)["lr"]
        shown = ", ".join(f"t={t}: {lrs[t]:.4g}" for t in probe)
        print(f"{title:34s} {shown}")
    print(f"linear scaling rule: lr 0.1 at batch 256 -> {linear_scaling_rule(0.1, 8192):.2f} "
          "at batch 8192")
    path = plot_schedules(schedules, os.path.join(args.out, "lr_schedules.png"),
                          steps=args.steps, lr=args.lr)
    print(f"wrote {path}")


if __name__ == "__main__":
    main()
