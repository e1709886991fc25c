//! BM25 keyword search (Robertson & Zaragoza, 2009): the ranking function of
//! Lucene and Elasticsearch, and the "keyword" half of hybrid search.
//!
//! A document scores for each query term it contains, more for rare terms
//! (inverse document frequency) and for repeated ones, with diminishing
//! returns (`k1`) and less credit in long documents (`b`):
//!
//! `score(d, q) = Σ_t idf(t) · f(t, d) (k1 + 1) / (f(t, d) + k1 (1 - b + b |d| / avgdl))`,
//! with `idf(t) = ln(1 + (N - n(t) + 0.5) / (n(t) + 0.5))`.

use std::collections::HashMap;

/// A BM25 index over a fixed list of documents.
#[derive(Clone, Debug)]
pub struct Bm25 {
    /// Term counts per document.
    counts: Vec<HashMap<String, usize>>,
    /// Length of each document in terms.
    lengths: Vec<usize>,
    /// Number of documents containing each term.
    document_frequency: HashMap<String, usize>,
    k1: f64,
    b: f64,
}

/// Terms of `text`: lower-cased runs of letters and digits, and each CJK
/// character on its own (Chinese has no spaces between words, and single
/// characters are a simple, robust unit for keyword matching).
pub fn terms(text: &str) -> Vec<String> {
    let mut terms = Vec::new();
    let mut word = String::new();
    for c in text.chars() {
        let cjk = matches!(u32::from(c), 0x3400..=0x4dbf | 0x4e00..=0x9fff | 0xf900..=0xfaff);
        if c.is_alphanumeric() && !cjk {
            word.extend(c.to_lowercase());
            continue;
        }
        if !word.is_empty() {
            terms.push(std::mem::take(&mut word));
        }
        if cjk {
            terms.push(c.to_string());
        }
    }
    if !word.is_empty() {
        terms.push(word);
    }
    terms
}

impl Bm25 {
    /// An index of `documents` with the usual parameters `k1 = 1.2`,
    /// `b = 0.75`.
    pub fn new<S: AsRef<str>>(documents: &[S]) -> Bm25 {
        Bm25::with_parameters(documents, 1.2, 0.75)
    }

    /// An index with term-frequency saturation `k1` (0 ignores repeats) and
    /// length normalisation `b` (0 none, 1 full).
    pub fn with_parameters<S: AsRef<str>>(documents: &[S], k1: f64, b: f64) -> Bm25 {
        let mut counts = Vec::with_capacity(documents.len());
        let mut lengths = Vec::with_capacity(documents.len());
        let mut document_frequency: HashMap<String, usize> = HashMap::new();
        for document in documents {
            let mut count: HashMap<String, usize> = HashMap::new();
            let words = terms(document.as_ref());
            lengths.push(words.len());
            for word in words {
                *count.entry(word).or_default() += 1;
            }
            for term in count.keys() {
                *document_frequency.entry(term.clone()).or_default() += 1;
            }
            counts.push(count);
        }
        Bm25 {
            counts,
            lengths,
            document_frequency,
            k1,
            b,
        }
    }

    /// The score of every document for `query`, in document order.
    pub fn scores(&self, query: &str) -> Vec<f64> {
        let n = self.counts.len() as f64;
        let average = self.lengths.iter().sum::<usize>() as f64 / n.max(1.0);
        let query = terms(query);
        self.counts
            .iter()
            .zip(&self.lengths)
            .map(|(count, &length)| {
                let norm = self.k1 * (1.0 - self.b + self.b * length as f64 / average.max(1.0));
                query
                    .iter()
                    .filter_map(|t| Some((count.get(t)?, self.document_frequency[t])))
                    .map(|(&f, df)| {
                        let idf = (1.0 + (n - df as f64 + 0.5) / (df as f64 + 0.5)).ln();
                        idf * f as f64 * (self.k1 + 1.0) / (f as f64 + norm)
                    })
                    .sum()
            })
            .collect()
    }

    /// The `k` best documents for `query` as (index, score), best first,
    /// leaving out documents that share no term with it.
    pub fn search(&self, query: &str, k: usize) -> Vec<(usize, f64)> {
        let mut ranked: Vec<(usize, f64)> = self
            .scores(query)
            .into_iter()
            .enumerate()
            .filter(|&(_, s)| s > 0.0)
            .collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked.truncate(k);
        ranked
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn terms_split_words_and_cjk_characters() {
        assert_eq!(terms("BERT-base, GPT2!"), ["bert", "base", "gpt2"]);
        assert_eq!(terms("RAG将检索"), ["rag", "将", "检", "索"]);
    }

    #[test]
    fn a_score_matches_the_formula_by_hand() {
        let docs = ["the cat sat", "the dog", "cat cat cat"];
        let index = Bm25::new(&docs);
        let scores = index.scores("cat");
        // "cat" is in 2 of 3 documents; document 0 has 3 terms, the average is 8/3.
        let idf = (1.0f64 + (3.0 - 2.0 + 0.5) / (2.0 + 0.5)).ln();
        let norm = 1.2 * (1.0 - 0.75 + 0.75 * 3.0 / (8.0 / 3.0));
        assert!((scores[0] - idf * 2.2 / (1.0 + norm)).abs() < 1e-12);
        assert_eq!(scores[1], 0.0);
    }

    #[test]
    fn rare_terms_and_repeats_count_more_with_diminishing_returns() {
        let docs = [
            "transformer attention",
            "transformer transformer",
            "rnn lstm",
            "transformer rnn",
        ];
        let index = Bm25::new(&docs);
        // "attention" is rarer than "transformer", so document 0 wins.
        assert_eq!(index.search("transformer attention", 4)[0].0, 0);
        // Two occurrences score more than one, but less than twice as much.
        let s = index.scores("transformer");
        assert!(s[1] > s[0] && s[1] < 2.0 * s[0], "{s:?}");
        // Documents without a query term are left out.
        assert_eq!(index.search("lstm", 10), [(2, index.scores("lstm")[2])]);
    }
}
