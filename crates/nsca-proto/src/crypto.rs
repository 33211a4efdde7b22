//! The NSCA 2.x encryption methods, byte-compatible with libmcrypt 2.5.8 as
//! Debian's `nsca`/`send_nsca` 2.10.2 use it.
//!
//! * Method 0 sends the packet in clear.
//! * Method 1 XORs each packet with the 128-byte IV and then with the
//!   password, both repeated; the index restarts at 0 for every packet.
//! * Methods 2 and up are libmcrypt algorithms in its `"cfb"` mode, which is
//!   **CFB-8** (one block encryption per byte). The key is the password
//!   truncated or NUL-padded to the algorithm's *maximum* key size, the IV is
//!   the first `block_size` bytes of the transmitted IV, and one cipher state
//!   lives for the whole connection: it is carried from one packet to the next.
//!
//! A [`CryptoState`] is that per-connection state. Methods that no
//! trustworthy implementation reproduces are refused with
//! [`CryptoError::Unsupported`], never replaced by something else.

use std::fmt;

use cipher::array::ArraySize;
use cipher::typenum::Unsigned;
use cipher::{
    Array, BlockCipherEncBackend, BlockCipherEncClosure, BlockCipherEncrypt, BlockSizeUser, KeyInit,
};

/// Length of the IV the server sends in its init packet.
pub const IV_LEN: usize = 128;

/// The largest block size of any supported cipher (Rijndael-256).
const MAX_BLOCK: usize = 32;

/// An NSCA encryption method, as numbered in `nsca.cfg` (`decryption_method`)
/// and `send_nsca.cfg` (`encryption_method`) (`common.h:69-97`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Method {
    /// 0: no encryption.
    None,
    /// 1: XOR with the IV and the password (the Debian default).
    Xor,
    /// 2: DES.
    Des,
    /// 3: Triple DES (EDE3, 24-byte key).
    TripleDes,
    /// 4: CAST-128.
    Cast128,
    /// 5: CAST-256.
    Cast256,
    /// 6: xTEA.
    Xtea,
    /// 7: 3-WAY (absent from Debian's libmcrypt).
    ThreeWay,
    /// 8: Blowfish (56-byte key).
    Blowfish,
    /// 9: Twofish.
    Twofish,
    /// 10: LOKI97.
    Loki97,
    /// 11: RC2 (128-byte key).
    Rc2,
    /// 12: ARCFOUR (a stream cipher; libmcrypt cannot run it in CFB mode).
    Arcfour,
    /// 14: Rijndael with 128-bit blocks and a 32-byte key, that is AES-256.
    Rijndael128,
    /// 15: Rijndael with 192-bit blocks.
    Rijndael192,
    /// 16: Rijndael with 256-bit blocks.
    Rijndael256,
    /// 19: WAKE (a stream cipher; no CFB mode).
    Wake,
    /// 20: Serpent.
    Serpent,
    /// 22: ENIGMA (a stream cipher; no CFB mode).
    Enigma,
    /// 23: GOST 28147-89 with libmcrypt's S-boxes.
    Gost,
    /// 24: SAFER-SK64 (absent from Debian's libmcrypt).
    SaferSk64,
    /// 25: SAFER-SK128 (absent from Debian's libmcrypt).
    SaferSk128,
    /// 26: SAFER+.
    SaferPlus,
}

/// Why a method cannot be used.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Unsupported {
    /// The C programs accept the number but fail on every connection, because
    /// Debian's libmcrypt cannot run the algorithm in CFB mode or lacks it.
    /// No peer can use it, so neither can Picket.
    NotInLibmcrypt,
    /// Debian's programs can use it, but no maintained implementation
    /// reproduces libmcrypt's output, so Picket refuses it rather than
    /// guess.
    NoTrustworthyImplementation,
}

/// Errors of the crypto layer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CryptoError {
    /// A number that is no NSCA method at all (the C parsers reject it too).
    #[error("invalid encryption method {0}: NSCA knows methods 0-26 except 13, 17, 18 and 21")]
    InvalidMethod(i64),
    /// A known method that cannot be used; see [`Unsupported`].
    #[error("{}", unsupported_message(*.method, *.why))]
    Unsupported {
        /// The method asked for.
        method: Method,
        /// Why it is refused.
        why: Unsupported,
    },
}

fn unsupported_message(method: Method, why: Unsupported) -> String {
    match why {
        Unsupported::NotInLibmcrypt => format!(
            "encryption method {} ({}) cannot be used: Debian's libmcrypt cannot run it in CFB mode, \
             so the C nsca and send_nsca fail on every connection with it too; choose another method",
            method.number(),
            method.name()
        ),
        Unsupported::NoTrustworthyImplementation => format!(
            "encryption method {} ({}) is not supported by Picket: no maintained implementation \
             reproduces libmcrypt's output for it; choose another method, e.g. 14 (RIJNDAEL-128, \
             which is AES-256)",
            method.number(),
            method.name()
        ),
    }
}

impl Method {
    /// Every method, in number order.
    pub const ALL: [Method; 23] = [
        Method::None,
        Method::Xor,
        Method::Des,
        Method::TripleDes,
        Method::Cast128,
        Method::Cast256,
        Method::Xtea,
        Method::ThreeWay,
        Method::Blowfish,
        Method::Twofish,
        Method::Loki97,
        Method::Rc2,
        Method::Arcfour,
        Method::Rijndael128,
        Method::Rijndael192,
        Method::Rijndael256,
        Method::Wake,
        Method::Serpent,
        Method::Enigma,
        Method::Gost,
        Method::SaferSk64,
        Method::SaferSk128,
        Method::SaferPlus,
    ];

    /// The method with this number, if the C programs know it.
    pub fn from_number(n: i64) -> Result<Method, CryptoError> {
        Method::ALL
            .into_iter()
            .find(|m| i64::from(m.number()) == n)
            .ok_or(CryptoError::InvalidMethod(n))
    }

    /// The number used in the configuration files.
    pub fn number(self) -> u8 {
        match self {
            Method::None => 0,
            Method::Xor => 1,
            Method::Des => 2,
            Method::TripleDes => 3,
            Method::Cast128 => 4,
            Method::Cast256 => 5,
            Method::Xtea => 6,
            Method::ThreeWay => 7,
            Method::Blowfish => 8,
            Method::Twofish => 9,
            Method::Loki97 => 10,
            Method::Rc2 => 11,
            Method::Arcfour => 12,
            Method::Rijndael128 => 14,
            Method::Rijndael192 => 15,
            Method::Rijndael256 => 16,
            Method::Wake => 19,
            Method::Serpent => 20,
            Method::Enigma => 22,
            Method::Gost => 23,
            Method::SaferSk64 => 24,
            Method::SaferSk128 => 25,
            Method::SaferPlus => 26,
        }
    }

    /// The name NSCA's documentation uses.
    pub fn name(self) -> &'static str {
        match self {
            Method::None => "NONE",
            Method::Xor => "XOR",
            Method::Des => "DES",
            Method::TripleDes => "3DES",
            Method::Cast128 => "CAST-128",
            Method::Cast256 => "CAST-256",
            Method::Xtea => "xTEA",
            Method::ThreeWay => "3-WAY",
            Method::Blowfish => "BLOWFISH",
            Method::Twofish => "TWOFISH",
            Method::Loki97 => "LOKI97",
            Method::Rc2 => "RC2",
            Method::Arcfour => "ARCFOUR",
            Method::Rijndael128 => "RIJNDAEL-128",
            Method::Rijndael192 => "RIJNDAEL-192",
            Method::Rijndael256 => "RIJNDAEL-256",
            Method::Wake => "WAKE",
            Method::Serpent => "SERPENT",
            Method::Enigma => "ENIGMA",
            Method::Gost => "GOST",
            Method::SaferSk64 => "SAFER-SK64",
            Method::SaferSk128 => "SAFER-SK128",
            Method::SaferPlus => "SAFER+",
        }
    }

    /// The libmcrypt algorithm name (as the C daemon logs it), for methods 2 and up.
    pub fn mcrypt_algorithm(self) -> Option<&'static str> {
        Some(match self {
            Method::None | Method::Xor => return None,
            Method::Des => "des",
            Method::TripleDes => "tripledes",
            Method::Cast128 => "cast-128",
            Method::Cast256 => "cast-256",
            Method::Xtea => "xtea",
            Method::ThreeWay => "threeway",
            Method::Blowfish => "blowfish",
            Method::Twofish => "twofish",
            Method::Loki97 => "loki97",
            Method::Rc2 => "rc2",
            Method::Arcfour => "arcfour",
            Method::Rijndael128 => "rijndael-128",
            Method::Rijndael192 => "rijndael-192",
            Method::Rijndael256 => "rijndael-256",
            Method::Wake => "wake",
            Method::Serpent => "serpent",
            Method::Enigma => "enigma",
            Method::Gost => "gost",
            Method::SaferSk64 => "safer-sk64",
            Method::SaferSk128 => "safer-sk128",
            Method::SaferPlus => "saferplus",
        })
    }

    /// Whether Picket can use this method, and if not, why.
    pub fn support(self) -> Result<(), Unsupported> {
        match self {
            Method::ThreeWay
            | Method::Arcfour
            | Method::Wake
            | Method::Enigma
            | Method::SaferSk64
            | Method::SaferSk128 => Err(Unsupported::NotInLibmcrypt),
            Method::Loki97 | Method::SaferPlus => Err(Unsupported::NoTrustworthyImplementation),
            _ => Ok(()),
        }
    }

    /// Checks that the method can be used; the error names it and says why not.
    pub fn check_supported(self) -> Result<Method, CryptoError> {
        self.support()
            .map(|()| self)
            .map_err(|why| CryptoError::Unsupported { method: self, why })
    }

    /// libmcrypt's maximum key size for the algorithm, which is the size of the
    /// key NSCA builds from the password.
    fn key_size(self) -> usize {
        match self {
            Method::Des => 8,
            Method::TripleDes => 24,
            Method::Cast128 | Method::Xtea => 16,
            Method::Blowfish => 56,
            Method::Rc2 => 128,
            _ => 32,
        }
    }
}

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} ({})", self.number(), self.name())
    }
}

/// The encryption state of one connection, for one direction.
///
/// Create one per connection with the IV of that connection's init packet,
/// then call [`encrypt_packet`](Self::encrypt_packet) or
/// [`decrypt_packet`](Self::decrypt_packet) once per whole packet, in order.
pub struct CryptoState {
    inner: Inner,
}

enum Inner {
    None,
    /// The XOR keystream for a whole v3 packet (IV and password combined),
    /// computed once per connection: XOR restarts at 0 for every packet.
    Xor(Box<[u8]>),
    Cfb8(Box<dyn Cfb8Stream>),
}

impl fmt::Debug for CryptoState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material.
        let kind = match &self.inner {
            Inner::None => "none",
            Inner::Xor(_) => "xor",
            Inner::Cfb8(_) => "cfb8",
        };
        f.debug_struct("CryptoState").field("kind", &kind).finish()
    }
}

impl CryptoState {
    /// Builds the state for `method` with the shared `password` and the IV
    /// from the init packet.
    pub fn new(method: Method, password: &[u8], iv: &[u8; IV_LEN]) -> Result<Self, CryptoError> {
        method.check_supported()?;
        let key_size = method.key_size();
        let mut key = vec![0u8; key_size];
        let n = password.len().min(key_size);
        key[..n].copy_from_slice(&password[..n]);
        let inner = match method {
            Method::None => Inner::None,
            Method::Xor => Inner::Xor(xor_keystream(iv, password)),
            Method::Des => cfb8(crate::des::Des::new(&array(&key)), iv),
            Method::TripleDes => cfb8(crate::des::TripleDes::new(&array(&key)), iv),
            Method::Cast128 => cfb8_rc(rc::<cast5::Cast5>(&key), iv),
            Method::Cast256 => cfb8(Bswap32(rc::<cast6::Cast6>(&bswap32(&key))), iv),
            Method::Xtea => cfb8(Bswap32(rc::<xtea::Xtea>(&bswap32(&key))), iv),
            Method::Blowfish => cfb8_rc(rc::<blowfish::Blowfish>(&key), iv),
            Method::Twofish => cfb8_rc(rc::<twofish::Twofish>(&key), iv),
            Method::Rc2 => cfb8_rc(rc::<rc2::Rc2>(&key), iv),
            Method::Rijndael128 => cfb8_rc(rc::<aes::Aes256>(&key), iv),
            Method::Rijndael192 => cfb8(rijndael::<24>(&key), iv),
            Method::Rijndael256 => cfb8(rijndael::<32>(&key), iv),
            Method::Serpent => cfb8_rc(rc::<serpent::Serpent>(&key), iv),
            Method::Gost => cfb8(
                SwapHalves(rc::<magma::Gost89<gost::LibmcryptSbox>>(&bswap32(&key))),
                iv,
            ),
            Method::ThreeWay
            | Method::Loki97
            | Method::Arcfour
            | Method::Wake
            | Method::Enigma
            | Method::SaferSk64
            | Method::SaferSk128
            | Method::SaferPlus => {
                // check_supported() refused these above.
                return Err(CryptoError::Unsupported {
                    method,
                    why: Unsupported::NotInLibmcrypt,
                });
            }
        };
        Ok(CryptoState { inner })
    }

    /// Encrypts one whole packet in place.
    pub fn encrypt_packet(&mut self, packet: &mut [u8]) {
        match &mut self.inner {
            Inner::None => {}
            Inner::Xor(k) => xor(packet, k),
            Inner::Cfb8(s) => s.encrypt(packet),
        }
    }

    /// Decrypts one whole packet in place.
    pub fn decrypt_packet(&mut self, packet: &mut [u8]) {
        match &mut self.inner {
            Inner::None => {}
            Inner::Xor(k) => xor(packet, k),
            Inner::Cfb8(s) => s.decrypt(packet),
        }
    }
}

/// `utils.c:324-348`: every byte is XORed with the IV, then with the
/// password, both repeated from index 0 in every packet. An empty password
/// XORs with its terminating NUL, that is not at all.
fn xor_keystream(iv: &[u8; IV_LEN], password: &[u8]) -> Box<[u8]> {
    let len = crate::packet::PACKET_LEN;
    let mut k = repeat(iv, len);
    if !password.is_empty() {
        xor(&mut k, &repeat(password, len));
    }
    k.into_boxed_slice()
}

/// `pattern` repeated to `len` bytes.
fn repeat(pattern: &[u8], len: usize) -> Vec<u8> {
    let mut v = Vec::with_capacity(len);
    while v.len() < len {
        let n = pattern.len().min(len - v.len());
        v.extend_from_slice(&pattern[..n]);
    }
    v
}

/// XORs `buf` with the keystream (a packet is never longer than it).
fn xor(buf: &mut [u8], keystream: &[u8]) {
    for (b, k) in buf.iter_mut().zip(keystream) {
        *b ^= k;
    }
}

/// The key as the fixed-size array a cipher takes (sizes come from the
/// algorithm table, so they always match).
fn array<const N: usize>(key: &[u8]) -> [u8; N] {
    let mut a = [0u8; N];
    let n = key.len().min(N);
    a[..n].copy_from_slice(&key[..n]);
    a
}

impl BlockEncrypt for crate::des::Des {
    const SIZE: usize = 8;
    #[inline]
    fn encrypt(&self, block: &mut [u8]) {
        if let Ok(b) = <&mut [u8; 8]>::try_from(block) {
            self.encrypt_block(b);
        }
    }
}

impl BlockEncrypt for crate::des::TripleDes {
    const SIZE: usize = 8;
    #[inline]
    fn encrypt(&self, block: &mut [u8]) {
        if let Ok(b) = <&mut [u8; 8]>::try_from(block) {
            self.encrypt_block(b);
        }
    }
}

fn bswap32(bytes: &[u8]) -> Vec<u8> {
    let mut v = bytes.to_vec();
    for w in v.chunks_exact_mut(4) {
        w.reverse();
    }
    v
}

/// A block cipher's encryption direction, on a block of `SIZE` bytes.
trait BlockEncrypt: Send + 'static {
    const SIZE: usize;
    fn encrypt(&self, block: &mut [u8]);
}

/// A RustCrypto block cipher.
struct Rc<C>(C);

fn rc<C: KeyInit>(key: &[u8]) -> Rc<C> {
    // Every key built above has a size the cipher accepts (the sizes come from
    // the algorithm table and are covered by the vector tests).
    Rc(C::new_from_slice(key).unwrap_or_else(|_| {
        unreachable!("key size {} for {}", key.len(), std::any::type_name::<C>())
    }))
}

impl<C: BlockCipherEncrypt + Send + 'static> BlockEncrypt for Rc<C> {
    const SIZE: usize = <C::BlockSize as cipher::typenum::Unsigned>::USIZE;
    #[inline]
    fn encrypt(&self, block: &mut [u8]) {
        // `block` is always `SIZE` bytes (the CFB-8 register's width).
        if let Ok(b) = <&mut Array<u8, C::BlockSize>>::try_from(block) {
            self.0.encrypt_block(b);
        }
    }
}

/// libmcrypt's CAST-256 and xTEA read the block as little-endian 32-bit words
/// where the reference algorithms read big-endian ones.
struct Bswap32<E>(E);

impl<E: BlockEncrypt> BlockEncrypt for Bswap32<E> {
    const SIZE: usize = E::SIZE;
    #[inline]
    fn encrypt(&self, block: &mut [u8]) {
        for w in block.chunks_exact_mut(4) {
            w.reverse();
        }
        self.0.encrypt(block);
        for w in block.chunks_exact_mut(4) {
            w.reverse();
        }
    }
}

/// libmcrypt's GOST takes the two 32-bit halves of the block in the other
/// order than `magma` does.
struct SwapHalves<E>(E);

impl<E: BlockEncrypt> BlockEncrypt for SwapHalves<E> {
    const SIZE: usize = E::SIZE;
    #[inline]
    fn encrypt(&self, block: &mut [u8]) {
        block.rotate_left(4);
        self.0.encrypt(block);
        block.rotate_left(4);
    }
}

/// Rijndael with a block of `N` bytes (24 or 32; 16 is AES, done by `aes`).
struct Rijndael<const N: usize>(simple_rijndael::rijndael::Rijndael);

fn rijndael<const N: usize>(key: &[u8]) -> Rijndael<N> {
    Rijndael(
        simple_rijndael::rijndael::Rijndael::new(key, N)
            .unwrap_or_else(|e| unreachable!("Rijndael key {} block {N}: {e:?}", key.len())),
    )
}

impl<const N: usize> BlockEncrypt for Rijndael<N> {
    const SIZE: usize = N;
    #[inline]
    fn encrypt(&self, block: &mut [u8]) {
        if let Ok(out) = self.0.encrypt(block) {
            block.copy_from_slice(&out);
        }
    }
}

/// CFB-8 over a RustCrypto cipher, run inside the cipher's backend so that
/// the per-block dispatch (and CPU feature detection) happens once per
/// packet rather than once per byte.
struct Cfb8Rc<C> {
    cipher: C,
    register: [u8; MAX_BLOCK],
}

fn cfb8_rc<C: BlockCipherEncrypt + Send + 'static>(cipher: Rc<C>, iv: &[u8; IV_LEN]) -> Inner {
    let n = <C::BlockSize as Unsigned>::USIZE;
    let mut register = [0u8; MAX_BLOCK];
    register[..n].copy_from_slice(&iv[..n]);
    Inner::Cfb8(Box::new(Cfb8Rc {
        cipher: cipher.0,
        register,
    }))
}

impl<C: BlockCipherEncrypt + Send + 'static> Cfb8Stream for Cfb8Rc<C> {
    fn encrypt(&mut self, buf: &mut [u8]) {
        self.cipher.encrypt_with_backend(Cfb8Pass::<C::BlockSize> {
            register: &mut self.register,
            buf,
            decrypt: false,
            size: std::marker::PhantomData,
        });
    }

    fn decrypt(&mut self, buf: &mut [u8]) {
        self.cipher.encrypt_with_backend(Cfb8Pass::<C::BlockSize> {
            register: &mut self.register,
            buf,
            decrypt: true,
            size: std::marker::PhantomData,
        });
    }
}

/// One CFB-8 pass over a buffer, given the cipher's backend.
struct Cfb8Pass<'a, N> {
    register: &'a mut [u8; MAX_BLOCK],
    buf: &'a mut [u8],
    decrypt: bool,
    size: std::marker::PhantomData<N>,
}

impl<N: ArraySize> BlockSizeUser for Cfb8Pass<'_, N> {
    type BlockSize = N;
}

impl<N: ArraySize> BlockCipherEncClosure for Cfb8Pass<'_, N> {
    #[inline]
    fn call<B: BlockCipherEncBackend<BlockSize = N>>(self, backend: &B) {
        let n = N::USIZE;
        let mut register = Array::<u8, N>::default();
        register.copy_from_slice(&self.register[..n]);
        let mut block = Array::<u8, N>::default();
        for b in self.buf.iter_mut() {
            block.copy_from_slice(&register);
            backend.encrypt_block((&mut block).into());
            let c = if self.decrypt { *b } else { *b ^ block[0] };
            *b ^= block[0];
            register.copy_within(1.., 0);
            register[n - 1] = c;
        }
        self.register[..n].copy_from_slice(&register);
    }
}

/// CFB with 8-bit feedback over a block cipher: libmcrypt's `"cfb"` mode.
trait Cfb8Stream: Send {
    fn encrypt(&mut self, buf: &mut [u8]);
    fn decrypt(&mut self, buf: &mut [u8]);
}

struct Cfb8<E> {
    cipher: E,
    /// The shift register; only the first `E::SIZE` bytes are used.
    register: [u8; MAX_BLOCK],
}

fn cfb8<E: BlockEncrypt>(cipher: E, iv: &[u8; IV_LEN]) -> Inner {
    let mut register = [0u8; MAX_BLOCK];
    register[..E::SIZE].copy_from_slice(&iv[..E::SIZE]);
    Inner::Cfb8(Box::new(Cfb8 { cipher, register }))
}

impl<E: BlockEncrypt> Cfb8<E> {
    #[inline]
    fn keystream_byte(&self) -> u8 {
        let mut block = [0u8; MAX_BLOCK];
        block[..E::SIZE].copy_from_slice(&self.register[..E::SIZE]);
        self.cipher.encrypt(&mut block[..E::SIZE]);
        block[0]
    }

    #[inline]
    fn shift_in(&mut self, ciphertext: u8) {
        self.register.copy_within(1..E::SIZE, 0);
        self.register[E::SIZE - 1] = ciphertext;
    }
}

impl<E: BlockEncrypt> Cfb8Stream for Cfb8<E> {
    fn encrypt(&mut self, buf: &mut [u8]) {
        for b in buf {
            *b ^= self.keystream_byte();
            self.shift_in(*b);
        }
    }

    fn decrypt(&mut self, buf: &mut [u8]) {
        for b in buf {
            let c = *b;
            *b ^= self.keystream_byte();
            self.shift_in(c);
        }
    }
}

mod gost {
    /// libmcrypt's GOST S-boxes (`gost.c:79-102`: the set printed in Applied
    /// Cryptography), in `magma`'s order: `SBOX[0]` acts on the lowest
    /// nibble, so the book's S-box 8 comes first. libmcrypt's copy has a typo
    /// in that row, `…, 8, 2` where the book has `…, 8, 12`, so the row is not
    /// even a permutation; interoperating means keeping it.
    pub(super) enum LibmcryptSbox {}

    impl magma::Sbox for LibmcryptSbox {
        const NAME: &'static str = "libmcrypt";
        const SBOX: [[u8; 16]; 8] = [
            [1, 15, 13, 0, 5, 7, 10, 4, 9, 2, 3, 14, 6, 11, 8, 2],
            [13, 11, 4, 1, 3, 15, 5, 9, 0, 10, 14, 7, 6, 8, 2, 12],
            [4, 11, 10, 0, 7, 2, 1, 13, 3, 6, 8, 5, 9, 12, 15, 14],
            [6, 12, 7, 1, 5, 15, 13, 8, 4, 10, 9, 14, 0, 3, 11, 2],
            [7, 13, 10, 1, 0, 8, 9, 15, 14, 4, 6, 12, 11, 2, 5, 3],
            [5, 8, 1, 13, 10, 3, 4, 2, 14, 15, 12, 7, 6, 0, 9, 11],
            [14, 11, 4, 12, 6, 13, 15, 10, 2, 3, 8, 1, 0, 7, 5, 9],
            [4, 10, 9, 2, 13, 8, 0, 14, 6, 11, 1, 12, 7, 15, 5, 3],
        ];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_round_trip_and_gaps_are_invalid() {
        for m in Method::ALL {
            assert_eq!(Method::from_number(i64::from(m.number())), Ok(m));
        }
        for n in [13, 17, 18, 21, 27, -1, 255] {
            assert_eq!(Method::from_number(n), Err(CryptoError::InvalidMethod(n)));
        }
    }

    #[test]
    fn unsupported_methods_are_refused_by_name() {
        let iv = [0u8; IV_LEN];
        for n in [7, 10, 12, 19, 22, 24, 25, 26] {
            let m = Method::from_number(n).unwrap();
            let err = CryptoState::new(m, b"pw", &iv).unwrap_err();
            let msg = err.to_string();
            assert!(msg.contains(&format!("method {n} ({})", m.name())), "{msg}");
        }
    }

    #[test]
    fn xor_restarts_per_packet_and_round_trips() {
        let iv: [u8; IV_LEN] = std::array::from_fn(|i| i as u8);
        let mut st = CryptoState::new(Method::Xor, b"ns", &iv).unwrap();
        let mut a = [0u8; 300];
        let mut b = [0u8; 300];
        st.encrypt_packet(&mut a);
        st.encrypt_packet(&mut b);
        assert_eq!(a, b, "XOR is stateless across packets");
        assert_eq!(a[0], b'n');
        assert_eq!(a[1], 1 ^ b's');
        st.decrypt_packet(&mut a);
        assert_eq!(a, [0u8; 300]);
    }

    #[test]
    fn cfb8_carries_state_across_packets() {
        let iv: [u8; IV_LEN] = std::array::from_fn(|i| (i * 37 + 11) as u8);
        let mut enc = CryptoState::new(Method::Rijndael128, b"secret", &iv).unwrap();
        let mut one = [7u8; 64];
        let mut two = [7u8; 64];
        enc.encrypt_packet(&mut one);
        enc.encrypt_packet(&mut two);
        assert_ne!(one, two, "second packet continues the stream");
        let mut dec = CryptoState::new(Method::Rijndael128, b"secret", &iv).unwrap();
        dec.decrypt_packet(&mut one);
        dec.decrypt_packet(&mut two);
        assert_eq!(one, [7u8; 64]);
        assert_eq!(two, [7u8; 64]);
    }
}
