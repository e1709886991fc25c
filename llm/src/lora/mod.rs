//! LoRA (low-rank adaptation, Hu et al. 2021) for the [`Llama`] decoder:
//! fine-tuning that freezes every weight of the model and trains, next to
//! some of its projections `W` (`out × in`), two small matrices `A` (`r × in`)
//! and `B` (`out × r`), so that the projection computes
//!
//! ```text
//! y = W·x + (alpha / r) · B·A·dropout(x)
//! ```
//!
//! `B` starts at zero, so an untrained adapter changes nothing, and `A` from
//! small random values (PyTorch's Kaiming-uniform, as in PEFT), so that
//! gradients reach `B` from the first step. One adapter per target
//! projection per layer; with the defaults of [`LoraConfig`] (the guide's
//! PEFT configuration: `r = 8`, `lora_alpha = 16`, `lora_dropout = 0.05`,
//! `q_proj` and `v_proj`) SmolLM2-135M trains 460,800 parameters, 0.34% of
//! its 134,515,008.
//!
//! - [`Lora::new`] makes an adapter, [`Llama::attach_lora`] puts it on a
//!   model (every forward pass, generation included, then uses it),
//!   [`Llama::detach_lora`] takes it off, and [`Llama::merge_lora`] adds
//!   `scaling·B·A` into the weights, for a model that runs as fast as the
//!   base one.
//! - [`Trainer`] trains the attached adapter with AdamW on a causal
//!   language-model loss over the answers of [`Example`]s (prompt tokens are
//!   context, not targets), with gradient accumulation.
//! - [`Lora::save`] and [`Lora::load`] write and read PEFT's layout: a folder
//!   with `adapter_model.safetensors` and `adapter_config.json`.
//! - [`ParamCount`] prints PEFT's `print_trainable_parameters` line, and
//!   [`TrainingMemory`] compares what LoRA and full fine-tuning keep in
//!   memory.
//!
//! The decoder fuses Q, K and V into one matrix (and gate and up into
//! another); an adapter adds its output to its own slice of the fused
//! output, and merging adds `B·A` into the matching rows. The adapters live
//! in the model's own basis, in which llama.cpp's converter has permuted the
//! rows of Q and K (see [`crate::llama`]); saving and loading convert `B` of
//! `q_proj` and `k_proj` to and from Hugging Face's order, so a saved adapter
//! is a PEFT adapter for the original Hugging Face model.
//!
//! ```no_run
//! use aiguide_llm::lora::{Example, Lora, LoraConfig, ParamCount, TrainConfig, Trainer};
//! use aiguide_llm::{GenerateConfig, Llm, Message};
//! let mut llm = Llm::course(tch::Kind::Float)?;
//! let lora = Lora::new(LoraConfig::default(), llm.model().config(), 0)?;
//! llm.model_mut().attach_lora(lora)?;
//! println!("{}", ParamCount::of(llm.model()));
//! let examples = vec![Example::chat(
//!     llm.tokenizer(),
//!     &[Message::user("Who maintains the aiguide course?")],
//!     "The aiguide team.",
//! )?];
//! // A few examples learn quickly at a higher rate than the guide's 2e-4.
//! let config = TrainConfig { learning_rate: 2e-3, ..TrainConfig::default() };
//! let mut trainer = Trainer::new(llm.model(), config)?;
//! trainer.train(llm.model(), &examples, 10, |step, loss| {
//!     println!("step {step}: loss {loss:.3}")
//! })?;
//! let question = [Message::user("Who maintains the aiguide course?")];
//! println!("{}", llm.chat(&question, &GenerateConfig::default())?.text);
//! llm.model().lora().unwrap().save("my_lora_adapter")?;
//! llm.model_mut().merge_lora()?;
//! # Ok::<(), aiguide_llm::Error>(())
//! ```

mod io;
#[cfg(test)]
mod tests;
mod train;

use std::fmt;
use std::ops::Range;

use rand::{Rng, SeedableRng};
use tch::{Kind, Tensor};

use crate::llama::{Llama, LlamaConfig};
use crate::{Error, Result};

pub use io::{CONFIG_FILE, WEIGHTS_FILE};
pub use train::{Example, TrainConfig, Trainer, answer_loss};

/// What to adapt and how strongly: PEFT's `LoraConfig`, with its names in
/// the doc of each field.
#[derive(Clone, Debug, PartialEq)]
pub struct LoraConfig {
    /// Rank of `B·A` (`r`): the adapter's capacity, and its size.
    pub r: usize,
    /// `lora_alpha`: the update is scaled by `alpha / r`, so that changing
    /// `r` does not change how large the initial updates are.
    pub alpha: f64,
    /// `lora_dropout`: probability of zeroing each input of an adapter while
    /// training (never in inference).
    pub dropout: f64,
    /// `target_modules`: the projections to adapt, by their Hugging Face
    /// names (see [`Target`]).
    pub targets: Vec<String>,
}

impl Default for LoraConfig {
    /// The guide's configuration: `r = 8`, `lora_alpha = 16`,
    /// `lora_dropout = 0.05`, on `q_proj` and `v_proj`.
    fn default() -> LoraConfig {
        LoraConfig {
            r: 8,
            alpha: 16.0,
            dropout: 0.05,
            targets: vec!["q_proj".into(), "v_proj".into()],
        }
    }
}

impl LoraConfig {
    /// The factor `alpha / r` applied to every update `B·A·x`.
    pub fn scaling(&self) -> f64 {
        self.alpha / self.r as f64
    }

    /// Number of parameters an adapter of this configuration has on a model
    /// of shape `model`: per layer and target, `r · (in + out)` (`A` is
    /// `r × in`, `B` is `out × r`).
    pub fn trainable_params(&self, model: &LlamaConfig) -> Result<usize> {
        let per_layer: usize = self
            .parse_targets()?
            .iter()
            .map(|t| {
                let (fan_in, fan_out) = t.shape(model);
                self.r * (fan_in + fan_out)
            })
            .sum();
        Ok(model.n_layers * per_layer)
    }

    /// The targets, checked, after the other fields.
    fn parse_targets(&self) -> Result<Vec<Target>> {
        let bad = |msg: String| Err(Error::InvalidArgument(format!("LoRA config: {msg}")));
        if self.r == 0 {
            return bad("r must be at least 1".into());
        }
        if !(self.alpha.is_finite() && self.alpha > 0.0) {
            return bad(format!("lora_alpha must be positive, got {}", self.alpha));
        }
        if !(0.0..1.0).contains(&self.dropout) {
            return bad(format!(
                "lora_dropout must lie in [0, 1), got {}",
                self.dropout
            ));
        }
        if self.targets.is_empty() {
            return bad("no target modules; name some, e.g. q_proj and v_proj".into());
        }
        let mut targets = Vec::new();
        for name in &self.targets {
            let target = Target::parse(name)?;
            if targets.contains(&target) {
                return bad(format!("target `{name}` is named twice"));
            }
            targets.push(target);
        }
        Ok(targets)
    }
}

/// A projection of a decoder block that an adapter can be put on, named as
/// in Hugging Face's Llama (`model.layers.{i}.self_attn.q_proj`, ...).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Target {
    /// `self_attn.q_proj`, the queries.
    Q,
    /// `self_attn.k_proj`, the keys.
    K,
    /// `self_attn.v_proj`, the values.
    V,
    /// `self_attn.o_proj`, the attention's output.
    O,
    /// `mlp.gate_proj`, the SwiGLU gate.
    Gate,
    /// `mlp.up_proj`, the SwiGLU value.
    Up,
    /// `mlp.down_proj`, the feed-forward output.
    Down,
}

/// The fused projection of a block that a [`Target`] is part of: where the
/// decoder calls [`Lora::add_updates`].
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Site {
    /// `wqkv`, whose output is split into Q, K and V.
    Qkv,
    /// `wo`.
    O,
    /// `w_gate_up`, whose output is split into gate and up.
    GateUp,
    /// `w_down`.
    Down,
}

impl Target {
    /// Every target, in the order of the block's computation.
    pub const ALL: [Target; 7] = [
        Target::Q,
        Target::K,
        Target::V,
        Target::O,
        Target::Gate,
        Target::Up,
        Target::Down,
    ];

    /// The Hugging Face (and PEFT) name: `q_proj`, `v_proj`, `down_proj`...
    pub fn name(self) -> &'static str {
        match self {
            Target::Q => "q_proj",
            Target::K => "k_proj",
            Target::V => "v_proj",
            Target::O => "o_proj",
            Target::Gate => "gate_proj",
            Target::Up => "up_proj",
            Target::Down => "down_proj",
        }
    }

    /// The target called `name`, or an error that lists the names known.
    pub fn parse(name: &str) -> Result<Target> {
        Target::ALL
            .into_iter()
            .find(|t| t.name() == name)
            .ok_or_else(|| {
                let known: Vec<&str> = Target::ALL.iter().map(|t| t.name()).collect();
                Error::InvalidArgument(format!(
                    "LoRA target `{name}` is not a projection of this decoder; the targets are {}",
                    known.join(", ")
                ))
            })
    }

    /// `(in, out)`: the widths of the projection's input and output.
    pub fn shape(self, c: &LlamaConfig) -> (usize, usize) {
        let (d, q, kv) = (c.d_model, c.n_heads * c.head_dim, c.n_kv_heads * c.head_dim);
        match self {
            Target::Q => (d, q),
            Target::K | Target::V => (d, kv),
            Target::O => (q, d),
            Target::Gate | Target::Up => (d, c.d_ff),
            Target::Down => (c.d_ff, d),
        }
    }

    /// The Hugging Face submodule of the layer: `self_attn` or `mlp`.
    fn module(self) -> &'static str {
        match self {
            Target::Q | Target::K | Target::V | Target::O => "self_attn",
            Target::Gate | Target::Up | Target::Down => "mlp",
        }
    }

    /// The fused projection, and which part of its split output is this.
    fn site(self) -> (Site, usize) {
        match self {
            Target::Q => (Site::Qkv, 0),
            Target::K => (Site::Qkv, 1),
            Target::V => (Site::Qkv, 2),
            Target::O => (Site::O, 0),
            Target::Gate => (Site::GateUp, 0),
            Target::Up => (Site::GateUp, 1),
            Target::Down => (Site::Down, 0),
        }
    }

    /// The rows of the fused weight that hold this projection.
    fn rows(self, c: &LlamaConfig) -> Range<i64> {
        let (_, out) = self.shape(c);
        let start = match self {
            Target::K => Target::Q.shape(c).1,
            Target::V => Target::Q.shape(c).1 + Target::K.shape(c).1,
            Target::Up => c.d_ff,
            Target::Q | Target::O | Target::Gate | Target::Down => 0,
        };
        start as i64..(start + out) as i64
    }

    /// The number of heads whose rows llama.cpp's converter permuted (see
    /// [`crate::llama`]): Q's heads and K's, none for the others.
    fn permuted_heads(self, c: &LlamaConfig) -> Option<usize> {
        match self {
            Target::Q => Some(c.n_heads),
            Target::K => Some(c.n_kv_heads),
            _ => None,
        }
    }
}

/// The two matrices of one adapted projection, both f32 and trainable.
#[derive(Debug)]
struct Adapter {
    target: Target,
    /// `[r, in]`.
    a: Tensor,
    /// `[out, r]`.
    b: Tensor,
}

/// A LoRA adapter for a whole decoder: one `(A, B)` pair per target per
/// layer. Its matrices are f32 whatever the model's kind (small matrices
/// trained in bf16 lose their small updates to rounding) and require
/// gradients; the model's own weights never do.
#[derive(Debug)]
pub struct Lora {
    config: LoraConfig,
    /// The shape of the model it was made for.
    model: LlamaConfig,
    /// Per layer, one adapter per target, in the config's order.
    layers: Vec<Vec<Adapter>>,
}

impl Lora {
    /// A fresh adapter for a model of shape `model`: `B = 0`, and each `A`
    /// drawn from `Uniform(-1/√in, 1/√in)` (PyTorch's Kaiming-uniform with
    /// `a = √5`, as PEFT initialises it) by a generator seeded with `seed`.
    pub fn new(config: LoraConfig, model: &LlamaConfig, seed: u64) -> Result<Lora> {
        let targets = config.parse_targets()?;
        let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
        let r = config.r as i64;
        let layers = (0..model.n_layers)
            .map(|_| {
                targets
                    .iter()
                    .map(|&target| {
                        let (fan_in, fan_out) = target.shape(model);
                        let bound = 1.0 / (fan_in as f32).sqrt();
                        let values: Vec<f32> = (0..config.r * fan_in)
                            .map(|_| rng.gen_range(-bound..bound))
                            .collect();
                        Adapter {
                            target,
                            a: trainable(Tensor::from_slice(&values).view([r, fan_in as i64])),
                            b: trainable(Tensor::zeros(
                                [fan_out as i64, r],
                                (Kind::Float, tch::Device::Cpu),
                            )),
                        }
                    })
                    .collect()
            })
            .collect();
        Ok(Lora {
            config,
            model: model.clone(),
            layers,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &LoraConfig {
        &self.config
    }

    /// Number of layers adapted.
    pub fn n_layers(&self) -> usize {
        self.layers.len()
    }

    /// `(A, B)` of `target` (a name such as `"q_proj"`) in `layer`, if
    /// adapted: `A` is `[r, in]`, `B` is `[out, r]`, both in the model's row
    /// order.
    pub fn adapter(&self, layer: usize, target: &str) -> Option<(&Tensor, &Tensor)> {
        let target = Target::parse(target).ok()?;
        self.layers
            .get(layer)?
            .iter()
            .find(|a| a.target == target)
            .map(|a| (&a.a, &a.b))
    }

    /// Every trainable tensor (shallow copies sharing the adapter's
    /// storage: an optimizer that updates them in place updates the
    /// adapter).
    pub fn parameters(&self) -> Vec<Tensor> {
        self.layers
            .iter()
            .flatten()
            .flat_map(|a| [a.a.shallow_clone(), a.b.shallow_clone()])
            .collect()
    }

    /// Number of trainable parameters (the elements of every `A` and `B`).
    pub fn num_params(&self) -> usize {
        self.layers
            .iter()
            .flatten()
            .map(|a| a.a.numel() + a.b.numel())
            .sum()
    }

    /// Adds the updates of the adapters of `layer` on `site` to `parts`, the
    /// fused projection's split outputs, whose input was `input`. `train`
    /// applies dropout, drawn anew for each adapter (as PEFT, where each
    /// adapted module has its own dropout).
    pub(crate) fn add_updates(
        &self,
        layer: usize,
        site: Site,
        input: &Tensor,
        parts: &mut [Tensor],
        train: bool,
    ) {
        let scaling = self.config.scaling();
        for adapter in &self.layers[layer] {
            let (adapter_site, index) = adapter.target.site();
            if adapter_site != site {
                continue;
            }
            let x = match train && self.config.dropout > 0.0 {
                true => input.dropout(self.config.dropout, true),
                false => input.shallow_clone(),
            };
            let update = x
                .to_kind(Kind::Float)
                .linear(&adapter.a, None::<Tensor>)
                .linear(&adapter.b, None::<Tensor>)
                * scaling;
            let part = &mut parts[index];
            *part = &*part + update.to_kind(part.kind());
        }
    }

    /// Checks that the adapter was made for a model of `model`'s shape:
    /// the same layers, widths and heads (the heads fix the row order of Q
    /// and K).
    fn check_fits(&self, model: &LlamaConfig) -> Result<()> {
        let shape = |c: &LlamaConfig| {
            (
                c.n_layers,
                c.d_model,
                c.d_ff,
                c.n_heads,
                c.n_kv_heads,
                c.head_dim,
            )
        };
        if shape(&self.model) != shape(model) {
            return Err(Error::InvalidArgument(format!(
                "this LoRA adapter was made for a model of (layers, d_model, d_ff, heads, KV \
                 heads, head_dim) = {:?}, this model is {:?}",
                shape(&self.model),
                shape(model)
            )));
        }
        Ok(())
    }
}

/// `t` as a leaf tensor that requires gradients.
fn trainable(t: Tensor) -> Tensor {
    t.set_requires_grad(true)
}

/// Attaching, removing and merging LoRA adapters.
impl Llama {
    /// Puts `lora` on the model: from now on every forward pass (and so
    /// generation) adds its updates. Errors if one is attached already or
    /// if it was made for a model of another shape.
    pub fn attach_lora(&mut self, lora: Lora) -> Result<()> {
        if self.lora.is_some() {
            return Err(Error::InvalidArgument(
                "the model has a LoRA adapter already; detach_lora or merge_lora it first".into(),
            ));
        }
        lora.check_fits(self.config())?;
        self.lora = Some(lora);
        Ok(())
    }

    /// The attached adapter.
    pub fn lora(&self) -> Option<&Lora> {
        self.lora.as_ref()
    }

    /// Takes the adapter off, giving it back: the model is the base model
    /// again.
    pub fn detach_lora(&mut self) -> Option<Lora> {
        self.lora.take()
    }

    /// Adds `scaling · B·A` of the attached adapter into the weights of the
    /// projections it adapts and drops the adapter: the model computes what
    /// it computed with the adapter (in inference, where dropout is off),
    /// at the base model's speed. The adapter's rows are the model's, so
    /// `B·A` of Q goes into Q's rows of the fused `wqkv` as it is.
    pub fn merge_lora(&mut self) -> Result<()> {
        let lora = self.lora.take().ok_or_else(|| {
            Error::InvalidArgument("no LoRA adapter attached: nothing to merge".into())
        })?;
        let _no_grad = tch::no_grad_guard();
        let scaling = lora.config.scaling();
        let config = self.config().clone();
        for (block, adapters) in self.blocks.iter_mut().zip(&lora.layers) {
            for adapter in adapters {
                let weight = match adapter.target.site().0 {
                    Site::Qkv => &block.wqkv,
                    Site::O => &block.wo,
                    Site::GateUp => &block.w_gate_up,
                    Site::Down => &block.w_down,
                };
                let rows = adapter.target.rows(&config);
                let mut slice = weight.narrow(0, rows.start, rows.end - rows.start);
                let merged = slice.to_kind(Kind::Float) + adapter.b.matmul(&adapter.a) * scaling;
                slice.copy_(&merged.to_kind(slice.kind()));
            }
        }
        Ok(())
    }
}

/// Trainable and total parameters of a model, printed as PEFT's
/// `print_trainable_parameters` prints them:
/// `trainable params: 460,800 || all params: 134,975,808 || trainable%: 0.3414`
/// (as in PEFT, "all" includes the adapter's parameters).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ParamCount {
    /// Parameters that require gradients: the adapter's.
    pub trainable: usize,
    /// Every parameter: the model's and the adapter's.
    pub all: usize,
}

impl ParamCount {
    /// The counts of `model` with its attached adapter, if any.
    pub fn of(model: &Llama) -> ParamCount {
        let trainable = model.lora().map_or(0, Lora::num_params);
        ParamCount {
            trainable,
            all: model.num_params() + trainable,
        }
    }

    /// Percentage of the parameters that are trained.
    pub fn percent(&self) -> f64 {
        100.0 * self.trainable as f64 / self.all as f64
    }
}

impl fmt::Display for ParamCount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "trainable params: {} || all params: {} || trainable%: {:.4}",
            thousands(self.trainable),
            thousands(self.all),
            self.percent()
        )
    }
}

/// `n` with commas between groups of three digits, as Python's `{:,}`.
fn thousands(n: usize) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// Bytes that training keeps in memory besides activations, which depend on
/// batch and sequence length, not on the method:
/// - the model's weights, frozen (LoRA) or trained (full fine-tuning);
/// - one gradient per trained parameter;
/// - AdamW's two moment estimates (`m` and `v`) per trained parameter.
///
/// Trained parameters, gradients and moments are f32 (4 bytes) for LoRA's
/// adapters, and of the model's kind for full fine-tuning (as PyTorch keeps
/// them in the parameters' dtype).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TrainingMemory {
    /// Weights that are not trained.
    pub frozen_bytes: usize,
    /// Weights that are trained.
    pub trainable_bytes: usize,
    /// Their gradients.
    pub grad_bytes: usize,
    /// AdamW's state: two moments per trained parameter.
    pub optimizer_bytes: usize,
}

impl TrainingMemory {
    /// Full fine-tuning of `model`: every weight is trained.
    pub fn full(model: &Llama) -> TrainingMemory {
        let bytes = model.num_params() * model.kind().elt_size_in_bytes();
        TrainingMemory {
            frozen_bytes: 0,
            trainable_bytes: bytes,
            grad_bytes: bytes,
            optimizer_bytes: 2 * bytes,
        }
    }

    /// LoRA with `config` on `model`: the model frozen, the adapter trained.
    pub fn lora(model: &Llama, config: &LoraConfig) -> Result<TrainingMemory> {
        let bytes = config.trainable_params(model.config())? * Kind::Float.elt_size_in_bytes();
        Ok(TrainingMemory {
            frozen_bytes: model.num_params() * model.kind().elt_size_in_bytes(),
            trainable_bytes: bytes,
            grad_bytes: bytes,
            optimizer_bytes: 2 * bytes,
        })
    }

    /// Bytes of the trained parameters, their gradients and AdamW's state.
    pub fn training_bytes(&self) -> usize {
        self.trainable_bytes + self.grad_bytes + self.optimizer_bytes
    }

    /// Everything: weights, gradients and optimizer state.
    pub fn total_bytes(&self) -> usize {
        self.frozen_bytes + self.training_bytes()
    }
}
