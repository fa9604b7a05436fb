"""Structural zeros: sparse Jacobians and Hessians as scipy.sparse matrices."""

import numpy as np
import pytest
import scipy.sparse

import symdiff as sd


def rosenbrock(n):
    return " + ".join(f"100*(x{i+1} - x{i}^2)^2 + (1 - x{i})^2" for i in range(n - 1))


def test_sparse_hessian_matches_dense_and_is_banded():
    n = 12
    text = rosenbrock(n)
    names = [f"x{i}" for i in range(n)]
    point = {name: 0.1 * k - 0.4 for k, name in enumerate(names)}
    dense = sd.hessian(text, wrt=names, backend="python")(**point)
    sparse = sd.hessian(text, wrt=names, backend="python", sparse=True)(**point)
    assert scipy.sparse.issparse(sparse) and sparse.shape == (n, n)
    np.testing.assert_allclose(sparse.toarray(), dense, rtol=1e-14)
    assert sparse.nnz == 3 * n - 2                         # tridiagonal: only structural nonzeros
    rows, cols = sparse.nonzero()
    assert np.abs(rows - cols).max() == 1


def test_sparse_hessian_against_hand_derived_rosenbrock():
    n = 50
    names = [f"x{i}" for i in range(n)]
    x = np.linspace(-1.2, 1.1, n)
    H = sd.hessian(rosenbrock(n), wrt=names, backend="python", sparse=True)(*x).toarray()
    want = np.zeros((n, n))
    for i in range(n - 1):      # each term 100(x_{i+1} - x_i^2)^2 + (1 - x_i)^2
        want[i, i] += 1200 * x[i] ** 2 - 400 * x[i + 1] + 2
        want[i + 1, i + 1] += 200
        want[i, i + 1] += -400 * x[i]
        want[i + 1, i] += -400 * x[i]
    np.testing.assert_allclose(H, want, rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("mode", ["forward", "reverse"])
def test_sparse_jacobian(mode):
    fs = ["x0*x1", "sin(x2)", "x3 + x0", "exp(x4)"]
    names = [f"x{i}" for i in range(5)]
    J = sd.jacobian(fs, wrt=names, mode=mode, backend="python", sparse=True)
    point = {name: 0.3 * (k + 1) for k, name in enumerate(names)}
    matrix = J(**point)
    dense = sd.jacobian(fs, wrt=names, mode=mode, backend="python")(**point)
    np.testing.assert_allclose(matrix.toarray(), dense, rtol=1e-14)
    assert matrix.nnz == 6


def test_reverse_rows_of_a_sparse_jacobian_each_walk_their_own_cone(monkeypatch):
    # 400 rows, each of two inputs: every row's sweep visits its cone, and the mask of what
    # depends on the inputs is made once for all rows (was: once per row, over the graph)
    from symdiff.graph import Graph
    n = 400
    fs = [f"sin(x{i})*x{(i + 1) % n}" for i in range(n)]
    names = [f"x{i}" for i in range(n)]
    masks, walked = [], []
    depends_on, small_cone = Graph.depends_on, Graph.small_cone

    def counted(self, order, sources):
        masks.append(1)
        return depends_on(self, order, sources)

    def recorded(self, roots):
        cone = small_cone(self, roots)
        walked.append(len(cone) if cone is not None else len(self))
        return cone
    monkeypatch.setattr(Graph, "depends_on", counted)
    monkeypatch.setattr(Graph, "small_cone", recorded)
    J = sd.jacobian(fs, wrt=names, mode="reverse", backend="python", sparse=True)
    assert len(masks) == 1 and len(walked) >= n and max(walked[-n:]) <= 6
    monkeypatch.undo()
    point = {name: 0.1 * k - 3 for k, name in enumerate(names)}
    forward = sd.jacobian(fs, wrt=names, mode="forward", backend="python", sparse=True)
    np.testing.assert_array_equal(J(**point).toarray(), forward(**point).toarray())
    assert J(**point).nnz == 2 * n


def test_sparse_needs_scalar_arguments_and_jacobian_or_hessian():
    J = sd.jacobian(["x*y"], backend="python", sparse=True)
    with pytest.raises(ValueError, match="pass numbers"):
        J(x=np.ones(3), y=1.0)
    from symdiff.api import build
    with pytest.raises(ValueError, match="sparse=True is for jacobian, value_and_jacobian and hessian"):
        build("grad", ["x*y"], sparse=True)


def test_large_banded_hessian_numba():
    n = 2000
    names = [f"x{i}" for i in range(n)]
    H = sd.hessian(rosenbrock(n), wrt=names, sparse=True)      # numba backend: the tape form
    x = {f"x{i}": 0.5 for i in range(n)}
    matrix = H(**x)
    assert matrix.nnz == 3 * n - 2
    assert "_GROUP_OP" in H.source
    # x = 0.5 everywhere: diagonal 1200*0.25 - 400*0.5 + 2 = 102 (+200 past the first)
    d = matrix.diagonal()
    assert d[0] == pytest.approx(102.0) and d[1] == pytest.approx(302.0) and d[-1] == pytest.approx(200.0)


def test_an_exported_sparse_hessian_carries_its_pattern(tmp_path):
    import importlib
    import sys
    H = sd.hessian(rosenbrock(6), sparse=True)
    path = sd.export(H, tmp_path / "sparse_hessian.py")
    sys.path.insert(0, str(tmp_path))
    try:
        module = importlib.import_module("sparse_hessian")
    finally:
        sys.path.remove(str(tmp_path))
    assert "scipy.sparse.csr_matrix((values, (SPARSE_ROWS, SPARSE_COLS)), shape=SPARSE_SHAPE)" in module.__doc__
    point = {f"x{i}": 0.1 * i for i in range(6)}
    values = module.hessian_array(*[point[s.name] for s in H.inputs])
    rebuilt = scipy.sparse.csr_matrix((values, (module.SPARSE_ROWS, module.SPARSE_COLS)), shape=module.SPARSE_SHAPE)
    np.testing.assert_array_equal(rebuilt.toarray(), H(**point).toarray())
    assert "import symdiff" not in path.read_text() and "from symdiff" not in path.read_text()


def test_a_huge_dense_matrix_is_built_with_a_warning_that_points_to_sparse(monkeypatch):
    import importlib
    import warnings
    api = importlib.import_module("symdiff.api")
    monkeypatch.setattr(api, "DENSE_WARNING_ENTRIES", 8)      # stands for 10^7: 9 entries is "huge"
    with pytest.warns(UserWarning, match=r"a dense 3 x 3 Hessian has 9 entries, 6 of them not structurally "
                                         r"zero; .* sparse=True builds and returns the nonzeros alone") as caught:
        H = sd.hessian("x*y*z", backend="python")
    assert caught[0].filename == __file__           # the user's call, not symdiff's insides
    # a category of its own, which says what and how big (the command line refuses by it)
    assert caught[0].category is api.DenseMatrixWarning
    assert (caught[0].message.what, caught[0].message.shape, caught[0].message.nonzeros) == ("Hessian", (3, 3), 6)
    # built all the same: by hand, d2(xyz)/dxdy = z, and the diagonal is 0
    np.testing.assert_array_equal(H(x=1.0, y=2.0, z=3.0), [[0, 3, 2], [3, 0, 1], [2, 1, 0]])
    with pytest.warns(UserWarning, match="a dense 3 x 3 Jacobian has 9 entries, 3 of them"):
        sd.jacobian(["x", "y", "z"], backend="python")
    with warnings.catch_warnings():
        warnings.simplefilter("error")                  # within the limit, sparse, or a gradient: silent
        sd.hessian("x*y*z", backend="python", sparse=True)
        sd.jacobian(["x*y", "z"], backend="python")
        sd.grad(" + ".join(f"x{i}" for i in range(20)), backend="python")
