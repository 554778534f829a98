"""cupyx.scipy.sparse for the CuPy stand-in: SciPy's CSR matrix on the stand-in's arrays, so
that ``minigrad.kernels.use_vendor()`` (cuSPARSE on a GPU) has a vendor here too."""
import cupy
import scipy.sparse as _sparse


class csr_matrix:
    def __init__(self, arg, shape=None):
        data, indices, indptr = (a.get() if isinstance(a, cupy.ndarray) else a for a in arg)
        self._m = _sparse.csr_matrix((data, indices, indptr), shape=shape)
        self.shape = self._m.shape

    def __matmul__(self, other):
        return cupy.asarray(self._m @ other.get())
