//! Text corpora for language-model chapters: the Shakespeare plays and poems
//! from the data hub, one document per work.

use crate::display::{Table, emit};
use crate::hub::Hub;
use crate::{Error, Result};

/// A named collection of documents.
#[derive(Clone, Debug, PartialEq)]
pub struct Corpus {
    /// Where the texts come from.
    pub name: String,
    /// The documents, in a fixed order.
    pub documents: Vec<Document>,
}

/// One text of a corpus.
#[derive(Clone, Debug, PartialEq)]
pub struct Document {
    /// A short title, e.g. `hamlet`.
    pub title: String,
    /// The full text.
    pub text: String,
}

/// Shakespeare's 37 plays and 5 poem collections (Project Gutenberg texts,
/// modern spelling), about 5 million characters.
///
/// For a character-level model, `shakespeare()?.text()` is the whole corpus
/// as one string.
pub fn shakespeare() -> Result<Corpus> {
    load_shakespeare(&Hub::from_env()?)
}

pub(crate) fn load_shakespeare(hub: &Hub) -> Result<Corpus> {
    let documents = hub
        .locate_group("shakespeare")?
        .into_iter()
        .map(|(asset, path)| {
            let bytes = std::fs::read(&path).map_err(|e| Error::io(&path, e))?;
            let text = super::files::utf8(&path, bytes)?;
            if text.trim().is_empty() {
                return Err(Error::corrupt(&path, "the text is empty"));
            }
            let title = asset
                .path
                .file_stem()
                .map_or(asset.name.clone(), |s| s.to_string_lossy().into_owned());
            Ok(Document { title, text })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(Corpus {
        name: "shakespeare".into(),
        documents,
    })
}

impl Corpus {
    /// All documents joined by blank lines.
    pub fn text(&self) -> String {
        let texts: Vec<&str> = self.documents.iter().map(|d| d.text.trim_end()).collect();
        texts.join("\n\n")
    }

    /// The document called `title`.
    pub fn document(&self, title: &str) -> Option<&Document> {
        self.documents.iter().find(|d| d.title == title)
    }

    /// Total number of characters (Unicode scalar values).
    pub fn len_chars(&self) -> usize {
        self.documents.iter().map(|d| d.text.chars().count()).sum()
    }

    /// One row per document: title, characters, lines.
    pub fn table(&self) -> Table {
        let mut table = Table::new(["title", "characters", "lines"]);
        for d in &self.documents {
            table.push_row([
                d.title.clone(),
                d.text.chars().count().to_string(),
                d.text.lines().count().to_string(),
            ]);
        }
        table.with_caption(format!(
            "{}: {} documents, {} characters",
            self.name,
            self.documents.len(),
            self.len_chars()
        ))
    }

    /// Shows the document table in a notebook.
    pub fn evcxr_display(&self) {
        let table = self.table();
        emit(&[
            ("text/html", &table.to_html()),
            ("text/plain", &table.to_text()),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing::{assert_corrupt_with, assert_missing_and_altered};
    use crate::hub::testing::hub_with;

    const HAMLET: &[u8] = b"HAMLET\n\nTo be, or not to be.\n";
    const SONNETS: &[u8] = b"Shall I compare thee to a summer's day?\n";

    #[test]
    fn reads_every_document_of_the_group() {
        let files = [
            ("shakespeare-hamlet", "s/hamlet.txt", Some(HAMLET)),
            ("shakespeare-sonnets", "s/sonnets.txt", Some(SONNETS)),
        ];
        let (_d, hub) = hub_with(&files);
        let corpus = load_shakespeare(&hub).unwrap();
        assert_eq!(corpus.documents.len(), 2);
        assert_eq!(corpus.document("sonnets").unwrap().text.as_bytes(), SONNETS);
        assert!(corpus.text().contains("not to be.\n\nShall I"));
        assert_eq!(corpus.len_chars(), HAMLET.len() + SONNETS.len());
        assert!(corpus.table().to_text().contains("2 documents"));
    }

    #[test]
    fn bad_documents_are_errors() {
        let others = [("shakespeare-sonnets", "s/sonnets.txt", SONNETS)];
        let load = load_shakespeare;
        assert_missing_and_altered("shakespeare-hamlet", "s/hamlet.txt", HAMLET, &others, &load);
        // A truncated text is still text: only the hub's checksum catches it.
        assert_corrupt_with(
            "shakespeare-hamlet",
            "s/hamlet.txt",
            b"\xff\xfe",
            &others,
            &load,
            "not UTF-8",
        );
        assert_corrupt_with(
            "shakespeare-hamlet",
            "s/hamlet.txt",
            b"\n \n",
            &others,
            &load,
            "empty",
        );
    }
}
