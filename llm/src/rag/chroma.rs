//! The Chroma vector database as a [`VectorStore`]: a server that other
//! programs can share, reached over its REST API (version 2, Chroma 1.x).
//!
//! Two pieces:
//! - [`ChromaServer`] starts `chroma run` (the `chroma` command of the Python
//!   package `chromadb`) on a free loopback port and stops it when dropped,
//!   so a notebook or a test never leaves a server behind;
//! - [`ChromaStore`] is one collection of such a server (or of any Chroma
//!   server, given its URL).
//!
//! ```no_run
//! use aiguide_llm::rag::{ChromaServer, ChromaStore, VectorStore};
//!
//! let server = ChromaServer::start()?; // ~10-30 s: Chroma loads its Python package
//! let mut store = ChromaStore::connect(server.url(), "course-docs", 384)?;
//! println!("{} holds {} records", store.name(), store.len()?);
//! # Ok::<(), aiguide_llm::Error>(())
//! ```
//!
//! The store always sends the embeddings itself: Chroma would otherwise
//! embed documents with its own default model, which it downloads from the
//! internet, and which is not the model the queries are embedded with. A
//! collection is created with cosine distance, so Chroma reports the same
//! `1 - cos` as every other store of the course; its index is HNSW, an
//! approximate search that is exact on small collections.

use std::fmt;
use std::fs::File;
use std::io::{self, ErrorKind};
use std::net::TcpListener;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{Value, json};
use tempfile::TempDir;

use super::Chunk;
use super::store::{Hit, Record, VectorStore, check_dim};
use crate::openai::{agent, truncate};
use crate::{Error, Result};

/// Where the collections of Chroma's default tenant and database live.
const COLLECTIONS: &str = "/api/v2/tenants/default_tenant/databases/default_database/collections";

/// What to check when the server cannot be reached.
const CONNECT_HINT: &str = "is the Chroma server running? start one with `ChromaServer::start()` \
                            and pass its `url()` (or run `chroma run --path DIR` in a terminal)";

/// The version of Chroma the course pins, and how to get it.
const INSTALL_HINT: &str = "pip install chromadb==1.5.9 (pinned in environment.yml; \
                            `./course setup` installs it)";

/// How long one request may take: a batch of thousands of 384-dimensional
/// embeddings takes seconds to index on a slow machine.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(300);

/// How long the server may take to answer its first heartbeat: importing
/// the `chromadb` package alone takes about ten seconds on a slow machine.
const START_TIMEOUT: Duration = Duration::from_secs(120);

/// How long a stopped server may take to exit after SIGTERM before it gets
/// SIGKILL (Chroma needs about two seconds).
const STOP_GRACE: Duration = Duration::from_secs(10);

/// One collection of a Chroma server, as a [`VectorStore`].
///
/// Each record's text is stored as Chroma's *document* and its chunk's
/// `source`, `index`, `start` and `end` as Chroma *metadata*, so that hits
/// come back as whole [`Chunk`]s. The collection lives in the server, not
/// in this value: a second `ChromaStore` connected to the same collection
/// (in this program or another) sees the same records.
pub struct ChromaStore {
    /// The server's address, without a trailing `/`.
    base_url: String,
    /// The collection's name, for messages.
    collection: String,
    /// The collection's id, which Chroma's record operations take.
    id: String,
    dim: usize,
    /// The most records per request, as the server advertises it (the
    /// `max_batch_size` of its pre-flight checks: 5461 for Chroma 1.5).
    max_batch_size: usize,
    agent: ureq::Agent,
}

impl ChromaStore {
    /// Connects to the collection `collection` of the Chroma server at
    /// `base_url` (e.g. [`ChromaServer::url`], `http://127.0.0.1:8000`),
    /// creating it if it does not exist, for embeddings of length `dim`.
    ///
    /// An existing collection is refused if it measures another distance
    /// than cosine (Chroma's default is squared L2, whose numbers mean
    /// something else) or holds embeddings of another length (another
    /// model's, which cannot be compared with this one's).
    pub fn connect(base_url: &str, collection: &str, dim: usize) -> Result<ChromaStore> {
        if dim == 0 {
            return Err(Error::InvalidArgument(
                "ChromaStore needs an embedding length of at least 1".into(),
            ));
        }
        let base_url = base_url.trim_end_matches('/').to_string();
        let agent = agent(REQUEST_TIMEOUT);
        // The server tells how many records one request may carry.
        let checks = call(&agent, &base_url, Method::Get, "/api/v2/pre-flight-checks")?;
        let max_batch_size = checks["max_batch_size"]
            .as_u64()
            .filter(|&n| n > 0)
            .ok_or_else(|| unexpected(&base_url, "/api/v2/pre-flight-checks", &checks))?
            as usize;
        let body = json!({
            "name": collection,
            "configuration": {"hnsw": {"space": "cosine"}},
            "get_or_create": true,
        });
        // An existing collection comes back as it is, whatever `configuration` says.
        let found = call(&agent, &base_url, Method::Post(body), COLLECTIONS)?;
        let id = found["id"]
            .as_str()
            .ok_or_else(|| unexpected(&base_url, COLLECTIONS, &found))?
            .to_string();
        let delete = format!(
            "delete it (`ChromaStore::delete_collection({base_url:?}, {collection:?})`) \
             or connect to a collection of another name"
        );
        let space = distance_space(&found);
        if space != "cosine" {
            return Err(Error::InvalidArgument(format!(
                "Chroma collection `{collection}` at {base_url} exists and ranks by `{space}` \
                 distance, but a ChromaStore ranks by cosine distance like every store of the \
                 course; {delete}"
            )));
        }
        if let Some(stored) = found["dimension"].as_u64().filter(|&d| d != dim as u64) {
            return Err(Error::InvalidArgument(format!(
                "Chroma collection `{collection}` at {base_url} holds embeddings of length \
                 {stored}, not {dim}; embed documents and queries with the same model, or \
                 {delete}"
            )));
        }
        Ok(ChromaStore {
            base_url,
            collection: collection.to_string(),
            id,
            dim,
            max_batch_size,
            agent,
        })
    }

    /// Deletes the collection `collection` of the server at `base_url`, with
    /// all its records: `true` if it existed. A notebook that rebuilds its
    /// index from scratch calls this before [`ChromaStore::connect`].
    pub fn delete_collection(base_url: &str, collection: &str) -> Result<bool> {
        let base_url = base_url.trim_end_matches('/');
        let path = format!("{COLLECTIONS}/{collection}");
        match call(&agent(REQUEST_TIMEOUT), base_url, Method::Delete, &path) {
            Ok(_) => Ok(true),
            Err(Error::Http { reason, .. }) if reason.starts_with(NOT_FOUND) => Ok(false),
            Err(error) => Err(error),
        }
    }

    /// The collection's name.
    pub fn collection(&self) -> &str {
        &self.collection
    }

    /// A request on this collection (`operation`: `upsert`, `query`,
    /// `count`).
    fn call(&self, method: Method, operation: &str) -> Result<Value> {
        let path = format!("{COLLECTIONS}/{}/{operation}", self.id);
        call(&self.agent, &self.base_url, method, &path).map_err(|error| match error {
            Error::Http { url, reason } if reason.starts_with(NOT_FOUND) => Error::Http {
                url,
                reason: format!(
                    "{reason}; the collection `{}` was deleted since this store connected to \
                     it; connect again to create it anew",
                    self.collection
                ),
            },
            error => error,
        })
    }

    /// The error for an answer of the wrong shape to `operation`.
    fn unexpected(&self, operation: &str, answer: &Value) -> Error {
        let path = format!("{COLLECTIONS}/{}/{operation}", self.id);
        unexpected(&self.base_url, &path, answer)
    }
}

/// The server, collection and sizes, without the HTTP agent's dozens of
/// settings (what a notebook shows for the value).
impl fmt::Debug for ChromaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ChromaStore")
            .field("base_url", &self.base_url)
            .field("collection", &self.collection)
            .field("id", &self.id)
            .field("dim", &self.dim)
            .field("max_batch_size", &self.max_batch_size)
            .finish_non_exhaustive()
    }
}

impl VectorStore for ChromaStore {
    fn name(&self) -> &str {
        "chroma (HNSW, server)"
    }

    fn upsert(&mut self, records: &[Record]) -> Result<()> {
        // All or nothing, as far as this side can tell: check every record
        // before the first batch leaves.
        for record in records {
            check_dim(self.dim, &record.embedding, &record.id)?;
        }
        for batch in records.chunks(self.max_batch_size) {
            let body = json!({
                "ids": batch.iter().map(|r| &r.id).collect::<Vec<_>>(),
                "embeddings": batch.iter().map(|r| &r.embedding).collect::<Vec<_>>(),
                "documents": batch.iter().map(|r| &r.chunk.text).collect::<Vec<_>>(),
                "metadatas": batch.iter().map(|r| json!({
                    "source": r.chunk.source,
                    "index": r.chunk.index,
                    "start": r.chunk.start,
                    "end": r.chunk.end,
                })).collect::<Vec<_>>(),
            });
            self.call(Method::Post(body), "upsert")?;
        }
        Ok(())
    }

    fn query(&self, embedding: &[f32], k: usize) -> Result<Vec<Hit>> {
        check_dim(self.dim, embedding, "the query")?;
        let body = json!({
            "query_embeddings": [embedding],
            "n_results": k,
            "include": ["documents", "metadatas", "distances"],
        });
        let answer = self.call(Method::Post(body), "query")?;
        // One list per query embedding; this sends one.
        let column = |key: &str| answer[key][0].as_array().map(Vec::as_slice);
        let (Some(ids), Some(documents), Some(metadatas), Some(distances)) = (
            column("ids"),
            column("documents"),
            column("metadatas"),
            column("distances"),
        ) else {
            return Err(self.unexpected("query", &answer));
        };
        let mut hits = Vec::with_capacity(ids.len());
        for (at, id) in ids.iter().enumerate() {
            let hit = parse_hit(id, documents.get(at), metadatas.get(at), distances.get(at));
            let Some(hit) = hit else {
                let path = format!("{COLLECTIONS}/{}/query", self.id);
                return Err(Error::Http {
                    url: format!("{}{path}", self.base_url),
                    reason: format!(
                        "hit {id} lacks the document or the metadata a ChromaStore writes \
                         (source, index, start, end): {}; was collection `{}` filled by \
                         another program?",
                        truncate(&answer.to_string(), 300),
                        self.collection
                    ),
                });
            };
            hits.push(hit);
        }
        Ok(hits)
    }

    fn len(&self) -> Result<usize> {
        let answer = self.call(Method::Get, "count")?;
        answer
            .as_u64()
            .map(|n| n as usize)
            .ok_or_else(|| self.unexpected("count", &answer))
    }
}

/// One hit of a query's answer, if it has everything a [`ChromaStore`]
/// writes.
fn parse_hit(
    id: &Value,
    document: Option<&Value>,
    metadata: Option<&Value>,
    distance: Option<&Value>,
) -> Option<Hit> {
    let metadata = metadata?;
    let number = |key: &str| metadata[key].as_u64().map(|n| n as usize);
    Some(Hit {
        id: id.as_str()?.to_string(),
        chunk: Chunk {
            source: metadata["source"].as_str()?.to_string(),
            index: number("index")?,
            start: number("start")?,
            end: number("end")?,
            text: document?.as_str()?.to_string(),
        },
        distance: distance?.as_f64()? as f32,
    })
}

/// How the collection ranks: its HNSW (or, in Chroma's cloud, SPANN)
/// configuration, else the older `hnsw:space` metadata, else Chroma's
/// default, squared L2.
fn distance_space(collection: &Value) -> &str {
    let config = &collection["configuration_json"];
    [
        &config["hnsw"]["space"],
        &config["spann"]["space"],
        &collection["metadata"]["hnsw:space"],
    ]
    .into_iter()
    .find_map(Value::as_str)
    .unwrap_or("l2")
}

/// An HTTP request and its JSON body, if it has one.
enum Method {
    Get,
    Post(Value),
    Delete,
}

/// How the reason of an [`Error::Http`] for a 404 answer starts.
const NOT_FOUND: &str = "Chroma answered 404";

/// One request to the server at `base_url`; its JSON answer, or an
/// [`Error::Http`] that says what went wrong and what to do.
fn call(agent: &ureq::Agent, base_url: &str, method: Method, path: &str) -> Result<Value> {
    let url = format!("{base_url}{path}");
    let http = |reason: String| Error::Http {
        url: url.clone(),
        reason,
    };
    let sent = match method {
        Method::Get => agent.get(&url).call(),
        Method::Delete => agent.delete(&url).call(),
        Method::Post(body) => agent
            .post(&url)
            .header("Content-Type", "application/json")
            .send(body.to_string()),
    };
    let mut response = sent.map_err(|e| http(failure(e)))?;
    let status = response.status();
    let text = response
        .body_mut()
        .read_to_string()
        .map_err(|e| http(failure(e)))?;
    if !status.is_success() {
        // Chroma explains itself in `{"error": ..., "message": ...}`.
        let message = serde_json::from_str::<Value>(&text)
            .ok()
            .and_then(|json| json["message"].as_str().map(str::to_string))
            .unwrap_or_else(|| truncate(text.trim(), 300));
        let hint = match status.as_u16() {
            404 if !path.starts_with(COLLECTIONS) => {
                "; is this a Chroma server of version 1.x (REST API v2)?"
            }
            _ => "",
        };
        return Err(http(format!("Chroma answered {status}: {message}{hint}")));
    }
    serde_json::from_str(&text).map_err(|_| {
        http(format!(
            "not JSON: {}; is this the address of a Chroma server?",
            truncate(&text, 300)
        ))
    })
}

/// What went wrong sending a request, and what to do about it.
fn failure(error: ureq::Error) -> String {
    match error {
        ureq::Error::Io(ref e) if e.kind() == ErrorKind::ConnectionRefused => {
            format!("could not connect ({error}); {CONNECT_HINT}")
        }
        ureq::Error::HostNotFound | ureq::Error::ConnectionFailed => {
            format!("could not connect ({error}); {CONNECT_HINT}")
        }
        ureq::Error::Timeout(_) => format!(
            "no answer within {REQUEST_TIMEOUT:?} ({error}); is the server overloaded? \
             (upsert fewer records at a time)"
        ),
        error => format!("the exchange failed: {error}"),
    }
}

/// The error for a 2xx answer that is not what Chroma's API promises.
fn unexpected(base_url: &str, path: &str, answer: &Value) -> Error {
    Error::Http {
        url: format!("{base_url}{path}"),
        reason: format!(
            "unexpected answer {}; is this a Chroma server of version 1.x (REST API v2)?",
            truncate(&answer.to_string(), 300)
        ),
    }
}

/// A Chroma server started by this program, listening on a free port of
/// 127.0.0.1, and stopped (with any process it started) when this value is
/// dropped: at the end of a test, or when a notebook's variable goes away or
/// its kernel shuts down cleanly.
///
/// Starting takes about 10-30 s, most of it Python importing `chromadb`.
/// The data live in a temporary directory removed on drop, unless
/// [`ChromaServer::start_with`] names a directory to keep them in.
#[derive(Debug)]
pub struct ChromaServer {
    /// The `chroma run` process, leader of its own process group.
    child: Child,
    url: String,
    /// Holds the server's stderr (`stderr.log`) and, unless a data
    /// directory was given, its data (`data/`). Declared after `child`, but
    /// `Drop::drop` stops the server before any field is dropped.
    _scratch: TempDir,
}

impl ChromaServer {
    /// Starts [`ChromaServer::find_executable`]'s `chroma` with its data in a
    /// temporary directory, and waits until it answers.
    pub fn start() -> Result<ChromaServer> {
        ChromaServer::start_with(&ChromaServer::find_executable()?, None)
    }

    /// Starts the `chroma` command `executable`, keeping the data in
    /// `data_dir` (created if missing; the next server started there finds
    /// them again) or, for `None`, in a temporary directory removed on drop;
    /// waits until it answers.
    pub fn start_with(executable: &Path, data_dir: Option<&Path>) -> Result<ChromaServer> {
        let scratch = tempfile::Builder::new()
            .prefix("aiguide-chroma-")
            .tempdir()
            .map_err(|e| Error::io(std::env::temp_dir(), e))?;
        let data = data_dir.map_or_else(|| scratch.path().join("data"), Path::to_path_buf);
        let stderr_path = scratch.path().join("stderr.log");
        let stderr = File::create(&stderr_path).map_err(|e| Error::io(&stderr_path, e))?;
        let port = free_port()?;
        let child = Command::new(executable)
            .args(["run", "--host", "127.0.0.1", "--port", &port.to_string()])
            .arg("--path")
            .arg(&data)
            // Chroma's usage statistics would try to reach the internet.
            .env("ANONYMIZED_TELEMETRY", "False")
            .stdin(Stdio::null())
            // A banner and an INFO line per request: nobody reads them.
            .stdout(Stdio::null())
            .stderr(stderr)
            // Its own process group, so that `drop` can stop whatever it
            // starts, and a Ctrl-C meant for the notebook does not reach it.
            .process_group(0)
            .spawn()
            .map_err(|e| spawn_error(executable, e))?;
        let mut server = ChromaServer {
            child,
            url: format!("http://127.0.0.1:{port}"),
            _scratch: scratch,
        };
        // On failure `server` is dropped here, which stops the process.
        server.wait_until_ready(&stderr_path)?;
        Ok(server)
    }

    /// The `chroma` command to run: `$AIGUIDE_CHROMA` if set; else the one
    /// next to `$AIGUIDE_PYTHON` (the course's Python environment, which
    /// the course's kernel and tests are given); else the first on `PATH`.
    pub fn find_executable() -> Result<PathBuf> {
        let var = |name| std::env::var_os(name).filter(|value| !value.is_empty());
        if let Some(path) = var("AIGUIDE_CHROMA") {
            return Ok(PathBuf::from(path));
        }
        let beside_python = var("AIGUIDE_PYTHON")
            .and_then(|python| Some(Path::new(&python).parent()?.join("chroma")));
        let on_path = var("PATH")
            .into_iter()
            .flat_map(|paths| std::env::split_paths(&paths).collect::<Vec<_>>())
            .map(|dir| dir.join("chroma"));
        beside_python
            .into_iter()
            .chain(on_path)
            .find(|path| path.is_file())
            .ok_or_else(|| {
                let source = io::Error::new(
                    ErrorKind::NotFound,
                    format!(
                        "Chroma's `chroma` command not found (AIGUIDE_CHROMA is not set, and \
                         there is none next to $AIGUIDE_PYTHON nor on PATH); {INSTALL_HINT}, \
                         or set AIGUIDE_CHROMA to its path"
                    ),
                );
                Error::io("chroma", source)
            })
    }

    /// The server's address, e.g. `http://127.0.0.1:41234`, for
    /// [`ChromaStore::connect`].
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Polls the heartbeat until it answers; fails early if the process
    /// exits, with the end of its stderr, which says why.
    fn wait_until_ready(&mut self, stderr_path: &Path) -> Result<()> {
        let heartbeat = format!("{}/api/v2/heartbeat", self.url);
        let agent = agent(Duration::from_secs(2));
        let started = Instant::now();
        loop {
            let exited = self.child.try_wait().map_err(|e| Error::io("chroma", e))?;
            if let Some(status) = exited {
                return Err(Error::Http {
                    url: heartbeat,
                    reason: format!(
                        "the Chroma server exited ({status}) before answering; its stderr ends \
                         with:\n{}",
                        tail(stderr_path)
                    ),
                });
            }
            let answered = agent.get(&heartbeat).call();
            if answered.is_ok_and(|response| response.status().is_success()) {
                return Ok(());
            }
            if started.elapsed() > START_TIMEOUT {
                return Err(Error::Http {
                    url: heartbeat,
                    reason: format!(
                        "the Chroma server did not answer within {START_TIMEOUT:?}; is the \
                         machine overloaded? its stderr ends with:\n{}",
                        tail(stderr_path)
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for ChromaServer {
    /// SIGTERM to the server's process group, SIGKILL if it is still there
    /// 10 s later, then waits for it.
    fn drop(&mut self) {
        // Once the leader is reaped its id may be reused: signal the group
        // only while the leader has not been waited for (a zombie keeps it).
        if !matches!(self.child.try_wait(), Ok(None)) {
            return;
        }
        let group = self.child.id() as libc::pid_t;
        signal_group(group, libc::SIGTERM);
        let deadline = Instant::now() + STOP_GRACE;
        while Instant::now() < deadline {
            if !matches!(self.child.try_wait(), Ok(None)) {
                return;
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        signal_group(group, libc::SIGKILL);
        let _ = self.child.wait();
    }
}

fn signal_group(group: libc::pid_t, signal: libc::c_int) {
    // SAFETY: kill(2) with a negative pid signals a process group; no
    // memory is involved. `group` is the id of our unreaped child, which
    // leads its own group (`process_group(0)`), so no other group has it.
    unsafe {
        libc::kill(-group, signal);
    }
}

/// A loopback port that is free now: the system picks one for a listener
/// bound to port 0, which is closed again for Chroma to take.
fn free_port() -> Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0").map_err(|e| Error::io("127.0.0.1:0", e))?;
    let address = listener
        .local_addr()
        .map_err(|e| Error::io("127.0.0.1:0", e))?;
    Ok(address.port())
}

/// The error for a `chroma` command that could not be started.
fn spawn_error(executable: &Path, error: io::Error) -> Error {
    if error.kind() != ErrorKind::NotFound {
        return Error::io(executable, error);
    }
    let source = io::Error::new(
        ErrorKind::NotFound,
        format!("no such executable; Chroma's server is the `chroma` command: {INSTALL_HINT}"),
    );
    Error::io(executable, source)
}

/// The last lines of the file at `path` (the server's stderr).
fn tail(path: &Path) -> String {
    let text = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(error) => return format!("({}: {error})", path.display()),
    };
    let lines: Vec<&str> = text.trim_end().lines().collect();
    let last = lines[lines.len().saturating_sub(20)..].join("\n");
    if last.is_empty() {
        "(nothing)".to_string()
    } else {
        last
    }
}
