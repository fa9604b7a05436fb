"""The op table: every operation symdiff knows, in one place.

Two levels share this table:

* **Graph kinds** are SymPy class names (``Add``, ``Mul``, ``Pow``, ``sin``,
  ``Abs``, ``Heaviside``, ``Max`` ...).  ``Add``, ``Mul`` and ``Pow`` are
  n-ary/structural like in SymPy and are lowered to arithmetic before code
  generation; every other graph kind is a *function* that prints one-to-one.
* **Program ops** are what one line of generated code does: the arithmetic
  ops ``add sub mul div neg pow sqrt max min`` plus the function kinds.

Each printable op has two spellings: ``numpy`` (the python backend, used on
whole arrays and on numpy scalars, so IEEE nan/inf come out instead of
exceptions) and ``scalar`` (the numba backend, one element at a time, compiled
with ``error_model="numpy"``).  A spelling is a format string over the
operand names ``{0}``, ``{1}``; operands are always plain names or numbers, so
repeating one inside a spelling is safe.
"""

import inspect
from dataclasses import dataclass, field

import numpy as np
import scipy.special
import sympy
from sympy.codegen.cfunctions import Cbrt, expm1, hypot, log1p

from . import functions


@dataclass(frozen=True)
class Op:
    name: str                  # graph kind / program op name
    numpy: str                 # spelling for the python (numpy) backend
    scalar: str                # spelling for the numba (per element) backend
    evaluate: object           # numpy callable: the reference semantics
    category: str              # add | mul | div | transcendental | compare
    sympy: object = None       # SymPy class (graph kinds only)
    nargs: int = 1             # arity; 0 means variadic
    imports: dict = field(default_factory=dict)  # dialect -> import lines


def _heaviside_scalar():
    # numba has no np.heaviside; nan falls through to the last branch.
    return "(1.0 if {0} > 0.0 else ({1} if {0} == 0.0 else (0.0 if {0} < 0.0 else {0})))"


def _sigmoid(x):
    return 1.0 / (1.0 + np.exp(-x))


def _softplus(x):
    return np.maximum(x, 0.0) + np.log1p(np.exp(-np.abs(x)))


def _leaky_relu(x, slope):
    return np.where(x > 0.0, x, slope * x)


def polygamma_array(n, x):
    """polygamma(n, x) on numpy arrays, for the python backend: scipy's, except below x = -1
    with n >= 1, where scipy sums about |x| terms (an hour at x = -10^12) and this takes
    the three zetas of symdiff.special.polygamma_real (its module docstring)."""
    n, x = np.broadcast_arrays(np.asarray(n, dtype=np.float64), np.asarray(x, dtype=np.float64))
    far = (x < -1.0) & (n >= 1.0) & (n == np.floor(n)) & (x != np.floor(x))
    with np.errstate(all="ignore"):
        value = scipy.special.polygamma(n, np.where(far, 2.0, x))
        if far.any():
            s, xf = n[far] + 1.0, x[far]
            sign = np.where(n[far] % 2.0 == 1.0, 1.0, -1.0)        # (-1)^s
            m = -np.floor(xf)
            r = xf + m
            zeta = scipy.special.zeta
            value = np.array(value)
            terms = zeta(s, r) + sign * (zeta(s, 1.0 - r) - zeta(s, m + 1.0 - r))
            value[far] = sign * scipy.special.gamma(s) * terms
    return value if value.ndim else value[()]      # np.float64, not float: (-0.5) ** pi is nan, not complex


def lgamma_array(x):
    """log|gamma(x)| on numpy arrays, for the python backend: scipy's gammaln, except where it
    differs from C's lgamma (which numba and CUDA code call): +inf at -inf (gammaln: -inf),
    and -log|x| for |x| below 1e-300, where gammaln overflows to inf (lgamma(1e-310) is 713.8;
    the next term, -0.577 x, is below a rounding there)."""
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(all="ignore"):
        value = np.where(np.abs(x) < 1e-300, -np.log(np.abs(x)), scipy.special.gammaln(x))
        value = np.where(x == -np.inf, np.inf, value)
    return value if value.ndim else value[()]     # np.float64, as polygamma_array gives


def calls_polygamma(program):
    """Whether ``program`` calls polygamma: then its generated module carries an implementation
    (this one for the python backend, symdiff.special's for numba and CUDA)."""
    return any(ins.op == "polygamma" for ins in program.body)


def numpy_sources_for(program):
    """The sources of the functions above that ``program``'s python-backend module calls
    (lgamma_array, polygamma_array): the module carries them, importing numpy and scipy,
    never symdiff."""
    used = {ins.op for ins in program.body}
    return [inspect.getsource(fn) for op, fn in (("loggamma", lgamma_array), ("polygamma", polygamma_array))
            if op in used]


# np.mod's result, one element at a time (numba's np.mod and % give 0.0 where numpy gives
# -0.0): fmod's, moved by y where its sign differs from y's (x = -0.5, y = 2: 1.5), and a
# zero with the sign of y (mod(0, -1) is -0.0, so 1/mod(y, x) is -inf there in every backend)
def _mod_spelling(lib):
    """In numba's CPU code ``lib`` is np (it has no math.fmod), on the device math."""
    r = lib + ".fmod({0}, {1})"
    return f"({r} + {{1}} if {r} != 0.0 and ({r} < 0.0) != ({{1}} < 0.0) else " \
           f"({r} if {r} != 0.0 else {lib}.copysign(0.0, {{1}})))"


_MOD_SCALAR = _mod_spelling("np")

_SIGMOID = "1.0 / (1.0 + np.exp(-{0}))"
_SOFTPLUS = "np.maximum({0}, 0.0) + np.log1p(np.exp(-np.abs({0})))"


def _unary(name, np_name, sympy_cls, category="transcendental", scalar=None):
    spelling = "np.%s({0})" % np_name
    return Op(name, spelling, scalar or spelling, getattr(np, np_name), category, sympy_cls)


OPS = {op.name: op for op in [
    # program-level arithmetic (what Add/Mul/Pow lower to)
    Op("add", "{0} + {1}", "{0} + {1}", np.add, "add", nargs=2),
    Op("sub", "{0} - {1}", "{0} - {1}", np.subtract, "add", nargs=2),
    Op("neg", "-{0}", "-{0}", np.negative, "add"),
    Op("mul", "{0} * {1}", "{0} * {1}", np.multiply, "mul", nargs=2),
    Op("div", "{0} / {1}", "{0} / {1}", np.divide, "div", nargs=2),
    Op("pow", "{0} ** {1}", "{0} ** {1}", np.power, "transcendental", nargs=2),
    Op("sqrt", "np.sqrt({0})", "np.sqrt({0})", np.sqrt, "transcendental"),
    # on a tie numpy returns the second operand (maximum(0.0, -0.0) is -0.0) and numba's
    # np.maximum the first: the numba spelling states numpy's rule, nan propagating too
    Op("max", "np.maximum({0}, {1})", "({0} if {0} > {1} or {0} != {0} else {1})", np.maximum,
       "compare", nargs=2),
    Op("min", "np.minimum({0}, {1})", "({0} if {0} < {1} or {0} != {0} else {1})", np.minimum,
       "compare", nargs=2),
    # graph kinds that print one-to-one
    _unary("sin", "sin", sympy.sin),
    _unary("cos", "cos", sympy.cos),
    _unary("tan", "tan", sympy.tan),
    _unary("asin", "arcsin", sympy.asin),
    _unary("acos", "arccos", sympy.acos),
    _unary("atan", "arctan", sympy.atan),
    _unary("sinh", "sinh", sympy.sinh),
    _unary("cosh", "cosh", sympy.cosh),
    _unary("tanh", "tanh", sympy.tanh),
    _unary("asinh", "arcsinh", sympy.asinh),
    _unary("acosh", "arccosh", sympy.acosh),
    _unary("atanh", "arctanh", sympy.atanh),
    _unary("exp", "exp", sympy.exp),
    _unary("log", "log", sympy.log),
    _unary("log1p", "log1p", log1p),
    _unary("expm1", "expm1", expm1),
    _unary("Cbrt", "cbrt", Cbrt),
    _unary("Abs", "abs", sympy.Abs, "compare"),
    # numpy's sign(-0.0) is +0.0; numba's np.sign (and the plain conditional) gave -0.0
    _unary("sign", "sign", sympy.sign, "compare",
           scalar="(1.0 if {0} > 0.0 else (-1.0 if {0} < 0.0 else (0.0 if {0} == 0.0 else {0})))"),
    _unary("floor", "floor", sympy.floor, "compare"),
    _unary("ceiling", "ceil", sympy.ceiling, "compare"),
    Op("erf", "scipy.special.erf({0})", "math.erf({0})", scipy.special.erf, "transcendental",
       sympy.erf, imports={"numpy": ["import scipy.special"], "scalar": ["import math"]}),
    # SymPy's erfc (not in the text language): 1 - erf(x) would lose every digit in the tail
    Op("erfc", "scipy.special.erfc({0})", "math.erfc({0})", scipy.special.erfc, "transcendental",
       sympy.erfc, imports={"numpy": ["import scipy.special"], "scalar": ["import math"]}),
    Op("atan2", "np.arctan2({0}, {1})", "np.arctan2({0}, {1})", np.arctan2, "transcendental",
       sympy.atan2, nargs=2),
    Op("hypot", "np.hypot({0}, {1})", "np.hypot({0}, {1})", np.hypot, "transcendental",
       hypot, nargs=2),
    Op("Heaviside", "np.heaviside({0}, {1})", _heaviside_scalar(), np.heaviside, "compare",
       sympy.Heaviside, nargs=2),
    Op("Max", "", "", None, "compare", sympy.Max, nargs=0),
    Op("Min", "", "", None, "compare", sympy.Min, nargs=0),
    Op("sigmoid", _SIGMOID, _SIGMOID, _sigmoid, "transcendental", functions.sigmoid),
    # numpy's maximum(x, 0.0) in numba too (whose np.maximum gave relu(-0.0) = -0.0)
    Op("relu", "np.maximum({0}, 0.0)", "({0} if {0} > 0.0 or {0} != {0} else 0.0)", lambda x: np.maximum(x, 0.0),
       "compare", functions.relu),
    Op("leaky_relu", "np.where({0} > 0.0, {0}, {1} * {0})", "({0} if {0} > 0.0 else {1} * {0})",
       _leaky_relu, "compare", functions.leaky_relu, nargs=2),
    Op("softplus", _SOFTPLUS, _SOFTPLUS, _softplus, "transcendental", functions.softplus),
    # (last, so that the tape's opcodes of the ops above stay as they were)
    # the gamma family: lgamma is log|gamma(x)| (real on the whole line, as scipy's gammaln
    # and C's lgamma); polygamma(n, x) (n whole, >= 0; digamma is n = 0) is its derivative,
    # computed in numba code by symdiff.special (numba has no polygamma)
    Op("gamma", "scipy.special.gamma({0})", "math.gamma({0})", scipy.special.gamma, "transcendental",
       sympy.gamma),
    Op("loggamma", "lgamma_array({0})", "math.lgamma({0})", lgamma_array, "transcendental", sympy.loggamma),
    Op("polygamma", "polygamma_array({0}, {1})", "polygamma_real({0}, {1})", polygamma_array,
       "transcendental", sympy.polygamma, nargs=2),
    # mod(x, y) = x - y*floor(x/y), with the sign of y, as SymPy's Mod, Python's % and np.mod
    Op("Mod", "np.mod({0}, {1})", _MOD_SCALAR, np.mod, "div", sympy.Mod, nargs=2),
]}

#: Graph kinds whose SymPy class we recognise, by class.
KIND_OF_SYMPY = {op.sympy: op.name for op in OPS.values() if op.sympy is not None}

#: The expression language's function names -> (graph kind, number of arguments;
#: 0 = one or more).  ``sqrt``, ``pow``, ``heaviside`` and ``digamma`` are spelled through
#: Pow / Heaviside(x, 1/2) / polygamma(0, x) exactly as SymPy represents them.
LANGUAGE_FUNCTIONS = {
    "sin": ("sin", 1), "cos": ("cos", 1), "tan": ("tan", 1),
    "asin": ("asin", 1), "acos": ("acos", 1), "atan": ("atan", 1),
    "atan2": ("atan2", 2),
    "sinh": ("sinh", 1), "cosh": ("cosh", 1), "tanh": ("tanh", 1),
    "asinh": ("asinh", 1), "acosh": ("acosh", 1), "atanh": ("atanh", 1),
    "exp": ("exp", 1), "log": ("log", 1), "log1p": ("log1p", 1), "expm1": ("expm1", 1),
    "sqrt": ("sqrt", 1), "cbrt": ("Cbrt", 1), "pow": ("Pow", 2),
    "abs": ("Abs", 1), "sign": ("sign", 1), "floor": ("floor", 1), "ceil": ("ceiling", 1),
    "min": ("Min", 0), "max": ("Max", 0), "heaviside": ("Heaviside", 1),
    "sigmoid": ("sigmoid", 1), "relu": ("relu", 1), "leaky_relu": ("leaky_relu", 2),
    "softplus": ("softplus", 1), "erf": ("erf", 1), "hypot": ("hypot", 2),
    "lgamma": ("loggamma", 1), "digamma": ("polygamma", 1), "mod": ("Mod", 2),
}

#: Constants of the language.
LANGUAGE_CONSTANTS = {"pi": sympy.pi, "E": sympy.E}

#: Names that can never be variables.
RESERVED_NAMES = frozenset(LANGUAGE_FUNCTIONS) | frozenset(LANGUAGE_CONSTANTS)

CATEGORIES = ("add", "mul", "div", "transcendental", "compare")


#: Spellings for CUDA device functions (numba.cuda): ``math`` functions and
#: conditional expressions only, since numpy functions are not available on the
#: device.  Comparisons are written so that nan propagates as numpy does.
CUDA_SPELLINGS = {
    "add": "{0} + {1}", "sub": "{0} - {1}", "neg": "-{0}", "mul": "{0} * {1}", "div": "{0} / {1}",
    "pow": "{0} ** {1}", "sqrt": "math.sqrt({0})",
    # numba's spellings of these are conditional expressions already, numpy's rules stated
    **{name: OPS[name].scalar for name in ("max", "min", "sign", "relu", "leaky_relu")},
    **{name: "math.%s({0})" % name for name in (
        "sin", "cos", "tan", "asin", "acos", "atan", "sinh", "cosh", "tanh", "asinh", "acosh",
        "atanh", "exp", "log", "log1p", "expm1", "erf", "erfc", "gamma")},
    "loggamma": "math.lgamma({0})",
    "polygamma": "polygamma_real({0}, {1})",           # symdiff.special, as a device function
    "Cbrt": "math.copysign(abs({0}) ** (1.0 / 3.0), {0})",
    "Abs": "abs({0})",
    "floor": "math.floor({0})",
    "ceiling": "math.ceil({0})",
    "atan2": "math.atan2({0}, {1})",
    "hypot": "math.hypot({0}, {1})",
    "Heaviside": _heaviside_scalar(),
    "Mod": _mod_spelling("math"),
    "sigmoid": "1.0 / (1.0 + math.exp(-{0}))",
    "softplus": "(({0} if {0} > 0.0 else 0.0) + math.log1p(math.exp(-abs({0}))))",
}


#: Spellings for the vectorised batch loop of the numba backend: the scalar ones
#: with sin, cos, exp, log and tanh (and sigmoid, through exp) replaced by the
#: branch-free functions of :mod:`symdiff.vecmath`.  Only programs whose every op
#: is in this table get a vectorised loop: any other op (pow, tan, ...) is a libm
#: call, which keeps LLVM from vectorising the loop anyway.
VECTOR_FUNCTIONS = {"sin": "vec_sin({0})", "cos": "vec_cos({0})", "exp": "vec_exp({0})",
                    "log": "vec_log({0})", "tanh": "vec_tanh({0})",
                    "sigmoid": "1.0 / (1.0 + vec_exp(-{0}))"}
VECTOR_SPELLINGS = {
    **{name: OPS[name].scalar for name in (
        "add", "sub", "neg", "mul", "div", "pow", "sqrt", "max", "min", "Abs", "sign", "floor", "ceiling",
        "Heaviside", "relu", "leaky_relu")},
    **VECTOR_FUNCTIONS,
}
#: Ops whose argument must be checked against ``vecmath.VEC_TRIG_LIMIT``.
VECTOR_CHECKED = ("sin", "cos")
