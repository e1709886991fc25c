//! Plain gradient descent and its momentum variant.

use super::{Optimizer, check_lr, check_param, check_step};
use crate::Result;

/// Stochastic gradient descent: `param -= lr * grad`.
///
/// The whole of gradient descent; "stochastic" refers to the gradients,
/// which in training come from a random mini-batch rather than all the data.
#[derive(Clone, Debug)]
pub struct Sgd {
    lr: f64,
}

impl Sgd {
    /// SGD with learning rate `lr` (> 0).
    pub fn new(lr: f64) -> Result<Sgd> {
        Ok(Sgd { lr: check_lr(lr)? })
    }
}

impl Optimizer for Sgd {
    fn step(&mut self, params: &mut [f64], grads: &[f64]) -> Result<()> {
        check_step(params, grads, None)?;
        for (p, g) in params.iter_mut().zip(grads) {
            *p -= self.lr * g;
        }
        Ok(())
    }
}

/// SGD with momentum, in PyTorch's form: `velocity = momentum * velocity +
/// grad`, then `param -= lr * velocity`.
///
/// The velocity is a running sum of past gradients, so steps grow along
/// directions where gradients agree and cancel where they flip sign (the
/// zig-zag across a narrow valley). With a constant gradient the step
/// approaches `lr / (1 - momentum)` times the gradient: ten times SGD's at
/// the usual 0.9.
#[derive(Clone, Debug)]
pub struct Momentum {
    lr: f64,
    momentum: f64,
    velocity: Option<Vec<f64>>,
}

impl Momentum {
    /// Momentum SGD with learning rate `lr` (> 0) and `momentum` in [0, 1).
    pub fn new(lr: f64, momentum: f64) -> Result<Momentum> {
        Ok(Momentum {
            lr: check_lr(lr)?,
            momentum: check_param(
                "momentum",
                momentum,
                (0.0..1.0).contains(&momentum),
                "in [0, 1)",
            )?,
            velocity: None,
        })
    }
}

impl Optimizer for Momentum {
    fn step(&mut self, params: &mut [f64], grads: &[f64]) -> Result<()> {
        check_step(params, grads, self.velocity.as_ref().map(Vec::len))?;
        let velocity = self.velocity.get_or_insert_with(|| vec![0.0; params.len()]);
        for ((p, g), v) in params.iter_mut().zip(grads).zip(velocity.iter_mut()) {
            *v = self.momentum * *v + g;
            *p -= self.lr * *v;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sgd_steps_against_the_gradient() {
        let mut p = [1.0, -2.0];
        Sgd::new(0.1).unwrap().step(&mut p, &[2.0, -4.0]).unwrap();
        assert_eq!(p, [0.8, -1.6]);
    }

    #[test]
    fn momentum_accumulates_velocity() {
        // v1 = 1, p = 1 - 0.1 = 0.9; v2 = 0.9 + 1 = 1.9, p = 0.9 - 0.19 = 0.71.
        let mut opt = Momentum::new(0.1, 0.9).unwrap();
        let mut p = [1.0];
        opt.step(&mut p, &[1.0]).unwrap();
        assert!((p[0] - 0.9).abs() < 1e-15);
        opt.step(&mut p, &[1.0]).unwrap();
        assert!((p[0] - 0.71).abs() < 1e-15);
    }

    #[test]
    fn bad_settings_and_shapes_are_errors() {
        assert!(Sgd::new(0.0).is_err());
        assert!(Sgd::new(f64::NAN).is_err());
        assert!(Momentum::new(0.1, 1.0).is_err());
        let err = Sgd::new(0.1)
            .unwrap()
            .step(&mut [1.0], &[1.0, 2.0])
            .unwrap_err();
        assert!(err.to_string().contains("1 parameters but 2 gradients"));
        let mut opt = Momentum::new(0.1, 0.5).unwrap();
        opt.step(&mut [1.0, 2.0], &[0.0, 0.0]).unwrap();
        let err = opt.step(&mut [1.0], &[0.0]).unwrap_err();
        assert!(err.to_string().contains("state is for 2 parameters"));
    }
}
