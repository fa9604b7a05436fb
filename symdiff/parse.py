"""A safe parser for symdiff's expression language.

Text goes through a tokenizer and an operator-precedence (shunting-yard)
parser with explicit stacks: nothing in the text is ever evaluated, and a
formula nested 100,000 levels deep parses without recursion.  Nodes are
interned straight into a :class:`~symdiff.graph.Graph`.

Precedence, loosest first: ``+ -`` (left), ``* /`` (left), unary ``- +``,
``^ **`` (right).  So ``-x^2 == -(x^2)`` and ``2^-x == 2^(-x)``.
"""

import difflib
import re
from fractions import Fraction

from . import graph as _graph
from .graph import Graph
from .ops import LANGUAGE_CONSTANTS, LANGUAGE_FUNCTIONS

_SHOWN = 60        # characters of a long line shown on each side of an error
COMMA_OUTSIDE = "',' outside a function call"      # the CLI adds a hint for a Jacobian


class ParseError(ValueError):
    """Malformed formula text.

    ``.position`` is the 1-based character position of the problem, ``.reason``
    says what is wrong, and ``str(error)`` shows the text with a caret under
    that position.  Where several formulas were given (a Jacobian),
    ``.formula_index`` is the 0-based index of the one at fault, ``.text`` and
    ``.position`` are within it, and the reason starts "formula 2 of 3"; else
    ``.formula_index`` is None.
    """

    def __init__(self, reason, text, position, formula_index=None):
        self.reason = reason
        self.text = text
        self.position = position
        self.formula_index = formula_index
        super().__init__(self._message())

    def _message(self):
        # Show the line holding the error, caret under the offending character.
        start = self.text.rfind("\n", 0, max(self.position - 1, 0)) + 1
        end = self.text.find("\n", start)
        line = self.text[start:] if end < 0 else self.text[start:end]
        column = self.position - 1 - start
        if len(line) > 2 * _SHOWN + 8:        # a long line: the part around the problem
            left = max(0, column - _SHOWN)
            right = min(len(line), column + _SHOWN)
            prefix = "... " if left > 0 else ""
            line = prefix + line[left:right] + (" ..." if right < len(line) else "")
            column = column - left + len(prefix)
        return f"{self.reason} (at position {self.position})\n  {line}\n  {' ' * column}^"


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/^(),])
  | (?P<bad>.)
""", re.VERBOSE | re.DOTALL)

def tokenize(text):
    """``(kind, text, position)`` tuples, kind in number/name/op/end; position 1-based."""
    tokens = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "space":
            continue
        if kind == "bad":
            raise ParseError(_unexpected(m.group()), text, m.start() + 1)
        tokens.append((kind, m.group(), m.start() + 1))
    tokens.append(("end", "", len(text) + 1))
    return tokens


def _describe(kind, tok):
    return "the end of the formula" if kind == "end" else repr(tok)


class _Call:
    """A function call waiting on the operator stack for its arguments.

    ``position`` is the index of its name among the tokens."""

    __slots__ = ("name", "position", "nargs")

    def __init__(self, name, position):
        self.name = name
        self.position = position
        self.nargs = 0


# The parser's own tokenizer: token texts only (match objects are the slow part
# of ``tokenize``); positions are recovered from ``tokenize`` when an error is
# reported.  Digits are ASCII, as in ``_TOKEN``.
_FAST_TOKEN = re.compile(r"\s*((?:[0-9]+\.?[0-9]*|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
                         r"|[A-Za-z_][A-Za-z0-9_]*|\*\*|[-+*/^(),]|\S)")
_NAME_START = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz_")
_DIGIT_START = frozenset("0123456789.")
# binary operator -> precedence; '^' (and '**') is the one right-associative one.
# Unary signs bind at 3: -x^2 == -(x^2), -x*y == (-x)*y.
_INFIX = {"+": 1, "-": 1, "*": 2, "/": 2, "^": 4, "**": 4}
_BOTTOM = (-1, None, 0)     # stack sentinel: never reduced


def _kind_of(tok):
    c = tok[0]
    if c in _DIGIT_START and tok != ".":
        return "number"
    if c in _NAME_START:
        return "name"
    return "op" if tok in "**+-*/^()," else "bad"


def parse_to_graph(text, graph):
    """Parse ``text`` into ``graph``; return the root node id."""
    if not isinstance(text, str):
        raise TypeError(f"formula text must be a str, not {type(text).__name__}")
    if not text.strip():
        raise ParseError("the formula is empty", text, 1)
    toks = _tokens(text) if _tokens is not None else None       # in C, for ASCII text
    if toks is None:
        toks = _FAST_TOKEN.findall(text)
        toks.append("")         # the end
    if _parse_tokens is not None and type(graph) is Graph:
        # the same loop in C; None where the text is not a well-formed formula, which the
        # loop below then parses again (the nodes made so far are found made) to say why
        root = _parse_tokens(graph, toks, LANGUAGE_FUNCTIONS, LANGUAGE_CONSTANTS, _number_value,
                             _call_node)
        if root is not None:
            return root
    positions = []          # filled on the first error only

    def position(index):
        if not positions:
            positions.extend(pos for _, _, pos in tokenize(text))
        return positions[index]

    def fail(reason, index):
        raise ParseError(reason, text, position(index))

    output = []
    stack = [_BOTTOM]       # (precedence, code, token index); '(' and calls have precedence 0
    symbols = {}            # token -> node, for the names seen before
    numbers = {}            # and for the numbers
    g = graph
    number, neg = g.number, g.neg
    binary = {"+": g.add, "-": g.sub, "*": g.mul, "/": g.div, "^": g.pow, "**": g.pow}
    i = 0
    n_end = len(toks) - 1
    while True:
        # -- an operand: number, name, call, '(' or a prefix sign --------------------
        tok = toks[i]
        c = tok[:1]
        if c in _NAME_START:
            node = symbols.get(tok)
            if node is None:
                if toks[i + 1] == "(":
                    if tok not in LANGUAGE_FUNCTIONS:
                        fail(_unknown_function(tok), i)
                    if toks[i + 2] == ")":
                        fail(f"{tok}() needs arguments: {_arity_text(tok)}", i + 2)
                    stack.append((0, _Call(tok, i), i))
                    i += 2
                    continue
                if tok in LANGUAGE_CONSTANTS:
                    node = g.number_symbol(LANGUAGE_CONSTANTS[tok])
                elif tok in LANGUAGE_FUNCTIONS:
                    fail(f"{tok!r} is a function and cannot be a variable; call it as {tok}(...)", i)
                else:
                    node = symbols[tok] = g.symbol(tok)
            elif toks[i + 1] == "(":
                fail(_unknown_function(tok), i)
            output.append(node)
        elif c in _DIGIT_START and tok != ".":
            node = numbers.get(tok)
            if node is None:
                node = numbers[tok] = number(_number_value(tok))
            output.append(node)
        elif tok == "(":
            stack.append((0, "(", i))
            i += 1
            continue
        elif tok == "-" or tok == "+":
            stack.append((3, "neg" if tok == "-" else "pos", i))
            i += 1
            continue
        else:
            kind = "end" if i == n_end else _kind_of(tok)
            if kind == "bad":
                fail(_unexpected(tok), i)
            fail(f"expected a number, a name or '(' but found {_describe(kind, tok)}", i)
        i += 1

        # -- then operators, ')' and ',' until the next operand -------------------------
        while True:
            tok = toks[i]
            prec = _INFIX.get(tok)
            if prec is not None:
                if prec < 4:        # left-associative: reduce what binds at least as tight
                    while stack[-1][0] >= prec:
                        _reduce(stack.pop()[1], output, binary, neg)
                stack.append((prec, tok, i))
                i += 1
                break
            if tok == ")" or tok == ",":
                while stack[-1][0] > 0:
                    _reduce(stack.pop()[1], output, binary, neg)
                top = stack[-1][1]
                if top is None:
                    fail(COMMA_OUTSIDE if tok == "," else "unmatched ')'", i)
                i += 1
                if tok == ",":
                    if top == "(":
                        fail(COMMA_OUTSIDE, i - 1)
                    top.nargs += 1
                    break
                stack.pop()
                if top != "(":
                    top.nargs += 1
                    _apply_call(g, output, top, fail)
                continue
            if i == n_end:
                while True:
                    _, code, at = stack.pop()
                    if code is None:
                        return output[-1]
                    if code == "(":
                        fail("missing ')' to close this '('", at)
                    if type(code) is _Call:
                        fail(f"missing ')' to close {code.name}(", at)
                    _reduce(code, output, binary, neg)
            kind = _kind_of(tok)
            if kind == "bad":
                fail(_unexpected(tok), i)
            if kind == "name" and tok[0] in "eE" and toks[i - 1][:1] in _DIGIT_START \
                    and tok not in LANGUAGE_FUNCTIONS and toks[i + 1] != "(" \
                    and position(i) == position(i - 1) + len(toks[i - 1]):      # 1e, not 1 e or 2exp(x)
                fail(f"{tok!r} after a number: an exponent needs digits, as in 1e-3 or 2.5E6", i)
            hint = "; use '*' to multiply" if kind in ("name", "number") or tok == "(" else ""
            fail(f"expected an operator but found {_describe(kind, tok)}{hint}", i)


# typographic characters pasted from papers and web pages, and what to type instead
_LOOKALIKES = {"\u2212": "-", "\u2013": "-", "\u00d7": "*", "\u00b7": "*", "\u22c5": "*", "\u00f7": "/",
               "\u00b2": "^2", "\u00b3": "^3", "\u221a": "sqrt(x)", "\u03c0": "pi", "|": "abs(x)",
               "%": "mod(x, y)"}

# other tools' names for functions of the language
_ALIASES = {"ln": "log", "arcsin": "asin", "arccos": "acos", "arctan": "atan", "arctan2": "atan2",
            "arcsinh": "asinh", "arccosh": "acosh", "arctanh": "atanh", "ceiling": "ceil", "sgn": "sign",
            "fabs": "abs", "absolute": "abs", "power": "pow", "maximum": "max", "minimum": "min",
            "logistic": "sigmoid", "expit": "sigmoid", "step": "heaviside", "cuberoot": "cbrt",
            "loggamma": "lgamma", "gammaln": "lgamma", "psi": "digamma",
            "remainder": "mod"}
_SPELLED_OUT = {"log10": "log(x)/log(10)", "log2": "log(x)/log(2)", "exp2": "2^x", "square": "x^2",
                "sec": "1/cos(x)", "csc": "1/sin(x)", "cot": "1/tan(x)",
                "gamma": "exp(lgamma(x)) for x > 0 (or pass sympy.gamma(x))",
                "tgamma": "exp(lgamma(x)) for x > 0 (or pass sympy.gamma(x))"}


def _unknown_function(name):
    """The message for an unknown function name, with what to write instead where we can tell."""
    message = f"unknown function {name!r}"
    lower = name.lower()
    if lower in _SPELLED_OUT:
        return f"{message}: write {_SPELLED_OUT[lower]}"
    guess = _ALIASES.get(lower) or (lower if lower in LANGUAGE_FUNCTIONS else None)
    if guess is None:
        close = difflib.get_close_matches(lower, LANGUAGE_FUNCTIONS, n=1, cutoff=0.8)
        guess = close[0] if close else None
    return f"{message}; did you mean {guess}?" if guess else message


def _number_value(tok):
    """An integer literal stays exact; a decimal or one too long for ``int()`` (over 4,300
    digits, Python's guard) is a float, as IEEE reads it: a 5,000-digit integer is inf."""
    if tok.isdigit():
        try:
            return int(tok)
        except ValueError:
            pass
    return float(tok)


def _unexpected(char):
    if "\udc80" <= char <= "\udcff":        # a byte Python could not decode (surrogateescape)
        return f"unexpected byte 0x{ord(char) - 0xdc00:02x}: the text is not UTF-8"
    if char in _LOOKALIKES:
        return f"unexpected character {char!r}: type {_LOOKALIKES[char]!r}"
    if char == ";":
        return ("unexpected character ';': this takes one formula (several are a list in Python, as in "
                "sd.jacobian(['x*y', 'y']), and separated by ';' on the command line for jacobian, compare, "
                "and source and export with --kind jacobian, value_and_jacobian, jvp or vjp)")
    if char.isalpha():
        return f"unexpected character {char!r}: names use ASCII letters, digits and '_' (alpha, not \u03b1)"
    return f"unexpected character {char!r}"


def _reduce(code, output, binary, neg):
    """Apply operator ``code`` (from the stack) to the operands on top of ``output``."""
    if code == "neg":
        output[-1] = neg(output[-1])
    elif code != "pos":                 # unary plus changes nothing
        b = output.pop()
        output[-1] = binary[code](output[-1], b)


# what a call with another count of arguments means elsewhere (SymPy's log(x, b) is to base b)
_OTHER_ARITIES = {("log", 2): "; for the logarithm of x to base b write log(x)/log(b)",
                  ("sqrt", 2): "; for the n-th root of x write x^(1/n) (or cbrt(x))",
                  ("exp", 2): "; for b to the power x write b^x"}


def _arity_text(name):
    n = LANGUAGE_FUNCTIONS[name][1]
    return "one or more arguments" if n == 0 else f"{n} argument{'s' if n > 1 else ''}"


def _apply_call(graph, output, call, fail):
    node = _call_node(graph, call.name, output[-call.nargs:]) if call.nargs else None
    if node is None:
        hint = _OTHER_ARITIES.get((call.name, call.nargs), "")
        fail(f"{call.name}() takes {_arity_text(call.name)}, got {call.nargs}{hint}", call.position)
    del output[-call.nargs:]
    output.append(node)


def _call_node(graph, name, xs):
    """The node of function ``name`` called on nodes ``xs``; None if they are too many or too few."""
    kind, n = LANGUAGE_FUNCTIONS[name]
    if n and len(xs) != n:
        return None
    if kind == "Pow":
        node = graph.pow(*xs)
    elif kind == "sqrt":
        node = graph.pow(xs[0], graph.number(Fraction(1, 2)))
    elif kind == "Heaviside":
        node = graph.call("Heaviside", xs[0], graph.number(Fraction(1, 2)))
    elif kind == "polygamma":
        node = graph.call("polygamma", graph.zero, xs[0])          # digamma(x)
    else:
        node = graph.call(kind, *xs)
    return node


#: the parser's loop in C, where symdiff's optional C core is built (see graph.ACCELERATED)
_parse_tokens = _graph._graphcore.parse_tokens if _graph.ACCELERATED else None
_tokens = _graph._graphcore.tokens if _graph.ACCELERATED else None


def parse(text):
    """Parse formula text into a SymPy expression, safely (nothing is evaluated).

    >>> parse("(a + b) * (b + 1)")
    (a + b)*(b + 1)
    >>> parse("-x^2")
    -x**2

    Raises :class:`ParseError` (a ``ValueError``) with the 1-based
    ``.position`` of the problem and a caret message.
    """
    graph = Graph()
    return graph.to_sympy([parse_to_graph(text, graph)])[0]
