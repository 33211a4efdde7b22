#!/usr/bin/env python3
"""W4 latency benchmark: 5,000 hosts, one passive volatile service
each, 2,000 results/s over NSCA; latency from the sender's write(2) of a
result to the start of the notification command it causes.

    cargo build --release -p picket -p picket-nsca -p picket-bench   # needs cc + libc.a too
    python3 bench/w4/bench.py                      # all systems, both modes, ~6 min
    python3 bench/w4/bench.py --systems picket --modes persistent --secs 20

Systems (same objects, same sender, same notification command, same run):
  picket       `picket` with nsca_config_file= (built-in NSCA receiver, no FIFO)
  picket-full  the same plus history_file= (SQLite history) and web_listen= (UI/API)
  picket-nsca  Picket's standalone `nsca` -> command FIFO -> `picket`
  nagios       Debian `nsca --single` 2.10.2 -> command FIFO -> Debian `nagios4` 4.4.6

Sender modes (`w4-send`, crates/bench):
  persistent   4 long-lived connections, one packet per write(2)
  per-result   one connection per result like each `send_nsca` run
               (connect, init packet, write, close), 32 workers

Every result is CRITICAL with output `W4 <seq> <send_ns>`; the services are
volatile, so each result is a SERVICE ALERT and a notification. The
notification command is `w4-stamp FILE $SERVICEOUTPUT$` (bench/w4/w4-stamp.c,
static, no shell needed by either engine), which appends
`<start_ns> W4 <seq> <send_ns>` to FILE. Results due in the first --warmup
seconds are not counted. Lost = sent in the window but never notified
(within --drain seconds after the last send). CPU = utime+stime of the daemon's whole
process tree (children included) over the sender's run, in % of one core.

All traffic is on 127.0.0.1; every process is started here, bounded in time,
and stopped by PID.
"""

import argparse
import json
import resource
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
REL = os.path.join(TARGET, "release")
PICKET = os.path.join(REL, "picket")
PICKET_EXTRA = []  # --picket-cfg lines
PICKET_NSCA = os.path.join(REL, "nsca")
SEND = os.path.join(REL, "w4-send")
STAMP = os.path.join(TARGET, "w4", "w4-stamp")  # built from w4-stamp.c by build_stamp()
NAGIOS = "/usr/sbin/nagios4"
DEBIAN_NSCA = "/usr/sbin/nsca"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PASSWORD = "w4-password"


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def write_objects(d, hosts):
    out = [f"""define timeperiod {{
 timeperiod_name 24x7
 alias 24x7
 sunday 00:00-24:00
 monday 00:00-24:00
 tuesday 00:00-24:00
 wednesday 00:00-24:00
 thursday 00:00-24:00
 friday 00:00-24:00
 saturday 00:00-24:00
}}
define command {{
 command_name check_none
 command_line /bin/true
}}
define command {{
 command_name notify-w4
 command_line {STAMP} {d}/stamps.txt $SERVICEOUTPUT$
}}
define command {{
 command_name notify-host-none
 command_line /bin/true
}}
define contact {{
 contact_name w4
 alias w4
 service_notification_period 24x7
 host_notification_period 24x7
 service_notification_options w,u,c,r
 host_notification_options n
 service_notification_commands notify-w4
 host_notification_commands notify-host-none
}}
define host {{
 name w4-host
 register 0
 check_command check_none
 active_checks_enabled 0
 passive_checks_enabled 1
 max_check_attempts 1
 check_period 24x7
 notification_period 24x7
 notifications_enabled 0
 contacts w4
}}
define service {{
 name w4-service
 register 0
 check_command check_none
 is_volatile 1
 active_checks_enabled 0
 passive_checks_enabled 1
 max_check_attempts 1
 check_interval 5
 retry_interval 1
 check_period 24x7
 notification_period 24x7
 notification_interval 0
 notification_options w,u,c,r
 notifications_enabled 1
 contacts w4
}}
"""]
    for i in range(hosts):
        out.append(f"define host {{\n use w4-host\n host_name w4-host-{i}\n address 127.0.0.1\n}}\n"
                   f"define service {{\n use w4-service\n host_name w4-host-{i}\n service_description w4\n}}\n")
    with open(os.path.join(d, "objects.cfg"), "w") as f:
        f.write("".join(out))


# Settings both engines get (nagios.cfg format). Logging as in a default
# Nagios install: every result logs EXTERNAL COMMAND, PASSIVE SERVICE CHECK,
# SERVICE ALERT and SERVICE NOTIFICATION in both.
COMMON = """cfg_file={d}/objects.cfg
log_file={d}/engine.log
command_file={d}/engine.cmd
status_file={d}/status.dat
state_retention_file={d}/retention.dat
retain_state_information=1
retention_update_interval=1
check_result_path={d}/checkresults
lock_file={d}/engine.lock
temp_file={d}/engine.tmp
temp_path={d}
interval_length=60
check_external_commands=1
accept_passive_service_checks=1
accept_passive_host_checks=1
execute_service_checks=1
execute_host_checks=1
enable_notifications=1
enable_event_handlers=1
enable_flap_detection=0
enable_environment_macros=0
process_performance_data=0
log_notifications=1
log_service_retries=1
log_host_retries=1
log_event_handlers=1
log_external_commands=1
log_passive_checks=1
log_initial_states=0
illegal_object_name_chars=`~!$%^&*|'"<>?,()=
illegal_macro_output_chars=`~$&|'"<>
"""

# Nagios only: private paths, no network, and the settings that bear on
# latency at their fastest values.
NAGIOS_EXTRA = """nagios_user={user}
nagios_group={group}
object_cache_file={d}/objects.cache
precached_object_file={d}/objects.precache
query_socket={d}/nagios.qh
debug_file={d}/nagios.debug
debug_level=0
use_syslog=0
log_rotation_method=n
log_archive_path={d}
check_for_updates=0
bare_update_check=0
status_update_interval=10
command_check_interval=-1
check_result_reaper_frequency=1
max_check_result_reaper_time=30
event_broker_options=0
"""


def write_nsca_cfg(d, port, cmd_file):
    p = os.path.join(d, "nsca.cfg")
    with open(p, "w") as f:
        f.write(f"server_address=127.0.0.1\nserver_port={port}\ncommand_file={cmd_file}\n"
                f"alternate_dump_file={d}/nsca.dump\npassword={PASSWORD}\ndecryption_method=1\n"
                f"append_to_file=0\ndebug=0\nmax_packet_age=900\naggregate_writes=0\n")
    return p


def wait_port(port, secs=60):
    deadline = time.time() + secs
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.05)
    raise RuntimeError(f"nothing listens on {port}")


def wait_for(pred, secs, what):
    deadline = time.time() + secs
    while time.time() < deadline:
        if pred():
            return
        time.sleep(0.05)
    raise RuntimeError(f"timed out waiting for {what}")


def tree_ticks(root_pids):
    """utime+stime+cutime+cstime of the processes in root_pids and all their descendants."""
    procs = {}
    for name in os.listdir("/proc"):
        if not name.isdigit():
            continue
        try:
            with open(f"/proc/{name}/stat") as f:
                fields = f.read().rsplit(")", 1)[1].split()
        except OSError:
            continue
        procs[int(name)] = (int(fields[1]), sum(int(x) for x in fields[11:15]))
    kids = {}
    for pid, (ppid, _) in procs.items():
        kids.setdefault(ppid, []).append(pid)
    total, stack, seen = 0, list(root_pids), set()
    while stack:
        p = stack.pop()
        if p in seen or p not in procs:
            continue
        seen.add(p)
        total += procs[p][1]
        stack.extend(kids.get(p, []))
    return total


def busy_ticks():
    """Busy CPU ticks of the whole machine (all cores), from /proc/stat."""
    with open("/proc/stat") as f:
        v = [int(x) for x in f.readline().split()[1:]]
    return sum(v) - v[3] - v[4]  # minus idle and iowait


def stop(proc):
    if proc.poll() is None:
        proc.send_signal(signal.SIGTERM)
        try:
            proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def start_system(system, d, hosts):
    """Start the engine and, unless built in, the NSCA daemon. Returns
    (port, {label: Popen})."""
    write_objects(d, hosts)
    os.makedirs(os.path.join(d, "checkresults"), exist_ok=True)
    port = free_port()
    cmd_file = os.path.join(d, "engine.cmd")
    log = open(os.path.join(d, "daemons.out"), "w")
    procs = {}
    main = os.path.join(d, "engine.cfg")
    common = COMMON.format(d=d)
    if system == "nagios":
        import grp
        import pwd
        user = pwd.getpwuid(os.getuid()).pw_name
        group = grp.getgrgid(os.getgid()).gr_name
        with open(main, "w") as f:
            f.write(common + NAGIOS_EXTRA.format(d=d, user=user, group=group))
        procs["nagios4"] = subprocess.Popen([NAGIOS, main], cwd=d, stdout=log, stderr=log)
        wait_for(lambda: os.path.exists(cmd_file), 120, "nagios4's command FIFO")
        nsca_cfg = write_nsca_cfg(d, port, cmd_file)
        procs["nsca"] = subprocess.Popen([DEBIAN_NSCA, "-f", "-c", nsca_cfg, "--single"],
                                         stdout=log, stderr=log)
    else:
        with open(main, "w") as f:
            f.write(common)
            if system in ("picket", "picket-full"):
                nsca_cfg = write_nsca_cfg(d, port, cmd_file)
                f.write(f"nsca_config_file={nsca_cfg}\n")
            if system == "picket-full":
                # The whole system: history (SQLite) and the web UI/API too.
                f.write(f"history_file={d}/history.db\nweb_listen=127.0.0.1:{free_port()}\n")
            for line in PICKET_EXTRA:
                f.write(f"{line}\n")
        procs["picket"] = subprocess.Popen([PICKET, main], cwd=d, stdout=log, stderr=log)
        wait_for(lambda: os.path.exists(cmd_file), 120, "picket's command FIFO")
        if system == "picket-nsca":
            nsca_cfg = write_nsca_cfg(d, port, cmd_file)
            procs["nsca"] = subprocess.Popen([PICKET_NSCA, "-f", "-c", nsca_cfg],
                                             stdout=log, stderr=log)
    wait_port(port)
    return port, procs


def pct(sorted_v, p):
    if not sorted_v:
        return float("nan")
    i = min(max(int(len(sorted_v) * p + 0.999999) - 1, 0), len(sorted_v) - 1)
    return sorted_v[i]


starts = []  # start_ns of every stamp line read by the last read_stamps()


def read_stamps(path):
    got = {}
    dup = 0
    starts.clear()
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        return got, dup
    with f:
        for line in f:
            parts = line.split()
            # <start_ns> W4 <seq> <send_ns>
            if len(parts) != 4 or parts[1] != b"W4":
                continue
            seq, start, sent = int(parts[2]), int(parts[0]), int(parts[3])
            if seq in got:
                dup += 1
                continue
            got[seq] = (start - sent) / 1e6
            starts.append(start)
    return got, dup


def run_one(system, mode, a):
    with tempfile.TemporaryDirectory(prefix=f"w4-{system}-") as d:
        port, procs = start_system(system, d, a.hosts)
        try:
            time.sleep(1.0)  # let the engine finish start-up work
            conns = a.conns if mode == "persistent" else a.workers
            pids = [p.pid for p in procs.values()]
            c0 = {k: tree_ticks([p.pid]) for k, p in procs.items()}
            b0 = busy_ticks()
            r0 = resource.getrusage(resource.RUSAGE_CHILDREN)
            t0 = time.monotonic()
            s = subprocess.run(
                [SEND, "-p", str(port), "--rate", str(a.rate), "--secs", str(a.warmup + a.secs),
                 "--mode", mode, "-c", str(conns), "-m", "1", "--password", PASSWORD,
                 "--hosts", str(a.hosts)],
                capture_output=True, text=True, timeout=a.warmup + a.secs + 120)
            t1 = time.monotonic()
            c1 = {k: tree_ticks([p.pid]) for k, p in procs.items()}
            b1 = busy_ticks()
            r1 = resource.getrusage(resource.RUSAGE_CHILDREN)
            rep = json.loads(s.stdout.strip().splitlines()[-1])
            first = a.warmup * a.rate
            failed = set(rep["failed"])
            want = [q for q in range(first, rep["due"]) if q not in failed]
            stamps = os.path.join(d, "stamps.txt")
            deadline = time.monotonic() + a.drain
            while time.monotonic() < deadline:
                got, _ = read_stamps(stamps)
                if all(q in got for q in want[-100:]) and len(got) >= len(want):
                    break
                time.sleep(0.5)
            got, dup = read_stamps(stamps)
            alive = {k: p.poll() is None for k, p in procs.items()}
        finally:
            for p in reversed(list(procs.values())):
                stop(p)
            if a.keep:
                keep = os.path.join(a.keep, f"{system}-{mode}")
                shutil.rmtree(keep, ignore_errors=True)
                shutil.copytree(d, keep, ignore=shutil.ignore_patterns("engine.cmd", "*.qh"))
        lat = sorted(got[q] for q in want if q in got)
        lost = sum(1 for q in want if q not in got)
        wall = t1 - t0
        cpu = {k: 100.0 * (c1[k] - c0[k]) / CLK_TCK / wall for k in procs}
        sender = 100.0 * ((r1.ru_utime + r1.ru_stime) - (r0.ru_utime + r0.ru_stime)) / wall
        # Everything else the machine did meanwhile (other users' builds, the sender, ...).
        other = 100.0 * (b1 - b0) / CLK_TCK / wall - sum(cpu.values()) - sender
        w0 = rep["t0_ns"] + a.warmup * 1_000_000_000
        rate = sum(1 for x in starts if w0 <= x <= rep["end_ns"]) / max((rep["end_ns"] - w0) / 1e9, 1e-9)
        return dict(
            system=system, mode=mode, counted=len(want), notified=len(lat), lost=lost, dup=dup,
            failed=len(failed), p50=pct(lat, 0.5), p90=pct(lat, 0.9), p99=pct(lat, 0.99),
            p999=pct(lat, 0.999), max=lat[-1] if lat else float("nan"),
            mean=statistics.fmean(lat) if lat else float("nan"),
            lag_p99=rep["lag_p99_ms"], lag_max=rep["lag_max_ms"],
            connect_p99=rep["connect_p99_ms"], cpu=cpu, alive=alive, pids=pids,
            sender_cpu=sender, other_cpu=other, notified_per_s=rate, load=os.getloadavg(),
        )


def fmt_row(r):
    cpu = ", ".join(f"{k} {v:.0f}" for k, v in r["cpu"].items())
    return (f"| {r['system']} | {r['mode']} | {r['counted']:,} | {r['notified_per_s']:,.0f} | "
            f"{r['p50']:.2f} | {r['p90']:.2f} | {r['p99']:.2f} | {r['p999']:.2f} | {r['max']:.1f} | "
            f"{r['lost']:,} | {r['lag_p99']:.2f} / {r['lag_max']:.1f} | {cpu} | {r['sender_cpu']:.0f} | "
            f"{r['other_cpu']:.0f} | {r['load'][0]:.1f} |")


def build_stamp():
    src = os.path.join(os.path.dirname(os.path.abspath(__file__)), "w4-stamp.c")
    os.makedirs(os.path.dirname(STAMP), exist_ok=True)
    subprocess.run(["cc", "-O2", "-static", "-o", STAMP, src], check=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--systems", default="picket,picket-nsca,nagios")
    ap.add_argument("--modes", default="persistent,per-result")
    ap.add_argument("--rate", type=int, default=2000)
    ap.add_argument("--hosts", type=int, default=5000)
    ap.add_argument("--secs", type=int, default=30, help="measured seconds")
    ap.add_argument("--warmup", type=int, default=10)
    ap.add_argument("--drain", type=int, default=20)
    ap.add_argument("--conns", type=int, default=4, help="persistent connections")
    ap.add_argument("--workers", type=int, default=32, help="per-result workers")
    ap.add_argument("--reps", type=int, default=1)
    ap.add_argument("--json", help="append raw runs to this file")
    ap.add_argument("--keep", help="copy each run directory under this directory")
    ap.add_argument("--picket", help="picket binary to run (default: the release build)")
    ap.add_argument("--picket-cfg", action="append", default=[], metavar="KEY=VALUE",
                    help="an extra main-config line for picket (repeatable)")
    a = ap.parse_args()
    if a.picket:
        global PICKET
        PICKET = os.path.abspath(a.picket)
    PICKET_EXTRA.extend(a.picket_cfg)
    build_stamp()
    for b in (PICKET, PICKET_NSCA, SEND, STAMP, NAGIOS, DEBIAN_NSCA):
        if not os.path.exists(b):
            sys.exit(f"missing {b} (cargo build --release -p picket -p picket-nsca -p picket-bench; "
                     f"apt-get install -y nagios4-core nsca)")
    print(f"# load average before: {os.getloadavg()}", file=sys.stderr)
    print("| system | sender | results counted | notified/s | p50 ms | p90 ms | p99 ms | p99.9 ms | max ms | "
          "not notified | sender lag p99 / max ms | daemon CPU % (tree) | sender CPU % | other CPU % | load |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|---:|")
    for _ in range(a.reps):
        for mode in a.modes.split(","):
            for system in a.systems.split(","):
                r = run_one(system, mode, a)
                print(fmt_row(r), flush=True)
                print(f"# {json.dumps(r)} load={os.getloadavg()}", file=sys.stderr, flush=True)
                if a.json:
                    with open(a.json, "a") as f:
                        f.write(json.dumps(r) + "\n")


if __name__ == "__main__":
    main()
