//! Throughput of the MiniLM encoder, to compare with sentence-transformers
//! (`llm/scripts/bench_minilm.py` runs the same workloads). A benchmark, not a
//! check, so it is ignored by default:
//!
//! ```text
//! cargo test --release -p aiguide-llm --test embed_bench -- --ignored --nocapture
//! ```
//!
//! Both sides use Hamlet's words (the course's Project Gutenberg copy), cut
//! into short sentences and into retrieval-sized passages, the same number of
//! threads (`BENCH_THREADS`, default 2) and batches of 32.

use std::time::Instant;

use aiguide_llm::embed::SentenceEncoder;

/// `count` texts of `words` consecutive words each, from the start of Hamlet.
fn workload(words: usize, count: usize) -> Vec<String> {
    let path = aiguide::hub::locate("shakespeare-hamlet").unwrap();
    let text = std::fs::read_to_string(path).unwrap();
    let all: Vec<&str> = text.split_whitespace().collect();
    all.chunks(words).take(count).map(|c| c.join(" ")).collect()
}

#[test]
#[ignore = "benchmark: run with --ignored --nocapture"]
fn sentences_per_second() {
    let threads: i32 = std::env::var("BENCH_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or(2);
    tch::set_num_threads(threads);
    let encoder = SentenceEncoder::load().unwrap().with_batch_size(32);
    println!("threads {threads}, batch 32");
    for (name, words, count) in [
        ("sentences of 12 words", 12, 512),
        ("passages of 150 words", 150, 128),
    ] {
        let texts = workload(words, count);
        let _warm_up = encoder.encode(&texts[..32]).unwrap();
        let mut rates = Vec::new();
        for _ in 0..3 {
            let start = Instant::now();
            let _embeddings = encoder.encode(&texts).unwrap();
            rates.push(texts.len() as f64 / start.elapsed().as_secs_f64());
        }
        rates.sort_by(f64::total_cmp);
        println!(
            "{name}: {:.1} sentences/s (median of 3: {rates:.1?})",
            rates[1]
        );
    }
}
