//! Stacking (scikit-learn's `StackingClassifier`): a final model learns how
//! to combine the class probabilities of several base models, trained on
//! their out-of-fold probabilities so that it never sees a base model
//! judging rows it was fitted on.

use ndarray::{Array2, Axis, concatenate, s};

use super::FitResult;
use super::model_selection::{CrossValidator, cross_val_predict};
use crate::data::Tabular;
use crate::{Error, Result};

/// A model as stacking uses it: fit on a training table, return class
/// probabilities (one column per class) for the rows of `x`.
pub type ProbaFn = dyn Fn(&Tabular<usize>, &Array2<f64>) -> FitResult<Array2<f64>>;

/// Base models plus a final estimator over their probabilities.
///
/// As in scikit-learn: the final estimator is fitted on the base models'
/// [out-of-fold](super::cross_val_predict) probabilities on the training
/// data, and predicts from the probabilities of base models refitted on all
/// of it. For two classes only the probability of class 1 of each base model
/// is used (the other column carries no extra information).
///
/// ```
/// use aiguide::ml::{FitResult, Stacking, StratifiedKFold};
/// use aiguide::data::{Tabular, make_moons};
/// use ndarray::Array2;
///
/// // A base "model" that ignores the training data: class 1 below y = 0.25.
/// fn below(_: &Tabular<usize>, x: &Array2<f64>) -> FitResult<Array2<f64>> {
///     Ok(Array2::from_shape_fn((x.nrows(), 2), |(r, c)| {
///         let p1 = if x[[r, 1]] < 0.25 { 0.9 } else { 0.1 };
///         if c == 1 { p1 } else { 1.0 - p1 }
///     }))
/// }
/// // A final estimator that trusts the mean of the base probabilities.
/// fn average(_: &Tabular<usize>, z: &Array2<f64>) -> FitResult<Array2<f64>> {
///     let p1 = z.mean_axis(ndarray::Axis(1)).unwrap();
///     Ok(Array2::from_shape_fn((z.nrows(), 2), |(r, c)| if c == 1 { p1[r] } else { 1.0 - p1[r] }))
/// }
///
/// let moons = make_moons(100, 0.1, 0)?;
/// let stack = Stacking::new(StratifiedKFold::new(5), average).base("below", below);
/// let proba = stack.fit_predict_proba(&moons, &moons.x)?;
/// assert_eq!(proba.dim(), (100, 2));
/// # Ok::<(), aiguide::Error>(())
/// ```
pub struct Stacking {
    cv: Box<dyn CrossValidator>,
    bases: Vec<(String, Box<ProbaFn>)>,
    final_estimator: Box<ProbaFn>,
}

impl Stacking {
    /// A stack whose out-of-fold probabilities come from `cv` and whose
    /// `final_estimator` combines them; add base models with [`Stacking::base`].
    pub fn new<F>(cv: impl CrossValidator + 'static, final_estimator: F) -> Stacking
    where
        F: Fn(&Tabular<usize>, &Array2<f64>) -> FitResult<Array2<f64>> + 'static,
    {
        Stacking {
            cv: Box::new(cv),
            bases: Vec::new(),
            final_estimator: Box::new(final_estimator),
        }
    }

    /// Adds a base model under `name`.
    pub fn base<F>(mut self, name: impl Into<String>, model: F) -> Stacking
    where
        F: Fn(&Tabular<usize>, &Array2<f64>) -> FitResult<Array2<f64>> + 'static,
    {
        self.bases.push((name.into(), Box::new(model)));
        self
    }

    /// The base models' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.bases.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// The final estimator's inputs for the training rows (out-of-fold
    /// probabilities of each base model, side by side) as a table with the
    /// training labels.
    pub fn meta_features(&self, train: &Tabular<usize>) -> Result<Tabular<usize>> {
        if self.bases.is_empty() {
            return Err(Error::InvalidArgument(
                "Stacking: no base models; add them with .base(name, model)".into(),
            ));
        }
        let mut blocks = Vec::with_capacity(self.bases.len());
        let mut names = Vec::new();
        for (name, model) in &self.bases {
            let oof = keep_informative(cross_val_predict(train, &*self.cv, model)?);
            names.extend((0..oof.ncols()).map(|c| column_name(name, c, oof.ncols())));
            blocks.push(oof);
        }
        let z = join(&blocks)?;
        Tabular::new(
            format!("{} (stacked)", train.name),
            z,
            train.y.clone(),
            names,
            train.class_names.clone(),
        )
    }

    /// Fits the stack on `train` and returns the final estimator's class
    /// probabilities for the rows of `x`.
    pub fn fit_predict_proba(
        &self,
        train: &Tabular<usize>,
        x: &Array2<f64>,
    ) -> Result<Array2<f64>> {
        let meta_train = self.meta_features(train)?;
        let mut blocks = Vec::with_capacity(self.bases.len());
        for (name, model) in &self.bases {
            let proba = model(train, x).map_err(|e| {
                Error::InvalidArgument(format!("Stacking: base model `{name}` failed: {e}"))
            })?;
            blocks.push(keep_informative(proba));
        }
        let meta_x = join(&blocks)?;
        if meta_x.ncols() != meta_train.n_features() {
            return Err(Error::InvalidArgument(format!(
                "Stacking: the base models returned {} probability columns on all the training \
                 data but {} out of fold; each must return one column per class every time",
                meta_x.ncols(),
                meta_train.n_features()
            )));
        }
        (self.final_estimator)(&meta_train, &meta_x).map_err(|e| {
            Error::InvalidArgument(format!("Stacking: the final estimator failed: {e}"))
        })
    }
}

/// For two classes, the probability of class 1 alone.
fn keep_informative(proba: Array2<f64>) -> Array2<f64> {
    if proba.ncols() == 2 {
        proba.slice(s![.., 1..]).to_owned()
    } else {
        proba
    }
}

fn column_name(model: &str, column: usize, n: usize) -> String {
    if n == 1 {
        format!("{model}_p1")
    } else {
        format!("{model}_p{column}")
    }
}

fn join(blocks: &[Array2<f64>]) -> Result<Array2<f64>> {
    let views: Vec<_> = blocks.iter().map(|b| b.view()).collect();
    concatenate(Axis(1), &views).map_err(|e| {
        Error::InvalidArgument(format!(
            "Stacking: base models returned different numbers of rows: {e}"
        ))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::KFold;
    use ndarray::Array1;

    /// Ten rows x = 0..9, class 1 for x >= 5.
    fn tiny() -> Tabular<usize> {
        let x = Array2::from_shape_fn((10, 1), |(i, _)| i as f64);
        let y = Array1::from_shape_fn(10, |i| usize::from(i >= 5));
        Tabular::new("tiny", x, y, vec!["x".into()], vec![]).unwrap()
    }

    /// "Probability" of class 1 = the share of class 1 in the training rows.
    fn prior(train: &Tabular<usize>, x: &Array2<f64>) -> FitResult<Array2<f64>> {
        let p1 = train.y.iter().filter(|&&c| c == 1).count() as f64 / train.len() as f64;
        Ok(Array2::from_shape_fn((x.nrows(), 2), |(_, c)| {
            if c == 1 { p1 } else { 1.0 - p1 }
        }))
    }

    /// Class 1 exactly when x >= 5, whatever it was trained on.
    fn rule(_: &Tabular<usize>, x: &Array2<f64>) -> FitResult<Array2<f64>> {
        Ok(Array2::from_shape_fn((x.nrows(), 2), |(r, c)| {
            let p1 = if x[[r, 0]] >= 5.0 { 1.0 } else { 0.0 };
            if c == 1 { p1 } else { 1.0 - p1 }
        }))
    }

    /// Returns its inputs' first column as the probability of class 1.
    fn first_column(_: &Tabular<usize>, z: &Array2<f64>) -> FitResult<Array2<f64>> {
        Ok(Array2::from_shape_fn((z.nrows(), 2), |(r, c)| {
            if c == 1 { z[[r, 0]] } else { 1.0 - z[[r, 0]] }
        }))
    }

    #[test]
    fn meta_features_are_out_of_fold() {
        let stack = Stacking::new(KFold::new(2), first_column)
            .base("prior", prior)
            .base("rule", rule);
        let meta = stack.meta_features(&tiny()).unwrap();
        assert_eq!(meta.feature_names, ["prior_p1", "rule_p1"]);
        // KFold(2): rows 0..5 are predicted by a model fitted on rows 5..10
        // (all class 1), and the other way round.
        let expected_prior = [1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 0.0, 0.0, 0.0];
        assert_eq!(meta.x.column(0).to_vec(), expected_prior);
        assert_eq!(
            meta.x.column(1).to_vec(),
            tiny().y.mapv(|c| c as f64).to_vec()
        );
        // On all ten rows the prior is 0.5 and the final estimator passes it through.
        let proba = stack.fit_predict_proba(&tiny(), &tiny().x).unwrap();
        assert!(proba.column(1).iter().all(|&p| p == 0.5));
        assert_eq!(stack.names(), ["prior", "rule"]);
    }

    #[test]
    fn empty_or_failing_stacks_are_errors() {
        let empty = Stacking::new(KFold::new(2), first_column);
        assert!(empty.fit_predict_proba(&tiny(), &tiny().x).is_err());
        let failing = Stacking::new(KFold::new(2), first_column)
            .base("broken", |_: &Tabular<usize>, _: &Array2<f64>| {
                Err("singular matrix".into())
            });
        let err = failing.fit_predict_proba(&tiny(), &tiny().x).unwrap_err();
        assert!(err.to_string().contains("singular matrix"), "{err}");
    }
}
