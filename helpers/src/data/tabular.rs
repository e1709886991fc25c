//! Tables of samples with named features and classes: what the classic
//! datasets and the synthetic generators return, convertible to what linfa and
//! tch train on.

use linfa::Dataset;
use ndarray::{Array1, Array2, Axis, Ix1};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use tch::Tensor;

use crate::display::{Table, emit};
use crate::{Error, Result};

/// Samples as rows of `x` with targets `y`: class indices (`usize`) for
/// classification, numbers (`f64`) for regression.
///
/// ```
/// use aiguide::data::make_moons;
/// let moons = make_moons(100, 0.1, 42)?;
/// let (train, test) = moons.split(0.2, 42);
/// let dataset = train.to_dataset();           // for linfa
/// let (x, y) = test.to_tensors()?;            // for tch
/// assert_eq!(x.size(), [20, 2]);
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Tabular<T> {
    /// Where the data comes from, e.g. `iris` or `make_moons`.
    pub name: String,
    /// One row per sample, one column per feature.
    pub x: Array2<f64>,
    /// One target per sample.
    pub y: Array1<T>,
    /// A name per column of `x`.
    pub feature_names: Vec<String>,
    /// A name per class (empty for regression).
    pub class_names: Vec<String>,
}

/// Target types of a [`Tabular`]: `usize` classes or `f64` values.
pub trait Target: Copy + std::fmt::Debug + PartialEq + 'static {
    /// The targets as the tensor tch losses expect (Int64 classes, Float values).
    fn to_tensor(y: &Array1<Self>) -> Tensor;
    /// A cell for tables, using the class names when there are any.
    fn cell(self, class_names: &[String]) -> String;
}

impl Target for usize {
    fn to_tensor(y: &Array1<usize>) -> Tensor {
        Tensor::from_slice(&y.iter().map(|&c| c as i64).collect::<Vec<_>>())
    }

    fn cell(self, class_names: &[String]) -> String {
        class_names
            .get(self)
            .cloned()
            .unwrap_or_else(|| self.to_string())
    }
}

impl Target for f64 {
    fn to_tensor(y: &Array1<f64>) -> Tensor {
        Tensor::from_slice(&y.mapv(|v| v as f32).to_vec())
    }

    fn cell(self, _: &[String]) -> String {
        short(self)
    }
}

impl<T: Target> Tabular<T> {
    /// A table from its parts; lengths must agree.
    pub fn new(
        name: impl Into<String>,
        x: Array2<f64>,
        y: Array1<T>,
        feature_names: Vec<String>,
        class_names: Vec<String>,
    ) -> Result<Tabular<T>> {
        let name = name.into();
        if x.nrows() != y.len() || feature_names.len() != x.ncols() {
            return Err(Error::InvalidArgument(format!(
                "{name}: {} rows x {} features, but {} targets and {} feature names",
                x.nrows(),
                x.ncols(),
                y.len(),
                feature_names.len()
            )));
        }
        Ok(Tabular {
            name,
            x,
            y,
            feature_names,
            class_names,
        })
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.x.nrows()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Number of features.
    pub fn n_features(&self) -> usize {
        self.x.ncols()
    }

    /// A linfa dataset (records, targets, feature names) to fit linfa models on.
    pub fn to_dataset(&self) -> Dataset<f64, T, Ix1> {
        Dataset::new(self.x.clone(), self.y.clone()).with_feature_names(self.feature_names.clone())
    }

    /// `(x, y)` as tensors: x is Float `[n, features]`; y is Int64 classes or
    /// Float values `[n]`.
    pub fn to_tensors(&self) -> Result<(Tensor, Tensor)> {
        let x = Tensor::try_from(&self.x.mapv(|v| v as f32))?;
        Ok((x, T::to_tensor(&self.y)))
    }

    /// The rows at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Tabular<T> {
        Tabular {
            name: self.name.clone(),
            x: self.x.select(Axis(0), indices),
            y: self.y.select(Axis(0), indices),
            feature_names: self.feature_names.clone(),
            class_names: self.class_names.clone(),
        }
    }

    /// A shuffled `(train, test)` split with `test_fraction` of the samples in
    /// `test`, reproducible for a given `seed` (like scikit-learn's
    /// `train_test_split`).
    pub fn split(&self, test_fraction: f64, seed: u64) -> (Tabular<T>, Tabular<T>) {
        let (train, test) = split_indices(self.len(), test_fraction, seed);
        (self.select(&train), self.select(&test))
    }

    /// The first `n` rows as a table (wide tables show their first and last
    /// features only).
    pub fn head(&self, n: usize) -> Table {
        const SHOWN: usize = 8;
        let nf = self.n_features();
        let cols: Vec<Option<usize>> = if nf <= SHOWN {
            (0..nf).map(Some).collect()
        } else {
            (0..SHOWN - 2)
                .map(Some)
                .chain([None, Some(nf - 1)])
                .collect()
        };
        let headers = cols
            .iter()
            .map(|c| c.map_or("…".to_string(), |c| self.feature_names[c].clone()))
            .chain(["target".to_string()]);
        let mut table = Table::new(headers);
        for r in 0..n.min(self.len()) {
            let cells = cols
                .iter()
                .map(|c| c.map_or("…".to_string(), |c| short(self.x[[r, c]])));
            table.push_row(cells.chain([self.y[r].cell(&self.class_names)]));
        }
        table.with_caption(self.summary())
    }

    /// One line: name, size, classes.
    pub fn summary(&self) -> String {
        let mut s = format!(
            "{}: {} samples x {} features",
            self.name,
            self.len(),
            self.n_features()
        );
        if !self.class_names.is_empty() {
            s += &format!(
                ", {} classes ({})",
                self.class_names.len(),
                self.class_names.join(", ")
            );
        }
        s
    }

    /// Shows the summary and the first rows in a notebook.
    pub fn evcxr_display(&self) {
        let head = self.head(5);
        emit(&[
            ("text/html", &head.to_html()),
            ("text/plain", &head.to_text()),
        ]);
    }
}

/// The row indices of [`Tabular::split`]: `(train, test)` for `n` rows, so
/// that tables with extra per-row data split the same way.
pub(crate) fn split_indices(n: usize, test_fraction: f64, seed: u64) -> (Vec<usize>, Vec<usize>) {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(&mut StdRng::seed_from_u64(seed));
    let n_test = ((n as f64 * test_fraction.clamp(0.0, 1.0)).round() as usize).min(n);
    let train = order.split_off(n_test);
    (train, order)
}

/// A number in at most four decimals, without trailing zeros.
pub(crate) fn short(v: f64) -> String {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        return format!("{v:.0}");
    }
    let s = format!("{v:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_string()
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::Records;
    use ndarray::array;

    fn tiny() -> Tabular<usize> {
        Tabular::new(
            "tiny",
            array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.5], [7.0, 8.0]],
            array![0, 1, 1, 0],
            vec!["a".into(), "b".into()],
            vec!["no".into(), "yes".into()],
        )
        .unwrap()
    }

    #[test]
    fn lengths_must_agree() {
        let err = Tabular::new(
            "t",
            Array2::zeros((2, 1)),
            array![1.0],
            vec!["a".into()],
            vec![],
        );
        assert!(err.is_err());
    }

    #[test]
    fn converts_to_linfa_and_tch() {
        let t = tiny();
        let ds = t.to_dataset();
        assert_eq!(ds.nsamples(), 4);
        assert_eq!(ds.feature_names(), ["a", "b"]);
        let (x, y) = t.to_tensors().unwrap();
        assert_eq!((x.size(), x.kind()), (vec![4, 2], tch::Kind::Float));
        assert_eq!(Vec::<i64>::try_from(&y).unwrap(), [0, 1, 1, 0]);
    }

    #[test]
    fn split_is_a_seeded_partition() {
        let t = tiny();
        let (train, test) = t.split(0.25, 7);
        assert_eq!((train.len(), test.len()), (3, 1));
        let mut all: Vec<f64> = train
            .x
            .column(0)
            .iter()
            .chain(test.x.column(0))
            .copied()
            .collect();
        all.sort_by(f64::total_cmp);
        assert_eq!(all, [1.0, 3.0, 5.0, 7.0]);
        assert_eq!(t.split(0.25, 7), (train, test));
    }

    #[test]
    fn head_uses_class_names_and_short_numbers() {
        let text = tiny().head(3).to_text();
        assert!(text.starts_with("tiny: 4 samples x 2 features, 2 classes (no, yes)"));
        assert!(text.contains("6.5  yes"), "{text}");
        let wide = Tabular::new(
            "w",
            Array2::zeros((1, 20)),
            array![0.5],
            (0..20).map(|i| format!("f{i}")).collect(),
            vec![],
        )
        .unwrap();
        let head = wide.head(1);
        assert_eq!(head.headers().len(), 9);
        assert!(head.to_text().contains("f19"));
    }
}
