//! The tokenizer and chat template stored in a GGUF file's metadata.
//!
//! GGUF keeps a byte-level BPE tokenizer as lists: `tokenizer.ggml.tokens`
//! (the vocabulary, id = index), `tokenizer.ggml.merges` (`"a b"` pairs,
//! highest priority first) and `tokenizer.ggml.token_type` (3 marks control
//! tokens such as `<|im_start|>`). `tokenizer.ggml.pre` names the
//! pre-tokenizer, which llama.cpp hard-codes per model family; for SmolLM2
//! (`smollm`) it splits every digit apart, then applies GPT-2's byte-level
//! regex. Rebuilt with the `tokenizers` crate, this gives the same ids as
//! HF transformers (the tests check varied text against it).
//!
//! The chat template is a Jinja template (`tokenizer.chat_template`),
//! rendered with `minijinja` under the settings HF uses (`trim_blocks`,
//! `lstrip_blocks`), so any model's own template works unchanged.

use serde::Serialize;
use tokenizers::decoders::byte_level::ByteLevel as ByteLevelDecoder;
use tokenizers::models::bpe::{BPE, Vocab};
use tokenizers::pre_tokenizers::byte_level::ByteLevel;
use tokenizers::pre_tokenizers::digits::Digits;
use tokenizers::pre_tokenizers::sequence::Sequence;
use tokenizers::{
    AddedToken, DecoderWrapper, ModelWrapper, NormalizerWrapper, PostProcessorWrapper,
    PreTokenizerWrapper,
};

use crate::gguf::Gguf;
use crate::{Error, Result};

/// A `tokenizers` tokenizer with the wrappers of its parts.
pub type HfTokenizer = tokenizers::TokenizerImpl<
    ModelWrapper,
    NormalizerWrapper,
    PreTokenizerWrapper,
    PostProcessorWrapper,
    DecoderWrapper,
>;

/// `tokenizer.ggml.token_type` of control (special) tokens.
const CONTROL: i64 = 3;

/// The byte that byte-level BPE (GPT-2's `bytes_to_unicode`) writes as `c`:
/// printable bytes stand for themselves, the other 68 (control bytes,
/// space, 127-160 and 173) were shifted to the characters from U+0100 on, in
/// byte order.
fn byte_of_char(c: char) -> Option<u8> {
    match u32::from(c) {
        n @ (0x21..=0x7e | 0xa1..=0xac | 0xae..=0xff) => Some(n as u8),
        n @ 0x100..=0x120 => Some((n - 0x100) as u8), // 0x00-0x20
        n @ 0x121..=0x142 => Some((n - 0x121 + 0x7f) as u8), // 0x7f-0xa0
        0x143 => Some(0xad),
        _ => None,
    }
}

/// One chat message: a role (`system`, `user`, `assistant`) and its text.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Message {
    /// `system`, `user` or `assistant` (templates may accept others).
    pub role: String,
    /// The text.
    pub content: String,
}

impl Message {
    /// A message with any role.
    pub fn new(role: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            role: role.into(),
            content: content.into(),
        }
    }

    /// A system message (instructions for the assistant).
    pub fn system(content: impl Into<String>) -> Message {
        Message::new("system", content)
    }

    /// A user message.
    pub fn user(content: impl Into<String>) -> Message {
        Message::new("user", content)
    }

    /// An assistant message (an earlier answer, in a multi-turn chat).
    pub fn assistant(content: impl Into<String>) -> Message {
        Message::new("assistant", content)
    }
}

/// A model's tokenizer and chat template.
#[derive(Clone, Debug)]
pub struct Tokenizer {
    inner: HfTokenizer,
    bos: Option<u32>,
    add_bos: bool,
    /// Tokens that end generation: end-of-sequence and end-of-turn.
    stop_ids: Vec<u32>,
    chat_template: Option<String>,
}

impl Tokenizer {
    /// Builds the tokenizer described by `gguf`'s `tokenizer.*` metadata.
    pub fn from_gguf(gguf: &Gguf) -> Result<Tokenizer> {
        let model: &str = gguf.get("tokenizer.ggml.model")?;
        if model != "gpt2" {
            return Err(Error::Unsupported(format!(
                "tokenizer model `{model}` is not implemented (this crate builds byte-level BPE \
                 tokenizers, `gpt2` in GGUF terms, as used by SmolLM2, Llama 3 and Qwen)"
            )));
        }
        let tokens: Vec<&str> = gguf.get("tokenizer.ggml.tokens")?;
        let merges: Vec<&str> = gguf.get("tokenizer.ggml.merges")?;
        let types: Vec<i64> = gguf.get("tokenizer.ggml.token_type").unwrap_or_default();
        let vocab: Vocab = tokens
            .iter()
            .enumerate()
            .map(|(i, t)| (t.to_string(), i as u32))
            .collect();
        let merges = merges
            .iter()
            .map(|m| match m.split_once(' ') {
                Some((a, b)) => Ok((a.to_string(), b.to_string())),
                None => Err(Error::corrupt(
                    gguf.path(),
                    format!("merge {m:?} is not two tokens"),
                )),
            })
            .collect::<Result<Vec<_>>>()?;
        let bpe = BPE::builder()
            .vocab_and_merges(vocab, merges)
            .build()
            .map_err(|e| Error::Tokenizer(e.to_string()))?;

        let byte_level = ByteLevel::new(false, true, true);
        let pre: PreTokenizerWrapper =
            match gguf.get::<&str>("tokenizer.ggml.pre").unwrap_or("gpt2") {
                "smollm" => Sequence::new(vec![Digits::new(true).into(), byte_level.into()]).into(),
                "gpt2" => byte_level.into(),
                other => {
                    return Err(Error::Unsupported(format!(
                        "pre-tokenizer `{other}` (tokenizer.ggml.pre) is not implemented; known: \
                     smollm, gpt2"
                    )));
                }
            };
        let mut inner = HfTokenizer::new(ModelWrapper::from(bpe));
        inner
            .with_pre_tokenizer(Some(pre))
            .with_decoder(Some(ByteLevelDecoder::default()));
        let special: Vec<AddedToken> = tokens
            .iter()
            .zip(&types)
            .filter(|&(_, &ty)| ty == CONTROL)
            .map(|(t, _)| AddedToken::from(t.to_string(), true))
            .collect();
        inner.add_special_tokens(&special);

        let id = |key: &str| gguf.get::<usize>(key).ok().map(|i| i as u32);
        Ok(Tokenizer {
            inner,
            bos: id("tokenizer.ggml.bos_token_id"),
            add_bos: gguf.get("tokenizer.ggml.add_bos_token").unwrap_or(false),
            stop_ids: ["tokenizer.ggml.eos_token_id", "tokenizer.ggml.eot_token_id"]
                .iter()
                .filter_map(|k| id(k))
                .collect(),
            chat_template: gguf
                .get::<&str>("tokenizer.chat_template")
                .ok()
                .map(str::to_string),
        })
    }

    /// Token ids of `text`. Control tokens written in the text
    /// (`<|im_start|>`) become their ids; a BOS token is prepended when the
    /// model asks for one (`tokenizer.ggml.add_bos_token`).
    pub fn encode(&self, text: &str) -> Result<Vec<i64>> {
        let bos = self.bos.filter(|_| self.add_bos).map(i64::from);
        Ok(bos
            .into_iter()
            .chain(self.encode_continuation(text)?)
            .collect())
    }

    /// Token ids of `text` as the continuation of other text: like
    /// [`Tokenizer::encode`], without a BOS token.
    pub fn encode_continuation(&self, text: &str) -> Result<Vec<i64>> {
        let encoding = self
            .inner
            .encode(text, false)
            .map_err(|e| Error::Tokenizer(e.to_string()))?;
        Ok(encoding.get_ids().iter().copied().map(i64::from).collect())
    }

    /// The text of `ids`, without control tokens when `skip_special`.
    pub fn decode(&self, ids: &[i64], skip_special: bool) -> Result<String> {
        let ids = ids.iter().map(|&i| i as u32).collect::<Vec<_>>();
        self.inner
            .decode(&ids, skip_special)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }

    /// The vocabulary entry of `id` (byte-level form: a leading space is `Ġ`).
    pub fn token(&self, id: i64) -> Option<String> {
        u32::try_from(id)
            .ok()
            .and_then(|i| self.inner.id_to_token(i))
    }

    /// The bytes `id` stands for in text (byte-level BPE: `Ġ` is a space
    /// byte, and one token may hold part of a UTF-8 character); `None` for
    /// control tokens such as `<|im_start|>` and for unknown ids.
    pub fn token_bytes(&self, id: i64) -> Option<Vec<u8>> {
        let token = self.token(id)?;
        if self.inner.get_added_vocabulary().is_special_token(&token) {
            return None;
        }
        token.chars().map(byte_of_char).collect()
    }

    /// Number of tokens in the vocabulary.
    pub fn vocab_size(&self) -> usize {
        self.inner.get_vocab_size(true)
    }

    /// Whether generating `id` ends the text (end of sequence or of turn).
    pub fn is_stop(&self, id: i64) -> bool {
        self.stop_ids.iter().any(|&s| i64::from(s) == id)
    }

    /// The `tokenizers` tokenizer, to look inside (normaliser,
    /// pre-tokenizer, merges) or to use its full API.
    pub fn hf(&self) -> &HfTokenizer {
        &self.inner
    }

    /// The model's chat template (Jinja source), if the file has one.
    pub fn chat_template(&self) -> Option<&str> {
        self.chat_template.as_deref()
    }

    /// `messages` as the prompt text the model was trained on, ending with
    /// the assistant's header when `add_generation_prompt`.
    pub fn apply_chat_template(
        &self,
        messages: &[Message],
        add_generation_prompt: bool,
    ) -> Result<String> {
        let source = self.chat_template.as_deref().ok_or_else(|| {
            Error::InvalidArgument(
                "this model has no chat template (tokenizer.chat_template); format the prompt \
                 yourself and call `generate`"
                    .into(),
            )
        })?;
        let token = |id: Option<u32>| {
            id.and_then(|i| self.inner.id_to_token(i))
                .unwrap_or_default()
        };
        let ctx = minijinja::context! {
            messages => minijinja::value::Serde(messages),
            add_generation_prompt => add_generation_prompt,
            bos_token => token(self.bos),
            eos_token => token(self.stop_ids.first().copied()),
        };
        Ok(template_env()?.render_str(source, ctx)?)
    }
}

/// A Jinja environment configured like HF transformers' chat templating.
fn template_env() -> Result<minijinja::Environment<'static>> {
    let mut env = minijinja::Environment::new();
    env.set_syntax(
        minijinja::syntax::SyntaxConfig::builder()
            .trim_blocks(true)
            .lstrip_blocks(true)
            .build()?,
    );
    env.add_function(
        "raise_exception",
        |msg: String| -> Result<(), minijinja::Error> {
            Err(minijinja::Error::new(
                minijinja::ErrorKind::InvalidOperation,
                msg,
            ))
        },
    );
    Ok(env)
}

/// Decodes generated ids one at a time into text pieces that are whole UTF-8
/// characters: a character split over several byte-level tokens (emoji, CJK)
/// comes out once all its bytes have arrived.
pub struct TextStream<'a> {
    inner: tokenizers::DecodeStream<
        'a,
        ModelWrapper,
        NormalizerWrapper,
        PreTokenizerWrapper,
        PostProcessorWrapper,
        DecoderWrapper,
    >,
}

impl<'a> TextStream<'a> {
    /// A stream over `tokenizer` that leaves out control tokens.
    pub fn new(tokenizer: &'a Tokenizer) -> TextStream<'a> {
        TextStream {
            inner: tokenizer.inner.decode_stream(true),
        }
    }

    /// The text `id` completes, if any.
    pub fn step(&mut self, id: i64) -> Result<Option<String>> {
        self.inner
            .step(id as u32)
            .map_err(|e| Error::Tokenizer(e.to_string()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn render(source: &str, messages: &[Message]) -> Result<String> {
        let ctx = minijinja::context! { messages => minijinja::value::Serde(messages) };
        Ok(template_env()?.render_str(source, ctx)?)
    }

    #[test]
    fn byte_level_characters_map_back_to_every_byte_once() {
        assert_eq!(byte_of_char('Ġ'), Some(b' '));
        assert_eq!(byte_of_char('Ċ'), Some(b'\n'));
        assert_eq!(byte_of_char('a'), Some(b'a'));
        assert_eq!(
            byte_of_char(' '),
            None,
            "a raw space is not a byte-level character"
        );
        let mut bytes: Vec<u8> = (0..0x200)
            .filter_map(char::from_u32)
            .filter_map(byte_of_char)
            .collect();
        bytes.sort_unstable();
        assert_eq!(bytes, (0..=255).collect::<Vec<u8>>());
    }

    #[test]
    fn templates_render_with_hf_whitespace_rules() {
        let messages = [Message::system("be brief"), Message::user("hi")];
        let source = "{% for m in messages %}\n    {% if m.role == 'user' %}\n{{ m.role }}: {{ m.content }}\n    {% endif %}\n{% endfor %}";
        assert_eq!(render(source, &messages).unwrap(), "user: hi\n");
    }

    #[test]
    fn templates_can_raise_and_break() {
        let err = render("{{ raise_exception('roles must alternate') }}", &[]).unwrap_err();
        assert!(err.to_string().contains("roles must alternate"), "{err}");
        let source = "{% for m in messages %}{{ m.content }}{% break %}{% endfor %}";
        let messages = [Message::user("a"), Message::assistant("b")];
        assert_eq!(render(source, &messages).unwrap(), "a");
    }
}
