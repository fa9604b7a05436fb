"""The gamma family: lgamma, digamma and SymPy's gamma, loggamma and polygamma.

symdiff.special computes polygamma for numba code; its oracle here is mpmath
(SymPy's arbitrary-precision backend), an implementation independent of both
symdiff and scipy.
"""

import math

import mpmath
import numpy as np
import pytest
import scipy.special
import sympy

import symdiff as sd
from conftest import sympy_gradient, sympy_value
from symdiff.ops import polygamma_array
from symdiff.special import polygamma_real


def _points():
    rng = np.random.default_rng(1)
    return np.concatenate([rng.uniform(-30, 30, 300), rng.uniform(1e-3, 3, 100), 10 ** rng.uniform(-6, 12, 100),
                           [-10.999960264537734, -7.000572367400144, -0.5, -1e-300, 1e-300, 1.4616321449683622]])


@pytest.mark.parametrize("n", [0, 1, 2, 3, 6])
def test_polygamma_matches_mpmath(n):
    worst = 0.0
    for x in _points():
        if x <= 0 and x == math.floor(x):
            continue
        with mpmath.workdps(40):
            exact = float(mpmath.polygamma(n, mpmath.mpf(float(x))))
        # relative error, absolute where |value| < 1 (digamma crosses zero)
        worst = max(worst, abs(polygamma_real(float(n), x) - exact) / max(abs(exact), 1.0))
    assert worst < 2e-14


def test_polygamma_poles_and_infinities_are_scipys():
    for n in (0.0, 1.0, 2.0):
        for x in (0.0, -0.0, -1.0, -4.0, math.inf, -math.inf, math.nan):
            ours, theirs = polygamma_real(n, x), float(scipy.special.polygamma(n, x))
            assert ours == theirs or (math.isnan(ours) and math.isnan(theirs)), (n, x)
    assert polygamma_real(0.0, 0.0) == -math.inf and polygamma_real(0.0, -0.0) == math.inf     # as psi's limits
    assert math.isnan(polygamma_real(0.5, 2.0)) and math.isnan(polygamma_real(-1.0, 2.0))      # no such order
    with mpmath.workdps(40):
        exact = float(mpmath.digamma(-1e12 - 0.5))
    assert polygamma_real(0.0, -1e12 - 0.5) == pytest.approx(exact, rel=1e-12)


def _reflected(n, x):
    """polygamma(n, x) for x < 0 by the reflection formula, (-1)^n psi_n(1 - x) - pi^(n+1)
    cot^(n)(pi x), in mpmath: mpmath's own polygamma sums about |x| terms there (seconds at
    x = -10^5), and this is a different formula from symdiff's (checked against mpmath's
    polygamma below, where that is quick)."""
    with mpmath.workdps(60):
        x = mpmath.mpf(x)
        cot_n = mpmath.diff(mpmath.cot, mpmath.pi * x, n)        # n-th derivative of cot at pi x
        return float((-1) ** n * mpmath.polygamma(n, 1 - x) - mpmath.pi ** (n + 1) * cot_n)


@pytest.mark.parametrize("n", [1, 2, 3, 9])
def test_polygamma_far_below_zero(n):
    # it used to be nan below -2^20 (a sum of |x| terms); now the terms below zero are two
    # zetas of positive arguments, as quick and accurate at -10^12 as at -2
    for x in (-30.3, -2.7, -1000.001):
        with mpmath.workdps(40):
            direct = float(mpmath.polygamma(n, mpmath.mpf(x)))
        assert _reflected(n, x) == pytest.approx(direct, rel=1e-15, abs=1e-15)
    rng = np.random.default_rng(n)
    points = np.concatenate([-10 ** rng.uniform(0, 12, 100),
                             [-1e12 - 0.5, -1e6 + 1e-4, -(2.0 ** 20) - 0.25, -1.0000001]])
    points = points[points != np.floor(points)]
    exact = np.array([_reflected(n, x) for x in points])
    worst = max(abs(polygamma_real(float(n), x) - e) / max(abs(e), 1.0) for x, e in zip(points, exact))
    assert worst < 2e-14
    # the python backend's polygamma (scipy sums |x| terms there: an hour at -10^12) takes the
    # same three zetas, on arrays
    np.testing.assert_allclose(polygamma_array(float(n), points), exact, rtol=2e-14, atol=2e-14)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_sympy_gamma_family_both_backends_and_the_tape(mode):
    x, y = sympy.symbols("x y")
    expr = sympy.gamma(x) * y + sympy.loggamma(y) + sympy.polygamma(2, x * y)
    points = [{"x": 2.5, "y": 0.7}, {"x": -1.5, "y": 3.2}]
    for backend in ("python", "numba"):
        fn = sd.value_and_grad(expr, wrt=["x", "y"], mode=mode, backend=backend)
        for p in points:
            value, gradient = fn(**p)
            assert value == pytest.approx(sympy_value(expr, p), rel=1e-13)
            np.testing.assert_allclose(gradient, sympy_gradient(expr, ["x", "y"], p), rtol=1e-12)
    # the numba tape (long programs) runs the same ops
    from symdiff.compile import load_module
    from symdiff.numba_backend import module_source
    program = sd.value_and_grad(expr, wrt=["x", "y"], mode=mode, backend="python").program
    taped = load_module(module_source(program, standalone=False, limit=0))
    p = points[1]
    np.testing.assert_allclose(taped.value_and_grad_array(p["x"], p["y"]),
                               [sympy_value(expr, p), *sympy_gradient(expr, ["x", "y"], p)], rtol=1e-12)


def test_digamma_gradient_far_below_zero_on_both_backends():
    # by hand: d/dx digamma(x) = trigamma(x) = pi^2/sin^2(pi x) - trigamma(1 - x); at
    # x = -10^12 - 1/2 that is pi^2 - (about 10^-12)
    for backend in ("python", "numba"):
        g = sd.grad("digamma(x)", backend=backend)
        assert g(x=-1e12 - 0.5)[0] == pytest.approx(math.pi ** 2 - 1e-12, rel=1e-15)


def test_a_negative_digamma_to_a_power_is_nan_not_complex():
    # found by the fuzz tests: digamma(1) = -0.577..., and a Python float to the power pi is
    # complex where numpy's float64 gives nan (as the numba backend does)
    for backend in ("python", "numba"):
        value, gradient = sd.value_and_grad("digamma(x)^pi", backend=backend)(x=1.0)
        assert math.isnan(value) and math.isnan(gradient[0])


def test_lgamma_hessian_is_trigamma():
    # by hand: d2/da2 lgamma(a) = trigamma(a); d2/da db (a digamma(b)) = trigamma(b)
    H = sd.hessian("lgamma(a) + a*digamma(b)", wrt=["a", "b"])
    np.testing.assert_allclose(H(a=2.5, b=1.5), [[scipy.special.polygamma(1, 2.5), scipy.special.polygamma(1, 1.5)],
                                                [scipy.special.polygamma(1, 1.5),
                                                 2.5 * scipy.special.polygamma(2, 1.5)]], rtol=1e-13)


def test_gamma_names_in_text_point_to_the_language():
    with pytest.raises(sd.ParseError, match=r"unknown function 'gamma': write exp\(lgamma\(x\)\)"):
        sd.parse("gamma(x)")
    with pytest.raises(sd.ParseError, match="did you mean lgamma"):
        sd.parse("gammaln(x)")
    with pytest.raises(sd.ParseError, match="did you mean digamma"):
        sd.parse("psi(x)")
    assert sd.parse("digamma(x)") == sympy.polygamma(0, sympy.Symbol("x"))


def test_polygamma_of_a_variable_order_is_refused():
    n, x = sympy.symbols("n x")
    with pytest.raises(ValueError, match="its order n must be a number"):
        sd.grad(sympy.polygamma(n, x), wrt=["x"], backend="python")


def test_numba_modules_carry_polygamma_and_import_no_scipy():
    # exported modules need only numpy and numba: polygamma's code travels with them
    from symdiff.api import build
    from symdiff.numba_backend import module_source
    program = build("grad", ["lgamma(a)*b + digamma(b)"], ["a", "b"], "reverse").program
    for limit in (None, 0):                     # straight-line code, and the tape with its executor
        src = module_source(program, standalone=True, limit=limit)
        assert "def polygamma_real(n, x):" in src
        assert "import scipy" not in src and "scipy.special" not in src
        assert "import symdiff" not in src and "from symdiff" not in src


def test_lgamma_at_its_edges_is_c_lgamma_in_every_backend():
    # scipy's gammaln gives -inf at -inf and inf below |x| = 1e-308; C's lgamma (numba, CUDA)
    # gives +inf and -log|x| (Gamma(x) ~ 1/x there): lgamma(1e-310) = 310 log(10) = 713.80...
    import math

    import symdiff as sd
    points = [-np.inf, 1e-310, -1e-310, 0.0, -2.0, np.inf, 4.5]
    want = [math.inf, 310 * math.log(10), 310 * math.log(10), math.inf, math.inf, math.inf, math.lgamma(4.5)]
    for backend in ("python", "numba"):
        f = sd.value_and_grad("lgamma(x)", backend=backend)
        got = [f(x)[0] for x in points]
        np.testing.assert_allclose(got, want, rtol=1e-15, err_msg=backend)
        np.testing.assert_allclose(f(np.array(points))[0], want, rtol=1e-15, err_msg=backend)
