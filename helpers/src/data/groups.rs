//! Group attributes (sex, race, ...) kept beside a table's features rather
//! than among them, so that a model can be trained with or without them and
//! its errors can still be counted per group (see [`crate::fairness`]).

use ndarray::{Array1, Array2, Axis, concatenate};

use super::tabular::{Tabular, Target, split_indices};
use crate::display::{Table, emit};
use crate::{Error, Result};

/// Which group of one attribute each sample belongs to, e.g. attribute `sex`
/// with groups `Female` and `Male`.
///
/// ```
/// use aiguide::data::Groups;
/// use ndarray::array;
/// let sex = Groups::new("sex", ["Female", "Male"], array![1, 0, 1])?;
/// assert_eq!(sex.counts(), [1, 2]);
/// assert_eq!(sex.name_of(0), "Male");
/// # Ok::<(), aiguide::Error>(())
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct Groups {
    attribute: String,
    names: Vec<String>,
    ids: Array1<usize>,
}

impl Groups {
    /// Groups from their `names` and each sample's group index into them.
    pub fn new<I: IntoIterator<Item: ToString>>(
        attribute: impl Into<String>,
        names: I,
        ids: Array1<usize>,
    ) -> Result<Groups> {
        let attribute = attribute.into();
        let names: Vec<String> = names.into_iter().map(|n| n.to_string()).collect();
        if let Some(&bad) = ids.iter().find(|&&g| g >= names.len()) {
            return Err(Error::InvalidArgument(format!(
                "Groups `{attribute}`: group index {bad} but only {} group names ({}); pass one \
                 name per group index",
                names.len(),
                names.join(", ")
            )));
        }
        Ok(Groups {
            attribute,
            names,
            ids,
        })
    }

    /// The attribute, e.g. `sex`.
    pub fn attribute(&self) -> &str {
        &self.attribute
    }

    /// The groups' names, in index order.
    pub fn names(&self) -> &[String] {
        &self.names
    }

    /// Each sample's group, an index into [`Groups::names`].
    pub fn ids(&self) -> &Array1<usize> {
        &self.ids
    }

    /// The group name of sample `i`.
    pub fn name_of(&self, i: usize) -> &str {
        &self.names[self.ids[i]]
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Number of samples in each group, in name order.
    pub fn counts(&self) -> Vec<usize> {
        let mut counts = vec![0; self.names.len()];
        self.ids.iter().for_each(|&g| counts[g] += 1);
        counts
    }

    /// The samples at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> Groups {
        Groups {
            ids: self.ids.select(Axis(0), indices),
            ..self.clone()
        }
    }

    /// One 0/1 column per group (`sex=Female`, `sex=Male`), to use the
    /// attribute as a feature.
    pub fn one_hot(&self) -> (Array2<f64>, Vec<String>) {
        let x = Array2::from_shape_fn((self.len(), self.names.len()), |(r, c)| {
            f64::from(u8::from(self.ids[r] == c))
        });
        let names = self
            .names
            .iter()
            .map(|n| format!("{}={n}", self.attribute))
            .collect();
        (x, names)
    }
}

/// A [`Tabular`] whose samples also carry group attributes, which are not
/// among its features. [`GroupedTabular::with_group_features`] adds them as
/// one-hot columns for a model that may use them.
#[derive(Clone, Debug, PartialEq)]
pub struct GroupedTabular<T> {
    data: Tabular<T>,
    groups: Vec<Groups>,
}

impl<T: Target> GroupedTabular<T> {
    /// A table with group attributes; each attribute needs one group per
    /// sample and a name of its own.
    pub fn new(data: Tabular<T>, groups: Vec<Groups>) -> Result<GroupedTabular<T>> {
        for (i, g) in groups.iter().enumerate() {
            if g.len() != data.len() {
                return Err(Error::InvalidArgument(format!(
                    "{}: {} samples but attribute `{}` has {} entries; pass one group per sample",
                    data.name,
                    data.len(),
                    g.attribute,
                    g.len()
                )));
            }
            if groups[..i].iter().any(|h| h.attribute == g.attribute) {
                return Err(Error::InvalidArgument(format!(
                    "{}: attribute `{}` is given twice",
                    data.name, g.attribute
                )));
            }
        }
        Ok(GroupedTabular { data, groups })
    }

    /// The features and targets, without the group attributes.
    pub fn data(&self) -> &Tabular<T> {
        &self.data
    }

    /// The groups of `attribute` (e.g. `"sex"`).
    pub fn groups(&self, attribute: &str) -> Result<&Groups> {
        self.groups
            .iter()
            .find(|g| g.attribute == attribute)
            .ok_or_else(|| {
                Error::InvalidArgument(format!(
                    "{}: no group attribute `{attribute}`; it has {}",
                    self.data.name,
                    self.attributes().join(", ")
                ))
            })
    }

    /// The group attributes' names.
    pub fn attributes(&self) -> Vec<&str> {
        self.groups.iter().map(|g| g.attribute.as_str()).collect()
    }

    /// Number of samples.
    pub fn len(&self) -> usize {
        self.data.len()
    }

    /// Whether there are no samples.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty()
    }

    /// The rows at `indices`, in that order, with their groups.
    pub fn select(&self, indices: &[usize]) -> GroupedTabular<T> {
        GroupedTabular {
            data: self.data.select(indices),
            groups: self.groups.iter().map(|g| g.select(indices)).collect(),
        }
    }

    /// The same shuffled `(train, test)` split as [`Tabular::split`], with
    /// each sample's groups following it.
    pub fn split(&self, test_fraction: f64, seed: u64) -> (GroupedTabular<T>, GroupedTabular<T>) {
        let (train, test) = split_indices(self.len(), test_fraction, seed);
        (self.select(&train), self.select(&test))
    }

    /// The features followed by one 0/1 column per group of every attribute
    /// ([`Groups::one_hot`]): what a model trained *with* the attributes sees.
    pub fn with_group_features(&self) -> Tabular<T> {
        let mut x = self.data.x.clone();
        let mut names = self.data.feature_names.clone();
        for g in &self.groups {
            let (columns, column_names) = g.one_hot();
            x = concatenate![Axis(1), x, columns];
            names.extend(column_names);
        }
        Tabular {
            x,
            feature_names: names,
            ..self.data.clone()
        }
    }

    /// One line: the table's summary and its attributes with their groups.
    pub fn summary(&self) -> String {
        let attributes: Vec<String> = self
            .groups
            .iter()
            .map(|g| format!("{} ({})", g.attribute, g.names.join(", ")))
            .collect();
        format!(
            "{}; groups kept apart: {}",
            self.data.summary(),
            attributes.join("; ")
        )
    }

    /// The first `n` rows (as [`Tabular::head`]) with the groups appended.
    pub fn head(&self, n: usize) -> Table {
        let head = self.data.head(n);
        let headers = head
            .headers()
            .iter()
            .cloned()
            .chain(self.groups.iter().map(|g| g.attribute.clone()));
        let mut table = Table::new(headers);
        for (r, row) in head.rows().iter().enumerate() {
            let groups = self.groups.iter().map(|g| g.name_of(r).to_string());
            table.push_row(row.iter().cloned().chain(groups));
        }
        table.with_caption(self.summary())
    }

    /// Shows the summary and the first rows in a notebook.
    pub fn evcxr_display(&self) {
        let head = self.head(5);
        emit(&[
            ("text/html", &head.to_html()),
            ("text/plain", &head.to_text()),
        ]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn people() -> GroupedTabular<usize> {
        let data = Tabular::new(
            "people",
            array![[1.0], [2.0], [3.0], [4.0]],
            array![0, 1, 1, 0],
            vec!["age".into()],
            vec!["no".into(), "yes".into()],
        )
        .unwrap();
        let sex = Groups::new("sex", ["F", "M"], array![0, 0, 1, 1]).unwrap();
        let city = Groups::new("city", ["A", "B", "C"], array![2, 0, 2, 2]).unwrap();
        GroupedTabular::new(data, vec![sex, city]).unwrap()
    }

    #[test]
    fn groups_check_indices_and_count() {
        let g = Groups::new("g", ["a", "b", "c"], array![2, 2, 0]).unwrap();
        assert_eq!(g.counts(), [1, 0, 2]);
        assert_eq!(g.select(&[2, 0]).ids().to_vec(), [0, 2]);
        let (x, names) = g.one_hot();
        assert_eq!(names, ["g=a", "g=b", "g=c"]);
        assert_eq!(x, array![[0.0, 0.0, 1.0], [0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]);
        let err = Groups::new("g", ["a"], array![0, 1]).unwrap_err();
        assert!(err.to_string().contains("group index 1"), "{err}");
    }

    #[test]
    fn attributes_follow_their_rows() {
        let people = people();
        let (train, test) = people.split(0.5, 3);
        let (plain_train, _) = people.data().split(0.5, 3);
        assert_eq!(train.data(), &plain_train);
        for part in [&train, &test] {
            for r in 0..part.len() {
                // age 1 and 2 are F, 3 and 4 are M; only age 2 lives in city A.
                let age = part.data().x[[r, 0]];
                let sex = part.groups("sex").unwrap().name_of(r);
                let city = part.groups("city").unwrap().name_of(r);
                assert_eq!(sex, if age <= 2.0 { "F" } else { "M" });
                assert_eq!(city, if age == 2.0 { "A" } else { "C" });
            }
        }
    }

    #[test]
    fn group_features_are_appended_one_hot() {
        let with = people().with_group_features();
        assert_eq!(
            with.feature_names,
            ["age", "sex=F", "sex=M", "city=A", "city=B", "city=C"]
        );
        assert_eq!(with.x.row(1).to_vec(), [2.0, 1.0, 0.0, 1.0, 0.0, 0.0]);
        assert_eq!(with.y, people().data().y);
    }

    #[test]
    fn bad_attributes_are_errors() {
        let people = people();
        let err = people.groups("race").unwrap_err().to_string();
        assert!(
            err.contains("no group attribute `race`; it has sex, city"),
            "{err}"
        );
        let short = Groups::new("sex", ["F"], array![0]).unwrap();
        let err = GroupedTabular::new(people.data().clone(), vec![short]).unwrap_err();
        assert!(err.to_string().contains("4 samples"), "{err}");
        let sex = people.groups("sex").unwrap().clone();
        let err = GroupedTabular::new(people.data().clone(), vec![sex.clone(), sex]).unwrap_err();
        assert!(err.to_string().contains("given twice"), "{err}");
    }

    #[test]
    fn head_shows_the_groups() {
        let text = people().head(2).to_text();
        assert!(
            text.starts_with("people: 4 samples x 1 features, 2 classes (no, yes); groups kept apart: sex (F, M); city (A, B, C)"),
            "{text}"
        );
        assert!(text.contains("2    yes     F    A"), "{text}");
    }
}
