"""Forward mode: push tangents from the inputs towards the outputs.

For each input ``x`` (one *sweep* per input direction), every node that
depends on ``x`` -- and that some output depends on -- gets, in topological
order, ``tangent[v] = sum_i d v/d arg_i * tangent[arg_i]``.  A sweep visits
only that cone of nodes, so sparse problems (a banded Hessian) cost what
their nonzeros cost.  Tangents are nodes interned in the same graph as the
function, so they share its work; a tangent that is a symbolic zero is
never created.
"""

from .rules import local_partials


def partials_of(g, cache, v):
    """Memoised :func:`~symdiff.rules.local_partials` (shared by both modes)."""
    ps = cache.get(v)
    if ps is None:
        ps = cache[v] = local_partials(g, v)
    return ps


def _users(g, order):
    """For each node of ``order``, the nodes of ``order`` that use it."""
    users = {}
    for v in order:
        for a in g.args[v]:
            users.setdefault(a, []).append(v)
    return users


def cone(users, sources):
    """Nodes reachable from ``sources`` along ``users`` (the sources excluded), ascending."""
    seen = set(sources)
    stack = list(seen)
    while stack:
        for u in users.get(stack.pop(), ()):
            if u not in seen:
                seen.add(u)
                stack.append(u)
    seen.difference_update(sources)
    return sorted(seen)


def _sweep(g, users, tangent, cache, ranks, source):
    """One forward sweep: ``tangent`` (node -> tangent node) holds the seeds and receives the
    tangent of every node in their cone, in topological order.  ``source`` is the input of
    the direction (named ``dt1_dx`` in code), or None for a direction of its own (``t1_dot``)."""
    args, kinds = g.args, g.kind        # len(kinds) is the graph's size, without a method call
    first_new = len(kinds)
    for v in cone(users, list(tangent)):
        made = len(kinds)
        if kinds[v] == "Add":
            # a sum's partials are 1 (constants never carry a tangent), and 1 * t is t: the
            # terms as they are.  A long sum is walked by every sweep below it, and with one
            # term (the rest do not depend on this direction) its tangent is that term's,
            # which already has its hint: nothing to make
            terms = [tangent[a] for a in args[v] if a in tangent]
            if len(terms) == 1:
                tangent[v] = terms[0]
                continue
        else:
            terms = [g.mul(p, tangent[a]) for a, p in zip(args[v], partials_of(g, cache, v))
                     if p is not None and a in tangent]
        if terms:
            t = tangent[v] = g.add(*terms)
            if t >= first_new:
                g.hints.setdefault(t, ("tangent", v, source) if source is not None else ("direction", v))
        if ranks is not None and len(kinds) > made:
            for node in range(made, len(kinds)):
                ranks[node] = v


def tangents(g, outputs, wrt, cache=None, ranks=None):
    """Forward mode.  Returns ``{(i, j): node}``: the nonzero d outputs[i] / d wrt[j].

    ``ranks``, a dict, receives for every node made here the function node whose
    tangents made it: lowering in that order (:func:`~symdiff.lower.lower`'s
    ``ranks``) puts each value next to its tangents in every direction, as
    vector forward mode runs, so a value dies as soon as its users' tangents are
    computed instead of living until the last sweep.
    """
    cache = {} if cache is None else cache
    users = _users(g, g.reachable(outputs))
    rows_of = {}
    for i, out in enumerate(outputs):
        rows_of.setdefault(out, []).append(i)
    result = {}
    for j, x in enumerate(wrt):
        tangent = {x: g.one}
        _sweep(g, users, tangent, cache, ranks, x)
        for v, t in tangent.items():
            for i in rows_of.get(v, ()):
                result[i, j] = t
    return result


def directional(g, outputs, seeds, cache=None, ranks=None):
    """Forward mode in one direction, one sweep: ``seeds`` maps each input node to the node of
    its tangent (a symbol of the direction, ``x_dot``).  Returns ``[tangent of outputs[i]]``,
    None for a zero: the Jacobian-vector product J v, whatever the number of inputs."""
    cache = {} if cache is None else cache
    users = _users(g, g.reachable(outputs))
    tangent = {x: t for x, t in seeds.items() if t is not None}
    _sweep(g, users, tangent, cache, ranks, None)
    return [tangent.get(o) for o in outputs]
