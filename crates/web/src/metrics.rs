//! A small Prometheus registry: counters, gauges and fixed-bucket histograms with labels,
//! rendered in the text exposition format (version 0.0.4).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

type Labels = Vec<(String, String)>;

/// A monotonically increasing counter.
#[derive(Debug, Clone, Default)]
pub struct Counter(Arc<AtomicU64>);

impl Counter {
    /// Add one.
    pub fn inc(&self) {
        self.add(1);
    }
    /// Add `n`.
    pub fn add(&self, n: u64) {
        self.0.fetch_add(n, Ordering::Relaxed);
    }
    /// Current value.
    pub fn get(&self) -> u64 {
        self.0.load(Ordering::Relaxed)
    }
}

/// A value that goes up and down (queue depths, connections).
#[derive(Debug, Clone, Default)]
pub struct Gauge(Arc<AtomicI64>);

impl Gauge {
    /// Set the value.
    pub fn set(&self, v: i64) {
        self.0.store(v, Ordering::Relaxed);
    }
    /// Add (or subtract, with a negative `d`).
    pub fn add(&self, d: i64) {
        self.0.fetch_add(d, Ordering::Relaxed);
    }
    /// Current value.
    pub fn get(&self) -> i64 {
        self.0.load(Ordering::Relaxed)
    }
}

#[derive(Debug)]
struct HistInner {
    bounds: Vec<f64>,
    counts: Vec<u64>,
    sum: f64,
    count: u64,
}

/// A histogram with fixed upper bounds (seconds, for latencies).
#[derive(Debug, Clone)]
pub struct Histogram(Arc<Mutex<HistInner>>);

impl Histogram {
    /// Record one observation.
    pub fn observe(&self, v: f64) {
        let mut h = match self.0.lock() {
            Ok(h) => h,
            Err(p) => p.into_inner(),
        };
        if let Some(i) = h.bounds.iter().position(|b| v <= *b) {
            h.counts[i] += 1;
        }
        h.sum += v;
        h.count += 1;
    }
}

/// Default latency buckets, in seconds (1 ms … 10 s).
pub const LATENCY_BUCKETS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 10.0,
];

/// A gauge whose value is computed when it is rendered (a lag measured at each scrape).
#[derive(Clone)]
struct GaugeFn(Arc<dyn Fn() -> i64 + Send + Sync>);

impl std::fmt::Debug for GaugeFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("GaugeFn")
    }
}

#[derive(Debug)]
enum Metric {
    Counter(Counter),
    Gauge(Gauge),
    GaugeFn(GaugeFn),
    Histogram(Histogram),
}

#[derive(Debug)]
struct Family {
    help: String,
    kind: &'static str,
    series: BTreeMap<Labels, Metric>,
}

/// The registry. Cheap to share (`Arc<Metrics>`); getting the same name and labels twice
/// returns the same series.
#[derive(Debug, Default)]
pub struct Metrics {
    families: Mutex<BTreeMap<String, Family>>,
}

fn labels(l: &[(&str, &str)]) -> Labels {
    l.iter()
        .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
        .collect()
}

impl Metrics {
    /// An empty registry.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    fn get_or<F: FnOnce() -> Metric>(
        &self,
        name: &str,
        help: &str,
        kind: &'static str,
        l: &[(&str, &str)],
        make: F,
    ) -> Option<Metric> {
        let mut f = match self.families.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        let fam = f.entry(name.to_owned()).or_insert_with(|| Family {
            help: help.to_owned(),
            kind,
            series: BTreeMap::new(),
        });
        if fam.kind != kind {
            return None;
        }
        let m = fam.series.entry(labels(l)).or_insert_with(make);
        Some(match m {
            Metric::Counter(c) => Metric::Counter(c.clone()),
            Metric::Gauge(g) => Metric::Gauge(g.clone()),
            Metric::GaugeFn(g) => Metric::GaugeFn(g.clone()),
            Metric::Histogram(h) => Metric::Histogram(h.clone()),
        })
    }

    /// The counter `name{labels}` (created at 0). A name already registered as another type
    /// yields a detached counter that is not exported.
    pub fn counter(&self, name: &str, help: &str, l: &[(&str, &str)]) -> Counter {
        match self.get_or(name, help, "counter", l, || {
            Metric::Counter(Counter::default())
        }) {
            Some(Metric::Counter(c)) => c,
            _ => Counter::default(),
        }
    }

    /// The gauge `name{labels}` (created at 0).
    pub fn gauge(&self, name: &str, help: &str, l: &[(&str, &str)]) -> Gauge {
        match self.get_or(name, help, "gauge", l, || Metric::Gauge(Gauge::default())) {
            Some(Metric::Gauge(g)) => g,
            _ => Gauge::default(),
        }
    }

    /// The gauge `name{labels}` whose value `f` computes at every render (keep it
    /// cheap: it runs under the registry's lock). The first registration wins.
    pub fn gauge_fn(
        &self,
        name: &str,
        help: &str,
        l: &[(&str, &str)],
        f: impl Fn() -> i64 + Send + Sync + 'static,
    ) {
        let _ = self.get_or(name, help, "gauge", l, || {
            Metric::GaugeFn(GaugeFn(Arc::new(f)))
        });
    }

    /// The histogram `name{labels}` with the given bucket upper bounds (ascending).
    pub fn histogram(
        &self,
        name: &str,
        help: &str,
        l: &[(&str, &str)],
        bounds: &[f64],
    ) -> Histogram {
        let make = || {
            Metric::Histogram(Histogram(Arc::new(Mutex::new(HistInner {
                bounds: bounds.to_vec(),
                counts: vec![0; bounds.len()],
                sum: 0.0,
                count: 0,
            }))))
        };
        match self.get_or(name, help, "histogram", l, make) {
            Some(Metric::Histogram(h)) => h,
            _ => match make() {
                Metric::Histogram(h) => h,
                _ => unreachable!("make builds a histogram"),
            },
        }
    }

    /// The Prometheus text exposition of every series.
    pub fn render(&self) -> String {
        let f = match self.families.lock() {
            Ok(f) => f,
            Err(p) => p.into_inner(),
        };
        let mut out = String::new();
        for (name, fam) in f.iter() {
            let _ = writeln!(out, "# HELP {name} {}", escape_help(&fam.help));
            let _ = writeln!(out, "# TYPE {name} {}", fam.kind);
            for (l, m) in &fam.series {
                match m {
                    Metric::Counter(c) => {
                        let _ = writeln!(out, "{name}{} {}", fmt_labels(l, None), c.get());
                    }
                    Metric::Gauge(g) => {
                        let _ = writeln!(out, "{name}{} {}", fmt_labels(l, None), g.get());
                    }
                    Metric::GaugeFn(g) => {
                        let _ = writeln!(out, "{name}{} {}", fmt_labels(l, None), (g.0)());
                    }
                    Metric::Histogram(h) => {
                        let h = match h.0.lock() {
                            Ok(h) => h,
                            Err(p) => p.into_inner(),
                        };
                        let mut cum = 0;
                        for (b, c) in h.bounds.iter().zip(&h.counts) {
                            cum += c;
                            let le = b.to_string();
                            let _ =
                                writeln!(out, "{name}_bucket{} {cum}", fmt_labels(l, Some(&le)));
                        }
                        let _ = writeln!(
                            out,
                            "{name}_bucket{} {}",
                            fmt_labels(l, Some("+Inf")),
                            h.count
                        );
                        let _ = writeln!(out, "{name}_sum{} {}", fmt_labels(l, None), h.sum);
                        let _ = writeln!(out, "{name}_count{} {}", fmt_labels(l, None), h.count);
                    }
                }
            }
        }
        out
    }
}

fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

fn escape_value(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

fn fmt_labels(l: &Labels, le: Option<&str>) -> String {
    if l.is_empty() && le.is_none() {
        return String::new();
    }
    let mut parts: Vec<String> = l
        .iter()
        .map(|(k, v)| format!("{k}=\"{}\"", escape_value(v)))
        .collect();
    if let Some(le) = le {
        parts.push(format!("le=\"{le}\""));
    }
    format!("{{{}}}", parts.join(","))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn render_text_format() {
        let m = Metrics::new();
        m.counter(
            "picket_results_rejected_total",
            "Rejected results.",
            &[("reason", "bad \"crc\"")],
        )
        .add(3);
        let c = m.counter("picket_results_received_total", "Results.", &[]);
        c.inc();
        m.counter("picket_results_received_total", "Results.", &[])
            .inc();
        m.gauge("picket_queue_depth", "Queue.", &[("queue", "notify")])
            .set(7);
        let h = m.histogram("picket_latency_seconds", "Latency.", &[], &[0.01, 0.1]);
        h.observe(0.005);
        h.observe(0.05);
        h.observe(5.0);
        let t = m.render();
        assert!(
            t.contains(
                "# TYPE picket_results_received_total counter\npicket_results_received_total 2\n"
            ),
            "{t}"
        );
        assert!(
            t.contains("picket_results_rejected_total{reason=\"bad \\\"crc\\\"\"} 3"),
            "{t}"
        );
        assert!(t.contains("picket_queue_depth{queue=\"notify\"} 7"), "{t}");
        assert!(
            t.contains("picket_latency_seconds_bucket{le=\"0.01\"} 1"),
            "{t}"
        );
        assert!(
            t.contains("picket_latency_seconds_bucket{le=\"0.1\"} 2"),
            "{t}"
        );
        assert!(
            t.contains("picket_latency_seconds_bucket{le=\"+Inf\"} 3"),
            "{t}"
        );
        assert!(t.contains("picket_latency_seconds_count 3"), "{t}");
        // Same name, other type: detached, not exported twice.
        m.gauge("picket_results_received_total", "x", &[]).set(99);
        assert!(!m.render().contains(" 99"));
        // A computed gauge is computed at each render.
        let n = Arc::new(AtomicI64::new(5));
        let n2 = Arc::clone(&n);
        m.gauge_fn("picket_lag", "Lag.", &[], move || {
            n2.load(Ordering::Relaxed)
        });
        assert!(
            m.render()
                .contains("# TYPE picket_lag gauge\npicket_lag 5\n")
        );
        n.store(0, Ordering::Relaxed);
        assert!(m.render().contains("\npicket_lag 0\n"));
    }
}
