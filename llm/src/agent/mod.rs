//! Agents (chapter 5.7): a language model that answers by using tools, step
//! by step, in the ReAct pattern (reason, act, observe; Yao et al., 2022).
//!
//! The guide's `SimpleAgent` in Rust, with what its sketch leaves out:
//! - [`Tool`] and [`Tools`]: tools with a name, a description and an input
//!   the prompt describes; a failing tool is an observation, not a crash.
//! - Three tools: [`Calculator`] (a real expression parser, never `eval`),
//!   [`Calendar`] (weekdays and day counts) and [`Search`] (retrieval over
//!   a [`crate::rag::VectorStore`], also the agent's long-term memory).
//! - [`step`]: parsing a reply into a [`Step`], strictly, with errors the
//!   model can act on; and the JSON Schema of a step for constrained
//!   decoding ([`crate::structured`]), which makes a small model keep the
//!   format.
//! - [`Agent`]: the loop, with a step limit, short-term memory (the
//!   conversation) and long-term memory (a vector store); [`Run`] records
//!   every step for a transcript.
//! - [`ScriptedModel`]: a [`crate::ChatModel`] that replays a script, for
//!   deterministic tests and for showing the loop without a model.

pub mod calculator;
mod calendar;
pub mod prompt;
mod react;
mod run;
mod scripted;
mod search;
pub mod step;
mod tool;

pub use calculator::Calculator;
pub use calendar::Calendar;
pub use react::Agent;
pub use run::{Outcome, Run, Turn};
pub use scripted::ScriptedModel;
pub use search::{Embed, MEMORY_SOURCE, Search};
pub use step::{FormatError, Step};
pub use tool::{FINAL_ANSWER, Tool, Tools};
