"""The README's tour runs as written, and the values its comments promise are what it gives."""

import re
from pathlib import Path

import numpy as np
import sympy

README = (Path(__file__).resolve().parents[1] / "README.md").read_text(encoding="utf-8")
BLOCKS = re.findall(r"^```python\n(.*?)^```", README, flags=re.DOTALL | re.MULTILINE)

# what a comment's claim may use: numpy's array repr, SymPy's functions and the tour's symbols
_CLAIMS = {"array": np.array, "cos": sympy.cos, "sin": sympy.sin,
           **{name: sympy.Symbol(name) for name in ("t", "x", "y")}}


def _claim(comment):
    """The value a comment starts with (``array([2., 5.])``, ``2*x + 2*y  (a SymPy ...)``,
    ``6*x: ...``), or None when it starts with words."""
    for end in [len(comment)] + [m.start() for m in re.finditer(r":|;|\s{2}|\s\(", comment)]:
        try:
            return eval(comment[:end], {"__builtins__": {}}, dict(_CLAIMS))     # our own README
        except (SyntaxError, NameError, TypeError):     # words, not a value: a shorter prefix
            continue
    return None


def _same(got, claimed):
    if isinstance(got, sympy.Basic):
        return sympy.simplify(got - claimed) == 0
    if isinstance(claimed, tuple) and not isinstance(got, tuple):      # .shape
        return tuple(np.shape(got)) == claimed if isinstance(got, np.ndarray) else got == claimed
    if isinstance(claimed, tuple):
        return len(got) == len(claimed) and all(_same(a, b) for a, b in zip(got, claimed))
    return np.allclose(got, claimed, rtol=1e-14, atol=0)


def test_the_tour_runs_and_gives_the_values_its_comments_show(capsys):
    tour = BLOCKS[0]
    assert tour.startswith("import symdiff as sd")
    namespace = {}
    checked = []
    for line in tour.splitlines():
        code, _, comment = line.partition("  # ")
        if not code.strip():
            continue
        if "=" in code.split("(")[0] or code.startswith(("import", "print")):
            exec(code, namespace)        # noqa: S102 -- the README's own statements
            continue
        got = eval(code, namespace)
        claimed = _claim(comment.strip()) if comment else None
        if claimed is not None:
            assert _same(got, claimed), (code, got, comment)
            checked.append(code.strip())
    # every value the tour shows was checked (a claim that stops parsing fails here)
    assert len(checked) == 10, checked
    assert "def grad(a, b):" in capsys.readouterr().out


def test_the_colah_program_shown_is_the_one_generated():
    import symdiff as sd
    shown = next(b for b in BLOCKS if b.startswith("def grad(a, b):"))
    source = sd.grad("(a + b) * (b + 1)", wrt=["a", "b"], mode="reverse", backend="python").source
    body = source[source.index("def grad(a, b):"):]
    # the README leaves out the docstring
    body = re.sub(r'\n    """.*?"""\n', "\n", body, flags=re.DOTALL)
    assert shown.strip() == body.strip()
