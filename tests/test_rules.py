"""Every op: value and derivative against SymPy's diff and central differences, both modes.

The per-op tests use the python backend; test_numba.py checks the numba
backend against it on all ops at once.
"""

import math

import numpy as np
import pytest
import sympy

import symdiff as sd
from conftest import central_difference, sympy_gradient, sympy_value
from op_cases import OP_CASES


def _variables(points):
    return sorted(points[0])


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("text,oracle,points", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_op_value_and_gradient_match_sympy(text, oracle, points, mode):
    wrt = _variables(points)
    fn = sd.value_and_grad(text, wrt=wrt, mode=mode, backend="python")
    for point in points:
        value, gradient = fn(**point)
        assert value == pytest.approx(sympy_value(oracle, point), rel=1e-12, abs=1e-12)
        expected = sympy_gradient(oracle, wrt, point)
        if text in ("floor(x)", "ceil(x)"):
            # SymPy leaves these derivatives unevaluated; the hand-worked value is 0
            assert np.isnan(expected).all()
            expected = np.zeros(len(wrt))
        if text == "mod(x, y)":
            # x - y*floor(x/y) with floor locally constant: 1 and -floor(x/y), worked by hand
            assert np.isnan(expected).all()
            expected = {(7.5, 2.0): [1.0, -3.0], (-7.5, 2.0): [1.0, 4.0],
                        (7.5, -2.0): [1.0, 4.0]}[point["x"], point["y"]]
        np.testing.assert_allclose(gradient, expected, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("text,oracle,points", OP_CASES, ids=[c[0] for c in OP_CASES])
def test_op_gradient_matches_central_differences(text, oracle, points):
    wrt = _variables(points)
    fn = sd.grad(text, wrt=wrt, backend="python")
    value = sd.value_and_grad(text, wrt=wrt, backend="python")

    def f(**p):
        return value(**p)[0]
    for point in points:
        expected = [central_difference(f, point, w) for w in wrt]
        np.testing.assert_allclose(fn(**point), expected, rtol=1e-6, atol=1e-7)


# -- kink conventions (DESIGN.md), hand-worked ----------------------------------------
KINKS = [
    ("abs(x)", {"x": 0.0}, [0.0]),
    ("sign(x)", {"x": 0.0}, [0.0]),
    ("sign(x)", {"x": 3.0}, [0.0]),
    ("floor(x)", {"x": 2.0}, [0.0]),
    ("ceil(x)", {"x": 2.0}, [0.0]),
    ("heaviside(x)", {"x": 0.0}, [0.0]),
    ("relu(x)", {"x": 0.0}, [0.0]),
    ("relu(x)", {"x": 2.0}, [1.0]),
    ("leaky_relu(x, 0.1)", {"x": 0.0}, [0.1]),
    ("leaky_relu(x, 0.1)", {"x": -1.0}, [0.1]),
    ("leaky_relu(x, 0.1)", {"x": 1.0}, [1.0]),
    ("max(x, y)", {"x": 1.0, "y": 1.0}, [0.5, 0.5]),
    ("min(x, y)", {"x": 1.0, "y": 1.0}, [0.5, 0.5]),
    ("max(x, y, z)", {"x": 2.0, "y": 1.0, "z": 2.0}, [0.5, 0.0, 0.5]),
    ("max(x, y, z)", {"x": 2.0, "y": 2.0, "z": 2.0}, [1 / 3, 1 / 3, 1 / 3]),
    ("min(x, y, z)", {"x": 2.0, "y": 1.0, "z": 1.0}, [0.0, 0.5, 0.5]),
    ("sqrt(x)", {"x": 0.0}, [math.inf]),
    ("mod(x, 2)", {"x": 4.0}, [1.0]),          # at a jump: 1, the formula as written
    ("mod(x, y)", {"x": 4.0, "y": 2.0}, [1.0, -2.0]),
    # the tip of the cone: x/hypot(x, y) is 0/0, as JAX's norm gives (no subgradient is
    # picked, unlike abs, whose hypot(x, 0) this is not)
    ("hypot(x, y)", {"x": 0.0, "y": 0.0}, [math.nan, math.nan]),
    ("hypot(x, y)", {"x": 0.0, "y": -2.0}, [0.0, -1.0]),
]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("text,point,expected", KINKS, ids=[f"{k[0]}@{k[1]}" for k in KINKS])
def test_kink_conventions(text, point, expected, mode):
    fn = sd.grad(text, wrt=sorted(point), mode=mode, backend="python")
    np.testing.assert_array_equal(fn(**point), expected)


def test_leaky_relu_slope_derivative():
    fn = sd.grad("leaky_relu(x, s)", wrt=["x", "s"], backend="python")
    np.testing.assert_allclose(fn(x=-2.0, s=0.1), [0.1, -2.0])
    np.testing.assert_allclose(fn(x=3.0, s=0.1), [1.0, 0.0])


# -- outside the domain: IEEE values, never an exception ----------------------------
OUTSIDE = [
    # like SymPy and JAX, the rule 1/x is evaluated as is: the nan value is the signal
    ("log(x)", {"x": -1.0}, math.nan, -1.0),
    ("log(x)", {"x": 0.0}, -math.inf, math.inf),
    ("sqrt(x)", {"x": -1.0}, math.nan, math.nan),
    ("1/x", {"x": 0.0}, math.inf, -math.inf),
    ("asin(x)", {"x": 2.0}, math.nan, math.nan),
    ("acosh(x)", {"x": 0.5}, math.nan, math.nan),
    ("x^0.5", {"x": -4.0}, math.nan, math.nan),
    ("exp(x)", {"x": 1000.0}, math.inf, math.inf),
    # d/dx y^x = y^x log(y) as written: 0 * -inf at y = 0 (README; PyTorch would say 0)
    ("y^x", {"x": 2.0, "y": 0.0}, 0.0, math.nan),
]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("text,point,value,derivative", OUTSIDE, ids=[o[0] + str(o[1]) for o in OUTSIDE])
def test_outside_domain_gives_ieee_values(text, point, value, derivative, mode):
    fn = sd.value_and_grad(text, wrt=["x"], mode=mode, backend="python")
    v, g = fn(**point)
    np.testing.assert_array_equal(v, value)
    np.testing.assert_array_equal(g, [derivative])


def test_sympy_function_without_rule_uses_fdiff():
    x = sympy.Symbol("x")
    d = sd.diff(sympy.sec(x) * x, "x")
    assert sympy.simplify(d - sympy.diff(sympy.sec(x) * x, x)) == 0
    # a constant argument needs no partial: besselj's order has none in SymPy
    d = sd.diff(sympy.besselj(0, x ** 2), "x")
    assert sympy.simplify(d - sympy.diff(sympy.besselj(0, x ** 2), x)) == 0
    assert d == -2 * x * sympy.besselj(1, x ** 2)
    # ... but code needs a spelling: none for besselj, and the error says what still works
    with pytest.raises(NotImplementedError, match="'besselj'.*sd.diff still differentiates it"):
        sd.grad(sympy.besselj(0, x ** 2), backend="python")


def test_sympy_function_without_a_derivative_is_a_clear_error():
    # zeta(x): SymPy's fdiff raises ArgumentIndexError, whose own str raised IndexError from
    # inside SymPy while symdiff wrote its message
    x, y = sympy.symbols("x y")
    for call in (lambda: sd.grad(sympy.zeta(x), backend="python"), lambda: sd.diff(sympy.zeta(x), "x")):
        with pytest.raises(ValueError, match=r"^SymPy has no closed-form derivative of zeta \(argument 1\)$"):
            call()
    with pytest.raises(ValueError, match="SymPy has no closed-form derivative of re$"):
        sd.grad(sympy.re(x) * y, backend="python")


# SymPy's reciprocal functions (sec, acot, coth ...) are no ops of ours: lowering writes them
# with ours (1/cos(x), atan(1/x) ...); their derivatives stay SymPy's own (sec' = tan*sec).
RECIPROCAL = [(sympy.sec, 0.6), (sympy.csc, 0.6), (sympy.cot, -0.6), (sympy.sech, 0.6),
              (sympy.csch, -0.6), (sympy.coth, 0.6), (sympy.acot, -0.6), (sympy.acsch, 0.6),
              (sympy.asec, -1.7), (sympy.acsc, 1.7), (sympy.acoth, -1.7), (sympy.asech, 0.6)]


@pytest.mark.parametrize("mode", ["forward", "reverse"])
@pytest.mark.parametrize("func,at", RECIPROCAL, ids=[f.__name__ for f, _ in RECIPROCAL])
def test_sympy_reciprocal_functions_compile(func, at, mode):
    x = sympy.Symbol("x")
    expr = func(x) * x
    value, gradient = sd.value_and_grad(expr, mode=mode, backend="python")(x=at)
    assert value == pytest.approx(sympy_value(expr, {"x": at}), rel=1e-13)
    np.testing.assert_allclose(gradient, sympy_gradient(expr, ["x"], {"x": at}), rtol=1e-12)
    assert sd.diff(func(x), "x") == func(x).fdiff()


def test_sympy_reciprocal_functions_numba_matches_python():
    xs = sympy.symbols(f"x0:{len(RECIPROCAL)}")
    expr = sum(func(x) for (func, _), x in zip(RECIPROCAL, xs))
    point = {x.name: at for (_, at), x in zip(RECIPROCAL, xs)}
    a = xs[0]
    numba_result = sd.value_and_grad(expr, backend="numba")(**point)
    python_result = sd.value_and_grad(expr, backend="python")(**point)
    assert numba_result[0] == pytest.approx(python_result[0], rel=1e-14)
    np.testing.assert_allclose(numba_result[1], python_result[1], rtol=1e-14)
    # acot's branch as SymPy has it: acot(0) = pi/2, derivative -1/(1 + x^2) = -1
    value, gradient = sd.value_and_grad(sympy.acot(a), backend="python")(x0=0.0)
    assert (value, gradient[0]) == (math.pi / 2, -1.0)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_sympy_erfc_keeps_its_tail(mode):
    # erfc is an op of its own (SymPy input only): 1 - erf(6) is 0.0, erfc(6) is 2.15e-17
    x = sympy.Symbol("x")
    expr = sympy.erfc(x) * x
    for backend in ("python", "numba"):
        fn = sd.value_and_grad(expr, mode=mode, backend=backend)
        for at in (0.5, -3.0, 6.0):
            value, gradient = fn(x=at)
            assert value == pytest.approx(sympy_value(expr, {"x": at}), rel=1e-14)
            np.testing.assert_allclose(gradient, sympy_gradient(expr, ["x"], {"x": at}), rtol=1e-13)
    assert sd.value_and_grad(sympy.erfc(x), backend="python")(x=6.0)[0] == pytest.approx(2.1519736712498913e-17)
    # the numba tape (long programs) runs it too
    from symdiff.compile import load_module
    from symdiff.numba_backend import module_source
    program = sd.value_and_grad(expr, mode=mode, backend="python").program
    taped = load_module(module_source(program, standalone=False, limit=0))
    np.testing.assert_allclose(taped.value_and_grad_array(6.0), [6.0 * 2.1519736712498913e-17,
                               sympy_gradient(expr, ["x"], {"x": 6.0})[0]], rtol=1e-13)


def test_every_language_function_has_a_rule():
    from symdiff.ops import LANGUAGE_FUNCTIONS
    from symdiff.rules import RULES
    for name, (kind, _) in LANGUAGE_FUNCTIONS.items():
        if kind != "sqrt":
            assert kind in RULES, name


def test_a_sympy_mod_is_the_language_mod():
    # SymPy's Mod(x, 3) has no derivative in SymPy (it stays a Derivative); ours is 1 in x:
    # d/dx (Mod(x, 3) * x) at 4 is Mod(4, 3) + 4 * 1 = 5, and -7 mod 3 is 2 (the divisor's sign)
    x = sympy.Symbol("x")
    for backend in ("python", "numba"):
        fn = sd.value_and_grad(sympy.Mod(x, 3) * x, backend=backend)
        value, gradient = fn(x=4.0)
        assert value == 4.0 and gradient[0] == 5.0
        assert sd.value_and_grad("mod(x, 3)", backend=backend)(x=-7.0)[0] == 2.0
    assert sd.diff("mod(x, y)", "y") == -sympy.floor(sympy.Symbol("x") / sympy.Symbol("y"))


def test_mod_gives_a_zero_the_sign_of_the_divisor_in_every_backend():
    # np.mod(0, -1) is -0.0 (the sign of y); numba's own np.mod gives 0.0, so 1/mod(y, x) was
    # +inf compiled and -inf in numpy (found by the fuzz tests through log(mod(y, x)))
    from symdiff.compile import load_module
    from symdiff.numba_backend import module_source
    for backend in ("python", "numba"):
        fn = sd.value_and_grad("log(mod(y, x))", wrt=["x", "y"], backend=backend)
        value, gradient = fn(x=-1.0, y=0.0)
        assert value == -np.inf and gradient[1] == -np.inf, backend        # d/dy = 1/mod = 1/(-0.0)
        zero = sd.value_and_grad("mod(y, x)", wrt=["x", "y"], backend=backend)(x=-1.0, y=0.0)[0]
        assert zero == 0.0 and math.copysign(1.0, zero) == -1.0, backend
    taped = load_module(module_source(fn.program, standalone=False, limit=0))
    assert taped.value_and_grad_array(-1.0, 0.0)[2] == -np.inf


def test_activation_functions_tell_sympy_their_sign_on_real_arguments():
    # sigmoid and softplus are positive and relu nonnegative for real x, so SymPy simplifies
    # |sigmoid(x)| and differentiates cbrt(sigmoid(x)) in closed form (the fuzz's SymPy oracle
    # met an unevaluated derivative of sign(sigmoid(x)) before)
    from symdiff.functions import leaky_relu, relu, sigmoid, softplus
    x, z = sympy.Symbol("x", real=True), sympy.Symbol("z")
    assert sympy.Abs(sigmoid(x)) == sigmoid(x) and sympy.Abs(softplus(x)) == softplus(x)
    assert sympy.Abs(relu(x)) == relu(x) and leaky_relu(x, sympy.Rational(1, 10)).is_real
    assert sigmoid(z).is_positive is None and sympy.Abs(sigmoid(z)) != sigmoid(z)   # z may be complex
    cbrt = sympy.Abs(sigmoid(x)) ** sympy.Rational(1, 3) * sympy.sign(sigmoid(x))
    d = sympy.diff(cbrt, x)
    assert not d.has(sympy.Derivative)
    s = 1 / (1 + sympy.exp(-sympy.Rational(1, 2)))
    assert abs(float(d.subs(x, sympy.Rational(1, 2)).evalf(30)) - float(s * (1 - s) / (3 * s ** sympy.Rational(2, 3)))) < 1e-15
