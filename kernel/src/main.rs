//! `aiguide-kernel`: the Jupyter kernel of the aiguide course, plus the tools
//! around it (install, doctor, headless runner, warm-up).
//!
//! The kernel itself is evcxr_jupyter's kernel loop; this binary prepares what
//! evcxr needs first: libtorch on the loader path, tch's build variables, the
//! course's evcxr configuration, and a persistent compile slot so that the
//! course crates are compiled once per machine rather than once per kernel.

mod capture;
mod cuda;
mod diagnose;
mod doctor;
mod environment;
mod evcxr_config;
mod heartbeat;
mod kernelspec;
mod notebook;
mod paths;
mod runner;
mod slots;
mod user_errors;

use anyhow::{Context, Result, bail};
use paths::Course;
use slots::Slot;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

const USAGE: &str = "\
aiguide-kernel: the Rust kernel of the aiguide course

usage:
  aiguide-kernel install [--prefix DIR]     register the \"Rust (aiguide)\" kernelspec
  aiguide-kernel uninstall [--prefix DIR]   remove it (other kernels are never touched)
  aiguide-kernel doctor                     check everything the course needs
  aiguide-kernel run [--inplace] NOTEBOOK...  execute notebooks headlessly
  aiguide-kernel warm [--slots N] [--course-build DIR]
                                            compile the course crates into a free slot, starting
                                            from `./course`'s build in the target dir DIR when
                                            given; copy it to N-1 more slots
  aiguide-kernel --control_file FILE        run as a Jupyter kernel (kernel.json does this)

environment: AIGUIDE_ROOT (checkout), AIGUIDE_HOME (cache, default ~/.cache/aiguide),
             AIGUIDE_PYTHON (Python with torch==2.13.0, default $AIGUIDE_HOME/venv/bin/python)";

fn main() -> ExitCode {
    // evcxr re-executes this binary as its runtime subprocess (and as a rustc
    // wrapper); in those roles `runtime_hook` never returns.
    if std::env::var_os("EVCXR_IS_RUNTIME").is_some() {
        cuda::preload_for_runtime();
        user_errors::fail_cells_on_errors();
    }
    evcxr::runtime_hook();
    environment::no_huge_pages();

    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("--control_file") => kernel(),
        Some("install") => install(&args[1..]),
        Some("uninstall") => uninstall(&args[1..]),
        Some("doctor") => doctor(),
        Some("run") => run(&args[1..]),
        Some("warm") => warm(&args[1..]),
        Some("help" | "--help" | "-h") | None => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => {
            eprintln!("aiguide-kernel: unknown command {other:?}\n\n{USAGE}");
            Ok(ExitCode::from(2))
        }
    };
    result.unwrap_or_else(|error| {
        eprintln!("aiguide-kernel: {error:#}");
        ExitCode::FAILURE
    })
}

/// Takes a compile slot and prepares the environment evcxr will inherit.
/// The slot stays locked until the process exits.
/// Takes a compile slot and prepares the environment for it. A cold slot is
/// copied from a warm sibling, or else (when given) from the course's cargo
/// build in the target dir `course_build`.
fn enter_slot(course: &Course, course_build: Option<&Path>) -> Result<Slot> {
    let slot = Slot::acquire(&course.home)?;
    if let Some(source) = slot.seed_from_warm_sibling(&course.home)? {
        eprintln!(
            "aiguide kernel: compile slot {} copied from warm slot {source}",
            slot.index
        );
    } else if let Some(build) = course_build
        && slot.seed_from_course_build(build, &environment::host_target()?, &course.lockfile())?
    {
        eprintln!(
            "aiguide kernel: compile slot {} starts from the course build in {}",
            slot.index,
            build.display()
        );
    }
    environment::prepare(course, &slot)?;
    Ok(slot)
}

fn kernel() -> Result<ExitCode> {
    let course = Course::locate()?;
    let slot = enter_slot(&course, None)?;
    // SAFETY: still single-threaded; evcxr_jupyter starts its threads below.
    unsafe { environment::shield_other_kernelspecs(&course) };
    eprintln!(
        "aiguide kernel: compile slot {} ({})",
        slot.index,
        if slot.is_warm() {
            "warm"
        } else {
            "cold: the first start compiles the course crates, which takes minutes"
        }
    );
    evcxr_jupyter::main().context(
        "the kernel stopped; if the course crates failed to build, `aiguide-kernel doctor` \
         says what is missing",
    )?;
    drop(slot);
    Ok(ExitCode::SUCCESS)
}

/// Parses `[--prefix DIR]`.
fn prefix_arg(args: &[String]) -> Result<Option<PathBuf>> {
    match args {
        [] => Ok(None),
        [flag, dir] if flag == "--prefix" => Ok(Some(PathBuf::from(dir))),
        _ => bail!("expected [--prefix DIR], got {args:?}"),
    }
}

fn install(args: &[String]) -> Result<ExitCode> {
    let course = Course::locate()?;
    let kernels = kernelspec::kernels_dir(prefix_arg(args)?.as_deref())?;
    let exe = std::env::current_exe()?;
    let path = kernelspec::install(&course, &exe, &kernels)?;
    println!(
        "installed kernelspec {:?} ({}) at {}",
        kernelspec::NAME,
        kernelspec::DISPLAY_NAME,
        path.display()
    );
    Ok(ExitCode::SUCCESS)
}

fn uninstall(args: &[String]) -> Result<ExitCode> {
    let kernels = kernelspec::kernels_dir(prefix_arg(args)?.as_deref())?;
    if kernelspec::uninstall(&kernels)? {
        println!("removed {}", kernels.join(kernelspec::NAME).display());
    } else {
        println!("no aiguide kernelspec in {}", kernels.display());
    }
    Ok(ExitCode::SUCCESS)
}

fn doctor() -> Result<ExitCode> {
    let course = Course::locate()?;
    let checks = doctor::checks(&course);
    let healthy = doctor::report(&checks, &mut std::io::stdout())?;
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

fn run(args: &[String]) -> Result<ExitCode> {
    let inplace = args.iter().any(|arg| arg == "--inplace");
    let paths: Vec<PathBuf> = args
        .iter()
        .filter(|arg| *arg != "--inplace")
        .map(PathBuf::from)
        .collect();
    if paths.is_empty() {
        bail!("no notebook given\n\n{USAGE}");
    }
    // Load everything first: a bad path is reported before minutes of work.
    let mut notebooks = Vec::new();
    for path in &paths {
        let absolute = std::path::absolute(path)?;
        match notebook::Notebook::load(&absolute) {
            Ok(notebook) => notebooks.push(notebook),
            Err(error) => {
                eprintln!("aiguide-kernel: {error}");
                return Ok(ExitCode::from(2));
            }
        }
    }
    let course = Course::locate()?;
    let slot = enter_slot(&course, None)?;
    let mut failures = 0;
    for mut notebook in notebooks {
        println!("{} (compile slot {})", notebook.path.display(), slot.index);
        let scratch = tempfile::tempdir()?;
        match runner::run(&mut notebook, scratch.path(), &mut std::io::stdout()) {
            Ok(passed) => {
                println!(
                    "passed: {} cells in {:.1} s (budget {:.0} s)",
                    passed.cells.len(),
                    passed.total.as_secs_f64(),
                    passed.budget.as_secs_f64()
                );
                if inplace {
                    notebook.save()?;
                    println!("outputs written to {}", notebook.path.display());
                }
            }
            Err(failure) => {
                failures += 1;
                eprint!("{failure}");
                if failure.cell.is_none()
                    && let Some(diagnosis) = diagnose::helper_crate(&course)
                {
                    eprintln!("{diagnosis}");
                }
            }
        }
    }
    Ok(if failures == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `warm`'s options: `[--slots N] [--course-build DIR]`.
#[derive(Debug, PartialEq)]
struct WarmArgs {
    /// How many slots to leave warm (default 1).
    slots: usize,
    /// The cargo target dir holding `./course`'s build of `notebook-deps`, to
    /// start a cold slot from.
    course_build: Option<PathBuf>,
}

fn warm_args(args: &[String]) -> Result<WarmArgs> {
    let mut parsed = WarmArgs {
        slots: 1,
        course_build: None,
    };
    for pair in args.chunks(2) {
        match pair {
            [flag, count] if flag == "--slots" => match count.parse() {
                Ok(count) if count >= 1 => parsed.slots = count,
                _ => bail!("--slots takes a whole number of slots, at least 1; got {count:?}"),
            },
            [flag, dir] if flag == "--course-build" => parsed.course_build = Some(dir.into()),
            _ => bail!("expected [--slots N] [--course-build DIR], got {args:?}"),
        }
    }
    Ok(parsed)
}

fn warm(args: &[String]) -> Result<ExitCode> {
    let WarmArgs {
        slots,
        course_build,
    } = warm_args(args)?;
    let course = Course::locate()?;
    let slot = enter_slot(&course, course_build.as_deref())?;
    if slot.is_warm() {
        println!(
            "compile slot {} holds compiled crates; bringing it up to date",
            slot.index
        );
    } else {
        println!(
            "compiling the course crates into slot {} (a few minutes, once per machine)",
            slot.index
        );
    }
    let start = Instant::now();
    let heartbeat =
        heartbeat::Heartbeat::start("still compiling the course crates", Duration::from_secs(30));
    let outcome = evcxr_config::warm_commands(&course.workspace_manifest())
        .and_then(|warm| runner::load_course_crates(&warm));
    drop(heartbeat);
    if let Err(error) = outcome {
        match diagnose::helper_crate(&course) {
            Some(diagnosis) => bail!("{error:#}\n{diagnosis}"),
            None => return Err(error),
        }
    }
    println!(
        "compile slot {} is warm ({:.0} s)",
        slot.index,
        start.elapsed().as_secs_f64()
    );
    // Held until the end, so that each acquire finds another free slot.
    let mut copies = Vec::new();
    for _ in 1..slots {
        let copy = Slot::acquire(&course.home)?;
        copy.copy_build_from(&slot.build_dir())?;
        println!(
            "compile slot {} is a copy of slot {}",
            copy.index, slot.index
        );
        copies.push(copy);
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(text: &str) -> Vec<String> {
        text.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn warm_takes_slots_and_a_course_build_in_any_order() {
        assert_eq!(
            warm_args(&[]).unwrap(),
            WarmArgs {
                slots: 1,
                course_build: None
            }
        );
        assert_eq!(
            warm_args(&args("--course-build /t --slots 2")).unwrap(),
            WarmArgs {
                slots: 2,
                course_build: Some("/t".into())
            }
        );
        assert!(warm_args(&args("--slots 0")).is_err());
        assert!(warm_args(&args("--slots")).is_err());
        assert!(warm_args(&args("--fast yes")).is_err());
    }
}
