"""MNIST-format IDX files (LeCun et al.), raw or gzip-compressed, from a local path.

The format: a 4-byte magic number ``00 00 TT DD`` (TT the element type, DD the number of
dimensions), DD big-endian uint32 sizes, then the elements in C order, big-endian::

    TT = 0x08 uint8   0x09 int8   0x0B int16   0x0C int32   0x0D float32   0x0E float64

MNIST ships ``train-images-idx3-ubyte`` (60000×28×28 uint8), ``train-labels-idx1-ubyte``
(60000 uint8) and the ``t10k-`` pair (10000 test images); Fashion-MNIST and KMNIST use
the same names.
"""
from __future__ import annotations

import gzip
import zlib
from pathlib import Path

import numpy as np

from ..tensor import Tensor

__all__ = ["load_idx", "load_mnist", "save_idx", "IDXError"]

_TYPES = {
    0x08: np.dtype("u1"), 0x09: np.dtype("i1"), 0x0B: np.dtype(">i2"),
    0x0C: np.dtype(">i4"), 0x0D: np.dtype(">f4"), 0x0E: np.dtype(">f8"),
}
_CODES = {np.dtype(v).newbyteorder("=").str[1:]: k for k, v in _TYPES.items()}
_GZIP_MAGIC = b"\x1f\x8b"


class IDXError(ValueError):
    """A file that is not a well-formed IDX file."""


def _read_bytes(path):
    path = Path(path)
    if not path.is_file():
        raise FileNotFoundError(f"load_idx: no such file: {path}")
    raw = path.read_bytes()
    if raw[:2] == _GZIP_MAGIC:  # gzip, whatever the file is called
        try:
            raw = gzip.decompress(raw)
        except (OSError, EOFError, zlib.error) as e:  # zlib.error: a corrupt body
            raise IDXError(f"load_idx: {path} looks gzip-compressed but does not "
                           f"decompress: {e}") from None
    return raw


def load_idx(path):
    """Read an IDX file (raw or gzip) into a NumPy array of native byte order.

    Raises
    ------
    FileNotFoundError : no file at ``path``.
    IDXError (a ValueError) : a wrong magic number, or a size that does not match the
        header; the message names the file and what was expected.

    Examples
    --------
    >>> import tempfile, numpy as np
    >>> path = tempfile.mkdtemp() + "/x-idx2-ubyte"
    >>> save_idx(path, np.arange(6, dtype=np.uint8).reshape(2, 3))
    >>> load_idx(path)
    array([[0, 1, 2],
           [3, 4, 5]], dtype=uint8)
    """
    raw = _read_bytes(path)
    if len(raw) < 4:
        raise IDXError(f"load_idx: {path} has {len(raw)} bytes, too short for an IDX header")
    zero, code, ndim = raw[:2], raw[2], raw[3]
    if zero != b"\x00\x00" or code not in _TYPES:
        known = ", ".join(f"0x{k:02X}" for k in _TYPES)
        raise IDXError(
            f"load_idx: {path} is not an IDX file: magic number 0x{raw[:4].hex().upper()} "
            f"(expected 0x0000 then a type code ({known}) and the number of dims, e.g. "
            f"0x00000803 for MNIST images)"
        )
    header = 4 + 4 * ndim
    if len(raw) < header:
        raise IDXError(f"load_idx: {path} is truncated inside its header ({ndim} dims "
                       f"declared, {len(raw)} bytes)")
    shape = tuple(int(s) for s in np.frombuffer(raw, ">u4", count=ndim, offset=4))
    dtype = _TYPES[code]
    expected = header + int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    if len(raw) != expected:
        raise IDXError(f"load_idx: {path} has {len(raw)} bytes but its header (shape {shape}, "
                       f"{dtype.newbyteorder('=').name}) implies {expected}")
    data = np.frombuffer(raw, dtype, offset=header).reshape(shape)
    return data.astype(dtype.newbyteorder("="))  # a writable copy in native order


def save_idx(path, array, compress=None):
    """Write ``array`` as an IDX file (gzip when ``compress`` or the name ends in .gz)."""
    array = np.asarray(array)
    key = array.dtype.newbyteorder("=").str[1:]
    if key not in _CODES:
        raise TypeError(f"save_idx: IDX has no type for {array.dtype}; use uint8, int8, "
                        "int16, int32, float32 or float64")
    code = _CODES[key]
    body = (bytes([0, 0, code, array.ndim]) + np.asarray(array.shape, ">u4").tobytes()
            + np.ascontiguousarray(array, _TYPES[code]).tobytes())
    path = Path(path)
    if compress or (compress is None and path.suffix == ".gz"):
        body = gzip.compress(body)
    path.write_bytes(body)


_NAMES = {True: ("train-images-idx3-ubyte", "train-labels-idx1-ubyte"),
          False: ("t10k-images-idx3-ubyte", "t10k-labels-idx1-ubyte")}


def _find(root, name):
    for folder in (root, root / "MNIST" / "raw", root / "raw"):
        for candidate in (folder / name, folder / (name + ".gz")):
            if candidate.is_file():
                return candidate
    return None


def load_mnist(root, train=True, flat=False, dtype=np.float32, device=None):
    """MNIST (or Fashion-MNIST, KMNIST) from the IDX files in ``root``.

    Looks for ``train-images-idx3-ubyte`` and ``train-labels-idx1-ubyte`` (``t10k-`` when
    ``train=False``), optionally ``.gz``, in ``root``, ``root/MNIST/raw`` (torchvision's
    layout) or ``root/raw``. Nothing is downloaded.

    Returns
    -------
    images : Tensor (N, 1, H, W) or (N, H·W) with ``flat``, values scaled to [0, 1].
    labels : int64 Tensor (N,).
    """
    root = Path(root)
    paths = [_find(root, name) for name in _NAMES[bool(train)]]
    missing = [n for n, p in zip(_NAMES[bool(train)], paths) if p is None]
    if missing:
        raise FileNotFoundError(f"load_mnist: {', '.join(missing)} (or .gz) not found in "
                                f"{root}, {root / 'MNIST' / 'raw'} or {root / 'raw'}")
    images, labels = load_idx(paths[0]), load_idx(paths[1])
    if images.ndim != 3 or labels.ndim != 1:
        raise IDXError(f"load_mnist: expected images (N, H, W) and labels (N,), got "
                       f"{images.shape} from {paths[0]} and {labels.shape} from {paths[1]}")
    if len(images) != len(labels):
        raise IDXError(f"load_mnist: {len(images)} images but {len(labels)} labels in "
                       f"{paths[0]} and {paths[1]}")
    scale = 255.0 if images.dtype == np.uint8 else 1.0
    X = (images / scale).astype(dtype)
    X = X.reshape(len(X), -1) if flat else X[:, None]
    return Tensor(X, device=device), Tensor(labels.astype(np.int64), device=device)
