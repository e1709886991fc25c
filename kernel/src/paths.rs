//! Where the course lives on this machine: the checkout, the per-user cache
//! (`AIGUIDE_HOME`), and the Python environment whose `torch` wheel provides
//! libtorch.
//!
//! Every path can be overridden with an environment variable, so the same
//! binary works for the venv made by `./course`, for a conda environment made
//! from `environment.yml`, and inside tests that point everything at a
//! temporary directory.

use anyhow::{Context, Result, bail};
use std::path::{Path, PathBuf};
use std::process::Command;

/// The locations the kernel needs. Cheap to build; nothing is checked for
/// existence until a caller asks.
#[derive(Debug, Clone)]
pub struct Course {
    /// The repository checkout (holds `Cargo.toml`, `helpers/`, `notebooks/`).
    pub root: PathBuf,
    /// Per-user cache: compile slots, the venv, the data hub.
    pub home: PathBuf,
}

impl Course {
    /// Finds the checkout (`AIGUIDE_ROOT`, else the one this binary was built
    /// from) and the cache dir (`AIGUIDE_HOME`, else `$XDG_CACHE_HOME/aiguide`,
    /// else `~/.cache/aiguide`).
    pub fn locate() -> Result<Course> {
        let root = match std::env::var_os("AIGUIDE_ROOT") {
            Some(root) => PathBuf::from(root),
            None => Path::new(env!("CARGO_MANIFEST_DIR"))
                .parent()
                .expect("the kernel crate lives inside the workspace")
                .to_path_buf(),
        };
        if !root.join("helpers").join("Cargo.toml").is_file() {
            bail!(
                "{} is not an aiguide checkout (no helpers/Cargo.toml); \
                 set AIGUIDE_ROOT to the directory you cloned the course into",
                root.display()
            );
        }
        Ok(Course {
            root,
            home: default_home(),
        })
    }

    /// The Python interpreter of the course environment: `AIGUIDE_PYTHON`, else
    /// the venv that `./course` creates.
    pub fn python(&self) -> PathBuf {
        match std::env::var_os("AIGUIDE_PYTHON") {
            Some(python) => PathBuf::from(python),
            None => self.home.join("venv").join("bin").join("python"),
        }
    }

    /// The interpreter's `site-packages` directory.
    pub fn site_packages(&self) -> Result<PathBuf> {
        let python = self.python();
        let output = Command::new(&python)
            .args([
                "-c",
                "import sysconfig; print(sysconfig.get_paths()['purelib'])",
            ])
            .output()
            .with_context(|| {
                format!(
                    "cannot run the course Python at {}; run `./course setup` \
                     (or set AIGUIDE_PYTHON to a Python that has torch==2.13.0)",
                    python.display()
                )
            })?;
        if !output.status.success() {
            bail!(
                "{} failed: {}",
                python.display(),
                String::from_utf8_lossy(&output.stderr).trim()
            );
        }
        Ok(PathBuf::from(
            String::from_utf8_lossy(&output.stdout).trim().to_owned(),
        ))
    }

    /// The libtorch shared libraries shipped inside the `torch` wheel.
    pub fn torch_lib(&self) -> Result<PathBuf> {
        let lib = self.site_packages()?.join("torch").join("lib");
        if !lib.join("libtorch_cpu.so").is_file() {
            bail!(
                "torch is not installed for {} (no {}); run `./course setup`",
                self.python().display(),
                lib.join("libtorch_cpu.so").display()
            );
        }
        Ok(lib)
    }

    /// The workspace manifest, whose `[workspace.dependencies]` pin the
    /// course crates.
    pub fn workspace_manifest(&self) -> PathBuf {
        self.root.join("Cargo.toml")
    }

    /// The workspace's lockfile: the versions every course crate is built at.
    pub fn lockfile(&self) -> PathBuf {
        self.root.join("Cargo.lock")
    }
}

fn default_home() -> PathBuf {
    if let Some(home) = std::env::var_os("AIGUIDE_HOME") {
        return PathBuf::from(home);
    }
    let cache = std::env::var_os("XDG_CACHE_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|home| PathBuf::from(home).join(".cache")))
        .unwrap_or_else(std::env::temp_dir);
    cache.join("aiguide")
}
