"""Shared state of the notebook harness: the wall-time table.

Every run writes `target/notebook-times.md` (in the checkout, git-ignored):
one row per notebook with its kernel start, cell time, budget and verdict.
Notebooks may run in several pytest-xdist workers at once; each test hands
its row to pytest as a user property, so the rows reach the controlling
process with the test reports and the table is written once, there.
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TIMES = ROOT / "target" / "notebook-times.md"
ROW = "notebook_times"

# Filled from the test reports, written once at the end of the session.
RESULTS: list[dict] = []


def pytest_runtest_logreport(report):
    if report.when != "call" and not (report.when == "setup" and report.failed):
        return
    RESULTS.extend(value for name, value in report.user_properties if name == ROW)


def pytest_sessionfinish(session, exitstatus):
    if not RESULTS or hasattr(session.config, "workerinput"):
        return
    TIMES.parent.mkdir(parents=True, exist_ok=True)
    rows = sorted(RESULTS, key=lambda row: row["notebook"])
    lines = [
        "# Notebook wall times",
        "",
        "| notebook | kernel start (s) | cells (s) | budget (s) | result |",
        "|---|---:|---:|---:|---|",
    ]
    for row in rows:
        lines.append(
            f"| {row['notebook']} | {row['start']:.1f} | {row['cells']:.1f} "
            f"| {row['budget']:.0f} | {row['result']} |"
        )
    total = sum(row["start"] + row["cells"] for row in rows)
    lines += ["", f"Total: {total:.1f} s of kernel time for {len(rows)} notebooks."]
    TIMES.write_text("\n".join(lines) + "\n", encoding="utf-8")
    print(f"\nnotebook times written to {TIMES}")
