//! The embedded vector store: SQLite with the `sqlite-vec` extension, one
//! file (or memory), no server to start.
//!
//! Two tables: `chunks` holds each record's id, text and metadata as ordinary
//! columns, and `vectors` is a `vec0` virtual table with the embeddings,
//! joined on SQLite's `rowid`. A query is one SQL statement,
//! `WHERE embedding MATCH ? AND k = ?`, an exact scan in sqlite-vec 0.1
//! (fast enough for tens of thousands of 384-dimensional vectors).

use super::Chunk;
use super::store::{Hit, Record, VectorStore, check_dim};
use crate::{Error, Result};
use rusqlite::{Connection, params};
use std::path::{Path, PathBuf};

/// A [`VectorStore`] in a SQLite database.
pub struct SqliteVecStore {
    connection: Connection,
    dim: usize,
    /// Where the database lives, for error messages (`:memory:` for none).
    location: PathBuf,
}

impl SqliteVecStore {
    /// Opens (or creates) the store in the file at `path`. A file made for
    /// another embedding length is refused: its vectors could not be
    /// compared with this model's.
    pub fn open(path: impl AsRef<Path>, dim: usize) -> Result<SqliteVecStore> {
        let path = path.as_ref();
        let connection = Connection::open(path).map_err(|e| sql_error(path, e))?;
        SqliteVecStore::init(connection, dim, path.to_path_buf())
    }

    /// A store that lives in memory and is gone when dropped.
    pub fn in_memory(dim: usize) -> Result<SqliteVecStore> {
        let path = PathBuf::from(":memory:");
        let connection = Connection::open_in_memory().map_err(|e| sql_error(&path, e))?;
        SqliteVecStore::init(connection, dim, path)
    }

    /// The sqlite-vec version compiled in (e.g. `v0.1.9`).
    pub fn vec_version(&self) -> Result<String> {
        self.connection
            .query_row("SELECT vec_version()", [], |row| row.get(0))
            .map_err(|e| self.error(e))
    }

    fn init(connection: Connection, dim: usize, location: PathBuf) -> Result<SqliteVecStore> {
        if dim == 0 {
            return Err(Error::InvalidArgument(
                "SqliteVecStore needs an embedding length of at least 1".into(),
            ));
        }
        load_extension(&connection, &location)?;
        let store = SqliteVecStore {
            connection,
            dim,
            location,
        };
        store
            .connection
            .execute_batch(&format!(
                "CREATE TABLE IF NOT EXISTS settings (key TEXT PRIMARY KEY, value INTEGER NOT NULL);
                 CREATE TABLE IF NOT EXISTS chunks (
                     rowid INTEGER PRIMARY KEY,
                     id TEXT NOT NULL UNIQUE,
                     source TEXT NOT NULL,
                     position INTEGER NOT NULL,
                     start INTEGER NOT NULL,
                     end INTEGER NOT NULL,
                     text TEXT NOT NULL);
                 CREATE VIRTUAL TABLE IF NOT EXISTS vectors
                     USING vec0(embedding float[{dim}] distance_metric=cosine);
                 INSERT OR IGNORE INTO settings VALUES ('dim', {dim});"
            ))
            .map_err(|e| store.error(e))?;
        let stored: i64 = store
            .connection
            .query_row("SELECT value FROM settings WHERE key = 'dim'", [], |row| {
                row.get(0)
            })
            .map_err(|e| store.error(e))?;
        if stored != dim as i64 {
            return Err(Error::InvalidArgument(format!(
                "{} holds {stored}-dimensional embeddings, not {dim}: open it with the \
                 model that filled it, or use a new file",
                store.location.display()
            )));
        }
        Ok(store)
    }

    fn error(&self, error: rusqlite::Error) -> Error {
        sql_error(&self.location, error)
    }
}

impl VectorStore for SqliteVecStore {
    fn name(&self) -> &str {
        "sqlite-vec (embedded)"
    }

    fn upsert(&mut self, records: &[Record]) -> Result<()> {
        for record in records {
            check_dim(self.dim, &record.embedding, &record.id)?;
        }
        let location = self.location.clone();
        let fail = |e| sql_error(&location, e);
        // One transaction: all records or none, and one disk sync.
        let transaction = self.connection.transaction().map_err(fail)?;
        {
            // Insert the chunk, or update it in place when the id exists
            // (keeping its rowid, the key of its vector).
            let mut upsert_chunk = transaction
                .prepare(
                    "INSERT INTO chunks (id, source, position, start, end, text)
                     VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                     ON CONFLICT (id) DO UPDATE SET source = excluded.source,
                         position = excluded.position, start = excluded.start,
                         end = excluded.end, text = excluded.text
                     RETURNING rowid",
                )
                .map_err(fail)?;
            let mut delete_vector = transaction
                .prepare("DELETE FROM vectors WHERE rowid = ?1")
                .map_err(fail)?;
            let mut insert_vector = transaction
                .prepare("INSERT INTO vectors (rowid, embedding) VALUES (?1, ?2)")
                .map_err(fail)?;
            for record in records {
                let chunk = &record.chunk;
                let rowid: i64 = upsert_chunk
                    .query_row(
                        params![
                            record.id,
                            chunk.source,
                            chunk.index as i64,
                            chunk.start as i64,
                            chunk.end as i64,
                            chunk.text
                        ],
                        |row| row.get(0),
                    )
                    .map_err(fail)?;
                delete_vector.execute([rowid]).map_err(fail)?;
                insert_vector
                    .execute(params![rowid, as_blob(&record.embedding)])
                    .map_err(fail)?;
            }
        }
        transaction.commit().map_err(fail)
    }

    fn query(&self, embedding: &[f32], k: usize) -> Result<Vec<Hit>> {
        check_dim(self.dim, embedding, "the query")?;
        let k = k.min(self.len()?);
        if k == 0 {
            return Ok(Vec::new());
        }
        // The k-nearest search runs on the vec0 table alone; the join then
        // fetches the text and metadata of those k rows only.
        let mut statement = self
            .connection
            .prepare_cached(
                "WITH knn AS (
                     SELECT rowid, distance FROM vectors WHERE embedding MATCH ?1 AND k = ?2)
                 SELECT c.id, c.source, c.position, c.start, c.end, c.text, knn.distance
                 FROM knn JOIN chunks c ON c.rowid = knn.rowid
                 ORDER BY knn.distance, c.rowid",
            )
            .map_err(|e| self.error(e))?;
        let hits = statement
            .query_map(params![as_blob(embedding), k as i64], |row| {
                Ok(Hit {
                    id: row.get(0)?,
                    chunk: Chunk {
                        source: row.get(1)?,
                        index: row.get::<_, i64>(2)? as usize,
                        start: row.get::<_, i64>(3)? as usize,
                        end: row.get::<_, i64>(4)? as usize,
                        text: row.get(5)?,
                    },
                    distance: row.get::<_, f64>(6)? as f32,
                })
            })
            .map_err(|e| self.error(e))?;
        hits.collect::<rusqlite::Result<Vec<Hit>>>()
            .map_err(|e| self.error(e))
    }

    fn len(&self) -> Result<usize> {
        let n: i64 = self
            .connection
            .query_row("SELECT count(*) FROM chunks", [], |row| row.get(0))
            .map_err(|e| self.error(e))?;
        Ok(n as usize)
    }
}

/// Adds sqlite-vec's functions and its `vec0` table to one connection.
///
/// Per connection rather than through SQLite's process-wide auto-extension
/// list: a notebook kernel links each cell into its own library, so a
/// process-wide registration made by one cell's copy of this code would
/// point into that cell, and another cell's copy would register again.
fn load_extension(connection: &Connection, location: &Path) -> Result<()> {
    type Init = unsafe extern "C" fn(
        *mut rusqlite::ffi::sqlite3,
        *mut *mut std::os::raw::c_char,
        *const rusqlite::ffi::sqlite3_api_routines,
    ) -> std::os::raw::c_int;
    // SAFETY: `sqlite3_vec_init` is an SQLite extension entry point with
    // exactly the `Init` signature (sqlite-vec declares it without
    // parameters, so only the pointer's type changes). It is called with a
    // live connection handle; it ignores the error-message and API-routine
    // arguments when compiled into the program (`SQLITE_CORE`).
    let code = unsafe {
        let init: Init = std::mem::transmute(sqlite_vec::sqlite3_vec_init as *const ());
        init(connection.handle(), std::ptr::null_mut(), std::ptr::null())
    };
    if code != rusqlite::ffi::SQLITE_OK {
        return Err(Error::InvalidArgument(format!(
            "sqlite-vec store {}: loading the sqlite-vec extension failed (SQLite code \
             {code}); SQLite {} may be too old (sqlite-vec needs 3.38 or newer)",
            location.display(),
            rusqlite::version()
        )));
    }
    Ok(())
}

/// sqlite-vec reads a vector as little-endian f32 bytes.
fn as_blob(embedding: &[f32]) -> Vec<u8> {
    embedding.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn sql_error(location: &Path, error: rusqlite::Error) -> Error {
    Error::InvalidArgument(format!("sqlite-vec store {}: {error}", location.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reopening_a_file_keeps_records_and_checks_the_dimension() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("store.db");
        let record = Record {
            id: "a#0".into(),
            chunk: Chunk {
                source: "a".into(),
                index: 0,
                start: 0,
                end: 5,
                text: "hello".into(),
            },
            embedding: vec![0.0, 1.0, 0.0],
        };
        {
            let mut store = SqliteVecStore::open(&path, 3).unwrap();
            assert!(store.vec_version().unwrap().starts_with("v0.1"));
            store.upsert(std::slice::from_ref(&record)).unwrap();
        }
        let store = SqliteVecStore::open(&path, 3).unwrap();
        let hits = store.query(&[0.0, 2.0, 0.0], 5).unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(hits[0].chunk, record.chunk);
        assert!(hits[0].distance.abs() < 1e-6);
        let err = SqliteVecStore::open(&path, 4).err().unwrap().to_string();
        assert!(err.contains("holds 3-dimensional"), "{err}");
    }

    #[test]
    fn a_file_that_is_not_a_database_is_a_clear_error() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("notes.db");
        std::fs::write(
            &path,
            "these are not the bytes of an SQLite database, ".repeat(20),
        )
        .unwrap();
        let err = SqliteVecStore::open(&path, 3).err().unwrap().to_string();
        assert!(err.contains("notes.db"), "{err}");
        assert!(err.contains("not a database"), "{err}");
    }
}
