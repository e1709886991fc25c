//! Reinforcement learning (chapter 8.1): an agent learns what to do from
//! rewards, by trial and error.
//!
//! - [`GridWorld`]: the guide's 4x4 grid with an obstacle, a goal worth +10
//!   and -0.1 for every other step; its [`GridWorld::transition`] is the
//!   model that planning methods use.
//! - [`QLearning`]: tabular Q-learning with an epsilon-greedy policy, the
//!   guide's algorithm and settings, returning the [`QTable`] and each
//!   episode's return.
//! - [`value_iteration`]: the optimal Q-values computed from the model, the
//!   reference a learned policy is checked against; [`shortest_path`] and
//!   [`greedy_path`] compare the routes they take.
//! - [`CartPole`]: the classic balancing task with gymnasium's
//!   `CartPole-v1` constants (a test replays gymnasium's trajectories).
//! - [`Dqn`]: deep Q-learning on CartPole with a replay buffer, a target
//!   network and a falling epsilon.

mod cartpole;
mod dqn;
mod gridworld;
mod tabular;

pub use cartpole::{ACTIONS, CartPole, CartStep};
pub use dqn::{Dqn, DqnTraining, QNetwork, ReplayBuffer, Transition, evaluate};
pub use gridworld::{Action, Cell, GridWorld, Step};
pub use tabular::{QLearning, QTable, Training, greedy_path, shortest_path, value_iteration};
