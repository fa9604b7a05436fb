"""The expression DAG: a hash-consed node table whose kinds are SymPy classes.

A node is an integer id.  ``Graph.kind[v]`` is a SymPy class name (``Add``,
``sin``, ``Symbol``, ``Number`` ...), ``Graph.args[v]`` a tuple of child ids,
``Graph.data[v]`` the SymPy atom for leaves.  Interning means the same kind
with the same children is the same node, so ``(a+b)*(a+b)`` stores one
``a+b``, and derivative nodes built later share the function's nodes.

Children are always created before their parents, so **ascending node id is
a topological order**; every walk here is a loop over ids, never recursion
over expression depth.

The constructors (``add``, ``mul``, ``pow``, ``call``) canonicalise as they
intern: numeric constants fold exactly (SymPy rationals), ``x+0``, ``x*1``,
``x*0``, ``x**1``, ``x**0`` disappear, and commutative operands are sorted by
id so ``a+b`` and ``b+a`` are one node.  Sums and products are *not*
flattened: flattening a long left-nested chain would copy it quadratically
and break sharing.
"""

import importlib
import itertools
import math
import operator
import os
import types
from fractions import Fraction

import numpy as np
import sympy

from .ops import KIND_OF_SYMPY, OPS

LEAF_KINDS = frozenset({"Symbol", "Number", "NumberSymbol"})


def by_name(symbols):
    """SymPy symbols sorted by name, as SymPy orders them (``x10`` before ``x2``)."""
    return sorted(symbols, key=operator.attrgetter("name"))


_MAX_FOLDED_BITS = 4096       # fold 2^64 exactly; leave 9^9^9 as a power
_MAX_ROOT_DEGREE = 2 ** 64    # SymPy may work with 10^(1/2^64), not with 10^(1/7^400)
_SHALLOW = 100               # a RecursionError in SymPy below this depth is not about depth
_MAX_EXACT_GAMMA = 100        # lgamma(100) and digamma(100) are exact; digamma(1000) is left unevaluated
#: graph kinds that SymPy evaluates exactly at whole and half-whole numbers
_EXACT_AT_WHOLE = frozenset({"gamma", "loggamma", "polygamma"})
#: kinds whose SymPy evaluation finds the integer part of their argument exactly
_INTEGER_PART = frozenset({"floor", "ceiling"})
_FLOAT_WHOLE = 2.0 ** 53      # from here on every float64 is a whole number


def _power_bits(base, exponent):
    """About how many bits ``base ** exponent`` needs (numerator or denominator)."""
    base = Fraction(base)
    return abs(exponent) * max(abs(base.numerator).bit_length(), base.denominator.bit_length())


def _unfoldable(base, exponent):
    """Whether SymPy numbers ``base ** exponent`` are a power too big to work out exactly (an
    exact 2^65536 has 19,729 digits; 9^(9^9) has 370 million), as ``Graph.pow`` leaves it or as
    SymPy meets it (9^(9^(9^(x/x))), x/x being 1 to SymPy); or a root of too high a degree.
    10^(1/7^400) - 1 is about 1e-338, too small for evalf to tell its sign, so SymPy asked for
    its minimal polynomial, of degree 7^400: hours, where a product or a printer asks the sign."""
    return base.is_Rational and exponent.is_Rational and (exponent.q > _MAX_ROOT_DEGREE or _power_bits(
        Fraction(int(base.p), int(base.q)), Fraction(int(exponent.p), int(exponent.q))) > _MAX_FOLDED_BITS)


_GUARDED = (sympy.Max, sympy.Min, sympy.UnevaluatedExpr)


def printer_safe(p, guarded=None):
    """SymPy node ``p`` (its arguments made so already) in a form SymPy's printers print, or
    ``p`` itself where it needs none.

    A power to a negative exponent that holds a max, a min or an UnevaluatedExpr is written
    1/(b^-e), the latter an UnevaluatedExpr (so that products keep it apart): the LaTeX
    printer, writing a negative power as a fraction, asks whether the exponent is constant,
    simplifying it and putting 0 for each symbol, where Min(-1, log(x)) raised "zoo is not
    comparable" and the 9^(9^9) in x^(Min(-1, x + 9^(9^9)) - 1) was worked out (hours).  A
    whole power of a constant UnevaluatedExpr, which SymPy's Mul makes of equal factors, is
    an UnevaluatedExpr too: printing a sum, SymPy asks for the value of each constant
    factor, and its evalf of log(9^9^9 ...)**2 multiplied the power out (hours), where that
    of the UnevaluatedExpr gives up at once.  ``guarded``: whether the exponent holds one of
    those (None: look, walking it as a tree)."""
    if p.is_Mul:
        args = [printer_safe(a, False) if a.is_Pow else a for a in p.args]
        return p if all(a is b for a, b in zip(args, p.args)) else sympy.Mul(*args)
    x = p.exp if p.is_Pow else p.args[0] if isinstance(p, sympy.exp) else None
    if x is None:
        return p
    if p.is_Pow and isinstance(p.base, sympy.UnevaluatedExpr) and not p.base.free_symbols and x.is_Integer \
            and x != -1:
        if x > 0:
            return sympy.UnevaluatedExpr(sympy.Pow(p.base, x, evaluate=False))
        power = sympy.Pow(p.base, -x, evaluate=False)
    elif not x.is_Number and (x.has(*_GUARDED) if guarded is None else guarded) and x.is_negative is True:
        power = sympy.exp(-x) if isinstance(p, sympy.exp) else sympy.Pow(p.base, -x)
    else:
        return p
    return sympy.Pow(sympy.UnevaluatedExpr(power), -1, evaluate=False)


def printable(e):
    """``e`` with printer_safe applied throughout: a walk of ``e`` as a tree, for bounded
    expressions (to_sympy applies it node by node)."""
    if not e.has(*_GUARDED):
        return e
    return e.replace(lambda p: printer_safe(p) is not p, printer_safe)


def _unfoldable_offset(base, exponent):
    """Whether ``base ** exponent``, a rational to a sum such as x + 10^400, has a constant term
    h with ``base ** h`` too big to work out: SymPy's factor_terms, which Pow runs on any
    exponent that holds such a power, split 9^(x + 10^400) as 9^(10^400) * 9^x (hours)."""
    return base.is_Rational and exponent.is_Add and _unfoldable(base, exponent.as_coeff_Add()[0])


def exact_number(value):
    """A constant as a Python number: int, Fraction (exact) or float."""
    if isinstance(value, bool):
        raise TypeError("booleans are not numbers here")
    if isinstance(value, int):
        return value
    if isinstance(value, Fraction):
        return value.numerator if value.denominator == 1 else value
    if isinstance(value, float):
        return value
    if isinstance(value, sympy.Integer):
        return int(value)
    if isinstance(value, sympy.Rational):
        return Fraction(int(value.p), int(value.q))
    if isinstance(value, sympy.Float):
        return float(value)
    raise TypeError(f"not a real number: {value!r}")


def highest_id(nodes):
    """The highest node id among ``nodes`` (None, a zero, is skipped); -1 for none.  Ids are
    topological, so the walks down from a set of outputs start here."""
    return max((v for v in nodes if v is not None), default=-1)


def _far_whole(e):
    """Whether SymPy expression ``e`` is a rational number where SymPy would work the gamma
    family out exactly: digamma(1000) is a fraction of 400 digits, lgamma(10^4) a string
    of 35,000 and digamma(10^5) does not finish."""
    return isinstance(e, sympy.Rational) and abs(e) > _MAX_EXACT_GAMMA


#: the graph's arithmetic kinds in float64 (OPS holds the functions')
_FLOAT_ARITHMETIC = {"Add": lambda *ys: math.fsum(ys), "Mul": lambda *ys: float(np.prod(ys)),
                     "Pow": np.power}
#: what SymPy raises when its evaluation meets a constant it cannot handle (ArithmeticError:
#: OverflowError, ZeroDivisionError, and evalf's PrecisionExhausted, as floor(softplus(1000))
#: raised, having to tell 1000 + log1p(exp(-1000)) from 1000)
_SYMPY_FAILURES = (ValueError, TypeError, ArithmeticError, AttributeError)
_WITHOUT_SYMPY = ("symdiff's grad, jacobian, hessian and generated source do not need SymPy: "
                  "use those")


class _NoSympyForm(ValueError):
    """A SymPy form that cannot be built, said in symdiff's words."""


def _never_real(e):
    """Whether SymPy knows ``e`` is not real (asking can itself fail on complex constants)."""
    try:
        return e.is_extended_real is False
    except _SYMPY_FAILURES:
        return True


def _rational_size(value):
    """The larger of |numerator| and denominator of an int or Fraction (0 for a float)."""
    if isinstance(value, (int, Fraction)):
        value = Fraction(value)
        return max(abs(value.numerator), value.denominator)
    return 0


def to_float(value):
    """A number (graph data or SymPy) as a Python float (overflow -> inf, as IEEE arithmetic would)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def fold(op, a, b):
    """``op(a, b)`` on two constants (graph data).  A float with an int or Fraction past
    float64's range (0.5 + 4^520) raised OverflowError; it is worked in floats, where that
    number is inf, as the generated code has it (the C core does the same)."""
    try:
        return op(a, b)
    except OverflowError:
        return op(to_float(a), to_float(b))


def sympy_number(value):
    if isinstance(value, int):
        return sympy.Integer(value)
    if isinstance(value, Fraction):
        return sympy.Rational(value.numerator, value.denominator)
    return sympy.Float(value)


class _PyGraph:
    """A table of interned nodes.  See the module docstring."""

    def __init__(self):
        self.kind = []
        self.args = []
        self.data = []
        self.hints = {}          # node -> naming hint for the printer
        self._table = {}         # (kind, args) or a leaf's key -> node
        # sums, products and powers (most nodes) have a table each, keyed by args alone
        self._adds, self._muls, self._pows = {}, {}, {}
        self._tables = {"Add": self._adds, "Mul": self._muls, "Pow": self._pows}
        self._last_walk = (None, None)
        self._minus_one = None   # the node -1, made on first use: node ids order commutative operands
        self.zero = self.number(0)
        self.one = self.number(1)

    def __len__(self):
        return len(self.kind)

    def fork(self):
        """A copy that grows on its own: the same nodes, ids and hints in new containers (the
        entries are immutable), so that what is built in one never reaches the other (compare
        builds both modes from one parse)."""
        getstate = getattr(self, "__getstate__", None)      # object has one from Python 3.11
        state = getstate() if getstate is not None else self.__dict__
        state = {name: value.copy() if type(value) in (list, dict) else value for name, value in state.items()}
        state["_tables"] = {"Add": state["_adds"], "Mul": state["_muls"], "Pow": state["_pows"]}
        other = type(self).__new__(type(self))
        if hasattr(other, "__setstate__"):
            other.__setstate__(state)
        else:
            other.__dict__.update(state)
        return other

    # -- interning -----------------------------------------------------------
    def _intern(self, kind, args, data=None, key=None):
        table = self._tables.get(kind) if key is None else None
        if table is None:
            table = self._table
            if key is None:
                key = (kind, args)
        else:
            key = args
        node = table.get(key)
        return node if node is not None else self._new(kind, args, key, data, table)

    def _new(self, kind, args, key, data=None, table=None):
        """A new node; ``key`` is not in ``table`` (default: the general table) yet."""
        node = len(self.kind)
        self.kind.append(kind)
        self.args.append(args)
        self.data.append(data)
        (self._table if table is None else table)[key] = node
        return node

    def symbol(self, sym):
        """The node of a SymPy ``Symbol`` (or a name, made into one)."""
        if isinstance(sym, str):
            sym = sympy.Symbol(sym)
        key = ("Symbol", sym)
        node = self._table.get(key)
        return node if node is not None else self._new("Symbol", (), key, sym)

    def number(self, value):
        """The node of a constant: int and Fraction stay exact, floats are floats.

        Constants are plain Python numbers, not SymPy ones: folding them is on
        the hot path of building large derivative graphs.
        """
        if type(value) is not int:
            value = exact_number(value)
        key = ("Number", type(value), value)
        node = self._table.get(key)
        return node if node is not None else self._new("Number", (), key, value)

    def number_symbol(self, value):
        """A named constant such as ``pi`` or ``E``: kept symbolic, printed as a float."""
        return self._intern("NumberSymbol", (), value, ("NumberSymbol", value))

    def is_number(self, node):
        return self.kind[node] == "Number"

    def is_constant(self, node):
        return self.kind[node] in ("Number", "NumberSymbol")

    # -- canonicalising constructors ------------------------------------------
    def add(self, *xs):
        kind, data = self.kind, self.data
        if len(xs) == 2:        # the common case, kept fast
            a, b = xs
            if kind[a] != "Number" and kind[b] != "Number":
                args = self.args
                if (kind[b] == "Mul" and a in args[b] and self._negation_of(b) == a) or \
                        (kind[a] == "Mul" and b in args[a] and self._negation_of(a) == b):
                    return self.zero            # x - x
                key = (a, b) if a < b else (b, a)
                node = self._adds.get(key)
                return node if node is not None else self._new("Add", key, key, None, self._adds)
        elif len(xs) == 1:
            return xs[0]
        const = 0
        rest = []
        for x in xs:
            if kind[x] == "Number":
                const = fold(operator.add, const, data[x])
            else:
                rest.append(x)
        if const != 0:
            rest.append(self.number(const))
        if not rest:
            return self.number(const)
        if len(rest) == 1:
            return rest[0]
        rest.sort()
        return self._intern("Add", tuple(rest))

    def _negation_of(self, node):
        """``y`` when ``node`` is ``Mul(-1, y)``, else None."""
        if self.kind[node] == "Mul" and len(self.args[node]) == 2:
            a, b = self.args[node]
            if self.kind[a] == "Number" and self.data[a] == -1:
                return b
            if self.kind[b] == "Number" and self.data[b] == -1:
                return a
        return None

    def mul(self, *xs):
        kind, data, args = self.kind, self.data, self.args
        if len(xs) == 2:        # the common cases, kept fast
            a, b = xs
            ka, kb = kind[a], kind[b]
            if ka != "Number" and kb != "Number":
                key = (a, b) if a < b else (b, a)
                node = self._muls.get(key)
                return node if node is not None else self._new("Mul", key, key, None, self._muls)
            if ka != kb:
                cn, y = (a, b) if ka == "Number" else (b, a)
                c = data[cn]
                if c == 1:
                    return y
                if c != 0:
                    if kind[y] == "Mul" and len(args[y]) == 2:
                        # c * (c2 * z) -> (c*c2) * z, as the general path below does
                        p, q = args[y]
                        if kind[p] == "Number":
                            return self.mul(self.number(fold(operator.mul, c, data[p])), q)
                        if kind[q] == "Number":
                            return self.mul(self.number(fold(operator.mul, c, data[q])), p)
                    key = (cn, y) if cn < y else (y, cn)
                    node = self._muls.get(key)
                    return node if node is not None else self._new("Mul", key, key, None, self._muls)
        elif len(xs) == 1:
            return xs[0]
        const = 1
        rest = []
        for x in xs:
            if kind[x] == "Number":
                const = fold(operator.mul, const, data[x])
            else:
                rest.append(x)
        if const == 0 or not rest:
            return self.number(const)
        if len(rest) == 1 and const != 1:
            # c1 * (c2 * z) -> (c1*c2) * z: one multiplication either way.
            y = rest[0]
            if kind[y] == "Mul" and len(args[y]) == 2:
                a, b = args[y]
                if kind[a] == "Number" or kind[b] == "Number":
                    c2, z = (a, b) if kind[a] == "Number" else (b, a)
                    return self.mul(self.number(fold(operator.mul, const, data[c2])), z)
        if const != 1:
            rest.append(self.number(const))
        if len(rest) == 1:
            return rest[0]
        rest.sort()
        return self._intern("Mul", tuple(rest))

    def pow(self, base, exponent):
        kind, data = self.kind, self.data
        kb = kind[base]
        if kind[exponent] == "Number":
            c = data[exponent]
            if c == 0:
                return self.one
            if c == 1:
                return base
            if kb != "Number" and kb != "NumberSymbol":     # x ** c: nothing to fold
                key = (base, exponent)
                node = self._pows.get(key)
                return node if node is not None else self._new("Pow", key, key, None, self._pows)
            b = data[base]
            if kb == "Number" and isinstance(c, int) and isinstance(b, (int, Fraction)) \
                    and not (b == 0 and c < 0) and _power_bits(b, c) <= _MAX_FOLDED_BITS:
                return self.number(Fraction(b) ** c)
        if kb == "Number" and data[base] == 1:
            return self.one
        if kb == "NumberSymbol" and data[base] is sympy.E:
            return self.call("exp", exponent)
        return self._intern("Pow", (base, exponent))

    def neg(self, x):
        m = self._minus_one
        if m is None:
            m = self._minus_one = self.number(-1)
        return self.mul(m, x)

    def sub(self, x, y):
        return self.add(x, self.neg(y))

    def div(self, x, y):
        return self.mul(x, self.pow(y, self.number(-1)))

    def call(self, kind, *xs):
        """A function node (``sin``, ``Max``, ``Heaviside`` ...)."""
        if kind in ("Max", "Min"):          # commutative and idempotent
            xs = tuple(sorted(set(xs)))
            if len(xs) == 1:
                return xs[0]
        elif kind == "hypot":               # commutative
            xs = tuple(sorted(xs))
        return self._intern(kind, tuple(xs))

    def call_generic(self, func, *xs):
        """A node of a SymPy function without an entry in the op table."""
        return self._intern(func.__name__, tuple(xs), func, ("Generic", func, tuple(xs)))

    # -- walks ----------------------------------------------------------------
    def reachable(self, roots):
        """Ids of all nodes the roots depend on (roots included), ascending.

        The last answer is kept while the graph does not grow: preparing a
        formula and differentiating it both start with this walk.
        """
        key = (tuple(roots), len(self.kind))
        if self._last_walk[0] != key:
            self._last_walk = (key, self._reachable(roots))
        return list(self._last_walk[1])

    def small_cone(self, roots):
        """The nodes the roots depend on (roots included), ascending, when they are few
        against the ids below the highest root (one row of a sparse Jacobian in a large
        graph); else None.  Depth first, so it costs the cone, not the graph."""
        args = self.args
        roots = [r for r in roots if r is not None]
        seen = set(roots)
        stack = list(seen)
        budget = (max(roots, default=-1) + 1) // 16 + 64
        while stack and len(seen) <= budget:
            for a in args[stack.pop()]:
                if a not in seen:
                    seen.add(a)
                    stack.append(a)
        return None if stack else sorted(seen)

    def cone(self, root, limit):
        """The nodes ``root`` depends on (itself included), ascending, or None where they are
        more than ``limit``: depth first, so it costs the cone (at most ``limit`` nodes), where
        reachable scans every id below the root."""
        args = self.args
        seen = {root}
        stack = [root]
        while stack:
            for a in args[stack.pop()]:
                if a not in seen:
                    if len(seen) == limit:
                        return None
                    seen.add(a)
                    stack.append(a)
        return sorted(seen)

    def _reachable(self, roots):
        # ids are topological: one scan down from the highest root marks every argument
        # of a marked node before reaching it (no stack)
        args = self.args
        roots = [r for r in roots if r is not None]
        mark = bytearray(len(self.kind))
        for r in roots:
            mark[r] = 1
        for v in range(max(roots, default=-1), -1, -1):
            if mark[v]:
                for a in args[v]:
                    mark[a] = 1
        return list(itertools.compress(range(len(mark)), mark))

    def depends_on(self, order, sources):
        """Which nodes of ``order`` (ascending ids) depend on any of ``sources``: a mask
        over the node ids existing now (1 = depends, sources included)."""
        args = self.args
        active = bytearray(len(self.kind))
        for s in sources:
            active[s] = 1
        for v in order:
            if not active[v]:
                for a in args[v]:
                    if active[a]:
                        active[v] = 1
                        break
        return active

    def symbols(self):
        """Every SymPy symbol in the graph, sorted by name: in a graph made for some formulas,
        the variables they mention, including any that folding removed (``x - x`` is 0, and
        x is still its variable)."""
        return by_name(self.symbol_nodes())

    def symbol_nodes(self):
        """``{SymPy symbol: its node}`` for every symbol in the graph, in node order."""
        data = self.data
        return {data[v]: v for v, k in enumerate(self.kind) if k == "Symbol"}

    def operation_count(self, roots):
        """Arithmetic operations of the expression as written (binary ops count once each)."""
        count = 0
        for v in self.reachable(roots):
            k = self.kind[v]
            if k in LEAF_KINDS:
                continue
            if k in ("Add", "Mul", "Max", "Min"):
                count += len(self.args[v]) - 1
            else:
                count += 1
        return count

    # -- SymPy in and out --------------------------------------------------------
    def to_sympy(self, roots):
        """SymPy expressions of the roots (``None`` stays ``0``).

        SymPy's own algorithms recurse over expression depth, so a formula
        nested a few hundred levels deep cannot become a SymPy expression: that
        is a ValueError saying so (symdiff itself differentiates it fine).
        """
        try:
            return self._to_sympy(roots)
        except _NoSympyForm as e:
            raise ValueError(str(e)) from None
        except _SYMPY_FAILURES as e:
            # SymPy's own evaluation, deep inside (a Max rebuilt while factoring a power)
            raise ValueError(f"SymPy could not build this expression ({type(e).__name__}: {e}); "
                             f"{_WITHOUT_SYMPY}") from None
        except RecursionError:
            depth = self.depth([r for r in roots if r is not None])
            why = (f"this expression is {depth} levels deep, too deep for a SymPy expression "
                   "(SymPy's algorithms recurse)" if depth > _SHALLOW else
                   f"SymPy ran out of recursion building this expression ({depth} levels deep: "
                   "working out some constant in it)")
            raise ValueError(f"{why}; {_WITHOUT_SYMPY}") from None

    def depth(self, roots, nodes=None):
        """Levels of the deepest root: leaves are 0 (a loop over ids, no recursion).
        ``nodes``: the roots' cone, ascending, where the caller has it (see cone)."""
        level = {}
        args = self.args
        for v in self.reachable(roots) if nodes is None else nodes:
            level[v] = 1 + max((level[a] for a in args[v]), default=-1)
        return max((level[r] for r in roots), default=0)

    def tree_size(self, roots, limit, nodes=None):
        """Nodes of the roots written out as trees (a shared node counts each time it is
        used), or ``limit + 1`` where that is more than ``limit``.  A SymPy expression and its
        printing are that size: ``e = sin(e) + e*y`` thirty times is 94 nodes here and 5 x 10^9
        as a tree.  ``nodes``: the roots' cone, ascending, where the caller has it."""
        size = {}
        args = self.args
        over = limit + 1
        for v in self.reachable(roots) if nodes is None else nodes:
            size[v] = min(over, 1 + sum(size[a] for a in args[v]))
        return min(over, sum(size[r] for r in roots))

    def _to_sympy(self, roots):
        kind, args, data = self.kind, self.args, self.data
        built = {}
        constant = {}        # node -> True when it has no symbols
        # SymPy evaluates a function as it is built, asking its argument questions whose
        # answers can cost without bound: whether tanh(y^300) is real expands
        # (re(y) + i*im(y))^300 (seconds; y^1001, hours), Max asks whether (1/3)^5000 is
        # bigger, digamma(10^5) is worked out as an exact fraction (hours). So a function
        # or power of anything "opaque" is built unevaluated: a power of a number, or to an
        # exponent, with over 64 in numerator or denominator, the gamma family far out on
        # the whole numbers, and whatever holds those (evalf still works them out). A power
        # of numbers too big to fold (see pow), or a constant power of anything opaque
        # (evalf expanded (9^9^9)^(2^70) as a polynomial), is moreover an UnevaluatedExpr, which
        # SymPy's arithmetic, printers and diff leave alone: a bare unevaluated 9^(9^9) is
        # worked out exactly around x^(9^(9^9) - 1) (hours).
        opaque = set()
        # Sums and products over a power of a variable to an exponent over 4096 are built as
        # written: Mul, merging factors, worked (2x)^(10^400) out as 2^(10^400)*x^(10^400)
        colossal = set()
        # Constants computed (not numbers) past float64's range, and any constant computed
        # from one: a function or power of one is opaque and an UnevaluatedExpr, whose evalf
        # gives up at once, where SymPy's evalf of sin(exp(10^400)) raised OverflowError from
        # mpmath (printing 2*x + it asks for it) and that of sin(exp(10^19)) ran for hours
        floats, huge = {}, set()
        # Nodes whose SymPy form holds a Max, a Min or an UnevaluatedExpr (see printer_safe)
        guarded = set()

        def unreal(v, x):
            """Whether constant node ``v``, built as ``x``, is never real. SymPy's word is not
            taken where float64 gives a finite nonzero number: SymPy said 10001/2 - (1/3)^5000,
            a sum holding an UnevaluatedExpr whose evalf gives up, was not real."""
            f = floats[v]
            return _never_real(x) and not (f is not None and math.isfinite(f) and f != 0)

        for v in self.reachable(roots):
            k = kind[v]
            constant[v] = k != "Symbol" and all(constant[a] for a in args[v])
            if constant[v]:
                floats[v] = self._float_value(v, floats)
            if k == "Number":
                built[v] = sympy_number(data[v])
                continue
            if k in LEAF_KINDS:
                built[v] = data[v]
                continue
            xs = [built[a] for a in args[v]]
            beyond = constant[v] and any(a in huge for a in args[v])
            if beyond or constant[v] and floats[v] is not None and abs(floats[v]) == math.inf:
                # past float64's range, or worked out from such constants, whatever its float:
                # 9^9^9 - ((-9)^9^9 + 10^400) is inf - inf (SymPy's Abs of a log of it, asked
                # by the printer for the log's value, recursed until RecursionError), and
                # (9^9^9)^((-9)^9^9 + 2^70) is 0.0 (the printer's expand of a log of it worked
                # 9^9^9 out)
                huge.add(v)
            inner = beyond or any(a in opaque for a in args[v])
            whole = False        # an integer part past float64's whole numbers
            if inner or self._wild(v) or k in _EXACT_AT_WHOLE and _far_whole(xs[-1]):
                opaque.add(v)
            elif k in _INTEGER_PART and not xs[0].is_Number and self._integer_part_past_floats(v, floats):
                # floor(tan(1000)^abs(1000)): SymPy's exact integer part of a computed
                # constant near 1e167 fell back, past the ~1e100 its evalf can cancel, to
                # simplify (hours), and so did its evalf; in float64 floor is the identity there
                opaque.add(v)
                whole = True
            if any(a in colossal for a in args[v]) or k == "Pow" and not constant[v] and self._colossal_power(v):
                colossal.add(v)
            if k in ("Add", "Mul"):
                built[v] = (sympy.Add if k == "Add" else sympy.Mul)(*xs, evaluate=v not in colossal)
                if sympy.nan in built[v].args:
                    # nan, as in the generated code: SymPy's Mul made 0 * (y*atanh(-1)) Mul(nan, y),
                    # which its printer could not order ("Invalid NaN comparison")
                    built[v] = sympy.nan
            elif k == "Pow" and sympy.nan in xs:
                # IEEE pow, as the generated code: nan^0 and 1^nan are 1, else nan (a product
                # with nan^-1 unevaluated in it had been Mul(nan, y), which the printer could
                # not order: "Invalid NaN comparison")
                built[v] = sympy.Integer(1) if xs[1] == 0 or xs[0] == 1 else sympy.nan
            elif k == "Pow" and (constant[v] and inner or _unfoldable(*xs) or _unfoldable_offset(*xs)):
                base, exponent = xs
                if exponent.is_Number and exponent.is_negative:
                    # b^-e as 1/(b^e): SymPy's LaTeX printer, writing a negative power as a
                    # fraction, worked (10^400)^(10^400) out (hours)
                    power = base if exponent == -1 else sympy.Pow(base, -exponent, evaluate=False)
                    if not isinstance(power, sympy.UnevaluatedExpr):
                        power = sympy.UnevaluatedExpr(power)
                    built[v] = sympy.Pow(power, -1, evaluate=False)
                else:
                    built[v] = sympy.UnevaluatedExpr(sympy.Pow(base, exponent, evaluate=False))
            elif k == "Pow":
                # a constant power is left as written (SymPy would make (-1)^(1/2) I, where
                # symdiff's code gives nan, and expand 9^(9^9) exactly, 370 million digits)
                # but for a positive rational to a rational power: sqrt(8) is 2*sqrt(2)
                # or a nonzero rational to a whole power, as the exponent came out: (-1)^-ceil(pi)
                # is 1 (SymPy's LaTeX printer recursed without end on (-1)**(-4) unevaluated)
                built[v] = sympy.Pow(*xs, evaluate=v not in opaque
                                     and (not constant[v] or self._rational_power(v)
                                          or xs[0].is_Rational and xs[0] != 0 and xs[1].is_Integer))
                if constant[v] and unreal(v, built[v]):
                    # kept as written in products too: Mul made sqrt(z)/sqrt(-3) -sqrt(3)*I*sqrt(z)/3
                    built[v] = sympy.UnevaluatedExpr(built[v])
            elif any(constant[a] and unreal(a, x) for a, x in zip(args[v], xs)):
                # a function of a constant that is never real stays as written: SymPy's
                # complex values (exp(log(-1)) = -1, floor(acos(2)) = I) are not the nan the
                # generated code gives, and atan2(acos(1000), 0) took it a minute
                # (and an UnevaluatedExpr: the printer's evalf of hypot(-1000, atanh(1000)) in a
                # sum raised AttributeError from mpmath)
                built[v] = sympy.UnevaluatedExpr(self._sympy_call(v, xs, evaluate=False, unreal=True))
            elif v in opaque or k == "Heaviside" and not constant[v]:
                # (SymPy's Heaviside asks for im(arg), and symdiff's symbols are not
                # declared real, so it could not decide a sign anyway)
                built[v] = self._sympy_call(v, xs, evaluate=False)
                if constant[v] and k in ("Max", "Min"):
                    # an UnevaluatedExpr: asked whether it is comparable (by exp, as the LaTeX
                    # printer wrote -exp(min((1/3)^5000, -1)) as a fraction), SymPy's evalf of
                    # Min rebuilt it evaluated, which raised "(1/3)**5000 is not comparable"
                    built[v] = sympy.UnevaluatedExpr(built[v])
            else:
                built[v] = self._sympy_call(v, xs)
                if constant[v] and unreal(v, built[v]):
                    # log(-1) stays log(-1) (nan in the generated code), not I*pi
                    built[v] = self._sympy_call(v, xs, evaluate=False)
            if (beyond or whole) and k not in ("Add", "Mul") and not isinstance(built[v], sympy.UnevaluatedExpr):
                built[v] = sympy.UnevaluatedExpr(built[v])
            if any(a in guarded for a in args[v]):
                if k in ("Pow", "exp", "Mul"):
                    built[v] = printer_safe(built[v], args[v][-1] in guarded)
                guarded.add(v)
            elif k in ("Max", "Min") or isinstance(built[v], sympy.UnevaluatedExpr):
                guarded.add(v)
        return [sympy.Integer(0) if r is None else built[r] for r in roots]

    def _float_value(self, v, floats):
        """Constant node ``v`` in float64 from its arguments' values (None where unknown)."""
        k, data = self.kind[v], self.data[v]
        if k in ("Number", "NumberSymbol"):
            return to_float(data)
        xs = [floats[a] for a in self.args[v]]
        if None in xs:
            return None
        evaluate = _FLOAT_ARITHMETIC.get(k) or (OPS[k].evaluate if k in OPS else None)
        if evaluate is None:
            return None
        with np.errstate(all="ignore"):
            try:
                return float(evaluate(*xs))
            except (TypeError, ValueError, OverflowError):
                return None

    def _sympy_call(self, v, xs, evaluate=True, unreal=False):
        """SymPy's function of node ``v``'s kind (not Add, Mul or Pow) at ``xs``
        (``unreal``: some argument is never real)."""
        k = self.kind[v]
        if k == "Mod" and xs[1] == 0 or any(x is sympy.nan for x in xs):
            return sympy.nan                # as numpy: np.mod(x, 0) (SymPy raises), Max(1, nan)
        if k == "atan2" and all(x.is_number and x.is_zero for x in xs):
            return sympy.Integer(0)         # as C and numpy (SymPy: nan)
        if k == "atan2" and any(x.is_number and x.is_extended_real is not True for x in xs):
            # SymPy, unsure a constant is real (Cbrt(0.1)), wrote atan2 as a complex log: the
            # graph of log(atan(atan2(cos(3), cbrt(0.1)))) then took over 10 minutes
            evaluate = False
        function = OPS[k].sympy if k in OPS else self.data[v]
        if unreal and k in ("Max", "Min"):
            error = "a number that is not real has no order"
        else:
            try:
                return function(*xs, evaluate=evaluate)
            except _SYMPY_FAILURES as e:
                error = e
        if evaluate and not any(_never_real(x) for x in xs):
            try:
                return function(*xs, evaluate=False)     # SymPy could not compare Cbrt(2), say
            except _SYMPY_FAILURES as e:
                error = e
        # Max(acosh(1/2), x): acosh(1/2) is complex, so SymPy says "not comparable"
        call = f"{function.__name__}({', '.join(map(str, xs))})"
        call = call if len(call) <= 80 else call[:60] + " ... " + call[-15:]
        raise _NoSympyForm(f"cannot write {call} in SymPy ({error}); an argument that is never "
                           "real, such as acosh(1/2) or log(min(-1, x)), is nan in symdiff's generated "
                           f"code; {_WITHOUT_SYMPY}") from None

    def _number_over(self, a, limit):
        """Whether node ``a`` is a rational number with numerator or denominator over ``limit``."""
        return self.kind[a] == "Number" and _rational_size(self.data[a]) > limit

    def _colossal_power(self, v):
        """Whether node ``v`` (a power) has a rational exponent over 4096 in size."""
        return self._number_over(self.args[v][1], 4096)

    def _wild(self, v):
        """Whether node ``v`` is a power whose base or exponent is a rational number with
        over 64 in numerator or denominator (y^300, 2^70, x^(1/7^400)), or a function of
        one with over 64 bits (hypot(2^70, 1))."""
        limit = 64 if self.kind[v] == "Pow" else 2 ** 64
        return any(self._number_over(a, limit) for a in self.args[v])

    def _integer_part_past_floats(self, v, floats):
        """Whether node ``v`` (floor or ceil) is of a constant that float64 gives as 2^53 or
        more in size, where every float64 is whole."""
        f = floats.get(self.args[v][0])
        return f is not None and abs(f) >= _FLOAT_WHOLE

    def _rational_power(self, v):
        """Whether node ``v`` (a power) is a positive rational number to a rational power."""
        base, exponent = self.args[v]
        return all(self.kind[a] == "Number" and isinstance(self.data[a], (int, Fraction))
                   for a in (base, exponent)) and self.data[base] > 0

    def from_sympy(self, expr, substitutions=None):
        """Intern a SymPy expression (iteratively); returns its node.

        ``substitutions`` maps SymPy sub-expressions to existing nodes.
        """
        memo = dict(substitutions or {})
        stack = [(expr, False)]
        while stack:
            e, ready = stack.pop()
            if e in memo:
                continue
            if ready:
                memo[e] = self._node_of(e, [memo[a] for a in e.args])
            elif not e.args:
                memo[e] = self._leaf_of(e)
            else:
                _check_differentiable(e)        # before its arguments: Piecewise, not its True
                stack.append((e, True))
                stack.extend((a, False) for a in e.args if a not in memo)
        return memo[expr]

    def _leaf_of(self, e):
        if isinstance(e, sympy.Symbol):
            return self.symbol(e)
        if isinstance(e, (sympy.Integer, sympy.Rational, sympy.Float)):
            return self.number(e)
        if isinstance(e, sympy.NumberSymbol) or e is sympy.E:
            return self.number_symbol(e)
        raise ValueError(f"symdiff works with real numbers; cannot use {e!r} ({type(e).__name__})")

    def _node_of(self, e, xs):
        if isinstance(e, sympy.UnevaluatedExpr):        # as to_sympy wraps a huge power
            return xs[0]
        if isinstance(e, sympy.Add):
            return self.add(*xs)
        if isinstance(e, sympy.Mul):
            return self.mul(*xs)
        if isinstance(e, sympy.Pow):
            return self.pow(*xs)
        cls = type(e)
        kind = KIND_OF_SYMPY.get(cls)
        if kind is not None:
            return self.call(kind, *xs)
        return self.call_generic(cls, *xs)


def _check_differentiable(e):
    """Raise a ValueError naming ``e`` unless it is a node symdiff can hold (checked for the
    node itself, before its arguments, so the message names what the user wrote)."""
    if isinstance(e, (sympy.Add, sympy.Mul, sympy.Pow, sympy.UnevaluatedExpr)) or type(e) in KIND_OF_SYMPY:
        return
    name = type(e).__name__
    if isinstance(e, sympy.core.function.AppliedUndef):
        raise ValueError(f"cannot differentiate the undefined function {name}(...): give it a formula")
    if isinstance(e, sympy.Piecewise):
        raise ValueError("symdiff cannot differentiate a SymPy Piecewise; write it with max, min, abs, "
                         f"heaviside, relu or leaky_relu instead: {e}")
    if isinstance(e, (sympy.Indexed, sympy.matrices.expressions.matexpr.MatrixElement)):
        raise ValueError(f"symdiff's variables are symbols, not entries of a SymPy {name} ({e}): make "
                         "the vector of symbols, e.g. sympy.symbols('x0:10') for x0, ..., x9")
    if isinstance(e, (sympy.Sum, sympy.Product, sympy.Derivative, sympy.Integral, sympy.Subs)):
        raise ValueError(f"symdiff cannot differentiate a SymPy {name}: {e} (where SymPy can "
                         "evaluate it, .doit() turns it into a formula symdiff can)")
    if not isinstance(e, sympy.Function):
        raise ValueError(f"symdiff cannot differentiate a SymPy {name}: {e}")
    for i, a in enumerate(e.args, 1):
        if not isinstance(a, sympy.Expr):       # hyper([1], [2], x): its lists are Tuples
            raise ValueError(f"symdiff cannot differentiate the SymPy function {name}: its argument {i}, "
                             f"{a}, is a {type(a).__name__}, not a number or a formula")


#: the version of the interface between this module and symdiff/_graphcore.c: both say it,
#: so a C core built from older sources is left out, not called with the wrong arguments
_CORE_API = 6


def _graph_class():
    """Graph: the pure-Python class, or the same with its common-case constructors in C.

    ``symdiff._graphcore`` is an optional extension, compiled at install where a C
    compiler is at hand; it makes the same nodes in the same order (the tests compare
    the two on every formula they build), about twice as fast.  Setting the environment
    variable SYMDIFF_PURE_PYTHON=1 before importing symdiff leaves it out.
    """
    if os.environ.get("SYMDIFF_PURE_PYTHON", "") not in ("", "0"):
        return _PyGraph
    try:
        from . import _graphcore
    except ImportError:
        return _PyGraph
    if getattr(_graphcore, "API", None) != _CORE_API:
        from ._warn import warn
        warn(f"symdiff's C core ({_graphcore.__file__}) was built from other sources than this "
             "symdiff; running in pure Python (slower, same results) until it is rebuilt: "
             "pip install -e . (or python setup.py build_ext --inplace)", RuntimeWarning)
        return _PyGraph
    _graphcore.install(_PyGraph.mul, _PyGraph.pow, _PyGraph.number)
    # the node table's attributes that live in the C core, not in __dict__
    in_core = [name for name, d in vars(_graphcore.Core).items() if isinstance(d, types.MemberDescriptorType)]

    class Graph(_graphcore.Core, _PyGraph):
        __doc__ = _PyGraph.__doc__
        __qualname__ = "Graph"          # pickled by its module-level name

        def __getstate__(self):         # copy and pickle: the C attributes are not in __dict__
            return {**self.__dict__, **{name: getattr(self, name) for name in in_core}}

        def __setstate__(self, state):
            for name, value in state.items():
                setattr(self, name, value)

    return Graph


Graph = _graph_class()
#: whether Graph's constructors, and the loops of parsing, reverse mode, lowering, checking
#: and printing, run in C
ACCELERATED = Graph is not _PyGraph
#: the C core's module, for the loops other modules run in it (None in pure Python)
_graphcore = importlib.import_module("._graphcore", __package__) if ACCELERATED else None
