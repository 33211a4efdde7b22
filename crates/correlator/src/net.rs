//! Addresses and CIDR prefixes (allow-lists, /24 and /64 aggregation).

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use serde::{Deserialize, Serialize};

/// `::ffff:a.b.c.d` becomes `a.b.c.d`, so a client seen through a dual-stack socket and one
/// seen over IPv4 are the same source.
#[must_use]
pub fn canonical(ip: IpAddr) -> IpAddr {
    match ip {
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        },
        v4 => v4,
    }
}

/// A network: an address with its host bits cleared, and a prefix length.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Prefix {
    /// The network address (host bits zero).
    pub addr: IpAddr,
    /// Prefix length (0–32 for IPv4, 0–128 for IPv6).
    pub len: u8,
}

impl Prefix {
    /// The network of `len` bits containing `ip`; `None` if `len` is too long for the family.
    #[must_use]
    pub fn new(ip: IpAddr, len: u8) -> Option<Self> {
        let ip = canonical(ip);
        let addr = match ip {
            IpAddr::V4(v4) => {
                if len > 32 {
                    return None;
                }
                let mask = if len == 0 { 0 } else { u32::MAX << (32 - len) };
                IpAddr::V4(Ipv4Addr::from(u32::from(v4) & mask))
            }
            IpAddr::V6(v6) => {
                if len > 128 {
                    return None;
                }
                let mask = if len == 0 {
                    0
                } else {
                    u128::MAX << (128 - len)
                };
                IpAddr::V6(Ipv6Addr::from(u128::from(v6) & mask))
            }
        };
        Some(Prefix { addr, len })
    }

    /// Does the network contain `ip`?
    #[must_use]
    pub fn contains(&self, ip: IpAddr) -> bool {
        let ip = canonical(ip);
        ip.is_ipv4() == self.addr.is_ipv4() && Prefix::new(ip, self.len) == Some(*self)
    }

    /// Parses `ADDR` (a host: /32 or /128) or `ADDR/LEN`. Host bits must be zero, so that a
    /// typo such as `10.1.2.3/8` is caught instead of silently widened.
    pub fn parse(s: &str) -> Result<Self, String> {
        let (a, l) = match s.split_once('/') {
            Some((a, l)) => (a, Some(l)),
            None => (s, None),
        };
        let ip: IpAddr = a
            .parse()
            .map_err(|_| format!("\"{s}\" is not an address or network"))?;
        let ip = canonical(ip);
        let max = if ip.is_ipv4() { 32 } else { 128 };
        let len = match l {
            None => max,
            Some(l) => l
                .parse::<u8>()
                .ok()
                .filter(|n| *n <= max)
                .ok_or_else(|| format!("\"{s}\": prefix length must be 0-{max}"))?,
        };
        let p = Prefix::new(ip, len).ok_or_else(|| format!("\"{s}\": bad prefix"))?;
        if p.addr != ip {
            return Err(format!("\"{s}\" has host bits set (the network is {p})"));
        }
        Ok(p)
    }
}

impl fmt::Display for Prefix {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.addr, self.len)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes() {
        let p = Prefix::parse("192.0.2.0/24").expect("ok");
        assert!(p.contains("192.0.2.77".parse().expect("ip")));
        assert!(p.contains("::ffff:192.0.2.1".parse().expect("ip")));
        assert!(!p.contains("192.0.3.1".parse().expect("ip")));
        assert!(!p.contains("2001:db8::1".parse().expect("ip")));
        assert_eq!(Prefix::parse("10.0.0.7").expect("ok").len, 32);
        assert_eq!(
            Prefix::parse("10.1.2.3/8"),
            Err("\"10.1.2.3/8\" has host bits set (the network is 10.0.0.0/8)".into())
        );
        assert!(Prefix::parse("10.0.0.0/33").is_err());
        assert!(Prefix::parse("nope").is_err());
        let v6 = Prefix::new("2001:db8:1:2:3::9".parse().expect("ip"), 64).expect("ok");
        assert_eq!(v6.to_string(), "2001:db8:1:2::/64");
        assert_eq!(Prefix::parse("0.0.0.0/0").expect("ok").len, 0);
    }
}
