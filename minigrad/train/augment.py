r"""Image augmentation on whole batches (N, C, H, W): random shift, small rotation,
horizontal flip, Gaussian noise, and standardization.

Every transform takes a Tensor batch and returns a new Tensor (no gradient flows through
augmentation). The random parameters (one shift, angle or coin per image) are drawn on
the host from minigrad's CPU generator — or from ``generator`` when one is passed — so
``mg.manual_seed`` repeats them, a checkpoint's RNG state resumes them exactly, and the
same draws happen on CPU and GPU; the pixels are then moved with the batch's own array
module (NumPy or CuPy).

Examples
--------
>>> import minigrad as mg
>>> from minigrad.train.augment import Compose, RandomShift, RandomRotation, GaussianNoise
>>> mg.manual_seed(0)
0
>>> aug = Compose([RandomShift(1), RandomRotation(10), GaussianNoise(0.05)])
>>> aug(mg.ones(4, 1, 8, 8)).shape
(4, 1, 8, 8)
"""
from __future__ import annotations

import numpy as np

from .. import random as _random
from ..tensor import Tensor

__all__ = ["Compose", "RandomShift", "RandomRotation", "RandomHorizontalFlip",
           "GaussianNoise", "Standardize", "default_augmentation", "rotate"]


def _images(x, name):
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}: expected a Tensor batch, got {type(x).__name__}")
    if x.ndim != 4:
        raise ValueError(f"{name}: expected images of shape (N, C, H, W), got {x.shape}")
    return x.data


def rotate(x, degrees, fill=0.0):
    r"""Rotate image n of the batch ``x`` (N, C, H, W) by ``degrees[n]`` about its centre
    (a positive angle turns the picture clockwise as displayed, rows pointing down),
    with bilinear interpolation.

    Output pixel p (relative to the centre) reads the input at R(−θ)·p; the four
    neighbours of that point are weighted by their bilinear weights, and neighbours
    outside the image contribute ``fill``.
    """
    a = _images(x, "rotate")
    N, C, H, W = a.shape
    theta = np.deg2rad(np.broadcast_to(np.asarray(degrees, dtype=np.float64), (N,)))
    xp = x.xp
    cy, cx = (H - 1) / 2.0, (W - 1) / 2.0
    yy, xx = np.meshgrid(np.arange(H) - cy, np.arange(W) - cx, indexing="ij")
    cos, sin = np.cos(theta)[:, None, None], np.sin(theta)[:, None, None]
    src_y = cos * yy - sin * xx + cy          # R(−θ)·p, back in pixel coordinates
    src_x = sin * yy + cos * xx + cx
    y0, x0 = np.floor(src_y).astype(np.int64), np.floor(src_x).astype(np.int64)
    wy, wx = src_y - y0, src_x - x0
    out = xp.zeros_like(a)
    n = xp.asarray(np.arange(N)[:, None, None])
    for dy, dx, w in ((0, 0, (1 - wy) * (1 - wx)), (0, 1, (1 - wy) * wx),
                      (1, 0, wy * (1 - wx)), (1, 1, wy * wx)):
        yi, xi = y0 + dy, x0 + dx
        inside = (yi >= 0) & (yi < H) & (xi >= 0) & (xi < W)
        yc, xc = np.clip(yi, 0, H - 1), np.clip(xi, 0, W - 1)
        vals = xp.moveaxis(a[n, :, xp.asarray(yc), xp.asarray(xc)], -1, 1)  # (N, C, H, W)
        weight = xp.asarray(np.where(inside, w, 0.0)[:, None]).astype(a.dtype)
        outside = xp.asarray(np.where(inside, 0.0, w)[:, None]).astype(a.dtype)
        out += vals * weight + fill * outside
    return Tensor(out)


class _Random:
    def __init__(self, generator=None):
        if generator is not None and not isinstance(generator, np.random.Generator):
            raise TypeError("generator must be a numpy.random.Generator")
        self.generator = generator

    def rng(self):
        return self.generator if self.generator is not None else _random.generator("cpu")


class Compose:
    """Apply transforms one after another (torchvision's name)."""

    def __init__(self, transforms):
        self.transforms = list(transforms)

    def __call__(self, x):
        for t in self.transforms:
            x = t(x)
        return x

    def __repr__(self):
        inner = ", ".join(repr(t) for t in self.transforms)
        return f"Compose([{inner}])"


class RandomShift(_Random):
    """Translate each image by an integer (dy, dx) drawn uniformly from
    [−max_shift, max_shift]²; pixels moved in from outside are ``fill``."""

    def __init__(self, max_shift=1, fill=0.0, generator=None):
        super().__init__(generator)
        if isinstance(max_shift, bool) or not isinstance(max_shift, int) or max_shift < 0:
            raise ValueError(f"RandomShift: max_shift must be an int >= 0, got {max_shift!r}")
        self.max_shift, self.fill = max_shift, float(fill)

    def __call__(self, x):
        a = _images(x, "RandomShift")
        N, _, H, W = a.shape
        s = self.max_shift
        shifts = self.rng().integers(-s, s + 1, size=(N, 2))
        if s == 0:
            return Tensor(a.copy())
        xp = x.xp
        padded = xp.pad(a, ((0, 0), (0, 0), (s, s), (s, s)), constant_values=self.fill)
        # output pixel (i, j) of image n reads padded (i + s − dy, j + s − dx)
        rows = xp.asarray(np.arange(H)[None, :] + s - shifts[:, :1])        # (N, H)
        cols = xp.asarray(np.arange(W)[None, :] + s - shifts[:, 1:])        # (N, W)
        n = xp.arange(N)[:, None, None, None]
        c = xp.arange(a.shape[1])[None, :, None, None]
        out = padded[n, c, rows[:, None, :, None], cols[:, None, None, :]]
        return Tensor(out)

    def __repr__(self):
        return f"RandomShift(max_shift={self.max_shift})"


class RandomRotation(_Random):
    r"""Rotate each image about its centre by an angle drawn from U[−degrees, degrees],
    with bilinear interpolation; pixels from outside the image are ``fill``.

    Output pixel p (relative to the centre) reads the input at R(−θ)·p.
    """

    def __init__(self, degrees=10.0, fill=0.0, generator=None):
        super().__init__(generator)
        if not degrees >= 0:
            raise ValueError(f"RandomRotation: degrees must be >= 0, got {degrees!r}")
        self.degrees, self.fill = float(degrees), float(fill)

    def __call__(self, x):
        a = _images(x, "RandomRotation")
        angles = self.rng().uniform(-self.degrees, self.degrees, size=a.shape[0])
        return rotate(x, angles, fill=self.fill)

    def __repr__(self):
        return f"RandomRotation(degrees={self.degrees:g})"


class RandomHorizontalFlip(_Random):
    """Mirror each image left–right with probability ``p``. (Not for digits: a mirrored
    2 is not a 2.)"""

    def __init__(self, p=0.5, generator=None):
        super().__init__(generator)
        if not 0.0 <= p <= 1.0:
            raise ValueError(f"RandomHorizontalFlip: p must be in [0, 1], got {p!r}")
        self.p = float(p)

    def __call__(self, x):
        a = _images(x, "RandomHorizontalFlip")
        flip = self.rng().uniform(size=a.shape[0]) < self.p
        xp = x.xp
        out = a.copy()
        idx = xp.asarray(np.flatnonzero(flip))
        out[idx] = a[idx][..., ::-1]
        return Tensor(out)

    def __repr__(self):
        return f"RandomHorizontalFlip(p={self.p:g})"


class GaussianNoise(_Random):
    """Add N(0, std²) noise to every pixel (drawn on the host, then moved)."""

    def __init__(self, std=0.05, generator=None):
        super().__init__(generator)
        if not std >= 0:
            raise ValueError(f"GaussianNoise: std must be >= 0, got {std!r}")
        self.std = float(std)

    def __call__(self, x):
        if not isinstance(x, Tensor):
            raise TypeError(f"GaussianNoise: expected a Tensor, got {type(x).__name__}")
        a = x.data
        noise = self.rng().standard_normal(a.shape) * self.std
        return Tensor(a + x.xp.asarray(noise).astype(a.dtype))

    def __repr__(self):
        return f"GaussianNoise(std={self.std:g})"


class Standardize:
    r"""x ← (x − mean) / std, with per-channel (C,) or scalar statistics
    (torchvision's ``Normalize``).

    :meth:`fit` computes them from a training batch.
    """

    def __init__(self, mean, std):
        self.mean = np.asarray(mean, dtype=np.float64)
        self.std = np.asarray(std, dtype=np.float64)
        if np.any(self.std <= 0):
            raise ValueError(f"Standardize: std must be positive, got {self.std}")

    @classmethod
    def fit(cls, X, per_channel=False):
        """Statistics of a training set ``X`` (N, C, H, W) or (N, d)."""
        a = np.asarray(X.numpy() if isinstance(X, Tensor) else X, dtype=np.float64)
        if per_channel and a.ndim == 4:
            mean, std = a.mean(axis=(0, 2, 3)), a.std(axis=(0, 2, 3))
        elif per_channel:
            mean, std = a.mean(axis=0), a.std(axis=0)
        else:
            mean, std = a.mean(), a.std()
        return cls(mean, np.maximum(std, 1e-8))

    def __call__(self, x):
        a = x.data
        shape = (-1, 1, 1) if a.ndim == 4 and self.mean.ndim == 1 else self.mean.shape
        xp = x.xp
        mean = xp.asarray(self.mean.reshape(shape)).astype(a.dtype)
        std = xp.asarray(self.std.reshape(shape)).astype(a.dtype)
        return Tensor((a - mean) / std)

    def state_dict(self):
        return {"mean": self.mean.tolist(), "std": self.std.tolist()}

    def __repr__(self):
        return f"Standardize(mean={np.round(self.mean, 4).tolist()}, " \
               f"std={np.round(self.std, 4).tolist()})"


def default_augmentation(image_size, flip=False):
    """The augmentation ``minigrad train --augment`` uses: shift by up to 1 pixel (2 for
    images of 28 pixels or more), rotate by up to 10°, add N(0, 0.05²) noise; plus a
    horizontal flip when asked (natural images, not digits)."""
    transforms = [RandomShift(1 if image_size < 28 else 2), RandomRotation(10.0)]
    if flip:
        transforms.append(RandomHorizontalFlip(0.5))
    transforms.append(GaussianNoise(0.05))
    return Compose(transforms)
