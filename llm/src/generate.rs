//! Text generation: choosing each next token from the logits, and the loop
//! that feeds it back.
//!
//! Each step the logits go through, in HF transformers' order: repetition
//! penalty, temperature, top-k, top-p; then the token is the argmax
//! (`temperature == 0`, greedy) or a draw from the softmax, with a seeded
//! generator so a run can be repeated exactly.

use rand::SeedableRng;
use rand::distributions::{Distribution, WeightedIndex};
use rand::rngs::StdRng;
use tch::Tensor;

use crate::llama::{KvCache, Llama};
use crate::tokenize::{TextStream, Tokenizer};
use crate::{Error, Result};

/// How to generate. `GenerateConfig::default()` is greedy with at most 256
/// new tokens; change fields with struct update syntax:
/// `GenerateConfig { temperature: 0.7, top_p: Some(0.9), ..Default::default() }`.
#[derive(Clone, Debug, PartialEq)]
pub struct GenerateConfig {
    /// Most tokens to generate.
    pub max_new_tokens: usize,
    /// Divides the logits before sampling: 0 means greedy (always the most
    /// likely token), 1 the model's own distribution, higher flatter.
    pub temperature: f64,
    /// Sample only among the `k` most likely tokens.
    pub top_k: Option<usize>,
    /// Sample only among the most likely tokens whose probabilities add up
    /// to `p` (nucleus sampling).
    pub top_p: Option<f64>,
    /// Above 1 discourages tokens already in the prompt or the output (a
    /// positive logit is divided by it, a negative one multiplied). 1 is off.
    pub repetition_penalty: f64,
    /// Generation ends when the text contains one of these; the text is cut
    /// before it.
    pub stop: Vec<String>,
    /// Seed of the sampler's random generator.
    pub seed: u64,
}

impl Default for GenerateConfig {
    fn default() -> Self {
        GenerateConfig {
            max_new_tokens: 256,
            temperature: 0.0,
            top_k: None,
            top_p: None,
            repetition_penalty: 1.0,
            stop: Vec::new(),
            seed: 0,
        }
    }
}

/// Why generation ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum StopReason {
    /// The model produced an end-of-sequence or end-of-turn token.
    EndOfText,
    /// The text reached this stop string.
    StopString(String),
    /// `max_new_tokens` tokens were generated.
    MaxTokens,
}

/// The result of one generation.
#[derive(Clone, Debug, PartialEq)]
pub struct Generation {
    /// The generated text (without the prompt, a stop string or the
    /// end-of-text token).
    pub text: String,
    /// The generated token ids, including a final end-of-text token.
    pub tokens: Vec<i64>,
    /// Number of prompt tokens.
    pub prompt_tokens: usize,
    /// How many of them came from the prompt cache rather than being run
    /// ([`crate::Llm::set_prompt_cache`]; 0 when it is off).
    pub cached_tokens: usize,
    /// Why it ended.
    pub stop_reason: StopReason,
}

/// Picks next tokens from logits according to a [`GenerateConfig`].
#[derive(Debug)]
pub struct Sampler {
    config: GenerateConfig,
    rng: StdRng,
}

impl Sampler {
    /// A sampler seeded with `config.seed`; checks the settings.
    pub fn new(config: &GenerateConfig) -> Result<Sampler> {
        let c = config;
        let bad = !(c.temperature >= 0.0 && c.temperature.is_finite())
            || c.top_k == Some(0)
            || c.top_p.is_some_and(|p| !(p > 0.0 && p <= 1.0))
            || !(c.repetition_penalty > 0.0 && c.repetition_penalty.is_finite());
        if bad {
            return Err(Error::InvalidArgument(format!(
                "generation settings out of range (temperature >= 0, top_k >= 1, 0 < top_p <= 1, \
                 repetition_penalty > 0): {c:?}"
            )));
        }
        Ok(Sampler {
            config: config.clone(),
            rng: StdRng::seed_from_u64(config.seed),
        })
    }

    /// The next token given `logits` over the vocabulary and the ids seen so
    /// far (`history`, for the repetition penalty).
    pub fn sample(&mut self, logits: &[f32], history: &[i64]) -> i64 {
        let c = &self.config;
        let mut logits = logits.to_vec();
        if c.repetition_penalty != 1.0 {
            let penalty = c.repetition_penalty as f32;
            // Once per distinct token, however often it occurred (as in HF).
            let mut seen = history.to_vec();
            seen.sort_unstable();
            seen.dedup();
            for id in seen {
                if let Some(l) = usize::try_from(id).ok().and_then(|i| logits.get_mut(i)) {
                    *l = if *l > 0.0 { *l / penalty } else { *l * penalty };
                }
            }
        }
        if c.temperature == 0.0 {
            return argmax(&logits) as i64;
        }
        // Candidates, most likely first (stable: ties keep id order).
        let mut order: Vec<usize> = (0..logits.len()).collect();
        order.sort_by(|&a, &b| logits[b].total_cmp(&logits[a]));
        order.truncate(c.top_k.unwrap_or(order.len()));
        let max = logits[order[0]] as f64;
        let mut probs: Vec<f64> = order
            .iter()
            .map(|&i| ((logits[i] as f64 - max) / c.temperature).exp())
            .collect();
        if let Some(top_p) = c.top_p {
            let total: f64 = probs.iter().sum();
            let mut cumulative = 0.0;
            // Keep tokens until their mass reaches top_p (at least one).
            let keep = probs
                .iter()
                .position(|p| {
                    cumulative += p / total;
                    cumulative >= top_p
                })
                .map_or(probs.len(), |i| i + 1);
            probs.truncate(keep);
        }
        // Weights are invalid only if the logits held NaN: fall back to greedy.
        WeightedIndex::new(&probs).map_or(order[0], |dist| order[dist.sample(&mut self.rng)]) as i64
    }
}

/// Index of the largest value (the first one on ties, like `torch.argmax`).
fn argmax(values: &[f32]) -> usize {
    values
        .iter()
        .enumerate()
        .fold((0, f32::NEG_INFINITY), |best, (i, &v)| {
            if v > best.1 { (i, v) } else { best }
        })
        .0
}

/// One prompt's progress: its tokens, its text, and what has been handed to
/// the caller so far.
struct Row<'t> {
    prompt_tokens: usize,
    tokens: Vec<i64>,
    history: Vec<i64>,
    stream: TextStream<'t>,
    text: String,
    emitted: usize,
    stop_reason: Option<StopReason>,
}

impl Row<'_> {
    /// Adds `id` to the row; returns the text that can be shown now, holding
    /// back a tail that may be the start of a stop string.
    fn push(&mut self, id: i64, tokenizer: &Tokenizer, stop: &[String]) -> Result<String> {
        self.tokens.push(id);
        self.history.push(id);
        if tokenizer.is_stop(id) {
            self.stop_reason = Some(StopReason::EndOfText);
            return Ok(self.take(self.text.len()));
        }
        if let Some(piece) = self.stream.step(id)? {
            self.text.push_str(&piece);
        }
        let found = stop
            .iter()
            .filter_map(|s| self.text.find(s.as_str()).map(|at| (at, s)))
            .min_by_key(|&(at, _)| at);
        if let Some((at, s)) = found {
            self.stop_reason = Some(StopReason::StopString(s.clone()));
            self.text.truncate(at);
            return Ok(self.take(at));
        }
        let held = stop
            .iter()
            .map(|s| partial_suffix(&self.text, s))
            .max()
            .unwrap_or(0);
        Ok(self.take(self.text.len() - held))
    }

    /// Text from what was emitted up to `end`, marked as emitted.
    fn take(&mut self, end: usize) -> String {
        let piece = self.text[self.emitted.min(end)..end].to_string();
        self.emitted = self.emitted.max(end);
        piece
    }
}

/// Length of the longest suffix of `text` that is a proper prefix of `stop`.
fn partial_suffix(text: &str, stop: &str) -> usize {
    (1..stop.len())
        .rev()
        .find(|&n| stop.is_char_boundary(n) && text.ends_with(&stop[..n]))
        .unwrap_or(0)
}

/// Token ids `[batch, longest]` and attention mask (1 for a token, 0 for
/// padding) of `prompts`, padded on the left so that every prompt ends in
/// the last column, where the next token is predicted.
pub(crate) fn left_pad(prompts: &[Vec<i64>]) -> (Tensor, Tensor) {
    let longest = prompts.iter().map(Vec::len).max().unwrap_or(0);
    let pad = |p: &Vec<i64>| longest - p.len();
    let ids: Vec<i64> = prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n(0, pad(p)).chain(p.iter().copied()))
        .collect();
    let mask: Vec<i64> = prompts
        .iter()
        .flat_map(|p| std::iter::repeat_n(0, pad(p)).chain(std::iter::repeat_n(1, p.len())))
        .collect();
    let shape = [prompts.len() as i64, longest as i64];
    (
        Tensor::from_slice(&ids).view(shape),
        Tensor::from_slice(&mask).view(shape),
    )
}

/// A prompt's token ids and their keys and values, kept after a generation
/// so that the next one can skip the prefix they share (prompt caching).
#[derive(Debug, Default)]
pub(crate) struct PromptCache {
    tokens: Vec<i64>,
    cache: KvCache,
}

impl PromptCache {
    /// The cache of the longest cached prefix of `prompt`, and its length;
    /// at least the prompt's last token is left to run (its logits choose
    /// the first new token).
    fn reuse(&self, prompt: &[i64]) -> Result<(KvCache, usize)> {
        let common = self
            .tokens
            .iter()
            .zip(prompt)
            .take_while(|(a, b)| a == b)
            .count()
            .min(prompt.len().saturating_sub(1));
        match common {
            0 => Ok((KvCache::default(), 0)),
            n => Ok((self.cache.truncated(n as i64)?, n)),
        }
    }
}

/// Generates a continuation of each prompt (token ids), in one batch with
/// left padding. Before each token is chosen, `constrain(row, generated,
/// logits)` may change the row's logits (set a token's to `f32::NEG_INFINITY`
/// to forbid it); `on_text(row, piece)` receives each row's text as it is
/// produced. With `prompt_cache` and a single prompt, the prefix it shares
/// with the cached prompt is not run again, and the cache then holds this
/// prompt.
pub(crate) fn generate(
    model: &Llama,
    tokenizer: &Tokenizer,
    prompts: &[Vec<i64>],
    config: &GenerateConfig,
    prompt_cache: Option<&mut PromptCache>,
    mut constrain: impl FnMut(usize, &[i64], &mut [f32]),
    mut on_text: impl FnMut(usize, &str),
) -> Result<Vec<Generation>> {
    let mut sampler = Sampler::new(config)?;
    if prompts.is_empty() || prompts.iter().any(Vec::is_empty) {
        return Err(Error::InvalidArgument(
            "every prompt needs at least one token".into(),
        ));
    }
    let mut rows: Vec<Row> = prompts
        .iter()
        .map(|p| Row {
            prompt_tokens: p.len(),
            tokens: Vec::new(),
            history: p.clone(),
            stream: TextStream::new(tokenizer),
            text: String::new(),
            emitted: 0,
            stop_reason: None,
        })
        .collect();
    let b = prompts.len() as i64;
    let (mut tokens, mut mask) = left_pad(prompts);
    // Only a single prompt is cached: a batch is left-padded to its longest
    // prompt, so its rows' prefixes do not line up with one cached row.
    let mut keep = match prompts {
        [prompt] => prompt_cache.map(|c| (c, prompt)),
        _ => None,
    };
    let (mut cache, cached) = match &keep {
        Some((prompt_cache, prompt)) => prompt_cache.reuse(prompt)?,
        None => (KvCache::default(), 0),
    };
    let rest = tokens.size()[1] - cached as i64;
    (tokens, mask) = (
        tokens.narrow(1, cached as i64, rest),
        mask.narrow(1, cached as i64, rest),
    );
    for _ in 0..config.max_new_tokens {
        let logits = model.forward_last(&tokens, Some(&mask), &mut cache)?;
        if let Some((prompt_cache, prompt)) = keep.take() {
            // The cache now holds exactly the prompt.
            *prompt_cache = PromptCache {
                tokens: prompt.clone(),
                cache: cache.clone(),
            };
        }
        let mut next = Vec::with_capacity(rows.len());
        for (i, row) in rows.iter_mut().enumerate() {
            if row.stop_reason.is_some() {
                next.push((0, 0));
                continue;
            }
            let mut row_logits = Vec::<f32>::try_from(logits.get(i as i64))?;
            constrain(i, &row.tokens, &mut row_logits);
            let id = sampler.sample(&row_logits, &row.history);
            let piece = row.push(id, tokenizer, &config.stop)?;
            if !piece.is_empty() {
                on_text(i, &piece);
            }
            next.push((id, 1));
        }
        if rows.iter().all(|r| r.stop_reason.is_some()) {
            break;
        }
        // Finished rows keep running on masked padding until all are done.
        let (ids, m): (Vec<i64>, Vec<i64>) = next.into_iter().unzip();
        tokens = Tensor::from_slice(&ids).view([b, 1]);
        mask = Tensor::from_slice(&m).view([b, 1]);
    }
    Ok(rows
        .into_iter()
        .enumerate()
        .map(|(i, mut row)| {
            let rest = row.take(row.text.len());
            if !rest.is_empty() {
                on_text(i, &rest);
            }
            Generation {
                stop_reason: row.stop_reason.unwrap_or(StopReason::MaxTokens),
                text: row.text,
                tokens: row.tokens,
                prompt_tokens: row.prompt_tokens,
                cached_tokens: cached,
            }
        })
        .collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sampler(config: GenerateConfig) -> Sampler {
        Sampler::new(&config).unwrap()
    }

    #[test]
    fn greedy_takes_the_first_maximum() {
        let mut s = sampler(GenerateConfig::default());
        assert_eq!(s.sample(&[0.1, 2.0, 2.0, -1.0], &[]), 1);
    }

    #[test]
    fn repetition_penalty_divides_positive_and_multiplies_negative_logits() {
        let config = GenerateConfig {
            repetition_penalty: 2.0,
            ..Default::default()
        };
        // 3.0 / 2 = 1.5 < 2.0: the repeated token loses.
        assert_eq!(sampler(config.clone()).sample(&[3.0, 2.0], &[0]), 1);
        // Once per distinct token: 5.0 / 2 = 2.5 > 2.0 (not 5.0 / 4).
        assert_eq!(sampler(config.clone()).sample(&[5.0, 2.0], &[0, 0]), 0);
        // -1 * 2 = -2 < -1.5.
        assert_eq!(sampler(config).sample(&[-1.0, -1.5], &[0]), 1);
    }

    #[test]
    fn top_k_and_top_p_restrict_the_candidates() {
        let logits = [5.0, 4.9, 4.8, -10.0];
        let top_k = GenerateConfig {
            temperature: 1.0,
            top_k: Some(1),
            ..Default::default()
        };
        let top_p = GenerateConfig {
            temperature: 1.0,
            top_p: Some(0.5),
            seed: 3,
            ..Default::default()
        };
        let (mut a, mut b) = (sampler(top_k), sampler(top_p));
        for _ in 0..50 {
            assert_eq!(a.sample(&logits, &[]), 0);
            assert!(b.sample(&logits, &[]) < 2);
        }
    }

    #[test]
    fn sampling_is_seeded_and_follows_the_distribution() {
        let config = GenerateConfig {
            temperature: 1.0,
            seed: 7,
            ..Default::default()
        };
        let logits = [0.0, (3.0f32).ln()];
        let draws = |config: &GenerateConfig| -> Vec<i64> {
            let mut s = sampler(config.clone());
            (0..2000).map(|_| s.sample(&logits, &[])).collect()
        };
        let first = draws(&config);
        assert_eq!(first, draws(&config));
        let ones = first.iter().filter(|&&i| i == 1).count() as f64 / 2000.0;
        assert!((ones - 0.75).abs() < 0.03, "{ones}");
    }

    #[test]
    fn bad_settings_are_refused() {
        for config in [
            GenerateConfig {
                temperature: -1.0,
                ..Default::default()
            },
            GenerateConfig {
                top_p: Some(0.0),
                ..Default::default()
            },
            GenerateConfig {
                top_k: Some(0),
                ..Default::default()
            },
            GenerateConfig {
                repetition_penalty: 0.0,
                ..Default::default()
            },
        ] {
            assert!(Sampler::new(&config).is_err(), "{config:?}");
        }
    }

    #[test]
    fn partial_stop_strings_are_held_back() {
        assert_eq!(partial_suffix("Answer: fo", "foo"), 2);
        assert_eq!(partial_suffix("Answer: foo", "foo"), 0);
        assert_eq!(partial_suffix("x\nObs", "\nObservation:"), 4);
        assert_eq!(partial_suffix("é", "éa"), 2);
    }
}
