"""The package imports silently, without a GPU, and finds its kernels from a checkout."""
import subprocess
import sys


def test_import_is_silent_and_loads_no_gpu_library():
    code = ("import sys, minigrad, minigrad.kernels; "
            "print(sorted(m for m in ('cupy', 'numba.cuda') if m in sys.modules))")
    out = subprocess.run([sys.executable, "-W", "error", "-c", code], capture_output=True,
                         text=True, check=True)
    assert out.stdout.strip() == "[]" and out.stderr == ""


def test_kernels_subpackage_resolves():
    import minigrad.kernels
    from minigrad.kernels import reference

    assert reference.__name__ == "minigrad.kernels.reference"
    assert callable(minigrad.kernels.hgemm)
