"""The straight-line IR: checker, reference interpreter, optimizer."""

import numpy as np
import pytest

from symdiff.optimize import optimize
from symdiff.program import Instr, Program, ProgramError, check, interpret


def program(body, outputs, inputs=("a", "b")):
    return Program("f", tuple(inputs), tuple(Instr(*i) for i in body), tuple(outputs),
                   tuple(f"o{k}" for k in range(len(outputs))))


def test_checker_accepts_a_well_formed_program():
    p = program([("t0", "add", ("a", "b")), ("t1", "mul", ("t0", 2.0))], ["t1"])
    assert check(p) is p


@pytest.mark.parametrize("body,outputs,message", [
    ([("t0", "add", ("a", "t1")), ("t1", "neg", ("a",))], ["t0"], "before it is defined"),
    ([("t0", "neg", ("a",)), ("t0", "neg", ("b",))], ["t0"], "second time"),
    ([("a", "neg", ("b",))], ["a"], "second time"),
    ([("t0", "frobnicate", ("a",))], ["t0"], "unknown op"),
    ([("t0", "add", ("a",))], ["t0"], "takes 2 operands"),
    ([("t0", "neg", ("a",))], ["t9"], "never defined"),
    ([("t0", "neg", (2,))], ["t0"], "not a name or float"),
    ([("lambda", "neg", ("a",))], ["lambda"], "not a valid identifier"),
])
def test_checker_rejects_malformed_programs(body, outputs, message):
    with pytest.raises(ProgramError, match=message):
        check(program(body, outputs))


def test_interpreter_has_ieee_semantics():
    p = program([("t0", "div", ("a", "b")), ("t1", "log", ("b",))], ["t0", "t1"])
    out = interpret(p, 1.0, 0.0)
    assert out[0] == np.inf and out[1] == -np.inf
    out = interpret(p, np.array([1.0, 2.0]), np.array([2.0, -1.0]))
    np.testing.assert_array_equal(out[0], [0.5, -2.0])
    assert np.isnan(out[1][1])


def test_optimizer_folds_constants_and_identities():
    p = program([
        ("t0", "mul", (2.0, 3.0)),           # 6.0
        ("t1", "mul", ("a", 1.0)),           # a
        ("t2", "add", ("t1", 0.0)),          # a
        ("t3", "mul", ("t2", "t0")),         # a * 6.0
        ("t4", "mul", ("b", 0.0)),           # 0.0
        ("t5", "add", ("t3", "t4")),         # t3
        ("t6", "pow", ("t5", 1.0)),          # t3
        ("t7", "div", ("t6", 1.0)),          # t3
        ("t8", "sub", ("t7", 0.0)),          # t3
    ], ["t8", "t4"])
    q = check(optimize(p))
    assert q.body == (Instr("t3", "mul", ("a", 6.0)),)
    assert q.outputs == ("t3", 0.0)


def test_optimizer_shares_common_subexpressions_and_drops_dead_code():
    p = program([
        ("t0", "add", ("a", "b")),
        ("t1", "add", ("b", "a")),           # same as t0 (commutative)
        ("t2", "sin", ("t0",)),
        ("t3", "sin", ("t1",)),              # same as t2
        ("t4", "cos", ("a",)),               # dead
        ("t5", "mul", ("t2", "t3")),
    ], ["t5"])
    q = check(optimize(p))
    assert [i.target for i in q.body] == ["t0", "t2", "t5"]
    assert q.body[-1].args == ("t2", "t2")
    for a, b in [(0.3, 0.9), (-2.0, 1.5)]:
        np.testing.assert_allclose(interpret(q, a, b), interpret(p, a, b))


def test_optimizer_rewrites_negations():
    p = program([("t0", "neg", ("b",)), ("t1", "add", ("a", "t0")), ("t2", "neg", ("t0",)),
                 ("t3", "mul", ("t1", "t2"))], ["t3"])
    q = check(optimize(p))
    ops = [i.op for i in q.body]
    assert ops == ["sub", "mul"]
    assert q.body[1].args == ("t1", "b")


def test_peak_live_and_counts():
    p = program([("t0", "add", ("a", "b")), ("t1", "sin", ("t0",)), ("t2", "mul", ("t1", "a")),
                 ("t3", "div", ("t2", "b"))], ["t3"])
    assert p.operation_count == 4
    assert p.operation_counts() == {"add": 1, "mul": 1, "div": 1, "transcendental": 1, "compare": 0}
    assert p.peak_live() == 2


def test_schedule_follows_ranks_and_pulls_arguments_forward():
    from symdiff.graph import Graph
    from symdiff.lower import schedule
    g = Graph()
    x, y = g.symbol("x"), g.symbol("y")
    a = g.call("sin", x)
    b = g.call("cos", a)
    c = g.call("exp", y)
    root = g.add(b, c)
    # no ranks: ascending id; exp(y) ranked first comes first; cos(sin(x)) ranked first
    # brings its arguments along, just before it
    assert schedule(g, [root], {}) == [x, y, a, b, c, root]
    assert schedule(g, [root], {c: -1}) == [y, c, x, a, b, root]
    assert schedule(g, [root], {b: -1}) == [x, a, b, y, c, root]
