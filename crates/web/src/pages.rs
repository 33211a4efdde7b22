//! Server-rendered HTML (maud escapes every interpolated string).

use maud::{DOCTYPE, Markup, html};
use picket_history::{DeniedSource, HistoryRow};

use crate::model::{HostView, ServiceView, StatusView, host_state_name, service_state_name};

/// The stylesheet, served as `/static/picket.css` (the CSP allows no inline style).
pub(crate) const CSS: &str = r#"
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f6f7f9;color:#1d2330}
nav{background:#1d2330;padding:.6em 1em;display:flex;gap:1.2em;align-items:center}
nav a{color:#e8ecf3;text-decoration:none;font-weight:600}nav .sp{flex:1}
main{padding:1em 1.5em}h1{font-size:1.3em}h2{font-size:1.1em;margin-top:1.5em}
table{border-collapse:collapse;width:100%;background:#fff;box-shadow:0 1px 2px #0002}
th,td{padding:.35em .6em;border-bottom:1px solid #e3e6ec;text-align:left;vertical-align:top}
th{background:#eef0f4;font-size:.9em}td.out{font-family:ui-monospace,monospace;white-space:pre-wrap;word-break:break-word}
.s{font-weight:700;padding:.1em .45em;border-radius:3px;color:#fff;display:inline-block;min-width:5.5em;text-align:center}
.s0{background:#2e9d50}.s1{background:#d79a00}.s2{background:#d0342c}.s3{background:#7a5bb5}.sh1,.sh2{background:#d0342c}.sh0{background:#2e9d50}
.muted{color:#6b7385}.badge{font-size:.8em;background:#e3e6ec;border-radius:3px;padding:0 .35em;margin-left:.3em}
form.inline{display:inline-flex;gap:.4em;flex-wrap:wrap;margin:.3em 0}input,select,button{font:inherit;padding:.2em .4em}
#live{font-family:ui-monospace,monospace;font-size:.9em;max-height:12em;overflow:auto;background:#fff;padding:.4em;margin:0;list-style:none}
.ok{color:#2e9d50}.flash{background:#fff3c4;padding:.5em;border:1px solid #e5cf6a}
figure.chart{margin:.5em 0 1em;background:#fff;box-shadow:0 1px 2px #0002;padding:.6em .6em .4em}
svg.timeline{width:100%;height:auto;display:block;font:11px system-ui,sans-serif}
svg.timeline .band.even{fill:#f7f8fb}svg.timeline .band.odd{fill:#fff}
td.t{white-space:nowrap}
svg.timeline .rowlabel{fill:#2b3245;font-size:11px;font-family:ui-monospace,monospace}
svg.timeline .axis{stroke:#8a93a6;stroke-width:1}svg.timeline .grid{stroke:#dde1e8;stroke-width:1}
svg.timeline .tick{fill:#4a5368}svg.timeline .tickday{fill:#8a93a6;font-size:10px}
svg.timeline .span rect{fill:#d0342c;fill-opacity:.08;stroke:#d0342c;stroke-opacity:.35}
svg.timeline .span.open rect{fill-opacity:.14;stroke-opacity:.6;stroke-dasharray:4 3}
svg.timeline .gap rect{fill:#fff;fill-opacity:.85}svg.timeline .gaplabel{fill:#8a93a6;font-size:10px}
svg.timeline .spanlabel{fill:#a3281f;font-weight:600}
svg.timeline .mark{fill-opacity:.72;stroke:#fff;stroke-width:1}
.k-refused{fill:#d0342c;background:#d0342c}.k-drop{fill:#d79a00;background:#d79a00}.k-auth{fill:#7a5bb5;background:#7a5bb5}
.k-trap{fill:#111827;background:#111827}.k-other{fill:#6b7385;background:#6b7385}
figcaption .legend{margin-right:1em;white-space:nowrap}figcaption .key{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.3em;vertical-align:-.05em}
.kd{display:inline-block;width:.7em;height:.7em;border-radius:50%;vertical-align:-.05em}
figcaption .key.shade{border-radius:2px;background:#d0342c33;border:1px solid #d0342c88}
.st{font-weight:700;padding:.1em .45em;border-radius:3px;display:inline-block;font-size:.85em}
.st.open{background:#d0342c;color:#fff}.st.closed{background:#e3e6ec;color:#4a5368}
tr.open td{background:#fff6f5}dl.facts{display:grid;grid-template-columns:max-content 1fr;gap:.2em 1em;background:#fff;padding:.6em 1em;box-shadow:0 1px 2px #0002}
dl.facts dt{color:#6b7385}dl.facts dd{margin:0}
"#;

/// The live-events script, served as `/static/picket.js` (the CSP allows no inline
/// script). One `EventSource` per page, closed on `pagehide` (a page left for another, or
/// put in the back/forward cache, must not keep its stream: six of them fill the
/// browser's connections to the host) and opened again on `pageshow` from that cache. A
/// stream the server refused or ended is retried after a pause.
pub(crate) const LIVE_JS: &str = r#"
(function(){
  if(!window.EventSource)return;
  var ul=document.getElementById('live');var st=document.getElementById('livestate');
  var es=null,retry=null;
  function say(t){if(st)st.textContent=t;}
  // Connection events (a flood during a scan) only on the page of their source.
  var here=location.pathname.indexOf('/source/')===0?decodeURIComponent(location.pathname.slice(8)):null;
  function add(kind,e){
    if(!ul)return;var d=JSON.parse(e.data);
    if(kind==='connection'&&d.source!==here)return;
    var li=document.createElement('li');
    var t=new Date(d.time*1000).toISOString().substr(11,8);
    var text;
    if(kind==='incident')text='INCIDENT '+d.transition+' #'+d.id+' '+d.key+' \u2014 '+d.output;
    else if(kind==='connection')text='EVENT '+d.kind+' '+d.source+' \u2192 '+d.reporter+(d.port!=null?(' port '+d.port):'');
    else{
      var what=kind==='notification'?('NOTIFY '+d.contact+' '+d.notification_type):(kind==='state_change'?('ALERT '+d.state+' '+d.state_type):('RESULT '+d.code));
      text=what+' '+d.host+(d.service?(';'+d.service):'')+' \u2014 '+d.output;
    }
    li.textContent=t+' '+text;
    li.className='ev-'+kind;ul.insertBefore(li,ul.firstChild);
    while(ul.children.length>200)ul.removeChild(ul.lastChild);
  }
  // Pages that show state (problems, hosts, denied, incidents) re-render their #status region
  // after alerts, debounced, without a reload.
  var pending=null;
  function refresh(){
    var region=document.getElementById('status');
    if(!region||pending)return;
    pending=setTimeout(function(){
      fetch(location.href,{credentials:'same-origin'}).then(function(r){return r.text();}).then(function(t){
        var n=new DOMParser().parseFromString(t,'text/html').getElementById('status');
        if(n)region.innerHTML=n.innerHTML;
      }).catch(function(){}).then(function(){pending=null;});
    },300);
  }
  function open(){
    if(es)return;
    if(retry){clearTimeout(retry);retry=null;}
    es=new EventSource('/events');
    es.onopen=function(){say('live');};
    es.onerror=function(){
      if(!es||es.readyState!==2){say('reconnecting');return;}
      // Refused (the server's subscriber cap) or ended (shutdown): try again later.
      es=null;say('offline');retry=setTimeout(open,10000);
    };
    ['check_result','state_change','notification','incident','connection'].forEach(function(k){es.addEventListener(k,function(e){add(k,e);if(k==='state_change'||k==='incident')refresh();});});
  }
  function close(){
    if(retry){clearTimeout(retry);retry=null;}
    if(es){es.close();es=null;}
  }
  window.addEventListener('pagehide',close);
  window.addEventListener('pageshow',function(e){if(e.persisted)open();});
  open();
})();
"#;

/// Page chrome.
pub(crate) fn layout(title: &str, logged_in: bool, body: Markup) -> Markup {
    html! {
        (DOCTYPE)
        html lang="en" {
            head {
                meta charset="utf-8";
                meta name="viewport" content="width=device-width, initial-scale=1";
                title { (title) " — Picket" }
                link rel="stylesheet" href="/static/picket.css";
            }
            body {
                nav {
                    a href="/" { "Problems" }
                    a href="/hosts" { "Hosts & services" }
                    a href="/log?kind=alerts" { "Alerts" }
                    a href="/log?kind=notifications" { "Notifications" }
                    a href="/denied" { "Denied connections" }
                    a href="/incidents" { "Incidents" }
                    a href="/identities" { "Identities" }
                    span.sp {}
                    @if logged_in {
                        form.inline method="post" action="/logout" { button type="submit" { "Log out" } }
                    } @else {
                        a href="/login" { "Log in" }
                    }
                }
                main {
                    h1 { (title) }
                    (body)
                    h2 { "Live " span #livestate .muted { "(connecting…)" } }
                    ul #live {}
                }
                script src="/static/picket.js" {}
            }
        }
    }
}

/// `YYYY-MM-DD HH:MM:SS` UTC.
pub(crate) fn fmt_time(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.strftime("%Y-%m-%d %H:%M:%S").to_string())
        .unwrap_or_else(|_| t.to_string())
}

/// `3d 4h`, `5m 2s`.
pub(crate) fn fmt_age(now: i64, t: Option<i64>) -> String {
    let Some(t) = t else {
        return "never".to_owned();
    };
    let d = now.saturating_sub(t).max(0);
    let (dd, h, m, s) = (d / 86_400, d / 3600 % 24, d / 60 % 60, d % 60);
    if dd > 0 {
        format!("{dd}d {h}h")
    } else if h > 0 {
        format!("{h}h {m}m")
    } else if m > 0 {
        format!("{m}m {s}s")
    } else {
        format!("{s}s")
    }
}

/// Percent-encode a query value.
pub(crate) fn enc(s: &str) -> String {
    let mut o = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || b"-_.~".contains(&b) {
            o.push(char::from(b));
        } else {
            o.push_str(&format!("%{b:02X}"));
        }
    }
    o
}

fn svc_url(host: &str, svc: &str) -> String {
    format!("/service?host={}&service={}", enc(host), enc(svc))
}

fn host_url(host: &str) -> String {
    format!("/host?name={}", enc(host))
}

fn svc_badges(s: &ServiceView) -> Markup {
    html! {
        @if !s.hard { span.badge { "SOFT " (s.attempt) "/" (s.max_attempts) } }
        @if s.acknowledged { span.badge { "ACK" } }
        @if s.in_downtime { span.badge { "DOWNTIME" } }
        @if s.is_volatile { span.badge { "volatile" } }
    }
}

fn host_badges(h: &HostView) -> Markup {
    html! {
        @if !h.hard { span.badge { "SOFT " (h.attempt) "/" (h.max_attempts) } }
        @if h.acknowledged { span.badge { "ACK" } }
        @if h.in_downtime { span.badge { "DOWNTIME" } }
    }
}

fn service_table(now: i64, svcs: &[&ServiceView]) -> Markup {
    html! {
        table {
            tr { th { "Host" } th { "Service" } th { "State" } th { "Age" } th { "Last check" } th { "Output" } }
            @for s in svcs {
                tr {
                    td { a href=(host_url(&s.host)) { (s.host) } }
                    td { a href=(svc_url(&s.host, &s.description)) { (s.description) } (svc_badges(s)) }
                    td { span class=(format!("s s{}", s.state.min(3))) { (service_state_name(s.state)) } }
                    td { (fmt_age(now, s.last_state_change)) }
                    td { (fmt_age(now, s.last_check)) }
                    td.out { (s.output) }
                }
            }
        }
    }
}

fn host_table(now: i64, hosts: &[&HostView]) -> Markup {
    html! {
        table {
            tr { th { "Host" } th { "Address" } th { "State" } th { "Age" } th { "Output" } }
            @for h in hosts {
                tr {
                    td { a href=(host_url(&h.name)) { (h.name) } (host_badges(h)) }
                    td { (h.address) }
                    td { span class=(format!("s sh{}", h.state.min(2))) { (host_state_name(h.state)) } }
                    td { (fmt_age(now, h.last_state_change)) }
                    td.out { (h.output) }
                }
            }
        }
    }
}

fn svc_rank(s: &ServiceView) -> u8 {
    match s.state {
        2 => 0,
        3 => 1,
        1 => 2,
        _ => 3,
    }
}

/// Problems first: unhandled host problems, then service problems by severity and age.
pub(crate) fn problems(st: &StatusView, logged_in: bool) -> Markup {
    let mut hosts: Vec<&HostView> = st.hosts.iter().filter(|h| h.state != 0).collect();
    hosts.sort_by_key(|h| {
        (
            h.acknowledged || h.in_downtime,
            std::cmp::Reverse(h.last_state_change),
        )
    });
    let mut svcs: Vec<&ServiceView> = st.services.iter().filter(|s| s.state != 0).collect();
    svcs.sort_by_key(|s| {
        (
            s.acknowledged || s.in_downtime,
            svc_rank(s),
            std::cmp::Reverse(s.last_state_change),
        )
    });
    let ok_svcs = st.services.len() - svcs.len();
    layout(
        "Problems",
        logged_in,
        html! { div #status {
            p.muted { (st.hosts.len()) " hosts, " (st.services.len()) " services; "
                      (hosts.len()) " host problems, " (svcs.len()) " service problems, " (ok_svcs) " OK." }
            h2 { "Host problems" }
            @if hosts.is_empty() { p.ok { "All hosts are UP." } } @else { (host_table(st.now, &hosts)) }
            h2 { "Service problems" }
            @if svcs.is_empty() { p.ok { "All services are OK." } } @else { (service_table(st.now, &svcs)) }
        } },
    )
}

/// All hosts and services.
pub(crate) fn hosts(st: &StatusView, logged_in: bool) -> Markup {
    let hosts: Vec<&HostView> = st.hosts.iter().collect();
    let mut svcs: Vec<&ServiceView> = st.services.iter().collect();
    svcs.sort_by(|a, b| (&a.host, &a.description).cmp(&(&b.host, &b.description)));
    layout(
        "Hosts & services",
        logged_in,
        html! { div #status {
            h2 { "Hosts" } (host_table(st.now, &hosts))
            h2 { "Services" } (service_table(st.now, &svcs))
        } },
    )
}

/// A history table.
pub(crate) fn history_table(rows: &[HistoryRow]) -> Markup {
    html! {
        table {
            tr { th { "Time" } th { "Type" } th { "Host" } th { "Service" } th { "State" } th { "Contact / command" } th { "Output" } }
            @for r in rows {
                tr {
                    td { (fmt_time(r.time)) }
                    td { (r.kind.replace('_', " ")) }
                    td { @if let Some(h) = &r.host { a href=(host_url(h)) { (h) } } }
                    td { @if let (Some(h), Some(s)) = (&r.host, &r.service) { a href=(svc_url(h, s)) { (s) } } }
                    td { (r.state.as_deref().unwrap_or(""))
                         @if let Some(t) = &r.state_type { " " (t) }
                         @if let Some(a) = r.attempt { " " (a) } }
                    td { (r.contact.as_deref().unwrap_or(""))
                         @if let Some(c) = &r.command { " " span.muted { (c) } }
                         @if let Some(x) = &r.exit_status { " " span.badge { "exit " (r.exit_code.map(|c| c.to_string()).unwrap_or_else(|| "-".into())) " " (x) } } }
                    td.out { (r.output)
                        @if let Some(a) = &r.author { " — " (a) ": " (r.comment.as_deref().unwrap_or("")) } }
                }
            }
        }
    }
}

/// The acknowledgement form (`comment` prefilled).
pub(crate) fn ack_form(host: &str, service: Option<&str>, back: &str, comment: &str) -> Markup {
    html! {
        form.inline.ack method="post" action="/ui/command" {
            input type="hidden" name="action" value="ack";
            input type="hidden" name="host" value=(host);
            @if let Some(s) = service { input type="hidden" name="service" value=(s); }
            input type="hidden" name="back" value=(back);
            input name="author" placeholder="author" value="web" required;
            input name="comment" placeholder="comment" size="30" value=(comment);
            label { input type="checkbox" name="sticky" value="1"; " sticky" }
            button type="submit" { "Acknowledge" }
        }
    }
}

/// `s` cut to `n` characters (with `…`).
pub(crate) fn cut(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        s.to_owned()
    } else {
        let mut o: String = s.chars().take(n.saturating_sub(1)).collect();
        o.push('…');
        o
    }
}

/// The command forms for one object (only shown when logged in).
fn command_forms(host: &str, service: Option<&str>, now: i64, back: &str) -> Markup {
    html! {
        h2 { "Commands" }
        (ack_form(host, service, back, ""))
        form.inline method="post" action="/ui/command" {
            input type="hidden" name="action" value="downtime";
            input type="hidden" name="host" value=(host);
            @if let Some(s) = service { input type="hidden" name="service" value=(s); }
            input type="hidden" name="back" value=(back);
            input type="hidden" name="start" value=(now);
            input name="author" placeholder="author" required;
            input name="comment" placeholder="comment" size="30";
            select name="minutes" { option value="30" { "30 min" } option value="120" { "2 h" } option value="1440" { "1 day" } }
            button type="submit" { "Schedule downtime" }
        }
        form.inline method="post" action="/ui/command" {
            input type="hidden" name="action" value="result";
            input type="hidden" name="host" value=(host);
            @if let Some(s) = service { input type="hidden" name="service" value=(s); }
            input type="hidden" name="back" value=(back);
            select name="code" {
                @if service.is_some() {
                    @for st in picket_log::ServiceState::ALL { option value=(st.code()) { (st.name()) } }
                } @else {
                    @for st in picket_log::HostState::ALL { option value=(st.code()) { (st.name()) } }
                }
            }
            input name="output" placeholder="output" size="40";
            button type="submit" { "Submit passive result" }
        }
    }
}

/// One host with its services and history.
pub(crate) fn host_page(
    st: &StatusView,
    h: &HostView,
    hist: Option<&[HistoryRow]>,
    logged_in: bool,
) -> Markup {
    let svcs: Vec<&ServiceView> = st.services.iter().filter(|s| s.host == h.name).collect();
    let back = host_url(&h.name);
    layout(
        &format!("Host {}", h.name),
        logged_in,
        html! {
            (host_table(st.now, &[h]))
            @if !h.long_output.is_empty() { pre { (h.long_output) } }
            @for c in &h.comments { p.muted { (fmt_time(c.time)) " " (c.author) ": " (c.text) } }
            h2 { "Services" } (service_table(st.now, &svcs))
            @if logged_in { (command_forms(&h.name, None, st.now, &back)) }
            h2 { "History" }
            @match hist { Some(r) => (history_table(r)), None => p.muted { "History is not enabled." } }
        },
    )
}

/// One service with its history.
pub(crate) fn service_page(
    st: &StatusView,
    s: &ServiceView,
    hist: Option<&[HistoryRow]>,
    logged_in: bool,
) -> Markup {
    let back = svc_url(&s.host, &s.description);
    layout(
        &format!("Service {} on {}", s.description, s.host),
        logged_in,
        html! {
            (service_table(st.now, &[s]))
            @if !s.long_output.is_empty() { pre { (s.long_output) } }
            @for c in &s.comments { p.muted { (fmt_time(c.time)) " " (c.author) ": " (c.text) } }
            @if logged_in { (command_forms(&s.host, Some(&s.description), st.now, &back)) }
            @else { p.muted { a href="/login" { "Log in" } " to acknowledge, schedule downtime or submit a result." } }
            h2 { "History" }
            @match hist { Some(r) => (history_table(r)), None => p.muted { "History is not enabled." } }
        },
    )
}

/// Filter values of the log page.
#[derive(Debug, Default, serde::Deserialize)]
pub(crate) struct LogParams {
    pub(crate) kind: Option<String>,
    pub(crate) host: Option<String>,
    pub(crate) service: Option<String>,
    pub(crate) state: Option<String>,
    pub(crate) text: Option<String>,
    pub(crate) since: Option<i64>,
    pub(crate) until: Option<i64>,
    pub(crate) before: Option<i64>,
    pub(crate) limit: Option<u32>,
}

/// The alert / notification log.
pub(crate) fn log_page(p: &LogParams, rows: Option<&[HistoryRow]>, logged_in: bool) -> Markup {
    let kind = p.kind.as_deref().unwrap_or("alerts");
    let title = match kind {
        "notifications" => "Notification log",
        "all" => "Event log",
        _ => "Alert log",
    };
    let v = |o: &Option<String>| o.clone().unwrap_or_default();
    layout(
        title,
        logged_in,
        html! {
            form.inline method="get" action="/log" {
                select name="kind" {
                    @for (k, label) in [("alerts", "Alerts"), ("notifications", "Notifications"), ("all", "Everything")] {
                        option value=(k) selected[k == kind] { (label) }
                    }
                }
                input name="host" placeholder="host" value=(v(&p.host));
                input name="service" placeholder="service" value=(v(&p.service));
                input name="state" placeholder="state (CRITICAL…)" value=(v(&p.state));
                input name="text" placeholder="output contains" value=(v(&p.text));
                button type="submit" { "Filter" }
            }
            @match rows {
                Some(r) => {
                    (history_table(r))
                    @if let Some(last) = r.last() {
                        p { a href=(format!("/log?kind={}&host={}&service={}&state={}&text={}&before={}",
                                enc(kind), enc(&v(&p.host)), enc(&v(&p.service)), enc(&v(&p.state)), enc(&v(&p.text)), last.id)) { "Older →" } }
                    }
                }
                None => p.muted { "History is not enabled." },
            }
        },
    )
}

/// Which page of `/denied` is shown.
pub(crate) struct DeniedPage {
    pub(crate) offset: u32,
    pub(crate) limit: u32,
}

/// A page of Denied sources and, unfiltered, the totals (sources, denials).
pub(crate) type DeniedRows = (Vec<DeniedSource>, Option<(u64, u64)>);

/// Names of a Denied row shown on the page (the rest are counted).
const DENIED_NAMES: usize = 16;

/// The Denied-connections view: one page of sources (`totals` = all sources and denials,
/// when the view is not filtered).
pub(crate) fn denied_page(
    now: i64,
    rows: Option<&DeniedRows>,
    page: &DeniedPage,
    logged_in: bool,
) -> Markup {
    layout(
        "Denied connections",
        logged_in,
        html! {
            p.muted { "Refusals reported by TCP-wrappers style services (" code { "Denied <daemon>-<address>" } ") and sensors, grouped by source address across all hosts and daemons." }
            div #status { @match rows {
                Some((rows, totals)) => {
                    @let (sources, denials) = totals.unwrap_or((rows.len() as u64, rows.iter().map(|r| r.count).sum::<u64>()));
                    p #denied-summary { (sources) " sources, " (denials) " denials." }
                    table #denied {
                        tr { th { "Source" } th { "Count" } th { "First seen" } th { "Last seen" } th { "Hosts hit" } th { "Daemons" } }
                        @for r in rows {
                            tr {
                                td { a href=(crate::incidents::source_url(&r.addr)) { (r.addr) }
                                     " " a.muted href=(format!("/log?kind=alerts&text={}", enc(&r.addr))) { "log" } }
                                td.count { (r.count) }
                                td { (fmt_time(r.first_seen)) }
                                td { (fmt_time(r.last_seen)) " " span.muted { "(" (fmt_age(now, Some(r.last_seen))) " ago)" } }
                                td {
                                    @for (i, h) in r.hosts.iter().take(DENIED_NAMES).enumerate() { @if i > 0 { ", " } a href=(host_url(h)) { (h) } }
                                    @if r.host_count as usize > DENIED_NAMES.min(r.hosts.len()) { " " span.muted { "and " (r.host_count as usize - DENIED_NAMES.min(r.hosts.len())) " more" } }
                                }
                                td {
                                    (r.daemons.iter().take(DENIED_NAMES).map(String::as_str).collect::<Vec<_>>().join(", "))
                                    @if r.daemon_count as usize > DENIED_NAMES.min(r.daemons.len()) { " " span.muted { "and " (r.daemon_count as usize - DENIED_NAMES.min(r.daemons.len())) " more" } }
                                }
                            }
                        }
                    }
                    p {
                        @if page.offset > 0 {
                            a href=(format!("/denied?offset={}&limit={}", page.offset.saturating_sub(page.limit), page.limit)) { "Newer" } " "
                        }
                        @if rows.len() as u32 >= page.limit {
                            a href=(format!("/denied?offset={}&limit={}", page.offset.saturating_add(page.limit), page.limit)) { "Older" }
                        }
                    }
                }
                None => p.muted { "History is not enabled." },
            } }
        },
    )
}

/// Login form; `back` (already filtered by `safe_back`) is where a successful login goes.
pub(crate) fn login_page(error: Option<&str>, enabled: bool, back: &str) -> Markup {
    layout(
        "Log in",
        false,
        html! {
            @if !enabled { p.flash { "No API token is configured: the UI is read-only." } }
            @if let Some(e) = error { p.flash { (e) } }
            form method="post" action="/login" {
                input type="hidden" name="back" value=(back);
                label { "Token " input type="password" name="token" autocomplete="current-password"; }
                " " button type="submit" { "Log in" }
            }
        },
    )
}

/// A plain message page.
pub(crate) fn message(title: &str, msg: &str, logged_in: bool) -> Markup {
    layout(title, logged_in, html! { p.flash { (msg) } })
}
