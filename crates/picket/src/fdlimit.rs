//! Open files: the soft `RLIMIT_NOFILE` raised to the hard limit at start, and a budget
//! that splits it between the listeners and everything else, so that no listener can
//! starve the others or the daemon's own files.
//!
//! Every connection costs a descriptor. Without a budget, idle connections to the web
//! port would take every descriptor up to the limit, and then NSCA accepts, the journal
//! after a snapshot, history and check commands all fail with `EMFILE`. With it, the web
//! server and the NSCA receiver each accept at most their share (more clients wait in
//! the kernel's listen backlog, costing the daemon nothing), and a reserve stays free for
//! the log, the journal and snapshots, the history database, the FIFO, `PROCESS_FILE`
//! and the commands the daemon runs.

/// Descriptors the daemon holds or opens briefly whatever its load: stdio, the log, the
/// journal and a snapshot being written, the history database (with its WAL and shm,
/// twice: the history thread and the web's read connection), the FIFO, the runtime's
/// epoll and wake-up descriptors, signal pipes, `PROCESS_FILE`, `/dev/null` for
/// commands.
pub(crate) const FIXED_RESERVE: u64 = 64;

/// How the open-file limit is shared.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Budget {
    /// The soft limit in effect.
    pub(crate) limit: u64,
    /// Connections the web server serves at once.
    pub(crate) web: usize,
    /// Connections the NSCA receiver serves at once.
    pub(crate) nsca: usize,
    /// Left for the daemon's files and the commands it runs.
    pub(crate) reserve: u64,
}

impl Budget {
    /// Split `limit`: a fixed reserve, a quarter of the rest for commands (checks,
    /// notifications: their pipes), then the NSCA receiver a third and the web server
    /// two thirds of what remains. NSCA never gets more than `nsca_max` (its own
    /// `max_connections`); what it does not take goes to the web. Sans-I/O.
    /// The web server's connection cap: `web_max_connections` (0: the web crate's
    /// default), never more than the web's share of the budget.
    pub(crate) fn web_cap(&self, configured: u32) -> usize {
        let configured = match usize::try_from(configured) {
            Ok(0) | Err(_) => picket_web::WebConfig::DEFAULT_MAX_CONNECTIONS,
            Ok(n) => n,
        };
        configured.min(self.web)
    }

    /// Livestatus' connection cap: `wanted`, never more than half of the web's share,
    /// which shrinks by what Livestatus takes (the reserve is untouched).
    pub(crate) fn take_for_livestatus(&mut self, wanted: usize) -> usize {
        let take = wanted.min(self.web / 2).max(1);
        self.web = self.web.saturating_sub(take).max(1);
        take
    }

    pub(crate) fn split(limit: u64, nsca: Option<usize>) -> Budget {
        let rest = limit.saturating_sub(FIXED_RESERVE);
        let commands = rest / 4;
        let listeners = rest - commands;
        let nsca = nsca.map_or(0, |max| {
            usize::try_from(listeners / 3)
                .unwrap_or(usize::MAX)
                .min(max)
                .max(1)
        });
        let web = usize::try_from(listeners.saturating_sub(nsca as u64))
            .unwrap_or(usize::MAX)
            .max(1);
        Budget {
            limit,
            web,
            nsca,
            reserve: limit.saturating_sub(web as u64 + nsca as u64),
        }
    }
}

/// What [`raise_nofile`] did.
#[derive(Debug)]
pub(crate) struct Raised {
    /// The soft limit found.
    pub(crate) before: u64,
    /// The soft limit in effect now (the budget is split from it).
    pub(crate) after: u64,
    /// Why it could not be read or raised.
    pub(crate) error: Option<std::io::Error>,
}

/// Raise the soft `RLIMIT_NOFILE` to the hard limit. When that fails the limit in
/// effect stays (1,024 when it cannot even be read) and the error is returned with it.
pub(crate) fn raise_nofile() -> Raised {
    use nix::sys::resource::{Resource, getrlimit, setrlimit};
    let (soft, hard) = match getrlimit(Resource::RLIMIT_NOFILE) {
        Ok(l) => l,
        Err(e) => {
            return Raised {
                before: 1024,
                after: 1024,
                error: Some(e.into()),
            };
        }
    };
    let error = if soft < hard {
        setrlimit(Resource::RLIMIT_NOFILE, hard, hard).err()
    } else {
        None
    };
    Raised {
        before: soft,
        after: if soft < hard && error.is_none() {
            hard
        } else {
            soft
        },
        error: error.map(Into::into),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_listeners_and_the_reserve_never_exceed_the_limit() {
        for limit in [0, 1, 64, 100, 256, 1024, 4096, 65_536, 1 << 20] {
            for nsca in [None, Some(1), Some(4096)] {
                let b = Budget::split(limit, nsca);
                assert!(b.web >= 1, "{b:?}");
                assert_eq!(b.nsca > 0, nsca.is_some(), "{b:?}");
                if limit >= 256 {
                    assert!(b.web as u64 + b.nsca as u64 + b.reserve == limit, "{b:?}");
                    assert!(b.reserve >= FIXED_RESERVE + (limit - FIXED_RESERVE) / 4);
                }
            }
        }
    }

    #[test]
    fn livestatus_takes_from_the_web_share_only() {
        let mut b = Budget::split(1024, Some(100));
        let (web, reserve, nsca) = (b.web, b.reserve, b.nsca);
        let ls = b.take_for_livestatus(128);
        assert_eq!(ls, 128);
        assert_eq!(b.web, web - 128);
        assert_eq!((b.reserve, b.nsca), (reserve, nsca));
        let mut small = Budget::split(128, None);
        let web = small.web;
        let ls = small.take_for_livestatus(128);
        assert_eq!(ls, web / 2);
        assert!(small.web + ls <= web);
    }

    #[test]
    fn shares_at_the_usual_limits() {
        assert_eq!(
            Budget::split(1024, Some(4096)),
            Budget {
                limit: 1024,
                web: 480,
                nsca: 240,
                reserve: 304,
            }
        );
        // NSCA's own max_connections caps its share; the web gets the rest.
        let b = Budget::split(1024, Some(16));
        assert_eq!((b.nsca, b.web), (16, 704));
        // Without NSCA the web takes both shares.
        assert_eq!(Budget::split(1024, None).web, 720);
    }
}
