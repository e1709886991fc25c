//! The pre-norm Transformer block and MiniGPT, the guide's decoder-only
//! language model, with greedy, temperature and top-k generation.

use std::fmt;

use tch::nn::{self, Module, ModuleT};
use tch::{Kind, Tensor};

use super::attention::{MultiHeadSelfAttention, causal_mask};
use super::init::{
    check_dropout, check_input, check_sizes, check_token_ids, embedding, layer_norm, pytorch_linear,
};
use crate::{Error, Result};

/// One pre-norm Transformer block (the GPT-2/GPT-3/LLaMA arrangement):
///
/// ```text
/// x = x + dropout(attention(layer_norm1(x), mask))
/// x = x + dropout(ffn(layer_norm2(x)))        ffn = Linear → GELU → Linear
/// ```
///
/// Normalising *before* each sub-layer keeps the residual path an untouched
/// sum from the embeddings to the output, which is what lets deep stacks
/// train without warm-up tricks. (The guide's diagram draws the older
/// post-norm order, "add, then LayerNorm"; its code is pre-norm, as here.)
///
/// The guide's code ends its FFN with a Dropout and then applies the block's
/// dropout again, so in training that branch is dropped twice; here it is
/// dropped once. Parameters and evaluation-mode outputs are the same.
#[derive(Debug)]
pub struct TransformerBlock {
    /// The block's self-attention.
    pub attention: MultiHeadSelfAttention,
    norm1: nn::LayerNorm,
    norm2: nn::LayerNorm,
    ffn_in: nn::Linear,
    ffn_out: nn::Linear,
    dropout: f64,
}

impl TransformerBlock {
    /// A block of width `d_model` with `n_heads` heads and a feed-forward
    /// layer of `d_ff` units (variables `attention.*`, `norm1`, `norm2`,
    /// `ffn.0`, `ffn.2` under `path`).
    pub fn new(
        path: &nn::Path,
        d_model: i64,
        n_heads: i64,
        d_ff: i64,
        dropout: f64,
    ) -> Result<TransformerBlock> {
        check_sizes("TransformerBlock", &[("d_ff", d_ff)])?;
        check_dropout("TransformerBlock", dropout)?;
        let ffn = path / "ffn";
        Ok(TransformerBlock {
            attention: MultiHeadSelfAttention::new(&(path / "attention"), d_model, n_heads)?,
            norm1: layer_norm(path / "norm1", d_model),
            norm2: layer_norm(path / "norm2", d_model),
            ffn_in: pytorch_linear(&ffn / 0, d_model, d_ff, true),
            ffn_out: pytorch_linear(&ffn / 2, d_ff, d_model, true),
            dropout,
        })
    }

    /// Applies the block to `x` `[batch, seq_len, d_model]` (see
    /// [`MultiHeadSelfAttention::forward`] for `mask`).
    pub fn forward_t(&self, x: &Tensor, mask: Option<&Tensor>, train: bool) -> Result<Tensor> {
        Ok(self.forward_with_weights(x, mask, train)?.0)
    }

    /// Like [`forward_t`](Self::forward_t), and also returns the attention
    /// weights `[batch, heads, seq_len, seq_len]`.
    pub fn forward_with_weights(
        &self,
        x: &Tensor,
        mask: Option<&Tensor>,
        train: bool,
    ) -> Result<(Tensor, Tensor)> {
        let (attended, weights) = self
            .attention
            .forward_with_weights(&self.norm1.forward(x), mask)?;
        let x = x + attended.f_dropout(self.dropout, train)?;
        let hidden = self
            .ffn_in
            .forward(&self.norm2.forward(&x))
            .f_gelu("none")?;
        let x = &x
            + self
                .ffn_out
                .forward(&hidden)
                .f_dropout(self.dropout, train)?;
        Ok((x, weights))
    }
}

/// Settings of a [`MiniGpt`]; [`MiniGptConfig::new`] gives the guide's.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MiniGptConfig {
    /// Number of distinct tokens.
    pub vocab_size: i64,
    /// Width of every token's vector (the guide: 256).
    pub d_model: i64,
    /// Attention heads per block (the guide: 8).
    pub n_heads: i64,
    /// Transformer blocks (the guide: 6).
    pub n_layers: i64,
    /// Longest context, the size of the position table (the guide: 512).
    pub max_seq_len: i64,
    /// Units of each block's feed-forward layer (the guide: 1024).
    pub d_ff: i64,
    /// Dropout probability in training (the guide: 0.1).
    pub dropout: f64,
}

impl MiniGptConfig {
    /// The guide's model for `vocab_size` tokens.
    pub fn new(vocab_size: i64) -> MiniGptConfig {
        MiniGptConfig {
            vocab_size,
            d_model: 256,
            n_heads: 8,
            n_layers: 6,
            max_seq_len: 512,
            d_ff: 1024,
            dropout: 0.1,
        }
    }
}

/// How [`MiniGpt::generate`] picks the next token from its logits.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Sampling {
    /// Always the most likely token: deterministic, and prone to loops.
    Greedy,
    /// Draw from `softmax(logits / temperature)`: below 1 sharper (closer
    /// to greedy), above 1 flatter (more surprising).
    Temperature(f64),
    /// Draw, with `temperature`, among the `k` most likely tokens only, so
    /// the long tail of unlikely tokens can never be picked.
    TopK { k: i64, temperature: f64 },
}

impl Sampling {
    /// The next token per row of `logits` `[batch, vocab]`, as `[batch, 1]`
    /// Int64 ids. Random draws use libtorch's generator, so
    /// [`seed_all`](crate::seed_all) makes them reproducible.
    pub fn next_token(&self, logits: &Tensor) -> Result<Tensor> {
        check_input("Sampling", logits, 2, None, "logits [batch, vocab]")?;
        let draw = |logits: &Tensor, temperature: f64| -> Result<Tensor> {
            if !(temperature > 0.0 && temperature.is_finite()) {
                return Err(Error::InvalidArgument(format!(
                    "Sampling: temperature must be > 0, got {temperature} (use Sampling::Greedy \
                     for the limit of 0)"
                )));
            }
            let probs =
                (logits.f_to_kind(Kind::Float)? / temperature).f_softmax(-1, Kind::Float)?;
            Ok(probs.f_multinomial(1, false)?)
        };
        match *self {
            Sampling::Greedy => Ok(logits.f_argmax(-1, true)?),
            Sampling::Temperature(t) => draw(logits, t),
            Sampling::TopK { k, temperature } => {
                if k < 1 {
                    return Err(Error::InvalidArgument(format!(
                        "Sampling: top-k needs k >= 1, got {k}"
                    )));
                }
                let k = k.min(logits.size()[1]);
                let (values, ids) = logits.f_topk(k, -1, true, true)?;
                Ok(ids.f_gather(1, &draw(&values, temperature)?, false)?)
            }
        }
    }
}

/// The guide's MiniGPT: token embeddings plus learned position embeddings,
/// a stack of pre-norm [`TransformerBlock`]s with a causal mask, a final
/// LayerNorm and a linear head (no bias) to next-token logits.
///
/// Variables follow the guide's names (`token_emb.weight`,
/// `blocks.0.attention.W_q.weight`, ..., `head.weight`); with
/// [`MiniGptConfig::new`]`(32_000)` it has the guide's 21,254,144 parameters.
/// The causal mask is built per call rather than stored, so it is not a
/// variable (PyTorch's `register_buffer` is not a parameter either).
///
/// ```
/// use aiguide::models::{MiniGpt, MiniGptConfig, Sampling};
/// use tch::{nn, nn::ModuleT, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let config = MiniGptConfig { d_model: 32, n_heads: 4, n_layers: 2, max_seq_len: 16, d_ff: 64,
///                              ..MiniGptConfig::new(50) };
/// let gpt = MiniGpt::new(&vs.root(), config)?;
/// let prompt = Tensor::from_slice(&[1i64, 2, 3]).view([1, 3]);
/// assert_eq!(gpt.forward_t(&prompt, false).size(), [1, 3, 50]);
/// let text = gpt.generate(&prompt, 5, Sampling::Greedy)?;
/// assert_eq!(text.size(), [1, 8]);
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Debug)]
pub struct MiniGpt {
    config: MiniGptConfig,
    token_emb: nn::Embedding,
    pos_emb: nn::Embedding,
    blocks: Vec<TransformerBlock>,
    ln_f: nn::LayerNorm,
    head: nn::Linear,
}

impl MiniGpt {
    /// Creates the model under `path`.
    pub fn new(path: &nn::Path, config: MiniGptConfig) -> Result<MiniGpt> {
        let c = config;
        check_sizes(
            "MiniGpt",
            &[
                ("vocab_size", c.vocab_size),
                ("n_layers", c.n_layers),
                ("max_seq_len", c.max_seq_len),
            ],
        )?;
        let blocks = (0..c.n_layers)
            .map(|i| {
                TransformerBlock::new(
                    &(path / "blocks" / i),
                    c.d_model,
                    c.n_heads,
                    c.d_ff,
                    c.dropout,
                )
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(MiniGpt {
            config,
            token_emb: embedding(path / "token_emb", c.vocab_size, c.d_model),
            pos_emb: embedding(path / "pos_emb", c.max_seq_len, c.d_model),
            blocks,
            ln_f: layer_norm(path / "ln_f", c.d_model),
            head: pytorch_linear(path / "head", c.d_model, c.vocab_size, false),
        })
    }

    /// The configuration the model was built with.
    pub fn config(&self) -> MiniGptConfig {
        self.config
    }

    /// Next-token logits `[batch, seq_len, vocab]` for token ids `[batch,
    /// seq_len]`: position `t` predicts token `t + 1` from tokens `0..=t`.
    pub fn try_forward_t(&self, ids: &Tensor, train: bool) -> Result<Tensor> {
        Ok(self.run(ids, train, false)?.0)
    }

    /// The attention weights of every block for `ids` (evaluation mode, no
    /// gradients): one `[batch, heads, seq_len, seq_len]` tensor per block.
    pub fn attention_maps(&self, ids: &Tensor) -> Result<Vec<Tensor>> {
        tch::no_grad(|| Ok(self.run(ids, false, true)?.1))
    }

    /// Extends `prompt` `[batch, prompt_len]` by `max_new_tokens` tokens, one
    /// at a time: each step feeds the last `max_seq_len` tokens (a longer
    /// prompt is cropped to its end, as the guide's `tokens[:, -512:]`
    /// does), takes the logits of the last position and picks a token with
    /// `sampling`. Returns `[batch, prompt_len + max_new_tokens]`, the whole
    /// prompt included.
    ///
    /// The prompt's ids are checked once. The generated ones are not: they
    /// are drawn from `0..vocab_size` by construction, and checking them
    /// would read the tensor back to the host at every step (a stall per
    /// token on a GPU).
    pub fn generate(
        &self,
        prompt: &Tensor,
        max_new_tokens: i64,
        sampling: Sampling,
    ) -> Result<Tensor> {
        self.check(prompt, None)?;
        if max_new_tokens < 0 {
            return Err(Error::InvalidArgument(format!(
                "MiniGpt::generate: max_new_tokens must be >= 0, got {max_new_tokens}"
            )));
        }
        tch::no_grad(|| {
            let mut tokens = prompt.shallow_clone();
            for _ in 0..max_new_tokens {
                let len = tokens.size()[1];
                let context_len = len.min(self.config.max_seq_len);
                let context = tokens.f_narrow(1, len - context_len, context_len)?;
                let logits = self.run_checked(&context, false, false)?.0;
                let next = sampling.next_token(&logits.f_select(1, -1)?)?;
                tokens = Tensor::f_cat(&[tokens, next], 1)?;
            }
            Ok(tokens)
        })
    }

    /// Checks that `ids` are `[batch, seq_len]` token ids in `0..vocab_size`
    /// with `1 <= seq_len`, and `seq_len <= max_len` where a limit is given.
    fn check(&self, ids: &Tensor, max_len: Option<i64>) -> Result<()> {
        check_input("MiniGpt", ids, 2, None, "token ids [batch, seq_len]")?;
        let len = ids.size()[1];
        if len == 0 {
            return Err(Error::InvalidArgument(
                "MiniGpt: the sequences are empty (seq_len 0)".into(),
            ));
        }
        if let Some(max) = max_len.filter(|&max| len > max) {
            return Err(Error::InvalidArgument(format!(
                "MiniGpt: sequences must have 1 to max_seq_len = {max} tokens, got {len}; \
                 feed the last {max} tokens (generate crops its prompt itself)"
            )));
        }
        check_token_ids("MiniGpt", ids, self.config.vocab_size)
    }

    fn run(&self, ids: &Tensor, train: bool, keep_weights: bool) -> Result<(Tensor, Vec<Tensor>)> {
        self.check(ids, Some(self.config.max_seq_len))?;
        self.run_checked(ids, train, keep_weights)
    }

    /// The forward pass for ids already known to be valid and at most
    /// `max_seq_len` long.
    fn run_checked(
        &self,
        ids: &Tensor,
        train: bool,
        keep_weights: bool,
    ) -> Result<(Tensor, Vec<Tensor>)> {
        let t = ids.size()[1];
        let positions = Tensor::f_arange(t, (Kind::Int64, ids.device()))?;
        let mut x = self.token_emb.forward(ids) + self.pos_emb.forward(&positions);
        let mask = causal_mask(t, ids.device());
        let mut maps = Vec::new();
        for block in &self.blocks {
            let (out, weights) = block.forward_with_weights(&x, Some(&mask), train)?;
            x = out;
            if keep_weights {
                maps.push(weights);
            }
        }
        Ok((self.head.forward(&self.ln_f.forward(&x)), maps))
    }
}

impl ModuleT for MiniGpt {
    /// Panics with [`MiniGpt::try_forward_t`]'s message on bad input.
    fn forward_t(&self, ids: &Tensor, train: bool) -> Tensor {
        self.try_forward_t(ids, train)
            .unwrap_or_else(|e| panic!("{e}"))
    }
}

/// A one-screen summary of the architecture.
impl fmt::Display for MiniGpt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let c = self.config;
        writeln!(f, "MiniGpt(")?;
        writeln!(
            f,
            "  (token_emb): Embedding({}, {})",
            c.vocab_size, c.d_model
        )?;
        writeln!(
            f,
            "  (pos_emb): Embedding({}, {})",
            c.max_seq_len, c.d_model
        )?;
        writeln!(
            f,
            "  (blocks): {} x TransformerBlock(pre-norm; attention: {} heads x {}; ffn: {} → {} → {}, GELU; dropout {})",
            c.n_layers,
            c.n_heads,
            c.d_model / c.n_heads.max(1),
            c.d_model,
            c.d_ff,
            c.d_model,
            c.dropout
        )?;
        writeln!(f, "  (ln_f): LayerNorm(({},), eps=1e-05)", c.d_model)?;
        write!(
            f,
            "  (head): Linear(in_features={}, out_features={}, bias=False)\n)",
            c.d_model, c.vocab_size
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::models::parameter_count;
    use tch::Device;

    fn small(vocab: i64) -> MiniGptConfig {
        MiniGptConfig {
            d_model: 16,
            n_heads: 2,
            n_layers: 2,
            max_seq_len: 8,
            d_ff: 32,
            ..MiniGptConfig::new(vocab)
        }
    }

    #[test]
    fn guide_sized_minigpt() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let gpt = MiniGpt::new(&vs.root(), MiniGptConfig::new(32_000)).unwrap();
        assert_eq!(parameter_count(&vs), 21_254_144);
        let ids = Tensor::randint(32_000, [2, 16], (Kind::Int64, Device::Cpu));
        assert_eq!(gpt.forward_t(&ids, false).size(), [2, 16, 32_000]);
        let names = vs.variables();
        assert!(names.contains_key("blocks.5.attention.W_o.bias"));
        assert!(names.contains_key("blocks.0.ffn.2.weight") && !names.contains_key("head.bias"));
        assert!(gpt.to_string().contains("6 x TransformerBlock"));
    }

    #[test]
    fn block_shape_and_parameters() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let block = TransformerBlock::new(&vs.root(), 16, 4, 64, 0.1).unwrap();
        // attention 4 x (16*16 + 16), two LayerNorms 2 x 32, FFN 16*64 + 64 + 64*16 + 16.
        assert_eq!(parameter_count(&vs), 1088 + 64 + 2128);
        let x = Tensor::randn([3, 5, 16], (Kind::Float, Device::Cpu));
        let y = block
            .forward_t(&x, Some(&causal_mask(5, Device::Cpu)), true)
            .unwrap();
        assert_eq!(y.size(), [3, 5, 16]);
        assert!(TransformerBlock::new(&vs.root(), 16, 4, 64, -0.1).is_err());
    }

    #[test]
    fn generation_and_attention_maps() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(0);
        let vs = nn::VarStore::new(Device::Cpu);
        let gpt = MiniGpt::new(&vs.root(), small(11)).unwrap();
        let prompt = Tensor::from_slice(&[1i64, 2, 3, 4, 5, 6]).view([2, 3]);
        // Longer than max_seq_len: generation slides the context window.
        let greedy = gpt.generate(&prompt, 7, Sampling::Greedy).unwrap();
        assert_eq!(greedy.size(), [2, 10]);
        assert!(greedy.narrow(1, 0, 3).equal(&prompt));
        assert!(greedy.equal(&gpt.generate(&prompt, 7, Sampling::Greedy).unwrap()));
        let sampled = gpt
            .generate(&prompt, 5, Sampling::Temperature(1.0))
            .unwrap();
        assert_eq!(sampled.size(), [2, 8]);
        let maps = gpt.attention_maps(&prompt).unwrap();
        assert_eq!(maps.len(), 2);
        assert_eq!(maps[1].size(), [2, 2, 3, 3]);
        let e = gpt.try_forward_t(&Tensor::zeros([1, 9], (Kind::Int64, Device::Cpu)), false);
        assert!(e.unwrap_err().to_string().contains("max_seq_len = 8"));
    }

    #[test]
    fn generate_crops_a_long_prompt_and_checks_it_once() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(2);
        let vs = nn::VarStore::new(Device::Cpu);
        let gpt = MiniGpt::new(&vs.root(), small(11)).unwrap();
        // 12 tokens, longer than max_seq_len = 8: the model sees the last 8.
        let long = Tensor::arange(12, (Kind::Int64, Device::Cpu))
            .remainder(11)
            .view([1, 12]);
        let out = gpt.generate(&long, 4, Sampling::Greedy).unwrap();
        assert_eq!(out.size(), [1, 16]);
        assert!(
            out.narrow(1, 0, 12).equal(&long),
            "the whole prompt is returned"
        );
        let tail = long.narrow(1, 4, 8);
        let from_tail = gpt.generate(&tail, 4, Sampling::Greedy).unwrap();
        assert!(
            out.narrow(1, 12, 4).equal(&from_tail.narrow(1, 8, 4)),
            "only the last max_seq_len tokens matter"
        );
        // The prompt's ids are still checked, and so are the other arguments.
        let bad = gpt.generate(&(&long + 5), 1, Sampling::Greedy).unwrap_err();
        assert!(bad.to_string().contains("0..11"), "{bad}");
        assert!(gpt.generate(&long, -1, Sampling::Greedy).is_err());
        let empty = Tensor::zeros([1, 0], (Kind::Int64, Device::Cpu));
        assert!(gpt.generate(&empty, 1, Sampling::Greedy).is_err());
        assert!(
            gpt.generate(&long, 0, Sampling::Greedy)
                .unwrap()
                .equal(&long)
        );
    }

    #[test]
    fn sampling_rules() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(1);
        let logits = Tensor::from_slice(&[0.0f32, 5.0, 4.0, -3.0]).view([1, 4]);
        let greedy = Sampling::Greedy.next_token(&logits).unwrap();
        assert_eq!(greedy.int64_value(&[0, 0]), 1);
        // Top-2 only ever draws token 1 or 2.
        let top2 = Sampling::TopK {
            k: 2,
            temperature: 5.0,
        };
        let draws: Vec<i64> = (0..200)
            .map(|_| top2.next_token(&logits).unwrap().int64_value(&[0, 0]))
            .collect();
        assert!(draws.iter().all(|&t| t == 1 || t == 2));
        assert!(draws.contains(&1) && draws.contains(&2));
        // A hot temperature reaches tokens top-k would exclude.
        let hot = Sampling::Temperature(100.0);
        assert!((0..200).any(|_| hot.next_token(&logits).unwrap().int64_value(&[0, 0]) == 3));
        assert!(Sampling::Temperature(0.0).next_token(&logits).is_err());
        assert!(
            Sampling::TopK {
                k: 0,
                temperature: 1.0
            }
            .next_token(&logits)
            .is_err()
        );
    }
}
