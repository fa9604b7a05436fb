"""The public API against the seeds' worked examples, shapes and errors (python backend)."""

import math

import numpy as np
import pytest
import sympy

import symdiff as sd
from conftest import central_difference, shared_tower, sympy_gradient, sympy_value
from symdiff.examples import rosenbrock

MODES = ["forward", "reverse"]


# -- the seeds' worked examples, hand-worked values -----------------------------------
@pytest.mark.parametrize("mode", MODES)
def test_colah_computational_graph(mode):
    vg = sd.value_and_grad("(a + b) * (b + 1)", wrt=["a", "b"], mode=mode, backend="python")
    value, gradient = vg(a=2, b=1)
    assert value == 6.0
    np.testing.assert_array_equal(gradient, [2.0, 5.0])


@pytest.mark.parametrize("mode", MODES)
def test_apple_shop(mode):
    vg = sd.value_and_grad("apple * num * tax", wrt=["apple", "num", "tax"], mode=mode, backend="python")
    value, gradient = vg(apple=100, num=2, tax=1.1)
    assert value == pytest.approx(220.0)
    np.testing.assert_allclose(gradient, [2.2, 110.0, 200.0])


@pytest.mark.parametrize("mode", MODES)
def test_cs231n_simple_circuit(mode):
    g = sd.grad("(x + y) * z", wrt=["x", "y", "z"], mode=mode, backend="python")
    np.testing.assert_array_equal(g(x=-2, y=5, z=-4), [-4.0, -4.0, 3.0])


@pytest.mark.parametrize("mode", MODES)
def test_sigmoid_neuron(mode):
    text = "1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))"
    vg = sd.value_and_grad(text, wrt=["w0", "w1", "w2", "x0", "x1"], mode=mode, backend="python")
    value, gradient = vg(w0=2, w1=-3, w2=-3, x0=-1, x1=-2)
    s = 1 / (1 + math.exp(-1.0))                   # the dot product is 1
    assert value == pytest.approx(s)
    local = s * (1 - s)                             # 0.19661193...
    np.testing.assert_allclose(gradient, [-local, -2 * local, local, 2 * local, -3 * local])
    np.testing.assert_allclose(gradient[:3], [-0.19661193, -0.39322387, 0.19661193], atol=1e-8)


STAGED = "(x + sigmoid(y)) / (sigmoid(x) + (x + y)^2)"
TOY_NETWORK = "(beta3 + omega3*cos(beta2 + omega2*exp(beta1 + omega1*sin(beta0 + omega0*x))) - y)^2"
TOY_PARAMS = ["beta0", "omega0", "beta1", "omega1", "beta2", "omega2", "beta3", "omega3"]


def _oracle(text):
    """The formula rewritten in SymPy's own functions (sigmoid spelled out)."""
    sig = sympy.Lambda(sympy.Symbol("u"), 1 / (1 + sympy.exp(-sympy.Symbol("u"))))
    return sd.parse(text).replace(lambda e: e.func.__name__ == "sigmoid", lambda e: sig(e.args[0]))


@pytest.mark.parametrize("mode", MODES)
def test_staged_example(mode):
    point = {"x": 3.0, "y": -4.0}
    vg = sd.value_and_grad(STAGED, wrt=["x", "y"], mode=mode, backend="python")
    value, gradient = vg(**point)
    oracle = _oracle(STAGED)
    assert value == pytest.approx(sympy_value(oracle, point), rel=1e-13)
    np.testing.assert_allclose(gradient, sympy_gradient(oracle, ["x", "y"], point), rtol=1e-12)


@pytest.mark.parametrize("mode", MODES)
def test_toy_network_loss_all_eight_parameters(mode):
    point = dict(zip(TOY_PARAMS, [0.1, 0.5, -0.2, 0.8, 0.3, -0.6, 0.05, 1.2]), x=0.7, y=0.4)
    vg = sd.value_and_grad(TOY_NETWORK, wrt=TOY_PARAMS, mode=mode, backend="python")
    value, gradient = vg(**point)
    oracle = sd.parse(TOY_NETWORK)
    np.testing.assert_allclose(gradient, sympy_gradient(oracle, TOY_PARAMS, point), rtol=1e-12)

    def f(**p):
        return vg(**p)[0]
    fd = [central_difference(f, point, name) for name in TOY_PARAMS]
    np.testing.assert_allclose(gradient, fd, rtol=1e-6, atol=1e-9)


def test_diff_is_symbolic_and_simplified():
    x, y = sympy.symbols("x y")
    d = sd.diff("x^2 + 2*x*y + y^2", "x")
    assert isinstance(d, sympy.Expr)
    assert d == 2 * x + 2 * y
    assert sd.diff(sympy.sin(x) * y, x) == y * sympy.cos(x)
    assert sd.diff("y", "x") == 0


# -- call conventions, shapes -----------------------------------------------------------
def test_inputs_wrt_first_then_parameters_sorted():
    g = sd.grad("c*x^2 + a*y", wrt=["y", "x"], backend="python")
    assert [s.name for s in g.inputs] == ["y", "x", "a", "c"]
    assert [s.name for s in g.wrt] == ["y", "x"]
    assert all(isinstance(s, sympy.Symbol) for s in g.inputs)
    np.testing.assert_allclose(g(2.0, 3.0, 5.0, 7.0), [5.0, 42.0])
    np.testing.assert_allclose(g(2.0, 3.0, c=7.0, a=5.0), [5.0, 42.0])


def test_default_wrt_is_all_symbols_sorted_by_name():
    g = sd.grad("b*a + c", backend="python")
    assert [s.name for s in g.wrt] == ["a", "b", "c"]


def test_sympy_expression_in():
    x, y = sympy.symbols("x y")
    g = sd.grad(sympy.sin(x) * y, wrt=[x, y], backend="python")
    np.testing.assert_allclose(g(x=0.5, y=2.0), [2 * math.cos(0.5), math.sin(0.5)])


def test_attributes():
    g = sd.grad("(a + b) * (b + 1)", wrt=["a", "b"], mode="reverse", backend="python")
    assert g.mode == "reverse" and g.backend == "python"
    assert "def grad(a, b):" in g.source
    assert "adj_b" in g.source


def test_scalars_give_float64():
    g = sd.grad("x*y", backend="python")
    out = g(x=1, y=2)
    assert out.dtype == np.float64 and out.shape == (2,)
    value, gradient = sd.value_and_grad("x*y", backend="python")(x=1, y=2)
    assert type(value) is float


def test_broadcast_shapes():
    a = np.linspace(0, 1, 3)[:, None]
    b = np.linspace(1, 2, 4)
    g = sd.grad("(a + b) * (b + 1)", wrt=["a", "b"], backend="python")
    out = g(a=a, b=b)
    assert out.shape == (2, 3, 4)
    np.testing.assert_allclose(out[0], np.broadcast_to(b + 1, (3, 4)))
    np.testing.assert_allclose(out[1], a + 2 * b + 1)
    value, grad = sd.value_and_grad("(a + b) * (b + 1)", backend="python")(a=a, b=b)
    assert value.shape == (3, 4) and grad.shape == (2, 3, 4)
    J = sd.jacobian(["a*b", "sin(a)", "b"], wrt=["a", "b"], backend="python")(a=a, b=b)
    assert J.shape == (3, 2, 3, 4)
    np.testing.assert_array_equal(J[2, 1], np.ones((3, 4)))
    H = sd.hessian("a^2*b", wrt=["a", "b"], backend="python")(a=a, b=b)
    assert H.shape == (2, 2, 3, 4)
    np.testing.assert_allclose(H[0, 1], np.broadcast_to(2 * a, (3, 4)))


@pytest.mark.parametrize("mode", ["forward", "reverse", "auto"])
def test_jacobian_and_hessian_values(mode):
    J = sd.jacobian(["x*y", "sin(x)"], wrt=["x", "y"], mode=mode, backend="python")
    np.testing.assert_allclose(J(x=0.5, y=2.0), [[2.0, 0.5], [math.cos(0.5), 0.0]])
    H = sd.hessian("x^2*y + exp(x*y)", wrt=["x", "y"], mode=mode, backend="python")
    x, y = 0.5, 2.0
    e = math.exp(x * y)
    np.testing.assert_allclose(H(x=x, y=y), [[2 * y + y * y * e, 2 * x + e + x * y * e],
                                             [2 * x + e + x * y * e, x * x * e]])


def test_auto_mode_picks_by_shape():
    assert sd.grad("a*b*c", backend="python").mode == "reverse"
    fan_out = [f"sin({k}*x)" for k in range(1, 6)]
    assert sd.jacobian(fan_out, wrt=["x"], backend="python").mode == "forward"


def test_wrt_variable_absent_from_formula_has_zero_derivative():
    g = sd.grad("x^2", wrt=["x", "y"], backend="python")
    np.testing.assert_array_equal(g(x=3.0, y=1.0), [6.0, 0.0])


def test_deep_formula_gradient_matches_sympy():
    depth = 40
    text = "x"
    for k in range(depth):
        text = f"sin({text})" if k % 2 else f"exp({text})"
    for mode in MODES:
        (d,) = sd.grad(text, mode=mode, backend="python")(x=0.1)
        assert d == pytest.approx(sympy_gradient(sd.parse(text), ["x"], {"x": 0.1})[0], rel=1e-12)


@pytest.mark.parametrize("text", [
    "x + x",                            # a sum with the same term twice
    "sin(x) + sin(x) + y",
    "(x + y)*z + (x + y)",              # a sum with two users: its tangents are not handed over
    "(x + y + z) + (x + y)*(x + y + z)",
    "x0 + x1*x2 + x2 + sin(x0 + x1) + x1",
])
def test_forward_mode_where_sums_share_and_repeat_terms(text):
    """Forward mode hands a sum's tangents up a chain of sums instead of copying them; the
    shapes where it must not (a term twice, a sum used again) against SymPy's diff."""
    expr = sd.parse(text)
    names = sorted(s.name for s in expr.free_symbols)
    point = {name: 0.3 + 0.4 * k for k, name in enumerate(names)}
    expected = sympy_gradient(expr, names, point)
    for mode in MODES:
        got = sd.grad(text, wrt=names, mode=mode, backend="python")(**point)
        np.testing.assert_allclose(got, expected, rtol=1e-13, atol=1e-15, err_msg=mode)


def test_forward_jacobian_whose_outputs_are_also_terms_of_each_other():
    # "a + b" is an output and a term of the second output: the walk must keep its tangents
    rows = ["a + b", "(a + b) + c", "(a + b)*c"]
    point = {"a": 0.5, "b": -1.25, "c": 2.0}
    jac = sd.jacobian(rows, wrt=["a", "b", "c"], mode="forward", backend="python")(**point)
    expected = [sympy_gradient(sd.parse(r), ["a", "b", "c"], point) for r in rows]
    np.testing.assert_allclose(jac, expected, rtol=1e-14)


# -- errors ---------------------------------------------------------------------------
def test_call_errors_name_the_argument():
    g = sd.grad("(a + b) * (b + 1)", wrt=["a", "b"], backend="python")
    with pytest.raises(TypeError, match="missing argument 'b'"):
        g(a=1)
    with pytest.raises(TypeError, match="unknown argument 'c'"):
        g(a=1, b=2, c=3)
    # e^x: e is a variable, as the language has it; a missing e says where Euler's number is
    with pytest.raises(TypeError, match=r"missing argument 'e' \(inputs: e, x\); e is a variable here: "
                                        "Euler's number is E"):
        sd.grad("e^x", backend="python")(x=1.0)
    assert "Euler" not in str(pytest.raises(TypeError, g, a=1).value)
    with pytest.raises(TypeError, match="multiple values for argument 'a'"):
        g(1, 2, a=1)
    with pytest.raises(TypeError, match="takes 2 arguments"):
        g(1, 2, 3)
    with pytest.raises(TypeError, match="argument 'a' must be a real number"):
        g(a="two", b=1)
    # what numpy alone would quietly turn into a number: "1" -> 1.0, None -> nan, 1j -> 1.0
    for bad in (np.array(["1"]), [1.0, None], 1j, np.ones(2, complex), sympy.I, [[1, 2], [3]], 10 ** 400):
        with pytest.raises(TypeError, match="argument 'b' must be a real number"):
            g(a=1, b=bad)
    with pytest.raises(TypeError, match=r"got 10000000000000000000\.\.\. \(an integer of 401 digits, past the "
                                        r"largest float64, 1.8e308\)$"):
        g(1, 10 ** 400)
    # numbers that are objects convert exactly as float() does
    from fractions import Fraction
    for half in (Fraction(1, 2), sympy.Rational(1, 2), [Fraction(1, 2)], np.float32(0.5), True):
        np.testing.assert_array_equal(g(a=1, b=half), g(a=1.0, b=np.asarray(half, dtype=float)))
    with pytest.raises(ValueError, match=r"do not broadcast together: a has shape \(3,\) and b has shape \(4,\)"):
        g(a=np.ones(3), b=np.ones(4))
    # the message names two arguments that conflict, not every shape (thousands of inputs)
    many = sd.grad(" + ".join(f"x{k}" for k in range(100)) + " + y*z", backend="python")
    shapes = {f"x{k}": np.ones(2) for k in range(100)} | {"y": np.ones((3, 1)), "z": np.ones((4, 1))}
    with pytest.raises(ValueError, match=r"^argument shapes do not broadcast together: y has shape \(3, 1\) "
                                         r"and z has shape \(4, 1\) \(they differ in axis -2\)$"):
        many(**shapes)
    # np.asarray drops a mask: the masked entry's hidden value would come out as a number
    with pytest.raises(TypeError, match=r"argument 'b' is a masked array.*b.filled\(np.nan\)"):
        g(a=1, b=np.ma.array([1.0, 2.0], mask=[False, True]))


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_numbers_and_vectors_take_the_short_way_with_the_same_answers(backend):
    # colah by hand: at (2, 1) the gradient is (b + 1, a + 2b + 1) = (2, 5)
    g = sd.grad("(a + b) * (b + 1)", wrt=["a", "b"], backend=backend)
    for call in (lambda: g(2.0, 1.0), lambda: g(2, 1), lambda: g(b=1.0, a=2), lambda: g(np.float64(2), 1),
                 lambda: g.at([2.0, 1.0]), lambda: g.at(np.array([2, 1])), lambda: g.at({"a": 2, "b": 1})):
        out = call()
        assert out.dtype == np.float64 and out.shape == (2,)
        np.testing.assert_array_equal(out, [2.0, 5.0])
    value, gradient = sd.value_and_grad("(a + b) * (b + 1)", backend=backend).at([2.0, 1.0])
    assert type(value) is float and value == 6.0 and gradient.tolist() == [2.0, 5.0]
    # IEEE values, not exceptions, on plain Python numbers too (1/x at 0; log at -1 is nan)
    assert sd.grad("1/x", backend=backend)(0.0)[0] == -np.inf
    assert np.isnan(sd.value_and_grad("log(x)", backend=backend)(-1.0)[0])
    # a batch of points: the vector's axis 0 runs over the inputs
    points = np.array([[2.0, 0.0, 1.0], [1.0, 1.0, -1.0]])
    np.testing.assert_array_equal(g.at(points), g(*points))
    # a sparse Hessian at a vector: x^2 y at (3, 2) is [[2y, 2x], [2x, 0]] = [[4, 6], [6, 0]]
    H = sd.hessian("x^2*y", backend=backend, sparse=True)
    assert H.at([3.0, 2.0]).toarray().tolist() == [[4.0, 6.0], [6.0, 0.0]]
    with pytest.raises(ValueError, match=r"grad.at\(\) takes a mapping of names to values or a vector of the "
                                         r"2 inputs in call order \(a, b\), got shape \(3,\)"):
        g.at([1.0, 2.0, 3.0])
    with pytest.raises(ValueError, match="got a number"):
        g.at(2.0)
    with pytest.raises(TypeError, match="argument 'point' must be a real number"):
        g.at(["1", "2"])
    with pytest.raises(TypeError, match="unknown argument 'c'"):
        g.at({"a": 1.0, "c": 2.0})


def test_an_optimizer_takes_value_and_grad_at():
    # scipy's L-BFGS-B on Rosenbrock in 20 variables from 0: the minimum is all ones
    from scipy.optimize import minimize

    from symdiff.examples import rosenbrock
    names = [f"x{i}" for i in range(20)]
    f = sd.value_and_grad(rosenbrock(20), wrt=names, backend="python")
    result = minimize(f.at, np.zeros(20), jac=True, method="L-BFGS-B", options={"gtol": 1e-10})
    assert result.success
    np.testing.assert_allclose(result.x, np.ones(20), atol=1e-5)


def test_build_errors():
    with pytest.raises(ValueError, match="mode must be one of"):
        sd.grad("x", mode="sideways", backend="python")
    with pytest.raises(ValueError, match="backend must be one of"):
        sd.grad("x", backend="fortran")
    with pytest.raises(ValueError, match="more than once"):
        sd.grad("x*y", wrt=["x", "x"], backend="python")
    # a set has no order for the gradient's entries (it would vary with PYTHONHASHSEED)
    for bad in ({"x", "y"}, 3):
        with pytest.raises(TypeError, match="wrt must be a list"):
            sd.grad("x*y", wrt=bad, backend="python")
    with pytest.raises(TypeError, match="several formulas make a jacobian"):
        sd.grad(["x*y", "y"], backend="python")
    # nor has a set of formulas an order for a Jacobian's rows, and a dict gave its keys as
    # formulas: jacobian({"a": "x*y"}) was the Jacobian of the variable a
    with pytest.raises(TypeError, match="jacobian takes a list .* in the order the rows should come, not a set"):
        sd.jacobian({"x*y", "sin(x)"}, backend="python")
    with pytest.raises(TypeError, match=r"not a dict \(it would give its keys\): pass list\(d.values\(\)\)"):
        sd.jacobian({"a": "x*y"}, backend="python")
    with pytest.raises(TypeError, match="compare takes a list"):
        sd.compare(frozenset(["x"]), measure=False)
    with pytest.raises(ValueError, match="'x y' is not a variable name; separate names with commas"):
        sd.grad("x*y", wrt="x y", backend="python")
    with pytest.raises(ValueError, match="'sin' is a function or constant"):
        sd.grad("x", wrt=["sin"], backend="python")
    with pytest.raises(sd.ParseError) as caught:
        sd.grad("x +* y", backend="python")
    assert caught.value.formula_index is None and caught.value.position == 4
    # among several formulas, the error says which one is at fault
    with pytest.raises(sd.ParseError, match=r"^formula 2 of 3: unknown function 'foo' \(at position 3\)") as caught:
        sd.jacobian(["x", "y*foo(x)", "x*y"], backend="python")
    assert (caught.value.formula_index, caught.value.position, caught.value.text) == (1, 3, "y*foo(x)")
    with pytest.raises(sd.ParseError, match="^formula 1 of 2 is empty"):
        sd.jacobian(["  ", "x"], backend="python")
    with pytest.raises(TypeError, match="^formula 2 of 2: a formula must be a str or a SymPy expression, not NoneType"):
        sd.jacobian(["x", None], backend="python")
    with pytest.raises(ValueError, match="^formula 2 of 2: symdiff cannot differentiate a SymPy Piecewise"):
        t = sympy.Symbol("t")
        sd.jacobian(["t", sympy.Piecewise((t, t > 0), (0, True))], backend="python")
    with pytest.raises(TypeError, match="must be a str or a SymPy expression"):
        sd.grad(3j, backend="python")
    # a switch is True or False: sparse="no" is a non-empty string, which Python takes as
    # true, and gave a sparse matrix
    for entry, switch in ((sd.hessian, "sparse"), (sd.jacobian, "sparse"), (sd.grad, "parallel"), (sd.jvp, "parallel")):
        for bad in ("no", None, 1):
            with pytest.raises(TypeError, match=f"^{switch} must be True or False, not {bad!r}$"):
                entry("x*y", backend="python", **{switch: bad})
    assert sd.hessian("x*y", backend="python", sparse=np.True_)(x=1, y=2).nnz == 2
    # where one formula is taken, several are refused with what to do instead
    with pytest.raises(TypeError, match=r"^diff takes one formula, not a list: for several, \[sd.diff"):
        sd.diff(["x*y", "sin(x)"], "x")
    with pytest.raises(TypeError, match="^check_grad takes one formula, not a tuple: check each in turn"):
        sd.check_grad(("x*y", "sin(x)"), at={"x": 1.0, "y": 2.0})
    # a Python number is a constant formula (a jacobian's row of zeros), and its title prints
    assert sd.grad(3, wrt=["x"], backend="python")(x=2.0).tolist() == [0.0]
    assert sd.jacobian([3, "x*y"], wrt=["x", "y"], backend="python")(x=2.0, y=5.0).tolist() == [[0, 0], [5, 2]]
    assert "of 2.5 wrt x" in repr(sd.hessian(2.5, wrt=["x"], backend="python"))
    with pytest.raises(TypeError, match="not function; symdiff differentiates formulas, not Python functions"):
        sd.grad(lambda x: x ** 2, backend="python")
    with pytest.raises(TypeError, match=r"not bytes; decode it first: formula.decode\(\)"):
        sd.grad(b"x*y", backend="python")
    import pathlib
    with pytest.raises(TypeError, match=r"Path; to use the formula in 'f.txt', read it: "):
        sd.grad(pathlib.Path("f.txt"), backend="python")
    x, y = sympy.symbols("x y")
    with pytest.raises(TypeError, match="not ImmutableDenseMatrix; several formulas make a jacobian"):
        sd.grad(sympy.ImmutableMatrix([x * y]), backend="python")
    with pytest.raises(TypeError, match="expected a SymPy expression, got Equality"):
        sd.grad(sympy.Eq(x, y), backend="python")


def test_a_variable_that_folds_away_is_still_an_input():
    # x - x is 0, and 0*x too; x is still the formula's variable, with derivative 0
    # (it used to vanish: the gradient was empty and calling with x=... a TypeError)
    for text in ("x - x", "0*x", "1e-99999*x", "(x + 1) - (1 + x)"):
        for backend in ("python", "numba"):
            vg = sd.value_and_grad(text, backend=backend)
            assert [s.name for s in vg.inputs] == ["x"]
            value, gradient = vg(x=np.array([1.0, 2.0]))
            np.testing.assert_array_equal(value, [0.0, 0.0])
            np.testing.assert_array_equal(gradient, [[0.0, 0.0]])
    # x*y - y*x + z: the gradient is (0, 0, 1) by hand
    g = sd.grad("x*y - y*x + z", backend="python")
    assert [s.name for s in g.inputs] == ["x", "y", "z"]
    np.testing.assert_array_equal(g(x=1.0, y=2.0, z=3.0), [0.0, 0.0, 1.0])
    assert sd.diff("x - x", "x") == 0


def test_diff_takes_variables_and_counts_as_sympy_does():
    x, y = sympy.symbols("x y")
    assert sd.diff("x^2*y", y) == x ** 2
    # hand-worked: d2/dx2 x^3 y = 6xy, then d/dy: 6x; d4/dx4 x^3 = 0; a count of 0 is f itself
    assert sd.diff("x^3*y", "x", 2) == 6 * x * y
    assert sd.diff("x^3*y", "x", 2, "y") == 6 * x
    assert sd.diff("x^3", "x", 4) == 0 and sd.diff("x^3", "x", 0) == x ** 3
    f = sympy.sin(x * y) * sympy.exp(y)
    assert sympy.simplify(sd.diff(f, x, 3, y, 2) - sympy.diff(f, x, 3, y, 2)) == 0
    for bad in (["x"], ("x", "y"), 3.0, True):
        with pytest.raises(TypeError, match="diff takes variables as separate arguments"):
            sd.diff("x^2", bad)
    with pytest.raises(TypeError, match="a count repeats the variable before it"):
        sd.diff("x^2", 2)
    with pytest.raises(TypeError, match="a count repeats the variable before it"):
        sd.diff("x^2", "x", 1, 2)
    with pytest.raises(ValueError, match="a count must be 0 or more, not -1"):
        sd.diff("x^2", "x", -1)
    with pytest.raises(TypeError, match=r"diff needs a variable: this formula has 2 \(x, y\)"):
        sd.diff("x*y")
    # SymPy's other spelling of a count, a (variable, count) pair, against sympy.diff
    assert sympy.simplify(sd.diff(f, (x, 3), ("y", 2)) - sympy.diff(f, (x, 3), (y, 2))) == 0
    assert sd.diff("x^3*y", ("x", 2), "y") == 6 * x
    with pytest.raises(TypeError, match="a count repeats the variable before it"):
        sd.diff("x^2", ("x", 2), 2)
    # one string of names is grad's wrt, not diff's: the message says how diff takes them
    # (it said to separate them with commas, which diff does not take either)
    for bad in ("x,y", "x y"):
        with pytest.raises(ValueError, match=f"^diff: '{bad}' is not a variable name; to differentiate by each "
                                             "in turn write diff\\(f, 'x', 'y'\\)$"):
            sd.diff("x*y", bad)


def test_high_order_derivatives_gather_their_terms_between_sweeps():
    x = sympy.Symbol("x")
    # hand-worked: d^n/dx^n x^-1 = (-1)^n n! x^-(n+1).  The graph gathers no like terms, so
    # each sweep over a sweep's result doubled it: the 20th derivative took 26 s
    for n in (1, 2, 7, 20, 60):
        assert sd.diff("1/x", "x", n) == (-1) ** n * sympy.factorial(n) / x ** (n + 1)
    # d^n/dx^n exp(-x^2) = (-1)^n H_n(x) exp(-x^2), H_n the physicists' Hermite polynomial
    # (SymPy's hermite: not its diff); the 24th took 26 s, a tree of millions of nodes
    # and it comes back gathered too, a polynomial times exp(-x^2) (was the last sweep's
    # nested products): 64x^6 - 480x^4 + 720x^2 - 120 = H_6, expanded
    assert sd.diff("exp(-x^2)", "x", 6) == sympy.expand(sympy.hermite(6, x) * sympy.exp(-x ** 2))
    d = sd.diff("exp(-x^2)", "x", 30)
    assert sympy.expand(d - sympy.hermite(30, x) * sympy.exp(-x ** 2)) == 0
    assert sum(1 for _ in sympy.preorder_traversal(d)) < 400      # 174 when written
    # the command line's diff --order takes the same path
    from symdiff.api import diff_each
    (d,) = diff_each("exp(-x^2)", ["x"], 12)
    assert sympy.expand(d - sympy.hermite(12, x) * sympy.exp(-x ** 2)) == 0
    # one whose products would distribute to too many terms is not distributed: 6x times a
    # product of 20 sums would be 2^20 terms before gathering; it stays a product
    y = sympy.Symbol("y")
    product = sympy.Mul(*(y + k for k in range(1, 21)))
    assert sd.diff("x^3*" + "*".join(f"(y + {k})" for k in range(1, 21)), "x", 3) == 6 * product


def test_high_order_derivatives_of_a_variable_power_add_up_powers_of_one_base():
    x = sympy.Symbol("x")
    # d/dx x^y = y*x^(y-1) leaves powers of x apart once products are distributed: the 8th
    # derivative of x^x had terms like x**4*x**(x - 4), 2,812 nodes as a tree.  Hand-worked,
    # with u = log(x) + 1: f' = f*u, f'' = f*(u^2 + 1/x), f''' = f*(u^3 + 3u/x - 1/x^2), and
    u = sympy.log(x) + 1
    fourth = x ** x * (u ** 4 + 6 * u ** 2 / x - 4 * u / x ** 2 + 3 / x ** 2 + 2 / x ** 3)
    for n, oracle in ((4, fourth), (8, sympy.diff(x ** x, x, 8))):
        d = sd.diff("x^x", "x", n)
        for v in ("0.7", "1.3", "2.9"):
            point = {x: sympy.Float(v, 40)}
            want = oracle.xreplace(point).evalf(40)
            assert abs(d.xreplace(point).evalf(40) - want) < 1e-25 * abs(want), (n, v)
    assert sum(1 for _ in sympy.preorder_traversal(d)) < 600      # 323 when written
    # no product is left with two powers of x in it
    assert not any(p.is_Mul and sum(1 for f in p.args if f.is_Pow and f.base == x) > 1
                   for p in sympy.preorder_traversal(d))


def test_diff_each_is_diff_for_every_variable_from_one_graph():
    from symdiff.api import diff_each
    from symdiff.examples import rosenbrock
    x, y = sympy.symbols("x y")
    f = "x^3*y^2 + exp(x*y) - x"
    # the same expressions as diff one variable at a time (a name twice, one the formula lacks)
    for order in (0, 1, 2, 3):
        names = ["y", "x", "q", "y"]
        assert [str(d) for d in diff_each(f, names, order)] == [str(sd.diff(f, n, order)) for n in names]
    # and SymPy's own diff, by hand for one: d2/dx2 = 6 x y^2 + y^2 exp(x y)
    assert diff_each(f, ["x"], 2) == [6 * x * y ** 2 + y ** 2 * sympy.exp(x * y)]
    g = sd.parse(rosenbrock(30))
    names = sorted(g.free_symbols, key=lambda s: s.name)
    for name, d in zip(names, diff_each(rosenbrock(30), names)):
        assert sympy.expand(d - sympy.diff(g, name)) == 0
    assert diff_each("3", ["x"], 2) == [0] and diff_each("x", []) == []


def test_diff_without_a_variable_takes_the_only_one():
    # as sympy.diff does: one variable is the one meant; a constant's derivative is 0
    x = sympy.Symbol("x")
    assert sd.diff("x^3") == 3 * x**2                    # by hand
    assert sd.diff(sympy.sin(x)) == sympy.cos(x)
    assert sd.diff("3") == 0


def test_jacobian_takes_sympy_vectors():
    # mutable and immutable matrices alike (ImmutableMatrix is a sympy.Basic: it used to be
    # taken for one formula and refused); a row or a column is a list of formulas
    x, y = sympy.symbols("x y")
    expected = [[2.0, 1.0], [np.cos(1.0), 0.0]]
    for vector in (sympy.Matrix([x * y, sympy.sin(x)]), sympy.ImmutableMatrix([x * y, sympy.sin(x)]),
                   sympy.Matrix([[x * y, sympy.sin(x)]]), (x * y, "sin(x)"), iter([x * y, "sin(x)"])):
        J = sd.jacobian(vector, wrt=["x", "y"], backend="python")
        np.testing.assert_allclose(J(x=1.0, y=2.0), expected, rtol=1e-15)
    with pytest.raises(ValueError, match="this Matrix is 2x2: pass list"):
        sd.jacobian(sympy.Matrix([[x, y], [y, x]]), backend="python")
    with pytest.raises(ValueError, match="jacobian needs at least one formula"):
        sd.jacobian([], backend="python")
    with pytest.raises(ValueError, match="compare needs at least one formula"):
        sd.compare([], measure=False)
    assert sd.compare(sympy.ImmutableMatrix([x * y, x + y]), measure=False).outputs == 2


def test_every_public_function_has_a_docstring_with_an_example():
    for name in sd.__all__:
        obj = getattr(sd, name)
        assert obj.__doc__ and (">>>" in obj.__doc__ or name == "ParseError"), name


def test_docstring_examples_run():
    import doctest

    import importlib

    import matplotlib
    matplotlib.use("Agg")
    # (symdiff.parse and symdiff.compare name functions; import the modules by name)
    for name in ("symdiff", "symdiff.api", "symdiff.parse", "symdiff.compare", "symdiff.check",
                 "symdiff.display", "symdiff.export"):
        module = importlib.import_module(name)
        failures, _ = doctest.testmod(module, optionflags=doctest.NORMALIZE_WHITESPACE)
        assert failures == 0, name


def test_building_leaves_the_garbage_collector_as_it_found_it():
    import gc
    from symdiff.api import build
    assert gc.isenabled()
    build("grad", ["sin(x) * y"])
    assert gc.isenabled() and gc.get_freeze_count() == 0
    # a caller that froze objects of its own (say, before forking) keeps them frozen
    gc.freeze()
    try:
        frozen = gc.get_freeze_count()
        build("grad", ["cos(x) * y"])
        assert gc.isenabled() and gc.get_freeze_count() == frozen
    finally:
        gc.unfreeze()
    gc.disable()
    try:
        build("grad", ["tan(x) * y"])
        assert not gc.isenabled()           # a caller's choice to disable it stays
    finally:
        gc.enable()


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_twin_constants_and_inputs_named_like_temporaries(mode):
    # 2*x and 2.0*x are two graph nodes but one instruction: the optimizer merges them
    g = sd.grad("sin(2*x) + sin(2.0*x)", mode=mode, backend="python")
    assert g(x=0.3) == pytest.approx([4 * math.cos(0.6)], rel=1e-15)
    assert g.source.count("2.0 * x") == 1
    # inputs called t0, t1, t2 must not collide with the temporaries' names
    h = sd.grad("t0*t1 + sin(t0) - t2", mode=mode, backend="python")
    assert h(t0=0.5, t1=2.0, t2=1.0) == pytest.approx([2.0 + math.cos(0.5), 0.5, -1.0], rel=1e-15)
    # nor may inputs named like the callable's own parameter, or like names the modules use
    k = sd.grad("self*np + out^2", wrt=["self", "np", "out"], mode=mode, backend="python")
    assert k(self=2.0, np=3.0, out=5.0).tolist() == [3.0, 2.0, 10.0]


def test_exponent_too_big_for_a_float_is_ieee_not_an_overflow_error():
    # 10^400 stays an exact integer in the graph; as a float it is inf
    g = sd.grad("x^(10^400)", backend="python")
    np.testing.assert_array_equal(g(x=1.0), [np.inf])
    np.testing.assert_array_equal(g(x=2.0), [np.inf])


def test_docstrings_of_huge_programs_quote_the_formula_shortened():
    text = rosenbrock(200)
    source = sd.grad(text, backend="python").source
    header = source[:source.index("def grad(")]
    assert text not in header and text[:250] in header
    assert "x0, x1, x10" in header and "(200 in all)" in header
    assert len(header) < 1500
    # the signature still lists every input, in call order
    assert "def grad(x0, x1, x10, x100, x101," in source and "x99):" in source


def test_a_large_sympy_sum_is_not_sorted_to_title_its_program(monkeypatch):
    # SymPy's str sorts a sum's terms, at a cost that grew to 20 s for 20,000 terms just
    # to write a 300-character docstring; a small expression keeps SymPy's own order
    xs = sympy.symbols("x0:3000")
    big = sympy.Add(*[sympy.sin(x) for x in xs])
    small = xs[1]**2 + 2*xs[1] + 1

    def no_sorting(self, *args, **kwargs):
        raise AssertionError("the title sorted the terms of a large sum")
    monkeypatch.setattr(sympy.Expr, "as_ordered_terms", no_sorting)
    g = sd.grad(big, backend="python")
    assert g(*[0.0] * 3000).tolist() == [1.0] * 3000
    monkeypatch.undo()
    assert "x1**2 + 2*x1 + 1" in sd.grad(small, backend="python").source


def test_a_sympy_expression_with_heavy_sharing_builds_at_once():
    # thirty levels of e = sin(e) + e*y: 94 nodes in the graph, 5 x 10^9 as a tree.  Writing its
    # title printed the whole tree (SymPy's printer does not share), and so did the notebook
    # view's LaTeX: both hung
    e = shared_tower(30)
    for mode in ("forward", "reverse"):
        vg = sd.value_and_grad(e, wrt=["x", "y"], mode=mode, backend="python")
        # by hand, the recurrence forward mode follows: (v, dv/dx, dv/dy) level by level
        x, y = 0.01, 0.5
        v, dx, dy = x, 1.0, 0.0
        for _ in range(30):
            v, dx, dy = (math.sin(v) + v * y, math.cos(v) * dx + y * dx,
                         math.cos(v) * dy + y * dy + v)
        value, grad = vg(x=x, y=y)
        assert value == pytest.approx(v, rel=1e-13) and grad == pytest.approx([dx, dy], rel=1e-12)
        title = vg.source.split("\n")[2]
        assert title.startswith("Value and gradient of y*(y*(y*(") and title.endswith(" ...")
        assert len(title) <= 300 + len("Value and gradient of ")
        md = vg._repr_markdown_()
        assert "$$" not in md and "def value_and_grad(x, y):" in md     # the code, no LaTeX


def test_a_sympy_expression_deeper_than_python_recursion_builds():
    # 3,000 nested sines, unevaluated: preorder_traversal and SymPy's printer recurse, and
    # the title raised RecursionError before symdiff had looked at the formula
    x = sympy.Symbol("x")
    e = x
    for _ in range(3000):
        e = sympy.sin(e, evaluate=False)
    g = sd.grad(e, backend="python")
    v, d = 0.5, 1.0
    for _ in range(3000):
        v, d = math.sin(v), math.cos(v) * d
    assert g(x=0.5)[0] == pytest.approx(d, rel=1e-12)
    title = g.source.split("\n")[2]
    assert title.startswith("Gradient of " + "sin(" * 70) and title.endswith(" ...")


def test_formula_text_prints_small_expressions_whole_and_cuts_large_ones():
    from symdiff.api import formula_text
    x, y = sympy.symbols("x y")
    assert formula_text(x**2 + 2*x*y - sympy.sin(y)/x) == "x**2 + 2*x*y - sin(y)/x"     # SymPy's order
    assert formula_text("a  +\n b") == "a + b"
    text = formula_text(shared_tower(40), 200)      # 2^40 nodes as a tree: its first 1,000 printed
    assert text.startswith("y*(" * 39 + "x*y + sin(x)) + ") and text.endswith(" ...") and len(text) < 200
    deep = x
    for _ in range(150):
        deep = sympy.exp(deep, evaluate=False)
    # levels 0 to 100 are printed, what is below is "..."
    assert formula_text(deep, 10_000) == "exp(" * 101 + "..." + ")" * 101


def test_tree_size_counts_shared_nodes_each_time():
    from symdiff.api import prepare
    problem = prepare(["(a + b)*(a + b) + a"], None)
    g = problem.graph
    # Add(Mul(Add(a, b), Add(a, b)), a) as a tree: 1 + (1 + 3 + 3) + 1 = 9 nodes
    assert g.tree_size(problem.roots, 100) == 9
    assert g.tree_size(problem.roots, 5) == 6          # past the limit: limit + 1
    big = prepare([shared_tower(30)], None)
    # each level is Add(sin(e), Mul(e, y)): 2 s + 4 nodes for s below, from s = 1
    assert big.graph.tree_size(big.roots, 10**20) == 5 * 2**30 - 4


def test_two_sympy_symbols_with_one_name_are_an_error_not_a_silent_zero():
    plain, positive = sympy.Symbol("x"), sympy.Symbol("x", positive=True)
    with pytest.raises(ValueError, match="two different SymPy symbols are both named 'x'"):
        sd.grad(2 * plain + 3 * positive, backend="python")
    # wrt a symbol the formula does not hold, though it holds one of that name: was [0.]
    with pytest.raises(ValueError, match="two different SymPy symbols are both named 'x'"):
        sd.grad(2 * plain, wrt=[positive], backend="python")
    np.testing.assert_array_equal(sd.grad(2 * plain, wrt=["x"], backend="python")(x=1.0), [2.0])


def _value_at(fn, point):
    return fn(**point)


def test_compiled_functions_pickle_and_run_in_worker_processes():
    # multiprocessing, joblib and dask send functions to workers by pickling them: a compiled
    # function pickles as its program and is made again there (from the caches, usually)
    import pickle
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context
    g = sd.grad("x*y + sin(x)", backend="numba")
    H = sd.hessian("x^2*y", backend="python", sparse=True)
    again = pickle.loads(pickle.dumps(g))
    assert again.source == g.source and again.inputs == g.inputs and again.mode == g.mode
    np.testing.assert_array_equal(again(x=1.0, y=2.0), g(x=1.0, y=2.0))
    points = [{"x": 1.0, "y": 2.0}, {"x": -0.5, "y": 3.0}]
    with ProcessPoolExecutor(1, mp_context=get_context("spawn")) as pool:     # a fresh interpreter
        gradients = list(pool.map(_value_at, [g] * 2, points))
        hessians = list(pool.map(_value_at, [H] * 2, points))
    for point, got, hess in zip(points, gradients, hessians):
        np.testing.assert_array_equal(got, g(**point))
        np.testing.assert_array_equal(hess.toarray(), H(**point).toarray())


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_value_and_jacobian_gives_the_values_with_the_jacobian(mode):
    texts = ["x*y - 2", "x - 1", "exp(x)*sin(y) + z"]
    F = sd.value_and_jacobian(texts, wrt=["x", "y"], mode=mode, backend="python")
    assert F.mode == mode and [s.name for s in F.inputs] == ["x", "y", "z"]
    point = {"x": 0.5, "y": 1.5, "z": -2.0}
    values, J = F(**point)
    exprs = [sd.parse(t) for t in texts]
    # the oracles: SymPy's value and diff of each formula
    np.testing.assert_allclose(values, [sympy_value(e, point) for e in exprs], rtol=1e-14)
    np.testing.assert_allclose(J, [sympy_gradient(e, ["x", "y"], point) for e in exprs], rtol=1e-14)
    # the same program as the Jacobian's, with the values as its first outputs
    assert np.array_equal(J, sd.jacobian(texts, wrt=["x", "y"], mode=mode, backend="python")(**point))
    # arrays broadcast to S: values (m, *S), Jacobian (m, n, *S)
    values, J = F(x=np.array([0.5, 1.0]), y=1.5, z=np.zeros((3, 1)))
    assert values.shape == (3, 3, 2) and J.shape == (3, 2, 3, 2)
    assert J[2, 0, 1, 1] == pytest.approx(math.exp(1.0) * math.sin(1.5), rel=1e-15)
    # sparse: the values and a scipy matrix of the structural nonzeros (d(x - 1)/dy is none)
    S = sd.value_and_jacobian(texts, wrt=["x", "y"], mode=mode, backend="python", sparse=True)
    values_s, M = S(**point)
    np.testing.assert_array_equal(values_s, F(**point)[0])
    np.testing.assert_array_equal(M.toarray(), F(**point)[1])
    assert M.nnz == 5 and S.at([0.5, 1.5, -2.0])[1].nnz == 5
    with pytest.raises(ValueError, match="one matrix per point"):
        S(x=np.ones(2), y=1.0, z=0.0)


def test_value_and_jacobian_drives_newtons_method():
    # x*y = 2 and x - y = 1: (2, 1), by hand; each step wants F and J at the same point
    F = sd.value_and_jacobian(["x*y - 2", "x - y - 1"], wrt=["x", "y"])
    point = np.array([3.0, 3.0])
    for _ in range(20):
        values, J = F.at(point)
        point = point - np.linalg.solve(J, values)
    np.testing.assert_allclose(point, [2.0, 1.0], rtol=1e-15)
    # and scipy's least squares, given both from the one function
    import scipy.optimize
    from symdiff.api import build
    fit = scipy.optimize.least_squares(lambda p: F.at(p)[0], [3.0, 3.0], jac=lambda p: F.at(p)[1])
    np.testing.assert_allclose(fit.x, [2.0, 1.0], rtol=1e-10)
    with pytest.raises(ValueError, match="sparse=True is for jacobian, value_and_jacobian and hessian"):
        build("grad", ["x*y"], sparse=True)
