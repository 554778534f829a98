"""linalg.inv_ex / solve_ex / cholesky_ex (info instead of an exception) and einsum's
sublist form."""
import numpy as np
import pytest

import minigrad as mg


def _batch():
    rng = np.random.default_rng(0)
    a = rng.standard_normal((3, 3, 3))
    a = a @ a.transpose(0, 2, 1) + 0.5 * np.eye(3)         # positive-definite
    a[1] = [[1.0, 2.0, 0.0], [2.0, 1.0, 0.0], [0.0, 0.0, 1.0]]   # indefinite at order 2
    singular = a.copy()
    singular[2, :, 0] = singular[2, 0, :] = 0.0            # a zero first row and column
    return a, singular


def test_ex_variants_report_instead_of_raising():
    a, singular = _batch()
    L, info = mg.linalg.cholesky_ex(mg.tensor(a))
    assert info.tolist() == [0, 2, 0] and info.dtype == mg.int32
    np.testing.assert_allclose(L.numpy()[[0, 2]], np.linalg.cholesky(a[[0, 2]]), rtol=1e-12)
    assert np.isnan(L.numpy()[1]).all()
    inverse, info = mg.linalg.inv_ex(mg.tensor(singular))
    assert info.tolist() == [0, 0, 1] and np.isnan(inverse.numpy()[2]).all()
    np.testing.assert_allclose(inverse.numpy()[0], np.linalg.inv(singular[0]), rtol=1e-10)
    b = np.ones((3, 3, 2))
    x, info = mg.linalg.solve_ex(mg.tensor(singular), mg.tensor(b))
    assert info.tolist() == [0, 0, 1]
    np.testing.assert_allclose(x.numpy()[1], np.linalg.solve(singular[1], b[1]), rtol=1e-10)
    with pytest.raises(mg.linalg.LinAlgError, match="not positive-definite"):
        mg.linalg.cholesky_ex(mg.tensor(a), check_errors=True)
    with pytest.raises(mg.linalg.LinAlgError, match="singular"):
        mg.linalg.inv_ex(mg.tensor(singular), check_errors=True)


def test_ex_gradients_reach_the_good_matrices_only():
    a, _ = _batch()
    x = mg.tensor(a, requires_grad=True)
    L, _ = mg.linalg.cholesky_ex(x)
    L[0].sum().backward()
    assert x.grad.numpy()[0].any() and not x.grad.numpy()[1].any()
    good = mg.tensor(a[[0, 2]], requires_grad=True)
    # Cholesky reads one triangle: checked through a symmetric input, as its own tests do
    assert mg.gradcheck(lambda t: mg.linalg.cholesky_ex((t + t.mT) / 2).L, [good])
    assert mg.gradcheck(lambda t: mg.linalg.inv_ex(t).inverse, [good])


def test_ex_variants_match_pytorch():
    torch = pytest.importorskip("torch")
    a, singular = _batch()
    for mine, theirs, m in [(mg.linalg.cholesky_ex, torch.linalg.cholesky_ex, a),
                            (mg.linalg.inv_ex, torch.linalg.inv_ex, singular)]:
        r, t = mine(mg.tensor(m)), theirs(torch.tensor(m))
        assert r.info.tolist() == t.info.tolist()
        ok = [i for i in range(3) if t.info[i] == 0]
        np.testing.assert_allclose(r[0].numpy()[ok], t[0].numpy()[ok], rtol=1e-10,
                                   atol=1e-12)


def test_einsum_sublist_form():
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal((2, 3)), rng.standard_normal((3, 4))
    got = mg.einsum(mg.tensor(a), [0, 1], mg.tensor(b), [1, 2], [0, 2])
    np.testing.assert_allclose(got.numpy(), a @ b, rtol=1e-12)
    assert mg.einsum(mg.tensor(a), [0, 1], mg.tensor(b), [1, 2]).shape == (2, 4)
    np.testing.assert_allclose(mg.einsum(mg.tensor(a), [Ellipsis, 0], [Ellipsis]).numpy(),
                               a.sum(1), rtol=1e-12)
    with pytest.raises(ValueError, match="subscripts must be ints"):
        mg.einsum(mg.tensor(a), [0, -1])
    with pytest.raises(TypeError, match="alternates tensors and lists"):
        mg.einsum(mg.tensor(a), [0, 1], [1, 2], [0, 2])
