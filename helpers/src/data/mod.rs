//! Datasets: the course's real data from the [hub](crate::hub), image sets a
//! learner downloads, and seeded synthetic generators.
//!
//! Classic tables ([`iris`], [`wine`], [`breast_cancer`], [`digits`],
//! [`diabetes`]) and the generators return a [`Tabular`], which converts to
//! a linfa `Dataset` or to tensors. [`adult`] returns a [`GroupedTabular`]:
//! a `Tabular` whose samples also carry group attributes (sex, race), kept
//! apart from the features as [`Groups`]. Images come as tensors
//! ([`sample_image`], [`load_image`]) or as an [`ImageSet`] ([`mnist`],
//! [`fashion_mnist`], [`cifar10`]); text as a [`Corpus`] ([`shakespeare`]).
//!
//! Every loader checks its file against the manifest first: a missing file
//! says to run `./course data` (or where to download it), a changed file is
//! refused, and a truncated or corrupt one is an error naming the file.

mod adult;
mod cifar;
mod files;
mod groups;
mod idx;
mod image_set;
mod photo;
mod pickle;
mod sklearn;
mod synthetic;
mod tabular;
mod text;

#[cfg(test)]
mod testing;

pub use adult::adult;
pub use cifar::{cifar10, cifar10_from};
pub(crate) use files::read_text;
pub use groups::{GroupedTabular, Groups};
pub use idx::{fashion_mnist, fashion_mnist_from, mnist, mnist_from};
pub use image_set::ImageSet;
pub use photo::{load_image, sample_image};
pub use sklearn::{breast_cancer, diabetes, digits, iris, wine};
pub use synthetic::{
    BlobsConfig, ClassificationConfig, make_blobs, make_circles, make_classification, make_moons,
    noisy_sine,
};
pub use tabular::{Tabular, Target};
pub use text::{Corpus, Document, shakespeare};
