"""Kernel-launch budgets of the CUDA code paths, counted on the CPU, and the device memory a
training step leaves behind (none: checked on the stand-in here and on a GPU when there).

A GPU training step this size is bound by launches (each costs host time in Python and
CuPy, and a few microseconds of GPU time), so the number a change adds is checked here,
without a GPU: benchmarks/count_launches.py runs the CUDA path on the CuPy stand-in
(tests/fakecupy), which counts every operation that would start GPU work. It runs in a
subprocess because the stand-in takes the name ``cupy``. The budgets are the counts of
the current code; a change that adds launches must say why by raising one.
"""
import json
import sys
from pathlib import Path

import pytest

from tests.stand_in import run_on_stand_in

ROOT = Path(__file__).resolve().parents[1]


def _run(code):
    return json.loads(run_on_stand_in(code).strip().splitlines()[-1])


@pytest.fixture(scope="module")
def steps():
    """Launches of one training step of each model, fp32 and fp16, by kind; the gradients
    zeroed in place (as the benchmark, whose CUDA graphs need it) and, "set_to_none",
    PyTorch's default ``zero_grad()``."""
    return _run("""
import json
import count_launches as C
print(json.dumps({label: dict(C.step_launches(m, amp, set_to_none=none)[0])
                  for label, m, amp, none in C.step_cases()}))
""")


# Launches of one step (zero_grad, forward, cross-entropy, scaled backward, fused Adam).
# For scale: PyTorch's eager ResNet step launched 171 kernels (fp32) and 215 (fp16) on
# the H200 (benchmarks/results/gpu-2026-11-26-h200-stop16-profile-kernels.log).
BUDGETS = {"resnet fp32": 109, "resnet fp16": 143, "mlp fp32": 24, "mlp fp16": 47}


@pytest.mark.parametrize("case", sorted(BUDGETS))
@pytest.mark.parametrize("zero_grad", ["in place", "set_to_none"])
def test_training_step_stays_within_its_launch_budget(steps, case, zero_grad):
    """Also with ``zero_grad()`` setting the gradients to None: the backward writes them
    into the fused optimizer's flat buffer (one zeroing launch either way)."""
    kinds = steps[case + (" set_to_none" if zero_grad == "set_to_none" else "")]
    total = sum(kinds.values())
    assert total <= BUDGETS[case], (case, zero_grad, total, kinds)


def test_a_step_makes_no_host_round_trip_but_the_scalers(steps):
    """Nothing is copied to the host in a float32 step, nor from it in any step (Python
    numbers in the step, such as a mean's 1/n, become device constants once:
    tensor._device_scalar); a float16 step reads one flag back, the scaler's inf check
    that decides whether the optimizer steps (PyTorch's GradScaler waits for it too). The
    optimizer is one launch."""
    for case, kinds in steps.items():
        assert kinds.get("memcpy DtoH", 0) == (1 if "fp16" in case else 0), case
        assert kinds.get("memcpy HtoD", 0) == 0, case
        assert kinds.get("kernel:fused_optimizer") == 1, case


def test_layers_launch_what_their_kernels_are():
    """A Conv2d's forward is im2col + one GEMM, its backward a transposing copy + GEMM
    (weight) and GEMM + col2im (input); a training BatchNorm2d's forward is one channel
    sums kernel (μ and σ²) and the normalizing kernel, which also updates the running
    statistics, its backward one sum and one kernel; ReLU one kernel each way. Besides,
    the backward adds into each leaf's existing ``.grad`` (one add each), except the
    convolution's weight, whose gradient GEMM adds into it itself (β = 1), and batch
    norm's γ and β, which its backward kernel adds into. The cross-entropy is the row
    kernel and (mean, sum) the reducing one forward, one kernel backward (no graph
    recorded). Softmax and log-softmax over the last dim: the row kernel's log-sum-exp and
    one elementwise kernel forward, a row reduction and one kernel backward; Hardswish
    and Mish one kernel each way; LayerNorm 4 launches forward and 5 backward; GroupNorm
    LayerNorm's rows without γ, β (4 and 3) and the per-channel affine ops; RMSNorm 3 each
    way."""
    layers = _run("""
import json
import minigrad as mg
from minigrad import nn
import count_launches as C
from minigrad.ops.fused import fused_cross_entropy

def fwd_bwd(layer, shape):
    x = mg.randn(*shape, device="cuda", requires_grad=True)
    layer.to("cuda")
    for _ in range(2):  # compiled, and every leaf has a .grad to accumulate into
        layer(x).sum().backward()
    fwd = C.count(lambda: layer(x))[0]
    y = layer(x)
    g = mg.randn(*y.shape, device="cuda")  # an upstream gradient, contiguous
    bwd = C.count(lambda: y.backward(g))[0]
    return {"fwd": dict(fwd), "bwd": dict(bwd)}

out = {"conv": fwd_bwd(nn.Conv2d(3, 4, 3, padding=1, bias=False), (2, 3, 5, 5)),
       "bn": fwd_bwd(nn.BatchNorm2d(3), (2, 3, 4, 4)),
       "relu": fwd_bwd(nn.ReLU(), (2, 3, 4, 4)),
       "softmax": fwd_bwd(nn.Softmax(dim=-1), (2, 3, 7)),
       "log_softmax": fwd_bwd(nn.LogSoftmax(dim=-1), (2, 3, 7)),
       "hardswish": fwd_bwd(nn.Hardswish(), (2, 3, 4, 4)),
       "mish": fwd_bwd(nn.Mish(), (2, 3, 4, 4)),
       "layer_norm": fwd_bwd(nn.LayerNorm(7), (2, 3, 7)),
       "group_norm": fwd_bwd(nn.GroupNorm(2, 4), (2, 4, 3, 3)),
       "rms_norm": fwd_bwd(nn.RMSNorm(7), (2, 3, 7)),
       "conv_bn": fwd_bwd(nn.Sequential(nn.Conv2d(3, 4, 3, padding=1, bias=False),
                                        nn.BatchNorm2d(4)), (2, 3, 5, 5))}
logits = mg.randn(6, 10, device="cuda", requires_grad=True)
t = mg.tensor([0, 3, 9, 1, 1, 2], device="cuda")
for reduction in ("mean", "sum", "none"):
    fused_cross_entropy(logits, t, reduction=reduction)  # compiled
    fwd = C.count(lambda: fused_cross_entropy(logits, t, reduction=reduction))[0]
    loss = fused_cross_entropy(logits, t, reduction=reduction)
    g = mg.ones(*loss.shape, device="cuda")
    logits.grad = None
    out["cross_entropy " + reduction] = {"fwd": dict(fwd),
                                         "bwd": dict(C.count(lambda: loss.backward(g))[0])}
print(json.dumps(out))
""")
    want = {  # (forward, backward, adds into leaf .grad: x's and the parameters')
        "conv": ({"kernel:im2col": 1, "kernel:cublas_gemm": 1},
                 {"copy": 1, "kernel:cublas_gemm": 2, "kernel:col2im": 1}, 1),
        "bn": ({"kernel:bn_channel_sums": 1,  # running statistics blended, and
                "kernel:bn_forward": 1},  # num_batches_tracked += 1, in bn_forward
               {"kernel:bn_channel_sums": 1, "kernel:bn_backward": 1}, 1),
        "relu": ({"elementwise:maximum": 1}, {"kernel:relu_grad": 1}, 1),
        # the row kernel's log-sum-exp, then e^(x − lse) (x − lse); the VJP: a row
        # reduction (Σ gy·y, Σ gy) and one elementwise kernel
        "softmax": ({"kernel:lse_rows": 1, "kernel:softmax": 1},
                    {"kernel:softmax_dot": 1, "kernel:softmax_vjp": 1}, 1),
        "log_softmax": ({"kernel:lse_rows": 1, "elementwise:subtract": 1},
                        {"func:sum": 1, "kernel:log_softmax_vjp": 1}, 1),
        # one kernel each way (ops.fused.ACTIVATIONS)
        "hardswish": ({"kernel:hardswish": 1}, {"kernel:hardswish_grad": 1}, 1),
        "mish": ({"kernel:mish": 1}, {"kernel:mish_grad": 1}, 1),
        # μ, Σ(x − μ)², inv, y; two row sums, gx, γ's column sum Σ g·x̂ and β's Σ g
        "layer_norm": ({"func:mean": 1, "kernel:ln_sumsq": 1, "kernel:ln_inv": 1,
                        "kernel:ln_forward": 1},
                       {"kernel:ln_vjp_s1": 1, "kernel:ln_vjp_s2": 1, "kernel:ln_vjp": 1,
                        "kernel:ln_vjp_gw": 1, "func:sum": 1}, 3),
        # each group a row of LayerNormFunction without γ, β; then the per-channel affine
        "group_norm": ({"func:mean": 1, "kernel:ln_sumsq": 1, "kernel:ln_inv": 1,
                        "kernel:ln_forward": 1, "elementwise:multiply": 1,
                        "elementwise:add": 1},
                       {"kernel:ln_vjp_s1": 1, "kernel:ln_vjp_s2": 1, "kernel:ln_vjp": 1,
                        "elementwise:multiply": 2, "func:sum": 2}, 3),
        # LayerNormFunction's kernels with μ = 0 and no β: Σ x², inv, y; Σ g·γ·x̂, gx, gγ
        "rms_norm": ({"kernel:ln_sumsq": 1, "kernel:ln_inv": 1, "kernel:ln_forward": 1},
                     {"kernel:ln_vjp_s2": 1, "kernel:ln_vjp": 1, "kernel:ln_vjp_gw": 1}, 2),
    }
    for name, (fwd, bwd, adds) in want.items():
        got = layers[name]
        assert got["fwd"] == fwd, (name, got["fwd"])
        assert got["bwd"] == {**bwd, "elementwise:add": adds}, (name, got["bwd"])
    # batch norm's backward writes the convolution's output gradient channel-major, which
    # the weight-gradient GEMM reads as it is: the conv's transposing copy is gone
    assert layers["conv_bn"]["bwd"] == {
        "kernel:bn_channel_sums": 1, "kernel:bn_backward": 1, "kernel:cublas_gemm": 2,
        "kernel:col2im": 1, "elementwise:add": 1}, layers["conv_bn"]["bwd"]
    for reduction in ("mean", "sum", "none"):
        got = layers["cross_entropy " + reduction]
        fwd = {"kernel:ce_rows": 1, **({} if reduction == "none" else {"kernel:ce_reduce": 1})}
        assert got["fwd"] == fwd, (reduction, got)
        # the copy: into logits.grad, which is None (a fresh array)
        assert got["bwd"] == {"kernel:ce_grad": 1, "copy": 1}, (reduction, got)


def test_a_transformer_layer_stays_within_its_launch_budget():
    """A TransformerEncoderLayer's forward and backward on CUDA (d_model 32, 4 heads,
    float32): 29 and 59 launches since stop 31 gave layer norm, softmax and their VJPs row
    kernels (44 and 73 before)."""
    out = _run("""
import json
import numpy as np
import minigrad as mg
from minigrad import nn
import count_launches as C

mg.manual_seed(0)
layer = nn.TransformerEncoderLayer(32, 4, 64, dropout=0.0, batch_first=True).to("cuda")
x = mg.tensor(np.random.default_rng(0).standard_normal((2, 5, 32)).astype(np.float32),
              device="cuda")
for _ in range(2):  # compiled, and every parameter has a .grad to accumulate into
    layer(x).sum().backward()
fwd = C.count(lambda: layer(x))[0]
y = layer(x)
bwd = C.count(lambda: y.sum().backward())[0]
print(json.dumps({"fwd": sum(fwd.values()), "bwd": sum(bwd.values()),
                  "kinds": {k: v for k, v in (fwd + bwd).items() if "ln_" in k
                            or "softmax" in k or "lse" in k}}))
""")
    assert out["fwd"] <= 29 and out["bwd"] <= 59, out
    # two layer norms (4 launches forward each) and the attention's softmax rows
    assert out["kinds"]["kernel:ln_forward"] == 2 and out["kinds"]["kernel:lse_rows"] == 1, out


def test_the_counted_cuda_step_computes_what_the_cpu_step_computes():
    """The step whose launches are counted is the real CUDA path, so its numbers must be
    right too: three ResNet and MLP training steps on the stand-in's "cuda" (kernels by
    their twins; from the second step on, weight gradients added into .grad by their GEMM
    and BN counters bumped by the running kernel; with the gradients zeroed in place and
    set to None) end with the gradients and BN buffers of
    the same steps on the CPU (TF32 off: it rounds on purpose). The parameters are
    compared to within Adam's step size: a near-zero gradient component whose sign
    differs in the last bit moves its weight by ±lr either way."""
    out = _run("""
import json
import numpy as np
import minigrad as mg
import count_launches as C

mg.backends.cudnn.allow_tf32 = False
worst = {}
for name in C.MODELS:
    make, data = C.MODELS[name]
    states = []
    for dev, set_to_none in (("cpu", False), ("cuda", False), ("cuda", True)):
        C.G.DEV = dev
        model, X, y = C.G.mg_setup(make, *data())
        step, _ = C.G.mg_step_fn(model, X, y, False, set_to_none)
        for _ in range(3):
            step()
        st = dict(model.state_dict())
        st.update({k + ".grad": p.grad for k, p in model.named_parameters()})
        states.append({k: np.asarray(mg.tensor(v).cpu().numpy(), dtype=np.float64)
                       for k, v in st.items()})
    cpu = states[0]
    params = {k for k, _ in make().named_parameters()}
    for label, gpu in zip(("in place", "set_to_none"), states[1:]):
        assert cpu.keys() == gpu.keys()
        worst[f"{name} {label}"] = {
            "grads and buffers": max(float(np.abs(gpu[k] - cpu[k]).max()
                                           / max(np.abs(cpu[k]).max(), 1e-3))
                                     for k in cpu if k not in params),
            "params (abs)": max(float(np.abs(gpu[k] - cpu[k]).max()) for k in params)}
        if name == "resnet":
            assert gpu["1.num_batches_tracked"] == cpu["1.num_batches_tracked"] == 3
print(json.dumps(worst))
""")
    assert len(out) == 4
    for name, err in out.items():
        assert err["grads and buffers"] < 1e-4, (name, err)
        assert err["params (abs)"] <= 3 * 2 * 1e-3, (name, err)  # 3 steps of lr 1e-3


def test_python_numbers_become_device_constants_once():
    """``t * 0.25`` on CUDA copies 0.25 to the device the first time only (per dtype):
    later steps launch just the multiply, with the right values and dtypes; NaN is not
    kept (it never equals itself as a key), and −0.0 is not 0.0's constant."""
    out = _run("""
import json
import numpy as np
import minigrad as mg
import count_launches as C

x32 = mg.tensor([1.0, -2.0, 4.0], device="cuda")
x64 = mg.tensor([1.0, -2.0, 4.0], dtype=mg.float64, device="cuda")
first = dict(C.count(lambda: x32 * 0.1)[0])
again = dict(C.count(lambda: x32 * 0.1)[0])
y32, y64 = x32 * 0.1, x64 * 0.1
nan = dict(C.count(lambda: x32 * float("nan"))[0])
zeros = [x32 * 0.0, x32 * -0.0]  # the same number to ==, not to the sign of a product
signs = [np.signbit(z.cpu().numpy()).tolist() for z in zeros]
print(json.dumps({"first": first, "again": again, "nan": nan, "signs": signs,
                  "y32": [str(y32.dtype), (y32.cpu().numpy() == np.float32([1, -2, 4])
                                           * np.float32(0.1)).all().item()],
                  "y64": [str(y64.dtype), (y64.cpu().numpy() == np.array([1.0, -2, 4])
                                           * 0.1).all().item()]}))
""")
    assert out["first"] == {"memcpy HtoD": 1, "elementwise:multiply": 1}
    assert out["again"] == {"elementwise:multiply": 1}
    assert out["nan"] == {"memcpy HtoD": 1, "elementwise:multiply": 1}
    assert out["y32"] == ["float32", True] and out["y64"] == ["float64", True]
    assert out["signs"] == [[False, True, False], [True, False, True]]  # x = [1, −2, 4]


def test_functional_cross_entropy_takes_the_fused_op_on_cuda():
    """``F.cross_entropy`` on CUDA with class indices and no weights: its check of the
    targets (three comparisons and one ``any``, the only wait for the GPU), then the fused
    op's two kernels; backward one kernel. Its values equal the CPU composition's."""
    out = _run("""
import json
import numpy as np
import minigrad as mg
import minigrad.nn.functional as F
import count_launches as C

rng = np.random.default_rng(0)
x0, t0 = rng.standard_normal((6, 10)), np.array([0, 3, 9, -100, 1, 2])
x = mg.tensor(x0, device="cuda", requires_grad=True)
t = mg.tensor(t0, device="cuda")
F.cross_entropy(x, t, label_smoothing=0.1).backward()  # compiled
x.grad = None
fwd = C.count(lambda: F.cross_entropy(x, t, label_smoothing=0.1))[0]
loss = F.cross_entropy(x, t, label_smoothing=0.1)
bwd = C.count(lambda: loss.backward())[0]
ref_x = mg.tensor(x0, requires_grad=True)
ref = F.cross_entropy(ref_x, mg.tensor(t0), label_smoothing=0.1)
ref.backward()
err = [abs(loss.item() - ref.item()),
       float(np.abs(x.grad.cpu().numpy() - ref_x.grad.numpy()).max())]
print(json.dumps({"fwd": dict(fwd), "bwd": dict(bwd), "err": err}))
""")
    assert out["fwd"] == {"elementwise:not_equal": 1, "elementwise:greater_equal": 1,
                          "elementwise:bitwise_and": 1, "func:any": 1, "memcpy DtoH": 1,
                          "kernel:ce_rows": 1, "kernel:ce_reduce": 1}, out
    assert out["bwd"] == {"fill": 1, "kernel:ce_grad": 1, "copy": 1}, out  # seed, VJP, .grad
    assert max(out["err"]) < 1e-6, out


def test_a_training_step_frees_what_it_allocates():
    """Device memory in use after each of six training steps (after three warm-up ones) is
    the same number of bytes, for both models, fp32 and fp16 autocast, both ``zero_grad``
    modes: nothing a step allocates outlives it, so a long loop does not grow. The stand-in
    counts the bytes of the live device arrays, as CuPy's pool reports ``used_bytes``
    (the cyclic collector off: memory a reference cycle holds would show)."""
    sizes = _run("""
import json
import cupy
import count_launches as C
pool = cupy.get_default_memory_pool()
print(json.dumps({label: C.G.memory_after_steps(C.warm_step(m, amp, 3, none),
                                                pool.used_bytes)
                  for label, m, amp, none in C.step_cases()}))
""")
    assert len(sizes) == 8
    for case, per_step in sizes.items():
        assert per_step[0] > 0 and len(set(per_step)) == 1, (case, per_step)


@pytest.mark.gpu
@pytest.mark.parametrize("model", ["resnet", "mlp"])
@pytest.mark.parametrize("amp", [False, True], ids=["fp32", "fp16"])
@pytest.mark.parametrize("set_to_none", [False, True], ids=["in place", "set_to_none"])
def test_a_training_step_frees_what_it_allocates_on_the_gpu(model, amp, set_to_none):
    """The same on the device: ``mg.cuda.memory_allocated()`` (CuPy's pool, in use) after
    each of six steps of the benchmark's training step is the same."""
    import numpy as np

    import minigrad as mg
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_training as G
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    G.DEV = "cuda"
    rng = np.random.default_rng(0)
    make, shape = {"resnet": (G.resnet_mg, (8, 3, 32, 32)), "mlp": (G.mlp_mg, (64, 64))}[model]
    x = rng.standard_normal(shape).astype(np.float32)
    step, _ = G.mg_step_fn(*G.mg_setup(make, x, rng.integers(0, 10, shape[0])), amp,
                           set_to_none)
    for _ in range(3):
        step()
    sizes = G.memory_after_steps(step, mg.cuda.memory_allocated)
    assert sizes[0] > 0 and len(set(sizes)) == 1, sizes



def test_a_trainer_step_reads_the_gpu_back_once_for_its_numbers():
    """``Trainer`` on CUDA waits for the GPU as few times a step as it can: the loss and
    the number of correct predictions come back in one copy (``item()`` on each was two),
    besides the cross-entropy's check of the targets (a clear IndexError instead of a
    wrapped-around index) and, under float16 autocast, the scaler's inf check (PyTorch's
    GradScaler reads it back too). The numbers equal the CPU trainer's."""
    out = _run("""
import json
import numpy as np
import cupy
import minigrad as mg
from minigrad import nn, optim
from minigrad.train.trainer import Trainer
import count_launches as C

cupy.SITE_DEPTH = 1
rng = np.random.default_rng(0)
xs, ys = rng.standard_normal((4, 8)).astype(np.float32), rng.integers(0, 3, 4)
out = {}
for device in ("cuda", "cpu"):
    for amp in (False, True):
        mg.manual_seed(0)
        model = nn.Sequential(nn.Linear(8, 16), nn.ReLU(), nn.Linear(16, 3)).to(device)
        trainer = Trainer(model, optim.Adam(model.parameters(), lr=1e-3), [],
                          device=device, amp=amp and device == "cuda", handle_signals=False)
        x, y = mg.tensor(xs, device=device), mg.tensor(ys, device=device)
        trainer._step(x, y)  # compiles
        kinds, sites = C.count(lambda: out.__setitem__((device, amp), trainer._step(x, y)),
                               where=True)
        if device == "cuda":
            out[f"reads {amp}"] = sorted(site for (kind, site), n in sites.items()
                                         for _ in range(n) if kind == "memcpy DtoH")
print(json.dumps({"reads fp32": out["reads False"], "reads fp16": out["reads True"],
                  "cuda": out[("cuda", False)], "cpu": out[("cpu", False)],
                  "cuda fp16": out[("cuda", True)]}))
""")
    assert [s.split(":")[0] for s in out["reads fp32"]] == ["ops/fused.py",
                                                           "train/trainer.py"], out
    assert [s.split(":")[0] for s in out["reads fp16"]] == ["amp/grad_scaler.py",
                                                           "ops/fused.py",
                                                           "train/trainer.py"], out
    loss, correct = out["cuda"]
    assert isinstance(correct, int) and correct == out["cpu"][1], out
    assert abs(loss - out["cpu"][0]) < 1e-6, out
    assert abs(out["cuda fp16"][0] - out["cpu"][0]) < 1e-2, out


def test_a_linear24_forward_reads_nothing_back_from_the_gpu():
    """Linear24's forward on CUDA decides whether its masks changed without reading
    anything back (it compared them on the device and read the answer, a device
    synchronisation in every forward, before stop 24); a new mask is still checked."""
    out = _run("""
import json
import cupy
import fakecupy_plugin
import minigrad as mg
from minigrad.sparse import linear24 as L24

checks = []
check = L24._check_masks
L24._check_masks = lambda *a: checks.append(1) or check(*a)
layer = L24.Linear24(16, 8, mask_update_every=None).to("cuda")
x = mg.randn(4, 16, device="cuda")
layer(x)
with cupy.counting():
    layer(x)
    layer(x)
launches = dict(cupy.launches)
layer.update_mask()
layer(x)
print(json.dumps({"launches": launches, "checks": len(checks)}))
""")
    # (real CuPy's array_equal gives a device scalar, which bool() reads back)
    assert not [k for k in out["launches"] if "DtoH" in k or "array_equal" in k], \
        out["launches"]
    assert out["checks"] == 2  # the first forward and the one after update_mask


def test_a_linear24_step_makes_its_index_arrays_once():
    """A Linear24 forward and backward on CUDA, float32 (products through the dense
    matrix) and float16 (the mma.sp kernel): the index arrays derived from the layer's
    metadata (positions, flat indices, the kernel's metadata words) are made once per mask
    and kept with it (``semi_structured.frozen_meta``), not unpacked again in every
    product: a forward and a backward launch 9 + 15 (float32) and 9 + 17 (float16), where
    they launched 51 + 57 and 56 + 63 before stop 25. A mask update makes new ones; the
    old ones go with their metadata."""
    out = _run("""
import gc, json
import cupy
import fakecupy_plugin
import minigrad as mg
from minigrad.sparse import linear24 as L24
from minigrad.sparse import semi_structured as S

counts = {}
for dtype in (mg.float32, mg.float16):
    layer = L24.Linear24(64, 32, mask_update_every=None).to("cuda").to(dtype=dtype)
    x = mg.randn(8, 64, device="cuda", dtype=dtype, requires_grad=True)
    for _ in range(2):
        layer(x).sum().backward()
    with cupy.counting():
        y = layer(x)
    forward = sum(cupy.launches.values())
    with cupy.counting():
        y.sum().backward()
    counts[str(dtype)] = [forward, sum(cupy.launches.values())]
kept = len(S._DERIVED)
for _ in range(3):
    layer.update_mask()
    layer(x).sum().backward()
gc.collect()
print(json.dumps({"counts": counts, "kept": kept, "kept after updates": len(S._DERIVED)}))
""")
    assert out["counts"] == {"float32": [9, 15], "float16": [9, 17]}, out
    # the live layer's two metadata arrays (forward and backward), each with its arrays
    assert out["kept"] == out["kept after updates"] == 2, out


def test_linear24_half_products_take_the_wgmma_kernel_on_hopper_for_large_outputs():
    """A float16 Linear24 forward on CUDA multiplies through kernels.mm_24_wgmma where
    kernels.wgmma_worth_it says so (an sm_90 device, outputs of WGMMA_MIN_OUTPUT elements or
    more: the rule autocast's products follow), else through mm_24 -- here on the stand-in,
    told it is an sm_90 device, with mm_24_wgmma as mm_24's NumPy twin."""
    out = _run("""
import json
import numpy as np
import fakecupy_plugin
import minigrad as mg
from minigrad import kernels
from minigrad.kernels import _cuda
from minigrad.sparse import linear24 as L24

calls = []
twin = kernels.mm_24
kernels.mm_24 = lambda *a, **k: calls.append("mm_24") or twin(*a, **k)
kernels.mm_24_wgmma = lambda *a, **k: calls.append("mm_24_wgmma") or twin(*a, **k)
_cuda._is_sm90 = lambda device_id: True
got = {}
for rows in (8, 1 << 14):  # outputs 64 x 8 and 64 x 16384 (W x^T: W is 64 x 32)
    layer = L24.Linear24(32, 64, mask_update_every=None).to("cuda").to(dtype=mg.float16)
    x = mg.randn(rows, 32, device="cuda", dtype=mg.float16)
    calls.clear()
    y = layer(x).cpu().numpy().astype(np.float32)
    W = layer.compressed()[0].to_dense().cpu().numpy().astype(np.float32)  # the 2:4 weight
    dense = x.cpu().numpy().astype(np.float32) @ W.T + layer.bias.cpu().numpy()
    err = float(np.abs(y - dense).max() / np.abs(dense).max())
    got[rows] = [calls[:], err]
print(json.dumps({"calls": {str(k): v[0] for k, v in got.items()},
                  "errs": [v[1] for v in got.values()],
                  "min": kernels.WGMMA_MIN_OUTPUT}))
""")
    assert 64 * 8 < out["min"] <= 64 * (1 << 14), out
    assert out["calls"] == {"8": ["mm_24"], "16384": ["mm_24_wgmma"]}, out
    assert max(out["errs"]) < 5e-3, out


def test_a_csr_tensor_picks_its_spmv_kernel_once():
    """A CSR tensor times a vector on CUDA: the first product converts the pattern to int32
    (two copies) and decides the kernel from the row lengths (one read-back, kernels.
    spmv_plan), and the pattern keeps both; every later product is the SpMV kernel alone.
    Before the plan each product read the row lengths back (a device sync)."""
    out = _run("""
import json
import numpy as np
import minigrad as mg
import count_launches as C
rng = np.random.default_rng(0)
dense = (rng.standard_normal((300, 200)) * (rng.random((300, 200)) < 0.05)).astype(np.float32)
A = mg.tensor(dense).to("cuda").to_sparse_csr()
x = mg.randn(200, device="cuda")
first = C.count(lambda: A @ x)[0]
later = [dict(C.count(lambda: A @ x)[0]) for _ in range(2)]
y = (A @ x).cpu().numpy()
err = float(np.abs(y - dense @ x.cpu().numpy()).max())
print(json.dumps({"first": dict(first), "later": later, "err": err}))
""")
    kernel = {"kernel:spmv_csr_vector_f32_g4_vec": 1}
    assert out["first"] == {"copy": 2, "func:diff": 1, "func:max": 1, "memcpy DtoH": 1,
                            **kernel}, out
    assert out["later"] == [kernel, kernel], out
    assert out["err"] < 1e-5, out
