//! [`ChatModel`]: "send messages, get a reply (streamed)", whoever answers.
//!
//! Lessons and applications (prompting, RAG, agents) are written against
//! this trait, so the same code runs on the course's in-process SmolLM2
//! ([`Llm`]) and on any server that speaks the OpenAI chat-completions
//! protocol ([`crate::openai::OpenAiClient`]: the course's own server of
//! chapter 7, or a hosted API a learner has a key for).

use serde_json::Value;

use crate::Result;
use crate::generate::{GenerateConfig, Generation, StopReason};
use crate::model::Llm;
use crate::structured::JsonGrammar;
use crate::tokenize::Message;

/// One request for a reply: the conversation and how to answer.
///
/// `ChatRequest::new(messages)` is greedy with at most 256 new tokens;
/// change fields with struct update syntax or the builder methods.
#[derive(Clone, Debug, PartialEq)]
pub struct ChatRequest {
    /// The conversation so far, oldest first.
    pub messages: Vec<Message>,
    /// Most tokens in the reply.
    pub max_tokens: usize,
    /// 0 is greedy (the most likely token each step); higher samples more
    /// freely.
    pub temperature: f64,
    /// Seed for sampling (servers may ignore it).
    pub seed: u64,
    /// The reply ends before the first of these strings.
    pub stop: Vec<String>,
    /// When set, the reply is a JSON document valid for this JSON Schema:
    /// enforced token by token in process ([`crate::structured`]), sent as
    /// `response_format` to a server.
    pub json_schema: Option<Value>,
}

impl ChatRequest {
    /// A greedy request for at most 256 tokens.
    pub fn new(messages: Vec<Message>) -> ChatRequest {
        ChatRequest {
            messages,
            max_tokens: 256,
            temperature: 0.0,
            seed: 0,
            stop: Vec::new(),
            json_schema: None,
        }
    }

    /// With at most `max_tokens` tokens in the reply.
    pub fn max_tokens(mut self, max_tokens: usize) -> ChatRequest {
        self.max_tokens = max_tokens;
        self
    }

    /// Sampling at `temperature` with `seed`.
    pub fn sampled(mut self, temperature: f64, seed: u64) -> ChatRequest {
        self.temperature = temperature;
        self.seed = seed;
        self
    }

    /// Ending before the first of `stop`.
    pub fn stop<S: Into<String>>(mut self, stop: impl IntoIterator<Item = S>) -> ChatRequest {
        self.stop = stop.into_iter().map(Into::into).collect();
        self
    }

    /// Replying with JSON valid for `schema` (a JSON Schema, e.g. from
    /// [`crate::structured::schema_for`]).
    pub fn json_schema(mut self, schema: Value) -> ChatRequest {
        self.json_schema = Some(schema);
        self
    }
}

/// Why a reply ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum FinishReason {
    /// The model ended its turn (or reached a stop string).
    Stop,
    /// The reply reached `max_tokens`.
    Length,
    /// Anything else the server reported.
    Other(String),
}

/// A model's reply.
#[derive(Clone, Debug, PartialEq)]
pub struct Reply {
    /// The reply's text.
    pub text: String,
    /// Why it ended.
    pub finish_reason: FinishReason,
    /// Tokens in the prompt and in the reply, when known.
    pub usage: Option<Usage>,
}

/// Token counts of one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Usage {
    /// Tokens of the prompt (the conversation after the chat template).
    pub prompt_tokens: usize,
    /// Tokens of the reply.
    pub completion_tokens: usize,
}

/// Something that answers a conversation: a model in this process or a
/// server.
pub trait ChatModel {
    /// A short name for tables and logs (e.g. the model's name).
    fn name(&self) -> String;

    /// The reply to `request`, handing each piece of text to `on_text` as
    /// soon as it is there.
    fn complete_stream(
        &self,
        request: &ChatRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Reply>;

    /// The reply to `request`.
    fn complete(&self, request: &ChatRequest) -> Result<Reply> {
        self.complete_stream(request, &mut |_| {})
    }

    /// The replies to several requests, in order. This default asks one
    /// after the other; [`Llm`] runs requests with the same settings as one
    /// batch, which on a CPU gives several times the tokens per second.
    fn complete_batch(&self, requests: &[ChatRequest]) -> Result<Vec<Reply>> {
        requests.iter().map(|r| self.complete(r)).collect()
    }
}

/// The generation settings of `request`.
fn generate_config(request: &ChatRequest) -> GenerateConfig {
    GenerateConfig {
        max_new_tokens: request.max_tokens,
        temperature: request.temperature,
        seed: request.seed,
        stop: request.stop.clone(),
        ..GenerateConfig::default()
    }
}

/// A generation as a [`Reply`].
fn reply(generation: Generation) -> Reply {
    Reply {
        finish_reason: match generation.stop_reason {
            StopReason::MaxTokens => FinishReason::Length,
            StopReason::EndOfText | StopReason::StopString(_) => FinishReason::Stop,
        },
        usage: Some(Usage {
            prompt_tokens: generation.prompt_tokens,
            completion_tokens: generation.tokens.len(),
        }),
        text: generation.text,
    }
}

impl ChatModel for Llm {
    fn name(&self) -> String {
        crate::model::COURSE_MODEL.to_string()
    }

    fn complete_stream(
        &self,
        request: &ChatRequest,
        on_text: &mut dyn FnMut(&str),
    ) -> Result<Reply> {
        let config = generate_config(request);
        let prompt = self
            .tokenizer()
            .apply_chat_template(&request.messages, true)?;
        let generation = match &request.json_schema {
            Some(schema) => {
                let grammar = JsonGrammar::from_schema(schema)?;
                self.generate_json(&prompt, &config, &grammar, on_text)?
            }
            None => self.generate_stream(&prompt, &config, on_text)?,
        };
        Ok(reply(generation))
    }

    fn complete_batch(&self, requests: &[ChatRequest]) -> Result<Vec<Reply>> {
        let Some(first) = requests.first() else {
            return Ok(Vec::new());
        };
        let config = generate_config(first);
        if requests.iter().any(|r| generate_config(r) != config) {
            // One batch runs one set of settings.
            return requests.iter().map(|r| self.complete(r)).collect();
        }
        let prompts = requests
            .iter()
            .map(|r| self.tokenizer().apply_chat_template(&r.messages, true))
            .collect::<Result<Vec<_>>>()?;
        let grammars = requests
            .iter()
            .map(|r| {
                r.json_schema
                    .as_ref()
                    .map(JsonGrammar::from_schema)
                    .transpose()
            })
            .collect::<Result<Vec<_>>>()?;
        let prompts: Vec<&str> = prompts.iter().map(String::as_str).collect();
        let grammars: Vec<Option<&JsonGrammar>> = grammars.iter().map(Option::as_ref).collect();
        Ok(self
            .generate_json_batch(&prompts, &config, &grammars)?
            .into_iter()
            .map(reply)
            .collect())
    }
}
