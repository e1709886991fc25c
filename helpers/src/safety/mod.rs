//! AI safety (chapter 8.3): how models fail under attack and what protects
//! the people in their training data.
//!
//! - Adversarial examples: [`fgsm`] and [`pgd`] perturb images within an
//!   L∞ ball to change a classifier's answer; [`robust_accuracy`] measures
//!   accuracy under an [`Attack`] over a whole test set in batches.
//! - Differential privacy: [`DpSgd`] trains with per-example clipping and
//!   Gaussian noise (Abadi et al., 2016) and keeps an [`RdpAccountant`] of
//!   the privacy spent, as Opacus does; [`noise_multiplier_for`] picks the
//!   noise for a privacy budget.
//! - Membership inference: [`loss_threshold_attack`] measures how much a
//!   model's losses give away about which examples it was trained on
//!   (Yeom et al., 2018), from [`per_example_losses`].

mod accountant;
mod adversarial;
mod dp_sgd;
mod membership;

pub use accountant::{
    RdpAccountant, default_orders, noise_multiplier_for, rdp_to_epsilon, sampled_gaussian_rdp,
};
pub use adversarial::{Attack, Pgd, fgsm, pgd, robust_accuracy};
pub use dp_sgd::{DpSgd, DpSgdConfig, DpStep};
pub use membership::{MembershipAttack, loss_threshold_attack, per_example_losses};
