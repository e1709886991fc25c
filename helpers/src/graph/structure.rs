//! The graph itself: nodes `0..n`, undirected edges, and the matrices a graph
//! network multiplies by.

use ndarray::Array2;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use tch::{Device, Kind, Tensor};

use crate::{Error, Result};

/// An undirected graph without self loops. Each edge is stored once as
/// `(u, v)` with `u < v`; duplicates given to [`Graph::new`] are merged.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Graph {
    num_nodes: usize,
    edges: Vec<(usize, usize)>,
}

impl Graph {
    /// A graph on nodes `0..num_nodes` with the given edges, in either
    /// direction. A self loop or a node out of range is an error: the GCN adds
    /// self loops itself, and a stray index would silently grow the graph.
    pub fn new(num_nodes: usize, edges: impl IntoIterator<Item = (usize, usize)>) -> Result<Graph> {
        let mut kept = Vec::new();
        for (u, v) in edges {
            if u >= num_nodes || v >= num_nodes {
                return Err(Error::InvalidArgument(format!(
                    "edge ({u}, {v}) names a node outside 0..{num_nodes}; \
                     number the nodes from 0 or pass a larger num_nodes"
                )));
            }
            if u == v {
                return Err(Error::InvalidArgument(format!(
                    "edge ({u}, {u}) is a self loop; leave self loops out, \
                     the normalised adjacency adds them"
                )));
            }
            kept.push((u.min(v), u.max(v)));
        }
        kept.sort_unstable();
        kept.dedup();
        Ok(Graph {
            num_nodes,
            edges: kept,
        })
    }

    /// Number of nodes.
    pub fn num_nodes(&self) -> usize {
        self.num_nodes
    }

    /// Number of undirected edges.
    pub fn num_edges(&self) -> usize {
        self.edges.len()
    }

    /// The edges, each once with the smaller node first, sorted.
    pub fn edges(&self) -> &[(usize, usize)] {
        &self.edges
    }

    /// The neighbours of every node, in increasing order.
    pub fn neighbours(&self) -> Vec<Vec<usize>> {
        let mut lists = vec![Vec::new(); self.num_nodes];
        for &(u, v) in &self.edges {
            lists[u].push(v);
            lists[v].push(u);
        }
        lists.iter_mut().for_each(|list| list.sort_unstable());
        lists
    }

    /// How many neighbours each node has.
    pub fn degrees(&self) -> Vec<usize> {
        let mut degrees = vec![0; self.num_nodes];
        for &(u, v) in &self.edges {
            degrees[u] += 1;
            degrees[v] += 1;
        }
        degrees
    }

    /// The edges in both directions as a `[2, 2 * num_edges]` int64 tensor of
    /// (source, target) rows: PyTorch Geometric's `edge_index` layout.
    pub fn edge_index(&self) -> Tensor {
        let (sources, targets): (Vec<i64>, Vec<i64>) = self
            .edges
            .iter()
            .flat_map(|&(u, v)| [(u as i64, v as i64), (v as i64, u as i64)])
            .unzip();
        Tensor::stack(
            &[Tensor::from_slice(&sources), Tensor::from_slice(&targets)],
            0,
        )
    }

    /// The share of edges whose two ends have the same label (edge
    /// homophily): near 1, neighbours vote well for a node's class; near the
    /// share of a random pair, the edges carry no class information.
    pub fn homophily(&self, labels: &[usize]) -> Result<f64> {
        self.check_len("labels", labels.len())?;
        if self.edges.is_empty() {
            return Err(Error::InvalidArgument(
                "homophily of a graph without edges is undefined".into(),
            ));
        }
        let same = self
            .edges
            .iter()
            .filter(|&&(u, v)| labels[u] == labels[v])
            .count();
        Ok(same as f64 / self.edges.len() as f64)
    }

    /// The GCN's propagation matrix `D^-1/2 (A + I) D^-1/2` as a sparse COO
    /// float tensor `[n, n]` on `device`: `n + 2 * num_edges` stored values
    /// instead of `n²`, which is what lets a GCN run on large graphs. `D`
    /// counts the self loop, so every degree is at least 1.
    pub fn normalized_adjacency(&self, device: Device) -> Tensor {
        let (rows, cols, values) = self.normalized_entries();
        let indices = Tensor::stack(&[Tensor::from_slice(&rows), Tensor::from_slice(&cols)], 0);
        let n = self.num_nodes as i64;
        Tensor::sparse_coo_tensor_indices_size(
            &indices,
            &Tensor::from_slice(&values),
            [n, n],
            (Kind::Float, Device::Cpu),
            false,
        )
        .coalesce()
        .to_device(device)
    }

    /// The same matrix stored densely: the reference the sparse one is
    /// checked against, and easier to print for a small graph.
    pub fn dense_normalized_adjacency(&self, device: Device) -> Tensor {
        let n = self.num_nodes;
        let mut dense = vec![0f32; n * n];
        let (rows, cols, values) = self.normalized_entries();
        for ((r, c), value) in rows.iter().zip(&cols).zip(&values) {
            dense[*r as usize * n + *c as usize] = *value;
        }
        Tensor::from_slice(&dense)
            .view([n as i64, n as i64])
            .to_device(device)
    }

    /// Two coordinates per node for drawing the graph, by Fruchterman and
    /// Reingold's spring embedder (1991): every pair of nodes repels, every
    /// edge pulls its ends together like a spring, and the step size cools
    /// over `iterations` rounds. Linked groups end up as visible clusters.
    /// Seeded: the same graph and seed give the same picture.
    pub fn spring_layout(&self, iterations: usize, seed: u64) -> Array2<f64> {
        let n = self.num_nodes;
        let mut rng = StdRng::seed_from_u64(seed);
        let mut pos: Vec<[f64; 2]> = (0..n)
            .map(|_| [rng.gen_range(0.0..1.0), rng.gen_range(0.0..1.0)])
            .collect();
        // The ideal edge length for n nodes in the unit square.
        let k = (1.0 / n.max(1) as f64).sqrt();
        let start = 0.1;
        for round in 0..iterations {
            let mut shift = vec![[0.0f64; 2]; n];
            let mut push = |a: usize, b: usize, force: &dyn Fn(f64) -> f64| {
                let delta = [pos[a][0] - pos[b][0], pos[a][1] - pos[b][1]];
                let distance = delta[0].hypot(delta[1]).max(1e-3);
                let f = force(distance) / distance;
                for axis in 0..2 {
                    shift[a][axis] += delta[axis] * f;
                    shift[b][axis] -= delta[axis] * f;
                }
            };
            for a in 0..n {
                for b in a + 1..n {
                    push(a, b, &|d| k * k / d);
                }
            }
            for &(u, v) in &self.edges {
                push(u, v, &|d| -d * d / k);
            }
            let temperature = start * (1.0 - round as f64 / iterations as f64);
            for (p, s) in pos.iter_mut().zip(&shift) {
                let length = s[0].hypot(s[1]).max(1e-12);
                let step = length.min(temperature) / length;
                p[0] += s[0] * step;
                p[1] += s[1] * step;
            }
        }
        Array2::from_shape_fn((n, 2), |(v, axis)| pos[v][axis])
    }

    /// Row, column and value of every non-zero of `D^-1/2 (A + I) D^-1/2`.
    fn normalized_entries(&self) -> (Vec<i64>, Vec<i64>, Vec<f32>) {
        let scale: Vec<f64> = self
            .degrees()
            .iter()
            .map(|&d| 1.0 / ((d + 1) as f64).sqrt())
            .collect();
        let self_loops = (0..self.num_nodes).map(|v| (v, v));
        let both_ways = self.edges.iter().flat_map(|&(u, v)| [(u, v), (v, u)]);
        let mut rows = Vec::new();
        let mut cols = Vec::new();
        let mut values = Vec::new();
        for (r, c) in self_loops.chain(both_ways) {
            rows.push(r as i64);
            cols.push(c as i64);
            values.push((scale[r] * scale[c]) as f32);
        }
        (rows, cols, values)
    }

    fn check_len(&self, what: &str, len: usize) -> Result<()> {
        if len == self.num_nodes {
            Ok(())
        } else {
            Err(Error::InvalidArgument(format!(
                "{len} {what} for a graph of {} nodes; give one per node",
                self.num_nodes
            )))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A path 0 - 1 - 2 and a lone node 3.
    fn path() -> Graph {
        Graph::new(4, [(1, 0), (1, 2), (0, 1)]).unwrap()
    }

    #[test]
    fn edges_are_stored_once_and_degrees_count_both_ends() {
        let g = path();
        assert_eq!(g.edges(), &[(0, 1), (1, 2)]);
        assert_eq!(g.degrees(), vec![1, 2, 1, 0]);
        assert_eq!(g.neighbours(), vec![vec![1], vec![0, 2], vec![1], vec![]]);
        let index = Vec::<Vec<i64>>::try_from(g.edge_index()).unwrap();
        assert_eq!(index, vec![vec![0, 1, 1, 2], vec![1, 0, 2, 1]]);
    }

    #[test]
    fn bad_edges_are_refused_with_the_fix() {
        let out_of_range = Graph::new(3, [(0, 3)]).unwrap_err().to_string();
        assert!(out_of_range.contains("outside 0..3"), "{out_of_range}");
        let self_loop = Graph::new(3, [(1, 1)]).unwrap_err().to_string();
        assert!(self_loop.contains("self loop"), "{self_loop}");
    }

    #[test]
    fn normalized_adjacency_matches_the_formula() {
        // Degrees with self loops: 2, 3, 2, 1.
        let dense = path().dense_normalized_adjacency(Device::Cpu);
        let expected = [
            [0.5, 1.0 / 6f64.sqrt(), 0.0, 0.0],
            [1.0 / 6f64.sqrt(), 1.0 / 3.0, 1.0 / 6f64.sqrt(), 0.0],
            [0.0, 1.0 / 6f64.sqrt(), 0.5, 0.0],
            [0.0, 0.0, 0.0, 1.0],
        ];
        for (r, row) in expected.iter().enumerate() {
            for (c, value) in row.iter().enumerate() {
                let got = dense.double_value(&[r as i64, c as i64]);
                assert!((got - value).abs() < 1e-6, "({r}, {c}): {got} vs {value}");
            }
        }
        let sparse = path().normalized_adjacency(Device::Cpu);
        assert!(sparse.is_sparse());
        assert_eq!(sparse.values().size(), vec![4 + 2 * 2]);
        let x = Tensor::from_slice(&[1f32, 2., 3., 4., 5., 6., 7., 8.]).view([4, 2]);
        let difference = (sparse.mm(&x) - dense.mm(&x)).abs().max().double_value(&[]);
        assert!(difference < 1e-6);
    }

    #[test]
    fn spring_layout_keeps_cliques_together_and_is_seeded() {
        // Two triangles joined by one edge.
        let g = Graph::new(6, [(0, 1), (1, 2), (0, 2), (3, 4), (4, 5), (3, 5), (2, 3)]).unwrap();
        let xy = g.spring_layout(200, 1);
        assert_eq!(xy.dim(), (6, 2));
        assert_eq!(xy, g.spring_layout(200, 1));
        let distance =
            |a: usize, b: usize| (xy[[a, 0]] - xy[[b, 0]]).hypot(xy[[a, 1]] - xy[[b, 1]]);
        let inside = (distance(0, 1) + distance(1, 2) + distance(0, 2)) / 3.0;
        assert!(
            distance(0, 5) > 1.5 * inside,
            "{} vs {inside}",
            distance(0, 5)
        );
    }

    #[test]
    fn homophily_counts_edges_within_a_class() {
        let g = path();
        assert_eq!(g.homophily(&[0, 0, 1, 1]).unwrap(), 0.5);
        assert!(g.homophily(&[0, 0]).is_err());
    }
}
