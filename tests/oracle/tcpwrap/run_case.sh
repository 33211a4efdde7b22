#!/bin/bash
# run_case.sh - replay one oracle case against Debian 12's tcpdmatch (tcp-wrappers 7.6.q-32)
#
# usage: run_case.sh [--update|--show] [--relaxed] CASE_DIR
#   (default)  run the case and diff the result against CASE_DIR/expected.txt (exit 0 = same)
#   --update   (re)write CASE_DIR/expected.txt from the current run
#   --show     print the result only
#   --relaxed  compare (or, with --show, print) the normalised view of relaxed_view.py instead of
#              the exact bytes: client:/server:/access: lines (sorted), matched:/option: lines
#              (in order), warning:/error: lines (sorted, absolute paths -> basename), exit status;
#              from stdout and syslog together. Not allowed with --update.
#
# Environment:
#   TW_SHIM    the syslog-capture shim to preload (default: shim/fakesyslog.so); built with
#              shim/build.sh when it does not exist yet.
#   TCPDMATCH  the binary to run (default: tcpdmatch). A name without "/" is looked up in
#              /usr/sbin:/usr/bin:/sbin:/bin (the PATH the binary runs with), then in $PATH;
#              a relative path is taken from the current directory. It runs exactly like
#              Debian's: same namespace, arguments (-d -i INETCF ...), environment and shim.
#
# A case directory holds:
#   desc          one-paragraph description (free text; first line is the title)
#   args          tcpdmatch arguments, ONE ARGUMENT PER LINE: "daemon[@host]" then "[user@]client"
#   hosts.allow   optional; copied byte-for-byte (symlinks preserved) into a scratch dir
#   hosts.deny    optional; likewise
#   etc/          optional; files that override oracle/etc/* (hosts, nsswitch.conf, netgroup ...)
#   mnt/          optional; bind-mounted on /mnt so rules can use "/mnt/<file>" patterns
#   expected.txt  the recorded result (sections: ## stdout, ## stderr, ## exit, ## syslog)
#
# Isolation: everything runs in a private mount namespace (unshare -m). /etc is overlaid with
# oracle/etc (hosts, nsswitch.conf "hosts: files" so no DNS, netgroup, host.conf); the real /etc
# is never modified. libwrap's syslog() calls (which Debian's fortified build sends to
# __syslog_chk, bypassing tcpdmatch's fakelog.c) are captured by shim/fakesyslog.so.
set -u
mode=check relaxed=
while [ $# -gt 0 ]; do
  case "$1" in
    --update) mode=update; shift;;
    --show) mode=show; shift;;
    --relaxed) relaxed=1; shift;;
    *) break;;
  esac
done
usage="usage: $0 [--update|--show] [--relaxed] CASE_DIR"
[ $# -eq 1 ] || { echo "$usage" >&2; exit 2; }
[ "$mode" = update ] && [ -n "$relaxed" ] && { echo "--relaxed cannot be used with --update" >&2; exit 2; }
ORACLE=$(cd "$(dirname "$0")" && pwd)
CASE=$(cd "$1" && pwd) || exit 2
SHIM=${TW_SHIM:-$ORACLE/shim/fakesyslog.so}
[ -f "$SHIM" ] || "$ORACLE/shim/build.sh" "$SHIM" || exit 2
RUNPATH=/usr/sbin:/usr/bin:/sbin:/bin
TCPDMATCH=${TCPDMATCH:-tcpdmatch}
case $TCPDMATCH in
  */*) if d=$(cd "$(dirname -- "$TCPDMATCH")" 2>/dev/null && pwd); then BIN=$d/$(basename -- "$TCPDMATCH"); else BIN=; fi;;
  *)   BIN=$(PATH=$RUNPATH command -v -- "$TCPDMATCH" || command -v -- "$TCPDMATCH") || BIN=;;
esac
case $BIN in /*) ;; *) BIN=;; esac
if [ -z "$BIN" ] || [ ! -x "$BIN" ] || [ -d "$BIN" ]; then
  if [ "$TCPDMATCH" = tcpdmatch ]; then echo "tcpdmatch not installed (apt-get install tcpd)" >&2
  else echo "TCPDMATCH=$TCPDMATCH: no such executable" >&2; fi
  exit 2
fi
TMP=$(mktemp -d "${TMPDIR:-/tmp}/twcase.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/work" "$TMP/upper" "$TMP/ovwork"
for f in hosts.allow hosts.deny; do [ -e "$CASE/$f" -o -L "$CASE/$f" ] && cp -P "$CASE/$f" "$TMP/work/$f"; done
cp "$ORACLE"/etc/* "$TMP/upper/"
[ -d "$CASE/etc" ] && cp "$CASE"/etc/* "$TMP/upper/"
mapfile -t ARGS < "$CASE/args"
: > "$TMP/syslog"
TW_SYSLOG_FILE="$TMP/syslog" SHIMPATH="$SHIM" INETCF="$ORACLE/etc/inetd.conf" OUTDIR="$TMP" BIN="$BIN" \
unshare --mount --propagation private bash -c '
  set -e
  mount -t overlay overlay -o lowerdir=/etc,upperdir="$1/upper",workdir="$1/ovwork" /etc
  if [ -d "$2/mnt" ]; then mount --bind "$2/mnt" /mnt; fi
  cd "$1/work"
  shift 3
  set +e
  env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin TW_SYSLOG_FILE="$TW_SYSLOG_FILE" LD_PRELOAD="$SHIMPATH" \
      "$BIN" -d -i "$INETCF" "$@" >"$OUTDIR/stdout" 2>"$OUTDIR/stderr"
  echo $? > "$OUTDIR/rc"
' _ "$TMP" "$CASE" x "${ARGS[@]}" 2>"$TMP/ns.err" || true
norm() { sed -E -e 's/PID=[0-9]+/PID=<pid>/g' -e "s#$TMP#<tmp>#g" -e "s#$ORACLE#<oracle>#g"; }
{
  echo "## stdout"; norm < "$TMP/stdout" 2>/dev/null
  echo "## stderr"; norm < "$TMP/stderr" 2>/dev/null
  echo "## exit $(cat "$TMP/rc" 2>/dev/null || echo '?')"
  echo "## syslog"; norm < "$TMP/syslog"
} > "$TMP/result.txt"
if [ -s "$TMP/ns.err" ]; then echo "harness error:" >&2; cat "$TMP/ns.err" >&2; fi
rv() { python3 "$ORACLE/relaxed_view.py" "$@"; }
case $mode in
  show)   if [ -n "$relaxed" ]; then rv "$TMP/result.txt"; else cat "$TMP/result.txt"; fi;;
  update) cp "$TMP/result.txt" "$CASE/expected.txt"; echo "updated $CASE/expected.txt";;
  check)  if [ -n "$relaxed" ]; then
            if rv "$CASE/expected.txt" "$TMP/result.txt"; then echo "PASS $(basename "$CASE") (relaxed)"; else echo "FAIL $(basename "$CASE") (relaxed)"; exit 1; fi
          elif diff -u "$CASE/expected.txt" "$TMP/result.txt"; then echo "PASS $(basename "$CASE")"; else echo "FAIL $(basename "$CASE")"; exit 1; fi;;
esac
