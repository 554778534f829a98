"""``minigrad search`` end to end on tiny settings, and its errors on bad arguments."""
import argparse
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from minigrad.cli.common import CLIError
from minigrad.search import cli

ROOT = Path(__file__).resolve().parents[2]


def _parse(argv):
    parser = argparse.ArgumentParser(prog="minigrad")
    sub = parser.add_subparsers(dest="command", required=True)
    cli.add_parser(sub)
    return parser.parse_args(["search", *argv])


def _run(argv, out):
    return cli.run(_parse([*argv, "--out", str(out), "--quiet"]))


def test_search_end_to_end(tmp_path, monkeypatch, capsys):
    monkeypatch.chdir(tmp_path)
    argv = ["--param", "lr", "--log-uniform", "1e-3,1e-1", "--choice", "act=relu,tanh",
            "--set", "width=32", "--trials", "4", "--epochs", "1", "--name", "lr"]
    assert _run(argv, tmp_path / "out") == 0
    printed = capsys.readouterr().out
    assert "| rank | trial | val_accuracy |" in printed
    assert "test accuracy of the best config" in printed
    assert sorted(os.listdir(tmp_path)) == ["out"]                 # nothing outside --out
    folder = tmp_path / "out" / "lr"
    assert sorted(os.listdir(folder)) == ["results.json", "results.md"]
    data = json.loads((folder / "results.json").read_text())
    assert data["method"] == "random" and len(data["trials"]) == 4
    assert all(t["config"]["width"] == 32 for t in data["trials"])
    assert {t["config"]["activation"] for t in data["trials"]} <= {"relu", "tanh"}
    assert all(1e-3 <= t["config"]["lr"] <= 1e-1 for t in data["trials"])
    assert 0 < data["test_accuracy_of_best"] <= 1
    assert data["args"]["seed"] == 0


def test_seed_is_honoured(tmp_path):
    def configs(seed, name):
        _run(["--param", "lr", "--log-uniform", "1e-3,1e-1", "--trials", "3", "--epochs", "1",
              "--seed", str(seed), "--name", name], tmp_path)
        data = json.loads((tmp_path / name / "results.json").read_text())
        return [(t["config"], t["metric"]) for t in data["trials"]]

    assert configs(1, "a") == configs(1, "b") != configs(2, "c")


@pytest.mark.parametrize("extra", [
    ["--method", "grid", "--trials", "3"],
    ["--method", "evolutionary", "--trials", "5"],
    ["--method", "bayesian", "--trials", "5", "--kernel", "rbf"],
    ["--method", "random", "--trials", "9", "--halving", "--epochs", "3"],
    ["--method", "bayesian", "--trials", "4", "--halving", "--epochs", "3", "--eta", "2"],
    ["--arch", "--trials", "3", "--set", "optimizer=adam-hd"],
])
def test_every_method(tmp_path, extra, capsys):
    argv = ["--param", "lr", "--log-uniform", "1e-3,1e-1", "--epochs", "1", *extra]
    assert _run(argv, tmp_path) == 0
    (folder,) = tmp_path.iterdir()
    data = json.loads((folder / "results.json").read_text())
    assert data["best"]["status"] == "done"
    if "--halving" in extra:
        assert {t["status"] for t in data["trials"]} == {"done", "stopped"}
    if "--arch" in extra:
        assert {"depth", "width", "activation", "norm", "dropout"} <= set(data["best"]["config"])


BAD = [
    (["--log-uniform", "1e-4,1e-1"], "does not follow a --param"),
    (["--param", "lr"], "--param lr has no distribution"),
    (["--param", "lr", "--param", "width", "--int", "8,16"], "--param lr has no distribution"),
    (["--param", "speed", "--uniform", "0,1"], "unknown training option 'speed'"),
    (["--param", "lr", "--log-uniform", "0,1e-1"], "both bounds must be > 0"),
    (["--param", "lr", "--log-uniform", "1e-1,1e-4"], "needs low < high"),
    (["--param", "lr", "--log-uniform", "1e-4"], "needs LO,HI"),
    (["--param", "lr", "--uniform", "a,b"], "needs two numbers"),
    (["--param", "width", "--int", "8.5,16"], "integer bounds"),
    (["--param", "lr", "--uniform", "0,1", "--log-uniform", "lr=1e-3,1e-1"],
     "two distributions"),
    (["--choice", "=relu"], "does not follow a --param"),
    (["--set", "lr"], "--set needs NAME=VALUE"),
    (["--set", "optimizer=adagrad"], "optimizer must be one of"),
    (["--param", "lr", "--uniform", "0,1", "--set", "lr=0.1"], "both searched and fixed"),
    (["--param", "dropout", "--uniform", "0,1.5"], "dropout must be in [0, 1)"),
    (["--trials", "0"], "--trials must be a positive integer"),
    (["--epochs", "-1"], "--epochs must be a positive integer"),
    (["--eta", "1"], "--eta must be a number > 1"),
    (["--halving", "--param", "epochs", "--int", "1,5"], "epochs are the budget"),
    (["--name", "../elsewhere"], "--name must be a plain folder name"),
]


@pytest.mark.parametrize("argv,message", BAD)
def test_bad_arguments_exit_with_one_clear_line(tmp_path, argv, message):
    with pytest.raises(CLIError) as info:
        _run(argv, tmp_path)
    text = str(info.value)
    assert message in text and "\n" not in text
    assert not any(tmp_path.iterdir())                            # nothing written


def test_bad_arguments_through_the_minigrad_command(tmp_path, capsys):
    """As every subcommand: "minigrad search: error: ..." on stderr, exit status 2."""
    from minigrad.cli import main

    assert main(["search", "--set", "lr=0.1", "--out", str(tmp_path), "--quiet"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err == ["minigrad search: error: nothing to search: --set fixes lr, which is "
                   "searched when no --param is given; add --param NAME with its "
                   "distribution, or --arch"]
    assert main(["search", "--param", "lr", "--log-uniform", "1e-3,1", "--set", "lr=-1",
                 "--out", str(tmp_path), "--quiet"]) == 2
    assert "'lr' is both searched and fixed" in capsys.readouterr().err
    assert main(["search", "--param", "width", "--int", "8,16", "--set", "lr=-1",
                 "--out", str(tmp_path), "--quiet"]) == 2
    assert "lr" in capsys.readouterr().err
    assert not any(tmp_path.iterdir())


def test_bad_arguments_from_the_shell(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "minigrad.search", "--param", "lr",
                           "--out", str(tmp_path)], capture_output=True, text=True,
                          cwd=ROOT, timeout=60)
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        "minigrad search: error: --param lr has no distribution (add --log-uniform LO,HI, "
        "--uniform, --int, --log-int or --choice after it)"]
