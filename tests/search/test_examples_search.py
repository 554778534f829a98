"""The training examples run on tiny settings and print what they promise; the pieces they
rest on (MAML's second-order meta-gradient, the ECE, the EWC Fisher) are checked by hand."""
import importlib.util
import math
import re
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg

EXAMPLES = Path(__file__).resolve().parents[2] / "examples"
NUMBER = r"[-+]?\d+(?:\.\d+)?"


@pytest.fixture(autouse=True)
def _one_blas_thread():
    """One BLAS thread: these matrices are small, and on a busy machine OpenBLAS's threads
    spinning on each other made these tests 30× slower (2 s against 60 s)."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:
        yield
        return
    with threadpool_limits(limits=1, user_api="blas"):
        yield


def _run(name, args, monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", [name, *args])
    runpy.run_path(str(EXAMPLES / name), run_name="__main__")
    return capsys.readouterr().out


def _module(name):
    spec = importlib.util.spec_from_file_location(name[:-3], EXAMPLES / name)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _percent(line):
    return [float(v) for v in re.findall(rf"({NUMBER})%", line)]


def test_large_batch_scaling(monkeypatch, capsys):
    out = _run("large_batch_scaling.py", ["--epochs", "2"], monkeypatch, capsys)
    assert "η = 0.02 · 512/16 = 0.64" in out
    rows = {line[:16].strip(): line.split() for line in out.splitlines()
            if line.startswith(("small", "large"))}
    assert list(rows) == ["small batch", "large, same η", "large, scaled", "large, warm-up"]
    assert [r[-4] for r in rows.values()] == ["180", "6", "6", "6"]      # steps
    acc = {k: float(r[-1].rstrip("%")) for k, r in rows.items()}
    # after 2 epochs the unscaled large batch has barely moved; scaling makes up for it
    assert acc["large, same η"] < acc["large, scaled"] < acc["small batch"]


def test_distillation(monkeypatch, capsys):
    out = _run("distillation.py", ["--teacher-epochs", "2", "--epochs", "4"], monkeypatch, capsys)
    lines = out.splitlines()
    assert lines[0].startswith("teacher CNN") and "6,090 parameters" in lines[0]
    assert lines[1].startswith("student alone") and "300 training images" in lines[1]
    assert lines[2].startswith("student, T=4")
    for line in lines[:3]:
        acc = _percent(line)[0]
        nll = float(re.search(rf"NLL ({NUMBER})", line).group(1))
        assert 10 < acc <= 100 and math.isfinite(nll)


def test_swa(monkeypatch, capsys):
    out = _run("swa.py", ["--epochs", "4", "--swa-start", "1"], monkeypatch, capsys)
    last, swa, spread = out.splitlines()[:3]
    assert last.startswith("last iterate") and swa.startswith("SWA (3 epochs)")
    assert spread.startswith("the 3 averaged iterates")
    assert _percent(swa)[0] > 80


def test_label_smoothing_calibration(monkeypatch, capsys):
    out = _run("label_smoothing_calibration.py",
               ["--epochs", "2", "--smoothing", "0,0.1", "--reliability"], monkeypatch, capsys)
    rows = [line.split() for line in out.splitlines() if line.startswith("ε =")]
    assert [r[2] for r in rows] == ["0", "0.1"] and len(rows) == 2
    conf = [float(r[4].rstrip("%")) for r in rows]
    ece = [float(r[-1]) for r in rows]
    assert conf[1] < conf[0]                         # smoothing lowers the confidence
    assert all(0 <= e <= 1 for e in ece)
    assert "reliability" in out and "conf" in out


def test_expected_calibration_error_by_hand():
    ls = _module("label_smoothing_calibration.py")
    conf = np.array([0.95, 0.95, 0.55, 0.65, 1.0])
    correct = np.array([1.0, 0.0, 1.0, 1.0, 1.0])
    # bins of width 0.5: (0, 0.5] empty; (0.5, 1]: all five, acc 0.8, conf 0.82
    assert ls.expected_calibration_error(conf, correct, n_bins=2) == pytest.approx(0.02)
    # width 0.1: {0.55}: |1 − 0.55|; {0.65}: |1 − 0.65|; {0.95, 0.95, 1.0}: |2/3 − 0.9667|
    want = (0.45 + 0.35 + 3 * abs(2 / 3 - (0.95 + 0.95 + 1.0) / 3)) / 5
    assert ls.expected_calibration_error(conf, correct, n_bins=10) == pytest.approx(want)
    assert ls.expected_calibration_error(np.ones(4), np.ones(4)) == 0.0


def test_transfer_learning(monkeypatch, capsys):
    out = _run("transfer_learning.py", ["--pretrain-epochs", "2", "--epochs", "3"],
               monkeypatch, capsys)
    assert "(720 training images)" in out and "5-9 from 25 labels" in out
    assert "(2,565 trainable parameters)" in out        # only the new head: 512·5 + 5
    assert "(12,133 trainable parameters)" in out       # every layer from scratch
    transfer = next(line for line in out.splitlines() if "frozen" in line)
    assert _percent(transfer)[0] > 50


def test_maml_second_order_adapts(monkeypatch, capsys):
    out = _run("maml_sinusoid.py", ["--iterations", "150", "--eval-tasks", "50"],
               monkeypatch, capsys)
    gap = float(re.search(rf"= ({NUMBER})", out).group(1))
    assert gap > 0.01                                   # the Hessian term is not zero
    rows = {line[:16].strip(): [float(v) for v in line[16:].split()]
            for line in out.splitlines() if line.startswith(("MAML", "pretrained"))}
    assert list(rows) == ["MAML (2nd order)", "MAML (1st order)", "pretrained"]
    before, after_1, after_10 = rows["MAML (2nd order)"]
    assert all(math.isfinite(v) for v in (before, after_1, after_10))
    assert after_1 < before


def test_maml_meta_gradient_is_second_order_exact():
    """The meta-gradient through the inner step equals central differences of the
    meta-loss in float64; the first-order one does not."""
    maml = _module("maml_sinusoid.py")
    rng = np.random.default_rng(0)
    x, y, _, _ = maml.sample_tasks(rng, 3, 8, dtype=np.float64)
    batch = tuple(mg.tensor(a, dtype=mg.float64) for a in (x[:, :4], y[:, :4], x[:, 4:],
                                                           y[:, 4:]))
    mg.manual_seed(0)
    params = [p.detach().double().requires_grad_(True) for p in maml.init_params((1, 5, 5, 1))]
    alpha = 0.1

    def loss_at(values, second_order=True):
        ps = [mg.tensor(v, dtype=mg.float64, requires_grad=True) for v in values]
        return maml.meta_loss(ps, batch, alpha, second_order), ps

    values = [p.data.copy() for p in params]
    loss, ps = loss_at(values)
    grads = mg.autograd.grad(loss, ps)
    loss_fo, ps_fo = loss_at(values, second_order=False)
    grads_fo = mg.autograd.grad(loss_fo, ps_fo)
    direction = [rng.standard_normal(v.shape) for v in values]
    h = 1e-6
    plus = loss_at([v + h * d for v, d in zip(values, direction)])[0].item()
    minus = loss_at([v - h * d for v, d in zip(values, direction)])[0].item()
    numeric = (plus - minus) / (2 * h)
    analytic = sum(float((g.numpy() * d).sum()) for g, d in zip(grads, direction))
    first_order = sum(float((g.numpy() * d).sum()) for g, d in zip(grads_fo, direction))
    assert analytic == pytest.approx(numeric, rel=1e-6)
    assert abs(first_order - numeric) > 1e-3 * abs(numeric)


def test_ewc_continual(monkeypatch, capsys):
    out = _run("ewc_continual.py", ["--epochs", "2"], monkeypatch, capsys)
    lines = out.splitlines()
    assert lines[0].startswith("after task A")
    plain = next(line for line in lines if "plain" in line)
    ewc = next(line for line in lines if "EWC" in line)
    forgot = [float(re.search(rf"forgot ({NUMBER}) points", line).group(1))
              for line in (plain, ewc)]
    assert forgot[0] > 5                                # training on B forgets A
    assert forgot[1] < forgot[0]                        # EWC forgets less
    assert _percent(ewc)[0] > _percent(plain)[0]


def test_ewc_fisher_and_penalty_by_hand():
    ewc = _module("ewc_continual.py")
    from minigrad import nn
    from minigrad.data import TensorDataset

    mg.manual_seed(0)
    model = nn.Sequential(nn.Linear(3, 10))
    X = mg.randn(4, 3)
    data = TensorDataset(X, mg.tensor([0, 1, 2, 3]))
    fisher = ewc.fisher_diagonal(model, data, np.random.default_rng(0))
    # by hand: for a linear softmax model ∂ log p(ŷ|x)/∂W = (e_ŷ − p) xᵀ, ∂/∂b = e_ŷ − p
    rng = np.random.default_rng(0)
    W, b = (p.numpy().astype(np.float64) for p in model.parameters())
    FW, Fb = np.zeros_like(W), np.zeros_like(b)
    for x in X.numpy().astype(np.float64):
        z = W @ x + b
        p = np.exp(z - z.max())
        p /= p.sum()
        e = np.eye(10)[rng.choice(10, p=p)]
        FW += np.outer(e - p, x) ** 2 / 4
        Fb += (e - p) ** 2 / 4
    np.testing.assert_allclose(fisher[0].numpy(), FW, rtol=1e-4, atol=1e-7)
    np.testing.assert_allclose(fisher[1].numpy(), Fb, rtol=1e-4, atol=1e-7)
    anchor = [p.detach().clone() for p in model.parameters()]
    assert ewc.ewc_penalty(model, fisher, anchor, 10.0).item() == 0.0
    with mg.no_grad():
        model[0].bias.add_(1.0)
    # (λ/2) Σ F_b · 1²
    assert ewc.ewc_penalty(model, fisher, anchor, 10.0).item() == pytest.approx(
        5.0 * Fb.sum(), rel=1e-5)
