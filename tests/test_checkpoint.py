"""Checkpointing: same gradient, fewer values alive, about one more forward sweep."""

import numpy as np
import pytest

import symdiff as sd
from symdiff.api import build
from symdiff.examples import TOY_NETWORK_LOSS, TOY_NETWORK_PARAMETERS, sin_exp_chain


def test_deep_chain_memory_falls_to_about_sqrt_n():
    text = sin_exp_chain(2000)
    plain = build("grad", [text], None, "reverse").program
    saved = build("grad", [text], None, "reverse", checkpoint=True).program
    assert plain.peak_live() > 900                        # every value of the forward sweep
    assert saved.peak_live() < 3 * int(2000 ** 0.5)       # checkpoints + one segment
    assert saved.operation_count < 1.6 * plain.operation_count    # one more forward sweep at most
    for x in (0.1, -0.3):
        assert sd.grad(text, backend="python", checkpoint=True)(x=x) == \
            sd.grad(text, backend="python")(x=x)          # bit for bit: the same operations


@pytest.mark.parametrize("segment", [1, 2, 5, True])
def test_any_segment_length_gives_the_same_numbers_on_a_dag(segment):
    rng = np.random.default_rng(5)
    point = dict(zip(TOY_NETWORK_PARAMETERS, rng.normal(size=8)), x=0.3, y=-0.2)
    plain = sd.value_and_grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS, backend="python")
    saved = sd.value_and_grad(TOY_NETWORK_LOSS, wrt=TOY_NETWORK_PARAMETERS, backend="python",
                              checkpoint=segment)
    v0, g0 = plain(**point)
    v1, g1 = saved(**point)
    assert v0 == v1
    np.testing.assert_array_equal(g0, g1)


def test_checkpointed_numba_matches_and_recomputes_visibly():
    text = sin_exp_chain(30)
    fn = sd.grad(text, checkpoint=5)
    assert "_r1 = " in fn.source                       # the recomputed copies are in the code
    np.testing.assert_allclose(fn(x=np.linspace(-1, 1, 7)),
                               sd.grad(text, backend="python")(x=np.linspace(-1, 1, 7)), rtol=1e-12)


def test_checkpoint_needs_reverse_mode():
    with pytest.raises(ValueError, match="reverse mode"):
        sd.grad("sin(x)", mode="forward", checkpoint=True, backend="python")
    # a segment length is an int >= 1; 2.5 is not silently 2, "yes" not an int() error
    for bad in (0, -3, 2.5, "yes"):
        with pytest.raises(ValueError, match=r"a segment length \(an int >= 1\)"):
            sd.grad("x*y", checkpoint=bad, backend="python")
    assert sd.grad("sin(exp(x))", checkpoint=np.int64(1), backend="python")(x=0.0) == pytest.approx(np.cos(1.0))
