//! Real language models for the aiguide course, on tch.
//!
//! - [`gguf`]: llama.cpp's model files: metadata, tensors, dequantisation.
//! - [`llama`]: the Llama decoder (SmolLM2) with a KV cache and batches.
//! - [`tokenize`]: the tokenizer and chat template stored in a GGUF file.
//! - [`generate`]: greedy and sampled decoding, stop strings, streaming.
//! - [`Llm`]: all of it behind `load`, `chat`, `generate`, `generate_stream`.
//! - [`embed`]: all-MiniLM-L6-v2 sentence embeddings (WordPiece tokenizer, BERT
//!   encoder, mean pooling, cosine similarity).
//! - [`sentiment`]: labelled movie-review sentiment data (Pang & Lee, IMDB).
//! - [`word2vec`]: skip-gram with negative sampling (SGNS) word vectors on tch.
//! - [`tiktoken_rs`] (GPT-2's BPE ranks, offline) and [`tokenizers`]
//!   (BPE/WordPiece training and loading), re-exported for notebooks.

pub mod embed;

mod chat;
mod error;
pub mod generate;
pub mod gguf;
pub mod llama;
pub mod sentiment;
pub mod tokenize;
pub mod word2vec;

pub use chat::{COURSE_MODEL, Llm};
pub use error::{Error, Result};
pub use generate::{GenerateConfig, Generation, StopReason};
pub use tokenize::{Message, Tokenizer};

// Whole crates for notebooks, which then need no `:dep` line of their own.
pub use tiktoken_rs;
pub use tokenizers;
