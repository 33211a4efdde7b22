//! The timeline chart of a source's connection events, rendered on the server as SVG
//! (no script, no inline style: classes styled by `/static/picket.css`).
//!
//! Sans-I/O: marks, spans and the drawing's bounds in, markup out. Time runs left to
//! right; each row is one reporting host (or host and port); a mark's area grows with the
//! event's count; incidents are shaded spans behind the marks. Every text (host names,
//! daemons, raw lines: all from the network) goes through maud's escaping. At most
//! [`MAX_MARKS`] marks and [`MAX_ROWS`] rows are drawn; the caption says how many were
//! left out.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use maud::{Markup, html};

use crate::pages::cut;

/// Marks drawn at most; the newest are kept.
pub(crate) const MAX_MARKS: usize = 2_000;
/// Rows drawn at most (the busiest are kept).
pub(crate) const MAX_ROWS: usize = 48;
/// Up to this many distinct host/port pairs get a row each; past it, one row per host.
pub(crate) const MAX_PORT_ROWS: usize = 32;
/// Row labels are cut to this many characters.
const LABEL_CHARS: usize = 21;

/// One event to draw.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Mark {
    /// Epoch seconds.
    pub(crate) time: i64,
    /// The reporting host.
    pub(crate) host: String,
    /// `tcp/22`, when known.
    pub(crate) port: Option<String>,
    /// `refused`, `firewall_drop`, `auth_fail`, `trap` (anything else is drawn as `other`).
    pub(crate) kind: String,
    /// How many connections the event stands for (≥ 1).
    pub(crate) count: u32,
    /// Tooltip detail (daemon, raw text).
    pub(crate) detail: String,
}

/// One incident, shaded from its first to its last event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Span {
    pub(crate) id: u64,
    pub(crate) start: i64,
    pub(crate) end: i64,
    pub(crate) open: bool,
    pub(crate) label: String,
}

// Geometry, in user units of the viewBox.
const WIDTH: f64 = 1000.0;
const LEFT: f64 = 160.0;
const RIGHT: f64 = 16.0;
const TOP: f64 = 26.0;
const ROW: f64 = 26.0;
/// Row height when there are more than [`TALL_ROWS`] rows.
const ROW_LOW: f64 = 16.0;
const TALL_ROWS: usize = 16;
const AXIS: f64 = 34.0;

/// A kind's CSS class (a closed set: never the network's text).
fn kind_class(kind: &str) -> &'static str {
    match kind {
        "refused" => "k-refused",
        "firewall_drop" => "k-drop",
        "auth_fail" => "k-auth",
        "trap" => "k-trap",
        _ => "k-other",
    }
}

/// Radius of a mark for `count` connections: area grows with the count, bounded.
pub(crate) fn radius(count: u32) -> f64 {
    (3.0 + 1.5 * f64::from(count.max(1)).log2()).min(11.0)
}

/// A tick step (seconds) giving at most about `max` ticks over `range` seconds.
pub(crate) fn tick_step_n(range: i64, max: i64) -> i64 {
    let max = max.max(1);
    const STEPS: [i64; 17] = [
        1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200, 10_800, 21_600, 43_200,
    ];
    let range = range.max(1);
    for s in STEPS {
        if range / s <= max {
            return s;
        }
    }
    let mut s = 86_400;
    while range / s > max {
        s *= 2;
    }
    s
}

fn clock(t: i64, with_seconds: bool) -> String {
    let fmt = if with_seconds { "%H:%M:%S" } else { "%H:%M" };
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.strftime(fmt).to_string())
        .unwrap_or_else(|_| t.to_string())
}

fn day(t: i64) -> String {
    jiff::Timestamp::from_second(t)
        .map(|ts| ts.strftime("%Y-%m-%d").to_string())
        .unwrap_or_default()
}

fn num(x: f64) -> String {
    let mut s = String::new();
    let _ = write!(s, "{x:.1}");
    s
}

/// Width of a cut quiet stretch, in user units.
const GAP: f64 = 44.0;

/// One busy stretch of the time axis: `t0..=t1` drawn over `x0..=x1`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Seg {
    pub(crate) t0: i64,
    pub(crate) t1: i64,
    pub(crate) x0: f64,
    pub(crate) x1: f64,
}

/// Split the times into busy stretches (a quiet gap longer than an eighth of the whole
/// range and than 10 minutes separates two), each padded, sharing `x0..x1` by duration
/// (with a floor so a short burst stays visible), cut gaps [`GAP`] wide between them.
pub(crate) fn segments(points: &mut [i64], x0: f64, x1: f64) -> Vec<Seg> {
    points.sort_unstable();
    let (Some(&first), Some(&last)) = (points.first(), points.last()) else {
        return vec![Seg {
            t0: 0,
            t1: 1,
            x0,
            x1,
        }];
    };
    let cut = ((last - first) / 8).max(600);
    let mut runs: Vec<(i64, i64)> = vec![(first, first)];
    for &t in points.iter() {
        let cur = runs.last_mut().expect("one run");
        if t - cur.1 > cut {
            runs.push((t, t));
        } else {
            cur.1 = t;
        }
    }
    // At most 6 stretches: merge across the shortest gaps first.
    while runs.len() > 6 {
        let i = (0..runs.len() - 1)
            .min_by_key(|&i| runs[i + 1].0 - runs[i].1)
            .expect("two runs");
        runs[i].1 = runs[i + 1].1;
        runs.remove(i + 1);
    }
    let padded: Vec<(i64, i64)> = runs
        .iter()
        .map(|&(a, b)| {
            let pad = ((b - a) / 30).max(5);
            (a - pad, b + pad)
        })
        .collect();
    let n = padded.len() as f64;
    let avail = (x1 - x0) - GAP * (n - 1.0);
    let total: f64 = padded.iter().map(|(a, b)| (b - a) as f64).sum();
    let mut x = x0;
    let mut out = Vec::with_capacity(padded.len());
    for (a, b) in padded {
        let share = 0.3 / n + 0.7 * (b - a) as f64 / total.max(1.0);
        let w = avail * share;
        out.push(Seg {
            t0: a,
            t1: b,
            x0: x,
            x1: x + w,
        });
        x += w + GAP;
    }
    out
}

/// The x of time `t`: linear within a stretch, and across a cut gap between its ends.
pub(crate) fn scale_x(segs: &[Seg], t: i64) -> f64 {
    let lin = |t: i64, t0: i64, t1: i64, x0: f64, x1: f64| {
        x0 + (t - t0) as f64 / ((t1 - t0).max(1)) as f64 * (x1 - x0)
    };
    let (Some(f), Some(l)) = (segs.first(), segs.last()) else {
        return 0.0;
    };
    if t <= f.t0 {
        return f.x0;
    }
    if t >= l.t1 {
        return l.x1;
    }
    for (i, g) in segs.iter().enumerate() {
        if t <= g.t1 {
            return if t >= g.t0 {
                lin(t, g.t0, g.t1, g.x0, g.x1)
            } else {
                let p = &segs[i - 1];
                lin(t, p.t1, g.t0, p.x1, g.x0)
            };
        }
    }
    l.x1
}

/// `1h 18m`, `12m`, `40s`.
fn duration(secs: i64) -> String {
    let (d, h, m, s) = (secs / 86_400, secs / 3600 % 24, secs / 60 % 60, secs % 60);
    if d > 0 {
        format!("{d}d {h}h")
    } else if h > 0 {
        format!("{h}h {m:02}m")
    } else if m > 0 {
        format!("{m}m")
    } else {
        format!("{s}s")
    }
}

/// What [`render`] drew (for the caption and for tests).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Drawn {
    pub(crate) marks: usize,
    pub(crate) marks_left_out: usize,
    pub(crate) rows: usize,
    pub(crate) rows_left_out: usize,
    pub(crate) spans: usize,
}

/// Render the chart. `marks` in any order; a span is drawn from its first to its last
/// event (an open one dashed, labelled `open`). Empty input gives a short note instead of
/// an empty drawing.
pub(crate) fn render(marks: &[Mark], spans: &[Span]) -> (Markup, Drawn) {
    let mut drawn = Drawn::default();
    if marks.is_empty() {
        return (
            html! { p.muted #timeline-empty { "No connection events recorded for this source." } },
            drawn,
        );
    }
    // Keep the newest MAX_MARKS.
    let mut order: Vec<&Mark> = marks.iter().collect();
    order.sort_by_key(|m| std::cmp::Reverse(m.time));
    drawn.marks_left_out = order.len().saturating_sub(MAX_MARKS);
    order.truncate(MAX_MARKS);

    // Rows: host/port when there are few pairs, else host; the busiest MAX_ROWS.
    let pairs: std::collections::BTreeSet<(&str, Option<&str>)> = order
        .iter()
        .map(|m| (m.host.as_str(), m.port.as_deref()))
        .collect();
    let by_port = pairs.len() <= MAX_PORT_ROWS;
    let row_key = |m: &Mark| -> String {
        match (&m.port, by_port) {
            (Some(p), true) => format!("{} {p}", m.host),
            _ => m.host.clone(),
        }
    };
    // Per row: connections and first time seen.
    let mut totals: BTreeMap<String, (u64, i64)> = BTreeMap::new();
    for m in &order {
        let e = totals.entry(row_key(m)).or_insert((0, m.time));
        e.0 += u64::from(m.count.max(1));
        e.1 = e.1.min(m.time);
    }
    let mut rows: Vec<(String, (u64, i64))> = totals.into_iter().collect();
    if rows.len() > MAX_ROWS {
        rows.sort_by(|a, b| b.1.0.cmp(&a.1.0).then_with(|| a.0.cmp(&b.0)));
        drawn.rows_left_out = rows.len() - MAX_ROWS;
        rows.truncate(MAX_ROWS);
    }
    // In the order the source reached them (a sweep draws a staircase).
    rows.sort_by(|a, b| a.1.1.cmp(&b.1.1).then_with(|| a.0.cmp(&b.0)));
    let rows: Vec<(String, u64)> = rows.into_iter().map(|(k, (n, _))| (k, n)).collect();
    let index: BTreeMap<&str, usize> = rows
        .iter()
        .enumerate()
        .map(|(i, (k, _))| (k.as_str(), i))
        .collect();
    drawn.rows = rows.len();

    // Time range: the drawn events and the spans that overlap them, padded.
    let t_min = order.iter().map(|m| m.time).min().unwrap_or_default();
    let t_max = order.iter().map(|m| m.time).max().unwrap_or_default();
    let spans: Vec<(&Span, i64, i64)> = spans
        .iter()
        .map(|s| (s, s.start, s.end.max(s.start)))
        .filter(|(_, a, b)| *b >= t_min && *a <= t_max)
        .collect();
    // Busy stretches share the width; a quiet gap between them is cut to GAP wide.
    let mut points: Vec<i64> = order.iter().map(|m| m.time).collect();
    for (_, a, b) in &spans {
        points.push(*a);
        points.push(*b);
    }
    let plot_w = WIDTH - LEFT - RIGHT;
    let segs = segments(&mut points, LEFT, WIDTH - RIGHT);
    let x = |t: i64| scale_x(&segs, t);
    let row_h = if rows.len() > TALL_ROWS { ROW_LOW } else { ROW };
    let height = TOP + row_h * rows.len() as f64 + AXIS;
    let plot_bottom = TOP + row_h * rows.len() as f64;
    let r_max = row_h / 2.0 - 1.0;
    // Ticks per stretch, about one per 90 units.
    let mut ticks: Vec<(i64, bool)> = Vec::new();
    for g in &segs {
        let max = ((g.x1 - g.x0) / 90.0).floor().max(1.0) as i64;
        let step = tick_step_n(g.t1 - g.t0, max);
        let first =
            g.t0.div_euclid(step) * step + if g.t0.rem_euclid(step) == 0 { 0 } else { step };
        ticks.extend(
            (0..)
                .map(|i| first + i * step)
                .take_while(|t| *t <= g.t1)
                .map(|t| (t, step < 60)),
        );
    }
    let gaps: Vec<(f64, f64, i64)> = segs
        .windows(2)
        .map(|w| (w[0].x1, w[1].x0, w[1].t0 - w[0].t1))
        .collect();
    drawn.spans = spans.len();
    drawn.marks = order
        .iter()
        .filter(|m| index.contains_key(row_key(m).as_str()))
        .count();
    // Draw the oldest first so the newest lie on top.
    order.reverse();

    let svg = html! {
        svg.timeline #timeline xmlns="http://www.w3.org/2000/svg" role="img"
            viewBox=(format!("0 0 {} {}", WIDTH, num(height)))
            aria-label=(format!("Connection events from {} to {}", clock(t_min, true), clock(t_max, true))) {
            // Row bands and labels.
            @for (i, (label, total)) in rows.iter().enumerate() {
                @let y = TOP + row_h * i as f64;
                rect class=(if i % 2 == 0 { "band even" } else { "band odd" })
                    x=(num(LEFT)) y=(num(y)) width=(num(plot_w)) height=(num(row_h)) {}
                text.rowlabel x=(num(LEFT - 8.0)) y=(num(y + row_h / 2.0 + 4.0)) text-anchor="end" {
                    title { (label) ": " (total) " connections" }
                    (cut(label, LABEL_CHARS))
                }
            }
            // Incidents behind the marks.
            @for (s, a, b) in &spans {
                @let (xa, xb) = (x(*a), x(*b));
                g class=(if s.open { "span open" } else { "span closed" }) {
                    title { (s.label) }
                    rect x=(num(xa)) y=(num(TOP - 4.0)) width=(num((xb - xa).max(3.0))) height=(num(plot_bottom - TOP + 8.0)) rx="3" {}
                    text.spanlabel x=(num(xa + 3.0)) y=(num(TOP - 8.0)) { "#" (s.id) @if s.open { " open" } }
                }
            }
            // Time axis.
            line.axis x1=(num(LEFT)) y1=(num(plot_bottom)) x2=(num(WIDTH - RIGHT)) y2=(num(plot_bottom)) {}
            @for (i, (t, secs)) in ticks.iter().enumerate() {
                @let tx = x(*t);
                line.grid x1=(num(tx)) y1=(num(TOP)) x2=(num(tx)) y2=(num(plot_bottom + 4.0)) {}
                text.tick x=(num(tx)) y=(num(plot_bottom + 17.0)) text-anchor="middle" { (clock(*t, *secs)) }
                @if i == 0 || day(*t) != day(ticks[i - 1].0) {
                    text.tickday x=(num(tx)) y=(num(plot_bottom + 30.0)) text-anchor="middle" { (day(*t)) }
                }
            }
            // Cut quiet stretches.
            @for (a, b, quiet) in &gaps {
                g.gap {
                    title { (duration(*quiet)) " without events" }
                    rect x=(num(*a)) y=(num(TOP)) width=(num(b - a)) height=(num(plot_bottom - TOP)) {}
                    text.gaplabel x=(num((a + b) / 2.0)) y=(num(plot_bottom + 17.0)) text-anchor="middle" { "⋯" }
                    text.gaplabel x=(num((a + b) / 2.0)) y=(num(plot_bottom + 30.0)) text-anchor="middle" { (duration(*quiet)) }
                }
            }
            // The marks.
            @for m in &order {
                @if let Some(&row) = index.get(row_key(m).as_str()) {
                    circle class=(format!("mark {}", kind_class(&m.kind)))
                        cx=(num(x(m.time))) cy=(num(TOP + row_h * row as f64 + row_h / 2.0)) r=(num(radius(m.count).min(r_max))) {
                        title {
                            (clock(m.time, true)) " " (m.host)
                            @if let Some(p) = &m.port { " " (p) }
                            " " (m.kind) " ×" (m.count)
                            @if !m.detail.is_empty() { " — " (m.detail) }
                        }
                    }
                }
            }
        }
    };
    let left_out = drawn.marks_left_out + (order.len() - drawn.marks);
    let markup = html! {
        figure.chart {
            (svg)
            figcaption.muted #timeline-caption {
                span.legend { span.key.k-refused {} "refused" }
                span.legend { span.key.k-drop {} "firewall drop" }
                span.legend { span.key.k-auth {} "auth failure" }
                span.legend { span.key.k-trap {} "trap port" }
                span.legend { span.key.shade {} "incident" }
                " " (drawn.marks) " events drawn"
                @if left_out > 0 { ", " (left_out) " older or in hidden rows left out" }
                @if drawn.rows_left_out > 0 { "; " (drawn.rows_left_out) " quieter rows not shown" }
                @if !gaps.is_empty() { "; quiet stretches cut (⋯)" }
                "; rows by " (if by_port { "host and port" } else { "host" }) ". Times UTC."
            }
        }
    };
    (markup, drawn)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn mark(time: i64, host: &str, port: Option<&str>, count: u32) -> Mark {
        Mark {
            time,
            host: host.into(),
            port: port.map(str::to_owned),
            kind: "refused".into(),
            count,
            detail: String::new(),
        }
    }

    #[test]
    fn empty_is_a_note() {
        let (m, d) = render(&[], &[]);
        let s = m.into_string();
        assert!(s.contains("No connection events"), "{s}");
        assert!(!s.contains("<svg"));
        assert_eq!(d, Drawn::default());
    }

    #[test]
    fn hostile_names_are_escaped() {
        let mut m = mark(
            1_700_000_000,
            "<script>alert(1)</script>",
            Some("tcp/22\"><x"),
            1,
        );
        m.kind = "\"><img src=x onerror=alert(1)>".into();
        m.detail = "</title><script>x</script>&".into();
        let spans = [Span {
            id: 7,
            start: 1_700_000_000,
            end: 1_700_000_010,
            open: false,
            label: "<b>evil</b>".into(),
        }];
        let s = render(&[m], &spans).0.into_string();
        assert!(!s.contains("<script"), "{s}");
        assert!(!s.contains("<img"), "{s}");
        assert!(!s.contains("<b>"), "{s}");
        assert!(!s.contains("tcp/22\">"), "{s}");
        assert!(s.contains("tcp/22&quot;&gt;&lt;x"), "{s}");
        assert!(s.contains("&lt;script&gt;"), "{s}");
        // An unknown kind never reaches the class attribute.
        assert!(s.contains("mark k-other"), "{s}");
    }

    #[test]
    fn axis_has_time_labels_and_a_date() {
        // 12:00:00 .. 12:10:00 UTC on 2023-11-14.
        let base = 1_699_963_200;
        let marks = [
            mark(base, "web1", Some("tcp/22"), 1),
            mark(base + 600, "web2", Some("tcp/22"), 4),
        ];
        let s = render(&marks, &[]).0.into_string();
        assert!(s.contains(">12:00<"), "{s}");
        assert!(s.contains(">12:10<"), "{s}");
        assert!(s.contains(">2023-11-14<"), "{s}");
        assert_eq!(s.matches("<circle").count(), 2);
        assert!(
            s.contains(">web1 tcp/22<") || s.contains("web1 tcp/22</text>"),
            "{s}"
        );
        // A count of 4 is drawn larger than a count of 1.
        assert!(radius(4) > radius(1));
        assert!(radius(u32::MAX) <= 11.0);
        // Rows in the order the source reached them.
        let a = s.find("web1 tcp/22").expect("web1");
        let b = s.find("web2 tcp/22").expect("web2");
        assert!(a < b);
    }

    #[test]
    fn quiet_stretches_are_cut() {
        // A sweep, then 80 quiet minutes, then a port scan.
        let mut pts: Vec<i64> = (0..12).map(|i| 1000 + 4 * i).collect();
        pts.extend((0..14).map(|i| 6000 + 3 * i));
        let segs = segments(&mut pts, 100.0, 900.0);
        assert_eq!(segs.len(), 2, "{segs:?}");
        assert!((segs[1].x0 - segs[0].x1 - GAP).abs() < 1e-6);
        assert!((segs[1].x1 - 900.0).abs() < 1e-6);
        // Both bursts get a real share of the width.
        assert!(segs[0].x1 - segs[0].x0 > 150.0, "{segs:?}");
        // Monotone, continuous across the gap.
        let xs: Vec<f64> = (900..6200).step_by(50).map(|t| scale_x(&segs, t)).collect();
        assert!(xs.windows(2).all(|w| w[0] <= w[1]));
        // One stretch when nothing is quiet for long.
        let mut even: Vec<i64> = (0..100).map(|i| i * 60).collect();
        assert_eq!(segments(&mut even, 0.0, 10.0).len(), 1);
        // A cut gap is drawn and labelled with its length.
        let marks: Vec<Mark> = pts.iter().map(|&t| mark(t, "h", None, 1)).collect();
        let s = render(&marks, &[]).0.into_string();
        assert!(s.contains(r#"class="gap""#), "{s}");
        assert!(s.contains(">1h 22m<"), "{s}");
    }

    #[test]
    fn tick_steps_are_round() {
        assert_eq!(tick_step_n(0, 8), 1);
        assert_eq!(tick_step_n(8, 8), 1);
        assert_eq!(tick_step_n(60, 8), 10);
        assert_eq!(tick_step_n(600, 8), 120);
        assert_eq!(tick_step_n(3600, 8), 600);
        assert_eq!(tick_step_n(86_400, 8), 10_800);
        assert!(86_400 * 30 / tick_step_n(86_400 * 30, 8) <= 8);
    }

    #[test]
    fn caps_marks_and_rows_and_says_so() {
        let mut marks = Vec::new();
        for i in 0..(MAX_MARKS as i64 + 500) {
            marks.push(mark(1_000_000 + i, &format!("h{}", i % 68), None, 1));
        }
        let (m, d) = render(&marks, &[]);
        let s = m.into_string();
        assert_eq!(d.marks_left_out, 500);
        assert_eq!(d.rows, MAX_ROWS);
        assert_eq!(d.rows_left_out, 20);
        assert_eq!(s.matches("<circle").count(), d.marks);
        assert!(d.marks < MAX_MARKS);
        assert!(s.contains("older or in hidden rows left out"), "caption");
        assert!(s.contains("20 quieter rows not shown"));
    }

    #[test]
    fn rows_by_host_when_many_ports() {
        let marks: Vec<Mark> = (0..40)
            .map(|p| mark(100 + p, "db1", Some(&format!("tcp/{}", 1000 + p)), 1))
            .collect();
        let (m, d) = render(&marks, &[]);
        assert_eq!(d.rows, 1);
        assert!(m.into_string().contains("rows by host."));
        let few: Vec<Mark> = (0..3)
            .map(|p| mark(100 + p, "db1", Some(&format!("tcp/{}", 1000 + p)), 1))
            .collect();
        assert_eq!(render(&few, &[]).1.rows, 3);
    }

    #[test]
    fn open_spans_are_marked_and_far_spans_are_dropped() {
        let marks = [mark(1000, "a", None, 1), mark(1100, "b", None, 1)];
        let spans = [
            Span {
                id: 1,
                start: 1000,
                end: 1100,
                open: true,
                label: "open".into(),
            },
            Span {
                id: 2,
                start: 10,
                end: 20,
                open: false,
                label: "old".into(),
            },
        ];
        let (m, d) = render(&marks, &spans);
        assert_eq!(d.spans, 1);
        let s = m.into_string();
        assert!(s.contains("span open"));
        assert!(s.contains("#1 open"));
        assert!(!s.contains("#2"));
    }
}
