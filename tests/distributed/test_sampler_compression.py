"""DistributedSampler shards and the compression schemes, in one process."""
import numpy as np
import pytest

from minigrad.distributed import DistributedSampler, FP16Compression, TopKCompression
from minigrad.distributed.ddp import _buckets


class OneRank:
    size = 1

    @staticmethod
    def all_reduce(a):
        return a

    @staticmethod
    def all_gather(a):
        return a[None]


@pytest.mark.parametrize("n, world, drop_last", [(10, 3, False), (10, 3, True), (8, 2, False)])
def test_shards_are_disjoint_and_cover(n, world, drop_last):
    shards = [list(DistributedSampler(n, world, r, seed=3, drop_last=drop_last))
              for r in range(world)]
    assert len({len(s) for s in shards}) == 1
    flat = sum(shards, [])
    if drop_last:
        assert len(set(flat)) == len(flat) == (n // world) * world
    else:
        assert set(flat) == set(range(n))  # everything covered, the pad repeats a few


def test_reshuffled_each_epoch_same_on_every_rank():
    a = DistributedSampler(100, 2, 0, seed=1)
    b = DistributedSampler(100, 2, 1, seed=1)
    first = list(a)
    a.set_epoch(1)
    b.set_epoch(1)
    assert list(a) != first
    assert not set(a) & set(b)


def test_sampler_validates_rank():
    with pytest.raises(ValueError, match="rank 2"):
        DistributedSampler(10, 2, 2)


def test_topk_error_feedback_loses_nothing():
    """Over many steps the sum of what is sent equals the sum of the gradients minus the
    residual still held: Σ sent = Σ g − e."""
    rng = np.random.default_rng(0)
    comp = TopKCompression(ratio=0.2)
    sent, total = np.zeros(50), np.zeros(50)
    for _ in range(30):
        g = rng.standard_normal(50)
        total += g
        out = comp.reduce(g.copy(), OneRank(), key=0)
        assert np.count_nonzero(out) <= 10
        sent += out
    np.testing.assert_allclose(sent + comp.residual[0], total, rtol=1e-12, atol=1e-12)


def test_topk_sends_the_largest():
    comp = TopKCompression(ratio=0.25)
    g = np.array([0.1, -5.0, 0.2, 3.0, 0.0, -0.3, 0.05, 0.01])
    out = comp.reduce(g.copy(), OneRank(), key="b")
    np.testing.assert_array_equal(np.nonzero(out)[0], [1, 3])


def test_fp16_compression_rounds_to_half():
    g = np.array([1.0 + 2**-12, 3.0])
    out = FP16Compression().reduce(g, OneRank())
    np.testing.assert_array_equal(out, [1.0, 3.0])


def test_bad_compression_arguments():
    with pytest.raises(ValueError, match="ratio"):
        TopKCompression(0)


def test_buckets_respect_cap_and_reverse_order():
    import minigrad as mg
    ps = [mg.zeros(n, dtype=mg.float64, requires_grad=True) for n in (4, 4, 10, 2)]
    b = _buckets(ps, cap_bytes=8 * 8)
    assert [[p.shape[0] for p in bucket] for bucket in b] == [[2], [10], [4, 4]]
