//! CIFAR-10 from its "binary version": 10 000 records per batch file, each a
//! label byte and 3 x 32 x 32 pixel bytes. [`cifar10`] reads the archive
//! straight from the data hub (no unpacking); [`cifar10_from`] reads an
//! unpacked `cifar-10-batches-bin` folder.

use std::collections::HashMap;
use std::io::Read;
use std::path::Path;

use flate2::read::GzDecoder;

use super::image_set::{ImageSet, RawSplit};
use crate::hub::Hub;
use crate::{Error, Result};

const CLASSES: [&str; 10] = [
    "airplane",
    "automobile",
    "bird",
    "cat",
    "deer",
    "dog",
    "frog",
    "horse",
    "ship",
    "truck",
];
const RECORD: usize = 1 + 3 * 32 * 32;
const TRAIN: [&str; 5] = [
    "data_batch_1.bin",
    "data_batch_2.bin",
    "data_batch_3.bin",
    "data_batch_4.bin",
    "data_batch_5.bin",
];
const TEST: &str = "test_batch.bin";

/// CIFAR-10 from the data hub (`cifar-10-binary.tar.gz`): 50 000 training
/// and 10 000 test images, 3 x 32 x 32, ten classes. As Float tensors this
/// takes about 740 MB of memory.
pub fn cifar10() -> Result<ImageSet> {
    load_archive(&Hub::from_env()?.locate("cifar10")?)
}

/// CIFAR-10 from an unpacked `cifar-10-batches-bin` folder.
pub fn cifar10_from(dir: impl AsRef<Path>) -> Result<ImageSet> {
    let dir = dir.as_ref();
    let read = |name: &str| {
        let path = dir.join(name);
        std::fs::read(&path).map_err(|e| Error::io(&path, e))
    };
    let mut files = HashMap::new();
    for name in TRAIN.iter().chain([&TEST]) {
        files.insert(name.to_string(), read(name)?);
    }
    assemble(dir, &files)
}

pub(crate) fn load_archive(path: &Path) -> Result<ImageSet> {
    let file = std::fs::File::open(path).map_err(|e| Error::io(path, e))?;
    let mut archive = tar::Archive::new(GzDecoder::new(file));
    let broken =
        |e: std::io::Error| Error::corrupt(path, format!("cannot read the tar.gz archive ({e})"));
    let mut files = HashMap::new();
    for entry in archive.entries().map_err(broken)? {
        let mut entry = entry.map_err(broken)?;
        let name = entry
            .path()
            .map_err(broken)?
            .file_name()
            .map(|n| n.to_string_lossy().into_owned());
        if let Some(name) = name.filter(|n| TRAIN.contains(&n.as_str()) || n == TEST) {
            let mut bytes = Vec::new();
            entry.read_to_end(&mut bytes).map_err(broken)?;
            files.insert(name, bytes);
        }
    }
    assemble(path, &files)
}

/// Builds the set from batch files by name; `source` names them in errors.
fn assemble(source: &Path, files: &HashMap<String, Vec<u8>>) -> Result<ImageSet> {
    let split = |names: &[&str]| -> Result<RawSplit> {
        let mut pixels = Vec::new();
        let mut labels = Vec::new();
        for name in names {
            let at = source.join(name);
            let bytes = files
                .get(*name)
                .ok_or_else(|| Error::corrupt(source, format!("{name} is missing")))?;
            if bytes.is_empty() || bytes.len() % RECORD != 0 {
                return Err(Error::corrupt(
                    &at,
                    format!(
                        "{} bytes is not a whole number of {RECORD}-byte records (truncated?)",
                        bytes.len()
                    ),
                ));
            }
            for (i, record) in bytes.chunks(RECORD).enumerate() {
                if record[0] as usize >= CLASSES.len() {
                    return Err(Error::corrupt(
                        &at,
                        format!("record {i}: label {} is not a class (0..10)", record[0]),
                    ));
                }
                labels.push(record[0]);
                pixels.extend_from_slice(&record[1..]);
            }
        }
        let n = labels.len() as i64;
        Ok(RawSplit {
            pixels,
            shape: [n, 3, 32, 32],
            labels,
        })
    };
    ImageSet::from_raw("cifar10", split(&TRAIN)?, split(&[TEST])?, &CLASSES)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing::{assert_loader_errors, gz};

    fn batch(labels: &[u8]) -> Vec<u8> {
        labels
            .iter()
            .flat_map(|&l| {
                std::iter::once(l).chain((0..RECORD - 1).map(move |i| (i % 256) as u8 ^ l))
            })
            .collect()
    }

    fn archive(skip: Option<&str>) -> Vec<u8> {
        let mut builder = tar::Builder::new(Vec::new());
        for (i, name) in TRAIN.iter().chain([&TEST]).enumerate() {
            if Some(*name) == skip {
                continue;
            }
            let data = batch(&[i as u8, 9]);
            let mut header = tar::Header::new_gnu();
            header.set_size(data.len() as u64);
            header.set_mode(0o644);
            header.set_cksum();
            builder
                .append_data(
                    &mut header,
                    format!("cifar-10-batches-bin/{name}"),
                    &data[..],
                )
                .unwrap();
        }
        gz(&builder.into_inner().unwrap())
    }

    #[test]
    fn reads_the_archive() {
        let data = archive(None);
        let load = |hub: &Hub| load_archive(&hub.locate("cifar10")?);
        let (_d, hub) =
            crate::hub::testing::hub_with(&[("cifar10", "c/cifar-10-binary.tar.gz", Some(&data))]);
        let set = load(&hub).unwrap();
        assert_eq!(set.train_images.size(), [10, 3, 32, 32]);
        assert_eq!(Vec::<i64>::try_from(&set.test_labels).unwrap(), [5, 9]);
        // Record 1 of batch 1 has label 9, and its pixel bytes are i ^ 9.
        assert!((set.train_images.double_value(&[1, 0, 0, 1]) - 8.0 / 255.0).abs() < 1e-6);
        assert_eq!(set.class_names[3], "cat");
        assert_loader_errors("cifar10", "c/cifar-10-binary.tar.gz", &data, load);
        let (_d, hub) =
            crate::hub::testing::hub_with(&[("cifar10", "c.tgz", Some(&archive(Some(TEST))))]);
        assert!(
            load(&hub)
                .unwrap_err()
                .to_string()
                .contains("c.tgz: test_batch.bin is missing")
        );
    }

    #[test]
    fn reads_a_folder_and_checks_records() {
        let dir = tempfile::tempdir().unwrap();
        for name in TRAIN.iter().chain([&TEST]) {
            std::fs::write(dir.path().join(name), batch(&[1, 2, 3])).unwrap();
        }
        assert_eq!(cifar10_from(dir.path()).unwrap().train_labels.size(), [15]);
        std::fs::write(dir.path().join(TEST), &batch(&[1])[..100]).unwrap();
        let err = cifar10_from(dir.path()).unwrap_err().to_string();
        assert!(
            err.contains("test_batch.bin: 100 bytes is not a whole number"),
            "{err}"
        );
        std::fs::write(dir.path().join(TEST), batch(&[10])).unwrap();
        assert!(
            cifar10_from(dir.path())
                .unwrap_err()
                .to_string()
                .contains("label 10")
        );
        std::fs::remove_file(dir.path().join(TEST)).unwrap();
        assert!(matches!(cifar10_from(dir.path()), Err(Error::Io { .. })));
    }
}
