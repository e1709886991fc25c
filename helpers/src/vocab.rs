//! From text to token ids and back: a character or word vocabulary, and
//! random windows of ids for training a next-token model.

use std::collections::HashMap;

use tch::{Device, Kind, Tensor};

use crate::{Error, Result};

/// A vocabulary: a token per id and an id per token.
///
/// - [`Vocab::chars`]: every distinct character of a text, in sorted order
///   (what a character-level language model uses).
/// - [`Vocab::words`]: the most frequent words, with id 0 = `<pad>` and
///   id 1 = `<unk>` for every word left out.
///
/// ```
/// use aiguide::vocab::{Vocab, words};
/// let chars = Vocab::chars("hello");
/// assert_eq!(chars.tokens(), ["e", "h", "l", "o"]);
/// assert_eq!(chars.decode(&chars.encode_chars("hole")?), "hole");
///
/// let text = "the cat and the hat";
/// let vocab = Vocab::words(words(text).iter().map(String::as_str), 10, 1);
/// assert_eq!(vocab.encode_words(&["the", "dog"]), [2, 1]); // "dog" is unknown
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Vocab {
    tokens: Vec<String>,
    ids: HashMap<String, i64>,
    unknown: Option<i64>,
}

/// The padding token of word vocabularies (id 0).
pub const PAD: &str = "<pad>";
/// The stand-in for words outside a word vocabulary (id 1).
pub const UNK: &str = "<unk>";

impl Vocab {
    fn from_tokens(tokens: Vec<String>, unknown: Option<i64>) -> Vocab {
        let ids = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.clone(), i as i64))
            .collect();
        Vocab {
            tokens,
            ids,
            unknown,
        }
    }

    /// One token per distinct character of `text`, sorted.
    pub fn chars(text: &str) -> Vocab {
        let mut chars: Vec<char> = text.chars().collect();
        chars.sort_unstable();
        chars.dedup();
        Vocab::from_tokens(chars.into_iter().map(String::from).collect(), None)
    }

    /// `<pad>`, `<unk>`, then the words seen at least `min_count` times, most
    /// frequent first (ties alphabetically), up to `max_size` ids in all.
    pub fn words<'a>(
        words: impl IntoIterator<Item = &'a str>,
        max_size: usize,
        min_count: usize,
    ) -> Vocab {
        let mut counts: HashMap<&str, usize> = HashMap::new();
        for w in words {
            *counts.entry(w).or_default() += 1;
        }
        let mut ranked: Vec<(&str, usize)> = counts
            .into_iter()
            .filter(|&(_, c)| c >= min_count.max(1))
            .collect();
        ranked.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
        let tokens = [PAD, UNK]
            .into_iter()
            .chain(ranked.into_iter().map(|(w, _)| w))
            .take(max_size.max(2))
            .map(String::from)
            .collect();
        Vocab::from_tokens(tokens, Some(1))
    }

    /// Number of ids.
    pub fn len(&self) -> usize {
        self.tokens.len()
    }

    /// Whether there are no tokens.
    pub fn is_empty(&self) -> bool {
        self.tokens.is_empty()
    }

    /// The tokens, by id.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The id of `token`, if it is in the vocabulary.
    pub fn id(&self, token: &str) -> Option<i64> {
        self.ids.get(token).copied()
    }

    /// The ids of each character of `text`; an error names the first
    /// character the vocabulary lacks.
    pub fn encode_chars(&self, text: &str) -> Result<Vec<i64>> {
        let mut buf = [0u8; 4];
        text.chars()
            .map(|c| {
                let token: &str = c.encode_utf8(&mut buf);
                self.id(token).or(self.unknown).ok_or_else(|| {
                    Error::InvalidArgument(format!(
                        "vocab: character {c:?} is not in the vocabulary; build it from a text \
                         that contains it"
                    ))
                })
            })
            .collect()
    }

    /// The ids of `words`, with `<unk>` for words outside the vocabulary.
    pub fn encode_words<S: AsRef<str>>(&self, words: &[S]) -> Vec<i64> {
        words
            .iter()
            .map(|w| self.id(w.as_ref()).or(self.unknown).unwrap_or(0))
            .collect()
    }

    /// The tokens of `ids` joined without separator (for characters; join
    /// [`tokens`](Self::tokens) yourself for words). Unknown ids become `?`.
    pub fn decode(&self, ids: &[i64]) -> String {
        ids.iter()
            .map(|&i| {
                usize::try_from(i)
                    .ok()
                    .and_then(|i| self.tokens.get(i))
                    .map_or("?", String::as_str)
            })
            .collect()
    }
}

/// The words of `text`, lower-cased: runs of letters and apostrophes, with
/// apostrophes at either end dropped (`"o'er"` stays one word, `"'Tis"`
/// becomes `"tis"`).
pub fn words(text: &str) -> Vec<String> {
    text.split(|c: char| !(c.is_alphabetic() || c == '\''))
        .map(|w| w.trim_matches('\'').to_lowercase())
        .filter(|w| !w.is_empty())
        .collect()
}

/// A batch for next-token training: `batch_size` windows of `seq_len` ids
/// at random offsets of `ids` (1-D Int64), as inputs `x` `[batch, seq_len]`
/// and targets `y`, the same windows shifted one token right. Offsets come
/// from libtorch's generator ([`seed_all`](crate::seed_all) makes them
/// reproducible); the tensors are on `ids`' device.
pub fn next_token_batch(ids: &Tensor, batch_size: i64, seq_len: i64) -> Result<(Tensor, Tensor)> {
    let n = ids.numel() as i64;
    if ids.dim() != 1 || ids.kind() != Kind::Int64 {
        return Err(Error::InvalidArgument(format!(
            "next_token_batch: expected 1-D Int64 ids, got {:?} {:?}",
            ids.size(),
            ids.kind()
        )));
    }
    if batch_size < 1 || seq_len < 1 || n < seq_len + 1 {
        return Err(Error::InvalidArgument(format!(
            "next_token_batch: need batch_size >= 1 and 1 <= seq_len < {n} (the number of ids), \
             got batch_size {batch_size}, seq_len {seq_len}"
        )));
    }
    let device = ids.device();
    let starts = Tensor::f_randint(n - seq_len, [batch_size, 1], (Kind::Int64, Device::Cpu))?;
    let offsets = Tensor::f_arange(seq_len, (Kind::Int64, Device::Cpu))?.f_unsqueeze(0)?;
    let index = (starts + offsets).f_to_device(device)?;
    let x = ids.f_take(&index)?;
    let y = ids.f_take(&(index + 1))?;
    Ok((x, y))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn word_vocab_ranks_and_caps() {
        let text = "To be, or not to be: that is the question. 'Tis nobler; o'er";
        let ws = words(text);
        assert_eq!(ws[..4], ["to", "be", "or", "not"]);
        assert!(ws.contains(&"tis".to_string()) && ws.contains(&"o'er".to_string()));
        let vocab = Vocab::words(ws.iter().map(String::as_str), 4, 2);
        assert_eq!(vocab.tokens(), [PAD, UNK, "be", "to"]);
        assert_eq!(vocab.encode_words(&["to", "question"]), [3, 1]);
        assert_eq!(
            Vocab::words(ws.iter().map(String::as_str), 100, 1).len(),
            2 + 11
        );
    }

    #[test]
    fn chars_round_trip_and_unknowns() {
        let vocab = Vocab::chars("abcab\n");
        assert_eq!(vocab.len(), 4);
        let ids = vocab.encode_chars("cab\n").unwrap();
        assert_eq!(ids, [3, 1, 2, 0]);
        assert_eq!(vocab.decode(&ids), "cab\n");
        assert_eq!(vocab.decode(&[7]), "?");
        let e = vocab.encode_chars("abz").unwrap_err();
        assert!(e.to_string().contains("'z'"), "{e}");
    }

    #[test]
    fn batches_are_shifted_windows() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(0);
        let ids = Tensor::arange(20, (Kind::Int64, Device::Cpu)) * 3;
        let (x, y) = next_token_batch(&ids, 4, 5).unwrap();
        assert_eq!(x.size(), [4, 5]);
        assert!(y.equal(&(&x + 3)), "targets are the next ids");
        let rows: Vec<i64> = Vec::try_from(&x.select(1, 0)).unwrap();
        assert!(rows.iter().all(|&v| v % 3 == 0 && v <= 14 * 3));
        assert!(next_token_batch(&ids, 4, 20).is_err());
        assert!(next_token_batch(&ids.to_kind(Kind::Float), 4, 5).is_err());
    }
}
