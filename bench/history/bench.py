#!/usr/bin/env python3
"""History at scale: a burst of Denied results through the command FIFO of a real
`picket` with `history_file=` and `web_listen=`, as the seed's handler submits them.

    cargo build --release -p picket
    python3 bench/history/bench.py [--denials 1000000] [--sources 10000] [--hosts 20]

What is measured (one run; the box is shared, so run it more than once):

* engine: seconds from the first byte written to the FIFO until the engine has logged
  the last result (a marker denial from source `bench-end`, found in the log's tail);
* history: seconds from that moment until the history has committed the whole log
  (`picket_history_lag_bytes` = 0 on /metrics, polled every 0.1 s), the history's
  peak lag (`picket_history_lag_seconds`) and the rows/s it averaged over the run;
* `/api/denied` (default query, `?host=`, `?since=`) and the `/denied` page: latency
  (best and median of 5) and size;
* `/api/incidents` when the binary serves it (latency; 404 is reported as n/a);
* picket's RSS at the end and its peak (VmRSS, VmHWM), and the CPU seconds of each of its
  threads when the history is done (`picket-history` is the figure load distorts least);
* with `--incidents`: scan detection on, every source an incident (10,000+), and
  `/api/incidents`, `?state=open`, `/api/incidents/{id}` and the `/incidents` page timed.

Objects: HOSTS hosts `webN`, each with the seed's passive volatile `TCP Wrappers`
service (notifications off, so no process is spawned per denial: the benchmark is about
history, not the executor); the main configuration of the engine benchmarks
(`bench/lib/nagios_bench.py`: every external command and passive check logged), so each
denial is three log lines (`EXTERNAL COMMAND`, `PASSIVE SERVICE CHECK`, `SERVICE ALERT`),
stored as one history row since schema 2 (`folded`; three rows before). Denials cycle over SOURCES addresses, the hosts and three
daemons. After the run the denials stored are counted in the database (every one must
be there). `PICKET=/path/to/picket` picks the binary (e.g. an older build to compare).
"""

import argparse
import json
import os
import socket
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "lib"))
from nagios_bench import TEMPLATES, write_main_cfg  # noqa: E402

TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
PICKET = os.environ.get("PICKET", os.path.join(TARGET, "release", "picket"))
DAEMONS = ["sshd", "in.ftpd", "in.telnetd"]
MARKER = b"Denied sshd-bench-end"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_objects(path, hosts, detection=False):
    with open(path, "w") as f:
        f.write(TEMPLATES)
        if detection:
            f.write("define host {\n use bench-host\n host_name network\n address 192.0.2.254\n}\n"
                    "define service {\n use bench-service\n host_name network\n"
                    " service_description Port scans\n is_volatile 1\n}\n")
        f.write("define service {\n name wrappers\n use bench-service\n register 0\n"
                " is_volatile 1\n}\n")
        for h in range(hosts):
            f.write(f"define host {{\n use bench-host\n host_name web{h}\n"
                    f" address 192.0.2.{h % 250 + 1}\n}}\n")
            f.write(f"define service {{\n use wrappers\n host_name web{h}\n"
                    f" service_description TCP Wrappers\n}}\n")


def write_lines(path, denials, sources, hosts, now):
    with open(path, "w") as f:
        for i in range(denials):
            s = i % sources
            addr = f"10.{(s >> 16) & 255}.{(s >> 8) & 255}.{s & 255}"
            f.write(f"[{now}] PROCESS_SERVICE_CHECK_RESULT;web{(i // 7) % hosts};TCP Wrappers;2;"
                    f"Denied {DAEMONS[i % 3]}-{addr}\n")
        f.write(f"[{now}] PROCESS_SERVICE_CHECK_RESULT;web0;TCP Wrappers;2;Denied sshd-bench-end\n")


def http(port, path, timeout=120):
    t = time.perf_counter()
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=timeout) as r:
            body = r.read()
            code = r.status
    except urllib.error.HTTPError as e:
        body, code = e.read(), e.code
    return code, body, time.perf_counter() - t


def metric(text, name):
    for line in text.splitlines():
        if line.startswith(name + " ") or line.startswith(name + "{"):
            return float(line.rsplit(" ", 1)[1])
    return None


def proc_kb(pid, key):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def thread_cpu(pid):
    """CPU seconds (user + system) per thread name of `pid` so far: what load distorts least."""
    out = {}
    tick = os.sysconf("SC_CLK_TCK")
    for tid in os.listdir(f"/proc/{pid}/task"):
        try:
            with open(f"/proc/{pid}/task/{tid}/stat") as f:
                stat = f.read()
        except OSError:
            continue
        name = stat[stat.index("(") + 1:stat.rindex(")")]
        rest = stat[stat.rindex(")") + 2:].split()
        out[name] = round(out.get(name, 0.0) + (int(rest[11]) + int(rest[12])) / tick, 2)
    return out


def timed(port, path, reps=5):
    times, size, code = [], 0, 0
    for _ in range(reps):
        code, body, secs = http(port, path)
        times.append(secs)
        size = len(body)
    return {"code": code, "best_s": min(times), "median_s": statistics.median(times), "bytes": size}


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--denials", type=int, default=1_000_000)
    ap.add_argument("--sources", type=int, default=10_000)
    ap.add_argument("--hosts", type=int, default=20)
    ap.add_argument("--incidents", action="store_true",
                    help="scan detection on (detection.cfg below): every source that reaches 3 hosts "
                         "is an incident, so SOURCES incidents and more; /api/incidents, ?state=open, "
                         "/api/incidents/{id} and /incidents are timed")
    ap.add_argument("--keep", action="store_true", help="keep the run directory")
    ap.add_argument("--json", help="write the figures here too")
    args = ap.parse_args()

    w = tempfile.mkdtemp(prefix="history-bench-")
    objects = os.path.join(w, "objects.cfg")
    write_objects(objects, args.hosts, args.incidents)
    web = free_port()
    extra = f"history_file={w}/history.db\nweb_listen=127.0.0.1:{web}\n"
    if args.incidents:
        with open(f"{w}/detection.cfg", "w") as f:
            f.write("hold=1s\ndenied_services=TCP Wrappers\nincident_host=network\n"
                    "incident_service=Port scans\nmax_incidents=100000\n")
        extra += f"detection_config_file={w}/detection.cfg\n"
    cfg = write_main_cfg(w, objects, extra)
    now = int(time.time())
    lines = os.path.join(w, "lines.txt")
    write_lines(lines, args.denials, args.sources, args.hosts, now)
    p = subprocess.Popen([PICKET, cfg], stdout=open(f"{w}/engine.out", "w"), stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not (os.path.exists(f"{w}/nagios.cmd") and os.path.exists(f"{w}/nagios.log")):
            if time.monotonic() > deadline or p.poll() is not None:
                sys.exit(f"picket did not start: {open(f'{w}/engine.out').read()}")
            time.sleep(0.05)
        while True:
            try:
                http(web, "/metrics", timeout=2)
                break
            except OSError:
                time.sleep(0.05)
        time.sleep(0.5)
        data = open(lines, "rb").read()
        log = os.open(f"{w}/nagios.log", os.O_RDONLY)
        start_size = os.fstat(log).st_size
        fd = os.open(f"{w}/nagios.cmd", os.O_WRONLY)

        def writer():
            view = memoryview(data)
            while view:
                n = os.write(fd, view[:1 << 20])
                view = view[n:]
            os.close(fd)

        t0 = time.perf_counter()
        th = threading.Thread(target=writer)
        th.start()
        engine_s = None
        peak_lag_s, lag_at_engine = 0.0, None
        next_scrape = 0.0
        while True:
            el = time.perf_counter() - t0
            if engine_s is None:
                size = os.fstat(log).st_size
                if size > start_size and MARKER in os.pread(log, 4096, max(start_size, size - 4096)):
                    engine_s = time.perf_counter() - t0
            if el >= next_scrape or engine_s is not None:
                next_scrape = el + 0.1
                _, body, _ = http(web, "/metrics")
                text = body.decode()
                lag_b = metric(text, "picket_history_lag_bytes")
                lag_s = metric(text, "picket_history_lag_seconds") or 0.0
                peak_lag_s = max(peak_lag_s, lag_s)
                if engine_s is not None:
                    if lag_at_engine is None:
                        lag_at_engine = lag_b
                    if lag_b == 0:
                        history_s = time.perf_counter() - t0
                        rows = metric(text, "picket_history_rows_total")
                        break
            if el > 1800:
                sys.exit("no end after 30 min")
            time.sleep(0.02 if engine_s is None else 0.1)
        th.join()
        threads = thread_cpu(p.pid)
        rss_end = proc_kb(p.pid, "VmRSS")
        hwm = proc_kb(p.pid, "VmHWM")
        queries = {
            "/api/denied": timed(web, "/api/denied"),
            "/api/denied?host=web3": timed(web, "/api/denied?host=web3"),
            f"/api/denied?since={now}": timed(web, f"/api/denied?since={now}"),
            "/denied": timed(web, "/denied", 3),
            "/api/incidents": timed(web, "/api/incidents"),
        }
        if args.incidents:
            # The history holds the incidents once the last SCAN INCIDENT line is committed
            # (lag 0 above); take the newest id and one from the middle of the range.
            _, body, _ = http(web, "/api/incidents?limit=1")
            newest = json.loads(body)
            newest = newest[0]["id"] if isinstance(newest, list) and newest else \
                (newest.get("incidents") or [{"id": 1}])[0]["id"]
            queries.update({
                "/api/incidents?state=open": timed(web, "/api/incidents?state=open"),
                f"/api/incidents/{newest}": timed(web, f"/api/incidents/{newest}"),
                f"/api/incidents/{max(1, newest // 2)}": timed(web, f"/api/incidents/{max(1, newest // 2)}"),
                "/incidents": timed(web, "/incidents", 3),
            })
        hwm = max(hwm, proc_kb(p.pid, "VmHWM"))
    finally:
        p.terminate()
        try:
            p.wait(timeout=30)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()
    db = sqlite3.connect(f"{w}/history.db")
    # Schema 3 keeps a connection event in the `ce_*` columns of its line's row; before, in
    # a `conn_events` table (and a denial's address in `events.denied_addr`).
    ce = db.execute("SELECT 1 FROM pragma_table_info('events') WHERE name = 'ce_source'").fetchone()
    if args.incidents:
        # Denials folded into an incident are CONNECTION EVENT lines instead of results.
        stored = db.execute("SELECT COALESCE(SUM(ce_count), 0) FROM events WHERE ce_source IS NOT NULL"
                            if ce else "SELECT COALESCE(SUM(count), 0) FROM conn_events").fetchone()[0]
    else:
        stored = db.execute("SELECT COUNT(*) FROM events WHERE ce_source IS NOT NULL"
                            " AND kind != 'connection_event'" if ce else
                            "SELECT COUNT(*) FROM events WHERE denied_addr IS NOT NULL").fetchone()[0]
    incidents = db.execute("SELECT COUNT(*), SUM(open) FROM incidents").fetchone() \
        if args.incidents else (0, 0)
    db.close()
    res = {
        "binary": PICKET,
        "denials": args.denials,
        "sources": args.sources,
        "hosts": args.hosts,
        "engine_s": round(engine_s, 2),
        "history_s": round(history_s, 2),
        "history_behind_engine_s": round(history_s - engine_s, 2),
        "lag_bytes_at_engine_end": lag_at_engine,
        "peak_lag_seconds": peak_lag_s,
        "history_rows": rows,
        "rows_per_s": round(rows / history_s) if rows else None,
        "denials_stored": stored,
        "incidents": incidents[0],
        "incidents_open": incidents[1],
        "thread_cpu_s": threads,
        "rss_end_mb": round(rss_end / 1024),
        "rss_peak_mb": round(hwm / 1024),
        "queries": {k: {**v, "best_s": round(v["best_s"], 4), "median_s": round(v["median_s"], 4)}
                    for k, v in queries.items()},
        "load": os.getloadavg(),
    }
    print(json.dumps(res, indent=1))
    if args.json:
        with open(args.json, "w") as f:
            json.dump(res, f, indent=1)
    print(f"\n| denials | engine | history done | behind engine | rows/s | stored | RSS end / peak |")
    print(f"|---:|---:|---:|---:|---:|---:|---:|")
    print(f"| {args.denials:,} | {engine_s:.1f} s | {history_s:.1f} s | **{history_s - engine_s:.1f} s** | "
          f"{res['rows_per_s'] or 0:,} | {stored:,} | {res['rss_end_mb']} / {res['rss_peak_mb']} MB |")
    for k, v in queries.items():
        lat = "n/a" if v["code"] == 404 else f"{v['best_s'] * 1000:.0f} ms best, {v['median_s'] * 1000:.0f} ms median"
        print(f"| `{k}` | {v['code']} | {lat} | {v['bytes']:,} bytes |")
    print("CPU seconds by thread (at history done):",
          ", ".join(f"{k} {v}" for k, v in sorted(threads.items(), key=lambda kv: -kv[1]) if v >= 0.05))
    if args.incidents:
        print(f"incidents in the history: {incidents[0]:,} ({incidents[1] or 0:,} open)")
    if stored != args.denials + 1:
        print(f"MISSING: {args.denials + 1 - stored} denials not in the history", file=sys.stderr)
    if not args.keep:
        import shutil
        shutil.rmtree(w, ignore_errors=True)
    else:
        print(f"run directory: {w}")


if __name__ == "__main__":
    main()
