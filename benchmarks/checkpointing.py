"""Checkpointing: memory against recomputation on deep chains (UDL problem 7.11).

    python benchmarks/checkpointing.py

For sin/exp chains of growing depth, the reverse-mode gradient without and
with checkpointing (segments of sqrt(n) forward-sweep instructions): the
optimized program's operations, the most values alive at once, the numba
tape's value slots (the memory the compiled code actually uses), and the
measured time of one evaluation (best of 20, after a warm-up).
"""

import time

import numpy as np

from symdiff import tape
from symdiff.api import build, compile_built
from symdiff.examples import sin_exp_chain


def best_time(fn, repeats=20):
    fn()
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def main():
    print(f"{'depth':>8}{'checkpoint':>12}{'ops':>10}{'peak live':>11}{'tape slots':>12}{'eval µs':>10}")
    for depth in (1_000, 10_000, 100_000):
        text = sin_exp_chain(depth)
        for checkpoint in (None, True):
            built = build("grad", [text], None, "reverse", checkpoint=checkpoint)
            program = built.program
            slots = len(tape.encode(program).init)
            fn = compile_built(built, "numba")
            seconds = best_time(lambda: fn(x=0.1))
            label = "sqrt(n)" if checkpoint else "none"
            print(f"{depth:>8,}{label:>12}{program.operation_count:>10,}{program.peak_live():>11,}"
                  f"{slots:>12,}{seconds * 1e6:>10.0f}", flush=True)
    np.seterr(all="ignore")


if __name__ == "__main__":
    main()
