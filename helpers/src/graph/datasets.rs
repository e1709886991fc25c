//! Graphs to learn on: Zachary's karate club from the data hub, a seeded
//! stochastic block model, and a reader for the Cora citation files.

use std::collections::HashMap;
use std::path::Path;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_distr::{Distribution, StandardNormal};
use tch::{Kind, Tensor};

use super::Graph;
use crate::data::read_text;
use crate::hub::Hub;
use crate::{Error, Result};

/// A graph whose nodes carry features and a class: the input of node
/// classification.
#[derive(Debug)]
pub struct NodeData {
    /// Who is linked to whom.
    pub graph: Graph,
    /// One row of float features per node, `[n, num_features]`.
    pub features: Tensor,
    /// The class of every node, `0..class_names.len()`.
    pub labels: Vec<usize>,
    /// What each class is called.
    pub class_names: Vec<String>,
}

impl NodeData {
    /// The labels as an int64 tensor, for the loss.
    pub fn label_tensor(&self) -> Tensor {
        let labels: Vec<i64> = self.labels.iter().map(|&l| l as i64).collect();
        Tensor::from_slice(&labels)
    }
}

/// Which nodes' labels the model may see (train), which choose settings
/// (validation) and which report the result once (test).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NodeSplit {
    /// Labelled nodes, the same number from every class.
    pub train: Vec<i64>,
    /// Nodes for choosing hyperparameters and the epoch to stop at.
    pub val: Vec<i64>,
    /// All other nodes.
    pub test: Vec<i64>,
}

impl NodeSplit {
    /// `train_per_class` nodes of every class for training and `val` more
    /// for validation, drawn at random with `seed`; the rest are the test
    /// set. This is the GCN paper's semi-supervised setting: few labels,
    /// the whole graph visible.
    pub fn per_class(
        labels: &[usize],
        train_per_class: usize,
        val: usize,
        seed: u64,
    ) -> Result<NodeSplit> {
        let num_classes = labels.iter().max().map_or(0, |&m| m + 1);
        let mut order: Vec<usize> = (0..labels.len()).collect();
        order.shuffle(&mut StdRng::seed_from_u64(seed));
        let mut taken = vec![0; num_classes];
        let (mut train, mut rest) = (Vec::new(), Vec::new());
        for node in order {
            if taken[labels[node]] < train_per_class {
                taken[labels[node]] += 1;
                train.push(node as i64);
            } else {
                rest.push(node as i64);
            }
        }
        if let Some(class) = taken.iter().position(|&t| t < train_per_class) {
            return Err(Error::InvalidArgument(format!(
                "class {class} has only {} nodes, fewer than train_per_class = {train_per_class}",
                taken[class]
            )));
        }
        if val >= rest.len() {
            return Err(Error::InvalidArgument(format!(
                "{val} validation nodes leave no test nodes ({} unlabelled in all); ask for fewer",
                rest.len()
            )));
        }
        let test = rest.split_off(val);
        Ok(NodeSplit {
            train,
            val: rest,
            test,
        })
    }

    /// The three index lists as int64 tensors `(train, val, test)`.
    pub fn tensors(&self) -> (Tensor, Tensor, Tensor) {
        (
            Tensor::from_slice(&self.train),
            Tensor::from_slice(&self.val),
            Tensor::from_slice(&self.test),
        )
    }
}

/// Zachary's karate club: 34 members, an edge for each of the 78 pairs who
/// met outside the club, and the club each member joined when it split
/// (0 = "Mr. Hi", the instructor's; 1 = "Officer", the administrator's).
/// There are no member attributes, so the features are the 34 x 34 identity
/// (each node is only "itself"), as in the GCN paper's karate example. The
/// data comes from NetworkX's source (`./course data`); the edge weights
/// there (how many contexts two members shared) are not used.
pub fn karate_club() -> Result<NodeData> {
    let path = Hub::from_env()?.locate("karate-club")?;
    parse_karate(&path, &read_text(&path)?)
}

fn parse_karate(path: &Path, source: &str) -> Result<NodeData> {
    let corrupt = |reason: &str| Error::Corrupt {
        path: path.to_path_buf(),
        reason: format!("{reason}; expected NetworkX 3.6.1's generators/social.py"),
    };
    let matrix = source
        .split_once("zacharydat = \"\"\"\\\n")
        .and_then(|(_, rest)| rest.split_once("\"\"\""))
        .ok_or_else(|| corrupt("no `zacharydat` matrix"))?
        .0;
    let rows: Vec<Vec<u32>> = matrix
        .lines()
        .map(|line| {
            line.split_whitespace()
                .map(str::parse)
                .collect::<Result<_, _>>()
        })
        .collect::<Result<_, _>>()
        .map_err(|_| corrupt("a non-integer in the `zacharydat` matrix"))?;
    let n = rows.len();
    if n != 34 || rows.iter().any(|row| row.len() != n) {
        return Err(corrupt("the `zacharydat` matrix is not 34 x 34"));
    }
    // The matrix is not quite symmetric (row 33 names member 22, row 22 does
    // not name 33): like NetworkX, an entry in either triangle is an edge.
    let pairs = (0..n).flat_map(|u| (0..n).map(move |v| (u, v)));
    let edges: Vec<(usize, usize)> = pairs.filter(|&(u, v)| rows[u][v] > 0).collect();
    let club1 = source
        .split_once("club1 = {")
        .and_then(|(_, rest)| rest.split_once('}'))
        .ok_or_else(|| corrupt("no `club1` set"))?
        .0;
    let mr_hi: Vec<usize> = club1
        .split(',')
        .map(|member| member.trim().parse())
        .collect::<Result<_, _>>()
        .map_err(|_| corrupt("a non-integer in the `club1` set"))?;
    let labels = (0..n).map(|v| usize::from(!mr_hi.contains(&v))).collect();
    Ok(NodeData {
        graph: Graph::new(n, edges)?,
        features: Tensor::eye(n as i64, (Kind::Float, tch::Device::Cpu)),
        labels,
        class_names: vec!["Mr. Hi".into(), "Officer".into()],
    })
}

/// Settings of [`stochastic_block_model`].
#[derive(Clone, Debug, PartialEq)]
pub struct SbmConfig {
    /// Nodes in each block (community); block `c` is class `c`.
    pub block_sizes: Vec<usize>,
    /// Probability of an edge between two nodes of the same block.
    pub p_in: f64,
    /// Probability of an edge between nodes of different blocks.
    pub p_out: f64,
    /// Length of each node's feature vector (at least the number of blocks).
    pub num_features: usize,
    /// How far the class means lie from the origin, in units of the noise's
    /// standard deviation: small values give features that alone say
    /// little about the class.
    pub signal: f64,
    /// Seed of the edges and the features.
    pub seed: u64,
}

/// A stochastic block model (Holland, Laskey and Leinhardt, 1983): each pair
/// of nodes is linked with probability `p_in` inside a block and `p_out`
/// across blocks, so communities are denser inside. Every node of class `c`
/// gets features `N(0, I)` plus `signal` on feature `c`: with a small
/// signal, a classifier that sees only a node's own features does little
/// better than chance, while the graph says which nodes belong together.
pub fn stochastic_block_model(config: &SbmConfig) -> Result<NodeData> {
    let SbmConfig {
        block_sizes,
        p_in,
        p_out,
        num_features,
        signal,
        seed,
    } = config;
    let probability = |name: &str, p: f64| {
        if (0.0..=1.0).contains(&p) {
            Ok(p)
        } else {
            Err(Error::InvalidArgument(format!(
                "{name} = {p} is not a probability in [0, 1]"
            )))
        }
    };
    let (p_in, p_out) = (probability("p_in", *p_in)?, probability("p_out", *p_out)?);
    if block_sizes.is_empty() || *num_features < block_sizes.len() {
        return Err(Error::InvalidArgument(format!(
            "need at least one block and num_features >= the number of blocks ({}), got {num_features}",
            block_sizes.len()
        )));
    }
    let labels: Vec<usize> = block_sizes
        .iter()
        .enumerate()
        .flat_map(|(class, &size)| std::iter::repeat_n(class, size))
        .collect();
    let n = labels.len();
    let mut rng = StdRng::seed_from_u64(*seed);
    let mut edges = Vec::new();
    for u in 0..n {
        for v in u + 1..n {
            let p = if labels[u] == labels[v] { p_in } else { p_out };
            if rng.gen_range(0.0..1.0) < p {
                edges.push((u, v));
            }
        }
    }
    let mut features = Vec::with_capacity(n * num_features);
    for &class in &labels {
        for f in 0..*num_features {
            let noise: f64 = StandardNormal.sample(&mut rng);
            features.push((noise + if f == class { *signal } else { 0.0 }) as f32);
        }
    }
    Ok(NodeData {
        graph: Graph::new(n, edges)?,
        features: Tensor::from_slice(&features).view([n as i64, *num_features as i64]),
        labels,
        class_names: (0..block_sizes.len())
            .map(|c| format!("block {c}"))
            .collect(),
    })
}

/// Cora (McCallum et al. 2000; Sen et al. 2008), the guide's dataset: 2708
/// papers with 1433 binary word features, 7 subjects, and the citations
/// between them, read from the standard LINQS files `cora.content` (`id
/// word... subject` per line) and `cora.cites` (`cited citing` per line) in
/// `dir`. No Python package ships these files, so the course does not run
/// this loader on Cora itself; its tests run it on files of the same format.
/// Citations to papers missing from `cora.content` are an error.
pub fn cora_from(dir: impl AsRef<Path>) -> Result<NodeData> {
    let dir = dir.as_ref();
    let content_path = dir.join("cora.content");
    if !content_path.exists() {
        return Err(Error::InvalidArgument(format!(
            "{}: no cora.content here. Cora is not shipped with the course: download the \
             LINQS files (https://linqs.org/datasets/#cora), unpack cora.content and \
             cora.cites into one folder and pass that folder",
            dir.display()
        )));
    }
    let content = read_text(&content_path)?;
    let mut ids = HashMap::new();
    let mut class_names: Vec<String> = Vec::new();
    let (mut features, mut labels, mut width) = (Vec::new(), Vec::new(), None);
    for (line_no, line) in content
        .lines()
        .enumerate()
        .filter(|(_, l)| !l.trim().is_empty())
    {
        let corrupt = |reason: String| Error::Corrupt {
            path: content_path.clone(),
            reason: format!("line {}: {reason}", line_no + 1),
        };
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [id, words @ .., subject] = fields.as_slice() else {
            return Err(corrupt("expected `id features... subject`".into()));
        };
        if *width.get_or_insert(words.len()) != words.len() {
            return Err(corrupt(format!(
                "{} features, earlier lines had {width:?}",
                words.len()
            )));
        }
        for word in words {
            features.push(
                word.parse::<f32>()
                    .map_err(|_| corrupt(format!("feature `{word}` is not a number")))?,
            );
        }
        let class = match class_names.iter().position(|name| name == subject) {
            Some(class) => class,
            None => {
                class_names.push(subject.to_string());
                class_names.len() - 1
            }
        };
        labels.push(class);
        if ids.insert(id.to_string(), ids.len()).is_some() {
            return Err(corrupt(format!("paper {id} appears twice")));
        }
    }
    let cites_path = dir.join("cora.cites");
    let mut edges = Vec::new();
    for (line_no, line) in read_text(&cites_path)?.lines().enumerate() {
        let pair: Vec<&str> = line.split_whitespace().collect();
        let node = |id: &str| {
            ids.get(id).copied().ok_or_else(|| Error::Corrupt {
                path: cites_path.clone(),
                reason: format!("line {}: paper {id} is not in cora.content", line_no + 1),
            })
        };
        match pair.as_slice() {
            [] => {}
            [cited, citing] if cited != citing => edges.push((node(cited)?, node(citing)?)),
            [_, _] => {} // a paper citing itself: the GCN adds self loops anyway
            _ => {
                return Err(Error::Corrupt {
                    path: cites_path.clone(),
                    reason: format!("line {}: expected `cited citing`", line_no + 1),
                });
            }
        }
    }
    let n = labels.len();
    Ok(NodeData {
        graph: Graph::new(n, edges)?,
        features: Tensor::from_slice(&features).view([n as i64, width.unwrap_or(0) as i64]),
        labels,
        class_names,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_changed_karate_file_is_refused_with_a_reason() {
        let message = parse_karate(Path::new("social.py"), "def karate_club_graph(): pass")
            .unwrap_err()
            .to_string();
        assert!(message.contains("no `zacharydat` matrix"), "{message}");
    }

    #[test]
    fn block_model_is_seeded_and_denser_inside_blocks() {
        let config = SbmConfig {
            block_sizes: vec![100, 100],
            p_in: 0.1,
            p_out: 0.01,
            num_features: 4,
            signal: 0.5,
            seed: 3,
        };
        let data = stochastic_block_model(&config).unwrap();
        let again = stochastic_block_model(&config).unwrap();
        assert_eq!(data.graph, again.graph);
        assert!(data.features.equal(&again.features));
        // Expected edges: 2 * C(100, 2) * 0.1 = 990 inside, 100 * 100 * 0.01 = 100 across.
        let homophily = data.graph.homophily(&data.labels).unwrap();
        assert!((homophily - 990.0 / 1090.0).abs() < 0.03, "{homophily}");
        let bad = SbmConfig {
            p_in: 1.5,
            ..config
        };
        assert!(
            stochastic_block_model(&bad)
                .unwrap_err()
                .to_string()
                .contains("p_in")
        );
    }

    #[test]
    fn split_takes_the_same_number_per_class() {
        let labels = [0, 1, 0, 1, 0, 1, 0, 1, 2, 2];
        let split = NodeSplit::per_class(&labels, 2, 2, 0).unwrap();
        for class in 0..3 {
            let count = split
                .train
                .iter()
                .filter(|&&n| labels[n as usize] == class)
                .count();
            assert_eq!(count, 2);
        }
        assert_eq!((split.val.len(), split.test.len()), (2, 2));
        let mut all: Vec<i64> = [split.train, split.val, split.test].concat();
        all.sort_unstable();
        assert_eq!(all, (0..10).collect::<Vec<i64>>());
        assert!(
            NodeSplit::per_class(&labels, 3, 0, 0)
                .unwrap_err()
                .to_string()
                .contains("class 2")
        );
    }

    #[test]
    fn cora_files_are_read_and_bad_citations_named() {
        let dir = std::env::temp_dir().join(format!("aiguide-cora-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(
            dir.join("cora.content"),
            "31 0 1 1 Neural_Networks\n7 1 0 0 Theory\n9 1 1 0 Theory\n",
        )
        .unwrap();
        std::fs::write(dir.join("cora.cites"), "31 7\n9 31\n7 7\n").unwrap();
        let cora = cora_from(&dir).unwrap();
        assert_eq!(cora.features.size(), vec![3, 3]);
        assert_eq!(cora.labels, vec![0, 1, 1]);
        assert_eq!(cora.class_names, vec!["Neural_Networks", "Theory"]);
        assert_eq!(cora.graph.edges(), &[(0, 1), (0, 2)]);
        let missing = cora_from(dir.join("nowhere")).unwrap_err().to_string();
        assert!(
            missing.contains("https://linqs.org/datasets/#cora"),
            "{missing}"
        );
        std::fs::write(dir.join("cora.cites"), "31 8\n").unwrap();
        let message = cora_from(&dir).unwrap_err().to_string();
        assert!(
            message.contains("paper 8 is not in cora.content"),
            "{message}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
