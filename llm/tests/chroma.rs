//! The Chroma backend against a real Chroma server (`chroma run`, from the
//! course's Python environment), through the checks every store passes.
//!
//! Each test starts its own server (about 10-30 s) and fails, rather than
//! skips, when Chroma is not installed: `pip install chromadb==1.5.9`.

#[path = "common/store_checks.rs"]
mod store_checks;

use std::net::TcpStream;
use std::path::Path;

use aiguide_llm::Error;
use aiguide_llm::rag::{ChromaServer, ChromaStore, VectorStore};
use store_checks::{behaves_like_exact_search, sample_records};

fn start() -> ChromaServer {
    ChromaServer::start().unwrap_or_else(|e| panic!("starting Chroma: {e}"))
}

#[test]
fn chroma_answers_like_exact_search() {
    let server = start();
    let mut store = ChromaStore::connect(server.url(), "exact-search", 16).unwrap();
    behaves_like_exact_search(&mut store, 16, 1e-4);
}

#[test]
fn a_collection_is_shared_checked_and_deletable() {
    let server = start();
    let url = server.url();
    let records = sample_records(20, 16);
    let mut first = ChromaStore::connect(url, "shared", 16).unwrap();
    first.upsert(&records).unwrap();

    // A second connection sees the same records, metadata included.
    let second = ChromaStore::connect(&format!("{url}/"), "shared", 16).unwrap();
    assert_eq!(second.collection(), "shared");
    assert_eq!(second.len().unwrap(), 20);
    let query = &records[3].embedding;
    assert_eq!(
        second.query(query, 4).unwrap(),
        first.query(query, 4).unwrap()
    );
    assert_eq!(second.query(query, 1).unwrap()[0].chunk, records[3].chunk);

    // Another model's embeddings are refused, on connecting and on upsert.
    let err = ChromaStore::connect(url, "shared", 8)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("length 16, not 8") && err.contains("same model"),
        "{err}"
    );
    let mut wrong = records[0].clone();
    wrong.embedding.push(0.0);
    let err = first.upsert(&[wrong]).unwrap_err().to_string();
    assert!(err.contains("same model"), "{err}");

    // A collection made elsewhere with Chroma's default distance (L2).
    let made = ureq::post(format!(
        "{url}/api/v2/tenants/default_tenant/databases/default_database/collections"
    ))
    .header("Content-Type", "application/json")
    .send(r#"{"name": "euclidean"}"#)
    .unwrap();
    assert_eq!(made.status(), 200);
    let err = ChromaStore::connect(url, "euclidean", 16)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("`l2` distance") && err.contains("delete it"),
        "{err}"
    );
    assert!(ChromaStore::delete_collection(url, "euclidean").unwrap());
    assert!(!ChromaStore::delete_collection(url, "euclidean").unwrap());
    let fresh = ChromaStore::connect(url, "euclidean", 16).unwrap();
    assert!(fresh.is_empty().unwrap());

    // A store whose collection was deleted says what happened.
    assert!(ChromaStore::delete_collection(url, "shared").unwrap());
    let err = first.len().unwrap_err().to_string();
    assert!(
        err.contains("404") && err.contains("connect again"),
        "{err}"
    );
}

#[test]
fn dropping_the_server_stops_it_and_a_data_directory_outlives_it() {
    let executable = ChromaServer::find_executable().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let records = sample_records(10, 16);
    let server = ChromaServer::start_with(&executable, Some(dir.path())).unwrap();
    let url = server.url().to_string();
    ChromaStore::connect(&url, "kept", 16)
        .unwrap()
        .upsert(&records)
        .unwrap();
    drop(server);

    let address = url.strip_prefix("http://").unwrap();
    assert!(
        TcpStream::connect(address).is_err(),
        "{address} still accepts connections after the server was dropped"
    );
    match ChromaStore::connect(&url, "kept", 16) {
        Err(Error::Http { reason, .. }) => {
            assert!(reason.contains("ChromaServer::start"), "{reason}")
        }
        other => panic!("expected Error::Http, got {other:?}"),
    }

    let server = ChromaServer::start_with(&executable, Some(dir.path())).unwrap();
    let store = ChromaStore::connect(server.url(), "kept", 16).unwrap();
    assert_eq!(store.len().unwrap(), 10);
    let hits = store.query(&records[7].embedding, 1).unwrap();
    assert_eq!(hits[0].chunk, records[7].chunk);
}

#[test]
fn a_server_that_exits_early_shows_its_stderr() {
    let executable = ChromaServer::find_executable().unwrap();
    // A data "directory" that is a file: Chroma cannot create it and exits.
    let file = tempfile::NamedTempFile::new().unwrap();
    let err = ChromaServer::start_with(&executable, Some(file.path()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("exited") && err.contains("File exists"),
        "{err}"
    );
}

#[test]
fn a_missing_executable_says_how_to_install_chroma() {
    let missing = Path::new("/nonexistent/aiguide/bin/chroma");
    let err = ChromaServer::start_with(missing, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("/nonexistent/aiguide/bin/chroma"), "{err}");
    assert!(err.contains("pip install chromadb==1.5.9"), "{err}");
    assert!(err.contains("./course setup"), "{err}");
}
