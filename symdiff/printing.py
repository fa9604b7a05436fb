"""Printing: a Program as readable, deterministic Python source.

One statement per line, names from the program, a docstring saying what the
function computes, the mode and the call order, and only the imports the
code uses.  Spellings come from the op table: the ``numpy`` dialect (python
backend: arrays and numpy scalars) or the ``scalar`` dialect (numba: one
element at a time), ``vector`` (numba batch loops LLVM can vectorise: see
:mod:`symdiff.vecmath`) or ``cuda`` (numba.cuda device functions).
"""

import base64
import functools
import math
import re
import textwrap
import zlib

from . import graph as _graph
from .ops import CUDA_SPELLINGS, OPS, VECTOR_SPELLINGS

#: body_lines' loop in C, where symdiff's optional C core is built (see graph.ACCELERATED)
_infix_lines = _graph._graphcore.infix_lines if _graph.ACCELERATED else None

_IMPORTS = (      # (a quick substring test, the exact pattern, the import line)
    ("base64.", re.compile(r"\bbase64\."), "import base64"),
    ("zlib.", re.compile(r"\bzlib\."), "import zlib"),
    ("np.", re.compile(r"\bnp\."), "import numpy as np"),
    ("math.", re.compile(r"\bmath\."), "import math"),
    ("scipy.special.", re.compile(r"\bscipy\.special\."), "import scipy.special"),
    ("numba.", re.compile(r"\bnumba\."), "import numba"),
    ("cuda.", re.compile(r"\bcuda\."), "from numba import cuda"),
)


def format_constant(value):
    if math.isnan(value):
        return "np.nan"
    if math.isinf(value):
        return "np.inf" if value > 0 else "-np.inf"
    return repr(value)


def operand(a):
    """A program operand as source: a name as it is, a number by format_constant."""
    return a if isinstance(a, str) else format_constant(a)


def _spellings(dialect):
    if dialect == "cuda":
        return CUDA_SPELLINGS
    if dialect == "vector":
        return VECTOR_SPELLINGS
    return {name: getattr(op, dialect) for name, op in OPS.items()}


def statement(ins, dialect, spellings=None):
    """One line of code for instruction ``ins``."""
    args = [operand(a) for a in ins.args]
    if ins.op == "pow" and args[0].startswith("-"):
        args[0] = f"({args[0]})"       # -2.0 ** x would mean -(2.0 ** x); -0.0 ** 0 would be -1.0
    if ins.op == "neg" and args[0].startswith("-"):
        args[0] = f"({args[0]})"
    spelling = (spellings or _spellings(dialect))[ins.op]
    return f"{ins.target} = {spelling.format(*args)}"


def body_lines(program, dialect):
    spellings = _spellings(dialect)
    # the common line -- an arithmetic operator between names and constants -- goes the
    # short way; a constant base of a power keeps the general path (parentheses)
    infix = {op: " " + spellings[op][4:-4] + " " for op in ("add", "sub", "mul", "div", "pow")
             if spellings.get(op) in ("{0} + {1}", "{0} - {1}", "{0} * {1}", "{0} / {1}", "{0} ** {1}")}
    constants = {}      # float -> its spelling; zeros are not cached (0.0 == -0.0)

    def constant(value):
        text = constants.get(value) if value else None
        if text is None:
            text = format_constant(value)
            if value:
                constants[value] = text
        return text

    if _infix_lines is not None:       # the loop below, in C
        return _infix_lines(program.body, infix, constants, format_constant,
                            lambda ins: statement(ins, dialect, spellings))
    lines = []
    append = lines.append
    for ins in program.body:
        target, op, args = ins
        sign = infix.get(op)
        if sign is not None:
            a, b = args
            if a.__class__ is not str:
                if op == "pow":
                    append(statement(ins, dialect, spellings))
                    continue
                a = constant(a)
            if b.__class__ is not str:
                b = constant(b)
            append(f"{target} = {a}{sign}{b}")
        else:
            append(statement(ins, dialect, spellings))
    return lines


def plural(k, word):
    """``"1 input"``, ``"3 inputs"``."""
    return f"{k} {word}{'' if k == 1 else 's'}"


def listing(items, limit=8):
    """``"a, b, c"``, or for more than ``limit`` items ``"a, b, ... (N in all)"``: names for humans."""
    items = [str(item) for item in items]
    if len(items) <= limit:
        return ", ".join(items)
    return ", ".join(items[:limit]) + f", ... ({len(items)} in all)"


#: Longest list of names written out as a tuple literal; a longer one is stored compressed:
#: CPython took 13 s to compile the 4 x 10^6 labels of a dense 2,000 x 2,001 Jacobian as a literal
NAMES_WRITTEN_OUT = 1000


def packed_bytes(data):
    """Source of an expression giving back the bytes ``data``: compressed (zlib), then base64,
    in one string literal, which costs CPython nothing to compile (a literal list does)."""
    text = base64.b64encode(zlib.compress(data, 1)).decode("ascii")
    return f'zlib.decompress(base64.b64decode("{text}"))'


def names_literal(name, items, width=96):
    """``NAME = ('a', 'b', ...)`` as module source, wrapped at ``width`` columns; over
    NAMES_WRITTEN_OUT names, the same tuple from their UTF-8 text, packed (:func:`packed_bytes`)."""
    items = [str(item) for item in items]
    if len(items) > NAMES_WRITTEN_OUT and not any("\0" in item for item in items):
        packed = packed_bytes("\0".join(items).encode("utf-8"))
        return f'{name} = tuple({packed}.decode("utf-8").split("\\0"))'
    items = [repr(item) for item in items]
    if len(", ".join(items)) + len(name) + 6 <= width:
        return f"{name} = {tuple_expression(items)}"
    lines = textwrap.wrap(", ".join(items) + ",", width - 4, break_long_words=False, break_on_hyphens=False)
    return f"{name} = (\n" + "".join(f"    {line}\n" for line in lines) + ")"


def tuple_expression(items):
    """Python source of a tuple of the given expressions: ``()``, ``(a,)``, ``(a, b)``."""
    items = list(items)
    return "(" + ", ".join(items) + ("," if len(items) == 1 else "") + ")"


def leading_parameters(names):
    """``"a, b, "`` for parameters before more: ``""`` when there are none."""
    return "".join(f"{name}, " for name in names)


def return_expression(program, extra=()):
    """The program's outputs, then ``extra`` expressions, as a tuple."""
    return tuple_expression([operand(o) for o in program.outputs] + list(extra))


def docstring(text, indent=""):
    text = text.replace("\\", "\\\\").replace('"""', '\\"\\"\\"')
    lines = text.splitlines() or [""]
    if len(lines) == 1:
        return f'{indent}"""{lines[0]}"""'
    inner = "\n".join((indent + line) if line else "" for line in lines[1:])
    return f'{indent}"""{lines[0]}\n{inner}\n{indent}"""'


def imports_for(code):
    """The import lines ``code`` needs, in a fixed order."""
    return [line for needle, pattern, line in _IMPORTS if needle in code and pattern.search(code)]


def function_source(program, dialect="numpy", name=None, decorator=None, extra=(), free=False):
    """``def name(inputs): ...`` computing the program's outputs (then ``extra`` expressions) as a tuple.

    ``free``: ``del`` each temporary after its last use.  Python keeps a function's
    locals until it returns, so on numpy arrays a long program would hold every
    intermediate array at once; freed, it holds what :meth:`Program.peak_live` counts.
    """
    name = name or program.name
    lines = [] if decorator is None else [decorator]
    lines.append(f"def {name}({', '.join(program.inputs)}):")
    lines.append(docstring(program.title + "\n\nReturns (" + listing(program.output_labels, 32) + ").",
                           "    "))
    body = body_lines(program, dialect)
    if free:
        body = _with_frees(program, body)
    if body:
        lines.append("    " + "\n    ".join(body))
    lines.append("    return " + return_expression(program, extra))
    return "\n".join(lines) + "\n"


def _with_frees(program, body):
    """``body`` (one line per instruction) with ``del`` lines after each temporary's last use."""
    dying = program.last_uses()
    out = []
    for i, line in enumerate(body):
        out.append(line)
        if i in dying:
            out.append("del " + ", ".join(sorted(dying[i])))
    return out


@functools.cache       # read once per process, not once per generated module
def kernel_source(path):
    """The code between ``# --- begin kernels ---`` and ``# --- end kernels ---`` in the file
    ``path`` (a symdiff module of numba functions), without its import lines: a generated
    module copies it, and :func:`module_source` writes the imports the code uses."""
    with open(path, encoding="utf-8") as f:
        text = f.read()
    begin = text.index("# --- begin kernels ---\n") + len("# --- begin kernels ---\n")
    lines = text[begin:text.index("# --- end kernels ---")].splitlines()
    while lines and (not lines[0] or lines[0].startswith("import ")):
        lines.pop(0)
    return "\n".join(lines).strip("\n") + "\n"


def module_source(header, functions):
    """A whole module: docstring ``header``, the imports the code uses, the functions."""
    code = "\n\n".join(functions)
    parts = [docstring(header)]
    imports = imports_for(code)
    if imports:
        parts.append("\n".join(imports))
    parts.append(code)
    return "\n\n\n".join(p.rstrip("\n") for p in parts) + "\n"
