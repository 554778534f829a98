r"""CUDA graphs: record a sequence of GPU work once, replay it with one launch.

A training step of a small network on a GPU is often bound by the host: minigrad's
small-ResNet step launches about 440 kernels, and Python spends longer deciding and
launching them than the GPU spends running them. A CUDA graph records every kernel,
memset and copy that a piece of code puts on a stream (*stream capture*), and
``replay()`` puts the whole recording on the GPU again in one call, with the same
arguments and the same memory addresses, and no Python in between.

PyTorch's names and rules (``torch.cuda.CUDAGraph``, ``torch.cuda.graph``)::

    g = mg.cuda.CUDAGraph()
    for _ in range(3):                      # warm up eagerly first: kernels compiled,
        step_body()                         # optimizer state and .grad buffers made
    with mg.cuda.graph(g):
        static_loss = step_body()           # recorded, not run
    for batch in loader:
        static_x.data[...] = batch          # new data goes INTO the captured inputs
        g.replay()                          # forward + backward, one launch
        opt.step()                          # eager (see below)

What a replay does, and does not do
-----------------------------------
* It repeats the recorded GPU work on the recorded addresses. Tensors created during
  the capture (``static_loss`` above, activations, gradients) are rewritten in place
  by every replay; inputs must be copied into the tensors the capture read.
* Python does not run: anything decided on the host during the capture is frozen.
  Scalars computed on the host (an optimizer's bias corrections 1 − βᵗ, a learning
  rate) are baked into the kernels' arguments. So the optimizer step stays outside the
  graph (minigrad's fused step is one launch anyway). ``GradScaler.scale`` inside a
  capture multiplies by a device copy of its scale S, which ``update`` rewrites whenever
  S changes: capture ``scaler.scale(loss).backward()`` under autocast, and run
  ``scaler.step(opt)`` and ``scaler.update()`` after each replay (the inf check needs the
  host anyway).
* Random ops draw from the host-side Philox offset, which a replay would not advance:
  every replay would reuse the same dropout mask. They raise inside a capture.
* Nothing may wait for the GPU during a capture: ``.item()``, printing a CUDA tensor,
  boolean-mask indexing, ``mg.cuda.synchronize()``, and checks that read device
  values on the host (``F.cross_entropy`` checks its targets so; capture
  ``minigrad.ops.fused.fused_cross_entropy`` instead). CUDA reports such a call as a
  capture error; :func:`graph` ends the capture cleanly and says so.

Matrix products
---------------
CuPy refuses every cuBLAS call while a stream captures ("calling cuBLAS API during stream
capture is currently unsupported"), which stopped the first captured training step (an
H200, 2026-11-26). cuBLAS itself supports capture, so during a capture ``half_matmul``
(the product of Linear, matmul and the convolutions) calls cuBLAS directly:
:mod:`minigrad.kernels.cublas_gemm`. Other CuPy routines that use cuBLAS
(``cupy.dot``, ``cupy.einsum``, ``cupy.linalg``) still cannot be captured.

Memory
------
Work recorded in a graph keeps using the addresses it was given, so those blocks must
never be handed to anyone else between replays. During a capture, allocations come
from a private CuPy memory pool (the graph's ``pool()``; another graph may share it by
passing ``pool=`` to its own capture, as PyTorch's ``graph_pool_handle``), and the
previous allocator is restored afterwards. A block freed during the capture is reused
by a later allocation of the same capture only, in stream order, which the graph
repeats as recorded.

References
----------
NVIDIA, CUDA C++ Programming Guide, "CUDA Graphs" (stream capture; the restrictions on
synchronous calls during a capture).
PyTorch, "CUDA semantics: CUDA Graphs" (whole-network capture, warm-up, static inputs,
private memory pools).
"""
from __future__ import annotations

import contextlib

from ._backend import DeviceError, cuda_available, cupy

__all__ = ["CUDAGraph", "graph", "is_current_stream_capturing", "check_not_capturing",
           "graph_pool_handle"]

_capturing = [None]  # the CUDAGraph whose capture is under way, if any


def is_current_stream_capturing() -> bool:
    """True while a :class:`CUDAGraph` capture is under way (PyTorch's name)."""
    return _capturing[0] is not None


def check_not_capturing(what: str, why: str) -> None:
    """Raise a clear error when ``what`` is attempted inside a capture, because ``why``."""
    if _capturing[0] is not None:
        raise RuntimeError(f"{what} cannot run inside CUDA graph capture: {why}")


def graph_pool_handle():
    """A fresh private memory pool, to be shared by several graphs' captures
    (``capture_begin(pool=handle)``), as PyTorch's ``torch.cuda.graph_pool_handle``."""
    return cupy().cuda.MemoryPool()


class CUDAGraph:
    """A recorded sequence of GPU work (``torch.cuda.CUDAGraph``): ``capture_begin()``,
    the work, ``capture_end()``; then ``replay()`` as often as wanted. Use the
    :func:`graph` context manager rather than the two calls. Needs CuPy and a GPU."""

    def __init__(self):
        self._graph = None
        self._pool = None
        self._stream = None
        self._allocator = None

    def capture_begin(self, pool=None):
        """Start recording: the current stream becomes a private capture stream and
        allocations come from a private memory pool (``pool``: one shared with another
        graph, from :meth:`pool` or :func:`graph_pool_handle`)."""
        if not cuda_available():
            raise DeviceError("CUDAGraph: CUDA graphs need CuPy and a CUDA device; none is "
                              "available on this machine")
        if _capturing[0] is not None:
            raise RuntimeError("CUDAGraph.capture_begin: another capture is under way "
                               "(captures do not nest)")
        if self._graph is not None:
            raise RuntimeError("CUDAGraph.capture_begin: this graph holds a capture "
                               "already; call reset() first")
        cp = cupy()
        # Eager work still queued elsewhere is not part of the graph: let it finish.
        cp.cuda.get_current_stream().synchronize()
        self._pool = pool if pool is not None else cp.cuda.MemoryPool()
        self._stream = cp.cuda.Stream(non_blocking=True)
        self._allocator = cp.cuda.get_allocator()
        cp.cuda.set_allocator(self._pool.malloc)
        self._stream.__enter__()  # the current stream, for every op of the capture
        try:
            self._stream.begin_capture()
        except BaseException:
            self._restore()
            raise
        _capturing[0] = self

    def capture_end(self):
        """Stop recording and keep the graph for :meth:`replay`."""
        if _capturing[0] is not self:
            raise RuntimeError("CUDAGraph.capture_end: this graph is not capturing")
        try:
            recorded = self._stream.end_capture()
        finally:
            self._restore()
        self._graph = recorded

    def _abort(self):
        """End a capture that failed part-way, discarding what it recorded."""
        if _capturing[0] is not self:
            return
        try:
            self._stream.end_capture()
        except Exception:  # noqa: BLE001 -- an invalidated capture ends with an error
            pass
        finally:
            self._restore()

    def _restore(self):
        _capturing[0] = None
        cp = cupy()
        self._stream.__exit__(None, None, None)
        cp.cuda.set_allocator(self._allocator)

    def replay(self):
        """Run the recorded work again on the current stream (asynchronously, as any
        CUDA work)."""
        if self._graph is None:
            raise RuntimeError("CUDAGraph.replay: nothing has been captured yet")
        self._graph.launch(stream=cupy().cuda.get_current_stream())

    def reset(self):
        """Forget the recording (its memory pool goes when nothing uses it)."""
        self._graph = None

    def pool(self):
        """This graph's private memory pool, to share with another capture."""
        return self._pool


# CUDA's error names for what a synchronous call inside a capture causes, and CuPy's
# own wording when it refuses one (compared in lower case).
_CAPTURE_ERRORS = ("streamcapture", "capturedevent", "capturing", "stream capture")


@contextlib.contextmanager
def graph(cuda_graph, pool=None):
    """Record the body of the ``with`` block into ``cuda_graph`` (``torch.cuda.graph``).

    The body runs once on the host and its GPU work is recorded, not executed (outputs
    hold their values only after the first ``replay()``). If the body fails, the
    capture is ended and discarded and the error says whether it was a call that waits
    for the GPU."""
    cuda_graph.capture_begin(pool=pool)
    try:
        yield cuda_graph
    except BaseException as exc:
        cuda_graph._abort()
        if "cublas" in str(exc).lower():
            raise RuntimeError(
                "CUDA graph capture failed: CuPy refuses to call cuBLAS while a stream "
                "captures. minigrad's own products (matmul, Linear, the convolutions) call "
                "cuBLAS directly then; a CuPy routine that uses cuBLAS (cupy.dot, einsum, "
                f"linalg) cannot be captured. CuPy said: {exc}") from exc
        if any(s in str(exc).lower() for s in _CAPTURE_ERRORS):
            raise RuntimeError(
                "CUDA graph capture failed: the captured code made a call that waits for "
                "the GPU or is otherwise not allowed while a stream captures (.item(), "
                "printing a CUDA tensor, boolean-mask indexing, a device-to-host copy, "
                f"mg.cuda.synchronize()); CUDA said: {exc}") from exc
        raise
    cuda_graph.capture_end()
