//! Reading and writing Jupyter notebooks (nbformat 4) as the Jupyter tools do.
//!
//! Only what the runner needs is modelled: the cells' sources and outputs,
//! and the notebook's language and time budget. Everything else is kept as
//! JSON and written back unchanged.

use anyhow::{Context, Result, anyhow, bail};
use serde_json::{Map, Value, json};
use std::path::{Path, PathBuf};
use std::time::Duration;

/// Per-notebook time budget unless its metadata says otherwise
/// (`metadata.aiguide.budget_s`).
pub const DEFAULT_BUDGET: Duration = Duration::from_secs(180);

#[derive(Debug)]
pub struct Notebook {
    pub path: PathBuf,
    json: Value,
}

/// One code cell, with its position among all cells (1-based, as a reader
/// counts them in Jupyter Lab).
#[derive(Debug, Clone)]
pub struct CodeCell {
    pub number: usize,
    pub source: String,
}

impl CodeCell {
    /// The first non-blank line, to name the cell in reports.
    pub fn first_line(&self) -> &str {
        self.source
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or("")
    }
}

impl Notebook {
    /// Loads a Rust notebook, with a one-line error for anything else.
    pub fn load(path: &Path) -> Result<Notebook> {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        let json: Value = serde_json::from_str(&text).map_err(|error| {
            anyhow!(
                "{} is not a Jupyter notebook (not JSON: {error})",
                path.display()
            )
        })?;
        if json.get("cells").and_then(Value::as_array).is_none()
            || json.get("nbformat").and_then(Value::as_u64).is_none()
        {
            bail!(
                "{} is not a Jupyter notebook (no `cells` / `nbformat`)",
                path.display()
            );
        }
        if json["nbformat"] != 4 {
            bail!(
                "{} is nbformat {}; only nbformat 4 is supported (re-save it with Jupyter Lab)",
                path.display(),
                json["nbformat"]
            );
        }
        let language = json["metadata"]["kernelspec"]["language"]
            .as_str()
            .or_else(|| json["metadata"]["language_info"]["name"].as_str())
            .unwrap_or("unknown");
        if language != "rust" {
            bail!(
                "{} is a {language} notebook, not a Rust notebook (choose the \"Rust (aiguide)\" kernel)",
                path.display()
            );
        }
        Ok(Notebook {
            path: path.to_path_buf(),
            json,
        })
    }

    /// The code cells in order, empty ones skipped.
    pub fn code_cells(&self) -> Vec<CodeCell> {
        self.cells()
            .iter()
            .enumerate()
            .filter(|(_, cell)| cell["cell_type"] == "code")
            .map(|(index, cell)| CodeCell {
                number: index + 1,
                source: join_source(&cell["source"]),
            })
            .filter(|cell| !cell.source.trim().is_empty())
            .collect()
    }

    /// The notebook's time budget for all its cells together.
    pub fn budget(&self) -> Duration {
        self.json["metadata"]["aiguide"]["budget_s"]
            .as_f64()
            .filter(|seconds| *seconds > 0.0)
            .map(Duration::from_secs_f64)
            .unwrap_or(DEFAULT_BUDGET)
    }

    /// Replaces a cell's outputs and execution count, as a Jupyter client does
    /// after running it.
    pub fn set_outputs(&mut self, number: usize, execution_count: usize, outputs: Vec<Value>) {
        let cell = &mut self.json["cells"][number - 1];
        cell["outputs"] = Value::Array(outputs);
        cell["execution_count"] = json!(execution_count);
    }

    /// Clears every code cell's outputs (before a fresh run is recorded).
    pub fn clear_outputs(&mut self) {
        if let Some(cells) = self.json["cells"].as_array_mut() {
            for cell in cells.iter_mut().filter(|cell| cell["cell_type"] == "code") {
                cell["outputs"] = json!([]);
                cell["execution_count"] = Value::Null;
            }
        }
    }

    /// Writes the notebook in nbformat's own layout (sorted keys, one-space
    /// indent, multi-line strings as lists of lines), so that saving it from
    /// here or from Jupyter gives the same diff.
    pub fn save(&self) -> Result<()> {
        let mut json = self.json.clone();
        split_multiline_strings(&mut json);
        let mut bytes = Vec::new();
        let formatter = serde_json::ser::PrettyFormatter::with_indent(b" ");
        let mut serializer = serde_json::Serializer::with_formatter(&mut bytes, formatter);
        serde::Serialize::serialize(&sort_keys(json), &mut serializer)?;
        bytes.push(b'\n');
        std::fs::write(&self.path, bytes)
            .with_context(|| format!("cannot write {}", self.path.display()))
    }

    fn cells(&self) -> &[Value] {
        self.json["cells"]
            .as_array()
            .map(Vec::as_slice)
            .unwrap_or(&[])
    }
}

/// A cell source or output text: nbformat allows a string or a list of lines.
pub fn join_source(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Array(lines) => lines.iter().filter_map(Value::as_str).collect(),
        _ => String::new(),
    }
}

/// nbformat stores `source`, stream `text` and textual MIME data as lists of
/// lines, each keeping its `\n`.
fn split_multiline_strings(value: &mut Value) {
    let Some(cells) = value["cells"].as_array_mut() else {
        return;
    };
    for cell in cells {
        split_lines_in_place(&mut cell["source"]);
        let Some(outputs) = cell.get_mut("outputs").and_then(Value::as_array_mut) else {
            continue;
        };
        for output in outputs {
            if let Some(text) = output.get_mut("text") {
                split_lines_in_place(text);
            }
            if let Some(data) = output.get_mut("data").and_then(Value::as_object_mut) {
                for (mime, content) in data.iter_mut() {
                    if !mime.contains("json") {
                        split_lines_in_place(content);
                    }
                }
            }
        }
    }
}

fn split_lines_in_place(value: &mut Value) {
    if let Value::String(text) = value {
        *value = Value::Array(
            text.split_inclusive('\n')
                .map(|line| Value::String(line.to_owned()))
                .collect(),
        );
    }
}

fn sort_keys(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<_> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(
                entries
                    .into_iter()
                    .map(|(key, value)| (key, sort_keys(value)))
                    .collect::<Map<_, _>>(),
            )
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sort_keys).collect()),
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn write(dir: &Path, name: &str, text: &str) -> PathBuf {
        let path = dir.join(name);
        std::fs::write(&path, text).unwrap();
        path
    }

    const RUST_NOTEBOOK: &str = r##"{
 "cells": [
  {"cell_type": "markdown", "metadata": {}, "source": ["# Title"]},
  {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [],
   "source": ["let x = 1;\n", "x + 1"]},
  {"cell_type": "code", "metadata": {}, "execution_count": null, "outputs": [], "source": "  \n"}
 ],
 "metadata": {"kernelspec": {"name": "aiguide", "language": "rust", "display_name": "Rust (aiguide)"},
              "aiguide": {"budget_s": 300}},
 "nbformat": 4, "nbformat_minor": 5
}"##;

    #[test]
    fn reads_code_cells_with_their_position_and_budget() {
        let dir = tempfile::tempdir().unwrap();
        let notebook = Notebook::load(&write(dir.path(), "a.ipynb", RUST_NOTEBOOK)).unwrap();
        let cells = notebook.code_cells();
        assert_eq!(cells.len(), 1, "blank cells are skipped");
        assert_eq!(cells[0].number, 2);
        assert_eq!(cells[0].source, "let x = 1;\nx + 1");
        assert_eq!(cells[0].first_line(), "let x = 1;");
        assert_eq!(notebook.budget(), Duration::from_secs(300));
    }

    #[test]
    fn saves_outputs_in_nbformat_layout() {
        let dir = tempfile::tempdir().unwrap();
        let path = write(dir.path(), "a.ipynb", RUST_NOTEBOOK);
        let mut notebook = Notebook::load(&path).unwrap();
        notebook.set_outputs(
            2,
            1,
            vec![json!({"output_type": "stream", "name": "stdout", "text": "a\nb\n"})],
        );
        notebook.save().unwrap();
        let text = std::fs::read_to_string(&path).unwrap();
        assert!(text.starts_with("{\n \"cells\": [\n"), "{text}");
        let saved: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(
            saved["cells"][1]["outputs"][0]["text"],
            json!(["a\n", "b\n"])
        );
        assert_eq!(saved["cells"][1]["execution_count"], 1);
        assert_eq!(
            saved["cells"][1]["source"],
            json!(["let x = 1;\n", "x + 1"])
        );
        assert_eq!(
            Notebook::load(&path).unwrap().code_cells()[0].source,
            "let x = 1;\nx + 1"
        );
    }

    #[test]
    fn rejects_what_is_not_a_rust_notebook_in_one_line() {
        let dir = tempfile::tempdir().unwrap();
        let cases = [
            ("notes.txt", "just some text", "not a Jupyter notebook"),
            ("data.json", r#"{"a": 1}"#, "not a Jupyter notebook"),
            (
                "py.ipynb",
                r#"{"cells": [], "metadata": {"kernelspec": {"language": "python"}}, "nbformat": 4}"#,
                "python notebook",
            ),
            (
                "old.ipynb",
                r#"{"cells": [], "metadata": {}, "nbformat": 3}"#,
                "nbformat 3",
            ),
        ];
        for (name, text, expected) in cases {
            let message = Notebook::load(&write(dir.path(), name, text))
                .unwrap_err()
                .to_string();
            assert!(message.contains(expected), "{name}: {message}");
            assert!(message.contains(name), "{name}: {message}");
            assert!(!message.contains('\n'), "one line: {message}");
        }
    }
}
