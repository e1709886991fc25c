//! SmolLM2-135M-Instruct (the course's GGUF) against HF transformers on the
//! same file: token ids, top-5 logits, a greedy continuation, chat templates
//! and dequantised tensors, from the fixtures `llm/scripts/make_fixtures.py`
//! wrote. The model is loaded once per test binary (f32).

use std::path::PathBuf;
use std::sync::{Mutex, MutexGuard, OnceLock};

use aiguide_llm::gguf::Gguf;
use aiguide_llm::llama::KvCache;
use aiguide_llm::schemars::JsonSchema;
use aiguide_llm::structured::schema_for;
use aiguide_llm::tokenize::TextStream;
use aiguide_llm::{
    COURSE_MODEL, ChatModel, ChatRequest, Error, FinishReason, GenerateConfig, Llm, Message,
    StopReason,
};
use serde_json::Value;
use tch::{Kind, Tensor};

/// Largest allowed difference between our logits and transformers'.
const LOGIT_TOL: f64 = 1e-3;
/// The same for bf16 weights.
const BF16_LOGIT_TOL: f64 = 0.5;

fn model_path() -> PathBuf {
    aiguide::hub::locate(COURSE_MODEL).expect("run `./course data` to fetch the model")
}

fn load(kind: Kind) -> Llm {
    // One intra-op thread: tests share the machine with other test binaries
    // and builds, and libtorch's OpenMP threads spin-wait, so two threads on a
    // busy 2-core machine run several times slower than one.
    tch::set_num_threads(1);
    Llm::load(model_path(), kind).unwrap()
}

/// The model, shared by the tests (tch tensors are not `Sync`, hence the lock).
fn llm() -> MutexGuard<'static, Llm> {
    static LLM: OnceLock<Mutex<Llm>> = OnceLock::new();
    let lock = LLM.get_or_init(|| Mutex::new(load(Kind::Float)));
    lock.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

fn fixture(name: &str) -> Value {
    let path = PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn ids(v: &Value) -> Vec<i64> {
    serde_json::from_value(v.clone()).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    serde_json::from_value(v.clone()).unwrap()
}

/// Checks `logits` (`[vocab]`) against a fixture's top 5; returns the largest difference.
fn check_top5(logits: &Tensor, want: &Value, what: &str) -> f64 {
    let (values, indices) = logits.topk(5, -1, true, true);
    assert_eq!(
        Vec::<i64>::try_from(&indices).unwrap(),
        ids(&want["ids"]),
        "{what}: top-5 ids"
    );
    let got = Vec::<f64>::try_from(&values.to_kind(Kind::Double)).unwrap();
    let diff = got
        .iter()
        .zip(floats(&want["values"]))
        .map(|(a, b)| (a - b).abs())
        .fold(0.0, f64::max);
    assert!(diff < LOGIT_TOL, "{what}: top-5 logits differ by {diff}");
    diff
}

#[test]
fn token_ids_match_transformers() {
    let llm = llm();
    let tok = llm.tokenizer();
    for case in fixture("tokens.json").as_array().unwrap() {
        let text = case["text"].as_str().unwrap();
        let got = tok.encode(text).unwrap();
        assert_eq!(got, ids(&case["ids"]), "{text:?}");
        assert_eq!(tok.decode(&got, false).unwrap(), text);
    }
    assert_eq!(tok.vocab_size(), 49152);
    assert_eq!(tok.token(1).as_deref(), Some("<|im_start|>"));
}

#[test]
fn chat_template_matches_transformers() {
    let llm = llm();
    let tok = llm.tokenizer();
    for case in fixture("chat.json").as_array().unwrap() {
        let messages: Vec<Message> = case["messages"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| Message::new(m["role"].as_str().unwrap(), m["content"].as_str().unwrap()))
            .collect();
        assert_eq!(
            tok.apply_chat_template(&messages, true).unwrap(),
            case["text"].as_str().unwrap()
        );
    }
}

#[test]
fn top5_logits_match_transformers() {
    let llm = llm();
    let mut worst = 0.0f64;
    for case in fixture("logits.json").as_array().unwrap() {
        let prompt = case["prompt"].as_str().unwrap();
        let logits = llm.logits(prompt).unwrap();
        assert_eq!(logits.size()[0] as usize, ids(&case["prompt_ids"]).len());
        worst = worst.max(check_top5(&logits.get(-1), case, prompt));
    }
    println!("prompts: largest top-5 logit difference {worst:.2e}");
}

/// Teacher-forced through the KV cache, one token at a time: the same top 5
/// (and so the same argmax) as transformers at each of the 30 steps.
#[test]
fn greedy_steps_match_transformers_with_kv_cache() {
    let llm = llm();
    let want = fixture("greedy.json");
    let model = llm.model();
    let prompt = ids(&want["prompt_ids"]);
    assert_eq!(
        llm.tokenizer()
            .encode(want["prompt"].as_str().unwrap())
            .unwrap(),
        prompt
    );
    let mut cache = KvCache::default();
    let mut logits = model
        .forward_last(&Tensor::from_slice(&prompt).unsqueeze(0), None, &mut cache)
        .unwrap();
    let mut worst = 0.0f64;
    let continuation = ids(&want["continuation_ids"]);
    for (step, (expected, &next)) in want["steps"]
        .as_array()
        .unwrap()
        .iter()
        .zip(&continuation)
        .enumerate()
    {
        worst = worst.max(check_top5(
            &logits.get(0),
            expected,
            &format!("step {step}"),
        ));
        logits = model
            .forward_last(&Tensor::from_slice(&[next]).unsqueeze(0), None, &mut cache)
            .unwrap();
    }
    assert_eq!(cache.len() as usize, prompt.len() + continuation.len());
    println!("greedy: largest top-5 logit difference over 30 steps {worst:.2e}");
}

#[test]
fn greedy_generation_reproduces_transformers() {
    let llm = llm();
    let want = fixture("greedy.json");
    let config = GenerateConfig {
        max_new_tokens: 30,
        ..Default::default()
    };
    let mut streamed = String::new();
    let out = llm
        .chat_stream(&[Message::user("What is gravity?")], &config, |piece| {
            streamed.push_str(piece)
        })
        .unwrap();
    assert_eq!(out.tokens, ids(&want["continuation_ids"]));
    assert_eq!(out.text, want["text"].as_str().unwrap());
    assert_eq!(streamed, out.text);
    assert_eq!(out.stop_reason, StopReason::MaxTokens);
    assert_eq!(out.prompt_tokens, ids(&want["prompt_ids"]).len());
}

/// Forbidding the greedy first token makes the runner-up (transformers'
/// second-ranked token) come first.
#[test]
fn constraints_change_the_choice() {
    let llm = llm();
    let want = fixture("greedy.json");
    let first = &want["steps"][0]["ids"];
    let (best, runner_up) = (first[0].as_i64().unwrap(), first[1].as_i64().unwrap());
    let config = GenerateConfig {
        max_new_tokens: 1,
        ..Default::default()
    };
    let mut calls = 0;
    let out = llm
        .generate_constrained(
            want["prompt"].as_str().unwrap(),
            &config,
            |generated, logits| {
                assert!(generated.is_empty());
                calls += 1;
                logits[best as usize] = f32::NEG_INFINITY;
            },
            |_| {},
        )
        .unwrap();
    assert_eq!((out.tokens, calls), (vec![runner_up], 1));
}

#[test]
fn json_schema_replies_parse_into_the_type() {
    #[derive(Debug, serde::Deserialize, JsonSchema)]
    #[allow(dead_code)] // read through Debug
    struct Capital {
        #[schemars(length(max = 20))]
        country: String,
        #[schemars(length(max = 20))]
        capital: String,
        population_millions: f64,
    }
    let llm = llm();
    let request = ChatRequest::new(vec![Message::user(
        "Give the capital of France as JSON with the keys country, capital, population_millions.",
    )])
    .max_tokens(60)
    .json_schema(schema_for::<Capital>());
    let mut streamed = String::new();
    let reply = llm
        .complete_stream(&request, &mut |piece| streamed.push_str(piece))
        .unwrap();
    assert_eq!(reply.finish_reason, FinishReason::Stop, "{}", reply.text);
    assert_eq!(streamed, reply.text);
    let parsed: Capital = serde_json::from_str(&reply.text).unwrap();
    assert_eq!(parsed.capital, "Paris", "{parsed:?}");
    let usage = reply.usage.unwrap();
    assert!(
        usage.prompt_tokens > 10 && usage.completion_tokens > 5,
        "{usage:?}"
    );
}

#[test]
fn batched_requests_answer_as_single_ones_do() {
    let llm = llm();
    let schema = serde_json::json!({"type": "object", "properties": {
        "answer": {"type": "integer", "minimum": 0, "maximum": 100}}, "required": ["answer"]});
    let requests = [
        ChatRequest::new(vec![Message::user("How many legs does a spider have?")])
            .max_tokens(12)
            .json_schema(schema),
        ChatRequest::new(vec![Message::user("Name a colour.")]).max_tokens(12),
    ];
    let batched = llm.complete_batch(&requests).unwrap();
    for (request, reply) in requests.iter().zip(&batched) {
        assert_eq!(reply.text, llm.complete(request).unwrap().text);
    }
    let parsed: Value = serde_json::from_str(&batched[0].text).unwrap();
    assert!(parsed["answer"].is_u64(), "{parsed}");
    // Different settings cannot share a batch: they are answered one by one.
    let mixed = [requests[1].clone(), requests[1].clone().max_tokens(3)];
    let replies = llm.complete_batch(&mixed).unwrap();
    assert_eq!(replies[1].usage.unwrap().completion_tokens, 3);
}

#[test]
fn a_cached_prefix_scores_like_the_whole_prompt() {
    let llm = llm();
    let prefix = "Classify each review as positive or negative.";
    let suffixes = [
        "\n\nReview: a gem of a film\nSentiment:",
        "\n\nReview: dull\nSentiment:",
    ];
    let cached = llm.next_token_logits_after(prefix, &suffixes).unwrap();
    let whole: Vec<String> = suffixes.iter().map(|s| format!("{prefix}{s}")).collect();
    let whole: Vec<&str> = whole.iter().map(String::as_str).collect();
    let direct = llm.next_token_logits(&whole).unwrap();
    assert_eq!(cached.size(), [2, 49152]);
    let gap = (&cached - &direct).abs().max().double_value(&[]);
    assert!(
        gap < LOGIT_TOL,
        "prompt caching changed the logits by {gap}"
    );
    // The padded batch scores each prompt as the prompt alone does.
    let alone = llm.logits(whole[1]).unwrap().get(-1);
    assert!((&alone - direct.get(1)).abs().max().double_value(&[]) < LOGIT_TOL);
    assert!(llm.next_token_logits_after(prefix, &[]).is_err());
}

#[test]
fn stop_strings_cut_the_text_and_are_never_streamed() {
    let llm = llm();
    let config = GenerateConfig {
        max_new_tokens: 30,
        stop: vec!["fundamental concept".into()],
        ..Default::default()
    };
    let mut streamed = String::new();
    let out = llm
        .chat_stream(&[Message::user("What is gravity?")], &config, |piece| {
            streamed.push_str(piece)
        })
        .unwrap();
    assert_eq!(out.text, "Gravity is a ");
    assert_eq!(streamed, out.text);
    assert_eq!(
        out.stop_reason,
        StopReason::StopString("fundamental concept".into())
    );
}

#[test]
fn sampling_is_reproducible_with_a_seed() {
    let llm = llm();
    let config = |seed| GenerateConfig {
        max_new_tokens: 12,
        temperature: 0.8,
        top_k: Some(50),
        top_p: Some(0.95),
        repetition_penalty: 1.1,
        seed,
        ..Default::default()
    };
    let prompt = "Once upon a time,";
    let a = llm.generate(prompt, &config(1)).unwrap();
    assert_eq!(a, llm.generate(prompt, &config(1)).unwrap());
    let others: Vec<_> = (2..5)
        .map(|s| llm.generate(prompt, &config(s)).unwrap().tokens)
        .collect();
    assert!(
        others.iter().any(|t| *t != a.tokens),
        "different seeds gave identical samples"
    );
}

/// Left padding and the attention mask: each row of a batch generates what
/// it generates alone, and its logits are the same.
#[test]
fn batches_with_left_padding_match_single_prompts() {
    let llm = llm();
    let prompts = [
        "The capital of France is",
        "def fibonacci(n):\n    \"\"\"Return the n-th",
    ];
    let config = GenerateConfig {
        max_new_tokens: 8,
        ..Default::default()
    };
    let batch = llm.generate_batch(&prompts, &config).unwrap();
    for (prompt, got) in prompts.iter().zip(&batch) {
        assert_eq!(got, &llm.generate(prompt, &config).unwrap(), "{prompt:?}");
    }

    let tok = llm.tokenizer();
    let (short, long) = (
        tok.encode(prompts[0]).unwrap(),
        tok.encode(prompts[1]).unwrap(),
    );
    let pad = long.len() - short.len();
    let padded: Vec<i64> = [vec![0; pad], short.clone(), long.clone()].concat();
    let mask: Vec<i64> = [vec![0; pad], vec![1; short.len()], vec![1; long.len()]].concat();
    let n = long.len() as i64;
    let logits = llm
        .model()
        .forward(
            &Tensor::from_slice(&padded).view([2, n]),
            Some(&Tensor::from_slice(&mask).view([2, n])),
            &mut KvCache::default(),
        )
        .unwrap();
    let alone = llm.logits(prompts[0]).unwrap();
    let diff = (logits.get(0).narrow(0, pad as i64, short.len() as i64) - alone)
        .abs()
        .max()
        .double_value(&[]);
    assert!(
        diff < 1e-3,
        "padded row differs from the prompt alone by {diff}"
    );
}

#[test]
fn text_stream_yields_whole_characters() {
    let llm = llm();
    let tok = llm.tokenizer();
    let text = "🦀 机器学习 café 👍🏽";
    let mut stream = TextStream::new(tok);
    let mut pieces = Vec::new();
    for id in tok.encode(text).unwrap() {
        pieces.extend(stream.step(id).unwrap());
    }
    assert!(pieces.len() > 3);
    assert!(pieces.iter().all(|p| !p.contains('\u{FFFD}')), "{pieces:?}");
    assert_eq!(pieces.concat(), text);
}

/// Real tensors of each type the file uses, against the `gguf` package.
#[test]
fn model_tensors_dequantise_like_the_gguf_package() {
    let gguf = Gguf::open(model_path()).unwrap();
    assert_eq!(gguf.version(), 3);
    assert_eq!(gguf.get::<usize>("llama.block_count").unwrap(), 30);
    for (name, want) in fixture("model_tensors.json").as_object().unwrap() {
        let info = gguf.tensor_info(name).unwrap();
        assert_eq!(info.ty.name(), want["type"].as_str(), "{name}");
        let t = gguf.tensor(name).unwrap();
        assert_eq!(t.size(), ids(&want["shape"]), "{name}");
        let flat = t.flatten(0, -1);
        let head = Vec::<f32>::try_from(flat.narrow(0, 0, 64)).unwrap();
        let mid =
            Vec::<f32>::try_from(flat.narrow(0, want["mid_start"].as_i64().unwrap(), 64)).unwrap();
        // JSON holds the f32 values exactly; compare as f32 (serde_json may
        // round the last bit of an f64).
        let exact = |got: Vec<f32>, want: &Value| {
            got == floats(want).iter().map(|&x| x as f32).collect::<Vec<_>>()
        };
        assert!(
            exact(head, &want["head"]) && exact(mid, &want["mid"]),
            "{name}"
        );
        let sum = flat
            .to_kind(Kind::Double)
            .sum(Kind::Double)
            .double_value(&[]);
        let want_sum = want["sum"].as_f64().unwrap();
        assert!(
            (sum - want_sum).abs() <= 1e-6 * want_sum.abs().max(1.0),
            "{name}: sum {sum} vs {want_sum}"
        );
    }
}

#[test]
fn bad_input_is_an_error_not_a_panic() {
    let llm = llm();
    let tokens = Tensor::from_slice(&[1i64, 49152]).unsqueeze(0);
    let err = llm
        .model()
        .forward(&tokens, None, &mut KvCache::default())
        .unwrap_err();
    assert!(
        err.to_string().contains("token ids must lie in 0..49152"),
        "{err}"
    );
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.gguf");
    std::fs::write(&path, b"<html>Not Found</html>").unwrap();
    let err = Llm::load(&path, Kind::Float).unwrap_err();
    assert!(matches!(err, Error::BadMagic { .. }), "{err}");
    // An interrupted download: the header is whole, the tensors are not.
    let bytes = std::fs::read(model_path()).unwrap();
    std::fs::write(&path, &bytes[..bytes.len() / 2]).unwrap();
    let err = Gguf::open(&path).unwrap_err();
    assert!(matches!(err, Error::Truncated { .. }), "{err}");
    assert!(err.to_string().contains("tensor `blk."), "{err}");
}

/// bf16 weights and activations: the same next token as transformers' f32
/// for every prompt, with logits close (bf16 keeps 8 bits of mantissa).
#[test]
fn bf16_agrees_with_f32_reference() {
    let bf16 = load(Kind::BFloat16);
    assert_eq!(bf16.model().kind(), Kind::BFloat16);
    let mut worst = 0.0f64;
    for case in fixture("logits.json").as_array().unwrap() {
        let logits = bf16
            .logits(case["prompt"].as_str().unwrap())
            .unwrap()
            .get(-1);
        assert_eq!(logits.kind(), Kind::Float);
        assert_eq!(
            logits.argmax(-1, false).int64_value(&[]),
            ids(&case["ids"])[0]
        );
        let want = Tensor::from_slice(&floats(&case["values"])).to_kind(Kind::Float);
        let got = logits.index_select(0, &Tensor::from_slice(&ids(&case["ids"])));
        worst = worst.max((got - want).abs().max().double_value(&[]));
    }
    println!("bf16: largest top-5 logit difference {worst:.3}");
    assert!(worst < BF16_LOGIT_TOL, "bf16 logits differ by {worst}");
}

/// Prompt caching: a conversation that grows by a message per call runs
/// only its new tokens, a prompt that diverges early reuses only the shared
/// start, and the replies are those of the uncached model.
#[test]
fn prompt_caching_reuses_the_shared_prefix_and_keeps_the_replies() {
    let mut llm = llm();
    let config = GenerateConfig {
        max_new_tokens: 12,
        ..GenerateConfig::default()
    };
    let system = Message::system("You are a terse assistant. Answer in one short sentence.");
    let first = vec![system.clone(), Message::user("Name a colour of the sky.")];
    let reply = llm.chat(&first, &config).unwrap().text;
    let mut second = first.clone();
    second.push(Message::assistant(reply.as_str()));
    second.push(Message::user("And of grass?"));
    let other = vec![
        Message::system("You are a pirate."),
        Message::user("Name a colour of the sky."),
    ];
    let conversations = [&first, &second, &other, &other];

    let uncached: Vec<_> = conversations
        .iter()
        .map(|messages| llm.chat(messages, &config).unwrap())
        .collect();
    llm.set_prompt_cache(true);
    let cached: Vec<_> = conversations
        .iter()
        .map(|messages| llm.chat(messages, &config).unwrap())
        .collect();
    // Anything that changes the weights empties the cache.
    llm.model_mut();
    let after_change = llm.chat(&other, &config).unwrap();
    llm.set_prompt_cache(false);

    for (plain, with_cache) in uncached.iter().zip(&cached) {
        assert_eq!(plain.text, with_cache.text);
        assert_eq!(plain.prompt_tokens, with_cache.prompt_tokens);
        assert_eq!(plain.cached_tokens, 0);
    }
    let used: Vec<usize> = cached.iter().map(|g| g.cached_tokens).collect();
    println!(
        "prompt tokens {:?}, cached {used:?}",
        cached.iter().map(|g| g.prompt_tokens).collect::<Vec<_>>()
    );
    assert_eq!(used[0], 0, "nothing cached yet");
    assert_eq!(
        used[1], cached[0].prompt_tokens,
        "the whole first prompt is reused"
    );
    assert!(
        used[2] > 0 && used[2] < 10,
        "only the template's start is shared: {}",
        used[2]
    );
    assert_eq!(
        used[3],
        cached[3].prompt_tokens - 1,
        "a repeated prompt runs its last token only"
    );
    assert_eq!(after_change.cached_tokens, 0);
}
