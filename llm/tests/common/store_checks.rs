//! The checks every [`VectorStore`] backend must pass, written once: a
//! backend is correct when it answers like the exact [`MemoryStore`].

use aiguide_llm::rag::{Chunk, MemoryStore, Record, VectorStore};

/// `n` records of dimension `dim` with deterministic, varied embeddings
/// (no random crate needed): a few hundred distinct directions.
pub fn sample_records(n: usize, dim: usize) -> Vec<Record> {
    (0..n)
        .map(|i| {
            let embedding = (0..dim)
                .map(|j| (((i * 7919 + j * 104_729) % 1000) as f32 / 500.0) - 1.0)
                .collect();
            let text = format!("chunk number {i}");
            let chunk = Chunk {
                source: format!("doc{}", i % 3),
                index: i,
                start: 10 * i,
                end: 10 * i + text.chars().count(),
                text,
            };
            Record::new(chunk, embedding)
        })
        .collect()
}

/// Inserts records into an empty `store` and checks it against the exact
/// scan: the same ids in the same order, distances within `tolerance`,
/// metadata round-tripped, upsert replacing by id, and a wrong-length
/// query refused with a message that says why.
pub fn behaves_like_exact_search(store: &mut dyn VectorStore, dim: usize, tolerance: f32) {
    assert!(
        store.is_empty().unwrap(),
        "{}: start from an empty store",
        store.name()
    );
    let records = sample_records(60, dim);
    let mut exact = MemoryStore::new(dim);
    exact.upsert(&records).unwrap();
    store.upsert(&records[..30]).unwrap();
    store.upsert(&records[30..]).unwrap();
    assert_eq!(store.len().unwrap(), 60, "{}", store.name());

    for query in sample_records(5, dim).iter().map(|r| r.embedding.clone()) {
        let want = exact.query(&query, 5).unwrap();
        let got = store.query(&query, 5).unwrap();
        let ids =
            |hits: &[aiguide_llm::rag::Hit]| hits.iter().map(|h| h.id.clone()).collect::<Vec<_>>();
        assert_eq!(ids(&got), ids(&want), "{}: nearest ids", store.name());
        for (g, w) in got.iter().zip(&want) {
            assert!(
                (g.distance - w.distance).abs() <= tolerance,
                "{}: distance {} vs exact {}",
                store.name(),
                g.distance,
                w.distance
            );
            assert_eq!(g.chunk, w.chunk, "{}: metadata round trip", store.name());
        }
    }

    // Asking for more than the store holds gives everything, nearest first.
    let all = store.query(&records[0].embedding, 100).unwrap();
    assert_eq!(all.len(), 60, "{}", store.name());
    assert_eq!(all[0].id, records[0].id, "{}", store.name());
    assert!(
        all.windows(2)
            .all(|w| w[0].distance <= w[1].distance + tolerance)
    );

    // Upsert replaces: record 0 moves to record 1's place.
    let mut moved = records[0].clone();
    moved.embedding = records[1].embedding.clone();
    moved.chunk.text = "replaced".into();
    store.upsert(&[moved]).unwrap();
    assert_eq!(
        store.len().unwrap(),
        60,
        "{}: upsert must not duplicate",
        store.name()
    );
    let hits = store.query(&records[1].embedding, 2).unwrap();
    assert!(
        hits.iter()
            .any(|h| h.id == records[0].id && h.chunk.text == "replaced")
    );

    let err = store.query(&vec![0.5; dim + 1], 3).unwrap_err().to_string();
    assert!(err.contains("same model"), "{}: {err}", store.name());
}
