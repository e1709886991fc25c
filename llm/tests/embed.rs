//! The MiniLM sentence encoder against sentence-transformers, on the course's
//! copy of all-MiniLM-L6-v2 (`./course data` fetches it; without it these
//! tests fail with a message naming that command).
//!
//! The fixture `fixtures/minilm.json` was written by
//! `llm/scripts/make_minilm_fixtures.py` from the same files: token ids must
//! be identical and embeddings equal up to float rounding.

use std::path::Path;

use aiguide_llm::embed::{
    EmbedError, EncoderFiles, MAX_SEQ_LENGTH, SentenceEncoder, SentenceTokenizer,
    cosine_similarity, mean_pooling,
};
use serde::Deserialize;
use tch::{Device, Kind, Tensor};

#[derive(Deserialize)]
struct Fixture {
    max_seq_length: usize,
    sentences: Vec<Sentence>,
}

#[derive(Deserialize)]
struct Sentence {
    text: String,
    ids: Vec<u32>,
    embedding: Vec<f32>,
}

fn fixture() -> Fixture {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/minilm.json");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_json::from_str(&text).unwrap()
}

fn texts(fixture: &Fixture) -> Vec<&str> {
    fixture.sentences.iter().map(|s| s.text.as_str()).collect()
}

#[test]
fn token_ids_match_sentence_transformers() {
    let fixture = fixture();
    assert_eq!(fixture.max_seq_length, MAX_SEQ_LENGTH);
    let files = EncoderFiles::from_hub().unwrap();
    let tokenizer = SentenceTokenizer::from_file(&files.tokenizer, MAX_SEQ_LENGTH).unwrap();
    for s in &fixture.sentences {
        assert_eq!(tokenizer.ids(&s.text).unwrap(), s.ids, "{:?}", s.text);
    }
    // The fixture covers both truncation limits: past 128 (tokenizer.json's
    // own) and cut at 256.
    let longest = fixture.sentences.iter().map(|s| s.ids.len()).max().unwrap();
    assert_eq!(longest, MAX_SEQ_LENGTH);
    assert!(
        fixture
            .sentences
            .iter()
            .any(|s| (129..256).contains(&s.ids.len()))
    );

    // A batch pads every row to the longest with [PAD] = 0, masked out.
    let batch = tokenizer.batch(&texts(&fixture)).unwrap();
    let n = fixture.sentences.len() as i64;
    assert_eq!(batch.input_ids.size(), [n, longest as i64]);
    for (row, s) in fixture.sentences.iter().enumerate() {
        let ids = Vec::<i64>::try_from(batch.input_ids.get(row as i64)).unwrap();
        let mask = Vec::<i64>::try_from(batch.attention_mask.get(row as i64)).unwrap();
        let len = s.ids.len();
        let expected: Vec<i64> = s.ids.iter().map(|&i| i64::from(i)).collect();
        assert_eq!(ids[..len], expected[..]);
        assert!(ids[len..].iter().all(|&i| i == 0));
        assert_eq!(mask.iter().sum::<i64>(), len as i64);
    }
    assert_eq!(batch.token_type_ids.sum(Kind::Int64).int64_value(&[]), 0);
    assert_eq!(
        tokenizer.tokens("Embeddings!").unwrap(),
        ["[CLS]", "em", "##bed", "##ding", "##s", "!", "[SEP]"]
    );
}

#[test]
fn embeddings_match_sentence_transformers() {
    let fixture = fixture();
    let texts = texts(&fixture);
    let expected: Vec<f32> = fixture
        .sentences
        .iter()
        .flat_map(|s| s.embedding.iter().copied())
        .collect();
    let expected = Tensor::from_slice(&expected).view([texts.len() as i64, 384]);
    let mut encoder = SentenceEncoder::load().unwrap();
    assert_eq!(encoder.dim(), 384);
    // One batch (all 13 padded together), and batches of 4 after sorting by
    // length: the rows must come back in input order either way.
    for batch_size in [32, 4] {
        encoder = encoder.with_batch_size(batch_size);
        let got = encoder.encode(&texts).unwrap();
        assert_eq!(got.size(), [texts.len() as i64, 384]);
        assert_eq!(got.kind(), Kind::Float);
        let norms = got.norm_scalaropt_dim(2.0, [1], false);
        assert!(norms.allclose(&norms.ones_like(), 1e-5, 1e-5, false));
        let cosines = (&got * &expected).sum_dim_intlist(1, false, None);
        let cosines = Vec::<f64>::try_from(cosines.to_kind(Kind::Double)).unwrap();
        let worst = cosines.iter().copied().fold(f64::INFINITY, f64::min);
        println!("batch size {batch_size}: min cosine to sentence-transformers {worst:.8}");
        for (s, c) in fixture.sentences.iter().zip(&cosines) {
            assert!(*c >= 0.9999, "{:?}: cosine {c}", s.text);
        }
        let max_abs = (&got - &expected).abs().max().double_value(&[]);
        println!("batch size {batch_size}: max |difference| {max_abs:.2e}");
    }
    assert_eq!(
        encoder.encode::<&str>(&[]).unwrap().size(),
        [0, encoder.dim()]
    );
}

#[test]
fn similar_sentences_score_higher_than_unrelated_ones() {
    let encoder = SentenceEncoder::load().unwrap();
    let queries = ["A man is eating food.", "How do I bake bread at home?"];
    let documents = [
        "A man is eating a piece of bread.",
        "The stock market fell sharply on Monday.",
        "Knead the dough, let it rise, then bake it at 220 degrees.",
        "A monkey is playing drums.",
    ];
    let sim = cosine_similarity(
        &encoder.encode(&queries).unwrap(),
        &encoder.encode(&documents).unwrap(),
    );
    assert_eq!(sim.size(), [2, 4]);
    let best = Vec::<i64>::try_from(sim.argmax(1, false)).unwrap();
    assert_eq!(best, [0, 2], "{sim}");
    let related = encoder
        .similarity("A man is eating food.", "A man is eating a piece of bread.")
        .unwrap();
    let unrelated = encoder
        .similarity(
            "A man is eating food.",
            "The stock market fell sharply on Monday.",
        )
        .unwrap();
    println!("related {related:.3}, unrelated {unrelated:.3}");
    assert!(related > 0.5 && unrelated < 0.2, "{related} vs {unrelated}");
}

#[test]
fn cosine_similarity_compares_every_row_pair() {
    let a = Tensor::from_slice(&[1.0f32, 0.0, 0.0, 2.0]).view([2, 2]);
    let b = Tensor::from_slice(&[3.0f32, 3.0]);
    let sim = cosine_similarity(&a, &b);
    assert_eq!(sim.size(), [2, 1]);
    let half = std::f64::consts::FRAC_1_SQRT_2;
    assert!((sim.double_value(&[0, 0]) - half).abs() < 1e-6);
    assert!((sim.double_value(&[1, 0]) - half).abs() < 1e-6);
    assert!((cosine_similarity(&a, &a).double_value(&[0, 1])).abs() < 1e-6);
}

#[test]
fn mean_pooling_leaves_out_padding() {
    // Two rows: [1, 3] and [5, pad=100].
    let vectors = Tensor::from_slice(&[1.0f32, 3.0, 5.0, 100.0]).view([2, 2, 1]);
    let mask = Tensor::from_slice(&[1i64, 1, 1, 0]).view([2, 2]);
    let pooled = Vec::<f32>::try_from(mean_pooling(&vectors, &mask).view([2])).unwrap();
    assert_eq!(pooled, [2.0, 5.0]);
}

/// A model folder with the real config, tokenizer and pooling files and a
/// made-up weights file.
fn folder_with_weights(weights: &[(&str, Tensor)]) -> (tempfile::TempDir, EncoderFiles) {
    let hub = EncoderFiles::from_hub().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let files = EncoderFiles::in_folder(dir.path());
    std::fs::create_dir_all(files.pooling.parent().unwrap()).unwrap();
    for (from, to) in [
        (&hub.config, &files.config),
        (&hub.tokenizer, &files.tokenizer),
        (&hub.pooling, &files.pooling),
    ] {
        std::fs::copy(from, to).unwrap();
    }
    Tensor::write_safetensors(weights, &files.weights).unwrap();
    (dir, files)
}

#[test]
fn a_missing_file_is_named() {
    let dir = tempfile::tempdir().unwrap();
    let files = EncoderFiles::in_folder(dir.path());
    let err = SentenceEncoder::from_files(&files, Device::Cpu).unwrap_err();
    assert!(matches!(err, EmbedError::Io { .. }), "{err:?}");
    assert!(err.to_string().contains("config.json"), "{err}");

    let (_dir, mut files) = folder_with_weights(&[]);
    files.weights = files.weights.with_file_name("absent.safetensors");
    let err = SentenceEncoder::from_files(&files, Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("absent.safetensors"), "{err}");
}

#[test]
fn a_missing_tensor_is_named() {
    let (_dir, files) = folder_with_weights(&[(
        "pooler.dense.bias",
        Tensor::zeros([384], (Kind::Float, Device::Cpu)),
    )]);
    let err = SentenceEncoder::from_files(&files, Device::Cpu).unwrap_err();
    assert!(matches!(err, EmbedError::MissingTensor { .. }), "{err:?}");
    assert!(
        err.to_string()
            .contains("`embeddings.word_embeddings.weight`"),
        "{err}"
    );
}

#[test]
fn a_wrong_shape_is_named() {
    let wrong = Tensor::zeros([10, 384], (Kind::Float, Device::Cpu));
    let (_dir, files) = folder_with_weights(&[("embeddings.word_embeddings.weight", wrong)]);
    let err = SentenceEncoder::from_files(&files, Device::Cpu).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, EmbedError::ShapeMismatch { .. }), "{err:?}");
    assert!(
        message.contains("[10, 384]") && message.contains("[30522, 384]"),
        "{message}"
    );
}

#[test]
fn an_unsupported_config_is_refused() {
    let (_dir, files) = folder_with_weights(&[]);
    let config = std::fs::read_to_string(&files.config).unwrap();
    std::fs::write(&files.config, config.replace("\"gelu\"", "\"relu\"")).unwrap();
    let err = SentenceEncoder::from_files(&files, Device::Cpu).unwrap_err();
    assert!(matches!(err, EmbedError::Config { .. }), "{err:?}");
    assert!(err.to_string().contains("relu"), "{err}");

    let (_dir, files) = folder_with_weights(&[]);
    let pooling = std::fs::read_to_string(&files.pooling).unwrap();
    let cls = pooling.replace(
        "\"pooling_mode_cls_token\": false",
        "\"pooling_mode_cls_token\": true",
    );
    std::fs::write(&files.pooling, cls).unwrap();
    let err = SentenceEncoder::from_files(&files, Device::Cpu).unwrap_err();
    assert!(err.to_string().contains("mean pooling"), "{err}");
}
