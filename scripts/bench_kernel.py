#!/usr/bin/env python3
"""Benchmark of the course kernel over the Jupyter protocol (not a test).

Measures, on this machine, with a warm compile slot:
  * kernel start to first result with the course prelude
    (start the "Rust (aiguide)" kernel, run `use aiguide::prelude::*;` and a
    small expression, until its result arrives), over several fresh kernels,
    and in each of them the first cell that defines a variable (it waits for
    rust-analyzer, which loads in the background after the start);
  * per-cell latency of small cells (a `let`, an expression, a println) run
    repeatedly in one kernel;
  * each code cell of a reference notebook (default notebooks/00-setup/02-helpers-tour).
Prints Markdown tables (paste them into docs/benchmarks.md), headed by the
machine they were measured on (CPU model, cores, load average): machines of
the same kind differ by 2.5x. Run it with the course's Python after
`./course setup`, on an idle machine:

    ~/.cache/aiguide/venv/bin/python scripts/bench_kernel.py [--starts 5] [--notebook PATH]

To compare two kernel builds side by side, register the other build as a
second kernelspec (a copy of the installed kernel.json with another `argv[0]`)
and name both: `--kernel aiguide --kernel aiguide-old`. Each measurement then
alternates between them (A, B, A, B, ...) and the tables give the ratio of
the medians, so a change of machine load affects both alike.
"""

from __future__ import annotations

import argparse
import os
import platform
import statistics
import time
from pathlib import Path

import nbformat
from jupyter_client.manager import start_new_kernel

ROOT = Path(__file__).resolve().parent.parent
KERNEL = "aiguide"
SMALL_CELLS = ["let x = 40 + 2;", "x * 2", 'println!("x = {x}");']


def execute(client, code: str, timeout: float = 600) -> float:
    """Runs `code`, returns seconds until the kernel is idle again; raises on error."""
    started = time.monotonic()
    reply = client.execute_interactive(code, timeout=timeout, output_hook=lambda msg: None)
    if reply["content"]["status"] != "ok":
        raise RuntimeError(f"cell failed: {code!r}: {reply['content']}")
    return time.monotonic() - started


def machine() -> str:
    """CPU model, cores and the load average, to print beside every figure."""
    model = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return f"{model}, {os.cpu_count()} cores, load average {load}"


def start_to_first_result(kernel: str) -> tuple[float, float]:
    """Seconds from launch to the first result, then for the first `let`."""
    started = time.monotonic()
    manager, client = start_new_kernel(kernel_name=kernel, startup_timeout=900, cwd="/tmp")
    try:
        execute(client, "use aiguide::prelude::*;\n1 + 1")
        first_result = time.monotonic() - started
        return first_result, execute(client, "let x = 40 + 2;")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def table(title: str, rows: list[tuple[str, str, list[float]]]) -> None:
    """Prints rows of (measure, kernel, seconds) as Markdown, with the ratio of
    the medians of the first kernel to each other one."""
    print(f"\n{title}\n\n| measure | kernel | median (s) | min (s) | max (s) | n | ratio to first |")
    print("|---|---|---:|---:|---:|---:|---:|")
    firsts: dict[str, float] = {}
    for measure, kernel, values in rows:
        median = statistics.median(values)
        first = firsts.setdefault(measure, median)
        print(f"| {measure} | {kernel} | {median:.2f} | {min(values):.2f} | {max(values):.2f} "
              f"| {len(values)} | {median / first:.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--kernel", action="append", help="kernelspec name (repeat to compare builds)")
    parser.add_argument("--notebook", type=Path,
                        default=ROOT / "notebooks" / "00-setup" / "02-helpers-tour.ipynb")
    args = parser.parse_args()
    kernels = args.kernel or [KERNEL]

    print(f"machine: {machine()}")
    starts: dict[str, list[float]] = {k: [] for k in kernels}
    first_lets: dict[str, list[float]] = {k: [] for k in kernels}
    for _ in range(args.starts):
        for kernel in kernels:
            start, first_let = start_to_first_result(kernel)
            starts[kernel].append(start)
            first_lets[kernel].append(first_let)

    # Small cells: every kernel started, warmed (its first `let` waits for
    # rust-analyzer), then the cells run a round at a time in each in turn.
    sessions = {k: start_new_kernel(kernel_name=k, startup_timeout=900, cwd="/tmp") for k in kernels}
    small: dict[str, list[float]] = {k: [] for k in kernels}
    try:
        for _, client in sessions.values():
            execute(client, "use aiguide::prelude::*;\nlet warm = 0;")
        for _ in range(args.repeats):
            for kernel, (_, client) in sessions.items():
                small[kernel] += [execute(client, cell) for cell in SMALL_CELLS]
    finally:
        for manager, client in sessions.values():
            client.stop_channels()
            manager.shutdown_kernel(now=True)
    table(f"machine: {machine()}", [
        *((("kernel start to first result (prelude)", k, starts[k])) for k in kernels),
        *((("then the first `let` (waits for rust-analyzer)", k, first_lets[k])) for k in kernels),
        *((("small-cell latency (after the first `let`)", k, small[k])) for k in kernels),
    ])

    args.notebook = args.notebook.resolve()
    notebook = nbformat.read(args.notebook, as_version=4)
    cells = [cell.source for cell in notebook.cells if cell.cell_type == "code" and cell.source.strip()]
    for kernel in kernels:
        manager, client = start_new_kernel(kernel_name=kernel, startup_timeout=900, cwd="/tmp")
        try:
            times = [execute(client, source) for source in cells]
        finally:
            client.stop_channels()
            manager.shutdown_kernel(now=True)
        print(f"\n{args.notebook.relative_to(ROOT)} in {kernel}: {len(times)} code cells, "
              f"median {statistics.median(times):.2f} s, total {sum(times):.1f} s, "
              f"the first {times[0]:.2f} s")


if __name__ == "__main__":
    main()
