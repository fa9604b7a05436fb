"""Every function of the language, with an independent SymPy oracle and points inside its domain.

The oracle expressions use only SymPy's own functions, written out by hand
(``sigmoid`` as ``1/(1+exp(-x))`` ...), so they do not share code with symdiff.
"""

import sympy

x, y = sympy.symbols("x y", real=True)

# (formula text, SymPy oracle, points: list of {name: value})
OP_CASES = [
    ("sin(x)", sympy.sin(x), [{"x": 0.3}, {"x": -2.1}]),
    ("cos(x)", sympy.cos(x), [{"x": 0.3}, {"x": -2.1}]),
    ("tan(x)", sympy.tan(x), [{"x": 0.3}, {"x": -1.1}]),
    ("asin(x)", sympy.asin(x), [{"x": 0.3}, {"x": -0.8}]),
    ("acos(x)", sympy.acos(x), [{"x": 0.3}, {"x": -0.8}]),
    ("atan(x)", sympy.atan(x), [{"x": 0.3}, {"x": -4.0}]),
    ("atan2(y, x)", sympy.atan2(y, x), [{"x": 0.7, "y": 0.4}, {"x": -1.5, "y": 2.0}]),
    ("sinh(x)", sympy.sinh(x), [{"x": 0.3}, {"x": -2.0}]),
    ("cosh(x)", sympy.cosh(x), [{"x": 0.3}, {"x": -2.0}]),
    ("tanh(x)", sympy.tanh(x), [{"x": 0.3}, {"x": -2.0}]),
    ("asinh(x)", sympy.asinh(x), [{"x": 0.3}, {"x": -2.0}]),
    ("acosh(x)", sympy.acosh(x), [{"x": 1.3}, {"x": 4.0}]),
    ("atanh(x)", sympy.atanh(x), [{"x": 0.3}, {"x": -0.7}]),
    ("exp(x)", sympy.exp(x), [{"x": 0.3}, {"x": -2.0}]),
    ("log(x)", sympy.log(x), [{"x": 0.3}, {"x": 5.0}]),
    ("log1p(x)", sympy.log(1 + x), [{"x": 0.3}, {"x": -0.5}]),
    ("expm1(x)", sympy.exp(x) - 1, [{"x": 0.3}, {"x": -2.0}]),
    ("sqrt(x)", sympy.sqrt(x), [{"x": 0.3}, {"x": 5.0}]),
    ("cbrt(x)", sympy.sign(x) * sympy.Abs(x) ** sympy.Rational(1, 3), [{"x": 0.3}, {"x": -5.0}]),
    ("pow(x, y)", x ** y, [{"x": 1.7, "y": 0.4}, {"x": 0.5, "y": -2.5}]),
    ("x^y", x ** y, [{"x": 1.7, "y": 2.0}, {"x": 2.5, "y": -1.5}]),
    ("x^3", x ** 3, [{"x": 1.7}, {"x": -2.5}]),
    ("x^-2", x ** -2, [{"x": 1.7}, {"x": -2.5}]),
    ("x^0.5", sympy.sqrt(x), [{"x": 1.7}]),
    ("x^-0.5", 1 / sympy.sqrt(x), [{"x": 1.7}]),
    ("2^x", 2 ** x, [{"x": 1.7}, {"x": -2.5}]),
    ("abs(x)", sympy.Abs(x), [{"x": 0.3}, {"x": -2.0}]),
    ("sign(x)", sympy.sign(x), [{"x": 0.3}, {"x": -2.0}]),
    ("floor(x)", sympy.floor(x), [{"x": 0.3}, {"x": -2.4}]),
    ("ceil(x)", sympy.ceiling(x), [{"x": 0.3}, {"x": -2.4}]),
    ("min(x, y)", sympy.Min(x, y), [{"x": 0.3, "y": 0.7}, {"x": 2.0, "y": -1.0}]),
    ("max(x, y)", sympy.Max(x, y), [{"x": 0.3, "y": 0.7}, {"x": 2.0, "y": -1.0}]),
    ("max(x, y, 2*x - y)", sympy.Max(x, y, 2 * x - y), [{"x": 0.3, "y": 0.7}, {"x": 2.0, "y": -1.0}]),
    ("heaviside(x)", sympy.Heaviside(x), [{"x": 0.3}, {"x": -2.0}]),
    ("sigmoid(x)", 1 / (1 + sympy.exp(-x)), [{"x": 0.3}, {"x": -2.0}]),
    ("relu(x)", sympy.Piecewise((x, x > 0), (0, True)), [{"x": 0.3}, {"x": -2.0}]),
    ("leaky_relu(x, y)", sympy.Piecewise((x, x > 0), (y * x, True)),
     [{"x": 0.3, "y": 0.1}, {"x": -2.0, "y": 0.2}]),
    ("softplus(x)", sympy.log(1 + sympy.exp(x)), [{"x": 0.3}, {"x": -2.0}, {"x": 30.0}]),
    ("erf(x)", sympy.erf(x), [{"x": 0.3}, {"x": -1.2}]),
    ("lgamma(x)", sympy.log(sympy.gamma(x)), [{"x": 0.3}, {"x": 4.5}]),
    ("digamma(x)", sympy.diff(sympy.log(sympy.gamma(x)), x), [{"x": 0.3}, {"x": 4.5}]),
    ("mod(x, y)", sympy.Mod(x, y), [{"x": 7.5, "y": 2.0}, {"x": -7.5, "y": 2.0}, {"x": 7.5, "y": -2.0}]),
    ("hypot(x, y)", sympy.sqrt(x ** 2 + y ** 2), [{"x": 0.3, "y": 0.4}, {"x": -2.0, "y": 1.0}]),
    ("x*y - x/y + x - -y", x * y - x / y + x + y, [{"x": 0.3, "y": 0.4}]),
    ("pi*x + E^y", sympy.pi * x + sympy.exp(y), [{"x": 0.3, "y": 0.4}]),
]
