//! A map with a fixed cap that evicts approximately the least recently seen entry (a
//! "second chance" queue: O(1) amortized, deterministic, serializable).

use std::collections::hash_map::RandomState;
use std::collections::{HashMap, VecDeque};
use std::hash::{BuildHasher, Hash, Hasher};

use hashbrown::HashTable;

use serde::{Deserialize, Serialize};

/// Entries looked at per [`Lru::expire`] call.
pub(crate) const EXPIRE_BUDGET: usize = 1024;

/// What an entry must say about itself: when it was last seen.
pub(crate) trait LastSeen {
    fn last_seen(&self) -> i64;
}

/// How a key goes into the keyed hasher: in one or two fixed-size writes where it can (the
/// derived `Hash` writes each enum tag and field on its own, and SipHash pays per write).
/// Equal keys must write the same bytes; different keys should (a pair that does not only
/// shares a bucket).
pub(crate) trait KeyHash: Hash + Eq {
    fn write_key<H: Hasher>(&self, h: &mut H);
}

/// Key to slot: a table of slot indexes (4 bytes a bucket; the keys live in the nodes, with
/// their hashes). The hashes are std's `RandomState` (SipHash with a random key, so that
/// attacker-chosen source addresses cannot aim at one bucket), each computed once per event
/// and kept in the node: removing a victim or growing the table does not hash again.
#[derive(Debug, Clone, Default)]
struct Index {
    keys: RandomState,
    table: HashTable<u32>,
}

impl Index {
    fn with_capacity(n: usize) -> Self {
        Index {
            keys: RandomState::new(),
            table: HashTable::with_capacity(n),
        }
    }

    fn hash<K: KeyHash>(&self, k: &K) -> u64 {
        let mut h = self.keys.build_hasher();
        k.write_key(&mut h);
        h.finish()
    }

    fn len(&self) -> usize {
        self.table.len()
    }

    fn get<K: Eq, V>(&self, nodes: &[Node<K, V>], hash: u64, k: &K) -> Option<u32> {
        self.table
            .find(hash, |&i| {
                let n = &nodes[i as usize];
                n.hash == hash && n.value.is_some() && n.key == *k
            })
            .copied()
    }

    /// Slot `i` (live, holding a key not in the index yet).
    fn insert<K, V>(&mut self, nodes: &[Node<K, V>], i: u32) {
        let hash = nodes[i as usize].hash;
        self.table
            .insert_unique(hash, i, |&j| nodes[j as usize].hash);
    }

    /// Slot `i`, whose key hashes to `hash`.
    fn remove(&mut self, hash: u64, i: u32) -> bool {
        match self.table.find_entry(hash, |&j| j == i) {
            Ok(e) => {
                e.remove();
                true
            }
            Err(_) => false,
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
struct Slot<V> {
    generation: u64,
    value: V,
}

/// An entry of the slab: the key, the value (`None` once removed), and how many queue
/// entries name this slot. A slot is reused only when it is vacant and no queue entry names
/// it any more, so a queue entry's slot always holds the key it was queued for.
#[derive(Debug, Clone)]
struct Node<K, V> {
    key: K,
    /// The key's hash in the index.
    hash: u64,
    generation: u64,
    value: Option<V>,
    refs: u32,
}

/// The map. Serialized as its entries sorted by key, plus the queue, so that snapshots are
/// deterministic.
///
/// In memory the entries live in a slab (a `Vec` of nodes, with a free list); the
/// [`Index`] goes from key to slot, and the queue holds slot indexes, so that the
/// second-chance scan and the eviction touch the victim's node directly instead of hashing
/// its key again (and the queue holds no copy of the keys). The serialized form is the one
/// of the earlier map (a std `HashMap` of the keys, the keys queued), which the tests keep
/// as a model.
#[derive(Debug, Clone, Serialize, Deserialize)]
#[serde(
    bound(
        serialize = "K: Serialize + Ord + Clone, V: Serialize + Clone",
        deserialize = "K: Deserialize<'de> + KeyHash + Clone, V: Deserialize<'de>"
    ),
    from = "Repr<K, V>",
    into = "Repr<K, V>"
)]
pub(crate) struct Lru<K: Hash + Eq, V> {
    map: Index,
    nodes: Vec<Node<K, V>>,
    /// Vacant slots no queue entry names.
    free: Vec<u32>,
    /// (slot, generation, last_seen when queued).
    queue: VecDeque<(u32, u64, i64)>,
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
        let queue = l
            .queue
            .iter()
            .map(|&(i, generation, seen)| (l.nodes[i as usize].key.clone(), generation, seen))
            .collect();
        // The live nodes are the entries of the index.
        let mut entries: Vec<(K, Slot<V>)> = l
            .nodes
            .into_iter()
            .filter_map(|n| {
                let value = n.value?;
                Some((
                    n.key,
                    Slot {
                        generation: n.generation,
                        value,
                    },
                ))
            })
            .collect();
        entries.sort_by(|a, b| a.0.cmp(&b.0));
        Repr {
            entries,
            queue,
            next_gen: l.next_gen,
        }
    }
}

impl<K: KeyHash + Clone, V> From<Repr<K, V>> for Lru<K, V> {
    fn from(r: Repr<K, V>) -> Self {
        let mut l = Lru {
            map: Index::with_capacity(r.entries.len()),
            nodes: Vec::with_capacity(r.entries.len()),
            free: Vec::new(),
            queue: VecDeque::with_capacity(r.queue.len()),
            next_gen: r.next_gen,
        };
        for (k, slot) in r.entries {
            let hash = l.map.hash(&k);
            if let Some(old) = l.map.get(&l.nodes, hash, &k) {
                // A key twice: the last one wins (as when collected into a map).
                l.map.remove(hash, old);
                l.nodes[old as usize].value = None;
                l.free.push(old);
            }
            let i = slot_index(l.nodes.len());
            l.nodes.push(Node {
                key: k,
                hash,
                generation: slot.generation,
                value: Some(slot.value),
                refs: 0,
            });
            l.map.insert(&l.nodes, i);
        }
        // Queue entries of removed keys name vacant slots of their own.
        let mut gone: HashMap<K, u32> = HashMap::new();
        for (k, generation, seen) in r.queue {
            let hash = l.map.hash(&k);
            let i = match l
                .map
                .get(&l.nodes, hash, &k)
                .or_else(|| gone.get(&k).copied())
            {
                Some(i) => i,
                None => {
                    let i = slot_index(l.nodes.len());
                    l.nodes.push(Node {
                        key: k.clone(),
                        hash,
                        generation: 0,
                        value: None,
                        refs: 0,
                    });
                    gone.insert(k, i);
                    i
                }
            };
            l.nodes[i as usize].refs += 1;
            l.queue.push_back((i, generation, seen));
        }
        l
    }
}

/// Slots are u32: the caps keep the maps far below that.
fn slot_index(n: usize) -> u32 {
    u32::try_from(n).expect("fewer than 2^32 slots")
}

impl<K: Hash + Eq, V> Default for Lru<K, V> {
    fn default() -> Self {
        Lru {
            map: Index::with_capacity(0),
            nodes: Vec::new(),
            free: Vec::new(),
            queue: VecDeque::new(),
            next_gen: 0,
        }
    }
}

impl<K: KeyHash + Clone, V: LastSeen> Lru<K, V> {
    pub(crate) fn len(&self) -> usize {
        self.map.len()
    }

    pub(crate) fn get(&self, k: &K) -> Option<&V> {
        let i = self.map.get(&self.nodes, self.map.hash(k), k)?;
        self.nodes[i as usize].value.as_ref()
    }

    #[cfg(test)]
    pub(crate) fn get_mut(&mut self, k: &K) -> Option<&mut V> {
        let i = self.map.get(&self.nodes, self.map.hash(k), k)?;
        self.nodes[i as usize].value.as_mut()
    }

    pub(crate) fn remove(&mut self, k: &K) -> Option<V> {
        let hash = self.map.hash(k);
        let v = self.map.get(&self.nodes, hash, k).and_then(|i| {
            self.map.remove(hash, i);
            self.nodes[i as usize].value.take()
        });
        self.compact();
        v
    }

    /// A queue entry naming slot `i` is gone.
    fn unref(&mut self, i: u32) {
        let n = &mut self.nodes[i as usize];
        n.refs -= 1;
        if n.refs == 0 && n.value.is_none() {
            self.free.push(i);
        }
    }

    /// A new live slot for `k` (its one queue entry is the caller's to push).
    fn alloc(&mut self, k: K, hash: u64, generation: u64, value: V) -> u32 {
        let node = Node {
            key: k,
            hash,
            generation,
            value: Some(value),
            refs: 1,
        };
        match self.free.pop() {
            Some(i) => {
                self.nodes[i as usize] = node;
                i
            }
            None => {
                let i = slot_index(self.nodes.len());
                self.nodes.push(node);
                i
            }
        }
    }

    /// The entry for `k`, inserted (as `V::default()`, seen at `now`) if missing; and how
    /// many were evicted to make room. One hash lookup for a hit; for a miss, one more to
    /// insert and one to remove the victim when the map is full.
    pub(crate) fn get_or_insert(&mut self, k: &K, cap: usize, now: i64) -> (&mut V, usize)
    where
        V: Default,
    {
        let (_, v, evicted) = self.get_or_insert_slot(k, cap, now);
        (v, evicted)
    }

    /// [`Lru::get_or_insert`], with the entry's slot: [`Lru::at`] reaches it again without a
    /// lookup until the map is next changed.
    pub(crate) fn get_or_insert_slot(&mut self, k: &K, cap: usize, now: i64) -> (u32, &mut V, usize)
    where
        V: Default,
    {
        let hash = self.map.hash(k);
        if let Some(i) = self.map.get(&self.nodes, hash, k) {
            let v = self.nodes[i as usize].value.as_mut();
            return (i, v.expect("a mapped slot is live"), 0);
        }
        let mut evicted = 0;
        if self.map.len() >= cap.max(1) {
            evicted = usize::from(self.evict_one());
        }
        let generation = self.next_gen;
        self.next_gen += 1;
        let i = self.alloc(k.clone(), hash, generation, V::default());
        self.map.insert(&self.nodes, i);
        self.queue.push_back((i, generation, now));
        let v = self.nodes[i as usize].value.as_mut();
        (i, v.expect("just inserted"), evicted)
    }

    /// The entry in slot `i` (from [`Lru::get_or_insert_slot`], the map unchanged since).
    pub(crate) fn at(&self, i: u32) -> Option<&V> {
        self.nodes.get(i as usize).and_then(|n| n.value.as_ref())
    }

    #[cfg(test)]
    pub(crate) fn insert(&mut self, k: K, v: V, cap: usize) -> usize {
        let seen = v.last_seen();
        self.insert_at(k, v, cap, seen)
    }

    /// [`Lru::insert`], queued as seen at `seen`.
    #[cfg(test)]
    fn insert_at(&mut self, k: K, v: V, cap: usize, seen: i64) -> usize {
        let hash = self.map.hash(&k);
        if let Some(i) = self.map.get(&self.nodes, hash, &k) {
            // Replaced: a new generation, the old queue entry goes stale.
            let generation = self.next_gen;
            self.next_gen += 1;
            let n = &mut self.nodes[i as usize];
            n.generation = generation;
            n.value = Some(v);
            n.refs += 1;
            self.queue.push_back((i, generation, seen));
            return 0;
        }
        let mut evicted = 0;
        if self.map.len() >= cap.max(1) {
            evicted = usize::from(self.evict_one());
        }
        let generation = self.next_gen;
        self.next_gen += 1;
        let i = self.alloc(k, hash, generation, v);
        self.map.insert(&self.nodes, i);
        self.queue.push_back((i, generation, seen));
        evicted
    }

    fn evict_one(&mut self) -> bool {
        // Each live entry is given a second chance at most once per pass.
        let mut budget = self.queue.len() * 2 + 1;
        while let Some((i, generation, queued_at)) = self.queue.pop_front() {
            budget -= 1;
            let n = &mut self.nodes[i as usize];
            let last = match &n.value {
                Some(v) if n.generation == generation => v.last_seen(),
                _ => {
                    self.unref(i);
                    continue;
                }
            };
            if last > queued_at && budget > 0 {
                let g = self.next_gen;
                self.next_gen += 1;
                n.generation = g;
                self.queue.push_back((i, g, last));
                continue;
            }
            self.map.remove(n.hash, i);
            n.value = None;
            self.unref(i);
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
            let Some(&(i, generation, queued_at)) = self.queue.front() else {
                break;
            };
            let n = &mut self.nodes[i as usize];
            let last = match &n.value {
                Some(v) if n.generation == generation => v.last_seen(),
                _ => {
                    self.queue.pop_front();
                    self.unref(i);
                    continue;
                }
            };
            if last.saturating_add(horizon) <= now {
                self.queue.pop_front();
                self.map.remove(n.hash, i);
                n.value = None;
                self.unref(i);
                removed += 1;
            } else if last > queued_at {
                self.queue.pop_front();
                let g = self.next_gen;
                self.next_gen += 1;
                n.generation = g;
                self.queue.push_back((i, g, last));
            } else {
                break;
            }
        }
        removed
    }

    /// Drops stale queue entries when they outnumber the live ones.
    fn compact(&mut self) {
        if self.queue.len() > 2 * self.map.len() + 64 {
            let nodes = &mut self.nodes;
            let free = &mut self.free;
            self.queue.retain(|&(i, generation, _)| {
                let n = &mut nodes[i as usize];
                let live = n.value.is_some() && n.generation == generation;
                if !live {
                    n.refs -= 1;
                    if n.refs == 0 && n.value.is_none() {
                        free.push(i);
                    }
                }
                live
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, Clone, Default, Serialize, Deserialize)]
    struct T(i64);

    impl KeyHash for u32 {
        fn write_key<H: Hasher>(&self, h: &mut H) {
            h.write_u32(*self);
        }
    }
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

    /// The earlier map (a std `HashMap` of keys, the keys queued): the model the slab must
    /// match, operation by operation and in its serialized form.
    #[derive(Debug, Default, Serialize)]
    struct Model {
        #[serde(rename = "entries", serialize_with = "sorted")]
        map: HashMap<u32, (u64, T)>,
        queue: VecDeque<(u32, u64, i64)>,
        next_gen: u64,
    }

    /// As the earlier map wrote itself: entries sorted by key.
    fn sorted<S: serde::Serializer>(m: &HashMap<u32, (u64, T)>, s: S) -> Result<S::Ok, S::Error> {
        let mut v: Vec<(u32, Slot<T>)> = m
            .iter()
            .map(|(k, (g, t))| {
                (
                    *k,
                    Slot {
                        generation: *g,
                        value: t.clone(),
                    },
                )
            })
            .collect();
        v.sort_by_key(|e| e.0);
        s.collect_seq(v)
    }

    impl Model {
        fn get_or_insert(&mut self, k: u32, cap: usize, now: i64) -> (&mut T, usize) {
            let mut evicted = 0;
            if self.map.len() >= cap.max(1) && !self.map.contains_key(&k) {
                evicted = usize::from(self.evict_one());
            }
            let generation = self.next_gen;
            let mut inserted = false;
            let slot = self.map.entry(k).or_insert_with(|| {
                inserted = true;
                (generation, T(0))
            });
            if inserted {
                self.next_gen += 1;
                self.queue.push_back((k, generation, now));
            }
            (&mut slot.1, evicted)
        }

        fn remove(&mut self, k: u32) -> Option<i64> {
            let v = self.map.remove(&k).map(|s| s.1.0);
            if self.queue.len() > 2 * self.map.len() + 64 {
                let map = &self.map;
                self.queue
                    .retain(|(k, g, _)| map.get(k).is_some_and(|s| s.0 == *g));
            }
            v
        }

        fn evict_one(&mut self) -> bool {
            let mut budget = self.queue.len() * 2 + 1;
            while let Some((k, generation, queued_at)) = self.queue.pop_front() {
                budget -= 1;
                let Some(slot) = self.map.get_mut(&k) else {
                    continue;
                };
                if slot.0 != generation {
                    continue;
                }
                let last = slot.1.0;
                if last > queued_at && budget > 0 {
                    let g = self.next_gen;
                    self.next_gen += 1;
                    slot.0 = g;
                    self.queue.push_back((k, g, last));
                    continue;
                }
                self.map.remove(&k);
                return true;
            }
            false
        }

        fn expire(&mut self, now: i64, horizon: i64) -> usize {
            let mut removed = 0;
            let mut budget = self.queue.len().min(EXPIRE_BUDGET);
            while budget > 0 {
                budget -= 1;
                let Some((k, generation, queued_at)) = self.queue.front().copied() else {
                    break;
                };
                let Some(slot) = self.map.get_mut(&k) else {
                    self.queue.pop_front();
                    continue;
                };
                if slot.0 != generation {
                    self.queue.pop_front();
                    continue;
                }
                let last = slot.1.0;
                if last.saturating_add(horizon) <= now {
                    self.queue.pop_front();
                    self.map.remove(&k);
                    removed += 1;
                } else if last > queued_at {
                    self.queue.pop_front();
                    let g = self.next_gen;
                    self.next_gen += 1;
                    slot.0 = g;
                    self.queue.push_back((k, g, last));
                } else {
                    break;
                }
            }
            removed
        }
    }

    #[derive(Debug, Clone)]
    enum Op {
        /// Seen at the current time (inserted if missing).
        Touch(u32),
        Remove(u32),
        Get(u32),
        Expire(i64),
        Tick(i64),
        /// Through the serialized form and back.
        Reload,
    }

    fn op() -> impl proptest::strategy::Strategy<Value = Op> {
        use proptest::prelude::*;
        prop_oneof![
            6 => (0u32..40).prop_map(Op::Touch),
            2 => (0u32..40).prop_map(Op::Remove),
            1 => (0u32..40).prop_map(Op::Get),
            1 => (0i64..20).prop_map(Op::Expire),
            2 => (0i64..4).prop_map(Op::Tick),
            1 => Just(Op::Reload),
        ]
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig { cases: 500, ..Default::default() })]

        #[test]
        fn the_slab_matches_the_earlier_map(cap in 1usize..24, ops in proptest::collection::vec(op(), 1..400)) {
            let mut m = Model::default();
            let mut l: Lru<u32, T> = Lru::default();
            let mut now = 0i64;
            for o in ops {
                match o {
                    Op::Touch(k) => {
                        let (a, ea) = m.get_or_insert(k, cap, now);
                        a.0 = now;
                        let (b, eb) = l.get_or_insert(&k, cap, now);
                        b.0 = now;
                        proptest::prop_assert_eq!(ea, eb);
                    }
                    Op::Remove(k) => {
                        proptest::prop_assert_eq!(m.remove(k), l.remove(&k).map(|t| t.0));
                    }
                    Op::Get(k) => {
                        proptest::prop_assert_eq!(m.map.get(&k).map(|s| s.1.0), l.get(&k).map(|t| t.0));
                    }
                    Op::Expire(h) => {
                        proptest::prop_assert_eq!(m.expire(now, h), l.expire(now, h));
                    }
                    Op::Tick(d) => now += d,
                    Op::Reload => {
                        let json = serde_json::to_string(&l).expect("ser");
                        l = serde_json::from_str(&json).expect("de");
                    }
                }
                proptest::prop_assert_eq!(m.map.len(), l.len());
                proptest::prop_assert_eq!(
                    serde_json::to_string(&m).expect("model"),
                    serde_json::to_string(&l).expect("slab")
                );
            }
        }
    }
}
