"""Products with a direction: jvp (one forward sweep), vjp (one reverse sweep), hvp.

Oracles: SymPy's Jacobian and Hessian (sympy.diff) times the vector, central
differences along the direction, and hand-worked values.
"""

import numpy as np
import pytest
import sympy

import symdiff as sd
from symdiff.examples import rosenbrock

x, y, z = sympy.symbols("x y z")
FORMULAS = ["x*y*z + sin(x)", "exp(x - y) / (1 + z^2)", "atan2(y, x) + log1p(z^2)"]
ORACLES = [x * y * z + sympy.sin(x), sympy.exp(x - y) / (1 + z ** 2), sympy.atan2(y, x) + sympy.log(1 + z ** 2)]
POINT = {"x": 0.7, "y": -1.3, "z": 0.4}
DIRECTION = [0.3, -1.1, 2.0]


def _at(expr, point):
    return float(expr.subs({sympy.Symbol(k): v for k, v in point.items()}).evalf(30))


def _sympy_jacobian():
    return np.array([[_at(sympy.diff(f, s), POINT) for s in (x, y, z)] for f in ORACLES])


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_jvp_is_the_jacobian_times_the_direction(backend):
    Jv = sd.jvp(FORMULAS, wrt=["x", "y", "z"], backend=backend)
    assert [s.name for s in Jv.inputs] == ["x", "y", "z", "x_dot", "y_dot", "z_dot"]
    assert Jv.mode == "forward" and Jv.program.output_labels == ("f0_dot", "f1_dot", "f2_dot")
    got = Jv.at(list(POINT.values()), DIRECTION)
    np.testing.assert_allclose(got, _sympy_jacobian() @ DIRECTION, rtol=1e-13)
    # along the direction, by central differences of the first formula's values
    values = sd.value_and_grad(FORMULAS[0], wrt=["x", "y", "z"], backend="python")
    h, p, v = 1e-6, np.array(list(POINT.values())), np.array(DIRECTION)
    up, down = values.at(p + h * v)[0], values.at(p - h * v)[0]
    assert got[0] == pytest.approx((up - down) / (2 * h), rel=1e-8)
    # by name, and as a batch over the points (the direction broadcasts)
    assert Jv(**POINT, x_dot=0.3, y_dot=-1.1, z_dot=2.0) == pytest.approx(got, rel=1e-15)
    batch = Jv.at(np.array([[0.7, 0.1], [-1.3, 0.5], [0.4, 0.4]]), DIRECTION)
    assert batch.shape == (3, 2)
    np.testing.assert_allclose(batch[:, 0], got, rtol=1e-15)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_vjp_is_the_weighted_rows_of_the_jacobian(backend):
    uJ = sd.vjp(FORMULAS, wrt=["x", "y", "z"], backend=backend)
    assert [s.name for s in uJ.inputs] == ["x", "y", "z", "f0_bar", "f1_bar", "f2_bar"]
    assert uJ.mode == "reverse" and uJ.program.output_labels == ("x_bar", "y_bar", "z_bar")
    u = np.array([1.5, -0.5, 0.25])
    np.testing.assert_allclose(uJ.at(list(POINT.values()), u), u @ _sympy_jacobian(), rtol=1e-13)
    # one formula: its adjoint is f_bar, and u = 1 gives the gradient
    one = sd.vjp("x*y*z + sin(x)", backend=backend)
    assert [s.name for s in one.inputs][-1] == "f_bar"
    np.testing.assert_allclose(one(**POINT, f_bar=1.0), _sympy_jacobian()[0], rtol=1e-13)


@pytest.mark.parametrize("backend", ["python", "numba"])
def test_hvp_is_the_hessian_times_the_direction(backend):
    f = ORACLES[0] * ORACLES[1]
    text = f"({FORMULAS[0]}) * ({FORMULAS[1]})"
    Hv = sd.hvp(text, wrt=["x", "y", "z"], backend=backend)
    assert Hv.how == "forward-over-reverse"
    H = np.array([[_at(sympy.diff(f, a, b), POINT) for b in (x, y, z)] for a in (x, y, z)])
    np.testing.assert_allclose(Hv.at(list(POINT.values()), DIRECTION), H @ DIRECTION, rtol=1e-12)
    # hand-worked: x^2 y has H = [[2y, 2x], [2x, 0]]; at (3, 2) its columns are (4, 6) and (6, 0)
    small = sd.hvp("x^2*y", backend=backend)
    assert small.at([3.0, 2.0], [1.0, 0.0]).tolist() == [4.0, 6.0]
    assert small.at({"x": 3.0, "y": 2.0}, {"x_dot": 0.0, "y_dot": 1.0}).tolist() == [6.0, 0.0]


def _function_ops(formulas):
    from symdiff.graph import Graph
    from symdiff.parse import parse_to_graph
    g = Graph()
    return g.operation_count([parse_to_graph(f, g) for f in formulas])


def test_products_cost_a_few_functions_whatever_the_size():
    # one sweep each: the operations grow with the function, not with inputs times outputs
    for n in (50, 400):
        text = rosenbrock(n)
        names = [f"x{i}" for i in range(n)]
        f_ops = _function_ops([text])
        jvp_ops = sd.jvp(text, wrt=names, backend="python").program.operation_count
        hvp_ops = sd.hvp(text, wrt=names, backend="python").program.operation_count
        assert jvp_ops <= 2 * f_ops and hvp_ops <= 2 * f_ops, (n, f_ops, jvp_ops, hvp_ops)   # 1.4 and 1.4 here
    formulas = [f"sin({k}*x) + y^{k % 5 + 2}" for k in range(1, 301)]      # 300 outputs, one sweep
    vjp_ops = sd.vjp(formulas, wrt=["x", "y"], backend="python").program.operation_count
    assert vjp_ops <= 3 * _function_ops(formulas), vjp_ops       # 2.0 here


def test_newton_cg_with_hessp():
    # scipy's Newton-CG on Rosenbrock in 10 variables from 0, with hessp = h.at: the minimum is all ones
    from scipy.optimize import minimize
    names = [f"x{i}" for i in range(10)]
    f = sd.value_and_grad(rosenbrock(10), wrt=names, backend="python")
    h = sd.hvp(rosenbrock(10), wrt=names, backend="python")
    result = minimize(f.at, np.zeros(10), jac=True, hessp=h.at, method="Newton-CG", options={"xtol": 1e-10})
    assert result.success
    np.testing.assert_allclose(result.x, np.ones(10), atol=1e-6)


def test_direction_names_and_errors():
    # a formula that already uses x_dot: the direction's name gets a '_' more
    fn = sd.jvp("x*x_dot", wrt=["x"], backend="python")
    assert [s.name for s in fn.inputs] == ["x", "x_dot", "x_dot_"]
    assert fn(x=2.0, x_dot=3.0, x_dot_=1.0).tolist() == [3.0]       # d/dx (x * c) = c
    with pytest.raises(ValueError, match="a jvp is one forward sweep by definition"):
        sd.api.build("jvp", ["x*y"], None, "reverse")
    with pytest.raises(ValueError, match="a hvp is of one formula, not 2"):
        sd.api.build("hvp", ["x", "y"], None, "auto")
    with pytest.raises(TypeError, match="hvp takes one formula, not a list: a Hessian is of one formula"):
        sd.hvp(["x*y", "x"])
    Hv = sd.hvp("x^2*y", backend="python")
    with pytest.raises(TypeError, match=r"hvp.at\(\) takes the point and the direction, at\(x, v\)"):
        Hv.at([1.0, 2.0])
    with pytest.raises(TypeError, match="a direction is for jvp, vjp and hvp"):
        sd.grad("x*y", backend="python").at([1.0, 2.0], [1.0, 0.0])
    with pytest.raises(ValueError, match=r"takes as the direction .* vector of the 2 inputs in call order "
                                         r"\(x_dot, y_dot\), got shape \(3,\)"):
        Hv.at([1.0, 2.0], [1.0, 0.0, 0.0])
    # a direction as a mapping: by the direction's names or, for jvp and hvp, by the variables'
    # ({"x": 1, "y": 0} gave x twice: "got multiple values for keyword argument 'x'");
    # hand-worked, H of x^2 y at (1, 2) is [[4, 2], [2, 0]]
    for direction in ({"x_dot": 1.0, "y_dot": 0.0}, {"x": 1.0, "y": 0.0}):
        assert Hv.at([1.0, 2.0], direction).tolist() == [4.0, 2.0]
        assert Hv.at({"x": 1.0, "y": 2.0}, direction).tolist() == [4.0, 2.0]
    with pytest.raises(TypeError, match=r"^hvp.at\(\) takes the direction keyed by x_dot, y_dot or by the "
                                         r"variables x, y, not by 'q'$"):
        Hv.at([1.0, 2.0], {"x": 1.0, "q": 0.0})
    with pytest.raises(TypeError, match="one or the other, not both"):
        Hv.at([1.0, 2.0], {"x_dot": 1.0, "y": 0.0})
    uJ = sd.vjp(["x*y", "sin(x)"], wrt=["x", "y"], backend="python")      # weights go with outputs
    assert uJ.at([0.0, 2.0], {"f0_bar": 1.0, "f1_bar": 0.0}).tolist() == [2.0, 0.0]
    with pytest.raises(TypeError, match=r"^vjp.at\(\) takes the direction keyed by f0_bar, f1_bar, not by 'x', 'y'$"):
        uJ.at([0.0, 2.0], {"x": 1.0, "y": 0.0})
    # in x*x_dot, x_dot is a parameter and the direction x_dot_
    with pytest.raises(TypeError, match="keyed by x_dot_ or by the variables x, not by 'x_dot'"):
        fn.at({"x": 2.0, "x_dot": 3.0}, {"x_dot": 1.0})
    assert fn.at({"x": 2.0, "x_dot": 3.0}, {"x": 1.0}).tolist() == [3.0]


def test_cli_source_and_export_take_the_products(tmp_path):
    import subprocess
    import sys
    r = subprocess.run([sys.executable, "-m", "symdiff.cli", "source", "x*y; sin(x)", "--kind", "vjp"],
                       capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert "def vjp(x, y, f0_bar, f1_bar):" in r.stdout and "Returns (x_bar, y_bar)." in r.stdout
    out = tmp_path / "rosen_hvp.py"
    r = subprocess.run([sys.executable, "-m", "symdiff.cli", "export", "100*(y - x^2)^2 + (1 - x)^2",
                        "--kind", "hvp", "-o", str(out)], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    from symdiff.compile import load_module
    module = load_module(out.read_text())
    # the 2-D Rosenbrock Hessian at (1, 1) is [[802, -400], [-400, 200]]
    assert module.INPUTS == ("x", "y", "x_dot", "y_dot")
    assert module.hvp_array(1.0, 1.0, 1.0, 0.0).tolist() == [802.0, -400.0]
    assert module.hvp_array(1.0, 1.0, 0.0, 1.0).tolist() == [-400.0, 200.0]
