"""First-call (compile) time of the numba backend, cold and warm caches.

    python benchmarks/compile_time.py

Each row runs in a fresh Python process.  "cold" starts with empty symdiff
and numba caches (NUMBA_CACHE_DIR and SYMDIFF_CACHE_DIR point at new empty
directories); "warm" runs the same script again with those caches filled, as
a second process of a user would.  Straight-line rows force the straight-line
form to show how numba's compile time grows with program length; the tape
rows are what symdiff does for long programs (limit: STRAIGHT_LINE_LIMIT).
"""

import json
import os
import subprocess
import sys
import tempfile
import textwrap

from symdiff.examples import TOY_NETWORK_LOSS, rosenbrock
from symdiff.examples import sin_exp_chain as chain

SCRIPT = textwrap.dedent('''
    import json, sys, time
    t0 = time.perf_counter()
    import numpy as np
    import symdiff as sd
    from symdiff.api import build, compile_built
    from symdiff import numba_backend
    family, size, limit = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    sys.path.insert(0, sys.argv[4])
    from compile_time import FAMILIES
    text = FAMILIES[family](size)
    numba_backend.STRAIGHT_LINE_LIMIT = limit
    t1 = time.perf_counter()
    fn = compile_built(build("grad", [text], None, "reverse"), "numba")
    t2 = time.perf_counter()
    point = {s.name: 0.1 for s in fn.inputs}
    fn(**point)
    t3 = time.perf_counter()
    batch = {s.name: np.full(1000, 0.1) for s in fn.inputs} if len(fn.inputs) < 50 else None
    if batch:
        fn(**batch)
    t4 = time.perf_counter()
    print(json.dumps({"import": t1 - t0, "codegen": t2 - t1, "first_scalar": t3 - t2,
                      "first_batch": t4 - t3, "statements": len(fn.program.body),
                      "tape": "_GROUP_OP" in fn.source}))
''')


def toy_network(_):
    return TOY_NETWORK_LOSS


FAMILIES = {"rosenbrock": rosenbrock, "chain": chain, "toy": toy_network}


def run(family, size, limit, env):
    here = os.path.dirname(os.path.abspath(__file__))
    out = subprocess.run([sys.executable, "-c", SCRIPT, family, str(size), str(limit), here], env=env,
                         capture_output=True, text=True, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main():
    big = 10 ** 9
    cases = [
        ("toy network loss (symdiff's choice)", "toy", 0, None),
        ("chain depth 100, straight-line", "chain", 100, big),
        ("chain depth 200, straight-line", "chain", 200, big),
        ("chain depth 400, straight-line", "chain", 400, big),
        ("chain depth 800, straight-line", "chain", 800, big),
        ("chain depth 1,000 (symdiff's choice)", "chain", 1000, None),
        ("Rosenbrock n=10 (symdiff's choice)", "rosenbrock", 10, None),
        ("Rosenbrock n=10,000 (symdiff's choice)", "rosenbrock", 10_000, None),
    ]
    print(f"{'formula':<40}{'stmts':>8}{'form':>8}{'cache':>7}{'codegen s':>11}{'1st call s':>12}{'1st batch s':>13}")
    for name, family, size, limit in cases:
        if limit is None:
            from symdiff.numba_backend import STRAIGHT_LINE_LIMIT
            limit = STRAIGHT_LINE_LIMIT
        cache = tempfile.mkdtemp(prefix="symdiff-bench-")
        env = dict(os.environ, NUMBA_CACHE_DIR=os.path.join(cache, "numba"),
                   SYMDIFF_CACHE_DIR=os.path.join(cache, "symdiff"))
        for label in ("cold", "warm"):
            r = run(family, size, limit, env)
            form = "tape" if r["tape"] else "inline"
            batch = f"{r['first_batch']:>13.2f}" if r["first_batch"] > 1e-4 else f"{'-':>13}"
            print(f"{name:<40}{r['statements']:>8}{form:>8}{label:>7}{r['codegen']:>11.2f}"
                  f"{r['first_scalar']:>12.2f}{batch}", flush=True)


if __name__ == "__main__":
    main()
