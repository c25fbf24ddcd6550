#!/bin/sh
# overload_smoke: mercure-overload --quick against the built hub; passes when the tool exits 0.
#
# The run floods a hub limited to 200 connections with 1000 connection attempts, slowloris
# clients, subscribers that never read and a publisher flood, and checks /healthz, a canary
# publisher and subscriber, and the hub's peak RSS against its computed bound (about 10 s).
# /healthz is probed on the hub's metrics_addr (set by the tool), whose connections have their
# own allowance and never count against max_connections: any refused probe fails the test.
# The latency bound is generous (2 s) because the 2 cores are shared with other tests.
set -eu
: "${MERCURE_BIN:?MERCURE_BIN is not set}"
: "${MERCURE_OVERLOAD_BIN:?MERCURE_OVERLOAD_BIN is not set}"
exec "$MERCURE_OVERLOAD_BIN" --hub "$MERCURE_BIN" --quick \
    --latency-bound-ms 2000 --probe-timeout 5 \
    ${MERCURE_OVERLOAD_MEMORY_BOUND_MIB:+--memory-bound-mib "$MERCURE_OVERLOAD_MEMORY_BOUND_MIB"}
