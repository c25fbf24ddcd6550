// mercure-overload command line: the hub's limits under test, the load's shape, the bounds.
#pragma once
#include <netinet/in.h>
#include <sys/types.h>

#include <cstdint>
#include <string>

namespace overload {

struct Options {
    // The hub: started from `hub_binary` with a temporary config, or an existing one at `url`.
    std::string hub_binary;
    std::string url;
    sockaddr_in server{};
    std::string host_header;
    // Where /healthz probes (and the final /metrics read) go: the hub's metrics_addr, as a
    // production load balancer should probe, or the main address with --healthz-on-main-port.
    std::string healthz_url;   // of an existing hub (--healthz-url); empty: the main address
    sockaddr_in admin_server{};
    std::string admin_host_header;
    pid_t pid = 0;             // of an existing hub (memory figures need it)
    std::string token;         // publisher token for an existing hub
    std::string hub_log;       // where to copy the started hub's log (empty: nowhere)
    std::string key = "mercure-overload-key-0123456789abcdef0123456789";

    // The limits written into the temporary config (and assumed of an existing hub).
    std::uint32_t max_connections = 1000;
    std::uint64_t max_queued_bytes = 256 * 1024;
    std::uint64_t max_body_size = 128 * 1024;
    std::uint64_t max_header_size = 16 * 1024;
    std::uint32_t history_size = 100;
    double dispatch_timeout = 2;   // seconds
    double read_timeout = 2;       // seconds

    // The load.
    double flood_factor = 5;          // connections attempted, as a multiple of max_connections
    double headroom = 0.02;           // share of max_connections left free by the well-behaved
    double slowloris_share = 0.1;     // of max_connections
    double stalled_share = 0.2;       // subscribers that never read, of max_connections
    std::uint32_t knockers = 64;      // concurrent beyond-the-limit connection attempts
    std::uint32_t flood_readers = 8;  // well-behaved subscribers of the flood topic
    std::uint32_t publishers = 4;
    std::uint32_t bad_publishers = 4;
    std::uint32_t small_body = 4 * 1024;
    std::uint32_t large_body = 64 * 1024;
    std::uint32_t large_every = 8;    // one publish in this many carries the large body
    double connect_seconds = 10;      // phase "connection flood"
    double flood_seconds = 20;        // phase "publisher flood"
    double healthz_interval = 0.05;
    double canary_interval = 0.1;
    double probe_timeout = 2;         // a probe or canary unanswered this long failed

    // The bounds checked.
    double latency_bound_ms = 100;    // p99 of /healthz and of canary publishes
    double memory_bound_mib = 0;      // 0: computed from the config
    double max_time = 300;            // whole run, seconds

    bool quick = false;
    bool json = false;
    // Probe /healthz on the main address (the started hub gets no metrics_addr). Connections
    // there count in max_connections, so probes the hub refuses at the limit (closed without a
    // byte) are reported but do not fail the run; time-outs and bad answers still do. On
    // metrics_addr (the default) every refusal fails the run.
    bool healthz_on_main_port = false;

    std::uint32_t slowloris() const { return static_cast<std::uint32_t>(max_connections * slowloris_share); }
    std::uint32_t stalled() const { return static_cast<std::uint32_t>(max_connections * stalled_share); }
};

// Parses argv: 0 and `options` filled, -1 after --help (exit 0), 2 on a usage error (printed).
int parse_options(int argc, char** argv, Options& options);

} // namespace overload
