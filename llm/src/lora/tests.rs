//! LoRA on a tiny random Llama (2 layers, d_model 32, grouped-query
//! attention): the real code paths in milliseconds.

use tch::{Kind, Tensor};

use super::*;
use crate::llama::KvCache;

fn tiny() -> LlamaConfig {
    LlamaConfig {
        n_layers: 2,
        d_model: 32,
        d_ff: 48,
        n_heads: 4,
        n_kv_heads: 2,
        head_dim: 8,
        vocab_size: 40,
        context_length: 64,
        rope_base: 10_000.0,
        rms_eps: 1e-5,
    }
}

fn model() -> Llama {
    Llama::random(tiny(), 7)
}

/// Every target, no dropout: deterministic and exercising every hook.
fn all_targets() -> LoraConfig {
    LoraConfig {
        dropout: 0.0,
        targets: Target::ALL.iter().map(|t| t.name().to_string()).collect(),
        ..LoraConfig::default()
    }
}

/// An adapter whose `B`s are random too, as after training (from a
/// generator of its own: tests run in parallel and share libtorch's).
fn trained_lora(config: LoraConfig, seed: u64) -> Lora {
    use rand::{Rng, SeedableRng};
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut lora = Lora::new(config, &tiny(), 3).unwrap();
    let _no_grad = tch::no_grad_guard();
    for adapter in lora.layers.iter_mut().flatten() {
        let values: Vec<f32> = (0..adapter.b.numel())
            .map(|_| rng.gen_range(-0.3..0.3))
            .collect();
        adapter
            .b
            .copy_(&Tensor::from_slice(&values).view_as(&adapter.b));
    }
    lora
}

/// Two left-padded rows of token ids, and their mask.
fn batch() -> (Tensor, Tensor) {
    let tokens = Tensor::from_slice(&[0i64, 0, 5, 9, 13, 2, 1, 8, 30, 4, 11, 39]).view([2, 6]);
    let mask = Tensor::from_slice(&[0i64, 0, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1]).view([2, 6]);
    (tokens, mask)
}

fn logits(model: &Llama) -> Tensor {
    let (tokens, mask) = batch();
    model
        .forward(&tokens, Some(&mask), &mut KvCache::default())
        .unwrap()
}

fn max_diff(a: &Tensor, b: &Tensor) -> f64 {
    (a - b).abs().max().double_value(&[])
}

/// Prompt `[k, k+1]` answered by `[k+2, (k·7) % 40]`: a lookup an adapter
/// has to learn.
fn task() -> Vec<Example> {
    (0..8)
        .map(|k| Example::new(vec![k, k + 1], vec![k + 2, (k * 7) % 40]))
        .collect()
}

#[test]
fn an_untrained_adapter_changes_nothing() {
    let mut model = model();
    let before = logits(&model);
    model
        .attach_lora(Lora::new(all_targets(), &tiny(), 1).unwrap())
        .unwrap();
    assert!(logits(&model).equal(&before));
    let lora = model.lora().unwrap();
    let (a, b) = lora.adapter(1, "v_proj").unwrap();
    assert_eq!((a.size(), b.size()), (vec![8, 32], vec![16, 8]));
    assert!(a.requires_grad() && b.requires_grad());
    assert_eq!(b.abs().sum(Kind::Float).double_value(&[]), 0.0);
    // Kaiming-uniform with a = √5: within ±1/√in, and not degenerate.
    let bound = a.abs().max().double_value(&[]);
    assert!(bound <= 1.0 / 32f64.sqrt() && bound > 0.1, "{bound}");
    assert!(lora.adapter(2, "v_proj").is_none());
}

#[test]
fn inference_builds_no_graph_but_training_does() {
    let mut model = model();
    model
        .attach_lora(Lora::new(LoraConfig::default(), &tiny(), 1).unwrap())
        .unwrap();
    assert!(!logits(&model).requires_grad());
    let (tokens, mask) = batch();
    let hidden = model
        .hidden(&tokens, Some(&mask), &mut KvCache::default(), true)
        .unwrap();
    assert!(hidden.requires_grad());
}

#[test]
fn counts_agree_with_the_formula() {
    for config in [LoraConfig::default(), all_targets()] {
        let mut model = model();
        let base = model.num_params();
        let want = config.trainable_params(&tiny()).unwrap();
        model
            .attach_lora(Lora::new(config, &tiny(), 0).unwrap())
            .unwrap();
        let count = ParamCount::of(&model);
        assert_eq!(count.trainable, want);
        assert_eq!(count.all, base + want);
        let by_tensors: usize = model
            .lora()
            .unwrap()
            .parameters()
            .iter()
            .filter(|t| t.requires_grad())
            .map(Tensor::numel)
            .sum();
        assert_eq!(by_tensors, want);
    }
    // q: 8·(32+32), v: 8·(32+16), per layer, two layers.
    assert_eq!(
        LoraConfig::default().trainable_params(&tiny()).unwrap(),
        2 * (8 * 64 + 8 * 48)
    );
    // The embedding (40·32, tied head counted once) and per block two
    // norms, wqkv 64·32, wo 32·32, gate and up 96·32, down 32·48; the norm.
    assert_eq!(
        model().num_params(),
        40 * 32 + 2 * (2 * 32 + 64 * 32 + 32 * 32 + 96 * 32 + 32 * 48) + 32
    );
}

#[test]
fn counts_print_as_peft_prints_them() {
    let smollm2 = LlamaConfig {
        n_layers: 30,
        d_model: 576,
        d_ff: 1536,
        n_heads: 9,
        n_kv_heads: 3,
        head_dim: 64,
        vocab_size: 49152,
        context_length: 8192,
        rope_base: 100_000.0,
        rms_eps: 1e-5,
    };
    let trainable = LoraConfig::default().trainable_params(&smollm2).unwrap();
    let count = ParamCount {
        trainable,
        all: 134_515_008 + trainable,
    };
    assert_eq!(
        count.to_string(),
        "trainable params: 460,800 || all params: 134,975,808 || trainable%: 0.3414"
    );
    assert_eq!(thousands(0), "0");
    assert_eq!(thousands(999), "999");
    assert_eq!(thousands(1000), "1,000");
}

#[test]
fn bad_configs_are_refused_with_the_reason() {
    let err = |config: LoraConfig| Lora::new(config, &tiny(), 0).unwrap_err().to_string();
    let msg = err(LoraConfig {
        targets: vec!["q_proj".into(), "lm_head".into()],
        ..LoraConfig::default()
    });
    assert!(
        msg.contains("`lm_head`") && msg.contains("q_proj, k_proj, v_proj, o_proj"),
        "{msg}"
    );
    let msg = err(LoraConfig {
        r: 0,
        ..LoraConfig::default()
    });
    assert!(msg.contains("r must be at least 1"), "{msg}");
    let msg = err(LoraConfig {
        dropout: 1.0,
        ..LoraConfig::default()
    });
    assert!(msg.contains("lora_dropout"), "{msg}");
    let msg = err(LoraConfig {
        targets: vec!["v_proj".into(), "v_proj".into()],
        ..LoraConfig::default()
    });
    assert!(msg.contains("named twice"), "{msg}");
}

#[test]
fn attaching_checks_the_model_and_detaching_restores_it() {
    let mut model = model();
    let before = logits(&model);
    let other = LlamaConfig {
        n_layers: 3,
        ..tiny()
    };
    let msg = model
        .attach_lora(Lora::new(LoraConfig::default(), &other, 0).unwrap())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("made for a model of"), "{msg}");
    model
        .attach_lora(trained_lora(LoraConfig::default(), 1))
        .unwrap();
    assert!(max_diff(&logits(&model), &before) > 1e-3);
    let msg = model
        .attach_lora(trained_lora(LoraConfig::default(), 2))
        .unwrap_err()
        .to_string();
    assert!(msg.contains("already"), "{msg}");
    assert!(model.detach_lora().is_some());
    assert!(logits(&model).equal(&before));
}

#[test]
fn merging_gives_the_adapted_models_logits() {
    for config in [LoraConfig::default(), all_targets()] {
        let mut model = model();
        let base = logits(&model);
        model.attach_lora(trained_lora(config, 5)).unwrap();
        let adapted = logits(&model);
        assert!(max_diff(&adapted, &base) > 1e-3);
        model.merge_lora().unwrap();
        assert!(model.lora().is_none());
        let merged = logits(&model);
        assert!(
            max_diff(&merged, &adapted) < 1e-5,
            "{}",
            max_diff(&merged, &adapted)
        );
    }
    let msg = model().merge_lora().unwrap_err().to_string();
    assert!(msg.contains("nothing to merge"), "{msg}");
}

#[test]
fn save_and_load_round_trip() {
    let dir = tempfile::tempdir().unwrap();
    let config = LoraConfig {
        dropout: 0.1,
        ..all_targets()
    };
    let lora = trained_lora(config.clone(), 9);
    lora.save(dir.path()).unwrap();
    let loaded = Lora::load(dir.path(), &tiny()).unwrap();
    assert_eq!(loaded.config(), &config);
    for (x, y) in lora.parameters().iter().zip(loaded.parameters()) {
        assert!(x.equal(&y) && y.requires_grad());
    }
    // The file holds Q's B in Hugging Face's row order, not the model's.
    let saved: std::collections::HashMap<String, Tensor> =
        Tensor::read_safetensors(dir.path().join(WEIGHTS_FILE))
            .unwrap()
            .into_iter()
            .collect();
    assert_eq!(saved.len(), 2 * 7 * 2);
    let q_b = &saved["base_model.model.model.layers.1.self_attn.q_proj.lora_B.weight"];
    let ours = lora.adapter(1, "q_proj").unwrap().1;
    assert!(!q_b.equal(ours) && io::rows_from_hf(q_b, 4).equal(ours));
    let v_b = &saved["base_model.model.model.layers.1.self_attn.v_proj.lora_B.weight"];
    assert!(v_b.equal(lora.adapter(1, "v_proj").unwrap().1));

    let mut with_saved = model();
    with_saved.attach_lora(lora).unwrap();
    let mut with_loaded = model();
    with_loaded.attach_lora(loaded).unwrap();
    assert!(logits(&with_saved).equal(&logits(&with_loaded)));
}

#[test]
fn loading_explains_what_is_wrong() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path();
    let load = |model: &LlamaConfig| Lora::load(path, model).unwrap_err().to_string();
    assert!(load(&tiny()).contains(CONFIG_FILE));

    trained_lora(LoraConfig::default(), 1).save(path).unwrap();
    let fewer = LlamaConfig {
        n_layers: 1,
        ..tiny()
    };
    let msg = load(&fewer);
    assert!(
        msg.contains("such as `base_model.model.model.layers.1."),
        "{msg}"
    );
    let more = LlamaConfig {
        n_layers: 3,
        ..tiny()
    };
    let msg = load(&more);
    assert!(
        msg.contains("no tensor `base_model.model.model.layers.2.self_attn.q_proj.lora_A.weight`"),
        "{msg}"
    );
    let wider = LlamaConfig {
        d_model: 48,
        n_heads: 6,
        n_kv_heads: 3,
        ..tiny()
    };
    let msg = load(&wider);
    assert!(
        msg.contains("is [8, 32], this model needs [8, 48]"),
        "{msg}"
    );

    let config_path = path.join(CONFIG_FILE);
    let json = std::fs::read_to_string(&config_path).unwrap();
    std::fs::write(&config_path, json.replace("\"r\": 8", "\"r\": 4")).unwrap();
    let msg = load(&tiny());
    assert!(
        msg.contains("is [8, 32], this model needs [4, 32] (r = 4)"),
        "{msg}"
    );
    std::fs::write(
        &config_path,
        json.replace("\"use_rslora\": false", "\"use_rslora\": true"),
    )
    .unwrap();
    assert!(load(&tiny()).contains("use_rslora true"));
    std::fs::write(&config_path, "{\"peft_type\": ").unwrap();
    assert!(load(&tiny()).contains("not a PEFT adapter config"));

    std::fs::write(&config_path, &json).unwrap();
    let weights = path.join(WEIGHTS_FILE);
    let bytes = std::fs::read(&weights).unwrap();
    std::fs::write(&weights, &bytes[..bytes.len() / 2]).unwrap();
    let msg = load(&tiny());
    assert!(
        msg.contains("corrupt") && msg.contains(WEIGHTS_FILE),
        "{msg}"
    );
    std::fs::remove_file(&weights).unwrap();
    assert!(load(&tiny()).contains(WEIGHTS_FILE));
}

#[test]
fn training_lowers_the_loss() {
    let mut model = model();
    let config = LoraConfig {
        r: 4,
        ..all_targets()
    };
    model
        .attach_lora(Lora::new(config, &tiny(), 0).unwrap())
        .unwrap();
    let examples = task();
    let before = answer_loss(&model, &examples).unwrap();
    let mut trainer = Trainer::new(
        &model,
        TrainConfig {
            learning_rate: 1e-2,
            batch_size: 2,
            grad_accum: 2,
            ..TrainConfig::default()
        },
    )
    .unwrap();
    let mut seen = Vec::new();
    let losses = trainer
        .train(&model, &examples, 15, |step, loss| seen.push((step, loss)))
        .unwrap();
    assert_eq!(losses.len(), 30);
    assert_eq!(trainer.steps(), 30);
    assert_eq!(seen.last().unwrap().0, 30);
    let after = answer_loss(&model, &examples).unwrap();
    assert!(after < 0.3 * before, "loss {before} -> {after}");
    // Greedy decoding now follows the task.
    let prompt = Tensor::from_slice(&[3i64, 4]).unsqueeze(0);
    let next = model
        .forward_last(&prompt, None, &mut KvCache::default())
        .unwrap()
        .argmax(-1, false);
    assert_eq!(next.int64_value(&[0]), 5);
}

/// Accumulating two micro-batches of two makes the same update as one batch
/// of four: the loss is averaged over all the answer tokens of the step.
#[test]
fn gradient_accumulation_equals_one_large_batch() {
    let examples = task();
    let mut updated = Vec::new();
    for micro in [vec![&examples[..2], &examples[2..4]], vec![&examples[..4]]] {
        let mut model = model();
        model.attach_lora(trained_lora(all_targets(), 4)).unwrap();
        let mut trainer = Trainer::new(
            &model,
            TrainConfig {
                learning_rate: 1e-2,
                ..TrainConfig::default()
            },
        )
        .unwrap();
        let loss = trainer.step(&model, &micro).unwrap();
        updated.push((loss, model.detach_lora().unwrap().parameters()));
    }
    let ((loss_a, a), (loss_b, b)) = (&updated[0], &updated[1]);
    assert!((loss_a - loss_b).abs() < 1e-5, "{loss_a} vs {loss_b}");
    for (x, y) in a.iter().zip(b) {
        assert!(max_diff(x, y) < 1e-6, "{}", max_diff(x, y));
    }
}

/// Clipping to a tiny norm leaves gradients below AdamW's epsilon, so the
/// step barely moves the adapter; unclipped, each weight moves by about the
/// learning rate.
#[test]
fn gradients_are_clipped_to_max_grad_norm() {
    let mut moved = Vec::new();
    for max_grad_norm in [None, Some(1e-12)] {
        let mut model = model();
        model.attach_lora(trained_lora(all_targets(), 4)).unwrap();
        let before = model.lora().unwrap().parameters();
        let before: Vec<Tensor> = before.iter().map(Tensor::copy).collect();
        let config = TrainConfig {
            learning_rate: 1e-2,
            max_grad_norm,
            ..TrainConfig::default()
        };
        let mut trainer = Trainer::new(&model, config).unwrap();
        trainer.step(&model, &[&task()]).unwrap();
        let after = model.lora().unwrap().parameters();
        let largest = before
            .iter()
            .zip(&after)
            .map(|(x, y)| max_diff(x, y))
            .fold(0.0, f64::max);
        moved.push(largest);
    }
    assert!(moved[0] > 5e-3 && moved[1] < 1e-4, "{moved:?}");
}

#[test]
fn the_trainer_refuses_a_model_without_its_adapter() {
    let mut model = model();
    let msg = Trainer::new(&model, TrainConfig::default())
        .unwrap_err()
        .to_string();
    assert!(msg.contains("attach one"), "{msg}");
    model
        .attach_lora(Lora::new(LoraConfig::default(), &tiny(), 0).unwrap())
        .unwrap();
    let mut trainer = Trainer::new(&model, TrainConfig::default()).unwrap();
    model.merge_lora().unwrap();
    model
        .attach_lora(Lora::new(LoraConfig::default(), &tiny(), 0).unwrap())
        .unwrap();
    let msg = trainer.step(&model, &[&task()]).unwrap_err().to_string();
    assert!(msg.contains("make a new Trainer"), "{msg}");
    let mut trainer = Trainer::new(&model, TrainConfig::default()).unwrap();
    let msg = trainer
        .step(&model, &[&[Example::new(vec![], vec![1])]])
        .unwrap_err()
        .to_string();
    assert!(msg.contains("at least one token"), "{msg}");
}

#[test]
fn memory_counts_weights_gradients_and_adam_moments() {
    let model = model();
    let n = model.num_params();
    let full = TrainingMemory::full(&model);
    assert_eq!(
        (full.frozen_bytes, full.training_bytes(), full.total_bytes()),
        (0, 16 * n, 16 * n)
    );
    let config = LoraConfig::default();
    let t = config.trainable_params(&tiny()).unwrap();
    let lora = TrainingMemory::lora(&model, &config).unwrap();
    assert_eq!(lora.frozen_bytes, 4 * n);
    assert_eq!(lora.optimizer_bytes, 8 * t);
    assert_eq!(lora.total_bytes(), 4 * n + 16 * t);
}
