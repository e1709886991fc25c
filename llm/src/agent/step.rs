//! One step of a ReAct run (Yao et al., 2022) as the model writes it, in
//! the guide's text format or as JSON under a schema, and the parsers that
//! turn a reply into a [`Step`].
//!
//! The text format, one keyword at the start of a line:
//!
//! ```text
//! Thought: I need to multiply.
//! Action: calculator
//! Action Input: 17 * 23
//! ```
//!
//! or, to end the run, `Thought: ...` then `Final Answer: ...`. The parser
//! is lenient about whitespace (indentation, blank lines, spaces after the
//! colon) and strict about everything else: the keywords are exact, each
//! appears once and in order, and a reply is either an action or an answer.
//! Guessing what a malformed reply meant would hide the problem; the error
//! goes back to the model instead, which can then write the step properly.
//!
//! One thing is cut rather than refused: what follows an action's input
//! (an `Observation:` or a `Final Answer:`) was written before the tool
//! answered, so it is the model's guess of the result. The action stands;
//! the guess is dropped, as a stop string would have dropped it.

use serde::Deserialize;
use serde_json::{Value, json};

use super::FINAL_ANSWER;

/// What the model decided in one turn.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Step {
    /// Call `tool` with `input`.
    Act {
        /// The model's reasoning before acting (may be empty).
        thought: String,
        /// The tool's name, as written (the agent checks that it exists).
        tool: String,
        /// The tool's input.
        input: String,
    },
    /// Stop with `answer`.
    Finish {
        /// The model's reasoning before answering (may be empty).
        thought: String,
        /// The final answer.
        answer: String,
    },
}

impl Step {
    /// The thought of either kind of step.
    pub fn thought(&self) -> &str {
        match self {
            Step::Act { thought, .. } | Step::Finish { thought, .. } => thought,
        }
    }
}

/// Why a reply is not a step; the message is written for the model, which
/// reads it as its next observation.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FormatError(pub String);

impl std::fmt::Display for FormatError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for FormatError {}

fn error<T>(message: impl Into<String>) -> Result<T, FormatError> {
    Err(FormatError(message.into()))
}

/// The keywords of the text format, in the order they may appear.
const THOUGHT: &str = "Thought";
const ACTION: &str = "Action";
const ACTION_INPUT: &str = "Action Input";
const KEYWORDS: [&str; 4] = [THOUGHT, ACTION, ACTION_INPUT, FINAL_ANSWER];

/// Where the tool's result goes. A model that writes it is guessing the
/// result: the parser reads nothing from this keyword on (and the agent
/// ends generation before it with a stop string).
pub const OBSERVATION: &str = "Observation:";

impl Step {
    /// The step in the text format, as [`parse`] reads it (a demonstration
    /// shows the model this).
    pub fn to_text(&self) -> String {
        match self {
            Step::Act {
                thought,
                tool,
                input,
            } => format!("{THOUGHT}: {thought}\n{ACTION}: {tool}\n{ACTION_INPUT}: {input}"),
            Step::Finish { thought, answer } => {
                format!("{THOUGHT}: {thought}\n{FINAL_ANSWER}: {answer}")
            }
        }
    }

    /// The step as JSON under [`json_schema`], as [`parse_json`] reads it.
    pub fn to_json(&self) -> String {
        let (thought, action, input) = match self {
            Step::Act {
                thought,
                tool,
                input,
            } => (thought, tool.as_str(), input),
            Step::Finish { thought, answer } => (thought, FINAL_ANSWER, answer),
        };
        // Spaces after `:` and `,` as a model writes them (the grammar
        // allows one).
        format!(
            "{{\"thought\": {}, \"action\": {}, \"action_input\": {}}}",
            json!(thought),
            json!(action),
            json!(input)
        )
    }
}

/// The step in a reply in the text format.
pub fn parse(text: &str) -> Result<Step, FormatError> {
    // (keyword, its text), in the order written.
    let mut sections: Vec<(&str, String)> = Vec::new();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with(OBSERVATION) {
            break;
        }
        let keyword = KEYWORDS.iter().find_map(|&k| {
            let rest = line.strip_prefix(k)?.strip_prefix(':')?;
            Some((k, rest.trim()))
        });
        let after_input = sections.last().is_some_and(|s| s.0 == ACTION_INPUT);
        if after_input && keyword.is_some_and(|k| k.0 == FINAL_ANSWER) {
            break;
        }
        match (keyword, sections.last_mut()) {
            (Some((keyword, rest)), _) => {
                if sections.iter().any(|s| s.0 == keyword) {
                    return error(format!("'{keyword}:' appears twice; write it once"));
                }
                sections.push((keyword, rest.to_string()));
            }
            (None, Some((_, content))) => {
                content.push('\n');
                content.push_str(line);
            }
            (None, None) if line.is_empty() => {}
            (None, None) => {
                return error(format!(
                    "the reply starts with {:?} instead of 'Thought:'",
                    preview(line)
                ));
            }
        }
    }
    let order: Vec<usize> = sections
        .iter()
        .map(|s| KEYWORDS.iter().position(|k| *k == s.0).expect("a keyword"))
        .collect();
    if let Some(pair) = order.windows(2).find(|w| w[0] > w[1]) {
        return error(format!(
            "'{}:' comes before '{}:'; write Thought, then Action and Action Input, or \
             Final Answer",
            KEYWORDS[pair[0]], KEYWORDS[pair[1]]
        ));
    }
    let take = |keyword: &str| {
        sections
            .iter()
            .find(|s| s.0 == keyword)
            .map(|s| s.1.trim().to_string())
    };
    let thought = take(THOUGHT).unwrap_or_default();
    match (take(ACTION), take(ACTION_INPUT), take(FINAL_ANSWER)) {
        (None, None, Some(answer)) if answer.is_empty() => error("'Final Answer:' is empty"),
        (None, None, Some(answer)) => Ok(Step::Finish { thought, answer }),
        (_, _, Some(_)) => error(
            "the reply has both an action and 'Final Answer:'; write one of them and wait \
             for the observation after an action",
        ),
        (Some(tool), Some(input), None) => {
            if tool.is_empty() || tool.contains(char::is_whitespace) {
                return error(format!(
                    "'Action:' must name one tool, found {:?}",
                    preview(&tool)
                ));
            }
            Ok(Step::Act {
                thought,
                tool,
                input,
            })
        }
        (Some(_), None, None) => error("'Action:' has no 'Action Input:' line after it"),
        (None, Some(_), None) => error("'Action Input:' has no 'Action:' line before it"),
        (None, None, None) => error("the reply has no 'Action:' and no 'Final Answer:' line"),
    }
}

/// The start of `text`, for messages.
fn preview(text: &str) -> String {
    const CHARS: usize = 40;
    match text.char_indices().nth(CHARS) {
        Some((at, _)) => format!("{}...", &text[..at]),
        None => text.to_string(),
    }
}

/// Longest thought and tool input under constrained decoding: a bound on
/// how long a small model can ramble inside a string. Together they fit the
/// agent's default 300 tokens per reply even where every character is a
/// token (SmolLM2 writes each digit as one), so a step is never cut short.
pub const MAX_THOUGHT_CHARS: usize = 120;
/// See [`MAX_THOUGHT_CHARS`].
pub const MAX_INPUT_CHARS: usize = 120;

/// The JSON Schema of a step whose action is one of `tools` or, if
/// `may_finish`, [`FINAL_ANSWER`] (then `action_input` is the answer):
/// `{"thought": "...", "action": "calculator", "action_input": "17 * 23"}`.
///
/// Built by hand rather than derived with schemars because the `enum` of
/// actions is known only when the agent's tools are: under constrained
/// decoding the model cannot name a tool that does not exist (nor answer
/// when it must call a tool first).
pub fn json_schema<'a>(tools: impl IntoIterator<Item = &'a str>, may_finish: bool) -> Value {
    let mut actions: Vec<&str> = tools.into_iter().collect();
    if may_finish {
        actions.push(FINAL_ANSWER);
    }
    json!({
        "type": "object",
        "properties": {
            "thought": {"type": "string", "maxLength": MAX_THOUGHT_CHARS},
            "action": {"enum": actions},
            "action_input": {"type": "string", "maxLength": MAX_INPUT_CHARS},
        },
        "required": ["thought", "action", "action_input"],
    })
}

/// The step in a reply written under [`json_schema`].
pub fn parse_json(text: &str) -> Result<Step, FormatError> {
    #[derive(Deserialize)]
    struct JsonStep {
        thought: String,
        action: String,
        action_input: String,
    }
    let step: JsonStep = serde_json::from_str(text.trim())
        .map_err(|e| FormatError(format!("the reply is not a JSON step ({e})")))?;
    let thought = step.thought.trim().to_string();
    let input = step.action_input.trim().to_string();
    Ok(match step.action.as_str() {
        FINAL_ANSWER => Step::Finish {
            thought,
            answer: input,
        },
        _ => Step::Act {
            thought,
            tool: step.action,
            input,
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::structured::JsonGrammar;

    fn act(thought: &str, tool: &str, input: &str) -> Step {
        Step::Act {
            thought: thought.into(),
            tool: tool.into(),
            input: input.into(),
        }
    }

    fn finish(thought: &str, answer: &str) -> Step {
        Step::Finish {
            thought: thought.into(),
            answer: answer.into(),
        }
    }

    fn fails(text: &str) -> String {
        match parse(text) {
            Ok(step) => panic!("{text:?} parsed as {step:?}"),
            Err(e) => e.0,
        }
    }

    #[test]
    fn actions_and_answers_parse_whatever_the_whitespace() {
        assert_eq!(
            parse("Thought: multiply\nAction: calculator\nAction Input: 17 * 23").unwrap(),
            act("multiply", "calculator", "17 * 23")
        );
        assert_eq!(
            parse("\n  Thought:   two\n  lines\n\nAction:calculator  \r\nAction Input:  1+1\n")
                .unwrap(),
            act("two\nlines", "calculator", "1+1")
        );
        assert_eq!(
            parse("Thought: done\nFinal Answer: 391,\nas computed.").unwrap(),
            finish("done", "391,\nas computed.")
        );
        assert_eq!(parse("Final Answer: 4").unwrap(), finish("", "4"));
        assert_eq!(
            parse("Action: calendar\nAction Input:").unwrap(),
            act("", "calendar", ""),
            "an empty input is the tool's business"
        );
    }

    #[test]
    fn a_guessed_result_after_an_action_is_dropped() {
        let observed =
            "Thought: t\nAction: search\nAction Input: x\nObservation: made up\nFinal Answer: y";
        assert_eq!(parse(observed).unwrap(), act("t", "search", "x"));
        let answered =
            "Thought: t\nAction: calendar\nAction Input: 1969-07-20\nFinal Answer: Monday";
        assert_eq!(parse(answered).unwrap(), act("t", "calendar", "1969-07-20"));
    }

    #[test]
    fn steps_written_out_parse_back() {
        let grammar = JsonGrammar::from_schema(&json_schema(["calculator"], true)).unwrap();
        for step in [
            act("I need \"quotes\".", "calculator", "2 * (3 + 4)"),
            finish("Done.", "It is 14 \\ fourteen."),
        ] {
            assert_eq!(parse(&step.to_text()).unwrap(), step);
            assert_eq!(parse_json(&step.to_json()).unwrap(), step);
            assert!(grammar.accepts(&step.to_json()), "{}", step.to_json());
        }
        assert_eq!(
            act("t", "calendar", "2024-03-15").to_json(),
            r#"{"thought": "t", "action": "calendar", "action_input": "2024-03-15"}"#
        );
    }

    #[test]
    fn malformed_replies_say_what_is_wrong() {
        assert!(fails("The answer is 4.").contains("starts with \"The answer is 4.\""));
        assert!(fails("Thought: hmm").contains("no 'Action:' and no 'Final Answer:'"));
        assert!(fails("Thought: a\nAction: calculator").contains("no 'Action Input:'"));
        assert!(fails("Action Input: 2").contains("no 'Action:' line before"));
        assert!(fails("Thought: x\nFinal Answer: 1\nAction: calculator").contains("comes before"));
        assert!(fails("Thought: x\nAction: calculator\nFinal Answer: 1").contains("both"));
        assert!(
            fails("Thought: a\nThought: b\nFinal Answer: c").contains("'Thought:' appears twice")
        );
        assert!(
            fails("Action Input: 2\nAction: calculator")
                .contains("'Action Input:' comes before 'Action:'")
        );
        assert!(fails("Final Answer: 1\nThought: x").contains("comes before"));
        assert!(fails("Final Answer:   ").contains("empty"));
        assert!(fails("Action: the calculator\nAction Input: 1").contains("one tool"));
        // Keywords are exact: case, spelling, markup.
        assert!(fails("action: calculator\naction input: 1").contains("starts with"));
        assert!(
            fails("Thought: x\n**Action:** calculator\nAction Input: 1")
                .contains("no 'Action:' line")
        );
        assert!(
            fails("Thought: x\nFinal answer: 2").contains("no 'Action:' and no 'Final Answer:'")
        );
    }

    #[test]
    fn json_steps_follow_the_schema_and_parse() {
        let schema = json_schema(["calculator", "search"], true);
        assert_eq!(
            schema["properties"]["action"]["enum"],
            json!(["calculator", "search", "Final Answer"])
        );
        let grammar = JsonGrammar::from_schema(&schema).unwrap();
        let reply = r#"{"thought": "multiply", "action": "calculator", "action_input": "17 * 23"}"#;
        assert!(grammar.accepts(reply));
        assert!(!grammar.accepts(r#"{"thought":"","action":"weather","action_input":"x"}"#));
        let must_act = json_schema(["calculator"], false);
        assert_eq!(
            must_act["properties"]["action"]["enum"],
            json!(["calculator"])
        );
        assert_eq!(
            parse_json(reply).unwrap(),
            act("multiply", "calculator", "17 * 23")
        );
        assert_eq!(
            parse_json(r#"{"thought":" ok ","action":"Final Answer","action_input":" 391 "}"#)
                .unwrap(),
            finish("ok", "391")
        );
        let cut = parse_json(r#"{"thought": "multiply", "act"#).unwrap_err();
        assert!(
            cut.0.starts_with("the reply is not a JSON step (EOF"),
            "{cut}"
        );
    }
}
