"""The sparsity and quantization examples run (tiny epochs) and print their tables."""
import runpy
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _main(name):
    return runpy.run_path(str(ROOT / "examples" / name), run_name="example")["main"]


def test_sparse24_digits(capsys):
    accs = _main("sparse24_digits.py")(["--epochs", "2", "--hidden", "32"])
    out = capsys.readouterr().out
    for mode in ("dense", "dense, pruned 2:4", "2:4", "sparse-then-dense"):
        assert mode in accs and 0.5 < accs[mode] <= 1.0
        assert mode in out
    assert "2:4 steps" in out
    # 2 epochs x 45 batches; 70% of the steps sparse in sparse-then-dense
    assert " 90/90 " in out and " 63/90 " in out


def test_pruning_digits(capsys):
    res = _main("pruning_digits.py")(["--epochs", "2", "--hidden", "32", "--cycles", "2",
                                      "--finetune-epochs", "1", "--target", "0.8"])
    out = capsys.readouterr().out
    assert "layer L1" in out and "neurons L2" in out and "prune / fine-tune cycles" in out
    assert set(res["one_shot"]) == {0.5, 0.7, 0.8, 0.9, 0.95}
    assert [h["cycle"] for h in res["cycles"]] == [1, 2]
    assert res["cycles"][-1]["sparsity"] == pytest.approx(0.8, abs=1e-3)
    assert "global" in out


def test_quantization_digits(capsys):
    accs = _main("quantization_digits.py")(["--epochs", "2", "--hidden", "32",
                                            "--qat-epochs", "1", "--bits", "8", "2"])
    out = capsys.readouterr().out
    for label in ("float32", "PTQ W8 per-tensor asym", "PTQ W8 per-channel sym",
                  "PTQ W8A8 calibrated", "QAT W8A8 1 epochs", "QAT W2A8 1 epochs"):
        assert label in accs and label in out
    assert abs(accs["PTQ W8 per-channel sym"] - accs["float32"]) < 0.02
