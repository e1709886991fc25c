//! Seeded synthetic datasets the guide uses and linfa lacks, following
//! scikit-learn's generators (same parameters and shapes of data; the random
//! numbers differ, since the generators differ). The same seed always gives
//! the same data.

use ndarray::{Array1, Array2, s};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::seq::index::sample;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, Normal, StandardNormal};

use super::tabular::Tabular;
use crate::{Error, Result};

/// Two interleaving half circles (scikit-learn's `make_moons`): class 0 is
/// the upper moon, class 1 the lower; `noise` is the standard deviation of
/// Gaussian noise added to each coordinate.
pub fn make_moons(n_samples: usize, noise: f64, seed: u64) -> Result<Tabular<usize>> {
    let (n_out, n_in) = (n_samples / 2, n_samples - n_samples / 2);
    let mut points = Vec::with_capacity(n_samples);
    for i in 0..n_out {
        let t = std::f64::consts::PI * fraction(i, n_out, true);
        points.push(([t.cos(), t.sin()], 0));
    }
    for i in 0..n_in {
        let t = std::f64::consts::PI * fraction(i, n_in, true);
        points.push(([1.0 - t.cos(), 0.5 - t.sin()], 1));
    }
    two_d("make_moons", points, noise, seed)
}

/// A small circle inside a large one (scikit-learn's `make_circles`): class 0
/// on the unit circle, class 1 on a circle of radius `factor` (0 <= factor < 1).
pub fn make_circles(
    n_samples: usize,
    noise: f64,
    factor: f64,
    seed: u64,
) -> Result<Tabular<usize>> {
    if !(0.0..1.0).contains(&factor) {
        return Err(Error::InvalidArgument(format!(
            "make_circles: factor must be in [0, 1), got {factor}"
        )));
    }
    let (n_out, n_in) = (n_samples / 2, n_samples - n_samples / 2);
    let mut points = Vec::with_capacity(n_samples);
    for (n, radius, class) in [(n_out, 1.0, 0), (n_in, factor, 1)] {
        for i in 0..n {
            let t = 2.0 * std::f64::consts::PI * fraction(i, n, false);
            points.push(([radius * t.cos(), radius * t.sin()], class));
        }
    }
    two_d("make_circles", points, noise, seed)
}

/// `i / (n - 1)` (endpoints included) or `i / n` (end excluded), like
/// `np.linspace`.
fn fraction(i: usize, n: usize, endpoint: bool) -> f64 {
    let steps = if endpoint {
        n.saturating_sub(1).max(1)
    } else {
        n.max(1)
    };
    i as f64 / steps as f64
}

/// Shuffles labelled 2-D points, adds noise, and names the columns.
fn two_d(
    name: &str,
    mut points: Vec<([f64; 2], usize)>,
    noise: f64,
    seed: u64,
) -> Result<Tabular<usize>> {
    let mut rng = StdRng::seed_from_u64(seed);
    let normal = gaussian(name, 0.0, noise)?;
    points.shuffle(&mut rng);
    let x = Array2::from_shape_fn((points.len(), 2), |(r, c)| {
        points[r].0[c] + normal.sample(&mut rng)
    });
    let y = points.iter().map(|p| p.1).collect();
    Tabular::new(name, x, y, names("x", 2), names("", 2))
}

/// A normal distribution, with a message naming the generator when `std` is bad.
fn gaussian(name: &str, mean: f64, std: f64) -> Result<Normal<f64>> {
    let bad = || {
        Error::InvalidArgument(format!(
            "{name}: the standard deviation must be finite and >= 0, got {std}"
        ))
    };
    if !(std.is_finite() && std >= 0.0) {
        return Err(bad());
    }
    Normal::new(mean, std).map_err(|_| bad())
}

/// `prefix0`, `prefix1`, ... (plain numbers for an empty prefix).
fn names(prefix: &str, n: usize) -> Vec<String> {
    (0..n).map(|i| format!("{prefix}{i}")).collect()
}

/// Settings of [`make_blobs`]; the defaults are scikit-learn's.
#[derive(Clone, Debug, PartialEq)]
pub struct BlobsConfig {
    pub n_samples: usize,
    /// Number of clusters.
    pub centers: usize,
    pub n_features: usize,
    /// Standard deviation of each cluster.
    pub cluster_std: f64,
    /// Cluster centres are drawn uniformly from this range in every feature.
    pub center_box: (f64, f64),
}

impl Default for BlobsConfig {
    fn default() -> Self {
        BlobsConfig {
            n_samples: 100,
            centers: 3,
            n_features: 2,
            cluster_std: 1.0,
            center_box: (-10.0, 10.0),
        }
    }
}

/// Gaussian clusters for clustering (scikit-learn's `make_blobs`); the label
/// is the cluster.
///
/// ```
/// use aiguide::data::{BlobsConfig, make_blobs};
/// let blobs = make_blobs(&BlobsConfig { n_samples: 300, centers: 4, cluster_std: 0.6, ..Default::default() }, 42)?;
/// assert_eq!(blobs.x.dim(), (300, 2));
/// # Ok::<(), aiguide::Error>(())
/// ```
pub fn make_blobs(config: &BlobsConfig, seed: u64) -> Result<Tabular<usize>> {
    let BlobsConfig {
        n_samples,
        centers,
        n_features,
        cluster_std,
        center_box: (lo, hi),
    } = *config;
    if centers == 0 || n_features == 0 || lo.partial_cmp(&hi) != Some(std::cmp::Ordering::Less) {
        return Err(Error::InvalidArgument(format!(
            "make_blobs: need centers >= 1, n_features >= 1 and a center_box (lo, hi) with lo < hi, got {config:?}"
        )));
    }
    let noise = gaussian("make_blobs", 0.0, cluster_std)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let middle = Array2::from_shape_fn((centers, n_features), |_| rng.gen_range(lo..hi));
    let mut rows: Vec<usize> = (0..n_samples).map(|i| i % centers).collect();
    rows.sort_unstable();
    rows.shuffle(&mut rng);
    let x = Array2::from_shape_fn((n_samples, n_features), |(r, c)| {
        middle[[rows[r], c]] + noise.sample(&mut rng)
    });
    Tabular::new(
        "make_blobs",
        x,
        Array1::from(rows),
        names("x", n_features),
        names("", centers),
    )
}

/// Settings of [`make_classification`]; the defaults are scikit-learn's.
#[derive(Clone, Debug, PartialEq)]
pub struct ClassificationConfig {
    pub n_samples: usize,
    pub n_features: usize,
    /// Features that carry the class signal.
    pub n_informative: usize,
    /// Random linear combinations of the informative features.
    pub n_redundant: usize,
    /// Copies of informative or redundant features.
    pub n_repeated: usize,
    pub n_classes: usize,
    /// Gaussian clusters per class, each on a vertex of a hypercube.
    pub n_clusters_per_class: usize,
    /// Fraction of labels replaced at random (label noise).
    pub flip_y: f64,
    /// Half the side of the hypercube: larger separates the classes more.
    pub class_sep: f64,
}

impl Default for ClassificationConfig {
    fn default() -> Self {
        ClassificationConfig {
            n_samples: 100,
            n_features: 20,
            n_informative: 2,
            n_redundant: 2,
            n_repeated: 0,
            n_classes: 2,
            n_clusters_per_class: 2,
            flip_y: 0.01,
            class_sep: 1.0,
        }
    }
}

/// A random classification problem (scikit-learn's `make_classification`).
///
/// Each class is a few Gaussian clusters with random covariance around
/// vertices of a hypercube in the informative features; the other features
/// are redundant combinations, repeats or pure noise, in shuffled order.
/// Feature names say which is which (`informative_0`, `redundant_1`,
/// `repeated_0`, `noise_3`), handy when checking feature importances.
///
/// ```
/// use aiguide::data::{ClassificationConfig, make_classification};
/// let cfg = ClassificationConfig { n_samples: 1000, n_features: 20, n_informative: 10, ..Default::default() };
/// let data = make_classification(&cfg, 42)?;
/// assert_eq!(data.x.dim(), (1000, 20));
/// # Ok::<(), aiguide::Error>(())
/// ```
pub fn make_classification(config: &ClassificationConfig, seed: u64) -> Result<Tabular<usize>> {
    let c = config;
    let (ni, nr, nrep) = (c.n_informative, c.n_redundant, c.n_repeated);
    let n_clusters = c.n_classes * c.n_clusters_per_class;
    let bad = |why: String| {
        Err(Error::InvalidArgument(format!(
            "make_classification: {why}"
        )))
    };
    if ni == 0 || c.n_classes == 0 || c.n_clusters_per_class == 0 {
        return bad("n_informative, n_classes and n_clusters_per_class must be >= 1".into());
    }
    if ni + nr + nrep > c.n_features {
        return bad(format!(
            "informative + redundant + repeated ({}) exceeds n_features ({})",
            ni + nr + nrep,
            c.n_features
        ));
    }
    if ni < 64 && n_clusters > 1usize << ni {
        return bad(format!(
            "n_classes * n_clusters_per_class ({n_clusters}) must be <= 2^n_informative ({})",
            1u64 << ni
        ));
    }
    if !(0.0..=1.0).contains(&c.flip_y) {
        return bad(format!("flip_y must be in [0, 1], got {}", c.flip_y));
    }
    let mut rng = StdRng::seed_from_u64(seed);
    let centroids =
        hypercube_vertices(n_clusters, ni, &mut rng).mapv(|v| v * 2.0 * c.class_sep - c.class_sep);

    // Samples per cluster: equal shares, the remainder to the first clusters.
    let mut sizes = vec![c.n_samples / n_clusters; n_clusters];
    for size in sizes.iter_mut().take(c.n_samples % n_clusters) {
        *size += 1;
    }
    let mut x = Array2::<f64>::zeros((c.n_samples, c.n_features));
    let mut y = Array1::<usize>::zeros(c.n_samples);
    let mut start = 0;
    for (k, &size) in sizes.iter().enumerate() {
        let gaussian = Array2::from_shape_fn((size, ni), |_| rng.sample::<f64, _>(StandardNormal));
        let covariance = Array2::from_shape_fn((ni, ni), |_| 2.0 * rng.r#gen::<f64>() - 1.0);
        let cluster = gaussian.dot(&covariance) + centroids.row(k);
        x.slice_mut(s![start..start + size, ..ni]).assign(&cluster);
        y.slice_mut(s![start..start + size]).fill(k % c.n_classes);
        start += size;
    }
    let mut roles = names("informative_", ni);
    if nr > 0 {
        let mix = Array2::from_shape_fn((ni, nr), |_| 2.0 * rng.r#gen::<f64>() - 1.0);
        let redundant = x.slice(s![.., ..ni]).dot(&mix);
        x.slice_mut(s![.., ni..ni + nr]).assign(&redundant);
        roles.extend(names("redundant_", nr));
    }
    for j in 0..nrep {
        let source = (((ni + nr - 1) as f64) * rng.r#gen::<f64>() + 0.5) as usize;
        let column = x.column(source).to_owned();
        x.column_mut(ni + nr + j).assign(&column);
        roles.push(format!("repeated_{j}"));
    }
    let n_noise = c.n_features - ni - nr - nrep;
    for j in 0..n_noise {
        let column = Array1::from_shape_fn(c.n_samples, |_| rng.sample::<f64, _>(StandardNormal));
        x.column_mut(ni + nr + nrep + j).assign(&column);
        roles.push(format!("noise_{j}"));
    }
    for label in y.iter_mut() {
        if rng.r#gen::<f64>() < c.flip_y {
            *label = rng.gen_range(0..c.n_classes);
        }
    }
    // Shuffle samples, then features (keeping each feature's name).
    let mut rows: Vec<usize> = (0..c.n_samples).collect();
    rows.shuffle(&mut rng);
    let mut cols: Vec<usize> = (0..c.n_features).collect();
    cols.shuffle(&mut rng);
    let x = x
        .select(ndarray::Axis(0), &rows)
        .select(ndarray::Axis(1), &cols);
    let y = y.select(ndarray::Axis(0), &rows);
    let feature_names = cols.iter().map(|&j| roles[j].clone()).collect();
    Tabular::new(
        "make_classification",
        x,
        y,
        feature_names,
        names("", c.n_classes),
    )
}

/// `k` distinct vertices of the unit hypercube in `dim` dimensions, as rows of 0/1.
fn hypercube_vertices(k: usize, dim: usize, rng: &mut StdRng) -> Array2<f64> {
    let mut vertices: Vec<Vec<f64>> = Vec::with_capacity(k);
    if dim < 31 {
        for v in sample(rng, 1 << dim, k) {
            vertices.push((0..dim).map(|bit| ((v >> bit) & 1) as f64).collect());
        }
    } else {
        // 2^31 or more vertices: random ones are distinct with near certainty; check anyway.
        while vertices.len() < k {
            let v: Vec<f64> = (0..dim).map(|_| f64::from(rng.gen_range(0u8..2))).collect();
            if !vertices.contains(&v) {
                vertices.push(v);
            }
        }
    }
    Array2::from_shape_fn((k, dim), |(r, c)| vertices[r][c])
}

/// Noisy samples of `sin(x)` for `x` uniform in `[0, 10)`, sorted by `x`: the
/// guide's example for under- and overfitting with polynomial features.
pub fn noisy_sine(n_samples: usize, noise: f64, seed: u64) -> Result<Tabular<f64>> {
    let normal = gaussian("noisy_sine", 0.0, noise)?;
    let mut rng = StdRng::seed_from_u64(seed);
    let mut xs: Vec<f64> = (0..n_samples).map(|_| rng.gen_range(0.0..10.0)).collect();
    xs.sort_by(f64::total_cmp);
    let y = xs
        .iter()
        .map(|x| x.sin() + normal.sample(&mut rng))
        .collect();
    Tabular::new(
        "noisy_sine",
        Array2::from_shape_vec((n_samples, 1), xs).expect("one column"),
        y,
        vec!["x".into()],
        Vec::new(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(y: &Array1<usize>, k: usize) -> Vec<usize> {
        (0..k)
            .map(|c| y.iter().filter(|&&l| l == c).count())
            .collect()
    }

    #[test]
    fn moons_lie_on_two_arcs() {
        let m = make_moons(101, 0.0, 1).unwrap();
        assert_eq!(counts(&m.y, 2), [50, 51]);
        for (p, &c) in m.x.rows().into_iter().zip(&m.y) {
            let r = if c == 0 {
                p[0].hypot(p[1])
            } else {
                (p[0] - 1.0).hypot(p[1] - 0.5)
            };
            assert!((r - 1.0).abs() < 1e-9);
        }
        assert_eq!(
            make_moons(50, 0.1, 3).unwrap(),
            make_moons(50, 0.1, 3).unwrap()
        );
        assert_ne!(
            make_moons(50, 0.1, 3).unwrap().x,
            make_moons(50, 0.1, 4).unwrap().x
        );
        assert!(make_moons(10, -1.0, 0).is_err());
    }

    #[test]
    fn circles_have_two_radii() {
        let c = make_circles(40, 0.0, 0.3, 7).unwrap();
        for (p, &class) in c.x.rows().into_iter().zip(&c.y) {
            let expected = if class == 0 { 1.0 } else { 0.3 };
            assert!((p[0].hypot(p[1]) - expected).abs() < 1e-9);
        }
        assert!(make_circles(10, 0.1, 1.0, 0).is_err());
        let noisy = make_circles(400, 0.05, 0.5, 7).unwrap();
        assert!(noisy.x.iter().all(|v| v.abs() < 1.5));
    }

    #[test]
    fn blobs_cluster_around_their_centres() {
        let cfg = BlobsConfig {
            n_samples: 301,
            centers: 4,
            cluster_std: 0.1,
            ..Default::default()
        };
        let b = make_blobs(&cfg, 42).unwrap();
        assert_eq!(counts(&b.y, 4), [76, 75, 75, 75]);
        for k in 0..4 {
            let rows: Vec<usize> = (0..b.len()).filter(|&i| b.y[i] == k).collect();
            let cluster = b.x.select(ndarray::Axis(0), &rows);
            let spread = cluster.std_axis(ndarray::Axis(0), 0.0);
            assert!(spread.iter().all(|&s| s < 0.2), "{spread}");
        }
        assert_eq!(make_blobs(&cfg, 42).unwrap(), b);
        assert!(
            make_blobs(
                &BlobsConfig {
                    centers: 0,
                    ..cfg.clone()
                },
                0
            )
            .is_err()
        );
        assert!(
            make_blobs(
                &BlobsConfig {
                    center_box: (1.0, 1.0),
                    ..cfg
                },
                0
            )
            .is_err()
        );
    }

    #[test]
    fn classification_builds_every_kind_of_feature() {
        let cfg = ClassificationConfig {
            n_samples: 400,
            n_features: 8,
            n_informative: 3,
            n_redundant: 2,
            n_repeated: 1,
            n_classes: 3,
            flip_y: 0.0,
            ..Default::default()
        };
        let d = make_classification(&cfg, 5).unwrap();
        assert_eq!(d.x.dim(), (400, 8));
        let counts = counts(&d.y, 3);
        assert!(
            counts.iter().all(|&n| (133..=134).contains(&n)),
            "{counts:?}"
        );
        let count = |role: &str| {
            d.feature_names
                .iter()
                .filter(|n| n.starts_with(role))
                .count()
        };
        assert_eq!(
            [
                count("informative"),
                count("redundant"),
                count("repeated"),
                count("noise")
            ],
            [3, 2, 1, 2]
        );
        let repeated = d
            .feature_names
            .iter()
            .position(|n| n.starts_with("repeated"))
            .unwrap();
        let copies = (0..8)
            .filter(|&j| d.x.column(j) == d.x.column(repeated))
            .count();
        assert_eq!(copies, 2, "the repeated feature equals its source");
        assert_eq!(make_classification(&cfg, 5).unwrap(), d);
    }

    #[test]
    fn classification_rejects_impossible_settings() {
        let base = ClassificationConfig::default();
        for cfg in [
            ClassificationConfig {
                n_informative: 2,
                n_classes: 3,
                ..base.clone()
            },
            ClassificationConfig {
                n_features: 3,
                ..base.clone()
            },
            ClassificationConfig {
                flip_y: 2.0,
                ..base.clone()
            },
            ClassificationConfig {
                n_informative: 0,
                ..base.clone()
            },
        ] {
            assert!(make_classification(&cfg, 0).is_err(), "{cfg:?}");
        }
        let guide = ClassificationConfig {
            n_samples: 1000,
            n_features: 20,
            n_informative: 10,
            ..base
        };
        assert_eq!(make_classification(&guide, 42).unwrap().len(), 1000);
    }

    #[test]
    fn sine_is_sorted_and_close_to_the_curve() {
        let d = noisy_sine(30, 0.0, 42).unwrap();
        let x = d.x.column(0);
        assert!(x.windows(2).into_iter().all(|w| w[0] <= w[1]));
        assert!(x.iter().zip(&d.y).all(|(x, y)| (x.sin() - y).abs() < 1e-12));
        assert!(x.iter().all(|&x| (0.0..10.0).contains(&x)));
        assert!(noisy_sine(5, f64::NAN, 0).is_err());
    }
}
