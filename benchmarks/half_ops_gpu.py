r"""What computing half tensors in float32 ("opmath", stop 29) costs on the GPU.

    python benchmarks/half_ops_gpu.py                    (on a CUDA machine)
    python benchmarks/half_ops_gpu.py --device cpu --tiny (a smoke run)

A float16 op marked ``Function.opmath`` runs its forward and its VJP on float32 copies and
rounds once, as PyTorch's kernels do in registers; on CuPy that adds cast kernels and
float32 intermediates. layer_norm and rms_norm run in float32 through
``ops.elementwise.in_float32`` (and rms_norm's own widening); attention keeps its scores
in float32 (``MatMulFloat32``).
For each op, forward + backward of one tensor (the gradient of ``(y * g).sum()``), as
wall-clock over blocks of calls ended by a device synchronization, median of the blocks:

  mg fp16       minigrad on float16, as shipped;
  opmath off    the same with the op's Function.opmath switched off (half arithmetic,
                the path before stop 29), for the ops that are one Function composed of
                CuPy operations (not the activations of Function.fused_cuda, one kernel
                each way on CUDA since stop 30, computing float16 in float32 inside);
  mg fp32       minigrad on float32;
  torch fp16, torch fp32   PyTorch eager, when torch with CUDA is there.

Prints one row per op and the ratios fp16/fp32, fp16/(opmath off) and fp16/torch fp16.
Its output goes to stdout (benchmarks/gpu_session.sh appends it to gpu-run.log).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

import _timing  # noqa: E402
from _gpu_report import torch_or_none  # noqa: E402

import minigrad as mg  # noqa: E402

F = mg.nn.functional


def block_ms(fn, sync):
    """Median ms per call of ``fn()``: 7 blocks of 10 calls, each ended by ``sync()``."""
    return _timing.median_block_ms(fn, sync, reps=10, warmup=2, blocks=7)


def cases(tiny):
    """(name, shape, minigrad op, torch op, Function class toggled for 'opmath off')."""
    from minigrad.ops import activation, reduction

    n, m = (64, 32) if tiny else (8192, 4096)        # 32M elements: 64 MB in float16
    rows, d = (16, 32) if tiny else (32768, 1024)
    att = (1, 2, 16, 8) if tiny else (8, 16, 1024, 64)

    def ln(F_):
        return lambda t, w, b: F_.layer_norm(t, (t.shape[-1],), w, b)

    def rms(F_):
        return lambda t, w: F_.rms_norm(t, (t.shape[-1],), w)

    def sdpa(F_):
        return lambda q, k, v: F_.scaled_dot_product_attention(q, k, v)

    def torch_F():
        import torch.nn.functional as tF
        return tF

    return [
        ("relu", (n, m), F.relu, lambda tF: tF.relu, None),
        ("sigmoid", (n, m), mg.sigmoid, lambda tF: tF.sigmoid, activation.Sigmoid),
        ("tanh", (n, m), mg.tanh, lambda tF: tF.tanh, activation.Tanh),
        ("gelu", (n, m), F.gelu, lambda tF: tF.gelu, activation.GELU),
        ("silu", (n, m), F.silu, lambda tF: tF.silu, activation.SiLU),
        ("softplus", (n, m), F.softplus, lambda tF: tF.softplus, activation.Softplus),
        ("mish", (n, m), F.mish, lambda tF: tF.mish, None),
        ("hardswish", (n, m), F.hardswish, lambda tF: tF.hardswish, None),
        ("softmax", (n, m), lambda t: F.softmax(t, dim=-1),
         lambda tF: (lambda t: tF.softmax(t, dim=-1)), reduction.Softmax),
        ("log_softmax", (n, m), lambda t: F.log_softmax(t, dim=-1),
         lambda tF: (lambda t: tF.log_softmax(t, dim=-1)), reduction.LogSoftmax),
        ("layer_norm", (rows, d), ln(F), ln, None),
        ("rms_norm", (rows, d), rms(F), rms, None),
        ("sdpa", att, sdpa(F), sdpa, None),
    ], torch_F


def inputs(name, shape, rng):
    """The op's arguments (each requiring grad), as float32 NumPy arrays first."""
    a = rng.standard_normal(shape).astype(np.float32)
    if name in ("layer_norm", "rms_norm"):
        w = 1 + 0.1 * rng.standard_normal(shape[-1]).astype(np.float32)
        b = 0.1 * rng.standard_normal(shape[-1]).astype(np.float32)
        return [a, w, b] if name == "layer_norm" else [a, w]
    if name == "sdpa":
        return [a, rng.standard_normal(shape).astype(np.float32),
                rng.standard_normal(shape).astype(np.float32)]
    return [a]


def fwd_bwd(op, args, ones_like):
    """One forward + backward of ``op`` on ``args`` (leaves): the gradient of
    ``(op(*args) * g).sum()``, g = 1, in minigrad or PyTorch alike."""
    g = ones_like(op(*args).detach())

    def step():
        for t in args:
            t.grad = None
        (op(*args) * g).sum().backward()
    return step


def mg_step(op, arrays, device, dtype):
    args = [mg.tensor(a, dtype=dtype, device=device, requires_grad=True) for a in arrays]
    return fwd_bwd(op, args, mg.ones_like)


def torch_step(op, arrays, torch, dtype):
    args = [torch.tensor(a, dtype=dtype, device="cuda", requires_grad=True) for a in arrays]
    return fwd_bwd(op, args, torch.ones_like)


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--device", default="cuda")
    p.add_argument("--tiny", action="store_true", help="small shapes (a smoke run)")
    args = p.parse_args(argv)
    device = args.device
    sync = mg.cuda.synchronize if device == "cuda" else (lambda: None)
    torch = torch_or_none() if device == "cuda" else None
    if torch is not None and not torch.cuda.is_available():
        torch = None
    rng = np.random.default_rng(0)
    table, torch_F = cases(args.tiny)
    tF = torch_F() if torch is not None else None
    print(f"half_ops_gpu.py on {device}; forward + backward, ms per call (median of blocks)")
    header = ("op", "shape", "mg fp16", "opmath off", "mg fp32", "torch fp16", "torch fp32",
              "fp16/fp32", "fp16/off", "fp16/torch")
    print("| " + " | ".join(header) + " |")
    print("|" + "---|" * len(header))
    for name, shape, op, top, cls in table:
        try:
            arrays = inputs(name, shape, rng)
            t = {}
            t["fp16"] = block_ms(mg_step(op, arrays, device, mg.float16), sync)
            if cls is not None and not (device == "cuda" and cls.fused_cuda):
                cls.opmath = False
                try:
                    t["off"] = block_ms(mg_step(op, arrays, device, mg.float16), sync)
                finally:
                    cls.opmath = True
            t["fp32"] = block_ms(mg_step(op, arrays, device, mg.float32), sync)
            if torch is not None:
                ts = torch.cuda.synchronize
                t["t16"] = block_ms(torch_step(top(tF), arrays, torch, torch.float16), ts)
                t["t32"] = block_ms(torch_step(top(tF), arrays, torch, torch.float32), ts)
            cells = [name, "×".join(map(str, shape))]
            cells += [f"{t[k]:.3f}" if k in t else "-"
                      for k in ("fp16", "off", "fp32", "t16", "t32")]
            cells += [f"{t['fp16'] / t[k]:.2f}" if k in t else "-" for k in ("fp32", "off", "t16")]
            print("| " + " | ".join(cells) + " |", flush=True)
        except Exception as exc:  # noqa: BLE001 -- one failing op must not lose the rest
            print(f"| {name} | error: {type(exc).__name__}: {exc} |", flush=True)
        finally:
            if device == "cuda":
                import cupy as cp
                cp.get_default_memory_pool().free_all_blocks()
    return 0


if __name__ == "__main__":
    sys.exit(main())
