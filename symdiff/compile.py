"""Turning generated source into importable modules.

Generated code is written to a real file in the cache directory, named by a
hash of its source, and imported from there: tracebacks show the generated
lines, Python caches the bytecode, and numba can keep its on-disk cache next
to it.  Writes are atomic (temporary file, then ``os.replace``), so two
processes writing the same module, or a write cut off half-way, never leave a
broken file behind.  An unwritable cache directory falls back to a
temporary one, with a warning.

The cache directory is ``$SYMDIFF_CACHE_DIR``, else ``$XDG_CACHE_HOME/symdiff``,
else ``~/.cache/symdiff``.  It grows with every new formula; ``symdiff cache``
shows its size and ``symdiff cache --clear`` empties it (:func:`clear_cache`).
"""

import hashlib
import importlib.util
import os
import sys
import tempfile
import warnings
from pathlib import Path

_fallback_dir = None


def default_cache_dir():
    if os.environ.get("SYMDIFF_CACHE_DIR"):
        return Path(os.environ["SYMDIFF_CACHE_DIR"])
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return Path(base) / "symdiff"


def _writable(directory):
    try:
        directory.mkdir(parents=True, exist_ok=True)
        probe = tempfile.NamedTemporaryFile(dir=directory, prefix=".probe-", delete=True)
        probe.close()
        return True
    except OSError:
        return False


def cache_dir():
    """The directory generated modules go to (created if needed)."""
    global _fallback_dir
    directory = default_cache_dir()
    if _writable(directory):
        return directory
    if _fallback_dir is None:
        _fallback_dir = Path(tempfile.mkdtemp(prefix="symdiff-cache-"))
        warnings.warn(f"symdiff: cache directory {directory} is not writable; "
                      f"using {_fallback_dir} for this process (set SYMDIFF_CACHE_DIR to choose one)",
                      RuntimeWarning, stacklevel=3)
    return _fallback_dir


def cache_files(directory=None):
    """The files symdiff wrote to a cache directory: generated modules, their bytecode and
    numba's compiled code for them (nothing else there is touched)."""
    directory = Path(directory) if directory is not None else default_cache_dir()
    if not directory.is_dir():
        return []
    files = sorted(directory.glob("symdiff_gen_*.py"))
    pycache = directory / "__pycache__"
    if pycache.is_dir():
        files += sorted(p for p in pycache.iterdir() if "symdiff_gen_" in p.name and p.is_file())
    return files


def clear_cache(directory=None):
    """Delete :func:`cache_files`; returns (files removed, bytes freed).  Modules already
    imported keep working; later calls regenerate and recompile what they need."""
    removed = freed = 0
    for path in cache_files(directory):
        try:
            size = path.stat().st_size
            path.unlink()
        except FileNotFoundError:         # another process cleared it first
            continue
        removed += 1
        freed += size
    return removed, freed


def write_atomic(path, text):
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())       # mkstemp makes 0600; a module is readable by all
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def _umask():
    mask = os.umask(0)
    os.umask(mask)
    return mask


def module_name(source, prefix="symdiff_gen"):
    return f"{prefix}_{hashlib.sha256(source.encode('utf-8')).hexdigest()[:20]}"


def load_module(source, prefix="symdiff_gen"):
    """Import ``source`` as a module living in a file of the cache directory."""
    name = module_name(source, prefix)
    module = sys.modules.get(name)
    if module is not None:
        return module
    path = cache_dir() / f"{name}.py"
    try:
        current = path.read_text(encoding="utf-8")
    except OSError:
        current = None
    if current != source:
        write_atomic(path, source)
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
