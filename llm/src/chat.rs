//! [`Llm`]: a model and its tokenizer behind a small API (load, chat,
//! generate, stream).

use std::path::Path;

use tch::{Kind, Tensor};

use crate::generate::{self, GenerateConfig, Generation};
use crate::gguf::Gguf;
use crate::llama::{KvCache, Llama};
use crate::tokenize::{Message, Tokenizer};
use crate::{Error, Result};

/// The data-hub name of the course's model: SmolLM2-135M-Instruct, Q4_1.
pub const COURSE_MODEL: &str = "smollm2-135m-instruct-q4_1";

/// A language model ready to generate: decoder and tokenizer from one GGUF
/// file.
///
/// ```no_run
/// use aiguide_llm::{GenerateConfig, Llm, Message};
/// let llm = Llm::course(tch::Kind::Float)?;
/// let answer = llm.chat(&[Message::user("What is gravity?")], &GenerateConfig::default())?;
/// println!("{}", answer.text);
/// # Ok::<(), aiguide_llm::Error>(())
/// ```
#[derive(Debug)]
pub struct Llm {
    model: Llama,
    tokenizer: Tokenizer,
}

impl Llm {
    /// Loads the GGUF file at `path` with weights of `kind` (`Kind::Float`
    /// to match references exactly, `Kind::BFloat16` for half the memory).
    pub fn load(path: impl AsRef<Path>, kind: Kind) -> Result<Llm> {
        let gguf = Gguf::open(path)?;
        Ok(Llm {
            tokenizer: Tokenizer::from_gguf(&gguf)?,
            model: Llama::from_gguf(&gguf, kind)?,
        })
    }

    /// Loads the course's model ([`COURSE_MODEL`]) from the data folder,
    /// after checking its checksum (`./course data` fetches it).
    pub fn course(kind: Kind) -> Result<Llm> {
        Llm::load(aiguide::hub::locate(COURSE_MODEL)?, kind)
    }

    /// The decoder.
    pub fn model(&self) -> &Llama {
        &self.model
    }

    /// The tokenizer and chat template.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// Continues `prompt` (raw text: no chat template is applied).
    pub fn generate(&self, prompt: &str, config: &GenerateConfig) -> Result<Generation> {
        self.generate_stream(prompt, config, |_| {})
    }

    /// Like [`Llm::generate`], handing each piece of text to `on_text` as
    /// soon as it is complete (whole UTF-8 characters; text that may begin
    /// a stop string is held back until it is clear it does not).
    pub fn generate_stream(
        &self,
        prompt: &str,
        config: &GenerateConfig,
        on_text: impl FnMut(&str),
    ) -> Result<Generation> {
        self.generate_constrained(prompt, config, |_, _| {}, on_text)
    }

    /// Like [`Llm::generate_stream`], calling `constrain(generated, logits)`
    /// before each token is chosen, with the ids generated so far and the
    /// logits over the vocabulary: set a token's logit to
    /// `f32::NEG_INFINITY` to forbid it (constrained decoding: force a
    /// format, allow only some words).
    pub fn generate_constrained(
        &self,
        prompt: &str,
        config: &GenerateConfig,
        mut constrain: impl FnMut(&[i64], &mut [f32]),
        mut on_text: impl FnMut(&str),
    ) -> Result<Generation> {
        let ids = self.tokenizer.encode(prompt)?;
        let mut out = generate::generate(
            &self.model,
            &self.tokenizer,
            &[ids],
            config,
            |_, generated, logits| constrain(generated, logits),
            |_, piece| on_text(piece),
        )?;
        Ok(out.remove(0))
    }

    /// Continues several prompts at once, as one batch (left-padded): faster
    /// per prompt than one at a time. With sampling, a row's draws depend on
    /// the batch it is in.
    pub fn generate_batch(
        &self,
        prompts: &[&str],
        config: &GenerateConfig,
    ) -> Result<Vec<Generation>> {
        let ids = prompts
            .iter()
            .map(|p| self.tokenizer.encode(p))
            .collect::<Result<Vec<_>>>()?;
        generate::generate(
            &self.model,
            &self.tokenizer,
            &ids,
            config,
            |_, _, _| {},
            |_, _| {},
        )
    }

    /// The assistant's answer to `messages`, through the model's chat template.
    pub fn chat(&self, messages: &[Message], config: &GenerateConfig) -> Result<Generation> {
        self.chat_stream(messages, config, |_| {})
    }

    /// Like [`Llm::chat`], streaming the answer to `on_text`.
    pub fn chat_stream(
        &self,
        messages: &[Message],
        config: &GenerateConfig,
        on_text: impl FnMut(&str),
    ) -> Result<Generation> {
        let prompt = self.tokenizer.apply_chat_template(messages, true)?;
        self.generate_stream(&prompt, config, on_text)
    }

    /// Logits `[len, vocab]` (f32) the model gives after each token of
    /// `text`: row `i` scores the token that follows the first `i + 1`.
    pub fn logits(&self, text: &str) -> Result<Tensor> {
        let ids = self.tokenizer.encode(text)?;
        if ids.is_empty() {
            return Err(Error::InvalidArgument("cannot score empty text".into()));
        }
        let tokens = Tensor::from_slice(&ids).unsqueeze(0);
        Ok(self
            .model
            .forward(&tokens, None, &mut KvCache::default())?
            .squeeze_dim(0))
    }
}
