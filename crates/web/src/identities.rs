//! The Identities page (`/identities`) and `GET /api/identities`: every
//! identity that may submit (API identities, NSCA-ng identities seen by the
//! daemon, the unscoped `web_token_file` token once used), its counts by
//! path and outcome and its last accepted submission, from the
//! [`picket_authz::Ledger`].

use axum::extract::State;
use axum::http::HeaderMap;
use axum::response::{Html, IntoResponse, Response};
use maud::html;
use picket_authz::{IdentityStats, Outcome};

use crate::pages::{self, fmt_age, fmt_time};
use crate::{Peer, WebState, logged_in, unix_now};

fn total(st: &IdentityStats, o: Outcome) -> u64 {
    st.counts
        .iter()
        .filter(|((_, oc), _)| *oc == o)
        .map(|(_, n)| n)
        .sum()
}

fn rows(s: &WebState) -> Vec<(String, IdentityStats)> {
    let l = match s.ledger.lock() {
        Ok(l) => l,
        Err(p) => p.into_inner(),
    };
    l.identities()
        .map(|(k, v)| (k.to_string(), v.clone()))
        .collect()
}

pub(crate) async fn ui_identities(State(s): State<WebState>, peer: Peer, h: HeaderMap) -> Response {
    let li = logged_in(&s, peer, &h);
    let now = unix_now();
    let rows = rows(&s);
    let body = html! {
        p.muted { "Who may submit results and commands, through which path, and what happened to their submissions." }
        table {
            thead { tr {
                th { "Identity" } th { "Last submission" } th { "Via" } th { "Object" }
                th { "Accepted" } th { "Refused (unauthorized)" } th { "Bad key" } th { "Malformed" }
            } }
            tbody {
                @for (id, st) in &rows {
                    tr {
                        td { (id) }
                        @match &st.last {
                            Some((t, via, obj)) => {
                                td title=(fmt_time(*t)) { (fmt_age(now, Some(*t))) " ago" }
                                td { (via.label()) }
                                td { (pages::cut(obj, 80)) }
                            }
                            None => { td { "never" } td {} td {} }
                        }
                        td { (total(st, Outcome::Accepted)) }
                        td { (total(st, Outcome::RefusedUnauthorized)) }
                        td { (total(st, Outcome::BadKey)) }
                        td { (total(st, Outcome::Malformed)) }
                    }
                }
            }
        }
    };
    Html(pages::layout("Identities", li, body).into_string()).into_response()
}

pub(crate) async fn api_identities(State(s): State<WebState>) -> Response {
    let list: Vec<serde_json::Value> = rows(&s)
        .into_iter()
        .map(|(id, st)| {
            let counts: serde_json::Map<String, serde_json::Value> = st
                .counts
                .iter()
                .map(|((via, o), n)| (format!("{}/{}", via.label(), o.label()), (*n).into()))
                .collect();
            serde_json::json!({
                "identity": id,
                "last": st.last.as_ref().map(|(t, via, obj)| serde_json::json!({
                    "time": t, "via": via.label(), "object": obj
                })),
                "counts": counts,
            })
        })
        .collect();
    axum::Json(serde_json::json!({ "identities": list })).into_response()
}
