"""Batch gradient speed: the toy network loss over 10^6 samples, symdiff and its peers.

    python benchmarks/batch_gradient.py            # N = 10^6
    python benchmarks/batch_gradient.py -n 100000

Gradient of UDL chapter 7's toy network loss in its eight parameters, one
value of the parameters and N samples (x, y), float64, on the CPU, all in
one process.  Each tool's result is checked against the hand-written loop
before it is timed.  Times are the best of several repeats after a warm-up
call (compilation excluded); first-call (compile) times are printed too.
Peers that are not installed are skipped with a note: SymEngine
(`pip install symengine`), JAX (`pip install jax`).

Columns: "cores" is CPU time over wall time while timing (JAX's XLA runs its
loop on several threads; symdiff uses one core unless parallel=True); "vs
hand" is time over the hand-written loop's; "vs symdiff" is time over symdiff
reverse mode's (serial): how many times faster symdiff is.
"""

import argparse
import math
import os
import time

import numpy as np

from symdiff.examples import TOY_NETWORK_LOSS as FORMULA
from symdiff.examples import TOY_NETWORK_PARAMETERS as PARAMS


def best_time(fn, repeats):
    """(best wall seconds, cores used = CPU time / wall time over all repeats)."""
    best = math.inf
    cpu_start, wall_start = time.process_time(), time.perf_counter()
    for _ in range(repeats):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    cores = (time.process_time() - cpu_start) / (time.perf_counter() - wall_start)
    return best, cores


def hand_written_numba():
    """Reverse mode by hand, one fused loop: the speed a careful Numba user gets."""
    import numba

    @numba.njit(error_model="numpy")
    def grad(b0, w0, b1, w1, b2, w2, b3, w3, x, y, out):
        for i in range(x.shape[0]):
            z0 = b0 + w0 * x[i]
            h0 = math.sin(z0)
            z1 = b1 + w1 * h0
            h1 = math.exp(z1)
            z2 = b2 + w2 * h1
            h2 = math.cos(z2)
            r = 2.0 * (b3 + w3 * h2 - y[i])
            out[6, i] = r
            out[7, i] = r * h2
            d2 = -r * w3 * math.sin(z2)
            out[4, i] = d2
            out[5, i] = d2 * h1
            d1 = d2 * w2 * h1
            out[2, i] = d1
            out[3, i] = d1 * h0
            d0 = d1 * w1 * math.cos(z0)
            out[0, i] = d0
            out[1, i] = d0 * x[i]

    def run(p, x, y):
        out = np.empty((8, x.shape[0]))
        grad(*p, x, y, out)
        return out
    return run


def symdiff_tool(mode, parallel=False):
    import symdiff as sd
    fn = sd.grad(FORMULA, wrt=PARAMS, mode=mode, parallel=parallel)

    def run(p, x, y):
        return fn(*p, x, y)
    return run


def _sympy_gradient():
    """(arguments, gradient expressions) by SymPy's diff, for the SymPy-based peers."""
    import sympy
    import symdiff as sd
    expr = sd.parse(FORMULA)
    symbols = {s.name: s for s in expr.free_symbols}
    args = [symbols[n] for n in PARAMS + ["x", "y"]]
    return args, [sympy.diff(expr, symbols[n]) for n in PARAMS]


def sympy_lambdify():
    import sympy
    args, gradient = _sympy_gradient()
    f = sympy.lambdify(args, gradient, modules="numpy", cse=True)

    def run(p, x, y):
        return np.array([np.broadcast_to(g, x.shape) for g in f(*p, x, y)])
    return run


def symengine_llvm():
    import symengine
    args, gradient = _sympy_gradient()
    f = symengine.Lambdify(args, gradient, backend="llvm", cse=True)

    def run(p, x, y):
        n = x.shape[0]
        inputs = np.empty((n, 10))
        inputs[:, :8] = p
        inputs[:, 8] = x
        inputs[:, 9] = y
        return f(inputs).T
    return run


def jax_vmap_grad():
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def loss(p, x, y):
        b0, w0, b1, w1, b2, w2, b3, w3 = p
        return (b3 + w3 * jnp.cos(b2 + w2 * jnp.exp(b1 + w1 * jnp.sin(b0 + w0 * x))) - y) ** 2
    g = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))

    def run(p, x, y):
        return np.asarray(g(jnp.asarray(p), x, y)).T
    return run


TOOLS = [
    ("hand-written Numba reverse loop", hand_written_numba),
    ("symdiff numba reverse", lambda: symdiff_tool("reverse")),
    ("symdiff numba forward", lambda: symdiff_tool("forward")),
    ("symdiff numba reverse, parallel=True", lambda: symdiff_tool("reverse", parallel=True)),
    ("SymPy diff + lambdify(cse=True)", sympy_lambdify),
    ("SymEngine Lambdify (LLVM)", symengine_llvm),
    ("JAX jit(vmap(grad)) CPU", jax_vmap_grad),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10 ** 6, help="samples (default 10^6)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rng = np.random.default_rng(0)
    p = rng.normal(scale=0.5, size=8)
    x = rng.normal(size=args.n)
    y = rng.normal(size=args.n)

    print(f"Toy network loss gradient, 8 parameters, N = {args.n:,} samples, float64, CPU "
          f"({os.cpu_count()} cores)")
    print(f"{'tool':<40}{'1st call s':>11}{'seconds':>10}{'ns/sample':>11}{'cores':>7}{'vs hand':>9}"
          f"{'vs symdiff':>12}")
    reference = None
    hand_seconds = symdiff_seconds = None
    for name, make in TOOLS:
        try:
            start = time.perf_counter()
            run = make()
            first = run(p, x, y)
            first_seconds = time.perf_counter() - start
        except ImportError as err:
            print(f"{name:<40}  skipped: {err.name or err} is not installed")
            continue
        if reference is None:
            reference = first
        np.testing.assert_allclose(first, reference, rtol=1e-10, atol=1e-12)
        seconds, cores = best_time(lambda: run(p, x, y), args.repeats)
        if hand_seconds is None:
            hand_seconds = seconds
        if symdiff_seconds is None and name == "symdiff numba reverse":
            symdiff_seconds = seconds
        versus = f"{seconds / symdiff_seconds:>11.2f}x" if symdiff_seconds else f"{'-':>12}"
        print(f"{name:<40}{first_seconds:>11.2f}{seconds:>10.4f}{seconds / args.n * 1e9:>11.1f}"
              f"{cores:>7.1f}{seconds / hand_seconds:>8.2f}x{versus}", flush=True)


if __name__ == "__main__":
    main()
