"""Writes helpers/tests/fixtures/cartpole_v1.json: CartPole-v1 trajectories
from gymnasium, which `helpers/tests/cartpole.rs` replays against
`aiguide::rl::CartPole` step for step.

Run by a developer, once, with gymnasium installed (it is not a course
dependency):

    pip install --target /tmp/gymlib gymnasium==1.4.0
    PYTHONPATH=/tmp/gymlib python helpers/scripts/make_cartpole_fixture.py

Each trajectory records the environment's internal float64 state after
`reset(seed=...)`, the actions taken and, after each action, the state,
reward, terminated and truncated. Five follow random actions (they fall
within a few dozen steps); one follows a simple balancing rule, survives,
and is cut by the 500-step time limit.
"""

import json
from pathlib import Path

import gymnasium as gym
import numpy as np

OUT = Path(__file__).resolve().parents[1] / "tests" / "fixtures" / "cartpole_v1.json"


def trajectory(seed, policy):
    env = gym.make("CartPole-v1")
    env.reset(seed=seed)
    start = [float(v) for v in env.unwrapped.state]
    actions, states, rewards, terminated, truncated = [], [], [], [], []
    done = False
    while not done:
        action = policy(env.unwrapped.state)
        _, reward, term, trunc, _ = env.step(action)
        actions.append(int(action))
        states.append([float(v) for v in env.unwrapped.state])
        rewards.append(float(reward))
        terminated.append(bool(term))
        truncated.append(bool(trunc))
        done = term or trunc
    return {
        "seed": seed,
        "start": start,
        "actions": actions,
        "states": states,
        "rewards": rewards,
        "terminated": terminated,
        "truncated": truncated,
    }


def main():
    rng = np.random.default_rng(2026)
    cases = [trajectory(seed, lambda _s: int(rng.integers(2))) for seed in range(5)]
    # Push the cart under the pole: right when the pole leans or swings right.
    cases.append(trajectory(5, lambda s: int(s[2] + 0.5 * s[3] > 0)))
    meta = {"gymnasium": gym.__version__, "numpy": np.__version__, "env": "CartPole-v1"}
    OUT.write_text(json.dumps({"meta": meta, "trajectories": cases}) + "\n")
    print(f"wrote {OUT}: {[len(c['actions']) for c in cases]} steps")


if __name__ == "__main__":
    main()
