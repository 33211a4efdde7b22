#!/usr/bin/env python3
"""NSCA-ng: Picket `nsca-ng` vs Debian `nsca-ng` 1.6, both writing a FIFO.

The same client drives both servers: Debian's `send_nsca` of nsca-ng-client
(unpacked in /opt/nsca-ng-client, see .ci/run), so the client's cost is the
same on both sides. Two workloads:

  persistent  one session (one TLS handshake) carrying N results;
  per-result  one `send_nsca` run, hence one TCP connection and one TLS
              handshake, per result, P of them, K clients at a time.

Measured: results/s (lines read from the FIFO per second of wall time, from
the first connection to the last line) and the server's CPU per result
(utime+stime from /proc/PID/stat, before and after). Runs alternate
Picket/Debian. Loopback only, every run bounded in count and time.

Usage: python3 bench/nsca-ng/bench.py [--n 20000] [--p 400] [--k 4] [--reps 3]
                                     [--also NAME=PATH ...]
(needs `cargo build --release -p picket-nsca-ng` and nsca-ng-server;
`--also` adds another server binary to the rotation, e.g. a build of an
earlier commit, to compare it under the same load)
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

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
OURS = os.path.join(TARGET, "release", "nsca-ng")
DEBIAN = "/usr/sbin/nsca-ng"
CLIENT = os.environ.get("NSCA_NG_SEND_NSCA", "/opt/nsca-ng-client/usr/sbin/send_nsca")
PW = "bench-secret-key-0123456789"
TICK = os.sysconf("SC_CLK_TCK")


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / TICK


class Server:
    def __init__(self, program):
        self.dir = tempfile.TemporaryDirectory()
        d = self.dir.name
        self.fifo = os.path.join(d, "nagios.cmd")
        os.mkfifo(self.fifo)
        self.lines = 0
        self.last = 0.0
        fd = os.open(self.fifo, os.O_RDWR)
        self.reader = threading.Thread(target=self._read, args=(fd,), daemon=True)
        self.reader.start()
        self.port = free_port()
        cfg = os.path.join(d, "nsca-ng.cfg")
        with open(cfg, "w") as f:
            f.write(
                f'command_file = "{self.fifo}"\nlisten = "127.0.0.1:{self.port}"\n'
                f'log_level = 1\nauthorize "bench" {{\n password = "{PW}"\n'
                f' hosts = "web.*"\n services = ".+@web.*"\n}}\n'
            )
        self.client_cfg = os.path.join(d, "send_nsca.cfg")
        with open(self.client_cfg, "w") as f:
            f.write(f'identity = "bench"\npassword = "{PW}"\n')
        self.proc = subprocess.Popen(
            [program, "-c", cfg, "-F", "-l", "1"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            env=dict(os.environ, RUST_LOG="error"),
        )
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                socket.create_connection(("127.0.0.1", self.port), 0.2).close()
                return
            except OSError:
                time.sleep(0.02)
        raise RuntimeError(f"{program} is not listening")

    def _read(self, fd):
        while True:
            b = os.read(fd, 1 << 16)
            if not b:
                return
            self.lines += b.count(b"\n")
            self.last = time.time()

    def wait_lines(self, n, secs=120):
        deadline = time.time() + secs
        while self.lines < n and time.time() < deadline:
            time.sleep(0.01)
        return self.lines

    def stop(self):
        self.proc.terminate()
        try:
            self.proc.wait(5)
        except subprocess.TimeoutExpired:
            self.proc.kill()
        self.dir.cleanup()


def send(server, data, timeout=60):
    return subprocess.run(
        [CLIENT, "-c", server.client_cfg, "-H", "127.0.0.1", "-p", str(server.port)],
        input=data,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        timeout=timeout,
    ).returncode


def persistent(program, n):
    s = Server(program)
    try:
        data = b"".join(
            b"web%d\tHTTP\t%d\tHTTP OK - %d bytes in 0.01 s |time=0.01s\x17" % (i % 100, i % 3, i)
            for i in range(n)
        )
        cpu0, t0 = cpu_seconds(s.proc.pid), time.time()
        rc = send(s, data, timeout=300)
        got = s.wait_lines(n)
        wall = s.last - t0
        cpu = cpu_seconds(s.proc.pid) - cpu0
        return {"rc": rc, "lines": got, "rate": got / wall, "cpu_us": cpu / max(got, 1) * 1e6}
    finally:
        s.stop()


def per_result(program, p, k):
    s = Server(program)
    try:
        cpu0, t0 = cpu_seconds(s.proc.pid), time.time()
        nxt = [0]
        lock = threading.Lock()
        fails = [0]

        def worker():
            while True:
                with lock:
                    i = nxt[0]
                    nxt[0] += 1
                if i >= p:
                    return
                if send(s, b"web%d\tHTTP\t0\tOK %d\n" % (i % 100, i)) != 0:
                    with lock:
                        fails[0] += 1

        ts = [threading.Thread(target=worker) for _ in range(k)]
        for t in ts:
            t.start()
        for t in ts:
            t.join()
        got = s.wait_lines(p - fails[0], 30)
        wall = s.last - t0
        cpu = cpu_seconds(s.proc.pid) - cpu0
        return {"fails": fails[0], "lines": got, "rate": got / wall, "cpu_us": cpu / max(got, 1) * 1e6}
    finally:
        s.stop()


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=20000)
    ap.add_argument("--p", type=int, default=400)
    ap.add_argument("--k", type=int, default=4)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--also", action="append", default=[], metavar="NAME=PATH")
    a = ap.parse_args()
    servers = [("picket", OURS)] + [tuple(x.split("=", 1)) for x in a.also] + [("debian", DEBIAN)]
    for p in [prog for _, prog in servers] + [CLIENT]:
        if not os.path.exists(p):
            sys.exit(f"missing {p}")
    res = {}
    for rep in range(a.reps):
        for name, prog in servers:
            r = persistent(prog, a.n)
            res.setdefault(("persistent", name), []).append(r)
            print(f"rep {rep} persistent {name}: {r}", flush=True)
            r = per_result(prog, a.p, a.k)
            res.setdefault(("per-result", name), []).append(r)
            print(f"rep {rep} per-result {name}: {r}", flush=True)
    print(f"\nload average {os.getloadavg()[0]:.1f}; medians of {a.reps}")
    print("| workload | server | results/s | server CPU µs/result | lines |")
    print("|---|---|---:|---:|---:|")
    for (w, name), rs in res.items():
        rate = statistics.median(r["rate"] for r in rs)
        cpu = statistics.median(r["cpu_us"] for r in rs)
        lines = min(r["lines"] for r in rs)
        print(f"| {w} | {name} | {rate:,.0f} | {cpu:,.1f} | {lines} |")


if __name__ == "__main__":
    main()
