"""The numba backend: scalar and batch kernels in a standalone module.

The generated module imports only numpy and numba (and ``math`` where a
spelling needs it), never symdiff, so :func:`symdiff.export` can write it
anywhere.  It holds, for a program named ``grad``:

``grad(...)``
    the scalar kernel (``numba.njit``),
``grad_batch(..., out)`` / ``grad_batch_parallel(..., out)``
    one fused loop over elements (``prange`` in the parallel one) calling the
    scalar kernel and writing into a preallocated ``out``: no whole-array
    temporaries.  When every op of the program can be vectorised, the loop
    calls ``_grad_vector`` instead: the same program spelled with the
    branch-free sin/cos/exp/log of :mod:`symdiff.vecmath` (their source is
    part of the module), which LLVM turns into SIMD code,
``grad_gufunc``
    the same kernel as a numpy generalized ufunc (``numba.guvectorize``, one
    scalar output per output), built on first use: it works with
    ``dask.array.apply_gufunc`` and walks partly broadcast inputs in place,
``grad_array(..., parallel=False)``
    a plain-Python entry point that broadcasts numpy arguments and returns
    the outputs stacked on a leading axis.

Bounded compile time.  Numba's compile time grows with function size (about
3 ms a statement here, more for long functions), so a program longer than
``STRAIGHT_LINE_LIMIT`` statements, or with more than ``MAX_ARGS`` inputs or
outputs, is encoded as a tape instead (see :mod:`symdiff.tape`): arrays run
by one executor compiled once.  Its ``grad(*inputs)`` returns an array.
"""

from . import printing, tape
from .compile import load_module
from .ops import VECTOR_CHECKED, VECTOR_FUNCTIONS, VECTOR_SPELLINGS

#: Longest program compiled as straight-line code; longer ones run as a tape.
#: See benchmarks/compile_time.py for the measurements behind it.
STRAIGHT_LINE_LIMIT = 1000
#: Above this many inputs or outputs the tape form is used too.
MAX_ARGS = 128

_JIT = '@numba.njit(cache=True, error_model="numpy")'
_JIT_PARALLEL = '@numba.njit(cache=True, error_model="numpy", parallel=True)'
#: Longest program whose batch loop is vectorised (see _vectorisable).  Cold
#: compile of the batch loop, sin/exp chains: 48 statements 0.6 s, 98 1.0 s,
#: 198 2.6 s, 498 14.7 s (the plain loop: about the scalar kernel's time).
VECTOR_LIMIT = 100
#: LLVM vectorises a loop only if it needs at most this many run-time overlap
#: checks between its arrays: one per output pair and one per (output, input)
#: pair (measured with numba's LLVM: w*(w-1)/2 + w*r <= 128 for w outputs and r
#: inputs).  More outputs are written by several loops over the batch, each
#: storing a group of them (LLVM drops the work a group does not need).
MEMORY_CHECK_LIMIT = 128
#: At most this many such loops; beyond, the recomputation outweighs the gain.
MAX_VECTOR_LOOPS = 4
_JIT_INLINE = '@numba.njit(cache=True, error_model="numpy", inline="always")'


def _vectorisable(program):
    """Whether the batch loop should use the vector kernel (see :mod:`symdiff.vecmath`).

    Only when every op has a vector spelling (a libm call anywhere keeps LLVM
    from vectorising the loop; ``x ** 2.0`` is no call, LLVM makes it ``x * x``)
    and one of them is a function the vector kernel replaces; plain arithmetic
    vectorises as it is.  And only up to ``VECTOR_LIMIT`` statements: the
    vector kernel is inlined into the loop by numba, which costs compile time
    superlinear in its length.
    """
    if len(program.body) > VECTOR_LIMIT or _output_group_size(program) is None:
        return False
    ops = {op for _, op, args in program.body if not (op == "pow" and args[1] == 2.0)}
    return ops <= VECTOR_SPELLINGS.keys() - {"pow"} and not ops.isdisjoint(VECTOR_FUNCTIONS)


def _output_group_size(program):
    """How many outputs one vectorised loop may store (see ``MEMORY_CHECK_LIMIT``), or
    None when more than ``MAX_VECTOR_LOOPS`` loops would be needed."""
    m, r = len(program.outputs), len(program.inputs)
    w = 0
    while w < m and (w + 1) * w // 2 + (w + 1) * r <= MEMORY_CHECK_LIMIT:
        w += 1
    if w == 0 or -(-m // w) > MAX_VECTOR_LOOPS:
        return None
    return w


def _trig_arguments(program):
    """The names (or numbers) sin and cos are applied to, in order, each once."""
    return list(dict.fromkeys(printing.operand(args[0]) for _, op, args in program.body
                              if op in VECTOR_CHECKED))


def _vector_kernel(program, checks):
    """``_name_vector``: the scalar kernel spelled with vecmath's functions, inlined into the loop.

    With trig arguments ``checks`` it returns one more value: whether each is
    within ``VEC_TRIG_LIMIT`` (where vecmath's reduction is exact), inf or nan.
    """
    ok = " & ".join(f"((abs({a}) <= VEC_TRIG_LIMIT) | (abs({a}) == np.inf) | ({a} != {a}))"
                    for a in checks)
    return printing.function_source(program, "vector", name=f"_{program.name}_vector",
                                    decorator=_JIT_INLINE, extra=[ok] if checks else [])


def _batch_loop(program, parallel, vector=False, checked=False):
    name, m = program.name, len(program.outputs)
    params = printing.leading_parameters(program.inputs)
    lines = [_JIT_PARALLEL if parallel else _JIT,
             f"def {name}_batch{'_parallel' if parallel else ''}({params}out):",
             printing.docstring(
                 f"{name} element by element{' on all cores' if parallel else ''}.\n\n"
                 f"Each input is a 1-d float64 array of length N, or of length 1 to broadcast;\n"
                 f"the {m} outputs are written into out, of shape ({m}, N).", "    ")]
    # A length-1 input is read once, before the loop: loads inside the loop could
    # not be hoisted (out may alias it, as far as LLVM knows).
    for j, x in enumerate(program.inputs):
        lines.append(f"    _s{j} = {x}.shape[0] > 1")
        lines.append(f"    _c{j} = {x}[0] if {x}.shape[0] > 0 else 0.0")
    loop = "numba.prange" if parallel else "range"
    call = ", ".join(f"{x}[_i] if _s{j} else _c{j}" for j, x in enumerate(program.inputs))

    def element(kernel, indent, outputs=range(m)):
        return [f"{indent}_r = {kernel}({call})"] + [f"{indent}out[{o}, _i] = _r[{o}]" for o in outputs]

    if not vector:
        lines.append(f"    for _i in {loop}(out.shape[1]):")
        lines.extend(element(name, " " * 8))
        return "\n".join(lines) + "\n"
    # One vectorised pass.  With sin or cos, if an argument is finite but beyond the
    # vector reduction's range, the whole batch is done again by the scalar (libm)
    # kernel: rare, and cheaper to compile than redoing single elements.  (A loop
    # over blocks, redoing a failed block, is not vectorised by LLVM here.)
    if checked:
        lines.append("    _bad = 0")
    size = _output_group_size(program)
    for start in range(0, m, size):
        lines.append(f"    for _i in {loop}(out.shape[1]):")
        lines.extend(element(f"_{name}_vector", " " * 8, range(start, min(m, start + size))))
        if checked and start == 0:
            lines.append(f"        _bad += 0 if _r[{m}] else 1")
    if checked:
        lines += ["    if _bad:", f"        for _i in {loop}(out.shape[1]):"]
        lines.extend(element(name, " " * 12))
    return "\n".join(lines) + "\n"


_ARRAY_ENTRY = '''\
def {name}_array({params}parallel=False):
    """Broadcasting entry point: numbers or numpy arrays in, outputs stacked on axis 0.

    Returns a float64 array of shape ({m}, *S), S the broadcast shape of the inputs.
    """
    args = [np.asarray(x, dtype=np.float64) for x in {args_tuple}]
    shape = np.broadcast_shapes(*[x.shape for x in args])
    out = np.empty(({m},) + shape)
    if not out.size:
        return out      # no outputs (a gradient with no structural nonzeros), or no points
    if not shape:
        out[:] = {scalar_call}
        return out
    simple = all(x.size == 1 or (x.shape == shape and x.flags.c_contiguous) for x in args)
    if simple or parallel:
        # one flat loop; scalars broadcast by a zero stride, full arrays are views
        flat = [x.reshape(1) if x.size == 1 else np.broadcast_to(x, shape).reshape(-1) for x in args]
        kernel = {name}_batch_parallel if parallel else {name}_batch
        kernel({batch_args}out.reshape({m}, -1))
    else:
        # partly broadcast or strided inputs: numpy's gufunc loop walks them in place
        _{name}_gufunc()(*args, *out)
    return out
'''

_GUFUNC = '''\
{name}_gufunc_signature = "{layout}"


def _{name}_gufunc_kernel({params}{outs}):
    _r = {name}({call})
{stores}


def _{name}_gufunc():
    """{name}_gufunc, built on first use: a gufunc compiles when made, unlike the rest."""
    if "{name}_gufunc" not in globals():
        globals()["{name}_gufunc"] = numba.guvectorize(
            ["void({types})"], {name}_gufunc_signature, cache=True)(_{name}_gufunc_kernel)
    return globals()["{name}_gufunc"]


def __getattr__(attribute):
    if attribute == "{name}_gufunc":
        return _{name}_gufunc()
    raise AttributeError(f"module {{__name__!r}} has no attribute {{attribute!r}}")
'''


def _gufunc(program):
    """``name_gufunc``: a numpy gufunc with one scalar output per program output."""
    k, m = len(program.inputs), len(program.outputs)
    outs = [f"_o{j}" for j in range(m)]
    return _GUFUNC.format(
        name=program.name, params=printing.leading_parameters(program.inputs), outs=", ".join(outs),
        call=", ".join(program.inputs),
        stores="\n".join(f"    {o}[0] = _r[{j}]" for j, o in enumerate(outs)),
        types=", ".join(["float64"] * k + ["float64[:]"] * m),
        layout=",".join(["()"] * k) + "->" + ",".join(["()"] * m))


def _small_module(program):
    """Direct form: the scalar kernel takes and returns plain floats."""
    k = len(program.inputs)
    scalar = printing.function_source(program, "scalar", decorator=_JIT)
    vector = _vectorisable(program)
    entry = _ARRAY_ENTRY.format(
        name=program.name, params=printing.leading_parameters(program.inputs), m=len(program.outputs),
        args_tuple=printing.tuple_expression(program.inputs),
        scalar_call=f"{program.name}(*[float(x) for x in args])",
        batch_args="".join(f"flat[{j}], " for j in range(k)))
    checks = _trig_arguments(program) if vector else []
    batch = [_batch_loop(program, False, vector, bool(checks)), _batch_loop(program, True, vector, bool(checks))]
    if vector:
        from . import vecmath  # imports numba: only when a numba module is made
        batch = [vecmath.source(), _vector_kernel(program, checks)] + batch
    from . import special  # imports numba, as vecmath
    return special.sources_for(program) + [scalar] + batch + [_gufunc(program), entry]


def uses_tape(program, limit=None):
    """Whether ``program`` is too large for straight-line code (see the module docstring)."""
    limit = STRAIGHT_LINE_LIMIT if limit is None else limit
    return (len(program.body) > limit or len(program.inputs) > MAX_ARGS
            or len(program.outputs) > MAX_ARGS)


def module_source(program, standalone=True, limit=None, sparsity=None):
    """The numba module for ``program``.

    A standalone module (for export) carries the tape executor's source when
    it needs it; otherwise a tape module imports the executor from symdiff,
    whose compiled code numba caches once per machine.  With ``sparsity``
    (rows, cols, shape: the outputs are a sparse matrix's nonzeros) the module
    holds the pattern as SPARSE_ROWS, SPARSE_COLS and SPARSE_SHAPE.
    """
    if uses_tape(program, limit):
        functions = tape.module_functions(program, tape.encode(program))
        if standalone:
            functions = [tape.executor_source()] + functions
        else:
            functions = ["from symdiff._executor import tape_batch, tape_batch_parallel, tape_scalar\n"] \
                + functions
    else:
        functions = _small_module(program)
    # the call order and the output labels as data, for code that maps a vector or a dict to them
    functions = functions + [labels_source(program)]
    name, inputs = program.name, program.inputs
    args = signature_ends(inputs)
    order = "" if len(inputs) <= 16 else (f"\n        ({len(inputs)} inputs, in the order of INPUTS: "
                                          f"{name}_array(*(values[k] for k in INPUTS)))")
    labels = printing.listing(program.output_labels, 16)
    scalar = ("the scalar kernel: a tuple of floats" if not uses_tape(program, limit)
              else "one evaluation: an array of the outputs")
    header = (f"{program.title}\n\nGenerated by symdiff (numba backend); needs only numpy and numba.\n\n"
              f"Outputs, in order (OUTPUTS): {labels}\n\n"
              f"Call it:\n"
              f"    {name}_array({args}){order}\n"
              f"        numbers or numpy arrays, broadcast together to a shape S; returns a\n"
              f"        float64 array of shape ({len(program.outputs)}, *S). parallel=True runs the loop on all cores.\n"
              f"    {name}({args})\n"
              f"        {scalar}")
    if sparsity is not None:
        source, note = sparsity_parts(sparsity, f"{name}_array", len(program.outputs))
        functions, header = functions + [source], header + note
    return printing.module_source(header, functions)


def signature_ends(inputs):
    """The parameters as a docstring shows them: a signature of thousands of names is no help
    there, so over 16 only its ends (INPUTS holds them all)."""
    return ", ".join(inputs) if len(inputs) <= 16 else ", ".join(inputs[:8]) + ", ..., " + inputs[-1]


def labels_source(program):
    """``INPUTS`` (the call order) and ``OUTPUTS`` (the outputs' labels) as module source:
    data for code that maps a vector or a dict to them."""
    return (printing.names_literal("INPUTS", program.inputs) + "\n"
            + printing.names_literal("OUTPUTS", program.output_labels) + "\n")


def sparsity_parts(sparsity, entry, outputs=None):
    """For outputs that end with a sparse matrix's nonzeros (``sparsity``: rows, cols, shape;
    ``outputs``: how many there are in all, when values come first, as a value_and_jacobian's):
    the module source of SPARSE_ROWS, SPARSE_COLS and SPARSE_SHAPE, and the docstring's note
    on them (``entry``: the function whose outputs they are)."""
    rows, cols, shape = sparsity
    first = 0 if outputs is None else outputs - len(rows)
    source = "\n".join([tape.array_literal("SPARSE_ROWS", rows, "int64"),
                        tape.array_literal("SPARSE_COLS", cols, "int64"),
                        f"SPARSE_SHAPE = {tuple(shape)!r}"]) + "\n"
    which, values = ("The outputs are", f"{entry}(...)") if not first else (
        f"The outputs from {first} on (after the {first} values) are", f"{entry}(...)[{first}:]")
    note = (f"\n\n{which} the nonzeros of a sparse {shape[0]} x {shape[1]} matrix, entry k at\n"
            f"(SPARSE_ROWS[k], SPARSE_COLS[k]): with values = {values},\n"
            f"    scipy.sparse.csr_matrix((values, (SPARSE_ROWS, SPARSE_COLS)), shape=SPARSE_SHAPE)")
    return source, note


def numba_kernel(built, parallel=False):
    """``(source, module, run)``: ``run(arrays, shape)`` returns the outputs stacked on axis 0."""
    source = module_source(built.program, standalone=False)
    module = load_module(source)
    entry = getattr(module, built.program.name + "_array")

    def run(arrays, shape):
        return entry(*arrays, parallel=parallel)
    return source, module, run
