r"""``Linear24``: a Linear layer whose forward and backward products are both 2:4 sparse.

Intuition. A Linear layer does three products per step:

    forward          Y  = X Wᵀ        reduces over in_features     (rows of W)
    input gradient   gX = gY W        reduces over out_features    (rows of Wᵀ)
    weight gradient  gW = gYᵀ X       reduces over the batch

2:4 hardware skips zeros only along the reduction dimension of the sparse operand, so a
copy of W that is 2:4 along in_features makes the forward sparse, and a copy of Wᵀ that is
2:4 along *out_features* makes the input gradient sparse. The layer keeps

* a dense master weight ``weight`` (out_features, in_features), a Parameter, which the
  optimizer updates;
* the 2:4 masks, re-derived from |weight| every ``mask_update_every`` training steps
  (buffers ``weight_mask``, 2:4 along in_features, and ``weight_t_mask``, whose transpose
  is 2:4 along out_features);
* the compressed copies of W and of Wᵀ, gathered from the master at each forward
  (``values`` and ``meta`` in the format of :mod:`minigrad.sparse.semi_structured`).

Symbols (M_f: forward mask, M_b: backward mask; ⊙ elementwise):

    Y   = X (M_f ⊙ W)ᵀ + b                 sparse: compressed W,  2:4 along in
    gX  = gY (M_b ⊙ W)                      sparse: compressed Wᵀ, 2:4 along out
    gW  = M_f ⊙ (gYᵀ X)                     only the kept entries: sddmm, straight-through
    gb  = Σ_batch gY

Two ways to choose the masks (``mask_mode``):

* ``"transposable"`` (default): one mask that is 2:4 along both dims (every 4 x 4 block
  keeps 2 entries per row and per column: of the 90 such block masks, the one with the
  largest Σ|w|, Hubara et al. 2021). Then M_b = M_f, the backward is the exact gradient
  of the forward, and the layer passes gradcheck.
* ``"bidirectional"``: M_f = the 2:4 mask of W along in, M_b = the 2:4 mask of Wᵀ along out,
  each from magnitudes (the "bi-directional masks" of Zhang et al. 2023). Each keeps the
  largest weights of its own direction, but gX is then an approximation: it is the
  gradient of X (M_b ⊙ W)ᵀ, not of the forward product.

``dense()`` / ``sparse()`` switch the layer between the 2:4 products and ordinary dense
products of the master weight (sparse-then-dense training: e.g. the first 70% of steps
2:4, then dense fine-tuning).

Examples
--------
>>> import minigrad as mg
>>> from minigrad.sparse.linear24 import Linear24
>>> layer = Linear24(8, 4)
>>> y = layer(mg.randn(3, 8))
>>> y.shape, int(layer.weight_mask.numpy().sum())          # half of the 32 weights
((3, 4), 16)
>>> y.sum().backward()
>>> bool((layer.weight.grad.numpy()[~layer.weight_mask.numpy()] == 0).all())
True

Notes
-----
* Gradients reach only the kept entries of the master weight (straight-through on kept
  entries only). Pruned master entries therefore keep their values while pruned (weight
  decay still shrinks them) and come back unchanged when a mask update or ``dense()``
  revives them. SR-STE (Zhou et al. 2021) instead passes the dense gradient plus a decay
  λ·(1 − M) ⊙ W to every entry; not implemented here.
* The mask step counter counts forward calls in training mode; ``mask_update_every=None``
  (or 0) keeps the mask fixed until ``update_mask()`` or ``sparse()`` is called.
* On CUDA with float16/bfloat16 both products run on the sparse tensor cores
  (``minigrad.kernels.mm_24``); the weight gradient is a dense product sampled at the kept
  entries. On the CPU all three are Numba kernels that read only the kept values.

References
----------
Hubara et al., "Accelerated Sparse Neural Training: A Provable and Efficient Method to Find
N:M Transposable Masks", NeurIPS 2021. Zhang et al., "Bi-directional Masks for Efficient
N:M Sparse Training", ICML 2023. Zhou et al., "Learning N:M Fine-grained Structured Sparse
Neural Networks From Scratch", ICLR 2021 (SR-STE). Mishra et al. 2021 (2:4 on Ampere).
"""
from __future__ import annotations

import itertools

import numpy as np

from .. import creation
from .._backend import get_array_module, to_device
from ..autograd.function import Function
from ..nn import init
from ..nn.module import Module, Parameter, _as_array, _uncopyable
from ..tensor import Tensor, _make_tensor
from .semi_structured import (
    Compress24,
    Mm24,
    Sddmm24,
    SparseSemiStructuredTensor,
    _check_groups_of_4,
    _mm24_forward,
    _on,
    frozen_meta,
    pack_meta,
    select_24,
)

__all__ = ["Linear24", "transposable_mask_24", "mask_24", "linear24"]

MASK_MODES = ("transposable", "bidirectional")


def _block_masks():
    """The 90 4 x 4 binary matrices with exactly 2 ones in every row and every column,
    flattened to (90, 16) in a fixed (lexicographic) order."""
    rows = [r for r in itertools.product((0, 1), repeat=4) if sum(r) == 2]
    out = [np.array(m) for m in itertools.product(rows, repeat=4)
           if (np.array(m).sum(axis=0) == 2).all()]
    return np.stack(out).reshape(len(out), 16).astype(np.float64)


_BLOCK_MASKS = _block_masks()


def mask_24(W):
    """Bool mask (M, K) of the 2 largest |w| in each group of 4 along the last dim."""
    xp = get_array_module(W)
    M, K = W.shape
    i0, i1 = select_24(W)
    p = xp.arange(4)
    return ((p == i0[..., None]) | (p == i1[..., None])).reshape(M, K)


def transposable_mask_24(W):
    """Bool mask (M, K) that is 2:4 along both dims: in every 4 x 4 block, of the 90
    masks with two ones per row and per column, the one that keeps the largest Σ|w|
    (ties: the first in lexicographic order). Needs M % 4 == K % 4 == 0."""
    xp = get_array_module(W)
    M, K = W.shape
    if M % 4 or K % 4:
        raise ValueError(f"transposable_mask_24: both dims must be multiples of 4, got "
                         f"shape {W.shape}")
    blocks = xp.abs(W).astype(xp.float64).reshape(M // 4, 4, K // 4, 4).transpose(0, 2, 1, 3)
    masks = xp.asarray(_BLOCK_MASKS)
    best = xp.argmax(blocks.reshape(-1, 16) @ masks.T, axis=1)
    chosen = masks[best].reshape(M // 4, K // 4, 4, 4).transpose(0, 2, 1, 3)
    return chosen.reshape(M, K) > 0


_MASK_NAMES = ("weight_mask", "weight_t_mask")


def _check_mask(mask, name, mask_mode, shape):
    """Raise unless the array ``mask`` is a bool (out_features, in_features) mask with
    exactly two True in each group of 4 along every direction its layer reduces over:
    along in_features (rows) for ``weight_mask``, along out_features (columns) for
    ``weight_t_mask``, and both ways for either mask in ``mask_mode="transposable"``.
    A group with 0, 1, 3 or 4 True has no 2:4 metadata: its product would be wrong."""
    if mask.dtype != np.bool_:
        raise TypeError(f"Linear24: {name} must be a bool mask, got {mask.dtype}")
    if tuple(mask.shape) != shape:
        raise ValueError(f"Linear24: {name} must have the weight's shape {shape}, got "
                         f"{tuple(mask.shape)}")
    transposable = mask_mode == "transposable"
    if name == "weight_mask" or transposable:
        why = ("the forward reduces over it" if name == "weight_mask" else
               "mask_mode='transposable' keeps one mask, 2:4 both ways")
        _check_groups_of_4(mask, f"Linear24: {name} is not 2:4 along in_features ({why})",
                           exact=True, noun="True")
    if name == "weight_t_mask" or transposable:
        why = ("the input gradient reduces over it" if name == "weight_t_mask" else
               "mask_mode='transposable' uses its transpose for the input gradient")
        _check_groups_of_4(mask.T, f"Linear24: {name} is not 2:4 along out_features, i.e. "
                           f"down its columns ({why})", exact=True, noun="True",
                           line="column", across="rows")


def _check_masks(mask, mask_t, mask_mode, shape):
    """Both masks checked by :func:`_check_mask`; in ``"transposable"`` mode they must also
    be one mask (the input gradient is then the exact gradient of the forward)."""
    _check_mask(mask, "weight_mask", mask_mode, shape)
    _check_mask(mask_t, "weight_t_mask", mask_mode, shape)
    if mask_mode == "transposable":
        differ = mask != mask_t
        if bool(differ.any()):
            r, c = (int(v) for v in np.argwhere(to_device(differ, "cpu"))[0])
            raise ValueError(f"Linear24: mask_mode='transposable' uses one mask for both "
                             f"products, but weight_t_mask differs from weight_mask (first "
                             f"at row {r}, column {c}); set both to the same mask, or use "
                             f"mask_mode='bidirectional'")


def _meta_of_mask(mask):
    """Packed metadata of a bool mask with exactly two True per group of 4 (last dim;
    checked beforehand by :func:`_check_mask`: other groups give a wrong pair)."""
    xp = get_array_module(mask)
    M, K = mask.shape
    kept = mask.reshape(M, K // 4, 4)
    i0 = xp.argmax(kept, axis=-1).astype(xp.int64)
    i1 = (3 - xp.argmax(kept[..., ::-1], axis=-1)).astype(xp.int64)
    return pack_meta(i0, i1)


class Linear24Function(Function):
    """Y = X Sᵀ with S = (values, meta) (2:4 along in); gX from the backward copy
    (valuesT, meta_t), 2:4 along out.
    VJP: gX = (S_t gYᵀ)ᵀ, g_values = sddmm(gYᵀ, Xᵀ), g_valuesT = none (the master weight
    gets its gradient through ``values``)."""

    def __init__(self, meta, meta_t):
        self.meta = meta
        self.meta_t = meta_t

    def forward(self, xp, x, values, values_t):
        if x.shape[1] != 2 * values.shape[1]:
            raise ValueError(f"linear24: input has {x.shape[1]} features, the weight "
                             f"expects {2 * values.shape[1]}")
        if x.dtype != values.dtype:
            raise TypeError(f"linear24: input is {x.dtype} but the weight is {values.dtype}")
        yT = _mm24_forward(xp, values, _on(xp, self.meta), xp.ascontiguousarray(x.T))
        return xp.ascontiguousarray(yT.T)

    def backward(self, gy):
        x, values, values_t = self.inputs
        gyT = gy.T
        gx = Mm24(self.meta_t)(values_t, gyT).T if self.needs_input_grad[0] else None
        gv = Sddmm24(self.meta)(gyT, x.T) if self.needs_input_grad[1] else None
        return gx, gv, None


def linear24(input, weight, meta, meta_t, bias=None):
    """``Y = X (M_f ⊙ W)ᵀ + b`` with the 2:4 products of :class:`Linear24` (functional
    form): ``meta`` packs M_f along in_features, ``meta_t`` packs M_bᵀ along out_features.
    ``input`` (..., in_features)."""
    lead = input.shape[:-1]
    x = input.reshape(-1, input.shape[-1]) if input.ndim != 2 else input
    values = Compress24(meta)(weight)
    values_t = Compress24(meta_t)(weight.T)
    y = Linear24Function(meta, meta_t)(x, values, values_t)
    if bias is not None:
        y = y + bias
    return y.reshape(*lead, y.shape[-1]) if input.ndim != 2 else y


def _same_masks(a, b) -> bool:
    """Whether two ``Linear24._mask_state()`` tuples name the same masks: the same Tensor
    and array objects (held by the cache, so never reused), the same versions (the modes
    are compared by the caller)."""
    return all(x[0] is y[0] and x[1] is y[1] and x[2] == y[2] for x, y in zip(a[1:], b[1:]))


class Linear24(Module):
    """y = x (M ⊙ W)ᵀ + b with 2:4 sparse forward and backward products.

    Parameters
    ----------
    in_features, out_features : int, both multiples of 4 (the forward reduces over
        in_features, the input gradient over out_features, each in groups of 4).
    bias : bool, default True.
    mask_update_every : int or None, default 100. Re-derive the masks from |weight|
        every this many forward calls in training mode (None or 0: never automatically).
    mask_mode : "transposable" (default; exact gradients) or "bidirectional".
    device, dtype : of the parameters.

    Attributes
    ----------
    weight : Parameter (out_features, in_features), the dense master weight (PyTorch's
        name and shape), initialized like ``nn.Linear``.
    bias : Parameter (out_features,) or None.
    weight_mask, weight_t_mask : bool buffers (out_features, in_features).

    Notes
    -----
    A mask set by hand (assigning ``weight_mask`` / ``weight_t_mask``, or loading a state
    dict) must have exactly two True in every group of 4 along in_features
    (``weight_mask``) and along out_features (``weight_t_mask``); in ``"transposable"``
    mode the two must be one mask, 2:4 both ways. Anything else raises a ValueError that
    names the mask, the row (or column) and the group: when assigned, in
    ``load_state_dict`` of this layer or of a module holding it (a load pre hook, before
    anything is copied), and in any case at the next forward or ``compressed()``, which
    catches a mask edited in place.
    The forward checks and packs the masks once per change: it keeps the metadata it
    packed with what it was packed from, and packs again only when a mask changed. A
    change is a new mask Tensor or array (an assignment, ``update_mask``, ``.to``), or an
    edit through Tensor operations (``layer.weight_mask[2, :4] = True``,
    ``load_state_dict``), which bump the mask's version. On the CPU the forward also
    compares the masks with copies of those it packed (an O(out·in) comparison, small
    beside the product), so a write into ``.data`` is caught too; on a CUDA device it does
    not, since reading that comparison back would stall every forward on a device
    synchronisation: there, after writing into a mask's ``.data``, assign the mask again
    (``layer.weight_mask = layer.weight_mask``), as with any edit autograd cannot see.
    """

    def __init__(self, in_features, out_features, bias=True, mask_update_every=100,
                 mask_mode="transposable", device=None, dtype=None):
        super().__init__()
        if mask_mode not in MASK_MODES:
            raise ValueError(f"Linear24: mask_mode must be one of {MASK_MODES}, got "
                             f"{mask_mode!r}")
        if in_features <= 0 or in_features % 4:
            raise ValueError(f"Linear24: in_features must be a positive multiple of 4 (the "
                             f"forward reduces over it in groups of 4), got {in_features}")
        if out_features <= 0 or out_features % 4:
            raise ValueError(f"Linear24: out_features must be a positive multiple of 4 (the "
                             f"input gradient reduces over it in groups of 4), got "
                             f"{out_features}")
        if mask_update_every is not None and (not isinstance(mask_update_every, int)
                                              or mask_update_every < 0):
            raise ValueError(f"Linear24: mask_update_every must be a non-negative int or "
                             f"None, got {mask_update_every!r}")
        self.in_features = in_features
        self.out_features = out_features
        self.mask_update_every = mask_update_every or 0
        self.mask_mode = mask_mode
        self.is_sparse = True
        self.steps_since_update = 0
        self.weight = Parameter(creation.empty(out_features, in_features, dtype=dtype,
                                               device=device))
        if bias:
            self.bias = Parameter(creation.empty(out_features, dtype=dtype, device=device))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()
        self.register_buffer("weight_mask", None)
        self.register_buffer("weight_t_mask", None)
        self.update_mask()
        self.register_load_state_dict_pre_hook(Linear24._check_loaded_masks)

    def __setattr__(self, name, value):
        if name in _MASK_NAMES and "mask_mode" in self.__dict__:
            if not isinstance(value, Tensor):
                raise TypeError(f"Linear24: {name} must be a bool Tensor, got "
                                f"{type(value).__name__}")
            _check_mask(value.data, name, self.mask_mode,
                        (self.out_features, self.in_features))
        super().__setattr__(name, value)

    @staticmethod
    def _check_loaded_masks(module, state_dict, prefix, local_metadata, strict, missing,
                            unexpected, errors):
        """A load_state_dict pre hook (registered by ``__init__``): the masks a load would
        install, checked before anything is copied, whether this layer or a module holding
        it is loaded (see Notes of the class)."""
        shape = (module.out_features, module.in_features)
        masks = []
        for name in _MASK_NAMES:
            current = module._buffers[name]
            key = prefix + name
            a = _as_array(state_dict[key]) if key in state_dict else current.data
            if tuple(a.shape) != shape or _uncopyable(a, current):
                return  # Module.load_state_dict reports it
            # as the copy does: cast to bool, on the buffer's device
            masks.append(to_device(a, current.device).astype(bool, copy=False))
        _check_masks(*masks, module.mask_mode, shape)

    def reset_parameters(self):
        """As ``nn.Linear``: W ~ U[±1/√in_features] (kaiming_uniform_ with a = √5), b alike."""
        init.reset_layer_(self.weight, self.bias)

    # ------------------------------------------------------------------ masks
    def update_mask(self):
        """Re-derive both masks from |weight| now."""
        W = self.weight.data
        if self.mask_mode == "transposable":
            m = transposable_mask_24(W)
            mt = m
        else:
            m = mask_24(W)
            mt = mask_24(W.T).T
        # masks valid by construction: stored without the check of __setattr__ (the
        # forward checks them once with the packing of their metadata)
        self._buffers["weight_mask"] = _make_tensor(m, None, False)
        self._buffers["weight_t_mask"] = _make_tensor(
            get_array_module(mt).ascontiguousarray(mt), None, False)
        self.steps_since_update = 0
        return self

    def _mask_state(self):
        """What packed metadata is made from: the mode, and each mask's Tensor, array and
        version (see Notes of the class)."""
        return (self.mask_mode, *((m, m.data, getattr(m, "_version", 0))
                                  for m in (self._buffers[n] for n in _MASK_NAMES)))

    def _metas(self):
        """Packed metadata of the two masks, checked and recomputed only when a mask
        changed (see Notes of the class): no device synchronisation on a GPU."""
        state = self._mask_state()
        (_, (_, mask, _), (_, mask_t, _)) = state
        on_host = isinstance(mask, np.ndarray) and isinstance(mask_t, np.ndarray)
        cached = self.__dict__.get("_meta_cache")
        if cached is not None and cached[0][0] == self.mask_mode:
            old_state, copies, metas = cached
            if copies is not None:  # packed from host masks: their contents decide
                if on_host and np.array_equal(copies[0], mask) and \
                        np.array_equal(copies[1], mask_t):
                    return metas
            elif _same_masks(old_state, state):
                return metas
        _check_masks(mask, mask_t, self.mask_mode, (self.out_features, self.in_features))
        # never written into: the index arrays derived from them are kept with them
        metas = (frozen_meta(_meta_of_mask(mask)), frozen_meta(_meta_of_mask(
            mask.T if self.mask_mode == "transposable" else mask_t.T)))
        copies = (mask.copy(), mask_t.copy()) if on_host else None
        object.__setattr__(self, "_meta_cache", (state, copies, metas))
        return metas

    def compressed(self):
        """The compressed copies ``(S, S_t)``: W (2:4 along in) and Wᵀ (2:4 along out) as
        :class:`SparseSemiStructuredTensor`, gathered from the current master weight."""
        meta, meta_t = self._metas()
        W = self.weight.detach()
        # the tensors get copies: their metadata is the user's to edit, the layer's frozen
        S = SparseSemiStructuredTensor(Compress24(meta)(W), meta.copy(), W.shape)
        S_t = SparseSemiStructuredTensor(Compress24(meta_t)(W.T), meta_t.copy(), W.T.shape)
        return S, S_t

    # ------------------------------------------------------------------ modes
    def dense(self):
        """Use ordinary dense products of the whole master weight from now on."""
        self.is_sparse = False
        return self

    def sparse(self):
        """Use the 2:4 products again (the masks are re-derived from the current weight)."""
        self.is_sparse = True
        return self.update_mask()

    # ------------------------------------------------------------------ forward
    def forward(self, input):
        if not isinstance(input, Tensor):
            raise TypeError(f"Linear24: expected a Tensor input, got {type(input).__name__}")
        if input.ndim == 0 or input.shape[-1] != self.in_features:
            raise ValueError(f"Linear24: expected input (..., {self.in_features}), got "
                             f"{input.shape}")
        if not self.is_sparse:
            y = input @ self.weight.T
            return y + self.bias if self.bias is not None else y
        if self.training:
            every = self.mask_update_every
            if every and self.steps_since_update >= every:
                self.update_mask()
            self.steps_since_update += 1
        meta, meta_t = self._metas()
        return linear24(input, self.weight, meta, meta_t, self.bias)

    def extra_repr(self):
        return (f"in_features={self.in_features}, out_features={self.out_features}, "
                f"bias={self.bias is not None}, mask_update_every={self.mask_update_every}, "
                f"mask_mode='{self.mask_mode}', {'sparse' if self.is_sparse else 'dense'}")
