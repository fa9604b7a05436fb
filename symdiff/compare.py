"""Forward vs reverse mode on the same formula: costs, memory, time, and which to pick.

:func:`compare` builds both optimized programs and reports, per mode, the
arithmetic operations (by kind), sweeps, the most values alive at once (the
memory reverse mode pays for), program length and measured seconds per
evaluation.  ``.recommended`` is the mode ``mode="auto"`` picks, with the reason in
words: the one of fewer operations where both programs are small enough to build
(:data:`symdiff.api.EXACT_PICK_WORK`), else the cheaper by the cost model
(:func:`symdiff.api.cost_estimates`).

:func:`scaling_study` sweeps a family f: R^n -> R^m and shows the classic
lesson: forward mode wins with few inputs and many outputs, reverse mode with
many inputs and few outputs.
"""

import html
import itertools
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

import numpy as np

from .api import (both_modes, build, builds_both, check_flag, cheaper_mode, compile_built, cost_estimates,
                  formula_list, formula_text, is_count)
from .examples import fan_family
from .ops import CATEGORIES
from .printing import body_lines, listing, plural, return_expression

#: Longest program shown whole by Report.programs (and in Jupyter, where longer ones are left out).
PROGRAM_LINES = 40
_SHOWN_FORMULAS = 8        # a report's header names at most this many formulas
_SHOWN_NAMES = 32          # and this many inputs (as a function's docstring does)


def _listing(program, limit):
    """A program's lines and its return, the middle elided past ``limit`` lines."""
    lines = body_lines(program, "numpy") + ["return " + return_expression(program)]
    if len(lines) <= limit:
        return lines
    return lines[:limit - 2] + [f"... ({len(lines) - limit + 1} more lines)", lines[-1]]


@dataclass
class ModeCost:
    """One mode's side of a :class:`Report`."""

    mode: str
    ops: int                  # arithmetic operations of the optimized program
    ops_by_kind: dict         # add / mul / div / transcendental / compare
    sweeps: int               # forward: one per input; reverse: one per output
    peak_live: int            # most temporaries alive at once
    length: int               # lines of the straight-line program
    estimate: int             # the cost model's (node, direction) pairs
    seconds: float = None     # measured per evaluation (None when not measured)
    program: object = field(default=None, repr=False)

    @property
    def sweep_text(self):
        if self.mode == "forward":
            return f"{self.sweeps} (one per input)"
        return f"1 + {self.sweeps} (per output)"


@dataclass(repr=False)
class Report:
    """The result of :func:`compare`; ``str(report)`` is a table, Jupyter shows HTML."""

    formulas: list
    wrt: list
    outputs: int
    forward: ModeCost
    reverse: ModeCost
    recommended: str
    reason: str

    def rows(self):
        f, r = self.forward, self.reverse

        def secs(c):
            return "-" if c.seconds is None else _format_seconds(c.seconds)
        rows = [("arithmetic operations", f.ops, r.ops)]
        rows += [(f"  {kind}", f.ops_by_kind[kind], r.ops_by_kind[kind]) for kind in CATEGORIES]
        rows += [("sweeps", f.sweep_text, r.sweep_text),
                 ("peak live values", f.peak_live, r.peak_live),
                 ("program length (lines)", f.length, r.length),
                 ("cost model estimate", f.estimate, r.estimate),
                 ("seconds per evaluation", secs(f), secs(r))]
        return rows

    def __str__(self):
        rows = self.rows()
        width = max(len(str(c)) for row in rows for c in row[1:])
        width = max(width, len("forward"))
        label = max(len(row[0]) for row in rows)
        subject = listing(self.formulas, _SHOWN_FORMULAS)
        shown = ", ".join(self.wrt[:_SHOWN_NAMES]) + (", ..." if len(self.wrt) > _SHOWN_NAMES else "")
        names = f" ({shown})" if self.wrt else ""
        lines = [f"forward vs reverse for {subject}",
                 f"  {plural(len(self.wrt), 'input')}{names}, {plural(self.outputs, 'output')}",
                 "",
                 f"{'':<{label}}  {'forward':>{width}}  {'reverse':>{width}}"]
        lines += [f"{name:<{label}}  {str(a):>{width}}  {str(b):>{width}}" for name, a, b in rows]
        lines += ["", f"recommended: {self.recommended} -- {self.reason}"]
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def programs(self, limit=PROGRAM_LINES):
        """The two optimized programs side by side, one operation a line: forward mode value by
        value with its tangents, reverse mode its forward sweep, then its sweep back.  Programs
        longer than ``limit`` lines show their first lines and how many there are."""
        left, right = _listing(self.forward.program, limit), _listing(self.reverse.program, limit)
        width = max(len(line) for line in left + ["forward mode"])
        lines = [f"{'forward mode':<{width}}  |  reverse mode", f"{'-' * width}--+--{'-' * 12}"]
        lines += [f"{a:<{width}}  |  {b}" for a, b in itertools.zip_longest(left, right, fillvalue="")]
        return "\n".join(lines)

    def _repr_html_(self):
        cells = "".join(
            f"<tr><td style='text-align:left'>{html.escape(name)}</td>"
            f"<td>{html.escape(str(a))}</td><td>{html.escape(str(b))}</td></tr>"
            for name, a, b in self.rows())
        programs = ""
        if max(self.forward.length, self.reverse.length) < PROGRAM_LINES:     # short: show them
            columns = "".join(f"<td style='vertical-align:top;text-align:left'><b>{mode} mode</b>"
                              f"<pre>{html.escape(chr(10).join(_listing(side.program, PROGRAM_LINES)))}</pre></td>"
                              for mode, side in (("forward", self.forward), ("reverse", self.reverse)))
            programs = f"<table><tr>{columns}</tr></table>"
        return (f"<div><b>forward vs reverse</b> for <code>{html.escape(listing(self.formulas, _SHOWN_FORMULAS))}</code>"
                f"<table><tr><th></th><th>forward</th><th>reverse</th></tr>{cells}</table>"
                f"<p><b>recommended: {self.recommended}</b> — {html.escape(self.reason)}</p>{programs}</div>")

    def plot(self, ax=None):
        """Bar chart of operations by kind for each mode (matplotlib); returns the axes."""
        import matplotlib.pyplot as plt
        if ax is None:
            _, ax = plt.subplots(figsize=(6, 3.2))
        modes = [self.forward, self.reverse]
        left = np.zeros(2)
        for kind in CATEGORIES:
            values = np.array([m.ops_by_kind[kind] for m in modes], dtype=float)
            ax.barh(["forward", "reverse"], values, left=left, label=kind)
            left += values
        for y, m in enumerate(modes):
            note = f"  {m.ops} ops, peak {m.peak_live} live"
            if m.seconds is not None:
                note += f", {_format_seconds(m.seconds)}"
            ax.text(left[y], y, note, va="center", fontsize=8)
        ax.set_xlim(0, left.max() * 1.6 + 1)
        ax.set_xlabel("arithmetic operations in the optimized program")
        ax.set_title(f"recommended: {self.recommended}")
        ax.legend(fontsize=7, loc="lower right")
        return ax


def _format_seconds(s):
    for unit, scale in (("s", 1), ("ms", 1e-3), ("µs", 1e-6), ("ns", 1e-9)):
        if s >= scale:
            return f"{s / scale:.3g} {unit}"
    return f"{s:.3g} s"


_MEASURE_VALUES = 2_000_000    # most float64s one timed batch holds, inputs and outputs (16 MB)
_MEASURE_SECONDS = 0.1         # about how long one timed batch runs, at most
_PROBE = 16                    # points of the warm-up call, which also sizes the timed batch


def _measure(built, backend, samples, repeats=3):
    fn = compile_built(built, backend)
    # a batch's Jacobian is (m, n, samples): a large one is timed on fewer points (at
    # 10,000 points Rosenbrock in 2,000 variables made 160 MB a call and took 6 s)
    samples = max(1, min(samples, _MEASURE_VALUES // max(1, len(built.program.outputs) + len(fn.inputs))))
    rng = np.random.default_rng(0)
    args = [rng.uniform(0.5, 1.5, size=samples) for _ in fn.inputs]
    probe = [a[:_PROBE] for a in args]
    probe_points = min(samples, _PROBE)

    def run(arrays, points):
        # the batch kernel itself, the nonzeros' values at every point (the function, being
        # sparse, gives one matrix a point and refuses arrays)
        return fn._kernel(arrays, (points,))
    run(probe, probe_points)                       # compile / warm up
    if backend != "python":
        # compiled, a long program is timed on as many points as run in about _MEASURE_SECONDS
        # (at 10,000 points a sin/exp chain 100,000 deep took 160 s to time), which a call on
        # the warm-up's few points tells: compiled code costs the same per point at any batch
        # size, where each numpy operation of the python backend costs microseconds per call
        start = time.perf_counter()
        run(probe, probe_points)
        per_point = (time.perf_counter() - start) / probe_points
        if per_point * samples > _MEASURE_SECONDS:
            samples = max(1, int(_MEASURE_SECONDS / per_point))
            args = [a[:samples] for a in args]
    best = math.inf
    for _ in range(repeats):
        start = time.perf_counter()
        run(args, samples)
        best = min(best, time.perf_counter() - start)
    return best / samples


def compare(f, wrt=None, backend="numba", samples=10_000, measure=True):
    """Forward vs reverse mode on ``f`` (one formula or a list of them).

    >>> report = compare("(a + b) * (b + 1)", wrt=["a", "b"], measure=False)
    >>> report.recommended
    'reverse'
    >>> report.forward.ops, report.reverse.ops
    (3, 3)

    ``measure=True`` times both modes per evaluation on ``samples`` random
    points with ``backend`` (numba compiles both programs first); a large
    Jacobian is timed on fewer points, so that one batch holds about 16 MB.
    """
    if not is_count(samples):
        raise ValueError(f"compare: samples must be a whole number of points, 1 or more, not {samples!r}")
    check_flag(measure, "compare: measure")
    formulas = formula_list(f, "compare")
    # The structural nonzeros alone (sparse=True): the zeros cost neither mode any work, and
    # built dense a banded 3,000 x 3,002 Jacobian took 18 s and 3.6 GB for both modes (0.5 s
    # and 0.2 GB sparse), and its timing measured writing 9 million zeros.  One parse for
    # both: each mode builds on a fork of the graph, the same nodes to start with (parsing
    # twice took 1.48 s to compare 2 x 10^4 banded residuals, once 1.30 s).
    builds = both_modes("jacobian", formulas, wrt, sparse=True)
    problem = builds["forward"].problem
    n, m = len(problem.wrt), len(problem.roots)
    est_forward, est_reverse = cost_estimates(problem.graph, problem.roots, problem.wrt_nodes)
    reports = {}
    for mode, built in builds.items():
        program = built.program
        reports[mode] = ModeCost(
            mode=mode, ops=program.operation_count, ops_by_kind=program.operation_counts(),
            sweeps=n if mode == "forward" else m, peak_live=program.peak_live(),
            length=len(program.body), estimate=est_forward if mode == "forward" else est_reverse,
            seconds=_measure(built, backend, samples) if measure else None, program=program)
    # the rule mode="auto" follows: by the programs where it builds both, else by the estimates
    exact = builds_both(n, m, (est_forward, est_reverse))
    recommended = cheaper_mode(est_forward, est_reverse, n, m,
                               (reports["forward"].ops, reports["reverse"].ops) if exact else None)
    return Report(list(problem.texts), [s.name for s in problem.wrt], m,
                  reports["forward"], reports["reverse"], recommended,
                  _reason(recommended, n, m, reports, exact))


def _reason(recommended, n, m, reports, exact):
    f, r = reports["forward"], reports["reverse"]
    shape = f"{plural(n, 'input')} and {plural(m, 'output')}"
    by_estimate = cheaper_mode(f.estimate, r.estimate, n, m)
    if n == 0:
        why = f"{shape}: there is nothing to differentiate"
    elif exact and f.ops != r.ops and (recommended != by_estimate or f.estimate == r.estimate):
        # the programs decided (see api.EXACT_PICK_WORK), against the estimate or on its tie
        shorter, longer = (f, r) if recommended == "forward" else (r, f)
        verdict = "ties" if f.estimate == r.estimate else f"favours {by_estimate} mode"
        why = (f"{shape}: the cost model, which counts each node's arguments times the directions it "
               f"carries, {verdict}, but the optimized programs do less than that count (constants fold "
               f"together, a sum passes derivatives on without work, partials are shared), and of the two "
               f"the {recommended} one is shorter: {shorter.ops} vs {longer.ops} operations")
    elif n == m and f.estimate == r.estimate:
        why = (f"{shape}: both modes need {plural(n, 'sweep')} and the same work; on a tie forward mode is "
               f"picked, as it keeps no values for a sweep back")
    elif n == m:
        why = (f"{shape}: both modes need {plural(n, 'sweep')}, but summed over the nodes " +
               ("they feed fewer outputs than they depend on inputs, so the reverse sweeps are shorter in all"
                if recommended == "reverse" else
                "they depend on fewer inputs than they feed outputs, so the forward sweeps are shorter in all"))
    elif recommended == "reverse" and m > n:
        # the cost model disagrees with counting sweeps: say why
        why = (f"{shape}: forward mode needs fewer sweeps ({n} vs {m}), but most nodes feed few of the "
               f"outputs, so each reverse sweep is short and reverse mode does less work in all")
    elif recommended == "forward" and n > m:
        why = (f"{shape}: reverse mode needs fewer sweeps ({m} vs {n}), but most nodes depend on few of "
               f"the inputs, so each forward sweep is short and forward mode does less work in all")
    elif recommended == "reverse":
        why = (f"{shape}: reverse mode gets every derivative from {plural(m, 'reverse sweep')}, "
               f"forward mode needs {plural(n, 'sweep')}, one per input")
    else:
        why = (f"{shape}: forward mode gets every derivative from {plural(n, 'sweep')}, "
               f"reverse mode needs {plural(m, 'reverse sweep')}, one per output")
    text = (f"{why} (cost model {f.estimate} vs {r.estimate}; optimized programs "
            f"{f.ops} vs {r.ops} operations; reverse mode holds up to {plural(r.peak_live, 'value')} at once, "
            f"forward {f.peak_live}).")
    # the sweep count is the textbook cost of dense dependence; on a sparse one the programs say
    # otherwise (within a quarter of each other: "nearly as short"), and a learner comparing the
    # two numbers deserves to know why
    if recommended == "reverse" and n >= max(4, 2 * m) and 4 * f.ops <= 5 * r.ops:
        text += (f" Forward mode's program is nearly as short all the same: most nodes depend on few of the "
                 f"inputs, and symdiff carries all {n} directions in one walk and skips the zero tangents, "
                 f"so '{n} sweeps' is the textbook's cost, not this program's.")
    elif recommended == "forward" and m >= max(4, 2 * n) and 4 * r.ops <= 5 * f.ops:
        text += (f" Reverse mode's program is nearly as short all the same: most nodes feed few of the "
                 f"outputs, and each output's reverse sweep covers only the nodes that output depends on, "
                 f"so '{m} sweeps' is the textbook's cost, not this program's.")
    return text


# -- the classic lesson ------------------------------------------------------------------
def _counts(what, counts):
    """scaling_study's ``ns`` or ``ms`` as a tuple (ns is walked once for each m: a generator
    would not be), or an error saying what it must be."""
    if isinstance(counts, (str, bytes)) or not isinstance(counts, Iterable):
        raise TypeError(f"{what} must be a list of counts of inputs and outputs, such as (1, 2, 4), not {counts!r}")
    counts = tuple(counts)
    if not counts or not all(is_count(k) for k in counts):
        raise ValueError(f"{what} must be positive integers (counts of inputs and outputs), got {counts!r}")
    return counts


def scaling_study(ns=(1, 2, 4, 8, 16, 32), ms=(1, 2, 4, 8, 16, 32), family=fan_family):
    """Operation counts of both modes over a grid of input counts ``ns`` and output counts ``ms``.

    Returns a list of dicts with keys n, m, forward, reverse (optimized
    program operations) and winner.

    >>> [row["winner"] for row in scaling_study(ns=(1, 16), ms=(1, 16))]
    ['tie', 'reverse', 'forward', 'reverse']
    """
    ns, ms = _counts("ns", ns), _counts("ms", ms)
    rows = []
    for m in ms:
        for n in ns:
            fs = formula_list(family(n, m), f"scaling_study: family({n}, {m})")
            if len(fs) != m:
                # the row would be labelled with m outputs it does not have
                raise ValueError(f"scaling_study: family({n}, {m}) gave {plural(len(fs), 'formula')}; it must "
                                 f"give m = {m}, one for each output")
            wrt = [f"x{k}" for k in range(1, n + 1)]
            ops = {mode: build("jacobian", fs, wrt, mode).program.operation_count
                   for mode in ("forward", "reverse")}
            winner = "forward" if ops["forward"] < ops["reverse"] else \
                ("reverse" if ops["reverse"] < ops["forward"] else "tie")
            rows.append({"n": n, "m": m, "forward": ops["forward"], "reverse": ops["reverse"],
                         "winner": winner})
    return rows


def plot_scaling(rows, ax=None):
    """Heat map of log2(forward ops / reverse ops) over (n, m); blue = forward wins.

    >>> ax = plot_scaling(scaling_study(ns=(1, 4), ms=(1, 4)))
    >>> ax.get_xlabel()
    'inputs n'
    """
    import matplotlib.pyplot as plt
    if isinstance(rows, Mapping) or not isinstance(rows, Iterable):
        raise TypeError(f"plot_scaling takes the list of rows scaling_study returns, not {type(rows).__name__}")
    rows = list(rows)
    if not rows:
        raise ValueError("plot_scaling needs the rows scaling_study returns; got none")
    for r in rows:
        if not isinstance(r, Mapping) or not {"n", "m", "forward", "reverse"} <= r.keys():
            raise TypeError("plot_scaling takes the rows scaling_study returns: dicts with n, m, forward "
                            f"and reverse; got {formula_text(repr(r), 80)}")
    ns = sorted({r["n"] for r in rows})
    ms = sorted({r["m"] for r in rows})
    grid = np.zeros((len(ms), len(ns)))
    for r in rows:
        # a program of no operations (a sum passes derivatives on free) counts as one
        grid[ms.index(r["m"]), ns.index(r["n"])] = math.log2(max(r["forward"], 1) / max(r["reverse"], 1))
    if ax is None:
        _, ax = plt.subplots(figsize=(5, 4))
    limit = max(1.0, np.abs(grid).max())
    image = ax.imshow(grid, origin="lower", cmap="coolwarm", vmin=-limit, vmax=limit)
    ax.set_xticks(range(len(ns)), [str(n) for n in ns])
    ax.set_yticks(range(len(ms)), [str(m) for m in ms])
    ax.set_xlabel("inputs n")
    ax.set_ylabel("outputs m")
    for i in range(len(ms)):
        for j in range(len(ns)):
            ax.text(j, i, "F" if grid[i, j] < 0 else ("R" if grid[i, j] > 0 else "="),
                    ha="center", va="center", fontsize=8)
    ax.figure.colorbar(image, ax=ax, label="log2(forward ops / reverse ops)")
    ax.set_title("F: forward mode cheaper, R: reverse mode cheaper")
    return ax
