//! The agent on the course's models: SmolLM2-135M-Instruct answering one
//! question under constrained decoding, and a long-term memory over
//! all-MiniLM-L6-v2 embeddings.
//!
//! What is asserted is what the agent guarantees (every step well-formed,
//! the first one a call of a real tool) and what the demonstration teaches
//! this model (an expression the calculator can parse), never that a 135M
//! model's answer is right: it often is not.

use aiguide_llm::agent::calculator::evaluate;
use aiguide_llm::agent::{Agent, Calculator, Calendar, Search, Tool, Tools};
use aiguide_llm::embed::SentenceEncoder;
use aiguide_llm::rag::MemoryStore;
use aiguide_llm::{COURSE_MODEL, Llm};
use tch::Kind;

#[test]
fn a_constrained_agent_calls_the_calculator_with_an_expression() {
    // One intra-op thread, as in smollm2.rs: the tests share a busy machine.
    tch::set_num_threads(1);
    let path = aiguide::hub::locate(COURSE_MODEL).expect("run `./course data` to fetch the model");
    let llm = Llm::load(path, Kind::Float).unwrap();
    let tools = Tools::new()
        .with(Calculator)
        .unwrap()
        .with(Calendar)
        .unwrap();
    let mut agent = Agent::new(tools)
        .constrained(true)
        .require_tool(true)
        .max_steps(3)
        .demonstration(
            "What is 12 * 12 + 1?",
            &[("calculator", "12 * 12 + 1")],
            "145",
        )
        .unwrap()
        .demonstration(
            "Which weekday was 2000-01-01?",
            &[("calendar", "2000-01-01")],
            "a Saturday",
        )
        .unwrap();
    let run = agent.run(&llm, "What is 17 * 23 + 4?").unwrap();
    println!("{run}");
    assert!(
        run.turns.iter().all(|t| t.step.is_ok()),
        "a malformed step: {run}"
    );
    let (tool, input, _) = run.calls().next().expect("a tool is required first");
    assert_eq!(tool, "calculator", "{run}");
    assert!(evaluate(input).is_ok(), "{input:?} does not parse: {run}");
}

#[test]
fn the_memory_finds_a_fact_by_meaning() {
    tch::set_num_threads(1);
    let encoder = SentenceEncoder::load().expect("run `./course data` to fetch MiniLM");
    let mut recall = Search::from_encoder(Box::new(MemoryStore::new(384)), encoder).top_k(1);
    recall.remember("The user's cat is called Miso.").unwrap();
    recall
        .remember("The quarterly report is due on Friday.")
        .unwrap();
    // Not one word in common with the fact.
    assert_eq!(
        recall.call("name of my pet").unwrap(),
        "[memory#0] The user's cat is called Miso."
    );
}
