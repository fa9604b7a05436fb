"""Reverse mode: pull adjoints from the output back to the inputs.

One forward sweep computes the values the partials need; then, in reverse
topological order, each node's adjoint is the sum of the contributions its
users sent it, and it sends ``adjoint * d v/d arg`` to each of its arguments
(the ``+=`` of backpropagation, collected so every adjoint is one sum).
Only nodes on a path from a ``wrt`` input to the output take part.
"""

from collections import defaultdict

from . import graph as _graph
from . import rules
from .forward import partials_of
from .graph import Graph, highest_id
from .rules import RULES

#: the loop of sweep in C, where symdiff's optional C core is built (see graph.ACCELERATED)
_reverse_loop = _graph._graphcore.reverse_loop if _graph.ACCELERATED else None


def adjoints(g, output, wrt, cache=None):
    """Reverse mode.  Returns ``[node of d output/d x for x in wrt]`` (None = zero)."""
    return cotangents(g, [output], [g.one], wrt, cache)


def cotangents(g, outputs, seeds, wrt, cache=None):
    """Reverse mode from several outputs at once, one sweep: ``seeds[i]`` is the node of the
    adjoint that ``outputs[i]`` starts with (a symbol, ``f_bar``).  Returns ``[adjoint of x
    for x in wrt]``, None for a zero: the vector-Jacobian product u^T J, whatever the number
    of outputs."""
    adjoint = sweep(g, outputs, seeds, g.depends_on(range(highest_id(outputs) + 1), wrt), set(wrt), cache)
    return [adjoint.get(x) for x in wrt]


def sweep(g, outputs, seeds, active, wanted, cache=None):
    """The reverse sweep: ``{x: adjoint of x}`` for the nodes ``x`` in ``wanted`` (the inputs)
    that receive one.  ``active`` marks the nodes that depend on the inputs
    (:meth:`~symdiff.graph.Graph.depends_on`); the rows of a Jacobian share it, so a row
    costs its cone, not the graph."""
    cache = {} if cache is None else cache
    # nodes in reverse id (= topological) order: a small cone's own (one row of a sparse
    # Jacobian costs its nonzeros, not the graph), else every id below the highest output
    # (a node no output reaches never receives a term: skipped at once, no walk to find it)
    order = g.small_cone(outputs)
    nodes = reversed(order) if order is not None else range(highest_id(outputs), -1, -1)
    first_new = len(g)
    kinds, args, hints = g.kind, g.args, g.hints
    add, mul = g.add, g.mul
    # per node: the terms of its adjoint still to be summed (a list as long as the graph,
    # or for a small cone a dict: a list would cost the graph per Jacobian row)
    pending = [None] * first_new if order is None else defaultdict(lambda: None)
    adjoint = {}        # of the wanted nodes
    for output, seed in zip(outputs, seeds):
        if seed is not None and active[output]:
            _send(pending, output, seed)
    if order is None and _reverse_loop is not None and type(g) is Graph:
        _reverse_loop(g, pending, active, wanted, cache, partials_of, highest_id(outputs), adjoint,
                      RULES.get("Pow") is rules._pow)
        return adjoint
    for v in nodes:
        terms = pending[v]
        if terms is None:
            continue
        pending[v] = None
        a = terms[0] if len(terms) == 1 else add(*terms)
        if v in wanted:
            adjoint[v] = a
        if a >= first_new and a not in hints:
            hints[a] = ("adjoint", v)
        xs = args[v]
        if not xs:
            continue
        k = kinds[v]
        # sums and binary products inline (their partials are 1 and the other
        # factor: rules._add and rules._mul make no nodes for them); the rest by rule
        if k == "Add":
            for arg in xs:
                if active[arg]:         # constants never are
                    _send(pending, arg, a)
        elif k == "Mul" and len(xs) == 2:
            x, y = xs
            if active[x]:
                _send(pending, x, mul(a, y))
            if active[y]:
                _send(pending, y, mul(a, x))
        else:
            for arg, p in zip(xs, partials_of(g, cache, v)):
                if p is not None and active[arg]:
                    _send(pending, arg, mul(a, p))
    return adjoint


def _send(pending, node, term):
    terms = pending[node]
    if terms is None:
        pending[node] = [term]
    else:
        terms.append(term)
