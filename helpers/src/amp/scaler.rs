//! Dynamic loss scaling for `fp16` training: PyTorch's `GradScaler`.

use tch::nn::{Optimizer, VarStore};
use tch::{Kind, Tensor};

use crate::{Error, Result};

/// Dynamic loss scaling, like PyTorch's `torch.amp.GradScaler`.
///
/// `fp16` cannot represent magnitudes below about 6e-8, and many gradients
/// are that small: computed in `fp16`, they become 0 and those weights stop
/// learning. The scaler multiplies the loss by a large factor `S` before
/// `backward`, so every gradient is `S` times larger and survives; before
/// the optimizer step it divides the gradients by `S` again, so the update
/// is the one `fp32` would make.
///
/// `S` is chosen on the fly. When a step produces an infinite or NaN
/// gradient (the scaled values overflowed `fp16`'s maximum of 65,504), the
/// step is skipped and `S` is halved; after `growth_interval` good steps in
/// a row, `S` is doubled to probe for more headroom. With PyTorch's defaults
/// (`S` = 65,536, growth every 2,000 steps) the first few steps are usually
/// skipped while `S` settles.
///
/// ```
/// use aiguide::amp::GradScaler;
/// use tch::{nn, nn::Module, nn::OptimizerConfig, Device, Kind, Tensor};
/// let vs = nn::VarStore::new(Device::Cpu);
/// let layer = nn::linear(vs.root(), 3, 1, Default::default());
/// let mut opt = nn::Sgd::default().build(&vs, 0.1)?;
/// let mut scaler = GradScaler::default();
/// let x = Tensor::ones([4, 3], (Kind::Float, Device::Cpu));
/// let loss = layer.forward(&x).pow_tensor_scalar(2).mean(Kind::Float);
/// let stepped = scaler.backward_step(&mut opt, &vs, &loss)?;
/// assert!(stepped && scaler.scale() == 65536.0);
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct GradScaler {
    scale: f64,
    growth_interval: usize,
    good_steps: usize,
    skipped_steps: usize,
}

/// Factor applied to the scale after `growth_interval` good steps.
const GROWTH: f64 = 2.0;
/// Factor applied to the scale after a step with non-finite gradients.
const BACKOFF: f64 = 0.5;

impl Default for GradScaler {
    /// PyTorch's defaults: scale 2^16, doubled after 2,000 good steps.
    fn default() -> GradScaler {
        GradScaler {
            scale: 65536.0,
            growth_interval: 2000,
            good_steps: 0,
            skipped_steps: 0,
        }
    }
}

impl GradScaler {
    /// A scaler starting at `init_scale` (> 0) that doubles it after
    /// `growth_interval` (>= 1) good steps in a row.
    pub fn new(init_scale: f64, growth_interval: usize) -> Result<GradScaler> {
        if !(init_scale > 0.0 && init_scale.is_finite()) {
            return Err(Error::InvalidArgument(format!(
                "GradScaler: init_scale must be a positive number, got {init_scale}"
            )));
        }
        if growth_interval == 0 {
            return Err(Error::InvalidArgument(
                "GradScaler: growth_interval must be at least 1".into(),
            ));
        }
        Ok(GradScaler {
            scale: init_scale,
            growth_interval,
            ..GradScaler::default()
        })
    }

    /// The current scale factor `S`.
    pub fn scale(&self) -> f64 {
        self.scale
    }

    /// How many optimizer steps were skipped because of overflow so far.
    pub fn skipped_steps(&self) -> usize {
        self.skipped_steps
    }

    /// `loss * S`, to call `backward` on (PyTorch's `scaler.scale(loss)`).
    pub fn scale_loss(&self, loss: &Tensor) -> Tensor {
        loss * self.scale
    }

    /// Divides the gradients of `vs`'s trainable variables by `S`; if all are
    /// finite, runs `optimizer.step()`, otherwise skips it. Then updates `S`
    /// (PyTorch's `scaler.step(optimizer)` followed by `scaler.update()`).
    /// Returns whether the optimizer stepped.
    pub fn step(&mut self, optimizer: &mut Optimizer, vs: &VarStore) -> Result<bool> {
        let inverse = 1.0 / self.scale;
        let finite = tch::no_grad(|| -> Result<bool> {
            // Count the tensors with a non-finite entry on the gradients'
            // device, and read the count once: one synchronisation per step.
            let mut bad: Option<Tensor> = None;
            for var in vs.trainable_variables() {
                let mut grad = var.grad();
                if !grad.defined() {
                    continue;
                }
                let _ = grad.f_mul_scalar_(inverse)?;
                let here = grad
                    .f_isfinite()?
                    .f_logical_not()?
                    .f_any()?
                    .f_to_kind(Kind::Int64)?;
                bad = Some(match bad {
                    Some(total) => total.f_add(&here)?,
                    None => here,
                });
            }
            Ok(bad.map_or(0, |t| t.int64_value(&[])) == 0)
        })?;
        if finite {
            optimizer.step();
            self.good_steps += 1;
            if self.good_steps == self.growth_interval {
                self.scale *= GROWTH;
                self.good_steps = 0;
            }
        } else {
            self.skipped_steps += 1;
            self.scale *= BACKOFF;
            self.good_steps = 0;
        }
        Ok(finite)
    }

    /// One whole training step with scaling: zero the gradients, `backward`
    /// on `loss * S`, then [`step`](Self::step). The counterpart of tch's
    /// `optimizer.backward_step(&loss)`.
    pub fn backward_step(
        &mut self,
        optimizer: &mut Optimizer,
        vs: &VarStore,
        loss: &Tensor,
    ) -> Result<bool> {
        optimizer.zero_grad();
        self.scale_loss(loss).f_backward()?;
        self.step(optimizer, vs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tch::Device;
    use tch::nn::{self, OptimizerConfig};

    /// A single weight `w` (start 1.0) and an SGD optimizer with rate 1.
    fn one_weight() -> (VarStore, Tensor, Optimizer) {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[1], nn::Init::Const(1.0));
        let opt = nn::Sgd::default().build(&vs, 1.0).unwrap();
        (vs, w, opt)
    }

    #[test]
    fn overflow_halves_the_scale_and_skips_the_step() {
        let (vs, w, mut opt) = one_weight();
        let mut scaler = GradScaler::new(1024.0, 3).unwrap();
        // d(w * 1e38)/dw = 1e38; times the scale it is infinite in fp32.
        let loss = (&w * 1e38).sum(Kind::Float);
        assert!(!scaler.backward_step(&mut opt, &vs, &loss).unwrap());
        assert_eq!(w.double_value(&[0]), 1.0, "the weight did not move");
        assert_eq!((scaler.scale(), scaler.skipped_steps()), (512.0, 1));
    }

    #[test]
    fn good_steps_grow_the_scale_and_update_unscaled() {
        let (vs, w, mut opt) = one_weight();
        let mut scaler = GradScaler::new(1024.0, 3).unwrap();
        for step in 1..=3 {
            // Gradient 0.5: SGD with rate 1 moves w by exactly 0.5, not 512.
            let before = w.double_value(&[0]);
            let loss = (&w * 0.5).sum(Kind::Float);
            assert!(scaler.backward_step(&mut opt, &vs, &loss).unwrap());
            assert_eq!(before - w.double_value(&[0]), 0.5);
            let expected = if step < 3 { 1024.0 } else { 2048.0 };
            assert_eq!(scaler.scale(), expected, "after step {step}");
        }
        // An overflow resets the run of good steps.
        let loss = (&w * f64::INFINITY).sum(Kind::Float);
        assert!(!scaler.backward_step(&mut opt, &vs, &loss).unwrap());
        for _ in 0..2 {
            let loss = (&w * 0.5).sum(Kind::Float);
            scaler.backward_step(&mut opt, &vs, &loss).unwrap();
        }
        assert_eq!(scaler.scale(), 1024.0, "two good steps are not yet three");
    }

    #[test]
    fn scaling_rescues_fp16_gradients() {
        // A gradient of 1e-8 is 0 in fp16; scaled by 2^16 it is representable.
        let g = Tensor::from_slice(&[1e-8f32]);
        assert_eq!(g.to_kind(Kind::Half).double_value(&[0]), 0.0);
        let scaled = (&g * 65536.0).to_kind(Kind::Half).to_kind(Kind::Float) / 65536.0;
        assert!((scaled.double_value(&[0]) - 1e-8).abs() < 1e-10);
    }

    #[test]
    fn bad_settings_are_errors() {
        assert!(GradScaler::new(0.0, 10).is_err());
        assert!(GradScaler::new(f64::NAN, 10).is_err());
        assert!(GradScaler::new(8.0, 0).is_err());
    }
}
