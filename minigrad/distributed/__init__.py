"""Data-parallel training on MPI (mpi4py), with NCCL for CuPy arrays.

    mpirun -n 4 python examples/ddp_digits.py

``init()`` joins the job; ``DistributedDataParallel`` averages gradients after each
backward; ``DistributedSampler`` gives each rank a disjoint shard; ``all_reduce``,
``broadcast``, ``barrier`` are the collectives (PyTorch's ``torch.distributed`` names).
Scale the learning rate with the global batch by
``minigrad.optim.lr_scheduler.linear_scaling_rule(base_lr, batch * get_world_size())``.
"""
from .comm import (
    all_gather_array,
    all_reduce,
    all_reduce_array,
    barrier,
    broadcast,
    broadcast_array,
    get_rank,
    get_world_size,
    init,
    is_initialized,
)
from .compression import FP16Compression, NoCompression, TopKCompression
from .ddp import DistributedDataParallel
from .sampler import DistributedSampler

