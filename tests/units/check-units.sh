#!/bin/sh
# Checks the systemd units: `systemd-analyze verify` on units/mercure.service and
# units/mercure.socket, then `systemd-analyze security --offline=yes`, failing when the
# service's exposure is above 2.0.
#
# Usage: check-units.sh SOURCE_ROOT MERCURE_BINARY
# verify insists that ExecStart= exists and that Documentation= man pages are found, so the
# units are checked from a copy whose ExecStart= points at the built binary, with MANPATH
# pointing at the source tree's pages. Exit 77 (skipped) without systemd-analyze.
set -eu

root=${1:?usage: check-units.sh SOURCE_ROOT MERCURE_BINARY}
binary=${2:?usage: check-units.sh SOURCE_ROOT MERCURE_BINARY}
max_exposure=20   # --threshold counts tenths: 20 is an exposure of 2.0
[ -x "$binary" ] || { echo "check-units: $binary is not an executable" >&2; exit 1; }
binary=$(cd "$(dirname "$binary")" && pwd)/$(basename "$binary")   # ExecStart= wants it absolute

if ! command -v systemd-analyze >/dev/null 2>&1; then
    echo "check-units: systemd-analyze not found (package systemd): skipped"
    exit 77
fi

work=$(mktemp -d "${TMPDIR:-/tmp}/mercure-units.XXXXXX")
trap 'rm -rf "$work"' EXIT INT TERM
mkdir -p "$work/units" "$work/man/man5" "$work/man/man8"
cp "$root/units/mercure.service" "$root/units/mercure.socket" "$work/units/"
for page in "$root"/man/*.[1-8]; do
    section=${page##*.}
    mkdir -p "$work/man/man$section"
    cp "$page" "$work/man/man$section/"
done

grep -q '^ExecStart=/usr/bin/mercure ' "$work/units/mercure.service" || {
    echo "check-units: mercure.service: ExecStart= does not run /usr/bin/mercure" >&2
    exit 1
}
sed -i "s|^ExecStart=/usr/bin/mercure |ExecStart=$binary |" "$work/units/mercure.service"

# Documentation= is checked with man(1) when it is there (package man-db).
check_man=yes
if ! command -v man >/dev/null 2>&1; then
    echo "check-units: man not found (package man-db): Documentation= not checked"
    check_man=no
fi

status=0

# verify prints its findings and exits non-zero on errors; warnings are printed too, and any
# output at all is a finding we want fixed, so both count as failures.
echo "== systemd-analyze verify"
if ! out=$(cd "$work/units" && MANPATH="$work/man" SYSTEMD_LOG_LEVEL=notice \
           systemd-analyze verify --man=$check_man --generators=no \
           "$work/units/mercure.socket" "$work/units/mercure.service" 2>&1); then
    status=1
fi
if [ -n "$out" ]; then
    printf '%s\n' "$out"
    status=1
fi

# Only what is left open, and the overall level, are worth reading.
echo "== systemd-analyze security --offline=yes"
if out=$(systemd-analyze security --no-pager --offline=yes --threshold="$max_exposure" \
             "$work/units/mercure.service" 2>&1); then
    printf '%s\n' "$out" | grep -v '^✓' || true
else
    printf '%s\n' "$out"
    echo "check-units: mercure.service: exposure above 2.0 (or the analysis failed)" >&2
    status=1
fi

[ "$status" = 0 ] && echo "check-units: OK"
exit "$status"
