r"""Training steps on the GPU, minigrad beside PyTorch eager, fp32 and fp16 autocast.

    python benchmarks/gpu_training.py --out benchmarks/results/ [--quick]
                                      [--sections mlp,resnet,adam]
    python benchmarks/gpu_training.py --out /tmp/x --device cpu --tiny   (a smoke run)

Measures, on the current CUDA device, in one process (CuPy and torch share the GPU):
  mlp     one training step (zero_grad, forward, cross-entropy, backward, Adam step) of
          the digits MLP 64-256-256-10 (examples/mlp_digits.py, dropout left out) on a
          fixed batch of 1024 digit images;
  resnet  the same for a small ResNet on random 3×32×32 images, batch 128:
          conv3×3(32)-BN-ReLU, BasicBlock(32), BasicBlock(64, stride 2),
          BasicBlock(128, stride 2), global average pool, Linear(128, 10);
  adam    one fused Adam step over 10M float32 parameters (16 tensors of 625k),
          minigrad ``fused_step`` (one ElementwiseKernel over a flat buffer) vs
          ``torch.optim.Adam(fused=True)``; also minigrad's per-tensor Adam and the bare
          kernel on the flat buffer; fraction of the measured copy bandwidth for the
          minimum traffic (θ, g, m, v read; θ, m, v written: 28 bytes per parameter);
          the parameters of both after the timed steps agree (relative error printed).

Each step is timed as wall-clock over a block of steps ended by a device synchronization
(so CPU overhead that overlaps GPU work is not double counted), after warm-up; the
median over blocks is reported. The headline minigrad/PyTorch rows take the two sides'
blocks in turn (``time_interleaved``) and also report the block ratios' quartiles.
fp16 rows use autocast + GradScaler on both sides.
minigrad uses its fused Adam step (``fused_step``) and ``fused_cross_entropy``; PyTorch
uses ``Adam(fused=True)`` and ``F.cross_entropy``, with its default settings (cuDNN, TF32
for fp32 convolutions as PyTorch enables by default: recorded in the JSON).

Targets (issue 7): fused Adam within 1.2× of torch fused; ResNet step within 2× of
PyTorch eager. A failing part is caught and recorded; the rest still runs.
Writes DIR/gpu-training-<date>.json and DIR/gpu-training-<date>.md.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import _timing  # noqa: E402
from _gpu_report import (  # noqa: E402
    Recorder,
    device_info,
    fmt,
    markdown_header,
    results_path,
    versions,
)

import minigrad as mg  # noqa: E402
from minigrad import _backend  # noqa: E402

cp = None     # cupy, bound in main() (numpy under --device cpu)
torch = None  # torch, when it imports (with CUDA, unless --device cpu)
DEV = "cuda"  # --device cpu: a smoke run of this script without a GPU (numbers meaningless)

TARGETS = {"adam": 1.2, "resnet": 2.0}
# Sizes and repetitions: full (the measurement), --quick (fewer repetitions) and --tiny
# (tiny sizes: a test runs the whole script on the CPU in seconds to prove it works).
SIZES = {
    "full": dict(adam_tensors=16, adam_per=625_000, adam_reps=(50, 5), mlp_batch=1024,
                 mlp_reps=(30, 5), resnet_batch=128, resnet_reps=(8, 3), blocks=5),
    "quick": dict(adam_tensors=16, adam_per=625_000, adam_reps=(10, 3), mlp_batch=1024,
                  mlp_reps=(10, 5), resnet_batch=128, resnet_reps=(3, 3), blocks=5),
    "tiny": dict(adam_tensors=4, adam_per=1000, adam_reps=(2, 1), mlp_batch=32,
                 mlp_reps=(1, 1), resnet_batch=2, resnet_reps=(1, 1), blocks=2),
}
SIZE = SIZES["full"]


# ----------------------------------------------------------------------------- helpers


def sync():
    if DEV == "cuda":
        cp.cuda.Device().synchronize()


def block_ms(step, reps):
    """Wall-clock ms per ``step()`` over one block of ``reps`` steps ended by a device
    synchronization."""
    return _timing.block_ms(step, sync, reps)


def time_steps(step, reps, warmup, blocks=None):
    """Median wall-clock ms per ``step()`` over ``blocks`` blocks of ``reps`` steps."""
    blocks = SIZE["blocks"] if blocks is None else blocks
    return _timing.median_block_ms(step, sync, reps, warmup, blocks)


def time_interleaved(step_a, step_b, reps, warmup, blocks=None):
    """(median ms of a, median ms of b, [q1, median, q3] of the blocks' ratios a/b): blocks
    of ``reps`` steps of a and of b taken in turn (a, b, a, b, ...), so that a drift in the
    host's speed between blocks falls on both sides alike. (On an H200 at stop 25, two runs
    timed one side after the other a few minutes apart gave the fp16 ResNet ratio as 1.49
    and 2.32, PyTorch's own step as 6.09 and 3.9 ms.)"""
    blocks = 2 * SIZE["blocks"] + 1 if blocks is None else blocks
    for _ in range(warmup):
        step_a()
        step_b()
    sync()
    times_a, times_b = [], []
    for _ in range(blocks):
        times_a.append(block_ms(step_a, reps))
        times_b.append(block_ms(step_b, reps))
    ratios = [a / b for a, b in zip(times_a, times_b)]
    quartiles = statistics.quantiles(ratios, n=4) if len(ratios) > 1 else ratios * 3
    return statistics.median(times_a), statistics.median(times_b), quartiles


def _cleanup():
    sync()
    if DEV == "cuda":
        cp.get_default_memory_pool().free_all_blocks()
        if torch is not None:
            torch.cuda.empty_cache()


REPORT = Recorder(cleanup=_cleanup)
RESULTS, record, guarded = REPORT.results, REPORT.record, REPORT.guarded


def compare(section, name, t_mg, t_torch, **extra):
    ratio = t_mg / t_torch if (t_mg and t_torch) else None
    target = TARGETS.get(section)
    meets = None if ratio is None or target is None else ratio <= target
    return record(section, name, minigrad_ms=t_mg, torch_ms=t_torch,
                  ratio_minigrad_over_torch=ratio, target_ratio=target, meets_target=meets,
                  **extra)


def fused_adam(params, lr):
    """minigrad Adam whose ``step`` is the fused step (``fused=True`` when the class has
    the switch; otherwise ``minigrad.optim.fused.fused_step`` on the instance)."""
    import inspect

    from minigrad import optim
    from minigrad.optim.fused import fused_step

    if "fused" in inspect.signature(optim.Adam).parameters:
        return optim.Adam(params, lr=lr, fused=True)
    opt = optim.Adam(params, lr=lr)
    opt.step = lambda closure=None: fused_step(opt, closure)
    return opt


# ----------------------------------------------------------------------------- models


def mlp_mg():
    from minigrad import nn

    return nn.Sequential(nn.Linear(64, 256), nn.ReLU(), nn.Linear(256, 256), nn.ReLU(),
                         nn.Linear(256, 10))


def mlp_torch():
    n = torch.nn
    return n.Sequential(n.Linear(64, 256), n.ReLU(), n.Linear(256, 256), n.ReLU(),
                        n.Linear(256, 10))


WIDTHS = (32, 64, 128)


def resnet_mg(widths=WIDTHS):
    """The small ResNet: a stem convolution, three basic blocks (the last two halve the
    resolution), global average pooling, a linear layer to 10 classes.
    (tests/train/test_torch_end_to_end.py trains it, narrower, against PyTorch.)"""
    from minigrad import nn

    a, b, c = widths
    return nn.Sequential(
        nn.Conv2d(3, a, 3, padding=1, bias=False), nn.BatchNorm2d(a), nn.ReLU(),
        nn.BasicBlock(a, a), nn.BasicBlock(a, b, stride=2), nn.BasicBlock(b, c, stride=2),
        nn.AdaptiveAvgPool2d(1), nn.Flatten(), nn.Linear(c, 10))


def resnet_torch(widths=WIDTHS, lib=None):
    """:func:`resnet_mg` in PyTorch (``lib``: the torch module, when this script's
    ``main`` did not bind it)."""
    n = (lib or torch).nn
    a, b, c = widths

    class BasicBlock(n.Module):
        def __init__(self, cin, cout, stride=1):
            super().__init__()
            self.conv1 = n.Conv2d(cin, cout, 3, stride, 1, bias=False)
            self.bn1 = n.BatchNorm2d(cout)
            self.relu = n.ReLU()
            self.conv2 = n.Conv2d(cout, cout, 3, 1, 1, bias=False)
            self.bn2 = n.BatchNorm2d(cout)
            self.downsample = None
            if stride != 1 or cin != cout:
                self.downsample = n.Sequential(n.Conv2d(cin, cout, 1, stride, bias=False),
                                               n.BatchNorm2d(cout))

        def forward(self, x):
            out = self.relu(self.bn1(self.conv1(x)))
            out = self.bn2(self.conv2(out))
            identity = x if self.downsample is None else self.downsample(x)
            return self.relu(identity + out)

    return n.Sequential(
        n.Conv2d(3, a, 3, padding=1, bias=False), n.BatchNorm2d(a), n.ReLU(),
        BasicBlock(a, a), BasicBlock(a, b, 2), BasicBlock(b, c, 2),
        n.AdaptiveAvgPool2d(1), n.Flatten(), n.Linear(c, 10))


# ----------------------------------------------------------------------------- steps


def mg_step_parts(model, X, y, amp, set_to_none=False):
    """(body, update, seen) of minigrad's training step: ``body()`` zeroes the gradients
    (``zero_grad(set_to_none)``), runs forward and loss (under autocast with ``amp``) and
    the scaled backward, returning the loss; ``update()`` is the scaler's step (fused
    Adam) and update; ``seen["logits"]`` the logits' dtype."""
    from minigrad.amp import GradScaler, autocast
    from minigrad.ops.fused import fused_cross_entropy

    opt = fused_adam(list(model.parameters()), 1e-3)
    scaler = GradScaler(enabled=amp)
    seen = {}

    def body():
        # Zeroed in place, not set to None: the gradients stay the same views of the fused
        # optimizer's flat buffer from step to step, which a captured CUDA graph needs.
        # (set_to_none=True, the default, costs the same launches: one fresh zeroed buffer
        # whose views the backward fills; tests/test_launch_counts.py counts both.)
        opt.zero_grad(set_to_none=set_to_none)
        with autocast(enabled=amp):
            logits = model(X)
            loss = fused_cross_entropy(logits, y)
        seen["logits"] = logits.dtype
        scaler.scale(loss).backward()
        return loss

    def update():
        scaler.step(opt)
        scaler.update()

    return body, update, seen


def mg_step_fn(model, X, y, amp, set_to_none=False):
    """(step, seen): one eager training step (:func:`mg_step_parts`)."""
    body, update, seen = mg_step_parts(model, X, y, amp, set_to_none)

    def step():
        body()
        update()

    return step, seen


def mg_setup(make_mg, x_host, y_host):
    """(model, X, y): the model of ``make_mg`` from seed 0 and the batch, on DEV."""
    mg.manual_seed(0)
    model = make_mg().to(DEV)
    return model, mg.tensor(x_host, device=DEV), mg.tensor(y_host, device=DEV)


def memory_after_steps(step, used_bytes, n=6):
    """Device bytes in use (``used_bytes()``) after each of ``n`` calls of ``step``: all
    equal when nothing a step allocates outlives it (a long loop does not grow). The
    garbage of earlier code is collected first and the cyclic collector is off meanwhile,
    so nothing else is freed during the steps and memory a reference cycle of theirs held
    would show as growth."""
    import gc

    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        sizes = []
        for _ in range(n):
            step()
            sizes.append(int(used_bytes()))
        return sizes
    finally:
        if was_enabled:
            gc.enable()


def mg_graphed_step_fn(model, X, y, amp=False, warmup=3):
    """The step with zero_grad, forward, loss and backward recorded once in a CUDA graph
    (``mg.cuda.graph``) and replayed; the fused Adam step (one launch, its bias corrections
    formed on the host each step) runs eagerly after each replay, as in PyTorch's
    whole-network capture recipe. With ``amp``: the forward under autocast and the backward
    of ``scaler.scale(loss)`` captured (the scale read from its device copy at each
    replay), ``scaler.step``/``update`` eager. Returns (step, the captured loss Tensor)."""
    body, update, _ = mg_step_parts(model, X, y, amp)
    for _ in range(warmup):  # eager: kernels compiled, flat buffers made, .grad are views
        body()
        update()
    graph = mg.cuda.CUDAGraph()
    with mg.cuda.graph(graph):
        static_loss = body()

    def step():
        graph.replay()
        update()

    return step, static_loss


def graph_matches_eager(make_mg, x_host, y_host, amp=False, steps=4):
    """|loss_graphed − loss_eager| / |loss_eager| after ``steps`` steps of each from the
    same initial weights (the graphed step's warm-up steps counted as steps)."""
    from minigrad.ops.fused import fused_cross_entropy

    losses = []
    for graphed in (False, True):
        model, X, y = mg_setup(make_mg, x_host, y_host)
        if graphed:
            step, _ = mg_graphed_step_fn(model, X, y, amp, warmup=2)
            n = steps - 2
        else:
            step, _ = mg_step_fn(model, X, y, amp)
            n = steps
        for _ in range(n):
            step()
        with mg.no_grad():
            losses.append(float(fused_cross_entropy(model(X), y).item()))
    return abs(losses[1] - losses[0]) / abs(losses[0])


def torch_step_fn(model, X, y, amp):
    opt = torch.optim.Adam(model.parameters(), lr=1e-3, fused=True)
    scaler = torch.amp.GradScaler(DEV, enabled=amp)
    F = torch.nn.functional

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(DEV, dtype=torch.float16, enabled=amp):
            loss = F.cross_entropy(model(X), y)
        scaler.scale(loss).backward()
        scaler.step(opt)
        scaler.update()

    return step


def bench_model(section, label, make_mg, make_torch, x_host, y_host, reps, warmup):
    for amp in (False, True):
        prec = "fp16 autocast" if amp else "fp32"

        def run_mg(amp=amp):
            step, seen = mg_step_fn(*mg_setup(make_mg, x_host, y_host), amp)
            t = time_steps(step, reps, warmup)
            return t, str(seen.get("logits"))

        def torch_step(amp=amp):
            torch.manual_seed(0)
            model = make_torch().to(DEV)
            X = torch.as_tensor(x_host, device=DEV)
            y = torch.as_tensor(y_host, device=DEV)
            return torch_step_fn(model, X, y, amp)

        def run_pair(amp=amp):  # the headline ratio: blocks of each side in turn
            step, seen = mg_step_fn(*mg_setup(make_mg, x_host, y_host), amp)
            t_a, t_b, quartiles = time_interleaved(step, torch_step(amp), reps, warmup)
            return t_a, t_b, quartiles, str(seen.get("logits"))

        pair = None if torch is None else guarded(section, f"{label} {prec} (pair)", run_pair)
        extra = {}
        if pair:
            t_mg, t_torch, quartiles, logits_dtype = pair
            extra = dict(ratio_block_quartiles=quartiles,
                         timing="blocks of minigrad and PyTorch steps in turn")
        else:  # no PyTorch, or one side failed: each side on its own, failures named
            res = guarded(section, f"{label} {prec} (minigrad)", run_mg)
            t_mg, logits_dtype = res if res else (None, None)
            t_torch = None
            if torch is not None:
                t_torch = guarded(section, f"{label} {prec} (torch)",
                                  lambda amp=amp: time_steps(torch_step(amp), reps, warmup))
        note = ""
        if amp and logits_dtype and logits_dtype != "float16":
            note = f"autocast not effective: logits are {logits_dtype} (matmul/conv not wired)"
        elif "ratio_block_quartiles" in extra:
            q1, _, q3 = extra["ratio_block_quartiles"]
            note = f"blocks in turn; block ratios' quartiles {q1:.2f}-{q3:.2f}"
        compare(section, f"{label} {prec}", t_mg, t_torch, minigrad_logits_dtype=logits_dtype,
                note=note, **extra)
        if DEV == "cuda":  # the same step before the direct cuBLAS products and conv kernels
            def run_cupy_path(amp=amp):
                from minigrad.kernels.cublas_gemm import direct_gemm

                with direct_gemm(False):
                    return run_mg(amp)[0]

            t_old = guarded(section, f"{label} {prec} (minigrad, cupy.matmul path)",
                            run_cupy_path)
            compare(section, f"{label} {prec}, minigrad with direct_gemm(False)", t_old,
                    t_torch, direct_path_speedup=(t_old / t_mg if t_old and t_mg else None),
                    note="products through cupy.matmul, convolutions on CuPy arrays "
                         "(the path before im2col.cu and cublas_gemm)")
        if DEV != "cuda":
            continue  # no CUDA graphs on the CPU

        def run_graphed(amp=amp):
            step, _ = mg_graphed_step_fn(*mg_setup(make_mg, x_host, y_host), amp)
            return time_steps(step, reps, warmup)

        t_graph = guarded(section, f"{label} {prec} CUDA graph (minigrad)", run_graphed)
        diff = guarded(section, f"{label} {prec} CUDA graph vs eager", graph_matches_eager,
                       make_mg, x_host, y_host, amp)
        compare(section, f"{label} {prec}, minigrad forward+backward in a CUDA graph", t_graph,
                t_torch, loss_rel_diff_vs_eager_after_4_steps=diff,
                note="PyTorch eager; minigrad replays one captured graph, Adam "
                     + ("and the scaler's step eager" if amp else "eager"))


def bench_mlp():
    from minigrad.data import load_digits

    X, y = load_digits(flat=True)
    batch = SIZE["mlp_batch"]
    idx = np.random.default_rng(0).integers(0, X.shape[0], batch)
    reps, warmup = SIZE["mlp_reps"]
    bench_model("mlp", f"digits MLP 64-256-256-10, batch {batch}", mlp_mg, mlp_torch,
                np.ascontiguousarray(X.data[idx]), np.ascontiguousarray(y.data[idx]),
                reps=reps, warmup=warmup)


def bench_resnet():
    rng = np.random.default_rng(0)
    batch = SIZE["resnet_batch"]
    x = rng.standard_normal((batch, 3, 32, 32)).astype(np.float32)
    y = rng.integers(0, 10, batch)
    reps, warmup = SIZE["resnet_reps"]
    bench_model("resnet", f"small ResNet 32x32, batch {batch}", resnet_mg, resnet_torch, x,
                y, reps=reps, warmup=warmup)


# ----------------------------------------------------------------------------- fused Adam


def copy_bandwidth():
    """Device-to-device copy bandwidth in GB/s (read + write bytes over time)."""
    a = cp.empty(2**28 if DEV == "cuda" else 2**24, dtype=np.uint8)
    b = cp.empty_like(a)
    t = time_steps(lambda: b.__setitem__(Ellipsis, a), reps=10, warmup=2, blocks=3)
    return 2 * a.nbytes / (t * 1e-3) / 1e9


def bench_adam():
    from minigrad import optim
    from minigrad.optim.fused import adam_program, fused_rules, fused_step

    n_tensors, per = SIZE["adam_tensors"], SIZE["adam_per"]
    n = n_tensors * per
    size = f"{n / 1e6:.3g}M params in {n_tensors} tensors"
    rng = np.random.default_rng(0)
    theta0 = [rng.standard_normal(per).astype(np.float32) for _ in range(n_tensors)]
    grads = [rng.standard_normal(per).astype(np.float32) * 1e-2 for _ in range(n_tensors)]
    reps, warmup = SIZE["adam_reps"]
    bw = guarded("adam", "copy bandwidth", copy_bandwidth)
    if bw:
        record("adam", "copy bandwidth", GBps=bw)
    min_bytes = 28 * n

    def mg_params():
        params = [mg.tensor(t, device=DEV, requires_grad=True) for t in theta0]
        for p, g in zip(params, grads):
            p.grad = mg.tensor(g, device=DEV)
        return params

    def run_fused():
        params = mg_params()
        opt = optim.Adam(params, lr=1e-3)
        t = time_steps(lambda: fused_step(opt), reps, warmup)
        return t, params, opt

    res = guarded("adam", "minigrad fused_step", run_fused)
    t_mg, mg_final, n_steps = None, None, warmup + SIZE["blocks"] * reps
    if res:
        t_mg, params, opt = res
        mg_final = [_backend.to_device(p.data, "cpu") for p in params]
        record("adam", f"minigrad fused_step ({size})", time_ms=t_mg,
               fraction_of_copy_bw=(min_bytes / (t_mg * 1e-3) / 1e9 / bw) if bw else None)

    def run_kernel():
        rule = fused_rules()[optim.Adam]
        group = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0, amsgrad=False,
                     maximize=False)
        arrays = {k: cp.zeros(n, np.float32) for k in ("theta", "g", "m", "v")}
        program = adam_program(False, False, False, False)
        scalars = rule.scalars(group, 10)
        return time_steps(lambda: program.run(arrays, scalars), reps, warmup)

    t_k = guarded("adam", "bare kernel", run_kernel)
    if t_k:
        record("adam", f"bare fused Adam kernel on one {n / 1e6:.3g}M buffer", time_ms=t_k,
               fraction_of_copy_bw=(min_bytes / (t_k * 1e-3) / 1e9 / bw) if bw else None)

    def run_unfused():
        params = mg_params()
        opt = optim.Adam(params, lr=1e-3)
        return time_steps(opt.step, max(3, reps // 5), 2)

    t_u = guarded("adam", "minigrad per-tensor Adam", run_unfused)
    if t_u:
        record("adam", "minigrad per-tensor Adam (pure xp, not fused)", time_ms=t_u)

    t_torch, err = None, None
    if torch is not None:
        def run_torch():
            params = [torch.tensor(t, device=DEV, requires_grad=True) for t in theta0]
            for p, g in zip(params, grads):
                p.grad = torch.tensor(g, device=DEV)
            opt = torch.optim.Adam(params, lr=1e-3, fused=True)
            t = time_steps(opt.step, reps, warmup)
            return t, [p.detach().cpu().numpy() for p in params]

        res = guarded("adam", "torch Adam(fused=True)", run_torch)
        if res:
            t_torch, torch_final = res
            if mg_final is not None:
                num = sum(float(np.sum((a.astype(np.float64) - b) ** 2))
                          for a, b in zip(mg_final, torch_final))
                den = sum(float(np.sum(b.astype(np.float64) ** 2)) for b in torch_final)
                err = (num / den) ** 0.5
    compare("adam", f"fused Adam step, {size}", t_mg, t_torch,
            rel_err_params_after_steps=err, steps_compared=n_steps)


# ----------------------------------------------------------------------------- report


def training_versions():
    on_gpu = DEV == "cuda"
    v = versions(cp if on_gpu else None, torch if on_gpu else None)
    # TF32 for float32 convolutions and matmuls: both libraries' defaults are yes and no
    v.update(minigrad_conv_allow_tf32=mg.backends.cudnn.allow_tf32,
             minigrad_matmul_allow_tf32=mg.backends.cuda.matmul.allow_tf32)
    if torch is not None and on_gpu:
        v.update(cudnn=torch.backends.cudnn.version(),
                 torch_cudnn_allow_tf32=torch.backends.cudnn.allow_tf32,
                 torch_matmul_allow_tf32=torch.backends.cuda.matmul.allow_tf32,
                 torch_cudnn_benchmark=torch.backends.cudnn.benchmark)
    return v


def write_markdown(path, meta):
    lines = markdown_header("GPU training benchmark", meta) + [
        "Ratio = minigrad time / PyTorch time (lower is better for minigrad). "
        "Targets: fused Adam ≤ 1.2, ResNet step ≤ 2.", "",
        "| section | case | minigrad ms | PyTorch ms | ratio | target | meets | note |",
        "|---|---|---|---|---|---|---|---|"]
    for r in meta["results"]:
        if "minigrad_ms" not in r and "error" not in r:
            continue
        note = r.get("error") or r.get("note", "")
        if r.get("rel_err_params_after_steps") is not None:
            note = (note + f" params rel. err vs torch after {r['steps_compared']} steps: "
                    f"{r['rel_err_params_after_steps']:.1e}").strip()
        lines.append("| " + " | ".join([
            r["section"], r["name"], fmt(r.get("minigrad_ms")), fmt(r.get("torch_ms")),
            fmt(r.get("ratio_minigrad_over_torch")), fmt(r.get("target_ratio")),
            fmt(r.get("meets_target")), note]) + " |")
    lines += ["", "## Other measurements", ""]
    for r in meta["results"]:
        if "minigrad_ms" in r or "error" in r:
            continue
        fields = ", ".join(f"{k} {fmt(v)}" for k, v in r.items()
                           if k not in ("section", "name"))
        lines.append(f"- [{r['section']}] {r['name']}: {fields}")
    path.write_text("\n".join(lines) + "\n")


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--out", required=True, type=Path, help="folder for the results")
    parser.add_argument("--quick", action="store_true", help="fewer repetitions")
    parser.add_argument("--tiny", action="store_true",
                        help="tiny sizes, one repetition: proves the script runs")
    parser.add_argument("--sections", default="adam,mlp,resnet",
                        help="comma-separated subset of adam,mlp,resnet")
    parser.add_argument("--device", default="cuda", choices=("cuda", "cpu"),
                        help="cpu: a smoke run of the script itself (numbers meaningless)")
    args = parser.parse_args(argv)
    global cp, torch, DEV, SIZE
    SIZE = SIZES["tiny" if args.tiny else "quick" if args.quick else "full"]
    DEV = args.device
    if DEV == "cpu":
        cp = np
    else:
        try:
            cp = _backend.cupy()
        except _backend.DeviceError as exc:
            print(f"gpu_training.py: {exc}", file=sys.stderr)
            return 2
    try:
        import torch as _torch

        if DEV == "cpu" or _torch.cuda.is_available():
            torch = _torch
    except Exception:  # noqa: BLE001 -- the PyTorch columns are left out
        torch = None
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.time()
    meta = dict(date=dt.datetime.now().isoformat(timespec="seconds"),
                device=device_info(cp if DEV == "cuda" else None),
                versions=training_versions(), quick=args.quick, tiny=args.tiny,
                sizes=SIZE)
    print(json.dumps(meta, indent=1), flush=True)
    sections = {"adam": bench_adam, "mlp": bench_mlp, "resnet": bench_resnet}
    for name in args.sections.split(","):
        guarded(name, f"section {name}", sections[name.strip()])
    meta["results"] = RESULTS
    meta["wall_s"] = round(time.time() - t0, 1)
    stem = f"gpu-training-{dt.date.today().isoformat()}"
    path = results_path(args.out, stem)
    path.write_text(json.dumps(meta, indent=1, default=str) + "\n")
    write_markdown(path.with_suffix(".md"), meta)
    print("\nratios (minigrad / torch):")
    for r in RESULTS:
        if r.get("ratio_minigrad_over_torch") is not None:
            print(f"  {r['section']:7s} {r['name']}: {r['ratio_minigrad_over_torch']:.2f}"
                  + (f" (target {r['target_ratio']})" if r.get("target_ratio") else ""))
    failed = REPORT.failed()
    print(f"wrote {path} and {path.with_suffix('.md')} in {meta['wall_s']} s; "
          f"{len(failed)} failed: {failed}", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
