"""Vectorisable sin, cos, exp, log, tanh (symdiff.vecmath) against libm, and the batch loops using them.

The oracle is numpy's ufuncs (the platform's libm) on the same float64
arguments; vecmath's functions must be within 1 ulp of them (tanh: 2), and
give the same nan, inf and zero where libm does.
"""

import math

import numba
import numpy as np
import pytest

import symdiff as sd
from symdiff import vecmath
from symdiff.api import build
from symdiff.numba_backend import MAX_VECTOR_LOOPS, MEMORY_CHECK_LIMIT, VECTOR_LIMIT, _output_group_size, _vectorisable


def _loop(fn):
    @numba.njit(error_model="numpy")
    def run(x, out):
        for i in range(x.shape[0]):
            out[i] = fn(x[i])
    return run


@pytest.fixture(scope="module")
def loops():
    return {name: _loop(getattr(vecmath, "vec_" + name)) for name in ("sin", "cos", "exp", "log", "tanh")}


SPECIAL = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 1.0, -1.0, 0.5, 2.0, 5e-324, -5e-324,
                    2.2250738585072014e-308, 1.7976931348623157e308, -1.7976931348623157e308])


def _arguments(name):
    rng = np.random.default_rng(7)
    if name in ("sin", "cos"):
        parts = [rng.normal(size=20_000) * s for s in (1e-300, 1e-8, 0.3, 1.0, 3.0, 100.0, 1e4, 1e6)]
        # near multiples of pi/2, where the reduction cancels the most digits
        k = rng.integers(-950_000, 950_000, size=20_000) * (np.pi / 2)
        parts += [k, np.nextafter(k, np.inf), np.nextafter(k, -np.inf), SPECIAL]
        x = np.concatenate(parts)
        return x[~(np.abs(x) > vecmath.VEC_TRIG_LIMIT) | ~np.isfinite(x)]   # the batch loop redoes the rest
    if name == "exp":
        return np.concatenate([rng.uniform(-746.0, 710.0, 100_000), rng.normal(size=50_000),
                               rng.normal(size=20_000) * 1e-12, np.array([709.78, 709.79, -745.13, -745.14,
                                                                         -708.4, -720.0]), SPECIAL])
    if name == "tanh":
        # both sides of 0.625, where the rational function hands over to exp
        return np.concatenate([rng.normal(size=20_000) * s for s in (1e-310, 1e-8, 0.1, 0.3, 0.6, 1.0, 3.0, 30.0)]
                              + [rng.uniform(-0.7, 0.7, 100_000), np.array([0.625, -0.625, 19.1, 354.0, 356.0]),
                                 SPECIAL])
    parts = [np.abs(rng.normal(size=20_000)) * s for s in (1e-315, 1e-300, 1e-5, 1.0, 1e5, 1e300)]
    return np.concatenate(parts + [rng.uniform(0.7, 1.4, 50_000), -np.abs(rng.normal(size=100)),
                                   SPECIAL])


@pytest.mark.parametrize("name", ["sin", "cos", "exp", "log", "tanh"])
def test_within_one_ulp_of_libm_and_same_specials(loops, name):
    x = _arguments(name)
    got = np.empty_like(x)
    loops[name](x, got)
    with np.errstate(all="ignore"):
        want = getattr(np, name)(x)
    np.testing.assert_array_equal(np.isnan(got), np.isnan(want))
    finite = np.isfinite(want)
    np.testing.assert_array_equal(got[~finite & ~np.isnan(want)], want[~finite & ~np.isnan(want)])
    assert np.all(np.isfinite(got[finite]))
    ulps = np.abs(got[finite] - want[finite]) / np.spacing(np.abs(want[finite]))
    # Cephes tanh above 0.625 rounds twice after exp: 2 ulp at worst, rarely more than 1
    assert ulps.max() <= (2.0 if name == "tanh" else 1.0), (name, x[finite][np.argmax(ulps)])
    assert np.mean(ulps > 1.0) < 1e-3
    zeros = x == 0.0
    np.testing.assert_array_equal(np.signbit(got[zeros]), np.signbit(want[zeros]))     # -0 stays -0


def test_hand_worked_values(loops):
    x = np.array([0.0, math.pi / 6, math.pi, 1.0, math.e])
    out = np.empty_like(x)
    loops["sin"](x[:2], out[:2])
    assert out[0] == 0.0 and out[1] == pytest.approx(0.5, abs=1e-16)
    loops["exp"](np.array([1.0, 0.0, -1e-320]), out[:3])
    assert out[0] == pytest.approx(math.e, rel=2.3e-16)    # fdlibm's exp(1) is 1 ulp above e
    assert out[1] == 1.0 and out[2] == 1.0
    loops["log"](np.array([1.0, math.e, 1024.0]), out[:3])
    assert out[0] == 0.0 and out[1] == pytest.approx(1.0, abs=2e-16) and out[2] == 10 * math.log(2)
    # tanh(log(3)/2) = (3 - 1)/(3 + 1) = 1/2; tanh(log(2)) = 3/5; saturates to 1
    loops["tanh"](np.array([math.log(3) / 2, -math.log(2), 40.0, -1e300]), out[:4])
    assert out[0] == pytest.approx(0.5, rel=3e-16) and out[1] == pytest.approx(-0.6, rel=3e-16)
    assert out[2] == 1.0 and out[3] == -1.0


# Formulas whose batch loop is vectorised (every op has a vector spelling).
VECTOR_FORMULAS = ["sin(x)*y", "cos(x*y)", "exp(x) - y", "log(x) + y", "sigmoid(x*y)",
                   "sin(x) + cos(y)", "sqrt(abs(x)) * exp(-y^2)", "tanh(x*y - 0.5)"]


@pytest.fixture(scope="module", params=["forward", "reverse"])
def vector_jacobian(request):
    """(serial numba, parallel numba, python reference) Jacobians of VECTOR_FORMULAS."""
    mode = request.param
    return (sd.jacobian(VECTOR_FORMULAS, wrt=["x", "y"], mode=mode, backend="numba"),
            sd.jacobian(VECTOR_FORMULAS, wrt=["x", "y"], mode=mode, backend="numba", parallel=True),
            sd.jacobian(VECTOR_FORMULAS, wrt=["x", "y"], mode=mode, backend="python"))


def test_vector_loop_is_used_and_vectorised(vector_jacobian):
    compiled = vector_jacobian[0]
    assert _vectorisable(compiled.program)
    assert "vec_sin(" in compiled.source and "vec_exp(" in compiled.source and "vec_tanh(" in compiled.source
    compiled(x=np.ones(4), y=np.ones(4))
    module = compiled.module
    batch = module.jacobian_batch
    ir = batch.inspect_llvm(batch.signatures[0])
    assert "x double>" in ir          # SIMD vectors of doubles in the loop


@pytest.mark.parametrize("x", [
    np.linspace(-3.0, 3.0, 41),
    np.array([0.3, -2.1, 0.0, -0.0, 5e-324, 1e-310, 700.0, -800.0, np.inf, -np.inf, np.nan]),
    # trig arguments beyond the vector reduction: the whole batch falls back to libm
    np.array([0.3, 1e7, -2.5e6, 1e300, 2.0]),
], ids=["grid", "specials", "huge"])
def test_vector_loop_matches_python_backend(vector_jacobian, x):
    serial, parallel, reference = vector_jacobian
    y = np.linspace(-1.5, 2.5, x.size)
    with np.errstate(all="ignore"):
        want = reference(x=x, y=y)
    for got in (serial(x=x, y=y), parallel(x=x, y=y)):
        np.testing.assert_allclose(got, want, rtol=4e-15, atol=1e-300, equal_nan=True)


def test_programs_with_libm_calls_keep_the_scalar_loop():
    for formula in ["tan(x) * sin(y)", "x^y + exp(x)", "x*y + 1", "tanh(x) + expm1(y)"]:
        assert not _vectorisable(build("grad", [formula], ["x", "y"], "reverse").program), formula
    assert _vectorisable(build("grad", ["exp(x)^2 * y"], ["x", "y"], "reverse").program)
    # long programs keep it too: inlining the vector kernel would cost compile time
    long = build("grad", ["+".join(f"sin({k}*x)" for k in range(1, 60))], ["x"], "reverse").program
    assert len(long.body) > VECTOR_LIMIT and not _vectorisable(long)


def test_many_outputs_are_stored_by_several_vectorised_loops():
    # A tanh network with 3 hidden units: 10 parameters and x, y are inputs, the 10
    # gradient entries outputs.  One loop storing all 10 would need 10*9/2 + 10*12 = 165
    # run-time overlap checks, more than LLVM does (MEMORY_CHECK_LIMIT): two loops.
    hidden = " + ".join(f"v{k}*tanh(w{k}*x + b{k})" for k in range(3))
    params = [f"{p}{k}" for k in range(3) for p in "wbv"] + ["c"]
    g = sd.grad(f"({hidden} + c - y)^2", wrt=params)
    size = _output_group_size(g.program)
    assert size == 8 and size * (size - 1) // 2 + size * 12 <= MEMORY_CHECK_LIMIT
    assert g.source.count("for _i in range(out.shape[1]):") == 2
    rng = np.random.default_rng(1)
    point = {p: rng.normal() for p in params}
    x, y = rng.normal(size=101), rng.normal(size=101)
    np.testing.assert_allclose(g(x=x, y=y, **point),
                               sd.grad(f"({hidden} + c - y)^2", wrt=params, backend="python")(x=x, y=y, **point),
                               rtol=1e-12, atol=1e-14)      # tanh: 2 ulp, and cancellation
    batch = g.module.grad_batch
    assert "x double>" in batch.inspect_llvm(batch.signatures[0])


def test_output_groups_follow_the_memory_check_limit():
    def program(n_inputs, n_outputs):        # d/dx0 of n_outputs formulas; x1... are parameters
        text = " + ".join(f"sin(x{j})" for j in range(n_inputs))
        built = build("jacobian", [f"sin({k + 1}*x0)*({text})" for k in range(n_outputs)], ["x0"], "forward")
        assert (len(built.program.inputs), len(built.program.outputs)) == (n_inputs, n_outputs)
        return built.program
    assert _output_group_size(program(2, 14)) == 14          # 91 + 28 = 119 checks: one loop
    assert _output_group_size(program(2, 15)) == 14          # 105 + 30 = 135: two
    assert _output_group_size(program(30, 4)) == 4           # 6 + 120 = 126
    # more loops than MAX_VECTOR_LOOPS, or not even one output per loop: the plain loop
    assert _output_group_size(program(40, MAX_VECTOR_LOOPS * 3 + 1)) is None
    assert not _vectorisable(program(40, MAX_VECTOR_LOOPS * 3 + 1))
