//! Optimisers written from scratch on plain `f64` slices: [`Sgd`],
//! [`Momentum`], [`Adam`] and [`AdamW`], with the same update rules (and the
//! same defaults) as `torch.optim`, so their steps can be checked against
//! tch's optimisers number for number.
//!
//! Each one keeps its own state (velocity, moment estimates, step count) for
//! one parameter vector and updates it in place from a gradient:
//!
//! ```
//! use aiguide::optim::{Adam, Optimizer};
//! // Minimise (w - 5)^2 from w = 0.
//! let mut w = [0.0];
//! let mut adam = Adam::new(0.1)?;
//! for _ in 0..300 {
//!     let grad = [2.0 * (w[0] - 5.0)];
//!     adam.step(&mut w, &grad)?;
//! }
//! assert!((w[0] - 5.0).abs() < 0.05);
//! # Ok::<(), aiguide::Error>(())
//! ```
//!
//! For an ndarray parameter, pass `array.as_slice_mut()` (a standard-layout
//! array) or keep the parameters in a `Vec<f64>`. For real models use tch's
//! `nn::Adam` and friends: these exist to show what happens inside them.

mod adam;
mod sgd;

pub use adam::{Adam, AdamConfig, AdamW};
pub use sgd::{Momentum, Sgd};

use crate::{Error, Result};

/// An optimiser: turns gradients into parameter updates.
pub trait Optimizer {
    /// Updates `params` in place from their gradients `grads` (same length;
    /// the first call fixes the length for the optimiser's state).
    fn step(&mut self, params: &mut [f64], grads: &[f64]) -> Result<()>;
}

/// Checks the lengths of a step: `params` and `grads` must match, and match
/// `state_len`, the length the optimiser's state was sized for (if any).
fn check_step(params: &[f64], grads: &[f64], state_len: Option<usize>) -> Result<()> {
    if params.len() != grads.len() {
        return Err(Error::InvalidArgument(format!(
            "optimizer step: {} parameters but {} gradients; pass one gradient per parameter",
            params.len(),
            grads.len()
        )));
    }
    match state_len {
        Some(n) if n != params.len() => Err(Error::InvalidArgument(format!(
            "optimizer step: this optimizer's state is for {n} parameters, got {}; \
             use one optimizer per parameter vector",
            params.len()
        ))),
        _ => Ok(()),
    }
}

/// `Ok(value)` when `value` is finite and in `range`, else an error naming
/// the parameter and what it must be.
fn check_param(name: &str, value: f64, ok: bool, must: &str) -> Result<f64> {
    if value.is_finite() && ok {
        Ok(value)
    } else {
        Err(Error::InvalidArgument(format!(
            "{name} must be {must}, got {value}"
        )))
    }
}

/// A learning rate: finite and > 0.
fn check_lr(lr: f64) -> Result<f64> {
    check_param("learning rate", lr, lr > 0.0, "a finite number > 0")
}

#[cfg(test)]
mod torch_reference;
