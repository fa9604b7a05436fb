"""Timing shared by the benchmark scripts (imported from the folder they run in)."""

import math
import time


def per_call(fn, repeats=5, budget=0.2):
    """Best seconds per call of ``fn()``: after a warm-up call, ``repeats`` runs of as many
    calls as fill about ``budget`` seconds in all."""
    fn()
    calls, start = 0, time.perf_counter()
    while time.perf_counter() - start < 0.02:
        fn()
        calls += 1
    number = max(1, int(calls * budget / 0.02 / repeats))
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(number):
            fn()
        best = min(best, (time.perf_counter() - start) / number)
    return best
