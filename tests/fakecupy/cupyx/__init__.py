import cupy


def scatter_add(a, idx, b):
    cupy.add.at(a, idx, b)
