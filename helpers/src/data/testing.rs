//! Shared checks for the loaders' tests: every loader must turn a missing,
//! altered, truncated or garbage file into an error that names the file.

use std::fmt::Debug;
use std::io::Write;

use flate2::Compression;
use flate2::write::GzEncoder;

use crate::hub::Hub;
use crate::hub::testing::hub_with;
use crate::{Error, Result};

/// `bytes` gzip-compressed.
pub(crate) fn gz(bytes: &[u8]) -> Vec<u8> {
    let mut enc = GzEncoder::new(Vec::new(), Compression::default());
    enc.write_all(bytes).unwrap();
    enc.finish().unwrap()
}

/// [`assert_loader_errors_with`] for a loader that reads one file.
pub(crate) fn assert_loader_errors<T: Debug>(
    name: &str,
    path: &str,
    good: &[u8],
    loader: impl Fn(&Hub) -> Result<T>,
) {
    assert_loader_errors_with(name, path, good, &[], loader);
}

/// Checks that `loader` fails properly when asset `name` (at `path`, valid
/// content `good`) is missing, altered after its checksum was recorded,
/// truncated, or garbage; `others` are the loader's other files, kept intact.
pub(crate) fn assert_loader_errors_with<T: Debug>(
    name: &str,
    path: &str,
    good: &[u8],
    others: &[(&str, &str, &[u8])],
    loader: impl Fn(&Hub) -> Result<T>,
) {
    assert_missing_and_altered(name, path, good, others, &loader);
    let cut = &good[..good.len() * 2 / 3];
    assert_corrupt_with(name, path, cut, others, &loader, path);
    assert_corrupt_with(name, path, b"\x00\xffnot data\x01", others, &loader, path);
}

/// Checks that `loader` loads `good` and reports asset `name` missing, and
/// refuses it once its bytes differ from the recorded checksum.
pub(crate) fn assert_missing_and_altered<T: Debug>(
    name: &str,
    path: &str,
    good: &[u8],
    others: &[(&str, &str, &[u8])],
    loader: &impl Fn(&Hub) -> Result<T>,
) {
    let with = |bytes: Option<&[u8]>| {
        let mut files: Vec<(&str, &str, Option<&[u8]>)> =
            others.iter().map(|&(n, p, b)| (n, p, Some(b))).collect();
        files.push((name, path, bytes));
        hub_with(&files)
    };
    let (_dir, hub) = with(Some(good));
    loader(&hub).expect("the good file loads");

    let (_dir, hub) = with(None);
    let err = loader(&hub).unwrap_err();
    assert!(
        matches!(err, Error::MissingAsset { .. }),
        "missing {name}: {err}"
    );
    assert!(err.to_string().contains("./course data"), "{err}");

    let (dir, hub) = with(Some(good));
    let mut altered = good.to_vec();
    altered.push(b'\n');
    std::fs::write(dir.path().join(path), altered).unwrap();
    let err = loader(&hub).unwrap_err();
    assert!(
        matches!(err, Error::ChecksumMismatch { .. }),
        "altered {name}: {err}"
    );
}

/// Checks that `loader` reports asset `name` with content `bytes` as corrupt,
/// with `expected` in the message (which always names the file).
pub(crate) fn assert_corrupt<T: Debug>(
    name: &str,
    path: &str,
    bytes: &[u8],
    loader: impl Fn(&Hub) -> Result<T>,
    expected: &str,
) {
    assert_corrupt_with(name, path, bytes, &[], &loader, expected);
}

/// [`assert_corrupt`] with other files the loader needs.
pub(crate) fn assert_corrupt_with<T: Debug>(
    name: &str,
    path: &str,
    bytes: &[u8],
    others: &[(&str, &str, &[u8])],
    loader: &impl Fn(&Hub) -> Result<T>,
    expected: &str,
) {
    let mut files: Vec<(&str, &str, Option<&[u8]>)> =
        others.iter().map(|&(n, p, b)| (n, p, Some(b))).collect();
    files.push((name, path, Some(bytes)));
    let (_dir, hub) = hub_with(&files);
    let err = loader(&hub).unwrap_err();
    let message = err.to_string();
    assert!(
        matches!(err, Error::Corrupt { .. }),
        "{name} with {} bytes: {message}",
        bytes.len()
    );
    assert!(
        message.contains(path) && message.contains(expected),
        "{message}"
    );
}
