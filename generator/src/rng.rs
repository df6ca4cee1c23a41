//! CPython's `random` module, reduced to the two operations the reference script uses.
//!
//! The reference dataset was drawn with `random.seed(0)` and `random.choices`. Reproducing
//! it value for value needs the same MT19937 stream (from `rand_mt`), the same seeding and
//! the same float construction; the latter two are a few lines each and live here.

use rand_mt::Mt;

/// Number of 32-bit outputs that one `random()` call consumes.
const WORDS_PER_RANDOM: u64 = 2;

/// A `random.Random` equivalent: MT19937 seeded the way CPython seeds it from an integer.
#[derive(Clone, Debug)]
pub struct PyRandom {
    mt: Mt,
}

impl PyRandom {
    /// Seeds like `random.seed(seed)` for a non-negative integer: the integer is split into
    /// 32-bit little-endian words (at least one) and fed to MT19937's `init_by_array`.
    pub fn new(seed: u64) -> Self {
        let mut key = vec![seed as u32];
        if seed > u64::from(u32::MAX) {
            key.push((seed >> 32) as u32);
        }
        Self {
            mt: Mt::new_with_key(key),
        }
    }

    /// `random.random()`: a double in [0, 1) with 53 random bits from two outputs.
    pub fn random(&mut self) -> f64 {
        let a = self.mt.next_u32() >> 5;
        let b = self.mt.next_u32() >> 6;
        (f64::from(a) * 67_108_864.0 + f64::from(b)) / 9_007_199_254_740_992.0
    }

    /// One unweighted `random.choices` draw from `n` items: `floor(random() * n)`.
    pub fn choose_index(&mut self, n: usize) -> usize {
        // The product is < n and n is small, so the cast truncates exactly like `floor`.
        (self.random() * n as f64) as usize
    }

    /// Advances the stream by `count` `random()` calls without computing the doubles.
    pub fn skip_randoms(&mut self, count: u64) {
        for _ in 0..count * WORDS_PER_RANDOM {
            self.mt.next_u32();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `python3 -c "import random; random.seed(0); print([random.random() for _ in range(3)])"`
    #[test]
    fn matches_cpython_for_seed_zero() {
        let mut rng = PyRandom::new(0);
        assert_eq!(rng.random(), 0.844_421_851_525_048_1);
        assert_eq!(rng.random(), 0.757_954_402_940_302_5);
        assert_eq!(rng.random(), 0.420_571_580_830_845);
    }

    /// Seeds above 32 bits become a two-word key, as in CPython.
    #[test]
    fn matches_cpython_for_a_two_word_seed() {
        let mut rng = PyRandom::new((1 << 32) + 5);
        assert_eq!(rng.random(), 0.157_272_387_187_897_82);
    }

    #[test]
    fn skipping_equals_drawing() {
        let mut drawn = PyRandom::new(7);
        for _ in 0..1000 {
            drawn.random();
        }
        let mut skipped = PyRandom::new(7);
        skipped.skip_randoms(1000);
        assert_eq!(drawn.random(), skipped.random());
    }
}
