//! Reading data files with errors that name the file: a missing, truncated or
//! corrupt file must say which one, since learners fix it by hand.

use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use crate::{Error, Result};

/// The bytes of `path`, decompressed if they are gzip (by magic number, so a
/// user may store MNIST files compressed or not).
pub(crate) fn read_maybe_gz(path: &Path) -> Result<Vec<u8>> {
    let bytes = std::fs::read(path).map_err(|e| Error::io(path, e))?;
    if bytes.starts_with(&[0x1f, 0x8b]) {
        gunzip(path, &bytes)
    } else {
        Ok(bytes)
    }
}

/// Decompresses gzip `bytes` read from `path`.
pub(crate) fn gunzip(path: &Path, bytes: &[u8]) -> Result<Vec<u8>> {
    let mut out = Vec::new();
    GzDecoder::new(bytes)
        .read_to_end(&mut out)
        .map_err(|e| Error::corrupt(path, format!("not a valid gzip file ({e})")))?;
    Ok(out)
}

/// `bytes` from `path` as UTF-8 text.
pub(crate) fn utf8(path: &Path, bytes: Vec<u8>) -> Result<String> {
    String::from_utf8(bytes).map_err(|e| Error::corrupt(path, format!("not UTF-8 text ({e})")))
}

/// The text of `path`, gunzipped if it is gzip.
pub(crate) fn read_text(path: &Path) -> Result<String> {
    utf8(path, read_maybe_gz(path)?)
}

/// How the values on a line are separated.
#[derive(Clone, Copy)]
pub(crate) enum Sep {
    Comma,
    Whitespace,
}

/// Parses the non-empty lines of `text` (from `path`) as numbers, `cols` per
/// line; `first_line` is the 1-based line number of `text`'s first line.
pub(crate) fn parse_numbers(
    path: &Path,
    text: &str,
    sep: Sep,
    cols: usize,
    first_line: usize,
) -> Result<Vec<Vec<f64>>> {
    let mut rows = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = match sep {
            Sep::Comma => line.split(',').map(str::trim).collect(),
            Sep::Whitespace => line.split_whitespace().collect(),
        };
        let n = first_line + i;
        if fields.len() != cols {
            return Err(Error::corrupt(
                path,
                format!("line {n}: {} values, expected {cols}", fields.len()),
            ));
        }
        let row = fields
            .iter()
            .map(|f| {
                f.parse::<f64>()
                    .map_err(|_| Error::corrupt(path, format!("line {n}: `{f}` is not a number")))
            })
            .collect::<Result<Vec<f64>>>()?;
        rows.push(row);
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing::gz;

    #[test]
    fn reads_plain_and_gzip_alike() {
        let dir = tempfile::tempdir().unwrap();
        let (plain, packed) = (dir.path().join("a"), dir.path().join("b"));
        std::fs::write(&plain, b"1 2\n").unwrap();
        std::fs::write(&packed, gz(b"1 2\n")).unwrap();
        assert_eq!(read_text(&plain).unwrap(), read_text(&packed).unwrap());
    }

    #[test]
    fn truncated_gzip_is_corrupt() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.gz");
        let data = gz(&[7u8; 10_000]);
        std::fs::write(&path, &data[..data.len() / 2]).unwrap();
        let err = read_maybe_gz(&path).unwrap_err();
        assert!(
            matches!(err, Error::Corrupt { .. }) && err.to_string().contains("t.gz"),
            "{err}"
        );
    }

    #[test]
    fn bad_numbers_name_the_line() {
        let p = Path::new("f.csv");
        assert_eq!(
            parse_numbers(p, "1,2\n\n3,4\n", Sep::Comma, 2, 1).unwrap(),
            [[1.0, 2.0], [3.0, 4.0]]
        );
        let err = parse_numbers(p, "1,2\n3,x\n", Sep::Comma, 2, 1)
            .unwrap_err()
            .to_string();
        assert!(err.contains("f.csv: line 2: `x` is not a number"), "{err}");
        let err = parse_numbers(p, "1 2 3", Sep::Whitespace, 2, 5)
            .unwrap_err()
            .to_string();
        assert!(err.contains("line 5: 3 values, expected 2"), "{err}");
    }
}
