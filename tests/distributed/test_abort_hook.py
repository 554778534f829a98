"""The excepthook that ``minigrad.distributed.init`` installs under MPI, without MPI: an
uncaught exception on one rank is written in one piece, its message on the first line (what
mpiexec still forwards once the job is aborting), then the rank aborts the whole job."""
import sys

from minigrad.distributed import comm as C


class FakeComm:
    def __init__(self):
        self.aborted = []

    def Get_rank(self):
        return 1

    def Abort(self, code):
        self.aborted.append(code)


def test_hook_writes_the_message_first_in_one_piece_then_aborts(monkeypatch):
    writes, previous = [], []
    monkeypatch.setattr(sys, "excepthook", lambda *a: previous.append(a))
    monkeypatch.setattr(sys, "stderr", type("Err", (), {"write": writes.append,
                                                        "flush": lambda self: None})())
    comm = FakeComm()
    C._install_abort_hook(comm)
    try:
        raise RuntimeError("planted failure on rank 1")
    except RuntimeError:
        sys.excepthook(*sys.exc_info())
    assert len(writes) == 1
    first, *rest = writes[0].splitlines()
    assert first == ("[rank 1] uncaught RuntimeError: planted failure on rank 1; "
                     "aborting the job")
    assert rest[0].startswith("Traceback") and "raise RuntimeError" in writes[0]
    assert comm.aborted == [1]
    assert len(previous) == 1 and previous[0][0] is RuntimeError
