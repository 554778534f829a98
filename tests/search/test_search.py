"""Search spaces, the four search methods, successive halving and the reports."""
import doctest
import importlib
import itertools
import json
import math

import numpy as np
import pytest

from minigrad.search import (
    AsyncHalving,
    Choice,
    Halving,
    IntUniform,
    LogUniform,
    Space,
    Uniform,
    bayesian_search,
    evolutionary_search,
    grid_search,
    random_search,
    successive_halving,
)
from minigrad.search.results import SearchResult, Trial

MODULES = ["minigrad.search", "minigrad.search.space", "minigrad.search.halving",
           "minigrad.search.grid", "minigrad.search.random_search",
           "minigrad.search.evolutionary", "minigrad.search.gp", "minigrad.search.bayesian",
           "minigrad.search.hypergradient", "minigrad.search.architecture",
           "minigrad.search.objectives"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name):
    result = doctest.testmod(importlib.import_module(name),
                             optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ------------------------------------------------------------------------------ spaces
def test_space_samples_stay_inside_and_encode_into_the_unit_cube():
    space = Space(lr=LogUniform(1e-4, 1e-1), p=Uniform(-1.0, 2.0), n=IntUniform(2, 5),
                  w=IntUniform(16, 256, log=True), act=Choice(["relu", "tanh", 3]))
    rng = np.random.default_rng(0)
    seen_n = set()
    for _ in range(300):
        c = space.sample(rng)
        space.validate(c)
        u = space.encode(c)
        assert u.shape == (space.width,) == (7,)
        assert np.all((u >= 0) & (u <= 1 + 1e-12))
        seen_n.add(c["n"])
        child = space.mutate(c, rng, rate=1.0)
        space.validate(child)
        assert child != c
    assert seen_n == {2, 3, 4, 5}


def test_log_uniform_is_uniform_in_the_exponent():
    rng = np.random.default_rng(1)
    x = np.array([LogUniform(1e-4, 1e-1).sample(rng) for _ in range(4000)])
    counts = np.histogram(np.log10(x), bins=[-4, -3, -2, -1])[0]
    assert np.all(np.abs(counts - 4000 / 3) < 120)


def test_dimensions_reject_bad_bounds():
    with pytest.raises(ValueError, match="low < high"):
        Uniform(1.0, 1.0)
    with pytest.raises(ValueError, match="> 0"):
        LogUniform(0.0, 1.0)
    with pytest.raises(TypeError, match="integers"):
        IntUniform(1.5, 3)
    with pytest.raises(ValueError, match="distinct"):
        Choice(["a", "a"])
    with pytest.raises(TypeError, match="Dimension"):
        Space(lr=0.1)
    with pytest.raises(ValueError, match="outside"):
        Space(x=Uniform(0.0, 1.0)).validate({"x": 2.0})


# -------------------------------------------------------------------------------- grid
def test_grid_enumerates_the_cartesian_product():
    space = Space(a=Choice([1, 2, 3]), b=Choice(["x", "y"]), c=Uniform(0.0, 1.0),
                  d=LogUniform(1e-3, 1e-1))
    calls = []
    result = grid_search(lambda c: (calls.append(dict(c)) or 0.0, {}), space, num=3)
    expected = [dict(a=a, b=b, c=c, d=d) for a, b, c, d in itertools.product(
        [1, 2, 3], ["x", "y"], [0.0, 0.5, 1.0], [1e-3, 1e-2, 1e-1])]
    assert len(calls) == len(result) == 3 * 2 * 3 * 3 == space.grid_size(3)
    for got, want in zip(calls, expected):
        assert got.keys() == want.keys()
        for k in want:
            assert got[k] == pytest.approx(want[k])
    # the trials budget chooses the resolution: 3 × 2 × k² ≤ 60 → k = 3
    assert len(grid_search(lambda c: 0.0, space, trials=60)) == 54


def test_grid_and_random_use_fixed_options():
    space = Space(lr=Uniform(0.0, 1.0), fixed={"epochs": 2})
    result = random_search(lambda c: (c["lr"], {}), space, trials=3, seed=0)
    assert all(t.config["epochs"] == 2 for t in result.trials)


def test_random_search_is_repeatable_by_seed():
    space = Space(x=Uniform(0.0, 1.0))
    f = lambda c: c["x"]
    a = [t.config for t in random_search(f, space, 5, seed=3).trials]
    b = [t.config for t in random_search(f, space, 5, seed=3).trials]
    c = [t.config for t in random_search(f, space, 5, seed=4).trials]
    assert a == b != c


# ------------------------------------------------------------------- successive halving
def test_successive_halving_keeps_the_best_third_at_each_rung():
    calls = []

    def objective(config, budget):
        calls.append((config["q"], budget))
        # the ranking changes with the budget: at budget 1 the order is q, later it is −|q − 5|
        return (config["q"] if budget == 1 else -abs(config["q"] - 5)), {}

    configs = [{"q": q} for q in range(9)]
    trials = successive_halving(objective, configs, Halving(1, 9, eta=3), mode="max")
    assert calls[:9] == [(q, 1) for q in range(9)]               # rung 0: all nine
    assert sorted(calls[9:12]) == [(6, 3), (7, 3), (8, 3)]        # rung 1: the best ⌊9/3⌋
    assert calls[12:] == [(6, 9)]                                 # rung 2: best at budget 3
    done = [t for t in trials if t.status == "done"]
    assert [t.config["q"] for t in done] == [6] and done[0].budget == 9
    assert done[0].history == [(1, 6.0), (3, -1.0), (9, -1.0)]
    stopped = {t.config["q"]: t.budget for t in trials if t.status == "stopped"}
    assert stopped == {0: 1, 1: 1, 2: 1, 3: 1, 4: 1, 5: 1, 7: 3, 8: 3}
    # the ranking puts the finished trial first, then the longest-trained
    result = SearchResult(trials, mode="max")
    assert [t.config["q"] for t in result.ranked()[:3]] == [6, 7, 8]


def test_successive_halving_minimises_and_keeps_at_least_one():
    calls = []

    def objective(config, budget):
        calls.append((config["q"], budget))
        return config["q"], {}

    trials = successive_halving(objective, [{"q": q} for q in (3, 1, 2)],
                                Halving(1, 4, eta=4), mode="min")
    assert calls == [(3, 1), (1, 1), (2, 1), (1, 4)]              # max(1, ⌊3/4⌋) = 1 kept
    assert [t.status for t in trials] == ["stopped", "done", "stopped"]


def test_async_halving_promotes_only_the_top_fraction():
    rule = AsyncHalving(Halving(1, 9, eta=3), mode="max")
    seen = []

    def objective(config, budget):
        seen.append((config["q"], budget))
        return config["q"], {}

    statuses = [rule.run(objective, {"q": q}, i).status for i, q in enumerate([5, 1, 9, 2, 3, 4])]
    # 5: first at each rung → promoted to the end; 1: not the best of 2; 9: best of 3;
    # 2, 3, 4: never in the top max(1, ⌊k/3⌋) at rung 0
    assert statuses == ["done", "stopped", "done", "stopped", "stopped", "stopped"]
    assert seen.count((9, 9)) == 1 and (1, 3) not in seen


def test_halving_budgets_and_validation():
    assert Halving.for_configs(27, max_budget=27).budgets() == [1, 3, 9, 27]
    assert Halving.for_configs(20, max_budget=9).budgets() == [1, 3, 9]
    assert Halving.for_configs(2, max_budget=9).budgets() == [9]
    with pytest.raises(ValueError, match="eta"):
        Halving(1, 9, eta=1)
    with pytest.raises(ValueError, match="exceeds"):
        Halving(10, 9)


def test_search_with_halving_passes_budgets():
    budgets = []

    def objective(config, budget):
        budgets.append(budget)
        return -(config["x"] - 0.5) ** 2, {}

    space = Space(x=Uniform(0.0, 1.0))
    result = random_search(objective, space, 9, seed=0, halving=Halving(1, 9))
    assert sorted(budgets) == [1] * 9 + [3] * 3 + [9]
    assert result.best.status == "done" and result.best.budget == 9
    budgets.clear()
    result = bayesian_search(objective, space, 6, seed=0, halving=Halving(1, 9))
    assert len(result) == 6 and set(budgets) <= {1, 3, 9}


# ------------------------------------------------------------------- model-based methods
def _first_hit(result, tol):
    """Number of evaluations until the metric first drops below ``tol`` (∞ if never)."""
    for i, t in enumerate(result.trials):
        if t.metric < tol:
            return i + 1
    return math.inf


def test_bayesian_search_beats_random_on_a_quadratic():
    f = lambda c: ((c["x"] - 0.3) ** 2, {})
    space = Space(x=Uniform(-2.0, 2.0))
    bayes = bayesian_search(f, space, trials=25, seed=0, mode="min")
    rand = random_search(f, space, trials=25, seed=0, mode="min")
    n_bayes, n_rand = _first_hit(bayes, 1e-4), _first_hit(rand, 1e-4)
    assert n_bayes <= 12 and n_bayes < n_rand
    assert bayes.best.metric < 1e-5 < rand.best.metric
    assert all("ei" in t.info for t in bayes.trials[3:])


def test_bayesian_search_handles_choices_and_nan():
    def f(c):
        if c["act"] == "bad":
            return math.nan, {}
        return (c["x"] - 0.2) ** 2 + (0.0 if c["act"] == "good" else 1.0), {}

    space = Space(x=Uniform(0.0, 1.0), act=Choice(["good", "ok", "bad"]))
    result = bayesian_search(f, space, trials=20, seed=1, mode="min", kernel="rbf")
    assert result.best.config["act"] == "good" and result.best.metric < 1e-2
    assert math.isnan(result.ranked()[-1].metric)


def test_evolutionary_search_improves_on_its_first_generation():
    f = lambda c: ((c["x"] - 0.3) ** 2 + (c["y"] - 0.7) ** 2 + 0.1 * (c["k"] - 4) ** 2, {})
    space = Space(x=Uniform(0.0, 1.0), y=Uniform(0.0, 1.0), k=IntUniform(0, 10))
    result = evolutionary_search(f, space, trials=80, population=8, seed=0, mode="min")
    first = min(t.metric for t in result.trials[:8])
    assert result.best.metric < first / 10 and result.best.config["k"] == 4


@pytest.mark.parametrize("search", [random_search, evolutionary_search, bayesian_search])
def test_searches_validate_trials(search):
    with pytest.raises(ValueError, match="trials"):
        search(lambda c: 0.0, Space(x=Uniform(0.0, 1.0)), 0)


# ------------------------------------------------------------------------------ reports
def test_result_table_and_json(tmp_path):
    trials = [Trial(0, {"lr": 0.1, "act": "relu"}, 0.5, seconds=0.1),
              Trial(1, {"lr": 0.01, "act": "relu"}, 0.9, info={"a": np.float32(1.5)}),
              Trial(2, {"lr": 1.0, "act": "relu"}, math.nan)]
    result = SearchResult(trials, mode="max", method="random", metric_name="val_accuracy")
    assert [t.number for t in result.ranked()] == [1, 0, 2]
    table = result.to_markdown()
    lines = table.splitlines()
    assert lines[0] == "| rank | trial | val_accuracy | lr | time (s) |"   # act is constant
    assert lines[2].startswith("| 1 | 1 | 0.9000 | 0.0100 |")
    assert lines[-1].startswith("| 3 | 2 | nan |")
    json_path, md_path = result.save(tmp_path / "run", extra={"note": "x"})
    data = json.loads(json_path.read_text())
    assert data["best"]["number"] == 1 and data["note"] == "x"
    assert data["trials"][2]["metric"] is None and data["trials"][1]["info"]["a"] == 1.5
    assert table in md_path.read_text()


# ------------------------------------------------------------- objective and architecture
def test_digits_objective_trains_and_reports():
    from minigrad.search import DigitsMLPObjective

    objective = DigitsMLPObjective(epochs=1)
    assert len(objective.fit_set) + len(objective.val_set) == 1437
    assert len(objective.test_set) == 360
    acc, info = objective({"lr": 3e-3, "width": 32})
    assert 0.5 < acc <= 1 and not info["diverged"] and info["epochs"] == 1
    again, _ = objective({"lr": 3e-3, "width": 32})
    assert again == acc                                   # the same seed, the same result
    acc3, info3 = objective({"lr": 3e-3, "width": 32}, budget=3)
    assert info3["epochs"] == 3 and acc3 >= acc
    _, info_hd = objective({"optimizer": "sgd-hd", "lr": 0.01, "width": 16})
    assert info_hd["final_lr"] != 0.01                    # the learning rate was learnt
    bad, info_bad = objective({"optimizer": "sgd", "lr": 1e4, "momentum": 0.9, "width": 16})
    assert info_bad["diverged"] and bad < 0.5
    test_acc, _ = objective.test({"lr": 3e-3, "width": 32})
    assert 0.5 < test_acc <= 1


@pytest.mark.parametrize("config,message", [
    ({"speed": 1}, "unknown training option 'speed'"),
    ({"lr": -1.0}, "lr must be a number >= 0"),
    ({"batch_size": 0}, "batch_size must be an integer > 0"),
    ({"optimizer": "adagrad"}, "optimizer must be one of"),
    ({"activation": "swish"}, "activation must be one of"),
    ({"norm": "group"}, "norm must be one of"),
    ({"dropout": 1.0}, "dropout must be in [0, 1)"),
    ({"schedule": "step"}, "schedule must be one of"),
])
def test_digits_objective_rejects_bad_options(config, message):
    from minigrad.search.objectives import check_options

    with pytest.raises(ValueError) as info:
        check_options(config)
    assert message in str(info.value)


def test_build_mlp_and_architecture_search():
    from minigrad import nn
    from minigrad.search import architecture_search, architecture_space, build_mlp

    net = build_mlp({"depth": 3, "width": 8, "activation": "gelu", "norm": "batchnorm",
                     "dropout": 0.1})
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "BatchNorm1d", "GELU", "Dropout"] * 3 + ["Linear"]
    assert isinstance(build_mlp({"depth": 0}), nn.Sequential) and len(build_mlp({"depth": 0})) == 1
    seen = []

    def objective(config):
        seen.append(config)
        return config["depth"] + config["width"] / 1000, {}

    result = architecture_search(objective, trials=6, method="evolutionary", seed=0)
    assert len(seen) == 6 and set(seen[0]) == set(architecture_space().names())
    assert result.best.metric == max(t.metric for t in result.trials)
    with pytest.raises(ValueError, match="method"):
        architecture_search(objective, method="annealing")
