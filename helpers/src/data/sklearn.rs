//! The classic small datasets shipped in the scikit-learn wheel (iris, wine,
//! breast cancer, digits, diabetes), read from the data hub with the same
//! feature and class names scikit-learn gives them.

use std::path::Path;

use ndarray::{Array1, Array2};

use super::files::{Sep, parse_numbers, read_text};
use super::tabular::Tabular;
use crate::hub::Hub;
use crate::{Error, Result};

const IRIS_FEATURES: [&str; 4] = [
    "sepal length (cm)",
    "sepal width (cm)",
    "petal length (cm)",
    "petal width (cm)",
];

const WINE_FEATURES: [&str; 13] = [
    "alcohol",
    "malic_acid",
    "ash",
    "alcalinity_of_ash",
    "magnesium",
    "total_phenols",
    "flavanoids",
    "nonflavanoid_phenols",
    "proanthocyanins",
    "color_intensity",
    "hue",
    "od280/od315_of_diluted_wines",
    "proline",
];

const BREAST_CANCER_FEATURES: [&str; 30] = [
    "mean radius",
    "mean texture",
    "mean perimeter",
    "mean area",
    "mean smoothness",
    "mean compactness",
    "mean concavity",
    "mean concave points",
    "mean symmetry",
    "mean fractal dimension",
    "radius error",
    "texture error",
    "perimeter error",
    "area error",
    "smoothness error",
    "compactness error",
    "concavity error",
    "concave points error",
    "symmetry error",
    "fractal dimension error",
    "worst radius",
    "worst texture",
    "worst perimeter",
    "worst area",
    "worst smoothness",
    "worst compactness",
    "worst concavity",
    "worst concave points",
    "worst symmetry",
    "worst fractal dimension",
];

const DIABETES_FEATURES: [&str; 10] = [
    "age", "sex", "bmi", "bp", "s1", "s2", "s3", "s4", "s5", "s6",
];

/// Iris: 150 flowers, 4 measurements, 3 species.
pub fn iris() -> Result<Tabular<usize>> {
    load_iris(&Hub::from_env()?)
}

/// Wine: 178 wines, 13 chemical measurements, 3 cultivars.
pub fn wine() -> Result<Tabular<usize>> {
    load_wine(&Hub::from_env()?)
}

/// Breast cancer (Wisconsin): 569 tumours, 30 features, malignant or benign.
pub fn breast_cancer() -> Result<Tabular<usize>> {
    load_breast_cancer(&Hub::from_env()?)
}

/// Digits: 1797 handwritten digits as 8x8 images with values 0-16, flattened
/// to 64 features `pixel_<row>_<col>`; `x.into_shape_with_order((n, 8, 8))`
/// gives the images.
pub fn digits() -> Result<Tabular<usize>> {
    load_digits(&Hub::from_env()?)
}

/// Diabetes: 442 patients, 10 baseline measurements, and disease progression
/// one year later as the regression target. The features are the raw values
/// (scikit-learn's `scaled=False`), so scaling them is part of the exercise.
pub fn diabetes() -> Result<Tabular<f64>> {
    load_diabetes(&Hub::from_env()?)
}

pub(crate) fn load_iris(hub: &Hub) -> Result<Tabular<usize>> {
    sklearn_csv("iris", &hub.locate("iris")?, &IRIS_FEATURES)
}

pub(crate) fn load_wine(hub: &Hub) -> Result<Tabular<usize>> {
    sklearn_csv("wine", &hub.locate("wine")?, &WINE_FEATURES)
}

pub(crate) fn load_breast_cancer(hub: &Hub) -> Result<Tabular<usize>> {
    sklearn_csv(
        "breast_cancer",
        &hub.locate("breast-cancer")?,
        &BREAST_CANCER_FEATURES,
    )
}

pub(crate) fn load_digits(hub: &Hub) -> Result<Tabular<usize>> {
    let path = hub.locate("digits")?;
    let rows = parse_numbers(&path, &read_text(&path)?, Sep::Comma, 65, 1)?;
    let (x, y) = features_and_classes(&path, &rows, 10, 1)?;
    let names = (0..64)
        .map(|i| format!("pixel_{}_{}", i / 8, i % 8))
        .collect();
    let classes = (0..10).map(|d| d.to_string()).collect();
    Tabular::new("digits", x, y, names, classes)
}

pub(crate) fn load_diabetes(hub: &Hub) -> Result<Tabular<f64>> {
    let data_path = hub.locate("diabetes-data")?;
    let target_path = hub.locate("diabetes-target")?;
    let rows = parse_numbers(&data_path, &read_text(&data_path)?, Sep::Whitespace, 10, 1)?;
    let targets = parse_numbers(
        &target_path,
        &read_text(&target_path)?,
        Sep::Whitespace,
        1,
        1,
    )?;
    if rows.len() != targets.len() || rows.is_empty() {
        return Err(Error::corrupt(
            &target_path,
            format!(
                "{} targets for {} samples in {}",
                targets.len(),
                rows.len(),
                data_path.display()
            ),
        ));
    }
    let x = Array2::from_shape_fn((rows.len(), 10), |(r, c)| rows[r][c]);
    let y = targets.iter().map(|t| t[0]).collect();
    Tabular::new("diabetes", x, y, names(&DIABETES_FEATURES), Vec::new())
}

/// scikit-learn's CSV layout: a header `n_samples,n_features,class names...`,
/// then one row per sample with the class index last.
fn sklearn_csv(name: &str, path: &Path, features: &[&str]) -> Result<Tabular<usize>> {
    let text = read_text(path)?;
    let (header, body) = text.split_once('\n').unwrap_or((&text, ""));
    let fields: Vec<&str> = header.trim().split(',').collect();
    let bad_header = || {
        Error::corrupt(
            path,
            format!("line 1: expected `n_samples,n_features,classes...`, got `{header}`"),
        )
    };
    let (n_samples, n_features) = match fields.as_slice() {
        [n, f, _, ..] => (
            n.parse::<usize>().map_err(|_| bad_header())?,
            f.parse::<usize>().map_err(|_| bad_header())?,
        ),
        _ => return Err(bad_header()),
    };
    if n_features != features.len() {
        return Err(Error::corrupt(
            path,
            format!("{n_features} features, expected {}", features.len()),
        ));
    }
    let classes: Vec<String> = fields[2..].iter().map(|c| c.to_string()).collect();
    let rows = parse_numbers(path, body, Sep::Comma, n_features + 1, 2)?;
    if rows.len() != n_samples {
        return Err(Error::corrupt(
            path,
            format!(
                "header promises {n_samples} samples, found {} (truncated?)",
                rows.len()
            ),
        ));
    }
    let (x, y) = features_and_classes(path, &rows, classes.len(), 2)?;
    Tabular::new(name, x, y, names(features), classes)
}

/// Splits rows into features and a last column of class indices below `n_classes`.
fn features_and_classes(
    path: &Path,
    rows: &[Vec<f64>],
    n_classes: usize,
    first_line: usize,
) -> Result<(Array2<f64>, Array1<usize>)> {
    if rows.is_empty() {
        return Err(Error::corrupt(path, "no samples"));
    }
    let nf = rows[0].len() - 1;
    let x = Array2::from_shape_fn((rows.len(), nf), |(r, c)| rows[r][c]);
    let y = rows
        .iter()
        .enumerate()
        .map(|(i, row)| {
            let label = row[nf];
            if label >= 0.0 && label.fract() == 0.0 && (label as usize) < n_classes {
                Ok(label as usize)
            } else {
                Err(Error::corrupt(
                    path,
                    format!(
                        "line {}: class `{label}` is not one of 0..{n_classes}",
                        first_line + i
                    ),
                ))
            }
        })
        .collect::<Result<Array1<usize>>>()?;
    Ok((x, y))
}

fn names(names: &[&str]) -> Vec<String> {
    names.iter().map(|n| n.to_string()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::data::testing::{
        assert_corrupt, assert_loader_errors, assert_loader_errors_with, gz,
    };
    use crate::hub::testing::hub_with;

    const IRIS: &[u8] = b"3,4,setosa,versicolor,virginica\n5.1,3.5,1.4,0.2,0\n7.0,3.2,4.7,1.4,1\n6.3,3.3,6.0,2.5,2\n";

    #[test]
    fn iris_format() {
        let (_d, hub) = hub_with(&[("iris", "iris.csv", Some(IRIS))]);
        let iris = load_iris(&hub).unwrap();
        assert_eq!(iris.x.dim(), (3, 4));
        assert_eq!(iris.y.to_vec(), [0, 1, 2]);
        assert_eq!(iris.class_names, ["setosa", "versicolor", "virginica"]);
        assert_eq!(iris.feature_names[2], "petal length (cm)");
        assert_loader_errors("iris", "iris.csv", IRIS, load_iris);
        assert_corrupt(
            "iris",
            "iris.csv",
            b"3,4,a,b,c\n5.1,3.5,1.4,0.2,0\n",
            load_iris,
            "promises 3 samples",
        );
        assert_corrupt(
            "iris",
            "iris.csv",
            b"1,4,a,b,c\n5.1,3.5,1.4,0.2,7\n",
            load_iris,
            "class `7`",
        );
        assert_corrupt("iris", "iris.csv", b"x,4,a\n", load_iris, "line 1");
        assert_corrupt(
            "iris",
            "iris.csv",
            b"1,5,a,b\n1,2,3,4,5,0\n",
            load_iris,
            "5 features, expected 4",
        );
    }

    #[test]
    fn wine_and_breast_cancer_formats() {
        let row = |n: usize, class: usize| {
            (0..n).map(|i| format!("{i}.5,")).collect::<String>() + &class.to_string()
        };
        let wine = format!(
            "2,13,class_0,class_1,class_2\n{}\n{}\n",
            row(13, 0),
            row(13, 2)
        )
        .into_bytes();
        let (_d, hub) = hub_with(&[("wine", "w.csv", Some(&wine))]);
        assert_eq!(load_wine(&hub).unwrap().x.dim(), (2, 13));
        assert_loader_errors("wine", "w.csv", &wine, load_wine);
        let bc = format!("1,30,malignant,benign\n{}\n", row(30, 1)).into_bytes();
        let (_d, hub) = hub_with(&[("breast-cancer", "bc.csv", Some(&bc))]);
        let data = load_breast_cancer(&hub).unwrap();
        assert_eq!(
            (data.n_features(), data.class_names[1].as_str()),
            (30, "benign")
        );
        assert_loader_errors("breast-cancer", "bc.csv", &bc, load_breast_cancer);
    }

    #[test]
    fn digits_format() {
        let line = |d: usize| {
            (0..64)
                .map(|i| (i % 17).to_string() + ",")
                .collect::<String>()
                + &d.to_string()
                + "\n"
        };
        let data = gz((line(3) + &line(9)).as_bytes());
        let (_d, hub) = hub_with(&[("digits", "d.csv.gz", Some(&data))]);
        let digits = load_digits(&hub).unwrap();
        assert_eq!((digits.x.dim(), digits.y.to_vec()), ((2, 64), vec![3, 9]));
        assert_eq!(digits.feature_names[9], "pixel_1_1");
        assert_loader_errors("digits", "d.csv.gz", &data, load_digits);
        assert_corrupt(
            "digits",
            "d.csv.gz",
            &gz(line(10).as_bytes()),
            load_digits,
            "class `10`",
        );
    }

    #[test]
    fn diabetes_format() {
        let x = gz(b"59 2 32.1 101.0 157 93.2 38.0 4.0 4.8598 87\n48 1 21.6 87.0 183 103.2 70.0 3.0 3.8918 69\n");
        let y = gz(b"1.51e+02\n7.5e+01\n");
        let files = [
            ("diabetes-data", "x.gz", Some(&x[..])),
            ("diabetes-target", "y.gz", Some(&y[..])),
        ];
        let (_d, hub) = hub_with(&files);
        let data = load_diabetes(&hub).unwrap();
        assert_eq!(data.y.to_vec(), [151.0, 75.0]);
        assert_eq!(data.x[[1, 2]], 21.6);
        assert_loader_errors_with(
            "diabetes-data",
            "x.gz",
            &x,
            &[("diabetes-target", "y.gz", &y)],
            load_diabetes,
        );
        assert_loader_errors_with(
            "diabetes-target",
            "y.gz",
            &y,
            &[("diabetes-data", "x.gz", &x)],
            load_diabetes,
        );
        let (_d, hub) = hub_with(&[
            ("diabetes-data", "x.gz", Some(&x[..])),
            ("diabetes-target", "y.gz", Some(&gz(b"1\n")[..])),
        ]);
        assert!(
            load_diabetes(&hub)
                .unwrap_err()
                .to_string()
                .contains("1 targets for 2 samples")
        );
    }
}
