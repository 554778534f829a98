"""Random sparse matrices for the sparse tests: hypothesis strategies and plain helpers."""
import numpy as np
from hypothesis import strategies as st


@st.composite
def coo_parts(draw, max_side=7, min_side=0, duplicates=True, shuffle=True):
    """``(indices (2, nnz) int64, values (nnz,) float64, (m, n))`` of a random matrix.

    Densities from 0 (all zeros) to 1 (full), so empty rows and columns come up; with
    ``duplicates`` some positions are stored more than once; with ``shuffle`` the entries
    come in random order. Values are away from 0 (|v| in [0.5, 2])."""
    m = draw(st.integers(min_side, max_side))
    n = draw(st.integers(min_side, max_side))
    density = draw(st.sampled_from([0.0, 0.15, 0.4, 0.8, 1.0]))
    rng = np.random.default_rng(draw(st.integers(0, 2**32 - 1)))
    rows, cols = np.nonzero(rng.random((m, n)) < density)
    if duplicates and rows.size and draw(st.booleans()):
        extra = rng.integers(0, rows.size, size=int(rng.integers(1, rows.size + 1)))
        rows = np.concatenate([rows, rows[extra]])
        cols = np.concatenate([cols, cols[extra]])
    order = rng.permutation(rows.size) if shuffle and draw(st.booleans()) else \
        np.arange(rows.size)
    values = rng.uniform(0.5, 2.0, rows.size) * rng.choice([-1.0, 1.0], rows.size)
    indices = np.stack([rows[order], cols[order]]).astype(np.int64).reshape(2, -1)
    return indices, values[order], (m, n)


def dense_of(indices, values, shape):
    """The dense array of COO parts, duplicates added (float64)."""
    D = np.zeros(tuple(shape) + np.shape(values)[1:], dtype=np.float64)
    np.add.at(D, tuple(indices), values)
    return D


def random_dense(rng, shape, density):
    """A dense float64 array with about ``density`` of its entries nonzero (|v| >= 0.5)."""
    mask = rng.random(shape) < density
    values = rng.uniform(0.5, 2.0, shape) * rng.choice([-1.0, 1.0], shape)
    return np.where(mask, values, 0.0)


def host(x):
    """A Tensor's (or array's) data as a NumPy array."""
    data = getattr(x, "data", x)
    return data.get() if hasattr(data, "get") else np.asarray(data)
