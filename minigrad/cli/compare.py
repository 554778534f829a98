"""``minigrad compare``: optimizers × schedules × tasks × seeds, with and without lr tuning."""
from __future__ import annotations

import os
import time

from .common import (
    EPILOG_COMMON,
    CLIError,
    Formatter,
    add_common,
    check_device,
    comma_list,
    float_pair,
    has_matplotlib,
    nonnegative_int,
    positive_int,
    run_folder,
    say,
    skip_plot_note,
)

DEFAULT_OPTIMIZERS = ("sgd,momentum,nesterov,adagrad,rmsprop,adadelta,adam,adamw,nadam,"
                      "adabelief,lion,sophia")

DESCRIPTION = """\
Compare optimizers in the spirit of Schmidt et al. 2021 ("Descending through a crowded
valley"): every optimizer with its default hyperparameters and, with --tune-trials K,
with the best of K log-uniform learning rates (chosen on validation data), over the tasks
digits-mlp, digits-cnn, regression and rosenbrock; several seeds each. Writes compare.md
(a markdown table: mean ± std of the final test metric, time per run), compare.json (every
run, with its learning curve) and compare.png (learning curves).

examples:
  minigrad compare --optimizers sgd,momentum,adam,lion --schedules constant,cosine --seeds 2
  minigrad compare --seeds 3 --budget-epochs 10 --tune-trials 8
  minigrad compare --tasks rosenbrock,regression --optimizers all --seeds 3
  minigrad compare --tasks digits-mlp --subset 400 --budget-epochs 3 --seeds 1   # a quick look
"""


def add_parser(sub):
    from ..train.compare import TASKS
    from ..train.recipes import OPTIMIZERS, SCHEDULES

    p = sub.add_parser("compare", help="optimizer comparison harness (table and curves)",
                       description=DESCRIPTION, formatter_class=Formatter,
                       epilog=EPILOG_COMMON)
    p.add_argument("--optimizers", type=comma_list(OPTIMIZERS, "optimizer"),
                   default=DEFAULT_OPTIMIZERS,
                   help="comma-separated optimizer names, or 'all'")
    p.add_argument("--schedules", type=comma_list(SCHEDULES, "schedule"),
                   default="constant,cosine",
                   help="comma-separated learning-rate schedules")
    p.add_argument("--tasks", type=comma_list(TASKS, "task"), default=",".join(TASKS),
                   help="comma-separated tasks")
    p.add_argument("--seeds", type=positive_int, default=3, help="seeds per setting")
    p.add_argument("--budget-epochs", type=positive_int, default=10,
                   help="epochs per run (Rosenbrock: 100 steps per epoch)")
    p.add_argument("--tune-trials", type=nonnegative_int, default=0,
                   help="random-search trials of the learning rate (0: defaults only)")
    p.add_argument("--lr-range", type=float_pair, default=(1e-4, 1.0),
                   help="log-uniform range LOW,HIGH of the tuned learning rate")
    p.add_argument("--subset", type=positive_int, default=None,
                   help="use this many training samples of each data set")
    add_common(p, name_default="compare")
    return p


def run(args):
    from ..train.callbacks import write_atomic, write_json
    from ..train.compare import compare, markdown_table, plot_curves
    from ..train.datasets import DatasetError

    device = check_device(args.device)
    # (argparse passes string defaults through ``type`` too: these are lists)
    optimizers, schedules, tasks = args.optimizers, args.schedules, args.tasks
    folder = run_folder(args.out, args.name, fresh=False, create=False)  # made once it ran
    seeds = list(range(args.seed, args.seed + args.seeds))
    say(f"{len(tasks)} task(s) × {len(optimizers)} optimizer(s) × {len(schedules)} "
        f"schedule(s) × {len(seeds)} seed(s), {args.budget_epochs} epochs each"
        + (f", lr tuned with {args.tune_trials} trials" if args.tune_trials else ""))
    start = time.perf_counter()
    try:
        results = compare(optimizers, schedules, tasks, seeds=seeds, epochs=args.budget_epochs,
                          tune_trials=args.tune_trials, lr_range=args.lr_range,
                          subset=args.subset, progress=not args.no_progress, device=device)
    except DatasetError as e:
        raise CLIError(f"--subset {args.subset}: {e}; use a larger --subset") from None
    results["config"]["seconds"] = time.perf_counter() - start
    run_folder(args.out, args.name, fresh=False)  # (a bad --subset leaves no empty folder)
    table = markdown_table(results)
    write_atomic(os.path.join(folder, "compare.md"), table + "\n")
    write_json(os.path.join(folder, "compare.json"), results)
    png = os.path.join(folder, "compare.png")
    if has_matplotlib():
        plot_curves(results, png)
    else:
        skip_plot_note(png)
    say(table)
    say(f"{time.perf_counter() - start:.1f}s; wrote {folder}/compare.md, compare.json"
        + (", compare.png" if has_matplotlib() else ""))
    return 0
