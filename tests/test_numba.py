"""The numba backend agrees with the python backend (the reference), scalar and batch.

Compiled functions are shared across tests (module-level fixtures): numba
compilation is the slow part of the suite.
"""

import numpy as np
import pytest

import symdiff as sd
from symdiff.api import build
from symdiff.compile import load_module
from symdiff.numba_backend import module_source
from op_cases import OP_CASES

FORMULAS = [case[0] for case in OP_CASES]
POINTS = {
    "x": np.array([0.3, -2.1, 1.7, 0.0, -1.0, 2.0, np.nan, 1e3]),
    "y": np.array([0.4, 2.0, -0.5, 0.0, 1.0, 2.0, 1.0, -3.0]),
}


@pytest.fixture(scope="module", params=["forward", "reverse"])
def all_ops(request):
    """One Jacobian of every op in the language, in both backends."""
    mode = request.param
    return (sd.jacobian(FORMULAS, wrt=["x", "y"], mode=mode, backend="numba"),
            sd.jacobian(FORMULAS, wrt=["x", "y"], mode=mode, backend="python"))


def test_every_op_matches_python_backend_in_batch(all_ops):
    compiled, reference = all_ops
    got = compiled(**POINTS)
    want = reference(**POINTS)
    assert got.shape == (len(FORMULAS), 2, len(POINTS["x"]))
    # inside and outside the domains alike, nan and inf included
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-300, equal_nan=True)


def test_every_op_matches_python_backend_scalar(all_ops):
    compiled, reference = all_ops
    for k in range(len(POINTS["x"])):
        point = {name: float(values[k]) for name, values in POINTS.items()}
        np.testing.assert_allclose(compiled(**point), reference(**point), rtol=1e-13, atol=1e-300,
                                   equal_nan=True)


def test_numbers_take_the_scalar_kernel_with_the_same_results(all_ops):
    # plain floats (by position or by name) go straight to the scalar kernel; 0-d arrays take
    # the general path through the batch entry.  numba: the same kernel, so the same bits, nan
    # and inf included.  python: numpy floats instead of 0-d arrays, where numpy's power on
    # arrays (SIMD) and on scalars (libm) can differ in the last bit (2^-2.1)
    compiled, reference = all_ops
    for fn, rtol in ((compiled, 0.0), (reference, 2.3e-16)):
        for k in range(len(POINTS["x"])):
            x, y = float(POINTS["x"][k]), float(POINTS["y"][k])
            general = fn(np.array(x), np.array(y))
            np.testing.assert_allclose(fn(x, y), general, rtol=rtol, atol=0, equal_nan=True)
            np.testing.assert_array_equal(fn(y=y, x=x), fn(x, y))


def test_numbers_take_the_tape_scalar_entry_too():
    # more inputs than a numba signature takes: the tape form, whose scalar entry is an array
    from symdiff.numba_backend import MAX_ARGS
    n = MAX_ARGS + 5
    text = " + ".join(f"sin(x{i})*x{i + 1}" for i in range(n - 1))
    names = [f"x{i}" for i in range(n)]
    fn = sd.grad(text, wrt=names)
    assert "tape_scalar" in fn.source
    x = np.linspace(-1.0, 1.0, n)
    got = fn(*x)                      # numpy floats
    np.testing.assert_array_equal(got, fn(*[np.array(v) for v in x]))
    # by hand: d/dx_i = cos(x_i) x_{i+1} + sin(x_{i-1})
    want = np.zeros(n)
    want[:-1] += np.cos(x[:-1]) * x[1:]
    want[1:] += np.sin(x[:-1])
    np.testing.assert_allclose(got, want, rtol=1e-13, atol=1e-15)


TOY = "(beta3 + omega3*cos(beta2 + omega2*exp(beta1 + omega1*sin(beta0 + omega0*x))) - y)^2"
PARAMS = ["beta0", "omega0", "beta1", "omega1", "beta2", "omega2", "beta3", "omega3"]


@pytest.fixture(scope="module")
def toy():
    return (sd.value_and_grad(TOY, wrt=PARAMS, backend="numba"),
            sd.value_and_grad(TOY, wrt=PARAMS, backend="numba", parallel=True),
            sd.value_and_grad(TOY, wrt=PARAMS, backend="python"))


def test_batch_broadcasting_and_parallel(toy):
    serial, parallel, reference = toy
    rng = np.random.default_rng(0)
    params = dict(zip(PARAMS, rng.normal(size=8)))
    x = rng.normal(size=(50, 1))
    y = rng.normal(size=(1, 7))
    for fn in (serial, parallel):
        value, grad = fn(**params, x=x, y=y)
        ref_value, ref_grad = reference(**params, x=x, y=y)
        assert value.shape == (50, 7) and grad.shape == (8, 50, 7)
        np.testing.assert_allclose(value, ref_value, rtol=1e-13)
        np.testing.assert_allclose(grad, ref_grad, rtol=1e-12, atol=1e-14)
    # a parameter given as an array too, full shape, and non-contiguous data
    xs = rng.normal(size=200)[::2]
    params["beta0"] = rng.normal(size=100)
    np.testing.assert_allclose(serial(**params, x=xs, y=0.3)[1], reference(**params, x=xs, y=0.3)[1],
                               rtol=1e-12, atol=1e-14)


def test_attributes_and_source(toy):
    serial = toy[0]
    assert serial.backend == "numba" and serial.mode == "reverse"
    assert "@numba.njit(cache=True" in serial.source
    assert "import symdiff" not in serial.source


def test_tape_form_matches_straight_line_form():
    built = build("value_and_grad", [TOY], PARAMS, "reverse")
    program = built.program
    for standalone in (False, True):
        source = module_source(program, standalone=standalone, limit=4)
        assert ("def tape_run(" in source) == standalone
        taped = load_module(source)
        direct = sd.value_and_grad(TOY, wrt=PARAMS, backend="python")
        rng = np.random.default_rng(1)
        args = [rng.normal(size=5) for _ in program.inputs]
        stacked = taped.value_and_grad_array(*args)
        value, grad = direct(*args)
        np.testing.assert_allclose(stacked[0], value, rtol=1e-13)
        np.testing.assert_allclose(stacked[1:], grad, rtol=1e-12)
        np.testing.assert_allclose(taped.value_and_grad_array(*args, parallel=True), stacked, rtol=1e-15)
        scalar = taped.value_and_grad(*[a[0] for a in args])
        np.testing.assert_allclose(scalar, stacked[:, 0], rtol=1e-14)


def test_many_inputs_use_the_tape_and_match():
    n = 150
    text = " + ".join(f"100*(x{i+1} - x{i}^2)^2 + (1 - x{i})^2" for i in range(n - 1))
    fn = sd.grad(text, backend="numba")
    ref = sd.grad(text, backend="python")
    assert "_GROUP_OP = np.frombuffer(zlib.decompress(base64.b64decode(" in fn.source
    rng = np.random.default_rng(2)
    point = {f"x{i}": v for i, v in enumerate(rng.normal(size=n))}
    np.testing.assert_allclose(fn(**point), ref(**point), rtol=1e-13)


def test_checked_in_executor_matches_its_generator():
    from pathlib import Path

    import symdiff
    from symdiff import tape
    path = Path(symdiff.__file__).with_name("_executor.py")
    assert path.read_text(encoding="utf-8") == tape.executor_module()


def test_tape_reuses_slots_and_groups_by_op():
    from symdiff import tape
    n = 60
    text = " + ".join(f"100*(x{i+1} - x{i}^2)^2 + (1 - x{i})^2" for i in range(n - 1))
    program = build("grad", [text], None, "reverse").program
    encoded = tape.encode(program)
    assert len(encoded.group_op) < len(program.body) / 10      # long runs of one op
    # slots are reused: far fewer than one per instruction
    assert len(encoded.init) <= len(program.inputs) + 10 + len(program.body) // 2
    ref = sd.grad(text, backend="python")
    x = np.linspace(-1, 1, n)
    got = tape_scalar_call(encoded, x)
    np.testing.assert_allclose(got, ref(*x), rtol=1e-13)


def tape_scalar_call(encoded, x):
    from symdiff import _executor
    return _executor.tape_scalar(*encoded.arrays(), np.asarray(x, dtype=np.float64))


def test_tape_arrays_are_written_compressed_and_read_back_bit_for_bit():
    import base64
    import zlib

    from symdiff.tape import array_literal
    namespace = {"np": np, "zlib": zlib, "base64": base64}
    floats = np.array([0.0, -0.0, np.nan, np.inf, -np.inf, 5e-324, 1.5, -2.0 ** 1000])
    exec(array_literal("F", floats, "float64"), namespace)
    assert namespace["F"].tobytes() == floats.tobytes()           # -0.0 and nan bits included
    assert namespace["F"].flags.writeable                          # same numba type as before
    ints = np.array([0, 7, 2 ** 31 - 1])
    exec(array_literal("I", ints, "int64"), namespace)
    assert namespace["I"].dtype == np.int64 and namespace["I"].tolist() == ints.tolist()
    wide = np.array([-1, 2 ** 40])
    line = array_literal("W", wide, "int64")
    exec(line, namespace)
    assert '"<i8"' in line and namespace["W"].tolist() == wide.tolist()
    # a long run of zeros (a tape's initial values) stays short in the source
    assert len(array_literal("Z", np.zeros(10 ** 6), "float64")) < 100_000      # 16 MB as hex


def test_mod_matches_numpy_to_the_sign_of_zero():
    # the numba spelling restates np.mod (numba's np.mod differs on the sign of a zero result)
    import itertools
    import math
    values = [0.0, -0.0, 0.5, -0.5, 7.5, -7.5, np.inf, -np.inf, np.nan, 1e300, -1e-300, 2.0, -2.0, 3.0]
    f = sd.value_and_grad("mod(x, y)", wrt=["x", "y"], backend="numba")
    for x, y in itertools.product(values, values):
        with np.errstate(all="ignore"):
            want = np.mod(x, y)
        got = f(x, y)[0]
        assert (np.isnan(want) and np.isnan(got)) or (
            got == want and math.copysign(1.0, got) == math.copysign(1.0, want)), (x, y, got, want)


def test_max_and_min_match_numpy_to_the_sign_of_zero():
    # on a tie numpy returns the second operand, numba's np.maximum the first: the numba
    # spelling states numpy's rule, so 1/max(y, -y) at y = 0 is -inf on every backend
    import itertools
    import math
    values = [0.0, -0.0, 1.5, -1.5, np.inf, -np.inf, np.nan]
    pairs = list(itertools.product(values, values))
    for name, reference in (("max", np.maximum), ("min", np.minimum)):
        straight = sd.value_and_grad(f"{name}(x, y)", wrt=["x", "y"], backend="numba")
        taped = load_module(module_source(build("value_and_grad", [f"{name}(x, y)"], ["x", "y"], "reverse")
                                          .program, standalone=False, limit=0))
        for x, y in pairs:
            want = reference(x, y)
            for got in (straight(x, y)[0], taped.value_and_grad_array(x, y)[0]):
                assert (np.isnan(want) and np.isnan(got)) or (
                    got == want and math.copysign(1.0, got) == math.copysign(1.0, want)), (name, x, y, got)
    f = sd.grad("x / max(y, -y)", backend="numba")
    assert f(x=1.0, y=0.0).tolist()[0] == sd.grad("x / max(y, -y)", backend="python")(x=1.0, y=0.0).tolist()[0]



@pytest.mark.parametrize("name, reference", [("relu", lambda x: np.maximum(x, 0.0)), ("sign", np.sign)])
def test_relu_and_sign_match_numpy_to_the_sign_of_zero(name, reference):
    # numpy gives +0.0 at x = -0.0; numba's np.maximum and np.sign gave -0.0, so 1/relu(-y)
    # and 1/sign(-x) at 0 were inf on the python backend and -inf on the tape (found by the fuzz)
    import math
    straight = sd.value_and_grad(f"{name}(x)", backend="numba")
    taped = load_module(module_source(build("value_and_grad", [f"{name}(x)"], ["x"], "reverse").program,
                                      standalone=False, limit=0))
    for x in [0.0, -0.0, 1.5, -1.5, np.inf, -np.inf, np.nan]:
        want = reference(x)
        for got in (straight(x)[0], straight(np.array([x]))[0][0], taped.value_and_grad_array(x)[0]):
            assert (np.isnan(want) and np.isnan(got)) or (
                got == want and math.copysign(1.0, got) == math.copysign(1.0, want)), (name, x, got)
