"""Shared state of the notebook harness: the wall-time table.

Every run writes `target/notebook-times.md` (in the checkout, git-ignored):
one row per notebook with its kernel start, cell time, budget and verdict.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMES = ROOT / "target" / "notebook-times.md"

# Filled by test_notebooks.py, written once at the end of the session.
RESULTS: list[dict] = []


def pytest_sessionfinish(session, exitstatus):
    if not RESULTS:
        return
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    lines = [
        "# Notebook wall times",
        "",
        "| notebook | kernel start (s) | cells (s) | budget (s) | result |",
        "|---|---:|---:|---:|---|",
    ]
    for row in RESULTS:
        lines.append(
            f"| {row['notebook']} | {row['start']:.1f} | {row['cells']:.1f} "
            f"| {row['budget']:.0f} | {row['result']} |"
        )
    total = sum(row["start"] + row["cells"] for row in RESULTS)
    lines += ["", f"Total: {total:.1f} s for {len(RESULTS)} notebooks."]
    TIMES.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nnotebook times written to {TIMES}")
