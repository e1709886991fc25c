//! Classification and regression metrics with scikit-learn's definitions:
//! accuracy, the confusion matrix, per-class precision / recall / F1 (the
//! classification report), ROC and precision-recall curves with their areas,
//! mean squared error and R².
//!
//! Labels and scores are anything the plots accept ([`Values`]): slices,
//! `Vec`s, ndarray arrays or tensors. Class labels are whole numbers 0, 1, ...

use std::fmt;

use ndarray::Array2;

use crate::display::Table;
use crate::plot::Values;
use crate::plot::input::class_labels;
use crate::{Error, Result};

/// Both label sequences, checked to be non-empty and of equal length.
fn label_pair(
    what: &str,
    y_true: &(impl Values + ?Sized),
    y_pred: &(impl Values + ?Sized),
) -> Result<(Vec<usize>, Vec<usize>)> {
    let (t, p) = (class_labels(what, y_true)?, class_labels(what, y_pred)?);
    same_length(what, t.len(), p.len())?;
    Ok((t, p))
}

fn same_length(what: &str, n_true: usize, n_pred: usize) -> Result<()> {
    if n_true != n_pred || n_true == 0 {
        return Err(Error::InvalidArgument(format!(
            "{what}: need as many predictions as true values, at least one; got {n_true} true \
             and {n_pred} predicted"
        )));
    }
    Ok(())
}

/// The fraction of predictions equal to the truth.
pub fn accuracy_score(
    y_true: &(impl Values + ?Sized),
    y_pred: &(impl Values + ?Sized),
) -> Result<f64> {
    let (t, p) = label_pair("accuracy_score", y_true, y_pred)?;
    Ok(t.iter().zip(&p).filter(|(a, b)| a == b).count() as f64 / t.len() as f64)
}

/// Counts of (true class, predicted class): row `i` is the true class `i`,
/// column `j` the predicted class `j`, for classes `0..=max label`. For two
/// classes that is `[[TN, FP], [FN, TP]]`, as in scikit-learn.
pub fn confusion_matrix(
    y_true: &(impl Values + ?Sized),
    y_pred: &(impl Values + ?Sized),
) -> Result<Array2<usize>> {
    let (t, p) = label_pair("confusion_matrix", y_true, y_pred)?;
    Ok(counts(&t, &p))
}

fn counts(t: &[usize], p: &[usize]) -> Array2<usize> {
    let n = t.iter().chain(p).max().map_or(0, |m| m + 1);
    let mut cm = Array2::zeros((n, n));
    t.iter().zip(p).for_each(|(&a, &b)| cm[[a, b]] += 1);
    cm
}

/// F1 of class 1 in a binary problem (scikit-learn's `f1_score` with its
/// defaults): the harmonic mean of precision and recall of the positive class.
pub fn f1_score(y_true: &(impl Values + ?Sized), y_pred: &(impl Values + ?Sized)) -> Result<f64> {
    let (t, p) = label_pair("f1_score", y_true, y_pred)?;
    if t.iter().chain(&p).any(|&c| c > 1) {
        return Err(Error::InvalidArgument(
            "f1_score: the labels must be 0 and 1 (binary); use classification_report for \
             several classes"
                .into(),
        ));
    }
    let cm = counts(&t, &p);
    Ok(if cm.nrows() < 2 {
        0.0
    } else {
        class_scores(&cm, 1).f1
    })
}

/// Precision, recall, F1 and support of one class.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClassScores {
    /// Of the samples predicted as this class, the fraction that are.
    pub precision: f64,
    /// Of the samples of this class, the fraction found.
    pub recall: f64,
    /// Harmonic mean of precision and recall.
    pub f1: f64,
    /// Number of samples of this class in the truth.
    pub support: usize,
}

/// Scores of class `c` from a confusion matrix; 0 where a ratio is 0/0
/// (scikit-learn's `zero_division` default, without its warning).
fn class_scores(cm: &Array2<usize>, c: usize) -> ClassScores {
    let tp = cm[[c, c]] as f64;
    let predicted = cm.column(c).sum() as f64;
    let support = cm.row(c).sum();
    let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
    let (precision, recall) = (ratio(tp, predicted), ratio(tp, support as f64));
    ClassScores {
        precision,
        recall,
        f1: ratio(2.0 * precision * recall, precision + recall),
        support,
    }
}

/// scikit-learn's `classification_report`: per-class precision, recall, F1
/// and support, the accuracy, and their macro (plain mean over classes) and
/// weighted (by support) averages. Shows as a table in a notebook; `{}`
/// prints it as text.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassificationReport {
    /// One entry per class 0, 1, ...
    pub classes: Vec<ClassScores>,
    /// Names shown for the classes (their numbers unless set).
    pub class_names: Vec<String>,
    /// Fraction of correct predictions.
    pub accuracy: f64,
    /// Unweighted mean of the per-class scores; support is the total.
    pub macro_avg: ClassScores,
    /// Mean of the per-class scores weighted by support.
    pub weighted_avg: ClassScores,
}

/// The [`ClassificationReport`] of predictions `y_pred` against `y_true`.
///
/// ```
/// use aiguide::ml::classification_report;
/// let report = classification_report(&[1, 1, 0, 0], &[1, 0, 0, 0])?;
/// assert_eq!(report.classes[1].recall, 0.5);
/// assert_eq!(report.accuracy, 0.75);
/// # Ok::<(), aiguide::Error>(())
/// ```
pub fn classification_report(
    y_true: &(impl Values + ?Sized),
    y_pred: &(impl Values + ?Sized),
) -> Result<ClassificationReport> {
    let (t, p) = label_pair("classification_report", y_true, y_pred)?;
    let cm = counts(&t, &p);
    // Classes that occur in neither sequence (gaps in the numbering) are left out, as scikit-learn does.
    let present: Vec<usize> = (0..cm.nrows())
        .filter(|&c| cm.row(c).sum() + cm.column(c).sum() > 0)
        .collect();
    let classes: Vec<ClassScores> = present.iter().map(|&c| class_scores(&cm, c)).collect();
    let n = classes.len() as f64;
    let total: usize = classes.iter().map(|c| c.support).sum();
    let average = |weight: &dyn Fn(&ClassScores) -> f64| {
        let mean = |field: fn(&ClassScores) -> f64| {
            classes.iter().map(|c| weight(c) * field(c)).sum::<f64>()
        };
        ClassScores {
            precision: mean(|c| c.precision),
            recall: mean(|c| c.recall),
            f1: mean(|c| c.f1),
            support: total,
        }
    };
    let macro_avg = average(&|_| 1.0 / n);
    let weighted_avg = average(&|c| c.support as f64 / total as f64);
    let accuracy = t.iter().zip(&p).filter(|(a, b)| a == b).count() as f64 / t.len() as f64;
    Ok(ClassificationReport {
        class_names: present.iter().map(|c| c.to_string()).collect(),
        classes,
        accuracy,
        macro_avg,
        weighted_avg,
    })
}

impl ClassificationReport {
    /// Names for the classes, in class order (e.g. a dataset's
    /// `class_names`); fewer names than classes is an error.
    pub fn with_class_names<I: IntoIterator<Item: ToString>>(
        mut self,
        names: I,
    ) -> Result<ClassificationReport> {
        let names: Vec<String> = names.into_iter().map(|n| n.to_string()).collect();
        let mut renamed = Vec::with_capacity(self.class_names.len());
        for number in &self.class_names {
            let name = number.parse::<usize>().ok().and_then(|c| names.get(c));
            let Some(name) = name else {
                return Err(Error::InvalidArgument(format!(
                    "ClassificationReport::with_class_names: no name for class {number} among \
                     {} names; pass one name per class, in class order",
                    names.len()
                )));
            };
            renamed.push(name.clone());
        }
        self.class_names = renamed;
        Ok(self)
    }

    /// The report as a table (two decimals, like scikit-learn's text).
    pub fn table(&self) -> Table {
        let row = |name: &str, s: &ClassScores| {
            [
                name.to_string(),
                format!("{:.2}", s.precision),
                format!("{:.2}", s.recall),
                format!("{:.2}", s.f1),
                s.support.to_string(),
            ]
        };
        let mut table = Table::new(["", "precision", "recall", "f1-score", "support"]);
        for (name, scores) in self.class_names.iter().zip(&self.classes) {
            table.push_row(row(name, scores));
        }
        let total = self.macro_avg.support.to_string();
        table.push_row([
            "accuracy".to_string(),
            String::new(),
            String::new(),
            format!("{:.2}", self.accuracy),
            total,
        ]);
        table.push_row(row("macro avg", &self.macro_avg));
        table.push_row(row("weighted avg", &self.weighted_avg));
        table
    }

    /// Shows the report as a table in a notebook.
    pub fn evcxr_display(&self) {
        self.table().evcxr_display();
    }
}

impl fmt::Display for ClassificationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table().to_text())
    }
}

/// A receiver operating characteristic (ROC) curve: at each threshold, the
/// false and true positive rates of predicting class 1 when the score is
/// `>= threshold`. As scikit-learn's `roc_curve`, it starts at (0, 0) with
/// threshold +inf and leaves out thresholds that lie on a straight segment.
#[derive(Clone, Debug, PartialEq)]
pub struct RocCurve {
    /// False positive rate per threshold (x axis).
    pub fpr: Vec<f64>,
    /// True positive rate per threshold (y axis).
    pub tpr: Vec<f64>,
    /// Decreasing score thresholds.
    pub thresholds: Vec<f64>,
}

impl RocCurve {
    /// The area under the curve (trapezoids).
    pub fn auc(&self) -> f64 {
        self.fpr
            .windows(2)
            .zip(self.tpr.windows(2))
            .map(|(x, y)| (x[1] - x[0]) * (y[0] + y[1]) / 2.0)
            .sum()
    }
}

/// The ROC curve of `scores` (higher means class 1) for binary labels
/// `y_true` (0 and 1, both present).
pub fn roc_curve(
    y_true: &(impl Values + ?Sized),
    scores: &(impl Values + ?Sized),
) -> Result<RocCurve> {
    let counts = ranked_counts("roc_curve", y_true, scores, true)?;
    let (tps, fps) = (&counts.tps, &counts.fps);
    let (tp, fp) = (tps[tps.len() - 1], fps[fps.len() - 1]);
    // Keep the end points and every point where the curve bends; then
    // start the curve at (0, 0), both as scikit-learn does.
    let n = tps.len();
    let bends = |v: &[f64], k: usize| v[k + 1] - 2.0 * v[k] + v[k - 1] != 0.0;
    let keep = (0..n).filter(|&k| n <= 2 || k == 0 || k + 1 == n || bends(tps, k) || bends(fps, k));
    let mut roc = RocCurve {
        fpr: vec![0.0],
        tpr: vec![0.0],
        thresholds: vec![f64::INFINITY],
    };
    for k in keep {
        roc.fpr.push(fps[k] / fp);
        roc.tpr.push(tps[k] / tp);
        roc.thresholds.push(counts.thresholds[k]);
    }
    Ok(roc)
}

/// Cumulative true and false positives when class 1 is predicted for every
/// score `>=` each distinct score, highest score first (scikit-learn's
/// `_binary_clf_curve`): the common ground of the ROC and the
/// precision-recall curves.
struct RankedCounts {
    tps: Vec<f64>,
    fps: Vec<f64>,
    thresholds: Vec<f64>,
}

/// The [`RankedCounts`] of `scores` against binary `y_true`; `need_negatives`
/// says whether class 0 must occur (the false positive rate divides by it).
fn ranked_counts(
    what: &str,
    y_true: &(impl Values + ?Sized),
    scores: &(impl Values + ?Sized),
    need_negatives: bool,
) -> Result<RankedCounts> {
    let t = class_labels(what, y_true)?;
    let s = scores.to_f64s()?;
    same_length(what, t.len(), s.len())?;
    let missing = !t.contains(&1) || (need_negatives && !t.contains(&0));
    if t.iter().any(|&c| c > 1) || missing {
        let needed = if need_negatives {
            "0 and 1, both present"
        } else {
            "0 and 1, with at least one 1"
        };
        return Err(Error::InvalidArgument(format!(
            "{what}: y_true must be binary ({needed}); for several classes, compute one curve \
             per class against the rest"
        )));
    }
    if s.iter().any(|v| !v.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "{what}: scores must be finite"
        )));
    }
    let mut order: Vec<usize> = (0..s.len()).collect();
    order.sort_by(|&a, &b| s[b].total_cmp(&s[a]));
    let mut counts = RankedCounts {
        tps: Vec::new(),
        fps: Vec::new(),
        thresholds: Vec::new(),
    };
    let (mut tp, mut fp) = (0.0, 0.0);
    for (k, &i) in order.iter().enumerate() {
        if t[i] == 1 {
            tp += 1.0;
        } else {
            fp += 1.0;
        }
        if order.get(k + 1).is_none_or(|&j| s[j] != s[i]) {
            counts.tps.push(tp);
            counts.fps.push(fp);
            counts.thresholds.push(s[i]);
        }
    }
    Ok(counts)
}

/// Area under the ROC curve: the probability that a random sample of class
/// 1 scores higher than a random sample of class 0 (ties count half).
pub fn roc_auc_score(
    y_true: &(impl Values + ?Sized),
    scores: &(impl Values + ?Sized),
) -> Result<f64> {
    Ok(roc_curve(y_true, scores)?.auc())
}

/// A precision-recall curve: at each threshold, the precision and recall of
/// predicting class 1 when the score is `>= threshold`, laid out as
/// scikit-learn's `precision_recall_curve` returns it: thresholds increase,
/// recall falls, and a last point (recall 0, precision 1) has no threshold.
///
/// Where the ROC curve asks "how well are the two classes ranked?", this
/// curve asks "of what I flag, how much is real, and how much of the real
/// do I flag?": the questions of a screening test or a fraud alarm, and the
/// more telling ones when class 1 is rare (a ROC curve can look fine while
/// most alarms are false).
#[derive(Clone, Debug, PartialEq)]
pub struct PrCurve {
    /// Precision per threshold, then 1 for the final point.
    pub precision: Vec<f64>,
    /// Recall per threshold, then 0 for the final point.
    pub recall: Vec<f64>,
    /// Increasing score thresholds, one fewer than the points.
    pub thresholds: Vec<f64>,
}

/// One threshold of a [`PrCurve`] with the precision and recall it gives.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct OperatingPoint {
    /// Predict class 1 when the score is `>=` this.
    pub threshold: f64,
    /// Of the samples flagged, the fraction of class 1.
    pub precision: f64,
    /// Of the samples of class 1, the fraction flagged.
    pub recall: f64,
}

impl OperatingPoint {
    /// The harmonic mean of precision and recall (0 when both are 0).
    pub fn f1(&self) -> f64 {
        let sum = self.precision + self.recall;
        if sum > 0.0 {
            2.0 * self.precision * self.recall / sum
        } else {
            0.0
        }
    }
}

impl PrCurve {
    /// Average precision (scikit-learn's `average_precision_score`): the
    /// precision at each threshold weighted by the recall it adds,
    /// `sum_n (R_n - R_{n-1}) P_n`. A step sum, not trapezoids, so it does
    /// not reward the optimistic straight line between two points.
    pub fn average_precision(&self) -> f64 {
        self.recall
            .windows(2)
            .zip(&self.precision)
            .map(|(r, p)| (r[0] - r[1]) * p)
            .sum()
    }

    /// Every threshold with its precision and recall, thresholds increasing.
    pub fn points(&self) -> Vec<OperatingPoint> {
        self.thresholds
            .iter()
            .zip(&self.precision)
            .zip(&self.recall)
            .map(|((&threshold, &precision), &recall)| OperatingPoint {
                threshold,
                precision,
                recall,
            })
            .collect()
    }

    /// The threshold with the highest F1 (the higher threshold on ties).
    pub fn best_f1(&self) -> OperatingPoint {
        self.points()
            .into_iter()
            .fold(None, |best: Option<OperatingPoint>, p| match best {
                Some(b) if b.f1() > p.f1() => Some(b),
                _ => Some(p),
            })
            .expect("a PrCurve has at least one threshold")
    }

    /// The most precise threshold whose recall is at least `min_recall`
    /// (the higher threshold on ties): "find at least 95 % of the cases,
    /// with as few false alarms as possible". `None` when no threshold
    /// reaches that recall, which cannot happen for `min_recall <= 1`.
    pub fn max_precision_at_recall(&self, min_recall: f64) -> Option<OperatingPoint> {
        self.points()
            .into_iter()
            .filter(|p| p.recall >= min_recall)
            .fold(None, |best: Option<OperatingPoint>, p| match best {
                Some(b) if b.precision > p.precision => Some(b),
                _ => Some(p),
            })
    }
}

/// The precision-recall curve of `scores` (higher means class 1) for binary
/// labels `y_true` (0 and 1, at least one 1), as scikit-learn's
/// `precision_recall_curve`.
///
/// ```
/// use aiguide::ml::precision_recall_curve;
/// let pr = precision_recall_curve(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8])?;
/// assert_eq!(pr.thresholds, [0.1, 0.35, 0.4, 0.8]);
/// assert_eq!(pr.recall, [1.0, 1.0, 0.5, 0.5, 0.0]);
/// assert!((pr.average_precision() - 5.0 / 6.0).abs() < 1e-12);
/// # Ok::<(), aiguide::Error>(())
/// ```
pub fn precision_recall_curve(
    y_true: &(impl Values + ?Sized),
    scores: &(impl Values + ?Sized),
) -> Result<PrCurve> {
    let counts = ranked_counts("precision_recall_curve", y_true, scores, false)?;
    let positives = counts.tps[counts.tps.len() - 1];
    let mut curve = PrCurve {
        precision: Vec::with_capacity(counts.tps.len() + 1),
        recall: Vec::with_capacity(counts.tps.len() + 1),
        thresholds: Vec::with_capacity(counts.tps.len()),
    };
    // Lowest threshold first, as scikit-learn orders it.
    for k in (0..counts.tps.len()).rev() {
        let (tp, fp) = (counts.tps[k], counts.fps[k]);
        curve.precision.push(tp / (tp + fp));
        curve.recall.push(tp / positives);
        curve.thresholds.push(counts.thresholds[k]);
    }
    curve.precision.push(1.0);
    curve.recall.push(0.0);
    Ok(curve)
}

/// Average precision of `scores` for binary labels `y_true`: the area under
/// the precision-recall curve as a step sum ([`PrCurve::average_precision`]).
/// A random ranking scores about the share of class 1, not 0.5 as AUC does.
pub fn average_precision_score(
    y_true: &(impl Values + ?Sized),
    scores: &(impl Values + ?Sized),
) -> Result<f64> {
    Ok(precision_recall_curve(y_true, scores)?.average_precision())
}

/// The mean of the squared differences between predictions and truth.
pub fn mean_squared_error(
    y_true: &(impl Values + ?Sized),
    y_pred: &(impl Values + ?Sized),
) -> Result<f64> {
    let (t, p) = (y_true.to_f64s()?, y_pred.to_f64s()?);
    same_length("mean_squared_error", t.len(), p.len())?;
    Ok(t.iter().zip(&p).map(|(a, b)| (a - b).powi(2)).sum::<f64>() / t.len() as f64)
}

/// The coefficient of determination R² (scikit-learn's `r2_score`): the
/// share of the variance of `y_true` that the predictions explain,
/// `1 - SSE / SST`. 1 is perfect, 0 is no better than predicting the mean of
/// `y_true`, and it is negative for worse than that. An error when `y_true`
/// is constant (SST = 0 leaves R² undefined).
pub fn r2_score(y_true: &(impl Values + ?Sized), y_pred: &(impl Values + ?Sized)) -> Result<f64> {
    let (t, p) = (y_true.to_f64s()?, y_pred.to_f64s()?);
    same_length("r2_score", t.len(), p.len())?;
    let mean = t.iter().sum::<f64>() / t.len() as f64;
    let sst: f64 = t.iter().map(|v| (v - mean).powi(2)).sum();
    if sst == 0.0 {
        return Err(Error::InvalidArgument(
            "r2_score: y_true is constant, so R² is undefined; compare mean_squared_error instead"
                .into(),
        ));
    }
    let sse: f64 = t.iter().zip(&p).map(|(a, b)| (a - b).powi(2)).sum();
    Ok(1.0 - sse / sst)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// The guide's example: 10 labels, TN 3, FP 2, FN 2, TP 3.
    const GUIDE_TRUE: [usize; 10] = [1, 1, 1, 1, 1, 0, 0, 0, 0, 0];
    const GUIDE_PRED: [usize; 10] = [1, 1, 1, 0, 0, 0, 0, 0, 1, 1];

    #[test]
    fn confusion_matrix_of_the_guide() {
        let cm = confusion_matrix(&GUIDE_TRUE, &GUIDE_PRED).unwrap();
        assert_eq!(cm, array![[3, 2], [2, 3]]);
        assert!(close(
            accuracy_score(&GUIDE_TRUE, &GUIDE_PRED).unwrap(),
            0.6
        ));
        assert!(close(f1_score(&GUIDE_TRUE, &GUIDE_PRED).unwrap(), 0.6));
    }

    #[test]
    fn report_by_hand() {
        // Class 0: TP 1, predicted 2, support 2 -> P 0.5, R 0.5.
        // Class 1: TP 1, predicted 1, support 2 -> P 1.0, R 0.5, F1 2/3.
        // Class 2: TP 1, predicted 2, support 1 -> P 0.5, R 1.0, F1 2/3.
        let t = [0, 0, 1, 1, 2];
        let p = [0, 2, 1, 0, 2];
        let r = classification_report(&t, &p).unwrap();
        let f1 = [0.5, 2.0 / 3.0, 2.0 / 3.0];
        for (c, s) in r.classes.iter().enumerate() {
            assert!(close(s.f1, f1[c]), "class {c}: {s:?}");
        }
        assert!(close(r.accuracy, 0.6));
        assert!(close(r.macro_avg.precision, 2.0 / 3.0));
        assert!(close(r.macro_avg.f1, (0.5 + 4.0 / 3.0) / 3.0));
        assert!(close(
            r.weighted_avg.recall,
            (2.0 * 0.5 + 2.0 * 0.5 + 1.0) / 5.0
        ));
        assert_eq!(r.macro_avg.support, 5);
        let text = r.with_class_names(["a", "b", "c"]).unwrap().to_string();
        assert!(
            text.contains("b             1.00       0.50    0.67      2"),
            "{text}"
        );
        assert!(
            text.contains("accuracy                         0.60      5"),
            "{text}"
        );
    }

    #[test]
    fn zero_division_is_zero_and_gaps_are_skipped() {
        let r = classification_report(&[0, 0, 2], &[0, 0, 0]).unwrap();
        assert_eq!(r.class_names, ["0", "2"]);
        assert_eq!(r.classes[1].precision, 0.0);
        assert_eq!(r.classes[1].f1, 0.0);
        assert!(r.clone().with_class_names(["only one"]).is_err());
        assert!(classification_report(&[0, 1], &[0]).is_err());
        assert!(classification_report(&[0.5], &[0]).is_err());
    }

    #[test]
    fn roc_curve_of_scikit_learns_example() {
        // sklearn.metrics.roc_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).
        let roc = roc_curve(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]).unwrap();
        assert_eq!(roc.fpr, [0.0, 0.0, 0.5, 0.5, 1.0]);
        assert_eq!(roc.tpr, [0.0, 0.5, 0.5, 1.0, 1.0]);
        assert_eq!(roc.thresholds[1..], [0.8, 0.4, 0.35, 0.1]);
        assert!(roc.thresholds[0].is_infinite());
        assert!(close(roc.auc(), 0.75));
    }

    #[test]
    fn auc_counts_ties_half_and_drops_straight_segments() {
        // Pairs (pos, neg): (0.5 vs 0.5) ties -> 0.5; (0.9 vs 0.5) -> 1; (0.5 vs 0.1), (0.9 vs 0.1) -> 1.
        let auc = roc_auc_score(&[1, 0, 1, 0], &[0.5, 0.5, 0.9, 0.1]).unwrap();
        assert!(close(auc, 3.5 / 4.0));
        // A perfect ranking: the corner point only.
        let roc = roc_curve(&[0, 0, 0, 1, 1, 1], &[1, 2, 3, 4, 5, 6]).unwrap();
        assert_eq!(roc.fpr, [0.0, 0.0, 0.0, 1.0]);
        assert_eq!(roc.tpr, [0.0, 1.0 / 3.0, 1.0, 1.0]);
        assert!(roc_curve(&[1, 1], &[0.1, 0.2]).is_err());
        assert!(roc_curve(&[0, 1], &[0.1, f64::NAN]).is_err());
    }

    #[test]
    fn precision_recall_curve_of_scikit_learns_example() {
        // sklearn.metrics.precision_recall_curve([0, 0, 1, 1], [0.1, 0.4, 0.35, 0.8]).
        let pr = precision_recall_curve(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]).unwrap();
        let precision = [0.5, 2.0 / 3.0, 0.5, 1.0, 1.0];
        assert!(
            pr.precision
                .iter()
                .zip(precision)
                .all(|(a, b)| close(*a, b))
        );
        assert_eq!(pr.recall, [1.0, 1.0, 0.5, 0.5, 0.0]);
        assert_eq!(pr.thresholds, [0.1, 0.35, 0.4, 0.8]);
        // average_precision_score of the same: 0.5 * 2/3 + 0.5 * 1.
        assert!(close(pr.average_precision(), 5.0 / 6.0));
        assert!(close(
            average_precision_score(&[0, 0, 1, 1], &[0.1, 0.4, 0.35, 0.8]).unwrap(),
            5.0 / 6.0
        ));
    }

    #[test]
    fn operating_points_by_hand() {
        // Scores 0.9 0.8 0.7 0.6 0.5 0.4 with labels 1 0 1 1 0 0 (3 positives):
        // threshold 0.9: P 1, R 1/3; 0.8: P 1/2, R 1/3; 0.7: P 2/3, R 2/3;
        // 0.6: P 3/4, R 1; 0.5: P 3/5, R 1; 0.4: P 1/2, R 1.
        let y = [1, 0, 1, 1, 0, 0];
        let s = [0.9, 0.8, 0.7, 0.6, 0.5, 0.4];
        let pr = precision_recall_curve(&y, &s).unwrap();
        let best = pr.best_f1();
        assert_eq!(best.threshold, 0.6);
        assert!(close(best.f1(), 2.0 * 0.75 / 1.75));
        let screening = pr.max_precision_at_recall(0.9).unwrap();
        assert_eq!((screening.threshold, screening.recall), (0.6, 1.0));
        // Recall >= 0.5 is first reached at 0.7, but 0.6 is more precise.
        assert_eq!(pr.max_precision_at_recall(0.5).unwrap().threshold, 0.6);
        // A low bar lets the most precise threshold of all through.
        assert_eq!(pr.max_precision_at_recall(0.2).unwrap().threshold, 0.9);
        assert!(pr.max_precision_at_recall(1.5).is_none());
        // Predicting at the chosen threshold gives the curve's numbers.
        let flagged: Vec<usize> = s.iter().map(|&v| usize::from(v >= 0.6)).collect();
        let report = classification_report(&y, &flagged).unwrap();
        assert!(close(report.classes[1].precision, 0.75) && close(report.classes[1].recall, 1.0));
        let zero = OperatingPoint {
            threshold: 1.0,
            precision: 0.0,
            recall: 0.0,
        };
        assert_eq!(zero.f1(), 0.0);
    }

    #[test]
    fn average_precision_of_constant_and_perfect_scores() {
        // A constant score flags everything at once: AP is the share of class 1.
        let y = [0, 0, 0, 1];
        assert!(close(average_precision_score(&y, &[0.5; 4]).unwrap(), 0.25));
        assert!(close(
            average_precision_score(&y, &[0.1, 0.2, 0.3, 0.9]).unwrap(),
            1.0
        ));
        // Ties share a threshold: one point for the two 0.5 scores.
        let pr = precision_recall_curve(&[1, 0, 1], &[0.5, 0.5, 0.9]).unwrap();
        assert_eq!(pr.thresholds, [0.5, 0.9]);
        // Class 1 must be present (class 0 need not be); scores must be finite.
        assert!(precision_recall_curve(&[0, 0], &[0.1, 0.2]).is_err());
        assert!(precision_recall_curve(&[1, 1], &[0.1, 0.2]).is_ok());
        assert!(precision_recall_curve(&[0, 1], &[0.1, f64::INFINITY]).is_err());
        assert!(precision_recall_curve(&[0, 2], &[0.1, 0.2]).is_err());
    }

    #[test]
    fn mse_by_hand() {
        assert!(close(
            mean_squared_error(&[1.0, 2.0, 3.0], &[1.0, 4.0, 2.0]).unwrap(),
            5.0 / 3.0
        ));
        assert!(mean_squared_error(&[1.0], &Vec::<f64>::new()).is_err());
        // SST = 2, SSE = 0.5 -> 0.75; predicting the mean gives 0.
        assert!(close(
            r2_score(&[1.0, 2.0, 3.0], &[1.5, 2.0, 3.5]).unwrap(),
            0.75
        ));
        assert!(close(r2_score(&[1.0, 2.0, 3.0], &[2.0; 3]).unwrap(), 0.0));
        assert!(r2_score(&[2.0, 2.0], &[1.0, 2.0]).is_err());
        assert!(f1_score(&[0, 2], &[0, 1]).is_err());
    }
}
