"""The gradcheck catalog covers every op Function and every nn layer, and every case
passes."""
import pytest

from minigrad.gradcheck_catalog import (
    CASES,
    functions_reached,
    nn_functions,
    nn_layer_classes,
    op_functions,
    run_catalog,
)


@pytest.fixture(scope="module")
def reached():
    names = set()
    for case in CASES:
        names |= set(case.covers) if case.needs_cuda else functions_reached(case)
    return names


def test_every_function_of_minigrad_ops_is_checked(reached):
    missing = sorted(set(op_functions()) - reached)
    assert not missing, f"add gradcheck cases for {missing} to minigrad/gradcheck_catalog.py"


def test_every_function_of_minigrad_nn_is_checked(reached):
    missing = sorted(set(nn_functions()) - reached)
    assert not missing, f"add gradcheck cases for {missing} to minigrad/gradcheck_catalog.py"


def test_every_layer_exported_by_nn_has_a_case():
    layers = {case.layer for case in CASES if case.kind == "layer"}
    missing = sorted(set(nn_layer_classes()) - layers)
    assert not missing, f"add gradcheck cases for {missing} to minigrad/gradcheck_catalog.py"


def test_case_names_are_unique():
    names = [c.name for c in CASES]
    assert len(names) == len(set(names))


def test_every_case_passes():
    results = run_catalog()
    failed = [(r.name, r.message) for r in results if r.passed is False]
    assert not failed
    assert all(r.max_rel_error < 1e-2 for r in results if r.passed)


def test_a_wrong_gradient_is_caught():
    import numpy as np

    from minigrad.autograd.function import Function
    from minigrad.gradcheck_catalog import Case, run_case

    class BadSquare(Function):
        def forward(self, xp, x):
            return x * x

        def backward(self, gy):
            (x,) = self.inputs
            return gy * x  # should be 2x

    import minigrad as mg

    case = Case("bad", "op", lambda rng: (lambda x: BadSquare()(x),
                                          (mg.tensor(np.linspace(0.5, 1.5, 4),
                                                     requires_grad=True),)))
    r = run_case(case)
    assert r.passed is False and "constant factor" in r.message
    assert r.max_rel_error == pytest.approx(0.5, rel=1e-4)
