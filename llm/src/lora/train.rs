//! Training an attached adapter: supervised fine-tuning on (prompt, answer)
//! pairs with a causal language-model loss on the answer tokens only, AdamW,
//! gradient accumulation and gradient clipping, as Hugging Face's `Trainer`
//! (with TRL's completion-only loss) does it.

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tch::{COptimizer, Kind, Reduction, Tensor};

use crate::generate::left_pad;
use crate::llama::{KvCache, Llama};
use crate::tokenize::{Message, Tokenizer};
use crate::{Error, Result};

/// One training example: the prompt is context, the answer is what the
/// model learns to continue it with.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Example {
    /// Token ids the model reads (at least one).
    pub prompt: Vec<i64>,
    /// Token ids the model is trained to produce after the prompt (at least
    /// one).
    pub answer: Vec<i64>,
}

impl Example {
    /// An example from token ids.
    pub fn new(prompt: Vec<i64>, answer: Vec<i64>) -> Example {
        Example { prompt, answer }
    }

    /// A chat example: `messages` through the model's chat template, up to
    /// the assistant's header, is the prompt; `answer` and the template's
    /// end of turn (`<|im_end|>` for SmolLM2) are the answer, so that the
    /// model also learns to stop.
    pub fn chat(tokenizer: &Tokenizer, messages: &[Message], answer: &str) -> Result<Example> {
        let prompt = tokenizer.apply_chat_template(messages, true)?;
        let mut conversation = messages.to_vec();
        conversation.push(Message::assistant(answer));
        let full = tokenizer.apply_chat_template(&conversation, false)?;
        let reply = full.strip_prefix(prompt.as_str()).ok_or_else(|| {
            Error::InvalidArgument(
                "the chat template renders the conversation with the answer differently from \
                 the prompt; build the Example from token ids with Example::new"
                    .into(),
            )
        })?;
        Ok(Example {
            prompt: tokenizer.encode(&prompt)?,
            answer: tokenizer.encode_continuation(reply)?,
        })
    }

    /// Number of tokens, prompt and answer.
    pub fn len(&self) -> usize {
        self.prompt.len() + self.answer.len()
    }

    /// Whether the example has no tokens at all.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Hyperparameters, with the guide's `TrainingArguments` as defaults where
/// it sets them and Hugging Face's defaults elsewhere. The learning rate of
/// the guide (2e-4) suits thousands of examples; teaching a handful of
/// facts in a few dozen steps wants about 1e-3.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// AdamW's learning rate, constant (`learning_rate`).
    pub learning_rate: f64,
    /// Examples per forward pass (`per_device_train_batch_size`).
    pub batch_size: usize,
    /// Forward passes whose gradients are summed before each optimizer step
    /// (`gradient_accumulation_steps`): a step sees `batch_size ·
    /// grad_accum` examples while memory holds the activations of
    /// `batch_size`.
    pub grad_accum: usize,
    /// AdamW's decoupled weight decay (`weight_decay`).
    pub weight_decay: f64,
    /// The gradients are scaled down to this global L2 norm when larger
    /// (`max_grad_norm`); `None` leaves them as they are.
    pub max_grad_norm: Option<f64>,
    /// Seeds the order of the examples in each epoch and, through libtorch's
    /// global generator, the adapters' dropout (`seed`).
    pub seed: u64,
}

impl Default for TrainConfig {
    fn default() -> TrainConfig {
        TrainConfig {
            learning_rate: 2e-4,
            batch_size: 4,
            grad_accum: 4,
            weight_decay: 0.0,
            max_grad_norm: Some(1.0),
            seed: 42,
        }
    }
}

/// AdamW (libtorch's, betas 0.9 and 0.999, eps 1e-8) on the parameters of
/// the adapter attached to a model.
#[derive(Debug)]
pub struct Trainer {
    config: TrainConfig,
    optimizer: COptimizer,
    /// The adapter's tensors, sharing its storage.
    params: Vec<Tensor>,
    rng: StdRng,
    steps: usize,
}

impl Trainer {
    /// A trainer for the adapter attached to `model` (error without one).
    /// Pass the same model to every [`Trainer::step`].
    pub fn new(model: &Llama, config: TrainConfig) -> Result<Trainer> {
        let lora = model.lora().ok_or_else(|| {
            Error::InvalidArgument(
                "no LoRA adapter to train: attach one with Llama::attach_lora first".into(),
            )
        })?;
        if config.batch_size == 0 || config.grad_accum == 0 {
            return Err(Error::InvalidArgument(format!(
                "batch_size and grad_accum must be at least 1, got {} and {}",
                config.batch_size, config.grad_accum
            )));
        }
        let mut optimizer = COptimizer::adamw(
            config.learning_rate,
            0.9,
            0.999,
            config.weight_decay,
            1e-8,
            false,
        )?;
        let params = lora.parameters();
        for p in &params {
            optimizer.add_parameters(p, 0)?;
        }
        tch::manual_seed(config.seed as i64);
        Ok(Trainer {
            rng: StdRng::seed_from_u64(config.seed),
            config,
            optimizer,
            params,
            steps: 0,
        })
    }

    /// The hyperparameters.
    pub fn config(&self) -> &TrainConfig {
        &self.config
    }

    /// Optimizer steps taken so far.
    pub fn steps(&self) -> usize {
        self.steps
    }

    /// One optimizer step over `micro_batches`: each runs forward and
    /// backward in turn (dropout on), their gradients add up, then AdamW
    /// updates the adapter once. The loss is the mean over every answer
    /// token of all the micro-batches, so accumulating gives the gradient
    /// one large batch would. Returns that loss.
    pub fn step(&mut self, model: &Llama, micro_batches: &[&[Example]]) -> Result<f64> {
        self.check_model(model)?;
        let batches = micro_batches
            .iter()
            .map(|examples| AnswerBatch::new(model, examples))
            .collect::<Result<Vec<_>>>()?;
        let tokens: usize = batches.iter().map(|b| b.n_targets).sum();
        if tokens == 0 {
            return Err(Error::InvalidArgument(
                "nothing to train on: give at least one example".into(),
            ));
        }
        self.optimizer.zero_grad()?;
        let mut total = 0.0;
        for batch in &batches {
            let loss = batch.loss_sum(model, true)?;
            total += loss.double_value(&[]);
            (loss / tokens as f64).backward();
        }
        if let Some(max_norm) = self.config.max_grad_norm {
            self.clip_grad_norm(max_norm);
        }
        self.optimizer.step()?;
        self.optimizer.zero_grad()?;
        self.steps += 1;
        Ok(total / tokens as f64)
    }

    /// `epochs` passes over `examples`, shuffled anew each time, in steps of
    /// `grad_accum` micro-batches of `batch_size` examples (an epoch's last
    /// step may be smaller). Calls `on_step(step, loss)` after each step
    /// (`step` counts from 1 over the trainer's life) and returns the losses.
    pub fn train(
        &mut self,
        model: &Llama,
        examples: &[Example],
        epochs: usize,
        mut on_step: impl FnMut(usize, f64),
    ) -> Result<Vec<f64>> {
        let (batch, accum) = (self.config.batch_size, self.config.grad_accum);
        let mut losses = Vec::new();
        for _ in 0..epochs {
            let mut order: Vec<&Example> = examples.iter().collect();
            order.shuffle(&mut self.rng);
            let shuffled: Vec<Example> = order.into_iter().cloned().collect();
            for step_examples in shuffled.chunks(batch * accum) {
                let micro: Vec<&[Example]> = step_examples.chunks(batch).collect();
                let loss = self.step(model, &micro)?;
                on_step(self.steps, loss);
                losses.push(loss);
            }
        }
        Ok(losses)
    }

    /// Errors unless `model` carries the adapter this trainer updates (an
    /// optimizer holding another adapter's tensors would change nothing).
    fn check_model(&self, model: &Llama) -> Result<()> {
        let same = model.lora().is_some_and(|lora| {
            let params = lora.parameters();
            params.len() == self.params.len()
                && params
                    .iter()
                    .zip(&self.params)
                    .all(|(a, b)| a.data_ptr() == b.data_ptr())
        });
        match same {
            true => Ok(()),
            false => Err(Error::InvalidArgument(
                "the model does not carry the adapter this trainer was made for; make a new \
                 Trainer after attaching, detaching or merging"
                    .into(),
            )),
        }
    }

    /// Scales the gradients down so that their global L2 norm is at most
    /// `max_norm` (PyTorch's `clip_grad_norm_`).
    fn clip_grad_norm(&mut self, max_norm: f64) {
        let _no_grad = tch::no_grad_guard();
        let mut grads: Vec<Tensor> = self
            .params
            .iter()
            .map(Tensor::grad)
            .filter(Tensor::defined)
            .collect();
        let norm = grads
            .iter()
            .map(|g| g.square().sum(Kind::Double).double_value(&[]))
            .sum::<f64>()
            .sqrt();
        let factor = max_norm / (norm + 1e-6);
        if factor < 1.0 {
            for g in &mut grads {
                let _ = g.g_mul_scalar_(factor);
            }
        }
    }
}

/// The mean loss per answer token of `model` (with its adapter, if any) on
/// `examples`, in inference mode (no dropout, no gradients): to compare
/// before and after training, or on held-out examples.
pub fn answer_loss(model: &Llama, examples: &[Example]) -> Result<f64> {
    let _no_grad = tch::no_grad_guard();
    let (mut total, mut tokens) = (0.0, 0);
    for chunk in examples.chunks(8) {
        let batch = AnswerBatch::new(model, chunk)?;
        total += batch.loss_sum(model, false)?.double_value(&[]);
        tokens += batch.n_targets;
    }
    if tokens == 0 {
        return Err(Error::InvalidArgument(
            "nothing to score: give at least one example".into(),
        ));
    }
    Ok(total / tokens as f64)
}

/// A batch of examples, left-padded, with the positions whose next token is
/// an answer token.
struct AnswerBatch {
    tokens: Tensor,
    mask: Tensor,
    /// Indices into the flattened `[batch · len]` positions.
    positions: Tensor,
    /// The token each of `positions` should predict.
    targets: Tensor,
    n_targets: usize,
}

impl AnswerBatch {
    fn new(model: &Llama, examples: &[Example]) -> Result<AnswerBatch> {
        let context = model.config().context_length;
        if let Some(bad) = examples
            .iter()
            .find(|e| e.prompt.is_empty() || e.answer.is_empty() || e.len() > context)
        {
            return Err(Error::InvalidArgument(format!(
                "a training example needs a prompt and an answer of at least one token each, \
                 {context} tokens at most in all; got {} + {}",
                bad.prompt.len(),
                bad.answer.len()
            )));
        }
        let rows: Vec<Vec<i64>> = examples
            .iter()
            .map(|e| [e.prompt.as_slice(), e.answer.as_slice()].concat())
            .collect();
        let (tokens, mask) = left_pad(&rows);
        let longest = rows.iter().map(Vec::len).max().unwrap_or(0);
        let (mut positions, mut targets) = (Vec::new(), Vec::new());
        for (row, e) in examples.iter().enumerate() {
            // The position before answer token j predicts it.
            let first = row * longest + longest - e.len() + e.prompt.len() - 1;
            positions.extend((first..first + e.answer.len()).map(|p| p as i64));
            targets.extend_from_slice(&e.answer);
        }
        Ok(AnswerBatch {
            tokens,
            mask,
            n_targets: targets.len(),
            positions: Tensor::from_slice(&positions),
            targets: Tensor::from_slice(&targets),
        })
    }

    /// The summed cross-entropy of the answer tokens. Only the answer
    /// positions go through the output head, the largest matrix of a small
    /// model, so prompt tokens cost no logits.
    fn loss_sum(&self, model: &Llama, train: bool) -> Result<Tensor> {
        let hidden = model.hidden(
            &self.tokens,
            Some(&self.mask),
            &mut KvCache::default(),
            train,
        )?;
        let hidden = hidden.flatten(0, 1).index_select(0, &self.positions);
        Ok(model.logits(&hidden).cross_entropy_loss::<Tensor>(
            &self.targets,
            None,
            Reduction::Sum,
            -100,
            0.0,
        ))
    }
}
