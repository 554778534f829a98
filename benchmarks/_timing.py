"""The timing helpers of the benchmarks: median wall time after a warm-up (CPU), and
wall-clock over blocks of calls ended by a device synchronization (GPU: the host's queued
work counted once, its overlap with the GPU not double counted)."""
import statistics
import time


def median_time(fn, repeats=30, warmup=5):
    """Median seconds per call of ``fn()`` over ``repeats`` calls, after ``warmup`` calls."""
    for _ in range(warmup):
        fn()
    times = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return statistics.median(times)


def block_ms(step, sync, reps):
    """Wall-clock ms per ``step()`` over one block of ``reps`` calls ended by ``sync()``."""
    t0 = time.perf_counter()
    for _ in range(reps):
        step()
    sync()
    return (time.perf_counter() - t0) / reps * 1e3


def median_block_ms(step, sync, reps, warmup, blocks):
    """Median of :func:`block_ms` over ``blocks`` blocks, after ``warmup`` calls and a
    ``sync()``."""
    for _ in range(warmup):
        step()
    sync()
    return statistics.median([block_ms(step, sync, reps) for _ in range(blocks)])
