"""The gufunc form of a compiled gradient works with dask (chunked, out-of-core arrays)."""

import numpy as np
import pytest

import symdiff as sd

da = pytest.importorskip("dask.array")


def test_apply_gufunc_over_chunks_matches_direct_call():
    fn = sd.grad("(b3 + w3*cos(b2 + w2*exp(b1 + w1*sin(b0 + w0*x))) - y)^2",
                 wrt=["b0", "w0", "b1", "w1", "b2", "w2", "b3", "w3"])
    gufunc = fn.gufunc
    assert fn.gufunc_signature == ",".join(["()"] * 10) + "->" + ",".join(["()"] * 8)
    rng = np.random.default_rng(4)
    params = rng.normal(size=8)
    x_np, y_np = rng.normal(size=10_000), rng.normal(size=10_000)
    x = da.from_array(x_np, chunks=2_500)
    y = da.from_array(y_np, chunks=2_500)
    parts = da.apply_gufunc(gufunc, fn.gufunc_signature, *params, x, y, output_dtypes=(float,) * 8)
    result = da.stack(parts).compute()
    np.testing.assert_allclose(result, fn(*params, x_np, y_np), rtol=1e-14)


def test_python_backend_has_no_gufunc():
    with pytest.raises(AttributeError, match="numba backend"):
        sd.grad("x^2", backend="python").gufunc
