"""Batch gradient speed over 10^6 samples: symdiff and its peers, on two small networks.

    python benchmarks/batch_gradient.py            # N = 10^6, both networks
    python benchmarks/batch_gradient.py -n 100000 --network toy

"toy": gradient of UDL chapter 7's toy network loss (sin, exp, cos) in its
eight parameters.  "tanh": a one-hidden-layer tanh network with 3 units,
(sum_k v_k tanh(w_k x + b_k) + c - y)^2, gradient in its ten parameters --
more outputs than one vectorised loop can store (symdiff writes them in two
loops; see numba_backend.MEMORY_CHECK_LIMIT); the row "vector loops off" is
symdiff's plain loop, for comparison.  One value of the parameters and N
samples (x, y), float64, on the CPU, all in one process.  Each tool's result
is checked against the hand-written loop before it is timed.  Times are the
best of several repeats after a warm-up call (compilation excluded);
first-call (compile) times are printed too.  Peers that are not installed are
skipped with a note: SymEngine (`pip install symengine`), JAX (`pip install
jax`).

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

from symdiff.examples import TOY_NETWORK_LOSS, TOY_NETWORK_PARAMETERS

UNITS = 3
TANH_LOSS = "(" + " + ".join(f"v{k}*tanh(w{k}*x + b{k})" for k in range(UNITS)) + " + c - y)^2"
TANH_PARAMETERS = [f"{p}{k}" for k in range(UNITS) for p in "wbv"] + ["c"]


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


def hand_written_numba(network):
    """Reverse mode by hand, one fused loop: the speed a careful Numba user gets."""
    return {"toy": _hand_toy, "tanh": _hand_tanh}[network]()


def _hand_tanh():
    import numba
    assert UNITS == 3

    @numba.njit(error_model="numpy")
    def grad(w0, b0, v0, w1, b1, v1, w2, b2, v2, c, x, y, out):
        for i in range(x.shape[0]):
            h0 = math.tanh(w0 * x[i] + b0)
            h1 = math.tanh(w1 * x[i] + b1)
            h2 = math.tanh(w2 * x[i] + b2)
            r = 2.0 * (v0 * h0 + v1 * h1 + v2 * h2 + c - y[i])
            d0 = r * v0 * (1.0 - h0 * h0)
            d1 = r * v1 * (1.0 - h1 * h1)
            d2 = r * v2 * (1.0 - h2 * h2)
            out[0, i] = d0 * x[i]
            out[1, i] = d0
            out[2, i] = r * h0
            out[3, i] = d1 * x[i]
            out[4, i] = d1
            out[5, i] = r * h1
            out[6, i] = d2 * x[i]
            out[7, i] = d2
            out[8, i] = r * h2
            out[9, i] = r

    def run(p, x, y):
        out = np.empty((10, x.shape[0]))
        grad(*p, x, y, out)
        return out
    return run


def _hand_toy():
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


def symdiff_tool(network, mode, parallel=False, vector=True):
    import symdiff as sd
    from symdiff import numba_backend
    formula, params = NETWORKS[network]
    saved = numba_backend.MAX_VECTOR_LOOPS
    numba_backend.MAX_VECTOR_LOOPS = saved if vector else 0       # 0: never vectorised
    try:
        fn = sd.grad(formula, wrt=params, mode=mode, parallel=parallel)
    finally:
        numba_backend.MAX_VECTOR_LOOPS = saved

    def run(p, x, y):
        return fn(*p, x, y)
    return run


def _sympy_gradient(network):
    """(arguments, gradient expressions) by SymPy's diff, for the SymPy-based peers."""
    import sympy
    import symdiff as sd
    formula, params = NETWORKS[network]
    expr = sd.parse(formula)
    symbols = {s.name: s for s in expr.free_symbols}
    args = [symbols[n] for n in params + ["x", "y"]]
    return args, [sympy.diff(expr, symbols[n]) for n in params]


def sympy_lambdify(network):
    import sympy
    args, gradient = _sympy_gradient(network)
    f = sympy.lambdify(args, gradient, modules="numpy", cse=True)

    def run(p, x, y):
        return np.array([np.broadcast_to(g, x.shape) for g in f(*p, x, y)])
    return run


def symengine_llvm(network):
    import symengine
    args, gradient = _sympy_gradient(network)
    f = symengine.Lambdify(args, gradient, backend="llvm", cse=True)
    k = len(args) - 2

    def run(p, x, y):
        n = x.shape[0]
        inputs = np.empty((n, k + 2))
        inputs[:, :k] = p
        inputs[:, k] = x
        inputs[:, k + 1] = y
        return f(inputs).T
    return run


def jax_vmap_grad(network):
    os.environ.setdefault("JAX_PLATFORMS", "cpu")
    import jax
    import jax.numpy as jnp
    jax.config.update("jax_enable_x64", True)

    def toy(p, x, y):
        b0, w0, b1, w1, b2, w2, b3, w3 = p
        return (b3 + w3 * jnp.cos(b2 + w2 * jnp.exp(b1 + w1 * jnp.sin(b0 + w0 * x))) - y) ** 2

    def tanh(p, x, y):
        w, b, v = p[0:3 * UNITS:3], p[1:3 * UNITS:3], p[2:3 * UNITS:3]
        return (jnp.sum(v * jnp.tanh(w * x + b)) + p[3 * UNITS] - y) ** 2
    loss = {"toy": toy, "tanh": tanh}[network]
    g = jax.jit(jax.vmap(jax.grad(loss), in_axes=(None, 0, 0)))

    def run(p, x, y):
        return np.asarray(g(jnp.asarray(p), x, y)).T
    return run


NETWORKS = {"toy": (TOY_NETWORK_LOSS, TOY_NETWORK_PARAMETERS), "tanh": (TANH_LOSS, TANH_PARAMETERS)}
TITLES = {"toy": "Toy network loss gradient, 8 parameters",
          "tanh": f"tanh network ({UNITS} units) loss gradient, {len(TANH_PARAMETERS)} parameters"}

TOOLS = [
    ("hand-written Numba reverse loop", hand_written_numba),
    ("symdiff numba reverse", lambda net: symdiff_tool(net, "reverse")),
    ("symdiff numba forward", lambda net: symdiff_tool(net, "forward")),
    ("symdiff numba reverse, parallel=True", lambda net: symdiff_tool(net, "reverse", parallel=True)),
    ("symdiff reverse, vector loops off", lambda net: symdiff_tool(net, "reverse", vector=False)),
    ("SymPy diff + lambdify(cse=True)", sympy_lambdify),
    ("SymEngine Lambdify (LLVM)", symengine_llvm),
    ("JAX jit(vmap(grad)) CPU", jax_vmap_grad),
]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("-n", type=int, default=10 ** 6, help="samples (default 10^6)")
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--network", choices=["toy", "tanh", "both"], default="both")
    args = parser.parse_args()
    for network in ("toy", "tanh") if args.network == "both" else (args.network,):
        run_network(network, args)
        print()


def run_network(network, args):
    rng = np.random.default_rng(0)
    p = rng.normal(scale=0.5, size=len(NETWORKS[network][1]))
    x = rng.normal(size=args.n)
    y = rng.normal(size=args.n)

    print(f"{TITLES[network]}, N = {args.n:,} samples, float64, CPU ({os.cpu_count()} cores)")
    print(f"{'tool':<40}{'1st call s':>11}{'seconds':>10}{'ns/sample':>11}{'cores':>7}{'vs hand':>9}"
          f"{'vs symdiff':>12}")
    reference = None
    hand_seconds = symdiff_seconds = None
    for name, make in TOOLS:
        try:
            start = time.perf_counter()
            run = make(network)
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
