"""What the PyTorch-oracle tests need to know about the PyTorch they compare with.

PyTorch 2.14 changed some gradients at non-differentiable points to the minimum-norm
subgradient, which minigrad follows: clamp's at a number bound is 0 (it passed gy), a tie
with a single tensor bound of clamp splits gy evenly, and so does a tie of fmax and fmin
(a tie went to the first input, whole). The composite losses built on clamp_min (e.g.
hinge_embedding_loss at its margin) changed with it. Against an older PyTorch these
gradients differ at exactly those points, and the audits leave them out there.
"""

#: (qualified name, "grad") of the gradients that differ from PyTorch before 2.14
CHANGED_IN_2_14 = frozenset({
    ("mg.clamp_min", "grad"), ("mg.clamp_max", "grad"),
    ("mg.fmax", "grad"), ("mg.fmin", "grad"), ("F.hinge_embedding_loss", "grad"),
})


def torch_version(torch) -> tuple[int, int]:
    """(major, minor) of ``torch.__version__`` ("2.14.1+cu130" -> (2, 14))."""
    return tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2])


def before_2_14(torch) -> bool:
    return torch_version(torch) < (2, 14)


def _removed_legacy_linalg(m) -> bool:
    """Whether ``m`` is a PyTorch without ``torch.qr`` and ``torch.cholesky`` (and their
    Tensor methods): deprecated since 1.9, removed in 2.14. minigrad keeps both, equal to
    the ``linalg`` forms that replace them."""
    return getattr(m, "__name__", "") == "torch" and not before_2_14(m)


def qr(m, a, some=True):
    """``a.qr(some)``, or for a PyTorch that removed it, ``torch.linalg.qr``."""
    if _removed_legacy_linalg(m):
        return m.linalg.qr(a, mode="reduced" if some else "complete")
    return a.qr(some)


def cholesky(m, a, upper=False):
    """``a.cholesky(upper)``, or for a PyTorch that removed it, ``torch.linalg.cholesky``."""
    if _removed_legacy_linalg(m):
        return m.linalg.cholesky(a, upper=upper)
    return a.cholesky(upper)
