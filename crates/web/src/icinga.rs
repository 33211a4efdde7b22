//! Icinga 2's `POST /v1/actions/process-check-result` (as `icinga2apic`,
//! the documented curl recipes and Logstash's output send it), with HTTP
//! basic authentication as an API user: an identity of the identities file
//! with a `password`, under the same scope as everywhere else.
//!
//! Body: `type` (`Host`/`Service`), the objects as `host: "h"`,
//! `service: "h!s"`, `hosts`/`services` arrays or a `filter` of the form
//! `host.name=="h" && service.name=="s"` (string literals or `filter_vars`
//! names; anything else is a 400 naming it), `exit_status` (hosts: 0 or 1,
//! as Icinga), `plugin_output`, `performance_data` (array or string),
//! `execution_end`/`execution_start` as the check time. `check_source`,
//! `check_command`, `scheduling_source` and `ttl` are accepted and not used
//! (Nagios' external command has no field for them).
//!
//! Answers as Debian's icinga2 2.13 gives them (`crates/web/tests/icinga2.rs`
//! sends the same requests to both): `{"results":[{"code":200,"status":
//! "Successfully processed check result for object 'h!s'."}]}` (integral
//! codes); 404 `{"error":404,"status":"No objects found."}` when any named
//! object is not there (nothing of the request is taken, as Icinga looks every
//! object up first; counted as `malformed` and logged), and `500
//! {"results":[]}` for a filter that matches nothing; a missing `exit_status` or `plugin_output`, or a host
//! `exit_status` above 1, is a per-object code 400 (after the objects are
//! found); 401 without or with wrong credentials; the HTTP status is 200 when
//! every object's code is 2xx, else the first other code. An object the user's
//! scope does not allow is hidden as Icinga hides objects outside an API
//! user's filter: the request finds no objects (404, or 500 for a filter) and
//! none of it is taken; the refusal is logged and counted.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

use crate::{AuthError, Command, Outcome, Peer, SubmitError, Via, WebState, object_of};

fn answer(code: StatusCode, body: Value) -> Response {
    (code, axum::Json(body)).into_response()
}

fn error(code: u16, status: &str) -> Response {
    answer(
        StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_REQUEST),
        json!({ "error": code, "status": status }),
    )
}

fn unauthorized() -> Response {
    let mut r = error(401, "Unauthorized. Please check your user credentials.");
    r.headers_mut().insert(
        header::WWW_AUTHENTICATE,
        HeaderValue::from_static("Basic realm=\"Icinga 2\""),
    );
    r
}

/// `Authorization: Basic base64(user:password)`.
fn basic(h: &HeaderMap) -> Option<(String, String)> {
    let v = h.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, b64) = v.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let raw = base64_decode(b64.trim())?;
    let text = String::from_utf8(raw).ok()?;
    let (u, p) = text.split_once(':')?;
    Some((u.to_string(), p.to_string()))
}

/// Standard base64 (RFC 4648, padding optional).
fn base64_decode(s: &str) -> Option<Vec<u8>> {
    let val = |c: u8| -> Option<u32> {
        Some(match c {
            b'A'..=b'Z' => u32::from(c - b'A'),
            b'a'..=b'z' => u32::from(c - b'a') + 26,
            b'0'..=b'9' => u32::from(c - b'0') + 52,
            b'+' => 62,
            b'/' => 63,
            _ => return None,
        })
    };
    let s = s.trim_end_matches('=').as_bytes();
    if s.len() % 4 == 1 {
        return None;
    }
    let mut out = Vec::with_capacity(s.len() * 3 / 4);
    for chunk in s.chunks(4) {
        let mut acc = 0u32;
        for (i, &c) in chunk.iter().enumerate() {
            acc |= val(c)? << (18 - 6 * i);
        }
        let bytes = acc.to_be_bytes();
        out.extend_from_slice(&bytes[1..chunk.len()]);
    }
    Some(out)
}

/// The objects a request names: `(host, service)`.
fn objects(
    body: &serde_json::Map<String, Value>,
    service: bool,
) -> Result<Vec<(String, Option<String>)>, String> {
    let split = |name: &str| -> Result<(String, Option<String>), String> {
        if service {
            match name.split_once('!') {
                Some((h, s)) => Ok((h.to_string(), Some(s.to_string()))),
                None => Err(format!(
                    "service name '{name}' is not of the form 'host!service'"
                )),
            }
        } else {
            Ok((name.to_string(), None))
        }
    };
    let (one, many) = if service {
        ("service", "services")
    } else {
        ("host", "hosts")
    };
    let mut out = Vec::new();
    if let Some(v) = body.get(one) {
        let name = v.as_str().ok_or(format!("'{one}' must be a string"))?;
        out.push(split(name)?);
    }
    if let Some(v) = body.get(many) {
        let list = v.as_array().ok_or(format!("'{many}' must be an array"))?;
        for n in list {
            out.push(split(
                n.as_str().ok_or(format!("'{many}' must hold strings"))?,
            )?);
        }
    }
    if let Some(f) = body.get("filter") {
        let f = f.as_str().ok_or("'filter' must be a string")?;
        let vars = body.get("filter_vars").and_then(Value::as_object);
        out.push(filter(f, vars, service)?);
    }
    if out.is_empty() {
        return Err(format!("no object given ('{one}', '{many}' or 'filter')"));
    }
    Ok(out)
}

/// The filter subset senders use: `host.name=="h"` and, for services,
/// `&& service.name=="s"` (either order), values as string literals or
/// `filter_vars` names.
fn filter(
    f: &str,
    vars: Option<&serde_json::Map<String, Value>>,
    service: bool,
) -> Result<(String, Option<String>), String> {
    let unsupported = || {
        format!(
            "filter '{}' is not supported: use host.name==\"h\" [&& service.name==\"s\"]",
            picket_authz::safe(f)
        )
    };
    let mut host = None;
    let mut svc = None;
    for term in f.split("&&") {
        let (lhs, rhs) = term.split_once("==").ok_or_else(unsupported)?;
        let rhs = rhs.trim();
        let value = if let Some(lit) = rhs.strip_prefix('"') {
            let lit = lit.strip_suffix('"').ok_or_else(unsupported)?;
            let mut v = String::new();
            let mut it = lit.chars();
            while let Some(c) = it.next() {
                match c {
                    '\\' => v.push(it.next().ok_or_else(unsupported)?),
                    '"' => return Err(unsupported()),
                    c => v.push(c),
                }
            }
            v
        } else {
            vars.and_then(|m| m.get(rhs))
                .and_then(Value::as_str)
                .ok_or_else(unsupported)?
                .to_string()
        };
        match lhs.trim() {
            "host.name" if host.is_none() => host = Some(value),
            "service.name" if service && svc.is_none() => svc = Some(value),
            _ => return Err(unsupported()),
        }
    }
    match (host, svc, service) {
        (Some(h), Some(s), true) => Ok((h, Some(s))),
        (Some(h), None, false) => Ok((h, None)),
        _ => Err(unsupported()),
    }
}

fn name_of(host: &str, service: Option<&str>) -> String {
    picket_authz::safe(&match service {
        Some(s) => format!("{host}!{s}"),
        None => host.to_string(),
    })
}

pub(crate) async fn process_check_result(
    State(s): State<WebState>,
    peer: Peer,
    h: HeaderMap,
    body: Bytes,
) -> Response {
    let Some((user, password)) = basic(&h) else {
        s.count(Via::Icinga, crate::UNKNOWN, Outcome::BadKey, "");
        return unauthorized();
    };
    let who = match s.authorize_basic(peer, &user, &password) {
        Ok(w) => w,
        Err(AuthError::Limited(wait)) => {
            let mut r = error(429, "Too many failed authentications from this address.");
            r.headers_mut()
                .insert(header::RETRY_AFTER, crate::retry_after(wait));
            return r;
        }
        Err(_) => return unauthorized(),
    };
    let malformed = |msg: &str| {
        s.count(Via::Icinga, &who.name, Outcome::Malformed, "");
        error(400, msg)
    };
    let doc: Value = match serde_json::from_slice(&body) {
        Ok(v) => v,
        Err(e) => return malformed(&format!("Invalid request body: {e}")),
    };
    let Some(doc) = doc.as_object() else {
        return malformed("Invalid request body: expected a JSON object");
    };
    let service = match doc.get("type").and_then(Value::as_str) {
        Some("Service") => true,
        Some("Host") => false,
        _ => return malformed("Invalid type specified: 'type' must be 'Host' or 'Service'."),
    };
    let targets = match objects(doc, service) {
        Ok(t) => t,
        Err(e) => return malformed(&e),
    };
    let by_filter = doc.contains_key("filter");
    // Icinga checks the parameters per object, after selecting the objects.
    let exit_status = match doc.get("exit_status") {
        Some(Value::Number(n)) => n.as_f64(),
        Some(Value::String(t)) => t.trim().parse::<f64>().ok(),
        _ => None,
    };
    let output = doc.get("plugin_output").and_then(Value::as_str);
    let param_error = match (exit_status, output) {
        (None, _) => Some("Parameter 'exit_status' is required.".to_string()),
        (Some(c), _) if c.fract() != 0.0 || !(0.0..=255.0).contains(&c) => {
            Some("Invalid 'exit_status'.".to_string())
        }
        (_, None) => Some("Parameter 'plugin_output' is required".to_string()),
        _ => None,
    };
    let code = exit_status.unwrap_or(0.0) as i32;
    let output = output.unwrap_or("");
    let perf = match doc.get("performance_data") {
        None | Some(Value::Null) => String::new(),
        Some(Value::String(p)) => p.clone(),
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .collect::<Vec<_>>()
            .join(" "),
        Some(_) => return malformed("'performance_data' must be a string or an array of strings."),
    };
    let output = if perf.trim().is_empty() {
        output.to_string()
    } else {
        // Nagios' form: the first line, then `|perfdata`, then the long output.
        match output.split_once('\n') {
            Some((first, long)) => format!("{first}|{}\n{long}", perf.trim()),
            None => format!("{output}|{}", perf.trim()),
        }
    };
    let time = ["execution_end", "execution_start"]
        .iter()
        .find_map(|k| doc.get(*k).and_then(Value::as_f64))
        .filter(|t| t.is_finite() && *t > 0.0)
        .map(|t| t as i64);
    let cmds: Vec<(String, Command)> = targets
        .into_iter()
        .map(|(host, svc)| {
            let name = name_of(&host, svc.as_deref());
            let cmd = match svc {
                Some(service) => Command::ServiceResult {
                    host,
                    service,
                    code,
                    output: output.clone(),
                    time,
                },
                None => Command::HostResult {
                    host,
                    code,
                    output: output.clone(),
                    time,
                },
            };
            (name, cmd)
        })
        .collect();
    // An object outside the user's scope is, as outside an Icinga API user's
    // filter, not there at all: the request finds no objects (404 for named
    // objects, Icinga's `500 {"results":[]}` for a filter) and nothing of it is
    // taken. The attempt is still logged and counted as a refusal.
    let mut hidden = false;
    for (_, cmd) in &cmds {
        if let Err(r) = s.permit(&who, Via::Icinga, peer, cmd) {
            s.refused(&r);
            hidden = true;
        }
    }
    if hidden {
        return no_objects(by_filter);
    }
    // As Icinga 2 looks its named objects up before it processes any: one that does
    // not exist makes the whole request find nothing (404 by name, 500 by filter),
    // and nothing of it is taken.
    for (_, cmd) in &cmds {
        let (host, service) = cmd.target();
        if let Err(e) = s.backend.exists(host, service) {
            s.count(Via::Icinga, &who.name, Outcome::Malformed, "");
            tracing::info!(
                "icinga-api: {} (identity {}): no objects found, nothing of the request taken",
                picket_authz::safe(&e.to_string()),
                picket_authz::safe(&who.name)
            );
            return no_objects(by_filter);
        }
    }
    let mut results = Vec::new();
    for (name, cmd) in cmds {
        if let Some(e) = &param_error {
            s.count(Via::Icinga, &who.name, Outcome::Malformed, "");
            results.push(json!({ "code": 400, "status": e }));
            continue;
        }
        if !service && code > 1 {
            s.count(Via::Icinga, &who.name, Outcome::Malformed, "");
            results.push(
                json!({ "code": 400, "status": format!("Invalid 'exit_status' for Host {name}.") }),
            );
            continue;
        }
        if let Err(e) = cmd.validate() {
            s.count(Via::Icinga, &who.name, Outcome::Malformed, "");
            results.push(json!({ "code": 400, "status": format!("Invalid check result for object '{name}': {e}") }));
            continue;
        }
        let object = object_of(&cmd);
        match s.backend.submit(cmd) {
            Ok(()) => {
                s.count(Via::Icinga, &who.name, Outcome::Accepted, &object);
                results.push(json!({ "code": 200, "status": format!("Successfully processed check result for object '{name}'.") }));
            }
            Err(SubmitError::Rejected(e)) if e.starts_with("unknown") => {
                // Removed between the lookup above and now (a reload): as if not found.
                s.count(Via::Icinga, &who.name, Outcome::Malformed, "");
            }
            Err(SubmitError::Rejected(e)) => {
                results.push(json!({ "code": 403, "status": format!("Check result for object '{name}' refused: {}", picket_authz::safe(&e)) }));
            }
            Err(SubmitError::Unavailable(e)) => {
                results.push(json!({ "code": 503, "status": format!("Object '{name}' cannot take results now: {}", picket_authz::safe(&e)) }));
            }
        }
    }
    if results.is_empty() {
        return no_objects(by_filter);
    }
    let status = results
        .iter()
        .filter_map(|r| r.get("code").and_then(Value::as_u64))
        .find(|c| !(200..300).contains(c))
        .map_or(StatusCode::OK, |c| {
            StatusCode::from_u16(u16::try_from(c).unwrap_or(500))
                .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR)
        });
    answer(status, json!({ "results": results }))
}

/// What Icinga 2.13 answers when the selection is empty: `404 No objects
/// found.` for objects named by `host`/`service`/`hosts`/`services`, and an
/// empty result list with status 500 for a `filter` that matches nothing.
fn no_objects(by_filter: bool) -> Response {
    if by_filter {
        answer(StatusCode::INTERNAL_SERVER_ERROR, json!({ "results": [] }))
    } else {
        error(404, "No objects found.")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base64() {
        assert_eq!(
            base64_decode("cm9vdDppY2luZ2E=").as_deref(),
            Some(&b"root:icinga"[..])
        );
        assert_eq!(base64_decode("YQ").as_deref(), Some(&b"a"[..]));
        assert_eq!(base64_decode("a*"), None);
    }

    #[test]
    fn filters() {
        let vars: serde_json::Map<String, Value> =
            serde_json::from_str(r#"{"h":"web01"}"#).expect("json");
        assert_eq!(
            filter(r#"host.name=="web01" && service.name=="HTTP""#, None, true),
            Ok(("web01".into(), Some("HTTP".into())))
        );
        assert_eq!(
            filter(
                r#"service.name=="a \"b\"" && host.name==h"#,
                Some(&vars),
                true
            ),
            Ok(("web01".into(), Some("a \"b\"".into())))
        );
        assert_eq!(
            filter(r#"host.name=="x""#, None, false),
            Ok(("x".into(), None))
        );
        assert!(filter(r#"match("web*", host.name)"#, None, false).is_err());
        assert!(filter(r#"host.name=="x" || host.name=="y""#, None, false).is_err());
        assert!(filter(r#"host.name=="x""#, None, true).is_err());
    }
}
