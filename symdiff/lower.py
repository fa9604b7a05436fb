"""Lowering: from graph nodes to a straight-line :class:`~symdiff.program.Program`.

SymPy-style nodes become one-operation instructions: ``Add(a, Mul(-1, b))``
prints as ``a - b``, ``Mul(a, Pow(b, -1))`` as ``a / b``, ``Pow(x, 1/2)`` as
``sqrt(x)``; n-ary sums, products and extrema become chains.  Only nodes the
outputs need are emitted, in ascending id (= topological) order, so a
reverse-mode program reads as its forward sweep followed by its reverse
sweep.

Every instruction goes through an :class:`~symdiff.optimize.Emitter`, which
folds, simplifies and value-numbers it on the way, so the program comes out
optimized in this one pass.

Names: inputs keep their own names where they are valid identifiers;
temporaries are ``t0, t1, ...`` in order of appearance; an adjoint created by
reverse mode is named after its primal (``adj_t2``, ``adj_x``), a forward
tangent after its primal and input (``dt2_dx``).
"""

import builtins
import itertools
import keyword
import re
import unicodedata

import sympy

from . import graph as _graph
from .graph import Graph, to_float  # noqa: F401 (display reads to_float from here)
from .ops import OPS
from .optimize import Emitter
from .program import Instr, Program

#: Names generated modules define, import, add as parameters or call (tests/test_printing.py
#: reads every kind of generated module to keep this complete); an input with one of
#: these names, or starting with "_", is renamed in the generated code.
RESERVED_IDENTIFIERS = frozenset(
    {"np", "math", "numba", "scipy", "cuda", "base64", "zlib", "out", "parallel", "threads"}
    | {kind + suffix                                                                      # program names
       for kind in ("grad", "value_and_grad", "jacobian", "value_and_jacobian", "hessian", "jvp", "vjp", "hvp")
       for suffix in ("", "_batch", "_batch_parallel", "_array", "_gufunc", "_gufunc_signature",
                      "_kernel", "_cuda_array")}
    | {"tape_run", "tape_scalar", "tape_batch", "tape_batch_parallel"}                    # symdiff.tape
    | {"SPARSE_ROWS", "SPARSE_COLS", "SPARSE_SHAPE", "INPUTS", "OUTPUTS"}                 # module constants
    | {"VEC_TRIG_LIMIT", "vec_sin", "vec_cos", "vec_exp", "vec_log", "vec_tanh"}           # symdiff.vecmath
    | {"polygamma_real", "polygamma_array", "lgamma_array"}                # symdiff.special, ops (python backend)
    # builtins the modules call (range, float, all ...): all of them, so none is ever shadowed
    | {name for name in dir(builtins) if not name.startswith("_")})


# SymPy's reciprocal functions, written with ours: class -> (f, None) for 1/f(x), or
# (None, f) for f(1/x), their definitions on the reals (acot(0) = atan(inf) = pi/2, as in
# SymPy).  Their graph nodes stay SymPy's, so derivatives are SymPy's own (sec' = tan*sec).
SPELLED_WITH_OURS = {
    sympy.sec: ("cos", None), sympy.csc: ("sin", None), sympy.cot: ("tan", None),
    sympy.sech: ("cosh", None), sympy.csch: ("sinh", None), sympy.coth: ("tanh", None),
    sympy.asec: (None, "acos"), sympy.acsc: (None, "asin"), sympy.acot: (None, "atan"),
    sympy.asech: (None, "acosh"), sympy.acsch: (None, "asinh"), sympy.acoth: (None, "atanh"),
}


def input_identifiers(names):
    """Valid, distinct Python identifiers for the given input names (kept where possible)."""
    result, used = [], set()
    for k, name in enumerate(names):
        # as Python reads identifiers: "ﬁ" is "fi" (ASCII is its own normal form)
        ident = name if name.isascii() else unicodedata.normalize("NFKC", name)
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


_TEMPORARY = re.compile(r"t[0-9]+")


class _Lowering:
    def __init__(self, g, input_names):
        self.g = g
        # per node id: the operand holding its value (None: not emitted yet)
        self.names = [None] * len(g)
        for node, ident in input_names:
            self.names[node] = ident
        self.labels = {}                        # node -> its own name, where names[] holds another
        self.used = {ident for _, ident in input_names}
        self.emitter = Emitter()
        self.counter = 0
        # temporaries t0, t1, ... cannot clash with anything but an input called so
        self.check_fresh = any(_TEMPORARY.fullmatch(name) for name in self.used)

    # -- operand classification ------------------------------------------------
    def _reciprocal(self, a):
        """``y`` when node ``a`` is ``Pow(y, -1)``, else None."""
        g = self.g
        if g.kind[a] == "Pow":
            y, e = g.args[a]
            if g.is_number(e) and g.data[e] == -1:
                return y
        return None

    # -- emission -----------------------------------------------------------------
    def operand(self, a):
        return to_float(self.g.data[a]) if self.g.is_constant(a) else self.names[a]

    def fresh(self):
        if not self.check_fresh:
            name = f"t{self.counter}"
            self.counter += 1
            return name
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
            names, labels = self.names, self.labels
            if hint[0] == "adjoint" and names[hint[1]] is not None:
                base = "adj_" + labels.get(hint[1], names[hint[1]])
            elif hint[0] == "tangent" and names[hint[1]] is not None and names[hint[2]] is not None:
                base = f"d{labels.get(hint[1], names[hint[1]])}_d{labels.get(hint[2], names[hint[2]])}"
            elif hint[0] == "direction" and names[hint[1]] is not None:
                base = labels.get(hint[1], names[hint[1]]) + "_dot"
        if base is None:
            return self.fresh()
        name, k = base, 1
        while name in self.used:
            name = f"{base}_{k}"
            k += 1
        self.used.add(name)
        return name

    def settle(self, v, target, value):
        """Node ``v``'s code was given name ``target``; ``value`` now holds its value."""
        self.names[v] = value
        if value is not target:
            self.labels[v] = target

    def emit_chain(self, v, steps):
        """Emit ``steps`` = [(op, args)]; ``None`` in a step's args is the previous result."""
        emit = self.emitter.emit
        prev = None
        last = len(steps) - 1
        for k, (op, args) in enumerate(steps):
            if k:
                args = tuple([prev if a is None else a for a in args])
            target = self.final_name(v) if k == last else self.fresh()
            prev = emit(target, op, args)
        self.settle(v, target, prev)

    def emit(self, v):
        """Emit the code of node ``v`` (the general path; see ``lower`` for the common one)."""
        g = self.g
        kind = g.kind[v]
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
        elif (spelled := SPELLED_WITH_OURS.get(g.data[v])) is not None:
            inner, outer = spelled
            x = self.operand(g.args[v][0])
            self.emit_chain(v, [(inner, (x,)), ("div", (1.0, None))] if outer is None
                            else [("div", (1.0, x)), (outer, (None,))])
        else:
            raise NotImplementedError(f"symdiff has no code spelling for the SymPy function {kind!r}, so it "
                                      "cannot be compiled; sd.diff still differentiates it symbolically")

    def _one_step(self, v):
        """``(op, args)`` when node ``v`` is one instruction of a common shape, else None.

        The same instruction the general path (``_sum_steps`` ...) would emit,
        found with fewer steps: binary sums and products of names and
        constants, subtractions, divisions, powers and one-argument functions.
        Reads operands from ``names`` alone: ``lower`` puts each needed constant's float there.
        """
        g = self.g
        kinds = g.kind
        kind = kinds[v]
        xs = g.args[v]
        names = self.names
        if len(xs) == 2:
            a, b = xs
            ka, kb = kinds[a], kinds[b]
            if kind == "Add":
                # an operand is ('c', value) a number, ('n', y's operand) a negation -y,
                # or ('p', operand) plain; a named constant (pi) is plain, as in _sum_steps
                a, ka = self._form(a, ka, "Mul", g._negation_of, "n")
                b, kb = self._form(b, kb, "Mul", g._negation_of, "n")
                if ka == "p":
                    return ("add", (a, b)) if kb != "n" else ("sub", (a, b))
                if kb == "p":
                    return ("add", (b, a)) if ka == "c" else ("sub", (b, a))
                if ka == "c" and kb == "n" and a != 0.0:
                    return "sub", (a, b)
                if kb == "c" and ka == "n" and b != 0.0:
                    return "sub", (b, a)
                return None
            if kind == "Mul":
                # the same with ('r', y's operand) for a reciprocal 1/y
                a, ka = self._form(a, ka, "Pow", self._reciprocal, "r")
                b, kb = self._form(b, kb, "Pow", self._reciprocal, "r")
                if ka == "c":
                    a, b, ka, kb = b, a, kb, ka     # the constant second
                if ka == "p":
                    if kb == "p":
                        return "mul", (a, b)
                    if kb == "r":
                        return "div", (a, b)
                    if b == -1.0:
                        return "neg", (a,)
                    return ("mul", (b, a)) if b != 1.0 else None
                if ka == "r" and kb == "c" and b != 1.0:
                    return "div", (b, a)
                if ka == "r" and kb == "p":
                    return "div", (b, a)
                return None
            if kind == "Pow" and kb == "Number":
                c = names[b]
                if c == 0.5 or c == -0.5 or c == -1.0 or ka == "Number" or ka == "NumberSymbol":
                    return None
                return "pow", (names[a], c)
            return None
        if len(xs) == 1 and kind in OPS:
            a = xs[0]
            ka = kinds[a]
            if ka == "Number" or ka == "NumberSymbol":
                return None
            return kind, (names[a],)
        return None

    def _form(self, x, kind, wrapper, unwrap, code):
        """``(operand, form)`` of node ``x`` (of ``kind``) inside a sum or a product."""
        if kind == "Number":
            return self.names[x], "c"
        if kind == wrapper and (y := unwrap(x)) is not None:
            return self.names[y], code
        return self.names[x], "p"

    def _sum_steps(self, xs):
        kinds, names, negation_of = self.g.kind, self.names, self.g._negation_of
        pos, neg, const = [], [], 0.0
        for a in xs:        # operands from names[], as in _one_step
            k = kinds[a]
            if k == "Number":
                const += names[a]
            elif k == "Mul" and (y := negation_of(a)) is not None:
                neg.append(names[y])
            else:
                pos.append(names[a])
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


def schedule(g, roots, ranks):
    """The nodes the roots depend on in a topological order that otherwise follows
    ``ranks``: sorted by ``(ranks.get(v, v), v)``, and a node whose arguments are not
    placed yet gets them placed just before it (depth first)."""
    if _graph.ACCELERATED and type(g) is Graph:         # the same order, in C
        return _graph._graphcore.schedule(g, g.reachable(roots), ranks)
    args = g.args
    placed = bytearray(len(g))
    order = []
    for v in sorted(g.reachable(roots), key=lambda v: (ranks.get(v, v), v)):
        stack = [v]
        while stack:
            u = stack[-1]
            if placed[u]:
                stack.pop()
                continue
            missing = [a for a in args[u] if not placed[a]]
            if missing:
                stack.extend(reversed(missing))
            else:
                placed[u] = 1
                order.append(u)
                stack.pop()
    return order


def lower(g, outputs, inputs, name, output_labels, title="", primal_limit=0, ranks=None):
    """Build a Program computing graph nodes ``outputs`` (None = 0) from ``inputs``.

    ``inputs`` is a list of ``(node, identifier)`` pairs, in call order.
    Instructions of nodes with ids below ``primal_limit`` (the function's own
    nodes, made before any derivative) are recorded as ``Program.primal``.
    Nodes are emitted in ascending id (a reverse-mode program reads as its
    forward sweep, then its reverse sweep), or in the order :func:`schedule`
    makes of ``ranks`` (forward mode: see :func:`~symdiff.forward.tangents`).
    """
    low = _Lowering(g, inputs)
    kinds, args, data, names = g.kind, g.args, g.data, low.names
    negation_of, reciprocal_of = g._negation_of, low._reciprocal
    # mark what the outputs need: a sum reads y for its operand -y, a product y for
    # 1/y; a needed constant gets its float as its operand right away
    accelerated = _graph.ACCELERATED and type(g) is Graph
    needed = bytearray(len(g))
    stack = [o for o in outputs if o is not None]
    if accelerated:         # the same marks in C, by one scan down the ids
        needed = _graph._graphcore.needed_nodes(g, stack, names, to_float)
        stack = []
    pop, push, extend = stack.pop, stack.append, stack.extend
    while stack:
        v = pop()
        if needed[v]:
            continue
        needed[v] = 1
        k = kinds[v]
        if k == "Add":
            for a in args[v]:
                push(a if kinds[a] != "Mul" or (y := negation_of(a)) is None else y)
        elif k == "Mul":
            for a in args[v]:
                push(a if kinds[a] != "Pow" or (y := reciprocal_of(a)) is None else y)
        elif k == "Number" or k == "NumberSymbol":
            names[v] = to_float(data[v])
        else:
            extend(args[v])
    # emit them in id (= topological) order: the common shapes in one step, the rest
    # through the general path.  Program.primal lists the instructions of nodes below
    # primal_limit: in id order they are the ones emitted before the first node past it
    if ranks is None:
        order = itertools.compress(range(len(needed)), needed)
    else:
        order = [v for v in schedule(g, [o for o in outputs if o is not None], ranks) if needed[v]]
    interleaved = ranks is not None
    primal = []
    boundary = None
    hints = g.hints
    one_step, fresh, final_name, emit = low._one_step, low.fresh, low.final_name, low.emitter.emit
    body = low.emitter.body
    if accelerated:         # the loop below, in C
        boundary = _graph._graphcore.lower_loop(low, order if interleaved else needed, primal_limit, OPS,
                                                Instr, primal)
        order = ()
    for v in order:
        if names[v] is not None:        # an input, or a constant
            continue
        if interleaved:
            start = len(body) if v < primal_limit else -1
        elif boundary is None and v >= primal_limit:
            boundary = len(body)
        step = one_step(v)
        if step is None:
            low.emit(v)
        else:
            target = final_name(v) if v in hints else fresh()
            low.settle(v, target, emit(target, *step))
        if interleaved and start >= 0:
            primal.extend(ins.target for ins in body[start:])
    if not interleaved:
        primal = [ins.target for ins in body[:len(body) if boundary is None else boundary]]
    primal = frozenset(primal)
    outs = tuple(0.0 if o is None else low.operand(o) for o in outputs)
    return Program(name, tuple(ident for _, ident in inputs), low.emitter.finish(outs), outs,
                   tuple(output_labels), title, primal)
