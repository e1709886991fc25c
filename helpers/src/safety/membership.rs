//! Membership inference: was this example in the training set?
//!
//! A model usually fits its training examples better than examples it has
//! never seen, so its loss alone gives membership away. The loss-threshold
//! attack of Yeom et al. (2018), "Privacy Risk in Machine Learning:
//! Analyzing the Connection to Overfitting", guesses "member" when the loss
//! is below a threshold. How well that works over all thresholds (the ROC
//! AUC) and at the best one (the membership advantage, true minus false
//! positive rate) measures the leak: 0.5 and 0 mean nothing leaks. For a
//! model trained with ε-differential privacy, Yeom et al.'s Theorem 1
//! bounds the advantage of any attacker by `e^ε - 1`.

use tch::nn::ModuleT;
use tch::{Kind, Reduction, Tensor};

use crate::ml::{RocCurve, roc_curve};
use crate::train::batches;
use crate::{Error, Result};

/// The cross-entropy of each example `(x[i], y[i])` under `model` (logits
/// out, run in evaluation mode without gradients), `batch_size` examples at
/// a time.
pub fn per_example_losses(
    model: &dyn ModuleT,
    x: &Tensor,
    y: &Tensor,
    batch_size: i64,
) -> Result<Vec<f64>> {
    let (xs, ys) = (x.size(), y.size());
    if xs.is_empty() || ys != [xs[0]] || y.kind() != Kind::Int64 || batch_size < 1 {
        return Err(Error::InvalidArgument(format!(
            "per_example_losses: need inputs [N, ...], Int64 labels [N] and a batch size >= 1, \
             got {xs:?}, {ys:?} ({:?}) and {batch_size}",
            y.kind()
        )));
    }
    let mut losses = Vec::with_capacity(xs[0] as usize);
    for (xb, yb) in batches(x, y, batch_size, false)? {
        let logits = tch::no_grad(|| model.forward_t(&xb, false).f_to_kind(Kind::Double))?;
        let batch = logits.f_cross_entropy_loss::<Tensor>(&yb, None, Reduction::None, -100, 0.0)?;
        losses.extend(Vec::<f64>::try_from(&batch)?);
    }
    Ok(losses)
}

/// How well a loss threshold tells training examples (members) from others.
#[derive(Clone, Debug, PartialEq)]
pub struct MembershipAttack {
    /// The probability that a random member has a lower loss than a random
    /// non-member (ties count half): 0.5 is chance, 1 a perfect attack.
    pub auc: f64,
    /// The best true positive rate minus false positive rate over all
    /// thresholds (Yeom et al.'s membership advantage): 0 is chance, 1 perfect.
    /// The threshold is chosen knowing who is a member, so this is what the
    /// best possible loss-threshold attacker achieves.
    pub advantage: f64,
    /// The loss threshold of `advantage`: "member" when the loss is at most
    /// this (-inf when no threshold beats chance).
    pub threshold: f64,
    /// The advantage at Yeom et al.'s own threshold, the members' mean loss,
    /// which an attacker who knows the training loss can use.
    pub mean_loss_advantage: f64,
    /// The ROC curve (score: minus the loss; positive: member).
    pub roc: RocCurve,
}

/// The loss-threshold membership attack on the per-example losses of
/// training examples (`member_losses`) and held-out ones
/// (`nonmember_losses`), as from [`per_example_losses`].
pub fn loss_threshold_attack(
    member_losses: &[f64],
    nonmember_losses: &[f64],
) -> Result<MembershipAttack> {
    let all = || member_losses.iter().chain(nonmember_losses);
    if member_losses.is_empty() || nonmember_losses.is_empty() || all().any(|l| !l.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "loss_threshold_attack: need finite losses of at least one member and one \
             non-member, got {} and {}",
            member_losses.len(),
            nonmember_losses.len()
        )));
    }
    let labels: Vec<usize> = member_losses
        .iter()
        .map(|_| 1)
        .chain(nonmember_losses.iter().map(|_| 0))
        .collect();
    let scores: Vec<f64> = all().map(|l| -l).collect();
    let roc = roc_curve(&labels, &scores)?;
    let (best, advantage) = roc
        .tpr
        .iter()
        .zip(&roc.fpr)
        .map(|(t, f)| t - f)
        .enumerate()
        .fold(
            (0, f64::NEG_INFINITY),
            |acc, (i, a)| if a > acc.1 { (i, a) } else { acc },
        );
    let rate = |losses: &[f64], tau: f64| {
        losses.iter().filter(|&&l| l <= tau).count() as f64 / losses.len() as f64
    };
    let mean = member_losses.iter().sum::<f64>() / member_losses.len() as f64;
    Ok(MembershipAttack {
        auc: roc.auc(),
        advantage,
        threshold: -roc.thresholds[best],
        mean_loss_advantage: rate(member_losses, mean) - rate(nonmember_losses, mean),
        roc,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;
    use rand_distr::{Distribution, Normal};
    use tch::Device;
    use tch::nn;

    #[test]
    fn separated_and_identical_losses_are_the_extremes() {
        let perfect = loss_threshold_attack(&[0.1, 0.2, 0.3], &[0.5, 0.9]).unwrap();
        assert_eq!(
            (perfect.auc, perfect.advantage, perfect.threshold),
            (1.0, 1.0, 0.3)
        );
        assert_eq!(perfect.mean_loss_advantage, 2.0 / 3.0);
        let same = [0.4, 1.0, 2.5, 0.7];
        let chance = loss_threshold_attack(&same, &same).unwrap();
        assert_eq!((chance.auc, chance.advantage), (0.5, 0.0));
        assert_eq!(chance.threshold, f64::NEG_INFINITY);
    }

    /// Members {1, 2, 4} against non-members {3, 5}: of the six pairs the
    /// member is lower in five, AUC 5/6. Threshold 2 catches 2/3 of the
    /// members and no non-member (advantage 2/3); threshold 4 all members
    /// and half the non-members (1/2). Ties count half: with non-members
    /// {2, 5} the pair (2, 2) adds 1/2, AUC (4 + 1/2) / 6.
    #[test]
    fn overlapping_losses_by_hand() {
        let attack = loss_threshold_attack(&[1.0, 2.0, 4.0], &[3.0, 5.0]).unwrap();
        assert!((attack.auc - 5.0 / 6.0).abs() < 1e-12);
        assert!((attack.advantage - 2.0 / 3.0).abs() < 1e-12);
        assert_eq!(attack.threshold, 2.0);
        // Mean member loss 7/3: members 2/3 below it, non-members none.
        assert!((attack.mean_loss_advantage - 2.0 / 3.0).abs() < 1e-12);
        let tied = loss_threshold_attack(&[1.0, 2.0, 4.0], &[2.0, 5.0]).unwrap();
        assert!((tied.auc - 4.5 / 6.0).abs() < 1e-12);
    }

    /// Members' losses N(0, 1), non-members' N(1, 1): AUC = Φ(1/√2) =
    /// 0.76025, best advantage 2Φ(1/2) - 1 = 0.38292 (threshold 1/2), and at
    /// the members' mean 0: 1/2 - Φ(-1) = 0.34134.
    #[test]
    fn gaussian_losses_match_the_closed_form() {
        let mut rng = StdRng::seed_from_u64(7);
        let mut draw = |mean: f64| -> Vec<f64> {
            let normal = Normal::new(mean, 1.0).unwrap();
            (0..20_000).map(|_| normal.sample(&mut rng)).collect()
        };
        let (members, others) = (draw(0.0), draw(1.0));
        let attack = loss_threshold_attack(&members, &others).unwrap();
        assert!((attack.auc - 0.76025).abs() < 0.01, "{}", attack.auc);
        assert!(
            (attack.advantage - 0.38292).abs() < 0.015,
            "{}",
            attack.advantage
        );
        assert!((attack.threshold - 0.5).abs() < 0.1, "{}", attack.threshold);
        assert!((attack.mean_loss_advantage - 0.34134).abs() < 0.015);
    }

    #[test]
    fn per_example_losses_are_each_examples_cross_entropy() {
        let _rng = crate::torch_rng_lock();
        let vs = nn::VarStore::new(Device::Cpu);
        let mut model = nn::linear(vs.root(), 2, 3, Default::default());
        tch::no_grad(|| {
            let w = [1.0f32, 0.0, 0.0, 1.0, -1.0, -1.0];
            model.ws.copy_(&Tensor::from_slice(&w).view([3, 2]));
            let _ = model.bs.as_mut().unwrap().zero_();
        });
        let rows = [[0.5f32, 2.0], [1.0, -1.0], [0.0, 0.0]];
        let labels = [1i64, 0, 2];
        let x = Tensor::from_slice(rows.as_flattened()).view([3, 2]);
        let y = Tensor::from_slice(&labels);
        for batch in [1, 2, 10] {
            let losses = per_example_losses(&model, &x, &y, batch).unwrap();
            for (i, row) in rows.iter().enumerate() {
                let (a, b) = (f64::from(row[0]), f64::from(row[1]));
                let z = [a, b, -a - b];
                let log_sum = z.iter().map(|v| v.exp()).sum::<f64>().ln();
                let expected = log_sum - z[labels[i] as usize];
                assert!(
                    (losses[i] - expected).abs() < 1e-6,
                    "batch {batch}, row {i}"
                );
            }
        }
        assert!(per_example_losses(&model, &x, &y.narrow(0, 0, 2), 4).is_err());
        assert!(per_example_losses(&model, &x, &y, 0).is_err());
        assert!(loss_threshold_attack(&[], &[1.0]).is_err());
        assert!(loss_threshold_attack(&[f64::NAN], &[1.0]).is_err());
    }
}
