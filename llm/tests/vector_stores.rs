//! The embedded backends against the exact scan, through the shared checks
//! (the Chroma server backend runs the same checks in `tests/chroma.rs`).

#[path = "common/store_checks.rs"]
mod store_checks;

use aiguide_llm::rag::{MemoryStore, SqliteVecStore};
use store_checks::behaves_like_exact_search;

#[test]
fn memory_store_passes_its_own_checks() {
    behaves_like_exact_search(&mut MemoryStore::new(16), 16, 1e-6);
}

#[test]
fn sqlite_vec_in_memory_answers_like_exact_search() {
    behaves_like_exact_search(&mut SqliteVecStore::in_memory(16).unwrap(), 16, 1e-5);
}

#[test]
fn sqlite_vec_file_answers_like_exact_search() {
    let dir = tempfile::tempdir().unwrap();
    let mut store = SqliteVecStore::open(dir.path().join("chunks.db"), 384).unwrap();
    behaves_like_exact_search(&mut store, 384, 1e-5);
}
