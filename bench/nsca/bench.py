#!/usr/bin/env python3
"""Side-by-side NSCA benchmark: Picket's `nsca` and Debian's `nsca --single`,
driven by the same load generator (`nsca-loadgen`) in the same run, on
loopback.

    cargo build --release -p picket-nsca
    python3 bench/nsca/bench.py --reps 3            # all scenarios, ~10 min
    python3 bench/nsca/bench.py --only W1 --reps 1  # one workload

Workloads:
  W1 firehose: many results over 1-8 persistent connections, methods 0 and 1
  W2 churn:    one result per connection, 1/4/16/64 concurrent clients
  W3 ciphers:  methods 3 (3DES), 8 (Blowfish), 14 (RIJNDAEL-128 = AES-256)

For every run it measures, per daemon: results written to the command file
per second of wall time (from the first connection until the last line is
in the file), daemon CPU per result (utime+stime from /proc, children
included), stalled connections (not finished within --stall-secs) and
results lost (sent but never written). The medians and the Picket/Debian
ratios are printed as a Markdown table; raw runs go to --json.

Runs are interleaved (Picket, Debian, Picket, ...) so that background load
affects both alike. All traffic goes to 127.0.0.1; every run is bounded.
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
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
PICKET_NSCA = os.path.join(TARGET, "release", "nsca")
LOADGEN = os.path.join(TARGET, "release", "nsca-loadgen")
DEBIAN_NSCA = "/usr/sbin/nsca"
CLK_TCK = os.sysconf("SC_CLK_TCK")
PASSWORD = "bench-password"


def scenarios(quick):
    n1 = 50_000 if quick else 200_000
    out = []
    for method in (0, 1):
        for c in (1, 4, 8):
            out.append(dict(w="W1", method=method, n=n1, k=10_000, c=c))
    for c in (1, 4, 16, 64):
        out.append(dict(w="W2", method=1, n=5_000 if quick else 20_000, k=1, c=c))
    for method in (3, 8, 14):
        out.append(dict(w="W3", method=method, n=2_000 if quick else 10_000, k=1_000, c=2))
    return out


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    # utime stime cutime cstime are fields 14-17 (1-based); after ')' they start at index 11.
    return sum(int(x) for x in fields[11:15])


def count_lines(path):
    n = 0
    with open(path, "rb") as f:
        while True:
            b = f.read(1 << 20)
            if not b:
                return n
            n += b.count(b"\n")


def start_daemon(program, method, workdir):
    port = free_port()
    cmd = os.path.join(workdir, "nagios.cmd")
    open(cmd, "w").close()
    cfg = os.path.join(workdir, "nsca.cfg")
    with open(cfg, "w") as f:
        f.write(
            f"server_address=127.0.0.1\nserver_port={port}\ncommand_file={cmd}\n"
            f"alternate_dump_file={workdir}/dump\npassword={PASSWORD}\n"
            f"decryption_method={method}\nappend_to_file=1\ndebug=0\nmax_packet_age=60\n"
        )
    args = [program, "-f", "-c", cfg]
    if program == DEBIAN_NSCA:
        args.append("--single")
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.time() + 10
    while time.time() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return proc, port, cmd
        except OSError:
            time.sleep(0.02)
    proc.kill()
    raise RuntimeError(f"{program} did not start")


def run_one(program, sc, stall_secs):
    with tempfile.TemporaryDirectory(prefix="nsca-bench-") as d:
        proc, port, cmd = start_daemon(program, sc["method"], d)
        try:
            # The readiness probe above was one connection; let it settle.
            time.sleep(0.3 if program == DEBIAN_NSCA else 0.05)
            base_lines = count_lines(cmd)
            c0 = cpu_ticks(proc.pid)
            t0 = time.monotonic()
            lg = subprocess.run(
                [LOADGEN, "-p", str(port), "-n", str(sc["n"]), "-k", str(sc["k"]),
                 "-c", str(sc["c"]), "-m", str(sc["method"]), "--password", PASSWORD,
                 "--hosts", "1000", "--stall-secs", str(stall_secs), "--max-secs", "300"],
                capture_output=True, text=True, timeout=330)
            report = json.loads(lg.stdout.strip().splitlines()[-1])
            sent = report["sent"]
            # Wait (bounded) for the daemon to write what it got.
            deadline = time.monotonic() + 20
            lines = count_lines(cmd) - base_lines
            last_change = time.monotonic()
            while lines < sent and time.monotonic() < deadline:
                time.sleep(0.02)
                now_lines = count_lines(cmd) - base_lines
                if now_lines != lines:
                    lines, last_change = now_lines, time.monotonic()
                elif time.monotonic() - last_change > 3:
                    break
            t1 = last_change if lines < sent else time.monotonic()
            c1 = cpu_ticks(proc.pid)
        finally:
            proc.terminate()
            try:
                proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
    wall = max(t1 - t0, 1e-9)
    cpu = (c1 - c0) / CLK_TCK
    return dict(
        written=lines, sent=sent, lost=max(sent - lines, 0), wall=wall,
        rate=lines / wall, cpu_us_per_result=1e6 * cpu / max(lines, 1),
        stalled=report["stalled"], failed=report["failed"],
        max_connection_ms=report["max_connection_ms"],
    )


def label(sc):
    return f"{sc['w']} m{sc['method']} k={sc['k']} c={sc['c']} n={sc['n']}"


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--only", help="W1, W2 or W3")
    ap.add_argument("--quick", action="store_true", help="smaller runs")
    ap.add_argument("--stall-secs", type=int, default=15)
    ap.add_argument("--json", default=os.path.join(ROOT, "target", "nsca-bench.json"))
    args = ap.parse_args()
    for p in (PICKET_NSCA, LOADGEN, DEBIAN_NSCA):
        if not os.path.exists(p):
            sys.exit(f"missing {p} (cargo build --release -p picket-nsca; apt-get install nsca)")
    runs = []
    todo = [s for s in scenarios(args.quick) if not args.only or s["w"] == args.only]
    for sc in todo:
        for rep in range(args.reps):
            order = [("picket", PICKET_NSCA), ("debian", DEBIAN_NSCA)]
            if rep % 2:
                order.reverse()
            for name, prog in order:
                r = run_one(prog, sc, args.stall_secs)
                r.update(sc, impl=name, rep=rep)
                runs.append(r)
                print(f"{label(sc):34} {name:6} rate={r['rate']:9.0f}/s cpu={r['cpu_us_per_result']:7.2f}us "
                      f"stalled={r['stalled']} lost={r['lost']}", file=sys.stderr, flush=True)
    os.makedirs(os.path.dirname(args.json), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(runs, f, indent=1)
    print(f"\n{len(runs)} runs, {args.reps} per cell, medians; raw: {args.json}\n")
    print("| workload | Picket results/s | Debian results/s | ratio | Picket CPU µs/result | Debian CPU µs/result | stalled (P / D) | lost (P / D) |")
    print("|---|---:|---:|---:|---:|---:|---:|---:|")
    for sc in todo:
        cell = {}
        for impl in ("picket", "debian"):
            rs = [r for r in runs if r["impl"] == impl and label(r) == label(sc)]
            cell[impl] = dict(
                rate=statistics.median(r["rate"] for r in rs),
                cpu=statistics.median(r["cpu_us_per_result"] for r in rs),
                stalled=sum(r["stalled"] for r in rs),
                lost=sum(r["lost"] for r in rs),
            )
        p, d = cell["picket"], cell["debian"]
        print(f"| {label(sc)} | {p['rate']:,.0f} | {d['rate']:,.0f} | {p['rate'] / max(d['rate'], 1e-9):.1f}× "
              f"| {p['cpu']:.2f} | {d['cpu']:.2f} | {p['stalled']} / {d['stalled']} | {p['lost']} / {d['lost']} |")


if __name__ == "__main__":
    main()
