//! `aiguide-kernel run` on small fixture notebooks: the real binary, the real
//! evcxr runtime and the course's compile slot, so these need `./course setup`
//! to have run (`./course test` does it first).

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Runs one at a time: concurrent runs would each take (and cold-compile) a
/// compile slot of their own.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests")
        .join("fixtures")
        .join(name)
}

fn run(args: &[&Path]) -> Output {
    let _guard = ONE_AT_A_TIME
        .lock()
        .unwrap_or_else(|poison| poison.into_inner());
    Command::new(env!("CARGO_BIN_EXE_aiguide-kernel"))
        .arg("run")
        .args(args)
        .output()
        .expect("the kernel binary runs")
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn a_passing_notebook_exits_zero_with_per_cell_times() {
    let output = run(&[&fixture("pass.ipynb")]);
    let stdout = text(&output.stdout);
    assert!(
        output.status.success(),
        "{stdout}\n{}",
        text(&output.stderr)
    );
    assert!(stdout.contains("cell   2"), "per-cell line: {stdout}");
    assert!(stdout.contains("passed: 2 cells"), "{stdout}");
}

/// Runs a copy of the fixture `name` with `--inplace`, checks that it passed
/// and returns its cells as written back, outputs included.
fn run_inplace(name: &str) -> Vec<serde_json::Value> {
    let dir = tempfile::tempdir().unwrap();
    let copy = dir.path().join(name);
    std::fs::copy(fixture(name), &copy).unwrap();
    let output = run(&[Path::new("--inplace"), &copy]);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let notebook: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&copy).unwrap()).unwrap();
    notebook["cells"].as_array().unwrap().clone()
}

#[test]
fn inplace_writes_the_outputs_a_jupyter_client_stores() {
    let cells = run_inplace("pass.ipynb");
    assert_eq!(
        cells[1]["outputs"][0],
        serde_json::json!({"output_type": "stream", "name": "stdout", "text": ["sum = 6\n"]})
    );
    assert_eq!(cells[2]["outputs"][0]["output_type"], "execute_result");
    assert_eq!(
        cells[2]["outputs"][0]["data"]["text/plain"],
        serde_json::json!(["4.0"])
    );
    assert_eq!(cells[2]["execution_count"], 2);
}

#[test]
fn a_type_error_names_the_cell_and_the_compiler_message() {
    let output = run(&[&fixture("type_error.ipynb")]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("type_error.ipynb: cell 2 failed: `let broken: String = 5;`"),
        "{stderr}"
    );
    assert!(stderr.contains("mismatched types"), "{stderr}");
    assert!(
        !text(&output.stdout).contains("cell   3"),
        "stops at the failing cell"
    );
}

#[test]
fn a_panic_names_the_cell_and_the_panic_message() {
    let output = run(&[&fixture("panic.ipynb")]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("panic.ipynb: cell 2 failed: `let loss_fell = false;`"),
        "{stderr}"
    );
    assert!(
        stderr.contains("panicked: the loss did not fall"),
        "{stderr}"
    );
    assert!(
        !stderr.contains("stack backtrace"),
        "no backtrace noise: {stderr}"
    );
}

#[test]
fn an_error_returned_with_question_mark_fails_the_cell() {
    let output = run(&[&fixture("question_mark.ipynb")]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains(
            "question_mark.ipynb: cell 2 failed: `let number: i32 = \"forty-two\".parse()?;`"
        ),
        "{stderr}"
    );
    assert!(
        stderr.contains("invalid digit found in string"),
        "the error itself: {stderr}"
    );
    assert!(
        !text(&output.stdout).contains("cell   3"),
        "stops at the failing cell"
    );
}

#[test]
fn a_notebook_over_its_budget_is_stopped_and_named() {
    let output = run(&[&fixture("over_budget.ipynb")]);
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("over_budget.ipynb: cell 2 failed"),
        "{stderr}"
    );
    assert!(stderr.contains("time budget of 20 s"), "{stderr}");
}

#[test]
fn what_is_not_a_rust_notebook_gets_one_line() {
    for (name, expected) in [
        ("not_a_notebook.txt", "is not a Jupyter notebook"),
        ("python.ipynb", "is a python notebook, not a Rust notebook"),
    ] {
        let output = run(&[&fixture(name)]);
        let stderr = text(&output.stderr);
        assert_eq!(output.status.code(), Some(2), "{name}: {stderr}");
        assert_eq!(stderr.lines().count(), 1, "{name}: {stderr}");
        assert!(stderr.contains(expected), "{name}: {stderr}");
    }
}

#[test]
fn a_dep_line_mid_notebook_reaches_later_cells() {
    let cells = run_inplace("dep_mid_notebook.ipynb");
    assert_eq!(
        cells[3]["outputs"][0]["text"],
        serde_json::json!(["boom 6\n"])
    );
    assert_eq!(
        cells[4]["outputs"][0]["data"]["text/plain"],
        serde_json::json!(["7"])
    );
}
