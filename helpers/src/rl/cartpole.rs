//! [`CartPole`]: the classic balancing task (Barto, Sutton & Anderson, 1983)
//! with the constants, limits and rewards of gymnasium's `CartPole-v1`.

use rand::Rng;

use crate::{Error, Result};

/// Pushing the cart left (action 0) or right (action 1).
pub const ACTIONS: usize = 2;

/// A cart on a track with a pole hinged on top. The state is (cart
/// position, cart velocity, pole angle, pole angular velocity); each step
/// pushes the cart left or right with a force of 10 N for 0.02 s (Euler
/// integration of the cart-pole equations). Every step is worth +1; the
/// episode ends when the pole leans more than 12° or the cart leaves ±2.4
/// (terminated), or after 500 steps (truncated: the task was solved, not
/// failed).
#[derive(Clone, Debug, PartialEq)]
pub struct CartPole {
    state: [f64; 4],
    steps: usize,
    over: bool,
}

/// What one step led to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct CartStep {
    /// The new state.
    pub state: [f64; 4],
    /// The reward: 1 for every step, the last one included.
    pub reward: f64,
    /// The pole fell or the cart left the track.
    pub terminated: bool,
    /// The time limit ended the episode.
    pub truncated: bool,
}

impl CartStep {
    /// Whether the episode is over, either way.
    pub fn done(&self) -> bool {
        self.terminated || self.truncated
    }
}

const GRAVITY: f64 = 9.8;
const CART_MASS: f64 = 1.0;
const POLE_MASS: f64 = 0.1;
const TOTAL_MASS: f64 = CART_MASS + POLE_MASS;
/// Half the pole's length, as in the original formulation.
const HALF_LENGTH: f64 = 0.5;
const FORCE: f64 = 10.0;
const TAU: f64 = 0.02;

impl CartPole {
    /// Steps after which an episode is truncated (`CartPole-v1`'s limit).
    pub const MAX_STEPS: usize = 500;
    /// The cart position beyond which the episode terminates.
    pub const X_LIMIT: f64 = 2.4;
    /// The pole angle (radians, 12°) beyond which the episode terminates.
    pub const ANGLE_LIMIT: f64 = 12.0 * 2.0 * std::f64::consts::PI / 360.0;

    /// An episode from a state drawn uniformly from ±0.05 in each variable.
    pub fn new(rng: &mut impl Rng) -> CartPole {
        CartPole::from_state(std::array::from_fn(|_| rng.gen_range(-0.05..0.05)))
    }

    /// An episode from `state`.
    pub fn from_state(state: [f64; 4]) -> CartPole {
        CartPole {
            state,
            steps: 0,
            over: false,
        }
    }

    /// The current state.
    pub fn state(&self) -> [f64; 4] {
        self.state
    }

    /// Pushes the cart: `action` 0 pushes left, 1 right. An error for
    /// another action, or once the episode is over (start a new one).
    pub fn step(&mut self, action: usize) -> Result<CartStep> {
        if action >= ACTIONS {
            return Err(Error::InvalidArgument(format!(
                "CartPole: action {action}; the actions are 0 (push left) and 1 (push right)"
            )));
        }
        if self.over {
            return Err(Error::InvalidArgument(
                "CartPole: the episode is over; start a new one with CartPole::new".into(),
            ));
        }
        let [x, x_dot, theta, theta_dot] = self.state;
        let force = if action == 1 { FORCE } else { -FORCE };
        let (sin, cos) = theta.sin_cos();
        let temp = (force + POLE_MASS * HALF_LENGTH * theta_dot * theta_dot * sin) / TOTAL_MASS;
        let theta_acc = (GRAVITY * sin - cos * temp)
            / (HALF_LENGTH * (4.0 / 3.0 - POLE_MASS * cos * cos / TOTAL_MASS));
        let x_acc = temp - POLE_MASS * HALF_LENGTH * theta_acc * cos / TOTAL_MASS;
        self.state = [
            x + TAU * x_dot,
            x_dot + TAU * x_acc,
            theta + TAU * theta_dot,
            theta_dot + TAU * theta_acc,
        ];
        self.steps += 1;
        let [x, _, theta, _] = self.state;
        let terminated = x.abs() > Self::X_LIMIT || theta.abs() > Self::ANGLE_LIMIT;
        let truncated = !terminated && self.steps >= Self::MAX_STEPS;
        self.over = terminated || truncated;
        Ok(CartStep {
            state: self.state,
            reward: 1.0,
            terminated,
            truncated,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_actions_and_steps_after_the_end_are_errors() {
        let mut cart = CartPole::from_state([0.0, 0.0, 0.2, 1.0]);
        assert!(
            cart.step(2)
                .unwrap_err()
                .to_string()
                .contains("the actions are 0")
        );
        let step = cart.step(0).unwrap();
        assert!(step.terminated && step.done(), "{step:?}");
        assert!(
            cart.step(1)
                .unwrap_err()
                .to_string()
                .contains("episode is over")
        );
    }
}
