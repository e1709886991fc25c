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
