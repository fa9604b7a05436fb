"""Exported modules: reproducible, standalone, and compiled once per machine."""

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import numpy as np
import pytest

import symdiff as sd
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
    assert export_source(build_recipe(recipe)) == on_disk


@pytest.mark.parametrize("recipe", RECIPES, ids=[r["file"] for r in RECIPES])
def test_generated_module_runs_without_symdiff(recipe, tmp_path):
    rng = np.random.default_rng(3)
    from symdiff.api import compile_built
    reference = compile_built(build_recipe(recipe), "python")
    names = [s.name for s in reference.inputs]
    args = [rng.uniform(0.2, 0.9, size=4).tolist() for _ in names]
    module = recipe["file"][:-3]
    script = _NO_SYMDIFF + textwrap.dedent(f'''
        import json, sys
        sys.path.insert(0, {str(GENERATED)!r})
        import numpy as np
        import {module} as m
        out = m.{recipe["kind"]}_array(*[np.array(a) for a in {args!r}])
        print(json.dumps(out.tolist()))
        print("symdiff" in sys.modules)
    ''')
    env = dict(os.environ, NUMBA_CACHE_DIR=str(tmp_path / "numba"))
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
    with pytest.raises(ValueError, match="must be a Python identifier"):
        sd.export(g, tmp_path / "my-grad.py")
    with pytest.raises(ValueError, match="not a keyword"):
        sd.export(g, tmp_path / "class.py")
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
