//! `picket-sensor`: turns a host's logs into connection events for Picket's correlator,
//! and into the seed's `Denied <daemon>-<client>` results for any NSCA server.
//!
//! * [`recognize`] (sans-I/O): lines in, [`picket_correlator::ConnectionEvent`]s out.
//! * [`aggregate`] (sans-I/O): floods become a handful of events per window.
//! * [`deliver`], [`follow`], [`spool`], [`state`] (edge): the sources, the spool and the
//!   two delivery paths used by the `picket-sensor` binary.

#![forbid(unsafe_code)]

pub mod aggregate;
pub mod recognize;

pub use aggregate::Aggregator;
pub use recognize::Recognizer;
pub mod deliver;
pub mod follow;
pub mod spool;
pub mod state;
