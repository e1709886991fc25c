//! Dynamic loss scaling for `fp16` training: PyTorch's `GradScaler`.

use std::path::Path;

use tch::nn::{Optimizer, VarStore};
use tch::{Device, Kind, Tensor};

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
/// (`S` = 65,536, growth every 2,000 steps) the first few steps are often
/// skipped while `S` settles.
///
/// A step has PyTorch's order, and the methods have PyTorch's names:
///
/// 1. [`scale_loss`](Self::scale_loss) and `backward` (`scaler.scale(loss).backward()`);
/// 2. optionally [`unscale_`](Self::unscale_), to work on the true gradients,
///    for example to clip them (clipping the scaled gradients would clip at
///    `S` times the wrong threshold);
/// 3. [`step`](Self::step): unscales if step 2 did not, and runs the
///    optimizer unless a gradient is infinite or NaN;
/// 4. [`update`](Self::update): halves `S` after a skipped step, doubles it
///    after `growth_interval` good ones.
///
/// [`backward_step`](Self::backward_step) does all of it for the common case.
/// [`state`](Self::state) / [`load_state`](Self::load_state) (and
/// [`save`](Self::save) / [`load`](Self::load) for files) carry the scale
/// across a checkpoint, so a resumed run does not start again at 65,536 and
/// skip its first steps.
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
/// opt.zero_grad();
/// scaler.scale_loss(&loss).backward();
/// scaler.unscale_(&vs)?;          // the gradients are true gradients again
/// opt.clip_grad_norm(1.0);        // so clipping means what it says
/// let stepped = scaler.step(&mut opt, &vs)?;
/// scaler.update()?;
/// assert!(stepped && scaler.scale() == 65536.0);
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Debug)]
pub struct GradScaler {
    scale: f64,
    growth_interval: usize,
    /// Good steps in a row since the scale last changed (PyTorch's
    /// `_growth_tracker`).
    good_steps: usize,
    skipped_steps: usize,
    stage: Stage,
}

/// Where the scaler is within one optimizer step.
#[derive(Debug)]
enum Stage {
    /// Before `unscale_`/`step`: gradients (if any) are still scaled.
    Scaled,
    /// After `unscale_`: the number of gradient tensors with a non-finite
    /// entry, counted on the gradients' device (`None`: no gradients).
    Unscaled(Option<Tensor>),
    /// After `step`: whether the optimizer stepped.
    Stepped(bool),
}

impl Clone for GradScaler {
    fn clone(&self) -> GradScaler {
        GradScaler {
            stage: match &self.stage {
                Stage::Scaled => Stage::Scaled,
                Stage::Unscaled(bad) => Stage::Unscaled(bad.as_ref().map(Tensor::shallow_clone)),
                Stage::Stepped(stepped) => Stage::Stepped(*stepped),
            },
            ..*self
        }
    }
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
            stage: Stage::Scaled,
        }
    }
}

/// What a [`GradScaler`] must remember across a checkpoint (PyTorch's
/// `scaler.state_dict()`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct GradScalerState {
    /// The current scale factor `S`.
    pub scale: f64,
    /// Good steps in a row after which `S` doubles.
    pub growth_interval: usize,
    /// Good steps in a row so far.
    pub growth_tracker: usize,
    /// Steps skipped so far (for reporting).
    pub skipped_steps: usize,
}

impl GradScaler {
    /// A scaler starting at `init_scale` (> 0) that doubles it after
    /// `growth_interval` (>= 1) good steps in a row.
    pub fn new(init_scale: f64, growth_interval: usize) -> Result<GradScaler> {
        check_settings(init_scale, growth_interval)?;
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

    /// Divides the gradients of `vs`'s trainable variables by `S` in place,
    /// and notes (on their device, without waiting for it) whether any is
    /// infinite or NaN. Call it between `backward` and [`step`](Self::step)
    /// when you need the true gradients, e.g. to clip them; at most once per
    /// step.
    ///
    /// Gradients of `fp16` weights are refused, as in PyTorch: dividing them
    /// in `fp16` would flush to zero exactly the small values the scaling
    /// protects. Keep the weights in `fp32` and let
    /// [`autocast`](super::autocast) compute in `fp16`; `bf16` weights are
    /// accepted.
    pub fn unscale_(&mut self, vs: &VarStore) -> Result<()> {
        if !matches!(self.stage, Stage::Scaled) {
            return Err(Error::InvalidArgument(
                "GradScaler::unscale_: already called for this step; call update() after step() \
                 before the next one"
                    .into(),
            ));
        }
        let inverse = 1.0 / self.scale;
        let bad = tch::no_grad(|| -> Result<Option<Tensor>> {
            // Count the tensors with a non-finite entry on the gradients'
            // device; `step` reads the count once: one synchronisation per step.
            let mut bad: Option<Tensor> = None;
            for (name, var) in vs.variables() {
                let mut grad = var.grad();
                if !var.requires_grad() || !grad.defined() {
                    continue;
                }
                if grad.kind() == Kind::Half {
                    return Err(Error::InvalidArgument(format!(
                        "GradScaler::unscale_: `{name}` has an fp16 gradient. Keep the weights in \
                         fp32 (autocast computes in fp16 and delivers fp32 gradients), as \
                         PyTorch's GradScaler requires"
                    )));
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
            Ok(bad)
        })?;
        self.stage = Stage::Unscaled(bad);
        Ok(())
    }

    /// Unscales the gradients (unless [`unscale_`](Self::unscale_) already
    /// did), then runs `optimizer.step()` if they are all finite and skips it
    /// otherwise (PyTorch's `scaler.step(optimizer)`). Returns whether the
    /// optimizer stepped. Call [`update`](Self::update) next.
    pub fn step(&mut self, optimizer: &mut Optimizer, vs: &VarStore) -> Result<bool> {
        if matches!(self.stage, Stage::Stepped(_)) {
            return Err(Error::InvalidArgument(
                "GradScaler::step: already stepped; call update() first".into(),
            ));
        }
        if matches!(self.stage, Stage::Scaled) {
            self.unscale_(vs)?;
        }
        let finite = match &self.stage {
            Stage::Unscaled(bad) => bad.as_ref().map_or(Ok(0), |b| b.f_int64_value(&[]))? == 0,
            _ => unreachable!("unscaled just above"),
        };
        if finite {
            optimizer.step();
        }
        self.stage = Stage::Stepped(finite);
        Ok(finite)
    }

    /// Adjusts `S` after [`step`](Self::step) (PyTorch's `scaler.update()`):
    /// halves it if the step was skipped, doubles it after `growth_interval`
    /// good steps in a row.
    pub fn update(&mut self) -> Result<()> {
        let Stage::Stepped(stepped) = self.stage else {
            return Err(Error::InvalidArgument(
                "GradScaler::update: no step() since the last update".into(),
            ));
        };
        if stepped {
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
        self.stage = Stage::Scaled;
        Ok(())
    }

    /// One whole training step with scaling: zero the gradients, `backward`
    /// on `loss * S`, [`step`](Self::step) and [`update`](Self::update). The
    /// counterpart of tch's `optimizer.backward_step(&loss)`; returns whether
    /// the optimizer stepped.
    pub fn backward_step(
        &mut self,
        optimizer: &mut Optimizer,
        vs: &VarStore,
        loss: &Tensor,
    ) -> Result<bool> {
        optimizer.zero_grad();
        self.scale_loss(loss).f_backward()?;
        let stepped = self.step(optimizer, vs)?;
        self.update()?;
        Ok(stepped)
    }

    /// The scaler's state, to checkpoint with the model and optimizer.
    pub fn state(&self) -> GradScalerState {
        GradScalerState {
            scale: self.scale,
            growth_interval: self.growth_interval,
            growth_tracker: self.good_steps,
            skipped_steps: self.skipped_steps,
        }
    }

    /// Continues from a checkpointed `state` (PyTorch's
    /// `scaler.load_state_dict`). Any step in progress is forgotten.
    pub fn load_state(&mut self, state: GradScalerState) -> Result<()> {
        check_settings(state.scale, state.growth_interval)?;
        if state.growth_tracker >= state.growth_interval {
            return Err(Error::InvalidArgument(format!(
                "GradScaler: growth_tracker {} must be below growth_interval {}",
                state.growth_tracker, state.growth_interval
            )));
        }
        *self = GradScaler {
            scale: state.scale,
            growth_interval: state.growth_interval,
            good_steps: state.growth_tracker,
            skipped_steps: state.skipped_steps,
            stage: Stage::Scaled,
        };
        Ok(())
    }

    /// Writes [`state`](Self::state) to `path` in libtorch's format (next to
    /// `vs.save(...)` in a checkpoint).
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let s = self.state();
        let int = |v: usize| Tensor::from(v as i64);
        let named = [
            ("scale", Tensor::from(s.scale)),
            ("growth_interval", int(s.growth_interval)),
            ("growth_tracker", int(s.growth_tracker)),
            ("skipped_steps", int(s.skipped_steps)),
        ];
        Tensor::save_multi(&named, path.as_ref())?;
        Ok(())
    }

    /// A scaler continuing from a state written by [`save`](Self::save).
    pub fn load(path: impl AsRef<Path>) -> Result<GradScaler> {
        let path = path.as_ref();
        let named = Tensor::load_multi_with_device(path, Device::Cpu)?;
        let get = |key: &str| -> Result<&Tensor> {
            named
                .iter()
                .find(|(n, _)| n == key)
                .map(|(_, t)| t)
                .ok_or_else(|| Error::corrupt(path, format!("not a GradScaler state: no `{key}`")))
        };
        let count = |key: &str| -> Result<usize> {
            let v = get(key)?.f_int64_value(&[])?;
            usize::try_from(v).map_err(|_| Error::corrupt(path, format!("`{key}` is {v}")))
        };
        let mut scaler = GradScaler::default();
        scaler.load_state(GradScalerState {
            scale: get("scale")?.f_double_value(&[])?,
            growth_interval: count("growth_interval")?,
            growth_tracker: count("growth_tracker")?,
            skipped_steps: count("skipped_steps")?,
        })?;
        Ok(scaler)
    }
}

fn check_settings(scale: f64, growth_interval: usize) -> Result<()> {
    if !(scale > 0.0 && scale.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "GradScaler: the scale must be a positive number, got {scale}"
        )));
    }
    if growth_interval == 0 {
        return Err(Error::InvalidArgument(
            "GradScaler: growth_interval must be at least 1".into(),
        ));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::amp::autocast;
    use tch::nn::{self, Module, OptimizerConfig};

    /// A single weight `w` (start 1.0) and an SGD optimizer with rate 1.
    fn one_weight() -> (VarStore, Tensor, Optimizer) {
        let vs = VarStore::new(Device::Cpu);
        let w = vs.root().var("w", &[1], nn::Init::Const(1.0));
        let opt = nn::Sgd::default().build(&vs, 1.0).unwrap();
        (vs, w, opt)
    }

    /// A bias-free 4 -> 1 linear layer with weights 1, under SGD with rate 1.
    fn unit_layer() -> (VarStore, nn::Linear, Optimizer) {
        let vs = VarStore::new(Device::Cpu);
        let config = nn::LinearConfig {
            ws_init: nn::Init::Const(1.0),
            bias: false,
            ..Default::default()
        };
        let layer = nn::linear(vs.root(), 4, 1, config);
        let opt = nn::Sgd::default().build(&vs, 1.0).unwrap();
        (vs, layer, opt)
    }

    /// `sum(layer(x)) * factor` with the layer computed under autocast in
    /// `kind` (one row of ones: dL/dw = factor, computed in `kind`).
    fn autocast_loss(layer: &nn::Linear, kind: Kind, factor: f64) -> Tensor {
        let x = Tensor::ones([1, 4], (Kind::Float, Device::Cpu));
        let y = autocast(Device::Cpu, kind, || layer.forward(&x)).unwrap();
        assert_eq!(y.kind(), kind);
        y.to_kind(Kind::Float).sum(Kind::Float) * factor
    }

    #[test]
    fn fp16_backward_overflow_skips_the_step_and_bf16_does_not() {
        // With PyTorch's default scale 2^16, dL/dy = 65536 in the fp16
        // backward of the layer: above fp16's 65504, so infinite.
        let (vs, layer, mut opt) = unit_layer();
        let mut scaler = GradScaler::default();
        let loss = autocast_loss(&layer, Kind::Half, 1.0);
        assert!(!scaler.backward_step(&mut opt, &vs, &loss).unwrap());
        assert!(layer.ws.grad().double_value(&[0, 0]).is_infinite());
        assert_eq!(layer.ws.double_value(&[0, 0]), 1.0, "not updated");
        assert_eq!((scaler.scale(), scaler.skipped_steps()), (32768.0, 1));
        // At 2^15 the same step is fine and moves w by exactly 1 (the true gradient).
        let loss = autocast_loss(&layer, Kind::Half, 1.0);
        assert!(scaler.backward_step(&mut opt, &vs, &loss).unwrap());
        assert_eq!(layer.ws.double_value(&[0, 0]), 0.0);

        // bf16 has fp32's range: the default scale never overflows.
        let (vs, layer, mut opt) = unit_layer();
        let mut scaler = GradScaler::default();
        let loss = autocast_loss(&layer, Kind::BFloat16, 1.0);
        assert!(scaler.backward_step(&mut opt, &vs, &loss).unwrap());
        assert_eq!(layer.ws.double_value(&[0, 0]), 0.0);
        assert_eq!(scaler.skipped_steps(), 0);
    }

    #[test]
    fn scaling_keeps_small_fp16_gradients() {
        // dL/dy = 1e-8 is below fp16's smallest subnormal (6e-8): it flushes
        // to 0 in the fp16 backward unless the loss is scaled first.
        let (vs, layer, mut opt) = unit_layer();
        opt.zero_grad();
        autocast_loss(&layer, Kind::Half, 1e-8).backward();
        assert_eq!(layer.ws.grad().abs().max().double_value(&[]), 0.0);

        let mut scaler = GradScaler::new(65536.0 / 4.0, 2000).unwrap();
        opt.zero_grad();
        scaler
            .scale_loss(&autocast_loss(&layer, Kind::Half, 1e-8))
            .backward();
        scaler.unscale_(&vs).unwrap();
        let g = layer.ws.grad();
        assert_eq!(
            g.kind(),
            Kind::Float,
            "fp32 master weights get fp32 gradients"
        );
        let relative = (g / 1e-8 - 1.0).abs().max().double_value(&[]);
        assert!(relative < 1e-3, "relative error {relative}");
    }

    #[test]
    fn unscale_clip_step_update_in_pytorchs_order() {
        let (vs, layer, mut opt) = unit_layer();
        let mut scaler = GradScaler::new(1024.0, 3).unwrap();
        // fp32 reference: dL/dw = 3 for each of the 4 weights, norm 6.
        opt.zero_grad();
        scaler
            .scale_loss(&autocast_loss(&layer, Kind::Half, 3.0))
            .backward();
        assert_eq!(layer.ws.grad().double_value(&[0, 0]), 3.0 * 1024.0);
        scaler.unscale_(&vs).unwrap();
        assert_eq!(layer.ws.grad().double_value(&[0, 0]), 3.0);
        assert!(scaler.unscale_(&vs).is_err(), "once per step");
        opt.clip_grad_norm(1.5);
        let norm = layer.ws.grad().norm().double_value(&[]);
        assert!((norm - 1.5).abs() < 1e-5, "clipped to {norm}");
        assert!(scaler.step(&mut opt, &vs).unwrap());
        assert!(scaler.step(&mut opt, &vs).is_err(), "update() comes first");
        // SGD rate 1 with the clipped gradient 1.5 / 2 per weight.
        assert!((layer.ws.double_value(&[0, 0]) - 0.25).abs() < 1e-5);
        scaler.update().unwrap();
        assert!(scaler.update().is_err(), "no step since");
        assert_eq!(scaler.scale(), 1024.0);
    }

    #[test]
    fn fp16_weights_are_refused_bf16_weights_are_checked() {
        let (mut vs, layer, _) = unit_layer();
        vs.half();
        let mut scaler = GradScaler::default();
        let x = Tensor::ones([1, 4], (Kind::Half, Device::Cpu));
        scaler
            .scale_loss(&layer.forward(&x).sum(Kind::Float))
            .backward();
        let err = scaler.unscale_(&vs).unwrap_err().to_string();
        assert!(
            err.contains("fp16 gradient") && err.contains("fp32"),
            "{err}"
        );

        let (mut vs, layer, mut opt) = unit_layer();
        vs.bfloat16();
        let mut scaler = GradScaler::new(1e30, 10).unwrap();
        let x = Tensor::ones([1, 4], (Kind::BFloat16, Device::Cpu));
        let loss = layer.forward(&x).to_kind(Kind::Float).sum(Kind::Float) * 1e10;
        // 1e10 * 1e30 overflows even bf16's range.
        assert!(!scaler.backward_step(&mut opt, &vs, &loss).unwrap());
        assert_eq!(layer.ws.grad().kind(), Kind::BFloat16);
        assert_eq!(scaler.scale(), 5e29);
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
    fn state_survives_a_checkpoint() {
        let (vs, w, mut opt) = one_weight();
        let mut scaler = GradScaler::new(1024.0, 3).unwrap();
        let step = |scaler: &mut GradScaler, opt: &mut Optimizer, factor: f64| {
            let loss = (&w * factor).sum(Kind::Float);
            scaler.backward_step(opt, &vs, &loss).unwrap()
        };
        step(&mut scaler, &mut opt, f64::INFINITY);
        step(&mut scaler, &mut opt, 0.5);
        let state = scaler.state();
        assert_eq!(
            state,
            GradScalerState {
                scale: 512.0,
                growth_interval: 3,
                growth_tracker: 1,
                skipped_steps: 1
            }
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("scaler.pt");
        scaler.save(&file).unwrap();
        let mut resumed = GradScaler::load(&file).unwrap();
        assert_eq!(resumed.state(), state);
        // Both grow after the same two further good steps.
        for _ in 0..2 {
            step(&mut scaler, &mut opt, 0.5);
            step(&mut resumed, &mut opt, 0.5);
        }
        assert_eq!((scaler.scale(), resumed.scale()), (1024.0, 1024.0));
        let mut fresh = GradScaler::default();
        fresh.load_state(state).unwrap();
        assert_eq!(fresh.state(), state);
        let bad = GradScalerState {
            growth_tracker: 3,
            ..state
        };
        assert!(fresh.load_state(bad).is_err());
        std::fs::write(&file, b"junk").unwrap();
        assert!(GradScaler::load(&file).is_err());
    }

    #[test]
    fn bad_settings_are_errors() {
        assert!(GradScaler::new(0.0, 10).is_err());
        assert!(GradScaler::new(f64::NAN, 10).is_err());
        assert!(GradScaler::new(8.0, 0).is_err());
        assert!(GradScaler::default().update().is_err());
    }
}
