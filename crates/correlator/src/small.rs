//! A list that keeps its first element inline: under a flood of distinct sources every
//! source and every (prefix, port) has one observation, and a list that allocates for it
//! costs an allocation per event and a cache miss when the evicted one is freed.

use std::ops::{Deref, DerefMut};

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A `Vec` that holds up to one element without allocating. Serialized as a sequence, as
/// the `Vec` it stands for.
#[derive(Debug, Clone)]
pub(crate) enum Small<T> {
    /// None or one element.
    Inline(Option<T>),
    /// Two or more (or fewer, after removals: it does not move back).
    Heap(Vec<T>),
}

impl<T> Default for Small<T> {
    fn default() -> Self {
        Small::Inline(None)
    }
}

impl<T> Small<T> {
    pub(crate) fn push(&mut self, v: T) {
        match self {
            Small::Inline(slot @ None) => *slot = Some(v),
            Small::Inline(slot @ Some(_)) => {
                let mut vec = Vec::with_capacity(4);
                vec.extend(slot.take());
                vec.push(v);
                *self = Small::Heap(vec);
            }
            Small::Heap(vec) => vec.push(v),
        }
    }

    pub(crate) fn retain(&mut self, mut keep: impl FnMut(&T) -> bool) {
        match self {
            Small::Inline(slot) => {
                if slot.as_ref().is_some_and(|v| !keep(v)) {
                    *slot = None;
                }
            }
            Small::Heap(vec) => vec.retain(keep),
        }
    }

    /// As a `Vec` (allocating if the element was inline).
    pub(crate) fn vec_mut(&mut self) -> &mut Vec<T> {
        if let Small::Inline(slot) = self {
            *self = Small::Heap(slot.take().into_iter().collect());
        }
        match self {
            Small::Heap(vec) => vec,
            Small::Inline(_) => unreachable!("just moved to the heap"),
        }
    }
}

impl<T> Deref for Small<T> {
    type Target = [T];
    fn deref(&self) -> &[T] {
        match self {
            Small::Inline(slot) => slot.as_slice(),
            Small::Heap(vec) => vec,
        }
    }
}

impl<T> DerefMut for Small<T> {
    fn deref_mut(&mut self) -> &mut [T] {
        match self {
            Small::Inline(slot) => slot.as_mut_slice(),
            Small::Heap(vec) => vec,
        }
    }
}

impl<T: Serialize> Serialize for Small<T> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_seq(self.iter())
    }
}

impl<'de, T: Deserialize<'de>> Deserialize<'de> for Small<T> {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let mut vec = Vec::<T>::deserialize(d)?;
        Ok(if vec.len() <= 1 {
            Small::Inline(vec.pop())
        } else {
            Small::Heap(vec)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[derive(Debug, Clone)]
    enum Op {
        Push(u8),
        Retain(u8),
        Drain(usize),
        SwapRemove(usize),
        Set(usize, u8),
        Reload,
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            4 => any::<u8>().prop_map(Op::Push),
            1 => any::<u8>().prop_map(Op::Retain),
            1 => (0usize..4).prop_map(Op::Drain),
            1 => (0usize..4).prop_map(Op::SwapRemove),
            1 => (0usize..4, any::<u8>()).prop_map(|(i, v)| Op::Set(i, v)),
            1 => Just(Op::Reload),
        ]
    }

    proptest! {
        /// It behaves as a `Vec`, and is written as one.
        #[test]
        fn small_matches_vec(ops in proptest::collection::vec(op(), 0..60)) {
            let mut v: Vec<u8> = Vec::new();
            let mut s: Small<u8> = Small::default();
            for o in ops {
                match o {
                    Op::Push(x) => {
                        v.push(x);
                        s.push(x);
                    }
                    Op::Retain(m) => {
                        v.retain(|x| x % 3 != m % 3);
                        s.retain(|x| x % 3 != m % 3);
                    }
                    Op::Drain(n) => {
                        let n = n.min(v.len());
                        v.drain(..n);
                        s.vec_mut().drain(..n);
                    }
                    Op::SwapRemove(i) => {
                        if i < v.len() {
                            v.swap_remove(i);
                            s.vec_mut().swap_remove(i);
                        }
                    }
                    Op::Set(i, x) => {
                        if let Some(e) = v.get_mut(i) {
                            *e = x;
                        }
                        if let Some(e) = s.get_mut(i) {
                            *e = x;
                        }
                    }
                    Op::Reload => {
                        let json = serde_json::to_string(&s).expect("ser");
                        prop_assert_eq!(&json, &serde_json::to_string(&v).expect("ser"));
                        s = serde_json::from_str(&json).expect("de");
                    }
                }
                prop_assert_eq!(&s[..], &v[..]);
            }
        }
    }
}
