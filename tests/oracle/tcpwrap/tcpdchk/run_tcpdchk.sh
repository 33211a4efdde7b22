#!/bin/bash
# run_tcpdchk.sh - run Debian's tcpdchk -d -v -a on the sample tables in this directory
# (same isolation as ../run_case.sh: private mount ns, /etc overlaid with ../etc, syslog captured;
# TW_SHIM names the shim as for run_case.sh)
set -u
HERE=$(cd "$(dirname "$0")" && pwd); ORACLE=$(dirname "$HERE")
SHIM=${TW_SHIM:-$ORACLE/shim/fakesyslog.so}
[ -f "$SHIM" ] || "$ORACLE/shim/build.sh" "$SHIM" || exit 2
TMP=$(mktemp -d); trap 'rm -rf "$TMP"' EXIT
mkdir -p "$TMP/upper" "$TMP/w"; cp "$ORACLE"/etc/* "$TMP/upper/"
: > "$TMP/syslog"
TW_SYSLOG_FILE="$TMP/syslog" unshare --mount --propagation private bash -c '
  mount -t overlay overlay -o lowerdir=/etc,upperdir="$1/upper",workdir="$1/w" /etc
  cd "$2" && LD_PRELOAD="$3" tcpdchk -d -v -a -i "$4" ' _ "$TMP" "$HERE" "$SHIM" "$ORACLE/etc/inetd.conf" > "$TMP/out" 2>&1
echo "## stdout+stderr"; sed "s#$ORACLE#<oracle>#g" "$TMP/out"; echo "## syslog"; sed "s#$ORACLE#<oracle>#g" "$TMP/syslog"
