"""The analyses behind landscape, init-study and compare, checked on cases with known
answers."""
import math

import numpy as np
import pytest

import minigrad as mg
from minigrad import nn
from minigrad.nn import functional as F
from minigrad.train import compare as C
from minigrad.train.init_study import format_table, init_study
from minigrad.train.landscape import (
    filter_normalized_direction,
    interpolate_1d,
    sharpness,
    surface_2d,
)


def test_filter_normalised_directions_match_each_filter_norm():
    mg.manual_seed(0)
    net = nn.Sequential(nn.Conv2d(2, 3, 3), nn.BatchNorm2d(3), nn.Flatten(), nn.Linear(12, 4))
    params = list(net.parameters())
    dirs = filter_normalized_direction(net, np.random.default_rng(0))
    for p, d in zip(params, dirs):
        if p.ndim <= 1:
            assert not np.any(d)  # biases and BatchNorm parameters stay put
        else:
            axes = tuple(range(1, p.ndim))
            np.testing.assert_allclose(np.sqrt((d ** 2).sum(axis=axes)),
                                       np.sqrt((p.numpy() ** 2).sum(axis=axes)), rtol=1e-5)


def quadratic():
    """loss(w) = mean((Xw − y)²): Hessian 2XᵀX/N, exactly."""
    rng = np.random.default_rng(0)
    X = rng.standard_normal((50, 3)) * np.array([3.0, 1.0, 0.5])
    y = rng.standard_normal((50, 1))
    model = nn.Linear(3, 1, bias=False).double()
    H = 2 * X.T @ X / len(X)
    return model, mg.tensor(X), mg.tensor(y), H


def test_sharpness_is_the_largest_hessian_eigenvalue():
    model, X, y, H = quadratic()
    lam, history = sharpness(model, F.mse_loss, (X, y), iters=100, tol=1e-10)
    assert lam == pytest.approx(np.linalg.eigvalsh(H).max(), rel=1e-6)
    assert len(history) <= 100


def test_slices_are_the_loss_along_the_directions_and_restore_the_weights():
    model, X, y, H = quadratic()
    w0 = model.weight.numpy().copy()
    d = [np.array([[1.0, 0.0, 0.0]])]
    e = [np.array([[0.0, 1.0, 0.0]])]
    alphas = np.array([-1.0, 0.0, 2.0])
    losses = interpolate_1d(model, F.mse_loss, [(X, y)], d, alphas)
    for a, loss in zip(alphas, losses):
        w = w0 + a * d[0]
        assert loss == pytest.approx(float(((X.numpy() @ w.T - y.numpy()) ** 2).mean()))
    Z = surface_2d(model, F.mse_loss, [(X, y)], d, e, alphas, alphas[:2])
    assert Z.shape == (2, 3) and Z[1, 1] == pytest.approx(losses[1])
    np.testing.assert_array_equal(model.weight.numpy(), w0)


def test_init_study_shows_the_textbook_behaviour():
    r = init_study(depth=20, width=64, batch=128)
    assert format_table(r, 20).count("\n") == 2 + 7 * 3 - 1   # 7 initializers × 3 activations
    zero = r[("zero", "relu")]
    assert zero["activation_std"][-1] == 0.0
    kaiming = r[("kaiming", "relu")]["activation_std"]
    calibrated = r[("calibrated", "relu")]["activation_std"]
    normal = r[("normal", "relu")]["activation_std"]
    assert 0.2 < kaiming[-1] < 5.0                      # He: the scale is kept
    assert calibrated[-1] < 1e-2 * calibrated[0]         # N(0, 1/n) with ReLU: halves per layer
    assert normal[-1] > 1e10                             # N(0, 1): explodes
    tanh_normal = r[("normal", "tanh")]["activation_std"]
    assert tanh_normal[-1] > 0.9                         # saturated: |h| ≈ 1
    selu_lecun = r[("calibrated", "selu")]["activation_std"]
    assert all(0.9 < s < 1.1 for s in selu_lecun)        # self-normalizing: std stays ≈ 1


def test_compare_runs_and_summarises():
    cache = {}
    r = C.run_one("rosenbrock", "adam", "cosine", lr=0.05, seed=0, epochs=3, cache=cache)
    assert len(r["curve"]) == 3 and not r["diverged"]
    assert r["curve"][-1] < r["curve"][0] < 12.5  # f at the start is about 12.5
    assert r["test"] == r["curve"][-1]
    bad = C.run_one("rosenbrock", "sgd", "constant", lr=1.0, seed=0, epochs=1)
    assert bad["diverged"] and math.isnan(bad["test"])
    results = C.compare(["sgd", "adam"], ["constant"], ["rosenbrock"], seeds=2, epochs=2,
                        tune_trials=2)
    table = C.markdown_table(results)
    assert "| adam | constant |" in table and "±" in table
    assert len(results["runs"]) == 2 * 2 * 2 and len(results["tuning"]) == 2 * 2
    with pytest.raises(ValueError, match="unknown optimizer"):
        C.compare(["adamm"], tasks=["rosenbrock"])
