//! [`Search`]: retrieval as a tool. The model writes what it wants to know,
//! the tool embeds it and answers with the nearest chunks of a
//! [`VectorStore`] and where each came from (chapter 5.5's RAG, called when
//! the model decides it needs it rather than before every answer).
//!
//! The same tool over a store the agent writes to is its long-term memory
//! ([`Search::remember`], [`crate::agent::Agent::memory`]).

use crate::embed::SentenceEncoder;
use crate::rag::{Chunk, Record, VectorStore};
use crate::{Error, Result};

use super::Tool;

/// Turns a text into the embedding its store holds; queries and stored
/// texts must come from the same function.
pub type Embed = Box<dyn Fn(&str) -> Result<Vec<f32>>>;

/// Where [`Search::remember`] says a remembered text came from.
pub const MEMORY_SOURCE: &str = "memory";

/// Nearest-neighbour search over a vector store as a tool.
pub struct Search {
    name: String,
    description: String,
    store: Box<dyn VectorStore>,
    embed: Embed,
    k: usize,
}

impl Search {
    /// A tool named `search` that answers with the 3 chunks of `store`
    /// nearest to the input, embedded with `embed`.
    pub fn new(store: Box<dyn VectorStore>, embed: Embed) -> Search {
        Search {
            name: "search".into(),
            description: "Finds the passages of the documents that best match the input, \
                          with their sources."
                .into(),
            store,
            embed,
            k: 3,
        }
    }

    /// [`Search::new`] with the embeddings of `encoder` (all-MiniLM-L6-v2 in
    /// the course), the model the store's chunks were embedded with.
    pub fn from_encoder(store: Box<dyn VectorStore>, encoder: SentenceEncoder) -> Search {
        let embed = move |text: &str| -> Result<Vec<f32>> {
            let rows = encoder
                .encode(&[text])
                .map_err(|e| Error::InvalidArgument(format!("cannot embed {text:?}: {e}")))?;
            Ok(Vec::<f32>::try_from(rows.squeeze_dim(0))?)
        };
        Search::new(store, Box::new(embed))
    }

    /// With another name and description, e.g. `recall` for a memory beside
    /// a `search` over documents.
    pub fn named(mut self, name: impl Into<String>, description: impl Into<String>) -> Search {
        self.name = name.into();
        self.description = description.into();
        self
    }

    /// Answering with the `k` nearest chunks (a small model reads few well).
    pub fn top_k(mut self, k: usize) -> Search {
        self.k = k.max(1);
        self
    }

    /// The store searched.
    pub fn store(&self) -> &dyn VectorStore {
        self.store.as_ref()
    }

    /// Embeds `text` and stores it, with [`MEMORY_SOURCE`] as its source and
    /// id `memory#n`, where n counts the records already stored.
    pub fn remember(&mut self, text: &str) -> Result<()> {
        let index = self.store.len()?;
        let chunk = Chunk {
            source: MEMORY_SOURCE.into(),
            index,
            start: 0,
            end: text.chars().count(),
            text: text.into(),
        };
        let record = Record::new(chunk, (self.embed)(text)?);
        self.store.upsert(&[record])
    }
}

impl Tool for Search {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn input(&self) -> &str {
        "a few words saying what to look for, e.g. who proposed the Transformer"
    }

    fn call(&self, input: &str) -> std::result::Result<String, String> {
        let query = input.trim();
        if query.is_empty() {
            return Err("the input is empty: write what to look for".into());
        }
        let hits = (self.embed)(query)
            .and_then(|embedding| self.store.query(&embedding, self.k))
            .map_err(|e| e.to_string())?;
        if hits.is_empty() {
            return Ok("Nothing found: the store is empty.".into());
        }
        Ok(hits
            .iter()
            .map(|hit| {
                let text = hit
                    .chunk
                    .text
                    .split_whitespace()
                    .collect::<Vec<_>>()
                    .join(" ");
                format!("[{}#{}] {text}", hit.chunk.source, hit.chunk.index)
            })
            .collect::<Vec<_>>()
            .join("\n"))
    }
}

impl std::fmt::Debug for Search {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Search")
            .field("name", &self.name)
            .field("store", &self.store.name())
            .field("k", &self.k)
            .finish_non_exhaustive()
    }
}

/// A toy embedding for tests: word counts hashed into 32 buckets.
#[cfg(test)]
pub(crate) fn word_hash_embedding(text: &str) -> Result<Vec<f32>> {
    let mut v = vec![0.0; 32];
    for word in text
        .split(|c: char| !c.is_alphanumeric())
        .filter(|w| !w.is_empty())
    {
        let hash = word
            .to_lowercase()
            .bytes()
            .fold(7u32, |h, b| h.wrapping_mul(31).wrapping_add(u32::from(b)));
        v[hash as usize % 32] += 1.0;
    }
    Ok(v)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::rag::MemoryStore;

    fn memory() -> Search {
        Search::new(
            Box::new(MemoryStore::new(32)),
            Box::new(word_hash_embedding),
        )
    }

    #[test]
    fn remembered_texts_are_found_with_their_source() {
        let mut search = memory().top_k(1);
        assert_eq!(
            search.call("anything").unwrap(),
            "Nothing found: the store is empty."
        );
        search.remember("The user's cat is called Miso.").unwrap();
        search.remember("The meeting moved to Thursday.").unwrap();
        assert_eq!(search.store().len().unwrap(), 2);
        assert_eq!(
            search.call("what is the cat called").unwrap(),
            "[memory#0] The user's cat is called Miso."
        );
        assert_eq!(
            search.call("  which day is the meeting ").unwrap(),
            "[memory#1] The meeting moved to Thursday."
        );
    }

    #[test]
    fn bad_input_is_an_observation_not_a_panic() {
        assert!(memory().call("  ").unwrap_err().contains("empty"));
        let failing = Search::new(
            Box::new(MemoryStore::new(32)),
            Box::new(|_: &str| Ok(vec![1.0; 3])),
        );
        assert!(failing.call("x").unwrap_err().contains("same model"));
        let renamed = memory().named("recall", "Recalls what you were told.");
        assert_eq!(
            (renamed.name(), renamed.description()),
            ("recall", "Recalls what you were told.")
        );
    }
}
