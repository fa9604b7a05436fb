"""Scale: graphs of 10^5 nodes, symdiff side by side with CasADi (and SymPy where it finishes).

    python benchmarks/scale.py
    python benchmarks/scale.py --hessian-n 10000     # the largest n of the Hessian and forward-mode rows
    python benchmarks/scale.py --stages 100000       # where the time goes, stage by stage
    python benchmarks/scale.py --kinds 100000        # build seconds of each kind (forward mode too)
    python benchmarks/scale.py --reference           # only the machine's reference loop

For each formula: nodes in the graph, seconds from input to generated
source, peak memory of the process doing it (max RSS; each row runs in a fresh process), program lines, and
the reverse-mode gradient's arithmetic operations over the function's
("ratio"); CasADi's ratio counts its SX gradient's arithmetic instructions
over the function's (inputs, outputs and constants excluded), with its time
to build both.  The random DAG is built operation by operation with heavy
sharing (each new node reuses recent ones), through symdiff's graph and
CasADi's SX from the same random sequence.  After the table: the banded
Rosenbrock Hessian (sparse=True) and the Rosenbrock gradient by forward mode
at n/4, n/2 and n, each in a fresh process, to show both grow linearly.

The first line names the interpreter and whether symdiff's C core ran (with
SYMDIFF_PURE_PYTHON=1 the pure-Python code is timed), and the last times a
reference loop (pure Python interning, the kind of work every stage does
without the C core): machines differ, and the same
code has taken 6 s on one and 17 s on another, so a row read on a slower
machine is set against that line and CasADi's seconds from the same run.
"""

import argparse
import gc
import json
import os
import platform
import random
import resource
import subprocess
import sys
import time

from symdiff import printing
from symdiff.api import _gc_paused, build, derivative_nodes
from symdiff.examples import rosenbrock
from symdiff.examples import sin_exp_chain as chain
from symdiff.graph import ACCELERATED, Graph
from symdiff.lower import lower
from symdiff.parse import parse_to_graph


def measured(fn):
    """(result, seconds, peak MB).  Each row runs in its own process (see main), so the
    peak resident set size of the process is this row's peak memory."""
    gc.collect()
    start = time.perf_counter()
    result = fn()
    seconds = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return result, seconds, peak


def text_row(text):
    def run():
        built = build("grad", [text], None, "reverse")
        printing.function_source(built.program)
        return built
    built, seconds, peak = measured(run)
    g = Graph()
    f_ops = g.operation_count([parse_to_graph(text, g)])
    return len(built.problem.graph), seconds, peak, len(built.program.body), built.program.operation_count / f_ops


# -- the random DAG ------------------------------------------------------------------------
OPS = ["add", "mul", "sin", "exp", "tanh", "mul", "add"]


def dag_steps(n_nodes, n_inputs, seed=0):
    """A reproducible list of (op, i, j): node k = op(node i, node j), heavy reuse of recent nodes."""
    rng = random.Random(seed)
    steps = []
    for k in range(n_inputs, n_nodes):
        i = k - 1 - min(int(rng.expovariate(0.2)), k - 1)
        j = k - 2 - min(int(rng.expovariate(0.05)), k - 2)     # j != i most of the time
        steps.append((rng.choice(OPS), i, j))
    return steps


def symdiff_dag(steps, n_inputs, n_outputs=8):
    def run():
        g = Graph()
        nodes = [g.symbol(f"x{i}") for i in range(n_inputs)]
        function_ops = 0
        for op, i, j in steps:
            a, b = nodes[i], nodes[j]
            if op == "add":
                v = g.add(a, b)
            elif op == "sub":
                v = g.sub(a, b)
            elif op == "mul":
                v = g.mul(a, b)
            else:
                v = g.call(op, a)
            nodes.append(v)
        root = g.add(*nodes[-n_outputs:])
        function_ops = g.operation_count([root])
        xs = nodes[:n_inputs]
        grad = derivative_nodes(g, [root], xs, "reverse")
        program = lower(g, [grad.get((0, j)) for j in range(n_inputs)],     # optimizes as it goes
                        [(x, f"x{i}") for i, x in enumerate(xs)], "grad",
                        [f"d{i}" for i in range(n_inputs)])
        printing.function_source(program)
        return len(g), program, function_ops

    def paused():           # as sd.grad and build() run: collector paused
        with _gc_paused():
            return run()
    (nodes, program, f_ops), seconds, peak = measured(paused)
    return nodes, seconds, peak, len(program.body), program.operation_count / f_ops


# -- CasADi ----------------------------------------------------------------------------------
def casadi_ops(function):
    import casadi
    skip = {casadi.OP_INPUT, casadi.OP_OUTPUT, casadi.OP_CONST, casadi.OP_PARAMETER}
    return sum(1 for k in range(function.n_instructions()) if function.instruction_id(k) not in skip)


def casadi_row(make):
    try:
        import casadi
    except ImportError:
        return None
    start = time.perf_counter()
    x, f = make(casadi)
    F = casadi.Function("f", [x], [f])
    G = casadi.Function("g", [x], [casadi.gradient(f, x)])
    seconds = time.perf_counter() - start
    return casadi_ops(G) / casadi_ops(F), seconds


def casadi_rosenbrock(n):
    def make(casadi):
        x = casadi.SX.sym("x", n)
        return x, casadi.sum1(100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2)
    return make


def casadi_chain(depth):
    def make(casadi):
        x = casadi.SX.sym("x")
        v = x
        for k in range(depth):
            v = casadi.sin(v) if k % 2 else casadi.exp(v)
        return x, v
    return make


def casadi_dag(steps, n_inputs, n_outputs=8):
    def make(casadi):
        x = casadi.SX.sym("x", n_inputs)
        nodes = [x[i] for i in range(n_inputs)]
        for op, i, j in steps:
            a, b = nodes[i], nodes[j]
            nodes.append({"add": lambda: a + b, "sub": lambda: a - b, "mul": lambda: a * b,
                          "sin": lambda: casadi.sin(a), "exp": lambda: casadi.exp(a),
                          "tanh": lambda: casadi.tanh(a)}[op]())
        return x, sum(nodes[-n_outputs:])
    return make


def sympy_seconds(n, limit):
    """SymPy diff + cse + lambdify on Rosenbrock, if n is small enough to finish."""
    if n > limit:
        return None
    import sympy
    xs = sympy.symbols(f"x0:{n}")
    start = time.perf_counter()
    f = sum(100 * (xs[i + 1] - xs[i] ** 2) ** 2 + (1 - xs[i]) ** 2 for i in range(n - 1))
    sympy.lambdify(xs, [sympy.diff(f, x) for x in xs], cse=True)
    return time.perf_counter() - start


def stages(n, repeats=2):
    """Seconds per stage of text -> source for Rosenbrock n, best of ``repeats`` in this process."""
    from symdiff.api import prepare
    from symdiff.program import check
    text = rosenbrock(n)
    best = {}
    for _ in range(repeats):
        gc.collect()
        with _gc_paused():
            times = [time.perf_counter()]
            problem = prepare([text], None)
            times.append(time.perf_counter())
            g, xs = problem.graph, problem.wrt_nodes
            primal_limit = len(g)
            entries = derivative_nodes(g, problem.roots, xs, "reverse")
            times.append(time.perf_counter())
            program = lower(g, [entries.get((0, j)) for j in range(len(xs))], problem.input_pairs(), "grad",
                            [f"df/d{s.name}" for s in problem.wrt], "", primal_limit)
            times.append(time.perf_counter())
            check(program)
            times.append(time.perf_counter())
            printing.function_source(program)
            times.append(time.perf_counter())
        for name, a, b in zip(("parse", "reverse", "lower+optimize", "check", "print"), times, times[1:]):
            best[name] = min(best.get(name, float("inf")), b - a)
        del problem, g, entries, program
    return best


def reference_seconds(n=1_000_000, repeats=3):
    """Best seconds of a fixed pure-Python loop shaped like symdiff's stages (interning n
    pairs of ints in a dict and appending to lists): how fast this machine runs such code,
    so that rows measured on different machines can be set side by side."""
    best = float("inf")
    for _ in range(repeats):
        gc.collect()
        with _gc_paused():
            start = time.perf_counter()
            table, kinds, args = {}, [], []
            for i in range(n):
                key = (i >> 1, i)
                if table.get(key) is None:
                    table[key] = len(kinds)
                    kinds.append("Add")
                    args.append(key)
            best = min(best, time.perf_counter() - start)
        del table, kinds, args
    return best


def core_line():
    """Whether symdiff's C core ran (symdiff/_graphcore.c; SYMDIFF_PURE_PYTHON=1 leaves it out)."""
    return "C core on" if ACCELERATED else "pure Python (no C core)"


BIG_ROSENBROCK = "Rosenbrock n=100,000"
SECONDS_TARGET = 5.0


def rows(args):
    dag_inputs, dag_nodes = 200, 100_000
    steps = dag_steps(dag_nodes, dag_inputs)
    return {
        "Rosenbrock n=100": (lambda: text_row(rosenbrock(100)), casadi_rosenbrock(100), 100),
        "Rosenbrock n=10,000": (lambda: text_row(rosenbrock(10_000)), casadi_rosenbrock(10_000), None),
        BIG_ROSENBROCK: (lambda: text_row(rosenbrock(100_000)), casadi_rosenbrock(100_000), None),
        "sin/exp chain depth 1,000": (lambda: text_row(chain(1000)), casadi_chain(1000), None),
        "sin/exp chain depth 100,000": (lambda: text_row(chain(100_000)), None, None),
        f"random DAG {dag_nodes:,} ops, {dag_inputs} in": (lambda: symdiff_dag(steps, dag_inputs),
                                                          casadi_dag(steps, dag_inputs), None),
    }


def run_row(name, args):
    run, casadi_make, sympy_n = rows(args)[name]
    nodes, seconds, peak, lines, ratio = run()
    cas = casadi_row(casadi_make) if casadi_make else None
    sp = sympy_seconds(sympy_n, args.sympy_limit) if sympy_n else None
    return {"nodes": nodes, "seconds": seconds, "peak": peak, "lines": lines, "ratio": ratio,
            "casadi": cas, "sympy": sp}


#: what --kinds builds, and the rows of the sparse Hessian and the forward-mode gradient
#: (what compare builds beside reverse mode): label -> (kind, mode, sparse)
KIND_BUILDS = {
    "grad, reverse": ("grad", "reverse", False),
    "grad, forward": ("grad", "forward", False),
    "jvp": ("jvp", "auto", False),
    "hvp (forward over reverse)": ("hvp", "auto", False),
    "hessian, sparse=True": ("hessian", "auto", True),
}


def run_kind(label, n):
    """Seconds and peak memory of building one kind of derivative program of Rosenbrock n, and
    its lines and outputs (a sparse Hessian's outputs are its nonzeros)."""
    kind, mode, sparse = KIND_BUILDS[label]
    text = rosenbrock(n)
    built, seconds, peak = measured(lambda: build(kind, [text], None, mode, sparse=sparse))
    return {"seconds": seconds, "peak": peak, "lines": len(built.program.body), "outputs": len(built.program.outputs)}


def in_subprocess(*argv):
    out = subprocess.run([sys.executable, __file__, *argv], capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def print_targets(results):
    """The issue's targets against this run's rows: met or not, with the numbers."""
    def verdict(ok):
        return "met" if ok else "NOT met"
    print("\nTargets:")
    big = results[BIG_ROSENBROCK]
    seconds = big["seconds"]
    casadi = f" (CasADi, C++, {big['casadi'][1]:.2f} s in this run)" if big["casadi"] else ""
    print(f"  {BIG_ROSENBROCK} text -> source under {SECONDS_TARGET:g} s: {seconds:.2f} s{casadi}, "
          f"{verdict(seconds < SECONDS_TARGET)}")
    for name, r in results.items():
        if r["casadi"]:
            print(f"  {name}: op ratio {r['ratio']:.2f}, CasADi's {r['casadi'][0]:.2f}, "
                  f"{verdict(r['ratio'] <= r['casadi'][0] + 1e-9)}")


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sympy-limit", type=int, default=300, help="largest n SymPy is run on")
    parser.add_argument("--hessian-n", type=int, default=10_000)
    parser.add_argument("--stages", type=int, metavar="N",
                        help="only the seconds per stage for Rosenbrock with N variables (best of two)")
    parser.add_argument("--reference", action="store_true",
                        help="only the seconds of the reference loop (this machine's speed at pure Python)")
    parser.add_argument("--kinds", type=int, metavar="N",
                        help="only the build seconds of each kind for Rosenbrock with N variables, "
                             "each in a fresh process")
    parser.add_argument("--row", help=argparse.SUPPRESS)
    parser.add_argument("--kind", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.reference:
        print(f"reference loop (10^6 pairs interned in pure Python): {reference_seconds():.2f} s")
        return
    if args.stages:
        best = stages(args.stages)
        print(f"Rosenbrock n={args.stages:,}, {core_line()}, text -> source by stage (best of two): "
              + ", ".join(f"{k} {v:.2f} s" for k, v in best.items()) + f"; total {sum(best.values()):.2f} s")
        return
    if args.kind:
        label, n = args.kind.rsplit("@", 1)
        print(json.dumps(run_kind(label, int(n))))
        return
    if args.kinds:
        print(f"Rosenbrock n={args.kinds:,}, {core_line()}: building each kind (text -> program), "
              "each in a fresh process")
        print(f"{'kind':<30}{'seconds':>9}{'peak MB':>9}{'lines':>11}")
        for label in KIND_BUILDS:
            r = in_subprocess("--kind", f"{label}@{args.kinds}")
            print(f"{label:<30}{r['seconds']:>9.2f}{r['peak']:>9.0f}{r['lines']:>11,}", flush=True)
        return
    if args.row:
        print(json.dumps(run_row(args.row, args)))
        return

    # timings depend on the interpreter's build too (a PGO/LTO build runs this ~10% faster)
    print(f"Python {platform.python_version()} ({sys.executable}), {os.cpu_count()} cores, "
          f"{core_line()}\n")
    print(f"{'formula':<34}{'nodes':>10}{'to source s':>12}{'peak MB':>9}{'lines':>9}{'ratio':>7}"
          f"{'CasADi ratio':>13}{'CasADi s':>10}{'SymPy s':>9}")
    results = {}
    for name in rows(args):
        r = results[name] = in_subprocess("--row", name, "--sympy-limit", str(args.sympy_limit))
        cas = f"{r['casadi'][0]:>13.2f}{r['casadi'][1]:>10.2f}" if r["casadi"] else f"{'-':>13}{'-':>10}"
        sp = f"{r['sympy']:>9.2f}" if r["sympy"] is not None else f"{'-':>9}"
        print(f"{name:<34}{r['nodes']:>10,}{r['seconds']:>12.2f}{r['peak']:>9.0f}{r['lines']:>9,}"
              f"{r['ratio']:>7.2f}{cas}{sp}", flush=True)
    print_targets(results)

    print("\nBanded Rosenbrock Hessian, sparse=True: time and memory grow linearly in n")
    print(f"{'n':>8}{'seconds':>9}{'peak MB':>9}{'nonzeros':>10}")
    for n in (args.hessian_n // 4, args.hessian_n // 2, args.hessian_n):
        r = in_subprocess("--kind", f"hessian, sparse=True@{n}")
        print(f"{n:>8,}{r['seconds']:>9.2f}{r['peak']:>9.0f}{r['outputs']:>10,}", flush=True)

    print("\nRosenbrock gradient by forward mode (one direction per input, carried in one walk):"
          " linear in n too")
    print(f"{'n':>8}{'seconds':>9}{'peak MB':>9}{'lines':>10}")
    for n in (args.hessian_n // 4, args.hessian_n // 2, args.hessian_n):
        r = in_subprocess("--kind", f"grad, forward@{n}")
        print(f"{n:>8,}{r['seconds']:>9.2f}{r['peak']:>9.0f}{r['lines']:>10,}", flush=True)

    # last: a child process starts with its parent's peak memory (Linux keeps ru_maxrss across
    # fork and exec), so the loop's 300 MB before the rows would be in every row's peak
    print(f"\nThis machine: reference loop (10^6 pairs interned in pure Python) {reference_seconds():.2f} s")


if __name__ == "__main__":
    main()
