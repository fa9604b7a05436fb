"""Forward mode: push tangents from the inputs towards the outputs.

Each input ``x`` is a direction (in the textbook, one *sweep* per input):
every node that depends on ``x`` -- and that some output depends on -- gets
``tangent[v] = sum_i d v/d arg_i * tangent[arg_i]``.  The directions go
through the graph together, as vector forward mode runs: one walk in
topological order carries, for each node, its tangents in the directions
it depends on (and only those, so sparse problems such as a banded Hessian
cost what their nonzeros cost).  Tangents are nodes interned in the same
graph as the function, so they share its work; a tangent that is a
symbolic zero is never created.
"""

from . import graph as _graph
from . import rules
from .rules import local_partials

#: the loop of _push in C, where symdiff's optional C core is built (see graph.ACCELERATED)
_forward_loop = _graph._graphcore.forward_loop if _graph.ACCELERATED else None


def partials_of(g, cache, v):
    """Memoised :func:`~symdiff.rules.local_partials` (shared by both modes)."""
    ps = cache.get(v)
    if ps is None:
        ps = cache[v] = local_partials(g, v)
    return ps


def _push(g, outputs, seeds, sources, cache, ranks):
    """Carry tangents from ``seeds`` (node -> {direction: tangent node}) to ``outputs``.

    Returns ``{node: {direction: tangent node}}``, the outputs' (and maybe others').
    ``sources[d]`` is the input of direction ``d`` (a tangent is named ``dt1_dx`` after
    it in code), or None for a direction of its own (``t1_dot``).  ``ranks`` (a dict or
    None) receives, for every node made, the node whose tangents made it.
    """
    args, kinds, hints = g.args, g.kind, g.hints    # len(kinds): the graph's size, no call
    first_new = len(kinds)
    outputs = [o for o in outputs if o is not None]
    order = g.reachable(outputs)
    if _forward_loop is not None and type(g) is _graph.Graph:
        carried = {x: dict(t) for x, t in seeds.items()}
        _forward_loop(g, order, outputs, carried, sources, cache, partials_of, ranks,
                      rules.RULES.get("Pow") is rules._pow)
        return carried
    # uses left per node: a node's tangents are dropped after its last user, and that
    # user, when it is a sum, takes them over instead of copying (outputs keep theirs)
    uses = [0] * first_new
    for v in order:
        for a in args[v]:
            uses[a] += 1
    for o in outputs:
        uses[o] += 1
    carried = {x: dict(t) for x, t in seeds.items()}

    def named(t, v, d):
        if t >= first_new:
            hints.setdefault(t, ("tangent", v, sources[d]) if sources[d] is not None else ("direction", v))
        return t

    for v in order:
        xs = args[v]
        if not xs or v in carried:
            continue
        for a in xs:
            uses[a] -= 1
        maps = [a for a in xs if a in carried]
        if not maps:
            continue
        made = len(kinds)
        if kinds[v] == "Add":
            # a sum's partials are 1 (constants never carry a tangent), and 1 * t is t: a
            # direction only one term carries keeps that term's tangent, already named.
            # The tangents go into the largest map this sum was the last user of: down a
            # long chain of sums that map is the chain's own, so nothing is copied
            heir = max((a for a in maps if uses[a] == 0), key=lambda a: len(carried[a]), default=None)
            terms = {}
            inherited = False
            for a in maps:
                if a == heir and not inherited:     # once: in x + x the heir counts twice
                    inherited = True
                    continue
                for d, t in carried[a].items():
                    terms.setdefault(d, []).append(t)
            tangent = carried.pop(heir) if heir is not None else {}
            for d, ts in terms.items():
                if d in tangent:
                    ts.append(tangent[d])
                elif len(ts) == 1:
                    tangent[d] = ts[0]
                    continue
                tangent[d] = named(g.add(*ts), v, d)
        else:
            terms = {}
            for a, p in zip(xs, partials_of(g, cache, v)):
                if p is not None and a in carried:
                    for d, t in carried[a].items():
                        terms.setdefault(d, []).append(g.mul(p, t))
            tangent = {d: named(g.add(*ts), v, d) for d, ts in terms.items()}
        for a in maps:
            if uses[a] == 0:
                carried.pop(a, None)
        if tangent:
            carried[v] = tangent
        if ranks is not None and len(kinds) > made:
            for node in range(made, len(kinds)):
                ranks[node] = v
    return carried


def tangents(g, outputs, wrt, cache=None, ranks=None):
    """Forward mode.  Returns ``{(i, j): node}``: the nonzero d outputs[i] / d wrt[j].

    ``ranks``, a dict, receives for every node made here the function node whose
    tangents made it: lowering in that order (:func:`~symdiff.lower.lower`'s
    ``ranks``) puts each value next to its tangents in every direction, as
    vector forward mode runs, so a value dies as soon as its users' tangents are
    computed instead of living until the last direction's.
    """
    cache = {} if cache is None else cache
    seeds = {x: {j: g.one} for j, x in enumerate(wrt)}
    result = {}
    carried = _push(g, outputs, seeds, list(wrt), cache, ranks)
    for i, out in enumerate(outputs):
        for j, t in carried.get(out, {}).items():
            result[i, j] = t
    return result


def directional(g, outputs, seeds, cache=None, ranks=None):
    """Forward mode in one direction, one sweep: ``seeds`` maps each input node to the node of
    its tangent (a symbol of the direction, ``x_dot``).  Returns ``[tangent of outputs[i]]``,
    None for a zero: the Jacobian-vector product J v, whatever the number of inputs."""
    cache = {} if cache is None else cache
    start = {x: {0: t} for x, t in seeds.items() if t is not None}
    carried = _push(g, outputs, start, [None], cache, ranks)
    return [carried[o].get(0) if o in carried else None for o in outputs]
