//! [`Llm`]: a model and its tokenizer behind a small API (load, chat,
//! generate, stream).

use std::path::Path;
use std::sync::{Mutex, OnceLock};

use tch::{Kind, Tensor};

use crate::generate::{self, GenerateConfig, Generation, PromptCache};
use crate::gguf::Gguf;
use crate::llama::{KvCache, Llama};
use crate::structured::{JsonConstraint, JsonGrammar, TokenBytes};
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
    /// The vocabulary as bytes, built on the first constrained generation.
    token_bytes: OnceLock<TokenBytes>,
    /// The last single prompt's keys and values, when prompt caching is on
    /// ([`Llm::set_prompt_cache`]).
    prompt_cache: Option<Mutex<PromptCache>>,
}

impl Llm {
    /// Loads the GGUF file at `path` with weights of `kind` (`Kind::Float`
    /// to match references exactly, `Kind::BFloat16` for half the memory).
    pub fn load(path: impl AsRef<Path>, kind: Kind) -> Result<Llm> {
        let gguf = Gguf::open(path)?;
        Ok(Llm {
            tokenizer: Tokenizer::from_gguf(&gguf)?,
            model: Llama::from_gguf(&gguf, kind)?,
            token_bytes: OnceLock::new(),
            prompt_cache: None,
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

    /// The decoder, to change: attach, detach or merge a LoRA adapter
    /// ([`crate::lora`]), which generation then uses. Empties the prompt
    /// cache: keys and values of the old weights would be wrong.
    pub fn model_mut(&mut self) -> &mut Llama {
        if let Some(cache) = &mut self.prompt_cache {
            *cache = Mutex::default();
        }
        &mut self.model
    }

    /// Turns prompt caching on or off. On, the model keeps the keys and
    /// values of the last prompt it generated from alone (not in a batch),
    /// and a next prompt that starts with the same tokens runs only the
    /// rest, as serving systems do: an agent's or a chat's conversation
    /// grows by a few messages per call after a long fixed start, so most
    /// of each prompt is already computed.
    ///
    /// Off by default because the results are equal only up to float
    /// rounding: the attention over a prefix and a suffix sums in another
    /// order than over the whole prompt, and under greedy decoding a
    /// near-tie between two tokens can go the other way.
    pub fn set_prompt_cache(&mut self, on: bool) {
        self.prompt_cache = on.then(Mutex::default);
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
        let mut prompt_cache = self.lock_prompt_cache();
        let mut out = generate::generate(
            &self.model,
            &self.tokenizer,
            &[ids],
            config,
            prompt_cache.as_deref_mut(),
            |_, generated, logits| constrain(generated, logits),
            |_, piece| on_text(piece),
        )?;
        Ok(out.remove(0))
    }

    /// Continues `prompt` with a JSON document that `grammar` accepts
    /// (grammar-constrained decoding, see [`crate::structured`]), streaming
    /// it to `on_text`. Ends with the document, or at `max_new_tokens` with
    /// a document cut short.
    pub fn generate_json(
        &self,
        prompt: &str,
        config: &GenerateConfig,
        grammar: &JsonGrammar,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Generation> {
        let ids = vec![self.tokenizer.encode(prompt)?];
        let mut out =
            self.generate_rows(&ids, config, &[Some(grammar)], |_, piece| on_text(piece))?;
        Ok(out.remove(0))
    }

    /// Continues several prompts as one batch, like
    /// [`Llm::generate_batch`], each constrained to its grammar where
    /// `grammars` has one (`grammars[i]` goes with `prompts[i]`).
    pub fn generate_json_batch(
        &self,
        prompts: &[&str],
        config: &GenerateConfig,
        grammars: &[Option<&JsonGrammar>],
    ) -> Result<Vec<Generation>> {
        if grammars.len() != prompts.len() {
            return Err(Error::InvalidArgument(format!(
                "{} prompts but {} grammars: give one (or None) per prompt",
                prompts.len(),
                grammars.len()
            )));
        }
        let ids = prompts
            .iter()
            .map(|p| self.tokenizer.encode(p))
            .collect::<Result<Vec<_>>>()?;
        self.generate_rows(&ids, config, grammars, |_, _| {})
    }

    /// Generates for a batch of prompts (token ids), masking row `i`'s
    /// logits with `grammars[i]` where it is set.
    fn generate_rows(
        &self,
        ids: &[Vec<i64>],
        config: &GenerateConfig,
        grammars: &[Option<&JsonGrammar>],
        on_text: impl FnMut(usize, &str),
    ) -> Result<Vec<Generation>> {
        let tokens = self
            .token_bytes
            .get_or_init(|| TokenBytes::new(&self.tokenizer));
        let mut constraints: Vec<Option<JsonConstraint>> = grammars
            .iter()
            .map(|g| g.map(|g| JsonConstraint::new(g, tokens)))
            .collect();
        let mut failure = None;
        let mut prompt_cache = self.lock_prompt_cache();
        let generations = generate::generate(
            &self.model,
            &self.tokenizer,
            ids,
            config,
            prompt_cache.as_deref_mut(),
            |row, generated, logits| {
                if let Some(Err(e)) = constraints[row].as_mut().map(|c| c.mask(generated, logits)) {
                    failure.get_or_insert(e);
                }
            },
            on_text,
        )?;
        match failure {
            Some(e) => Err(e),
            None => Ok(generations),
        }
    }

    /// The prompt cache, if it is on, locked for one generation. A
    /// generation that panicked cannot have left it half-written (it is
    /// replaced whole), so a poisoned lock is taken over.
    fn lock_prompt_cache(&self) -> Option<std::sync::MutexGuard<'_, PromptCache>> {
        self.prompt_cache.as_ref().map(|cache| {
            cache
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
        })
    }

    /// Continues several prompts at once, as one batch (left-padded): faster
    /// per prompt than one at a time. With sampling, a row's draws depend on
    /// the batch it is in.
    pub fn generate_batch(
        &self,
        prompts: &[&str],
        config: &GenerateConfig,
    ) -> Result<Vec<Generation>> {
        self.generate_json_batch(prompts, config, &vec![None; prompts.len()])
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

    /// Logits `[batch, vocab]` (f32) of the token that would follow each of
    /// `prompts` (raw text), computed in left-padded batches: scoring labels
    /// or choices for many prompts at once.
    pub fn next_token_logits(&self, prompts: &[&str]) -> Result<Tensor> {
        self.next_token_logits_after("", prompts)
    }

    /// Logits `[n, vocab]` (f32) of the token that would follow
    /// `prefix + suffixes[i]`, running the shared `prefix` once and reusing
    /// its KV cache for every suffix (prompt caching), with the suffixes in
    /// left-padded batches. Prefix and suffixes are tokenized apart, so split
    /// where that changes nothing: before a newline or a word, not inside one.
    pub fn next_token_logits_after(&self, prefix: &str, suffixes: &[&str]) -> Result<Tensor> {
        /// Suffixes per batch: the prefix's cache is copied once per row.
        const ROWS: usize = 16;
        let prefix_ids = self.tokenizer.encode(prefix)?;
        let mut prefix_cache = KvCache::default();
        if !prefix_ids.is_empty() {
            let tokens = Tensor::from_slice(&prefix_ids).unsqueeze(0);
            let _ = self.model.forward_last(&tokens, None, &mut prefix_cache)?;
        }
        let mut logits = Vec::new();
        for chunk in suffixes.chunks(ROWS) {
            let ids = chunk
                .iter()
                .map(|s| match prefix_ids.is_empty() {
                    true => self.tokenizer.encode(s),
                    false => self.tokenizer.encode_continuation(s),
                })
                .collect::<Result<Vec<_>>>()?;
            if ids.iter().any(Vec::is_empty) {
                return Err(Error::InvalidArgument(
                    "every prompt to score needs at least one token".into(),
                ));
            }
            let mut cache = match prefix_ids.is_empty() {
                true => KvCache::default(),
                false => prefix_cache.repeat(chunk.len() as i64)?,
            };
            let (tokens, mask) = generate::left_pad(&ids);
            logits.push(self.model.forward_last(&tokens, Some(&mask), &mut cache)?);
        }
        if logits.is_empty() {
            return Err(Error::InvalidArgument(
                "nothing to score: give at least one prompt".into(),
            ));
        }
        Ok(Tensor::cat(&logits, 0))
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
