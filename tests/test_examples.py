"""The README's example and the example scripts run and print what they promise."""
import re
import runpy
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_readme_example_prints_falling_loss(capsys):
    text = (ROOT / "README.md").read_text(encoding="utf-8")
    code = re.search(r"## A 20-line example\n\n```python\n(.*?)```", text, re.S).group(1)
    assert len(code.strip().splitlines()) <= 21
    exec(compile(code, "README example", "exec"), {})
    lines = capsys.readouterr().out.split()
    assert lines[-1] == "True"
    losses = [float(v) for v in lines[1:-1:2]]
    assert losses[-1] < 0.05 < losses[0]
    # the numbers quoted under the example are the ones it prints
    for step, value in zip(lines[0:-1:2], lines[1:-1:2]):
        assert f"`{step} {value}`" in text


def test_raw_ops_regression_example(monkeypatch, capsys):
    monkeypatch.setattr(sys, "argv", ["raw_ops_regression.py", "--steps", "500"])
    runpy.run_path(str(ROOT / "examples" / "raw_ops_regression.py"), run_name="__main__")
    out = capsys.readouterr().out.strip().splitlines()
    first, last = float(out[0].split()[-1]), float(out[-1].split()[-1])
    assert last < 0.02 < first


def test_amp_digits_example(capsys):
    """float16 autocast + GradScaler ends within one point of float32, and the printed
    scale trajectory is PyTorch's rule: double after 50 clean steps, halve on a skip."""
    mod = runpy.run_path(str(ROOT / "examples" / "amp_digits.py"))
    acc32, acc16, skipped, scales = mod["main"](["--no-progress"])
    assert acc32 > 0.95 and abs(acc16 - acc32) <= 0.01
    assert skipped, "20 epochs overflow at least once (the docstring shows step 390)"
    want, scale, clean = [2.0 ** 16], 2.0 ** 16, 0
    for step in range(1, len(scales)):
        if step in skipped:
            scale, clean = scale / 2, 0
        else:
            clean += 1
            if clean == 50:
                scale, clean = scale * 2, 0
        want.append(scale)
    assert scales == want
    out = capsys.readouterr().out
    assert f"{len(skipped)} skipped for inf/NaN gradients" in out
    assert f"step {skipped[0]}: scale" in out


def test_every_example_refuses_a_bad_count_or_rate(monkeypatch, capsys):
    """A negative count or rate is one argparse line and exit status 2, not a traceback
    from deep inside the script (they used to crash with IndexError, UnboundLocalError...)."""
    import pytest

    checked = 0
    for path in sorted((ROOT / "examples").glob("*.py")):
        text = path.read_text(encoding="utf-8")
        flag = next((f for f in ("--epochs", "--steps", "--rounds", "--iterations", "--lr")
                     if f'"{f}"' in text), None)
        if flag is None:
            continue
        monkeypatch.setattr(sys, "argv", [path.name, flag, "-1"])
        with pytest.raises(SystemExit) as info:
            runpy.run_path(str(path), run_name="__main__")
        assert info.value.code == 2, path.name
        err = capsys.readouterr().err.strip().splitlines()
        assert err[-1].startswith(f"{path.name}: error: argument {flag}: must be"), path.name
        checked += 1
    assert checked >= 15


def test_vae_example_beats_the_independent_pixels_baseline(capsys):
    mod = runpy.run_path(str(ROOT / "examples" / "vae_digits.py"))
    history, held_out, baseline = mod["main"](["--epochs", "15"])
    assert history[-1] < history[0] - 8
    assert held_out < baseline - 2.5          # the 2-D code carries information
    assert "held-out -ELBO: VAE" in capsys.readouterr().out


def test_lstm_sine_example_beats_the_naive_forecast(capsys):
    mod = runpy.run_path(str(ROOT / "examples" / "lstm_sine.py"))
    losses, model_mse, naive_mse = mod["main"](["--steps", "150"])
    assert losses[-1] < losses[0] / 50
    assert model_mse < naive_mse / 10
    assert "held-out mse: LSTM" in capsys.readouterr().out


def test_custom_function_example(capsys):
    """The hand-written backward passes gradcheck and gradgradcheck, the slipped one fails
    with a report, and the custom op trains."""
    mod = runpy.run_path(str(ROOT / "examples" / "custom_function.py"))
    bad_passed, final_loss = mod["main"](steps=300)
    out = capsys.readouterr().out
    assert "gradcheck(SiLU): True" in out and "gradgradcheck(SiLU): True" in out
    assert not bad_passed and "gradcheck failed" in out
    assert final_loss < 0.01


def test_gradcam_example(capsys):
    """Module hooks give Grad-CAM maps that pass a deletion test: blanking the pixels the
    map ranks highest hurts the prediction more than blanking random ones."""
    mod = runpy.run_path(str(ROOT / "examples" / "gradcam_digits.py"))
    accuracy, cam_drop, random_drop = mod["main"](epochs=6, seed=0, show=1)
    assert accuracy > 0.9 and cam_drop > 1.5 * random_drop
    assert "predicted" in capsys.readouterr().out
