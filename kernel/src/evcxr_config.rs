//! The evcxr configuration every course kernel starts with.
//!
//! The crates a notebook gets without asking are listed once, as the
//! dependencies of `notebook-deps/Cargo.toml`, with the exact specs of the
//! root manifest's `[workspace.dependencies]`. Generating evcxr's
//! `init.evcxr` from there means a notebook and the `aiguide` library can
//! never build against different pins, and that cargo can build the
//! notebooks' dependency graph outside a kernel (see `slots`).

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

/// Where the preloaded crates are listed, relative to the workspace root.
const NOTEBOOK_DEPS_MANIFEST: &str = "notebook-deps/Cargo.toml";

/// The course crates the kernel loads, each with its spec from
/// `[workspace.dependencies]` (relative paths made absolute).
struct CrateLists {
    /// The dependencies of `notebook-deps`: in every notebook.
    preload: Vec<(String, Value)>,
    /// `[workspace.metadata.aiguide] warm` (optional): crates a notebook loads
    /// itself with `:dep`, too slow to compile on first use (polars), which
    /// `aiguide-kernel warm` compiles into the slot ahead of time.
    warm: Vec<(String, Value)>,
}

impl CrateLists {
    fn read(manifest_path: &Path) -> Result<CrateLists> {
        let manifest = read_toml(manifest_path)?;
        let root = manifest_path.parent().unwrap_or(Path::new("."));
        let workspace = manifest
            .get("workspace")
            .and_then(Value::as_table)
            .ok_or_else(|| anyhow!("{} has no [workspace]", manifest_path.display()))?;
        let specs = workspace
            .get("dependencies")
            .and_then(Value::as_table)
            .ok_or_else(|| {
                anyhow!(
                    "{} has no [workspace.dependencies]",
                    manifest_path.display()
                )
            })?;
        let spec = |name: &str, listed_in: &str| -> Result<(String, Value)> {
            let spec = specs.get(name).ok_or_else(|| {
                anyhow!(
                    "{name} is listed in {listed_in} but has no entry in \
                     [workspace.dependencies] of {}",
                    manifest_path.display()
                )
            })?;
            Ok((name.to_owned(), absolute_paths(spec.clone(), root)))
        };

        let deps_path = root.join(NOTEBOOK_DEPS_MANIFEST);
        let deps = read_toml(&deps_path)?;
        let deps = deps
            .get("dependencies")
            .and_then(Value::as_table)
            .ok_or_else(|| anyhow!("{} has no [dependencies]", deps_path.display()))?;
        let preload = deps
            .iter()
            .map(|(name, entry)| {
                let inherited = entry.as_table().is_some_and(|entry| {
                    entry.len() == 1 && entry.get("workspace") == Some(&Value::Boolean(true))
                });
                if !inherited {
                    bail!(
                        "{name} in {} must read `{name}.workspace = true`, with its version \
                         and features in [workspace.dependencies] of {}",
                        deps_path.display(),
                        manifest_path.display()
                    );
                }
                spec(name, NOTEBOOK_DEPS_MANIFEST)
            })
            .collect::<Result<_>>()?;

        let warm = match workspace
            .get("metadata")
            .and_then(|metadata| metadata.get("aiguide"))
            .and_then(|lists| lists.get("warm"))
        {
            None => Vec::new(),
            Some(names) => names
                .as_array()
                .ok_or_else(|| {
                    anyhow!("[workspace.metadata.aiguide] warm must be a list of crate names")
                })?
                .iter()
                .map(|name| {
                    let name = name
                        .as_str()
                        .ok_or_else(|| anyhow!("warm entries must be crate names, found {name}"))?;
                    spec(name, "[workspace.metadata.aiguide] warm")
                })
                .collect::<Result<_>>()?,
        };
        Ok(CrateLists { preload, warm })
    }
}

fn read_toml(path: &Path) -> Result<Table> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    text.parse()
        .with_context(|| format!("{} is not valid TOML", path.display()))
}

/// What evcxr reads from a slot's configuration directory at start-up.
#[derive(Debug)]
pub struct ConfigFiles {
    /// `evcxr.toml`: settings and the prelude (no `[dependencies]`: with
    /// that table present evcxr would ignore `init.evcxr`).
    pub evcxr_toml: String,
    /// The preloaded crates: each one's name and its `:dep` command, a line
    /// of `init.evcxr`.
    pub deps: Vec<(String, String)>,
}

impl ConfigFiles {
    /// The text of `init.evcxr`.
    ///
    /// evcxr checks every `:dep` with a `cargo metadata` run that asks the
    /// crates.io index about the crate: about 0.4 s each, 6 of the 14 seconds
    /// a warm kernel took to start with the 16 preloaded crates. Crates a slot
    /// has compiled are in cargo's local cache, so with `offline` the checks
    /// run offline (0.07 s each) and a final `:offline 0` gives the
    /// notebook's own `:dep` lines the network back.
    pub fn init_evcxr(&self, offline: bool) -> String {
        let mut lines: Vec<&str> = self
            .deps
            .iter()
            .map(|(_, command)| command.as_str())
            .collect();
        if offline {
            lines.insert(0, ":offline 1");
            lines.push(":offline 0");
        }
        // Commands only: evcxr would compile any other line, comments included.
        format!("{}\n", lines.join("\n"))
    }
}

/// Builds the configuration for the workspace manifest at `manifest_path`.
pub fn render(manifest_path: &Path) -> Result<ConfigFiles> {
    let deps = CrateLists::read(manifest_path)?
        .preload
        .into_iter()
        .map(|(name, spec)| {
            let command = dep_command(&name, &spec);
            (name, command)
        })
        .collect();

    let mut evcxr = Table::new();
    // evcxr normally swallows a panic and reports the cell as successful. A
    // failed `assert!` must stop "Run All" and fail `nbconvert --execute`, so
    // a panic ends the cell with an error (and restarts the runtime).
    evcxr.insert("preserve_vars_on_panic".into(), Value::Boolean(false));
    evcxr.insert("prelude".into(), Value::String(PANIC_HOOK.into()));
    let mut config = Table::new();
    config.insert("evcxr".into(), Value::Table(evcxr));
    Ok(ConfigFiles {
        evcxr_toml: format!(
            "# Written by aiguide-kernel from {} on each kernel start; edits are lost.\n{}",
            manifest_path.display(),
            toml::to_string(&config)?
        ),
        deps,
    })
}

/// The `:dep` commands that load the `warm` crates, exactly as a notebook
/// writes them (`:dep polars = { version = "...", features = [...] }`).
pub fn warm_commands(manifest_path: &Path) -> Result<Vec<String>> {
    Ok(CrateLists::read(manifest_path)?
        .warm
        .into_iter()
        .map(|(name, spec)| dep_command(&name, &spec))
        .collect())
}

/// A workspace crate's spec (`{ path = "llm" }`) with its path made absolute:
/// in `[workspace.dependencies]` a path is relative to the workspace root, but
/// evcxr resolves `:dep` paths against the kernel's working directory (the
/// notebook's folder).
fn absolute_paths(spec: Value, workspace_root: &Path) -> Value {
    match spec {
        Value::Table(mut table) => {
            if let Some(Value::String(path)) = table.get("path")
                && Path::new(path).is_relative()
            {
                let absolute = workspace_root.join(path).to_string_lossy().into_owned();
                table.insert("path".into(), Value::String(absolute));
            }
            Value::Table(table)
        }
        other => other,
    }
}

/// `:dep name = spec`, the spec on one line as `:dep` takes it.
fn dep_command(name: &str, spec: &Value) -> String {
    format!(":dep {name} = {}", inline(spec))
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

/// Writes `evcxr.toml` and `init.evcxr` into `config_dir`, replacing each
/// atomically so a kernel that is starting never reads half a file.
///
/// The `:dep` checks run offline only when they cannot fail for want of the
/// network: `compiled_deps` (the slot's `target/<host>/debug/deps`) holds a
/// compiled library of every preloaded crate, so cargo has them all. A slot
/// whose first start failed, or a crate new to the preload list, is checked
/// online.
pub fn write(manifest_path: &Path, config_dir: &Path, compiled_deps: &Path) -> Result<()> {
    let files = render(manifest_path)?;
    let all_compiled = files
        .deps
        .iter()
        .all(|(name, _)| has_library(compiled_deps, name));
    let init = files.init_evcxr(all_compiled);
    std::fs::create_dir_all(config_dir)
        .with_context(|| format!("cannot create {}", config_dir.display()))?;
    for (name, text) in [("evcxr.toml", files.evcxr_toml), ("init.evcxr", init)] {
        let partial = config_dir.join(format!("{name}.partial"));
        std::fs::write(&partial, text)
            .with_context(|| format!("cannot write {}", partial.display()))?;
        std::fs::rename(&partial, config_dir.join(name))?;
    }
    Ok(())
}

/// Whether `dir` holds `lib<crate>-<hash>.rlib` for the package `name`
/// (its library name, with `-` as `_`).
fn has_library(dir: &Path, name: &str) -> bool {
    let prefix = format!("lib{}-", name.replace('-', "_"));
    std::fs::read_dir(dir).is_ok_and(|entries| {
        entries.flatten().any(|entry| {
            let file = entry.file_name();
            let file = file.to_string_lossy();
            file.starts_with(&prefix) && file.ends_with(".rlib")
        })
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A workspace with three course crates in `[workspace.dependencies]`
    /// (plus `extra`), whose `notebook-deps` crate depends on `preload`.
    fn manifest(preload: &[&str], extra: &str) -> (tempfile::TempDir, std::path::PathBuf) {
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
        let deps: String = preload
            .iter()
            .map(|name| format!("{name}.workspace = true\n"))
            .collect();
        let deps_path = dir.path().join(NOTEBOOK_DEPS_MANIFEST);
        std::fs::create_dir_all(deps_path.parent().unwrap()).unwrap();
        std::fs::write(
            &deps_path,
            format!("[package]\nname = \"x\"\n[dependencies]\n{deps}"),
        )
        .unwrap();
        (dir, path)
    }

    #[test]
    fn preloads_exactly_the_notebook_deps_with_workspace_specs() {
        let (_dir, path) = manifest(&["tch", "ndarray-linalg"], "");
        let files = render(&path).unwrap();
        assert_eq!(
            files.init_evcxr(false),
            ":dep ndarray-linalg = { features = [\"openblas-system\"], version = \"0.17\" }\n\
             :dep tch = \"0.26.0\"\n"
        );
        let config: Table = files.evcxr_toml.parse().unwrap();
        assert!(
            !config.contains_key("dependencies"),
            "a [dependencies] table would make evcxr skip init.evcxr"
        );
        assert_eq!(
            config["evcxr"]["preserve_vars_on_panic"].as_bool(),
            Some(false)
        );
    }

    #[test]
    fn offline_checks_only_when_the_slot_compiled_every_preloaded_crate() {
        let (dir, path) = manifest(&["tch", "ndarray-linalg"], "");
        let (config_dir, deps) = (dir.path().join("config"), dir.path().join("deps"));
        let init = || std::fs::read_to_string(config_dir.join("init.evcxr")).unwrap();
        std::fs::create_dir_all(&deps).unwrap();
        for compiled in ["libtch-02.rlib", "libndarray_linalg-03.rmeta"] {
            std::fs::write(deps.join(compiled), "").unwrap();
        }

        write(&path, &config_dir, &dir.path().join("no-such-dir")).unwrap();
        assert!(!init().contains(":offline"), "a new slot fetches online");
        write(&path, &config_dir, &deps).unwrap();
        assert!(
            !init().contains(":offline"),
            "ndarray-linalg has no .rlib yet"
        );

        std::fs::write(deps.join("libndarray_linalg-03.rlib"), "").unwrap();
        write(&path, &config_dir, &deps).unwrap();
        let lines: Vec<String> = init().lines().map(String::from).collect();
        assert_eq!(lines.first().map(String::as_str), Some(":offline 1"));
        assert_eq!(lines.last().map(String::as_str), Some(":offline 0"));
        assert_eq!(lines.len(), 4, "{lines:?}");
        assert!(lines[1..3].iter().all(|line| line.starts_with(":dep ")));
    }

    #[test]
    fn workspace_crates_are_preloaded_from_the_checkout() {
        let (dir, path) = manifest(&["aiguide-llm"], "aiguide-llm = { path = \"llm\" }\n");
        let llm = Value::String(dir.path().join("llm").to_string_lossy().into_owned());
        let files = render(&path).unwrap();
        assert_eq!(
            files.deps[0].1,
            format!(":dep aiguide-llm = {{ path = {llm} }}")
        );
    }

    #[test]
    fn a_notebook_dep_without_a_workspace_spec_names_the_fix() {
        let (_dir, path) = manifest(&["polars"], "");
        let message = render(&path).unwrap_err().to_string();
        assert!(message.contains("polars"), "{message}");
        assert!(message.contains("[workspace.dependencies]"), "{message}");
    }

    #[test]
    fn a_notebook_dep_with_its_own_spec_names_the_fix() {
        let (dir, path) = manifest(&[], "");
        std::fs::write(
            dir.path().join(NOTEBOOK_DEPS_MANIFEST),
            "[dependencies]\ntch = \"0.25\"\n",
        )
        .unwrap();
        let message = render(&path).unwrap_err().to_string();
        assert!(message.contains("tch.workspace = true"), "{message}");
    }

    #[test]
    fn warm_crates_become_dep_commands_with_workspace_specs() {
        let (_dir, path) = manifest(
            &["tch"],
            "[workspace.metadata.aiguide]\nwarm = [\"ndarray-linalg\"]\n",
        );
        assert_eq!(
            warm_commands(&path).unwrap(),
            vec![
                ":dep ndarray-linalg = { features = [\"openblas-system\"], version = \"0.17\" }"
                    .to_owned()
            ]
        );
        assert!(
            !render(&path)
                .unwrap()
                .init_evcxr(false)
                .contains("ndarray-linalg"),
            "warm crates are not preloaded"
        );
    }

    #[test]
    fn no_warm_list_means_nothing_to_warm() {
        let (_dir, path) = manifest(&["tch"], "");
        assert!(warm_commands(&path).unwrap().is_empty());
    }

    #[test]
    fn missing_notebook_deps_manifest_is_an_error() {
        let (dir, path) = manifest(&["tch"], "");
        std::fs::remove_file(dir.path().join(NOTEBOOK_DEPS_MANIFEST)).unwrap();
        let message = format!("{:#}", render(&path).unwrap_err());
        assert!(message.contains("notebook-deps"), "{message}");
    }

    /// `./course` builds the course crates in the workspace's dev profile so
    /// that a compile slot can start from them; that only works while the
    /// profile is the one evcxr writes into each slot's `Cargo.toml`.
    #[test]
    fn the_workspace_dev_profile_is_evcxrs_cell_profile() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let module = std::fs::read_to_string(root.join("vendor/evcxr/src/module.rs")).unwrap();
        let template = module
            .split("[profile.dev]\n")
            .nth(1)
            .and_then(|rest| rest.split("\n\n").next())
            .expect("evcxr's Cargo.toml template has a [profile.dev] table");
        let evcxr: Table = template
            .replace("opt-level = {}", "opt-level = 2") // evcxr's default `:opt`
            .parse()
            .unwrap();
        let workspace = read_toml(&root.join("Cargo.toml")).unwrap();
        assert_eq!(workspace["profile"]["dev"].as_table(), Some(&evcxr));
    }
}
