"""Collectives over MPI (mpi4py) for NumPy arrays and NCCL (through CuPy) for GPU arrays.

``init()`` reads rank and world size from the MPI environment (``mpirun -n N python
train.py`` or ``srun``). For CuPy arrays an NCCL communicator is created on first use:
rank 0 makes the NCCL unique id and broadcasts it over MPI, each rank picks GPU
``rank % n_gpus``.

A rank that raises must not leave the others waiting forever in a collective: ``init``
installs an excepthook that prints the traceback and calls ``MPI.COMM_WORLD.Abort(1)``,
which ends every rank with a non-zero exit code.
"""
from __future__ import annotations

import sys
import time
import traceback

import numpy as np

from .._backend import cuda_available, cupy, get_array_module, nccl

_comm = None
_nccl_comm = None


def _mpi():
    try:
        from mpi4py import MPI
    except ImportError:
        raise ImportError(
            "minigrad.distributed needs mpi4py and an MPI library: "
            "pip install minigrad[mpi]  (mpi4py + MPICH), or your cluster's MPI"
        ) from None
    return MPI


def init(abort_on_exception=True):
    """Join the MPI job. Returns ``(rank, world_size)``; safe to call twice."""
    global _comm
    MPI = _mpi()
    if _comm is None:
        _comm = MPI.COMM_WORLD
        if abort_on_exception and _comm.Get_size() > 1:
            _install_abort_hook(_comm)
        _use_rank_device(_comm.Get_rank())
    return _comm.Get_rank(), _comm.Get_size()


def _use_rank_device(rank):
    """Make GPU ``rank % n_gpus`` current now, before the model and data are moved to
    "cuda": arrays allocated before the NCCL communicator exists must already live on the
    rank's own GPU (else every rank of a node fills GPU 0). No-op without CuPy/a GPU."""
    if not cuda_available():
        return
    cp = cupy()
    cp.cuda.Device(rank % cp.cuda.runtime.getDeviceCount()).use()


def _install_abort_hook(comm):
    previous = sys.excepthook

    def hook(kind, value, tb):
        # One write, the exception itself on its first line: mpiexec may stop forwarding a
        # rank's output once Abort starts, and what arrived of it was the first line alone.
        summary = "".join(traceback.format_exception_only(kind, value)).strip()
        sys.stderr.write(f"[rank {comm.Get_rank()}] uncaught {summary}; aborting the job\n"
                         + "".join(traceback.format_exception(kind, value, tb)))
        sys.stderr.flush()
        # and a moment for mpiexec to forward it: on a loaded machine (CI, 2026-11-28) an
        # Abort right after the write once ended the job with none of it forwarded
        time.sleep(0.5)
        try:
            comm.Abort(1)
        finally:
            previous(kind, value, tb)

    sys.excepthook = hook


def is_initialized() -> bool:
    return _comm is not None


def _world():
    if _comm is None:
        raise RuntimeError("minigrad.distributed: call minigrad.distributed.init() first")
    return _comm


def get_rank() -> int:
    return _world().Get_rank() if _comm is not None else 0


def get_world_size() -> int:
    return _world().Get_size() if _comm is not None else 1


def barrier() -> None:
    _world().Barrier()


# --------------------------------------------------------------------------- NCCL
_NCCL_TYPES = {"float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32",
               "float64": "NCCL_FLOAT64", "int64": "NCCL_INT64", "int32": "NCCL_INT32"}


def _nccl():
    """The NCCL communicator of this job (made once, unique id broadcast over MPI)."""
    global _nccl_comm
    if _nccl_comm is None:
        comm = _world()
        cp, nc = cupy(), nccl()
        cp.cuda.Device(comm.Get_rank() % cp.cuda.runtime.getDeviceCount()).use()
        uid = nc.get_unique_id() if comm.Get_rank() == 0 else None
        uid = comm.bcast(uid, root=0)
        _nccl_comm = nc.NcclCommunicator(comm.Get_size(), uid, comm.Get_rank())
    return _nccl_comm


def _nccl_type(array):
    name = _NCCL_TYPES.get(array.dtype.name)
    if name is None:
        raise TypeError(f"NCCL collectives do not support dtype {array.dtype}")
    return getattr(nccl(), name)


def _stream_ptr():
    return cupy().cuda.get_current_stream().ptr


# --------------------------------------------------------------------------- collectives
def all_reduce_array(array, op="sum"):
    """Sum (or average, ``op="mean"``) ``array`` over all ranks, in place; returns it."""
    if op not in ("sum", "mean"):
        raise ValueError(f"all_reduce: op must be 'sum' or 'mean', got {op!r}")
    comm = _world()
    if not array.flags.c_contiguous:
        raise ValueError("all_reduce: the array must be contiguous")
    if get_array_module(array) is np:
        comm.Allreduce(_mpi().IN_PLACE, array, op=_mpi().SUM)
    else:
        _nccl().allReduce(array.data.ptr, array.data.ptr, array.size, _nccl_type(array),
                          nccl().NCCL_SUM, _stream_ptr())
    if op == "mean":
        array /= comm.Get_size()
    return array


def broadcast_array(array, src=0):
    """Overwrite ``array`` on every rank with rank ``src``'s, in place; returns it."""
    comm = _world()
    if not array.flags.c_contiguous:  # NCCL writes count elements from data.ptr
        raise ValueError("broadcast: the array must be contiguous")
    if get_array_module(array) is np:
        comm.Bcast(array, root=src)
    else:
        _nccl().bcast(array.data.ptr, array.size, _nccl_type(array), src, _stream_ptr())
    return array


def all_gather_array(array):
    """Every rank's ``array`` stacked along a new first axis (world_size, *shape)."""
    comm = _world()
    xp = get_array_module(array)
    out = xp.empty((comm.Get_size(),) + array.shape, dtype=array.dtype)
    if xp is np:
        comm.Allgather(np.ascontiguousarray(array), out)
    else:
        array = xp.ascontiguousarray(array)  # NCCL reads count elements from data.ptr
        _nccl().allGather(array.data.ptr, out.data.ptr, array.size, _nccl_type(array),
                          _stream_ptr())
    return out


class _Done:
    def wait(self):
        return None


def iall_reduce_array(array):
    """Start a non-blocking in-place sum over ranks; returns a handle with ``wait()``.
    (NCCL calls are asynchronous on the stream already; MPI uses Iallreduce.)"""
    comm = _world()
    if get_array_module(array) is np:
        req = comm.Iallreduce(_mpi().IN_PLACE, array, op=_mpi().SUM)

        class _Req:
            def wait(self):
                req.Wait()
        return _Req()
    all_reduce_array(array)
    return _Done()


# --------------------------------------------------------------------------- Tensor helpers
def all_reduce(tensor, op="sum"):
    """In-place all-reduce of a Tensor's data (PyTorch's ``dist.all_reduce``)."""
    all_reduce_array(tensor.data, op)
    return tensor


def broadcast(tensor, src=0):
    """In-place broadcast of a Tensor's data from rank ``src``."""
    broadcast_array(tensor.data, src)
    return tensor
