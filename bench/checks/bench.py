#!/usr/bin/env python3
"""Active-check benchmark: the same configuration run by picket and by nagios4.

N services (100 per host, hosts passive) with check_interval 1 unit; the plugin is
`check_dummy 0` (a small C program, run directly by both daemons). Measured per daemon,
in the same run:

* checks/s: picket: active results in its journal (sampled every second), rate over the
  last 60 s of the run; nagios4: `active_scheduled_service_check_stats` of status.dat
  (checks in the last minute / 60, read just before stopping it);
* scheduling latency (start minus due time) of every service's last check, p50/p99,
  as each daemon reports it (picket: retention `latency`; nagios4: status.dat
  `check_latency`);
* CPU seconds of the daemon's own processes (picket: the process; nagios4: the core and
  its worker processes), plugins excluded, and as a share of the wall time.

Usage:
  bench/checks/bench.py --picket target/release/picket [--services 10000]
        [--interval-length 60] [--seconds 150] [--only picket|nagios]
"""

import argparse
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time

NAGIOS = "/usr/sbin/nagios4"


def write_config(d, services, interval_length, per_host=100, retain=1):
    plugin = "/usr/lib/nagios/plugins/check_dummy 0"
    hosts = (services + per_host - 1) // per_host
    with open(os.path.join(d, "objects.cfg"), "w") as f:
        f.write("""
define timeperiod {
    timeperiod_name 24x7
    alias 24x7
    sunday 00:00-24:00
    monday 00:00-24:00
    tuesday 00:00-24:00
    wednesday 00:00-24:00
    thursday 00:00-24:00
    friday 00:00-24:00
    saturday 00:00-24:00
}
define command {
    command_name bench_check
    command_line %s $SERVICEDESC$
}
define command {
    command_name notify_none
    command_line /bin/true
}
define contact {
    contact_name nobody
    alias nobody
    service_notification_period 24x7
    host_notification_period 24x7
    service_notification_options n
    host_notification_options n
    service_notification_commands notify_none
    host_notification_commands notify_none
}
define host {
    name bench-host
    register 0
    max_check_attempts 1
    active_checks_enabled 0
    check_period 24x7
    notification_period 24x7
    contacts nobody
}
define service {
    name bench-service
    register 0
    check_command bench_check
    max_check_attempts 1
    check_interval 1
    retry_interval 1
    check_period 24x7
    notification_period 24x7
    notifications_enabled 0
    contacts nobody
}
""" % plugin)
        n = 0
        for h in range(hosts):
            f.write("define host {\n use bench-host\n host_name h%d\n address 127.0.0.1\n}\n" % h)
            for s in range(per_host):
                if n >= services:
                    break
                f.write("define service {\n use bench-service\n host_name h%d\n service_description s%d\n}\n" % (h, n))
                n += 1
    os.makedirs(os.path.join(d, "checkresults"), exist_ok=True)
    os.makedirs(os.path.join(d, "tmp"), exist_ok=True)
    user = os.environ.get("USER") or "root"
    with open(os.path.join(d, "nagios.cfg"), "w") as f:
        f.write(f"""log_file={d}/nagios.log
cfg_file={d}/objects.cfg
object_cache_file={d}/objects.cache
precached_object_file={d}/objects.precache
status_file={d}/status.dat
status_update_interval=5
nagios_user={user}
nagios_group={user}
check_external_commands=1
command_file={d}/nagios.cmd
lock_file={d}/nagios.lock
temp_file={d}/nagios.tmp
temp_path={d}/tmp
query_socket={d}/nagios.qh
check_result_path={d}/checkresults
check_for_updates=0
use_syslog=0
log_rotation_method=n
retain_state_information={retain}
state_retention_file={d}/retention.dat
retention_update_interval=60
interval_length={interval_length}
max_concurrent_checks=0
enable_notifications=0
enable_flap_detection=0
execute_service_checks=1
log_initial_states=0
""")
    return os.path.join(d, "nagios.cfg")


def count_picket(d):
    """Active results journaled since the start: `C` records (eight fields per outcome,
    see ARCHITECTURE.md "Retention and the loss window"), or `A` records of journal
    version 1 (one JSON object each)."""
    try:
        with open(os.path.join(d, "retention.journal"), "rb") as f:
            data = f.read()
    except FileNotFoundError:
        return 0
    n, i = 0, 0
    while True:
        nl = data.find(b"\n", i)
        if nl < 0:
            return n
        head = data[i:nl].split(b" ")
        if len(head) != 4:  # `V 2`, `L seq`
            i = nl + 1
            continue
        size = int(head[3])
        body = data[nl + 1:nl + 1 + size]
        if len(body) < size:
            return n  # being written
        if head[0] == b"C":
            n += count_fields(body) // 8
        elif head[0] == b"A":
            n += body.count(b'"exit":')
        i = nl + 1 + size + 1


def count_fields(b):
    """Fields `<len>:<bytes>` or `-` in a record body."""
    j, fields = 0, 0
    while j < len(b):
        if b[j:j + 1] == b"-":
            j += 1
        else:
            colon = b.index(b":", j)
            j = colon + 1 + int(b[j:colon])
        fields += 1
    return fields


def nagios_stats(d):
    """(checks in the last minute, last 5 minutes) from status.dat."""
    try:
        with open(os.path.join(d, "status.dat")) as f:
            for line in f:
                line = line.strip()
                if line.startswith("active_scheduled_service_check_stats="):
                    v = line.split("=", 1)[1].split(",")
                    return int(v[0]), int(v[1])
    except FileNotFoundError:
        pass
    return 0, 0


def proc_cpu(pids, children=False):
    """CPU seconds of `pids` (utime+stime), or with children=True of the children they
    have reaped (cutime+cstime: for picket the plugins, for nagios4's workers the plugins)."""
    tck = os.sysconf("SC_CLK_TCK")
    i = 13 if children else 11
    total = 0.0
    for pid in pids:
        try:
            with open(f"/proc/{pid}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
            total += (int(fields[i]) + int(fields[i + 1])) / tck
        except (OSError, IndexError, ValueError):
            pass
    return total


def machine_cpu():
    """(busy, total) jiffies of the whole machine from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    idle = v[3] + (v[4] if len(v) > 4 else 0)
    return sum(v) - idle, sum(v)


def daemon_pids(main_pid, cfg):
    pids = [main_pid]
    for p in os.listdir("/proc"):
        if not p.isdigit() or int(p) == main_pid:
            continue
        try:
            with open(f"/proc/{p}/cmdline", "rb") as f:
                cmd = f.read()
        except OSError:
            continue
        if cfg.encode() in cmd or os.path.dirname(cfg).encode() + b"/nagios.qh" in cmd:
            if b"check_dummy" not in cmd:
                pids.append(int(p))
    return pids


def percentile(v, q):
    if not v:
        return float("nan")
    v = sorted(v)
    i = min(len(v) - 1, max(0, int(round(q * (len(v) - 1)))))
    return v[i]


def latencies_picket(d):
    import json
    with open(os.path.join(d, "retention.dat")) as f:
        r = json.load(f)["retention"]
    return [s[2]["latency"] for s in r["services"] if s[2]["has_been_checked"]]


def latencies_nagios(d):
    out = []
    block, lat, checked = None, None, False
    with open(os.path.join(d, "status.dat")) as f:
        for line in f:
            line = line.strip()
            if line.endswith("{"):
                block = line.split()[0]
                lat, checked = None, False
            elif line == "}":
                if block == "servicestatus" and checked and lat is not None:
                    out.append(lat)
                block = None
            elif block == "servicestatus":
                if line.startswith("check_latency="):
                    lat = float(line.split("=", 1)[1])
                elif line.startswith("has_been_checked="):
                    checked = line.endswith("=1")
    return out


def run(name, argv, d, cfg, seconds):
    p = subprocess.Popen(argv, cwd=d, stdin=subprocess.DEVNULL,
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    t0 = time.time()
    m0 = machine_cpu()
    samples = []
    while time.time() - t0 < seconds:
        time.sleep(1.0)
        n = count_picket(d) if name == "picket" else nagios_stats(d)[1]
        samples.append((time.time() - t0, n))
        if p.poll() is not None:
            sys.exit(f"{name} exited early (rc {p.returncode}); see {d}/nagios.log")
    pids = daemon_pids(p.pid, cfg)
    cpu = proc_cpu(pids)
    # nagios4's core only reaps its workers at exit: count the workers' reaped plugins.
    child_cpu = proc_cpu(pids if name == "picket" else pids[1:], children=True)
    m1 = machine_cpu()
    n_at_cpu = count_picket(d) if name == "picket" else nagios_stats(d)[1]
    wall = time.time() - t0
    # nagios4 removes status.dat when it stops: read it (updated every 5 s) first.
    lat = None if name == "picket" else latencies_nagios(d)
    last_minute = None if name == "picket" else nagios_stats(d)[0]
    p.send_signal(signal.SIGTERM)
    try:
        p.wait(timeout=60)
    except subprocess.TimeoutExpired:
        p.kill()
        p.wait()
    time.sleep(1.0)
    if lat is None:
        lat = latencies_picket(d)
    if name == "picket":
        last = [s for s in samples if s[0] >= samples[-1][0] - 60]
        sustained = (last[-1][1] - last[0][1]) / (last[-1][0] - last[0][0])
    else:
        sustained = last_minute / 60.0
    total = samples[-1][1] if samples else 0
    return {
        "name": name,
        "checks": total,
        "overall": total / samples[-1][0] if samples else 0,
        "sustained": sustained,
        "p50": percentile(lat, 0.50),
        "p99": percentile(lat, 0.99),
        "lat_n": len(lat),
        "cpu": cpu,
        "cpu_pct": 100.0 * cpu / wall,
        "child_cpu": child_cpu,
        "n_at_cpu": n_at_cpu,
        "machine_busy": 100.0 * (m1[0] - m0[0]) / max(1, m1[1] - m0[1]),
    }


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--picket", required=True)
    ap.add_argument("--services", type=int, default=10000)
    ap.add_argument("--interval-length", type=int, default=60)
    ap.add_argument("--seconds", type=int, default=150)
    ap.add_argument("--only", choices=["picket", "nagios"])
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    results = []
    for name in ["picket", "nagios"]:
        if a.only and a.only != name:
            continue
        d = tempfile.mkdtemp(prefix=f"bench-checks-{name}-")
        cfg = write_config(d, a.services, a.interval_length)
        argv = [os.path.abspath(a.picket), cfg] if name == "picket" else [NAGIOS, cfg]
        results.append(run(name, argv, d, cfg, a.seconds))
        if not a.keep:
            shutil.rmtree(d, ignore_errors=True)
    print(f"services={a.services} check_interval=1x{a.interval_length}s "
          f"demand={a.services / a.interval_length:.1f}/s run={a.seconds}s")
    print("| daemon | checks run | checks/s (whole run) | checks/s (last minute) | latency p50 | latency p99 | daemon CPU s | CPU % of wall |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for r in results:
        print(f"| {r['name']} | {r['checks']} | {r['overall']:.1f} | {r['sustained']:.1f} | "
              f"{r['p50']:.3f} s | {r['p99']:.3f} s | {r['cpu']:.1f} | {r['cpu_pct']:.1f} |")
    print()
    print("CPU per check (daemon + the plugins it reaped; nagios4: checks from status.dat's "
          "5-minute counter, so only exact for runs under 5 minutes), and machine busy %:")
    print("| daemon | daemon ms/check | plugin ms/check | total ms/check | bound on 2 cores (checks/s) | machine busy % |")
    print("|---|---:|---:|---:|---:|---:|")
    for r in results:
        n = max(1, r["n_at_cpu"])
        dm, pm = 1000 * r["cpu"] / n, 1000 * r["child_cpu"] / n
        print(f"| {r['name']} | {dm:.3f} | {pm:.3f} | {dm + pm:.3f} | "
              f"{2000 / (dm + pm):.0f} | {r['machine_busy']:.0f} |")


if __name__ == "__main__":
    main()
