//! Saying *why* the course crates failed to load.
//!
//! When a dependency fails to compile, evcxr keeps only the compiler's
//! headline ("mismatched types") and points it at the `:dep` command. The
//! usual culprit is an edit to the `aiguide` helper crate, so on such a
//! failure we build that crate the way `./course` does, reusing its target
//! dir, and show rustc's own messages, which name the file and line.

use crate::paths::Course;
use std::path::PathBuf;
use std::process::Command;

/// The compiler's account of a broken `aiguide`, or `None` when it builds
/// (then the failure lies elsewhere and evcxr's message is all there is).
pub fn helper_crate(course: &Course) -> Option<String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| course.home.join("target"));
    let output = Command::new("cargo")
        .args([
            "build",
            "--release",
            "-p",
            "aiguide",
            "--message-format",
            "short",
        ])
        .current_dir(&course.root)
        .env("CARGO_TARGET_DIR", target)
        .output()
        .ok()?;
    if output.status.success() {
        return None;
    }
    let stderr = String::from_utf8_lossy(&output.stderr);
    let errors: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("error") || line.contains("warning: unused"))
        .collect();
    Some(format!(
        "the helper crate does not compile (`cargo build --release -p aiguide` in {}):\n{}",
        course.root.display(),
        errors.join("\n")
    ))
}
