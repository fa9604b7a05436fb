"""Shared test helpers: independent oracles for values and derivatives."""

import os
import tempfile

import numpy as np
import pytest
import sympy
from hypothesis import HealthCheck, settings

# Property tests: a quick profile for every run, 10^4 examples under `pytest -m fuzz`.
_RELAXED = [HealthCheck.too_slow, HealthCheck.filter_too_much]
settings.register_profile("ci", max_examples=40, deadline=None, suppress_health_check=_RELAXED)
settings.register_profile("fuzz", max_examples=10_000, deadline=None, suppress_health_check=_RELAXED)
settings.load_profile("ci")


def pytest_configure(config):
    if "fuzz" in (config.getoption("markexpr", "") or ""):
        settings.load_profile("fuzz")

# Generated modules of the test run go to one fresh cache directory, so tests
# see cold-cache behaviour and never depend on what an earlier run left behind.
os.environ.setdefault("SYMDIFF_CACHE_DIR", tempfile.mkdtemp(prefix="symdiff-test-cache-"))


def gpu_present():
    """Whether numba.cuda sees a real GPU (numba's CUDA simulator does not count)."""
    try:
        from numba import cuda
        return cuda.is_available() and not os.environ.get("NUMBA_ENABLE_CUDASIM")
    except Exception:
        return False


def shared_tower(levels):
    """e = sin(e) + e*y, ``levels`` times: 3 nodes a level in a graph, 2^levels as a tree.

    SymPy's cache is cleared first.  A picture of the tower (test_display) leaves its
    partials, rebuilt from symdiff's graph, in that cache: equal to the tower's parts but
    not the same objects, so that building the tower again compared them with
    ``Basic.__eq__``, which walks both as trees (2^30 nodes: the run hung in sin's eval).
    """
    sympy.core.cache.clear_cache()
    x, y = sympy.symbols("x y")
    e = x
    for _ in range(levels):
        e = sympy.sin(e) + e * y
    return e


def central_difference(f, point, name, h=1e-6):
    """d f / d name at ``point`` (a dict) by central finite differences, with a scaled step."""
    x = point[name]
    step = h * max(1.0, abs(x))
    up = dict(point, **{name: x + step})
    down = dict(point, **{name: x - step})
    return (f(**up) - f(**down)) / (2 * step)


def _at(expr, point):
    """Evaluate ``expr`` at ``point`` with 30 significant digits (exact binary inputs)."""
    exact = {s: sympy.Float(point[s.name], 30) for s in expr.free_symbols}
    return float(expr.xreplace(exact).evalf(30))


def sympy_gradient(expr, wrt, point):
    """Gradient by SymPy's own ``diff`` at ``point`` (names -> floats); nan where SymPy has none."""
    symbols = {s.name: s for s in expr.free_symbols}
    result = []
    for w in wrt:
        d = sympy.diff(expr, symbols.get(w, sympy.Symbol(w)))
        result.append(np.nan if d.has(sympy.Derivative) else _at(d, point))
    return np.array(result)


def sympy_value(expr, point):
    return _at(expr, point)


@pytest.fixture
def fd():
    return central_difference
