//! NRDP (Nagios Remote Data Processor 2.x): `cmd=submitcheck` with
//! `token` and `XMLDATA` or `JSONDATA` (also `xmldata`/`xml`,
//! `jsondata`/`json`), from the query string or an
//! `application/x-www-form-urlencoded` body, on `nrdp_path` (default
//! `/nrdp/`), as `send_nrdp.sh`, `send_nrdp.py` and `nrdpy` send it. The
//! token is an identity's (or the unscoped `web_token_file` token), under
//! the same scopes as every other path. Replies are NRDP's: XML (or JSON
//! when the data was JSON, or `output_type` says so) with `status` 0 and
//! `N checks processed`, or `status` -1 and NRDP's message (`NO TOKEN`,
//! `BAD TOKEN`, `BAD XML`, `BAD JSON`, `NO DATA`, and `DENIED TOKEN` when a
//! result is outside the token's scope: then none of the request is taken).
//! `cmd=submitcmd&command=NAME;args` (and `submitrawcmd`, whose command
//! carries its own `[time]`) takes one external command, as NRDP's
//! `nagioscorecmd` plugin writes it to the command file, under the token's
//! `commands`/`hosts`/`services` scope: `OK`, or `NO COMMAND`, `BAD DATA`
//! (not one line), `DENIED TOKEN`. `cmd=hello` answers as NRDP; other
//! commands get NRDP's `NO REQUEST HANDLER`.
//!
//! The XML reader ([`parse_xml`]) is our own and small: elements,
//! attributes, character data, the five predefined entities, character
//! references, CDATA sections, comments and processing instructions; a
//! `<!DOCTYPE` (and so any entity definition) is refused, and so is every
//! malformed document (unclosed or mismatched tags, `<` in an attribute,
//! unknown entities, more than 32 levels).

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{Query as QueryParams, State};
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;

use crate::{AuthError, Command, Outcome, Peer, Principal, Via, WebState, object_of};

/// One XML element: name, attributes, child elements and its own text.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub(crate) struct Element {
    /// The tag name.
    pub name: String,
    /// Attributes in document order.
    pub attrs: Vec<(String, String)>,
    /// Child elements.
    pub children: Vec<Element>,
    /// The element's character data (entities resolved, CDATA included).
    pub text: String,
}

impl Element {
    fn child(&self, name: &str) -> Option<&Element> {
        self.children.iter().find(|c| c.name == name)
    }
    fn attr(&self, name: &str) -> Option<&str> {
        self.attrs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }
}

const MAX_DEPTH: usize = 32;

struct Reader<'a> {
    s: &'a str,
    i: usize,
}

impl Reader<'_> {
    fn rest(&self) -> &str {
        &self.s[self.i..]
    }
    fn eat(&mut self, p: &str) -> bool {
        if self.rest().starts_with(p) {
            self.i += p.len();
            true
        } else {
            false
        }
    }
    fn skip_ws(&mut self) {
        let n = self.rest().len() - self.rest().trim_start().len();
        self.i += n;
    }
    fn until(&mut self, end: &str) -> Result<&str, String> {
        let at = self
            .rest()
            .find(end)
            .ok_or_else(|| format!("`{end}` missing"))?;
        let out = &self.s[self.i..self.i + at];
        self.i += at + end.len();
        Ok(out)
    }
    fn name(&mut self) -> Result<String, String> {
        let n = self
            .rest()
            .find(|c: char| !(c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':')))
            .unwrap_or(self.rest().len());
        if n == 0 {
            return Err(format!("a name expected at byte {}", self.i));
        }
        let out = self.rest()[..n].to_string();
        self.i += n;
        Ok(out)
    }
    /// Comments, processing instructions and blanks between elements.
    fn misc(&mut self) -> Result<(), String> {
        loop {
            self.skip_ws();
            if self.eat("<!--") {
                self.until("-->")?;
            } else if self.eat("<?") {
                self.until("?>")?;
            } else if self.rest().starts_with("<!") && !self.rest().starts_with("<![CDATA[") {
                return Err("DOCTYPE and other declarations are not accepted".into());
            } else {
                return Ok(());
            }
        }
    }
    fn element(&mut self, depth: usize) -> Result<Element, String> {
        if depth > MAX_DEPTH {
            return Err(format!("more than {MAX_DEPTH} levels"));
        }
        if !self.eat("<") {
            return Err(format!("`<` expected at byte {}", self.i));
        }
        let mut e = Element {
            name: self.name()?,
            ..Element::default()
        };
        loop {
            self.skip_ws();
            if self.eat("/>") {
                return Ok(e);
            }
            if self.eat(">") {
                break;
            }
            let k = self.name()?;
            self.skip_ws();
            if !self.eat("=") {
                return Err(format!("attribute `{k}` has no value"));
            }
            self.skip_ws();
            let q = if self.eat("\"") {
                "\""
            } else if self.eat("'") {
                "'"
            } else {
                return Err(format!("attribute `{k}`: quote expected"));
            };
            let raw = self.until(q)?.to_string();
            if raw.contains('<') {
                return Err(format!("attribute `{k}`: `<` in its value"));
            }
            e.attrs.push((k, unescape(&raw)?));
        }
        loop {
            let at = self
                .rest()
                .find('<')
                .ok_or_else(|| format!("`</{}>` missing", e.name))?;
            let text = &self.s[self.i..self.i + at];
            e.text.push_str(&unescape(text)?);
            self.i += at;
            if self.eat("<![CDATA[") {
                let c = self.until("]]>")?;
                e.text.push_str(c);
            } else if self.eat("<!--") {
                self.until("-->")?;
            } else if self.eat("<?") {
                self.until("?>")?;
            } else if self.eat("</") {
                let n = self.name()?;
                self.skip_ws();
                if n != e.name || !self.eat(">") {
                    return Err(format!("`</{}>` expected, found `</{n}`", e.name));
                }
                return Ok(e);
            } else if self.rest().starts_with("<!") {
                return Err("declarations are not accepted inside elements".into());
            } else {
                let c = self.element(depth + 1)?;
                e.children.push(c);
            }
        }
    }
}

/// Resolves `&lt;` `&gt;` `&amp;` `&quot;` `&apos;` and `&#N;`/`&#xH;`; any
/// other `&` is an error, as in XML.
fn unescape(s: &str) -> Result<String, String> {
    if !s.contains('&') {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let after = &rest[at + 1..];
        let end = after
            .find(';')
            .filter(|&e| e <= 10)
            .ok_or("`&` without a `;` (write `&amp;`)")?;
        let ent = &after[..end];
        let c = match ent {
            "lt" => '<',
            "gt" => '>',
            "amp" => '&',
            "quot" => '"',
            "apos" => '\'',
            _ => {
                let n = if let Some(h) = ent.strip_prefix("#x").or_else(|| ent.strip_prefix("#X")) {
                    u32::from_str_radix(h, 16).ok()
                } else if let Some(d) = ent.strip_prefix('#') {
                    d.parse::<u32>().ok()
                } else {
                    None
                };
                n.and_then(char::from_u32)
                    .filter(|&c| c != '\0')
                    .ok_or_else(|| format!("unknown entity `&{ent};`"))?
            }
        };
        out.push(c);
        rest = &after[end + 1..];
    }
    out.push_str(rest);
    Ok(out)
}

/// Parses one XML document (its root element).
pub(crate) fn parse_xml(s: &str) -> Result<Element, String> {
    let s = s.strip_prefix('\u{feff}').unwrap_or(s);
    let mut r = Reader { s, i: 0 };
    r.misc()?;
    let root = r.element(0)?;
    r.misc()?;
    if !r.rest().is_empty() {
        return Err("content after the root element".into());
    }
    Ok(root)
}

/// One check result of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct CheckResult {
    /// The host.
    pub host: String,
    /// The service (`type="service"`).
    pub service: Option<String>,
    /// `state`.
    pub state: String,
    /// `output`.
    pub output: String,
}

/// The check results of an `XMLDATA` document.
pub(crate) fn results_from_xml(doc: &str) -> Result<Vec<CheckResult>, String> {
    let root = parse_xml(doc)?;
    let mut out = Vec::new();
    for cr in root.children.iter().filter(|c| c.name == "checkresult") {
        let field = |n: &str| cr.child(n).map(|c| c.text.clone()).unwrap_or_default();
        let service = cr.attr("type").unwrap_or("host") == "service";
        out.push(CheckResult {
            host: field("hostname"),
            service: service.then(|| field("servicename")),
            state: field("state"),
            output: field("output"),
        });
    }
    Ok(out)
}

/// The check results of a `JSONDATA` document
/// (`{"checkresults":[{"checkresult":{"type":"service"},"hostname":…}]}`).
pub(crate) fn results_from_json(doc: &str) -> Result<Vec<CheckResult>, String> {
    let v: Value = serde_json::from_str(doc).map_err(|e| e.to_string())?;
    let list = v
        .get("checkresults")
        .and_then(Value::as_array)
        .ok_or("no `checkresults` array")?;
    let text = |v: Option<&Value>| match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    };
    Ok(list
        .iter()
        .map(|cr| {
            let service = cr
                .get("checkresult")
                .and_then(|a| a.get("type"))
                .and_then(Value::as_str)
                == Some("service");
            CheckResult {
                host: text(cr.get("hostname")),
                service: service.then(|| text(cr.get("servicename"))),
                state: text(cr.get("state")),
                output: text(cr.get("output")),
            }
        })
        .collect())
}

/// `application/x-www-form-urlencoded` pairs (`+` is a space, `%XX` a byte).
fn form_pairs(body: &[u8]) -> HashMap<String, String> {
    let dec = |s: &[u8]| -> String {
        let mut out = Vec::with_capacity(s.len());
        let mut i = 0;
        while i < s.len() {
            match s[i] {
                b'+' => out.push(b' '),
                b'%' if i + 2 < s.len() => {
                    let h = std::str::from_utf8(&s[i + 1..i + 3])
                        .ok()
                        .and_then(|h| u8::from_str_radix(h, 16).ok());
                    match h {
                        Some(b) => {
                            out.push(b);
                            i += 2;
                        }
                        None => out.push(b'%'),
                    }
                }
                b => out.push(b),
            }
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    };
    body.split(|&b| b == b'&')
        .filter(|p| !p.is_empty())
        .map(|p| match p.iter().position(|&b| b == b'=') {
            Some(eq) => (dec(&p[..eq]), dec(&p[eq + 1..])),
            None => (dec(p), String::new()),
        })
        .collect()
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Kind {
    Xml,
    Json,
}

fn xml_escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&apos;")
}

/// NRDP's reply: `{"result":{"status":…,"message":…,("meta":{"output":…})}}` as
/// JSON, or the same as XML with NRDP's indentation.
fn reply(
    kind: Kind,
    status: i32,
    message: &str,
    output: Option<&str>,
    info: Option<&str>,
) -> Response {
    match kind {
        Kind::Json => {
            let mut r = serde_json::Map::new();
            r.insert("status".into(), status.into());
            r.insert("message".into(), message.into());
            if let Some(o) = output {
                r.insert("meta".into(), serde_json::json!({ "output": o }));
            }
            if let Some(i) = info {
                r.insert("information".into(), i.into());
            }
            let body = serde_json::json!({ "result": r }).to_string();
            (
                [(
                    header::CONTENT_TYPE,
                    HeaderValue::from_static("application/json"),
                )],
                body,
            )
                .into_response()
        }
        Kind::Xml => {
            let mut b = String::from("<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<result>\n");
            b.push_str(&format!("    <status>{status}</status>\n"));
            b.push_str(&format!("    <message>{}</message>\n", xml_escape(message)));
            if let Some(o) = output {
                b.push_str(&format!(
                    "    <meta>\n        <output>{}</output>\n    </meta>\n",
                    xml_escape(o)
                ));
            }
            if let Some(i) = info {
                b.push_str(&format!(
                    "    <information>{}</information>\n",
                    xml_escape(i)
                ));
            }
            b.push_str("</result>\n");
            (
                [(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"))],
                b,
            )
                .into_response()
        }
    }
}

pub(crate) async fn handle(
    State(s): State<WebState>,
    peer: Peer,
    _h: HeaderMap,
    QueryParams(q): QueryParams<HashMap<String, String>>,
    body: Bytes,
) -> Response {
    let mut req = q;
    req.extend(form_pairs(&body));
    let get = |k: &str| req.get(k).filter(|v| !v.is_empty()).cloned();
    let xml = get("xml")
        .or_else(|| get("xmldata"))
        .or_else(|| get("XMLDATA"));
    let json = get("json")
        .or_else(|| get("jsondata"))
        .or_else(|| get("JSONDATA"));
    let kind = match get("output_type").as_deref() {
        Some(t) if t.eq_ignore_ascii_case("json") || t == "TYPE_JSON" => Kind::Json,
        Some(_) => Kind::Xml,
        None if xml.is_none() && json.is_some() => Kind::Json,
        None => Kind::Xml,
    };
    let cmd = get("cmd").unwrap_or_default().to_ascii_lowercase();
    if cmd == "hello" {
        let b = "<?xml version=\"1.0\" encoding=\"utf-8\"?>\n<response>\n  <status>0</status>\n  <message>OK</message>\n  <product>nrdp</product>\n  <version>2.0.6-picket</version>\n</response>\n";
        return (
            [(header::CONTENT_TYPE, HeaderValue::from_static("text/xml"))],
            b,
        )
            .into_response();
    }
    if cmd.is_empty() {
        return reply(kind, -1, "NO COMMAND", None, None);
    }
    let token = get("token");
    let who: Principal = match token {
        None => {
            s.count(Via::Nrdp, crate::UNKNOWN, Outcome::BadKey, "");
            return reply(kind, -1, "NO TOKEN", None, None);
        }
        Some(t) => match s.authorize_via(peer, Some(t), Via::Nrdp) {
            Ok(w) => w,
            Err(AuthError::ReadOnly) => return reply(kind, -1, "NO TOKENS", None, None),
            Err(_) => return reply(kind, -1, "BAD TOKEN", None, None),
        },
    };
    if cmd == "submitcmd" || cmd == "submitrawcmd" {
        return submit_command(&s, peer, &who, kind, get("command"), cmd == "submitrawcmd");
    }
    if cmd != "submitcheck" {
        return "NO REQUEST HANDLER".into_response();
    }
    let parsed = match (kind, &xml, &json) {
        (_, Some(x), _) if kind == Kind::Xml || json.is_none() => {
            results_from_xml(x).map_err(|e| ("BAD XML", e))
        }
        (_, _, Some(j)) => results_from_json(j).map_err(|e| ("BAD JSON", e)),
        _ => Err(("NO DATA", String::new())),
    };
    let results = match parsed {
        Ok(r) => r,
        Err((msg, info)) => {
            s.count(Via::Nrdp, &who.name, Outcome::Malformed, "");
            let info = picket_authz::safe(&info);
            return reply(
                kind,
                -1,
                msg,
                None,
                (!info.is_empty()).then_some(info.as_str()),
            );
        }
    };
    let mut cmds = Vec::with_capacity(results.len());
    for r in results {
        let Ok(code) = r.state.trim().parse::<i32>() else {
            s.count(Via::Nrdp, &who.name, Outcome::Malformed, "");
            return reply(
                kind,
                -1,
                "BAD DATA",
                None,
                Some(&format!(
                    "state {:?} is not a number",
                    picket_authz::safe(&r.state)
                )),
            );
        };
        let c = match r.service {
            Some(service) => Command::ServiceResult {
                host: r.host,
                service,
                code,
                output: r.output,
                time: None,
            },
            None => Command::HostResult {
                host: r.host,
                code,
                output: r.output,
                time: None,
            },
        };
        if let Err(e) = c.validate() {
            s.count(Via::Nrdp, &who.name, Outcome::Malformed, "");
            return reply(
                kind,
                -1,
                "BAD DATA",
                None,
                Some(&picket_authz::safe(&e.to_string())),
            );
        }
        if let Err(r) = s.permit(&who, Via::Nrdp, peer, &c) {
            s.refused(&r);
            let info = format!(
                "identity {} may not submit {}",
                picket_authz::safe(&r.identity),
                picket_authz::safe(&r.denial.object())
            );
            return reply(kind, -1, "DENIED TOKEN", None, Some(&info));
        }
        cmds.push(c);
    }
    let mut n = 0usize;
    for c in cmds {
        let object = object_of(&c);
        match s.backend.submit(c) {
            Ok(()) => {
                n += 1;
                s.count(Via::Nrdp, &who.name, Outcome::Accepted, &object);
            }
            Err(e) => {
                tracing::warn!(
                    target: "nrdp",
                    "NRDP: {} from identity {} at {}: {}",
                    picket_authz::safe(&object),
                    picket_authz::safe(&who.name),
                    crate::peer_text(peer),
                    picket_authz::safe(&e.to_string())
                );
            }
        }
    }
    reply(kind, 0, "OK", Some(&format!("{n} checks processed")), None)
}

/// `cmd=submitcmd` (`raw`: `submitrawcmd`): one external command, stamped
/// with the time unless raw, checked to be one line (`picket_authz`), decided
/// by the token's scope, then handed to the engine as a command-file line.
fn submit_command(
    s: &WebState,
    peer: Peer,
    who: &Principal,
    kind: Kind,
    command: Option<String>,
    raw: bool,
) -> Response {
    let Some(command) = command.filter(|c| !c.trim().is_empty()) else {
        s.count(Via::Nrdp, &who.name, Outcome::Malformed, "");
        return reply(kind, -1, "NO COMMAND", None, None);
    };
    let mut line = if raw {
        command
    } else {
        format!("[{}] {command}", crate::unix_now())
    };
    line.push('\n');
    let body = match picket_authz::command_body(line.as_bytes()) {
        Ok(b) => b,
        Err(d) => {
            s.count(Via::Nrdp, &who.name, Outcome::Malformed, "");
            return reply(
                kind,
                -1,
                "BAD DATA",
                None,
                Some(&picket_authz::safe(&d.object())),
            );
        }
    };
    let object = picket_authz::classify(body).object();
    if let Err(r) = s.permit_line(who, Via::Nrdp, peer, line.as_bytes()) {
        s.refused(&r);
        let info = format!(
            "identity {} may not submit {}",
            picket_authz::safe(&r.identity),
            picket_authz::safe(&r.denial.object())
        );
        return reply(kind, -1, "DENIED TOKEN", None, Some(&info));
    }
    match s.backend.submit_line(line.as_bytes()) {
        Ok(()) => {
            s.count(Via::Nrdp, &who.name, Outcome::Accepted, &object);
            reply(kind, 0, "OK", None, None)
        }
        Err(e) => {
            tracing::warn!(
                target: "nrdp",
                "NRDP: {} from identity {} at {}: {}",
                picket_authz::safe(&object),
                picket_authz::safe(&who.name),
                crate::peer_text(peer),
                picket_authz::safe(&e.to_string())
            );
            reply(
                kind,
                -1,
                "WRITE ERROR",
                None,
                Some(&picket_authz::safe(&e.to_string())),
            )
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn send_nrdp_documents() {
        let doc = "<?xml version='1.0'?>\n<checkresults>\n  <checkresult type=\"service\" checktype=\"1\">\n    \
                   <hostname>web01</hostname><servicename>HTTP &amp; TLS</servicename>\n    \
                   <state>2</state><output>CRIT &lt;x&gt; &#233;&#x41;|t=1</output>\n  </checkresult>\n  \
                   <!-- a comment --><checkresult type='host'><hostname>db01</hostname><state>0</state>\
                   <output><![CDATA[a <b> & c]]></output></checkresult>\n</checkresults>\n";
        let r = results_from_xml(doc).expect("parses");
        assert_eq!(
            r,
            vec![
                CheckResult {
                    host: "web01".into(),
                    service: Some("HTTP & TLS".into()),
                    state: "2".into(),
                    output: "CRIT <x> éA|t=1".into()
                },
                CheckResult {
                    host: "db01".into(),
                    service: None,
                    state: "0".into(),
                    output: "a <b> & c".into()
                }
            ]
        );
    }

    #[test]
    fn malformed_xml_is_refused() {
        for bad in [
            "<checkresults><checkresult></checkresults>",
            "<a>&bogus;</a>",
            "<a>AT&T</a>",
            "<a b=\"<\"/>",
            "<!DOCTYPE a [<!ENTITY x \"y\">]><a>&x;</a>",
            "<a></a><b/>",
            "<a>&#0;</a>",
            "",
        ] {
            assert!(parse_xml(bad).is_err(), "{bad:?}");
        }
        let deep = "<a>".repeat(40) + &"</a>".repeat(40);
        assert!(parse_xml(&deep).is_err());
    }

    #[test]
    fn json_documents() {
        let r = results_from_json(
            r#"{"checkresults":[{"checkresult":{"type":"service","checktype":"1"},"hostname":"h","servicename":"s","state":"1","output":"w"},{"checkresult":{"type":"host"},"hostname":"h","state":0,"output":"up"}]}"#,
        )
        .expect("parses");
        assert_eq!(r[0].service.as_deref(), Some("s"));
        assert_eq!(r[1].state, "0");
        assert!(r[1].service.is_none());
    }

    #[test]
    fn forms() {
        let f = form_pairs(b"token=a%2Bb&cmd=submitcheck&XMLDATA=%3Ca%3Ex+y%3C%2Fa%3E&bad=%zz");
        assert_eq!(f["token"], "a+b");
        assert_eq!(f["XMLDATA"], "<a>x y</a>");
        assert_eq!(f["bad"], "%zz");
    }
}
