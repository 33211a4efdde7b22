#!/usr/bin/env python3
"""Flood benchmark of picket-sensor's long-running mode (BENCHMARKS.md, "Sensor").

A writer process appends kernel `LOG` drop lines (one source SYN-scanning the ports of one
host) at RATE lines/s for SECS seconds to a file that `picket-sensor --file` follows (not
--once), delivering to a real `picket` with scan detection on (examples/tcp-wrappers, ports
and paths changed, in a temporary directory). Reported: the sensor's CPU time (utime+stime
from /proc/PID/stat), its max RSS (VmHWM), the events it sent (CONNECTION EVENT lines) and
the connections they stand for (the sum of their counts = every line written), and the
`SCAN INCIDENT ...;opened;` lines (the correlator must open exactly one incident).

Usage: bench/sensor/flood.py [RATE] [SECS]   (defaults 100000 20; builds --release first)
"""

import os
import shutil
import socket
import subprocess
import sys
import tempfile
import time

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
TARGET = os.environ.get("CARGO_TARGET_DIR", os.path.join(ROOT, "target"))
SOURCE = "203.0.113.66"


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    p = s.getsockname()[1]
    s.close()
    return p


def wait_for(what, secs, cond):
    end = time.time() + secs
    while time.time() < end:
        if cond():
            return
        time.sleep(0.1)
    sys.exit(f"timed out waiting for {what}")


def cpu_ticks(pid):
    with open(f"/proc/{pid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return int(fields[11]) + int(fields[12])  # utime, stime (fields 14, 15)


def hwm_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    return 0


def setup(d):
    ex = os.path.join(ROOT, "examples", "tcp-wrappers")
    for f in ["objects.cfg", "resource.cfg", "detection.cfg"]:
        shutil.copy(os.path.join(ex, f), d)
    web = free_port()
    cfg = open(os.path.join(ex, "picket.cfg")).read()
    cfg = cfg.replace("\nweb_listen=127.0.0.1:8080\n", f"\nweb_listen=127.0.0.1:{web}\n")
    open(os.path.join(d, "picket.cfg"), "w").write(cfg)
    nsca = []
    for line in open(os.path.join(ex, "nsca.cfg")):
        line = line.rstrip("\n")
        if line.startswith("server_port="):
            line = f"server_port={free_port()}"
        for k in ("command_file=", "alternate_dump_file=", "spool_file="):
            if line.startswith(k):
                line = k + os.path.join(d, line[len(k):])
        nsca.append(line)
    open(os.path.join(d, "nsca.cfg"), "w").write("\n".join(nsca) + "\n")
    os.mkdir(os.path.join(d, "var"))
    return web


def writer(path, rate, secs):
    """Appends `rate` lines a second in 10 ms slices; returns the number written."""
    per_slice = max(1, rate // 100)
    n = 0
    start = time.monotonic()
    with open(path, "ab", buffering=0) as f:
        while True:
            el = time.monotonic() - start
            if el >= secs:
                break
            due = min(int(el * rate) + per_slice, int(secs * rate))
            if due > n:
                stamp = time.strftime("%b %e %H:%M:%S")
                buf = "".join(
                    f"{stamp} firestorm kernel: [{i / 1000:.3f}] picket-drop IN=eth0 OUT= "
                    f"MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC={SOURCE} DST=192.0.2.1 "
                    f"LEN=44 TOS=0x00 PREC=0x00 TTL=52 ID={i % 65536} PROTO=TCP "
                    f"SPT={40000 + i % 20000} DPT={1 + i % 65535} WINDOW=1024 RES=0x00 SYN URGP=0\n"
                    for i in range(n, due)
                )
                f.write(buf.encode())
                n = due
            time.sleep(0.01 - (time.monotonic() - start) % 0.01)
    return n


def main():
    rate = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    secs = float(sys.argv[2]) if len(sys.argv) > 2 else 20.0
    subprocess.run(
        ["cargo", "build", "--release", "-q", "-p", "picket", "-p", "picket-sensor"],
        cwd=ROOT,
        check=True,
    )
    rel = os.path.join(TARGET, "release")
    d = tempfile.mkdtemp(prefix="picket-flood-")
    procs = []
    keep = False
    try:
        web = setup(d)
        procs.append(
            subprocess.Popen(
                [os.path.join(rel, "picket"), "picket.cfg"],
                cwd=d,
                stdin=subprocess.DEVNULL,
                stdout=open(os.path.join(d, "picket.out"), "w"),
                stderr=subprocess.STDOUT,
            )
        )
        wait_for("picket's web server and token", 30, lambda: os.path.exists(os.path.join(d, "web.token")))
        wait_for("picket's web server", 30, lambda: socket.socket().connect_ex(("127.0.0.1", web)) == 0)
        kern = os.path.join(d, "kern.log")
        open(kern, "w").close()
        sensor = subprocess.Popen(
            [
                os.path.join(rel, "picket-sensor"),
                "--server", f"http://127.0.0.1:{web}",
                "--token-file", os.path.join(d, "web.token"),
                "--host-name", "firestorm",
                "--file", kern,
                "--state-file", os.path.join(d, "sensor-state.json"),
                "--spool-dir", os.path.join(d, "sensor-spool"),
            ],
            cwd=d,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=open(os.path.join(d, "sensor.err"), "w"),
        )
        procs.append(sensor)
        time.sleep(1.0)
        cpu0 = cpu_ticks(sensor.pid)
        t0 = time.monotonic()
        w = subprocess.Popen(
            [sys.executable, __file__, "--writer", kern, str(rate), str(secs)],
            stdout=subprocess.PIPE,
        )
        written = int(w.communicate()[0])
        wall_write = time.monotonic() - t0
        log = os.path.join(d, "var", "picket.log")

        def delivered():
            n = 0
            for line in open(log, errors="replace"):
                if "CONNECTION EVENT: " in line and f";{SOURCE};tcp;" in line:
                    n += int(line.split("] ", 1)[1].split(": ", 1)[1].split(";")[7])
            return n

        # The sensor flushes every window (5 s); wait until every line is accounted for.
        wait_for("every connection in picket's log", 60, lambda: delivered() >= written)
        wall = time.monotonic() - t0
        cpu = (cpu_ticks(sensor.pid) - cpu0) / os.sysconf("SC_CLK_TCK")
        hwm = hwm_kib(sensor.pid)
        time.sleep(2.0)
        lines = open(log, errors="replace").read().splitlines()
        events = [l for l in lines if "CONNECTION EVENT: " in l and f";{SOURCE};tcp;" in l]
        opened = [l for l in lines if "SCAN INCIDENT: " in l and ";opened;" in l]
        conns = delivered()
        print(f"lines written      {written} in {wall_write:.1f} s ({written / wall_write:,.0f}/s)")
        print(f"sensor CPU         {cpu:.2f} s (utime+stime) = {100 * cpu / wall:.1f}% of one core over {wall:.1f} s")
        print(f"sensor max RSS     {hwm / 1024:.1f} MiB (VmHWM)")
        print(f"events sent        {len(events)} ({len(events) / wall:.1f}/s), standing for {conns} connections")
        print(f"incidents opened   {len(opened)}")
        ok = conns == written and len(opened) == 1
        if not ok:
            print(f"FAIL: connections {conns} != lines {written} or incidents {len(opened)} != 1 (in {d})")
            keep = True
            sys.exit(1)
    finally:
        for p in procs:
            p.terminate()
            p.wait()
        if not keep:
            shutil.rmtree(d, ignore_errors=True)


if __name__ == "__main__":
    if len(sys.argv) == 5 and sys.argv[1] == "--writer":
        print(writer(sys.argv[2], int(sys.argv[3]), float(sys.argv[4])))
    else:
        main()
