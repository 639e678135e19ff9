//! A small multiply-rotate hasher (the Fx hash of rustc, with a final mix) for the interner and pair
//! counts: item names and id pairs are short, and SipHash's per-key setup dominated
//! parsing. Also for a customer profile's sets, looked up for every candidate of an answer.
//! Not collision-resistant against a chosen input, which is acceptable here: the keys are
//! the merchant's own item names, products and customer attributes (a profile holds at most
//! 1,000 purchased products and 50 attributes), and a flood would only slow the merchant's
//! own mining or answers.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

/// The Fx hasher state.
#[derive(Debug, Default, Clone, Copy)]
pub struct FxHasher {
    hash: u64,
}

const SEED: u64 = 0x51_7c_c1_b7_27_22_0a_95;

impl FxHasher {
    fn add(&mut self, word: u64) {
        self.hash = (self.hash.rotate_left(5) ^ word).wrapping_mul(SEED);
    }
}

impl Hasher for FxHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.add(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            // The same little-endian, zero-padded word as copying the bytes into one, but
            // without a variable-length copy, which compiles to a call to memcpy: a short
            // key (a category, an item name) spent more time there than in the hashing.
            let word = rest
                .iter()
                .rev()
                .fold(0u64, |word, &byte| word << 8 | u64::from(byte));
            self.add(word);
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.add(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.add(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.add(i);
    }

    fn write_usize(&mut self, i: usize) {
        self.add(i as u64);
    }

    fn finish(&self) -> u64 {
        // The multiply only carries entropy upwards, and a word whose set bits are all
        // high (a small UUID's last bytes, read little-endian) would leave the low bits
        // the table indexes by all zero; a murmur3-style fold spreads them back down.
        let mut z = self.hash;
        z ^= z >> 33;
        z = z.wrapping_mul(0xff51_afd7_ed55_8ccd);
        z ^ (z >> 33)
    }
}

/// A `HashMap` hashed with [`FxHasher`].
pub type FxHashMap<K, V> = HashMap<K, V, BuildHasherDefault<FxHasher>>;

/// A `HashSet` hashed with [`FxHasher`].
pub type FxHashSet<T> = HashSet<T, BuildHasherDefault<FxHasher>>;

#[cfg(test)]
mod tests {
    use std::hash::BuildHasher;

    use super::*;

    #[test]
    fn a_short_tail_is_read_as_one_little_endian_zero_padded_word() {
        let bytes: Vec<u8> = (1..=15).collect();
        for len in 0..=bytes.len() {
            let mut written = FxHasher::default();
            written.write(&bytes[..len]);
            let mut expected = FxHasher::default();
            for chunk in bytes[..len].chunks(8) {
                let mut word = [0; 8];
                word[..chunk.len()].copy_from_slice(chunk);
                expected.add(u64::from_le_bytes(word));
            }
            assert_eq!(written.finish(), expected.finish(), "{len} bytes");
        }
    }

    #[test]
    fn small_uuids_spread_over_the_low_bits() {
        // Sequential ids differ only in their last bytes; a table of 1,024 buckets must
        // still see most of them distinct.
        let build = BuildHasherDefault::<FxHasher>::default();
        let buckets: HashSet<u64> = (0..1_024_u128)
            .map(|i| build.hash_one(uuid::Uuid::from_u128(i)) & 1_023)
            .collect();
        assert!(buckets.len() > 600, "{} buckets", buckets.len());
    }
}
