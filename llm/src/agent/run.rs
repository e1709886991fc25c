//! [`Run`]: the record of one question put to an agent, every step the
//! model took and how it ended, for printing as a transcript and for tests.

use std::fmt;

use super::step::{FormatError, Step};

/// One question's run: every turn and how it ended.
#[derive(Clone, Debug, PartialEq)]
pub struct Run {
    /// The question asked.
    pub question: String,
    /// The model's turns, in order.
    pub turns: Vec<Turn>,
    /// How the run ended.
    pub outcome: Outcome,
}

/// One reply of the model and what it led to.
#[derive(Clone, Debug, PartialEq)]
pub struct Turn {
    /// The reply as the model wrote it.
    pub reply: String,
    /// Whether the reply ended at the agent's token limit rather than
    /// where the model ended it (a malformed step may just be cut short).
    pub truncated: bool,
    /// The step read from it, or why it is not one.
    pub step: Result<Step, FormatError>,
    /// What the model was told next: the tool's result, or why there was
    /// none (unknown tool, failed tool, malformed reply). `None` after the
    /// final answer or when the model stopped.
    pub observation: Option<String>,
}

/// How a run ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The model gave this final answer.
    Answer(String),
    /// The model took this many steps (the agent's `max_steps`) without a
    /// final answer.
    StepLimit(usize),
    /// The model wrote, word for word, the reply of this earlier step
    /// (counting from 1): under greedy decoding it is going round in a
    /// loop, and the same step would only bring the same observation back.
    Repeated(usize),
    /// The model replied with nothing: it ended its turn without a step.
    ModelStopped,
}

impl Run {
    /// The final answer, if the model gave one.
    pub fn answer(&self) -> Option<&str> {
        match &self.outcome {
            Outcome::Answer(answer) => Some(answer),
            _ => None,
        }
    }

    /// The tool calls of the run, in order: tool, input and what the model
    /// was told.
    pub fn calls(&self) -> impl Iterator<Item = (&str, &str, &str)> {
        self.turns
            .iter()
            .filter_map(|turn| match (&turn.step, &turn.observation) {
                (Ok(Step::Act { tool, input, .. }), Some(observation)) => {
                    Some((tool.as_str(), input.as_str(), observation.as_str()))
                }
                _ => None,
            })
    }
}

/// The transcript: the question, each step's thought, action, input and
/// observation, and the outcome.
impl fmt::Display for Run {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Question: {}", self.question)?;
        for (i, turn) in self.turns.iter().enumerate() {
            writeln!(f, "Step {}", i + 1)?;
            let line = |f: &mut fmt::Formatter<'_>, key: &str, text: &str| {
                writeln!(f, "  {key}: {}", text.replace('\n', "\n    "))
            };
            match &turn.step {
                Ok(step) => {
                    if !step.thought().is_empty() {
                        line(f, "Thought", step.thought())?;
                    }
                    match step {
                        Step::Act { tool, input, .. } => {
                            line(f, "Action", tool)?;
                            line(f, "Action Input", input)?;
                        }
                        Step::Finish { answer, .. } => line(f, "Final Answer", answer)?,
                    }
                }
                Err(_) => line(f, "Reply (not a step)", &format!("{:?}", turn.reply))?,
            }
            if let Some(observation) = &turn.observation {
                line(f, "Observation", observation)?;
            }
        }
        match &self.outcome {
            Outcome::Answer(answer) => write!(f, "Answer: {answer}"),
            Outcome::StepLimit(steps) => {
                write!(f, "Stopped: no answer after {steps} steps (the step limit)")
            }
            Outcome::Repeated(step) => {
                write!(f, "Stopped: the last reply repeats step {step} (a loop)")
            }
            Outcome::ModelStopped => write!(f, "Stopped: the model replied with nothing"),
        }
    }
}
