"""How well mode="auto" picks: the cost model alone against building both programs.

    python benchmarks/auto_mode.py                  # 300 random formulas, seed 0
    python benchmarks/auto_mode.py --cases 1000 --seed 1 --time

Random DAGs of 5 to 60 operations (sums, products, sin, exp, squares, quotients) over 1 to
24 inputs, with 1 to 24 of their late nodes as outputs, each compared with
``sd.compare(measure=False)``.  A pick is "longer" when its optimized program has over 10%
and at least 3 more operations than the other mode's.  The first row is the cost model
alone (``api.cheaper_mode`` of the two estimates, what auto did before it built both); the
second is what auto and compare pick now (see ``api.EXACT_PICK_WORK``).

``--time`` also measures both modes (numba, seconds per evaluation over 10^5 points) for
every formula where the two picks differ, to show whether fewer operations is also faster.
"""

import argparse
import math
import random

import sympy as sp

import symdiff as sd
from symdiff.api import cheaper_mode


def random_problem(rng):
    """(inputs, output expressions) of a random DAG that reuses its nodes."""
    n = rng.choice([1, 2, 3, 4, 6, 8, 12, 16, 24])
    m = rng.choice([1, 2, 3, 4, 6, 8, 12, 16, 24])
    xs = list(sp.symbols(f"x0:{n}"))
    pool = list(xs)
    size = rng.randint(5, 60)
    style = rng.choice(["recent", "uniform", "chain"])

    def pick():
        if style == "recent":
            return pool[max(0, len(pool) - 1 - int(rng.expovariate(0.3)))]
        if style == "chain":
            return pool[-1] if rng.random() < 0.6 else rng.choice(pool)
        return rng.choice(pool)
    for _ in range(size):
        op = rng.choice(["add", "add", "mul", "mul", "sin", "exp", "sub", "div", "sq", "addc"])
        a, b = pick(), pick()
        e = {"add": lambda: a + b, "mul": lambda: a * b, "sin": lambda: sp.sin(a),
             "exp": lambda: sp.exp(a / 8), "sub": lambda: a - b, "div": lambda: a / (1 + b**2),
             "sq": lambda: a**2, "addc": lambda: a + rng.randint(1, 5)}[op]()
        if not e.is_number:
            pool.append(e)
    late = pool[n:] or pool
    return xs, [rng.choice(late[len(late) // 2:]) for _ in range(m)]


def longer(pick, f, r):
    mine, other = (f, r) if pick == "forward" else (r, f)
    return mine > other * 1.1 and mine - other >= 3


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--cases", type=int, default=300)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--time", action="store_true", help="time both modes where the picks differ")
    args = parser.parse_args()
    rng = random.Random(args.seed)
    by_estimate = by_auto = 0
    differ = []
    for _ in range(args.cases):
        xs, outs = random_problem(rng)
        report = sd.compare(outs, wrt=xs, measure=False)
        f, r = report.forward.ops, report.reverse.ops
        estimated = cheaper_mode(report.forward.estimate, report.reverse.estimate, len(xs), len(outs))
        by_estimate += longer(estimated, f, r)
        by_auto += longer(report.recommended, f, r)
        if estimated != report.recommended:
            differ.append((xs, outs, estimated, report.recommended, f, r))
    print(f"{args.cases} random formulas (seed {args.seed}): picks whose program is longer than the other mode's")
    print(f"  {'cost model alone':<28}{by_estimate:>5}")
    print(f"  {'auto now (both built)':<28}{by_auto:>5}")
    print(f"  picks that changed: {len(differ)}")
    if args.time and differ:
        print(f"\n{'n':>3}{'m':>4}  {'estimate':<9}{'auto':<9}{'ops f/r':>11}{'ns f':>9}{'ns r':>9}  auto's time / estimate's")
        ratios = []
        for xs, outs, estimated, auto, f, r in differ:
            timed = sd.compare(outs, wrt=xs, samples=100_000)
            ns = {"forward": timed.forward.seconds * 1e9, "reverse": timed.reverse.seconds * 1e9}
            ratios.append(ns[auto] / ns[estimated])
            print(f"{len(xs):>3}{len(outs):>4}  {estimated:<9}{auto:<9}{f'{f}/{r}':>11}{ns['forward']:>9.1f}"
                  f"{ns['reverse']:>9.1f}  {ratios[-1]:.2f}")
        mean = math.exp(sum(map(math.log, ratios)) / len(ratios))
        print(f"\nauto's time over the estimate's pick: geometric mean {mean:.3f}, "
              f"{sum(x <= 0.9 for x in ratios)} at most 0.9, {sum(x >= 1.1 for x in ratios)} at least 1.1 "
              f"(of {len(ratios)}; a difference of an operation or two is within the timing's noise)")


if __name__ == "__main__":
    main()
