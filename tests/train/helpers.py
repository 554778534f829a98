"""Run the command line in-process and capture what it prints."""
import contextlib
import io

from minigrad.cli import main


def run_cli(*argv):
    """(exit status, stdout, stderr) of ``minigrad *argv``."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        try:
            status = main([str(a) for a in argv])
        except SystemExit as e:  # argparse errors and --help
            status = e.code if isinstance(e.code, int) else 1
    return status, out.getvalue(), err.getvalue()
