"""Each command end to end on tiny settings in a temporary folder; bad arguments give one
line on stderr and a non-zero status; nothing is written outside --out."""
import csv
import json
import math
import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from minigrad.serialization import load

from .helpers import run_cli

FAST = ["--no-progress", "--seed", "0"]
TINY_TRAIN = ["--model", "mlp", "--epochs", "2", "--subset", "200", *FAST]


def files(folder):
    return sorted(p.name for p in Path(folder).iterdir())


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """Run in an empty folder, so that anything written outside --out shows up."""
    monkeypatch.chdir(tmp_path)
    return tmp_path


def only_out(workdir):
    assert files(workdir) == ["out"], "a command wrote outside --out"


# --------------------------------------------------------------------------- train
def test_train_writes_metrics_checkpoints_and_curves(workdir):
    status, out, err = run_cli("train", *TINY_TRAIN, "--out", "out", "--name", "mlp")
    assert status == 0, err
    run = workdir / "out" / "mlp"
    assert files(run) == ["best.npz", "curves.png", "last.npz", "metrics.csv", "metrics.json"]
    rows = list(csv.DictReader(open(run / "metrics.csv")))
    assert [int(r["epoch"]) for r in rows] == [1, 2]
    assert {"train_loss", "train_accuracy", "val_loss", "val_accuracy", "lr"} <= set(rows[0])
    doc = json.load(open(run / "metrics.json"))
    assert doc["config"]["model"] == "mlp" and len(doc["epochs"]) == 2
    assert 0.0 <= doc["test"]["test_accuracy"] <= 1.0
    assert "test accuracy" in out and "run folder" in out
    ckpt = load(run / "last.npz")
    assert ckpt["epoch"] == 2 and ckpt["extra"]["config"]["optimizer"] == "adam"
    only_out(workdir)


def test_train_default_name_does_not_overwrite(workdir):
    for _ in range(2):
        assert run_cli("train", *TINY_TRAIN, "--epochs", "1", "--out", "out")[0] == 0
    assert files(workdir / "out") == ["mlp-digits-adam-cosine-s0", "mlp-digits-adam-cosine-s0-2"]


@pytest.mark.parametrize("extra", [
    ["--model", "cnn", "--augment", "--clip", "1.0", "--optimizer", "sgd",
     "--schedule", "onecycle", "--lr", "0.05"],
    ["--model", "mobilenet-small", "--amp", "--clip", "1.0", "--optimizer", "adamw",
     "--schedule", "warmup-cosine", "--weight-decay", "0.01"],
    ["--model", "mlp", "--amp", "--optimizer", "sam", "--lr", "0.05"],
    ["--model", "cnn", "--amp"],
    ["--model", "cnn", "--amp", "bfloat16", "--optimizer", "momentum"],
    ["--model", "resnet-small", "--optimizer", "sophia", "--schedule", "step",
     "--batch-size", "64"],
])
def test_train_each_model_and_option(workdir, extra):
    status, out, err = run_cli("train", "--epochs", "1", "--subset", "96", *FAST, "--out", "out",
                               "--name", "r", "--patience", "3", *extra)
    assert status == 0, err
    assert "test accuracy" in out
    assert {"last.npz", "metrics.csv"} <= set(files(workdir / "out" / "r"))


@pytest.mark.parametrize("dataset", ["spirals", "moons", "regression"])
def test_train_synthetic_datasets(workdir, dataset):
    status, out, err = run_cli("train", "--dataset", dataset, "--model", "mlp", "--epochs", "2",
                               "--subset", "300", "--lr", "0.01", *FAST, "--out", "out")
    assert status == 0, err
    assert ("test MSE" if dataset == "regression" else "test accuracy") in out


def test_train_mnist_idx_folder(workdir):
    from minigrad.data import save_idx

    rng = np.random.default_rng(0)
    root = workdir / "mnist"
    root.mkdir()
    for prefix, n in (("train", 120), ("t10k", 40)):
        save_idx(root / f"{prefix}-images-idx3-ubyte.gz",
                 rng.integers(0, 256, (n, 28, 28)).astype(np.uint8))
        save_idx(root / f"{prefix}-labels-idx1-ubyte", rng.integers(0, 10, n).astype(np.uint8))
    status, out, err = run_cli("train", "--dataset", f"mnist:{root}", "--model", "cnn",
                               "--epochs", "1", *FAST, "--out", "out", "--name", "m")
    assert status == 0, err
    assert "mnist: 108 training" in out


def _weights(path):
    return {k: v.cpu().numpy() for k, v in load(path)["model"].items()}


def test_resume_is_bit_identical(workdir):
    common = ["train", "--model", "cnn", "--epochs", "3", "--subset", "160", "--augment",
              "--optimizer", "adamw", "--schedule", "cosine", *FAST, "--out", "out"]
    assert run_cli(*common, "--name", "full")[0] == 0
    status, out, _ = run_cli(*common, "--name", "part", "--stop-after", "1")
    assert status == 0 and "--resume" in out
    assert load(workdir / "out" / "part" / "last.npz")["epoch"] == 1
    status, out, err = run_cli("train", "--resume", "out/part/last.npz", "--no-progress",
                               "--out", "out")
    assert status == 0, err
    assert "resuming part" in out
    full, part = _weights("out/full/last.npz"), _weights("out/part/last.npz")
    assert full.keys() == part.keys()
    for k in full:
        assert np.array_equal(full[k], part[k]), k
    a = [{k: v for k, v in r.items() if k != "time"} for r in
         csv.DictReader(open("out/full/metrics.csv"))]
    b = [{k: v for k, v in r.items() if k != "time"} for r in
         csv.DictReader(open("out/part/metrics.csv"))]
    assert a == b
    only_out(workdir)


# --------------------------------------------------------------------------- mid-epoch resume
# 160 samples, 10% held out: 144 training samples, 5 steps of 32 per epoch, 10 steps in all
MID = ["train", "--model", "cnn", "--epochs", "2", "--subset", "160", "--augment",
       "--optimizer", "adamw", *FAST]


def _rows(path):
    return [{k: v for k, v in r.items() if k != "time"} for r in csv.DictReader(open(path))]


@pytest.fixture(scope="module")
def full_mid(tmp_path_factory):
    out = tmp_path_factory.mktemp("full")
    status, _, err = run_cli(*MID, "--out", out, "--name", "full")
    assert status == 0, err
    return out / "full"


def _same_as_full(full, run):
    a, b = _weights(full / "last.npz"), _weights(run / "last.npz")
    assert a.keys() == b.keys()
    for k in a:
        assert np.array_equal(a[k], b[k]), k
    assert load(full / "last.npz")["optimizer"]["state"].keys() == \
        load(run / "last.npz")["optimizer"]["state"].keys()
    for i, st in load(full / "last.npz")["optimizer"]["state"].items():
        for k, v in st.items():  # (state saved from a CUDA run loads onto the GPU)
            assert np.array_equal(np.asarray(_host(v)), np.asarray(
                _host(load(run / "last.npz")["optimizer"]["state"][i][k]))), (i, k)
    assert _rows(full / "metrics.csv") == _rows(run / "metrics.csv")
    assert json.load(open(full / "metrics.json"))["test"]["test_accuracy"] == \
        json.load(open(run / "metrics.json"))["test"]["test_accuracy"]


def test_stop_after_steps_then_resume_is_bit_identical(workdir, full_mid):
    status, out, err = run_cli(*MID, "--out", "out", "--name", "part", "--stop-after-steps", "7")
    assert status == 0, err
    assert "stopped after step 7 (--stop-after-steps)" in out
    assert "minigrad train --resume out/part/last.npz" in out
    ckpt = load(workdir / "out" / "part" / "last.npz")
    assert ckpt["global_step"] == 7 and ckpt["epoch"] == 1
    assert ckpt["epoch_progress"]["batch"] == 2
    assert not (workdir / "out" / "part" / "curves.png").exists()   # not finished yet
    status, out, err = run_cli("train", "--resume", "out/part", "--no-progress", "--out", "out")
    assert status == 0, err
    assert "resuming part from out/part/last.npz in epoch 2/2 after batch 2 of 5 (step 7)" \
        in out
    _same_as_full(full_mid, workdir / "out" / "part")
    only_out(workdir)


@pytest.mark.gpu
def test_gpu_dropout_run_resumes_bit_identically(workdir):
    """On CUDA the dropout masks come from the Philox stream, whose (seed, offset) state is
    in the checkpoint: a run stopped mid-epoch and resumed equals the uninterrupted one.
    The resume gives no --device: it must continue on the device the run trained on (it
    used to fall back to the CPU, which made this test fail on an H200)."""
    import minigrad as mg

    if not mg.cuda.is_available():
        pytest.skip("needs CuPy and a CUDA device")
    args = ["train", "--model", "mlp", "--epochs", "2", "--subset", "400", "--device", "cuda",
            *FAST, "--out", "out"]
    assert run_cli(*args, "--name", "full")[0] == 0
    # first: two uninterrupted runs agree (else a difference below is not the resume's)
    assert run_cli(*args, "--name", "again")[0] == 0
    a, b = _weights(workdir / "out" / "full" / "last.npz"), \
        _weights(workdir / "out" / "again" / "last.npz")
    differ = [k for k in a if not np.array_equal(a[k], b[k])]
    assert not differ, f"two uninterrupted CUDA runs differ in {differ}: not deterministic"
    status, _, err = run_cli(*args, "--name", "part", "--stop-after-steps", "13")
    assert status == 0, err
    # One step past the stop, resumed and uninterrupted: where a difference starts.
    assert run_cli(*args, "--name", "f14", "--stop-after-steps", "14")[0] == 0
    status, _, err = run_cli("train", "--resume", "out/part", "--no-progress", "--out", "out",
                             "--stop-after-steps", "1")
    assert status == 0, err
    f14, r14 = (load(workdir / "out" / n / "last.npz") for n in ("f14", "part"))
    differ = _differences(f14, r14)
    assert not differ, (f"after step 14 the resumed run differs in {differ[:12]}; rng "
                        f"{f14['rng'].get('cuda_offset')} vs {r14['rng'].get('cuda_offset')}")
    status, _, err = run_cli("train", "--resume", "out/part", "--no-progress", "--out", "out")
    assert status == 0, err
    _same_as_full(workdir / "out" / "full", workdir / "out" / "part")


def test_philox_dropout_run_resumes_bit_identically_on_the_cpu(workdir, monkeypatch):
    """The CUDA generator's (seed, offset) through a stop and a resume of the CLI, without a
    GPU: dropout masks drawn from the Philox stream (its NumPy twin) instead of the CPU
    generator: the Philox state logic of a resume, checked on every CI run
    (test_gpu_dropout_run_resumes_bit_identically is its twin on a GPU)."""
    from minigrad import random as R

    def bernoulli(shape, p, dtype=None, device="cpu"):
        g = R._cuda
        g._xp = np
        return (g.uniform(0.0, 1.0, size=shape, dtype=np.float32) < p).astype(R._float(dtype))

    monkeypatch.setattr(R, "bernoulli", bernoulli)
    args = ["train", "--model", "mlp", "--epochs", "2", "--subset", "400", *FAST, "--out", "out"]
    assert run_cli(*args, "--name", "full")[0] == 0
    assert run_cli(*args, "--name", "part", "--stop-after-steps", "13")[0] == 0
    assert load(workdir / "out" / "part" / "last.npz")["rng"]["cuda_offset"] > 0
    status, _, err = run_cli("train", "--resume", "out/part", "--no-progress", "--out", "out")
    assert status == 0, err
    full, part = (load(workdir / "out" / n / "last.npz") for n in ("full", "part"))
    assert _differences(full, part) == []
    assert full["rng"]["cuda_offset"] == part["rng"]["cuda_offset"] > 0


def _differences(a, b, prefix=""):
    """The keys (flattened, dotted) where two checkpoints differ, leaving out what may
    (wall-clock times, the history, the run's name and options under "extra")."""
    if isinstance(a, dict) and isinstance(b, dict):
        out = [] if a.keys() == b.keys() else [prefix + "<keys>"]
        for k in a.keys() & b.keys():
            if k not in ("time", "history", "callbacks", "extra"):
                out += _differences(a[k], b[k], f"{prefix}{k}.")
        return out
    if isinstance(a, (list, tuple)) and isinstance(b, (list, tuple)) and len(a) == len(b):
        return [d for i, (x, y) in enumerate(zip(a, b))
                for d in _differences(x, y, f"{prefix}{i}.")]
    a, b = _host(a), _host(b)
    try:
        same = np.array_equal(np.asarray(a), np.asarray(b))
    except (TypeError, ValueError):
        same = a == b
    return [] if same is True or same is np.True_ else [prefix.rstrip(".")]


def _host(x):
    """A tensor or a CuPy array as a NumPy array; anything else as it is."""
    if hasattr(x, "numpy"):
        return x.cpu().numpy()
    if type(x).__module__.startswith("cupy"):
        return x.get()
    return x


def _signal_at(patch, step, action):
    """Make the optimizer step number ``step`` of the run end with ``action()``."""
    from minigrad.train import Trainer

    orig = Trainer._step

    def patched(self, x, y):
        result = orig(self, x, y)
        if self.global_step + 1 == step:
            action()
        return result

    patch.setattr(Trainer, "_step", patched)


def test_sigterm_writes_a_checkpoint_and_resume_is_bit_identical(workdir, full_mid,
                                                                 monkeypatch):
    import signal

    with monkeypatch.context() as patch:
        _signal_at(patch, 6, lambda: os.kill(os.getpid(), signal.SIGTERM))
        status, out, err = run_cli(*MID, "--out", "out", "--name", "part")
    assert status == 128 + signal.SIGTERM, err
    assert "interrupted by SIGTERM; checkpoint written: out/part/last.npz" in out
    assert "training paused after step 6 (epoch 2, batch 1 of 5): SIGTERM received" in out
    assert signal.getsignal(signal.SIGTERM) == signal.SIG_DFL
    ckpt = load(workdir / "out" / "part" / "last.npz")
    assert ckpt["global_step"] == 6 and ckpt["epoch_progress"]["batch"] == 1
    status, out, err = run_cli("train", "--resume", "out/part", "--no-progress", "--out", "out")
    assert status == 0, err
    _same_as_full(full_mid, workdir / "out" / "part")
    only_out(workdir)


def test_checkpoint_every_steps_survives_a_crash(workdir, full_mid, monkeypatch):
    def crash():
        raise MemoryError("killed")

    with monkeypatch.context() as patch, pytest.raises(MemoryError):
        _signal_at(patch, 9, crash)
        run_cli(*MID, "--out", "out", "--name", "part", "--checkpoint-every-steps", "4")
    ckpt = load(workdir / "out" / "part" / "last.npz")
    assert ckpt["global_step"] == 8 and ckpt["epoch_progress"]["batch"] == 3
    assert ckpt["extra"]["config"]["checkpoint_every_steps"] == 4
    assert sorted(p.name for p in (workdir / "out" / "part").iterdir()) == \
        ["best.npz", "last.npz", "metrics.csv", "metrics.json"]   # no temporary file left
    status, out, err = run_cli("train", "--resume", "out/part", "--no-progress", "--out", "out")
    assert status == 0, err
    _same_as_full(full_mid, workdir / "out" / "part")


def test_resume_with_another_dataset_length_names_both(workdir):
    from minigrad.serialization import save

    assert run_cli("train", *TINY_TRAIN, "--out", "out", "--name", "x", "--stop-after-steps",
                   "3")[0] == 0
    path = workdir / "out" / "x" / "last.npz"
    state = load(path)
    state["extra"]["config"]["subset"] = 150      # as if the data had changed
    save(state, path)
    status, _, err = run_cli("train", "--resume", str(path), "--out", "out")
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "does not fit this run" in err
    assert "a dataset of 180 samples, but this loader has a dataset of 135 samples" in err


# --------------------------------------------------------------------------- analyses
def test_landscape_from_a_trained_checkpoint(workdir):
    assert run_cli("train", *TINY_TRAIN, "--out", "out", "--name", "m")[0] == 0
    status, out, err = run_cli("landscape", "--checkpoint", "out/m/best.npz", "--samples", "64",
                               "--points", "5", "--resolution", "3", "--power-iters", "4",
                               *FAST, "--out", "out")
    assert status == 0, err
    folder = workdir / "out" / "landscape-m"
    assert files(folder) == ["landscape.json", "landscape.png"]
    doc = json.load(open(folder / "landscape.json"))
    assert len(doc["loss_1d"]) == 5 and np.array(doc["loss_2d"]).shape == (3, 3)
    assert doc["sharpness"] > 0 and "sharpness" in out
    # the centre of the slices is the trained point itself
    assert doc["loss_1d"][2] == pytest.approx(doc["loss_2d"][1][1], rel=1e-6)
    only_out(workdir)


def test_compare_writes_table_json_and_plot(workdir):
    status, out, err = run_cli("compare", "--optimizers", "sgd,adam", "--schedules",
                               "constant,cosine", "--tasks", "digits-mlp,rosenbrock", "--seeds",
                               "1", "--budget-epochs", "1", "--subset", "150",
                               "--tune-trials", "1", *FAST, "--out", "out")
    assert status == 0, err
    folder = workdir / "out" / "compare"
    assert files(folder) == ["compare.json", "compare.md", "compare.png"]
    table = (folder / "compare.md").read_text()
    assert "### digits-mlp" in table and "### rosenbrock" in table and "| adam | cosine |" in table
    doc = json.load(open(folder / "compare.json"))
    assert len(doc["runs"]) == 2 * 2 * 2 * 2   # tasks × optimizers × schedules × settings
    assert len(doc["tuning"]) == 2 * 2 * 2
    only_out(workdir)


def test_init_study(workdir):
    status, out, err = run_cli("init-study", "--depth", "4", "--width", "16", "--batch", "32",
                               *FAST, "--out", "out")
    assert status == 0, err
    assert files(workdir / "out" / "init-study") == ["init_study.json", "init_study.md",
                                                     "init_study.png"]
    assert "| kaiming | relu |" in out


def test_trajectories(workdir):
    status, out, err = run_cli("trajectories", "--function", "rosenbrock", "--steps", "30",
                               "--optimizers", "adam,sgd", *FAST, "--out", "out")
    assert status == 0, err
    assert files(workdir / "out" / "trajectories") == ["trajectories-rosenbrock.md",
                                                       "trajectories-rosenbrock.png"]
    assert "| Adam | 30 |" in out


def test_trajectories_accept_the_train_optimizer_names(workdir):
    """`--optimizers lbfgs,sophia` (train's spelling) picks the suite's L-BFGS and
    Sophia-H; a name given twice runs once; an unknown one is named as typed."""
    status, out, err = run_cli("trajectories", "--function", "beale", "--steps", "5",
                               "--optimizers", "lbfgs,Sophia,sophia-h", *FAST, "--out", "out")
    assert status == 0, err
    rows = [line.split("|")[1].strip() for line in out.splitlines()
            if line.startswith("| ") and "steps" not in line]
    assert rows == ["L-BFGS", "Sophia-H"]
    status, _, err = run_cli("trajectories", "--function", "beale", "--optimizers",
                             "Adam,No-Such", *FAST, "--out", "out")
    assert status == 2 and "no 'No-Such' in the beale suite" in err


def test_gradcheck_command(workdir):
    status, out, err = run_cli("gradcheck", "--filter", "linear", "--second-order", *FAST,
                               "--out", "out")
    assert status == 0, err
    assert "| Linear | layer | pass | pass |" in out
    assert "0 failed" in out
    assert files(workdir / "out" / "gradcheck") == ["gradcheck.json", "gradcheck.md"]


# --------------------------------------------------------------------------- bad arguments
def _corrupt(path):
    path.write_bytes(b"this is not a checkpoint")
    return str(path)


def _truncated(tmp_path):
    assert run_cli("train", *TINY_TRAIN, "--epochs", "1", "--out", str(tmp_path / "t"),
                   "--name", "x")[0] == 0
    data = (tmp_path / "t" / "x" / "last.npz").read_bytes()
    path = tmp_path / "truncated.npz"
    path.write_bytes(data[: len(data) // 2])
    return str(path)


@pytest.mark.parametrize("argv", [
    ["train", "--optimizer", "adamm"],
    ["train", "--lr", "-0.1"],
    ["train", "--lr", "nan"],
    ["train", "--epochs", "0"],
    ["train", "--model", "vgg"],
    ["train", "--dataset", "cifar"],
    ["train", "--dataset", "mnist:/no/such/folder"],
    ["train", "--dataset", "spirals", "--model", "cnn"],
    ["train", "--resume", "no/such/checkpoint.npz"],
    ["train", "--checkpoint-every-steps", "0"],
    ["train", "--stop-after-steps", "-3"],
    ["train", "--amp", "float32"],
    ["train", "--device", "cuda"],
    ["train", "--model", "mlp", "--subset", "1"],  # nothing left once validation is held out
    ["train", "--subset", "2", "--val-fraction", "0.9"],
    ["train", "--val-fraction", "1"],
    ["train", "--label-smoothing", "1.5"],
    ["train", "--warmup-epochs", "2"],                 # needs --distributed
    ["train", "--patience", "2", "--val-fraction", "0"],  # nothing to watch
    ["train", "--no-such-option", "1"],
    ["landscape", "--checkpoint", "x.npz", "--points", "1"],
    ["landscape", "--checkpoint", "x.npz", "--resolution", "2"],
    ["landscape", "--checkpoint", "no/such/best.npz"],
    ["landscape"],
    ["compare", "--optimizers", "sgd,adamm"],
    ["compare", "--seeds", "-1"],
    ["compare", "--lr-range", "1,0.1"],
    ["init-study", "--initializers", "glorot"],
    ["trajectories", "--function", "himmelblau"],
    ["trajectories", "--optimizers", "nope"],
    ["gradcheck", "--filter", "no-such-op"],
    ["search", "--device", "tpu"],
    ["search", "--no-such-option"],
    ["no-such-command"],
    [],                                                # no command at all
])
def test_bad_arguments_give_one_clear_line(workdir, argv):
    if argv[-1:] == ["cuda"]:
        import minigrad as mg

        if mg.cuda.is_available():
            pytest.skip("a CUDA device is present")
    status, out, err = run_cli(*argv)
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1, err
    assert "error" in lines[0] and "Traceback" not in err
    assert not (workdir / "runs").exists() or not any((workdir / "runs").iterdir())


def test_amp_bfloat16_on_a_cupy_without_it_is_refused_up_front(workdir, monkeypatch):
    import minigrad.cli.train as train_cli
    from minigrad import _backend

    monkeypatch.setattr(train_cli, "check_device", lambda device: "cuda")  # as on a GPU
    monkeypatch.setattr(_backend, "cupy_has_bfloat16", lambda: False)  # CuPy < 14
    status, _, err = run_cli("train", "--amp", "bfloat16", "--device", "cuda")
    assert status == 2
    assert "--amp bfloat16: this CuPy has no bfloat16 arrays" in err
    assert "Traceback" not in err


@pytest.mark.parametrize("kind", ["corrupt", "truncated"])
@pytest.mark.parametrize("command", ["train", "landscape"])
def test_bad_checkpoint_files(tmp_path, kind, command):
    path = _corrupt(tmp_path / "bad.npz") if kind == "corrupt" else _truncated(tmp_path)
    flag = "--resume" if command == "train" else "--checkpoint"
    status, out, err = run_cli(command, flag, path, "--out", str(tmp_path / "o"))
    assert status == 2
    assert len(err.strip().splitlines()) == 1 and "not a valid checkpoint" in err
    assert "Traceback" not in err


def test_python_dash_m_help():
    proc = subprocess.run([sys.executable, "-m", "minigrad", "--help"], capture_output=True,
                          text=True, timeout=60)
    assert proc.returncode == 0
    for command in ("train", "compare", "landscape", "init-study", "trajectories", "gradcheck",
                    "search"):
        assert command in proc.stdout
        assert f"\n  minigrad {command}" in proc.stdout  # an example of each command


@pytest.mark.parametrize("command", ["train", "compare", "landscape", "init-study",
                                     "trajectories", "gradcheck", "search"])
def test_every_command_has_help_with_examples(command):
    status, out, _ = run_cli(command, "--help")
    assert status == 0
    assert "examples:" in out
    for option in ("--seed", "--device {cpu,cuda}", "--out", "--name", "--no-progress"):
        assert option in out
    assert "Every command takes --seed, --device and --out" in out


# --------------------------------------------------------------------------- MPI
MPIEXEC = shutil.which("mpiexec") or shutil.which("mpirun")


@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec on PATH")
def test_distributed_training_under_mpiexec(tmp_path):
    pytest.importorskip("mpi4py")
    proc = subprocess.run(
        [MPIEXEC, "-n", "2", sys.executable, "-m", "minigrad", "train", "--distributed",
         "--model", "mlp", "--epochs", "2", "--subset", "200", "--no-progress", "--out",
         str(tmp_path / "out"), "--name", "ddp"],
        capture_output=True, text=True, timeout=120, env=dict(os.environ, OMP_NUM_THREADS="1"))
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.count("test accuracy") == 1      # only rank 0 prints
    assert "on 2 ranks" in proc.stdout
    doc = json.load(open(tmp_path / "out" / "ddp" / "metrics.json"))
    assert doc["config"]["world_size"] == 2
    assert doc["config"]["effective_lr"] == pytest.approx(2 * doc["config"]["base_lr"])
    assert files(tmp_path / "out") == ["ddp"]


@pytest.mark.skipif(MPIEXEC is None, reason="no mpiexec on PATH")
def test_distributed_mid_epoch_resume_under_mpiexec(tmp_path):
    """Each rank resumes its own shard (DistributedSampler) at the saved step."""
    pytest.importorskip("mpi4py")
    env = dict(os.environ, OMP_NUM_THREADS="1", OPENBLAS_NUM_THREADS="1")
    out = str(tmp_path / "out")
    common = [MPIEXEC, "-n", "2", sys.executable, "-m", "minigrad", "train", "--no-progress",
              "--out", out]
    run = ["--distributed", "--model", "mlp", "--epochs", "2", "--subset", "200"]
    for argv in (run + ["--name", "full"], run + ["--name", "part", "--stop-after-steps", "4"],
                 ["--resume", os.path.join(out, "part"), "--lr", "0.5"]):
        proc = subprocess.run(common + argv, capture_output=True, text=True, timeout=120,
                              env=env)
        assert proc.returncode == 0, proc.stderr
    assert "after batch 1 of 3 (step 4)" in proc.stdout
    assert proc.stderr.count("note: ignoring --lr 0.5") == 1     # said by rank 0 alone
    full, part = _weights(tmp_path / "out/full/last.npz"), _weights(tmp_path / "out/part/last.npz")
    for k in full:
        assert np.array_equal(full[k], part[k]), k
    assert _rows(tmp_path / "out/full/metrics.csv") == _rows(tmp_path / "out/part/metrics.csv")


# --------------------------------------------------------------------------- audit fixes
def test_unrecognized_argument_is_reported_by_the_subcommand(workdir):
    status, _, err = run_cli("trajectories", "--lr", "0.1")
    assert status == 2
    assert err.strip() == ("minigrad trajectories: error: unrecognized arguments: --lr 0.1 "
                           "(see minigrad trajectories --help)")


def test_compare_subset_too_small_is_one_line(workdir):
    status, _, err = run_cli("compare", "--subset", "1", "--tasks", "digits-mlp", "--optimizers",
                             "adam", "--schedules", "constant", "--seeds", "1",
                             "--budget-epochs", "1", *FAST, "--out", "out")
    assert status == 2
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "--subset 1" in lines[0] and "none for training" in lines[0]
    assert not (workdir / "out").exists()                       # no empty output folder


@pytest.fixture
def tiny_run(workdir):
    assert run_cli("train", *TINY_TRAIN, "--epochs", "1", "--out", "out", "--name", "m")[0] == 0
    return workdir / "out" / "m"


def test_resume_of_a_checkpoint_with_another_model_is_one_line(workdir, tiny_run):
    from minigrad.serialization import save

    state = load(tiny_run / "last.npz")
    state["extra"]["config"]["model"] = "cnn"  # the weights are the MLP's
    save(state, workdir / "other.npz")
    state = load(tiny_run / "last.npz")
    del state["optimizer"]
    save(state, workdir / "no-optimizer.npz")
    for path, words in (("other.npz", "does not fit this run"),
                        ("no-optimizer.npz", "missing entry 'optimizer'")):
        status, _, err = run_cli("train", "--resume", path, *FAST, "--out", "out")
        assert status == 2
        lines = err.strip().splitlines()
        assert len(lines) == 1 and words in lines[0], err
    status, _, err = run_cli("landscape", "--checkpoint", "other.npz", *FAST, "--out", "out")
    assert status == 2 and len(err.strip().splitlines()) == 1
    assert "does not match its own model" in err


def test_resume_says_which_training_options_it_ignores(workdir, tiny_run):
    status, out, err = run_cli("train", "--resume", "out/m", "--epochs", "5", "--lr", "0.5",
                               *FAST, "--out", "out")
    assert status == 0, err
    assert "note: ignoring --lr 0.5, --epochs 5" in err and "epochs 1" in err
    assert "at epoch 1/1" in out  # the checkpoint's settings were kept
    status, _, err = run_cli("train", "--resume", "out/m", *TINY_TRAIN, "--epochs", "1",
                             "--out", "out")
    assert status == 0 and "ignoring" not in err  # the same settings: nothing to say


def test_resume_continues_on_the_device_the_run_trained_on(workdir, monkeypatch):
    """The checkpoint records the device; --resume without --device continues there (a
    CUDA run resumed on a machine without CUDA is refused, naming the way out), and
    --device moving the run elsewhere is said to end bit-identity."""
    import minigrad as mg
    from minigrad.serialization import save

    assert run_cli("train", *TINY_TRAIN, "--out", "out", "--name", "m",
                   "--stop-after", "1")[0] == 0
    state = load(workdir / "out" / "m" / "last.npz")
    assert state["extra"]["device"] == "cpu"
    status, _, err = run_cli("train", "--resume", "out/m", "--no-progress", "--out", "out",
                             "--stop-after-steps", "1")
    assert status == 0 and "note" not in err, err
    state["extra"]["device"] = "cuda"  # as if it had trained on a GPU: so do its tensors
    save(state, workdir / "gpu.npz")
    _tag_tensors_as_cuda(workdir / "gpu.npz")
    if not mg.cuda.is_available():  # loaded as saved, it needs a GPU; --resume reads it anyway
        with pytest.raises(Exception, match="CUDA device"):
            load(workdir / "gpu.npz")
    monkeypatch.setattr(mg.cuda, "is_available", lambda: False)
    status, _, err = run_cli("train", "--resume", "gpu.npz", "--no-progress", "--out", "out",
                             "--name", "g")
    assert status == 2 and len(err.strip().splitlines()) == 1, err
    assert "the run trained on cuda and no CUDA device is available" in err
    assert "add --device cpu" in err and not (workdir / "out" / "g").exists()
    status, out, err = run_cli("train", "--resume", "gpu.npz", "--device", "cpu",
                               "--no-progress", "--out", "out", "--name", "g")
    assert status == 0, err
    assert "note: continuing on cpu a run that trained on cuda" in err
    assert "not bit-identical" in err and "epoch   2/2" in out
    assert load(workdir / "out" / "g" / "last.npz")["extra"]["device"] == "cpu"


def _tag_tensors_as_cuda(path):
    """Mark every tensor of the checkpoint at ``path`` as saved from CUDA (what a GPU run
    writes), so that loading it as saved needs a GPU."""
    import json

    from minigrad.serialization import _META

    def tag(node):
        if isinstance(node, dict):
            if node.get("$tensor"):
                node["device"] = "cuda"
            for v in node.values():
                tag(v)
        elif isinstance(node, list):
            for v in node:
                tag(v)

    with np.load(path) as archive:
        arrays = {k: archive[k] for k in archive.files}
    meta = json.loads(str(arrays[_META]))
    tag(meta)
    arrays[_META] = np.array(json.dumps(meta))
    np.savez(path, **arrays)


def test_landscape_of_a_run_without_validation_uses_last_npz(workdir):
    assert run_cli("train", *TINY_TRAIN, "--epochs", "1", "--val-fraction", "0", "--out", "out",
                   "--name", "nv")[0] == 0
    assert not (workdir / "out" / "nv" / "best.npz").exists()
    status, out, err = run_cli("landscape", "--checkpoint", "out/nv", "--samples", "32",
                               "--points", "3", "--resolution", "3", "--power-iters", "0",
                               *FAST, "--out", "out")
    assert status == 0, err
    (workdir / "empty").mkdir()
    status, _, err = run_cli("landscape", "--checkpoint", "empty", *FAST, "--out", "out")
    assert status == 2 and "no checkpoint in empty (looked for best.npz or last.npz)" in err


def test_landscape_loss_at_the_weights_with_an_even_number_of_points(workdir, tiny_run):
    common = ["landscape", "--checkpoint", "out/m", "--samples", "32", "--resolution", "3",
              "--power-iters", "0", *FAST, "--out", "out"]
    centers = []
    for points in ("3", "4"):
        status, out, err = run_cli(*common, "--points", points, "--name", f"p{points}")
        assert status == 0, err
        centers.append(json.load(open(workdir / "out" / f"p{points}" / "landscape.json"))
                       ["loss_at_center"])
    assert centers[1] == pytest.approx(centers[0], rel=1e-6)  # α = 0 is not on the 4 points


def test_a_diverged_run_says_so_and_exits_1(workdir):
    """A NaN training loss stops the run; the test result is still reported, then one
    line on stderr with a hint, and exit status 1 (a script sees the failure)."""
    status, out, err = run_cli("train", "--model", "mlp", "--optimizer", "sgd", "--lr", "1e6",
                               "--epochs", "2", "--subset", "200", *FAST, "--out", "out")
    assert status == 1
    assert "test accuracy" in out and "the training loss is nan; stopping" in out
    assert err.strip().splitlines() == [
        "minigrad train: the training loss became nan in epoch 1; the run diverged: try a "
        "smaller --lr (it was 1e+06)"]


def test_lbfgs_in_the_cli_uses_a_line_search(workdir):
    """L-BFGS at PyTorch's lr 1 without a line search diverges on mini-batches; the CLI's
    recipe adds the strong-Wolfe line search, and the digits CNN then learns."""
    import minigrad as mg
    from minigrad.train.recipes import make_optimizer

    opt = make_optimizer("lbfgs", [mg.zeros(2, requires_grad=True)])
    assert opt.param_groups[0]["line_search_fn"] == "strong_wolfe"
    status, out, _ = run_cli("train", "--optimizer", "lbfgs", "--epochs", "2", "--subset",
                             "300", *FAST, "--out", "out")
    assert status == 0
    accuracy = float(out.split("test accuracy ")[1].split("%")[0])
    assert accuracy > 60.0


# --------------------------------------------------------------------------- CLI contract
@pytest.mark.parametrize("depth,layers", [(1, [1]), (2, [1, 2]), (3, [1, 2, 3]),
                                          (4, [1, 2, 4]), (5, [1, 3, 5]), (50, [1, 25, 50])])
def test_init_study_table_shows_each_layer_once(depth, layers):
    from minigrad.train.init_study import format_table

    results = {("kaiming", "relu"): {"activation_std": [float(k) for k in range(1, depth + 1)],
                                     "gradient_std": [-float(k) for k in range(1, depth + 1)]}}
    header, _, row = format_table(results, depth).splitlines()
    assert header == "| " + " | ".join(
        ["initializer", "activation", *(f"act std @{k}" for k in layers),
         *(f"grad std @{k}" for k in layers)]) + " |"
    assert row == "| " + " | ".join(
        ["kaiming", "relu", *(f"{k:.2e}" for k in layers), *(f"{-k:.2e}" for k in layers)]) \
        + " |"


def test_init_study_depth_3_from_the_command_line(workdir):
    status, out, err = run_cli("init-study", "--depth", "3", "--width", "8", "--batch", "8",
                               "--initializers", "kaiming", "--activations", "relu", *FAST,
                               "--out", "out")
    assert status == 0, err
    assert "| act std @1 | act std @2 | act std @3 | grad std @1 | grad std @2 | grad std @3 |" \
        in out


def test_bare_minigrad_asks_for_a_command():
    """As argparse's required subcommands: exit status 2 and one line naming them."""
    status, out, err = run_cli()
    assert status == 2 and out == ""
    assert err.strip() == ("minigrad: error: choose a command: train, compare, landscape, "
                           "init-study, trajectories, gradcheck, search (see minigrad --help)")


SEARCH_TINY = ["search", "--param", "lr", "--log-uniform", "1e-3,1e-1", "--trials", "2",
               "--epochs", "1", "--seed", "0", "--out", "out"]


@pytest.mark.parametrize("flag", ["--no-progress", "--quiet"])
def test_search_takes_the_common_no_progress_option(workdir, flag):
    """--no-progress hides the line per trial, as every command's progress; --quiet, its
    earlier name in docs/cli.md, still works (hidden from --help)."""
    status, out, err = run_cli(*SEARCH_TINY, flag, "--name", "s")
    assert status == 0, err
    assert "  trial " not in out and "| rank | trial | val_accuracy |" in out
    assert files(workdir / "out" / "s") == ["results.json", "results.md"]
    only_out(workdir)
    status, out, _ = run_cli("search", "--help")
    assert "--no-progress" in out and "--quiet" not in out


def test_search_device_is_checked_by_the_parser(workdir):
    status, _, err = run_cli("search", "--device", "tpu")
    assert status == 2
    assert err.strip() == ("minigrad search: error: argument --device: invalid choice: 'tpu' "
                           "(choose from 'cpu', 'cuda') (see minigrad search --help)")


def test_search_table_uses_one_number_format_per_column():
    from minigrad.search.results import SearchResult, Trial

    trials = [Trial(0, {"lr": 0.0188, "wd": 0.5}, 0.9, seconds=0.1),
              Trial(1, {"lr": 0.003464, "wd": 0.25}, 0.8, seconds=0.1),
              Trial(2, {"lr": 0.05, "wd": None}, math.nan, seconds=0.1)]
    rows = SearchResult(trials, mode="max", method="random",
                        metric_name="val_accuracy").to_markdown().splitlines()[2:]
    cells = [[c.strip() for c in row.strip("|").split("|")] for row in rows]
    assert [c[3] for c in cells] == ["1.880e-02", "3.464e-03", "5.000e-02"]  # lr: scientific
    assert [c[4] for c in cells] == ["0.5000", "0.2500", "-"]                # wd: fixed
    assert [c[2] for c in cells] == ["0.9000", "0.8000", "nan"]


def test_train_help_and_run_say_when_best_npz_is_written(workdir):
    _, out, _ = run_cli("train", "--help")
    assert "not written with --val-fraction 0" in " ".join(out.split())
    status, out, err = run_cli("train", *TINY_TRAIN, "--epochs", "1", "--val-fraction", "0",
                               "--out", "out", "--name", "nv")
    assert status == 0, err
    assert "no validation data (--val-fraction 0): no best.npz is written" in out
    assert files(workdir / "out" / "nv") == ["curves.png", "last.npz", "metrics.csv",
                                             "metrics.json"]


def test_train_counts_epochs_and_steps_in_the_singular_and_plural(workdir):
    status, out, err = run_cli("train", *TINY_TRAIN, "--epochs", "1", "--out", "out")
    assert status == 0, err
    assert ", 1 epoch of 6 steps;" in out


@pytest.mark.parametrize("argv,message", [
    (["--val-fraction", "1"],
     "minigrad train: error: argument --val-fraction: must be in [0, 1), got 1 "
     "(see minigrad train --help)"),
    (["--label-smoothing", "2"],
     "minigrad train: error: argument --label-smoothing: must be in [0, 1], got 2 "
     "(see minigrad train --help)"),
    (["--warmup-epochs", "1"],
     "minigrad train: error: --warmup-epochs needs --distributed: it is the warm-up from lr "
     "to lr x world size of the linear scaling rule, and one process has nothing to warm up "
     "(for a warm-up from 0 use --schedule warmup-cosine or onecycle)"),
])
def test_train_option_errors(workdir, argv, message):
    status, _, err = run_cli("train", *argv, "--out", "out")
    assert status == 2 and err.strip() == message
    assert not (workdir / "out").exists()
