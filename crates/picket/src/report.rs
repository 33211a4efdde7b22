//! One path for the daemon's own errors and warnings.
//!
//! Every error the daemon meets at run time — a `nagios.log` or journal write that
//! failed, a retention snapshot that could not be saved, a warning of the built-in NSCA
//! receiver (bad CRC, over-limit, spoofing, emitted with `tracing`) — is counted in
//! `picket_errors_total{kind=...}` (`/metrics`) and reported with its context: in
//! `nagios.log` as Nagios reports its own (`Warning: ...`, `Error: ...`), or on
//! standard error when the log itself is what fails. Reports are rate limited per kind
//! (a flood of bad packets must not fill the disk); what is left out is counted and
//! said in the next report. Text from the network is made safe with
//! `picket_engine::output::log_safe` before it reaches a line.

use std::collections::HashMap;
use std::fmt::Write as _;
use std::sync::mpsc::{SyncSender, TrySendError};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use picket_web::Metrics;

use crate::input::Input;

/// The metric every error is counted in.
pub(crate) const ERRORS_TOTAL: &str = "picket_errors_total";
const ERRORS_HELP: &str = "Errors and warnings met by the daemon, by kind.";

/// Reports kept per kind and window before the rest are only counted.
const BURST: u32 = 20;
/// The rate-limit window.
const WINDOW: Duration = Duration::from_secs(10);

/// What went wrong (the `kind` label).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A `nagios.log` write failed.
    Log,
    /// A retention journal write failed.
    Journal,
    /// A retention snapshot could not be written.
    Retention,
    /// A warning or error of the built-in NSCA receiver.
    Nsca,
    /// Livestatus: a refused command, a client's I/O error, an accept failure.
    Livestatus,
    /// `status.dat` or `objects.cache` could not be written.
    Status,
    /// Any other component's `tracing` warning or error.
    Other,
}

impl Kind {
    fn label(self) -> &'static str {
        match self {
            Kind::Log => "log",
            Kind::Journal => "journal",
            Kind::Retention => "retention",
            Kind::Nsca => "nsca",
            Kind::Livestatus => "livestatus",
            Kind::Status => "status",
            Kind::Other => "other",
        }
    }
}

/// Per-kind rate limit: at most [`BURST`] reports per [`WINDOW`]. Sans-I/O: time is
/// passed in.
#[derive(Debug, Default)]
struct Limit {
    window_start: Option<Instant>,
    in_window: u32,
    suppressed: u64,
}

impl Limit {
    /// `Some(n)` when this one is to be reported, `n` being how many were left out
    /// since the last report; `None` when it is only counted.
    fn admit(&mut self, now: Instant) -> Option<u64> {
        let fresh = self
            .window_start
            .is_none_or(|s| now.saturating_duration_since(s) >= WINDOW);
        if fresh {
            self.window_start = Some(now);
            self.in_window = 0;
        }
        if self.in_window >= BURST {
            self.suppressed += 1;
            return None;
        }
        self.in_window += 1;
        Some(std::mem::take(&mut self.suppressed))
    }
}

/// The daemon's error reporter (cheap to clone).
#[derive(Clone)]
pub(crate) struct Errors {
    metrics: Arc<Metrics>,
    limits: Arc<Mutex<HashMap<Kind, Limit>>>,
}

impl Errors {
    pub(crate) fn new(metrics: Arc<Metrics>) -> Errors {
        let e = Errors {
            metrics,
            limits: Arc::default(),
        };
        // Export the series at 0, so a scrape shows there were none.
        for k in [
            Kind::Log,
            Kind::Journal,
            Kind::Retention,
            Kind::Nsca,
            Kind::Livestatus,
            Kind::Status,
            Kind::Other,
        ] {
            e.counter(k);
        }
        e
    }

    fn counter(&self, kind: Kind) -> picket_web::Counter {
        self.metrics
            .counter(ERRORS_TOTAL, ERRORS_HELP, &[("kind", kind.label())])
    }

    /// Count one error; returns the text to report (`message`, made log-safe, with
    /// how many were left out before it), or `None` when rate limited.
    pub(crate) fn note(&self, kind: Kind, message: &str) -> Option<String> {
        self.note_at(kind, message, Instant::now())
    }

    fn note_at(&self, kind: Kind, message: &str, now: Instant) -> Option<String> {
        self.counter(kind).inc();
        let suppressed = {
            let mut limits = match self.limits.lock() {
                Ok(l) => l,
                Err(p) => p.into_inner(),
            };
            limits.entry(kind).or_default().admit(now)?
        };
        let mut text = picket_engine::output::log_safe(message).into_owned();
        if suppressed > 0 {
            let _ = write!(
                text,
                " ({suppressed} more {} error(s) since the last report, counted in {ERRORS_TOTAL})",
                kind.label()
            );
        }
        Some(text)
    }

    /// Count and report into the engine thread's log buffer (`[now] Error: ...`).
    pub(crate) fn log_error(
        &self,
        kind: Kind,
        logbuf: &mut String,
        now: picket_engine::Time,
        message: &str,
    ) {
        if let Some(text) = self.note(kind, message) {
            let _ = writeln!(logbuf, "[{now}] Error: {text}");
        }
    }

    /// Count and report on standard error (for when `nagios.log` is what fails).
    pub(crate) fn stderr_error(&self, kind: Kind, message: &str) {
        if let Some(text) = self.note(kind, message) {
            eprintln!("picket: Error: {text}");
        }
    }
}

/// A `tracing` layer that turns events of the libraries the daemon runs (the NSCA
/// receiver above all) into `nagios.log` lines on the engine thread's channel, counting
/// warnings and errors. When the channel is full or gone the line goes to standard
/// error instead: it is never dropped unseen.
pub(crate) struct LogLayer {
    tx: SyncSender<Input>,
    errors: Errors,
}

impl LogLayer {
    pub(crate) fn new(tx: SyncSender<Input>, errors: Errors) -> LogLayer {
        LogLayer { tx, errors }
    }

    /// Install as the global subscriber (once per process; later calls do nothing).
    pub(crate) fn install(self) {
        use tracing_subscriber::layer::SubscriberExt;
        let subscriber = tracing_subscriber::registry().with(self);
        let _ = tracing::subscriber::set_global_default(subscriber);
    }
}

/// Collects an event's message and fields as one line.
#[derive(Default)]
struct Text(String);

impl tracing::field::Visit for Text {
    fn record_debug(&mut self, field: &tracing::field::Field, value: &dyn std::fmt::Debug) {
        if !self.0.is_empty() {
            self.0.push(' ');
        }
        if field.name() == "message" {
            let _ = write!(self.0, "{value:?}");
        } else {
            let _ = write!(self.0, "{}={value:?}", field.name());
        }
    }

    fn record_str(&mut self, field: &tracing::field::Field, value: &str) {
        if field.name() == "message" {
            if !self.0.is_empty() {
                self.0.push(' ');
            }
            self.0.push_str(value);
        } else {
            self.record_debug(field, &value);
        }
    }
}

impl<S: tracing::Subscriber> tracing_subscriber::Layer<S> for LogLayer {
    fn enabled(
        &self,
        metadata: &tracing::Metadata<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) -> bool {
        // The NSCA receiver's INFO lines only come with its `debug=1`.
        *metadata.level() <= tracing::Level::INFO
    }

    fn on_event(
        &self,
        event: &tracing::Event<'_>,
        _ctx: tracing_subscriber::layer::Context<'_, S>,
    ) {
        let meta = event.metadata();
        let mut text = Text::default();
        event.record(&mut text);
        // The receivers' crates (`picket_nsca`, `picket_nsca_ng`) and the explicit
        // `nsca`/`nsca_ng` targets are NSCA's lines.
        let t = meta.target();
        let (kind, source) = if t.starts_with("nsca") || t.starts_with("picket_nsca") {
            (Kind::Nsca, "NSCA")
        } else {
            (Kind::Other, meta.target())
        };
        let level = *meta.level();
        let line = if level <= tracing::Level::WARN {
            let Some(t) = self.errors.note(kind, &text.0) else {
                return;
            };
            let prefix = if level == tracing::Level::ERROR {
                "Error"
            } else {
                "Warning"
            };
            format!("{prefix}: {}: {t}", picket_engine::output::log_safe(source))
        } else {
            format!(
                "{}: {}",
                picket_engine::output::log_safe(source),
                picket_engine::output::log_safe(&text.0)
            )
        };
        match self.tx.try_send(Input::Log(line)) {
            Ok(()) => {}
            Err(
                TrySendError::Full(Input::Log(line)) | TrySendError::Disconnected(Input::Log(line)),
            ) => {
                eprintln!("picket: {line}");
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reports_are_rate_limited_and_the_rest_counted() {
        let metrics = Arc::new(Metrics::new());
        let e = Errors::new(Arc::clone(&metrics));
        let t0 = Instant::now();
        let mut shown = 0;
        for _ in 0..(BURST + 5) {
            if e.note_at(Kind::Journal, "disk full", t0).is_some() {
                shown += 1;
            }
        }
        assert_eq!(shown, BURST);
        // The next window says how many were left out.
        let next = e
            .note_at(Kind::Journal, "disk full", t0 + WINDOW)
            .expect("reported");
        assert!(
            next.starts_with("disk full (5 more journal error(s)"),
            "{next}"
        );
        let rendered = metrics.render();
        assert!(
            rendered.contains(&format!("{ERRORS_TOTAL}{{kind=\"journal\"}} {}", BURST + 6)),
            "{rendered}"
        );
        assert!(
            rendered.contains(&format!("{ERRORS_TOTAL}{{kind=\"log\"}} 0")),
            "{rendered}"
        );
        // Another kind has its own budget.
        assert!(e.note_at(Kind::Log, "x", t0).is_some());
    }

    #[test]
    fn reported_text_is_log_safe() {
        let e = Errors::new(Arc::new(Metrics::new()));
        let t = e
            .note(Kind::Nsca, "bad\n[0] DISABLE_NOTIFICATIONS")
            .expect("reported");
        assert!(!t.contains('\n'), "{t}");
    }
}
