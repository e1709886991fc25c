//! A small pool of persistent compile directories ("slots").
//!
//! evcxr compiles the course crates (tch, ndarray, linfa, ...) into its
//! temporary directory. In a fresh directory that costs minutes; in one that an
//! earlier kernel left behind it costs seconds. So each kernel borrows a slot
//! under `$AIGUIDE_HOME/slots/N`, holding an exclusive file lock for its whole
//! life: two notebooks open at once get two slots and never share a cargo
//! target dir, and a slot is reused (warm) by the next kernel that starts.

use anyhow::{Context, Result, bail};
use std::fs::{File, OpenOptions, TryLockError};
use std::path::{Path, PathBuf};
use std::process::Command;

/// More slots than this means something keeps leaking locks; refuse rather
/// than fill the disk with copies of libtorch bindings.
const MAX_SLOTS: usize = 16;

/// How often a copy of a slot that another kernel is compiling in is tried.
const BUSY_COPY_ATTEMPTS: usize = 3;

/// A locked slot. The lock is released when this value is dropped (or the
/// process exits, however it exits).
#[derive(Debug)]
pub struct Slot {
    pub index: usize,
    pub dir: PathBuf,
    _lock: File,
}

impl Slot {
    /// Takes the lowest-numbered slot no other process holds, creating it if
    /// needed.
    pub fn acquire(home: &Path) -> Result<Slot> {
        for index in 0..MAX_SLOTS {
            if let Some(lock) = try_lock(home, index)? {
                return Ok(Slot {
                    index,
                    dir: slot_dir(home, index),
                    _lock: lock,
                });
            }
        }
        bail!(
            "all {MAX_SLOTS} compile slots under {} are in use; close some notebooks \
             (or stop stray `aiguide-kernel` processes) and try again",
            home.join("slots").display()
        )
    }

    /// evcxr's working directory (`EVCXR_TMPDIR`): generated crate and target dir.
    pub fn build_dir(&self) -> PathBuf {
        self.dir.join("build")
    }

    /// evcxr's configuration directory (`EVCXR_CONFIG_DIR`) for this slot.
    pub fn config_dir(&self) -> PathBuf {
        self.dir.join("config")
    }

    /// Whether an earlier kernel already compiled dependencies here.
    pub fn is_warm(&self) -> bool {
        self.build_dir().join("target").is_dir()
    }

    /// Makes a cold slot warm by copying the build directory of a warm
    /// sibling in `home`, and says which one it copied.
    ///
    /// Compiling the course crates into a new slot takes minutes; copying a
    /// warm slot takes seconds, and cargo finds every dependency up to date
    /// in the copy (its target dir is relative and the sources are the same
    /// files). The copy is made under another name and renamed, so a copy cut
    /// short is never taken for a warm slot.
    ///
    /// An idle warm slot is preferred, and locked while it is copied. When
    /// every warm slot is in use (three notebooks open at once), a busy one is
    /// copied: its dependencies do not change while a notebook runs, but
    /// rustc's temporary files for the cell crate can vanish under `cp`, so
    /// that copy is retried a few times.
    pub fn seed_from_warm_sibling(&self, home: &Path) -> Result<Option<usize>> {
        if self.is_warm() {
            return Ok(None);
        }
        let warm: Vec<usize> = (0..MAX_SLOTS)
            .filter(|&index| index != self.index)
            .filter(|&index| slot_dir(home, index).join("build/target").is_dir())
            .collect();
        for &index in &warm {
            if let Some(_idle) = try_lock(home, index)? {
                self.copy_build_from(&slot_dir(home, index).join("build"))?;
                return Ok(Some(index));
            }
        }
        let Some(&busy) = warm.first() else {
            return Ok(None);
        };
        let source = slot_dir(home, busy).join("build");
        let mut attempt = 1;
        while let Err(error) = self.copy_build_from(&source) {
            if attempt == BUSY_COPY_ATTEMPTS {
                return Err(error);
            }
            attempt += 1;
        }
        Ok(Some(busy))
    }

    /// Replaces this slot's build directory with a copy of `source` (another
    /// slot's build directory), as [`Slot::seed_from_warm_sibling`] does.
    pub fn copy_build_from(&self, source: &Path) -> Result<()> {
        self.replace_build(|partial| copy_tree(source, partial))
    }

    /// Makes a cold slot warm from the course's own cargo build in
    /// `target_dir`, where `notebook-deps` was built as evcxr builds cells
    /// (same profile and flags, `--target triple`): its `triple/debug` (the
    /// compiled crates) and `debug` (build scripts, proc macros) become the
    /// slot's, and `lockfile` the slot's `Cargo.lock`, so cargo resolves the
    /// same versions and finds every course crate compiled. Returns false,
    /// touching nothing, when the slot is warm already.
    pub fn seed_from_course_build(
        &self,
        target_dir: &Path,
        triple: &str,
        lockfile: &Path,
    ) -> Result<bool> {
        if self.is_warm() {
            return Ok(false);
        }
        let crates = target_dir.join(triple).join("debug");
        if !crates.join("deps").is_dir() {
            bail!(
                "{} holds no compiled crates; build them first (`./course setup` does)",
                crates.display()
            );
        }
        self.replace_build(|partial| {
            let target = partial.join("target");
            std::fs::create_dir_all(target.join(triple))
                .with_context(|| format!("cannot create {}", target.display()))?;
            copy_tree(&crates, &target.join(triple).join("debug"))?;
            let host = target_dir.join("debug");
            if host.is_dir() {
                copy_tree(&host, &target.join("debug"))?;
            }
            std::fs::copy(lockfile, partial.join("Cargo.lock"))
                .with_context(|| format!("cannot copy {}", lockfile.display()))?;
            Ok(())
        })?;
        Ok(true)
    }

    /// Replaces this slot's build directory with what `fill` writes into a
    /// scratch directory beside it. The rename at the end means a fill cut
    /// short is never taken for a warm slot.
    fn replace_build(&self, fill: impl FnOnce(&Path) -> Result<()>) -> Result<()> {
        let partial = self.dir.join("build.partial");
        if partial.exists() {
            std::fs::remove_dir_all(&partial)
                .with_context(|| format!("cannot remove {}", partial.display()))?;
        }
        fill(&partial)?;
        let build = self.build_dir();
        if build.exists() {
            std::fs::remove_dir_all(&build)
                .with_context(|| format!("cannot remove {}", build.display()))?;
        }
        std::fs::rename(&partial, &build).with_context(|| {
            format!("cannot rename {} to {}", partial.display(), build.display())
        })?;
        Ok(())
    }
}

/// `cp -a source dest`: modification times are kept, which cargo's freshness
/// checks read.
fn copy_tree(source: &Path, dest: &Path) -> Result<()> {
    let status = Command::new("cp")
        .arg("-a")
        .arg(source)
        .arg(dest)
        .status()
        .context("cannot run `cp` to fill a compile slot")?;
    if !status.success() {
        bail!(
            "copying {} to {} failed ({status}); remove {} and try again",
            source.display(),
            dest.display(),
            dest.display()
        );
    }
    Ok(())
}

fn slot_dir(home: &Path, index: usize) -> PathBuf {
    home.join("slots").join(index.to_string())
}

/// The exclusive lock of slot `index` (creating the slot), or `None` when
/// another process holds it.
fn try_lock(home: &Path, index: usize) -> Result<Option<File>> {
    let dir = slot_dir(home, index);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let lock_path = dir.join("lock");
    let lock = OpenOptions::new()
        .create(true)
        .truncate(false)
        .write(true)
        .open(&lock_path)
        .with_context(|| format!("cannot open {}", lock_path.display()))?;
    match lock.try_lock() {
        Ok(()) => Ok(Some(lock)),
        Err(TryLockError::WouldBlock) => Ok(None),
        Err(TryLockError::Error(error)) => {
            Err(error).with_context(|| format!("cannot lock {}", lock_path.display()))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn concurrent_holders_get_distinct_slots_and_released_slots_are_reused() {
        let home = tempfile::tempdir().unwrap();
        let first = Slot::acquire(home.path()).unwrap();
        let second = Slot::acquire(home.path()).unwrap();
        assert_eq!((first.index, second.index), (0, 1));
        assert_ne!(first.build_dir(), second.build_dir());
        drop(first);
        let third = Slot::acquire(home.path()).unwrap();
        assert_eq!(third.index, 0, "a released slot is reused first");
    }

    #[test]
    fn a_cold_slot_is_seeded_from_a_warm_one() {
        let home = tempfile::tempdir().unwrap();
        let first = Slot::acquire(home.path()).unwrap();
        let second = Slot::acquire(home.path()).unwrap();
        assert_eq!(
            second.seed_from_warm_sibling(home.path()).unwrap(),
            None,
            "nothing warm to copy yet"
        );
        let deps = first.build_dir().join("target/debug/deps");
        std::fs::create_dir_all(&deps).unwrap();
        std::fs::write(deps.join("libtch-01.rlib"), "compiled").unwrap();
        std::fs::write(first.build_dir().join("Cargo.toml"), "[package]").unwrap();

        assert_eq!(second.seed_from_warm_sibling(home.path()).unwrap(), Some(0));
        assert!(second.is_warm());
        let copied = second.build_dir().join("target/debug/deps/libtch-01.rlib");
        assert_eq!(std::fs::read_to_string(copied).unwrap(), "compiled");
        assert!(!second.dir.join("build.partial").exists());
        assert_eq!(
            second.seed_from_warm_sibling(home.path()).unwrap(),
            None,
            "a warm slot is left alone"
        );
    }

    #[test]
    fn an_idle_warm_slot_is_copied_before_a_busy_one() {
        let home = tempfile::tempdir().unwrap();
        let busy = Slot::acquire(home.path()).unwrap();
        let idle = Slot::acquire(home.path()).unwrap();
        for (slot, marker) in [(&busy, "busy"), (&idle, "idle")] {
            let deps = slot.build_dir().join("target/debug/deps");
            std::fs::create_dir_all(&deps).unwrap();
            std::fs::write(deps.join("marker"), marker).unwrap();
        }
        let marker = |slot: &Slot| {
            std::fs::read_to_string(slot.build_dir().join("target/debug/deps/marker")).unwrap()
        };
        let cold = Slot::acquire(home.path()).unwrap();
        drop(idle);
        assert_eq!(cold.seed_from_warm_sibling(home.path()).unwrap(), Some(1));
        assert_eq!(marker(&cold), "idle");

        let _holder = Slot::acquire(home.path()).unwrap(); // slot 1, busy now too
        std::fs::remove_dir_all(cold.build_dir()).unwrap();
        assert_eq!(
            cold.seed_from_warm_sibling(home.path()).unwrap(),
            Some(0),
            "all busy: the first warm one"
        );
        assert_eq!(marker(&cold), "busy");
    }

    #[test]
    fn a_cold_slot_is_seeded_from_the_course_build_with_its_lockfile() {
        let home = tempfile::tempdir().unwrap();
        let slot = Slot::acquire(home.path()).unwrap();
        let target = home.path().join("target");
        let lockfile = home.path().join("Cargo.lock");
        std::fs::write(&lockfile, "version = 4").unwrap();
        let seed = || slot.seed_from_course_build(&target, "x86_64-unknown-linux-gnu", &lockfile);
        let message = seed().unwrap_err().to_string();
        assert!(message.contains("./course setup"), "{message}");
        assert!(!slot.is_warm());

        let crates = target.join("x86_64-unknown-linux-gnu/debug/deps");
        std::fs::create_dir_all(&crates).unwrap();
        std::fs::write(crates.join("libtch-01.rlib"), "compiled").unwrap();
        std::fs::create_dir_all(target.join("debug/deps")).unwrap();
        std::fs::write(target.join("debug/deps/libserde_derive-02.so"), "macro").unwrap();
        assert!(seed().unwrap());
        let copied = |path: &str| std::fs::read_to_string(slot.build_dir().join(path)).unwrap();
        assert_eq!(
            copied("target/x86_64-unknown-linux-gnu/debug/deps/libtch-01.rlib"),
            "compiled"
        );
        assert_eq!(copied("target/debug/deps/libserde_derive-02.so"), "macro");
        assert_eq!(copied("Cargo.lock"), "version = 4");
        assert!(!seed().unwrap(), "a warm slot is left alone");
    }
}
