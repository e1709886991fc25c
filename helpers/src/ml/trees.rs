//! What linfa's trees and forests do not print or compute themselves: a
//! tree as indented text (scikit-learn's `export_text`), the class vote
//! shares of a random forest (its `predict_proba`), the forest's feature
//! importances (its `feature_importances_`), and the weighted vote shares of
//! an AdaBoost ensemble.

use linfa::traits::PredictInplace;
use linfa_ensemble::{AdaBoost, RandomForest};
use linfa_trees::{DecisionTree, TreeNode};
use ndarray::{Array1, Array2, Axis};

use super::argmax_rows;
use crate::{Error, Result};

/// A fitted tree as text, one line per decision or leaf, like scikit-learn's
/// `export_text`. linfa sends a sample left when `feature < threshold`
/// (scikit-learn: `<=`), so the lines read `<` and `>=`.
///
/// `feature_names` and `class_names` name the columns and classes (numbers
/// are used where a name is missing).
pub fn tree_text<S: AsRef<str>, T: AsRef<str>>(
    tree: &DecisionTree<f64, usize>,
    feature_names: &[S],
    class_names: &[T],
) -> String {
    let mut out = String::new();
    write_node(tree.root_node(), 0, feature_names, class_names, &mut out);
    out
}

fn write_node<S: AsRef<str>, T: AsRef<str>>(
    node: &TreeNode<f64, usize>,
    depth: usize,
    features: &[S],
    classes: &[T],
    out: &mut String,
) {
    let indent = "|   ".repeat(depth);
    if let Some(class) = node.prediction() {
        let name = classes
            .get(class)
            .map_or(class.to_string(), |n| n.as_ref().to_string());
        out.push_str(&format!("{indent}|--- class: {name}\n"));
        return;
    }
    let (feature, threshold, _) = node.split();
    let name = features
        .get(feature)
        .map_or(format!("feature_{feature}"), |n| n.as_ref().to_string());
    for (child, op) in node.children().into_iter().zip(["< ", ">="]) {
        out.push_str(&format!("{indent}|--- {name} {op} {threshold:.2}\n"));
        if let Some(child) = child {
            write_node(child, depth + 1, features, classes, out);
        }
    }
}

/// The share of a random forest's trees that vote for each class (one row
/// per row of `x`, one column per class `0..n_classes`): scikit-learn's
/// `predict_proba` for fully grown trees, whose leaves are pure.
pub fn forest_proba(
    forest: &RandomForest<f64, usize>,
    x: &Array2<f64>,
    n_classes: usize,
) -> Result<Array2<f64>> {
    let mut votes = Array2::<f64>::zeros((x.nrows(), n_classes));
    for (tree, features) in forest.models.iter().zip(&forest.model_features) {
        if let Some(&f) = features.iter().find(|&&f| f >= x.ncols()) {
            return Err(Error::InvalidArgument(format!(
                "forest_proba: a tree uses feature {f} but x has {} columns",
                x.ncols()
            )));
        }
        let predicted: Array1<usize> =
            linfa::traits::Predict::predict(tree, &x.select(Axis(1), features));
        for (r, &class) in predicted.iter().enumerate() {
            if class >= n_classes {
                return Err(Error::InvalidArgument(format!(
                    "forest_proba: a tree predicts class {class}; pass n_classes > {class}"
                )));
            }
            votes[[r, class]] += 1.0;
        }
    }
    Ok(votes / forest.models.len().max(1) as f64)
}

/// The class with the most votes (the lowest class on ties, so that the
/// result does not depend on hash order as linfa's own `predict` does).
pub fn forest_predict(
    forest: &RandomForest<f64, usize>,
    x: &Array2<f64>,
    n_classes: usize,
) -> Result<Array1<usize>> {
    Ok(argmax_rows(&forest_proba(forest, x, n_classes)?))
}

/// Feature importances of a random forest over the `n_features` columns it
/// was trained on: each tree's importances (linfa's
/// [`DecisionTree::feature_importance`]) mapped back from the tree's
/// feature subset to the original columns, averaged over the trees that
/// split at all, and scaled to sum to 1, as scikit-learn averages its trees'
/// `feature_importances_`.
pub fn forest_importances(
    forest: &RandomForest<f64, usize>,
    n_features: usize,
) -> Result<Vec<f64>> {
    let mut total = vec![0.0; n_features];
    let mut used = 0;
    for (tree, features) in forest.models.iter().zip(&forest.model_features) {
        let importance = tree.feature_importance();
        if !importance.iter().all(|v| v.is_finite()) {
            continue; // a single leaf: no split, no importance
        }
        used += 1;
        for (&column, value) in features.iter().zip(importance) {
            let Some(slot) = total.get_mut(column) else {
                return Err(Error::InvalidArgument(format!(
                    "forest_importances: a tree uses feature {column}; pass n_features > {column}"
                )));
            };
            *slot += value;
        }
    }
    let sum: f64 = total.iter().sum();
    if used == 0 || sum <= 0.0 {
        return Err(Error::InvalidArgument(
            "forest_importances: no tree of the forest splits; the data may hold one class only"
                .into(),
        ));
    }
    Ok(total.into_iter().map(|v| v / sum).collect())
}

/// The weighted vote of an AdaBoost ensemble per class (one row per row of
/// `x`, one column per class `0..n_classes`): each model's weight (its
/// `alpha`, larger for a model with a lower weighted error) goes to the class
/// it predicts, and the sums are divided by the total weight, so a row sums
/// to 1. linfa's `AdaBoost` predicts the class with the largest sum but
/// offers no probabilities; these shares are what soft voting or stacking
/// can use.
pub fn adaboost_proba<M>(
    model: &AdaBoost<M, usize>,
    x: &Array2<f64>,
    n_classes: usize,
) -> Result<Array2<f64>>
where
    M: PredictInplace<Array2<f64>, Array1<usize>>,
{
    let total: f64 = model.model_weights.iter().sum();
    if model.models.is_empty() || total <= 0.0 || !total.is_finite() {
        return Err(Error::InvalidArgument(format!(
            "adaboost_proba: the ensemble has {} models with total weight {total}; it needs at \
             least one model and a positive total weight",
            model.models.len()
        )));
    }
    let mut votes = Array2::<f64>::zeros((x.nrows(), n_classes));
    for (member, &alpha) in model.models.iter().zip(&model.model_weights) {
        let mut predicted = Array1::<usize>::zeros(x.nrows());
        member.predict_inplace(x, &mut predicted);
        for (r, &class) in predicted.iter().enumerate() {
            if class >= n_classes {
                return Err(Error::InvalidArgument(format!(
                    "adaboost_proba: a model predicts class {class}; pass n_classes > {class}"
                )));
            }
            votes[[r, class]] += alpha;
        }
    }
    Ok(votes / total)
}

/// The class with the largest weighted AdaBoost vote (the lowest class on
/// ties, so that the result does not depend on hash order as linfa's own
/// `predict` does).
pub fn adaboost_predict<M>(
    model: &AdaBoost<M, usize>,
    x: &Array2<f64>,
    n_classes: usize,
) -> Result<Array1<usize>>
where
    M: PredictInplace<Array2<f64>, Array1<usize>>,
{
    Ok(argmax_rows(&adaboost_proba(model, x, n_classes)?))
}

#[cfg(test)]
mod tests {
    use super::*;
    use linfa::prelude::*;
    use linfa_ensemble::RandomForestParams;
    use ndarray::array;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    /// Class 1 exactly when feature 1 >= 5; feature 0 is noise-free but useless.
    fn data() -> Dataset<f64, usize, ndarray::Ix1> {
        let x = Array2::from_shape_fn((20, 2), |(i, c)| {
            if c == 0 {
                (i % 3) as f64
            } else {
                i as f64 / 2.0
            }
        });
        let y = Array1::from_shape_fn(20, |i| usize::from(i >= 10));
        Dataset::new(x, y)
    }

    #[test]
    fn tree_text_shows_the_split() {
        let tree = DecisionTree::params().fit(&data()).unwrap();
        let text = tree_text(&tree, &["noise", "signal"], &["low", "high"]);
        assert_eq!(
            text,
            "|--- signal <  4.75\n|   |--- class: low\n|--- signal >= 4.75\n|   |--- class: high\n"
        );
        // Without names, numbers stand in.
        let plain = tree_text::<&str, &str>(&tree, &[], &[]);
        assert!(
            plain.contains("feature_1 <  4.75") && plain.contains("class: 1"),
            "{plain}"
        );
    }

    #[test]
    fn forest_votes_and_importances() {
        let forest =
            RandomForestParams::new_fixed_rng(DecisionTree::params(), StdRng::seed_from_u64(1))
                .ensemble_size(15)
                .fit(&data())
                .unwrap();
        let x = array![[0.0, 0.0], [0.0, 9.0]];
        let proba = forest_proba(&forest, &x, 2).unwrap();
        for row in proba.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        assert!(proba[[0, 0]] > 0.5 && proba[[1, 1]] > 0.5, "{proba}");
        assert_eq!(forest_predict(&forest, &x, 2).unwrap().to_vec(), [0, 1]);
        let importances = forest_importances(&forest, 2).unwrap();
        assert!((importances.iter().sum::<f64>() - 1.0).abs() < 1e-12);
        assert!(importances[1] > importances[0], "{importances:?}");
        assert!(forest_importances(&forest, 1).is_err());
        assert!(forest_proba(&forest, &x, 1).is_err());
    }

    #[test]
    fn adaboost_shares_follow_the_model_weights() {
        use linfa_ensemble::AdaBoostParams;
        let stumps = AdaBoostParams::new_fixed_rng(
            DecisionTree::params().max_depth(Some(1)),
            StdRng::seed_from_u64(3),
        )
        .n_estimators(5)
        .fit(&data())
        .unwrap();
        let x = array![[0.0, 0.0], [0.0, 9.0]];
        let proba = adaboost_proba(&stumps, &x, 2).unwrap();
        for row in proba.rows() {
            assert!((row.sum() - 1.0).abs() < 1e-12);
        }
        assert_eq!(adaboost_predict(&stumps, &x, 2).unwrap().to_vec(), [0, 1]);
        let linfa: Array1<usize> = stumps.predict(&x);
        assert_eq!(linfa.to_vec(), [0, 1]);

        // Two hand-made members with weights 1 and 3: the heavier one wins.
        let low = DecisionTree::params()
            .max_depth(Some(1))
            .fit(&data())
            .unwrap();
        let flipped = Dataset::new(data().records().clone(), data().targets().mapv(|c| 1 - c));
        let high = DecisionTree::params()
            .max_depth(Some(1))
            .fit(&flipped)
            .unwrap();
        let pair = AdaBoost {
            models: vec![low, high],
            model_weights: vec![1.0, 3.0],
            classes: vec![0, 1],
        };
        let shares = adaboost_proba(&pair, &x, 2).unwrap();
        assert_eq!(shares, array![[0.25, 0.75], [0.75, 0.25]]);
        assert!(adaboost_proba(&pair, &x, 1).is_err());
        let empty: AdaBoost<DecisionTree<f64, usize>, usize> = AdaBoost {
            models: vec![],
            model_weights: vec![],
            classes: vec![],
        };
        assert!(adaboost_predict(&empty, &x, 2).is_err());
    }
}
