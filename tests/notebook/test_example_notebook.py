"""docs/example.ipynb runs from top to bottom in a real Jupyter kernel, and shows what it promises."""

from __future__ import annotations

from pathlib import Path

import nbformat
from nbclient import NotebookClient

NOTEBOOK = Path(__file__).resolve().parent.parent.parent / "docs" / "example.ipynb"


def outputs(cell: nbformat.NotebookNode, mime: str) -> str:
    return "".join(str(o.get("data", {}).get(mime, "")) for o in cell.outputs)


def test_the_example_notebook_is_stored_without_outputs() -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    nbformat.validate(notebook)
    code = [cell for cell in notebook.cells if cell.cell_type == "code"]
    assert code and all(not cell.outputs and cell.execution_count is None for cell in code)


def test_the_example_notebook_runs_without_errors(tmp_path: Path) -> None:
    notebook = nbformat.read(NOTEBOOK, as_version=4)  # type: ignore[no-untyped-call]
    # any cell error raises CellExecutionError, which fails the test
    NotebookClient(
        notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(tmp_path)}}
    ).execute()
    cells = {cell.source: cell for cell in notebook.cells if cell.cell_type == "code"}
    view = next(cell for source, cell in cells.items() if source.endswith("\nview"))
    html = outputs(view, "text/html")
    assert "Customer 360: cus_0001" in html and "late_delivery" in html and "open_return" in html
    assert "Shopper 1" not in html and "shopper1@" not in html
    revealed = next(cell for source, cell in cells.items() if "reveal=True" in source)
    assert "Shopper 1" in outputs(revealed, "text/html")
    scores = next(cell for source, cell in cells.items() if "show(scores" in source)
    assert "RfmTable" in outputs(scores, "text/html") and "10 of 200 rows shown" in outputs(scores, "text/html")
    plots = [cell for source, cell in cells.items() if source.split("(")[0].rsplit("\n", 1)[-1] in PLOTS]
    assert len(plots) == 3 and all(outputs(cell, "image/png") for cell in plots)
    assert not list(tmp_path.iterdir())  # the notebook writes no files


PLOTS = {"cohort_heatmap", "rfm_segment_bars", "clv_distribution"}
