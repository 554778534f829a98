"""Data-parallel training under ``mpiexec -n 2`` (CI installs mpi4py and MPICH)."""
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

import minigrad as mg

pytest.importorskip("mpi4py")
MPIEXEC = shutil.which("mpiexec") or shutil.which("mpirun")
pytestmark = pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec on PATH")

from . import mpi_worker as W  # noqa: E402

WORKER = Path(__file__).with_name("mpi_worker.py")


def run(scenario, tmp_path, timeout=90):
    proc = subprocess.run([MPIEXEC, "-n", "2", sys.executable, str(WORKER), scenario,
                           str(tmp_path)], capture_output=True, text=True, timeout=timeout)
    return proc


def params(tmp_path, rank):
    with np.load(tmp_path / f"params{rank}.npz") as f:
        return [f[k] for k in sorted(f.files, key=lambda k: int(k.split("_")[1]))]


def test_two_ranks_match_single_process_on_the_global_batch(tmp_path):
    proc = run("sync", tmp_path)
    assert proc.returncode == 0, proc.stderr
    p0, p1 = params(tmp_path, 0), params(tmp_path, 1)
    for a, b in zip(p0, p1):
        np.testing.assert_array_equal(a, b)  # identical copies on both ranks
    # one process, the whole batch of 16, rank 0's initial weights
    net = W.TinyNet(seed=0)
    W.train(net, 5, rank=0, world=1)
    for a, p in zip(p0, net.parameters()):
        np.testing.assert_allclose(a, p.numpy(), rtol=1e-12, atol=1e-14)
    # rank 0's buffer was broadcast
    np.testing.assert_array_equal(p1[-1], W.TinyNet(seed=0).count.numpy())


def test_one_all_reduce_per_bucket(tmp_path):
    proc = run("sync", tmp_path)
    assert proc.returncode == 0, proc.stderr
    calls = np.load(tmp_path / "calls0.npy")
    buckets = np.load(tmp_path / "buckets0.npy")
    # 40 float64 per bucket: W2 (7) + b1 (7) fit together, W1 (35) needs its own
    assert buckets.tolist() == [2, 1]
    assert len(calls) == 5 * len(buckets)
    assert sorted(calls[:2].tolist()) == [14, 35]


@pytest.mark.parametrize("scheme", ["fp16", "topk"])
def test_compressed_training_still_converges(tmp_path, scheme):
    proc = run(scheme, tmp_path)
    assert proc.returncode == 0, proc.stderr
    losses = np.load(tmp_path / "losses0.npy")
    assert losses[-10:].mean() < 0.25 * losses[:10].mean()
    for a, b in zip(params(tmp_path, 0), params(tmp_path, 1)):
        np.testing.assert_array_equal(a, b)


def test_bounded_staleness(tmp_path):
    proc = run("stale", tmp_path)
    assert proc.returncode == 0, proc.stderr
    applied = np.load(tmp_path / "applied0.npy").tolist()
    assert applied == [-1, -1, 0, 1, 2, 3]  # step t applies the average of step t − 2
    for a, b in zip(params(tmp_path, 0), params(tmp_path, 1)):
        np.testing.assert_array_equal(a, b)


def test_a_failing_rank_ends_the_job(tmp_path):
    proc = run("raise", tmp_path, timeout=60)
    assert proc.returncode != 0
    assert "planted failure on rank 1" in proc.stderr + proc.stdout


def test_sync_batchnorm_over_two_uneven_ranks_equals_batchnorm_on_the_global_batch(tmp_path):
    """Rank 0 holds 3 samples and rank 1 holds 5. Their outputs and input gradients,
    concatenated, equal one BatchNorm over all 8 samples. The parameter gradients summed
    over the ranks equal the global ones, and so do the running statistics."""
    proc = run("syncbn", tmp_path)
    assert proc.returncode == 0, proc.stderr
    ranks = [dict(np.load(tmp_path / f"syncbn{r}.npz")) for r in range(2)]
    x, w, _ = W.syncbn_data()
    bn = mg.nn.BatchNorm1d(3, momentum=0.3).to(dtype=mg.float64)
    with mg.no_grad():
        bn.weight.copy_(np.array([1.5, -0.5, 2.0]))
        bn.bias.copy_(np.array([0.1, 0.2, 0.3]))
    y, gx = W.syncbn_step(bn, x, w)
    np.testing.assert_allclose(np.concatenate([r["y"] for r in ranks]), y, rtol=1e-12)
    np.testing.assert_allclose(np.concatenate([r["gx"] for r in ranks]), gx, rtol=1e-10,
                               atol=1e-12)
    np.testing.assert_allclose(ranks[0]["gw"] + ranks[1]["gw"], bn.weight.grad.numpy(),
                               rtol=1e-12)
    np.testing.assert_allclose(ranks[0]["gb"] + ranks[1]["gb"], bn.bias.grad.numpy(),
                               rtol=1e-12)
    for r in ranks:
        np.testing.assert_allclose(r["rm"], bn.running_mean.numpy(), rtol=1e-12)
        np.testing.assert_allclose(r["rv"], bn.running_var.numpy(), rtol=1e-12)
