"""DataLoader without automatic batching (batch_size=None), default_convert,
get_worker_info, and DistributedSampler at torch.utils.data's path."""
import numpy as np
import pytest

import minigrad as mg
from minigrad.data import (
    DataLoader,
    DistributedSampler,
    IterableDataset,
    TensorDataset,
    default_convert,
    get_worker_info,
)


def _ds(n=5):
    return TensorDataset(mg.arange(n), mg.arange(n) * 10)


def test_unbatched_loader_yields_samples_one_by_one():
    loader = DataLoader(_ds(), batch_size=None)
    assert len(loader) == 5
    assert [(x.tolist(), y.tolist()) for x, y in loader] == [(i, 10 * i) for i in range(5)]
    shuffled = [x.item() for x, _ in DataLoader(_ds(), batch_size=None, shuffle=True, seed=3)]
    assert sorted(shuffled) == list(range(5))
    assert shuffled == [x.item() for x, _ in DataLoader(_ds(), batch_size=None, shuffle=True,
                                                         seed=3)]
    doubled = DataLoader(_ds(), batch_size=None, collate_fn=lambda s: s[1] * 2)
    assert [t.item() for t in doubled] == [0, 20, 40, 60, 80]
    with pytest.raises(ValueError, match="mutually exclusive with drop_last"):
        DataLoader(_ds(), batch_size=None, drop_last=True)


def test_unbatched_loader_resumes_mid_epoch():
    loader = DataLoader(_ds(6), batch_size=None, shuffle=True, seed=1)
    it = iter(loader)
    head = [next(it)[0].item() for _ in range(2)]
    state = loader.state_dict()
    rest = [x.item() for x, _ in it]
    fresh = DataLoader(_ds(6), batch_size=None, shuffle=True, seed=1)
    fresh.load_state_dict(state)
    assert [x.item() for x, _ in fresh] == rest and sorted(head + rest) == list(range(6))


def test_unbatched_iterable_dataset():
    class Count(IterableDataset):
        def __iter__(self):
            return iter(np.arange(3.0))

    assert [t.tolist() for t in DataLoader(Count(), batch_size=None)] == [0.0, 1.0, 2.0]
    assert all(isinstance(t, mg.Tensor) for t in DataLoader(Count(), batch_size=None))


def test_default_convert_and_get_worker_info():
    out = default_convert({"a": np.ones(2), "b": [np.int64(3), "x"], "c": (1.5,)})
    assert isinstance(out["a"], mg.Tensor) and out["a"].dtype == mg.float64
    assert out["b"][0].tolist() == 3 and out["b"][1] == "x" and out["c"] == (1.5,)
    assert default_convert(np.array(["a", "b"])).tolist() == ["a", "b"]   # strings stay
    assert get_worker_info() is None


def test_distributed_sampler_shards_through_the_loader():
    parts = [[x.tolist() for x, _ in DataLoader(
        _ds(5), batch_size=2,
        sampler=DistributedSampler(_ds(5), num_replicas=2, rank=r, shuffle=False))]
        for r in range(2)]
    assert parts == [[[0, 2], [4]], [[1, 3], [0]]]    # padded by repeating the first index
    assert DistributedSampler is mg.distributed.DistributedSampler


def test_unbatched_loader_matches_pytorch():
    torch = pytest.importorskip("torch")
    data = np.arange(8.0).reshape(4, 2)
    mine = [t.tolist() for t in DataLoader(data, batch_size=None)]
    theirs = [t.tolist() for t in torch.utils.data.DataLoader(data, batch_size=None)]
    assert mine == theirs
    sample = {"a": np.ones(2), "b": [np.int64(3), "x"]}
    converted = torch.utils.data.default_convert(sample)
    assert type(converted["a"]).__name__ == "Tensor" and converted["b"][1] == "x"
    assert default_convert(sample)["a"].tolist() == converted["a"].tolist()
