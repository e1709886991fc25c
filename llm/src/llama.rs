//! The Llama decoder (SmolLM2, TinyLlama, Llama 2/3 and others) on tch, with
//! weights read from a GGUF file.
//!
//! Each of the `n_layers` blocks is pre-norm attention then a pre-norm
//! SwiGLU feed-forward, each added back to the residual stream:
//!
//! ```text
//! x = x + Wo · attention(rope(Wq · rms(x)), rope(Wk · rms(x)), Wv · rms(x))
//! x = x + Wdown · (silu(Wgate · rms(x)) ⊙ Wup · rms(x))
//! ```
//!
//! Details that matter for matching reference logits:
//! - RMSNorm runs in f32 whatever the weights' kind, then casts back (as in
//!   HF transformers; bf16 statistics lose too much precision).
//! - llama.cpp's converter permutes the rows of `attn_q` and `attn_k` so
//!   that RoPE rotates adjacent pairs `(x[2i], x[2i+1])` by `pos · θ_i`,
//!   `θ_i = base^(-2i/head_dim)`. HF's "rotate half" on unpermuted weights
//!   computes the same numbers.
//! - Grouped-query attention: `n_heads / n_kv_heads` query heads share each
//!   key/value head (SmolLM2-135M: 9 query heads, 3 KV heads).
//! - No `output.weight` means the output head is tied to `token_embd`.
//!
//! Batches of prompts of different lengths are padded on the left and come
//! with a mask (1 = token, 0 = padding): padding takes no part in attention
//! and does not advance positions, so each row's logits equal those of the
//! row run alone.
//!
//! LoRA adapters ([`crate::lora`]) attached with [`Llama::attach_lora`] add
//! their low-rank updates to the projections' outputs in every forward pass;
//! without one the decoder runs exactly as above.

use tch::{Device, Kind, Tensor};

use crate::gguf::Gguf;
use crate::lora::{Lora, Site};
use crate::{Error, Result};

/// Hyperparameters, from the GGUF metadata (`llama.*` keys).
#[derive(Clone, Debug, PartialEq)]
pub struct LlamaConfig {
    /// Number of decoder blocks.
    pub n_layers: usize,
    /// Width of the residual stream.
    pub d_model: usize,
    /// Hidden width of the feed-forward network.
    pub d_ff: usize,
    /// Query heads.
    pub n_heads: usize,
    /// Key/value heads (fewer than `n_heads` for grouped-query attention).
    pub n_kv_heads: usize,
    /// Width of one head (`d_model / n_heads`).
    pub head_dim: usize,
    /// Vocabulary size (rows of the embedding).
    pub vocab_size: usize,
    /// Longest sequence the model was trained on.
    pub context_length: usize,
    /// RoPE base frequency.
    pub rope_base: f64,
    /// RMSNorm epsilon.
    pub rms_eps: f64,
}

impl LlamaConfig {
    /// Reads the hyperparameters, refusing architectures and RoPE variants
    /// this decoder does not implement.
    pub fn from_gguf(gguf: &Gguf) -> Result<LlamaConfig> {
        let arch: &str = gguf.get("general.architecture")?;
        if arch != "llama" {
            return Err(Error::Unsupported(format!(
                "{}: architecture `{arch}` is not implemented (this decoder runs `llama` models \
                 such as SmolLM2 and TinyLlama)",
                gguf.path().display()
            )));
        }
        if let Ok(scaling) = gguf.get::<&str>("llama.rope.scaling.type")
            && scaling != "none"
        {
            return Err(Error::Unsupported(format!(
                "RoPE scaling `{scaling}` is not implemented; use a model without \
                 `llama.rope.scaling.type`"
            )));
        }
        let d_model: usize = gguf.get("llama.embedding_length")?;
        let n_heads: usize = gguf.get("llama.attention.head_count")?;
        let n_kv_heads: usize = gguf
            .get("llama.attention.head_count_kv")
            .or_else(|_| gguf.get("llama.attention.head_count"))?;
        let embd = gguf.tensor_info("token_embd.weight")?;
        let config = LlamaConfig {
            n_layers: gguf.get("llama.block_count")?,
            d_model,
            d_ff: gguf.get("llama.feed_forward_length")?,
            n_heads,
            n_kv_heads,
            head_dim: d_model.checked_div(n_heads).unwrap_or(0),
            vocab_size: embd.shape()[0] as usize,
            context_length: gguf.get("llama.context_length")?,
            rope_base: gguf.get("llama.rope.freq_base").unwrap_or(10_000.0),
            rms_eps: gguf.get("llama.attention.layer_norm_rms_epsilon")?,
        };
        let rope_dims: usize = gguf
            .get("llama.rope.dimension_count")
            .unwrap_or(config.head_dim);
        if n_heads == 0
            || n_kv_heads == 0
            || !d_model.is_multiple_of(n_heads)
            || !n_heads.is_multiple_of(n_kv_heads)
            || !config.head_dim.is_multiple_of(2)
            || rope_dims != config.head_dim
        {
            return Err(Error::Unsupported(format!(
                "{}: unsupported attention shape (d_model {d_model}, {n_heads} heads, \
                 {n_kv_heads} KV heads, RoPE on {rope_dims} dims)",
                gguf.path().display()
            )));
        }
        Ok(config)
    }
}

/// One decoder block. Q, K and V are one matrix, and so are gate and up:
/// fewer, larger matrix products are faster on CPU. LoRA's merge adds into
/// these weights, hence `pub(crate)`.
#[derive(Debug)]
pub(crate) struct Block {
    pub(crate) attn_norm: Tensor,
    pub(crate) wqkv: Tensor,
    pub(crate) wo: Tensor,
    pub(crate) ffn_norm: Tensor,
    pub(crate) w_gate_up: Tensor,
    pub(crate) w_down: Tensor,
}

/// Keys and values of the positions seen so far, so each new token costs one
/// position's work instead of the whole sequence's. Make one per sequence (or
/// batch) with [`KvCache::default`] and pass it to every [`Llama::forward`]
/// call of that sequence.
///
/// A clone shares the cached tensors, which are never changed in place (a
/// forward pass appends by making new ones): compute a prompt's common
/// prefix once, then continue a clone of its cache with each suffix (prompt
/// caching).
#[derive(Debug, Default)]
pub struct KvCache {
    /// Per block: keys and values `[batch, n_kv_heads, seen, head_dim]`.
    layers: Vec<(Tensor, Tensor)>,
    /// `[batch, seen]`, true where a position holds a token (not padding).
    key_mask: Option<Tensor>,
    /// `[batch]`, the position the next token of each row gets.
    next_pos: Option<Tensor>,
}

impl Clone for KvCache {
    fn clone(&self) -> KvCache {
        let share = |t: &Option<Tensor>| t.as_ref().map(Tensor::shallow_clone);
        KvCache {
            layers: self
                .layers
                .iter()
                .map(|(k, v)| (k.shallow_clone(), v.shallow_clone()))
                .collect(),
            key_mask: share(&self.key_mask),
            next_pos: share(&self.next_pos),
        }
    }
}

impl KvCache {
    /// This one-row cache copied into a batch of `rows`: continue one
    /// prefix with several different suffixes at once.
    pub fn repeat(&self, rows: i64) -> Result<KvCache> {
        let batch = self.key_mask.as_ref().map_or(1, |m| m.size()[0]);
        if batch != 1 || rows < 1 {
            return Err(Error::InvalidArgument(format!(
                "repeat copies a cache of one row into rows >= 1; this cache has {batch} rows, \
                 asked for {rows}"
            )));
        }
        let copy = |t: &Tensor| {
            let mut times = vec![1; t.dim()];
            times[0] = rows;
            t.repeat(times.as_slice())
        };
        Ok(KvCache {
            layers: self
                .layers
                .iter()
                .map(|(k, v)| (copy(k), copy(v)))
                .collect(),
            key_mask: self.key_mask.as_ref().map(copy),
            next_pos: self.next_pos.as_ref().map(copy),
        })
    }

    /// This cache cut back to its first `len` positions (a prefix of what
    /// it holds): what a shorter prompt that starts the same way would have
    /// left. Shares the tensors, like a clone.
    pub fn truncated(&self, len: i64) -> Result<KvCache> {
        if len < 0 || len > self.len() {
            return Err(Error::InvalidArgument(format!(
                "cannot cut a cache of {} positions to {len}",
                self.len()
            )));
        }
        let key_mask = self.key_mask.as_ref().map(|m| m.narrow(1, 0, len));
        Ok(KvCache {
            layers: self
                .layers
                .iter()
                .map(|(k, v)| (k.narrow(2, 0, len), v.narrow(2, 0, len)))
                .collect(),
            // Positions count tokens, not padding (see `Llama::hidden`).
            next_pos: key_mask
                .as_ref()
                .map(|m| m.sum_dim_intlist(1, false, Kind::Int64)),
            key_mask,
        })
    }

    /// Number of positions cached (padding included).
    pub fn len(&self) -> i64 {
        self.key_mask.as_ref().map_or(0, |m| m.size()[1])
    }

    /// Whether nothing has been cached yet.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// A Llama decoder with its weights, ready to run on the CPU.
#[derive(Debug)]
pub struct Llama {
    config: LlamaConfig,
    kind: Kind,
    embed: Tensor,
    pub(crate) blocks: Vec<Block>,
    norm: Tensor,
    head: Tensor,
    /// `[context_length, head_dim / 2]`, f32.
    cos: Tensor,
    sin: Tensor,
    /// The attached LoRA adapter, if any (see [`crate::lora`]).
    pub(crate) lora: Option<Lora>,
}

impl Llama {
    /// Loads the decoder from `gguf`, dequantising every weight to f32 and
    /// then converting it to `kind` (`Kind::Float` or `Kind::BFloat16`).
    pub fn from_gguf(gguf: &Gguf, kind: Kind) -> Result<Llama> {
        if !matches!(kind, Kind::Float | Kind::BFloat16) {
            return Err(Error::InvalidArgument(format!(
                "weights can be Float or BFloat16, not {kind:?}"
            )));
        }
        let config = LlamaConfig::from_gguf(gguf)?;
        let weight = |name: &str| -> Result<Tensor> { Ok(gguf.tensor(name)?.to_kind(kind)) };
        let blocks = (0..config.n_layers)
            .map(|i| {
                let w = |part: &str| weight(&format!("blk.{i}.{part}.weight"));
                Ok(Block {
                    attn_norm: w("attn_norm")?,
                    wqkv: Tensor::cat(&[w("attn_q")?, w("attn_k")?, w("attn_v")?], 0),
                    wo: w("attn_output")?,
                    ffn_norm: w("ffn_norm")?,
                    w_gate_up: Tensor::cat(&[w("ffn_gate")?, w("ffn_up")?], 0),
                    w_down: w("ffn_down")?,
                })
            })
            .collect::<Result<Vec<_>>>()?;
        let embed = weight("token_embd.weight")?;
        let head = match gguf.tensor_info("output.weight") {
            Ok(_) => weight("output.weight")?,
            Err(_) => embed.shallow_clone(),
        };
        let (cos, sin) = rope_tables(&config);
        Ok(Llama {
            cos,
            sin,
            norm: weight("output_norm.weight")?,
            config,
            kind,
            embed,
            blocks,
            head,
            lora: None,
        })
    }

    /// A decoder with random f32 weights drawn from `seed` and a tied
    /// output head: a model of any shape, built in microseconds, for tests
    /// that need the real code path but not real weights.
    #[cfg(test)]
    pub(crate) fn random(config: LlamaConfig, seed: u64) -> Llama {
        use rand::{Rng, SeedableRng};
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let mut uniform = |rows: usize, cols: usize, scale: f32| {
            let values: Vec<f32> = (0..rows * cols)
                .map(|_| rng.gen_range(-scale..scale))
                .collect();
            Tensor::from_slice(&values).view([rows as i64, cols as i64])
        };
        let (d, f) = (config.d_model, config.d_ff);
        let (q, kv) = (
            config.n_heads * config.head_dim,
            config.n_kv_heads * config.head_dim,
        );
        // Uniform(-1/sqrt(in), 1/sqrt(in)), as torch's `nn.Linear` starts.
        let bound = |fan_in: usize| 1.0 / (fan_in as f32).sqrt();
        let blocks = (0..config.n_layers)
            .map(|_| Block {
                attn_norm: Tensor::ones([d as i64], (Kind::Float, Device::Cpu)),
                wqkv: uniform(q + 2 * kv, d, bound(d)),
                wo: uniform(d, q, bound(q)),
                ffn_norm: Tensor::ones([d as i64], (Kind::Float, Device::Cpu)),
                w_gate_up: uniform(2 * f, d, bound(d)),
                w_down: uniform(d, f, bound(f)),
            })
            .collect();
        let embed = uniform(config.vocab_size, d, 1.0);
        let (cos, sin) = rope_tables(&config);
        Llama {
            cos,
            sin,
            norm: Tensor::ones([d as i64], (Kind::Float, Device::Cpu)),
            kind: Kind::Float,
            head: embed.shallow_clone(),
            embed,
            blocks,
            config,
            lora: None,
        }
    }

    /// The hyperparameters.
    pub fn config(&self) -> &LlamaConfig {
        &self.config
    }

    /// The kind of the weights and activations.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// Number of weights (an output head tied to the embedding counted
    /// once, as `model.parameters()` in PyTorch counts it); an attached LoRA
    /// adapter's are not included.
    pub fn num_params(&self) -> usize {
        let blocks: usize = self
            .blocks
            .iter()
            .map(|b| {
                [
                    &b.attn_norm,
                    &b.wqkv,
                    &b.wo,
                    &b.ffn_norm,
                    &b.w_gate_up,
                    &b.w_down,
                ]
                .iter()
                .map(|t| t.numel())
                .sum::<usize>()
            })
            .sum();
        let tied = self.head.data_ptr() == self.embed.data_ptr();
        let head = if tied { 0 } else { self.head.numel() };
        self.embed.numel() + blocks + self.norm.numel() + head
    }

    /// Runs `tokens` (`[batch, len]`, Int64) after whatever `cache` already
    /// holds and returns logits `[batch, len, vocab]` in f32. `mask`
    /// (`[batch, len]`, 1 = token, 0 = left padding) marks padding; `None`
    /// means no padding.
    pub fn forward(
        &self,
        tokens: &Tensor,
        mask: Option<&Tensor>,
        cache: &mut KvCache,
    ) -> Result<Tensor> {
        let _no_grad = self.lora.as_ref().map(|_| tch::no_grad_guard());
        let hidden = self.hidden(tokens, mask, cache, false)?;
        Ok(self.logits(&hidden))
    }

    /// Like [`Llama::forward`], but only the last position's logits,
    /// `[batch, vocab]`: what generation needs, without computing the output
    /// head (a large matrix product) for every prompt token.
    pub fn forward_last(
        &self,
        tokens: &Tensor,
        mask: Option<&Tensor>,
        cache: &mut KvCache,
    ) -> Result<Tensor> {
        let _no_grad = self.lora.as_ref().map(|_| tch::no_grad_guard());
        let hidden = self.hidden(tokens, mask, cache, false)?;
        Ok(self.logits(&hidden.select(1, -1)))
    }

    /// Logits in f32 of hidden states `[..., d_model]`.
    pub(crate) fn logits(&self, hidden: &Tensor) -> Tensor {
        hidden
            .linear(&self.head, None::<Tensor>)
            .to_kind(Kind::Float)
    }

    /// The final normalised hidden states `[batch, len, d_model]`. `train`
    /// turns on the LoRA adapters' dropout (it changes nothing else).
    /// [`Llama::forward`] and [`Llama::forward_last`] run this without
    /// autograd when an adapter is attached; LoRA's training calls it with
    /// autograd on, so it builds the graph back to the adapters.
    pub(crate) fn hidden(
        &self,
        tokens: &Tensor,
        mask: Option<&Tensor>,
        cache: &mut KvCache,
        train: bool,
    ) -> Result<Tensor> {
        let (b, t) = self.check_input(tokens, mask, cache)?;
        let cfg = &self.config;
        let opts = (Kind::Int64, Device::Cpu);
        let mask = match mask {
            Some(m) => m.to_kind(Kind::Bool),
            None => Tensor::ones([b, t], (Kind::Bool, Device::Cpu)),
        };
        let past = cache.len();
        // Positions count tokens only, so padding does not shift a row.
        let next_pos = cache
            .next_pos
            .take()
            .unwrap_or_else(|| Tensor::zeros([b], opts));
        let pos = (next_pos.unsqueeze(1) + mask.cumsum(1, Kind::Int64) - 1).clamp_min(0);
        cache.next_pos = Some(next_pos + mask.sum_dim_intlist(1, false, Kind::Int64));
        let key_mask = match cache.key_mask.take() {
            Some(old) => Tensor::cat(&[old, mask], 1),
            None => mask,
        };
        // Query i (absolute position past + i) sees key j when j <= past + i
        // and key j is a token. A padding query also sees itself, so that
        // its softmax row is not empty (its output is never used).
        let q_idx = Tensor::arange_start(past, past + t, opts).unsqueeze(1);
        let k_idx = Tensor::arange(past + t, opts).unsqueeze(0);
        let allowed = k_idx
            .le_tensor(&q_idx)
            .unsqueeze(0)
            .logical_and(&key_mask.unsqueeze(1))
            .logical_or(&k_idx.eq_tensor(&q_idx).unsqueeze(0))
            .unsqueeze(1);
        cache.key_mask = Some(key_mask);

        let half = cfg.head_dim as i64 / 2;
        let flat_pos = pos.flatten(0, -1);
        let cos = self
            .cos
            .index_select(0, &flat_pos)
            .view([b, t, 1, half])
            .to_kind(self.kind);
        let sin = self
            .sin
            .index_select(0, &flat_pos)
            .view([b, t, 1, half])
            .to_kind(self.kind);

        let (h, kv, hd) = (
            cfg.n_heads as i64,
            cfg.n_kv_heads as i64,
            cfg.head_dim as i64,
        );
        let mut x = self
            .embed
            .index_select(0, &tokens.flatten(0, -1))
            .view([b, t, -1]);
        for (i, block) in self.blocks.iter().enumerate() {
            let normed = self.rms_norm(&x, &block.attn_norm);
            let mut parts = normed
                .linear(&block.wqkv, None::<Tensor>)
                .split_with_sizes([h * hd, kv * hd, kv * hd], -1);
            if let Some(lora) = &self.lora {
                lora.add_updates(i, Site::Qkv, &normed, &mut parts, train);
            }
            let q = rope(&parts[0].view([b, t, h, hd]), &cos, &sin).transpose(1, 2);
            let k = rope(&parts[1].view([b, t, kv, hd]), &cos, &sin).transpose(1, 2);
            let v = parts[2].view([b, t, kv, hd]).transpose(1, 2);
            let (k, v) = match cache.layers.get_mut(i) {
                Some((ck, cv)) => {
                    *ck = Tensor::cat(&[&*ck, &k], 2);
                    *cv = Tensor::cat(&[&*cv, &v], 2);
                    (ck.shallow_clone(), cv.shallow_clone())
                }
                None => {
                    cache.layers.push((k.shallow_clone(), v.shallow_clone()));
                    (k, v)
                }
            };
            let attn = Tensor::scaled_dot_product_attention(
                &q,
                &k,
                &v,
                Some(&allowed),
                0.0,
                false,
                None,
                h != kv,
            );
            let attn = attn.transpose(1, 2).reshape([b, t, h * hd]);
            let mut out = [attn.linear(&block.wo, None::<Tensor>)];
            if let Some(lora) = &self.lora {
                lora.add_updates(i, Site::O, &attn, &mut out, train);
            }
            let [out] = out;
            x = add_residual(x, &out);
            let normed = self.rms_norm(&x, &block.ffn_norm);
            let mut gu = normed.linear(&block.w_gate_up, None::<Tensor>).chunk(2, -1);
            if let Some(lora) = &self.lora {
                lora.add_updates(i, Site::GateUp, &normed, &mut gu, train);
            }
            let act = gu[0].silu() * &gu[1];
            let mut out = [act.linear(&block.w_down, None::<Tensor>)];
            if let Some(lora) = &self.lora {
                lora.add_updates(i, Site::Down, &act, &mut out, train);
            }
            let [out] = out;
            x = add_residual(x, &out);
        }
        Ok(self.rms_norm(&x, &self.norm))
    }

    fn rms_norm(&self, x: &Tensor, weight: &Tensor) -> Tensor {
        let x32 = x.to_kind(Kind::Float);
        let variance = x32.square().mean_dim(-1, true, Kind::Float);
        (x32 * (variance + self.config.rms_eps).rsqrt()).to_kind(self.kind) * weight
    }

    /// Checks shapes, kinds, token ids and length, so that bad input is an
    /// error rather than a libtorch panic. Returns (batch, len).
    fn check_input(
        &self,
        tokens: &Tensor,
        mask: Option<&Tensor>,
        cache: &KvCache,
    ) -> Result<(i64, i64)> {
        let bad = |msg: String| Err(Error::InvalidArgument(msg));
        let &[b, t] = tokens.size().as_slice() else {
            return bad(format!(
                "tokens must be [batch, len], got {:?}",
                tokens.size()
            ));
        };
        if tokens.kind() != Kind::Int64 || b == 0 || t == 0 {
            return bad(format!(
                "tokens must be a non-empty Int64 tensor, got {:?} {:?}",
                tokens.kind(),
                tokens.size()
            ));
        }
        if let Some(m) = mask
            && m.size() != [b, t]
        {
            return bad(format!(
                "mask must have the tokens' shape [{b}, {t}], got {:?}",
                m.size()
            ));
        }
        let (lo, hi) = (tokens.min().int64_value(&[]), tokens.max().int64_value(&[]));
        if lo < 0 || hi >= self.config.vocab_size as i64 {
            return bad(format!(
                "token ids must lie in 0..{}, got {lo}..={hi}",
                self.config.vocab_size
            ));
        }
        if let Some(prev) = &cache.key_mask
            && prev.size()[0] != b
        {
            return bad(format!(
                "the cache holds a batch of {}, tokens have {b} rows",
                prev.size()[0]
            ));
        }
        if cache.len() + t > self.config.context_length as i64 {
            return bad(format!(
                "{} positions exceed the model's context of {}",
                cache.len() + t,
                self.config.context_length
            ));
        }
        Ok((b, t))
    }
}

/// Adds a block's output to the residual stream `x`: in place, as inference
/// always does, unless autograd has saved `x` for the backward pass (when
/// training adapters), which an in-place change would invalidate.
fn add_residual(mut x: Tensor, delta: &Tensor) -> Tensor {
    if x.requires_grad() {
        x + delta
    } else {
        x += delta;
        x
    }
}

/// Cosines and sines `[context_length, head_dim / 2]` (f32) of RoPE's
/// angles, with the same f32 arithmetic as HF transformers' rotary embedding.
fn rope_tables(config: &LlamaConfig) -> (Tensor, Tensor) {
    let half = config.head_dim as i64 / 2;
    let exponents = Tensor::arange_start_step(0, 2 * half, 2, (Kind::Int64, Device::Cpu))
        .to_kind(Kind::Float)
        / config.head_dim as f64;
    let inv_freq = Tensor::from(config.rope_base as f32)
        .pow(&exponents)
        .reciprocal();
    let positions = Tensor::arange(config.context_length as i64, (Kind::Float, Device::Cpu));
    let angles = positions.unsqueeze(1) * inv_freq.unsqueeze(0);
    (angles.cos(), angles.sin())
}

/// Rotates adjacent pairs of `x` (`[batch, len, heads, head_dim]`) by the
/// angles whose cosines and sines are `cos`, `sin` (`[batch, len, 1, head_dim / 2]`).
fn rope(x: &Tensor, cos: &Tensor, sin: &Tensor) -> Tensor {
    let size = x.size();
    let pairs = x.view([size[0], size[1], size[2], -1, 2]);
    let (x0, x1) = (pairs.select(-1, 0), pairs.select(-1, 1));
    let r0 = &x0 * cos - &x1 * sin;
    let r1 = x0 * sin + x1 * cos;
    Tensor::stack(&[r0, r1], -1).view(size.as_slice())
}
