"""``save`` / ``load``: checkpoints as NumPy ``.npz`` archives, written atomically.

What can be saved: Tensors, NumPy/CuPy arrays, sparse COO and CSR tensors, and Python
containers of them nested to any depth — dicts (string or integer keys), lists, tuples —
with ``None``, bools, ints, floats and strings as leaves. That covers
``Module.state_dict()``, an optimizer's ``state_dict()`` (integer keys, hyperparameter
lists), an RNG state and a training loop's bookkeeping, in one file.

File format. Each array is one ``.npy`` member of the archive (``a0``, ``a1``...), so
``numpy.load`` reads the arrays without minigrad; the nesting is described by a JSON
document in the member ``__minigrad__`` (a 0-d unicode array). Nothing is pickled and
``load`` never unpickles (``allow_pickle=False``): loading a file cannot run code. A
plain ``.npz`` without that member (for example ``np.savez(path, **torch_state_dict_as
_arrays)``) loads as a flat ``{name: Tensor}`` dict, ready for ``load_state_dict``.

Atomic write. ``save`` writes to a temporary file in the destination's folder, flushes
and ``fsync``s it, then renames it over the destination with ``os.replace`` (atomic on
POSIX and Windows) and fsyncs the folder. A crash at any moment leaves either the old
checkpoint or the new one, never a half-written file; the temporary file is removed if
writing fails.

Examples
--------
>>> import os, tempfile
>>> import minigrad as mg
>>> from minigrad.serialization import save, load
>>> path = os.path.join(tempfile.mkdtemp(), "ckpt.npz")
>>> save({"step": 3, "w": mg.tensor([1.0, 2.0])}, path)
>>> load(path)
{'step': 3, 'w': tensor([1., 2.])}
"""
from __future__ import annotations

import io
import json
import os
import tempfile
import zipfile
import zlib
from collections import OrderedDict

import numpy as np

from . import dtypes as _dt
from ._backend import get_array_module, normalize_device, to_device
from .tensor import Tensor

__all__ = ["save", "load", "CheckpointError"]

_META = "__minigrad__"
_FORMAT = "minigrad-npz"
_VERSION = 1


class CheckpointError(RuntimeError):
    """A file that cannot be read as a minigrad checkpoint (corrupt, truncated, or not
    an ``.npz`` archive)."""


def _is_array(x):
    return isinstance(x, np.ndarray) or (
        hasattr(x, "shape") and hasattr(x, "dtype") and get_array_module(x) is not np)


class _Writer:
    def __init__(self):
        self.arrays = {}

    def add(self, array):
        name = f"a{len(self.arrays)}"
        array = to_device(array, "cpu")
        entry = {"$array": name}
        if _dt.bfloat16 is not None and array.dtype == _dt.bfloat16:
            array = array.view(np.uint16)  # .npy has no bfloat16; store the bits
            entry["dtype"] = "bfloat16"
        self.arrays[name] = array if array.flags.c_contiguous else array.copy(order="C")
        return entry

    def encode(self, obj, where):
        if obj is None or isinstance(obj, (bool, str)):
            return obj
        if isinstance(obj, (int, float)) and not isinstance(obj, bool):
            if isinstance(obj, float) and not np.isfinite(obj):
                return {"$float": repr(float(obj))}  # "nan", not NumPy 2's "np.float64(nan)"
            return obj
        if isinstance(obj, Tensor):
            entry = self.add(obj.data)
            entry["$tensor"] = True
            if obj.requires_grad and obj.is_leaf:
                entry["requires_grad"] = True
            if type(obj).__name__ == "Parameter":
                entry["parameter"] = True
            if obj.device != "cpu":
                entry["device"] = obj.device
            return entry
        if isinstance(obj, np.generic):
            return self.add(np.asarray(obj)) | {"scalar": True}
        if getattr(obj, "layout", None) == "sparse_coo":
            return {"$sparse_coo": [self.add(obj._idx), self.encode(obj.values(), where)],
                    "size": list(obj.shape)}
        if getattr(obj, "layout", None) == "sparse_csr":
            p = obj._pattern
            return {"$sparse_csr": [self.add(p.crow), self.add(p.col),
                                    self.encode(obj.values(), where)],
                    "size": list(obj.shape)}
        if _is_array(obj):
            entry = self.add(obj)
            if get_array_module(obj) is not np:
                entry["device"] = "cuda"
            return entry
        if isinstance(obj, dict):
            items = []
            for k, v in obj.items():
                if isinstance(k, bool) or not isinstance(k, (str, int)):
                    raise TypeError(f"save: dict keys must be str or int, got {k!r} at {where}")
                items.append([k, self.encode(v, f"{where}[{k!r}]")])
            return {"$dict": items, "ordered": type(obj).__name__ == "OrderedDict"}
        if isinstance(obj, (list, tuple)):
            tag = "$list" if isinstance(obj, list) else "$tuple"
            return {tag: [self.encode(v, f"{where}[{i}]") for i, v in enumerate(obj)]}
        raise TypeError(
            f"save: cannot save an object of type {type(obj).__name__} at {where}; supported: "
            "Tensors, arrays, COO/CSR sparse tensors, dicts, lists, tuples, None, bool, int, "
            "float, str")


def _fsync_dir(folder):
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:  # e.g. Windows: directories cannot be opened
        return
    try:
        os.fsync(fd)
    except OSError:
        pass
    finally:
        os.close(fd)


def _write_npz(f, arrays):
    np.savez(f, **arrays)


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def save(obj, f):
    """Save ``obj`` (a state dict, or nested containers of Tensors/arrays/numbers) to
    ``f`` (a path, written atomically; or a writable binary file object).

    Parameters
    ----------
    obj : the object to save.
    f : str, os.PathLike or file object. The file name is used as given (no ``.npz``
        is appended).
    """
    writer = _Writer()
    meta = {"format": _FORMAT, "version": _VERSION, "root": writer.encode(obj, "obj")}
    arrays = dict(writer.arrays)
    arrays[_META] = np.array(json.dumps(meta))
    if hasattr(f, "write"):
        _write_npz(f, arrays)
        return
    path = os.fspath(f)
    folder = os.path.dirname(os.path.abspath(path))
    if not os.path.isdir(folder):
        raise FileNotFoundError(f"save: folder {folder!r} does not exist")
    write_atomic(path, lambda fh: _write_npz(fh, arrays))


def write_atomic(path, write, mode="wb"):
    """Write a file so that ``path`` holds either its old or its whole new content, never
    a part: ``write(fh)`` fills a temporary file in the same folder (``mode`` "wb", or "w"
    for UTF-8 text), which is flushed to disk, given the usual mode 0666 & ~umask
    (``mkstemp`` makes 0600) and renamed over ``path`` (``os.replace``, atomic on POSIX
    and Windows); then the folder entry is flushed too."""
    folder = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(dir=folder, prefix="." + os.path.basename(path) + ".",
                               suffix=".tmp")
    text = {} if "b" in mode else {"encoding": "utf-8", "newline": ""}
    try:
        with os.fdopen(fd, mode, **text) as fh:
            write(fh)
            fh.flush()
            os.fsync(fh.fileno())
        try:
            os.chmod(tmp, 0o666 & ~_umask())
        except OSError:  # pragma: no cover - e.g. a filesystem without modes
            pass
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise
    _fsync_dir(folder)


class _Reader:
    def __init__(self, archive, device):
        self.archive, self.device = archive, device

    def array(self, entry):
        a = self.archive[entry["$array"]]
        if entry.get("dtype") == "bfloat16":
            a = a.view(_dt.as_dtype("bfloat16"))
        return a

    def decode(self, node):
        if not isinstance(node, dict):
            return node
        if "$float" in node:
            return float(node["$float"])
        if "$array" in node:
            a = self.array(node)
            if node.get("scalar"):
                return a[()]
            if node.get("$tensor"):
                device = self.device or node.get("device", "cpu")
                a = to_device(a, normalize_device(device))
                if node.get("parameter"):
                    from .nn.module import Parameter

                    return Parameter(a, requires_grad=node.get("requires_grad", False))
                t = Tensor(a)
                if node.get("requires_grad"):
                    t.requires_grad_(True)
                return t
            if self.device is not None or node.get("device"):
                return to_device(a, normalize_device(self.device or node["device"]))
            return a
        if "$sparse_coo" in node or "$sparse_csr" in node:
            from . import sparse

            parts = [self.decode(v) for v in node.get("$sparse_coo") or node["$sparse_csr"]]
            if "$sparse_coo" in node:
                return sparse.sparse_coo_tensor(*parts, node["size"])
            return sparse.sparse_csr_tensor(*parts, node["size"])
        if "$dict" in node:
            d = OrderedDict() if node.get("ordered") else {}
            for k, v in node["$dict"]:
                d[k] = self.decode(v)
            return d
        if "$list" in node:
            return [self.decode(v) for v in node["$list"]]
        if "$tuple" in node:
            return tuple(self.decode(v) for v in node["$tuple"])
        raise CheckpointError(f"load: unknown entry {node!r} in the checkpoint structure")


def load(f, map_location=None, *, weights_only=None):
    """Load what :func:`save` wrote (or a plain ``.npz`` of arrays, as ``{name: Tensor}``).

    Parameters
    ----------
    f : path or readable binary file object.
    map_location : ``"cpu"``/``"cuda"`` to put every tensor there (default: where it
        was saved).
    weights_only : accepted for PyTorch compatibility and ignored: ``load`` never
        unpickles, so it is always as safe as ``torch.load(..., weights_only=True)``.

    Raises
    ------
    FileNotFoundError
        when the path does not exist.
    CheckpointError
        when the file is not a readable ``.npz`` archive (corrupt or truncated), is a
        zip archive of something else (a ``torch.save`` file, for one), or its structure
        is damaged.
    """
    if map_location is not None:  # a bad device is the caller's, not the file's, problem
        try:
            map_location = normalize_device(map_location)
        except ValueError as e:
            raise ValueError(f"load: map_location: {e}") from None
    name = repr(getattr(f, "name", f)) if hasattr(f, "read") else repr(os.fspath(f))
    if not hasattr(f, "read"):
        path = os.fspath(f)
        if not os.path.exists(path):
            raise FileNotFoundError(f"load: no such file: {path!r}")
        with open(path, "rb") as fh:
            data = fh.read()
    else:
        data = f.read()
    try:
        with np.load(io.BytesIO(data), allow_pickle=False) as archive:
            files = set(archive.files)
            arrays = {k: archive[k] for k in files}
    except (zipfile.BadZipFile, zlib.error, ValueError, OSError, EOFError, KeyError) as e:
        # NumPy reads a file that is no zip archive as a pickle and advises allow_pickle=;
        # minigrad never unpickles, so that advice would mislead: name the problem only.
        detail = ("it is not a zip archive" if "allow_pickle" in str(e)
                  else f"{type(e).__name__}: {e}")
        raise CheckpointError(
            f"load: {name} is not a valid checkpoint (corrupt, truncated, or not an .npz "
            f"archive): {detail}") from None
    _check_only_arrays(arrays, name)
    if _META not in arrays:
        device = normalize_device(map_location) if map_location is not None else "cpu"
        return {k: Tensor(to_device(v, device)) for k, v in arrays.items()}
    try:
        meta = json.loads(str(arrays.pop(_META)))
        if meta.get("format") != _FORMAT:
            raise ValueError(f"unknown format {meta.get('format')!r}")
        if meta.get("version", 0) > _VERSION:
            raise ValueError(f"written by a newer minigrad (format version {meta['version']})")
        return _Reader(arrays, map_location).decode(meta["root"])
    except CheckpointError:
        raise
    except (ValueError, KeyError, TypeError) as e:
        raise CheckpointError(f"load: {name} has a damaged structure: {e}") from None


def _check_only_arrays(arrays, name):
    """Refuse a zip archive whose members are not ``.npy`` arrays (``numpy.load`` hands
    those back as raw bytes): a PyTorch checkpoint above all, which is a zip of pickles."""
    foreign = sorted(k for k, v in arrays.items() if not isinstance(v, np.ndarray))
    if not foreign:
        return
    if any(k.endswith("data.pkl") for k in foreign):
        raise CheckpointError(
            f"load: {name} is a PyTorch checkpoint (torch.save), which minigrad does not "
            "read (it would have to unpickle). Convert it where PyTorch is installed: "
            "np.savez(path, **{k: v.numpy() for k, v in torch.load(f).items()}), then "
            "load that .npz")
    raise CheckpointError(f"load: {name} is a zip archive but not an .npz of arrays: "
                          f"member {foreign[0]!r} is not a .npy file")
