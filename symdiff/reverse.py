"""Reverse mode: pull adjoints from the output back to the inputs.

One forward sweep computes the values the partials need; then, in reverse
topological order, each node's adjoint is the sum of the contributions its
users sent it, and it sends ``adjoint * d v/d arg`` to each of its arguments
(the ``+=`` of backpropagation, collected so every adjoint is one sum).
Only nodes on a path from a ``wrt`` input to the output take part.
"""

from .forward import partials_of


def adjoints(g, output, wrt, cache=None):
    """Reverse mode.  Returns ``[node of d output/d x for x in wrt]`` (None = zero)."""
    return cotangents(g, [output], [g.one], wrt, cache)


def cotangents(g, outputs, seeds, wrt, cache=None):
    """Reverse mode from several outputs at once, one sweep: ``seeds[i]`` is the node of the
    adjoint that ``outputs[i]`` starts with (a symbol, ``f_bar``).  Returns ``[adjoint of x
    for x in wrt]``, None for a zero: the vector-Jacobian product u^T J, whatever the number
    of outputs."""
    cache = {} if cache is None else cache
    # nodes are visited from the highest output down (ids are topological); a node some
    # output does not reach never receives a term, so no reachability walk is needed
    top = max((o for o in outputs if o is not None), default=-1)
    active = g.depends_on(range(top + 1), wrt)      # a mask over the nodes existing now
    first_new = len(g)
    kinds, args, hints = g.kind, g.args, g.hints
    add, mul = g.add, g.mul
    # per node id (only nodes that exist now receive contributions): the terms of
    # its adjoint still to be summed, and the adjoint once summed
    pending = [None] * first_new
    adjoint = [None] * first_new
    for output, seed in zip(outputs, seeds):
        if seed is not None and active[output]:
            _send(pending, output, seed)
    for v in range(top, -1, -1):
        terms = pending[v]
        if terms is None:
            continue
        pending[v] = None
        a = adjoint[v] = terms[0] if len(terms) == 1 else add(*terms)
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
    return [adjoint[x] for x in wrt]


def _send(pending, node, term):
    terms = pending[node]
    if terms is None:
        pending[node] = [term]
    else:
        terms.append(term)
