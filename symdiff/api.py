"""The public API: ``diff``, ``grad``, ``value_and_grad``, ``jacobian``, ``hessian``.

Each entry point takes formulas as text or SymPy expressions, builds the
derivative nodes in one shared graph (forward or reverse mode), lowers them
to a straight-line program, optimises and prints it, and returns a callable
compiled by the chosen backend.
"""

import contextlib
import copy
import gc
import itertools
import math
import numbers
import os
from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace

import numpy as np
import sympy

from . import printing
from .checkpoint import checkpoint as checkpoint_program
from ._warn import warn
from .compile import load_module
from .forward import directional, tangents
from .graph import Graph, by_name, highest_id, printable
from .lower import input_identifiers, lower
from .ops import RESERVED_NAMES, numpy_sources_for
from .parse import ParseError, parse_to_graph
from .program import check
from .reverse import adjoints, cotangents, sweep

MODES = ("auto", "forward", "reverse")
BACKENDS = ("numba", "python", "cuda")


# -- formulas and variables ----------------------------------------------------------
def formula_node(graph, formula):
    """Intern a formula (text, SymPy expression or number) into ``graph``."""
    if isinstance(formula, str):
        return parse_to_graph(formula, graph)
    if isinstance(formula, sympy.Basic) and not isinstance(formula, sympy.MatrixBase):
        if not isinstance(formula, sympy.Expr):
            raise TypeError(f"expected a SymPy expression, got {type(formula).__name__}: "
                            f"{formula_text(formula, 80)}")
        return graph.from_sympy(formula)
    if isinstance(formula, (int, float)) and not isinstance(formula, bool):
        return graph.number(formula)
    if isinstance(formula, (list, tuple, sympy.MatrixBase)):
        hint = "; several formulas make a jacobian"
    elif callable(formula):         # used to jax.grad(f): symdiff reads formulas, it never runs code
        hint = "; symdiff differentiates formulas, not Python functions: pass the formula as text, e.g. \"x^2*sin(y)\""
    elif isinstance(formula, (bytes, bytearray)):
        hint = "; decode it first: formula.decode()"
    elif isinstance(formula, os.PathLike):
        hint = f"; to use the formula in {os.fspath(formula)!r}, read it: pathlib.Path(...).read_text()"
    else:
        hint = ""
    raise TypeError(f"a formula must be a str or a SymPy expression, not {type(formula).__name__}{hint}")


def one_formula(f, what, hint):
    """Refuse several formulas where ``what`` takes one, saying what to do instead (``hint``):
    formula_node's own message points to jacobian, which suits grad but not every caller."""
    if isinstance(f, (list, tuple, sympy.MatrixBase)):
        raise TypeError(f"{what} takes one formula, not a {type(f).__name__}: {hint}")


def formula_list(fs, what):
    """One formula, or several (a list, a tuple, a SymPy row or column vector), as a list."""
    if isinstance(fs, sympy.MatrixBase):
        if min(fs.shape) > 1:
            raise ValueError(f"{what} takes a vector of formulas; this Matrix is {fs.shape[0]}x{fs.shape[1]}: "
                             "pass list(M) to take its entries row by row")
        fs = list(fs)
    elif isinstance(fs, (str, sympy.Basic)) or not isinstance(fs, Iterable):
        fs = [fs]
    elif isinstance(fs, (set, frozenset, Mapping)):
        # a set has no order to give the rows, and a dict's iteration gives its keys
        hint = " (it would give its keys): pass list(d.values())" if isinstance(fs, Mapping) else ""
        raise TypeError(f"{what} takes a list (or tuple) of formulas, in the order the rows should come, "
                        f"not a {type(fs).__name__}{hint}")
    else:
        fs = list(fs)
    if not fs:
        raise ValueError(f"{what} needs at least one formula")
    return fs


_SORTED_PRINT_NODES = 1000   # SymPy's str sorts a sum's terms at a cost that grows faster than n
_PRINT_DEPTH = 100           # and recurses, about five frames a level
_CUT = sympy.Symbol("...")


def _sympy_prefix(expr, nodes, depth):
    """``expr`` cut to its first ``nodes`` nodes in preorder and ``depth`` levels, what is cut
    printing as ``...``; None when nothing is cut.

    The walk is over the tree, so a subexpression counts each time it appears, and it is
    iterative: a SymPy expression with heavy sharing (``e = sin(e) + e*y`` thirty times) is
    a tree of 5 x 10^9 nodes, which SymPy's printer walks whole, and one 3,000 levels deep
    overflows the recursion of its printer and of ``preorder_traversal``.
    """
    exprs, parents = [expr], [-1]
    stack = [(a, 0, 1) for a in reversed(expr.args)]
    cut = False
    while stack:
        e, parent, level = stack.pop()
        if len(exprs) >= nodes or level > depth:
            cut = True
            if len(exprs) >= nodes:
                break
            continue
        i = len(exprs)
        exprs.append(e)
        parents.append(parent)
        stack.extend((a, i, level + 1) for a in reversed(e.args))
    if not cut:
        return None
    kept = [[] for _ in exprs]           # each node's rebuilt arguments, a prefix of its args
    built = [None] * len(exprs)
    for i in range(len(exprs) - 1, -1, -1):
        e = exprs[i]
        args = kept[i][::-1]
        if len(args) == len(e.args) and all(a is b for a, b in zip(args, e.args)):
            built[i] = e
        else:
            args += [_CUT] * (len(e.args) - len(args))
            try:
                built[i] = e.func(*args, evaluate=False)
            except Exception:      # a class that takes no evaluate=, or no ... argument
                built[i] = _CUT
        if parents[i] >= 0:
            kept[parents[i]].append(built[i])
    return built[0]


def formula_text(formula, limit=300):
    """A formula as one line for titles and messages, cut at ``limit`` characters.

    A SymPy expression of more than ``_SORTED_PRINT_NODES`` nodes or
    ``_PRINT_DEPTH`` levels prints its first nodes alone (see _sympy_prefix), its
    terms in SymPy's internal order: sorting them as ``str`` does took 20 s on a
    sum of 20,000 terms, for a title that shows the first 300 characters.
    """
    if isinstance(formula, str):
        text = formula
    elif not isinstance(formula, sympy.Basic):     # a number: sd.grad(3)
        text = str(formula)
    else:
        prefix = _sympy_prefix(formula, _SORTED_PRINT_NODES, _PRINT_DEPTH)
        text = str(formula) if prefix is None else sympy.sstr(prefix, order="none")
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit - 5] + " ..."


def _euler_hint(missing):
    """For a missing variable named e: the formula probably meant Euler's number."""
    return "; e is a variable here: Euler's number is E, as in E^x or exp(x)" if "e" in missing else ""


def _variables_text(names, unmentioned, wrt):
    """``names`` for a message: "the formula's variables: x, y", and "; --wrt adds z" for
    names that only wrt gives (the formula does not mention them)."""
    extra = set(unmentioned)
    own = [name for name in names if name not in extra]
    text = f"the formula's variables: {printing.listing(own)}" if own else "the formula has no variables"
    if extra:
        text += f"; {wrt} adds {printing.listing([name for name in names if name in extra])}"
    return text


def point_values(at, names, where, unmentioned=()):
    """The values the dict ``at`` gives the variables ``names``, as floats, in that order.

    A TypeError unless ``at`` gives exactly those variables, each a real
    number.  ``where`` starts the message: ``"show_graph: at="`` in the
    library, ``"--at"`` on the command line.  A value for a name the formula
    does not have is an error, not ignored: it is usually a typo for one that
    is missing.  ``unmentioned``: the names among ``names`` that only wrt
    gives (``Problem.unmentioned``), which the message lists apart from the
    formula's own.
    """
    if not isinstance(at, dict):
        raise TypeError(f"{where} must be a dict of variable values, e.g. {{'x': 1.0}}, "
                        f"not a {type(at).__name__}")
    variables = _variables_text(names, unmentioned, "--wrt" if where.startswith("--") else "wrt")
    missing = [name for name in names if name not in at]
    known = set(names)
    unknown = [name for name in at if name not in known]
    strangers = (f"{printing.listing(map(repr, unknown))}, which "
                 f"{'is not a variable' if len(unknown) == 1 else 'are not variables'}")
    if missing:
        # a name given in place of a missing one is most often a typo of it: X for x
        raise TypeError(f"{where} needs a value for {printing.listing(map(repr, missing))} ({variables})"
                        + (f"; it gives {strangers}" if unknown else "") + _euler_hint(missing))
    if unknown:
        raise TypeError(f"{where} gives {strangers} of the formula ({variables})")
    values = []
    for name in names:
        value = at[name]
        number = _real_array(value) if not isinstance(value, str) else None
        if number is None or number.shape != ():
            raise TypeError(f"{where} gives {name} = {formula_text(repr(value), 60)}; it must be a real number")
        values.append(float(number))
    return values


def _as_symbol(item, known):
    if isinstance(item, sympy.Symbol):
        return item
    if isinstance(item, str):
        name = item.strip()
        if name in known:
            return known[name]
        if not name.isidentifier():
            several = len(name.split()) > 1 and all(part.isidentifier() for part in name.split())
            raise ValueError(f"{item!r} is not a variable name" +
                             ("; separate names with commas: 'x,y' or ['x', 'y']" if several else ""))
        if name in RESERVED_NAMES:
            raise ValueError(f"{name!r} is a function or constant of the language, not a variable")
        return sympy.Symbol(name)
    raise TypeError(f"wrt entries must be names or SymPy symbols, not {type(item).__name__}")


def resolve_variables(free, wrt):
    """``(wrt symbols, inputs in call order)`` from the formulas' free symbols and ``wrt``."""
    _check_distinct_names(free)         # first: else wrt=[x, x'] would read "wrt names x more than once"
    known = {s.name: s for s in free}
    if wrt is None:
        wrt_syms = list(free)
    else:
        if isinstance(wrt, (str, sympy.Symbol)):
            wrt = [w for w in wrt.split(",")] if isinstance(wrt, str) else [wrt]
        if isinstance(wrt, (set, frozenset, dict)) or not hasattr(wrt, "__iter__"):
            # a set has no order to give the gradient's entries
            raise TypeError(f"wrt must be a list (or tuple) of names or SymPy symbols, in the order "
                            f"the derivatives should come, not a {type(wrt).__name__}")
        wrt_syms = [_as_symbol(w, known) for w in wrt]
        if not wrt_syms:
            raise ValueError("wrt is empty: name at least one variable to differentiate with respect to")
    names = Counter(s.name for s in wrt_syms)
    dupes = sorted(n for n, k in names.items() if k > 1)
    if dupes:
        raise ValueError(f"wrt names {', '.join(dupes)} more than once")
    chosen = set(wrt_syms)
    rest = sorted((s for s in free if s not in chosen), key=lambda s: s.name)
    inputs = wrt_syms + rest
    _check_distinct_names(inputs)      # a wrt symbol named like one of the formula's, but not it
    return wrt_syms, inputs


def _check_distinct_names(symbols):
    """Inputs are called by name: two symbols of one name (x, and x with positive=True)
    cannot both be inputs."""
    clash = sorted(n for n, k in Counter(s.name for s in symbols).items() if k > 1)
    if clash:
        raise ValueError(f"two different SymPy symbols are both named {clash[0]!r} (different "
                         "assumptions?); inputs are called by name: rename one")


@dataclass
class Problem:
    """Formulas interned in one graph, with their variables resolved."""

    graph: Graph
    roots: list
    wrt: list            # SymPy symbols
    inputs: list         # SymPy symbols, call order
    texts: list
    unmentioned: tuple = ()   # wrt symbols no formula mentions (inputs all the same)
    # {symbol: node} of the formulas' symbols, as prepare found them (nodes are never removed)
    symbol_nodes: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def wrt_nodes(self):
        return self._nodes_of(self.wrt)

    def input_pairs(self):
        idents = input_identifiers([s.name for s in self.inputs])
        return list(zip(self._nodes_of(self.inputs), idents))

    def _nodes_of(self, symbols):
        """The nodes of ``symbols``, made for any the formulas do not mention."""
        known, symbol = self.symbol_nodes, self.graph.symbol
        return [node if (node := known.get(s)) is not None else symbol(s) for s in symbols]


def prepare(formulas, wrt):
    graph = Graph()
    roots = []
    for k, f in enumerate(formulas):
        try:
            roots.append(formula_node(graph, f))
        except (TypeError, ValueError) as e:
            if len(formulas) == 1:
                raise
            raise _in_formula(e, k, len(formulas)) from None
    # the variables the formulas mention, even one that folding removed: the gradient of
    # "x - x" is 0 with respect to x, which is still an input
    nodes = graph.symbol_nodes()
    free = by_name(nodes)       # graph.symbols(), from the one scan
    wrt_syms, inputs = resolve_variables(free, wrt)
    return Problem(graph, roots, wrt_syms, inputs, [formula_text(f) for f in formulas],
                   tuple(s for s in wrt_syms if s not in nodes), nodes)


def _in_formula(error, k, count):
    """``error`` about formula ``k`` of ``count``, saying which one it is: the formula at
    fault is not always the one a message shows (an empty one shows nothing)."""
    where = f"formula {k + 1} of {count}"
    if isinstance(error, ParseError):
        reason = f"{where} is empty" if error.reason == "the formula is empty" else f"{where}: {error.reason}"
        return ParseError(reason, error.text, error.position, formula_index=k)
    if type(error) in (TypeError, ValueError):
        return type(error)(f"{where}: {error}")
    return error


# -- the cost model ------------------------------------------------------------------
def _union(x, y):
    """The union of two sets of small integers held as ``(lowest, bits)``: bit ``k`` of
    ``bits`` stands for ``lowest + k``.  None is the empty set."""
    if x is None:
        return y
    if y is None or x is y:
        return x
    (a, p), (b, q) = x, y
    if a == b:
        return a, p | q
    return (a, p | (q << (b - a))) if a < b else (b, q | (p << (a - b)))


def cost_estimates(graph, outputs, wrt_nodes):
    """Work of each mode: sum over active nodes of arity x directions carried.

    Forward mode carries one tangent per input that a node depends on;
    reverse mode one adjoint per output the node feeds.  Symbolic zeros cost
    nothing, so sparse dependencies make either mode cheaper.

    The sets are bit masks, each dropped once no node still to come needs it:
    down a long sum every link's mask holds every input below it, and keeping
    them all took 9 GB at 10^5 inputs.  A mask starts at its lowest member
    (see _union): output i's own set {i} as the int 1 << i took the time of i
    bits at every step, and a banded system of 10^5 residuals 6 s.
    """
    args = graph.args
    order = graph.reachable(outputs)
    # reverse: the outputs each node feeds, counted as the walk back completes its mask
    outmask, feeds = {}, {}
    for i, o in enumerate(outputs):
        outmask[o] = _union(outmask.get(o), (i, 1))
    for v in reversed(order):
        m = outmask.pop(v, None)
        if m is not None:
            feeds[v] = m[1].bit_count()
            for a in args[v]:
                outmask[a] = _union(outmask.get(a), m)
    # forward: the inputs each node depends on (bits in id order keep the early masks short)
    uses = dict.fromkeys(order, 0)
    for v in order:
        for a in args[v]:
            uses[a] += 1
    inmask = {x: (j, 1) for j, x in enumerate(sorted(wrt_nodes))}
    forward = reverse = 0
    for v in order:
        m = inmask.get(v)
        for a in args[v]:
            m = _union(m, inmask.get(a))
            uses[a] -= 1
            if not uses[a]:
                inmask.pop(a, None)
        if m is not None and args[v]:
            if uses[v]:
                inmask[v] = m
            if v in feeds:
                forward += len(args[v]) * m[1].bit_count()
                reverse += len(args[v]) * feeds[v]
    return forward, reverse


#: Up to this much estimated work (cost_estimates, the larger of the two) ``mode="auto"``
#: builds both programs and keeps the one of fewer operations: the estimate counts arity x
#: directions, not the optimized program (which drops a sum's pass-throughs, shares partials
#: and folds unit seeds), and picked the longer program in 11 of 300 random formulas.  Up to
#: here a build takes tens of milliseconds (a banded Jacobian of 3,000 residuals, estimated
#: 63,000: 62 ms forward, 73 ms reverse; numba's compile of it takes far longer); beyond it
#: the estimate decides, as building twice would double the time.
EXACT_PICK_WORK = 50_000


def cheaper_mode(forward, reverse, inputs, outputs, ops=None):
    """The cheaper mode: by ``ops`` (forward's and reverse's optimized operation counts) when
    given and they differ, else by the cost model's estimates ``forward`` and ``reverse``; on
    a tie of both, forward when inputs <= outputs."""
    if ops is not None and ops[0] != ops[1]:
        return "forward" if ops[0] < ops[1] else "reverse"
    if forward < reverse or (forward == reverse and inputs <= outputs):
        return "forward"
    return "reverse"


def builds_both(inputs, outputs, estimates):
    """Whether mode="auto" builds both programs to pick (see EXACT_PICK_WORK); never for one
    output of several inputs, a gradient, which is reverse mode's by any count."""
    return not (outputs == 1 and inputs > 1) and max(estimates) <= EXACT_PICK_WORK


def _check_backend(backend):
    if backend not in BACKENDS:
        raise ValueError(f"backend must be one of {', '.join(map(repr, BACKENDS))}, not {backend!r}")


def is_count(value):
    """Whether ``value`` is a whole number of things, 1 or more (True is not one)."""
    return isinstance(value, numbers.Integral) and not isinstance(value, bool) and value >= 1


def check_flag(value, name):
    """Refuse a switch that is not True or False: sparse="no" is a non-empty string, which
    Python takes as true (a sparse result, silently)."""
    if not isinstance(value, (bool, np.bool_)):
        raise TypeError(f"{name} must be True or False, not {value!r}")


def _check_mode(mode):
    if mode not in MODES:
        raise ValueError(f"mode must be one of {', '.join(map(repr, MODES))}, not {mode!r}")


def derivative_nodes(graph, roots, wrt_nodes, mode, ranks=None):
    """``{(i, j): node}``: the nonzero d roots[i] / d wrt[j], by ``mode`` (forward mode
    fills ``ranks``, when given, for :func:`~symdiff.lower.lower`)."""
    cache = {}
    if mode == "forward":
        return tangents(graph, roots, wrt_nodes, cache, ranks)
    # one reverse sweep a row, each over its own cone: a sparse Jacobian's rows cost their
    # nonzeros, not the graph times the number of inputs
    active = graph.depends_on(range(highest_id(roots) + 1), wrt_nodes)
    column = {x: j for j, x in enumerate(wrt_nodes)}
    found = {}
    for i, root in enumerate(roots):
        for x, d in sweep(graph, [root], [graph.one], active, column, cache).items():
            found[i, column[x]] = d
    return found


# -- building programs ---------------------------------------------------------------
#: products with a direction, which comes in as more inputs (see _direction_symbols)
DIRECTIONAL = ("jvp", "vjp", "hvp")
KINDS = ("grad", "value_and_grad", "jacobian", "value_and_jacobian", "hessian") + DIRECTIONAL
#: the mode each directional kind is made in, by definition (hvp: its gradient's; forward over it)
_DIRECTIONAL_MODE = {"jvp": "forward", "vjp": "reverse"}
#: kinds made by forward mode over a gradient: of one formula, the gradient reverse unless asked
_OVER_GRADIENT = ("hessian", "hvp")
#: kinds that take several formulas
SEVERAL_FORMULAS = ("jacobian", "value_and_jacobian", "jvp", "vjp")
#: kinds that may be built sparse
SPARSE_KINDS = ("jacobian", "value_and_jacobian", "hessian")


@dataclass
class Built:
    """A derivative program with what the callable needs to know about it."""

    kind: str
    program: object
    problem: Problem
    mode: str
    blocks: list          # output block shapes, e.g. [(), (n,)]
    sparsity: tuple = None   # (rows, cols, shape) when the last block is a sparse matrix's nonzeros
    directions: int = 0      # jvp, vjp, hvp: how many of the last inputs are the direction's

    @property
    def how(self):
        """``mode``, or for a Hessian ``"forward-over-" + mode``."""
        return _how(self.kind, self.mode)


def _how(kind, mode):
    return f"forward-over-{mode}" if kind in _OVER_GRADIENT else mode


def _formula_names(m):
    """How the direction's inputs and labels name m formulas: ``f``, or ``f0``, ``f1`` ..."""
    return ["f"] if m == 1 else [f"f{i}" for i in range(m)]


def _direction_symbols(problem, kind):
    """The direction's inputs, in classic AD notation: a tangent ``x_dot`` per variable (jvp,
    hvp), or an adjoint ``f_bar`` per formula (vjp: ``f0_bar``, ``f1_bar`` ... for several);
    a name the formulas already use gets a ``_`` more."""
    if kind == "vjp":
        names = [f + "_bar" for f in _formula_names(len(problem.roots))]
    else:
        names = [f"{s.name}_dot" for s in problem.wrt]
    used = {s.name for s in problem.inputs}
    symbols = []
    for name in names:
        while name in used:
            name += "_"
        used.add(name)
        symbols.append(sympy.Symbol(name))
    return symbols


def build(kind, formulas, wrt=None, mode="auto", sparse=False, checkpoint=None, problem=None):
    """Build the derivative program of ``kind`` for ``formulas`` (a list).  ``problem``:
    ``prepare(formulas, wrt)`` made already; the build adds its nodes to that graph (give
    each build a graph of its own: ``replace(problem, graph=problem.graph.fork())``)."""
    with _gc_paused():
        return _build(kind, formulas, wrt, mode, sparse, checkpoint, problem)


def _build(kind, formulas, wrt, mode, sparse, checkpoint, problem=None):
    # arguments are checked before any work: building a large program takes seconds
    _check_mode(mode)
    if kind not in KINDS:
        raise ValueError(f"kind must be one of {', '.join(map(repr, KINDS))}, not {kind!r}")
    if sparse and kind not in SPARSE_KINDS:
        raise ValueError("sparse=True is for jacobian, value_and_jacobian and hessian")
    natural = _DIRECTIONAL_MODE.get(kind)
    if natural is not None and mode not in ("auto", natural):
        raise ValueError(f"a {kind} is one {natural} sweep by definition; mode must be 'auto' or "
                         f"{natural!r}, not {mode!r}")
    if kind in _OVER_GRADIENT and len(formulas) != 1:
        raise ValueError(f"a {kind} is of one formula, not {len(formulas)}")
    _check_checkpoint(checkpoint)
    if problem is None:
        problem = prepare(formulas, wrt)
    g, roots, xs = problem.graph, problem.roots, problem.wrt_nodes
    directions = _direction_symbols(problem, kind) if kind in DIRECTIONAL else []
    problem.inputs = problem.inputs + directions
    direction_nodes = [g.symbol(s) for s in directions]
    primal_limit = len(g)
    n = len(xs)
    names = [s.name for s in problem.wrt]
    if natural is not None:
        mode = natural
    elif mode == "auto":
        if kind in _OVER_GRADIENT or _wants_checkpoints(checkpoint):
            mode = "reverse"
        elif len(roots) == 1 and n > 1:
            mode = "reverse"          # one output: a gradient (see builds_both)
        else:
            estimates = cost_estimates(g, roots, xs)
            if not builds_both(n, len(roots), estimates):
                mode = cheaper_mode(*estimates, n, len(roots))
            else:
                # both programs; the shorter is the build
                both = _both_modes(kind, formulas, wrt, sparse, checkpoint, problem)
                ops = tuple(both[m].program.operation_count for m in ("forward", "reverse"))
                return both[cheaper_mode(*estimates, n, len(roots), ops)]
    if _wants_checkpoints(checkpoint) and mode != "reverse":
        raise ValueError(f"checkpointing trades memory in reverse mode; this is {mode} mode")
    # forward mode: each value is emitted next to its tangents (see forward.tangents)
    ranks = {} if mode == "forward" and kind not in _OVER_GRADIENT else None
    if kind in DIRECTIONAL:
        outputs, labels = _directional_outputs(kind, g, roots, xs, mode, direction_nodes, ranks, names)
        blocks, sparsity = [(len(outputs),)], None
    else:
        outputs, labels, blocks, sparsity = _matrix_outputs(kind, g, roots, xs, mode, sparse, ranks, names)
    what = {"grad": "Gradient", "value_and_grad": "Value and gradient", "jacobian": "Jacobian",
            "value_and_jacobian": "Values and Jacobian",
            "hessian": "Hessian", "jvp": "Jacobian-vector product", "vjp": "Vector-Jacobian product",
            "hvp": "Hessian-vector product"}[kind]
    # what a docstring says: long formulas (see formula_text) and lists of names are
    # shortened; the signature still lists every input
    subject = problem.texts[0] if len(problem.texts) == 1 else "[" + printing.listing(problem.texts) + "]"
    seeds = printing.listing((s.name for s in directions), 32)
    direction = ("" if not directions else f", the formulas weighted by {seeds}" if kind == "vjp"
                 else f" in the direction {seeds}")
    title = (f"{what} of {subject}\n"
             f"with respect to {printing.listing(names, 32)}{direction}, by {_how(kind, mode)} mode.\n"
             f"Inputs (call order): {printing.listing((s.name for s in problem.inputs), 32)}.")
    # lowering emits through optimize's Emitter: the program comes out optimized
    program = lower(g, outputs, problem.input_pairs(), kind, labels, title, primal_limit, ranks)
    if _wants_checkpoints(checkpoint):
        program = checkpoint_program(program, None if checkpoint is True else int(checkpoint))
    check(program)
    return Built(kind, program, problem, mode, blocks, sparsity, len(directions))


def both_modes(kind, formulas, wrt=None, sparse=False, problem=None):
    """``{"forward": Built, "reverse": Built}`` of ``kind`` from one parse (``problem``, or
    ``prepare(formulas, wrt)``): forward mode builds on a fork of its graph, reverse mode on
    the graph itself, so the two start from the same nodes and neither sees the other's."""
    with _gc_paused():
        if problem is None:
            problem = prepare(formulas, wrt)
        return _both_modes(kind, formulas, wrt, sparse, None, problem)


def _both_modes(kind, formulas, wrt, sparse, checkpoint, problem):
    forked = replace(problem, graph=problem.graph.fork())
    return {"forward": _build(kind, formulas, wrt, "forward", sparse, checkpoint, forked),
            "reverse": _build(kind, formulas, wrt, "reverse", sparse, checkpoint, problem)}


def _directional_outputs(kind, g, roots, xs, mode, direction_nodes, ranks, names):
    """(output nodes, labels) of a Jacobian-vector, vector-Jacobian or Hessian-vector product."""
    if kind == "vjp":        # one reverse sweep seeded with f_bar at every output
        return cotangents(g, roots, direction_nodes, xs), [f"{name}_bar" for name in names]
    seeds = dict(zip(xs, direction_nodes))
    if kind == "jvp":        # one forward sweep seeded with x_dot at every input
        labels = [f + "_dot" for f in _formula_names(len(roots))]
        return directional(g, roots, seeds, ranks=ranks), labels
    # hvp: forward mode in the direction over the gradient
    gradient = derivative_nodes(g, roots, xs, mode)
    return (directional(g, [gradient.get((0, j)) for j in range(len(xs))], seeds),
            [f"Hv_{name}" for name in names])


#: A dense Jacobian or Hessian of more entries than this is built with a warning: each entry,
#: zeros too, is an output of the program, about 200 bytes while it is built (a dense
#: 3,000 x 3,000 Hessian peaked at 1.9 GB), so 10^8 of them do not fit a machine of 24 GB.
DENSE_WARNING_ENTRIES = 10_000_000
DENSE_ENTRY_BYTES = 200     # what an entry of a dense build costs while it is built


class DenseMatrixWarning(UserWarning):
    """A Jacobian or Hessian is about to be built dense with more than DENSE_WARNING_ENTRIES
    entries.  ``what`` ("Jacobian" or "Hessian"), ``shape`` and ``nonzeros`` (structural)
    say which; the command line turns it into an error before the dense build."""

    def __init__(self, message, what=None, shape=None, nonzeros=None):     # defaults: it unpickles
        super().__init__(message)
        self.what, self.shape, self.nonzeros = what, shape, nonzeros

    @property
    def gigabytes(self):
        """About what the dense build would take."""
        return _dense_gigabytes(self.shape)


def _dense_gigabytes(shape):
    return shape[0] * shape[1] * DENSE_ENTRY_BYTES / 1e9


def _warn_dense(kind, shape, nonzeros):
    rows, cols = shape
    what = "Hessian" if kind == "hessian" else "Jacobian"
    warn(DenseMatrixWarning(
        f"symdiff: a dense {rows:,} x {cols:,} {what} has {rows * cols:,} entries, {nonzeros:,} of them "
        f"not structurally zero; built dense, every entry costs about {DENSE_ENTRY_BYTES} bytes and some "
        f"time (about {_dense_gigabytes(shape):.0f} GB here). sparse=True builds and returns the nonzeros alone "
        "(symdiff export: --sparse)", what, shape, nonzeros))


def _matrix_outputs(kind, g, roots, xs, mode, sparse, ranks, names):
    """(output nodes, labels, blocks, sparsity) of a gradient, Jacobian or Hessian."""
    n = len(xs)
    if kind == "hessian":
        gradient = derivative_nodes(g, roots, xs, mode)
        entries = _hessian_entries(g, [gradient.get((0, j), g.zero) for j in range(n)], xs)
        shape = (n, n)
    else:
        entries = derivative_nodes(g, roots, xs, mode, ranks)
        shape = (len(roots), n)
    if not sparse and kind in SPARSE_KINDS and shape[0] * shape[1] > DENSE_WARNING_ENTRIES:
        _warn_dense(kind, shape, len(entries))
    if sparse:
        pattern = sorted(entries)
        outputs = [entries[k] for k in pattern]
        blocks = [(len(pattern),)]
        sparsity = (tuple(i for i, _ in pattern), tuple(j for _, j in pattern), shape)
    else:
        outputs = [entries.get((i, j)) for i in range(shape[0]) for j in range(shape[1])]
        blocks = [(n,)] if kind in ("grad", "value_and_grad") else [shape]
        sparsity = None
        pattern = [(i, j) for i in range(shape[0]) for j in range(shape[1])]
    if kind == "hessian":
        labels = [f"d2f/d{names[i]}d{names[j]}" for i, j in pattern]
    elif kind in ("jacobian", "value_and_jacobian"):
        labels = [f"df{i}/d{names[j]}" for i, j in pattern]
        if kind == "value_and_jacobian":        # the values first, as value_and_grad's
            outputs = list(roots) + outputs
            labels = [f"f{i}" for i in range(len(roots))] + labels
            blocks = [(len(roots),)] + blocks
    else:
        labels = [f"df/d{names[j]}" for _, j in pattern]
        if kind == "value_and_grad":
            outputs = [roots[0]] + outputs
            labels = ["f"] + labels
            blocks = [()] + blocks
    return outputs, labels, blocks, sparsity


def _wants_checkpoints(checkpoint):
    return checkpoint is not None and checkpoint is not False     # 0 is an (invalid) length


def _check_checkpoint(checkpoint):
    if _wants_checkpoints(checkpoint) and not (
            checkpoint is True or (isinstance(checkpoint, numbers.Integral) and not isinstance(checkpoint, bool)
                                   and checkpoint >= 1)):
        raise ValueError("checkpoint must be True (segments of about sqrt(n) instructions), "
                         f"a segment length (an int >= 1), or None/False; got {checkpoint!r}")


def _hessian_entries(g, gradient, xs):
    """``{(i, j): node}`` of the Hessian: forward mode over the gradient nodes.

    The lower triangle is kept and mirrored, so H is exactly symmetric (both
    triangles are differentiated: a column's direction serves every row).  Each
    node carries tangents only in the directions it depends on, so a banded
    Hessian costs O(n).
    """
    entries = {}
    for (i, j), node in tangents(g, gradient, xs).items():
        if i >= j:
            entries[i, j] = entries[j, i] = node
    return entries


# -- the callable --------------------------------------------------------------------
_LATEX_NODES = 400      # largest graph whose formula a notebook view renders as LaTeX
_LATEX_TREE = 4000      # and largest as a tree: SymPy's form of a graph repeats what it shares
_LATEX_CHARS = 4000     # longest LaTeX it shows: a deep formula's derivative, as a tree, is huge
_LATEX_HESSIAN = 6      # most variables whose Hessian it shows as a matrix (else the gradient)


def _latex_parts(problem, wrt, kind):
    """The notebook view's formulas and derivatives as display LaTeX, where SymPy can and
    the result is short enough to read: first derivatives, or for a Hessian of up to
    ``_LATEX_HESSIAN`` variables the matrix of second derivatives."""
    def shown(latex):
        return latex if len(latex) <= _LATEX_CHARS else f"\\text{{({len(latex):,} characters of LaTeX, not shown)}}"
    # derivatives from the formula's own graph, as sd.diff takes them from text: its SymPy
    # form may not go back in (SymPy made mod(2, 0)*x nan, sqrt(z)/sqrt(-3) a multiple of I);
    # on a copy, which the derivative nodes join (the function's own graph stays as built)
    g = copy.deepcopy(problem.graph)
    xs = [g.symbol(s) for s in problem.wrt]
    try:
        exprs = g.to_sympy(problem.roots)
        parts = []
        for k, (root, expr) in enumerate(zip(problem.roots, exprs)):
            name = "f" if len(exprs) == 1 else f"f_{{{k}}}"
            parts.append(f"$${name} = {shown(sympy.latex(expr))}$$")
            firsts = adjoints(g, root, xs)
            if kind == "hessian" and len(wrt) <= _LATEX_HESSIAN:
                second = {}
                for i, j in itertools.combinations_with_replacement(range(len(wrt)), 2):
                    # symmetric, as computed
                    second[i, j] = second[j, i] = None if firsts[i] is None else adjoints(g, firsts[i], [xs[j]])[0]
                pairs = list(second)
                entries = dict(zip(pairs, g.to_sympy([second[p] for p in pairs])))
                matrix = sympy.Matrix([[entries[i, j] for j in range(len(wrt))] for i in range(len(wrt))])
                parts.append(f"$$\\nabla^2 {name} = {shown(sympy.latex(matrix))}$$")
                continue
            for w, d in zip(wrt, g.to_sympy(firsts)):
                parts.append(f"$$\\frac{{\\partial {name}}}{{\\partial {sympy.latex(w)}}} = {shown(sympy.latex(d))}$$")
        return parts
    # too deep for SymPy, or a constant its printer cannot write (the 4300-digit limit, an
    # OverflowError from mpmath): the source below still shows it
    except (ValueError, TypeError, ArithmeticError, AttributeError, RecursionError):
        return []


class CompiledFunction:
    """A compiled derivative: call it with keyword or positional arguments.

    Attributes: ``inputs`` (SymPy symbols, call order), ``wrt``, ``mode``,
    ``how`` (``mode``, or for a Hessian ``forward-over-`` it), ``backend``,
    ``source`` (the generated Python), ``program`` (the IR), ``module`` (the
    imported generated module), ``gufunc`` (numba only).
    """

    def __init__(self, built, backend, source, kernel, module, parallel=False, scalar=None):
        self.kind = built.kind
        # the graph is kept only where the notebook view will show it as LaTeX:
        # a big one would hold its memory as long as the function lives
        graph = built.problem.graph
        shown = (graph is not None and len(graph) <= _LATEX_NODES
                 and graph.tree_size(built.problem.roots, _LATEX_TREE) <= _LATEX_TREE)
        self._problem = built.problem if shown else None
        # what pickling keeps (see __reduce__): the program, without a graph too big to show
        self._built = replace(built, problem=replace(built.problem, graph=graph if self._problem else None))
        self._parallel = parallel
        self.program = built.program
        self.inputs = tuple(built.problem.inputs)
        self.wrt = tuple(built.problem.wrt)
        self._unmentioned = tuple(s.name for s in built.problem.unmentioned)
        self.mode = built.mode
        self.backend = backend
        self.source = source
        self.formulas = tuple(built.problem.texts)
        self._blocks = built.blocks
        self.sparsity = built.sparsity
        self._names = [s.name for s in self.inputs]
        self._index = {name: k for k, name in enumerate(self._names)}
        self._kernel = kernel
        self._scalar = scalar           # floats in call order -> the outputs (see __call__)
        # the last inputs of a jvp, vjp or hvp are the direction's (x_dot ... or f_bar ...)
        self._directions = built.directions
        self.module = module
        self.__name__ = built.kind

    @property
    def gufunc(self):
        """The batch kernel as a numpy gufunc (numba backend): one scalar output per output.

        Works with ``dask.array.apply_gufunc``; signature ``(),(),...->(),(),...``.
        """
        name = self.kind + "_gufunc"
        if self.backend != "numba" or "_" + name + "_kernel" not in vars(self.module):
            raise AttributeError(f"no gufunc: it exists for the numba backend's straight-line "
                                 f"programs (this is {self.backend}, {len(self.program.body)} lines)")
        return getattr(self.module, name)

    @property
    def gufunc_signature(self):
        """The gufunc's layout, e.g. ``"(),()->(),()"`` (for ``dask.array.apply_gufunc``)."""
        self.gufunc  # noqa: B018 -- raises where there is none
        return getattr(self.module, self.kind + "_gufunc_signature")

    def __repr__(self):
        formulas = formula_text(", ".join(self.formulas), 80)
        wrt = printing.listing(s.name for s in self.wrt) or "no variables"
        return (f"<symdiff {self.kind} of {formulas} wrt {wrt}"
                f" ({self.how} mode, {self.backend} backend)>")

    def __reduce__(self):
        """Pickled as its program, not its compiled code: unpickling (in a worker process of
        multiprocessing, joblib or dask) makes the module again from the same source, which
        the generated-module and numba caches of that machine usually already hold."""
        return _compiled_again, (self._built, self.backend, self._parallel)

    @property
    def how(self):
        """How the derivative is computed: ``mode``, or for a Hessian ``"forward-over-" + mode``."""
        return self._built.how

    def _repr_markdown_(self):
        """Notebook view: the formula and its derivatives in LaTeX, then the generated code."""
        problem = self._problem
        parts = [f"**symdiff {self.kind}** ({self.how} mode, {self.backend} backend), "
                 f"inputs `{printing.listing(self._names, 32)}`"]
        if problem is not None:          # big formulas stay out of LaTeX
            parts += _latex_parts(problem, self.wrt, self.kind)
        shown = self.source if len(self.source) <= 20_000 else self.source[:20_000] + "\n# ... (truncated)"
        parts.append("```python\n" + shown.rstrip() + "\n```")
        return "\n\n".join(parts)

    def _bind(self, args, kwargs):
        n = len(self._names)
        if len(args) > n:
            raise TypeError(f"{self.kind}() takes {n} argument{'s' if n != 1 else ''} "
                            f"({printing.listing(self._names)}) but {len(args)} were given")
        values = list(args) + [None] * (n - len(args))
        given = [True] * len(args) + [False] * (n - len(args))
        for key, value in kwargs.items():
            k = self._index.get(key)
            if k is None:
                inputs = f"its inputs are {printing.listing(self._names)}" if n else "it takes no inputs"
                raise TypeError(f"{self.kind}() got an unknown argument {key!r}; {inputs}")
            if given[k]:
                raise TypeError(f"{self.kind}() got multiple values for argument {key!r}")
            values[k] = value
            given[k] = True
        missing = [name for name, ok in zip(self._names, given) if not ok]
        if missing:
            raise TypeError(f"{self.kind}() is missing argument{'s' if len(missing) > 1 else ''} "
                            f"{printing.listing(map(repr, missing))} (inputs: {printing.listing(self._names)})"
                            + _euler_hint(missing))
        if self.backend == "cuda":          # a device array stays where it is
            return [value if hasattr(value, "__cuda_array_interface__") or _numba_device_array(value)
                    else _argument_array(name, value) for name, value in zip(self._names, values)]
        return [_argument_array(name, value) for name, value in zip(self._names, values)]

    def __call__(self, /, *args, **kwargs):     # /: a variable may be named self
        flat = self._at_numbers(args, kwargs)
        if flat is not None:
            shape = ()
        else:
            arrays = self._bind(args, kwargs)
            try:
                shape = np.broadcast_shapes(*(a.shape for a in arrays))
            except ValueError:
                raise ValueError(_broadcast_conflict(self._names, arrays)) from None
            if self.sparsity is not None and shape:
                raise ValueError(f"sparse=True gives one matrix per point: pass numbers, not arrays of "
                                 f"shape {shape}")
            flat = self._kernel(arrays, shape)            # (total outputs, *shape)
        return self._result(flat, shape)

    def _result(self, flat, shape):
        """The outputs stacked on axis 0 as the caller gets them: a sparse matrix, or the
        blocks (value, gradient ...) each in its own shape."""
        blocks = self._blocks
        if self.sparsity is not None:
            import scipy.sparse
            rows, cols, matrix_shape = self.sparsity
            if not isinstance(flat, np.ndarray):        # from the GPU: a scipy matrix is on the host
                flat = flat.copy_to_host()
            # the last block is the nonzeros; value_and_jacobian's values come before them
            blocks, values = blocks[:-1], flat[len(flat) - len(rows):]
            matrix = scipy.sparse.csr_matrix((values, (rows, cols)), shape=matrix_shape)
            if not blocks:
                return matrix
            return (*self._blocks_of(flat, blocks, shape), matrix)
        results = self._blocks_of(flat, blocks, shape)
        return results[0] if len(results) == 1 else tuple(results)

    @staticmethod
    def _blocks_of(flat, blocks, shape):
        """The leading ``blocks`` of ``flat``, each in its shape (a 0-d one as a float)."""
        results, start = [], 0
        for block in blocks:
            size = math.prod(block)
            part = flat[start:start + size].reshape(block + shape)
            start += size
            results.append(float(part) if part.ndim == 0 and isinstance(part, np.ndarray) else part)
        return results

    def _at_numbers(self, args, kwargs):
        """The outputs at one point given as plain numbers, all by position (``g(2.0, 1.0)``,
        ``g(*x)`` for a vector ``x``) or all by name, from the scalar kernel that the batch
        entry would call too; None for anything else, which goes through the checks of
        ``_bind``.  Skipping the per-argument array handling takes a call of 1,000 inputs from
        874 to 53 microseconds, and one of 2 inputs from 6.0 to 2.2 (benchmarks/call_overhead.py)."""
        if self._scalar is None:
            return None
        if kwargs:
            if args or len(kwargs) != len(self._names):
                return None
            try:
                args = [kwargs[name] for name in self._names]
            except KeyError:             # an unknown name: _bind's message says which
                return None
        n = len(self._names)
        if len(args) != n or not set(map(type, args)) <= _SCALAR_TYPES:
            return None
        try:
            values = np.fromiter(args, dtype=np.float64, count=n)
        except OverflowError:        # an int too big for a float: _bind's message says so
            return None
        return self._scalar(values)

    def at(self, point, direction=None):
        """The function at ``point``: a mapping of input names to values (``g.at({"x": 1.0})``
        is ``g(x=1.0)``), or a vector of the inputs in call order, ``self.inputs`` (an array
        of shape ``(n, *S)`` for a batch).  For optimizers, which hold the point as one
        vector: ``scipy.optimize.minimize(f, x0, jac=g.at)``; a vector of numbers goes to the
        scalar kernel without being taken apart into n arguments.

        A product with a direction (``jvp``, ``vjp``, ``hvp``) takes the direction apart:
        ``h.at(x, v)``, ``x`` the inputs before the direction's, as ``hessp=h.at`` for
        scipy's Newton-CG.  The direction is a vector too, or a mapping keyed by its own
        names (``x_dot``, ``f0_bar``) or, for jvp and hvp, by the variables (``{"x": 1.0}``).

        >>> import symdiff as sd
        >>> g = sd.grad("(a + b) * (b + 1)", wrt=["a", "b"], backend="python")
        >>> g.at([2.0, 1.0])
        array([2., 5.])
        """
        k = self._directions
        if (direction is None) != (k == 0):
            raise TypeError(f"{self.kind}.at() takes the point and the direction, at(x, v)" if k else
                            f"{self.kind}.at() takes one point; a direction is for jvp, vjp and hvp")
        names = self._names[:len(self._names) - k]
        if isinstance(direction, Mapping):
            direction = self._direction_mapping(direction)
            if not isinstance(point, Mapping):
                point = dict(zip(names, self._vector("point", point, len(names))))
        if isinstance(point, Mapping):
            if direction is None:
                return self(**point)
            if not isinstance(direction, Mapping):
                direction = dict(zip(self._names[len(names):], self._vector("direction", direction, k)))
            return self(**point, **direction)
        vector = self._vector("point", point, len(names))
        if direction is not None:
            v = self._vector("direction", direction, k)
            if vector.ndim > 1 or v.ndim > 1:
                return self(*vector, *v)
            vector = np.concatenate([vector, v])
        if vector.ndim > 1 or self._scalar is None:
            return self(*vector)
        return self._result(self._scalar(np.ascontiguousarray(vector)), ())

    def _direction_mapping(self, direction):
        """A direction given as a mapping, keyed by the direction's inputs (``x_dot``) or, for
        jvp and hvp, by the variables they go with (``x``: {"x": 1, "y": 0} had given x twice,
        "got multiple values for keyword argument 'x'"), keyed by the direction's inputs."""
        own = self._names[len(self._names) - self._directions:]
        if set(direction) <= set(own):
            return dict(direction)
        variables = [s.name for s in self.wrt] if self.kind in ("jvp", "hvp") else []
        if set(direction) <= set(variables):
            return {own[variables.index(name)]: value for name, value in direction.items()}
        unknown = [name for name in direction if name not in own and name not in variables]
        also = f" or by the variables {printing.listing(variables)}" if variables else ""
        raise TypeError(f"{self.kind}.at() takes the direction keyed by {printing.listing(own)}{also}"
                        + (f", not by {printing.listing(map(repr, unknown))}" if unknown else
                           ": one or the other, not both"))

    def _vector(self, what, value, n):
        """``value`` as an array whose axis 0 runs over ``n`` inputs, or an error saying so."""
        vector = _argument_array(what, value)
        if vector.ndim == 0 or vector.shape[0] != n:
            first = len(self._names) - self._directions if what == "direction" else 0
            names = printing.listing(self._names[first:first + n])
            raise ValueError(f"{self.kind}.at() takes {'as the direction ' if what == 'direction' else ''}"
                             f"a mapping of names to values or a vector of the {n} inputs in call order "
                             f"({names}), got "
                             + ("a number" if vector.ndim == 0 else f"shape {vector.shape}"))
        return vector


_SCALAR_TYPES = frozenset({float, int, np.float64})


def _scalar_entry(module, name, backend):
    """``values (a float64 vector, call order) -> float64 array of the outputs`` for one point:
    the numba module's scalar kernel (for a tape, the tape run on the vector as it is), or
    the python backend's function on numpy floats (whose IEEE nan/inf raise no exception)."""
    fn = getattr(module, name)
    if backend == "numba":
        tape = getattr(module, "_TAPE", None)
        if tape is not None:
            run_tape = module.tape_scalar
            return lambda values: run_tape(*tape, values)
        return lambda values: np.asarray(fn(*values.tolist()), dtype=np.float64)

    def run(values):
        with np.errstate(all="ignore"):
            return np.array(fn(*values), dtype=np.float64)
    return run


def _python_kernel(module, kind, n_outputs):
    fn = getattr(module, kind)

    def run(arrays, shape):
        out = np.empty((n_outputs,) + shape)
        with np.errstate(all="ignore"):
            values = fn(*arrays)
        for k, v in enumerate(values):
            out[k] = v
        return out
    return run


#: Python-backend programs longer than this ``del`` temporaries after their last use (shorter
#: ones, the ones people read, stay as they are).
FREE_AFTER_LINES = 100


def frees_temporaries(program):
    """Whether the python backend's function of ``program`` deletes each temporary after its
    last use (then it holds ``program.peak_live()`` values at once, else every one)."""
    return len(program.body) > FREE_AFTER_LINES


def compile_built(built, backend, parallel=False):
    _check_backend(backend)
    if backend == "numba":
        from .numba_backend import numba_kernel
        source, module, kernel = numba_kernel(built, parallel)
    elif backend == "cuda":
        from .cuda_backend import cuda_kernel
        if parallel:
            raise ValueError("parallel=True is for backend='numba'; the GPU is parallel already")
        source, module, kernel = cuda_kernel(built)
    else:
        if parallel:
            raise ValueError("parallel=True needs backend='numba'")
        # long programs free each temporary after its last use: on arrays, Python would
        # otherwise hold every intermediate until the function returns
        source = printing.module_source(
            f"symdiff-generated {built.kind} (python backend).\n\n{built.program.title}",
            numpy_sources_for(built.program) + [printing.function_source(
                built.program, "numpy", free=frees_temporaries(built.program))])
        module = load_module(source)
        kernel = _python_kernel(module, built.kind, len(built.program.outputs))
    scalar = None if backend == "cuda" else _scalar_entry(module, built.program.name, backend)
    return CompiledFunction(built, backend, source, kernel, module, parallel, scalar)


def _compiled_again(built, backend, parallel):
    """Unpickle a CompiledFunction (see its ``__reduce__``)."""
    return compile_built(built, backend, parallel)


def _entry(kind, formulas, wrt, mode, backend, parallel, sparse=False, checkpoint=None):
    _check_backend(backend)          # before building, which can take a while
    check_flag(parallel, "parallel")
    check_flag(sparse, "sparse")
    with _gc_paused():
        built = build(kind, formulas, wrt, mode, sparse=sparse, checkpoint=checkpoint)
        return compile_built(built, backend, parallel)


def _broadcast_conflict(names, arrays):
    """Why the arrays do not broadcast, naming two arguments that conflict (listing every
    shape would bury them among thousands of inputs)."""
    first = {}      # axis counted from the right -> (size, name, shape) of the first argument sizing it
    for name, a in zip(names, arrays):
        for axis, size in enumerate(reversed(a.shape)):
            if size == 1:
                continue
            size0, name0, shape0 = first.setdefault(axis, (size, name, a.shape))
            if size0 != size:
                return (f"argument shapes do not broadcast together: {name0} has shape {shape0} and {name} "
                        f"has shape {a.shape} (they differ in axis {-1 - axis})")
    raise AssertionError("the shapes broadcast")     # pragma: no cover


def _numba_device_array(value):
    """Whether ``value`` is a numba.cuda device array (numba's CUDA simulator's too, which have
    no ``__cuda_array_interface__``)."""
    module = type(value).__module__
    if not module.startswith("numba"):
        return False
    from numba import cuda
    return cuda.devicearray.is_cuda_ndarray(value)


def _argument_array(name, value):
    """``value`` as a float64 array, or a TypeError naming argument ``name``."""
    if isinstance(value, np.ma.MaskedArray):      # np.asarray would drop the mask silently
        raise TypeError(f"argument {name!r} is a masked array, and masks are not applied here: "
                        f"pass {name}.filled(np.nan) to get nan where it is masked")
    array = _real_array(value)
    if array is None:
        big = isinstance(value, numbers.Integral) and not isinstance(value, bool) and abs(value) > _LARGEST_FLOAT
        got = formula_text(repr(value), 80) if not big else (
            f"{str(value)[:20]}... (an integer of {len(str(abs(value)))} digits, past the largest float64, 1.8e308)")
        raise TypeError(f"argument {name!r} must be a real number (a float64) or an array of them, got {got}")
    return array


_LARGEST_FLOAT = int(np.finfo(np.float64).max)


def _real_array(value):
    """``value`` as a float64 array, or None unless it holds real numbers only.

    Stricter than ``np.asarray(value, dtype=float)``, which reads "1" as 1.0,
    None as nan and 1j as 1.0; numbers that are objects (Fraction, Decimal,
    SymPy's) convert with ``float()``.
    """
    try:
        array = np.asarray(value)
    except (ValueError, OverflowError):      # ragged nested lists, 10**400
        return None
    if array.dtype.kind in "biuf":
        return array.astype(np.float64, copy=False)
    if array.dtype.kind != "O" or any(x is None or isinstance(x, (str, bytes, complex)) for x in array.flat):
        return None
    try:
        return array.astype(np.float64)
    except (TypeError, ValueError, OverflowError):     # float() refused an element (sympy.I ...)
        return None


@contextlib.contextmanager
def _gc_paused():
    """Building allocates millions of small acyclic objects; cyclic GC passes only slow it down.

    What the build keeps (the graph's node tuples, the program's instructions)
    is long-lived, so afterwards it is moved to the oldest generation at once
    (``gc.freeze(); gc.unfreeze()``, constant time) instead of being walked by
    the next young-generation collection -- 1.6 s for a 10^6-node graph.  Not
    done when the caller has frozen objects of its own.
    """
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was_enabled:
            if gc.get_freeze_count() == 0:
                gc.freeze()
                gc.unfreeze()
            gc.enable()


def grad(f, wrt=None, mode="auto", backend="numba", parallel=False, checkpoint=None):
    """Compile the gradient of one formula.

    >>> g = grad("(a + b) * (b + 1)", wrt=["a", "b"], backend="python")
    >>> g(a=2, b=1)
    array([2., 5.])

    ``f`` is text or a SymPy expression; ``wrt`` names the variables (default:
    all free symbols, sorted by name); other symbols are parameters, still
    inputs.  ``mode`` is ``"auto"`` (the cheaper: see :func:`cheaper_mode`),
    ``"forward"`` or ``"reverse"``; ``backend`` is ``"numba"`` (compiled,
    default), ``"python"`` (numpy) or ``"cuda"`` (an NVIDIA GPU, batches);
    ``parallel=True`` spreads numba's batch loop over all cores.  With array arguments the result has shape ``(n, *S)``.

    ``checkpoint=True`` (reverse mode) keeps only every k-th value of the
    forward sweep, k = sqrt(its length), and recomputes the rest during the
    reverse sweep: about sqrt(n) values alive instead of n, for one more
    forward sweep of work; an integer sets k.  See :mod:`symdiff.checkpoint`.
    """
    return _entry("grad", [f], wrt, mode, backend, parallel, checkpoint=checkpoint)


def value_and_grad(f, wrt=None, mode="auto", backend="numba", parallel=False, checkpoint=None):
    """Compile a function returning ``(value, gradient)``.

    >>> vg = value_and_grad("(a + b) * (b + 1)", wrt=["a", "b"], mode="forward", backend="python")
    >>> vg(a=2, b=1)
    (6.0, array([2., 5.]))
    """
    return _entry("value_and_grad", [f], wrt, mode, backend, parallel, checkpoint=checkpoint)


def jacobian(fs, wrt=None, mode="auto", backend="numba", parallel=False, sparse=False):
    """Compile the Jacobian of a list of formulas: result shape ``(m, n, *S)``.

    >>> J = jacobian(["x*y", "sin(x)"], wrt=["x", "y"], backend="python")
    >>> J(x=0.0, y=2.0)
    array([[2., 0.],
           [1., 0.]])

    ``sparse=True`` returns a ``scipy.sparse.csr_matrix`` holding only the
    structurally nonzero entries (symbolic zeros are never computed); it
    takes numbers, one point per call.
    """
    return _entry("jacobian", formula_list(fs, "jacobian"), wrt, mode, backend, parallel, sparse)


def value_and_jacobian(fs, wrt=None, mode="auto", backend="numba", parallel=False, sparse=False):
    """Compile the values and the Jacobian of a list of formulas, from one program:
    ``(values of shape (m, *S), Jacobian (m, n, *S))``.

    For solvers that want both at each step, such as ``scipy.optimize.least_squares``
    or Newton's method; the values are computed once, shared with the derivatives.

    >>> F = value_and_jacobian(["x*y - 2", "x - y"], wrt=["x", "y"], backend="python")
    >>> values, J = F(x=1.0, y=2.0)
    >>> values
    array([ 0., -1.])
    >>> J
    array([[ 2.,  1.],
           [ 1., -1.]])

    ``sparse=True`` returns the values and a ``scipy.sparse.csr_matrix`` of the
    structural nonzeros, one point per call, as :func:`jacobian` does.
    """
    return _entry("value_and_jacobian", formula_list(fs, "value_and_jacobian"), wrt, mode, backend,
                  parallel, sparse)


def hessian(f, wrt=None, mode="auto", backend="numba", parallel=False, sparse=False):
    """Compile the Hessian of one formula, by forward mode over the gradient.

    The gradient is built in reverse mode (``mode="forward"`` builds it in
    forward mode instead), then differentiated again in forward mode; only
    the lower triangle is mirrored onto the upper.  Result shape ``(n, n, *S)``;
    ``sparse=True`` returns a ``scipy.sparse.csr_matrix`` of the structural
    nonzeros, built in time and memory proportional to their number (a
    banded Hessian costs O(n)).

    >>> H = hessian("x^2*y", wrt=["x", "y"], backend="python")
    >>> H(x=3, y=2)
    array([[4., 6.],
           [6., 0.]])
    """
    return _entry("hessian", [f], wrt, mode, backend, parallel, sparse)


def jvp(fs, wrt=None, backend="numba", parallel=False):
    """Compile the Jacobian-vector product J v of one formula or a list: one forward sweep.

    The direction comes in as more inputs, one tangent per variable, named as in
    AD texts: ``x_dot`` for ``x``.  Result shape ``(m, *S)`` for m formulas.
    Its cost is a small multiple of the function's, whatever the number of
    variables (a Jacobian would take one sweep per variable).

    >>> Jv = jvp(["x*y", "sin(x)"], wrt=["x", "y"], backend="python")
    >>> Jv.at([0.0, 2.0], [1.0, 0.0])          # x, y, then x_dot, y_dot: J's first column
    array([2., 1.])
    """
    return _entry("jvp", formula_list(fs, "jvp"), wrt, "forward", backend, parallel)


def vjp(fs, wrt=None, backend="numba", parallel=False):
    """Compile the vector-Jacobian product u^T J of one formula or a list: one reverse sweep.

    The vector comes in as more inputs, one adjoint per formula, named as in AD
    texts: ``f_bar`` (for several formulas ``f0_bar``, ``f1_bar`` ...).
    Result shape ``(n, *S)`` for n variables.  Its cost is a small multiple of
    the function's, whatever the number of formulas.

    >>> uJ = vjp(["x*y", "sin(x)"], wrt=["x", "y"], backend="python")
    >>> uJ(x=0.0, y=2.0, f0_bar=1.0, f1_bar=0.0)      # J's first row
    array([2., 0.])
    """
    return _entry("vjp", formula_list(fs, "vjp"), wrt, "reverse", backend, parallel)


def hvp(f, wrt=None, mode="auto", backend="numba", parallel=False):
    """Compile the Hessian-vector product H v of one formula: forward mode in the direction
    v over the gradient (reverse mode; ``mode="forward"`` builds it in forward mode), so
    about the cost of a few gradients, without forming H.

    The direction comes in as more inputs named ``x_dot``.  For Newton-type
    optimizers: ``scipy.optimize.minimize(f, x0, method="Newton-CG", jac=g.at,
    hessp=h.at)`` with ``h.at(x, v)``.  At a kink, where the two mixed partials
    can differ, H v is the gradient's derivative in the direction v, while
    :func:`hessian` mirrors its lower triangle.

    >>> Hv = hvp("x^2*y", wrt=["x", "y"], backend="python")
    >>> Hv.at([3.0, 2.0], [1.0, 0.0])          # H = [[2y, 2x], [2x, 0]]: its first column
    array([4., 6.])
    """
    one_formula(f, "hvp", "a Hessian is of one formula (several formulas have a jvp and a vjp)")
    return _entry("hvp", [f], wrt, mode, backend, parallel)


def diff(f, *wrt):
    """Symbolic derivative of ``f`` as a SymPy expression: ``diff(f, x)`` is df/dx.

    As in SymPy, several variables differentiate in turn (``diff(f, x, y)`` is
    d2f/dydx) and a count repeats the variable before it (``diff(f, x, 2)``, or
    ``diff(f, (x, 2))``).
    Built by reverse sweeps on symdiff's shared graph (not ``sympy.diff``); between
    sweeps a small derivative has its like terms gathered through SymPy (see settled).

    >>> diff("x^2 + 2*x*y + y^2", "x")
    2*x + 2*y
    >>> diff("x^3*y", "x", 2, "y")
    6*x

    Without a variable, as in SymPy, a formula of one variable is differentiated
    by it (a constant's derivative is 0); one of several needs them named.
    """
    one_formula(f, "diff", "for several, [sd.diff(f, ...) for f in formulas]; "
                           "for their compiled derivatives, sd.jacobian")
    variables = _diff_variables(wrt)
    g = Graph()
    d = formula_node(g, f)
    free = g.symbols()
    if not wrt:
        if len(free) > 1:
            raise TypeError(f"diff needs a variable: this formula has {len(free)} "
                            f"({printing.listing(s.name for s in free)}), so write diff(f, 'x')")
        if not free:
            return sympy.Integer(0)
        variables = free
    for k, x in enumerate(variables):
        wrt_syms, _ = resolve_variables(free, [x])
        if k >= _SETTLE_FROM:
            d = settled(g, d)
        (d,) = adjoints(g, d, [g.symbol(wrt_syms[0])])
        if d is None:
            return sympy.Integer(0)
    return _answer(g, [d], len(variables))[0]


#: the sweep from which on a derivative is settled first: two sweeps compound little, and a
#: second derivative of each of 2,000 variables took 7.9 s settled, 2.0 s as it was
_SETTLE_FROM = 2
#: settled() rebuilds a derivative through SymPy up to this size written out as a tree, this
#: depth (SymPy's algorithms recurse) and this many terms with its products distributed
_SETTLE_TREE = 2_000
_SETTLE_DEPTH = 100
_SETTLE_TERMS = 8_000
#: and from this size: a smaller one has little to gather, and a round trip through SymPy
#: costs about a millisecond
_SETTLE_SMALL = 64


def settled(g, d):
    """Node ``d``, to be differentiated again, rebuilt through SymPy with its products
    distributed over sums (not powers of sums), so that like terms and powers gather.

    The graph gathers little (it keeps what the generated code can share), so each sweep
    over a sweep's result compounds: the 16th derivative of 1/x was 24,864 nodes, 10^9 as
    a tree, and the 20th took 26 s to become SymPy's 2432902008176640000/x**21; the 24th of
    exp(-x^2) took 26 s.  Gathered at each order, 1/x stays one power, and the 30th of
    exp(-x^2) is a sum of 16 terms (0.15 s).  A derivative out of range (see the
    _SETTLE_ limits: too small to gain, too large for SymPy, or too many terms once
    distributed) is differentiated as it is."""
    e = _gathered(g, d)
    return d if e is None else g.from_sympy(e)


def _gathered(g, d):
    """The SymPy form of node ``d`` with its products distributed over its sums, or None
    where ``d`` is out of settled()'s range or SymPy fails on it."""
    # d's cone alone: reachable, under tree_size and depth, scans every id below d (once for
    # each derivative of 2,000 variables: 1.2 s); a tree of at most _SETTLE_TREE nodes has
    # no more nodes than that
    cone = None if d is None else g.cone(d, _SETTLE_TREE)
    if (cone is None or not _SETTLE_SMALL <= g.tree_size([d], _SETTLE_TREE, cone) <= _SETTLE_TREE
            or g.depth([d], cone) > _SETTLE_DEPTH):
        return None
    try:
        e = g.to_sympy([d])[0]
        if any(isinstance(a, sympy.UnevaluatedExpr) and not a.free_symbols for a in sympy.preorder_traversal(e)):
            # a constant to_sympy keeps apart (9^(9^9), a function of one): once expanded,
            # the printer's evalf of the third derivative of (9^9^9)^(2^70 - 9^9^9)^x * x
            # multiplied a power of it out (hours)
            return None
        if _distributed_terms(e, _SETTLE_TERMS) < _SETTLE_TERMS:
            e, constants = _constants_apart(e)
            e = sympy.expand(e, mul=True, multinomial=False, power_exp=False, power_base=False,
                             log=False, deep=True)
            if any(not p.exp.is_Number for p in e.atoms(sympy.Pow)) and not e.has(sympy.UnevaluatedExpr):
                # a variable exponent: the rule d/dx x^y = y*x^(y-1) (defined at x = 0, where
                # x^y*y/x is not) leaves powers of one base apart once distributed: the 8th
                # derivative of x^x had terms like x**4*x**(x - 4), 2,812 nodes; with them
                # added up, 323 (SymPy's is 157, factored).  Only there: it costs 1.7 times
                # the expand on sums of numeric powers, where it gathers nothing.  Not over an
                # UnevaluatedExpr: powsimp worked the 9^(9^9) of x^(x + 9^9^9) out (a constant
                # one now stops the gathering above; this keeps it off one with a variable,
                # such as 9^(x + 10^400))
                e = sympy.powsimp(e, deep=True, combine="exp")
            e = printable(e.xreplace(constants))     # (what Mul makes of equal factors, see printable)
        if e.has(*_NOT_TAKEN):
            # rebuilt, a constant to_sympy kept as written, never real, was evaluated (the
            # log(-9) of a derivative of (-9)^9^9^x became log(9) + I*pi), or SymPy's
            # arithmetic made nan of 1/sqrt(1 - (x/x)^2), -oo of atanh(-1) put back in a
            # power: symdiff's graph takes none of these
            return None
        return e
    except (ValueError, TypeError, ArithmeticError, AttributeError, RecursionError):
        return None         # no SymPy form (see to_sympy), or SymPy failed: as it is


#: what symdiff's graph refuses to take from SymPy
_NOT_TAKEN = (sympy.I, sympy.zoo, sympy.nan, sympy.oo, -sympy.oo)


def _constants_apart(e):
    """``e`` with each constant in it that is not a number made a symbol, and the map back.

    to_sympy writes some constants unevaluated (digamma(10^400) as polygamma(0, 10^400),
    log(-9) as written: see Graph._to_sympy); expand and powsimp, rebuilding what they
    meet, evaluated them (an exact fraction of thousands of digits, log(9) + I*pi).  As
    symbols they gather as any other factor."""
    dummies, memo = {}, {}

    def apart(node):                  # recursion: settled's derivatives are at most 100 deep
        if node.is_Atom:
            return node
        if node not in memo:
            if not node.free_symbols:
                memo[node] = dummies.setdefault(node, sympy.Dummy())
            else:
                args = [apart(a) for a in node.args]
                memo[node] = node.func(*args) if any(a is not b for a, b in zip(args, node.args)) else node
        return memo[node]

    return apart(e), {d: c for c, d in dummies.items()}


def _answer(g, ds, sweeps):
    """The SymPy forms of derivative nodes ``ds`` after ``sweeps`` sweeps: gathered as
    between sweeps where those were (the 6th derivative of exp(-x^2) reads as a polynomial
    times exp(-x^2), not as the last sweep's nested products), else in one walk."""
    if sweeps <= _SETTLE_FROM:
        return g.to_sympy(ds)
    gathered = [_gathered(g, d) for d in ds]
    rest = g.to_sympy([d for d, e in zip(ds, gathered) if e is None])[::-1]
    return [rest.pop() if e is None else e for e in gathered]


def _distributed_terms(e, cap):
    """How many terms ``e`` has with its products distributed over its sums (a function's
    argument counts as one term of its own), or ``cap`` where that is more: (a+b)^20 as a
    product of 20 sums is 2^20.  A loop over the tree, no recursion."""
    count = {}
    stack = [(e, False)]
    while stack:
        node, ready = stack.pop()
        if node in count:
            continue
        parts = node.args if (node.is_Add or node.is_Mul) else ()
        if parts and not ready:
            stack.append((node, True))
            stack.extend((a, False) for a in parts if a not in count)
            continue
        if node.is_Add:
            count[node] = min(cap, sum(count[a] for a in parts))
        elif node.is_Mul:
            product = 1
            for a in parts:
                product = min(cap, product * count[a])
            count[node] = product
        else:
            count[node] = 1
    return count[e]


def diff_each(f, names, order=1):
    """``[diff(f, x, order) for x in names]``, from one graph: the formula is parsed once and
    its first derivatives come from one reverse sweep (the command line's ``symdiff diff``
    of a formula in 10^4 variables parsed it 10^4 times: hours, where this takes seconds)."""
    g = Graph()
    root = formula_node(g, f)
    free = g.symbols()
    unique = list(dict.fromkeys(names))        # a name may come twice, as in diff(f, x) twice
    symbol = dict(zip(unique, resolve_variables(free, unique)[0])) if unique else {}
    nodes = [g.symbol(symbol[x]) for x in names]
    derivatives = adjoints(g, root, nodes) if order else [root] * len(nodes)
    for k in range(1, order):
        if k >= _SETTLE_FROM:
            derivatives = [settled(g, d) for d in derivatives]
        derivatives = [None if d is None else adjoints(g, d, [x])[0] for d, x in zip(derivatives, nodes)]
    return _answer(g, derivatives, order)     # one walk for all: each alone walks the graph below it


def _diff_variables(wrt):
    """diff's variables, each count expanded: ("x", 2, "y") -> ["x", "x", "y"]."""
    variables = []
    counted = True          # the item before was a count (or there was none)
    for item in wrt:
        if (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], (str, sympy.Symbol))
                and isinstance(item[1], numbers.Integral) and not isinstance(item[1], bool)):
            # SymPy's other spelling of a count: diff(f, (x, 2)) is diff(f, x, 2)
            variables.extend(_diff_variables(item))
            counted = True
        elif isinstance(item, str) and len(item.replace(",", " ").split()) > 1:
            # not grad's wrt: a list of names in one string takes the derivative by each in turn
            names = ", ".join(map(repr, item.replace(",", " ").split()))
            raise ValueError(f"diff: {item!r} is not a variable name; to differentiate by each in turn "
                             f"write diff(f, {names})")
        elif isinstance(item, (str, sympy.Symbol)):
            variables.append(item)
            counted = False
        elif isinstance(item, numbers.Integral) and not isinstance(item, bool):
            if counted:
                raise TypeError("diff: a count repeats the variable before it, as in diff(f, 'x', 2)")
            counted = True
            if item < 0:
                raise ValueError(f"diff: a count must be 0 or more, not {item}")
            variables[-1:] = [variables[-1]] * int(item)
        else:
            raise TypeError(f"diff takes variables as separate arguments (names or SymPy symbols, each "
                            f"optionally followed by a count): diff(f, 'x', 'y') or diff(f, 'x', 2) (or "
                            f"SymPy's diff(f, ('x', 2))), not a {type(item).__name__}; for all first "
                            "derivatives use grad")
    return variables
