//! Retrieval for retrieval-augmented generation (RAG): cutting documents
//! into chunks, keyword search (BM25), merging rankings (reciprocal rank
//! fusion) and the measures a retriever is judged by (recall@k, reciprocal
//! rank), and an attack on it with defences measured ([`injection`]).
//!
//! Vector search is [`crate::embed`] plus a [`store::VectorStore`]; the
//! other pieces sit around it, each small enough to read in one sitting.

pub mod bm25;
pub mod chroma;
pub mod chunk;
pub mod injection;
pub mod rank;
pub mod sqlite;
pub mod store;

pub use bm25::Bm25;
pub use chroma::{ChromaServer, ChromaStore};
pub use chunk::{Chunk, by_paragraph, sliding_window};
pub use rank::{recall_at_k, reciprocal_rank, reciprocal_rank_fusion};
pub use sqlite::SqliteVecStore;
pub use store::{Hit, MemoryStore, Record, VectorStore, records};
