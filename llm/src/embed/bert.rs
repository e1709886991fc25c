//! A BERT encoder for inference, written out in tch so every step of the
//! forward pass can be read: embeddings, then self-attention and feed-forward
//! blocks, each followed by a residual connection and LayerNorm (post-norm,
//! as in the original BERT).
//!
//! The weights come from a Hugging Face `model.safetensors` whose tensor names
//! have no `bert.` prefix (the layout sentence-transformers saves, e.g.
//! `encoder.layer.0.attention.self.query.weight`). Every tensor is checked
//! against the shape `config.json` implies before it is used, so a file for
//! another model fails at load time with the tensor's name instead of with a
//! shape error deep inside a matrix product.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;
use tch::{Device, Kind, Tensor};

use super::{EmbedError, Result};

/// The fields of a Hugging Face BERT `config.json` the encoder uses.
#[derive(Clone, Debug, Deserialize, PartialEq)]
pub struct BertConfig {
    /// Number of WordPiece tokens (30522 for the uncased English vocabulary).
    pub vocab_size: i64,
    /// Width of every token vector (384 for MiniLM-L6).
    pub hidden_size: i64,
    /// Number of transformer blocks.
    pub num_hidden_layers: i64,
    /// Attention heads per block; `hidden_size` must be a multiple of it.
    pub num_attention_heads: i64,
    /// Width of the feed-forward layer inside each block.
    pub intermediate_size: i64,
    /// Longest sequence the position embeddings cover.
    pub max_position_embeddings: i64,
    /// Number of segment (token type) embeddings.
    pub type_vocab_size: i64,
    /// LayerNorm epsilon.
    pub layer_norm_eps: f64,
    /// Feed-forward activation; only `"gelu"` (the exact, erf-based GELU) is
    /// implemented.
    #[serde(default = "default_act")]
    pub hidden_act: String,
    /// Only `"absolute"` (learned position embeddings) is implemented.
    #[serde(default = "default_position_type")]
    pub position_embedding_type: String,
}

fn default_act() -> String {
    "gelu".into()
}

fn default_position_type() -> String {
    "absolute".into()
}

impl BertConfig {
    /// Reads and checks a `config.json`.
    pub fn from_file(path: impl AsRef<Path>) -> Result<BertConfig> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path).map_err(|source| EmbedError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let config: BertConfig = serde_json::from_str(&text).map_err(|e| EmbedError::Config {
            path: path.to_path_buf(),
            reason: e.to_string(),
        })?;
        config.check().map_err(|reason| EmbedError::Config {
            path: path.to_path_buf(),
            reason,
        })?;
        Ok(config)
    }

    /// Width of one attention head.
    pub fn head_dim(&self) -> i64 {
        self.hidden_size / self.num_attention_heads
    }

    fn check(&self) -> std::result::Result<(), String> {
        if self.hidden_act != "gelu" {
            return Err(format!(
                "hidden_act `{}` is not implemented (only the exact `gelu`)",
                self.hidden_act
            ));
        }
        if self.position_embedding_type != "absolute" {
            return Err(format!(
                "position_embedding_type `{}` is not implemented (only `absolute`)",
                self.position_embedding_type
            ));
        }
        if self.num_attention_heads <= 0 || self.hidden_size % self.num_attention_heads != 0 {
            return Err(format!(
                "hidden_size {} is not a multiple of num_attention_heads {}",
                self.hidden_size, self.num_attention_heads
            ));
        }
        Ok(())
    }
}

/// The tensors of a safetensors file, handed out by name with a shape check.
struct Weights {
    path: PathBuf,
    tensors: HashMap<String, Tensor>,
    device: Device,
}

impl Weights {
    fn read(path: &Path, device: Device) -> Result<Weights> {
        // libtorch's own message for a missing file names no path: check first.
        std::fs::metadata(path).map_err(|source| EmbedError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        let tensors = Tensor::read_safetensors(path)
            .map_err(|e| EmbedError::Weights {
                path: path.to_path_buf(),
                reason: e.to_string(),
            })?
            .into_iter()
            .collect();
        Ok(Weights {
            path: path.to_path_buf(),
            tensors,
            device,
        })
    }

    /// Tensor `name`, which must have `shape`, as f32 on the target device.
    fn take(&mut self, name: &str, shape: &[i64]) -> Result<Tensor> {
        let tensor = self
            .tensors
            .remove(name)
            .ok_or_else(|| EmbedError::MissingTensor {
                path: self.path.clone(),
                name: name.to_string(),
            })?;
        if tensor.size() != shape {
            return Err(EmbedError::ShapeMismatch {
                path: self.path.clone(),
                name: name.to_string(),
                expected: shape.to_vec(),
                actual: tensor.size(),
            });
        }
        Ok(tensor.to_kind(Kind::Float).to_device(self.device))
    }

    fn linear(&mut self, prefix: &str, inputs: i64, outputs: i64) -> Result<Linear> {
        Ok(Linear {
            weight: self.take(&format!("{prefix}.weight"), &[outputs, inputs])?,
            bias: self.take(&format!("{prefix}.bias"), &[outputs])?,
        })
    }

    fn layer_norm(&mut self, prefix: &str, width: i64, eps: f64) -> Result<LayerNorm> {
        Ok(LayerNorm {
            weight: self.take(&format!("{prefix}.weight"), &[width])?,
            bias: self.take(&format!("{prefix}.bias"), &[width])?,
            eps,
        })
    }
}

/// `x W^T + b`, with PyTorch's `[out, in]` weight layout.
#[derive(Debug)]
struct Linear {
    weight: Tensor,
    bias: Tensor,
}

impl Linear {
    fn forward(&self, x: &Tensor) -> Tensor {
        x.linear(&self.weight, Some(&self.bias))
    }
}

#[derive(Debug)]
struct LayerNorm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

impl LayerNorm {
    fn forward(&self, x: &Tensor) -> Tensor {
        let width = *x.size().last().expect("LayerNorm of a scalar");
        x.layer_norm(
            [width],
            Some(&self.weight),
            Some(&self.bias),
            self.eps,
            false,
        )
    }
}

/// One transformer block: self-attention, then a GELU feed-forward layer,
/// each added back to its input and normalised.
#[derive(Debug)]
struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: LayerNorm,
    intermediate: Linear,
    output: Linear,
    output_norm: LayerNorm,
}

impl Layer {
    fn load(weights: &mut Weights, config: &BertConfig, index: i64) -> Result<Layer> {
        let p = format!("encoder.layer.{index}");
        let (h, i, eps) = (
            config.hidden_size,
            config.intermediate_size,
            config.layer_norm_eps,
        );
        Ok(Layer {
            query: weights.linear(&format!("{p}.attention.self.query"), h, h)?,
            key: weights.linear(&format!("{p}.attention.self.key"), h, h)?,
            value: weights.linear(&format!("{p}.attention.self.value"), h, h)?,
            attention_out: weights.linear(&format!("{p}.attention.output.dense"), h, h)?,
            attention_norm: weights.layer_norm(
                &format!("{p}.attention.output.LayerNorm"),
                h,
                eps,
            )?,
            intermediate: weights.linear(&format!("{p}.intermediate.dense"), h, i)?,
            output: weights.linear(&format!("{p}.output.dense"), i, h)?,
            output_norm: weights.layer_norm(&format!("{p}.output.LayerNorm"), h, eps)?,
        })
    }

    /// `x`: `[batch, len, hidden]`; `attend`: boolean `[batch, 1, 1, len]`,
    /// true where a key position is a real token.
    fn forward(&self, x: &Tensor, attend: &Tensor, heads: i64) -> Tensor {
        let (batch, len, hidden) = x.size3().expect("hidden states are [batch, len, hidden]");
        // [batch, len, hidden] -> [batch, heads, len, head_dim]
        let split = |t: Tensor| t.view([batch, len, heads, hidden / heads]).transpose(1, 2);
        let q = split(self.query.forward(x));
        let k = split(self.key.forward(x));
        let v = split(self.value.forward(x));
        // softmax(q k^T / sqrt(head_dim)) v, with padded keys masked out.
        let context =
            Tensor::scaled_dot_product_attention(&q, &k, &v, Some(attend), 0.0, false, None, false)
                .transpose(1, 2)
                .reshape([batch, len, hidden]);
        let x = self
            .attention_norm
            .forward(&(self.attention_out.forward(&context) + x));
        let ffn = self
            .output
            .forward(&self.intermediate.forward(&x).gelu("none"));
        self.output_norm.forward(&(ffn + x))
    }
}

/// A BERT encoder: token ids in, one contextual vector per token out.
#[derive(Debug)]
pub struct BertModel {
    config: BertConfig,
    word_embeddings: Tensor,
    position_embeddings: Tensor,
    token_type_embeddings: Tensor,
    embeddings_norm: LayerNorm,
    layers: Vec<Layer>,
    device: Device,
}

impl BertModel {
    /// Loads the encoder's weights from `weights` (a safetensors file) onto
    /// `device`, checking every tensor's shape against `config`.
    ///
    /// Tensors the encoder does not use (the pooler, `position_ids`) are
    /// ignored: sentence-transformers pools the token vectors itself.
    pub fn load(
        config: BertConfig,
        weights: impl AsRef<Path>,
        device: Device,
    ) -> Result<BertModel> {
        let mut w = Weights::read(weights.as_ref(), device)?;
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        let word_embeddings =
            w.take("embeddings.word_embeddings.weight", &[config.vocab_size, h])?;
        let position_embeddings = w.take(
            "embeddings.position_embeddings.weight",
            &[config.max_position_embeddings, h],
        )?;
        let token_type_embeddings = w.take(
            "embeddings.token_type_embeddings.weight",
            &[config.type_vocab_size, h],
        )?;
        let embeddings_norm = w.layer_norm("embeddings.LayerNorm", h, eps)?;
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(&mut w, &config, i))
            .collect::<Result<Vec<_>>>()?;
        Ok(BertModel {
            config,
            word_embeddings,
            position_embeddings,
            token_type_embeddings,
            embeddings_norm,
            layers,
            device,
        })
    }

    /// The configuration the weights were checked against.
    pub fn config(&self) -> &BertConfig {
        &self.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> Device {
        self.device
    }

    /// The last hidden state, `[batch, len, hidden]`, for integer tensors
    /// `input_ids` and `attention_mask` (1 for a token, 0 for padding), both
    /// `[batch, len]`; `token_type_ids` defaults to all zeros (one segment).
    ///
    /// Padding positions get vectors too, but no real token attends to them,
    /// so a token's vector is the same however much padding its row has.
    /// Runs without gradient tracking: this is for inference.
    ///
    /// Panics if `len` exceeds `max_position_embeddings` (the tokenizer of
    /// [`super::SentenceEncoder`] truncates well below it).
    pub fn forward(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        token_type_ids: Option<&Tensor>,
    ) -> Tensor {
        tch::no_grad(|| {
            let (_, len) = input_ids.size2().expect("input_ids must be [batch, len]");
            assert!(
                len <= self.config.max_position_embeddings,
                "{len} tokens, but the position embeddings cover {}",
                self.config.max_position_embeddings
            );
            let ids = input_ids.to_device(self.device);
            let types = match token_type_ids {
                Some(t) => t.to_device(self.device),
                None => ids.zeros_like(),
            };
            let positions = Tensor::arange(len, (Kind::Int64, self.device));
            let x = Tensor::embedding(&self.word_embeddings, &ids, -1, false, false)
                + self.position_embeddings.index_select(0, &positions)
                + Tensor::embedding(&self.token_type_embeddings, &types, -1, false, false);
            let mut x = self.embeddings_norm.forward(&x);
            let attend = attention_mask
                .to_device(self.device)
                .gt(0)
                .unsqueeze(1)
                .unsqueeze(1);
            for layer in &self.layers {
                x = layer.forward(&x, &attend, self.config.num_attention_heads);
            }
            x
        })
    }
}
