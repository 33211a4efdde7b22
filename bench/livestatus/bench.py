#!/usr/bin/env python3
"""Livestatus under load: 100,000 services (5,000 hosts x 20), Picket's socket.

Measures, each as the median of --reps runs:
  * `GET services` with Thruk's default service column list (92 columns, 31 of
    them host_* joins) as JSON with fixed16: wall time and response size;
  * a tactical-overview `Stats` query (Thruk's style: dozens of Stats/StatsAnd
    blocks over state, state_type, has_been_checked, acknowledged, downtime...);
  * while 20 clients run the Stats query in a loop: the engine's throughput on
    a burst of passive results through the command FIFO (results/s), against
    the same burst without clients.

Usage: cargo build --release -p picket
       python3 bench/livestatus/bench.py [--reps 5] [--hosts 5000] [--services 20]
"""

import argparse
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "lib"))
import nagios_bench  # noqa: E402

REPO = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))

# Thruk's default service columns (lib/Thruk/Backend/Provider/Livestatus.pm).
THRUK_SERVICE_COLUMNS = """accept_passive_checks acknowledged action_url action_url_expanded
active_checks_enabled check_command check_interval check_options check_period check_type
checks_enabled comments current_attempt current_notification_number description event_handler
event_handler_enabled custom_variable_names custom_variable_values execution_time
first_notification_delay flap_detection_enabled groups has_been_checked high_flap_threshold
host_acknowledged host_action_url_expanded host_active_checks_enabled host_address host_alias
host_checks_enabled host_check_type host_latency host_plugin_output host_perf_data
host_current_attempt host_check_command host_comments host_groups host_has_been_checked
host_icon_image_expanded host_icon_image_alt host_is_executing host_is_flapping host_notes
host_name host_notes_url_expanded host_notifications_enabled host_scheduled_downtime_depth
host_state host_accept_passive_checks host_last_state_change icon_image icon_image_alt
icon_image_expanded is_executing is_flapping last_check last_notification last_state_change
latency low_flap_threshold max_check_attempts next_check notes notes_expanded notes_url
notes_url_expanded notification_interval notification_period notifications_enabled
obsess_over_service percent_state_change perf_data plugin_output process_performance_data
retry_interval scheduled_downtime_depth state state_type modified_attributes_list
last_time_critical last_time_ok last_time_unknown last_time_warning display_name
host_display_name host_custom_variable_names host_custom_variable_values in_check_period
in_notification_period host_parents""".split()


def tactical():
    lines = ["GET services"]
    n = 0

    def stat(*filters):
        nonlocal n
        for f in filters:
            lines.append(f"Stats: {f}")
        if len(filters) > 1:
            lines.append(f"StatsAnd: {len(filters)}")
        n += 1

    stat("description !=")
    for st in range(4):
        stat(f"state = {st}", "has_been_checked = 1")
        stat(f"state = {st}", "has_been_checked = 1", "acknowledged = 0",
             "scheduled_downtime_depth = 0", "host_state = 0")
        stat(f"state = {st}", "has_been_checked = 1", "acknowledged = 1")
        stat(f"state = {st}", "has_been_checked = 1", "scheduled_downtime_depth > 0")
        stat(f"state = {st}", "state_type = 1", "active_checks_enabled = 0")
    stat("has_been_checked = 0")
    stat("is_flapping = 1")
    stat("flap_detection_enabled = 0")
    stat("notifications_enabled = 0")
    stat("event_handler_enabled = 0")
    stat("active_checks_enabled = 0")
    stat("accept_passive_checks = 0")
    stat("check_type = 1")
    lines += ["Stats: sum execution_time", "Stats: avg latency", "Stats: max percent_state_change",
              "Stats: min latency"]
    lines.append(f"Stats: last_check >= {int(time.time()) - 300}")
    return "\n".join(lines) + "\n"


def ask(path, request):
    s = socket.socket(socket.AF_UNIX)
    s.connect(path)
    s.sendall(request.encode() + b"OutputFormat: json\nResponseHeader: fixed16\n\n")
    head = b""
    while len(head) < 16:
        c = s.recv(16 - len(head))
        if not c:
            raise RuntimeError("short header")
        head += c
    code, length = int(head[:3]), int(head[4:15])
    body = bytearray()
    while len(body) < length:
        c = s.recv(min(1 << 20, length - len(body)))
        if not c:
            break
        body += c
    s.close()
    if code != 200:
        raise RuntimeError(f"{code}: {bytes(body[:200])}")
    return bytes(body)


def timed(path, request, reps):
    times, size = [], 0
    for _ in range(reps):
        t = time.perf_counter()
        size = len(ask(path, request))
        times.append(time.perf_counter() - t)
    return statistics.median(times), size


def burst(w, hosts, services, n):
    """Write n passive results to the FIFO; wait until the log shows them all."""
    log = os.path.join(w, "nagios.log")
    before = open(log, "rb").read().count(b"PASSIVE SERVICE CHECK")
    now = int(time.time())
    lines = []
    for i in range(n):
        h, s = (i // services) % hosts, i % services
        lines.append(f"[{now}] PROCESS_SERVICE_CHECK_RESULT;h{h};s{s};{i % 3};out {i}\n")
    data = "".join(lines).encode()
    t = time.perf_counter()
    with open(os.path.join(w, "nagios.cmd"), "wb") as f:
        f.write(data)
    while True:
        with open(log, "rb") as f:
            done = f.read().count(b"PASSIVE SERVICE CHECK") - before
        if done >= n:
            return n / (time.perf_counter() - t)
        time.sleep(0.05)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--hosts", type=int, default=5000)
    ap.add_argument("--services", type=int, default=20)
    ap.add_argument("--burst", type=int, default=50000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--picket", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "picket"))
    a = ap.parse_args()
    w = tempfile.mkdtemp(prefix="ls-bench-")
    objects = os.path.join(w, "objects.cfg")
    nagios_bench.write_objects(objects, a.hosts, [f"s{i}" for i in range(a.services)])
    sock = os.path.join(w, "live")
    main_cfg = nagios_bench.write_main_cfg(
        w, objects, f"broker_module=/usr/lib/naemon/naemon-livestatus/livestatus.so {sock}\n")
    p = subprocess.Popen([a.picket, main_cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        deadline = time.time() + 120
        while not os.path.exists(sock):
            if time.time() > deadline or p.poll() is not None:
                raise SystemExit("picket did not open the Livestatus socket")
            time.sleep(0.2)
        # Give a third of the services a state.
        burst(w, a.hosts, a.services, a.hosts * a.services // 3)
        total = a.hosts * a.services
        print(f"# {a.hosts} hosts, {total} services; load average {os.getloadavg()[0]:.2f}")
        cols = "Columns: " + " ".join(THRUK_SERVICE_COLUMNS) + "\n"
        t, size = timed(sock, "GET services\n" + cols, a.reps)
        print(f"GET services, Thruk's {len(THRUK_SERVICE_COLUMNS)} columns, json: "
              f"{t * 1000:.0f} ms median, {size / 1e6:.1f} MB")
        t, size = timed(sock, "GET services\n" + cols + "Filter: state != 0\nLimit: 100\n", a.reps)
        print(f"problems page (Filter: state != 0, Limit: 100): {t * 1000:.0f} ms median")
        q = tactical()
        t, _ = timed(sock, q, a.reps)
        print(f"tactical overview ({q.count('Stats:')} Stats lines): {t * 1000:.0f} ms median")
        base = statistics.median(burst(w, a.hosts, a.services, a.burst) for _ in range(max(1, a.reps // 2)))
        stop = threading.Event()
        served = [0]

        def client():
            while not stop.is_set():
                ask(sock, q)
                served[0] += 1

        threads = [threading.Thread(target=client, daemon=True) for _ in range(a.clients)]
        for th in threads:
            th.start()
        time.sleep(1)
        t0, s0 = time.perf_counter(), served[0]
        loaded = statistics.median(burst(w, a.hosts, a.services, a.burst) for _ in range(max(1, a.reps // 2)))
        qps = (served[0] - s0) / (time.perf_counter() - t0)
        stop.set()
        for th in threads:
            th.join(timeout=30)
        print(f"engine: {base:,.0f} results/s alone, {loaded:,.0f} results/s while "
              f"{a.clients} clients ran the tactical query ({qps:.1f} queries/s)")
    finally:
        p.terminate()
        p.wait()


if __name__ == "__main__":
    main()
