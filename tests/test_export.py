"""Exported modules: reproducible, standalone, and compiled once per machine."""

import json
import math
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import scipy.sparse
import pytest

import symdiff as sd
from conftest import gpu_present
from symdiff.export import export_source

ROOT = Path(__file__).resolve().parents[1]
GENERATED = ROOT / "generated"
sys.path.insert(0, str(GENERATED))
from regenerate import build_recipe, recipes  # noqa: E402

RECIPES = recipes()

# A child process in which `import symdiff` fails: exported code must not need it.
_NO_SYMDIFF = textwrap.dedent('''
    import importlib.abc, sys
    class Block(importlib.abc.MetaPathFinder):
        def find_spec(self, name, path=None, target=None):
            if name == "symdiff" or name.startswith("symdiff."):
                raise ImportError("symdiff is blocked in this process")
    sys.meta_path.insert(0, Block())
''')


@pytest.mark.parametrize("recipe", RECIPES, ids=[r["file"] for r in RECIPES])
def test_generated_file_is_reproduced_byte_for_byte(recipe):
    on_disk = (GENERATED / recipe["file"]).read_text(encoding="utf-8")
    assert export_source(build_recipe(recipe), recipe.get("backend")) == on_disk


@pytest.mark.parametrize("recipe", RECIPES, ids=[r["file"] for r in RECIPES])
def test_generated_module_runs_without_symdiff(recipe, tmp_path):
    rng = np.random.default_rng(3)
    from symdiff.api import compile_built
    reference = compile_built(build_recipe(recipe), "python")
    names = [s.name for s in reference.inputs]
    args = [rng.uniform(0.2, 0.9, size=4).tolist() for _ in names]
    module = recipe["file"][:-3]
    entry = recipe["kind"] + ("_cuda_array" if recipe.get("backend") == "cuda" else "_array")
    script = _NO_SYMDIFF + textwrap.dedent(f'''
        import json, sys
        sys.path.insert(0, {str(GENERATED)!r})
        import numpy as np
        import {module} as m
        out = m.{entry}(*[np.array(a) for a in {args!r}])
        print(json.dumps(out.tolist()))
        print("symdiff" in sys.modules)
    ''')
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    if recipe.get("backend") == "cuda" and not gpu_present():
        env["NUMBA_ENABLE_CUDASIM"] = "1"       # numba's CUDA simulator runs the module's kernel
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    lines = result.stdout.strip().splitlines()
    assert lines[-1] == "False"
    got = np.array(json.loads(lines[-2]))
    want = reference(*[np.array(a) for a in args])
    want = np.concatenate([np.atleast_2d(want[0]), want[1]]) if isinstance(want, tuple) else want
    np.testing.assert_allclose(got, want, rtol=1e-12)


def test_second_process_does_not_recompile(tmp_path):
    """numba's on-disk cache: the first process compiles, the second loads machine code."""
    path = tmp_path / "neuron_grad.py"
    sd.export(sd.grad("1 / (1 + exp(-(w0*x0 + w1*x1 + w2)))", wrt=["w0", "w1", "w2"], backend="python"),
              path)
    script = textwrap.dedent(f'''
        import sys, time
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np
        import neuron_grad as m
        x = np.linspace(-1, 1, 1000)
        start = time.perf_counter()
        m.grad_array(2.0, -3.0, -3.0, x, 0.5)
        seconds = time.perf_counter() - start
        stats = m.grad_batch.stats
        print(sum(stats.cache_hits.values()), sum(stats.cache_misses.values()), seconds)
    ''')
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))

    def run():
        r = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
        assert r.returncode == 0, r.stderr
        hits, misses, seconds = r.stdout.split()
        return int(hits), int(misses), float(seconds)
    first = run()
    second = run()
    assert first[:2] == (0, 1)          # compiled
    assert second[:2] == (1, 0)         # loaded from the cache, nothing compiled


def test_export_errors(tmp_path):
    g = sd.grad("x^2", backend="python")
    with pytest.raises(ValueError, match="should end in .py"):
        sd.export(g, tmp_path / "grad.txt")
    with pytest.raises(TypeError, match=r"^export: path must be a file name \(str or pathlib.Path\), not int"):
        sd.export(g, 3)
    with pytest.raises(ValueError, match=r"'my-grad' must be a Python identifier \(letters, digits and '_'"):
        sd.export(g, tmp_path / "my-grad.py")
    with pytest.raises(ValueError, match="'class' is a Python keyword"):
        sd.export(g, tmp_path / "class.py")
    # a failed write names the file asked for, not the temporary file written beside it first
    (tmp_path / "taken.py").mkdir()
    with pytest.raises(OSError) as caught:
        sd.export(g, tmp_path / "taken.py")
    assert caught.value.filename == str(tmp_path / "taken.py") and ".tmp" not in str(caught.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["taken.py"]      # nothing left behind
    # next to an exported numpy.py, `import numpy` (the module's own included) finds the export
    with pytest.raises(ValueError, match=r"would shadow the module 'numpy' .*\(the exported module imports it\)"):
        sd.export(g, tmp_path / "numpy.py")
    with pytest.raises(ValueError, match="would shadow the module 'random'"):
        sd.export(g, tmp_path / "random.py")
    with pytest.raises(FileNotFoundError, match="no such directory"):
        sd.export(g, tmp_path / "missing" / "grad.py")
    with pytest.raises(TypeError, match="made by symdiff"):
        sd.export(lambda x: x, tmp_path / "grad.py")


def test_cli_export(tmp_path):
    out = tmp_path / "colah.py"
    r = subprocess.run([sys.executable, "-m", "symdiff.cli", "export", "(a + b) * (b + 1)", "--wrt", "a,b",
                        "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert out.read_text() == (GENERATED / "colah_grad.py").read_text()


def test_a_cuda_module_is_exported_without_a_gpu(tmp_path):
    """backend="cuda" (or a function made with it) exports the numba.cuda module; writing it
    needs no GPU, running it does (here: numba's CUDA simulator), and symdiff is not imported."""
    fn = sd.grad("x^2*y", wrt=["x", "y"], backend="python")
    path = sd.export(fn, tmp_path / "cuda_grad.py", backend="cuda")
    text = path.read_text()
    assert "from numba import cuda" in text and "def grad_cuda_array(x, y, threads=256):" in text
    assert "symdiff" not in text.split('"""', 2)[2]          # past the docstring
    with pytest.raises(ValueError, match="backend must be 'numba' or 'cuda', not 'python'"):
        sd.export(fn, tmp_path / "other.py", backend="python")
    # the command line, with a sparse Hessian: its pattern comes along as in a numba module
    out = tmp_path / "cuda_hessian.py"
    r = subprocess.run([sys.executable, "-m", "symdiff.cli", "export", "x^2*y + y^3", "--kind", "hessian",
                        "--sparse", "--backend", "cuda", "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    script = _NO_SYMDIFF + textwrap.dedent(f'''
        import json, sys
        sys.path.insert(0, {str(tmp_path)!r})
        import numpy as np, scipy.sparse
        import cuda_grad, cuda_hessian as m
        values = m.hessian_cuda_array(np.array([1.0, 2.0]), 3.0)
        matrix = scipy.sparse.csr_matrix((values[:, 1], (m.SPARSE_ROWS, m.SPARSE_COLS)), shape=m.SPARSE_SHAPE)
        print(json.dumps([cuda_grad.grad_cuda_array(3.0, 2.0).tolist(), m.INPUTS, m.OUTPUTS,
                          matrix.toarray().tolist()]))
    ''')
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env)
    assert result.returncode == 0, result.stderr
    grad, inputs, outputs, hessian = json.loads(result.stdout.strip().splitlines()[-1])
    assert grad == [12.0, 9.0]                                   # 2xy, x^2 at (3, 2)
    assert inputs == ["x", "y"] and outputs == ["d2f/dxdx", "d2f/dxdy", "d2f/dydx", "d2f/dydy"]
    assert hessian == [[6.0, 4.0], [4.0, 18.0]]                  # at x = 2, y = 3: 2y, 2x; 2x, 6y


def test_a_sparse_value_and_jacobian_module_says_where_its_nonzeros_start(tmp_path):
    # the command line, as a user exports it; the module is read as its docstring says
    out = tmp_path / "residuals.py"
    r = subprocess.run([sys.executable, "-m", "symdiff.cli", "export", "x*y - 2; x - 1; sin(y)",
                        "--kind", "value_and_jacobian", "--sparse", "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    from symdiff.compile import load_module
    m = load_module(out.read_text())
    assert "The outputs from 3 on (after the 3 values) are the nonzeros" in m.__doc__
    assert "values = value_and_jacobian_array(...)[3:]" in m.__doc__
    assert m.OUTPUTS == ("f0", "f1", "f2", "df0/dx", "df0/dy", "df1/dx", "df2/dy")
    outputs = m.value_and_jacobian_array(2.0, 0.5)
    matrix = scipy.sparse.csr_matrix((outputs[3:], (m.SPARSE_ROWS, m.SPARSE_COLS)), shape=m.SPARSE_SHAPE)
    # by hand at x = 2, y = 0.5: values xy - 2, x - 1, sin y; rows (y, x), (1, 0), (0, cos y)
    np.testing.assert_allclose(outputs[:3], [-1.0, 1.0, math.sin(0.5)], rtol=1e-15)
    np.testing.assert_allclose(matrix.toarray(), [[0.5, 2.0], [1.0, 0.0], [0.0, math.cos(0.5)]], rtol=1e-15)


def test_module_names_its_inputs_and_outputs_for_code_that_maps_them(tmp_path):
    # 24 inputs: wrt in its order, then the parameters sorted by name as text (x10 before x2);
    # INPUTS is the call order as data
    text = " + ".join(f"w{k}*x{k}^2" for k in range(12))
    fn = sd.grad(text, wrt=[f"w{k}" for k in range(12)], backend="python")
    path = sd.export(fn, tmp_path / "many.py")
    from symdiff.compile import load_module
    module = load_module(path.read_text())
    assert module.INPUTS == tuple(s.name for s in fn.inputs)
    assert module.INPUTS[10:15] == ("w10", "w11", "x0", "x1", "x10") and len(module.INPUTS) == 24
    assert module.OUTPUTS == tuple(f"df/dw{k}" for k in range(12))
    values = {f"w{k}": 0.5 * k for k in range(12)} | {f"x{k}": k - 3.0 for k in range(12)}
    got = module.grad_array(*(values[k] for k in module.INPUTS))
    np.testing.assert_array_equal(got, [(k - 3.0) ** 2 for k in range(12)])      # d/dw_k = x_k^2
    # the docstring shows the signature's ends and points to INPUTS, not 24 names twice
    doc = module.__doc__
    assert "grad_array(w0, w1, w2, w3, w4, w5, w6, w7, ..., x9)" in doc
    assert "24 inputs, in the order of INPUTS" in doc


def test_a_wide_dense_jacobian_module_packs_its_labels_and_reads_them_back():
    # 40 x 41 = 1,640 entries, past NAMES_WRITTEN_OUT: OUTPUTS is packed, and the module
    # gives the same labels and values (a dense 3,000 x 3,001 one took 55 s as a literal)
    from symdiff.compile import load_module
    from symdiff.numba_backend import module_source
    names = [f"x{i}" for i in range(41)]
    fn = sd.jacobian([f"x{i}*sin(x{i + 1})" for i in range(40)], wrt=names, backend="python")
    source = module_source(fn.program, standalone=False)
    assert "OUTPUTS = tuple(zlib.decompress(" in source and "INPUTS = (\n    'x0', 'x1'," in source
    module = load_module(source)
    assert module.INPUTS == tuple(names)            # 41 names: written out
    assert module.OUTPUTS == tuple(f"df{i}/dx{j}" for i in range(40) for j in range(41))
    x = np.linspace(0.0, 1.0, 41)
    got = module.jacobian_array(*x).reshape(40, 41)
    # by hand: d/dx_i of x_i sin(x_{i+1}) is sin(x_{i+1}), d/dx_{i+1} is x_i cos(x_{i+1}), the rest 0
    want = np.zeros((40, 41))
    i = np.arange(40)
    want[i, i], want[i, i + 1] = np.sin(x[1:]), x[:-1] * np.cos(x[1:])
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=0)


def test_names_literal_wraps_and_reads_back():
    import ast

    from symdiff.printing import names_literal
    labels = [f"d2f/dx{i}dx{i + 1}" for i in range(500)]
    source = names_literal("OUTPUTS", labels)
    assert max(len(line) for line in source.splitlines()) <= 96
    assert ast.literal_eval(source.split("=", 1)[1].strip()) == tuple(labels)
    assert names_literal("INPUTS", ["a"]) == "INPUTS = ('a',)"
    # past NAMES_WRITTEN_OUT names, the tuple is packed: one line, the same names back
    import base64
    import zlib

    from symdiff.printing import NAMES_WRITTEN_OUT
    many = [f"df{i % 7}/dx{i}" for i in range(NAMES_WRITTEN_OUT)] + ["d\u03b1/dy", "d z/d w", ""]
    source = names_literal("OUTPUTS", many)
    assert "\n" not in source and len(source) < 20 * len(many)
    namespace = {"base64": base64, "zlib": zlib}
    exec(source, namespace)         # our own generated line, as the module runs it
    assert namespace["OUTPUTS"] == tuple(many)
    # a name holding the separator (a SymPy symbol may) is written out instead
    odd = many[:-1] + ["a\0b"]
    assert ast.literal_eval(names_literal("OUTPUTS", odd).split("=", 1)[1].strip()) == tuple(odd)
