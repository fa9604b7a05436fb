"""High-order symbolic derivatives: sd.diff side by side with SymPy's diff, in one run.

    python benchmarks/high_order.py

For each formula and order: the seconds and the size of the answer (nodes of the SymPy
expression as a tree) for symdiff's ``sd.diff`` and for ``sympy.diff``, their ratio, and
the seconds symdiff took before it gathered like terms between sweeps (``api.settled``
replaced by the identity; run only where that finishes in seconds).  Each answer is
checked against SymPy's at two points.
"""

import time
from unittest import mock

import sympy

import symdiff as sd
from symdiff import api

CASES = [("1/x", ("x", 16)), ("1/x", ("x", 100)), ("exp(-x^2)", ("x", 16)), ("exp(-x^2)", ("x", 20)),
         ("exp(-x^2)", ("x", 30)),
         ("atan(x)", ("x", 20)), ("x^x", ("x", 8)), ("tanh(x)", ("x", 12)), ("sin(x*y)", ("x", 10, "y", 10)),
         ("x^2*y^3/(x + y)", ("x", 4, "y", 4))]
#: where the ungathered sweeps still finish in seconds (the 20th of 1/x took 26 s)
UNGATHERED = {("1/x", ("x", 16)), ("exp(-x^2)", ("x", 16)), ("exp(-x^2)", ("x", 20)),
              ("x^2*y^3/(x + y)", ("x", 4, "y", 4))}


def nodes(e):
    return sum(1 for _ in sympy.preorder_traversal(e))


def timed(f):
    """(f(), seconds), from an empty SymPy cache: no run reuses another's expressions."""
    sympy.core.cache.clear_cache()
    start = time.perf_counter()
    result = f()
    return result, time.perf_counter() - start


def agrees(a, b):
    """a and b at two points, to 1e-9 of their scale."""
    for v in (0.37, 1.3):
        point = {s: sympy.Float(v * (k + 1), 30) for k, s in enumerate(sorted(b.free_symbols, key=str))}
        x, y = complex(a.xreplace(point).evalf(30)), complex(b.xreplace(point).evalf(30))
        if abs(x - y) > 1e-9 * max(1.0, abs(y)):
            return False
    return True


def main():
    print(f"{'formula':<18}{'order':<14}{'symdiff s':>10}{'nodes':>7}{'SymPy s':>9}{'nodes':>7}"
          f"{'SymPy/symdiff':>15}{'ungathered s':>14}  agrees")
    for text, args in CASES:
        symbols = [sympy.Symbol(a) if isinstance(a, str) else a for a in args]
        ours, seconds = timed(lambda: sd.diff(text, *args))
        theirs, sympy_seconds = timed(lambda: sympy.diff(sd.parse(text), *symbols))
        ungathered = "-"
        if (text, args) in UNGATHERED:
            with mock.patch.object(api, "settled", lambda g, d: d):
                ungathered = f"{timed(lambda: sd.diff(text, *args))[1]:.2f}"
        order = " ".join(map(str, args))
        print(f"{text:<18}{order:<14}{seconds:>10.3f}{nodes(ours):>7}{sympy_seconds:>9.3f}{nodes(theirs):>7}"
              f"{sympy_seconds / seconds:>15.1f}{ungathered:>14}  {'yes' if agrees(ours, theirs) else 'NO'}")


if __name__ == "__main__":
    main()
