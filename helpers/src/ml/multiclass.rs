//! Many classes from binary classifiers, the way scikit-learn's `SVC` does
//! it: one-vs-one (OvO). linfa's SVM is binary, and linfa's own multi-class
//! wrapper (`MultiClassModel` over `one_vs_all`) is one-vs-rest (OvR): one
//! "this class or not" model per class. OvR asks a linear model to cut a
//! class out of all the others at once, which fails for a class that lies
//! between two others (iris's versicolor); OvO only ever separates two
//! classes, so `K (K - 1) / 2` small problems replace `K` hard ones.

use ndarray::{Array1, Array2};

use super::FitResult;
use crate::data::Tabular;
use crate::{Error, Result};

/// scikit-learn's one-vs-one decision function (`SVC.decision_function`
/// with its default `decision_function_shape="ovr"`): one row per row of
/// `x`, one column per class, and [`argmax_rows`](super::argmax_rows) of it
/// is `SVC.predict`.
///
/// For every pair of classes `i < j` present in `train`,
/// `fit_decision(pair, x)` fits a binary model on the rows of the two
/// classes (`pair.y` is 1 for class `j`, 0 for class `i`; `pair.class_names`
/// are the two classes' names) and returns one score per row of `x`,
/// positive for class `j`. Each pair casts one vote; ties between classes
/// with equal votes are broken by the summed confidences, squashed into
/// `(-1/3, 1/3)` so they never outweigh a vote. Classes absent from `train`
/// get `-inf`.
///
/// ```
/// use aiguide::data::Tabular;
/// use aiguide::ml::{argmax_rows, one_vs_one};
/// use ndarray::{Array1, array};
///
/// // Three classes on a line around 0, 5 and 10.
/// let x = array![[0.0], [1.0], [5.0], [6.0], [10.0], [11.0]];
/// let train = Tabular::new("line", x, array![0, 0, 1, 1, 2, 2], vec!["x".into()], vec![])?;
/// // A binary "model": the midpoint between the two class means.
/// let scores = one_vs_one(&train, &array![[0.4], [5.2], [9.0]], |pair, x| {
///     let mean = |c| pair.x.column(0).iter().zip(&pair.y).filter(|(_, y)| **y == c).map(|(v, _)| *v).sum::<f64>() / 2.0;
///     let middle = (mean(0) + mean(1)) / 2.0;
///     Ok(x.column(0).mapv(|v| v - middle))
/// })?;
/// assert_eq!(argmax_rows(&scores).to_vec(), [0, 1, 2]);
/// # Ok::<(), aiguide::Error>(())
/// ```
pub fn one_vs_one<F>(
    train: &Tabular<usize>,
    x: &Array2<f64>,
    mut fit_decision: F,
) -> Result<Array2<f64>>
where
    F: FnMut(&Tabular<usize>, &Array2<f64>) -> FitResult<Array1<f64>>,
{
    let n_classes = train
        .y
        .iter()
        .max()
        .map_or(0, |m| m + 1)
        .max(train.class_names.len());
    let present: Vec<usize> = (0..n_classes)
        .filter(|c| train.y.iter().any(|y| y == c))
        .collect();
    if present.len() < 2 {
        return Err(Error::InvalidArgument(format!(
            "one_vs_one: the training rows hold {} class(es); need at least 2",
            present.len()
        )));
    }
    let name = |c: usize| {
        train
            .class_names
            .get(c)
            .cloned()
            .unwrap_or_else(|| c.to_string())
    };
    let mut votes = Array2::<f64>::zeros((x.nrows(), n_classes));
    let mut confidence = Array2::<f64>::zeros((x.nrows(), n_classes));
    for (a, &i) in present.iter().enumerate() {
        for &j in &present[a + 1..] {
            let rows: Vec<usize> = (0..train.len())
                .filter(|&r| train.y[r] == i || train.y[r] == j)
                .collect();
            let mut pair = train.select(&rows);
            pair.y.mapv_inplace(|c| usize::from(c == j));
            pair.class_names = vec![name(i), name(j)];
            let scores = fit_decision(&pair, x).map_err(|e| {
                Error::InvalidArgument(format!(
                    "one_vs_one: the model for classes {i} vs {j} failed: {e}"
                ))
            })?;
            if scores.len() != x.nrows() {
                return Err(Error::InvalidArgument(format!(
                    "one_vs_one: the model for classes {i} vs {j} returned {} scores for {} rows",
                    scores.len(),
                    x.nrows()
                )));
            }
            for (r, &s) in scores.iter().enumerate() {
                let winner = if s > 0.0 { j } else { i };
                votes[[r, winner]] += 1.0;
                confidence[[r, j]] += s;
                confidence[[r, i]] -= s;
            }
        }
    }
    let mut decision = votes + confidence.mapv(|c| c / (3.0 * (c.abs() + 1.0)));
    for c in (0..n_classes).filter(|c| !present.contains(c)) {
        decision.column_mut(c).fill(f64::NEG_INFINITY);
    }
    Ok(decision)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ml::argmax_rows;
    use ndarray::array;

    fn table(x: Array2<f64>, y: Array1<usize>, classes: &[&str]) -> Tabular<usize> {
        let features = (0..x.ncols()).map(|c| format!("x{c}")).collect();
        Tabular::new(
            "test",
            x,
            y,
            features,
            classes.iter().map(|c| c.to_string()).collect(),
        )
        .unwrap()
    }

    #[test]
    fn each_pair_sees_only_its_two_classes() {
        let train = table(
            array![[0.0], [1.0], [2.0], [3.0]],
            array![0, 1, 2, 2],
            &["a", "b", "c"],
        );
        let mut seen = Vec::new();
        one_vs_one(&train, &array![[0.0]], |pair, x| {
            seen.push((pair.class_names.clone(), pair.y.to_vec()));
            Ok(Array1::zeros(x.nrows()))
        })
        .unwrap();
        let names = |a: &str, b: &str| vec![a.to_string(), b.to_string()];
        assert_eq!(
            seen,
            [
                (names("a", "b"), vec![0, 1]),
                (names("a", "c"), vec![0, 1, 1]),
                (names("b", "c"), vec![0, 1, 1]),
            ]
        );
    }

    #[test]
    fn votes_decide_and_confidences_break_ties() {
        let train = table(
            array![[0.0], [1.0], [2.0]],
            array![0, 1, 2],
            &["a", "b", "c"],
        );
        // Row 0: a beats b and c: 2 votes for a. Row 1: a cycle, one vote each:
        // (a, b) -> b with 0.5, (a, c) -> a with 0.2, (b, c) -> c with 0.1.
        // Confidences: a = -0.5 + 0.2 = -0.3, b = 0.5 - 0.1 = 0.4, c = -0.2 + 0.1 = -0.1.
        let scores = |names: &[String]| match (names[0].as_str(), names[1].as_str()) {
            ("a", "b") => array![-1.0, 0.5],
            ("a", "c") => array![-1.0, -0.2],
            _ => array![1.0, 0.1],
        };
        let decision = one_vs_one(&train, &array![[0.0], [0.0]], |pair, _| {
            Ok(scores(&pair.class_names))
        })
        .unwrap();
        assert_eq!(argmax_rows(&decision).to_vec(), [0, 1]);
        let squash = |c: f64| c / (3.0 * (c.abs() + 1.0));
        let expected = [1.0 + squash(-0.3), 1.0 + squash(0.4), 1.0 + squash(-0.1)];
        for (got, want) in decision.row(1).iter().zip(expected) {
            assert!((got - want).abs() < 1e-12, "{got} vs {want}");
        }
    }

    #[test]
    fn absent_classes_and_bad_models_are_reported() {
        // Class 1 is named but has no rows: it can never win.
        let train = table(array![[0.0], [2.0]], array![0, 2], &["a", "b", "c"]);
        let decision =
            one_vs_one(&train, &array![[1.0]], |_, x| Ok(Array1::ones(x.nrows()))).unwrap();
        assert_eq!(decision.ncols(), 3);
        assert_eq!(decision[[0, 1]], f64::NEG_INFINITY);
        assert_eq!(argmax_rows(&decision).to_vec(), [2]);

        let one_class = table(array![[0.0], [1.0]], array![1, 1], &[]);
        assert!(
            one_vs_one(&one_class, &array![[0.0]], |_, x| Ok(Array1::zeros(
                x.nrows()
            )))
            .is_err()
        );
        let short = one_vs_one(&train, &array![[0.0], [1.0]], |_, _| Ok(Array1::zeros(1)));
        assert!(
            short
                .unwrap_err()
                .to_string()
                .contains("returned 1 scores for 2 rows")
        );
        let failing = one_vs_one(&train, &array![[0.0]], |_, _| Err("no convergence".into()));
        assert!(failing.unwrap_err().to_string().contains("no convergence"));
    }
}
