"""Program optimisation: constant folding, algebraic identities, CSE and DCE.

One forward pass rewrites each instruction's operands through the
substitutions found so far, folds instructions whose operands are all
constants, removes identities (``x+0``, ``x-0``, ``x*1``, ``x/1``, ``x**1``,
``x*0``, ``--x``), turns ``a + (-b)`` into ``a - b``, and reuses an earlier
instruction computing the same op on the same operands (value numbering;
commutative operands are compared as a sorted pair).  A backward pass then
drops instructions no output needs.

Note ``x*0 -> 0`` is the usual symbolic convention: it drops the nan that
``inf*0`` would give.
"""

import numpy as np

from .ops import OPS
from .program import Instr

_COMMUTATIVE = frozenset({"add", "mul", "max", "min", "hypot"})
_TRIVIAL = frozenset({0.0, 1.0, -1.0})      # constants some identity removes (-0.0 == 0.0)
_new_tuple = tuple.__new__


def _simplify(op, args, defs):
    """Either an operand (the instruction is a copy) or a possibly rewritten ``(op, args)``."""
    if all(isinstance(a, float) for a in args):
        with np.errstate(all="ignore"):
            return float(OPS[op].evaluate(*args))
    if len(args) == 2:
        a, b = args
        if op == "add":
            if a == 0.0 and isinstance(a, float):
                return b
            if b == 0.0 and isinstance(b, float):
                return a
            for x, y in ((a, b), (b, a)):
                negated = defs.get(y) if isinstance(y, str) else None
                if negated is not None and negated.op == "neg":
                    return _simplify("sub", (x, negated.args[0]), defs)
        elif op == "sub":
            if isinstance(b, float) and b == 0.0:
                return a
            if isinstance(a, float) and a == 0.0:
                return _simplify("neg", (b,), defs)
            negated = defs.get(b) if isinstance(b, str) else None
            if negated is not None and negated.op == "neg":
                return _simplify("add", (a, negated.args[0]), defs)
        elif op == "mul":
            for x, y in ((a, b), (b, a)):
                if isinstance(x, float):
                    if x == 1.0:
                        return y
                    if x == 0.0:
                        return 0.0
                    if x == -1.0:
                        return _simplify("neg", (y,), defs)
        elif op == "div":
            if isinstance(b, float) and b == 1.0:
                return a
            if isinstance(b, float) and b == -1.0:
                return _simplify("neg", (a,), defs)
        elif op == "pow":
            if isinstance(b, float) and b == 1.0:
                return a
            if isinstance(b, float) and b == 0.0:
                return 1.0
    elif op == "neg":
        inner = defs.get(args[0]) if isinstance(args[0], str) else None
        if inner is not None and inner.op == "neg":
            return inner.args[0]
    return op, args


class Emitter:
    """Builds an optimized body one instruction at a time.

    :meth:`emit` takes an instruction whose operands are already substituted,
    simplifies it, and either finds an earlier instruction computing the same
    value (value numbering) or appends it.  It returns the operand that now
    holds the value: the new target, an earlier name, or a constant.  Lowering
    emits through one of these, so graph nodes become optimized code in one
    pass; :func:`optimize` runs an existing program through one.
    """

    __slots__ = ("body", "seen", "defs", "negated", "rewritten")

    def __init__(self):
        self.body = []
        self.seen = {}          # op -> {operands: the name already computing it}
        self.defs = {}          # name -> its neg instruction (for the peepholes)
        self.negated = set()    # names defined by a neg instruction
        self.rewritten = False  # an instruction was simplified: dead code is possible

    def emit(self, target, op, args):
        negated = self.negated
        if len(args) == 2:
            a, b = args
            # only a trivial constant (0, 1, -1), two constants or a negation can simplify
            if a.__class__ is float:
                special = b.__class__ is float or a in _TRIVIAL or b in negated
            elif b.__class__ is float:
                special = b in _TRIVIAL or a in negated
            else:
                special = a in negated or b in negated
        else:
            special = any(a.__class__ is float or a in negated for a in args)
        if special:
            result = _simplify(op, args, self.defs)
            if result.__class__ is not tuple:
                self.rewritten = True
                return result
            if result[0] != op or result[1] != args:
                self.rewritten = True
            op, args = result
        table = self.seen.get(op)
        if table is None:
            table = self.seen[op] = {}
        key = args
        if len(args) == 2 and op in _COMMUTATIVE:
            a, b = args
            if a.__class__ is b.__class__:
                if b < a:
                    key = (b, a)
            elif a.__class__ is not str:        # a name and a constant: the name first
                key = (b, a)
        existing = table.get(key)
        if existing is not None:
            return existing
        table[key] = target
        ins = _new_tuple(Instr, (target, op, args))     # Instr(...) without its Python __new__
        if op == "neg":
            negated.add(target)
            self.defs[target] = ins
        self.body.append(ins)
        return target

    def finish(self, outputs):
        """The body, without instructions the outputs do not need."""
        return tuple(eliminate_dead_code(self.body, outputs) if self.rewritten else self.body)


def optimize(program):
    """Return an equivalent, smaller program (same inputs, outputs and names)."""
    emitter = Emitter()
    emitter.rewritten = True        # the program may hold dead code of its own
    substitution = {}               # name -> operand it equals
    lookup = substitution.get
    for target, op, args in program.body:
        # floats are never keys, so .get(a, a) leaves constants alone
        value = emitter.emit(target, op, tuple([lookup(a, a) for a in args]))
        if value is not target:
            substitution[target] = value
    outputs = tuple(lookup(o, o) for o in program.outputs)
    return program.replace(body=emitter.finish(outputs), outputs=outputs)


def eliminate_dead_code(body, outputs):
    """Instructions of ``body`` that the outputs depend on, in order."""
    live = {o for o in outputs if isinstance(o, str)}
    kept = []
    for ins in reversed(body):
        if ins.target in live:
            kept.append(ins)
            live.update(a for a in ins.args if isinstance(a, str))
    kept.reverse()
    return kept
