//! Saying *why* the course crates failed to load.
//!
//! When a dependency fails to compile, evcxr keeps only the compiler's
//! headline ("mismatched types") and points it at the `:dep` command. The
//! usual culprit is an edit to the `aiguide` helper crate (or to
//! `aiguide-llm`), so on such a failure we build the notebooks' crates the
//! way `./course` does, reusing its target dir, and show rustc's own
//! messages, which name the file and line.

use crate::paths::Course;
use std::path::PathBuf;
use std::process::Command;

/// `./course`'s build of what notebooks load (scripts/course.py): the dev
/// profile with evcxr's flags and `--target`, so it reuses that build.
const BUILD: [&str; 5] = [
    "build",
    "-p",
    "aiguide-notebook-deps",
    "--message-format",
    "short",
];
const RUSTFLAGS: &str = "-Cprefer-dynamic";

/// The compiler's account of a broken course crate, or `None` when they build
/// (then the failure lies elsewhere and evcxr's message is all there is).
pub fn helper_crate(course: &Course) -> Option<String> {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| course.home.join("target"));
    let triple = crate::environment::host_target().ok()?;
    let output = Command::new("cargo")
        .args(BUILD)
        .args(["--target", &triple])
        .current_dir(&course.root)
        .env("CARGO_TARGET_DIR", target)
        .env("RUSTFLAGS", RUSTFLAGS)
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
        "the course crates do not compile (`RUSTFLAGS={RUSTFLAGS} cargo {} --target {triple}` \
         in {}):\n{}",
        BUILD.join(" "),
        course.root.display(),
        errors.join("\n")
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The compile slot reuses `./course`'s build only while both pass the
    /// flags evcxr passes; this guards the three copies of the value.
    #[test]
    fn the_course_builds_with_evcxrs_flags() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let read = |path: &str| std::fs::read_to_string(root.join(path)).unwrap();
        assert!(
            read("vendor/evcxr/src/eval_context.rs").contains(&format!(
                "let mut rustflags = vec![\"{RUSTFLAGS}\".to_owned()];"
            )),
            "evcxr's RUSTFLAGS changed: update diagnose.rs and scripts/course.py"
        );
        assert!(
            read("scripts/course.py").contains(&format!("\"RUSTFLAGS\": \"{RUSTFLAGS}\"")),
            "scripts/course.py must build the course crates with RUSTFLAGS={RUSTFLAGS}"
        );
    }
}
