"""Checkpointing: trade recomputation for memory in reverse mode.

A reverse-mode program keeps every value of the forward sweep that the
reverse sweep reads, so a chain n deep holds about n values at once.  With
checkpointing (Griewank's idea; UDL problem 7.11) the forward sweep is cut
into segments of ``k`` instructions and only each segment's last value -- a
*checkpoint* -- is kept.  When the reverse sweep first needs a value of a
segment, the segment is recomputed from the checkpoint before it, once.
Memory falls to about n/k + k values (smallest at k = sqrt(n)) for about one
extra forward sweep of operations.

It is a pass over the optimized :class:`~symdiff.program.Program`, run last:
common-subexpression elimination would otherwise merge the recomputed copies
back into the originals.
"""

import math

from .optimize import eliminate_dead_code
from .program import Instr


def checkpoint(program, segment=None):
    """``program`` with its forward sweep recomputed segment by segment.

    ``segment`` is the number of forward-sweep instructions between
    checkpoints; the default is the square root of their count.
    """
    body = program.body
    primal_positions = [i for i, ins in enumerate(body) if ins.target in program.primal]
    if not primal_positions:
        return program
    if segment is None:
        segment = max(1, math.isqrt(len(primal_positions)))
    if segment < 1:
        raise ValueError(f"checkpoint segment length must be at least 1, got {segment}")
    segment_of = {}
    segments = []
    for n, i in enumerate(primal_positions):
        if n % segment == 0:
            segments.append([])
        segments[-1].append(body[i])
        segment_of[body[i].target] = len(segments) - 1

    # Kept values: each segment's last value, outputs, and anything a later
    # segment's forward instructions read (recomputing it would need it anyway).
    kept = {seg[-1].target for seg in segments}
    kept.update(o for o in program.outputs if isinstance(o, str))
    for s, seg in enumerate(segments):
        for ins in seg:
            for a in ins.args:
                if isinstance(a, str) and segment_of.get(a, s) < s:
                    kept.add(a)

    new_body = []
    recomputed = {}          # primal name -> its recomputed copy
    copies = 0
    for ins in body:
        if ins.target in program.primal:
            new_body.append(ins)
            continue
        args = []
        for a in ins.args:
            if isinstance(a, str) and a in segment_of and a not in kept:
                if a not in recomputed:
                    copies += 1
                    for old in segments[segment_of[a]]:
                        if old.target in kept:
                            continue            # alive anyway
                        name = f"{old.target}_r{copies}"
                        new_args = tuple(recomputed.get(x, x) if isinstance(x, str) else x for x in old.args)
                        new_body.append(Instr(name, old.op, new_args))
                        recomputed[old.target] = name
                a = recomputed[a]
            args.append(a)
        new_body.append(ins if tuple(args) == ins.args else Instr(ins.target, ins.op, tuple(args)))
    return program.replace(body=tuple(eliminate_dead_code(new_body, program.outputs)))
