"""``mg.backends``: PyTorch's switches for TensorFloat-32 on the GPU.

TF32 multiplies float32 matrices on tensor cores with 10-bit mantissas (the float32
exponent, sums in float32): several times the throughput of float32 FMA units on an
Ampere or Hopper GPU, at a relative error of about 1e-3 per product. PyTorch's defaults,
kept here:

* ``mg.backends.cudnn.allow_tf32 = True``: the convolutions on CUDA float32 tensors use
  TF32 (PyTorch's cuDNN convolutions do by default; minigrad's are im2col + cuBLAS,
  :mod:`minigrad.nn.conv_device`).
* ``mg.backends.cuda.matmul.allow_tf32 = False``: matmul, Linear and the other float32
  products stay exact float32.

Set either to change it for the whole process, as in PyTorch. Float64, float16 and
bfloat16 products and everything on the CPU are unaffected. The test suite switches
convolutions' TF32 off (tests/conftest.py), as PyTorch's does, so that float32 results can
be compared tightly; the benchmarks keep the defaults.
"""
from __future__ import annotations

__all__ = ["cudnn", "cuda", "set_float32_matmul_precision", "get_float32_matmul_precision"]


class _Switches:
    """A namespace of booleans; assigning anything else is refused by name."""

    def __init__(self, name, **flags):
        object.__setattr__(self, "_name", name)
        object.__setattr__(self, "_flags", dict(flags))

    def __getattr__(self, key):
        flags = object.__getattribute__(self, "_flags")
        if key in flags:
            return flags[key]
        raise AttributeError(f"{self._name} has no attribute {key!r}")

    def __setattr__(self, key, value):
        if key not in self._flags:
            raise AttributeError(f"{self._name} has no attribute {key!r}")
        if not isinstance(value, bool):
            raise TypeError(f"{self._name}.{key} must be True or False, got {value!r}")
        self._flags[key] = value

    def __repr__(self):
        flags = ", ".join(f"{k}={v}" for k, v in self._flags.items())
        return f"{self._name}({flags})"


cudnn = _Switches("mg.backends.cudnn", allow_tf32=True)


class _CudaBackend:
    matmul = _Switches("mg.backends.cuda.matmul", allow_tf32=False)


cuda = _CudaBackend()

_PRECISIONS = ("highest", "high", "medium")


def set_float32_matmul_precision(precision: str) -> None:
    """PyTorch's ``torch.set_float32_matmul_precision``: ``"highest"`` keeps float32
    matmuls exact (``cuda.matmul.allow_tf32 = False``); ``"high"`` and ``"medium"`` let
    them use TF32 (minigrad has no bfloat16-based "medium" mode: it means TF32 here too).
    Also ``mg.set_float32_matmul_precision``."""
    if precision not in _PRECISIONS:
        raise ValueError(f"float32 matmul precision must be one of {', '.join(_PRECISIONS)}, "
                         f"got {precision!r}")
    cuda.matmul.allow_tf32 = precision != "highest"


def get_float32_matmul_precision() -> str:
    """``"highest"`` unless float32 matmuls may use TF32 (then ``"high"``), as PyTorch."""
    return "high" if cuda.matmul.allow_tf32 else "highest"
