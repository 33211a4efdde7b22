#!/usr/bin/env python3
"""Side-by-side scan detection: one firewall log fed to Debian's psad and to Picket.

Never run by the test suite. See bench/psad/README.md.

    python3 bench/psad/run.py --picket target/debug/picket --sensor target/debug/picket-sensor

1. writes a deterministic, synthetic kernel netfilter LOG file (syslog format) with the
   scans listed in SCANS below (no randomness: fixed addresses, ports and offsets);
2. runs `psad -A -m LOG` with a private copy of /etc/psad (paths under the work dir,
   ALERTING_METHODS noemail, default DANGER levels) and reads its per-source DL;
3. starts a real `picket` on the tcp-wrappers example with detection, feeds the log with
   `picket-sensor --once --file`, and counts SCAN INCIDENT and notification lines.
"""
import argparse
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
BASE = time.mktime((2026, 12, 2, 12, 0, 0, 0, 0, -1))  # local time of the first line
HOST = "firestorm"

# (name, kind, list of (offset_s, src, dst, proto, dport)); kind "scan" or "benign"
def scans():
    out = []
    # 1. horizontal: one source, 20 hosts, port 22, 1 s apart
    out.append(("sweep 20 hosts tcp/22", "scan", [
        (10 + i, "203.0.113.10", f"192.0.2.{1 + i}", "TCP", 22) for i in range(20)]))
    # 2. vertical: one source, one host, ports 1..1000, 10 per second
    out.append(("vertical 1000 ports", "scan", [
        (300 + i // 10, "198.51.100.20", "192.0.2.5", "TCP", 1 + i) for i in range(1000)]))
    # 3. slow: one source, one host, 12 ports, one every 10 minutes (110 min)
    out.append(("slow 12 ports / 10 min", "scan", [
        (600 + 600 * i, "203.0.113.77", "192.0.2.8", "TCP", 1000 + 111 * i)
        for i in range(12)]))
    # 4. distributed: 4 sources of one /24, 3 ports each of one host (12 ports), 2 min
    out.append(("distributed 4 src x 3 ports", "scan", [
        (900 + 10 * (4 * j + k), f"198.18.7.{11 + k}", "192.0.2.30", "TCP", 8000 + 3 * k + j)
        for k in range(4) for j in range(3)]))
    # 5. a lone dropped packet
    out.append(("lone drop tcp/23", "scan", [(1200, "203.0.113.200", "192.0.2.1", "TCP", 23)]))
    # benign background: chatty but not scanning
    out.append(("benign: NetBIOS broadcast udp/137 every 5 min", "benign", [
        (60 + 300 * i, "10.1.1.5", "192.0.2.1", "UDP", 137) for i in range(24)]))
    out.append(("benign: client retrying tcp/8080 (3 SYN x 6)", "benign", [
        (120 + 1200 * r + s, "10.1.1.6", "192.0.2.2", "TCP", 8080)
        for r in range(6) for s in (0, 1, 3)]))
    out.append(("benign: NTP to a blocked server udp/123 every 2 min", "benign", [
        (30 + 120 * i, "10.1.1.7", "192.0.2.3", "UDP", 123) for i in range(60)]))
    out.append(("benign: browser on tcp/80 and tcp/443 of one host", "benign", [
        (400 + 30 * i, "10.1.1.8", "192.0.2.4", "TCP", 80 if i % 2 else 443)
        for i in range(10)]))
    return out


def log_line(n, t, src, dst, proto, dport):
    stamp = time.strftime("%b %e %H:%M:%S", time.localtime(BASE + t))
    up = 1000.0 + t
    spt = 40000 + n % 20000
    head = (f"{stamp} {HOST} kernel: [{up:12.6f}] DROP IN=eth0 OUT= "
            f"MAC=52:54:00:12:34:56:52:54:00:65:43:21:08:00 SRC={src} DST={dst} ")
    if proto == "TCP":
        return head + (f"LEN=44 TOS=0x00 PREC=0x00 TTL=52 ID={n % 65536} PROTO=TCP "
                       f"SPT={spt} DPT={dport} WINDOW=1024 RES=0x00 SYN URGP=0")
    return head + (f"LEN=78 TOS=0x00 PREC=0x00 TTL=64 ID={n % 65536} PROTO=UDP "
                   f"SPT={spt} DPT={dport} LEN=58")


def write_log(path):
    rows = []
    for name, kind, pkts in scans():
        rows.extend((t, src, dst, proto, port) for (t, src, dst, proto, port) in pkts)
    rows.sort()
    with open(path, "w") as f:
        for n, r in enumerate(rows):
            f.write(log_line(n, *r) + "\n")
    return len(rows)


def src_of():
    m = {}
    for name, kind, pkts in scans():
        for p in pkts:
            m.setdefault(name, set()).add(p[1])
    return m


def run_psad(work, log):
    etc = os.path.join(work, "psad-etc")
    shutil.copytree("/etc/psad", etc)
    for d in ("log", "run", "lib"):
        os.makedirs(os.path.join(work, "psad-" + d), exist_ok=True)
    conf = os.path.join(etc, "psad.conf")
    text = open(conf).read()
    over = {
        "PSAD_DIR": os.path.join(work, "psad-log"),
        "PSAD_RUN_DIR": os.path.join(work, "psad-run"),
        "PSAD_FIFO_DIR": os.path.join(work, "psad-lib"),
        "PSAD_CONF_DIR": etc,
        "ALERTING_METHODS": "noemail",
        "IPT_SYSLOG_FILE": log,
        "ENABLE_SYSLOG_FILE": "Y",
    }
    for k, v in over.items():
        text, n = re.subn(rf"(?m)^{k}\s+.*;", f"{k}    {v};", text)
        assert n == 1, k
    open(conf, "w").write(text)
    t0 = time.monotonic()
    p = subprocess.run(["psad", "-A", "-m", log, "-c", conf, "--no-whois"],
                       capture_output=True, text=True, timeout=600)
    dt = time.monotonic() - t0
    open(os.path.join(work, "psad-A.out"), "w").write(p.stdout + p.stderr)
    # psad -A prints one block per source: "[+] ... SRC: a.b.c.d ... DL: n"
    dl = {}
    cur = None
    for line in (p.stdout + p.stderr).splitlines():
        m = re.search(r"SRC:\s+(\d+\.\d+\.\d+\.\d+)", line)
        if m:
            cur = m.group(1)
        m = re.search(r"\bDL:\s*(\d)", line)
        if m and cur:
            dl[cur] = max(dl.get(cur, 0), int(m.group(1)))
    return dl, dt, p.returncode


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def run_picket(work, log, picket, sensor):
    d = os.path.join(work, "picket")
    ex = os.path.join(REPO, "examples", "tcp-wrappers")
    shutil.copytree(ex, d, ignore=shutil.ignore_patterns("var"))
    os.makedirs(os.path.join(d, "var"), exist_ok=True)
    web = f"127.0.0.1:{free_port()}"
    cfg = open(os.path.join(d, "picket.cfg")).read()
    cfg = cfg.replace("\nweb_listen=127.0.0.1:8080\n", f"\nweb_listen={web}\n")
    open(os.path.join(d, "picket.cfg"), "w").write(cfg)
    det = open(os.path.join(d, "detection.cfg")).read().replace("\nhold=10s\n", "\nhold=2s\n")
    open(os.path.join(d, "detection.cfg"), "w").write(det)
    nsca = open(os.path.join(d, "nsca.cfg")).read()
    nsca = re.sub(r"(?m)^server_port=.*$", f"server_port={free_port()}", nsca)
    for k in ("command_file", "alternate_dump_file", "spool_file"):
        nsca = re.sub(rf"(?m)^{k}=(.*)$", lambda m: f"{k}={os.path.join(d, m.group(1))}", nsca)
    open(os.path.join(d, "nsca.cfg"), "w").write(nsca)
    srv = subprocess.Popen([picket, os.path.join(d, "picket.cfg")],
                           stdout=open(os.path.join(work, "picket.out"), "w"),
                           stderr=subprocess.STDOUT)
    try:
        tok = os.path.join(d, "web.token")
        for _ in range(200):
            if os.path.exists(tok) and os.path.getsize(tok) > 0:
                break
            time.sleep(0.1)
        time.sleep(0.5)
        plog = os.path.join(d, "var", "picket.log")
        t0 = time.monotonic()
        p = subprocess.run([sensor, "--server", f"http://{web}", "--token-file", tok,
                            "--host-name", HOST, "--once", "--file", log,
                            "--state-file", os.path.join(d, "sensor-state.json"),
                            "--spool-dir", os.path.join(d, "sensor-spool")],
                           capture_output=True, text=True, timeout=600)
        if p.returncode != 0:
            sys.exit(f"picket-sensor failed: {p.stderr}")
        sent = sum(1 for _ in open(log))
        # wait until every event is logged once (CONNECTION EVENT or Denied result line)
        def logged():
            if not os.path.exists(plog):
                return 0
            n = 0
            for line in open(plog, errors="replace"):
                if "CONNECTION EVENT: " in line:
                    f = line.split("CONNECTION EVENT: ", 1)[1].split(";")
                    n += int(f[7]) if len(f) > 8 and f[7].isdigit() else 1
                elif "PASSIVE SERVICE CHECK" in line and "Denied" in line:
                    n += 1
            return n
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline and logged() < sent:
            time.sleep(0.2)
        dt = time.monotonic() - t0
        time.sleep(4)  # hold=2s: let lone refusals be released
        lines = open(plog, errors="replace").read().splitlines()
    finally:
        srv.terminate()
        srv.wait(timeout=30)
    inc = [l.split("SCAN INCIDENT: ", 1)[1].split(";") for l in lines if "SCAN INCIDENT: " in l]
    notes = [l for l in lines if "SERVICE NOTIFICATION: " in l or "HOST NOTIFICATION: " in l]
    return inc, notes, dt, logged_count(lines), sent


def logged_count(lines):
    return sum(1 for l in lines if "CONNECTION EVENT: " in l)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--picket", default=os.path.join(REPO, "target/debug/picket"))
    ap.add_argument("--sensor", default=os.path.join(REPO, "target/debug/picket-sensor"))
    ap.add_argument("--keep", action="store_true")
    a = ap.parse_args()
    work = tempfile.mkdtemp(prefix="bench-psad-")
    log = os.path.join(work, "fw.log")
    n = write_log(log)
    print(f"log: {log}: {n} kernel LOG lines (synthetic)")
    dl, psad_dt, rc = run_psad(work, log)
    print(f"psad -A: rc={rc} {psad_dt:.2f}s; DL per source: {dl}")
    inc, notes, pk_dt, ev, sent = run_picket(work, log, a.picket, a.sensor)
    print(f"picket: {sent} lines sent, {ev} CONNECTION EVENT lines, {pk_dt:.2f}s")
    for i in inc:
        print("  SCAN INCIDENT", ";".join(i[:8]))
    for l in notes:
        print("  NOTE", l[:200])
    print()
    print("| scan | sources | packets | psad DL | psad emails | Picket detectors | Picket incident lines (opened/escalated) |")
    print("|---|---|---|---|---|---|---|")
    for name, kind, pkts in scans():
        srcs = sorted({p[1] for p in pkts})
        dls = [dl.get(s, 0) for s in srcs]
        # psad emails once per source when it first reaches EMAIL_ALERT_DANGER_LEVEL (1) and
        # again on each DL increase, so at most max(DL) per source in one interval.
        mails = sum(dls)
        keys = set(srcs) | {s.rsplit(".", 1)[0] + ".0/24" for s in srcs}
        mine = [i for i in inc if i[2] in keys]
        dets = sorted({d for i in mine for d in i[3].split(",") if d})
        oe = [i[1] for i in mine if i[1] in ("opened", "escalated")]
        print(f"| {name} | {len(srcs)} | {len(pkts)} | {','.join(map(str, dls))} | <= {mails} "
              f"| {','.join(dets) or '-'} | {len(oe)} ({','.join(oe) or '-'}) |")
    print(f"\nnotifications in picket.log: {len(notes)}; work dir {work}")
    if not a.keep:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main()
