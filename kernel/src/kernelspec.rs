//! Registering the course kernel with Jupyter.
//!
//! Ours is `kernels/aiguide` ("Rust (aiguide)"): installing or removing it
//! never touches evcxr's `rust` kernelspec or any other.

use crate::paths::Course;
use anyhow::{Context, Result, bail};
use serde_json::json;
use std::path::{Path, PathBuf};

/// The kernelspec name notebooks refer to in `metadata.kernelspec.name`.
pub const NAME: &str = "aiguide";
/// What Jupyter Lab shows in its launcher.
pub const DISPLAY_NAME: &str = "Rust (aiguide)";

/// Where kernelspecs go: `<prefix>/share/jupyter/kernels` when a prefix is
/// given (e.g. a venv's `sys.prefix`), else the user's Jupyter data dir, as
/// `jupyter kernelspec install --user` would choose.
pub fn kernels_dir(prefix: Option<&Path>) -> Result<PathBuf> {
    if let Some(prefix) = prefix {
        return Ok(prefix.join("share").join("jupyter").join("kernels"));
    }
    let data_dir = if let Some(dir) = std::env::var_os("JUPYTER_DATA_DIR") {
        PathBuf::from(dir)
    } else if let Some(dir) = std::env::var_os("XDG_DATA_HOME") {
        PathBuf::from(dir).join("jupyter")
    } else if let Some(home) = std::env::var_os("HOME") {
        PathBuf::from(home)
            .join(".local")
            .join("share")
            .join("jupyter")
    } else {
        bail!("cannot find your Jupyter data dir: set HOME or JUPYTER_DATA_DIR");
    };
    Ok(data_dir.join("kernels"))
}

/// Writes `kernels/aiguide/kernel.json` so that Jupyter starts `exe` as the
/// course kernel with this course's paths.
pub fn install(course: &Course, exe: &Path, kernels: &Path) -> Result<PathBuf> {
    let dir = kernels.join(NAME);
    std::fs::create_dir_all(&dir).with_context(|| format!("cannot create {}", dir.display()))?;
    let spec = json!({
        "argv": [exe, "--control_file", "{connection_file}"],
        "display_name": DISPLAY_NAME,
        "language": "rust",
        "interrupt_mode": "message",
        "env": {
            "AIGUIDE_ROOT": course.root,
            "AIGUIDE_HOME": course.home,
            "AIGUIDE_PYTHON": course.python(),
        },
        "metadata": { "debugger": false },
    });
    let path = dir.join("kernel.json");
    std::fs::write(&path, serde_json::to_string_pretty(&spec)? + "\n")
        .with_context(|| format!("cannot write {}", path.display()))?;
    Ok(path)
}

/// Removes our kernelspec, after checking that the directory really is ours.
/// Returns `false` when there was nothing to remove.
pub fn uninstall(kernels: &Path) -> Result<bool> {
    let dir = kernels.join(NAME);
    let path = dir.join("kernel.json");
    if !path.exists() {
        return Ok(false);
    }
    if installed_display_name(&path)?.as_deref() != Some(DISPLAY_NAME) {
        bail!(
            "{} does not look like the aiguide kernel (display name is not {DISPLAY_NAME:?}); \
             not removing it",
            dir.display()
        );
    }
    std::fs::remove_dir_all(&dir).with_context(|| format!("cannot remove {}", dir.display()))?;
    Ok(true)
}

/// The executable an installed kernelspec starts, if it is installed.
pub fn installed_exe(kernels: &Path) -> Result<Option<PathBuf>> {
    let path = kernels.join(NAME).join("kernel.json");
    if !path.exists() {
        return Ok(None);
    }
    let spec = read(&path)?;
    Ok(spec["argv"][0].as_str().map(PathBuf::from))
}

fn installed_display_name(path: &Path) -> Result<Option<String>> {
    Ok(read(path)?["display_name"].as_str().map(str::to_owned))
}

fn read(path: &Path) -> Result<serde_json::Value> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn course(home: &Path) -> Course {
        Course {
            root: home.join("checkout"),
            home: home.to_path_buf(),
        }
    }

    #[test]
    fn install_and_uninstall_leave_other_kernels_alone() {
        let tmp = tempfile::tempdir().unwrap();
        let kernels = kernels_dir(Some(tmp.path())).unwrap();
        let evcxr = kernels.join("rust");
        std::fs::create_dir_all(&evcxr).unwrap();
        std::fs::write(evcxr.join("kernel.json"), r#"{"display_name": "Rust"}"#).unwrap();

        let exe = tmp.path().join("bin").join("aiguide-kernel");
        let written = install(&course(tmp.path()), &exe, &kernels).unwrap();
        let spec = read(&written).unwrap();
        assert_eq!(spec["display_name"], DISPLAY_NAME);
        assert_eq!(spec["argv"][1], "--control_file");
        assert_eq!(spec["env"]["AIGUIDE_HOME"], tmp.path().to_str().unwrap());
        assert_eq!(installed_exe(&kernels).unwrap(), Some(exe));

        assert!(uninstall(&kernels).unwrap());
        assert!(!kernels.join(NAME).exists());
        assert!(
            evcxr.join("kernel.json").exists(),
            "evcxr's kernelspec untouched"
        );
        assert!(!uninstall(&kernels).unwrap(), "second uninstall is a no-op");
    }

    #[test]
    fn uninstall_refuses_a_foreign_directory_of_our_name() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join(NAME);
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("kernel.json"),
            r#"{"display_name": "Someone else"}"#,
        )
        .unwrap();
        assert!(uninstall(tmp.path()).is_err());
        assert!(dir.exists());
    }
}
