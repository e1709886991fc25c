//! Merging rankings and measuring them.

use std::collections::HashMap;

/// Reciprocal rank fusion (Cormack et al., 2009): each ranking (document
/// ids, best first) gives a document `1 / (k + rank)`, rank from 1; the sums,
/// best first (ties by id). It needs no score calibration between, say, BM25
/// and cosine similarity, only ranks; `k = 60` is the paper's choice.
pub fn reciprocal_rank_fusion(rankings: &[Vec<usize>], k: f64) -> Vec<(usize, f64)> {
    let mut fused: HashMap<usize, f64> = HashMap::new();
    for ranking in rankings {
        for (rank, &id) in ranking.iter().enumerate() {
            *fused.entry(id).or_default() += 1.0 / (k + rank as f64 + 1.0);
        }
    }
    let mut fused: Vec<(usize, f64)> = fused.into_iter().collect();
    fused.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
    fused
}

/// Whether a relevant document is among the first `k` of `ranked`: recall@k
/// for a question with one right answer (average it over questions).
pub fn recall_at_k(ranked: &[usize], relevant: &[usize], k: usize) -> f64 {
    if relevant.is_empty() {
        return 0.0;
    }
    let found = relevant
        .iter()
        .filter(|r| ranked.iter().take(k).any(|id| id == *r))
        .count();
    found as f64 / relevant.len() as f64
}

/// `1 / rank` of the first relevant document in `ranked` (0 if none): its
/// mean over questions is the MRR.
pub fn reciprocal_rank(ranked: &[usize], relevant: &[usize]) -> f64 {
    ranked
        .iter()
        .position(|id| relevant.contains(id))
        .map_or(0.0, |i| 1.0 / (i as f64 + 1.0))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fusion_rewards_documents_both_rankings_like() {
        let fused = reciprocal_rank_fusion(&[vec![1, 2, 3], vec![3, 1, 4]], 60.0);
        let ids: Vec<usize> = fused.iter().map(|f| f.0).collect();
        assert_eq!(ids, [1, 3, 2, 4]);
        assert!((fused[0].1 - (1.0 / 61.0 + 1.0 / 62.0)).abs() < 1e-12);
    }

    #[test]
    fn recall_and_reciprocal_rank() {
        let ranked = [7, 3, 9, 1];
        assert_eq!(recall_at_k(&ranked, &[9], 2), 0.0);
        assert_eq!(recall_at_k(&ranked, &[9], 3), 1.0);
        assert_eq!(recall_at_k(&ranked, &[3, 5], 4), 0.5);
        assert_eq!(reciprocal_rank(&ranked, &[9, 1]), 1.0 / 3.0);
        assert_eq!(reciprocal_rank(&ranked, &[5]), 0.0);
    }
}
