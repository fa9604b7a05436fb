"""Pictures and notebook views: the computational graph, sums over paths.

:func:`show_graph` draws a formula's graph as colah's figures do: one node
per operation with its value at a point, each edge labelled with the local
partial derivative d(user)/d(argument) there, and -- for a chosen input --
every path to the output highlighted with the product of its edge
derivatives; their sum is the derivative (``de/db = 1*2 + 1*3 = 5``).
Without a point the edges carry the partials as formulas (``b + 1``) and the
sum over paths is written out symbolically.  matplotlib draws, networkx lays
the graph out in layers; no system binary is needed.
"""

import itertools
import math
import os
import warnings
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import sympy

from .api import formula_node, formula_text, is_count, one_formula, point_values
from .graph import Graph
from .lower import input_identifiers, lower, to_float
from .program import interpret
from .rules import local_partials

_SYMBOLS = {"Add": "+", "Mul": "×", "Pow": "^", "Abs": "abs", "ceiling": "ceil", "Cbrt": "cbrt",
            "Heaviside": "heaviside", "Max": "max", "Min": "min"}
MAX_PATHS = 24
#: Largest graph show_graph draws by default: beyond, the picture is unreadable
#: (and networkx takes minutes).
MAX_NODES = 150


@dataclass
class GraphPicture:
    """What :func:`show_graph` drew, as data (tests and notebooks read it)."""

    labels: dict          # node -> label text
    values: dict          # node -> value at the point ({} without a point)
    edges: dict           # (argument, user) -> local partial derivative value ({} without a point)
    paths: list           # highlighted paths: lists of nodes, input first
    path_products: list   # product of edge derivatives along each path (as formulas without a point)
    derivative: float     # d output / d highlighted input (the sum over all paths; None without a point or a highlight)
    equation: str         # e.g. "∂f/∂b = 1·2 + 1·3 = 5", or "∂f/∂b = (b + 1) + (a + b)"
    figure: object = None
    partials: dict = None  # (argument, user) -> the local partial as a formula, e.g. "b + 1"


def _fmt(x):
    if isinstance(x, float) and math.isfinite(x) and x == int(x) and abs(x) < 1e6:
        return str(int(x))
    return f"{x:.4g}"


def graph_partials(f, max_nodes=None):
    """(graph, root, nodes, partials) of formula ``f``: the nodes drawn, and for each edge
    (argument, user) the node of the local partial d user / d argument.  A graph of more
    than ``max_nodes`` nodes is a ValueError, raised before any partial is built."""
    g = Graph()
    root = formula_node(g, f)
    # constants are drawn inside their users' labels; a constant formula is one node
    nodes = [v for v in g.reachable([root]) if not g.is_constant(v) or v == root]
    if max_nodes is not None and len(nodes) > max_nodes:
        raise ValueError(f"the graph of {formula_text(f, 60)} has {len(nodes)} nodes, too many to draw "
                         f"readably (limit {max_nodes}: max_nodes=, --max-nodes on the command line)")
    partials = {}
    for v in nodes:
        if g.args[v]:
            for arg, p in zip(g.args[v], local_partials(g, v)):
                if not g.is_constant(arg):
                    p = p if p is not None else g.zero
                    # x*x uses x twice: one edge, carrying the sum of both partials (x + x)
                    partials[(arg, v)] = g.add(partials[(arg, v)], p) if (arg, v) in partials else p
    return g, root, nodes, partials


def graph_values(g, nodes, partials, at):
    """(values, edges): each node's value and each edge's partial at the point ``at``."""
    symbols = g.symbols()        # the formula's variables, drawn or folded away (x - x)
    point = point_values(at, [s.name for s in symbols], "show_graph: at=")
    idents = input_identifiers([s.name for s in symbols])
    wanted = list(nodes) + list(partials.values())
    program = lower(g, wanted, [(g.symbol(s), i) for s, i in zip(symbols, idents)], "values",
                    [str(k) for k in range(len(wanted))])
    results = [float(x) for x in interpret(program, *point)]
    return dict(zip(nodes, results[:len(nodes)])), dict(zip(partials, results[len(nodes):]))


_EDGE_FORMULA_LIMIT = 24     # characters of a partial drawn on an edge (longer ones are cut)
_EQUATION_LIMIT = 160        # characters of a symbolic path sum written under the picture


def _formulas(g, partials):
    """Each edge's local partial as text (SymPy's spelling, ``^`` for powers), cut where
    longer than an equation shows: a partial such as cos(e) of a formula that shares its parts
    is a huge tree, and str() of it hung the picture of 30 rounds of e = sin(e) + e*y."""
    keys = list(partials)
    texts = [formula_text(e, 2 * _EQUATION_LIMIT).replace("**", "^")
             for e in g.to_sympy([partials[k] for k in keys])]
    return dict(zip(keys, texts))


def _short(text):
    return text if len(text) <= _EDGE_FORMULA_LIMIT else text[:_EDGE_FORMULA_LIMIT - 1] + "…"


def _factor(text):
    """``text`` as a factor of a product or a term of a sum of products: parenthesised if it
    is a sum or negative at its top level (``b + 1``, ``-sin(x)``; not ``cos(x + y)``)."""
    depth = 0
    for k, c in enumerate(text):
        depth += (c == "(") - (c == ")")
        if depth == 0 and (c == "-" and k == 0 or c in "+-" and text[k - 1:k + 2] in (" + ", " - ")):
            return f"({text})"
    return text


def _symbolic_product(path, formulas):
    """The product of the partials along ``path``, 1s left out."""
    factors = [formulas[(a, b)] for a, b in itertools.pairwise(path)]
    if "0" in factors:
        return "0"
    kept = [t for t in factors if t != "1"]
    if len(kept) <= 1:
        return kept[0] if kept else "1"
    return "·".join(_factor(t) for t in kept)


def _label(g, v):
    kind = g.kind[v]
    if kind == "Symbol":
        return g.data[v].name
    if g.is_constant(v):
        return _fmt(to_float(g.data[v])) if kind == "Number" else str(g.data[v])
    op = _SYMBOLS.get(kind, kind)
    constants = [_fmt(to_float(g.data[a])) if g.kind[a] == "Number" else str(g.data[a])
                 for a in g.args[v] if g.is_constant(a)]
    if kind == "Mul" and constants == ["-1"]:
        return "negate"
    if kind == "Pow" and constants and g.is_constant(g.args[v][1]):
        return f"^{constants[0]}"
    return op + (" " + ", ".join(constants) if constants else "")


def _paths(g, source, root, users):
    """All paths from ``source`` up to ``root`` (at most MAX_PATHS + 1 are collected)."""
    found, stack = [], [[source]]
    while stack and len(found) <= MAX_PATHS:
        path = stack.pop()
        if path[-1] == root:
            found.append(path)
            continue
        for u in reversed(users.get(path[-1], [])):
            stack.append(path + [u])
    return found


def _path_sum(nodes, edges, source, root):
    """The sum over all paths from ``source`` to ``root`` of the products of edge values,
    by one reverse sweep (what reverse mode computes) rather than path by path."""
    into = {}
    for (arg, user), d in edges.items():
        into.setdefault(user, []).append((arg, d))
    adjoint = dict.fromkeys(nodes, 0.0)
    adjoint[root] = 1.0
    for v in sorted(nodes, reverse=True):          # ascending id is a topological order
        for arg, d in into.get(v, ()):
            adjoint[arg] += adjoint[v] * d
    return adjoint[source]


def _layers(g, nodes, layer):
    """``{layer: its nodes, left to right}``, each layer sorted by the mean place of its
    arguments in the layers below (the barycenter step of Sugiyama's layout): fewer edges cross."""
    layers = {}
    for v in nodes:
        layers.setdefault(layer[v], []).append(v)
    place = {}

    def barycenter(v):
        below = [place[a] for a in g.args[v] if a in place]
        return sum(below) / len(below) if below else 0.5
    for k in sorted(layers):
        members = layers[k]
        members.sort(key=barycenter)        # stable: ties keep id order
        for i, v in enumerate(members):
            place[v] = (i + 0.5) / len(members)
    return layers


#: matplotlib's backends that only write files (matplotlib.backends.BackendFilter.NON_INTERACTIVE)
_FILE_BACKENDS = frozenset({"agg", "cairo", "pdf", "pgf", "ps", "svg", "template"})


def _check_picture_path(path):
    """A ValueError or FileNotFoundError unless matplotlib can write a picture to ``path``."""
    from matplotlib.backend_bases import FigureCanvasBase
    path = Path(path)
    formats = FigureCanvasBase.get_supported_filetypes()
    if path.suffix.lower().lstrip(".") not in formats:
        raise ValueError(f"cannot write a picture to {str(path)!r}: its extension gives the format, one of "
                         f"{', '.join('.' + f for f in sorted(formats))}")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"no such directory: {str(path.parent)!r}")


def _highlighted_name(highlight):
    """The name of the variable to highlight: given as its name or its SymPy symbol."""
    if highlight is None or isinstance(highlight, str):
        return highlight
    if isinstance(highlight, sympy.Symbol):
        return highlight.name
    raise TypeError(f"show_graph: highlight takes one variable, its name or SymPy symbol, not "
                    f"{type(highlight).__name__}: {highlight!r}")


def show_graph(f, at=None, highlight=None, path=None, ax=None, title=None, max_nodes=MAX_NODES):
    """Draw the computational graph of ``f``, at the point ``at`` if one is given.

    >>> pic = show_graph("(a + b) * (b + 1)", at={"a": 2, "b": 1}, highlight="b")
    >>> pic.equation
    '∂f/∂b = 1·2 + 1·3 = 5'
    >>> show_graph("(a + b) * (b + 1)", highlight="b").equation
    '∂f/∂b = (b + 1) + (a + b)'

    ``highlight`` names an input whose paths to the output are drawn in
    colour with their products; ``path`` saves the picture (``.svg``,
    ``.png``, ``.pdf``).  With ``at`` (a dict giving every variable) the nodes
    show their values and the edges the local partials' values; without it
    the edges show the partials as formulas.  Returns a :class:`GraphPicture`.
    A graph of more than ``max_nodes`` nodes is refused (a ValueError): it
    would not be readable.
    """
    one_formula(f, "show_graph", "it draws one; call it once for each")
    highlight = _highlighted_name(highlight)
    if not is_count(max_nodes):
        raise ValueError(f"show_graph: max_nodes must be a whole number of nodes, 1 or more, not {max_nodes!r}")
    if not (path is None or isinstance(path, (str, os.PathLike)) or hasattr(path, "write")):
        raise TypeError(f"show_graph: path must be a file name (str or pathlib.Path) or a file opened "
                        f"for writing, not {type(path).__name__}")
    import matplotlib
    import matplotlib.axes
    if ax is not None and not isinstance(ax, matplotlib.axes.Axes):
        raise TypeError(f"show_graph: ax must be a matplotlib Axes (fig, ax = plt.subplots()), "
                        f"not {type(ax).__name__}")
    if isinstance(path, (str, os.PathLike)):
        _check_picture_path(path)           # before drawing: a bad name costs nothing
    if path is not None and ax is None:
        matplotlib.use("Agg", force=False)
    import matplotlib.pyplot as plt
    import networkx as nx

    g, root, nodes, partials = graph_partials(f, max_nodes)
    values, edges = graph_values(g, nodes, partials, at) if at is not None else ({}, {})
    formulas = _formulas(g, partials)
    labels = {v: _label(g, v) for v in nodes}
    users = {}
    for arg, v in partials:
        users.setdefault(arg, []).append(v)

    paths, products, equation, derivative = [], [], "", None
    if highlight is not None:
        source = next((v for v in nodes if g.kind[v] == "Symbol" and g.data[v].name == highlight), None)
        if source is None and highlight not in (s.name for s in g.symbols()):
            raise ValueError(f"{highlight!r} is not a variable of {formula_text(f, 60)}")
        paths = _paths(g, source, root, users) if source is not None else []   # x - x: x is not drawn
        if at is None:
            products = [_symbolic_product(p, formulas) for p in paths]
            terms = " + ".join(_factor(t) for t in products) if len(products) > 1 else "".join(products)
            if len(paths) > MAX_PATHS or len(terms) > _EQUATION_LIMIT:
                count = f"more than {MAX_PATHS}" if len(paths) > MAX_PATHS else str(len(paths))
                equation = (f"∂f/∂{highlight} = the sum over {count} paths of the products of their "
                            "edges' partials (too long to write out; at= gives numbers)")
            else:
                equation = f"∂f/∂{highlight} = {terms}"
        else:
            products = [float(np.prod([edges[(a, b)] for a, b in itertools.pairwise(p)])) for p in paths]
            derivative = float(_path_sum(nodes, edges, source, root)) if paths else 0.0   # all paths
            if 0 < len(paths) <= MAX_PATHS:
                terms = " + ".join("·".join(_fmt(edges[(a, b)]) for a, b in itertools.pairwise(p)) or "1"
                                   for p in paths)
                total = _fmt(derivative)
                # one path of one edge (x*y at y = 2) is its own sum: "= 2", not "= 2 = 2"
                equation = f"∂f/∂{highlight} = {terms}" + ("" if terms == total else f" = {total}")
            else:
                equation = f"∂f/∂{highlight} = {_fmt(derivative)} (more than {MAX_PATHS} paths)"
        if not paths:
            derivative = None if at is None else 0.0
            equation = f"∂f/∂{highlight} = 0 (no path)"

    # layers: longest distance from the leaves, inputs at the bottom
    layer = {}
    for v in nodes:
        layer[v] = 1 + max((layer[a] for a in g.args[v] if a in layer), default=-1)
    G = nx.DiGraph()
    G.add_nodes_from(nodes)
    G.add_edges_from(partials)
    layers = _layers(g, nodes, layer)       # networkx places a layer's list left to right
    pos = nx.multipartite_layout(G, subset_key=layers, align="horizontal")

    width = max(4.0, 1.6 * max(map(len, layers.values())))
    own_figure = ax is None
    if own_figure:
        fig, ax = plt.subplots(figsize=(width, 1.5 + 1.3 * (max(layer.values()) + 1)))
    else:
        fig = ax.figure
    on_path = {(a, b) for p in paths for a, b in itertools.pairwise(p)}
    nx.draw_networkx_edges(G, pos, ax=ax, edgelist=[e for e in G.edges if e not in on_path],
                           edge_color="#999999", arrows=True, arrowsize=14, node_size=2600)
    nx.draw_networkx_edges(G, pos, ax=ax, edgelist=sorted(on_path), edge_color="#d62728", width=2.5,
                           arrows=True, arrowsize=16, node_size=2600)
    colors = ["#ffe0b2" if g.kind[v] == "Symbol" else ("#c8e6c9" if v == root else "#e3f2fd")
              for v in G.nodes]
    nx.draw_networkx_nodes(G, pos, ax=ax, node_color=colors, node_size=2600, edgecolors="#555555")
    nx.draw_networkx_labels(G, pos, ax=ax, font_size=9,
                            labels={v: f"{labels[v]}\n= {_fmt(values[v])}" if values else labels[v]
                                    for v in G.nodes})
    edge_labels = ({e: _fmt(d) for e, d in edges.items()} if at is not None
                   else {e: _short(t) for e, t in formulas.items()})
    # half a layer above the argument: the middle of an edge, or on one spanning several
    # layers a point next to its argument (its middle would sit beside another node)
    for (a, b), text in edge_labels.items():
        t = 0.5 / max(layer[b] - layer[a], 1)
        (xa, ya), (xb, yb) = pos[a], pos[b]
        ax.text(xa + t * (xb - xa), ya + t * (yb - ya), text, fontsize=8, color="#b71c1c", ha="center",
                va="center", bbox={"boxstyle": "round", "fc": "white", "ec": "none"}, zorder=3)
    point = ", ".join(f"{k}={_fmt(float(x))}" for k, x in (at or {}).items())
    ax.set_title(title or formula_text(f, 80) + (f"\nat {point}" if point else ""), fontsize=10)
    if equation:
        ax.text(0.5, -0.04, equation, transform=ax.transAxes, ha="center", va="top", fontsize=11,
                color="#d62728")
    ax.axis("off")
    ax.margins(0.18)
    with warnings.catch_warnings():     # a wide graph's labels may not fit: drawn anyway
        warnings.simplefilter("ignore", UserWarning)
        fig.tight_layout()
    if path is not None:
        try:
            fig.savefig(path, bbox_inches="tight")
        finally:
            if own_figure and matplotlib.get_backend().lower() in _FILE_BACKENDS:
                # saved (or not: a full disk), with no window to show it in: pyplot need not keep
                # it (pictures drawn in a loop would pile up); the returned picture still holds it
                plt.close(fig)
    return GraphPicture(labels, values, edges, paths, products, derivative, equation, fig, formulas)
