//! Scan incidents from connection events: sans-I/O and deterministic, like the engine.
//!
//! Events ([`ConnectionEvent`]) and `now` go in through [`Correlator::observe`] and
//! [`Correlator::tick`]; [`Transition`]s come out and are drained by the caller
//! ([`Correlator::take_transitions`], [`Correlator::drain_into`]), who turns them into
//! passive results of an ordinary Nagios service. No clock, no I/O, no randomness: the same
//! configuration and the same `(now, event)` sequence give the same transitions, and
//! [`Correlator::snapshot`] / [`Correlator::restore`] resume in the middle of an incident.
//!
//! **Detectors** (defaults in [`Config::default`]; each is one incident):
//! * *horizontal*: a source refused by ≥ 3 distinct hosts within 10 min (the host is the
//!   reporter, or, for a firewall drop, its destination address: a gateway's firewall logs
//!   the drops of every host behind it);
//! * *vertical*: ≥ 4 distinct ports or daemons of one host within 5 min, or ≥ 15 ports
//!   counting firewall drops;
//! * *trap*: any touch of a configured trap port or daemon;
//! * *distributed*: ≥ 3 sources of one /24 (/64) hitting the same port on ≥ 2 hosts within
//!   1 min (the incident is keyed by the prefix);
//! * *slow*: ≥ 5 hosts, or ≥ 8 ports of one host, within 1 h (slow scans; see below).
//!
//! A single refused connection is never a scan (every threshold is at least 2).
//!
//! **Incidents**, keyed by source (or prefix): *opened* (notifies) → *updated* (counts,
//! hosts, ports; does not notify; at most one per `update_interval`) → *escalated* (a new
//! detector, or 100, 1000, ... hosts or ports; notifies once each) → *closed* after `quiet`
//! (30 min) without events (OK). An incident opened within `recurrence` (24 h) of the same
//! key's last close is marked as a recurrence. Events of a source with an open incident are
//! folded into it.
//!
//! **The lone-refusal hold**: an event that opens nothing and belongs to no open incident is
//! held for `hold` (30 s, at most 60) and then *released*: the caller notifies it as the
//! seed does (its `raw` output on its reporter). If an incident opens for its source (or
//! prefix) during the hold, it is folded in instead — so a sweep notifies once, not once per
//! host, and a lone refusal still notifies, at most `hold` late.
//!
//! **Exactly once, for the caller**: [`Correlator::observe_tagged`] says what became of an
//! event ([`Disposition`]: allow-listed, held, folded) and carries a tag of the caller's;
//! a held event comes back with its tag in its `released` transition or, when an incident
//! takes it, in a [`Folded`] report ([`Correlator::report_folds`], off by default). The
//! daemon keeps the original result under the tag, so a released refusal is processed
//! unchanged and a folded one is logged once as a `CONNECTION EVENT`.
//!
//! **Allow-lists** (`allow=` addresses and networks): such sources are counted and ignored —
//! neither correlated nor held nor released.
//!
//! **Unknown clients** (`Denied sshd-unknown`: the address was lost) are one source of their
//! own, [`Source::Unknown`]: counted in [`Stats::unknown_source`] and correlated like any
//! other, so a sweep whose addresses were lost is still one incident.
//!
//! **Bounded memory**: at most `max_sources` sources, `max_prefixes` (prefix, port) pairs,
//! `max_entries_per_source` observations per source, `max_incidents` open incidents,
//! `max_held` held refusals, `max_names` names, [`SET_CAP`] distinct values per incident.
//! At a cap the least recently seen source, pair or observation is evicted, the oldest held
//! refusal is released early and the oldest open incident is closed; every eviction is
//! counted in [`Stats`].
//!
//! **Slow scans, the trade-off**: the fast windows (10 min / 5 min) miss a sweep with more
//! than 5 min between probes (3 hosts must fall within 10 min); the slow detector (1 h)
//! catches it after 5 hosts, at the price of keeping each source's observations for 1 h
//! instead of 10 min, of more false positives from a legitimate client that is refused now
//! and then across the network, and of the early probes being notified one by one (the
//! hold cannot wait that long). Figures from `tests/traces.rs::slow_scan_trade_off` (a sweep
//! of 12 hosts, one probe every *gap*, default configuration):
//!
//! | gap | incident after | detector | lone refusals notified before it |
//! |---|---|---|---|
//! | 1 s | 2 s (3rd host) | horizontal | 0 |
//! | 60 s | 2 min | horizontal | 2 |
//! | 4 min | 8 min | horizontal | 2 |
//! | 6 min | 24 min (5th host) | slow | 4 |
//! | 12 min | 48 min | slow | 4 |
//! | 15 min | 60 min (the window's edge) | slow | 4 |
//! | 1000 s | never | — | 12 |
//!
//! Without the slow detector (`slow_window=0`) the 6-minute sweep is 12 lone refusals.
//! TRW (Jung et al. 2004) would decide after about 4 failed first contacts without a
//! window, but it needs the outcome of *successful* contacts too, which refusals alone do
//! not give; with refusals only it reduces to "k distinct hosts, unbounded memory".
//!
//! **Hostile input**: names are sanitized with libwrap's set ([`clean_name`]) and cut;
//! raw text is capped ([`event::RAW_CAP`]); outputs are cut to [`render::OUTPUT_CAP`];
//! the `Denied` parser ([`parse_denied`]) reads a bounded prefix and never panics.

#![forbid(unsafe_code)]

pub mod config;
mod correlator;
pub mod event;
mod lru;
pub mod net;
pub mod render;
mod small;

pub use config::{Config, ConfigError};
pub use correlator::{
    Correlator, DISPLAY, Detector, Disposition, Folded, IncidentKey, IncidentView, MAX_TIME,
    SET_CAP, SNAPSHOT_VERSION, Snapshot, Stats, Status, Transition, TransitionKind,
};
pub use event::{ConnectionEvent, DeniedError, Kind, Proto, Source, clean_name, parse_denied};
pub use net::Prefix;
