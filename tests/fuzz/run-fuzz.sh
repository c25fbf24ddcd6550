#!/bin/sh
# Runs one libFuzzer driver briefly, as a test of the 'fuzz' suite: every saved regression
# input once, then fuzzing for MERCURE_FUZZ_SECONDS (default 20) from a temporary copy of the
# seed corpus, so that a run never writes into the source tree. A crash input is saved as
# ARTIFACT_DIR/DRIVER-crash-<sha1> (libFuzzer also prints it in base64).
# Usage: run-fuzz.sh DRIVER CORPUS_DIR REGRESSION_DIR ARTIFACT_DIR [DICTIONARY]
set -eu
driver=$1 corpus=$2 regressions=$3 artifacts=$4 dict=${5:-}
seconds=${MERCURE_FUZZ_SECONDS:-20}
name=$(basename "$driver")

# One private directory: the corpus copy, and TMPDIR for the driver (libFuzzer ends with
# _Exit, so a driver's own atexit cleanup does not run).
# In memory when possible: fuzz_config rewrites a file per input, which ext4 flushes on close.
base=${TMPDIR:-/tmp}
if [ -z "${TMPDIR:-}" ] && [ -d /dev/shm ] && [ -w /dev/shm ]; then
    base=/dev/shm
fi
top=$(mktemp -d "$base/mercure-$name.XXXXXX")
trap 'rm -rf "$top"' EXIT
trap 'exit 130' INT TERM
mkdir "$top/corpus" "$top/tmp"
cp -R "$corpus/." "$top/corpus/"
mkdir -p "$artifacts"
TMPDIR=$top/tmp
# Known leaks of system libraries (see the file).
# (An absolute path: the sanitizers read a relative one from the driver's directory.)
LSAN_OPTIONS="suppressions=$(cd "$(dirname "$0")" && pwd)/lsan.supp${LSAN_OPTIONS:+:$LSAN_OPTIONS}"
export TMPDIR LSAN_OPTIONS
# libFuzzer's default exit code 77 means "skipped" to meson: fail with 1 instead.
set -- -error_exitcode=1 -timeout_exitcode=1 -rss_limit_mb=2048

# Saved reproducers of past findings: each must now run clean.
if [ -d "$regressions" ]; then
    find "$regressions" -type f ! -name '*.md' | sort > "$top/regressions"
    if [ -s "$top/regressions" ]; then
        echo "== $name: $(wc -l < "$top/regressions") regression input(s)"
        # shellcheck disable=SC2046
        "$driver" "$@" $(cat "$top/regressions")
    fi
fi

echo "== $name: fuzzing for ${seconds}s from $(ls "$top/corpus" | wc -l) seed(s)"
set -- "$@" -max_total_time="$seconds" -timeout=5 -print_final_stats=1 \
    -artifact_prefix="$artifacts/$name-"
[ -n "$dict" ] && set -- "$@" -dict="$dict"
"$driver" "$@" "$top/corpus"
