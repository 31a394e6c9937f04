//! Just enough randomness for device choice and path order (a real tracker
//! shuffles both), without a dependency: a per-call seed from the standard
//! library's randomly keyed hasher.

use std::collections::hash_map::RandomState;
use std::hash::{BuildHasher, Hasher};

fn seed() -> u64 {
    let mut hasher = RandomState::new().build_hasher();
    hasher.write_u64(0);
    hasher.finish() | 1
}

/// Shuffles `items` in place (Fisher-Yates over xorshift64).
pub(crate) fn shuffle<T>(items: &mut [T]) {
    let mut state = seed();
    for i in (1..items.len()).rev() {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        items.swap(i, (state % (i as u64 + 1)) as usize);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shuffle_keeps_the_items_and_varies_the_order() {
        let orders: std::collections::HashSet<Vec<u8>> = (0..50)
            .map(|_| {
                let mut v = vec![1, 2, 3, 4];
                shuffle(&mut v);
                let mut sorted = v.clone();
                sorted.sort();
                assert_eq!(sorted, [1, 2, 3, 4]);
                v
            })
            .collect();
        assert!(orders.len() > 1);
    }
}
