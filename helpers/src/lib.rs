//! Helpers for the aiguide course: the code that keeps notebook cells short.
//!
//! Notebooks start with `use aiguide::prelude::*;`. A learner's own project
//! adds `aiguide` to its `Cargo.toml` and uses the same items (see the crate's
//! README). Everything here is an ordinary library: nothing depends on
//! Jupyter, and the notebook-only parts (the `evcxr_display` methods) are
//! plain functions that print to stdout.
//!
//! - [`plot`]: line, scatter, bar, histogram, heatmap, image grids and
//!   decision boundaries as SVG [`plot::Figure`]s, shown inline and savable.
//! - [`display`]: arrays, tensors and tables rendered as HTML in notebooks.
//! - [`data`]: the course datasets (checked against [`hub`]'s manifest),
//!   MNIST/CIFAR-10 readers and seeded synthetic generators.
//! - [`train`]: a small training loop on tch with history, batching,
//!   accuracy, early stopping and learning-rate schedules.
//! - [`autograd`]: a scalar reverse-mode autodiff engine (the guide's `Value`).
//! - [`optim`]: SGD, Momentum, Adam and AdamW written out on `f64` slices.
//! - [`bench`](mod@bench): side-by-side timings of several ways to do one job, as
//!   medians and ratios.
//! - [`ml`]: the scikit-learn pieces linfa lacks: feature transforms,
//!   metrics, cross-validation, grid search and stacking.
//! - [`rl`]: a grid world, tabular Q-learning and value iteration.
//! - [`graph`]: graphs as edge lists, the GCN layer on a sparse adjacency,
//!   and node-classification data (karate club, block models, Cora files).
//! - [`safety`]: adversarial examples (FGSM, PGD), DP-SGD with a Rényi
//!   privacy accountant, and membership inference.
//! - [`fairness`]: a classifier's error rates per group (sex, race) with
//!   their gaps, and per-group thresholds for equal opportunity.
//! - [`pick_device`], [`seed_all`] and [`Progress`] for the first cell of
//!   most notebooks.

// ndarray-linalg (preloaded in notebooks) turns on ndarray's `blas` feature,
// so `dot` on f32/f64 matrices calls cblas. Naming openblas-src makes every
// crate that uses aiguide, including each notebook cell, link OpenBLAS.
extern crate openblas_src;

pub mod autograd;
pub mod bench;
pub mod data;
mod device;
pub mod display;
mod error;
pub mod fairness;
pub mod graph;
pub mod hub;
pub mod ml;
pub mod optim;
pub mod plot;
pub mod prelude;
mod progress;
pub mod rl;
pub mod safety;
mod seed;
pub mod train;

pub use device::pick_device;
pub use error::{Error, Result};
pub use progress::Progress;
pub use seed::seed_all;

/// `ndarray-rand`, matching the notebooks' `ndarray`, for random arrays.
pub use ndarray_rand;
/// The `rand` version aiguide and `ndarray-rand` use, for notebooks that need
/// more of it than the prelude brings (notebooks do not load `rand` themselves).
pub use rand;

/// Serializes tests that draw from libtorch's global generator, so one test's
/// draws cannot slip between another's `seed_all` and its own draws.
#[cfg(test)]
pub(crate) fn torch_rng_lock() -> std::sync::MutexGuard<'static, ()> {
    static TORCH_RNG: std::sync::Mutex<()> = std::sync::Mutex::new(());
    // A failed test must not fail the others: the guard protects no data.
    TORCH_RNG
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner())
}

// Chapter 4 (deep learning): mixed precision, the guide's models, vocabularies.
pub mod amp;
pub mod models;
pub mod vocab;
