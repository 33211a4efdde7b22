//! The accept loop: a cap on open connections, and per source, hyper's header-read timeout (which also
//! closes idle keep-alive connections), the client's address for the handlers, and a
//! graceful shutdown that ends live-event streams.
//!
//! `axum::serve` cannot take a timer or a connection cap, so this is hyper's HTTP/1
//! connection builder driven directly.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::extract::ConnectInfo;
use axum::http::Request;
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tower_service::Service;

use crate::guard::{SourceSlot, SourceSlots};
use crate::{Gauge, WebState, router};

/// Serve until the listener fails.
pub async fn serve(listener: TcpListener, state: WebState) -> std::io::Result<()> {
    serve_with_shutdown(listener, state, std::future::pending()).await
}

/// Serve until `shutdown` completes; then stop accepting, end the live-event streams,
/// close idle connections, give requests in progress [`crate::WebConfig::shutdown_grace`]
/// to finish, drop the rest, and return.
pub async fn serve_with_shutdown(
    listener: TcpListener,
    state: WebState,
    shutdown: impl Future<Output = ()> + Send,
) -> std::io::Result<()> {
    let cfg = Arc::clone(&state.cfg);
    let m = Arc::clone(&state.metrics);
    let open = m.gauge("picket_web_connections_open", "Web connections open.", &[]);
    let refused_help = "Web connections closed at once: web_max_connections were open \
                        (cap), or that many from the same source (per_source).";
    let refused = m.counter(
        "picket_web_connections_refused_total",
        refused_help,
        &[("reason", "cap")],
    );
    let refused_source = m.counter(
        "picket_web_connections_refused_total",
        refused_help,
        &[("reason", "per_source")],
    );
    let timeouts = m.counter(
        "picket_web_header_timeouts_total",
        "Web connections closed because no complete request head came in time (new or idle).",
        &[],
    );
    let conn_errors = m.counter(
        "picket_web_connection_errors_total",
        "Web connections that ended in an HTTP or I/O error (other than the header timeout).",
        &[],
    );
    let accept_errors = m.counter(
        "picket_web_accept_errors_total",
        "Errors accepting web connections (such as running out of file descriptors).",
        &[],
    );
    let slots = Arc::new(Semaphore::new(cfg.max_connections.max(1)));
    let per_source = SourceSlots::new(cfg.per_source_limit());
    let router = router(state.clone());
    let (close_tx, close_rx) = watch::channel(false);
    let mut conns = JoinSet::new();
    // Log the first of a run of refusals or accept errors, count them all.
    let mut full = false;
    let mut source_full = false;
    let mut failing = false;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        while conns.try_join_next().is_some() {}
        let (stream, peer) = tokio::select! {
            r = listener.accept() => match r {
                Ok(c) => {
                    failing = false;
                    c
                }
                Err(e) => {
                    accept_errors.inc();
                    if !failing {
                        failing = true;
                        eprintln!(
                            "picket: web: accept: {e} (counted in picket_web_accept_errors_total)"
                        );
                    }
                    // Out of fds (or another transient error): do not spin.
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Some(source_slot) = per_source.take(peer.ip()) else {
            refused_source.inc();
            if !source_full {
                source_full = true;
                eprintln!(
                    "picket: web: {} has {} connections open: closing its new ones until some \
                     end (counted in picket_web_connections_refused_total)",
                    peer.ip(),
                    cfg.per_source_limit()
                );
            }
            drop(stream);
            continue;
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            refused.inc();
            if !full {
                full = true;
                eprintln!(
                    "picket: web: {} connections open (web_max_connections): closing new ones \
                     until some end (counted in picket_web_connections_refused_total)",
                    cfg.max_connections
                );
            }
            drop(stream);
            continue;
        };
        full = false;
        source_full = false;
        let _ = stream.set_nodelay(true);
        open.add(1);
        let guard = Open {
            gauge: open.clone(),
            _slot: slot,
            _source: source_slot,
        };
        let timeouts = timeouts.clone();
        let conn_errors = conn_errors.clone();
        let router = router.clone();
        let mut close_rx = close_rx.clone();
        let header_timeout = cfg.header_timeout;
        conns.spawn(async move {
            let _open = guard;
            let svc = hyper::service::service_fn(move |mut req: Request<Incoming>| {
                req.extensions_mut().insert(ConnectInfo::<SocketAddr>(peer));
                let mut r = router.clone();
                async move { r.call(req.map(Body::new)).await }
            });
            let mut builder = hyper::server::conn::http1::Builder::new();
            builder
                .timer(TokioTimer::new())
                .header_read_timeout(header_timeout)
                .keep_alive(true);
            let conn = builder.serve_connection(TokioIo::new(stream), svc);
            let mut conn = std::pin::pin!(conn);
            let res = tokio::select! {
                r = conn.as_mut() => r,
                _ = close_rx.changed() => {
                    conn.as_mut().graceful_shutdown();
                    conn.await
                }
            };
            match res {
                Ok(()) => {}
                Err(e) if e.is_timeout() => timeouts.inc(),
                Err(_) => conn_errors.inc(),
            }
        });
    }
    drop(listener);
    let _ = state.stopping.send(true);
    let _ = close_tx.send(true);
    let grace = cfg.shutdown_grace;
    let drained =
        tokio::time::timeout(grace, async { while conns.join_next().await.is_some() {} }).await;
    if drained.is_err() {
        eprintln!(
            "picket: web: {} connections still busy {grace:?} after shutdown: closed",
            conns.len()
        );
        conns.abort_all();
        while conns.join_next().await.is_some() {}
    }
    Ok(())
}

/// One open connection: its slot under the cap, counted while it lives (also when its
/// task is aborted).
struct Open {
    gauge: Gauge,
    _slot: OwnedSemaphorePermit,
    _source: SourceSlot,
}

impl Drop for Open {
    fn drop(&mut self) {
        self.gauge.add(-1);
    }
}
