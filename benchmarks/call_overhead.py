"""One point at a time: microseconds per gradient call, symdiff and its peers side by side.

    python benchmarks/call_overhead.py
    python benchmarks/call_overhead.py --rosenbrock-n 100

An optimizer (scipy.optimize.minimize(..., jac=g)) asks for one gradient at one point
per step, so the cost of a call -- argument handling, dispatch, the result array -- is
what it sees, not the batch speed of benchmarks/batch_gradient.py.  Three problems:
colah's (a+b)(b+1) (2 inputs), the toy network loss of UDL chapter 7 at one sample
(10 inputs), and Rosenbrock in n variables (default 1,000).  Each tool gets the point
the way its users pass one: symdiff as numbers, g(*x) (numpy floats of a vector x), or the
vector itself, g.at(x);
"symdiff, 0-d arrays" is symdiff's general path (every argument checked and broadcast as
an array), which all calls took before one point of numbers went straight to the scalar
kernel; SymPy's lambdify(cse=True) function takes the numbers too; SymEngine's Lambdify,
CasADi's Function and JAX's jit(grad) take the vector.  Every result is checked against
symdiff's before it is timed.  Times: best of 5 repeats of enough calls for 0.2 s, after a
warm-up call (compilation excluded).  Peers that are not installed are skipped with a note.
"""

import argparse

import numpy as np
import sympy
from timing import per_call

import symdiff as sd
from symdiff.examples import TOY_NETWORK_LOSS, TOY_NETWORK_PARAMETERS, rosenbrock


def problems(n):
    rng = np.random.default_rng(0)
    toy_names = TOY_NETWORK_PARAMETERS + ["x", "y"]
    names = [f"x{i}" for i in range(n)]
    return [
        ("colah (a+b)(b+1), 2 inputs", "(a+b)*(b+1)", ["a", "b"], np.array([2.0, 1.0])),
        ("toy network, 10 inputs", TOY_NETWORK_LOSS, toy_names, rng.uniform(-0.5, 0.5, 10)),
        (f"Rosenbrock, {n:,} inputs", rosenbrock(n), names, rng.uniform(-1.0, 1.0, n)),
    ]


def peers(text, names, point, sympy_limit):
    """(tool, call, gradient it gives) for the peers that are installed; notes for the others."""
    rows, notes = [], []
    symbols = sympy.symbols(names)
    expr = sd.parse(text)
    expr = expr.subs({sympy.Symbol(s.name): s for s in symbols})
    if len(names) <= sympy_limit:
        f = sympy.lambdify(symbols, [sympy.diff(expr, s) for s in symbols], cse=True)
        args = [float(v) for v in point]
        rows.append(("SymPy diff + lambdify(cse=True)", lambda: f(*args), np.array(f(*args))))
    else:
        notes.append(f"SymPy skipped above {sympy_limit} inputs (its diff takes minutes at 1,000)")
    try:
        import symengine
        sexpr = symengine.sympify(expr)
        ssyms = [symengine.Symbol(s) for s in names]
        lam = symengine.Lambdify(ssyms, [sexpr.diff(s) for s in ssyms], backend="llvm", cse=True)
        rows.append(("SymEngine Lambdify (LLVM)", lambda: lam(point), np.asarray(lam(point)).ravel()))
    except ImportError:
        notes.append("SymEngine not installed (pip install symengine)")
    try:
        import casadi
        x = casadi.SX.sym("x", len(names))
        fx = sympy.lambdify(symbols, expr, modules=[{"sin": casadi.sin, "cos": casadi.cos,
                                                     "exp": casadi.exp}])(*[x[i] for i in range(len(names))])
        g = casadi.Function("g", [x], [casadi.gradient(fx, x)])
        rows.append(("CasADi Function (SX)", lambda: g(point), np.asarray(g(point)).ravel()))
    except ImportError:
        notes.append("CasADi not installed (pip install casadi)")
    try:
        import jax
        jax.config.update("jax_enable_x64", True)
        import jax.numpy as jnp
        fj = sympy.lambdify([symbols], expr, modules="jax")
        jg = jax.jit(jax.grad(lambda v: fj(v)))
        xj = jnp.asarray(point)
        rows.append(("JAX jit(grad), CPU", lambda: jg(xj).block_until_ready(), np.asarray(jg(xj))))
    except ImportError:
        notes.append("JAX not installed (pip install jax)")
    return rows, notes


def table(title, text, names, point, sympy_limit):
    """Print one problem's table; returns the notes about skipped peers."""
    numba_grad = sd.grad(text, wrt=names, backend="numba")
    python_grad = sd.grad(text, wrt=names, backend="python")
    want = numba_grad(*point)
    zero_d = [np.array(v) for v in point]
    rows = [("symdiff numba, g(*x)", lambda: numba_grad(*point), want),
            ("symdiff numba, g.at(x)", lambda: numba_grad.at(point), numba_grad.at(point)),
            ("symdiff numba, 0-d arrays (general path)", lambda: numba_grad(*zero_d), numba_grad(*zero_d)),
            ("symdiff python backend, g(*x)", lambda: python_grad(*point), python_grad(*point))]
    peer_rows, notes = peers(text, names, point, sympy_limit)
    print(f"\n{title} ({numba_grad.mode} mode; {len(numba_grad.program.body):,} statements)")
    print(f"{'tool':<42}{'µs per call':>12}{'vs symdiff':>12}")
    base = None
    for name, call, got in rows + peer_rows:
        np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-12, err_msg=name)
        seconds = per_call(call)
        base = base or seconds
        print(f"{name:<42}{seconds * 1e6:>12.2f}{seconds / base:>11.2f}×", flush=True)
    return notes


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rosenbrock-n", type=int, default=1000)
    parser.add_argument("--sympy-limit", type=int, default=100,
                        help="skip SymPy above this many inputs (default 100)")
    args = parser.parse_args()
    all_notes = set()
    for problem in problems(args.rosenbrock_n):
        all_notes.update(table(*problem, sympy_limit=args.sympy_limit))
    for note in sorted(all_notes):
        print(f"note: {note}")


if __name__ == "__main__":
    main()
