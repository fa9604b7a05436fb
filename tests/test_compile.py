"""Generated modules in the cache directory: atomic, shared between processes, robust."""

import itertools
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

import symdiff as sd
from symdiff import compile as sd_compile


def test_module_file_is_named_by_source_hash_and_reused(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(tmp_path))
    source = "VALUE = 41 + 1\n"
    module = sd_compile.load_module(source, prefix="symdiff_test")
    assert module.VALUE == 42
    files = list(tmp_path.glob("symdiff_test_*.py"))
    assert len(files) == 1 and files[0].read_text() == source
    assert sd_compile.load_module(source, prefix="symdiff_test") is module


def test_truncated_file_is_replaced_not_imported(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(tmp_path))
    source = "VALUE = 'complete'\n"
    name = sd_compile.module_name(source, "symdiff_trunc")
    (tmp_path / f"{name}.py").write_text("VALUE = 'compl")     # a write cut off half-way
    module = sd_compile.load_module(source, prefix="symdiff_trunc")
    assert module.VALUE == "complete"


def test_atomic_write_leaves_no_temporary_files(tmp_path):
    target = tmp_path / "m.py"
    sd_compile.write_atomic(target, "x = 1\n")
    sd_compile.write_atomic(target, "x = 2\n")
    assert target.read_text() == "x = 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["m.py"]
    # like any file written by the user: readable by others (not mkstemp's 0600)
    assert target.stat().st_mode & 0o777 == 0o666 & ~sd_compile._umask()


def test_concurrent_processes_compile_the_same_formula(tmp_path):
    script = textwrap.dedent('''
        import symdiff as sd
        g = sd.grad("sin(a)*exp(b) + a*b", backend="numba")
        print(g(a=0.5, b=0.25).tolist())
    ''')
    env = dict(os.environ, SYMDIFF_CACHE_DIR=str(tmp_path / "cache"),
               NUMBA_CACHE_DIR=str(tmp_path / "numba"))
    procs = [subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE,
                              stderr=subprocess.PIPE, text=True, env=env) for _ in range(3)]
    results = [p.communicate() for p in procs]
    assert all(p.returncode == 0 for p in procs), [r[1] for r in results]
    assert len({r[0] for r in results}) == 1
    leftovers = [p.name for p in (tmp_path / "cache").iterdir() if p.suffix == ".tmp"]
    assert leftovers == []


@pytest.mark.skipif(hasattr(os, "geteuid") and os.geteuid() == 0,
                    reason="root can write to read-only directories")
def test_unwritable_cache_directory_falls_back_with_a_warning(tmp_path, monkeypatch):
    locked = tmp_path / "locked"
    locked.mkdir()
    locked.chmod(0o500)
    _check_fallback(locked, monkeypatch)


def test_cache_path_that_cannot_be_a_directory_falls_back_with_a_warning(tmp_path, monkeypatch):
    not_a_dir = tmp_path / "file"
    not_a_dir.write_text("")        # mkdir fails under a regular file, also for root
    _check_fallback(not_a_dir / "cache", monkeypatch)


_PROBES = itertools.count()


def _check_fallback(directory, monkeypatch):
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(directory))
    monkeypatch.setattr(sd_compile, "_fallback_dir", None)
    # a program no other test makes: one already imported is taken from sys.modules, with no
    # file written and so no warning (the test failed when run after one that made x^3's)
    probe = f"fallback_{next(_PROBES)}"
    with pytest.warns(RuntimeWarning, match="not writable") as caught:
        g = sd.grad(f"x^3 + {probe}", wrt=["x"], backend="python")
    assert caught[0].filename == __file__           # the user's call, however deep it was raised
    assert g(2.0, 5.0).tolist() == [12.0]
    assert Path(g.module.__file__).parent == sd_compile._fallback_dir


def test_importing_symdiff_does_not_import_numba():
    # numba takes a fifth of a second to import; the python backend, the CLI's default,
    # never needs it (the tape encoder's scans and vecmath are compiled or imported on use)
    code = ("import sys, symdiff as sd; sd.grad('x*y', backend='python')(1.0, 2.0); "
            "print('numba' in sys.modules)")
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert r.stdout.strip() == "False"


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_python_backend_holds_only_live_arrays(mode):
    # a 2,498-line program on 10^4 samples: Python keeps a function's locals until it returns,
    # so without the del lines it held every intermediate array (2,498 x 80 kB = 200 MB)
    import tracemalloc

    import numpy as np

    from symdiff.examples import sin_exp_chain
    g = sd.grad(sin_exp_chain(1000), backend="python", mode=mode)
    assert "\n    del " in g.source
    x = np.linspace(0.0, 1.0, 10_000)
    tracemalloc.start()
    try:
        g(x=x)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    live = g.program.peak_live()           # forward 4, reverse 502 (the exps of the chain)
    assert peak < (live + 8) * x.nbytes
    # short programs, the ones people read, have no del lines
    assert "del " not in sd.grad("(a + b) * (b + 1)", backend="python").source


def _fake_module(directory, k, size, age, now):
    """A generated module's three kinds of files (source, bytecode, numba code), ``age`` s old."""
    name = f"symdiff_gen_{k:020x}"
    (directory / "__pycache__").mkdir(exist_ok=True)
    paths = [directory / f"{name}.py", directory / "__pycache__" / f"{name}.cpython-311.pyc",
             directory / "__pycache__" / f"{name}.grad-12.py311.nbi"]
    for path in paths:
        path.write_bytes(b"x" * size)
        os.utime(path, (now - age, now - age))
    return name


def test_trim_cache_removes_the_least_recently_used_whole_modules(tmp_path):
    now = 1_000_000_000.0
    old, _older, _oldest, fresh = (_fake_module(tmp_path, k, 1000, age, now)
                                 for k, age in enumerate((2 * 86400, 3 * 86400, 4 * 86400, 60)))
    (tmp_path / "notes.txt").write_text("not ours")
    # 4 modules of 3,000 bytes; a limit of 7,000 removes the two used longest ago, whole
    assert sd_compile.trim_cache(tmp_path, 7000, now=now) == (6, 6000)
    left = {p.name.split(".")[0] for p in sd_compile.cache_files(tmp_path)}
    assert left == {old, fresh} and len(sd_compile.cache_files(tmp_path)) == 6
    assert (tmp_path / "notes.txt").exists()
    # under the limit nothing goes; a module used within the hour stays even over it
    assert sd_compile.trim_cache(tmp_path, 6000, now=now) == (0, 0)
    assert sd_compile.trim_cache(tmp_path, 1, now=now) == (3, 3000)
    assert {p.name.split(".")[0] for p in sd_compile.cache_files(tmp_path)} == {fresh}
    assert sd_compile.trim_cache(tmp_path, None, now=now) == (0, 0)      # no limit


def test_cache_limit_from_the_environment(monkeypatch):
    monkeypatch.delenv("SYMDIFF_CACHE_MAX_MB", raising=False)
    assert sd_compile.cache_limit() == 1000e6
    monkeypatch.setenv("SYMDIFF_CACHE_MAX_MB", "50")
    assert sd_compile.cache_limit() == 50e6
    monkeypatch.setenv("SYMDIFF_CACHE_MAX_MB", "0")
    assert sd_compile.cache_limit() is None
    monkeypatch.setenv("SYMDIFF_CACHE_MAX_MB", "lots")
    with pytest.warns(RuntimeWarning, match="SYMDIFF_CACHE_MAX_MB='lots' is not a number") as caught:
        assert sd_compile.cache_limit() == 1000e6
    assert caught[0].filename == __file__


def test_a_new_module_trims_the_cache_and_a_loaded_one_counts_as_used(tmp_path, monkeypatch):
    monkeypatch.setenv("SYMDIFF_CACHE_DIR", str(tmp_path))
    monkeypatch.setenv("SYMDIFF_CACHE_MAX_MB", "0.001")          # 1,000 bytes
    monkeypatch.setattr(sd_compile, "_trimmed", False)
    now = time.time()
    stale = _fake_module(tmp_path, 1, 1000, 2 * 86400, now)
    # loading an existing module touches it (used now), so trimming would keep it
    source = "VALUE = 7\n"
    name = sd_compile.module_name(source)
    (tmp_path / f"{name}.py").write_text(source)
    os.utime(tmp_path / f"{name}.py", (now - 3 * 86400, now - 3 * 86400))
    assert sd_compile.load_module(source).VALUE == 7
    assert os.path.getmtime(tmp_path / f"{name}.py") > now - 60
    assert (tmp_path / f"{stale}.py").exists()          # nothing new written: no trimming
    # a new module: the stale one goes (all three files), the recent ones stay
    assert sd_compile.load_module("VALUE = 8\n").VALUE == 8
    assert not any(stale in p.name for p in sd_compile.cache_files(tmp_path))
    assert (tmp_path / f"{name}.py").exists()
