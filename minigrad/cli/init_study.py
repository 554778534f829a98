"""``minigrad init-study``: activation and gradient scale per layer, for each initializer."""
from __future__ import annotations

import os
import time

from .common import (
    EPILOG_COMMON,
    Formatter,
    add_common,
    check_device,
    comma_list,
    has_matplotlib,
    positive_int,
    run_folder,
    say,
    skip_plot_note,
)

DESCRIPTION = """\
Feed N(0, 1) inputs through a deep stack of Linear(width, width) layers with tanh or ReLU
and record, layer by layer, the standard deviation of the activations (forward) and of the
back-propagated gradients (backward), for each initializer: zero, constant, N(0, 1),
N(0, 1/n) ("calibrated"), Xavier, Kaiming and orthogonal (Glorot & Bengio 2010, figures
6-7). Writes init_study.png, init_study.md (a table) and init_study.json.

examples:
  minigrad init-study --depth 50
  minigrad init-study --depth 100 --width 256 --activations relu --initializers xavier,kaiming
"""


def add_parser(sub):
    from ..train.init_study import ACTIVATIONS, INITIALIZERS

    p = sub.add_parser("init-study", help="activation/gradient std per layer per initializer",
                       description=DESCRIPTION, formatter_class=Formatter,
                       epilog=EPILOG_COMMON)
    p.add_argument("--depth", type=positive_int, default=50, help="number of layers")
    p.add_argument("--width", type=positive_int, default=128, help="units per layer")
    p.add_argument("--batch", type=positive_int, default=256, help="input samples")
    p.add_argument("--initializers", type=comma_list(INITIALIZERS, "initializer"),
                   default="all", help="comma-separated initializers, or 'all'")
    p.add_argument("--activations", type=comma_list(ACTIVATIONS, "activation"),
                   default="tanh,relu", help="comma-separated activations")
    add_common(p, name_default="init-study")
    return p


def run(args):
    from ..train.callbacks import write_atomic, write_json
    from ..train.init_study import format_table, init_study, plot_init_study

    check_device(args.device)
    folder = run_folder(args.out, args.name, fresh=False)
    start = time.perf_counter()
    results = init_study(depth=args.depth, width=args.width, batch=args.batch,
                         initializers=args.initializers, activations=args.activations,
                         seed=args.seed, device=args.device)
    table = format_table(results, args.depth)
    write_atomic(os.path.join(folder, "init_study.md"), table + "\n")
    write_json(os.path.join(folder, "init_study.json"), {
        "depth": args.depth, "width": args.width, "batch": args.batch, "seed": args.seed,
        "results": [{"initializer": i, "activation": a, **r} for (i, a), r in results.items()],
    })
    png = os.path.join(folder, "init_study.png")
    if has_matplotlib():
        plot_init_study(results, png, args.depth)
    else:
        skip_plot_note(png)
    say(table)
    say(f"{time.perf_counter() - start:.1f}s; wrote {folder}")
    return 0
