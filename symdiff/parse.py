"""A safe parser for symdiff's expression language.

Text goes through a tokenizer and an operator-precedence (shunting-yard)
parser with explicit stacks: nothing in the text is ever evaluated, and a
formula nested 100,000 levels deep parses without recursion.  Nodes are
interned straight into a :class:`~symdiff.graph.Graph`.

Precedence, loosest first: ``+ -`` (left), ``* /`` (left), unary ``- +``,
``^ **`` (right).  So ``-x^2 == -(x^2)`` and ``2^-x == 2^(-x)``.
"""

import re
from fractions import Fraction

from .graph import Graph
from .ops import LANGUAGE_CONSTANTS, LANGUAGE_FUNCTIONS


class ParseError(ValueError):
    """Malformed formula text.

    ``.position`` is the 1-based character position of the problem, ``.reason``
    says what is wrong, and ``str(error)`` shows the text with a caret under
    that position.
    """

    def __init__(self, reason, text, position):
        self.reason = reason
        self.text = text
        self.position = position
        super().__init__(self._message())

    def _message(self):
        # Show the line holding the error, caret under the offending character.
        start = self.text.rfind("\n", 0, max(self.position - 1, 0)) + 1
        end = self.text.find("\n", start)
        line = self.text[start:] if end < 0 else self.text[start:end]
        column = self.position - 1 - start
        return f"{self.reason} (at position {self.position})\n  {line}\n  {' ' * column}^"


_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?)
  | (?P<name>[A-Za-z_][A-Za-z0-9_]*)
  | (?P<op>\*\*|[-+*/^(),])
  | (?P<bad>.)
""", re.VERBOSE | re.DOTALL)

_BINARY = {"+": (1, "left"), "-": (1, "left"), "*": (2, "left"), "/": (2, "left"),
           "^": (4, "right"), "**": (4, "right")}
_UNARY_PRECEDENCE = 3


def tokenize(text):
    """``(kind, text, position)`` tuples, kind in number/name/op/end; position 1-based."""
    tokens = []
    for m in _TOKEN.finditer(text):
        kind = m.lastgroup
        if kind == "space":
            continue
        if kind == "bad":
            raise ParseError(f"unexpected character {m.group()!r}", text, m.start() + 1)
        tokens.append((kind, m.group(), m.start() + 1))
    tokens.append(("end", "", len(text) + 1))
    return tokens


def _describe(kind, tok):
    return "the end of the formula" if kind == "end" else repr(tok)


class _Call:
    """A function call waiting on the operator stack for its arguments."""

    __slots__ = ("name", "position", "nargs")

    def __init__(self, name, position):
        self.name = name
        self.position = position
        self.nargs = 0


def parse_to_graph(text, graph):
    """Parse ``text`` into ``graph``; return the root node id."""
    if not isinstance(text, str):
        raise TypeError(f"formula text must be a str, not {type(text).__name__}")
    if not text.strip():
        raise ParseError("the formula is empty", text, 1)
    output = []     # node ids
    stack = []      # ("bin", op, pos) | ("neg"/"pos", pos) | ("(", pos) | _Call
    expect_operand = True
    tokens = tokenize(text)
    i = 0

    def apply(entry):
        if entry[0] == "bin":
            b = output.pop()
            a = output.pop()
            output.append(_binary(graph, entry[1], a, b))
        elif entry[0] == "neg":
            output.append(graph.neg(output.pop()))
        # unary plus: nothing to do

    def reduce_until_open(closing_pos, closing_tok):
        while stack:
            top = stack[-1]
            if isinstance(top, _Call) or top[0] == "(":
                return top
            apply(stack.pop())
        if closing_tok == ",":
            raise ParseError("',' outside a function call", text, closing_pos)
        raise ParseError("unmatched ')'", text, closing_pos)

    while True:
        kind, tok, pos = tokens[i]
        i += 1
        if expect_operand:
            if kind == "number":
                is_integer = tok.isdigit()
                output.append(graph.number(int(tok) if is_integer else float(tok)))
                expect_operand = False
            elif kind == "name":
                followed_by_paren = tokens[i][1] == "("
                if followed_by_paren:
                    if tok not in LANGUAGE_FUNCTIONS:
                        raise ParseError(f"unknown function {tok!r}", text, pos)
                    stack.append(_Call(tok, pos))
                    i += 1
                    if tokens[i][1] == ")":
                        raise ParseError(f"{tok}() needs arguments: {_arity_text(tok)}", text, tokens[i][2])
                elif tok in LANGUAGE_CONSTANTS:
                    output.append(graph.number_symbol(LANGUAGE_CONSTANTS[tok]))
                    expect_operand = False
                elif tok in LANGUAGE_FUNCTIONS:
                    raise ParseError(f"{tok!r} is a function and cannot be a variable; "
                                     f"call it as {tok}(...)", text, pos)
                else:
                    output.append(graph.symbol(tok))
                    expect_operand = False
            elif tok == "(":
                stack.append(("(", pos))
            elif tok in ("-", "+"):
                stack.append(("neg" if tok == "-" else "pos", pos))
            else:
                raise ParseError(f"expected a number, a name or '(' but found {_describe(kind, tok)}",
                                 text, pos)
            continue

        # expecting an operator, ')' , ',' or the end
        if tok in _BINARY:
            prec, assoc = _BINARY[tok]
            while stack:
                top = stack[-1]
                if isinstance(top, _Call) or top[0] == "(":
                    break
                top_prec = _BINARY[top[1]][0] if top[0] == "bin" else _UNARY_PRECEDENCE
                if top_prec > prec or (top_prec == prec and assoc == "left"):
                    apply(stack.pop())
                else:
                    break
            stack.append(("bin", tok, pos))
            expect_operand = True
        elif tok == ")":
            top = reduce_until_open(pos, ")")
            stack.pop()
            if isinstance(top, _Call):
                top.nargs += 1
                _apply_call(graph, output, top, text)
        elif tok == ",":
            top = reduce_until_open(pos, ",")
            if not isinstance(top, _Call):  # a ',' inside plain parentheses
                raise ParseError("',' outside a function call", text, pos)
            top.nargs += 1
            expect_operand = True
        elif kind == "end":
            while stack:
                top = stack.pop()
                if isinstance(top, _Call):
                    raise ParseError(f"missing ')' to close {top.name}(", text, top.position)
                if top[0] == "(":
                    raise ParseError("missing ')' to close this '('", text, top[1])
                apply(top)
            return output[-1]
        else:
            hint = "; use '*' to multiply" if kind in ("name", "number") or tok == "(" else ""
            raise ParseError(f"expected an operator but found {_describe(kind, tok)}{hint}", text, pos)


def _binary(graph, op, a, b):
    if op == "+":
        return graph.add(a, b)
    if op == "-":
        return graph.sub(a, b)
    if op == "*":
        return graph.mul(a, b)
    if op == "/":
        return graph.div(a, b)
    return graph.pow(a, b)


def _arity_text(name):
    n = LANGUAGE_FUNCTIONS[name][1]
    return "one or more arguments" if n == 0 else f"{n} argument{'s' if n > 1 else ''}"


def _apply_call(graph, output, call, text):
    kind, n = LANGUAGE_FUNCTIONS[call.name]
    if (n and call.nargs != n) or call.nargs < 1:
        raise ParseError(f"{call.name}() takes {_arity_text(call.name)}, got {call.nargs}",
                         text, call.position)
    xs = output[-call.nargs:]
    del output[-call.nargs:]
    if kind == "Pow":
        node = graph.pow(*xs)
    elif kind == "sqrt":
        node = graph.pow(xs[0], graph.number(Fraction(1, 2)))
    elif kind == "Heaviside":
        node = graph.call("Heaviside", xs[0], graph.number(Fraction(1, 2)))
    else:
        node = graph.call(kind, *xs)
    output.append(node)


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
