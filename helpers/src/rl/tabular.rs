//! Tabular methods on a [`GridWorld`]: Q-learning, which learns from
//! experience, and value iteration, which plans with the world's model.

use std::collections::VecDeque;

use ndarray::Array2;
use rand::Rng;

use super::gridworld::{Action, Cell, GridWorld};

/// A value for every (cell, action) of a grid: Q(s, a), the return expected
/// from taking `a` in `s` and acting well afterwards.
#[derive(Clone, Debug, PartialEq)]
pub struct QTable {
    size: usize,
    values: Vec<[f64; 4]>,
}

impl QTable {
    /// All zeros for a `size` x `size` grid.
    pub fn new(size: usize) -> QTable {
        QTable {
            size,
            values: vec![[0.0; 4]; size * size],
        }
    }

    /// Q(`cell`, `action`).
    pub fn get(&self, cell: Cell, action: Action) -> f64 {
        self.values[self.index(cell)][action.index()]
    }

    /// Sets Q(`cell`, `action`).
    pub fn set(&mut self, cell: Cell, action: Action, value: f64) {
        let i = self.index(cell);
        self.values[i][action.index()] = value;
    }

    /// The best action in `cell`; the first of [`Action::ALL`] on a tie, as
    /// NumPy's `argmax` picks.
    pub fn greedy(&self, cell: Cell) -> Action {
        let row = self.values[self.index(cell)];
        let best = (1..4).fold(0, |best, a| if row[a] > row[best] { a } else { best });
        Action::ALL[best]
    }

    /// V(`cell`) = max over actions of Q(`cell`, a).
    pub fn value(&self, cell: Cell) -> f64 {
        self.values[self.index(cell)]
            .into_iter()
            .fold(f64::NEG_INFINITY, f64::max)
    }

    /// V of every cell as a `size` x `size` array (rows are grid rows), for
    /// a heatmap.
    pub fn values(&self) -> Array2<f64> {
        Array2::from_shape_fn((self.size, self.size), |cell| self.value(cell))
    }

    fn index(&self, (row, col): Cell) -> usize {
        row * self.size + col
    }
}

/// What [`QLearning::train`] returns.
#[derive(Clone, Debug)]
pub struct Training {
    /// The learned Q-values.
    pub q: QTable,
    /// Each episode's return: the sum of its rewards (undiscounted).
    pub returns: Vec<f64>,
    /// Each episode's number of steps.
    pub steps: Vec<usize>,
}

/// Tabular Q-learning: after each step from s by a to s' with reward r,
/// `Q(s, a) += learning_rate * (r + gamma * max_a' Q(s', a') - Q(s, a))`,
/// where the max is 0 once the episode is over. Actions are epsilon-greedy:
/// random with probability `epsilon`, otherwise the greedy one.
#[derive(Clone, Debug, PartialEq)]
pub struct QLearning {
    /// The step size of each update.
    pub learning_rate: f64,
    /// The discount: how much a reward one step later is worth now.
    pub gamma: f64,
    /// The probability of a random action (exploration).
    pub epsilon: f64,
    /// Episodes to train for.
    pub episodes: usize,
    /// The most steps in one episode.
    pub max_steps: usize,
}

impl QLearning {
    /// The guide's settings: learning rate 0.1, gamma 0.99, epsilon 0.1,
    /// 1000 episodes of at most 50 steps.
    pub fn guide() -> QLearning {
        QLearning {
            learning_rate: 0.1,
            gamma: 0.99,
            epsilon: 0.1,
            episodes: 1000,
            max_steps: 50,
        }
    }

    /// Learns Q-values on `world` from zeros, drawing exploration from `rng`.
    ///
    /// One difference from the guide's loop: at the goal the target is the
    /// reward alone. The guide adds `gamma * max Q(goal)`, which is 0 only
    /// because the goal's row is never updated; here that is by definition.
    pub fn train(&self, world: &mut GridWorld, rng: &mut impl Rng) -> Training {
        let mut q = QTable::new(world.size());
        let (mut returns, mut steps) = (Vec::new(), Vec::new());
        for _ in 0..self.episodes {
            let mut state = world.reset();
            let (mut total, mut taken) = (0.0, 0);
            for _ in 0..self.max_steps {
                let action = match rng.gen_range(0.0..1.0) < self.epsilon {
                    true => Action::ALL[rng.gen_range(0..4)],
                    false => q.greedy(state),
                };
                let step = world.step(action);
                let future = if step.done { 0.0 } else { q.value(step.state) };
                let old = q.get(state, action);
                let target = step.reward + self.gamma * future;
                q.set(state, action, old + self.learning_rate * (target - old));
                (total, taken, state) = (total + step.reward, taken + 1, step.state);
                if step.done {
                    break;
                }
            }
            returns.push(total);
            steps.push(taken);
        }
        Training { q, returns, steps }
    }
}

/// The optimal Q-values of `world` with discount `gamma`, by value
/// iteration: sweep `Q(s, a) = r + gamma * max_a' Q(s', a')` over every cell
/// and action with the world's model ([`GridWorld::transition`]) until no
/// value moves by more than `tolerance`. The goal's values stay 0.
pub fn value_iteration(world: &GridWorld, gamma: f64, tolerance: f64) -> QTable {
    let mut q = QTable::new(world.size());
    loop {
        let mut largest_change: f64 = 0.0;
        for cell in world.cells().filter(|&c| c != world.goal()) {
            for action in Action::ALL {
                let step = world.transition(cell, action);
                let future = if step.done { 0.0 } else { q.value(step.state) };
                let value = step.reward + gamma * future;
                largest_change = largest_change.max((value - q.get(cell, action)).abs());
                q.set(cell, action, value);
            }
        }
        if largest_change <= tolerance {
            return q;
        }
    }
}

/// The cells visited from the start by always taking `policy`'s action,
/// ending on the goal; `None` if the goal is not reached within
/// `world.size()²` steps (the policy walks in circles or into a wall).
pub fn greedy_path(world: &GridWorld, policy: &QTable) -> Option<Vec<Cell>> {
    let mut path = vec![world.start()];
    for _ in 0..world.size() * world.size() {
        let step = world.transition(*path.last()?, policy.greedy(*path.last()?));
        path.push(step.state);
        if step.done {
            return Some(path);
        }
    }
    None
}

/// A shortest route from the start to the goal (breadth-first search), as
/// the cells visited; `None` if the obstacles wall the goal off.
pub fn shortest_path(world: &GridWorld) -> Option<Vec<Cell>> {
    let n = world.size();
    let mut came_from: Vec<Option<Cell>> = vec![None; n * n];
    let mut queue = VecDeque::from([world.start()]);
    came_from[world.start().0 * n + world.start().1] = Some(world.start());
    while let Some(cell) = queue.pop_front() {
        if cell == world.goal() {
            let mut path = vec![cell];
            while *path.last()? != world.start() {
                let (row, col) = *path.last()?;
                path.push(came_from[row * n + col]?);
            }
            path.reverse();
            return Some(path);
        }
        for action in Action::ALL {
            let next = world.transition(cell, action).state;
            let seen = &mut came_from[next.0 * n + next.1];
            if seen.is_none() {
                *seen = Some(cell);
                queue.push_back(next);
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    #[test]
    fn value_iteration_finds_the_known_optimum() {
        let world = GridWorld::guide();
        let q = value_iteration(&world, 0.99, 1e-12);
        // From a cell k steps from the goal: k - 1 steps at -0.1, then +10.
        let optimum =
            |k: i32| -0.1 * (1.0 - 0.99f64.powi(k - 1)) / 0.01 + 10.0 * 0.99f64.powi(k - 1);
        assert!((q.value((3, 2)) - 10.0).abs() < 1e-9);
        assert!(
            (q.value((0, 0)) - optimum(6)).abs() < 1e-9,
            "{}",
            q.value((0, 0))
        );
        assert_eq!(q.value((3, 3)), 0.0);
        let path = greedy_path(&world, &q).unwrap();
        assert_eq!(path.len(), 7, "six steps: {path:?}");
        assert_eq!(shortest_path(&world).unwrap().len(), 7);
        assert_eq!(q.values().dim(), (4, 4));
    }

    #[test]
    fn q_learning_learns_a_shortest_route_in_the_guides_settings() {
        let mut world = GridWorld::guide();
        let training = QLearning::guide().train(&mut world, &mut StdRng::seed_from_u64(0));
        assert_eq!(training.returns.len(), 1000);
        let path = greedy_path(&world, &training.q).expect("the greedy policy reaches the goal");
        assert_eq!(path.len(), shortest_path(&world).unwrap().len());
        let late: f64 = training.returns[900..].iter().sum::<f64>() / 100.0;
        let early: f64 = training.returns[..100].iter().sum::<f64>() / 100.0;
        assert!(late > early, "returns rose: {early} -> {late}");
    }

    #[test]
    fn a_walled_off_goal_has_no_path() {
        let world = GridWorld::new(3, (0, 0), (2, 2), &[(1, 2), (2, 1)], 1.0, 0.0).unwrap();
        assert_eq!(shortest_path(&world), None);
        assert_eq!(
            greedy_path(&world, &QTable::new(3)),
            None,
            "all-zero Q walks up forever"
        );
    }
}
