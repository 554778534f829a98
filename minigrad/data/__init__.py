"""minigrad.data: datasets, a DataLoader, and real data.

- :class:`Dataset`, :class:`TensorDataset`, :class:`Subset`, :class:`ConcatDataset`,
  :class:`StackDataset`, :class:`IterableDataset`, :class:`ChainDataset`,
  :func:`random_split`, :class:`DataLoader` and the samplers (PyTorch's
  ``torch.utils.data`` names; ``DistributedSampler`` is
  :class:`minigrad.distributed.DistributedSampler`),
  :func:`train_test_split` (scikit-learn's, with ``stratify``);
- :func:`load_digits` / :func:`digits_splits`: the 8×8 handwritten digits shipped inside
  the package (1797 real images, the default dataset of the examples and tests);
- :func:`load_idx` / :func:`load_mnist`: MNIST-format IDX files from a local path.
"""
from ..distributed.sampler import DistributedSampler
from .dataloader import DataLoader, default_collate, default_convert, get_worker_info
from .dataset import (
    ChainDataset,
    ConcatDataset,
    Dataset,
    IterableDataset,
    StackDataset,
    Subset,
    TensorDataset,
    random_split,
    train_test_split,
)
from .digits import digits_splits, load_digits
from .idx import IDXError, load_idx, load_mnist, save_idx
from .sampler import (
    BatchSampler,
    RandomSampler,
    Sampler,
    SequentialSampler,
    SubsetRandomSampler,
    WeightedRandomSampler,
)

__all__ = [
    "Dataset", "TensorDataset", "Subset", "ConcatDataset", "random_split", "train_test_split",
    "DataLoader", "default_collate", "load_digits", "digits_splits", "load_idx",
    "load_mnist", "save_idx", "IDXError", "StackDataset", "IterableDataset", "ChainDataset",
    "Sampler", "SequentialSampler", "RandomSampler", "SubsetRandomSampler",
    "WeightedRandomSampler", "BatchSampler", "DistributedSampler", "default_convert",
    "get_worker_info",
]
