//! The pieces of scikit-learn that classic machine learning needs and linfa
//! does not have, with scikit-learn's meaning so that intuition carries over:
//!
//! - [`PolynomialFeatures`] and [`OneHotEncoder`] (feature transforms);
//! - metrics: [`accuracy_score`], [`confusion_matrix`],
//!   [`classification_report`], [`f1_score`], [`roc_curve`] /
//!   [`roc_auc_score`], [`mean_squared_error`];
//! - model selection: [`KFold`], [`StratifiedKFold`] (the same folds as
//!   scikit-learn), [`cross_val_score`] with mean ± std, [`cross_val_predict`],
//!   [`grid_search`];
//! - [`Stacking`] on out-of-fold probabilities;
//! - for linfa's trees and forests: [`tree_text`], [`forest_proba`],
//!   [`forest_predict`], [`forest_importances`].
//!
//! Models are plain closures or `fn`s that fit on a training [`Tabular`]
//! and predict for a matrix of test rows, so linfa models and hand-written
//! pipelines plug in without adapter types. Errors inside them are any
//! error type ([`FitResult`]), so `?` works on linfa's errors.
//!
//! [`Tabular`]: crate::data::Tabular

mod metrics;
mod model_selection;
mod preprocessing;
mod stacking;
mod trees;

pub use metrics::{
    ClassScores, ClassificationReport, RocCurve, accuracy_score, classification_report,
    confusion_matrix, f1_score, mean_squared_error, roc_auc_score, roc_curve,
};
pub use model_selection::{
    CrossValidator, CvScores, Fold, GridSearch, KFold, Scoring, StratifiedKFold, cross_val_predict,
    cross_val_score, grid_search,
};
pub use preprocessing::{OneHotEncoder, PolynomialFeatures};
pub use stacking::{ProbaFn, Stacking};
pub use trees::{forest_importances, forest_predict, forest_proba, tree_text};

use ndarray::{Array1, Array2};

/// What a model closure returns: its result, or any error (linfa's, a
/// message, aiguide's), so that `?` works inside it.
pub type FitResult<T> = std::result::Result<T, Box<dyn std::error::Error>>;

/// The column of the largest value in each row (the lowest column on ties):
/// class predictions from class probabilities.
///
/// ```
/// use aiguide::ml::argmax_rows;
/// use ndarray::array;
/// assert_eq!(argmax_rows(&array![[0.2, 0.8], [0.5, 0.5]]).to_vec(), [1, 0]);
/// ```
pub fn argmax_rows(proba: &Array2<f64>) -> Array1<usize> {
    proba
        .rows()
        .into_iter()
        .map(|row| {
            row.iter()
                .enumerate()
                .fold((0, f64::NEG_INFINITY), |best, (c, &p)| {
                    if p > best.1 { (c, p) } else { best }
                })
                .0
        })
        .collect()
}
