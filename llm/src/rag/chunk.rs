//! Cutting long documents into chunks that fit an embedding model and a
//! prompt, each chunk remembering where it came from (metadata a RAG answer
//! cites).
//!
//! Lengths are in characters (Unicode scalar values), not bytes, so Chinese
//! text is cut between characters, never inside one.

use crate::{Error, Result};

/// A piece of a document and where it stands in it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Chunk {
    /// The document's name (a file name, a title): what an answer cites.
    pub source: String,
    /// Position among the document's chunks, from 0.
    pub index: usize,
    /// The chunk covers characters `start..end` of the document.
    pub start: usize,
    /// End (exclusive), in characters.
    pub end: usize,
    /// The chunk's text.
    pub text: String,
}

/// Windows of `size` characters, each starting `size - overlap` after the
/// previous one, so that a sentence cut at one window's edge is whole in the
/// next. The last window ends at the end of the text (no window lies wholly
/// inside the one before it).
///
/// `overlap` must be smaller than `size`: otherwise the window would never
/// move forward (a loop written as `start = end - overlap` runs forever).
pub fn sliding_window(source: &str, text: &str, size: usize, overlap: usize) -> Result<Vec<Chunk>> {
    if size == 0 || overlap >= size {
        return Err(Error::InvalidArgument(format!(
            "sliding_window needs 0 <= overlap < size, got size {size} and overlap {overlap}: \
             with overlap >= size the window never moves forward"
        )));
    }
    let chars: Vec<char> = text.chars().collect();
    let mut chunks = Vec::new();
    let mut start = 0;
    while start < chars.len() {
        let end = (start + size).min(chars.len());
        chunks.push(Chunk {
            source: source.to_string(),
            index: chunks.len(),
            start,
            end,
            text: chars[start..end].iter().collect(),
        });
        if end == chars.len() {
            break;
        }
        start = end - overlap;
    }
    Ok(chunks)
}

/// Chunks that follow the document's paragraphs (separated by blank lines):
/// consecutive paragraphs are joined while they fit in `max_chars`, and a
/// paragraph longer than that is cut into windows of `max_chars` (no
/// overlap). A chunk never mixes the end of one thought with the start of an
/// unrelated one when the paragraphs allow otherwise.
pub fn by_paragraph(source: &str, text: &str, max_chars: usize) -> Result<Vec<Chunk>> {
    if max_chars == 0 {
        return Err(Error::InvalidArgument(
            "by_paragraph needs max_chars >= 1".into(),
        ));
    }
    // Paragraphs as character ranges of `text`.
    let chars: Vec<char> = text.chars().collect();
    let mut paragraphs: Vec<(usize, usize)> = Vec::new();
    let mut line_start = 0;
    let mut para: Option<(usize, usize)> = None;
    for (i, _) in chars
        .iter()
        .enumerate()
        .filter(|&(_, c)| *c == '\n')
        .chain([(chars.len(), &'\n')])
    {
        let line = &chars[line_start..i];
        let blank = line.iter().all(|c| c.is_whitespace());
        match (blank, para) {
            (true, Some(p)) => {
                paragraphs.push(p);
                para = None;
            }
            (false, Some((s, _))) => para = Some((s, i)),
            (false, None) => para = Some((line_start, i)),
            (true, None) => {}
        }
        line_start = i + 1;
    }
    paragraphs.extend(para);

    let mut ranges: Vec<(usize, usize)> = Vec::new();
    for (start, end) in paragraphs {
        match ranges.last_mut() {
            Some(last) if end - last.0 <= max_chars => last.1 = end,
            _ => {
                let mut s = start;
                while end - s > max_chars {
                    ranges.push((s, s + max_chars));
                    s += max_chars;
                }
                ranges.push((s, end));
            }
        }
    }
    Ok(ranges
        .into_iter()
        .enumerate()
        .map(|(index, (start, end))| Chunk {
            source: source.to_string(),
            index,
            start,
            end,
            text: chars[start..end].iter().collect(),
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn windows_overlap_cover_the_text_and_stop_at_its_end() {
        let text: String = ('a'..='z').collect();
        let chunks = sliding_window("abc.txt", &text, 10, 3).unwrap();
        let spans: Vec<(usize, usize)> = chunks.iter().map(|c| (c.start, c.end)).collect();
        assert_eq!(spans, [(0, 10), (7, 17), (14, 24), (21, 26)]);
        assert_eq!(chunks[1].text, "hijklmnopq");
        assert!(chunks.iter().all(|c| c.source == "abc.txt"));
        // No overlap: the windows tile the text.
        let tiles = sliding_window("abc.txt", &text, 13, 0).unwrap();
        assert_eq!(
            tiles.iter().map(|c| c.text.as_str()).collect::<String>(),
            text
        );
        assert!(sliding_window("empty", "", 5, 1).unwrap().is_empty());
    }

    #[test]
    fn windows_count_characters_not_bytes() {
        let chunks = sliding_window("zh", "检索增强生成让模型基于资料回答", 6, 2).unwrap();
        assert_eq!(chunks[0].text, "检索增强生成");
        assert_eq!(chunks[1].text, "生成让模型基");
    }

    #[test]
    fn an_overlap_as_long_as_the_window_is_an_error_not_an_endless_loop() {
        for (size, overlap) in [(100, 100), (100, 500), (0, 0)] {
            let err = sliding_window("doc", "some text", size, overlap).unwrap_err();
            assert!(err.to_string().contains("overlap < size"), "{err}");
        }
    }

    #[test]
    fn paragraphs_are_joined_while_they_fit_and_long_ones_are_cut() {
        let text = "First paragraph.\n\nSecond one.\n\n\nA third paragraph that is long.\nStill the third.";
        let chunks = by_paragraph("notes.md", text, 30).unwrap();
        let texts: Vec<&str> = chunks.iter().map(|c| c.text.as_str()).collect();
        assert_eq!(
            texts,
            [
                "First paragraph.\n\nSecond one.",
                "A third paragraph that is long",
                ".\nStill the third."
            ]
        );
        let chars: Vec<char> = text.chars().collect();
        for c in &chunks {
            assert_eq!(chars[c.start..c.end].iter().collect::<String>(), c.text);
        }
        assert_eq!(
            chunks.iter().map(|c| c.index).collect::<Vec<_>>(),
            [0, 1, 2]
        );
        assert!(by_paragraph("x", "text", 0).is_err());
    }
}
