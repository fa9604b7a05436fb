"""sin, cos, exp, log and tanh that LLVM can vectorise: the numba backend's batch loops.

Numba calls libm for ``math.sin`` and friends, one element at a time, and a
loop containing such a call is never vectorised (llvmlite from PyPI has no
vector math library).  The functions below are the classic fdlibm/musl
algorithms -- range reduction, a polynomial, a scale by a power of two --
written without branches, loops or calls, so that a batch loop whose body
uses only arithmetic and these functions becomes SIMD code (AVX2/AVX-512).
Measured against libm on 10^7 arguments (tests/test_vecmath.py) they are
within 2 ulp; nan, inf, overflow, underflow and subnormals come out as libm's.

``vec_sin``/``vec_cos`` reduce the argument with the three-part Cody-Waite
reduction of musl's ``__rem_pio2`` (exact for ``|x| <= VEC_TRIG_LIMIT``, and
inf or nan give nan); a larger finite argument gives a wrong value, so the
batch loop counts such arguments and, if there is one, computes the whole
batch again with the libm kernel.

Each function is a numba *intrinsic*: its LLVM IR is written straight into
the calling function (class ``_VecValue`` turns Python arithmetic into one
IEEE instruction per operator), so there is no call for the vectoriser to
stop at, and nothing for numba to type or inline -- compiling a kernel that
uses them costs about what one with libm calls does.

The text between the markers below is copied into generated modules (which
must not import symdiff); :func:`source` returns it.
"""

# --- begin kernels ---
import numba

VEC_TRIG_LIMIT = 1.5e6          # below 2**20 * pi/2, where the reduction below is exact
_VEC_TOINT = 6755399441055744.0  # 1.5 * 2**52: x + _VEC_TOINT - _VEC_TOINT rounds x to an integer
_VEC_INVPIO2 = 6.36619772367581382433e-01
_VEC_PIO2_1 = 1.57079632673412561417e+00    # first 33 bits of pi/2
_VEC_PIO2_1T = 6.07710050650619224932e-11   # pi/2 - _VEC_PIO2_1
_VEC_PIO2_2 = 6.07710050630396597660e-11    # second 33 bits of pi/2
_VEC_PIO2_2T = 2.02226624879595063154e-21   # pi/2 - (_VEC_PIO2_1 + _VEC_PIO2_2)
_VEC_PIO2_3 = 2.02226624871116645580e-21    # third 33 bits of pi/2
_VEC_PIO2_3T = 8.47842766036889956997e-32   # pi/2 - (_VEC_PIO2_1 + _VEC_PIO2_2 + _VEC_PIO2_3)
_VEC_LN2_HI = 6.93147180369123816490e-01
_VEC_LN2_LO = 1.90821492927058770002e-10
_VEC_INVLN2 = 1.44269504088896338700e+00
_VEC_SIGN = 0x7fffffffffffffff


class _VecValue:
    """A float64 ("f"), int64 ("i") or condition ("c") in LLVM IR being built.

    Each operator emits exactly one IEEE instruction (no fast-math flags), in
    the order Python evaluates the expression, so the code below computes what
    it reads as.  Python numbers become constants of the other operand's kind.
    """

    __slots__ = ("builder", "context", "kind", "value")
    __hash__ = None

    def __init__(self, context, builder, value, kind):
        self.context, self.builder, self.value, self.kind = context, builder, value, kind

    def new(self, value, kind=None):
        return _VecValue(self.context, self.builder, value, kind or self.kind)

    def lift(self, other):
        if isinstance(other, _VecValue):
            return other
        if self.kind == "f":
            return self.new(self.context.get_constant(numba.core.types.float64, float(other)), "f")
        return self.new(self.context.get_constant(numba.core.types.int64, int(other)), "i")

    def _arith(self, float_op, int_op, other, swap=False):
        a, b = self, self.lift(other)
        if swap:
            a, b = b, a
        op = float_op if self.kind == "f" else int_op
        return self.new(getattr(self.builder, op)(a.value, b.value))

    def __add__(self, o): return self._arith("fadd", "add", o)
    def __radd__(self, o): return self._arith("fadd", "add", o, True)
    def __sub__(self, o): return self._arith("fsub", "sub", o)
    def __rsub__(self, o): return self._arith("fsub", "sub", o, True)
    def __mul__(self, o): return self._arith("fmul", "mul", o)
    def __rmul__(self, o): return self._arith("fmul", "mul", o, True)
    def __truediv__(self, o): return self._arith("fdiv", None, o)
    def __rtruediv__(self, o): return self._arith("fdiv", None, o, True)
    def __and__(self, o): return self._arith(None, "and_", o)
    def __or__(self, o): return self._arith(None, "or_", o)
    def __rshift__(self, o): return self._arith(None, "ashr", o)
    def __lshift__(self, o): return self._arith(None, "shl", o)
    def __neg__(self): return self.new(self.builder.fneg(self.value))

    def _compare(self, op, other):
        other = self.lift(other)
        if self.kind == "f":      # ordered: false when either side is nan, as in Python
            return self.new(self.builder.fcmp_ordered(op, self.value, other.value), "c")
        return self.new(self.builder.icmp_signed(op, self.value, other.value), "c")

    def __lt__(self, o): return self._compare("<", o)
    def __le__(self, o): return self._compare("<=", o)
    def __gt__(self, o): return self._compare(">", o)
    def __ge__(self, o): return self._compare(">=", o)
    def __eq__(self, o): return self._compare("==", o)


def _vec_where(condition, a, b):
    """a where condition holds, else b: a select, not a branch."""
    a = b.lift(a) if not isinstance(a, _VecValue) else a
    b = a.lift(b)
    return a.new(condition.builder.select(condition.value, a.value, b.value))


def _vec_bits(x):
    return x.new(x.builder.bitcast(x.value, x.context.get_value_type(numba.core.types.int64)), "i")


def _vec_from_bits(i):
    return i.new(i.builder.bitcast(i.value, i.context.get_value_type(numba.core.types.float64)), "f")


def _vec_to_int(x):
    return x.new(x.builder.fptosi(x.value, x.context.get_value_type(numba.core.types.int64)), "i")


def _vec_to_float(i):
    return i.new(i.builder.sitofp(i.value, i.context.get_value_type(numba.core.types.float64)), "f")


def _vec_fabs(x):
    return _vec_from_bits(_vec_bits(x) & _VEC_SIGN)


def _vec_reduce(x):
    """(n, y0, y1) with x = n*pi/2 + y0 + y1 and |y0 + y1| <= pi/4, for |x| <= VEC_TRIG_LIMIT.

    musl's __rem_pio2 for medium arguments: each round subtracts 33 more bits
    of pi/2; all three are computed and the one musl would stop at is chosen.
    """
    x = _vec_where(_vec_fabs(x) <= VEC_TRIG_LIMIT, x, 0.0)   # else: the caller redoes it
    fn = (x * _VEC_INVPIO2 + _VEC_TOINT) - _VEC_TOINT
    ex = (_vec_bits(x) >> 52) & 0x7ff
    r1 = x - fn * _VEC_PIO2_1                       # exact
    w1 = fn * _VEC_PIO2_1T
    y1 = r1 - w1                                    # first round: good to 85 bits ...
    w = fn * _VEC_PIO2_2
    r2 = r1 - w
    w2 = fn * _VEC_PIO2_2T - ((r1 - r2) - w)
    y2 = r2 - w2                                    # ... unless x is near a multiple of pi/2
    w = fn * _VEC_PIO2_3
    r3 = r2 - w
    w3 = fn * _VEC_PIO2_3T - ((r2 - r3) - w)
    y3 = r3 - w3
    first = ex - ((_vec_bits(y1) >> 52) & 0x7ff) <= 16
    second = ex - ((_vec_bits(y2) >> 52) & 0x7ff) <= 49
    r = _vec_where(first, r1, _vec_where(second, r2, r3))
    w = _vec_where(first, w1, _vec_where(second, w2, w3))
    y0 = _vec_where(first, y1, _vec_where(second, y2, y3))
    return _vec_to_int(fn), y0, (r - y0) - w


def _vec_ksin(x, y):
    """sin(x + y) for |x| <= pi/4, y a tail (musl __sin)."""
    z = x * x
    w = z * z
    r = (8.33333333332248946124e-03 + z * (-1.98412698298579493134e-04 + z * 2.75573137070700676789e-06)
         + z * w * (-2.50507602534068634195e-08 + z * 1.58969099521155010221e-10))
    v = z * x
    return x - ((z * (0.5 * y - v * r) - y) - v * -1.66666666666666324348e-01)


def _vec_kcos(x, y):
    """cos(x + y) for |x| <= pi/4, y a tail (musl __cos)."""
    z = x * x
    w = z * z
    r = (z * (4.16666666666666019037e-02 + z * (-1.38888888888741095749e-03 + z * 2.48015872894767294178e-05))
         + w * w * (-2.75573143513906633035e-07 + z * (2.08757232129817482790e-09
                                                       + z * -1.13596475577881948265e-11)))
    hz = 0.5 * z
    w = 1.0 - hz
    return w + (((1.0 - w) - hz) + (z * r - x * y))


def _vec_sin(x):
    """sin(x); nan for inf and nan; wrong (0) for finite |x| > VEC_TRIG_LIMIT."""
    n, y0, y1 = _vec_reduce(x)
    s, c = _vec_ksin(y0, y1), _vec_kcos(y0, y1)
    v = _vec_where((n & 1) == 1, c, s)
    v = _vec_where((n & 2) == 2, -v, v)
    return _vec_where(_vec_fabs(x) <= VEC_TRIG_LIMIT, v, x - x)


def _vec_cos(x):
    """cos(x); nan for inf and nan; wrong (0) for finite |x| > VEC_TRIG_LIMIT."""
    n, y0, y1 = _vec_reduce(x)
    s, c = _vec_ksin(y0, y1), _vec_kcos(y0, y1)
    v = _vec_where((n & 1) == 1, s, c)
    v = _vec_where(((n + 1) & 2) == 2, -v, v)
    return _vec_where(_vec_fabs(x) <= VEC_TRIG_LIMIT, v, x - x)


def _vec_exp(x):
    """fdlibm e_exp; inf, 0 and nan where libm gives them."""
    inside = (x > -745.2) & (x < 709.8)
    xc = _vec_where(inside, x, 0.0)
    fn = (xc * _VEC_INVLN2 + _VEC_TOINT) - _VEC_TOINT
    hi = xc - fn * _VEC_LN2_HI
    lo = fn * _VEC_LN2_LO
    r = hi - lo
    t = r * r
    c = r - t * (1.66666666666666019037e-01 + t * (-2.77777777770155933842e-03 + t * (
        6.61375632143793436117e-05 + t * (-1.65339022054652515390e-06 + t * 4.13813679705723846039e-08))))
    y = 1.0 - ((lo - (r * c) / (2.0 - c)) - hi)
    k = _vec_to_int(fn)
    half = k >> 1                                   # two factors: 2**k may not be a normal number
    scale1 = _vec_from_bits((half + 1023) << 52)
    scale2 = _vec_from_bits((k - half + 1023) << 52)
    outside = _vec_where(x >= 709.8, float("inf"), _vec_where(x <= -745.2, 0.0, x))
    return _vec_where(inside, y * scale1 * scale2, outside)


def _vec_log(x):
    """musl log: nan below 0, -inf at 0, subnormals scaled by 2**54 first."""
    tiny = x < 2.2250738585072014e-308
    xs = _vec_where(tiny, x * 18014398509481984.0, x)
    bits = _vec_bits(xs)
    hx = (bits >> 32) + (0x3ff00000 - 0x3fe6a09e)
    k = (hx >> 20) - 0x3ff - _vec_where(tiny, bits.lift(54), 0)
    hx = (hx & 0x000fffff) + 0x3fe6a09e
    f = _vec_from_bits((hx << 32) | (bits & 0xffffffff)) - 1.0   # mantissa in [sqrt(2)/2, sqrt(2)), - 1
    hfsq = 0.5 * f * f
    s = f / (2.0 + f)
    z = s * s
    w = z * z
    t1 = w * (3.999999999940941908e-01 + w * (2.222219843214978396e-01 + w * 1.531383769920937332e-01))
    t2 = z * (6.666666666666735130e-01 + w * (2.857142874366239149e-01 + w * (
        1.818357216161805012e-01 + w * 1.479819860511658591e-01)))
    dk = _vec_to_float(k)
    v = s * (hfsq + (t2 + t1)) + dk * _VEC_LN2_LO - hfsq + f + dk * _VEC_LN2_HI
    special = _vec_where(x < 0.0, float("nan"), _vec_where(x == 0.0, float("-inf"), x))   # and inf, nan
    return _vec_where((x > 0.0) & (x < float("inf")), v, special)


def _vec_tanh(x):
    """Cephes tanh: a rational function below 0.625, 1 - 2/(exp(2|x|) + 1) above (within 2 ulp)."""
    z = _vec_fabs(x)
    s = z * z
    small = x + x * s * ((((-9.64399179425052238628e-01 * s) - 9.92877231001918586564e+01) * s
                          - 1.61468768441708447952e+03)
                         / (((s + 1.12811678491632931402e+02) * s + 2.23548839060100448583e+03) * s
                            + 4.84406305325125486048e+03))
    small = _vec_where(z == 0.0, x, small)             # tanh(-0) = -0
    large = 1.0 - 2.0 / (_vec_exp(z + z) + 1.0)        # exp overflows to inf: 1
    large = _vec_where(x < 0.0, -large, large)
    return _vec_where(z >= 0.625, large, small)        # nan: small, which is nan


def _vec_intrinsic(body, name):
    """A numba intrinsic float64 -> float64 whose code ``body`` writes inline, no call."""
    def typer(typingctx, x):
        if not isinstance(x, (numba.core.types.Float, numba.core.types.Integer)):
            return None

        def codegen(context, builder, signature, args):
            value = context.cast(builder, args[0], signature.args[0], numba.core.types.float64)
            return body(_VecValue(context, builder, value, "f")).value
        return numba.core.types.float64(x), codegen
    typer.__name__ = name
    return numba.extending.intrinsic(typer)


vec_sin = _vec_intrinsic(_vec_sin, "vec_sin")
vec_cos = _vec_intrinsic(_vec_cos, "vec_cos")
vec_exp = _vec_intrinsic(_vec_exp, "vec_exp")
vec_log = _vec_intrinsic(_vec_log, "vec_log")
vec_tanh = _vec_intrinsic(_vec_tanh, "vec_tanh")
# --- end kernels ---


def source():
    """The kernels' source, for a generated module (it imports numba and numpy itself)."""
    from .printing import kernel_source
    return kernel_source(__file__)
