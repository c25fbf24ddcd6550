#!/bin/sh
# Installs what the browser tests need: Debian's chromium, php-cli with Symfony's Mercure
# component and HTTP client, and playwright-core from package-lock.json (npm ci into
# tests/browser/node_modules). Idempotent and quick when everything is there.
# Exit status: 0 ready; 77 (meson's "skip") when something cannot be installed here, with the
# reason on stderr (not root, no network); 1 on a usage error.
set -u
here=$(cd "$(dirname "$0")" && pwd)
packages="chromium php-cli php-symfony-mercure php-symfony-http-client"

skip() {
    echo "browser tests: setup: $*" >&2
    exit 77
}

# Two tests may run this at once: one installs, the other waits.
if command -v flock >/dev/null 2>&1; then
    exec 9>"${TMPDIR:-/tmp}/mercure-browser-setup.lock"
    flock -w 900 9 || skip "timed out waiting for another setup to finish"
fi

missing=""
for p in $packages; do
    dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q '^install ok installed$' || missing="$missing $p"
done
if [ -n "$missing" ]; then
    SUDO=""
    if [ "$(id -u)" != 0 ]; then
        sudo -n true 2>/dev/null || skip "cannot install$missing: not root and no password-less sudo"
        SUDO="sudo -n"
    fi
    echo "browser tests: setup: installing$missing" >&2
    export DEBIAN_FRONTEND=noninteractive
    $SUDO apt-get update -qq >/dev/null 2>&1 || skip "apt-get update failed (no network?)"
    # shellcheck disable=SC2086
    $SUDO apt-get install -y -qq --no-install-recommends -o DPkg::Lock::Timeout=300 $missing >/dev/null 2>&1 ||
        skip "apt-get install$missing failed (no network?)"
fi

command -v npm >/dev/null 2>&1 || skip "npm is not installed"
stamp="$here/node_modules/.mercure-setup-stamp"
want=$(sha256sum "$here/package-lock.json" | cut -d' ' -f1)
if [ ! -f "$here/node_modules/playwright-core/package.json" ] || [ "$(cat "$stamp" 2>/dev/null)" != "$want" ]; then
    echo "browser tests: setup: npm ci in $here" >&2
    (cd "$here" && npm ci --no-audit --no-fund --loglevel=error >&2) || skip "npm ci failed (no network?)"
    echo "$want" >"$stamp"
fi
exit 0
