"""Codegen speed and the cheap-gradient ratio, symdiff side by side with SymPy.

    python benchmarks/codegen.py            # full run (SymPy at n=1000 takes minutes)
    python benchmarks/codegen.py --quick    # SymPy at n=200 only

Prints, for each formula: the function's arithmetic operations, the optimized
reverse-mode gradient program's operations and their ratio (the cheap-gradient
target is <= 3), and the time from text to generated Python source.  SymPy's
`diff` + `cse` + `lambdify` on the same Rosenbrock formula is timed for
comparison.
"""

import argparse
import gc
import time

import sympy

from symdiff import printing
from symdiff.api import build
from symdiff.examples import rosenbrock
from symdiff.examples import sin_exp_chain as chain
from symdiff.graph import Graph
from symdiff.parse import parse_to_graph


def symdiff_codegen(text, mode="reverse"):
    """Seconds from text to source, function ops, gradient ops."""
    gc.collect()
    start = time.perf_counter()
    built = build("grad", [text], None, mode)
    printing.function_source(built.program)
    seconds = time.perf_counter() - start
    g = Graph()
    function_ops = g.operation_count([parse_to_graph(text, g)])
    return seconds, function_ops, built.program.operation_count


def sympy_codegen(n):
    """Seconds for SymPy: parse, diff every variable, cse, lambdify."""
    xs = sympy.symbols(f"x0:{n}")
    start = time.perf_counter()
    f = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1))
    gradient = [sympy.diff(f, x) for x in xs]
    sympy.lambdify(xs, gradient, modules="numpy", cse=True)
    return time.perf_counter() - start


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="SymPy at n=200 instead of 1000")
    args = parser.parse_args()

    print("Reverse-mode gradient: operations and text -> source time (symdiff)")
    print(f"{'formula':<26}{'f ops':>9}{'grad ops':>10}{'ratio':>7}{'seconds':>9}")
    for name, text in [("rosenbrock n=1,000", rosenbrock(1000)),
                       ("rosenbrock n=10,000", rosenbrock(10_000)),
                       ("sin/exp chain depth 1,000", chain(1000)),
                       ("sin/exp chain depth 100,000", chain(100_000))]:
        seconds, f_ops, g_ops = symdiff_codegen(text)
        print(f"{name:<26}{f_ops:>9}{g_ops:>10}{g_ops / f_ops:>7.2f}{seconds:>9.2f}")

    n = 200 if args.quick else 1000
    print(f"\nRosenbrock n={n}: text -> gradient code, side by side")
    sd_seconds = symdiff_codegen(rosenbrock(n))[0]
    sp_seconds = sympy_codegen(n)
    print(f"{'tool':<44}{'seconds':>9}{'vs symdiff':>12}")
    print(f"{'symdiff (parse, reverse, optimize, print)':<44}{sd_seconds:>9.2f}{1.0:>11.1f}x")
    print(f"{'SymPy (diff each variable, cse, lambdify)':<44}{sp_seconds:>9.2f}{sp_seconds / sd_seconds:>11.0f}x")


if __name__ == "__main__":
    main()
