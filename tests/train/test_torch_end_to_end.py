"""A whole training run against PyTorch, float64: the small ResNet of the GPU benchmark
(narrower: convolutions, batch norm, residual blocks, adaptive pooling), cross-entropy
with label smoothing, gradient clipping, an optimizer and a per-step schedule, eight
steps, from the same weights on the same batches. Each op is checked on its own
elsewhere; this checks that they compose: the losses step by step, the weights, the
running statistics, and the eval-mode outputs afterwards agree to float64 rounding.
Skipped without torch."""
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]


def _models(widths=(8, 16, 16)):
    """The small ResNet of benchmarks/gpu_training.py (narrower) in both libraries."""
    sys.path.insert(0, str(ROOT / "benchmarks"))
    try:
        import gpu_training as G
    finally:
        sys.path.remove(str(ROOT / "benchmarks"))
    return G.resnet_mg(widths).to(dtype=mg.float64), G.resnet_torch(widths, torch).double()


RECIPES = {
    "adamw onecycle": (
        lambda lib, p: lib.optim.AdamW(p, lr=1e-2, weight_decay=0.05, amsgrad=True),
        lambda lib, o: lib.optim.lr_scheduler.OneCycleLR(o, max_lr=3e-2, total_steps=8)),
    "sgd nesterov cosine": (
        lambda lib, p: lib.optim.SGD(p, lr=0.05, momentum=0.9, nesterov=True,
                                     weight_decay=1e-3),
        lambda lib, o: lib.optim.lr_scheduler.CosineAnnealingLR(o, T_max=8, eta_min=1e-3)),
    "rmsprop step": (
        lambda lib, p: lib.optim.RMSprop(p, lr=1e-3, momentum=0.5, centered=True),
        lambda lib, o: lib.optim.lr_scheduler.StepLR(o, step_size=3, gamma=0.5)),
}


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_a_small_resnet_trains_as_in_pytorch(recipe):
    make_opt, make_sched = RECIPES[recipe]
    mg.manual_seed(0)
    model, reference = _models()
    reference.load_state_dict({k: torch.from_numpy(np.array(v.numpy()))
                               for k, v in model.state_dict().items()})
    opt, ref_opt = make_opt(mg, model.parameters()), make_opt(torch, reference.parameters())
    sched, ref_sched = make_sched(mg, opt), make_sched(torch, ref_opt)
    rng = np.random.default_rng(1)
    losses, ref_losses = [], []
    for _ in range(8):
        x, y = rng.standard_normal((6, 3, 8, 8)), rng.integers(0, 10, 6)
        opt.zero_grad()
        loss = nn.functional.cross_entropy(model(mg.tensor(x)), mg.tensor(y),
                                           label_smoothing=0.1)
        loss.backward()
        nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        sched.step()
        losses.append(loss.item())

        ref_opt.zero_grad()
        ref_loss = torch.nn.functional.cross_entropy(reference(torch.from_numpy(x)),
                                                     torch.from_numpy(y), label_smoothing=0.1)
        ref_loss.backward()
        torch.nn.utils.clip_grad_norm_(reference.parameters(), 1.0)
        ref_opt.step()
        ref_sched.step()
        ref_losses.append(ref_loss.item())
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-10)
    assert losses[-1] != losses[0]  # it trained
    ref_state = reference.state_dict()
    for name, value in model.state_dict().items():  # weights and running statistics
        np.testing.assert_allclose(np.asarray(value.numpy(), dtype=np.float64),
                                   ref_state[name].numpy(), rtol=1e-8, atol=1e-11,
                                   err_msg=name)
    assert sched.get_last_lr() == pytest.approx(ref_sched.get_last_lr(), rel=1e-12)
    model.eval()
    reference.eval()
    x = rng.standard_normal((4, 3, 8, 8))
    with mg.no_grad(), torch.no_grad():
        np.testing.assert_allclose(model(mg.tensor(x)).numpy(),
                                   reference(torch.from_numpy(x)).numpy(), rtol=1e-8,
                                   atol=1e-11)
