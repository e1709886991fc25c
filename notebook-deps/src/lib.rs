//! The crates every aiguide notebook has in scope without a `:dep` line.
//!
//! This crate has no code. Its manifest is the list the kernel preloads
//! (`aiguide-kernel` reads `notebook-deps/Cargo.toml`), and building it
//! gives cargo the exact dependency graph, features included, that a
//! notebook's cells compile against: `./course setup` builds it with evcxr's
//! profile and flags and seeds the first compile slot with the result.
