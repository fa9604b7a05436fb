"""Lowering: from graph nodes to a straight-line :class:`~symdiff.program.Program`.

SymPy-style nodes become one-operation instructions: ``Add(a, Mul(-1, b))``
prints as ``a - b``, ``Mul(a, Pow(b, -1))`` as ``a / b``, ``Pow(x, 1/2)`` as
``sqrt(x)``; n-ary sums, products and extrema become chains.  Only nodes the
outputs need are emitted, in ascending id (= topological) order, so a
reverse-mode program reads as its forward sweep followed by its reverse
sweep.

Names: inputs keep their own names where they are valid identifiers;
temporaries are ``t0, t1, ...`` in order of appearance; an adjoint created by
reverse mode is named after its primal (``adj_t2``, ``adj_x``), a forward
tangent after its primal and input (``dt2_dx``).
"""

import keyword
import math


from .graph import LEAF_KINDS
from .ops import OPS
from .program import Instr, Program

#: Names generated code uses for itself; inputs with these names are renamed.
RESERVED_IDENTIFIERS = frozenset({"np", "math", "numba", "scipy", "out", "parallel"})


def to_float(value):
    """A SymPy number as a Python float (overflow -> inf, as IEEE arithmetic would)."""
    try:
        return float(value)
    except OverflowError:
        return math.inf if value > 0 else -math.inf


def input_identifiers(names):
    """Valid, distinct Python identifiers for the given input names (kept where possible)."""
    result, used = [], set()
    for k, name in enumerate(names):
        ident = name
        if not ident.isidentifier() or keyword.iskeyword(ident) or ident in RESERVED_IDENTIFIERS \
                or ident.startswith("_"):
            # generated code keeps names starting with "_" for itself
            ident = ident.lstrip("_") + "_" if (ident.lstrip("_") + "_").isidentifier() else f"x{k}_"
            if keyword.iskeyword(ident) or ident in RESERVED_IDENTIFIERS or ident.startswith("_"):
                ident = f"x{k}_"
        while ident in used:
            ident += "_"
        used.add(ident)
        result.append(ident)
    return result


_BINARY = {"Add": "add", "Mul": "mul"}


class _Lowering:
    def __init__(self, g, input_names):
        self.g = g
        self.names = dict(input_names)          # node -> identifier
        self.used = set(self.names.values())
        self.body = []
        self.counter = 0

    # -- operand classification ------------------------------------------------
    def _plain(self, a):
        """True when node ``a`` is used as itself (no constant, negation or reciprocal)."""
        k = self.g.kind[a]
        if k == "Mul":
            return self._negated(a) is None
        if k == "Pow":
            return self._reciprocal(a) is None
        return k not in ("Number", "NumberSymbol")

    def _negated(self, a):
        """``y`` when node ``a`` is ``Mul(-1, y)``, else None."""
        return self.g._negation_of(a)

    def _reciprocal(self, a):
        """``y`` when node ``a`` is ``Pow(y, -1)``, else None."""
        g = self.g
        if g.kind[a] == "Pow":
            y, e = g.args[a]
            if g.is_number(e) and g.data[e] == -1:
                return y
        return None

    def dependencies(self, v):
        """Nodes whose values the code for ``v`` reads."""
        g = self.g
        kind = g.kind[v]
        if kind in LEAF_KINDS:
            return ()
        if kind == "Add":
            deps = [a if (y := self._negated(a)) is None else y for a in g.args[v]]
        elif kind == "Mul":
            deps = [a if (y := self._reciprocal(a)) is None else y for a in g.args[v]]
        else:
            deps = g.args[v]
        return [d for d in deps if not g.is_constant(d)]

    # -- emission -----------------------------------------------------------------
    def operand(self, a):
        return to_float(self.g.data[a]) if self.g.is_constant(a) else self.names[a]

    def fresh(self):
        while True:
            name = f"t{self.counter}"
            self.counter += 1
            if name not in self.used:
                self.used.add(name)
                return name

    def final_name(self, v):
        hint = self.g.hints.get(v)
        base = None
        if hint is not None:
            if hint[0] == "adjoint" and hint[1] in self.names:
                base = "adj_" + self.names[hint[1]]
            elif hint[0] == "tangent" and hint[1] in self.names and hint[2] in self.names:
                base = f"d{self.names[hint[1]]}_d{self.names[hint[2]]}"
        if base is None:
            return self.fresh()
        name, k = base, 1
        while name in self.used:
            name = f"{base}_{k}"
            k += 1
        self.used.add(name)
        return name

    def emit_chain(self, v, steps):
        """Emit ``steps`` = [(op, args)]; ``None`` in a step's args is the previous result."""
        body = self.body
        prev = None
        last = len(steps) - 1
        for k, (op, args) in enumerate(steps):
            if k:
                args = tuple([prev if a is None else a for a in args])
            target = self.final_name(v) if k == last else self.fresh()
            body.append(Instr(target, op, args))
            prev = target
        self.names[v] = prev

    def emit(self, v):
        g = self.g
        kind = g.kind[v]
        if kind in _BINARY:
            # fast path for the common case: two plain operands, one instruction
            a, b = g.args[v] if len(g.args[v]) == 2 else (None, None)
            if a is not None and self._plain(a) and self._plain(b):
                self.body.append(Instr(self.final_name(v) if v in g.hints else self.fresh(),
                                       _BINARY[kind], (self.names[a], self.names[b])))
                self.names[v] = self.body[-1].target
                return
        if kind == "Symbol":
            raise ValueError(f"symbol {g.data[v]} is not an input of this program")
        if kind == "Add":
            self.emit_chain(v, self._sum_steps(g.args[v]))
        elif kind == "Mul":
            self.emit_chain(v, self._product_steps(g.args[v]))
        elif kind == "Pow":
            self.emit_chain(v, self._power_steps(*g.args[v]))
        elif kind in ("Max", "Min"):
            op = kind.lower()
            xs = [self.operand(a) for a in g.args[v]]
            self.emit_chain(v, [(op, (xs[0], xs[1]))] + [(op, (None, x)) for x in xs[2:]])
        elif kind in OPS:
            self.emit_chain(v, [(kind, tuple(self.operand(a) for a in g.args[v]))])
        else:
            raise NotImplementedError(f"symdiff has no code spelling for the SymPy function {kind!r}")

    def _sum_steps(self, xs):
        pos, neg, const = [], [], 0.0
        for a in xs:
            y = self._negated(a)
            if self.g.is_number(a):
                const += to_float(self.g.data[a])
            elif y is not None:
                neg.append(self.operand(y))
            else:
                pos.append(self.operand(a))
        steps = []
        if pos:
            first = pos[0]
            rest = pos[1:]
        elif const != 0.0:
            first, rest, const = const, [], 0.0
        else:
            first, rest = None, []
            steps.append(("neg", (neg.pop(0),)))
        for x in rest:
            steps.append(("add", (first if not steps else None, x)))
        for x in neg:
            steps.append(("sub", (first if not steps else None, x)))
        if const != 0.0:
            steps.append(("add", (first if not steps else None, const)))
        return steps

    def _product_steps(self, xs):
        num, den, coeff = [], [], 1.0
        for a in xs:
            y = self._reciprocal(a)
            if self.g.is_number(a):
                coeff *= to_float(self.g.data[a])
            elif y is not None:
                den.append(self.operand(y))
            else:
                num.append(self.operand(a))
        steps = []
        if num:
            first = num[0]
            for x in num[1:]:
                steps.append(("mul", (first if not steps else None, x)))
            if coeff == -1.0:
                steps.append(("neg", (first if not steps else None,)))
            elif coeff != 1.0:
                steps.append(("mul", (coeff, first if not steps else None)))
        else:
            steps.append(("div", (coeff, den.pop(0))))
        for x in den:
            steps.append(("div", (first if not steps else None, x)))
        return steps

    def _power_steps(self, x, e):
        g = self.g
        base = self.operand(x)
        if g.is_number(e):
            c = to_float(g.data[e])
            if c == 0.5:
                return [("sqrt", (base,))]
            if c == -0.5:
                return [("sqrt", (base,)), ("div", (1.0, None))]
            if c == -1.0:
                return [("div", (1.0, base))]
        return [("pow", (base, self.operand(e)))]


def lower(g, outputs, inputs, name, output_labels, title="", primal_limit=0):
    """Build a Program computing graph nodes ``outputs`` (None = 0) from ``inputs``.

    ``inputs`` is a list of ``(node, identifier)`` pairs, in call order.
    Instructions of nodes with ids below ``primal_limit`` (the function's own
    nodes, made before any derivative) are recorded as ``Program.primal``.
    """
    low = _Lowering(g, inputs)
    needed = bytearray(len(g))
    stack = [o for o in outputs if o is not None]
    while stack:
        v = stack.pop()
        if not needed[v]:
            needed[v] = 1
            stack.extend(low.dependencies(v))
    primal_count = 0
    for v in range(len(needed)):
        if needed[v] and v not in low.names and not g.is_constant(v):
            low.emit(v)
            if v < primal_limit:
                primal_count = len(low.body)
    primal = frozenset(ins.target for ins in low.body[:primal_count])
    outs = tuple(0.0 if o is None else low.operand(o) for o in outputs)
    return Program(name, tuple(ident for _, ident in inputs), tuple(low.body), outs,
                   tuple(output_labels), title, primal)
