"""The numba backend: scalar and batch kernels in a standalone module.

The generated module imports only numpy and numba (and ``math`` where a
spelling needs it), never symdiff, so :func:`symdiff.export` can write it
anywhere.  It holds, for a program named ``grad``:

``grad(...)``
    the scalar kernel (``numba.njit``),
``grad_batch(..., out)`` / ``grad_batch_parallel(..., out)``
    one fused loop over elements (``prange`` in the parallel one) calling the
    scalar kernel and writing into a preallocated ``out``: no whole-array
    temporaries,
``grad_array(..., parallel=False)``
    a plain-Python entry point that broadcasts numpy arguments and returns
    the outputs stacked on a leading axis.

Bounded compile time.  Numba's compile time grows with function size, so a
program longer than ``CHUNK`` statements (or with many inputs or outputs) is
split into ``grad_part0, grad_part1, ...`` of at most ``CHUNK`` statements
each, passing values through a scratch array ``v``; compile time is then
linear in program length.  Its entry points take the inputs as one array.
"""

from . import printing
from .compile import load_module

#: Statements per compiled function; see benchmarks/compile_time.py.
CHUNK = 400
#: Above this many inputs or outputs the chunked (array in, array out) form is used.
MAX_ARGS = 128

_JIT = '@numba.njit(cache=True, error_model="numpy")'
_JIT_PARALLEL = '@numba.njit(cache=True, error_model="numpy", parallel=True)'


def _batch_loop(program, parallel):
    name, k = program.name, len(program.inputs)
    m = len(program.outputs)
    params = ", ".join(program.inputs)
    lines = [_JIT_PARALLEL if parallel else _JIT,
             f"def {name}_batch{'_parallel' if parallel else ''}({params}, out):",
             printing.docstring(
                 f"{name} element by element{' on all cores' if parallel else ''}.\n\n"
                 f"Each input is a 1-d float64 array of length N, or of length 1 to broadcast;\n"
                 f"the {m} outputs are written into out, of shape ({m}, N).", "    ")]
    for j, x in enumerate(program.inputs):
        lines.append(f"    _s{j} = 1 if {x}.shape[0] > 1 else 0")
    loop = "numba.prange" if parallel else "range"
    lines.append(f"    for _i in {loop}(out.shape[1]):")
    call = ", ".join(f"{x}[_i * _s{j}]" for j, x in enumerate(program.inputs))
    lines.append(f"        _r = {name}({call})")
    lines.extend(f"        out[{o}, _i] = _r[{o}]" for o in range(m))
    return "\n".join(lines) + "\n"


_ARRAY_ENTRY = '''\
def {name}_array({params}, parallel=False):
    """Broadcasting entry point: numbers or numpy arrays in, outputs stacked on axis 0.

    Returns a float64 array of shape ({m}, *S), S the broadcast shape of the inputs.
    """
    args = [np.asarray(x, dtype=np.float64) for x in ({params},)]
    shape = np.broadcast_shapes(*[x.shape for x in args])
    out = np.empty(({m},) + shape)
    if not shape:
        out[:] = {scalar_call}
        return out
    flat = [x.reshape(1) if x.size == 1 else np.broadcast_to(x, shape).reshape(-1) for x in args]
    kernel = {name}_batch_parallel if parallel else {name}_batch
    kernel({batch_args}out.reshape({m}, -1))
    return out
'''


def _small_module(program):
    """Direct form: the scalar kernel takes and returns plain floats."""
    k = len(program.inputs)
    scalar = printing.function_source(program, "scalar", decorator=_JIT)
    entry = _ARRAY_ENTRY.format(
        name=program.name, params=", ".join(program.inputs), m=len(program.outputs),
        scalar_call=f"{program.name}(*[float(x) for x in args])",
        batch_args="".join(f"flat[{j}], " for j in range(k)))
    return [scalar, _batch_loop(program, False), _batch_loop(program, True), entry]


def _chunked_module(program, chunk):
    """Chunked form: parts of at most ``chunk`` statements pass values through ``v``."""
    name, inputs, body = program.name, program.inputs, program.body
    k, m = len(inputs), len(program.outputs)
    parts = [body[i:i + chunk] for i in range(0, len(body), chunk)] or [()]
    part_of = {}
    for p, part in enumerate(parts):
        for ins in part:
            part_of[ins.target] = p
    # a value needs a slot if it crosses a part boundary or is an output
    slot = {x: j for j, x in enumerate(inputs)}
    crossing = []
    for p, part in enumerate(parts):
        for ins in part:
            for a in ins.args:
                if isinstance(a, str) and part_of.get(a, -1) != p and a not in slot:
                    slot[a] = None
                    crossing.append(a)
    for o in program.outputs:
        if isinstance(o, str) and o not in slot:
            slot[o] = None
            crossing.append(o)
    for j, x in enumerate(sorted(crossing, key=lambda x: (part_of[x], x))):
        slot[x] = k + j
    n_slots = k + len(crossing)
    const_outputs = [(o, c) for o, c in enumerate(program.outputs) if not isinstance(c, str)]
    out_slots = [slot[o] if isinstance(o, str) else 0 for o in program.outputs]

    functions = []
    for p, part in enumerate(parts):
        defined = {ins.target for ins in part}
        loads = []
        for ins in part:
            for a in ins.args:
                if isinstance(a, str) and a not in defined and a not in loads:
                    loads.append(a)
        lines = [_JIT, f"def {name}_part{p}(_v):"]
        lines += [f"    {a} = _v[{slot[a]}]" for a in loads]
        lines += ["    " + printing.statement(ins, "scalar") for ins in part]
        lines += [f"    _v[{slot[ins.target]}] = {ins.target}" for ins in part
                  if slot.get(ins.target) is not None]
        if len(lines) == 2:
            lines.append("    pass")
        functions.append("\n".join(lines) + "\n")
    core = [_JIT, f"def {name}_core(_v, _out):",
            printing.docstring(program.title + "\n\nInputs in v[:%d] (call order); "
                               "outputs (%s) into _out." % (k, ", ".join(program.output_labels[:8]) +
                                                          (", ..." if m > 8 else "")), "    ")]
    core += [f"    {name}_part{p}(_v)" for p in range(len(parts))]
    core += [f"    for _j in range({m}):", f"        _out[_j] = _v[_OUT_SLOTS[_j]]"]
    core += [f"    _out[{o}] = {printing.format_constant(c)}" for o, c in const_outputs]
    functions.append("\n".join(core) + "\n")
    functions.append(f'''{_JIT}
def {name}(x):
    """Scalar kernel: x holds the {k} inputs in call order; returns the {m} outputs."""
    v = np.empty({n_slots})
    v[:{k}] = x
    out = np.empty({m})
    {name}_core(v, out)
    return out
''')
    for parallel in (False, True):
        suffix = "_parallel" if parallel else ""
        loop = "numba.prange" if parallel else "range"
        functions.append(f'''{_JIT_PARALLEL if parallel else _JIT}
def {name}_batch{suffix}(X, out):
    """Element by element: X has shape ({k}, N), out shape ({m}, N)."""
    for _i in {loop}(out.shape[1]):
        v = np.empty({n_slots})
        r = np.empty({m})
        for _j in range({k}):
            v[_j] = X[_j, _i]
        {name}_core(v, r)
        for _j in range({m}):
            out[_j, _i] = r[_j]
''')
    functions.append(f'''def {name}_array(*args, parallel=False):
    """Broadcasting entry point: the {k} inputs in call order (numbers or arrays).

    Returns a float64 array of shape ({m}, *S), S the broadcast shape of the inputs.
    """
    if len(args) != {k}:
        raise TypeError("{name}_array takes {k} arguments, got %d" % len(args))
    args = [np.asarray(x, dtype=np.float64) for x in args]
    shape = np.broadcast_shapes(*[x.shape for x in args])
    X = np.empty(({k}, int(np.prod(shape))))
    for j, x in enumerate(args):
        X[j] = np.broadcast_to(x, shape).reshape(-1)
    out = np.empty(({m},) + shape)
    kernel = {name}_batch_parallel if parallel else {name}_batch
    kernel(X, out.reshape({m}, -1))
    return out
''')
    table = "_OUT_SLOTS = np.array([%s], dtype=np.int64)" % ", ".join(map(str, out_slots))
    return [table + "\n"] + functions


def module_source(program, chunk=CHUNK):
    """The standalone numba module for ``program``."""
    small = (len(program.body) <= chunk and len(program.inputs) <= MAX_ARGS
             and len(program.outputs) <= MAX_ARGS)
    functions = _small_module(program) if small else _chunked_module(program, chunk)
    header = (f"{program.title}\n\nGenerated by symdiff (numba backend); "
              f"needs only numpy and numba.\n\n"
              f"Entry points: {program.name}_array(...) broadcasts numpy arguments and returns\n"
              f"the outputs ({', '.join(program.output_labels[:8])}{', ...' if len(program.outputs) > 8 else ''})"
              f" stacked on axis 0;\n{program.name}(...) is the scalar kernel; "
              f"{program.name}_batch / {program.name}_batch_parallel are the loops.")
    return printing.module_source(header, functions)


def numba_kernel(built, parallel=False):
    """``(source, run)``: ``run(arrays, shape)`` returns the outputs stacked on axis 0."""
    source = module_source(built.program)
    module = load_module(source)
    entry = getattr(module, built.program.name + "_array")

    def run(arrays, shape):
        return entry(*arrays, parallel=parallel)
    return source, run
