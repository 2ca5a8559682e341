//! A bounded, sharded map of entries: 256 shards, each a lock around a
//! slot vector and an index, with random eviction when a shard is full (by
//! entries, or by bytes for unusually large replies).

use super::entry::{Entry, Key};
use super::setup::SHARDS;
use rustc_hash::FxHashMap;
use std::sync::{Arc, RwLock};

/// Bytes a shard may hold per entry it may hold, on average: far above a
/// typical reply (a few hundred bytes), so only floods of large replies
/// meet it before the entry limit.
pub(crate) const BYTES_PER_ENTRY: usize = 4096;
/// A shard may always hold one reply of the largest size.
const MIN_SHARD_BYTES: usize = 72 * 1024;

/// One cache (success or denial).
#[derive(Debug)]
pub(crate) struct Store {
    shards: Box<[RwLock<Shard>]>,
    per_shard: usize,
    shard_bytes: usize,
}

#[derive(Debug, Default)]
struct Shard {
    index: FxHashMap<u64, usize>,
    slots: Vec<Arc<Entry>>,
    bytes: usize,
    rng: u64,
}

impl Shard {
    fn random(&mut self, below: usize) -> usize {
        // xorshift64*
        let mut x = self.rng;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.rng = x;
        (x.wrapping_mul(0x2545_f491_4f6c_dd1d) % below as u64) as usize
    }

    fn remove_at(&mut self, i: usize) -> Arc<Entry> {
        let gone = self.slots.swap_remove(i);
        self.index.remove(&gone.hash);
        if let Some(moved) = self.slots.get(i) {
            self.index.insert(moved.hash, i);
        }
        self.bytes -= gone.size();
        gone
    }
}

impl Store {
    /// A store of `per_shard` entries in each of [`SHARDS`] shards.
    pub(crate) fn new(per_shard: usize, seed: u64) -> Self {
        let shards = (0..SHARDS)
            .map(|i| {
                RwLock::new(Shard {
                    rng: seed ^ (i as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1,
                    ..Shard::default()
                })
            })
            .collect();
        Store {
            shards,
            per_shard,
            shard_bytes: per_shard
                .saturating_mul(BYTES_PER_ENTRY)
                .max(MIN_SHARD_BYTES),
        }
    }

    fn shard(&self, hash: u64) -> &RwLock<Shard> {
        &self.shards[(hash as usize) & (SHARDS - 1)]
    }

    /// The entry for `key`, if any (fresh or not).
    pub(crate) fn get(&self, key: &Key<'_>, hash: u64) -> Option<Arc<Entry>> {
        let shard = self.shard(hash).read().unwrap_or_else(|e| e.into_inner());
        let &i = shard.index.get(&hash)?;
        let e = &shard.slots[i];
        e.matches(key).then(|| e.clone())
    }

    /// Stores `entry`, replacing the one under its key; a full shard first
    /// loses a random entry. Returns how many entries were evicted.
    pub(crate) fn insert(&self, entry: Arc<Entry>) -> usize {
        let (size, keep) = (entry.size(), entry.hash);
        let mut shard = self.shard(keep).write().unwrap_or_else(|e| e.into_inner());
        let mut evicted = 0;
        if let Some(&i) = shard.index.get(&keep) {
            shard.bytes = shard.bytes - shard.slots[i].size() + size;
            shard.slots[i] = entry;
        } else {
            if shard.slots.len() >= self.per_shard {
                let n = shard.slots.len();
                let victim = shard.random(n);
                shard.remove_at(victim);
                evicted += 1;
            }
            shard.slots.push(entry);
            let at = shard.slots.len() - 1;
            shard.index.insert(keep, at);
            shard.bytes += size;
        }
        // Over the byte budget: others go, at random, never the new one.
        while shard.bytes > self.shard_bytes && shard.slots.len() > 1 {
            let n = shard.slots.len();
            let mut victim = shard.random(n);
            if shard.slots[victim].hash == keep {
                victim = (victim + 1) % n;
            }
            shard.remove_at(victim);
            evicted += 1;
        }
        evicted
    }

    /// Removes the entry under `key`, if any.
    pub(crate) fn remove(&self, key: &Key<'_>, hash: u64) {
        let mut shard = self.shard(hash).write().unwrap_or_else(|e| e.into_inner());
        if let Some(&i) = shard.index.get(&hash)
            && shard.slots[i].matches(key)
        {
            shard.remove_at(i);
        }
    }

    /// Entries held.
    pub(crate) fn len(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).slots.len())
            .sum()
    }

    /// Bytes held.
    #[cfg(test)]
    pub(crate) fn bytes(&self) -> usize {
        self.shards
            .iter()
            .map(|s| s.read().unwrap_or_else(|e| e.into_inner()).bytes)
            .sum()
    }

    /// The most entries this store holds.
    #[cfg(test)]
    pub(crate) fn capacity(&self) -> usize {
        self.per_shard * SHARDS
    }
}
