//! [`Agent`]: the guide's `SimpleAgent` as a Rust type, the ReAct loop
//! (think, act, observe, repeat) around any [`ChatModel`].

use crate::chat::{ChatModel, ChatRequest, FinishReason};
use crate::tokenize::Message;
use crate::{Error, Result};

use super::prompt::{self, DEFAULT_INSTRUCTIONS};
use super::run::{Outcome, Run, Turn};
use super::search::Search;
use super::step::{self, FormatError, OBSERVATION, Step};
use super::tool::{Tool, Tools, check_name};

/// An agent: a model's "brain" given tools, a step limit, a short-term
/// memory (the conversation so far) and optionally a long-term one (a
/// vector store it can search and write to).
///
/// Each [`Agent::run`] asks the model for one step at a time: a thought and
/// either a tool call, whose result goes back to the model as an
/// observation, or the final answer. Everything that goes wrong on the
/// model's side (a malformed step, an unknown tool, a tool error) becomes an
/// observation too, so the model can correct itself, and counts against the
/// step limit, so a model that does not still comes to an end.
///
/// ```
/// use aiguide_llm::agent::{Agent, Calculator, ScriptedModel, Tools};
///
/// let mut agent = Agent::new(Tools::new().with(Calculator)?).max_steps(3);
/// let model = ScriptedModel::new([
///     "Thought: I should multiply.\nAction: calculator\nAction Input: 17 * 23",
///     "Thought: I know the answer.\nFinal Answer: 391",
/// ]);
/// let run = agent.run(&model, "What is 17 times 23?")?;
/// assert_eq!(run.answer(), Some("391"));
/// println!("{run}"); // the transcript
/// # Ok::<(), aiguide_llm::Error>(())
/// ```
#[derive(Debug)]
pub struct Agent {
    tools: Tools,
    memory: Option<Search>,
    instructions: String,
    max_steps: usize,
    max_tokens: usize,
    constrained: bool,
    require_tool: bool,
    demonstrations: Vec<Demonstration>,
    history: Vec<Message>,
}

/// A worked example: a question, the steps that answer it and what each
/// tool call returned, kept as steps so that it is shown in the format the
/// agent uses when it runs (text or JSON).
#[derive(Clone, Debug)]
struct Demonstration {
    question: String,
    /// Each step and its observation (`None` for the final answer).
    steps: Vec<(Step, Option<String>)>,
}

/// The longest tool result (in bytes) that a demonstration's last thought
/// quotes.
const SHORT_RESULT: usize = 40;

impl Agent {
    /// An agent with `tools`, at most 5 steps per question (the guide's
    /// `max_steps`), 300 tokens per step, the text format and the default
    /// instructions ([`DEFAULT_INSTRUCTIONS`]).
    pub fn new(tools: Tools) -> Agent {
        Agent {
            tools,
            memory: None,
            instructions: DEFAULT_INSTRUCTIONS.into(),
            max_steps: 5,
            max_tokens: 300,
            constrained: false,
            require_tool: false,
            demonstrations: Vec::new(),
            history: Vec::new(),
        }
    }

    /// At most `steps` model replies per question (at least 1).
    pub fn max_steps(mut self, steps: usize) -> Agent {
        self.max_steps = steps.max(1);
        self
    }

    /// At most `tokens` tokens per reply.
    pub fn max_tokens(mut self, tokens: usize) -> Agent {
        self.max_tokens = tokens;
        self
    }

    /// With `instructions` at the start of the system prompt instead of the
    /// default ones; the tool list and the step format always follow (see
    /// [`Agent::prompt`]).
    pub fn system_prompt(mut self, instructions: impl Into<String>) -> Agent {
        self.instructions = instructions.into();
        self
    }

    /// With `on`, every reply is requested as JSON under the schema of a
    /// step ([`step::json_schema`]) and decoded under it: the model can only
    /// write a well-formed step whose action is a real tool or the final
    /// answer. A small model that ignores the text format still acts
    /// (what it writes inside the strings stays its own choice). Without it,
    /// replies are in the text format, cut before `Observation:` (the model
    /// would otherwise invent the tool's result).
    pub fn constrained(mut self, on: bool) -> Agent {
        self.constrained = on;
        self
    }

    /// With `on`, the model must call a tool before it may answer (as
    /// `tool_choice: "required"` does in hosted APIs): under constrained
    /// decoding the first steps' schema has no [`super::FINAL_ANSWER`]; in
    /// the text format an early answer is refused with an observation. For
    /// a small model that would rather answer from its own (wrong) memory.
    pub fn require_tool(mut self, on: bool) -> Agent {
        self.require_tool = on;
        self
    }

    /// Adds a worked example (a few-shot demonstration, chapter 5.4): the
    /// model sees `question` answered by calling the tools `calls` (tool,
    /// input), each with its real result, then `answer`. Every request
    /// carries the demonstrations after the system prompt, written in the
    /// agent's format; a small model imitates an example far better than it
    /// follows a description. An error if a tool is unknown or fails (a
    /// demonstration shows how it should go).
    pub fn demonstration(
        mut self,
        question: &str,
        calls: &[(&str, &str)],
        answer: &str,
    ) -> Result<Agent> {
        let tools = self.tools();
        let mut steps = Vec::new();
        for &(name, input) in calls {
            let tool = tools.iter().find(|t| t.name() == name).ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "demonstration: {}",
                    prompt::unknown_tool(name, &tools)
                ))
            })?;
            let result = tool.call(input).map_err(|e| {
                Error::InvalidArgument(format!("demonstration: {}", prompt::tool_failed(name, &e)))
            })?;
            let step = Step::Act {
                thought: format!("I will use the {name} tool."),
                tool: name.into(),
                input: input.into(),
            };
            steps.push((step, Some(result)));
        }
        // The last thought quotes a short last observation: it shows the
        // model to read the result rather than call the tool again. A long
        // one (a search's passages) is not quoted: a small model copies a
        // quote it has seen, and the copy would fill its reply.
        let thought = match (calls.last(), steps.last()) {
            (Some((name, _)), Some((_, Some(result)))) if result.len() <= SHORT_RESULT => {
                format!("The {name} says {result}.")
            }
            (Some((name, _)), Some(_)) => format!("The {name} result answers the question."),
            _ => "I know this without a tool.".into(),
        };
        let answer = answer.into();
        steps.push((Step::Finish { thought, answer }, None));
        self.demonstrations.push(Demonstration {
            question: question.into(),
            steps,
        });
        Ok(self)
    }

    /// With `search` as long-term memory: a tool the model can call (name it
    /// `recall`, say, with [`Search::named`]) over a store that
    /// [`Agent::remember`] writes to. An error if its name is a tool's.
    pub fn memory(mut self, search: Search) -> Result<Agent> {
        check_name(search.name(), self.tools.names())?;
        self.memory = Some(search);
        Ok(self)
    }

    /// Stores `text` in the long-term memory, embedded, so that a later
    /// search can find it (in this run or any later one).
    pub fn remember(&mut self, text: &str) -> Result<()> {
        let memory = self.memory.as_mut().ok_or_else(|| {
            Error::InvalidArgument(
                "the agent has no long-term memory to remember in: give it one with \
                 Agent::memory"
                    .into(),
            )
        })?;
        memory.remember(text)
    }

    /// The tools the model can call: the agent's, then its memory.
    pub fn tools(&self) -> Vec<&dyn Tool> {
        let memory = self.memory.iter().map(|m| m as &dyn Tool);
        self.tools.iter().chain(memory).collect()
    }

    /// The system prompt of every request: the instructions, the tools and
    /// the format of a step.
    pub fn prompt(&self) -> String {
        prompt::system_prompt(&self.instructions, &self.tools(), self.constrained)
    }

    /// The short-term memory: the questions of earlier runs and the final
    /// replies that answered them, oldest first. Every request carries it
    /// after the system prompt, so a question can refer to earlier ones. The
    /// steps in between are left out (they would fill a small model's
    /// context with finished work), and so is a run that ended without an
    /// answer.
    pub fn history(&self) -> &[Message] {
        &self.history
    }

    /// Forgets the earlier runs (the short-term memory); the long-term memory
    /// stays.
    pub fn clear_history(&mut self) {
        self.history.clear();
    }

    /// Puts `question` to `model` and runs the loop until a final answer,
    /// an empty reply, a reply that repeats an earlier one word for word
    /// (a loop: [`Outcome::Repeated`]) or the step limit. An error only when the model
    /// fails (e.g. a server that cannot be reached); whatever the model
    /// writes, and whatever the tools answer, ends up in the [`Run`].
    pub fn run(&mut self, model: &dyn ChatModel, question: &str) -> Result<Run> {
        let tools = self.tools();
        let mut messages = self.conversation(question);
        let mut turns = Vec::new();
        let mut outcome = Outcome::StepLimit(self.max_steps);
        // Whether a tool was called, for `require_tool`.
        let mut called = false;
        for _ in 0..self.max_steps {
            let may_finish = called || !self.require_tool || tools.is_empty();
            let reply = model.complete(&self.request(&messages, may_finish))?;
            let cut = reply.finish_reason == FinishReason::Length;
            let reply = reply.text;
            if reply.trim().is_empty() {
                outcome = Outcome::ModelStopped;
                break;
            }
            if let Some(earlier) = turns
                .iter()
                .position(|t: &Turn| t.reply.trim() == reply.trim())
            {
                outcome = Outcome::Repeated(earlier + 1);
                turns.push(Turn {
                    step: turns[earlier].step.clone(),
                    reply,
                    truncated: cut,
                    observation: None,
                });
                break;
            }
            let parsed = match self.constrained {
                true => step::parse_json(&reply),
                false => step::parse(&reply),
            }
            .map_err(|e| match cut {
                true => FormatError(format!(
                    "{e} (the reply reached the limit of {} tokens: write less)",
                    self.max_tokens
                )),
                false => e,
            });
            let observation = match &parsed {
                Ok(Step::Finish { .. }) if !may_finish => Some(prompt::tool_required(&tools)),
                Ok(Step::Finish { answer, .. }) => {
                    outcome = Outcome::Answer(answer.clone());
                    None
                }
                Ok(Step::Act { tool, input, .. }) => {
                    Some(match tools.iter().find(|t| t.name() == tool) {
                        Some(found) => {
                            called = true;
                            found
                                .call(input)
                                .unwrap_or_else(|e| prompt::tool_failed(tool, &e))
                        }
                        None => prompt::unknown_tool(tool, &tools),
                    })
                }
                Err(e) => Some(prompt::format_error(&e.0, self.constrained)),
            };
            messages.push(Message::assistant(reply.trim()));
            turns.push(Turn {
                reply,
                truncated: cut,
                step: parsed,
                observation: observation.clone(),
            });
            match observation {
                Some(text) => messages.push(Message::user(prompt::observation(&text))),
                None => break,
            }
        }
        if let Outcome::Answer(_) = outcome {
            // The reply with the answer, as the model wrote it.
            let answered = messages.len() - 1;
            self.history.push(Message::user(question));
            self.history.push(messages[answered].clone());
        }
        Ok(Run {
            question: question.into(),
            turns,
            outcome,
        })
    }

    /// The start of a run's conversation: the system prompt, the
    /// demonstrations, the earlier runs and `question`.
    fn conversation(&self, question: &str) -> Vec<Message> {
        let mut messages = vec![Message::system(self.prompt())];
        for demonstration in &self.demonstrations {
            messages.push(Message::user(demonstration.question.as_str()));
            for (step, observation) in &demonstration.steps {
                messages.push(Message::assistant(self.write(step)));
                if let Some(text) = observation {
                    messages.push(Message::user(prompt::observation(text)));
                }
            }
        }
        messages.extend(self.history.iter().cloned());
        messages.push(Message::user(question));
        messages
    }

    /// The request for the next step after `messages`: under the schema of
    /// a step (with the final answer among the actions if `may_finish`), or
    /// in the text format, ending before the model invents an observation.
    fn request(&self, messages: &[Message], may_finish: bool) -> ChatRequest {
        let request = ChatRequest::new(messages.to_vec()).max_tokens(self.max_tokens);
        match self.constrained {
            true => {
                let names = self.tools().into_iter().map(|t| t.name());
                request.json_schema(step::json_schema(names, may_finish))
            }
            false => request.stop([OBSERVATION]),
        }
    }

    /// `step` in the format of this agent's replies.
    fn write(&self, step: &Step) -> String {
        match self.constrained {
            true => step.to_json(),
            false => step.to_text(),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::agent::search::word_hash_embedding;
    use crate::agent::{Calculator, Calendar, ScriptedModel};
    use crate::rag::MemoryStore;

    fn agent() -> Agent {
        Agent::new(
            Tools::new()
                .with(Calculator)
                .unwrap()
                .with(Calendar)
                .unwrap(),
        )
    }

    fn observations(run: &Run) -> Vec<&str> {
        run.turns
            .iter()
            .filter_map(|t| t.observation.as_deref())
            .collect()
    }

    #[test]
    fn two_tools_then_an_answer() {
        let model = ScriptedModel::new([
            "Thought: first the weekday.\nAction: calendar\nAction Input: 2024-03-15\n\
             Observation: (invented) Monday",
            "Thought: now the sum.\nAction: calculator\nAction Input: 15 + 17",
            "Thought: I know the answer.\nFinal Answer: a Friday; 32",
        ]);
        let run = agent()
            .run(&model, "Weekday of 2024-03-15, and 15 + 17?")
            .unwrap();
        assert_eq!(run.outcome, Outcome::Answer("a Friday; 32".into()));
        assert_eq!(observations(&run), ["2024-03-15 is a Friday", "32"]);
        assert_eq!(
            run.calls().map(|c| (c.0, c.1)).collect::<Vec<_>>(),
            [("calendar", "2024-03-15"), ("calculator", "15 + 17")]
        );
        let requests = model.requests();
        assert_eq!(requests.len(), 3);
        assert!(
            requests
                .iter()
                .all(|r| r.stop == ["Observation:"] && r.json_schema.is_none())
        );
        let system = &requests[0].messages[0];
        assert_eq!(system.role, "system");
        assert!(
            system.content.contains("- calculator: Evaluates")
                && system.content.contains("- calendar:")
        );
        assert!(
            system
                .content
                .contains("Action: the tool to use, one of calculator, calendar")
        );
        // The last request carries the whole exchange; the invented
        // observation was cut off by the stop string.
        let last: Vec<(&str, &str)> = requests[2].messages[1..]
            .iter()
            .map(|m| (m.role.as_str(), m.content.as_str()))
            .collect();
        assert_eq!(
            last,
            [
                ("user", "Weekday of 2024-03-15, and 15 + 17?"),
                (
                    "assistant",
                    "Thought: first the weekday.\nAction: calendar\nAction Input: 2024-03-15"
                ),
                ("user", "Observation: 2024-03-15 is a Friday"),
                (
                    "assistant",
                    "Thought: now the sum.\nAction: calculator\nAction Input: 15 + 17"
                ),
                ("user", "Observation: 32"),
            ]
        );
    }

    #[test]
    fn a_failing_tool_is_an_observation_and_the_run_goes_on() {
        let model = ScriptedModel::new([
            "Thought: divide.\nAction: calculator\nAction Input: 1 / (3 - 3)",
            "Thought: that failed.\nFinal Answer: undefined",
        ]);
        let run = agent().run(&model, "What is 1 / (3 - 3)?").unwrap();
        assert_eq!(
            observations(&run),
            ["calculator failed: division by zero at 2"]
        );
        assert_eq!(run.answer(), Some("undefined"));
    }

    #[test]
    fn an_unknown_tool_gets_the_list_of_known_ones() {
        let model = ScriptedModel::new([
            "Thought: check the weather.\nAction: weather\nAction Input: Paris",
            "Final Answer: I cannot tell.",
        ]);
        let run = agent().run(&model, "Is it raining in Paris?").unwrap();
        assert_eq!(
            observations(&run),
            ["There is no tool named \"weather\". The tools are: calculator, calendar."]
        );
        assert_eq!(run.turns.len(), 2);
    }

    #[test]
    fn a_malformed_reply_is_fed_back_and_counts_as_a_step() {
        let model = ScriptedModel::new([
            "The answer is probably 4.",
            "Thought: use the format.\nFinal Answer: 4",
        ]);
        let run = agent().run(&model, "2 + 2?").unwrap();
        assert!(run.turns[0].step.is_err());
        assert_eq!(
            observations(&run),
            [
                "Your reply did not follow the format: the reply starts with \"The answer is \
              probably 4.\" instead of 'Thought:'. Please reply with 'Thought:', then 'Action:' \
              and 'Action Input:', or 'Final Answer:'."
            ]
        );
        assert_eq!(run.answer(), Some("4"));
        assert_eq!(
            model.requests()[1].messages.len(),
            4,
            "system, question, reply, complaint"
        );
    }

    #[test]
    fn the_step_limit_ends_a_run_that_never_answers() {
        let call = |input| format!("Thought: again.\nAction: calculator\nAction Input: {input}");
        let model = ScriptedModel::new([call("1 + 1"), call("1 + 1.0"), call("1.0 + 1")]);
        let mut agent = agent().max_steps(2);
        let run = agent.run(&model, "1 + 1?").unwrap();
        assert_eq!(run.outcome, Outcome::StepLimit(2));
        assert_eq!((run.turns.len(), model.remaining()), (2, 1));
        assert!(
            run.to_string()
                .ends_with("Stopped: no answer after 2 steps (the step limit)")
        );
        assert!(
            agent.history().is_empty(),
            "an unanswered run is not remembered"
        );
    }

    #[test]
    fn a_reply_that_repeats_an_earlier_one_ends_the_run() {
        let call = "Thought: try.\nAction: calculator\nAction Input: 15% of 2340";
        let model = ScriptedModel::new([call, "Oops", call, "Final Answer: 351"]);
        let run = agent().max_steps(5).run(&model, "15% of 2340?").unwrap();
        assert_eq!(run.outcome, Outcome::Repeated(1));
        assert_eq!((run.turns.len(), model.remaining()), (3, 1));
        assert_eq!(run.turns[2].step, run.turns[0].step);
        assert_eq!(
            run.turns[2].observation, None,
            "the tool is not called again"
        );
        assert!(
            run.to_string()
                .ends_with("Stopped: the last reply repeats step 1 (a loop)")
        );
    }

    #[test]
    fn an_empty_reply_means_the_model_stopped() {
        let model = ScriptedModel::new(["  \n"]);
        let run = agent().run(&model, "Anything?").unwrap();
        assert_eq!((run.outcome, run.turns.len()), (Outcome::ModelStopped, 0));
    }

    #[test]
    fn constrained_steps_are_requested_with_the_schema_of_a_step() {
        let model = ScriptedModel::new([
            r#"{"thought": "multiply", "action": "calculator", "action_input": "17 * 23"}"#,
            r#"{"thought": "cut short", "act"#,
            r#"{"thought": "done", "action": "Final Answer", "action_input": "391"}"#,
        ]);
        let mut agent = agent().constrained(true);
        assert!(
            agent
                .prompt()
                .contains(r#""action" (one of calculator, calendar, or "Final Answer")"#)
        );
        let run = agent.run(&model, "17 * 23?").unwrap();
        assert_eq!(run.answer(), Some("391"));
        assert_eq!(observations(&run)[0], "391");
        assert!(observations(&run)[1].contains("not a JSON step"), "{run}");
        for request in model.requests() {
            let schema = request.json_schema.expect("every step is constrained");
            assert_eq!(
                schema["properties"]["action"]["enum"],
                serde_json::json!(["calculator", "calendar", "Final Answer"])
            );
            assert!(request.stop.is_empty());
        }
    }

    #[test]
    fn answered_questions_stay_in_the_conversation_until_cleared() {
        let mut agent = agent();
        let first = ScriptedModel::new(["Thought: I know.\nFinal Answer: Ada"]);
        agent
            .run(&first, "My name is Ada. What is my name?")
            .unwrap();
        assert_eq!(agent.history().len(), 2);
        let second = ScriptedModel::new(["Final Answer: Ada"]);
        agent.run(&second, "What did I say my name was?").unwrap();
        let requests = second.requests();
        let roles_and_texts: Vec<(&str, &str)> = requests[0].messages[1..]
            .iter()
            .map(|m| (m.role.as_str(), m.content.as_str()))
            .collect();
        assert_eq!(
            roles_and_texts,
            [
                ("user", "My name is Ada. What is my name?"),
                ("assistant", "Thought: I know.\nFinal Answer: Ada"),
                ("user", "What did I say my name was?"),
            ]
        );
        assert_eq!(agent.history().len(), 4);
        agent.clear_history();
        let third = ScriptedModel::new(["Final Answer: I do not know."]);
        agent.run(&third, "What is my name?").unwrap();
        assert_eq!(
            third.requests()[0].messages.len(),
            2,
            "system and question only"
        );
    }

    #[test]
    fn long_term_memory_is_a_search_the_agent_writes_to() {
        let recall = Search::new(
            Box::new(MemoryStore::new(32)),
            Box::new(word_hash_embedding),
        )
        .named("recall", "Recalls facts from earlier conversations.")
        .top_k(1);
        let err = agent().remember("x").unwrap_err().to_string();
        assert!(err.contains("no long-term memory"), "{err}");
        let clash = Search::new(
            Box::new(MemoryStore::new(32)),
            Box::new(word_hash_embedding),
        )
        .named("calculator", "Not a calculator.");
        assert!(
            agent()
                .memory(clash)
                .unwrap_err()
                .to_string()
                .contains("another tool")
        );

        let mut agent = agent().memory(recall).unwrap();
        agent.remember("The user's cat is called Miso.").unwrap();
        agent
            .remember("The user's meeting moved to Thursday.")
            .unwrap();
        assert!(agent.prompt().contains("- recall: Recalls facts"));
        let model = ScriptedModel::new([
            "Thought: look it up.\nAction: recall\nAction Input: what is the cat called",
            "Final Answer: Miso",
        ]);
        let run = agent.run(&model, "What is my cat called?").unwrap();
        assert_eq!(
            observations(&run),
            ["[memory#0] The user's cat is called Miso."]
        );
        assert_eq!(run.answer(), Some("Miso"));
    }

    #[test]
    fn a_required_tool_comes_before_the_answer() {
        let answer_first = ScriptedModel::new([
            "Thought: I just know.\nFinal Answer: 400",
            "Thought: check.\nAction: calculator\nAction Input: 17 * 23 + 4",
            "Final Answer: 395",
        ]);
        let run = agent()
            .require_tool(true)
            .run(&answer_first, "17 * 23 + 4?")
            .unwrap();
        assert_eq!(
            observations(&run),
            [
                "Do not answer yet: first use one of the tools (calculator, calendar) to find or \
                 check the answer.",
                "395"
            ]
        );
        assert_eq!(run.answer(), Some("395"));

        let constrained = ScriptedModel::new([
            r#"{"thought": "t", "action": "calculator", "action_input": "1 / 0"}"#,
            r#"{"thought": "t", "action": "Final Answer", "action_input": "none"}"#,
        ]);
        let mut agent = agent().constrained(true).require_tool(true);
        agent.run(&constrained, "1 / 0?").unwrap();
        let actions: Vec<serde_json::Value> = constrained
            .requests()
            .iter()
            .map(|r| r.json_schema.as_ref().unwrap()["properties"]["action"]["enum"].clone())
            .collect();
        assert_eq!(
            actions,
            [
                serde_json::json!(["calculator", "calendar"]),
                serde_json::json!(["calculator", "calendar", "Final Answer"]),
            ],
            "a failed call is still a call"
        );
    }

    #[test]
    fn demonstrations_are_shown_in_the_agents_format_with_real_results() {
        let question = "What is 12 * 12 + 1?";
        let calls = [("calculator", "12 * 12 + 1")];
        for constrained in [false, true] {
            let mut agent = agent()
                .constrained(constrained)
                .demonstration(question, &calls, "145")
                .unwrap();
            let model = ScriptedModel::new([
                "Final Answer: 1",
                r#"{"thought": "", "action": "Final Answer", "action_input": "1"}"#,
            ]);
            agent.run(&model, "1?").unwrap();
            let requests = model.requests();
            let shown: Vec<&str> = requests[0].messages[1..5]
                .iter()
                .map(|m| m.content.as_str())
                .collect();
            let (call, answer) = match constrained {
                false => (
                    "Thought: I will use the calculator tool.\nAction: calculator\nAction Input: 12 * 12 + 1",
                    "Thought: The calculator says 145.\nFinal Answer: 145",
                ),
                true => (
                    r#"{"thought": "I will use the calculator tool.", "action": "calculator", "action_input": "12 * 12 + 1"}"#,
                    r#"{"thought": "The calculator says 145.", "action": "Final Answer", "action_input": "145"}"#,
                ),
            };
            assert_eq!(shown, [question, call, "Observation: 145", answer]);
            assert_eq!(requests[0].messages[5].content, "1?");
            assert!(agent.history().len() == 2, "demonstrations are not history");
        }
        // A long result is not quoted in the last thought.
        let mut recall = Search::new(
            Box::new(MemoryStore::new(32)),
            Box::new(word_hash_embedding),
        );
        recall
            .remember("The user's cat, a grey tabby from the shelter, is called Miso.")
            .unwrap();
        let with_search = agent()
            .memory(recall)
            .unwrap()
            .demonstration("What is my cat called?", &[("search", "cat")], "Miso")
            .unwrap();
        let (finish, _) = with_search.demonstrations[0].steps.last().unwrap();
        assert_eq!(finish.thought(), "The search result answers the question.");

        let unknown = agent().demonstration("q", &[("weather", "Paris")], "rain");
        assert!(
            unknown
                .unwrap_err()
                .to_string()
                .contains("no tool named \"weather\"")
        );
        let failing = agent().demonstration("q", &[("calculator", "1 +")], "?");
        assert!(
            failing
                .unwrap_err()
                .to_string()
                .contains("calculator failed: expected a number")
        );
    }

    #[test]
    fn a_reply_cut_at_the_token_limit_says_so() {
        /// Always stops at the token limit halfway through a step.
        struct CutShort;
        impl ChatModel for CutShort {
            fn name(&self) -> String {
                "cut short".into()
            }
            fn complete_stream(
                &self,
                _: &ChatRequest,
                _: &mut dyn FnMut(&str),
            ) -> Result<crate::Reply> {
                Ok(crate::Reply {
                    text: r#"{"thought": "1, 2, 3, 4"#.into(),
                    finish_reason: FinishReason::Length,
                    usage: None,
                })
            }
        }
        let run = agent()
            .constrained(true)
            .max_steps(1)
            .max_tokens(12)
            .run(&CutShort, "Count.")
            .unwrap();
        let observation = run.turns[0].observation.as_deref().unwrap();
        assert!(
            observation.contains("(the reply reached the limit of 12 tokens: write less)"),
            "{observation}"
        );
        assert!(run.turns[0].truncated);
    }

    #[test]
    fn the_transcript_shows_every_step() {
        let model = ScriptedModel::new([
            "oops",
            "Thought: add.\nAction: calculator\nAction Input: 2 +\n 2",
            "Thought: done.\nFinal Answer: 4",
        ]);
        let run = agent().run(&model, "2 + 2?").unwrap();
        let transcript = run.to_string();
        let expected = "Question: 2 + 2?\n\
            Step 1\n  Reply (not a step): \"oops\"\n  Observation: Your reply did not follow the format: \
            the reply starts with \"oops\" instead of 'Thought:'. Please reply with 'Thought:', then \
            'Action:' and 'Action Input:', or 'Final Answer:'.\n\
            Step 2\n  Thought: add.\n  Action: calculator\n  Action Input: 2 +\n    2\n  Observation: 4\n\
            Step 3\n  Thought: done.\n  Final Answer: 4\n\
            Answer: 4";
        assert_eq!(transcript, expected);
    }
}
