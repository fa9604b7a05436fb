"""Forward mode: push tangents from the inputs towards the outputs.

For each input ``x`` (one *sweep* per input direction), every node in
topological order gets ``tangent[v] = sum_i d v/d arg_i * tangent[arg_i]``.
Tangents are nodes interned in the same graph as the function, so they share
its work; a tangent that is a symbolic zero is never created.
"""

from .rules import local_partials


def partials_of(g, cache, v):
    """Memoised :func:`~symdiff.rules.local_partials` (shared by both modes)."""
    ps = cache.get(v)
    if ps is None:
        ps = cache[v] = local_partials(g, v)
    return ps


def tangents(g, outputs, wrt, cache=None):
    """Forward mode.  Returns ``T`` with ``T[i][j]`` the node of d outputs[i]/d wrt[j] (or None)."""
    cache = {} if cache is None else cache
    order = g.reachable(outputs)
    first_new = len(g)
    args = g.args
    result = [[None] * len(wrt) for _ in outputs]
    for j, x in enumerate(wrt):
        tangent = {x: g.one}
        for v in order:
            xs = args[v]
            if v == x or not any(a in tangent for a in xs):
                continue
            terms = [g.mul(p, tangent[a]) for a, p in zip(xs, partials_of(g, cache, v))
                     if p is not None and a in tangent]
            if terms:
                t = tangent[v] = g.add(*terms)
                if t >= first_new:
                    g.hints.setdefault(t, ("tangent", v, x))
        for i, out in enumerate(outputs):
            result[i][j] = tangent.get(out)
    return result
