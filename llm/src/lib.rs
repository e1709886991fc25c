//! Real language models for the aiguide course, on tch.
//!
//! - [`gguf`]: llama.cpp's model files: metadata, tensors, dequantisation.
//! - [`llama`]: the Llama decoder (SmolLM2) with a KV cache and batches.
//! - [`tokenize`]: the tokenizer and chat template stored in a GGUF file.
//! - [`generate`]: greedy and sampled decoding, stop strings, streaming.
//! - [`Llm`]: all of it behind `load`, `chat`, `generate`, `generate_stream`.
//! - [`chat`]: the [`ChatModel`] trait (messages in, reply out, streamed),
//!   for [`Llm`] and for OpenAI-compatible servers ([`openai`]).
//! - [`structured`]: JSON output that follows a JSON Schema, enforced token by
//!   token (grammar-constrained decoding).
//! - [`rag`]: chunking, BM25, reciprocal rank fusion and retrieval measures.
//! - [`tasks`]: small labelled task sets for measuring prompting techniques.
//! - [`embed`]: all-MiniLM-L6-v2 sentence embeddings (WordPiece tokenizer, BERT
//!   encoder, mean pooling, cosine similarity).
//! - [`sentiment`]: labelled movie-review sentiment data (Pang & Lee, IMDB).
//! - [`word2vec`]: skip-gram with negative sampling (SGNS) word vectors on tch.
//! - [`tiktoken_rs`] (GPT-2's BPE ranks, offline) and [`tokenizers`]
//!   (BPE/WordPiece training and loading), re-exported for notebooks.

pub mod embed;

pub mod chat;
mod error;
pub mod generate;
pub mod gguf;
pub mod llama;
mod model;
pub mod openai;
pub mod rag;
pub mod sentiment;
pub mod structured;
pub mod tasks;
pub mod tokenize;
pub mod word2vec;

pub use chat::{ChatModel, ChatRequest, FinishReason, Reply, Usage};
pub use error::{Error, Result};
pub use generate::{GenerateConfig, Generation, StopReason};
pub use model::{COURSE_MODEL, Llm};
pub use tokenize::{Message, Tokenizer};

// Whole crates for notebooks, which then need no `:dep` line of their own.
pub use schemars;
pub use tiktoken_rs;
pub use tokenizers;
