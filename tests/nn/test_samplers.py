"""Samplers, batch_sampler, StackDataset and iterable datasets (IterableDataset,
ChainDataset) in the DataLoader: orders by hand, the laws of the random samplers,
seeded repeatability, stopping and resuming mid-epoch (the same batches, the same epochs
after), errors, and torch.utils.data's batches for the deterministic cases."""
import io

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import (
    BatchSampler,
    ChainDataset,
    DataLoader,
    IterableDataset,
    RandomSampler,
    SequentialSampler,
    StackDataset,
    SubsetRandomSampler,
    TensorDataset,
    WeightedRandomSampler,
)


def _ds(n=10):
    return TensorDataset(mg.arange(n * 2.0).reshape(n, 2), mg.arange(n))


def _labels(loader):
    return [y.tolist() for _, y in loader]


def test_samplers_by_hand_and_in_law():
    rng = np.random.default_rng
    assert list(SequentialSampler(range(4))) == [0, 1, 2, 3]
    perm = list(RandomSampler(range(6), generator=rng(0)))
    assert sorted(perm) == list(range(6)) and perm != list(range(6))
    draws = list(RandomSampler(range(3), replacement=True, num_samples=3000, generator=rng(1)))
    assert len(draws) == 3000 and np.allclose(np.bincount(draws) / 3000, 1 / 3, atol=0.03)
    assert sorted(SubsetRandomSampler([7, 2, 9], generator=rng(2))) == [2, 7, 9]
    w = WeightedRandomSampler([1.0, 3.0, 0.0, 6.0], 20000, generator=rng(3))
    assert np.allclose(np.bincount(list(w), minlength=4) / 20000, [0.1, 0.3, 0.0, 0.6],
                       atol=0.015)
    once = list(WeightedRandomSampler([1.0, 3.0, 0.0, 6.0], 3, replacement=False,
                                      generator=rng(4)))
    assert sorted(once) == [0, 1, 3]
    assert list(BatchSampler(range(7), 3, drop_last=False)) == [[0, 1, 2], [3, 4, 5], [6]]
    assert len(BatchSampler(range(7), 3, drop_last=True)) == 2
    mg.manual_seed(5)                        # no generator: minigrad's global one
    a = list(RandomSampler(range(8)))
    mg.manual_seed(5)
    assert list(RandomSampler(range(8))) == a


def test_loader_with_samplers_and_batch_sampler():
    ds = _ds()
    subset = DataLoader(ds, batch_size=2, sampler=SubsetRandomSampler(
        [1, 3, 5], generator=np.random.default_rng(0)))
    labels = _labels(subset)
    assert len(subset) == 2 and [len(b) for b in labels] == [2, 1]
    assert sorted(sum(labels, [])) == [1, 3, 5]
    batches = [[0, 9], [5], [2, 2, 7]]
    loader = DataLoader(ds, batch_sampler=batches)
    assert len(loader) == 3 and _labels(loader) == batches
    loader = DataLoader(ds, batch_sampler=BatchSampler(SequentialSampler(ds), 4, False))
    assert _labels(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    with pytest.raises(ValueError, match="batch_sampler option is mutually exclusive"):
        DataLoader(ds, batch_size=2, batch_sampler=batches)
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(ds, shuffle=True, batch_sampler=batches)


def test_stack_and_iterable_datasets():
    stacked = StackDataset(_ds(4), mg.arange(4) * 10)
    (x, y), z = stacked[2]
    assert y.item() == 2 and z.item() == 20 and len(stacked) == 4
    named = StackDataset(a=[1, 2], b=[3, 4])
    assert [batch for batch in DataLoader(named, batch_size=2)][0]["b"].tolist() == [3, 4]
    with pytest.raises(ValueError, match="different lengths"):
        StackDataset([1, 2], [1])

    class Stream(IterableDataset):
        def __init__(self, n):
            self.n = n

        def __iter__(self):
            return iter(range(self.n))

    loader = DataLoader(Stream(7), batch_size=3)
    assert _flat(loader) == [[0, 1, 2], [3, 4, 5], [6]]
    assert _flat(DataLoader(Stream(7), batch_size=3, drop_last=True)) == [[0, 1, 2], [3, 4, 5]]
    assert _flat(DataLoader(ChainDataset([Stream(2), Stream(3)]), batch_size=2)) == \
        [[0, 1], [0, 1], [2]]
    assert _flat(DataLoader(Stream(2) + Stream(1), batch_size=5)) == [[0, 1, 0]]
    with pytest.raises(ValueError, match="IterableDataset gives its own order"):
        DataLoader(Stream(3), shuffle=True)


def _flat(loader):
    return [b.tolist() for b in loader]


@pytest.mark.parametrize("make", [
    lambda ds: DataLoader(ds, batch_size=3, sampler=RandomSampler(
        ds, generator=np.random.default_rng(7))),
    lambda ds: DataLoader(ds, batch_size=3, sampler=WeightedRandomSampler(
        np.linspace(1, 2, len(ds)), 11, generator=np.random.default_rng(8))),
    lambda ds: DataLoader(ds, batch_sampler=BatchSampler(
        RandomSampler(ds, generator=np.random.default_rng(9)), 4, drop_last=False)),
])
def test_resume_mid_epoch_gives_the_same_batches(make):
    ds = _ds(11)
    full_run = make(ds)
    epochs = [_labels(full_run) for _ in range(3)]
    loader = make(ds)
    first = _labels(loader)
    it = iter(loader)
    seen = [next(it)[1].tolist() for _ in range(2)]
    buf = io.BytesIO()                              # the state goes through a checkpoint
    mg.save(loader.state_dict(), buf)
    buf.seek(0)
    fresh = make(ds)
    fresh.load_state_dict(mg.load(buf))
    rest = _labels(fresh)
    assert [first] + [seen + rest] == epochs[:2]
    assert _labels(fresh) == epochs[2]          # the epoch after is the uninterrupted one


def test_resume_of_a_stream_skips_what_was_read():
    class Stream(IterableDataset):
        def __iter__(self):
            return iter(range(10))

    loader = DataLoader(Stream(), batch_size=3)
    it = iter(loader)
    next(it)
    state = loader.state_dict()
    fresh = DataLoader(Stream(), batch_size=3)
    fresh.load_state_dict(state)
    assert _flat(fresh) == [[3, 4, 5], [6, 7, 8], [9]]
    assert len(_flat(fresh)) == 4                 # then whole epochs again


def test_matches_torch_for_deterministic_orders():
    torch = pytest.importorskip("torch")
    tdata = torch.utils.data
    x = np.arange(20.0).reshape(10, 2)
    y = np.arange(10)
    ours = DataLoader(TensorDataset(mg.tensor(x), mg.tensor(y)),
                      batch_sampler=BatchSampler(SequentialSampler(range(10)), 4, True))
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.tensor(x), torch.tensor(y)),
                              batch_sampler=tdata.BatchSampler(tdata.SequentialSampler(
                                  range(10)), 4, True))
    assert [b[1].tolist() for b in ours] == [b[1].tolist() for b in theirs]
    assert list(BatchSampler(range(9), 4, False)) == list(tdata.BatchSampler(range(9), 4,
                                                                              False))


def test_random_sampler_without_replacement_repeats_whole_permutations():
    rng = np.random.default_rng
    # 7 of 3: two permutations of {0, 1, 2}, then one element of a third
    draws = list(RandomSampler(range(3), num_samples=7, generator=rng(2)))
    assert len(draws) == 7 and len(RandomSampler(range(3), num_samples=7)) == 7
    assert sorted(draws[:3]) == [0, 1, 2] and sorted(draws[3:6]) == [0, 1, 2]
    assert draws[6] in (0, 1, 2)
    assert sorted(RandomSampler(range(4), num_samples=2, generator=rng(3)))[0] in range(4)
