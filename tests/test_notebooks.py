"""Executes every notebook under notebooks/ through the "Rust (aiguide)"
kernel over the Jupyter protocol, the way `jupyter nbconvert --execute` does
in a learner's CI.

Each notebook is its own test case, found by globbing, so a new notebook needs
no edit here. A notebook passes when every code cell runs without error
(a failed `assert!` is an error: the kernel turns panics into failed cells)
within the notebook's budget (`metadata.aiguide.budget_s`, default 180 s for
all its cells). Notebooks run from copies in a scratch directory; nothing is
written into the checkout.
"""

from __future__ import annotations

import math
import time
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient
from nbclient.exceptions import CellExecutionError, CellTimeoutError

from conftest import ROOT, ROW

KERNEL = "aiguide"
DEFAULT_BUDGET_S = 180
# Only a cold compile slot (the first kernel on a new machine, or a second
# kernel while another holds the warm slot) takes longer than nbclient's 60 s.
STARTUP_TIMEOUT_S = 900

def budget_of(path: Path) -> float:
    notebook = nbformat.read(path, as_version=4)
    return float(notebook.metadata.get("aiguide", {}).get("budget_s", DEFAULT_BUDGET_S))


# Longest budgets first: with several workers (`-n 2`), the long notebooks
# start early instead of leaving one worker busy at the end.
NOTEBOOKS = sorted(
    (
        path
        for path in (ROOT / "notebooks").rglob("*.ipynb")
        if ".ipynb_checkpoints" not in path.parts
    ),
    key=lambda path: (-budget_of(path), path),
)


def notebook_id(path: Path) -> str:
    return str(path.relative_to(ROOT / "notebooks"))


def first_line(source: str) -> str:
    return next((line.strip() for line in source.splitlines() if line.strip()), "")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_notebook(path: Path, tmp_path: Path, record_property) -> None:
    notebook = nbformat.read(path, as_version=4)
    budget = budget_of(path)
    client = NotebookClient(
        notebook,
        kernel_name=KERNEL,
        startup_timeout=STARTUP_TIMEOUT_S,
        resources={"metadata": {"path": str(tmp_path)}},
    )
    row = {"notebook": notebook_id(path), "start": 0.0, "cells": 0.0, "budget": budget, "result": "error"}
    record_property(ROW, row)  # the dict as it stands when the test ends
    started = time.monotonic()
    with client.setup_kernel():
        row["start"] = time.monotonic() - started
        cells_started = time.monotonic()
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type != "code" or not cell.source.strip():
                continue
            remaining = budget - (time.monotonic() - cells_started)
            where = f"{notebook_id(path)}: cell {index + 1} (`{first_line(cell.source)}`)"
            if remaining <= 0:
                row["result"] = "over budget"
                pytest.fail(f"{where} not reached: the notebook used up its {budget:.0f} s budget")
            client.timeout = math.ceil(remaining)  # nbclient wants whole seconds
            try:
                client.execute_cell(cell, index)
            except CellTimeoutError:
                row["result"] = "over budget"
                pytest.fail(f"{where} still running when the notebook's {budget:.0f} s budget ran out")
            except CellExecutionError as error:
                row["result"] = "failed"
                pytest.fail(f"{where} failed:\n{error}", pytrace=False)
        row["cells"] = time.monotonic() - cells_started
    row["result"] = "passed"
