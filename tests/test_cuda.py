"""The CUDA backend: on a GPU when there is one, on numba's CUDA simulator always."""

import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

import symdiff as sd
from conftest import gpu_present as _gpu
from symdiff.examples import TOY_NETWORK_LOSS, TOY_NETWORK_PARAMETERS, rosenbrock

MIXED = ("sigmoid(x)*y + softplus(x - y) + relu(x) + abs(y) + max(x, y) + min(x, 2*y) + sign(x)"
         " + heaviside(y) + leaky_relu(x - 1, 0.1) + cbrt(x) + hypot(x, y) + atan2(y, x) + erf(x)"
         " + log1p(x*x) + expm1(y) + tanh(x) + sqrt(x) + x^y + asinh(y) + acosh(1 + x) + atanh(y/3)"
         " + lgamma(1 + x*y) + digamma(2 + x) + x*mod(3*x, y - 2) + y*mod(x - 1, 0.7)")


def _nvvm():
    """Whether numba can compile for CUDA here, GPU or not (the CUDA toolkit's libnvvm is found)."""
    try:
        from numba.cuda.cudadrv import nvvm
        return nvvm.is_available() and not os.environ.get("NUMBA_ENABLE_CUDASIM")
    except Exception:
        return False


SIMULATED = textwrap.dedent(f'''
    import json, numpy as np, symdiff as sd
    x = np.linspace(0.3, 2.0, 40); y = np.linspace(-1.5, 1.2, 40)
    got = sd.grad({MIXED!r}, wrt=["x", "y"], backend="cuda")(x=x, y=y)
    want = sd.grad({MIXED!r}, wrt=["x", "y"], backend="python")(x=x, y=y)
    p = dict(zip({TOY_NETWORK_PARAMETERS!r}, np.linspace(-0.5, 0.5, 8)))
    g2 = sd.value_and_grad({TOY_NETWORK_LOSS!r}, wrt={TOY_NETWORK_PARAMETERS!r}, backend="cuda")
    w2 = sd.value_and_grad({TOY_NETWORK_LOSS!r}, wrt={TOY_NETWORK_PARAMETERS!r}, backend="python")
    v, g = g2(**p, x=x[:, None], y=y[None, :8])
    wv, wg = w2(**p, x=x[:, None], y=y[None, :8])
    print(json.dumps([float(np.max(np.abs(got - want))), got.shape == want.shape,
                      float(np.max(np.abs(g - wg))), g.shape == wg.shape, float(np.max(np.abs(v - wv)))]))
''')


def _simulated(code, tmp_path):
    """Run ``code`` on numba's CUDA simulator in a fresh process: the JSON its last line prints."""
    import json
    env = dict(os.environ, NUMBA_ENABLE_CUDASIM="1", SYMDIFF_CACHE_DIR=str(tmp_path))
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=env)
    assert r.returncode == 0, r.stderr
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_generated_cuda_code_runs_on_the_simulator(tmp_path):
    err, same_shape, err2, same_shape2, err_value = _simulated(SIMULATED, tmp_path)
    assert same_shape and same_shape2
    assert err < 1e-12 and err2 < 1e-12 and err_value < 1e-12


ON_THE_DEVICE = textwrap.dedent('''
    import json, numpy as np, symdiff as sd
    from numba import cuda
    f = "sin(x*y) + exp(a)*x"
    g = sd.grad(f, wrt=["x", "y"], backend="cuda")
    want = sd.grad(f, wrt=["x", "y"], backend="python")
    x = np.linspace(0, 1, 12).reshape(3, 4); y = np.linspace(-1, 2, 12).reshape(3, 4)
    dx, dy = cuda.to_device(x), cuda.to_device(y)
    report = {}
    # device arrays with numbers, numpy arrays and one-element device arrays beside them
    for label, args, host in [("device", dict(x=dx, y=dy, a=0.5), dict(x=x, y=y, a=0.5)),
                              ("mixed", dict(x=dx, y=y, a=np.float64(0.5)), dict(x=x, y=y, a=0.5)),
                              ("one element", dict(x=dx, y=2.0, a=cuda.to_device(np.array([0.5]))),
                               dict(x=x, y=2.0, a=0.5))]:
        r = g(**args)
        report[label] = [type(r).__name__, list(r.shape), float(np.abs(r.copy_to_host() - want(**host)).max())]
    report["numpy in"] = type(g(x=x, y=y, a=0.5)).__name__
    v, gr = sd.value_and_grad(f, wrt=["x", "y"], backend="cuda")(x=dx, y=dy, a=0.5)
    wv, wg = sd.value_and_grad(f, wrt=["x", "y"], backend="python")(x=x, y=y, a=0.5)
    report["value_and_grad"] = [type(v).__name__, list(v.shape), list(gr.shape),
                                float(np.abs(v.copy_to_host() - wv).max()), float(np.abs(gr.copy_to_host() - wg).max())]
    report["empty"] = list(g(x=cuda.to_device(np.zeros((0, 4))), y=1.0, a=0.5).shape)
    H = sd.hessian("x^2*y", sparse=True, backend="cuda")
    report["sparse"] = H(x=cuda.to_device(np.array(1.0)), y=2.0).toarray().tolist()
    errors = []
    for bad in [dict(x=cuda.to_device(x.astype(np.float32)), y=dy, a=0.5),
                dict(x=cuda.to_device(np.zeros((3, 1))), y=cuda.to_device(np.zeros((1, 4))), a=0.5),
                dict(x=cuda.to_device(np.asfortranarray(x)), y=dy, a=0.5)]:
        try:
            g(**bad)
            errors.append("no error")
        except (TypeError, ValueError) as e:
            errors.append(f"{type(e).__name__}: {e}")
    report["errors"] = errors
    print(json.dumps(report))
''')


def test_device_arrays_stay_on_the_device(tmp_path):
    """Device arrays in (numba's; on a GPU also CuPy's, PyTorch's: the CUDA array interface)
    give device arrays out, read where they are; numbers and numpy arrays beside them are copied."""
    report = _simulated(ON_THE_DEVICE, tmp_path)
    for label in ("device", "mixed", "one element"):
        kind, shape, err = report[label]
        assert kind == "FakeCUDAArray" and shape == [2, 3, 4] and err < 1e-14, label
    assert report["numpy in"] == "ndarray"
    kind, value_shape, grad_shape, err_value, err_grad = report["value_and_grad"]
    assert kind == "FakeCUDAArray" and value_shape == [3, 4] and grad_shape == [2, 3, 4]
    assert err_value < 1e-14 and err_grad < 1e-14
    assert report["empty"] == [2, 0, 4]
    assert report["sparse"] == [[4.0, 2.0], [2.0, 0.0]]          # a scipy matrix, on the host
    assert report["errors"] == [
        "TypeError: argument 'x' is a device array of float32; backend='cuda' takes float64",
        "ValueError: argument 'x' is a device array of shape (3, 1) and the arguments broadcast to (3, 4): "
        "on the device an array must be C-contiguous and of that shape, or hold one element",
        "ValueError: argument 'x' is a device array of shape (3, 4) (not C-contiguous) and the arguments "
        "broadcast to (3, 4): on the device an array must be C-contiguous and of that shape, or hold one element"]


def test_cuda_source_uses_math_on_the_device():
    from symdiff.api import build
    from symdiff.cuda_backend import module_source
    src = module_source(build("grad", [MIXED], ["x", "y"], "reverse").program)
    assert "@cuda.jit(device=True)" in src and "np." not in src.split("def grad_cuda_array")[0]
    assert "math.tanh(" in src and "math.atan2(" not in src and "math.exp(" in src
    assert "def grad_cuda_array(x, y, threads=256):" in src


@pytest.mark.skipif(not _nvvm(), reason="no NVVM (the CUDA toolkit's libnvvm): no CUDA compiling here")
@pytest.mark.parametrize("mode", ["reverse", "forward"])
def test_generated_kernels_compile_for_an_h100(mode):
    """The simulator runs the kernels as Python; NVVM types and lowers them on the CUDA target
    (libdevice's math, the polygamma device functions), and ptxas, where found, assembles them."""
    from symdiff.api import build
    from symdiff.cuda_backend import assemble, compile_for
    # Rosenbrock n=40: a kernel of 40 inputs (over 30 arguments once compiled to
    # CALL_FUNCTION_EX, which the CUDA target rejects)
    for formula, wrt in [(MIXED, ["x", "y"]), (TOY_NETWORK_LOSS, TOY_NETWORK_PARAMETERS), (rosenbrock(40), None)]:
        program = build("grad", [formula], wrt, mode).program
        ptx = compile_for(program, cc=(9, 0))
        assert ".target sm_90" in ptx and "grad_kernel" in ptx
        try:
            info = assemble(ptx, cc=(9, 0))
        except FileNotFoundError:      # NVVM without ptxas: the PTX is what can be checked
            continue
        # at most 255 registers a thread: a block of 256 threads always launches
        assert 0 < info["registers"] <= 255 and "sm_90" in info["report"]


@pytest.mark.skipif(not _nvvm(), reason="no NVVM (the CUDA toolkit's libnvvm): no CUDA compiling here")
def test_every_kind_compiles_for_the_cuda_target():
    """Jacobians, Hessians and the products with a direction: kernels of other input and
    output counts (the hvp's direction inputs, the Hessian's n^2 outputs)."""
    from symdiff.api import KINDS, SEVERAL_FORMULAS, build
    from symdiff.cuda_backend import compile_for
    for kind in KINDS:
        formulas = [TOY_NETWORK_LOSS, "sin(x*y)"] if kind in SEVERAL_FORMULAS else [TOY_NETWORK_LOSS]
        program = build(kind, formulas, TOY_NETWORK_PARAMETERS, "auto").program
        assert ".target sm_90" in compile_for(program, cc=(9, 0)), kind


@pytest.mark.skipif(not _nvvm(), reason="no NVVM (the CUDA toolkit's libnvvm): no CUDA compiling here")
def test_every_program_op_compiles_for_the_cuda_target():
    """One kernel holding every op a program can have (values and partials of every function
    of the language, erfc and gamma from SymPy) types and compiles for an H100."""
    import sympy
    from op_cases import OP_CASES
    from symdiff.api import build
    from symdiff.cuda_backend import compile_for
    from symdiff.program import PROGRAM_OPS
    x, y = sympy.symbols("x y")
    formula = sd.parse(" + ".join(f"({text})" for text, _, _ in OP_CASES)) + sympy.erfc(x) + sympy.gamma(y)
    program = build("value_and_grad", [formula], ["x", "y"], "reverse").program
    assert {ins.op for ins in program.body} == set(PROGRAM_OPS)
    assert ".target sm_90" in compile_for(program, cc=(9, 0))


@pytest.mark.skipif(_gpu(), reason="a GPU is present")
def test_without_a_gpu_the_error_says_so():
    with pytest.raises(RuntimeError, match="needs an NVIDIA GPU"):
        sd.grad("x*y", backend="cuda")


@pytest.mark.skipif(not _gpu(), reason="no GPU: numba.cuda.is_available() is False")
def test_cuda_matches_the_cpu_kernel_on_a_gpu():
    rng = np.random.default_rng(0)
    p = dict(zip(TOY_NETWORK_PARAMETERS, rng.normal(size=8)))
    x, y = rng.normal(size=100_000), rng.normal(size=100_000)
    gpu = sd.grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS, backend="cuda")(**p, x=x, y=y)
    cpu = sd.grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS)(**p, x=x, y=y)
    np.testing.assert_allclose(gpu, cpu, rtol=1e-12, atol=1e-14)


@pytest.mark.skipif(not _gpu(), reason="no GPU: numba.cuda.is_available() is False")
def test_every_function_on_a_gpu_matches_the_cpu():
    """libdevice's math (lgamma, erf, atan2, hypot ...) and the polygamma device functions
    against the CPU's libm and scipy: a few ulps apart, so a looser tolerance than the
    toy network's; points away from mod's jumps."""
    x = np.linspace(0.3, 2.0, 4000)
    y = np.linspace(-1.5, 1.2, 4000)
    gpu = sd.value_and_grad(MIXED, wrt=["x", "y"], backend="cuda")(x=x, y=y)
    cpu = sd.value_and_grad(MIXED, wrt=["x", "y"], backend="python")(x=x, y=y)
    for g, c in zip(gpu, cpu):
        np.testing.assert_allclose(g, c, rtol=1e-10, atol=1e-12)


@pytest.mark.skipif(not _gpu(), reason="no GPU: numba.cuda.is_available() is False")
@pytest.mark.parametrize("library", ["numba", "cupy", "torch"])
def test_device_arrays_of_each_library_on_a_gpu(library):
    """Arrays on the GPU from numba, CuPy or PyTorch (the CUDA array interface) in: a numba
    device array out, equal to the CPU kernel's result."""
    from numba import cuda
    rng = np.random.default_rng(1)
    p = dict(zip(TOY_NETWORK_PARAMETERS, rng.normal(size=8)))
    x, y = rng.normal(size=(300, 40)), rng.normal(size=(300, 40))
    if library == "numba":
        dx, dy = cuda.to_device(x), cuda.to_device(y)
    else:
        lib = pytest.importorskip(library)
        dx, dy = (lib.asarray(x, device="cuda"), lib.asarray(y, device="cuda")) if library == "torch" \
            else (lib.asarray(x), lib.asarray(y))
    gpu = sd.grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS, backend="cuda")(**p, x=dx, y=dy)
    assert cuda.devicearray.is_cuda_ndarray(gpu) and gpu.shape == (8, 300, 40)
    cpu = sd.grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS)(**p, x=x, y=y)
    np.testing.assert_allclose(gpu.copy_to_host(), cpu, rtol=1e-12, atol=1e-14)


def test_a_numba_cuda_that_cannot_compile_is_a_clear_error(monkeypatch):
    """numba-cuda 0.30 with numpy 2.5 fails at its first kernel, deep inside numba: symdiff
    says so up front, with the versions, where numba.cuda's compiler does not import."""
    import numba
    from numba import cuda
    monkeypatch.setattr(numba.config, "ENABLE_CUDASIM", 0)
    monkeypatch.setattr(cuda, "is_available", lambda: True)
    monkeypatch.setitem(sys.modules, "numba.cuda.cudaimpl", None)     # its import fails
    with pytest.raises(RuntimeError, match=r"numba.cuda cannot compile kernels here: importing its "
                       r"compiler failed with ModuleNotFoundError: .*numba 0\.\d+.*numpy \d"):
        sd.grad("x*y", backend="cuda")


def test_every_program_op_has_a_cuda_spelling():
    from symdiff.ops import CUDA_SPELLINGS
    from symdiff.program import PROGRAM_OPS
    assert set(PROGRAM_OPS) <= set(CUDA_SPELLINGS)
