"""What the PyTorch-oracle tests need to know about the PyTorch they compare with."""


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
