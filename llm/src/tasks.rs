//! Small labelled task sets, committed with the course, for measuring what a
//! prompting technique buys: arithmetic word problems (chain of thought),
//! sentences to extract fields from (structured output) and shopping
//! requests for a product-search tool (tool calling), and questions about
//! four Shakespeare plays whose answers are in the text (retrieval).
//!
//! They are short on purpose: each item costs a model call on a 2-core CPU.
//! Report their scores with the sample size next to them.

use serde::Deserialize;
use serde_json::Value;

/// A word problem whose answer is a whole number.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct WordProblem {
    /// The problem, in English.
    pub question: String,
    /// The correct answer.
    pub answer: i64,
}

/// A sentence about a person, and the fields it states.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct Extraction {
    /// The sentence.
    pub text: String,
    /// `{"name": ..., "age": ..., "city": ...}` as the sentence states them.
    pub expected: Value,
}

/// A shopper's request and what a product search should be called with.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct ToolRequest {
    /// What the user asks, in English.
    pub request: String,
    /// The product category the search should use: 电子 (electronics),
    /// 服装 (clothing) or 食品 (food), the values of the guide's
    /// `search_database` tool.
    pub category: String,
    /// The product the search should find.
    pub product: String,
}

/// A question about a Shakespeare play, the line that answers it, and the
/// words a correct answer contains.
#[derive(Clone, Debug, PartialEq, Deserialize)]
pub struct PlayQuestion {
    /// The question, in English, worded differently from the play's lines.
    pub question: String,
    /// The play's data-hub asset without its `shakespeare-` prefix
    /// (`julius-caesar` for `shakespeare-julius-caesar`).
    pub play: String,
    /// Text that occurs exactly once in the play: a chunk containing it is
    /// the passage a retriever should find.
    pub evidence: String,
    /// Lower-case words or phrases; an answer is correct if it contains one.
    pub answers: Vec<String>,
}

impl PlayQuestion {
    /// Whether `reply` contains one of the accepted answers (ignoring case).
    pub fn is_answered_by(&self, reply: &str) -> bool {
        let reply = reply.to_lowercase();
        self.answers
            .iter()
            .any(|answer| reply.contains(answer.as_str()))
    }
}

/// Eight arithmetic word problems, the first being the guide's water tank.
pub fn word_problems() -> Vec<WordProblem> {
    parse(include_str!("../tasks/word_problems.json"))
}

/// Ten sentences with a person's name, age and city.
pub fn extraction() -> Vec<Extraction> {
    parse(include_str!("../tasks/extraction.json"))
}

/// Six shopping requests for the guide's `search_database` tool.
pub fn tool_requests() -> Vec<ToolRequest> {
    parse(include_str!("../tasks/tool_requests.json"))
}

/// Twenty-eight questions on Macbeth, Julius Caesar, Hamlet and Romeo and
/// Juliet (seven each), for measuring retrieval and retrieval-augmented
/// answers.
pub fn play_questions() -> Vec<PlayQuestion> {
    parse(include_str!("../tasks/shakespeare_questions.json"))
}

/// The items of a task file compiled into the crate (its unit tests parse
/// every file, so this cannot fail in a released build).
fn parse<T: for<'de> Deserialize<'de>>(json: &str) -> Vec<T> {
    serde_json::from_str(json).expect("task files are checked by the crate's tests")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn task_files_parse_and_hold_what_they_promise() {
        let problems = word_problems();
        assert_eq!(problems.len(), 8);
        assert!(problems[0].question.contains("water tank") && problems[0].answer == 20);
        let items = extraction();
        assert_eq!(items.len(), 10);
        for item in &items {
            for key in ["name", "age", "city"] {
                let value = item.expected[key].to_string();
                let value = value.trim_matches('"');
                assert!(
                    item.text.contains(value),
                    "{key} {value} not in {:?}",
                    item.text
                );
            }
        }
        let requests = tool_requests();
        assert_eq!(requests.len(), 6);
        assert!(
            requests
                .iter()
                .all(|r| ["电子", "服装", "食品"].contains(&r.category.as_str()))
        );
        let questions = play_questions();
        assert_eq!(questions.len(), 28);
        for play in ["macbeth", "julius-caesar", "hamlet", "romeo-and-juliet"] {
            assert_eq!(questions.iter().filter(|q| q.play == play).count(), 7);
        }
        assert!(
            questions
                .iter()
                .all(|q| !q.answers.is_empty() && q.answers.iter().all(|a| *a == a.to_lowercase()))
        );
        assert!(questions[2].is_answered_by("It is Birnam Wood."));
        assert!(!questions[2].is_answered_by("Dunsinane"));
    }
}
