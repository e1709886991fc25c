//! DQN (Mnih et al., 2015): Q-learning with a neural network in place of the
//! table, for states a table cannot list, such as [`CartPole`]'s four real
//! numbers.
//!
//! Two additions make the network's targets stable enough to learn from:
//! a replay buffer (updates draw random past transitions, not the last few,
//! which are strongly correlated) and a target network (the bootstrap
//! target `r + gamma * max Q(s')` comes from a copy of the network that is
//! refreshed only every few hundred steps, so it does not move with every
//! update).

use rand::Rng;
use rand::rngs::StdRng;
use tch::nn::{self, Module, OptimizerConfig};
use tch::{Device, Kind, Reduction, Tensor};

use super::cartpole::{ACTIONS, CartPole};
use crate::Result;

/// A bounded store of transitions (state, action, reward, next state,
/// whether the episode terminated there); the oldest are overwritten.
#[derive(Clone, Debug)]
pub struct ReplayBuffer {
    capacity: usize,
    transitions: Vec<Transition>,
    next: usize,
}

/// One step of experience.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Transition {
    /// The state acted in.
    pub state: [f64; 4],
    /// The action taken.
    pub action: usize,
    /// The reward received.
    pub reward: f64,
    /// The state it led to.
    pub next_state: [f64; 4],
    /// Whether the episode terminated there (a fall, not the time limit:
    /// after the time limit the future still had value).
    pub terminal: bool,
}

impl ReplayBuffer {
    /// An empty buffer holding at most `capacity` transitions.
    pub fn new(capacity: usize) -> ReplayBuffer {
        ReplayBuffer {
            capacity: capacity.max(1),
            transitions: Vec::new(),
            next: 0,
        }
    }

    /// Stores `transition`, overwriting the oldest once full.
    pub fn push(&mut self, transition: Transition) {
        if self.transitions.len() < self.capacity {
            self.transitions.push(transition);
        } else {
            self.transitions[self.next] = transition;
        }
        self.next = (self.next + 1) % self.capacity;
    }

    /// How many transitions are stored.
    pub fn len(&self) -> usize {
        self.transitions.len()
    }

    /// Whether nothing is stored.
    pub fn is_empty(&self) -> bool {
        self.transitions.is_empty()
    }

    /// `size` transitions drawn uniformly with replacement.
    pub fn sample(&self, size: usize, rng: &mut impl Rng) -> Vec<Transition> {
        (0..size)
            .map(|_| self.transitions[rng.gen_range(0..self.transitions.len())])
            .collect()
    }
}

/// The Q-network: state in, one Q-value per action out (4 -> hidden ->
/// hidden -> 2, ReLU).
#[derive(Debug)]
pub struct QNetwork {
    vs: nn::VarStore,
    net: nn::Sequential,
}

impl QNetwork {
    /// A freshly initialised network (draws from libtorch's generator: seed
    /// it with `tch::manual_seed` or `seed_all`).
    pub fn new(hidden: i64) -> QNetwork {
        let vs = nn::VarStore::new(Device::Cpu);
        let root = vs.root();
        let net = nn::seq()
            .add(nn::linear(&root / "l1", 4, hidden, Default::default()))
            .add_fn(|x| x.relu())
            .add(nn::linear(&root / "l2", hidden, hidden, Default::default()))
            .add_fn(|x| x.relu())
            .add(nn::linear(
                &root / "l3",
                hidden,
                ACTIONS as i64,
                Default::default(),
            ));
        QNetwork { vs, net }
    }

    /// Q-values `[batch, 2]` of states `[batch, 4]`.
    pub fn q_values(&self, states: &Tensor) -> Tensor {
        self.net.forward(states)
    }

    /// The greedy action in `state`.
    pub fn act(&self, state: [f64; 4]) -> usize {
        let q = tch::no_grad(|| self.q_values(&states_tensor(&[state])));
        q.argmax(1, false).int64_value(&[0]) as usize
    }

    /// Makes this network's weights a copy of `other`'s.
    pub fn copy_from(&mut self, other: &QNetwork) -> Result<()> {
        Ok(self.vs.copy(&other.vs)?)
    }

    /// The number of weights.
    pub fn num_params(&self) -> i64 {
        self.vs
            .trainable_variables()
            .iter()
            .map(Tensor::numel)
            .sum::<usize>() as i64
    }
}

/// `[n, 4]` float tensor of `states`.
fn states_tensor(states: &[[f64; 4]]) -> Tensor {
    let flat: Vec<f32> = states.iter().flatten().map(|&v| v as f32).collect();
    Tensor::from_slice(&flat).view([states.len() as i64, 4])
}

/// DQN's settings; [`Dqn::cartpole`]'s solve CartPole in a few minutes on
/// two CPU cores.
#[derive(Clone, Debug, PartialEq)]
pub struct Dqn {
    /// Units in each of the two hidden layers.
    pub hidden: i64,
    /// Adam's learning rate.
    pub learning_rate: f64,
    /// The discount.
    pub gamma: f64,
    /// Transitions per update.
    pub batch_size: usize,
    /// The replay buffer's capacity.
    pub buffer_capacity: usize,
    /// Steps of random play before the first update.
    pub learning_starts: usize,
    /// Steps between copies of the network into the target network.
    pub target_update: usize,
    /// Epsilon at the start ...
    pub epsilon_start: f64,
    /// ... falling linearly to this ...
    pub epsilon_end: f64,
    /// ... over this many steps.
    pub epsilon_decay_steps: usize,
    /// Environment steps to train for (one update per step).
    pub total_steps: usize,
    /// Steps between greedy evaluations; the best network is kept.
    pub eval_every: usize,
    /// Episodes per evaluation.
    pub eval_episodes: usize,
}

/// What [`Dqn::train`] returns.
#[derive(Debug)]
pub struct DqnTraining {
    /// The network of the best evaluation.
    pub network: QNetwork,
    /// Each training episode's return (with exploration).
    pub returns: Vec<f64>,
    /// (step, mean greedy return) of each evaluation.
    pub evaluations: Vec<(usize, f64)>,
}

impl Dqn {
    /// Settings for CartPole: 128 hidden units, Adam 1e-3, gamma 0.99, batch
    /// 64, a 20 000-transition buffer, 1 000 random steps first, the target
    /// copied every 500 steps, epsilon 1 -> 0.05 over 10 000 steps, 30 000
    /// steps, an evaluation of 10 episodes every 2 500.
    pub fn cartpole() -> Dqn {
        Dqn {
            hidden: 128,
            learning_rate: 1e-3,
            gamma: 0.99,
            batch_size: 64,
            buffer_capacity: 20_000,
            learning_starts: 1_000,
            target_update: 500,
            epsilon_start: 1.0,
            epsilon_end: 0.05,
            epsilon_decay_steps: 10_000,
            total_steps: 30_000,
            eval_every: 2_500,
            eval_episodes: 10,
        }
    }

    /// Epsilon after `step` steps.
    pub fn epsilon(&self, step: usize) -> f64 {
        let progress = (step as f64 / self.epsilon_decay_steps.max(1) as f64).min(1.0);
        self.epsilon_end + (1.0 - progress) * (self.epsilon_start - self.epsilon_end)
    }

    /// Trains a network on CartPole episodes drawn with `rng` (and
    /// libtorch's generator for the initial weights), keeping the one with
    /// the best greedy evaluation.
    pub fn train(&self, rng: &mut StdRng) -> Result<DqnTraining> {
        let online = QNetwork::new(self.hidden);
        let mut target = QNetwork::new(self.hidden);
        let mut best = QNetwork::new(self.hidden);
        target.copy_from(&online)?;
        let mut optimizer = nn::Adam::default().build(&online.vs, self.learning_rate)?;
        let mut buffer = ReplayBuffer::new(self.buffer_capacity);
        let (mut returns, mut evaluations) = (Vec::new(), Vec::new());
        let mut best_score = f64::NEG_INFINITY;
        let mut cart = CartPole::new(rng);
        let mut episode_return = 0.0;
        for step in 1..=self.total_steps {
            let state = cart.state();
            let action = match rng.gen_range(0.0..1.0) < self.epsilon(step) {
                true => rng.gen_range(0..ACTIONS),
                false => online.act(state),
            };
            let result = cart.step(action)?;
            episode_return += result.reward;
            buffer.push(Transition {
                state,
                action,
                reward: result.reward,
                next_state: result.state,
                terminal: result.terminated,
            });
            if result.done() {
                returns.push(episode_return);
                episode_return = 0.0;
                cart = CartPole::new(rng);
            }
            if step > self.learning_starts {
                let batch = buffer.sample(self.batch_size, rng);
                let loss = self.loss(&online, &target, &batch);
                optimizer.backward_step_clip_norm(&loss, 10.0);
            }
            if step % self.target_update == 0 {
                target.copy_from(&online)?;
            }
            if step % self.eval_every == 0 {
                let score = mean(&evaluate(&online, self.eval_episodes, rng)?);
                evaluations.push((step, score));
                if score > best_score {
                    best_score = score;
                    best.copy_from(&online)?;
                }
            }
        }
        Ok(DqnTraining {
            network: best,
            returns,
            evaluations,
        })
    }

    /// The Huber loss between Q(s, a) and `r + gamma * max_a' Q_target(s', a')`
    /// (no future after a terminal transition).
    fn loss(&self, online: &QNetwork, target: &QNetwork, batch: &[Transition]) -> Tensor {
        let states = states_tensor(&batch.iter().map(|t| t.state).collect::<Vec<_>>());
        let next = states_tensor(&batch.iter().map(|t| t.next_state).collect::<Vec<_>>());
        let actions =
            Tensor::from_slice(&batch.iter().map(|t| t.action as i64).collect::<Vec<_>>());
        let rewards =
            Tensor::from_slice(&batch.iter().map(|t| t.reward as f32).collect::<Vec<_>>());
        let alive = Tensor::from_slice(
            &batch
                .iter()
                .map(|t| if t.terminal { 0.0f32 } else { 1.0 })
                .collect::<Vec<_>>(),
        );
        let q = online
            .q_values(&states)
            .gather(1, &actions.unsqueeze(1), false)
            .squeeze_dim(1);
        let future = tch::no_grad(|| target.q_values(&next).max_dim(1, false).0);
        let goal = rewards + alive * future * self.gamma;
        q.huber_loss(&goal.to_kind(Kind::Float), Reduction::Mean, 1.0)
    }
}

/// The returns of `episodes` greedy episodes of `network` on CartPole, from
/// starting states drawn with `rng`.
pub fn evaluate(network: &QNetwork, episodes: usize, rng: &mut impl Rng) -> Result<Vec<f64>> {
    (0..episodes)
        .map(|_| {
            let mut cart = CartPole::new(rng);
            let mut total = 0.0;
            loop {
                let step = cart.step(network.act(cart.state()))?;
                total += step.reward;
                if step.done() {
                    return Ok(total);
                }
            }
        })
        .collect()
}

fn mean(values: &[f64]) -> f64 {
    values.iter().sum::<f64>() / values.len().max(1) as f64
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    #[test]
    fn the_buffer_overwrites_its_oldest_transitions() {
        let mut buffer = ReplayBuffer::new(3);
        let t = |r| Transition {
            state: [0.0; 4],
            action: 0,
            reward: r,
            next_state: [0.0; 4],
            terminal: false,
        };
        for r in 0..5 {
            buffer.push(t(r as f64));
        }
        let mut kept: Vec<f64> = buffer.transitions.iter().map(|t| t.reward).collect();
        kept.sort_by(f64::total_cmp);
        assert_eq!((buffer.len(), kept), (3, vec![2.0, 3.0, 4.0]));
        let drawn = buffer.sample(100, &mut StdRng::seed_from_u64(0));
        assert!(drawn.iter().all(|t| t.reward >= 2.0));
    }

    #[test]
    fn epsilon_falls_linearly_then_stays() {
        let dqn = Dqn::cartpole();
        assert_eq!(dqn.epsilon(0), 1.0);
        assert!((dqn.epsilon(5_000) - 0.525).abs() < 1e-12);
        assert_eq!(dqn.epsilon(10_000), 0.05);
        assert_eq!(dqn.epsilon(20_000), 0.05);
    }

    #[test]
    fn an_update_lowers_the_loss_on_its_batch() {
        let _guard = crate::torch_rng_lock();
        tch::manual_seed(0);
        let dqn = Dqn::cartpole();
        let online = QNetwork::new(16);
        let target = QNetwork::new(16);
        let mut rng = StdRng::seed_from_u64(1);
        let batch: Vec<Transition> = (0..32)
            .map(|i| Transition {
                state: std::array::from_fn(|_| rng.gen_range(-0.05..0.05)),
                action: i % 2,
                reward: 1.0,
                next_state: std::array::from_fn(|_| rng.gen_range(-0.05..0.05)),
                terminal: i % 5 == 0,
            })
            .collect();
        let mut optimizer = nn::Adam::default().build(&online.vs, 1e-2).unwrap();
        let before = dqn.loss(&online, &target, &batch).double_value(&[]);
        for _ in 0..20 {
            optimizer.backward_step(&dqn.loss(&online, &target, &batch));
        }
        let after = dqn.loss(&online, &target, &batch).double_value(&[]);
        assert!(after < before / 2.0, "{before} -> {after}");
    }
}
