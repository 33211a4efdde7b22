//! Plugin outputs for transitions, e.g.
//! `203.0.113.5 scanned 16 hosts on tcp/22 (web1, web2, web3, web4, web5, ...) since 12:01:07`.
//!
//! Every name in a view was sanitized when its event was taken in ([`crate::clean_name`]);
//! the output is cut to [`OUTPUT_CAP`] bytes (NSCA's output field is 512).

use crate::correlator::{Detector, IncidentKey, IncidentView};
use crate::event::floor_char_boundary;

/// The longest output, in bytes.
pub const OUTPUT_CAP: usize = 400;
/// Names listed in an output before `...`.
pub const LISTED: usize = 5;

/// `HH:MM:SS` of `t` shifted by `utc_offset` seconds.
#[must_use]
pub fn clock(t: i64, utc_offset: i32) -> String {
    let s = t.saturating_add(i64::from(utc_offset)).rem_euclid(86_400);
    format!("{:02}:{:02}:{:02}", s / 3600, s / 60 % 60, s % 60)
}

fn list(names: &[String], total: usize) -> String {
    let mut s = names
        .iter()
        .take(LISTED)
        .map(String::as_str)
        .collect::<Vec<_>>()
        .join(", ");
    if total > LISTED.min(names.len()) {
        s.push_str(", ...");
    }
    s
}

fn who(v: &IncidentView) -> String {
    match &v.key {
        IncidentKey::Prefix(p) => format!("{p} ({} sources)", v.source_count),
        k => k.to_string(),
    }
}

fn what(v: &IncidentView) -> String {
    let one_port = v.ports.first().cloned().unwrap_or_else(|| "?".to_string());
    let trap = if v.detectors.contains(&Detector::Trap) {
        "trap port "
    } else {
        ""
    };
    if v.host_count >= 2 {
        let on = if v.port_count <= 1 {
            format!("{trap}{one_port}")
        } else {
            format!("{} ports", v.port_count)
        };
        format!(
            "scanned {} hosts on {on} ({})",
            v.host_count,
            list(&v.hosts, v.host_count)
        )
    } else {
        let host = v.hosts.first().map_or("?", String::as_str);
        if v.port_count >= 2 {
            format!(
                "scanned {} ports on {host} ({})",
                v.port_count,
                list(&v.ports, v.port_count)
            )
        } else {
            format!("touched {trap}{one_port} on {host}")
        }
    }
}

/// Cuts `s` to [`OUTPUT_CAP`] bytes (ending in `...` when cut).
#[must_use]
pub fn cap(mut s: String) -> String {
    if s.len() > OUTPUT_CAP {
        let cut = floor_char_boundary(&s, OUTPUT_CAP - 3);
        s.truncate(cut);
        s.push_str("...");
    }
    s
}

/// The output of an open incident (opened, updated, escalated).
#[must_use]
pub fn incident(v: &IncidentView, utc_offset: i32) -> String {
    let mut s = format!(
        "{} {} since {}",
        who(v),
        what(v),
        clock(v.first_seen, utc_offset)
    );
    if v.recurrence {
        s.push_str(" (recurrence)");
    }
    cap(s)
}

/// The output of a closed incident.
#[must_use]
pub fn closed(v: &IncidentView, utc_offset: i32) -> String {
    cap(format!(
        "{} quiet since {}: {} from {} ({} connections)",
        who(v),
        clock(v.last_seen, utc_offset),
        what(v),
        clock(v.first_seen, utc_offset),
        v.events
    ))
}
