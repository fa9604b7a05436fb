"""polygamma for the numba backends: the derivative of lgamma (and of itself).

Numba compiles ``math.gamma`` and ``math.lgamma`` but has no digamma or
polygamma (scipy.special is not available to compiled code), and a generated
module must not import symdiff.  So the function below is written in plain
Python that numba compiles, and its source -- the text between the markers --
is copied into the generated modules that call it and into the tape executor.
The python backend calls ``scipy.special.polygamma``; tests/test_special.py
checks the two agree (and both against SymPy's mpmath).

Written from the textbook formulas, not ported from a library:

* ``polygamma(0, x)``, the digamma function psi: for ``x < 0`` the reflection
  ``psi(x) = psi(1 - x) - pi / tan(pi x)``; then the recurrence
  ``psi(x) = psi(x + 1) - 1/x`` moves ``x`` to at least 10, where the
  asymptotic series ``log x - 1/(2x) - sum B_2k / (2k x^2k)`` (Bernoulli
  numbers B_2k) is accurate to rounding.
* ``polygamma(n, x)`` for a whole ``n >= 1`` is ``(-1)^(n+1) n! zeta(n+1, x)``,
  with the Hurwitz zeta function summed directly up to ``x + N >= 10 + n`` and
  its Euler-Maclaurin tail after that.  Below ``x = -1`` its terms with
  ``x + k < 0`` are ``(-1)^s (j - r)^-s`` for ``j = 1 .. m`` (``s = n + 1``,
  ``m = -floor(x)``, ``r = x + m`` in (0, 1), exact): ``(-1)^s (zeta(s, 1 - r) -
  zeta(s, m + 1 - r))``, so ``zeta(s, x)`` is three zetas of positive arguments
  and costs the same at ``x = -10^12`` as at ``x = -2``.

Values at the poles and at infinity are scipy.special.polygamma's: psi(0) is
-inf (+inf for -0.0), psi at a negative integer is nan, psi(inf) = inf and
psi(-inf) = nan; for n >= 1 a pole gives +-inf (the sign of (-1)^(n+1)),
x = inf gives 0, x = -inf gives (-1)^(n+1) inf.  A non-whole or negative
order n gives nan.
"""

# --- begin kernels ---
import math

import numba

# B_2k / (2k) for the digamma series, k = 1 .. 8
_PSI_SERIES = (1.0 / 12.0, -1.0 / 120.0, 1.0 / 252.0, -1.0 / 240.0, 1.0 / 132.0,
               -691.0 / 32760.0, 1.0 / 12.0, -3617.0 / 8160.0)
# B_2k / (2k)! for the Euler-Maclaurin tail of the Hurwitz zeta function, k = 1 .. 10
_ZETA_TAIL = (1.0 / 12.0, -1.0 / 720.0, 1.0 / 30240.0, -1.0 / 1209600.0, 1.0 / 47900160.0,
              -691.0 / 1307674368000.0, 1.0 / 74724249600.0, -3617.0 / 10670622842880000.0,
              43867.0 / 5109094217170944000.0, -174611.0 / 802857662698291200000.0)


@numba.njit(cache=True, error_model="numpy")
def _digamma(x):
    if math.isnan(x) or x == math.inf:
        return x
    if x == -math.inf:
        return math.nan
    if x == 0.0:
        return -math.inf if math.copysign(1.0, x) > 0.0 else math.inf
    shift = 0.0
    if x < 0.0:
        r = x - math.floor(x + 0.5)    # exact, in [-1/2, 1/2]: tan(pi r) = tan(pi x), and pi r is
        if r == 0.0:                   # accurate where tan is steep (near the poles)
            return math.nan
        shift = -math.pi / math.tan(math.pi * r)
        x = 1.0 - x
    while x < 10.0:
        shift -= 1.0 / x
        x += 1.0
    z = 1.0 / (x * x)
    series = 0.0
    for k in range(7, -1, -1):
        series = series * z + _PSI_SERIES[k]
    return shift + math.log(x) - 0.5 / x - series * z


@numba.njit(cache=True, error_model="numpy")
def _hurwitz_zeta(s, q):
    """sum over k >= 0 of (q + k)^-s, for s > 1 and q not a whole number <= 0."""
    total = 0.0
    a = q
    while a < 10.0 + s:
        total += a ** -s
        a += 1.0
    # Euler-Maclaurin: the integral, half the first term, then the Bernoulli corrections
    total += a ** (1.0 - s) / (s - 1.0) + 0.5 * a ** -s
    rising = s                          # s (s+1) ... (s+2k-2)
    power = a ** (-s - 1.0)             # a^(-s-2k+1)
    for k in range(10):
        total += _ZETA_TAIL[k] * rising * power
        rising *= (s + 2 * k + 1.0) * (s + 2 * k + 2.0)
        power /= a * a
    return total


@numba.njit(cache=True, error_model="numpy")
def polygamma_real(n, x):
    """polygamma(n, x) for real x and a whole n >= 0, with the values scipy gives."""
    if n == 0.0:
        return _digamma(x)
    if math.isnan(n) or math.isnan(x) or n < 0.0 or n != math.floor(n):
        return math.nan
    sign = 1.0 if n % 2.0 == 1.0 else -1.0          # (-1)^(n+1)
    if x == math.inf:
        return 0.0
    if x <= 0.0 and x == math.floor(x):             # a pole, or -inf
        return sign * math.inf
    s = n + 1.0
    if x < -1.0:        # the terms below zero as two zetas (module docstring); sign is (-1)^s
        m = -math.floor(x)
        r = x + m
        zeta = _hurwitz_zeta(s, r) + sign * (_hurwitz_zeta(s, 1.0 - r) - _hurwitz_zeta(s, m + 1.0 - r))
    else:
        zeta = _hurwitz_zeta(s, x)
    return sign * math.gamma(s) * zeta
# --- end kernels ---

from .ops import calls_polygamma

_DECORATOR = '@numba.njit(cache=True, error_model="numpy")'      # the kernels' own


def source():
    """The kernels' source, for a generated module (it imports math and numba itself)."""
    from .printing import kernel_source
    return kernel_source(__file__)


def sources_for(program, decorator=_DECORATOR):
    """``[the kernels' source]`` when ``program`` calls polygamma, else ``[]``; ``decorator``
    replaces the kernels' own (``@cuda.jit(device=True)`` makes them device functions)."""
    if not calls_polygamma(program):
        return []
    text = source()
    if decorator != _DECORATOR:
        assert _DECORATOR in text       # every kernel carries the decorator replaced here
        text = text.replace(_DECORATOR, decorator)
    return [text]
