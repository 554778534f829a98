"""What the PyTorch-oracle tests need to know about the PyTorch they compare with."""


def torch_version(torch) -> tuple[int, int]:
    """(major, minor) of ``torch.__version__`` ("2.14.1+cu130" -> (2, 14))."""
    return tuple(int(v) for v in torch.__version__.split("+")[0].split(".")[:2])


def before_2_14(torch) -> bool:
    return torch_version(torch) < (2, 14)
