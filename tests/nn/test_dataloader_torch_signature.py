"""DataLoader takes its arguments in PyTorch's positional order (minigrad's own ``seed`` and
``device`` keyword-only after PyTorch's), accepts PyTorch's worker options, and refuses
what PyTorch refuses."""
import inspect
import multiprocessing

import numpy as np
import pytest

import minigrad as mg
from minigrad.data import DataLoader, TensorDataset

_TORCH_ORDER = ["dataset", "batch_size", "shuffle", "sampler", "batch_sampler", "num_workers",
                "collate_fn", "pin_memory", "drop_last", "timeout", "worker_init_fn",
                "multiprocessing_context", "generator"]
_TORCH_KEYWORD_ONLY = ["prefetch_factor", "persistent_workers", "pin_memory_device",
                       "in_order"]


def _ds(n=5):
    return TensorDataset(mg.arange(n))


def _labels(loader):
    return [x.tolist() for (x,) in loader]


def test_positional_parameters_are_pytorchs():
    params = list(inspect.signature(DataLoader).parameters.values())
    positional = [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD]
    keyword_only = [p.name for p in params if p.kind is p.KEYWORD_ONLY]
    assert positional == _TORCH_ORDER
    assert keyword_only == _TORCH_KEYWORD_ONLY + ["seed", "device"]
    defaults = {p.name: p.default for p in params if p.default is not p.empty}
    assert defaults == dict(batch_size=1, shuffle=None, sampler=None, batch_sampler=None,
                            num_workers=0, collate_fn=None, pin_memory=False,
                            drop_last=False, timeout=0, worker_init_fn=None,
                            multiprocessing_context=None, generator=None,
                            prefetch_factor=None, persistent_workers=False,
                            pin_memory_device="", in_order=True, seed=None, device=None)


def test_sampler_fourth_positional():
    """The audit's call: the 4th positional argument is the sampler (it was drop_last)."""
    assert _labels(DataLoader(_ds(), 2, False, [4, 3, 2, 1, 0])) == [[4, 3], [2, 1], [0]]


def test_every_positional_slot():
    tag = lambda samples: ("collated", [int(s[0].item()) for s in samples])  # noqa: E731
    loader = DataLoader(_ds(), 2, None, [4, 3, 2, 1, 0], None, 0, tag, False, True, 0, None,
                        None, None)
    assert list(loader) == [("collated", [4, 3]), ("collated", [2, 1])]  # drop_last
    # batch_sampler fifth
    assert _labels(DataLoader(_ds(), 1, False, None, [[0, 4], [2]])) == [[0, 4], [2]]
    # generator thirteenth: the same orders as the same generator by keyword
    by_position = DataLoader(_ds(8), 3, True, None, None, 0, None, False, False, 0, None,
                             None, np.random.default_rng(7))
    by_keyword = DataLoader(_ds(8), 3, True, generator=np.random.default_rng(7))
    assert _labels(by_position) == _labels(by_keyword)


def test_seed_and_device_are_keyword_only():
    with pytest.raises(TypeError):
        DataLoader(_ds(), 2, True, None, None, 0, None, False, False, 0, None, None, None, 3)
    assert _labels(DataLoader(_ds(), 2, True, seed=3)) == \
        _labels(DataLoader(_ds(), 2, True, seed=3))


def test_worker_options_accepted_and_change_nothing():
    calls = []
    plain = _labels(DataLoader(_ds(7), 3, True, seed=1))
    loader = DataLoader(_ds(7), 3, True, num_workers=2, timeout=1.5,
                        worker_init_fn=calls.append, multiprocessing_context="spawn",
                        prefetch_factor=4, persistent_workers=True, pin_memory=True,
                        pin_memory_device="cuda", in_order=False, seed=1)
    assert _labels(loader) == plain
    assert calls == []   # never called: there are no worker processes
    assert (loader.timeout, loader.prefetch_factor, loader.persistent_workers,
            loader.in_order, loader.worker_init_fn) == (1.5, 4, True, False, calls.append)
    assert DataLoader(_ds(), num_workers=1).prefetch_factor == 2   # PyTorch's default
    assert DataLoader(_ds()).prefetch_factor is None
    ctx = multiprocessing.get_context("spawn")
    assert DataLoader(_ds(), num_workers=1, multiprocessing_context=ctx) \
        .multiprocessing_context is ctx


@pytest.mark.parametrize("kwargs, error, message", [
    (dict(timeout=-1), ValueError, "timeout option should be non-negative"),
    (dict(num_workers=1, timeout=-0.5), ValueError, "timeout option should be non-negative"),
    (dict(prefetch_factor=2), ValueError, "prefetch_factor option could only be specified"),
    (dict(prefetch_factor=0), ValueError, "prefetch_factor option could only be specified"),
    (dict(num_workers=1, prefetch_factor=-1), ValueError,
     "prefetch_factor option should be non-negative"),
    (dict(persistent_workers=True), ValueError,
     "persistent_workers option needs num_workers > 0"),
    (dict(multiprocessing_context="spawn"), ValueError,
     r"multiprocessing_context can only be used with multi-process loading \(num_workers > "
     r"0\), but got num_workers=0"),
    (dict(num_workers=1, multiprocessing_context="bogus"), ValueError,
     "should specify a valid start method in"),
    (dict(num_workers=1, multiprocessing_context=3), TypeError,
     "should be a valid context object or a string"),
    (dict(num_workers=-1), ValueError, "num_workers option should be non-negative"),
])
def test_refused_as_pytorch_refuses(kwargs, error, message):
    with pytest.raises(error, match=message):
        DataLoader(_ds(), **kwargs)


_CASES = [
    dict(timeout=-1), dict(num_workers=1, timeout=-0.5), dict(prefetch_factor=2),
    dict(prefetch_factor=0), dict(num_workers=1, prefetch_factor=-1),
    dict(persistent_workers=True), dict(multiprocessing_context="spawn"),
    dict(num_workers=1, multiprocessing_context="bogus"),
    dict(num_workers=1, multiprocessing_context=3), dict(num_workers=-1),
    dict(timeout=0.5), dict(num_workers=1, prefetch_factor=0), dict(in_order=False),
    dict(pin_memory_device="cuda"), dict(worker_init_fn=print),
    dict(num_workers=1, persistent_workers=True, multiprocessing_context="fork"),
]


def test_signature_and_checks_against_torch():
    torch = pytest.importorskip("torch")
    tdata = torch.utils.data
    params = inspect.signature(tdata.DataLoader).parameters.values()
    assert [p.name for p in params if p.kind is p.POSITIONAL_OR_KEYWORD] == _TORCH_ORDER
    assert [p.name for p in params if p.kind is p.KEYWORD_ONLY] == _TORCH_KEYWORD_ONLY
    tds = tdata.TensorDataset(torch.arange(5))
    for kwargs in _CASES:
        outcome = []
        for make, ds in ((DataLoader, _ds()), (tdata.DataLoader, tds)):
            try:
                make(ds, **kwargs)
                outcome.append(None)
            except (ValueError, TypeError) as e:
                outcome.append(type(e))
        assert outcome[0] == outcome[1], kwargs


def test_positional_batches_against_torch():
    torch = pytest.importorskip("torch")
    tdata = torch.utils.data
    theirs = tdata.DataLoader(tdata.TensorDataset(torch.arange(5)), 2, False, [4, 3, 2, 1, 0],
                              None, 0, None, False, True)
    mine = DataLoader(_ds(), 2, False, [4, 3, 2, 1, 0], None, 0, None, False, True)
    assert _labels(mine) == [x.tolist() for (x,) in theirs] == [[4, 3], [2, 1]]
