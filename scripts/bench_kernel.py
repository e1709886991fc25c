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


def start_to_first_result() -> tuple[float, float]:
    """Seconds from launch to the first result, then for the first `let`."""
    started = time.monotonic()
    manager, client = start_new_kernel(kernel_name=KERNEL, startup_timeout=900, cwd="/tmp")
    try:
        execute(client, "use aiguide::prelude::*;\n1 + 1")
        first_result = time.monotonic() - started
        return first_result, execute(client, "let x = 40 + 2;")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--starts", type=int, default=5)
    parser.add_argument("--repeats", type=int, default=10)
    parser.add_argument("--notebook", type=Path,
                        default=ROOT / "notebooks" / "00-setup" / "02-helpers-tour.ipynb")
    args = parser.parse_args()

    print(f"machine: {machine()}\n")
    starts, first_lets = zip(*(start_to_first_result() for _ in range(args.starts)))
    print("| measure | median (s) | min (s) | max (s) | n |\n|---|---:|---:|---:|---:|")
    for name, values in [("kernel start to first result (prelude)", starts),
                         ("then the first `let` (waits for rust-analyzer)", first_lets)]:
        print(f"| {name} | {statistics.median(values):.2f} "
              f"| {min(values):.2f} | {max(values):.2f} | {len(values)} |")

    manager, client = start_new_kernel(kernel_name=KERNEL, startup_timeout=900, cwd="/tmp")
    try:
        execute(client, "use aiguide::prelude::*;")
        small = [execute(client, cell) for _ in range(args.repeats) for cell in SMALL_CELLS]
        print(f"| small-cell latency | {statistics.median(small):.2f} | {min(small):.2f} "
              f"| {max(small):.2f} | {len(small)} |")
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)

    notebook = nbformat.read(args.notebook, as_version=4)
    manager, client = start_new_kernel(kernel_name=KERNEL, startup_timeout=900, cwd="/tmp")
    try:
        rows = []
        for index, cell in enumerate(notebook.cells):
            if cell.cell_type == "code" and cell.source.strip():
                first = next(line for line in cell.source.splitlines() if line.strip())
                rows.append((index + 1, execute(client, cell.source), first.strip()[:50]))
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    times = [seconds for _, seconds, _ in rows]
    print(f"\nmachine: {machine()}")
    print(f"\n{args.notebook.relative_to(ROOT)}: {len(rows)} code cells, median "
          f"{statistics.median(times):.2f} s, total {sum(times):.1f} s\n")
    print("| cell | seconds | first line |\n|---:|---:|---|")
    for number, seconds, first in rows:
        print(f"| {number} | {seconds:.2f} | `{first}` |")


if __name__ == "__main__":
    main()
