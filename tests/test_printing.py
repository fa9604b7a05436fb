"""Printed source: exact golden programs, and byte-identical output across runs."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symdiff as sd
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
    # negative zero too (ceil(-0.5) folds to it): -0.0 ** x is -(0.0 ** x), -1 at x = 0
    src = function_text("value_and_grad", ["ceil(-0.5)^x"], ["x"], "reverse")
    assert "(-0.0) ** x" in src
    for backend in ("python", "numba"):
        value, (slope,) = sd.value_and_grad("ceil(-0.5)^x", backend=backend)(x=0.0)
        assert value == 1.0 and slope == -np.inf       # (-0)^0 = 1, times log(-0) = -inf (IEEE)


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


def _names_a_module_relies_on(source):
    """Names a generated module defines at top level, imports, or reads as globals, the
    parameters its entry points add, and the builtins it reads: an input with one of these
    names would shadow it."""
    import ast
    import builtins
    tree = ast.parse(source)
    names = {node.id for node in ast.walk(tree)
             if isinstance(node, ast.Name) and isinstance(node.ctx, ast.Load) and hasattr(builtins, node.id)}
    for node in tree.body:
        if isinstance(node, (ast.FunctionDef, ast.ClassDef)):
            names.add(node.name)
        elif isinstance(node, ast.Assign):
            names.update(t.id for t in node.targets if isinstance(t, ast.Name))
        elif isinstance(node, (ast.Import, ast.ImportFrom)):
            names.update((a.asname or a.name).split(".")[0] for a in node.names)
    for node in tree.body:              # entry points' own keyword parameters (parallel=False)
        if isinstance(node, ast.FunctionDef):
            names.update(a.arg for a in node.args.args[len(node.args.args) - len(node.args.defaults):])
    for node in ast.walk(tree):
        if isinstance(node, ast.Subscript) and isinstance(node.value, ast.Call) \
                and getattr(node.value.func, "id", None) == "globals":
            names.add(node.slice.value)    # globals()["grad_gufunc"] = ...
    return {n for n in names if not n.startswith("_")}


def test_every_name_generated_modules_rely_on_is_reserved_for_inputs():
    from symdiff import cuda_backend, numba_backend
    from symdiff.api import KINDS, SEVERAL_FORMULAS, SPARSE_KINDS, build
    from symdiff.lower import RESERVED_IDENTIFIERS
    sources = []
    for kind in KINDS:
        several = kind in SEVERAL_FORMULAS
        mode = "auto" if kind in ("jvp", "vjp") else "reverse"       # those have one mode each
        formulas = ["sin(x)*y", "tanh(x) - y"] if several else ["sin(x)*exp(y) + tanh(x)"]
        program = build(kind, formulas, ["x", "y"], mode).program
        sources.append(sd.grad("x", backend="python").source.replace("grad", kind))
        sources.append(numba_backend.module_source(program))                       # vector loop
        sources.append(numba_backend.module_source(program, limit=0))              # tape, standalone
        sources.append(numba_backend.module_source(program, standalone=False, limit=0))
        sources.append(cuda_backend.module_source(program))
        if kind in SPARSE_KINDS:
            sparse = build(kind, formulas, ["x", "y"], "reverse", sparse=True)
            sources.append(numba_backend.module_source(sparse.program, sparsity=sparse.sparsity))
            sources.append(cuda_backend.module_source(sparse.program, sparsity=sparse.sparsity))
        plain = build(kind, ["tan(x)*y", "x - y"] if several else ["tan(x)*y"], ["x", "y"], mode).program
        sources.append(numba_backend.module_source(plain))                         # plain loop
    relied_on = set().union(*map(_names_a_module_relies_on, sources))
    assert relied_on <= RESERVED_IDENTIFIERS, sorted(relied_on - RESERVED_IDENTIFIERS)


@pytest.mark.parametrize("name", ["vec_sin", "grad", "grad_batch", "VEC_TRIG_LIMIT", "tape_scalar", "threads",
                                  "range", "float", "all"])       # builtins the batch code calls
def test_an_input_named_like_generated_code_still_works(name):
    # it is renamed in the generated code (vec_sin -> vec_sin_) and called by its own name
    text = f"sin({name}) * exp({name}) * y"
    x = np.array([0.3, 2e6, -1.0])          # 2e6: beyond the vector sin's range, redone by libm
    want = sd.grad(text.replace(name, "a"), wrt=["a", "y"], backend="python")(a=x, y=2.0)
    g = sd.grad(text, wrt=[name, "y"])
    np.testing.assert_allclose(g(**{name: x, "y": 2.0}), want, rtol=1e-13)


def test_sympy_symbol_names_that_are_not_plain_identifiers():
    import sympy
    lam, spaced, lig, fi, kw = sympy.symbols("λ x\\ y ﬁ fi lambda")
    assert spaced.name == "x y"
    # "x y" is no identifier, "lambda" a keyword, and Python reads "ﬁ" (a ligature) as "fi"
    f = lam ** 2 * spaced + 2 * lig + 3 * fi + kw
    point = {"λ": 2.0, "x y": 3.0, "ﬁ": 1.0, "fi": 1.0, "lambda": 5.0}
    for backend in ("python", "numba"):
        g = sd.grad(f, wrt=[lam, spaced, lig, fi, kw], backend=backend)
        np.testing.assert_array_equal(g(**point), [12.0, 4.0, 2.0, 3.0, 1.0])
