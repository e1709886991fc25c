//! The process environment a course kernel hands to evcxr.
//!
//! evcxr runs `cargo` to build each cell and a runtime subprocess to execute
//! it; both inherit this process's environment. So before evcxr starts we put
//! libtorch on the loader path, tell tch's build script to take libtorch from
//! the course's `torch` wheel, and point evcxr at this kernel's slot.

use crate::paths::Course;
use crate::slots::Slot;
use anyhow::{Context, Result, anyhow, bail};
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::Command;

/// Prepares the environment for a kernel that owns `slot`, and writes the
/// slot's evcxr configuration.
pub fn prepare(course: &Course, slot: &Slot) -> Result<()> {
    let torch_lib = course.torch_lib()?;
    let rust_libs = rust_library_dirs(slot)?;
    crate::evcxr_config::write(
        &course.workspace_manifest(),
        &slot.config_dir(),
        &rust_libs.slot_deps,
    )?;
    let python_bin = course
        .python()
        .parent()
        .map(Path::to_path_buf)
        .unwrap_or_default();
    // SAFETY: called from `main` before evcxr, tokio or any other thread starts,
    // so nothing can read the environment concurrently.
    unsafe {
        scrub_cargo_variables();
        prepend_path("LD_LIBRARY_PATH", &torch_lib);
        prepend_path("LD_LIBRARY_PATH", &rust_libs.sysroot);
        prepend_path("LD_LIBRARY_PATH", &rust_libs.slot_deps);
        // tch's build script asks `python3` on PATH where libtorch is.
        prepend_path("PATH", &python_bin);
        std::env::set_var("LIBTORCH_USE_PYTORCH", "1");
        std::env::set_var("EVCXR_TMPDIR", slot.build_dir());
        std::env::set_var("EVCXR_CONFIG_DIR", slot.config_dir());
        // The runtime subprocess reads this to find libtorch_cuda (see `cuda`).
        std::env::set_var(crate::cuda::TORCH_LIB_VAR, &torch_lib);
        passive_openmp_threads();
    }
    Ok(())
}

/// Lets libtorch's OpenMP worker threads sleep, not spin, while they wait
/// for work, unless the user chose a policy.
///
/// By default libgomp's idle threads spin for a while before sleeping. A
/// notebook runs many small tensor operations, and on a machine whose cores
/// are shared (two notebooks open at once, a build, the test harness's second
/// worker) the spinning threads take the cores the working ones need. With
/// four kernels sharing two cores, 4,500 small training steps of 04-5 took
/// 11 s with `PASSIVE` and more than 229 s without it.
///
/// # Safety
/// Writes the environment; see [`prepare`].
unsafe fn passive_openmp_threads() {
    if std::env::var_os("OMP_WAIT_POLICY").is_none() {
        // SAFETY: forwarded to the caller.
        unsafe { std::env::set_var("OMP_WAIT_POLICY", "PASSIVE") };
    }
}

/// Variables cargo sets for the processes it runs (tests, build scripts,
/// `cargo run`). When the kernel itself runs under cargo, as in the kernel's
/// own tests, they would leak into evcxr's builds; several build scripts
/// (ring's, for one) watch them with `rerun-if-env-changed`, so the compile
/// slot would rebuild whenever the kernel's parent changed.
const CARGO_SET_PREFIXES: &[&str] = &[
    "CARGO_PKG_",
    "CARGO_CFG_",
    "CARGO_FEATURE_",
    "CARGO_BIN_EXE_",
];
const CARGO_SET_NAMES: &[&str] = &[
    "CARGO_MANIFEST_DIR",
    "CARGO_MANIFEST_PATH",
    "CARGO_MANIFEST_LINKS",
    "CARGO_CRATE_NAME",
    "CARGO_BIN_NAME",
    "CARGO_PRIMARY_PACKAGE",
    "CARGO_TARGET_TMPDIR",
    "CARGO_RUSTC_CURRENT_DIR",
    "OUT_DIR",
];

/// # Safety
/// Writes the environment; see [`prepare`].
unsafe fn scrub_cargo_variables() {
    let leaked: Vec<_> = std::env::vars_os()
        .filter_map(|(name, _)| name.into_string().ok())
        .filter(|name| {
            CARGO_SET_NAMES.contains(&name.as_str())
                || CARGO_SET_PREFIXES
                    .iter()
                    .any(|prefix| name.starts_with(prefix))
        })
        .collect();
    for name in leaked {
        // SAFETY: forwarded to the caller.
        unsafe { std::env::remove_var(name) };
    }
}

/// The directories a cell library's Rust dependencies live in: the
/// toolchain's `libstd-*.so` and the slot's compiled crates.
///
/// evcxr builds each cell with `-C prefer-dynamic` and loads the copy cargo
/// places next to `deps/`, whose relative rpath was computed for `deps/`.
/// That happens to work when the slot and `~/.rustup` share no directory
/// prefix, but under `~/.cache` the rpath points one level off, and loading
/// fails with a bare "dlopen failed". The loader path does not depend on that.
fn rust_library_dirs(slot: &Slot) -> Result<RustLibraryDirs> {
    let sysroot = rustc_print(&["--print", "sysroot"])?;
    let host = host_target()?;
    Ok(RustLibraryDirs {
        sysroot: Path::new(&sysroot)
            .join("lib")
            .join("rustlib")
            .join(&host)
            .join("lib"),
        slot_deps: slot
            .build_dir()
            .join("target")
            .join(&host)
            .join("debug")
            .join("deps"),
    })
}

/// The host's target triple, as `rustc -vV` reports it. evcxr builds cells
/// with `--target` set to it, so cargo puts the compiled crates under
/// `target/<triple>/debug` and build scripts and proc macros under
/// `target/debug`; a build that is to share evcxr's artifacts does the same.
pub fn host_target() -> Result<String> {
    rustc_print(&["-vV"])?
        .lines()
        .find_map(|line| line.strip_prefix("host: "))
        .map(str::to_owned)
        .ok_or_else(|| anyhow!("`rustc -vV` did not print a host triple"))
}

/// The directories of the Rust libraries a cell loads.
struct RustLibraryDirs {
    /// The toolchain's `libstd-*.so`.
    sysroot: PathBuf,
    /// The crates this slot compiled (evcxr builds for the host triple).
    slot_deps: PathBuf,
}

fn rustc_print(args: &[&str]) -> Result<String> {
    let output = Command::new("rustc")
        .args(args)
        .output()
        .context("cannot run `rustc`; install Rust with rustup (https://rustup.rs)")?;
    if !output.status.success() {
        bail!(
            "`rustc {}` failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&output.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&output.stdout).trim().to_owned())
}

/// Turns transparent huge pages off for this process and the ones it starts.
///
/// evcxr's allocator (mimalloc) asks the kernel for huge pages, and Linux
/// then zeroes 2 MiB at a time: with rust-analyzer's many small allocations
/// that was 18 % of a kernel start's samples (`perf`), about 2.4 s of system
/// time per start, for memory mostly never touched. rustc and libtorch do not
/// ask for huge pages, so nothing else changes.
pub fn no_huge_pages() {
    #[cfg(target_os = "linux")]
    // SAFETY: PR_SET_THP_DISABLE only sets a flag on this process.
    unsafe {
        libc::prctl(libc::PR_SET_THP_DISABLE, 1, 0, 0, 0);
    }
}

/// Hides evcxr's own `rust` kernelspec from the kernel loop: on every start
/// evcxr_jupyter rewrites `$JUPYTER_PATH/kernels/rust` when it finds one of
/// another version there, and the course must never touch another kernel.
/// Pointing `JUPYTER_PATH` at a directory of ours makes that a no-op.
///
/// # Safety
/// Must be called before other threads start (it writes the environment).
pub unsafe fn shield_other_kernelspecs(course: &Course) {
    let shield = course.home.join("jupyter-shield");
    // SAFETY: forwarded to the caller.
    unsafe { std::env::set_var("JUPYTER_PATH", shield) };
}

/// # Safety
/// Writes the environment; see [`prepare`].
unsafe fn prepend_path(var: &str, dir: &Path) {
    let mut value = OsString::from(dir);
    if let Some(old) = std::env::var_os(var).filter(|old| !old.is_empty()) {
        value.push(":");
        value.push(old);
    }
    // SAFETY: forwarded to the caller.
    unsafe { std::env::set_var(var, value) };
}
