"""How tensors print: ``set_printoptions`` (PyTorch's signature) and the array formatting
``Tensor.__repr__`` uses."""
from __future__ import annotations

import math
import sys

import numpy as np

_DEFAULTS = {"precision": 8, "threshold": 200, "edgeitems": 3, "linewidth": 75,
             "sci_mode": None}
_PROFILES = {
    "default": _DEFAULTS,
    "short": {"precision": 2, "threshold": 1000, "edgeitems": 2, "linewidth": 80,
              "sci_mode": None},
    "full": {"precision": 4, "threshold": math.inf, "edgeitems": 3, "linewidth": 80,
             "sci_mode": None},
}
_options = dict(_DEFAULTS)


def set_printoptions(precision=None, threshold=None, edgeitems=None, linewidth=None,
                     profile=None, sci_mode=None):
    """Set how tensors print: ``precision`` (digits after the point), ``threshold`` (more
    elements than this are summarised with ``...``), ``edgeitems`` (elements kept at each
    end of a summarised dim), ``linewidth``, ``sci_mode`` (True: always scientific, False:
    never, None: NumPy's choice), or a ``profile`` ("default", "short", "full") first.

    >>> import minigrad as mg
    >>> mg.set_printoptions(precision=2)
    >>> mg.tensor([1 / 3])
    tensor([0.33])
    >>> mg.set_printoptions(profile="default")
    """
    if profile is not None:
        if profile not in _PROFILES:
            raise ValueError(f"set_printoptions: profile must be one of "
                             f"{sorted(_PROFILES)}, got {profile!r}")
        _options.update(_PROFILES[profile])
    for name, value in (("precision", precision), ("threshold", threshold),
                        ("edgeitems", edgeitems), ("linewidth", linewidth)):
        if value is not None:
            if value < 0:
                raise ValueError(f"set_printoptions: {name} must be non-negative, got "
                                 f"{value!r}")
            _options[name] = value
    _options["sci_mode"] = sci_mode


def array_string(a, prefix):
    """``a`` (a NumPy array) formatted with the current options."""
    o = _options
    kwargs = {}
    if a.dtype.kind == "V" and a.dtype.name == "bfloat16":
        a = a.astype(np.float32)  # exact; NumPy formats ml_dtypes' bfloat16 as integers
    if o["sci_mode"] is True and a.dtype.kind == "f":
        p = o["precision"]
        kwargs["formatter"] = {"float_kind": lambda v: f"{v:.{p}e}"}
    threshold = o["threshold"]
    return np.array2string(
        a, separator=", ", prefix=prefix, precision=o["precision"],
        threshold=sys.maxsize if threshold == math.inf else int(threshold),
        edgeitems=o["edgeitems"], max_line_width=o["linewidth"],
        suppress_small=o["sci_mode"] is False, **kwargs)

