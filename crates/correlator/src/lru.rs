//! A map with a fixed cap that evicts approximately the least recently seen entry (a
//! "second chance" queue: O(1) amortized, deterministic, serializable).

use std::collections::{HashMap, VecDeque};
use std::hash::Hash;

use serde::{Deserialize, Serialize};

/// Entries looked at per [`Lru::expire`] call.
pub(crate) const EXPIRE_BUDGET: usize = 1024;

/// What an entry must say about itself: when it was last seen.
pub(crate) trait LastSeen {
    fn last_seen(&self) -> i64;
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot<V> {
    generation: u64,
    value: V,
}

/// The map. Serialized as its entries sorted by key, plus the queue, so that snapshots are
/// deterministic.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    bound(
        serialize = "K: Serialize + Ord + Clone, V: Serialize + Clone",
        deserialize = "K: Deserialize<'de> + Hash + Eq, V: Deserialize<'de>"
    ),
    from = "Repr<K, V>",
    into = "Repr<K, V>"
)]
pub(crate) struct Lru<K: Hash + Eq, V> {
    map: HashMap<K, Slot<V>>,
    /// (key, generation, last_seen when queued).
    queue: VecDeque<(K, u64, i64)>,
    next_gen: u64,
}

#[derive(Serialize, Deserialize)]
struct Repr<K, V> {
    entries: Vec<(K, Slot<V>)>,
    queue: VecDeque<(K, u64, i64)>,
    next_gen: u64,
}

impl<K: Hash + Eq + Ord + Clone, V> From<Lru<K, V>> for Repr<K, V> {
    fn from(l: Lru<K, V>) -> Self {
        let mut entries: Vec<(K, Slot<V>)> = l.map.into_iter().collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Repr {
            entries,
            queue: l.queue,
            next_gen: l.next_gen,
        }
    }
}

impl<K: Hash + Eq, V> From<Repr<K, V>> for Lru<K, V> {
    fn from(r: Repr<K, V>) -> Self {
        Lru {
            map: r.entries.into_iter().collect(),
            queue: r.queue,
            next_gen: r.next_gen,
        }
    }
}

impl<K: Hash + Eq, V> Default for Lru<K, V> {
    fn default() -> Self {
        Lru {
            map: HashMap::new(),
            queue: VecDeque::new(),
            next_gen: 0,
        }
    }
}

impl<K: Hash + Eq + Clone, V: LastSeen> Lru<K, V> {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn get(&self, k: &K) -> Option<&V> {
        self.map.get(k).map(|s| &s.value)
    }

    #[cfg(test)]
    pub(crate) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        self.map.get_mut(k).map(|s| &mut s.value)
    }

    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        let v = self.map.remove(k).map(|s| s.value);
        self.compact();
        v
    }

    /// The entry for `k`, inserted (as `V::default()`, seen at `now`) if missing; and how
    /// many were evicted to make room. One hash lookup for a hit while the map is not full,
    /// two when it is.
    pub(crate) fn get_or_insert(&mut self, k: &K, cap: usize, now: i64) -> (&mut V, usize)
    where
        V: Default,
    {
        let mut evicted = 0;
        if self.map.len() >= cap.max(1) && !self.map.contains_key(k) {
            evicted = usize::from(self.evict_one());
        }
        let generation = self.next_gen;
        let mut inserted = false;
        let slot = self.map.entry(k.clone()).or_insert_with(|| {
            inserted = true;
            Slot {
                generation,
                value: V::default(),
            }
        });
        if inserted {
            self.next_gen += 1;
            self.queue.push_back((k.clone(), generation, now));
        }
        (&mut slot.value, evicted)
    }

    #[cfg(test)]
    pub(crate) fn insert(&mut self, k: K, v: V, cap: usize) -> usize {
        let seen = v.last_seen();
        self.insert_at(k, v, cap, seen)
    }

    /// [`Lru::insert`], queued as seen at `seen`.
    #[cfg(test)]
    fn insert_at(&mut self, k: K, v: V, cap: usize, seen: i64) -> usize {
        let mut evicted = 0;
        if self.map.len() >= cap.max(1) && !self.map.contains_key(&k) {
            evicted = usize::from(self.evict_one());
        }
        let generation = self.next_gen;
        self.next_gen += 1;
        self.queue.push_back((k.clone(), generation, seen));
        self.map.insert(
            k,
            Slot {
                generation,
                value: v,
            },
        );
        evicted
    }

    fn evict_one(&mut self) -> bool {
        // Each live entry is given a second chance at most once per pass.
        let mut budget = self.queue.len() * 2 + 1;
        while let Some((k, generation, queued_at)) = self.queue.pop_front() {
            budget -= 1;
            let Some(slot) = self.map.get_mut(&k) else {
                continue;
            };
            if slot.generation != generation {
                continue;
            }
            let last = slot.value.last_seen();
            if last > queued_at && budget > 0 {
                let g = self.next_gen;
                self.next_gen += 1;
                slot.generation = g;
                self.queue.push_back((k, g, last));
                continue;
            }
            self.map.remove(&k);
            return true;
        }
        false
    }

    /// Removes entries not seen for `horizon` seconds, from the front of the queue; returns
    /// how many. Best effort: stops at the first fresh entry, and looks at no more than
    /// [`EXPIRE_BUDGET`] entries per call (the caps bound memory anyway).
    pub(crate) fn expire(&mut self, now: i64, horizon: i64) -> usize {
        let mut removed = 0;
        let mut budget = self.queue.len().min(EXPIRE_BUDGET);
        while budget > 0 {
            budget -= 1;
            let Some((k, generation, queued_at)) = self.queue.front().cloned() else {
                break;
            };
            let Some(slot) = self.map.get_mut(&k) else {
                self.queue.pop_front();
                continue;
            };
            if slot.generation != generation {
                self.queue.pop_front();
                continue;
            }
            let last = slot.value.last_seen();
            if last.saturating_add(horizon) <= now {
                self.queue.pop_front();
                self.map.remove(&k);
                removed += 1;
            } else if last > queued_at {
                self.queue.pop_front();
                let g = self.next_gen;
                self.next_gen += 1;
                slot.generation = g;
                self.queue.push_back((k, g, last));
            } else {
                break;
            }
        }
        removed
    }

    /// Drops stale queue entries when they outnumber the live ones.
    fn compact(&mut self) {
        if self.queue.len() > 2 * self.map.len() + 64 {
            let map = &self.map;
            self.queue.retain(|(k, generation, _)| {
                map.get(k).is_some_and(|s| s.generation == *generation)
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Serialize, Deserialize)]
    struct T(i64);
    impl LastSeen for T {
        fn last_seen(&self) -> i64 {
            self.0
        }
    }

    #[test]
    fn evicts_the_least_recently_seen_and_expires() {
        let mut l: Lru<u32, T> = Lru::default();
        assert_eq!(l.insert(1, T(10), 3), 0);
        assert_eq!(l.insert(2, T(11), 3), 0);
        assert_eq!(l.insert(3, T(12), 3), 0);
        // 1 is seen again: 2 is now the least recently seen.
        l.get_mut(&1).expect("1").0 = 20;
        assert_eq!(l.insert(4, T(21), 3), 1);
        assert!(l.get(&2).is_none());
        assert!(l.get(&1).is_some() && l.get(&3).is_some() && l.get(&4).is_some());
        assert_eq!(l.expire(29, 10), 1); // 3 (last 12); 1 (last 20) is kept
        assert!(l.get(&3).is_none());
        assert_eq!(l.len(), 2);
        let json = serde_json::to_string(&l).expect("ser");
        let back: Lru<u32, T> = serde_json::from_str(&json).expect("de");
        assert_eq!(serde_json::to_string(&back).expect("ser"), json);
    }
}
