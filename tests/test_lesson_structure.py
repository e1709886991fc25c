"""Checks that every notebook under notebooks/ has the shape of a lesson.

A lesson opens with 2-4 learning objectives and closes with a summary, 3-5
exercises (each with a hint), one worked solution and further reading. The
solution's code cells are hidden in JupyterLab by cell metadata, so a learner
tries first, and they hold `assert!`s, so the harness (which executes them like
every cell) checks the answer. The guide's own mistakes get short asides, not a
running errata: at most `MAX_GUIDE_ASIDES` mentions of "原指南" per notebook.
No drafting marker (`TODO`, `..._PROSE`) is left where prose or an assert
should stand.

These are reading checks on the .ipynb JSON; they start no kernel.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat
import pytest

from conftest import ROOT

OBJECTIVES = "学习目标"
SUMMARY, EXERCISES, SOLUTION, READING = "小结", "练习", "参考答案", "延伸阅读"
MAX_GUIDE_ASIDES = 3
NUMBERED_ITEM = re.compile(r"^\d+\.\s")
# Drafting markers: `TODO`, and upper-case tokens such as `SUMMARY_PROSE` or
# `TEST_ACC_PLACEHOLDER` that stand where prose is still to be written from
# the measured outputs.
PLACEHOLDER = re.compile(r"\bTODO\w*|\w*_(?:PROSE|TEXT|PLACEHOLDER)\b")

NOTEBOOKS = sorted(
    path for path in (ROOT / "notebooks").rglob("*.ipynb") if ".ipynb_checkpoints" not in path.parts
)


def notebook_id(path: Path) -> str:
    return str(path.relative_to(ROOT / "notebooks"))


def heading_cells(cells, title: str) -> list[int]:
    """Indices of markdown cells with a level-2 heading that starts with `title`."""
    pattern = re.compile(rf"^##\s+{title}", re.MULTILINE)
    return [i for i, cell in enumerate(cells) if cell.cell_type == "markdown" and pattern.search(cell.source)]


def section_text(cells, title: str, next_title: str) -> str:
    """The markdown between the heading `title` and the heading `next_title`."""
    text = "\n".join(cell.source for cell in cells if cell.cell_type == "markdown")
    start = re.search(rf"^##\s+{title}.*$", text, re.MULTILINE)
    end = re.search(rf"^##\s+{next_title}", text, re.MULTILINE)
    assert start and end, f"missing `## {title}` or `## {next_title}`"
    return text[start.end() : end.start()]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=notebook_id)
def test_lesson_structure(path: Path) -> None:
    cells = nbformat.read(path, as_version=4).cells
    where = notebook_id(path)

    opening = cells[0].source if cells and cells[0].cell_type == "markdown" else ""
    assert OBJECTIVES in opening, f"{where}: the first cell should list the lesson's **{OBJECTIVES}**"
    objectives = [line for line in opening.split(OBJECTIVES, 1)[1].splitlines() if NUMBERED_ITEM.match(line)]
    assert 2 <= len(objectives) <= 4, f"{where}: {len(objectives)} numbered learning objectives, want 2-4"

    positions = {}
    for title in (SUMMARY, EXERCISES, SOLUTION, READING):
        found = heading_cells(cells, title)
        assert len(found) == 1, f"{where}: want exactly one `## {title}` heading, found {len(found)}"
        positions[title] = found[0]
    order = [positions[t] for t in (SUMMARY, EXERCISES, SOLUTION, READING)]
    assert order == sorted(order), f"{where}: sections must come in the order 小结, 练习, 参考答案, 延伸阅读"

    exercises = [line for line in section_text(cells, EXERCISES, SOLUTION).splitlines() if NUMBERED_ITEM.match(line)]
    hints = section_text(cells, EXERCISES, SOLUTION).count("提示")
    assert 3 <= len(exercises) <= 5, f"{where}: {len(exercises)} numbered exercises, want 3-5"
    assert hints >= len(exercises), f"{where}: {len(exercises)} exercises but {hints} hints (提示)"

    solution = [c for c in cells[positions[SOLUTION] + 1 : positions[READING] + 1] if c.cell_type == "code"]
    assert solution, f"{where}: no code cells under `## {SOLUTION}`"
    shown = [c.source.splitlines()[0] for c in solution if not c.metadata.get("jupyter", {}).get("source_hidden")]
    assert not shown, f'{where}: solution cells without metadata {{"jupyter": {{"source_hidden": true}}}}: {shown}'
    assert any("assert" in c.source for c in solution), f"{where}: the worked solution checks nothing (no assert!)"

    drafts = sorted({m.group(0) for cell in cells for m in PLACEHOLDER.finditer(cell.source)})
    assert not drafts, f"{where}: unfinished text: {', '.join(drafts)}"

    asides = sum(cell.source.count("原指南") for cell in cells)
    assert asides <= MAX_GUIDE_ASIDES, f"{where}: 原指南 is mentioned {asides} times, at most {MAX_GUIDE_ASIDES}"
