"""minigrad.data: datasets, DataLoader (order, seeding, drop_last, collate, device),
random_split, train_test_split (stratified), the shipped digits, and IDX files written
here in a temporary directory."""
import doctest
import gzip
import io

import numpy as np
import pytest

import minigrad as mg
from minigrad import data
from minigrad.data import (
    DataLoader,
    Dataset,
    IDXError,
    TensorDataset,
    digits_splits,
    load_digits,
    load_idx,
    load_mnist,
    random_split,
    save_idx,
    train_test_split,
)

# ----------------------------------------------------------------- datasets


def make_ds(n=10):
    return TensorDataset(mg.arange(2 * n).reshape(n, 2).float(), mg.arange(n))


def test_tensor_dataset_indexing():
    ds = make_ds(5)
    assert len(ds) == 5
    x, y = ds[3]
    assert x.tolist() == [6.0, 7.0] and y.item() == 3
    assert ds.tensors[1].shape == (5,)


def test_tensor_dataset_size_mismatch():
    with pytest.raises(ValueError, match=r"same first dimension.*\(3, 2\), \(4,\)"):
        TensorDataset(mg.zeros(3, 2), mg.zeros(4))
    with pytest.raises(ValueError, match="at least one"):
        TensorDataset()


# ----------------------------------------------------------------- DataLoader


def labels_of(loader):
    return [y.tolist() for _, y in loader]


def test_loader_in_order_with_last_partial_batch():
    loader = DataLoader(make_ds(10), batch_size=4)
    assert len(loader) == 3
    assert labels_of(loader) == [[0, 1, 2, 3], [4, 5, 6, 7], [8, 9]]
    xb, yb = next(iter(loader))
    assert xb.shape == (4, 2) and xb.dtype == mg.float32 and yb.dtype == mg.int64
    assert not xb.requires_grad


def test_loader_drop_last():
    loader = DataLoader(make_ds(10), batch_size=4, drop_last=True)
    assert len(loader) == 2
    assert labels_of(loader) == [[0, 1, 2, 3], [4, 5, 6, 7]]
    assert len(DataLoader(make_ds(3), batch_size=4, drop_last=True)) == 0


def test_loader_shuffle_is_a_permutation_and_changes_each_epoch():
    loader = DataLoader(make_ds(20), batch_size=6, shuffle=True, seed=0)
    e1, e2 = sum(labels_of(loader), []), sum(labels_of(loader), [])
    assert sorted(e1) == list(range(20)) and sorted(e2) == list(range(20))
    assert e1 != e2 and e1 != list(range(20))


def test_loader_seed_reproducible_whatever_else_draws():
    a = DataLoader(make_ds(20), batch_size=5, shuffle=True, seed=42)
    first = [labels_of(a) for _ in range(3)]
    mg.randn(100)  # the global generator moves; a seeded loader does not care
    b = DataLoader(make_ds(20), batch_size=5, shuffle=True, seed=42)
    assert [labels_of(b) for _ in range(3)] == first


def test_loader_follows_manual_seed_without_own_seed():
    mg.manual_seed(3)
    a = labels_of(DataLoader(make_ds(16), batch_size=4, shuffle=True))
    mg.manual_seed(3)
    b = labels_of(DataLoader(make_ds(16), batch_size=4, shuffle=True))
    mg.manual_seed(4)
    c = labels_of(DataLoader(make_ds(16), batch_size=4, shuffle=True))
    assert a == b != c


def test_loader_with_generator():
    g1, g2 = np.random.default_rng(5), np.random.default_rng(5)
    assert labels_of(DataLoader(make_ds(12), 3, shuffle=True, generator=g1)) == \
        labels_of(DataLoader(make_ds(12), 3, shuffle=True, generator=g2))
    with pytest.raises(ValueError, match="either seed or generator"):
        DataLoader(make_ds(), shuffle=True, seed=1, generator=g1)
    with pytest.raises(TypeError, match="numpy.random.Generator"):
        DataLoader(make_ds(), shuffle=True, generator=123)


@pytest.mark.parametrize("bad", [0, -1, 2.5, True])
def test_loader_bad_batch_size(bad):
    with pytest.raises(ValueError, match="batch_size must be a positive integer"):
        DataLoader(make_ds(), batch_size=bad)


class Squares(Dataset):
    """A plain map-style dataset of (numpy array, int, float) samples."""

    def __len__(self):
        return 7

    def __getitem__(self, i):
        return np.full(3, i, np.float32), i, float(i) / 2


def test_default_collate_on_a_generic_dataset():
    x, y, z = next(iter(DataLoader(Squares(), batch_size=4)))
    assert x.shape == (4, 3) and x.dtype == mg.float32
    assert y.tolist() == [0, 1, 2, 3] and y.dtype == mg.int64
    assert z.tolist() == [0.0, 0.5, 1.0, 1.5] and z.dtype == mg.float32


def test_fast_path_equals_sample_by_sample_collate():
    ds = make_ds(9)
    fast = list(DataLoader(ds, batch_size=4, shuffle=True, seed=1))
    slow = list(DataLoader(ds, batch_size=4, shuffle=True, seed=1,
                           collate_fn=data.default_collate))
    for (xa, ya), (xb, yb) in zip(fast, slow):
        assert xa.tolist() == xb.tolist() and ya.tolist() == yb.tolist()


def test_collate_dicts_and_custom_collate():
    samples = [{"x": mg.ones(2) * i, "y": i} for i in range(3)]
    batch = data.default_collate(samples)
    assert batch["x"].shape == (3, 2) and batch["y"].tolist() == [0, 1, 2]
    loader = DataLoader(make_ds(4), batch_size=2, collate_fn=lambda s: len(s))
    assert list(loader) == [2, 2]
    with pytest.raises(TypeError, match="cannot batch samples of type NoneType"):
        data.default_collate([None, None])


def test_loader_device(device):
    xb, yb = next(iter(DataLoader(make_ds(6), batch_size=3, device=device)))
    assert xb.device == device and yb.device == device


# ----------------------------------------------------------------- stopping mid-epoch


def batches(iterable):
    return [y.tolist() if hasattr(y, "tolist") else list(y) for _, y in iterable]


def round_trip(state):
    """Through mg.save / mg.load, as in a checkpoint."""
    buf = io.BytesIO()
    mg.save(state, buf)
    buf.seek(0)
    return mg.load(buf)


def interrupted_at(make, k, epochs_before=1):
    """(what an uninterrupted loader yields after k batches of epoch ``epochs_before``
    and in the next epoch, what a fresh loader restored there yields)."""
    mg.manual_seed(11)
    ref = make()
    for _ in range(epochs_before):
        batches(ref)
    it = iter(ref)
    for _ in range(k):
        next(it)
    state = round_trip(ref.state_dict())
    rng = mg.random.get_rng_state()    # loaders without seed draw from the global one
    expected = (batches(it), batches(ref), batches(ref))
    mg.manual_seed(999)                # a new process: every generator elsewhere
    fresh = make()
    mg.random.set_rng_state(rng)
    fresh.load_state_dict(state)
    return expected, (batches(fresh), batches(fresh), batches(fresh))


LOADERS = {
    "in order": lambda: DataLoader(make_ds(10), batch_size=3),
    "shuffled, seed": lambda: DataLoader(make_ds(10), batch_size=3, shuffle=True, seed=4),
    "shuffled, global generator": lambda: DataLoader(make_ds(10), batch_size=3, shuffle=True),
    "shuffled, drop_last": lambda: DataLoader(make_ds(10), batch_size=3, shuffle=True, seed=4,
                                              drop_last=True),
    "in order, drop_last": lambda: DataLoader(make_ds(10), batch_size=3, drop_last=True),
    "generic dataset": lambda: DataLoader(Squares(), batch_size=2, shuffle=True, seed=1,
                                          collate_fn=lambda s: (None, [x[1] for x in s])),
}


@pytest.mark.parametrize("name", list(LOADERS))
def test_loader_resumed_after_k_batches_yields_the_rest_then_the_same_epochs(name):
    make = LOADERS[name]
    n_batches = len(make())
    for k in range(n_batches + 1):      # 0, every batch, and after the last one
        expected, got = interrupted_at(make, k)
        assert got == expected, (name, k)
        assert len(got[0]) == n_batches - k


def test_loader_resumed_in_the_first_epoch_and_at_a_boundary():
    make = LOADERS["shuffled, seed"]
    assert interrupted_at(make, 2, epochs_before=0)[0] == \
        interrupted_at(make, 2, epochs_before=0)[1]
    # a state taken after an epoch ran to its end (the for loop finished) starts a new one
    a = make()
    first = batches(a)
    state = round_trip(a.state_dict())
    assert state["epoch"] is None
    b = make()
    b.load_state_dict(state)
    assert batches(b) == batches(a) != first


def test_loader_state_right_after_load_is_the_loaded_one():
    a = DataLoader(make_ds(10), batch_size=3, shuffle=True, seed=0)
    it = iter(a)
    next(it)
    state = a.state_dict()
    b = DataLoader(make_ds(10), batch_size=3, shuffle=True, seed=0)
    b.load_state_dict(state)
    again = b.state_dict()
    assert again["epoch"]["batches_yielded"] == 1
    assert np.array_equal(again["epoch"]["order"], state["epoch"]["order"])
    assert again["generator"] == state["generator"]


def test_loader_with_a_distributed_sampler_resumes_each_rank():
    from minigrad.distributed import DistributedSampler

    for rank in (0, 1):
        def make(rank=rank):
            sampler = DistributedSampler(make_ds(11), num_replicas=2, rank=rank, seed=3)
            return DataLoader(make_ds(11), batch_size=2, sampler=sampler)

        ref = make()
        ref.sampler.set_epoch(0)
        epoch0 = batches(ref)
        ref.sampler.set_epoch(1)
        it = iter(ref)
        next(it), next(it)
        state = round_trip(ref.state_dict())
        assert state["epoch"]["order"] is None      # recomputed from the sampler's epoch
        rest = batches(it)
        fresh = make()
        fresh.load_state_dict(state)
        assert fresh.sampler.epoch == 1
        assert batches(fresh) == rest and len(rest) == len(ref) - 2
        fresh.sampler.set_epoch(2)
        ref.sampler.set_epoch(2)
        assert batches(fresh) == batches(ref) != epoch0


def test_loader_with_a_plain_sampler_saves_its_order():
    order = [9, 3, 5, 0, 1, 2]
    a = DataLoader(make_ds(10), batch_size=4, sampler=order)
    it = iter(a)
    next(it)
    state = round_trip(a.state_dict())
    assert state["epoch"]["order"].tolist() == order
    b = DataLoader(make_ds(10), batch_size=4, sampler=[0, 1, 2, 3, 4, 5])
    b.load_state_dict(state)
    assert batches(b) == [[1, 2]]
    with pytest.raises(ValueError, match="mutually exclusive"):
        DataLoader(make_ds(10), sampler=order, shuffle=True)


def test_loader_state_for_another_loader_is_refused_naming_both_values():
    a = DataLoader(make_ds(10), batch_size=3, shuffle=True, seed=0)
    it = iter(a)
    next(it)
    state = a.state_dict()
    with pytest.raises(ValueError, match=r"a dataset of 10 samples, but this loader has a "
                                         r"dataset of 12 samples"):
        DataLoader(make_ds(12), batch_size=3, shuffle=True, seed=0).load_state_dict(state)
    with pytest.raises(ValueError, match=r"batch_size 3, but this loader has batch_size 4"):
        DataLoader(make_ds(10), batch_size=4, shuffle=True, seed=0).load_state_dict(state)
    with pytest.raises(ValueError, match=r"drop_last=False, but this loader has "
                                         r"drop_last=True"):
        DataLoader(make_ds(10), batch_size=3, shuffle=True, seed=0,
                   drop_last=True).load_state_dict(state)
    with pytest.raises(ValueError, match=r"shuffle=True, but this loader has shuffle=False"):
        DataLoader(make_ds(10), batch_size=3).load_state_dict(state)
    with pytest.raises(ValueError, match="its own generator .* global generator"):
        DataLoader(make_ds(10), batch_size=3, shuffle=True).load_state_dict(state)
    with pytest.raises(ValueError, match="not a DataLoader state"):
        DataLoader(make_ds(10)).load_state_dict({"batch_size": 3})
    bad = dict(state, epoch=dict(state["epoch"], batches_yielded=7))
    with pytest.raises(ValueError, match="7 batches yielded, but an epoch has only 4"):
        DataLoader(make_ds(10), batch_size=3, shuffle=True, seed=0).load_state_dict(bad)
    # nothing was changed by a refused state
    fresh = DataLoader(make_ds(10), batch_size=3, shuffle=True, seed=0)
    before = fresh.generator.bit_generator.state
    with pytest.raises(ValueError):
        fresh.load_state_dict(bad)
    assert fresh.generator.bit_generator.state == before and fresh.state_dict()["epoch"] is None


# ----------------------------------------------------------------- splits


def test_random_split_counts_and_fractions():
    ds = make_ds(10)
    a, b = random_split(ds, [7, 3], seed=0)
    ia = [int(a[i][1].item()) for i in range(len(a))]
    ib = [int(b[i][1].item()) for i in range(len(b))]
    assert sorted(ia + ib) == list(range(10)) and len(ia) == 7
    parts = random_split(ds, [0.5, 0.3, 0.2], seed=0)
    assert [len(p) for p in parts] == [5, 3, 2]
    parts = random_split(make_ds(11), [0.5, 0.5], seed=0)  # floor, then one each
    assert [len(p) for p in parts] == [6, 5]
    # a Subset keeps the fast batch path
    xb, yb = next(iter(DataLoader(a, batch_size=7)))
    assert sorted(yb.tolist()) == sorted(ia)


def test_random_split_reproducible_and_errors():
    ds = make_ds(10)
    assert list(random_split(ds, [5, 5], seed=3)[0].indices) == \
        list(random_split(ds, [5, 5], seed=3)[0].indices)
    with pytest.raises(ValueError, match=r"sum to 9, but the dataset has 10"):
        random_split(ds, [5, 4])
    with pytest.raises(ValueError, match="non-negative integers or fractions"):
        random_split(ds, [12, -2])


def test_train_test_split_plain():
    X, y = np.arange(40).reshape(20, 2), np.arange(20)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.25, seed=0)
    assert X_te.shape == (5, 2) and X_tr.shape == (15, 2)
    assert sorted(np.concatenate([y_tr, y_te]).tolist()) == list(range(20))
    assert (X_te[:, 0] == 2 * y_te).all()  # rows stay together
    *_, y_te2 = train_test_split(X, y, test_size=0.25, seed=0)
    assert (y_te2 == y_te).all()
    _, last = train_test_split(y, test_size=3, shuffle=False)
    assert last.tolist() == [17, 18, 19]


def test_train_test_split_stratified_keeps_proportions():
    y = np.array([0] * 50 + [1] * 30 + [2] * 20)
    X = mg.tensor(np.arange(100.0))
    X_tr, X_te, y_tr, y_te = train_test_split(X, mg.tensor(y), test_size=0.2, stratify=y,
                                              seed=1)
    assert isinstance(X_te, mg.Tensor)
    assert np.bincount(y_te.numpy()).tolist() == [10, 6, 4]
    assert np.bincount(y_tr.numpy()).tolist() == [40, 24, 16]
    # uneven: the leftover places go to the largest remainders, total exact
    y = np.array([0] * 7 + [1] * 7 + [2] * 7)
    _, te = train_test_split(y, test_size=5, stratify=y, seed=0)
    assert len(te) == 5 and sorted(np.bincount(te, minlength=3).tolist()) == [1, 2, 2]


def test_train_test_split_errors():
    with pytest.raises(ValueError, match=r"different numbers of samples: \(4,\), \(5,\)"):
        train_test_split(np.zeros(4), np.zeros(5))
    with pytest.raises(ValueError, match=r"test_size must be in \(0, 1\), got 1.5"):
        train_test_split(np.zeros(4), test_size=1.5)
    with pytest.raises(ValueError, match="between 1 and 3"):
        train_test_split(np.zeros(4), test_size=4)
    with pytest.raises(ValueError, match="stratify has 3 labels for 4"):
        train_test_split(np.zeros(4), stratify=[0, 1, 0])


# ----------------------------------------------------------------- digits


def test_load_digits():
    X, y = load_digits()
    assert X.shape == (1797, 1, 8, 8) and X.dtype == mg.float32
    assert y.shape == (1797,) and y.dtype == mg.int64
    assert float(X.min()) == 0.0 and float(X.max()) == 1.0
    assert np.bincount(y.numpy()).tolist() == [178, 182, 177, 183, 181, 182, 181, 179, 174,
                                               180]
    # the first image is a 0 (scikit-learn's digits.images[0])
    assert y[0].item() == 0
    assert (X.numpy()[0, 0, 0] * 16).tolist() == [0, 0, 5, 13, 9, 1, 0, 0]
    Xf, _ = load_digits(flat=True, dtype=mg.float64)
    assert Xf.shape == (1797, 64) and Xf.dtype == mg.float64
    X[0] = 5.0  # a fresh copy each call: the cached file data is not touched
    assert float(load_digits()[0].max()) == 1.0


def test_digits_splits_fixed_and_stratified():
    train, test = digits_splits()
    assert (len(train), len(test)) == (1437, 360)
    counts = np.bincount(test.tensors[1].numpy())
    assert counts.min() >= 35 and counts.max() <= 37
    again = digits_splits()[1]
    assert (again.tensors[0].numpy() == test.tensors[0].numpy()).all()
    mg.manual_seed(123)  # the global state does not change the held-out split
    assert (digits_splits()[1].tensors[1].numpy() == test.tensors[1].numpy()).all()
    other = digits_splits(seed=1)[1]
    assert not (other.tensors[0].numpy() == test.tensors[0].numpy()).all()
    # train and test are disjoint and cover the data
    X, _ = load_digits(flat=True)
    tr, te = digits_splits(flat=True)
    rows = {r.tobytes() for r in X.numpy()}
    assert {r.tobytes() for r in tr.tensors[0].numpy()} | \
        {r.tobytes() for r in te.tensors[0].numpy()} == rows


# ----------------------------------------------------------------- IDX / MNIST


@pytest.mark.parametrize("dtype", ["u1", "i1", "i2", "i4", "f4", "f8"])
@pytest.mark.parametrize("compress", [False, True])
def test_idx_round_trip(tmp_path, dtype, compress):
    a = (np.arange(24).reshape(2, 3, 4) - 5).astype(dtype)
    if dtype == "u1":
        a = np.arange(24, dtype=np.uint8).reshape(2, 3, 4) * 10
    path = tmp_path / "a.idx"
    save_idx(path, a, compress=compress)
    raw = path.read_bytes()
    assert (raw[:2] == b"\x1f\x8b") == compress
    b = load_idx(path)
    assert b.dtype == np.dtype(dtype) and b.shape == a.shape and (a == b).all()
    assert b.flags.writeable and b.dtype.isnative


def test_idx_big_endian_layout_by_hand(tmp_path):
    # int16 (0x0B), 1 dim of 3: values 1, -2, 258 big-endian
    raw = bytes([0, 0, 0x0B, 1, 0, 0, 0, 3, 0, 1, 0xFF, 0xFE, 1, 2])
    (tmp_path / "h").write_bytes(raw)
    assert load_idx(tmp_path / "h").tolist() == [1, -2, 258]
    (tmp_path / "h.gz").write_bytes(gzip.compress(raw))
    assert load_idx(tmp_path / "h.gz").tolist() == [1, -2, 258]


def test_idx_errors(tmp_path):
    bad = tmp_path / "bad"
    bad.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(20))
    with pytest.raises(IDXError, match=r"not an IDX file: magic number 0x89504E47"):
        load_idx(bad)
    bad.write_bytes(bytes([0, 0, 0x07, 1, 0, 0, 0, 1, 0]))  # unknown type code
    with pytest.raises(ValueError, match=r"not an IDX file.*0x00000701"):
        load_idx(bad)
    bad.write_bytes(bytes([0, 0, 0x08, 2, 0, 0, 0, 2, 0, 0, 0, 2, 1, 2, 3]))  # 3 of 4 bytes
    with pytest.raises(IDXError, match=r"has 15 bytes but its header \(shape \(2, 2\), uint8\) "
                                       r"implies 16"):
        load_idx(bad)
    bad.write_bytes(bytes([0, 0]))
    with pytest.raises(IDXError, match="too short"):
        load_idx(bad)
    bad.write_bytes(bytes([0, 0, 0x08, 3, 0, 0]))
    with pytest.raises(IDXError, match="truncated inside its header"):
        load_idx(bad)
    bad.write_bytes(b"\x1f\x8b" + bytes(10))
    with pytest.raises(IDXError, match="does not decompress"):
        load_idx(bad)
    with pytest.raises(FileNotFoundError, match="no such file"):
        load_idx(tmp_path / "missing")
    with pytest.raises(TypeError, match="no type for int64"):
        save_idx(tmp_path / "x", np.zeros(2, np.int64))


def write_mnist(folder, prefix, n, gz, rng):
    folder.mkdir(parents=True, exist_ok=True)
    images = rng.integers(0, 256, (n, 28, 28)).astype(np.uint8)
    labels = rng.integers(0, 10, n).astype(np.uint8)
    ext = ".gz" if gz else ""
    save_idx(folder / f"{prefix}-images-idx3-ubyte{ext}", images)
    save_idx(folder / f"{prefix}-labels-idx1-ubyte{ext}", labels)
    return images, labels


def test_load_mnist(tmp_path):
    rng = np.random.default_rng(0)
    images, labels = write_mnist(tmp_path, "train", 12, gz=True, rng=rng)
    test_images, _ = write_mnist(tmp_path / "MNIST" / "raw", "t10k", 5, gz=False, rng=rng)
    X, y = load_mnist(tmp_path)
    assert X.shape == (12, 1, 28, 28) and X.dtype == mg.float32 and y.dtype == mg.int64
    np.testing.assert_allclose(X.numpy()[:, 0], images / 255.0, rtol=1e-6)
    assert y.tolist() == labels.tolist()
    Xt, yt = load_mnist(tmp_path, train=False, flat=True)
    assert Xt.shape == (5, 784) and float(Xt.max()) <= 1.0
    np.testing.assert_allclose(Xt.numpy(), test_images.reshape(5, -1) / 255.0, rtol=1e-6)


def test_load_mnist_errors(tmp_path):
    with pytest.raises(FileNotFoundError, match="train-images-idx3-ubyte, "
                                                "train-labels-idx1-ubyte .* not found"):
        load_mnist(tmp_path)
    rng = np.random.default_rng(0)
    write_mnist(tmp_path, "train", 4, gz=False, rng=rng)
    save_idx(tmp_path / "train-labels-idx1-ubyte", np.zeros(3, np.uint8))
    with pytest.raises(IDXError, match="4 images but 3 labels"):
        load_mnist(tmp_path)


# ----------------------------------------------------------------- doctests


@pytest.mark.parametrize("module", [data.dataset, data.dataloader, data.digits, data.idx])
def test_docstring_examples(module):
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0 and result.failed == 0


# ----------------------------------------------------------------- PyTorch parity audit
# Each test pins a place where minigrad.data used to disagree with torch.utils.data: the
# hand-derived ones run everywhere, the oracle ones fetch PyTorch inside the test.


def test_collate_keeps_numpy_scalar_dtypes_like_arrays():
    # np.float64 / np.int32 samples were cast to float32 / int64 (0-d arrays were not)
    assert data.default_collate([np.float64(1), np.float64(2)]).dtype == mg.float64
    assert data.default_collate([np.int32(1), np.int32(2)]).dtype == mg.int32
    assert data.default_collate([np.float32(1), np.float32(2)]).dtype == mg.float32
    assert data.default_collate([np.bool_(True), np.bool_(False)]).tolist() == [True, False]
    # Python numbers keep minigrad's defaults (floats: float32, a documented departure)
    assert data.default_collate([1.5, 2.5]).dtype == mg.float32
    assert data.default_collate([1, 2]).dtype == mg.int64


def test_collate_strings_stay_a_list_and_named_tuples_keep_their_type():
    from collections import namedtuple

    Sample = namedtuple("Sample", "x name")
    batch = data.default_collate([Sample(np.zeros(2), "a"), Sample(np.ones(2), "b")])
    assert type(batch) is Sample and batch.name == ["a", "b"]
    assert batch.x.tolist() == [[0.0, 0.0], [1.0, 1.0]]
    assert data.default_collate([b"a", b"b"]) == [b"a", b"b"]
    x, y = data.default_collate([(1, "cat"), (2, "dog")])
    assert x.tolist() == [1, 2] and y == ["cat", "dog"]


def test_collate_of_unequal_shapes_names_them():
    with pytest.raises(RuntimeError, match=r"equal size, but got \(2,\) at entry 0 and "
                                           r"\(3,\) at entry 2"):
        data.default_collate([np.zeros(2), np.zeros(2), np.zeros(3)])


def test_num_workers_and_pin_memory_are_accepted():
    loader = DataLoader(make_ds(5), batch_size=2, num_workers=2, pin_memory=True)
    assert [y.tolist() for _, y in loader] == [[0, 1], [2, 3], [4]]
    for bad in (-1, 1.5, True):
        with pytest.raises(ValueError, match="num_workers option should be non-negative"):
            DataLoader(make_ds(5), num_workers=bad)


def test_concat_dataset():
    a, b = make_ds(3), TensorDataset(mg.zeros(2, 2), mg.tensor([7, 8]))
    ds = data.ConcatDataset([a, b])
    assert len(ds) == 5 and ds.cumulative_sizes == [3, 5]
    assert [int(ds[i][1]) for i in range(-5, 5)] == [0, 1, 2, 7, 8] * 2
    assert [int(y) for _, y in (a + b)] == [0, 1, 2, 7, 8]
    with pytest.raises(IndexError, match="index 5 is out of range for 5 samples"):
        ds[5]
    with pytest.raises(ValueError, match="should not be an empty iterable"):
        data.ConcatDataset([])
    batches = [y.tolist() for _, y in DataLoader(ds, batch_size=2)]
    assert batches == [[0, 1], [2, 7], [8]]


def test_corrupt_gzip_idx_raises_idx_error(tmp_path):
    path = tmp_path / "x-idx1-ubyte.gz"
    save_idx(path, np.arange(100, dtype=np.uint8))
    raw = bytearray(path.read_bytes())
    raw[15] ^= 0xFF  # inside the deflate stream: zlib.error, not a gzip header error
    raw[16] ^= 0xFF
    path.write_bytes(bytes(raw))
    with pytest.raises(IDXError, match="does not decompress"):
        load_idx(path)


def test_collate_matches_torch_default_collate():
    torch = pytest.importorskip("torch")
    from collections import namedtuple

    from torch.utils.data import default_collate as torch_collate

    Pair = namedtuple("Pair", "a b")
    for samples in ([np.float64(1), np.float64(2)], [np.int32(3), np.int32(4)],
                    [np.arange(3, dtype=np.int16), np.arange(3, dtype=np.int16)],
                    [{"x": np.ones(2), "n": 1}, {"x": np.zeros(2), "n": 2}],
                    [Pair(1, np.float32(2)), Pair(3, np.float32(4))]):
        ours, theirs = data.default_collate(samples), torch_collate(samples)
        if isinstance(theirs, dict):
            ours, theirs = list(ours.values()), list(theirs.values())
        elif isinstance(theirs, torch.Tensor):
            ours, theirs = [ours], [theirs]
        else:
            assert type(ours) is type(theirs)
        for o, t in zip(ours, theirs):
            assert str(o.dtype) == str(t.dtype).removeprefix("torch.")
            assert o.tolist() == t.tolist()
    assert data.default_collate(["a", "b"]) == torch_collate(["a", "b"])
    tds = torch.utils.data.TensorDataset(torch.arange(4))
    tcat = torch.utils.data.ConcatDataset([tds, tds])
    mds = TensorDataset(mg.arange(4))
    mcat = data.ConcatDataset([mds, mds])
    assert tcat.cumulative_sizes == mcat.cumulative_sizes
    assert [int(tcat[i][0]) for i in range(-8, 8)] == [int(mcat[i][0]) for i in range(-8, 8)]
