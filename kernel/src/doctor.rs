//! `aiguide-kernel doctor`: one table of what the course needs, whether it is
//! here, and the command that fixes each missing piece.

use crate::kernelspec;
use crate::paths::Course;
use crate::slots::Slot;
use std::path::Path;
use std::process::Command;

/// How much a missing item matters.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    Required,
    Optional,
}

/// One row of the report.
#[derive(Debug)]
pub struct Check {
    pub item: &'static str,
    pub need: Need,
    /// `Ok(detail)` when present, `Err((detail, fix))` when missing.
    pub outcome: Result<String, (String, String)>,
}

impl Check {
    fn new(item: &'static str, need: Need, outcome: Result<String, (String, String)>) -> Check {
        Check {
            item,
            need,
            outcome,
        }
    }
}

/// Runs every check. Nothing here changes the machine.
pub fn checks(course: &Course) -> Vec<Check> {
    let python = course.python();
    let site = course.site_packages();
    let rust_version = command_line("rustc", &["--version"]);
    vec![
        Check::new(
            "Rust toolchain",
            Need::Required,
            rust_version.ok_or((
                "rustc not found".into(),
                "install rustup: https://rustup.rs".into(),
            )),
        ),
        Check::new(
            "Python (course env)",
            Need::Required,
            command_line(&python.to_string_lossy(), &["--version"])
                .map(|version| format!("{version} at {}", python.display()))
                .ok_or((
                    format!("no Python at {}", python.display()),
                    "./course setup".into(),
                )),
        ),
        Check::new(
            "torch (libtorch)",
            Need::Required,
            match (&site, course.torch_lib()) {
                (Ok(_), Ok(lib)) => Ok(format!(
                    "{} in {}",
                    package_version(course, "torch").unwrap_or_else(|| "?".into()),
                    lib.display()
                )),
                (_, Err(error)) => Err((error.to_string(), "./course setup".into())),
                (Err(error), _) => Err((error.to_string(), "./course setup".into())),
            },
        ),
        Check::new("CUDA", Need::Optional, cuda(course)),
        Check::new("BLAS (OpenBLAS)", Need::Required, openblas()),
        Check::new(
            "Jupyter (lab, nbclient)",
            Need::Required,
            match (
                package_version(course, "jupyterlab"),
                package_version(course, "nbclient"),
            ) {
                (Some(lab), Some(nbclient)) => Ok(format!("jupyterlab {lab}, nbclient {nbclient}")),
                _ => Err((
                    "jupyterlab or nbclient not installed".into(),
                    "./course setup".into(),
                )),
            },
        ),
        Check::new(
            "kernelspec \"aiguide\"",
            Need::Required,
            kernelspec_status(course),
        ),
        Check::new(
            "compile slot (warm start)",
            Need::Optional,
            slot_status(course),
        ),
        Check::new("data assets", Need::Required, data_assets(course)),
    ]
}

/// Prints the table; returns whether every required item is present.
pub fn report(checks: &[Check], out: &mut dyn std::io::Write) -> std::io::Result<bool> {
    let width = checks
        .iter()
        .map(|check| check.item.len())
        .max()
        .unwrap_or(0);
    let mut healthy = true;
    for check in checks {
        let (mark, detail) = match (&check.outcome, check.need) {
            (Ok(detail), _) => ("ok  ", detail.clone()),
            (Err((detail, fix)), need) => {
                healthy &= need == Need::Optional;
                let mark = if need == Need::Required {
                    "MISS"
                } else {
                    "--  "
                };
                (
                    mark,
                    format!("{detail}\n{:w$}       fix: {fix}", "", w = width),
                )
            }
        };
        writeln!(out, "{mark}  {:width$}  {detail}", check.item)?;
    }
    writeln!(
        out,
        "{}",
        if healthy {
            "All required items are present."
        } else {
            "Some required items are missing: run the `fix` commands above."
        }
    )?;
    Ok(healthy)
}

fn command_line(program: &str, args: &[&str]) -> Option<String> {
    let output = Command::new(program).args(args).output().ok()?;
    output
        .status
        .success()
        .then(|| String::from_utf8_lossy(&output.stdout).trim().to_owned())
        .filter(|line| !line.is_empty())
}

/// A package's installed version, read from its metadata (fast: no import).
fn package_version(course: &Course, package: &str) -> Option<String> {
    command_line(
        &course.python().to_string_lossy(),
        &[
            "-c",
            &format!("import importlib.metadata as m; print(m.version({package:?}))"),
        ],
    )
}

fn cuda(course: &Course) -> Result<String, (String, String)> {
    let cuda_build = course
        .torch_lib()
        .map(|lib| lib.join("libtorch_cuda.so").is_file())
        .unwrap_or(false);
    let gpus = command_line("nvidia-smi", &["-L"]);
    match (cuda_build, gpus) {
        (true, Some(gpus)) => Ok(gpus.replace('\n', "; ")),
        (true, None) => Err((
            "torch has CUDA, but no NVIDIA GPU/driver here: notebooks run on CPU".into(),
            "none needed; use a machine with an NVIDIA GPU for the GPU cells".into(),
        )),
        (false, _) => Err((
            "torch build has no CUDA".into(),
            "./course setup (installs the CUDA build of torch==2.13.0)".into(),
        )),
    }
}

fn openblas() -> Result<String, (String, String)> {
    let candidates = [
        "/usr/lib/x86_64-linux-gnu/libopenblas.so",
        "/usr/lib/aarch64-linux-gnu/libopenblas.so",
        "/usr/lib/libopenblas.so",
    ];
    if let Some(found) = candidates.iter().find(|path| Path::new(path).exists()) {
        return Ok((*found).to_owned());
    }
    if let Some(prefix) = std::env::var_os("CONDA_PREFIX") {
        let lib = Path::new(&prefix).join("lib").join("libopenblas.so");
        if lib.exists() {
            return Ok(lib.display().to_string());
        }
    }
    Err((
        "libopenblas.so not found".into(),
        "sudo apt-get install libopenblas-dev   (conda: conda install openblas)".into(),
    ))
}

fn kernelspec_status(course: &Course) -> Result<String, (String, String)> {
    let fix = || "./course setup   (or: aiguide-kernel install)".to_owned();
    let mut places = Vec::new();
    if let Ok(user) = kernelspec::kernels_dir(None) {
        places.push(user);
    }
    if let Ok(prefix) = python_prefix(course) {
        places.push(kernelspec::kernels_dir(Some(&prefix)).expect("a prefix always resolves"));
    }
    for kernels in &places {
        if let Ok(Some(exe)) = kernelspec::installed_exe(kernels) {
            return if exe.is_file() {
                Ok(format!(
                    "{} -> {}",
                    kernels.join(kernelspec::NAME).display(),
                    exe.display()
                ))
            } else {
                Err((
                    format!("installed, but {} is missing", exe.display()),
                    fix(),
                ))
            };
        }
    }
    Err(("not installed".into(), fix()))
}

fn python_prefix(course: &Course) -> anyhow::Result<std::path::PathBuf> {
    command_line(
        &course.python().to_string_lossy(),
        &["-c", "import sys; print(sys.prefix)"],
    )
    .map(std::path::PathBuf::from)
    .ok_or_else(|| anyhow::anyhow!("no course Python"))
}

fn slot_status(course: &Course) -> Result<String, (String, String)> {
    let fix = "aiguide-kernel warm   (./course setup does this)".to_owned();
    match Slot::acquire(&course.home) {
        Ok(slot) if slot.is_warm() => Ok(format!("slot {} is warm", slot.index)),
        Ok(slot) => Err((
            format!(
                "slot {} is cold: the first kernel will compile the course crates (minutes)",
                slot.index
            ),
            fix,
        )),
        Err(error) => Err((error.to_string(), fix)),
    }
}

/// Delegates to the data hub's own verifier, the one place that knows the
/// manifest's format and checksums, and sums up its per-file lines.
fn data_assets(course: &Course) -> Result<String, (String, String)> {
    let fix = "./course data".to_owned();
    let script = course.root.join("scripts").join("datahub.py");
    let output = Command::new(course.python())
        .arg(&script)
        .arg("verify")
        .output()
        .map_err(|error| {
            (
                format!("cannot run {}: {error}", script.display()),
                fix.clone(),
            )
        })?;
    let stdout = String::from_utf8_lossy(&output.stdout);
    let verified = stdout.lines().filter(|line| line.starts_with("ok")).count();
    let optional = stdout
        .lines()
        .filter(|line| line.starts_with("absent"))
        .count();
    if output.status.success() {
        return Ok(format!(
            "{verified} files verified{}",
            if optional > 0 {
                format!(", {optional} optional ones (MNIST, CIFAR-10) not downloaded")
            } else {
                String::new()
            }
        ));
    }
    let problems: Vec<&str> = stdout
        .lines()
        .filter(|line| line.starts_with("MISMATCH") || line.starts_with("missing"))
        .collect();
    let detail = if problems.is_empty() {
        String::from_utf8_lossy(&output.stderr).trim().to_owned()
    } else {
        let shown: Vec<&str> = problems.iter().take(3).copied().collect();
        format!(
            "{} of {} files missing or damaged, e.g. {}",
            problems.len(),
            problems.len() + verified,
            shown.join("; ")
        )
    };
    Err((detail, fix))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_required_item_fails_and_names_its_fix() {
        let checks = vec![
            Check::new("present", Need::Required, Ok("fine".into())),
            Check::new(
                "gpu",
                Need::Optional,
                Err(("none".into(), "buy one".into())),
            ),
        ];
        let mut out = Vec::new();
        assert!(
            report(&checks, &mut out).unwrap(),
            "optional items do not fail"
        );

        let checks = vec![Check::new(
            "blas",
            Need::Required,
            Err(("missing".into(), "apt-get install libopenblas-dev".into())),
        )];
        let mut out = Vec::new();
        assert!(!report(&checks, &mut out).unwrap());
        let text = String::from_utf8(out).unwrap();
        assert!(text.contains("MISS  blas"), "{text}");
        assert!(
            text.contains("fix: apt-get install libopenblas-dev"),
            "{text}"
        );
    }
}
