//! The evcxr configuration every course kernel starts with.
//!
//! The crates a notebook gets without asking are listed once, in the root
//! `Cargo.toml` (`[workspace.metadata.aiguide] preload`), with the exact specs
//! of `[workspace.dependencies]`. Generating evcxr's `evcxr.toml` from there
//! means a notebook and the `aiguide` library can never build against
//! different pins.

use anyhow::{Context, Result, anyhow, bail};
use std::path::Path;
use toml::{Table, Value};

/// Runs in every kernel before the first cell. evcxr's runtime forces
/// `RUST_BACKTRACE=1`, so a failed `assert!` would bury its one-line message
/// under two backtraces (the panic, then the abort at the cell boundary).
/// This hook prints the message alone, with its location when the panic comes
/// from a library rather than the cell (cells are compiled as `src/lib.rs`),
/// and stays quiet for the boundary's follow-up panic. Cells share one
/// `libstd`, so the hook set here serves them all.
const PANIC_HOOK: &str = r#"std::panic::set_hook(Box::new(|info| {
    let payload = info.payload();
    let message = payload
        .downcast_ref::<&str>()
        .map(|text| text.to_string())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_default();
    if message == "panic in a function that cannot unwind" {
        return;
    }
    match info.location().filter(|place| place.file() != "src/lib.rs") {
        Some(place) => eprintln!("panicked at {}:{}: {message}", place.file(), place.line()),
        None => eprintln!("panicked: {message}"),
    }
}));"#;

/// The course crates named in the workspace manifest, each with its spec
/// from `[workspace.dependencies]`.
struct CrateLists {
    /// `[workspace.metadata.aiguide] preload`: in every notebook.
    preload: Vec<(String, Value)>,
    /// `[workspace.metadata.aiguide] warm` (optional): crates a notebook loads
    /// itself with `:dep`, too slow to compile on first use (polars), which
    /// `aiguide-kernel warm` compiles into the slot ahead of time.
    warm: Vec<(String, Value)>,
}

impl CrateLists {
    fn read(manifest_path: &Path) -> Result<CrateLists> {
        let text = std::fs::read_to_string(manifest_path)
            .with_context(|| format!("cannot read {}", manifest_path.display()))?;
        let manifest: Table = text
            .parse()
            .with_context(|| format!("{} is not valid TOML", manifest_path.display()))?;
        let workspace = manifest
            .get("workspace")
            .and_then(Value::as_table)
            .ok_or_else(|| anyhow!("{} has no [workspace]", manifest_path.display()))?;
        let lists = workspace
            .get("metadata")
            .and_then(|metadata| metadata.get("aiguide"))
            .and_then(Value::as_table);
        let specs = workspace
            .get("dependencies")
            .and_then(Value::as_table)
            .ok_or_else(|| {
                anyhow!(
                    "{} has no [workspace.dependencies]",
                    manifest_path.display()
                )
            })?;
        let list = |key: &str, required: bool| -> Result<Vec<(String, Value)>> {
            let Some(names) = lists.and_then(|lists| lists.get(key)) else {
                if required {
                    bail!(
                        "{} has no [workspace.metadata.aiguide] {key} = [...] list",
                        manifest_path.display()
                    );
                }
                return Ok(Vec::new());
            };
            let names = names.as_array().ok_or_else(|| {
                anyhow!("[workspace.metadata.aiguide] {key} must be a list of crate names")
            })?;
            names
                .iter()
                .map(|name| {
                    let name = name.as_str().ok_or_else(|| {
                        anyhow!("{key} entries must be crate names, found {name}")
                    })?;
                    let spec = specs.get(name).ok_or_else(|| {
                        anyhow!(
                            "{name} is listed in [workspace.metadata.aiguide] {key} but has no \
                             entry in [workspace.dependencies] of {}",
                            manifest_path.display()
                        )
                    })?;
                    Ok((name.to_owned(), spec.clone()))
                })
                .collect()
        };
        Ok(CrateLists {
            preload: list("preload", true)?,
            warm: list("warm", false)?,
        })
    }
}

/// Builds the text of `evcxr.toml` for the workspace manifest at
/// `manifest_path`, whose `helpers/` crate is added as a path dependency.
pub fn render(manifest_path: &Path) -> Result<String> {
    let lists = CrateLists::read(manifest_path)?;
    let helpers = manifest_path
        .parent()
        .unwrap_or(Path::new("."))
        .join("helpers");
    let mut dependencies = Table::new();
    let mut aiguide = Table::new();
    aiguide.insert(
        "path".into(),
        Value::String(helpers.to_string_lossy().into_owned()),
    );
    dependencies.insert("aiguide".into(), Value::Table(aiguide));
    dependencies.extend(lists.preload);

    let mut evcxr = Table::new();
    // evcxr normally swallows a panic and reports the cell as successful. A
    // failed `assert!` must stop "Run All" and fail `nbconvert --execute`, so
    // a panic ends the cell with an error (and restarts the runtime).
    evcxr.insert("preserve_vars_on_panic".into(), Value::Boolean(false));
    evcxr.insert("prelude".into(), Value::String(PANIC_HOOK.into()));

    let mut config = Table::new();
    config.insert("evcxr".into(), Value::Table(evcxr));
    config.insert("dependencies".into(), Value::Table(dependencies));
    Ok(format!(
        "# Written by aiguide-kernel from {} on each kernel start; edits are lost.\n{}",
        manifest_path.display(),
        toml::to_string(&config)?
    ))
}

/// The `:dep` commands that load the `warm` crates, exactly as a notebook
/// writes them (`:dep polars = { version = "...", features = [...] }`).
pub fn warm_commands(manifest_path: &Path) -> Result<Vec<String>> {
    Ok(CrateLists::read(manifest_path)?
        .warm
        .into_iter()
        .map(|(name, spec)| format!(":dep {name} = {}", inline(&spec)))
        .collect())
}

/// A TOML value on one line, as `:dep` takes it.
fn inline(value: &Value) -> String {
    match value {
        Value::Table(table) => {
            let fields: Vec<String> = table
                .iter()
                .map(|(key, value)| format!("{key} = {}", inline(value)))
                .collect();
            format!("{{ {} }}", fields.join(", "))
        }
        Value::Array(items) => {
            let items: Vec<String> = items.iter().map(inline).collect();
            format!("[{}]", items.join(", "))
        }
        other => other.to_string(),
    }
}

/// Writes `evcxr.toml` into `config_dir`, replacing it atomically so a kernel
/// that is starting never reads half a file.
pub fn write(manifest_path: &Path, config_dir: &Path) -> Result<()> {
    let text = render(manifest_path)?;
    std::fs::create_dir_all(config_dir)
        .with_context(|| format!("cannot create {}", config_dir.display()))?;
    let partial = config_dir.join("evcxr.toml.partial");
    std::fs::write(&partial, text)
        .with_context(|| format!("cannot write {}", partial.display()))?;
    std::fs::rename(&partial, config_dir.join("evcxr.toml"))?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn manifest(extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("Cargo.toml");
        std::fs::write(
            &path,
            format!(
                "[workspace]\nmembers = []\n\
                 [workspace.dependencies]\n\
                 tch = \"0.26.0\"\n\
                 ndarray-linalg = {{ version = \"0.17\", features = [\"openblas-system\"] }}\n\
                 serde = \"1\"\n{extra}"
            ),
        )
        .unwrap();
        (dir, path)
    }

    #[test]
    fn preloads_exactly_the_listed_crates_with_workspace_specs() {
        let (dir, path) =
            manifest("[workspace.metadata.aiguide]\npreload = [\"tch\", \"ndarray-linalg\"]\n");
        let config: Table = render(&path).unwrap().parse().unwrap();
        let deps = config["dependencies"].as_table().unwrap();
        assert_eq!(deps["tch"].as_str(), Some("0.26.0"));
        assert_eq!(
            deps["ndarray-linalg"]["features"].as_array().unwrap()[0].as_str(),
            Some("openblas-system")
        );
        assert!(!deps.contains_key("serde"), "only preloaded crates");
        assert_eq!(
            deps["aiguide"]["path"].as_str().unwrap(),
            dir.path().join("helpers").to_str().unwrap()
        );
        assert_eq!(
            config["evcxr"]["preserve_vars_on_panic"].as_bool(),
            Some(false)
        );
    }

    #[test]
    fn unknown_preload_entry_names_the_fix() {
        let (_dir, path) = manifest("[workspace.metadata.aiguide]\npreload = [\"polars\"]\n");
        let message = render(&path).unwrap_err().to_string();
        assert!(message.contains("polars"), "{message}");
        assert!(message.contains("[workspace.dependencies]"), "{message}");
    }

    #[test]
    fn warm_crates_become_dep_commands_with_workspace_specs() {
        let (_dir, path) = manifest(
            "[workspace.metadata.aiguide]\npreload = [\"tch\"]\nwarm = [\"ndarray-linalg\"]\n",
        );
        assert_eq!(
            warm_commands(&path).unwrap(),
            vec![
                ":dep ndarray-linalg = { features = [\"openblas-system\"], version = \"0.17\" }"
                    .to_owned()
            ]
        );
        let config: Table = render(&path).unwrap().parse().unwrap();
        assert!(
            !config["dependencies"]
                .as_table()
                .unwrap()
                .contains_key("ndarray-linalg"),
            "warm crates are not preloaded"
        );
    }

    #[test]
    fn no_warm_list_means_nothing_to_warm() {
        let (_dir, path) = manifest("[workspace.metadata.aiguide]\npreload = [\"tch\"]\n");
        assert!(warm_commands(&path).unwrap().is_empty());
    }

    #[test]
    fn missing_preload_list_is_an_error() {
        let (_dir, path) = manifest("");
        let message = render(&path).unwrap_err().to_string();
        assert!(message.contains("preload"), "{message}");
    }
}
