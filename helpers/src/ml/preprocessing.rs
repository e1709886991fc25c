//! Feature transforms linfa does not have: polynomial features and one-hot
//! encoding, with scikit-learn's column order and naming.

use std::collections::BTreeMap;
use std::fmt::Display;

use ndarray::Array2;

use crate::{Error, Result};

/// All products of the input features up to a total degree (scikit-learn's
/// `PolynomialFeatures`): for features `a, b` and degree 2 the columns are
/// `1, a, b, a², ab, b²`.
///
/// Polynomials of high degree overflow the range where least squares is
/// accurate: `x¹⁵` for `x` near 10 is 10¹⁵ while `x⁰` is 1, so scale the
/// inputs to about `[-1, 1]` first (see the chapter 3 notebook on fitting).
///
/// ```
/// use aiguide::ml::PolynomialFeatures;
/// use ndarray::array;
/// let poly = PolynomialFeatures::new(2);
/// let x = array![[2.0, 3.0]];
/// assert_eq!(poly.transform(&x)?, array![[1.0, 2.0, 3.0, 4.0, 6.0, 9.0]]);
/// assert_eq!(poly.feature_names(&["a", "b"]), ["1", "a", "b", "a^2", "a b", "b^2"]);
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct PolynomialFeatures {
    degree: usize,
    include_bias: bool,
}

impl PolynomialFeatures {
    /// Products up to `degree`, with the constant column (like scikit-learn).
    pub fn new(degree: usize) -> PolynomialFeatures {
        PolynomialFeatures {
            degree,
            include_bias: true,
        }
    }

    /// Whether to start with the constant column `1` (default true). Turn it
    /// off when the model fits its own intercept, as linfa's
    /// `LinearRegression` does: two constant columns make least squares
    /// rank-deficient.
    pub fn include_bias(mut self, include_bias: bool) -> PolynomialFeatures {
        self.include_bias = include_bias;
        self
    }

    /// The exponents of each output column, one vector of `n_features`
    /// powers per column, in scikit-learn's order (by degree, then
    /// lexicographically by the features multiplied).
    pub fn powers(&self, n_features: usize) -> Vec<Vec<usize>> {
        let first = if self.include_bias { 0 } else { 1 };
        let mut powers = Vec::new();
        for degree in first..=self.degree {
            if n_features == 0 && degree > 0 {
                break;
            }
            // Each combination of `degree` features with repetition, as a
            // non-decreasing sequence of feature indices.
            let mut combo = vec![0usize; degree];
            loop {
                let mut p = vec![0; n_features];
                combo.iter().for_each(|&f| p[f] += 1);
                powers.push(p);
                // Next non-decreasing sequence: bump the last index that can grow.
                let Some(i) = (0..degree).rev().find(|&i| combo[i] + 1 < n_features) else {
                    break;
                };
                let next = combo[i] + 1;
                combo[i..].iter_mut().for_each(|c| *c = next);
            }
        }
        powers
    }

    /// The polynomial features of each row of `x`.
    pub fn transform(&self, x: &Array2<f64>) -> Result<Array2<f64>> {
        if x.ncols() == 0 {
            return Err(Error::InvalidArgument(
                "PolynomialFeatures: the input has no feature columns".into(),
            ));
        }
        let powers = self.powers(x.ncols());
        if powers.is_empty() {
            return Err(Error::InvalidArgument(
                "PolynomialFeatures: degree 0 without the bias column leaves no features; \
                 use degree >= 1 or include_bias(true)"
                    .into(),
            ));
        }
        Ok(Array2::from_shape_fn(
            (x.nrows(), powers.len()),
            |(r, c)| {
                powers[c]
                    .iter()
                    .zip(x.row(r))
                    .map(|(&p, &v)| v.powi(p as i32))
                    .product()
            },
        ))
    }

    /// Column names for input features named `names` (`"1"`, `"a"`,
    /// `"a^2"`, `"a b"`, as scikit-learn's `get_feature_names_out`).
    pub fn feature_names<S: AsRef<str>>(&self, names: &[S]) -> Vec<String> {
        self.powers(names.len())
            .iter()
            .map(|p| {
                let factors: Vec<String> = p
                    .iter()
                    .zip(names)
                    .filter(|(e, _)| **e > 0)
                    .map(|(&e, n)| match e {
                        1 => n.as_ref().to_string(),
                        _ => format!("{}^{e}", n.as_ref()),
                    })
                    .collect();
                if factors.is_empty() {
                    "1".to_string()
                } else {
                    factors.join(" ")
                }
            })
            .collect()
    }
}

/// One column of 0/1 per category (scikit-learn's `OneHotEncoder` on one
/// feature, or `label_binarize` on class labels): the categories are learnt
/// from the data by [`OneHotEncoder::fit`] and kept in sorted order, so the
/// same value always lands in the same column.
///
/// ```
/// use aiguide::ml::OneHotEncoder;
/// let enc = OneHotEncoder::fit(&["red", "green", "red"])?;
/// assert_eq!(enc.categories(), ["green", "red"]);
/// assert_eq!(enc.transform(&["red"])?.row(0).to_vec(), [0.0, 1.0]);
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct OneHotEncoder<T> {
    columns: BTreeMap<T, usize>,
}

impl<T: Ord + Clone + Display> OneHotEncoder<T> {
    /// Learns the categories (the distinct values of `values`).
    pub fn fit(values: &[T]) -> Result<OneHotEncoder<T>> {
        if values.is_empty() {
            return Err(Error::InvalidArgument(
                "OneHotEncoder::fit: no values to learn categories from".into(),
            ));
        }
        let mut columns: BTreeMap<T, usize> = values.iter().map(|v| (v.clone(), 0)).collect();
        columns.values_mut().enumerate().for_each(|(i, c)| *c = i);
        Ok(OneHotEncoder { columns })
    }

    /// The categories in column order.
    pub fn categories(&self) -> Vec<T> {
        self.columns.keys().cloned().collect()
    }

    /// One row per value with a single 1 in its category's column. A value
    /// not seen by `fit` is an error (scikit-learn's `handle_unknown="error"`).
    pub fn transform(&self, values: &[T]) -> Result<Array2<f64>> {
        let mut out = Array2::zeros((values.len(), self.columns.len()));
        for (r, v) in values.iter().enumerate() {
            let Some(&c) = self.columns.get(v) else {
                return Err(Error::InvalidArgument(format!(
                    "OneHotEncoder: `{v}` was not among the categories seen by fit ({}); \
                     fit on data that contains every category",
                    self.feature_names("").join(", ")
                )));
            };
            out[[r, c]] = 1.0;
        }
        Ok(out)
    }

    /// Column names `prefix` + category, e.g. `color_red`.
    pub fn feature_names(&self, prefix: &str) -> Vec<String> {
        self.columns
            .keys()
            .map(|c| format!("{prefix}{c}"))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn polynomial_columns_follow_scikit_learn() {
        // PolynomialFeatures(3).fit([[0, 0, 0]]).powers_ in scikit-learn.
        let powers = PolynomialFeatures::new(3).powers(2);
        let expected: Vec<Vec<usize>> = [
            [0, 0],
            [1, 0],
            [0, 1],
            [2, 0],
            [1, 1],
            [0, 2],
            [3, 0],
            [2, 1],
            [1, 2],
            [0, 3],
        ]
        .iter()
        .map(|p| p.to_vec())
        .collect();
        assert_eq!(powers, expected);
        let three = PolynomialFeatures::new(2).include_bias(false);
        assert_eq!(
            three.feature_names(&["a", "b", "c"]),
            ["a", "b", "c", "a^2", "a b", "a c", "b^2", "b c", "c^2"]
        );
    }

    #[test]
    fn polynomial_values_by_hand() {
        let x = array![[2.0], [-1.0], [0.5]];
        let p = PolynomialFeatures::new(3).include_bias(false);
        assert_eq!(
            p.transform(&x).unwrap(),
            array![[2.0, 4.0, 8.0], [-1.0, 1.0, -1.0], [0.5, 0.25, 0.125]]
        );
        assert_eq!(
            PolynomialFeatures::new(0).transform(&x).unwrap(),
            array![[1.0], [1.0], [1.0]]
        );
    }

    #[test]
    fn polynomial_rejects_empty_outputs() {
        let x = array![[1.0]];
        assert!(
            PolynomialFeatures::new(0)
                .include_bias(false)
                .transform(&x)
                .is_err()
        );
        assert!(
            PolynomialFeatures::new(2)
                .transform(&Array2::zeros((3, 0)))
                .is_err()
        );
    }

    #[test]
    fn one_hot_by_hand() {
        let enc = OneHotEncoder::fit(&[2usize, 0, 2, 1]).unwrap();
        assert_eq!(enc.categories(), [0, 1, 2]);
        assert_eq!(
            enc.transform(&[1, 2, 0]).unwrap(),
            array![[0.0, 1.0, 0.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]
        );
        assert_eq!(
            enc.feature_names("class_"),
            ["class_0", "class_1", "class_2"]
        );
        let err = enc.transform(&[5]).unwrap_err().to_string();
        assert!(err.contains("`5`") && err.contains("0, 1, 2"), "{err}");
        assert!(OneHotEncoder::<usize>::fit(&[]).is_err());
    }
}
