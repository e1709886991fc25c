//! Our optimisers against tch's, step for step, on the same parameters and
//! gradients.

use super::*;
use tch::{Device, Kind, Tensor, nn, nn::OptimizerConfig};

/// Runs `ours` and `theirs` for 30 steps from the same start with the same
/// random gradients; returns the largest difference seen.
fn max_difference(ours: &mut dyn Optimizer, theirs: impl OptimizerConfig, lr: f64) -> f64 {
    let _guard = crate::torch_rng_lock();
    tch::manual_seed(3);
    let start = Tensor::randn([6], (Kind::Double, Device::Cpu));
    let mut vs = nn::VarStore::new(Device::Cpu);
    vs.set_kind(Kind::Double);
    let param = vs.root().var_copy("w", &start);
    let mut opt = theirs.build(&vs, lr).unwrap();
    let mut ours_p = Vec::<f64>::try_from(&start).unwrap();
    let mut worst = 0.0f64;
    for _ in 0..30 {
        let grad = Tensor::randn([6], (Kind::Double, Device::Cpu)) * 3.0;
        // d/dw sum(w * g) = g: makes tch see exactly these gradients.
        opt.zero_grad();
        (&param * &grad).sum(Kind::Double).backward();
        opt.step();
        ours.step(&mut ours_p, &Vec::<f64>::try_from(&grad).unwrap())
            .unwrap();
        let theirs_p = Vec::<f64>::try_from(&param.detach()).unwrap();
        for (a, b) in ours_p.iter().zip(&theirs_p) {
            worst = worst.max((a - b).abs());
        }
    }
    worst
}

#[test]
fn momentum_matches_torch_sgd() {
    let theirs = nn::Sgd {
        momentum: 0.9,
        ..Default::default()
    };
    let diff = max_difference(&mut Momentum::new(0.05, 0.9).unwrap(), theirs, 0.05);
    assert!(diff < 1e-12, "{diff}");
}

#[test]
fn adam_matches_torch_adam() {
    let diff = max_difference(&mut Adam::new(0.1).unwrap(), nn::Adam::default(), 0.1);
    assert!(diff < 1e-12, "{diff}");
    let config = AdamConfig {
        lr: 0.1,
        weight_decay: 0.3,
        ..AdamConfig::default()
    };
    let theirs = nn::Adam {
        wd: 0.3,
        ..Default::default()
    };
    let diff = max_difference(&mut Adam::with_config(config).unwrap(), theirs, 0.1);
    assert!(diff < 1e-12, "{diff}");
}

#[test]
fn adamw_matches_torch_adamw() {
    let theirs = nn::AdamW {
        wd: 0.3,
        ..Default::default()
    };
    let diff = max_difference(&mut AdamW::new(0.1, 0.3).unwrap(), theirs, 0.1);
    assert!(diff < 1e-12, "{diff}");
}
