// aiguide patch (see AIGUIDE.md at the crate root): rust-analyzer off the critical path.
//
// Licensed under the Apache License, Version 2.0 <LICENSE or
// https://www.apache.org/licenses/LICENSE-2.0> or the MIT license <LICENSE
// or https://opensource.org/licenses/MIT>, at your option.

//! evcxr asks rust-analyzer for the types of the variables a cell defines.
//! The first question after the dependencies change is expensive: the
//! analyzer loads the new crate graph and resolves the names of every crate
//! the cells reach (seconds for tch, ndarray, plotters and their
//! dependencies). Cells without a `let` have no variables to type, so they
//! need no answer; this module lets such cells run at once while the analyzer
//! loads on a background thread, and hands it over, warm, to the first cell
//! that does need it.

use crate::rust_analyzer::RustAnalyzer;
use anyhow::Result;
use anyhow::anyhow;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::Mutex;
use std::thread::JoinHandle;

/// A small item appended to the source while warming: typing its `let` runs
/// the same inference machinery the first real `let` would.
const PROBE: &str = "\nfn evcxr_warm_up_probe() { let evcxr_probe = 1u8; }\n";
const PROBE_FUNCTION: &str = "evcxr_warm_up_probe";

enum State {
    Ready(Box<RustAnalyzer>),
    Warming(JoinHandle<RustAnalyzer>),
    /// Only while a handle is being joined.
    Empty,
}

pub(crate) struct BackgroundAnalyzer {
    state: State,
    /// The newest analysis source seen while warming; the warm-up thread
    /// takes it so that it ends on what the cells currently look like.
    latest_source: Arc<Mutex<Option<String>>>,
    root_directory: PathBuf,
}

impl BackgroundAnalyzer {
    pub(crate) fn new(analyzer: RustAnalyzer, root_directory: PathBuf) -> BackgroundAnalyzer {
        BackgroundAnalyzer {
            state: State::Ready(Box::new(analyzer)),
            latest_source: Arc::default(),
            root_directory,
        }
    }

    /// The analyzer, waiting for a warm-up in progress to finish.
    pub(crate) fn get(&mut self) -> Result<&mut RustAnalyzer> {
        if let State::Warming(_) = self.state {
            let State::Warming(handle) = std::mem::replace(&mut self.state, State::Empty) else {
                unreachable!()
            };
            let analyzer = match handle.join() {
                Ok(analyzer) => analyzer,
                // A panic inside rust-analyzer while warming: start afresh.
                Err(_) => RustAnalyzer::new(&self.root_directory)?,
            };
            self.state = State::Ready(Box::new(analyzer));
        }
        match &mut self.state {
            State::Ready(analyzer) => Ok(analyzer),
            _ => Err(anyhow!("rust-analyzer is not available")),
        }
    }

    /// Notes `source`, the analysis code of a cell that needs no types, and
    /// warms the analyzer for it on a background thread when the crate graph
    /// has changed since it last loaded (a new `:dep`, a new kernel).
    pub(crate) fn warm_up(&mut self, source: String) {
        if let State::Warming(handle) = &self.state
            && handle.is_finished()
        {
            // Collect the finished thread (no wait) to see whether the crate
            // graph changed again since it started.
            let _ = self.get();
        }
        *self.latest_source.lock().unwrap_or_else(|e| e.into_inner()) = Some(source);
        let State::Ready(analyzer) = &self.state else {
            // The running warm-up picks the source up before it finishes.
            return;
        };
        if !analyzer.crate_graph_changed() {
            return;
        }
        let State::Ready(mut analyzer) = std::mem::replace(&mut self.state, State::Empty) else {
            unreachable!()
        };
        let latest_source = Arc::clone(&self.latest_source);
        self.state = State::Warming(std::thread::spawn(move || {
            loop {
                let source = latest_source.lock().unwrap_or_else(|e| e.into_inner()).take();
                let Some(source) = source else { break };
                // Best effort: an error here (say, a Cargo.toml caught half
                // written) shows up again, with its message, when a cell
                // needs the analyzer.
                if analyzer.set_source(source + PROBE).is_ok() {
                    analyzer.top_level_variables(PROBE_FUNCTION);
                }
            }
            *analyzer
        }));
    }
}
