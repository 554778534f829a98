"""The distributed examples and the benchmark run end to end on tiny settings."""
import os
import runpy
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_fedavg_beats_a_single_client(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["fedavg_digits.py", "--rounds", "6"])
    runpy.run_path(str(ROOT / "examples" / "fedavg_digits.py"), run_name="__main__")
    lines = capsys.readouterr().out.strip().splitlines()
    fedavg = float(lines[-3].split()[-1])
    alone = float(lines[-1].split()[-1])
    assert fedavg > alone + 0.2  # averaging across non-identical shards learns all classes


@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="no mpiexec on PATH")
def test_ddp_example_under_two_ranks():
    pytest.importorskip("mpi4py")
    out = subprocess.run(["mpiexec", "-n", "2", sys.executable,
                          str(ROOT / "examples" / "ddp_digits.py"), "--epochs", "5"],
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    lines = out.stdout.strip().splitlines()
    assert len(lines) == 1  # only rank 0 prints
    assert "ranks 2" in lines[0] and float(lines[0].split()[-1]) > 0.85


@pytest.mark.skipif(shutil.which("mpiexec") is None, reason="no mpiexec on PATH")
def test_data_parallel_benchmark_prints_efficiency():
    pytest.importorskip("mpi4py")
    out = subprocess.run([sys.executable, str(ROOT / "benchmarks" / "data_parallel.py"),
                          "--steps", "10", "--batch", "32"], capture_output=True, text=True,
                         timeout=120, env=dict(os.environ))
    assert out.returncode == 0, out.stderr
    rows = out.stdout.strip().splitlines()[-2:]
    assert [int(r.split()[0]) for r in rows] == [1, 2]
