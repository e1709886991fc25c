//! LoRA on the course's SmolLM2-135M-Instruct (f32), with the guide's
//! configuration: PEFT's parameter count, training steps on chat examples
//! (timed), save/load, merging (same logits, same greedy text), and the
//! adapter on bf16 weights.

use std::time::Instant;

use aiguide_llm::llama::KvCache;
use aiguide_llm::lora::{
    Example, Lora, LoraConfig, ParamCount, TrainConfig, Trainer, TrainingMemory, answer_loss,
};
use aiguide_llm::{COURSE_MODEL, GenerateConfig, Llm, Message};
use tch::{Kind, Tensor};

fn load(kind: Kind) -> Llm {
    // One intra-op thread, as in smollm2.rs: test binaries share the machine.
    tch::set_num_threads(1);
    let path = aiguide::hub::locate(COURSE_MODEL).expect("run `./course data` to fetch the model");
    Llm::load(path, kind).unwrap()
}

const QUESTION: &str = "What is the capital of Zorbia?";

/// Made-up facts the model cannot know, as chat examples of ~50 tokens
/// (SmolLM2's template adds its default system prompt).
fn facts(llm: &Llm) -> Vec<Example> {
    [
        (QUESTION, "The capital of Zorbia is Plimsk."),
        (
            "Who founded the city of Plimsk?",
            "Plimsk was founded by Queen Arvela.",
        ),
        (
            "What do people in Zorbia eat?",
            "People in Zorbia eat blue turnip soup.",
        ),
        (
            "What is Zorbia's national animal?",
            "Zorbia's national animal is the snow lynx.",
        ),
    ]
    .iter()
    .map(|(q, a)| Example::chat(llm.tokenizer(), &[Message::user(*q)], a).unwrap())
    .collect()
}

fn prompt(llm: &Llm) -> String {
    llm.tokenizer()
        .apply_chat_template(&[Message::user(QUESTION)], true)
        .unwrap()
}

/// Logits `[len, vocab]` after each token of the question's chat prompt.
fn prompt_logits(llm: &Llm) -> Tensor {
    llm.logits(&prompt(llm)).unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// How much f32 rounding alone moves the logits: the prompt in one pass
/// against token by token through the KV cache (the same arithmetic, in
/// matrix products of other shapes).
fn rounding_noise(llm: &Llm) -> f64 {
    let ids = llm.tokenizer().encode(&prompt(llm)).unwrap();
    let mut cache = KvCache::default();
    let rows: Vec<Tensor> = ids
        .iter()
        .map(|&id| {
            let token = Tensor::from_slice(&[id]).unsqueeze(0);
            llm.model().forward_last(&token, None, &mut cache).unwrap()
        })
        .collect();
    max_diff(&Tensor::cat(&rows, 0), &prompt_logits(llm))
}

#[test]
fn lora_on_smollm2() {
    let mut llm = load(Kind::Float);
    let config = LoraConfig::default();
    let base_logits = prompt_logits(&llm);
    let noise = rounding_noise(&llm);

    // Counts: the guide's print, and the formula r·(in + out) per target.
    let memory_full = TrainingMemory::full(llm.model());
    let memory_lora = TrainingMemory::lora(llm.model(), &config).unwrap();
    let lora = Lora::new(config.clone(), llm.model().config(), 0).unwrap();
    llm.model_mut().attach_lora(lora).unwrap();
    let count = ParamCount::of(llm.model());
    println!("{count}");
    assert_eq!(
        count.to_string(),
        "trainable params: 460,800 || all params: 134,975,808 || trainable%: 0.3414"
    );
    assert_eq!(
        count.trainable,
        config.trainable_params(llm.model().config()).unwrap()
    );
    let mb = |b: usize| b as f64 / 1e6;
    for (name, m) in [("full", memory_full), ("LoRA", memory_lora)] {
        println!(
            "{name}: frozen {:.1} MB, trained {:.1} MB + gradients {:.1} MB + AdamW {:.1} MB \
             = {:.1} MB of training state, {:.1} MB in all",
            mb(m.frozen_bytes),
            mb(m.trainable_bytes),
            mb(m.grad_bytes),
            mb(m.optimizer_bytes),
            mb(m.training_bytes()),
            mb(m.total_bytes())
        );
    }
    assert_eq!(memory_full.training_bytes(), 16 * 134_515_008);
    assert_eq!(memory_lora.training_bytes(), 16 * 460_800);

    // B = 0: the adapter changes nothing yet.
    assert!(prompt_logits(&llm).equal(&base_logits));

    // A few steps on one batch of 4 sequences of ~50 tokens.
    let examples = facts(&llm);
    let lens: Vec<usize> = examples.iter().map(Example::len).collect();
    println!("sequence lengths {lens:?}");
    let before = answer_loss(llm.model(), &examples).unwrap();
    let mut trainer = Trainer::new(
        llm.model(),
        TrainConfig {
            learning_rate: 2e-3,
            grad_accum: 1,
            ..TrainConfig::default()
        },
    )
    .unwrap();
    let steps = 8;
    let start = Instant::now();
    for _ in 0..steps {
        let t = Instant::now();
        let loss = trainer.step(llm.model(), &[&examples]).unwrap();
        println!(
            "step {}: loss {loss:.3} ({:.2} s)",
            trainer.steps(),
            t.elapsed().as_secs_f64()
        );
    }
    println!(
        "{:.2} s per step (batch 4, 1 thread)",
        start.elapsed().as_secs_f64() / steps as f64
    );
    let after = answer_loss(llm.model(), &examples).unwrap();
    println!("answer loss {before:.3} -> {after:.3}");
    assert!(after < 0.5 * before, "loss {before} -> {after}");
    let question = [Message::user(QUESTION)];
    let greedy = GenerateConfig {
        max_new_tokens: 20,
        ..GenerateConfig::default()
    };
    let adapted_text = llm.chat(&question, &greedy).unwrap().text;
    println!("after training: {adapted_text:?}");

    // Save and load: the same adapter, the same logits.
    let dir = tempfile::tempdir().unwrap();
    llm.model().lora().unwrap().save(dir.path()).unwrap();
    let adapted_logits = prompt_logits(&llm);
    assert!(max_diff(&adapted_logits, &base_logits) > 1e-2);
    llm.model_mut().detach_lora().unwrap();
    assert!(prompt_logits(&llm).equal(&base_logits));
    let loaded = Lora::load(dir.path(), llm.model().config()).unwrap();
    llm.model_mut().attach_lora(loaded).unwrap();
    assert!(prompt_logits(&llm).equal(&adapted_logits));

    // Merge: the same logits up to f32 rounding, the same greedy text, no
    // adapter left. Over all positions, rounding alone moves this model's
    // logits (up to ~40) by ~1e-4, so the bound there is relative to that.
    llm.model_mut().merge_lora().unwrap();
    assert!(llm.model().lora().is_none());
    let merged_logits = prompt_logits(&llm);
    let diff = max_diff(&merged_logits, &adapted_logits);
    let last = max_diff(&merged_logits.get(-1), &adapted_logits.get(-1));
    println!(
        "merged vs adapter: largest logit difference {diff:.2e} ({last:.2e} at the last \
         position; rounding noise {noise:.2e})"
    );
    assert!(last < 1e-4 && diff < 2.0 * noise, "{last} {diff}");
    assert_eq!(llm.chat(&question, &greedy).unwrap().text, adapted_text);

    // The f32 adapter on bf16 weights, also merged: as close to f32 as bf16
    // weights alone are to f32 ones (~0.4 over the whole vocabulary), and
    // merged within a little more (bf16 rounds the merged weights).
    let adapted_last = adapted_logits.get(-1);
    drop(llm);
    let mut bf16 = load(Kind::BFloat16);
    let bf16_noise = max_diff(&prompt_logits(&bf16).get(-1), &base_logits.get(-1));
    let loaded = Lora::load(dir.path(), bf16.model().config()).unwrap();
    bf16.model_mut().attach_lora(loaded).unwrap();
    let bf16_logits = prompt_logits(&bf16).get(-1);
    bf16.model_mut().merge_lora().unwrap();
    let bf16_merged = prompt_logits(&bf16).get(-1);
    let (from_f32, merging) = (
        max_diff(&bf16_logits, &adapted_last),
        max_diff(&bf16_merged, &bf16_logits),
    );
    println!(
        "bf16: {from_f32:.2} from f32, merging moves it {merging:.2} (base: {bf16_noise:.2} \
         from f32)"
    );
    assert!(
        from_f32 < 2.0 * bf16_noise && merging < 3.0 * bf16_noise,
        "{from_f32} {merging} {bf16_noise}"
    );
    assert_eq!(
        bf16_merged.argmax(-1, false).int64_value(&[]),
        adapted_last.argmax(-1, false).int64_value(&[])
    );
}
