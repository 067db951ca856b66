//! A sparse vector over the vocabulary: strictly increasing token ids with their weights.

use serde::Serialize;

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct SparseVector {
    indices: Vec<u32>,
    values: Vec<f32>,
}

impl SparseVector {
    /// Keeps the strictly positive entries of a dense vector.
    pub fn from_dense(dense: &[f32]) -> Self {
        let mut out = SparseVector::default();
        for (id, &v) in dense.iter().enumerate() {
            if v > 0.0 {
                out.indices.push(id as u32);
                out.values.push(v);
            }
        }
        out
    }

    /// Builds a vector from `(id, weight)` pairs in any order; zero weights are dropped and, if an
    /// id repeats, its last weight wins.
    pub fn from_pairs(mut pairs: Vec<(u32, f32)>) -> Self {
        pairs.sort_by_key(|&(id, _)| id);
        let mut out = SparseVector::default();
        for (id, v) in pairs {
            if out.indices.last() == Some(&id) {
                *out.values.last_mut().expect("values parallel to indices") = v;
            } else {
                out.indices.push(id);
                out.values.push(v);
            }
        }
        out.retain_nonzero();
        out
    }

    fn retain_nonzero(&mut self) {
        let (indices, values) = self
            .indices
            .iter()
            .zip(&self.values)
            .filter(|(_, &v)| v != 0.0)
            .map(|(&i, &v)| (i, v))
            .unzip();
        self.indices = indices;
        self.values = values;
    }

    pub fn indices(&self) -> &[u32] {
        &self.indices
    }

    pub fn values(&self) -> &[f32] {
        &self.values
    }

    pub fn len(&self) -> usize {
        self.indices.len()
    }

    pub fn is_empty(&self) -> bool {
        self.indices.is_empty()
    }

    pub fn get(&self, id: u32) -> Option<f32> {
        self.indices
            .binary_search(&id)
            .ok()
            .map(|pos| self.values[pos])
    }

    /// Sparse dot product by merging the two sorted index lists, accumulated in f32 like the
    /// reference's float32 `torch.mm`.
    pub fn dot(&self, other: &SparseVector) -> f32 {
        let (mut i, mut j, mut sum) = (0, 0, 0.0f32);
        while i < self.indices.len() && j < other.indices.len() {
            match self.indices[i].cmp(&other.indices[j]) {
                std::cmp::Ordering::Less => i += 1,
                std::cmp::Ordering::Greater => j += 1,
                std::cmp::Ordering::Equal => {
                    sum += self.values[i] * other.values[j];
                    i += 1;
                    j += 1;
                }
            }
        }
        sum
    }

    /// Keeps the `k` entries of largest weight (ties broken towards the smaller id).
    pub fn top_k(&self, k: usize) -> SparseVector {
        if k >= self.len() {
            return self.clone();
        }
        let mut order: Vec<usize> = (0..self.len()).collect();
        order.sort_by(|&a, &b| {
            self.values[b]
                .total_cmp(&self.values[a])
                .then(self.indices[a].cmp(&self.indices[b]))
        });
        order.truncate(k);
        order.sort_unstable();
        SparseVector {
            indices: order.iter().map(|&p| self.indices[p]).collect(),
            values: order.iter().map(|&p| self.values[p]).collect(),
        }
    }

    /// `(id, weight)` pairs sorted by descending weight, the order a person wants to read.
    pub fn by_weight(&self) -> Vec<(u32, f32)> {
        let mut pairs: Vec<(u32, f32)> = self
            .indices
            .iter()
            .copied()
            .zip(self.values.iter().copied())
            .collect();
        pairs.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        pairs
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn from_dense_keeps_positive_entries_in_order() {
        let v = SparseVector::from_dense(&[0.0, 1.5, 0.0, 0.25]);
        assert_eq!(v.indices(), &[1, 3]);
        assert_eq!(v.values(), &[1.5, 0.25]);
    }

    #[test]
    fn from_pairs_sorts_and_drops_zeros() {
        let v = SparseVector::from_pairs(vec![(9, 1.0), (2, 0.0), (4, 2.0)]);
        assert_eq!(v.indices(), &[4, 9]);
        assert_eq!(v.get(9), Some(1.0));
        assert_eq!(v.get(2), None);
    }

    #[test]
    fn dot_matches_dense_dot() {
        let a = SparseVector::from_pairs(vec![(1, 2.0), (5, 3.0), (7, 1.0)]);
        let b = SparseVector::from_pairs(vec![(0, 9.0), (5, 0.5), (7, 4.0), (8, 1.0)]);
        assert_eq!(a.dot(&b), 3.0 * 0.5 + 4.0);
        assert_eq!(b.dot(&a), a.dot(&b));
        assert_eq!(a.dot(&SparseVector::default()), 0.0);
    }

    #[test]
    fn top_k_keeps_largest_weights_sorted_by_id() {
        let v = SparseVector::from_pairs(vec![(1, 0.1), (2, 0.9), (3, 0.5), (4, 0.9)]);
        let top = v.top_k(2);
        assert_eq!(top.indices(), &[2, 4]);
        assert_eq!(v.top_k(10), v);
        assert_eq!(v.by_weight()[0], (2, 0.9));
    }
}
