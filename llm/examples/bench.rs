//! Speed of the decoder on this machine: load time, prefill and decode
//! tokens per second, with and without the KV cache. Prints one JSON object.
//!
//! ```text
//! cargo run --release -p aiguide-llm --example bench -- [f32|bf16] [threads] [prompt_tokens] [new_tokens]
//! ```
//!
//! `llm/scripts/bench.py` runs it next to HF transformers with the same
//! settings.

use std::time::Instant;

use aiguide_llm::llama::KvCache;
use aiguide_llm::{Llm, Result};
use tch::{Kind, Tensor};

fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let arg =
        |i: usize, default: usize| args.get(i).and_then(|a| a.parse().ok()).unwrap_or(default);
    let (kind, kind_name) = match args.first().map(String::as_str) {
        Some("bf16") => (Kind::BFloat16, "bf16"),
        _ => (Kind::Float, "f32"),
    };
    let (threads, prompt_len, new_tokens) = (arg(1, 2), arg(2, 128), arg(3, 32));
    tch::set_num_threads(threads as i32);

    let path = aiguide::hub::locate(aiguide_llm::COURSE_MODEL)?;
    let start = Instant::now();
    let llm = Llm::load(path, kind)?;
    let load_s = start.elapsed().as_secs_f64();
    let model = llm.model();

    // A prompt of exactly `prompt_len` tokens: real text, repeated.
    let text =
        "The quick brown fox jumps over the lazy dog while the cat sleeps. ".repeat(prompt_len);
    let ids: Vec<i64> = llm
        .tokenizer()
        .encode(&text)?
        .into_iter()
        .take(prompt_len)
        .collect();
    let prompt = Tensor::from_slice(&ids).unsqueeze(0);

    // Warm-up, then prefill.
    let _ = model.forward_last(&prompt, None, &mut KvCache::default())?;
    let start = Instant::now();
    let mut cache = KvCache::default();
    let mut logits = model.forward_last(&prompt, None, &mut cache)?;
    let prefill_s = start.elapsed().as_secs_f64();

    // Greedy decoding with the cache.
    let start = Instant::now();
    let mut seq = ids.clone();
    for _ in 0..new_tokens {
        let next = logits.argmax(-1, false);
        seq.push(next.int64_value(&[0]));
        logits = model.forward_last(&next.unsqueeze(0), None, &mut cache)?;
    }
    let decode_s = start.elapsed().as_secs_f64();

    // Without a cache every step reruns the whole sequence (fewer steps: it is slow).
    let steps = new_tokens.min(8);
    let start = Instant::now();
    let mut seq_nc = ids.clone();
    for _ in 0..steps {
        let tokens = Tensor::from_slice(&seq_nc).unsqueeze(0);
        let logits = model.forward_last(&tokens, None, &mut KvCache::default())?;
        seq_nc.push(logits.argmax(-1, false).int64_value(&[0]));
    }
    let nocache_s = start.elapsed().as_secs_f64();
    let same = seq_nc[..] == seq[..seq_nc.len()];

    println!(
        "{{\"impl\": \"tch\", \"kind\": \"{kind_name}\", \"threads\": {threads}, \"prompt_tokens\": {prompt_len}, \
         \"new_tokens\": {new_tokens}, \"load_s\": {load_s:.3}, \"prefill_tok_s\": {:.1}, \
         \"decode_tok_s\": {:.2}, \"decode_nocache_tok_s\": {:.2}, \"nocache_same_tokens\": {same}}}",
        prompt_len as f64 / prefill_s,
        new_tokens as f64 / decode_s,
        steps as f64 / nocache_s,
    );
    Ok(())
}
