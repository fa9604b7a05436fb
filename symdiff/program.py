"""The straight-line program IR: a Wengert list.

A :class:`Program` is immutable: named inputs, a body of instructions each
doing *one* operation (``t3 = t1 * t2``), and output operands.  An operand is
a variable name (``str``) or a constant (``float``).  :func:`check` verifies
that every name is assigned exactly once, before use; :func:`interpret` runs a
program with numpy and is the oracle every backend is tested against.
"""

import keyword
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np

from . import graph as _graph
from .ops import CATEGORIES, OPS


class Instr(NamedTuple):
    """One line: ``target = op(*args)``."""

    target: str
    op: str
    args: tuple


@dataclass(frozen=True)
class Program:
    """Straight-line code: ``inputs`` -> ``body`` -> ``outputs``.

    ``output_labels`` name the outputs for humans (``"f"``, ``"df/da"``);
    ``title`` says what the program computes; ``primal`` names the
    instructions that compute the function itself (the forward sweep), which
    checkpointing may recompute.
    """

    name: str
    inputs: tuple
    body: tuple
    outputs: tuple
    output_labels: tuple
    title: str = ""
    primal: frozenset = frozenset()

    def replace(self, **changes):
        fields = dict(self.__dict__)
        fields.update(changes)
        return Program(**fields)

    @property
    def operation_count(self):
        """Arithmetic operations executed: one per instruction."""
        return len(self.body)

    def operation_counts(self):
        """Operations by category: add (add/sub/neg), mul, div, transcendental, compare."""
        counts = dict.fromkeys(CATEGORIES, 0)
        for ins in self.body:
            counts[OPS[ins.op].category] += 1
        return counts

    def last_uses(self):
        """``{i: [temporaries read for the last time by instruction i]}``; inputs are not
        temporaries, and outputs live to the end (they are in no list)."""
        last_use = {}
        for i, ins in enumerate(self.body):
            for a in ins.args:
                if isinstance(a, str):
                    last_use[a] = i
        kept = set(self.inputs) | {o for o in self.outputs if isinstance(o, str)}
        dying = {}
        for name, i in last_use.items():
            if name not in kept:
                dying.setdefault(i, []).append(name)
        return dying

    def peak_live(self):
        """Most temporaries alive at once (inputs not counted; outputs live to the end)."""
        dying = self.last_uses()
        live = peak = 0
        for i in range(len(self.body)):
            live += 1
            peak = max(peak, live)
            live -= len(dying.get(i, ()))
        return peak


class ProgramError(ValueError):
    """A malformed program (a bug in whatever built it)."""


#: Program-level ops: everything in the op table except the structural graph kinds.
PROGRAM_OPS = frozenset(name for name, op in OPS.items() if op.numpy)


_ARITY = {name: OPS[name].nargs for name in PROGRAM_OPS}
#: check's loop in C, where symdiff's optional C core is built (see graph.ACCELERATED)
_check_body = _graph._graphcore.check_body if _graph.ACCELERATED else None


def check(program):
    """Raise :class:`ProgramError` unless every name is defined once, before use.

    One quick pass over the body; only a failing program is looked at closely
    (:func:`_diagnose`) to say which instruction is wrong and why.
    """
    defined = set()
    for name in program.inputs:
        if not name.isidentifier() or keyword.iskeyword(name):
            raise ProgramError(f"input {name!r} is not a valid identifier")
        if name in defined:
            raise ProgramError(f"input {name!r} appears twice")
        defined.add(name)
    arity = _ARITY
    # the loop below, in C: True, False at a bad instruction, None for a body not of tuples
    verdict = None if _check_body is None else _check_body(program.body, defined, arity)
    if verdict is False:
        _diagnose(program)
    if verdict is None:
        defined = set(program.inputs)   # (without what the C loop added before it gave up)
        add = defined.add
        for ins in program.body:
            target, op, args = ins
            if arity.get(op) != len(args) or target in defined or not target.isidentifier():
                _diagnose(program)
            for a in args:
                if not isinstance(a, float) and (not isinstance(a, str) or a not in defined):
                    _diagnose(program)      # (an operand neither a name nor a float included)
            add(target)
    for o in program.outputs:
        if isinstance(o, str) and o not in defined:
            raise ProgramError(f"output {o!r} is never defined")
    if len(program.outputs) != len(program.output_labels):
        raise ProgramError("outputs and output_labels differ in length")
    if not defined.isdisjoint(keyword.kwlist):
        _diagnose(program)
    return program


def _diagnose(program):
    """Find the first bad instruction of ``program`` and raise a ProgramError naming it."""
    defined = set(program.inputs)
    for i, ins in enumerate(program.body):
        if ins.op not in PROGRAM_OPS:
            raise ProgramError(f"instruction {i} ({ins.target}): unknown op {ins.op!r}")
        if len(ins.args) != OPS[ins.op].nargs:
            raise ProgramError(f"instruction {i} ({ins.target}): {ins.op} takes "
                               f"{OPS[ins.op].nargs} operands, got {len(ins.args)}")
        for a in ins.args:
            if isinstance(a, str):
                if a not in defined:
                    raise ProgramError(f"instruction {i} ({ins.target}) uses {a!r} before it is defined")
            elif not isinstance(a, float):
                raise ProgramError(f"instruction {i} ({ins.target}): operand {a!r} is not a name or float")
        if ins.target in defined:
            raise ProgramError(f"instruction {i} assigns {ins.target!r} a second time")
        if not ins.target.isidentifier() or keyword.iskeyword(ins.target):
            raise ProgramError(f"instruction {i}: {ins.target!r} is not a valid identifier")
        defined.add(ins.target)
    raise AssertionError("_diagnose found nothing wrong")     # pragma: no cover


def interpret(program, *args):
    """Run ``program`` with numpy on positional ``args``; returns the list of outputs.

    IEEE semantics: nan and inf come out, warnings are silenced, nothing raises.
    """
    env = dict(zip(program.inputs, (np.asarray(a, dtype=np.float64) for a in args)))
    with np.errstate(all="ignore"):
        for ins in program.body:
            env[ins.target] = OPS[ins.op].evaluate(
                *[env[a] if isinstance(a, str) else a for a in ins.args])
    return [env[o] if isinstance(o, str) else o for o in program.outputs]
