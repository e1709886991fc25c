//! Graph neural networks (chapter 8.2): learning on data whose examples are
//! linked, where a node's neighbours say something about the node.
//!
//! - [`Graph`]: an undirected graph as an edge list, with the normalised
//!   adjacency `D^-1/2 (A + I) D^-1/2` of a GCN as a sparse or a dense tensor.
//! - [`GcnConv`] and [`Gcn`]: Kipf and Welling's graph convolution and the
//!   guide's two-layer network built from it.
//! - Data: [`karate_club`] (Zachary's 34 members, from the data hub),
//!   [`stochastic_block_model`] (a seeded graph with communities and weak
//!   features), [`cora_from`] (the Cora citation files, if a learner has
//!   them) and [`NodeSplit`] (few labelled nodes per class, the
//!   semi-supervised setting).

mod datasets;
mod gcn;
mod structure;

pub use datasets::{
    NodeData, NodeSplit, SbmConfig, cora_from, karate_club, stochastic_block_model,
};
pub use gcn::{Gcn, GcnConv};
pub use structure::Graph;
