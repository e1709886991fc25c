//! [`Tool`]: something an agent can call by name with a line of text, and
//! [`Tools`], the registry an agent is given (the guide's `register_tool`).

use crate::{Error, Result};

/// What the model writes as the action that ends a run rather than calling
/// a tool; no tool may take this name.
pub const FINAL_ANSWER: &str = "Final Answer";

/// A tool an agent can use: a name the model writes after `Action:`, a
/// description that tells the model when to use it, and `call`, which turns
/// the model's `Action Input:` into the observation it reads next.
///
/// The input is one string, as in ReAct, described in words rather than as
/// a JSON Schema: the prompt is all a model knows of a tool, and a small
/// model follows "an expression such as 2 * (3 + 4)" better than a schema.
pub trait Tool {
    /// The name the model calls it by: one word, e.g. `calculator`.
    fn name(&self) -> &str;

    /// What it does, one sentence for the prompt.
    fn description(&self) -> &str;

    /// What the input is, with an example, for the prompt.
    fn input(&self) -> &str;

    /// The tool's answer to `input`. A failure is `Err` with a message for
    /// the model (what was wrong, how to fix it): the agent hands it back as
    /// the observation and the run goes on, so a wrong input is a step the
    /// model can correct, not a crash.
    fn call(&self, input: &str) -> std::result::Result<String, String>;
}

/// The tools of an agent, in the order the prompt lists them; names are
/// unique.
#[derive(Default)]
pub struct Tools {
    tools: Vec<Box<dyn Tool>>,
}

impl Tools {
    /// No tools yet.
    pub fn new() -> Tools {
        Tools::default()
    }

    /// These tools plus `tool`; an error if its name is taken, is
    /// [`FINAL_ANSWER`] or is not one word (the `Action:` line names it).
    pub fn with(mut self, tool: impl Tool + 'static) -> Result<Tools> {
        self.add(Box::new(tool))?;
        Ok(self)
    }

    /// Adds `tool`, with the checks of [`Tools::with`].
    pub fn add(&mut self, tool: Box<dyn Tool>) -> Result<()> {
        check_name(tool.name(), self.names())?;
        self.tools.push(tool);
        Ok(())
    }

    /// The tool named `name`.
    pub fn get(&self, name: &str) -> Option<&dyn Tool> {
        self.iter().find(|t| t.name() == name)
    }

    /// The tools, in the order they were added.
    pub fn iter(&self) -> impl Iterator<Item = &dyn Tool> {
        self.tools.iter().map(|t| t.as_ref())
    }

    /// The tools' names, in order.
    pub fn names(&self) -> impl Iterator<Item = &str> {
        self.iter().map(|t| t.name())
    }

    /// How many tools there are.
    pub fn len(&self) -> usize {
        self.tools.len()
    }

    /// Whether there is no tool.
    pub fn is_empty(&self) -> bool {
        self.tools.is_empty()
    }
}

impl std::fmt::Debug for Tools {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.names()).finish()
    }
}

/// An error unless `name` can be a new tool's name beside `taken`.
pub(crate) fn check_name<'a>(name: &str, mut taken: impl Iterator<Item = &'a str>) -> Result<()> {
    let problem = if name == FINAL_ANSWER {
        "the model writes this name to answer, so no tool can take it"
    } else if name.is_empty() || name.chars().any(char::is_whitespace) {
        "a tool name is one word, as the model writes it after `Action:`"
    } else if taken.any(|t| t == name) {
        "another tool has this name: the model could not tell them apart"
    } else {
        return Ok(());
    };
    Err(Error::InvalidArgument(format!(
        "tool name {name:?}: {problem}"
    )))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::Calculator;

    struct Named(&'static str);

    impl Tool for Named {
        fn name(&self) -> &str {
            self.0
        }
        fn description(&self) -> &str {
            "Does nothing."
        }
        fn input(&self) -> &str {
            "anything"
        }
        fn call(&self, input: &str) -> std::result::Result<String, String> {
            Ok(input.into())
        }
    }

    #[test]
    fn names_are_unique_single_words_and_not_final_answer() {
        let tools = Tools::new().with(Calculator).unwrap();
        let err = |tools: Tools, name| tools.with(Named(name)).unwrap_err().to_string();
        assert!(err(Tools::new().with(Calculator).unwrap(), "calculator").contains("another tool"));
        assert!(err(Tools::new(), "Final Answer").contains("no tool can take it"));
        assert!(err(Tools::new(), "web search").contains("one word"));
        assert!(err(Tools::new(), "").contains("one word"));
        let tools = tools.with(Named("echo")).unwrap();
        assert_eq!(tools.names().collect::<Vec<_>>(), ["calculator", "echo"]);
        assert_eq!(tools.get("echo").unwrap().call("hi"), Ok("hi".into()));
        assert!(tools.get("Echo").is_none(), "names are exact");
        assert_eq!(format!("{tools:?}"), r#"["calculator", "echo"]"#);
    }
}
