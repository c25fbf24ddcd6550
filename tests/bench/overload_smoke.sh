#!/bin/sh
# overload_smoke: mercure-overload --quick against the built hub; passes when the tool exits 0.
#
# The run floods a hub limited to 200 connections with 1000 connection attempts, slowloris
# clients, subscribers that never read and a publisher flood, and checks /healthz, a canary
# publisher and subscriber, and the hub's peak RSS against its computed bound (about 10 s).
# --allow-healthz-refusals: the hub counts its own /healthz connections in max_connections, so
# a probe that lands while the flood holds every slot is refused (docs/security.md, "Overload");
# such refusals are reported, while a /healthz time-out or error still fails the test.
# The latency bound is generous (2 s) because the 2 cores are shared with other tests.
set -eu
: "${MERCURE_BIN:?MERCURE_BIN is not set}"
: "${MERCURE_OVERLOAD_BIN:?MERCURE_OVERLOAD_BIN is not set}"
exec "$MERCURE_OVERLOAD_BIN" --hub "$MERCURE_BIN" --quick --allow-healthz-refusals \
    --latency-bound-ms 2000 --probe-timeout 5
