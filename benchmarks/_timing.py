"""The one timing helper of the CPU benchmarks: median wall time after a warm-up."""
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
