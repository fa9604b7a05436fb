"""GPU batch gradients: backend="cuda" against the CPU batch kernel, 10^7 samples.

    python benchmarks/cuda_batch.py            # on a machine with an NVIDIA GPU
    python benchmarks/cuda_batch.py --compile  # any machine with the CUDA toolkit (NVVM, ptxas)

The toy network loss gradient in its 8 parameters, best of 5 after a warm-up
(compilation excluded): on the CPU, on the GPU with numpy arrays (the times
include copying the inputs to the device and the (8, N) result back), and on
the GPU with the data on it (device arrays in and out).  Each result is checked
against the one-thread CPU kernel's.

``--compile`` (and a run without a GPU) compiles the kernels for an H100 (sm_90)
without one: NVVM's seconds, the PTX's size, and what ptxas says of the machine
code (registers a thread, spills, and so how many threads an SM can hold).
"""

import argparse
import os
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


def compile_table(cc=(9, 0), threads=256):
    """Compile the kernels for compute capability ``cc`` with no GPU: one row each."""
    from numba.cuda.cudadrv import nvvm
    from symdiff.api import build
    from symdiff.cuda_backend import assemble, compile_for
    from symdiff.examples import rosenbrock, sin_exp_chain
    if not nvvm.is_available():
        print("no NVVM here (the CUDA toolkit's libnvvm): nothing can be compiled for a GPU")
        return
    rows = [("toy network grad", TOY_NETWORK_LOSS, TOY_NETWORK_PARAMETERS)]
    rows += [(f"Rosenbrock n={n} grad", rosenbrock(n), None) for n in (20, 60)]
    rows += [("sin/exp chain depth 100 grad", sin_exp_chain(100), None)]
    print(f"CUDA kernels compiled for sm_{cc[0]}{cc[1]} without a GPU; {threads} threads a block")
    print(f"{'formula':<30}{'mode':<9}{'statements':>11}{'NVVM s':>8}{'PTX KB':>8}"
          f"{'registers':>10}{'spills B':>9}{'threads/SM':>11}")
    unassembled = None
    for label, formula, wrt in rows:
        for mode in ("reverse", "forward"):
            program = build("grad", [formula], wrt, mode).program
            start = time.perf_counter()
            ptx = compile_for(program, cc)
            seconds = time.perf_counter() - start
            try:
                info = assemble(ptx, cc)
            except FileNotFoundError as e:
                info, unassembled = None, str(e)
            if info is None:
                registers = spills = resident = "-"
            else:
                # registers go to warps in units of 256 (8 a thread); an SM has 65,536 and 2,048 threads
                per_block = -(-info["registers"] // 8) * 8 * threads
                registers, spills = info["registers"], info["spill_bytes"]
                resident = min(65536 // per_block, 2048 // threads) * threads
            print(f"{label:<30}{mode:<9}{len(program.body):>11}{seconds:>8.2f}{len(ptx) / 1024:>8.0f}"
                  f"{registers:>10}{spills:>9}{resident:>11}", flush=True)
    if unassembled:
        print(f"registers not known: {unassembled}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10 ** 7)
    parser.add_argument("--compile", action="store_true",
                        help="compile the kernels for an H100 (sm_90) and report; no GPU needed")
    args = parser.parse_args()
    from numba import cuda
    if args.compile or not cuda.is_available():
        if not args.compile:
            print("no GPU here (numba.cuda.is_available() is False): nothing to time\n")
        compile_table()
        return
    rng = np.random.default_rng(0)
    p = dict(zip(TOY_NETWORK_PARAMETERS, rng.normal(scale=0.5, size=8)))
    x, y = rng.normal(size=args.n), rng.normal(size=args.n)
    one = sd.grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS)
    cores = sd.grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS, parallel=True)
    gpu = sd.grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS, backend="cuda")
    dx, dy = cuda.to_device(x), cuda.to_device(y)

    def on_device():           # inputs already on the GPU, the (8, N) result left there
        out = gpu(**p, x=dx, y=dy)
        cuda.synchronize()
        return out
    runs = {
        "symdiff numba (CPU, 1 thread)": lambda: one(**p, x=x, y=y),
        f"symdiff numba parallel=True ({os.cpu_count()} CPUs)": lambda: cores(**p, x=x, y=y),
        "symdiff cuda (GPU, with transfers)": lambda: gpu(**p, x=x, y=y),
        "symdiff cuda (GPU, data on the GPU)": on_device,
    }
    reference = one(**p, x=x, y=y)
    try:
        device = cuda.get_current_device().name
    except AttributeError:      # NUMBA_ENABLE_CUDASIM=1: the script's own check, not a timing
        device = "numba's CUDA simulator"
    print(f"toy network gradient, N = {args.n:,}, on {device.decode() if isinstance(device, bytes) else device}")
    print(f"{'tool':<40}{'seconds':>10}{'speed-up':>10}")
    base = None
    for name, run in runs.items():
        result = run()
        result = result if isinstance(result, np.ndarray) else result.copy_to_host()
        np.testing.assert_allclose(result, reference, rtol=1e-11, atol=1e-13)
        seconds = best(run)
        base = base or seconds
        print(f"{name:<40}{seconds:>10.4f}{base / seconds:>9.1f}x", flush=True)


if __name__ == "__main__":
    main()
