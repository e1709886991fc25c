//! Everything a notebook cell usually needs, in one `use aiguide::prelude::*;`.
//!
//! Grouped by origin, so it stays clear where each name comes from:
//!
//! - aiguide: plots, display, data loaders and generators, training
//!   utilities, [`pick_device`], [`seed_all`], [`Progress`];
//! - tch: [`Tensor`], [`Device`], [`Kind`], [`nn`] with the traits its
//!   models and optimizers need, [`no_grad`], [`IndexOp`];
//! - ndarray: the array types, [`Axis`], and the [`array!`] and [`s!`] macros;
//! - rand and ndarray-rand: a seedable generator and random arrays
//!   (`Array2::random_using(shape, StandardNormal, &mut rng)`).
//!
//! Crates are not re-exported whole: notebooks load tch, ndarray, linfa and
//! plotters directly, and two items called `tch` would clash. linfa's
//! models and traits come from `use linfa::prelude::*;` where a notebook
//! uses them.

pub use crate::data::{
    BlobsConfig, ClassificationConfig, Corpus, ImageSet, Tabular, breast_cancer, cifar10,
    cifar10_from, diabetes, digits, fashion_mnist, fashion_mnist_from, iris, load_image,
    make_blobs, make_circles, make_classification, make_moons, mnist, mnist_from, noisy_sine,
    sample_image, shakespeare, wine,
};
pub use crate::display::{RichDisplay, Table};
pub use crate::plot::{
    Figure, bar, decision_boundary, heatmap, hist, image, images, line, scatter, scatter_xy,
};
pub use crate::train::{
    EarlyStopping, History, Loss, Schedule, Trainer, accuracy, batches, evaluate,
};
pub use crate::{Progress, pick_device, seed_all};

pub use tch::nn::{self, Module, ModuleT, OptimizerConfig};
pub use tch::{Device, IndexOp, Kind, Tensor, no_grad};

pub use ndarray::{
    Array, Array1, Array2, Array3, ArrayD, ArrayView1, ArrayView2, Axis, array, concatenate, s,
    stack,
};

pub use crate::plot::contour;
pub use ndarray_rand::RandomExt;
pub use rand::rngs::StdRng;
pub use rand::{Rng, SeedableRng};
pub use rand_distr::{Normal, StandardNormal, Uniform};

pub use crate::bench::Bench;
