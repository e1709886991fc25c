//! Vector stores: keep chunks with their embeddings and return the ones
//! nearest to a query embedding.
//!
//! One trait, [`VectorStore`], and three implementations that answer the
//! same queries with the same chunks:
//! - [`MemoryStore`]: a scan over every vector, the exact answer, a few lines
//!   long (the reference the others are tested against);
//! - `SqliteVecStore` (module `sqlite`): an embedded database in one file,
//!   SQLite with the `sqlite-vec` extension, no server;
//! - `ChromaStore` (module `chroma`): the Chroma vector database as a server,
//!   over its REST API.
//!
//! Distances are cosine distances, `1 - cos(a, b)`, from 0 (same direction)
//! to 2 (opposite), so that every backend ranks and reports alike. The store
//! never computes embeddings: the caller does (with [`crate::embed`]), so a
//! query and its documents always come from the same model.

use super::Chunk;
use crate::{Error, Result};

/// A chunk and its embedding, as stored.
#[derive(Clone, Debug, PartialEq)]
pub struct Record {
    /// Unique within a store; adding a record with an existing id replaces it.
    pub id: String,
    /// The text and where it came from (what an answer cites).
    pub chunk: Chunk,
    /// The chunk's embedding; every record of a store has the same length.
    pub embedding: Vec<f32>,
}

impl Record {
    /// A record whose id is `"{source}#{index}"`: unique as long as each
    /// source numbers its chunks once, and readable in a citation.
    pub fn new(chunk: Chunk, embedding: Vec<f32>) -> Record {
        Record {
            id: format!("{}#{}", chunk.source, chunk.index),
            chunk,
            embedding,
        }
    }
}

/// One search result.
#[derive(Clone, Debug, PartialEq)]
pub struct Hit {
    /// The record's id.
    pub id: String,
    /// The stored chunk, text and metadata.
    pub chunk: Chunk,
    /// Cosine distance to the query, `1 - cos`: smaller is nearer.
    pub distance: f32,
}

/// A place to put embedded chunks and search them by similarity.
pub trait VectorStore {
    /// Which backend this is, for printed comparisons.
    fn name(&self) -> &str;

    /// Stores the records, replacing any with the same id. Fails, changing
    /// nothing, if an embedding's length differs from the store's.
    fn upsert(&mut self, records: &[Record]) -> Result<()>;

    /// The `k` records nearest to `embedding`, nearest first (fewer when the
    /// store holds fewer).
    fn query(&self, embedding: &[f32], k: usize) -> Result<Vec<Hit>>;

    /// How many records the store holds.
    fn len(&self) -> Result<usize>;

    /// Whether the store holds no record.
    fn is_empty(&self) -> Result<bool> {
        Ok(self.len()? == 0)
    }
}

/// Exact nearest-neighbour search by scanning every vector: O(n) per query,
/// fine for thousands of chunks and the yardstick for approximate indexes.
#[derive(Clone, Debug)]
pub struct MemoryStore {
    dim: usize,
    records: Vec<Record>,
    /// `records[i].embedding` divided by its norm, so a query costs one dot
    /// product per record.
    unit: Vec<Vec<f32>>,
}

impl MemoryStore {
    /// An empty store for embeddings of length `dim` (384 for MiniLM).
    pub fn new(dim: usize) -> MemoryStore {
        MemoryStore {
            dim,
            records: Vec::new(),
            unit: Vec::new(),
        }
    }
}

impl VectorStore for MemoryStore {
    fn name(&self) -> &str {
        "memory (exact scan)"
    }

    fn upsert(&mut self, records: &[Record]) -> Result<()> {
        for record in records {
            check_dim(self.dim, &record.embedding, &record.id)?;
        }
        for record in records {
            let unit = normalized(&record.embedding);
            match self.records.iter().position(|old| old.id == record.id) {
                Some(at) => {
                    self.records[at] = record.clone();
                    self.unit[at] = unit;
                }
                None => {
                    self.records.push(record.clone());
                    self.unit.push(unit);
                }
            }
        }
        Ok(())
    }

    fn query(&self, embedding: &[f32], k: usize) -> Result<Vec<Hit>> {
        check_dim(self.dim, embedding, "the query")?;
        let query = normalized(embedding);
        let mut scored: Vec<(f32, usize)> = self
            .unit
            .iter()
            .enumerate()
            .map(|(at, unit)| (1.0 - dot(&query, unit), at))
            .collect();
        scored.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
        Ok(scored
            .into_iter()
            .take(k)
            .map(|(distance, at)| Hit {
                id: self.records[at].id.clone(),
                chunk: self.records[at].chunk.clone(),
                distance,
            })
            .collect())
    }

    fn len(&self) -> Result<usize> {
        Ok(self.records.len())
    }
}

/// An error unless `embedding` has `dim` numbers, all finite.
pub(crate) fn check_dim(dim: usize, embedding: &[f32], what: &str) -> Result<()> {
    if embedding.len() != dim {
        return Err(Error::InvalidArgument(format!(
            "{what}: embedding of length {} in a store of {dim}-dimensional vectors; \
             embed documents and queries with the same model",
            embedding.len()
        )));
    }
    if embedding.iter().any(|x| !x.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "{what}: embedding contains NaN or infinity"
        )));
    }
    Ok(())
}

fn dot(a: &[f32], b: &[f32]) -> f32 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// `v / |v|`; the zero vector stays zero (distance 1 to everything).
fn normalized(v: &[f32]) -> Vec<f32> {
    let norm = dot(v, v).sqrt();
    if norm == 0.0 {
        return v.to_vec();
    }
    v.iter().map(|x| x / norm).collect()
}

/// Rows of an embedding matrix (`[n, dim]`, from
/// [`crate::embed::SentenceEncoder::encode`]) paired with their chunks, ids
/// `"{source}#{index}"` ([`Record::new`]).
pub fn records(chunks: &[Chunk], embeddings: &tch::Tensor) -> Result<Vec<Record>> {
    let size = embeddings.size();
    if size.len() != 2 || size[0] != chunks.len() as i64 {
        return Err(Error::InvalidArgument(format!(
            "records: {} chunks but embeddings of shape {size:?}; expected [{}, dim]",
            chunks.len(),
            chunks.len()
        )));
    }
    let rows: Vec<Vec<f32>> = Vec::<Vec<f32>>::try_from(embeddings.to_kind(tch::Kind::Float))?;
    Ok(chunks
        .iter()
        .zip(rows)
        .map(|(chunk, embedding)| Record::new(chunk.clone(), embedding))
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    pub(crate) fn record(id: &str, embedding: &[f32]) -> Record {
        Record {
            id: id.into(),
            chunk: Chunk {
                source: "test".into(),
                index: 0,
                start: 0,
                end: id.len(),
                text: id.into(),
            },
            embedding: embedding.to_vec(),
        }
    }

    #[test]
    fn nearest_first_with_cosine_distances() {
        let mut store = MemoryStore::new(2);
        store
            .upsert(&[
                record("east", &[1.0, 0.0]),
                record("north", &[0.0, 3.0]),
                record("west", &[-2.0, 0.0]),
            ])
            .unwrap();
        let hits = store.query(&[1.0, 1.0], 3).unwrap();
        let ids: Vec<&str> = hits.iter().map(|h| h.id.as_str()).collect();
        assert_eq!(ids, ["east", "north", "west"]);
        let expected = 1.0 - 1.0 / 2f32.sqrt();
        assert!((hits[0].distance - expected).abs() < 1e-6);
        assert!((hits[2].distance - (1.0 + 1.0 / 2f32.sqrt())).abs() < 1e-6);
        assert_eq!(store.query(&[1.0, 0.0], 10).unwrap().len(), 3);
    }

    #[test]
    fn upsert_replaces_by_id_and_refuses_wrong_lengths() {
        let mut store = MemoryStore::new(2);
        store.upsert(&[record("a", &[1.0, 0.0])]).unwrap();
        store.upsert(&[record("a", &[0.0, 1.0])]).unwrap();
        assert_eq!(store.len().unwrap(), 1);
        assert!(store.query(&[0.0, 1.0], 1).unwrap()[0].distance < 1e-6);
        let err = store
            .upsert(&[record("b", &[1.0, 0.0]), record("c", &[1.0])])
            .unwrap_err();
        assert!(err.to_string().contains("same model"), "{err}");
        assert_eq!(store.len().unwrap(), 1, "a failed upsert stores nothing");
        assert!(store.query(&[f32::NAN, 0.0], 1).is_err());
    }
}
