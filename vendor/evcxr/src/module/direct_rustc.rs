// aiguide patch (see AIGUIDE.md at the crate root): cells after a kernel's
// first compile skip cargo.
//
// Licensed under the Apache License, Version 2.0 <LICENSE or
// https://www.apache.org/licenses/LICENSE-2.0> or the MIT license <LICENSE
// or https://opensource.org/licenses/MIT>, at your option.

//! evcxr compiles every cell with `cargo build`. With the course's few
//! hundred dependencies, cargo's own work (reading the manifest and lock,
//! checking the fingerprint of every dependency) took more CPU than rustc's
//! compile of a small cell. Between two cells of one kernel nothing cargo
//! checks can change except the cell's own source, unless the manifest or the
//! build settings change. So the rustc wrapper records the exact rustc
//! command cargo ran for the cell crate (a "recipe": program, arguments,
//! environment, directory), and the next cells of the same kernel run it
//! directly, for as long as the key (this process, the cargo command with its
//! environment, `Cargo.toml` and `.cargo/config.toml`) stays the same. The
//! first compile of every kernel goes through cargo, so edited path
//! dependencies are rebuilt at the next kernel start as before.

use super::errors_from_cargo_output;
use super::execution_so_source;
use crate::code_block::CodeBlock;
use crate::errors::Error;
use crate::eval_context::Config;
use anyhow::Context;
use anyhow::Result;
use serde_json::Value;
use serde_json::json;
use std::fs;
use std::path::Path;
use std::path::PathBuf;
use std::process::Command;
use std::process::Stdio;

/// Tells the rustc wrapper where to write the recipe.
pub(crate) const RECIPE_ENV: &str = "EVCXR_DIRECT_RUSTC_RECIPE";
/// Variables of the wrapper's environment the recipe leaves out: cargo's
/// jobserver (its file descriptors are gone after cargo exits) and the
/// settings that only concern the wrapper.
const NOT_RECORDED: [&str; 6] = [
    "CARGO_MAKEFLAGS",
    "MAKEFLAGS",
    "MFLAGS",
    RECIPE_ENV,
    super::EXECUTION_SO_PATH_ENV,
    crate::runtime::WRAP_RUSTC_ENV,
];

/// The recipe and key files of one compile directory, and the key the
/// current build settings give.
pub(crate) struct DirectRustc {
    recipe: PathBuf,
    key_file: PathBuf,
    key: String,
}

impl DirectRustc {
    pub(crate) fn new(config: &Config, cargo: &Command) -> DirectRustc {
        let dir = config.crate_dir();
        let read = |path: PathBuf| fs::read_to_string(path).unwrap_or_default();
        let key = format!(
            "process {}\nargs {:?}\nenv {:?}\ndir {:?}\n{}\n{}",
            std::process::id(),
            cargo.get_args().collect::<Vec<_>>(),
            cargo.get_envs().collect::<Vec<_>>(),
            cargo.get_current_dir(),
            read(dir.join("Cargo.toml")),
            read(dir.join(".cargo").join("config.toml")),
        );
        DirectRustc {
            recipe: dir.join("evcxr-direct-rustc.json"),
            key_file: dir.join("evcxr-direct-rustc.key"),
            key,
        }
    }

    /// Compiles `code_block` (already written to `src/lib.rs`) with the
    /// recorded rustc command. `Ok(None)`: no recipe for these settings, or
    /// rustc failed without a compile error to report; build with cargo.
    pub(crate) fn compile(&self, code_block: &CodeBlock) -> Result<Option<PathBuf>, Error> {
        let Some(mut command) = self.recorded_command() else {
            return Ok(None);
        };
        let Some(so_file) = execution_so_source(&command) else {
            self.forget()?;
            return Ok(None);
        };
        let output = command
            .stdin(Stdio::null())
            .output()
            .with_context(|| format!("cannot run {:?}", command.get_program()))?;
        if output.status.success() {
            return Ok(Some(so_file));
        }
        // rustc prints its diagnostics as the JSON lines cargo would pass on.
        let (errors, _) = errors_from_cargo_output(&output, code_block);
        if errors.is_empty() {
            self.forget()?;
            return Ok(None);
        }
        Err(Error::CompilationErrors(errors))
    }

    /// Before a cargo build: drops the recipe, so that only one the coming
    /// build records is used, and tells the wrapper where to record it.
    pub(crate) fn record_with(&self, cargo: &mut Command) -> Result<()> {
        self.forget()?;
        cargo.env(RECIPE_ENV, &self.recipe);
        Ok(())
    }

    /// After a successful cargo build: keys the recipe the wrapper recorded
    /// to the settings it was recorded under.
    pub(crate) fn remember(&self) -> Result<()> {
        if self.recipe.exists() {
            fs::write(&self.key_file, &self.key)
                .with_context(|| format!("cannot write {}", self.key_file.display()))?;
        }
        Ok(())
    }

    fn forget(&self) -> Result<()> {
        for file in [&self.key_file, &self.recipe] {
            match fs::remove_file(file) {
                Ok(()) => {}
                Err(error) if error.kind() == std::io::ErrorKind::NotFound => {}
                Err(error) => {
                    return Err(error).with_context(|| format!("cannot remove {}", file.display()));
                }
            }
        }
        Ok(())
    }

    fn recorded_command(&self) -> Option<Command> {
        if fs::read_to_string(&self.key_file).ok()? != self.key {
            return None;
        }
        let recipe: Value = serde_json::from_str(&fs::read_to_string(&self.recipe).ok()?).ok()?;
        let strings = |value: &Value| -> Option<Vec<String>> {
            value
                .as_array()?
                .iter()
                .map(|item| item.as_str().map(str::to_owned))
                .collect()
        };
        let mut command = Command::new(recipe["program"].as_str()?);
        command
            .args(strings(&recipe["args"])?)
            .current_dir(recipe["dir"].as_str()?)
            .env_clear();
        for pair in recipe["env"].as_array()? {
            let pair = strings(pair)?;
            command.env(pair.first()?, pair.get(1)?);
        }
        Some(command)
    }
}

/// In the rustc wrapper: records `command` (the final rustc command for the
/// cell crate) where the kernel asked for it. Commands that are not valid
/// UTF-8 are not recorded; cargo keeps building those cells.
pub(crate) fn record(command: &Command) -> Result<()> {
    let Some(path) = std::env::var_os(RECIPE_ENV) else {
        return Ok(());
    };
    let text = |s: &std::ffi::OsStr| s.to_str().map(str::to_owned);
    let args: Option<Vec<String>> = command.get_args().map(text).collect();
    let env: Option<Vec<[String; 2]>> = std::env::vars_os()
        .filter(|(name, _)| !NOT_RECORDED.iter().any(|skip| name == *skip))
        .map(|(name, value)| Some([text(&name)?, text(&value)?]))
        .collect();
    let dir = std::env::current_dir()?;
    let (Some(program), Some(args), Some(env), Some(dir)) = (
        text(command.get_program()),
        args,
        env,
        dir.to_str().map(str::to_owned),
    ) else {
        return Ok(());
    };
    let recipe = json!({ "program": program, "args": args, "env": env, "dir": dir });
    let path = Path::new(&path);
    fs::write(path, recipe.to_string()).with_context(|| format!("cannot write {}", path.display()))
}
