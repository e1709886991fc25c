//! Adam, and AdamW with its decoupled weight decay.

use super::{Optimizer, check_lr, check_param, check_step};
use crate::Result;

/// The settings of [`Adam`] and [`AdamW`], with PyTorch's defaults
/// (`lr` 1e-3, betas 0.9 and 0.999, `eps` 1e-8, no weight decay).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Learning rate: about the largest step any parameter takes (> 0).
    pub lr: f64,
    /// Decay of the running mean of gradients, in [0, 1).
    pub beta1: f64,
    /// Decay of the running mean of squared gradients, in [0, 1).
    pub beta2: f64,
    /// Added to the denominator so a parameter with zero gradients does not
    /// divide by zero (>= 0).
    pub eps: f64,
    /// Weight decay (>= 0): an L2 penalty folded into the gradient for
    /// [`Adam`], a direct shrinking of the weights for [`AdamW`].
    pub weight_decay: f64,
}

impl Default for AdamConfig {
    fn default() -> AdamConfig {
        AdamConfig {
            lr: 1e-3,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
        }
    }
}

impl AdamConfig {
    fn validated(self) -> Result<AdamConfig> {
        let beta = |name, b: f64| check_param(name, b, (0.0..1.0).contains(&b), "in [0, 1)");
        check_lr(self.lr)?;
        beta("beta1", self.beta1)?;
        beta("beta2", self.beta2)?;
        check_param("eps", self.eps, self.eps >= 0.0, "a finite number >= 0")?;
        check_param(
            "weight decay",
            self.weight_decay,
            self.weight_decay >= 0.0,
            "a finite number >= 0",
        )?;
        Ok(self)
    }
}

/// Adam's running moment estimates and step count, shared by [`Adam`] and
/// [`AdamW`], which differ only in how they apply weight decay.
#[derive(Clone, Debug, Default)]
struct Moments {
    /// Running mean of the gradients (first moment).
    m: Vec<f64>,
    /// Running mean of the squared gradients (uncentred second moment: not
    /// the variance, which would subtract the squared mean).
    v: Vec<f64>,
    /// Steps taken, for the bias correction.
    t: i32,
}

impl Moments {
    /// One Adam update with `l2 * param` added to each gradient.
    fn step(&mut self, c: &AdamConfig, params: &mut [f64], grads: &[f64], l2: f64) -> Result<()> {
        check_step(params, grads, (self.t > 0).then_some(self.m.len()))?;
        if self.t == 0 {
            self.m = vec![0.0; params.len()];
            self.v = vec![0.0; params.len()];
        }
        self.t += 1;
        // The moments start at 0, so early on they are biased towards 0 by a
        // factor 1 - beta^t; dividing it out makes the first steps full size.
        let correction1 = 1.0 - c.beta1.powi(self.t);
        let correction2 = 1.0 - c.beta2.powi(self.t);
        for (((p, g), m), v) in params
            .iter_mut()
            .zip(grads)
            .zip(self.m.iter_mut())
            .zip(self.v.iter_mut())
        {
            let g = g + l2 * *p;
            *m = c.beta1 * *m + (1.0 - c.beta1) * g;
            *v = c.beta2 * *v + (1.0 - c.beta2) * g * g;
            let m_hat = *m / correction1;
            let v_hat = *v / correction2;
            *p -= c.lr * m_hat / (v_hat.sqrt() + c.eps);
        }
        Ok(())
    }
}

/// Adam (Kingma & Ba, 2015): momentum on the gradient, divided by a running
/// root-mean-square of the gradient, so every parameter moves by about `lr`
/// per step whatever the scale of its gradients.
///
/// `weight_decay` works as in `torch.optim.Adam`: `weight_decay * param` is
/// added to the gradient (an L2 penalty), and therefore divided by the same
/// running RMS as the rest of the gradient. See [`AdamW`] for why that is a
/// problem.
#[derive(Clone, Debug)]
pub struct Adam {
    config: AdamConfig,
    moments: Moments,
}

impl Adam {
    /// Adam with learning rate `lr` and PyTorch's other defaults.
    pub fn new(lr: f64) -> Result<Adam> {
        Adam::with_config(AdamConfig {
            lr,
            ..AdamConfig::default()
        })
    }

    /// Adam with every setting given.
    pub fn with_config(config: AdamConfig) -> Result<Adam> {
        Ok(Adam {
            config: config.validated()?,
            moments: Moments::default(),
        })
    }
}

impl Optimizer for Adam {
    fn step(&mut self, params: &mut [f64], grads: &[f64]) -> Result<()> {
        let l2 = self.config.weight_decay;
        self.moments.step(&self.config, params, grads, l2)
    }
}

/// AdamW (Loshchilov & Hutter, 2019): Adam with decoupled weight decay, as
/// in `torch.optim.AdamW`. Each step first shrinks every weight by the factor
/// `1 - lr * weight_decay`, then takes the Adam step on the loss gradient
/// alone.
///
/// With [`Adam`]'s L2 penalty, the decay term is divided by the gradient's
/// running RMS: weights with large gradients are hardly decayed, and a weight
/// the loss ignores is pulled to zero at a constant `lr` per step whatever
/// the decay rate. AdamW's decay is the same relative shrinking for every
/// weight, which is what weight decay is meant to be; it is the standard for
/// training transformers.
#[derive(Clone, Debug)]
pub struct AdamW {
    config: AdamConfig,
    moments: Moments,
}

impl AdamW {
    /// AdamW with learning rate `lr`, decay `weight_decay` (PyTorch's
    /// default is 0.01) and PyTorch's other defaults.
    pub fn new(lr: f64, weight_decay: f64) -> Result<AdamW> {
        AdamW::with_config(AdamConfig {
            lr,
            weight_decay,
            ..AdamConfig::default()
        })
    }

    /// AdamW with every setting given.
    pub fn with_config(config: AdamConfig) -> Result<AdamW> {
        Ok(AdamW {
            config: config.validated()?,
            moments: Moments::default(),
        })
    }
}

impl Optimizer for AdamW {
    fn step(&mut self, params: &mut [f64], grads: &[f64]) -> Result<()> {
        check_step(
            params,
            grads,
            (self.moments.t > 0).then_some(self.moments.m.len()),
        )?;
        let shrink = 1.0 - self.config.lr * self.config.weight_decay;
        for p in params.iter_mut() {
            *p *= shrink;
        }
        self.moments.step(&self.config, params, grads, 0.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn first_step_moves_each_weight_by_lr() {
        // After bias correction m_hat = g and v_hat = g^2, so the step is
        // lr * g / |g|: the same size whatever the gradient's scale.
        let mut p = [1.0, 1.0, 1.0];
        Adam::new(0.1)
            .unwrap()
            .step(&mut p, &[1e-3, -5.0, 200.0])
            .unwrap();
        for (got, want) in p.iter().zip([0.9, 1.1, 0.9]) {
            assert!((got - want).abs() < 1e-5, "{got} vs {want}");
        }
    }

    #[test]
    fn decay_without_gradient() {
        // A weight the loss ignores: AdamW shrinks it geometrically, Adam's
        // L2 penalty (normalised by its own RMS) moves it by about lr a step.
        let (lr, wd) = (0.01, 0.1);
        let mut w = [1.0];
        let mut opt = AdamW::new(lr, wd).unwrap();
        for _ in 0..10 {
            opt.step(&mut w, &[0.0]).unwrap();
        }
        assert!((w[0] - (1.0 - lr * wd).powi(10)).abs() < 1e-12);
        let mut w = [1.0];
        let mut opt = Adam::with_config(AdamConfig {
            lr,
            weight_decay: wd,
            ..AdamConfig::default()
        })
        .unwrap();
        for _ in 0..10 {
            opt.step(&mut w, &[0.0]).unwrap();
        }
        assert!((w[0] - 0.9).abs() < 2e-3, "{}", w[0]);
    }

    #[test]
    fn bad_settings_and_shapes_are_errors() {
        assert!(Adam::new(-1.0).is_err());
        let bad_beta = AdamConfig {
            beta2: 1.0,
            ..AdamConfig::default()
        };
        assert!(
            Adam::with_config(bad_beta)
                .unwrap_err()
                .to_string()
                .contains("beta2")
        );
        assert!(AdamW::new(0.1, -0.5).is_err());
        let mut opt = AdamW::new(0.1, 0.0).unwrap();
        opt.step(&mut [1.0, 2.0], &[0.0, 0.0]).unwrap();
        assert!(opt.step(&mut [1.0], &[0.0]).is_err());
        assert!(opt.step(&mut [1.0, 2.0], &[0.0]).is_err());
    }
}
