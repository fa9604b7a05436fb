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


def optimize(program):
    """Return an equivalent, smaller program (same inputs, outputs and names)."""
    substitution = {}    # name -> operand it equals
    defs = {}            # name -> its neg instruction (for the peepholes)
    seen = {}            # (op, operands) -> name already computing it
    body = []
    lookup = substitution.get
    negated = set()      # names defined by a neg instruction
    for ins in program.body:
        target, op, args = ins
        # floats are never keys, so .get(a, a) leaves constants alone
        if len(args) == 2:
            a, b = args
            args = (lookup(a, a), lookup(b, b))
            a, b = args
            special = type(a) is float or type(b) is float or a in negated or b in negated
        else:
            args = tuple([lookup(a, a) for a in args])
            special = any(type(a) is float or a in negated for a in args)
        if special:
            result = _simplify(op, args, defs)
            if type(result) is not tuple:
                substitution[target] = result
                continue
            op, args = result
        if op in _COMMUTATIVE and len(args) == 2:
            a, b = args
            if type(a) is type(b):
                key = (op, (a, b) if a <= b else (b, a))
            else:       # a name and a constant: the name first
                key = (op, (a, b) if type(a) is str else (b, a))
        else:
            key = (op, args)
        existing = seen.get(key)
        if existing is not None:
            substitution[target] = existing
            continue
        seen[key] = target
        new = ins if (op == ins.op and args == ins.args) else Instr(target, op, args)
        if op == "neg":
            negated.add(target)
            defs[target] = new
        body.append(new)
    outputs = tuple(lookup(o, o) for o in program.outputs)
    return program.replace(body=tuple(eliminate_dead_code(body, outputs)), outputs=outputs)


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
