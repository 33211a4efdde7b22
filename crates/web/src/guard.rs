//! The web server's defences that need no I/O: the `back=` redirect filter, the token
//! comparison and the per-source limiter of failed authentications (time is an argument).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The local path to redirect to for a user-supplied `back=` value: `/` unless `back`
/// is a same-origin path however a browser reads it.
///
/// A browser resolving a `Location` (WHATWG URL parsing) first strips leading and
/// trailing C0 controls and spaces, removes every tab and newline, and reads `\` as `/`
/// in the authority and path; `//host`, `/\host` and `\\host` then name another host, and
/// anything with a scheme is absolute. The value is accepted only if it is printable
/// ASCII without `\`, starts with exactly one `/`, and still does so once
/// percent-decoded (`/%09/host`, `/%2F/host`, `/%5Chost`: a server or proxy further
/// along may decode them). The accepted value is returned unchanged.
pub(crate) fn safe_back(back: Option<&str>) -> String {
    match back {
        Some(b) if is_local_path(b) && decoded_is_local(&percent_decode_lossy(b)) => b.to_owned(),
        _ => "/".to_owned(),
    }
}

fn is_local_path(b: &str) -> bool {
    let bytes = b.as_bytes();
    // Printable ASCII only: no controls (tab, CR, LF and the rest of C0), no space, no
    // DEL, no non-ASCII; so nothing is stripped or re-read by the browser's parser.
    if !bytes.iter().all(|c| c.is_ascii_graphic()) || bytes.contains(&b'\\') {
        return false;
    }
    bytes.first() == Some(&b'/') && bytes.get(1) != Some(&b'/')
}

/// Once decoded, read as a browser would (tabs and newlines dropped, `\` as `/`), the
/// value still starts with exactly one `/`.
fn decoded_is_local(d: &str) -> bool {
    let mut c = d
        .trim_start_matches(|c: char| c <= ' ')
        .chars()
        .filter(|c| !matches!(c, '\t' | '\n' | '\r'))
        .map(|c| if c == '\\' { '/' } else { c });
    c.next() == Some('/') && c.next() != Some('/')
}

fn percent_decode_lossy(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        let hex = |c: u8| char::from(c).to_digit(16);
        if b[i] == b'%' && i + 2 < b.len() {
            if let (Some(h), Some(l)) = (hex(b[i + 1]), hex(b[i + 2])) {
                out.push(u8::try_from(h * 16 + l).unwrap_or(0));
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// Compare a presented token with the configured one. The time taken depends on the
/// length of what was presented, never on the configured token's bytes or on where the
/// two differ.
pub(crate) fn token_eq(presented: &[u8], token: &[u8]) -> bool {
    if token.is_empty() {
        return false;
    }
    let mut diff = u8::from(presented.len() != token.len());
    for (i, p) in presented.iter().enumerate() {
        diff |= p ^ token[i % token.len()];
    }
    std::hint::black_box(diff) == 0
}

/// How many failed authentications a source may make: a token bucket per source.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AuthLimit {
    /// Failures allowed in a burst.
    pub burst: u32,
    /// One more failure is allowed per this much time.
    pub refill: Duration,
    /// Sources remembered at once; past it the one that failed longest ago is forgotten.
    pub max_sources: usize,
}

impl Default for AuthLimit {
    fn default() -> AuthLimit {
        AuthLimit {
            burst: 10,
            refill: Duration::from_secs(2),
            max_sources: 4096,
        }
    }
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    /// Failures still allowed, in units of `1 / SCALE`.
    level: u64,
    at: Instant,
}

const SCALE: u64 = 1_000_000;

/// Failed authentications by source (IPv4 address, or IPv6 /64). A source whose bucket
/// is empty is refused without its token being looked at, until the bucket refills;
/// others are not affected, and a success costs nothing.
#[derive(Debug)]
pub(crate) struct AuthLimiter {
    limit: AuthLimit,
    sources: HashMap<IpAddr, Bucket>,
}

/// The key a source is counted under: IPv4 (also when mapped into IPv6), or the /64 of
/// an IPv6 address (one host usually holds a whole /64).
fn source_key(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V4(_) => ip,
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => {
                let s = v6.segments();
                IpAddr::V6(std::net::Ipv6Addr::new(s[0], s[1], s[2], s[3], 0, 0, 0, 0))
            }
        },
    }
}

impl AuthLimiter {
    pub(crate) fn new(limit: AuthLimit) -> AuthLimiter {
        AuthLimiter {
            limit,
            sources: HashMap::new(),
        }
    }

    fn full(&self) -> u64 {
        u64::from(self.limit.burst.max(1)) * SCALE
    }

    fn level(&self, b: &Bucket, now: Instant) -> u64 {
        let refill = self.limit.refill.as_nanos().max(1);
        let gained = now.saturating_duration_since(b.at).as_nanos() * u128::from(SCALE) / refill;
        let gained = u64::try_from(gained).unwrap_or(u64::MAX);
        b.level.saturating_add(gained).min(self.full())
    }

    /// `Err(wait)` if `ip` has no failure left: refuse it without checking, and say when
    /// it may try again.
    pub(crate) fn check(&self, ip: IpAddr, now: Instant) -> Result<(), Duration> {
        let Some(b) = self.sources.get(&source_key(ip)) else {
            return Ok(());
        };
        let level = self.level(b, now);
        if level >= SCALE {
            return Ok(());
        }
        let missing = SCALE - level;
        let nanos = self.limit.refill.as_nanos() * u128::from(missing) / u128::from(SCALE);
        Err(Duration::from_nanos(
            u64::try_from(nanos).unwrap_or(u64::MAX),
        ))
    }

    /// Record a failure of `ip`.
    pub(crate) fn failed(&mut self, ip: IpAddr, now: Instant) {
        let key = source_key(ip);
        let level = match self.sources.get(&key) {
            Some(b) => self.level(b, now),
            None => {
                if self.sources.len() >= self.limit.max_sources.max(1) {
                    self.make_room(now);
                }
                self.full()
            }
        };
        self.sources.insert(
            key,
            Bucket {
                level: level.saturating_sub(SCALE),
                at: now,
            },
        );
    }

    /// Forget the sources whose bucket is full again (they are as if never seen); if none
    /// is, the one that failed longest ago.
    fn make_room(&mut self, now: Instant) {
        let full = self.full();
        let before = self.sources.len();
        let refill = self.limit.refill.as_nanos().max(1);
        self.sources.retain(|_, b| {
            let gained =
                now.saturating_duration_since(b.at).as_nanos() * u128::from(SCALE) / refill;
            u128::from(b.level) + gained < u128::from(full)
        });
        if self.sources.len() < before {
            return;
        }
        if let Some(oldest) = self
            .sources
            .iter()
            .min_by_key(|(_, b)| b.at)
            .map(|(k, _)| *k)
        {
            self.sources.remove(&oldest);
        }
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.sources.len()
    }
}

/// Connections open per source (IPv4 address, or IPv6 /64), at most `limit` each. The
/// table holds only sources with a connection open, so it is bounded by the connection cap.
#[derive(Debug)]
pub(crate) struct SourceSlots {
    limit: usize,
    open: Mutex<HashMap<IpAddr, usize>>,
}

/// One connection's place in [`SourceSlots`], given back on drop.
#[derive(Debug)]
pub(crate) struct SourceSlot {
    slots: Arc<SourceSlots>,
    key: IpAddr,
}

impl SourceSlots {
    pub(crate) fn new(limit: usize) -> Arc<SourceSlots> {
        Arc::new(SourceSlots {
            limit: limit.max(1),
            open: Mutex::new(HashMap::new()),
        })
    }

    fn table(&self) -> std::sync::MutexGuard<'_, HashMap<IpAddr, usize>> {
        match self.open.lock() {
            Ok(t) => t,
            Err(p) => p.into_inner(),
        }
    }

    /// A place for one more connection from `ip`, or `None` if it has `limit` open.
    pub(crate) fn take(self: &Arc<SourceSlots>, ip: IpAddr) -> Option<SourceSlot> {
        let key = source_key(ip);
        let mut t = self.table();
        let n = t.entry(key).or_insert(0);
        if *n >= self.limit {
            return None;
        }
        *n += 1;
        Some(SourceSlot {
            slots: Arc::clone(self),
            key,
        })
    }

    #[cfg(test)]
    fn sources(&self) -> usize {
        self.table().len()
    }
}

impl Drop for SourceSlot {
    fn drop(&mut self) {
        let mut t = self.slots.table();
        if let Some(n) = t.get_mut(&self.key) {
            *n = n.saturating_sub(1);
            if *n == 0 {
                t.remove(&self.key);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hostile_back_values_fall_back_to_the_root() {
        // Each of these is read by a browser (or a decoding proxy) as another host, a
        // scheme, or a path that is not what it looks like.
        let hostile = [
            "//evil.example/",
            "///evil.example/",
            "/\t/evil.example/",
            "/\n/evil.example/",
            "/\r\n/evil.example/",
            "\t//evil.example/",
            "\n/\t/evil.example/",
            " //evil.example/",
            " /x",
            "/\\evil.example/",
            "\\\\evil.example/",
            "\\/evil.example/",
            "/%09/evil.example/",
            "/%0a/evil.example/",
            "/%2F/evil.example/",
            "/%2f/evil.example/",
            "/%5Cevil.example/",
            "/%5cevil.example/",
            "%2F%2Fevil.example/",
            "https://evil.example/",
            "http:evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "evil.example",
            "",
            "/\u{0}/evil.example",
            "/\u{7f}/evil.example",
            "/\u{a0}/evil.example",
            "/\u{3000}/evil.example",
            "/\u{ff0f}evil.example",
            "/x\ty",
            "/x y",
        ];
        for h in hostile {
            assert_eq!(safe_back(Some(h)), "/", "{h:?} was accepted");
        }
        assert_eq!(safe_back(None), "/");
    }

    #[test]
    fn local_back_values_are_kept() {
        for ok in [
            "/",
            "/host?name=a",
            "/service?host=firestorm&service=TCP%20Wrappers",
            "/log?kind=alerts&text=%2F%2F",
            "/a//b",
            "/a/%2F%2Fb",
            "/denied#top",
        ] {
            assert_eq!(safe_back(Some(ok)), ok);
        }
    }

    #[test]
    fn percent_decoding_is_lenient() {
        assert_eq!(percent_decode_lossy("/%41%zz%4"), "/A%zz%4");
        assert_eq!(percent_decode_lossy("%"), "%");
        assert_eq!(percent_decode_lossy("/%2f"), "//");
    }

    #[test]
    fn tokens_compare_by_value() {
        assert!(token_eq(b"s3cret", b"s3cret"));
        assert!(!token_eq(b"s3cre", b"s3cret"));
        assert!(!token_eq(b"s3cretX", b"s3cret"));
        assert!(!token_eq(b"s3cres", b"s3cret"));
        assert!(!token_eq(b"", b"s3cret"));
        assert!(!token_eq(b"", b""));
        // A repetition of the token is not the token.
        assert!(!token_eq(b"abab", b"ab"));
    }

    fn ip(s: &str) -> IpAddr {
        s.parse().expect("ip")
    }

    #[test]
    fn a_source_is_limited_after_its_burst_and_recovers() {
        let limit = AuthLimit {
            burst: 3,
            refill: Duration::from_secs(2),
            max_sources: 16,
        };
        let mut l = AuthLimiter::new(limit);
        let t0 = Instant::now();
        let a = ip("192.0.2.1");
        for _ in 0..3 {
            assert_eq!(l.check(a, t0), Ok(()));
            l.failed(a, t0);
        }
        assert_eq!(l.check(a, t0), Err(Duration::from_secs(2)));
        assert_eq!(
            l.check(a, t0 + Duration::from_millis(500)),
            Err(Duration::from_millis(1500))
        );
        // Another source is not affected.
        assert_eq!(l.check(ip("192.0.2.2"), t0), Ok(()));
        // One failure more per refill period.
        let t1 = t0 + Duration::from_secs(2);
        assert_eq!(l.check(a, t1), Ok(()));
        l.failed(a, t1);
        assert!(l.check(a, t1).is_err());
        // The bucket fills up to the burst, no further.
        let t2 = t1 + Duration::from_secs(3600);
        for _ in 0..3 {
            assert_eq!(l.check(a, t2), Ok(()));
            l.failed(a, t2);
        }
        assert!(l.check(a, t2).is_err());
    }

    #[test]
    fn ipv6_sources_count_by_64_and_mapped_v4_as_v4() {
        let mut l = AuthLimiter::new(AuthLimit {
            burst: 1,
            refill: Duration::from_secs(60),
            max_sources: 16,
        });
        let t = Instant::now();
        l.failed(ip("2001:db8:1:2::1"), t);
        assert!(l.check(ip("2001:db8:1:2:ffff::9"), t).is_err());
        assert!(l.check(ip("2001:db8:1:3::1"), t).is_ok());
        l.failed(ip("::ffff:192.0.2.7"), t);
        assert!(l.check(ip("192.0.2.7"), t).is_err());
    }

    #[test]
    fn connections_per_source_are_capped_and_given_back() {
        let slots = SourceSlots::new(2);
        let a = ip("192.0.2.1");
        let a1 = slots.take(a).expect("first");
        let a2 = slots.take(a).expect("second");
        assert!(slots.take(a).is_none());
        // Another source, and another host in another /64, are not affected; the same /64 is.
        let b = slots.take(ip("192.0.2.2")).expect("other source");
        let v6 = slots.take(ip("2001:db8::1")).expect("v6");
        let _v6b = slots.take(ip("2001:db8::2")).expect("v6 same /64");
        assert!(slots.take(ip("2001:db8::3")).is_none());
        drop(a1);
        let a3 = slots.take(a).expect("a slot was given back");
        drop((a2, a3, b, v6, _v6b));
        assert_eq!(
            slots.sources(),
            0,
            "the table keeps only sources with connections"
        );
    }

    #[test]
    fn the_table_is_bounded_and_forgets_the_oldest() {
        let mut l = AuthLimiter::new(AuthLimit {
            burst: 1,
            refill: Duration::from_secs(60),
            max_sources: 4,
        });
        let t = Instant::now();
        for i in 0..4u8 {
            l.failed(
                IpAddr::from([10, 0, 0, i]),
                t + Duration::from_secs(u64::from(i)),
            );
        }
        assert_eq!(l.len(), 4);
        l.failed(ip("10.0.1.0"), t + Duration::from_secs(10));
        assert_eq!(l.len(), 4);
        // 10.0.0.0 failed longest ago and was forgotten; the others are still limited.
        let now = t + Duration::from_secs(10);
        assert!(l.check(ip("10.0.0.0"), now).is_ok());
        for i in 1..4u8 {
            assert!(l.check(IpAddr::from([10, 0, 0, i]), now).is_err());
        }
        // Refilled sources are dropped first.
        let later = t + Duration::from_secs(200);
        l.failed(ip("10.0.2.0"), later);
        assert_eq!(l.len(), 1);
    }
}
