"""symdiff's optional C core (symdiff/_graphcore.c) makes what the pure-Python code makes.

The core does the common cases of the graph's constructors and the parser's loop; the
reference is the pure-Python class ``graph._PyGraph``, which a graph of that class runs
everywhere (``parse_to_graph`` takes the C loop only for ``graph.Graph``).  So each test
builds the same formulas both ways and asks for the same node tables, node for node, the
same errors and the same generated source.
"""

import contextlib
import copy
import os
import pickle
import signal
import subprocess
import sys
import time
from unittest import mock

import pytest
from hypothesis import given
from hypothesis import strategies as st

from op_cases import OP_CASES
from symdiff import api, numba_backend, printing
from symdiff import forward as forward_module
from symdiff import program as program_module
from symdiff import graph as graph_module
from symdiff.api import build
from symdiff.examples import rosenbrock
from symdiff.parse import _FAST_TOKEN, ParseError, parse_to_graph
from test_fuzz import TEXT, formulas

pytestmark = pytest.mark.skipif(not graph_module.ACCELERATED, reason="symdiff's C core is not built here")

PURE = graph_module._PyGraph

# the shapes the C paths take or hand back: constants on either side, folding to 0 and 1,
# x - x, c1*(c2*x), negative zero, exact fractions, integers too long for int(), calls
CORPUS = [case[0] for case in OP_CASES] + [
    "(a+b)*(b+1)", "x - x", "-x + x", "x + -1*x", "2*(3*x)", "(x*3)*2", "0.5*(2*x)", "0*x", "x*0",
    "1*x", "x*1.0", "x^0", "x^1", "x^1.0", "2^3", "2^-3", "(1/3)^2", "0^-1", "1^x", "E^x", "pi^2",
    "x/2", "2/x", "x/x", "-(-x)", "--x", "+x", "-0.0*x", "x + 0.0", "x - 0", "0.0 - x", "-0.0 + x",
    "1e-3*x", ".5*x", "3.*x", "12345678901234567890*x", "9" * 5000 + "*x", "0.5*4^520*x + 0.25 + 4^520",
    "x^2^3", "-x^2", "2^-x",
    "x**2**-1", "sin(x)^2 + cos(x)^2", "max(x, y, x)", "min(y, x)", "hypot(y, x)", "atan2(x, y)",
    "heaviside(x)", "digamma(x)", "sqrt(x)", "pow(x, 3)", "x1*x2 + x2*x1", "a*(b*c) - (a*b)*c",
    "((((x))))", "sin(cos(tan(x)))", "exp(-x^2/2)/sqrt(2*pi)", rosenbrock(30),
]
CORPUS += ["t0*t1 + sin(t0)", "adj_x*x + x^2", "adj_x_1 + adj_x*x - x^3", "x + y + z + 1", "-x - y - z",
           "1 - x - y", "-x + 2 - y", "x - 1", "-1 + x", "1.0 - x + x*y", "max(x, y) - (x + y + z)"]
# texts the C loop hands back to the Python one, which must find what is wrong
BAD = ["", "x +", "(x", "x)", "sin(x", "sin()", "sin(x, y)", "atan2(x)", "foo(x)", "x y", "2x", "1e",
       "x,y", "(x, y)", "sin", "pi(x)", "x(y)", "x $ y", "*x", "x ^ ^ y", "max(x,)", "(", ")", "1 e"]


def _table(g):
    """A graph's node table, with each constant's type (1 and 1.0 are different nodes)."""
    return g.kind, g.args, [(type(d).__name__, repr(d)) for d in g.data]


def _parsed(cls, texts):
    g = cls()
    roots = []
    for text in texts:
        try:
            roots.append(parse_to_graph(text, g))
        except ParseError as e:
            roots.append(("ParseError", str(e), e.position))
    return roots, _table(g)


def _same_parse(texts):
    assert _parsed(graph_module.Graph, texts) == _parsed(PURE, texts)


def test_graph_is_the_c_core_here():
    assert issubclass(graph_module.Graph, graph_module._graphcore.Core)
    assert issubclass(graph_module.Graph, PURE)


@pytest.mark.parametrize("text", CORPUS + BAD)
def test_the_same_nodes_and_errors_as_pure_python(text):
    _same_parse([text])


def test_formulas_sharing_one_graph_make_the_same_nodes():
    _same_parse(CORPUS + BAD)       # one graph: later formulas find earlier nodes


@given(st.lists(formulas(smooth_only=False), min_size=1, max_size=3))
def test_random_formulas_make_the_same_nodes(texts):
    _same_parse(texts)


@given(TEXT)
def test_random_text_makes_the_same_nodes_or_the_same_error(text):
    _same_parse([text])


def _source(kind, texts, mode):
    """The program's source and its numba module's (its dialects are other spellings)."""
    program = build(kind, texts, None, mode).program
    return printing.function_source(program) + numba_backend.module_source(program)


@contextlib.contextmanager
def _pure():
    """Everything in pure Python: the graph class, and the checker's and printer's loops."""
    with mock.patch.object(api, "Graph", PURE), mock.patch.object(printing, "_infix_lines", None), \
            mock.patch.object(program_module, "_check_body", None):
        yield


def _both_ways(kind, texts, mode):
    try:
        fast = _source(kind, texts, mode)
    except (ValueError, NotImplementedError) as e:
        fast = repr(e)
    with _pure():
        try:
            pure = _source(kind, texts, mode)
        except (ValueError, NotImplementedError) as e:
            pure = repr(e)
    assert fast == pure, texts


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("kind", ["grad", "hessian"])
def test_the_same_programs_as_pure_python(kind, mode):
    for text in CORPUS:
        _both_ways(kind, [text], mode)


@pytest.mark.parametrize("kind", ["jvp", "hvp"])
def test_the_same_directional_programs_as_pure_python(kind):
    # a direction of its own (x_dot): the tangents' hints are ("direction", v)
    for text in CORPUS:
        _both_ways(kind, [text], "auto")


def test_the_same_jacobians_of_several_formulas_as_pure_python():
    # several formulas, forward mode: nodes carry maps of several directions, and a sum
    # takes over the largest of its terms' maps (the heir)
    for k in range(0, len(CORPUS) - 2, 3):
        _both_ways("jacobian", CORPUS[k:k + 3], "forward")
    _both_ways("jacobian", ["x + y + x*y", "sin(x + y) + (x + y)^2", "x + x + y*y"], "forward")


def test_forward_mode_runs_the_c_loop():
    # the comparisons above mean something only where the C loop is the one taken
    calls = []
    loop = forward_module._forward_loop

    def counted(*args):
        calls.append(len(args[1]))
        return loop(*args)
    with mock.patch.object(forward_module, "_forward_loop", counted):
        build("jacobian", ["x*y", "sin(x)"], None, "forward")
    assert calls and calls[0] > 0


@given(formulas(smooth_only=False), st.sampled_from(["forward", "reverse"]))
def test_random_formulas_make_the_same_programs(text, mode):
    fast = _source("hessian", [text], mode)
    with _pure():
        assert _source("hessian", [text], mode) == fast


@given(st.lists(formulas(smooth_only=False), min_size=2, max_size=3))
def test_random_jacobians_by_forward_mode_make_the_same_programs(texts):
    fast = _source("jacobian", texts, "forward")
    with _pure():
        assert _source("jacobian", texts, "forward") == fast


def test_a_graph_copies_and_pickles_with_its_c_attributes():
    g = graph_module.Graph()
    root = parse_to_graph("sin(x)*y + 2*(3*x)", g)
    g.hints[root] = ("adjoint", root)
    for other in (copy.deepcopy(g), pickle.loads(pickle.dumps(g))):
        assert _table(other) == _table(g) and other.hints == g.hints
        # its interning tables came along: the formula again makes no new node
        assert parse_to_graph("y*sin(x) + 2*(3*x)", other) == root and len(other) == len(g)


def test_wrong_calls_into_the_core_are_errors_not_crashes():
    g = graph_module.Graph()
    x = g.symbol("x")
    with pytest.raises(IndexError, match="node 99 is not in the graph"):
        g.add(x, 99)
    with pytest.raises(TypeError):
        g.mul(x, "y")
    with pytest.raises(TypeError, match="pow"):
        g.pow(x)
    loop = graph_module._graphcore.forward_loop
    y = g.mul(x, x)
    with pytest.raises(TypeError, match="forward_loop"):
        loop(g, [x, y])
    with pytest.raises(IndexError, match="node 99 is not in the graph"):
        loop(g, [x, 99], [y], {x: {0: g.one}}, [x], {}, forward_module.partials_of, None, True)
    with pytest.raises(TypeError, match="forward_loop"):
        loop(g, [x, y], [y], {x: {0: g.one}}, [x], {}, forward_module.partials_of, [], True)
    with pytest.raises(IndexError, match="node 99 is not in the graph"):
        graph_module._graphcore.schedule(g, [x, 99], {})
    with pytest.raises(TypeError, match="schedule"):
        graph_module._graphcore.schedule(g, [x, y])


# ASCII text, whitespace and control characters included: what the C tokenizer reads itself
_ASCII = st.lists(st.sampled_from([chr(c) for c in range(128)] + ["**", "1e5", "2.5E-3", "e+", ".5", "sin("]),
                  max_size=40).map("".join)


@given(_ASCII)
def test_the_c_tokenizer_finds_the_tokens_the_regular_expression_finds(text):
    assert graph_module._graphcore.tokens(text) == _FAST_TOKEN.findall(text) + [""]


def test_the_c_tokenizer_leaves_other_text_to_the_regular_expression():
    assert graph_module._graphcore.tokens("x + \u03b1") is None
    _same_parse(["x\u2003+ y", "\u03b1 + 1", "x\u00a0*\u00a0y"])     # em space, alpha, no-break space


def _run(code, **env):
    return subprocess.run([sys.executable, "-c", code], env={**os.environ, **env}, capture_output=True,
                          text=True, check=True)


def test_symdiff_runs_in_pure_python_when_asked():
    code = ("import symdiff as sd, symdiff.graph as g; "
            "print(g.ACCELERATED, g.Graph is g._PyGraph, sd.grad('(a+b)*(b+1)', ['a', 'b'])(2, 1))")
    assert _run(code, SYMDIFF_PURE_PYTHON="1").stdout.split() == ["False", "True", "[2.", "5.]"]


def test_a_c_core_built_from_other_sources_is_left_out_with_a_warning():
    # what an editable install whose C core was not rebuilt after an update would see
    code = ("import sys, types, warnings; warnings.simplefilter('always'); "
            "old = types.ModuleType('symdiff._graphcore'); old.API = 0; old.__file__ = '_graphcore.so'; "
            "sys.modules['symdiff._graphcore'] = old; "
            "import symdiff as sd, symdiff.graph as g; "
            "print(g.ACCELERATED, sd.grad('x^2', ['x'])(3.0))")
    result = _run(code)
    assert result.stdout.split() == ["False", "[6.]"]
    assert "RuntimeWarning: symdiff's C core" in result.stderr and "rebuilt" in result.stderr


def test_ctrl_c_stops_a_long_build_at_once():
    # the C loops look for signals as they go, as the interpreter does between bytecodes
    text = rosenbrock(300_000)          # about 15 s from text to source on this machine

    def interrupt(*_):
        raise KeyboardInterrupt
    previous = signal.signal(signal.SIGALRM, interrupt)
    try:
        signal.setitimer(signal.ITIMER_REAL, 1.0)
        start = time.perf_counter()
        with pytest.raises(KeyboardInterrupt):
            printing.function_source(build("grad", [text], None, "reverse").program)
        assert time.perf_counter() - start < 3.0
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


def _bad_programs():
    """Programs each wrong in one way the checker looks for, and one right one."""
    from symdiff.program import Instr, Program
    good = [Instr("t0", "mul", ("x", "y")), Instr("t1", "add", ("t0", 1.0)), Instr("t2", "sin", ("t1",))]
    cases = {"good": good}
    cases["unknown op"] = good[:2] + [Instr("t2", "frobnicate", ("t1",))]
    cases["wrong arity"] = good[:2] + [Instr("t2", "sin", ("t1", "t0"))]
    cases["used before defined"] = [good[1], good[0], good[2]]
    cases["assigned twice"] = good + [Instr("t1", "cos", ("t0",))]
    cases["input assigned"] = good + [Instr("x", "cos", ("t0",))]
    cases["not an identifier"] = good + [Instr("t 3", "cos", ("t0",))]
    cases["keyword"] = good + [Instr("lambda", "cos", ("t0",))]
    cases["an int operand"] = good + [Instr("t3", "mul", ("t0", 2))]
    cases["a list of operands"] = good + [Instr("t3", "cos", ["t0"])]
    cases["an unhashable operand"] = good + [Instr("t3", "cos", (["t0"],))]
    return {name: Program("f", ("x", "y"), tuple(body), ("t2",), ("f",)) for name, body in cases.items()}


@pytest.mark.parametrize("name", list(_bad_programs()))
def test_the_c_checker_passes_and_fails_what_the_python_one_does(name):
    program = _bad_programs()[name]

    def outcome():
        try:
            program_module.check(program)
            return "ok"
        except (program_module.ProgramError, TypeError) as e:
            return f"{type(e).__name__}: {e}"
    fast = outcome()
    with _pure():
        assert outcome() == fast
    assert (fast == "ok") == (name in ("good", "a list of operands"))     # any sequence will do
