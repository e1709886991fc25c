//! Sentence embeddings with all-MiniLM-L6-v2: text in, one unit vector of 384
//! numbers per sentence out, such that sentences with similar meaning get
//! vectors with a high cosine similarity. The retrieval chapters index
//! documents with it.
//!
//! The pipeline is the one sentence-transformers runs for this model
//! (its `modules.json`: Transformer, Pooling, Normalize):
//!
//! 1. [`SentenceTokenizer`]: lower-casing WordPiece from `tokenizer.json`,
//!    `[CLS] … [SEP]`, truncated to [`MAX_SEQ_LENGTH`] tokens and padded to
//!    the longest sentence of each batch;
//! 2. [`BertModel`]: a 6-layer BERT encoder, one vector per token;
//! 3. [`mean_pooling`]: the average of the token vectors, padding excluded;
//! 4. L2 normalisation, so a dot product of two embeddings is their cosine.
//!
//! ```no_run
//! use aiguide_llm::embed::{SentenceEncoder, cosine_similarity};
//!
//! let encoder = SentenceEncoder::load()?;
//! let e = encoder.encode(&["A man is eating food.", "A man eats bread.", "Stocks fell."])?;
//! let sim = cosine_similarity(&e, &e); // [3, 3]
//! assert!(sim.double_value(&[0, 1]) > sim.double_value(&[0, 2]));
//! # Ok::<(), aiguide_llm::embed::EmbedError>(())
//! ```
//!
//! The files come from the course data hub (group `minilm`, fetched by
//! `./course data`); [`EncoderFiles`] points the encoder at other copies.

pub mod bert;

use std::path::{Path, PathBuf};

use serde::Deserialize;
use tch::{Device, Kind, Tensor};
use tokenizers::{PaddingParams, PaddingStrategy, Tokenizer, TruncationParams};

pub use bert::{BertConfig, BertModel};

/// Longest input, in tokens including `[CLS]` and `[SEP]`, that the encoder
/// reads; longer texts are cut. This is the model's `max_seq_length` in its
/// `sentence_bert_config.json`: it was trained on inputs up to this length.
/// (`tokenizer.json` itself says 128, which sentence-transformers overrides.)
pub const MAX_SEQ_LENGTH: usize = 256;

/// Sentences per forward pass in [`SentenceEncoder::encode`] unless changed
/// with [`SentenceEncoder::with_batch_size`]; sentence-transformers' default.
pub const DEFAULT_BATCH_SIZE: usize = 32;

/// `Result` with [`EmbedError`] as the default error type.
pub type Result<T, E = EmbedError> = std::result::Result<T, E>;

/// What can go wrong while loading or running the sentence encoder. Each
/// message names the file involved and says what to do.
#[derive(Debug, thiserror::Error)]
pub enum EmbedError {
    /// A course data file is missing or damaged (the message names the
    /// command that fetches it).
    #[error(transparent)]
    Hub(#[from] aiguide::Error),
    /// A file could not be read.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },
    /// A `config.json` or pooling config that cannot be parsed or describes a
    /// model this encoder does not implement.
    #[error(
        "{}: {reason}; expected the configuration of a BERT sentence encoder such as \
         all-MiniLM-L6-v2 (run `./course data` to fetch the course's copy)",
        path.display()
    )]
    Config { path: PathBuf, reason: String },
    /// A `tokenizer.json` that cannot be loaded, or a text it cannot encode.
    #[error("{}: tokenizer: {reason}", path.display())]
    Tokenizer { path: PathBuf, reason: String },
    /// A weights file that is not a readable safetensors file.
    #[error("{}: not a readable safetensors file ({reason}); delete it and run `./course data`", path.display())]
    Weights { path: PathBuf, reason: String },
    /// The weights file lacks a tensor the encoder needs.
    #[error(
        "{}: no tensor `{name}`; expected a BERT checkpoint in Hugging Face's layout without a \
         `bert.` prefix (as sentence-transformers saves it) that matches config.json",
        path.display()
    )]
    MissingTensor { path: PathBuf, name: String },
    /// A tensor whose shape differs from what `config.json` implies: the
    /// weights and the config belong to different models.
    #[error(
        "{}: tensor `{name}` has shape {actual:?} but config.json implies {expected:?}; the \
         weights and config.json belong to different models",
        path.display()
    )]
    ShapeMismatch {
        path: PathBuf,
        name: String,
        expected: Vec<i64>,
        actual: Vec<i64>,
    },
    /// An error from libtorch.
    #[error(transparent)]
    Torch(#[from] tch::TchError),
}

/// Where the four files of a sentence encoder are.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct EncoderFiles {
    /// BERT `config.json`.
    pub config: PathBuf,
    /// `model.safetensors`.
    pub weights: PathBuf,
    /// `tokenizer.json` (Hugging Face tokenizers format).
    pub tokenizer: PathBuf,
    /// `1_Pooling/config.json` (sentence-transformers); must ask for mean pooling.
    pub pooling: PathBuf,
}

impl EncoderFiles {
    /// The course's all-MiniLM-L6-v2, located and checksum-verified in the
    /// data hub.
    pub fn from_hub() -> Result<EncoderFiles> {
        Ok(EncoderFiles {
            config: aiguide::hub::locate("minilm-config")?,
            weights: aiguide::hub::locate("minilm-model")?,
            tokenizer: aiguide::hub::locate("minilm-tokenizer")?,
            pooling: aiguide::hub::locate("minilm-pooling")?,
        })
    }

    /// The files inside a sentence-transformers model folder (`config.json`,
    /// `model.safetensors`, `tokenizer.json`, `1_Pooling/config.json`).
    pub fn in_folder(dir: impl AsRef<Path>) -> EncoderFiles {
        let dir = dir.as_ref();
        EncoderFiles {
            config: dir.join("config.json"),
            weights: dir.join("model.safetensors"),
            tokenizer: dir.join("tokenizer.json"),
            pooling: dir.join("1_Pooling").join("config.json"),
        }
    }
}

/// Token ids of a batch, padded to its longest sentence: three `[n, len]`
/// int64 tensors, the inputs of [`BertModel::forward`].
#[derive(Debug)]
pub struct TokenBatch {
    /// WordPiece ids; padding is `[PAD]` (0).
    pub input_ids: Tensor,
    /// 1 for a real token, 0 for padding.
    pub attention_mask: Tensor,
    /// Segment ids: all 0 for single sentences.
    pub token_type_ids: Tensor,
}

/// The WordPiece tokenizer of a BERT model, set up as sentence-transformers
/// uses it: truncation to a maximum length, padding to the longest sentence of
/// each batch (not to a fixed length).
#[derive(Clone, Debug)]
pub struct SentenceTokenizer {
    tokenizer: Tokenizer,
    path: PathBuf,
    max_len: usize,
}

impl SentenceTokenizer {
    /// Loads `tokenizer.json` and truncates inputs to `max_len` tokens.
    pub fn from_file(path: impl AsRef<Path>, max_len: usize) -> Result<SentenceTokenizer> {
        let path = path.as_ref().to_path_buf();
        let fail = |reason: String| EmbedError::Tokenizer {
            path: path.clone(),
            reason,
        };
        std::fs::metadata(&path).map_err(|source| EmbedError::Io {
            path: path.clone(),
            source,
        })?;
        let mut tokenizer = Tokenizer::from_file(&path).map_err(|e| fail(e.to_string()))?;
        tokenizer
            .with_truncation(Some(TruncationParams {
                max_length: max_len,
                ..Default::default()
            }))
            .map_err(|e| fail(e.to_string()))?;
        // Keep the file's pad token and id; replace its fixed length (128 for
        // MiniLM) by the longest sentence of the batch, which is what
        // sentence-transformers does and wastes no work on short batches.
        let padding = PaddingParams {
            strategy: PaddingStrategy::BatchLongest,
            ..tokenizer.get_padding().cloned().unwrap_or_default()
        };
        tokenizer.with_padding(Some(padding));
        Ok(SentenceTokenizer {
            tokenizer,
            path,
            max_len,
        })
    }

    /// The token ids of one text, `[CLS]` and `[SEP]` included, truncated.
    pub fn ids(&self, text: &str) -> Result<Vec<u32>> {
        Ok(self.encode_one(text)?.get_ids().to_vec())
    }

    /// The WordPiece tokens of one text (`##` marks a word's continuation),
    /// to see how a text is split.
    pub fn tokens(&self, text: &str) -> Result<Vec<String>> {
        Ok(self.encode_one(text)?.get_tokens().to_vec())
    }

    /// Tokenizes `texts` into one padded batch.
    pub fn batch<S: AsRef<str>>(&self, texts: &[S]) -> Result<TokenBatch> {
        let inputs: Vec<&str> = texts.iter().map(AsRef::as_ref).collect();
        let encodings = self
            .tokenizer
            .encode_batch(inputs, true)
            .map_err(|e| self.error(e))?;
        let len = encodings.first().map_or(0, |e| e.len()) as i64;
        let column = |field: fn(&tokenizers::Encoding) -> &[u32]| {
            let values: Vec<i64> = encodings
                .iter()
                .flat_map(|e| field(e).iter().map(|&v| i64::from(v)))
                .collect();
            Tensor::from_slice(&values).view([encodings.len() as i64, len])
        };
        Ok(TokenBatch {
            input_ids: column(tokenizers::Encoding::get_ids),
            attention_mask: column(tokenizers::Encoding::get_attention_mask),
            token_type_ids: column(tokenizers::Encoding::get_type_ids),
        })
    }

    /// The truncation length.
    pub fn max_len(&self) -> usize {
        self.max_len
    }

    /// The underlying Hugging Face tokenizer (vocabulary, decoding).
    pub fn inner(&self) -> &Tokenizer {
        &self.tokenizer
    }

    fn encode_one(&self, text: &str) -> Result<tokenizers::Encoding> {
        self.tokenizer.encode(text, true).map_err(|e| self.error(e))
    }

    fn error(&self, e: tokenizers::Error) -> EmbedError {
        EmbedError::Tokenizer {
            path: self.path.clone(),
            reason: e.to_string(),
        }
    }
}

/// The parts of sentence-transformers' `1_Pooling/config.json` that matter.
#[derive(Deserialize)]
struct PoolingConfig {
    word_embedding_dimension: i64,
    pooling_mode_mean_tokens: bool,
    #[serde(default)]
    pooling_mode_cls_token: bool,
    #[serde(default)]
    pooling_mode_max_tokens: bool,
    #[serde(default)]
    pooling_mode_mean_sqrt_len_tokens: bool,
}

impl PoolingConfig {
    /// Accepts exactly mean pooling over `hidden` wide token vectors.
    fn check(path: &Path, hidden: i64) -> Result<()> {
        let fail = |reason: String| EmbedError::Config {
            path: path.to_path_buf(),
            reason,
        };
        let text = std::fs::read_to_string(path).map_err(|source| EmbedError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let c: PoolingConfig = serde_json::from_str(&text).map_err(|e| fail(e.to_string()))?;
        if !c.pooling_mode_mean_tokens
            || c.pooling_mode_cls_token
            || c.pooling_mode_max_tokens
            || c.pooling_mode_mean_sqrt_len_tokens
        {
            return Err(fail("only mean pooling is implemented".into()));
        }
        if c.word_embedding_dimension != hidden {
            return Err(fail(format!(
                "word_embedding_dimension {} differs from the model's hidden_size {hidden}",
                c.word_embedding_dimension
            )));
        }
        Ok(())
    }
}

/// Average of each row's token vectors over its real tokens: `token_vectors`
/// `[n, len, d]`, `attention_mask` `[n, len]` (1 = token, 0 = padding);
/// returns `[n, d]`. Padding is left out, so a sentence's embedding does not
/// depend on the batch it was encoded in.
pub fn mean_pooling(token_vectors: &Tensor, attention_mask: &Tensor) -> Tensor {
    let mask = attention_mask
        .to_device(token_vectors.device())
        .to_kind(token_vectors.kind())
        .unsqueeze(-1);
    let sum = (token_vectors * &mask).sum_dim_intlist(1, false, None);
    // sentence-transformers clamps the count the same way (an empty row has
    // at least [CLS] and [SEP], so this only guards a hand-made mask).
    let count = mask.sum_dim_intlist(1, false, None).clamp_min(1e-9);
    sum / count
}

/// Cosine similarity of every row of `a` with every row of `b`: `a` `[n, d]`,
/// `b` `[m, d]` (a 1-D tensor counts as one row); returns `[n, m]` on `a`'s
/// device. Rows need not be normalised.
pub fn cosine_similarity(a: &Tensor, b: &Tensor) -> Tensor {
    let rows = |t: &Tensor| {
        let t = if t.dim() == 1 {
            t.unsqueeze(0)
        } else {
            t.shallow_clone()
        };
        l2_normalize(&t.to_kind(Kind::Float))
    };
    rows(a).matmul(&rows(&b.to_device(a.device())).transpose(0, 1))
}

/// Rows scaled to unit length, as `torch.nn.functional.normalize` (the norm is
/// clamped at 1e-12 so a zero row stays zero).
fn l2_normalize(x: &Tensor) -> Tensor {
    let norm = x.norm_scalaropt_dim(2.0, [-1], true).clamp_min(1e-12);
    x / norm
}

/// all-MiniLM-L6-v2 (or another BERT sentence encoder with mean pooling):
/// texts in, L2-normalised embeddings out.
#[derive(Debug)]
pub struct SentenceEncoder {
    tokenizer: SentenceTokenizer,
    model: BertModel,
    batch_size: usize,
}

impl SentenceEncoder {
    /// The course's all-MiniLM-L6-v2 from the data hub, on the CPU.
    ///
    /// The CPU is the default because the model is small (22 M parameters):
    /// it encodes the retrieval chapters' documents in seconds on two cores.
    /// Use [`SentenceEncoder::load_on`] for a GPU.
    pub fn load() -> Result<SentenceEncoder> {
        SentenceEncoder::load_on(Device::Cpu)
    }

    /// The course's all-MiniLM-L6-v2 from the data hub, on `device`.
    pub fn load_on(device: Device) -> Result<SentenceEncoder> {
        SentenceEncoder::from_files(&EncoderFiles::from_hub()?, device)
    }

    /// An encoder from explicit files, on `device`; inputs are truncated to
    /// [`MAX_SEQ_LENGTH`] tokens (or the model's position limit if lower).
    pub fn from_files(files: &EncoderFiles, device: Device) -> Result<SentenceEncoder> {
        let config = BertConfig::from_file(&files.config)?;
        PoolingConfig::check(&files.pooling, config.hidden_size)?;
        let max_len = MAX_SEQ_LENGTH.min(config.max_position_embeddings.max(0) as usize);
        let tokenizer = SentenceTokenizer::from_file(&files.tokenizer, max_len)?;
        let model = BertModel::load(config, &files.weights, device)?;
        Ok(SentenceEncoder {
            tokenizer,
            model,
            batch_size: DEFAULT_BATCH_SIZE,
        })
    }

    /// Sets how many sentences go through the model at once (at least 1).
    /// Larger batches are faster per sentence up to a point and need more
    /// memory: attention takes `batch * heads * len²` numbers.
    pub fn with_batch_size(mut self, batch_size: usize) -> SentenceEncoder {
        self.batch_size = batch_size.max(1);
        self
    }

    /// Embeddings of `texts`, `[n, d]` (d = 384 for MiniLM), float32 on the
    /// CPU, each row of unit length, in the order of `texts`.
    ///
    /// Texts are sorted by length and encoded [`DEFAULT_BATCH_SIZE`] at a
    /// time (see [`SentenceEncoder::with_batch_size`]), as sentence-transformers
    /// does, so that each batch pads to a similar length; rows come back in
    /// input order.
    pub fn encode<S: AsRef<str>>(&self, texts: &[S]) -> Result<Tensor> {
        let dim = self.dim();
        if texts.is_empty() {
            return Ok(Tensor::zeros([0, dim], (Kind::Float, Device::Cpu)));
        }
        let mut order: Vec<usize> = (0..texts.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(texts[i].as_ref().chars().count()));
        let mut sorted = Vec::with_capacity(texts.len());
        for chunk in order.chunks(self.batch_size) {
            let chunk_texts: Vec<&str> = chunk.iter().map(|&i| texts[i].as_ref()).collect();
            let batch = self.tokenizer.batch(&chunk_texts)?;
            let hidden = self.model.forward(
                &batch.input_ids,
                &batch.attention_mask,
                Some(&batch.token_type_ids),
            );
            let pooled = tch::no_grad(|| mean_pooling(&hidden, &batch.attention_mask));
            sorted.push(l2_normalize(&pooled).to_device(Device::Cpu));
        }
        let sorted = Tensor::cat(&sorted, 0);
        // Row k of `sorted` is text order[k]: scatter rows back into place.
        let inverse = {
            let mut inv = vec![0i64; order.len()];
            for (k, &i) in order.iter().enumerate() {
                inv[i] = k as i64;
            }
            Tensor::from_slice(&inv)
        };
        Ok(sorted.index_select(0, &inverse))
    }

    /// Cosine similarity of two texts' embeddings, in [-1, 1].
    pub fn similarity(&self, a: &str, b: &str) -> Result<f64> {
        let e = self.encode(&[a, b])?;
        Ok(e.get(0).dot(&e.get(1)).double_value(&[]))
    }

    /// Embedding width (384 for MiniLM).
    pub fn dim(&self) -> i64 {
        self.model.config().hidden_size
    }

    /// The tokenizer, set up as the encoder uses it.
    pub fn tokenizer(&self) -> &SentenceTokenizer {
        &self.tokenizer
    }

    /// The BERT encoder underneath (token vectors before pooling).
    pub fn model(&self) -> &BertModel {
        &self.model
    }
}
