//! Real language models for the aiguide course, on tch.
//!
//! - [`gguf`]: llama.cpp's model files: metadata, tensors, dequantisation.
//! - [`llama`]: the Llama decoder (SmolLM2) with a KV cache and batches.
//! - [`tokenize`]: the tokenizer and chat template stored in a GGUF file.
//! - [`generate`]: greedy and sampled decoding, stop strings, streaming.
//! - [`Llm`]: all of it behind `load`, `chat`, `generate`, `generate_stream`.
//! - [`lora`]: LoRA fine-tuning of the decoder: adapters, training with
//!   gradient accumulation, PEFT-format save/load, merging, parameter and
//!   memory counts.
//! - [`chat`]: the [`ChatModel`] trait (messages in, reply out, streamed),
//!   for [`Llm`] and for OpenAI-compatible servers ([`openai`]).
//! - [`structured`]: JSON output that follows a JSON Schema, enforced token by
//!   token (grammar-constrained decoding).
//! - [`rag`]: chunking, BM25, vector stores (exact, sqlite-vec, Chroma),
//!   reciprocal rank fusion and retrieval measures; prompt injection against
//!   a RAG pipeline, with defences and an output check ([`rag::injection`]).
//! - [`agent`]: a ReAct agent (tools, a strict step parser, constrained
//!   steps, short- and long-term memory) and a scripted test model.
//! - [`tasks`]: small labelled task sets for measuring prompting and
//!   retrieval techniques.
//! - [`embed`]: all-MiniLM-L6-v2 sentence embeddings (WordPiece tokenizer, BERT
//!   encoder, mean pooling, cosine similarity).
//! - [`sentiment`]: labelled movie-review sentiment data (Pang & Lee, IMDB).
//! - [`word2vec`]: skip-gram with negative sampling (SGNS) word vectors on tch.
//! - [`tiktoken_rs`] (GPT-2's BPE ranks, offline) and [`tokenizers`]
//!   (BPE/WordPiece training and loading), re-exported for notebooks.

pub mod embed;

pub mod agent;
pub mod chat;
mod error;
pub mod generate;
pub mod gguf;
pub mod llama;
pub mod lora;
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
