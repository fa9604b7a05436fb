"""Products with a direction: what one sweep costs, and H·v per call against JAX.

    python benchmarks/products.py
    python benchmarks/products.py --n 100 1000 10000

First table: operations of the generated program over the function's ("ratio"), for the
gradient, J·v (sd.jvp, one forward sweep), H·v (sd.hvp, forward over the reverse
gradient), on Rosenbrock in n variables, and u^T J (sd.vjp, one reverse sweep) of 300
formulas in 2 variables: each stays a small multiple of the function whatever n or m.

Second table: microseconds per Hessian-vector product at one point, what a Newton-CG step
asks for: symdiff's hvp (numba, h.at(x, v)), symdiff's sparse Hessian times v
(H.at(x) @ v: builds the matrix each call), and JAX's forward-over-reverse hvp,
jit(lambda x, v: jvp(grad(f), (x,), (v,))[1]) on the same formula written with
jax.numpy.  Every result is checked against symdiff's hvp.  Best of 5 repeats after a
warm-up call (compilation excluded).  JAX is skipped with a note when not installed.
"""

import argparse

import numpy as np
from timing import per_call

import symdiff as sd
from symdiff.examples import rosenbrock
from symdiff.graph import Graph
from symdiff.parse import parse_to_graph


def function_ops(formulas):
    g = Graph()
    return g.operation_count([parse_to_graph(f, g) for f in formulas])


def ratios(ns):
    print(f"{'formula':<34}{'function ops':>13}{'grad':>7}{'J·v':>7}{'H·v':>7}{'uᵀJ':>7}")
    for n in ns:
        text, names = rosenbrock(n), [f"x{i}" for i in range(n)]
        f = function_ops([text])
        row = [sd.api.build(kind, [text], names).program.operation_count / f for kind in ("grad", "jvp", "hvp")]
        print(f"{f'Rosenbrock n={n:,}':<34}{f:>13,}" + "".join(f"{r:>7.2f}" for r in row) + f"{'-':>7}")
    formulas = [f"sin({k}*x) + y^{k % 5 + 2}" for k in range(1, 301)]
    f = function_ops(formulas)
    r = sd.api.build("vjp", formulas, ["x", "y"]).program.operation_count / f
    print(f"{'300 formulas in x, y':<34}{f:>13,}{'-':>7}{'-':>7}{'-':>7}{r:>7.2f}")


def jax_hvp(n):
    try:
        import jax
    except ImportError:
        return None
    jax.config.update("jax_enable_x64", True)
    import jax.numpy as jnp

    def f(x):
        return jnp.sum(100.0 * (x[1:] - x[:-1] ** 2) ** 2 + (1.0 - x[:-1]) ** 2)
    return jax.jit(lambda x, v: jax.jvp(jax.grad(f), (x,), (v,))[1])


def timing_row(n):
    """One row of the H·v table (and a note when JAX is missing)."""
    names = [f"x{i}" for i in range(n)]
    h = sd.hvp(rosenbrock(n), wrt=names)
    H = sd.hessian(rosenbrock(n), wrt=names, sparse=True)
    rng = np.random.default_rng(0)
    x, v = rng.uniform(-1, 1, n), rng.uniform(-1, 1, n)
    want = h.at(x, v)
    np.testing.assert_allclose(H.at(x) @ v, want, rtol=1e-10, atol=1e-9)
    ours, sparse = per_call(lambda: h.at(x, v)), per_call(lambda: H.at(x) @ v)
    jhvp = jax_hvp(n)
    if jhvp is None:
        return f"{f'n={n:,}':<26}{ours * 1e6:>15.1f}{sparse * 1e6:>14.1f}{'-':>10}{'-':>15}", \
            "JAX not installed (pip install jax)"
    np.testing.assert_allclose(np.asarray(jhvp(x, v)), want, rtol=1e-10, atol=1e-9)
    theirs = per_call(lambda: jhvp(x, v).block_until_ready())
    return (f"{f'n={n:,}':<26}{ours * 1e6:>15.1f}{sparse * 1e6:>14.1f}{theirs * 1e6:>10.1f}"
            f"{theirs / ours:>14.2f}×"), None


def timings(ns):
    print(f"\n{'Rosenbrock, one H·v':<26}{'symdiff hvp µs':>15}{'sparse H @ v':>14}{'JAX hvp':>10}{'JAX / symdiff':>15}")
    notes = set()
    for n in ns:
        row, note = timing_row(n)
        print(row, flush=True)
        notes.add(note)
    for note in sorted(notes - {None}):
        print("note:", note)


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, nargs="+", default=[100, 1000, 4000])
    args = parser.parse_args()
    ratios(args.n)
    timings(args.n)


if __name__ == "__main__":
    main()
