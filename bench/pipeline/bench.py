#!/usr/bin/env python3
"""NSCA -> engine pipeline benchmark: `picket` with its built-in NSCA receiver
against Debian's `nsca --single` writing into `nagios4`'s command FIFO, driven
by the same load generator (`nsca-loadgen`) in the same run, on loopback.

    cargo build --release -p picket -p picket-nsca
    python3 bench/pipeline/bench.py --reps 3

What is measured, per pipeline: the wall time from the load generator's first
connection until the engine has processed and logged every result it was sent
(`PASSIVE SERVICE CHECK:` lines counted in the engine's log, read
incrementally), the results/s that gives, and the CPU the daemons spent per
result (utime+stime from /proc: `picket`; `nsca` + `nagios4` and their
children). Results still not logged 10 s after the last progress are counted
as missing (the run ends there).

Both engines run the same generated object configuration (HOSTS hosts
`loadgen-host-N`, each with one passive service `loadgen`; notifications off,
so no processes are spawned; flap detection off), the same `nagios.cfg` keys
(`log_passive_checks=1`, `log_external_commands=1`, retention on) and the
same NSCA settings (method, password, `max_packet_age=60`). Debian's `nsca`
runs with `aggregate_writes=0`, its default (--aggregate for 1, which was not
faster here: 15.7k-26.7k results/s against 23.7k-31.1k).

Runs are interleaved (Picket, C, C, Picket, ...) so that background load
affects both alike; the medians and ratios are printed as a Markdown table and
the raw runs go to --json.
"""

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
sys.path.insert(0, os.path.join(ROOT, "bench", "lib"))
from nagios_bench import write_main_cfg, write_objects  # noqa: E402

TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
PICKET = os.environ.get("PICKET", os.path.join(TARGET, "release", "picket"))
LOADGEN = os.path.join(TARGET, "release", "nsca-loadgen")
DEBIAN_NSCA = "/usr/sbin/nsca"
NAGIOS4 = "/usr/sbin/nagios4"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PASSWORD = "bench-password"
NEEDLE = b"PASSIVE SERVICE CHECK: "


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    """utime+stime of `pid` and its waited-for children, in clock ticks."""
    try:
        with open(f"/proc/{pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
    except OSError:
        return 0
    return sum(int(x) for x in fields[11:15])


def tree_ticks(pid):
    """CPU ticks of `pid` and all its live descendants (nagios4's workers)."""
    total = cpu_ticks(pid)
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            kids = [int(k) for k in f.read().split()]
    except OSError:
        kids = []
    return total + sum(tree_ticks(k) for k in kids)


def write_nsca_cfg(path, port, method, command_file, aggregate):
    with open(path, "w") as f:
        f.write(
            f"server_address=127.0.0.1\nserver_port={port}\ncommand_file={command_file}\n"
            f"alternate_dump_file={os.path.dirname(path)}/nsca.dump\npassword={PASSWORD}\n"
            f"decryption_method={method}\nappend_to_file=0\naggregate_writes={aggregate}\n"
            f"debug=0\nmax_packet_age=60\n"
        )


def wait_until(pred, secs, what):
    deadline = time.monotonic() + secs
    while time.monotonic() < deadline:
        if pred():
            return
        time.sleep(0.02)
    raise RuntimeError(f"timed out waiting for {what}")


def can_connect(port):
    try:
        socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
        return True
    except OSError:
        return False


def log_has(path, text):
    try:
        with open(path, "rb") as f:
            return text in f.read()
    except OSError:
        return False


class LogCounter:
    """Counts NEEDLE in the bytes appended to a log since construction."""

    def __init__(self, path):
        self.f = open(path, "rb")
        self.f.seek(0, os.SEEK_END)
        self.carry = b""
        self.count = 0

    def poll(self):
        chunk = self.f.read()
        if chunk:
            data = self.carry + chunk
            self.count += data.count(NEEDLE)
            # keep a tail that may hold the start of a split needle, but
            # never a whole one (it was counted)
            keep = len(NEEDLE) - 1
            tail = data[-keep:]
            self.carry = tail if NEEDLE not in tail else b""
        return self.count


def start_picket(w, objects, method):
    port = free_port()
    write_nsca_cfg(f"{w}/nsca.cfg", port, method, f"{w}/nsca.cmd", 0)
    cfg = write_main_cfg(w, objects, f"nsca_config_file={w}/nsca.cfg\n")
    p = subprocess.Popen([PICKET, cfg], stdout=open(f"{w}/engine.out", "w"), stderr=subprocess.STDOUT)
    wait_until(lambda: can_connect(port) and os.path.exists(f"{w}/nagios.log"), 60, "picket")
    return [p], [p.pid], port


def start_engine(binary, w, objects, what):
    """Starts `binary` on the generated configuration and waits until a command
    written to its FIFO is logged (the engine reads the FIFO)."""
    cfg = write_main_cfg(w, objects)
    p = subprocess.Popen([binary, cfg], stdout=open(f"{w}/engine.out", "w"), stderr=subprocess.STDOUT)
    wait_until(lambda: os.path.exists(f"{w}/nagios.cmd"), 60, f"{what}'s FIFO")
    with open(f"{w}/nagios.cmd", "w") as f:
        f.write(f"[{int(time.time())}] ENABLE_NOTIFICATIONS\n")
    wait_until(lambda: log_has(f"{w}/nagios.log", b"EXTERNAL COMMAND: ENABLE_NOTIFICATIONS"), 60, what)
    return p


def start_picket_fifo(w, objects):
    """The same picket configuration as start_picket, fed through its command FIFO."""
    p = start_engine(PICKET, w, objects, "picket")
    return [p], [p.pid], None


def fifo_lines(args):
    """The results nsca-loadgen sends, in its order, as command lines (session s of
    --per-connection results covers hosts (s * per_connection + j) % hosts)."""
    now = int(time.time())
    sessions = -(-args.results // args.per_connection)
    out = []
    n = 0
    for s in range(sessions):
        for j in range(args.per_connection):
            if n == args.results:
                break
            h = (s * args.per_connection + j) % max(args.hosts, 1)
            out.append(f"[{now}] PROCESS_SERVICE_CHECK_RESULT;loadgen-host-{h};loadgen;2;Denied sshd-127.0.0.2\n")
            n += 1
    return "".join(out).encode()


def fifo_writer(path, data):
    """A child process that writes `data` into the FIFO at `path` as fast as it can and
    prints the load generator's JSON report (so the harness treats both alike)."""
    code = (
        "import os, sys, json\n"
        "data = sys.stdin.buffer.read()\n"
        "fd = os.open(sys.argv[1], os.O_WRONLY)\n"
        "v = memoryview(data)\n"
        "while v:\n"
        "    v = v[os.write(fd, v[:1 << 20]):]\n"
        "print(json.dumps(dict(sent=int(sys.argv[2]), stalled=0, failed=0)))\n"
    )
    p = subprocess.Popen([sys.executable, "-c", code, path, str(data.count(b"\n"))],
                         stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=False)
    return p, data


def start_c(w, objects, method, aggregate):
    ng = start_engine(NAGIOS4, w, objects, "nagios4")
    port = free_port()
    write_nsca_cfg(f"{w}/nsca.cfg", port, method, f"{w}/nagios.cmd", aggregate)
    ns = subprocess.Popen([DEBIAN_NSCA, "-f", "--single", "-c", f"{w}/nsca.cfg"],
                          stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    wait_until(lambda: can_connect(port), 10, "nsca")
    return [ns, ng], [ns.pid, ng.pid], port


def stop(procs):
    for p in procs:
        p.terminate()
    for p in procs:
        try:
            p.wait(timeout=15)
        except subprocess.TimeoutExpired:
            p.kill()
            p.wait()


def run_one(impl, args, objects):
    with tempfile.TemporaryDirectory(prefix=f"pipeline-{impl}-") as w:
        if impl == "picket":
            procs, pids, port = start_picket(w, objects, args.method)
        elif impl == "fifo":
            procs, pids, port = start_picket_fifo(w, objects)
        else:
            procs, pids, port = start_c(w, objects, args.method, 1 if args.aggregate else 0)
        try:
            time.sleep(0.5)  # let start-up work (and the readiness probe) settle
            counter = LogCounter(f"{w}/nagios.log")
            c0 = sum(tree_ticks(p) for p in pids)
            t0 = time.monotonic()
            if impl == "fifo":
                data = args.fifo_data
                lg = None
            else:
                lg = subprocess.Popen(
                    [LOADGEN, "-p", str(port), "-n", str(args.results), "-k", str(args.per_connection),
                     "-c", str(args.connections), "-m", str(args.method), "--password", PASSWORD,
                     "--hosts", str(args.hosts), "--stall-secs", "60", "--max-secs", "300"],
                    stdout=subprocess.PIPE, text=True)
            if lg is None:
                # the writer reads every line from a pipe before it opens the FIFO; the
                # daemon's CPU is what is compared, and it is idle until the first line
                lg, _ = fifo_writer(f"{w}/nagios.cmd", data)
                t0 = time.monotonic()
                lg.stdin.write(data)
                lg.stdin.close()
            last, last_change, done_at = 0, time.monotonic(), None
            report = None
            while True:
                n = counter.poll()
                now = time.monotonic()
                if n != last:
                    last, last_change = n, now
                if report is None and lg.poll() is not None:
                    out = lg.stdout.read()
                    out = out.decode() if isinstance(out, bytes) else out
                    report = json.loads(out.strip().splitlines()[-1])
                if report is not None and n >= report["sent"]:
                    done_at = now
                    break
                if now - last_change > 10:
                    break
                time.sleep(0.002)
            if report is None:
                lg.wait(timeout=330)
                out = lg.stdout.read()
                out = out.decode() if isinstance(out, bytes) else out
                report = json.loads(out.strip().splitlines()[-1])
            t1 = done_at if done_at is not None else last_change
            c1 = sum(tree_ticks(p) for p in pids)
        finally:
            stop(procs)
    wall = max(t1 - t0, 1e-9)
    cpu = (c1 - c0) / CLK_TCK
    return dict(impl=impl, sent=report["sent"], processed=last, lost=max(report["sent"] - last, 0),
                wall=wall, rate=last / wall, cpu_us_per_result=1e6 * cpu / max(last, 1),
                stalled=report["stalled"], failed=report["failed"])


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--results", type=int, default=200_000)
    ap.add_argument("--hosts", type=int, default=10_000)
    ap.add_argument("--connections", type=int, default=4)
    ap.add_argument("--per-connection", type=int, default=10_000)
    ap.add_argument("--method", type=int, default=1)
    ap.add_argument("--aggregate", action="store_true", help="aggregate_writes=1 for Debian nsca")
    ap.add_argument("--json", default=os.path.join(TARGET, "pipeline-bench.json"))
    ap.add_argument("--only", choices=["picket", "fifo", "c"],
                    help="run one pipeline only (e.g. to compare two picket builds with PICKET=)")
    ap.add_argument("--fifo", action="store_true",
                    help="picket's built-in NSCA against the same picket fed the same results "
                         "through its command FIFO (interleaved; CPU counted alike)")
    args = ap.parse_args()
    needed = {"picket": (PICKET, LOADGEN), "fifo": (PICKET,),
              "c": (LOADGEN, DEBIAN_NSCA, NAGIOS4)}.get(
        args.only, (PICKET, LOADGEN, DEBIAN_NSCA, NAGIOS4))
    if args.only == "fifo":
        args.fifo_data = fifo_lines(args)
    if args.fifo:
        needed = (PICKET, LOADGEN)
        args.fifo_data = fifo_lines(args)
    for p in needed:
        if not os.path.exists(p):
            sys.exit(f"missing {p} (cargo build --release -p picket -p picket-nsca; "
                     "apt-get install -y nsca nagios4-core)")
    runs = []
    with tempfile.TemporaryDirectory(prefix="pipeline-objects-") as d:
        objects = f"{d}/objects.cfg"
        write_objects(objects, args.hosts, ["loadgen"], lambda h: f"loadgen-host-{h}")
        for rep in range(args.reps):
            other = "fifo" if args.fifo else "c"
            order = ["picket", other] if rep % 2 == 0 else [other, "picket"]
            if args.only:
                order = [args.only]
            for impl in order:
                r = run_one(impl, args, objects)
                r["rep"] = rep
                runs.append(r)
                print(f"rep {rep} {impl:6} {r['processed']:7d}/{r['sent']} in {r['wall']:.3f} s "
                      f"= {r['rate']:9.0f}/s cpu={r['cpu_us_per_result']:6.2f}us missing={r['lost']} "
                      f"stalled={r['stalled']}", file=sys.stderr, flush=True)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(runs, f, indent=1)
    med = {}
    for impl in ("picket", "fifo", "c"):
        rs = [r for r in runs if r["impl"] == impl]
        if not rs:
            continue
        med[impl] = dict(rate=statistics.median(r["rate"] for r in rs),
                         wall=statistics.median(r["wall"] for r in rs),
                         cpu=statistics.median(r["cpu_us_per_result"] for r in rs),
                         lost=sum(r["lost"] for r in rs), stalled=sum(r["stalled"] for r in rs))
    print(f"\n{args.results} results, {args.hosts} services, method {args.method}, "
          f"{args.connections} connections x {args.per_connection}; {args.reps} reps, medians; "
          f"load average {os.getloadavg()[0]:.2f}; raw: {args.json}\n")
    print("| pipeline | wall | results/s | daemon CPU µs/result | missing (all reps) | stalled connections |")
    print("|---|---:|---:|---:|---:|---:|")
    if "picket" in med:
        p = med["picket"]
        print(f"| picket (built-in NSCA) | {p['wall']:.3f} s | {p['rate']:,.0f} | {p['cpu']:.2f} | {p['lost']} | {p['stalled']} |")
    if "fifo" in med:
        p = med["fifo"]
        print(f"| picket (the same results through its command FIFO) | {p['wall']:.3f} s | {p['rate']:,.0f} | {p['cpu']:.2f} | {p['lost']} | {p['stalled']} |")
    agg = "1" if args.aggregate else "0"
    if "c" in med:
        c = med["c"]
        print(f"| Debian nsca --single (aggregate_writes={agg}) → FIFO → nagios4 | {c['wall']:.3f} s | {c['rate']:,.0f} | {c['cpu']:.2f} | {c['lost']} | {c['stalled']} |")
    if "picket" in med and "c" in med:
        print(f"\nratio: {med['picket']['rate'] / max(med['c']['rate'], 1e-9):.1f}×")


if __name__ == "__main__":
    main()
