//! Executing notebooks headlessly, in-process, with the `evcxr` crate.
//!
//! This gives the same verdict as running the notebook through Jupyter with
//! our kernel (same evcxr configuration, same compile slot), without needing
//! Jupyter: a developer iterating on one notebook gets a pass/fail, per-cell
//! times and, with `--inplace`, the outputs a Jupyter client would store.

use crate::capture::Capture;
use crate::notebook::{CodeCell, Notebook};
use evcxr::{CommandContext, Error};
use serde_json::{Value, json};
use std::fmt;
use std::path::Path;
use std::sync::mpsc;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// How long stderr may stay quiet before a cell's stderr is considered
/// complete, and the longest the runner waits for it.
const STDERR_QUIET: Duration = Duration::from_millis(25);
const STDERR_LIMIT: Duration = Duration::from_secs(2);

/// A notebook that ran to the end.
pub struct Passed {
    pub cells: Vec<(CodeCell, Duration)>,
    pub total: Duration,
    pub budget: Duration,
}

/// Why a notebook did not pass, naming the cell where it stopped.
#[derive(Debug)]
pub struct Failure {
    pub notebook: String,
    /// `None` when the course crates failed to load before the first cell.
    pub cell: Option<CodeCell>,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.cell {
            Some(cell) => writeln!(
                f,
                "{}: cell {} failed: `{}`",
                self.notebook,
                cell.number,
                cell.first_line()
            )?,
            None => writeln!(
                f,
                "{}: the course crates failed to load before the first cell",
                self.notebook
            )?,
        }
        for line in self.message.lines() {
            writeln!(f, "    {line}")?;
        }
        Ok(())
    }
}

/// One evcxr context with its output readers.
struct Session {
    context: CommandContext,
    stdout: Capture,
    stderr: Capture,
}

impl Session {
    fn start() -> Result<Session, Error> {
        let (context, outputs) = CommandContext::new()?;
        Ok(Session {
            context,
            stdout: Capture::spawn(outputs.stdout),
            stderr: Capture::spawn(outputs.stderr),
        })
    }

    /// A session with the course crates loaded, as a kernel starts; the error
    /// is the compiler's or cargo's account of what failed.
    fn loaded() -> Result<Session, String> {
        let mut session = Session::start().map_err(|error| error.to_string())?;
        let (loaded, _, stderr) = session.execute(":load_config --quiet");
        match loaded {
            Ok(_) => Ok(session),
            Err(error) => Err(describe(&error, &stderr).join("\n")),
        }
    }

    /// Runs `code` and returns what evcxr produced plus the output lines.
    fn execute(
        &mut self,
        code: &str,
    ) -> (Result<evcxr::EvalOutputs, Error>, Vec<String>, Vec<String>) {
        let result = self.context.execute(code);
        let stdout = self.stdout.take();
        let stderr = self.stderr.take_settled(STDERR_QUIET, STDERR_LIMIT);
        (result, stdout, stderr)
    }
}

/// Compiles the course crates into the current compile slot, so that the
/// next kernel to use the slot starts warm: the preloaded ones, then each
/// `:dep` command of `warm` (crates single notebooks load themselves).
pub fn load_course_crates(warm: &[String]) -> anyhow::Result<()> {
    let mut session = Session::loaded()
        .map_err(|message| anyhow::anyhow!("the course crates failed to build:\n{message}"))?;
    for command in warm {
        println!("  {command}");
        let (result, _, stderr) = session.execute(command);
        if let Err(error) = result {
            anyhow::bail!(
                "`{command}` failed to build:\n{}",
                describe(&error, &stderr).join("\n")
            );
        }
    }
    Ok(())
}

/// Runs every code cell of `notebook` in a fresh evcxr context, in a scratch
/// working directory (so a notebook never writes into the checkout), printing
/// one progress line per cell to `progress`. Outputs are recorded into
/// `notebook`; the caller decides whether to save them.
pub fn run(
    notebook: &mut Notebook,
    scratch: &Path,
    progress: &mut dyn std::io::Write,
) -> Result<Passed, Box<Failure>> {
    let name = notebook.path.display().to_string();
    let fail = |cell: Option<&CodeCell>, message: String| {
        Box::new(Failure {
            notebook: name.clone(),
            cell: cell.cloned(),
            message,
        })
    };
    if let Err(error) = std::env::set_current_dir(scratch) {
        return Err(fail(
            None,
            format!("cannot enter {}: {error}", scratch.display()),
        ));
    }
    let mut session = Session::loaded().map_err(|message| fail(None, message))?;

    let budget = notebook.budget();
    let deadline = Watchdog::start(session.context.process_handle(), budget);
    let mut cells = Vec::new();
    let start = Instant::now();
    notebook.clear_outputs();
    for (index, cell) in notebook.code_cells().into_iter().enumerate() {
        let cell_start = Instant::now();
        let (result, stdout, stderr) = session.execute(&cell.source);
        let wall = cell_start.elapsed();
        let mut outputs = stream_outputs(&stdout, &stderr);
        let failed = match &result {
            Ok(eval) => {
                if !eval.content_by_mime_type.is_empty() {
                    outputs.push(execute_result(index + 1, &eval.content_by_mime_type));
                }
                if let Some(timing) = eval.timing {
                    outputs.push(timing_result(index + 1, timing));
                }
                None
            }
            Err(error) => {
                let lines = describe(error, &stderr);
                outputs.push(json!({
                    "output_type": "error",
                    "ename": "Error",
                    "evalue": lines.first().cloned().unwrap_or_default(),
                    "traceback": lines,
                }));
                Some(error)
            }
        };
        notebook.set_outputs(cell.number, index + 1, outputs);
        let _ = writeln!(
            progress,
            "  cell {:>3}  {:>7.2} s  {}  {}",
            cell.number,
            wall.as_secs_f64(),
            if failed.is_some() { "FAILED" } else { "ok    " },
            truncate(cell.first_line(), 60)
        );
        if let Some(error) = failed {
            let mut message = describe(error, &stderr).join("\n");
            if deadline.expired() {
                message = format!(
                    "exceeded the notebook's time budget of {:.0} s (metadata.aiguide.budget_s); \
                     the cell was stopped\n{message}",
                    budget.as_secs_f64()
                );
            }
            return Err(fail(Some(&cell), message));
        }
        cells.push((cell, wall));
    }
    let total = start.elapsed();
    if total > budget {
        let slowest = cells
            .iter()
            .max_by_key(|(_, wall)| *wall)
            .map(|(cell, _)| cell.clone());
        return Err(fail(
            slowest.as_ref(),
            format!(
                "the notebook took {:.1} s, over its time budget of {:.0} s; this is its slowest cell",
                total.as_secs_f64(),
                budget.as_secs_f64()
            ),
        ));
    }
    Ok(Passed {
        cells,
        total,
        budget,
    })
}

/// Kills the runtime subprocess if the notebook outlives its budget, so a
/// runaway cell ends with an error instead of hanging the run.
struct Watchdog {
    expired: Arc<Mutex<bool>>,
    _cancel: mpsc::Sender<()>,
}

impl Watchdog {
    fn start(process: Arc<Mutex<std::process::Child>>, budget: Duration) -> Watchdog {
        let expired = Arc::new(Mutex::new(false));
        let flag = Arc::clone(&expired);
        let (cancel, cancelled) = mpsc::channel::<()>();
        std::thread::spawn(move || {
            if let Err(mpsc::RecvTimeoutError::Timeout) = cancelled.recv_timeout(budget) {
                *flag.lock().unwrap_or_else(|poison| poison.into_inner()) = true;
                if let Ok(mut child) = process.lock() {
                    let _ = child.kill();
                }
            }
        });
        Watchdog {
            expired,
            _cancel: cancel,
        }
    }

    fn expired(&self) -> bool {
        *self
            .expired
            .lock()
            .unwrap_or_else(|poison| poison.into_inner())
    }
}

/// Stream outputs as nbclient stores them: one per stream, lines joined.
fn stream_outputs(stdout: &[String], stderr: &[String]) -> Vec<Value> {
    [("stdout", stdout), ("stderr", stderr)]
        .into_iter()
        .filter(|(_, lines)| !lines.is_empty())
        .map(|(name, lines)| {
            json!({
                "output_type": "stream",
                "name": name,
                "text": lines.iter().map(|line| format!("{line}\n")).collect::<String>(),
            })
        })
        .collect()
}

/// A rich result, with JSON MIME types parsed as evcxr_jupyter sends them.
fn execute_result(
    execution_count: usize,
    content: &std::collections::HashMap<String, String>,
) -> Value {
    let data: serde_json::Map<String, Value> = content
        .iter()
        .map(|(mime, text)| {
            let value = if mime.contains("json") {
                serde_json::from_str(text).unwrap_or_else(|_| Value::from(text.as_str()))
            } else {
                Value::from(text.as_str())
            };
            (mime.clone(), value)
        })
        .collect();
    json!({
        "output_type": "execute_result",
        "execution_count": execution_count,
        "data": data,
        "metadata": {},
    })
}

/// What evcxr_jupyter sends after each cell once `:timing` is on: a second
/// result with the cell's time.
fn timing_result(execution_count: usize, timing: Duration) -> Value {
    let content = std::collections::HashMap::from([(
        "text/html".to_owned(),
        format!(
            "<span style=\"color: rgba(0,0,0,0.4);\">Took {}ms</span>",
            timing.as_millis()
        ),
    )]);
    execute_result(execution_count, &content)
}

/// Human-readable lines for an evcxr error: compiler diagnostics with the
/// offending source line and a caret, or the runtime's last stderr lines (the
/// panic message) followed by evcxr's own message.
fn describe(error: &Error, stderr: &[String]) -> Vec<String> {
    let mut lines = Vec::new();
    match error {
        Error::CompilationErrors(errors) => {
            for error in errors {
                lines.push(format!(
                    "error{}: {}",
                    error
                        .code()
                        .map(|code| format!("[{code}]"))
                        .unwrap_or_default(),
                    error.message()
                ));
                for spanned in error.spanned_messages() {
                    lines.extend(spanned.lines.iter().cloned());
                    if let Some(span) = &spanned.span {
                        let width = span.end_column.saturating_sub(span.start_column).max(1);
                        lines.push(format!(
                            "{}{} {}",
                            " ".repeat(span.start_column.saturating_sub(1)),
                            "^".repeat(width),
                            spanned.label
                        ));
                    } else if !spanned.label.is_empty() {
                        lines.push(spanned.label.clone());
                    }
                }
                lines.extend(error.help().into_iter().map(|help| format!("help: {help}")));
            }
        }
        other => {
            lines.extend(stderr.iter().cloned());
            lines.push(other.to_string());
        }
    }
    lines
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        text.chars().take(max - 1).chain(['…']).collect()
    }
}
