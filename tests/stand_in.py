"""Code run on the CuPy stand-in (tests/fakecupy) in a subprocess: the stand-in takes the
name ``cupy``, which the test process may hold already (or need as the real one)."""
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_on_stand_in(code: str, *argv: str, timeout: float = 300) -> str:
    """``python -c code *argv`` with tests/fakecupy, the repository and benchmarks/ first on
    the path, from the repository; its standard output. Fails the calling test, with the
    end of both outputs, unless it exits with 0."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        [str(ROOT / "tests" / "fakecupy"), str(ROOT), str(ROOT / "benchmarks"),
         os.environ.get("PYTHONPATH", "")])}
    out = subprocess.run([sys.executable, "-c", code, *argv], capture_output=True, text=True,
                         env=env, cwd=ROOT, timeout=timeout)
    assert out.returncode == 0, out.stdout[-2000:] + out.stderr[-4000:]
    return out.stdout
