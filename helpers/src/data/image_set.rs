//! Labelled image datasets split into train and test (MNIST, Fashion-MNIST,
//! CIFAR-10), as tensors ready for a tch model.

use tch::{Kind, Tensor};

use crate::display::{Table, emit};
use crate::plot::{Images, images};
use crate::{Error, Result};

/// Train and test images with their labels.
///
/// Images are Float `[N, C, H, W]` in `[0, 1]` (C = 1 for MNIST, 3 for
/// CIFAR-10); labels are Int64 `[N]` class indices into `class_names`.
#[derive(Debug)]
pub struct ImageSet {
    /// Which dataset this is.
    pub name: String,
    pub train_images: Tensor,
    pub train_labels: Tensor,
    pub test_images: Tensor,
    pub test_labels: Tensor,
    /// A name per class.
    pub class_names: Vec<String>,
}

/// One split as read from disk: bytes `[n, c, h, w]` and labels.
pub(crate) struct RawSplit {
    pub(crate) pixels: Vec<u8>,
    pub(crate) shape: [i64; 4],
    pub(crate) labels: Vec<u8>,
}

impl RawSplit {
    fn tensors(self) -> Result<(Tensor, Tensor)> {
        let images = Tensor::from_slice(&self.pixels)
            .f_reshape(self.shape)?
            .f_to_kind(Kind::Float)?
            / 255.0;
        let labels = Tensor::from_slice(&self.labels).f_to_kind(Kind::Int64)?;
        Ok((images, labels))
    }
}

impl ImageSet {
    pub(crate) fn from_raw(
        name: &str,
        train: RawSplit,
        test: RawSplit,
        class_names: &[&str],
    ) -> Result<ImageSet> {
        if train.shape[1..] != test.shape[1..] {
            return Err(Error::InvalidArgument(format!(
                "{name}: train images are {:?} but test images are {:?}",
                &train.shape[1..],
                &test.shape[1..]
            )));
        }
        let (train_images, train_labels) = train.tensors()?;
        let (test_images, test_labels) = test.tensors()?;
        Ok(ImageSet {
            name: name.to_string(),
            train_images,
            train_labels,
            test_images,
            test_labels,
            class_names: class_names.iter().map(|c| c.to_string()).collect(),
        })
    }

    /// The first `n` training images labelled with their class names.
    pub fn preview(&self, n: usize) -> Result<Images> {
        let n = (n as i64).min(self.train_images.size()[0]);
        let labels = Vec::<i64>::try_from(&self.train_labels.f_narrow(0, 0, n)?)?;
        let names = labels.iter().map(|&l| {
            self.class_names
                .get(l as usize)
                .cloned()
                .unwrap_or_else(|| l.to_string())
        });
        Ok(images(&self.train_images.f_narrow(0, 0, n)?).labels(names))
    }

    /// Split sizes, image shape and classes as a table.
    pub fn table(&self) -> Table {
        let shape = |t: &Tensor| format!("{:?}", t.size());
        Table::new(["split", "images", "labels"])
            .row([
                "train",
                &shape(&self.train_images),
                &shape(&self.train_labels),
            ])
            .row(["test", &shape(&self.test_images), &shape(&self.test_labels)])
            .with_caption(format!(
                "{}: classes {}",
                self.name,
                self.class_names.join(", ")
            ))
    }

    /// Shows [`ImageSet::table`] in a notebook.
    pub fn evcxr_display(&self) {
        let table = self.table();
        emit(&[
            ("text/html", &table.to_html()),
            ("text/plain", &table.to_text()),
        ]);
    }
}
