//! Adversarial examples: inputs changed by an amount too small to matter to
//! a person that change a classifier's answer.
//!
//! Both attacks here are white-box and bounded in the L∞ norm: every pixel
//! moves by at most `epsilon`, and pixels stay in `[0, 1]`.
//!
//! - FGSM (Goodfellow, Shlens and Szegedy, 2015, "Explaining and Harnessing
//!   Adversarial Examples") takes one step of size `epsilon` along the sign
//!   of the loss gradient: the best step within the L∞ ball if the loss
//!   were linear in the input.
//! - PGD (Madry et al., 2018, "Towards Deep Learning Models Resistant to
//!   Adversarial Attacks") repeats smaller signed steps from a random point
//!   of the ball, projecting back onto the ball after each: a stronger attack
//!   on a model that is not linear.
//!
//! The model is any `tch` classifier that returns logits; it is run in
//! evaluation mode (`forward_t(x, false)`: no dropout, batch norm's running
//! statistics). The caller's contract: images are in `[0, 1]`, as
//! [`mnist`](crate::data::mnist) returns them; a model trained on
//! normalised images must normalise inside its `forward_t`.

use tch::nn::ModuleT;
use tch::{Kind, Reduction, Tensor};

use crate::train::{accuracy, batches};
use crate::{Error, Result};

/// Fast gradient sign method: `x + epsilon * sign(∇x loss)`, clamped to
/// `[0, 1]`, for images `x` `[N, ...]` in `[0, 1]` with true classes `y`
/// (Int64 `[N]`). The loss is the cross-entropy of the model's logits.
///
/// The result is detached; the model's parameters get no gradient.
pub fn fgsm(model: &dyn ModuleT, x: &Tensor, y: &Tensor, epsilon: f64) -> Result<Tensor> {
    check_batch("fgsm", x, y)?;
    check_epsilon("fgsm", epsilon)?;
    let grad = input_gradient(model, x, y)?;
    Ok(x.f_add(&grad.f_sign()?.f_mul_scalar(epsilon)?)?
        .f_clamp(0.0, 1.0)?)
}

/// Settings of projected gradient descent ([`pgd`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pgd {
    /// Radius of the L∞ ball around the clean image.
    pub epsilon: f64,
    /// Size of each signed gradient step.
    pub step_size: f64,
    /// Number of steps.
    pub steps: usize,
    /// Whether to start from a uniformly random point of the ball (drawn
    /// from libtorch's generator: `tch::manual_seed` or
    /// [`seed_all`](crate::seed_all) make it reproducible) rather than
    /// from the clean image.
    pub random_start: bool,
}

impl Pgd {
    /// Madry et al.'s attack with 10 steps: a random start and the usual
    /// step of `2.5 * epsilon / steps`, long enough for the walk to cross
    /// the ball from any start. (Their MNIST model was trained against 40
    /// steps of 0.01 at epsilon 0.3; 10 steps cost a quarter of that.)
    pub fn madry(epsilon: f64) -> Pgd {
        let steps = 10;
        Pgd {
            epsilon,
            step_size: 2.5 * epsilon / steps as f64,
            steps,
            random_start: true,
        }
    }
}

/// Projected gradient descent (ascent on the loss): from `x`, or a random
/// point within `epsilon` of it, `steps` times: step `step_size` along the
/// sign of the loss gradient, then clip back into the L∞ ball of radius
/// `epsilon` around `x` and into `[0, 1]`.
///
/// Same inputs and guarantees as [`fgsm`].
pub fn pgd(model: &dyn ModuleT, x: &Tensor, y: &Tensor, settings: &Pgd) -> Result<Tensor> {
    check_batch("pgd", x, y)?;
    check_epsilon("pgd", settings.epsilon)?;
    if !(settings.step_size > 0.0 && settings.step_size.is_finite()) || settings.steps == 0 {
        return Err(Error::InvalidArgument(format!(
            "pgd: need a positive step size and at least one step, got step size {} and {} \
             steps (Pgd::madry(epsilon) gives the usual settings)",
            settings.step_size, settings.steps
        )));
    }
    let eps = settings.epsilon;
    let (low, high) = (
        x.f_sub_scalar(eps)?.f_clamp_min(0.0)?,
        x.f_add_scalar(eps)?.f_clamp_max(1.0)?,
    );
    let mut adv = if settings.random_start {
        let noise = x
            .f_rand_like()?
            .f_mul_scalar(2.0 * eps)?
            .f_sub_scalar(eps)?;
        x.f_add(&noise)?.f_clamp(0.0, 1.0)?
    } else {
        x.f_detach()?
    };
    for _ in 0..settings.steps {
        let grad = input_gradient(model, &adv, y)?;
        adv = adv
            .f_add(&grad.f_sign()?.f_mul_scalar(settings.step_size)?)?
            .f_maximum(&low)?
            .f_minimum(&high)?;
    }
    Ok(adv)
}

/// An attack to evaluate a model under ([`robust_accuracy`]).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Attack {
    /// Clean images.
    None,
    /// [`fgsm`] with this epsilon.
    Fgsm(f64),
    /// [`pgd`] with these settings.
    Pgd(Pgd),
}

impl Attack {
    /// The attacked images of a batch (a detached copy of `x` for
    /// [`Attack::None`]).
    pub fn perturb(&self, model: &dyn ModuleT, x: &Tensor, y: &Tensor) -> Result<Tensor> {
        match self {
            Attack::None => {
                check_batch("Attack::None", x, y)?;
                Ok(x.f_detach()?)
            }
            Attack::Fgsm(epsilon) => fgsm(model, x, y, *epsilon),
            Attack::Pgd(settings) => pgd(model, x, y, settings),
        }
    }
}

/// The fraction of `x` (images `[N, ...]` in `[0, 1]`) that `model` still
/// classifies as `y` after `attack`, attacking `batch_size` images at a
/// time so that a whole test set fits in memory (the attack's gradients
/// are kept for one batch only).
pub fn robust_accuracy(
    model: &dyn ModuleT,
    x: &Tensor,
    y: &Tensor,
    attack: &Attack,
    batch_size: i64,
) -> Result<f64> {
    check_batch("robust_accuracy", x, y)?;
    if batch_size < 1 {
        return Err(Error::InvalidArgument(format!(
            "robust_accuracy: batch size must be >= 1, got {batch_size}"
        )));
    }
    let mut correct = 0.0;
    for (xb, yb) in batches(x, y, batch_size, false)? {
        let attacked = attack.perturb(model, &xb, &yb)?;
        let logits = tch::no_grad(|| model.forward_t(&attacked, false));
        correct += accuracy(&logits, &yb)? * yb.size()[0] as f64;
    }
    Ok(correct / x.size()[0] as f64)
}

/// `∇x` of the summed cross-entropy, computed with `autograd.grad`
/// semantics: only the input's gradient is returned and nothing is
/// accumulated into the parameters' `.grad`. (Summed, not averaged, so
/// that a large batch cannot shrink a gradient to zero and its sign with it.)
fn input_gradient(model: &dyn ModuleT, x: &Tensor, y: &Tensor) -> Result<Tensor> {
    tch::with_grad(|| {
        let input = x.f_detach()?.set_requires_grad(true);
        let logits = model.forward_t(&input, false);
        let loss = logits.f_cross_entropy_loss::<Tensor>(y, None, Reduction::Sum, -100, 0.0)?;
        let mut grads = Tensor::f_run_backward(&[&loss], &[&input], false, false)?;
        Ok(grads.remove(0))
    })
}

/// `x` `[N, ...]` floats and `y` Int64 class indices `[N]`, N >= 1.
fn check_batch(what: &str, x: &Tensor, y: &Tensor) -> Result<()> {
    let (xs, ys) = (x.size(), y.size());
    if xs.is_empty() || xs[0] == 0 || ys != [xs[0]] {
        return Err(Error::InvalidArgument(format!(
            "{what}: need images [N, ...] and labels [N] with N >= 1, got {xs:?} and {ys:?}"
        )));
    }
    if !x.is_floating_point() || y.kind() != Kind::Int64 {
        return Err(Error::InvalidArgument(format!(
            "{what}: images must be floats in [0, 1] and labels Int64 class indices, got {:?} \
             and {:?}",
            x.kind(),
            y.kind()
        )));
    }
    Ok(())
}

fn check_epsilon(what: &str, epsilon: f64) -> Result<()> {
    if !(epsilon >= 0.0 && epsilon.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "{what}: epsilon must be finite and >= 0 (a distance in pixel units, images in \
             [0, 1]), got {epsilon}"
        )));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::nn::{self, Module, OptimizerConfig};
    use tch::{Device, Kind};

    /// A linear classifier `W x + b` with the given weights `[classes][features]`.
    fn linear(vs: &nn::VarStore, w: &[&[f32]], b: &[f32]) -> nn::Linear {
        let (out, inp) = (w.len() as i64, w[0].len() as i64);
        let mut layer = nn::linear(vs.root(), inp, out, Default::default());
        tch::no_grad(|| {
            let flat: Vec<f32> = w.iter().flat_map(|r| r.iter().copied()).collect();
            layer.ws.copy_(&Tensor::from_slice(&flat).view([out, inp]));
            layer.bs.as_mut().unwrap().copy_(&Tensor::from_slice(b));
        });
        layer
    }

    fn values(t: &Tensor) -> Vec<f32> {
        Vec::<f32>::try_from(&t.flatten(0, -1)).unwrap()
    }

    /// For `z = W x + b`, `∂CE/∂x = Σ_c (softmax(z)_c - [c = y]) W_c`: the
    /// FGSM direction worked out by hand, away from and at the box's edges.
    #[test]
    fn fgsm_on_a_linear_model_follows_the_closed_form() {
        let w: [&[f32]; 3] = [
            &[1.0, -2.0, 0.5, 0.0],
            &[-1.0, 1.0, 2.0, -0.5],
            &[0.5, 0.5, -1.0, 1.0],
        ];
        let b = [0.1f32, -0.2, 0.0];
        let vs = nn::VarStore::new(Device::Cpu);
        let model = linear(&vs, &w, &b);
        let rows = [[0.5f32, 0.5, 0.5, 0.5], [0.0, 1.0, 0.95, 0.02]];
        let labels = [1i64, 2];
        let x = Tensor::from_slice(rows.as_flattened()).view([2, 4]);
        let y = Tensor::from_slice(&labels);
        let eps = 0.1;
        let adv = values(&fgsm(&model, &x, &y, eps).unwrap());
        for (r, (row, &label)) in rows.iter().zip(&labels).enumerate() {
            let z: Vec<f64> = (0..3)
                .map(|c| b[c] as f64 + (0..4).map(|k| (w[c][k] * row[k]) as f64).sum::<f64>())
                .collect();
            let total: f64 = z.iter().map(|v| v.exp()).sum();
            for k in 0..4 {
                let g: f64 = (0..3)
                    .map(|c| (z[c].exp() / total - f64::from(c == label as usize)) * w[c][k] as f64)
                    .sum();
                let expected = (row[k] as f64 + eps * g.signum()).clamp(0.0, 1.0);
                assert!(
                    (adv[4 * r + k] as f64 - expected).abs() < 1e-6,
                    "row {r} pixel {k}"
                );
            }
        }
    }

    /// A small MLP trained briefly on three blobs in [0, 1]^8, so that its
    /// loss surface is not linear; its gradients are left at zero.
    fn trained_mlp(vs: &nn::VarStore) -> (nn::Sequential, Tensor, Tensor) {
        let root = vs.root();
        let model = nn::seq()
            .add(nn::linear(&root / "l1", 8, 32, Default::default()))
            .add_fn(|x| x.tanh())
            .add(nn::linear(&root / "l2", 32, 3, Default::default()));
        let y = Tensor::arange(96, (Kind::Int64, Device::Cpu)).remainder(3);
        let centres = y.to_kind(Kind::Float).unsqueeze(1) * 0.3 + 0.2;
        let x =
            (centres + Tensor::randn([96, 8], (Kind::Float, Device::Cpu)) * 0.15).clamp(0.0, 1.0);
        let mut opt = nn::Adam::default().build(vs, 1e-2).unwrap();
        for _ in 0..200 {
            let loss = model.forward(&x).cross_entropy_for_logits(&y);
            opt.backward_step(&loss);
        }
        opt.zero_grad();
        (model, x, y)
    }

    fn mean_loss(model: &dyn ModuleT, x: &Tensor, y: &Tensor) -> f64 {
        tch::no_grad(|| model.forward_t(x, false).cross_entropy_for_logits(y)).double_value(&[])
    }

    #[test]
    fn attacks_stay_in_the_ball_and_the_box_and_pgd_beats_fgsm() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(3);
        let vs = nn::VarStore::new(Device::Cpu);
        let (model, x, y) = trained_mlp(&vs);
        let clean = mean_loss(&model, &x, &y);
        for eps in [0.05, 0.2] {
            let by_fgsm = fgsm(&model, &x, &y, eps).unwrap();
            let by_pgd = pgd(&model, &x, &y, &Pgd::madry(eps)).unwrap();
            for adv in [&by_fgsm, &by_pgd] {
                let moved = (adv - &x).abs().max().double_value(&[]);
                assert!(moved <= eps + 1e-6, "moved {moved} > {eps}");
                assert!(adv.min().double_value(&[]) >= 0.0 && adv.max().double_value(&[]) <= 1.0);
            }
            let (f, p) = (
                mean_loss(&model, &by_fgsm, &y),
                mean_loss(&model, &by_pgd, &y),
            );
            assert!(
                clean < f && f < p,
                "eps {eps}: clean {clean}, FGSM {f}, PGD {p}"
            );
        }
        // The parameters received no gradient.
        assert!(vs.trainable_variables().iter().all(
            |p| !p.grad().defined() || p.grad().abs().sum(Kind::Float).double_value(&[]) == 0.0
        ));
    }

    #[test]
    fn epsilon_zero_changes_nothing() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(4);
        let vs = nn::VarStore::new(Device::Cpu);
        let (model, x, y) = trained_mlp(&vs);
        assert!(fgsm(&model, &x, &y, 0.0).unwrap().equal(&x));
        let zero = Pgd {
            step_size: 0.1,
            ..Pgd::madry(0.0)
        };
        assert!(pgd(&model, &x, &y, &zero).unwrap().equal(&x));
        assert_eq!(
            robust_accuracy(&model, &x, &y, &Attack::Fgsm(0.0), 10).unwrap(),
            robust_accuracy(&model, &x, &y, &Attack::None, 1000).unwrap()
        );
    }

    #[test]
    fn random_starts_repeat_under_the_same_seed() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(5);
        let vs = nn::VarStore::new(Device::Cpu);
        let (model, x, y) = trained_mlp(&vs);
        let run = |seed| {
            tch::manual_seed(seed);
            pgd(&model, &x, &y, &Pgd::madry(0.1)).unwrap()
        };
        assert!(run(1).equal(&run(1)));
        assert!(!run(1).equal(&run(2)));
    }

    #[test]
    fn robust_accuracy_matches_a_direct_count_whatever_the_batch_size() {
        let _rng = crate::torch_rng_lock();
        crate::seed_all(6);
        let vs = nn::VarStore::new(Device::Cpu);
        let (model, x, y) = trained_mlp(&vs);
        let clean = robust_accuracy(&model, &x, &y, &Attack::None, 7).unwrap();
        let logits = tch::no_grad(|| model.forward(&x));
        assert_eq!(clean, crate::train::accuracy(&logits, &y).unwrap());
        let attacked = fgsm(&model, &x, &y, 0.2).unwrap();
        let direct =
            crate::train::accuracy(&tch::no_grad(|| model.forward(&attacked)), &y).unwrap();
        for batch in [1, 7, 96, 500] {
            let robust = robust_accuracy(&model, &x, &y, &Attack::Fgsm(0.2), batch).unwrap();
            assert_eq!(robust, direct, "batch {batch}");
        }
        assert!(direct < clean);
    }

    #[test]
    fn rejects_bad_inputs() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let model = nn::linear(vs.root(), 4, 2, Default::default());
        let x = Tensor::zeros([3, 4], (Kind::Float, Device::Cpu));
        let y = Tensor::zeros([3], (Kind::Int64, Device::Cpu));
        assert!(fgsm(&model, &x, &y, -0.1).is_err());
        assert!(fgsm(&model, &x, &y, f64::NAN).is_err());
        assert!(fgsm(&model, &x, &y.narrow(0, 0, 2), 0.1).is_err());
        assert!(fgsm(&model, &x, &y.to_kind(Kind::Float), 0.1).is_err());
        let no_steps = Pgd {
            steps: 0,
            ..Pgd::madry(0.1)
        };
        assert!(pgd(&model, &x, &y, &no_steps).is_err());
        assert!(robust_accuracy(&model, &x, &y, &Attack::None, 0).is_err());
    }
}
