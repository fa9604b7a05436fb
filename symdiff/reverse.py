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
    args = g.args
    adjoint = {}
    pending = {output: [g.one]}
    for v in reversed(order):
        terms = pending.pop(v, None)
        if terms is None:
            continue
        a = adjoint[v] = g.add(*terms)
        if a >= first_new:
            g.hints.setdefault(a, ("adjoint", v))
        if not args[v]:
            continue
        for arg, p in zip(args[v], partials_of(g, cache, v)):
            if p is not None and arg in active:
                pending.setdefault(arg, []).append(g.mul(a, p))
    return [adjoint.get(x) for x in wrt]
