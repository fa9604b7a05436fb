"""The hash-consed graph: sharing, canonical order, folding, SymPy in and out."""

import pytest
import sympy

from symdiff.graph import Graph, _PyGraph
from symdiff.parse import parse_to_graph


def test_same_subexpression_is_one_node():
    g = Graph()
    root = parse_to_graph("(a+b)*(a+b)", g)
    assert g.kind[root] == "Mul"
    left, right = g.args[root]
    assert left == right


def test_commutative_operands_are_canonical():
    g = Graph()
    assert parse_to_graph("a+b", g) == parse_to_graph("b+a", g)
    assert parse_to_graph("a*b", g) == parse_to_graph("b*a", g)
    assert parse_to_graph("max(a,b)", g) == parse_to_graph("max(b,a)", g)


def test_constants_fold_exactly():
    g = Graph()
    assert g.data[parse_to_graph("2*3 + 1/4", g)] == sympy.Rational(25, 4)
    x = parse_to_graph("x", g)
    assert parse_to_graph("x*1 + 0", g) == x
    assert parse_to_graph("x^1", g) == x
    assert g.data[parse_to_graph("x*0", g)] == 0
    assert g.data[parse_to_graph("x^0", g)] == 1
    # c1*(c2*z) merges the coefficients
    assert parse_to_graph("2*(3*x)", g) == parse_to_graph("6*x", g)
    assert parse_to_graph("-(-x)", g) == x


def test_ascending_ids_are_a_topological_order():
    g = Graph()
    root = parse_to_graph("sin(a*b) + exp(a*b)/(a+1)", g)
    for v in g.reachable([root]):
        assert all(arg < v for arg in g.args[v])


def test_sympy_round_trip():
    x, y = sympy.symbols("x y")
    expr = sympy.sin(x) * sympy.exp(y) / (1 + x ** 2) - sympy.Max(x, y) + sympy.atan2(y, x)
    g = Graph()
    node = g.from_sympy(expr)
    assert g.to_sympy([node])[0] == expr


def test_from_sympy_is_iterative():
    x = sympy.Symbol("x")
    expr = x
    for _ in range(3000):       # deeper than Python's default recursion limit
        expr = sympy.sin(expr, evaluate=False)
    g = Graph()
    node = g.from_sympy(expr)
    assert len(g.reachable([node])) == 3001


def test_from_sympy_rejects_what_it_cannot_differentiate():
    import pytest
    x = sympy.Symbol("x")
    f = sympy.Function("f")
    with pytest.raises(ValueError, match="undefined function f"):
        Graph().from_sympy(f(x))
    with pytest.raises(ValueError, match="real numbers"):
        Graph().from_sympy(sympy.I * x)
    # the message names what the user wrote, not a piece inside it (Piecewise's True)
    with pytest.raises(ValueError, match="cannot differentiate a SymPy Piecewise; write it with max"):
        Graph().from_sympy(sympy.sin(sympy.Piecewise((x, x > 0), (0, True))))
    with pytest.raises(ValueError, match=r"cannot differentiate a SymPy Integral: Integral\(x, x\)"):
        Graph().from_sympy(sympy.Integral(x, x) + 1)
    # a function whose arguments are not formulas: the message names the function, not its list
    with pytest.raises(ValueError, match=r"function hyper: its argument 1, \(1,\), is a TupleArg, not a number"):
        Graph().from_sympy(sympy.hyper([1], [2], x))
    # entries of an IndexedBase or a MatrixSymbol: the message says how to make symbols
    for entry in (sympy.IndexedBase("w")[0], sympy.MatrixSymbol("A", 2, 2)[0, 1]):
        with pytest.raises(ValueError, match=r"variables are symbols, not entries of a SymPy .*sympy.symbols\('x0:10'\)"):
            Graph().from_sympy(entry * x)
    # a sum with numeric bounds is one .doit() away from a formula: the message says so
    k = sympy.Symbol("k")
    with pytest.raises(ValueError, match=r"SymPy Sum: .*\.doit\(\) turns it into a formula"):
        Graph().from_sympy(sympy.Sum(x ** k, (k, 0, 3)))


def test_operation_count_counts_binary_operations():
    g = Graph()
    root = parse_to_graph("(a+b)*(b+1)", g)
    assert g.operation_count([root]) == 3


@pytest.mark.parametrize("cls", sorted({Graph, _PyGraph}, key=lambda c: c.__name__))
def test_a_fork_has_the_same_nodes_and_grows_on_its_own(cls):
    g = cls()
    x, y = g.symbol("x"), g.symbol("y")
    s = g.add(x, y)
    g.hints[s] = ("adjoint", x)
    h = g.fork()
    assert type(h) is cls and (h.kind, h.args, h.data, h.hints) == (g.kind, g.args, g.data, g.hints)
    assert h.add(y, x) == s and h.symbol("x") == x         # interned in the fork's tables too
    size = len(g)
    p = h.mul(s, s)
    h.hints[p] = ("adjoint", y)
    assert len(h) == size + 1 and len(g) == size and p not in g.hints
    assert g.mul(s, s) == p and len(g) == size + 1      # the same id, made on its own
    assert h.sub(p, s) != g.zero and len(g) == size + 1
