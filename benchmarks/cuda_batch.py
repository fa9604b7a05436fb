"""GPU batch gradients: backend="cuda" against the CPU batch kernel, 10^7 samples.

    python benchmarks/cuda_batch.py            # prints a note and stops when there is no GPU

The toy network loss gradient in its 8 parameters; times include copying
the inputs to the device and the (8, N) result back, best of 5 after a
warm-up (compilation excluded).  The GPU result is checked against the CPU's.
"""

import argparse
import time

import numpy as np

import symdiff as sd
from symdiff.examples import TOY_NETWORK_LOSS, TOY_NETWORK_PARAMETERS


def best(fn, repeats=5):
    fn()
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        times.append(time.perf_counter() - start)
    return min(times)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10 ** 7)
    args = parser.parse_args()
    from numba import cuda
    if not cuda.is_available():
        print("no GPU here (numba.cuda.is_available() is False): nothing to measure")
        return
    rng = np.random.default_rng(0)
    p = dict(zip(TOY_NETWORK_PARAMETERS, rng.normal(scale=0.5, size=8)))
    x, y = rng.normal(size=args.n), rng.normal(size=args.n)
    tools = {
        "symdiff numba (CPU, 1 thread)": sd.grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS),
        "symdiff numba parallel=True (CPU)": sd.grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS,
                                                     parallel=True),
        "symdiff cuda (GPU, with transfers)": sd.grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS,
                                                      backend="cuda"),
    }
    reference = tools["symdiff numba (CPU, 1 thread)"](**p, x=x, y=y)
    print(f"toy network gradient, N = {args.n:,}")
    print(f"{'tool':<38}{'seconds':>10}{'speed-up':>10}")
    base = None
    for name, fn in tools.items():
        np.testing.assert_allclose(fn(**p, x=x, y=y), reference, rtol=1e-11, atol=1e-13)
        seconds = best(lambda: fn(**p, x=x, y=y))
        base = base or seconds
        print(f"{name:<38}{seconds:>10.4f}{base / seconds:>9.1f}x", flush=True)


if __name__ == "__main__":
    main()
