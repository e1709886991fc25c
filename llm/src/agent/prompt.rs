//! The texts the agent writes for the model: the system prompt (tools and
//! the format of a step) and the observations after each step.
//!
//! Kept apart from the loop so that a lesson can print them and a learner
//! can see everything the model is told.

use super::FINAL_ANSWER;
use super::step::OBSERVATION;
use super::tool::Tool;

/// The instructions an agent starts its system prompt with unless given
/// others ([`crate::agent::Agent::system_prompt`]).
pub const DEFAULT_INSTRUCTIONS: &str = "You answer the user's question step by step. Use a tool \
    whenever it helps: tools are exact where your memory is not.";

/// The system prompt: `instructions`, the tools, and the format of a step
/// (JSON when `json`, the ReAct text format otherwise).
pub fn system_prompt(instructions: &str, tools: &[&dyn Tool], json: bool) -> String {
    let names = names(tools);
    let list = match tools.is_empty() {
        true => "You have no tools: answer from what you know.".to_string(),
        false => {
            let lines: Vec<String> = tools.iter().map(|&t| describe(t)).collect();
            format!("You have these tools:\n{}", lines.join("\n"))
        }
    };
    let format = if json {
        // Described in words: a template with placeholder values ("the
        // answer to the question") is what a small model copies verbatim.
        format!(
            "Reply with one JSON object per turn, with three keys: \"thought\" (your \
             reasoning), \"action\" (one of {names}, or \"{FINAL_ANSWER}\") and \
             \"action_input\" (the input for the tool, or your final answer). After a tool, \
             its result comes back as \"{OBSERVATION} ...\"."
        )
    } else {
        // The guide's ReAct template.
        format!(
            "Use this format:\n\
             Thought: what to do next\n\
             Action: the tool to use, one of {names}\n\
             Action Input: the input for the tool\n\
             Then stop: the tool's result comes back as \"{OBSERVATION} ...\". Repeat Thought, \
             Action and Action Input as needed. When you know the answer, write:\n\
             Thought: I know the answer\n\
             {FINAL_ANSWER}: the answer to the question"
        )
    };
    format!("{instructions}\n\n{list}\n\n{format}")
}

/// The message that hands `text` (a tool's result or a complaint) back to
/// the model.
pub fn observation(text: &str) -> String {
    format!("{OBSERVATION} {text}")
}

/// What the model is told after a reply that is not a step.
pub fn format_error(error: &str, json: bool) -> String {
    let how = if json {
        "reply with one JSON object with the keys thought, action and action_input"
    } else {
        "reply with 'Thought:', then 'Action:' and 'Action Input:', or 'Final Answer:'"
    };
    format!("Your reply did not follow the format: {error}. Please {how}.")
}

/// What the model is told when it names a tool there is not.
pub fn unknown_tool(name: &str, tools: &[&dyn Tool]) -> String {
    let names = match tools.is_empty() {
        true => "none".into(),
        false => names(tools),
    };
    format!("There is no tool named {name:?}. The tools are: {names}.")
}

/// What the model is told when it answers before calling a tool although
/// the agent requires one ([`crate::agent::Agent::require_tool`]).
pub fn tool_required(tools: &[&dyn Tool]) -> String {
    format!(
        "Do not answer yet: first use one of the tools ({}) to find or check the answer.",
        names(tools)
    )
}

/// What the model is told when a tool fails.
pub fn tool_failed(name: &str, error: &str) -> String {
    format!("{name} failed: {error}")
}

/// `tool`'s line in the prompt: name, description and input.
fn describe(tool: &dyn Tool) -> String {
    format!(
        "- {}: {} Input: {}.",
        tool.name(),
        tool.description(),
        tool.input().trim_end_matches('.')
    )
}

/// The tools' names, comma-separated.
fn names(tools: &[&dyn Tool]) -> String {
    let names: Vec<&str> = tools.iter().map(|t| t.name()).collect();
    names.join(", ")
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::{Calculator, Calendar};

    #[test]
    fn the_prompt_lists_each_tool_with_its_input_then_the_format() {
        let prompt = system_prompt("Be brief.", &[&Calendar, &Calculator], false);
        let lines: Vec<&str> = prompt.lines().collect();
        assert_eq!(lines[..3], ["Be brief.", "", "You have these tools:"]);
        assert!(lines[3].starts_with("- calendar: Gives the weekday of a date,"));
        assert!(
            lines[3].ends_with("such as 2024-01-01 to 2024-03-15."),
            "{}",
            lines[3]
        );
        assert!(lines[4].starts_with("- calculator: Evaluates an arithmetic expression"));
        assert_eq!(
            lines[8],
            "Action: the tool to use, one of calendar, calculator"
        );
        assert_eq!(
            lines.last(),
            Some(&"Final Answer: the answer to the question")
        );
        let json = system_prompt("Be brief.", &[&Calculator], true);
        assert!(json.ends_with(
            "\"action\" (one of calculator, or \"Final Answer\") and \"action_input\" (the \
             input for the tool, or your final answer). After a tool, its result comes back as \
             \"Observation: ...\"."
        ));
        let none = system_prompt("Be brief.", &[], false);
        assert!(none.contains("You have no tools: answer from what you know."));
        assert_eq!(
            unknown_tool("x", &[]),
            "There is no tool named \"x\". The tools are: none."
        );
    }
}
