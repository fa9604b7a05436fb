"""Every notebook executes from top to bottom, and the saved ones are current."""

from pathlib import Path

import pytest

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted((Path(__file__).resolve().parents[1] / "notebooks").glob("*.ipynb"))


def test_there_are_six_notebooks():
    assert len(NOTEBOOKS) == 6


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path):
    nb = nbformat.read(path, as_version=4)
    assert all(c.outputs for c in nb.cells if c.cell_type == "code"), "saved without outputs"
    nbclient.NotebookClient(nb, timeout=600, kernel_name="python3",
                            resources={"metadata": {"path": str(path.parent)}}).execute()
    errors = [o for c in nb.cells if c.cell_type == "code" for o in c.outputs if o.output_type == "error"]
    assert not errors


def test_notebooks_import_only_symdiff_and_data_libraries():
    allowed = {"symdiff", "numpy", "sympy", "matplotlib", "math", "sys", "tempfile", "time", "importlib"}
    for path in NOTEBOOKS:
        nb = nbformat.read(path, as_version=4)
        for cell in nb.cells:
            if cell.cell_type != "code":
                continue
            for line in cell.source.splitlines():
                words = line.split()
                if words[:1] == ["import"]:
                    modules = [m.strip().split(".")[0] for m in line[len("import"):].split(",")]
                    modules = [m.split(" as ")[0].strip() for m in modules]
                elif words[:1] == ["from"]:
                    modules = [words[1].split(".")[0]]
                else:
                    continue
                assert set(modules) <= allowed, (path.name, line)
