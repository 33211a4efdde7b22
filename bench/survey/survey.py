#!/usr/bin/python3
"""Run `nagios4` and `picket` side by side on one object configuration.

    bench/survey/survey.py CONFIG_DIR [--picket BIN] [--nagios BIN] [--out DIR]
                                      [--keep] [--steps FILE] [--dialect D]

CONFIG_DIR holds object files (`*.cfg`, any depth). They are never changed
and never copied into the repository; the script works on a copy in a
temporary directory (`$SURVEY_TMP`, default /tmp):

1. Verdicts: `nagios4 -v` and `picket -v` on a main config that names the
   original files (`cfg_file=`, sorted by path, so both read them in the same
   order), with `$USER1$` = /usr/lib/nagios/plugins. The `Checked N ...`
   counts and the error/warning totals of both are printed.
2. When both accept the configuration, the daemon run. The copy has every
   `command_line` replaced by the oracle harness' `capture.sh` (so no check
   plugin, mail or pager command ever runs, and each notification and event
   handler is recorded with its macros); active checks and freshness checks
   are off globally. Steps are chosen from `nagios4 -vp`'s pre-cached objects
   (see `make_steps`): OK -> CRITICAL (to HARD) -> OK on a few services, a
   volatile service, a service dependency, a host DOWN with its children or
   dependents, acknowledgements and downtimes. They go through the command
   FIFO of each daemon in turn, run by the oracle harness
   (`tests/oracle/nagios/lib/runner.py`: same collection, same masking of
   times), and the two outputs are compared with the harness' `--relaxed`
   view (the documented tolerances, nothing else).
3. After the daemons stop, the retained state of every host and service
   (`retention.dat` of nagios4, Picket's snapshot) is compared on the fields
   both keep with the same meaning.

Exit status: 0 when verdicts, counts, log view and retained state agree; 1
otherwise; 2 on a usage or set-up error. With --out DIR, the step script and
both outputs are written there (`steps.txt`, `nagios4.txt`, `picket.txt`,
`diff.txt`, `verify-*.txt`). This script is not part of the test suite: the
public configurations it is run on are not in the repository (see
`bench/survey/README.md`).
"""
import argparse
import difflib
import glob
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))
HARNESS = os.path.join(REPO, "tests", "oracle", "nagios", "lib")
sys.path.insert(0, HARNESS)
import runner  # noqa: E402  (the oracle harness: one owner of run/collect/normalise)

PLUGINS = "/usr/lib/nagios/plugins"

# Every command becomes a capture: the command's name and the macros that
# say who was notified about what. Output macros are kept short (cleaned by
# both engines with illegal_macro_output_chars).
CAPTURE = ('$USER2$/capture.sh RUN "cmd=%s" "contact=$CONTACTNAME$" "type=$NOTIFICATIONTYPE$" '
           '"host=$HOSTNAME$" "svc=$SERVICEDESC$" "hoststate=$HOSTSTATE$" '
           '"svcstate=$SERVICESTATE$" "statetype=$SERVICESTATETYPE$$HOSTSTATETYPE$" '
           '"num=$SERVICENOTIFICATIONNUMBER$/$HOSTNOTIFICATIONNUMBER$" '
           '"author=$NOTIFICATIONAUTHOR$" "escalated=$NOTIFICATIONISESCALATED$"')

# Main-config lines added for the daemon run (after the harness' template;
# the last value wins in both engines).
DAEMON_EXTRA = """
execute_service_checks=0
execute_host_checks=0
check_service_freshness=0
check_host_freshness=0
retain_state_information=1
state_retention_file=@W@/retention.dat
retention_update_interval=60
"""


def object_files(cfg_dir):
    files = sorted(p for p in glob.glob(os.path.join(cfg_dir, "**", "*.cfg"), recursive=True)
                   if os.path.isfile(p))
    if not files:
        runner.die("no *.cfg under %s" % cfg_dir)
    return files


def main_cfg(w, files, extra=""):
    """The harness' nagios.cfg template with the configuration's files in
    place of the scenario's."""
    user = runner.pwd.getpwuid(os.getuid()).pw_name
    group = runner.grp.getgrgid(os.getgid()).gr_name
    with open(os.path.join(HARNESS, "nagios.cfg.in")) as f:
        text = f.read()
    text = "\n".join(l for l in text.split("\n") if not l.startswith("cfg_file="))
    text = text.replace("@W@", w).replace("@USER@", user).replace("@GROUP@", group)
    text += "\n# ---- survey\n" + "".join("cfg_file=%s\n" % p for p in files)
    text += extra.replace("@W@", w)
    return text


def write_resource(w):
    with open(os.path.join(w, "resource.cfg"), "w") as f:
        f.write("$USER1$=%s\n$USER2$=%s\n$USER3$=http://localhost\n" % (PLUGINS, w))


# ------------------------------------------------------------------ verify
COUNT = re.compile(r"^\s*Checked (\d+) (.+?)\.\s*$")
TOTALS = re.compile(r"^\s*Total (Warnings|Errors):\s*(\d+)")


def verify(binary, cfg, extra_args=()):
    r = subprocess.run([binary, *extra_args, "-v", cfg], stdout=subprocess.PIPE,
                       stderr=subprocess.STDOUT, universal_newlines=True, timeout=300)
    counts, totals = {}, {}
    # Picket warns about main-config keys it does not use; nagios4 has no such
    # warning, so they are counted apart
    totals["main-config warnings"] = sum(
        1 for l in r.stdout.splitlines()
        if l.startswith("Warning:") and "main config key" in l)
    for line in r.stdout.splitlines():
        m = COUNT.match(line)
        if m:
            counts[m.group(2)] = int(m.group(1))
        m = TOTALS.match(line)
        if m:
            totals[m.group(1).lower()] = int(m.group(2))
    return {"rc": r.returncode, "counts": counts, "totals": totals, "text": r.stdout}


# ------------------------------------------------------------- stub copy
def stub_commands(text):
    """Replace the command_line of every `define command` by a capture,
    dropping the continuation lines of the original. Everything else is
    left byte for byte."""
    lines = text.split("\n")
    out, block = [], None
    for line in lines:
        if block is None:
            if re.match(r"^\s*define\s+command\b", line):
                block = [line]
                if "}" in line.split(";", 1)[0].split("{", 1)[-1]:
                    out.extend(rewrite_block(block))
                    block = None
            else:
                out.append(line)
            continue
        block.append(line)
        if line.strip().startswith("}") or re.match(r"^[^;#]*}\s*(;.*)?$", line):
            out.extend(rewrite_block(block))
            block = None
    if block is not None:
        out.extend(block)
    return "\n".join(out)


def rewrite_block(block):
    name = None
    for l in block:
        m = re.match(r"^\s*command_name\s+([^;\s]+)", l)
        if m:
            name = m.group(1)
    out, skipping = [], False
    for l in block:
        if skipping:
            skipping = l.rstrip().endswith("\\")
            continue
        m = re.match(r"^(\s*)command_line\b", l)
        if m and name:
            out.append("%scommand_line %s" % (m.group(1), CAPTURE % name))
            skipping = l.rstrip().endswith("\\")
            continue
        out.append(l)
    return out


def stubbed_copy(files, cfg_dir, dest):
    new = []
    for p in files:
        rel = os.path.relpath(p, cfg_dir)
        q = os.path.join(dest, rel)
        os.makedirs(os.path.dirname(q), exist_ok=True)
        with open(p, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
        with open(q, "w", encoding="utf-8", errors="surrogateescape") as f:
            f.write(stub_commands(text))
        new.append(q)
    return new


# ------------------------------------------------------------- objects
def read_precache(path):
    """Object definitions of nagios4's pre-cached object file:
    [(type, {key: value})] in file order."""
    objs, cur = [], None
    with open(path, errors="replace") as f:
        for line in f:
            s = line.strip()
            m = re.match(r"^define (\w+) \{$", s)
            if m:
                cur = (m.group(1), {})
                continue
            if s == "}" and cur:
                objs.append(cur)
                cur = None
                continue
            if cur is not None and s:
                k, _, v = s.partition("\t")
                cur[1][k] = v.strip()
    return objs


def make_steps(objs):
    """The seeded script: a few services OK -> CRITICAL (to HARD) -> OK, a
    volatile service, a service dependency, a host DOWN with what depends
    on it, acknowledgements and downtimes. Only objects that accept passive
    results are used."""
    hosts = {o["host_name"]: o for t, o in objs if t == "host"}
    svcs = [o for t, o in objs if t == "service" and o.get("passive_checks_enabled", "1") == "1"]
    svcs = [s for s in svcs if s.get("host_name") in hosts]
    sdeps = [o for t, o in objs if t == "servicedependency"]
    hdeps = [o for t, o in objs if t == "hostdependency"]
    steps = ["note survey: %d hosts, %d services, %d service and %d host dependencies"
             % (len(hosts), len(svcs), len(sdeps), len(hdeps))]

    def attempts(o):
        try:
            return max(1, min(int(o.get("max_check_attempts", "1")), 5))
        except ValueError:
            return 1

    def svc(s, rc, text):
        steps.append("cmd PROCESS_SERVICE_CHECK_RESULT;%s;%s;%d;%s"
                     % (s["host_name"], s["service_description"], rc, text))

    def hard(s, rc, text):
        for _ in range(attempts(s)):
            svc(s, rc, text)

    def host(h, rc, text):
        steps.append("cmd PROCESS_HOST_CHECK_RESULT;%s;%d;%s" % (h, rc, text))

    # hosts and services come up first
    for h in sorted(hosts)[:6]:
        host(h, 0, "UP - seeded")
    plain = [s for s in svcs if s.get("is_volatile", "0") == "0"]
    for s in plain[:3]:
        steps.append("note state changes: %s;%s" % (s["host_name"], s["service_description"]))
        svc(s, 0, "OK - seeded")
        hard(s, 2, "CRITICAL - seeded")
        svc(s, 1, "WARNING - seeded")
        svc(s, 0, "OK - recovered")

    vol = [s for s in svcs if s.get("is_volatile", "0") != "0"]
    if vol:
        s = vol[0]
        steps.append("note volatile: %s;%s" % (s["host_name"], s["service_description"]))
        svc(s, 2, "CRITICAL - volatile 1")
        svc(s, 2, "CRITICAL - volatile 2")
        svc(s, 0, "OK - volatile")

    by_name = {(s["host_name"], s["service_description"]): s for s in svcs}
    for d in sdeps:
        m = by_name.get((d.get("host_name"), d.get("service_description")))
        c = by_name.get((d.get("dependent_host_name"), d.get("dependent_service_description")))
        if m and c and m is not c:
            steps.append("note service dependency: %s;%s on %s;%s (notification %s)" % (
                c["host_name"], c["service_description"], m["host_name"],
                m["service_description"], d.get("notification_failure_criteria", "-")))
            hard(m, 2, "CRITICAL - master")
            hard(c, 2, "CRITICAL - dependent")
            svc(c, 0, "OK - dependent")
            svc(m, 0, "OK - master")
            break

    # the host with the most dependents: children (parents) and host dependencies
    deps = {h: [] for h in hosts}
    for h, o in hosts.items():
        for p in filter(None, (x.strip() for x in o.get("parents", "").split(","))):
            if p in deps:
                deps[p].append(h)
    for d in hdeps:
        if d.get("host_name") in deps and d.get("dependent_host_name") in hosts:
            deps[d["host_name"]].append(d["dependent_host_name"])
    if hosts:
        top = max(sorted(hosts), key=lambda h: len(deps[h]))
        kids = deps[top][:3]
        steps.append("note host down: %s (dependents: %s)" % (top, ",".join(kids) or "none"))
        host(top, 1, "DOWN - seeded")
        for k in kids:
            host(k, 1, "DOWN - behind %s" % top)
        on_top = [s for s in plain if s["host_name"] in [top] + kids][:2]
        for s in on_top:
            hard(s, 2, "CRITICAL - host down")
        steps.append("cmd ACKNOWLEDGE_HOST_PROBLEM;%s;1;1;1;survey;seeded host ack" % top)
        host(top, 1, "DOWN - still")
        host(top, 0, "UP - back")
        for k in kids:
            host(k, 0, "UP - back")
        for s in on_top:
            svc(s, 0, "OK - host back")

    if plain:
        s = plain[-1] if len(plain) > 3 else plain[0]
        steps.append("note acknowledgement: %s;%s" % (s["host_name"], s["service_description"]))
        hard(s, 2, "CRITICAL - to be acknowledged")
        steps.append("cmd ACKNOWLEDGE_SVC_PROBLEM;%s;%s;2;1;1;survey;seeded ack"
                     % (s["host_name"], s["service_description"]))
        svc(s, 2, "CRITICAL - acknowledged")
        svc(s, 1, "WARNING - acknowledged")
        svc(s, 0, "OK - after ack")

        d = plain[1] if len(plain) > 1 else plain[0]
        steps.append("note downtime: %s;%s and its host" % (d["host_name"], d["service_description"]))
        steps.append("cmd SCHEDULE_SVC_DOWNTIME;%s;%s;${NOW};${NOW+3600};1;0;3600;survey;seeded downtime"
                     % (d["host_name"], d["service_description"]))
        hard(d, 2, "CRITICAL - in downtime")
        svc(d, 0, "OK - in downtime")
        steps.append("cmd SCHEDULE_HOST_DOWNTIME;%s;${NOW};${NOW+3600};1;0;3600;survey;seeded host downtime"
                     % d["host_name"])
        host(d["host_name"], 1, "DOWN - in downtime")
        host(d["host_name"], 0, "UP - in downtime")
        steps.append("cmd DEL_DOWNTIME_BY_HOST_NAME;%s" % d["host_name"])
        hard(d, 2, "CRITICAL - after downtime")
        svc(d, 0, "OK - after downtime")
    return steps


# ------------------------------------------------------------- daemon run
class SurveyRun(runner.Run):
    """The harness' run with the survey's files in place of the scenario's
    common.cfg/objects.cfg."""

    def __init__(self, args, files):
        super().__init__(args)
        self.files = files

    def prepare(self):
        w = self.w
        for d in ("tmp", "checkresults", "archives"):
            os.makedirs(os.path.join(w, d), exist_ok=True)
        files = stubbed_copy(self.files, self.args.cfg_dir, os.path.join(w, "objects"))
        with open(os.path.join(w, "nagios.cfg"), "w") as f:
            f.write(main_cfg(w, files, DAEMON_EXTRA + self.args.extra))
        write_resource(w)
        shutil.copy(os.path.join(HARNESS, "capture.sh"), os.path.join(w, "capture.sh"))
        os.chmod(os.path.join(w, "capture.sh"), 0o755)
        open(self.cap, "a").close()


def run_daemon(engine, scn, cfg_dir, files, keep, extra, name):
    ns = argparse.Namespace(scenario=scn, engine=engine, keep=True, times=False, update=False,
                            check=False, relaxed=False, no_verify=True, cfg_dir=cfg_dir,
                            extra=extra)
    run = SurveyRun(ns, files)
    run.name = name
    try:
        run.prepare()
        run.start()
        run.run_steps()
    finally:
        run.stop()
    text = "# scenario: %s\n%s\n" % (os.path.basename(cfg_dir.rstrip("/")), "\n".join(run.out))
    retained = os.path.join(run.w, "retention.dat")
    state = read_retention(retained) if os.path.exists(retained) else {}
    if not keep:
        shutil.rmtree(run.w, ignore_errors=True)
    else:
        sys.stderr.write("survey: %s run dir kept: %s\n" % (name, run.w))
    return text, state


# ------------------------------------------------------------- retention
FIELDS = ("current_state", "last_hard_state", "state_type", "current_attempt",
          "current_notification_number", "problem_has_been_acknowledged", "plugin_output")


def read_retention(path):
    """{(host, svc or ''): {field: str}} from nagios4's retention.dat or
    Picket's JSON snapshot."""
    with open(path, errors="replace") as f:
        data = f.read()
    out = {}
    if data.lstrip().startswith("{"):
        snap = json.loads(data)
        snap = snap.get("retention", snap)
        for h, st in snap.get("hosts", []):
            out[(h, "")] = norm_json(st)
        for h, s, st in snap.get("services", []):
            out[(h, s)] = norm_json(st)
        return out
    for m in re.finditer(r"^(host|service) \{\n(.*?)\n\s*\}", data, re.S | re.M):
        kv = dict(l.strip().split("=", 1) for l in m.group(2).split("\n") if "=" in l)
        key = (kv.get("host_name", ""), kv.get("service_description", "") if m.group(1) == "service" else "")
        out[key] = {k: kv.get(k, "") for k in FIELDS}
    return out


def norm_json(st):
    out = {}
    for k in FIELDS:
        v = st.get(k)
        if k == "state_type":
            v = {"Soft": "0", "Hard": "1", "soft": "0", "hard": "1"}.get(str(v), str(v))
        elif isinstance(v, bool):
            v = "1" if v else "0"
        elif v is None:
            v = ""
        out[k] = str(v)
    return out


# Differences documented in ARCHITECTURE.md ("Deliberate differences from
# Nagios 4.4.6"): (nagios4 line pattern, picket line pattern, name). A removed
# line and an added line that match a pair with the same groups are taken out
# of the diff and counted under the name.
KNOWN = [
    (re.compile(r"^-LOG SERVICE ALERT: (.*);OK;SOFT;1;(.*)$"),
     re.compile(r"^\+LOG SERVICE ALERT: (.*);OK;HARD;1;(.*)$"),
     "deliberate difference 3 (HARD recovery after a host outage)"),
]


def split_known(diff):
    """Take the documented differences out of a unified diff: returns the
    diff without them (empty if nothing else differs) and {line: name}."""
    body = [l for l in diff if not l.startswith(("---", "+++", "@@"))]
    known = {}
    for old, new, name in KNOWN:
        for a in [l for l in body if old.match(l.rstrip("\n"))]:
            ga = old.match(a.rstrip("\n")).groups()
            for b in body:
                m = new.match(b.rstrip("\n"))
                if m and m.groups() == ga and b not in known:
                    known[a] = known[b] = name
                    break
    rest = [l for l in body if l not in known and l[:1] in "+-"]
    return (diff if rest else []), known


def compare_state(a, b):
    diffs = []
    for key in sorted(set(a) | set(b)):
        if key not in a or key not in b:
            diffs.append("%s;%s: only in %s" % (key[0], key[1], "nagios4" if key in a else "picket"))
            continue
        for k in FIELDS:
            if a[key].get(k, "") != b[key].get(k, ""):
                diffs.append("%s;%s: %s nagios4=%r picket=%r"
                             % (key[0], key[1], k, a[key].get(k), b[key].get(k)))
    return diffs


# ------------------------------------------------------------- main
def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("cfg_dir")
    ap.add_argument("--picket", default=os.environ.get("PICKET", os.path.join(
        REPO, "target", "debug", "picket")))
    ap.add_argument("--nagios", default="/usr/sbin/nagios4")
    ap.add_argument("--out", help="write steps, outputs and diffs here")
    ap.add_argument("--keep", action="store_true", help="keep the run directories")
    ap.add_argument("--steps", help="use this steps.txt instead of the generated one")
    ap.add_argument("--dialect", default=None, help="passed to picket -v as --dialect")
    ap.add_argument("--extra", default="", help="main-config lines for both daemons")
    args = ap.parse_args()
    cfg_dir = os.path.abspath(args.cfg_dir)
    for b in (args.picket, args.nagios):
        if not os.access(b, os.X_OK):
            runner.die("not executable: %s" % b)
    files = object_files(cfg_dir)
    base = os.environ.get("SURVEY_TMP", tempfile.gettempdir())
    w = tempfile.mkdtemp(prefix="survey.", dir=base)
    out = args.out and os.path.abspath(args.out)
    if out:
        os.makedirs(out, exist_ok=True)
    ok = True
    name = os.path.basename(cfg_dir.rstrip("/"))
    try:
        for d in ("tmp", "checkresults", "archives"):
            os.makedirs(os.path.join(w, d), exist_ok=True)
        cfg = os.path.join(w, "nagios.cfg")
        with open(cfg, "w") as f:
            f.write(main_cfg(w, files))
        write_resource(w)
        vn = verify(args.nagios, cfg)
        vp = verify(args.picket, cfg, ["--dialect", args.dialect] if args.dialect else [])
        if out:
            for k, v in (("nagios4", vn), ("picket", vp)):
                with open(os.path.join(out, "verify-%s.txt" % k), "w") as f:
                    f.write(v["text"])
        print("== %s: %d files" % (name, len(files)))
        for k, v in (("nagios4 -v", vn), ("picket -v", vp)):
            warn = v["totals"].get("warnings")
            if warn is not None:
                warn -= v["totals"]["main-config warnings"]
            print("%-11s rc=%d errors=%s warnings=%s counts=%s" % (
                k, v["rc"], v["totals"].get("errors", "?"), "?" if warn is None else warn,
                "/".join(str(c) for c in v["counts"].values())))
        if (vn["rc"] == 0) != (vp["rc"] == 0):
            print("VERDICT DIFFERS")
            ok = False
        elif vn["rc"] == 0 and vn["counts"] != vp["counts"]:
            print("COUNTS DIFFER: nagios4 %s, picket %s" % (vn["counts"], vp["counts"]))
            ok = False
        if vn["rc"] != 0 or vp["rc"] != 0:
            print("daemon run: skipped (not accepted by both)")
            return 0 if ok else 1

        # the objects as nagios4 resolved them, for choosing the steps
        pre = os.path.join(w, "objects.precache")
        r = subprocess.run([args.nagios, "-vp", cfg], stdout=subprocess.PIPE,
                           stderr=subprocess.STDOUT, universal_newlines=True)
        if r.returncode != 0 or not os.path.exists(pre):
            runner.die("nagios4 -vp failed:\n%s" % r.stdout)
        scn = os.path.join(w, "scenario")
        os.makedirs(scn)
        if args.steps:
            shutil.copy(args.steps, os.path.join(scn, "steps.txt"))
        else:
            with open(os.path.join(scn, "steps.txt"), "w") as f:
                f.write("\n".join(make_steps(read_precache(pre))) + "\n")
        # generous quiet time: a large configuration logs its start-up slowly
        with open(os.path.join(scn, "scenario.conf"), "w") as f:
            f.write("quiet_ms=400\n")
        if out:
            shutil.copy(os.path.join(scn, "steps.txt"), os.path.join(out, "steps.txt"))
        os.environ["ORACLE_TMP"] = w
        tn, sn = run_daemon(args.nagios, scn, cfg_dir, files, args.keep, args.extra, name + ".nagios4")
        tp, sp = run_daemon(args.picket, scn, cfg_dir, files, args.keep, args.extra, name + ".picket")
        a, b = runner.relaxed_view(tn), runner.relaxed_view(tp)
        diff = list(difflib.unified_diff(a, b, "nagios4 (relaxed view)", "picket (relaxed view)"))
        diff, known = split_known(diff)
        sdiff = compare_state(sn, sp)
        nlines = sum(1 for l in a if l.startswith("LOG "))
        nruns = sum(1 for l in a if l.startswith("RUN "))
        print("daemon run: %d steps, nagios4 logged %d lines and ran %d commands (relaxed view)"
              % (tn.count("\n== [") , nlines, nruns))
        print("log view: %s%s" % ("same" if not diff else "DIFFERS (%d diff lines)" % len(diff),
                                  "; %d line(s) differ as documented: %s" % (
                                      len(known), ", ".join(sorted(set(known.values()))))
                                  if known else ""))
        print("retained state: %s (%d objects)" % (
            "same" if not sdiff else "DIFFERS (%d fields)" % len(sdiff), len(sn)))
        if diff or sdiff:
            ok = False
            sys.stdout.writelines(diff)
            for d in sdiff:
                print("STATE " + d)
        if out:
            for k, v in (("nagios4.txt", tn), ("picket.txt", tp),
                         ("diff.txt", "".join(diff) + "".join("STATE %s\n" % d for d in sdiff))):
                with open(os.path.join(out, k), "w") as f:
                    f.write(v)
    finally:
        if args.keep:
            sys.stderr.write("survey: work dir kept: %s\n" % w)
        else:
            shutil.rmtree(w, ignore_errors=True)
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
