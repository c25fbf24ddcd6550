// mercure-overload's figures: what the run measured, the memory bound, the pass/fail criteria.
#pragma once
#include <cstdint>
#include <string>
#include <vector>

#include "bench_histogram.hpp"
#include "overload_options.hpp"

namespace overload {

// Attempts of one kind of connection and how the hub took them.
struct AttemptCounts {
    std::uint64_t attempted = 0;
    std::uint64_t accepted = 0;   // the hub answered (200 stream head, or 408 for slowloris)
    std::uint64_t refused = 0;    // closed without a byte: refused at max_connections
    std::uint64_t failed = 0;     // connect errors, or no answer at all
    bench::LatencyHistogram refuse_time; // connect started -> refusal seen
};

// A latency probe: every attempt ends as ok or as one kind of failure.
struct ProbeCounts {
    std::uint64_t sent = 0;
    std::uint64_t ok = 0;
    std::uint64_t refused = 0;    // connection closed without an answer
    std::uint64_t timed_out = 0;  // no answer within --probe-timeout
    std::uint64_t bad_status = 0;
    std::uint64_t skipped = 0;    // canary: the previous publish was still unanswered at a tick
    bench::LatencyHistogram latency;
    std::uint64_t failures() const { return refused + timed_out + bad_status; }
};

struct Figures {
    AttemptCounts good;       // well-behaved subscribers (canary topic)
    AttemptCounts knockers;   // subscribers beyond the limit
    AttemptCounts slowloris;
    AttemptCounts stalled;    // subscribers that never read
    std::uint64_t good_dropped = 0;        // well-behaved streams the hub ended during the run
    std::uint64_t good_canary_missing = 0; // canary events a well-behaved subscriber missed
    std::uint64_t flood_reader_dropped = 0;
    std::uint64_t flood_reader_events = 0;
    bench::LatencyHistogram slowloris_held; // accepted slowloris: connect -> 408
    bench::LatencyHistogram loop_lag;       // the tool's own 10 ms tick, late by this much
    std::string load_before;                // /proc/loadavg: other work on the machine
    std::string load_after;

    ProbeCounts healthz;
    ProbeCounts canary;
    std::uint64_t canary_expected = 0;  // canary publishes acknowledged
    std::uint64_t canary_received = 0;  // of those, received by the canary subscriber

    std::uint64_t flood_ok = 0;
    std::uint64_t flood_failed = 0;
    std::uint64_t flood_bytes = 0;
    bench::LatencyHistogram flood_latency;
    std::uint64_t bad_refused = 0;  // 401 to the bad-token publishers
    std::uint64_t bad_other = 0;

    std::uint64_t rss_idle = 0;
    std::uint64_t rss_peak_sampled = 0;
    std::uint64_t rss_hwm = 0;
    std::uint64_t rss_after = 0;
    std::uint64_t rss_samples = 0;
    std::uint64_t send_queues_peak = 0;  // kernel send queues toward clients, peak of the samples
    double hub_cpu_seconds = -1;
    double seconds = 0;
    bool hub_alive = true;
    std::uint64_t hub_log_lines = 0;
    std::string metrics;  // the hub's /metrics text after the run (selected lines)
    std::vector<std::string> notes;
};

// The memory bound and its parts, in bytes.
struct MemoryBound {
    std::uint64_t idle = 0;
    std::uint64_t per_connection = 0;
    std::uint64_t connections = 0;
    std::uint64_t history = 0;
    std::uint64_t total = 0;
    std::string formula;
};
MemoryBound memory_bound(const Options& options, std::uint64_t idle_rss);

// Prints the figures table and the criteria; returns whether every criterion held.
bool report(const Options& options, const Figures& figures, const MemoryBound& bound);

} // namespace overload
