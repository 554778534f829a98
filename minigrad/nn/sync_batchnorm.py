r"""Synchronized batch normalization (PyTorch's ``nn.SyncBatchNorm``): in data-parallel
training the batch statistics are those of the global batch, all ranks together.

Per channel, with x the local batch of rank r and M = Σ_r M_r the global count:

    μ  = Σ_r Σ x / M                          (one all-reduce of the sums and counts)
    σ² = Σ_r Σ (x − μ)² / M                   (a second all-reduce: two passes, no
                                               cancellation of E[x²] − μ²)
    y  = γ (x − μ) / √(σ² + ε) + β

The forward is written in differentiable ops around a differentiable all-reduce
(:func:`minigrad.distributed.functional.all_reduce`), so its backward all-reduces
Σ g and Σ g·x̂ as PyTorch's SyncBatchNorm does, and the input gradient is the one of
the summed loss of all ranks. The running statistics use the global unbiased variance
σ²·M/(M − 1). In eval mode, or in a single process, it is BatchNorm.
"""
from __future__ import annotations

from .. import creation
from .normalization import _BatchNorm, blend_running_stats

__all__ = ["SyncBatchNorm"]


class SyncBatchNorm(_BatchNorm):
    """Batch normalization with statistics over every rank's batch; accepts any input of
    at least 2 dims (N, C, ...), as PyTorch's."""

    _expected = tuple(range(2, 9))

    def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True,
                 track_running_stats=True, process_group=None, device=None, dtype=None, *,
                 bias=True):
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device,
                         dtype, bias=bias)
        if process_group is not None:
            raise NotImplementedError("SyncBatchNorm: process groups other than the whole "
                                      "world are not supported (pass None)")
        self.process_group = process_group

    def forward(self, input):
        from ..distributed import comm
        from ..distributed.functional import all_reduce

        self._check_input_dim(input)
        if not self.training or not comm.is_initialized() or comm.get_world_size() == 1:
            return super().forward(input)
        C = self.num_features
        axes = (0,) + tuple(range(2, input.ndim))
        shape = (1, C) + (1,) * (input.ndim - 2)
        local_count = input.numel() // C
        count = all_reduce(creation.tensor([float(local_count)], dtype=input.dtype,
                                           device=input.device)).item()
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got "
                             f"{int(count)} over all ranks")
        mean = all_reduce(input.sum(axes)) / count
        centred = input - mean.reshape(shape)
        var = all_reduce((centred * centred).sum(axes)) / count
        y = centred * (var + self.eps).rsqrt().reshape(shape)
        if self.weight is not None:
            y = y * self.weight.reshape(shape)
        if self.bias is not None:
            y = y + self.bias.reshape(shape)
        if self.track_running_stats:
            factor, batches = self._count_batch()
            if batches is not None:  # counted here: no fused running-statistics kernel
                batches.data += 1
            blend_running_stats(self.running_mean, self.running_var, mean.data, var.data,
                                factor, count)
        return y

    @classmethod
    def convert_sync_batchnorm(cls, module, process_group=None):
        """``module`` with every BatchNorm1d/2d/3d replaced by a SyncBatchNorm holding the
        same parameters and buffers (the same tensors); returns the new root."""
        out = module
        if isinstance(module, _BatchNorm) and not isinstance(module, SyncBatchNorm):
            out = cls(module.num_features, module.eps, module.momentum, module.affine,
                      module.track_running_stats, process_group)
            for name in ("weight", "bias"):
                setattr(out, name, getattr(module, name))
            for name in ("running_mean", "running_var", "num_batches_tracked"):
                out._buffers[name] = module._buffers.get(name)
            out.train(module.training)
        for name, child in list(module.named_children()):
            new = cls.convert_sync_batchnorm(child, process_group)
            if new is not child:
                out._modules[name] = new  # in place: a Sequential keeps its order
        return out

