//! The score maths every consumer of a classification shares: softmax, argmax and the best
//! descriptor of a class. One tie-breaking rule everywhere: the first maximum wins, so a tie
//! goes to the class (or descriptor) listed first in the descriptor set.

/// Numerically stable softmax.
pub fn softmax(logits: &[f32]) -> Vec<f32> {
    let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
    let exps: Vec<f32> = logits.iter().map(|l| (l - max).exp()).collect();
    let sum: f32 = exps.iter().sum();
    exps.iter().map(|e| e / sum).collect()
}

/// Index of the largest value, the first one on ties; `None` for an empty slice. A NaN never
/// wins over a number before it.
pub fn argmax(v: &[f32]) -> Option<usize> {
    best_of(v.iter().copied().enumerate())
}

/// Index (into `logits`) of the highest-scoring descriptor of `class`, the first one on ties;
/// `None` when the class has no descriptor.
pub fn best_descriptor(logits: &[f32], descriptor_class: &[usize], class: usize) -> Option<usize> {
    best_of(descriptor_class.iter().zip(logits).enumerate().filter(|(_, (c, _))| **c == class).map(|(k, (_, l))| (k, *l)))
}

/// The first `(index, value)` whose value no later one exceeds.
fn best_of(items: impl Iterator<Item = (usize, f32)>) -> Option<usize> {
    let mut best: Option<(usize, f32)> = None;
    for (i, x) in items {
        if best.is_none_or(|(_, b)| x > b) {
            best = Some((i, x));
        }
    }
    best.map(|(i, _)| i)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn softmax_sums_to_one_and_survives_large_logits() {
        let p = softmax(&[1000.0, 1000.0, -1000.0]);
        assert!((p.iter().sum::<f32>() - 1.0).abs() < 1e-6);
        assert!((p[0] - 0.5).abs() < 1e-6);
    }

    #[test]
    fn ties_go_to_the_first_maximum() {
        assert_eq!(argmax(&[0.2, 0.4, 0.4]), Some(1));
        assert_eq!(argmax(&[]), None);
        assert_eq!(argmax(&[1.0, f32::NAN, 1.0]), Some(0));
        // Descriptors 1 and 3 belong to class 1 and tie: the first one fired.
        assert_eq!(best_descriptor(&[9.0, 2.0, 9.0, 2.0], &[0, 1, 0, 1], 1), Some(1));
        assert_eq!(best_descriptor(&[9.0, 2.0], &[0, 0], 1), None);
    }
}
