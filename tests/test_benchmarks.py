"""The GPU benchmark scripts run where no GPU is: gpu_training.py end to end on the CPU at
tiny sizes (every section, every code path but CuPy's), gpu_kernels.py refusing with a
clear message. GPU time is scarce; a script that breaks on its first line must not cost it.
"""
import json
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad import _backend
from tests.stand_in import run_on_stand_in

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "benchmarks"


def _run(script, *args):
    return subprocess.run([sys.executable, str(BENCH / script), *args], capture_output=True,
                          text=True, timeout=600, cwd=ROOT)


def test_gpu_training_runs_every_section_on_the_cpu(tmp_path):
    proc = _run("gpu_training.py", "--device", "cpu", "--tiny", "--out", str(tmp_path))
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (result,) = tmp_path.glob("gpu-training-*.json")
    meta = json.loads(result.read_text())
    errors = [(r["name"], r.get("traceback")) for r in meta["results"] if "error" in r]
    assert not errors, errors
    rows = {r["name"]: r for r in meta["results"] if "minigrad_ms" in r}
    expected = {"fused Adam step, 0.004M params in 4 tensors",
                "digits MLP 64-256-256-10, batch 32 fp32",
                "digits MLP 64-256-256-10, batch 32 fp16 autocast",
                "small ResNet 32x32, batch 2 fp32", "small ResNet 32x32, batch 2 fp16 autocast"}
    assert set(rows) == expected
    for row in rows.values():
        assert row["minigrad_ms"] > 0
    # autocast reached the model: the fp16 rows' logits are float16
    assert rows["small ResNet 32x32, batch 2 fp16 autocast"]["minigrad_logits_dtype"] == \
        "float16"
    assert meta["tiny"] is True and meta["sizes"]["resnet_batch"] == 2
    table = result.with_suffix(".md").read_text()
    assert "| resnet | small ResNet 32x32, batch 2 fp32 |" in table


def test_results_file_never_overwrites_an_earlier_run(tmp_path):
    sys.path.insert(0, str(BENCH))
    try:
        from _gpu_report import Recorder, fmt, results_path
    finally:
        sys.path.remove(str(BENCH))
    first = results_path(tmp_path, "gpu-x")
    assert first.name == "gpu-x.json"
    first.write_text("{}")
    assert results_path(tmp_path, "gpu-x").name == "gpu-x-2.json"
    report = Recorder()
    assert report.guarded("s", "boom", lambda: 1 / 0) is None
    assert report.guarded("s", "fine", lambda: 3) == 3
    assert report.failed() == ["boom"]
    assert "ZeroDivisionError" in report.results[0]["error"]
    assert (fmt(None), fmt(True), fmt(False), fmt(0.123456), fmt(7)) == \
        ("", "yes", "NO", "0.123", "7")


@pytest.mark.skipif(_backend.cuda_available(), reason="a GPU is present: the script runs")
def test_gpu_kernels_says_why_it_cannot_run(tmp_path):
    proc = _run("gpu_kernels.py", "--out", str(tmp_path))
    assert proc.returncode == 2
    assert "CUDA device" in proc.stderr and "Traceback" not in proc.stderr


def test_paired_ratios_are_per_round_speedups_with_quartiles():
    sys.path.insert(0, str(BENCH))
    try:
        import gpu_kernels
    finally:
        sys.path.remove(str(BENCH))
    # the second series is 1.3x faster every round while the clock drifts by 10 %
    first = [1.0, 1.1, 1.0, 1.1, 1.05]
    med, q1, q3 = gpu_kernels.paired_ratios([first, [t / 1.3 for t in first]])[0]
    assert med == pytest.approx(1.3) and q1 == pytest.approx(1.3) and q3 == pytest.approx(1.3)
    (one,) = gpu_kernels.paired_ratios([[2.0], [1.0]])
    assert one == (2.0, 2.0, 2.0)


def test_interleaved_hgemm_row_reaches_the_markdown_table(tmp_path, monkeypatch):
    """A new row kind must not cost a GPU run its tables (stops 24-25 lost the 2:4 section's
    to a KeyError in the writer): the hgemm tiling-vs-default row, from a stubbed timer to
    the markdown line."""
    sys.path.insert(0, str(BENCH))
    try:
        import gpu_kernels
    finally:
        sys.path.remove(str(BENCH))
    monkeypatch.setattr(gpu_kernels, "time_interleaved",
                        lambda fns, **kw: ([0.30, 0.25], [(1.2, 1.15, 1.25)]))
    monkeypatch.setattr(gpu_kernels.REPORT, "results", [])
    monkeypatch.setattr(gpu_kernels, "RESULTS", gpu_kernels.REPORT.results)
    gpu_kernels.hgemm_paired("4096x4096x4096", [(None, None)], None,
                             dict(BM=192, BN=256, WARPS_N=4, FRAG_BUFS=1))
    (row,) = gpu_kernels.REPORT.results
    assert row["speedup_vs_default"] == 1.2 and row["default_ms"] == 0.30
    meta = dict(date="2026-11-27", device=dict(name="test", compute_capability="90",
                                               sm_count=132),
                versions={}, limits={}, results=gpu_kernels.REPORT.results)
    gpu_kernels.write_markdown(tmp_path / "t.md", meta)
    line = [ln for ln in (tmp_path / "t.md").read_text().splitlines() if "interleaved" in ln]
    assert len(line) == 1
    assert "BM=192 BN=256 WARPS_N=4 FRAG_BUFS=1 vs default" in line[0]
    assert "1.2x the default's speed (quartiles 1.15-1.25; default 0.3 ms)" in line[0]


def test_profile_kinds_sort_kernel_names():
    sys.path.insert(0, str(BENCH))
    try:
        import profile_gpu_step as P
    finally:
        sys.path.remove(str(BENCH))
    assert P.kernel_kind("cupy_copy__float32_float32") == "copy"
    assert P.kernel_kind("sm80_xmma_gemm_f32f32_f32f32") == "gemm/conv"
    assert P.kernel_kind("im2col_f32") == "im2col/col2im"
    assert P.kernel_kind("bn_sums1_f32") == "batch norm"
    assert P.kernel_kind("void cudnn::bn_fw_tr_1C11_kernel_NCHW<float>") == "batch norm"
    assert P.kernel_kind("cupy_add__float32") == "other"


_STAND_IN_SPMV = r"""
import json
import os
import sys
import numpy as np
import cupy
import fakecupy_plugin  # noqa: F401
import gpu_kernels as gk

gk.cp = cupy                      # main() binds it on a GPU
gk._spin = lambda us=150: None    # the GPU clock spin before each timing: nothing to wait for
gk.spmv_case("banded 3k rows float32", "banded", 3000, 16, np.float32, 1)
meta = dict(date="2026-11-29", device=dict(name="stand-in", compute_capability="80",
                                           sm_count=4), versions={}, limits={},
            results=gk.RESULTS)
gk.write_markdown(__import__("pathlib").Path(sys.argv[1]), meta)
print(json.dumps(gk.RESULTS))
"""


def test_the_spmv_section_runs_on_the_cupy_stand_in(tmp_path):
    """gpu_kernels.py's SpMV section, every kernel and schedule it times, end to end on the
    CuPy stand-in (tests/fakecupy: the kernels run by their own CUDA text on the host, CUDA
    events by the host clock) at 3000 rows, through the markdown writer: code that only a
    GPU session ran must not first fail there (stop 37's plan rows were tried this way)."""
    out = run_on_stand_in(_STAND_IN_SPMV, str(tmp_path / "t.md"), timeout=600)
    rows = json.loads(out.strip().splitlines()[-1])
    assert [r for r in rows if "error" in r] == []
    names = [r["name"].removeprefix("banded 3k rows float32 ") for r in rows]
    assert names[:3] == ["floor (values + columns streamed, x gathered, no rows)", "vector",
                         "merge"], names
    assert {"stream", "stream nnz=512", "stream nnz=2048", "vector R=2 pipe=1"} <= set(names)
    for r in rows:
        assert r["rel_err"] < 1e-6 and r["time_ms"] > 0, r
        if "auto_method" in r:  # a kernel's row: timed with its plan and without
            assert r["time_without_plan_ms"] > 0 and r["nnz"] > 40_000, r
    table = (tmp_path / "t.md").read_text()
    assert table.count("| spmv | banded 3k rows float32 ") == len(rows)
    assert "ms without a plan" in table
