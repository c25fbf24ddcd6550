#!/bin/bash
# The system test proper, run as /e2e/test.sh inside a freshly booted Debian 12 (systemd 252)
# by `systemd-run --wait --pipe`: every step is what an administrator would type, checked.
# The package is /e2e/mercure.deb; its dependencies wait in apt's cache (no network here).
# Every wait is bounded. The JWT key is never printed.
set -euo pipefail
# (pipefail: never `| grep -q`, whose early exit fails the writer with SIGPIPE.)
export DEBIAN_FRONTEND=noninteractive LC_ALL=C.UTF-8 SYSTEMD_PAGER='' SYSTEMD_COLORS=0 PAGER=cat

hub=http://127.0.0.1:3000
topic=https://example.com/books/1
key_file=/etc/mercure/conf.d/00-generated-key.conf
conf=/etc/mercure/mercure.conf
work=$(mktemp -d)
steps=0
started=$SECONDS

# MESSAGE_IDs of src/log.cpp.
id_started=b8c6d76c6f6e4d2b9b954203fe3c9049
id_published=67e58cb6304b43309b306419b86b9b83
id_reloaded=d3f0aed3bb6b4b5c8f931a9ab27a68e3
id_reload_failed=daf1fb79412b46e890d8fe153e3fb1a0

step() { steps=$((steps + 1)); printf '\n=== %d. [%ds] %s\n' "$steps" "$((SECONDS - started))" "$*"; }
ok() { echo "ok: $*"; }
fail()
{
    echo "FAIL: $*"
    echo "--- systemctl status"
    systemctl --no-pager status mercure.service mercure.socket 2>&1 | tail -n 30 || true
    echo "--- journalctl -u mercure (last 40 lines)"
    journalctl --no-pager -u mercure.service -u mercure.socket -n 40 2>&1 || true
    exit 1
}
# Runs a command, printing it first as a user would see it.
run() { echo "# $*"; "$@"; }
# wait_for SECONDS WHAT COMMAND...: polls COMMAND every 0.2 s until it succeeds.
wait_for()
{
    local limit=$1 what=$2 deadline=$((SECONDS + $1))
    shift 2
    until "$@"; do
        [ "$SECONDS" -lt "$deadline" ] || fail "no $what within ${limit}s"
        sleep 0.2
    done
}
prop() { systemctl show -p "$2" --value "$1"; }
# The hub's main PID, checked non-zero: `kill -9 0` would kill this whole process group.
main_pid()
{
    local pid
    pid=$(prop mercure.service MainPID)
    [[ $pid =~ ^[1-9][0-9]*$ ]] || fail "mercure.service has no main PID (MainPID=$pid)"
    echo "$pid"
}
healthy() { [ "$(curl -s --max-time 2 "$hub/healthz")" = ok ]; }
active() { [ "$(prop mercure.service ActiveState)" = active ]; }
# A point in time (microseconds), and whether mercure.service logged an entry with this
# MESSAGE_ID (and text) since then. Not `--after-cursor` (journalctl 252 returns nothing
# when a cursor is combined with field matches), nor `-u mercure MESSAGE_ID=...` (journalctl
# ANDs the field match with only the last of the alternatives -u expands to).
now() { date +%s.%6N; }
journal_has() { journalctl --no-pager --since "@$1" _SYSTEMD_UNIT=mercure.service "MESSAGE_ID=$2" -o cat 2>/dev/null | grep -- "${3:-.}" >/dev/null; }
restarted_from() { local pid; pid=$(prop mercure.service MainPID); [ "$pid" != 0 ] && [ "$pid" != "$1" ] && active && healthy; }
count_lines() { grep -c -x -- "$2" "$1" || true; }
heartbeats_reach() { [ "$(count_lines "$work/first.out" :)" -ge "$1" ]; }

# A subscriber in the background; its stream goes to $work/$1.out.
subscribe()
{
    curl -sN --max-time 300 -H "Authorization: Bearer $sub_token" "$hub/.well-known/mercure?topic=$topic" \
        >"$work/$1.out" 2>/dev/null &
    echo $! >"$work/$1.pid"
    wait_for 10 "opening comment on the $1 stream" grep -q '^:' "$work/$1.out"
}
publish() { curl -sf --max-time 5 -H "Authorization: Bearer $pub_token" -d "topic=$topic" -d "data=$1" "$hub/.well-known/mercure"; }

step "apt install ./mercure.deb (offline: the dependencies are in apt's cache)"
cd /e2e
echo "# apt install -y ./mercure.deb"
apt install -y -q -o DPkg::Lock::Timeout=60 ./mercure.deb 2>&1 | tee "$work/apt.log" || fail "apt install failed"
[ "$(dpkg-query -W -f='${Status}' mercure)" = "install ok installed" ] || fail "mercure is not installed"
grep -q '^ */etc/mercure/mercure.conf ' <(dpkg-query -W -f='${Conffiles}\n' mercure) || fail "mercure.conf is not a conffile"
[ -d /etc/mercure/conf.d ] || fail "no /etc/mercure/conf.d"
ok "installed $(dpkg-query -W -f='${Version}' mercure); /etc/mercure/mercure.conf is a conffile"
getent passwd mercure >/dev/null || fail "no mercure user"
getent group mercure >/dev/null || fail "no mercure group"
ok "system user: $(getent passwd mercure)"
[ -f "$key_file" ] || fail "no generated key in $key_file"
[ "$(stat -c '%a %U %G' "$key_file")" = "640 root mercure" ] || fail "$key_file is $(stat -c '%a %U %G' "$key_file")"
[ "$(grep -cE '^jwt_key = "[0-9a-f]{64}";$' "$key_file")" = 1 ] || fail "$key_file does not hold one 64-hex-digit jwt_key"
key=$(sed -n 's/^jwt_key = "\([0-9a-f]*\)";$/\1/p' "$key_file")
grep -qF "$key" "$work/apt.log" && fail "the installation printed the key"
sha256sum "$key_file" >"$work/key.sum"
ok "generated $key_file: 640 root:mercure, a 64-hex-digit key, not printed"

step "systemctl enable --now mercure.socket mercure.service"
run systemctl enable --now mercure.socket mercure.service
for unit in mercure.socket mercure.service; do
    [ "$(systemctl is-enabled "$unit")" = enabled ] || fail "$unit is not enabled"
done
wait_for 20 "active mercure.service" active
wait_for 10 "answer on /healthz" healthy
ok "both units enabled and active; /healthz answers ok"

step "systemctl status mercure"
run systemctl --no-pager status mercure.service mercure.socket || fail "systemctl status failed"
status_text=$(prop mercure.service StatusText)
[[ $status_text == "listening on "* ]] || fail "StatusText is '$status_text'"
ok "STATUS= line: $status_text"
[ "$(stat -c %U /proc/"$(main_pid)")" = mercure ] || fail "the hub does not run as mercure"
ok "the hub runs as user mercure"

step "publish with a token minted from the generated key; a curl subscriber receives it"
echo "# key=\$(sed -n 's/^jwt_key = \"\\(.*\\)\";\$/\\1/p' $key_file)"
echo "# mercure-token --key \"\$key\" --publish '*'   (and --subscribe '*' for the subscriber)"
pub_token=$(mercure-token --key "$key" --publish '*')
sub_token=$(mercure-token --key "$key" --subscribe '*')
since_publish=$(now)
subscribe first
id=$(publish hello-e2e) || fail "the publish was refused"
ok "published update $id"
wait_for 10 "update on the subscriber's stream" grep -qx 'data: hello-e2e' "$work/first.out"
grep -qx "id: $id" "$work/first.out" || fail "the update's id is not on the stream"
ok "the subscriber received it:"
sed -n '/^id: /,/^$/p' "$work/first.out" | sed 's/^/    /'

step "journalctl -u mercure: structured start and publish entries"
wait_for 10 "journal entry for the publish" journal_has "$since_publish" "$id_published"
run journalctl --no-pager -u mercure.service -n 8
echo "# journalctl -u mercure -o verbose MESSAGE_ID=$id_published (fields)"
journalctl --no-pager -o verbose -n 1 _SYSTEMD_UNIT=mercure.service "MESSAGE_ID=$id_published" | grep -E '^ +(MESSAGE|MESSAGE_ID|PRIORITY|MERCURE_[A-Z_]+|REMOTE_ADDR)=' | sed 's/^ */    /'
journalctl --no-pager -o verbose _SYSTEMD_UNIT=mercure.service "MESSAGE_ID=$id_published" | grep -x " *MERCURE_TOPIC=$topic" >/dev/null ||
    fail "the publish entry has no MERCURE_TOPIC=$topic field"
journalctl --no-pager -o verbose _SYSTEMD_UNIT=mercure.service "MESSAGE_ID=$id_started" | grep '^ *MERCURE_VERSION=' >/dev/null ||
    fail "no start entry with MESSAGE_ID=$id_started and MERCURE_VERSION"
ok "start entry (MESSAGE_ID=$id_started) and publish entry (MESSAGE_ID=$id_published, MERCURE_TOPIC)"
journalctl --no-pager -o cat | grep -F "$key" >/dev/null && fail "the key is in the journal"
ok "the key appears nowhere in the journal"

step "edit mercure.conf (heartbeat_interval = \"1s\") and systemctl reload mercure: the subscriber stays"
pid=$(main_pid)
sed -i 's/^#heartbeat_interval = .*/heartbeat_interval = "1s";/' "$conf"
grep -qx 'heartbeat_interval = "1s";' "$conf" || fail "cannot set heartbeat_interval in $conf"
run mercure --check-config
beats=$(count_lines "$work/first.out" :)
since=$(now)
run systemctl reload mercure
wait_for 10 "'Configuration reloaded' in the journal" journal_has "$since" "$id_reloaded" "Configuration reloaded"
[ "$(prop mercure.service MainPID)" = "$pid" ] || fail "the reload changed the main PID"
kill -0 "$(cat "$work/first.pid")" 2>/dev/null || fail "the subscriber was disconnected by the reload"
wait_for 10 "1 s heartbeats on the existing stream" heartbeats_reach $((beats + 2))
ok "same PID $pid, subscriber still connected, heartbeats now every second"
id=$(publish after-reload) || fail "publish after the reload refused"
wait_for 10 "update after the reload" grep -qx 'data: after-reload' "$work/first.out"
ok "the same subscriber receives updates after the reload"

step "a broken edit plus reload: the hub keeps serving and says why in the journal"
cp "$conf" "$work/mercure.conf.good"
echo 'no_such_setting = 1;' >>"$conf"
echo "# echo 'no_such_setting = 1;' >> $conf"
if mercure --check-config >"$work/check.out" 2>&1; then fail "--check-config accepted the broken file"; fi
sed 's/^/    /' "$work/check.out"
since=$(now)
run systemctl reload mercure || echo "(systemctl reload exited $?)"
wait_for 10 "'Configuration reload failed' in the journal" journal_has "$since" "$id_reload_failed"
journalctl --no-pager --since "@$since" -o verbose _SYSTEMD_UNIT=mercure.service "MESSAGE_ID=$id_reload_failed" |
    grep -E '^ +(MESSAGE|MERCURE_REASON)=' | sed 's/^ */    /'
[ "$(prop mercure.service MainPID)" = "$pid" ] || fail "the broken reload changed the main PID"
active || fail "the hub did not survive the broken reload"
healthy || fail "the hub stopped serving after the broken reload"
kill -0 "$(cat "$work/first.pid")" 2>/dev/null || fail "the subscriber was disconnected by the broken reload"
[[ $(prop mercure.service StatusText) == *"reload failed"* ]] || fail "StatusText does not tell the reload failed"
ok "still serving with the previous configuration; StatusText: $(prop mercure.service StatusText)"
cp "$work/mercure.conf.good" "$conf"
since=$(now)
run systemctl reload mercure
wait_for 10 "'Configuration reloaded' after the fix" journal_has "$since" "$id_reloaded" "Configuration reloaded"
ok "fixed and reloaded"

step "kill -9 of the main PID: Restart= brings the hub back"
pid=$(main_pid)
restarts=$(prop mercure.service NRestarts)
run kill -9 "$pid"
wait_for 30 "new main PID after kill -9" restarted_from "$pid"
[ "$(prop mercure.service NRestarts)" -gt "$restarts" ] || fail "NRestarts did not grow"
ok "restarted: PID $pid -> $(main_pid), NRestarts=$(prop mercure.service NRestarts)"

step "systemctl kill -s KILL during a stream of publishes: no acknowledged update is lost"
# The packaged hub keeps its history in LMDB under /var/lib/mercure (StateDirectory=) and answers
# a publish only once the update is committed: every acknowledged id must be in the history
# after the crash, exactly once.
durable_topic=https://example.com/durable
: >"$work/acked"
for n in $(seq 1 300); do
    if [ "$n" = 150 ]; then
        run systemctl kill -s KILL mercure.service
    fi
    if answer=$(curl -sf --max-time 5 -H "Authorization: Bearer $pub_token" -d "topic=$durable_topic" \
        -d "id=durable-$n" -d "data=$n" "$hub/.well-known/mercure" 2>/dev/null); then
        echo "$answer" >>"$work/acked"
    fi
done
wait_for 30 "the hub back after systemctl kill" healthy
acked=$(wc -l <"$work/acked")
[ "$acked" -ge 250 ] || fail "only $acked of 300 publishes were acknowledged"
echo "# curl -N -H 'Last-Event-ID: earliest' '$hub/.well-known/mercure?topic=$durable_topic'"
curl -sN --max-time 5 -H "Authorization: Bearer $sub_token" -H 'Last-Event-ID: earliest' \
    "$hub/.well-known/mercure?topic=$durable_topic" >"$work/durable.out" 2>/dev/null || true
while read -r id; do
    [ "$(count_lines "$work/durable.out" "id: $id")" = 1 ] || fail "acknowledged update $id is not in the history exactly once"
done <"$work/acked"
ok "$acked of 300 publishes acknowledged across the kill; every one replayed exactly once from the durable history"

step "kill -STOP of the main PID: the watchdog restarts the hub"
watchdog_us=$(prop mercure.service WatchdogUSec)
echo "unit's WatchdogSec: $watchdog_us"
mkdir -p /run/systemd/system/mercure.service.d
printf '[Service]\nWatchdogSec=3s\n' >/run/systemd/system/mercure.service.d/50-e2e-watchdog.conf
echo "# drop-in WatchdogSec=3s, daemon-reload, restart (the interval is passed at start)"
systemctl daemon-reload
systemctl restart mercure.service
wait_for 20 "active hub with WatchdogSec=3s" active
[ "$(prop mercure.service WatchdogUSec)" = 3s ] || fail "WatchdogUSec is $(prop mercure.service WatchdogUSec)"
abort_s=$(($(prop mercure.service TimeoutAbortUSec | sed -n 's/^\([0-9]*\)s$/\1/p' | grep . || echo 10)))
pid=$(main_pid)
since=$(now)
sleep 4 # a few pings first, so a restart cannot come from a missed first ping
run kill -STOP "$pid"
limit=$((2 * 3 + abort_s + 10))
wait_for "$limit" "watchdog restart (bound 2 x WatchdogSec + TimeoutAbortSec + 10 s)" restarted_from "$pid"
journalctl --no-pager -u mercure.service --since "@$since" | grep -i 'watchdog' | sed 's/^/    /'
journalctl --no-pager -u mercure.service --since "@$since" | grep -i 'watchdog timeout' >/dev/null || fail "no watchdog timeout in the journal"
ok "watchdog timeout, then restarted: PID $pid -> $(main_pid)"
rm /run/systemd/system/mercure.service.d/50-e2e-watchdog.conf
systemctl daemon-reload
systemctl restart mercure.service
wait_for 20 "hub back with the unit's own watchdog" active
[ "$(prop mercure.service WatchdogUSec)" = "$watchdog_us" ] || fail "WatchdogUSec not restored"

restarts=20
step "systemctl restart ($restarts times) and a package upgrade while a client loop connects: no request fails"
# One curl after the other on /healthz; each line is "HTTP status curl-exit-status". A
# connection accepted by the stopping hub and closed unanswered shows as "000 52" (empty
# reply) or "000 56" (reset), a refused one as "000 7". Many restarts, because such a race
# may hit one restart in several.
: >"$work/loop.out"
(
    while [ ! -e "$work/loop.stop" ]; do
        code=$(curl -s -o /dev/null -w '%{http_code}' --max-time 10 "$hub/healthz") && rc=0 || rc=$?
        echo "$code $rc" >>"$work/loop.out"
    done
) &
loop=$!
sleep 1
echo "# for i in \$(seq $restarts); do systemctl restart mercure.service; sleep 0.2; done"
for _ in $(seq "$restarts"); do
    # Manual restarts count against the unit's start rate limit (5 in 10 s by default).
    systemctl reset-failed mercure.service
    systemctl restart mercure.service
    sleep 0.2
done
pid=$(main_pid)
during_restarts=$(wc -l <"$work/loop.out")
echo "# dpkg -i /e2e/mercure.deb   (an upgrade in place: postinst restarts the hub, not the socket)"
dpkg -i /e2e/mercure.deb >"$work/upgrade.log" 2>&1 || { cat "$work/upgrade.log"; fail "dpkg -i failed"; }
sleep 1
touch "$work/loop.stop"
wait "$loop" || true
total=$(wc -l <"$work/loop.out")
failed=$(grep -vcx '200 0' "$work/loop.out" || true)
echo "requests: $total, failed: $failed"
if [ "$failed" != 0 ]; then
    echo "during the restarts (count, HTTP status, curl exit status):"
    head -n "$during_restarts" "$work/loop.out" | sort | uniq -c
    echo "during the upgrade:"
    tail -n +"$((during_restarts + 1))" "$work/loop.out" | sort | uniq -c
    fail "$failed requests failed (curl 52: empty reply, 56: reset, 7: refused)"
fi
[ "$total" -ge 50 ] || fail "only $total requests were made"
[ "$(prop mercure.service MainPID)" != "$pid" ] || fail "the upgrade did not restart the hub"
ok "$total requests, none failed, over $restarts restarts and an upgrade"
sha256sum -c --quiet "$work/key.sum" || fail "the upgrade changed the generated key"
ok "the upgrade kept the generated key"

step "systemd-analyze security mercure.service"
systemd-analyze security --no-pager mercure.service >"$work/security.out" 2>&1 || { cat "$work/security.out"; fail "systemd-analyze security failed"; }
tail -n 3 "$work/security.out"
grep -q 'Overall exposure level for mercure.service' "$work/security.out" || fail "no exposure score"

step "apt purge mercure"
kill "$(cat "$work/first.pid")" 2>/dev/null || true
echo "# apt purge -y mercure"
apt purge -y -q mercure 2>&1 | tee "$work/purge.log" || fail "apt purge failed"
[ "$(dpkg-query -W -f='${Status}' mercure 2>/dev/null || true)" != "install ok installed" ] || fail "mercure is still installed"
[ ! -e "$key_file" ] || fail "the generated key survived the purge"
[ ! -e /etc/mercure ] || fail "/etc/mercure survived the purge: $(find /etc/mercure)"
[ ! -e /var/lib/mercure ] || fail "/var/lib/mercure survived the purge"
for unit in mercure.service mercure.socket; do
    state=$(systemctl is-active "$unit" || true)
    [ "$state" != active ] || fail "$unit is still active"
done
curl -s --max-time 2 "$hub/healthz" >/dev/null && fail "something still answers on port 3000"
ok "key, /etc/mercure and /var/lib/mercure gone; nothing listens on port 3000"

printf '\n=== all %d steps passed in %ds\n' "$steps" "$((SECONDS - started))"
