//! Voting (scikit-learn's `VotingClassifier`): several models fitted on the
//! same data, combined by a fixed rule instead of a learned one. Hard voting
//! counts each model's predicted class; soft voting averages their class
//! probabilities, so a confident model counts for more than a hesitant one.
//! Unlike [`Stacking`](super::Stacking) nothing is fitted on top, so there
//! is nothing to overfit and no inner cross-validation to pay for.

use ndarray::Array2;

use super::stacking::ProbaFn;
use super::{FitResult, argmax_rows};
use crate::data::Tabular;
use crate::{Error, Result};

/// How a [`Voting`] ensemble combines its members.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VoteKind {
    /// Each member votes for its most probable class (the lowest class when
    /// its probabilities tie); the result is the share of votes per class.
    Hard,
    /// The mean of the members' class probabilities.
    Soft,
}

/// Models combined by votes; build with [`Voting::hard`] or [`Voting::soft`]
/// and [`Voting::member`].
///
/// Each member is a `fn` or closure with the signature [`Stacking`]
/// uses: fit on a training table, return one row of class probabilities
/// per row of `x`. Predictions are [`argmax_rows`] of the combined shares,
/// so ties go to the lowest class, as in scikit-learn.
///
/// ```
/// use aiguide::ml::{FitResult, Voting};
/// use aiguide::data::{Tabular, make_moons};
/// use ndarray::Array2;
///
/// /// A "model" that ignores the data: class 1 with probability `p1` everywhere.
/// fn constant(p1: f64) -> impl Fn(&Tabular<usize>, &Array2<f64>) -> FitResult<Array2<f64>> {
///     move |_, x| Ok(Array2::from_shape_fn((x.nrows(), 2), |(_, c)| if c == 1 { p1 } else { 1.0 - p1 }))
/// }
/// let moons = make_moons(20, 0.1, 0)?;
/// // Two lukewarm votes for class 1 against one confident vote for class 0:
/// let members = |v: Voting| v.member("a", constant(0.6)).member("b", constant(0.6)).member("c", constant(0.05));
/// assert_eq!(members(Voting::hard()).fit_predict(&moons, &moons.x)?[0], 1);
/// assert_eq!(members(Voting::soft()).fit_predict(&moons, &moons.x)?[0], 0);
/// # Ok::<(), aiguide::Error>(())
/// ```
///
/// [`Stacking`]: super::Stacking
pub struct Voting {
    kind: VoteKind,
    members: Vec<(String, Box<ProbaFn>)>,
}

impl Voting {
    /// Majority vote of the members' predicted classes.
    pub fn hard() -> Voting {
        Voting {
            kind: VoteKind::Hard,
            members: Vec::new(),
        }
    }

    /// Average of the members' class probabilities.
    pub fn soft() -> Voting {
        Voting {
            kind: VoteKind::Soft,
            members: Vec::new(),
        }
    }

    /// Adds a member under `name`.
    pub fn member<F>(mut self, name: impl Into<String>, model: F) -> Voting
    where
        F: Fn(&Tabular<usize>, &Array2<f64>) -> FitResult<Array2<f64>> + 'static,
    {
        self.members.push((name.into(), Box::new(model)));
        self
    }

    /// Hard or soft.
    pub fn kind(&self) -> VoteKind {
        self.kind
    }

    /// The members' names, in order.
    pub fn names(&self) -> Vec<&str> {
        self.members.iter().map(|(n, _)| n.as_str()).collect()
    }

    /// Fits every member on `train` and returns the combined class shares
    /// for the rows of `x` (see [`Voting::combine`]).
    pub fn fit_predict_proba(
        &self,
        train: &Tabular<usize>,
        x: &Array2<f64>,
    ) -> Result<Array2<f64>> {
        if self.members.is_empty() {
            return Err(Error::InvalidArgument(
                "Voting: no members; add them with .member(name, model)".into(),
            ));
        }
        let mut probas = Vec::with_capacity(self.members.len());
        for (name, model) in &self.members {
            probas.push(model(train, x).map_err(|e| {
                Error::InvalidArgument(format!("Voting: member `{name}` failed: {e}"))
            })?);
        }
        self.combine(&probas)
    }

    /// Fits every member on `train` and predicts a class for each row of `x`.
    pub fn fit_predict(
        &self,
        train: &Tabular<usize>,
        x: &Array2<f64>,
    ) -> Result<ndarray::Array1<usize>> {
        Ok(argmax_rows(&self.fit_predict_proba(train, x)?))
    }

    /// Combines class probabilities the members already produced (one
    /// matrix per member, same shape), e.g. out-of-fold probabilities from
    /// [`cross_val_predict`](super::cross_val_predict): the same numbers
    /// [`Voting::fit_predict_proba`] gives when the members were fitted on
    /// the same rows, without fitting them again.
    pub fn combine(&self, probas: &[Array2<f64>]) -> Result<Array2<f64>> {
        let Some(first) = probas.first() else {
            return Err(Error::InvalidArgument(
                "Voting::combine: no member outputs".into(),
            ));
        };
        if let Some((k, p)) = probas
            .iter()
            .enumerate()
            .find(|(_, p)| p.dim() != first.dim())
        {
            return Err(Error::InvalidArgument(format!(
                "Voting: member {} returned {:?} probabilities, member 1 {:?}; every member must \
                 return one row per sample and one column per class",
                k + 1,
                p.dim(),
                first.dim()
            )));
        }
        let mut shares = Array2::<f64>::zeros(first.dim());
        for p in probas {
            match self.kind {
                VoteKind::Soft => shares += p,
                VoteKind::Hard => {
                    for (r, c) in argmax_rows(p).iter().enumerate() {
                        shares[[r, *c]] += 1.0;
                    }
                }
            }
        }
        Ok(shares / probas.len() as f64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn train() -> Tabular<usize> {
        Tabular::new(
            "t",
            array![[0.0], [1.0]],
            array![0, 1],
            vec!["x".into()],
            vec![],
        )
        .unwrap()
    }

    #[test]
    fn hard_counts_votes_and_soft_averages() {
        let a = array![[0.4, 0.6], [0.9, 0.1]];
        let b = array![[0.45, 0.55], [0.5, 0.5]];
        let c = array![[0.95, 0.05], [0.2, 0.8]];
        let members = [a, b, c];
        let hard = Voting::hard().combine(&members).unwrap();
        // Row 0: votes 1, 1, 0. Row 1: votes 0, 0 (a tie goes to the lowest class), 1.
        assert_eq!(hard, array![[1.0 / 3.0, 2.0 / 3.0], [2.0 / 3.0, 1.0 / 3.0]]);
        let soft = Voting::soft().combine(&members).unwrap();
        assert!((soft[[0, 0]] - 1.8 / 3.0).abs() < 1e-12);
        assert_eq!(argmax_rows(&soft).to_vec(), [0, 0]);
        assert_eq!(argmax_rows(&hard).to_vec(), [1, 0]);
    }

    #[test]
    fn fit_predict_equals_combining_the_members_outputs() {
        let voting = Voting::soft()
            .member("one", |_: &Tabular<usize>, x: &Array2<f64>| {
                Ok(Array2::from_elem((x.nrows(), 2), 0.5))
            })
            .member("two", |_: &Tabular<usize>, x: &Array2<f64>| {
                Ok(Array2::from_shape_fn((x.nrows(), 2), |(r, c)| {
                    if c == r % 2 { 0.9 } else { 0.1 }
                }))
            });
        assert_eq!(voting.names(), ["one", "two"]);
        assert_eq!(voting.kind(), VoteKind::Soft);
        let x = array![[0.0], [1.0], [2.0]];
        let proba = voting.fit_predict_proba(&train(), &x).unwrap();
        let expected = array![[0.7, 0.3], [0.3, 0.7], [0.7, 0.3]];
        assert!((proba - expected).iter().all(|d| d.abs() < 1e-12));
        assert_eq!(
            voting.fit_predict(&train(), &x).unwrap().to_vec(),
            [0, 1, 0]
        );
    }

    #[test]
    fn mismatched_or_missing_members_are_errors() {
        assert!(
            Voting::hard()
                .fit_predict(&train(), &array![[0.0]])
                .is_err()
        );
        assert!(Voting::soft().combine(&[]).is_err());
        let err = Voting::soft()
            .combine(&[Array2::zeros((2, 2)), Array2::zeros((2, 3))])
            .unwrap_err();
        assert!(err.to_string().contains("member 2"), "{err}");
        let failing = Voting::soft().member("bad", |_: &Tabular<usize>, _: &Array2<f64>| {
            Err("boom".into())
        });
        let err = failing.fit_predict(&train(), &array![[0.0]]).unwrap_err();
        assert!(err.to_string().contains("`bad` failed: boom"), "{err}");
    }
}
