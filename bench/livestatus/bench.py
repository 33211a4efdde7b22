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

Side by side with Debian's icinga2 (Livestatus listener only, same objects in
its language, results fed by Livestatus COMMAND since it has no FIFO here):
the same queries over a unix socket, best and median wall time, the server's
CPU time per query (utime+stime of its process tree, which the other load on
the machine distorts little) and its RSS.

Usage: cargo build --release -p picket
       python3 bench/livestatus/bench.py [--reps 5] [--hosts 5000] [--services 20] [--icinga2 '']
"""

import argparse
import os
import signal
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


def connect(addr):
    """`addr` is a unix socket path or HOST:PORT."""
    if addr.startswith("/"):
        s = socket.socket(socket.AF_UNIX)
        s.connect(addr)
    else:
        host, port = addr.rsplit(":", 1)
        s = socket.create_connection((host, int(port)))
    return s


def ask(addr, request, check=True):
    s = connect(addr)
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
    if code != 200 and check:
        raise RuntimeError(f"{code}: {bytes(body[:200])}")
    return code, bytes(body)


def tree(pid):
    """pid and its descendants (icinga2 forks a worker and a spawn helper)."""
    kids = {}
    for d in os.listdir("/proc"):
        if d.isdigit():
            try:
                st = open(f"/proc/{d}/stat").read()
            except OSError:
                continue
            ppid = int(st.rsplit(")", 1)[1].split()[1])
            kids.setdefault(ppid, []).append(int(d))
    out, todo = [], [pid]
    while todo:
        p = todo.pop()
        out.append(p)
        todo += kids.get(p, [])
    return out


def cpu_seconds(pid):
    """User+system CPU time of the server's process tree."""
    tck = os.sysconf("SC_CLK_TCK")
    t = 0
    for p in tree(pid):
        try:
            f = open(f"/proc/{p}/stat").read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        t += int(f[11]) + int(f[12])
    return t / tck


def thread_cpu(pid):
    """{tid: (name, user+system seconds)} of one process's threads."""
    tck = os.sysconf("SC_CLK_TCK")
    out = {}
    for t in os.listdir(f"/proc/{pid}/task"):
        try:
            st = open(f"/proc/{pid}/task/{t}/stat").read()
        except OSError:
            continue
        name = st[st.index("(") + 1:st.rindex(")")]
        f = st.rsplit(")", 1)[1].split()
        out[int(t)] = (name, (int(f[11]) + int(f[12])) / tck)
    return out


def busiest_thread(before, after):
    """(name, CPU seconds) of the thread that used the most CPU between two samples."""
    best = ("?", 0.0)
    for t, (name, c) in after.items():
        d = c - before.get(t, (name, 0.0))[1]
        if d > best[1]:
            best = (name, d)
    return best


def rss_mb(pid):
    """(current RSS, peak RSS) of the process tree, MB."""
    cur = peak = 0
    for p in tree(pid):
        try:
            for line in open(f"/proc/{p}/status"):
                if line.startswith("VmRSS:"):
                    cur += int(line.split()[1])
                elif line.startswith("VmHWM:"):
                    peak += int(line.split()[1])
        except OSError:
            pass
    return cur / 1024, peak / 1024


def timed(srv, request, reps):
    """best and median wall time, server CPU per query, response size."""
    times, size = [], 0
    c0 = cpu_seconds(srv.pid)
    for _ in range(reps):
        t = time.perf_counter()
        size = len(ask(srv.addr, request)[1])
        times.append(time.perf_counter() - t)
    cpu = (cpu_seconds(srv.pid) - c0) / reps
    return min(times), statistics.median(times), cpu, size


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


class Server:
    def __init__(self, name, proc, addr):
        self.name, self.proc, self.addr, self.pid = name, proc, addr, proc.pid

    def wait(self, timeout=300):
        deadline = time.time() + timeout
        while True:
            try:
                if ask(self.addr, "GET status\nColumns: program_version\n")[0] == 200:
                    return
            except OSError:
                pass
            if time.time() > deadline or self.proc.poll() is not None:
                raise SystemExit(f"{self.name} did not answer on {self.addr}")
            time.sleep(0.2)

    def stop(self):
        # Icinga 2's worker outlives its umbrella process: signal the whole tree.
        pids = tree(self.pid)
        for p in pids:
            try:
                os.kill(p, signal.SIGTERM)
            except OSError:
                pass
        deadline = time.time() + 10
        while time.time() < deadline and any(os.path.exists(f"/proc/{p}") for p in pids[1:]):
            time.sleep(0.2)
        for p in pids:
            try:
                os.kill(p, signal.SIGKILL)
            except OSError:
                pass
        self.proc.wait()


def start_picket(a, w):
    objects = os.path.join(w, "objects.cfg")
    nagios_bench.write_objects(objects, a.hosts, [f"s{i}" for i in range(a.services)])
    sock = os.path.join(w, "live")
    main_cfg = nagios_bench.write_main_cfg(
        w, objects, f"broker_module=/usr/lib/naemon/naemon-livestatus/livestatus.so {sock}\n")
    # status.dat (132 MB here, every 10 s) would be counted in the server CPU per
    # query; Icinga 2 writes none in this setup. Written once an hour instead.
    cfg = open(main_cfg).read().replace("status_update_interval=10", "status_update_interval=3600")
    open(main_cfg, "w").write(cfg)
    p = subprocess.Popen([a.picket, main_cfg], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    return Server("picket", p, sock)


def write_icinga2_cfg(w, hosts, services):
    """The same passive objects as nagios_bench.write_objects, in Icinga 2's
    language; only the Livestatus listener (no checker, no other feature)."""
    sock = os.path.join(w, "live")
    path = os.path.join(w, "icinga2.conf")
    with open(path, "w") as f:
        f.write(f"""const NodeName = "bench"
object IcingaApplication "app" {{ enable_notifications = false; enable_flapping = false }}
object LivestatusListener "ls" {{ socket_type = "unix"; socket_path = "{sock}" }}
object CheckCommand "check_none" {{ command = [ "/bin/true" ] }}
template Host "bench-host" {{ check_command = "check_none"; enable_active_checks = false
  max_check_attempts = 1; enable_notifications = false }}
template Service "bench-service" {{ check_command = "check_none"; enable_active_checks = false
  max_check_attempts = 1; enable_notifications = false }}
""")
        for h in range(hosts):
            f.write(f'object Host "h{h}" {{ import "bench-host"; '
                    f'address = "10.{h // 65536}.{(h // 256) % 256}.{h % 256}" }}\n')
            for s in range(services):
                f.write(f'object Service "s{s}" {{ import "bench-service"; host_name = "h{h}" }}\n')
    return path, sock


def start_icinga2(a, w):
    cfg, sock = write_icinga2_cfg(w, a.hosts, a.services)
    for d in ("run/icinga2", "var/lib/icinga2", "var/log/icinga2", "var/cache/icinga2",
              "var/spool/icinga2"):
        os.makedirs(os.path.join(w, d), exist_ok=True)
    p = subprocess.Popen(
        [a.icinga2, "daemon", "-c", cfg, f"-DRunDir={w}/run", f"-DLocalStateDir={w}/var",
         "-DRunAsUser=root", "-DRunAsGroup=root"],
        stdout=open(os.path.join(w, "icinga2.out"), "wb"), stderr=subprocess.STDOUT)
    return Server("icinga2", p, sock)


def seed_icinga2(srv, hosts, services, n):
    """Icinga 2 has no FIFO here (no other feature): the same results through
    Livestatus COMMAND, one per connection (Icinga 2 closes after a command)."""
    now = int(time.time())
    for i in range(n):
        h, s = (i // services) % hosts, i % services
        c = connect(srv.addr)
        c.sendall(f"COMMAND [{now}] PROCESS_SERVICE_CHECK_RESULT;h{h};s{s};{i % 3};out {i}\n\n"
                  .encode())
        c.shutdown(socket.SHUT_WR)
        while c.recv(4096):
            pass
        c.close()
    # Commands are applied asynchronously: wait until the last one shows.
    i = n - 1
    h, s = (i // services) % hosts, i % services
    q = f"GET services\nColumns: has_been_checked\nFilter: host_name = h{h}\nFilter: description = s{s}\n"
    deadline = time.time() + 120
    while b"1" not in ask(srv.addr, q)[1] and time.time() < deadline:
        time.sleep(0.1)


def usable_columns(srv, cols):
    """The columns this server knows (Icinga 2 answers 452 for an unknown one)."""
    if ask(srv.addr, "GET services\nColumns: no_such_column\nLimit: 1\n", check=False)[0] == 200:
        print(f"  ({srv.name} accepts unknown columns: the column probe proves nothing)")
    return [c for c in cols
            if ask(srv.addr, f"GET services\nColumns: {c}\nLimit: 1\n", check=False)[0] == 200]


def queries(cols):
    c = "Columns: " + " ".join(cols) + "\n"
    return [
        (f"GET services, {len(cols)} columns, json", "GET services\n" + c),
        ("problems page (Filter: state != 0, Limit: 100)",
         "GET services\n" + c + "Filter: state != 0\nLimit: 100\n"),
        (f"tactical overview ({tactical().count('Stats:')} Stats lines)", tactical()),
    ]


def measure(srv, cols, reps):
    rows = []
    for label, q in queries(cols):
        best, med, cpu, size = timed(srv, q, reps)
        rows.append((label, best, med, cpu, size))
        print(f"  {srv.name:8} {label}: best {best * 1000:.0f} ms, median {med * 1000:.0f} ms, "
              f"server CPU {cpu * 1000:.0f} ms/query, {size / 1e6:.2f} MB", flush=True)
    cur, peak = rss_mb(srv.pid)
    print(f"  {srv.name:8} RSS {cur:.0f} MB now, {peak:.0f} MB peak; "
          f"load average {os.getloadavg()[0]:.2f}", flush=True)
    return rows


def run_picket(a, cols_all):
    w = tempfile.mkdtemp(prefix="ls-bench-")
    srv = start_picket(a, w)
    try:
        t = time.perf_counter()
        srv.wait()
        total = a.hosts * a.services
        print(f"# picket: {a.hosts} hosts, {total} services, up in {time.perf_counter() - t:.1f} s",
              flush=True)
        # Give a third of the services a state.
        burst(w, a.hosts, a.services, total // 3)
        print("picket, Thruk's full column list:")
        measure(srv, cols_all, a.reps)
        if a.common:
            print("picket, the columns Icinga 2 also has:")
            measure(srv, a.common, a.reps)
        if a.clients:
            throughput(a, w, srv)
    finally:
        srv.stop()


def throughput(a, w, srv):
    q = tactical()
    c0, t0 = cpu_seconds(srv.pid), thread_cpu(srv.pid)
    base = statistics.median(burst(w, a.hosts, a.services, a.burst) for _ in range(3))
    cpu_alone = (cpu_seconds(srv.pid) - c0) / (3 * a.burst)
    eng_alone = busiest_thread(t0, thread_cpu(srv.pid))
    stop = threading.Event()
    served = [0]

    def client():
        while not stop.is_set():
            ask(srv.addr, q)
            served[0] += 1

    threads = [threading.Thread(target=client, daemon=True) for _ in range(a.clients)]
    for th in threads:
        th.start()
    time.sleep(1)
    t0, s0, th0 = time.perf_counter(), served[0], thread_cpu(srv.pid)
    loaded = statistics.median(burst(w, a.hosts, a.services, a.burst) for _ in range(3))
    qps = (served[0] - s0) / (time.perf_counter() - t0)
    th1 = thread_cpu(srv.pid)
    # The engine thread is the one that was busiest in the burst without clients.
    eng = [tid for tid, (n, c) in th1.items() if n == eng_alone[0]]
    eng_loaded = max((th1[t][1] - th0.get(t, ("", 0.0))[1] for t in eng), default=0.0)
    stop.set()
    for th in threads:
        th.join(timeout=60)
    print(f"  engine: {base:,.0f} results/s alone ({cpu_alone * 1e6:.1f} us CPU/result), "
          f"{loaded:,.0f} results/s while {a.clients} clients ran the tactical query "
          f"({qps:.1f} queries/s); load average {os.getloadavg()[0]:.2f}", flush=True)
    print(f"  engine thread ({eng_alone[0]!r}): {eng_alone[1] / (3 * a.burst) * 1e6:.2f} us CPU/result "
          f"alone, {eng_loaded / (3 * a.burst) * 1e6:.2f} us CPU/result with the clients", flush=True)


def run_icinga2(a, cols_all):
    w = tempfile.mkdtemp(prefix="ls-bench-icinga2-")
    srv = start_icinga2(a, w)
    try:
        t = time.perf_counter()
        srv.wait()
        total = a.hosts * a.services
        print(f"# icinga2: {a.hosts} hosts, {total} services, up in "
              f"{time.perf_counter() - t:.1f} s", flush=True)
        t = time.perf_counter()
        seed_icinga2(srv, a.hosts, a.services, total // 3)
        print(f"  seeded {total // 3} results by COMMAND in {time.perf_counter() - t:.1f} s",
              flush=True)
        a.common = usable_columns(srv, cols_all)
        missing = [c for c in cols_all if c not in a.common]
        print(f"icinga2, the {len(a.common)} of Thruk's columns it has (missing: {' '.join(missing)}):")
        measure(srv, a.common, a.reps)
    finally:
        srv.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=5)
    ap.add_argument("--hosts", type=int, default=5000)
    ap.add_argument("--services", type=int, default=20)
    ap.add_argument("--burst", type=int, default=50000)
    ap.add_argument("--clients", type=int, default=20)
    ap.add_argument("--picket", default=os.path.join(
        os.environ.get("CARGO_TARGET_DIR", os.path.join(REPO, "target")), "release", "picket"))
    ap.add_argument("--icinga2", default="/usr/sbin/icinga2",
                    help="Debian's icinga2 for the side-by-side run; '' to skip")
    ap.add_argument("--only", choices=["picket", "icinga2"], help="run one server only")
    a = ap.parse_args()
    a.common = None
    print(f"# load average at start {os.getloadavg()[0]:.2f} (2 cores)", flush=True)
    if a.icinga2 and a.only != "picket":
        run_icinga2(a, THRUK_SERVICE_COLUMNS)
    if a.only != "icinga2":
        run_picket(a, THRUK_SERVICE_COLUMNS)


if __name__ == "__main__":
    main()
