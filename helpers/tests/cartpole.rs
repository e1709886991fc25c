//! `aiguide::rl::CartPole` against gymnasium's CartPole-v1 on the
//! trajectories `helpers/scripts/make_cartpole_fixture.py` recorded.

use aiguide::rl::CartPole;
use serde_json::Value;

fn trajectories() -> Vec<Value> {
    let fixture: Value = serde_json::from_str(include_str!("fixtures/cartpole_v1.json")).unwrap();
    fixture["trajectories"].as_array().unwrap().clone()
}

fn state(v: &Value) -> [f64; 4] {
    std::array::from_fn(|i| v[i].as_f64().unwrap())
}

/// Each step from gymnasium's state before it lands on gymnasium's state
/// after it. (Compared step by step because the upright pole is unstable:
/// over 500 steps a last-bit difference in `sin` grows to 1e-3.)
#[test]
fn every_step_matches_gymnasium() {
    let mut worst: f64 = 0.0;
    for case in trajectories() {
        let mut before = state(&case["start"]);
        for (i, action) in case["actions"].as_array().unwrap().iter().enumerate() {
            let step = CartPole::from_state(before)
                .step(action.as_u64().unwrap() as usize)
                .unwrap();
            let after = state(&case["states"][i]);
            for (ours, theirs) in step.state.iter().zip(after) {
                worst = worst.max((ours - theirs).abs());
            }
            before = after;
        }
    }
    println!("largest state difference after one step: {worst:.1e}");
    assert!(worst < 1e-12, "largest state difference {worst:e}");
}

/// Whole episodes replayed from the start: the same rewards, and the same
/// step ends each one, by a fall or by the 500-step limit.
#[test]
fn episodes_end_where_gymnasium_ends_them() {
    let mut lengths = Vec::new();
    for case in trajectories() {
        let mut cart = CartPole::from_state(state(&case["start"]));
        for (i, action) in case["actions"].as_array().unwrap().iter().enumerate() {
            let step = cart.step(action.as_u64().unwrap() as usize).unwrap();
            let seed = &case["seed"];
            assert_eq!(step.reward, case["rewards"][i].as_f64().unwrap());
            assert_eq!(
                step.terminated,
                case["terminated"][i].as_bool().unwrap(),
                "seed {seed} step {i}"
            );
            assert_eq!(
                step.truncated,
                case["truncated"][i].as_bool().unwrap(),
                "seed {seed} step {i}"
            );
        }
        lengths.push(case["actions"].as_array().unwrap().len());
    }
    assert_eq!(lengths, [34, 11, 17, 12, 13, CartPole::MAX_STEPS]);
}
