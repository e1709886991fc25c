//! UCI Adult ("census income"): 1994 US census records labelled by whether
//! the person earns more than $50K a year, the classic benchmark for
//! measuring a classifier's errors per sex and per race.

use std::collections::BTreeSet;
use std::path::Path;

use ndarray::{Array1, Array2, Axis, concatenate};

use super::files::read_text;
use super::groups::{GroupedTabular, Groups};
use super::tabular::Tabular;
use crate::hub::Hub;
use crate::ml::OneHotEncoder;
use crate::{Error, Result};

/// The columns of `adult.data` and `adult.test`, in file order.
const COLUMNS: [&str; 15] = [
    "age",
    "workclass",
    "fnlwgt",
    "education",
    "education-num",
    "marital-status",
    "occupation",
    "relationship",
    "race",
    "sex",
    "capital-gain",
    "capital-loss",
    "hours-per-week",
    "native-country",
    "income",
];

/// Numeric features, by file column.
const NUMERIC: [usize; 5] = [0, 4, 10, 11, 12];
/// Categorical features (one-hot encoded), by file column.
const CATEGORICAL: [usize; 5] = [1, 5, 6, 7, 13];
/// The group attributes, by file column.
const GROUPS: [usize; 2] = [9, 8];
const LABEL: usize = 14;

/// Adult: 45,222 people (UCI's `adult.data` then `adult.test`, without the
/// rows that have an unknown `?` value, as in the dataset's documentation),
/// label 1 for income `>50K` (24.78% of them), 0 for `<=50K`.
///
/// Features, in this order:
/// - numeric, in their raw units (scale them before a linear model): `age`,
///   `education-num` (years of education, 1-16), `capital-gain`,
///   `capital-loss`, `hours-per-week`;
/// - one 0/1 column per category (all categories, no reference dropped) of
///   `workclass` (7), `marital-status` (7), `occupation` (14),
///   `relationship` (6) and `native-country` (41), named like
///   `workclass=Private`: 80 features in all.
///
/// `sex` (Female, Male) and `race` (Amer-Indian-Eskimo, Asian-Pac-Islander,
/// Black, Other, White) are *not* features: they are the group attributes
/// ([`GroupedTabular::groups`]), and
/// [`GroupedTabular::with_group_features`] adds them as columns for a model
/// that uses them. Leaving them out does not hide them: `relationship` is
/// `Husband` or `Wife` for most married people, and `marital-status` and
/// `occupation` carry sex and race too.
///
/// Left out: `fnlwgt`, the census's sampling weight (how many people the
/// record stands for, not a trait of the person), and `education`, which
/// says what `education-num` says as a category.
///
/// The first 30,162 rows come from `adult.data` and the last 15,060 from
/// `adult.test`: `select` on those ranges gives UCI's own train/test split.
pub fn adult() -> Result<GroupedTabular<usize>> {
    load_adult(&Hub::from_env()?)
}

/// One person's fields, as text.
type Record<'a> = Vec<&'a str>;

pub(crate) fn load_adult(hub: &Hub) -> Result<GroupedTabular<usize>> {
    let (train_path, test_path) = (hub.locate("adult-train")?, hub.locate("adult-test")?);
    let (train_text, test_text) = (read_text(&train_path)?, read_text(&test_path)?);
    let mut records = parse_records(&train_path, &train_text)?;
    records.extend(parse_records(&test_path, &test_text)?);
    let column = |c: usize| records.iter().map(|r| r[c]).collect::<Vec<&str>>();

    let mut x = Array2::from_shape_fn((records.len(), NUMERIC.len()), |(r, i)| {
        records[r][NUMERIC[i]]
            .parse::<f64>()
            .expect("checked by parse_records")
    });
    let mut feature_names: Vec<String> = NUMERIC.iter().map(|&c| COLUMNS[c].into()).collect();
    for c in CATEGORICAL {
        let values = column(c);
        let encoder = OneHotEncoder::fit(&values)?;
        x = concatenate![Axis(1), x, encoder.transform(&values)?];
        feature_names.extend(encoder.feature_names(&format!("{}=", COLUMNS[c])));
    }
    let y: Array1<usize> = column(LABEL)
        .iter()
        .map(|&l| label(l).expect("checked by parse_records"))
        .collect();
    let data = Tabular::new(
        "adult",
        x,
        y,
        feature_names,
        vec!["<=50K".into(), ">50K".into()],
    )?;
    let groups = GROUPS
        .iter()
        .map(|&c| {
            let values = column(c);
            let names: Vec<&str> = values
                .iter()
                .copied()
                .collect::<BTreeSet<_>>()
                .into_iter()
                .collect();
            let ids = values
                .iter()
                .map(|v| names.binary_search(v).expect("names come from values"))
                .collect();
            Groups::new(COLUMNS[c], names, ids)
        })
        .collect::<Result<Vec<Groups>>>()?;
    GroupedTabular::new(data, groups)
}

/// The class of an income field (`adult.test` ends it with a dot).
fn label(field: &str) -> Option<usize> {
    match field.trim_end_matches('.') {
        "<=50K" => Some(0),
        ">50K" => Some(1),
        _ => None,
    }
}

/// The records of one file with no unknown (`?`) field, checked: 15 fields,
/// numbers where numbers belong, a known label. Lines starting with `|`
/// (`adult.test`'s first line) and blank lines are skipped.
fn parse_records<'a>(path: &Path, text: &'a str) -> Result<Vec<Record<'a>>> {
    let mut records = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('|') {
            continue;
        }
        let bad = |what: String| Error::corrupt(path, format!("line {}: {what}", i + 1));
        let fields: Record = line.split(',').map(str::trim).collect();
        if fields.len() != COLUMNS.len() {
            return Err(bad(format!(
                "{} fields, expected {} ({})",
                fields.len(),
                COLUMNS.len(),
                COLUMNS.join(", ")
            )));
        }
        if label(fields[LABEL]).is_none() {
            return Err(bad(format!(
                "income `{}` is neither `<=50K` nor `>50K`",
                fields[LABEL]
            )));
        }
        if let Some(&c) = NUMERIC.iter().find(|&&c| fields[c].parse::<f64>().is_err()) {
            return Err(bad(format!(
                "{} `{}` is not a number",
                COLUMNS[c], fields[c]
            )));
        }
        if !fields.contains(&"?") {
            records.push(fields);
        }
    }
    if records.is_empty() {
        return Err(Error::corrupt(path, "no complete records"));
    }
    Ok(records)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing::{assert_corrupt_with, assert_loader_errors_with};
    use crate::hub::testing::hub_with;

    const TRAIN: &[u8] = b"\
39, State-gov, 77516, Bachelors, 13, Never-married, Adm-clerical, Not-in-family, White, Male, 2174, 0, 40, United-States, <=50K
50, Self-emp-not-inc, 83311, Bachelors, 13, Married-civ-spouse, Exec-managerial, Husband, White, Male, 0, 0, 13, United-States, <=50K
54, ?, 180211, Some-college, 10, Married-civ-spouse, ?, Husband, Asian-Pac-Islander, Male, 0, 0, 60, South, >50K
31, Private, 45781, Masters, 14, Never-married, Prof-specialty, Not-in-family, White, Female, 14084, 0, 50, United-States, >50K

";
    const TEST: &[u8] = b"\
|1x3 Cross validator
25, Private, 226802, 11th, 7, Never-married, Machine-op-inspct, Own-child, Black, Male, 0, 0, 40, United-States, <=50K.
44, Private, 160323, Some-college, 10, Married-civ-spouse, Machine-op-inspct, Husband, Black, Male, 7688, 0, 40, United-States, >50K.
";

    fn files<'a>(
        train: &'a [u8],
        test: &'a [u8],
    ) -> [(&'static str, &'static str, Option<&'a [u8]>); 2] {
        [
            ("adult-train", "adult.data", Some(train)),
            ("adult-test", "adult.test", Some(test)),
        ]
    }

    #[test]
    fn reads_both_files_and_drops_unknowns() {
        let (_d, hub) = hub_with(&files(TRAIN, TEST));
        let adult = load_adult(&hub).unwrap();
        let data = adult.data();
        assert_eq!(data.y.to_vec(), [0, 0, 1, 0, 1]);
        assert_eq!(data.class_names, ["<=50K", ">50K"]);
        assert_eq!(
            data.feature_names,
            [
                "age",
                "education-num",
                "capital-gain",
                "capital-loss",
                "hours-per-week",
                "workclass=Private",
                "workclass=Self-emp-not-inc",
                "workclass=State-gov",
                "marital-status=Married-civ-spouse",
                "marital-status=Never-married",
                "occupation=Adm-clerical",
                "occupation=Exec-managerial",
                "occupation=Machine-op-inspct",
                "occupation=Prof-specialty",
                "relationship=Husband",
                "relationship=Not-in-family",
                "relationship=Own-child",
                "native-country=United-States",
            ]
        );
        // The Masters graduate: 31, 14 years of education, 14084 capital
        // gain, 50 hours, Private, Never-married, Prof-specialty, Not-in-family.
        let row: Vec<f64> = data.x.row(2).to_vec();
        let expected = [
            31.0, 14.0, 14084.0, 0.0, 50.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 0.0, 0.0, 1.0, 0.0, 1.0,
            0.0, 1.0,
        ];
        assert_eq!(row, expected);
        let sex = adult.groups("sex").unwrap();
        assert_eq!(sex.names(), ["Female", "Male"]);
        assert_eq!(sex.ids().to_vec(), [1, 1, 0, 1, 1]);
        let race = adult.groups("race").unwrap();
        assert_eq!(race.names(), ["Black", "White"]);
        assert_eq!(race.counts(), [2, 3]);
    }

    #[test]
    fn bad_files_name_the_file() {
        let load = |hub: &Hub| load_adult(hub);
        assert_loader_errors_with(
            "adult-train",
            "adult.data",
            TRAIN,
            &[("adult-test", "adult.test", TEST)],
            load,
        );
        assert_loader_errors_with(
            "adult-test",
            "adult.test",
            TEST,
            &[("adult-train", "adult.data", TRAIN)],
            load,
        );
        let others = [("adult-test", "adult.test", TEST)];
        let cases: [(&[u8], &str); 4] = [
            (b"39, State-gov, 1, Bachelors, 13\n", "line 1: 5 fields, expected 15"),
            (
                b"x, Private, 1, HS-grad, 9, Divorced, Sales, Unmarried, White, Male, 0, 0, 40, Peru, <=50K\n",
                "line 1: age `x` is not a number",
            ),
            (
                b"\n39, Private, 1, HS-grad, 9, Divorced, Sales, Unmarried, White, Male, 0, 0, 40, Peru, 50K\n",
                "line 2: income `50K`",
            ),
            (
                b"39, Private, 1, HS-grad, 9, Divorced, ?, Unmarried, White, Male, 0, 0, 40, Peru, >50K\n",
                "no complete records",
            ),
        ];
        for (bytes, expected) in cases {
            assert_corrupt_with("adult-train", "adult.data", bytes, &others, &load, expected);
        }
    }
}
