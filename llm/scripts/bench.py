#!/usr/bin/env python3
"""Benchmark aiguide-llm's decoder against HF transformers on the same GGUF.

For each weight kind (f32, bf16) both implementations get the same prompt
(the same token ids), the same number of intra-op threads, and report load
time, prefill tokens/s, greedy decode tokens/s with a KV cache, and decode
tokens/s without one (every step reruns the whole sequence). Run from the
repository root with the build environment of the course (libtorch on
LD_LIBRARY_PATH, LIBTORCH_USE_PYTORCH=1) and a Python that has transformers,
gguf, accelerate and torch:

    HF_HUB_OFFLINE=1 /work/refvenv/bin/python llm/scripts/bench.py [--threads 2] [--prompt 128] [--new 32]

Set OMP_WAIT_POLICY=PASSIVE when the machine is busy with other work:
libtorch's OpenMP threads otherwise spin-wait, and two threads on a loaded
2-core machine run many times slower than one. Prints one JSON line per run,
then a table.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import time
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")

DATA = Path(os.environ.get("AIGUIDE_DATA", Path.home() / ".cache" / "aiguide" / "data"))
MODEL = DATA / "llm" / "SmolLM2-135M-Instruct.Q4_1.gguf"
# The same text the Rust example repeats and cuts to the prompt length.
TEXT = "The quick brown fox jumps over the lazy dog while the cat sleeps. "


def run_rust(kind: str, threads: int, prompt: int, new: int) -> dict:
    cmd = ["cargo", "run", "--release", "--quiet", "-p", "aiguide-llm", "--example", "bench", "--"]
    out = subprocess.run(cmd + [kind, str(threads), str(prompt), str(new)], check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def run_hf(kind: str, threads: int, prompt: int, new: int) -> dict:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.set_num_threads(threads)
    dtype = torch.bfloat16 if kind == "bf16" else torch.float32
    start = time.perf_counter()
    tok = AutoTokenizer.from_pretrained(str(MODEL.parent), gguf_file=MODEL.name)
    lm = AutoModelForCausalLM.from_pretrained(str(MODEL.parent), gguf_file=MODEL.name, dtype=dtype).eval()
    load_s = time.perf_counter() - start
    ids = torch.tensor([tok.encode(TEXT * prompt, add_special_tokens=False)[:prompt]])

    with torch.inference_mode():
        lm(ids)  # warm-up
        start = time.perf_counter()
        out = lm(ids, use_cache=True)
        prefill_s = time.perf_counter() - start

        past, logits = out.past_key_values, out.logits[:, -1]
        seq = ids[0].tolist()
        start = time.perf_counter()
        for _ in range(new):
            nxt = logits.argmax(-1, keepdim=True)
            seq.append(int(nxt))
            out = lm(nxt, past_key_values=past, use_cache=True)
            past, logits = out.past_key_values, out.logits[:, -1]
        decode_s = time.perf_counter() - start

        steps = min(new, 8)
        seq_nc = ids[0].tolist()
        start = time.perf_counter()
        for _ in range(steps):
            logits_nc = lm(torch.tensor([seq_nc]), use_cache=False).logits[:, -1]
            seq_nc.append(int(logits_nc.argmax(-1)))
        nocache_s = time.perf_counter() - start

    return {
        "impl": "transformers",
        "kind": kind,
        "threads": threads,
        "prompt_tokens": prompt,
        "new_tokens": new,
        "load_s": round(load_s, 3),
        "prefill_tok_s": round(prompt / prefill_s, 1),
        "decode_tok_s": round(new / decode_s, 2),
        "decode_nocache_tok_s": round(steps / nocache_s, 2),
        "nocache_same_tokens": seq_nc == seq[: len(seq_nc)],
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--threads", type=int, default=2)
    parser.add_argument("--prompt", type=int, default=128)
    parser.add_argument("--new", type=int, default=32)
    args = parser.parse_args()
    rows = []
    for kind in ("f32", "bf16"):
        for run in (run_rust, run_hf):
            row = run(kind, args.threads, args.prompt, args.new)
            print(json.dumps(row), flush=True)
            rows.append(row)
    keys = ["impl", "kind", "load_s", "prefill_tok_s", "decode_tok_s", "decode_nocache_tok_s"]
    print(f"\nthreads {args.threads}, prompt {args.prompt} tokens, {args.new} new tokens")
    print(" | ".join(keys))
    for row in rows:
        print(" | ".join(str(row[k]) for k in keys))


if __name__ == "__main__":
    main()
