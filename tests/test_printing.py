"""Printed source: exact golden programs, and byte-identical output across runs."""

import os
import subprocess
import sys
import textwrap

from symdiff import printing
from symdiff.api import build


def function_text(kind, formulas, wrt, mode):
    return printing.function_source(build(kind, formulas, wrt, mode).program)


def test_golden_colah_reverse():
    # Worked by hand: t0 = a+b and t1 = b+1 are the adjoints of each other's factor;
    # df/da = t1 and df/db = t0 + t1 (the two paths of colah's figure).
    assert function_text("grad", ["(a + b) * (b + 1)"], ["a", "b"], "reverse") == textwrap.dedent('''\
        def grad(a, b):
            """Gradient of (a + b) * (b + 1)
            with respect to a, b, by reverse mode.
            Inputs (call order): a, b.

            Returns (df/da, df/db).
            """
            t0 = a + b
            t1 = b + 1.0
            adj_b = t0 + t1
            return (t1, adj_b)
        ''')


def test_golden_colah_forward_value_and_grad():
    assert function_text("value_and_grad", ["(a + b) * (b + 1)"], ["a", "b"], "forward") == \
        textwrap.dedent('''\
        def value_and_grad(a, b):
            """Value and gradient of (a + b) * (b + 1)
            with respect to a, b, by forward mode.
            Inputs (call order): a, b.

            Returns (f, df/da, df/db).
            """
            t0 = a + b
            t1 = b + 1.0
            t2 = t0 * t1
            dt2_db = t0 + t1
            return (t2, t1, dt2_db)
        ''')


def test_golden_sigmoid_reuses_its_output():
    # sigmoid' = s*(1-s): the reverse sweep reads t0 instead of recomputing exp.
    assert function_text("grad", ["sigmoid(x)"], ["x"], "reverse") == textwrap.dedent('''\
        def grad(x):
            """Gradient of sigmoid(x)
            with respect to x, by reverse mode.
            Inputs (call order): x.

            Returns (df/dx).
            """
            t0 = 1.0 / (1.0 + np.exp(-x))
            t1 = 1.0 - t0
            adj_x = t0 * t1
            return (adj_x,)
        ''')


def test_negative_constant_base_is_parenthesised():
    src = function_text("grad", ["(-2)^x"], ["x"], "reverse")
    assert "(-2.0) ** x" in src


_SCRIPT = textwrap.dedent('''
    from symdiff.api import build
    from symdiff import printing, numba_backend
    for kind, fs in [("grad", ["(a+b)*(b+1)"]), ("hessian", ["x^2*y + sin(x*y*z) + max(x, y, z)"]),
                     ("jacobian", ["sigmoid(a*b)", "a+b+c", "leaky_relu(c, 0.1)"]),
                     ("value_and_grad", ["(b3 + w3*cos(b2 + w2*exp(b1 + w1*sin(b0 + w0*x))) - y)^2"])]:
        for mode in ("forward", "reverse"):
            p = build(kind, fs, None, mode).program
            print(printing.function_source(p))
            print(numba_backend.module_source(p))
            print(numba_backend.module_source(p, limit=3))
''')


def test_output_is_byte_identical_across_hash_seeds():
    outputs = set()
    for seed in ("0", "1", "12345"):
        env = dict(os.environ, PYTHONHASHSEED=seed)
        result = subprocess.run([sys.executable, "-c", _SCRIPT], env=env, capture_output=True,
                                text=True, check=True)
        outputs.add(result.stdout)
    assert len(outputs) == 1
