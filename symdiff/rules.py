"""Local partial derivatives: one table, used by forward and reverse mode.

``local_partials(graph, v)`` returns, for each argument of node ``v``, the
node of ``d v / d arg`` -- or ``None``, a *symbolic zero* that the modes drop
instead of multiplying by it.  Rules reuse the node's own output where that
saves work (``exp' = out``, ``tanh' = 1 - out^2``, ``sigmoid' = out(1 - out)``,
``sqrt' = 1/(2 out)``).

Kink conventions (DESIGN.md): ``abs'(0) = 0``; ``sign' = floor' = ceil' =
heaviside' = 0``; ``relu'(0) = 0``; ``leaky_relu'(0) = slope``; ``max``/``min``
split the derivative equally among tied arguments; ``sqrt'(0) = inf``.

A SymPy function without a rule here takes its partials from SymPy's own
``fdiff``, evaluated on the argument nodes.
"""

from fractions import Fraction

import sympy

_HALF = Fraction(1, 2)


def _c(g, value):
    return g.number(value)


def _square(g, x):
    return g.pow(x, _c(g, 2))


def _recip(g, x):
    return g.pow(x, _c(g, -1))


def _rsqrt(g, x):
    return g.pow(x, _c(g, -_HALF))


def _add(g, out, *xs):
    return [None if g.is_constant(x) else g.one for x in xs]


def _mul(g, out, *xs):
    k = len(xs)
    if k == 2:
        a, b = xs
        return [None if g.is_constant(a) else b, None if g.is_constant(b) else a]
    # Product of all the others via prefix and suffix products: O(k), not O(k^2).
    prefix = [g.one]
    for x in xs[:-1]:
        prefix.append(g.mul(prefix[-1], x))
    suffix = [g.one] * k
    for i in range(k - 2, -1, -1):
        suffix[i] = g.mul(suffix[i + 1], xs[i + 1])
    return [None if g.is_constant(xs[i]) else g.mul(prefix[i], suffix[i]) for i in range(k)]


def _pow(g, out, x, y):
    if g.is_number(y):
        c = g.data[y]           # exact (int, Fraction) or float; may be too big for a float
        if c == 2.0:
            dx = g.mul(_c(g, 2), x)
        elif c == 0.5:
            dx = g.mul(_c(g, _HALF), _recip(g, out))      # 1 / (2 sqrt(x)); inf at 0
        elif c == -1.0:
            dx = g.neg(_square(g, out))                   # -1/x^2 = -(1/x)^2
        else:
            dx = g.mul(y, g.pow(x, g.number(g.data[y] - 1)))
        return [dx, None]
    dy = g.mul(out, g.call("log", x))
    if g.is_constant(x):
        return [None, dy]
    return [g.mul(y, g.pow(x, g.add(y, _c(g, -1)))), dy]


def _extremum(g, out, *xs, largest):
    if len(xs) == 2:
        a, b = xs
        first = g.sub(a, b) if largest else g.sub(b, a)
        half = _c(g, _HALF)
        return [g.call("Heaviside", first, half), g.call("Heaviside", g.neg(first), half)]
    # tie indicator e_i = 1 where x_i equals the extremum; share the derivative equally
    ties = [g.call("Heaviside", g.sub(x, out) if largest else g.sub(out, x), g.one) for x in xs]
    total = _recip(g, g.add(*ties))
    return [g.mul(t, total) for t in ties]


def _leaky_relu(g, out, x, slope):
    step = g.call("Heaviside", x, g.zero)                 # uses x > 0: slope at 0
    dx = g.add(slope, g.mul(g.sub(g.one, slope), step))
    return [dx, g.call("Min", x, g.zero)]


def _atan2(g, out, y, x):
    r2 = g.add(_square(g, x), _square(g, y))
    return [g.div(x, r2), g.neg(g.div(y, r2))]


def _polygamma(g, out, n, x):
    if not g.is_number(n):
        raise ValueError("polygamma(n, x) is differentiated in x only: its order n must be a number")
    return [None, g.call("polygamma", g.number(g.data[n] + 1), x)]


def _mod(g, out, x, y):
    # x - y*floor(x/y), with floor' = 0: 1 in x, -floor(x/y) in y (as written at the jumps too)
    return [None if g.is_constant(x) else g.one,
            None if g.is_constant(y) else g.neg(g.call("floor", g.div(x, y)))]


RULES = {
    "Add": _add,
    "Mul": _mul,
    "Pow": _pow,
    "sin": lambda g, out, x: [g.call("cos", x)],
    "cos": lambda g, out, x: [g.neg(g.call("sin", x))],
    "tan": lambda g, out, x: [g.add(g.one, _square(g, out))],
    "asin": lambda g, out, x: [_rsqrt(g, g.sub(g.one, _square(g, x)))],
    "acos": lambda g, out, x: [g.neg(_rsqrt(g, g.sub(g.one, _square(g, x))))],
    "atan": lambda g, out, x: [_recip(g, g.add(g.one, _square(g, x)))],
    "atan2": _atan2,
    "sinh": lambda g, out, x: [g.call("cosh", x)],
    "cosh": lambda g, out, x: [g.call("sinh", x)],
    "tanh": lambda g, out, x: [g.sub(g.one, _square(g, out))],
    "asinh": lambda g, out, x: [_rsqrt(g, g.add(_square(g, x), g.one))],
    "acosh": lambda g, out, x: [_rsqrt(g, g.sub(_square(g, x), g.one))],
    "atanh": lambda g, out, x: [_recip(g, g.sub(g.one, _square(g, x)))],
    "exp": lambda g, out, x: [out],
    "log": lambda g, out, x: [_recip(g, x)],
    "log1p": lambda g, out, x: [_recip(g, g.add(g.one, x))],
    "expm1": lambda g, out, x: [g.add(out, g.one)],
    "erf": lambda g, out, x: [g.mul(_c(g, 2), g.pow(g.number_symbol(sympy.pi), _c(g, -_HALF)),
                                    g.call("exp", g.neg(_square(g, x))))],
    "erfc": lambda g, out, x: [g.mul(_c(g, -2), g.pow(g.number_symbol(sympy.pi), _c(g, -_HALF)),
                                     g.call("exp", g.neg(_square(g, x))))],
    "gamma": lambda g, out, x: [g.mul(out, g.call("polygamma", g.zero, x))],
    "loggamma": lambda g, out, x: [g.call("polygamma", g.zero, x)],
    "polygamma": _polygamma,
    "Cbrt": lambda g, out, x: [g.mul(_c(g, Fraction(1, 3)), g.pow(out, _c(g, -2)))],
    "hypot": lambda g, out, x, y: [g.div(x, out), g.div(y, out)],
    "Abs": lambda g, out, x: [g.call("sign", x)],
    "sign": lambda g, out, x: [None],
    "floor": lambda g, out, x: [None],
    "ceiling": lambda g, out, x: [None],
    "Heaviside": lambda g, out, x, h0: [None, None],
    "Max": lambda g, out, *xs: _extremum(g, out, *xs, largest=True),
    "Min": lambda g, out, *xs: _extremum(g, out, *xs, largest=False),
    "sigmoid": lambda g, out, x: [g.mul(out, g.sub(g.one, out))],
    "relu": lambda g, out, x: [g.call("Heaviside", x, g.zero)],
    "leaky_relu": _leaky_relu,
    "softplus": lambda g, out, x: [g.call("sigmoid", x)],
    "Mod": _mod,
}


def local_partials(g, v):
    """``[d v / d arg for arg in g.args[v]]`` as nodes of ``g``; ``None`` is a zero."""
    rule = RULES.get(g.kind[v])
    if rule is None:
        return _sympy_fdiff(g, v)
    return rule(g, v, *g.args[v])


def _exception_text(exc):
    """What ``exc`` says, or its class where its own str fails (some of SymPy's do)."""
    try:
        return str(exc) or type(exc).__name__
    except Exception:
        return type(exc).__name__


def _sympy_fdiff(g, v):
    func = g.data[v]
    xs = g.args[v]
    dummies = [sympy.Dummy(f"arg{i}") for i in range(len(xs))]
    applied = func(*dummies)
    partials = []
    for i in range(len(xs)):
        if g.is_constant(xs[i]):        # besselj(0, x): no derivative by the order needed
            partials.append(None)
            continue
        try:
            d = applied.fdiff(i + 1)
        except sympy.core.function.ArgumentIndexError:
            # SymPy's way of saying it has no formula (zeta(x)); its str raised IndexError
            raise ValueError(f"SymPy has no closed-form derivative of {func.__name__} "
                             f"(argument {i + 1})") from None
        except Exception as exc:  # SymPy raises several kinds here
            raise ValueError(f"no derivative rule for {func.__name__} (argument {i + 1}): "
                             f"{_exception_text(exc)}") from None
        if d.has(sympy.Derivative, sympy.Subs):
            raise ValueError(f"SymPy has no closed-form derivative of {func.__name__}")
        partials.append(None if d == 0 else g.from_sympy(d, dict(zip(dummies, xs))))
    return partials
