"""minigrad.viz: the test functions, trajectories that reach the known minima, and the
plotting functions writing non-empty files (skipped without matplotlib)."""
import importlib.util
import runpy
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg
from minigrad.viz import (
    FUNCTIONS,
    beale,
    compare_optimizers,
    rosenbrock,
    run_optimizer,
    saddle,
    schedule_values,
)

HAS_MPL = importlib.util.find_spec("matplotlib") is not None
HAS_PIL = importlib.util.find_spec("PIL") is not None
needs_mpl = pytest.mark.skipif(not HAS_MPL, reason="matplotlib (the plot extra) is not installed")
EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


# ----------------------------------------------------------------------------- functions
@pytest.mark.parametrize("fn", [rosenbrock, beale])
def test_minimum_is_a_zero_gradient_zero_value_point(fn):
    p = mg.tensor(np.array(fn.minimum), requires_grad=True)
    loss = fn(p)
    loss.backward()
    assert abs(float(loss)) < 1e-12
    np.testing.assert_allclose(p.grad.data, 0.0, atol=1e-10)


def test_saddle_is_stationary_and_indefinite():
    p = mg.tensor(np.zeros(2), requires_grad=True)
    (g,) = mg.autograd.grad(saddle(p), [p], create_graph=True)
    np.testing.assert_allclose(g.data, 0.0)
    H = np.stack([mg.autograd.grad(g[i], [p], retain_graph=True)[0].data for i in range(2)])
    np.testing.assert_allclose(H, [[2.0, 0.0], [0.0, -2.0]])


def test_functions_agree_on_tensors_and_arrays():
    rng = np.random.default_rng(0)
    for fn in FUNCTIONS.values():
        xy = rng.uniform(-1, 1, size=2)
        assert np.isclose(float(fn(mg.tensor(xy))), fn.f(*xy), rtol=1e-12)
        X, Y, Z = fn.grid(7)
        assert Z.shape == (7, 7) and np.isfinite(Z).all()


def test_rosenbrock_gradient_by_hand():
    x, y = -1.5, 2.0
    p = mg.tensor(np.array([x, y]), requires_grad=True)
    rosenbrock(p).backward()
    want = [-2 * (1 - x) - 400 * x * (y - x * x), 200 * (y - x * x)]
    np.testing.assert_allclose(p.grad.data, want, rtol=1e-12)


# ----------------------------------------------------------------------------- trajectories
@pytest.mark.parametrize("fn,optimizer,kwargs,steps,tol", [
    (rosenbrock, "LBFGS", {"line_search_fn": "strong_wolfe"}, 100, 1e-4),
    (beale, "LBFGS", {"line_search_fn": "strong_wolfe"}, 100, 1e-6),
    (rosenbrock, "Sophia", {"lr": 0.05, "rho": 0.01, "weight_decay": 0.0, "k": 5}, 500, 1e-2),
    (beale, "Sophia", {"lr": 0.05, "rho": 0.1, "betas": (0.9, 0.95), "weight_decay": 0.0,
                       "k": 5}, 500, 1e-5),
    (beale, "Adam", {"lr": 0.2}, 500, 1e-4),
])
def test_converging_optimizers_end_near_the_minimum(fn, optimizer, kwargs, steps, tol):
    path = run_optimizer(fn, optimizer, steps=steps, **kwargs)
    assert path.shape[1] == 2 and np.array_equal(path[0], fn.start)
    assert fn.distance_to_minimum(path[-1]) < tol, path[-1]


def test_gradient_descent_escapes_the_saddle_along_y():
    path = run_optimizer(saddle, "SGD", steps=300, lr=0.01)
    assert abs(path[-1, 0]) < 0.01  # x → 0 (attracting direction)
    assert abs(path[-1, 1]) > 100 * abs(saddle.start[1])  # y grows (repelling direction)
    # started exactly on the x axis it never escapes
    stuck = run_optimizer(saddle, "SGD", steps=300, lr=0.01, start=(1.0, 0.0))
    assert stuck[-1, 1] == 0.0


def test_sam_and_factories_are_driven():
    path = run_optimizer(beale, "SAM", steps=50, base_optimizer="Adam", lr=0.1, rho=0.01)
    assert len(path) == 51
    from minigrad.optim import SGD
    path = run_optimizer(rosenbrock, lambda params: SGD(params, lr=1e-3), steps=10)
    assert len(path) == 11


def test_diverging_run_is_cut_and_unknown_names_are_refused():
    path = run_optimizer(rosenbrock, "SGD", steps=100, lr=1.0)
    assert len(path) < 101 and np.isfinite(path).all()
    with pytest.raises(ValueError, match="no optimizer named"):
        run_optimizer(rosenbrock, "Adamm")
    with pytest.raises(ValueError, match="unknown test function"):
        run_optimizer("himmelblau", "SGD")


def test_compare_optimizers_skips_missing(capsys):
    paths = compare_optimizers(beale, suite=[("Adam", "Adam", {"lr": 0.1}),
                                             ("Nope", "NoSuchOptimizer", {})],
                               steps=5, progress=False)
    assert list(paths) == ["Adam"]
    assert "skipping Nope" in capsys.readouterr().out


def test_schedule_values_match_the_scheduler():
    from minigrad.optim.lr_scheduler import CosineAnnealingLR, OneCycleLR
    v = schedule_values(lambda o: CosineAnnealingLR(o, T_max=10), steps=11, lr=1.0)
    np.testing.assert_allclose(v["lr"], 0.5 * (1 + np.cos(np.pi * np.arange(11) / 10)),
                               atol=1e-12)
    v = schedule_values(lambda o: OneCycleLR(o, max_lr=1.0, total_steps=20), steps=20)
    assert v["momentum"].min() == pytest.approx(0.85) and v["lr"].max() == pytest.approx(1.0)


# ----------------------------------------------------------------------------- files
@needs_mpl
def test_plot_trajectories_writes_png(tmp_path):
    from minigrad.viz import plot_trajectories
    paths = compare_optimizers(rosenbrock, steps=20, progress=False)
    out = plot_trajectories(rosenbrock, paths, tmp_path / "sub" / "r.png")
    data = Path(out).read_bytes()
    assert len(data) > 1000 and data[:8] == b"\x89PNG\r\n\x1a\n"


@needs_mpl
@pytest.mark.skipif(not HAS_PIL, reason="pillow is not installed")
def test_animate_trajectories_writes_gif(tmp_path):
    from minigrad.viz import animate_trajectories
    paths = {"Adam": run_optimizer(beale, "Adam", steps=10, lr=0.1),
             "SGD": run_optimizer(beale, "SGD", steps=10, lr=1e-3)}
    out = animate_trajectories(beale, paths, tmp_path / "b.gif", frames=4, dpi=40)
    data = Path(out).read_bytes()
    assert len(data) > 500 and data[:4] == b"GIF8"


@needs_mpl
def test_plot_schedules_writes_png(tmp_path):
    from minigrad.viz import plot_schedules
    out = plot_schedules(path=tmp_path / "s.png", steps=40, dpi=40)
    assert Path(out).stat().st_size > 1000


def test_missing_matplotlib_gives_a_clear_error(monkeypatch, tmp_path):
    from minigrad.viz import plot_trajectories
    for name in [m for m in sys.modules if m == "matplotlib" or m.startswith("matplotlib.")]:
        monkeypatch.delitem(sys.modules, name)
    monkeypatch.setitem(sys.modules, "matplotlib", None)  # makes `import matplotlib` fail
    with pytest.raises(ImportError, match=r"minigrad\[plot\]"):
        plot_trajectories(beale, {"x": np.zeros((2, 2))}, tmp_path / "x.png")


@needs_mpl
@pytest.mark.parametrize("script,args,outputs", [
    ("lr_schedules.py", ["--steps", "30"], ["lr_schedules.png"]),
    ("optimizer_trajectories.py", ["--steps", "15", "--no-gif", "--functions", "saddle"],
     ["trajectories_saddle.png"]),
])
def test_examples_write_their_files(tmp_path, script, args, outputs, capsys):
    module = runpy.run_path(str(EXAMPLES / script))
    module["main"](["--out", str(tmp_path), *args])
    for name in outputs:
        assert (tmp_path / name).stat().st_size > 1000
    assert "wrote" in capsys.readouterr().out
