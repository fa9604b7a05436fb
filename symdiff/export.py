"""Export: a compiled derivative as a standalone module file.

The written module imports only numpy and numba (and ``math`` where a
spelling needs it) -- never symdiff -- so it can be copied into any project.
Its functions are decorated with ``numba.njit(cache=True)``: the first
process that calls them compiles and stores the machine code next to the
file (``__pycache__``); later processes load it instead of recompiling.
"""

import keyword
import os
import sys
from pathlib import Path

from .compile import write_atomic
from .numba_backend import module_source


#: what generated modules import, and other modules a file of that name would hide:
#: ``import numpy`` next to an exported ``numpy.py`` would load the export instead
_IMPORTED = frozenset({"numpy", "numba", "math"})
_SHADOWED = _IMPORTED | {"scipy", "sympy", "symdiff", "llvmlite"} | frozenset(sys.stdlib_module_names)


def export_source(fn, backend=None):
    """The standalone module text for a compiled function (see :func:`export`)."""
    program = getattr(fn, "program", None)
    if program is None:
        raise TypeError(f"export takes a function made by symdiff (grad, jacobian ...), not {fn!r}")
    if backend is None:
        backend = "cuda" if getattr(fn, "backend", None) == "cuda" else "numba"
    if backend not in ("numba", "cuda"):
        raise ValueError(f"export writes a numba module or a CUDA one: backend must be 'numba' or "
                         f"'cuda', not {backend!r}")
    if backend == "cuda":
        from .cuda_backend import module_source as cuda_module_source
        return cuda_module_source(program, sparsity=getattr(fn, "sparsity", None))
    return module_source(program, standalone=True, sparsity=getattr(fn, "sparsity", None))


def export(fn, path, backend=None):
    """Write ``fn`` as a standalone module at ``path``; returns the path.

    The module is numba's (CPU kernels; the default, for a function of any backend) or, with
    ``backend="cuda"`` or for a function made with that backend, the CUDA module (imports
    numpy and numba.cuda, runs on an NVIDIA GPU), which is written without a GPU.

    >>> import symdiff as sd
    >>> g = sd.grad("(a + b) * (b + 1)", wrt=["a", "b"], backend="python")
    >>> path = sd.export(g, "/tmp/colah_grad.py")   # then: import colah_grad; colah_grad.grad_array(2, 1)
    """
    if not isinstance(path, (str, os.PathLike)):
        raise TypeError(f"export: path must be a file name (str or pathlib.Path), not {type(path).__name__}")
    path = Path(path)
    if path.suffix != ".py":
        raise ValueError(f"export writes a Python module: {str(path)!r} should end in .py")
    stem = path.stem
    if not stem.isidentifier():
        raise ValueError(f"{path.name!r} is not importable: {stem!r} must be a Python identifier "
                         "(letters, digits and '_', not starting with a digit)")
    if keyword.iskeyword(stem):
        raise ValueError(f"{path.name!r} is not importable: {stem!r} is a Python keyword")
    if stem in _SHADOWED:
        raise ValueError(f"{path.name!r} would shadow the module {stem!r} for code next to it"
                         f"{' (the exported module imports it)' if stem in _IMPORTED else ''}; "
                         "choose another name")
    if not path.parent.is_dir():
        raise FileNotFoundError(f"no such directory: {str(path.parent)!r}")
    write_atomic(path, export_source(fn, backend))
    return path
