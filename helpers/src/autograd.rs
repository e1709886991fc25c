//! A scalar automatic-differentiation engine: the guide's `Value` class (and
//! Karpathy's micrograd) in Rust.
//!
//! Every arithmetic operation on [`Value`]s records a node of a computation
//! graph; [`Value::backward`] walks that graph once in reverse topological
//! order and applies the chain rule at each node, which is exactly what
//! `loss.backward()` does in PyTorch, one scalar at a time. It is far too slow
//! for real training (tch does the same on whole tensors), and that is not its
//! job: it shows what reverse-mode autodiff is, in about two hundred lines.
//!
//! ```
//! use aiguide::autograd::Value;
//! let x = Value::new(2.0);
//! let w = Value::new(-3.0);
//! let b = Value::new(6.5);
//! let y = (&x * &w + &b).relu(); // relu(-6 + 6.5) = 0.5
//! y.backward();
//! assert_eq!(y.data(), 0.5);
//! assert_eq!((x.grad(), w.grad(), b.grad()), (-3.0, 2.0, 1.0));
//! ```
//!
//! Where Rust differs from the Python original: a `Value` is a cheap handle
//! (an `Rc`) to a shared node, so `a.clone()` is the same node, not a copy, and
//! operators take `&Value` to use a value again without moving it. The graph
//! is walked and freed with explicit stacks, so a graph a million operations
//! deep neither overflows the stack in `backward` nor when it is dropped.

use std::cell::Cell;
use std::collections::HashSet;
use std::fmt;
use std::iter::Sum;
use std::ops::{Add, Div, Mul, Neg, Sub};
use std::rc::Rc;

/// A scalar in a computation graph: its value (`data`), the derivative of
/// the last [`Value::backward`] output with respect to it (`grad`), and how
/// it was computed.
#[derive(Clone)]
pub struct Value(Rc<Node>);

struct Node {
    data: Cell<f64>,
    grad: Cell<f64>,
    op: Op,
}

/// How a node was computed, holding its inputs.
enum Op {
    Leaf,
    Add(Value, Value),
    Sub(Value, Value),
    Mul(Value, Value),
    Neg(Value),
    Pow(Value, f64),
    Relu(Value),
    Tanh(Value),
}

impl Op {
    fn inputs(&self) -> Vec<&Value> {
        match self {
            Op::Leaf => Vec::new(),
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) => vec![a, b],
            Op::Neg(a) | Op::Pow(a, _) | Op::Relu(a) | Op::Tanh(a) => vec![a],
        }
    }

    fn into_inputs(self) -> Vec<Value> {
        match self {
            Op::Leaf => Vec::new(),
            Op::Add(a, b) | Op::Sub(a, b) | Op::Mul(a, b) => vec![a, b],
            Op::Neg(a) | Op::Pow(a, _) | Op::Relu(a) | Op::Tanh(a) => vec![a],
        }
    }

    fn name(&self) -> &'static str {
        match self {
            Op::Leaf => "leaf",
            Op::Add(..) => "+",
            Op::Sub(..) => "-",
            Op::Mul(..) => "*",
            Op::Neg(_) => "neg",
            Op::Pow(..) => "pow",
            Op::Relu(_) => "relu",
            Op::Tanh(_) => "tanh",
        }
    }
}

impl Drop for Node {
    /// Frees the graph below this node with a loop instead of recursion, so
    /// dropping a long chain (a sum of a million terms) cannot overflow the stack.
    fn drop(&mut self) {
        let mut pending = std::mem::replace(&mut self.op, Op::Leaf).into_inputs();
        while let Some(value) = pending.pop() {
            // Only a node nobody else holds is freed here; its inputs go on
            // the stack, and the node itself drops with an empty `op`.
            if let Ok(mut node) = Rc::try_unwrap(value.0) {
                pending.extend(std::mem::replace(&mut node.op, Op::Leaf).into_inputs());
            }
        }
    }
}

impl Value {
    /// A leaf: an input or a parameter, with gradient 0.
    pub fn new(data: f64) -> Value {
        Value::node(data, Op::Leaf)
    }

    fn node(data: f64, op: Op) -> Value {
        Value(Rc::new(Node {
            data: Cell::new(data),
            grad: Cell::new(0.0),
            op,
        }))
    }

    /// The value.
    pub fn data(&self) -> f64 {
        self.0.data.get()
    }

    /// The derivative of the output of the last [`Value::backward`] call with
    /// respect to this value (gradients accumulate; see [`Value::zero_grad`]).
    pub fn grad(&self) -> f64 {
        self.0.grad.get()
    }

    /// Overwrites the value, as an optimiser step does with a parameter.
    /// Nodes computed from it earlier keep their old values: build the
    /// expression again (the next forward pass) to use the new one.
    pub fn set_data(&self, data: f64) {
        self.0.data.set(data);
    }

    /// Sets the gradient to 0. Like PyTorch's `zero_grad`, call it on the
    /// parameters before each backward pass, because gradients add up.
    pub fn zero_grad(&self) {
        self.0.grad.set(0.0);
    }

    /// The operation that produced this value: `"leaf"`, `"+"`, `"-"`, `"*"`,
    /// `"neg"`, `"pow"`, `"relu"` or `"tanh"`.
    pub fn op(&self) -> &'static str {
        self.0.op.name()
    }

    /// `self` raised to a constant power (`pow(-1.0)` is the reciprocal).
    pub fn pow(&self, exponent: f64) -> Value {
        Value::node(self.data().powf(exponent), Op::Pow(self.clone(), exponent))
    }

    /// `max(0, self)`. Its derivative at exactly 0 is taken as 0, as in
    /// PyTorch.
    pub fn relu(&self) -> Value {
        Value::node(self.data().max(0.0), Op::Relu(self.clone()))
    }

    /// The hyperbolic tangent.
    pub fn tanh(&self) -> Value {
        Value::node(self.data().tanh(), Op::Tanh(self.clone()))
    }

    /// The nodes of the graph that produced `self`, inputs before the nodes
    /// computed from them, each once.
    fn topological_order(&self) -> Vec<Value> {
        let mut order = Vec::new();
        let mut visited = HashSet::new();
        // Depth-first with an explicit stack; `true` marks a node whose
        // inputs are all in `order` already, so it can follow them.
        let mut stack = vec![(self.clone(), false)];
        while let Some((value, inputs_done)) = stack.pop() {
            if inputs_done {
                order.push(value);
                continue;
            }
            if !visited.insert(Rc::as_ptr(&value.0)) {
                continue;
            }
            let inputs: Vec<Value> = value.0.op.inputs().into_iter().cloned().collect();
            stack.push((value, true));
            for input in inputs {
                if !visited.contains(&Rc::as_ptr(&input.0)) {
                    stack.push((input, false));
                }
            }
        }
        order
    }

    /// How many nodes the graph that produced `self` has (leaves included):
    /// the work one backward pass does.
    pub fn node_count(&self) -> usize {
        self.topological_order().len()
    }

    /// Back-propagation: sets this value's gradient to 1 and adds to every
    /// node below it the derivative of `self` with respect to that node, by
    /// the chain rule, visiting each node after every node that uses it.
    pub fn backward(&self) {
        let order = self.topological_order();
        self.0.grad.set(1.0);
        for value in order.iter().rev() {
            value.propagate();
        }
    }

    /// Passes this node's gradient on to its inputs (the local derivative
    /// times the gradient that arrived here).
    fn propagate(&self) {
        let grad = self.grad();
        let add = |v: &Value, g: f64| v.0.grad.set(v.grad() + g);
        match &self.0.op {
            Op::Leaf => {}
            Op::Add(a, b) => {
                add(a, grad);
                add(b, grad);
            }
            Op::Sub(a, b) => {
                add(a, grad);
                add(b, -grad);
            }
            Op::Mul(a, b) => {
                add(a, b.data() * grad);
                add(b, a.data() * grad);
            }
            Op::Neg(a) => add(a, -grad),
            Op::Pow(a, p) => add(a, p * a.data().powf(p - 1.0) * grad),
            Op::Relu(a) => add(a, if self.data() > 0.0 { grad } else { 0.0 }),
            Op::Tanh(a) => add(a, (1.0 - self.data() * self.data()) * grad),
        }
    }
}

impl From<f64> for Value {
    fn from(data: f64) -> Value {
        Value::new(data)
    }
}

impl fmt::Debug for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "Value(data={}, grad={}, op={})",
            self.data(),
            self.grad(),
            self.op()
        )
    }
}

impl fmt::Display for Value {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value(data={:.4}, grad={:.4})", self.data(), self.grad())
    }
}

fn add(a: &Value, b: &Value) -> Value {
    Value::node(a.data() + b.data(), Op::Add(a.clone(), b.clone()))
}

fn sub(a: &Value, b: &Value) -> Value {
    Value::node(a.data() - b.data(), Op::Sub(a.clone(), b.clone()))
}

fn mul(a: &Value, b: &Value) -> Value {
    Value::node(a.data() * b.data(), Op::Mul(a.clone(), b.clone()))
}

fn div(a: &Value, b: &Value) -> Value {
    mul(a, &b.pow(-1.0))
}

/// Implements a binary operator for every mix of `Value`, `&Value` and
/// `f64` (a plain number becomes a leaf), so `2.0 * &x + 1.0` reads as maths.
macro_rules! binary_op {
    ($trait:ident, $method:ident, $f:ident) => {
        impl $trait<&Value> for &Value {
            type Output = Value;
            fn $method(self, rhs: &Value) -> Value {
                $f(self, rhs)
            }
        }
        impl $trait<Value> for &Value {
            type Output = Value;
            fn $method(self, rhs: Value) -> Value {
                $f(self, &rhs)
            }
        }
        impl $trait<&Value> for Value {
            type Output = Value;
            fn $method(self, rhs: &Value) -> Value {
                $f(&self, rhs)
            }
        }
        impl $trait<Value> for Value {
            type Output = Value;
            fn $method(self, rhs: Value) -> Value {
                $f(&self, &rhs)
            }
        }
        impl $trait<f64> for &Value {
            type Output = Value;
            fn $method(self, rhs: f64) -> Value {
                $f(self, &Value::new(rhs))
            }
        }
        impl $trait<f64> for Value {
            type Output = Value;
            fn $method(self, rhs: f64) -> Value {
                $f(&self, &Value::new(rhs))
            }
        }
        impl $trait<&Value> for f64 {
            type Output = Value;
            fn $method(self, rhs: &Value) -> Value {
                $f(&Value::new(self), rhs)
            }
        }
        impl $trait<Value> for f64 {
            type Output = Value;
            fn $method(self, rhs: Value) -> Value {
                $f(&Value::new(self), &rhs)
            }
        }
    };
}

binary_op!(Add, add, add);
binary_op!(Sub, sub, sub);
binary_op!(Mul, mul, mul);
binary_op!(Div, div, div);

impl Neg for &Value {
    type Output = Value;
    fn neg(self) -> Value {
        Value::node(-self.data(), Op::Neg(self.clone()))
    }
}

impl Neg for Value {
    type Output = Value;
    fn neg(self) -> Value {
        -&self
    }
}

impl Sum for Value {
    /// The sum of the values; an empty sum is a leaf 0.
    fn sum<I: Iterator<Item = Value>>(iter: I) -> Value {
        iter.reduce(|a, b| a + b).unwrap_or_else(|| Value::new(0.0))
    }
}

impl<'a> Sum<&'a Value> for Value {
    /// The sum of the values; an empty sum is a leaf 0.
    fn sum<I: Iterator<Item = &'a Value>>(iter: I) -> Value {
        iter.cloned().sum()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use tch::{Kind, Tensor};

    fn close(a: f64, b: f64, tol: f64) -> bool {
        (a - b).abs() <= tol * (1.0 + a.abs().max(b.abs()))
    }

    #[test]
    fn the_guides_neuron() {
        // relu(2 * -3 + 6) = relu(0) = 0: the derivative of relu at 0 is 0,
        // so no gradient reaches the inputs.
        let (x1, w1, b) = (Value::new(2.0), Value::new(-3.0), Value::new(6.0));
        let n = (&x1 * &w1 + &b).relu();
        n.backward();
        assert_eq!(n.data(), 0.0);
        assert_eq!((x1.grad(), w1.grad(), b.grad()), (0.0, 0.0, 0.0));
    }

    #[test]
    fn hand_computed_gradients() {
        // f = (a*b + a - b)^2 / 2 at a=3, b=-2: inner = -6 + 3 + 2 = -1,
        // df/da = inner * (b + 1) = 1, df/db = inner * (a - 1) = -2.
        let (a, b) = (Value::new(3.0), Value::new(-2.0));
        let f = (&a * &b + &a - &b).pow(2.0) / 2.0;
        f.backward();
        assert_eq!(f.data(), 0.5);
        assert!(close(a.grad(), 1.0, 1e-12) && close(b.grad(), -2.0, 1e-12));
        // tanh'(0.5) = 1 - tanh(0.5)^2; neg flips the sign.
        let x = Value::new(0.5);
        let y = -x.tanh();
        y.backward();
        assert!(close(x.grad(), -(1.0 - 0.5f64.tanh().powi(2)), 1e-12));
    }

    #[test]
    fn reused_values_accumulate_gradients() {
        // y = x * x + x: dy/dx = 2x + 1 = 7 at x = 3; x is used three times.
        let x = Value::new(3.0);
        let y = &x * &x + &x;
        y.backward();
        assert_eq!(x.grad(), 7.0);
        assert_eq!(y.node_count(), 3);
        x.zero_grad();
        assert_eq!(x.grad(), 0.0);
    }

    #[test]
    fn numbers_mix_with_values() {
        let x = Value::new(4.0);
        let y = 1.0 - 2.0 * &x / 8.0 + (&x - 1.0) * 0.5 + 3.0 / x.clone();
        y.backward();
        // y = 1 - x/4 + (x-1)/2 + 3/x; dy/dx = -1/4 + 1/2 - 3/x^2.
        assert!(close(y.data(), 1.0 - 1.0 + 1.5 + 0.75, 1e-12));
        assert!(close(x.grad(), -0.25 + 0.5 - 3.0 / 16.0, 1e-12));
        let total: Value = [1.0, 2.0, 3.0].into_iter().map(Value::new).sum();
        assert_eq!(total.data(), 6.0);
        assert_eq!(Vec::<Value>::new().into_iter().sum::<Value>().data(), 0.0);
    }

    #[test]
    fn deep_graphs_neither_overflow_nor_leak() {
        let x = Value::new(1.0);
        let mut y = x.clone();
        for _ in 0..1_000_000 {
            y = &y + 1e-6;
        }
        y.backward();
        assert!(close(y.data(), 2.0, 1e-9));
        assert_eq!(x.grad(), 1.0);
        drop(y);
        assert_eq!(Rc::strong_count(&x.0), 1, "the graph was freed");
    }

    /// One random expression: leaves, then operations on earlier nodes.
    #[derive(Debug, Clone, Copy)]
    enum Step {
        Add(usize, usize),
        Sub(usize, usize),
        Mul(usize, usize),
        Neg(usize),
        Pow(usize, f64),
        Relu(usize),
        Tanh(usize),
    }

    fn random_program(rng: &mut StdRng, leaves: usize, steps: usize) -> Vec<Step> {
        (0..steps)
            .map(|k| {
                let n = leaves + k;
                let (i, j) = (rng.gen_range(0..n), rng.gen_range(0..n));
                match rng.gen_range(0..7) {
                    0 => Step::Add(i, j),
                    1 => Step::Sub(i, j),
                    2 => Step::Mul(i, j),
                    3 => Step::Neg(i),
                    4 => Step::Pow(i, [2.0, 3.0][rng.gen_range(0..2)]),
                    5 => Step::Relu(i),
                    _ => Step::Tanh(i),
                }
            })
            .collect()
    }

    /// Runs `program` on `leaves` with any number type that has the ops.
    fn run<T>(program: &[Step], leaves: Vec<T>, ops: &dyn Fn(Step, &[T]) -> T) -> Vec<T> {
        let mut nodes = leaves;
        for &step in program {
            let next = ops(step, &nodes);
            nodes.push(next);
        }
        nodes
    }

    #[test]
    fn gradients_match_torch_autograd_on_random_expressions() {
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let inputs: Vec<f64> = (0..4).map(|_| rng.gen_range(-1.5..1.5)).collect();
            let program = random_program(&mut rng, inputs.len(), 12);

            let leaves: Vec<Value> = inputs.iter().map(|&x| Value::new(x)).collect();
            let nodes = run(&program, leaves.clone(), &|step, n: &[Value]| match step {
                Step::Add(i, j) => &n[i] + &n[j],
                Step::Sub(i, j) => &n[i] - &n[j],
                Step::Mul(i, j) => &n[i] * &n[j],
                Step::Neg(i) => -&n[i],
                Step::Pow(i, p) => n[i].pow(p),
                Step::Relu(i) => n[i].relu(),
                Step::Tanh(i) => n[i].tanh(),
            });
            let out: Value = nodes[nodes.len() - 3..].iter().sum();
            out.backward();

            let leaves_t: Vec<Tensor> = inputs
                .iter()
                .map(|&x| {
                    Tensor::from(x)
                        .to_kind(Kind::Double)
                        .set_requires_grad(true)
                })
                .collect();
            let nodes_t = run(
                &program,
                leaves_t.iter().map(Tensor::shallow_clone).collect(),
                &|step, n: &[Tensor]| match step {
                    Step::Add(i, j) => &n[i] + &n[j],
                    Step::Sub(i, j) => &n[i] - &n[j],
                    Step::Mul(i, j) => &n[i] * &n[j],
                    Step::Neg(i) => -&n[i],
                    Step::Pow(i, p) => n[i].pow_tensor_scalar(p),
                    Step::Relu(i) => n[i].relu(),
                    Step::Tanh(i) => n[i].tanh(),
                },
            );
            let out_t = nodes_t[nodes_t.len() - 3..]
                .iter()
                .fold(Tensor::from(0.0).to_kind(Kind::Double), |acc, t| acc + t);
            out_t.backward();

            assert!(close(out.data(), out_t.double_value(&[]), 1e-12));
            for (v, t) in leaves.iter().zip(&leaves_t) {
                // A leaf the output does not depend on has no torch gradient.
                let g = t.grad();
                let torch_grad = if g.defined() {
                    g.double_value(&[])
                } else {
                    0.0
                };
                assert!(
                    close(v.grad(), torch_grad, 1e-10),
                    "{program:?}: ours {} vs torch {torch_grad}",
                    v.grad()
                );
            }
        }
    }
}
