//! word2vec: skip-gram with negative sampling (SGNS), after Mikolov et al.,
//! "Distributed Representations of Words and Phrases and their
//! Compositionality" (2013).
//!
//! Every word has two vectors: an input vector `v` (used when the word is the
//! centre of a window) and an output vector `u` (used when it is a context
//! word). For a centre word `c`, a word `o` seen near it and `k` words `n_i`
//! drawn from a noise distribution, the loss is
//!
//! ```text
//! -log σ(u_o · v_c) - Σ_i log σ(-u_{n_i} · v_c)
//! ```
//!
//! so true (centre, context) pairs get a large dot product and random pairs a
//! small one. Words that occur in the same contexts are pushed towards the
//! same output vectors and so end up with similar input vectors: the word
//! embeddings are the rows of the input table ([`Word2Vec::vectors`]).
//!
//! The training pipeline follows the original C tool: frequent words are
//! subsampled ([`keep_probability`]), each centre word draws a window width
//! from `1..=window` ([`skipgram_pairs`]), negatives come from the unigram
//! distribution raised to the power 0.75 ([`NoiseTable`]). Batches of pairs
//! are trained with a sparse ("lazy") Adam that updates only the rows in the
//! batch ([`Word2Vec::step`]); libtorch's autograd computes the gradients.
//!
//! Why not the C tool's plain SGD? It updates after every single pair, so a
//! frequent word's vector moves a little, then the next pair sees the moved
//! vector. A batch of 1024 pairs sums a frequent word's gradients (the most
//! common noise words appear in hundreds of pairs of every batch) into one
//! big step: with the C tool's learning rate 0.025 all vectors collapse onto
//! one direction (cosine similarity 0.99 between unrelated words, measured
//! on Shakespeare). Adam scales each coordinate's step by its recent gradient
//! size instead, which makes batches safe.
//!
//! ```no_run
//! use aiguide_llm::word2vec::{Word2Vec, Word2VecConfig};
//! // A corpus as word ids in 0..vocab_size (out-of-vocabulary words removed).
//! let ids: Vec<i64> = vec![0, 1, 2, 0, 1, 3];
//! let config = Word2VecConfig { dim: 16, ..Word2VecConfig::default() };
//! let mut model = Word2Vec::new(4, &config, tch::Device::Cpu);
//! let report = model.train(&ids, |epoch, loss| println!("epoch {epoch}: {loss:.3}"))?;
//! let neighbours = model.nearest(&model.vectors().get(0), 2, &[0]);
//! # Ok::<(), aiguide_llm::Error>(())
//! ```

use std::time::Instant;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use tch::{Device, Kind, Tensor};

use crate::{Error, Result};

/// Hyperparameters of [`Word2Vec`] and its training.
#[derive(Clone, Debug, PartialEq)]
pub struct Word2VecConfig {
    /// Embedding size (word2vec's `-size`).
    pub dim: i64,
    /// Largest distance between a centre word and a context word; each
    /// centre word draws its own width from `1..=window` (`-window`).
    pub window: usize,
    /// Noise words per (centre, context) pair (`-negative`).
    pub negatives: usize,
    /// Subsampling threshold `t` (`-sample`): a word of corpus frequency
    /// `f > t` is kept with probability `(sqrt(f / t) + 1) t / f`. 0 keeps
    /// every word.
    pub subsample: f64,
    /// Passes over the corpus.
    pub epochs: usize,
    /// (centre, context) pairs per optimiser step.
    pub batch_size: usize,
    /// Adam's learning rate at the start; it falls linearly to 1% of this
    /// by the last step.
    pub learning_rate: f64,
    /// Seed of the subsampling, windows, shuffling, negatives and the
    /// initial vectors: the same seed gives the same vectors.
    pub seed: u64,
}

impl Default for Word2VecConfig {
    /// dim 100, window 5, 5 negatives, subsampling 1e-4, 2 epochs, batches
    /// of 1024 pairs, learning rate 0.01, seed 0.
    fn default() -> Self {
        Word2VecConfig {
            dim: 100,
            window: 5,
            negatives: 5,
            subsample: 1e-4,
            epochs: 2,
            batch_size: 1024,
            learning_rate: 0.01,
            seed: 0,
        }
    }
}

/// The SGNS loss of a batch, averaged over its pairs.
///
/// `center` is `[B, D]` (input vectors of the centre words), `context` is
/// `[B, D]` (output vectors of the true context words) and `negatives` is
/// `[B, K, D]` (output vectors of `K` noise words per pair).
pub fn sgns_loss(center: &Tensor, context: &Tensor, negatives: &Tensor) -> Tensor {
    let positive = (center * context)
        .sum_dim_intlist(-1, false, Kind::Float)
        .log_sigmoid();
    let negative = negatives
        .bmm(&center.unsqueeze(2))
        .squeeze_dim(2)
        .neg()
        .log_sigmoid()
        .sum_dim_intlist(-1, false, Kind::Float);
    -(positive + negative).mean(Kind::Float)
}

/// word2vec's probability of keeping a word seen `count` times in a corpus
/// of `total` words, for threshold `t` (1 when `t` is 0 or the word is rare).
pub fn keep_probability(count: u64, total: u64, t: f64) -> f64 {
    if t <= 0.0 || count == 0 {
        return 1.0;
    }
    let f = count as f64 / total as f64;
    ((f / t).sqrt() + 1.0) * t / f
}

/// The (centre, context) pairs of `ids`: each position draws a width `b`
/// from `1..=window` and pairs with every word at most `b` positions away.
pub fn skipgram_pairs(ids: &[i64], window: usize, rng: &mut impl Rng) -> Vec<(i64, i64)> {
    let mut pairs = Vec::with_capacity(ids.len() * window.max(1));
    for (i, &center) in ids.iter().enumerate() {
        let b = rng.gen_range(1..=window.max(1));
        let lo = i.saturating_sub(b);
        let hi = (i + b).min(ids.len().saturating_sub(1));
        for (j, &context) in ids.iter().enumerate().take(hi + 1).skip(lo) {
            if j != i {
                pairs.push((center, context));
            }
        }
    }
    pairs
}

/// Word counts: `counts[id]` is how often `id` occurs in `ids`.
pub fn count_ids(ids: &[i64], vocab_size: usize) -> Vec<u64> {
    let mut counts = vec![0u64; vocab_size];
    for &id in ids {
        counts[id as usize] += 1;
    }
    counts
}

/// The noise distribution of negative sampling as a lookup table (as in the
/// C tool): word `w` fills a share `count_w^power / Σ count^power` of the
/// slots, so a uniform slot is a draw from that distribution.
#[derive(Clone, Debug)]
pub struct NoiseTable {
    slots: Vec<i64>,
}

impl NoiseTable {
    /// A table of `size` slots for the unigram `counts` raised to `power`
    /// (word2vec uses 0.75).
    pub fn new(counts: &[u64], power: f64, size: usize) -> Result<NoiseTable> {
        let weights: Vec<f64> = counts.iter().map(|&c| (c as f64).powf(power)).collect();
        let total: f64 = weights.iter().sum();
        if total <= 0.0 || size == 0 {
            return Err(Error::InvalidArgument(
                "NoiseTable: need at least one word with a positive count and size > 0".into(),
            ));
        }
        let mut slots = Vec::with_capacity(size);
        let mut cumulative = 0.0;
        for (id, w) in weights.iter().enumerate() {
            cumulative += w / total;
            let end = ((cumulative * size as f64).round() as usize).min(size);
            while slots.len() < end {
                slots.push(id as i64);
            }
        }
        // Rounding may leave the last slot empty: give it the last word seen.
        let last = weights.iter().rposition(|&w| w > 0.0).unwrap_or(0) as i64;
        slots.resize(size, last);
        Ok(NoiseTable { slots })
    }

    /// `n` draws from the noise distribution.
    pub fn sample(&self, n: usize, rng: &mut impl Rng) -> Vec<i64> {
        (0..n)
            .map(|_| self.slots[rng.gen_range(0..self.slots.len())])
            .collect()
    }

    /// The share of slots that hold `id` (its noise probability).
    pub fn probability(&self, id: i64) -> f64 {
        self.slots.iter().filter(|&&s| s == id).count() as f64 / self.slots.len() as f64
    }
}

/// What [`Word2Vec::train`] did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct TrainReport {
    /// Mean loss of each epoch.
    pub epoch_loss: Vec<f64>,
    /// Mean loss of each run of 50 steps, in order (for a loss curve).
    pub curve: Vec<f64>,
    /// Training pairs per epoch (after subsampling).
    pub pairs: Vec<usize>,
    /// Optimiser steps in all.
    pub steps: usize,
    /// Wall-clock seconds of training.
    pub seconds: f64,
}

/// Adam's state for one embedding table: first and second moments per
/// number, and how many steps each row has had.
#[derive(Debug)]
struct RowAdam {
    m: Tensor,
    v: Tensor,
}

impl RowAdam {
    const BETA1: f64 = 0.9;
    const BETA2: f64 = 0.999;
    const EPS: f64 = 1e-8;

    fn new(table: &Tensor) -> RowAdam {
        RowAdam {
            m: table.zeros_like(),
            v: table.zeros_like(),
        }
    }

    /// Applies `grads` (`[n, dim]`, one per entry of `rows`, rows may repeat)
    /// to `table`: gradients of a repeated row are summed first, then only
    /// the distinct rows get an Adam update (PyTorch's `SparseAdam` rule,
    /// with the bias correction of global step `t`).
    fn update(&mut self, table: &mut Tensor, rows: &Tensor, grads: &Tensor, lr: f64, t: i32) {
        let (distinct, inverse, _) = rows.internal_unique2(true, true, false);
        let g = Tensor::zeros(
            [distinct.size()[0], grads.size()[1]],
            (grads.kind(), grads.device()),
        )
        .index_add(0, &inverse, grads);
        let m = self.m.index_select(0, &distinct) * Self::BETA1 + &g * (1.0 - Self::BETA1);
        let v = self.v.index_select(0, &distinct) * Self::BETA2 + g.square() * (1.0 - Self::BETA2);
        let _ = self.m.index_copy_(0, &distinct, &m);
        let _ = self.v.index_copy_(0, &distinct, &v);
        let step = lr * (1.0 - Self::BETA2.powi(t)).sqrt() / (1.0 - Self::BETA1.powi(t));
        let _ = table.index_add_(0, &distinct, &(m / (v.sqrt() + Self::EPS) * -step));
    }
}

/// A skip-gram model: an input and an output embedding table.
#[derive(Debug)]
pub struct Word2Vec {
    input: Tensor,
    output: Tensor,
    input_adam: RowAdam,
    output_adam: RowAdam,
    steps: i32,
    config: Word2VecConfig,
}

impl Word2Vec {
    /// A model for `vocab_size` words with the C tool's initialisation:
    /// input vectors uniform in `±0.5 / dim`, output vectors zero.
    pub fn new(vocab_size: i64, config: &Word2VecConfig, device: Device) -> Word2Vec {
        let bound = 0.5 / config.dim as f64;
        // Seeded from the config, not libtorch's global generator.
        let mut rng = StdRng::seed_from_u64(config.seed);
        let init: Vec<f32> = (0..vocab_size * config.dim)
            .map(|_| rng.gen_range(-bound..bound) as f32)
            .collect();
        let input = Tensor::from_slice(&init)
            .view([vocab_size, config.dim])
            .to_device(device);
        let output = Tensor::zeros([vocab_size, config.dim], (Kind::Float, device));
        Word2Vec {
            input_adam: RowAdam::new(&input),
            output_adam: RowAdam::new(&output),
            input,
            output,
            steps: 0,
            config: config.clone(),
        }
    }

    /// The hyperparameters.
    pub fn config(&self) -> &Word2VecConfig {
        &self.config
    }

    /// The output table (context vectors), `[vocab_size, dim]` (a copy).
    pub fn output_vectors(&self) -> Tensor {
        self.output.copy()
    }

    /// The SGNS loss ([`sgns_loss`], the mean over the batch) of a batch of
    /// ids: `center` and `context` `[B]`, `negatives` `[B, K]` (Int64).
    pub fn loss(&self, center: &Tensor, context: &Tensor, negatives: &Tensor) -> Tensor {
        let (b, k) = (negatives.size()[0], negatives.size()[1]);
        sgns_loss(
            &self.input.index_select(0, center),
            &self.output.index_select(0, context),
            &self
                .output
                .index_select(0, &negatives.view([-1]))
                .view([b, k, -1]),
        )
    }

    /// One optimiser step on a batch (ids as in [`Word2Vec::loss`]) with
    /// learning rate `lr`; returns the batch's mean loss. Only the rows in
    /// the batch change: autograd differentiates the loss with respect to
    /// the gathered rows, and a sparse Adam applies those gradients to the
    /// tables (a dense optimiser would touch all `2 x vocab x dim` numbers
    /// every step).
    pub fn step(&mut self, center: &Tensor, context: &Tensor, negatives: &Tensor, lr: f64) -> f64 {
        let (b, k) = (negatives.size()[0], negatives.size()[1]);
        let flat_negatives = negatives.view([-1]);
        // The rows of this batch, as leaves of their own graph.
        let v = self.input.index_select(0, center).set_requires_grad(true);
        let u = self.output.index_select(0, context).set_requires_grad(true);
        let n = self
            .output
            .index_select(0, &flat_negatives)
            .view([b, k, -1])
            .set_requires_grad(true);
        let loss = sgns_loss(&v, &u, &n);
        loss.backward();
        self.steps += 1;
        tch::no_grad(|| {
            self.input_adam
                .update(&mut self.input, center, &v.grad(), lr, self.steps);
            // Context and noise words share the output table: one update.
            let rows = Tensor::cat(&[context, &flat_negatives], 0);
            let grads = Tensor::cat(&[u.grad(), n.grad().view([b * k, -1])], 0);
            self.output_adam
                .update(&mut self.output, &rows, &grads, lr, self.steps);
        });
        loss.double_value(&[])
    }

    /// Trains on `ids`, a corpus as word ids in `0..vocab_size` (drop
    /// out-of-vocabulary words first, as word2vec does), with
    /// [`Word2Vec::step`] and a learning rate falling linearly from
    /// `config.learning_rate` to 1% of it. `on_epoch` gets the epoch number
    /// (from 1) and its mean loss. libtorch runs on one intra-op thread
    /// meanwhile (these steps are too small to gain from more) and gets its
    /// previous thread count back at the end.
    pub fn train(
        &mut self,
        ids: &[i64],
        mut on_epoch: impl FnMut(usize, f64),
    ) -> Result<TrainReport> {
        let c = self.config.clone();
        let vocab_size = self.input.size()[0] as usize;
        if let Some(&bad) = ids.iter().find(|&&i| i < 0 || i as usize >= vocab_size) {
            return Err(Error::InvalidArgument(format!(
                "Word2Vec::train: id {bad} is outside the vocabulary 0..{vocab_size}"
            )));
        }
        if c.batch_size == 0 || c.negatives == 0 || c.epochs == 0 {
            return Err(Error::InvalidArgument(
                "Word2Vec::train: batch_size, negatives and epochs must be positive".into(),
            ));
        }
        let start = Instant::now();
        // The steps are small: with several intra-op threads, libtorch spends
        // more time synchronising them than computing (16x slower on a busy
        // 2-core machine). Train on one thread, then restore the setting.
        let threads = tch::get_num_threads();
        tch::set_num_threads(1);
        let result = self.train_on_one_thread(ids, &mut on_epoch);
        tch::set_num_threads(threads);
        let mut report = result?;
        report.seconds = start.elapsed().as_secs_f64();
        Ok(report)
    }

    fn train_on_one_thread(
        &mut self,
        ids: &[i64],
        on_epoch: &mut impl FnMut(usize, f64),
    ) -> Result<TrainReport> {
        let c = self.config.clone();
        let vocab_size = self.input.size()[0] as usize;
        let device = self.input.device();
        let counts = count_ids(ids, vocab_size);
        let total = ids.len() as u64;
        let keep: Vec<f64> = counts
            .iter()
            .map(|&n| keep_probability(n, total, c.subsample))
            .collect();
        let noise = NoiseTable::new(&counts, 0.75, 1_000_000)?;
        // The generator of `new` drew the initial vectors; use another stream.
        let mut rng = StdRng::seed_from_u64(c.seed.wrapping_add(1));

        // Plan the epochs first, so the learning rate can fall linearly.
        let mut epochs: Vec<Vec<(i64, i64)>> = Vec::with_capacity(c.epochs);
        for _ in 0..c.epochs {
            let kept: Vec<i64> = ids
                .iter()
                .copied()
                .filter(|&id| rng.r#gen::<f64>() < keep[id as usize])
                .collect();
            let mut pairs = skipgram_pairs(&kept, c.window, &mut rng);
            pairs.shuffle(&mut rng);
            epochs.push(pairs);
        }
        let total_steps: usize = epochs.iter().map(|p| p.len().div_ceil(c.batch_size)).sum();
        let mut report = TrainReport::default();
        let mut window_loss = 0.0;
        for (e, pairs) in epochs.iter().enumerate() {
            let mut epoch_loss = 0.0;
            let batches = pairs.chunks(c.batch_size);
            let n_batches = batches.len();
            for batch in batches {
                let lr = c.learning_rate * (1.0 - 0.99 * report.steps as f64 / total_steps as f64);
                let (centers, contexts): (Vec<i64>, Vec<i64>) = batch.iter().copied().unzip();
                let negatives = noise.sample(batch.len() * c.negatives, &mut rng);
                let value = self.step(
                    &Tensor::from_slice(&centers).to_device(device),
                    &Tensor::from_slice(&contexts).to_device(device),
                    &Tensor::from_slice(&negatives)
                        .view([batch.len() as i64, c.negatives as i64])
                        .to_device(device),
                    lr,
                );
                epoch_loss += value;
                window_loss += value;
                report.steps += 1;
                if report.steps % 50 == 0 {
                    report.curve.push(window_loss / 50.0);
                    window_loss = 0.0;
                }
            }
            let mean = epoch_loss / n_batches.max(1) as f64;
            report.epoch_loss.push(mean);
            report.pairs.push(pairs.len());
            on_epoch(e + 1, mean);
        }
        Ok(report)
    }

    /// The word vectors: the input table, `[vocab_size, dim]` (a copy).
    pub fn vectors(&self) -> Tensor {
        self.input.copy()
    }

    /// The `k` words whose vectors have the highest cosine similarity to
    /// `query` (`[dim]`), best first, leaving out the ids in `exclude`.
    pub fn nearest(&self, query: &Tensor, k: usize, exclude: &[i64]) -> Vec<(i64, f64)> {
        nearest(&self.vectors(), query, k, exclude)
    }
}

/// The `k` rows of `vectors` (`[n, dim]`) with the highest cosine similarity
/// to `query` (`[dim]`), best first, as (row, similarity), leaving out the
/// rows in `exclude`. Rows of zero length are never returned.
pub fn nearest(vectors: &Tensor, query: &Tensor, k: usize, exclude: &[i64]) -> Vec<(i64, f64)> {
    let vectors = vectors.to_kind(Kind::Float);
    let norms = vectors.norm_scalaropt_dim(2, [1], false);
    let q = query.to_kind(Kind::Float).to_device(vectors.device());
    let mut sims = vectors.mv(&q) / (norms * q.norm()).clamp_min(1e-12);
    if !exclude.is_empty() {
        let rows = Tensor::from_slice(exclude).to_device(vectors.device());
        sims = sims.index_fill(0, &rows, f64::NEG_INFINITY);
    }
    // Zero vectors (words never trained) would score 0: keep them out.
    let zero = vectors.abs().sum_dim_intlist(1, false, Kind::Float).eq(0.0);
    let sims = sims.masked_fill(&zero, f64::NEG_INFINITY);
    let k = k.min(sims.size()[0] as usize) as i64;
    let (values, indices) = sims.topk(k, 0, true, true);
    let values = Vec::<f64>::try_from(&values.to_kind(Kind::Double)).unwrap_or_default();
    let indices = Vec::<i64>::try_from(&indices).unwrap_or_default();
    indices
        .into_iter()
        .zip(values)
        .filter(|(_, v)| v.is_finite())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loss_matches_the_formula_by_hand() {
        // One pair, D = 2, K = 1: -log σ(u·v) - log σ(-n·v).
        let v = Tensor::from_slice(&[1.0f32, 2.0]).view([1, 2]);
        let u = Tensor::from_slice(&[0.5f32, -1.0]).view([1, 2]);
        let n = Tensor::from_slice(&[2.0f32, 0.0]).view([1, 1, 2]);
        let sigma = |x: f64| 1.0 / (1.0 + (-x).exp());
        let expected = -(sigma(0.5 - 2.0).ln()) - sigma(-2.0).ln();
        let got = sgns_loss(&v, &u, &n).double_value(&[]);
        assert!((got - expected).abs() < 1e-6, "{got} vs {expected}");
    }

    #[test]
    fn zero_vectors_give_log_two_per_word() {
        let z = Tensor::zeros([3, 4], (Kind::Float, Device::Cpu));
        let loss = sgns_loss(
            &z,
            &z,
            &Tensor::zeros([3, 5, 4], (Kind::Float, Device::Cpu)),
        );
        assert!((loss.double_value(&[]) - 6.0 * 2f64.ln()).abs() < 1e-6);
    }

    #[test]
    fn pairs_stay_inside_the_window() {
        let ids: Vec<i64> = (0..50).collect();
        let mut rng = StdRng::seed_from_u64(1);
        let pairs = skipgram_pairs(&ids, 3, &mut rng);
        assert!(pairs.iter().all(|&(c, o)| c != o && (c - o).abs() <= 3));
        assert!(pairs.contains(&(0, 1)) && pairs.contains(&(49, 48)));
        // Width 1 always: exactly the two neighbours (one at each end).
        let narrow = skipgram_pairs(&ids, 1, &mut rng);
        assert_eq!(narrow.len(), 2 * 50 - 2);
    }

    #[test]
    fn subsampling_keeps_rare_words_and_drops_frequent_ones() {
        assert!(keep_probability(5, 1_000_000, 1e-4) >= 1.0);
        let the = keep_probability(50_000, 1_000_000, 1e-4); // f = 5%
        assert!((the - ((0.05f64 / 1e-4).sqrt() + 1.0) * 1e-4 / 0.05).abs() < 1e-12);
        assert!(the < 0.05);
        assert_eq!(keep_probability(50_000, 1_000_000, 0.0), 1.0);
    }

    #[test]
    fn noise_table_follows_the_three_quarter_power() {
        let table = NoiseTable::new(&[16, 1, 0], 0.75, 10_000).unwrap();
        // 16^0.75 = 8, 1^0.75 = 1: shares 8/9 and 1/9; never a zero-count word.
        assert!((table.probability(0) - 8.0 / 9.0).abs() < 1e-3);
        assert!((table.probability(1) - 1.0 / 9.0).abs() < 1e-3);
        assert_eq!(table.probability(2), 0.0);
        assert!(NoiseTable::new(&[0, 0], 0.75, 10).is_err());
    }

    #[test]
    fn nearest_ranks_by_cosine_and_skips_excluded_rows() {
        let v = Tensor::from_slice(&[1.0f32, 0.0, 0.9, 0.1, 0.0, 1.0, 0.0, 0.0]).view([4, 2]);
        let got = nearest(&v, &Tensor::from_slice(&[1.0f32, 0.0]), 3, &[0]);
        assert_eq!(
            got.iter().map(|p| p.0).collect::<Vec<_>>(),
            [1, 2],
            "row 3 is zero"
        );
        assert!(got[0].1 > 0.99 && got[1].1.abs() < 1e-6);
    }

    /// Words that share contexts end up closer than words that do not.
    #[test]
    fn words_with_shared_contexts_end_up_close() {
        // Vocabulary: 0 cat, 1 dog, 2 car, 3 bus, 4 the, 5 purrs, 6 barks,
        // 7 drives, 8 honks, 9 pet, 10 road. "cat" and "dog" share "pet";
        // "car" and "bus" share "road".
        let sentences: [&[i64]; 4] = [
            &[4, 0, 5, 9, 4, 0],
            &[4, 1, 6, 9, 4, 1],
            &[4, 2, 7, 10, 4, 2],
            &[4, 3, 8, 10, 4, 3],
        ];
        let mut rng = StdRng::seed_from_u64(7);
        let mut ids = Vec::new();
        for _ in 0..300 {
            ids.extend_from_slice(sentences[rng.gen_range(0..4)]);
        }
        let config = Word2VecConfig {
            dim: 16,
            window: 2,
            subsample: 0.0,
            epochs: 5,
            batch_size: 64,
            seed: 3,
            ..Word2VecConfig::default()
        };
        let mut model = Word2Vec::new(11, &config, Device::Cpu);
        let mut seen = Vec::new();
        let report = model.train(&ids, |e, l| seen.push((e, l))).unwrap();
        assert_eq!(seen.len(), 5);
        assert!(
            report.epoch_loss[4] < report.epoch_loss[0],
            "{:?}",
            report.epoch_loss
        );
        let v = model.vectors();
        let cos = |a: i64, b: i64| {
            let (x, y) = (v.get(a), v.get(b));
            (x.dot(&y) / (x.norm() * y.norm())).double_value(&[])
        };
        assert!(
            cos(0, 1) > cos(0, 2) + 0.2,
            "cat-dog {} vs cat-car {}",
            cos(0, 1),
            cos(0, 2)
        );
        assert!(
            cos(2, 3) > cos(2, 1) + 0.2,
            "car-bus {} vs car-dog {}",
            cos(2, 3),
            cos(2, 1)
        );
        // Among the other nouns (dog, car, bus), dog is the nearest to cat.
        let near_cat = model.nearest(&v.get(0), 1, &[0, 4, 5, 6, 7, 8, 9, 10]);
        assert_eq!(near_cat[0].0, 1, "{near_cat:?}");
    }

    #[test]
    fn same_seed_same_vectors() {
        let ids: Vec<i64> = (0..400).map(|i| (i * 7 % 13) as i64).collect();
        let config = Word2VecConfig {
            dim: 8,
            epochs: 1,
            batch_size: 32,
            ..Word2VecConfig::default()
        };
        let train = || {
            let mut m = Word2Vec::new(13, &config, Device::Cpu);
            m.train(&ids, |_, _| {}).unwrap();
            m.vectors()
        };
        assert!(train().equal(&train()));
    }

    #[test]
    fn ids_outside_the_vocabulary_are_an_error() {
        let mut m = Word2Vec::new(3, &Word2VecConfig::default(), Device::Cpu);
        let err = m.train(&[0, 1, 5], |_, _| {}).unwrap_err();
        assert!(err.to_string().contains("id 5"), "{err}");
    }
}
