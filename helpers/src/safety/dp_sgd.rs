//! DP-SGD (Abadi et al., 2016, "Deep Learning with Differential Privacy"):
//! training whose result provably depends little on any one example.
//!
//! Each step bounds every example's influence and hides what is left:
//!
//! 1. draw the batch by Poisson sampling: every training example joins
//!    independently with probability `q = batch_size / dataset_size`, so
//!    batch sizes vary around `batch_size` (Opacus does the same, and the
//!    [`RdpAccountant`]'s analysis assumes exactly this sampling);
//! 2. compute each example's gradient on its own and scale it down to L2
//!    norm at most `C` (`max_grad_norm`);
//! 3. sum them, add Gaussian noise of standard deviation `σ C`
//!    (`noise_multiplier * max_grad_norm`) to every coordinate, and divide
//!    by the expected batch size `batch_size` (not the drawn one, whose size
//!    would itself leak who was drawn);
//! 4. hand that gradient to an ordinary `tch` optimizer, which steps as
//!    usual: plain SGD is Abadi et al.'s algorithm, and momentum or Adam on
//!    top change nothing in the privacy analysis, which covers anything
//!    computed from the noisy gradients.
//!
//! Per-example gradients come from one forward and backward pass per
//! example: simple and correct for any model, at the cost of speed (about
//! 0.4 ms per example for a 784-128-10 MLP on one CPU core, so 0.1 s for a
//! batch of 256).
//! Models must not use batch normalisation, which mixes the examples of a
//! batch (Opacus refuses it too); layer or group normalisation are fine.

use tch::nn::{ModuleT, Optimizer};
use tch::{Kind, Reduction, Tensor};

use super::accountant::RdpAccountant;
use crate::{Error, Result};

/// DP-SGD's settings.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpSgdConfig {
    /// `C`: each example's gradient is scaled down to at most this L2 norm
    /// (over all parameters together).
    pub max_grad_norm: f64,
    /// `σ`: the noise's standard deviation in units of `C`. Around 1 is
    /// typical; 0 gives clipping without privacy.
    pub noise_multiplier: f64,
    /// The expected batch size (batches are Poisson-sampled).
    pub batch_size: usize,
}

/// What DP-SGD saw in a step or an epoch. Computed from the raw data, so
/// not private itself: for monitoring, not for publishing.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct DpStep {
    /// Examples drawn (summed over an epoch's steps).
    pub examples: usize,
    /// Their mean loss before the update (NaN if none was drawn).
    pub mean_loss: f64,
    /// How many had a gradient longer than `max_grad_norm` and were clipped.
    pub clipped: usize,
}

/// A DP-SGD trainer for one dataset: it draws the batches, privatises the
/// gradients and keeps the [`RdpAccountant`] of every step it took, so the
/// ε it reports always matches the training that happened.
///
/// ```no_run
/// use aiguide::prelude::*;
/// use aiguide::safety::{DpSgd, DpSgdConfig};
/// # fn main() -> aiguide::Result<()> {
/// let mnist = aiguide::data::mnist()?;
/// let x = mnist.train_images.narrow(0, 0, 10_000).flatten(1, -1);
/// let y = mnist.train_labels.narrow(0, 0, 10_000);
/// let vs = nn::VarStore::new(Device::Cpu);
/// let model = aiguide::models::Mlp::new(&vs.root(), &[784, 128, 10], 0.0)?;
/// let mut opt = nn::Sgd::default().build(&vs, 0.5)?;
/// let config = DpSgdConfig { max_grad_norm: 1.0, noise_multiplier: 1.0, batch_size: 256 };
/// let mut dp = DpSgd::new(config, 10_000)?;
/// for _ in 0..3 {
///     dp.epoch(&model, &mut opt, &x, &y)?;
/// }
/// let (epsilon, _) = dp.epsilon(1e-5)?;
/// println!("(ε = {epsilon:.2}, δ = 1e-5)");
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct DpSgd {
    config: DpSgdConfig,
    dataset_size: usize,
    accountant: RdpAccountant,
}

impl DpSgd {
    /// A trainer for a dataset of `dataset_size` examples (each step draws
    /// from all of them).
    pub fn new(config: DpSgdConfig, dataset_size: usize) -> Result<DpSgd> {
        let DpSgdConfig {
            max_grad_norm,
            noise_multiplier,
            batch_size,
        } = config;
        if !(max_grad_norm > 0.0 && max_grad_norm.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "DpSgd: max_grad_norm must be positive and finite (around 1 is usual), got \
                 {max_grad_norm}"
            )));
        }
        if batch_size == 0 || batch_size > dataset_size {
            return Err(Error::InvalidArgument(format!(
                "DpSgd: the batch size must be between 1 and the dataset size {dataset_size}, \
                 got {batch_size}"
            )));
        }
        let sample_rate = batch_size as f64 / dataset_size as f64;
        Ok(DpSgd {
            config,
            dataset_size,
            accountant: RdpAccountant::new(sample_rate, noise_multiplier)?,
        })
    }

    /// The settings.
    pub fn config(&self) -> DpSgdConfig {
        self.config
    }

    /// The probability `q` that an example joins a batch.
    pub fn sample_rate(&self) -> f64 {
        self.accountant.sample_rate()
    }

    /// The accountant of the steps taken so far.
    pub fn accountant(&self) -> &RdpAccountant {
        &self.accountant
    }

    /// The (ε, `delta`) guarantee of the steps taken so far: `(ε, order)`
    /// as [`RdpAccountant::epsilon`] gives it.
    pub fn epsilon(&self, delta: f64) -> Result<(f64, f64)> {
        self.accountant.epsilon(delta)
    }

    /// One step: draws a Poisson batch from the whole training set `x`
    /// `[N, ...]`, `y` Int64 `[N]` (N = the dataset size), privatises its
    /// gradient and lets `optimizer` apply it to the variables it trains.
    /// The model is run in training mode and must return logits; the loss
    /// is cross-entropy. Random draws use libtorch's generator.
    pub fn step(
        &mut self,
        model: &dyn ModuleT,
        optimizer: &mut Optimizer,
        x: &Tensor,
        y: &Tensor,
    ) -> Result<DpStep> {
        self.check_dataset(x, y)?;
        let drawn = Tensor::f_rand([x.size()[0]], (Kind::Double, x.device()))?
            .f_lt(self.sample_rate())?
            .f_nonzero()?
            .f_flatten(0, -1)?;
        let (xb, yb) = (x.f_index_select(0, &drawn)?, y.f_index_select(0, &drawn)?);
        self.step_on_batch(model, optimizer, &xb, &yb)
    }

    /// `dataset_size / batch_size` steps (rounded, at least one): one pass
    /// over the data in expectation. Returns the examples and clipped
    /// gradients of all its steps, and their mean loss.
    pub fn epoch(
        &mut self,
        model: &dyn ModuleT,
        optimizer: &mut Optimizer,
        x: &Tensor,
        y: &Tensor,
    ) -> Result<DpStep> {
        let steps =
            ((self.dataset_size as f64 / self.config.batch_size as f64).round() as usize).max(1);
        let (mut examples, mut clipped, mut loss_sum) = (0, 0, 0.0);
        for _ in 0..steps {
            let step = self.step(model, optimizer, x, y)?;
            examples += step.examples;
            clipped += step.clipped;
            if step.examples > 0 {
                loss_sum += step.mean_loss * step.examples as f64;
            }
        }
        Ok(DpStep {
            examples,
            mean_loss: loss_sum / examples as f64,
            clipped,
        })
    }

    /// The private step on a batch already drawn. Private to the module:
    /// the accountant's guarantee holds only for Poisson-sampled batches.
    fn step_on_batch(
        &mut self,
        model: &dyn ModuleT,
        optimizer: &mut Optimizer,
        xb: &Tensor,
        yb: &Tensor,
    ) -> Result<DpStep> {
        let params = optimizer.trainable_variables();
        let (gradient, stats) = self.noisy_gradient(model, &params, xb, yb)?;
        // tch cannot assign a `.grad` directly; the gradient of
        // Σ sum(p ⊙ g) with respect to p is g, so one backward pass of that
        // surrogate puts the private gradient where the optimizer reads it.
        optimizer.zero_grad();
        tch::with_grad(|| -> Result<()> {
            let mut surrogate = Tensor::f_zeros([], (Kind::Float, xb.device()))?;
            for (p, g) in params.iter().zip(&gradient) {
                surrogate = surrogate.f_add(&p.f_mul(g)?.f_sum(Kind::Float)?)?;
            }
            Ok(surrogate.f_backward()?)
        })?;
        optimizer.step();
        self.accountant.step(1);
        Ok(stats)
    }

    /// `(Σ clip(g_i) + N(0, (σC)²)) / batch_size` for the examples of `xb`,
    /// one tensor per parameter, with what the batch showed.
    fn noisy_gradient(
        &self,
        model: &dyn ModuleT,
        params: &[Tensor],
        xb: &Tensor,
        yb: &Tensor,
    ) -> Result<(Vec<Tensor>, DpStep)> {
        let DpSgdConfig {
            max_grad_norm,
            noise_multiplier,
            batch_size,
        } = self.config;
        let n = xb.size()[0];
        let mut sum = params
            .iter()
            .map(|p| p.f_zeros_like())
            .collect::<Result<Vec<_>, _>>()?;
        let mut losses = Vec::with_capacity(n as usize);
        let mut norms = Vec::with_capacity(n as usize);
        for i in 0..n {
            let example = clipped_gradient(
                model,
                params,
                &xb.f_narrow(0, i, 1)?,
                &yb.f_narrow(0, i, 1)?,
                max_grad_norm,
            )?;
            for (s, g) in sum.iter_mut().zip(&example.gradient) {
                *s = s.f_add(g)?;
            }
            losses.push(example.loss);
            norms.push(example.norm);
        }
        let noisy = sum
            .iter()
            .map(|s| {
                let noise = s
                    .f_randn_like()?
                    .f_mul_scalar(noise_multiplier * max_grad_norm)?;
                s.f_add(&noise)?.f_div_scalar(batch_size as f64)
            })
            .collect::<Result<Vec<_>, _>>()?;
        // Read back once per batch, not once per example.
        let stats = if n == 0 {
            DpStep {
                examples: 0,
                mean_loss: f64::NAN,
                clipped: 0,
            }
        } else {
            DpStep {
                examples: n as usize,
                mean_loss: Tensor::f_stack(&losses, 0)?
                    .f_mean(Kind::Double)?
                    .f_double_value(&[])?,
                clipped: Tensor::f_stack(&norms, 0)?
                    .f_gt(max_grad_norm)?
                    .f_sum(Kind::Int64)?
                    .f_int64_value(&[])? as usize,
            }
        };
        Ok((noisy, stats))
    }

    fn check_dataset(&self, x: &Tensor, y: &Tensor) -> Result<()> {
        let (xs, ys) = (x.size(), y.size());
        let n = self.dataset_size as i64;
        if xs.first() != Some(&n) || ys != [n] || y.kind() != Kind::Int64 {
            return Err(Error::InvalidArgument(format!(
                "DpSgd: pass the whole training set, inputs [{n}, ...] and Int64 labels [{n}] \
                 (the dataset size given to DpSgd::new); got {xs:?} and {ys:?} ({:?})",
                y.kind()
            )));
        }
        Ok(())
    }
}

/// One example's gradient scaled to norm at most `max_norm`, with its
/// norm before scaling and its loss (0-dimensional tensors, left on the
/// device).
struct ClippedGradient {
    gradient: Vec<Tensor>,
    norm: Tensor,
    loss: Tensor,
}

/// The clipped gradient of the cross-entropy of example `(x, y)` (a batch
/// of one) with respect to `params`, computed without touching `.grad`.
fn clipped_gradient(
    model: &dyn ModuleT,
    params: &[Tensor],
    x: &Tensor,
    y: &Tensor,
    max_norm: f64,
) -> Result<ClippedGradient> {
    let (grads, loss) = tch::with_grad(|| -> Result<(Vec<Tensor>, Tensor)> {
        let loss = model.forward_t(x, true).f_cross_entropy_loss::<Tensor>(
            y,
            None,
            Reduction::Mean,
            -100,
            0.0,
        )?;
        let grads = Tensor::f_run_backward(&[&loss], params, false, false)?;
        Ok((grads, loss.f_detach()?))
    })?;
    // A parameter the loss does not use has an undefined gradient: zero.
    let grads = grads
        .into_iter()
        .zip(params)
        .map(|(g, p)| if g.defined() { Ok(g) } else { p.f_zeros_like() })
        .collect::<Result<Vec<_>, _>>()?;
    let squares = grads
        .iter()
        .map(|g| g.f_square()?.f_sum(Kind::Float))
        .collect::<Result<Vec<_>, _>>()?;
    let norm = Tensor::f_stack(&squares, 0)?.f_sum(Kind::Float)?.f_sqrt()?;
    // min(1, C / ‖g‖); a zero gradient gives +inf, clamped to 1.
    let scale = norm
        .f_reciprocal()?
        .f_mul_scalar(max_norm)?
        .f_clamp_max(1.0)?;
    let gradient = grads
        .iter()
        .map(|g| g.f_mul(&scale))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(ClippedGradient {
        gradient,
        norm,
        loss,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, Module, OptimizerConfig};
    use tch::{Device, Kind};

    fn config(max_grad_norm: f64, noise_multiplier: f64, batch_size: usize) -> DpSgdConfig {
        DpSgdConfig {
            max_grad_norm,
            noise_multiplier,
            batch_size,
        }
    }

    fn data(n: i64, features: i64, scale: f64) -> (Tensor, Tensor) {
        let x = Tensor::randn([n, features], (Kind::Float, Device::Cpu)) * scale;
        let y = Tensor::arange(n, (Kind::Int64, Device::Cpu)).remainder(3);
        (x, y)
    }

    fn norm(grads: &[Tensor]) -> f64 {
        grads
            .iter()
            .map(|g| g.square().sum(Kind::Double).double_value(&[]))
            .sum::<f64>()
            .sqrt()
    }

    /// Inputs of size ~100 and zero weights (every class 1/3, so no loss is
    /// saturated) make gradients far longer than C = 0.5: each is scaled to
    /// exactly C, in its direction.
    #[test]
    fn each_example_is_clipped_to_the_norm() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(10);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = nn::linear(vs.root(), 5, 3, Default::default());
        let mut params = vs.trainable_variables();
        tch::no_grad(|| {
            for p in params.iter_mut() {
                let _ = p.zero_();
            }
        });
        let (x, y) = data(6, 5, 100.0);
        for i in 0..6 {
            let (xi, yi) = (x.narrow(0, i, 1), y.narrow(0, i, 1));
            let big = clipped_gradient(&model, &params, &xi, &yi, 0.5).unwrap();
            let raw = big.norm.double_value(&[]);
            assert!(raw > 10.0, "example {i}: raw norm {raw}");
            assert!((norm(&big.gradient) - 0.5).abs() < 1e-5);
            let unclipped = clipped_gradient(&model, &params, &xi, &yi, 1e9).unwrap();
            assert!((norm(&unclipped.gradient) - raw).abs() < 1e-4 * raw);
            for (c, u) in big.gradient.iter().zip(&unclipped.gradient) {
                assert!(c.allclose(&(u * (0.5 / raw)), 1e-5, 1e-7, false));
            }
        }
        assert!(
            params.iter().all(|p| !p.grad().defined()),
            "no .grad written"
        );
    }

    /// σ = 0 and a C no gradient reaches: the private step is the ordinary
    /// SGD step on the batch's mean loss.
    #[test]
    fn without_noise_or_clipping_it_is_plain_sgd() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(11);
        let build = |vs: &nn::VarStore| {
            let root = vs.root();
            nn::seq()
                .add(nn::linear(&root / "a", 4, 8, Default::default()))
                .add_fn(|x| x.relu())
                .add(nn::linear(&root / "b", 8, 3, Default::default()))
        };
        let (vs_dp, mut vs_sgd) = (
            nn::VarStore::new(Device::Cpu),
            nn::VarStore::new(Device::Cpu),
        );
        let (dp_model, sgd_model) = (build(&vs_dp), build(&vs_sgd));
        vs_sgd.copy(&vs_dp).unwrap();
        let (x, y) = data(16, 4, 1.0);
        let before = vs_dp.variables()["a.weight"].copy();
        let mut dp = DpSgd::new(config(1e6, 0.0, 16), 100).unwrap();
        let mut opt_dp = nn::Sgd::default().build(&vs_dp, 0.1).unwrap();
        let stats = dp.step_on_batch(&dp_model, &mut opt_dp, &x, &y).unwrap();
        let mut opt_sgd = nn::Sgd::default().build(&vs_sgd, 0.1).unwrap();
        let loss = sgd_model.forward(&x).cross_entropy_for_logits(&y);
        opt_sgd.backward_step(&loss);
        assert!((stats.mean_loss - loss.double_value(&[])).abs() < 1e-6);
        assert_eq!((stats.examples, stats.clipped), (16, 0));
        let (dp_vars, sgd_vars) = (vs_dp.variables(), vs_sgd.variables());
        for (name, p) in &dp_vars {
            assert!(p.allclose(&sgd_vars[name], 1e-5, 1e-7, false), "{name}");
        }
        assert!(
            !dp_vars["a.weight"].allclose(&before, 1e-5, 1e-7, false),
            "it moved"
        );
    }

    /// The noise on each coordinate has standard deviation σC / B: checked
    /// on 5 050 coordinates (the standard error of the sample deviation is
    /// 1%, the tolerance 4%).
    #[test]
    fn noise_has_the_promised_deviation() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(12);
        let vs = nn::VarStore::new(Device::Cpu);
        let model = nn::linear(vs.root(), 100, 50, Default::default());
        let params = vs.trainable_variables();
        let (x, y) = data(4, 100, 1.0);
        let (sigma, c, b) = (1.5, 0.5, 4);
        let noisy = DpSgd::new(config(c, sigma, b), 100).unwrap();
        let clean = DpSgd::new(config(c, 0.0, b), 100).unwrap();
        let (with, _) = noisy.noisy_gradient(&model, &params, &x, &y).unwrap();
        let (without, _) = clean.noisy_gradient(&model, &params, &x, &y).unwrap();
        let diff = Tensor::cat(
            &with
                .iter()
                .zip(&without)
                .map(|(a, b)| (a - b).flatten(0, -1))
                .collect::<Vec<_>>(),
            0,
        );
        assert_eq!(diff.numel(), 5050);
        let expected = sigma * c / b as f64;
        let std = diff.std(true).double_value(&[]);
        let mean = diff.mean(Kind::Double).double_value(&[]);
        assert!(
            (std / expected - 1.0).abs() < 0.04,
            "std {std} vs {expected}"
        );
        assert!(mean.abs() < 4.0 * expected / 5050f64.sqrt(), "mean {mean}");
    }

    /// Poisson batches average the expected size, every step is accounted,
    /// and a seed repeats the whole run.
    #[test]
    fn training_is_poisson_sampled_accounted_and_reproducible() {
        let _rng = crate::torch_rng_lock();
        let run = |seed| {
            crate::seed_all(seed);
            let vs = nn::VarStore::new(Device::Cpu);
            let model = nn::linear(vs.root(), 4, 3, Default::default());
            let (x, y) = data(400, 4, 1.0);
            let mut opt = nn::Sgd::default().build(&vs, 0.1).unwrap();
            let mut dp = DpSgd::new(config(1.0, 1.0, 20), 400).unwrap();
            let mut drawn = 0;
            for _ in 0..5 {
                drawn += dp.epoch(&model, &mut opt, &x, &y).unwrap().examples;
            }
            (drawn, dp, vs.root().get("weight").unwrap())
        };
        let (drawn, dp, weights) = run(1);
        // 100 steps of Binomial(400, 0.05): mean 20, standard error 0.44.
        let mean = drawn as f64 / 100.0;
        assert!((mean - 20.0).abs() < 2.0, "mean batch {mean}");
        assert_eq!(dp.accountant().steps(), 100);
        let mut expected = RdpAccountant::new(0.05, 1.0).unwrap();
        expected.step(100);
        assert_eq!(dp.epsilon(1e-5).unwrap(), expected.epsilon(1e-5).unwrap());
        assert!(weights.equal(&run(1).2));
        assert!(!weights.equal(&run(2).2));
    }

    #[test]
    fn rejects_bad_settings_and_data() {
        let _rng = crate::torch_rng_lock();
        assert!(DpSgd::new(config(0.0, 1.0, 10), 100).is_err());
        assert!(DpSgd::new(config(1.0, -1.0, 10), 100).is_err());
        assert!(DpSgd::new(config(1.0, 1.0, 0), 100).is_err());
        assert!(DpSgd::new(config(1.0, 1.0, 101), 100).is_err());
        let vs = nn::VarStore::new(Device::Cpu);
        let model = nn::linear(vs.root(), 4, 3, Default::default());
        let mut opt = nn::Sgd::default().build(&vs, 0.1).unwrap();
        let mut dp = DpSgd::new(config(1.0, 1.0, 10), 100).unwrap();
        let (x, y) = data(50, 4, 1.0);
        assert!(
            dp.step(&model, &mut opt, &x, &y).is_err(),
            "not the whole dataset"
        );
        assert_eq!(dp.accountant().steps(), 0);
    }
}
