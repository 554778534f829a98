"""Errors in units of the half formats' spacing (ulps), for the half-precision tests
(core/test_opmath.py, core/test_half_parity.py, nn/test_attention.py)."""
import numpy as np

# mantissa bits, subnormal spacing, largest finite value
_FORMATS = {"float16": (10, 2.0**-24, 65504.0), "bfloat16": (7, 2.0**-133, 3.39e38)}


def _format(half):
    return _FORMATS[half if isinstance(half, str) else np.dtype(half).name]


def spacing(ref, half):
    """The spacing of the half format ``half`` (a dtype or its name) at each value of
    ``ref``: 2^(e − mantissa bits) for |ref| in [2ᵉ, 2ᵉ⁺¹), its subnormal spacing near 0."""
    mantissa, tiny, _ = _format(half)
    with np.errstate(divide="ignore", invalid="ignore"):
        e = np.floor(np.log2(np.maximum(np.abs(ref), 1e-300)))
    return np.maximum(2.0 ** (e - mantissa), tiny)


def ulps(a, ref, half, slack=0.0):
    """|a − ref| less ``slack``, in spacings of ``half`` at ref; 0 where a and ref are the
    same infinity or both NaN, and where the true value is beyond the half range and a is
    too; inf where a is NaN and ref is not."""
    top = _format(half)[2]
    a, ref = np.asarray(a, np.float64), np.asarray(ref, np.float64)
    with np.errstate(invalid="ignore"):
        d = np.maximum(np.abs(a - ref) - slack, 0) / spacing(ref, half)
    same = (a == ref) | (np.isnan(a) & np.isnan(ref)) | ((np.abs(ref) > top) & (np.abs(a) > top))
    return np.where(same, 0.0, np.where(np.isnan(d), np.inf, d))
