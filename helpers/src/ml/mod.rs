//! The pieces of scikit-learn that classic machine learning needs and linfa
//! does not have, with scikit-learn's meaning so that intuition carries over:
//!
//! - [`PolynomialFeatures`] and [`OneHotEncoder`] (feature transforms);
//! - metrics: [`accuracy_score`], [`confusion_matrix`],
//!   [`classification_report`], [`f1_score`], [`roc_curve`] /
//!   [`roc_auc_score`], [`precision_recall_curve`] /
//!   [`average_precision_score`] (with thresholds chosen by F1 or by a
//!   recall target), [`mean_squared_error`], [`r2_score`];
//! - model selection: [`KFold`], [`StratifiedKFold`] (the same folds as
//!   scikit-learn), [`cross_val_score`] with mean ± std, [`cross_val_predict`],
//!   [`grid_search`];
//! - ensembles: [`Stacking`] on out-of-fold probabilities, hard and soft
//!   [`Voting`];
//! - many classes from binary models: [`one_vs_one`] (scikit-learn's `SVC`);
//! - for linfa's trees, forests and AdaBoost: [`tree_text`], [`forest_proba`],
//!   [`forest_predict`], [`forest_importances`], [`adaboost_proba`],
//!   [`adaboost_predict`].
//!
//! Models are plain closures or `fn`s that fit on a training [`Tabular`]
//! and predict for a matrix of test rows, so linfa models and hand-written
//! pipelines plug in without adapter types. Errors inside them are any
//! error type ([`FitResult`]), so `?` works on linfa's errors.
//!
//! [`Tabular`]: crate::data::Tabular

mod metrics;
mod model_selection;
mod multiclass;
mod preprocessing;
mod stacking;
mod trees;
mod voting;

pub use metrics::{
    ClassScores, ClassificationReport, OperatingPoint, PrCurve, RocCurve, accuracy_score,
    average_precision_score, classification_report, confusion_matrix, f1_score, mean_squared_error,
    precision_recall_curve, r2_score, roc_auc_score, roc_curve,
};
pub use model_selection::{
    CrossValidator, CvScores, Fold, GridSearch, KFold, Scoring, StratifiedKFold, cross_val_predict,
    cross_val_score, grid_search,
};
pub use multiclass::one_vs_one;
pub use preprocessing::{OneHotEncoder, PolynomialFeatures};
pub use stacking::{ProbaFn, Stacking};
pub use trees::{
    adaboost_predict, adaboost_proba, forest_importances, forest_predict, forest_proba, tree_text,
};
pub use voting::{VoteKind, Voting};

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
