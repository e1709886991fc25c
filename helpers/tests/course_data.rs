//! The loaders on the real course data. These need `./course data` to have
//! filled the data directory (`./course test` does that first); without it
//! they fail with the loader's message, which names that command.

use aiguide::data;
use aiguide::hub::{Hub, Source};

#[test]
fn every_registry_asset_is_present_and_intact() {
    let hub = Hub::from_env().unwrap();
    for asset in hub.manifest().assets() {
        if let Source::PyPi { .. } = asset.source {
            hub.locate(&asset.name).unwrap();
        }
    }
}

#[test]
fn classic_tables_have_scikit_learns_shapes() {
    let shapes = [
        ("iris", data::iris().unwrap().x.dim(), (150, 4)),
        ("wine", data::wine().unwrap().x.dim(), (178, 13)),
        (
            "breast cancer",
            data::breast_cancer().unwrap().x.dim(),
            (569, 30),
        ),
        ("digits", data::digits().unwrap().x.dim(), (1797, 64)),
        ("diabetes", data::diabetes().unwrap().x.dim(), (442, 10)),
    ];
    for (name, got, expected) in shapes {
        assert_eq!(got, expected, "{name}");
    }
    let iris = data::iris().unwrap();
    assert_eq!(iris.class_names, ["setosa", "versicolor", "virginica"]);
    assert_eq!(iris.y.iter().filter(|&&c| c == 2).count(), 50);
    let diabetes = data::diabetes().unwrap();
    assert_eq!(diabetes.y[0], 151.0);
}

#[test]
fn photos_and_texts() {
    for name in ["china", "flower"] {
        let photo = data::sample_image(name).unwrap();
        assert_eq!(photo.size(), [3, 427, 640], "{name}");
        let (lo, hi) = (photo.min().double_value(&[]), photo.max().double_value(&[]));
        assert!(lo >= 0.0 && hi <= 1.0 && hi > lo, "{name}: {lo}..{hi}");
    }
    let corpus = data::shakespeare().unwrap();
    assert_eq!(corpus.documents.len(), 42);
    assert!(
        corpus
            .document("hamlet")
            .unwrap()
            .text
            .contains("To be, or not to be")
    );
    assert!(corpus.len_chars() > 5_000_000);
}

#[test]
fn karate_club_has_zacharys_counts() {
    let club = aiguide::graph::karate_club().unwrap();
    assert_eq!((club.graph.num_nodes(), club.graph.num_edges()), (34, 78));
    let officers = club.labels.iter().filter(|&&l| l == 1).count();
    assert_eq!((34 - officers, officers), (17, 17));
    // NetworkX's documented examples: node 5 is Mr. Hi's, node 9 the Officer's.
    assert_eq!((club.labels[5], club.labels[9]), (0, 1));
    assert_eq!(club.graph.degrees()[33], 17);
}

#[test]
fn adult_matches_its_documentation() {
    let adult = data::adult().unwrap();
    let data = adult.data();
    // adult.names: "45222 if instances with unknown values are removed
    // (train=30162, test=15060)", and 24.78% of them earn >50K.
    assert_eq!(data.x.dim(), (45222, 80));
    let high = |rows: std::ops::Range<usize>| rows.filter(|&r| data.y[r] == 1).count();
    assert_eq!(high(0..45222), 11208);
    assert!((11208.0 / 45222.0 - 0.2478_f64).abs() < 5e-5);
    // Of adult.data's 30162 complete rows, 7508 earn >50K (the file's own
    // count, e.g. `grep -v '?' adult.data | grep -c '>50K'`).
    assert_eq!(high(0..30162), 7508);
    assert_eq!(
        data.x.row(0).to_vec()[..5],
        [39.0, 13.0, 2174.0, 0.0, 40.0],
        "adult.data's first line: 39, State-gov, ..., 13, ..., 2174, 0, 40"
    );
    assert_eq!(data.feature_names[5], "workclass=Federal-gov");
    // Counted in the raw files (complete rows) with awk on the sex and race columns.
    let sex = adult.groups("sex").unwrap();
    assert_eq!(sex.names(), ["Female", "Male"]);
    assert_eq!(sex.counts(), [14695, 30527]);
    let race = adult.groups("race").unwrap();
    assert_eq!(
        race.names(),
        [
            "Amer-Indian-Eskimo",
            "Asian-Pac-Islander",
            "Black",
            "Other",
            "White"
        ]
    );
    assert_eq!(race.counts(), [435, 1303, 4228, 353, 38903]);
    assert_eq!(adult.with_group_features().n_features(), 87);
}
