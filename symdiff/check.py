"""Gradient checking: both modes against central finite differences."""

import html
import math
import numbers
from dataclasses import dataclass, replace

import numpy as np

from .api import _gc_paused, build, compile_built, frees_temporaries, is_count, one_formula, point_values
from .optimize import eliminate_dead_code
from .printing import listing


@dataclass(repr=False)
class GradCheck:
    """Result of :func:`check_grad`; ``str()`` is a table, ``.ok`` the verdict."""

    wrt: list
    forward: np.ndarray
    reverse: np.ndarray
    numeric: np.ndarray
    max_relative_error: float
    tolerance: float
    one_sided: np.ndarray = None     # (left, right) differences per variable, to tell a kink
    rounding: np.ndarray = None      # per variable: the relative error rounding alone puts in
    #                                  its central difference (a few ulps of f over 2h)
    of: int = None                   # with sample=: how many variables there are (wrt is the sample)

    @property
    def ok(self):
        """Both modes agree to ``tolerance``, and each agrees with the central difference to
        ``tolerance`` or to that difference's rounding noise, whichever is larger (f near 10^4
        and h = 1e-6 leave about 1e-6 of noise in a difference quotient)."""
        if self.rounding is None:
            return bool(self.max_relative_error <= self.tolerance)
        with np.errstate(invalid="ignore"):
            numeric = np.maximum(_relative_error(self.forward, self.numeric),
                                 _relative_error(self.reverse, self.numeric))
            return bool(np.all(numeric <= self._allowed())
                        and np.all(_relative_error(self.forward, self.reverse) <= self.tolerance))

    def _allowed(self):
        """Per variable: the error the central difference may show.  Noise past
        ``_RESOLVABLE`` means the difference cannot check that derivative at all: then the
        tolerance stands (and the report says why it failed)."""
        noise = np.where(self.rounding <= _RESOLVABLE, self.rounding, 0.0)
        return np.maximum(self.tolerance, noise)

    def _kink_gaps(self):
        """Per variable: how far apart (relative) the one-sided differences must be for the
        report to call it a kink.  1e-3, and a hundred times the central difference's rounding
        noise where that is more: on a large f, rounding alone put them 17 times that noise
        apart (a 10^4-variable Rosenbrock), which is no kink.  Where the noise is past
        ``_RESOLVABLE`` nothing is said: the report names those as beyond checking."""
        if self.rounding is None:
            return np.full(len(self.wrt), 1e-3)
        return np.where(self.rounding <= _RESOLVABLE, np.maximum(1e-3, 100 * self.rounding), np.inf)

    def __str__(self):
        if not self.wrt:
            return "no variables: nothing to check"
        width = max(len(w) for w in self.wrt) + 4
        lines = [f"{'':<{width}}{'forward':>14}{'reverse':>14}{'numeric':>14}{'rel. error':>12}"]
        for name, f, r, n in zip(self.wrt, self.forward, self.reverse, self.numeric):
            error = _relative_error(np.array([f, r]), n).max()
            lines.append(f"{'d/d' + name:<{width}}{f:>14.8g}{r:>14.8g}{n:>14.8g}{error:>12.2e}")
        verdict = "ok" if self.ok else "MISMATCH"
        allowed = self._allowed() if self.rounding is not None else np.zeros(0)
        allowance = (f", or the central differences' rounding noise where larger: up to "
                     f"{np.max(allowed):.1e} here" if np.any(allowed > self.tolerance) else "")
        lines.append(f"largest relative error {self.max_relative_error:.2e} "
                     f"(tolerance {self.tolerance:.0e}{allowance}): {verdict}")
        if self.of is not None and self.of > len(self.wrt):
            lines.append(f"checked {len(self.wrt):,} of the {self.of:,} partial derivatives, chosen at "
                         "random (seed 0); the others were not checked")
        if self.rounding is not None:
            unresolved = [name for name, r in zip(self.wrt, self.rounding) if r > _RESOLVABLE]
            if unresolved:
                worst = max(r for r in self.rounding if r > _RESOLVABLE)
                lines.append(f"the central difference cannot resolve d/d{listing(unresolved)} here: f "
                             f"is so large against the step that rounding alone puts up to {worst:.1e} "
                             "(relative) in it; check where f is smaller or with a larger step")
        if not self.ok and self.one_sided is not None:
            for name, (left, right), gap in zip(self.wrt, self.one_sided, self._kink_gaps()):
                if np.isfinite(left) and np.isfinite(right) and _relative_error(left, right) > gap:
                    lines.append(f"f has a kink or a jump in {name} here: the one-sided differences are "
                                 f"{left:.8g} (left) and {right:.8g} (right), so the central difference is "
                                 "neither; symdiff's derivative there is a documented convention "
                                 "(README: Kinks), which finite differences cannot check")
        undefined = [name for name, n in zip(self.wrt, self.numeric) if not np.isfinite(n)]
        if undefined:
            partials = listing("d/d" + name for name in undefined)
            lines.append(f"the central difference is not finite for {partials}: f is not "
                         "finite a step away from the point (an edge of its domain or a singularity), "
                         "so the derivative cannot be checked there")
        return "\n".join(lines)

    def __repr__(self):
        return str(self)

    def _repr_html_(self):
        return "<pre>" + html.escape(str(self)) + "</pre>"


def require_finite(point, what):
    """Refuse a point (a dict of numbers) with an entry that is not finite: a step from inf is
    inf, and the central difference there nan, which the report would blame on f."""
    bad = [f"{name} = {float(value)}" for name, value in point.items() if not math.isfinite(value)]
    if bad:
        raise ValueError(f"{what} gives {listing(bad)}: central differences need a finite point")


def _relative_error(a, b):
    """``|a - b|`` over ``max(1, |a|, |b|)``: equal values (infinities too) have error 0, an
    infinity against a finite value inf, and a nan on either side nan."""
    with np.errstate(invalid="ignore"):
        error = np.abs(a - b) / np.maximum(1.0, np.maximum(np.abs(a), np.abs(b)))
    error = np.where(np.isnan(error) & ~np.isnan(a) & ~np.isnan(b), np.inf, error)
    return np.where(a == b, 0.0, error)


def check_grad(f, wrt=None, at=None, step=1e-6, tolerance=1e-6, sample=None):
    """Compare forward mode, reverse mode and central finite differences at a point.

    >>> check = check_grad("(a + b) * (b + 1)", at={"a": 2, "b": 1})
    >>> check.ok, check.reverse.tolist()
    (True, [2.0, 5.0])

    The error is relative, scaled by ``max(1, |value|)`` so that derivatives
    near zero are judged absolutely.  ``at`` must give every input.

    Central differences cost two evaluations of f a variable, so checking n of
    them costs n^2 (10^4 variables: 11 s; 10^5, at that rate, about 20 minutes).
    ``sample=k`` checks k of them, chosen at random (seed 0, in their order),
    and the report says how many of how many.
    """
    if sample is not None and not is_count(sample):
        raise ValueError(f"check_grad: sample must be a whole number of variables, 1 or more, not {sample!r}")
    for name, number, least in (("step", step, "more than 0"), ("tolerance", tolerance, "0 or more")):
        if isinstance(number, bool) or not isinstance(number, numbers.Real):
            raise TypeError(f"check_grad: {name} must be a number, not {number!r}")
        if not math.isfinite(number) or number < 0 or (number == 0 and name == "step"):
            raise ValueError(f"check_grad: {name} must be a finite number, {least}, not {number!r}")
    one_formula(f, "check_grad", "check each in turn")
    # the python backend, whose numpy calls over a batch of points are quick at the central
    # differences, or numba's tape for a program too long for CPython to compile quickly
    with _gc_paused():
        built = {mode: build("value_and_grad", [f], wrt, mode) for mode in ("forward", "reverse")}
    longest = max(len(b.program.body) for b in built.values())
    backend = "python" if longest <= PYTHON_STATEMENTS else "numba"
    modes = {mode: compile_built(b, backend) for mode, b in built.items()}
    fn = modes["reverse"]
    value_of = compile_built(_value_only(built["reverse"]), backend)
    names = [s.name for s in fn.inputs]
    point = dict(zip(names, point_values({} if at is None else at, names, "check_grad: at=", fn._unmentioned)))
    require_finite(point, "check_grad: at=")
    forward = modes["forward"](**point)[1]
    value, reverse = fn(**point)
    n = len(fn.wrt)
    chosen = np.arange(n)
    if sample is not None and sample < n:
        chosen = np.sort(np.random.default_rng(0).choice(n, size=int(sample), replace=False))
        forward, reverse = forward[chosen], reverse[chosen]
    up, down, h = _steps_both_ways(fn, value_of, point, step, chosen)
    with np.errstate(all="ignore"):
        numeric = (up - down) / (2 * h)
        one_sided = np.stack([(value - down) / h, (up - value) / h], axis=1)
        # f(x + h) - f(x - h) is known to a few ulps of f: over 2h, that much of the quotient
        # is noise, relative to the scale _relative_error divides by
        rounding = (4 * np.finfo(np.float64).eps * np.maximum(np.abs(up), np.abs(down)) / (2 * h)
                    / np.maximum(1.0, np.abs(numeric)))
    # np.max, not max(): a nan anywhere (nothing to compare with) must make the check fail
    error = np.max([_relative_error(forward, numeric), _relative_error(reverse, numeric),
                    _relative_error(forward, reverse)], initial=0.0)
    return GradCheck([fn.wrt[j].name for j in chosen], forward, reverse, numeric, float(error), tolerance,
                     one_sided.reshape(-1, 2), rounding, None if sample is None else n)


#: the longest program check_grad runs on the python backend; a longer one runs on numba's tape.
#: Higher than the command line's one-point limit (cli.PYTHON_STATEMENTS): the differences
#: evaluate many points, where a numpy call a statement over a batch beats the tape per point.
#: Rosenbrock in 10^4 variables (110,000 statements), every variable: 11 s on the python
#: backend, 21 s on the tape; in 10^5 (1.1 million), sample=1000: 47 s on the tape, where
#: CPython took 49 s alone to compile the two modes' python functions
PYTHON_STATEMENTS = 200_000

_RESOLVABLE = 1e-3      # rounding noise past which a central difference checks nothing

_BATCH_VALUES = 4_000_000       # float64s one batched call may hold in its temporaries (32 MB)


def _values_held(program):
    """Most values the python backend's function of ``program`` holds at once: every
    temporary, or where it deletes each after its last use (a long program), the most
    alive at once (a tenth of the lines for a Rosenbrock gradient)."""
    if frees_temporaries(program):
        return max(1, program.peak_live())
    return max(1, len(program.body))


def _value_only(built):
    """``built`` (a value_and_grad) cut down to its value: the instructions the value needs.
    The central differences evaluate f alone, at two points a variable (Rosenbrock: its
    value is 151 of the value and gradient's 283 instructions at n = 20; a check of all
    10^4 variables took 16 s, 11 s this way)."""
    program = built.program
    body = tuple(eliminate_dead_code(program.body, program.outputs[:1]))
    kept = {ins.target for ins in body}
    program = program.replace(body=body, outputs=program.outputs[:1], output_labels=program.output_labels[:1],
                              primal=frozenset(t for t in program.primal if t in kept))
    return replace(built, program=program, blocks=[()])


def _steps_both_ways(fn, value_of, point, step, chosen):
    """``(f(x + h e_j), f(x - h e_j), h)`` for the variables j of ``fn.wrt`` numbered in
    ``chosen``, h = step * max(1, |x_j|): two points a variable, evaluated together in
    batches (one vectorized call, not two calls a variable: 6.6 s -> 0.3 s for 2,000
    variables)."""
    names = [s.name for s in fn.inputs]
    column = {name: c for c, name in enumerate(names)}
    base = np.array([point[name] for name in names], dtype=np.float64)
    columns = [column[fn.wrt[j].name] for j in chosen]
    h = np.array([step * max(1.0, abs(base[c])) for c in columns])
    up, down = np.empty(len(columns)), np.empty(len(columns))
    batch = max(1, _BATCH_VALUES // (2 * _values_held(value_of.program)))     # variables a call
    for start in range(0, len(columns), batch):
        stop = min(start + batch, len(columns))
        points = np.tile(base, (2 * (stop - start), 1))
        with np.errstate(invalid="ignore", over="ignore"):      # x = inf: h = inf, inf - inf = nan
            for r, j in enumerate(range(start, stop)):
                points[2 * r, columns[j]] += h[j]
                points[2 * r + 1, columns[j]] -= h[j]
        values = value_of(*points.T)
        up[start:stop], down[start:stop] = values[0::2], values[1::2]
    return up, down, h
