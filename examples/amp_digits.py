"""Mixed precision on the digits: the same MLP trained in float32 and under autocast.

    python examples/amp_digits.py [--device cuda] [--dtype float16|bfloat16] [--epochs 20]
                                  [--seed 0] [--no-progress]

Both runs start from the same weights and see the same batches. The second one computes
every matmul in half precision with float32 accumulation (``mg.amp.autocast``), keeps the
parameters, the loss and the optimizer state in float32 (the *master weights*), and scales
the loss so that small float16 gradients do not flush to zero (``mg.amp.GradScaler``:
start at 2^16, halve and skip the step on inf/NaN, double after ``growth_interval`` clean
steps). The optimizer is Adam with ``fused=True``: one update kernel per group on a GPU.

The five lines of a mixed-precision step, as in PyTorch::

    with mg.amp.autocast(dtype=mg.float16):
        loss = loss_fn(model(X), y)
    scaler.scale(loss).backward()        # gradients of loss * scale
    scaler.step(optimizer)               # unscale; skip the step if any is inf/NaN
    scaler.update()                      # grow or shrink the scale

The same code runs on the CPU (autocast emulates half products there: slower, but the
numbers are what a GPU computes up to summation order) and on a GPU (``--device cuda``).

Expected (seed 0, CPU, 20 epochs, about 6 s on a 2-core EPYC virtual machine;
``--no-progress``)::

    float32:           test accuracy 96.9%  (1.2s)
    autocast float16: test accuracy 96.9%  (3.8s)
    loss scale: 65536 at the start, 8.38861e+06 after 460 steps; 1 skipped for inf/NaN gradients
      step 390: scale 8.38861e+06 -> 4.1943e+06, parameters left as they were
    accuracy difference 0.0%

The scale doubles every 50 clean steps until a scaled float16 gradient overflows; that
step is skipped and the scale halved. Seeds 1-3 gave 97.2-97.8%, float16 equal to float32.
With ``--dtype bfloat16`` (float32's exponent range) no gradient overflows and no step is
skipped.
"""
import argparse
import time

from tqdm import tqdm

import minigrad as mg
from minigrad import nn, optim
from minigrad.cli.common import nonnegative_int, positive_float, positive_int
from minigrad.data import DataLoader, TensorDataset, digits_splits


def standardize(train, test, floor=0.1):
    """Per-pixel standardization with the training set's mean and std (+ ``floor``)."""
    X_train, y_train = train.tensors
    X_test, y_test = test.tensors
    mean, std = X_train.mean(0), X_train.std(0, correction=0) + floor
    return (TensorDataset((X_train - mean) / std, y_train),
            TensorDataset((X_test - mean) / std, y_test))


def build_model(device):
    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10)).to(device)


def train(args, train_set, test_set, half_dtype=None):
    """Train from seed ``args.seed``; ``half_dtype`` None means float32 throughout.
    Returns (test accuracy, seconds, the skipped steps' numbers, the scale after each
    step, scales[0] the initial one)."""
    mg.manual_seed(args.seed)  # the same weights and batches for both runs
    model = build_model(args.device)
    loader = DataLoader(train_set, batch_size=args.batch_size, shuffle=True, seed=args.seed,
                        device=args.device)
    loss_fn = nn.CrossEntropyLoss()
    optimizer = optim.Adam(model.parameters(), lr=args.lr, fused=True)
    scaler = mg.amp.GradScaler(enabled=half_dtype is not None,
                               growth_interval=args.growth_interval)
    skipped, scales = [], [scaler.get_scale()]
    start = time.perf_counter()
    label = "float32" if half_dtype is None else f"autocast {half_dtype}"
    for _ in tqdm(range(args.epochs), desc=label, disable=args.no_progress):
        model.train()
        for X, y in loader:
            optimizer.zero_grad()
            with mg.amp.autocast(dtype=half_dtype or mg.float16, enabled=half_dtype is not None):
                loss = loss_fn(model(X), y)
            scaler.scale(loss).backward()
            scaler.step(optimizer)
            before = scaler.get_scale()
            scaler.update()
            if scaler.get_scale() < before:  # the scale halves on a skipped step
                skipped.append(len(scales))
            scales.append(scaler.get_scale())
    seconds = time.perf_counter() - start
    model.eval()
    X_test, y_test = (t.to(args.device) for t in test_set.tensors)
    with mg.no_grad():
        correct = int((model(X_test).argmax(1) == y_test).sum().item())
    return correct / len(y_test), seconds, skipped, scales


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", default="cuda" if mg.cuda.is_available() else "cpu")
    parser.add_argument("--dtype", choices=["float16", "bfloat16"], default="float16")
    parser.add_argument("--epochs", type=positive_int, default=20)
    parser.add_argument("--batch-size", type=positive_int, default=64)
    parser.add_argument("--lr", type=positive_float, default=1e-3)
    parser.add_argument("--growth-interval", type=positive_int, default=50,
                        help="clean steps before the scale doubles (PyTorch: 2000)")
    parser.add_argument("--seed", type=nonnegative_int, default=0)
    parser.add_argument("--no-progress", action="store_true", help="no progress bars")
    args = parser.parse_args(argv)
    if args.device != "cpu" and args.dtype == "bfloat16" and not mg.cuda.is_bf16_supported():
        parser.error("this CuPy has no bfloat16 arrays (CuPy 14 and later have them when "
                     "ml_dtypes is installed); use --dtype float16")

    train_set, test_set = standardize(*digits_splits(flat=True))
    print(f"{len(train_set)} training and {len(test_set)} test images on {args.device}")
    acc32, t32, _, _ = train(args, train_set, test_set)
    print(f"float32:           test accuracy {acc32:.1%}  ({t32:.1f}s)")
    half = getattr(mg, args.dtype)
    acc16, t16, skipped, scales = train(args, train_set, test_set, half)
    print(f"autocast {args.dtype}: test accuracy {acc16:.1%}  ({t16:.1f}s)")
    print(f"loss scale: {scales[0]:g} at the start, {scales[-1]:g} after {len(scales) - 1} "
          f"steps; {len(skipped)} skipped for inf/NaN gradients")
    for step in skipped:
        print(f"  step {step}: scale {scales[step - 1]:g} -> {scales[step]:g}, "
              "parameters left as they were")
    print(f"accuracy difference {abs(acc16 - acc32):.1%}")
    return acc32, acc16, skipped, scales


if __name__ == "__main__":
    main()
