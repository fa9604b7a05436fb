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
    cache = {} if cache is None else cache
    order = g.reachable([output])
    active = g.depends_on(order, wrt)
    first_new = len(g)
    kinds, args, hints = g.kind, g.args, g.hints
    add, mul = g.add, g.mul
    adjoint = {}
    pending = {output: [g.one]}
    take = pending.pop
    for v in reversed(order):
        terms = take(v, None)
        if terms is None:
            continue
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
                if arg in active:       # constants never are
                    pending.setdefault(arg, []).append(a)
        elif k == "Mul" and len(xs) == 2:
            x, y = xs
            if x in active:
                pending.setdefault(x, []).append(mul(a, y))
            if y in active:
                pending.setdefault(y, []).append(mul(a, x))
        else:
            for arg, p in zip(xs, partials_of(g, cache, v)):
                if p is not None and arg in active:
                    pending.setdefault(arg, []).append(mul(a, p))
    return [adjoint.get(x) for x in wrt]
