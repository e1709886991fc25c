//! Bias as per-group error rates of a binary classifier, and one way to
//! change them.
//!
//! [`group_report`] counts a classifier's hits and misses within each group
//! of an attribute (sex, race: [`Groups`]) and compares the groups' rates: a
//! model can be accurate overall while one group gets most of its false
//! alarms and another most of its misses. The gaps have names in the
//! literature (as in fairlearn): the *demographic parity difference* is the
//! spread of selection rates, the *equalized odds difference* the larger of
//! the spreads of true and false positive rates.
//!
//! [`GroupThresholds`] is a post-processing mitigation (Hardt, Price and
//! Srebro 2016, *Equality of Opportunity in Supervised Learning*): keep the
//! model, but give each group its own decision threshold on the score, chosen
//! on validation data so that every group has the same true positive rate
//! ("equal opportunity").
//!
//! ```
//! use aiguide::data::Groups;
//! use aiguide::fairness::group_report;
//! use ndarray::array;
//! let groups = Groups::new("g", ["a", "b"], array![0, 0, 1, 1])?;
//! let report = group_report(&[1, 0, 1, 0], &[1, 1, 1, 0], &groups)?;
//! assert_eq!(report.group("a")?.fpr(), 1.0);
//! assert_eq!(report.equalized_odds_difference(), 1.0);
//! # Ok::<(), aiguide::Error>(())
//! ```

use std::fmt;

use ndarray::Array1;

use crate::data::Groups;
use crate::display::Table;
use crate::plot::Values;
use crate::plot::input::class_labels;
use crate::{Error, Result};

/// The four counts of binary predictions against the truth (class 1 is the
/// positive class), and the rates they define. A rate whose denominator is
/// zero (the TPR of a group without positives) is NaN.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Confusion {
    /// Positives predicted positive.
    pub true_pos: usize,
    /// Negatives predicted positive (false alarms).
    pub false_pos: usize,
    /// Negatives predicted negative.
    pub true_neg: usize,
    /// Positives predicted negative (misses).
    pub false_neg: usize,
}

impl Confusion {
    fn add(&mut self, truth: usize, predicted: usize) {
        match (truth, predicted) {
            (1, 1) => self.true_pos += 1,
            (0, 1) => self.false_pos += 1,
            (0, _) => self.true_neg += 1,
            _ => self.false_neg += 1,
        }
    }

    /// Number of samples.
    pub fn count(&self) -> usize {
        self.true_pos + self.false_pos + self.true_neg + self.false_neg
    }

    /// Fraction of samples that are positive, P(y = 1).
    pub fn base_rate(&self) -> f64 {
        ratio(self.true_pos + self.false_neg, self.count())
    }

    /// Fraction of samples predicted positive, P(ŷ = 1).
    pub fn selection_rate(&self) -> f64 {
        ratio(self.true_pos + self.false_pos, self.count())
    }

    /// Fraction of correct predictions.
    pub fn accuracy(&self) -> f64 {
        ratio(self.true_pos + self.true_neg, self.count())
    }

    /// Fraction of wrong predictions, 1 - accuracy.
    pub fn error_rate(&self) -> f64 {
        ratio(self.false_pos + self.false_neg, self.count())
    }

    /// True positive rate (recall): of the positives, the fraction found.
    pub fn tpr(&self) -> f64 {
        ratio(self.true_pos, self.true_pos + self.false_neg)
    }

    /// False positive rate: of the negatives, the fraction predicted positive.
    pub fn fpr(&self) -> f64 {
        ratio(self.false_pos, self.false_pos + self.true_neg)
    }

    /// False negative rate: of the positives, the fraction missed, 1 - TPR.
    pub fn fnr(&self) -> f64 {
        ratio(self.false_neg, self.true_pos + self.false_neg)
    }
}

/// One of [`Confusion`]'s rates.
type Rate = fn(&Confusion) -> f64;

/// The rates a [`GroupReport`] table shows, with their column names.
const RATES: [(&str, Rate); 7] = [
    ("base rate", Confusion::base_rate),
    ("selection rate", Confusion::selection_rate),
    ("accuracy", Confusion::accuracy),
    ("error rate", Confusion::error_rate),
    ("TPR", Confusion::tpr),
    ("FPR", Confusion::fpr),
    ("FNR", Confusion::fnr),
];

fn ratio(a: usize, b: usize) -> f64 {
    if b == 0 {
        f64::NAN
    } else {
        a as f64 / b as f64
    }
}

/// A classifier's [`Confusion`] in each group of one attribute and over all
/// samples. Shows as a table in a notebook; `{}` prints it as text.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupReport {
    /// The attribute, e.g. `sex`.
    pub attribute: String,
    /// Each group that has samples, by name, in the attribute's order.
    pub groups: Vec<(String, Confusion)>,
    /// All samples together.
    pub overall: Confusion,
}

/// The [`GroupReport`] of binary predictions `y_pred` (0 or 1) against
/// `y_true`, one group per sample from `groups`.
pub fn group_report(
    y_true: &(impl Values + ?Sized),
    y_pred: &(impl Values + ?Sized),
    groups: &Groups,
) -> Result<GroupReport> {
    let truth = binary_labels("group_report", "y_true", y_true, groups)?;
    let predicted = binary_labels("group_report", "y_pred", y_pred, groups)?;
    let mut per_group = vec![Confusion::default(); groups.names().len()];
    let mut overall = Confusion::default();
    for ((&t, &p), &g) in truth.iter().zip(&predicted).zip(groups.ids()) {
        per_group[g].add(t, p);
        overall.add(t, p);
    }
    Ok(GroupReport {
        attribute: groups.attribute().to_string(),
        groups: groups
            .names()
            .iter()
            .cloned()
            .zip(per_group)
            .filter(|(_, c)| c.count() > 0)
            .collect(),
        overall,
    })
}

/// Labels that are 0 or 1, one per sample of `groups`.
fn binary_labels(
    what: &str,
    name: &str,
    labels: &(impl Values + ?Sized),
    groups: &Groups,
) -> Result<Vec<usize>> {
    let labels = class_labels(what, labels)?;
    if labels.len() != groups.len() || labels.is_empty() {
        return Err(Error::InvalidArgument(format!(
            "{what}: {} values in {name} for {} samples in groups `{}`; pass one per sample, at \
             least one",
            labels.len(),
            groups.len(),
            groups.attribute()
        )));
    }
    if let Some(bad) = labels.iter().find(|&&l| l > 1) {
        return Err(Error::InvalidArgument(format!(
            "{what}: {name} has class {bad}; binary labels are 0 or 1 (1 = the positive class)"
        )));
    }
    Ok(labels)
}

impl GroupReport {
    /// The counts of the group named `name`.
    pub fn group(&self, name: &str) -> Result<&Confusion> {
        self.groups
            .iter()
            .find(|(n, _)| n == name)
            .map(|(_, c)| c)
            .ok_or_else(|| {
                let names: Vec<&str> = self.groups.iter().map(|(n, _)| n.as_str()).collect();
                Error::InvalidArgument(format!(
                    "no group `{name}` with samples in this `{}` report; it has {}",
                    self.attribute,
                    names.join(", ")
                ))
            })
    }

    /// The largest minus the smallest value of `rate` over the groups, e.g.
    /// `report.gap(Confusion::fpr)`. Groups where the rate is undefined (NaN)
    /// are left out, as fairlearn does; NaN if it is undefined everywhere.
    pub fn gap(&self, rate: impl Fn(&Confusion) -> f64) -> f64 {
        let values = self
            .groups
            .iter()
            .map(|(_, c)| rate(c))
            .filter(|v| !v.is_nan());
        let (lo, hi) = values.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        if lo > hi { f64::NAN } else { hi - lo }
    }

    /// Spread of the selection rates: 0 when every group is predicted
    /// positive equally often, whatever their base rates.
    pub fn demographic_parity_difference(&self) -> f64 {
        self.gap(Confusion::selection_rate)
    }

    /// The larger of the TPR and FPR spreads: 0 when the groups' errors
    /// are alike among positives and among negatives.
    pub fn equalized_odds_difference(&self) -> f64 {
        self.gap(Confusion::tpr).max(self.gap(Confusion::fpr))
    }

    /// One row per group, one for all samples and one with each rate's gap;
    /// the caption gives both named differences.
    pub fn table(&self) -> Table {
        let headers = [self.attribute.as_str(), "count"]
            .into_iter()
            .chain(RATES.iter().map(|(name, _)| *name));
        let mut table = Table::new(headers);
        let named = self.groups.iter().map(|(n, c)| (n.as_str(), c));
        for (name, c) in named.chain([("all", &self.overall)]) {
            let rates = RATES.iter().map(|(_, rate)| cell(rate(c)));
            table.push_row(
                [name.to_string(), c.count().to_string()]
                    .into_iter()
                    .chain(rates),
            );
        }
        let gaps = RATES.iter().map(|(_, rate)| cell(self.gap(rate)));
        table.push_row(
            ["gap (max - min)".to_string(), String::new()]
                .into_iter()
                .chain(gaps),
        );
        table.with_caption(format!(
            "{}: demographic parity difference {}, equalized odds difference {}",
            self.attribute,
            cell(self.demographic_parity_difference()),
            cell(self.equalized_odds_difference())
        ))
    }

    /// Shows the table in a notebook.
    pub fn evcxr_display(&self) {
        self.table().evcxr_display();
    }
}

impl fmt::Display for GroupReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.table().to_text())
    }
}

/// A rate in three decimals, `n/a` when undefined.
fn cell(v: f64) -> String {
    if v.is_nan() {
        "n/a".into()
    } else {
        format!("{v:.3}")
    }
}

/// One decision threshold per group: a sample is predicted positive when its
/// score is at least its group's threshold. Chosen for equal opportunity
/// (Hardt et al. 2016): every group gets the same true positive rate, so a
/// qualified person's chance of being selected does not depend on the group.
///
/// Choose the thresholds on validation data, never on the test data they are
/// judged on. Hardt et al. randomise between two thresholds to make the rates
/// exactly equal; here each group takes the highest threshold that reaches
/// the target, so a group with `P` positives lands within `1/P` above it.
/// Equal TPRs do not make FPRs or selection rates equal: when base rates
/// differ, no threshold rule equalises everything at once.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupThresholds {
    attribute: String,
    names: Vec<String>,
    thresholds: Vec<f64>,
    target_tpr: f64,
}

/// The scores of one group's positives (highest first) and negatives
/// (lowest first), to count those on either side of a threshold.
struct SortedScores {
    positives: Vec<f64>,
    negatives: Vec<f64>,
}

impl SortedScores {
    /// The highest threshold at which at least a fraction `tpr` of the
    /// positives score at or above it: the k-th highest positive score, with
    /// k = ceil(tpr * positives).
    fn threshold_for(&self, tpr: f64) -> f64 {
        let p = self.positives.len() as f64;
        let k = ((tpr * p - 1e-9).ceil() as usize).clamp(1, self.positives.len());
        self.positives[k - 1]
    }

    /// Correct predictions with this threshold.
    fn correct_at(&self, threshold: f64) -> usize {
        self.positives.partition_point(|&s| s >= threshold)
            + self.negatives.partition_point(|&s| s < threshold)
    }
}

impl GroupThresholds {
    /// Per group, the highest threshold whose true positive rate on
    /// (`scores`, `y_true`) is at least `tpr` (in (0, 1]). Every group needs
    /// a positive sample.
    pub fn for_tpr(
        scores: &(impl Values + ?Sized),
        y_true: &(impl Values + ?Sized),
        groups: &Groups,
        tpr: f64,
    ) -> Result<GroupThresholds> {
        if !(tpr > 0.0 && tpr <= 1.0) {
            return Err(Error::InvalidArgument(format!(
                "GroupThresholds::for_tpr: target TPR {tpr} is not in (0, 1]"
            )));
        }
        let sorted = sort_by_group("GroupThresholds::for_tpr", scores, y_true, groups)?;
        Ok(GroupThresholds::at(groups, &sorted, tpr))
    }

    /// Equal opportunity at the target TPR that makes the most correct
    /// predictions on (`scores`, `y_true`), trying every TPR a group can
    /// reach (k / its positives). Every group needs a positive sample.
    pub fn equal_opportunity(
        scores: &(impl Values + ?Sized),
        y_true: &(impl Values + ?Sized),
        groups: &Groups,
    ) -> Result<GroupThresholds> {
        let sorted = sort_by_group("GroupThresholds::equal_opportunity", scores, y_true, groups)?;
        let mut targets: Vec<f64> = sorted
            .iter()
            .flat_map(|s| {
                let p = s.positives.len();
                (1..=p).map(move |k| k as f64 / p as f64)
            })
            .collect();
        targets.sort_by(f64::total_cmp);
        targets.dedup();
        let correct = |tpr: f64| -> usize {
            sorted
                .iter()
                .map(|s| s.correct_at(s.threshold_for(tpr)))
                .sum()
        };
        // The first target with the most correct predictions: the lowest on ties.
        let best = targets
            .iter()
            .copied()
            .rev()
            .max_by_key(|&t| correct(t))
            .expect("every group has a positive, so there is a target");
        Ok(GroupThresholds::at(groups, &sorted, best))
    }

    fn at(groups: &Groups, sorted: &[SortedScores], tpr: f64) -> GroupThresholds {
        GroupThresholds {
            attribute: groups.attribute().to_string(),
            names: groups.names().to_vec(),
            thresholds: sorted.iter().map(|s| s.threshold_for(tpr)).collect(),
            target_tpr: tpr,
        }
    }

    /// The threshold of each group, in the order of the groups' names.
    pub fn thresholds(&self) -> &[f64] {
        &self.thresholds
    }

    /// The true positive rate the thresholds were chosen to reach.
    pub fn target_tpr(&self) -> f64 {
        self.target_tpr
    }

    /// 1 where a sample's score reaches its group's threshold, else 0.
    /// `groups` must be of the attribute, with the groups, the thresholds
    /// were chosen for.
    pub fn predict(
        &self,
        scores: &(impl Values + ?Sized),
        groups: &Groups,
    ) -> Result<Array1<usize>> {
        if groups.attribute() != self.attribute || groups.names() != self.names {
            return Err(Error::InvalidArgument(format!(
                "GroupThresholds::predict: thresholds are for `{}` ({}), got groups of `{}` ({})",
                self.attribute,
                self.names.join(", "),
                groups.attribute(),
                groups.names().join(", ")
            )));
        }
        let scores = checked_scores("GroupThresholds::predict", scores, groups)?;
        Ok(scores
            .iter()
            .zip(groups.ids())
            .map(|(&s, &g)| usize::from(s >= self.thresholds[g]))
            .collect())
    }

    /// The thresholds as a table, one row per group.
    pub fn table(&self) -> Table {
        let mut table = Table::new([self.attribute.as_str(), "threshold"]);
        for (name, t) in self.names.iter().zip(&self.thresholds) {
            table.push_row([name.clone(), format!("{t:.4}")]);
        }
        table.with_caption(format!(
            "per-group thresholds for a true positive rate of at least {:.3}",
            self.target_tpr
        ))
    }

    /// Shows the table in a notebook.
    pub fn evcxr_display(&self) {
        self.table().evcxr_display();
    }
}

/// Scores, one finite number per sample of `groups`.
fn checked_scores(
    what: &str,
    scores: &(impl Values + ?Sized),
    groups: &Groups,
) -> Result<Vec<f64>> {
    let scores = scores.to_f64s()?;
    if scores.len() != groups.len() {
        return Err(Error::InvalidArgument(format!(
            "{what}: {} scores for {} samples in groups `{}`; pass one per sample",
            scores.len(),
            groups.len(),
            groups.attribute()
        )));
    }
    if let Some(bad) = scores.iter().find(|s| !s.is_finite()) {
        return Err(Error::InvalidArgument(format!(
            "{what}: score {bad} is not a finite number"
        )));
    }
    Ok(scores)
}

/// Each group's scores split by label and sorted; an error names a group
/// without positives, whose TPR no threshold can set.
fn sort_by_group(
    what: &str,
    scores: &(impl Values + ?Sized),
    y_true: &(impl Values + ?Sized),
    groups: &Groups,
) -> Result<Vec<SortedScores>> {
    let scores = checked_scores(what, scores, groups)?;
    let truth = binary_labels(what, "y_true", y_true, groups)?;
    let mut sorted: Vec<SortedScores> = groups
        .names()
        .iter()
        .map(|_| SortedScores {
            positives: Vec::new(),
            negatives: Vec::new(),
        })
        .collect();
    for ((&s, &t), &g) in scores.iter().zip(&truth).zip(groups.ids()) {
        let group = &mut sorted[g];
        if t == 1 {
            &mut group.positives
        } else {
            &mut group.negatives
        }
        .push(s);
    }
    for (s, name) in sorted.iter_mut().zip(groups.names()) {
        if s.positives.is_empty() {
            return Err(Error::InvalidArgument(format!(
                "{what}: group `{name}` of `{}` has no positive sample here, so no threshold sets \
                 its true positive rate; choose thresholds on data with positives in every group \
                 (a larger validation set)",
                groups.attribute()
            )));
        }
        s.positives.sort_by(|a, b| b.total_cmp(a));
        s.negatives.sort_by(f64::total_cmp);
    }
    Ok(sorted)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn close(a: f64, b: f64) -> bool {
        (a - b).abs() < 1e-12
    }

    /// Two groups of five, interleaved:
    ///   a: truth 1 1 0 0 0, predicted 1 0 1 0 0 -> TP 1, FN 1, FP 1, TN 2
    ///   b: truth 1 1 1 0 0, predicted 1 1 1 1 0 -> TP 3, FN 0, FP 1, TN 1
    fn two_groups() -> (Vec<usize>, Vec<usize>, Groups) {
        let truth = vec![1, 1, 1, 1, 0, 1, 0, 0, 0, 0];
        let pred = vec![1, 1, 0, 1, 1, 1, 0, 1, 0, 0];
        let groups = Groups::new("g", ["a", "b"], array![0, 1, 0, 1, 0, 1, 0, 1, 0, 1]).unwrap();
        (truth, pred, groups)
    }

    #[test]
    fn rates_by_hand() {
        let (truth, pred, groups) = two_groups();
        let report = group_report(&truth, &pred, &groups).unwrap();
        let a = report.group("a").unwrap();
        let b = report.group("b").unwrap();
        assert_eq!(
            (a.true_pos, a.false_neg, a.false_pos, a.true_neg),
            (1, 1, 1, 2)
        );
        assert_eq!(
            (b.true_pos, b.false_neg, b.false_pos, b.true_neg),
            (3, 0, 1, 1)
        );
        // a: base 2/5, selected 2/5, correct 3/5, TPR 1/2, FPR 1/3, FNR 1/2.
        let rates = |c: &Confusion| {
            [
                c.base_rate(),
                c.selection_rate(),
                c.accuracy(),
                c.error_rate(),
                c.tpr(),
                c.fpr(),
                c.fnr(),
            ]
        };
        let expected_a = [0.4, 0.4, 0.6, 0.4, 0.5, 1.0 / 3.0, 0.5];
        // b: base 3/5, selected 4/5, correct 4/5, TPR 3/3, FPR 1/2, FNR 0.
        let expected_b = [0.6, 0.8, 0.8, 0.2, 1.0, 0.5, 0.0];
        // all: TP 4, FN 1, FP 2, TN 3 -> base 5/10, selected 6/10, correct
        // 7/10, TPR 4/5, FPR 2/5, FNR 1/5.
        let expected_all = [0.5, 0.6, 0.7, 0.3, 0.8, 0.4, 0.2];
        for (c, expected) in [
            (a, expected_a),
            (b, expected_b),
            (&report.overall, expected_all),
        ] {
            let got = rates(c);
            assert!(
                got.iter().zip(&expected).all(|(g, e)| close(*g, *e)),
                "{got:?}"
            );
        }
        assert_eq!(report.overall.count(), 10);
        // Selection rates 0.4 and 0.8; TPR gap 1/2, FPR gap 1/2 - 1/3 = 1/6.
        assert!(close(report.demographic_parity_difference(), 0.4));
        assert!(close(report.gap(Confusion::fpr), 1.0 / 6.0));
        assert!(close(report.equalized_odds_difference(), 0.5));
    }

    #[test]
    fn table_lists_groups_all_and_gaps() {
        let (truth, pred, groups) = two_groups();
        let table = group_report(&truth, &pred, &groups).unwrap().table();
        let names: Vec<&str> = table.rows().iter().map(|r| r[0].as_str()).collect();
        assert_eq!(names, ["a", "b", "all", "gap (max - min)"]);
        assert_eq!(
            table.rows()[0],
            [
                "a", "5", "0.400", "0.400", "0.600", "0.400", "0.500", "0.333", "0.500"
            ]
        );
        assert_eq!(table.rows()[3][7], "0.167");
        assert!(table.to_text().starts_with(
            "g: demographic parity difference 0.400, equalized odds difference 0.500"
        ));
    }

    #[test]
    fn undefined_rates_and_empty_groups() {
        // Group c has only negatives (TPR undefined), group d no samples.
        let groups = Groups::new("g", ["a", "c", "d"], array![0, 0, 1, 1]).unwrap();
        let report = group_report(&[1, 0, 0, 0], &[1, 0, 1, 0], &groups).unwrap();
        assert_eq!(report.groups.len(), 2);
        let c = report.group("c").unwrap();
        assert!(c.tpr().is_nan() && c.fnr().is_nan());
        assert_eq!(c.fpr(), 0.5);
        // TPR is defined for a only: no gap; FPR 0 vs 0.5.
        assert_eq!(report.gap(Confusion::tpr), 0.0);
        assert_eq!(report.equalized_odds_difference(), 0.5);
        assert_eq!(report.table().rows()[1][6], "n/a");
        let err = report.group("d").unwrap_err().to_string();
        assert!(
            err.contains("no group `d`") && err.contains("a, c"),
            "{err}"
        );
    }

    #[test]
    fn report_rejects_bad_labels() {
        let groups = Groups::new("g", ["a"], array![0, 0]).unwrap();
        let err = group_report(&[0, 2], &[0, 1], &groups)
            .unwrap_err()
            .to_string();
        assert!(err.contains("y_true has class 2"), "{err}");
        let err = group_report(&[0, 1], &[0], &groups)
            .unwrap_err()
            .to_string();
        assert!(err.contains("1 values in y_pred for 2 samples"), "{err}");
        let err = group_report(&[0.5, 1.0], &[0, 1], &groups)
            .unwrap_err()
            .to_string();
        assert!(err.contains("whole numbers"), "{err}");
    }

    /// Group a: positives 0.9 0.6 0.4 0.2, negatives 0.7 0.3 0.25.
    /// Group b: positives 0.8 0.7 0.5 0.35, negatives 0.45 0.3 0.2 0.1.
    fn scored() -> (Vec<f64>, Vec<usize>, Groups) {
        let a = [
            (0.9, 1),
            (0.6, 1),
            (0.4, 1),
            (0.2, 1),
            (0.7, 0),
            (0.3, 0),
            (0.25, 0),
        ];
        let b = [
            (0.8, 1),
            (0.7, 1),
            (0.5, 1),
            (0.35, 1),
            (0.45, 0),
            (0.3, 0),
            (0.2, 0),
            (0.1, 0),
        ];
        let rows: Vec<(f64, usize, usize)> = a
            .iter()
            .map(|&(s, y)| (s, y, 0))
            .chain(b.iter().map(|&(s, y)| (s, y, 1)))
            .collect();
        let ids = rows.iter().map(|r| r.2).collect();
        (
            rows.iter().map(|r| r.0).collect(),
            rows.iter().map(|r| r.1).collect(),
            Groups::new("g", ["a", "b"], ids).unwrap(),
        )
    }

    #[test]
    fn thresholds_for_a_tpr_by_hand() {
        let (scores, truth, groups) = scored();
        // TPR >= 0.5 needs 2 of 4 positives in each group: a 0.6, b 0.7.
        let half = GroupThresholds::for_tpr(&scores, &truth, &groups, 0.5).unwrap();
        assert_eq!(half.thresholds(), [0.6, 0.7]);
        // TPR >= 0.6 needs ceil(2.4) = 3 of 4: a 0.4, b 0.5.
        let more = GroupThresholds::for_tpr(&scores, &truth, &groups, 0.6).unwrap();
        assert_eq!(more.thresholds(), [0.4, 0.5]);
        // Only 1.0 reaches every positive: the lowest positive scores.
        let all = GroupThresholds::for_tpr(&scores, &truth, &groups, 1.0).unwrap();
        assert_eq!(all.thresholds(), [0.2, 0.35]);
    }

    #[test]
    fn equal_opportunity_by_hand() {
        let (scores, truth, groups) = scored();
        // One threshold 0.5 for all: a finds 2 of 4 positives (TPR 0.5) and
        // 2 of 3 negatives stay below; b finds 3 of 4 (TPR 0.75), all 4
        // negatives below: 11 of 15 correct, TPR gap 0.25.
        let single: Vec<usize> = scores.iter().map(|&s| usize::from(s >= 0.5)).collect();
        let before = group_report(&truth, &single, &groups).unwrap();
        assert!(close(before.gap(Confusion::tpr), 0.25));
        assert!(close(before.overall.accuracy(), 11.0 / 15.0));
        // Targets 1/4, 2/4, 3/4, 1 give thresholds (a, b) and correct counts
        // (0.9, 0.8): 4 + 5; (0.6, 0.7): 4 + 6; (0.4, 0.5): 5 + 7;
        // (0.2, 0.35): 4 + 7. The best is TPR 3/4 with 12 of 15 correct.
        let fair = GroupThresholds::equal_opportunity(&scores, &truth, &groups).unwrap();
        assert_eq!(fair.target_tpr(), 0.75);
        assert_eq!(fair.thresholds(), [0.4, 0.5]);
        let after =
            group_report(&truth, &fair.predict(&scores, &groups).unwrap(), &groups).unwrap();
        assert_eq!(after.gap(Confusion::tpr), 0.0);
        assert!(close(after.group("a").unwrap().tpr(), 0.75));
        assert!(close(after.overall.accuracy(), 0.8));
        assert!(fair.table().to_text().contains("b  0.5000"));
    }

    #[test]
    fn thresholds_reject_bad_input() {
        let (scores, truth, groups) = scored();
        for tpr in [0.0, 1.5, f64::NAN] {
            assert!(GroupThresholds::for_tpr(&scores, &truth, &groups, tpr).is_err());
        }
        let no_positives = vec![0; truth.len()];
        let err = GroupThresholds::equal_opportunity(&scores, &no_positives, &groups)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("group `a` of `g` has no positive sample"),
            "{err}"
        );
        let mut bad_scores = scores.clone();
        bad_scores[3] = f64::NAN;
        let err = GroupThresholds::equal_opportunity(&bad_scores, &truth, &groups)
            .unwrap_err()
            .to_string();
        assert!(err.contains("not a finite number"), "{err}");
        let fair = GroupThresholds::equal_opportunity(&scores, &truth, &groups).unwrap();
        let other = Groups::new("h", ["a", "b"], groups.ids().clone()).unwrap();
        let err = fair.predict(&scores, &other).unwrap_err().to_string();
        assert!(
            err.contains("thresholds are for `g` (a, b), got groups of `h`"),
            "{err}"
        );
        assert!(fair.predict(&scores[..3], &groups).is_err());
    }
}
