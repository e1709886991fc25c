//! Cross-validation and grid search with scikit-learn's meaning: the same
//! folds (`KFold`, `StratifiedKFold`), scores per fold with their mean and
//! standard deviation (`cross_val_score`), out-of-fold predictions
//! (`cross_val_predict`) and an exhaustive search over candidate
//! hyperparameters (`GridSearchCV` without the refit).
//!
//! The model is a closure (or `fn`) that fits on the training rows it is
//! given and predicts for the test rows, so any linfa model, or a pipeline
//! of several steps, fits in without adapters, and nothing it fits ever sees
//! the test labels.

use std::fmt;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use ndarray::{Array1, Array2, Axis};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

use super::FitResult;
use super::metrics::{accuracy_score, f1_score};
use crate::data::Tabular;
use crate::display::Table;
use crate::{Error, Result};

/// One split of the samples: indices of the rows to fit on and to test on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fold {
    /// Rows to train on, in increasing order.
    pub train: Vec<usize>,
    /// Rows to evaluate on, in increasing order.
    pub test: Vec<usize>,
}

/// A way of splitting labelled samples into folds.
pub trait CrossValidator {
    /// The folds for samples with class labels `y`; every sample is in
    /// exactly one test set.
    fn split(&self, y: &[usize]) -> Result<Vec<Fold>>;
}

/// `k` folds of consecutive samples (scikit-learn's `KFold`): the first
/// `n % k` folds get one extra sample. With [`KFold::shuffle`], the samples
/// are shuffled first (with aiguide's generator, so the folds differ from
/// NumPy's for the same seed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KFold {
    n_splits: usize,
    seed: Option<u64>,
}

impl KFold {
    /// `n_splits` folds, in order.
    pub fn new(n_splits: usize) -> KFold {
        KFold {
            n_splits,
            seed: None,
        }
    }

    /// Shuffle the samples with `seed` before cutting them into folds.
    pub fn shuffle(mut self, seed: u64) -> KFold {
        self.seed = Some(seed);
        self
    }
}

impl CrossValidator for KFold {
    fn split(&self, y: &[usize]) -> Result<Vec<Fold>> {
        check_splits("KFold", self.n_splits, y.len())?;
        let mut order: Vec<usize> = (0..y.len()).collect();
        if let Some(seed) = self.seed {
            order.shuffle(&mut StdRng::seed_from_u64(seed));
        }
        let mut fold_of = vec![0; y.len()];
        let (size, extra) = (y.len() / self.n_splits, y.len() % self.n_splits);
        let mut start = 0;
        for k in 0..self.n_splits {
            let end = start + size + usize::from(k < extra);
            order[start..end].iter().for_each(|&i| fold_of[i] = k);
            start = end;
        }
        Ok(folds_from_assignment(&fold_of, self.n_splits))
    }
}

/// `k` folds that keep each class's share (scikit-learn's `StratifiedKFold`,
/// the default `cv=k` of `cross_val_score` for classifiers). Without
/// shuffling the folds are exactly scikit-learn's: the samples of each class
/// go to folds 0, 1, ... in order of appearance.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StratifiedKFold {
    n_splits: usize,
    seed: Option<u64>,
}

impl StratifiedKFold {
    /// `n_splits` stratified folds, without shuffling.
    pub fn new(n_splits: usize) -> StratifiedKFold {
        StratifiedKFold {
            n_splits,
            seed: None,
        }
    }

    /// Shuffle each class's samples with `seed` before assigning folds.
    pub fn shuffle(mut self, seed: u64) -> StratifiedKFold {
        self.seed = Some(seed);
        self
    }
}

impl CrossValidator for StratifiedKFold {
    fn split(&self, y: &[usize]) -> Result<Vec<Fold>> {
        let k = self.n_splits;
        check_splits("StratifiedKFold", k, y.len())?;
        // Classes numbered by first appearance, as scikit-learn encodes them.
        let mut first_seen: Vec<usize> = Vec::new();
        let encoded: Vec<usize> = y
            .iter()
            .map(|label| match first_seen.iter().position(|c| c == label) {
                Some(code) => code,
                None => {
                    first_seen.push(*label);
                    first_seen.len() - 1
                }
            })
            .collect();
        let n_classes = first_seen.len();
        let mut counts = vec![0; n_classes];
        encoded.iter().for_each(|&c| counts[c] += 1);
        if counts.iter().all(|&n| n < k) {
            return Err(Error::InvalidArgument(format!(
                "StratifiedKFold: n_splits = {k} is more than the number of members of every \
                 class ({counts:?}); use fewer splits"
            )));
        }
        // Deal the samples sorted by class round-robin to the folds: fold i
        // gets every k-th sample from position i, which fixes how many of each
        // class it holds.
        let mut sorted = encoded.clone();
        sorted.sort_unstable();
        let mut allocation = vec![vec![0usize; k]; n_classes];
        for (position, &class) in sorted.iter().enumerate() {
            allocation[class][position % k] += 1;
        }
        let mut rng = self.seed.map(StdRng::seed_from_u64);
        let mut fold_of = vec![0; y.len()];
        for (class, per_fold) in allocation.iter().enumerate() {
            let mut folds: Vec<usize> = per_fold
                .iter()
                .enumerate()
                .flat_map(|(fold, &n)| std::iter::repeat_n(fold, n))
                .collect();
            if let Some(rng) = rng.as_mut() {
                folds.shuffle(rng);
            }
            let members = (0..y.len()).filter(|&i| encoded[i] == class);
            members.zip(folds).for_each(|(i, fold)| fold_of[i] = fold);
        }
        Ok(folds_from_assignment(&fold_of, k))
    }
}

fn check_splits(what: &str, n_splits: usize, n_samples: usize) -> Result<()> {
    if n_splits < 2 || n_splits > n_samples {
        return Err(Error::InvalidArgument(format!(
            "{what}: n_splits must be between 2 and the number of samples ({n_samples}), got \
             {n_splits}"
        )));
    }
    Ok(())
}

/// Folds from the test fold of each sample.
fn folds_from_assignment(fold_of: &[usize], k: usize) -> Vec<Fold> {
    (0..k)
        .map(|fold| {
            let (test, train): (Vec<usize>, Vec<usize>) =
                (0..fold_of.len()).partition(|&i| fold_of[i] == fold);
            Fold { train, test }
        })
        .collect()
}

/// How [`cross_val_score`] and [`grid_search`] score predictions, as
/// scikit-learn's `scoring=` strings.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Scoring {
    /// `"accuracy"`: the fraction of correct predictions.
    Accuracy,
    /// `"f1"`: F1 of class 1 in a binary problem.
    F1,
}

impl Scoring {
    /// The score of predictions `y_pred` against `y_true`.
    pub fn score(self, y_true: &Array1<usize>, y_pred: &Array1<usize>) -> Result<f64> {
        match self {
            Scoring::Accuracy => accuracy_score(y_true, y_pred),
            Scoring::F1 => f1_score(y_true, y_pred),
        }
    }
}

/// Scores of the folds of a cross-validation.
#[derive(Clone, Debug, PartialEq)]
pub struct CvScores {
    /// One score per fold, in fold order.
    pub scores: Vec<f64>,
}

impl CvScores {
    /// The mean over folds.
    pub fn mean(&self) -> f64 {
        self.scores.iter().sum::<f64>() / self.scores.len() as f64
    }

    /// The standard deviation over folds (population, like NumPy's
    /// `scores.std()` that the scikit-learn examples print).
    pub fn std(&self) -> f64 {
        let mean = self.mean();
        let var =
            self.scores.iter().map(|s| (s - mean).powi(2)).sum::<f64>() / self.scores.len() as f64;
        var.sqrt()
    }
}

/// `mean ± std` in percent, e.g. `95.33% ± 2.67%`.
impl fmt::Display for CvScores {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{:.2}% ± {:.2}%",
            100.0 * self.mean(),
            100.0 * self.std()
        )
    }
}

/// A model failure inside cross-validation, naming the fold.
fn model_error(what: &str, fold: usize, n: usize, e: Box<dyn std::error::Error>) -> Error {
    Error::InvalidArgument(format!(
        "{what}: the model failed on fold {} of {n}: {e}",
        fold + 1
    ))
}

/// Fits and scores a model on each fold (scikit-learn's `cross_val_score`).
///
/// `fit_predict(train, x_test)` fits on the table `train` and returns one
/// predicted class per row of `x_test`.
///
/// ```
/// use aiguide::ml::{Scoring, StratifiedKFold, cross_val_score};
/// use aiguide::data::make_moons;
/// let moons = make_moons(100, 0.1, 0)?;
/// // A "model" that predicts class 1 below the line y = 0.25.
/// let scores = cross_val_score(&moons, &StratifiedKFold::new(5), Scoring::Accuracy, |_train, x| {
///     Ok(x.rows().into_iter().map(|p| usize::from(p[1] < 0.25)).collect())
/// })?;
/// assert_eq!(scores.scores.len(), 5);
/// assert!(scores.mean() > 0.7);
/// # Ok::<(), aiguide::Error>(())
/// ```
pub fn cross_val_score<F>(
    data: &Tabular<usize>,
    cv: &(impl CrossValidator + ?Sized),
    scoring: Scoring,
    mut fit_predict: F,
) -> Result<CvScores>
where
    F: FnMut(&Tabular<usize>, &Array2<f64>) -> FitResult<Array1<usize>>,
{
    let folds = cv.split(data.y.as_slice().unwrap_or(&data.y.to_vec()))?;
    let mut scores = Vec::with_capacity(folds.len());
    for (k, fold) in folds.iter().enumerate() {
        let (train, test) = (data.select(&fold.train), data.select(&fold.test));
        let predicted = fit_predict(&train, &test.x)
            .map_err(|e| model_error("cross_val_score", k, folds.len(), e))?;
        scores.push(scoring.score(&test.y, &predicted)?);
    }
    Ok(CvScores { scores })
}

/// Out-of-fold outputs (scikit-learn's `cross_val_predict`): each row's
/// output comes from the model fitted on the folds that do not contain it,
/// so they are honest inputs for a second model (see
/// [`Stacking`](super::Stacking)).
///
/// `fit_output(train, x_test)` fits on `train` and returns one row of
/// outputs per row of `x_test` (e.g. class probabilities); every fold must
/// return the same number of columns.
pub fn cross_val_predict<F>(
    data: &Tabular<usize>,
    cv: &(impl CrossValidator + ?Sized),
    mut fit_output: F,
) -> Result<Array2<f64>>
where
    F: FnMut(&Tabular<usize>, &Array2<f64>) -> FitResult<Array2<f64>>,
{
    let folds = cv.split(data.y.as_slice().unwrap_or(&data.y.to_vec()))?;
    let mut out: Option<Array2<f64>> = None;
    for (k, fold) in folds.iter().enumerate() {
        let test_x = data.x.select(Axis(0), &fold.test);
        let part = fit_output(&data.select(&fold.train), &test_x)
            .map_err(|e| model_error("cross_val_predict", k, folds.len(), e))?;
        let all = out.get_or_insert_with(|| Array2::zeros((data.len(), part.ncols())));
        if part.dim() != (fold.test.len(), all.ncols()) {
            return Err(Error::InvalidArgument(format!(
                "cross_val_predict: fold {} returned {:?} outputs for {} rows; expected {} \
                 columns as in the first fold",
                k + 1,
                part.dim(),
                fold.test.len(),
                all.ncols()
            )));
        }
        for (row, &i) in part.rows().into_iter().zip(&fold.test) {
            all.row_mut(i).assign(&row);
        }
    }
    Ok(out.expect("a cross-validator yields at least two folds"))
}

/// The cross-validated score of every candidate of a [`grid_search`].
#[derive(Clone, Debug, PartialEq)]
pub struct GridSearch<P> {
    /// Each candidate with its fold scores, in the order tried.
    pub results: Vec<(P, CvScores)>,
}

impl<P: fmt::Debug> GridSearch<P> {
    /// The candidate with the highest mean score (the first one on ties, as
    /// scikit-learn's `best_params_`) and its scores.
    pub fn best(&self) -> (&P, &CvScores) {
        let best = self
            .results
            .iter()
            .reduce(|best, r| if r.1.mean() > best.1.mean() { r } else { best })
            .expect("grid_search refuses an empty grid");
        (&best.0, &best.1)
    }

    /// The `n` best candidates, best first, as a table.
    pub fn table(&self, n: usize) -> Table {
        let mut ranked: Vec<&(P, CvScores)> = self.results.iter().collect();
        // Stable sort: equal means keep the order tried.
        ranked.sort_by(|a, b| b.1.mean().total_cmp(&a.1.mean()));
        let mut table = Table::new(["rank", "params", "mean", "std"]);
        for (rank, (params, scores)) in ranked.into_iter().take(n).enumerate() {
            table.push_row([
                (rank + 1).to_string(),
                format!("{params:?}"),
                format!("{:.4}", scores.mean()),
                format!("{:.4}", scores.std()),
            ]);
        }
        table.with_caption(format!("grid search: {} candidates", self.results.len()))
    }
}

/// Cross-validates every candidate (scikit-learn's `GridSearchCV` without
/// the final refit): `fit_predict(params, train, x_test)` fits a model with
/// `params` on `train` and predicts classes for `x_test`.
///
/// Candidates are spread over the machine's cores (like `n_jobs=-1`); the
/// results come back in the order of `candidates` whatever the scheduling,
/// so a seeded model gives the same search on any machine.
pub fn grid_search<P, I, F>(
    data: &Tabular<usize>,
    cv: &(impl CrossValidator + Sync + ?Sized),
    scoring: Scoring,
    candidates: I,
    fit_predict: F,
) -> Result<GridSearch<P>>
where
    P: Send + Sync,
    I: IntoIterator<Item = P>,
    F: Fn(&P, &Tabular<usize>, &Array2<f64>) -> FitResult<Array1<usize>> + Sync,
{
    let candidates: Vec<P> = candidates.into_iter().collect();
    if candidates.is_empty() {
        return Err(Error::InvalidArgument(
            "grid_search: no candidates to try".into(),
        ));
    }
    let workers = std::thread::available_parallelism()
        .map_or(1, |n| n.get())
        .min(candidates.len());
    let next = AtomicUsize::new(0);
    let slots: Mutex<Vec<Option<Result<CvScores>>>> =
        Mutex::new((0..candidates.len()).map(|_| None).collect());
    std::thread::scope(|scope| {
        for _ in 0..workers {
            scope.spawn(|| {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(params) = candidates.get(i) else {
                        break;
                    };
                    let scores = cross_val_score(data, cv, scoring, |train, x| {
                        fit_predict(params, train, x)
                    });
                    slots.lock().unwrap_or_else(|p| p.into_inner())[i] = Some(scores);
                }
            });
        }
    });
    let scores = slots.into_inner().unwrap_or_else(|p| p.into_inner());
    let mut results = Vec::with_capacity(candidates.len());
    for (params, score) in candidates.into_iter().zip(scores) {
        results.push((params, score.expect("every candidate was scored")?));
    }
    Ok(GridSearch { results })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn test_sets(folds: &[Fold]) -> Vec<Vec<usize>> {
        folds.iter().map(|f| f.test.clone()).collect()
    }

    #[test]
    fn kfold_cuts_consecutive_chunks() {
        let folds = KFold::new(3).split(&[0; 7]).unwrap();
        assert_eq!(test_sets(&folds), [vec![0, 1, 2], vec![3, 4], vec![5, 6]]);
        assert_eq!(folds[1].train, [0, 1, 2, 5, 6]);
        let shuffled = KFold::new(3).shuffle(1).split(&[0; 7]).unwrap();
        let mut all: Vec<usize> = shuffled.iter().flat_map(|f| f.test.clone()).collect();
        all.sort_unstable();
        assert_eq!(all, (0..7).collect::<Vec<_>>());
        assert!(KFold::new(1).split(&[0; 7]).is_err());
        assert!(KFold::new(8).split(&[0; 7]).is_err());
    }

    #[test]
    fn stratified_folds_match_scikit_learn() {
        // StratifiedKFold(3).split(X, y) in scikit-learn 1.9 for this y:
        let y = [1, 1, 0, 0, 0, 1, 0, 2, 2, 1];
        let folds = StratifiedKFold::new(3).split(&y).unwrap();
        assert_eq!(
            test_sets(&folds),
            [vec![0, 1, 2, 7], vec![3, 4, 5], vec![6, 8, 9]]
        );
        // Iris-like: 3 sorted classes of 50, 5 folds of 10 per class.
        let iris: Vec<usize> = (0..150).map(|i| i / 50).collect();
        let folds = StratifiedKFold::new(5).split(&iris).unwrap();
        let expected: Vec<usize> = (0..3).flat_map(|c| c * 50 + 10..c * 50 + 20).collect();
        assert_eq!(folds[1].test, expected);
        assert!(StratifiedKFold::new(3).split(&[0, 0, 1, 1]).is_err());
    }

    #[test]
    fn stratified_shuffle_keeps_class_shares() {
        let y: Vec<usize> = (0..40).map(|i| usize::from(i % 4 == 0)).collect();
        let folds = StratifiedKFold::new(5).shuffle(3).split(&y).unwrap();
        for f in &folds {
            let ones = f.test.iter().filter(|&&i| y[i] == 1).count();
            assert_eq!((f.test.len(), ones), (8, 2));
        }
        assert_ne!(folds, StratifiedKFold::new(5).split(&y).unwrap());
    }

    fn tiny() -> Tabular<usize> {
        let x = Array2::from_shape_fn((10, 1), |(i, _)| i as f64);
        let y = Array1::from_shape_fn(10, |i| usize::from(i >= 5));
        Tabular::new("tiny", x, y, vec!["x".into()], vec![]).unwrap()
    }

    #[test]
    fn cross_val_score_by_hand() {
        // Class 1 is x >= 5; the threshold 3.5 is wrong only for x = 4, which
        // sits in fold 3 of KFold(5) with x = 5.
        let scores = cross_val_score(&tiny(), &KFold::new(5), Scoring::Accuracy, |train, x| {
            assert_eq!(train.len(), 8);
            Ok(x.column(0).mapv(|v| usize::from(v > 3.5)))
        })
        .unwrap();
        assert_eq!(scores.scores, [1.0, 1.0, 0.5, 1.0, 1.0]);
        assert!((scores.mean() - 0.9).abs() < 1e-12);
        assert!((scores.std() - 0.2).abs() < 1e-12);
        assert_eq!(scores.to_string(), "90.00% ± 20.00%");
        let err = cross_val_score(&tiny(), &KFold::new(2), Scoring::F1, |_, _| {
            Err("no convergence".into())
        })
        .unwrap_err();
        assert!(
            err.to_string().contains("fold 1 of 2: no convergence"),
            "{err}"
        );
    }

    #[test]
    fn out_of_fold_rows_come_from_the_other_folds() {
        // Each output is the mean x of the training rows: for KFold(2),
        // rows 0..5 see rows 5..10 (mean 7) and the other way round (mean 2).
        let oof = cross_val_predict(&tiny(), &KFold::new(2), |train, x| {
            let m = train.x.mean().unwrap();
            Ok(Array2::from_elem((x.nrows(), 1), m))
        })
        .unwrap();
        assert_eq!(
            oof.column(0).to_vec(),
            [7.0, 7.0, 7.0, 7.0, 7.0, 2.0, 2.0, 2.0, 2.0, 2.0]
        );
        let mut calls = 0;
        let ragged = cross_val_predict(&tiny(), &KFold::new(2), |_, x| {
            calls += 1;
            Ok(Array2::zeros((x.nrows(), calls)))
        });
        assert!(ragged.is_err());
    }

    #[test]
    fn grid_search_picks_the_first_best() {
        let search = grid_search(
            &tiny(),
            &KFold::new(5),
            Scoring::Accuracy,
            [2.5, 4.5, 5.5, 4.6],
            |&threshold, _, x| Ok(x.column(0).mapv(|v| usize::from(v > threshold))),
        )
        .unwrap();
        let (best, scores) = search.best();
        assert_eq!((*best, scores.mean()), (4.5, 1.0));
        let table = search.table(2);
        assert_eq!(table.rows()[0][1], "4.5");
        assert_eq!(table.rows()[1][1], "4.6");
        let none: [f64; 0] = [];
        assert!(
            grid_search(
                &tiny(),
                &KFold::new(2),
                Scoring::Accuracy,
                none,
                |_, _, x| { Ok(Array1::zeros(x.nrows())) }
            )
            .is_err()
        );
    }
}
