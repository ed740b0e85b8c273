//! Bounded in-memory caches of rendered JSON.
//!
//! Keys always hold the revision (or, for pages, an ETag computed from the
//! revision of every object shown) read from the database in the same
//! request, so an entry can never be served after the object changed, in
//! this process or in another one sharing the database: a change makes a new
//! key, and the old entry just ages out. Whole answers by request target
//! (`Recent`) carry the database version they were read at instead and are
//! served only while it is current. The bound is a byte budget per
//! shard; a full shard is emptied (cheap, and the hot entries come back at
//! once).

use bytes::Bytes;
use std::collections::HashMap;
use std::hash::{DefaultHasher, Hash, Hasher};
use std::sync::Mutex;

const SHARDS: usize = 16;

/// How much memory a cached value takes.
pub trait Weigh {
    fn weight(&self) -> usize;
}

impl Weigh for Bytes {
    fn weight(&self) -> usize {
        self.len()
    }
}

pub struct Cache<K, V = Bytes> {
    shards: Vec<Mutex<Shard<K, V>>>,
    budget: usize,
}

struct Shard<K, V> {
    map: HashMap<K, V>,
    bytes: usize,
}

impl<K: Hash + Eq + Clone, V: Weigh + Clone> Cache<K, V> {
    /// A cache holding at most about `budget` bytes of values.
    pub fn new(budget: usize) -> Cache<K, V> {
        Cache {
            shards: (0..SHARDS)
                .map(|_| {
                    Mutex::new(Shard {
                        map: HashMap::new(),
                        bytes: 0,
                    })
                })
                .collect(),
            budget: budget / SHARDS,
        }
    }

    fn shard(&self, key: &K) -> &Mutex<Shard<K, V>> {
        let mut h = DefaultHasher::new();
        key.hash(&mut h);
        &self.shards[(h.finish() as usize) % SHARDS]
    }

    pub fn get(&self, key: &K) -> Option<V> {
        let found = self
            .shard(key)
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .map
            .get(key)
            .cloned();
        let metrics = crate::metrics::get();
        let counter = if found.is_some() {
            &metrics.cache_hits
        } else {
            &metrics.cache_misses
        };
        counter.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        found
    }

    pub fn put(&self, key: K, value: V) {
        let weight = value.weight();
        if weight > self.budget {
            return;
        }
        let mut shard = self.shard(&key).lock().unwrap_or_else(|e| e.into_inner());
        if shard.bytes + weight > self.budget {
            shard.map.clear();
            shard.bytes = 0;
        }
        shard.bytes += weight;
        if let Some(old) = shard.map.insert(key, value) {
            shard.bytes -= old.weight();
        }
    }
}

/// The rendered standalone form of one object: (pk, revision,
/// omit_internal). A revision is one state of the object, deleted or not.
pub type ObjectKey = (i64, i64, bool);

/// A finished answer body: (ETag, content coding).
pub type PageKey = (String, &'static str);

/// A whole answer as read from the database at `version`, when (`at`).
#[derive(Clone)]
pub struct Recent {
    pub at: std::time::Instant,
    pub version: crate::db::version::Version,
    pub etag: String,
    pub modified: Option<i64>,
    pub bytes: Bytes,
}

impl Weigh for Recent {
    fn weight(&self) -> usize {
        self.bytes.len() + self.etag.len() + 64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stays_within_its_budget() {
        let cache: Cache<u32, Bytes> = Cache::new(16 * 100);
        for i in 0..1000 {
            cache.put(i, Bytes::from(vec![0u8; 10]));
        }
        let held: usize = cache.shards.iter().map(|s| s.lock().unwrap().bytes).sum();
        assert!(held <= 1600, "{held}");
        cache.put(5000, Bytes::from_static(b"x"));
        assert_eq!(cache.get(&5000), Some(Bytes::from_static(b"x")));
    }
}
