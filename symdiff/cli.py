"""The ``symdiff`` command line.

    symdiff grad "(a+b)*(b+1)" --wrt a,b --at a=2,b=1
    symdiff jacobian "x*y; sin(x)" --at x=0,y=2
    symdiff hessian "x^3*y" --at x=1,y=2
    symdiff diff "x^2 + 2*x*y + y^2" --wrt x
    symdiff source "(a+b)*(b+1)" --wrt a,b --mode reverse
    symdiff export "(a+b)*(b+1)" --wrt a,b -o generated/colah_grad.py
    symdiff compare "sin(x*y) + exp(z)"
    symdiff graph "(a+b)*(b+1)" --at a=2,b=1 --highlight b -o graph.svg
    symdiff check "x*sin(y)" --at x=1,y=2
    symdiff source @rosenbrock.txt --backend numba     # a formula from a file (- : stdin)

Bad input prints a short message (with a caret under the problem) on stderr
and exits with status 2; no traceback.
"""

import argparse
import json
import math
import os
import sys
import warnings

import numpy as np
import sympy

from . import api, printing
from .display import MAX_NODES
from .parse import COMMA_OUTSIDE, ParseError, parse

EXAMPLES = {
    "grad": 'symdiff grad "(a+b)*(b+1)" --wrt a,b --at a=2,b=1',
    "jacobian": 'symdiff jacobian "x*y; sin(x)" --at x=0,y=2',
    "hessian": 'symdiff hessian "x^3*y" --at x=1,y=2',
    "diff": 'symdiff diff "x^2 + 2*x*y + y^2" --wrt x',
    "source": 'symdiff source "(a+b)*(b+1)" --wrt a,b --mode reverse',
    "export": 'symdiff export "(a+b)*(b+1)" --wrt a,b -o generated/colah_grad.py',
    "compare": 'symdiff compare "sin(x*y) + exp(z)" --wrt x,y,z',
    "graph": 'symdiff graph "(a+b)*(b+1)" --at a=2,b=1 --highlight b -o graph.svg',
    "check": 'symdiff check "(x + sigmoid(y)) / (sigmoid(x) + (x + y)^2)" --at x=3,y=-4',
    "cache": 'symdiff cache --clear',
}


class UsageError(Exception):
    pass


def _split_top_level(text):
    """``text`` split at the commas outside parentheses: ``x=atan2(1, 2),y=1`` is two items."""
    items, depth, start = [], 0, 0
    for k, c in enumerate(text):
        if c == "(":
            depth += 1
        elif c == ")":
            depth = max(depth - 1, 0)
        elif c == "," and depth == 0:
            items.append(text[start:k])
            start = k + 1
    items.append(text[start:])
    return items


def _parse_at(text):
    """``a=2,b=1`` -> {"a": 2.0, "b": 1.0}; ``@path`` reads the pairs from a file, separated by
    commas or line ends (a point of 10^5 variables does not fit on a command line)."""
    if text.startswith("@"):
        text = _read_file(text[1:], "the point").replace("\n", ",")
    values = {}
    for item in filter(None, (p.strip() for p in _split_top_level(text))):
        name, sep, value = item.partition("=")
        if not sep and values:
            raise UsageError(f"--at expects name=value pairs separated by commas, got {item!r} without a "
                             "name: one value per variable (many points: the Python API takes numpy arrays)")
        if not sep or not name.strip():
            raise UsageError(f"--at expects name=value pairs separated by commas, got {item!r}")
        name = name.strip()
        if name in values:
            raise UsageError(f"--at gives {name} twice")
        values[name] = _constant(value.strip(), item)
    return values


def _constant(text, item):
    """A number, or a constant expression such as ``pi/4`` or ``sqrt(2)`` (parsed, never eval'd)."""
    try:
        return float(text)
    except ValueError:
        pass
    try:
        return float(parse(text).evalf())       # TypeError: free symbols, or not a real number (1/0)
    except (ParseError, TypeError, ValueError, RecursionError):
        hint = "; separate the pairs with ',': x=1,y=2" if ";" in text else ""
        raise UsageError(f"--at: {text!r} is not a number or a constant expression such as pi/4 "
                         f"(in {item!r}){hint}") from None


def _wrt(text):
    return [w.strip() for w in text.split(",") if w.strip()] if text else None


def _formulas(args, several):
    """The formula, or when ``several`` are allowed (a Jacobian) the ones separated by ';'.

    Where only one is allowed a ';' stays in the text, so the parser points at it.
    """
    args.several = several      # for the error of a ',' between formulas: say to use ';'
    return [f.strip() for f in args.formula.split(";")] if several else [args.formula]


def _in_whole_text(error, text):
    """A ParseError in one of the formulas that ``_formulas`` split off ``text``, pointing
    into ``text`` as typed (the caret under the ';' that ends an unfinished formula)."""
    k = error.formula_index
    pieces = text.split(";") if k is not None and isinstance(text, str) else []
    if k is None or k >= len(pieces) or pieces[k].strip() != error.text:
        return error
    start = sum(len(piece) + 1 for piece in pieces[:k])
    lead = len(pieces[k]) - len(pieces[k].lstrip())
    return ParseError(error.reason, text, start + lead + error.position, k)


def _read_formula(text, stdin):
    """The formula itself, read from a file for ``@path`` and from ``stdin`` for ``-``."""
    if text == "-":
        try:
            return stdin.read().removeprefix("\ufeff")
        except UnicodeDecodeError as e:
            raise UsageError(f"cannot read the formula from standard input: {_not_text(e)}") from None
    if text.startswith("@"):
        return _read_file(text[1:], "the formula")
    return text


def _read_file(path, what):
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        raise UsageError(f"cannot read {what} from {path!r}: {e.strerror}") from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as e:
        raise UsageError(f"cannot read {what} from {path!r}: {_not_text(e)}") from None
    # a byte-order mark is no character; line ends as text mode reads them (Windows, old Mac)
    return text.removeprefix("\ufeff").replace("\r\n", "\n").replace("\r", "\n")


def _not_text(error):
    """What a UnicodeDecodeError means to someone who gave a file (or a pipe) of the wrong kind."""
    return (f"it is not {error.encoding.upper()} text (byte {error.start + 1} "
            f"is 0x{error.object[error.start]:02x})")


def _point(args):
    """The ``--at`` values, checked against the formula's variables (for commands that pass
    them on as a dict: the messages then say --at, not the library's at=)."""
    at = _parse_at(args.at or "")
    problem = api.prepare([args.formula], _wrt(getattr(args, "wrt", None)))
    api.point_values(at, [s.name for s in problem.inputs], "--at", [s.name for s in problem.unmentioned])
    return at


def _number(x):
    return f"{float(x):.15g}"


def _evaluate(fn, args):
    """``fn`` at the ``--at`` point (checked against its inputs): (result, the point)."""
    at = _parse_at(args.at or "")
    return fn(*api.point_values(at, [s.name for s in fn.inputs], "--at", fn._unmentioned)), at


def _point_text(at):
    """The point for a heading: in full up to 8 values, else the first 8 and the count (a
    point of 10^5 values made the first line of a gradient 1.2 MB long; --json gives it all)."""
    return printing.listing([f"{k}={_number(v)}" for k, v in at.items()])


def _json_number(x):
    """A float for JSON, which has no nan or infinity: those are the strings "nan", "inf", "-inf"
    (Python's float() reads them back)."""
    x = float(x)
    return x if math.isfinite(x) else str(x)


def _print_json(fn, at, out, **results):
    """``--json``: the point, the results, the mode and the backend as one JSON object."""
    record = {"point": {k: _json_number(v) for k, v in at.items()}, **results,
              "mode": fn.how, "backend": fn.backend}
    print(json.dumps(record), file=out)


#: the longest program the commands that evaluate one point run on the python backend by
#: default: CPython's compile of one function grows faster than its length (a million lines
#: took 20 s), while numba's tape executor is compiled once per machine and then reads any length
PYTHON_STATEMENTS = 20_000


class _CompileNotice:
    """Says once, on a terminal's stderr, that numba has started compiling.

    The first run of a large formula compiles numba's tape executor (9 s on 2 cores) and
    would be silent all that time.  Numba announces each compile it does through its event
    API ("numba:compile"), and loading machine code from its on-disk cache is no compile, so
    a later run says nothing.  Not on a pipe or a file, where no one watches (as git shows
    progress only on a terminal), and armed only by the commands about to use numba: the
    python backend does not import it.
    """

    TEXT = "symdiff: numba is compiling (the machine code is cached for later runs) ..."

    def __init__(self, err):
        isatty = getattr(err, "isatty", None)
        self.err = err if isatty is not None and isatty() else None
        self.listener = None

    def arm(self):
        if self.err is None or self.listener is not None:
            return
        from numba.core import event
        notice = self

        class Listener(event.Listener):
            def on_start(self, _event):
                if notice.err is not None:
                    print(notice.TEXT, file=notice.err, flush=True)
                    notice.err = None

            def on_end(self, _event):
                pass

        self.listener = Listener()
        event.register("numba:compile", self.listener)

    def close(self):
        if self.listener is not None:
            from numba.core import event
            event.unregister("numba:compile", self.listener)
            self.listener = None


def _numba_ahead(args):
    """The command is about to use numba: arm the compile notice (see _CompileNotice)."""
    notice = getattr(args, "compile_notice", None)
    if notice is not None:
        notice.arm()


_SPARSE_VERB = {"export": "exports", "source": "writes the program of"}


def _build(kind, formulas, args, sparse=False):
    """``api.build`` for a command: a dense matrix too big to build (api.DenseMatrixWarning,
    about 200 bytes an entry: a 10^5 x 10^5 Hessian ran out of memory after 6 minutes) is an
    error that points to --sparse, raised before the dense build starts."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", api.DenseMatrixWarning)
        try:
            return api.build(kind, formulas, _wrt(args.wrt), args.mode, sparse=sparse)
        except api.DenseMatrixWarning as w:
            rows, cols = w.shape
            raise UsageError(
                f"a dense {rows:,} x {cols:,} {w.what} has {rows * cols:,} entries, {w.nonzeros:,} of "
                f"them not structurally zero: too many to build (about {w.gigabytes:,.0f} GB); "
                f"--sparse {_SPARSE_VERB.get(args.command, 'evaluates')} the nonzeros alone") from None


def _compiled(kind, formulas, args, sparse=False):
    """The function of ``kind``, on ``--backend`` if given: else python, or numba's tape for a
    program longer than PYTHON_STATEMENTS (the output names the backend that ran)."""
    built = _build(kind, formulas, args, sparse)
    backend = args.backend or ("python" if len(built.program.body) <= PYTHON_STATEMENTS else "numba")
    if backend != "python":
        _numba_ahead(args)
    return api.compile_built(built, backend)


def cmd_grad(args, out):
    fn = _compiled("value_and_grad", [args.formula], args)
    (value, gradient), at = _evaluate(fn, args)
    if args.json:
        _print_json(fn, at, out, value=_json_number(value),
                    gradient={s.name: _json_number(d) for s, d in zip(fn.wrt, gradient)})
        return
    print(f"f({_point_text(at)}) = {_number(value)}", file=out)
    if not fn.wrt:
        print("(no variables: nothing to differentiate)", file=out)
        return
    width = max(len(s.name) for s in fn.wrt)
    for sym, d in zip(fn.wrt, gradient):
        print(f"df/d{sym.name:<{width}} = {_number(d)}", file=out)
    print(f"({fn.mode} mode, {fn.backend} backend)", file=out)


def cmd_matrix(args, out):
    """``jacobian`` and ``hessian``: the matrix at a point, as a table labelled on both sides."""
    jacobian = args.command == "jacobian"
    formulas = _formulas(args, several=jacobian)
    fn = _compiled("jacobian" if jacobian else "hessian", formulas if jacobian else formulas[:1], args,
                   args.sparse)
    matrix, at = _evaluate(fn, args)
    if args.sparse:
        rows, cols, shape = fn.sparsity
        values = np.asarray(matrix.tocsr()[list(rows), list(cols)]).ravel() if rows else []
    if args.json:
        results = {"formulas": formulas} if jacobian else {"formula": formulas[0]}
        results["wrt"] = [s.name for s in fn.wrt]
        results[args.command] = (
            {"shape": list(shape), "rows": list(rows), "cols": list(cols), "values": list(map(_json_number, values))}
            if args.sparse else [[_json_number(x) for x in row] for row in matrix])
        _print_json(fn, at, out, **results)
        return
    subject = "; ".join(api.formula_text(f, 60) for f in formulas)
    print(f"{'Jacobian' if jacobian else 'Hessian'} of {subject} at {_point_text(at) or 'no point'} "
          f"({fn.how} mode, {fn.backend} backend):", file=out)
    if not fn.wrt:
        print("(no variables: nothing to differentiate)", file=out)
        return
    if args.sparse:
        named = " (f0, f1, ...: the formulas in order)" if jacobian and len(formulas) > 1 else ""
        print(f"{len(values):,} structural nonzero{'' if len(values) == 1 else 's'} of "
              f"{shape[0]:,} x {shape[1]:,}{named}", file=out)
        labels = fn.program.output_labels
        width = max(map(len, labels), default=0)
        for label, x in zip(labels, values):
            print(f"{label:<{width}} = {_number(x)}", file=out)
        return
    columns = [f"d/d{s.name}" for s in fn.wrt]
    rows = [api.formula_text(f, 30) for f in formulas] if jacobian else columns
    cells = [[_number(x) for x in row] for row in matrix]
    first = max(map(len, rows))
    widths = [max(len(c), *(len(row[j]) for row in cells)) for j, c in enumerate(columns)]
    print(" " * first + "".join(f"  {c:>{w}}" for c, w in zip(columns, widths)), file=out)
    for label, row in zip(rows, cells):
        print(f"{label:<{first}}" + "".join(f"  {x:>{w}}" for x, w in zip(row, widths)), file=out)


def _size(n):
    return f"{n / 1e6:.1f} MB" if n >= 100_000 else f"{n / 1e3:.1f} kB"


def cmd_cache(args, out):
    from .compile import cache_files, cache_limit, clear_cache, default_cache_dir
    directory = default_cache_dir()
    if args.clear:
        removed, freed = clear_cache(directory)
        print(f"removed {removed:,} files ({_size(freed)}) from {directory}", file=out)
        return
    files = cache_files(directory)
    modules = sum(1 for p in files if p.parent == directory)
    size = sum(p.stat().st_size for p in files)
    limit = cache_limit()
    kept = (f"trimmed to {_size(limit)}, least recently used first, when a new module is written; "
            if limit is not None else "no size limit; ")
    print(f"{directory}: {modules:,} generated modules, {_size(size)} with their bytecode and "
          f"numba's compiled code ({kept}symdiff cache --clear empties it; SYMDIFF_CACHE_DIR moves it, "
          f"SYMDIFF_CACHE_MAX_MB sets the limit)", file=out)


def cmd_diff(args, out):
    if args.order < 1:
        raise UsageError(f"--order must be 1 or more, not {args.order}")
    wrt = _wrt(args.wrt) or [s.name for s in api.prepare([args.formula], None).wrt]    # all, by name
    derivatives = api.diff_each(args.formula, wrt, args.order) if wrt else []
    if args.json:
        print(json.dumps({"formula": api.formula_text(args.formula, math.inf), "order": args.order,
                          "derivatives": {name: str(d) for name, d in zip(wrt, derivatives)}}), file=out)
        return
    if not wrt:
        print("0 (the formula mentions no variable)", file=out)
    # d^2/dx5^2, not d2/dx52, which reads as the first derivative by a variable x52
    power = "" if args.order == 1 else f"^{{{args.order}}}" if args.latex else f"^{args.order}"
    for name, derivative in zip(wrt, derivatives):
        if args.latex:
            x = sympy.latex(sympy.Symbol(name))
            print(f"\\frac{{\\partial{power} f}}{{\\partial {x}{power}}} = {sympy.latex(derivative)}", file=out)
        else:
            print(f"d{power}/d{name}{power}: {derivative}", file=out)


def cmd_source(args, out):
    built = _build(args.kind, _formulas(args, args.kind in api.SEVERAL_FORMULAS), args, args.sparse)
    if args.backend == "cuda":          # the code, written without a GPU to run it
        from .cuda_backend import module_source
        out.write(module_source(built.program))
        return
    if args.backend != "python":
        _numba_ahead(args)      # a long program is encoded as a tape, by numba code
    fn = api.compile_built(built, args.backend)
    out.write(fn.source)


def cmd_export(args, out):
    from .export import export
    built = _build(args.kind, _formulas(args, args.kind in api.SEVERAL_FORMULAS), args, args.sparse)
    if args.backend == "numba":
        _numba_ahead(args)      # a long program is encoded as a tape, by numba code
    path = export(built, args.output, backend=args.backend)
    print(f"wrote {path} ({built.kind}, {built.how} mode, "
          f"{printing.plural(len(built.program.body), 'statement')}; "
          f"inputs {printing.listing(built.program.inputs)})", file=out)


def cmd_compare(args, out):
    from .compare import compare
    formulas = _formulas(args, several=True)
    if args.backend != "python" and not args.no_timing:
        _numba_ahead(args)
    report = compare(formulas if len(formulas) > 1 else formulas[0], wrt=_wrt(args.wrt),
                     backend=args.backend, measure=not args.no_timing)
    if args.json:
        def side(c):
            return {"ops": c.ops, "ops_by_kind": c.ops_by_kind, "sweeps": c.sweeps, "peak_live": c.peak_live,
                    "length": c.length, "estimate": c.estimate, "seconds": c.seconds}
        print(json.dumps({"formulas": report.formulas, "wrt": report.wrt, "outputs": report.outputs,
                          "forward": side(report.forward), "reverse": side(report.reverse),
                          "recommended": report.recommended, "reason": report.reason,
                          **({"programs": report.programs()} if args.programs else {})}), file=out)
        return
    print(report, file=out)
    if args.programs:
        print("\n" + report.programs(), file=out)


def cmd_graph(args, out):
    from .display import show_graph
    if args.max_nodes < 1:
        raise UsageError(f"--max-nodes must be 1 or more, not {args.max_nodes}")
    picture = show_graph(args.formula, at=_point(args) if args.at is not None else None,
                         highlight=args.highlight, path=args.output,
                         max_nodes=args.max_nodes)
    print(f"wrote {args.output}" + (f"; {picture.equation}" if picture.equation else ""), file=out)


def cmd_check(args, out):
    from .check import check_grad, require_finite
    if args.sample is not None and args.sample < 1:
        raise UsageError(f"--sample must be 1 or more, not {args.sample}")
    at = _point(args)
    require_finite(at, "--at")
    result = check_grad(args.formula, wrt=_wrt(args.wrt), at=at, sample=args.sample)
    if args.json:
        partials = {str(w): {"forward": _json_number(f), "reverse": _json_number(r), "numeric": _json_number(d)}
                    for w, f, r, d in zip(result.wrt, result.forward, result.reverse, result.numeric)}
        print(json.dumps({"ok": result.ok, "max_relative_error": _json_number(result.max_relative_error),
                          "tolerance": result.tolerance, "checked": len(result.wrt),
                          "of": len(result.wrt) if result.of is None else result.of,
                          "partials": partials}), file=out)
    else:
        print(result, file=out)
    return 0 if result.ok else 1


class _Parser(argparse.ArgumentParser):
    """argparse, except that a formula starting with a minus sign (``-x^2``) is an argument.

    Plain argparse takes ``-x^2`` for an unknown option (it lets only negative
    numbers and words with spaces through).  Here an argument starting with a
    single ``-`` is an option only when it begins with one of the command's
    short options (``-h``, ``-o``); ``--`` still ends the options.
    """

    def _parse_optional(self, arg_string):
        if arg_string.startswith("-") and not arg_string.startswith("--") \
                and arg_string[:2] not in self._option_string_actions:
            return None         # a positional argument: the formula
        return super()._parse_optional(arg_string)


_JSON_HELP = ('print one JSON object (point, results, mode, backend) for scripts; nan and infinities '
              'are the strings "nan", "inf" and "-inf"')


def build_parser():
    parser = _Parser(
        prog="symdiff",
        description="Differentiate formulas symbolically and generate forward/reverse-mode code.",
        epilog="examples:\n  " + "\n  ".join(EXAMPLES.values()),
        formatter_class=argparse.RawDescriptionHelpFormatter)
    from . import __version__
    parser.add_argument("--version", action="version", version=f"symdiff {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND")

    def command(name, help_text, wrt=True):
        p = sub.add_parser(name, help=help_text, description=help_text,
                           epilog="example:\n  " + EXAMPLES[name],
                           formatter_class=argparse.RawDescriptionHelpFormatter)
        p.add_argument("formula", help='the formula, e.g. "(a+b)*(b+1)"; @FILE reads it from a '
                       'file and - from standard input (for formulas too long for a command line)')
        if wrt:
            p.add_argument("--wrt", help="comma-separated variables (default: all, sorted by name)")
        return p

    for name, what, point, run in (
            ("grad", "a formula and its gradient at a point", "a=2,b=1", cmd_grad),
            ("jacobian", "the Jacobian of formulas separated by ';' at a point", "x=1,y=2", cmd_matrix),
            ("hessian", "the Hessian of a formula at a point (forward over --mode)", "x=1,y=2", cmd_matrix)):
        p = command(name, f"evaluate {what}")
        p.add_argument("--at", help=f"the point, e.g. {point}; @FILE reads it from a file")
        p.add_argument("--mode", default="auto", choices=api.MODES)
        p.add_argument("--backend", choices=api.BACKENDS,
                       help=f"default: python (one point needs no compiling), or numba's tape for a "
                            f"program over {PYTHON_STATEMENTS:,} statements, which CPython compiles slowly")
        p.add_argument("--json", action="store_true", help=_JSON_HELP)
        if run is cmd_matrix:
            p.add_argument("--sparse", action="store_true",
                           help=f"only the structural nonzeros, one 'label = value' a line (--json: shape, "
                                f"rows, cols and values, as scipy's COO); a dense matrix of over "
                                f"{api.DENSE_WARNING_ENTRIES:,} entries needs it")
        p.set_defaults(run=run)

    p = command("diff", "print the symbolic derivative")
    p.add_argument("--order", type=int, default=1, help="how many times to differentiate (default 1)")
    p.add_argument("--latex", action="store_true", help="print each derivative as LaTeX, \\frac{\\partial f}{\\partial x} = ...")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: the formula, the order and each derivative as SymPy text")
    p.set_defaults(run=cmd_diff)

    p = command("source", "print the generated derivative program")
    p.add_argument("--mode", default="auto", choices=api.MODES)
    p.add_argument("--backend", default="python", choices=api.BACKENDS)
    p.add_argument("--kind", default="grad", choices=api.KINDS,
                   help="what to generate; a jacobian, value_and_jacobian, jvp or vjp takes formulas separated by ';'")
    p.add_argument("--sparse", action="store_true",
                   help="jacobian, value_and_jacobian or hessian: only the structural nonzeros (their pattern "
                        "is in the program's output labels)")
    p.set_defaults(run=cmd_source)

    p = command("export", "write a standalone numba module (imports only numpy and numba; "
                          "--backend cuda: a numba.cuda one)")
    p.add_argument("-o", "--output", required=True, help="the .py file to write")
    p.add_argument("--mode", default="auto", choices=api.MODES)
    p.add_argument("--backend", default="numba", choices=("numba", "cuda"),
                   help="numba: CPU kernels (default); cuda: a numba.cuda module for an NVIDIA GPU "
                        "(written without one)")
    p.add_argument("--kind", default="grad", choices=api.KINDS,
                   help="what to export; a jacobian, value_and_jacobian, jvp or vjp takes formulas separated by ';'")
    p.add_argument("--sparse", action="store_true",
                   help="jacobian, value_and_jacobian or hessian: export only the structural nonzeros, "
                        "and their pattern")
    p.set_defaults(run=cmd_export)

    p = command("compare", "forward vs reverse mode: operations, sweeps, memory, time, recommendation")
    p.add_argument("--backend", default="numba", choices=api.BACKENDS, help="what the timing runs on")
    p.add_argument("--no-timing", action="store_true", help="skip measuring seconds per evaluation")
    p.add_argument("--programs", action="store_true",
                   help="also print the two programs side by side (long ones shortened)")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: each mode's operations (by kind), sweeps, peak live values, "
                        "length, cost model estimate and seconds (null with --no-timing), the "
                        "recommendation and its reason")
    p.set_defaults(run=cmd_compare)

    # the picture shows every input; --highlight picks the one whose paths are summed
    p = command("graph", "draw the computational graph with values and edge derivatives", wrt=False)
    p.add_argument("--at", help="the point, e.g. a=2,b=1 (without it, the edges show the local "
                                "derivatives as formulas)")
    p.add_argument("--highlight", help="an input whose paths to the output are summed")
    p.add_argument("-o", "--output", required=True, help="picture file: .svg, .png or .pdf")
    p.add_argument("--max-nodes", type=int, default=MAX_NODES,
                   help=f"refuse larger graphs, which are not readable (default {MAX_NODES})")
    p.set_defaults(run=cmd_graph)

    p = command("check", "check both modes against central finite differences (exit 1 on mismatch)")
    p.add_argument("--at", required=True, help="the point, e.g. x=3,y=-4; @FILE reads it from a file")
    p.add_argument("--sample", type=int, metavar="K",
                   help="check K of the partial derivatives, chosen at random (seed 0): central "
                        "differences cost n^2, about 20 minutes for 10^5 variables")
    p.add_argument("--json", action="store_true",
                   help="print one JSON object: ok, the largest relative error, the tolerance, how many "
                        "partials were checked of how many, and each one's forward, reverse and numeric value")
    p.set_defaults(run=cmd_check)

    help_text = "show the size of the cache of generated modules, or --clear it"
    p = sub.add_parser("cache", help=help_text, description=help_text,
                       epilog="example:\n  " + EXAMPLES["cache"], formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--clear", action="store_true",
                   help="delete the generated modules and their compiled code (they are made again when needed)")
    p.set_defaults(run=cmd_cache)
    return parser


def main(argv=None, out=None, err=None, stdin=None):
    out = out or sys.stdout
    err = err or sys.stderr
    parser = build_parser()
    args = parser.parse_args(argv)
    if not getattr(args, "run", None):
        parser.print_help(out)
        return 2
    args.compile_notice = notice = _CompileNotice(err)
    with warnings.catch_warnings():
        warnings.showwarning = _warning_printer(err, warnings.showwarning)
        return _run(args, out, err, stdin, notice)


def _warning_printer(err, default):
    """symdiff's own warnings as one line each, ``symdiff: warning: ...``, as its errors are
    (not Python's ``path:line: RuntimeWarning: ...`` and the source line); others as before."""
    def show(message, category, filename, lineno, file=None, line=None):
        text = str(message)
        if text.startswith("symdiff: "):
            print(f"symdiff: warning: {text.removeprefix('symdiff: ')}", file=err)
        else:
            default(message, category, filename, lineno, file, line)
    return show


def _run(args, out, err, stdin, notice):
    try:
        if hasattr(args, "formula"):
            args.formula = _read_formula(args.formula, stdin or sys.stdin)
        status = args.run(args, out)
    except BrokenPipeError:
        # the reader went away (symdiff ... | head): stop quietly, as other Unix tools do,
        # with stdout pointed at devnull so that flushing it at exit raises nothing more
        if out is sys.stdout:
            os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141      # 128 + SIGPIPE, what a shell reports for a tool killed by it
    except KeyboardInterrupt:
        # Ctrl-C, perhaps in the middle of numba's compiler: stop as other Unix tools do,
        # without a traceback of wherever the interrupt landed
        return 130      # 128 + SIGINT
    except ParseError as e:
        if getattr(args, "several", False) and e.reason.endswith(COMMA_OUTSIDE):
            e = ParseError(f"{e.reason}; separate the formulas with ';'", e.text, e.position, e.formula_index)
        print(f"symdiff: error: {_in_whole_text(e, getattr(args, 'formula', None))}", file=err)
        return 2
    except (UsageError, ValueError, TypeError, NotImplementedError, OSError, RuntimeError) as e:
        print(f"symdiff: error: {e}", file=err)
        return 2
    finally:
        notice.close()
    return status or 0


if __name__ == "__main__":
    sys.exit(main())
