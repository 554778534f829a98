"""The 8×8 handwritten digits, the dataset minigrad ships (scikit-learn's copy of the UCI
"optdigits" test set: 1797 images, 10 classes; CC BY 4.0, see ``LICENSE.txt`` here).

Each image is 8×8 pixels with values 0..16 (counts of set pixels in 4×4 blocks of the
original 32×32 bitmaps); :func:`load_digits` scales them to [0, 1].
"""
from __future__ import annotations

import functools
import gzip
from pathlib import Path

import numpy as np

from ..tensor import Tensor
from .dataset import TensorDataset, train_test_split

__all__ = ["load_digits", "digits_splits", "DIGITS_PATH"]

DIGITS_PATH = Path(__file__).with_name("digits.csv.gz")
N_SAMPLES, N_FEATURES, N_CLASSES = 1797, 64, 10


@functools.cache
def _read_digits():
    """(1797, 64) uint8 pixels and (1797,) int64 labels, read once per process."""
    with gzip.open(DIGITS_PATH, "rt", encoding="ascii") as f:
        table = np.loadtxt(f, delimiter=",", dtype=np.int64)
    if table.shape != (N_SAMPLES, N_FEATURES + 1):
        raise ValueError(f"{DIGITS_PATH}: expected a {N_SAMPLES}×{N_FEATURES + 1} table, got "
                         f"{table.shape}; the file is damaged")
    pixels, labels = table[:, :-1].astype(np.uint8), table[:, -1]
    pixels.setflags(write=False)
    labels.setflags(write=False)
    return pixels, labels


def load_digits(flat=False, dtype=np.float32, device=None):
    """The 1797 digit images and their labels.

    Parameters
    ----------
    flat : return images of shape (N, 64) instead of (N, 1, 8, 8).
    dtype : floating dtype of the images (float32 by default).
    device : where the tensors live ("cpu" by default).

    Returns
    -------
    images : Tensor (N, 1, 8, 8) or (N, 64), values in [0, 1] (pixel / 16).
    labels : int64 Tensor (N,), values 0..9.

    Examples
    --------
    >>> X, y = load_digits()
    >>> X.shape, X.dtype, y.shape, y.dtype, float(X.max()), int(y.max())
    ((1797, 1, 8, 8), dtype('float32'), (1797,), dtype('int64'), 1.0, 9)
    """
    pixels, labels = _read_digits()
    images = (pixels / 16.0).astype(dtype)
    if not flat:
        images = images.reshape(-1, 1, 8, 8)
    return Tensor(images, device=device), Tensor(labels.copy(), device=device)


def digits_splits(seed=0, test_size=0.2, flat=False, dtype=np.float32, device=None):
    """The digits split into a training and a held-out test set, stratified by class.

    The split depends only on ``seed`` (default 0: the split every minigrad example and
    test reports accuracy on; 360 test images, 36 per class, ±1), never on the global
    random state.

    Returns
    -------
    (train, test) : two :class:`TensorDataset` of (images, labels).

    Examples
    --------
    >>> train, test = digits_splits()
    >>> len(train), len(test)
    (1437, 360)
    """
    X, y = load_digits(flat=flat, dtype=dtype)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=test_size, stratify=y,
                                              seed=seed)
    if device is not None:
        X_tr, X_te, y_tr, y_te = (t.to(device) for t in (X_tr, X_te, y_tr, y_te))
    return TensorDataset(X_tr, y_tr), TensorDataset(X_te, y_te)
