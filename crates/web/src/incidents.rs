//! Scan incidents and connection events: `GET /api/incidents`, `GET /api/incidents/{id}`,
//! and the pages `/incidents`, `/incidents/{id}` and `/source/{addr}` (with the timeline
//! chart of [`crate::timeline`]).
//!
//! Everything is read from the history [`Store`](picket_history::Store) (contract C3:
//! `incidents`, `incident`, `connection_events`), with the same rules as the other
//! history reads: no login needed, 404 `{"error": "history is not enabled"}` without a
//! history database. Lists are bounded ([`MAX_LIMIT`]) and paged by id (`before=`).

use axum::extract::{Path, Query as QueryParams, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{Html, IntoResponse, Response};
use maud::{Markup, html};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::model::StatusView;
use crate::pages::{self, enc, fmt_age, fmt_time};
use crate::timeline::{self, Mark, Span};
use crate::{HistError, Peer, WebState, logged_in, with_history};
use picket_history::{ConnEventQuery, ConnEventRow, IncidentQuery, IncidentRow};

/// The most incidents one request lists.
pub(crate) const MAX_LIMIT: usize = 1000;
/// Incidents listed when `limit=` is not given.
pub(crate) const DEFAULT_LIMIT: usize = 100;
/// Events read for a chart (the newest; [`timeline::MAX_MARKS`] are drawn).
const CHART_EVENTS: usize = timeline::MAX_MARKS;
/// Events listed in a page's table and in `/api/incidents/{id}`.
const TABLE_EVENTS: usize = 200;
/// Events returned by `/api/incidents/{id}` at most.
const API_EVENTS: usize = 1000;

// ---------------------------------------------------------------- JSON

fn state_name(open: bool) -> &'static str {
    if open { "open" } else { "closed" }
}

/// An incident as the API shows it.
pub(crate) fn incident_json(r: &IncidentRow) -> Value {
    json!({
        "id": r.id,
        "source": r.key,
        "kind": r.detectors,
        "state": state_name(r.open),
        "first_seen": r.first_seen,
        "last_seen": r.last_seen,
        "hosts": r.hosts,
        "host_count": r.host_count,
        "ports": r.ports,
        "port_count": r.port_count,
        "daemons": r.daemons,
        "source_count": r.source_count,
        "events": r.events,
        "recurrence": r.recurrence,
        "last_transition": r.last_transition,
        "output": r.last_output,
        "updated": r.updated,
    })
}

/// `tcp/22`, `22`, `tcp`, or `None`.
fn port_label(proto: Option<&str>, port: Option<u16>) -> Option<String> {
    match (proto.filter(|p| !p.is_empty() && *p != "-"), port) {
        (Some(p), Some(n)) => Some(format!("{p}/{n}")),
        (None, Some(n)) => Some(n.to_string()),
        (Some(p), None) => Some(p.to_owned()),
        (None, None) => None,
    }
}

/// A connection event as the API shows it.
pub(crate) fn event_json(e: &ConnEventRow) -> Value {
    json!({
        "time": e.time,
        "reporter": e.reporter,
        "source": e.source,
        "proto": e.proto,
        "port": e.port,
        "daemon": e.daemon,
        "kind": e.kind,
        "count": e.count,
        "raw": e.raw,
    })
}

// ---------------------------------------------------------------- parameters

/// Filters of `/api/incidents` and `/incidents`.
#[derive(Debug, Default, Deserialize)]
pub(crate) struct IncidentParams {
    /// `open` or `closed`.
    pub(crate) state: Option<String>,
    /// The incident's key (source address, name, prefix or `unknown`).
    pub(crate) source: Option<String>,
    pub(crate) limit: Option<usize>,
    /// Only incidents with a smaller id (paging).
    pub(crate) before: Option<u64>,
}

fn incident_query(p: &IncidentParams) -> Result<IncidentQuery, String> {
    let open = match p.state.as_deref().map(str::trim) {
        None | Some("") | Some("all") => None,
        Some("open") => Some(true),
        Some("closed") => Some(false),
        Some(other) => {
            return Err(format!(
                "invalid state `{}`: expected open, closed or all",
                pages::cut(other, 40)
            ));
        }
    };
    Ok(IncidentQuery {
        open,
        key: p.source.clone().filter(|s| !s.is_empty()),
        limit: p.limit.unwrap_or(DEFAULT_LIMIT).clamp(1, MAX_LIMIT),
        before_id: p.before,
    })
}

/// The events of an incident: its key between its first and last event.
fn incident_events_query(r: &IncidentRow, limit: usize) -> ConnEventQuery {
    ConnEventQuery {
        source: Some(r.key.clone()),
        since: Some(r.first_seen),
        until: Some(r.last_seen),
        limit,
    }
}

fn bad_request(msg: String) -> Response {
    (StatusCode::BAD_REQUEST, axum::Json(json!({ "error": msg }))).into_response()
}

// ---------------------------------------------------------------- API handlers

pub(crate) async fn api_incidents(
    State(s): State<WebState>,
    QueryParams(p): QueryParams<IncidentParams>,
) -> Response {
    let q = match incident_query(&p) {
        Ok(q) => q,
        Err(e) => return bad_request(e),
    };
    match with_history(&s, move |st| st.incidents(&q)).await {
        Ok(rows) => {
            axum::Json(Value::Array(rows.iter().map(incident_json).collect())).into_response()
        }
        Err(e) => e.into_response(),
    }
}

pub(crate) async fn api_incident(State(s): State<WebState>, Path(id): Path<String>) -> Response {
    let Ok(id) = id.parse::<u64>() else {
        return (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "no such incident" })),
        )
            .into_response();
    };
    let res = with_history(&s, move |st| {
        let Some(r) = st.incident(id)? else {
            return Ok(None);
        };
        let ev = st.connection_events(&incident_events_query(&r, API_EVENTS + 1))?;
        Ok(Some((r, ev)))
    })
    .await;
    match res {
        Ok(Some((r, mut ev))) => {
            let truncated = ev.len() > API_EVENTS;
            ev.truncate(API_EVENTS);
            let mut v = incident_json(&r);
            v["events_truncated"] = json!(truncated);
            v["connection_events"] = Value::Array(ev.iter().map(event_json).collect());
            axum::Json(v).into_response()
        }
        Ok(None) => (
            StatusCode::NOT_FOUND,
            axum::Json(json!({ "error": "no such incident", "id": id })),
        )
            .into_response(),
        Err(e) => e.into_response(),
    }
}

// ---------------------------------------------------------------- UI handlers

pub(crate) async fn ui_incidents(
    State(s): State<WebState>,
    peer: Peer,
    h: HeaderMap,
    QueryParams(p): QueryParams<IncidentParams>,
) -> Response {
    let li = logged_in(&s, peer, &h);
    let now = s.backend.status().now;
    let q = match incident_query(&p) {
        Ok(q) => q,
        Err(e) => {
            return (
                StatusCode::BAD_REQUEST,
                Html(pages::message("Bad request", &e, li).into_string()),
            )
                .into_response();
        }
    };
    // Without a state filter: every open incident first, then the recent closed ones.
    let lists = if q.open.is_none() && p.before.is_none() {
        let (open_q, closed_q) = (
            IncidentQuery {
                open: Some(true),
                limit: MAX_LIMIT,
                ..q.clone()
            },
            IncidentQuery {
                open: Some(false),
                ..q.clone()
            },
        );
        with_history(&s, move |st| {
            Ok((Some(st.incidents(&open_q)?), st.incidents(&closed_q)?))
        })
        .await
    } else {
        let q2 = q.clone();
        with_history(&s, move |st| Ok((None, st.incidents(&q2)?))).await
    };
    Html(incidents_page(now, &p, &q, lists.ok().as_ref(), li).into_string()).into_response()
}

pub(crate) async fn ui_incident(
    State(s): State<WebState>,
    peer: Peer,
    h: HeaderMap,
    Path(id): Path<String>,
) -> Response {
    let li = logged_in(&s, peer, &h);
    let st = s.backend.status();
    let Ok(id) = id.parse::<u64>() else {
        return crate::not_found("No such incident.", li);
    };
    let res = with_history(&s, move |store| {
        let Some(r) = store.incident(id)? else {
            return Ok(None);
        };
        let ev = store.connection_events(&incident_events_query(&r, CHART_EVENTS))?;
        Ok(Some((r, ev)))
    })
    .await;
    match res {
        Ok(Some((r, ev))) => {
            let svc = s
                .backend
                .incident_service()
                .or_else(|| guess_service(&st, &r));
            Html(incident_page(&r, &ev, svc, li).into_string()).into_response()
        }
        Ok(None) => crate::not_found("No such incident.", li),
        Err(HistError::Disabled) => crate::not_found("History is not enabled.", li),
        Err(HistError::Failed(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html(pages::message("History error", &e, li).into_string()),
        )
            .into_response(),
    }
}

pub(crate) async fn ui_source(
    State(s): State<WebState>,
    peer: Peer,
    h: HeaderMap,
    Path(addr): Path<String>,
) -> Response {
    let li = logged_in(&s, peer, &h);
    let now = s.backend.status().now;
    let key = addr.clone();
    let res = with_history(&s, move |st| {
        // The address's own incidents and those of its network (distributed scans).
        let mut inc = Vec::new();
        for k in std::iter::once(key.clone()).chain(network_key(&key)) {
            inc.extend(st.incidents(&IncidentQuery {
                open: None,
                key: Some(k),
                limit: 100,
                before_id: None,
            })?);
        }
        inc.sort_by_key(|r| std::cmp::Reverse(r.id));
        let ev = st.connection_events(&ConnEventQuery {
            source: Some(key),
            since: None,
            until: None,
            limit: CHART_EVENTS,
        })?;
        Ok((inc, ev))
    })
    .await;
    match res {
        Ok((inc, ev)) => Html(source_page(now, &addr, &inc, &ev, li).into_string()).into_response(),
        Err(HistError::Disabled) => crate::not_found("History is not enabled.", li),
        Err(HistError::Failed(e)) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            Html(pages::message("History error", &e, li).into_string()),
        )
            .into_response(),
    }
}

/// The key of a distributed-scan incident covering address `s`: its /24 (IPv4) or /64
/// (IPv6), written as the correlator writes prefix keys; `None` for names and prefixes.
fn network_key(s: &str) -> Option<String> {
    match s.parse::<std::net::IpAddr>().ok()? {
        std::net::IpAddr::V4(a) => {
            let [x, y, z, _] = a.octets();
            Some(format!("{x}.{y}.{z}.0/24"))
        }
        std::net::IpAddr::V6(a) => {
            let seg = a.segments();
            let net = std::net::Ipv6Addr::new(seg[0], seg[1], seg[2], seg[3], 0, 0, 0, 0);
            Some(format!("{net}/64"))
        }
    }
}

/// Without the daemon's word on it: the one service whose current output is this
/// incident's last output (the incident service shows its latest transition).
fn guess_service(st: &StatusView, r: &IncidentRow) -> Option<(String, String)> {
    if r.last_output.is_empty() {
        return None;
    }
    let mut it = st.services.iter().filter(|s| s.output == r.last_output);
    let one = it.next()?;
    it.next()
        .is_none()
        .then(|| (one.host.clone(), one.description.clone()))
}

// ---------------------------------------------------------------- pages

pub(crate) fn source_url(key: &str) -> String {
    format!("/source/{}", enc(key))
}

fn incident_url(id: u64) -> String {
    format!("/incidents/{id}")
}

fn state_badge(r: &IncidentRow) -> Markup {
    html! {
        span class=(format!("st {}", state_name(r.open))) { (state_name(r.open)) }
        @if r.recurrence { span.badge title="a recurrence within 24 h of an earlier incident from this source" { "recurrence" } }
    }
}

fn kinds(r: &IncidentRow) -> Markup {
    html! { @for d in &r.detectors { span.badge { (d) } } }
}

/// A list shown in full up to `DISPLAY` items, with "+N" when the count is larger.
fn list_more(items: &[String], total: u64, link_hosts: bool) -> Markup {
    let more = total.saturating_sub(items.len() as u64);
    html! {
        @for (i, x) in items.iter().enumerate() {
            @if i > 0 { ", " }
            @if link_hosts { a href=(format!("/host?name={}", enc(x))) { (x) } } @else { (x) }
        }
        @if more > 0 { " " span.muted { "+" (more) } }
    }
}

fn incident_table(now: i64, rows: &[IncidentRow], id: &str) -> Markup {
    html! {
        table id=(id) .incidents {
            tr { th { "#" } th { "Source" } th { "Kind" } th { "Hosts" } th { "Ports" } th { "Events" } th { "First seen" } th { "Last seen" } th { "State" } }
            @for r in rows {
                tr class=(if r.open { "open" } else { "closed" }) {
                    td { a href=(incident_url(r.id)) { (r.id) } }
                    td { a href=(source_url(&r.key)) { (r.key) }
                         @if r.source_count > 1 { " " span.muted { "(" (r.source_count) " sources)" } } }
                    td { (kinds(r)) }
                    td { span.count { (r.host_count) } " " span.muted { (list_more(&r.hosts, r.host_count, false)) } }
                    td { span.count { (r.port_count) } " " span.muted { (list_more(&r.ports, r.port_count, false)) } }
                    td.count { (r.events) }
                    td.t { (fmt_time(r.first_seen)) }
                    td.t { (fmt_time(r.last_seen)) " " span.muted { "(" (fmt_age(now, Some(r.last_seen))) " ago)" } }
                    td { (state_badge(r)) }
                }
            }
        }
    }
}

fn incidents_page(
    now: i64,
    p: &IncidentParams,
    q: &IncidentQuery,
    lists: Option<&(Option<Vec<IncidentRow>>, Vec<IncidentRow>)>,
    li: bool,
) -> Markup {
    let source = p.source.clone().unwrap_or_default();
    let state = match q.open {
        Some(true) => "open",
        Some(false) => "closed",
        None => "all",
    };
    pages::layout(
        "Scan incidents",
        li,
        html! {
            p.muted { "One incident per scanning source (or prefix), across every host: horizontal sweeps, vertical port scans, trap ports, distributed scans." }
            form.inline method="get" action="/incidents" {
                select name="state" {
                    @for (k, label) in [("all", "Open, then recent closed"), ("open", "Open"), ("closed", "Closed")] {
                        option value=(k) selected[k == state] { (label) }
                    }
                }
                input name="source" placeholder="source address" value=(source);
                button type="submit" { "Filter" }
            }
            div #status { @match lists {
                None => p.muted { "History is not enabled." },
                Some((open, rest)) => {
                    @if let Some(open) = open {
                        p #incidents-summary { (open.len()) " open, " (rest.len()) " recently closed." }
                        h2 { "Open" }
                        @if open.is_empty() { p.ok { "No open incident." } } @else { (incident_table(now, open, "incidents-open")) }
                        h2 { "Recently closed" }
                        @if rest.is_empty() { p.muted { "None." } } @else { (incident_table(now, rest, "incidents-closed")) }
                    } @else {
                        p #incidents-summary { (rest.len()) " incidents (" (state) ")." }
                        @if rest.is_empty() { p.muted { "None." } } @else { (incident_table(now, rest, "incidents")) }
                    }
                    @if rest.len() >= q.limit {
                        @if let Some(last) = rest.last() {
                            p { a href=(format!("/incidents?state={}&source={}&limit={}&before={}",
                                    if state == "all" { "closed" } else { state }, enc(&source), q.limit, last.id)) { "Older →" } }
                        }
                    }
                }
            } }
        },
    )
}

fn marks(events: &[ConnEventRow]) -> Vec<Mark> {
    events
        .iter()
        .map(|e| Mark {
            time: e.time,
            host: e.reporter.clone(),
            port: port_label(e.proto.as_deref(), e.port),
            kind: e.kind.clone(),
            count: e.count,
            detail: [e.daemon.clone().unwrap_or_default(), e.raw.clone()]
                .into_iter()
                .filter(|x| !x.is_empty())
                .collect::<Vec<_>>()
                .join(": "),
        })
        .collect()
}

fn spans(incidents: &[IncidentRow]) -> Vec<Span> {
    incidents
        .iter()
        .map(|r| Span {
            id: r.id,
            start: r.first_seen,
            end: r.last_seen,
            open: r.open,
            label: format!(
                "incident #{} ({}): {} events, {} hosts, {} ports",
                r.id,
                r.detectors.join(", "),
                r.events,
                r.host_count,
                r.port_count
            ),
        })
        .collect()
}

fn event_table(events: &[ConnEventRow]) -> Markup {
    let shown = &events[..events.len().min(TABLE_EVENTS)];
    html! {
        table #events {
            tr { th { "Time" } th { "Reported by" } th { "Port" } th { "Daemon" } th { "Kind" } th { "Count" } th { "Raw" } }
            @for e in shown {
                tr {
                    td.t { (fmt_time(e.time)) }
                    td { a href=(format!("/host?name={}", enc(&e.reporter))) { (e.reporter) } }
                    td { (port_label(e.proto.as_deref(), e.port).unwrap_or_default()) }
                    td { (e.daemon.as_deref().unwrap_or("")) }
                    td { span class=(format!("kd {}", match e.kind.as_str() { "refused" => "k-refused", "firewall_drop" => "k-drop", "auth_fail" => "k-auth", "trap" => "k-trap", _ => "k-other" })) {} " " (e.kind) }
                    td.count { (e.count) }
                    td.out { (e.raw) }
                }
            }
        }
        @if events.len() > shown.len() { p.muted { "Newest " (shown.len()) " of " (events.len()) " events read." } }
    }
}

/// An acknowledgement form for the incident service, one click when logged in.
fn ack_box(r: &IncidentRow, svc: Option<&(String, String)>, li: bool) -> Markup {
    let back = incident_url(r.id);
    html! {
        h2 { "Incident service" }
        @match svc {
            Some((host, service)) => {
                p { "Transitions of this incident are results of "
                    a href=(format!("/service?host={}&service={}", enc(host), enc(service))) { (service) }
                    " on " a href=(format!("/host?name={}", enc(host))) { (host) }
                    ". Acknowledging it silences its updates until it recovers." }
                @if li {
                    (pages::ack_form(host, Some(service), &back, &format!("scan incident #{} from {}", r.id, r.key)))
                } @else {
                    p.muted { a href=(format!("/login?back={}", enc(&back))) { "Log in" } " to acknowledge it." }
                }
            }
            None => p.muted { "The web server does not know which service carries incidents (the detection configuration's network host and service): acknowledge it from its service page." },
        }
    }
}

fn incident_page(
    r: &IncidentRow,
    events: &[ConnEventRow],
    svc: Option<(String, String)>,
    li: bool,
) -> Markup {
    let (chart, _) = timeline::render(&marks(events), &spans(std::slice::from_ref(r)));
    pages::layout(
        &format!("Incident #{} — {}", r.id, r.key),
        li,
        html! {
            dl.facts #incident {
                dt { "Source" } dd { a href=(source_url(&r.key)) { (r.key) }
                    @if r.source_count > 1 { " " span.muted { "(" (r.source_count) " sources)" } } }
                dt { "State" } dd { (state_badge(r)) " " span.muted { "last transition: " (r.last_transition) } }
                dt { "Kind" } dd { (kinds(r)) }
                dt { "Seen" } dd { (fmt_time(r.first_seen)) " — " (fmt_time(r.last_seen))
                    " " span.muted { "(" (fmt_age(r.last_seen, Some(r.first_seen))) ")" } }
                dt { "Events" } dd { (r.events) }
                dt { "Hosts" } dd { (r.host_count) ": " (list_more(&r.hosts, r.host_count, true)) }
                dt { "Ports" } dd { (r.port_count) ": " (list_more(&r.ports, r.port_count, false)) }
                dt { "Daemons" } dd { (r.daemons.join(", ")) }
                dt { "Output" } dd.out { (r.last_output) }
            }
            (ack_box(r, svc.as_ref(), li))
            h2 { "Timeline" }
            (chart)
            h2 { "Events" }
            @if events.is_empty() { p.muted { "No connection events recorded in this incident's time range." } } @else { (event_table(events)) }
        },
    )
}

fn source_page(
    now: i64,
    addr: &str,
    incidents: &[IncidentRow],
    events: &[ConnEventRow],
    li: bool,
) -> Markup {
    let (chart, drawn) = timeline::render(&marks(events), &spans(incidents));
    let total: u64 = events.iter().map(|e| u64::from(e.count)).sum();
    let hosts: std::collections::BTreeSet<&str> =
        events.iter().map(|e| e.reporter.as_str()).collect();
    pages::layout(
        &format!("Source {addr}"),
        li,
        html! {
            p #source-summary {
                (events.len()) " events (" (total) " connections) reported by " (hosts.len()) " hosts"
                @if let (Some(first), Some(last)) = (events.iter().map(|e| e.time).min(), events.iter().map(|e| e.time).max()) {
                    ", " (fmt_time(first)) " — " (fmt_time(last))
                }
                "; " (incidents.len()) " incidents."
                @if events.len() >= CHART_EVENTS { " " span.muted { "(the newest " (CHART_EVENTS) " events)" } }
                " " a href=(format!("/log?kind=all&text={}", enc(addr))) { "Log entries" }
            }
            (chart)
            @if drawn.marks > 0 { }
            h2 { "Incidents" }
            @if incidents.is_empty() { p.muted { "No incident from this source." } } @else { (incident_table(now, incidents, "source-incidents")) }
            h2 { "Events" }
            @if events.is_empty() { p.muted { "No connection events recorded for this source." } } @else { (event_table(events)) }
        },
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn inc(id: u64, open: bool) -> IncidentRow {
        IncidentRow {
            id,
            key: "203.0.113.5".into(),
            detectors: vec!["horizontal".into()],
            open,
            first_seen: 1_700_000_000,
            last_seen: 1_700_000_300,
            events: 16,
            hosts: vec!["web1".into(), "<b>web2</b>".into()],
            host_count: 16,
            ports: vec!["tcp/22".into()],
            port_count: 1,
            daemons: vec!["sshd".into()],
            source_count: 1,
            recurrence: false,
            last_transition: "opened".into(),
            last_output: "203.0.113.5 scanned 16 hosts on tcp/22".into(),
            updated: 1_700_000_300,
        }
    }

    #[test]
    fn json_has_the_contract_fields() {
        let v = incident_json(&inc(3, true));
        for k in [
            "id",
            "source",
            "kind",
            "state",
            "first_seen",
            "last_seen",
            "hosts",
            "ports",
            "daemons",
            "events",
            "recurrence",
        ] {
            assert!(v.get(k).is_some(), "missing {k}: {v}");
        }
        assert_eq!(v["state"], "open");
        assert_eq!(v["source"], "203.0.113.5");
        assert_eq!(v["kind"][0], "horizontal");
    }

    #[test]
    fn query_bounds_and_states() {
        let q = incident_query(&IncidentParams {
            limit: Some(1_000_000),
            state: Some("closed".into()),
            ..Default::default()
        })
        .expect("q");
        assert_eq!(q.limit, MAX_LIMIT);
        assert_eq!(q.open, Some(false));
        assert_eq!(
            incident_query(&IncidentParams {
                limit: Some(0),
                ..Default::default()
            })
            .expect("q")
            .limit,
            1
        );
        assert!(
            incident_query(&IncidentParams {
                state: Some("<x>".into()),
                ..Default::default()
            })
            .is_err()
        );
    }

    #[test]
    fn ports_and_urls() {
        assert_eq!(port_label(Some("tcp"), Some(22)).as_deref(), Some("tcp/22"));
        assert_eq!(port_label(Some("-"), None), None);
        assert_eq!(port_label(None, Some(7)).as_deref(), Some("7"));
        assert_eq!(source_url("203.0.113.0/24"), "/source/203.0.113.0%2F24");
        assert_eq!(
            network_key("203.0.113.5").as_deref(),
            Some("203.0.113.0/24")
        );
        assert_eq!(
            network_key("2001:db8:1:2:3::7").as_deref(),
            Some("2001:db8:1:2::/64")
        );
        assert_eq!(network_key("203.0.113.0/24"), None);
        assert_eq!(network_key("unknown"), None);
    }

    #[test]
    fn pages_escape_names() {
        let st = StatusView {
            now: 1_700_000_400,
            ..Default::default()
        };
        let ev = [ConnEventRow {
            time: 1_700_000_100,
            reporter: "<script>x</script>".into(),
            source: "203.0.113.5".into(),
            proto: Some("tcp".into()),
            port: Some(22),
            daemon: Some("sshd".into()),
            kind: "refused".into(),
            count: 1,
            raw: "<img src=x>".into(),
        }];
        let s = incident_page(&inc(1, true), &ev, None, false).into_string();
        assert!(!s.contains("<script>x"), "{s}");
        assert!(!s.contains("<img"), "{s}");
        assert!(!s.contains("<b>web2"), "{s}");
        let s = source_page(st.now, "<x>", &[inc(1, false)], &ev, false).into_string();
        assert!(!s.contains("<x>"), "{s}");
        assert!(s.contains("<svg"), "{s}");
    }
}
