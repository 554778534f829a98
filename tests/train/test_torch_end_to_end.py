"""A whole training run against PyTorch, float64: the small ResNet of the GPU benchmark
(narrower: convolutions, batch norm, residual blocks, adaptive pooling), cross-entropy
with label smoothing, gradient clipping, an optimizer and a per-step schedule, eight
steps, from the same weights on the same batches. Each op is checked on its own
elsewhere; this checks that they compose: the losses step by step, the weights, the
running statistics, and the eval-mode outputs afterwards agree to float64 rounding.
The same for sequence models (a causal Transformer encoder, a bidirectional LSTM) and
for a WGAN-GP round (a gradient penalty: second order through autograd.grad) and for
sparse embedding gradients stepped by SparseAdam; and, under bfloat16 autocast, the dtype
each layer returns.
Skipped without torch."""
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn

torch = pytest.importorskip("torch")
ROOT = Path(__file__).resolve().parents[2]


def _copy_weights(model, reference):
    """minigrad's weights and buffers into the PyTorch twin (same names and shapes)."""
    reference.load_state_dict({k: torch.from_numpy(np.array(v.numpy()))
                               for k, v in model.state_dict().items()})


def _assert_same_weights(model, reference, rtol, atol):
    """Every entry of the two state dicts (weights and buffers) agrees."""
    ref_state = reference.state_dict()
    for name, value in model.state_dict().items():
        np.testing.assert_allclose(np.asarray(value.numpy(), dtype=np.float64),
                                   ref_state[name].numpy(), rtol=rtol, atol=atol,
                                   err_msg=name)


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
    _copy_weights(model, reference)
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
    _assert_same_weights(model, reference, rtol=1e-8, atol=1e-11)  # and running stats
    assert sched.get_last_lr() == pytest.approx(ref_sched.get_last_lr(), rel=1e-12)
    model.eval()
    reference.eval()
    x = rng.standard_normal((4, 3, 8, 8))
    with mg.no_grad(), torch.no_grad():
        np.testing.assert_allclose(model(mg.tensor(x)).numpy(),
                                   reference(torch.from_numpy(x)).numpy(), rtol=1e-8,
                                   atol=1e-11)


def _sequence_model(lib, kind):
    n = lib.nn

    class Model(n.Module):
        def __init__(self):
            super().__init__()
            self.emb = n.Embedding(11, 8, padding_idx=0)
            if kind == "transformer":
                layer = n.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0,
                                                  batch_first=True, norm_first=True,
                                                  activation="gelu")
                self.body = n.TransformerEncoder(layer, 2, norm=n.LayerNorm(8),
                                                 enable_nested_tensor=False)
            else:
                self.body = n.LSTM(8, 6, num_layers=2, batch_first=True, bidirectional=True)
            self.head = n.Linear(8 if kind == "transformer" else 12, 11)

        def forward(self, tokens, mask=None):
            h = self.emb(tokens)
            if kind == "transformer":
                h = self.body(h, mask=mask, is_causal=True)
            else:
                h, _ = self.body(h)
            return self.head(h)

    return Model()


@pytest.mark.parametrize("kind", ["transformer", "lstm"])
def test_a_sequence_model_trains_as_in_pytorch(kind):
    """A causal pre-norm Transformer encoder (GELU, final LayerNorm) or a bidirectional
    two-layer LSTM between an embedding with a padding row and a linear head, per-token
    cross-entropy with an ignored target, AdamW, six steps. (AdamW, not Adam with L2
    decay: attention's key bias has a gradient of exactly zero in theory, rounding noise
    of 1e-18 in practice, and Adam's L2 term multiplies such a weight by 1 − lr·wd/eps =
    −999 a step, in PyTorch too, so both blow their noise up differently.)"""
    mg.manual_seed(0)
    model = _sequence_model(mg, kind).to(dtype=mg.float64)
    reference = _sequence_model(torch, kind).double()
    _copy_weights(model, reference)
    opt = mg.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=1e-2)
    ref_opt = torch.optim.AdamW(reference.parameters(), lr=1e-2, weight_decay=1e-2)
    mask = nn.Transformer.generate_square_subsequent_mask(5).to(dtype=mg.float64)
    ref_mask = torch.nn.Transformer.generate_square_subsequent_mask(5, dtype=torch.float64)
    rng = np.random.default_rng(0)
    losses, ref_losses = [], []
    for _ in range(6):
        tokens, targets = rng.integers(0, 11, (3, 5)), rng.integers(0, 11, (3, 5))
        targets[0, -1] = -100
        opt.zero_grad()
        loss = nn.functional.cross_entropy(
            model(mg.tensor(tokens), mask if kind == "transformer" else None).reshape(-1, 11),
            mg.tensor(targets.reshape(-1)))
        loss.backward()
        opt.step()
        losses.append(loss.item())
        ref_opt.zero_grad()
        ref_loss = torch.nn.functional.cross_entropy(
            reference(torch.from_numpy(tokens),
                      ref_mask if kind == "transformer" else None).reshape(-1, 11),
            torch.from_numpy(targets.reshape(-1)))
        ref_loss.backward()
        ref_opt.step()
        ref_losses.append(ref_loss.item())
    np.testing.assert_allclose(losses, ref_losses, rtol=1e-12)
    _assert_same_weights(model, reference, rtol=1e-8, atol=1e-10)


def _gan(lib):
    n = lib.nn
    return (n.Sequential(n.Linear(3, 8), n.Tanh(), n.Linear(8, 4)),               # G
            n.Sequential(n.Linear(4, 8), n.SiLU(), n.Linear(8, 8), n.Tanh(),
                         n.Linear(8, 1)))                                         # D


def _wgan_gp_step(lib, G, D, opt_g, opt_d, real, z, eps):
    """One WGAN-GP round (Gulrajani et al. 2017): the critic's loss with the gradient
    penalty ‖∇D(x̂)‖ at x̂ = εx + (1 − ε)G(z), a second-order backward through
    autograd.grad(create_graph=True) with respect to x̂, an intermediate result with the
    generator's graph behind it (the penalty's backward also reaches G's weights, whose
    gradients the generator's step zeroes first), then the generator's loss."""
    fake = G(z)
    x_hat = eps * real + (1 - eps) * fake  # not detached: G's graph lies behind x̂
    (g,) = lib.autograd.grad(D(x_hat).sum(), [x_hat], create_graph=True)
    penalty = ((g.norm(dim=1) - 1) ** 2).mean()
    loss_d = D(fake.detach()).mean() - D(real).mean() + 10 * penalty
    opt_d.zero_grad()
    loss_d.backward()
    opt_d.step()
    loss_g = -D(G(z)).mean()
    opt_g.zero_grad()
    loss_g.backward()
    opt_g.step()
    return loss_d.item(), loss_g.item()


def test_a_wgan_gp_round_trains_as_in_pytorch():
    """The gradient penalty differentiates a gradient taken with respect to an
    intermediate tensor (autograd.grad of part of the graph, then create_graph): both
    losses for five rounds and every weight of both networks agree with PyTorch's."""
    mg.manual_seed(0)
    G, D = (m.to(dtype=mg.float64) for m in _gan(mg))
    tG, tD = (m.double() for m in _gan(torch))
    for mine, theirs in ((G, tG), (D, tD)):
        _copy_weights(mine, theirs)
    opts = [mg.optim.Adam(m.parameters(), lr=1e-3, betas=(0.5, 0.9)) for m in (G, D)]
    ref_opts = [torch.optim.Adam(m.parameters(), lr=1e-3, betas=(0.5, 0.9)) for m in (tG, tD)]
    rng = np.random.default_rng(0)
    for _ in range(5):
        real, z = rng.standard_normal((6, 4)), rng.standard_normal((6, 3))
        eps = rng.uniform(size=(6, 1))
        mine = _wgan_gp_step(mg, G, D, *opts, *(mg.tensor(a) for a in (real, z, eps)))
        theirs = _wgan_gp_step(torch, tG, tD, *ref_opts,
                               *(torch.from_numpy(a) for a in (real, z, eps)))
        np.testing.assert_allclose(mine, theirs, rtol=1e-10)
    for mine, theirs in ((G, tG), (D, tD)):
        _assert_same_weights(mine, theirs, rtol=1e-9, atol=1e-12)


def _bag_model(lib):
    n = lib.nn

    class Model(n.Module):
        def __init__(self):
            super().__init__()
            self.emb = n.Embedding(20, 6, sparse=True, padding_idx=1)
            self.bag = n.EmbeddingBag(20, 6, mode="mean", sparse=True)
            self.head = n.Linear(12, 3)

        def forward(self, tokens, bags, offsets):
            return self.head(lib.cat([self.emb(tokens).sum(1), self.bag(bags, offsets)], 1))

    return Model()


def test_sparse_gradients_train_as_in_pytorch():
    """Sparse embedding gradients (a padding row, repeated and absent indices, an empty
    bag) stepped by SparseAdam, the dense head by Adam: six steps, the losses and every
    weight agree with PyTorch's."""
    mg.manual_seed(0)
    model = _bag_model(mg).to(dtype=mg.float64)
    reference = _bag_model(torch).double()
    _copy_weights(model, reference)

    def optimizers(lib, m):
        return [lib.optim.SparseAdam([m.emb.weight, m.bag.weight], lr=1e-2),
                lib.optim.Adam(m.head.parameters(), lr=1e-2)]

    opts, ref_opts = optimizers(mg, model), optimizers(torch, reference)
    rng = np.random.default_rng(0)
    offsets = np.array([0, 2, 2, 5])  # the second bag is empty
    for _ in range(6):
        tokens, bags, y = rng.integers(0, 20, (4, 3)), rng.integers(0, 20, 7), \
            rng.integers(0, 3, 4)
        losses = []
        for lib, m, os_, wrap in ((mg, model, opts, mg.tensor),
                                  (torch, reference, ref_opts, torch.from_numpy)):
            for o in os_:
                o.zero_grad()
            loss = lib.nn.functional.cross_entropy(
                m(wrap(tokens), wrap(bags), wrap(offsets)), wrap(y))
            loss.backward()
            for o in os_:
                o.step()
            losses.append(loss.item())
        assert losses[0] == pytest.approx(losses[1], rel=1e-12)
    _assert_same_weights(model, reference, rtol=1e-10, atol=1e-14)


def test_autocast_picks_pytorchs_dtype_layer_by_layer():
    """Under bfloat16 autocast (on the CPU, where PyTorch autocasts too) every layer of
    the small ResNet returns the dtype PyTorch's does, but the average pooling (and the
    flatten after it): minigrad keeps means in float32, as sums (a difference the README
    lists). The logits agree to bfloat16's precision."""
    if not hasattr(torch, "autocast") or mg.bfloat16 is None:
        pytest.skip("needs torch.autocast and ml_dtypes' bfloat16")
    mg.manual_seed(0)
    model, reference = _models()
    model, reference = model.to(dtype=mg.float32), reference.float()
    _copy_weights(model, reference)

    def record(m):
        seen = {}
        for name, mod in m.named_modules():
            if name and not list(mod.children()):
                mod.register_forward_hook(lambda mod, i, o, name=name: seen.setdefault(
                    name, set()).add(str(o.dtype).replace("torch.", "")))
        return seen

    seen, ref_seen = record(model), record(reference)
    x = np.random.default_rng(0).standard_normal((4, 3, 8, 8)).astype(np.float32)
    with mg.amp.autocast(dtype=mg.bfloat16):
        y = model(mg.tensor(x))
    with torch.autocast("cpu", dtype=torch.bfloat16):
        ref_y = reference(torch.from_numpy(x))
    differ = {name for name in seen.keys() & ref_seen.keys() if seen[name] != ref_seen[name]}
    assert differ == {"6", "7"}, {n: (seen[n], ref_seen[n]) for n in differ}
    assert seen["6"] == {"float32"} and ref_seen["6"] == {"bfloat16"}
    assert len(seen.keys() & ref_seen.keys()) >= 20
    np.testing.assert_allclose(y.to(dtype=mg.float32).numpy(),
                               ref_y.float().detach().numpy(), atol=3e-2)
