"""Turning generated source into importable modules.

Generated code is written to a real file in the cache directory, named by a
hash of its source, and imported from there: tracebacks show the generated
lines, Python caches the bytecode, and numba can keep its on-disk cache next
to it.  Writes are atomic (temporary file, then ``os.replace``), so two
processes writing the same module, or a write cut off half-way, never leave a
broken file behind.  An unwritable cache directory falls back to a
temporary one, with a warning.

The cache directory is ``$SYMDIFF_CACHE_DIR``, else ``$XDG_CACHE_HOME/symdiff``,
else ``~/.cache/symdiff``.  It grows with every new formula, up to a limit
(1000 MB, or ``$SYMDIFF_CACHE_MAX_MB``; 0 for none): a process writing a new
module first trims it, removing the modules used least recently with their
bytecode and numba code (:func:`trim_cache`; a module's file is touched each
time it is loaded).  ``symdiff cache`` shows its size and ``symdiff cache
--clear`` empties it (:func:`clear_cache`).
"""

import hashlib
import importlib.util
import os
import re
import sys
import tempfile
import time
from pathlib import Path

from ._warn import warn

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
        warn(f"symdiff: cache directory {directory} is not writable; "
             f"using {_fallback_dir} for this process (set SYMDIFF_CACHE_DIR to choose one)",
             RuntimeWarning)
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


DEFAULT_LIMIT_MB = 1000
RECENT_SECONDS = 3600.0         # a module used this recently stays: another process may be loading it
_MODULE = re.compile(r"symdiff_gen_[0-9a-f]{20}")
_trimmed = False                # trimmed once per process, at its first new module


def cache_limit():
    """The cache's size limit in bytes (``$SYMDIFF_CACHE_MAX_MB``), or None for no limit."""
    text = os.environ.get("SYMDIFF_CACHE_MAX_MB", "").strip()
    try:
        mb = float(text) if text else DEFAULT_LIMIT_MB
    except ValueError:
        warn(f"symdiff: SYMDIFF_CACHE_MAX_MB={text!r} is not a number of megabytes; "
             f"using {DEFAULT_LIMIT_MB}", RuntimeWarning)
        mb = DEFAULT_LIMIT_MB
    return mb * 1e6 if mb > 0 else None


def trim_cache(directory=None, limit=None, now=None):
    """Remove whole generated modules (source, bytecode, numba code), least recently used first,
    until the cache holds at most ``limit`` bytes; modules used within ``RECENT_SECONDS`` stay.
    Returns (files removed, bytes freed)."""
    modules = {}        # module name -> [(path, size, mtime)]
    for path in cache_files(directory):
        match = _MODULE.search(path.name)
        if match is None:
            continue
        try:
            stat = path.stat()
        except FileNotFoundError:
            continue
        modules.setdefault(match.group(0), []).append((path, stat.st_size, stat.st_mtime))
    total = sum(size for files in modules.values() for _, size, _ in files)
    if limit is None or total <= limit:
        return 0, 0
    now = time.time() if now is None else now
    removed = freed = 0
    # a module was last used when the newest of its files was written or touched
    by_use = sorted(((max(m for _, _, m in files), files) for files in modules.values()), key=lambda u: u[0])
    for last_use, files in by_use:
        if total <= limit or now - last_use < RECENT_SECONDS:
            break
        for path, size, _ in files:
            try:
                path.unlink()
            except FileNotFoundError:     # another process trimmed it first
                continue
            removed += 1
            freed += size
            total -= size
    return removed, freed


def _trim_once(directory):
    global _trimmed
    if not _trimmed:
        _trimmed = True
        try:
            trim_cache(directory, cache_limit())
        except OSError:         # the cache works without trimming
            pass


def write_atomic(path, text):
    """Write ``text`` to ``path`` so that readers see the old file or the whole new one."""
    path = Path(path)
    tmp = None
    try:
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix="." + path.name + ".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        os.chmod(tmp, 0o666 & ~_umask())       # mkstemp makes 0600; a module is readable by all
        os.replace(tmp, path)
    except BaseException as e:
        if tmp is not None and os.path.exists(tmp):
            os.unlink(tmp)
        if isinstance(e, OSError) and e.errno is not None:
            # the error of writing path itself, not of the temporary file beside it
            raise OSError(e.errno, e.strerror, str(path)) from None
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
        _trim_once(path.parent)
        write_atomic(path, source)
    else:
        try:
            os.utime(path)          # used now: trim_cache removes the least recently used
        except OSError:
            pass
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except BaseException:
        del sys.modules[name]
        raise
    return module
