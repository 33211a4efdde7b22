//! DES and Triple DES (EDE3) encryption with combined S-box/permutation
//! tables, for NSCA methods 2 and 3.
//!
//! CFB-8 runs one block encryption per byte, so NSCA's 3DES costs 4304
//! 3DES blocks per packet. RustCrypto's `des` computes the expansion and the
//! P permutation bit by bit and is about twice as slow as libmcrypt, which
//! made Picket's `nsca` slower than the C daemon per core on method 3. This
//! is the classic table-driven formulation (Outerbridge's): the halves are
//! kept rotated left by one bit so that the E expansion becomes two
//! rotations, and each S-box is merged with P into a 64-entry table. The
//! tables are computed at first use from the standard's tables below, and
//! the implementation is checked against `des` on random keys and blocks
//! and against the NSCA vectors.
//!
//! Table lookups depend on secret data (as libmcrypt's do); NSCA's DES is
//! there for compatibility, not for secrecy.

use std::sync::OnceLock;

/// Initial permutation (FIPS 46-3), 1-based bit numbers, MSB first.
const IP: [u8; 64] = [
    58, 50, 42, 34, 26, 18, 10, 2, 60, 52, 44, 36, 28, 20, 12, 4, 62, 54, 46, 38, 30, 22, 14, 6,
    64, 56, 48, 40, 32, 24, 16, 8, 57, 49, 41, 33, 25, 17, 9, 1, 59, 51, 43, 35, 27, 19, 11, 3, 61,
    53, 45, 37, 29, 21, 13, 5, 63, 55, 47, 39, 31, 23, 15, 7,
];

/// Permuted choice 1.
const PC1: [u8; 56] = [
    57, 49, 41, 33, 25, 17, 9, 1, 58, 50, 42, 34, 26, 18, 10, 2, 59, 51, 43, 35, 27, 19, 11, 3, 60,
    52, 44, 36, 63, 55, 47, 39, 31, 23, 15, 7, 62, 54, 46, 38, 30, 22, 14, 6, 61, 53, 45, 37, 29,
    21, 13, 5, 28, 20, 12, 4,
];

/// Permuted choice 2 (over the 56-bit C‖D).
const PC2: [u8; 48] = [
    14, 17, 11, 24, 1, 5, 3, 28, 15, 6, 21, 10, 23, 19, 12, 4, 26, 8, 16, 7, 27, 20, 13, 2, 41, 52,
    31, 37, 47, 55, 30, 40, 51, 45, 33, 48, 44, 49, 39, 56, 34, 53, 46, 42, 50, 36, 29, 32,
];

/// Left rotations of C and D per round.
const SHIFTS: [u32; 16] = [1, 1, 2, 2, 2, 2, 2, 2, 1, 2, 2, 2, 2, 2, 2, 1];

/// The P permutation of the round function.
const P: [u8; 32] = [
    16, 7, 20, 21, 29, 12, 28, 17, 1, 15, 23, 26, 5, 18, 31, 10, 2, 8, 24, 14, 32, 27, 3, 9, 19,
    13, 30, 6, 22, 11, 4, 25,
];

/// The eight S-boxes, row-major (`row * 16 + column`).
#[rustfmt::skip]
const SBOX: [[u8; 64]; 8] = [
    [14, 4, 13, 1, 2, 15, 11, 8, 3, 10, 6, 12, 5, 9, 0, 7,
     0, 15, 7, 4, 14, 2, 13, 1, 10, 6, 12, 11, 9, 5, 3, 8,
     4, 1, 14, 8, 13, 6, 2, 11, 15, 12, 9, 7, 3, 10, 5, 0,
     15, 12, 8, 2, 4, 9, 1, 7, 5, 11, 3, 14, 10, 0, 6, 13],
    [15, 1, 8, 14, 6, 11, 3, 4, 9, 7, 2, 13, 12, 0, 5, 10,
     3, 13, 4, 7, 15, 2, 8, 14, 12, 0, 1, 10, 6, 9, 11, 5,
     0, 14, 7, 11, 10, 4, 13, 1, 5, 8, 12, 6, 9, 3, 2, 15,
     13, 8, 10, 1, 3, 15, 4, 2, 11, 6, 7, 12, 0, 5, 14, 9],
    [10, 0, 9, 14, 6, 3, 15, 5, 1, 13, 12, 7, 11, 4, 2, 8,
     13, 7, 0, 9, 3, 4, 6, 10, 2, 8, 5, 14, 12, 11, 15, 1,
     13, 6, 4, 9, 8, 15, 3, 0, 11, 1, 2, 12, 5, 10, 14, 7,
     1, 10, 13, 0, 6, 9, 8, 7, 4, 15, 14, 3, 11, 5, 2, 12],
    [7, 13, 14, 3, 0, 6, 9, 10, 1, 2, 8, 5, 11, 12, 4, 15,
     13, 8, 11, 5, 6, 15, 0, 3, 4, 7, 2, 12, 1, 10, 14, 9,
     10, 6, 9, 0, 12, 11, 7, 13, 15, 1, 3, 14, 5, 2, 8, 4,
     3, 15, 0, 6, 10, 1, 13, 8, 9, 4, 5, 11, 12, 7, 2, 14],
    [2, 12, 4, 1, 7, 10, 11, 6, 8, 5, 3, 15, 13, 0, 14, 9,
     14, 11, 2, 12, 4, 7, 13, 1, 5, 0, 15, 10, 3, 9, 8, 6,
     4, 2, 1, 11, 10, 13, 7, 8, 15, 9, 12, 5, 6, 3, 0, 14,
     11, 8, 12, 7, 1, 14, 2, 13, 6, 15, 0, 9, 10, 4, 5, 3],
    [12, 1, 10, 15, 9, 2, 6, 8, 0, 13, 3, 4, 14, 7, 5, 11,
     10, 15, 4, 2, 7, 12, 9, 5, 6, 1, 13, 14, 0, 11, 3, 8,
     9, 14, 15, 5, 2, 8, 12, 3, 7, 0, 4, 10, 1, 13, 11, 6,
     4, 3, 2, 12, 9, 5, 15, 10, 11, 14, 1, 7, 6, 0, 8, 13],
    [4, 11, 2, 14, 15, 0, 8, 13, 3, 12, 9, 7, 5, 10, 6, 1,
     13, 0, 11, 7, 4, 9, 1, 10, 14, 3, 5, 12, 2, 15, 8, 6,
     1, 4, 11, 13, 12, 3, 7, 14, 10, 15, 6, 8, 0, 5, 9, 2,
     6, 11, 13, 8, 1, 4, 10, 7, 9, 5, 0, 15, 14, 2, 3, 12],
    [13, 2, 8, 4, 6, 15, 11, 1, 10, 9, 3, 14, 5, 0, 12, 7,
     1, 15, 13, 8, 10, 3, 7, 4, 12, 5, 6, 11, 0, 14, 9, 2,
     7, 11, 4, 1, 9, 12, 14, 2, 0, 6, 10, 13, 15, 3, 5, 8,
     2, 1, 14, 7, 4, 10, 8, 13, 15, 12, 9, 0, 3, 5, 6, 11],
];

/// Output bit `i` (MSB first) is input bit `table[i]` (1-based, MSB first)
/// of a `width`-bit input.
fn permute(input: u64, table: &[u8], width: u32) -> u64 {
    table.iter().fold(0u64, |acc, &bit| {
        (acc << 1) | ((input >> (width - u32::from(bit))) & 1)
    })
}

struct Tables {
    /// S-box `i` merged with P, in the rotated-by-one domain.
    sp: [[u32; 64]; 8],
    /// IP and its inverse as eight byte-indexed tables each.
    ip: [[u64; 256]; 8],
    fp: [[u64; 256]; 8],
}

fn tables() -> &'static Tables {
    static TABLES: OnceLock<Box<Tables>> = OnceLock::new();
    TABLES.get_or_init(|| {
        let mut t = Box::new(Tables {
            sp: [[0; 64]; 8],
            ip: [[0; 256]; 8],
            fp: [[0; 256]; 8],
        });
        for (i, sbox) in SBOX.iter().enumerate() {
            for v in 0..64usize {
                let row = ((v >> 4) & 2) | (v & 1);
                let col = (v >> 1) & 0xf;
                let s = u64::from(sbox[row * 16 + col]) << (28 - 4 * i);
                let p = permute(s, &P, 32) as u32;
                t.sp[i][v] = p.rotate_left(1);
            }
        }
        let mut fp_table = [0u8; 64];
        for (i, &b) in IP.iter().enumerate() {
            fp_table[usize::from(b) - 1] = i as u8 + 1;
        }
        for byte in 0..8 {
            for v in 0..256u64 {
                let x = v << (56 - 8 * byte);
                t.ip[byte][v as usize] = permute(x, &IP, 64);
                t.fp[byte][v as usize] = permute(x, &fp_table, 64);
            }
        }
        t
    })
}

fn apply(table: &[[u64; 256]; 8], x: u64) -> u64 {
    let b = x.to_be_bytes();
    table
        .iter()
        .zip(b)
        .fold(0, |acc, (t, byte)| acc | t[usize::from(byte)])
}

/// The sixteen round keys, each as the two 32-bit words the rounds use
/// (6-bit chunks for S-boxes 1,3,5,7 and 2,4,6,8 in bytes 3..0).
type Schedule = [(u32, u32); 16];

fn schedule(key: [u8; 8]) -> Schedule {
    let cd = permute(u64::from_be_bytes(key), &PC1, 64);
    let (mut c, mut d) = ((cd >> 28) as u32, (cd & 0x0fff_ffff) as u32);
    let rot28 = |x: u32, n: u32| ((x << n) | (x >> (28 - n))) & 0x0fff_ffff;
    let mut out = [(0, 0); 16];
    for (round, &shift) in SHIFTS.iter().enumerate() {
        c = rot28(c, shift);
        d = rot28(d, shift);
        let k = permute((u64::from(c) << 28) | u64::from(d), &PC2, 56);
        let chunk = |j: u32| ((k >> (42 - 6 * j)) & 63) as u32;
        out[round] = (
            (chunk(0) << 24) | (chunk(2) << 16) | (chunk(4) << 8) | chunk(6),
            (chunk(1) << 24) | (chunk(3) << 16) | (chunk(5) << 8) | chunk(7),
        );
    }
    out
}

/// Sixteen rounds on rotated halves; returns them swapped back, ready for
/// FP or the next DES of a triple.
#[inline(always)]
fn rounds(sp: &[[u32; 64]; 8], keys: &Schedule, mut l: u32, mut r: u32) -> (u32, u32) {
    for &(k0, k1) in keys {
        let w = r.rotate_right(4) ^ k0;
        let mut f = sp[6][(w & 63) as usize]
            | sp[4][((w >> 8) & 63) as usize]
            | sp[2][((w >> 16) & 63) as usize]
            | sp[0][((w >> 24) & 63) as usize];
        let w = r ^ k1;
        f |= sp[7][(w & 63) as usize]
            | sp[5][((w >> 8) & 63) as usize]
            | sp[3][((w >> 16) & 63) as usize]
            | sp[1][((w >> 24) & 63) as usize];
        (l, r) = (r, l ^ f);
    }
    (r, l)
}

fn reversed(s: &Schedule) -> Schedule {
    let mut r = *s;
    r.reverse();
    r
}

/// Triple DES, EDE with three keys (`tripledes` in libmcrypt); with three
/// equal keys it is single DES, which is how [`Des`] is built.
pub(crate) struct TripleDes {
    k1: Schedule,
    k2_decrypt: Schedule,
    k3: Schedule,
}

impl TripleDes {
    /// From a 24-byte key K1‖K2‖K3.
    pub(crate) fn new(key: &[u8; 24]) -> Self {
        let part = |i: usize| {
            let mut k = [0u8; 8];
            k.copy_from_slice(&key[8 * i..8 * i + 8]);
            schedule(k)
        };
        TripleDes {
            k1: part(0),
            k2_decrypt: reversed(&part(1)),
            k3: part(2),
        }
    }

    pub(crate) fn encrypt_block(&self, block: &mut [u8; 8]) {
        let t = tables();
        let x = apply(&t.ip, u64::from_be_bytes(*block));
        let (l, r) = (((x >> 32) as u32).rotate_left(1), (x as u32).rotate_left(1));
        // FP followed by IP between the three DES cancel out.
        let (l, r) = rounds(&t.sp, &self.k1, l, r);
        let (l, r) = rounds(&t.sp, &self.k2_decrypt, l, r);
        let (l, r) = rounds(&t.sp, &self.k3, l, r);
        let out = (u64::from(l.rotate_right(1)) << 32) | u64::from(r.rotate_right(1));
        *block = apply(&t.fp, out).to_be_bytes();
    }
}

/// Single DES.
pub(crate) struct Des {
    k: Schedule,
}

impl Des {
    pub(crate) fn new(key: &[u8; 8]) -> Self {
        Des { k: schedule(*key) }
    }

    pub(crate) fn encrypt_block(&self, block: &mut [u8; 8]) {
        let t = tables();
        let x = apply(&t.ip, u64::from_be_bytes(*block));
        let (l, r) = (((x >> 32) as u32).rotate_left(1), (x as u32).rotate_left(1));
        let (l, r) = rounds(&t.sp, &self.k, l, r);
        let out = (u64::from(l.rotate_right(1)) << 32) | u64::from(r.rotate_right(1));
        *block = apply(&t.fp, out).to_be_bytes();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use cipher::{Array, BlockCipherEncrypt, KeyInit};

    /// A small deterministic generator for test inputs.
    fn xorshift(state: &mut u64) -> u64 {
        *state ^= *state << 13;
        *state ^= *state >> 7;
        *state ^= *state << 17;
        *state
    }

    #[test]
    fn sboxes_rows_are_permutations() {
        for s in SBOX {
            for row in s.chunks(16) {
                let mut seen = [false; 16];
                for &v in row {
                    seen[usize::from(v)] = true;
                }
                assert!(seen.iter().all(|&b| b));
            }
        }
    }

    #[test]
    fn fips_known_answer() {
        // FIPS 81 / Stallings: key 133457799BBCDFF1, 0123456789ABCDEF -> 85E813540F0AB405.
        let d = Des::new(&0x1334_5779_9BBC_DFF1u64.to_be_bytes());
        let mut b = 0x0123_4567_89AB_CDEFu64.to_be_bytes();
        d.encrypt_block(&mut b);
        assert_eq!(u64::from_be_bytes(b), 0x85E8_1354_0F0A_B405);
    }

    #[test]
    fn matches_rustcrypto_on_random_inputs() {
        let mut s = 0x9E37_79B9_7F4A_7C15u64;
        for _ in 0..500 {
            let mut key = [0u8; 24];
            for c in key.chunks_mut(8) {
                c.copy_from_slice(&xorshift(&mut s).to_be_bytes());
            }
            let block = xorshift(&mut s).to_be_bytes();

            let mut ours = block;
            TripleDes::new(&key).encrypt_block(&mut ours);
            let mut theirs = Array::from(block);
            des::TdesEde3::new_from_slice(&key)
                .unwrap()
                .encrypt_block(&mut theirs);
            assert_eq!(ours, theirs.0);

            let mut ours = block;
            let k8: [u8; 8] = key[..8].try_into().unwrap();
            Des::new(&k8).encrypt_block(&mut ours);
            let mut theirs = Array::from(block);
            des::Des::new_from_slice(&k8)
                .unwrap()
                .encrypt_block(&mut theirs);
            assert_eq!(ours, theirs.0);
        }
    }
}
