"""What the GPU benchmarks share: recording results, surviving a failing case, describing
the device and library versions, and naming the results file.

``benchmarks/gpu_kernels.py`` and ``benchmarks/gpu_training.py`` each time their work in
their own way (CUDA events around one kernel; wall-clock over blocks of whole training
steps), but record and report through this module.
"""
from __future__ import annotations

import platform
import traceback
from pathlib import Path

import numpy as np


class Recorder:
    """A list of result rows. ``record`` prints a row as it is measured; ``guarded`` runs
    one measurement and records its exception instead of stopping the run, so that one
    bug does not lose all the other numbers. ``cleanup()`` (optional) runs after every
    guarded call, failed or not (a device synchronization, freeing memory pools)."""

    def __init__(self, cleanup=None):
        self.results: list[dict] = []
        self.cleanup = cleanup

    def record(self, section, name, **fields):
        entry = dict(section=section, name=name, **fields)
        self.results.append(entry)
        shown = {k: (float(f"{v:.4g}") if isinstance(v, float) else v)
                 for k, v in fields.items() if k != "traceback"}
        print(f"[{section}] {name}: {shown}", flush=True)
        return entry

    def guarded(self, section, name, fn, *args, **kwargs):
        try:
            return fn(*args, **kwargs)
        except Exception as exc:  # noqa: BLE001 -- one failure must not lose the rest
            self.record(section, name, error=f"{type(exc).__name__}: {exc}",
                        traceback=traceback.format_exc(limit=8))
            return None
        finally:
            if self.cleanup is not None:
                try:
                    self.cleanup()
                except Exception:  # noqa: BLE001 -- a broken context must not hide the row
                    pass

    def failed(self):
        return [r["name"] for r in self.results if "error" in r]


def torch_or_none():
    """torch when it imports (a reference beside minigrad: cuSPARSELt, PyTorch's kernels,
    the versions), else None: the rows that need it are left out."""
    try:
        import torch
    except Exception:  # noqa: BLE001 -- torch is optional on the GPU machine
        return None
    return torch


def device_info(cp):
    """Name, compute capability, SM count and memory of the current CUDA device;
    ``cp=None`` describes a CPU smoke run."""
    if cp is None:
        return dict(name=f"{platform.processor() or 'cpu'} (smoke run)",
                    compute_capability="-", sm_count=0)
    dev = cp.cuda.Device()
    props = cp.cuda.runtime.getDeviceProperties(dev.id)
    name = props["name"].decode() if isinstance(props["name"], bytes) else props["name"]
    return dict(name=name, compute_capability=dev.compute_capability,
                sm_count=dev.attributes["MultiProcessorCount"],
                memory_GiB=round(props["totalGlobalMem"] / 2**30, 1))


def versions(cp, torch=None):
    """Python, NumPy, CuPy and CUDA versions (CuPy's and torch's when given)."""
    v = dict(python=platform.python_version(), numpy=np.__version__)
    if cp is not None:
        v.update(cupy=cp.__version__, cuda_runtime=cp.cuda.runtime.runtimeGetVersion(),
                 cuda_driver=cp.cuda.runtime.driverGetVersion())
    if torch is not None:
        v.update(torch=torch.__version__, torch_cuda=torch.version.cuda)
    return v


def markdown_header(title, meta):
    """The first lines of a results table: ``# title, date`` and the device and versions."""
    d = meta["device"]
    return [f"# {title}, {meta['date']}", "",
            f"Device: {d['name']} (sm_{d['compute_capability']}, {d['sm_count']} SMs). "
            "Versions: " + ", ".join(f"{k} {v}" for k, v in meta["versions"].items()) + ".",
            ""]


def fmt(v, spec=".3g"):
    """A table cell: blank for None, yes/NO for booleans, ``spec`` for floats."""
    if v is None:
        return ""
    if isinstance(v, bool):
        return "yes" if v else "NO"
    if isinstance(v, float):
        return format(v, spec)
    return str(v)


def results_path(out: Path, stem: str) -> Path:
    """``out/stem.json``, or ``out/stem-2.json``, ... when that exists: never overwrite an
    earlier run of the same day."""
    path = out / f"{stem}.json"
    i = 2
    while path.exists():
        path = out / f"{stem}-{i}.json"
        i += 1
    return path
