//! Learning-rate schedules as a factor of the base rate per optimizer step,
//! like PyTorch's `LambdaLR`. Warmup followed by cosine decay is the guide's
//! schedule for transformers.

use std::f64::consts::PI;

use crate::plot::{Line, line};

/// How the learning rate changes over optimizer steps.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Schedule {
    /// The base rate throughout.
    Constant,
    /// Multiply by `gamma` every `every` steps.
    Step { every: usize, gamma: f64 },
    /// Cosine decay from the base rate to 0 over `total` steps.
    Cosine { total: usize },
    /// Linear warmup from 0 over `warmup` steps, then cosine decay to 0 at
    /// step `total`.
    WarmupCosine { warmup: usize, total: usize },
}

impl Schedule {
    /// The factor the base learning rate is multiplied by at `step` (from 0).
    ///
    /// ```
    /// use aiguide::train::Schedule;
    /// let s = Schedule::WarmupCosine { warmup: 1000, total: 10_000 };
    /// assert_eq!(s.factor(500), 0.5);   // halfway through warmup
    /// assert_eq!(s.factor(1000), 1.0);  // peak
    /// assert!(s.factor(10_000) < 1e-12); // decayed
    /// ```
    pub fn factor(&self, step: usize) -> f64 {
        let cosine = |done: usize, over: usize| {
            let progress = (done as f64 / over.max(1) as f64).min(1.0);
            0.5 * (1.0 + (PI * progress).cos())
        };
        match *self {
            Schedule::Constant => 1.0,
            Schedule::Step { every, gamma } => gamma.powi((step / every.max(1)) as i32),
            Schedule::Cosine { total } => cosine(step, total),
            Schedule::WarmupCosine { warmup, .. } if step < warmup => step as f64 / warmup as f64,
            Schedule::WarmupCosine { warmup, total } => {
                cosine(step - warmup, total.saturating_sub(warmup))
            }
        }
    }

    /// The learning rate at `step` for base rate `base`.
    pub fn lr(&self, base: f64, step: usize) -> f64 {
        base * self.factor(step)
    }

    /// The learning rate over `steps` steps as a line chart.
    pub fn plot(&self, base: f64, steps: usize) -> Line {
        let rates: Vec<f64> = (0..steps).map(|s| self.lr(base, s)).collect();
        line("learning rate", &rates)
            .x_label("step")
            .y_label("learning rate")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_the_guides_lambda() {
        let (warmup, total) = (1000, 10_000);
        let guide = |step: usize| {
            if step < warmup {
                return step as f64 / warmup as f64;
            }
            let progress = (step - warmup) as f64 / (total - warmup) as f64;
            0.5 * (1.0 + (PI * progress).cos())
        };
        let s = Schedule::WarmupCosine { warmup, total };
        for step in [0, 1, 999, 1000, 5500, 9999, 10_000] {
            assert!((s.factor(step) - guide(step)).abs() < 1e-12, "step {step}");
        }
        assert!(s.factor(20_000) < 1e-12, "stays at 0 after the end");
    }

    #[test]
    fn other_schedules() {
        assert_eq!(Schedule::Constant.lr(0.1, 99), 0.1);
        let step = Schedule::Step {
            every: 10,
            gamma: 0.5,
        };
        assert_eq!(
            (step.factor(9), step.factor(10), step.factor(25)),
            (1.0, 0.5, 0.25)
        );
        assert!((Schedule::Cosine { total: 100 }.factor(50) - 0.5).abs() < 1e-12);
        assert!(Schedule::Cosine { total: 0 }.factor(0).is_finite());
        assert!(step.plot(0.1, 30).figure().is_ok());
    }
}
