//! Asks the course's model a question and streams the answer.
//!
//! ```text
//! cargo run --release -p aiguide-llm --example chat -- "What is gravity?"
//! ```

use std::io::Write;

use aiguide_llm::{GenerateConfig, Llm, Message, Result};

fn main() -> Result<()> {
    let question = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "What is gravity?".into());
    let llm = Llm::course(tch::Kind::Float)?;
    let config = GenerateConfig {
        max_new_tokens: 200,
        ..Default::default()
    };
    let answer = llm.chat_stream(&[Message::user(question)], &config, |piece| {
        print!("{piece}");
        std::io::stdout().flush().ok();
    })?;
    println!(
        "\n[{} tokens, {:?}]",
        answer.tokens.len(),
        answer.stop_reason
    );
    Ok(())
}
