"""Forward vs reverse: the report, the cost model, the classic lesson, gradient checks."""

import importlib

import numpy as np
import pytest

import symdiff as sd
from symdiff.compare import fan_family
from symdiff.examples import TOY_NETWORK_LOSS, TOY_NETWORK_PARAMETERS, rosenbrock


def test_reverse_for_many_inputs_one_output():
    report = sd.compare(fan_family(31, 1)[0], measure=False)
    assert report.recommended == "reverse"
    assert report.forward.sweeps == 31 and report.reverse.sweeps == 1
    # the optimized programs show why: forward carries 31 tangents through the chain
    assert report.reverse.ops * 3 < report.forward.ops
    assert "31 inputs and 1 output" in report.reason


def test_forward_for_one_input_many_outputs():
    report = sd.compare(fan_family(1, 30), measure=False)
    assert report.recommended == "forward"
    assert report.forward.sweeps == 1 and report.reverse.sweeps == 30
    assert report.forward.ops * 2 < report.reverse.ops
    assert "1 input and 30 outputs" in report.reason


def test_reason_explains_a_choice_against_the_sweep_count():
    # 2 inputs, 3 outputs, but each node feeds one output: the cost model counts
    # forward 2*2 + 2*2 + 1 = 9 (x*y and x+y carry two tangents) against reverse 2 + 2 + 1 = 5
    report = sd.compare(["x*y", "x+y", "sin(x)"], measure=False)
    assert (report.forward.estimate, report.reverse.estimate, report.recommended) == (9, 5, "reverse")
    assert report.reason.startswith("2 inputs and 3 outputs: forward mode needs fewer sweeps (2 vs 3), but "
                                    "most nodes feed few of the outputs")
    assert "holds up to 1 value at once" in report.reason
    assert "nothing to differentiate" in sd.compare("2", measure=False).reason
    # as many inputs as outputs: the sweeps are as many, their lengths decide (x*y and x+y each
    # have 2 arguments, depend on 2 inputs and feed 1 output: forward 2*2 + 2*2 = 8, reverse 2 + 2 = 4)
    report = sd.compare(["x*y", "x+y"], measure=False)
    assert (report.forward.estimate, report.reverse.estimate, report.recommended) == (8, 4, "reverse")
    assert report.reason.startswith("2 inputs and 2 outputs: both modes need 2 sweeps, but summed over the "
                                    "nodes they feed fewer outputs than they depend on inputs")
    assert sd.compare("sin(x)", measure=False).reason.startswith(
        "1 input and 1 output: both modes need 1 sweep and the same work; on a tie forward mode is picked")
    assert str(sd.compare("sin(x)", measure=False)).splitlines()[1] == "  1 input (x), 1 output"


def test_reason_says_when_the_sweep_count_overstates_the_program():
    # Rosenbrock: every term depends on two of the 50 inputs, so the forward program is about
    # as long as the reverse one (538 vs 489) although the textbook counts 50 forward sweeps
    report = sd.compare(rosenbrock(50), measure=False)
    assert report.recommended == "reverse" and 4 * report.forward.ops <= 5 * report.reverse.ops
    assert report.reason.endswith("Forward mode's program is nearly as short all the same: most nodes "
                                  "depend on few of the inputs, and symdiff carries all 50 directions in one "
                                  "walk and skips the zero tangents, so '50 sweeps' is the textbook's cost, "
                                  "not this program's.")
    # the same the other way: sin(k*x) for k = 1..8, each output's sweep covers its own nodes
    report = sd.compare([f"sin({k}*x)" for k in range(1, 9)], measure=False)
    assert report.recommended == "forward" and 4 * report.reverse.ops <= 5 * report.forward.ops
    assert "so '8 sweeps' is the textbook's cost, not this program's." in report.reason
    # where the dependence is dense the sweep count is the work, and nothing is added; nor on
    # UDL's toy network, whose forward program is 1.65 times the reverse one (43 vs 26)
    for f in (fan_family(16, 1)[0], fan_family(1, 16)):
        report = sd.compare(f, measure=False)
        assert "textbook" not in report.reason and report.reason.endswith("forward 19).")
    report = sd.compare(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS, measure=False)
    assert (report.forward.ops, report.reverse.ops) == (43, 26) and "textbook" not in report.reason


@pytest.mark.parametrize("depth", [10, 100, 1000])
def test_forward_memory_stays_flat_with_depth_reverse_grows(depth):
    # the classic memory lesson on sin(exp(...(x))): forward mode computes each value next to
    # its tangent and drops it (x, the value, its tangent and cos: 4 names alive at most, any
    # depth); reverse mode keeps every exp for its sweep back: depth/2 of them, plus 2
    from symdiff.examples import sin_exp_chain
    report = sd.compare(sin_exp_chain(depth), measure=False)
    assert report.forward.peak_live == 4
    assert report.reverse.peak_live == depth // 2 + 2


def test_programs_side_by_side():
    report = sd.compare("sin(exp(sin(exp(x))))", measure=False)
    lines = report.programs().splitlines()
    assert lines[0].split("|")[0].strip() == "forward mode" and lines[0].split("|")[1].strip() == "reverse mode"
    left = [line.split("|")[0].strip() for line in lines[2:]]
    right = [line.split("|")[1].strip() for line in lines[2:]]
    # forward mode: each value then its tangent; reverse mode: the values, then the sweep back
    assert left[:4] == ["t0 = np.exp(x)", "t1 = np.sin(t0)", "t2 = np.cos(t0)", "dt1_dx = t0 * t2"]
    assert right[:3] == ["t0 = np.exp(x)", "t1 = np.sin(t0)", "t2 = np.exp(t1)"]
    assert left[-1] == "return (t5,)" and right[-1] == "return (adj_x,)"
    assert len(lines) == 2 + report.forward.length + 1
    # long programs are shortened, and left out of the notebook view
    from symdiff.examples import sin_exp_chain
    long = sd.compare(sin_exp_chain(100), measure=False)
    assert "... (242 more lines)" in long.programs(limit=8) and len(long.programs(limit=8).splitlines()) == 10
    assert "<pre>" in report._repr_html_() and "<pre>" not in long._repr_html_()


def test_check_grad_at_a_kink_says_so():
    # relu at 0: left difference 0, right 1, central 0.5; symdiff's relu'(0) = 0 by convention
    check = sd.check_grad("relu(x)", at={"x": 0.0})
    assert not check.ok and check.numeric.tolist() == [0.5]
    np.testing.assert_allclose(check.one_sided, [[0.0, 1.0]])
    assert "f has a kink or a jump in x here: the one-sided differences are 0 (left) and 1 (right)" in str(check)
    # a smooth function that fails for another reason gets no such line
    assert "kink" not in str(sd.check_grad("x^2", at={"x": 1.0}, tolerance=1e-30))
    # nor one whose differences in x are rounding noise: f near 2e9 moves by a few ulps over
    # the step, the one-sided differences come out 1.07 and 0.95 (d/dx is 1), and the report
    # says the difference cannot resolve d/dx, not that f has a kink there
    check = sd.check_grad("1e9*z^2 + x", at={"x": 0.7, "z": 0.9})
    left, right = check.one_sided[0]
    assert abs(left - right) > 0.1 and check.rounding[0] > 0.1 and check.reverse.tolist() == [1.0, 1.8e9]
    assert "cannot resolve d/dx here" in str(check) and "kink" not in str(check)
    assert str(sd.check_grad("2", at={})) == "no variables: nothing to check"


def test_check_grad_at_a_point_that_is_not_finite_says_so():
    # the step at x = inf is inf, and inf - inf is nan: the report blamed "f is not finite a
    # step away" (and once printed a RuntimeWarning under the table, found by the command-line
    # fuzz); a point that is not finite is now refused, naming its entries
    with pytest.raises(ValueError, match=r"at= gives x = inf: central differences need a finite point"):
        sd.check_grad("x^2", at={"x": np.inf})
    with pytest.raises(ValueError, match=r"at= gives x = nan, y = -inf: central"):
        sd.check_grad("x*y", at={"x": np.nan, "y": -np.inf})
    # and so are a step or a tolerance that cannot make a check (step=0 gave nan and the same
    # wrong explanation, a negative tolerance failed every check)
    for step in (0, -1e-6, np.inf, np.nan):
        with pytest.raises(ValueError, match="step must be a finite number, more than 0"):
            sd.check_grad("x^2", at={"x": 1.0}, step=step)
    with pytest.raises(ValueError, match="tolerance must be a finite number, 0 or more, not -1"):
        sd.check_grad("x^2", at={"x": 1.0}, tolerance=-1)
    with pytest.raises(TypeError, match="step must be a number, not '1e-3'"):
        sd.check_grad("x^2", at={"x": 1.0}, step="1e-3")


def test_scaling_study_arguments_are_checked():
    with pytest.raises(ValueError, match="ns must be positive integers"):
        sd.scaling_study(ns=(0,), ms=(1,))        # was a ParseError of the generated formula
    with pytest.raises(ValueError, match="ms must be positive integers"):
        sd.scaling_study(ns=(1,), ms=())
    with pytest.raises(ValueError, match="ns must be positive integers"):
        sd.scaling_study(ns=(True,), ms=(1,))     # was a row of n = True
    for bad in (3, "12"):                          # 3 was "'int' object is not iterable"
        with pytest.raises(TypeError, match="ms must be a list of counts of inputs and outputs"):
            sd.scaling_study(ns=(1,), ms=bad)
    # a generator is read once, not once for each m (the second m had no rows)
    assert len(sd.scaling_study(ns=(n for n in (1, 2)), ms=(1, 2))) == 4
    with pytest.raises(ValueError, match="plot_scaling needs the rows"):
        sd.plot_scaling([])
    # what is not scaling_study's rows: a clear error, not "'int' object is not iterable"
    for bad in (3, {"n": 1}):
        with pytest.raises(TypeError, match="plot_scaling takes the list of rows scaling_study returns"):
            sd.plot_scaling(bad)
    with pytest.raises(TypeError, match=r"dicts with n, m, forward and reverse; got \{'n': 1\}"):
        sd.plot_scaling([{"n": 1}])
    # programs of no operations (sums pass derivatives on free) were log2(0 / 0): a division by zero
    rows = sd.scaling_study(ns=(1, 2), ms=(1, 2), family=lambda n, m: [f"x1 + x{n}"] * m)
    assert {(r["forward"], r["reverse"]) for r in rows} == {(0, 0)}
    assert sd.plot_scaling(rows).images[0].get_array().tolist() == [[0.0, 0.0], [0.0, 0.0]]
    # a family gives m formulas: 3 failed inside ("'int' object is not iterable"), and a list of
    # another length was labelled with m outputs it did not have
    with pytest.raises(ValueError, match=r"^scaling_study: family\(1, 2\) gave 1 formula; it must give m = 2"):
        sd.scaling_study(ns=(1,), ms=(2,), family=lambda n, m: 3)
    with pytest.raises(ValueError, match=r"^scaling_study: family\(2, 1\) gave 3 formulas; it must give m = 1"):
        sd.scaling_study(ns=(2,), ms=(1,), family=lambda n, m: ["x1", "x2", "x1*x2"])
    # compare's samples: a count of points (0 and -1 were taken as 1, 1.5 failed inside numpy)
    for bad in (0, -1, 1.5, "10", True):
        with pytest.raises(ValueError, match="compare: samples must be a whole number of points, 1 or more"):
            sd.compare("x*y", samples=bad)
    with pytest.raises(TypeError, match="^compare: measure must be True or False, not 'no'"):
        sd.compare("x*y", measure="no")


def test_auto_mode_uses_the_same_cost_model():
    assert sd.jacobian(fan_family(1, 30), backend="python").mode == "forward"
    assert sd.grad(fan_family(31, 1)[0], backend="python").mode == "reverse"


@pytest.mark.parametrize("f, kind, shorter, counts", [
    # 2 inputs, 2 outputs; by hand: forward is x*y, cos, y*c, x*c, y + y*c, x + x*c (6); reverse
    # x*y, cos, c + 1, then y and x times each adjoint (7).  The cost model says the opposite:
    # forward 2*2 + 2*2 + 1*2 (x*y, the sum, sin) = 10, reverse 2*2 + 2*1 + 1*2 = 8
    (["x*y + sin(x*y)", "sin(x*y)"], sd.jacobian, "forward", (6, 7)),
    # 1 input, 1 output: the cost model ties (5 vs 5), and forward mode leaves its two
    # constants apart: sin, cos, 2*s, c*(2*s), 2*(...) (5) against sin, 4*s, cos, (4*s)*c (4)
    ("2*sin(x)^2", sd.grad, "reverse", (5, 4)),
    # a tie of the cost model (5 vs 5) that forward mode would have won anyway: the reason
    # still says the programs decided, not "the same work".  Forward: x^2, 2*t0, 4*x, exp,
    # exp * 4x (5); reverse: x^2, 2*t0, exp, 2*exp, 2*x, their product (6)
    ("exp(2*x^2)", sd.grad, "forward", (5, 6)),
])
def test_auto_builds_both_small_programs_and_keeps_the_shorter(f, kind, shorter, counts):
    programs = {mode: kind(f, mode=mode, backend="python") for mode in ("forward", "reverse")}
    assert tuple(programs[m].program.operation_count for m in ("forward", "reverse")) == counts
    auto = kind(f, backend="python")
    assert auto.mode == shorter and auto.source == programs[shorter].source
    report = sd.compare(f, measure=False)
    assert report.recommended == shorter
    assert f"the {shorter} one is shorter: {min(counts)} vs {max(counts)} operations" in report.reason
    assert "the same work" not in report.reason
    # the numbers, against SymPy's diff
    import sympy
    exprs = [sympy.sympify(e.replace("^", "**")) for e in (f if isinstance(f, list) else [f])]
    at = {"x": 0.7, "y": -1.3}
    symbols = sorted(set().union(*(e.free_symbols for e in exprs)), key=lambda s: s.name)
    expected = np.array([[float(sympy.diff(e, s).subs({t: at[t.name] for t in symbols})) for s in symbols]
                         for e in exprs])
    got = auto(**{s.name: at[s.name] for s in symbols})
    np.testing.assert_allclose(np.reshape(got, expected.shape), expected, rtol=1e-13)


def test_auto_follows_the_estimate_beyond_the_exact_limit(monkeypatch):
    # past EXACT_PICK_WORK the programs are not both built: the cost model decides, and
    # compare recommends what auto picks
    from symdiff import api
    monkeypatch.setattr(api, "EXACT_PICK_WORK", 0)
    f = ["x*y + sin(x*y)", "sin(x*y)"]
    assert sd.jacobian(f, backend="python").mode == "reverse"        # estimates 10 vs 8
    report = sd.compare(f, measure=False)
    assert report.recommended == "reverse" and "the cost model" not in report.reason
    assert sd.grad("2*sin(x)^2", backend="python").mode == "forward"   # a tie, 1 input <= 1 output


def test_auto_never_builds_a_gradient_twice(monkeypatch):
    # one output of several inputs is reverse mode's without building forward mode's program
    from symdiff import api
    modes = []
    real = api._build

    def recording(kind, formulas, wrt, mode, *rest):
        modes.append(mode)
        return real(kind, formulas, wrt, mode, *rest)
    monkeypatch.setattr(api, "_build", recording)
    assert sd.grad("x*y + sin(x)", backend="python").mode == "reverse" and modes == ["auto"]
    modes.clear()
    assert sd.jacobian(["x*y", "x+y"], backend="python").mode == "reverse"   # ops tie: 0 vs 0
    assert modes == ["auto", "forward", "reverse"]


@pytest.mark.parametrize("formulas", [
    ["x*y + sin(x*y)", "x + y + z", "exp(z)*x"],
    fan_family(4, 3, depth=2),
    [rosenbrock(12)],
    ["a*b", "a*b", "c"],                    # two outputs on one node, one output a bare input
    # banded residuals: each set starts at its lowest member (see api._union)
    [f"x{i - 1} - 2*x{i} + x{i + 1} + sin(x{i})*x{i + 1}" for i in range(1, 40)],
    ["x*x", "x + x", "sin(x)*y + y"],       # an argument twice
])
def test_cost_estimates_against_sets(formulas):
    # the estimates count, per node feeding some output and depending on some input, arity x
    # inputs it depends on (forward) and arity x outputs it feeds (reverse): here by plain sets
    from symdiff.api import cost_estimates, prepare
    problem = prepare(formulas, None)
    g, outputs, wrt = problem.graph, problem.roots, problem.wrt_nodes
    order = g.reachable(outputs)
    depends = {}
    for v in order:
        depends[v] = ({v} & set(wrt)).union(*(depends[a] for a in g.args[v]))
    feeds = {v: set() for v in order}
    for i, o in enumerate(outputs):
        feeds[o].add(i)
    for v in reversed(order):
        for a in g.args[v]:
            feeds[a] |= feeds[v]
    active = [v for v in order if g.args[v] and depends[v] and feeds[v]]
    expected = (sum(len(g.args[v]) * len(depends[v]) for v in active),
                sum(len(g.args[v]) * len(feeds[v]) for v in active))
    assert cost_estimates(g, outputs, wrt) == expected


def test_report_fields_table_html_and_timing():
    report = sd.compare("(a + b) * (b + 1)", wrt=["a", "b"], backend="python", samples=200)
    for side in (report.forward, report.reverse):
        assert side.ops == sum(side.ops_by_kind.values())
        assert side.length == len(side.program.body)
        assert side.peak_live >= 1
        assert side.seconds is not None and side.seconds > 0
    text = str(report)
    assert "arithmetic operations" in text and "recommended: reverse" in text
    assert "<table>" in report._repr_html_()


def test_timing_a_large_jacobian_takes_fewer_points(monkeypatch):
    # Rosenbrock in 3,000 variables: 10,000 points would make a 240 MB Jacobian per call
    compare_module = importlib.import_module("symdiff.compare")     # sd.compare is the function
    sizes = []
    real = compare_module.compile_built

    def recording(built, backend):
        fn = real(built, backend)
        kernel = fn._kernel         # what compare times: the batch kernel

        def call(arrays, shape):
            assert all(np.size(a) == shape[0] for a in arrays)
            sizes.append(shape[0])
            return kernel(arrays, shape)
        fn._kernel = call
        return fn
    monkeypatch.setattr(compare_module, "compile_built", recording)
    report = sd.compare(rosenbrock(3000), backend="python")
    assert report.forward.seconds > 0 and report.reverse.seconds > 0
    # per mode: a warm-up on 16 points, then three timed calls
    assert sizes == [16] + [2_000_000 // (3000 + 3000)] * 3 + [16] + [333] * 3
    sizes.clear()
    small = sd.compare("x*y", backend="python", samples=500)      # a small one: as asked
    assert small.forward.seconds > 0 and sizes == ([16] + [500] * 3) * 2
    # compiled, a program too long to time on all the points in _MEASURE_SECONDS is timed on
    # as many as fit, which a second call on the warm-up's points tells (here: any program)
    sizes.clear()
    monkeypatch.setattr(compare_module, "_MEASURE_SECONDS", 1e-12)
    short = sd.compare("x*sin(y)", backend="numba", samples=500)
    assert short.forward.seconds > 0 and sizes == ([16, 16] + [1] * 3) * 2
    # the python backend is timed on every point asked for: its cost per point falls with the
    # batch (each numpy operation costs microseconds per call), so a few points would mislead
    sizes.clear()
    sd.compare("x*sin(y)", backend="python", samples=500)
    assert sizes == ([16] + [500] * 3) * 2


def test_report_plot(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    report = sd.compare(fan_family(4, 2), measure=False)
    ax = report.plot()
    path = tmp_path / "compare.png"
    ax.figure.savefig(path)
    assert path.stat().st_size > 1000


def test_scaling_study_reproduces_the_classic_lesson(tmp_path):
    import matplotlib
    matplotlib.use("Agg")
    rows = sd.scaling_study(ns=(1, 16), ms=(1, 16))
    winner = {(r["n"], r["m"]): r["winner"] for r in rows}
    assert winner[(16, 1)] == "reverse"
    assert winner[(1, 16)] == "forward"
    ax = sd.plot_scaling(rows)
    ax.figure.savefig(tmp_path / "scaling.png")


def test_fan_family_jacobian_matches_central_differences():
    fs = fan_family(2, 3, depth=2)
    point = {"x1": 0.3, "x2": -0.2}
    J = sd.jacobian(fs, wrt=["x1", "x2"], backend="python")(**point)
    h = 1e-6
    for i, f in enumerate(fs):
        value = sd.value_and_grad(f, wrt=["x1", "x2"], backend="python")
        for j, name in enumerate(["x1", "x2"]):
            up = value(**dict(point, **{name: point[name] + h}))[0]
            down = value(**dict(point, **{name: point[name] - h}))[0]
            assert J[i, j] == pytest.approx((up - down) / (2 * h), rel=1e-6)


def test_check_grad_agrees_and_reports():
    check = sd.check_grad("(x + sigmoid(y)) / (sigmoid(x) + (x + y)^2)", at={"x": 3, "y": -4})
    assert check.ok and check.max_relative_error < 1e-8
    np.testing.assert_allclose(check.forward, check.reverse, rtol=1e-14)
    assert "largest relative error" in str(check)
    with pytest.raises(TypeError, match="needs a value for 'y'"):
        sd.check_grad("x*y", at={"x": 1})
    with pytest.raises(TypeError, match="at= must be a dict"):
        sd.check_grad("x*y", at=[1, 2])
    for bad in ("a", [1, 2], None, 1j):
        with pytest.raises(TypeError, match=r"at= gives x = .*; it must be a real number"):
            sd.check_grad("x*y", at={"x": bad, "y": 2})
    # a value for a variable the formula lacks is an error: usually a typo for a missing one
    with pytest.raises(TypeError, match=r"gives 'z', which is not a variable of the formula "
                                        r"\(the formula's variables: x, y\)"):
        sd.check_grad("x*y", at={"x": 1, "y": 2, "z": 3})
    # z named in wrt only: an input, listed apart from the formula's own variables
    with pytest.raises(TypeError, match=r"needs a value for 'z' \(the formula's variables: x, y; wrt adds z\)"):
        sd.check_grad("x*y", wrt=["x", "z"], at={"x": 1, "y": 2})
    check = sd.check_grad("x*y", wrt=["x", "z"], at={"x": 1, "y": 2, "z": 3})
    assert check.ok and check.reverse.tolist() == [2.0, 0.0]


def test_check_grad_steps_every_variable_in_batches(monkeypatch):
    # the perturbed points go through the program together, a few variables a call: the
    # differences are those of one call per point, bit for bit
    monkeypatch.setattr(importlib.import_module("symdiff.check"), "_BATCH_VALUES", 100)
    text = "x*exp(y) + sin(z*w) - w^3/(1 + x^2) + y*z"
    point = {"w": 0.7, "x": -1.3, "y": 0.4, "z": 2.5}
    check = sd.check_grad(text, at=point)
    assert check.ok and check.wrt == ["w", "x", "y", "z"]
    f = sd.value_and_grad(text, backend="python")
    for name, numeric in zip(check.wrt, check.numeric):
        h = 1e-6 * max(1.0, abs(point[name]))
        up = f(**dict(point, **{name: point[name] + h}))[0]
        down = f(**dict(point, **{name: point[name] - h}))[0]
        assert numeric == (up - down) / (2 * h), name


def test_check_grad_allows_for_the_rounding_in_its_differences():
    # f near 10^6 and h = 1e-6: rounding alone puts about 1e-4 into each difference quotient,
    # so exact derivatives (y, x) miss a 1e-6 tolerance; the check allows that much and says so
    check = sd.check_grad("x*y + 1e6", at={"x": 1.3, "y": 0.7})
    assert check.forward.tolist() == check.reverse.tolist() == [0.7, 1.3]
    assert check.max_relative_error > 1e-6 and check.ok
    assert "rounding noise where larger" in str(check)
    # where rounding swamps the difference (f near 1e14), nothing is checked: not ok, and why
    check = sd.check_grad("1e14*x + sin(y)", at={"x": 1.0, "y": 1.0})
    assert not check.ok and "cannot resolve d/dy here" in str(check)
    # the allowance is the differences' noise, not a looser tolerance: a jump still fails
    assert not sd.check_grad("floor(x) + 1e3", at={"x": 2.0}).ok


def test_check_grad_catches_a_wrong_derivative_at_a_kink():
    # at the kink of abs, finite differences see 0 and so do we (abs'(0) = 0): ok
    assert sd.check_grad("abs(x)", at={"x": 0.0}).ok
    # at a jump the numeric derivative explodes and the check says so
    assert not sd.check_grad("floor(x)", at={"x": 2.0}).ok


def test_check_grad_at_the_edge_of_a_domain_says_why_it_cannot_check(recwarn):
    # sqrt'(0) = inf by convention; sqrt(0 - h) is nan, so there is nothing to compare with
    check = sd.check_grad("sqrt(x) + y", at={"x": 0.0, "y": 1.0})
    assert not check.ok and np.isnan(check.max_relative_error)
    assert check.forward[0] == check.reverse[0] == np.inf and check.numeric[1] == pytest.approx(1.0)
    assert "not finite for d/dx: f is not finite a step away" in str(check)
    # several such partials are listed each with its d/d
    check = sd.check_grad("log(x) + log(y)", at={"x": 1e-7, "y": 1e-8})
    assert "not finite for d/dx, d/dy: f is not finite a step away" in str(check)
    # an infinite derivative against a finite difference is an infinite error, not nan
    check = sd.check_grad("1/x", at={"x": 0.0})
    assert not check.ok and check.max_relative_error == np.inf
    assert not [w for w in recwarn if issubclass(w.category, RuntimeWarning)]


def test_long_lists_of_names_in_messages_are_shortened():
    g = sd.grad(rosenbrock(300), backend="python")
    assert len(repr(g)) < 300 and "... (300 in all)" in repr(g)
    with pytest.raises(TypeError) as error:
        g(x0=1.0)
    assert "'x1', 'x10', 'x100'" in str(error.value) and "(299 in all)" in str(error.value)
    assert len(str(error.value)) < 300


def test_a_formula_without_variables_says_so():
    # a constant has an empty gradient; the repr and the report's header say there is nothing
    g = sd.grad("3", backend="python")
    assert g().shape == (0,)
    assert repr(g) == "<symdiff grad of 3 wrt no variables (forward mode, python backend)>"
    assert str(sd.compare("2*pi")).splitlines()[1] == "  0 inputs, 1 output"


def test_a_formula_that_does_not_depend_on_its_variable_is_timed():
    # d(3)/dx and d(y)/dx have no structural nonzeros: compiled, the timing's batch call got
    # an output of 0 rows, which numpy's reshape(0, -1) refused
    for f in ("3", ["y", "2"]):
        report = sd.compare(f, wrt=["x"], samples=50)
        assert report.forward.ops == report.reverse.ops == 0
        assert report.forward.seconds > 0 and report.reverse.seconds > 0
    # the same entry point, called through the public API: no rows at a point, at a batch
    # and at a strided batch (which numpy's gufunc loop walks)
    j = sd.jacobian(["y"], wrt=["x"], sparse=True)
    assert j(x=1.0, y=2.0).shape == (1, 1) and j(x=1.0, y=2.0).nnz == 0
    assert j._kernel([np.ones(6)[::2], np.ones(3)], (3,)).shape == (0, 3)


def test_header_of_a_large_problem_stays_short():
    # found comparing Rosenbrock n=3000: the header listed all 3000 inputs; like a
    # function's docstring it names the first 32 (and the first 8 formulas)
    report = sd.compare(rosenbrock(40), measure=False)
    header = str(report).splitlines()[1]
    assert header.startswith("  40 inputs (x0, x1, x10, ")
    assert header.endswith(", x36, x37, ...), 1 output") and header.count(", x") == 31
    many = sd.compare([f"x*{k}" for k in range(12)], measure=False)
    assert str(many).splitlines()[0] == "forward vs reverse for x*0, x*1, x*2, x*3, x*4, x*5, x*6, x*7, ... (12 in all)"
    assert "x*7, ... (12 in all)</code>" in many._repr_html_()


def test_a_banded_jacobian_is_compared_by_its_nonzeros():
    # the structural zeros cost neither mode anything: the same operations as the dense
    # Jacobians' programs, and a 3,000 x 3,002 system no longer builds 9 million zero outputs
    small = [f"x{i - 1} - 2*x{i} + x{i + 1} + 0.1*sin(x{i})" for i in range(1, 9)]
    report = sd.compare(small, measure=False)
    for mode in ("forward", "reverse"):
        dense = sd.jacobian(small, mode=mode, backend="python").program
        assert getattr(report, mode).ops == dense.operation_count and len(dense.outputs) == 8 * 10
        # both modes come from one parse, each on a fork of its graph: the programs are those
        # of a parse of their own
        alone = sd.jacobian(small, mode=mode, backend="python", sparse=True).program
        assert getattr(report, mode).program == alone
    n = 3000
    big = sd.compare([f"x{i - 1} - 2*x{i} + x{i + 1} + 0.1*sin(x{i})" for i in range(1, n + 1)],
                     measure=False)
    # by hand: row i has d/dx(i-1) = 1, d/dxi = -2 + 0.1 cos(xi), d/dx(i+1) = 1: a cosine, a
    # product and a sum a row, in both modes
    assert big.forward.ops == big.reverse.ops == 3 * n
    assert big.forward.ops_by_kind["transcendental"] == n
    assert len(big.forward.program.outputs) == len(big.reverse.program.outputs) == 3 * n


def test_check_grad_of_a_sample_of_the_variables(monkeypatch):
    import importlib
    check_module = importlib.import_module("symdiff.check")
    # by hand: d/dx_i of sum_i i*x_i^2 is 2 i x_i; at x_i = 1 that is 2 i
    text = " + ".join(f"{i}*x{i}^2" for i in range(1, 31))
    point = {f"x{i}": 1.0 for i in range(1, 31)}
    check = sd.check_grad(text, at=point, sample=5)
    assert check.ok and len(check.wrt) == 5 and check.of == 30
    expected = [2.0 * int(name[1:]) for name in check.wrt]
    assert check.forward.tolist() == check.reverse.tolist() == expected
    np.testing.assert_allclose(check.numeric, expected, rtol=1e-8)
    assert "checked 5 of the 30 partial derivatives, chosen at random (seed 0)" in str(check)
    assert check.wrt == sd.check_grad(text, at=point, sample=5).wrt          # the same sample again
    whole = sd.check_grad(text, at=point, sample=100)                        # more than there are: all
    assert len(whole.wrt) == 30 and "checked" not in str(whole)
    for bad in (0, -1, 2.5, True):
        with pytest.raises(ValueError, match="sample must be a whole number of variables"):
            sd.check_grad("x", at={"x": 1.0}, sample=bad)
    # a long program runs on numba's tape, as on the command line (here: over 2 statements)
    backends = []
    real = check_module.compile_built
    monkeypatch.setattr(check_module, "compile_built", lambda b, backend: backends.append(backend) or real(b, backend))
    monkeypatch.setattr(check_module, "PYTHON_STATEMENTS", 2)
    # (both modes, and the value alone that the central differences evaluate)
    assert sd.check_grad("sin(x)*y + x", at={"x": 0.5, "y": 2.0}).ok and backends == ["numba"] * 3


def test_the_central_differences_evaluate_the_value_alone():
    import importlib
    from symdiff.api import build, compile_built
    from symdiff.examples import rosenbrock
    check_module = importlib.import_module("symdiff.check")
    built = build("value_and_grad", [rosenbrock(20)], None, "reverse")
    value = check_module._value_only(built)
    # Rosenbrock's value is about half its value and gradient (the ratio of 1.0 in the README)
    assert len(value.program.body) < 0.6 * len(built.program.body) and value.program.outputs == built.program.outputs[:1]
    # by hand: Rosenbrock at x = 1 is 0, and at x = 0 it is 19 (each (1 - x_i)^2 term is 1)
    fn = compile_built(value, "python")
    assert fn(*[1.0] * 20) == 0.0 and fn(*[0.0] * 20) == 19.0
    assert fn(*[np.array([0.0, 1.0])] * 20).tolist() == [19.0, 0.0]
