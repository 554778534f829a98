r"""Where a minigrad training step on the GPU spends its time: the small ResNet of
gpu_training.py, fp32 and fp16 autocast: step time over several batch sizes (flat in the
batch = launch- or Python-bound, proportional = GPU-bound), then cProfile of a few steps at
batch 128, the functions with the most own time.

    python benchmarks/profile_gpu_step.py [--device cuda|cpu] [--steps 10] [--top 30]
    python benchmarks/profile_gpu_step.py --kernels [--batch 128]

``--kernels`` records the GPU kernels of a few steps instead, through PyTorch's profiler
(CUPTI sees every kernel of the process, CuPy's too): time per kernel name, and the GPU's
busy time per step beside the wall time per step, for minigrad's step (also inside
``direct_gemm(False)``: products through cupy.matmul, convolutions on CuPy arrays) and
PyTorch's. Needs torch with CUDA.
"""
from __future__ import annotations

import argparse
import cProfile
import pstats
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import gpu_training as G  # noqa: E402  (its model and step: one definition of each)

import minigrad as mg  # noqa: E402


def random_batch(batch):
    """(images, labels) as NumPy arrays, the same for every step function made."""
    rng = np.random.default_rng(0)
    return rng.standard_normal((batch, 3, 32, 32)).astype(np.float32), \
        rng.integers(0, 10, batch)


def make_step(batch, device, amp):
    mg.manual_seed(0)
    model = G.resnet_mg().to(device)
    x, y = random_batch(batch)
    step, _ = G.mg_step_fn(model, mg.tensor(x, device=device), mg.tensor(y, device=device),
                           amp=amp)
    return step


def timed(step, device, n):
    step()
    mg.cuda.synchronize() if device == "cuda" else None
    t0 = time.perf_counter()
    for _ in range(n):
        step()
    if device == "cuda":
        mg.cuda.synchronize()
    return (time.perf_counter() - t0) / n * 1e3


def kernel_table(step, steps, top, label):
    """Run ``step`` ``steps`` times under torch.profiler; print the kernels by GPU time."""
    import torch
    from torch.profiler import ProfilerActivity, profile

    for _ in range(3):
        step()
    with profile(activities=[ProfilerActivity.CUDA]):  # CUPTI's start-up, not timed (the
        step()                                          # first profile of a process: ~0.7 s)
    torch.cuda.synchronize()
    mg.cuda.synchronize()
    t0 = time.perf_counter()
    with profile(activities=[ProfilerActivity.CUDA]) as prof:
        for _ in range(steps):
            step()
        torch.cuda.synchronize()
        mg.cuda.synchronize()
    wall = (time.perf_counter() - t0) / steps * 1e3
    events = [e for e in prof.key_averages() if e.self_device_time_total > 0]
    busy = sum(e.self_device_time_total for e in events) / steps / 1e3
    launches = sum(e.count for e in events) / steps
    print(f"==== {label}: wall {wall:.2f} ms a step (profiled), GPU busy {busy:.2f} ms a "
          f"step, {launches:.0f} kernels a step")
    totals = {}
    for e in events:
        kind = kernel_kind(e.key)
        time_ms, count = totals.get(kind, (0.0, 0.0))
        totals[kind] = (time_ms + e.self_device_time_total / steps / 1e3, count + e.count / steps)
    print("  by kind: " + ", ".join(f"{k} {t:.3f} ms ({c:.0f})" for k, (t, c) in
                                    sorted(totals.items(), key=lambda kv: -kv[1][0])))
    events.sort(key=lambda e: -e.self_device_time_total)
    for e in events[:top]:
        print(f"{e.self_device_time_total / steps / 1e3:9.3f} ms {e.count / steps:6.1f}x  "
              f"{e.key[:110]}")


# Kernel name -> kind, first match wins (the profile's per-kind totals).
KINDS = [("copy", ("copy", "Memcpy", "nchwToNhwc", "nhwcToNchw")), ("memset", ("Memset",)),
         ("gemm/conv", ("gemm", "xmma", "cutlass", "sgemm", "splitK", "wgrad", "dgrad",
                        "fprop", "conv", "fft", "flip_filter", "region_transform")),
         ("im2col/col2im", ("im2col", "col2im")),
         ("batch norm", ("bn_", "minigrad_bn", "cudnn::bn")),
         ("optimizer", ("adam", "Adam", "multi_tensor", "Optim"))]


def kernel_kind(name: str) -> str:
    """The kind of a kernel, by its name (see KINDS; "other" for the rest)."""
    for kind, marks in KINDS:
        if any(m in name for m in marks):
            return kind
    return "other"


def kernels(args):
    import torch
    from minigrad.kernels.cublas_gemm import direct_gemm

    G.torch, G.DEV = torch, "cuda"  # gpu_training's globals, set by its own main()
    x, y = random_batch(args.batch)
    for amp in (False, True):
        name = "fp16 autocast" if amp else "fp32"
        kernel_table(make_step(args.batch, "cuda", amp), args.steps, args.top,
                     f"minigrad {name} batch {args.batch}")
        with direct_gemm(False):  # the path before im2col.cu and the direct cuBLAS calls
            kernel_table(make_step(args.batch, "cuda", amp), args.steps, args.top,
                         f"minigrad {name} batch {args.batch}, direct_gemm(False)")
        model = G.resnet_torch().to("cuda")
        step = G.torch_step_fn(model, torch.tensor(x, device="cuda"),
                               torch.tensor(y, device="cuda"), amp)
        kernel_table(step, args.steps, args.top, f"PyTorch {name} batch {args.batch}")
    return 0


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--device", default="cuda", choices=["cuda", "cpu"])
    parser.add_argument("--steps", type=int, default=10)
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--kernels", action="store_true",
                        help="GPU time per kernel (torch.profiler) instead of cProfile")
    parser.add_argument("--batch", type=int, default=128)
    args = parser.parse_args(argv)
    if args.kernels:
        return kernels(args)
    batches = (8, 32, 128, 512) if args.device == "cuda" else (2, 8)
    for amp in (False, True):
        name = "fp16 autocast" if amp else "fp32"
        for batch in batches:
            step = make_step(batch, args.device, amp)
            print(f"{name} batch {batch:4d}: {timed(step, args.device, args.steps):8.2f} ms "
                  "a step", flush=True)
        step = make_step(batches[-2], args.device, amp)
        timed(step, args.device, 2)
        profile = cProfile.Profile()
        profile.enable()
        timed(step, args.device, args.steps)
        profile.disable()
        print(f"==== {name}, batch {batches[-2]}, {args.steps} steps")
        stats = pstats.Stats(profile).sort_stats("tottime")
        stats.print_stats(args.top)
        stats.sort_stats("cumulative").print_stats(args.top)
    return 0


if __name__ == "__main__":
    sys.exit(main())
