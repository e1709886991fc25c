//! `aiguide::safety`'s Rényi-DP accountant against Opacus's
//! (`helpers/scripts/make_rdp_fixture.py` recorded Opacus 1.6.0's values),
//! and against epsilons TensorFlow Privacy published for its MNIST tutorial.

use aiguide::safety::{RdpAccountant, default_orders, sampled_gaussian_rdp};
use serde_json::Value;

fn fixture() -> Value {
    serde_json::from_str(include_str!("fixtures/rdp_opacus.json")).unwrap()
}

fn floats(v: &Value) -> Vec<f64> {
    v.as_array()
        .unwrap()
        .iter()
        .map(|x| x.as_f64().unwrap())
        .collect()
}

#[test]
fn default_orders_are_opacus_orders() {
    assert_eq!(default_orders(), floats(&fixture()["orders"]));
}

/// One step's RDP at each of Opacus's 151 orders, for 30 (sample rate,
/// noise multiplier) pairs: fractional orders (two infinite series) and
/// integer orders (a finite one) alike.
#[test]
fn rdp_matches_opacus() {
    let fixture = fixture();
    let orders = floats(&fixture["orders"]);
    let mut worst: f64 = 0.0;
    for case in fixture["cases"].as_array().unwrap() {
        let q = case["sample_rate"].as_f64().unwrap();
        let sigma = case["noise_multiplier"].as_f64().unwrap();
        for (&order, theirs) in orders.iter().zip(floats(&case["rdp_one_step"])) {
            let ours = sampled_gaussian_rdp(q, sigma, order).unwrap();
            let relative = (ours - theirs).abs() / theirs.abs();
            assert!(
                relative < 1e-6,
                "q {q} sigma {sigma} order {order}: {ours} vs {theirs}"
            );
            worst = worst.max(relative);
        }
    }
    println!("largest relative RDP difference: {worst:.1e}");
}

/// Epsilon and its order after 1 to 100 000 steps, at two deltas: the same
/// conversion, so the same numbers.
#[test]
fn epsilon_matches_opacus() {
    let mut worst: f64 = 0.0;
    for case in fixture()["cases"].as_array().unwrap() {
        let q = case["sample_rate"].as_f64().unwrap();
        let sigma = case["noise_multiplier"].as_f64().unwrap();
        for spent in case["privacy"].as_array().unwrap() {
            let mut accountant = RdpAccountant::new(q, sigma).unwrap();
            accountant.step(spent["steps"].as_u64().unwrap());
            let (eps, order) = accountant
                .epsilon(spent["delta"].as_f64().unwrap())
                .unwrap();
            let theirs = spent["epsilon"].as_f64().unwrap();
            let relative = (eps - theirs).abs() / theirs;
            assert!(
                relative < 1e-6,
                "q {q} sigma {sigma} {spent}: epsilon {eps}"
            );
            assert_eq!(
                order,
                spent["order"].as_f64().unwrap(),
                "q {q} sigma {sigma} {spent}"
            );
            worst = worst.max(relative);
        }
    }
    println!("largest relative epsilon difference: {worst:.1e}");
}

/// TensorFlow Privacy's MNIST tutorial (tutorials/README.md, 2019-03 to
/// 2019-09 versions, e.g. commit 0776ed1): `compute_dp_sgd_privacy.py
/// --N=60000 --batch_size=256 --noise_multiplier=1.1 --epochs=60
/// --delta=1e-5` "satisfies differential privacy with eps = 3.01", and with
/// noise 1.3 for 15 epochs, 1.19 (its table). That script used orders
/// 1.25, 1.5, 1.75, 2, 2.25, 2.5, 3, 3.5, 4, 4.5, 5..63, 128, 256, 512,
/// `ceil(epochs * N / batch_size)` steps and the classic conversion
/// `min over orders of rdp - log(delta) / (order - 1)` (Mironov 2017),
/// printed to 3 significant digits: ours must round to the same.
/// Opacus's tighter conversion must give less.
#[test]
fn tensorflow_privacy_mnist_epsilons() {
    let mut orders = vec![1.25, 1.5, 1.75, 2.0, 2.25, 2.5, 3.0, 3.5, 4.0, 4.5];
    orders.extend((5..64).map(f64::from));
    orders.extend([128.0, 256.0, 512.0]);
    let (q, delta) = (256.0 / 60_000.0, 1e-5_f64);
    for (sigma, epochs, published) in [(1.1, 60.0, 3.01), (1.3, 15.0, 1.19)] {
        let steps = (epochs * 60_000.0 / 256.0_f64).ceil() as u64;
        let mut accountant = RdpAccountant::with_orders(q, sigma, &orders).unwrap();
        accountant.step(steps);
        let classic = accountant
            .rdp()
            .iter()
            .map(|&(order, rdp)| rdp - delta.ln() / (order - 1.0))
            .fold(f64::INFINITY, f64::min);
        println!(
            "sigma {sigma}, {steps} steps: classic epsilon {classic:.4} (published {published})"
        );
        assert!(
            (classic - published).abs() <= 0.005,
            "{classic} vs {published}"
        );
        let (tighter, _) = accountant.epsilon(delta).unwrap();
        assert!(tighter < classic, "{tighter}");
    }
}
