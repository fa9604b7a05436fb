"""Large and deep formulas: no recursion anywhere, and the cheap-gradient bound."""

import numpy as np
import pytest

import symdiff as sd
from symdiff.api import build
from symdiff.examples import rosenbrock
from symdiff.examples import sin_exp_chain as chain
from symdiff.graph import Graph
from symdiff.parse import parse_to_graph


def _function_ops(text):
    g = Graph()
    return g.operation_count([parse_to_graph(text, g)])


def test_chain_100000_deep_parses_differentiates_prints_and_runs():
    text = chain(100_000)
    g = sd.grad(text, backend="python")
    (d,) = g(x=0.1)
    # Independent check on the same chain: the derivative of a composition is the
    # product of the local derivatives along it (hand-rolled here in plain numpy).
    x, product = 0.1, 1.0
    for k in range(100_000):
        if k % 2:
            product *= np.cos(x)
            x = np.sin(x)
        else:
            x = np.exp(x)
            product *= x
    assert d == pytest.approx(product, rel=1e-9)


def test_rosenbrock_10000_gradient():
    n = 10_000
    g = sd.grad(rosenbrock(n), backend="python")
    rng = np.random.default_rng(0)
    x = rng.normal(size=n)
    # default wrt is sorted by name (x0, x1, x10, ...): pass by keyword
    got = g(**{f"x{i}": v for i, v in enumerate(x)})
    order = [int(s.name[1:]) for s in g.wrt]
    got = got[np.argsort(order)]
    # hand-derived Rosenbrock gradient
    want = np.zeros(n)
    want[:-1] += -400 * x[:-1] * (x[1:] - x[:-1] ** 2) - 2 * (1 - x[:-1])
    want[1:] += 200 * (x[1:] - x[:-1] ** 2)
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-9)


@pytest.mark.parametrize("text", [rosenbrock(10_000), chain(1000)], ids=["rosenbrock", "chain"])
def test_cheap_gradient_bound(text):
    program = build("grad", [text], None, "reverse").program
    assert program.operation_count <= 3 * _function_ops(text)


def test_too_deep_for_sympy_is_a_clear_error_not_a_recursion_error():
    # sd.parse and sd.diff return SymPy expressions, and SymPy recurses over depth
    text = chain(2000)
    with pytest.raises(ValueError, match="2000 levels deep, too deep for a SymPy expression"):
        sd.parse(text)
    with pytest.raises(ValueError, match="too deep for a SymPy expression"):
        sd.diff(text, "x")
    # the notebook view leaves the LaTeX out and still shows the code
    g = sd.grad(chain(150), backend="python")
    view = g._repr_markdown_()
    assert "characters of LaTeX, not shown" in view and "def grad(x):" in view
    assert len(view) < 20_000 + 2_000
