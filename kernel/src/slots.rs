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

/// More slots than this means something keeps leaking locks; refuse rather
/// than fill the disk with copies of libtorch bindings.
const MAX_SLOTS: usize = 16;

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
            let dir = home.join("slots").join(index.to_string());
            std::fs::create_dir_all(&dir)
                .with_context(|| format!("cannot create {}", dir.display()))?;
            let lock_path = dir.join("lock");
            let lock = OpenOptions::new()
                .create(true)
                .truncate(false)
                .write(true)
                .open(&lock_path)
                .with_context(|| format!("cannot open {}", lock_path.display()))?;
            match lock.try_lock() {
                Ok(()) => {
                    return Ok(Slot {
                        index,
                        dir,
                        _lock: lock,
                    });
                }
                Err(TryLockError::WouldBlock) => continue,
                Err(TryLockError::Error(error)) => {
                    return Err(error)
                        .with_context(|| format!("cannot lock {}", lock_path.display()));
                }
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
}
