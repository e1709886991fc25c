#!/usr/bin/env python3
"""Write the reference fixtures that aiguide-llm's tests compare against.

Run by a developer, not by CI, with a Python that has `gguf`, `transformers`,
`accelerate` and `torch` (the course's reference venv):

    HF_HUB_OFFLINE=1 /work/refvenv/bin/python llm/scripts/make_fixtures.py [MODEL.gguf]

MODEL.gguf defaults to the course's SmolLM2-135M-Instruct Q4_1 file in the
data directory (`./course data` fetches it). Nothing is downloaded.

Writes into llm/tests/fixtures/:
- types.gguf + types.json: a small GGUF with one tensor of each type the Rust
  reader dequantises (F32, F16, BF16, Q8_0, Q4_0, Q4_1), quantised and
  dequantised by the `gguf` package (the model file has no F16, BF16 or Q4_0).
- model_tensors.json: values of real tensors of the model (one per type it
  uses), dequantised by the `gguf` package.
- token ids of varied strings (tokens.json), top-5 logits (logits.json)
  and a 30-token greedy continuation with its top-5 logits at every step
  (greedy.json), chat templates applied to conversations (chat.json), all
  from HF transformers loading the same GGUF in float32.
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import numpy as np

os.environ.setdefault("HF_HUB_OFFLINE", "1")

FIXTURES = Path(__file__).resolve().parent.parent / "tests" / "fixtures"
DATA = Path(os.environ.get("AIGUIDE_DATA", Path.home() / ".cache" / "aiguide" / "data"))
MODEL = DATA / "llm" / "SmolLM2-135M-Instruct.Q4_1.gguf"

TOKEN_TEXTS = [
    "Hello, world! How are you today?",
    "机器学习是人工智能的一个分支。",
    "fn main() {\n    println!(\"{}\", 1 + 2);\n}\n",
    "Pi is 3.14159265358979 and 2024-06-01 is a date; 1234567890.",
    "Emoji: 🦀🔥👍🏽 and accents: café, naïve, Zürich.",
    "runs   of    spaces\t\ttabs\n\n\nand newlines   ",
    "<|im_start|>user\nHi<|im_end|>\n",
]

LOGIT_PROMPTS = [
    "The capital of France is",
    "def fibonacci(n):\n",
    "<|im_start|>user\nWhat is 2+2?<|im_end|>\n<|im_start|>assistant\n",
    "Once upon a time,",
]

CONVERSATIONS = [
    [{"role": "user", "content": "What is gravity?"}],
    [
        {"role": "system", "content": "You are a pirate."},
        {"role": "user", "content": "Hi"},
        {"role": "assistant", "content": "Arr, ahoy!"},
        {"role": "user", "content": "Where is the treasure?"},
    ],
]

GREEDY_PROMPT = (
    "<|im_start|>system\nYou are a helpful AI assistant named SmolLM, trained by Hugging Face"
    "<|im_end|>\n<|im_start|>user\nWhat is gravity?<|im_end|>\n<|im_start|>assistant\n"
)
GREEDY_STEPS = 30


def write(name: str, value) -> None:
    path = FIXTURES / name
    path.write_text(json.dumps(value, ensure_ascii=False, indent=1) + "\n")
    print(f"wrote {path} ({path.stat().st_size} bytes)")


def type_fixtures() -> None:
    """types.gguf: a [2, 64] tensor per type, from the same random weights."""
    import gguf
    from gguf.constants import GGMLQuantizationType as T

    rng = np.random.default_rng(0)
    weights = (rng.standard_normal((2, 64)) * 0.5).astype(np.float32)
    writer = gguf.GGUFWriter(str(FIXTURES / "types.gguf"), "llama")
    writer.add_uint32("test.u32", 7)
    writer.add_array("test.strings", ["a", "bc"])
    expected = {}
    for ty in (T.F32, T.F16, T.BF16, T.Q8_0, T.Q4_0, T.Q4_1):
        if ty == T.F32:
            data = weights
        elif ty == T.F16:
            data = weights.astype(np.float16)
        else:
            data = gguf.quants.quantize(weights, ty)
        name = f"w_{ty.name.lower()}"
        writer.add_tensor(name, data, raw_dtype=ty)
        values = gguf.quants.dequantize(np.asarray(data), ty).astype(np.float32)
        expected[name] = {"type": ty.name, "shape": list(values.shape), "values": values.ravel().tolist()}
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    print(f"wrote {FIXTURES / 'types.gguf'}")
    write("types.json", expected)


def model_tensor_fixtures(model: Path) -> None:
    """Samples of real tensors: the first 64 weights, 64 from the middle, and the sum."""
    import gguf

    reader = gguf.GGUFReader(str(model))
    out = {}
    for name in ("token_embd.weight", "blk.0.attn_q.weight", "blk.0.attn_norm.weight", "blk.29.ffn_down.weight"):
        t = next(t for t in reader.tensors if t.name == name)
        values = gguf.quants.dequantize(t.data, t.tensor_type).astype(np.float32).ravel()
        mid = len(values) // 2
        out[name] = {
            "type": t.tensor_type.name,
            "shape": [int(d) for d in reversed(t.shape)],
            "head": values[:64].tolist(),
            "mid_start": mid,
            "mid": values[mid : mid + 64].tolist(),
            "sum": float(values.astype(np.float64).sum()),
        }
    write("model_tensors.json", out)


def transformers_fixtures(model: Path) -> None:
    import torch
    from transformers import AutoModelForCausalLM, AutoTokenizer

    torch.manual_seed(0)
    kwargs = {"gguf_file": model.name}
    tok = AutoTokenizer.from_pretrained(str(model.parent), **kwargs)
    lm = AutoModelForCausalLM.from_pretrained(str(model.parent), dtype=torch.float32, **kwargs)
    lm.eval()

    write("tokens.json", [{"text": t, "ids": tok.encode(t, add_special_tokens=False)} for t in TOKEN_TEXTS])
    write(
        "chat.json",
        [
            {"messages": m, "text": tok.apply_chat_template(m, tokenize=False, add_generation_prompt=True)}
            for m in CONVERSATIONS
        ],
    )

    def top5(logits: torch.Tensor) -> dict:
        values, ids = logits.topk(5)
        return {"ids": ids.tolist(), "values": values.tolist()}

    logits_out = []
    with torch.no_grad():
        for prompt in LOGIT_PROMPTS:
            ids = tok.encode(prompt, add_special_tokens=False)
            logits = lm(torch.tensor([ids])).logits[0, -1]
            logits_out.append({"prompt": prompt, "prompt_ids": ids, **top5(logits)})
    write("logits.json", logits_out)

    ids = tok.encode(GREEDY_PROMPT, add_special_tokens=False)
    steps = []
    with torch.no_grad():
        seq = list(ids)
        for _ in range(GREEDY_STEPS):
            logits = lm(torch.tensor([seq])).logits[0, -1]
            step = top5(logits)
            steps.append(step)
            seq.append(step["ids"][0])
    write(
        "greedy.json",
        {
            "prompt": GREEDY_PROMPT,
            "prompt_ids": ids,
            "steps": steps,
            "continuation_ids": seq[len(ids) :],
            "text": tok.decode(seq[len(ids) :]),
        },
    )


def main() -> None:
    model = Path(sys.argv[1]) if len(sys.argv) > 1 else MODEL
    if not model.is_file():
        sys.exit(f"{model} not found; run `./course data` or pass the path of the GGUF file")
    FIXTURES.mkdir(parents=True, exist_ok=True)
    type_fixtures()
    model_tensor_fixtures(model)
    transformers_fixtures(model)


if __name__ == "__main__":
    main()
