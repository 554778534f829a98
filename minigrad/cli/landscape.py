"""``minigrad landscape``: loss slices around trained weights (Li et al. 2018) and sharpness."""
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
    int_at_least,
    nonnegative_int,
    one_line,
    positive_float,
    positive_int,
    read_run_checkpoint,
    run_folder,
    say,
    skip_plot_note,
)

DESCRIPTION = """\
Plot the loss around the weights of a checkpoint written by `minigrad train`: a 1-D slice
and 2-D contours along random filter-normalised directions (Li et al. 2018; biases and
BatchNorm parameters are not moved), on a fixed set of training samples with the model in
eval mode; and the sharpness, the largest eigenvalue of the Hessian of that loss, by power
iteration on Hessian-vector products. Writes landscape.png and landscape.json.

examples:
  minigrad train --model cnn --epochs 10 --name cnn
  minigrad landscape --checkpoint runs/cnn/best.npz
  minigrad landscape --checkpoint runs/cnn/last.npz --resolution 31 --span 0.5 --samples 1000
"""


def add_parser(sub):
    p = sub.add_parser("landscape", help="1-D/2-D loss landscape and sharpness of a checkpoint",
                       description=DESCRIPTION, formatter_class=Formatter,
                       epilog=EPILOG_COMMON)
    p.add_argument("--checkpoint", required=True,
                   help="a best.npz / last.npz written by `minigrad train` (or its folder: "
                        "its best.npz, else its last.npz)")
    p.add_argument("--samples", type=positive_int, default=512,
                   help="training samples the loss is averaged over")
    p.add_argument("--span", type=positive_float, default=1.0,
                   help="α and β range over [-span, span]")
    p.add_argument("--points", type=int_at_least(3), default=41,
                   help="points of the 1-D slice")
    p.add_argument("--resolution", type=int_at_least(3), default=21,
                   help="grid points per axis of the 2-D map")
    p.add_argument("--power-iters", type=nonnegative_int, default=20,
                   help="power-iteration steps for the sharpness (0: skip)")
    add_common(p, name_default=None)
    return p


def load_trained(path, device):
    """(config, task, model, loss_fn) rebuilt from a `minigrad train` checkpoint."""
    from .train import build_run

    path, state = read_run_checkpoint(path, "--checkpoint", ("best.npz", "last.npz"),
                                      need=("model",))
    config = state["extra"]["config"]
    import minigrad as mg

    mg.manual_seed(config["seed"])
    task, model, loss_fn = build_run(config, device)
    try:
        model.load_state_dict(state["model"])
    except (RuntimeError, KeyError, TypeError) as e:
        raise CLIError(f"--checkpoint: {path} does not match its own model: {one_line(e)}") \
            from None
    return config, state, task, model, loss_fn


def run(args):
    import numpy as np

    from ..train.callbacks import write_json
    from ..train.landscape import (
        filter_normalized_direction,
        interpolate_1d,
        plot_landscape,
        sharpness,
        surface_2d,
    )

    device = check_device(args.device)
    config, state, task, model, loss_fn = load_trained(args.checkpoint, device)
    run_name = state["extra"].get("name", "run")
    folder = run_folder(args.out, args.name or f"landscape-{run_name}", fresh=False)
    n = min(args.samples, len(task.train))
    X, y = task.train.tensors
    X, y = X[:n], y[:n]
    if device != "cpu":
        X, y = X.to(device), y.to(device)
    batches = [(X[i:i + 256], y[i:i + 256]) for i in range(0, n, 256)]
    classification = task.kind == "classification"
    rng = np.random.default_rng(args.seed)
    d1 = filter_normalized_direction(model, rng)
    d2 = filter_normalized_direction(model, rng)
    alphas = np.linspace(-args.span, args.span, args.points)
    if args.points % 2:
        alphas[args.points // 2] = 0.0  # exactly the weights, whatever the rounding
    grid = np.linspace(-args.span, args.span, args.resolution)
    say(f"{run_name}: epoch {state.get('epoch')}, {config['model']} on {task.name}; loss over "
        f"{n} training samples")
    start = time.perf_counter()
    one = interpolate_1d(model, loss_fn, batches, d1, alphas, with_accuracy=classification)
    losses_1d, acc_1d = one if classification else (one, None)
    bar = None
    if not args.no_progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=args.resolution ** 2, desc="2-D grid", leave=False)
    Z = surface_2d(model, loss_fn, batches, d1, d2, grid, grid,
                   progress=None if bar is None else (lambda: bar.update(1)))
    if bar is not None:
        bar.close()
    if args.points % 2:
        center = float(losses_1d[args.points // 2])
    else:  # an even --points leaves α = 0, the weights themselves, between two points
        at_zero = interpolate_1d(model, loss_fn, batches, d1, np.zeros(1), with_accuracy=False)
        center = float(at_zero[0])
    result = {"checkpoint": os.path.abspath(args.checkpoint), "run": run_name,
              "samples": n, "span": args.span, "alphas_1d": alphas.tolist(),
              "loss_1d": losses_1d.tolist(),
              "accuracy_1d": None if acc_1d is None else acc_1d.tolist(),
              "alphas_2d": grid.tolist(), "betas_2d": grid.tolist(), "loss_2d": Z.tolist(),
              "loss_at_center": center, "sharpness": None, "sharpness_iterations": []}
    if args.power_iters:
        lam, history = sharpness(model, loss_fn, (X[:min(n, 256)], y[:min(n, 256)]),
                                 iters=args.power_iters, seed=args.seed)
        result["sharpness"], result["sharpness_iterations"] = lam, history
        result["sharpness_samples"] = min(n, 256)
    write_json(os.path.join(folder, "landscape.json"), result)
    png = os.path.join(folder, "landscape.png")
    if has_matplotlib():
        plot_landscape(result, png, title=f"{config['model']} on {task.name} "
                                          f"({run_name}, epoch {state.get('epoch')})")
    else:
        skip_plot_note(png)
    say(f"loss at the weights {center:.4f}; over the 1-D slice {losses_1d.min():.4f} .. "
        f"{losses_1d.max():.4f}; over the 2-D grid {Z.min():.4f} .. {Z.max():.4f}")
    if result["sharpness"] is not None:
        say(f"sharpness (largest Hessian eigenvalue, {len(result['sharpness_iterations'])} "
            f"power iterations on {result['sharpness_samples']} samples): "
            f"{result['sharpness']:.5g}")
    say(f"{time.perf_counter() - start:.1f}s; wrote {folder}")
    return 0
