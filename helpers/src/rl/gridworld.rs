//! [`GridWorld`]: a square grid an agent walks on, from a start cell to a
//! goal, around obstacles.

use crate::{Error, Result};

/// A cell as (row, column), (0, 0) at the top left.
pub type Cell = (usize, usize);

/// A move to a neighbouring cell.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// One row up.
    Up,
    /// One row down.
    Down,
    /// One column left.
    Left,
    /// One column right.
    Right,
}

impl Action {
    /// The four actions, in the guide's numbering (0 = up, 1 = down,
    /// 2 = left, 3 = right), which is also [`Action::index`]'s.
    pub const ALL: [Action; 4] = [Action::Up, Action::Down, Action::Left, Action::Right];

    /// This action's number in [`Action::ALL`] (a Q-table's column).
    pub fn index(self) -> usize {
        self as usize
    }

    /// The arrow that shows it on a drawing of the grid.
    pub fn arrow(self) -> char {
        ['↑', '↓', '←', '→'][self.index()]
    }

    /// (rows, columns) it moves by.
    fn delta(self) -> (isize, isize) {
        [(-1, 0), (1, 0), (0, -1), (0, 1)][self.index()]
    }
}

/// What one step led to.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Step {
    /// The cell the agent is in now.
    pub state: Cell,
    /// The reward for the step.
    pub reward: f64,
    /// Whether the episode is over (the agent is on the goal).
    pub done: bool,
}

/// A deterministic grid world: an action moves the agent one cell, unless
/// that would leave the grid or enter an obstacle, in which case it stays
/// (and still pays the step's cost). Reaching the goal pays `goal_reward`
/// and ends the episode; every other step pays `step_reward`.
#[derive(Clone, Debug, PartialEq)]
pub struct GridWorld {
    size: usize,
    start: Cell,
    goal: Cell,
    obstacles: Vec<Cell>,
    goal_reward: f64,
    step_reward: f64,
    state: Cell,
}

impl GridWorld {
    /// The guide's world: 4x4, start (0, 0), goal (3, 3), an obstacle at
    /// (1, 1), +10 for reaching the goal and -0.1 for any other step.
    ///
    /// ```text
    /// S . . .
    /// . # . .
    /// . . . .
    /// . . . G
    /// ```
    pub fn guide() -> GridWorld {
        GridWorld::new(4, (0, 0), (3, 3), &[(1, 1)], 10.0, -0.1)
            .expect("the guide's world is valid")
    }

    /// A `size` x `size` world. An error if a cell lies outside the grid,
    /// the start is the goal, or either is an obstacle.
    pub fn new(
        size: usize,
        start: Cell,
        goal: Cell,
        obstacles: &[Cell],
        goal_reward: f64,
        step_reward: f64,
    ) -> Result<GridWorld> {
        let bad = |why: String| Err(Error::InvalidArgument(format!("GridWorld: {why}")));
        let named = [("start", start), ("goal", goal)];
        let all = named
            .iter()
            .copied()
            .chain(obstacles.iter().map(|&c| ("obstacle", c)));
        for (what, (row, col)) in all {
            if row >= size || col >= size {
                return bad(format!(
                    "{what} ({row}, {col}) is outside the {size}x{size} grid"
                ));
            }
        }
        if start == goal {
            return bad(format!("the start {start:?} is the goal"));
        }
        if let Some((what, cell)) = named.iter().find(|(_, c)| obstacles.contains(c)) {
            return bad(format!("the {what} {cell:?} is an obstacle"));
        }
        Ok(GridWorld {
            size,
            start,
            goal,
            obstacles: obstacles.to_vec(),
            goal_reward,
            step_reward,
            state: start,
        })
    }

    /// The grid's side.
    pub fn size(&self) -> usize {
        self.size
    }

    /// Where every episode starts.
    pub fn start(&self) -> Cell {
        self.start
    }

    /// The cell that ends an episode.
    pub fn goal(&self) -> Cell {
        self.goal
    }

    /// Whether `cell` is an obstacle.
    pub fn is_obstacle(&self, cell: Cell) -> bool {
        self.obstacles.contains(&cell)
    }

    /// The cells an agent can stand on (all but obstacles), row by row.
    pub fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        (0..self.size)
            .flat_map(move |row| (0..self.size).map(move |col| (row, col)))
            .filter(|&cell| !self.is_obstacle(cell))
    }

    /// Puts the agent back on the start and returns it.
    pub fn reset(&mut self) -> Cell {
        self.state = self.start;
        self.state
    }

    /// Moves the agent by `action` (see [`GridWorld::transition`]).
    pub fn step(&mut self, action: Action) -> Step {
        let step = self.transition(self.state, action);
        self.state = step.state;
        step
    }

    /// Where `action` takes an agent on `cell`, without moving it: the
    /// world's model, which planning ([`super::value_iteration`]) uses. The
    /// goal is terminal: from it every action stays there, worth 0.
    pub fn transition(&self, cell: Cell, action: Action) -> Step {
        if cell == self.goal {
            return Step {
                state: cell,
                reward: 0.0,
                done: true,
            };
        }
        let (dr, dc) = action.delta();
        let inside = |v: usize, d: isize| v.checked_add_signed(d).filter(|&v| v < self.size);
        let next = match (inside(cell.0, dr), inside(cell.1, dc)) {
            (Some(row), Some(col)) if !self.is_obstacle((row, col)) => (row, col),
            _ => cell,
        };
        let done = next == self.goal;
        Step {
            state: next,
            reward: if done {
                self.goal_reward
            } else {
                self.step_reward
            },
            done,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn walls_and_obstacles_keep_the_agent_in_place() {
        let mut world = GridWorld::guide();
        assert_eq!(world.reset(), (0, 0));
        let up = world.step(Action::Up);
        assert_eq!((up.state, up.reward, up.done), ((0, 0), -0.1, false));
        assert_eq!(world.step(Action::Right).state, (0, 1));
        assert_eq!(
            world.step(Action::Down).state,
            (0, 1),
            "(1, 1) is the obstacle"
        );
        assert_eq!(
            world.transition((3, 2), Action::Right),
            Step {
                state: (3, 3),
                reward: 10.0,
                done: true
            }
        );
        assert_eq!(
            world.transition((3, 3), Action::Left).reward,
            0.0,
            "the goal is terminal"
        );
        assert_eq!(world.cells().count(), 15);
        assert_eq!(Action::ALL.map(Action::arrow), ['↑', '↓', '←', '→']);
    }

    #[test]
    fn impossible_worlds_are_refused_with_the_reason() {
        let err = |r: Result<GridWorld>| r.unwrap_err().to_string();
        assert!(
            err(GridWorld::new(4, (0, 0), (4, 0), &[], 1.0, 0.0))
                .contains("goal (4, 0) is outside")
        );
        assert!(err(GridWorld::new(4, (2, 2), (2, 2), &[], 1.0, 0.0)).contains("is the goal"));
        assert!(
            err(GridWorld::new(4, (0, 0), (3, 3), &[(3, 3)], 1.0, 0.0))
                .contains("goal (3, 3) is an obstacle")
        );
    }
}
